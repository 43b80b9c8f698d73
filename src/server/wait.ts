/**
 * Waiting without blocking: the FIFO wait queue every blocking referent is built on (DESIGN.md, "Blocking
 * without blocking"). A waiter is a promise settled by the referent itself (a release, a put, a notify),
 * by its timeout, or by the call's abort signal. There is no polling: timers are `unref()`ed and cleared
 * as soon as the waiter settles, and an aborted waiter leaves the queue at once.
 */
import { ValueError } from '../python-errors.js';

/** Longest delay `setTimeout` takes (longer ones fire at once); longer waits re-arm. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Starts an unref'ed timer of `ms` milliseconds (any length: past setTimeout's 2^31-1 it re-arms); returns
 * the function that clears it.
 */
export function startTimer(ms: number, fire: () => void): () => void {
  let remaining = Math.max(0, ms);
  let handle: NodeJS.Timeout;
  const arm = (): void => {
    const delay = Math.min(remaining, MAX_TIMER_MS);
    remaining -= delay;
    handle = setTimeout(remaining > 0 ? arm : fire, delay);
    handle.unref();
  };
  arm();
  return () => clearTimeout(handle);
}

/**
 * A timeout as Python takes it, in seconds: `null`/`undefined` (and +infinity) wait forever.
 * Rejects what is not a number, as Python's `TypeError`-free APIs would fail later anyway.
 */
export function seconds(timeout: unknown): number | null {
  if (timeout === null || timeout === undefined) return null;
  const t = typeof timeout === 'bigint' ? Number(timeout) : timeout;
  if (typeof t !== 'number' || Number.isNaN(t)) throw new ValueError(`timeout must be a number of seconds or None, not ${String(timeout)}`);
  return t === Infinity ? null : t;
}

/** `queue.Queue.get`/`put`'s check: a negative timeout is a `ValueError`. */
export function blockingTimeout(timeout: unknown): number | null {
  const t = seconds(timeout);
  if (t !== null && t < 0) throw new ValueError("'timeout' must be a non-negative number");
  return t;
}

/**
 * `acquire(blocking, timeout)` arguments as `_thread.lock.acquire` checks them: `timeout` -1 or None
 * waits forever; a timeout with `blocking=False` is a `ValueError`.
 */
export function lockTimeout(blocking: boolean, timeout: unknown): number | null {
  const t = seconds(timeout);
  if (t === null || t === -1) return null;
  if (!blocking) throw new ValueError("can't specify a timeout for a non-blocking call");
  if (t < 0) throw new ValueError('timeout value must be a non-negative number');
  return t;
}

export interface WaitOptions<T> {
  /** Seconds; `null` waits forever, `<= 0` times out at once (without queueing). */
  timeout: number | null;
  /** The call's signal: when it aborts, the waiter leaves the queue and the wait rejects with its reason. */
  signal?: AbortSignal | undefined;
  /** The outcome when the timeout passes: return a value or throw (e.g. `Empty`). */
  onTimeout: () => T;
  /** Runs when the signal aborted the wait, after the waiter left the queue. */
  onAbort?: () => void;
}

/** One queued waiter: `data` says who or what waits; the referent settles it after `shift()`. */
export interface Waiter<D, T> {
  readonly data: D;
  resolve(value: T): void;
  reject(error: unknown): void;
}

interface Entry<D, T> extends Waiter<D, T> {
  /** Clears the timer and the abort listener. */
  disarm(): void;
}

/** A FIFO queue of waiters. Only the referent that owns it settles them, so hand-offs are atomic. */
export class WaitQueue<D = undefined, T = void> {
  readonly #entries = new Set<Entry<D, T>>();

  get size(): number {
    return this.#entries.size;
  }

  /** Queues a waiter; the promise settles by `shift()`/`drain()` + resolve, by timeout or by abort. */
  wait(data: D, options: WaitOptions<T>): Promise<T> {
    const { timeout, signal, onTimeout, onAbort } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (timeout !== null && timeout <= 0) {
      try {
        return Promise.resolve(onTimeout());
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return new Promise<T>((resolve, reject) => {
      let stopTimer: (() => void) | null = null;
      const abort = (): void => {
        this.#remove(entry);
        onAbort?.();
        reject(signal?.reason);
      };
      const entry: Entry<D, T> = {
        data,
        resolve,
        reject,
        disarm: () => {
          stopTimer?.();
          signal?.removeEventListener('abort', abort);
        },
      };
      this.#entries.add(entry);
      if (timeout !== null) {
        stopTimer = startTimer(timeout * 1000, () => {
          this.#remove(entry);
          try {
            resolve(onTimeout());
          } catch (err) {
            reject(err);
          }
        });
      }
      signal?.addEventListener('abort', abort, { once: true });
    });
  }

  /** The first waiter, still queued. */
  peek(): Waiter<D, T> | undefined {
    for (const entry of this.#entries) return entry;
    return undefined;
  }

  /** Removes the first waiter (its timer and listener cleared); the caller settles it. */
  shift(): Waiter<D, T> | undefined {
    for (const entry of this.#entries) {
      this.#remove(entry);
      return entry;
    }
    return undefined;
  }

  /** Removes every waiter, oldest first; the caller settles them. */
  drain(): Waiter<D, T>[] {
    const all = [...this.#entries];
    for (const entry of all) this.#remove(entry);
    return all;
  }

  #remove(entry: Entry<D, T>): void {
    this.#entries.delete(entry);
    entry.disarm();
  }
}
