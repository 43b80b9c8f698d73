/**
 * The contract between the server and the dialects it speaks. A session serves one connection in one
 * dialect; it sees the server only through `SessionHost`, so neither imports the other, and the server
 * picks a connection's dialect from the table of `Dialect`s it is given (`accepts(firstFrame)`).
 */
import type { Codec } from '../codec/types.js';
import type { ObjectRef } from '../codec/ref.js';
import type { Limits } from '../limits.js';
import type { Connection } from '../connection/index.js';
import { InvalidArgumentError } from '../errors.js';
import type { Address } from '../transport/address.js';
import type { CallContext } from './context.js';
import type { HostedObject, ObjectTable } from './objects.js';
import type { Activity } from './activity.js';

/** The limits a session obeys. */
export type SessionLimits = Pick<Limits, 'maxCallsInFlight' | 'idleTimeout' | 'writeHighWaterMark'>;

/** A session speaking one dialect on one connection. */
export interface Session {
  /** True once closed (a session may close while it is being opened, on a bad first frame). */
  readonly closed: boolean;
  /** Closes the session; its references are released. Idempotent. */
  close(): void;
}

/** What a session may ask of the server that hosts it. */
export interface SessionHost {
  /** The server's bound address (what tokens carry). */
  readonly address: Address;
  readonly objects: ObjectTable;
  /** Where sessions record calls and bytes while the server is watched; null otherwise. */
  readonly activity: Activity | null;
  /** The server's limits (backpressure, calls in flight, idle time, decode budgets). */
  readonly limits: SessionLimits;
  /** The codecs sessions decode and encode with, made with the server's decode limits. */
  readonly codecs: { readonly msgpack: Codec; readonly pickle: Codec };
  /** Makes a new object of `typeid` with refcount 0: the caller takes the first reference. */
  create(typeid: string, args: unknown[], kwds: Record<string, unknown> | null, context: CallContext): HostedObject | Promise<HostedObject>;
  /** Hosts an existing value under `typeid` (a `methodToTypeid` result). Refcount starts at 0. */
  host(typeid: string, value: unknown): HostedObject;
  /** The reference a client receives for a hosted object. */
  refTo(obj: HostedObject): ObjectRef;
  /** A reference that arrived from a client: one of ours becomes a handle, others stay references. */
  resolveRef(ref: ObjectRef): unknown;
  /** The server operations both dialects answer alike; `shutdownKey` is what the caller presented. */
  operation(name: string, args: readonly unknown[], shutdownKey: string | undefined): unknown;
  /** Throws `StateError` once the server has shut down. */
  assertRunning(): void;
  /** A session tells the server it has ended. */
  sessionEnded(session: Session): void;
}

/** One wire dialect the server can speak after the handshake. */
export interface Dialect {
  /** For logs and the inspector: `native`, `cpython`. */
  readonly name: string;
  /** Whether a connection whose first frame is `firstFrame` speaks this dialect. */
  accepts(firstFrame: Uint8Array): boolean;
  /** Starts serving `conn`, beginning with `firstFrame`. Throws `ProtocolError` if the frame is malformed. */
  open(host: SessionHost, conn: Connection, firstFrame: Buffer): Session;
  /** Answers `firstFrame` with `error` instead of serving the connection (a connection limit was hit). */
  refuse(conn: Connection, firstFrame: Buffer, error: Error): void;
}

/** The object id a client names: the id itself, or a token (or proxy reference) carrying it. */
export function objectId(v: unknown): string {
  if (typeof v === 'string') return v;
  const token = (v as { token?: { id?: unknown } } | null)?.token ?? v;
  const id = (token as { id?: unknown } | null)?.id;
  if (typeof id === 'string') return id;
  throw new InvalidArgumentError('expected an object id or a token');
}
