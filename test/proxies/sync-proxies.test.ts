/**
 * The SyncManager proxy classes on their own, against a scripted connection that records every call:
 * CPython's exposed lists and proxy class names, the exact arguments each method sends (as CPython's
 * proxies send them: `(blocking,)` or `(blocking, timeout)`, `(timeout,)`, keyword `reverse`), call
 * options passed through to every wait, `wait_for` looping on this side, `hold`/`withLock`, the
 * difference between a lock's `release()` and dropping the proxy's reference, `for await` over queues
 * and dicts, and exposure checked before anything is sent.
 */
import { describe, expect, it, vi } from 'vitest';
import { AbortError, ConnectionClosedError, NotExposedError } from '../../src/errors.js';
import { IndexError, KeyError, StopIteration } from '../../src/python-errors.js';
import type { CallOptions, ManagerClient } from '../../src/protocol/client.js';
import { ObjectRef } from '../../src/codec/ref.js';
import { Token } from '../../src/codec/token.js';
import { Slice } from '../../src/codec/values.js';
import {
  AcquirerProxy,
  ArrayProxy,
  BarrierProxy,
  BaseProxy,
  ConditionProxy,
  DictProxy,
  EventProxy,
  IteratorProxy,
  ListProxy,
  QueueProxy,
  SetProxy,
  ValueProxy,
  type ProxyClass,
} from '../../proxies/index.js';

interface Call {
  ident: string | null;
  method: string;
  args: readonly unknown[];
  kwds: Record<string, unknown> | null;
  options: CallOptions | undefined;
}

type Responder = (call: Call) => unknown;

/** A connection that records calls and answers them with `respond` (a thrown error rejects the call). */
class ScriptedClient implements ManagerClient {
  readonly serverAddress = ['127.0.0.1', 1] as ['127.0.0.1', number];
  closed = false;
  readonly encryption = null;
  decodeContext = {};
  readonly calls: Call[] = [];
  readonly released: Array<[string, number]> = [];
  respond: Responder = () => null;

  call(ident: string | null, method: string, args: readonly unknown[] = [], kwds: Record<string, unknown> | null = null, options?: CallOptions): Promise<unknown> {
    const call = { ident, method, args, kwds, options };
    this.calls.push(call);
    try {
      return Promise.resolve(this.respond(call));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  release(ident: string, count = 1): void {
    this.released.push([ident, count]);
  }

  onClose(): () => void {
    return () => {};
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** The calls made so far as `[method, args, kwds]`, and forget them. */
  take(): Array<[string, readonly unknown[], Record<string, unknown> | null]> {
    return this.calls.splice(0).map((c) => [c.method, c.args, c.kwds]);
  }
}

let ids = 0;
function make<P extends BaseProxy>(Cls: ProxyClass<P>, typeid = 'x'): { proxy: P; client: ScriptedClient } {
  const client = new ScriptedClient();
  const proxy = new Cls(client, new ObjectRef(new Token(typeid, ['127.0.0.1', 1], `id${++ids}`), null));
  return { proxy, client };
}

const M = 'multiprocessing.managers.';

describe('exposed lists and CPython proxy classes', () => {
  it.each([
    [AcquirerProxy, ['acquire', 'release', 'locked'], 'AcquirerProxy'],
    [ConditionProxy, ['acquire', 'release', 'wait', 'notify', 'notify_all', 'locked'], 'ConditionProxy'],
    [EventProxy, ['is_set', 'set', 'clear', 'wait'], 'EventProxy'],
    [BarrierProxy, ['__getattribute__', 'wait', 'abort', 'reset'], 'BarrierProxy'],
    [ValueProxy, ['get', 'set'], 'ValueProxy'],
    [ArrayProxy, ['__len__', '__getitem__', '__setitem__'], 'ArrayProxy'],
  ] as Array<[ProxyClass, string[], string]>)('%o', (Cls, exposed, py) => {
    expect(Cls.exposed).toEqual(exposed);
    expect(Cls.pyProxytype).toBe(M + py);
    const { proxy } = make(Cls);
    expect(proxy.exposed).toEqual(exposed);
    expect(proxy.toObjectRef().proxytype).toBe(M + py);
  });

  it('QueueProxy has no CPython class of its own (Python clients use AutoProxy)', () => {
    expect((QueueProxy as ProxyClass).pyProxytype).toBeUndefined();
    expect(make(QueueProxy).proxy.toObjectRef().proxytype).toBe(null);
  });

  it('dict and set map __iter__ to the Iterator typeid; list, dict and set carry the 3.14 names', () => {
    expect(DictProxy.methodToTypeid).toEqual({ __iter__: 'Iterator' });
    expect(SetProxy.methodToTypeid).toEqual({ __iter__: 'Iterator' });
    expect(ListProxy.exposed).toEqual(expect.arrayContaining(['clear', 'copy', '__imul__', '__reversed__']));
    expect(DictProxy.exposed.slice(-5)).toEqual(['__ior__', '__or__', '__reversed__', '__ror__', 'fromkeys']);
    expect(SetProxy.exposed).toHaveLength(37);
  });

  it('a name outside the exposed list is refused before anything is sent', async () => {
    const { proxy, client } = make(EventProxy);
    await expect(proxy.callMethod('_flag')).rejects.toBeInstanceOf(NotExposedError);
    expect(client.calls).toHaveLength(0);
  });
});

describe('AcquirerProxy', () => {
  it('sends (blocking,) without a timeout and (blocking, timeout) with one, as CPython', async () => {
    const { proxy, client } = make(AcquirerProxy);
    client.respond = () => true;
    const ac = new AbortController();
    await proxy.acquire();
    await proxy.acquire(false);
    await proxy.acquire(true, 1.5, { signal: ac.signal });
    expect(client.calls[2]?.options?.signal).toBe(ac.signal);
    expect(client.take()).toEqual([
      ['acquire', [true], null],
      ['acquire', [false], null],
      ['acquire', [true, 1.5], null],
    ]);
  });

  it('release() is the lock\'s; dispose() and `using` drop the proxy\'s reference instead', async () => {
    const { proxy, client } = make(AcquirerProxy);
    await proxy.release();
    expect(client.take()).toEqual([['release', [], null]]);
    expect(proxy.released).toBe(false);
    {
      using p = proxy;
      void p;
    }
    expect(proxy.released).toBe(true);
    expect(client.released).toEqual([[proxy.token.id, 1]]);
    expect(client.calls).toHaveLength(0);
    const other = make(AcquirerProxy);
    other.proxy.dispose();
    expect(other.client.released).toHaveLength(1);
  });

  it('hold() acquires, and releases once however many times it is asked', async () => {
    const { proxy, client } = make(AcquirerProxy);
    client.respond = () => true;
    const ac = new AbortController();
    {
      await using held = await proxy.hold({ signal: ac.signal });
      await held.release();
    }
    expect(client.calls[0]?.options?.signal).toBe(ac.signal);
    expect(client.take().map((c) => c[0])).toEqual(['acquire', 'release']);
  });

  it('withLock() releases after the function, also when it throws; a failed acquire runs nothing', async () => {
    const { proxy, client } = make(AcquirerProxy);
    client.respond = () => true;
    expect(await proxy.withLock(() => 42)).toBe(42);
    await expect(proxy.withLock(() => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(client.take().map((c) => c[0])).toEqual(['acquire', 'release', 'acquire', 'release']);
    client.respond = () => {
      throw new AbortError();
    };
    const fn = vi.fn();
    await expect(proxy.withLock(fn)).rejects.toBeInstanceOf(AbortError);
    expect(fn).not.toHaveBeenCalled();
    expect(client.take().map((c) => c[0])).toEqual(['acquire']);
  });
});

describe('ConditionProxy', () => {
  it('sends wait (timeout,) and notify (n,) as CPython', async () => {
    const { proxy, client } = make(ConditionProxy);
    client.respond = () => true;
    await proxy.wait();
    await proxy.wait(2);
    await proxy.notify();
    await proxy.notify(3);
    await proxy.notify_all();
    expect(client.take()).toEqual([
      ['wait', [null], null],
      ['wait', [2], null],
      ['notify', [1], null],
      ['notify', [3], null],
      ['notify_all', [], null],
    ]);
  });

  it('wait_for checks the predicate first, then after each wait, and returns its value', async () => {
    const { proxy, client } = make(ConditionProxy);
    client.respond = () => true;
    expect(await proxy.wait_for(() => 'at once')).toBe('at once');
    expect(client.calls).toHaveLength(0);
    const answers = [0, 0, 'third'];
    const ac = new AbortController();
    expect(await proxy.wait_for(async () => answers.shift(), null, { signal: ac.signal })).toBe('third');
    expect(client.calls.map((c) => [c.method, c.args, c.options?.signal])).toEqual([
      ['wait', [null], ac.signal],
      ['wait', [null], ac.signal],
    ]);
  });

  it('wait_for with a timeout waits for what is left of it, and gives up with the last value', async () => {
    const { proxy, client } = make(ConditionProxy);
    client.respond = () => new Promise((r) => setTimeout(() => r(false), 15));
    expect(await proxy.wait_for(() => 0, 0.05)).toBe(0);
    const waits = client.calls.map((c) => c.args[0] as number);
    expect(waits.length).toBeGreaterThan(0);
    for (const w of waits) expect(w).toBeLessThanOrEqual(0.05);
    for (let i = 1; i < waits.length; i++) expect(waits[i]).toBeLessThan(waits[i - 1] as number);
  });
});

describe('EventProxy, BarrierProxy, ValueProxy', () => {
  it('send what CPython\'s proxies send', async () => {
    const ev = make(EventProxy);
    const signal = new AbortController().signal;
    await ev.proxy.wait(1, { signal });
    await ev.proxy.set();
    expect(ev.client.calls[0]?.options?.signal).toBe(signal);
    expect(ev.client.take()).toEqual([
      ['wait', [1], null],
      ['set', [], null],
    ]);
    const b = make(BarrierProxy);
    await b.proxy.wait();
    await b.proxy.parties();
    await b.proxy.n_waiting();
    await b.proxy.broken();
    await b.proxy.abort();
    await b.proxy.reset();
    expect(b.client.take()).toEqual([
      ['wait', [null], null],
      ['__getattribute__', ['parties'], null],
      ['__getattribute__', ['n_waiting'], null],
      ['__getattribute__', ['broken'], null],
      ['abort', [], null],
      ['reset', [], null],
    ]);
    const v = make(ValueProxy<number>);
    await v.proxy.set(3);
    await v.proxy.get();
    expect(v.client.take()).toEqual([
      ['set', [3], null],
      ['get', [], null],
    ]);
  });
});

describe('QueueProxy', () => {
  it('sends get/put with block and timeout, and passes options to every wait', async () => {
    const { proxy, client } = make(QueueProxy<number>);
    const signal = new AbortController().signal;
    await proxy.get(true, 2, { signal });
    await proxy.put(1, false);
    await proxy.join({ signal });
    expect(client.calls.map((c) => c.options?.signal)).toEqual([signal, undefined, signal]);
    expect(client.take()).toEqual([
      ['get', [true, 2], null],
      ['put', [1, false, null], null],
      ['join', [], null],
    ]);
  });

  it('iterate() ends quietly at the sentinel, on abort, and when the connection closes', async () => {
    const { proxy, client } = make(QueueProxy<number | null>);
    const items: Array<number | null> = [1, 2, null, 3];
    client.respond = () => items.shift();
    const seen: Array<number | null> = [];
    for await (const x of proxy.iterate({ sentinel: null })) seen.push(x);
    expect(seen).toEqual([1, 2]);
    const ac = new AbortController();
    client.respond = (call) => {
      ac.abort();
      expect(call.options?.signal).toBe(ac.signal);
      throw new AbortError('aborted');
    };
    for await (const x of proxy.iterate({ signal: ac.signal })) seen.push(x);
    client.respond = () => {
      throw new ConnectionClosedError();
    };
    for await (const x of proxy) seen.push(x);
    expect(seen).toEqual([1, 2]);
    client.respond = () => {
      throw new KeyError('other');
    };
    await expect(proxy.iterate().next()).rejects.toBeInstanceOf(KeyError);
  });
});

describe('ListProxy and ArrayProxy', () => {
  it('send Python\'s arguments: slices, sort(reverse=...) as a keyword, index bounds, pop', async () => {
    const { proxy, client } = make(ListProxy<number>);
    await proxy.slice(1, null, 2);
    await proxy.sort();
    await proxy.sort({ reverse: true });
    await proxy.index(3);
    await proxy.index(3, 1);
    await proxy.index(3, undefined, 5);
    await proxy.pop();
    await proxy.pop(0);
    await proxy.extend(new Set([7, 8]));
    expect(await proxy.__imul__(2)).toBe(proxy);
    expect(client.take()).toEqual([
      ['__getitem__', [new Slice(1, null, 2)], null],
      ['sort', [], null],
      ['sort', [], { reverse: true }],
      ['index', [3], null],
      ['index', [3, 1], null],
      ['index', [3, 0, 5], null],
      ['pop', [], null],
      ['pop', [0], null],
      ['extend', [[7, 8]], null],
      ['__imul__', [2], null],
    ]);
  });

  it('for await reads by index until IndexError, as Python iterates', async () => {
    for (const Cls of [ListProxy, ArrayProxy] as ProxyClass[]) {
      const { proxy, client } = make(Cls);
      client.respond = (call) => {
        const i = call.args[0] as number;
        if (i >= 2) throw new IndexError('list index out of range');
        return i * 10;
      };
      const seen: unknown[] = [];
      for await (const x of proxy as ListProxy<number>) seen.push(x);
      expect(seen).toEqual([0, 10]);
    }
  });
});

describe('DictProxy and SetProxy', () => {
  it('sends sources as the server reads them: objects as they are, Maps and iterables as pairs', async () => {
    const { proxy, client } = make(DictProxy<string, number>);
    await proxy.update({ a: 1 });
    await proxy.update(new Map([['b', 2]]));
    await proxy.update((function* (): Generator<[string, number]> {
      yield ['c', 3];
    })());
    await proxy.update(null, { d: 4 });
    await proxy.get('a');
    await proxy.get('a', 0);
    await proxy.pop('a');
    await proxy.fromkeys(new Set(['x']), 0);
    expect(client.take()).toEqual([
      ['update', [{ a: 1 }], null],
      ['update', [new Map([['b', 2]])], null],
      ['update', [[['c', 3]]], null],
      ['update', [], { d: 4 }],
      ['get', ['a'], null],
      ['get', ['a', 0], null],
      ['pop', ['a'], null],
      ['fromkeys', [['x'], 0], null],
    ]);
  });

  it('delete() answers whether the key was there (KeyError becomes false)', async () => {
    const { proxy, client } = make(DictProxy<string, number>);
    expect(await proxy.delete('a')).toBe(true);
    client.respond = () => {
      throw new KeyError('a');
    };
    expect(await proxy.delete('a')).toBe(false);
  });

  it('for await walks a hosted iterator and releases it, also on break', async () => {
    for (const Cls of [DictProxy, SetProxy] as ProxyClass[]) {
      const { proxy, client } = make(Cls);
      const iterator = new IteratorProxy(client, new ObjectRef(new Token('Iterator', ['127.0.0.1', 1], 'it'), null));
      const keys = ['a', 'b', 'c'];
      client.respond = (call) => {
        if (call.method === '__iter__') return iterator;
        const k = keys.shift();
        if (k === undefined) throw new StopIteration();
        return k;
      };
      const seen: unknown[] = [];
      for await (const k of proxy as DictProxy<string, number>) {
        seen.push(k);
        if (seen.length === 2) break;
      }
      expect(seen).toEqual(['a', 'b']);
      expect(iterator.released).toBe(true);
      expect(client.released).toEqual([['it', 1]]);
    }
  });

  it('set methods send iterables as arrays (Sets as they are); in-place operators resolve the proxy', async () => {
    const { proxy, client } = make(SetProxy<number>);
    await proxy.union([1], new Set([2]));
    await proxy.update((function* () {
      yield 3;
    })());
    expect(await proxy.__iand__(new Set([1]))).toBe(proxy);
    expect(client.take()).toEqual([
      ['union', [[1], new Set([2])], null],
      ['update', [[3]], null],
      ['__iand__', [new Set([1])], null],
    ]);
  });
});
