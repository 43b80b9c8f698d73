/**
 * `ValueProxy<T>`: a hosted `Value` (CPython's ValueProxy). Python's `.value` property is `get()` and
 * `set(value)` here, since a property read cannot be awaited.
 */
import { BaseProxy } from './base-proxy.js';

export class ValueProxy<T = unknown> extends BaseProxy {
  static readonly exposed: readonly string[] = Object.freeze(['get', 'set']);
  static readonly pyProxytype: string = 'multiprocessing.managers.ValueProxy';

  get(): Promise<T> {
    return this.callMethod<T>('get');
  }

  async set(value: T): Promise<void> {
    await this.callMethod('set', [value]);
  }
}
