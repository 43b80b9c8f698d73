/**
 * `set` kept in Redis (CPython 3.14's SyncManager `set`).
 *
 *   m      HASH  canonical member -> the member as first added
 *
 * Members are equal as in Python (`1`, `1.0` and `True` are one member; the first one added stays).
 * Iteration order is the hash's, as arbitrary as a Python set's. Mutations are one command or Lua script
 * each (atomic); operators that make a new set (`s | t`) read a snapshot and return a plain value, in-place
 * ones (`s |= t`) return nothing (the proxy returns itself). `__iter__` walks a snapshot.
 */
import { KeyError, PyTypeError } from '../../python-errors.js';
import { GET_VALUE, PY_SIGNATURES } from '../../server/dispatch.js';
import { PY_REPR, pyTypeName } from '../../python-repr.js';
import { Kind } from './keys.js';
import { hashKey } from '../../server/py.js';
import { argItems, argValue } from './args.js';
import { defineScript, type RedisArg } from './store.js';
import { canonicalKey, decodeValue, encodeValue } from './values.js';
import { type Backend, SIZE, SharedObject } from './backend.js';

/** KEYS m; ARGV (canonical, member) pairs. Adds those not there. */
const ADD = defineScript('set-add', `
local added = 0
for i = 1, #ARGV, 2 do added = added + redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) end
return added
`);

/** KEYS m; ARGV canonical members to keep. Removes every other member. */
const KEEP = defineScript('set-keep', `
local keep = {}
for i = 1, #ARGV do keep[ARGV[i]] = true end
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if not keep[f] then redis.call('HDEL', KEYS[1], f) end
end
return 1
`);

/** KEYS m; ARGV (canonical, member) pairs. Removes those there, adds the others. */
const TOGGLE = defineScript('set-toggle', `
for i = 1, #ARGV, 2 do
  if redis.call('HDEL', KEYS[1], ARGV[i]) == 0 then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
return 1
`);

/** KEYS m. Removes and returns some member, or nil. */
const POP = defineScript('set-pop', `
local f = redis.call('HRANDFIELD', KEYS[1])
if not f then return false end
local v = redis.call('HGET', KEYS[1], f)
redis.call('HDEL', KEYS[1], f)
return v
`);

/** Members by canonical key, first one kept. */
type Table = Map<string, unknown>;

function tableOf(members: Iterable<unknown>): Table {
  const t: Table = new Map();
  for (const x of members) {
    const h = hashKey(x);
    if (!t.has(h)) t.set(h, x);
  }
  return t;
}

export class RedisSet extends SharedObject {
  static readonly [PY_SIGNATURES] = {};
  readonly #m: string;

  constructor(backend: Backend, name: string, typeid: string) {
    super(backend, Kind.Set, name, typeid);
    this.#m = this.layout.part('m');
  }

  async __len__(): Promise<number> {
    return (await this.backend.store.command(['HLEN', this.#m])) as number;
  }

  async __contains__(value: unknown): Promise<boolean> {
    return (await this.backend.store.command(['HEXISTS', this.#m, this.#field(value)])) === 1;
  }

  /** The members, as a snapshot (hosted as `Iterator`). */
  async __iter__(): Promise<unknown[]> {
    return [...(await this.#table()).values()];
  }

  async add(value: unknown): Promise<void> {
    await this.#add([value]);
  }

  async discard(value: unknown): Promise<void> {
    await this.backend.store.command(['HDEL', this.#m, this.#field(value)]);
  }

  async remove(value: unknown): Promise<void> {
    if ((await this.backend.store.command(['HDEL', this.#m, this.#field(value)])) === 0) throw new KeyError(value);
  }

  async pop(): Promise<unknown> {
    const raw = (await this.backend.store.run(POP, [this.#m], [])) as Buffer | null;
    if (raw === null) throw new KeyError('pop from an empty set');
    return decodeValue(raw, this.place);
  }

  async clear(): Promise<void> {
    await this.backend.store.command(['DEL', this.#m]);
  }

  async copy(): Promise<Set<unknown>> {
    return new Set((await this.#table()).values());
  }

  async union(...others: unknown[]): Promise<Set<unknown>> {
    const out = await this.#table();
    for (const o of others) for (const x of await argItems(o)) if (!out.has(hashKey(x))) out.set(hashKey(x), x);
    return new Set(out.values());
  }

  async intersection(...others: unknown[]): Promise<Set<unknown>> {
    let keep = await this.#table();
    for (const o of others) keep = intersect(keep, await argItems(o));
    return new Set(keep.values());
  }

  async difference(...others: unknown[]): Promise<Set<unknown>> {
    const keep = await this.#table();
    for (const o of others) for (const x of await argItems(o)) keep.delete(hashKey(x));
    return new Set(keep.values());
  }

  async symmetric_difference(other: unknown): Promise<Set<unknown>> {
    const out = await this.#table();
    for (const [h, x] of tableOf(await argItems(other))) {
      if (out.has(h)) out.delete(h);
      else out.set(h, x);
    }
    return new Set(out.values());
  }

  async update(...others: unknown[]): Promise<void> {
    const all: unknown[] = [];
    for (const o of others) all.push(...(await argItems(o)));
    await this.#add(all);
  }

  async intersection_update(...others: unknown[]): Promise<void> {
    if (others.length === 0) return;
    let keep: string[] | null = null;
    for (const o of others) {
      const theirs = new Set((await argItems(o)).map((x) => this.#field(x)));
      keep = keep === null ? [...theirs] : keep.filter((h) => theirs.has(h));
    }
    await this.backend.store.run(KEEP, [this.#m], keep ?? []);
  }

  async difference_update(...others: unknown[]): Promise<void> {
    const fields: string[] = [];
    for (const o of others) for (const x of await argItems(o)) fields.push(this.#field(x));
    if (fields.length > 0) await this.backend.store.command(['HDEL', this.#m, ...fields]);
  }

  async symmetric_difference_update(other: unknown): Promise<void> {
    const args = this.#pairs(await argItems(other));
    if (args.length > 0) await this.backend.store.run(TOGGLE, [this.#m], args);
  }

  async isdisjoint(other: unknown): Promise<boolean> {
    const mine = await this.#table();
    return (await argItems(other)).every((x) => !mine.has(hashKey(x)));
  }

  async issubset(other: unknown): Promise<boolean> {
    const theirs = new Set((await argItems(other)).map(hashKey));
    for (const h of (await this.#table()).keys()) if (!theirs.has(h)) return false;
    return true;
  }

  async issuperset(other: unknown): Promise<boolean> {
    const mine = await this.#table();
    return (await argItems(other)).every((x) => mine.has(hashKey(x)));
  }

  async __or__(other: unknown): Promise<Set<unknown>> {
    return this.union(await this.#operand(other, '|'));
  }

  async __ror__(other: unknown): Promise<Set<unknown>> {
    return this.__or__(other);
  }

  async __and__(other: unknown): Promise<Set<unknown>> {
    return this.intersection(await this.#operand(other, '&'));
  }

  async __rand__(other: unknown): Promise<Set<unknown>> {
    return this.__and__(other);
  }

  async __sub__(other: unknown): Promise<Set<unknown>> {
    return this.difference(await this.#operand(other, '-'));
  }

  async __rsub__(other: unknown): Promise<Set<unknown>> {
    const theirs = tableOf(await this.#operand(other, '-', true));
    for (const h of (await this.#table()).keys()) theirs.delete(h);
    return new Set(theirs.values());
  }

  async __xor__(other: unknown): Promise<Set<unknown>> {
    return this.symmetric_difference(await this.#operand(other, '^'));
  }

  async __rxor__(other: unknown): Promise<Set<unknown>> {
    return this.__xor__(other);
  }

  async __ior__(other: unknown): Promise<void> {
    await this.update(await this.#operand(other, '|='));
  }

  async __iand__(other: unknown): Promise<void> {
    await this.intersection_update(await this.#operand(other, '&='));
  }

  async __isub__(other: unknown): Promise<void> {
    await this.difference_update(await this.#operand(other, '-='));
  }

  async __ixor__(other: unknown): Promise<void> {
    await this.symmetric_difference_update(await this.#operand(other, '^='));
  }

  async __le__(other: unknown): Promise<boolean> {
    return this.issubset(await this.#operand(other, '<='));
  }

  async __lt__(other: unknown): Promise<boolean> {
    const theirs = await this.#operand(other, '<');
    return (await this.issubset(theirs)) && (await this.__len__()) < tableOf(theirs).size;
  }

  async __ge__(other: unknown): Promise<boolean> {
    return this.issuperset(await this.#operand(other, '>='));
  }

  async __gt__(other: unknown): Promise<boolean> {
    const theirs = await this.#operand(other, '>');
    return (await this.issuperset(theirs)) && (await this.__len__()) > tableOf(theirs).size;
  }

  async [GET_VALUE](): Promise<Set<unknown>> {
    return this.copy();
  }

  [PY_REPR](): string {
    return `<set shared in Redis as '${this.name}'>`;
  }

  async [SIZE](): Promise<number> {
    return this.__len__();
  }

  #field(value: unknown): string {
    return canonicalKey(value, this.place);
  }

  async #add(values: unknown[]): Promise<void> {
    if (values.length > 0) await this.backend.store.run(ADD, [this.#m], this.#pairs(values));
  }

  /** `(canonical, encoded member)` arguments for distinct `values`, the first of equal ones kept. */
  #pairs(values: unknown[]): RedisArg[] {
    const seen = new Set<string>();
    const args: RedisArg[] = [];
    for (const x of values) {
      const h = this.#field(x);
      if (seen.has(h)) continue;
      seen.add(h);
      args.push(h, encodeValue(x, this.place));
    }
    return args;
  }

  /** The members now, by canonical key. */
  async #table(): Promise<Table> {
    const flat = (await this.backend.store.command(['HGETALL', this.#m])) as Buffer[];
    const t: Table = new Map();
    for (let i = 0; i + 1 < flat.length; i += 2) t.set((flat[i] as Buffer).toString(), decodeValue(flat[i + 1] as Buffer, this.place));
    return t;
  }

  /** Operators take sets only, as Python's (methods take any iterable). */
  async #operand(other: unknown, op: string, reflected = false): Promise<unknown[]> {
    const u = await argValue(other);
    if (u instanceof Set) return [...u];
    const [a, b] = reflected ? [pyTypeName(u), 'set'] : ['set', pyTypeName(u)];
    throw new PyTypeError(`unsupported operand type(s) for ${op}: '${a}' and '${b}'`);
  }
}

function intersect(table: Table, others: unknown[]): Table {
  const out: Table = new Map();
  for (const x of others) {
    const h = hashKey(x);
    if (table.has(h)) out.set(h, table.get(h));
  }
  return out;
}
