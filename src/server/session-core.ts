/**
 * What both dialects' sessions do alike: the close sequence, the control operations (`create`,
 * `incref`, `decref`, then the host's), hosting a `methodToTypeid` result, and the flow of requests. A
 * dialect supplies how it counts references (`hold`, `release`), what a created object looks like on its
 * wire (`created`), how it serves one frame (`handle`) and whether it can take another now (`ready`).
 *
 * Flow: a frame is handled only while the dialect is ready (below `maxCallsInFlight`, or not already
 * serving one) and the connection's unsent replies are below `writeHighWaterMark`. Otherwise it waits in
 * an inbox and the transport stops reading, so a client that does not read its replies, or floods calls,
 * holds at most one read's worth of requests and the replies already made, and costs no one else
 * anything. Reading resumes once the replies drain and the inbox is empty.
 */
import type { Connection } from '../connection/index.js';
import { debuglog } from 'node:util';
import { AbortError, IdleTimeoutError, InvalidArgumentError } from '../errors.js';
import { ConnectionOwner, type CallContext } from './context.js';
import type { HostedObject } from './objects.js';
import { objectId, type Session, type SessionHost } from './session.js';
import { formatPeer } from '../transport/address.js';
import { ConnectionStats, type Activity } from './activity.js';

const debug = debuglog('mpmanager');
const EMPTY = Buffer.alloc(0);

export abstract class SessionCore implements Session {
  protected readonly host: SessionHost;
  protected readonly conn: Connection;
  /** The connection as referents see it: what it acquires is released when it closes. */
  protected readonly owner: ConnectionOwner;
  #closed = false;
  /** Frames that arrived while the session could not take them, oldest first (from `#inboxHead`). */
  #inbox: Buffer[] = [];
  #inboxHead = 0;
  #readingPaused = false;
  /** The last send found the transport above its high-water mark; cleared when it drains. */
  #congested = false;
  /** When the connection last sent a frame, for `idleTimeout`. */
  #lastFrame = Date.now();
  #idleTimer: ReturnType<typeof setInterval> | null = null;
  /** Where this connection's figures go, while the server is watched (`Server.watch()`); else null. */
  protected readonly activity: Activity | null;
  /** This connection's figures; null when the server was not watched as it opened (the hooks are this null check). */
  protected readonly stats: ConnectionStats | null;

  constructor(host: SessionHost, conn: Connection, ownerId: string, dialect: 'native' | 'cpython') {
    this.host = host;
    this.conn = conn;
    this.owner = new ConnectionOwner(ownerId);
    this.activity = host.activity;
    this.stats =
      this.activity === null
        ? null
        : this.activity.opened(
            new ConnectionStats({
              id: ownerId,
              // A browser page speaks the native dialect over a WebSocket, and its upgrade carried an Origin.
              dialect: dialect === 'native' && conn.transport.origin !== undefined ? 'browser' : dialect,
              transport: conn.transport.kind,
              peer: formatPeer(conn.peerAddress, host.address),
              encryption: conn.encryption,
              origin: conn.transport.origin ?? null,
              owner: this.owner,
              heldIds: () => this.heldIds(),
              close: () => {
                this.conn.destroy();
                this.close();
              },
            }),
          );
    const idle = host.limits.idleTimeout;
    if (idle > 0) {
      this.#idleTimer = setInterval(() => this.#checkIdle(idle), Math.max(10, idle / 4));
      this.#idleTimer.unref();
    }
  }

  /** Serves one frame (the dialect's request or blob). */
  protected abstract handle(frame: Buffer): void;
  /** Whether the dialect can take another request now. */
  protected abstract ready(): boolean;
  /** Whether a call is running (an idle connection with one is not idle). */
  protected abstract busy(): boolean;

  /** A frame from the connection: handled now, or kept until the session can take it. */
  protected receive(frame: Buffer): void {
    if (this.#closed) return;
    if (this.#idleTimer !== null) this.#lastFrame = Date.now(); // only idleTimeout reads it
    if (this.stats !== null) this.activity?.received(this.stats, frame.length);
    if (this.#inboxHead < this.#inbox.length || this.#congested || !this.ready()) {
      this.#inbox.push(frame);
      if (!this.#readingPaused) {
        this.#readingPaused = true;
        this.conn.transport.pause();
      }
      return;
    }
    this.handle(frame);
  }

  /** Dialects report each send's verdict: false means the transport is above its high-water mark. */
  protected sent(belowHighWater: boolean): void {
    if (belowHighWater || this.#congested || this.#closed) return;
    this.#congested = true;
    void this.conn.transport.drained().then(() => {
      this.#congested = false;
      this.pump();
    });
  }

  /** Handles kept frames while the session can take them; reads again once none are left. */
  protected pump(): void {
    while (this.#inboxHead < this.#inbox.length && !this.#congested && !this.#closed && this.ready()) {
      const frame = this.#inbox[this.#inboxHead] as Buffer;
      this.#inbox[this.#inboxHead++] = EMPTY;
      this.handle(frame);
    }
    if (this.#inboxHead >= this.#inbox.length) {
      this.#inbox = [];
      this.#inboxHead = 0;
      if (this.#readingPaused && !this.#closed) {
        this.#readingPaused = false;
        this.conn.transport.resume();
      }
    }
  }

  #checkIdle(idle: number): void {
    if (this.#closed || this.busy() || this.#inboxHead < this.#inbox.length) return;
    if (Date.now() - this.#lastFrame < idle) return;
    const err = new IdleTimeoutError(idle);
    debug('closing the connection from %s: %s', formatPeer(this.conn.peerAddress, this.host.address), err.message);
    this.conn.destroy(err);
    this.close();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Aborts the calls still running, releases what the connection held and closes it. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#idleTimer !== null) clearInterval(this.#idleTimer);
    this.#inbox = [];
    this.#inboxHead = 0;
    this.abortCalls(new AbortError('the client connection closed'));
    this.owner.close();
    this.releaseAll();
    this.conn.close();
    if (this.stats !== null) this.activity?.closed(this.stats);
    this.host.sessionEnded(this);
  }

  /** The ids of the objects this connection holds references to, for the inspector. */
  protected abstract heldIds(): Iterable<string>;

  /** Aborts every call this session is running. */
  protected abstract abortCalls(reason: AbortError): void;
  /** Drops every reference the connection holds that ends with it. */
  protected abstract releaseAll(): void;
  /** Counts a reference to `id` for this client. */
  protected abstract hold(id: string): void;
  /** Drops one reference this client holds on `id`. */
  protected abstract release(id: string): void;
  /** What a `create` answers on this dialect's wire, for an object whose refcount the client does not yet hold. */
  protected abstract created(obj: HostedObject): unknown;

  /** A control request (`ident` None): reference operations here, the rest from the host. */
  protected control(name: string, args: unknown[], kwds: Record<string, unknown> | null, call: CallContext, shutdownKey: string | undefined): unknown {
    const host = this.host;
    host.assertRunning();
    switch (name) {
      case 'create': {
        const [typeid, ...rest] = args;
        if (typeof typeid !== 'string') throw new InvalidArgumentError('create needs a typeid string');
        const made = host.create(typeid, rest, kwds, call);
        if (made instanceof Promise) {
          return made.then((obj) => {
            if (debug.enabled) this.#logRef('create', obj.id);
            return this.created(obj);
          });
        }
        if (debug.enabled) this.#logRef('create', made.id);
        return this.created(made);
      }
      case 'incref': {
        const id = objectId(args[0]);
        host.objects.get(id);
        this.hold(id);
        if (debug.enabled) this.#logRef('incref', id);
        return null;
      }
      case 'decref': {
        const id = objectId(args[0]);
        const typeid = debug.enabled ? host.objects.find(id)?.typeid : undefined; // before it may go
        this.release(id);
        if (debug.enabled) this.#logRef('decref', id, typeid);
        return null;
      }
      default:
        return host.operation(name, args, shutdownKey);
    }
  }

  /** Logs a reference operation (call it only when debugging is on: it formats). */
  #logRef(op: 'create' | 'incref' | 'decref', id: string, typeid?: string): void {
    const obj = this.host.objects.find(id);
    const state = op === 'create' ? '' : obj === undefined ? ' (released)' : ` (refcount ${obj.refcount})`;
    debug('%s %s %s%s from %s', op, typeid ?? obj?.typeid ?? 'object', id, state, formatPeer(this.conn.peerAddress, this.host.address));
  }

  /** A result of `method` on `target` that its registration maps to a typeid, hosted; else undefined. */
  protected hostResult(target: HostedObject | null, method: string, value: unknown): HostedObject | undefined {
    const typeid = target?.methodToTypeid[method];
    return typeid === undefined ? undefined : this.host.host(typeid, value);
  }
}
