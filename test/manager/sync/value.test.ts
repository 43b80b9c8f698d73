/**
 * `Value` and `Array` against CPython's `managers.Value` and `array.array`: get/set and repr for Value;
 * length, indexing, slices, typecode checks and iteration for Array.
 */
import { describe, expect, it } from 'vitest';
import { IndexError, PythonError, PyTypeError, ValueError } from '../../../src/python-errors.js';
import { Slice } from '../../../src/codec/values.js';
import { connectClient, pyRaises, share, startManager } from './support.js';

describe('Value', () => {
  it('get and set; repr as CPython\'s; #GETVALUE is the value', async () => {
    const m = await startManager();
    const v = await m.Value('i', 5);
    expect(await v.get()).toBe(5);
    await v.set(7);
    expect(await v.get()).toBe(7);
    expect(await v.toString()).toBe("Value('i', 7)");
    expect(await v.getValue()).toBe(7);
    const s = await m.Value('c', 'hi');
    expect(await s.toString()).toBe("Value('c', 'hi')");
  });

  it('is shared between clients', async () => {
    const m = await startManager();
    const v = await m.Value<number>('d', 1.5);
    const theirs = await share(await connectClient(m), v);
    await theirs.set(2.5);
    expect(await v.get()).toBe(2.5);
  });
});

describe('Array', () => {
  it('len, indexing (negative, IndexError), assignment, slices', async () => {
    const m = await startManager();
    const a = await m.Array('i', [1, 2, 3, 4]);
    expect(await a.len()).toBe(4);
    expect(await a.get(-1)).toBe(4);
    await pyRaises(a.get(4), IndexError, 'array index out of range');
    await a.set(0, 10);
    expect(await a.__getitem__(new Slice(null, null, 2))).toEqual([10, 3]);
    await a.__setitem__(new Slice(1, 3), [20, 30, 31]);
    expect(await a.getValue()).toEqual([10, 20, 30, 31, 4]);
    await pyRaises(a.set(9, 0), IndexError, 'array assignment index out of range');
  });

  it('checks items against the typecode as array.array does', async () => {
    const m = await startManager();
    const a = await m.Array('b', [0]);
    await pyRaises(a.set(0, 1.5), PyTypeError, "'float' object cannot be interpreted as an integer");
    const e = await pyRaises(a.set(0, 200), PythonError, 'signed char is greater than maximum');
    expect(e.pyType).toBe('builtins.OverflowError');
    await pyRaises(m.Array('x' as 'i'), ValueError);
    const f = await m.Array('f', [0.1]);
    expect(await f.get(0)).toBe(Math.fround(0.1));
    const u = await m.Array('u', 'abc');
    expect(await u.toString()).toBe("array('u', 'abc')");
    await pyRaises(u.set(0, 'xy'), PyTypeError);
  });

  it('iterates with for await, and prints as array(...)', async () => {
    const m = await startManager();
    const a = await m.Array('d', [1.5, 2]);
    const seen: number[] = [];
    for await (const x of a) seen.push(x);
    expect(seen).toEqual([1.5, 2]);
    expect(await a.toString()).toBe("array('d', [1.5, 2])");
    expect(await (await m.Array('i')).toString()).toBe("array('i')");
  });
});
