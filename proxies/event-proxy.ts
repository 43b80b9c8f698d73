/** `EventProxy`: a hosted `Event` (CPython's EventProxy). */
import type { CallOptions } from '../src/protocol/client.js';
import { BaseProxy } from './base-proxy.js';

export class EventProxy extends BaseProxy {
  static readonly exposed: readonly string[] = Object.freeze(['is_set', 'set', 'clear', 'wait']);
  static readonly pyProxytype: string = 'multiprocessing.managers.EventProxy';

  is_set(): Promise<boolean> {
    return this.callMethod<boolean>('is_set');
  }

  async set(): Promise<void> {
    await this.callMethod('set');
  }

  async clear(): Promise<void> {
    await this.callMethod('clear');
  }

  /** Waits until the event is set or `timeout` seconds pass (null = forever); resolves the flag. */
  wait(timeout: number | null = null, options?: CallOptions): Promise<boolean> {
    return this.callMethod<boolean>('wait', [timeout], null, options);
  }
}
