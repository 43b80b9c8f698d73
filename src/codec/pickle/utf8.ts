/**
 * UTF-8 as pickle uses it: CPython encodes and decodes `str` with the `surrogatepass` error handler
 * (`Lib/pickle.py`: `str(data, 'utf-8', 'surrogatepass')`), so a lone surrogate such as '\ud800' travels as
 * the three bytes ED A0 80. Node's own UTF-8 codec would turn those into U+FFFD, so the rare strings that
 * need it take the slower paths below.
 */
import { Buffer } from 'node:buffer';

/** Longest string V8 can hold (`v8::String::kMaxLength` on 64-bit builds). */
export const MAX_STRING_LENGTH = 0x1fffffe8;

/** Strings up to this many bytes are decoded in JS; longer ones through Buffer's native decoder. */
const SHORT = 32;

/**
 * Decodes `buf[start, end)` as UTF-8 with surrogates allowed. Returns null when the bytes are not valid
 * UTF-8 even with surrogatepass, so the caller can say where.
 */
export function decodeUtf8(buf: Buffer, start: number, end: number): string | null {
  if (end - start <= SHORT) {
    let s = '';
    for (let i = start; i < end; i++) {
      const b = buf[i] as number;
      if (b >= 0x80) return decodeSlow(buf, start, end);
      s += String.fromCharCode(b);
    }
    return s;
  }
  const s = buf.toString('utf8', start, end);
  // Node replaces invalid sequences (and encoded surrogates) with U+FFFD; a real U+FFFD is rare enough
  // that re-decoding when one appears costs nothing on average.
  return s.indexOf('\ufffd') === -1 ? s : decodeSlow(buf, start, end);
}

/** Strict UTF-8 decoder that also accepts encoded surrogates (ED A0..BF xx), as `surrogatepass` does. */
function decodeSlow(buf: Buffer, start: number, end: number): string | null {
  const units: number[] = [];
  let out = '';
  let i = start;
  while (i < end) {
    const b0 = buf[i] as number;
    let cp: number;
    if (b0 < 0x80) {
      cp = b0;
      i += 1;
    } else if (b0 >= 0xc2 && b0 <= 0xdf) {
      if (i + 1 >= end) return null;
      const b1 = buf[i + 1] as number;
      if ((b1 & 0xc0) !== 0x80) return null;
      cp = ((b0 & 0x1f) << 6) | (b1 & 0x3f);
      i += 2;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      if (i + 2 >= end) return null;
      const b1 = buf[i + 1] as number;
      const b2 = buf[i + 2] as number;
      if ((b1 & 0xc0) !== 0x80 || (b2 & 0xc0) !== 0x80) return null;
      cp = ((b0 & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f);
      if (cp < 0x800) return null; // overlong
      i += 3;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      if (i + 3 >= end) return null;
      const b1 = buf[i + 1] as number;
      const b2 = buf[i + 2] as number;
      const b3 = buf[i + 3] as number;
      if ((b1 & 0xc0) !== 0x80 || (b2 & 0xc0) !== 0x80 || (b3 & 0xc0) !== 0x80) return null;
      cp = ((b0 & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((b2 & 0x3f) << 6) | (b3 & 0x3f);
      if (cp < 0x10000 || cp > 0x10ffff) return null;
      i += 4;
    } else {
      return null;
    }
    if (cp > 0xffff) {
      const v = cp - 0x10000;
      units.push(0xd800 | (v >> 10), 0xdc00 | (v & 0x3ff));
    } else {
      units.push(cp);
    }
    if (units.length >= 4096) {
      out += String.fromCharCode(...units);
      units.length = 0;
    }
  }
  return out + String.fromCharCode(...units);
}

interface WellFormedCheck {
  isWellFormed?(this: string): boolean;
}
const nativeIsWellFormed = (String.prototype as WellFormedCheck).isWellFormed;

/** True when `s` has no lone surrogate (ES2024 `isWellFormed`, with a fallback for older engines). */
export function isWellFormed(s: string): boolean {
  if (nativeIsWellFormed) return nativeIsWellFormed.call(s);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      if (c > 0xdbff || i + 1 >= s.length) return false;
      const d = s.charCodeAt(i + 1);
      if (d < 0xdc00 || d > 0xdfff) return false;
      i++;
    }
  }
  return true;
}

/**
 * Writes `s` as UTF-8 with lone surrogates encoded as themselves (surrogatepass) at `buf[pos]`, which must
 * have room for `3 * s.length` bytes. Returns the number of bytes written.
 */
export function writeUtf8Surrogatepass(buf: Buffer, pos: number, s: string): number {
  const start = pos;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c < 0x80) buf[pos++] = c;
    else if (c < 0x800) {
      buf[pos++] = 0xc0 | (c >> 6);
      buf[pos++] = 0x80 | (c & 0x3f);
    } else if (c < 0x10000) {
      buf[pos++] = 0xe0 | (c >> 12);
      buf[pos++] = 0x80 | ((c >> 6) & 0x3f);
      buf[pos++] = 0x80 | (c & 0x3f);
    } else {
      buf[pos++] = 0xf0 | (c >> 18);
      buf[pos++] = 0x80 | ((c >> 12) & 0x3f);
      buf[pos++] = 0x80 | ((c >> 6) & 0x3f);
      buf[pos++] = 0x80 | (c & 0x3f);
    }
  }
  return pos - start;
}
