/**
 * What a server records of its own activity while something watches it (the inspector, `/metrics`):
 * calls by typeid and method with their outcome and duration, calls in flight per connection, bytes in
 * and out, recent errors and slow calls, and a per-second series for charts. Off by default: a server
 * records nothing until `Server.watch()` makes one, and the sessions' hooks are a null check until then.
 *
 * Nothing here keeps a value a peer sent: a recorded error keeps its type name, and its message only when
 * the operator asked to see values (`keepMessages`); the inspector renders every string as text.
 *
 * Labels stay bounded: a typeid comes from the registry, a method is counted under its own name only when
 * the object exposes it (or it is a server operation), else under `(other)`. Object ids are never labels.
 */
import type { HostedObject } from './objects.js';
import type { ConnectionOwner } from './context.js';

/** Upper bounds, in seconds, of the call-duration histogram's buckets (Prometheus `le`), +Inf implied. */
export const DURATION_BUCKETS: readonly number[] = Object.freeze([0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);

/** The typeid calls to the server itself (create, incref, ...) are counted under. */
export const SERVER_TYPEID = '(server)';
/** The method name calls to names an object does not expose are counted under. */
export const OTHER_METHOD = '(other)';

/** The server operations counted under their own names. */
const SERVER_METHODS: ReadonlySet<string> = new Set([
  'create', 'incref', 'decref', 'get_methods', 'dummy', 'accept_connection', 'debug_info', 'number_of_objects', 'shared_objects', 'shutdown',
]);

/** A connection's dialect as an operator sees it: a browser page is the native dialect over a WebSocket with an Origin. */
export type ConnectionDialect = 'cpython' | 'native' | 'browser';

export interface ActivityOptions {
  /** A call at least this long (ms) goes into the slow-call list. Default 100. */
  slowCallMs?: number | undefined;
  /** Keep error messages (they may quote values a client sent). Default false: the type name only. */
  keepMessages?: boolean | undefined;
  /** Entries kept in the recent-error and slow-call lists. Default 50. */
  recentLimit?: number | undefined;
  /** Seconds of per-second chart series kept. Default 600 (ten minutes). */
  seriesSeconds?: number | undefined;
}

/** Totals of one (typeid, method): calls, errors, and the duration histogram. */
export class CallFigures {
  calls = 0;
  errors = 0;
  /** Sum of durations, seconds. */
  durationSum = 0;
  /** Counts per DURATION_BUCKETS bucket (not cumulative), plus the +Inf bucket last. */
  readonly buckets = new Float64Array(DURATION_BUCKETS.length + 1);
}

/** A call that has not finished: a blocked `get`, a waiting `acquire`, a slow method. */
export interface InflightCall {
  readonly connection: ConnectionStats;
  /** The object called, or null for a server operation. */
  readonly target: HostedObject | null;
  readonly method: string;
  /** `performance.now()` when it started. */
  readonly started: number;
}

export interface RecentCall {
  /** ms since the epoch. */
  readonly at: number;
  readonly connection: string;
  readonly typeid: string;
  readonly method: string;
  readonly objectId: string | null;
  readonly durationMs: number;
}

export interface RecentError extends RecentCall {
  /** The error's class name (`KeyError`, `NotExposedError`, ...). */
  readonly error: string;
  /** Its message, only with `keepMessages`; else null. */
  readonly message: string | null;
}

/** One second of the chart series. */
export interface SecondFigures {
  /** Seconds since the epoch (the end of the second). */
  readonly t: number;
  readonly calls: number;
  readonly errors: number;
  /** Latency percentiles over the calls that ended in that second, ms; null without calls. */
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

/** One connection's figures, made by its session when it opens. */
export class ConnectionStats {
  readonly id: string;
  readonly dialect: ConnectionDialect;
  /** `tcp`, `unix`, `ws`, `memory`. */
  readonly transport: string;
  /** The peer's address as text. */
  readonly peer: string;
  /** What protects it (`aes-256-gcm`, a TLS description) or null in clear. */
  readonly encryption: string | null;
  /** A browser page's Origin, else null. */
  readonly origin: string | null;
  /** ms since the epoch. */
  readonly openedAt = Date.now();
  calls = 0;
  errors = 0;
  /** Frame payload bytes received and sent (framing and encryption overhead not counted). */
  bytesIn = 0;
  bytesOut = 0;
  readonly inflight = new Set<InflightCall>();
  /** The connection as referents see it (what it holds is read from it). */
  readonly owner: ConnectionOwner;
  /** The ids of the objects this connection holds references to (native dialect; CPython's are per process). */
  readonly heldIds: () => Iterable<string>;
  /** Closes the connection (an inspector action): what it held is released. */
  readonly close: () => void;

  constructor(init: {
    id: string;
    dialect: ConnectionDialect;
    transport: string;
    peer: string;
    encryption: string | null;
    origin: string | null;
    owner: ConnectionOwner;
    heldIds: () => Iterable<string>;
    close: () => void;
  }) {
    this.id = init.id;
    this.dialect = init.dialect;
    this.transport = init.transport;
    this.peer = init.peer;
    this.encryption = init.encryption;
    this.origin = init.origin;
    this.owner = init.owner;
    this.heldIds = init.heldIds;
    this.close = init.close;
  }
}

/** Fine latency buckets for the chart's percentiles: bucket k ends at 2^(k/4) µs (up to ~18 min). */
const FINE_PER_OCTAVE = 4;
const FINE_BUCKETS = 120;

/** A ring of the last `limit` entries, oldest first when listed. */
class Ring<T> {
  readonly #items: T[] = [];
  #next = 0;
  readonly #limit: number;
  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }
  push(item: T): void {
    if (this.#items.length < this.#limit) this.#items.push(item);
    else this.#items[this.#next] = item;
    this.#next = (this.#next + 1) % this.#limit;
  }
  list(): T[] {
    return this.#items.length < this.#limit ? this.#items.slice() : [...this.#items.slice(this.#next), ...this.#items.slice(0, this.#next)];
  }
}

export class Activity {
  /** Connections open now. */
  readonly connections = new Set<ConnectionStats>();
  /** Figures by typeid, then method. */
  readonly calls = new Map<string, Map<string, CallFigures>>();
  totalCalls = 0;
  totalErrors = 0;
  bytesIn = 0;
  bytesOut = 0;
  /** Connections opened since watching began. */
  connectionsOpened = 0;
  readonly slowCallMs: number;
  readonly keepMessages: boolean;
  readonly #errors: Ring<RecentError>;
  readonly #slow: Ring<RecentCall>;
  readonly #series: Ring<SecondFigures>;
  /** This second's calls, errors and fine latency histogram. */
  #secondCalls = 0;
  #secondErrors = 0;
  readonly #fine = new Uint32Array(FINE_BUCKETS);
  #timer: ReturnType<typeof setInterval> | null;

  constructor(options: ActivityOptions = {}) {
    this.slowCallMs = options.slowCallMs ?? 100;
    this.keepMessages = options.keepMessages ?? false;
    this.#errors = new Ring(options.recentLimit ?? 50);
    this.#slow = new Ring(options.recentLimit ?? 50);
    this.#series = new Ring(options.seriesSeconds ?? 600);
    this.#timer = setInterval(() => this.#tick(), 1000);
    this.#timer.unref();
  }

  /** Stops the per-second series (the server's shutdown does it). */
  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** A session opened: its figures, counted from now. */
  opened(stats: ConnectionStats): ConnectionStats {
    this.connections.add(stats);
    this.connectionsOpened++;
    return stats;
  }

  closed(stats: ConnectionStats): void {
    this.connections.delete(stats);
  }

  /** A call that will finish later (a promise): listed as in flight until `finished`. */
  started(connection: ConnectionStats, target: HostedObject | null, method: string, started: number): InflightCall {
    const call: InflightCall = { connection, target, method, started };
    connection.inflight.add(call);
    return call;
  }

  /** An in-flight call ended; `error` is what it threw, if it did. */
  finished(call: InflightCall, error?: unknown): void {
    call.connection.inflight.delete(call);
    this.record(call.connection, call.target, call.method, call.started, error);
  }

  /** A call ended: counts it, times it from `started` (`performance.now()`), and lists it if slow or failed. */
  record(connection: ConnectionStats, target: HostedObject | null, method: string, started: number, error?: unknown): void {
    const ms = performance.now() - started;
    const typeid = target === null ? SERVER_TYPEID : target.typeid;
    const name = (target === null ? SERVER_METHODS.has(method) : target.exposed.has(method)) ? method : OTHER_METHOD;
    let byMethod = this.calls.get(typeid);
    if (byMethod === undefined) this.calls.set(typeid, (byMethod = new Map()));
    let figures = byMethod.get(name);
    if (figures === undefined) byMethod.set(name, (figures = new CallFigures()));
    const seconds = ms / 1000;
    figures.calls++;
    figures.durationSum += seconds;
    let b = 0;
    while (b < DURATION_BUCKETS.length && seconds > (DURATION_BUCKETS[b] as number)) b++;
    (figures.buckets[b] as number)++;
    connection.calls++;
    this.totalCalls++;
    this.#secondCalls++;
    const k = ms <= 0.001 ? 0 : Math.min(FINE_BUCKETS - 1, Math.max(0, Math.ceil(Math.log2(ms * 1000) * FINE_PER_OCTAVE)));
    (this.#fine[k] as number)++;
    const failed = error !== undefined;
    if (failed) {
      figures.errors++;
      connection.errors++;
      this.totalErrors++;
      this.#secondErrors++;
    }
    if (!failed && ms < this.slowCallMs) return;
    const entry: RecentCall = { at: Date.now(), connection: connection.id, typeid, method: name, objectId: target?.id ?? null, durationMs: ms };
    if (ms >= this.slowCallMs) this.#slow.push(entry);
    if (failed) {
      const err = error as { name?: unknown; message?: unknown } | null;
      const errorName = typeof err?.name === 'string' ? err.name.slice(0, 80) : typeof error;
      const message = this.keepMessages && typeof err?.message === 'string' ? err.message.slice(0, 300) : null;
      this.#errors.push({ ...entry, error: errorName, message });
    }
  }

  received(connection: ConnectionStats, bytes: number): void {
    connection.bytesIn += bytes;
    this.bytesIn += bytes;
  }

  sent(connection: ConnectionStats, bytes: number): void {
    connection.bytesOut += bytes;
    this.bytesOut += bytes;
  }

  /** Failed and slow calls, oldest first. */
  recentErrors(): RecentError[] {
    return this.#errors.list();
  }

  slowCalls(): RecentCall[] {
    return this.#slow.list();
  }

  /** The per-second series, oldest first. */
  series(): SecondFigures[] {
    return this.#series.list();
  }

  #tick(): void {
    const n = this.#secondCalls;
    const quantile = (q: number): number | null => {
      if (n === 0) return null;
      const rank = Math.ceil(q * n);
      let seen = 0;
      for (let k = 0; k < FINE_BUCKETS; k++) {
        seen += this.#fine[k] as number;
        if (seen >= rank) return 2 ** (k / FINE_PER_OCTAVE) / 1000; // the bucket's upper bound, ms
      }
      return null;
    };
    this.#series.push({ t: Math.round(Date.now() / 1000), calls: n, errors: this.#secondErrors, p50: quantile(0.5), p95: quantile(0.95), p99: quantile(0.99) });
    this.#secondCalls = 0;
    this.#secondErrors = 0;
    this.#fine.fill(0);
  }
}
