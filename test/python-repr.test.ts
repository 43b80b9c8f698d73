/** Python's repr and type names (src/python-repr.ts): the text, and its bounds on work. */
import { describe, expect, it } from 'vitest';
import { Slice, Tuple, tuple } from '../src/codec/values.js';
import { DigitLimitError } from '../src/errors.js';
import { PY_REPR, pyRepr, pyStrOf, pyTypeName, type Repr } from '../src/python-repr.js';

describe('pyRepr', () => {
  it('reads as Python', () => {
    expect(pyRepr([1, 'a', null, true, 1.5, tuple(1), new Tuple(), new Map<unknown, unknown>([[1, 'x']]), new Set([2]), new Set()])).toBe(
      "[1, 'a', None, True, 1.5, (1,), (), {1: 'x'}, {2}, set()]",
    );
    expect(pyRepr({ a: [1, 2], "it's": 'q"' })).toBe(`{'a': [1, 2], "it's": 'q"'}`);
    expect(pyRepr(Buffer.from([0, 0x41, 0x27]))).toBe("b'\\x00A\\''");
    expect(pyRepr(new Slice(1, null))).toBe('slice(1, None, None)');
    expect(pyRepr(2n ** 64n)).toBe('18446744073709551616');
  });

  it('stops at maxLength, however large the value, ending in ...', () => {
    const huge = Array.from({ length: 1_000_000 }, (_, i) => i);
    const text = pyRepr(huge, { maxLength: 75 });
    expect(text).toBe(`${pyRepr(huge.slice(0, 40)).slice(0, 75)}...`);
    expect(pyRepr('x'.repeat(10_000_000), { maxLength: 10 })).toBe("'xxxxxxxxx...");
    expect(pyStrOf('y'.repeat(100), { maxLength: 3 })).toBe('yyy...');
  });

  it('hands [PY_REPR] a repr that keeps the budget, and join stops early', () => {
    let rendered = 0;
    const items = { length: 1e9, *[Symbol.iterator]() { for (let i = 0; ; i++) { rendered++; yield i; } } };
    const big = { [PY_REPR]: (repr: Repr) => repr.join('<', items, '>') };
    expect(pyRepr(big, { maxLength: 20 })).toBe('<0, 1, 2, 3, 4, 5, 6...');
    expect(rendered).toBeLessThan(20);
  });

  it('refuses an int beyond maxIntDigits instead of converting it (quadratic), as CPython raises ValueError', () => {
    const big = 10n ** 5000n;
    expect(() => pyRepr(big)).toThrow(DigitLimitError);
    expect(pyRepr(10n ** 4000n)).toHaveLength(4001);
    expect(pyRepr(big, { maxIntDigits: 6000 })).toHaveLength(5001);
  });
});

describe('pyTypeName', () => {
  it("names values by Python's types", () => {
    expect([null, true, 1, 1.5, 3n, 's', [], tuple(1), new Map(), {}, new Set(), Buffer.alloc(1), new Uint8Array(1), new Slice(1, 2)].map(pyTypeName)).toEqual([
      'NoneType', 'bool', 'int', 'float', 'int', 'str', 'list', 'tuple', 'dict', 'dict', 'set', 'bytes', 'bytearray', 'slice',
    ]);
  });
});
