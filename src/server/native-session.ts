/**
 * One native-dialect connection on the server (layout in src/protocol/native.ts): calls run
 * concurrently, each reply carries its call's id, and every reference the connection holds is released
 * when it closes, however it closes.
 */
import { debuglog } from 'node:util';
import { msgpack, type DecodeContext, type EncodeContext } from '../codec/index.js';
import type { Connection } from '../connection/index.js';
import { AbortError, CodecError, DecodeBudgetError, DigitLimitError, InvalidArgumentError, ProtocolError } from '../errors.js';
import { BlobInbox, ClientKind, NATIVE_MAGIC, NATIVE_VERSION, ServerKind, isNativeHello, peekCallId, sendWithBlobs, type Hello, type Refusal } from '../protocol/native.js';
import type { ObjectRef } from '../codec/ref.js';
import { formatPeer, sameAddress } from '../transport/address.js';
import type { CallContext, ConnectionOwner } from './context.js';
import { invoke } from './dispatch.js';
import type { HostedObject } from './objects.js';
import { SessionCore } from './session-core.js';
import type { Dialect, SessionHost } from './session.js';

const debug = debuglog('mpmanager');
let sessionCounter = 0;

/** The context of one call; its signal is made only if the referent asks for it. */
class NativeCall implements CallContext {
  readonly owner: ConnectionOwner;
  #controller: AbortController | null = null;
  #aborted: Error | null = null;
  constructor(owner: ConnectionOwner) {
    this.owner = owner;
  }
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#aborted);
    }
    return this.#controller.signal;
  }
  abort(reason: Error): void {
    if (this.#aborted) return;
    this.#aborted = reason;
    this.#controller?.abort(reason);
  }
}

/** What a referent threw, as an Error: `throw 'text'` must still reach the client as a remote error. */
function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';
}

/** The native dialect, for the server's table of dialects. */
export const nativeDialect: Dialect = {
  name: 'native',
  accepts: isNativeHello,
  open: (host, conn, firstFrame) => new NativeSession(host, conn, firstFrame),
  // Row 1': the welcome names the error, so the client can raise it.
  refuse: (conn, _firstFrame, error) => conn.transport.send(msgpack.encode([NATIVE_MAGIC, NATIVE_VERSION, { refused: [error.name, error.message] } satisfies Refusal])),
};

export class NativeSession extends SessionCore {
  /** References this connection holds: object id to count. */
  readonly #refs = new Map<string, number>();
  /** Calls still running, by call id. */
  readonly #running = new Map<number, NativeCall>();
  readonly #hello: Hello;
  readonly #encodeContext: EncodeContext & { blobs: Uint8Array[] };
  /** Blobs received ahead of the message that uses them. */
  readonly #blobs = new BlobInbox();
  readonly #decodeContext: DecodeContext;

  constructor(host: SessionHost, conn: Connection, firstFrame: Buffer) {
    super(host, conn, `native-${++sessionCounter}`, 'native');
    const hello = msgpack.decode(firstFrame) as unknown[];
    if (!Array.isArray(hello) || hello[0] !== NATIVE_MAGIC) throw new ProtocolError('malformed native hello');
    if (hello[1] !== NATIVE_VERSION) {
      throw new ProtocolError(`native protocol version ${String(hello[1])} is not supported (this server speaks ${NATIVE_VERSION}); upgrade the older side`);
    }
    this.#hello = (hello[2] && typeof hello[2] === 'object' ? hello[2] : {}) as Hello;
    this.#encodeContext = { onRef: (ref) => this.#onRefSent(ref), blobs: [] };
    this.#decodeContext = { reviveRef: (ref) => host.resolveRef(ref) };
    conn.transport.send(msgpack.encode([NATIVE_MAGIC, NATIVE_VERSION, { address: host.address, pid: process.pid }]));
    conn.detach({
      frame: (frame) => this.receive(frame as Buffer),
      closed: (error) => {
        if (error) debug('native connection closed: %s', error.message);
        this.close();
      },
    });
  }

  protected handle(frame: Buffer): void {
    this.#onFrame(frame);
  }

  protected ready(): boolean {
    return this.#running.size < this.host.limits.maxCallsInFlight;
  }

  protected busy(): boolean {
    return this.#running.size > 0;
  }

  protected abortCalls(reason: AbortError): void {
    for (const call of this.#running.values()) call.abort(reason);
    this.#running.clear();
  }

  protected heldIds(): Iterable<string> {
    return this.#refs.keys();
  }

  protected releaseAll(): void {
    const objects = this.host.objects;
    for (const [id, n] of this.#refs) objects.decref(id, n);
    this.#refs.clear();
  }

  /** The reference itself: encoding it counts it as held by this client (`#onRefSent`). */
  protected created(obj: HostedObject): unknown {
    return this.host.refTo(obj);
  }

  #onFrame(frame: Buffer): void {
    if (this.closed) return;
    let context: DecodeContext | null;
    try {
      context = this.#blobs.receive(frame, this.#decodeContext, this.conn.transport.maxFrameSize);
    } catch (err) {
      this.#protocolError((err as Error).message);
      return;
    }
    if (context === null) return; // a blob, kept for the message after it
    let msg: unknown;
    try {
      msg = this.host.codecs.msgpack.decode(frame, context);
    } catch (err) {
      // A well-framed call whose body is refused (its decode budget, a digit limit, a value this codec
      // cannot decode, such as a map keyed by a tuple) gets its error as the reply; the connection goes
      // on. A frame whose call cannot be read breaks the protocol.
      const callId = frame[1] === ClientKind.Call ? peekCallId(frame) : -1;
      if (callId >= 0 && (err instanceof DecodeBudgetError || err instanceof DigitLimitError || err instanceof CodecError)) this.#send(ServerKind.Error, callId, err);
      else this.#protocolError(`undecodable frame: ${(err as Error).message}`);
      return;
    }
    if (!Array.isArray(msg)) {
      this.#protocolError('a native message must be an array');
      return;
    }
    switch (msg[0]) {
      case ClientKind.Call:
        this.#call(msg);
        return;
      case ClientKind.Cancel:
        this.#running.get(msg[1] as number)?.abort(new AbortError('the call was cancelled by the client'));
        return;
      case ClientKind.Release:
        if (typeof msg[1] === 'string' && typeof msg[2] === 'number') this.release(msg[1], msg[2]);
        return;
      default:
        this.#protocolError(`unknown message kind ${String(msg[0])}`);
    }
  }

  #protocolError(message: string): void {
    debug('native protocol error: %s', message);
    this.conn.destroy(new ProtocolError(message));
    this.close();
  }

  #call(msg: unknown[]): void {
    const [, callId, ident, method, args, kwds] = msg;
    if (typeof callId !== 'number' || typeof method !== 'string' || !(ident === null || typeof ident === 'string') || !Array.isArray(args)) {
      this.#protocolError('malformed call');
      return;
    }
    const kw = kwds && typeof kwds === 'object' ? (kwds as Record<string, unknown>) : null;
    const call = new NativeCall(this.owner);
    const stats = this.stats;
    const started = stats === null ? 0 : performance.now();
    let result: unknown;
    let target: HostedObject | null = null;
    try {
      if (ident === null) result = this.control(method, args, kw, call, this.#hello.shutdownKey);
      else {
        target = this.host.objects.get(ident);
        result = invoke(target, method, args, kw, call);
      }
    } catch (err) {
      const error = asError(err);
      if (stats !== null) this.activity?.record(stats, target, method, started, error);
      this.#send(ServerKind.Error, callId, error);
      return;
    }
    if (isThenable(result)) {
      this.#running.set(callId, call);
      const obj = target;
      const inflight = stats === null ? null : (this.activity?.started(stats, obj, method, started) ?? null);
      // Through a real promise: a thenable that calls back twice must still get one reply per call (the
      // client reuses a call id once its reply is in).
      Promise.resolve(result).then(
        (value) => {
          this.#running.delete(callId);
          if (inflight !== null) this.activity?.finished(inflight);
          this.#reply(callId, obj, method, value);
          this.pump();
        },
        (err: unknown) => {
          this.#running.delete(callId);
          const error = asError(err);
          if (inflight !== null) this.activity?.finished(inflight, error);
          this.#send(ServerKind.Error, callId, error);
          this.pump();
        },
      );
      return;
    }
    if (stats !== null) this.activity?.record(stats, target, method, started);
    this.#reply(callId, target, method, result);
  }

  #reply(callId: number, target: HostedObject | null, method: string, value: unknown): void {
    try {
      const hosted = this.hostResult(target, method, value);
      if (hosted !== undefined) value = this.host.refTo(hosted);
    } catch (err) {
      this.#send(ServerKind.Error, callId, err as Error);
      return;
    }
    this.#send(ServerKind.Return, callId, value === undefined ? null : value);
  }

  #send(kind: ServerKind, callId: number, value: unknown): void {
    if (this.closed) return;
    let frame: Uint8Array;
    try {
      frame = msgpack.encode([kind, callId, value], this.#encodeContext);
    } catch (err) {
      this.#encodeContext.blobs.length = 0;
      frame = msgpack.encode([ServerKind.Error, callId, new InvalidArgumentError(`the result could not be serialized: ${(err as Error).message}`)]);
    }
    if (this.stats !== null) {
      let bytes = frame.length;
      for (const blob of this.#encodeContext.blobs) bytes += blob.length;
      this.activity?.sent(this.stats, bytes);
    }
    try {
      this.sent(sendWithBlobs(this.conn.transport, frame, this.#encodeContext));
    } catch {
      this.#encodeContext.blobs.length = 0;
      this.close();
    }
  }

  /** A reference is going to this client: it now holds it. */
  #onRefSent(ref: ObjectRef): void {
    const host = this.host;
    if (!sameAddress(ref.token.address, host.address) || !host.objects.find(ref.token.id)) return;
    this.hold(ref.token.id);
  }

  protected hold(id: string): void {
    this.host.objects.incref(id);
    this.#refs.set(id, (this.#refs.get(id) ?? 0) + 1);
  }

  protected release(id: string, count = 1): void {
    const held = this.#refs.get(id) ?? 0;
    const n = Math.min(held, Math.max(0, Math.floor(count)));
    if (n === 0) return;
    if (held === n) this.#refs.delete(id);
    else this.#refs.set(id, held - n);
    this.host.objects.decref(id, n);
    if (debug.enabled) debug('release %s x%d from %s', id, n, formatPeer(this.conn.peerAddress, this.host.address));
  }
}
