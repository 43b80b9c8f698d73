/**
 * Auto proxies: a proxy class made at run time from the exposed names the server returns (CPython's
 * `AutoProxy` and `MakeProxyType`, without generating source: each name becomes a method that calls
 * `callMethod`). Classes are cached by their list of names.
 */
import type { ManagerClient } from '../src/protocol/client.js';
import type { ObjectRef } from '../src/protocol/ref.js';
import { BaseProxy, type ProxyClass } from './base-proxy.js';
import type { Remote } from './types.js';

/** A proxy whose methods are the referent's exposed methods, typed from the referent type `T` where known. */
export type AutoProxy<T = any> = BaseProxy & (unknown extends T ? { [method: string]: any } : Remote<T>);

const cache = new Map<string, ProxyClass>();

/** Names that would shadow the proxy's own API; they stay reachable through `callMethod`. */
const RESERVED = new Set(Object.getOwnPropertyNames(BaseProxy.prototype).concat(['constructor', '__proto__', 'then']));

/** Makes (or reuses) a proxy class with one method per exposed name. */
export function makeProxyType(name: string, exposed: readonly string[], base: ProxyClass = BaseProxy): ProxyClass {
  const key = `${name}\0${base.name}\0${exposed.join('\0')}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const cls = class extends (base as typeof BaseProxy) {
    static readonly exposed = Object.freeze([...exposed]);
  };
  Object.defineProperty(cls, 'name', { value: name });
  for (const method of exposed) {
    if (RESERVED.has(method) || Object.prototype.hasOwnProperty.call(cls.prototype, method)) continue;
    Object.defineProperty(cls.prototype, method, {
      value: function (this: BaseProxy, ...args: unknown[]) {
        return this.callMethod(method, args);
      },
      writable: true,
      configurable: true,
    });
  }
  cache.set(key, cls as ProxyClass);
  return cls as ProxyClass;
}

/** Builds an auto proxy for a reference, with the exposed names it carries. */
export function autoProxy<T = any>(client: ManagerClient, ref: ObjectRef): AutoProxy<T> {
  const Cls = makeProxyType(`AutoProxy[${ref.token.typeid}]`, ref.exposed ?? []);
  return new Cls(client, ref) as AutoProxy<T>;
}
