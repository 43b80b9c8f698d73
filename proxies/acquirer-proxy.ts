/**
 * `AcquirerProxy`: a hosted `Lock`, `RLock`, `Semaphore` or `BoundedSemaphore` (CPython's AcquirerProxy,
 * with 3.14's `locked`). Python's `with lock:` is `await using held = await lock.hold()`, or
 * `await lock.withLock(async () => ...)`.
 *
 * `acquire` waits on the server without holding up anything else; `{ signal }` (or a client-side
 * `{ timeout }`) cancels the wait there. Prefer the Python `timeout` argument for timed acquires: it is
 * decided on the server, so the answer can never cross a cancellation. (An acquire cancelled at the very
 * moment the lock is granted leaves the lock with this connection until it is released or the
 * connection closes.)
 */
import type { CallOptions } from '../src/protocol/client.js';
import { BaseProxy } from './base-proxy.js';

/** A held lock: `release()` it, or let `await using` do it. */
export interface Held extends AsyncDisposable {
  /** Releases the lock (once; later calls do nothing). */
  release(): Promise<void>;
}

export class AcquirerProxy extends BaseProxy {
  static readonly exposed: readonly string[] = Object.freeze(['acquire', 'release', 'locked']);
  static readonly pyProxytype: string = 'multiprocessing.managers.AcquirerProxy';

  /**
   * Takes the lock (or a permit). `blocking=false` answers at once; `timeout` is in seconds (null waits
   * forever). Resolves `false` when it was not taken. Sends `(blocking,)` or `(blocking, timeout)` as
   * CPython's proxy does.
   */
  acquire(blocking = true, timeout: number | null = null, options?: CallOptions): Promise<boolean> {
    return this.callMethod<boolean>('acquire', timeout === null ? [blocking] : [blocking, timeout], null, options);
  }

  /** Python's `release()`: gives the lock (or a permit) back. (`dispose()` drops this proxy's reference.) */
  override async release(): Promise<void> {
    await this.callMethod('release');
  }

  /** Gives the server back this proxy's reference: what `release()` does on other proxies. */
  dispose(): void {
    BaseProxy.prototype.release.call(this);
  }

  /** Whether it is held (a semaphore: whether no permit is free). */
  locked(): Promise<boolean> {
    return this.callMethod<boolean>('locked');
  }

  /** Acquires (waiting as long as it takes, or until `options` cancel) and returns the hold to release. */
  async hold(options?: CallOptions): Promise<Held> {
    await this.acquire(true, null, options);
    let released = false;
    const release = async (): Promise<void> => {
      if (released) return;
      released = true;
      await this.release();
    };
    return { release, [Symbol.asyncDispose]: release };
  }

  /** Runs `fn` holding the lock, and releases it however `fn` ends. */
  async withLock<R>(fn: () => R | Promise<R>, options?: CallOptions): Promise<R> {
    await this.acquire(true, null, options);
    try {
      return await fn();
    } finally {
      await this.release();
    }
  }
}
