/**
 * The key schedule of the encrypted channel, the same whichever library computes it (./crypto.ts). It
 * follows TLS 1.3's PSK + (EC)DHE schedule (RFC 8446 §7.1) with HKDF-SHA-512 (RFC 5869): the authkey
 * and the X25519 secret both go into the keys, and so does every byte exchanged before them.
 *
 *   lp(x)  = u32be(len x) ‖ x
 *   T0     = lp(F1) ‖ lp(F2) ‖ lp(F4) ‖ lp(F5)        the CPython handshake's challenges and answers, as
 *                                                       sent (F3 and F6 are the constant '#WELCOME#')
 *   es     = HKDF-Extract(salt = 64 zero bytes, authkey)
 *   mac1   = HMAC-SHA-512(es, "mpmanager kx1" ‖ T0 ‖ lp(B1))[0..32]             B1: K1's body
 *   mac2   = HMAC-SHA-512(es, "mpmanager kx2" ‖ T0 ‖ lp(K1) ‖ lp(B2))[0..32]    B2: K2's body
 *   th     = SHA-512("mpmanager enc v1" ‖ T0 ‖ lp(K1) ‖ lp(K2))                K1, K2: whole frames
 *   dh     = X25519(own ephemeral, peer's ephemeral)   refused when all zero
 *   hs     = HKDF-Extract(salt = es, dh)
 *   k_c2s ‖ k_s2c = HKDF-Expand(hs, "mpmanager enc v1 keys" ‖ th, 64)
 *   key update: k' = HKDF-Expand(k, "mpmanager key update", 32)
 *
 * The MACs make the negotiation itself tamper-proof when it ends in plaintext (nothing else would bind
 * it); the keys bind it when it ends encrypted. Neither can be computed without the authkey, so a relay
 * that forwards the CPython handshake verbatim still cannot read, forge or downgrade what follows.
 */
import type { ChannelCrypto } from './crypto.js';

const encoder = new TextEncoder();
const LABEL_KX1 = encoder.encode('mpmanager kx1');
const LABEL_KX2 = encoder.encode('mpmanager kx2');
const LABEL_TRANSCRIPT = encoder.encode('mpmanager enc v1');
const LABEL_KEYS = encoder.encode('mpmanager enc v1 keys');
const LABEL_KEY_UPDATE = encoder.encode('mpmanager key update');
const ZERO_SALT = new Uint8Array(64);

/** Bytes of each MAC on the wire, and of each record key. */
export const MAC_LENGTH = 32;
export const KEY_LENGTH = 32;

/** `lp(x)`: x prefixed with its length as a big-endian u32. */
export function lengthPrefixed(...items: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const x of items) n += 4 + x.length;
  const out = new Uint8Array(n);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const x of items) {
    view.setUint32(at, x.length);
    out.set(x, at + 4);
    at += 4 + x.length;
  }
  return out;
}

/** HKDF-Expand (RFC 5869 §2.3) for at most one SHA-512 block of output, which is all this schedule takes. */
function expand(crypto: ChannelCrypto, prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  return crypto.hmacSha512(prk, info, Uint8Array.of(1)).subarray(0, length);
}

/** Per-connection state of the schedule: the early secret and the handshake transcript T0. */
export class KeySchedule {
  readonly #crypto: ChannelCrypto;
  readonly #es: Uint8Array;
  readonly #t0: Uint8Array;

  /** `handshake`: F1, F2, F4 and F5 (the frames of the CPython handshake that are not '#WELCOME#'). */
  constructor(crypto: ChannelCrypto, authkey: Uint8Array, handshake: readonly Uint8Array[]) {
    this.#crypto = crypto;
    this.#es = crypto.hmacSha512(ZERO_SALT, authkey);
    this.#t0 = lengthPrefixed(...handshake);
  }

  mac1(body1: Uint8Array): Uint8Array {
    return this.#crypto.hmacSha512(this.#es, LABEL_KX1, this.#t0, lengthPrefixed(body1)).subarray(0, MAC_LENGTH);
  }

  mac2(k1: Uint8Array, body2: Uint8Array): Uint8Array {
    return this.#crypto.hmacSha512(this.#es, LABEL_KX2, this.#t0, lengthPrefixed(k1, body2)).subarray(0, MAC_LENGTH);
  }

  transcriptHash(k1: Uint8Array, k2: Uint8Array): Uint8Array {
    return this.#crypto.sha512(LABEL_TRANSCRIPT, this.#t0, lengthPrefixed(k1, k2));
  }

  /** The two record keys, from the X25519 secret and the transcript hash. */
  keys(dh: Uint8Array, th: Uint8Array): { c2s: Uint8Array; s2c: Uint8Array } {
    const hs = this.#crypto.hmacSha512(this.#es, dh);
    const okm = expand(this.#crypto, hs, concat(LABEL_KEYS, th), 2 * KEY_LENGTH);
    hs.fill(0);
    return { c2s: okm.slice(0, KEY_LENGTH), s2c: okm.slice(KEY_LENGTH) };
  }
}

/** The next key of a direction after a key update record. */
export function nextKey(crypto: ChannelCrypto, key: Uint8Array): Uint8Array {
  return expand(crypto, key, LABEL_KEY_UPDATE, KEY_LENGTH).slice();
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
