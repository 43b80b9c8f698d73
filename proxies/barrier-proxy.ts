/**
 * `BarrierProxy`: a hosted `Barrier` (CPython's BarrierProxy). Python's properties `parties`,
 * `n_waiting` and `broken` are read through `__getattribute__`, so here they are async methods.
 */
import type { CallOptions } from '../src/protocol/client.js';
import { BaseProxy } from './base-proxy.js';

export class BarrierProxy extends BaseProxy {
  static readonly exposed: readonly string[] = Object.freeze(['__getattribute__', 'wait', 'abort', 'reset']);
  static readonly pyProxytype: string = 'multiprocessing.managers.BarrierProxy';

  /**
   * Waits for every party; resolves this caller's arrival index (0 .. parties - 1). Rejects with
   * `BrokenBarrierError` when the barrier is or gets broken (abort, reset, a timeout, a party that left).
   * `timeout` is in seconds; null uses the barrier's own.
   */
  wait(timeout: number | null = null, options?: CallOptions): Promise<number> {
    return this.callMethod<number>('wait', [timeout], null, options);
  }

  /** Breaks the barrier: waiters and later callers get `BrokenBarrierError` until `reset()`. */
  async abort(): Promise<void> {
    await this.callMethod('abort');
  }

  async reset(): Promise<void> {
    await this.callMethod('reset');
  }

  parties(): Promise<number> {
    return this.callMethod<number>('__getattribute__', ['parties']);
  }

  n_waiting(): Promise<number> {
    return this.callMethod<number>('__getattribute__', ['n_waiting']);
  }

  broken(): Promise<boolean> {
    return this.callMethod<boolean>('__getattribute__', ['broken']);
  }
}
