/**
 * `list` (src/manager/sync/list.ts) through a started SyncManager, against Python's behaviour: indexing
 * and slices (negative indices, steps, assignment, deletion), the methods and dunders CPython's ListProxy
 * calls, exceptions by class (`IndexError`, `ValueError`, `TypeError`), Python equality, `for await`, and
 * Python's repr.
 */
import { describe, expect, it } from 'vitest';
import { IndexError, PyTypeError, ValueError } from '../../../src/python-errors.js';
import { Slice, tuple } from '../../../src/codec/values.js';
import { pyRaises, startManager } from './support.js';

describe('list', () => {
  it('indexes like Python: negative indices, IndexError out of range', async () => {
    const m = await startManager();
    const l = await m.list([10, 20, 30]);
    expect(await l.get(0)).toBe(10);
    expect(await l.get(-1)).toBe(30);
    await pyRaises(l.get(3), IndexError, 'list index out of range');
    await pyRaises(l.get(-4), IndexError, 'list index out of range');
    await l.set(-1, 33);
    await pyRaises(l.set(5, 0), IndexError, 'list assignment index out of range');
    await pyRaises(l.callMethod('__getitem__', ['a']), PyTypeError, 'list indices must be integers or slices, not str');
    expect(await l.getValue()).toEqual([10, 20, 33]);
    expect(await l.len()).toBe(3);
  });

  it('slices: read with steps, assign (resizing or extended), delete', async () => {
    const m = await startManager();
    const l = await m.list<unknown>([0, 1, 2, 3, 4, 5]);
    expect(await l.slice(1, 4)).toEqual([1, 2, 3]);
    expect(await l.slice(null, null, -2)).toEqual([5, 3, 1]);
    expect(await l.slice(-2)).toEqual([4, 5]);
    expect(await l.__getitem__(new Slice(10, 20))).toEqual([]);
    await pyRaises(l.slice(null, null, 0), ValueError, 'slice step cannot be zero');
    await l.__setitem__(new Slice(1, 3), ['a', 'b', 'c']);
    expect(await l.getValue()).toEqual([0, 'a', 'b', 'c', 3, 4, 5]);
    await l.__setitem__(new Slice(null, null, 2), ['x', 'y', 'z', 'w']);
    expect(await l.getValue()).toEqual(['x', 'a', 'y', 'c', 'z', 4, 'w']);
    await pyRaises(l.__setitem__(new Slice(null, null, 2), [1]), ValueError, 'attempt to assign sequence of size 1 to extended slice of size 4');
    await l.__delitem__(new Slice(null, null, 2));
    expect(await l.getValue()).toEqual(['a', 'c', 4]);
    await l.__delitem__(-1);
    await pyRaises(l.__delitem__(7), IndexError, 'list assignment index out of range');
    expect(await l.getValue()).toEqual(['a', 'c']);
  });

  it('append, extend, insert, pop, remove, index, count, reverse, sort, clear, copy', async () => {
    const m = await startManager();
    const l = await m.list<number>([3, 1]);
    await l.append(2);
    await l.extend([5, 4]);
    await l.insert(0, 9);
    await l.insert(-100, 8);
    await l.insert(100, 7);
    expect(await l.getValue()).toEqual([8, 9, 3, 1, 2, 5, 4, 7]);
    expect(await l.pop()).toBe(7);
    expect(await l.pop(0)).toBe(8);
    await pyRaises(l.pop(50), IndexError, 'pop index out of range');
    await l.remove(9);
    await pyRaises(l.remove(42), ValueError, 'list.remove(x): x not in list');
    expect(await l.index(2)).toBe(2);
    await pyRaises(l.index(2, 3), ValueError, '2 is not in list');
    await l.append(1);
    expect(await l.count(1)).toBe(2);
    await l.sort();
    expect(await l.getValue()).toEqual([1, 1, 2, 3, 4, 5]);
    await l.sort({ reverse: true });
    expect(await l.getValue()).toEqual([5, 4, 3, 2, 1, 1]);
    await l.reverse();
    expect(await l.copy()).toEqual([1, 1, 2, 3, 4, 5]);
    await l.clear();
    await pyRaises(l.pop(), IndexError, 'pop from empty list');
  });

  it('sort is stable and refuses mixed types with TypeError, leaving the list as it was', async () => {
    const m = await startManager();
    const l = await m.list<unknown>([tuple<unknown>(2, 'b'), tuple<unknown>(1, 'z'), tuple<unknown>(2, 'a')]);
    await l.sort();
    expect(await l.getValue()).toEqual([tuple<unknown>(1, 'z'), tuple<unknown>(2, 'a'), tuple<unknown>(2, 'b')]);
    const mixed = await m.list<unknown>([1, 'a', 2]);
    await pyRaises(mixed.sort(), PyTypeError, "'<' not supported between instances of 'str' and 'int'");
    expect(await mixed.getValue()).toEqual([1, 'a', 2]);
  });

  it('operators: +, *, *=, in, reversed; Python equality (1 == 1.0 == True; list != tuple)', async () => {
    const m = await startManager();
    const l = await m.list<unknown>([1, 2]);
    expect(await l.__add__([3])).toEqual([1, 2, 3]);
    await pyRaises(l.callMethod('__add__', [tuple<unknown>(3)]), PyTypeError, 'can only concatenate list (not "tuple") to list');
    expect(await l.__mul__(2)).toEqual([1, 2, 1, 2]);
    expect(await l.__rmul__(0)).toEqual([]);
    await pyRaises(l.callMethod('__mul__', [1.5]), PyTypeError, "can't multiply sequence by non-int of type 'float'");
    expect(await l.__imul__(2)).toBe(l);
    expect(await l.getValue()).toEqual([1, 2, 1, 2]);
    expect(await l.__reversed__()).toEqual([2, 1, 2, 1]);
    expect(await l.__contains__(2)).toBe(true);
    expect(await l.__contains__(true)).toBe(true);
    await l.append([1, 2]);
    expect(await l.__contains__(tuple<unknown>(1, 2))).toBe(false);
    expect(await l.__contains__([1, 2])).toBe(true);
  });

  it('for await reads item by item, seeing changes made meanwhile', async () => {
    const m = await startManager();
    const l = await m.list(['a', 'b']);
    const seen: string[] = [];
    for await (const x of l) {
      seen.push(x);
      if (x === 'a') await l.append('c');
    }
    expect(seen).toEqual(['a', 'b', 'c']);
  });

  it('prints as Python: [1, \'a\', None, True, (1,)]', async () => {
    const m = await startManager();
    const l = await m.list<unknown>([1, 'a', null, true, tuple<unknown>(1)]);
    expect(await l.toString()).toBe("[1, 'a', None, True, (1,)]");
  });
});
