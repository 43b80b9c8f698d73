/**
 * `Lock`, `RLock`, `Semaphore` and `BoundedSemaphore`, as Python's `threading` ones, served to many
 * connections at once. The caller is the connection (`currentCall().owner`): CPython gives every client
 * thread its own connection, so "owned by the connection" is what "owned by the thread" was; a native
 * client multiplexes its tasks on one connection, and they share that ownership.
 *
 * Waiters are FIFO and a release hands the lock (or permit) straight to the first waiter, so a later
 * caller never overtakes one that waits. What a connection holds when it closes, however it closes, is
 * released and goes to the next waiter: one crashed client cannot wedge the others.
 */
import { PyRuntimeError, ValueError } from '../../python-errors.js';
import { currentCall, type Owner } from '../../server/context.js';
import { GET_VALUE, PY_SIGNATURES } from '../../server/dispatch.js';
import { PY_REPR } from '../../python-repr.js';
import { toInt, truth } from '../../server/py.js';
import { WaitQueue, lockTimeout, seconds } from '../../server/wait.js';

/**
 * What a `Condition` needs of its lock: CPython's `_is_owned`, `_release_save` and `_acquire_restore`,
 * plus acquire and release on behalf of a given owner.
 */
export interface ConditionLock {
  /** The caller's `acquire(blocking, timeout)` (reads `currentCall()`). */
  acquire(blocking?: unknown, timeout?: unknown): boolean | Promise<boolean>;
  locked(): boolean;
  _acquire_for(owner: Owner, blocking: boolean, timeout: number | null, signal?: AbortSignal): boolean | Promise<boolean>;
  _release_for(owner: Owner): void;
  _is_owned(owner: Owner): boolean;
  /** Releases the lock completely and returns what `_acquire_restore` needs to take it back. */
  _release_save(owner: Owner): number;
  /** Takes the lock back for `owner` (waiting as long as it takes, or until `signal`) with the saved state. */
  _acquire_restore(owner: Owner, state: number, signal?: AbortSignal): void | Promise<void>;
}

/** Python's `threading.Lock`: any caller may release it; the connection that took it loses it on close. */
export class Lock implements ConditionLock {
  static readonly [PY_SIGNATURES] = { acquire: ['blocking', 'timeout'] };
  #holder: Owner | null = null;
  #unregister: (() => void) | null = null;
  readonly #waiters = new WaitQueue<Owner, boolean>();

  /** Takes the lock; `false` when not blocking (or on timeout) and it is held. */
  acquire(blocking: unknown = true, timeout: unknown = -1): boolean | Promise<boolean> {
    const call = currentCall();
    const block = truth(blocking);
    const t = lockTimeout(block, timeout);
    if (this.#holder === null) return this._acquire_for(call.owner, block, t);
    return this._acquire_for(call.owner, block, t, call.signal);
  }

  release(): void {
    if (this.#holder === null) throw new PyRuntimeError('release unlocked lock');
    this.#release();
  }

  locked(): boolean {
    return this.#holder !== null;
  }

  _acquire_for(owner: Owner, blocking: boolean, timeout: number | null, signal?: AbortSignal): boolean | Promise<boolean> {
    if (this.#holder === null) {
      this.#take(owner);
      return true;
    }
    if (!blocking) return false;
    return this.#waiters.wait(owner, { timeout, signal, onTimeout: () => false });
  }

  _release_for(_owner: Owner): void {
    this.release();
  }

  /** As CPython's Condition with a plain Lock: owned means locked (a Lock has no owner to check). */
  _is_owned(_owner: Owner): boolean {
    return this.#holder !== null;
  }

  _release_save(_owner: Owner): number {
    this.release();
    return 1;
  }

  _acquire_restore(owner: Owner, _state: number, signal?: AbortSignal): void | Promise<void> {
    const got = this._acquire_for(owner, true, null, signal);
    if (typeof got !== 'boolean') return got.then(() => undefined);
  }

  #take(owner: Owner): void {
    this.#holder = owner;
    this.#unregister = owner.onClose(() => {
      if (this.#holder === owner) this.#release();
    });
  }

  #release(): void {
    this.#unregister?.();
    this.#unregister = null;
    this.#holder = null;
    const next = this.#waiters.shift();
    if (next) {
      this.#take(next.data);
      next.resolve(true);
    }
  }

  [GET_VALUE](): { locked: boolean } {
    return { locked: this.locked() };
  }

  [PY_REPR](): string {
    return `<${this.locked() ? 'locked' : 'unlocked'} _thread.lock object>`;
  }
}

/** Python's `threading.RLock`: re-entrant for its owner; only the owner may release it. */
export class RLock implements ConditionLock {
  static readonly [PY_SIGNATURES] = { acquire: ['blocking', 'timeout'] };
  #holder: Owner | null = null;
  #count = 0;
  #unregister: (() => void) | null = null;
  /** Waiters, with the recursion count they take the lock with (1, or a Condition's saved count). */
  readonly #waiters = new WaitQueue<{ owner: Owner; count: number }, boolean>();

  acquire(blocking: unknown = true, timeout: unknown = -1): boolean | Promise<boolean> {
    const call = currentCall();
    const block = truth(blocking);
    const t = lockTimeout(block, timeout);
    if (this.#holder === null || this.#holder === call.owner) return this._acquire_for(call.owner, block, t);
    return this._acquire_for(call.owner, block, t, call.signal);
  }

  release(): void {
    this._release_for(currentCall().owner);
  }

  locked(): boolean {
    return this.#holder !== null;
  }

  _acquire_for(owner: Owner, blocking: boolean, timeout: number | null, signal?: AbortSignal): boolean | Promise<boolean> {
    return this.#acquire(owner, 1, blocking, timeout, signal);
  }

  _release_for(owner: Owner): void {
    if (this.#holder !== owner) throw new PyRuntimeError('cannot release un-acquired lock');
    if (--this.#count === 0) this.#release();
  }

  _is_owned(owner: Owner): boolean {
    return this.#holder === owner;
  }

  _release_save(owner: Owner): number {
    if (this.#holder !== owner) throw new PyRuntimeError('cannot release un-acquired lock');
    const count = this.#count;
    this.#release();
    return count;
  }

  _acquire_restore(owner: Owner, state: number, signal?: AbortSignal): void | Promise<void> {
    const got = this.#acquire(owner, state, true, null, signal);
    if (typeof got !== 'boolean') return got.then(() => undefined);
  }

  #acquire(owner: Owner, count: number, blocking: boolean, timeout: number | null, signal?: AbortSignal): boolean | Promise<boolean> {
    if (this.#holder === owner) {
      this.#count += count;
      return true;
    }
    if (this.#holder === null) {
      this.#take(owner, count);
      return true;
    }
    if (!blocking) return false;
    return this.#waiters.wait({ owner, count }, { timeout, signal, onTimeout: () => false });
  }

  #take(owner: Owner, count: number): void {
    this.#holder = owner;
    this.#count = count;
    this.#unregister = owner.onClose(() => {
      if (this.#holder === owner) this.#release();
    });
  }

  #release(): void {
    this.#unregister?.();
    this.#unregister = null;
    this.#holder = null;
    this.#count = 0;
    const next = this.#waiters.shift();
    if (next) {
      this.#take(next.data.owner, next.data.count);
      next.resolve(true);
    }
  }

  [GET_VALUE](): { locked: boolean; count: number } {
    return { locked: this.locked(), count: this.#count };
  }

  [PY_REPR](): string {
    const owner = this.#holder === null ? '0' : `'${this.#holder.id}'`;
    return `<${this.locked() ? 'locked' : 'unlocked'} _thread.RLock object owner=${owner} count=${this.#count}>`;
  }
}

/**
 * The permits each connection holds, so that a closed connection's come back. A semaphore has no owner
 * in Python (one caller may acquire and another release, e.g. to signal), so only permits taken from the
 * initial value count as held, and a release by a caller that holds none gives back the oldest hold when
 * every permit is already accounted for. A closed connection therefore never returns a permit twice, nor
 * one it consumed as a signal.
 */
class Holds {
  readonly #byOwner = new Map<Owner, { count: number; unregister: () => void }>();
  #total = 0;
  readonly #onClosed: (count: number) => void;

  constructor(onClosed: (count: number) => void) {
    this.#onClosed = onClosed;
  }

  get total(): number {
    return this.#total;
  }

  add(owner: Owner): void {
    let hold = this.#byOwner.get(owner);
    if (!hold) {
      hold = { count: 0, unregister: owner.onClose(() => this.#closed(owner)) };
      this.#byOwner.set(owner, hold);
    }
    hold.count++;
    this.#total++;
  }

  /** Gives back up to `n` of `owner`'s holds; returns how many. */
  credit(owner: Owner, n: number): number {
    const hold = this.#byOwner.get(owner);
    if (!hold) return 0;
    const k = Math.min(n, hold.count);
    this.#drop(owner, hold, k);
    return k;
  }

  /** Gives back up to `n` holds, oldest holder first. */
  creditOldest(n: number): void {
    for (const [owner, hold] of this.#byOwner) {
      if (n <= 0) return;
      const k = Math.min(n, hold.count);
      this.#drop(owner, hold, k);
      n -= k;
    }
  }

  #drop(owner: Owner, hold: { count: number; unregister: () => void }, k: number): void {
    hold.count -= k;
    this.#total -= k;
    if (hold.count === 0) {
      hold.unregister();
      this.#byOwner.delete(owner);
    }
  }

  #closed(owner: Owner): void {
    const hold = this.#byOwner.get(owner);
    if (!hold) return;
    this.#byOwner.delete(owner);
    this.#total -= hold.count;
    this.#onClosed(hold.count);
  }
}

/** Python's `threading.Semaphore(value=1)`. */
export class Semaphore {
  static readonly [PY_SIGNATURES] = { constructor: ['value'], acquire: ['blocking', 'timeout'], release: ['n'] };
  #value: number;
  readonly #initial: number;
  readonly #waiters = new WaitQueue<Owner, boolean>();
  readonly #holds = new Holds((count) => this.#give(count));

  constructor(value: unknown = 1) {
    const v = toInt(value);
    if (v < 0) throw new ValueError('semaphore initial value must be >= 0');
    this.#value = v;
    this.#initial = v;
  }

  /** Takes a permit; `false` when not blocking (or on timeout) and none is free. */
  acquire(blocking: unknown = true, timeout: unknown = null): boolean | Promise<boolean> {
    const call = currentCall();
    const block = truth(blocking);
    if (!block && timeout !== null && timeout !== undefined) throw new ValueError("can't specify timeout for non-blocking acquire");
    const t = seconds(timeout);
    if (this.#value > 0) {
      this.#value--;
      this.#hold(call.owner);
      return true;
    }
    if (!block) return false;
    return this.#waiters.wait(call.owner, { timeout: t, signal: call.signal, onTimeout: () => false });
  }

  /** Gives back `n` permits (Python 3.9+). */
  release(n: unknown = 1): void {
    const count = toInt(n);
    if (count < 1) throw new ValueError('n must be one or more');
    this.checkRelease(count);
    const owner = currentCall().owner;
    const rest = count - this.#holds.credit(owner, count);
    const excess = this.#value + this.#holds.total + rest - this.#initial;
    if (rest > 0 && excess > 0) this.#holds.creditOldest(Math.min(rest, excess));
    this.#give(count);
  }

  /** Whether no permit is free (as asyncio's `Semaphore.locked()`). */
  locked(): boolean {
    return this.#value === 0;
  }

  /** Bounded semaphores refuse releases past the initial value. */
  protected checkRelease(_n: number): void {}

  protected get value(): number {
    return this.#value;
  }

  protected get initialValue(): number {
    return this.#initial;
  }

  #hold(owner: Owner): void {
    if (this.#holds.total < this.#initial) this.#holds.add(owner);
  }

  #give(count: number): void {
    for (let i = 0; i < count; i++) {
      const next = this.#waiters.shift();
      if (next) {
        this.#hold(next.data);
        next.resolve(true);
      } else this.#value++;
    }
  }

  [GET_VALUE](): { value: number } {
    return { value: this.#value };
  }

  [PY_REPR](): string {
    return `<threading.Semaphore: value=${this.#value}>`;
  }
}

/** Python's `threading.BoundedSemaphore(value=1)`: releasing past the initial value is a `ValueError`. */
export class BoundedSemaphore extends Semaphore {
  protected override checkRelease(n: number): void {
    if (this.value + n > this.initialValue) throw new ValueError('Semaphore released too many times');
  }

  override [PY_REPR](): string {
    return `<threading.BoundedSemaphore: value=${this.value}/${this.initialValue}>`;
  }
}
