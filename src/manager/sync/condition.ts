/**
 * Python's `threading.Condition(lock=None)` (an `RLock` by default, or a hosted `Lock`/`RLock` passed as
 * a proxy). `wait` releases the lock, waits for a notify (FIFO) or the timeout, and takes the lock back
 * before it returns, as Python's does. `wait_for(predicate)` cannot travel (a predicate is code), so the
 * proxy implements it by looping `wait`, as CPython's `ConditionProxy` does.
 *
 * A wait aborted by its signal (the client cancelled it, or its connection closed) rejects at once and
 * takes the lock back for its owner in the background, as Python's `wait` re-acquires before an exception
 * leaves it; a `release` from that owner waits for that to finish, so `finally { release() }` after a
 * cancelled wait releases the lock rather than failing.
 */
import { AbortError } from '../../errors.js';
import { PyRuntimeError, PyTypeError } from '../../python-errors.js';
import { HostedRef } from '../../server/hosted-ref.js';
import { currentCall, type Owner } from '../../server/context.js';
import { GET_VALUE, PY_SIGNATURES } from '../../server/dispatch.js';
import { PY_REPR, pyRepr } from '../../python-repr.js';
import { Lock, RLock, type ConditionLock } from './locks.js';
import { toInt } from '../../server/py.js';
import { WaitQueue, seconds } from '../../server/wait.js';

export class Condition {
  static readonly [PY_SIGNATURES] = { constructor: ['lock'], acquire: ['blocking', 'timeout'], wait: ['timeout'], notify: ['n'] };
  readonly #lock: ConditionLock;
  /** Keeps a hosted lock alive while this condition uses it. */
  readonly #lockRef: HostedRef | null;
  readonly #waiters = new WaitQueue<Owner, boolean>();
  /** Owners whose aborted wait is still taking the lock back. */
  readonly #restoring = new Map<Owner, Promise<void>>();

  constructor(lock: unknown = null) {
    const referent = lock instanceof HostedRef ? lock.referent : lock;
    if (referent === null || referent === undefined) this.#lock = new RLock();
    else if (referent instanceof Lock || referent instanceof RLock) this.#lock = referent;
    else throw new PyTypeError('Condition() takes a Lock or an RLock (a proxy of one), or nothing for a new RLock');
    this.#lockRef = lock instanceof HostedRef ? lock : null;
  }

  /** The underlying lock's `acquire(blocking=True, timeout=-1)`. */
  acquire(blocking: unknown = true, timeout: unknown = -1): boolean | Promise<boolean> {
    return this.#lock.acquire(blocking, timeout);
  }

  release(): void | Promise<void> {
    const owner = currentCall().owner;
    const restoring = this.#restoring.get(owner);
    if (restoring) return restoring.then(() => this.#lock._release_for(owner));
    this.#lock._release_for(owner);
  }

  locked(): boolean {
    return this.#lock.locked();
  }

  /** Waits for a notify or the timeout (seconds; None = forever); `true` when notified. */
  async wait(timeout: unknown = null): Promise<boolean> {
    const { owner, signal } = currentCall();
    const t = seconds(timeout);
    if (!this.#lock._is_owned(owner)) throw new PyRuntimeError('cannot wait on un-acquired lock');
    const saved = this.#lock._release_save(owner);
    // On abort the restore starts synchronously, so a `release` that arrives right behind the cancel
    // (often in the same read) already finds it.
    const notified = await this.#waiters.wait(owner, {
      timeout: t,
      signal,
      onTimeout: () => false,
      onAbort: () => this.#restoreAfterAbort(owner, saved),
    });
    await this.#lock._acquire_restore(owner, saved);
    return notified;
  }

  /**
   * Takes the lock back for an owner whose wait was aborted, unless its connection closes first (then
   * there is nobody to hold it for).
   */
  #restoreAfterAbort(owner: Owner, saved: number): void {
    const gone = new AbortController();
    const unregister = owner.onClose(() => gone.abort(new AbortError('the client connection closed')));
    const restore = Promise.resolve(this.#lock._acquire_restore(owner, saved, gone.signal)).finally(() => {
      unregister();
      if (this.#restoring.get(owner) === restore) this.#restoring.delete(owner);
    });
    restore.catch(() => {});
    this.#restoring.set(owner, restore);
  }

  /** Wakes up to `n` waiters, oldest first. */
  notify(n: unknown = 1): void {
    if (!this.#lock._is_owned(currentCall().owner)) throw new PyRuntimeError('cannot notify on un-acquired lock');
    for (let k = toInt(n); k > 0; k--) {
      const next = this.#waiters.shift();
      if (!next) return;
      next.resolve(true);
    }
  }

  notify_all(): void {
    if (!this.#lock._is_owned(currentCall().owner)) throw new PyRuntimeError('cannot notify on un-acquired lock');
    for (const w of this.#waiters.drain()) w.resolve(true);
  }

  [GET_VALUE](): { locked: boolean; waiters: number } {
    return { locked: this.locked(), waiters: this.#waiters.size };
  }

  [PY_REPR](): string {
    return `<Condition(${pyRepr(this.#lock)}, ${this.#waiters.size})>`;
  }
}
