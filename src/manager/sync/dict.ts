/**
 * Python's `dict` as a referent. Keys hash as Python's do (see `py.ts`): a `Map` keyed by a canonical
 * string keeps each original key, so `1`, `(1, 2)` and `b'x'` stay distinct keys of their own types. A
 * dict's value (`#GETVALUE`, `copy()`) is a plain object when every key is a string, else a `Map`.
 */
import { KeyError, PyTypeError, ValueError } from '../../python-errors.js';
import { Tuple } from '../../codec/values.js';
import { GET_VALUE, PY_SIGNATURES } from '../../server/dispatch.js';
import { PY_REPR, pyRepr, pyTypeName, type Repr } from '../../python-repr.js';
import { hashKey, isPlainObject, unwrap, items } from '../../server/py.js';
import { PyIterator, liveKeys } from './iterator.js';

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
    if (!entries) throw new PyTypeError(`unsupported operand type(s) for |: 'dict' and '${pyTypeName(other)}'`);
    const merged = new Dict<unknown, unknown>(this.#entries());
    merged.update(entries);
    return merged[GET_VALUE]();
  }

  __ror__(other: unknown): Record<string, unknown> | Map<unknown, unknown> {
    const entries = mappingEntries(other);
    if (!entries) throw new PyTypeError(`unsupported operand type(s) for |: '${pyTypeName(other)}' and 'dict'`);
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

  [PY_REPR](repr: Repr): string {
    return repr.join('{', this.#table.values(), '}', (entry, r) => {
      const [k, v] = entry as [unknown, unknown];
      return `${r(k)}: ${r(v)}`;
    });
  }
}

function pair<A, B>(a: A, b: B): Tuple<A | B> {
  const t = new Tuple<A | B>();
  t.push(a, b);
  return t;
}
