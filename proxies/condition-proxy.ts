/**
 * `ConditionProxy`: a hosted `Condition` (CPython's ConditionProxy, with 3.14's `locked`). The lock part
 * is `AcquirerProxy`'s; `wait_for(predicate)` runs here, looping `wait` as CPython's proxy does, because
 * a predicate is code and cannot travel.
 */
import type { CallOptions } from '../src/protocol/client.js';
import { AcquirerProxy } from './acquirer-proxy.js';

export class ConditionProxy extends AcquirerProxy {
  static override readonly exposed: readonly string[] = Object.freeze(['acquire', 'release', 'wait', 'notify', 'notify_all', 'locked']);
  static override readonly pyProxytype: string = 'multiprocessing.managers.ConditionProxy';

  /**
   * Releases the lock, waits for a notify or `timeout` seconds (null = forever), and takes the lock back.
   * Resolves `true` when notified.
   */
  wait(timeout: number | null = null, options?: CallOptions): Promise<boolean> {
    return this.callMethod<boolean>('wait', [timeout], null, options);
  }

  /** Wakes up to `n` waiters. The caller must hold the lock. */
  async notify(n = 1): Promise<void> {
    await this.callMethod('notify', [n]);
  }

  async notify_all(): Promise<void> {
    await this.callMethod('notify_all');
  }

  /**
   * Waits until `predicate()` is truthy (checked now, then after each wakeup) or `timeout` seconds pass;
   * returns the predicate's last result. The caller must hold the lock, as in Python.
   */
  async wait_for<R>(predicate: () => R | Promise<R>, timeout: number | null = null, options?: CallOptions): Promise<R> {
    let result = await predicate();
    if (result) return result;
    const end = timeout === null ? null : performance.now() + timeout * 1000;
    while (!result) {
      let wait: number | null = null;
      if (end !== null) {
        wait = (end - performance.now()) / 1000;
        if (wait <= 0) break;
      }
      await this.wait(wait, options);
      result = await predicate();
    }
    return result;
  }
}
