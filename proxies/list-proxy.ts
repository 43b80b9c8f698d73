/**
 * `ListProxy<T>`: a hosted `list` (CPython's ListProxy, with 3.14's `clear` and `copy`). Python's names
 * are all here (`l[i]` is `__getitem__(i)`, `l[1:3]` is `__getitem__(new Slice(1, 3))`, `x in l` is
 * `__contains__(x)`, `l *= 2` is `__imul__(2)`), plus `get`, `set`, `slice` and `len` for the usual
 * cases. `for await (const x of list)` reads item by item until `IndexError`, as Python iterates a list
 * proxy, so it sees changes made meanwhile.
 */
import { IndexError } from '../src/python-errors.js';
import { Slice } from '../src/codec/values.js';
import { BaseProxy } from './base-proxy.js';

/** Iterates a sequence proxy by index until `IndexError`, as Python's `iter()` over `__getitem__`. */
export async function* itemsByIndex<T>(proxy: BaseProxy): AsyncGenerator<T, void, undefined> {
  for (let i = 0; ; i++) {
    let item: T;
    try {
      item = await proxy.callMethod<T>('__getitem__', [i]);
    } catch (err) {
      if (err instanceof IndexError) return;
      throw err;
    }
    yield item;
  }
}

export class ListProxy<T = unknown> extends BaseProxy implements AsyncIterable<T> {
  static readonly exposed: readonly string[] = Object.freeze([
    '__add__', '__contains__', '__delitem__', '__getitem__', '__len__',
    '__mul__', '__reversed__', '__rmul__', '__setitem__',
    'append', 'count', 'extend', 'index', 'insert', 'pop', 'remove',
    'reverse', 'sort', '__imul__', 'clear', 'copy',
  ]);
  static readonly pyProxytype: string = 'multiprocessing.managers.ListProxy';

  /** `l[i]` (negative counts from the end; `IndexError` out of range), or `l[slice]`. */
  __getitem__(index: number): Promise<T>;
  __getitem__(index: Slice): Promise<T[]>;
  __getitem__(index: number | Slice): Promise<T | T[]> {
    return this.callMethod('__getitem__', [index]);
  }

  /** `l[i] = value`, or `l[slice] = values`. */
  async __setitem__(index: number | Slice, value: T | Iterable<T>): Promise<void> {
    await this.callMethod('__setitem__', [index, value]);
  }

  /** `del l[i]` or `del l[slice]`. */
  async __delitem__(index: number | Slice): Promise<void> {
    await this.callMethod('__delitem__', [index]);
  }

  __len__(): Promise<number> {
    return this.callMethod<number>('__len__');
  }

  __contains__(value: T): Promise<boolean> {
    return this.callMethod<boolean>('__contains__', [value]);
  }

  /** `l + other`: a new plain array. */
  __add__(other: readonly T[]): Promise<T[]> {
    return this.callMethod<T[]>('__add__', [other]);
  }

  /** `l * n`: a new plain array. */
  __mul__(n: number): Promise<T[]> {
    return this.callMethod<T[]>('__mul__', [n]);
  }

  __rmul__(n: number): Promise<T[]> {
    return this.callMethod<T[]>('__rmul__', [n]);
  }

  /** `l *= n`, in place. */
  async __imul__(n: number): Promise<this> {
    await this.callMethod('__imul__', [n]);
    return this;
  }

  /** The items, last first. */
  __reversed__(): Promise<T[]> {
    return this.callMethod<T[]>('__reversed__');
  }

  get(index: number): Promise<T> {
    return this.__getitem__(index);
  }

  set(index: number, value: T): Promise<void> {
    return this.__setitem__(index, value);
  }

  /** `l[start:stop:step]` (null/undefined bounds as Python's empty ones). */
  slice(start: number | null = null, stop: number | null = null, step: number | null = null): Promise<T[]> {
    return this.__getitem__(new Slice(start, stop, step));
  }

  len(): Promise<number> {
    return this.__len__();
  }

  async append(item: T): Promise<void> {
    await this.callMethod('append', [item]);
  }

  async extend(items: Iterable<T>): Promise<void> {
    await this.callMethod('extend', [Array.isArray(items) ? items : [...items]]);
  }

  async insert(index: number, item: T): Promise<void> {
    await this.callMethod('insert', [index, item]);
  }

  /** Removes and returns the item at `index` (default the last); `IndexError` when empty or out of range. */
  pop(index?: number): Promise<T> {
    return this.callMethod<T>('pop', index === undefined ? [] : [index]);
  }

  /** Removes the first item equal to `value`; `ValueError` when there is none. */
  async remove(value: T): Promise<void> {
    await this.callMethod('remove', [value]);
  }

  /** Position of the first item equal to `value` (within `start`..`stop`); `ValueError` when there is none. */
  index(value: T, start?: number, stop?: number): Promise<number> {
    const args: unknown[] = [value];
    if (start !== undefined || stop !== undefined) args.push(start ?? 0);
    if (stop !== undefined) args.push(stop);
    return this.callMethod<number>('index', args);
  }

  count(value: T): Promise<number> {
    return this.callMethod<number>('count', [value]);
  }

  async reverse(): Promise<void> {
    await this.callMethod('reverse');
  }

  /** Sorts in place by Python's `<` (a key function cannot travel). */
  async sort(options: { reverse?: boolean } = {}): Promise<void> {
    await this.callMethod('sort', [], options.reverse === undefined ? null : { reverse: options.reverse });
  }

  async clear(): Promise<void> {
    await this.callMethod('clear');
  }

  /** A plain copy of the items. */
  copy(): Promise<T[]> {
    return this.callMethod<T[]>('copy');
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return itemsByIndex<T>(this);
  }
}
