/**
 * Our client (`serializer: 'pickle'`) against a stock CPython `SyncManager` server, every installed
 * version: connect, create every SyncManager typeid and call its methods, `getValue`, `str`, Python's
 * timeouts, `#ERROR` mapped to the named error classes, `#TRACEBACK` to `RemoteError`, `#PROXY` (a dict's
 * iterator), a Queue proxy stored in a dict and read back, a call abandoned on our side's timeout, keyword
 * arguments, a registered callable; a wrong authkey; and a Unix socket.
 */
import { describe, expect, it } from 'vitest';
import { AuthenticationError, RemoteError, TimeoutError } from '../../src/errors.js';
import { BrokenBarrierError, Empty, Full, IndexError, KeyError, PyRuntimeError, StopIteration, ValueError } from '../../src/python-errors.js';
import { Tuple, tuple } from '../../src/codec/values.js';
import { BaseManager } from '../../src/manager/base-manager.js';
import { SyncManager } from '../../src/manager/sync-manager.js';
import type { BaseProxy } from '../../proxies/base-proxy.js';
import type { Address } from '../../src/transport/address.js';
import { pythonVersions, type PythonVersion } from '../support/python.js';
import { AUTHKEY, PY_PRELUDE, TIMEOUT, addressArg, onCleanup, python, socketPath } from './helpers.js';

/** A stock SyncManager server (plus one registered callable) that prints its address and serves. */
const PY_SERVER = `${PY_PRELUDE}
from multiprocessing.managers import SyncManager
class Echo:
    def describe(self, *args, **kwds):
        return [type(a).__name__ for a in args], sorted(kwds.items())
    def echo(self, *args):
        return args
class Server(SyncManager):
    pass
Server.register('Echo', callable=Echo)
# As the reference servers do: the server rebuilds its own proxies sent back to it (Condition(lock))
# and calls them with this key.
multiprocessing.current_process().authkey = sys.argv[2].encode()
m = Server(addr(sys.argv[1]), authkey=sys.argv[2].encode())
server = m.get_server()
out(json.dumps(server.address))
server.serve_forever()
`;

/** The typeids a stock SyncManager (3.11-3.13) registers. */
const SYNC_TYPEIDS = ['Queue', 'JoinableQueue', 'Event', 'Lock', 'RLock', 'Semaphore', 'BoundedSemaphore', 'Condition', 'Barrier', 'Pool', 'list', 'dict', 'Value', 'Array', 'Namespace'] as const;

/** The client side's registry: names only, the server has the callables. */
class PyManager extends BaseManager {}
for (const typeid of SYNC_TYPEIDS) PyManager.register(typeid);
PyManager.register('Iterator', null, { createMethod: false });
PyManager.register('AsyncResult', null, { createMethod: false });
PyManager.register('Echo');

type Proxy = BaseProxy & { [method: string]: (...args: unknown[]) => Promise<unknown> };

async function startPython(py: PythonVersion, address: Address): Promise<Address> {
  const run = python(py, PY_SERVER, [addressArg(address), AUTHKEY]);
  return JSON.parse(await run.nextLine()) as Address;
}

async function connect(address: Address, authkey = AUTHKEY): Promise<PyManager> {
  const manager = new PyManager(address, { authkey, serializer: 'pickle' });
  await manager.connect();
  onCleanup(() => manager.shutdown());
  return manager;
}

/** Every proxy made stays reachable until the file ends, so a collection cannot decref one a test still counts. */
const made: Proxy[] = [];

async function make(manager: PyManager, typeid: string, ...args: unknown[]): Promise<Proxy> {
  const proxy = (await manager.create(typeid, ...args)) as Proxy;
  made.push(proxy);
  return proxy;
}

/** Resolves with the error a promise rejects with (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe.each(pythonVersions())('our pickle client against a stock CPython $version SyncManager', (py) => {
  it.skipIf(!py.available)('creates every typeid and calls its methods', { timeout: TIMEOUT }, async () => {
    const m = await connect(await startPython(py, ['127.0.0.1', 0]));

    const d = await make(m, 'dict');
    await d.callMethod('__setitem__', ['a', 1]);
    await d.callMethod('update', [new Map<unknown, unknown>([['b', tuple(2, 3)], [7, 'seven']])]);
    expect(await d.callMethod('__len__')).toBe(3);
    expect(await d.callMethod('get', ['zz', 'default'])).toBe('default');
    expect(await d.getValue()).toEqual(new Map<unknown, unknown>([['a', 1], ['b', tuple(2, 3)], [7, 'seven']]));
    expect(await d.toString()).toBe("{'a': 1, 'b': (2, 3), 7: 'seven'}");

    const l = await make(m, 'list', [3, 1, 2]);
    await l.callMethod('append', [2n ** 64n]);
    await l.callMethod('sort');
    expect(await l.getValue()).toEqual([1, 2, 3, 2n ** 64n]);
    expect(await l.callMethod('index', [3])).toBe(2);
    expect(await l.toString()).toBe('[1, 2, 3, 18446744073709551616]');

    for (const typeid of ['Queue', 'JoinableQueue']) {
      const q = await make(m, typeid);
      await q.callMethod('put', [tuple<unknown>('job', 1)]);
      expect(await q.callMethod('qsize')).toBe(1);
      expect(await q.callMethod('get')).toEqual(tuple<unknown>('job', 1));
      expect(await q.callMethod('empty')).toBe(true);
      await q.callMethod('task_done');
      await q.callMethod('join');
    }

    const v = await make(m, 'Value', 'i', 5);
    await v.callMethod('set', [6]);
    expect(await v.callMethod('get')).toBe(6);
    expect(await v.getValue()).toEqual({ typecode: 'i', value: 6 });
    expect(await v.toString()).toBe("Value('i', 6)");

    const a = await make(m, 'Array', 'd', [0.5, 1.5]);
    await a.callMethod('__setitem__', [0, 2.5]);
    expect(await a.callMethod('__len__')).toBe(2);
    expect(await a.getValue()).toEqual([2.5, 1.5]);
    expect(await a.toString()).toBe("array('d', [2.5, 1.5])");

    const ns = await make(m, 'Namespace');
    await ns.callMethod('__setattr__', ['name', 'Bob']);
    expect(await ns.callMethod('__getattribute__', ['name'])).toBe('Bob');
    expect(await ns.getValue()).toEqual({ name: 'Bob' });
    expect(await ns.toString()).toBe("Namespace(name='Bob')");

    for (const typeid of ['Lock', 'RLock', 'Semaphore', 'BoundedSemaphore']) {
      const lock = await make(m, typeid);
      expect(await lock.callMethod('acquire')).toBe(true);
      await lock.callMethod('release');
    }
    const cond = await make(m, 'Condition');
    await cond.callMethod('acquire');
    await cond.callMethod('notify_all');
    await cond.callMethod('release');

    const e = await make(m, 'Event');
    expect(await e.callMethod('is_set')).toBe(false);
    await e.callMethod('set');
    expect(await e.callMethod('wait', [1])).toBe(true);

    const b = await make(m, 'Barrier', 1);
    expect(await b.callMethod('__getattribute__', ['parties'])).toBe(1);
    expect(await b.callMethod('wait')).toBe(0);

    const pool = await make(m, 'Pool', 1);
    await pool.callMethod('close');
    await pool.callMethod('join');

    expect(await m.numberOfObjects()).toBeGreaterThanOrEqual(SYNC_TYPEIDS.length);
  });

  it.skipIf(!py.available)("Python's timeouts, #ERROR as named errors, #TRACEBACK as RemoteError", { timeout: TIMEOUT }, async () => {
    const m = await connect(await startPython(py, ['127.0.0.1', 0]));
    const q = await make(m, 'Queue', 1);
    expect(await rejection(q.callMethod('get', [true, 0.05]))).toBeInstanceOf(Empty);
    expect(await rejection(q.callMethod('get', [], { block: true, timeout: 0.05 }))).toBeInstanceOf(Empty);
    expect(await rejection(q.callMethod('get_nowait'))).toBeInstanceOf(Empty);
    await q.callMethod('put', ['x']);
    expect(await rejection(q.callMethod('put', ['y'], { timeout: 0.05 }))).toBeInstanceOf(Full);

    const lock = await make(m, 'Lock');
    expect(await lock.callMethod('acquire')).toBe(true);
    expect(await lock.callMethod('acquire', [true, 0.05])).toBe(false);
    expect(await lock.callMethod('acquire', [], { timeout: 0.05 })).toBe(false);
    await lock.callMethod('release');
    expect(await rejection(lock.callMethod('release'))).toBeInstanceOf(PyRuntimeError);

    const e = await make(m, 'Event');
    expect(await e.callMethod('wait', [0.05])).toBe(false);
    const cond = await make(m, 'Condition');
    await cond.callMethod('acquire');
    expect(await cond.callMethod('wait', [0.05])).toBe(false);
    await cond.callMethod('release');
    const barrier = await make(m, 'Barrier', 2);
    expect(await rejection(barrier.callMethod('wait', [0.05]))).toBeInstanceOf(BrokenBarrierError);

    const d = await make(m, 'dict');
    const missing = await rejection(d.callMethod('__getitem__', ['missing']));
    expect(missing).toBeInstanceOf(KeyError);
    expect((missing as KeyError).args).toEqual(['missing']);
    const l = await make(m, 'list');
    expect(await rejection(l.callMethod('__getitem__', [5]))).toBeInstanceOf(IndexError);
    expect(await rejection(l.callMethod('index', ['nope']))).toBeInstanceOf(ValueError);

    // Faults outside a method: an unknown typeid, and a method the server does not expose.
    const unknown = await rejection(m.create('NoSuchType'));
    expect(unknown).toBeInstanceOf(RemoteError);
    expect((unknown as RemoteError).remoteType).toBe('KeyError');
    const hidden = await rejection(m.client.call(d.token.id, 'no_such_method'));
    expect(hidden).toBeInstanceOf(RemoteError);
    expect((hidden as RemoteError).remoteStack).toContain('no_such_method');
  });

  it.skipIf(!py.available)('#PROXY iterators, a Queue proxy kept in a dict, an abandoned call, Python values back', { timeout: TIMEOUT }, async () => {
    const m = await connect(await startPython(py, ['127.0.0.1', 0]));
    const d = await make(m, 'dict');
    await d.callMethod('update', [{ x: 1, y: 2 }]);
    const it = (await d.callMethod('__iter__')) as Proxy;
    expect(it.token.typeid).toBe('Iterator');
    const keys: unknown[] = [];
    for (;;) {
      try {
        keys.push(await it.callMethod('__next__'));
      } catch (err) {
        expect(err).toBeInstanceOf(StopIteration);
        break;
      }
    }
    expect(keys).toEqual(['x', 'y']);

    const q = await make(m, 'Queue');
    await d.callMethod('__setitem__', ['queue', q]);
    const back = (await d.callMethod('__getitem__', ['queue'])) as Proxy;
    expect(back.token.id).toBe(q.token.id);
    await back.callMethod('put', ['through the dict']);
    expect(await q.callMethod('get')).toBe('through the dict');

    // Our timeout on a call Python would block on forever: the call fails and later calls work. (The
    // server thread of the abandoned get still waits, and will take the next item put: CPython cannot
    // cancel a call.)
    expect(await rejection(q.callMethod('get', [], null, { timeout: 0.2 }))).toBeInstanceOf(TimeoutError);
    expect(await q.callMethod('qsize')).toBe(0);
    expect(await d.callMethod('__len__')).toBe(3);

    // A registered class: JS values arrive as the Python types the codec documents, and come back.
    const echo = await make(m, 'Echo');
    const values = [tuple(1, 2), { k: 1 }, new Map([[1, 2]]), 2n ** 80n, Buffer.from('b'), new Uint8Array([1]), new Set([1]), null, 1.5];
    expect(await echo.callMethod('describe', values, { kw: 'v' })).toEqual(
      tuple(['tuple', 'dict', 'dict', 'int', 'bytes', 'bytearray', 'set', 'NoneType', 'float'], [tuple('kw', 'v')]),
    );
    expect(await echo.callMethod('echo', values)).toEqual(tuple(...values));
  });

  it.skipIf(!py.available)("our SyncManager's typed proxies", { timeout: TIMEOUT }, async () => {
    const address = await startPython(py, ['127.0.0.1', 0]);
    const m = new SyncManager(address, { authkey: AUTHKEY, serializer: 'pickle' });
    await m.connect();
    onCleanup(() => m.shutdown());

    const d = await m.dict<string, unknown>({ a: 1 });
    await d.set('b', [1, 2]);
    const keys: string[] = [];
    for await (const key of d) keys.push(key);
    expect(keys).toEqual(['a', 'b']);
    expect(await d.getValue()).toEqual({ a: 1, b: [1, 2] });
    await expect(d.__getitem__('zz')).rejects.toBeInstanceOf(KeyError);

    const q = await m.Queue<number>();
    await q.put(1);
    expect(await q.get()).toBe(1);
    await expect(q.get(true, 0.05)).rejects.toBeInstanceOf(Empty);
    await d.set('q', q);
    const back = (await d.__getitem__('q')) as typeof q;
    await back.put(2);
    expect(await q.get(false)).toBe(2);

    const l = await m.list([3, 1]);
    await l.append(2);
    await l.sort();
    expect(await l.getValue()).toEqual([1, 2, 3]);
    const items: number[] = [];
    for await (const item of l) items.push(item);
    expect(items).toEqual([1, 2, 3]);

    const lock = await m.Lock();
    expect(await lock.acquire()).toBe(true);
    expect(await lock.acquire(true, 0.05)).toBe(false);
    await lock.release();
    const cond = await m.Condition(lock);
    expect(await cond.acquire()).toBe(true);
    expect(await lock.acquire(false)).toBe(false);
    expect(await cond.wait(0.05)).toBe(false);
    await cond.release();
    const rlock = await m.RLock();
    await rlock.withLock(async () => expect(await rlock.acquire(false)).toBe(true));
    await rlock.release();
    const sem = await m.BoundedSemaphore(1);
    await sem.acquire();
    await sem.release();
    await expect(sem.release()).rejects.toBeInstanceOf(ValueError);

    const e = await m.Event();
    expect(await e.wait(0.05)).toBe(false);
    await e.set();
    expect(await e.is_set()).toBe(true);
    const b = await m.Barrier(1);
    expect(await b.parties()).toBe(1);
    expect(await b.wait()).toBe(0);

    const v = await m.Value('i', 1);
    await v.set(2);
    expect(await v.get()).toBe(2);
    expect(await v.toString()).toBe("Value('i', 2)");
    const a = await m.Array('i', [1, 2]);
    await a.set(0, 5);
    const arr: number[] = [];
    for await (const x of a) arr.push(x);
    expect(arr).toEqual([5, 2]);
    expect(await a.len()).toBe(2);
    const ns = await m.Namespace<{ x: number; y?: string }>({ x: 1 });
    await ns.set('y', 'why');
    expect(await ns.attrs.x).toBe(1);
    expect(await ns.get('y')).toBe('why');
    expect(await ns.toString()).toBe("Namespace(x=1, y='why')");
  });

  it.skipIf(!py.available)('over a Unix socket', { timeout: TIMEOUT }, async () => {
    const address = await startPython(py, socketPath());
    expect(typeof address).toBe('string');
    const m = await connect(address);
    const d = await make(m, 'dict');
    await d.callMethod('__setitem__', ['k', tuple(1, 2)]);
    const got = await d.callMethod('__getitem__', ['k']);
    expect(got).toBeInstanceOf(Tuple);
    expect(got).toEqual(tuple(1, 2));
  });

  it.skipIf(!py.available)('a wrong authkey: our AuthenticationError says the authkeys differ', { timeout: TIMEOUT }, async () => {
    const address = await startPython(py, ['127.0.0.1', 0]);
    const manager = new PyManager(address, { authkey: 'wrong key', serializer: 'pickle' });
    const err = await rejection(manager.connect());
    expect(err).toBeInstanceOf(AuthenticationError);
    expect(err.message).toMatch(/authkeys differ/);
  });
});
