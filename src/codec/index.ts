/** Codecs by name, as CPython picks its serializer by name (`serializer='pickle'`). */
import { InvalidArgumentError } from '../errors.js';
import { msgpack } from './msgpack.js';
import { pickle } from './pickle/index.js';
import type { Codec } from './types.js';

export type { Codec, DecodeContext, EncodeContext } from './types.js';
export { msgpack, BLOB_MIN, EXT_BLOB } from './msgpack.js';
export { pickle, isPickleFrame } from './pickle/index.js';

const registry = new Map<string, Codec>([
  ['msgpack', msgpack],
  ['pickle', pickle],
]);

export function registerCodec(codec: Codec): void {
  registry.set(codec.name, codec);
}

export function getCodec(nameOrCodec: string | Codec): Codec {
  if (typeof nameOrCodec !== 'string') return nameOrCodec;
  const codec = registry.get(nameOrCodec);
  if (!codec) throw new InvalidArgumentError(`unknown serializer '${nameOrCodec}': use one of ${[...registry.keys()].join(', ')}`);
  return codec;
}
