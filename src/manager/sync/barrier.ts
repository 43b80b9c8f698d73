/**
 * Python's `threading.Barrier(parties, action=None, timeout=None)`. `wait` returns the caller's arrival
 * index (0 for the first of a round, `parties - 1` for the one that completes it); the last arrival runs
 * `action` (an in-process function: code cannot travel) and releases the round at once, so the barrier
 * never has a draining state.
 *
 * The barrier breaks (every waiter gets `BrokenBarrierError`, and so does every later `wait` until
 * `reset()`) on `abort()`, when a wait times out, when `action` throws, and when a waiting party goes
 * away: its call's signal aborts (a cancel, or its connection closed), so the others are not left
 * waiting for a party that will never arrive.
 */
import { AttributeError, BrokenBarrierError, ValueError } from '../../python-errors.js';
import { currentCall } from '../../server/context.js';
import { GET_VALUE, PY_SIGNATURES } from '../../server/dispatch.js';
import { PY_REPR } from '../../python-repr.js';
import { toInt } from '../../server/py.js';
import { WaitQueue, seconds } from '../../server/wait.js';

/** Attributes `__getattribute__` serves (CPython's BarrierProxy reads these three). */
const ATTRIBUTES = new Set(['parties', 'n_waiting', 'broken']);

export class Barrier {
  static readonly [PY_SIGNATURES] = { constructor: ['parties', 'action', 'timeout'], wait: ['timeout'] };
  readonly #parties: number;
  readonly #action: (() => unknown) | null;
  readonly #timeout: number | null;
  #broken = false;
  /** This round's waiters, each with its arrival index. */
  readonly #waiters = new WaitQueue<number, number>();

  constructor(parties: unknown, action: unknown = null, timeout: unknown = null) {
    const n = toInt(parties);
    if (n < 1) throw new ValueError('parties must be >= 1');
    this.#parties = n;
    this.#action = typeof action === 'function' ? (action as () => unknown) : null;
    this.#timeout = seconds(timeout);
  }

  get parties(): number {
    return this.#parties;
  }

  get n_waiting(): number {
    return this.#waiters.size;
  }

  get broken(): boolean {
    return this.#broken;
  }

  /** Waits for the round to fill; returns this caller's arrival index. `timeout` defaults to the barrier's. */
  wait(timeout: unknown = null): number | Promise<number> {
    const t = timeout === null || timeout === undefined ? this.#timeout : seconds(timeout);
    if (this.#broken) throw new BrokenBarrierError();
    const index = this.#waiters.size;
    if (index + 1 === this.#parties) {
      if (this.#action) {
        try {
          this.#action();
        } catch (err) {
          this.#break();
          throw err;
        }
      }
      for (const w of this.#waiters.drain()) w.resolve(w.data);
      return index;
    }
    return this.#waiters.wait(index, {
      timeout: t,
      signal: currentCall().signal,
      onTimeout: () => {
        this.#break();
        throw new BrokenBarrierError();
      },
      onAbort: () => this.#break(),
    });
  }

  /** Breaks the barrier: waiters and later callers get `BrokenBarrierError` until `reset()`. */
  abort(): void {
    this.#break();
  }

  /** Back to the empty, unbroken state; current waiters get `BrokenBarrierError`. */
  reset(): void {
    for (const w of this.#waiters.drain()) w.reject(new BrokenBarrierError());
    this.#broken = false;
  }

  /** CPython's BarrierProxy reads `parties`, `n_waiting` and `broken` through `__getattribute__`. */
  __getattribute__(name: unknown): unknown {
    if (typeof name === 'string' && ATTRIBUTES.has(name)) return this[name as 'parties' | 'n_waiting' | 'broken'];
    throw new AttributeError(`'Barrier' object has no attribute '${String(name)}'`);
  }

  #break(): void {
    this.#broken = true;
    for (const w of this.#waiters.drain()) w.reject(new BrokenBarrierError());
  }

  [GET_VALUE](): { parties: number; n_waiting: number; broken: boolean } {
    return { parties: this.#parties, n_waiting: this.n_waiting, broken: this.#broken };
  }

  [PY_REPR](): string {
    if (this.#broken) return '<threading.Barrier: broken>';
    return `<threading.Barrier: waiters=${this.n_waiting}/${this.#parties}>`;
  }
}
