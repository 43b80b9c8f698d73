/**
 * Python's `queue.Queue(maxsize=0)` (SyncManager's `Queue` and `JoinableQueue` are both this class).
 * `get`/`put` block with `block`/`timeout` as Python's do and raise `Empty`/`Full`; `task_done`/`join`
 * count unfinished tasks.
 *
 * Hand-offs are direct: a `put` while getters wait gives the item to the first of them, and a `get` from
 * a full queue moves the first waiting putter's item in; so waiters are served FIFO and an item can never
 * be taken by a caller that arrived later. Invariant: getters wait only while the queue is empty, putters
 * only while it is full.
 */
import { Empty, Full, ValueError } from '../../python-errors.js';
import { currentCall } from '../../server/context.js';
import { GET_VALUE, PY_SIGNATURES } from '../../server/dispatch.js';
import { PY_REPR } from '../../python-repr.js';
import { toInt, truth } from '../../server/py.js';
import { WaitQueue, blockingTimeout } from '../../server/wait.js';

export class Queue<T = unknown> {
  static readonly [PY_SIGNATURES] = {
    constructor: ['maxsize'],
    get: ['block', 'timeout'],
    put: ['item', 'block', 'timeout'],
    put_nowait: ['item'],
  };
  readonly #maxsize: number;
  /** Items, as a ring-free array with a moving head (amortised O(1) shift). */
  #items: T[] = [];
  #head = 0;
  #unfinished = 0;
  readonly #getters = new WaitQueue<undefined, T>();
  readonly #putters = new WaitQueue<T, void>();
  readonly #joiners = new WaitQueue<undefined, void>();

  constructor(maxsize: unknown = 0) {
    this.#maxsize = toInt(maxsize);
  }

  qsize(): number {
    return this.#items.length - this.#head;
  }

  empty(): boolean {
    return this.qsize() === 0;
  }

  /** Python's `queue.Queue.maxsize` (0: unbounded). Read by the inspector; not exposed to clients. */
  get maxsize(): number {
    return this.#maxsize;
  }

  /** Python's `queue.Queue.unfinished_tasks`: items put and not yet marked `task_done()`. */
  get unfinished_tasks(): number {
    return this.#unfinished;
  }

  full(): boolean {
    return this.#maxsize > 0 && this.qsize() >= this.#maxsize;
  }

  /** Puts `item`; when full, waits for room (up to `timeout` seconds) or raises `Full`. */
  put(item: T, block: unknown = true, timeout: unknown = null): void | Promise<void> {
    const wait = truth(block);
    const t = wait ? blockingTimeout(timeout) : null;
    if (!this.full()) {
      this.#add(item);
      return;
    }
    if (!wait) throw new Full();
    return this.#putters.wait(item, {
      timeout: t,
      signal: currentCall().signal,
      onTimeout: () => {
        throw new Full();
      },
    });
  }

  put_nowait(item: T): void | Promise<void> {
    return this.put(item, false);
  }

  /** Removes and returns the first item; when empty, waits (up to `timeout` seconds) or raises `Empty`. */
  get(block: unknown = true, timeout: unknown = null): T | Promise<T> {
    const wait = truth(block);
    const t = wait ? blockingTimeout(timeout) : null;
    if (this.qsize() > 0) return this.#take();
    if (!wait) throw new Empty();
    return this.#getters.wait(undefined, {
      timeout: t,
      signal: currentCall().signal,
      onTimeout: () => {
        throw new Empty();
      },
    });
  }

  get_nowait(): T | Promise<T> {
    return this.get(false);
  }

  /** One task taken from the queue is done; `join()` returns once every put item is done. */
  task_done(): void {
    if (this.#unfinished <= 0) throw new ValueError('task_done() called too many times');
    if (--this.#unfinished === 0) for (const w of this.#joiners.drain()) w.resolve();
  }

  /** Waits until every item put has been marked done with `task_done()`. */
  join(): void | Promise<void> {
    if (this.#unfinished === 0) return;
    return this.#joiners.wait(undefined, { timeout: null, signal: currentCall().signal, onTimeout: () => undefined });
  }

  #add(item: T): void {
    this.#unfinished++;
    const getter = this.#getters.shift();
    if (getter) getter.resolve(item);
    else this.#items.push(item);
  }

  #take(): T {
    const item = this.#items[this.#head] as T;
    this.#items[this.#head] = undefined as T;
    this.#head++;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    const putter = this.#putters.shift();
    if (putter) {
      this.#unfinished++;
      this.#items.push(putter.data);
      putter.resolve();
    }
    return item;
  }

  [GET_VALUE](): T[] {
    return this.#items.slice(this.#head);
  }

  [PY_REPR](): string {
    return `<queue.Queue: qsize=${this.qsize()} maxsize=${this.#maxsize}>`;
  }
}
