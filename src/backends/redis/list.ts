/**
 * `list` kept in Redis.
 *
 *   l      LIST    the items
 *   ver    STRING  bumped by every change: the version a read-modify-write checks before it writes
 *
 * Index operations, `append`, `extend`, `insert`, `pop`, `reverse` and `clear` are one Lua script each
 * (atomic). What needs Python's `==` or `<` on the values (`remove`, `index`, `count`, `in`, `sort`) or
 * rewrites a stretch (slice assignment and deletion, `*=`) reads the list with its version, works in the
 * server, and writes only if the version is unchanged, retrying otherwise: optimistic, so a `sort`
 * never overwrites a concurrent `append`. Such operations read the whole list.
 */
import { BackendError } from '../../errors.js';
import { IndexError, PyTypeError, ValueError } from '../../python-errors.js';
import { Tuple } from '../../codec/values.js';
import { GET_VALUE, PY_SIGNATURES } from '../../server/dispatch.js';
import { PY_REPR, pyRepr, pyTypeName } from '../../python-repr.js';
import { Kind } from './keys.js';
import { asSlice, isPlainObject, pyCompare, pyEquals, sliceIndices, sliceRange, toInt, truth } from '../../server/py.js';
import { argItems, argValue } from './args.js';
import { defineScript } from './store.js';
import { decodeValue, encodeValue } from './values.js';
import { type Backend, SIZE, SharedObject } from './backend.js';

/** Never a stored value (those start with a version byte >= 1): marks an item for LREM. */
const TOMBSTONE = Buffer.from('\u0000mpmanager-removed');
/** Attempts of a read-modify-write before giving up under contention. */
const MAX_REWRITES = 100;

/** Pushes ARGV[from..] onto KEYS[1] in chunks (Lua's unpack takes a few thousand values at most). */
const PUSH_FN = `
local function push(key, from)
  for i = from, #ARGV, 1000 do
    redis.call('RPUSH', key, unpack(ARGV, i, math.min(i + 999, #ARGV)))
  end
end
`;

/** KEYS l, ver; ARGV items. */
const APPEND = defineScript('list-append', `${PUSH_FN}
push(KEYS[1], 1)
redis.call('INCR', KEYS[2])
return redis.call('LLEN', KEYS[1])
`);

/** KEYS l, ver; ARGV index (Python's insert: clamped), item. */
const INSERT = defineScript('list-insert', `
local n = redis.call('LLEN', KEYS[1])
local i = tonumber(ARGV[1])
if i < 0 then i = math.max(0, i + n) end
if i >= n then
  redis.call('RPUSH', KEYS[1], ARGV[2])
elseif i == 0 then
  redis.call('LPUSH', KEYS[1], ARGV[2])
else
  local tail = redis.call('LRANGE', KEYS[1], i, -1)
  redis.call('LTRIM', KEYS[1], 0, i - 1)
  redis.call('RPUSH', KEYS[1], ARGV[2])
  for j = 1, #tail, 1000 do redis.call('RPUSH', KEYS[1], unpack(tail, j, math.min(j + 999, #tail))) end
end
redis.call('INCR', KEYS[2])
return 1
`);

/** KEYS l, ver; ARGV index, tombstone. {1, item} removed; {-1} empty; {-2} out of range. */
const POP_AT = defineScript('list-pop-at', `
local n = redis.call('LLEN', KEYS[1])
if n == 0 then return {-1} end
local i = tonumber(ARGV[1])
if i < 0 then i = i + n end
if i < 0 or i >= n then return {-2} end
local v
if i == n - 1 then
  v = redis.call('RPOP', KEYS[1])
elseif i == 0 then
  v = redis.call('LPOP', KEYS[1])
else
  v = redis.call('LINDEX', KEYS[1], i)
  redis.call('LSET', KEYS[1], i, ARGV[2])
  redis.call('LREM', KEYS[1], 1, ARGV[2])
end
redis.call('INCR', KEYS[2])
return {1, v}
`);

/** KEYS l, ver; ARGV index, item. 1, or 0 when out of range. */
const SET_AT = defineScript('list-set-at', `
local n = redis.call('LLEN', KEYS[1])
local i = tonumber(ARGV[1])
if i < 0 then i = i + n end
if i < 0 or i >= n then return 0 end
redis.call('LSET', KEYS[1], i, ARGV[2])
redis.call('INCR', KEYS[2])
return 1
`);

/** KEYS l, ver. {version, {items}}. */
const SNAPSHOT = defineScript('list-snapshot', `
return {redis.call('GET', KEYS[2]) or '0', redis.call('LRANGE', KEYS[1], 0, -1)}
`);

/** KEYS l, ver; ARGV expected version, items. 1 written, 0 the list changed meanwhile. */
const REPLACE = defineScript('list-replace', `${PUSH_FN}
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
push(KEYS[1], 2)
redis.call('INCR', KEYS[2])
return 1
`);

/** KEYS l, ver; ARGV expected version, index, tombstone. 1 removed, 0 the list changed meanwhile. */
const REMOVE_AT = defineScript('list-remove-at', `
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[1] then return 0 end
redis.call('LSET', KEYS[1], tonumber(ARGV[2]), ARGV[3])
redis.call('LREM', KEYS[1], 1, ARGV[3])
redis.call('INCR', KEYS[2])
return 1
`);

/** KEYS l, ver. */
const REVERSE = defineScript('list-reverse', `
local items = redis.call('LRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
for j = #items, 1, -1000 do
  local chunk = {}
  for k = j, math.max(1, j - 999), -1 do chunk[#chunk + 1] = items[k] end
  redis.call('RPUSH', KEYS[1], unpack(chunk))
end
redis.call('INCR', KEYS[2])
return 1
`);

/** KEYS l, ver. */
const CLEAR = defineScript('list-clear', `
redis.call('DEL', KEYS[1])
redis.call('INCR', KEYS[2])
return 1
`);

interface Snapshot {
  readonly version: string;
  readonly raw: Buffer[];
}

/** A list index argument: an int (or bool), as Python's `__index__`; else `TypeError`. */
function indexArgument(index: unknown, kind = 'list'): number {
  if (!(typeof index === 'number' || typeof index === 'bigint' || typeof index === 'boolean')) {
    throw new PyTypeError(`${kind} indices must be integers or slices, not ${pyTypeName(index)}`);
  }
  return toInt(index);
}

function isIterable(u: unknown): boolean {
  return typeof u === 'string' || (u !== null && typeof u === 'object' && (Symbol.iterator in u || isPlainObject(u)));
}

function repeatCount(n: unknown): number {
  if (!(typeof n === 'number' && Number.isInteger(n)) && typeof n !== 'bigint' && typeof n !== 'boolean') {
    throw new PyTypeError(`can't multiply sequence by non-int of type '${pyTypeName(n)}'`);
  }
  return Math.max(0, toInt(n));
}

export class RedisList extends SharedObject {
  static readonly [PY_SIGNATURES] = {
    index: ['value', 'start', 'stop'],
    insert: ['index', 'object'],
    pop: ['index'],
    sort: ['key', 'reverse'],
  };
  readonly #l: string;
  readonly #ver: string;

  constructor(backend: Backend, name: string, typeid: string) {
    super(backend, Kind.List, name, typeid);
    this.#l = this.layout.part('l');
    this.#ver = this.layout.part('ver');
  }

  async __len__(): Promise<number> {
    return (await this.backend.store.command(['LLEN', this.#l])) as number;
  }

  async __contains__(value: unknown): Promise<boolean> {
    return (await this.#items()).some((x) => pyEquals(x, value));
  }

  async __getitem__(index: unknown): Promise<unknown> {
    const s = asSlice(index);
    if (s) {
      const items = await this.#items();
      return sliceRange(s, items.length).map((i) => items[i]);
    }
    const i = indexArgument(index);
    if (!Number.isSafeInteger(i)) throw new IndexError('list index out of range');
    const raw = (await this.backend.store.command(['LINDEX', this.#l, String(i)])) as Buffer | null;
    if (raw === null) throw new IndexError('list index out of range');
    return this.#decode(raw);
  }

  async __setitem__(index: unknown, value: unknown): Promise<void> {
    const s = asSlice(index);
    if (!s) {
      const i = indexArgument(index);
      const done = Number.isSafeInteger(i) && (await this.backend.store.run(SET_AT, [this.#l, this.#ver], [String(i), this.#encode(value)])) === 1;
      if (!done) throw new IndexError('list assignment index out of range');
      return;
    }
    const u = await argValue(value);
    if (!isIterable(u)) throw new PyTypeError(s.step === null || s.step === 1 ? 'can only assign an iterable' : 'must assign iterable to extended slice');
    const values = (await argItems(u)).map((v) => this.#encode(v));
    await this.#rewrite(({ raw }) => {
      const [start, stop, step] = sliceIndices(s, raw.length);
      if (step === 1) return raw.slice(0, start).concat(values, raw.slice(Math.max(start, stop)));
      const positions = sliceRange(s, raw.length);
      if (positions.length !== values.length) {
        throw new ValueError(`attempt to assign sequence of size ${values.length} to extended slice of size ${positions.length}`);
      }
      const next = raw.slice();
      positions.forEach((p, k) => {
        next[p] = values[k] as Buffer;
      });
      return next;
    });
  }

  async __delitem__(index: unknown): Promise<void> {
    const s = asSlice(index);
    if (!s) {
      await this.#popAt(indexArgument(index), 'list assignment index out of range', 'list assignment index out of range');
      return;
    }
    await this.#rewrite(({ raw }) => {
      const drop = new Set(sliceRange(s, raw.length));
      return drop.size === 0 ? null : raw.filter((_, i) => !drop.has(i));
    });
  }

  async __add__(other: unknown): Promise<unknown[]> {
    if (!Array.isArray(other) || other instanceof Tuple) {
      throw new PyTypeError(`can only concatenate list (not "${pyTypeName(other)}") to list`);
    }
    return (await this.#items()).concat(other);
  }

  async __mul__(n: unknown): Promise<unknown[]> {
    const times = repeatCount(n);
    const items = await this.#items();
    const out: unknown[] = [];
    for (let k = 0; k < times; k++) for (const x of items) out.push(x);
    return out;
  }

  async __rmul__(n: unknown): Promise<unknown[]> {
    return this.__mul__(n);
  }

  async __imul__(n: unknown): Promise<void> {
    const times = repeatCount(n);
    await this.#rewrite(({ raw }) => {
      if (times === 1) return null;
      const out: Buffer[] = [];
      for (let k = 0; k < times; k++) for (const x of raw) out.push(x);
      return out;
    });
  }

  /** The items in reverse order (CPython returns a reverse iterator, which reaches the client as a list). */
  async __reversed__(): Promise<unknown[]> {
    return (await this.#items()).reverse();
  }

  async append(item: unknown): Promise<void> {
    await this.backend.store.run(APPEND, [this.#l, this.#ver], [this.#encode(item)]);
  }

  async extend(iterable: unknown): Promise<void> {
    const values = (await argItems(iterable)).map((v) => this.#encode(v));
    if (values.length > 0) await this.backend.store.run(APPEND, [this.#l, this.#ver], values);
  }

  async insert(index: unknown, item: unknown): Promise<void> {
    const i = toInt(index);
    const clamped = Number.isSafeInteger(i) ? i : i > 0 ? Number.MAX_SAFE_INTEGER : Number.MIN_SAFE_INTEGER;
    await this.backend.store.run(INSERT, [this.#l, this.#ver], [String(clamped), this.#encode(item)]);
  }

  async pop(index: unknown = -1): Promise<unknown> {
    return this.#popAt(indexArgument(index), 'pop from empty list', 'pop index out of range');
  }

  async remove(value: unknown): Promise<void> {
    for (let attempt = 0; attempt < MAX_REWRITES; attempt++) {
      const snap = await this.#snapshot();
      const i = snap.raw.findIndex((b) => pyEquals(this.#decode(b), value));
      if (i < 0) throw new ValueError('list.remove(x): x not in list');
      if ((await this.backend.store.run(REMOVE_AT, [this.#l, this.#ver], [snap.version, String(i), TOMBSTONE])) === 1) return;
    }
    throw this.#contention('remove');
  }

  async index(value: unknown, start: unknown = 0, stop: unknown = null): Promise<number> {
    const items = await this.#items();
    const n = items.length;
    const bound = (v: unknown, dflt: number): number => {
      if (v === null || v === undefined) return dflt;
      const i = toInt(v);
      return i < 0 ? Math.max(0, i + n) : Math.min(i, n);
    };
    for (let i = bound(start, 0), end = bound(stop, n); i < end; i++) {
      if (pyEquals(items[i], value)) return i;
    }
    throw new ValueError(`${pyRepr(value)} is not in list`);
  }

  async count(value: unknown): Promise<number> {
    let n = 0;
    for (const x of await this.#items()) if (pyEquals(x, value)) n++;
    return n;
  }

  async reverse(): Promise<void> {
    await this.backend.store.run(REVERSE, [this.#l, this.#ver], []);
  }

  /**
   * Sorts in place, stably, by Python's `<`. `key` must be None over the wire (code cannot travel); a
   * function works for in-process callers. Mixed types raise `TypeError` and leave the list unchanged.
   */
  async sort(key: unknown = null, reverse: unknown = false): Promise<void> {
    if (key !== null && key !== undefined && typeof key !== 'function') throw new PyTypeError(`'${pyTypeName(key)}' object is not callable`);
    const keyOf = typeof key === 'function' ? (key as (x: unknown) => unknown) : null;
    const sign = truth(reverse) ? -1 : 1;
    await this.#rewrite(({ raw }) => {
      const keyed = raw.map((b) => {
        const x = this.#decode(b);
        return { b, k: keyOf ? keyOf(x) : x };
      });
      keyed.sort((a, c) => sign * pyCompare(a.k, c.k));
      return keyed.map((e) => e.b);
    });
  }

  async clear(): Promise<void> {
    await this.backend.store.run(CLEAR, [this.#l, this.#ver], []);
  }

  async copy(): Promise<unknown[]> {
    return this.#items();
  }

  async [GET_VALUE](): Promise<unknown[]> {
    return this.#items();
  }

  [PY_REPR](): string {
    return `<list shared in Redis as '${this.name}'>`;
  }

  async [SIZE](): Promise<number> {
    return this.__len__();
  }

  #encode(v: unknown): Buffer {
    return encodeValue(v, this.place);
  }

  #decode(raw: Buffer): unknown {
    return decodeValue(raw, this.place);
  }

  async #items(): Promise<unknown[]> {
    const raw = (await this.backend.store.command(['LRANGE', this.#l, '0', '-1'])) as Buffer[];
    return raw.map((b) => this.#decode(b));
  }

  async #snapshot(): Promise<Snapshot> {
    const [version, raw] = (await this.backend.store.run(SNAPSHOT, [this.#l, this.#ver], [])) as [Buffer, Buffer[]];
    return { version: version.toString(), raw };
  }

  async #popAt(i: number, emptyMessage: string, rangeMessage: string): Promise<unknown> {
    if (!Number.isSafeInteger(i)) {
      if ((await this.__len__()) === 0) throw new IndexError(emptyMessage);
      throw new IndexError(rangeMessage);
    }
    const reply = (await this.backend.store.run(POP_AT, [this.#l, this.#ver], [String(i), TOMBSTONE])) as [number, Buffer?];
    if (reply[0] === -1) throw new IndexError(emptyMessage);
    if (reply[0] === -2) throw new IndexError(rangeMessage);
    return this.#decode(reply[1] as Buffer);
  }

  /** Reads, computes the new items (null: nothing to change), writes if unchanged meanwhile; retries. */
  async #rewrite(compute: (snap: Snapshot) => Buffer[] | null): Promise<void> {
    for (let attempt = 0; attempt < MAX_REWRITES; attempt++) {
      const snap = await this.#snapshot();
      const next = compute(snap);
      if (next === null) return;
      if ((await this.backend.store.run(REPLACE, [this.#l, this.#ver], [snap.version, ...next])) === 1) return;
    }
    throw this.#contention('rewrite');
  }

  #contention(what: string): BackendError {
    return new BackendError(`${this.place}: ${what} found the list changed by another caller on each of ${MAX_REWRITES} attempts`);
  }
}
