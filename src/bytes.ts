/**
 * Byte strings for the code Node and browsers share: `Uint8Array`, `TextEncoder` and `DataView` only, no
 * `Buffer` (browsers have none). Where Node has a faster or more fitting form, it is picked by a feature
 * check, never an import: `allocUnsafe` hands out `Buffer`s in Node, so frames stay the `Buffer`s Node code
 * and users there expect (Python `bytes` arrive as `Buffer`, src/codec/msgpack.ts).
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8');

interface NodeBuffer {
  allocUnsafe(n: number): Uint8Array;
  from(buffer: ArrayBufferLike, byteOffset: number, length: number): Uint8Array;
}

/** Node's `Buffer` when there is one (never imported: browsers have none). */
export const NodeBuffer: (NodeBuffer & (new (...args: never[]) => Uint8Array)) | undefined = (globalThis as { Buffer?: NodeBuffer & (new (...args: never[]) => Uint8Array) }).Buffer;

/** A byte array of `n` bytes whose contents are not cleared (Node's `Buffer.allocUnsafe`; zeroed elsewhere). */
export const allocUnsafe: (n: number) => Uint8Array = NodeBuffer === undefined ? (n) => new Uint8Array(n) : (n) => NodeBuffer.allocUnsafe(n);

/** `bytes` as the array type this runtime uses for Python bytes (a `Buffer` view in Node, no copy). */
export function asBytes(bytes: Uint8Array): Uint8Array {
  if (NodeBuffer === undefined || bytes instanceof NodeBuffer) return bytes;
  const view: Uint8Array = bytes;
  return NodeBuffer.from(view.buffer, view.byteOffset, view.byteLength);
}

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

export function fromUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** Each character's low byte (ASCII and Latin-1 text: digest names, magic strings). */
export function latin1(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}

export function fromLatin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i] as number);
  return s;
}

/** `parts` one after another in one new array (of `total` bytes, when the caller knows it). */
export function concatBytes(parts: readonly Uint8Array[], total?: number): Uint8Array {
  let n = total;
  if (n === undefined) {
    n = 0;
    for (const p of parts) n += p.length;
  }
  const out = allocUnsafe(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Whether two byte strings are equal (not constant-time: for public bytes such as magic strings). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether `bytes` begins with `prefix`. */
export function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  return bytes.length >= prefix.length && sameBytes(bytes.subarray(0, prefix.length), prefix);
}

/** A view of `bytes` that owns a copy (for keeping a frame that is a view of a reused chunk). */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  const out = allocUnsafe(bytes.length);
  out.set(bytes);
  return out;
}
