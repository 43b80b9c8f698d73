/**
 * Python's `list` as a referent. Method names, arguments, results and exceptions are Python's, dunder
 * methods included, because CPython's `ListProxy` calls them by name (`__getitem__`, `__iadd__`, ...).
 * Results that are new lists (`copy()`, `l + x`) are plain values, as CPython returns (pickles) them;
 * in-place operators return nothing, since the proxy returns itself.
 */
import { IndexError, PyTypeError, ValueError } from '../../python-errors.js';
import { Tuple } from '../../codec/values.js';
import { GET_VALUE, PY_SIGNATURES } from '../../server/dispatch.js';
import { PY_REPR, pyRepr, pyTypeName, type Repr } from '../../python-repr.js';
import { asSlice, isPlainObject, pyCompare, pyEquals, seqIndex, sliceIndices, sliceRange, toInt, truth, unwrap, items } from '../../server/py.js';

/** Python's `list`. */
export class List<T = unknown> {
  static readonly [PY_SIGNATURES] = {
    constructor: ['iterable'],
    index: ['value', 'start', 'stop'],
    insert: ['index', 'object'],
    pop: ['index'],
    sort: ['key', 'reverse'],
  };
  #items: T[];

  constructor(iterable?: unknown) {
    this.#items = iterable === undefined ? [] : (items(iterable) as T[]);
  }

  __len__(): number {
    return this.#items.length;
  }

  __contains__(value: unknown): boolean {
    return this.#items.some((x) => pyEquals(x, value));
  }

  __getitem__(index: unknown): T | T[] {
    const s = asSlice(index);
    if (s) return sliceRange(s, this.#items.length).map((i) => this.#items[i] as T);
    return this.#items[seqIndex(index, this.#items.length, 'list')] as T;
  }

  __setitem__(index: unknown, value: unknown): void {
    const s = asSlice(index);
    if (!s) {
      this.#items[seqIndex(index, this.#items.length, 'list', 'list assignment index out of range')] = value as T;
      return;
    }
    if (!isIterable(value)) throw new PyTypeError(s.step === null || s.step === 1 ? 'can only assign an iterable' : 'must assign iterable to extended slice');
    const values = items(value) as T[];
    const [start, stop, step] = sliceIndices(s, this.#items.length);
    if (step === 1) {
      this.#items = this.#items.slice(0, start).concat(values, this.#items.slice(Math.max(start, stop)));
      return;
    }
    const positions = sliceRange(s, this.#items.length);
    if (positions.length !== values.length) {
      throw new ValueError(`attempt to assign sequence of size ${values.length} to extended slice of size ${positions.length}`);
    }
    positions.forEach((p, k) => {
      this.#items[p] = values[k] as T;
    });
  }

  __delitem__(index: unknown): void {
    const s = asSlice(index);
    if (!s) {
      this.#items.splice(seqIndex(index, this.#items.length, 'list', 'list assignment index out of range'), 1);
      return;
    }
    const drop = new Set(sliceRange(s, this.#items.length));
    if (drop.size > 0) this.#items = this.#items.filter((_, i) => !drop.has(i));
  }

  __add__(other: unknown): T[] {
    if (!Array.isArray(other) || other instanceof Tuple) {
      throw new PyTypeError(`can only concatenate list (not "${pyTypeName(other)}") to list`);
    }
    return this.#items.concat(other as T[]);
  }

  __mul__(n: unknown): T[] {
    const times = repeatCount(n);
    const out: T[] = [];
    for (let k = 0; k < times; k++) for (const x of this.#items) out.push(x);
    return out;
  }

  __rmul__(n: unknown): T[] {
    return this.__mul__(n);
  }

  __imul__(n: unknown): void {
    this.#items = this.__mul__(n);
  }

  /** The items in reverse order (CPython returns a reverse iterator, which reaches the client as a list). */
  __reversed__(): T[] {
    return this.#items.slice().reverse();
  }

  append(item: T): void {
    this.#items.push(item);
  }

  extend(iterable: unknown): void {
    for (const x of items(iterable)) this.#items.push(x as T);
  }

  insert(index: unknown, item: T): void {
    const n = this.#items.length;
    let i = toInt(index);
    if (i < 0) i = Math.max(0, i + n);
    this.#items.splice(Math.min(i, n), 0, item);
  }

  pop(index: unknown = -1): T {
    const n = this.#items.length;
    if (n === 0) throw new IndexError('pop from empty list');
    const i = seqIndex(index, n, 'list', 'pop index out of range');
    return this.#items.splice(i, 1)[0] as T;
  }

  remove(value: unknown): void {
    const i = this.#items.findIndex((x) => pyEquals(x, value));
    if (i < 0) throw new ValueError('list.remove(x): x not in list');
    this.#items.splice(i, 1);
  }

  index(value: unknown, start: unknown = 0, stop: unknown = null): number {
    const n = this.#items.length;
    const bound = (v: unknown, dflt: number): number => {
      if (v === null || v === undefined) return dflt;
      const i = toInt(v);
      return i < 0 ? Math.max(0, i + n) : Math.min(i, n);
    };
    for (let i = bound(start, 0), end = bound(stop, n); i < end; i++) {
      if (pyEquals(this.#items[i], value)) return i;
    }
    throw new ValueError(`${pyRepr(value)} is not in list`);
  }

  count(value: unknown): number {
    let n = 0;
    for (const x of this.#items) if (pyEquals(x, value)) n++;
    return n;
  }

  reverse(): void {
    this.#items.reverse();
  }

  /**
   * Sorts in place, stably, by Python's `<`. `key` must be None over the wire (code cannot travel); a
   * function works for in-process callers. Mixed types raise `TypeError` and leave the list unchanged.
   */
  sort(key: unknown = null, reverse: unknown = false): void {
    if (key !== null && key !== undefined && typeof key !== 'function') throw new PyTypeError(`'${pyTypeName(key)}' object is not callable`);
    const keyOf = typeof key === 'function' ? (key as (x: T) => unknown) : null;
    const keyed = this.#items.map((x) => ({ x, k: keyOf ? keyOf(x) : x }));
    const sign = truth(reverse) ? -1 : 1;
    keyed.sort((a, b) => sign * pyCompare(a.k, b.k));
    this.#items = keyed.map((e) => e.x);
  }

  clear(): void {
    this.#items = [];
  }

  copy(): T[] {
    return this.#items.slice();
  }

  [GET_VALUE](): T[] {
    return this.#items.slice();
  }

  [PY_REPR](repr: Repr): string {
    return repr(this.#items);
  }
}

function isIterable(v: unknown): boolean {
  const u = unwrap(v);
  return typeof u === 'string' || (u !== null && typeof u === 'object' && (Symbol.iterator in u || isPlainObject(u)));
}

function repeatCount(n: unknown): number {
  if (!(typeof n === 'number' && Number.isInteger(n)) && typeof n !== 'bigint' && typeof n !== 'boolean') {
    throw new PyTypeError(`can't multiply sequence by non-int of type '${pyTypeName(n)}'`);
  }
  return Math.max(0, toInt(n));
}
