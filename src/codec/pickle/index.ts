/**
 * The classic dialect's codec: pickle, safe. It reads what CPython's `multiprocessing` sends (protocols
 * 0-5) and writes protocol 4, but it never runs code: globals resolve only through the allow-list in
 * globals.ts, and hostile input is bounded (limits.ts).
 *
 * Value mapping (Python → JS; JS → Python is the reverse unless noted):
 *   None → null (undefined is also written as None); bool → boolean; int → number, or bigint beyond
 *   ±(2^53 - 1) (a JS number that is a safe integer is written as int, any other number as float, and
 *   -0 as float); float → number; str → string; bytes → Buffer; bytearray → Uint8Array that is not a
 *   Buffer; tuple → Tuple; list → Array; dict → plain object when every key is a str, else Map;
 *   set and frozenset → Set (written as set); Token → Token; a proxy → ObjectRef (then
 *   `context.reviveRef`; any RefHolder is written as a proxy); exception → PythonError (any other
 *   Error is written as builtins.Exception(message)); slice → Slice; Namespace → plain object;
 *   Value → { typecode, value }; array.array → number[]; OrderedDict → as dict; a class sent as a
 *   value (`str`, `ctypes.c_char_p`, ... : a Value's typecode) → PythonClass. An object with a
 *   `[PICKLE_REDUCE]()` method is written as the Python object it describes (encode.ts).
 */
import type { Codec, DecodeContext } from '../types.js';
import { decodePickle } from './decode.js';
import { encodePickle } from './encode.js';
import { resolveLimits, type PickleLimits } from './limits.js';
import { HIGHEST_PROTOCOL, Op } from './opcodes.js';
import { prescanPickle } from './prescan.js';

export { DEFAULT_PICKLE_LIMITS, type PickleLimits } from './limits.js';
export { PICKLE_REDUCE, hasPickleReduce, type PickleReduce } from './encode.js';
export { PythonClass } from './python-class.js';
export { HIGHEST_PROTOCOL, Op, WRITE_PROTOCOL } from './opcodes.js';

export class PickleCodec implements Codec {
  readonly name = 'pickle';
  readonly limits: PickleLimits;

  /** `limits` override DEFAULT_PICKLE_LIMITS (maxDepth 512, maxMemo and maxItems 10 000 000). */
  constructor(limits: Partial<PickleLimits> = {}) {
    this.limits = resolveLimits(limits);
  }

  /** Writes `value` as a protocol 4 pickle. Throws `CodecError` for values Python cannot receive. */
  encode(value: unknown): Uint8Array {
    return encodePickle(value, this.limits);
  }

  /** Reads one pickle. Throws `CodecError` on malformed input and `ForbiddenGlobalError` on a global that is not allowed. */
  decode(bytes: Uint8Array, context?: DecodeContext): unknown {
    // Refuses a pickle over the decode budget in one linear pass, before anything is built (prescan.ts).
    prescanPickle(bytes, this.limits);
    return decodePickle(bytes, context, this.limits);
  }
}

/** The codec with default limits. */
export const pickle = new PickleCodec();

/**
 * Whether a frame looks like a pickle of protocol 2 or later: PROTO (0x80), a protocol byte 2..5, and
 * STOP ('.') as its last byte. Cheap sniffing for a peer whose dialect is not yet known.
 */
export function isPickleFrame(bytes: Uint8Array): boolean {
  const n = bytes.length;
  if (n < 3 || bytes[0] !== Op.PROTO || bytes[n - 1] !== Op.STOP) return false;
  const proto = bytes[1] as number;
  return proto >= 2 && proto <= HIGHEST_PROTOCOL;
}
