/**
 * `dict` kept in Redis, in Python's insertion order.
 *
 *   k      HASH  canonical key -> the key as first inserted (so `keys()` gives back `1`, not `True`)
 *   v      HASH  canonical key -> value
 *   o      ZSET  canonical key, scored by insertion number: the order of `keys()`, `popitem()` from the end
 *   seq    STRING  the last insertion number
 *
 * The canonical key is Python's hash + eq (`1`, `1.0` and `True` are one key; see values.ts). Setting an
 * existing key keeps its place and its original key, as Python does; deleting and setting it again moves
 * it to the end. Compound operations (`pop`, `popitem`, `setdefault`, `update`) are one Lua script each,
 * so they are atomic. Iteration (`__iter__`) walks a snapshot of the keys taken when it starts: a dict
 * changed meanwhile does not raise RuntimeError as an in-memory one does.
 */
import { KeyError, PyTypeError, ValueError } from '../../python-errors.js';
import { Tuple } from '../../codec/values.js';
import { GET_VALUE, PY_SIGNATURES } from '../../server/dispatch.js';
import { PY_REPR, pyTypeName } from '../../python-repr.js';
import { Kind } from './keys.js';
import { hashKey, isPlainObject } from '../../server/py.js';
import { argItems, argValue } from './args.js';
import { defineScript, type RedisArg } from './store.js';
import { canonicalKey, decodeValue, encodeValue } from './values.js';
import { type Backend, SIZE, SharedObject } from './backend.js';

/** KEYS k, v, o, seq; ARGV (canonical key, key, value) triples. */
const SET = defineScript('dict-set', `
for i = 1, #ARGV, 3 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then
    redis.call('ZADD', KEYS[3], redis.call('INCR', KEYS[4]), ARGV[i])
  end
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 2])
end
return 1
`);

/** KEYS k, v, o; ARGV canonical key. The value removed, or nil. */
const REMOVE = defineScript('dict-remove', `
local val = redis.call('HGET', KEYS[2], ARGV[1])
if not val then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return val
`);

/** KEYS k, v, o. {key, value} of the last inserted, removed; or nil. */
const POP_LAST = defineScript('dict-pop-last', `
local last = redis.call('ZRANGE', KEYS[3], -1, -1)
if #last == 0 then return false end
local f = last[1]
local out = {redis.call('HGET', KEYS[1], f), redis.call('HGET', KEYS[2], f)}
redis.call('HDEL', KEYS[1], f)
redis.call('HDEL', KEYS[2], f)
redis.call('ZREM', KEYS[3], f)
return out
`);

/** KEYS k, v, o, seq; ARGV canonical key, key, default. The value now under the key. */
const SET_DEFAULT = defineScript('dict-setdefault', `
local val = redis.call('HGET', KEYS[2], ARGV[1])
if val then return val end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[3], redis.call('INCR', KEYS[4]), ARGV[1])
return ARGV[3]
`);

/** KEYS k, v, o; ARGV 'k' | 'v' | 'kv'. Keys and/or values in insertion order, flat. */
const ENTRIES = defineScript('dict-entries', `
local fields = redis.call('ZRANGE', KEYS[3], 0, -1)
local out = {}
for _, f in ipairs(fields) do
  if ARGV[1] ~= 'v' then out[#out + 1] = redis.call('HGET', KEYS[1], f) end
  if ARGV[1] ~= 'k' then out[#out + 1] = redis.call('HGET', KEYS[2], f) end
end
return out
`);

type DictValue = Record<string, unknown> | Map<unknown, unknown>;

/** A dict's value for the client: a plain object when every key is a string, else a Map (as in memory). */
function dictValue(entries: Iterable<readonly [unknown, unknown]>): DictValue {
  const list = [...entries];
  if (list.every(([k]) => typeof k === 'string')) {
    const o: Record<string, unknown> = {};
    for (const [k, v] of list) Object.defineProperty(o, k as string, { value: v, writable: true, enumerable: true, configurable: true });
    return o;
  }
  return new Map(list);
}

/** Keys and values of a mapping argument, or null when it is not one. */
async function mappingEntries(v: unknown): Promise<Array<[unknown, unknown]> | null> {
  const u = await argValue(v);
  if (u instanceof Map) return [...u];
  if (isPlainObject(u)) return Object.keys(u).map((k) => [k, u[k]]);
  return null;
}

/** What `d.update(x)` takes: a mapping, or an iterable of key/value pairs. */
async function updateEntries(v: unknown): Promise<Array<[unknown, unknown]>> {
  const mapping = await mappingEntries(v);
  if (mapping) return mapping;
  return (await argItems(v)).map((pair, i) => {
    const kv = typeof pair === 'string' || Array.isArray(pair) ? [...pair] : null;
    if (!kv) throw new PyTypeError(`cannot convert dictionary update sequence element #${i} to a sequence`);
    if (kv.length !== 2) throw new ValueError(`dictionary update sequence element #${i} has length ${kv.length}; 2 is required`);
    return [kv[0], kv[1]];
  });
}

/** Merges entries by Python key equality, later ones winning, first keys kept. */
function merge(...sources: Array<Array<readonly [unknown, unknown]>>): DictValue {
  const table = new Map<string, [unknown, unknown]>();
  for (const source of sources) {
    for (const [k, v] of source) {
      const h = hashKey(k);
      const entry = table.get(h);
      if (entry) entry[1] = v;
      else table.set(h, [k, v]);
    }
  }
  return dictValue(table.values());
}

function pair(a: unknown, b: unknown): Tuple {
  const t = new Tuple();
  t.push(a, b);
  return t;
}

export class RedisDict extends SharedObject {
  static readonly [PY_SIGNATURES] = {
    get: ['key', 'default'],
    pop: ['key', 'default'],
    setdefault: ['key', 'default'],
    update: ['other', '**kwargs'],
    fromkeys: ['iterable', 'value'],
  };
  readonly #k: string;
  readonly #v: string;
  readonly #o: string;
  readonly #seq: string;

  constructor(backend: Backend, name: string, typeid: string) {
    super(backend, Kind.Dict, name, typeid);
    this.#k = this.layout.part('k');
    this.#v = this.layout.part('v');
    this.#o = this.layout.part('o');
    this.#seq = this.layout.part('seq');
  }

  async __len__(): Promise<number> {
    return (await this.backend.store.command(['ZCARD', this.#o])) as number;
  }

  async __contains__(key: unknown): Promise<boolean> {
    return (await this.backend.store.command(['HEXISTS', this.#v, this.#field(key)])) === 1;
  }

  async __getitem__(key: unknown): Promise<unknown> {
    const raw = (await this.backend.store.command(['HGET', this.#v, this.#field(key)])) as Buffer | null;
    if (raw === null) throw new KeyError(key);
    return this.#decode(raw);
  }

  async __setitem__(key: unknown, value: unknown): Promise<void> {
    await this.#set([[key, value]]);
  }

  async __delitem__(key: unknown): Promise<void> {
    if ((await this.#remove(key)) === null) throw new KeyError(key);
  }

  /** The keys, as a snapshot (hosted as `Iterator` through `methodToTypeid`). */
  __iter__(): Promise<unknown[]> {
    return this.keys();
  }

  /** The keys, last first. */
  async __reversed__(): Promise<unknown[]> {
    return (await this.keys()).reverse();
  }

  async __or__(other: unknown): Promise<DictValue> {
    const entries = await mappingEntries(other);
    if (!entries) throw new PyTypeError(`unsupported operand type(s) for |: 'dict' and '${pyTypeName(await argValue(other))}'`);
    return merge(await this.#entries(), entries);
  }

  async __ror__(other: unknown): Promise<DictValue> {
    const entries = await mappingEntries(other);
    if (!entries) throw new PyTypeError(`unsupported operand type(s) for |: '${pyTypeName(await argValue(other))}' and 'dict'`);
    return merge(entries, await this.#entries());
  }

  async __ior__(other: unknown): Promise<void> {
    await this.update(other);
  }

  async clear(): Promise<void> {
    await this.backend.store.command(['DEL', this.#k, this.#v, this.#o]);
  }

  async copy(): Promise<DictValue> {
    return dictValue(await this.#entries());
  }

  async get(key: unknown, dflt: unknown = null): Promise<unknown> {
    const raw = (await this.backend.store.command(['HGET', this.#v, this.#field(key)])) as Buffer | null;
    return raw === null ? dflt : this.#decode(raw);
  }

  async keys(): Promise<unknown[]> {
    const flat = (await this.backend.store.run(ENTRIES, [this.#k, this.#v, this.#o], ['k'])) as Buffer[];
    return flat.map((b) => this.#decode(b));
  }

  async values(): Promise<unknown[]> {
    const flat = (await this.backend.store.run(ENTRIES, [this.#k, this.#v, this.#o], ['v'])) as Buffer[];
    return flat.map((b) => this.#decode(b));
  }

  /** `(key, value)` tuples. */
  async items(): Promise<Tuple[]> {
    return (await this.#entries()).map(([k, v]) => pair(k, v));
  }

  /** Removes `key` and returns its value; without a default, a missing key is a `KeyError`. */
  async pop(key: unknown, ...dflt: unknown[]): Promise<unknown> {
    const raw = await this.#remove(key);
    if (raw !== null) return this.#decode(raw);
    if (dflt.length > 0) return dflt[0];
    throw new KeyError(key);
  }

  /** Removes and returns the last `(key, value)` pair. */
  async popitem(): Promise<Tuple> {
    const got = (await this.backend.store.run(POP_LAST, [this.#k, this.#v, this.#o], [])) as [Buffer, Buffer] | null;
    if (got === null) throw new KeyError('popitem(): dictionary is empty');
    return pair(this.#decode(got[0]), this.#decode(got[1]));
  }

  async setdefault(key: unknown, dflt: unknown = null): Promise<unknown> {
    const field = this.#field(key);
    const raw = (await this.backend.store.run(SET_DEFAULT, [this.#k, this.#v, this.#o, this.#seq], [field, encodeValue(key, this.place), encodeValue(dflt, this.place)])) as Buffer;
    return this.#decode(raw);
  }

  /** Adds a mapping's items, or key/value pairs, then keyword arguments (all in one atomic step). */
  async update(other?: unknown, kwargs?: Record<string, unknown> | null): Promise<void> {
    if (other === null) throw new PyTypeError("'NoneType' object is not iterable");
    const entries: Array<readonly [unknown, unknown]> = other === undefined ? [] : await updateEntries(other);
    if (kwargs) for (const k of Object.keys(kwargs)) entries.push([k, kwargs[k]]);
    await this.#set(entries);
  }

  /** A new dict with `iterable`'s items as keys, each mapped to `value` (does not change this one). */
  async fromkeys(iterable: unknown, value: unknown = null): Promise<DictValue> {
    return merge((await argItems(iterable)).map((k) => [k, value] as const));
  }

  async [GET_VALUE](): Promise<DictValue> {
    return this.copy();
  }

  [PY_REPR](): string {
    return `<dict shared in Redis as '${this.name}'>`;
  }

  async [SIZE](): Promise<number> {
    return this.__len__();
  }

  #field(key: unknown): string {
    return canonicalKey(key, this.place);
  }

  #decode(raw: Buffer): unknown {
    return decodeValue(raw, this.place);
  }

  async #set(entries: ReadonlyArray<readonly [unknown, unknown]>): Promise<void> {
    if (entries.length === 0) return;
    const args: RedisArg[] = [];
    for (const [k, v] of entries) args.push(this.#field(k), encodeValue(k, this.place), encodeValue(v, this.place));
    await this.backend.store.run(SET, [this.#k, this.#v, this.#o, this.#seq], args);
  }

  async #remove(key: unknown): Promise<Buffer | null> {
    return (await this.backend.store.run(REMOVE, [this.#k, this.#v, this.#o], [this.#field(key)])) as Buffer | null;
  }

  async #entries(): Promise<Array<[unknown, unknown]>> {
    const flat = (await this.backend.store.run(ENTRIES, [this.#k, this.#v, this.#o], ['kv'])) as Buffer[];
    const out: Array<[unknown, unknown]> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push([this.#decode(flat[i] as Buffer), this.#decode(flat[i + 1] as Buffer)]);
    return out;
  }
}
