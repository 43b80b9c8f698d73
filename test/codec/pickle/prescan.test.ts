/**
 * The pickle pre-scan (src/codec/pickle/prescan.ts): one linear pass that refuses a pickle over the
 * decode budget before anything is built. Its estimate must never exceed what the decoder charges for a
 * pickle the decoder accepts (checked here against the decoder's exact charge, found by bisecting the
 * budget), it must skip every opcode's argument exactly as the decoder reads it, and it must leave
 * malformed input to the decoder.
 */
import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PICKLE_LIMITS, Op, PickleCodec, pickle } from '../../../src/codec/pickle/index.js';
import { decodePickle } from '../../../src/codec/pickle/decode.js';
import { resolveLimits } from '../../../src/codec/pickle/limits.js';
import { estimatePickleAllocation, prescanPickle } from '../../../src/codec/pickle/prescan.js';
import { ObjectRef } from '../../../src/codec/ref.js';
import { Token } from '../../../src/codec/token.js';
import { Slice, tuple } from '../../../src/codec/values.js';
import { CodecError, DecodeBudgetError } from '../../../src/errors.js';
import { PythonError } from '../../../src/python-errors.js';
import { VECTORS, bytes, global, hex, p4, str, type Part } from './bytes.js';

/** What the decoder charges for `b`: the smallest budget it decodes under (factor ~0, so budget = floor). */
function decoderCharge(b: Uint8Array): number {
  const passes = (floor: number): boolean => {
    try {
      decodePickle(b, undefined, resolveLimits({ decodeAllocationFactor: 1e-9, decodeAllocationFloor: floor }));
      return true;
    } catch (err) {
      if (err instanceof DecodeBudgetError) return false;
      throw err;
    }
  };
  let hi = 1024;
  while (!passes(hi)) hi *= 2;
  let lo = 0; // every pickle pushes a value, so 0 never passes
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (passes(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

const le32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const le64 = (n: number): number[] => [...le32(n), 0, 0, 0, 0];
const text = (s: string): Buffer => Buffer.from(s, 'latin1');
/** A payload that is all EMPTY_DICT bytes: a scan that took it for opcodes would charge 128 per byte. */
const dicts = (n: number): Buffer => Buffer.alloc(n, 0x7d);

/** A list of n copies of a one-byte opcode: `PROTO 4, EMPTY_LIST, MARK, <op> * n, APPENDS, STOP`. */
function listOf(item: number, n: number): Buffer {
  const out = Buffer.alloc(6 + n);
  out.set([Op.PROTO, 4, Op.EMPTY_LIST, Op.MARK]);
  out.fill(item, 4, 4 + n);
  out.set([Op.APPENDS, Op.STOP], 4 + n);
  return out;
}

/** Builds `PROTO 4, <head>, <item> * n, <tail>, STOP` without a JS array per byte. */
function repeated(head: Part, item: number, n: number, tail: Part): Buffer {
  return Buffer.concat([bytes(Op.PROTO, 4, head), Buffer.alloc(n, item), bytes(tail, Op.STOP)]);
}

const tokenState = [str('Q'), str('/s'), str('1'), Op.TUPLE3];
const MANAGERS = 'multiprocessing.managers';

/**
 * Vectors that the decoder accepts, each tagged with the opcodes it is there for. Arguments are made of
 * 0x7d ('}', EMPTY_DICT) where the format allows, and a value follows each opcode, so a scan that skipped
 * an argument wrongly would charge differently from the decoder.
 */
const OPCODE_VECTORS: readonly (readonly [readonly number[], Buffer])[] = [
  [[Op.PROTO, Op.STOP, Op.MARK, Op.TUPLE, Op.NONE, Op.NEWTRUE, Op.NEWFALSE], p4(Op.MARK, Op.NONE, Op.NEWTRUE, Op.NEWFALSE, Op.EMPTY_DICT, Op.TUPLE)],
  [[Op.FRAME], hex(VECTORS.create)],
  [[Op.FRAME], p4(Op.FRAME, le64(2), Op.EMPTY_DICT, Op.POP, Op.EMPTY_DICT)],
  [[Op.BININT1, Op.BININT2, Op.BININT, Op.BINFLOAT], p4(Op.MARK, Op.BININT1, 0x7d, Op.BININT2, 0x7d, 0x7d, Op.BININT, 0x7d, 0x7d, 0x7d, 0x7d, Op.BINFLOAT, dicts(8), Op.EMPTY_DICT, Op.TUPLE)],
  [[Op.LONG1], p4(Op.MARK, Op.LONG1, 2, 0x7d, 0x7d, Op.LONG1, 7, dicts(7), Op.LONG1, 0x7d, dicts(0x7d), Op.LONG1, 0, Op.EMPTY_DICT, Op.TUPLE)],
  [[Op.LONG4], p4(Op.MARK, Op.LONG4, le32(3), dicts(3), Op.LONG4, le32(0x7d), dicts(0x7d), Op.EMPTY_DICT, Op.TUPLE)],
  [[Op.INT, Op.LONG, Op.FLOAT], bytes(Op.MARK, text('I125\nI01\nI-1234567890123456789\nL125L\nL-99999999999999999999999\nF1.5\nFinf\n'), Op.EMPTY_DICT, Op.TUPLE, Op.STOP)],
  [[Op.UNICODE], bytes(Op.MARK, text('V}}}}\nV\\u20ac}\nV\n'), Op.EMPTY_DICT, Op.TUPLE, Op.STOP)],
  [[Op.STRING], bytes(Op.MARK, text("S'}}}}'\nS'a\\x41\\n\\'}'\n"), Op.EMPTY_DICT, Op.TUPLE, Op.STOP)],
  [[Op.SHORT_BINUNICODE], p4(Op.MARK, Op.SHORT_BINUNICODE, 0x7d, dicts(0x7d), Op.SHORT_BINUNICODE, 0, Op.EMPTY_DICT, Op.TUPLE)],
  [[Op.BINUNICODE], p4(Op.MARK, Op.BINUNICODE, le32(1000), dicts(1000), Op.BINUNICODE, le32(0x7d), dicts(0x7d), Op.EMPTY_DICT, Op.TUPLE)],
  [[Op.BINUNICODE8], p4(Op.MARK, Op.BINUNICODE8, le64(0x7d), dicts(0x7d), Op.EMPTY_DICT, Op.TUPLE)],
  [[Op.SHORT_BINSTRING, Op.BINSTRING], p4(Op.MARK, Op.SHORT_BINSTRING, 0x7d, dicts(0x7d), Op.BINSTRING, le32(0x7d), dicts(0x7d), Op.EMPTY_DICT, Op.TUPLE)],
  [[Op.SHORT_BINBYTES, Op.BINBYTES, Op.BINBYTES8], p4(Op.MARK, Op.SHORT_BINBYTES, 0x7d, dicts(0x7d), Op.BINBYTES, le32(0x7d), dicts(0x7d), Op.BINBYTES8, le64(3), dicts(3), Op.EMPTY_DICT, Op.TUPLE)],
  [[Op.BYTEARRAY8], bytes(Op.PROTO, 5, Op.MARK, Op.BYTEARRAY8, le64(0x7d), dicts(0x7d), Op.EMPTY_DICT, Op.TUPLE, Op.STOP)],
  [[Op.EMPTY_TUPLE, Op.TUPLE1, Op.TUPLE2, Op.TUPLE3], p4(Op.EMPTY_TUPLE, Op.NONE, Op.TUPLE1, Op.NONE, Op.NONE, Op.TUPLE2, Op.EMPTY_DICT, Op.TUPLE3, Op.EMPTY_DICT, Op.TUPLE3)],
  [[Op.EMPTY_LIST, Op.LIST, Op.APPEND, Op.APPENDS], p4(Op.EMPTY_LIST, Op.EMPTY_DICT, Op.APPEND, Op.MARK, Op.NONE, Op.EMPTY_DICT, Op.MARK, Op.NONE, Op.NONE, Op.LIST, Op.APPENDS)],
  [[Op.EMPTY_DICT, Op.DICT, Op.SETITEM, Op.SETITEMS], p4(Op.EMPTY_DICT, str('a'), Op.EMPTY_DICT, Op.SETITEM, Op.MARK, str('b'), Op.MARK, str('c'), Op.NONE, Op.DICT, str('d'), Op.EMPTY_LIST, Op.SETITEMS)],
  [[Op.EMPTY_SET, Op.ADDITEMS, Op.FROZENSET], p4(Op.EMPTY_SET, Op.MARK, Op.NONE, Op.BININT1, 1, Op.MARK, Op.BININT1, 2, Op.FROZENSET, Op.ADDITEMS)],
  [[Op.POP, Op.POP_MARK, Op.DUP], p4(Op.MARK, Op.EMPTY_DICT, Op.DUP, Op.POP_MARK, Op.MARK, Op.POP, Op.EMPTY_LIST, Op.EMPTY_DICT, Op.POP, Op.DUP, Op.POP, Op.EMPTY_DICT, Op.APPEND)],
  [[Op.MEMOIZE, Op.BINPUT, Op.LONG_BINPUT, Op.BINGET, Op.LONG_BINGET], p4(Op.MARK, Op.EMPTY_LIST, Op.MEMOIZE, Op.BINPUT, 0x7d, Op.LONG_BINPUT, 0x7d, 0x7d, 0, 0, Op.BINGET, 0x7d, Op.LONG_BINGET, 0x7d, 0x7d, 0, 0, Op.BINGET, 0, Op.EMPTY_DICT, Op.TUPLE)],
  [[Op.PUT, Op.GET], bytes(Op.MARK, text('(lp125\ng125\n'), Op.EMPTY_DICT, Op.TUPLE, Op.STOP)],
  [[Op.GLOBAL, Op.REDUCE], bytes(text("c__builtin__\nset\n((lI1\naI2\natR"), Op.STOP)],
  [[Op.STACK_GLOBAL, Op.NEWOBJ, Op.BUILD], p4(global(MANAGERS, 'Token'), Op.EMPTY_TUPLE, Op.NEWOBJ, tokenState, Op.BUILD)],
  [[Op.NEWOBJ_EX], p4(global(MANAGERS, 'Token'), Op.EMPTY_TUPLE, Op.EMPTY_DICT, Op.NEWOBJ_EX, tokenState, Op.BUILD)],
  [[Op.INST], bytes(text('(lI1\naI2\na((lI3\nai__builtin__\nset\n'), Op.TUPLE2, Op.STOP)],
  [[Op.OBJ], bytes(Op.MARK, text('c__builtin__\nset\n(lI1\nao'), Op.EMPTY_DICT, Op.TUPLE2, Op.STOP)],
  [[Op.SETITEMS], p4(global('collections', 'OrderedDict'), Op.EMPTY_TUPLE, Op.REDUCE, Op.MARK, str('a'), Op.BININT1, 1, str('b'), Op.EMPTY_DICT, Op.SETITEMS)],
];

/** Opcodes the decoder refuses on sight, with their arguments: the scan stops there too. */
const REFUSED: readonly (readonly [number, Part])[] = [
  [Op.PERSID, text('}}}\n')],
  [Op.BINPERSID, []],
  [Op.EXT1, [0x7d]],
  [Op.EXT2, [0x7d, 0x7d]],
  [Op.EXT4, [0x7d, 0x7d, 0x7d, 0x7d]],
  [Op.NEXT_BUFFER, []],
  [Op.READONLY_BUFFER, []],
];

/** Charges the decoder makes that the scan cannot see: the decoded length of each protocol 0 STRING. */
const UNSEEN: ReadonlyMap<Buffer, number> = new Map([[OPCODE_VECTORS.find(([ops]) => ops.includes(Op.STRING))?.[1] as Buffer, 4 + 5]]);

describe('pickle pre-scan: opcodes', () => {
  it('has a vector for every opcode', () => {
    const seen = new Set<number>([...OPCODE_VECTORS.flatMap(([ops]) => ops), ...REFUSED.map(([op]) => op)]);
    const missing = Object.entries(Op).filter(([, code]) => !seen.has(code));
    expect(missing).toStrictEqual([]);
    for (const [ops, b] of OPCODE_VECTORS) for (const op of ops) expect(b.includes(op), `${op.toString(16)} in ${b.toString('hex')}`).toBe(true);
  });

  it.each(OPCODE_VECTORS.map(([ops, b]) => [ops.map((op) => op.toString(16)).join(' '), b] as const))(
    'estimates exactly what the decoder charges (%s)',
    (_, b) => {
      const charge = decoderCharge(b);
      expect(estimatePickleAllocation(b)).toBe(charge - (UNSEEN.get(b) ?? 0));
      expect(() => pickle.decode(b)).not.toThrow();
    },
  );

  it.each(REFUSED.map(([op, arg]) => [op.toString(16), op, arg] as const))('stops at 0x%s, which the decoder refuses', (_, op, arg) => {
    const b = p4(Op.EMPTY_LIST, op, arg, Op.MARK, dicts(100_000), Op.APPENDS);
    expect(estimatePickleAllocation(b)).toBe(COST_EMPTY_LIST);
    expect(() => prescanPickle(b, DEFAULT_PICKLE_LIMITS)).not.toThrow();
    const err = codecError(b);
    expect(err).not.toBeInstanceOf(DecodeBudgetError);
  });

  it('does not take bytes inside a str or bytes payload for opcodes', () => {
    const payload = dicts(100_000); // read as opcodes: 100 000 dicts, 12.8 MB against a 3.3 MB budget
    for (const b of [
      p4(Op.BINUNICODE, le32(payload.length), payload),
      p4(Op.BINUNICODE8, le64(payload.length), payload),
      p4(Op.BINBYTES, le32(payload.length), payload),
      p4(Op.BINBYTES8, le64(payload.length), payload),
      p4(Op.BINSTRING, le32(payload.length), payload),
      bytes(Op.PROTO, 5, Op.BYTEARRAY8, le64(payload.length), payload, Op.STOP),
      p4(Op.LONG4, le32(payload.length), payload),
      bytes(Op.UNICODE, payload, 0x0a, Op.STOP),
      bytes(Op.STRING, "'", payload, "'\n", Op.STOP),
      pickle.encode(['}'.repeat(1000), Buffer.alloc(1000, 0x7d), Array.from({ length: 1000 }, () => '}'.repeat(100))]),
    ]) {
      expect(estimatePickleAllocation(b)).toBeLessThan(4 * b.length);
      expect(() => pickle.decode(b)).not.toThrow();
    }
  });
});

const COST_EMPTY_LIST = 32 + 8;

function codecError(b: Uint8Array, codec = pickle): CodecError {
  try {
    codec.decode(b);
  } catch (err) {
    expect(err).toBeInstanceOf(CodecError);
    return err as CodecError;
  }
  throw new Error('decode did not throw');
}

describe('pickle pre-scan: legitimate pickles', () => {
  const token = new Token('list', ['127.0.0.1', 47001], '7f81b8c05300');
  const cases: readonly (readonly [string, Uint8Array])[] = [
    ...Object.entries(VECTORS).map(([name, h]) => [`CPython ${name}`, hex(h)] as const),
    ['records', pickle.encode(Array.from({ length: 2000 }, (_, i) => ({ id: i, name: `user${i}`, tags: ['a', 'b'], score: i * 1.5, ok: i % 2 === 0, none: null })))],
    ['ints', pickle.encode(Array.from({ length: 20_000 }, (_, i) => i * 7919 - 1e6))],
    ['bigints', pickle.encode(Array.from({ length: 1000 }, (_, i) => (1n << BigInt(i % 200)) * 12345n - 7n))],
    ['strings', pickle.encode(Array.from({ length: 1000 }, (_, i) => 'é€😀x'.repeat(i % 50)))],
    ['repeated strings', pickle.encode(Array.from({ length: 5000 }, () => 'same'))],
    ['nested dicts', pickle.encode(Array.from({ length: 500 }, (_, i) => ({ a: { b: { c: { d: i } } }, e: [{ f: [i] }] })))],
    ['deep list', pickle.encode(Array.from({ length: 400 }).reduce<unknown[]>((inner) => [inner], []))],
    ['tuples', pickle.encode(Array.from({ length: 5000 }, (_, i) => tuple<unknown>(i, i + 1)))],
    ['small tuples', pickle.encode(Array.from({ length: 3000 }, (_, i) => tuple<unknown>(...Array.from({ length: i % 6 }, (_, j) => j))))],
    ['sets', pickle.encode(Array.from({ length: 1000 }, (_, i) => new Set([i, i + 1, `s${i}`])))],
    ['maps with int keys', pickle.encode(new Map(Array.from({ length: 2000 }, (_, i) => [i, `v${i}`])))],
    ['bytes', pickle.encode(Array.from({ length: 300 }, (_, i) => Buffer.alloc(i, i)))],
    ['big bytes', pickle.encode(Buffer.alloc(1 << 20, 0x7d))],
    ['floats', pickle.encode(Array.from({ length: 10_000 }, (_, i) => i / 7))],
    ['one-element lists', pickle.encode(Array.from({ length: 10_000 }, (_, i) => [i]))],
    ['empty containers', pickle.encode([[], {}, tuple(), new Set(), Buffer.alloc(0), ''])],
    ['proxies', pickle.encode(Array.from({ length: 200 }, () => new ObjectRef(token, ['append', 'pop'], 'ListProxy')))],
    ['tokens', pickle.encode(Array.from({ length: 200 }, (_, i) => new Token('dict', ['h', i], `id${i}`)))],
    ['errors', pickle.encode(tuple<unknown>('#ERROR', new PythonError('KeyError', ['missing'])))],
    ['slices', pickle.encode([new Slice(1, null, -1), new Slice(null, 5, null)])],
    ['request', pickle.encode(tuple<unknown>(null, 'create', tuple<unknown>('dict'), {}))],
    ['shared and cyclic', (() => {
      const shared = { x: 1 };
      const cyclic: unknown[] = [shared, shared];
      cyclic.push(cyclic);
      return pickle.encode(cyclic);
    })()],
  ];

  it.each(cases)('%s: the estimate is the decoder\'s charge, or a little under', (_, b) => {
    const charge = decoderCharge(b);
    const estimate = estimatePickleAllocation(b);
    expect(estimate).toBeLessThanOrEqual(charge);
    // Only array-index keys and protocol 0 STRINGs are charged by the decoder alone.
    expect(charge - estimate).toBeLessThanOrEqual(0.02 * charge);
    expect(() => prescanPickle(b, DEFAULT_PICKLE_LIMITS)).not.toThrow();
    expect(() => pickle.decode(b)).not.toThrow();
  });

  it('never refuses what the decoder accepts under the same budget', () => {
    // For each pickle, the tightest budget the decoder accepts: the pre-scan accepts it too.
    for (const [, b] of cases.slice(0, 12)) {
      const charge = decoderCharge(b);
      const tight = resolveLimits({ decodeAllocationFactor: 1e-9, decodeAllocationFloor: charge });
      expect(() => prescanPickle(b, tight)).not.toThrow();
      expect(() => new PickleCodec(tight).decode(b)).not.toThrow();
    }
  });

  it('charges array-index keys only in the decoder (the scan cannot see them), so it stays under', () => {
    const b = pickle.encode(Array.from({ length: 20 }, () => ({ 1023: 0 })));
    expect(estimatePickleAllocation(b)).toBeLessThan(decoderCharge(b));
  });
});

describe('pickle pre-scan: hostile pickles', () => {
  const n = 1_000_000;
  const hostile: readonly (readonly [string, Buffer])[] = [
    ['a list of empty dicts', listOf(Op.EMPTY_DICT, n)],
    ['a list of empty lists', listOf(Op.EMPTY_LIST, n)],
    ['a list of empty tuples', listOf(Op.EMPTY_TUPLE, n)],
    ['a list of empty sets', listOf(Op.EMPTY_SET, n)],
    ['a list of empty bytes', Buffer.concat([bytes(Op.PROTO, 4, Op.EMPTY_LIST, Op.MARK), Buffer.from(new Uint16Array(n).fill(Op.SHORT_BINBYTES).buffer), bytes(Op.APPENDS, Op.STOP)])],
    ['a dict of many items keyed by empty tuples', repeated([Op.EMPTY_DICT, Op.MARK], Op.EMPTY_TUPLE, 2 * n, [Op.SETITEMS])],
    ['a dict built with DICT from empty dicts', repeated([Op.MARK], Op.EMPTY_DICT, 2 * n, [Op.DICT])],
    ['a frozenset of empty tuples', repeated([Op.MARK], Op.EMPTY_TUPLE, n, [Op.FROZENSET])],
    ['a tuple of empty dicts', repeated([Op.MARK], Op.EMPTY_DICT, n, [Op.TUPLE])],
    ['a list of empty dicts in a FRAME', Buffer.concat([bytes(Op.PROTO, 4, Op.FRAME, le64(n + 4)), listOf(Op.EMPTY_DICT, n).subarray(2)])],
  ];

  it.each(hostile)('refuses %s in the pre-scan, building nothing', (_, frame) => {
    let err: unknown;
    const before = process.memoryUsage().heapUsed;
    try {
      prescanPickle(frame, DEFAULT_PICKLE_LIMITS);
    } catch (e) {
      err = e;
    }
    const grown = process.memoryUsage().heapUsed - before;
    expect(err).toBeInstanceOf(DecodeBudgetError);
    const e = err as DecodeBudgetError;
    expect(e.limit).toBe('decodeAllocationFactor');
    expect(e.message).toMatch(/raise decodeAllocationFactor/);
    const allowed = DEFAULT_PICKLE_LIMITS.decodeAllocationFloor + DEFAULT_PICKLE_LIMITS.decodeAllocationFactor * frame.length;
    expect(e.allowed).toBe(allowed);
    expect(e.actual).toBeGreaterThan(allowed);
    // Refused the moment the estimate passed the budget, before the end of the frame.
    expect(e.offset).toBeLessThan(frame.length - 2);
    // A refusal while building costs ~32 bytes of heap per byte of frame (32 MB here).
    expect(grown).toBeLessThan(2 * 1024 * 1024);
  });

  it('refuses through PickleCodec.decode with the same error, before the decoder builds anything', () => {
    const frame = listOf(Op.EMPTY_DICT, 2 * n);
    const before = process.memoryUsage().heapUsed;
    expect(() => pickle.decode(frame)).toThrow(/found before decoding/);
    // The heap is the measure (no timing in tests): a build-as-you-go refusal of this frame allocates ~64 MB.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(2 * 1024 * 1024);
  });

  it('skips the scan only for frames too short to pass the budget whatever they hold', () => {
    // The costliest bytes: empty dicts (a dict and a slot each) taken into a frozenset (a set entry each).
    const { decodeAllocationFloor: floor, decodeAllocationFactor: factor } = DEFAULT_PICKLE_LIMITS;
    let skipped = 0;
    for (let k = 300; k < 700; k++) {
      const b = repeated([Op.MARK], Op.EMPTY_DICT, k, [Op.FROZENSET]);
      const over = estimatePickleAllocation(b) > floor + factor * b.length;
      if (over) expect(() => prescanPickle(b, DEFAULT_PICKLE_LIMITS), String(k)).toThrow(DecodeBudgetError);
      else skipped++;
    }
    expect(skipped).toBeGreaterThan(100);
    expect(skipped).toBeLessThan(400);
  });

  it('lets a raised factor through, to the decoder', () => {
    const lenient = new PickleCodec({ decodeAllocationFactor: 200 });
    expect((lenient.decode(listOf(Op.EMPTY_TUPLE, 200_000)) as unknown[]).length).toBe(200_000);
  });
});

describe('pickle pre-scan: malformed input is left to the decoder', () => {
  const valid = [
    hex(VECTORS.returnListProxy),
    pickle.encode({ a: [1, 2, 3], b: 'x'.repeat(300), c: Buffer.alloc(300), d: new Set([1]), e: tuple(1, 2), f: 2n ** 100n }),
    bytes(text('(dp0\nVk\np1\n(lp2\nF1.5\naS\'x\'\np3\nac__builtin__\nset\np4\n(I1\nI2\ntp5\nRp6\naL12345L\nas.')),
  ];

  it('truncated pickles: the scan returns, the decoder throws its own CodecError', () => {
    for (const b of valid) {
      for (let cut = 0; cut < b.length; cut++) {
        const part = b.subarray(0, cut);
        expect(() => prescanPickle(part, DEFAULT_PICKLE_LIMITS)).not.toThrow();
        const err = codecError(part);
        expect(err).not.toBeInstanceOf(DecodeBudgetError);
      }
    }
  });

  it('lengths beyond the bytes left, negative lengths, lines without a newline: the scan stops', () => {
    const tail = [Op.EMPTY_LIST, Op.MARK, dicts(100_000), Op.APPENDS];
    for (const head of [
      [Op.BINUNICODE, 0xff, 0xff, 0xff, 0xff],
      [Op.BINBYTES, le32(200_000)],
      [Op.BINUNICODE8, 0, 0, 0, 0, 1, 0, 0, 0],
      [Op.BINBYTES8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
      [Op.FRAME, 0, 0, 0, 0, 0, 0, 0, 1],
      [Op.FRAME, le64(200_000)],
      [Op.LONG4, 0xff, 0xff, 0xff, 0xff],
      [Op.BINSTRING, 0xfe, 0xff, 0xff, 0xff],
    ]) {
      const b = p4(head, tail);
      expect(estimatePickleAllocation(b), Buffer.from(bytes(head)).toString('hex')).toBeLessThan(1000);
      expect(() => prescanPickle(b, DEFAULT_PICKLE_LIMITS)).not.toThrow();
      expect(codecError(b)).not.toBeInstanceOf(DecodeBudgetError);
    }
    for (const op of [Op.INT, Op.LONG, Op.FLOAT, Op.STRING, Op.UNICODE, Op.GET, Op.PUT, Op.GLOBAL, Op.INST, Op.PERSID]) {
      const b = bytes(Op.MARK, op, dicts(100_000));
      expect(estimatePickleAllocation(b)).toBe(0);
      expect(() => prescanPickle(b, DEFAULT_PICKLE_LIMITS)).not.toThrow();
      expect(codecError(b)).not.toBeInstanceOf(DecodeBudgetError);
    }
    // GLOBAL and INST need two lines.
    expect(estimatePickleAllocation(bytes(Op.GLOBAL, 'a\n', dicts(100)))).toBe(0);
  });

  it('more open MARKs than maxDepth: the scan stops, the decoder refuses', () => {
    const b = bytes(Buffer.alloc(DEFAULT_PICKLE_LIMITS.maxDepth + 1, Op.MARK), dicts(100_000));
    expect(estimatePickleAllocation(b)).toBe(0);
    expect(() => prescanPickle(b, DEFAULT_PICKLE_LIMITS)).not.toThrow();
    expect(codecError(b).message).toMatch(/maxDepth/);
  });

  it('stack underflows and unknown opcodes: no error from the scan', () => {
    for (const b of [
      p4(Op.APPENDS, Op.SETITEMS, Op.POP, Op.POP_MARK, Op.TUPLE3, Op.REDUCE, Op.NEWOBJ_EX, Op.BUILD, Op.SETITEM, Op.APPEND, Op.OBJ, Op.TUPLE, Op.LIST, Op.DICT, Op.FROZENSET, Op.ADDITEMS),
      p4(0xff, dicts(100_000)),
      p4(0x00, dicts(100_000)),
    ]) {
      expect(() => prescanPickle(b, DEFAULT_PICKLE_LIMITS)).not.toThrow();
      expect(codecError(b)).not.toBeInstanceOf(DecodeBudgetError);
    }
  });

  it('random bytes: the scan never throws anything but DecodeBudgetError', () => {
    let seed = 12345;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 16;
    };
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.alloc(1 + (rand() % 3000));
      for (let j = 0; j < b.length; j++) b[j] = rand() & 0xff;
      try {
        prescanPickle(b, DEFAULT_PICKLE_LIMITS);
        estimatePickleAllocation(b);
      } catch (err) {
        expect(err).toBeInstanceOf(DecodeBudgetError);
      }
    }
  });
});
