/**
 * `QueueProxy<T>`: a hosted `Queue`/`JoinableQueue`. CPython serves these through `AutoProxy` (the
 * exposed names are `queue.Queue`'s public methods), so a Python client rebuilds them as auto proxies;
 * this class types the same names for TypeScript.
 *
 * Blocking `get`/`put`/`join` wait on the server without holding up other calls. Their Python `timeout`
 * (seconds) is decided on the server and raises `Empty`/`Full`, so no item is ever lost to it. A call
 * cancelled with `{ signal }` at the very moment an item is handed to it loses that item (its reply is
 * dropped), so prefer `timeout` where items must not be lost.
 */
import { ConnectionClosedError, ConnectionLostError, AbortError } from '../src/errors.js';
import type { CallOptions } from '../src/protocol/client.js';
import { BaseProxy } from './base-proxy.js';

export interface QueueIterateOptions {
  /** Stops the iteration (it ends without an error). */
  signal?: AbortSignal | undefined;
  /** Ends the iteration when this item arrives (compared with `===`); Python's `iter(q.get, sentinel)`. */
  sentinel?: unknown;
}

export class QueueProxy<T = unknown> extends BaseProxy implements AsyncIterable<T> {
  static readonly exposed: readonly string[] = Object.freeze(['empty', 'full', 'get', 'get_nowait', 'join', 'put', 'put_nowait', 'qsize', 'task_done']);

  /** Removes and returns an item; waits while empty (`timeout` seconds, null = forever), else `Empty`. */
  get(block = true, timeout: number | null = null, options?: CallOptions): Promise<T> {
    return this.callMethod<T>('get', [block, timeout], null, options);
  }

  /** Adds an item; waits while full (`timeout` seconds, null = forever), else `Full`. */
  async put(item: T, block = true, timeout: number | null = null, options?: CallOptions): Promise<void> {
    await this.callMethod('put', [item, block, timeout], null, options);
  }

  /** `get(false)`: an item now, or `Empty`. */
  get_nowait(): Promise<T> {
    return this.callMethod<T>('get_nowait');
  }

  /** `put(item, false)`: adds now, or `Full`. */
  async put_nowait(item: T): Promise<void> {
    await this.callMethod('put_nowait', [item]);
  }

  qsize(): Promise<number> {
    return this.callMethod<number>('qsize');
  }

  empty(): Promise<boolean> {
    return this.callMethod<boolean>('empty');
  }

  full(): Promise<boolean> {
    return this.callMethod<boolean>('full');
  }

  /** Marks one item taken with `get` as processed; `ValueError` when called more times than items put. */
  async task_done(): Promise<void> {
    await this.callMethod('task_done');
  }

  /** Waits until every item put has been marked done. */
  async join(options?: CallOptions): Promise<void> {
    await this.callMethod('join', [], null, options);
  }

  /**
   * Gets items until `signal` aborts, the sentinel arrives, or the connection closes or the proxy is
   * released; each of those ends the iteration quietly. Other errors are thrown.
   */
  async *iterate(options: QueueIterateOptions = {}): AsyncGenerator<T, void, undefined> {
    const { signal } = options;
    const hasSentinel = 'sentinel' in options;
    while (!signal?.aborted) {
      let item: T;
      try {
        item = await this.get(true, null, signal ? { signal } : undefined);
      } catch (err) {
        if (err instanceof AbortError && signal?.aborted) return;
        // A closed connection ends the loop; a lost one (a reconnecting client) is the caller's to see:
        // the get may have taken an item, and the loop can be started again.
        if (err instanceof ConnectionClosedError && !(err instanceof ConnectionLostError)) return;
        throw err;
      }
      if (hasSentinel && item === options.sentinel) return;
      yield item;
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.iterate();
  }
}
