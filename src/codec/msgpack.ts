/**
 * The native codec: msgpack through msgpackr, records off (plain msgpack any decoder reads), `moreTypes`
 * on (Map, Set, BigInt, typed arrays and undefined round-trip), plus two extensions of our own:
 *
 *   ext 1  object reference   [typeid, address, id, exposed | null, proxytype | null]
 *   ext 2  remote error       [kind, type, message, stack, args]   kind 0 = RemoteError, 1 = PythonError
 *   ext 3  tuple              [items...]   (a Python tuple stays a tuple when a native client passes it on)
 *
 * msgpackr writes a Map before it consults extensions, so a Map arrives as a plain object with string keys
 * (recorded in docs/architecture.md).
 *
 * msgpackr's own Error extension (0x65) resolves wire-supplied names through a plain object, so a hostile
 * peer can make a "thrown error" that is not an Error (see reference/dependencies.md). Errors are always
 * written with ext 2 here, and a 0x65 that arrives is decoded as inert data.
 */
import { Packr, addExtension } from 'msgpackr';
import { CodecError, MpmError, PythonError, RemoteError, makePythonError } from '../errors.js';
import { ObjectRef, RefHolder } from '../protocol/ref.js';
import { Token } from '../protocol/token.js';
import { Tuple } from './values.js';
import type { Codec, DecodeContext, EncodeContext } from './types.js';

const EXT_REF = 1;
const EXT_ERROR = 2;
const EXT_TUPLE = 3;
const EXT_MSGPACKR_ERROR = 0x65;

let activeContext: DecodeContext | undefined;
let activeEncodeContext: EncodeContext | undefined;

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
    return [0, type, err.message, err.stack ?? '', []];
  },
  read(data: unknown) {
    if (!Array.isArray(data) || data.length !== 5) throw new CodecError('malformed remote error');
    const [kind, type, message, stack, args] = data as unknown[];
    if (typeof type !== 'string' || typeof message !== 'string' || typeof stack !== 'string' || !Array.isArray(args)) {
      throw new CodecError('malformed remote error');
    }
    return kind === 1 ? makePythonError(type, args, stack) : new RemoteError(type, message, stack);
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

// A peer's msgpackr Error extension decodes to plain data, never to a class it names.
addExtension({
  type: EXT_MSGPACKR_ERROR,
  unpack(buffer: Uint8Array) {
    return { unsupportedExtension: EXT_MSGPACKR_ERROR, bytes: Buffer.from(buffer) };
  },
} as never);

export class MsgpackCodec implements Codec {
  readonly name = 'msgpack';
  // 'auto' (numbers where they fit, bigint past 2^53) works but is missing from msgpackr's typings.
  readonly #packr = new Packr({ useRecords: false, moreTypes: true, int64AsType: 'auto' as 'number', mapsAsObjects: true });

  encode(value: unknown, context?: EncodeContext): Uint8Array {
    if (!context) return this.#packr.pack(value);
    const previous = activeEncodeContext;
    activeEncodeContext = context;
    try {
      return this.#packr.pack(value);
    } finally {
      activeEncodeContext = previous;
    }
  }

  decode(bytes: Uint8Array, context?: DecodeContext): unknown {
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
