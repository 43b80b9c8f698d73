/**
 * Python value semantics the container referents need: truth, integer indices, slices, hashing (dict keys
 * and set members), `==` and `<`, and `repr` of keys. Values are what the codecs deliver: `null` (None),
 * booleans, numbers, bigints, strings, `Uint8Array` (bytes), arrays (list), `Tuple`, plain objects and
 * `Map`s (dict), `Set`s (set/frozenset), and object references.
 *
 * Hashing is Python's: `1`, `1.0`, `1n` and `true` are one key (as `1 == 1.0 == True` in Python), strings
 * and bytes never equal each other, a tuple hashes by its items, and lists, dicts and sets are unhashable.
 */
import { pyTypeName } from '../python-repr.js';
import { Buffer } from 'node:buffer';
import { IndexError, PyTypeError, ValueError } from '../python-errors.js';
import { RefHolder } from '../codec/ref.js';
import { HostedRef } from './hosted-ref.js';
import { getValue } from './dispatch.js';
import { sharedIdOf } from './objects.js';
import { Slice, Tuple } from '../codec/values.js';

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Python's truth value. */
export function truth(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  if (typeof v === 'number') return v !== 0 && !Number.isNaN(v);
  if (typeof v === 'bigint') return v !== 0n;
  if (typeof v === 'string') return v.length > 0;
  if (typeof v === 'boolean') return v;
  if (Array.isArray(v) || v instanceof Uint8Array) return v.length > 0;
  if (v instanceof Map || v instanceof Set) return v.size > 0;
  if (isPlainObject(v)) return Object.keys(v).length > 0;
  return true;
}

/** An integer argument (Python's `__index__`): ints, bigints in range and bools. */
export function toInt(v: unknown, what = 'integer'): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw new PyTypeError(`'${pyTypeName(v)}' object cannot be interpreted as an ${what}`);
}

/**
 * A slice from either codec: pickle gives a `Slice`; msgpack has no slice type, so a `Slice` a native
 * client sends arrives as the plain object `{start, stop, step}` (a list index can be nothing else).
 */
export function asSlice(v: unknown): Slice | null {
  if (v instanceof Slice) return v;
  if (!isPlainObject(v)) return null;
  const keys = Object.keys(v);
  if (keys.length !== 3 || !('start' in v) || !('stop' in v) || !('step' in v)) return null;
  const part = (x: unknown): number | null => (x === null || x === undefined ? null : toInt(x, 'integer or None'));
  return new Slice(part(v.start), part(v.stop), part(v.step));
}

/** CPython's `slice.indices(length)`: `[start, stop, step]` clamped to a sequence of `length`. */
export function sliceIndices(s: Slice, length: number): [number, number, number] {
  const step = s.step ?? 1;
  if (step === 0) throw new ValueError('slice step cannot be zero');
  const lower = step < 0 ? -1 : 0;
  const upper = step < 0 ? length - 1 : length;
  const clamp = (v: number | null, dflt: number): number => {
    if (v === null) return dflt;
    if (v < 0) return Math.max(v + length, lower);
    return Math.min(v, upper);
  };
  return [clamp(s.start, step < 0 ? upper : lower), clamp(s.stop, step < 0 ? lower : upper), step];
}

/** The positions a slice selects, in order. */
export function sliceRange(s: Slice, length: number): number[] {
  const [start, stop, step] = sliceIndices(s, length);
  const out: number[] = [];
  if (step > 0) for (let i = start; i < stop; i += step) out.push(i);
  else for (let i = start; i > stop; i += step) out.push(i);
  return out;
}

/** A sequence index as Python resolves it (negative counts from the end); `IndexError` when out of range. */
export function seqIndex(index: unknown, length: number, kind: string, message = `${kind} index out of range`): number {
  if (!(typeof index === 'number' || typeof index === 'bigint' || typeof index === 'boolean')) {
    throw new PyTypeError(`${kind} indices must be integers or slices, not ${pyTypeName(index)}`);
  }
  let i = toInt(index);
  if (i < 0) i += length;
  if (i < 0 || i >= length) throw new IndexError(message);
  return i;
}

/** Items of an iterable argument (Python's `list(x)`): arrays, sets, strings, maps (their keys), iterables. */
export function iterate(v: unknown, what = 'object'): unknown[] {
  if (Array.isArray(v)) return v.slice();
  if (typeof v === 'string') return [...v];
  if (v instanceof Map) return [...v.keys()];
  if (v instanceof Uint8Array) return Array.from(v);
  if (isPlainObject(v)) return Object.keys(v);
  if (v !== null && typeof v === 'object' && Symbol.iterator in v) return [...(v as Iterable<unknown>)];
  throw new PyTypeError(`'${pyTypeName(v)}' object is not iterable${what === 'object' ? '' : ` (${what})`}`);
}

// ---- hashing -----------------------------------------------------------------------------------

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;

/** A stable string that equal hashable values share (Python's hash + eq, as a key). Throws for unhashable values. */
export function hashKey(v: unknown): string {
  if (v === null || v === undefined) return 'N';
  switch (typeof v) {
    case 'string':
      return `s${v}`;
    case 'boolean':
      return v ? 'i1' : 'i0';
    case 'bigint':
      // Hex beyond 2^53: decimal conversion of a large int is quadratic (an 8 MiB key took 9 s).
      return v >= MIN_SAFE && v <= MAX_SAFE ? `i${String(Number(v))}` : `x${v.toString(16)}`;
    case 'number':
      if (Number.isInteger(v)) return Number.isSafeInteger(v) ? `i${String(v)}` : `x${BigInt(v).toString(16)}`;
      return `f${String(v)}`;
    default:
      break;
  }
  if (v instanceof Tuple) return `t${JSON.stringify(v.map(hashKey))}`;
  if (v instanceof Uint8Array) return `b${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
  // Both codecs deliver frozensets as Sets; a Set used as a key is taken as a frozenset.
  if (v instanceof Set) return `F${JSON.stringify([...v].map(hashKey).sort())}`;
  if (v instanceof RefHolder) return `r${v.toObjectRef().token.id}`;
  throw new PyTypeError(`unhashable type: '${pyTypeName(v)}'`);
}

// ---- equality and order ------------------------------------------------------------------------

function isNumeric(v: unknown): v is number | bigint | boolean {
  return typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean';
}

function numericCompare(a: number | bigint | boolean, b: number | bigint | boolean): number {
  const x = typeof a === 'boolean' ? Number(a) : a;
  const y = typeof b === 'boolean' ? Number(b) : b;
  if (typeof x === 'number' && typeof y === 'number') return x < y ? -1 : x > y ? 1 : x === y ? 0 : NaN;
  // Mixed number/bigint: compare exactly (relational operators on bigint and number are exact in JS).
  return x < y ? -1 : x > y ? 1 : x == y ? 0 : NaN; // eslint-disable-line eqeqeq
}

/** Entries of a dict value (plain object or Map), keyed by `hashKey`. */
export function dictEntries(v: unknown): Map<string, [unknown, unknown]> | null {
  if (v instanceof Map) {
    const m = new Map<string, [unknown, unknown]>();
    for (const [k, x] of v) m.set(hashKey(k), [k, x]);
    return m;
  }
  if (isPlainObject(v)) {
    const m = new Map<string, [unknown, unknown]>();
    for (const k of Object.keys(v)) m.set(hashKey(k), [k, v[k]]);
    return m;
  }
  return null;
}

/** Python's `a == b` for the values the codecs deliver (a list never equals a tuple, as in Python). */
export function pyEquals(a: unknown, b: unknown, depth = 0): boolean {
  if (a === b) return true;
  if (depth > 64) return false;
  if ((a === null || a === undefined) && (b === null || b === undefined)) return true;
  if (isNumeric(a) && isNumeric(b)) return numericCompare(a, b) === 0;
  if (typeof a === 'string' || typeof b === 'string') return false;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a instanceof Tuple !== b instanceof Tuple || a.length !== b.length) return false;
    return a.every((x, i) => pyEquals(x, b[i], depth + 1));
  }
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.compare(a, b) === 0;
  }
  if (a instanceof Set || b instanceof Set) {
    if (!(a instanceof Set) || !(b instanceof Set) || a.size !== b.size) return false;
    try {
      const keys = new Set([...a].map(hashKey));
      return [...b].every((x) => keys.has(hashKey(x)));
    } catch {
      return false;
    }
  }
  if (a instanceof RefHolder || b instanceof RefHolder) {
    return a instanceof RefHolder && b instanceof RefHolder && a.toObjectRef().token.id === b.toObjectRef().token.id;
  }
  let da: Map<string, [unknown, unknown]> | null;
  let db: Map<string, [unknown, unknown]> | null;
  try {
    da = dictEntries(a);
    db = dictEntries(b);
  } catch {
    return false;
  }
  if (da && db) {
    if (da.size !== db.size) return false;
    for (const [k, [, x]] of da) {
      const other = db.get(k);
      if (!other || !pyEquals(x, other[1], depth + 1)) return false;
    }
    return true;
  }
  return false;
}

function codePointCompare(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i) as number;
    const y = b.codePointAt(i) as number;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

/** Python's ordering (`<` for `sort`): numbers, strings, bytes, and lists/tuples of those; else `TypeError`. */
export function pyCompare(a: unknown, b: unknown): number {
  if (isNumeric(a) && isNumeric(b)) {
    const c = numericCompare(a, b);
    return Number.isNaN(c) ? 0 : c;
  }
  if (typeof a === 'string' && typeof b === 'string') return codePointCompare(a, b);
  if (a instanceof Uint8Array && b instanceof Uint8Array && !Array.isArray(a)) return Buffer.compare(a, b);
  if (Array.isArray(a) && Array.isArray(b) && a instanceof Tuple === b instanceof Tuple) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      if (!pyEquals(a[i], b[i])) return pyCompare(a[i], b[i]);
    }
    return a.length - b.length;
  }
  throw new PyTypeError(`'<' not supported between instances of '${pyTypeName(a)}' and '${pyTypeName(b)}'`);
}

/**
 * A hosted object passed as an argument stands for its value (CPython hands the referent itself). A
 * shared object (kept in Redis) has no value at hand: reading it is a round trip, which the in-memory
 * referents' synchronous methods cannot wait for, so it is refused, saying what to do instead.
 */
export function unwrap(v: unknown): unknown {
  if (!(v instanceof HostedRef)) return v;
  if (sharedIdOf(v.referent) !== null) {
    throw new PyTypeError(`${(v.referent as object).constructor.name} ${String(sharedIdOf(v.referent))} is kept in Redis: pass its value (read it first, e.g. list(shared) or dict(shared.items())) instead of the proxy`);
  }
  return getValue(v.referent);
}

export function items(v: unknown): unknown[] {
  return iterate(unwrap(v));
}
