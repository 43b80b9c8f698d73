/**
 * Bounded, seeded fuzzing: random opcode streams and mutations of valid frames. Every decode must return
 * a value or throw CodecError (ForbiddenGlobalError for a global off the list), never anything else, and
 * never the decoder's "internal error" (which would mean a bug caught by the last-resort wrapper).
 */
import { prng } from '../../support/prng.js';
import { describe, it, expect } from 'vitest';
import { Buffer } from 'node:buffer';
import { pickle, Op } from '../../../src/codec/pickle/index.js';
import { Slice, tuple } from '../../../src/codec/values.js';
import { ObjectRef } from '../../../src/codec/ref.js';
import { Token } from '../../../src/codec/token.js';
import { CodecError, ForbiddenGlobalError } from '../../../src/errors.js';
import { KeyError } from '../../../src/python-errors.js';
import { VECTORS, hex } from './bytes.js';

const RANDOM_FRAMES = 20_000;
const MUTATIONS = 20_000;


const OPCODES = Object.values(Op);
const NAMES: ReadonlyArray<[string, string]> = [
  ['multiprocessing.managers', 'Token'],
  ['multiprocessing.managers', 'RebuildProxy'],
  ['multiprocessing.managers', 'AutoProxy'],
  ['multiprocessing.managers', 'ListProxy'],
  ['multiprocessing.managers', 'Namespace'],
  ['multiprocessing.managers', 'Value'],
  ['__main__', 'ThingProxy'],
  ['builtins', 'KeyError'],
  ['builtins', 'slice'],
  ['builtins', 'set'],
  ['builtins', 'frozenset'],
  ['builtins', 'bytearray'],
  ['builtins', 'bytes'],
  ['builtins', 'object'],
  ['_codecs', 'encode'],
  ['copyreg', '_reconstructor'],
  ['array', 'array'],
  ['array', '_array_reconstructor'],
  ['collections', 'OrderedDict'],
  ['__builtin__', 'set'],
  ['os', 'system'],
  ['builtins', 'eval'],
];

function randomFrame(rnd: () => number): Buffer {
  const int = (n: number) => Math.floor(rnd() * n);
  const out: number[] = [];
  const pushBytes = (n: number) => {
    for (let i = 0; i < n; i++) out.push(int(256));
  };
  /** A length: usually small, sometimes past the end, sometimes enormous. */
  const length = (width: number) => {
    const r = rnd();
    const n = r < 0.8 ? int(6) : r < 0.95 ? int(300) : 2 ** (8 * Math.min(width, 4)) - 1 - int(3);
    for (let i = 0; i < width; i++) out.push(i < 4 ? (n >>> (8 * i)) & 0xff : r > 0.98 ? int(256) : 0);
    return n;
  };
  if (rnd() < 0.8) out.push(Op.PROTO, int(7));
  const count = 1 + int(40);
  for (let k = 0; k < count; k++) {
    const r = rnd();
    if (r < 0.03) {
      out.push(int(256));
      continue;
    }
    if (r < 0.1) {
      const [m, n] = NAMES[int(NAMES.length)] as [string, string];
      if (rnd() < 0.5) out.push(Op.GLOBAL, ...Buffer.from(`${m}\n${n}\n`));
      else out.push(Op.SHORT_BINUNICODE, m.length, ...Buffer.from(m), Op.SHORT_BINUNICODE, n.length, ...Buffer.from(n), Op.STACK_GLOBAL);
      continue;
    }
    const op = OPCODES[int(OPCODES.length)] as number;
    out.push(op);
    switch (op) {
      case Op.PROTO:
      case Op.BININT1:
      case Op.BINGET:
      case Op.BINPUT:
      case Op.EXT1:
        out.push(int(8));
        break;
      case Op.BININT2:
      case Op.EXT2:
        pushBytes(2);
        break;
      case Op.BININT:
      case Op.LONG_BINGET:
      case Op.LONG_BINPUT:
      case Op.EXT4:
        pushBytes(4);
        break;
      case Op.BINFLOAT:
        pushBytes(8);
        break;
      case Op.LONG1:
      case Op.SHORT_BINUNICODE:
      case Op.SHORT_BINBYTES:
      case Op.SHORT_BINSTRING:
        pushBytes(length(1));
        break;
      case Op.LONG4:
      case Op.BINUNICODE:
      case Op.BINBYTES:
      case Op.BINSTRING:
        pushBytes(Math.min(length(4), 300));
        break;
      case Op.BINUNICODE8:
      case Op.BINBYTES8:
      case Op.BYTEARRAY8:
      case Op.FRAME:
        pushBytes(Math.min(length(8), 300));
        break;
      case Op.INT:
      case Op.LONG:
      case Op.FLOAT:
      case Op.GET:
      case Op.PUT:
      case Op.STRING:
      case Op.UNICODE:
      case Op.PERSID: {
        const texts = ['0', '01', '-7', '123456789012345678901234', '1.5', 'inf', "'a\\x4'", '"q"', '\\u12', 'zz', ''];
        out.push(...Buffer.from(`${texts[int(texts.length)] as string}${rnd() < 0.9 ? '\n' : ''}`, 'latin1'));
        break;
      }
      case Op.GLOBAL:
      case Op.INST: {
        const [m, n] = NAMES[int(NAMES.length)] as [string, string];
        out.push(...Buffer.from(`${m}\n${n}\n`));
        break;
      }
    }
  }
  if (rnd() < 0.9) out.push(Op.STOP);
  return Buffer.from(out);
}

function corpus(): Buffer[] {
  const values: unknown[] = [
    tuple<unknown>(null, 'create', tuple<unknown>('dict'), {}),
    tuple<unknown>('#RETURN', [1, 2.5, 'three', Buffer.from([4]), new Uint8Array([5]), 2n ** 70n]),
    { a: new Set([1, 'x']), b: new Map<unknown, unknown>([[tuple<unknown>(1, 2), [null, true]]]), __proto__x: { y: [] } },
    new Token('Queue', ['127.0.0.1', 50000], '7f3a2c1b4d80'),
    new ObjectRef(new Token('Queue', '/tmp/s', 'ab'), ['get', 'put'], 'AutoProxy'),
    tuple<unknown>('#ERROR', new KeyError('missing')),
    new Slice(1, null, 2),
    Array.from({ length: 40 }, (_, i) => ({ [`k${i}`]: i * 1.5 })),
  ];
  const shared = [1];
  values.push([shared, shared]);
  const frames: Buffer[] = values.map((v) => Buffer.from(pickle.encode(v)));
  for (const h of Object.values(VECTORS)) frames.push(hex(h));
  frames.push(Buffer.from('(lp0\nI1\na(I2\nI3\ntp1\na(dp2\nVa\np3\nNsa.', 'latin1'));
  frames.push(Buffer.from("ccopy_reg\n_reconstructor\n(cmultiprocessing.managers\nToken\nc__builtin__\nobject\nNtR(VQ\nV/s\nVab\ntb.", 'latin1'));
  return frames;
}

function mutate(frame: Buffer, rnd: () => number): Buffer {
  const int = (n: number) => Math.floor(rnd() * n);
  let b = Buffer.from(frame);
  const edits = 1 + int(4);
  for (let e = 0; e < edits; e++) {
    const at = int(b.length + 1);
    switch (int(6)) {
      case 0: // flip a byte
        if (b.length > 0) b[Math.min(at, b.length - 1)] = int(256);
        break;
      case 1: // replace with an opcode
        if (b.length > 0) b[Math.min(at, b.length - 1)] = OPCODES[int(OPCODES.length)] as number;
        break;
      case 2: // insert
        b = Buffer.concat([b.subarray(0, at), Buffer.from([int(256)]), b.subarray(at)]);
        break;
      case 3: // delete a range
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + int(4))]);
        break;
      case 4: // truncate
        b = b.subarray(0, at);
        break;
      default: {
        // duplicate a slice
        const len = int(12);
        b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + len), b.subarray(at)]);
      }
    }
  }
  return b;
}

interface Tally {
  values: number;
  codecErrors: number;
  forbidden: number;
}

function check(input: Buffer, tally: Tally): void {
  let value: unknown;
  try {
    value = pickle.decode(input, { reviveRef: (ref) => ref });
  } catch (err) {
    if (err instanceof ForbiddenGlobalError) {
      tally.forbidden++;
      return;
    }
    if (!(err instanceof CodecError) || err.message.includes('internal error')) {
      throw new Error(`decode of ${input.toString('hex')} threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`, { cause: err });
    }
    tally.codecErrors++;
    return;
  }
  tally.values++;
  // Whatever decodes must be safe to hand on: encoding it either works or refuses with a CodecError.
  try {
    pickle.encode(value);
  } catch (err) {
    if (!(err instanceof CodecError)) throw new Error(`re-encode of ${input.toString('hex')} threw ${String(err)}`, { cause: err });
  }
}

describe('pickle decode fuzz', () => {
  it(`survives ${RANDOM_FRAMES} random opcode streams`, () => {
    const rnd = prng(0x5eed);
    const tally: Tally = { values: 0, codecErrors: 0, forbidden: 0 };
    for (let i = 0; i < RANDOM_FRAMES; i++) check(randomFrame(rnd), tally);
    expect(tally.values + tally.codecErrors + tally.forbidden).toBe(RANDOM_FRAMES);
    // The generator must reach past the first opcode often enough to mean something.
    expect(tally.values).toBeGreaterThan(50);
    expect(tally.forbidden).toBeGreaterThan(50);
  }, 60_000);

  it(`survives ${MUTATIONS} mutations of valid frames`, () => {
    const rnd = prng(0xc0ffee);
    const frames = corpus();
    for (const f of frames) expect(() => pickle.decode(f)).not.toThrow();
    const tally: Tally = { values: 0, codecErrors: 0, forbidden: 0 };
    for (let i = 0; i < MUTATIONS; i++) check(mutate(frames[i % frames.length] as Buffer, rnd), tally);
    expect(tally.values + tally.codecErrors + tally.forbidden).toBe(MUTATIONS);
    expect(tally.values).toBeGreaterThan(500);
  }, 60_000);
});
