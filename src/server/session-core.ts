/**
 * What both dialects' sessions do alike: the close sequence, the control operations (`create`,
 * `incref`, `decref`, then the host's), and hosting a `methodToTypeid` result. A dialect supplies how it
 * counts references (`hold`, `release`) and what a created object looks like on its wire (`created`).
 */
import type { Connection } from '../connection/index.js';
import { AbortError, InvalidArgumentError } from '../errors.js';
import { ConnectionOwner, type CallContext } from './context.js';
import type { HostedObject } from './objects.js';
import { objectId, type Session, type SessionHost } from './session.js';

export abstract class SessionCore implements Session {
  protected readonly host: SessionHost;
  protected readonly conn: Connection;
  /** The connection as referents see it: what it acquires is released when it closes. */
  protected readonly owner: ConnectionOwner;
  #closed = false;

  constructor(host: SessionHost, conn: Connection, ownerId: string) {
    this.host = host;
    this.conn = conn;
    this.owner = new ConnectionOwner(ownerId);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Aborts the calls still running, releases what the connection held and closes it. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.abortCalls(new AbortError('the client connection closed'));
    this.owner.close();
    this.releaseAll();
    this.conn.close();
    this.host.sessionEnded(this);
  }

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
        return made instanceof Promise ? made.then((obj) => this.created(obj)) : this.created(made);
      }
      case 'incref': {
        const id = objectId(args[0]);
        host.objects.get(id);
        this.hold(id);
        return null;
      }
      case 'decref':
        this.release(objectId(args[0]));
        return null;
      default:
        return host.operation(name, args, shutdownKey);
    }
  }

  /** A result of `method` on `target` that its registration maps to a typeid, hosted; else undefined. */
  protected hostResult(target: HostedObject | null, method: string, value: unknown): HostedObject | undefined {
    const typeid = target?.methodToTypeid[method];
    return typeid === undefined ? undefined : this.host.host(typeid, value);
  }
}
