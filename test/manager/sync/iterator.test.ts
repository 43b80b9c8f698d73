/**
 * The hosted iterator (src/manager/sync/iterator.ts): what `dict.__iter__` and `set.__iter__` return, a
 * `PyIterator` under the `Iterator` typeid (CPython's IteratorProxy), over the live keys of its dict or
 * set. Walked with `next()` to `StopIteration` and with `for await` (which releases it); a change of size
 * (or of keys) while it runs raises `RuntimeError`, as Python's does. Iterators of any JS iterable
 * returned through `methodToTypeid` are in ../iterator-typeid.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { PyRuntimeError, StopIteration } from '../../../src/python-errors.js';
import { tuple } from '../../../src/codec/values.js';
import { IteratorProxy } from '../../../proxies/iterator-proxy.js';
import { pyRaises, startManager } from './support.js';

describe('dict iteration', () => {
  it('__iter__ returns a hosted Iterator; for await walks the keys and releases it', async () => {
    const m = await startManager();
    const d = await m.dict<string, number>({ a: 1, b: 2, c: 3 });
    const before = await m.numberOfObjects();
    const seen: string[] = [];
    for await (const key of d) seen.push(key);
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(await m.numberOfObjects()).toBe(before);
    const it = await d.__iter__();
    expect(it).toBeInstanceOf(IteratorProxy);
    expect(it.token.typeid).toBe('Iterator');
    expect([await it.next(), await it.next(), await it.next()]).toEqual(['a', 'b', 'c']);
    await pyRaises(it.next(), StopIteration);
    it.release();
  });

  it('a dict that changes size during iteration raises RuntimeError, as Python\'s', async () => {
    const m = await startManager();
    const d = await m.dict<string, number>({ a: 1, b: 2 });
    const it = await d.__iter__();
    expect(await it.next()).toBe('a');
    await d.set('c', 3);
    await pyRaises(it.next(), PyRuntimeError, 'dictionary changed size during iteration');
    await pyRaises(it.next(), PyRuntimeError);
    it.release();
    const again = await d.__iter__();
    await again.next();
    await d.set('a', 100); // a new value is not a change of keys
    expect(await again.next()).toBe('b');
    await d.delete('a');
    await d.set('z', 0); // same size, other keys
    await pyRaises(again.next(), PyRuntimeError, 'dictionary keys changed during iteration');
    again.release();
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const key of d) {
          seen.push(key);
          await d.set(`${key}!`, 0);
        }
      })(),
    ).rejects.toBeInstanceOf(PyRuntimeError);
    expect(seen).toHaveLength(1);
  });
});

describe('set iteration', () => {
  it('__iter__ returns a hosted Iterator; for await walks the members; a change of size raises RuntimeError', async () => {
    const m = await startManager();
    const s = await m.set<unknown>([1, true, tuple<unknown>(1, 2)]);
    const seen: unknown[] = [];
    for await (const x of s) seen.push(x);
    expect(seen).toEqual([1, tuple<unknown>(1, 2)]);
    const it = await s.__iter__();
    expect(it).toBeInstanceOf(IteratorProxy);
    await it.next();
    await s.add(99);
    await pyRaises(it.next(), PyRuntimeError, 'Set changed size during iteration');
    it.release();
  });
});
