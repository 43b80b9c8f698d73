/**
 * The client end of CPython's classic dialect, for stock CPython manager servers
 * (`serializer: 'pickle'`; the table is in ./classic.ts, facts in cpython-wire.md §3).
 *
 * - Server operations go over one-shot control connections, as CPython requires (its server closes them
 *   after one reply). Creating a proxy costs one of them, not three: CPython's client increfs and then
 *   decrefs right away, which nets to nothing; we keep the reference `create` gave us.
 * - Method calls go over object connections (`accept_connection`), one request at a time each, as the
 *   protocol allows; a small pool of them lets calls from one process run concurrently (CPython's
 *   server gives each connection its own thread), and idle ones are reused.
 * - A call that is aborted or times out closes its connection: CPython has no request ids, so the
 *   late reply would otherwise be read by the next call (cpython-wire.md §6).
 * - Every socket has Nagle off, which removes CPython's ~40 ms stall per new connection.
 */
import { pickle } from '../codec/pickle/index.js';
import type { DecodeContext } from '../codec/types.js';
import { Client, securityOf, type Connection, type SecurityOptions } from '../connection/index.js';
import { ConnectionClosedError, ProtocolError, RemoteError } from '../errors.js';
import type { Address } from '../transport/address.js';
import { Reply, request, tracebackError } from './classic.js';
import { armCall, isArmed, type CallOptions, type ManagerClient } from './client.js';
import { ObjectRef } from '../codec/ref.js';
import { Token } from '../codec/token.js';

export interface ClassicClientOptions extends SecurityOptions {
  authkey: string | Uint8Array;
  /** Bound on each handshake, in milliseconds. Default 10 000. */
  handshakeTimeout?: number | undefined;
  /** Largest frame accepted. Default 64 MiB. */
  maxFrameSize?: number | undefined;
  /** Object connections kept open at most (calls beyond wait for one). Default 8. */
  maxConnections?: number | undefined;
  /** Shown to the server in `accept_connection`. Default `MainProcess|node-<pid>`. */
  name?: string | undefined;
}

export class ClassicClient implements ManagerClient {
  readonly serverAddress: Address;
  decodeContext: DecodeContext = {};
  readonly #options: ClassicClientOptions;
  readonly #idle: Connection[] = [];
  readonly #waiting: Array<(conn: Connection | Error) => void> = [];
  #open = 0;
  #closedError: Error | null = null;
  #closeListeners = new Set<(error: Error) => void>();
  /** Decrefs go out one after another in the background. */
  #releases: Promise<void> = Promise.resolve();

  private constructor(address: Address, options: ClassicClientOptions) {
    this.serverAddress = address;
    this.#options = options;
  }

  /** Connects to a stock CPython manager (checking the authkey with `dummy`, as `BaseManager.connect()` does). */
  static async connect(address: Address, options: ClassicClientOptions): Promise<ClassicClient> {
    const client = new ClassicClient(address, options);
    await client.call(null, 'dummy');
    return client;
  }

  get closed(): boolean {
    return this.#closedError !== null;
  }

  #encryption: string | null = null;
  /** How this client's latest connection is protected (each call may use another connection). */
  get encryption(): string | null {
    return this.#encryption;
  }

  async call(ident: string | null, method: string, args: readonly unknown[] = [], kwds: Record<string, unknown> | null = null, options?: CallOptions, holder?: unknown): Promise<unknown> {
    if (this.#closedError) throw this.#closedError;
    const message = request(ident, method, args, kwds);
    if (ident === null) {
      const result = await this.#control(message, options);
      return method === 'create' ? this.#created(String(args[0]), result) : result;
    }
    const conn = await this.#acquire();
    const refs: ObjectRef[] = [];
    let reply: unknown;
    try {
      conn.send(message);
      reply = await this.#receive(conn, options, refs);
    } catch (err) {
      // The connection may still carry this call's reply: never reuse it.
      conn.destroy();
      this.#dropped();
      throw err;
    }
    this.#releaseConn(conn);
    // Read after the awaits, so `holder` (the calling proxy) stays reachable until the reply is in and
    // its finalizer cannot release the object mid-call.
    void holder;
    return this.#unwrap(reply, refs);
  }

  /** `create` answers `(ident, exposed)`; the manager wants the proxy. */
  #created(typeid: string, result: unknown): unknown {
    if (!Array.isArray(result) || typeof result[0] !== 'string' || !Array.isArray(result[1])) throw new ProtocolError('malformed create reply');
    const ref = new ObjectRef(new Token(typeid, this.serverAddress, result[0]), result[1] as string[]);
    return this.decodeContext.reviveRef ? this.decodeContext.reviveRef(ref) : ref;
  }

  release(ident: string, count = 1): void {
    if (this.#closedError) return;
    for (let i = 0; i < count; i++) {
      this.#releases = this.#releases.then(
        () => this.#control(request(null, 'decref', [ident])).then(() => undefined),
        () => undefined,
      ).catch(() => undefined);
    }
  }

  onClose(fn: (error: Error) => void): () => void {
    this.#closeListeners.add(fn);
    return () => this.#closeListeners.delete(fn);
  }

  async close(): Promise<void> {
    if (this.#closedError) return;
    this.#closedError = new ConnectionClosedError('the manager connection was closed');
    const closing = this.#idle.splice(0).map((conn) => conn.closeAndWait());
    for (const w of this.#waiting.splice(0)) w(this.#closedError);
    for (const fn of this.#closeListeners) fn(this.#closedError);
    await Promise.all(closing);
  }

  async #connect(): Promise<Connection> {
    const o = this.#options;
    const conn = await Client(this.serverAddress, {
      authkey: o.authkey,
      serializer: 'pickle',
      handshakeTimeout: o.handshakeTimeout,
      maxFrameSize: o.maxFrameSize,
      ...securityOf(o),
    });
    this.#encryption = conn.encryption;
    return conn;
  }

  /** One request on its own control connection. */
  async #control(message: unknown, options?: CallOptions): Promise<unknown> {
    const conn = await this.#connect();
    const refs: ObjectRef[] = [];
    try {
      conn.send(message);
      return await this.#unwrap(await this.#receive(conn, options, refs), refs);
    } finally {
      conn.close();
    }
  }

  async #acquire(): Promise<Connection> {
    const idle = this.#idle.pop();
    if (idle) return idle;
    if (this.#open < (this.#options.maxConnections ?? 8)) {
      this.#open++;
      try {
        const conn = await this.#connect();
        conn.send(request(null, 'accept_connection', [this.#options.name ?? `MainProcess|node-${process.pid}`]));
        await this.#unwrap(await this.#receive(conn, undefined, []), []);
        return conn;
      } catch (err) {
        this.#open--;
        throw err;
      }
    }
    const next = await new Promise<Connection | Error>((resolve) => this.#waiting.push(resolve));
    if (next instanceof Error) throw next;
    return next;
  }

  #releaseConn(conn: Connection): void {
    const waiter = this.#waiting.shift();
    if (waiter) waiter(conn);
    else if (this.#closedError) conn.close();
    else this.#idle.push(conn);
  }

  /** A connection was thrown away: a waiter may open a new one. */
  #dropped(): void {
    this.#open--;
    const waiter = this.#waiting.shift();
    if (waiter) this.#acquire().then(waiter, (err: Error) => waiter(err));
  }

  #receive(conn: Connection, options: CallOptions | undefined, refs: ObjectRef[]): Promise<unknown> {
    const context: DecodeContext = {
      reviveRef: (ref) => {
        refs.push(ref);
        return ref;
      },
    };
    const reply = conn.recv(context);
    if (!isArmed(options)) return reply;
    return new Promise((resolve, reject) => {
      const disarm = armCall(options, reject);
      // Always handled: once the call is abandoned, closing its connection rejects `reply` too.
      reply.then(
        (v) => {
          disarm();
          resolve(v);
        },
        (e: unknown) => {
          disarm();
          reject(e);
        },
      );
    });
  }

  /**
   * Turns a `(kind, result)` reply into a value or an error. References inside a value are counted for
   * us with an incref, as CPython's `RebuildProxy` does, before they become proxies.
   */
  async #unwrap(reply: unknown, refs: readonly ObjectRef[]): Promise<unknown> {
    if (!Array.isArray(reply) || reply.length !== 2 || typeof reply[0] !== 'string') throw new ProtocolError('malformed reply from the CPython manager');
    const [kind, result] = reply as [string, unknown];
    switch (kind) {
      case Reply.Return: {
        if (refs.length === 0) return result;
        for (const ref of refs) await this.#control(request(null, 'incref', [ref.token.id]));
        return this.#revive(result, new Set(refs));
      }
      case Reply.Proxy: {
        const [exposed, token] = result as [unknown, unknown];
        if (!(token instanceof Token) || !Array.isArray(exposed)) throw new ProtocolError('malformed #PROXY reply');
        // The server's token carries its own idea of its address; we reach it at ours (as CPython does).
        const ref = new ObjectRef(new Token(token.typeid, this.serverAddress, token.id), exposed as string[]);
        return this.decodeContext.reviveRef ? this.decodeContext.reviveRef(ref) : ref;
      }
      case Reply.Error:
        throw result instanceof Error ? result : new RemoteError('Exception', String(result));
      case Reply.Traceback:
        throw tracebackError(String(result));
      case Reply.Unserializable:
        throw tracebackError(`Unserializable message: ${String(result)}`);
      default:
        throw new ProtocolError(`Unrecognized message type '${kind}'`);
    }
  }

  /** Replaces the references found while decoding with proxies (walks only the containers that hold them). */
  #revive(value: unknown, refs: ReadonlySet<ObjectRef>): unknown {
    if (value instanceof ObjectRef && refs.has(value)) return this.decodeContext.reviveRef ? this.decodeContext.reviveRef(value) : value;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) value[i] = this.#revive(value[i], refs);
    } else if (value instanceof Map) {
      for (const [k, v] of value) value.set(k, this.#revive(v, refs));
    } else if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
      const obj = value as Record<string, unknown>;
      for (const k of Object.keys(obj)) obj[k] = this.#revive(obj[k], refs);
    }
    return value;
  }
}
