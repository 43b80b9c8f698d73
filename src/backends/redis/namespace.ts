/**
 * CPython's `managers.Namespace` kept in Redis: attributes only, served to `NamespaceProxy` clients
 * through `__getattribute__`, `__setattr__` and `__delattr__`.
 *
 *   a      HASH  attribute name -> value
 *
 * `_getvalue()` gives a dict of the attributes (to Python clients too, where an in-memory namespace
 * gives a `managers.Namespace`: its state lives in Redis, and the pickle of a referent is written
 * synchronously).
 */
import { AttributeError } from '../../python-errors.js';
import { GET_VALUE, PY_SIGNATURES } from '../../server/dispatch.js';
import { PY_REPR } from '../../python-repr.js';
import { Kind } from './keys.js';
import { decodeValue, encodeValue } from './values.js';
import { type Backend, SIZE, SharedObject } from './backend.js';

export class RedisNamespace extends SharedObject {
  static readonly [PY_SIGNATURES] = {};
  readonly #a: string;

  constructor(backend: Backend, name: string, typeid: string) {
    super(backend, Kind.Namespace, name, typeid);
    this.#a = this.layout.part('a');
  }

  async __getattribute__(name: unknown): Promise<unknown> {
    const raw = (await this.backend.store.command(['HGET', this.#a, String(name)])) as Buffer | null;
    if (raw === null) throw new AttributeError(`'Namespace' object has no attribute '${String(name)}'`);
    return decodeValue(raw, this.place);
  }

  async __setattr__(name: unknown, value: unknown): Promise<null> {
    await this.backend.store.command(['HSET', this.#a, String(name), encodeValue(value, this.place)]);
    return null;
  }

  async __delattr__(name: unknown): Promise<null> {
    if ((await this.backend.store.command(['HDEL', this.#a, String(name)])) === 0) {
      throw new AttributeError(`'Namespace' object has no attribute '${String(name)}'`);
    }
    return null;
  }

  /** The attributes as a plain object. */
  async [GET_VALUE](): Promise<Record<string, unknown>> {
    const flat = (await this.backend.store.command(['HGETALL', this.#a])) as Buffer[];
    const out: Record<string, unknown> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) {
      Object.defineProperty(out, (flat[i] as Buffer).toString(), { value: decodeValue(flat[i + 1] as Buffer, this.place), writable: true, enumerable: true, configurable: true });
    }
    return out;
  }

  [PY_REPR](): string {
    return `<Namespace shared in Redis as '${this.name}'>`;
  }

  /** The number of attributes. */
  async [SIZE](): Promise<number> {
    return (await this.backend.store.command(['HLEN', this.#a])) as number;
  }
}
