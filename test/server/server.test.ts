/**
 * The manager server's behaviour, end to end through real sockets, over TCP, a Unix socket and WebSocket: exposure
 * rules (CPython's), remote errors, many calls in flight on one connection, cancellation and timeouts,
 * reference counts (release, close, SIGKILL), proxies passed as arguments, nested in values and handed
 * to a worker thread, results returned as proxies, keyword arguments, control operations and shutdown
 * rights. Hostile raw frames are in native-session.test.ts.
 */
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { BaseManager } from '../../src/manager/base-manager.js';
import { AbortError, ConnectionClosedError, InvalidArgumentError, NotExposedError, RemoteError, TimeoutError } from '../../src/errors.js';
import { PyTypeError, StopIteration, ValueError } from '../../src/python-errors.js';
import { BaseProxy } from '../../proxies/base-proxy.js';
import { IteratorProxy } from '../../proxies/iterator-proxy.js';
import type { AutoProxy } from '../../proxies/auto-proxy.js';
import type { NativeClient } from '../../src/protocol/native-client.js';
import { Bag, Counter, Echo, Holder, Kw, Waiter } from '../fixtures/referents.js';
import { eventually, TRANSPORTS } from '../fixtures/transports.js';
import { killAll, run, startWorker } from '../fixtures/processes.js';
import type { Address } from '../../src/transport/address.js';

const AUTHKEY = 'server-suite-key';

const managers: BaseManager[] = [];
afterEach(async () => {
  killAll();
  for (const m of managers.splice(0).reverse()) await m.shutdown().catch(() => {});
});

function registered(address: Address, options: { allowRemoteShutdown?: boolean } = {}) {
  return new BaseManager(address, { authkey: AUTHKEY, ...options })
    .register('Counter', Counter)
    .register('Exact', Counter, { exposed: ['value', '_secret'] })
    .register('Echo', Echo)
    .register('Waiter', Waiter)
    .register('Holder', Holder)
    .register('Bag', Bag, { methodToTypeid: { iter: 'Iterator', counter: 'Counter' } })
    .register('Iterator', null, { proxytype: IteratorProxy, createMethod: false })
    .register('Kw', Kw)
    .register('Opaque', Counter, { exposed: [] })
    .register('Value', null)
    .register('Broken', Broken);
}

class Broken {
  constructor() {
    throw new Error('cannot build a Broken');
  }
}

async function startServer(address: Address, options: { allowRemoteShutdown?: boolean } = {}) {
  const m = registered(address, options);
  managers.push(m);
  return m.start();
}

/** A second client in this process: a manager that only connects (no registrations, auto proxies). */
async function connectClient(address: Address): Promise<BaseManager> {
  const m = new BaseManager(address, { authkey: AUTHKEY });
  managers.push(m);
  return m.connect();
}

/** Calls in flight on the manager's own (native) connection. */
function pendingCalls(m: BaseManager): number {
  return (m.client as NativeClient).pendingCalls;
}

describe.each(TRANSPORTS)('manager server over $name', (transport) => {
  describe('registry and exposure (CPython rules)', () => {
    it('exposes the public methods by default, sorted, and never a _private one', async () => {
      const m = await startServer(transport.address());
      const c = await m.Counter(5);
      expect(c.exposed).toEqual(['crash', 'crashLater', 'fail', 'inc', 'throwString', 'value']);
      expect(await c.inc()).toBe(6);
      // The proxy refuses locally, and the server refuses a raw call too.
      await expect(c.callMethod('_secret')).rejects.toThrow(NotExposedError);
      const raw = m.client.call(c.token.id, '_secret');
      await expect(raw).rejects.toBeInstanceOf(NotExposedError);
      await expect(raw).rejects.toMatchObject({ name: 'NotExposedError', message: expect.stringMatching(/'_secret' of 'Counter' is not exposed/) });
      expect(await m.client.call(null, 'get_methods', [c.token.id])).toEqual(c.exposed);
    });

    it('exposes exactly the given list when `exposed` is given, _private names included', async () => {
      const m = await startServer(transport.address());
      const e = await m.create('Exact', 2);
      expect(e.exposed).toEqual(['value', '_secret']);
      expect(await e.callMethod('_secret')).toBe('hidden');
      expect(await e.callMethod('value')).toBe(2);
      await expect(e.callMethod('inc')).rejects.toThrow(NotExposedError);
      await expect(m.client.call(e.token.id, 'inc')).rejects.toMatchObject({ name: 'NotExposedError' });
      expect(await e.callMethod('value')).toBe(2); // the refused call did not run
    });

    it('never resolves __proto__, constructor, prototype or inherited members, and refuses to expose them', async () => {
      const m = await startServer(transport.address());
      const c = await m.Counter(1);
      for (const name of ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', '__lookupGetter__', 'isPrototypeOf']) {
        await expect(m.client.call(c.token.id, name, ['x']), name).rejects.toMatchObject({ name: 'NotExposedError' });
      }
      expect(await c.value()).toBe(1);
      for (const name of ['__proto__', 'constructor', 'prototype', '__defineSetter__', '__lookupSetter__']) {
        expect(() => m.register(`Bad_${name}`, Counter, { exposed: ['value', name] }), name).toThrow(InvalidArgumentError);
      }
      expect(() => BaseManager.register('Bad', Counter, { exposed: ['constructor'] })).toThrow(InvalidArgumentError);
      expect(BaseManager.registry.has('Bad')).toBe(false);
    });

    it('answers the CPython fallbacks __str__, __repr__ and #GETVALUE on any object, even with nothing exposed', async () => {
      const m = await startServer(transport.address());
      const o = await m.create('Opaque', 7);
      expect(o.exposed).toEqual([]);
      await expect(o.callMethod('value')).rejects.toThrow(NotExposedError);
      expect(await o.callMethod('__str__')).toBe('<Counter object>');
      expect(await o.callMethod('__repr__')).toBe('<Counter object>');
      expect(await o.toString()).toBe('<Counter object>');
      expect(await o.getValue()).toEqual({ n: 7 });

      const v = await m.create('Value', { a: [1, 'two', null], b: true });
      expect(await v.toString()).toBe("{'a': [1, 'two', None], 'b': True}");
      expect(await v.callMethod('__str__')).toBe("{'a': [1, 'two', None], 'b': True}");
      expect(await v.getValue()).toEqual({ a: [1, 'two', null], b: true });
      const s = await m.create('Value', 'text');
      expect(await s.callMethod('__str__')).toBe('text');
      expect(await s.callMethod('__repr__')).toBe("'text'");
    });
  });

  describe('remote errors', () => {
    it('keep their type, message and server-side stack, and leave the connection usable', async () => {
      const m = await startServer(transport.address());
      const c = await m.Counter();

      const py = await c.fail('bad value').catch((e: unknown) => e);
      expect(py).toBeInstanceOf(ValueError);
      expect(py).toMatchObject({ pyType: 'builtins.ValueError', args: ['bad value'], message: 'ValueError: bad value' });
      expect((py as ValueError).remoteStack).toMatch(/Counter\.fail/);

      const js = await c.crash().catch((e: unknown) => e);
      expect(js).toBeInstanceOf(RemoteError);
      expect(js).toMatchObject({ remoteType: 'TypeError', message: 'TypeError: the counter crashed' });
      expect((js as RemoteError).remoteStack).toMatch(/^TypeError: the counter crashed\n\s+at Counter\.crash/);

      const later = await c.crashLater().catch((e: unknown) => e);
      expect(later).toMatchObject({ remoteType: 'RangeError', message: 'RangeError: the counter crashed later' });
      expect((later as RemoteError).remoteStack).toMatch(/crashLater/);

      // `throw 'text'` still arrives as a remote error carrying the text.
      await expect(c.throwString()).rejects.toMatchObject({ remoteType: 'Error', message: 'Error: not an Error' });

      const typeErr = await m.createWith('Counter', [], { nope: 1 }).catch((e: unknown) => e);
      expect(typeErr).toBeInstanceOf(PyTypeError);
      await expect(m.create('NoSuchType')).rejects.toMatchObject({ name: 'UnknownTypeidError', message: expect.stringMatching(/'NoSuchType' is not registered/) });
      const broken = await m.create('Broken').catch((e: unknown) => e);
      expect(broken).toMatchObject({ remoteType: 'Error', message: 'Error: cannot build a Broken' });
      expect((broken as RemoteError).remoteStack).toMatch(/new Broken/);
      expect(await m.numberOfObjects()).toBe(1);
      expect(await c.inc()).toBe(1);
    });

    it('an unknown method or object id is an error for that call only; other clients keep working', async () => {
      const m = await startServer(transport.address());
      const other = await connectClient(m.address);
      const c = await m.Counter();
      await expect(m.client.call(c.token.id, 'noSuchMethod')).rejects.toMatchObject({ name: 'NotExposedError' });
      await expect(m.client.call('ffffffffffff', 'value')).rejects.toMatchObject({ name: 'UnknownObjectError', message: expect.stringMatching(/'ffffffffffff'/) });
      await expect(m.client.call(null, 'no_such_operation')).rejects.toMatchObject({ name: 'InvalidArgumentError' });
      await expect(m.client.call(null, 'incref', ['ffffffffffff'])).rejects.toMatchObject({ name: 'UnknownObjectError' });
      expect(await c.inc()).toBe(1);
      const theirs = await other.create('Counter', 10);
      expect(await theirs.callMethod('inc')).toBe(11);
    });
  });

  describe('many calls on one connection', () => {
    it('gives every one of 300 concurrent calls its own reply, whatever order they finish in', async () => {
      const m = await startServer(transport.address());
      const echoes = [await m.Echo(), await m.Echo(), await m.Echo()];
      const n = 300;
      const calls = Array.from({ length: n }, (_, i) => {
        const echo = echoes[i % echoes.length] as BaseProxy;
        return i % 4 === 0 ? echo.callMethod('now', [{ i }]) : echo.callMethod('after', [{ i, s: `v${i}` }, (n - i) % 7]);
      });
      expect(pendingCalls(m)).toBeGreaterThan(0);
      const results = await Promise.all(calls);
      results.forEach((r, i) => expect(r).toEqual(i % 4 === 0 ? { i } : { i, s: `v${i}` }));
      expect(pendingCalls(m)).toBe(0);
    });

    it('serves several clients at once, each with its own replies', async () => {
      const m = await startServer(transport.address());
      const clients = await Promise.all([connectClient(m.address), connectClient(m.address), connectClient(m.address)]);
      const shared = await m.Counter();
      const perClient = await Promise.all(
        clients.map(async (client, k) => {
          const echo = await client.create('Echo');
          const mine = await client.rebuild(shared.toTransferable());
          const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => echo.callMethod('after', [`${k}:${i}`, i % 5])));
          await Promise.all(Array.from({ length: 10 }, () => mine.callMethod('inc')));
          return answers;
        }),
      );
      perClient.forEach((answers, k) => expect(answers).toEqual(Array.from({ length: 40 }, (_, i) => `${k}:${i}`)));
      expect(await shared.value()).toBe(30);
    });
  });

  describe('cancellation and timeouts', () => {
    it('an aborted call rejects with AbortError, the server sees its signal abort, and the connection stays usable', async () => {
      const m = await startServer(transport.address());
      const w = await m.Waiter();
      const controller = new AbortController();
      const call = w.callMethod('wait', [], null, { signal: controller.signal });
      await w.callMethod('abortedCalls'); // the wait is running on the server now
      controller.abort(new Error('user gave up'));
      const err = await call.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AbortError);
      expect((err as AbortError).cause).toMatchObject({ message: 'user gave up' });
      expect(await eventually(async () => ((await w.callMethod('abortedCalls')) as string[]).length, 1)).toBe(1);
      expect(await w.callMethod('abortedCalls')).toEqual(['the call was cancelled by the client']);
      expect(pendingCalls(m)).toBe(0);
      expect(await (await m.Echo()).callMethod('now', ['still fine'])).toBe('still fine');
    });

    it('a call with a signal that is already aborted rejects without waiting', async () => {
      const m = await startServer(transport.address());
      const w = await m.Waiter();
      await expect(w.callMethod('wait', [], null, { signal: AbortSignal.abort() })).rejects.toThrow(AbortError);
      expect(await w.callMethod('abortedCalls')).toHaveLength(1);
    });

    it('a call that times out rejects with TimeoutError, is cancelled on the server, and the connection stays usable', async () => {
      const m = await startServer(transport.address());
      const w = await m.Waiter();
      await expect(w.callMethod('wait', [], null, { timeout: 0.05 })).rejects.toThrow(TimeoutError);
      expect(await eventually(async () => ((await w.callMethod('abortedCalls')) as string[]).length, 1)).toBe(1);
      const c = await m.Counter();
      expect(await c.callMethod('inc', [2], null, { timeout: 30 })).toBe(2);
      expect(pendingCalls(m)).toBe(0);
    });

    it('the late reply of a cancelled call never reaches the next call', async () => {
      const m = await startServer(transport.address());
      const w = await m.Waiter();
      const controller = new AbortController();
      const slow = w.callMethod('gated', [], null, { signal: controller.signal });
      await w.callMethod('abortedCalls'); // the gated call is waiting on the server
      controller.abort();
      await expect(slow).rejects.toThrow(AbortError);
      // `open` releases the gated call first: its reply ('late') goes out before this call's own ('fast').
      expect(await w.callMethod('open', ['late', 'fast'])).toBe('fast');
      expect(await w.callMethod('open', ['late again', 'second'])).toBe('second');
      // A timed-out call's late reply is dropped the same way.
      const timed = w.callMethod('gated', [], null, { timeout: 0.05 });
      await expect(timed).rejects.toThrow(TimeoutError);
      expect(await w.callMethod('open', ['late', 'third'])).toBe('third');
    });

    it('an aborted create still returns number_of_objects to its start (its late reference is given back)', async () => {
      const m = await startServer(transport.address());
      const start = await m.numberOfObjects();
      for (let i = 0; i < 5; i++) {
        const controller = new AbortController();
        const created = m.createWith('Counter', [i], null, { signal: controller.signal });
        controller.abort();
        await expect(created).rejects.toThrow(AbortError);
      }
      expect(await eventually(() => m.numberOfObjects(), start)).toBe(start);
      // Results returned as proxies (methodToTypeid) are given back the same way.
      const bag = await m.Bag(1, 2);
      const controller = new AbortController();
      const made = bag.callMethod('counter', [3], null, { signal: controller.signal });
      controller.abort();
      await expect(made).rejects.toThrow(AbortError);
      expect(await eventually(() => m.numberOfObjects(), start + 1)).toBe(start + 1);
    });
  });

  describe('reference counts', () => {
    it('create then release returns number_of_objects to its start', async () => {
      const m = await startServer(transport.address());
      const start = await m.numberOfObjects();
      const proxies: BaseProxy[] = [];
      for (let i = 0; i < 10; i++) proxies.push(await m.Counter(i));
      proxies.push(await m.Holder(), await m.Echo());
      expect(await m.numberOfObjects()).toBe(start + 12);
      for (const p of proxies) p.release();
      // RELEASE frames go out before the next call on the same connection, so no polling is needed.
      expect(await m.numberOfObjects()).toBe(start);
      expect(await m.debugInfo()).toBe('');
    });

    it('incref and decref as control operations, shown by debug_info', async () => {
      const m = await startServer(transport.address());
      const c = await m.Counter(3);
      const id = c.token.id;
      expect(await m.debugInfo()).toBe(`  ${id}:       refcount=1\n    <Counter object>`);
      expect(await m.client.call(null, 'incref', [id])).toBeNull();
      expect(await m.debugInfo()).toMatch(new RegExp(`^  ${id}:\\s+refcount=2\\n`));
      expect(await m.client.call(null, 'decref', [id])).toBeNull();
      expect(await m.debugInfo()).toMatch(/refcount=1\n/);
      c.release();
      expect(await m.numberOfObjects()).toBe(0);
      // A connection can only give back what it holds: decref of something it does not hold is a no-op.
      const theirs = await (await connectClient(m.address)).create('Counter');
      expect(await m.client.call(null, 'decref', [theirs.token.id])).toBeNull();
      expect(await theirs.callMethod('inc')).toBe(1);
    });

    it('a client that disconnects gives back everything it held', async () => {
      const m = await startServer(transport.address());
      const start = await m.numberOfObjects();
      const client = await connectClient(m.address);
      for (let i = 0; i < 5; i++) await client.create('Counter');
      expect(await m.numberOfObjects()).toBe(start + 5);
      await client.shutdown();
      expect(await eventually(() => m.numberOfObjects(), start)).toBe(start);
    });

    it('a client process killed with SIGKILL frees everything it held', async () => {
      const m = await startServer(transport.address());
      const mine = await m.Counter(); // ours, and it must stay
      const start = await m.numberOfObjects();
      const child = run('test/fixtures/hold-objects.ts', [JSON.stringify(m.address), '4'], { env: { MPM_AUTHKEY: AUTHKEY } });
      await child.line(/^holding 4$/);
      expect(await m.numberOfObjects()).toBe(start + 4);
      child.child.kill('SIGKILL');
      expect(await child.exit()).toBeNull();
      expect(child.child.signalCode).toBe('SIGKILL');
      expect(await eventually(() => m.numberOfObjects(), start)).toBe(start);
      expect(await mine.inc()).toBe(1);
    });
  });

  describe('proxies passed along', () => {
    it('as arguments: the referent receives the hosted object, not a copy', async () => {
      const m = await startServer(transport.address());
      const holder = await m.Holder();
      const a = await m.Counter(2);
      const b = await m.Counter(40);
      expect(await holder.describe(a)).toEqual({ typeid: 'Counter', id: a.token.id, isCounter: true });
      expect(await holder.sum(a, b)).toBe(42);
      await a.inc(8);
      expect(await holder.sum(a, b)).toBe(50);
    });

    it('nested in values: stored, returned as working proxies of the same object, kept alive while held', async () => {
      const m = await startServer(transport.address());
      const holder = await m.Holder();
      const a = await m.Counter(1);
      const b = await m.Counter(2);
      await holder.put('pair', [a, { inner: b, plain: [1, 2] }]);
      const before = await m.numberOfObjects();
      a.release();
      b.release();
      expect(await m.numberOfObjects()).toBe(before); // the holder still holds both

      const [a2, rest] = (await holder.get('pair')) as [BaseProxy, { inner: BaseProxy; plain: number[] }];
      expect(a2).toBeInstanceOf(BaseProxy);
      expect(rest.inner).toBeInstanceOf(BaseProxy);
      expect(rest.plain).toEqual([1, 2]);
      expect(a2.token.id).toBe(a.token.id);
      expect(rest.inner.token).toMatchObject({ typeid: 'Counter', id: b.token.id });
      expect(await a2.callMethod('inc', [10])).toBe(11);
      expect(await rest.inner.callMethod('value')).toBe(2);
      // The proxies that came back hold references of their own.
      expect(await m.debugInfo()).toMatch(new RegExp(`${a.token.id}:\\s+refcount=2`));
      a2.release();
      rest.inner.release();
    });

    it('to another client, which takes its own reference (rebuild)', async () => {
      const m = await startServer(transport.address());
      const c = await m.Counter(5);
      const other = await connectClient(m.address);
      const theirs = await other.rebuild(c.toTransferable());
      c.release();
      expect(await theirs.callMethod('inc')).toBe(6); // alive: the other client holds it
      expect(theirs.exposed).toEqual(c.exposed);
      theirs.release();
      expect(await eventually(() => m.numberOfObjects(), 0)).toBe(0);
    });

    it('to a worker thread, as plain data without the authkey', async () => {
      const m = await startServer(transport.address());
      const start = await m.numberOfObjects();
      const c = await m.Counter(100);
      const data = c.toTransferable();
      expect(structuredClone(data)).toEqual(data);
      expect(JSON.stringify(data)).not.toContain(AUTHKEY);
      const worker = startWorker(new URL('../fixtures/proxy-worker.ts', import.meta.url), { address: m.address, authkey: AUTHKEY, proxy: data, times: 3 });
      const exited = once(worker, 'exit');
      const [message] = await Promise.race([
        once(worker, 'message'),
        exited.then(([code]) => {
          throw new Error(`the worker exited with ${String(code)} before reporting`);
        }),
      ]);
      expect(message).toEqual({ value: 103, typeid: 'Counter', id: c.token.id, exposed: c.exposed });
      expect(await exited).toEqual([0]);
      expect(await c.value()).toBe(103);
      c.release();
      expect(await eventually(() => m.numberOfObjects(), start)).toBe(start);
    });
  });

  describe('results returned as proxies (methodToTypeid)', () => {
    it('returns a registered proxy type, iterable until StopIteration, and an auto proxy', async () => {
      const m = await startServer(transport.address());
      const start = await m.numberOfObjects();
      const bag = await m.Bag('a', 'b', 'c');
      expect(bag.exposed).toEqual(['counter', 'iter', 'size']);
      const it1 = (await bag.iter()) as unknown as IteratorProxy<string>;
      expect(it1).toBeInstanceOf(IteratorProxy);
      expect(it1.token.typeid).toBe('Iterator');
      const items: string[] = [];
      for await (const item of it1) items.push(item);
      expect(items).toEqual(['a', 'b', 'c']);
      expect(it1.released).toBe(true);

      const it2 = (await bag.iter()) as unknown as IteratorProxy<string>;
      expect(await it2.next()).toBe('a');
      await it2.close();
      await expect(it2.next()).rejects.toThrow(StopIteration);
      it2.release();

      const counter = (await bag.counter(9)) as unknown as AutoProxy<Counter>;
      expect(counter.token.typeid).toBe('Counter');
      expect(await counter.inc()).toBe(10);
      counter.release();
      bag.release();
      expect(await m.numberOfObjects()).toBe(start);
    });
  });

  describe('keyword arguments', () => {
    it('bind to parameter names for methods and constructors, with Python errors for bad ones', async () => {
      const m = await startServer(transport.address());
      const c = await m.createWith<BaseProxy>('Counter', [], { start: 10 });
      expect(await c.callMethod('inc', [], { by: 5 })).toBe(15);
      const kw = await m.createWith<BaseProxy>('Kw', [], { label: 'named' });
      expect(await kw.callMethod('getLabel')).toBe('named');
      expect(await kw.callMethod('join', ['x'], { c: 'z' })).toBe('x-B-z');
      expect(await kw.callMethod('join', [], { b: 2, a: 1 })).toBe('1-2-C');
      expect(await kw.callMethod('options', [1], { colour: 'red', size: 3 })).toEqual([1, { colour: 'red', size: 3 }]);
      await expect(kw.callMethod('join', ['x'], { a: 'again' })).rejects.toThrow(/multiple values for argument 'a'/);
      const unexpected = await kw.callMethod('join', ['x'], { d: 1 }).catch((e: unknown) => e);
      expect(unexpected).toBeInstanceOf(PyTypeError);
      expect((unexpected as PyTypeError).message).toBe("TypeError: join() got an unexpected keyword argument 'd'");
    });
  });

  describe('control operations', () => {
    it('create, get_methods, dummy, debug_info, number_of_objects, incref, decref, accept_connection', async () => {
      const m = await startServer(transport.address());
      const client = m.client;
      expect(await client.call(null, 'dummy')).toBeNull();
      expect(await client.call(null, 'accept_connection', ['MainProcess'])).toBeNull();
      const created = (await client.call(null, 'create', ['Counter', 4])) as BaseProxy;
      expect(created).toBeInstanceOf(BaseProxy);
      expect(await created.callMethod('value')).toBe(4);
      expect(await client.call(null, 'get_methods', [created.token.id])).toEqual(created.exposed);
      expect(await client.call(null, 'get_methods', [{ id: created.token.id }])).toEqual(created.exposed);
      expect(await client.call(null, 'number_of_objects')).toBe(1);
      expect(await client.call(null, 'debug_info')).toContain(`${created.token.id}:       refcount=1`);
      await client.call(null, 'incref', [created.token.id]);
      await client.call(null, 'decref', [created.token.id]);
      await client.call(null, 'decref', [created.token.id]);
      expect(await client.call(null, 'number_of_objects')).toBe(0);
      await expect(created.callMethod('value')).rejects.toMatchObject({ name: 'UnknownObjectError' });
      await expect(client.call(null, 'create', [42])).rejects.toMatchObject({ name: 'InvalidArgumentError' });
      await expect(client.call(null, 'create', ['Value'])).rejects.toMatchObject({ name: 'InvalidArgumentError', message: expect.stringMatching(/exactly one positional argument/) });
    });

    it('refuses a remote shutdown from a connected client (ShutdownRefusedError) and keeps serving', async () => {
      const m = await startServer(transport.address());
      const client = await connectClient(m.address);
      await expect(client.client.call(null, 'shutdown')).rejects.toMatchObject({ name: 'ShutdownRefusedError', code: 'MPM_ERR_SHUTDOWN_REFUSED' });
      const refused = await client.shutdown({ remote: true }).catch((e: unknown) => e);
      expect(refused).toMatchObject({ name: 'ShutdownRefusedError' });
      expect(client.client.closed).toBe(true); // disconnected all the same
      const c = await m.Counter();
      expect(await c.inc()).toBe(1);
      const again = await connectClient(m.address);
      expect(await (await again.create('Counter', 1)).callMethod('value')).toBe(1);
    });

    it('accepts a remote shutdown when the server allows it', async () => {
      const m = await startServer(transport.address(), { allowRemoteShutdown: true });
      const client = await connectClient(m.address);
      const stopped = m.join();
      await client.shutdown({ remote: true });
      await stopped;
      await expect(connectClient(m.address)).rejects.toMatchObject({ code: 'MPM_ERR_CONNECT', syscallCode: transport.refusedCode }); // nothing listens
      await expect(m.numberOfObjects()).rejects.toThrow(ConnectionClosedError);
    });

    it('lets the starting process shut its server down through its own connection', async () => {
      const m = await startServer(transport.address());
      const c = await m.Counter();
      const stopped = m.join();
      expect(await m.client.call(null, 'shutdown')).toBeNull();
      await stopped;
      await expect(c.inc()).rejects.toThrow(ConnectionClosedError);
    });
  });
});
