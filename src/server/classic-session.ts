/**
 * CPython's classic dialect on the server, so a stock `BaseManager(...).connect()` client works
 * unchanged (cpython-wire.md §3). Every frame is a pickle.
 *
 *   #  dir   frame                                           notes
 *   1  C->S  (None, op, args, kwds)                          first request; op in Server.public
 *   2  S->C  ('#RETURN', result) | ('#TRACEBACK', text)      then the server closes: a one-shot
 *                                                            control connection
 *   1' C->S  (None, 'accept_connection', (name,), {})        turns the connection into an object
 *   2' S->C  ('#RETURN', None)                               connection; then, one at a time:
 *   3  C->S  (ident, method, args, kwds)
 *   4  S->C  ('#RETURN', value) | ('#ERROR', exception) | ('#TRACEBACK', text)
 *            | ('#PROXY', (exposed, Token)) for methodToTypeid results | ('#UNSERIALIZABLE', text)
 *
 * References a Python client holds follow incref/decref (stock clients give no other signal); locks
 * and waits taken through an object connection belong to that connection and end with it.
 */
import { debuglog } from 'node:util';
import { hasPickleReduce, pickle } from '../codec/pickle/index.js';
import { tuple } from '../codec/values.js';
import type { Connection } from '../connection/index.js';
import { AbortError, MpmError, PythonError, RemoteError } from '../errors.js';
import { Token } from '../codec/token.js';
import type { ObjectRef } from '../codec/ref.js';
import { ConnectionOwner, type CallContext } from './context.js';
import { GETVALUE_METHOD, invoke } from './dispatch.js';
import type { HostedObject } from './objects.js';
import { objectId, type Server, type Session } from './server.js';

const debug = debuglog('mpmanager');

/** Reply kinds (CPython's `managers.py` strings). */
export const Reply = {
  Return: '#RETURN',
  Error: '#ERROR',
  Traceback: '#TRACEBACK',
  Proxy: '#PROXY',
  Unserializable: '#UNSERIALIZABLE',
} as const;
export type Reply = (typeof Reply)[keyof typeof Reply];

let sessionCounter = 0;

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

/** Python's traceback text for an error raised in the server, as `format_exc()` would give it. */
export function tracebackText(err: unknown): string {
  if (!(err instanceof Error)) return `Traceback (most recent call last):\nException: ${String(err)}\n`;
  const type = err instanceof RemoteError ? err.remoteType : err instanceof PythonError ? err.pyType.slice(err.pyType.lastIndexOf('.') + 1) : err.name;
  const message = err instanceof RemoteError ? err.remoteMessage : err.message;
  const frames = (err.stack ?? '')
    .split('\n')
    .filter((l) => l.trimStart().startsWith('at '))
    .map((l) => `  ${l.trim()}`);
  return `Traceback (most recent call last):\n${frames.join('\n')}\n${type}: ${message}\n`;
}

export class ClassicSession implements Session {
  readonly #server: Server;
  readonly #conn: Connection;
  readonly #owner: ConnectionOwner;
  readonly #abort = new AbortController();
  #objectMode = false;
  #closed = false;
  /** Requests are served one at a time, in order (CPython's `serve_client` loop). */
  #chain: Promise<void> = Promise.resolve();

  constructor(server: Server, conn: Connection, firstFrame: Buffer) {
    this.#server = server;
    this.#conn = conn;
    this.#owner = new ConnectionOwner(`classic-${++sessionCounter}`);
    conn.detach({
      frame: (frame) => this.#enqueue(frame),
      closed: () => this.close(),
    });
    this.#enqueue(firstFrame);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort(new AbortError('the client connection closed'));
    this.#owner.close();
    this.#conn.close();
    this.#server.sessionEnded(this);
  }

  #enqueue(frame: Buffer): void {
    this.#chain = this.#chain.then(() => this.#handle(frame)).catch((err: unknown) => {
      debug('classic session failed: %s', (err as Error).message);
      this.close();
    });
  }

  async #handle(frame: Buffer): Promise<void> {
    if (this.#closed) return;
    let request: unknown;
    try {
      request = pickle.decode(frame, { reviveRef: (ref: ObjectRef) => this.#server.resolveRef(ref) });
    } catch (err) {
      this.#send(Reply.Traceback, tracebackText(err));
      if (!this.#objectMode) this.close();
      return;
    }
    if (!Array.isArray(request) || request.length !== 4 || typeof request[1] !== 'string') {
      this.#send(Reply.Traceback, tracebackText(new MpmError('MPM_ERR_PROTOCOL', 'a request is a 4-tuple (ident, method, args, kwds)')));
      if (!this.#objectMode) this.close();
      return;
    }
    const [ident, method, rawArgs, rawKwds] = request as [unknown, string, unknown, unknown];
    const args = Array.isArray(rawArgs) ? Array.from(rawArgs) : [];
    const kwds = rawKwds && typeof rawKwds === 'object' && !(rawKwds instanceof Map) ? (rawKwds as Record<string, unknown>) : null;
    if (this.#objectMode) {
      await this.#serveObjectCall(ident, method, args, kwds);
      return;
    }
    if (ident !== null) {
      this.#send(Reply.Traceback, tracebackText(new MpmError('MPM_ERR_PROTOCOL', 'a control request has ident None')));
      this.close();
      return;
    }
    if (method === 'accept_connection') {
      this.#objectMode = true;
      this.#send(Reply.Return, null);
      return;
    }
    try {
      this.#send(Reply.Return, await this.#operation(method, args, kwds));
    } catch (err) {
      this.#send(Reply.Traceback, tracebackText(err));
    }
    // A control connection carries one request; the client closes it, and so do we.
    this.close();
  }

  async #serveObjectCall(ident: unknown, method: string, args: unknown[], kwds: Record<string, unknown> | null): Promise<void> {
    let obj: HostedObject;
    let result: unknown;
    try {
      obj = this.#server.objects.get(String(ident));
    } catch (err) {
      this.#send(Reply.Traceback, tracebackText(err));
      return;
    }
    try {
      // CPython answers '#GETVALUE' with a pickled copy of the referent itself; a referent that knows its
      // Python form (a managers.Value, an array.array, a Namespace) is sent as that, not as its JS value.
      if (method === GETVALUE_METHOD && !obj.exposed.has(method) && hasPickleReduce(obj.referent)) result = obj.referent;
      else result = await invoke(obj, method, args, kwds, new ClassicCall(this.#owner, this.#abort));
    } catch (err) {
      if (err instanceof PythonError) this.#send(Reply.Error, err);
      else this.#send(Reply.Traceback, tracebackText(err));
      return;
    }
    const typeid = obj.methodToTypeid[method];
    if (typeid !== undefined) {
      try {
        const created = this.#server.host(typeid, result);
        this.#server.objects.incref(created.id);
        this.#send(Reply.Proxy, tuple<unknown>(tuple(...created.exposedList), this.#token(created)));
      } catch (err) {
        this.#send(Reply.Traceback, tracebackText(err));
      }
      return;
    }
    this.#send(Reply.Return, result);
  }

  #token(obj: HostedObject): Token {
    return new Token(obj.typeid, this.#server.address, obj.id);
  }

  async #operation(name: string, args: unknown[], kwds: Record<string, unknown> | null): Promise<unknown> {
    const server = this.#server;
    server.assertRunning();
    switch (name) {
      case 'create': {
        const [typeid, ...rest] = args;
        const obj = await server.create(String(typeid), rest, kwds, new ClassicCall(this.#owner, this.#abort));
        server.objects.incref(obj.id);
        return tuple<unknown>(obj.id, tuple(...obj.exposedList));
      }
      case 'incref':
        server.objects.incref(objectId(args[0]));
        return null;
      case 'decref':
        server.objects.decref(objectId(args[0]));
        return null;
      default:
        return server.operation(name, args, undefined);
    }
  }

  #send(kind: Reply, value: unknown): void {
    if (this.#closed) return;
    let frame: Uint8Array;
    try {
      frame = pickle.encode(tuple(kind, value));
    } catch (err) {
      frame = pickle.encode(tuple(Reply.Unserializable, tracebackText(err)));
    }
    try {
      this.#conn.transport.send(frame);
    } catch {
      this.close();
    }
  }
}
