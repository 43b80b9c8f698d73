/**
 * How values are kept in Redis: one version byte, then the project's msgpack encoding of the value
 * (src/codec/msgpack.ts, with its extensions: tuples stay `Tuple`, bytes stay bytes, ints past 2^53 stay
 * exact `bigint`s, sets stay sets).
 *
 *   byte 0     FORMAT_MSGPACK (1): the rest is one msgpack value, as `msgpack.encode` writes it
 *   byte 1..   the value
 *
 * Reading differs from the wire codec in one way: msgpack maps are read back as `Map`s
 * (`mapsAsObjects: false`) and then turned into plain objects when every key is a string, which is the rule
 * the in-memory `dict` follows. The wire decoder turns every map into a plain object, which is right for a
 * message but would make `{1: 'a'}` come back from Redis as `{'1': 'a'}`.
 *
 * Only values that mean the same to every client are stored: None, bool, int, float, str, bytes, tuple,
 * list, dict, set (and `undefined`, `Date`). A reference to a hosted object (a proxy inside a value) or a
 * class instance is refused with `PyTypeError` naming it: Redis keeps data, and a proxy stored there would
 * point into one server's memory, which is exactly what shared objects are meant not to do.
 */
import { Unpackr } from 'msgpackr';
import { BackendError } from '../../errors.js';
import { PyTypeError, ValueError } from '../../python-errors.js';
import { DEFAULT_LIMITS } from '../../limits.js';
import { pyTypeName } from '../../python-repr.js';
import { msgpack } from '../../codec/msgpack.js';
import { checkMsgpackBudget } from '../../codec/msgpack-budget.js';
import { RefHolder } from '../../codec/ref.js';
import { Tuple } from '../../codec/values.js';
import { hashKey, isPlainObject } from '../../server/py.js';

/** The version byte of values written by this code. */
export const FORMAT_MSGPACK = 1;
const FORMAT_PREFIX = Buffer.of(FORMAT_MSGPACK);

/**
 * Reads what `msgpack.encode` wrote, keeping map keys' types. The extensions are msgpackr-global. 'auto'
 * (numbers where they fit, bigint past 2^53) is missing from msgpackr's typings, as in msgpack.ts.
 */
const unpackr = new Unpackr({ useRecords: false, moreTypes: true, int64AsType: 'auto', mapsAsObjects: false } as unknown as ConstructorParameters<typeof Unpackr>[0]);

/** Where a value is being stored, for error messages: `the shared dict 'results'`. */
export type Place = string;

/** The bytes Redis keeps for `value`. Throws `PyTypeError` for a value Redis cannot keep. */
export function encodeValue(value: unknown, place: Place): Buffer {
  checkStorable(value, place);
  let body: Uint8Array;
  try {
    body = msgpack.encode(value);
  } catch (err) {
    throw new PyTypeError(`cannot store this value in ${place}: ${(err as Error).message}`);
  }
  return Buffer.concat([FORMAT_PREFIX, body]);
}

/** A value read back from Redis. */
export function decodeValue(bytes: Buffer, place: Place): unknown {
  if (bytes.length === 0 || bytes[0] !== FORMAT_MSGPACK) {
    throw new BackendError(`${place} holds a value in a format this version cannot read (version byte ${bytes[0] ?? 'missing'}): it was written by a newer mpmanager, or by something else`);
  }
  const body = bytes.subarray(1);
  try {
    checkMsgpackBudget(body, DEFAULT_LIMITS);
    return fromStorage(unpackr.unpack(body));
  } catch (err) {
    throw new BackendError(`${place} holds a value that could not be decoded: ${(err as Error).message}`, { cause: err });
  }
}

/** The canonical key of a dict key or set member (Python's hash + eq): `1`, `1.0` and `True` are one. */
export function canonicalKey(key: unknown, place: Place): string {
  checkStorable(key, place);
  return hashKey(key);
}

/** Turns decoded maps whose keys are all strings into plain objects, everywhere in `v`. */
function fromStorage(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Map) {
    let allStrings = true;
    for (const k of v.keys()) {
      if (typeof k !== 'string') {
        allStrings = false;
        break;
      }
    }
    if (allStrings) {
      const o: Record<string, unknown> = {};
      for (const [k, x] of v) Object.defineProperty(o, k as string, { value: fromStorage(x), writable: true, enumerable: true, configurable: true });
      return o;
    }
    const m = new Map<unknown, unknown>();
    for (const [k, x] of v) m.set(fromStorage(k), fromStorage(x));
    return m;
  }
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = fromStorage(v[i]);
    return v;
  }
  if (v instanceof Set) {
    let nested = false;
    for (const x of v) if (x !== null && typeof x === 'object') nested = true;
    return nested ? new Set([...v].map(fromStorage)) : v;
  }
  return v;
}

const STORABLE_TYPES = 'None, bool, int, float, str, bytes, tuple, list, dict and set';

/** Throws `PyTypeError` (or `ValueError` when too deep) for a value Redis cannot keep, saying where it sits. */
export function checkStorable(value: unknown, place: Place): void {
  walk(value, place, 'value', 0);
}

function walk(v: unknown, place: Place, path: string, depth: number): void {
  if (depth > DEFAULT_LIMITS.maxDepth) throw new ValueError(`cannot store this value in ${place}: it nests deeper than ${DEFAULT_LIMITS.maxDepth} levels (at ${path})`);
  if (v === null || v === undefined) return;
  switch (typeof v) {
    case 'boolean':
    case 'number':
    case 'bigint':
    case 'string':
      return;
    case 'function':
    case 'symbol':
      throw refusal(place, path, `a ${typeof v}`, 'functions and symbols cannot be shared');
    default:
      break;
  }
  if (v instanceof RefHolder) {
    const token = v.toObjectRef().token;
    throw refusal(place, path, `a reference to the hosted ${token.typeid} object ${token.id}`, 'Redis keeps data, not references to objects in one server\'s memory: store its value (its _getvalue()), or make it a shared object of its own and store its name');
  }
  if (v instanceof Uint8Array || v instanceof Date) return;
  if (Array.isArray(v)) {
    if (!(v instanceof Tuple) && Object.getPrototypeOf(v) !== Array.prototype) throw refusal(place, path, `an instance of ${pyTypeName(v)}`, `store a plain list or tuple`);
    for (let i = 0; i < v.length; i++) walk(v[i], place, `${path}[${i}]`, depth + 1);
    return;
  }
  if (v instanceof Map) {
    let i = 0;
    for (const [k, x] of v) {
      walk(k, place, `${path} key #${i}`, depth + 1);
      walk(x, place, `${path}[${typeof k === 'string' ? JSON.stringify(k) : `key #${i}`}]`, depth + 1);
      i++;
    }
    return;
  }
  if (v instanceof Set) {
    let i = 0;
    for (const x of v) walk(x, place, `${path} member #${i++}`, depth + 1);
    return;
  }
  if (isPlainObject(v)) {
    for (const k of Object.keys(v)) walk(v[k], place, `${path}[${JSON.stringify(k)}]`, depth + 1);
    return;
  }
  throw refusal(place, path, `an instance of ${pyTypeName(v)}`, `Redis keeps ${STORABLE_TYPES}; send the data itself`);
}

function refusal(place: Place, path: string, what: string, advice: string): PyTypeError {
  const where = path === 'value' ? '' : ` (at ${path})`;
  return new PyTypeError(`cannot store ${what}${where} in ${place}: ${advice}`);
}
