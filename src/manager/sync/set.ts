/**
 * Python's `set` as a referent (CPython 3.14's SyncManager `set`, `SetProxy`). Members hash as Python's
 * do (see `py.ts`); operators that make a new set (`s | t`) return a plain value, in-place ones
 * (`__ior__`, ...) return nothing, since the proxy returns itself.
 */
import { KeyError, PyTypeError } from '../../python-errors.js';
import { GET_VALUE, PY_SIGNATURES } from '../../server/dispatch.js';
import { PY_REPR, pyRepr, pyTypeName, type Repr } from '../../python-repr.js';
import { hashKey, unwrap, items } from '../../server/py.js';
import { PyIterator, liveKeys } from './iterator.js';

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
    const [a, b] = reflected ? [pyTypeName(other), 'set'] : ['set', pyTypeName(other)];
    throw new PyTypeError(`unsupported operand type(s) for ${op}: '${a}' and '${b}'`);
  }

  #replace(table: Map<string, T>): void {
    if (table.size !== this.#table.size) this.#version++;
    this.#table = new Map(table);
  }

  [GET_VALUE](): Set<T> {
    return this.copy();
  }

  [PY_REPR](repr: Repr): string {
    if (this.#table.size === 0) return 'set()';
    return repr.join('{', this.#table.values(), '}');
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
