/**
 * `NamespaceProxy`: attribute access on a hosted object through `__getattribute__`, `__setattr__` and
 * `__delattr__` (CPython's NamespaceProxy). A property read must be awaited in JavaScript, so the
 * attribute API is `get`/`set`/`delete`, plus `attrs` for reads written as properties
 * (`await ns.attrs.name`). As in Python, names starting with '_' are never sent to the server.
 */
import { AttributeError } from '../src/python-errors.js';
import type { CallOptions } from '../src/protocol/client.js';
import { BaseProxy } from './base-proxy.js';

export class NamespaceProxy<T extends object = Record<string, any>> extends BaseProxy {
  static readonly exposed: readonly string[] = Object.freeze(['__getattribute__', '__setattr__', '__delattr__']);
  static readonly pyProxytype: string = 'multiprocessing.managers.NamespaceProxy';
  #attrs: { readonly [K in keyof T]: Promise<T[K]> } | undefined;

  /** Reads attribute `name`. */
  get<K extends keyof T & string>(name: K, options?: CallOptions): Promise<T[K]> {
    try {
      checkPublic(name);
    } catch (err) {
      return Promise.reject(err); // as set() and delete() do: a promise API never throws synchronously
    }
    return this.callMethod<T[K]>('__getattribute__', [name], null, options);
  }

  /** Sets attribute `name`. */
  async set<K extends keyof T & string>(name: K, value: T[K], options?: CallOptions): Promise<void> {
    checkPublic(name);
    await this.callMethod('__setattr__', [name, value], null, options);
  }

  /** Deletes attribute `name`. */
  async delete<K extends keyof T & string>(name: K, options?: CallOptions): Promise<void> {
    checkPublic(name);
    await this.callMethod('__delattr__', [name], null, options);
  }

  /** Attribute reads written as properties: `await ns.attrs.name`. */
  get attrs(): { readonly [K in keyof T]: Promise<T[K]> } {
    this.#attrs ??= new Proxy(Object.create(null) as { readonly [K in keyof T]: Promise<T[K]> }, {
      get: (_, name) => (typeof name === 'string' && name !== 'then' ? this.get(name as keyof T & string) : undefined),
      set: () => {
        throw new TypeError('attrs is read-only: use `await ns.set(name, value)`, which reports errors');
      },
    });
    return this.#attrs;
  }
}

function checkPublic(name: string): void {
  if (name.startsWith('_')) {
    throw new AttributeError(`'${name}' starts with '_': such attributes belong to the proxy, not the referent (as in Python)`);
  }
}
