/**
 * CPython's `managers.Namespace(**kwds)`: attributes only. Each attribute is an own data property, so
 * the server's generic `__getattribute__`/`__setattr__`/`__delattr__` (see `dispatch.ts`) serve it to
 * `NamespaceProxy` clients and nothing from the prototype is ever reachable.
 */
import { GET_VALUE, PY_SIGNATURES } from '../../server/dispatch.js';
import { PY_REPR, pyRepr, type Repr } from '../../python-repr.js';
import { PICKLE_REDUCE, type PickleReduce } from '../../codec/pickle/index.js';

export class Namespace {
  static readonly [PY_SIGNATURES] = { constructor: ['**kwargs'] };

  constructor(kwargs: Record<string, unknown> | null = null) {
    if (kwargs) {
      for (const name of Object.keys(kwargs)) {
        Object.defineProperty(this, name, { value: kwargs[name], writable: true, enumerable: true, configurable: true });
      }
    }
  }

  /** The attributes as a plain object. */
  [GET_VALUE](): Record<string, unknown> {
    return Object.fromEntries(Object.keys(this).map((k) => [k, (this as Record<string, unknown>)[k]]));
  }

  /** `Namespace(a=1, b='x')`: public attributes, sorted, as CPython's `Namespace.__repr__`. */
  [PY_REPR](repr: Repr): string {
    const parts = Object.keys(this)
      .filter((name) => !name.startsWith('_'))
      .map((name) => `${name}=${repr((this as Record<string, unknown>)[name])}`)
      .sort();
    return `Namespace(${parts.join(', ')})`;
  }

  /** A Python client's `_getvalue()` gets a `managers.Namespace`, as from CPython (attributes as state). */
  [PICKLE_REDUCE](): PickleReduce {
    return { global: 'multiprocessing.managers.Namespace', newobj: true, state: this[GET_VALUE]() };
  }
}
