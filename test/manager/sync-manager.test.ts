/**
 * `SyncManager`'s registry against CPython's (cpython-wire.md §4.2-4.3, with the 3.14 additions): every
 * typeid, its exposed list, `methodToTypeid`, the CPython proxy class a Python client rebuilds it with,
 * and creation methods; the typed creation methods; Python keyword arguments at creation; subclasses.
 */
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { SyncManager } from '../../src/manager/sync-manager.js';
import {
  AcquirerProxy,
  ArrayProxy,
  BarrierProxy,
  ConditionProxy,
  DictProxy,
  EventProxy,
  IteratorProxy,
  ListProxy,
  NamespaceProxy,
  QueueProxy,
  SetProxy,
  ValueProxy,
} from '../../proxies/index.js';

const ACQUIRER = ['acquire', 'release', 'locked'];
const QUEUE = ['empty', 'full', 'get', 'get_nowait', 'join', 'put', 'put_nowait', 'qsize', 'task_done'];
const LIST = [
  '__add__', '__contains__', '__delitem__', '__getitem__', '__len__', '__mul__', '__reversed__', '__rmul__', '__setitem__',
  'append', 'count', 'extend', 'index', 'insert', 'pop', 'remove', 'reverse', 'sort', '__imul__', 'clear', 'copy',
];
const DICT = [
  '__contains__', '__delitem__', '__getitem__', '__iter__', '__len__', '__setitem__', 'clear', 'copy', 'get', 'items',
  'keys', 'pop', 'popitem', 'setdefault', 'update', 'values', '__ior__', '__or__', '__reversed__', '__ror__', 'fromkeys',
];
const SET = [
  '__and__', '__class_getitem__', '__contains__', '__iand__', '__ior__', '__isub__', '__iter__', '__ixor__', '__len__',
  '__or__', '__rand__', '__ror__', '__rsub__', '__rxor__', '__sub__', '__xor__', '__ge__', '__gt__', '__le__', '__lt__',
  'add', 'clear', 'copy', 'difference', 'difference_update', 'discard', 'intersection', 'intersection_update',
  'isdisjoint', 'issubset', 'issuperset', 'pop', 'remove', 'symmetric_difference', 'symmetric_difference_update',
  'union', 'update',
];
const MANAGERS = 'multiprocessing.managers.';

/** typeid → [proxy class, exposed, methodToTypeid, CPython proxy class (null: AutoProxy), create method]. */
const TABLE: ReadonlyArray<[string, unknown, string[], Record<string, string>, string | null, boolean]> = [
  ['Queue', QueueProxy, QUEUE, {}, null, true],
  ['JoinableQueue', QueueProxy, QUEUE, {}, null, true],
  ['Event', EventProxy, ['is_set', 'set', 'clear', 'wait'], {}, 'EventProxy', true],
  ['Lock', AcquirerProxy, ACQUIRER, {}, 'AcquirerProxy', true],
  ['RLock', AcquirerProxy, ACQUIRER, {}, 'AcquirerProxy', true],
  ['Semaphore', AcquirerProxy, ACQUIRER, {}, 'AcquirerProxy', true],
  ['BoundedSemaphore', AcquirerProxy, ACQUIRER, {}, 'AcquirerProxy', true],
  ['Condition', ConditionProxy, ['acquire', 'release', 'wait', 'notify', 'notify_all', 'locked'], {}, 'ConditionProxy', true],
  ['Barrier', BarrierProxy, ['__getattribute__', 'wait', 'abort', 'reset'], {}, 'BarrierProxy', true],
  ['list', ListProxy, LIST, {}, 'ListProxy', true],
  ['dict', DictProxy, DICT, { __iter__: 'Iterator' }, 'DictProxy', true],
  ['Value', ValueProxy, ['get', 'set'], {}, 'ValueProxy', true],
  ['Array', ArrayProxy, ['__len__', '__getitem__', '__setitem__'], {}, 'ArrayProxy', true],
  ['Namespace', NamespaceProxy, ['__getattribute__', '__setattr__', '__delattr__'], {}, 'NamespaceProxy', true],
  ['set', SetProxy, SET, { __iter__: 'Iterator' }, 'SetProxy', true],
  ['Iterator', IteratorProxy, ['__next__', 'send', 'throw', 'close'], {}, 'IteratorProxy', false],
];

const started: SyncManager[] = [];
afterEach(async () => {
  for (const m of started.splice(0)) await m.shutdown();
});
async function start<M extends SyncManager>(m: M): Promise<M> {
  started.push(m);
  return m.start();
}

describe('SyncManager registry', () => {
  it('registers exactly CPython\'s typeids (3.14, without Pool and AsyncResult)', () => {
    expect([...SyncManager.registry.entries()].map((e) => e.typeid).sort()).toEqual(TABLE.map((r) => r[0]).sort());
  });

  it.each(TABLE)('%s: proxy class, exposed list, methodToTypeid, CPython proxy class', (typeid, proxytype, exposed, m2t, py, create) => {
    const entry = SyncManager.registry.get(typeid);
    expect(entry.proxytype).toBe(proxytype);
    expect(entry.exposed).toEqual(exposed);
    expect({ ...entry.methodToTypeid }).toEqual(m2t);
    expect(entry.pyProxytype).toBe(py === null ? null : MANAGERS + py);
    expect(entry.createMethod).toBe(create);
    expect(entry.callable === null).toBe(typeid === 'Iterator');
  });

  it('has a creation method per typeid except Iterator', () => {
    const m = new SyncManager();
    for (const [typeid, , , , , create] of TABLE) expect(typeof (m as unknown as Record<string, unknown>)[typeid] === 'function').toBe(create);
  });

  it('a subclass inherits every typeid and adds its own without changing SyncManager', async () => {
    class Counter {
      n = 0;
      inc(): number {
        return ++this.n;
      }
    }
    class MyManager extends SyncManager {}
    MyManager.register('Counter', Counter);
    expect(MyManager.registry.has('dict')).toBe(true);
    expect(SyncManager.registry.has('Counter')).toBe(false);
    const m = await start(new MyManager(['127.0.0.1', 0], { authkey: 'sub' }));
    const c = await m.create<{ inc(): Promise<number> }>('Counter');
    expect(await c.inc()).toBe(1);
    expect(await (await m.dict({ a: 1 })).getValue()).toEqual({ a: 1 });
  });
});

describe('SyncManager creation', () => {
  it('makes each type\'s proxy class, carrying the CPython proxy class name', async () => {
    const m = await start(new SyncManager(['127.0.0.1', 0], { authkey: 'create' }));
    const made: Array<[unknown, unknown, string | null]> = [
      [await m.Queue(), QueueProxy, null],
      [await m.JoinableQueue(), QueueProxy, null],
      [await m.Event(), EventProxy, 'EventProxy'],
      [await m.Lock(), AcquirerProxy, 'AcquirerProxy'],
      [await m.RLock(), AcquirerProxy, 'AcquirerProxy'],
      [await m.Semaphore(), AcquirerProxy, 'AcquirerProxy'],
      [await m.BoundedSemaphore(), AcquirerProxy, 'AcquirerProxy'],
      [await m.Condition(), ConditionProxy, 'ConditionProxy'],
      [await m.Barrier(1), BarrierProxy, 'BarrierProxy'],
      [await m.Value('i', 1), ValueProxy, 'ValueProxy'],
      [await m.Array('i', [1]), ArrayProxy, 'ArrayProxy'],
      [await m.list(), ListProxy, 'ListProxy'],
      [await m.dict(), DictProxy, 'DictProxy'],
      [await m.Namespace(), NamespaceProxy, 'NamespaceProxy'],
      [await m.set(), SetProxy, 'SetProxy'],
    ];
    for (const [proxy, cls, py] of made) {
      expect(proxy).toBeInstanceOf(cls as new () => unknown);
      expect((proxy as QueueProxy).toObjectRef().proxytype).toBe(py === null ? null : MANAGERS + py);
    }
    expect(await m.numberOfObjects()).toBe(made.length);
  });

  it('takes Python keyword arguments at creation (as a Python client sends them)', async () => {
    const m = await start(new SyncManager(['127.0.0.1', 0], { authkey: 'kw' }));
    const sem = await m.createWith<AcquirerProxy>('Semaphore', [], { value: 2 });
    expect(await sem.getValue()).toEqual({ value: 2 });
    const d = await m.createWith<DictProxy>('dict', [{ a: 1 }], { b: 2 });
    expect(await d.getValue()).toEqual({ a: 1, b: 2 });
    const v = await m.createWith<ValueProxy<number>>('Value', [], { typecode: 'i', value: 4 });
    expect(await v.get()).toBe(4);
    const q = await m.createWith<QueueProxy>('Queue', [], { maxsize: 1 });
    await q.put(1);
    expect(await q.full()).toBe(true);
    const b = await m.Barrier(2, { timeout: 5 });
    expect(await b.parties()).toBe(2);
    const ns = await m.Namespace({ x: 1 });
    expect(await ns.get('x')).toBe(1);
  });

  it('a dict from a Map keeps its keys\' types; list and set take any iterable', async () => {
    const m = await start(new SyncManager(['127.0.0.1', 0], { authkey: 'iter' }));
    const d = await m.dict(new Map<number, string>([[1, 'one']]));
    expect(await d.keys()).toEqual([1]);
    const l = await m.list(new Set(['a', 'b']));
    expect(await l.getValue()).toEqual(['a', 'b']);
    const s = await m.set((function* () {
      yield 1;
      yield 1;
    })());
    expect(await s.len()).toBe(1);
  });

  it('types its creation methods and proxies', () => {
    // Never called: the checks are at compile time.
    async function typed(d: DictProxy<string, number>, q: QueueProxy<number>): Promise<void> {
      expectTypeOf(await d.get('a')).toEqualTypeOf<number | null>();
      expectTypeOf(await d.get('a', 'none')).toEqualTypeOf<number | string>();
      expectTypeOf(await d.pop('a')).toEqualTypeOf<number>();
      expectTypeOf(await q.get(true, 1)).toEqualTypeOf<number>();
      for await (const key of d) expectTypeOf(key).toEqualTypeOf<string>();
    }
    void typed;
    const m = new SyncManager();
    expectTypeOf(m.Queue<number>).returns.resolves.toEqualTypeOf<QueueProxy<number>>();
    expectTypeOf(m.dict<string, number>).returns.resolves.toEqualTypeOf<DictProxy<string, number>>();
    expectTypeOf(m.Lock).returns.resolves.toEqualTypeOf<AcquirerProxy>();
    expectTypeOf(m.Condition).returns.resolves.toEqualTypeOf<ConditionProxy>();
    expectTypeOf(m.Value<number>).returns.resolves.toEqualTypeOf<ValueProxy<number>>();
    expectTypeOf(m.list<string>).returns.resolves.toEqualTypeOf<ListProxy<string>>();
    expectTypeOf(m.set<number>).returns.resolves.toEqualTypeOf<SetProxy<number>>();
    expectTypeOf<Awaited<ReturnType<QueueProxy<number>['get']>>>().toEqualTypeOf<number>();
    expectTypeOf<Awaited<ReturnType<DictProxy<string, number>['copy']>>>().toEqualTypeOf<Record<string, number>>();
    expectTypeOf<Awaited<ReturnType<DictProxy<number, number>['copy']>>>().toEqualTypeOf<Map<number, number>>();
    expectTypeOf<AcquirerProxy>().not.toHaveProperty('notify');
    expectTypeOf<ConditionProxy>().toHaveProperty('wait_for');
  });
});
