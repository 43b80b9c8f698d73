/**
 * `Listener` and `Client`, as CPython's, with one deliberate difference: the handshake of each new
 * connection runs on its own, under a timeout, so a peer that connects and says nothing (or fails to
 * authenticate) never delays anyone else. CPython runs it inside `accept()`, where a silent peer blocks
 * the accept loop forever and a failed one raises out of it (cpython-wire.md §1.4, §6).
 */
import { DEFAULT_LIMITS, type LimitOptions } from '../limits.js';
import { EventEmitter } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { debuglog } from 'node:util';
import type { Codec } from '../codec/index.js';
import { ChannelError, ChannelFault, ConnectionClosedError, InvalidArgumentError, StateError } from '../errors.js';
import { checkPolicy, checkSuites } from '../channel/policy.js';
import type { Address } from '../transport/address.js';
import { checkAddress, formatAddress, formatPeer, isWildcardAddress } from '../transport/address.js';
import { connectTransport, listenTransport } from '../transport/index.js';
import type { Transport, TransportServer } from '../transport/types.js';
import type { WebSocketListenOptions } from '../transport/types.js';
import { MemoryTransport } from '../transport/memory.js';
import { Connection, type HandshakeOptions, type SecurityOptions } from './connection.js';
import { NODE_RUNTIME } from './node-runtime.js';

export interface ListenerOptions extends HandshakeOptions, SecurityOptions, WebSocketListenOptions, LimitOptions<'backlog' | 'maxFrameSize' | 'writeHighWaterMark'> {
  /** Shared secret; when given, every connection must pass the handshake. Default: none (no authentication). */
  authkey?: string | Uint8Array | null | undefined;
  /**
   * Codec for `send`/`recv` on accepted connections. Default `'auto'`: a stock Python client's pickles are
   * recognised and answered in pickle, mpmanager clients' msgpack in msgpack.
   */
  serializer?: string | Codec | undefined;
}

/**
 * With `encryption: 'require'`, a stock CPython client (which cannot encrypt) is closed right after its
 * handshake (a `handshakeError`), so a bare `Client()` sees the connection end. A manager server sets
 * this to receive such clients instead and tell them why in their own dialect.
 * @internal
 */
export const ACCEPT_PLAINTEXT = Symbol('mpmanager.acceptPlaintext');

const debug = debuglog('mpmanager');

/** A fresh Unix socket path in the temp directory, as CPython's `arbitrary_address('AF_UNIX')`. */
export function arbitraryAddress(): string {
  return join(tmpdir(), `mpm-listener-${process.pid}-${randomBytes(6).toString('hex')}`);
}

export interface ListenerEvents {
  /** A connection failed its handshake (wrong authkey, timeout, protocol error); it was closed. */
  handshakeError: [error: Error, peer: Address];
}

export class Listener extends EventEmitter<ListenerEvents> implements AsyncIterable<Connection> {
  readonly #server: TransportServer;
  readonly #options: ListenerOptions;
  #ready: Connection[] = [];
  #acceptors: Array<{ resolve(c: Connection): void; reject(e: Error): void }> = [];
  #closed = false;
  #lastAccepted: Address | null = null;
  readonly backlog: number;

  private constructor(server: TransportServer, options: ListenerOptions) {
    super();
    this.#server = server;
    this.#options = options;
    this.backlog = options.backlog ?? DEFAULT_LIMITS.backlog;
  }

  /** Binds and listens. With no address, a fresh Unix socket path is used, as in CPython. */
  static async listen(address: Address = arbitraryAddress(), options: ListenerOptions = {}): Promise<Listener> {
    address = checkAddress(address);
    let listener: Listener | undefined;
    const pending: Transport[] = [];
    checkSecurity(options);
    const transportOptions = {
      backlog: options.backlog,
      maxFrameSize: options.maxFrameSize,
      writeHighWaterMark: options.writeHighWaterMark,
      handshakeTimeout: options.handshakeTimeout,
      tls: options.tls,
      httpServer: options.httpServer,
      allowedOrigins: options.allowedOrigins,
    };
    const server = await listenTransport(address, transportOptions, (transport) => {
      if (listener) listener.#onTransport(transport);
      else pending.push(transport);
    });
    listener = new Listener(server, options);
    if (debug.enabled) {
      const every = isWildcardAddress(server.address) ? ' (every interface: any host that can reach this machine may connect)' : '';
      debug('listening on %s%s', formatAddress(server.address), every);
    }
    for (const t of pending) listener.#onTransport(t);
    return listener;
  }

  /** The bound address, with port 0 resolved. */
  get address(): Address {
    return this.#server.address;
  }

  /** The peer address of the last accepted connection (`''` for Unix sockets). */
  get lastAccepted(): Address | null {
    return this.#lastAccepted;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The next authenticated connection. */
  accept(): Promise<Connection> {
    if (this.#closed) return Promise.reject(new StateError('listener is closed'));
    const conn = this.#ready.shift();
    if (conn) return Promise.resolve(this.#hand(conn));
    return new Promise((resolve, reject) => this.#acceptors.push({ resolve, reject }));
  }

  /** Stops listening (unlinking a Unix socket path). Accepted connections stay open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const a of this.#acceptors.splice(0)) a.reject(new ConnectionClosedError('listener is closed'));
    for (const c of this.#ready.splice(0)) c.close();
    await this.#server.close();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Connection> {
    while (!this.#closed) {
      try {
        yield await this.accept();
      } catch (err) {
        if (this.#closed) return;
        throw err;
      }
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #hand(conn: Connection): Connection {
    this.#lastAccepted = conn.peerAddress;
    return conn;
  }

  async #onTransport(transport: Transport): Promise<void> {
    if (this.#closed) {
      transport.destroy();
      return;
    }
    const conn = new Connection(transport, { serializer: this.#options.serializer ?? 'auto' }, NODE_RUNTIME);
    const authkey = this.#options.authkey;
    if (authkey !== undefined && authkey !== null) {
      try {
        await conn.acceptHandshake(authkey, this.#options);
        if (this.#options.encryption === 'require' && conn.encryption === null && !(this.#options as { [ACCEPT_PLAINTEXT]?: boolean })[ACCEPT_PLAINTEXT]) {
          conn.close();
          throw new ChannelError(ChannelFault.Policy, 'a stock CPython client connected, which cannot encrypt, and this listener requires encryption: it was closed');
        }
      } catch (err) {
        debug('handshake failed with %s over %s: %s', formatPeer(transport.peerAddress, this.address), transport.kind, (err as Error).message);
        if (this.listenerCount('handshakeError') > 0) this.emit('handshakeError', err as Error, transport.peerAddress);
        return;
      }
    }
    if (this.#closed) {
      conn.close();
      return;
    }
    const acceptor = this.#acceptors.shift();
    if (acceptor) acceptor.resolve(this.#hand(conn));
    else this.#ready.push(conn);
  }
}

/**
 * Checks an endpoint's encryption options before anything is bound or connected: the policy and suites
 * are known ones, and `'require'` has something to encrypt with (the channel's keys come from the
 * authkey; TLS needs none).
 */
function checkSecurity(options: ListenerOptions | ClientOptions): void {
  checkPolicy(options.encryption);
  checkSuites(options.encryptionSuites);
  if (options.encryption === 'require' && (options.authkey === undefined || options.authkey === null) && options.tls === undefined) {
    throw new InvalidArgumentError("encryption 'require' needs an authkey (the channel's keys come from it) or tls");
  }
}

export interface ClientOptions extends HandshakeOptions, SecurityOptions, LimitOptions<'maxFrameSize'> {
  /** Shared secret; when given, the handshake runs. Default: none. */
  authkey?: string | Uint8Array | null | undefined;
  /** Codec for `send`/`recv`. Default `'msgpack'`; `'pickle'` talks to a stock Python `Listener`. */
  serializer?: string | Codec | undefined;
}

/** Connects to a `Listener` (ours or CPython's) and authenticates if an authkey is given. */
export async function Client(address: Address, options: ClientOptions = {}): Promise<Connection> {
  address = checkAddress(address);
  checkSecurity(options);
  const transport = await connectTransport(address, { maxFrameSize: options.maxFrameSize, handshakeTimeout: options.handshakeTimeout, tls: options.tls });
  const conn = new Connection(transport, { serializer: options.serializer }, NODE_RUNTIME);
  if (options.authkey !== undefined && options.authkey !== null) await conn.connectHandshake(options.authkey, options);
  return conn;
}

/**
 * A connected pair of connections in this process (CPython's `Pipe`). With `duplex` false, the first
 * can only receive and the second can only send.
 */
export function Pipe(duplex = true, options: { serializer?: string | Codec } = {}): [Connection, Connection] {
  const [a, b] = MemoryTransport.pair();
  if (duplex) return [new Connection(a, options, NODE_RUNTIME), new Connection(b, options, NODE_RUNTIME)];
  return [new Connection(a, { ...options, writable: false }, NODE_RUNTIME), new Connection(b, { ...options, readable: false }, NODE_RUNTIME)];
}

