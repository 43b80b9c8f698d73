/**
 * CPython's classic dialect on the server (the table is in src/protocol/classic.ts), so a stock
 * `BaseManager(...).connect()` client works unchanged. References a Python client holds follow
 * incref/decref (stock clients give no other signal); locks and waits taken through an object
 * connection belong to that connection and end with it.
 */
import { debuglog } from 'node:util';
import { hasPickleReduce, isPickleFrame, pickle } from '../codec/pickle/index.js';
import type { ObjectRef } from '../codec/ref.js';
import { Token } from '../codec/token.js';
import { tuple } from '../codec/values.js';
import type { Connection } from '../connection/index.js';
import { ProtocolError, type AbortError } from '../errors.js';
import { GETVALUE, Reply, parseRequest, tracebackText } from '../protocol/classic.js';
import { PythonError } from '../python-errors.js';
import type { CallContext, ConnectionOwner } from './context.js';
import { invoke } from './dispatch.js';
import type { HostedObject } from './objects.js';
import { SessionCore } from './session-core.js';
import type { InflightCall } from './activity.js';
import type { Dialect, SessionHost } from './session.js';

const debug = debuglog('mpmanager');

let sessionCounter = 0;

/** The classic dialect, for the server's table of dialects. */
export const classicDialect: Dialect = {
  name: 'cpython',
  accepts: isPickleFrame,
  open: (host, conn, firstFrame) => new ClassicSession(host, conn, firstFrame),
  // The first request's reply is the error, as CPython's server answers a request it cannot serve.
  refuse: (conn, _firstFrame, error) => conn.transport.send(pickle.encode(tuple<unknown>(Reply.Traceback, tracebackText(error)))),
};

class ClassicCall implements CallContext {
  readonly owner: ConnectionOwner;
  readonly #controller: AbortController;
  constructor(owner: ConnectionOwner, controller: AbortController) {
    this.owner = owner;
    this.#controller = controller;
  }
  get signal(): AbortSignal {
    return this.#controller.signal;
  }
}

export class ClassicSession extends SessionCore {
  readonly #abort = new AbortController();
  #objectMode = false;
  /** Requests are served one at a time, in order (CPython's `serve_client` loop): true while one is. */
  #serving = false;
  readonly #decodeContext = { reviveRef: (ref: ObjectRef) => this.host.resolveRef(ref) };

  constructor(host: SessionHost, conn: Connection, firstFrame: Buffer) {
    super(host, conn, `classic-${++sessionCounter}`, 'cpython');
    // First, before any frame that came with it (detach may hand those over at once): requests are
    // served in the order they arrived.
    this.receive(firstFrame);
    if (this.closed) return;
    conn.detach({
      // Node's transports deliver Buffers (src/bytes.ts).
      frame: (frame) => this.receive(frame as Buffer),
      closed: () => this.close(),
    });
  }

  protected handle(frame: Buffer): void {
    this.#serving = true;
    this.#handle(frame)
      .catch((err: unknown) => {
        debug('classic session failed: %s', (err as Error).message);
        this.close();
      })
      .finally(() => {
        this.#serving = false;
        this.pump();
      });
  }

  protected ready(): boolean {
    return !this.#serving;
  }

  protected busy(): boolean {
    return this.#serving;
  }

  protected abortCalls(reason: AbortError): void {
    this.#abort.abort(reason);
  }

  /** Classic references are counted by the client's own incref/decref, not by the connection. */
  protected releaseAll(): void {}

  /** None: a CPython client's references belong to its process, not to one connection. */
  protected heldIds(): Iterable<string> {
    return [];
  }

  protected hold(id: string): void {
    this.host.objects.incref(id);
  }

  protected release(id: string): void {
    this.host.objects.decref(id);
  }

  /** `(ident, exposed)`, with the reference the client now holds counted (CPython's `create`). */
  protected created(obj: HostedObject): unknown {
    this.hold(obj.id);
    return tuple<unknown>(obj.id, tuple(...obj.exposedList));
  }

  async #handle(frame: Buffer): Promise<void> {
    if (this.closed) return;
    let decoded: unknown;
    try {
      decoded = this.host.codecs.pickle.decode(frame, this.#decodeContext);
    } catch (err) {
      this.#send(Reply.Traceback, tracebackText(err));
      if (!this.#objectMode) this.close();
      return;
    }
    const request = parseRequest(decoded);
    if (request === null) {
      this.#send(Reply.Traceback, tracebackText(new ProtocolError('a request is a 4-tuple (ident, method, args, kwds)')));
      if (!this.#objectMode) this.close();
      return;
    }
    const { ident, method, args, kwds } = request;
    if (this.#objectMode) {
      await this.#serveObjectCall(ident, method, args, kwds);
      return;
    }
    if (ident !== null) {
      this.#send(Reply.Traceback, tracebackText(new ProtocolError('a control request has ident None')));
      this.close();
      return;
    }
    if (method === 'accept_connection') {
      this.#objectMode = true;
      this.#send(Reply.Return, null);
      return;
    }
    const stats = this.stats;
    const started = stats === null ? 0 : performance.now();
    try {
      const result = await this.control(method, args, kwds, this.#call(), undefined);
      if (stats !== null) this.activity?.record(stats, null, method, started);
      this.#send(Reply.Return, result);
    } catch (err) {
      if (stats !== null) this.activity?.record(stats, null, method, started, err ?? new Error(String(err)));
      this.#send(Reply.Traceback, tracebackText(err));
    }
    // A control connection carries one request; the client closes it, and so do we.
    this.close();
  }

  #call(): ClassicCall {
    return new ClassicCall(this.owner, this.#abort);
  }

  async #serveObjectCall(ident: unknown, method: string, args: unknown[], kwds: Record<string, unknown> | null): Promise<void> {
    let obj: HostedObject;
    let result: unknown;
    try {
      obj = this.host.objects.get(String(ident));
    } catch (err) {
      this.#send(Reply.Traceback, tracebackText(err));
      return;
    }
    const stats = this.stats;
    const started = stats === null ? 0 : performance.now();
    let inflight: InflightCall | null = null;
    try {
      // CPython answers '#GETVALUE' with a pickled copy of the referent itself; a referent that knows its
      // Python form (a managers.Value, an array.array, a Namespace) is sent as that, not as its JS value.
      if (method === GETVALUE && !obj.exposed.has(method) && hasPickleReduce(obj.referent)) result = obj.referent;
      else {
        result = invoke(obj, method, args, kwds, this.#call());
        if (stats !== null && result instanceof Promise) inflight = this.activity?.started(stats, obj, method, started) ?? null;
        result = await result;
      }
    } catch (err) {
      if (stats !== null) {
        const error = err ?? new Error(String(err));
        if (inflight !== null) this.activity?.finished(inflight, error);
        else this.activity?.record(stats, obj, method, started, error);
      }
      if (err instanceof PythonError) this.#send(Reply.Error, err);
      else this.#send(Reply.Traceback, tracebackText(err));
      return;
    }
    if (stats !== null) {
      if (inflight !== null) this.activity?.finished(inflight);
      else this.activity?.record(stats, obj, method, started);
    }
    let hosted: HostedObject | undefined;
    try {
      hosted = this.hostResult(obj, method, result);
      if (hosted !== undefined) this.hold(hosted.id);
    } catch (err) {
      this.#send(Reply.Traceback, tracebackText(err));
      return;
    }
    if (hosted !== undefined) this.#send(Reply.Proxy, tuple<unknown>(tuple(...hosted.exposedList), new Token(hosted.typeid, this.host.address, hosted.id)));
    else this.#send(Reply.Return, result);
  }

  #send(kind: Reply, value: unknown): void {
    if (this.closed) return;
    let frame: Uint8Array;
    try {
      frame = pickle.encode(tuple(kind, value));
    } catch (err) {
      frame = pickle.encode(tuple(Reply.Unserializable, tracebackText(err)));
    }
    if (this.stats !== null) this.activity?.sent(this.stats, frame.length);
    try {
      this.sent(this.conn.transport.send(frame));
    } catch {
      this.close();
    }
  }
}
