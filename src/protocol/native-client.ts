/**
 * The client end of the native dialect (layout in ./native.ts): one connection to one server, many calls
 * in flight, each reply matched to its call by id. A call that is cancelled or times out is answered
 * locally at once and its late reply, if any, is dropped by id, so the connection stays usable.
 */
import { msgpack } from '../codec/msgpack.js';
import type { DecodeContext } from '../codec/types.js';
import { securityOf, type Connection, type SecurityOptions } from '../connection/connection.js';
import type { ClientOptions } from '../connection/listener.js';
import { ConnectionClosedError, DecodeBudgetError, DigitLimitError, InvalidArgumentError, ProtocolError, remoteError } from '../errors.js';
import { Peer } from '../connection/auth.js';
import { formatAddress, type Address } from '../transport/address.js';
import { BlobInbox, ClientKind, NATIVE_MAGIC, NATIVE_VERSION, ServerKind, peekCallId, sendWithBlobs, type Hello } from './native.js';
import { ObjectRef } from '../codec/ref.js';
import { armCall, isArmed, type CallOptions, type ManagerClient } from './client.js';

export type { CallOptions } from './client.js';

/**
 * Opens an authenticated connection to `address`: Node's `Client` (src/connection/listener.ts), or the
 * browser entry's WebSocket one (src/browser.ts). The protocol above is the same.
 */
export type Dial = (address: Address, options: ClientOptions) => Promise<Connection>;

/** This client's default name: `node-<pid>` in Node, `browser` in a page. */
export function defaultClientName(): string {
  const pid = (globalThis as { process?: { pid?: number } }).process?.pid;
  return pid === undefined ? 'browser' : `node-${pid}`;
}

export interface NativeClientOptions extends SecurityOptions {
  /** How connections are opened (see `Dial`). */
  dial: Dial;
  authkey: string | Uint8Array;
  /** Bound on the handshake, in milliseconds. Default 10 000. */
  handshakeTimeout?: number | undefined;
  /** Largest frame accepted. Default 64 MiB. */
  maxFrameSize?: number | undefined;
  /** Shown to the server as the client's name. */
  name?: string | undefined;
  /** Lets this client shut the server down (given by the process that started it). */
  shutdownKey?: string | undefined;
  /**
   * What the calls in flight reject with when the connection drops (the server went away, not `close()`),
   * given the connection-closed error. Default: that error itself. The reconnecting client
   * (./reconnecting-client.ts) makes it a retryable `ConnectionLostError`.
   */
  lostCallError?: ((closed: ConnectionClosedError) => Error) | undefined;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  /** Kept alive while the call runs (a proxy must not be finalized while it has calls in flight). */
  holder: unknown;
  cleanup: (() => void) | null;
  /** Decodes this call's reply instead of the client's `decodeContext` (`callDecoding`), or null. */
  context: DecodeContext | null;
}

/** A call answered here (cancelled or timed out) whose reply the server has still to send. */
const ANSWERED = Symbol('answered locally');

export class NativeClient implements ManagerClient {
  readonly #conn: Connection;
  /**
   * Calls by id: an id is a slot, and goes back to `#free` only once the server has replied (it replies to
   * every call, a cancelled one too). So a late reply can never reach another call, ids stay small, and
   * there is no table to rehash as ids go by (a `Map` keyed by ever-growing ids was 40 % of what the
   * pipelined benchmark client kept past a minor GC).
   */
  readonly #slots: Array<Pending | typeof ANSWERED | undefined> = [undefined]; // ids start at 1
  readonly #free: number[] = [];
  #inFlight = 0;
  #closedError: Error | null = null;
  /** Set by `close()`: calls in flight then reject with the closed error, never `#lostCallError`'s. */
  #closing = false;
  readonly #lostCallError: ((closed: ConnectionClosedError) => Error) | null;
  #closeListeners = new Set<(error: Error) => void>();
  /** The server's own address (what its tokens carry). */
  readonly serverAddress: Address;
  readonly serverPid: number;
  /** Turns references in replies into proxies; set by the manager that owns this client. */
  decodeContext: DecodeContext = {};
  /** Large binaries in a call's arguments are set aside here and sent as blob frames. */
  readonly #encodeContext = { blobs: [] as Uint8Array[] };
  readonly #blobs = new BlobInbox();

  private constructor(conn: Connection, welcome: { address: Address; pid: number }, lostCallError: ((closed: ConnectionClosedError) => Error) | undefined) {
    this.#conn = conn;
    this.#lostCallError = lostCallError ?? null;
    this.serverAddress = welcome.address;
    this.serverPid = welcome.pid;
    conn.detach({
      frame: (frame) => this.#onFrame(frame),
      closed: (error) => this.#onClosed(error ?? new ConnectionClosedError('the manager server closed the connection')),
    });
  }

  /**
   * Connects to an mpmanager server. A stock CPython manager speaks pickle only, and its handshake says so
   * (auth.ts: its challenge lacks mpmanager's mark): that fails at once with `InvalidArgumentError`, before
   * any frame is sent, rather than with a broken connection on both sides.
   */
  static async connect(address: Address, options: NativeClientOptions): Promise<NativeClient> {
    const client = await NativeClient.connectIfNative(address, options);
    if (client === null) {
      // Nothing went wrong on the wire: the caller asked for a dialect this server does not speak.
      throw new InvalidArgumentError(
        `the server at ${formatAddress(address)} is a CPython manager: it speaks pickle; pass serializer: 'pickle' (or leave serializer unset)`,
      );
    }
    return client;
  }

  /**
   * Connects, and learns from the handshake which dialect the server speaks: an mpmanager server gets the
   * native hello on this same connection; for any other (a stock CPython manager) the connection is closed
   * right after the handshake, with no frame sent (CPython's server ends that thread quietly), and the
   * result is null: the caller speaks the classic dialect instead.
   */
  static async connectIfNative(address: Address, options: NativeClientOptions): Promise<NativeClient | null> {
    const conn = await options.dial(address, {
      authkey: options.authkey,
      handshakeTimeout: options.handshakeTimeout,
      maxFrameSize: options.maxFrameSize,
      ...securityOf(options),
    });
    if (conn.peer !== Peer.Mpmanager) {
      conn.close();
      return null;
    }
    const hello: Hello = { name: options.name ?? defaultClientName() };
    if (options.shutdownKey) hello.shutdownKey = options.shutdownKey;
    try {
      conn.sendBytes(msgpack.encode([NATIVE_MAGIC, NATIVE_VERSION, hello]));
      const reply = msgpack.decode(await conn.recvBytes()) as unknown[];
      if (!Array.isArray(reply) || reply[0] !== NATIVE_MAGIC || reply[1] !== NATIVE_VERSION || typeof reply[2] !== 'object' || reply[2] === null) {
        throw new ProtocolError('the server did not answer the native hello; is it an mpmanager server?');
      }
      // A server that refuses this connection (a connection limit) says why in place of its welcome.
      const refused = (reply[2] as { refused?: unknown }).refused;
      if (Array.isArray(refused) && typeof refused[0] === 'string' && typeof refused[1] === 'string') throw remoteError(refused[0], refused[1]);
      return new NativeClient(conn, reply[2] as { address: Address; pid: number }, options.lostCallError);
    } catch (err) {
      conn.close();
      if (err instanceof ConnectionClosedError) {
        throw new ProtocolError('the server closed the connection after the handshake; it may not speak the native dialect (a CPython manager needs serializer: "pickle")', { cause: err });
      }
      throw err;
    }
  }

  get closed(): boolean {
    return this.#closedError !== null;
  }

  /** How the connection is protected: the channel's cipher suite, TLS's description, or null in clear. */
  get encryption(): string | null {
    return this.#conn.encryption;
  }

  /** Calls in flight. */
  get pendingCalls(): number {
    return this.#inFlight;
  }

  /**
   * Calls `method` on object `ident` (or a server operation when `ident` is null).
   * `holder` is kept reachable until the call settles.
   */
  call(ident: string | null, method: string, args: readonly unknown[] = [], kwds: Record<string, unknown> | null = null, options?: CallOptions, holder?: unknown): Promise<unknown> {
    return this.#call(ident, method, args, kwds, options, holder, null);
  }

  /**
   * `call`, decoding its reply with `context` instead of this client's `decodeContext`: the reconnecting
   * client re-binds shared objects with it, taking the references a `create` returns without making
   * proxies of them.
   */
  callDecoding(context: DecodeContext, ident: string | null, method: string, args: readonly unknown[] = [], kwds: Record<string, unknown> | null = null, options?: CallOptions): Promise<unknown> {
    return this.#call(ident, method, args, kwds, options, undefined, context);
  }

  #call(ident: string | null, method: string, args: readonly unknown[], kwds: Record<string, unknown> | null, options: CallOptions | undefined, holder: unknown, context: DecodeContext | null): Promise<unknown> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    const id = this.#free.pop() ?? this.#slots.length;
    let frame: Uint8Array;
    try {
      frame = msgpack.encode([ClientKind.Call, id, ident, method, args, kwds], this.#encodeContext);
    } catch (err) {
      this.#encodeContext.blobs.length = 0;
      this.#free.push(id);
      return Promise.reject(err);
    }
    const armed = isArmed(options);
    const blobs = this.#encodeContext.blobs;
    if (armed && blobs.length > 0) {
      // This call can settle (aborted, timed out) while its blobs still wait in the socket's queue: send
      // copies, so the caller may reuse its buffers as soon as the call settles.
      for (let i = 0; i < blobs.length; i++) blobs[i] = Uint8Array.prototype.slice.call(blobs[i] as Uint8Array);
    }
    return new Promise((resolve, reject) => {
      const pending: Pending = { resolve, reject, holder, cleanup: null, context };
      if (armed) this.#arm(id, pending, options as CallOptions);
      this.#slots[id] = pending;
      this.#inFlight++;
      try {
        sendWithBlobs(this.#conn.transport, frame, this.#encodeContext);
      } catch (err) {
        this.#encodeContext.blobs.length = 0;
        this.#take(id)?.reject(err as Error); // never sent: no reply will come
      }
    });
  }

  /** Drops `count` references this client holds on object `ident` (no reply). */
  release(ident: string, count = 1): void {
    if (this.#closedError) return;
    try {
      this.#conn.transport.send(msgpack.encode([ClientKind.Release, ident, count]));
    } catch {
      // closed meanwhile: the server releases everything this connection held
    }
  }

  /** Calls `fn` once when the connection closes (with the reason). */
  onClose(fn: (error: Error) => void): () => void {
    if (this.#closedError) {
      queueMicrotask(() => fn(this.#closedError as Error));
      return () => {};
    }
    this.#closeListeners.add(fn);
    return () => this.#closeListeners.delete(fn);
  }

  /** Closes the connection; calls in flight reject with `ConnectionClosedError`. */
  async close(): Promise<void> {
    this.#closing = true;
    const closing = this.#conn.closeAndWait();
    this.#onClosed(new ConnectionClosedError('the manager connection was closed'));
    await closing;
  }

  #arm(id: number, pending: Pending, options: CallOptions): void {
    pending.cleanup = armCall(options, (error) => {
      const pending = this.#slots[id];
      if (pending === undefined || pending === ANSWERED) return;
      this.#slots[id] = ANSWERED;
      this.#inFlight--;
      pending.reject(error);
      try {
        this.#conn.transport.send(msgpack.encode([ClientKind.Cancel, id]));
      } catch {
        // closed: nothing to cancel
      }
    });
  }

  /** Frees call `id`'s slot; returns its call if still waiting (null if answered here, or unknown). */
  #take(id: number): Pending | null {
    const pending = this.#slots[id];
    if (pending === undefined) return null;
    this.#slots[id] = undefined;
    this.#free.push(id);
    if (pending === ANSWERED) return null;
    this.#inFlight--;
    pending.cleanup?.();
    return pending;
  }

  #onFrame(frame: Uint8Array): void {
    let context: DecodeContext | null;
    try {
      context = this.#blobs.receive(frame, this.decodeContext, this.#conn.transport.maxFrameSize);
    } catch (err) {
      this.#conn.destroy(err as Error);
      return;
    }
    if (context === null) return; // a blob, kept for the message after it
    const callId = peekCallId(frame);
    if (callId >= 0) {
      const pending = this.#slots[callId];
      if (pending === undefined || pending === ANSWERED) {
        this.#take(callId);
        this.#dropReply(frame, context.blobs);
        return;
      }
      if (pending.context !== null) context = context === this.decodeContext ? pending.context : { ...pending.context, blobs: context.blobs };
    }
    let msg: unknown;
    try {
      msg = msgpack.decode(frame, context);
    } catch (err) {
      // A reply over this side's decode budget fails its own call; the connection goes on (references in
      // it stay held until the connection closes).
      if ((err instanceof DecodeBudgetError || err instanceof DigitLimitError) && callId >= 0) this.#take(callId)?.reject(err);
      else this.#conn.destroy(new ProtocolError(`undecodable reply from the server: ${(err as Error).message}`));
      return;
    }
    if (!Array.isArray(msg) || typeof msg[1] !== 'number') {
      this.#conn.destroy(new ProtocolError('malformed reply from the server'));
      return;
    }
    const pending = this.#take(msg[1]);
    if (!pending) return; // a cancelled or timed-out call: its reply is dropped, never given to another call
    if (msg[0] === ServerKind.Return) pending.resolve(msg[2]);
    else if (msg[0] === ServerKind.Error) pending.reject(msg[2] instanceof Error ? msg[2] : new ProtocolError('malformed error reply'));
    else pending.reject(new ProtocolError(`unknown reply kind ${String(msg[0])}`));
  }

  /**
   * The reply of a call that was cancelled or timed out: it is dropped, never given to another call. The
   * server counted every reference in it as held by this connection (an aborted `create` still created),
   * so those are given back at once instead of becoming proxies that only the garbage collector releases.
   */
  #dropReply(frame: Uint8Array, blobs: readonly Uint8Array[] | undefined): void {
    const refs: ObjectRef[] = [];
    try {
      msgpack.decode(frame, { reviveRef: (ref) => (refs.push(ref), ref), blobs });
    } catch (err) {
      this.#conn.destroy(new ProtocolError(`undecodable reply from the server: ${(err as Error).message}`));
      return;
    }
    for (const ref of refs) this.release(ref.token.id);
  }

  #onClosed(error: Error): void {
    if (this.#closedError) return;
    const closed = error instanceof ConnectionClosedError ? error : new ConnectionClosedError(`the manager connection failed: ${error.message}`, { cause: error });
    this.#closedError = closed;
    const inFlight = this.#closing || this.#lostCallError === null || this.#inFlight === 0 ? closed : this.#lostCallError(closed);
    for (let id = 1; id < this.#slots.length; id++) this.#take(id)?.reject(inFlight);
    for (const fn of this.#closeListeners) fn(this.#closedError);
    this.#closeListeners.clear();
  }
}

export type { ObjectRef };
