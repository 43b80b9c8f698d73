/**
 * `ArrayProxy<T>`: a hosted `Array(typecode, sequence)` (CPython's ArrayProxy: `__len__`,
 * `__getitem__`, `__setitem__`), numbers for the numeric typecodes and one-character strings for
 * 'u'/'w'. `for await` reads item by item until `IndexError`, as Python iterates it.
 */
import type { Slice } from '../src/codec/values.js';
import { BaseProxy } from './base-proxy.js';
import { itemsByIndex } from './list-proxy.js';

export class ArrayProxy<T extends number | bigint | string = number> extends BaseProxy implements AsyncIterable<T> {
  static readonly exposed: readonly string[] = Object.freeze(['__len__', '__getitem__', '__setitem__']);
  static readonly pyProxytype: string = 'multiprocessing.managers.ArrayProxy';

  __len__(): Promise<number> {
    return this.callMethod<number>('__len__');
  }

  __getitem__(index: number): Promise<T>;
  __getitem__(index: Slice): Promise<T[]>;
  __getitem__(index: number | Slice): Promise<T | T[]> {
    return this.callMethod('__getitem__', [index]);
  }

  /** `a[i] = value` (checked against the typecode), or `a[slice] = values`. */
  async __setitem__(index: number | Slice, value: T | readonly T[]): Promise<void> {
    await this.callMethod('__setitem__', [index, value]);
  }

  len(): Promise<number> {
    return this.__len__();
  }

  get(index: number): Promise<T> {
    return this.__getitem__(index);
  }

  set(index: number, value: T): Promise<void> {
    return this.__setitem__(index, value);
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return itemsByIndex<T>(this);
  }
}
