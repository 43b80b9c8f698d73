/**
 * `SetProxy<T>`: a hosted `set` (CPython 3.14's SetProxy). Python's names are all here, plus `has`,
 * `len`. Operators take sets and return new plain `Set`s; in-place operators resolve the proxy, as
 * Python's return it; the methods (`union`, `update`, ...) take any iterables. `for await` iterates
 * through a hosted iterator (a set that changes size meanwhile raises `RuntimeError`, as in Python).
 */
import { BaseProxy } from './base-proxy.js';
import type { IteratorProxy } from './iterator-proxy.js';

type Many<T> = Iterable<T>;

function list<T>(items: Many<T>): unknown {
  return items instanceof Set || Array.isArray(items) ? items : [...items];
}

export class SetProxy<T = unknown> extends BaseProxy implements AsyncIterable<T> {
  static readonly exposed: readonly string[] = Object.freeze([
    '__and__', '__class_getitem__', '__contains__', '__iand__', '__ior__',
    '__isub__', '__iter__', '__ixor__', '__len__', '__or__', '__rand__',
    '__ror__', '__rsub__', '__rxor__', '__sub__', '__xor__',
    '__ge__', '__gt__', '__le__', '__lt__',
    'add', 'clear', 'copy', 'difference', 'difference_update', 'discard',
    'intersection', 'intersection_update', 'isdisjoint', 'issubset',
    'issuperset', 'pop', 'remove', 'symmetric_difference',
    'symmetric_difference_update', 'union', 'update',
  ]);
  /** Iteration goes through a hosted iterator (CPython pickles a snapshot iterator instead). */
  static readonly methodToTypeid: Readonly<Record<string, string>> = Object.freeze({ __iter__: 'Iterator' });
  static readonly pyProxytype: string = 'multiprocessing.managers.SetProxy';

  __contains__(value: T): Promise<boolean> {
    return this.callMethod<boolean>('__contains__', [value]);
  }

  __len__(): Promise<number> {
    return this.callMethod<number>('__len__');
  }

  __iter__(): Promise<IteratorProxy<T>> {
    return this.callMethod<IteratorProxy<T>>('__iter__');
  }

  has(value: T): Promise<boolean> {
    return this.__contains__(value);
  }

  len(): Promise<number> {
    return this.__len__();
  }

  async add(value: T): Promise<void> {
    await this.callMethod('add', [value]);
  }

  /** Removes `value` if present. */
  async discard(value: T): Promise<void> {
    await this.callMethod('discard', [value]);
  }

  /** Removes `value`; `KeyError` when absent. */
  async remove(value: T): Promise<void> {
    await this.callMethod('remove', [value]);
  }

  /** Removes and returns some member; `KeyError` when empty. */
  pop(): Promise<T> {
    return this.callMethod<T>('pop');
  }

  async clear(): Promise<void> {
    await this.callMethod('clear');
  }

  copy(): Promise<Set<T>> {
    return this.callMethod<Set<T>>('copy');
  }

  union<U>(...others: Array<Many<U>>): Promise<Set<T | U>> {
    return this.callMethod('union', others.map(list));
  }

  intersection(...others: Array<Many<unknown>>): Promise<Set<T>> {
    return this.callMethod('intersection', others.map(list));
  }

  difference(...others: Array<Many<unknown>>): Promise<Set<T>> {
    return this.callMethod('difference', others.map(list));
  }

  symmetric_difference<U>(other: Many<U>): Promise<Set<T | U>> {
    return this.callMethod('symmetric_difference', [list(other)]);
  }

  async update(...others: Array<Many<T>>): Promise<void> {
    await this.callMethod('update', others.map(list));
  }

  async intersection_update(...others: Array<Many<unknown>>): Promise<void> {
    await this.callMethod('intersection_update', others.map(list));
  }

  async difference_update(...others: Array<Many<unknown>>): Promise<void> {
    await this.callMethod('difference_update', others.map(list));
  }

  async symmetric_difference_update(other: Many<T>): Promise<void> {
    await this.callMethod('symmetric_difference_update', [list(other)]);
  }

  isdisjoint(other: Many<unknown>): Promise<boolean> {
    return this.callMethod<boolean>('isdisjoint', [list(other)]);
  }

  issubset(other: Many<unknown>): Promise<boolean> {
    return this.callMethod<boolean>('issubset', [list(other)]);
  }

  issuperset(other: Many<unknown>): Promise<boolean> {
    return this.callMethod<boolean>('issuperset', [list(other)]);
  }

  /** `s | other` (a Set). */
  __or__<U>(other: ReadonlySet<U>): Promise<Set<T | U>> {
    return this.callMethod('__or__', [other]);
  }

  __ror__<U>(other: ReadonlySet<U>): Promise<Set<T | U>> {
    return this.callMethod('__ror__', [other]);
  }

  /** `s & other`. */
  __and__(other: ReadonlySet<unknown>): Promise<Set<T>> {
    return this.callMethod('__and__', [other]);
  }

  __rand__(other: ReadonlySet<unknown>): Promise<Set<T>> {
    return this.callMethod('__rand__', [other]);
  }

  /** `s - other`. */
  __sub__(other: ReadonlySet<unknown>): Promise<Set<T>> {
    return this.callMethod('__sub__', [other]);
  }

  /** `other - s`. */
  __rsub__<U>(other: ReadonlySet<U>): Promise<Set<U>> {
    return this.callMethod('__rsub__', [other]);
  }

  /** `s ^ other`. */
  __xor__<U>(other: ReadonlySet<U>): Promise<Set<T | U>> {
    return this.callMethod('__xor__', [other]);
  }

  __rxor__<U>(other: ReadonlySet<U>): Promise<Set<T | U>> {
    return this.callMethod('__rxor__', [other]);
  }

  /** `s |= other`. */
  async __ior__(other: ReadonlySet<T>): Promise<this> {
    await this.callMethod('__ior__', [other]);
    return this;
  }

  /** `s &= other`. */
  async __iand__(other: ReadonlySet<unknown>): Promise<this> {
    await this.callMethod('__iand__', [other]);
    return this;
  }

  /** `s -= other`. */
  async __isub__(other: ReadonlySet<unknown>): Promise<this> {
    await this.callMethod('__isub__', [other]);
    return this;
  }

  /** `s ^= other`. */
  async __ixor__(other: ReadonlySet<T>): Promise<this> {
    await this.callMethod('__ixor__', [other]);
    return this;
  }

  /** `s <= other` (subset). */
  __le__(other: ReadonlySet<unknown>): Promise<boolean> {
    return this.callMethod<boolean>('__le__', [other]);
  }

  /** `s < other` (proper subset). */
  __lt__(other: ReadonlySet<unknown>): Promise<boolean> {
    return this.callMethod<boolean>('__lt__', [other]);
  }

  /** `s >= other` (superset). */
  __ge__(other: ReadonlySet<unknown>): Promise<boolean> {
    return this.callMethod<boolean>('__ge__', [other]);
  }

  /** `s > other` (proper superset). */
  __gt__(other: ReadonlySet<unknown>): Promise<boolean> {
    return this.callMethod<boolean>('__gt__', [other]);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    const it = await this.__iter__();
    try {
      yield* it;
    } finally {
      it.release();
    }
  }
}
