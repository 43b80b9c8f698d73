/**
 * `BaseManager`: registration (CPython's classmethod on subclasses, and the typed instance form),
 * `start()`, `connect()`, `getServer()` + `serveForever()`, authkeys, states, `shutdown()` and `join()`,
 * `await using`, `rebuild()`, custom proxy types, and a manager class that only names a typeid (the
 * client side of CPython's `register('get_queue')`). Over TCP, a Unix socket and WebSocket where a socket is used.
 * Also the dialect `connect()` picks from the server's handshake (against a scripted CPython-style server),
 * and values that cannot travel refused at the sender, in either dialect.
 */
import { NODE_CRYPTO } from '../../src/channel/node-crypto.js';
import { NODE_RUNTIME } from '../../src/connection/node-runtime.js';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { BaseManager } from '../../src/manager/base-manager.js';
import { AddressError, AuthenticationError, CodecError, ConnectionClosedError, InvalidArgumentError, NotExposedError, StateError, TimeoutError } from '../../src/errors.js';
import { CHALLENGE, WELCOME, answerFor, verifyAnswer } from '../../src/connection/auth.js';
import { Connection } from '../../src/connection/index.js';
import { listenTransport } from '../../src/transport/index.js';
import { formatAddress } from '../../src/transport/address.js';
import { tuple } from '../../src/codec/values.js';
import { NativeClient } from '../../src/protocol/native-client.js';
import { ClassicClient } from '../../src/protocol/classic-client.js';
import { BaseProxy } from '../../proxies/base-proxy.js';
import type { AutoProxy } from '../../proxies/auto-proxy.js';
import { Counter, Echo, Waiter } from '../fixtures/referents.js';
import { eventually, TRANSPORTS } from '../fixtures/transports.js';
import type { Address } from '../../src/transport/address.js';

const AUTHKEY = 'manager-suite-key';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function track<M extends BaseManager>(m: M): M {
  cleanup.push(() => m.shutdown().catch(() => {}));
  return m;
}

/** A proxy class of our own, as CPython users subclass BaseProxy with `_exposed_`. */
class CounterProxy extends BaseProxy {
  static readonly exposed = Object.freeze(['inc', 'value']);
  inc(by = 1): Promise<number> {
    return this.callMethod<number>('inc', [by]);
  }
  async double(): Promise<number> {
    return 2 * (await this.callMethod<number>('value'));
  }
}

describe('registration', () => {
  it('static register() applies to the class and its subclasses, never to its parent', () => {
    class ParentManager extends BaseManager {}
    class ChildManager extends ParentManager {}
    ParentManager.register('Counter', Counter);
    ChildManager.register('Echo', Echo);
    ChildManager.register('Counter', null); // a child may override; the parent keeps its own
    expect(ParentManager.registry.has('Echo')).toBe(false);
    expect(ParentManager.registry.get('Counter').callable).toBe(Counter);
    expect(ChildManager.registry.get('Counter').callable).toBeNull();
    expect(BaseManager.registry.has('Counter')).toBe(false);
    const child = new ChildManager(['127.0.0.1', 0], { authkey: AUTHKEY }) as unknown as Record<string, unknown>;
    expect(typeof child.Counter).toBe('function');
    expect(typeof child.Echo).toBe('function');
    expect(typeof (new BaseManager() as unknown as Record<string, unknown>).Echo).toBe('undefined');
  });

  it('a registration made after a manager exists is not added to it (the registry is copied at construction)', () => {
    class Late extends BaseManager {}
    const before = new Late();
    Late.register('Counter', Counter);
    expect(before.registry.has('Counter')).toBe(false);
    expect(new Late().registry.has('Counter')).toBe(true);
  });

  it('instance register() types the creation method; createMethod: false adds none; member names are never shadowed', async () => {
    const m = track(
      await new BaseManager(['127.0.0.1', 0], { authkey: AUTHKEY })
        .register('Counter', Counter)
        .register('Hidden', Counter, { createMethod: false })
        .register('shutdown', Counter)
        .start(),
    );
    expectTypeOf(m.Counter).parameters.toEqualTypeOf<[start?: number | undefined]>();
    expectTypeOf(m.Counter).returns.resolves.toEqualTypeOf<AutoProxy<Counter>>();
    const c = await m.Counter(2);
    expectTypeOf(c.inc).toEqualTypeOf<(by?: number) => Promise<number>>();
    // @ts-expect-error: _secret is private, so the auto proxy has no such method
    expect(c._secret).toBeUndefined();
    expect(await c.inc(3)).toBe(5);
    expect((m as unknown as Record<string, unknown>).Hidden).toBeUndefined();
    const hidden = await m.create('Hidden', 7);
    expect(await hidden.callMethod('value')).toBe(7);
    // 'shutdown' stays the manager's own method; the typeid is reachable through create().
    const named = await m.create('shutdown', 1);
    expect(named.token.typeid).toBe('shutdown');
  });

  it('a proxytype gives the exposed list to the server and its class to the client', async () => {
    const m = track(await new BaseManager(['127.0.0.1', 0], { authkey: AUTHKEY }).register('Counter', Counter, { proxytype: CounterProxy }).start());
    const c = await m.Counter(4);
    expectTypeOf(c).toEqualTypeOf<CounterProxy>();
    expect(c).toBeInstanceOf(CounterProxy);
    expect(c.exposed).toEqual(['inc', 'value']);
    expect(await c.inc()).toBe(5);
    expect(await c.double()).toBe(10);
    await expect(c.callMethod('fail', ['x'])).rejects.toThrow(NotExposedError);
    await expect(m.client.call(c.token.id, 'fail', ['x'])).rejects.toMatchObject({ name: 'NotExposedError' });
  });
});

describe.each(TRANSPORTS)('manager lifecycle over $name', (transport) => {
  it('start() serves in this process and resolves port 0', async () => {
    const m = track(await new BaseManager(transport.address(), { authkey: AUTHKEY }).register('Counter', Counter).start());
    if (transport.name === 'tcp') expect(m.address).toEqual(['127.0.0.1', expect.any(Number)]);
    if (transport.name === 'tcp') expect((m.address as readonly [string, number])[1]).toBeGreaterThan(0);
    if (transport.name === 'ws') expect(m.address).toMatch(/^ws:\/\/127\.0\.0\.1:[1-9]\d*\/mpm$/); // the port, resolved; the path kept
    expect(m.authkey).toEqual(Buffer.from(AUTHKEY));
    const c = await m.Counter();
    expect(c.token.address).toEqual(m.address);
    expect(await m.numberOfObjects()).toBe(1);
  });

  it('connect() reaches a started manager; a client-only class that just names the typeid creates it (CPython register("get_queue"))', async () => {
    const server = track(await new BaseManager(transport.address(), { authkey: AUTHKEY }).register('get_counter', Counter).start());
    class ClientManager extends BaseManager {}
    ClientManager.register('get_counter');
    const client = track(await new ClientManager(server.address, { authkey: AUTHKEY }).connect());
    const c = await (client as unknown as { get_counter(start: number): Promise<AutoProxy<Counter>> }).get_counter(10);
    expect(c.exposed).toEqual(['crash', 'crashLater', 'fail', 'inc', 'throwString', 'value']);
    expect(await c.inc()).toBe(11);
    expect(await server.numberOfObjects()).toBe(1);
    await client.shutdown();
    expect(await eventually(() => server.numberOfObjects(), 0)).toBe(0);
  });

  it('getServer() then serveForever(): another manager connects; shutdown() ends serveForever', async () => {
    const owner = new BaseManager(transport.address(), { authkey: AUTHKEY }).register('Echo', Echo);
    const server = await owner.getServer();
    cleanup.push(() => server.shutdown());
    const serving = server.serveForever();
    expect(server.serveForever()).toBe(serving);
    const client = track(await new BaseManager(server.address, { authkey: AUTHKEY }).connect());
    const echo = await client.create('Echo');
    expect(await echo.callMethod('now', ['hi'])).toBe('hi');
    await server.shutdown();
    await serving;
    expect(server.stopped).toBe(true);
    await expect(echo.callMethod('now', ['x'])).rejects.toThrow(ConnectionClosedError);
  });

  it('a wrong authkey fails connect() with AuthenticationError; the server keeps serving', async () => {
    const m = track(await new BaseManager(transport.address(), { authkey: AUTHKEY }).register('Counter', Counter).start());
    const wrong = new BaseManager(m.address, { authkey: 'not-the-key' });
    await expect(wrong.connect()).rejects.toThrow(AuthenticationError);
    await expect(wrong.numberOfObjects()).rejects.toThrow(StateError);
    expect(await (await m.Counter(1)).callMethod('value')).toBe(1);
  });

  it('shutdown(): a started manager stops its server; a connected one only disconnects', async () => {
    const m = track(await new BaseManager(transport.address(), { authkey: AUTHKEY }).register('Counter', Counter).start());
    const client = track(await new BaseManager(m.address, { authkey: AUTHKEY }).connect());
    const theirs = await client.create('Counter');
    await client.shutdown();
    await client.shutdown(); // idempotent
    await expect(theirs.callMethod('inc')).rejects.toThrow(ConnectionClosedError);
    expect(await m.numberOfObjects()).toBe(0);
    const joined = m.join();
    await m.shutdown();
    await joined;
    await expect(new BaseManager(m.address, { authkey: AUTHKEY }).connect()).rejects.toMatchObject({ code: 'MPM_ERR_CONNECT', syscallCode: transport.refusedCode }); // nothing listens
  });

  it('await using shuts a manager down at the end of the scope', async () => {
    let address: Address;
    let proxy: BaseProxy;
    {
      await using m = await new BaseManager(transport.address(), { authkey: AUTHKEY }).register('Counter', Counter).start();
      address = m.address;
      proxy = await m.Counter();
      expect(await proxy.callMethod('inc')).toBe(1);
    }
    await expect(proxy.callMethod('inc')).rejects.toThrow(ConnectionClosedError);
    await expect(new BaseManager(address, { authkey: AUTHKEY }).connect()).rejects.toMatchObject({ code: 'MPM_ERR_CONNECT', syscallCode: transport.refusedCode }); // nothing listens
  });

  it('rebuild() takes a reference of its own: the object outlives the proxy it came from', async () => {
    const m = track(await new BaseManager(transport.address(), { authkey: AUTHKEY }).register('Counter', Counter).start());
    const c = await m.Counter(1);
    const again = await m.rebuild<AutoProxy<Counter>>(c.toTransferable());
    expect(again).not.toBe(c);
    expect(again.token).toEqual(c.token);
    c.release();
    expect(await again.inc()).toBe(2);
    again.release();
    expect(await m.numberOfObjects()).toBe(0);
    await expect(m.rebuild(c.toTransferable())).rejects.toMatchObject({ name: 'UnknownObjectError' });
  });

  it('createWith() passes keyword arguments and call options', async () => {
    const m = track(await new BaseManager(transport.address(), { authkey: AUTHKEY }).register('Counter', Counter).register('Waiter', Waiter).start());
    const c = await m.createWith<AutoProxy<Counter>>('Counter', [], { start: 41 }, { timeout: 30 });
    expect(await c.inc()).toBe(42);
    const w = await m.Waiter();
    await expect(w.callMethod('wait', [], null, { timeout: 0.02 })).rejects.toThrow(TimeoutError);
  });
});

describe('manager states and options', () => {
  it('needs start() or connect() before use, and an authkey to connect', async () => {
    const m = new BaseManager(['127.0.0.1', 0]);
    const saved = process.env.MPM_AUTHKEY;
    delete process.env.MPM_AUTHKEY;
    try {
      const bare = new BaseManager(['127.0.0.1', 1]);
      expect(() => bare.authkey).toThrow(StateError);
      await expect(bare.connect()).rejects.toThrow(InvalidArgumentError);
    } finally {
      if (saved !== undefined) process.env.MPM_AUTHKEY = saved;
    }
    expect(() => m.client).toThrow(StateError);
    expect(() => m.client).toThrow(/call start\(\) or connect\(\) first/);
    await expect(m.numberOfObjects()).rejects.toThrow(StateError);
    await m.shutdown(); // nothing to do
  });

  it('start() without an authkey makes a random 32-byte one; MPM_AUTHKEY is the default', async () => {
    const saved = process.env.MPM_AUTHKEY;
    delete process.env.MPM_AUTHKEY;
    try {
      const m = track(await new BaseManager().start());
      expect(m.authkey).toHaveLength(32);
      process.env.MPM_AUTHKEY = 'from-the-environment';
      expect(new BaseManager().authkey).toEqual(Buffer.from('from-the-environment'));
      const viaBytes = track(await new BaseManager(m.address, { authkey: new Uint8Array(m.authkey) }).connect());
      expect(await viaBytes.numberOfObjects()).toBe(0);
    } finally {
      if (saved === undefined) delete process.env.MPM_AUTHKEY;
      else process.env.MPM_AUTHKEY = saved;
    }
  });

  it('refuses to start or connect twice', async () => {
    const m = track(await new BaseManager(['127.0.0.1', 0], { authkey: AUTHKEY }).start());
    await expect(m.start()).rejects.toThrow(StateError);
    await expect(m.connect()).rejects.toThrow(StateError);
    await expect(m.getServer()).rejects.toThrow('Already started server');
    const c = track(await new BaseManager(m.address, { authkey: AUTHKEY }).connect());
    await expect(c.connect()).rejects.toThrow(StateError);
  });

  it('refuses a bad address up front, and a TCP port already in use', async () => {
    expect(() => new BaseManager(['127.0.0.1', 70000])).toThrow(AddressError);
    expect(() => new BaseManager('' as never)).toThrow(AddressError);
    const m = track(await new BaseManager(['127.0.0.1', 0], { authkey: AUTHKEY }).start());
    await expect(new BaseManager(m.address, { authkey: AUTHKEY }).start()).rejects.toThrow(AddressError);
  });

  it('a new manager can bind the same TCP address right after a shutdown (rapid restart)', async () => {
    const first = await new BaseManager(['127.0.0.1', 0], { authkey: AUTHKEY }).register('Counter', Counter).start();
    const address = first.address;
    await (await first.Counter()).inc();
    await first.shutdown();
    const second = track(await new BaseManager(address, { authkey: AUTHKEY }).register('Counter', Counter).start());
    expect(second.address).toEqual(address);
    expect(await (await second.Counter(1)).inc()).toBe(2);
  });
});

/**
 * A stand-in for a stock CPython manager server, as far as `connect()` goes: CPython's handshake with an
 * unmarked `{sha256}` challenge, then `('#RETURN', None)` to each pickled request. It records, per
 * connection, the method of the first request, or 'EOF' when the client closed without sending one.
 */
async function cpythonLikeServer(key: string): Promise<{ address: Address; seen: string[] }> {
  const seen: string[] = [];
  const keyBytes = Buffer.from(key);
  const server = await listenTransport(['127.0.0.1', 0], {}, (transport) => {
    const conn = new Connection(transport, { serializer: 'pickle' }, NODE_RUNTIME);
    void (async () => {
      const ours = Buffer.concat([Buffer.from('{sha256}'), randomBytes(40)]);
      conn.sendBytes(Buffer.concat([CHALLENGE, ours]));
      await verifyAnswer(keyBytes, ours, await conn.recvBytes(), NODE_CRYPTO);
      conn.sendBytes(WELCOME);
      conn.sendBytes(await answerFor(keyBytes, (await conn.recvBytes()).subarray(CHALLENGE.length), NODE_CRYPTO));
      if (!(await conn.recvBytes()).equals(WELCOME)) throw new Error('not welcome');
      const request = await conn.recv().catch(() => null);
      seen.push(Array.isArray(request) ? String(request[1]) : 'EOF');
      if (request !== null) conn.send(tuple('#RETURN', null));
      conn.close();
    })().catch(() => conn.destroy());
  });
  cleanup.push(() => server.close());
  return { address: server.address, seen };
}

describe('connect() speaks the dialect the server speaks, learnt from its handshake', () => {
  it('an mpmanager server: the native dialect, on the connection the handshake ran on', async () => {
    const m = track(await new BaseManager(['127.0.0.1', 0], { authkey: AUTHKEY }).register('Counter', Counter).start());
    const client = track(await new BaseManager(m.address, { authkey: AUTHKEY }).register('Counter').connect());
    expect(client.client).toBeInstanceOf(NativeClient);
    expect(m.client).toBeInstanceOf(NativeClient);
    expect(await (await (client as unknown as { Counter(n: number): Promise<AutoProxy<Counter>> }).Counter(4)).inc()).toBe(5);
  });

  it("a CPython server: pickle, by itself; the probe connection is closed after its handshake with nothing sent", async () => {
    const server = await cpythonLikeServer(AUTHKEY);
    const m = track(await new BaseManager(server.address, { authkey: AUTHKEY }).connect());
    expect(m.client).toBeInstanceOf(ClassicClient);
    await eventually(async () => server.seen.length, 2);
    expect(server.seen.sort()).toEqual(['EOF', 'dummy']);
  });

  it("serializer: 'msgpack' against a CPython server fails at once with one line, and sends it nothing", async () => {
    const server = await cpythonLikeServer(AUTHKEY);
    const m = new BaseManager(server.address, { authkey: AUTHKEY, serializer: 'msgpack' });
    const err = await m.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).message).toBe(
      `the server at ${formatAddress(server.address)} is a CPython manager: it speaks pickle; pass serializer: 'pickle' (or leave serializer unset)`,
    );
    await eventually(async () => server.seen.length, 1);
    expect(server.seen).toEqual(['EOF']);
    expect(() => m.client).toThrow(StateError);
  });

  it("an explicit serializer wins: 'pickle' against an mpmanager server, with a single connection to connect", async () => {
    const m = track(await new BaseManager(['127.0.0.1', 0], { authkey: AUTHKEY }).register('Counter', Counter).start());
    const client = track(await new BaseManager(m.address, { authkey: AUTHKEY, serializer: 'pickle' }).connect());
    expect(client.client).toBeInstanceOf(ClassicClient);
    expect(await (await client.create('Counter', 1)).callMethod('inc')).toBe(2);
  });

  it('refuses a serializer it does not know', async () => {
    const m = new BaseManager(['127.0.0.1', 1], { authkey: AUTHKEY, serializer: 'xmlrpclib' as never });
    await expect(m.connect()).rejects.toThrow(/unknown serializer 'xmlrpclib'/);
  });
});

describe.each(['msgpack', 'pickle'] as const)('a value that cannot travel, over %s', (serializer) => {
  it('is refused at the sender with the path to it; nothing reaches the server and the connection goes on', async () => {
    const m = track(await new BaseManager(['127.0.0.1', 0], { authkey: AUTHKEY }).register('Echo', Echo).start());
    const client = track(await new BaseManager(m.address, { authkey: AUTHKEY, serializer }).connect());
    const echo = await client.create('Echo');
    const err = await echo.callMethod('now', [{ handler: () => 1 }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CodecError);
    expect((err as Error).message).toMatch(/^cannot send the function handler \(at message\[\d\]\[0\]\.handler\): functions cannot travel between processes/);
    expect(await echo.callMethod('now', [{ n: 1 }])).toEqual({ n: 1 });
  });
});
