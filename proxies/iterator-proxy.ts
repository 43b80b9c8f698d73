/**
 * `IteratorProxy`: a hosted iterator (CPython's IteratorProxy, exposing `__next__`, `send`, `throw`,
 * `close`). `for await (const item of it)` calls `__next__` until the server raises `StopIteration`.
 */
import { StopIteration } from '../src/python-errors.js';
import { BaseProxy } from './base-proxy.js';

export class IteratorProxy<T = unknown> extends BaseProxy implements AsyncIterable<T> {
  static readonly exposed: readonly string[] = Object.freeze(['__next__', 'send', 'throw', 'close']);
  static readonly pyProxytype: string = 'multiprocessing.managers.IteratorProxy';

  /** The next item; rejects with `StopIteration` at the end. */
  next(): Promise<T> {
    return this.callMethod<T>('__next__');
  }

  send(value: unknown): Promise<T> {
    return this.callMethod<T>('send', [value]);
  }

  async close(): Promise<void> {
    await this.callMethod('close');
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    try {
      for (;;) {
        try {
          yield await this.next();
        } catch (err) {
          if (err instanceof StopIteration) return;
          throw err;
        }
      }
    } finally {
      this.release();
    }
  }
}
