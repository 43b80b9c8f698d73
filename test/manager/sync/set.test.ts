/**
 * `set` (src/manager/sync/set.ts, CPython 3.14's SyncManager `set`) through a started SyncManager, against
 * Python's behaviour: the set methods (which take any iterable) and operators (which take sets, else
 * `TypeError`), in-place operators, Python hashing, and Python's repr. Iteration (the hosted `Iterator`)
 * is in iterator.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { KeyError, PyTypeError } from '../../../src/python-errors.js';
import { tuple } from '../../../src/codec/values.js';
import { pyRaises, startManager } from './support.js';

describe('set', () => {
  it('add, discard, remove, pop, contains, len, clear, copy', async () => {
    const m = await startManager();
    const s = await m.set<number>([1, 2, 2, 3]);
    expect(await s.len()).toBe(3);
    await s.add(4);
    await s.add(1);
    expect(await s.has(4)).toBe(true);
    await s.discard(99);
    await s.remove(4);
    await pyRaises(s.remove(4), KeyError, 4);
    expect(await s.copy()).toEqual(new Set([1, 2, 3]));
    const popped = await s.pop();
    expect([1, 2, 3]).toContain(popped);
    await s.clear();
    await pyRaises(s.pop(), KeyError, 'pop from an empty set');
    expect(await s.toString()).toBe('set()');
  });

  it('methods take iterables; operators take sets and raise TypeError otherwise', async () => {
    const m = await startManager();
    const s = await m.set<number>([1, 2, 3]);
    expect(await s.union([3, 4], new Set([5]))).toEqual(new Set([1, 2, 3, 4, 5]));
    expect(await s.intersection([2, 3, 9])).toEqual(new Set([2, 3]));
    expect(await s.difference([1])).toEqual(new Set([2, 3]));
    expect(await s.symmetric_difference([3, 4])).toEqual(new Set([1, 2, 4]));
    expect(await s.isdisjoint([7])).toBe(true);
    expect(await s.issubset([1, 2, 3, 4])).toBe(true);
    expect(await s.issuperset([1, 2])).toBe(true);
    expect(await s.__or__(new Set([9]))).toEqual(new Set([1, 2, 3, 9]));
    expect(await s.__and__(new Set([1, 9]))).toEqual(new Set([1]));
    expect(await s.__sub__(new Set([1]))).toEqual(new Set([2, 3]));
    expect(await s.__rsub__(new Set([1, 7]))).toEqual(new Set([7]));
    expect(await s.__xor__(new Set([1, 7]))).toEqual(new Set([2, 3, 7]));
    await pyRaises(s.callMethod('__or__', [[9]]), PyTypeError, "unsupported operand type(s) for |: 'set' and 'list'");
    expect(await s.__le__(new Set([1, 2, 3]))).toBe(true);
    expect(await s.__lt__(new Set([1, 2, 3]))).toBe(false);
    expect(await s.__ge__(new Set([1]))).toBe(true);
    expect(await s.__gt__(new Set([1, 2, 3]))).toBe(false);
  });

  it('in-place operators and *_update methods change it and resolve the proxy', async () => {
    const m = await startManager();
    const s = await m.set<number>([1, 2, 3]);
    expect(await s.__ior__(new Set([4]))).toBe(s);
    await s.__iand__(new Set([1, 2, 4, 8]));
    expect(await s.getValue()).toEqual(new Set([1, 2, 4]));
    await s.__isub__(new Set([1]));
    await s.__ixor__(new Set([2, 5]));
    expect(await s.getValue()).toEqual(new Set([4, 5]));
    await s.update([6], [7]);
    await s.intersection_update([4, 6, 7]);
    await s.difference_update([7]);
    await s.symmetric_difference_update([4, 9]);
    expect(await s.getValue()).toEqual(new Set([6, 9]));
  });

  it('hashes as Python: 1 == True, tuples are members, lists are unhashable; prints as Python', async () => {
    const m = await startManager();
    const s = await m.set<unknown>([1, true, tuple<unknown>(1, 2)]);
    expect(await s.len()).toBe(2);
    await pyRaises(s.add([1]), PyTypeError, "unhashable type: 'list'");
    expect(await s.toString()).toBe('{1, (1, 2)}');
  });
});
