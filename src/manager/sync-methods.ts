/**
 * The creation methods of CPython's `SyncManager` typeids (cpython-wire.md §4.3), typed:
 * `await manager.Queue<number>()`, `await manager.dict<string, number>()`, `await manager.Lock()`. Shared
 * by Node's `SyncManager` (./sync-manager.ts, which also hosts the objects) and the browser's.
 */
import { AcquirerProxy } from '../../proxies/acquirer-proxy.js';
import { ArrayProxy } from '../../proxies/array-proxy.js';
import { BarrierProxy } from '../../proxies/barrier-proxy.js';
import { ConditionProxy } from '../../proxies/condition-proxy.js';
import { DictProxy, type DictSource } from '../../proxies/dict-proxy.js';
import { EventProxy } from '../../proxies/event-proxy.js';
import { IteratorProxy } from '../../proxies/iterator-proxy.js';
import { ListProxy } from '../../proxies/list-proxy.js';
import { NamespaceProxy } from '../../proxies/namespace-proxy.js';
import { QueueProxy } from '../../proxies/queue-proxy.js';
import { SetProxy } from '../../proxies/set-proxy.js';
import { ValueProxy } from '../../proxies/value-proxy.js';
import type { ProxyClass } from '../../proxies/base-proxy.js';
import type { CoreManager } from './core-manager.js';

/** Each SyncManager typeid and the proxy class its objects come back as. */
export const SYNC_PROXYTYPES: ReadonlyArray<readonly [typeid: string, proxytype: ProxyClass]> = [
  ['Queue', QueueProxy],
  ['JoinableQueue', QueueProxy],
  ['Event', EventProxy],
  ['Lock', AcquirerProxy],
  ['RLock', AcquirerProxy],
  ['Semaphore', AcquirerProxy],
  ['BoundedSemaphore', AcquirerProxy],
  ['Condition', ConditionProxy],
  ['Barrier', BarrierProxy],
  ['list', ListProxy],
  ['dict', DictProxy],
  ['Value', ValueProxy],
  ['Array', ArrayProxy],
  ['Namespace', NamespaceProxy],
  ['set', SetProxy],
  ['Iterator', IteratorProxy],
];

/** Numeric array typecodes (`array.array`'s): integers of each C size, then float and double. */
export type NumericTypecode = 'b' | 'B' | 'h' | 'H' | 'i' | 'I' | 'l' | 'L' | 'q' | 'Q' | 'f' | 'd';
/** Array typecodes: numeric, or one-character strings ('u', 'w'). */
export type Typecode = NumericTypecode | 'u' | 'w';

/** Items of a dict source as the wire carries them: plain objects as they are, everything else as pairs. */
function dictArgument<K, V>(init: DictSource<K, V>): unknown {
  if (init instanceof Map) return [...init];
  if (Array.isArray(init)) return init;
  if (typeof (init as Iterable<unknown>)[Symbol.iterator] === 'function') return [...(init as Iterable<unknown>)];
  return init;
}


// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ManagerClass = abstract new (...args: any[]) => CoreManager;

/** The SyncManager creation methods (each documented where it is implemented, below). */
export interface SyncMethods {
  Queue<T = unknown>(maxsize?: number): Promise<QueueProxy<T>>;
  JoinableQueue<T = unknown>(maxsize?: number): Promise<QueueProxy<T>>;
  Event(): Promise<EventProxy>;
  Lock(): Promise<AcquirerProxy>;
  RLock(): Promise<AcquirerProxy>;
  Semaphore(value?: number): Promise<AcquirerProxy>;
  BoundedSemaphore(value?: number): Promise<AcquirerProxy>;
  Condition(lock?: AcquirerProxy | null): Promise<ConditionProxy>;
  Barrier(parties: number, options?: { timeout?: number | null }): Promise<BarrierProxy>;
  Value<T>(typecode: string, value: T): Promise<ValueProxy<T>>;
  Array(typecode: 'u' | 'w', sequence?: Iterable<string>): Promise<ArrayProxy<string>>;
  Array(typecode: NumericTypecode, sequence?: Iterable<number | bigint>): Promise<ArrayProxy<number>>;
  list<T = unknown>(sequence?: Iterable<T>): Promise<ListProxy<T>>;
  dict<K = string, V = unknown>(init?: DictSource<K, V> | null): Promise<DictProxy<K, V>>;
  Namespace<T extends object = Record<string, any>>(attributes?: Partial<T>): Promise<NamespaceProxy<T>>;
  set<T = unknown>(iterable?: Iterable<T>): Promise<SetProxy<T>>;
}

/**
 * `Base` with the SyncManager creation methods. The return type is spelled out: a class expression with
 * the base's `#private` members cannot appear in declaration files.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function withSyncMethods<B extends ManagerClass>(Base: B): B & (abstract new (...args: any[]) => SyncMethods) {
  abstract class SyncMethodsImpl extends Base implements SyncMethods {
  /** A FIFO queue (`maxsize` 0 = unbounded). */
  Queue<T = unknown>(maxsize = 0): Promise<QueueProxy<T>> {
    return this.create<QueueProxy<T>>('Queue', maxsize);
  }

  /** A queue with `task_done()`/`join()` (in CPython the same class as `Queue`). */
  JoinableQueue<T = unknown>(maxsize = 0): Promise<QueueProxy<T>> {
    return this.create<QueueProxy<T>>('JoinableQueue', maxsize);
  }

  Event(): Promise<EventProxy> {
    return this.create<EventProxy>('Event');
  }

  Lock(): Promise<AcquirerProxy> {
    return this.create<AcquirerProxy>('Lock');
  }

  RLock(): Promise<AcquirerProxy> {
    return this.create<AcquirerProxy>('RLock');
  }

  Semaphore(value = 1): Promise<AcquirerProxy> {
    return this.create<AcquirerProxy>('Semaphore', value);
  }

  BoundedSemaphore(value = 1): Promise<AcquirerProxy> {
    return this.create<AcquirerProxy>('BoundedSemaphore', value);
  }

  /** A condition over `lock` (a `Lock()`/`RLock()` proxy of this manager), or over a new RLock. */
  Condition(lock: AcquirerProxy | null = null): Promise<ConditionProxy> {
    return lock === null ? this.create<ConditionProxy>('Condition') : this.create<ConditionProxy>('Condition', lock);
  }

  /** A barrier for `parties` callers; `timeout` (seconds) is the default for each `wait`. */
  Barrier(parties: number, options: { timeout?: number | null } = {}): Promise<BarrierProxy> {
    const kwds = options.timeout === undefined || options.timeout === null ? null : { timeout: options.timeout };
    return this.createWith<BarrierProxy>('Barrier', [parties], kwds);
  }

  /** A shared value (`typecode` is kept for its repr only, as in CPython). */
  Value<T>(typecode: string, value: T): Promise<ValueProxy<T>> {
    return this.create<ValueProxy<T>>('Value', typecode, value);
  }

  /** A typed array (`array.array(typecode, sequence)`): numbers, or characters for 'u' and 'w'. */
  Array(typecode: 'u' | 'w', sequence?: Iterable<string>): Promise<ArrayProxy<string>>;
  Array(typecode: NumericTypecode, sequence?: Iterable<number | bigint>): Promise<ArrayProxy<number>>;
  Array(typecode: Typecode, sequence: Iterable<unknown> = []): Promise<ArrayProxy<number | string>> {
    return this.create<ArrayProxy<number | string>>('Array', typecode, globalThis.Array.from(sequence));
  }

  list<T = unknown>(sequence: Iterable<T> = []): Promise<ListProxy<T>> {
    return this.create<ListProxy<T>>('list', globalThis.Array.isArray(sequence) ? sequence : [...sequence]);
  }

  /** A dict, from a plain object, a Map or key/value pairs (Map keys keep their types). */
  dict<K = string, V = unknown>(init: DictSource<K, V> | null = null): Promise<DictProxy<K, V>> {
    return init === null ? this.create<DictProxy<K, V>>('dict') : this.create<DictProxy<K, V>>('dict', dictArgument(init));
  }

  /** A namespace with these attributes (Python's keyword arguments). */
  Namespace<T extends object = Record<string, any>>(attributes: Partial<T> = {}): Promise<NamespaceProxy<T>> {
    return this.createWith<NamespaceProxy<T>>('Namespace', [], attributes as Record<string, unknown>);
  }

  /** A set (CPython 3.14's SyncManager `set`). */
  set<T = unknown>(iterable: Iterable<T> = []): Promise<SetProxy<T>> {
    return this.create<SetProxy<T>>('set', globalThis.Array.isArray(iterable) || iterable instanceof Set ? iterable : [...iterable]);
  }
}
  return SyncMethodsImpl;
}
