/**
 * Python value semantics used by the containers: hashing (one key for 1, 1.0, 1n and True; tuples by
 * their items; lists unhashable), `==` (a list never equals a tuple), ordering, slices as
 * `slice.indices` computes them, and slices sent by a native client as plain objects.
 */
import { describe, expect, it } from 'vitest';
import { PyTypeError, ValueError } from '../../../src/python-errors.js';
import { Slice, tuple } from '../../../src/codec/values.js';
import { asSlice, hashKey, pyCompare, pyEquals, sliceIndices, sliceRange, truth } from '../../../src/server/py.js';

describe('hashKey', () => {
  it('gives equal Python values one key, and different types different keys', () => {
    expect(hashKey(1)).toBe(hashKey(1n));
    expect(hashKey(1)).toBe(hashKey(true));
    expect(hashKey(0)).toBe(hashKey(-0));
    expect(hashKey(2 ** 60)).toBe(hashKey(2n ** 60n));
    expect(hashKey('1')).not.toBe(hashKey(1));
    expect(hashKey(Buffer.from('a'))).not.toBe(hashKey('a'));
    expect(hashKey(1.5)).not.toBe(hashKey(1));
    expect(hashKey(null)).toBe(hashKey(undefined));
    expect(hashKey(tuple<unknown>(1, 'a'))).toBe(hashKey(tuple<unknown>(true, 'a')));
    expect(hashKey(tuple<unknown>(1, tuple<unknown>(2)))).not.toBe(hashKey(tuple<unknown>(1, 2)));
    expect(hashKey(new Set([1, 2]))).toBe(hashKey(new Set([2, 1])));
  });

  it('refuses unhashable values with TypeError', () => {
    expect(() => hashKey([1])).toThrow(PyTypeError);
    expect(() => hashKey({ a: 1 })).toThrow("unhashable type: 'dict'");
    expect(() => hashKey(tuple<unknown>(1, [2]))).toThrow("unhashable type: 'list'");
  });
});

describe('pyEquals and pyCompare', () => {
  it('compare as Python', () => {
    expect(pyEquals(1, 1n)).toBe(true);
    expect(pyEquals(true, 1)).toBe(true);
    expect(pyEquals([1, 2], tuple<unknown>(1, 2))).toBe(false);
    expect(pyEquals({ a: [1] }, new Map([['a', [1]]]))).toBe(true);
    expect(pyEquals(new Set([1]), new Set([true]))).toBe(true);
    expect(pyEquals(null, undefined)).toBe(true);
    expect(pyEquals('a', Buffer.from('a'))).toBe(false);
    expect(pyCompare(1, 2n)).toBe(-1);
    expect(pyCompare('b', 'a')).toBe(1);
    expect(pyCompare('\u{1F600}', '\uFFFF')).toBe(1); // code points, not UTF-16 units
    expect(pyCompare([1, 2], [1, 3])).toBeLessThan(0);
    expect(() => pyCompare(1, 'a')).toThrow("'<' not supported between instances of 'int' and 'str'");
    expect(() => pyCompare([1], tuple<unknown>(1))).toThrow(PyTypeError);
  });

  it('truth is Python\'s', () => {
    expect([0, '', [], new Map(), null, 0n, {}].map(truth)).toEqual([false, false, false, false, false, false, false]);
    expect([1, 'a', [0], -1n, { a: 1 }].map(truth)).toEqual([true, true, true, true, true]);
  });
});

describe('slices', () => {
  it('computes slice.indices as CPython', () => {
    expect(sliceIndices(new Slice(null, null), 5)).toEqual([0, 5, 1]);
    expect(sliceIndices(new Slice(null, null, -1), 5)).toEqual([4, -1, -1]);
    expect(sliceIndices(new Slice(-2, null), 5)).toEqual([3, 5, 1]);
    expect(sliceIndices(new Slice(-10, 10), 5)).toEqual([0, 5, 1]);
    expect(sliceIndices(new Slice(10, -10, -2), 5)).toEqual([4, -1, -2]);
    expect(sliceRange(new Slice(1, null, 2), 6)).toEqual([1, 3, 5]);
    expect(sliceRange(new Slice(4, 1), 6)).toEqual([]);
    expect(() => sliceIndices(new Slice(null, null, 0), 3)).toThrow(ValueError);
  });

  it('takes a plain {start, stop, step} (how msgpack delivers a Slice) and nothing else', () => {
    expect(asSlice({ start: 1, stop: null, step: 2 })).toEqual(new Slice(1, null, 2));
    expect(asSlice({ start: 1, stop: 2 })).toBe(null);
    expect(asSlice({ start: 1, stop: 2, step: 1, extra: 0 })).toBe(null);
    expect(asSlice(3)).toBe(null);
  });
});

describe('hashKey of large ints', () => {
  it('keys ints beyond 2^53 in hex (linear), the same for a bigint and an equal whole float', () => {
    const big = 1n << 8_000_000n; // an 8 Mbit int: decimal conversion of it takes seconds
    expect(hashKey(big).startsWith('x')).toBe(true);
    expect(hashKey(2 ** 60)).toBe(hashKey(2n ** 60n));
    expect(hashKey(5n)).toBe(hashKey(5));
    expect(hashKey(-(2n ** 70n))).toBe(`x${(-(2n ** 70n)).toString(16)}`);
  });
});
