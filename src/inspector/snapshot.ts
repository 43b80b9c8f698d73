/**
 * The inspector's picture of a server at one moment, as plain JSON: overview, objects, who waits on what,
 * connections, recent errors and slow calls, and the chart series. Built from `Server.view` and its
 * `Activity`; it reads referents of the built-in classes it knows (a queue's `qsize()`, a lock's
 * `locked()`, a barrier's parties) and calls nothing else of them, nothing that waits, and never code of a
 * class it does not know. Values (a `Value`'s value, a dict's contents) are left out unless `values` is
 * on, and then only as a bounded repr, which the page shows as text.
 */
import type { ConnectionStats, InflightCall, RecentCall, RecentError, SecondFigures } from '../server/activity.js';
import { LOCAL_CONTEXT, withCall } from '../server/context.js';
import { GET_VALUE, reprOf } from '../server/dispatch.js';
import type { ObjectInfo, Server, SharedObjectInfo } from '../server/server.js';
import { SharedObject } from '../backends/redis/backend.js';
import { Barrier, BoundedSemaphore, Condition, Dict, List, Lock, PyEvent, PySet, Queue, RLock, Semaphore, Value } from '../manager/sync/index.js';
import { formatAddress } from '../transport/address.js';

/** Objects listed at most (the count says how many there are). */
export const MAX_OBJECTS = 500;
/** Characters of a value's repr shown with `values`. */
const VALUE_WIDTH = 200;

export type Backend = 'memory' | 'redis';

export interface ObjectRow {
  readonly id: string;
  readonly typeid: string;
  /** A shared object's name; null for an object of this server's memory. */
  readonly name: string | null;
  readonly backend: Backend;
  readonly refcount: number;
  /** Connections holding references (native clients; a CPython client's belong to its process). */
  readonly heldBy: readonly string[];
  readonly ageMs: number;
  /** Queue depth, dict/list/set length; null when the object has no size (or it is unknown). */
  readonly size: number | null;
  /** A short state: `locked`, `set`, `2/3 waiting`, `value=1`, ... */
  readonly state: string | null;
  /** Its repr, only with `values`. */
  readonly value: string | null;
}

export interface Waiting {
  readonly connection: string;
  readonly method: string;
  readonly ms: number;
}

export interface WaitRow {
  readonly id: string;
  readonly typeid: string;
  readonly name: string | null;
  /** What it is, for the page: `lock`, `semaphore`, `event`, `barrier`, `queue`, `condition`, `object`. */
  readonly kind: string;
  readonly state: string | null;
  /** Connections holding it (a lock, permits of a semaphore, a condition's lock). */
  readonly holders: readonly string[];
  /** Calls waiting on it, oldest first. */
  readonly waiters: readonly Waiting[];
}

export interface ConnectionRow {
  readonly id: string;
  readonly peer: string;
  readonly transport: string;
  readonly dialect: string;
  readonly encryption: string | null;
  readonly origin: string | null;
  readonly openedAt: number;
  readonly calls: number;
  readonly errors: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly inflight: ReadonlyArray<{ readonly typeid: string; readonly objectId: string | null; readonly method: string; readonly ms: number }>;
}

export interface Snapshot {
  readonly version: string;
  readonly address: string;
  readonly startedAt: number;
  readonly now: number;
  readonly uptimeSeconds: number;
  readonly encryption: string;
  readonly tls: boolean;
  /** Whether the server records calls (an inspector always turns it on). */
  readonly watching: boolean;
  readonly showsValues: boolean;
  readonly allowsActions: boolean;
  readonly totals: {
    readonly connections: number;
    readonly objects: number;
    readonly calls: number;
    readonly errors: number;
    readonly callsPerSecond: number;
    readonly bytesIn: number;
    readonly bytesOut: number;
    readonly authFailures: number;
    readonly blockedCalls: number;
  };
  readonly dialects: Readonly<Record<string, number>>;
  /** Connections by protection: `in clear`, `aes-256-gcm`, `tls ...`. */
  readonly encryptions: Readonly<Record<string, number>>;
  readonly objects: readonly ObjectRow[];
  readonly objectsTruncated: boolean;
  readonly waits: readonly WaitRow[];
  readonly connections: readonly ConnectionRow[];
  readonly errors: readonly RecentError[];
  readonly slow: readonly RecentCall[];
  /** The chart series (all of it, or only the last second when asked for `latest`). */
  readonly series: readonly SecondFigures[];
}

export interface SnapshotOptions {
  readonly version: string;
  readonly values: boolean;
  readonly actions: boolean;
  /** Only the last second of the series (the live updates), not all of it. */
  readonly latestOnly?: boolean;
  /** Sizes of shared objects (Redis), looked up at most once a second by the caller. */
  readonly shared: readonly SharedObjectInfo[];
}

/** Calls waiting on an object, by the object. */
function waitersByObject(connections: Iterable<ConnectionStats>, now: number): Map<string, Waiting[]> {
  const byObject = new Map<string, Waiting[]>();
  for (const c of connections) {
    for (const call of c.inflight) {
      if (call.target === null) continue;
      let list = byObject.get(call.target.id);
      if (list === undefined) byObject.set(call.target.id, (list = []));
      list.push({ connection: c.id, method: call.method, ms: Math.round(now - call.started) });
    }
  }
  for (const list of byObject.values()) list.sort((a, b) => b.ms - a.ms);
  return byObject;
}

/** Connections holding something of an object (their live close registrations, see `watchHolds`). */
function holdersByObject(connections: Iterable<ConnectionStats>): Map<string, string[]> {
  const byObject = new Map<string, string[]>();
  for (const c of connections) {
    const seen = new Set<object>();
    for (const target of c.owner.holds()) {
      if (seen.has(target)) continue;
      seen.add(target);
      const id = (target as { id?: unknown }).id;
      if (typeof id !== 'string') continue;
      let list = byObject.get(id);
      if (list === undefined) byObject.set(id, (list = []));
      list.push(c.id);
    }
  }
  return byObject;
}

/** Size, state and kind of a referent of a built-in class; nothing for classes it does not know. */
function describe(referent: unknown): { kind: string; size: number | null; state: string | null } {
  // Inside the server's own context: a referent reading `currentCall()` sees no client.
  return withCall(LOCAL_CONTEXT, () => {
    if (referent instanceof Queue) {
      const bound = referent.maxsize > 0 ? `, maxsize ${referent.maxsize}` : '';
      return { kind: 'queue', size: referent.qsize(), state: `unfinished ${referent.unfinished_tasks}${bound}` };
    }
    if (referent instanceof Lock || referent instanceof RLock) return { kind: 'lock', size: null, state: referent.locked() ? 'locked' : 'unlocked' };
    if (referent instanceof Semaphore) {
      const value = (referent as unknown as { [GET_VALUE]: () => { value: number } })[GET_VALUE]().value;
      return { kind: 'semaphore', size: null, state: `value=${String(value)}${referent instanceof BoundedSemaphore ? ' (bounded)' : ''}` };
    }
    if (referent instanceof PyEvent) return { kind: 'event', size: null, state: referent.is_set() ? 'set' : 'unset' };
    if (referent instanceof Barrier) {
      return { kind: 'barrier', size: null, state: `${referent.n_waiting}/${referent.parties} waiting${referent.broken ? ', broken' : ''}` };
    }
    if (referent instanceof Condition) return { kind: 'condition', size: null, state: null };
    if (referent instanceof Dict || referent instanceof List || referent instanceof PySet) return { kind: 'collection', size: referent.__len__(), state: null };
    if (referent instanceof Value) return { kind: 'value', size: null, state: null };
    return { kind: 'object', size: null, state: null };
  });
}

function valueOf(referent: unknown): string {
  try {
    return withCall(LOCAL_CONTEXT, () => reprOf(referent, { maxLength: VALUE_WIDTH })).slice(0, VALUE_WIDTH);
  } catch (err) {
    return `<repr failed: ${(err as Error).name}>`;
  }
}

/** The kind of a shared object, from its typeid. */
function sharedKind(typeid: string): string {
  if (typeid === 'Queue' || typeid === 'JoinableQueue') return 'queue';
  if (typeid === 'Lock' || typeid === 'RLock') return 'lock';
  if (typeid === 'Semaphore' || typeid === 'BoundedSemaphore') return 'semaphore';
  if (typeid === 'Event') return 'event';
  return 'collection';
}

function objectRow(o: ObjectInfo, now: number, heldBy: Map<string, string[]>, shared: ReadonlyMap<string, number>, values: boolean): ObjectRow & { kind: string } {
  if (o.referent instanceof SharedObject) {
    const size = shared.get(`${o.referent.typeid}\u0000${o.referent.name}`) ?? null;
    return {
      id: o.id,
      typeid: o.typeid,
      name: o.referent.name,
      backend: 'redis',
      refcount: o.refcount,
      heldBy: heldBy.get(o.id) ?? [],
      ageMs: now - o.createdAt,
      size,
      state: null,
      value: null,
      kind: sharedKind(o.referent.typeid),
    };
  }
  const { kind, size, state } = describe(o.referent);
  return {
    id: o.id,
    typeid: o.typeid,
    name: null,
    backend: 'memory',
    refcount: o.refcount,
    heldBy: heldBy.get(o.id) ?? [],
    ageMs: now - o.createdAt,
    size,
    state,
    value: values ? valueOf(o.referent) : null,
    kind,
  };
}

/** The kinds whose waits the "who waits on what" view lists even when nobody waits. */
const WAIT_KINDS: ReadonlySet<string> = new Set(['lock', 'semaphore', 'event', 'barrier', 'condition']);

export function snapshot(server: Server, options: SnapshotOptions): Snapshot {
  const view = server.view;
  const activity = view.activity;
  const nowMs = Date.now();
  const now = performance.now();
  const connections = activity === null ? [] : [...activity.connections];
  const waiting = waitersByObject(connections, now);
  const holders = holdersByObject(connections);
  const shared = new Map(options.shared.map((s) => [`${s.typeid}\u0000${s.name}`, s.size]));

  const heldBy = new Map<string, string[]>();
  for (const c of connections) {
    for (const id of c.heldIds()) {
      let list = heldBy.get(id);
      if (list === undefined) heldBy.set(id, (list = []));
      list.push(c.id);
    }
  }

  const objects: ObjectRow[] = [];
  const waits: WaitRow[] = [];
  let truncated = false;
  for (const o of view.objects()) {
    const row = objectRow(o, nowMs, heldBy, shared, options.values);
    const { kind, ...plain } = row;
    if (objects.length < MAX_OBJECTS) objects.push(plain);
    else truncated = true;
    const waiters = waiting.get(o.id) ?? [];
    // Someone waiting in `wait` on a condition registered to be woken, not to hold it.
    const waitingIn = new Set(waiters.filter((w) => w.method === 'wait' || w.method === 'wait_for').map((w) => w.connection));
    const holding = (holders.get(o.id) ?? []).filter((c) => !waitingIn.has(c));
    if ((WAIT_KINDS.has(kind) || waiters.length > 0 || holding.length > 0) && waits.length < MAX_OBJECTS) {
      const state = kind === 'queue' && row.size !== null ? `depth ${row.size}${row.state === null ? '' : `, ${row.state}`}` : row.state;
      waits.push({ id: o.id, typeid: o.typeid, name: row.name, kind, state, holders: holding, waiters });
    }
  }

  const dialects: Record<string, number> = { cpython: 0, native: 0, browser: 0 };
  const encryptions: Record<string, number> = {};
  let blocked = 0;
  const connectionRows = connections.map((c): ConnectionRow => {
    dialects[c.dialect] = (dialects[c.dialect] ?? 0) + 1;
    const protection = c.encryption ?? 'in clear';
    encryptions[protection] = (encryptions[protection] ?? 0) + 1;
    blocked += c.inflight.size;
    return {
      id: c.id,
      peer: c.peer,
      transport: c.transport,
      dialect: c.dialect,
      encryption: c.encryption,
      origin: c.origin,
      openedAt: c.openedAt,
      calls: c.calls,
      errors: c.errors,
      bytesIn: c.bytesIn,
      bytesOut: c.bytesOut,
      inflight: [...c.inflight].map((call: InflightCall) => ({
        typeid: call.target?.typeid ?? '(server)',
        objectId: call.target?.id ?? null,
        method: call.method,
        ms: Math.round(now - call.started),
      })),
    };
  });

  const series = activity?.series() ?? [];
  const last = series[series.length - 1];
  return {
    version: options.version,
    address: formatAddress(view.address),
    startedAt: view.startedAt,
    now: nowMs,
    uptimeSeconds: Math.round((nowMs - view.startedAt) / 1000),
    encryption: view.encryption,
    tls: view.tls,
    watching: activity !== null,
    showsValues: options.values,
    allowsActions: options.actions,
    totals: {
      connections: view.connections,
      objects: view.objectCount,
      calls: activity?.totalCalls ?? 0,
      errors: activity?.totalErrors ?? 0,
      callsPerSecond: last?.calls ?? 0,
      bytesIn: activity?.bytesIn ?? 0,
      bytesOut: activity?.bytesOut ?? 0,
      authFailures: view.authFailures,
      blockedCalls: blocked,
    },
    dialects,
    encryptions,
    objects,
    objectsTruncated: truncated,
    waits,
    connections: connectionRows,
    errors: activity?.recentErrors() ?? [],
    slow: activity?.slowCalls() ?? [],
    series: options.latestOnly ? (last === undefined ? [] : [last]) : series,
  };
}
