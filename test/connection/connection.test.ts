/**
 * The same behaviour suite over every transport (TCP, Unix path, Linux abstract name, WebSocket):
 * Listener/Client/Connection as CPython's `multiprocessing.connection`, plus what mpmanager adds (frame
 * limit, handshake timeout, a silent peer that delays nobody).
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  Client,
  Connection,
  Listener,
  type ClientOptions,
  type ListenerOptions,
} from '../../src/connection/index.js';
import {
  AddressError,
  AuthenticationError,
  BadMessageLengthError,
  BufferTooShortError,
  ConnectionClosedError,
  FrameTooLargeError,
  HandshakeTimeoutError,
  InvalidArgumentError,
  StateError,
} from '../../src/errors.js';
import type { Address, TcpAddress } from '../../src/transport/address.js';

const KINDS = ['tcp', 'unix', 'abstract', 'ws'] as const;
type Kind = (typeof KINDS)[number];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mpm-conn-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function freshAddress(kind: Kind): Address {
  const name = randomBytes(6).toString('hex');
  switch (kind) {
    case 'tcp':
      return ['127.0.0.1', 0];
    case 'unix':
      return join(dir, `${name}.sock`);
    case 'abstract':
      return `\0mpm-test-${process.pid}-${name}`;
    case 'ws':
      return 'ws://127.0.0.1:0/mpm';
    default:
      return kind satisfies never;
  }
}

/** Everything a test opened, closed after it whatever happened. */
const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) {
    try {
      await fn();
    } catch {
      // already closed
    }
  }
});

async function listen(kind: Kind, options: ListenerOptions = {}): Promise<Listener> {
  const listener = await Listener.listen(freshAddress(kind), { authkey: 'secret', ...options });
  cleanup.push(() => listener.close());
  return listener;
}

async function connect(address: Address, options: ClientOptions = { authkey: 'secret' }): Promise<Connection> {
  const conn = await Client(address, options);
  cleanup.push(() => conn.close());
  return conn;
}

/** A listener and one connected pair: `client` (ours) and `server` (what `accept()` gave). */
async function setup(kind: Kind, options: { listener?: ListenerOptions; client?: ClientOptions } = {}) {
  const listener = await listen(kind, options.listener);
  const [client, server] = await Promise.all([connect(listener.address, { authkey: 'secret', ...options.client }), listener.accept()]);
  cleanup.push(() => server.close());
  return { listener, client, server };
}

/** A peer that connects and never says a word. */
async function silentPeer(address: Address): Promise<{ closed: Promise<unknown>; isClosed(): boolean }> {
  let closed = false;
  if (typeof address === 'string' && address.startsWith('ws://')) {
    const ws = new WebSocket(address);
    ws.on('error', () => {});
    await once(ws, 'open');
    cleanup.push(() => ws.terminate());
    const done = once(ws, 'close').then(() => (closed = true));
    return { closed: done, isClosed: () => closed };
  }
  const socket = Array.isArray(address) ? net.connect({ host: address[0], port: address[1] }) : net.connect({ path: address as string });
  socket.on('error', () => {});
  await once(socket, 'connect');
  cleanup.push(() => socket.destroy());
  const done = once(socket, 'close').then(() => (closed = true));
  socket.resume();
  return { closed: done, isClosed: () => closed };
}

const nextHandshakeError = (listener: Listener) =>
  once(listener, 'handshakeError') as Promise<[Error, Address]>;

describe.each(KINDS)('over %s', (kind) => {
  describe('Listener', () => {
    it('binds, resolves port 0, and reports its address', async () => {
      const listener = await listen(kind);
      const address = listener.address;
      switch (kind) {
        case 'tcp':
          expect(address[0]).toBe('127.0.0.1');
          expect((address as TcpAddress)[1]).toBeGreaterThan(0);
          break;
        case 'unix':
          expect(typeof address).toBe('string');
          expect(statSync(address as string).isSocket()).toBe(true);
          break;
        case 'abstract':
          expect((address as string).startsWith('\0mpm-test-')).toBe(true);
          break;
        case 'ws':
          expect(address).toMatch(/^ws:\/\/127\.0\.0\.1:[1-9]\d*\/mpm$/);
          break;
        default:
          kind satisfies never;
      }
      expect(listener.backlog).toBe(128);
      expect(listener.lastAccepted).toBeNull();
    });

    it('takes a backlog', async () => {
      const listener = await listen(kind, { backlog: 5 });
      expect(listener.backlog).toBe(5);
    });

    it('refuses an address in use with AddressError', async () => {
      const first = await listen(kind);
      await expect(Listener.listen(first.address)).rejects.toThrow(AddressError);
    });

    it("records lastAccepted: ['127.0.0.1', port] over TCP and WebSocket, '' over Unix sockets", async () => {
      const { listener } = await setup(kind);
      const peer = listener.lastAccepted;
      if (kind === 'tcp' || kind === 'ws') {
        expect(Array.isArray(peer)).toBe(true);
        expect(peer![0]).toBe('127.0.0.1');
        expect((peer as TcpAddress)[1]).toBeGreaterThan(0);
      } else {
        expect(peer).toBe('');
      }
    });

    it('iterates over connections with for await, ending when the listener closes', async () => {
      const listener = await listen(kind);
      const got: unknown[] = [];
      const loop = (async () => {
        for await (const conn of listener) {
          got.push(await conn.recv());
          conn.close();
          if (got.length === 2) await listener.close();
        }
      })();
      for (const n of [1, 2]) {
        const c = await connect(listener.address);
        c.send(n);
      }
      await loop;
      expect(got.sort()).toEqual([1, 2]);
      expect(listener.closed).toBe(true);
    });

    it('close(): idempotent, pending accept() rejects, later accept() rejects, accepted connections stay open', async () => {
      const { listener, client, server } = await setup(kind);
      const second = await listen(kind);
      const pending = second.accept();
      await second.close();
      await second.close();
      await expect(pending).rejects.toThrow(ConnectionClosedError);
      await expect(second.accept()).rejects.toThrow(StateError);
      await expect(second.accept()).rejects.toThrow(/listener is closed/);

      await listener.close();
      expect(listener.closed).toBe(true);
      client.send('still here');
      expect(await server.recv()).toBe('still here');
      // Nothing listens any more: a ConnectError carrying the system's code (a Unix socket's path is gone with it).
      await expect(Client(listener.address, { authkey: 'secret' })).rejects.toMatchObject({ code: 'MPM_ERR_CONNECT', syscallCode: kind === 'unix' ? 'ENOENT' : 'ECONNREFUSED' });
    });

    if (kind === 'unix') {
      it('unlinks its socket path on close, and the path can be bound again', async () => {
        const { listener } = await setup(kind);
        const path = listener.address as string;
        expect(existsSync(path)).toBe(true);
        await listener.close();
        expect(existsSync(path)).toBe(false);
        const again = await Listener.listen(path);
        cleanup.push(() => again.close());
        expect(existsSync(path)).toBe(true);
      });
    }

    it('closes itself with await using', async () => {
      let outer: Listener;
      {
        await using listener = await Listener.listen(freshAddress(kind));
        outer = listener;
        expect(listener.closed).toBe(false);
      }
      expect(outer.closed).toBe(true);
    });

    it('accepts without a handshake when it has no authkey', async () => {
      const listener = await listen(kind, { authkey: null });
      const [client, server] = await Promise.all([connect(listener.address, {}), listener.accept()]);
      client.send('plain');
      expect(await server.recv()).toBe('plain');
    });

    it('bounds the wait of a client that expects a handshake from a listener without authkey', async () => {
      const listener = await listen(kind, { authkey: null });
      await expect(Client(listener.address, { authkey: 'secret', handshakeTimeout: 100 })).rejects.toThrow(HandshakeTimeoutError);
    });
  });

  describe('authentication', () => {
    it('a wrong key fails on both sides; the listener reports it and keeps accepting', async () => {
      const listener = await listen(kind);
      const reported = nextHandshakeError(listener);
      const err = await Client(listener.address, { authkey: 'wrong' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthenticationError);
      expect((err as Error).message).toMatch(/authkeys differ/);
      const [serverErr, peer] = await reported;
      expect(serverErr).toBeInstanceOf(AuthenticationError);
      expect(serverErr.message).toMatch(/authkeys differ/);
      expect(peer).toEqual(kind === 'tcp' || kind === 'ws' ? ['127.0.0.1', expect.any(Number)] : '');

      const [client, server] = await Promise.all([connect(listener.address), listener.accept()]);
      client.send('after');
      expect(await server.recv()).toBe('after');
    });

    it('accepts a good client while a silent peer is connected, then closes the silent one after handshakeTimeout', async () => {
      const listener = await listen(kind, { handshakeTimeout: 800 });
      const reported = nextHandshakeError(listener);
      const silent = await silentPeer(listener.address);
      const [client, server] = await Promise.all([connect(listener.address), listener.accept()]);
      // The good client got through while the silent one was still connected.
      expect(silent.isClosed()).toBe(false);
      client.send('first');
      expect(await server.recv()).toBe('first');
      const [err] = await reported;
      expect(err).toBeInstanceOf(HandshakeTimeoutError);
      await silent.closed;
      expect(silent.isClosed()).toBe(true);
    });
  });

  describe('Connection', () => {
    it('sends and receives objects both ways (msgpack by default)', async () => {
      const { client, server } = await setup(kind);
      const values = ['foo1', 42, -1.5, null, true, [1, 'two', [3]], { a: { b: [null, false] } }, new Uint8Array([1, 2, 3])];
      for (const v of values) client.send(v);
      for (const v of values) expect(await server.recv()).toEqual(v);
      server.send({ reply: 'ok' });
      expect(await client.recv()).toEqual({ reply: 'ok' });
      expect(client.serializer.name).toBe('msgpack');
    });

    it('sendBytes/recvBytes: offset and size count elements, as in CPython', async () => {
      const { client, server } = await setup(kind);
      const abc = Buffer.from('abcdef');
      client.sendBytes(abc);
      client.sendBytes(abc, 2, 3);
      client.sendBytes(abc, 4);
      client.sendBytes(abc, 6);
      client.sendBytes(new Uint16Array([0x0102, 0x0304, 0x0506]), 1, 1);
      client.sendBytes(new Uint8Array([7, 8, 9]).buffer);
      const got = [];
      for (let i = 0; i < 6; i++) got.push((await server.recvBytes()).toString('hex'));
      expect(got.slice(0, 4)).toEqual(['616263646566', '636465', '6566', '']);
      expect(got[4]).toBe(Buffer.from(new Uint16Array([0x0304]).buffer).toString('hex'));
      expect(got[5]).toBe('070809');
    });

    it.each([
      [-1, undefined, 'offset is negative'],
      [7, undefined, 'buffer length < offset'],
      [0, -1, 'size is negative'],
      [4, 3, 'buffer length < offset + size'],
    ])('sendBytes(buf, %s, %s) raises InvalidArgumentError(%s)', async (offset, size, message) => {
      const { client } = await setup(kind);
      expect(() => client.sendBytes(Buffer.from('abcdef'), offset, size)).toThrow(InvalidArgumentError);
      expect(() => client.sendBytes(Buffer.from('abcdef'), offset, size)).toThrow(message);
    });

    it('recvBytes(maxLength): a longer message raises BadMessageLengthError and leaves the connection unreadable', async () => {
      const { client, server } = await setup(kind);
      client.sendBytes(Buffer.alloc(10));
      client.sendBytes(Buffer.alloc(11));
      await expect(server.recvBytes(-1)).rejects.toThrow(InvalidArgumentError);
      expect(await server.recvBytes(10)).toHaveLength(10);
      const err = await server.recvBytes(10).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BadMessageLengthError);
      expect((err as Error).message).toMatch(/bad message length/);
      expect(server.readable).toBe(false);
      await expect(server.recvBytes()).rejects.toThrow(StateError);
      // Still writable, as in CPython.
      expect(server.writable).toBe(true);
      server.sendBytes(Buffer.from('back'));
      expect((await client.recvBytes()).toString()).toBe('back');
    });

    it('recvBytesInto: writes at a byte offset and returns the length', async () => {
      const { client, server } = await setup(kind);
      client.sendBytes(Buffer.from('abc'));
      client.sendBytes(Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]));
      const buf = Buffer.alloc(6);
      expect(await server.recvBytesInto(buf, 2)).toBe(3);
      expect(buf.toString('hex')).toBe('0000616263' + '00');
      const words = new Uint32Array(2);
      expect(await server.recvBytesInto(words)).toBe(8);
      expect(Buffer.from(words.buffer).toString('hex')).toBe('0102030405060708');
    });

    it('recvBytesInto: a message that does not fit raises BufferTooShortError carrying it, and is consumed', async () => {
      const { client, server } = await setup(kind);
      client.sendBytes(Buffer.from('abcdef'));
      client.sendBytes(Buffer.from('next'));
      const buf = Buffer.alloc(8);
      await expect(server.recvBytesInto(buf, -1)).rejects.toThrow(InvalidArgumentError);
      await expect(server.recvBytesInto(buf, 9)).rejects.toThrow(/offset too large/);
      const err = await server.recvBytesInto(buf, 3).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BufferTooShortError);
      expect(Buffer.from((err as BufferTooShortError).data).toString()).toBe('abcdef');
      expect(buf.equals(Buffer.alloc(8))).toBe(true);
      expect((await server.recvBytes()).toString()).toBe('next');
    });

    it('poll(timeout in seconds): false when nothing came, true once something did, without consuming it', async () => {
      const { client, server } = await setup(kind);
      expect(await server.poll()).toBe(false);
      expect(await server.poll(0.02)).toBe(false);
      setTimeout(() => client.sendBytes(Buffer.from('x')), 20);
      expect(await server.poll(10)).toBe(true);
      expect(await server.poll()).toBe(true);
      expect((await server.recvBytes()).toString()).toBe('x');
      expect(await server.poll(0)).toBe(false);
      setTimeout(() => client.send('y'), 20);
      expect(await server.poll(null)).toBe(true);
      expect(await server.recv()).toBe('y');
    });

    it('poll() is true at EOF (there is something to read: the end)', async () => {
      const { client, server } = await setup(kind);
      const polled = server.poll(10);
      client.close();
      expect(await polled).toBe(true);
      await expect(server.recv()).rejects.toThrow(ConnectionClosedError);
    });

    it('carries zero-length messages, distinct from EOF', async () => {
      const { client, server } = await setup(kind);
      client.sendBytes(new Uint8Array(0));
      client.sendBytes(Buffer.alloc(0));
      client.sendBytes(Buffer.from('z'));
      client.sendBytes(Buffer.from('abc'), 3);
      expect(await server.recvBytes()).toHaveLength(0);
      expect(await server.recvBytes()).toHaveLength(0);
      expect((await server.recvBytes()).toString()).toBe('z');
      expect(await server.recvBytes()).toHaveLength(0);
      client.sendBytes(Buffer.alloc(0));
      expect(await server.recvBytesInto(Buffer.alloc(0))).toBe(0);
      expect(await server.poll()).toBe(false);
    });

    it('carries a 16 MiB message each way', async () => {
      const { client, server } = await setup(kind);
      const big = randomBytes(16 * 1024 * 1024);
      client.sendBytes(big);
      const got = await server.recvBytes();
      expect(got.length).toBe(big.length);
      expect(got.equals(big)).toBe(true);
      server.send({ blob: big.subarray(0, 16 * 1024 * 1024 - 64) });
      const back = (await client.recv()) as { blob: Uint8Array };
      expect(back.blob.length).toBe(16 * 1024 * 1024 - 64);
      expect(Buffer.from(back.blob).equals(big.subarray(0, 16 * 1024 * 1024 - 64))).toBe(true);
    });

    it('refuses a frame above maxFrameSize: the receiver gets FrameTooLargeError, the sender a clean close', async () => {
      const { client, server } = await setup(kind, { listener: { maxFrameSize: 1024 } });
      client.sendBytes(Buffer.alloc(1024));
      expect(await server.recvBytes()).toHaveLength(1024);
      client.sendBytes(Buffer.alloc(4096));
      const err = await server.recvBytes().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FrameTooLargeError);
      expect((err as FrameTooLargeError).limit).toBe(1024);
      const seen = await client.recvBytes().catch((e: unknown) => e);
      expect(seen).toBeInstanceOf(ConnectionClosedError);
      expect((seen as Error).message).toMatch(/peer closed/);
    });

    it('refuses a frame above the client maxFrameSize the same way', async () => {
      const { client, server } = await setup(kind, { client: { maxFrameSize: 100 } });
      server.sendBytes(Buffer.alloc(101));
      await expect(client.recvBytes()).rejects.toThrow(FrameTooLargeError);
      await expect(server.recvBytes()).rejects.toThrow(ConnectionClosedError);
    });

    it('iterates over received objects with for await, ending cleanly at EOF', async () => {
      const { client, server } = await setup(kind);
      client.send('a');
      client.send({ b: 1 });
      client.send([3]);
      client.close();
      const got: unknown[] = [];
      for await (const msg of server) got.push(msg);
      expect(got).toEqual(['a', { b: 1 }, [3]]);
    });

    it('closes with await using; what was sent first still arrives', async () => {
      const listener = await listen(kind);
      const accepted = listener.accept();
      let outer: Connection;
      {
        await using conn = await Client(listener.address, { authkey: 'secret' });
        outer = conn;
        conn.send('last words');
      }
      expect(outer.closed).toBe(true);
      const server = await accepted;
      cleanup.push(() => server.close());
      expect(await server.recv()).toBe('last words');
      await expect(server.recv()).rejects.toThrow(/peer closed the connection/);
    });

    it('close semantics: idempotent, pending and later calls fail with ConnectionClosedError, the peer sees EOF', async () => {
      const { client, server } = await setup(kind);
      const pending = client.recv();
      client.close();
      client.close();
      expect(client.closed).toBe(true);
      await expect(pending).rejects.toThrow(ConnectionClosedError);
      await expect(client.recv()).rejects.toThrow(ConnectionClosedError);
      await expect(client.recvBytes()).rejects.toThrow(ConnectionClosedError);
      expect(() => client.send('x')).toThrow(ConnectionClosedError);
      expect(() => client.sendBytes(Buffer.from('x'))).toThrow(ConnectionClosedError);
      await expect(async () => client.poll()).rejects.toThrow(ConnectionClosedError);

      const err = await server.recv().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectionClosedError);
      expect((err as Error).message).toMatch(/EOF/);
      expect(server.closed).toBe(false);
      // Sending to a peer that is gone fails, at the latest once the close has been seen.
      expect(() => server.sendBytes(Buffer.from('x'))).toThrow(ConnectionClosedError);
    });

    it('destroy(error): pending receives reject with that error', async () => {
      const { client } = await setup(kind);
      const pending = client.recv();
      const boom = new Error('boom');
      client.destroy(boom);
      await expect(pending).rejects.toBe(boom);
      expect(client.closed).toBe(true);
    });
  });
});
