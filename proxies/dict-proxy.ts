/**
 * `DictProxy<K, V>`: a hosted `dict` (CPython's DictProxy, with 3.14's `|`, `|=`, `reversed` and
 * `fromkeys`). Python's names are all here, plus the `Map`-like `get`, `set`, `has`, `delete`, `len`.
 * Keys keep their types (numbers, tuples, ...) as Python's do. `for await (const key of dict)` iterates
 * through a hosted iterator, as Python's `iter(d)` does: a dict that changes size meanwhile raises
 * `RuntimeError`, as in Python.
 */
import { KeyError } from '../src/python-errors.js';
import type { Tuple } from '../src/codec/values.js';
import { BaseProxy } from './base-proxy.js';
import type { IteratorProxy } from './iterator-proxy.js';

/** A dict's value: a plain object when every key is a string, else a `Map`. */
export type DictValue<K, V> = [K] extends [string] ? Record<K, V> : Map<K, V>;

/** What `update` and `|=` take: a plain object, a Map, or key/value pairs. */
export type DictSource<K, V> = ([K] extends [string] ? Readonly<Record<K, V>> : never) | ReadonlyMap<K, V> | Iterable<readonly [K, V]>;

function source<K, V>(other: DictSource<K, V>): unknown {
  if (other instanceof Map || Array.isArray(other)) return other;
  if (typeof (other as Iterable<unknown>)[Symbol.iterator] === 'function') return [...(other as Iterable<readonly [K, V]>)];
  return other;
}

export class DictProxy<K = string, V = unknown> extends BaseProxy implements AsyncIterable<K> {
  static readonly exposed: readonly string[] = Object.freeze([
    '__contains__', '__delitem__', '__getitem__', '__iter__', '__len__',
    '__setitem__', 'clear', 'copy', 'get', 'items',
    'keys', 'pop', 'popitem', 'setdefault', 'update', 'values',
    '__ior__', '__or__', '__reversed__', '__ror__', 'fromkeys',
  ]);
  static readonly methodToTypeid: Readonly<Record<string, string>> = Object.freeze({ __iter__: 'Iterator' });
  static readonly pyProxytype: string = 'multiprocessing.managers.DictProxy';

  /** `d[key]`; `KeyError` when missing. */
  __getitem__(key: K): Promise<V> {
    return this.callMethod<V>('__getitem__', [key]);
  }

  async __setitem__(key: K, value: V): Promise<void> {
    await this.callMethod('__setitem__', [key, value]);
  }

  /** `del d[key]`; `KeyError` when missing. */
  async __delitem__(key: K): Promise<void> {
    await this.callMethod('__delitem__', [key]);
  }

  __contains__(key: K): Promise<boolean> {
    return this.callMethod<boolean>('__contains__', [key]);
  }

  __len__(): Promise<number> {
    return this.callMethod<number>('__len__');
  }

  /** A hosted iterator over the keys (release it when done, or iterate it to the end). */
  __iter__(): Promise<IteratorProxy<K>> {
    return this.callMethod<IteratorProxy<K>>('__iter__');
  }

  /** The keys, last first. */
  __reversed__(): Promise<K[]> {
    return this.callMethod<K[]>('__reversed__');
  }

  /** `d | other`: a new plain dict value. */
  __or__(other: DictValue<K, V> | ReadonlyMap<K, V>): Promise<DictValue<K, V>> {
    return this.callMethod<DictValue<K, V>>('__or__', [other]);
  }

  /** `other | d`. */
  __ror__(other: DictValue<K, V> | ReadonlyMap<K, V>): Promise<DictValue<K, V>> {
    return this.callMethod<DictValue<K, V>>('__ror__', [other]);
  }

  /** `d |= other`, in place. */
  async __ior__(other: DictSource<K, V>): Promise<this> {
    await this.callMethod('__ior__', [source(other)]);
    return this;
  }

  /** Python's `d.get(key, default=None)`: the value, or `dflt` (null) when missing. */
  get(key: K): Promise<V | null>;
  get<D>(key: K, dflt: D): Promise<V | D>;
  get(key: K, ...dflt: unknown[]): Promise<unknown> {
    return this.callMethod('get', [key, ...dflt]);
  }

  /** `d[key] = value`. */
  set(key: K, value: V): Promise<void> {
    return this.__setitem__(key, value);
  }

  /** `key in d`. */
  has(key: K): Promise<boolean> {
    return this.__contains__(key);
  }

  /** Removes `key`; resolves whether it was there (as `Map.delete`). */
  async delete(key: K): Promise<boolean> {
    try {
      await this.__delitem__(key);
      return true;
    } catch (err) {
      if (err instanceof KeyError) return false;
      throw err;
    }
  }

  len(): Promise<number> {
    return this.__len__();
  }

  keys(): Promise<K[]> {
    return this.callMethod<K[]>('keys');
  }

  values(): Promise<V[]> {
    return this.callMethod<V[]>('values');
  }

  /** `[key, value]` pairs (Python tuples). */
  items(): Promise<Array<Tuple<K | V> & [K, V]>> {
    return this.callMethod('items');
  }

  /** Adds `other`'s entries (a plain object, a Map, or pairs), then `kwargs` (Python keyword arguments). */
  async update(other: DictSource<K, V> | null = null, kwargs?: Readonly<Record<string, V>>): Promise<void> {
    await this.callMethod('update', other === null ? [] : [source(other)], kwargs ?? null);
  }

  /** Removes `key` and returns its value; `KeyError` when missing unless a default is given. */
  pop(key: K): Promise<V>;
  pop<D>(key: K, dflt: D): Promise<V | D>;
  pop(key: K, ...dflt: unknown[]): Promise<unknown> {
    return this.callMethod('pop', [key, ...dflt]);
  }

  /** Removes and returns the last `[key, value]`; `KeyError` when empty. */
  popitem(): Promise<Tuple<K | V> & [K, V]> {
    return this.callMethod('popitem');
  }

  /** `d[key]` if present, else sets it to `dflt` (null) and returns that. */
  setdefault(key: K, dflt: V | null = null): Promise<V | null> {
    return this.callMethod<V | null>('setdefault', [key, dflt]);
  }

  async clear(): Promise<void> {
    await this.callMethod('clear');
  }

  /** A plain copy. */
  copy(): Promise<DictValue<K, V>> {
    return this.callMethod<DictValue<K, V>>('copy');
  }

  /** A new dict value with `keys`, each mapped to `value` (this dict is unchanged). */
  fromkeys<W = null>(keys: Iterable<K>, value?: W): Promise<DictValue<K, W>> {
    return this.callMethod<DictValue<K, W>>('fromkeys', value === undefined ? [[...keys]] : [[...keys], value]);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<K> {
    const it = await this.__iter__();
    try {
      yield* it;
    } finally {
      it.release();
    }
  }
}
