/**
 * SyncManager's `Value(typecode, value)` kept in Redis (not `Array`). As in CPython the typecode is
 * cosmetic: any value is stored. The initial value is written by whichever server first reads the value
 * and finds none (`SET ... NX GET`): later servers' initial values do not overwrite it.
 *
 *   v      STRING  the value
 */
import { GET_VALUE, PY_SIGNATURES } from '../../server/dispatch.js';
import { PY_REPR, pyRepr } from '../../python-repr.js';
import { Kind } from './keys.js';
import { decodeValue, encodeValue } from './values.js';
import { type Backend, SIZE, SharedObject } from './backend.js';

export class RedisValue extends SharedObject {
  static readonly [PY_SIGNATURES] = { set: ['value'] };
  readonly #v: string;
  readonly #typecode: unknown;
  readonly #initial: Buffer;

  constructor(backend: Backend, name: string, typeid: string, typecode: unknown = null, initial: unknown = null) {
    super(backend, Kind.Value, name, typeid);
    this.#v = this.layout.part('v');
    this.#typecode = typecode;
    this.#initial = encodeValue(initial, this.place);
  }

  async get(): Promise<unknown> {
    const old = (await this.backend.store.command(['SET', this.#v, this.#initial, 'NX', 'GET'])) as Buffer | null;
    return decodeValue(old ?? this.#initial, this.place);
  }

  async set(value: unknown): Promise<void> {
    await this.backend.store.command(['SET', this.#v, encodeValue(value, this.place)]);
  }

  [GET_VALUE](): Promise<unknown> {
    return this.get();
  }

  [PY_REPR](): string {
    return `<Value(${pyRepr(this.#typecode)}) shared in Redis as '${this.name}'>`;
  }

  async [SIZE](): Promise<number> {
    return 1;
  }
}
