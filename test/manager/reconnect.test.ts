/**
 * The `reconnect` option (issue 14, item 3): a client whose connection drops connects again, with
 * backoff, to the same server or the next of its addresses; proxies to shared objects carry on, proxies
 * to objects of the lost server's memory fail with `ObjectGoneError`, calls in flight fail with a
 * retryable `ConnectionLostError`, calls made meanwhile wait (bounded by their timeout).
 *
 * No Redis here: the shared store is a Map outside every server, and the typeid `SharedCounter` returns a
 * referent that names itself with `SHARED_ID`, as the Redis backend's objects do. So a server started
 * again (in this process, on the same address) sees the same state, under the same id. Real sockets, TCP
 * and Unix; small delays; no timing assertions.
 */
import { NODE_CRYPTO } from '../../src/channel/node-crypto.js';
import { NODE_RUNTIME } from '../../src/connection/node-runtime.js';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { BaseManager, type ManagerEvents } from '../../src/manager/base-manager.js';
import { AbortError, AddressError, BackendError, ConnectionClosedError, ConnectionLostError, InvalidArgumentError, ObjectGoneError, TimeoutError } from '../../src/errors.js';
import { SHARED_ID } from '../../src/server/objects.js';
import { currentCall } from '../../src/server/context.js';
import { CHALLENGE, WELCOME, answerFor, verifyAnswer } from '../../src/connection/auth.js';
import { Connection } from '../../src/connection/index.js';
import { listenTransport } from '../../src/transport/index.js';
import { sameAddress, type Address } from '../../src/transport/address.js';
import { ReconnectingClient, type ReconnectOptions } from '../../src/protocol/reconnecting-client.js';
import type { AutoProxy } from '../../proxies/auto-proxy.js';
import { Counter } from '../fixtures/referents.js';
import { eventually, TRANSPORTS } from '../fixtures/transports.js';

const AUTHKEY = 'reconnect-suite-key';

/** The shared store: outside every server, so a server started again finds the same state. */
const STORE = new Map<string, number>();
/** While set, the store cannot be reached (as Redis down): making a shared object fails. */
let storeDown = false;

class SharedCounter {
  readonly [SHARED_ID]: string;
  readonly #name: string;
  constructor(name: string) {
    this.#name = name;
    this[SHARED_ID] = `shared:test/${name}`;
  }
  inc(by = 1): number {
    const n = (STORE.get(this.#name) ?? 0) + by;
    STORE.set(this.#name, n);
    return n;
  }
  value(): number {
    return STORE.get(this.#name) ?? 0;
  }
  /** Answers only when its call is aborted: a call still in flight when the server goes away. */
  block(): Promise<never> {
    const { signal } = currentCall();
    return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
  }
}

class StoreManager extends BaseManager {}
StoreManager.register(
  'SharedCounter',
  (name: string) => {
    if (storeDown) throw new BackendError('the shared store is unreachable (test)');
    return new SharedCounter(name);
  },
  { exposed: ['inc', 'value', 'block'] },
);
StoreManager.register('Counter', Counter);

type Shared = AutoProxy<SharedCounter>;

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  storeDown = false;
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function track<M extends BaseManager>(m: M): M {
  cleanup.push(() => m.shutdown().catch(() => {}));
  return m;
}

const startServer = async (address: Address, options: { allowRemoteShutdown?: boolean } = {}) =>
  track(await new StoreManager(address, { authkey: AUTHKEY, ...options }).start());

/** Small delays: each wait is at most 40 ms. */
const FAST = { initialDelay: 5, maxDelay: 40 };

const connectClient = async (address: Address, reconnect: true | ReconnectOptions = FAST) =>
  track(await new StoreManager(address, { authkey: AUTHKEY, reconnect }).connect());

/** The next `event` the manager emits, with its arguments. */
function next<E extends keyof ManagerEvents>(m: BaseManager, event: E): Promise<ManagerEvents[E]> {
  return new Promise((resolve) => m.once(event, (...args) => resolve(args)));
}

/** Records every event a manager emits, in order. */
function record(m: BaseManager): string[] {
  const seen: string[] = [];
  m.on('disconnect', () => seen.push('disconnect'));
  m.on('reconnecting', ({ attempt }) => seen.push(`reconnecting ${attempt}`));
  m.on('reconnect', () => seen.push('reconnect'));
  m.on('reconnectFailed', () => seen.push('reconnectFailed'));
  return seen;
}

/** The refcount the server shows for `id` in `debug_info`, or null when it no longer hosts it. */
async function refcount(m: BaseManager, id: string): Promise<number | null> {
  const match = new RegExp(`${id}:\\s+refcount=(\\d+)`).exec(await m.debugInfo());
  return match ? Number(match[1]) : null;
}

const uniqueName = () => randomBytes(4).toString('hex');

describe.each(TRANSPORTS)('reconnecting over $name', (transport) => {
  it('through a server restart on the same address: events, shared proxies carry on, in-memory ones are gone, calls in flight fail retryably, later calls wait', async () => {
    const name = uniqueName();
    let server = await startServer(transport.address());
    const address = server.address;
    const client = await connectClient(address);
    const seen = record(client);
    expect(client.client).toBeInstanceOf(ReconnectingClient);

    const shared = await client.create<Shared>('SharedCounter', name);
    const twin = await client.create<Shared>('SharedCounter', name); // a second reference to the same object
    const third = await client.create<Shared>('SharedCounter', name);
    const local = await client.create<AutoProxy<Counter>>('Counter', 7);
    expect(twin.token.id).toBe(shared.token.id);
    expect(shared.token.id).toBe(`shared:test/${name}`);
    expect(await shared.inc(5)).toBe(5);
    expect(await refcount(client, shared.token.id)).toBe(3);

    const inFlight = shared.block().catch((e: unknown) => e);
    await shared.value(); // after the block call: that one has reached the server
    const disconnected = next(client, 'disconnect');
    await server.shutdown();
    const [dropError] = await disconnected;
    expect(dropError).toBeInstanceOf(Error);

    const lost = await inFlight;
    expect(lost).toBeInstanceOf(ConnectionLostError);
    expect(lost).toBeInstanceOf(ConnectionClosedError);
    expect((lost as ConnectionLostError).retryable).toBe(true);
    expect((lost as Error).message).toMatch(/may or may not have run; retry it if running it twice is safe/);

    // Disconnected: calls wait (bounded by their timeout), in-memory objects are already gone, releases are dropped.
    const waiting = shared.inc(1);
    const timedOut = await shared.callMethod('value', [], null, { timeout: 0.02 }).catch((e: unknown) => e);
    expect(timedOut).toBeInstanceOf(TimeoutError);
    expect((timedOut as Error).message).toMatch(/reconnecting/);
    const abort = new AbortController();
    const aborted = shared.callMethod('value', [], null, { signal: abort.signal }).catch((e: unknown) => e);
    abort.abort();
    expect(await aborted).toBeInstanceOf(AbortError);
    await expect(local.value()).rejects.toBeInstanceOf(ObjectGoneError);
    third.release();
    expect(client.client.closed).toBe(false);

    const reconnected = next(client, 'reconnect');
    server = await startServer(address);
    const [at] = await reconnected;
    expect(sameAddress(at, address)).toBe(true);

    expect(await waiting).toBe(6);
    expect(await twin.value()).toBe(6);
    expect(STORE.get(name)).toBe(6);
    const gone = await local.value().catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(ObjectGoneError);
    expect((gone as Error).message).toMatch(new RegExp(`Counter object ${local.token.id} is gone: it lived in the memory of the server at .*shared objects .* survive`));

    // The new server counts this client's two remaining references: one release keeps the object, two drop it.
    expect(await refcount(client, shared.token.id)).toBe(2);
    shared.release();
    expect(await eventually(() => refcount(client, shared.token.id), 1)).toBe(1);
    twin.release();
    expect(await eventually(() => refcount(client, shared.token.id), null)).toBeNull();
    local.release(); // a gone object's release goes nowhere

    expect(seen[0]).toBe('disconnect');
    expect(seen.at(-1)).toBe('reconnect');
    expect(seen.filter((e) => e.startsWith('reconnecting')).length).toBeGreaterThanOrEqual(1);
  });

  it('to the next address when the first stays down', async () => {
    const name = uniqueName();
    const first = await startServer(transport.address());
    const second = await startServer(transport.address());
    const client = await connectClient(first.address, { ...FAST, addresses: [second.address] });
    const shared = await client.create<Shared>('SharedCounter', name);
    await shared.inc(3);

    const reconnected = next(client, 'reconnect');
    await first.shutdown();
    const [at] = await reconnected;
    expect(sameAddress(at, second.address)).toBe(true);
    expect(await shared.inc(1)).toBe(4);
    expect(await refcount(client, shared.token.id)).toBe(1);
    expect(sameAddress(client.client.serverAddress, second.address)).toBe(true);
  });

  it('attempts exhausted: waiting and later calls fail with a clear error, and the manager says so', async () => {
    const server = await startServer(transport.address());
    const client = await connectClient(server.address, { ...FAST, attempts: 2 });
    const seen = record(client);
    const shared = await client.create<Shared>('SharedCounter', uniqueName());

    const failed = next(client, 'reconnectFailed');
    const disconnected = next(client, 'disconnect');
    await server.shutdown();
    await disconnected;
    const waiting = shared.value().catch((e: unknown) => e);
    const [error] = await failed;

    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect(error).not.toBeInstanceOf(ConnectionLostError);
    expect(error.message).toMatch(/gave up reconnecting to the manager server after 2 attempts .*the last one failed: /);
    expect(await waiting).toBe(error);
    await expect(shared.inc(1)).rejects.toBe(error);
    expect(client.client.closed).toBe(true);
    expect(seen).toEqual(['disconnect', 'reconnecting 1', 'reconnecting 2', 'reconnectFailed']);
    await client.shutdown(); // still fine
  });
});

describe('every option holds for every reconnection', () => {
  it('encryption: require, on the first connection and on the next', async () => {
    const name = uniqueName();
    const secure = async (address: Address) => track(await new StoreManager(address, { authkey: AUTHKEY, encryption: 'require' }).start());
    let server = await secure(['127.0.0.1', 0]);
    const address = server.address;
    // A client left at the default would not encrypt on loopback, and this server would turn it away.
    const client = track(await new StoreManager(address, { authkey: AUTHKEY, encryption: 'require', reconnect: FAST }).connect());
    const shared = await client.create<Shared>('SharedCounter', name);
    await shared.inc(1);
    expect(client.client.encryption).not.toBeNull();

    const reconnected = next(client, 'reconnect');
    await server.shutdown();
    server = await secure(address);
    await reconnected;
    expect(client.client.encryption).not.toBeNull();
    expect(await shared.inc(1)).toBe(2);
  });
});

describe('what does not reconnect', () => {
  it('shutdown() by the user: no events; calls in flight and later reject with ConnectionClosedError, not the retryable one', async () => {
    const server = await startServer(['127.0.0.1', 0]);
    const client = await connectClient(server.address);
    const seen = record(client);
    const shared = await client.create<Shared>('SharedCounter', uniqueName());
    const inFlight = shared.block().catch((e: unknown) => e);
    await shared.value();
    await client.shutdown();
    const error = await inFlight;
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect(error).not.toBeInstanceOf(ConnectionLostError);
    await expect(shared.value()).rejects.toBeInstanceOf(ConnectionClosedError);
    await new Promise((r) => setTimeout(r, 50)); // time enough for a reconnection attempt, were one made
    expect(seen).toEqual([]);
    expect(await server.numberOfObjects()).toBe(0);
  });

  it('a remote shutdown the client asked for ends it instead of reconnecting', async () => {
    const server = await startServer(['127.0.0.1', 0], { allowRemoteShutdown: true });
    const client = await connectClient(server.address);
    const seen = record(client);
    await client.shutdown({ remote: true });
    await server.join();
    await new Promise((r) => setTimeout(r, 50));
    expect(seen.filter((e) => e.startsWith('reconnecting'))).toEqual([]);
    expect(client.client.closed).toBe(true);
  });
});

describe('a shared object that cannot be bound at once', () => {
  it('is tried again on its next call: while its store is down the call fails with the store\'s error, then it works', async () => {
    const name = uniqueName();
    let server = await startServer(['127.0.0.1', 0]);
    const address = server.address;
    const client = await connectClient(address);
    const shared = await client.create<Shared>('SharedCounter', name);
    await shared.inc(2);

    const disconnected = next(client, 'disconnect');
    await server.shutdown();
    await disconnected;
    storeDown = true;
    const reconnected = next(client, 'reconnect');
    server = await startServer(address);
    await reconnected; // connected; the shared object is not bound yet

    await expect(shared.value()).rejects.toBeInstanceOf(BackendError);
    storeDown = false;
    expect(await shared.inc(1)).toBe(3);
    expect(await refcount(client, shared.token.id)).toBe(1);
  });
});

describe('the reconnect option', () => {
  it('is refused with the pickle serializer, for start(), and with bad values', async () => {
    expect(() => new StoreManager(['127.0.0.1', 0], { authkey: AUTHKEY, serializer: 'pickle', reconnect: true })).toThrow(InvalidArgumentError);
    await expect(new StoreManager(['127.0.0.1', 0], { authkey: AUTHKEY, reconnect: true }).start()).rejects.toThrow(/reconnect is for connect\(\)/);
    for (const bad of [{ initialDelay: -1 }, { maxDelay: 1 }, { attempts: 0 }, { attempts: 1.5 }, { addresses: 'x' as unknown as Address[] }]) {
      expect(() => new StoreManager(['127.0.0.1', 0], { authkey: AUTHKEY, reconnect: bad }), JSON.stringify(bad)).toThrow(InvalidArgumentError);
    }
    expect(() => new StoreManager(['127.0.0.1', 0], { authkey: AUTHKEY, reconnect: { addresses: ['127.0.0.1' as unknown as Address] } })).toThrow(AddressError);
  });

  it('is refused against a stock CPython server, which keeps every object in its memory', async () => {
    const server = await cpythonLikeServer(AUTHKEY);
    const m = new StoreManager(server, { authkey: AUTHKEY, reconnect: true });
    await expect(m.connect()).rejects.toThrow(/reconnect needs an mpmanager server, and the one at .* is a CPython manager/);
  });

  it('is off by default: a plain native client, and a drop is final', async () => {
    const server = await startServer(['127.0.0.1', 0]);
    const client = track(await new StoreManager(server.address, { authkey: AUTHKEY }).connect());
    expect(client.client).not.toBeInstanceOf(ReconnectingClient);
    const inFlight = (await client.create<Shared>('SharedCounter', uniqueName())).block().catch((e: unknown) => e);
    await server.shutdown();
    const error = await inFlight;
    expect(error).toBeInstanceOf(ConnectionClosedError);
    expect(error).not.toBeInstanceOf(ConnectionLostError);
  });
});

/** A CPython manager's handshake (an unmarked `{sha256}` challenge), and nothing after it. */
async function cpythonLikeServer(key: string): Promise<Address> {
  const keyBytes = Buffer.from(key);
  const server = await listenTransport(['127.0.0.1', 0], {}, (transport) => {
    const conn = new Connection(transport, { serializer: 'pickle' }, NODE_RUNTIME);
    void (async () => {
      const ours = Buffer.concat([Buffer.from('{sha256}'), randomBytes(40)]);
      conn.sendBytes(Buffer.concat([CHALLENGE, ours]));
      await verifyAnswer(keyBytes, ours, await conn.recvBytes(), NODE_CRYPTO);
      conn.sendBytes(WELCOME);
      conn.sendBytes(await answerFor(keyBytes, (await conn.recvBytes()).subarray(CHALLENGE.length), NODE_CRYPTO));
      await conn.recvBytes();
      conn.close();
    })().catch(() => conn.destroy());
  });
  cleanup.push(() => server.close());
  return server.address;
}
