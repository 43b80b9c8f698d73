/**
 * The msgpack decode budget (src/codec/msgpack-budget.ts): a linear pre-scan that refuses frames msgpackr
 * would turn into far more heap than they have bytes, nest too deep, or are not one whole msgpack value.
 */
import { DecodeBudgetError } from '../../src/errors.js';
import { DEFAULT_LIMITS } from '../../src/limits.js';
import { Packr } from 'msgpackr';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { msgpack } from '../../src/codec/index.js';
import { MsgpackCodec } from '../../src/codec/msgpack.js';
import {
  MalformedMsgpackError,
  checkMsgpackBudget,
  estimateMsgpackAllocation,
  type DecodeBudget,
} from '../../src/codec/msgpack-budget.js';
import { tuple } from '../../src/codec/values.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** msgpackr as src/codec/msgpack.ts configures it, for building inputs (no project extensions needed). */
const packr = new Packr({ useRecords: false, moreTypes: true, mapsAsObjects: true });
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const u16 = (n: number): string => n.toString(16).padStart(4, '0');
const u32 = (n: number): string => n.toString(16).padStart(8, '0');

/** A list of n copies of `elem` (array 32 header). */
function listOf(elem: Buffer | string, n: number): Buffer {
  const e = typeof elem === 'string' ? hex(elem) : elem;
  const frame = Buffer.alloc(5 + e.length * n);
  frame[0] = 0xdd;
  frame.writeUInt32BE(n, 1);
  if (e.length === 1) frame.fill(e[0] as number, 5);
  else for (let i = 0; i < n; i++) e.copy(frame, 5 + i * e.length);
  return frame;
}

function listOfFrames(elems: readonly Uint8Array[]): Buffer {
  const head = Buffer.alloc(5);
  head[0] = 0xdd;
  head.writeUInt32BE(elems.length, 1);
  return Buffer.concat([head, ...elems]);
}

function budgetError(fn: () => unknown): DecodeBudgetError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DecodeBudgetError);
    return err as DecodeBudgetError;
  }
  throw new Error('expected a DecodeBudgetError');
}

function malformed(fn: () => unknown): MalformedMsgpackError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(MalformedMsgpackError);
    return err as MalformedMsgpackError;
  }
  throw new Error('expected a MalformedMsgpackError');
}

function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** Heap the decoded value keeps (heapUsed plus ArrayBuffers, after full collections), with the value held. */
/** The project's codec with its budget out of the way, to measure what a decode really keeps. */
const unbudgeted = new MsgpackCodec({ decodeAllocationFactor: 1e9 });

function retainedByDecode(frame: Uint8Array): number {
  const before = process.memoryUsage();
  gc();
  gc();
  const a = process.memoryUsage();
  let value: unknown = unbudgeted.decode(frame);
  gc();
  gc();
  const b = process.memoryUsage();
  expect(value === Symbol.for('never')).toBe(false); // keeps value alive until here
  value = undefined;
  void before;
  return b.heapUsed - a.heapUsed + Math.max(0, b.arrayBuffers - a.arrayBuffers);
}

/** A minimal valid value starting with each tag (ext tags use type 0, undefined). */
function minimalValue(tag: number): string {
  const t = tag.toString(16).padStart(2, '0');
  if (tag <= 0x7f || tag >= 0xe0 || tag === 0xc0 || tag === 0xc2 || tag === 0xc3) return t;
  if (tag >= 0x80 && tag <= 0x8f) {
    const n = tag - 0x80;
    return t + Array.from({ length: n }, (_, i) => `a2${(0x61 + i).toString(16)}61` + '01').join('');
  }
  if (tag >= 0x90 && tag <= 0x9f) return t + '01'.repeat(tag - 0x90);
  if (tag >= 0xa0 && tag <= 0xbf) return t + '61'.repeat(tag - 0xa0);
  switch (tag) {
    case 0xc4: return 'c403010203';
    case 0xc5: return 'c50002aabb';
    case 0xc6: return 'c600000001ff';
    case 0xc7: return 'c7020011' + '22';
    case 0xc8: return 'c80001' + '00' + '33';
    case 0xc9: return 'c900000000' + '00';
    case 0xca: return 'ca3fc00000';
    case 0xcb: return 'cb3ff8000000000000';
    case 0xcc: return 'ccff';
    case 0xcd: return 'cdffff';
    case 0xce: return 'ceffffffff';
    case 0xcf: return 'cf0000000100000000';
    case 0xd0: return 'd080';
    case 0xd1: return 'd18000';
    case 0xd2: return 'd280000000';
    case 0xd3: return 'd3ffffffffffffffff';
    case 0xd4: return 'd40000';
    case 0xd5: return 'd5000000';
    case 0xd6: return 'd600' + '00'.repeat(4);
    case 0xd7: return 'd700' + '00'.repeat(8);
    case 0xd8: return 'd800' + '00'.repeat(16);
    case 0xd9: return 'd903616263';
    case 0xda: return 'da0002c3a9';
    case 0xdb: return 'db00000001' + '7a';
    case 0xdc: return 'dc0002' + 'c0c3';
    case 0xdd: return 'dd00000001' + 'a0';
    case 0xde: return 'de0001' + 'a161' + '90';
    case 0xdf: return 'df00000001' + '01' + '80';
    default: throw new Error(`no minimal value for 0x${t}`);
  }
}

/** A seeded generator, so failures reproduce. */
function rng(seed: number): { int(n: number): number; float(): number } {
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  return { int: (n) => Math.floor(next() * n), float: next };
}

/** Wire-minimal msgpack (fixmap/fixarray/fixint like Python's msgpack), with any map key type, for dense inputs. */
function encodeMinimal(v: unknown, out: number[] = []): number[] {
  const header = (fix: number, max: number, n: number, c16: number, c32: number): void => {
    if (n <= max) out.push(fix | n);
    else if (n < 0x10000) out.push(c16, n >> 8, n & 0xff);
    else out.push(c32, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  };
  if (v === null) out.push(0xc0);
  else if (v === true || v === false) out.push(v ? 0xc3 : 0xc2);
  else if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 2 ** 32) {
    if (v < 0x80) out.push(v);
    else if (v < 0x100) out.push(0xcc, v);
    else if (v < 0x10000) out.push(0xcd, v >> 8, v & 0xff);
    else out.push(0xce, (v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  } else if (typeof v === 'number' && Number.isInteger(v) && v < 0 && v >= -32) out.push(v & 0xff);
  else if (typeof v === 'number') {
    const b = Buffer.alloc(9);
    b[0] = 0xcb;
    b.writeDoubleBE(v, 1);
    out.push(...b);
  } else if (typeof v === 'string') {
    const b = Buffer.from(v);
    if (b.length < 32) out.push(0xa0 | b.length);
    else header(0, -1, b.length, 0xda, 0xdb);
    out.push(...b);
  } else if (Buffer.isBuffer(v)) {
    out.push(0xc4, v.length, ...v);
  } else if (Array.isArray(v)) {
    header(0x90, 15, v.length, 0xdc, 0xdd);
    for (const x of v) encodeMinimal(x, out);
  } else if (v instanceof Map) {
    header(0x80, 15, v.size, 0xde, 0xdf);
    for (const [k, x] of v) {
      encodeMinimal(k, out);
      encodeMinimal(x, out);
    }
  } else if (typeof v === 'object') {
    const entries = Object.entries(v as object);
    header(0x80, 15, entries.length, 0xde, 0xdf);
    for (const [k, x] of entries) {
      encodeMinimal(k, out);
      encodeMinimal(x, out);
    }
  } else throw new Error(`cannot encode ${typeof v}`);
  return out;
}

describe('checkMsgpackBudget: what it accepts', () => {
  it('accepts a minimal value of every type tag (all but 0xc1), and msgpackr decodes each', () => {
    for (let tag = 0; tag <= 0xff; tag++) {
      if (tag === 0xc1) continue;
      const frame = hex(minimalValue(tag));
      expect(() => checkMsgpackBudget(frame), `tag 0x${tag.toString(16)}`).not.toThrow();
      expect(() => msgpack.decode(frame), `tag 0x${tag.toString(16)}`).not.toThrow();
      // and inside a container, as a map value, and as a map key where it is a scalar or string
      expect(() => checkMsgpackBudget(hex('92' + minimalValue(tag) + 'c0'))).not.toThrow();
      expect(() => checkMsgpackBudget(hex('81a178' + minimalValue(tag)))).not.toThrow();
      expect(() => checkMsgpackBudget(hex('81' + minimalValue(tag) + 'c0'))).not.toThrow();
    }
  });

  it('accepts what msgpackr and our codec write: every type, including our extensions', () => {
    const values: unknown[] = [
      0, 1, -1, 127, 128, -33, 255, 256, 65535, 65536, -32769, 2 ** 31, 2 ** 32, -(2 ** 40), 2 ** 53, 1.5, -0.25, NaN, Infinity,
      2n ** 64n - 1n, -(2n ** 63n), 2n ** 100n, 'a', '', 'héllo', '€'.repeat(40), 'x'.repeat(70_000), true, false, null, undefined,
      Buffer.alloc(0), Buffer.alloc(300, 1), Buffer.alloc(70_000, 2), new Uint8Array([1, 2, 3]), new Float64Array([1.5, 2.5]), new Int16Array(3),
      new Date(0), new Date(1_700_000_000_123), new Date(-1), [], [[[]]], {}, { a: { b: { c: [1, 'x'] } } }, new Map<unknown, unknown>([[1, 'one'], ['k', [2]]]),
      new Set([1, 'a', [2]]), /ab+c/gi, tuple(), tuple<unknown>(1, 'two', tuple(3)), new Error('boom'),
      Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`key${i}`, i])),
      Array.from({ length: 70_000 }, (_, i) => i),
    ];
    for (const v of values) {
      for (const frame of [msgpack.encode(v), packr.pack(v)]) {
        expect(() => checkMsgpackBudget(frame), String(v).slice(0, 40)).not.toThrow();
      }
    }
    const all = msgpack.encode(values);
    expect(() => checkMsgpackBudget(all)).not.toThrow();
    expect(() => msgpack.decode(all)).not.toThrow();
  });

  it('accepts hand-written vectors of every width', () => {
    const vectors = [
      'c0', 'c2', 'c3', '00', '7f', 'e0', 'ff', 'cc80', 'cd0100', 'ce00010000', 'cf0000000100000000',
      'd0df', 'd1ff7f', 'd2ffff7fff', 'd3ffffffff7fffffff', 'ca40490fdb', 'cb400921fb54442d18',
      'a0', 'a3616263', 'd900', 'd90161', 'da0000', 'da000161', 'db00000000', 'db0000000161',
      'c400', 'c40101', 'c50000', 'c6' + u32(3) + '010203',
      '90', '9101', 'dc0000', 'dc000101', 'dd00000000', 'dd0000000101',
      '80', '81a16101', 'de0000', 'de0001a16101', 'df00000000', 'df00000001a16101',
      'd40000', 'd5000102', 'd600' + '00'.repeat(4), 'd700' + '00'.repeat(8), 'd800' + '00'.repeat(16),
      'c70000', 'c8000000', 'c90000000000', 'c7010001',
      'd6ff00000000', 'd7ff' + '00'.repeat(8), 'c70cff' + '00'.repeat(12), // timestamps
      'd44201', 'c7094201' + '00'.repeat(8), // BigInt
      'c7037401' + '0102', // Uint8Array
      'd4030092' + '01' + '02', // our tuple (ext 3): fixext 1, filler, then its array
      'd4730090', 'c7007391' + '05', // Set, fixext 1 and ext 8 forms
      'd4780092a161a0', // RegExp
      'd4650000', // msgpackr's error ext, decoded inert by our codec (its value is the next item: a list of 2)
    ];
    for (const v of vectors) {
      const frame = hex(v === 'd4650000' ? '92d4650000' : v);
      expect(() => checkMsgpackBudget(frame), v).not.toThrow();
    }
  });

  it('passes a realistic 1 MB payload of records, and it decodes', () => {
    const records = Array.from({ length: 15_500 }, (_, i) => ({
      id: i,
      name: `user number ${i}`,
      tags: ['alpha', 'beta', `t${i % 37}`],
      score: i / 7,
    }));
    const frame = msgpack.encode(records);
    expect(frame.length).toBeGreaterThan(900_000);
    expect(() => checkMsgpackBudget(frame)).not.toThrow();
    expect(estimateMsgpackAllocation(frame) / frame.length).toBeLessThan(12); // a third of the budget or less
    expect((msgpack.decode(frame) as unknown[]).length).toBe(15_500);
    // and written wire-minimally (fixmap headers, as Python's msgpack does)
    expect(() => checkMsgpackBudget(Buffer.from(encodeMinimal(records)))).not.toThrow();
  });

  it('passes an array of a million small ints, a 1 MiB binary, lists of pairs and of small dicts', () => {
    expect(() => checkMsgpackBudget(listOf('05', 1_000_000))).not.toThrow();
    expect(() => checkMsgpackBudget(msgpack.encode(Array.from({ length: 1_000_000 }, (_, i) => i % 100)))).not.toThrow();
    expect(() => checkMsgpackBudget(msgpack.encode(Buffer.alloc(1024 * 1024, 7)))).not.toThrow();
    expect(() => checkMsgpackBudget(msgpack.encode(new Uint8Array(1024 * 1024)))).not.toThrow();
    expect(() => checkMsgpackBudget(listOf('920102', 300_000))).not.toThrow(); // [[1, 2], ...]: 24 bytes a byte
    expect(() => checkMsgpackBudget(listOf('9101', 300_000))).not.toThrow(); // [[1], ...]: 32 bytes a byte
    expect(() => checkMsgpackBudget(listOf('81a16101', 300_000))).not.toThrow(); // [{a: 1}, ...]: 20
    expect(() => checkMsgpackBudget(listOf('a26162', 300_000))).not.toThrow(); // ['ab', ...]: 12
    expect(() => checkMsgpackBudget(listOf('cb3ff8000000000000', 300_000))).not.toThrow(); // floats
    expect(() => checkMsgpackBudget(listOf('d40300920102', 300_000))).not.toThrow(); // tuples (1, 2)
    expect(() => checkMsgpackBudget(listOf('d6ff00000001', 300_000))).not.toThrow(); // dates
    // dicts with integer keys, dense from 0 (Python {0: .., 1: .., ...}) and sparse large ones
    expect(() => checkMsgpackBudget(Buffer.from(encodeMinimal(new Map(Array.from({ length: 100_000 }, (_, i) => [i, i % 50])))))).not.toThrow();
    expect(() => checkMsgpackBudget(Buffer.from(encodeMinimal(new Map(Array.from({ length: 20_000 }, (_, i) => [1_000_000 + i * 7919, 1])))))).not.toThrow();
    expect(() => checkMsgpackBudget(msgpack.encode(Array.from({ length: 20_000 }, (_, i) => ({ [String(2000 + (i % 30))]: i }))))).not.toThrow();
  });

  it('lets small frames through whatever their shape (decodeAllocationFloor)', () => {
    expect(() => checkMsgpackBudget(listOf('80', 500))).not.toThrow(); // 500 empty maps, 32 KiB estimated
    expect(() => checkMsgpackBudget(hex('81cd03ff00'))).not.toThrow(); // {1023: 0}: 12 KiB from 5 bytes
  });
});

describe('checkMsgpackBudget: what it refuses', () => {
  it('refuses a list of millions of empty maps early, allocating next to nothing itself', () => {
    const frame = listOf('80', 3_000_000); // the 30 MB attack, scaled down tenfold
    const before = heapUsed();
    const err = budgetError(() => checkMsgpackBudget(frame));
    const grew = process.memoryUsage().heapUsed - before;
    expect(grew).toBeLessThan(2 * 1024 * 1024);
    expect(err.limit).toBe('decodeAllocationFactor');
    expect(err.offset).toBeLessThan(frame.length); // stopped as soon as the budget was spent
    expect(err.allowed).toBe(DEFAULT_LIMITS.decodeAllocationFloor + DEFAULT_LIMITS.decodeAllocationFactor * frame.length);
    expect(err.actual).toBeGreaterThan(err.allowed as number);
    expect(err.message).toMatch(/raise decodeAllocationFactor/);
    expect(err.message).toContain(String(frame.length));
  });

  it('refuses lists of empty arrays, empty binaries, empty Sets, and nested empties', () => {
    for (const elem of ['90', 'c400', 'd4730090', '9190', '9180', 'd4020095' + 'c0'.repeat(5)]) {
      const e = budgetError(() => checkMsgpackBudget(listOf(elem, 600_000)));
      expect(e.limit, elem).toBe('decodeAllocationFactor');
    }
    // the same a level down, and as the values of a map with small int keys
    expect(budgetError(() => checkMsgpackBudget(Buffer.concat([hex('91'), listOf('80', 600_000)]))).limit).toBe('decodeAllocationFactor');
    const entries = Buffer.alloc(60_000 * 2);
    for (let i = 0; i < 60_000; i++) {
      entries[2 * i] = i % 128;
      entries[2 * i + 1] = 0x80;
    }
    // {0: {}, 1: {}, ...} with keys repeating: V8 keeps 128 properties, but builds every map
    expect(estimateMsgpackAllocation(Buffer.concat([hex('df' + u32(60_000)), entries]))).toBeGreaterThan(60_000 * 56);
  });

  it('refuses maps whose integer keys make V8 allocate elements stores (up to 2500 times their size)', () => {
    for (const elem of ['81cd03ff00', '817f00', '81a431303233c0', '81cb408ff80000000000c0', '82cd03ff00cd0a0f00']) {
      // {1023: 0}, {127: 0}, {"1023": nil}, {1023.0: nil}, {1023: 0, 2575: 0}
      const frame = listOf(elem, 2_000);
      expect(frame.length).toBeLessThan(30_000);
      expect(budgetError(() => checkMsgpackBudget(frame)).limit, elem).toBe('decodeAllocationFactor');
    }
  });

  it('refuses nesting deeper than maxDepth, without recursion, and counts empty containers and wrappers', () => {
    const nested = (depth: number, open: string, leaf: string): Buffer => hex(open.repeat(depth - 1) + leaf);
    expect(() => checkMsgpackBudget(nested(512, '91', '90'))).not.toThrow();
    const e = budgetError(() => checkMsgpackBudget(nested(513, '91', '90')));
    expect(e.limit).toBe('maxDepth');
    expect(e.allowed).toBe(512);
    expect(e.actual).toBe(513);
    expect(e.message).toMatch(/raise maxDepth/);
    expect(budgetError(() => checkMsgpackBudget(nested(513, '81a0', '80'))).limit).toBe('maxDepth');
    expect(budgetError(() => checkMsgpackBudget(nested(300, 'd4030091', '90'))).limit).toBe('maxDepth'); // tuples: two levels each
    expect(() => checkMsgpackBudget(nested(10, '91', '90'), { ...DEFAULT_LIMITS, maxDepth: 10 })).not.toThrow();
    expect(budgetError(() => checkMsgpackBudget(nested(11, '91', '90'), { ...DEFAULT_LIMITS, maxDepth: 10 })).limit).toBe('maxDepth');
    // a million levels: refused at level 513, no stack overflow
    const deep = Buffer.alloc(1_000_001, 0x91);
    deep[1_000_000] = 0x00;
    expect(budgetError(() => checkMsgpackBudget(deep)).offset).toBe(512);
    // wrappers chained without a container between them count too
    expect(budgetError(() => checkMsgpackBudget(hex('d40300'.repeat(600) + '90'))).limit).toBe('maxDepth');
  });

  it('reports a truncation at every byte offset of a mixed value as malformed, never crashing', () => {
    const value = {
      s: 'short', long: 'x'.repeat(300), n: [0, -1, 200, -200, 70_000, -70_000, 2 ** 40, 1.5, 2n ** 70n],
      b: Buffer.alloc(20, 1), u8: new Uint8Array(5), d: new Date(1_700_000_000_000), t: tuple<unknown>(1, [2]), set: new Set([1]),
      m: new Map<unknown, unknown>([[7, 'seven']]), nested: [[[{}]], []], nil: null, yes: true, undef: undefined, e: new Error('x'),
    };
    const frames = [Buffer.from(msgpack.encode(value)), Buffer.from(encodeMinimal({ a: [1, 'xy', null, { '5': 3.5, z: [] }], b: 'é' }))];
    for (const frame of frames) {
      expect(() => checkMsgpackBudget(frame)).not.toThrow();
      for (let i = 0; i < frame.length; i++) {
        const err = malformed(() => checkMsgpackBudget(frame.subarray(0, i)));
        expect(err.offset).toBeLessThanOrEqual(i);
        expect(err.message).toMatch(/^malformed msgpack frame: /);
      }
      expect(() => msgpack.decode(frame.subarray(0, frame.length - 1))).toThrow(); // msgpackr agrees
    }
  });

  it('refuses 0xc1, trailing bytes, and counts the bytes left could not hold', () => {
    for (const v of ['c1', '91c1', '81c100', '81a161c1', 'd40300c1']) expect(malformed(() => checkMsgpackBudget(hex(v))).message, v).toMatch(/0xc1/);
    expect(malformed(() => checkMsgpackBudget(hex('0000'))).message).toMatch(/after the value/);
    expect(malformed(() => checkMsgpackBudget(hex('9100c0'))).message).toMatch(/after the value/);
    expect(malformed(() => checkMsgpackBudget(hex('80' + '90')))).toBeInstanceOf(MalformedMsgpackError);
    expect(malformed(() => checkMsgpackBudget(hex(''))).message).toMatch(/truncated/);
    // huge counts: refused at the header, before anything else is read
    for (const v of ['ddffffffff', 'dfffffffff' + '00'.repeat(100), 'dc0100' + '00'.repeat(255), 'de0080' + '00'.repeat(255), '92dd00000002' + '0000']) {
      expect(malformed(() => checkMsgpackBudget(hex(v))).message, v).toMatch(/cannot fit|truncated/);
    }
    // nested headers whose counts add up to more than the bytes left
    expect(malformed(() => checkMsgpackBudget(hex('93' + 'dc0003' + '00')))).toBeInstanceOf(MalformedMsgpackError);
    // lengths past the end
    for (const v of ['a5616263', 'd905', 'da0010' + '61', 'db00000100', 'c4ff', 'c50100', 'c6ffffffff', 'c7ff00', 'c8010000', 'c9ffffffff00', 'd6ff0000', 'cb0000', 'cd00', 'd7']) {
      expect(malformed(() => checkMsgpackBudget(hex(v))).message, v).toMatch(/truncated/);
    }
  });

  it("refuses msgpackr's grammar-changing extensions and misplaced forms of ours", () => {
    for (const v of ['d472009100', 'd5720000', 'd669000000019100', 'd67000000001', 'd66200000005a0a0a0', 'c7007000']) {
      expect(malformed(() => checkMsgpackBudget(hex(v))).message, v).toMatch(/not accepted/);
    }
    // our tuple, error and reference extensions are only ever fixext 1 followed by their value
    for (const v of ['d5030000', 'c7010300']) expect(malformed(() => checkMsgpackBudget(hex(v))).message, v).toMatch(/fixext 1/);
    expect(() => msgpack.decode(hex('c7010300'))).toThrow(); // msgpackr cannot decode them either
  });

  it('refuses a budget that is not valid', () => {
    const f = hex('00');
    const bad: DecodeBudget[] = [
      { ...DEFAULT_LIMITS, decodeAllocationFactor: -1 },
      { ...DEFAULT_LIMITS, decodeAllocationFactor: Number.NaN },
      { ...DEFAULT_LIMITS, decodeAllocationFloor: -5 },
      { ...DEFAULT_LIMITS, maxDepth: 0 },
      { ...DEFAULT_LIMITS, maxDepth: 1.5 },
    ];
    for (const b of bad) expect(() => checkMsgpackBudget(f, b)).toThrow(RangeError);
  });

  it('a higher factor lets a refused frame through; a lower one refuses ordinary data', () => {
    const frame = listOf('80', 100_000);
    expect(budgetError(() => checkMsgpackBudget(frame)).limit).toBe('decodeAllocationFactor');
    expect(() => checkMsgpackBudget(frame, { ...DEFAULT_LIMITS, decodeAllocationFactor: 70 })).not.toThrow();
    const ints = listOf('05', 100_000);
    expect(() => checkMsgpackBudget(ints)).not.toThrow();
    expect(budgetError(() => checkMsgpackBudget(ints, { decodeAllocationFactor: 4, decodeAllocationFloor: 0, maxDepth: 512 })).limit).toBe('decodeAllocationFactor');
  });
});

describe('checkMsgpackBudget: the estimate against real heap', () => {
  it('the scan keeps nothing: its tables are fixed-size and reused', () => {
    const frame = msgpack.encode(Array.from({ length: 50_000 }, (_, i) => ({ id: i, k: `v${i % 1000}`, n: [i, 2.5], m: { 7: 1 } })));
    checkMsgpackBudget(frame);
    checkMsgpackBudget(hex('91'.repeat(511) + '90')); // the deepest stack the default budget allows
    const before = heapUsed();
    for (let i = 0; i < 5; i++) checkMsgpackBudget(frame);
    checkMsgpackBudget(hex('91'.repeat(511) + '90'));
    // (before it is optimized the interpreter boxes some doubles: garbage, gone at the next scavenge)
    expect(heapUsed() - before).toBeLessThan(256 * 1024);
  });

  it('what the checker accepts decodes to no more heap than it estimated (random structures, in aggregate and each)', () => {
    const r = rng(20240611);
    const keyPool = Array.from({ length: 24 }, (_, i) => `field${i}`);
    let unique = 0;
    const value = (depth: number): unknown => {
      const k = r.int(depth >= 3 ? 14 : 24);
      switch (k) {
        case 0: return r.int(100);
        case 1: return -r.int(1000);
        case 2: return 2 ** 32 + r.int(1000);
        case 3: return r.float() * 1000;
        case 4: return 'ab'.repeat(r.int(8));
        case 5: return 'é€'.repeat(r.int(6));
        case 6: return null;
        case 7: return r.int(2) === 0;
        case 8: return Buffer.alloc(r.int(40), 3);
        case 9: return new Date(r.int(2 ** 40));
        case 10: return 2n ** BigInt(64 + r.int(64));
        case 11: return undefined;
        case 12: return new Uint8Array(r.int(64));
        case 13: return `u${unique++}`;
        case 14: return Array.from({ length: r.int(6) }, () => value(depth + 1));
        case 15: return [];
        case 16: return {};
        case 17: return Object.fromEntries(Array.from({ length: 1 + r.int(6) }, () => [keyPool[r.int(keyPool.length)] as string, value(depth + 1)]));
        case 18: return { [`k${unique++}`]: value(depth + 1) };
        case 19: return Object.fromEntries(Array.from({ length: 1 + r.int(4) }, () => [String(r.int([40, 1100, 6000, 100_000][r.int(4)] as number)), value(depth + 1)]));
        case 20: return new Map(Array.from({ length: 1 + r.int(4) }, () => [r.int([40, 1100, 4000][r.int(3)] as number), value(depth + 1)]));
        case 21: return new Set(Array.from({ length: r.int(10) }, () => r.int(50)));
        case 22: return tuple(...Array.from({ length: r.int(6) }, () => value(depth + 1)));
        default: return Object.fromEntries(Array.from({ length: 17 + r.int(20) }, (_, i) => [keyPool[i % keyPool.length] + String(i), r.int(9)]));
      }
    };
    let totalReal = 0;
    let totalEstimate = 0;
    let accepted = 0;
    for (let round = 0; round < 24; round++) {
      const items = Array.from({ length: 3_000 }, () => value(0));
      const frame = round % 3 === 2 ? Buffer.from(encodeMinimal(JSON.parse(JSON.stringify(items, (_, v) => (typeof v === 'bigint' ? 1 : v === undefined ? null : v))))) : msgpack.encode(items);
      const estimate = estimateMsgpackAllocation(frame);
      const allowed = DEFAULT_LIMITS.decodeAllocationFloor + DEFAULT_LIMITS.decodeAllocationFactor * frame.length;
      if (estimate > allowed) {
        expect(() => checkMsgpackBudget(frame)).toThrow(DecodeBudgetError);
        continue;
      }
      checkMsgpackBudget(frame);
      accepted++;
      const real = retainedByDecode(frame);
      totalReal += real;
      totalEstimate += estimate;
      // each: within noise (a few hundred KiB of unrelated heap may come and go during a collection)
      expect(real, `round ${round}: ${frame.length} bytes`).toBeLessThanOrEqual(estimate * 1.05 + 512 * 1024);
      expect(real).toBeLessThanOrEqual(allowed + 512 * 1024);
    }
    expect(accepted).toBeGreaterThan(12);
    expect(totalReal).toBeLessThanOrEqual(totalEstimate);
  });

  it('the densest shapes an attacker would use cost no more than estimated, accepted or not', () => {
    // every element kind the budget charges heavily, decoded for real in lists small enough to hold
    const shapes = ['80', '90', '9100', '920001', '9190', 'c400', 'd4730090', 'd4030090', 'd6ff00000001', 'c7017401', 'd46500',
      '810500', '817f00', '81cd03ff00', '81a13500', '82cd03ff00cd0a0f00', '81a27a7a00', 'd4020095' + '00a0a0a090'];
    for (const shape of shapes) {
      const count = Math.max(200, Math.min(100_000, Math.floor(8e6 / (estimateMsgpackAllocation(listOf(shape, 10)) / 10))));
      const frame = listOf(shape, count);
      const estimate = estimateMsgpackAllocation(frame);
      const real = retainedByDecode(frame);
      expect(real, `${shape} x ${count}: real ${real}, estimate ${estimate}`).toBeLessThanOrEqual(estimate * 1.03 + 256 * 1024);
    }
  });
});
