/**
 * CPython's message framing on byte streams (`multiprocessing/connection.py`, `Connection._send_bytes`
 * and `_recv_bytes`):
 *
 *   #  bytes              meaning
 *   1  4, big-endian i32  payload length n, when 0 <= n <= 0x7fffffff
 *   1' ff ff ff ff        (-1) the length does not fit in 31 bits, and then:
 *   2' 8, big-endian u64  payload length n
 *   3  n                  payload; n = 0 is a legal, empty message (distinct from EOF)
 *
 * EOF before the first header byte is a clean close; EOF anywhere later is an error. Other negative
 * 4-byte lengths are rejected (CPython quietly reads them as empty messages). The size limit is checked
 * from the header, before any allocation.
 */
import { allocUnsafe, asBytes, copyBytes } from '../bytes.js';
import { FrameTooLargeError, ProtocolError, TruncatedFrameError } from '../errors.js';
import { DEFAULT_LIMITS } from '../limits.js';

/** The largest length the 4-byte header carries (CPython keeps it for 3.7-and-older peers). */
export const MAX_SHORT_LENGTH = 0x7fffffff;
/** The 4-byte header value announcing an 8-byte length. */
export const LONG_LENGTH_MARK = -1;
/** Header and payload go out in one write up to this size, as CPython does (bpo-20540). */
export const COALESCE_LIMIT = 16384;

/** Bytes a header for an n-byte payload takes: 4, or 12 past 31 bits. */
export function headerLength(n: number): 4 | 12 {
  return n <= MAX_SHORT_LENGTH ? 4 : 12;
}

/**
 * Writes the header for an n-byte payload into `target` at `offset` (rows 1, 1' and 2' above) and
 * returns its length. Every writer of frames goes through here.
 */
export function writeFrameHeader(target: Uint8Array, offset: number, n: number): number {
  if (n <= MAX_SHORT_LENGTH) {
    writeInt32(target, offset, n);
    return 4;
  }
  writeInt32(target, offset, LONG_LENGTH_MARK);
  new DataView(target.buffer, target.byteOffset, target.byteLength).setBigUint64(offset + 4, BigInt(n));
  return 12;
}

function writeInt32(target: Uint8Array, at: number, n: number): void {
  target[at] = n >>> 24;
  target[at + 1] = n >>> 16;
  target[at + 2] = n >>> 8;
  target[at + 3] = n;
}

/** The signed big-endian 32-bit integer at `at`. */
function readInt32(bytes: Uint8Array, at: number): number {
  return ((bytes[at] as number) << 24) | ((bytes[at + 1] as number) << 16) | ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number);
}

/** The header for an n-byte payload, as a buffer of its own (a `Buffer` in Node). */
export function frameHeader(n: number): Buffer {
  const h = allocUnsafe(headerLength(n));
  writeFrameHeader(h, 0, n);
  return h as Buffer;
}

/**
 * Encodes one frame as the buffers to write: one buffer (header + payload) for small payloads, so a
 * frame is one write, or `[header, payload]` (written together with writev) for large ones.
 */
export function encodeFrame(payload: Uint8Array): Buffer[] {
  const n = payload.length;
  if (n <= COALESCE_LIMIT) {
    const out = allocUnsafe(4 + n) as Buffer;
    out.set(payload, writeFrameHeader(out, 0, n));
    return [out];
  }
  return [frameHeader(n), asBytes(payload) as Buffer];
}

const State = {
  Header: 0,
  LongHeader: 1,
  Payload: 2,
} as const;
type State = (typeof State)[keyof typeof State];

/**
 * Splits a byte stream into frames. Feed it chunks with `push`; it calls `onFrame` with each whole
 * payload. A payload that lies inside one chunk is passed as a view of that chunk (no copy), unless the
 * chunks are one reused read buffer (`reusedChunks`): then such a payload is copied out.
 *
 * A reader can also read a large payload's remaining bytes straight into the buffer the frame will be:
 * `directTarget` hands out that buffer's missing part, and `advanceDirect` counts what was read into it.
 */
export class FrameDecoder {
  /** Frames larger than this are refused from their header. Can change between frames (the handshake lowers it). */
  maxFrameSize: number;
  readonly #onFrame: (frame: Uint8Array) => void;
  #state: State = State.Header;
  /** Bytes of a header or long header gathered so far. */
  readonly #header = new Uint8Array(8);
  #headerHave = 0;
  #payload: Uint8Array | null = null;
  #payloadHave = 0;
  #expected = 0;

  readonly #reusedChunks: boolean;

  constructor(onFrame: (frame: Uint8Array) => void, maxFrameSize = DEFAULT_LIMITS.maxFrameSize, reusedChunks = false) {
    this.#onFrame = onFrame;
    this.maxFrameSize = maxFrameSize;
    this.#reusedChunks = reusedChunks;
  }

  /**
   * The missing part of the payload being gathered, for a read to land in without a copy, when at least
   * `min` bytes are missing; otherwise null. The next bytes of the stream must go there or to `push`.
   */
  directTarget(min: number): Buffer | null {
    if (this.#state !== State.Payload || this.#expected - this.#payloadHave < min) return null;
    if (this.#payload === null) {
      this.#payload = allocUnsafe(this.#expected);
      this.#payloadHave = 0;
    }
    // Stream transports (Node) use this, where allocUnsafe gives Buffers.
    return this.#payload.subarray(this.#payloadHave) as Buffer;
  }

  /** Counts `n` bytes read into the buffer `directTarget` handed out. */
  advanceDirect(n: number): void {
    const payload = this.#payload;
    if (payload === null || this.#payloadHave + n > this.#expected) throw new ProtocolError('advanceDirect without a matching directTarget');
    this.#payloadHave += n;
    if (this.#payloadHave === this.#expected) {
      this.#payload = null;
      this.#state = State.Header;
      this.#onFrame(payload);
    }
  }

  /** A payload lying inside a chunk: the view itself, or a copy when chunks are reused. */
  #inChunk(chunk: Uint8Array, start: number, end: number): Uint8Array {
    const view = chunk.subarray(start, end);
    return this.#reusedChunks ? copyBytes(view) : view;
  }

  /** True between frames: EOF now is a clean close. */
  get atBoundary(): boolean {
    return this.#state === State.Header && this.#headerHave === 0;
  }

  /** Throws the error EOF means now, or does nothing at a frame boundary. */
  end(): void {
    if (this.atBoundary) return;
    if (this.#state === State.Payload) throw new TruncatedFrameError(this.#payloadHave, this.#expected);
    throw new TruncatedFrameError(this.#headerHave, this.#state === State.Header ? 4 : 8);
  }

  /** Consumes a chunk. Throws `FrameTooLargeError` or `ProtocolError`; the stream is then unusable. */
  push(chunk: Uint8Array): void {
    let pos = 0;
    const len = chunk.length;
    while (pos < len) {
      switch (this.#state) {
        case State.Header: {
          // Fast path: a whole header, and often the whole payload, in this chunk.
          if (this.#headerHave === 0 && len - pos >= 4) {
            const n = readInt32(chunk, pos);
            pos += 4;
            if (n === LONG_LENGTH_MARK) {
              this.#state = State.LongHeader;
              break;
            }
            this.#begin(n);
            if ((this.#state as State) === State.Payload && len - pos >= this.#expected) {
              const end = pos + this.#expected;
              this.#state = State.Header;
              this.#onFrame(this.#inChunk(chunk, pos, end));
              pos = end;
            }
            break;
          }
          const take = Math.min(4 - this.#headerHave, len - pos);
          this.#header.set(chunk.subarray(pos, pos + take), this.#headerHave);
          this.#headerHave += take;
          pos += take;
          if (this.#headerHave === 4) {
            const n = readInt32(this.#header, 0);
            this.#headerHave = 0;
            if (n === LONG_LENGTH_MARK) this.#state = State.LongHeader;
            else this.#begin(n);
          }
          break;
        }
        case State.LongHeader: {
          const take = Math.min(8 - this.#headerHave, len - pos);
          this.#header.set(chunk.subarray(pos, pos + take), this.#headerHave);
          this.#headerHave += take;
          pos += take;
          if (this.#headerHave === 8) {
            const n = new DataView(this.#header.buffer).getBigUint64(0);
            this.#headerHave = 0;
            if (n > BigInt(this.maxFrameSize)) throw new FrameTooLargeError(Number(n), this.maxFrameSize);
            this.#begin(Number(n));
          }
          break;
        }
        case State.Payload: {
          const payload = this.#payload;
          if (payload === null) {
            // The payload starts at a chunk boundary: take it as a view if the chunk holds it all.
            if (len - pos >= this.#expected) {
              const end = pos + this.#expected;
              this.#state = State.Header;
              this.#onFrame(this.#inChunk(chunk, pos, end));
              pos = end;
              break;
            }
            this.#payload = allocUnsafe(this.#expected);
            this.#payloadHave = 0;
            break;
          }
          const take = Math.min(this.#expected - this.#payloadHave, len - pos);
          payload.set(chunk.subarray(pos, pos + take), this.#payloadHave);
          this.#payloadHave += take;
          pos += take;
          if (this.#payloadHave === this.#expected) {
            this.#payload = null;
            this.#state = State.Header;
            this.#onFrame(payload);
          }
          break;
        }
        default:
          this.#state satisfies never;
      }
    }
  }

  #begin(n: number): void {
    if (n < 0) throw new ProtocolError(`invalid frame length ${n}: a frame header holds a length from 0 to ${MAX_SHORT_LENGTH}, or -1`);
    if (n > this.maxFrameSize) throw new FrameTooLargeError(n, this.maxFrameSize);
    if (n === 0) {
      this.#state = State.Header;
      this.#onFrame(allocUnsafe(0));
      return;
    }
    this.#expected = n;
    this.#payload = null;
    this.#payloadHave = 0;
    this.#state = State.Payload;
  }
}
