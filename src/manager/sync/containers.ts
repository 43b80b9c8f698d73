/**
 * The container referents: Python's `list`, `dict` and `set` (CPython 3.14's SyncManager `set`), and
 * the iterator wrapper hosted under the `Iterator` typeid (what `dict.__iter__` returns). Method names,
 * arguments, results and exceptions are Python's, dunder methods included, because CPython's proxies call
 * them by name (`__getitem__`, `__contains__`, `__or__`, ...).
 *
 * `dict` and `set` hash their keys as Python does (see `py.ts`): a `Map` keyed by a canonical string
 * keeps each original key, so `1`, `(1, 2)` and `b'x'` stay distinct keys of their own types. A dict's
 * value (`#GETVALUE`, `copy()`) is a plain object when every key is a string, else a `Map`.
 *
 * Results that are new containers (`copy()`, `l + x`, `s | t`) are plain values, as CPython returns
 * (pickles) them; in-place operators (`__imul__`, `__ior__`, ...) return nothing, since the proxy
 * returns itself.
 */
import { IndexError, KeyError, PyRuntimeError, PyTypeError, StopIteration, ValueError } from '../../errors.js';
import { Tuple } from '../../codec/values.js';
import { HostedRef } from '../../server/hosted-ref.js';
import { GET_VALUE, PY_SIGNATURES, getValue } from '../../server/dispatch.js';
import { PY_REPR, pyRepr } from '../../server/repr.js';
import {
  asSlice,
  hashKey,
  isPlainObject,
  iterate,
  pyCompare,
  pyEquals,
  seqIndex,
  sliceIndices,
  sliceRange,
  toInt,
  truth,
  typeName,
} from './py.js';

/** A hosted object passed as an argument stands for its value (CPython hands the referent itself). */
function unwrap(v: unknown): unknown {
  return v instanceof HostedRef ? getValue(v.referent) : v;
}

function items(v: unknown): unknown[] {
  return iterate(unwrap(v));
}

// ---- list --------------------------------------------------------------------------------------

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
      throw new PyTypeError(`can only concatenate list (not "${typeName(other)}") to list`);
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
    if (key !== null && key !== undefined && typeof key !== 'function') throw new PyTypeError(`'${typeName(key)}' object is not callable`);
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

  [PY_REPR](): string {
    return pyRepr(this.#items);
  }
}

function isIterable(v: unknown): boolean {
  const u = unwrap(v);
  return typeof u === 'string' || (u !== null && typeof u === 'object' && (Symbol.iterator in u || isPlainObject(u)));
}

function repeatCount(n: unknown): number {
  if (!(typeof n === 'number' && Number.isInteger(n)) && typeof n !== 'bigint' && typeof n !== 'boolean') {
    throw new PyTypeError(`can't multiply sequence by non-int of type '${typeName(n)}'`);
  }
  return Math.max(0, toInt(n));
}

// ---- iterator ----------------------------------------------------------------------------------

type Step = IteratorResult<unknown, unknown>;

/**
 * A hosted iterator (typeid `Iterator`, CPython's IteratorProxy: `__next__`, `send`, `throw`, `close`).
 * Wraps a JS iterator, a generator or an async iterator; the end is `StopIteration`, as Python's.
 */
export class PyIterator {
  readonly #it: Iterator<unknown, unknown, unknown> | AsyncIterator<unknown, unknown, unknown>;
  #done = false;

  constructor(source: Iterable<unknown> | AsyncIterable<unknown> | Iterator<unknown> | AsyncIterator<unknown>) {
    const s = source as Partial<Iterable<unknown> & AsyncIterable<unknown>>;
    const sync = s[Symbol.iterator];
    const async = s[Symbol.asyncIterator];
    if (typeof sync === 'function') this.#it = sync.call(source);
    else if (typeof async === 'function') this.#it = async.call(source);
    else this.#it = source as Iterator<unknown>;
  }

  __next__(): unknown {
    return this.send(undefined);
  }

  /** Resumes a generator with `value` (a plain iterator ignores it). */
  send(value: unknown): unknown {
    if (this.#done) throw new StopIteration();
    return this.#step(() => this.#it.next(value));
  }

  /** Raises `error` inside a generator; returns what it yields next. */
  throw(error: unknown): unknown {
    if (this.#done || typeof this.#it.throw !== 'function') {
      this.#done = true;
      throw error;
    }
    const it = this.#it;
    return this.#step(() => (it.throw as (e: unknown) => Step | Promise<Step>)(error));
  }

  close(): void | Promise<void> {
    if (this.#done) return;
    this.#done = true;
    const r = this.#it.return?.();
    if (r && typeof (r as Promise<Step>).then === 'function') return (r as Promise<Step>).then(() => undefined);
  }

  #step(advance: () => Step | Promise<Step>): unknown {
    // An error leaves the iterator as it is: a generator that threw is finished by itself, while a dict
    // iterator keeps raising its RuntimeError, as in Python.
    const r = advance();
    if (typeof (r as Promise<Step>).then === 'function') return (r as Promise<Step>).then((step) => this.#result(step));
    return this.#result(r as Step);
  }

  #result(step: Step): unknown {
    if (!step.done) return step.value;
    this.#done = true;
    throw step.value === undefined ? new StopIteration() : new StopIteration(step.value);
  }

  [PY_REPR](): string {
    return '<iterator object>';
  }
}

/**
 * Iterates a hash table's live entries as CPython's dict and set iterators do: a change of size, or of the
 * keys at the same size, raises `RuntimeError`, and keeps raising it (as CPython's does).
 */
function liveKeys<E>(table: Map<string, E>, version: () => number, kind: 'dictionary' | 'Set', pick: (e: E) => unknown): Iterator<unknown> {
  const size = table.size;
  const start = version();
  const entries = table.values();
  let failure: PyRuntimeError | null = null;
  let done = false;
  return {
    next(): IteratorResult<unknown> {
      if (failure) throw failure;
      if (done) return { done: true, value: undefined };
      if (table.size !== size) failure = new PyRuntimeError(`${kind} changed size during iteration`);
      else if (version() !== start) failure = new PyRuntimeError(`${kind === 'dictionary' ? 'dictionary keys' : 'Set'} changed during iteration`);
      if (failure) throw failure;
      const r = entries.next();
      if (r.done) {
        done = true;
        return { done: true, value: undefined };
      }
      return { done: false, value: pick(r.value) };
    },
  };
}

// ---- dict --------------------------------------------------------------------------------------

/** Keys and values of a dict-like argument, or null when it is not a mapping. */
function mappingEntries(v: unknown): Array<[unknown, unknown]> | null {
  const u = unwrap(v);
  if (u instanceof Map) return [...u];
  if (isPlainObject(u)) return Object.keys(u).map((k) => [k, u[k]]);
  return null;
}

/** What `dict(x)` and `d.update(x)` take: a mapping, or an iterable of key/value pairs. */
function updateEntries(v: unknown): Array<[unknown, unknown]> {
  const mapping = mappingEntries(v);
  if (mapping) return mapping;
  return items(v).map((pair, i) => {
    const kv = typeof pair === 'string' || Array.isArray(pair) ? [...pair] : null;
    if (!kv) throw new PyTypeError(`cannot convert dictionary update sequence element #${i} to a sequence`);
    if (kv.length !== 2) throw new ValueError(`dictionary update sequence element #${i} has length ${kv.length}; 2 is required`);
    return [kv[0], kv[1]];
  });
}

/** A dict's value for the client: a plain object when every key is a string, else a Map. */
function dictValue(entries: Iterable<[unknown, unknown]>): Record<string, unknown> | Map<unknown, unknown> {
  const list = [...entries];
  if (list.every(([k]) => typeof k === 'string')) return Object.fromEntries(list as Array<[string, unknown]>);
  return new Map(list);
}

/** Python's `dict`, keyed by Python hashing. */
export class Dict<K = unknown, V = unknown> {
  static readonly [PY_SIGNATURES] = {
    constructor: ['mapping', '**kwargs'],
    get: ['key', 'default'],
    pop: ['key', 'default'],
    setdefault: ['key', 'default'],
    update: ['other', '**kwargs'],
    fromkeys: ['iterable', 'value'],
  };
  readonly #table = new Map<string, [K, V]>();
  /** Bumped whenever a key is added or removed (iterators compare it). */
  #keyVersion = 0;

  constructor(mapping?: unknown, kwargs?: Record<string, unknown> | null) {
    this.update(mapping, kwargs);
  }

  __len__(): number {
    return this.#table.size;
  }

  __contains__(key: unknown): boolean {
    return this.#table.has(hashKey(key));
  }

  __getitem__(key: unknown): V {
    const entry = this.#table.get(hashKey(key));
    if (!entry) throw new KeyError(key);
    return entry[1];
  }

  __setitem__(key: K, value: V): void {
    const h = hashKey(key);
    const entry = this.#table.get(h);
    if (entry) entry[1] = value;
    else {
      this.#table.set(h, [key, value]);
      this.#keyVersion++;
    }
  }

  __delitem__(key: unknown): void {
    const h = hashKey(key);
    if (!this.#table.delete(h)) throw new KeyError(key);
    this.#keyVersion++;
  }

  /** An iterator over the keys (hosted as `Iterator` through `methodToTypeid`). */
  __iter__(): PyIterator {
    return new PyIterator(liveKeys(this.#table, () => this.#keyVersion, 'dictionary', (e) => e[0]));
  }

  /** The keys, last first (CPython returns a reverse iterator, which reaches the client as a list). */
  __reversed__(): K[] {
    return this.keys().reverse();
  }

  __or__(other: unknown): Record<string, unknown> | Map<unknown, unknown> {
    const entries = mappingEntries(other);
    if (!entries) throw new PyTypeError(`unsupported operand type(s) for |: 'dict' and '${typeName(other)}'`);
    const merged = new Dict<unknown, unknown>(this.#entries());
    merged.update(entries);
    return merged[GET_VALUE]();
  }

  __ror__(other: unknown): Record<string, unknown> | Map<unknown, unknown> {
    const entries = mappingEntries(other);
    if (!entries) throw new PyTypeError(`unsupported operand type(s) for |: '${typeName(other)}' and 'dict'`);
    const merged = new Dict<unknown, unknown>(entries);
    merged.update(this.#entries());
    return merged[GET_VALUE]();
  }

  __ior__(other: unknown): void {
    this.update(other);
  }

  clear(): void {
    if (this.#table.size > 0) this.#keyVersion++;
    this.#table.clear();
  }

  copy(): Record<string, unknown> | Map<unknown, unknown> {
    return this[GET_VALUE]();
  }

  get(key: unknown, dflt: unknown = null): V | unknown {
    const entry = this.#table.get(hashKey(key));
    return entry ? entry[1] : dflt;
  }

  keys(): K[] {
    return [...this.#table.values()].map((e) => e[0]);
  }

  values(): V[] {
    return [...this.#table.values()].map((e) => e[1]);
  }

  /** `(key, value)` tuples. */
  items(): Array<Tuple<K | V>> {
    return [...this.#table.values()].map(([k, v]) => pair(k, v));
  }

  /** Removes `key` and returns its value; without a default, a missing key is a `KeyError`. */
  pop(key: unknown, ...dflt: unknown[]): V | unknown {
    const h = hashKey(key);
    const entry = this.#table.get(h);
    if (!entry) {
      if (dflt.length > 0) return dflt[0];
      throw new KeyError(key);
    }
    this.#table.delete(h);
    this.#keyVersion++;
    return entry[1];
  }

  /** Removes and returns the last `(key, value)` pair. */
  popitem(): Tuple<K | V> {
    let last: [string, [K, V]] | undefined;
    for (const e of this.#table) last = e;
    if (!last) throw new KeyError('popitem(): dictionary is empty');
    this.#table.delete(last[0]);
    this.#keyVersion++;
    return pair(last[1][0], last[1][1]);
  }

  setdefault(key: K, dflt: V | null = null): V | null {
    const h = hashKey(key);
    const entry = this.#table.get(h);
    if (entry) return entry[1];
    this.#table.set(h, [key, dflt as V]);
    this.#keyVersion++;
    return dflt;
  }

  /** Adds a mapping's items, or key/value pairs, then keyword arguments. */
  update(other?: unknown, kwargs?: Record<string, unknown> | null): void {
    if (other !== undefined && other !== null) for (const [k, v] of updateEntries(other)) this.__setitem__(k as K, v as V);
    else if (other === null) throw new PyTypeError("'NoneType' object is not iterable");
    if (kwargs) for (const k of Object.keys(kwargs)) this.__setitem__(k as K, kwargs[k] as V);
  }

  /** A new dict with `iterable`'s items as keys, each mapped to `value` (does not change this one). */
  fromkeys(iterable: unknown, value: unknown = null): Record<string, unknown> | Map<unknown, unknown> {
    const d = new Dict<unknown, unknown>();
    for (const k of items(iterable)) d.__setitem__(k, value);
    return d[GET_VALUE]();
  }

  #entries(): Array<[K, V]> {
    return [...this.#table.values()].map(([k, v]) => [k, v]);
  }

  [GET_VALUE](): Record<string, unknown> | Map<unknown, unknown> {
    return dictValue(this.#entries());
  }

  [PY_REPR](): string {
    return `{${[...this.#table.values()].map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`).join(', ')}}`;
  }
}

function pair<A, B>(a: A, b: B): Tuple<A | B> {
  const t = new Tuple<A | B>();
  t.push(a, b);
  return t;
}

// ---- set ---------------------------------------------------------------------------------------

/** The members of an argument that must be a set (operators), or null. */
function setArgument(v: unknown): unknown[] | null {
  const u = unwrap(v);
  return u instanceof Set ? [...u] : null;
}

/** Python's `set` (SyncManager's `set` typeid, CPython 3.14). */
export class PySet<T = unknown> {
  static readonly [PY_SIGNATURES] = { constructor: ['iterable'] };
  #table = new Map<string, T>();
  #version = 0;

  constructor(iterable?: unknown) {
    if (iterable !== undefined) for (const x of items(iterable)) this.add(x as T);
  }

  __len__(): number {
    return this.#table.size;
  }

  __contains__(value: unknown): boolean {
    return this.#table.has(hashKey(value));
  }

  /** An iterator over the members (hosted as `Iterator`). */
  __iter__(): PyIterator {
    return new PyIterator(liveKeys(this.#table, () => this.#version, 'Set', (x) => x));
  }

  add(value: T): void {
    const h = hashKey(value);
    if (this.#table.has(h)) return;
    this.#table.set(h, value);
    this.#version++;
  }

  discard(value: unknown): void {
    if (this.#table.delete(hashKey(value))) this.#version++;
  }

  remove(value: unknown): void {
    if (!this.#table.delete(hashKey(value))) throw new KeyError(value);
    this.#version++;
  }

  pop(): T {
    for (const [h, x] of this.#table) {
      this.#table.delete(h);
      this.#version++;
      return x;
    }
    throw new KeyError('pop from an empty set');
  }

  clear(): void {
    if (this.#table.size > 0) this.#version++;
    this.#table.clear();
  }

  copy(): Set<T> {
    return new Set(this.#table.values());
  }

  union(...others: unknown[]): Set<unknown> {
    const out = new PySet<unknown>(this.#table.values());
    for (const o of others) out.update(o);
    return out.copy();
  }

  intersection(...others: unknown[]): Set<T> {
    let keep = new Map(this.#table);
    for (const o of others) keep = intersect(keep, items(o));
    return new Set(keep.values());
  }

  difference(...others: unknown[]): Set<T> {
    const keep = new Map(this.#table);
    for (const o of others) for (const x of items(o)) keep.delete(hashKey(x));
    return new Set(keep.values());
  }

  symmetric_difference(other: unknown): Set<unknown> {
    const out = new PySet<unknown>(this.#table.values());
    out.symmetric_difference_update(other);
    return out.copy();
  }

  update(...others: unknown[]): void {
    for (const o of others) for (const x of items(o)) this.add(x as T);
  }

  intersection_update(...others: unknown[]): void {
    let keep = this.#table;
    for (const o of others) keep = intersect(keep, items(o));
    this.#replace(keep);
  }

  difference_update(...others: unknown[]): void {
    for (const o of others) for (const x of items(o)) this.discard(x);
  }

  symmetric_difference_update(other: unknown): void {
    const seen = new Set<string>();
    for (const x of items(other)) {
      const h = hashKey(x);
      if (seen.has(h)) continue;
      seen.add(h);
      if (this.#table.has(h)) this.discard(x);
      else this.add(x as T);
    }
  }

  isdisjoint(other: unknown): boolean {
    return items(other).every((x) => !this.#table.has(hashKey(x)));
  }

  issubset(other: unknown): boolean {
    const theirs = new Set(items(other).map(hashKey));
    for (const h of this.#table.keys()) if (!theirs.has(h)) return false;
    return true;
  }

  issuperset(other: unknown): boolean {
    return items(other).every((x) => this.#table.has(hashKey(x)));
  }

  __or__(other: unknown): Set<unknown> {
    return this.union(this.#operand(other, '|'));
  }

  __ror__(other: unknown): Set<unknown> {
    return this.__or__(other);
  }

  __and__(other: unknown): Set<T> {
    return this.intersection(this.#operand(other, '&'));
  }

  __rand__(other: unknown): Set<T> {
    return this.__and__(other);
  }

  __sub__(other: unknown): Set<T> {
    return this.difference(this.#operand(other, '-'));
  }

  __rsub__(other: unknown): Set<unknown> {
    const theirs = new PySet<unknown>(this.#operand(other, '-', true));
    return theirs.difference(this.#table.values());
  }

  __xor__(other: unknown): Set<unknown> {
    return this.symmetric_difference(this.#operand(other, '^'));
  }

  __rxor__(other: unknown): Set<unknown> {
    return this.__xor__(other);
  }

  __ior__(other: unknown): void {
    this.update(this.#operand(other, '|='));
  }

  __iand__(other: unknown): void {
    this.intersection_update(this.#operand(other, '&='));
  }

  __isub__(other: unknown): void {
    this.difference_update(this.#operand(other, '-='));
  }

  __ixor__(other: unknown): void {
    this.symmetric_difference_update(this.#operand(other, '^='));
  }

  __le__(other: unknown): boolean {
    return this.issubset(this.#operand(other, '<='));
  }

  __lt__(other: unknown): boolean {
    const theirs = this.#operand(other, '<');
    return this.issubset(theirs) && this.#table.size < new PySet(theirs).__len__();
  }

  __ge__(other: unknown): boolean {
    return this.issuperset(this.#operand(other, '>='));
  }

  __gt__(other: unknown): boolean {
    const theirs = this.#operand(other, '>');
    return this.issuperset(theirs) && this.#table.size > new PySet(theirs).__len__();
  }

  /** Operators take sets only, as Python's (methods take any iterable). */
  #operand(other: unknown, op: string, reflected = false): unknown[] {
    const members = setArgument(other);
    if (members) return members;
    const [a, b] = reflected ? [typeName(other), 'set'] : ['set', typeName(other)];
    throw new PyTypeError(`unsupported operand type(s) for ${op}: '${a}' and '${b}'`);
  }

  #replace(table: Map<string, T>): void {
    if (table.size !== this.#table.size) this.#version++;
    this.#table = new Map(table);
  }

  [GET_VALUE](): Set<T> {
    return this.copy();
  }

  [PY_REPR](): string {
    if (this.#table.size === 0) return 'set()';
    return `{${[...this.#table.values()].map((x) => pyRepr(x)).join(', ')}}`;
  }
}

function intersect<T>(table: Map<string, T>, others: unknown[]): Map<string, T> {
  const out = new Map<string, T>();
  for (const x of others) {
    const h = hashKey(x);
    const mine = table.get(h);
    if (mine !== undefined || table.has(h)) out.set(h, mine as T);
  }
  return out;
}
