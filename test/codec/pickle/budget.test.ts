/**
 * The pickle decoder's budgets (src/limits.ts): a frame may make it allocate at most
 * `decodeAllocationFloor + decodeAllocationFactor * size` bytes, refused the moment the charge passes
 * that (DecodeBudgetError), and decimal ints longer than `maxIntDigits` are refused (DigitLimitError),
 * as CPython 3.11+ refuses them, because converting them is quadratic.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_PICKLE_LIMITS, PickleCodec, pickle } from '../../../src/codec/pickle/index.js';
import { decodePickle } from '../../../src/codec/pickle/decode.js';
import { DecodeBudgetError, DigitLimitError } from '../../../src/errors.js';
import { DEFAULT_LIMITS } from '../../../src/limits.js';

/** `PROTO 4, EMPTY_LIST, MARK, <item> * n, APPENDS, STOP`: a list of n copies of a one-opcode value. */
function listOf(item: number, n: number): Buffer {
  const out = Buffer.alloc(2 + 2 + n + 2);
  out[0] = 0x80;
  out[1] = 4;
  out[2] = 0x5d; // EMPTY_LIST
  out[3] = 0x28; // MARK
  out.fill(item, 4, 4 + n);
  out[4 + n] = 0x65; // APPENDS
  out[5 + n] = 0x2e; // STOP
  return out;
}

describe('pickle decode budget', () => {
  it('refuses a list of a million empty dicts before building it, naming the limit to raise', () => {
    const frame = listOf(0x7d, 1_000_000); // EMPTY_DICT: 1 byte on the wire, over 100 in the heap
    const before = process.memoryUsage().heapUsed;
    let err: unknown;
    try {
      pickle.decode(frame);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DecodeBudgetError);
    expect((err as DecodeBudgetError).limit).toBe('decodeAllocationFactor');
    expect((err as Error).message).toMatch(/raise decodeAllocationFactor/);
    // Refused by the pre-scan (prescan.ts) before anything is built: no heap to speak of, where refusing
    // while building (at the budget) would have made floor + 32 x 1 MB of garbage first.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(2 * 1024 * 1024);
    expect((err as DecodeBudgetError).offset).toBeLessThan(frame.length);
  });

  it('still charges while building, past the pre-scan: the decoder alone refuses at the budget', () => {
    const frame = listOf(0x7d, 1_000_000);
    const before = process.memoryUsage().heapUsed;
    expect(() => decodePickle(frame, undefined, DEFAULT_PICKLE_LIMITS)).toThrow(DecodeBudgetError);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(DEFAULT_LIMITS.decodeAllocationFloor + 40 * frame.length);
  });

  it('refuses lists of empty lists, tuples and sets alike, and passes them under a raised factor', () => {
    for (const op of [0x5d, 0x29, 0x8f]) expect(() => pickle.decode(listOf(op, 200_000)), op.toString(16)).toThrow(DecodeBudgetError);
    const lenient = new PickleCodec({ decodeAllocationFactor: 200 });
    expect((lenient.decode(listOf(0x29, 200_000)) as unknown[]).length).toBe(200_000);
  });

  it('charges a str key that is an array index for the elements store V8 gives the object', () => {
    const hostile = pickle.encode(Array.from({ length: 20_000 }, () => ({ 1023: 0 })));
    expect(() => pickle.decode(hostile)).toThrow(DecodeBudgetError);
    // Dense index keys cost what they hold: a dict keyed '0'..'1999' passes.
    const dense = pickle.encode(Array.from({ length: 20 }, () => Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [String(i), i]))));
    expect((pickle.decode(dense) as unknown[]).length).toBe(20);
  });

  it('passes ordinary data of every shape', () => {
    const records = Array.from({ length: 20_000 }, (_, i) => ({ id: i, name: `user${i}`, tags: ['a', 'b'], score: i * 1.5 }));
    expect((pickle.decode(pickle.encode(records)) as unknown[]).length).toBe(20_000);
    const ints = Array.from({ length: 200_000 }, (_, i) => i);
    expect((pickle.decode(pickle.encode(ints)) as number[])[199_999]).toBe(199_999);
    const strings = Array.from({ length: 2000 }, (_, i) => 'x'.repeat(i));
    expect((pickle.decode(pickle.encode(strings)) as string[])[1999]).toHaveLength(1999);
    expect((pickle.decode(pickle.encode(Buffer.alloc(1 << 20))) as Buffer).length).toBe(1 << 20);
  });
});

describe('pickle digit limit', () => {
  const longText = (digits: number) => Buffer.concat([Buffer.from([0x80, 0x02, 0x4c]), Buffer.from('7'.repeat(digits)), Buffer.from('L\n.')]);

  it(`reads a LONG of ${DEFAULT_LIMITS.maxIntDigits} digits and refuses one more, as CPython 3.11+`, () => {
    expect(pickle.decode(longText(DEFAULT_LIMITS.maxIntDigits))).toBe(BigInt('7'.repeat(DEFAULT_LIMITS.maxIntDigits)));
    expect(() => pickle.decode(longText(DEFAULT_LIMITS.maxIntDigits + 1))).toThrow(DigitLimitError);
    expect(() => pickle.decode(longText(1_000_000))).toThrow(/raise maxIntDigits/);
  });

  it('takes binary ints of any size (LONG4) in linear time, and maxIntDigits can be raised', () => {
    const big = (1n << 200_000n) + 12345n;
    expect(pickle.decode(pickle.encode(big))).toBe(big);
    expect(new PickleCodec({ maxIntDigits: 10_000 }).decode(longText(5000))).toBe(BigInt('7'.repeat(5000)));
  });
});
