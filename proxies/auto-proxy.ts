/**
 * Auto proxies: a proxy class made at run time from the exposed names the server returns (CPython's
 * `AutoProxy` and `MakeProxyType`, without generating source: each name becomes a method that calls
 * `callMethod`). Classes are cached by their list of names.
 */
import type { ManagerClient } from '../src/protocol/client.js';
import type { ObjectRef } from '../src/codec/ref.js';
import { BaseProxy, type ProxyClass } from './base-proxy.js';
import type { ExposedRemote, Remote } from './types.js';

/**
 * A proxy whose methods are the referent's exposed methods, typed from the referent type `T` where known:
 * its public methods, or exactly the names `E` when the registration lists them (`exposed`), so calling a
 * method that is not exposed is a compile error. Names the proxy keeps for itself (its own API, `then`)
 * are left out, as `makeProxyType` leaves them out.
 */
export type AutoProxy<T = any, E extends PropertyKey = never> = BaseProxy &
  (unknown extends T
    ? { [method: string]: any }
    : [E] extends [never]
      ? Remote<T, Exclude<keyof T, ProxyOwnNames>>
      : ExposedRemote<T, Exclude<E, ProxyOwnNames>>);

type ProxyOwnNames = keyof BaseProxy | 'then' | 'constructor';

/** Per base class (a WeakMap, so two bases that share a name never share classes), by name and exposed names. */
const cache = new WeakMap<ProxyClass, Map<string, ProxyClass>>();

/** Names that would shadow the proxy's own API; they stay reachable through `callMethod`. */
const RESERVED = new Set(Object.getOwnPropertyNames(BaseProxy.prototype).concat(['constructor', '__proto__', 'then']));

/** Makes (or reuses) a proxy class with one method per exposed name. */
export function makeProxyType(name: string, exposed: readonly string[], base: ProxyClass = BaseProxy): ProxyClass {
  let classes = cache.get(base);
  if (!classes) cache.set(base, (classes = new Map()));
  const key = `${name}\0${exposed.join('\0')}`;
  const hit = classes.get(key);
  if (hit) return hit;
  const cls = class extends (base as typeof BaseProxy) {
    static readonly exposed = Object.freeze([...exposed]);
  };
  Object.defineProperty(cls, 'name', { value: name });
  for (const method of exposed) {
    if (RESERVED.has(method) || definedBy(base, method)) continue;
    Object.defineProperty(cls.prototype, method, {
      value: function (this: BaseProxy, ...args: unknown[]) {
        return this.callMethod(method, args);
      },
      writable: true,
      configurable: true,
    });
  }
  classes.set(key, cls as ProxyClass);
  return cls as ProxyClass;
}

/** Whether the base class (or a class between it and Object) defines `name`: its own method wins. */
function definedBy(base: ProxyClass, name: string): boolean {
  for (let p: object | null = (base as unknown as { prototype: object }).prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    if (Object.prototype.hasOwnProperty.call(p, name)) return true;
  }
  return false;
}

/** Builds an auto proxy for a reference, with the exposed names it carries. */
export function autoProxy<T = any>(client: ManagerClient, ref: ObjectRef): AutoProxy<T> {
  const Cls = makeProxyType(`AutoProxy[${ref.token.typeid}]`, ref.exposed ?? []);
  return new Cls(client, ref) as AutoProxy<T>;
}
