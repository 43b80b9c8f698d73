/**
 * The shared referents called directly (with simulated callers), against a real redis-server: each
 * typeid's Python semantics as the in-memory referents have them (method names, results, exceptions),
 * and two RedisObjects in one namespace seeing the same object. Locks and semaphores are in locks.test.ts,
 * failures (dead servers, lost connections, Redis restarts) in recovery.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { AbortError } from '../../../src/errors.js';
import { AttributeError, Empty, Full, IndexError, KeyError, PyTypeError, ValueError } from '../../../src/python-errors.js';
import { Slice, tuple, Tuple } from '../../../src/codec/values.js';
import { GET_VALUE } from '../../../src/server/dispatch.js';
import { SHARED_ID } from '../../../src/server/objects.js';
import { InvalidArgumentError } from '../../../src/errors.js';
import { SHARED_TYPEIDS } from '../../../src/backends/redis/index.js';
import { REDIS_SKIP, as, caller, open, openPair, tracked, useRedisServer } from '../../fixtures/redis.js';

describe.skipIf(REDIS_SKIP !== null)('shared objects in Redis', () => {
  useRedisServer();

  describe('RedisObjects', () => {
    it('makes one referent per name and kind, with a deterministic shared id', async () => {
      const [a, b] = await openPair();
      expect(a.queue('jobs')).toBe(a.queue('jobs'));
      expect(a.queue('jobs')).toBe(a.joinableQueue('jobs'));
      expect(a.queue('jobs')[SHARED_ID]).toBe(b.queue('jobs')[SHARED_ID]);
      expect(a.queue('jobs')[SHARED_ID]).toMatch(/^shared:queue:t[\d-]+\/jobs$/);
      expect(a.dict('jobs')[SHARED_ID]).not.toBe(a.queue('jobs')[SHARED_ID]);
    });

    it('byTypeid covers every shared typeid and names them for any other', async () => {
      const o = await open();
      for (const typeid of SHARED_TYPEIDS) expect(o.byTypeid(typeid, `x-${typeid}`)).toBeTypeOf('object');
      expect(() => o.byTypeid('Condition', 'c')).toThrow(/'Condition' cannot be a shared object.*notify\(n\).*Shared typeids: Queue, JoinableQueue/);
      expect(() => o.byTypeid('Barrier', 'b')).toThrow(InvalidArgumentError);
      expect(() => o.byTypeid('dict', 'd', [{ a: 1 }])).toThrow(/takes no arguments/);
    });

    it('refuses a second maxsize for a queue it already made, and a name that would break the key layout', async () => {
      const o = await open();
      o.queue('q', 2);
      expect(() => o.queue('q', 3)).toThrow(/already made here with maxsize 2/);
      expect(() => o.dict('a{b}')).toThrow(InvalidArgumentError);
    });

    it('describes the objects it made with their sizes', async () => {
      const o = await open();
      await o.queue('q').put(1);
      await o.dict('d').update({ a: 1, b: 2 });
      await o.event('e').set();
      o.lock('l');
      expect(await o.describe()).toEqual([
        { name: 'q', typeid: 'Queue', size: 1 },
        { name: 'd', typeid: 'dict', size: 2 },
        { name: 'e', typeid: 'Event', size: 1 },
        { name: 'l', typeid: 'Lock', size: 0 },
      ]);
      expect(o.available).toBe(true);
    });
  });

  describe('Queue', () => {
    it('is FIFO across servers and answers qsize/empty/full', async () => {
      const [a, b] = await openPair();
      const qa = a.queue('q');
      const qb = b.queue('q');
      expect(await qa.empty()).toBe(true);
      for (const x of [1, 'two', 3]) await qa.put(x);
      expect(await qb.qsize()).toBe(3);
      expect(await qb.full()).toBe(false);
      expect([await qb.get(), await qa.get(), await qb.get_nowait()]).toEqual([1, 'two', 3]);
      expect(await qa[GET_VALUE]()).toEqual([]);
    });

    it('raises Empty from get_nowait, get(False) and a timed get; ValueError for a negative timeout', async () => {
      const q = (await open()).queue('q');
      await expect(q.get_nowait()).rejects.toBeInstanceOf(Empty);
      await expect(q.get(false)).rejects.toBeInstanceOf(Empty);
      await expect(q.get(true, 0.02)).rejects.toBeInstanceOf(Empty);
      await expect(q.get(true, 0)).rejects.toBeInstanceOf(Empty);
      await expect(q.get(true, -1)).rejects.toBeInstanceOf(ValueError);
    });

    it('bounded: Full without blocking; a blocked put goes in when another server takes one', async () => {
      const [a, b] = await openPair();
      const qa = a.queue('q', 1);
      const qb = b.queue('q', 1);
      await qa.put('x');
      expect(await qb.full()).toBe(true);
      await expect(qb.put_nowait('y')).rejects.toBeInstanceOf(Full);
      await expect(qb.put('y', true, 0.02)).rejects.toBeInstanceOf(Full);
      const put = tracked(qb.put('y'));
      expect(await qa.get()).toBe('x');
      await put.promise;
      expect(await qa.get()).toBe('y');
    });

    it('a blocked get is woken by a put through the other server', async () => {
      const [a, b] = await openPair();
      const got = tracked(a.queue('q').get());
      await new Promise((r) => setTimeout(r, 20));
      expect(got.settled).toBe(false);
      await b.queue('q').put(tuple<unknown>(1, 'a'));
      expect(await got.promise).toEqual(tuple<unknown>(1, 'a'));
    });

    it('serves blocked getters of one server in order, each item once', async () => {
      const [a, b] = await openPair();
      const getters = [0, 1, 2, 3].map(() => a.queue('q').get(true, 10));
      for (const x of ['a', 'b', 'c', 'd']) await b.queue('q').put(x);
      expect(await Promise.all(getters)).toEqual(['a', 'b', 'c', 'd']);
    });

    it('producers and consumers on two servers move every item exactly once', async () => {
      const [a, b] = await openPair();
      const N = 300;
      const received: number[] = [];
      const consumer = async (q: ReturnType<typeof a.queue>): Promise<void> => {
        for (;;) {
          const x = (await q.get(true, 10)) as number;
          if (x < 0) return;
          received.push(x);
        }
      };
      const consumers = [a, a, b, b].map((o) => consumer(o.queue('q', 16)));
      const produce = async (q: ReturnType<typeof a.queue>, from: number): Promise<void> => {
        for (let i = from; i < N; i += 2) await q.put(i);
      };
      await Promise.all([produce(a.queue('q', 16), 0), produce(b.queue('q', 16), 1)]);
      for (let i = 0; i < 4; i++) await a.queue('q', 16).put(-1);
      await Promise.all(consumers);
      expect(received.slice().sort((x, y) => x - y)).toEqual(Array.from({ length: N }, (_, i) => i));
    });

    it('an aborted get takes no item: a put afterwards is there for the next caller', async () => {
      const o = await open();
      const q = o.queue('q');
      const ac = new AbortController();
      const got = as(caller('c1'), () => q.get(), ac.signal);
      await new Promise((r) => setTimeout(r, 20));
      ac.abort(new AbortError('cancelled'));
      await expect(got).rejects.toBeInstanceOf(AbortError);
      await q.put('kept');
      expect(await q.get(false)).toBe('kept');
    });

    it('a get whose call was aborted just as it took the item puts it back at the head', async () => {
      const o = await open();
      const q = o.queue('q');
      await q.put('first');
      await q.put('second');
      const ac = new AbortController();
      ac.abort(new AbortError('cancelled'));
      await expect(as(caller('c1'), () => q.get(), ac.signal)).rejects.toBeInstanceOf(AbortError);
      expect(await q.get()).toBe('first');
    });

    it('refuses values Redis cannot keep, naming them, and a maxsize other than the one in Redis', async () => {
      const [a, b] = await openPair();
      class Job {
        id = 1;
      }
      await expect(a.queue('q').put(new Job())).rejects.toThrow(/cannot store an instance of Job in the shared Queue 'q'/);
      await a.queue('q', 0).put(1);
      await expect(b.queue('q', 5).put(2)).rejects.toThrow(/has maxsize 0 in Redis, not 5/);
    });

    it('JoinableQueue: task_done counts down, join waits across servers, too many task_done is ValueError', async () => {
      const [a, b] = await openPair();
      const qa = a.joinableQueue('q');
      const qb = b.joinableQueue('q');
      await qa.join();
      await qa.put(1);
      await qa.put(2);
      const joined = tracked(qa.join());
      await qb.get();
      await qb.task_done();
      await new Promise((r) => setTimeout(r, 20));
      expect(joined.settled).toBe(false);
      await qb.get();
      await qb.task_done();
      await joined.promise;
      await expect(qb.task_done()).rejects.toBeInstanceOf(ValueError);
    });

    it('binds Python keyword arguments by name', async () => {
      const { bindKeywords } = await import('../../../src/server/dispatch.js');
      const q = (await open()).queue('q');
      expect(bindKeywords(q, 'get', q.get, [], { timeout: 1 })).toEqual([undefined, 1]);
      expect(bindKeywords(q, 'put', q.put, ['x'], { block: false })).toEqual(['x', false]);
    });
  });

  describe('dict', () => {
    it('keeps insertion order, the first key of equal ones (1, 1.0, True), and moves a re-added key last', async () => {
      const [a, b] = await openPair();
      const d = a.dict('d');
      await d.__setitem__(1, 'int');
      await d.__setitem__('s', 'str');
      await b.dict('d').__setitem__(true, 'bool');
      await d.__setitem__(tuple(1, 2), 'tuple');
      expect(await d.keys()).toEqual([1, 's', tuple<unknown>(1, 2)]);
      expect(await b.dict('d').__getitem__(1.0)).toBe('bool');
      expect(await d.values()).toEqual(['bool', 'str', 'tuple']);
      await d.__delitem__('s');
      await d.__setitem__('s', 'again');
      expect(await d.keys()).toEqual([1, tuple(1, 2), 's']);
      const items = await d.items();
      expect(items[0]).toBeInstanceOf(Tuple);
      expect(items).toEqual([tuple<unknown>(1, 'bool'), tuple<unknown>(tuple(1, 2), 'tuple'), tuple<unknown>('s', 'again')]);
    });

    it('raises KeyError and TypeError as Python does', async () => {
      const d = (await open()).dict('d');
      await expect(d.__getitem__('missing')).rejects.toBeInstanceOf(KeyError);
      await expect(d.__delitem__('missing')).rejects.toBeInstanceOf(KeyError);
      await expect(d.pop('missing')).rejects.toBeInstanceOf(KeyError);
      await expect(d.popitem()).rejects.toThrow(/dictionary is empty/);
      await expect(d.__setitem__([1], 'x')).rejects.toThrow(PyTypeError);
      await expect(d.__setitem__([1], 'x')).rejects.toThrow(/unhashable type: 'list'/);
      await expect(d.__or__(5)).rejects.toThrow(/unsupported operand type\(s\) for \|: 'dict' and 'int'/);
    });

    it('get, pop, popitem (last first), setdefault, update, fromkeys, |, copy', async () => {
      const d = (await open()).dict('d');
      await d.update({ a: 1 }, { b: 2 });
      await d.update([tuple<unknown>('c', 3)]);
      await d.update(new Map<unknown, unknown>([[7, 'seven']]));
      expect(await d.__len__()).toBe(4);
      expect(await d.__contains__('a')).toBe(true);
      expect(await d.get('zz')).toBe(null);
      expect(await d.get('zz', 0)).toBe(0);
      expect(await d.setdefault('a', 100)).toBe(1);
      expect(await d.setdefault('n', 100)).toBe(100);
      expect(await d.pop('zz', 'dflt')).toBe('dflt');
      expect(await d.pop('b')).toBe(2);
      expect(await d.popitem()).toEqual(tuple<unknown>('n', 100));
      expect(await d.copy()).toEqual(new Map<unknown, unknown>([['a', 1], ['c', 3], [7, 'seven']]));
      expect(await d.__or__({ c: 30, z: 0 })).toEqual(new Map<unknown, unknown>([['a', 1], ['c', 30], [7, 'seven'], ['z', 0]]));
      expect(await d.__ror__({ c: 30 })).toEqual(new Map<unknown, unknown>([['c', 3], ['a', 1], [7, 'seven']]));
      expect(await d.fromkeys(['x', 'y'], 0)).toEqual({ x: 0, y: 0 });
      expect(await d.__reversed__()).toEqual([7, 'c', 'a']);
      expect(await d.__iter__()).toEqual(['a', 'c', 7]);
      await d.clear();
      expect(await d[GET_VALUE]()).toEqual({});
    });

    it('keeps values exact: big ints, bytes, nested dicts with int keys, sets', async () => {
      const [a, b] = await openPair();
      const value = { n: 2n ** 90n, raw: Buffer.from([0, 255]), m: new Map<unknown, unknown>([[1, tuple('x')]]), s: new Set([1, 'a']) };
      await a.dict('d').__setitem__('v', value);
      expect(await b.dict('d').__getitem__('v')).toEqual(value);
    });
  });

  describe('list', () => {
    it('index, slices, append/extend/insert/pop with Python messages', async () => {
      const [a, b] = await openPair();
      const l = a.list('l');
      await l.extend([1, 2, 3]);
      await b.list('l').append(4);
      await l.insert(0, 0);
      await l.insert(-1, 3.5);
      await l.insert(100, 9);
      expect(await l.copy()).toEqual([0, 1, 2, 3, 3.5, 4, 9]);
      expect(await l.__getitem__(-1)).toBe(9);
      expect(await l.__getitem__(new Slice(1, 6, 2))).toEqual([1, 3, 4]);
      await expect(l.__getitem__(10)).rejects.toThrow(/list index out of range/);
      await expect(l.__getitem__('x')).rejects.toThrow(/list indices must be integers or slices, not str/);
      expect(await l.pop()).toBe(9);
      expect(await l.pop(0)).toBe(0);
      expect(await l.pop(2)).toBe(3);
      await expect(l.pop(10)).rejects.toThrow(/pop index out of range/);
      await l.__setitem__(0, 'first');
      await expect(l.__setitem__(10, 'x')).rejects.toBeInstanceOf(IndexError);
      await l.__setitem__(new Slice(1, 3, null), ['a', 'b', 'c']);
      expect(await l.copy()).toEqual(['first', 'a', 'b', 'c', 4]);
      await expect(l.__setitem__(new Slice(0, null, 2), [1])).rejects.toThrow(/extended slice of size 3/);
      await l.__delitem__(new Slice(null, null, 2));
      expect(await l.copy()).toEqual(['a', 'c']);
      await l.__delitem__(0);
      expect(await l.__len__()).toBe(1);
      const empty = a.list('empty');
      await expect(empty.pop()).rejects.toThrow(/pop from empty list/);
    });

    it('remove/index/count/in by Python equality; sort, reverse, *, +', async () => {
      const l = (await open()).list('l');
      await l.extend([3, 1, true, 2, 1.0]);
      expect(await l.count(1)).toBe(3);
      expect(await l.index(2)).toBe(3);
      await expect(l.index(99)).rejects.toThrow(/99 is not in list/);
      expect(await l.__contains__(1.0)).toBe(true);
      await l.remove(true);
      expect(await l.copy()).toEqual([3, true, 2, 1.0]);
      await expect(l.remove('zz')).rejects.toThrow(/x not in list/);
      await l.sort();
      expect(await l.copy()).toEqual([true, 1, 2, 3]);
      await l.sort(null, true);
      expect(await l.copy()).toEqual([3, 2, true, 1]);
      await l.reverse();
      expect(await l.copy()).toEqual([1, true, 2, 3]);
      expect(await l.__mul__(2)).toHaveLength(8);
      expect(await l.__add__([9])).toEqual([1, true, 2, 3, 9]);
      await expect(l.__add__(tuple(9))).rejects.toThrow(/can only concatenate list/);
      await l.__imul__(2);
      expect(await l.__len__()).toBe(8);
      await l.append('x');
      await expect(l.sort()).rejects.toThrow(/'<' not supported/);
      expect(await l.__len__()).toBe(9);
      await l.clear();
      expect(await l.copy()).toEqual([]);
    });

    it('a sort does not overwrite an append made meanwhile on the other server', async () => {
      const [a, b] = await openPair();
      await a.list('l').extend([5, 4, 3, 2, 1]);
      await Promise.all([a.list('l').sort(), b.list('l').append(0), a.list('l').sort()]);
      const items = (await b.list('l').copy()) as number[];
      expect(items.slice().sort()).toEqual([0, 1, 2, 3, 4, 5]);
    });
  });

  describe('set', () => {
    it('members by Python equality; mutations and operators as Python', async () => {
      const [a, b] = await openPair();
      const s = a.set('s');
      await s.add(1);
      await b.set('s').add(true);
      await s.update([2, 'x'], new Set([tuple(1, 2)]));
      expect(await s.__len__()).toBe(4);
      expect(await s.__contains__(1.0)).toBe(true);
      expect(await s.copy()).toEqual(new Set([1, 2, 'x', tuple(1, 2)]));
      await s.discard('nope');
      await expect(s.remove('nope')).rejects.toBeInstanceOf(KeyError);
      expect(await s.union([3])).toEqual(new Set([1, 2, 'x', tuple(1, 2), 3]));
      expect(await s.intersection([2, 'x', 9])).toEqual(new Set([2, 'x']));
      expect(await s.difference([2])).toEqual(new Set([1, 'x', tuple(1, 2)]));
      expect(await s.symmetric_difference([2, 9])).toEqual(new Set([1, 'x', tuple(1, 2), 9]));
      expect(await s.issuperset([1, 2])).toBe(true);
      expect(await s.issubset([1])).toBe(false);
      expect(await s.isdisjoint([7])).toBe(true);
      await expect(s.__or__([1])).rejects.toThrow(/unsupported operand type\(s\) for \|: 'set' and 'list'/);
      expect(await s.__le__(new Set([1, 2, 'x', tuple(1, 2), 5]))).toBe(true);
      expect(await s.__lt__(new Set([1, 2, 'x', tuple(1, 2)]))).toBe(false);
      await s.intersection_update([1, 2, 'x']);
      expect(await s.copy()).toEqual(new Set([1, 2, 'x']));
      await s.symmetric_difference_update([2, 3]);
      expect(await s.copy()).toEqual(new Set([1, 'x', 3]));
      await s.__isub__(new Set(['x']));
      expect(await s.__rsub__(new Set([1, 5]))).toEqual(new Set([5]));
      const popped = await s.pop();
      expect([1, 3]).toContain(popped);
      await s.clear();
      await expect(s.pop()).rejects.toThrow(/pop from an empty set/);
    });
  });

  describe('Namespace and Value', () => {
    it('Namespace: attributes across servers, AttributeError for missing ones', async () => {
      const [a, b] = await openPair();
      await a.namespace('ns').__setattr__('x', tuple(1, 2));
      expect(await b.namespace('ns').__getattribute__('x')).toEqual(tuple(1, 2));
      await expect(b.namespace('ns').__getattribute__('y')).rejects.toThrow(AttributeError);
      await b.namespace('ns').__delattr__('x');
      await expect(a.namespace('ns').__delattr__('x')).rejects.toThrow(/'Namespace' object has no attribute 'x'/);
      await a.namespace('ns').__setattr__('y', 1);
      expect(await a.namespace('ns')[GET_VALUE]()).toEqual({ y: 1 });
    });

    it('Value: the first initial value wins; set/get across servers', async () => {
      const [a, b] = await openPair();
      expect(await a.value('v', 'i', 10).get()).toBe(10);
      expect(await b.value('v', 'i', 99).get()).toBe(10);
      await b.value('v').set(2n ** 70n);
      expect(await a.value('v').get()).toBe(2n ** 70n);
    });
  });

  describe('Event', () => {
    it('set/clear/is_set; a timed wait returns False; a wait is woken by a set on the other server', async () => {
      const [a, b] = await openPair();
      const e = a.event('e');
      expect(await e.is_set()).toBe(false);
      expect(await e.wait(0.02)).toBe(false);
      expect(await e.wait(0)).toBe(false);
      const waiting = tracked(e.wait());
      await new Promise((r) => setTimeout(r, 20));
      expect(waiting.settled).toBe(false);
      await b.event('e').set();
      expect(await waiting.promise).toBe(true);
      expect(await e.wait()).toBe(true);
      await e.clear();
      expect(await b.event('e').is_set()).toBe(false);
    });

    it('a waiter sees a set() even when clear() followed before it looked again', async () => {
      const [a, b] = await openPair();
      const waiting = a.event('e').wait(10);
      await new Promise((r) => setTimeout(r, 20));
      await b.event('e').set();
      await b.event('e').clear();
      expect(await waiting).toBe(true);
    });
  });
});
