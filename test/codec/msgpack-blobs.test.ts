/**
 * Blobs in the msgpack codec: with a blob list, large binaries are set aside (not copied into the frame)
 * and written as references; the receiver resolves them from the blob frames that came before. Without
 * a list, binaries are written exactly as msgpackr writes them.
 */
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { BLOB_MIN, msgpack } from '../../src/codec/index.js';
import { CodecError } from '../../src/errors.js';

const plain = new Packr({ useRecords: false, moreTypes: true, mapsAsObjects: true });

describe('msgpack blobs', () => {
  it('sets aside binaries of BLOB_MIN bytes or more and resolves them back, keeping Buffer and Uint8Array apart', () => {
    const big = Buffer.alloc(BLOB_MIN, 7);
    const bigPlain = new Uint8Array(BLOB_MIN + 1).fill(9);
    const small = Buffer.alloc(BLOB_MIN - 1, 1);
    const blobs: Uint8Array[] = [];
    const frame = msgpack.encode({ a: [big, small], b: bigPlain }, { blobs });
    expect(blobs).toHaveLength(2);
    expect(blobs[0]).toBe(big); // the caller's memory, not a copy
    expect(blobs[1]).toBe(bigPlain);
    expect(frame.length).toBeLessThan(small.length + 100); // only the small one is inside
    const back = msgpack.decode(frame, { blobs: blobs.map((b) => Buffer.from(b)) }) as { a: [Buffer, Buffer]; b: Uint8Array };
    expect(Buffer.isBuffer(back.a[0])).toBe(true);
    expect(back.a[0].equals(big)).toBe(true);
    expect(back.a[1].equals(small)).toBe(true);
    expect(Buffer.isBuffer(back.b)).toBe(false);
    expect(back.b).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(back.b).equals(Buffer.from(bigPlain))).toBe(true);
  });

  it('without a blob list writes the same bytes as msgpackr, large or small, Buffer or Uint8Array', () => {
    for (const n of [0, 1, 255, 256, 65535, 65536, BLOB_MIN + 5]) {
      for (const value of [Buffer.alloc(n, 3), new Uint8Array(n).fill(4)]) {
        const ours = Buffer.from(msgpack.encode([value]));
        expect(ours.equals(plain.pack([value])), `${value.constructor.name} of ${n}`).toBe(true);
        const back = (msgpack.decode(ours) as [Uint8Array])[0];
        expect(Buffer.isBuffer(back)).toBe(Buffer.isBuffer(value));
        expect(Buffer.from(back).equals(Buffer.from(value))).toBe(true);
      }
    }
  });

  it('refuses a reference to a blob that did not come, and a blob inside a message', () => {
    const blobs: Uint8Array[] = [];
    const frame = msgpack.encode([Buffer.alloc(BLOB_MIN)], { blobs });
    expect(() => msgpack.decode(frame)).toThrow(CodecError);
    expect(() => msgpack.decode(frame, { blobs: [] })).toThrow(/blob reference 0 without its blob frame/);
    const inside = Buffer.from([0x91, 0xc7, 0x01, 0x05, 0x00]); // [ext8(type 5, 1 byte)]
    expect(() => msgpack.decode(inside)).toThrow(/blobs travel in frames of their own/);
    const badKind = Buffer.from(frame);
    badKind[badKind.indexOf(0xc7) + 3] = 7;
    expect(() => msgpack.decode(badKind, { blobs: [Buffer.alloc(1)] })).toThrow(/unknown blob kind 7/);
  });
});
