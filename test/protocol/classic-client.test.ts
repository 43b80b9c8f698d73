/**
 * `ClassicClient` against a scripted CPython-like server: our `Listener` (pickle, with an authkey) that
 * the test answers by hand with the tuples a stock CPython manager sends (the byte vectors from CPython
 * where there is one). Covers the one-shot control connections, `accept_connection` and the pool of
 * object connections, every reply kind, and calls abandoned on an abort or a timeout: their connection
 * is closed (CPython has no request ids, so a late reply would be read by the next call) and nothing is
 * left as an unhandled rejection.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ObjectRef } from '../../src/codec/ref.js';
import { Token } from '../../src/codec/token.js';
import { tuple } from '../../src/codec/values.js';
import { Listener, type Connection } from '../../src/connection/index.js';
import { AbortError, ConnectionClosedError, ProtocolError, RemoteError, TimeoutError } from '../../src/errors.js';
import { ClassicClient, type ClassicClientOptions } from '../../src/protocol/classic-client.js';
import { Reply } from '../../src/protocol/classic.js';
import { KeyError } from '../../src/python-errors.js';
import { VECTORS, hex } from '../codec/pickle/bytes.js';

const KEY = 'scripted-classic-peer';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** One accepted connection of the scripted server. */
class Peer {
  readonly conn: Connection;
  constructor(conn: Connection) {
    this.conn = conn;
  }
  /** The next request, decoded (tuples as `Tuple`s). */
  request(): Promise<unknown> {
    return this.conn.recv();
  }
  reply(kind: string, value: unknown): void {
    this.conn.send(tuple<unknown>(kind, value));
  }
  /** A reply exactly as CPython pickled it. */
  replyBytes(vector: string): void {
    this.conn.sendBytes(hex(vector));
  }
  /** Resolves once the client has closed this connection. */
  async closedByClient(): Promise<void> {
    await expect(this.conn.recv()).rejects.toBeInstanceOf(ConnectionClosedError);
  }
}

/** The scripted server: hands out the client's connections in the order they arrive. */
class ScriptedServer {
  readonly listener: Listener;
  constructor(listener: Listener) {
    this.listener = listener;
  }
  async next(): Promise<Peer> {
    const conn = await this.listener.accept();
    cleanup.push(() => conn.close());
    return new Peer(conn);
  }
  /** Answers one control request (one-shot: the server closes it after its reply, as CPython does). */
  async control(expected: unknown[], kind: string, value: unknown): Promise<Peer> {
    const peer = await this.next();
    expect(await peer.request()).toStrictEqual(tuple(...expected));
    peer.reply(kind, value);
    peer.conn.close();
    return peer;
  }
  /** Answers `accept_connection` on a new connection, which then carries method calls. */
  async objectConnection(): Promise<Peer> {
    const peer = await this.next();
    expect(await peer.request()).toStrictEqual(tuple<unknown>(null, 'accept_connection', tuple(`MainProcess|node-${process.pid}`), {}));
    peer.replyBytes(VECTORS.returnNone);
    return peer;
  }
}

async function scripted(options: Partial<ClassicClientOptions> = {}): Promise<{ client: ClassicClient; server: ScriptedServer }> {
  const listener = await Listener.listen(undefined, { authkey: KEY, serializer: 'pickle', handshakeTimeout: 2_000 });
  cleanup.push(() => listener.close());
  const server = new ScriptedServer(listener);
  const connecting = ClassicClient.connect(listener.address, { authkey: KEY, ...options });
  // connect() checks the authkey with `dummy`, as BaseManager.connect() does.
  await server.control([null, 'dummy', tuple(), {}], Reply.Return, null);
  const client = await connecting;
  cleanup.push(() => client.close());
  return { client, server };
}

/** Records unhandled rejections while `fn` runs and for a few turns after. */
async function withoutUnhandledRejections(fn: () => Promise<void>): Promise<void> {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', listener);
  try {
    await fn();
    await new Promise((r) => setTimeout(r, 50));
  } finally {
    process.off('unhandledRejection', listener);
  }
  expect(seen).toEqual([]);
}

describe('ClassicClient against a scripted CPython server', { timeout: 5_000 }, () => {
  describe('control connections', () => {
    it('each control request gets a connection of its own, closed after its one reply', async () => {
      const { client, server } = await scripted();
      const count = client.call(null, 'number_of_objects');
      const peer = await server.next();
      expect(await peer.request()).toStrictEqual(tuple<unknown>(null, 'number_of_objects', tuple(), {}));
      peer.reply(Reply.Return, 3);
      expect(await count).toBe(3);
      await peer.closedByClient(); // the client closes it too, without waiting for the server
      const info = client.call(null, 'debug_info');
      await server.control([null, 'debug_info', tuple(), {}], Reply.Return, '  7f01: refcount=1');
      expect(await info).toBe('  7f01: refcount=1');
    });

    it('create: (ident, exposed) becomes a reference to a Token at the address the client knows', async () => {
      const { client, server } = await scripted();
      const made = client.call(null, 'create', ['dict']);
      const peer = await server.next();
      expect(await peer.request()).toStrictEqual(tuple<unknown>(null, 'create', tuple('dict'), {}));
      peer.reply(Reply.Return, tuple<unknown>('7f01', tuple('__getitem__', 'keys')));
      const ref = (await made) as ObjectRef;
      expect(ref).toBeInstanceOf(ObjectRef);
      expect(ref.token).toEqual(new Token('dict', client.serverAddress, '7f01'));
      expect(ref.exposed).toEqual(['__getitem__', 'keys']);
      // One round trip, not CPython's create + incref + decref: no other connection is opened.
      await peer.closedByClient();
      client.decodeContext = { reviveRef: (r) => `proxy of ${r.token.id}` };
      const again = client.call(null, 'create', ['dict']);
      await server.control([null, 'create', tuple('dict'), {}], Reply.Return, tuple<unknown>('7f02', tuple()));
      expect(await again).toBe('proxy of 7f02');
    });

    it('a malformed create reply is a ProtocolError', async () => {
      const { client, server } = await scripted();
      const made = client.call(null, 'create', ['dict']);
      await server.control([null, 'create', tuple('dict'), {}], Reply.Return, 'not a pair');
      await expect(made).rejects.toBeInstanceOf(ProtocolError);
    });

    it('release() sends decref on a control connection of its own, one after another', async () => {
      const { client, server } = await scripted();
      client.release('7f01', 2);
      await server.control([null, 'decref', tuple('7f01'), {}], Reply.Return, null);
      await server.control([null, 'decref', tuple('7f01'), {}], Reply.Return, null);
    });

    it('#TRACEBACK on a control connection is a RemoteError named by its last line', async () => {
      const { client, server } = await scripted();
      const op = client.call(null, 'frobnicate');
      await server.control([null, 'frobnicate', tuple(), {}], Reply.Traceback, "Traceback (most recent call last):\nAttributeError: 'Server' object has no attribute 'frobnicate'\n");
      await expect(op).rejects.toBeInstanceOf(RemoteError);
      await expect(op).rejects.toMatchObject({ remoteType: 'AttributeError', remoteMessage: "'Server' object has no attribute 'frobnicate'" });
    });
  });

  describe('object connections', () => {
    it('accept_connection once, then method calls on that connection, reused call after call', async () => {
      const { client, server } = await scripted();
      const first = client.call('7f3a2c1b4d80', '__getitem__', ['k']);
      const peer = await server.objectConnection();
      // CPython's own bytes for this request.
      expect((await peer.conn.recvBytes()).equals(hex(VECTORS.getitem))).toBe(true);
      peer.reply(Reply.Return, 'v');
      expect(await first).toBe('v');
      const second = client.call('7f3a2c1b4d80', 'get', ['k', 0], { extra: true });
      expect(await peer.request()).toStrictEqual(tuple<unknown>('7f3a2c1b4d80', 'get', tuple<unknown>('k', 0), { extra: true }));
      peer.reply(Reply.Return, 1);
      expect(await second).toBe(1);
    });

    it('every reply kind: #RETURN, #ERROR (the exception\'s class), #TRACEBACK, #PROXY, #UNSERIALIZABLE', async () => {
      const { client, server } = await scripted();
      const ident = '7f3a2c1b4d80';
      const value = client.call(ident, 'value');
      const peer = await server.objectConnection();
      await peer.request();
      peer.reply(Reply.Return, tuple<unknown>(1, 'two', null));
      expect(await value).toStrictEqual(tuple<unknown>(1, 'two', null));

      const missing = client.call(ident, '__getitem__', ['missing']);
      await peer.request();
      peer.replyBytes(VECTORS.errorKeyError); // ('#ERROR', KeyError('missing'))
      await expect(missing).rejects.toBeInstanceOf(KeyError);
      await expect(missing).rejects.toMatchObject({ args: ['missing'] });

      const failed = client.call(ident, 'boom');
      await peer.request();
      const text = 'Traceback (most recent call last):\n  File "<stdin>", line 1, in boom\nZeroDivisionError: division by zero\n';
      peer.reply(Reply.Traceback, text);
      await expect(failed).rejects.toBeInstanceOf(RemoteError);
      await expect(failed).rejects.toMatchObject({ remoteType: 'ZeroDivisionError', remoteMessage: 'division by zero', remoteStack: text });

      const iterated = client.call(ident, '__iter__');
      await peer.request();
      peer.replyBytes(VECTORS.proxyReply); // ('#PROXY', (exposed, Token('Iterator', ('127.0.0.1', 47001), ...)))
      const ref = (await iterated) as ObjectRef;
      expect(ref).toBeInstanceOf(ObjectRef);
      expect(ref.exposed).toEqual(['__next__', 'send', 'throw', 'close']);
      // The server's token names its own idea of its address; the client reaches it where it connected.
      expect(ref.token).toEqual(new Token('Iterator', client.serverAddress, '7f81b8beb240'));

      // CPython sends format_exc() of the pickling error: a RemoteError named by its last line.
      const unpicklable = client.call(ident, 'lambda');
      await peer.request();
      const why = "Traceback (most recent call last):\n  File \"managers.py\", line 283, in serve_client\nAttributeError: Can't pickle local object 'f.<locals>.<lambda>'\n";
      peer.reply(Reply.Unserializable, why);
      await expect(unpicklable).rejects.toBeInstanceOf(RemoteError);
      await expect(unpicklable).rejects.toMatchObject({ remoteType: 'AttributeError', remoteMessage: "Can't pickle local object 'f.<locals>.<lambda>'" });
      await expect(unpicklable).rejects.toMatchObject({ remoteStack: `Unserializable message: ${why}` });

      // All of them were answers: the one object connection carries on.
      const last = client.call(ident, 'value');
      await peer.request();
      peer.reply(Reply.Return, 'still one connection');
      expect(await last).toBe('still one connection');
    });

    it('an unknown reply kind or a reply that is not a pair is a ProtocolError', async () => {
      const { client, server } = await scripted();
      const odd = client.call('o', 'm');
      const peer = await server.objectConnection();
      await peer.request();
      peer.reply('#WHAT', null);
      await expect(odd).rejects.toBeInstanceOf(ProtocolError);
      const notAPair = client.call('o', 'm');
      await peer.request();
      peer.conn.send(tuple<unknown>('#RETURN', 1, 2));
      await expect(notAPair).rejects.toBeInstanceOf(ProtocolError);
    });

    it('#RETURN with a proxy inside: the client increfs it on a control connection before handing it out', async () => {
      const { client, server } = await scripted();
      const got = client.call('7f01', 'get', [0]);
      const peer = await server.objectConnection();
      await peer.request();
      peer.replyBytes(VECTORS.returnListProxy); // ('#RETURN', RebuildProxy(ListProxy, Token('list', ..., '7f81b8c05300'), ...))
      await server.control([null, 'incref', tuple('7f81b8c05300'), {}], Reply.Return, null);
      const ref = (await got) as ObjectRef;
      expect(ref).toBeInstanceOf(ObjectRef);
      expect(ref.token.typeid).toBe('list');
      expect(ref.token.id).toBe('7f81b8c05300');
    });

    it('maxConnections bounds the pool: a second call waits for the first one\'s connection', async () => {
      const { client, server } = await scripted({ maxConnections: 1 });
      const first = client.call('o', 'slow');
      const peer = await server.objectConnection();
      const second = client.call('o', 'fast');
      expect(await peer.request()).toStrictEqual(tuple<unknown>('o', 'slow', tuple(), {}));
      peer.reply(Reply.Return, 'slow done');
      expect(await peer.request()).toStrictEqual(tuple<unknown>('o', 'fast', tuple(), {})); // the same connection
      peer.reply(Reply.Return, 'fast done');
      expect(await Promise.all([first, second])).toEqual(['slow done', 'fast done']);
    });
  });

  describe('abandoned calls', () => {
    it('a signal already aborted rejects with AbortError, closes the connection, and leaves no unhandled rejection', async () => {
      const { client, server } = await scripted();
      // An idle object connection first, so the aborted call goes out on it.
      const warm = client.call('o', 'value');
      const peer = await server.objectConnection();
      await peer.request();
      peer.reply(Reply.Return, 0);
      await warm;
      await withoutUnhandledRejections(async () => {
        const reason = new Error('stop');
        const call = client.call('o', 'wait', [], null, { signal: AbortSignal.abort(reason) });
        await expect(call).rejects.toBeInstanceOf(AbortError);
        await expect(call).rejects.toMatchObject({ cause: reason });
        await peer.request(); // it was sent before the abort was seen
        await peer.closedByClient();
      });
    });

    it('a signal aborted in a microtask rejects with AbortError and leaves no unhandled rejection', async () => {
      const { client, server } = await scripted();
      await withoutUnhandledRejections(async () => {
        const controller = new AbortController();
        const call = client.call('o', 'wait', [], null, { signal: controller.signal });
        queueMicrotask(() => controller.abort());
        // The call still opens its object connection (the abort is seen once its request is out), and
        // then drops it.
        const serving = server.objectConnection();
        await expect(call).rejects.toBeInstanceOf(AbortError);
        const peer = await serving;
        expect(await peer.request()).toStrictEqual(tuple<unknown>('o', 'wait', tuple(), {}));
        await peer.closedByClient();
      });
    });

    it('a control request aborted leaves no unhandled rejection either', async () => {
      const { client, server } = await scripted();
      await withoutUnhandledRejections(async () => {
        const call = client.call(null, 'number_of_objects', [], null, { signal: AbortSignal.abort() });
        const rejected = expect(call).rejects.toBeInstanceOf(AbortError);
        const peer = await server.next();
        await rejected;
        await peer.request();
        await peer.closedByClient();
      });
    });

    it('a timed-out call closes its connection: its late reply is never read by the next call', async () => {
      const { client, server } = await scripted({ maxConnections: 1 });
      const slow = client.call('o', 'slow', [], null, { timeout: 0.05 });
      const first = await server.objectConnection();
      expect(await first.request()).toStrictEqual(tuple<unknown>('o', 'slow', tuple(), {}));
      await expect(slow).rejects.toBeInstanceOf(TimeoutError);
      await first.closedByClient();
      try {
        first.reply(Reply.Return, 'late reply to slow'); // too late: nobody reads it
      } catch {
        // the connection may already refuse to send
      }
      // The pool had room for one connection; the dropped one no longer counts, so a new one opens.
      const next = client.call('o', 'fast');
      const second = await server.objectConnection();
      expect(await second.request()).toStrictEqual(tuple<unknown>('o', 'fast', tuple(), {}));
      second.reply(Reply.Return, 'reply to fast');
      expect(await next).toBe('reply to fast');
    });
  });

  describe('closing', () => {
    it('close() closes the idle connections; later calls reject with ConnectionClosedError', async () => {
      const { client, server } = await scripted();
      const closed: Error[] = [];
      client.onClose((err) => closed.push(err));
      const warm = client.call('o', 'value');
      const peer = await server.objectConnection();
      await peer.request();
      peer.reply(Reply.Return, 0);
      await warm;
      const closing = client.close();
      await peer.closedByClient();
      peer.conn.close();
      await closing;
      expect(client.closed).toBe(true);
      expect(closed).toHaveLength(1);
      expect(closed[0]).toBeInstanceOf(ConnectionClosedError);
      await expect(client.call('o', 'value')).rejects.toBeInstanceOf(ConnectionClosedError);
      await expect(client.call(null, 'dummy')).rejects.toBeInstanceOf(ConnectionClosedError);
      await client.close(); // idempotent
    });

    it('a call waiting for a pooled connection rejects with ConnectionClosedError on close()', async () => {
      const { client, server } = await scripted({ maxConnections: 1 });
      const busy = client.call('o', 'slow');
      const peer = await server.objectConnection();
      await peer.request();
      const waiting = client.call('o', 'value');
      await client.close();
      await expect(waiting).rejects.toBeInstanceOf(ConnectionClosedError);
      peer.reply(Reply.Return, 'slow done');
      expect(await busy).toBe('slow done'); // a call already on the wire still gets its reply
      await peer.closedByClient(); // and its connection is closed, not pooled
    });

    it('the server closing an object connection mid-call rejects that call with ConnectionClosedError', async () => {
      const { client, server } = await scripted();
      const call = client.call('o', 'wait');
      const peer = await server.objectConnection();
      await peer.request();
      peer.conn.close();
      await expect(call).rejects.toBeInstanceOf(ConnectionClosedError);
    });
  });
});
