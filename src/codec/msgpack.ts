/**
 * The native codec: msgpack through msgpackr, records off (plain msgpack any decoder reads), `moreTypes`
 * on (Map, Set, BigInt, typed arrays and undefined round-trip), plus two extensions of our own:
 *
 *   ext 1  object reference   [typeid, address, id, exposed | null, proxytype | null]
 *   ext 2  remote error       [kind, type, message, stack, args]   kind 0 = an mpmanager error class by
 *                                                                  name (errors.ts), else RemoteError;
 *                                                                  1 = PythonError
 *   ext 3  tuple              [items...]   (a Python tuple stays a tuple when a native client passes it on)
 *   ext 4  blob reference     ext 8 of 5 bytes: kind (0 Buffer, 1 Uint8Array), u32 index in the blob list
 *   ext 5  blob               the bytes of one large binary, alone in a frame of their own
 *
 * Blobs: given a blob list (`EncodeContext.blobs`), the encoder writes a binary of `BLOB_MIN` bytes or
 * more as a reference and leaves its bytes to be sent in a frame of their own, from the caller's memory:
 * a large value is never copied into an encoding buffer. The receiver's frame becomes the value.
 *
 * msgpackr writes a Map before it consults extensions, so a Map arrives as a plain object with string keys
 * (recorded in docs/architecture.md).
 *
 * msgpackr's own Error extension (0x65) resolves wire-supplied names through a plain object, so a hostile
 * peer can make a "thrown error" that is not an Error (see reference/dependencies.md). Errors are always
 * written with ext 2 here, and a 0x65 that arrives is decoded as inert data.
 *
 * Values that cannot travel (functions, symbols, a Promise, a class instance that would arrive as `{}`:
 * the table is in sendable.ts) are refused here, at the sender, with a `CodecError` saying where they sit.
 */
import { Packr, addExtension } from 'msgpackr';
import { NodeBuffer, copyBytes } from '../bytes.js';
import { CodecError, MpmError, RemoteError, remoteError } from '../errors.js';
import { PythonError, makePythonError } from '../python-errors.js';
import { resolveLimits, type LimitOptions, type Limits } from '../limits.js';
import { checkMsgpackBudget, type DecodeBudget } from './msgpack-budget.js';
import { ObjectRef, RefHolder } from './ref.js';
import { Token } from './token.js';
import { Tuple } from './values.js';
import { Verdict, located, msgpackRefusalOf, msgpackVerdict, refuse, type Walk } from './sendable.js';
import type { Codec, DecodeContext, EncodeContext } from './types.js';

const EXT_REF = 1;
const EXT_ERROR = 2;
const EXT_TUPLE = 3;
const EXT_BLOB_REF = 4;
/** The ext type of a blob frame's single value (framing in src/protocol/native.ts). */
export const EXT_BLOB = 5;
const EXT_MSGPACKR_ERROR = 0x65;
/** msgpackr's typed-array extension, and its code for Uint8Array (moreTypes). */
const EXT_TYPED_ARRAY = 0x74;
const TYPED_UINT8 = 1;
const BLOB_KIND_BUFFER = 0;
const BLOB_KIND_UINT8 = 1;
/** msgpack's 8/16/32-bit-length codes: bin for a Buffer, ext for msgpackr's typed-array form. */
const BIN_CODES = [0xc4, 0xc5, 0xc6] as const;
const EXT_CODES = [0xc7, 0xc8, 0xc9] as const;
/** Binaries this large or larger travel as blobs when the encoder is given a blob list. */
export const BLOB_MIN = 64 * 1024;

type Allocate = (size: number) => { target: Buffer; targetView: DataView; position: number };

let activeContext: DecodeContext | undefined;
let activeEncodeContext: EncodeContext | undefined;

/**
 * Catches what msgpackr would write wrongly: a function (as `undefined`), a class instance with nothing to
 * carry (as `{}`), a Map subclass (as `{}`). msgpackr tests extension classes with `instanceof` only for
 * objects it has no fast path for (not plain objects, arrays, Maps or primitives), and this extension is
 * added first, so it is tried after every other of ours and before msgpackr's built-in ones (Date, Set,
 * RegExp, binary types), which its verdict lets through: its test runs for those leftovers alone, and
 * sendable.ts keeps its verdict per prototype. It has no `type`, so it writes no tag: a Map
 * subclass is written as the Map it is.
 */
class Unsendable {
  static [Symbol.hasInstance](v: unknown): boolean {
    return (typeof v === 'object' && v !== null) || typeof v === 'function' ? msgpackVerdict(v) !== Verdict.Write : false;
  }
}

addExtension({
  Class: Unsendable,
  write(v: object) {
    if (msgpackVerdict(v) === Verdict.AsMap) return new Map(v as Map<unknown, unknown>);
    throw refuse(v, msgpackRefusalOf(v));
  },
} as never);

const WALK: Walk = { flattensInstances: true };
/** What msgpackr throws for a symbol (it has no other refusal). */
const SYMBOL_ERROR = 'Unknown type: symbol';

/** The error to throw for a failed encode of `value`: refusals say where the refused value sits. */
function encodeError(err: unknown, value: unknown): unknown {
  return located(err, value, WALK, err instanceof Error && err.message === SYMBOL_ERROR);
}

addExtension({
  Class: RefHolder,
  type: EXT_REF,
  write(holder: RefHolder) {
    const ref = holder.toObjectRef();
    activeEncodeContext?.onRef?.(ref);
    const t = ref.token;
    return [t.typeid, t.address, t.id, ref.exposed, ref.proxytype];
  },
  read(data: unknown) {
    if (!Array.isArray(data) || data.length !== 5) throw new CodecError('malformed object reference');
    const [typeid, address, id, exposed, proxytype] = data as unknown[];
    if (typeof typeid !== 'string' || typeof id !== 'string') throw new CodecError('malformed object reference');
    if (!(typeof address === 'string' || (Array.isArray(address) && address.length === 2))) {
      throw new CodecError('malformed object reference address');
    }
    if (exposed !== null && !(Array.isArray(exposed) && exposed.every((m) => typeof m === 'string'))) {
      throw new CodecError('malformed object reference exposed list');
    }
    const ref = new ObjectRef(
      new Token(typeid, address as string, id),
      exposed as string[] | null,
      typeof proxytype === 'string' ? proxytype : null,
    );
    return activeContext?.reviveRef ? activeContext.reviveRef(ref) : ref;
  },
});

addExtension({
  Class: Error,
  type: EXT_ERROR,
  write(err: Error) {
    if (err instanceof PythonError) return [1, err.pyType, '', err.remoteStack || err.stack || '', err.args];
    if (err instanceof RemoteError) return [0, err.remoteType, err.remoteMessage, err.remoteStack, []];
    const type = err instanceof MpmError ? err.name : err.constructor?.name || 'Error';
    return [0, type, err.message, (err as MpmError).remoteStack || err.stack || '', []];
  },
  read(data: unknown) {
    if (!Array.isArray(data) || data.length !== 5) throw new CodecError('malformed remote error');
    const [kind, type, message, stack, args] = data as unknown[];
    if (typeof type !== 'string' || typeof message !== 'string' || typeof stack !== 'string' || !Array.isArray(args)) {
      throw new CodecError('malformed remote error');
    }
    return kind === 1 ? makePythonError(type, args, stack) : remoteError(type, message, stack);
  },
});

addExtension({
  Class: Tuple,
  type: EXT_TUPLE,
  write: (t: Tuple) => Array.from(t),
  read(items: unknown) {
    if (!Array.isArray(items)) throw new CodecError('malformed tuple');
    const t = new Tuple();
    for (const item of items) t.push(item);
    return t;
  },
});

// Byte arrays: a large one becomes a blob reference when blobs are being collected; any other is written
// exactly as msgpackr writes it (a Buffer as bin, a plain Uint8Array as its typed-array extension).
addExtension({
  Class: Uint8Array,
  type: EXT_BLOB_REF,
  pack(bytes: Uint8Array, allocate: Allocate) {
    // Python bytes: a Buffer in Node, any Uint8Array where there is no Buffer (a browser), as msgpackr does.
    const isBuffer = bytes.constructor === (NodeBuffer ?? Uint8Array);
    const length = bytes.byteLength;
    if (length > 0xffffffff) throw new CodecError(`a binary of ${length} bytes is more than one message can carry (4 GiB - 1)`);
    const blobs = activeEncodeContext?.blobs;
    if (blobs !== undefined && length >= BLOB_MIN) {
      const { target, targetView, position } = allocate(8);
      target[position] = 0xc7; // ext 8
      target[position + 1] = 5;
      target[position + 2] = EXT_BLOB_REF;
      target[position + 3] = isBuffer ? BLOB_KIND_BUFFER : BLOB_KIND_UINT8;
      targetView.setUint32(position + 4, blobs.length);
      blobs.push(bytes);
      return;
    }
    // bin 8/16/32 for a Buffer; ext 8/16/32 of type 0x74 holding [TYPED_UINT8, ...bytes] otherwise.
    const body = isBuffer ? length : length + 1;
    const head = body < 0x100 ? 2 : body < 0x10000 ? 3 : 5;
    const { target, targetView, position } = allocate(head + (isBuffer ? 0 : 1) + body);
    let at = position;
    const codes = isBuffer ? BIN_CODES : EXT_CODES;
    if (head === 2) {
      target[at++] = codes[0];
      target[at++] = body;
    } else if (head === 3) {
      target[at++] = codes[1];
      targetView.setUint16(at, body);
      at += 2;
    } else {
      target[at++] = codes[2];
      targetView.setUint32(at, body);
      at += 4;
    }
    if (!isBuffer) {
      target[at++] = EXT_TYPED_ARRAY;
      target[at++] = TYPED_UINT8;
    }
    target.set(bytes, at);
  },
  unpack(data: Uint8Array) {
    if (data.length !== 5) throw new CodecError('malformed blob reference');
    const kind = data[0];
    const index = ((data[1] as number) * 0x1000000) + (((data[2] as number) << 16) | ((data[3] as number) << 8) | (data[4] as number));
    const blob = activeContext?.blobs?.[index];
    if (blob === undefined) throw new CodecError(`blob reference ${index} without its blob frame before it`);
    if (kind === BLOB_KIND_BUFFER) return blob;
    if (kind === BLOB_KIND_UINT8) return new Uint8Array(blob.buffer, blob.byteOffset, blob.byteLength);
    throw new CodecError(`unknown blob kind ${String(kind)}`);
  },
} as never);

// A blob is a frame of its own; one inside a message is malformed.
addExtension({
  type: EXT_BLOB,
  unpack() {
    throw new CodecError('a blob (ext 5) inside a message: blobs travel in frames of their own');
  },
} as never);

// A peer's msgpackr Error extension decodes to plain data, never to a class it names.
addExtension({
  type: EXT_MSGPACKR_ERROR,
  unpack(buffer: Uint8Array) {
    return { unsupportedExtension: EXT_MSGPACKR_ERROR, bytes: copyBytes(buffer) };
  },
} as never);

/** The limits a msgpack decoder obeys (src/limits.ts). */
export type MsgpackLimits = DecodeBudget;

export class MsgpackCodec implements Codec {
  readonly name = 'msgpack';
  readonly limits: MsgpackLimits;

  /** `limits` override the defaults in DEFAULT_LIMITS. */
  constructor(limits: LimitOptions<keyof MsgpackLimits> = {}) {
    this.limits = resolveLimits(limits, ['decodeAllocationFactor', 'decodeAllocationFloor', 'maxDepth']);
  }
  // 'auto' (numbers where they fit, bigint past 2^53) works but is missing from msgpackr's typings.
  readonly #packr = new Packr({ useRecords: false, moreTypes: true, int64AsType: 'auto' as 'number', mapsAsObjects: true });

  /** Encodes one value. Throws `CodecError` for a value that cannot travel (sendable.ts), saying where it sits. */
  encode(value: unknown, context?: EncodeContext): Uint8Array {
    // An encode inside another (a toJSON hook, say) must not add to the outer one's blobs.
    if (!context && activeEncodeContext === undefined) {
      try {
        return this.#packr.pack(value);
      } catch (err) {
        throw encodeError(err, value);
      }
    }
    const previous = activeEncodeContext;
    activeEncodeContext = context;
    try {
      return this.#packr.pack(value);
    } catch (err) {
      throw encodeError(err, value);
    } finally {
      activeEncodeContext = previous;
    }
  }

  decode(bytes: Uint8Array, context?: DecodeContext): unknown {
    // The budget first: refused frames are never handed to msgpackr (msgpack-budget.ts says why).
    checkMsgpackBudget(bytes, this.limits);
    const previous = activeContext;
    activeContext = context;
    try {
      return this.#packr.unpack(bytes);
    } catch (err) {
      if (err instanceof CodecError) throw err;
      throw new CodecError(`malformed msgpack frame: ${(err as Error).message}`, { cause: err });
    } finally {
      activeContext = previous;
    }
  }
}

export const msgpack: Codec = new MsgpackCodec();
