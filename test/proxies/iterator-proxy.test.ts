/**
 * `IteratorProxy`: `next()` until the server raises `StopIteration`, `send`, `close`, and `for await`,
 * which releases the proxy however the loop ends (exhausted, `break`, or an error from the server).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BaseManager } from '../../src/manager/base-manager.js';
import { StopIteration, ValueError } from '../../src/python-errors.js';
import { IteratorProxy } from '../../proxies/iterator-proxy.js';
import { PyIterator } from '../fixtures/referents.js';

/** Fails on its second item. */
class Faulty extends PyIterator {
  #count = 0;
  override __next__(): unknown {
    if (++this.#count === 2) throw new ValueError('bad item');
    return super.__next__();
  }
}

function makeManager() {
  return new BaseManager(['127.0.0.1', 0], { authkey: 'iterator-key' })
    .register('Iter', PyIterator, { proxytype: IteratorProxy<string> })
    .register('Faulty', Faulty, { proxytype: IteratorProxy<string> });
}
let m: Awaited<ReturnType<ReturnType<typeof makeManager>['start']>>;
beforeEach(async () => {
  m = await makeManager().start();
});
afterEach(async () => {
  await m.shutdown();
});

describe('IteratorProxy', () => {
  it('exposes CPython\'s names and proxy class', async () => {
    const it1 = await m.Iter([]);
    expect(IteratorProxy.exposed).toEqual(['__next__', 'send', 'throw', 'close']);
    expect(it1.exposed).toEqual(['__next__', 'send', 'throw', 'close']);
    expect(it1.toObjectRef().proxytype).toBe('multiprocessing.managers.IteratorProxy');
  });

  it('next() until StopIteration; send() and close()', async () => {
    const it1 = await m.Iter(['a', 'b', 'c']);
    expect(await it1.next()).toBe('a');
    expect(await it1.send(null)).toBe('b');
    expect(await it1.send('echo')).toBe('echo');
    await it1.close();
    await expect(it1.next()).rejects.toThrow(StopIteration);
    await expect(it1.next()).rejects.toBeInstanceOf(StopIteration);
    expect(it1.released).toBe(false);
  });

  it('for await reads every item, then releases the proxy', async () => {
    const it1 = await m.Iter(['x', 'y']);
    const seen: string[] = [];
    for await (const item of it1) seen.push(item);
    expect(seen).toEqual(['x', 'y']);
    expect(it1.released).toBe(true);
    expect(await m.numberOfObjects()).toBe(0);
  });

  it('for await releases the proxy after a break', async () => {
    const it1 = await m.Iter(['x', 'y', 'z']);
    for await (const item of it1) {
      expect(item).toBe('x');
      break;
    }
    expect(it1.released).toBe(true);
    expect(await m.numberOfObjects()).toBe(0);
  });

  it('for await passes on an error from the server, and releases the proxy', async () => {
    const it1 = await m.Faulty(['x', 'y', 'z']);
    const seen: string[] = [];
    const err = await (async () => {
      for await (const item of it1) seen.push(item);
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValueError);
    expect(seen).toEqual(['x']);
    expect(it1.released).toBe(true);
    expect(await m.numberOfObjects()).toBe(0);
  });
});
