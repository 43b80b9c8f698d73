/**
 * `dict` (src/manager/sync/dict.ts) through a started SyncManager, against Python's behaviour: item access
 * and Python's `KeyError`, keys of any hashable type (`1`, `1.0` and `True` are one key; tuples are keys;
 * lists are not), the dict methods and the 3.14 additions, `#GETVALUE`, and two clients sharing one dict.
 * Iteration (the hosted `Iterator`) is in iterator.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { KeyError, PyTypeError, ValueError } from '../../../src/python-errors.js';
import { Tuple, tuple } from '../../../src/codec/values.js';
import { connectClient, pyRaises, share, startManager } from './support.js';

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

  it('two clients see one dict', async () => {
    const m = await startManager();
    const d = await m.dict<string, number>();
    const theirs = await share(await connectClient(m), d);
    await theirs.set('from', 2);
    expect(await d.getValue()).toEqual({ from: 2 });
  });
});
