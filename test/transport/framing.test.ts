/**
 * CPython framing (cpython-wire.md §1.1) fed as raw hex, with no socket: byte by byte, in every
 * three-way chunk split, with the -1 + 8-byte header, zero-length frames, bad lengths, oversize frames
 * refused from their header, and EOF between and inside frames.
 */
import { DEFAULT_LIMITS } from '../../src/limits.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  COALESCE_LIMIT,
  FrameDecoder,
  MAX_SHORT_LENGTH,
  encodeFrame,
  frameHeader,
} from '../../src/transport/framing.js';
import { FrameTooLargeError, ProtocolError, TruncatedFrameError } from '../../src/errors.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function decoder(max?: number): { dec: FrameDecoder; frames: string[] } {
  const frames: string[] = [];
  const dec = new FrameDecoder((f) => frames.push(Buffer.from(f).toString('hex')), max);
  return { dec, frames };
}

/** Four frames: 'abc', empty, one 0xff byte, and 'abcd' behind the -1 + 8-byte header. */
const STREAM = hex(`
  00000003 616263
  00000000
  00000001 ff
  ffffffff 0000000000000004 61626364
`);
const STREAM_FRAMES = ['616263', '', 'ff', '61626364'];

describe('frameHeader / encodeFrame', () => {
  it('writes a 4-byte big-endian length', () => {
    expect(frameHeader(0).toString('hex')).toBe('00000000');
    expect(frameHeader(3).toString('hex')).toBe('00000003');
    expect(frameHeader(MAX_SHORT_LENGTH).toString('hex')).toBe('7fffffff');
  });

  it('writes -1 then an 8-byte length above 0x7fffffff (vector from CPython: n = 2^31)', () => {
    expect(frameHeader(2 ** 31).toString('hex')).toBe('ffffffff0000000080000000');
    expect(frameHeader(2 ** 33 + 5).toString('hex')).toBe('ffffffff0000000200000005');
  });

  it('coalesces header and payload into one buffer up to 16384 bytes (bpo-20540)', () => {
    const small = encodeFrame(Buffer.from('abc'));
    expect(small).toHaveLength(1);
    expect(small[0]!.toString('hex')).toBe('00000003616263');
    expect(encodeFrame(new Uint8Array(0)).map((b) => b.toString('hex'))).toEqual(['00000000']);
    expect(encodeFrame(new Uint8Array(COALESCE_LIMIT))).toHaveLength(1);
  });

  it('writes header and payload separately above 16384 bytes, without copying the payload', () => {
    const payload = Buffer.alloc(COALESCE_LIMIT + 1, 7);
    const parts = encodeFrame(payload);
    expect(parts).toHaveLength(2);
    expect(parts[0]!.toString('hex')).toBe('00004001');
    expect(parts[1]!.buffer).toBe(payload.buffer);
  });
});

describe('FrameDecoder', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('decodes a stream given whole', () => {
    const { dec, frames } = decoder();
    dec.push(STREAM);
    expect(frames).toEqual(STREAM_FRAMES);
    expect(dec.atBoundary).toBe(true);
  });

  it('decodes a stream fed byte by byte', () => {
    const { dec, frames } = decoder();
    for (let i = 0; i < STREAM.length; i++) {
      dec.push(STREAM.subarray(i, i + 1));
      // Only the last byte of a frame completes it.
      expect(dec.atBoundary).toBe([7, 11, 16, 32].includes(i + 1));
    }
    expect(frames).toEqual(STREAM_FRAMES);
  });

  it('decodes a stream in every three-way chunk split', () => {
    for (let i = 0; i <= STREAM.length; i++) {
      for (let j = i; j <= STREAM.length; j++) {
        const { dec, frames } = decoder();
        dec.push(STREAM.subarray(0, i));
        dec.push(STREAM.subarray(i, j));
        dec.push(STREAM.subarray(j));
        expect(frames, `split at ${i}, ${j}`).toEqual(STREAM_FRAMES);
        dec.end();
      }
    }
  });

  it('hands a payload that lies inside one chunk as a view of it, and copies one split across chunks', () => {
    const got: Uint8Array[] = [];
    const dec = new FrameDecoder((f) => got.push(f));
    const chunk = hex('00000002 6869 00000002 68');
    dec.push(chunk);
    dec.push(hex('69'));
    expect(got.map((f) => f.toString())).toEqual(['hi', 'hi']);
    chunk[4] = 0x48; // 'h' -> 'H' in the first payload, and in the first byte of the second
    chunk[10] = 0x48;
    expect(got.map((f) => f.toString())).toEqual(['Hi', 'hi']);
  });

  it('copies out a payload inside a chunk when chunks are one reused read buffer', () => {
    const got: Uint8Array[] = [];
    const dec = new FrameDecoder((f) => got.push(f), undefined, true);
    const chunk = hex('00000002 6869 00000002 6869');
    dec.push(chunk);
    chunk.fill(0); // the reader reuses its buffer for the next read
    expect(got.map((f) => f.toString())).toEqual(['hi', 'hi']);
  });

  it('hands out the missing part of a large payload for reads to land in, and delivers that very buffer', () => {
    const got: Uint8Array[] = [];
    const dec = new FrameDecoder((f) => got.push(f), undefined, true);
    expect(dec.directTarget(4)).toBeNull(); // between frames: nothing to read into
    const payload = Buffer.from('abcdefghij');
    dec.push(Buffer.concat([hex('0000000a'), payload.subarray(0, 3)]));
    expect(dec.directTarget(8)).toBeNull(); // only 7 bytes missing
    const target = dec.directTarget(4);
    expect(target?.length).toBe(7);
    payload.copy(target!, 0, 3, 6);
    dec.advanceDirect(3);
    expect(got).toEqual([]);
    const rest = dec.directTarget(1)!;
    expect(rest.length).toBe(4);
    expect(rest.buffer).toBe(target!.buffer); // the same frame buffer, further on
    payload.copy(rest, 0, 6);
    dec.advanceDirect(4);
    expect(got.map((f) => f.toString())).toEqual(['abcdefghij']);
    expect(got[0]!.buffer).toBe(target!.buffer);
    expect(dec.atBoundary).toBe(true);
    expect(() => dec.advanceDirect(1)).toThrow(/without a matching directTarget/);
  });

  it('starts a direct read at a payload that begins on a chunk boundary', () => {
    const got: Uint8Array[] = [];
    const dec = new FrameDecoder((f) => got.push(f));
    dec.push(hex('00000003'));
    const target = dec.directTarget(1)!;
    target.set([1, 2, 3]);
    dec.advanceDirect(3);
    dec.push(hex('00000001 04'));
    expect(got.map((f) => Buffer.from(f).toString('hex'))).toEqual(['010203', '04']);
  });

  it('delivers zero-length frames, each distinct, and they are not EOF', () => {
    const { dec, frames } = decoder();
    dec.push(hex('00000000 00000000'));
    dec.push(hex('0000'));
    dec.push(hex('0000'));
    expect(frames).toEqual(['', '', '']);
    expect(() => dec.end()).not.toThrow();
  });

  it('accepts the 8-byte form for small lengths too, including zero', () => {
    const { dec, frames } = decoder();
    dec.push(hex('ffffffff 0000000000000000 ffffffff 0000000000000001 2a'));
    expect(frames).toEqual(['', '2a']);
  });

  it.each([
    ['fffffffe', -2],
    ['80000000', -(2 ** 31)],
    ['ff000000', -(2 ** 24)],
  ])('rejects the negative length %s (CPython reads it as an empty message)', (header, n) => {
    const { dec, frames } = decoder();
    expect(() => dec.push(hex(header))).toThrow(ProtocolError);
    expect(() => decoder().dec.push(hex(header))).toThrow(new RegExp(`invalid frame length ${n}`));
    expect(frames).toEqual([]);
  });

  it('rejects a negative length arriving byte by byte', () => {
    const { dec } = decoder();
    dec.push(hex('ff'));
    dec.push(hex('ff'));
    dec.push(hex('ff'));
    expect(() => dec.push(hex('fe'))).toThrow(ProtocolError);
  });

  it('accepts a frame of exactly maxFrameSize and refuses one byte more from the header alone', () => {
    const { dec, frames } = decoder(4);
    dec.push(hex('00000004 01020304'));
    expect(frames).toEqual(['01020304']);
    let err: unknown;
    try {
      dec.push(hex('00000005')); // the header only: no payload byte has arrived
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FrameTooLargeError);
    expect((err as FrameTooLargeError).size).toBe(5);
    expect((err as FrameTooLargeError).limit).toBe(4);
    expect((err as FrameTooLargeError).code).toBe('MPM_ERR_FRAME_TOO_LARGE');
  });

  it('refuses an oversized 4-byte length before allocating anything', () => {
    const allocUnsafe = vi.spyOn(Buffer, 'allocUnsafe');
    const alloc = vi.spyOn(Buffer, 'alloc');
    const { dec } = decoder(1024);
    dec.push(hex('7f')); // a partial header, so the slow (byte-gathering) path runs
    expect(() => dec.push(hex('ffffff'))).toThrow(FrameTooLargeError);
    const sizes = [...allocUnsafe.mock.calls, ...alloc.mock.calls].map((c) => c[0] as number);
    expect(sizes.filter((n) => n > 1024)).toEqual([]);
  });

  it('refuses an 8-byte length of 2^40 with the default limit, before allocating anything', () => {
    const allocUnsafe = vi.spyOn(Buffer, 'allocUnsafe');
    const alloc = vi.spyOn(Buffer, 'alloc');
    const { dec } = decoder();
    let err: unknown;
    try {
      dec.push(hex('ffffffff 0000010000000000'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FrameTooLargeError);
    expect((err as FrameTooLargeError).size).toBe(2 ** 40);
    expect((err as FrameTooLargeError).limit).toBe(DEFAULT_LIMITS.maxFrameSize);
    expect((err as Error).message).toMatch(/exceeds the limit/);
    const sizes = [...allocUnsafe.mock.calls, ...alloc.mock.calls].map((c) => c[0] as number);
    expect(sizes.filter((n) => n > 1024)).toEqual([]);
  });

  it('refuses an 8-byte length beyond 2^53 without losing it to rounding below the limit', () => {
    const { dec } = decoder();
    expect(() => dec.push(hex('ffffffff ffffffffffffffff'))).toThrow(FrameTooLargeError);
  });

  it('applies a changed maxFrameSize from the next header on', () => {
    const { dec, frames } = decoder(2);
    dec.push(hex('00000002 0102'));
    dec.maxFrameSize = 256;
    dec.push(hex('00000003 010203'));
    expect(frames).toEqual(['0102', '010203']);
    dec.maxFrameSize = 1;
    expect(() => dec.push(hex('00000002'))).toThrow(FrameTooLargeError);
  });

  describe('EOF', () => {
    it('is a clean close between frames (and before any frame)', () => {
      const { dec } = decoder();
      expect(() => dec.end()).not.toThrow();
      dec.push(hex('00000001 61'));
      expect(dec.atBoundary).toBe(true);
      expect(() => dec.end()).not.toThrow();
    });

    it.each([
      ['inside the 4-byte header', '0000', 2, 4],
      ['right after the header', '00000005', 0, 5],
      ['inside the payload', '00000005 616263', 3, 5],
      ['right after the -1 mark', 'ffffffff', 0, 8],
      ['inside the 8-byte length', 'ffffffff 000000', 3, 8],
      ['inside a payload announced by the 8-byte form', 'ffffffff 0000000000000004 61', 1, 4],
    ])('is an error %s', (_, bytes, got, expected) => {
      const { dec, frames } = decoder();
      dec.push(hex(bytes));
      expect(dec.atBoundary).toBe(false);
      let err: unknown;
      try {
        dec.end();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TruncatedFrameError);
      expect((err as Error).message).toContain('got end of file during message');
      expect((err as Error).message).toContain(`${got} of ${expected} bytes`);
      expect(frames).toEqual([]);
    });

    it('is an error after whole frames when a partial one follows', () => {
      const { dec, frames } = decoder();
      dec.push(hex('00000001 61 00000002 62'));
      expect(frames).toEqual(['61']);
      expect(() => dec.end()).toThrow(TruncatedFrameError);
    });
  });
});
