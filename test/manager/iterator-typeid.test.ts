/**
 * A method mapped to the 'Iterator' typeid may return any JS iterable, iterator or generator (sync or
 * async): clients get an IteratorProxy that ends with StopIteration, as with CPython's generators.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StopIteration } from '../../src/python-errors.js';
import { SyncManager } from '../../src/manager/sync-manager.js';
import type { IteratorProxy } from '../../proxies/iterator-proxy.js';

class Source {
  *countTo(n: number): Generator<number> {
    for (let i = 1; i <= n; i++) yield i;
  }
  async *later(): AsyncGenerator<string> {
    yield 'a';
    await new Promise((r) => setTimeout(r, 5));
    yield 'b';
  }
  letters(): string[] {
    return ['x', 'y'];
  }
}

class Manager extends SyncManager {}
Manager.register('Source', Source, { methodToTypeid: { countTo: 'Iterator', later: 'Iterator', letters: 'Iterator' } });

let manager: Manager;
beforeAll(async () => {
  manager = await new Manager(['127.0.0.1', 0], { authkey: 'iter' }).start();
});
afterAll(async () => {
  await manager.shutdown();
});

async function drain<T>(it: IteratorProxy<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of it) out.push(item);
  return out;
}

describe("methods mapped to 'Iterator'", () => {
  it('serve generators, async generators and arrays as Python iterators', async () => {
    const source = await manager.create<{ callMethod<R>(m: string, a?: unknown[]): Promise<R> }>('Source');
    const before = await manager.numberOfObjects();
    expect(await drain(await source.callMethod<IteratorProxy<number>>('countTo', [3]))).toEqual([1, 2, 3]);
    expect(await drain(await source.callMethod<IteratorProxy<string>>('later'))).toEqual(['a', 'b']);
    const it = await source.callMethod<IteratorProxy<string>>('letters');
    expect(await it.next()).toBe('x');
    expect(await it.next()).toBe('y');
    await expect(it.next()).rejects.toThrow(StopIteration);
    it.release();
    // Every iterator was released (for await releases at the end): only the source is left.
    await expect.poll(() => manager.numberOfObjects(), { timeout: 5_000 }).toBe(before);
  });
});
