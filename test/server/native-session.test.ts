/**
 * The native dialect on the server, spoken by hand: a raw client (`Client` from src/connection plus the
 * msgpack codec) sends well-formed and malformed frames. A malformed frame closes that connection and
 * gives back what it held; an error in a well-formed call is a reply; nothing a client sends takes the
 * server down, and the other clients keep working. Over TCP, a Unix socket and WebSocket.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BLOB_MIN, msgpack } from '../../src/codec/index.js';
import { Client, type Connection } from '../../src/connection/index.js';
import { BaseManager } from '../../src/manager/base-manager.js';
import { ClientKind, NATIVE_MAGIC, NATIVE_VERSION, ServerKind } from '../../src/protocol/native.js';
import { ObjectRef } from '../../src/codec/ref.js';
import type { BaseProxy } from '../../proxies/base-proxy.js';
import { AbortError, CodecError, ConnectionClosedError, RemoteError } from '../../src/errors.js';
import { tuple } from '../../src/codec/values.js';
import { ValueError } from '../../src/python-errors.js';
import type { Address } from '../../src/transport/address.js';
import { Counter, Waiter } from '../fixtures/referents.js';
import { eventually, TRANSPORTS } from '../fixtures/transports.js';

const AUTHKEY = 'native-session-key';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function startServer(address: Address) {
  const m = await new BaseManager(address, { authkey: AUTHKEY }).register('Counter', Counter).register('Waiter', Waiter).start();
  cleanup.push(() => m.shutdown());
  return m;
}

/** An authenticated connection that has not said anything yet. */
async function rawConnection(address: Address): Promise<Connection> {
  const conn = await Client(address, { authkey: AUTHKEY });
  cleanup.push(() => conn.close());
  return conn;
}

/** A raw native client past the hello: send messages, read replies. */
async function rawNative(address: Address) {
  const conn = await rawConnection(address);
  conn.sendBytes(msgpack.encode([NATIVE_MAGIC, NATIVE_VERSION, { name: 'raw' }]));
  const welcome = msgpack.decode(await conn.recvBytes()) as unknown[];
  return {
    conn,
    welcome,
    send: (msg: unknown) => conn.sendBytes(msgpack.encode(msg)),
    recv: async () => msgpack.decode(await conn.recvBytes()) as unknown[],
  };
}

/** The server must close this connection: the next receive fails. */
async function expectClosed(conn: Connection): Promise<void> {
  await expect(conn.recvBytes()).rejects.toBeInstanceOf(ConnectionClosedError);
}

describe.each(TRANSPORTS)('native session over $name', (transport) => {
  it('answers the hello with its address and pid', async () => {
    const m = await startServer(transport.address());
    const raw = await rawNative(m.address);
    expect(raw.welcome).toEqual([NATIVE_MAGIC, NATIVE_VERSION, { address: m.address, pid: process.pid }]);
  });

  it('replies by call id, in completion order, to raw calls', async () => {
    const m = await startServer(transport.address());
    const raw = await rawNative(m.address);
    raw.send([ClientKind.Call, 7, null, 'create', ['Counter', 5], null]);
    const [kind, id, ref] = await raw.recv();
    expect([kind, id]).toEqual([ServerKind.Return, 7]);
    expect(ref).toBeInstanceOf(ObjectRef);
    const token = (ref as ObjectRef).token;
    expect(token).toMatchObject({ typeid: 'Counter', address: m.address });
    raw.send([ClientKind.Call, 8, null, 'create', ['Waiter'], null]);
    const waiter = ((await raw.recv())[2] as ObjectRef).token.id;
    raw.send([ClientKind.Call, 9, waiter, 'wait', [], null]);
    raw.send([ClientKind.Call, 10, token.id, 'inc', [], { by: 2 }]);
    raw.send([ClientKind.Call, 11, token.id, 'fail', ['no'], null]);
    raw.send([ClientKind.Cancel, 9]);
    const replies = [await raw.recv(), await raw.recv(), await raw.recv()];
    expect(replies[0]).toEqual([ServerKind.Return, 10, 7]);
    expect(replies[1]?.slice(0, 2)).toEqual([ServerKind.Error, 11]);
    expect(replies[1]?.[2]).toBeInstanceOf(ValueError);
    // The cancelled call still gets its reply (an AbortError), which a real client drops by id.
    expect(replies[2]?.slice(0, 2)).toEqual([ServerKind.Error, 9]);
    expect(replies[2]?.[2]).toMatchObject({ name: 'AbortError' });
    // Two references held by this connection; RELEASE gives them back without a reply.
    expect(await m.numberOfObjects()).toBe(2);
    raw.send([ClientKind.Release, token.id, 1]);
    raw.send([ClientKind.Release, waiter, 5]); // more than held: only what it holds
    raw.send([ClientKind.Call, 12, null, 'number_of_objects', [], null]);
    expect(await raw.recv()).toEqual([ServerKind.Return, 12, 0]);
  });

  it('ignores a RELEASE or CANCEL that names nothing it holds or runs', async () => {
    const m = await startServer(transport.address());
    const mine = await m.Counter();
    const raw = await rawNative(m.address);
    raw.send([ClientKind.Release, mine.token.id, 1]); // held by another connection, not this one
    raw.send([ClientKind.Release, 'no-such-id', 1]);
    raw.send([ClientKind.Release, 42, 'x']);
    raw.send([ClientKind.Cancel, 12345]);
    raw.send([ClientKind.Call, 1, null, 'dummy', [], null]);
    expect(await raw.recv()).toEqual([ServerKind.Return, 1, null]);
    expect(await mine.inc()).toBe(1);
  });

  it('answers a call whose arguments this codec cannot decode (a map keyed by a tuple) with CodecError, and goes on', async () => {
    const m = await startServer(transport.address());
    const counter = await m.Counter(1);
    const err = await counter.callMethod('inc', [new Map([[tuple(1, 2), 'x']])]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CodecError);
    expect((err as Error).message).toMatch(/malformed msgpack frame/);
    // The call never ran, and the connection serves the next one.
    expect(await counter.callMethod('inc')).toBe(2);
  });

  const malformed: Array<[string, (conn: Connection) => void]> = [
    ['an undecodable frame', (c) => c.sendBytes(Buffer.from([0xc1]))],
    ['a frame that is not an array', (c) => c.sendBytes(msgpack.encode({ kind: 0 }))],
    ['an unknown message kind', (c) => c.sendBytes(msgpack.encode([9, 1]))],
    ['a call whose id is not a number', (c) => c.sendBytes(msgpack.encode([ClientKind.Call, 'one', null, 'dummy', [], null]))],
    ['a call whose args are not an array', (c) => c.sendBytes(msgpack.encode([ClientKind.Call, 1, null, 'dummy', 'args', null]))],
    ['a call whose method is not a string', (c) => c.sendBytes(msgpack.encode([ClientKind.Call, 1, null, 7, [], null]))],
    ['a call whose ident is neither null nor a string', (c) => c.sendBytes(msgpack.encode([ClientKind.Call, 1, 5, 'value', [], null]))],
    ['a malformed object reference', (c) => c.sendBytes(Buffer.concat([Buffer.from([0x91, 0xd4, 0x01]), Buffer.from([0x00])]))],
    ['an empty frame', (c) => c.sendBytes(Buffer.alloc(0))],
  ];

  it.each(malformed)('closes the connection on %s, gives back what it held, and keeps serving the others', async (_, send) => {
    const m = await startServer(transport.address());
    const other = await m.Counter(1);
    const raw = await rawNative(m.address);
    raw.send([ClientKind.Call, 1, null, 'create', ['Counter'], null]);
    await raw.recv();
    expect(await m.numberOfObjects()).toBe(2);
    send(raw.conn);
    await expectClosed(raw.conn);
    expect(await eventually(() => m.numberOfObjects(), 1)).toBe(1);
    expect(await other.callMethod('inc')).toBe(2);
    const again = await rawNative(m.address);
    again.send([ClientKind.Call, 1, null, 'dummy', [], null]);
    expect(await again.recv()).toEqual([ServerKind.Return, 1, null]);
  });

  it('takes large binaries as blob frames before their call, and answers with them the same way', async () => {
    class Store {
      value: unknown = null;
      set(v: unknown): number {
        this.value = v;
        return Buffer.isBuffer(v) ? v.length : -1;
      }
      get(): unknown {
        return this.value;
      }
    }
    const m = await new BaseManager(transport.address(), { authkey: AUTHKEY, maxFrameSize: 1 << 20 }).register('Store', Store).start();
    cleanup.push(() => m.shutdown());
    const raw = await rawNative(m.address);
    raw.send([ClientKind.Call, 1, null, 'create', ['Store'], null]);
    const store = ((await raw.recv())[2] as ObjectRef).token.id;
    const blob = Buffer.alloc(BLOB_MIN * 2, 0x5a);
    const frame = Buffer.concat([Buffer.from([0xc9, 0, 0, 0, 0, 0x05]), blob]); // ext 32 of type 5
    frame.writeUInt32BE(blob.length, 1);
    raw.conn.sendBytes(frame);
    // [CALL, 2, store, 'set', [ext 4: Buffer, blob 0]]
    const call = Buffer.from(msgpack.encode([ClientKind.Call, 2, store, 'set', ['placeholder'], null]));
    const ref = Buffer.from([0xc7, 0x05, 0x04, 0x00, 0, 0, 0, 0]);
    const at = call.indexOf(Buffer.from([0xab, ...Buffer.from('placeholder')]));
    raw.conn.sendBytes(Buffer.concat([call.subarray(0, at), ref, call.subarray(at + 12)]));
    expect(await raw.recv()).toEqual([ServerKind.Return, 2, blob.length]);
    // The answer: the blob in a frame of its own, then the message that refers to it.
    raw.send([ClientKind.Call, 3, store, 'get', [], null]);
    const first = await raw.conn.recvBytes();
    expect([first[0], first.readUInt32BE(1), first[5]]).toEqual([0xc9, blob.length, 0x05]);
    expect(first.subarray(6).equals(blob)).toBe(true);
    const reply = await raw.conn.recvBytes();
    expect(reply.length).toBeLessThan(20);
    expect(msgpack.decode(reply, { blobs: [first.subarray(6)] })).toEqual([ServerKind.Return, 3, blob]);
    // Through proxies both ways, nested, for both byte types.
    const proxy = await m.create<BaseProxy>('Store');
    const value = { big: Buffer.alloc(200_000, 1), plain: new Uint8Array(BLOB_MIN).fill(2), small: Buffer.from('s') };
    await proxy.callMethod('set', [value]);
    const back = (await proxy.callMethod('get')) as typeof value;
    expect(Buffer.isBuffer(back.big) && back.big.equals(value.big)).toBe(true);
    expect(Buffer.isBuffer(back.plain)).toBe(false);
    expect(Buffer.from(back.plain).equals(Buffer.from(value.plain))).toBe(true);
    expect(back.small.toString()).toBe('s');
  });

  it('closes a connection whose blobs before one message exceed the frame size limit', async () => {
    const m = await new BaseManager(transport.address(), { authkey: AUTHKEY, maxFrameSize: 256 * 1024 }).register('Counter', Counter).start();
    cleanup.push(() => m.shutdown());
    const raw = await rawNative(m.address);
    const frame = Buffer.concat([Buffer.from([0xc9, 0, 0, 0, 0, 0x05]), Buffer.alloc(100 * 1024)]);
    frame.writeUInt32BE(100 * 1024, 1);
    for (let i = 0; i < 3; i++) raw.conn.sendBytes(frame); // each fits; together they do not
    await expectClosed(raw.conn);
    const again = await rawNative(m.address);
    again.send([ClientKind.Call, 1, null, 'dummy', [], null]);
    expect(await again.recv()).toEqual([ServerKind.Return, 1, null]);
  });

  it('closes a connection whose message and blobs together exceed the frame size limit', async () => {
    const m = await new BaseManager(transport.address(), { authkey: AUTHKEY, maxFrameSize: 256 * 1024 }).register('Counter', Counter).start();
    cleanup.push(() => m.shutdown());
    const raw = await rawNative(m.address);
    const frame = Buffer.concat([Buffer.from([0xc9, 0, 0, 0, 0, 0x05]), Buffer.alloc(200 * 1024)]);
    frame.writeUInt32BE(200 * 1024, 1);
    raw.conn.sendBytes(frame); // fits
    raw.send([ClientKind.Call, 1, null, 'dummy', ['x'.repeat(100 * 1024)], null]); // fits alone, not with the blob
    await expectClosed(raw.conn);
  });

  it('closes a connection that sends a blob smaller than BLOB_MIN (so tiny blobs cannot pile up)', async () => {
    const m = await startServer(transport.address());
    const raw = await rawNative(m.address);
    for (let i = 0; i < 3; i++) raw.conn.sendBytes(Buffer.from([0xc9, 0, 0, 0, 0, 0x05])); // empty blobs
    await expectClosed(raw.conn);
    expect(await (await m.Counter(2)).callMethod('value')).toBe(2);
  });

  it('replies once to a call whose result calls back twice, so a later call never gets its reply', async () => {
    class Twice {
      twice(): PromiseLike<string> {
        return {
          then(resolve: (v: string) => void) {
            resolve('first');
            setTimeout(() => resolve('second'), 20);
            return undefined as never;
          },
        } as PromiseLike<string>;
      }
      async slow(): Promise<string> {
        await new Promise((r) => setTimeout(r, 60));
        return 'slow result';
      }
    }
    const m = await new BaseManager(transport.address(), { authkey: AUTHKEY }).register('Twice', Twice).start();
    cleanup.push(() => m.shutdown());
    const t = await m.create<BaseProxy>('Twice');
    expect(await t.callMethod('twice')).toBe('first');
    expect(await t.callMethod('slow')).toBe('slow result'); // reuses the call id of twice()
  });

  it('an aborted call that sent a large binary leaves the buffer free to change once it has settled', async () => {
    class Store {
      value: unknown = null;
      set(v: unknown): void {
        this.value = v;
      }
      get(): unknown {
        return this.value;
      }
    }
    const m = await new BaseManager(transport.address(), { authkey: AUTHKEY }).register('Store', Store).start();
    cleanup.push(() => m.shutdown());
    const store = await m.create<BaseProxy>('Store');
    const big = Buffer.alloc(32 * 1024 * 1024, 0x00);
    const controller = new AbortController();
    const call = store.callMethod('set', [big], null, { signal: controller.signal });
    controller.abort();
    await expect(call).rejects.toThrow(AbortError);
    big.fill(0xff); // settled: the buffer is the caller's again
    // The call reached the server before its cancel, and set() runs at once: it ran, with the bytes as sent.
    const stored = (await store.callMethod('get')) as Buffer | null;
    expect(stored?.length).toBe(big.length);
    expect(stored!.indexOf(0xff)).toBe(-1);
  });

  it('closes a connection that sends a blob frame whose header disagrees with its length', async () => {
    const m = await startServer(transport.address());
    const raw = await rawNative(m.address);
    raw.conn.sendBytes(Buffer.from([0xc9, 0, 0, 0, 9, 0x05, 1, 2]));
    await expectClosed(raw.conn);
  });

  it('drops a connection whose first frame is neither a native hello nor a CPython request', async () => {
    const m = await startServer(transport.address());
    const conn = await rawConnection(m.address);
    conn.sendBytes(Buffer.from('this is not a manager request'));
    // Without the classic dialect the connection is dropped; with it, CPython's reply is a #TRACEBACK.
    await conn.recvBytes().catch(() => null);
    expect(await (await m.Counter(3)).callMethod('value')).toBe(3);
  });

  it('refuses a hello of another protocol version', async () => {
    const m = await startServer(transport.address());
    const conn = await rawConnection(m.address);
    conn.sendBytes(msgpack.encode([NATIVE_MAGIC, NATIVE_VERSION + 1, {}]));
    await expectClosed(conn);
    expect(await m.numberOfObjects()).toBe(0);
  });

  it('aborts the calls and frees the references of a client that vanishes mid-call', async () => {
    const m = await startServer(transport.address());
    const raw = await rawNative(m.address);
    raw.send([ClientKind.Call, 1, null, 'create', ['Waiter'], null]);
    const waiterRef = (await raw.recv())[2] as ObjectRef;
    const mine = await m.rebuild({ typeid: 'Waiter', address: m.address, id: waiterRef.token.id, exposed: waiterRef.exposed, proxytype: null });
    raw.send([ClientKind.Call, 2, waiterRef.token.id, 'wait', [], null]);
    raw.send([ClientKind.Call, 3, null, 'dummy', [], null]);
    expect(await raw.recv()).toEqual([ServerKind.Return, 3, null]); // the wait is running now
    raw.conn.destroy();
    expect(await eventually(async () => ((await mine.callMethod('abortedCalls')) as string[]).length, 1)).toBe(1);
    expect(await mine.callMethod('abortedCalls')).toEqual(['the client connection closed']);
    expect(await m.debugInfo()).toMatch(/refcount=1\n/); // only ours is left
  });

  it('a call that fails after its client vanished is dropped quietly', async () => {
    const m = await startServer(transport.address());
    const raw = await rawNative(m.address);
    raw.send([ClientKind.Call, 1, null, 'create', ['Counter'], null]);
    const id = ((await raw.recv())[2] as ObjectRef).token.id;
    raw.send([ClientKind.Call, 2, id, 'crashLater', [], null]);
    raw.send([ClientKind.Call, 3, id, 'inc', [], null]);
    raw.conn.destroy();
    expect(await eventually(() => m.numberOfObjects(), 0)).toBe(0);
    expect(await (await m.Counter(1)).callMethod('inc')).toBe(2);
  });

  it('an error in a well-formed call is a reply, not a fault', async () => {
    const m = await startServer(transport.address());
    const raw = await rawNative(m.address);
    raw.send([ClientKind.Call, 1, 'no-such-object', 'value', [], null]);
    raw.send([ClientKind.Call, 2, null, 'create', ['NoSuchType'], null]);
    raw.send([ClientKind.Call, 3, null, 'frobnicate', [], null]);
    const replies = [await raw.recv(), await raw.recv(), await raw.recv()];
    expect(replies.map((r) => r.slice(0, 2))).toEqual([[ServerKind.Error, 1], [ServerKind.Error, 2], [ServerKind.Error, 3]]);
    expect(replies.map((r) => (r[2] as Error).name)).toEqual(['UnknownObjectError', 'UnknownTypeidError', 'InvalidArgumentError']);
    raw.send([ClientKind.Call, 4, null, 'dummy', [], null]);
    expect(await raw.recv()).toEqual([ServerKind.Return, 4, null]);
  });
});
