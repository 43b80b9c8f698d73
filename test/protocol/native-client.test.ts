/**
 * `NativeClient` against a scripted server: the test plays the server by hand, reading the client's raw
 * frames and writing raw msgpack replies, so every reply the client meets (in order, out of order, late,
 * malformed, for a call it gave up on) is one the test chose. Nothing of src/server runs here.
 *
 * The peer is our `Listener` on a Unix socket in the temp directory: `NativeClient.connect()` takes an
 * address and runs CPython's handshake, and there is no in-memory address family (a `MemoryTransport`
 * pair has no address to connect to), so a real socket carries the frames; everything above the
 * transport is scripted.
 */
import { Client } from '../../src/connection/listener.js';
import { afterEach, describe, expect, it } from 'vitest';
import { BLOB_MIN, EXT_BLOB, msgpack } from '../../src/codec/index.js';
import { ObjectRef } from '../../src/codec/ref.js';
import { Token } from '../../src/codec/token.js';
import { Listener, type Connection } from '../../src/connection/index.js';
import { AbortError, ConnectionClosedError, ConnectionLostError, NotExposedError, ProtocolError, RemoteError, TimeoutError } from '../../src/errors.js';
import { BlobInbox, ClientKind, NATIVE_MAGIC, NATIVE_VERSION, ServerKind, sendWithBlobs } from '../../src/protocol/native.js';
import { NativeClient, type NativeClientOptions } from '../../src/protocol/native-client.js';
import { KeyError, ValueError } from '../../src/python-errors.js';
import type { TcpAddress } from '../../src/transport/address.js';

const KEY = 'scripted-native-peer';
const WELCOME: { address: TcpAddress; pid: number } = { address: ['127.0.0.1', 50000], pid: 4242 };

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A listening peer that accepts authenticated connections and says nothing until the test makes it. */
async function listen(): Promise<Listener> {
  const listener = await Listener.listen(undefined, { authkey: KEY, handshakeTimeout: 2_000 });
  cleanup.push(() => listener.close());
  return listener;
}

/** The server end of one connection, spoken by hand. */
class Peer {
  readonly conn: Connection;
  readonly #inbox = new BlobInbox();
  constructor(conn: Connection) {
    this.conn = conn;
  }
  /** The next raw frame. */
  frame(): Promise<Buffer> {
    return this.conn.recvBytes();
  }
  /** The next message, decoded with the blob frames that came before it. */
  async message(): Promise<unknown[]> {
    for (;;) {
      const frame = await this.frame();
      const context = this.#inbox.receive(frame, {}, 1 << 30);
      if (context !== null) return msgpack.decode(frame, context) as unknown[];
    }
  }
  /** Writes one message (large binaries in it as blob frames first, as a server does). */
  reply(message: unknown[]): void {
    const context = { blobs: [] as Uint8Array[] };
    sendWithBlobs(this.conn.transport, msgpack.encode(message, context), context);
  }
}

/** A connected client and the scripted server end of its connection, past the hello. */
async function scripted(options: Partial<Omit<NativeClientOptions, 'dial'>> = {}) {
  const listener = await listen();
  const accepted = listener.accept();
  const connecting = NativeClient.connect(listener.address, { dial: Client, authkey: KEY, ...options });
  const conn = await accepted;
  cleanup.push(() => conn.close());
  const hello = msgpack.decode(await conn.recvBytes()) as unknown[];
  conn.sendBytes(msgpack.encode([NATIVE_MAGIC, NATIVE_VERSION, WELCOME]));
  const client = await connecting;
  cleanup.push(() => client.close());
  return { client, hello, peer: new Peer(conn) };
}

describe('NativeClient against a scripted server', { timeout: 5_000 }, () => {
  describe('the hello', () => {
    it('sends [magic, version, {name}] and takes the server address and pid from the welcome', async () => {
      const { client, hello } = await scripted();
      expect(hello).toEqual([NATIVE_MAGIC, NATIVE_VERSION, { name: `node-${process.pid}` }]);
      expect(client.serverAddress).toEqual(WELCOME.address);
      expect(client.serverPid).toBe(WELCOME.pid);
      expect(client.closed).toBe(false);
      expect(client.pendingCalls).toBe(0);
    });

    it('carries the name and the shutdown key it was given', async () => {
      const { hello } = await scripted({ name: 'worker-3', shutdownKey: 'k3y' });
      expect(hello).toEqual([NATIVE_MAGIC, NATIVE_VERSION, { name: 'worker-3', shutdownKey: 'k3y' }]);
    });

    it('refuses a server that answers the hello with something else (ProtocolError)', async () => {
      const listener = await listen();
      const accepted = listener.accept();
      const connecting = NativeClient.connect(listener.address, { dial: Client, authkey: KEY });
      const conn = await accepted;
      cleanup.push(() => conn.close());
      await conn.recvBytes();
      conn.sendBytes(msgpack.encode(['#RETURN', null]));
      await expect(connecting).rejects.toBeInstanceOf(ProtocolError);
      await expect(conn.recvBytes()).rejects.toBeInstanceOf(ConnectionClosedError); // the client hung up
    });

    it('refuses a server that closes after the handshake, naming the pickle serializer (a CPython manager)', async () => {
      const listener = await listen();
      const accepted = listener.accept();
      const connecting = NativeClient.connect(listener.address, { dial: Client, authkey: KEY });
      const conn = await accepted;
      await conn.recvBytes();
      conn.close();
      await expect(connecting).rejects.toBeInstanceOf(ProtocolError);
      await expect(connecting).rejects.toThrow(/serializer: "pickle"/);
    });
  });

  describe('calls and replies', () => {
    it('sends [CALL, id, ident, method, args, kwds] with ids from 1', async () => {
      const { client, peer } = await scripted();
      const created = client.call(null, 'create', ['Counter', 5], { step: 2 });
      expect(await peer.message()).toEqual([ClientKind.Call, 1, null, 'create', ['Counter', 5], { step: 2 }]);
      const called = client.call('7f01', 'inc');
      expect(await peer.message()).toEqual([ClientKind.Call, 2, '7f01', 'inc', [], null]);
      expect(client.pendingCalls).toBe(2);
      peer.reply([ServerKind.Return, 1, 'made']);
      peer.reply([ServerKind.Return, 2, 6]);
      expect(await created).toBe('made');
      expect(await called).toBe(6);
      expect(client.pendingCalls).toBe(0);
    });

    it('matches replies to calls by id, in whatever order they come', async () => {
      const { client, peer } = await scripted();
      const calls = [0, 1, 2, 3].map((i) => client.call('obj', 'echo', [i]));
      const ids = [];
      for (let i = 0; i < 4; i++) ids.push((await peer.message())[1] as number);
      expect(ids).toEqual([1, 2, 3, 4]);
      for (const id of [3, 1, 4, 2]) peer.reply([ServerKind.Return, id, `reply to ${id}`]);
      expect(await Promise.all(calls)).toEqual(['reply to 1', 'reply to 2', 'reply to 3', 'reply to 4']);
    });

    it('RETURN: references inside the value go through decodeContext.reviveRef', async () => {
      const { client, peer } = await scripted();
      client.decodeContext = { reviveRef: (ref) => `proxy of ${ref.token.id}` };
      const call = client.call(null, 'create', ['Counter']);
      await peer.message();
      peer.reply([ServerKind.Return, 1, { made: new ObjectRef(new Token('Counter', WELCOME.address, 'c1'), ['inc']) }]);
      expect(await call).toEqual({ made: 'proxy of c1' });
    });

    it('ERROR: a Python exception or an mpmanager error arrives as its class, any other as a RemoteError naming its type', async () => {
      const { client, peer } = await scripted();
      const missing = client.call('d', '__getitem__', ['k']);
      const bad = client.call('c', 'fail', ['no']);
      const crashed = client.call('c', 'crash');
      const refused = client.call('c', '_secret');
      for (let i = 0; i < 4; i++) await peer.message();
      peer.reply([ServerKind.Error, 1, new KeyError('k')]);
      peer.reply([ServerKind.Error, 2, new ValueError('no')]);
      peer.reply([ServerKind.Error, 3, new TypeError('the counter crashed')]);
      peer.reply([ServerKind.Error, 4, new RemoteError('NotExposedError', "'_secret' of 'Counter' is not exposed", 'stack text')]);
      await expect(missing).rejects.toBeInstanceOf(KeyError);
      await expect(missing).rejects.toMatchObject({ args: ['k'] });
      await expect(bad).rejects.toBeInstanceOf(ValueError);
      await expect(crashed).rejects.toBeInstanceOf(RemoteError);
      await expect(crashed).rejects.toMatchObject({ remoteType: 'TypeError', remoteMessage: 'the counter crashed' });
      await expect(refused).rejects.toBeInstanceOf(NotExposedError);
      await expect(refused).rejects.toMatchObject({ message: "'_secret' of 'Counter' is not exposed", remoteStack: 'stack text' });
      // Errors are replies: the connection carries on.
      const next = client.call(null, 'dummy');
      expect((await peer.message())[1]).toBe(4);
      peer.reply([ServerKind.Return, 4, null]);
      expect(await next).toBeNull();
    });

    it('a reply of an unknown kind, or an ERROR that carries no error, fails that call with ProtocolError only', async () => {
      const { client, peer } = await scripted();
      const odd = client.call('o', 'm');
      const notAnError = client.call('o', 'm');
      await peer.message();
      await peer.message();
      peer.reply([7, 1, 'what']);
      peer.reply([ServerKind.Error, 2, 'just text']);
      await expect(odd).rejects.toBeInstanceOf(ProtocolError);
      await expect(notAnError).rejects.toBeInstanceOf(ProtocolError);
      const next = client.call(null, 'dummy');
      await peer.message();
      peer.reply([ServerKind.Return, 2, 'still here']);
      expect(await next).toBe('still here');
      expect(client.closed).toBe(false);
    });

    it('ignores a reply to an id it never used', async () => {
      const { client, peer } = await scripted();
      const call = client.call(null, 'dummy');
      await peer.message();
      peer.reply([ServerKind.Return, 99, 'nobody asked']);
      peer.reply([ServerKind.Return, 1, 'mine']);
      expect(await call).toBe('mine');
    });

    it('RELEASE: [2, ident, count], no reply awaited', async () => {
      const { client, peer } = await scripted();
      client.release('7f01');
      client.release('7f02', 3);
      expect(await peer.message()).toEqual([ClientKind.Release, '7f01', 1]);
      expect(await peer.message()).toEqual([ClientKind.Release, '7f02', 3]);
    });
  });

  describe('call ids', () => {
    it('an id is free again once its reply is in: ids stay small', async () => {
      const { client, peer } = await scripted();
      for (let round = 0; round < 3; round++) {
        const call = client.call(null, 'dummy');
        expect((await peer.message())[1]).toBe(1);
        peer.reply([ServerKind.Return, 1, round]);
        expect(await call).toBe(round);
      }
    });

    it('a cancelled call keeps its id until the server replies, and its late reply never reaches a newer call', async () => {
      const { client, peer } = await scripted();
      const controller = new AbortController();
      const cancelled = client.call('w', 'wait', [], null, { signal: controller.signal });
      expect((await peer.message())[1]).toBe(1);
      controller.abort();
      await expect(cancelled).rejects.toBeInstanceOf(AbortError);
      expect(await peer.message()).toEqual([ClientKind.Cancel, 1]);
      expect(client.pendingCalls).toBe(0);
      // Id 1 is still taken: the server has not replied to it.
      const newer = client.call('c', 'value');
      expect(await peer.message()).toEqual([ClientKind.Call, 2, 'c', 'value', [], null]);
      // The late reply to the cancelled call comes first; it is dropped by its id.
      peer.reply([ServerKind.Return, 1, 'stale']);
      peer.reply([ServerKind.Return, 2, 'fresh']);
      expect(await newer).toBe('fresh');
      // Both replies are in: ids 1 and 2 are free, and no third id is made.
      const again = [client.call('c', 'value'), client.call('c', 'value')];
      const ids = [(await peer.message())[1], (await peer.message())[1]];
      expect(new Set(ids)).toEqual(new Set([1, 2]));
      for (const id of ids) peer.reply([ServerKind.Return, id, `again ${String(id)}`]);
      expect((await Promise.all(again)).sort()).toEqual(['again 1', 'again 2']);
    });

    it('a late ERROR reply to a cancelled call is dropped too, not raised anywhere', async () => {
      const { client, peer } = await scripted();
      const cancelled = client.call('w', 'wait', [], null, { timeout: 0.02 });
      await peer.message();
      await expect(cancelled).rejects.toBeInstanceOf(TimeoutError);
      expect(await peer.message()).toEqual([ClientKind.Cancel, 1]);
      peer.reply([ServerKind.Error, 1, new AbortError('the call was cancelled by the client')]);
      const next = client.call(null, 'dummy');
      expect((await peer.message())[1]).toBe(2);
      peer.reply([ServerKind.Return, 2, 'ok']);
      expect(await next).toBe('ok');
    });

    it('gives back at once the references in a dropped reply (read from its id bytes, at 1, 2 and 3 byte ids)', async () => {
      const { client, peer } = await scripted();
      client.decodeContext = {
        reviveRef: () => {
          throw new Error('a dropped reply must not become a proxy');
        },
      };
      // 300 calls in flight: ids 1..300. Cancel 5 (fixint), 200 (cc c8) and 300 (cd 01 2c).
      const controllers = new Map<number, AbortController>();
      const calls: Array<Promise<unknown>> = [];
      for (let id = 1; id <= 300; id++) {
        const controller = new AbortController();
        controllers.set(id, controller);
        calls.push(client.call(null, 'create', ['Counter'], null, { signal: controller.signal }));
      }
      for (let id = 1; id <= 300; id++) expect((await peer.message())[1]).toBe(id);
      for (const id of [5, 200, 300]) {
        controllers.get(id)?.abort();
        await expect(calls[id - 1]).rejects.toBeInstanceOf(AbortError);
        expect(await peer.message()).toEqual([ClientKind.Cancel, id]);
      }
      for (const id of [5, 200, 300]) peer.reply([ServerKind.Return, id, new ObjectRef(new Token('Counter', WELCOME.address, `late-${id}`), ['inc'])]);
      expect(await peer.message()).toEqual([ClientKind.Release, 'late-5', 1]);
      expect(await peer.message()).toEqual([ClientKind.Release, 'late-200', 1]);
      expect(await peer.message()).toEqual([ClientKind.Release, 'late-300', 1]);
      client.decodeContext = {};
      for (let id = 1; id <= 300; id++) if (![5, 200, 300].includes(id)) peer.reply([ServerKind.Return, id, id]);
      const settled = await Promise.allSettled(calls);
      expect(settled.filter((s) => s.status === 'fulfilled').map((s) => (s as PromiseFulfilledResult<unknown>).value)).toEqual(
        Array.from({ length: 300 }, (_, i) => i + 1).filter((id) => ![5, 200, 300].includes(id)),
      );
    });
  });

  describe('cancellation', () => {
    it('a signal already aborted: the call is sent, then cancelled; it rejects with AbortError carrying the reason', async () => {
      const { client, peer } = await scripted();
      const reason = new Error('changed my mind');
      const call = client.call('w', 'wait', [], null, { signal: AbortSignal.abort(reason) });
      await expect(call).rejects.toBeInstanceOf(AbortError);
      await expect(call).rejects.toMatchObject({ cause: reason });
      expect(await peer.message()).toEqual([ClientKind.Call, 1, 'w', 'wait', [], null]);
      expect(await peer.message()).toEqual([ClientKind.Cancel, 1]);
    });

    it('aborted mid-call: CANCEL goes out and the call rejects with AbortError at once', async () => {
      const { client, peer } = await scripted();
      const controller = new AbortController();
      const call = client.call('w', 'wait', [], null, { signal: controller.signal });
      await peer.message();
      controller.abort();
      await expect(call).rejects.toBeInstanceOf(AbortError);
      expect(await peer.message()).toEqual([ClientKind.Cancel, 1]);
    });

    it('timeout: CANCEL goes out and the call rejects with TimeoutError', async () => {
      const { client, peer } = await scripted();
      const started = Date.now();
      const call = client.call('w', 'wait', [], null, { timeout: 0.05 });
      await peer.message();
      await expect(call).rejects.toBeInstanceOf(TimeoutError);
      expect(Date.now() - started).toBeGreaterThanOrEqual(40);
      expect(await peer.message()).toEqual([ClientKind.Cancel, 1]);
    });

    it('a reply before the timeout disarms it: nothing is cancelled', async () => {
      const { client, peer } = await scripted();
      const call = client.call('c', 'value', [], null, { timeout: 0.05, signal: new AbortController().signal });
      await peer.message();
      peer.reply([ServerKind.Return, 1, 'in time']);
      expect(await call).toBe('in time');
      await new Promise((r) => setTimeout(r, 80));
      const next = client.call(null, 'dummy');
      expect(await peer.message()).toEqual([ClientKind.Call, 1, null, 'dummy', [], null]); // no CANCEL before it
      peer.reply([ServerKind.Return, 1, null]);
      await next;
    });
  });

  describe('blobs', () => {
    it('a binary of 64 KiB or more goes as a blob frame just before its call', async () => {
      const { client, peer } = await scripted();
      const big = Buffer.alloc(BLOB_MIN, 0x5a);
      const call = client.call('s', 'set', [big, Buffer.from('small')]);
      const blob = await peer.frame();
      expect([blob[0], blob.readUInt32BE(1), blob[5], blob.length]).toEqual([0xc9, BLOB_MIN, EXT_BLOB, BLOB_MIN + 6]);
      expect(blob.subarray(6).equals(big)).toBe(true);
      const message = await peer.frame();
      expect(message.length).toBeLessThan(64); // an ext 4 reference, not the bytes
      const [kind, id, ident, method, args] = msgpack.decode(message, { blobs: [blob.subarray(6)] }) as [number, number, string, string, Buffer[]];
      expect([kind, id, ident, method]).toEqual([ClientKind.Call, 1, 's', 'set']);
      expect(args[0]?.equals(big)).toBe(true);
      expect(args[1]?.toString()).toBe('small');
      peer.reply([ServerKind.Return, 1, null]);
      await call;
    });

    it('a blob in a reply becomes the value', async () => {
      const { client, peer } = await scripted();
      const call = client.call('s', 'get');
      await peer.message();
      const big = Buffer.alloc(BLOB_MIN * 3, 0x33);
      peer.reply([ServerKind.Return, 1, { big, also: new Uint8Array(BLOB_MIN).fill(4) }]);
      const value = (await call) as { big: Buffer; also: Uint8Array };
      expect(Buffer.isBuffer(value.big) && value.big.equals(big)).toBe(true);
      expect(Buffer.isBuffer(value.also)).toBe(false);
      expect(value.also.length).toBe(BLOB_MIN);
    });

    it('a call with a signal or timeout sends copies of its blobs: the caller may change them once it returns', async () => {
      const { client, peer } = await scripted();
      const first = Buffer.alloc(BLOB_MIN, 0x01);
      const second = Buffer.alloc(BLOB_MIN, 0x02);
      const call = client.call('s', 'set', [first, second], null, { timeout: 5 });
      first.fill(0xff);
      second.fill(0xff); // the second blob waits for the end of the tick in the transport's queue
      const [, , , , args] = (await peer.message()) as [number, number, string, string, Buffer[]];
      expect(args[0]?.every((b) => b === 0x01)).toBe(true);
      expect(args[1]?.every((b) => b === 0x02)).toBe(true);
      peer.reply([ServerKind.Return, 1, null]);
      await call;
    });

    it('a blob frame under 64 KiB from the server closes the connection: pending calls reject', async () => {
      const { client, peer } = await scripted();
      const call = client.call('s', 'get');
      await peer.message();
      peer.conn.sendBytes(Buffer.from([0xc9, 0, 0, 0, 2, EXT_BLOB, 1, 2]));
      await expect(call).rejects.toBeInstanceOf(ConnectionClosedError);
      await expect(call).rejects.toMatchObject({ cause: expect.any(ProtocolError) });
      expect(client.closed).toBe(true);
    });
  });

  describe('closing', () => {
    it('the server closing rejects every pending call with ConnectionClosedError, and every later one', async () => {
      const { client, peer } = await scripted();
      const closed: Error[] = [];
      client.onClose((err) => closed.push(err));
      const calls = [client.call('a', 'wait'), client.call('b', 'wait', [], null, { timeout: 5 }), client.call(null, 'dummy')];
      for (let i = 0; i < 3; i++) await peer.message();
      peer.conn.close();
      for (const call of calls) await expect(call).rejects.toBeInstanceOf(ConnectionClosedError);
      expect(client.closed).toBe(true);
      expect(client.pendingCalls).toBe(0);
      expect(closed).toHaveLength(1);
      expect(closed[0]).toBeInstanceOf(ConnectionClosedError);
      await expect(client.call(null, 'dummy')).rejects.toBeInstanceOf(ConnectionClosedError);
      client.release('a'); // nothing to do, and no throw
      // A listener added after the close still hears of it.
      const late = await new Promise<Error>((resolve) => client.onClose(resolve));
      expect(late).toBeInstanceOf(ConnectionClosedError);
    });

    it('a malformed frame from the server closes the connection; calls reject with ConnectionClosedError caused by a ProtocolError', async () => {
      for (const bad of [Buffer.from([0xc1]), Buffer.from(msgpack.encode({ not: 'an array' })), Buffer.from(msgpack.encode([0, 'one', null]))]) {
        const { client, peer } = await scripted();
        const call = client.call(null, 'dummy');
        await peer.message();
        peer.conn.sendBytes(bad);
        await expect(call).rejects.toBeInstanceOf(ConnectionClosedError);
        await expect(call).rejects.toMatchObject({ cause: expect.any(ProtocolError) });
        await expect(peer.frame()).rejects.toBeInstanceOf(ConnectionClosedError); // the client hung up
      }
    });

    it('close() rejects the calls in flight and resolves once the server has closed its side', async () => {
      const { client, peer } = await scripted();
      const call = client.call('w', 'wait');
      await peer.message();
      let done = false;
      const closing = client.close().then(() => {
        done = true;
      });
      await expect(call).rejects.toBeInstanceOf(ConnectionClosedError);
      await expect(peer.frame()).rejects.toBeInstanceOf(ConnectionClosedError); // end of file
      expect(done).toBe(false);
      peer.conn.close();
      await closing;
      expect(client.closed).toBe(true);
      await client.close(); // idempotent
    });

    it('lostCallError: calls in flight when the server drops the connection reject with its error; close() keeps the closed one', async () => {
      const lost = (closed: ConnectionClosedError) => new ConnectionLostError(`lost: ${closed.message}`, { cause: closed });
      const dropped = await scripted({ lostCallError: lost });
      const inFlight = dropped.client.call('w', 'wait');
      await dropped.peer.message();
      dropped.peer.conn.close();
      await expect(inFlight).rejects.toBeInstanceOf(ConnectionLostError);
      await expect(dropped.client.call(null, 'dummy')).rejects.not.toBeInstanceOf(ConnectionLostError); // later calls: closed

      const closed = await scripted({ lostCallError: lost });
      const call = closed.client.call('w', 'wait');
      await closed.peer.message();
      const closing = closed.client.close();
      await expect(call).rejects.toBeInstanceOf(ConnectionClosedError);
      await expect(call).rejects.not.toBeInstanceOf(ConnectionLostError);
      closed.peer.conn.close();
      await closing;
    });
  });

  describe('callDecoding', () => {
    it("decodes its own reply with the context it was given, and every other reply with the client's", async () => {
      const { client, peer } = await scripted();
      const made: string[] = [];
      client.decodeContext = { reviveRef: (ref) => (made.push(ref.token.id), { proxy: ref.token.id }) };
      const ref = (id: string) => new ObjectRef(new Token('Counter', WELCOME.address, id), ['inc']);
      const raw = client.callDecoding({ reviveRef: (r) => r }, null, 'create', ['Counter']);
      const normal = client.call(null, 'create', ['Counter']);
      const [first, second] = [await peer.message(), await peer.message()];
      peer.reply([ServerKind.Return, second[1], ref('b')]);
      peer.reply([ServerKind.Return, first[1], ref('a')]);
      expect(await normal).toEqual({ proxy: 'b' });
      const taken = await raw;
      expect(taken).toBeInstanceOf(ObjectRef);
      expect((taken as ObjectRef).token.id).toBe('a');
      expect(made).toEqual(['b']);
    });
  });
});
