/**
 * Auto proxies: one async method per exposed name, classes cached by their names, the proxy's own API
 * never shadowed (and a referent's `then` never makes a proxy thenable), and the `Remote<T>` typing:
 * public methods only, each returning a promise.
 */
import { afterEach, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import { BaseManager } from '../../src/manager/base-manager.js';
import { ObjectRef } from '../../src/codec/ref.js';
import { Token } from '../../src/codec/token.js';
import { autoProxy, makeProxyType, type AutoProxy } from '../../proxies/auto-proxy.js';
import { BaseProxy } from '../../proxies/base-proxy.js';
import type { PublicMethodNames, Remote } from '../../proxies/types.js';
import { Counter, Holder } from '../fixtures/referents.js';

/** A referent whose method names collide with the proxy's own API. */
class Awkward {
  then(): string {
    return 'remote then';
  }
  release(): string {
    return 'remote release';
  }
  toString(): string {
    return 'remote toString';
  }
  getValue(): string {
    return 'remote getValue';
  }
  plain(a: number, b: number): number {
    return a + b;
  }
  toObjectRef(): string {
    return 'remote toObjectRef';
  }
}

function makeManager() {
  return new BaseManager(['127.0.0.1', 0], { authkey: 'auto-proxy-key' }).register('Counter', Counter).register('Awkward', Awkward).register('Holder', Holder);
}
let m: Awaited<ReturnType<ReturnType<typeof makeManager>['start']>>;
beforeEach(async () => {
  m = await makeManager().start();
});
afterEach(async () => {
  await m.shutdown();
});

describe('makeProxyType', () => {
  it('makes one method per exposed name, named AutoProxy[typeid], cached by its names', () => {
    const A = makeProxyType('AutoProxy[T]', ['f', 'g']);
    expect(A.name).toBe('AutoProxy[T]');
    expect(A.exposed).toEqual(['f', 'g']);
    expect(makeProxyType('AutoProxy[T]', ['f', 'g'])).toBe(A);
    expect(makeProxyType('AutoProxy[T]', ['g', 'f'])).not.toBe(A);
    expect(makeProxyType('AutoProxy[U]', ['f', 'g'])).not.toBe(A);
    expect(Object.getPrototypeOf(A.prototype)).toBe(BaseProxy.prototype);
    expect(typeof (A.prototype as unknown as Record<string, unknown>).f).toBe('function');
  });

  it('builds on a given base class', () => {
    class Base extends BaseProxy {
      local(): string {
        return 'local';
      }
    }
    const A = makeProxyType('AutoProxy[T]', ['local', 'remote'], Base);
    expect(Object.getPrototypeOf(A.prototype)).toBe(Base.prototype);
    expect(Object.getOwnPropertyNames(A.prototype)).toEqual(['constructor', 'remote']);
    expect((A.prototype as unknown as Base).local).toBe(Base.prototype.local); // the base's own method wins
    // Another base that happens to have the same name gets classes of its own.
    const Other = (() => {
      class Base extends BaseProxy {}
      return Base;
    })();
    const B = makeProxyType('AutoProxy[T]', ['local', 'remote'], Other);
    expect(B).not.toBe(A);
    expect(Object.getPrototypeOf(B.prototype)).toBe(Other.prototype);
  });
});

describe('auto proxies', () => {
  it('forward each exposed method with its arguments', async () => {
    const a = await m.Awkward();
    expect(a.exposed).toEqual(['getValue', 'plain', 'release', 'then', 'toObjectRef', 'toString']);
    expect(await a.plain(2, 3)).toBe(5);
  });

  it('never shadow the proxy API: release, toString, getValue and then stay local, reachable through callMethod', async () => {
    const a = await m.Awkward();
    expect(await a.callMethod('then')).toBe('remote then');
    expect(await a.callMethod('release')).toBe('remote release');
    expect(await a.callMethod('toString')).toBe('remote toString');
    expect(await a.callMethod('getValue')).toBe('remote getValue');
    expect(await a.callMethod('toObjectRef')).toBe('remote toObjectRef');

    expect(await a.toString()).toBe('<Awkward object>'); // the remote repr, not the referent's toString
    expect((a as unknown as { then?: unknown }).then).toBeUndefined(); // so awaiting a proxy never calls the server
    const same = await Promise.resolve(a);
    expect(same).toBe(a);
    a.release();
    expect(a.released).toBe(true);
    expect(await m.numberOfObjects()).toBe(0);
  });

  it('a proxy whose referent has a toObjectRef method still travels as a reference', async () => {
    const a = await m.Awkward();
    const holder = await m.Holder();
    expect(await holder.describe(a)).toEqual({ typeid: 'Awkward', id: a.token.id, isCounter: false });
  });

  it('an auto proxy made from a reference without names has none, and still answers the fallbacks', async () => {
    const c = await m.Counter(3);
    const bare = autoProxy(m.client, new ObjectRef(new Token('Counter', m.address, c.token.id), null));
    expect(bare.exposed).toEqual([]);
    expect(bare.constructor.name).toBe('AutoProxy[Counter]');
    expect(await bare.getValue()).toEqual({ n: 3 });
    expect(await m.client.call(null, 'get_methods', [c.token.id])).toEqual(c.exposed);
  });

  it('are typed from the referent: public methods only, results as promises', async () => {
    const c = await m.Counter();
    expectTypeOf(c).toMatchTypeOf<BaseProxy>();
    expectTypeOf(c.inc).toEqualTypeOf<(by?: number) => Promise<number>>();
    expectTypeOf(c.crashLater).toEqualTypeOf<() => Promise<never>>();
    expectTypeOf<keyof Remote<Counter>>().toEqualTypeOf<'inc' | 'value' | 'fail' | 'crash' | 'crashLater' | 'throwString'>();
    expectTypeOf<PublicMethodNames<Counter>>().toEqualTypeOf<'inc' | 'value' | 'fail' | 'crash' | 'crashLater' | 'throwString'>();
    // @ts-expect-error: a data member is not a method
    expect(c.n).toBeUndefined();
    // @ts-expect-error: a private method is not exposed
    expect(c._secret).toBeUndefined();
    // Names the proxy keeps for itself are not typed as remote methods either.
    const a = await m.Awkward();
    expectTypeOf(a.plain).toEqualTypeOf<(a: number, b: number) => Promise<number>>();
    expectTypeOf(a.release).toEqualTypeOf<() => void>();
    expectTypeOf(a.toString).toEqualTypeOf<() => Promise<string>>();
    expectTypeOf<'then' extends keyof typeof a ? true : false>().toEqualTypeOf<false>();
    const untyped: AutoProxy = c;
    expectTypeOf(untyped.anything).toBeAny();
  });
});
