/**
 * The registry of typeids (CPython's `BaseManager._registry`): what `create(typeid, ...)` makes, which
 * methods its proxies may call, which results come back as proxies, and which proxy class a client uses.
 */
import { InvalidArgumentError, UnknownTypeidError } from '../errors.js';

/** Makes a referent: a class (called with `new`) or a factory function. */
export type Callable = ((...args: any[]) => unknown) | (new (...args: any[]) => unknown);

export interface TypeidOptions<P = unknown> {
  /** The client-side proxy class. Default: an auto proxy built from the exposed names the server returns. */
  proxytype?: P | undefined;
  /** Method names clients may call. Default: the proxy class's list, else every public method of the referent. */
  exposed?: readonly string[] | undefined;
  /** Methods whose results are hosted and returned as proxies of the given typeid, e.g. `{ __iter__: 'Iterator' }`. */
  methodToTypeid?: Readonly<Record<string, string>> | undefined;
  /** Whether the manager gets a creation method named after the typeid. Default true. */
  createMethod?: boolean | undefined;
  /** The CPython proxy class a Python client rebuilds references with, e.g. `multiprocessing.managers.DictProxy`. */
  pyProxytype?: string | undefined;
  /**
   * Turns a value hosted under this typeid (a result mapped by `methodToTypeid`, or `create`'s one argument
   * when there is no callable) into its referent, e.g. a JS generator into a Python-style iterator. Default: none.
   */
  hostAs?: (value: unknown) => unknown;
}

export interface TypeidEntry<P = unknown> {
  readonly typeid: string;
  readonly callable: Callable | null;
  readonly exposed: readonly string[] | null;
  readonly methodToTypeid: Readonly<Record<string, string>>;
  readonly proxytype: P | undefined;
  readonly createMethod: boolean;
  readonly pyProxytype: string | null;
  readonly hostAs: ((value: unknown) => unknown) | null;
}

/** Names that are never exposed, whatever a registration says: they reach the prototype machinery. */
const NEVER_EXPOSED = new Set(['constructor', '__proto__', 'prototype', '__defineGetter__', '__defineSetter__', '__lookupGetter__', '__lookupSetter__']);

export function checkExposed(typeid: string, exposed: readonly string[]): readonly string[] {
  for (const name of exposed) {
    if (typeof name !== 'string' || name.length === 0) throw new InvalidArgumentError(`exposed names of '${typeid}' must be non-empty strings`);
    if (NEVER_EXPOSED.has(name)) throw new InvalidArgumentError(`'${name}' cannot be exposed (typeid '${typeid}')`);
  }
  return Object.freeze([...exposed]);
}

export class Registry<P = unknown> {
  readonly #entries = new Map<string, TypeidEntry<P>>();

  register(typeid: string, callable: Callable | null = null, options: TypeidOptions<P> = {}): TypeidEntry<P> {
    if (typeof typeid !== 'string' || typeid.length === 0) throw new InvalidArgumentError('typeid must be a non-empty string');
    if (callable !== null && typeof callable !== 'function') throw new InvalidArgumentError(`the callable of '${typeid}' must be a function or class`);
    const methodToTypeid = Object.freeze(Object.assign(Object.create(null) as Record<string, string>, options.methodToTypeid ?? {}));
    for (const [m, t] of Object.entries(methodToTypeid)) {
      if (typeof t !== 'string') throw new InvalidArgumentError(`methodToTypeid['${m}'] of '${typeid}' must be a typeid string`);
    }
    const entry: TypeidEntry<P> = Object.freeze({
      typeid,
      callable,
      exposed: options.exposed ? checkExposed(typeid, options.exposed) : null,
      methodToTypeid,
      proxytype: options.proxytype,
      createMethod: options.createMethod ?? true,
      pyProxytype: options.pyProxytype ?? null,
      hostAs: options.hostAs ?? null,
    });
    this.#entries.set(typeid, entry);
    return entry;
  }

  get(typeid: string): TypeidEntry<P> {
    const entry = this.#entries.get(typeid);
    if (!entry) throw new UnknownTypeidError(typeid);
    return entry;
  }

  has(typeid: string): boolean {
    return this.#entries.has(typeid);
  }

  entries(): IterableIterator<TypeidEntry<P>> {
    return this.#entries.values();
  }

  /** A copy, so a subclass can add typeids without changing its parent's (as CPython copies `_registry`). */
  clone(): Registry<P> {
    const copy = new Registry<P>();
    for (const [k, v] of this.#entries) copy.#entries.set(k, v);
    return copy;
  }
}

const classPattern = /^class[\s{]/;

/** Makes a referent from a callable: classes with `new`, functions by calling them. */
export function construct(callable: Callable, args: readonly unknown[]): unknown {
  if (classPattern.test(Function.prototype.toString.call(callable))) {
    return new (callable as new (...a: unknown[]) => unknown)(...args);
  }
  return (callable as (...a: unknown[]) => unknown)(...args);
}

/**
 * CPython's `public_methods(obj)`: the names of callable attributes not starting with '_', sorted. Own
 * properties and the prototype chain up to (not including) `Object.prototype`/`Array.prototype`-level
 * built-ins are searched; `constructor` never counts.
 */
export function publicMethods(obj: unknown): string[] {
  if (obj === null || (typeof obj !== 'object' && typeof obj !== 'function')) return [];
  const names = new Set<string>();
  const stop = new Set<unknown>([Object.prototype, Function.prototype, Array.prototype, Map.prototype, Set.prototype, null]);
  for (let o: unknown = obj; o !== null && !stop.has(o); o = Object.getPrototypeOf(o)) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (name.startsWith('_') || NEVER_EXPOSED.has(name)) continue;
      const desc = Object.getOwnPropertyDescriptor(o, name);
      if (desc && typeof desc.value === 'function') names.add(name);
    }
  }
  return [...names].sort();
}
