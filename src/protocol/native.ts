/**
 * The native dialect: mpmanager to mpmanager, msgpack, one connection per client per server, many calls
 * in flight. Every message is one frame holding one msgpack array (see docs/architecture.md, "Native
 * message layout", for the same table with examples).
 *
 *   #  dir   message                                            fields
 *   0  C->S  ['mpmanager', version, hello]                       first frame after the handshake;
 *                                                                hello = { name, shutdownKey? }
 *   1  S->C  ['mpmanager', version, welcome]                     welcome = { address, pid }
 *   1' S->C  ['mpmanager', version, { refused: [type, message] }] the server refuses the connection (a
 *                                                                connection limit), then closes it
 *   2  C->S  [CALL, callId, ident | null, method, args, kwds]    ident null: a server operation
 *                                                                (create, incref, get_methods, ...);
 *                                                                kwds is a map or null
 *   3  C->S  [CANCEL, callId]                                    abort that call if still running; its
 *                                                                reply is still sent (an AbortError)
 *   4  C->S  [RELEASE, ident, count]                             drop `count` references this
 *                                                                connection holds; no reply
 *   5  S->C  [RETURN, callId, value]                             references inside `value` are ext 1
 *   6  S->C  [ERROR, callId, error]                              error is ext 2 (type, message, stack)
 *
 *   7  both  blob frame: msgpack ext 32 of type 5,                 the bytes of one large binary of the next
 *              c9 <u32 n> 05 <n bytes>                       message (an ext 4 reference in it names the
 *                                                            blob by its place among those before it);
 *                                                            a message and its blobs must fit together
 *                                                            within the receiver's frame size limit
 *
 * callId is a client-chosen unsigned integer, unique among the client's calls in flight: a reply carries
 * it, so a reply can never be taken for another call's (CPython has no ids; a reply left behind by an
 * interrupted call is read by the next call, cpython-wire.md §6). A pickle frame never starts with a
 * msgpack fixarray byte (0x90-0x9f), which is how the server tells the dialects apart on the first frame.
 */

import { BLOB_MIN, EXT_BLOB } from '../codec/msgpack.js';
import type { DecodeContext, EncodeContext } from '../codec/types.js';
import { fromLatin1 } from '../bytes.js';
import { ProtocolError } from '../errors.js';
import type { Transport } from '../transport/types.js';

export const NATIVE_MAGIC = 'mpmanager';
export const NATIVE_VERSION = 1;

/** Client-to-server message kinds. */
export const ClientKind = {
  Call: 0,
  Cancel: 1,
  Release: 2,
} as const;
export type ClientKind = (typeof ClientKind)[keyof typeof ClientKind];

/** Server-to-client message kinds. */
export const ServerKind = {
  Return: 0,
  Error: 1,
} as const;
export type ServerKind = (typeof ServerKind)[keyof typeof ServerKind];

export interface Hello {
  /** The client's process/thread name, as CPython's `accept_connection(name)`. */
  name?: string;
  /** Proves the client is the process that started the server, which may shut it down. */
  shutdownKey?: string;
}

export interface Welcome {
  address: unknown;
  pid: number;
}

/** Row 1': the welcome of a connection the server refuses, naming the error class and its message. */
export interface Refusal {
  refused: [type: string, message: string];
}

export type HelloFrame = [magic: typeof NATIVE_MAGIC, version: number, hello: Hello];
export type WelcomeFrame = [magic: typeof NATIVE_MAGIC, version: number, welcome: Welcome];

export type CallMessage = [kind: typeof ClientKind.Call, callId: number, ident: string | null, method: string, args: unknown[], kwds: Record<string, unknown> | null];
export type CancelMessage = [kind: typeof ClientKind.Cancel, callId: number];
export type ReleaseMessage = [kind: typeof ClientKind.Release, ident: string, count: number];
export type ClientMessage = CallMessage | CancelMessage | ReleaseMessage;

export type ReturnMessage = [kind: typeof ServerKind.Return, callId: number, value: unknown];
export type ErrorMessage = [kind: typeof ServerKind.Error, callId: number, error: Error];
export type ServerMessage = ReturnMessage | ErrorMessage;

/**
 * The call id in the head of a call or reply message (`9x <kind> <id>`: a fixarray, a kind, then the id
 * as a positive fixint or uint 8/16/32), read without decoding the rest; -1 for anything else. Check the
 * kind (`frame[1]`) where it matters. The client drops a stale reply by it without decoding it; the
 * server answers a call whose body is refused (its decode budget) and keeps the connection.
 */
export function peekCallId(frame: Uint8Array): number {
  if (frame.length < 3 || (frame[0] as number) < 0x92 || (frame[0] as number) > 0x9f || (frame[1] as number) > 0x7f) return -1;
  const b = frame[2] as number;
  if (b <= 0x7f) return b;
  const width = b === 0xcc ? 1 : b === 0xcd ? 2 : b === 0xce ? 4 : 0;
  if (width === 0 || frame.length < 3 + width) return -1;
  let id = 0;
  for (let i = 0; i < width; i++) id = id * 256 + (frame[3 + i] as number);
  return id;
}

/** True if the first frame after the handshake is a native hello (msgpack fixarray of 3, 'mpmanager'). */
export function isNativeHello(frame: Uint8Array): boolean {
  // 0x93 = fixarray(3), 0xa9 = fixstr(9) 'mpmanager'
  return frame.length > 11 && frame[0] === 0x93 && frame[1] === 0xa9 && fromLatin1(frame.subarray(2, 11)) === NATIVE_MAGIC;
}

/** Server operations a client may call with `ident` null (CPython's `Server.public`). */
export const SERVER_OPERATIONS = [
  'create',
  'incref',
  'decref',
  'get_methods',
  'dummy',
  'debug_info',
  'number_of_objects',
  'shared_objects',
  'shutdown',
  'accept_connection',
] as const;
export type ServerOperation = (typeof SERVER_OPERATIONS)[number];

/** Bytes before a blob's own bytes in its frame: ext 32 marker, u32 length, type. */
const BLOB_HEAD = 6;

/** The blob a frame carries (a view of the frame, no copy), or null if the frame is a message. */
function blobOf(frame: Uint8Array): Uint8Array | null {
  if (frame.length < BLOB_HEAD || frame[0] !== 0xc9 || frame[5] !== EXT_BLOB) return null;
  if (new DataView(frame.buffer, frame.byteOffset, BLOB_HEAD).getUint32(1) !== frame.length - BLOB_HEAD) throw new ProtocolError('a blob frame whose length disagrees with its header');
  return frame.subarray(BLOB_HEAD);
}

/**
 * Sends a message encoded with `context`: first the blobs the encoder set aside (each a frame of its own,
 * written from the caller's memory), then the message. Empties the blob list. Returns `send`'s verdict.
 */
export function sendWithBlobs(transport: Transport, frame: Uint8Array, context: EncodeContext): boolean {
  const blobs = context.blobs;
  if (blobs !== undefined && blobs.length > 0) {
    for (const blob of blobs) {
      const head = new Uint8Array(BLOB_HEAD);
      head[0] = 0xc9;
      new DataView(head.buffer).setUint32(1, blob.byteLength);
      head[5] = EXT_BLOB;
      transport.sendParts([head, blob]);
    }
    blobs.length = 0;
  }
  return transport.send(frame);
}

/**
 * Collects the blobs that precede a message, bounded together with it by the frame size limit. A blob
 * is never smaller than `BLOB_MIN` (a sender writes smaller binaries inline), so the limit also bounds
 * how many can wait.
 */
export class BlobInbox {
  #blobs: Uint8Array[] = [];
  #bytes = 0;

  /**
   * Takes one received frame. A blob frame is kept, and the answer is null; a message frame gets the
   * context to decode it with (`context` itself, or a copy carrying the blobs that came before it).
   * Throws `ProtocolError` for a blob under `BLOB_MIN`, or when blobs (with their message) exceed `limit`.
   */
  receive(frame: Uint8Array, context: DecodeContext, limit: number): DecodeContext | null {
    const blob = blobOf(frame);
    if (blob !== null) {
      if (blob.length < BLOB_MIN) throw new ProtocolError(`a blob frame of ${blob.length} bytes: blobs are ${BLOB_MIN} bytes or more`);
      this.#bytes += blob.length;
      if (this.#bytes > limit) throw new ProtocolError(`blobs of ${this.#bytes} bytes before one message: more than the frame size limit (${limit} bytes)`);
      this.#blobs.push(blob);
      return null;
    }
    if (this.#blobs.length === 0) return context;
    const blobs = this.#blobs;
    const total = this.#bytes + frame.length;
    this.#blobs = [];
    this.#bytes = 0;
    if (total > limit) throw new ProtocolError(`a message and its blobs of ${total} bytes: more than the frame size limit (${limit} bytes)`);
    return { ...context, blobs };
  }
}
