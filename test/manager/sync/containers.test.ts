/**
 * `list`, `dict` and `set` through a started SyncManager, against Python's behaviour: indexing and
 * slices (negative indices, steps, assignment, deletion), the dunder methods CPython's proxies call,
 * exceptions by class (`IndexError`, `KeyError`, `ValueError`, `TypeError`), keys of any hashable
 * type, dict iteration through a hosted iterator (and `RuntimeError` when the dict changes size), the
 * 3.14 additions, and Python's reprs.
 */
import { describe, expect, it } from 'vitest';
import { IndexError, KeyError, PyRuntimeError, PyTypeError, StopIteration, ValueError } from '../../../src/python-errors.js';
import { Slice, Tuple, tuple } from '../../../src/codec/values.js';
import { IteratorProxy } from '../../../proxies/iterator-proxy.js';
import { connectClient, pyRaises, share, startManager } from './support.js';

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

describe('dict', () => {
  it('get/set/has/delete/len and Python\'s __getitem__ KeyError', async () => {
    const m = await startManager();
    const d = await m.dict<string, number>({ a: 1 });
    await d.set('b', 2);
    expect(await d.__getitem__('a')).toBe(1);
    expect(await d.get('b')).toBe(2);
    expect(await d.get('zz')).toBe(null);
    expect(await d.get('zz', 0)).toBe(0);
    expect(await d.has('a')).toBe(true);
    expect(await d.len()).toBe(2);
    const e = await pyRaises(d.__getitem__('nope'), KeyError, 'nope');
    expect(e.message).toBe("KeyError: 'nope'");
    await pyRaises(d.__delitem__('nope'), KeyError, 'nope');
    expect(await d.delete('a')).toBe(true);
    expect(await d.delete('a')).toBe(false);
    expect(await d.getValue()).toEqual({ b: 2 });
  });

  it('keys keep their Python types: 1, 1.0 and True are one key; tuples are keys; lists are not', async () => {
    const m = await startManager();
    const d = await m.dict<unknown, string>(
      new Map<unknown, string>([
        [1, 'int'],
        ['1', 'str'],
      ]),
    );
    await d.set(true, 'bool');
    await d.set(tuple<unknown>(1, 'x'), 'tuple');
    expect(await d.len()).toBe(3);
    expect(await d.get(1)).toBe('bool');
    expect(await d.get('1')).toBe('str');
    expect(await d.get(tuple<unknown>(1, 'x'))).toBe('tuple');
    expect(await d.keys()).toEqual([1, '1', tuple<unknown>(1, 'x')]);
    await pyRaises(d.set([1], 'list'), PyTypeError, "unhashable type: 'list'");
    expect(await d.toString()).toBe("{1: 'bool', '1': 'str', (1, 'x'): 'tuple'}");
  });

  it('keys, values, items (tuples), pop, popitem, setdefault, update, clear, copy', async () => {
    const m = await startManager();
    const d = await m.dict<string, number>([
      ['a', 1],
      ['b', 2],
    ]);
    expect(await d.keys()).toEqual(['a', 'b']);
    expect(await d.values()).toEqual([1, 2]);
    const items = await d.items();
    expect(items).toEqual([tuple<unknown>('a', 1), tuple<unknown>('b', 2)]);
    expect(items[0]).toBeInstanceOf(Tuple);
    expect(await d.pop('a')).toBe(1);
    await pyRaises(d.pop('a'), KeyError, 'a');
    expect(await d.pop('a', -1)).toBe(-1);
    expect(await d.setdefault('c', 3)).toBe(3);
    expect(await d.setdefault('c', 4)).toBe(3);
    await d.update({ x: 9 }, { y: 8 });
    await d.update([['z', 7]]);
    await d.callMethod('update', [], { w: 6 }); // Python: d.update(w=6)
    expect(await d.copy()).toEqual({ b: 2, c: 3, x: 9, y: 8, z: 7, w: 6 });
    expect(await d.popitem()).toEqual(tuple<unknown>('w', 6));
    await d.clear();
    await pyRaises(d.popitem(), KeyError, 'popitem(): dictionary is empty');
    await pyRaises(d.callMethod('update', [[[1, 2, 3]]]), ValueError, 'dictionary update sequence element #0 has length 3; 2 is required');
  });

  it('#GETVALUE is a plain object for string keys, a Map otherwise (in-process values)', async () => {
    const m = await startManager();
    const d = await m.dict<unknown, number>([[tuple<unknown>(1, 2), 3]]);
    expect(await d.items()).toEqual([tuple<unknown>(tuple<unknown>(1, 2), 3)]);
    const strings = await m.dict({ k: 1 });
    expect(await strings.getValue()).toEqual({ k: 1 });
  });

  it('3.14 additions: |, |=, reversed, fromkeys', async () => {
    const m = await startManager();
    const d = await m.dict<string, number>({ a: 1, b: 2 });
    expect(await d.__or__({ b: 20, c: 3 })).toEqual({ a: 1, b: 20, c: 3 });
    expect(await d.__ror__({ b: 20, c: 3 })).toEqual({ b: 2, c: 3, a: 1 });
    await pyRaises(d.callMethod('__or__', [[1]]), PyTypeError, "unsupported operand type(s) for |: 'dict' and 'list'");
    expect(await d.__ior__([['c', 3]])).toBe(d);
    expect(await d.__reversed__()).toEqual(['c', 'b', 'a']);
    expect(await d.fromkeys(['x', 'y'], 0)).toEqual({ x: 0, y: 0 });
    expect(await d.fromkeys(['x'])).toEqual({ x: null });
    expect(await d.len()).toBe(3);
  });

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

  it('two clients see one dict', async () => {
    const m = await startManager();
    const d = await m.dict<string, number>();
    const theirs = await share(await connectClient(m), d);
    await theirs.set('from', 2);
    expect(await d.getValue()).toEqual({ from: 2 });
  });
});

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

  it('hashes as Python (1 == True; tuples are members); iterates through a hosted Iterator', async () => {
    const m = await startManager();
    const s = await m.set<unknown>([1, true, tuple<unknown>(1, 2)]);
    expect(await s.len()).toBe(2);
    await pyRaises(s.add([1]), PyTypeError, "unhashable type: 'list'");
    const seen: unknown[] = [];
    for await (const x of s) seen.push(x);
    expect(seen).toEqual([1, tuple<unknown>(1, 2)]);
    expect(await s.toString()).toBe('{1, (1, 2)}');
    const it = await s.__iter__();
    await it.next();
    await s.add(99);
    await pyRaises(it.next(), PyRuntimeError, 'Set changed size during iteration');
    it.release();
  });
});
