/**
 * Blocking without polling and without a connection per waiter. Each shared object has one `WaitRoom` per
 * server, holding that server's callers waiting on it, in lines (a queue's getters, its putters, its
 * joiners). A room subscribes to the object's wake channel while anyone waits in it (one subscriber
 * connection serves every room) and retries its waiters when:
 *
 *   - a message arrives on the channel (every change that may unblock someone publishes one, in the same
 *     Lua script as the change);
 *   - an attempt said when to retry (a lock's remaining lease, PTTL: its holder's server may be dead and
 *     will publish nothing) - a timer at a known time, not a poll;
 *   - a connection to Redis came back (messages published while it was down are lost: pub/sub is
 *     at-most-once), or a reaper returned something a dead server held.
 *
 * A waiter subscribes before its attempt inside the room, so a change between a failed attempt and the
 * wait cannot be missed: it either happened before the attempt (which sees it) or publishes after the
 * subscription (which hears it).
 *
 * Two kinds of line:
 *   fifo     each waiter makes its own attempt (take an item, a lock, a permit), oldest first; the first
 *            miss ends the round, since the others would miss too. Waiters of one server are served in
 *            order; across servers whoever retries first wins (there is no global order).
 *   watch    one probe per round (an Event's flag, a queue's unfinished count) and every waiter it
 *            satisfies is released.
 *
 * Timeouts and aborts: a waiter leaves at once unless its attempt is in flight; then the attempt decides.
 * A success that crosses a timeout wins (the caller gets the item); a success that crosses an abort is
 * given back with the line's `undo` (the item goes back to the head, the lock is released).
 *
 * While Redis is unreachable, attempts fail with an unreachable BackendError and waiters stay (until their
 * timeout): the round ends, to start again when the connection is back.
 */
import { debuglog } from 'node:util';
import { isUnreachable, type Store } from './store.js';
import { startTimer } from '../../server/wait.js';

const debug = debuglog('mpmanager');

/** The result of one attempt: got it (`value`), or not yet (retry on a wake, or in `retryInMs`). */
export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly retryInMs?: number | undefined };

export const MISS: Outcome<never> = Object.freeze({ ok: false });

export function hit<T>(value: T): Outcome<T> {
  return { ok: true, value };
}

/** How long a room stays subscribed after its last waiter left, ms: waits often come in bursts. */
const LINGER_MS = 5000;
/** Margin past a lease's expiry before retrying, ms (Redis expires keys lazily within about a millisecond). */
const RETRY_MARGIN_MS = 2;

export interface WaitOptions<T> {
  /** When to give up (ms since the epoch), or null for never. */
  readonly deadline: number | null;
  /** The call's signal: an abort leaves the line and rejects with its reason. */
  readonly signal: AbortSignal;
  /** The outcome at the deadline (return a value or throw, e.g. `Empty`). */
  onTimeout(): T | Promise<T>;
}

export interface FifoOptions<T> extends WaitOptions<T> {
  /** Gives back what an attempt took for a caller whose call was aborted meanwhile. */
  undo?(value: T): Promise<void>;
}

type State = 'waiting' | 'trying' | 'done';

interface Entry<T> {
  state: State;
  abandoned: 'timeout' | 'abort' | null;
  readonly options: WaitOptions<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
  /** Clears the timer and the abort listener. */
  disarm(): void;
}

interface FifoEntry<T> extends Entry<T> {
  readonly attempt: () => Promise<Outcome<T>>;
  readonly options: FifoOptions<T>;
}

interface WatchEntry<P, T> extends Entry<T> {
  readonly check: (probe: P) => Outcome<T>;
}

interface Line {
  readonly size: number;
  /** One round of attempts; resolves when it has ended. */
  pump(room: WaitRoom): Promise<void>;
  /** Rejects every waiter. */
  fail(err: unknown): void;
}


/** Whether `entry` was settled meanwhile (read through a call, so the compiler does not narrow it away). */
function isDone(entry: Entry<unknown>): boolean {
  return entry.state === 'done';
}

function settleTimeout<T>(entry: Entry<T>): void {
  entry.state = 'done';
  entry.disarm();
  Promise.resolve()
    .then(() => entry.options.onTimeout())
    .then(entry.resolve, entry.reject);
}

function settleAbort<T>(entry: Entry<T>): void {
  entry.state = 'done';
  entry.disarm();
  entry.reject(entry.options.signal.reason);
}

/** Arms `entry`'s deadline and abort signal; `onFire` decides what either does. */
function arm<T>(entry: Entry<T>, onFire: (why: 'timeout' | 'abort') => void): void {
  const { deadline, signal } = entry.options;
  const abort = (): void => onFire('abort');
  const stopTimer = deadline === null ? null : startTimer(deadline - Date.now(), () => onFire('timeout'));
  signal.addEventListener('abort', abort, { once: true });
  entry.disarm = () => {
    stopTimer?.();
    signal.removeEventListener('abort', abort);
  };
}

class FifoLine implements Line {
  readonly #entries: Array<FifoEntry<unknown>> = [];

  get size(): number {
    return this.#entries.length;
  }

  add<T>(entry: FifoEntry<T>): void {
    this.#entries.push(entry as FifoEntry<unknown>);
    arm(entry, (why) => {
      if (entry.state === 'done') return;
      if (entry.state === 'trying') {
        entry.abandoned = why;
        return;
      }
      this.#remove(entry as FifoEntry<unknown>);
      if (why === 'timeout') settleTimeout(entry);
      else settleAbort(entry);
    });
  }

  async pump(room: WaitRoom): Promise<void> {
    for (let entry = this.#entries[0]; entry !== undefined; entry = this.#entries[0]) {
      if (entry.state === 'done') {
        this.#remove(entry);
        continue;
      }
      entry.state = 'trying';
      let outcome: Outcome<unknown>;
      try {
        outcome = await entry.attempt();
      } catch (err) {
        if (isDone(entry)) continue; // failed meanwhile (the room closed)
        if (isUnreachable(err)) {
          // Redis is down: the waiter stays (unless it was given up meanwhile) until it is back.
          entry.state = 'waiting';
          if (entry.abandoned !== null) this.#giveUp(entry);
          return;
        }
        this.#remove(entry);
        entry.state = 'done';
        entry.disarm();
        entry.reject(err);
        continue;
      }
      if (outcome.ok) {
        this.#remove(entry);
        const closed = isDone(entry);
        entry.state = 'done';
        entry.disarm();
        if (closed || entry.abandoned === 'abort') {
          // Its caller is gone: what the attempt took goes back.
          const undo = entry.options.undo;
          if (undo !== undefined) await undo(outcome.value).catch((err: unknown) => debug('redis: giving back what an aborted call took failed: %s', (err as Error).message));
          if (!closed) entry.reject(entry.options.signal.reason);
        } else entry.resolve(outcome.value);
        continue;
      }
      if (isDone(entry)) continue;
      if (entry.abandoned !== null) {
        this.#giveUp(entry);
        continue;
      }
      entry.state = 'waiting';
      if (outcome.retryInMs !== undefined) room.retryIn(outcome.retryInMs);
      return;
    }
  }

  fail(err: unknown): void {
    for (const entry of this.#entries.splice(0)) {
      if (entry.state === 'done') continue;
      entry.state = 'done';
      entry.disarm();
      entry.reject(err);
    }
  }

  #giveUp(entry: FifoEntry<unknown>): void {
    this.#remove(entry);
    if (entry.abandoned === 'timeout') settleTimeout(entry);
    else settleAbort(entry);
  }

  #remove(entry: FifoEntry<unknown>): void {
    const i = this.#entries.indexOf(entry);
    if (i >= 0) this.#entries.splice(i, 1);
  }
}

class WatchLine<P> implements Line {
  readonly #entries = new Set<WatchEntry<P, unknown>>();
  readonly #probe: () => Promise<P>;

  constructor(probe: () => Promise<P>) {
    this.#probe = probe;
  }

  get size(): number {
    return this.#entries.size;
  }

  add<T>(entry: WatchEntry<P, T>): void {
    this.#entries.add(entry as WatchEntry<P, unknown>);
    arm(entry, (why) => {
      if (!this.#entries.delete(entry as WatchEntry<P, unknown>)) return;
      if (why === 'timeout') settleTimeout(entry);
      else settleAbort(entry);
    });
  }

  async pump(): Promise<void> {
    if (this.#entries.size === 0) return;
    let probe: P;
    try {
      probe = await this.#probe();
    } catch (err) {
      if (!isUnreachable(err)) this.fail(err);
      return;
    }
    for (const entry of [...this.#entries]) {
      const outcome = entry.check(probe);
      if (!outcome.ok) continue;
      this.#entries.delete(entry);
      entry.state = 'done';
      entry.disarm();
      entry.resolve(outcome.value);
    }
  }

  fail(err: unknown): void {
    for (const entry of [...this.#entries]) {
      this.#entries.delete(entry);
      entry.state = 'done';
      entry.disarm();
      entry.reject(err);
    }
  }
}

/** The waiters of one object on this server. */
export class WaitRoom {
  readonly #store: Store;
  readonly #channel: string;
  readonly #lines = new Map<string, Line>();
  readonly #listener = (): void => this.wake();
  #users = 0;
  #subscribed: Promise<void> | null = null;
  #stopLinger: (() => void) | null = null;
  #stopRetry: (() => void) | null = null;
  #retryAt = Infinity;
  #pumping = false;
  #again = false;
  #closedWith: unknown = null;

  constructor(store: Store, channel: string) {
    this.#store = store;
    this.#channel = channel;
  }

  /** Whether callers wait in line `name` (a blocking caller then queues behind them rather than trying first). */
  has(name: string): boolean {
    return (this.#lines.get(name)?.size ?? 0) > 0;
  }

  /** How many callers wait here. */
  get waiting(): number {
    let n = 0;
    for (const line of this.#lines.values()) n += line.size;
    return n;
  }

  /** Waits in line `name`, retrying `attempt` until it succeeds, the deadline passes or the call aborts. */
  async fifo<T>(name: string, attempt: () => Promise<Outcome<T>>, options: FifoOptions<T>): Promise<T> {
    const line = this.#line(name, () => new FifoLine());
    if (!(line instanceof FifoLine)) throw new TypeError(`line ${name} is not a fifo line`);
    return this.#enter((resolve, reject) => {
      line.add<T>({ state: 'waiting', abandoned: null, options, attempt, resolve, reject, disarm: () => {} });
    }, options.signal);
  }

  /** Waits in line `name` until `check` accepts a probe (one `probe` per round serves the whole line). */
  async watch<P, T>(name: string, probe: () => Promise<P>, check: (p: P) => Outcome<T>, options: WaitOptions<T>): Promise<T> {
    const line = this.#line(name, () => new WatchLine<P>(probe));
    if (!(line instanceof WatchLine)) throw new TypeError(`line ${name} is not a watch line`);
    return this.#enter((resolve, reject) => {
      (line as WatchLine<P>).add<T>({ state: 'waiting', abandoned: null, options, check, resolve, reject, disarm: () => {} });
    }, options.signal);
  }

  /** Retries the waiters (a wake message, a connection back, a reaper's find). */
  wake(): void {
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    if (this.waiting === 0) return;
    this.#pump().catch((err: unknown) => debug('redis: retrying waiters failed: %s', (err as Error).message));
  }

  /** Retries in `ms` (or earlier, if already due earlier). */
  retryIn(ms: number): void {
    const at = Date.now() + Math.max(0, ms) + RETRY_MARGIN_MS;
    if (at >= this.#retryAt) return;
    this.#stopRetry?.();
    this.#retryAt = at;
    this.#stopRetry = startTimer(at - Date.now(), () => {
      this.#stopRetry = null;
      this.#retryAt = Infinity;
      this.wake();
    });
  }

  /** Rejects every waiter with `err`, and every later one. */
  close(err: unknown): void {
    this.#closedWith = err;
    for (const line of this.#lines.values()) line.fail(err);
    this.#stopRetry?.();
    this.#stopLinger?.();
    if (this.#subscribed !== null) this.#store.unsubscribe(this.#channel, this.#listener);
    this.#subscribed = null;
  }

  #line(name: string, make: () => Line): Line {
    let line = this.#lines.get(name);
    if (line === undefined) {
      line = make();
      this.#lines.set(name, line);
    }
    return line;
  }

  async #enter<T>(add: (resolve: (v: T) => void, reject: (e: unknown) => void) => void, signal: AbortSignal): Promise<T> {
    if (this.#closedWith !== null) throw this.#closedWith;
    if (signal.aborted) throw signal.reason;
    await this.#join();
    try {
      if (this.#closedWith !== null) throw this.#closedWith;
      const waited = new Promise<T>(add);
      this.wake();
      return await waited;
    } finally {
      this.#leave();
    }
  }

  /** Counts a user, subscribing first if none was here; the subscription is confirmed when this resolves. */
  async #join(): Promise<void> {
    this.#users++;
    this.#stopLinger?.();
    this.#stopLinger = null;
    if (this.#subscribed === null) {
      const subscribing = this.#store.subscribe(this.#channel, this.#listener);
      this.#subscribed = subscribing;
      subscribing.catch(() => {
        if (this.#subscribed === subscribing) this.#subscribed = null;
      });
    }
    try {
      await this.#subscribed;
    } catch (err) {
      this.#users--;
      throw err;
    }
  }

  #leave(): void {
    if (--this.#users > 0) return;
    this.#stopRetry?.();
    this.#stopRetry = null;
    this.#retryAt = Infinity;
    this.#stopLinger = startTimer(LINGER_MS, () => {
      this.#stopLinger = null;
      if (this.#users > 0 || this.#subscribed === null) return;
      this.#subscribed = null;
      this.#store.unsubscribe(this.#channel, this.#listener);
    });
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      do {
        this.#again = false;
        for (const line of this.#lines.values()) await line.pump(this);
      } while (this.#again);
    } finally {
      this.#pumping = false;
    }
  }
}
