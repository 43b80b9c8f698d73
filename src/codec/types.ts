/** The codec interface: objects to bytes and back. Codecs are pluggable by name (`msgpack`, `pickle`). */
import type { ObjectRef } from './ref.js';

/** Hooks the receiving side supplies while a frame is decoded. */
export interface DecodeContext {
  /** Turns a decoded object reference into what the receiver wants in its place (a proxy, a handle). */
  reviveRef?(ref: ObjectRef): unknown;
  /** The blobs that arrived before this frame, in order: ext 4 references in it resolve to them (msgpack). */
  blobs?: readonly Uint8Array[] | undefined;
}

/** Hooks the sending side supplies while a value is encoded. */
export interface EncodeContext {
  /** Told of every object reference written, e.g. so the server can count it as held by the receiver. */
  onRef?(ref: ObjectRef): void;
  /**
   * When set, binaries of `BLOB_MIN` bytes or more are not copied into the frame (msgpack): each is
   * appended here and written as a reference (ext 4) to its place in this list. The caller sends them,
   * in order, as blob frames before the frame itself.
   */
  blobs?: Uint8Array[];
}

export interface Codec {
  readonly name: string;
  encode(value: unknown, context?: EncodeContext): Uint8Array;
  /** Decodes one frame. Throws `CodecError` (or a subclass) on malformed input, never anything else. */
  decode(bytes: Uint8Array, context?: DecodeContext): unknown;
}
