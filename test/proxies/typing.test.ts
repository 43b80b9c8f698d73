/**
 * Proxy typing (checked by `tsc --noEmit`, which `npm test` runs first): proxies are typed from the
 * registered class and its exposure list, so calling a method that is not exposed is a compile error
 * where the types are known, and a NotExposedError at run time. Each `@ts-expect-error` below fails the
 * typecheck if the error it expects ever disappears.
 */
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { NotExposedError } from '../../src/errors.js';
import { BaseManager } from '../../src/manager/base-manager.js';

class Store {
  #items: string[] = [];
  add(item: string): number {
    return this.#items.push(item);
  }
  size(): number {
    return this.#items.length;
  }
  _peek(): string | undefined {
    return this.#items[0];
  }
}

function makeManager() {
  return new BaseManager(['127.0.0.1', 0], { authkey: 'typing' })
    .register('Store', Store)
    .register('AddOnly', Store, { exposed: ['add'] })
    .register('WithPrivate', Store, { exposed: ['add', '_peek'] });
}

let manager: ReturnType<typeof makeManager>;
beforeAll(async () => {
  manager = await makeManager().start();
});
afterAll(async () => {
  await manager.shutdown();
});

describe('typed proxies', () => {
  it('a default registration exposes the public methods, typed', async () => {
    const store = await manager.Store();
    expectTypeOf(store.add).toEqualTypeOf<(item: string) => Promise<number>>();
    expect(await store.add('a')).toBe(1);
    expect(await store.size()).toBe(1);
    // @ts-expect-error -- '_peek' is private: not exposed by default, as in CPython
    expect(store._peek).toBeUndefined();
    // @ts-expect-error -- the argument type comes from the class
    void store.add(42).catch(() => {});
  });

  it('an explicit exposed list is exactly what the proxy type offers', async () => {
    const addOnly = await manager.AddOnly();
    expect(await addOnly.add('x')).toBe(1);
    // @ts-expect-error -- 'size' is not in the exposed list
    expect(addOnly.size).toBeUndefined();
    await expect(addOnly.callMethod('size')).rejects.toThrow(NotExposedError);

    const withPrivate = await manager.WithPrivate();
    await withPrivate.add('first');
    expectTypeOf(withPrivate._peek).toEqualTypeOf<() => Promise<string | undefined>>();
    expect(await withPrivate._peek()).toBe('first');
  });
});
