/**
 * The primitives the key exchange needs (X25519, SHA-512, HMAC-SHA-512), from two libraries:
 * node:crypto (./node-crypto.ts), fast and used by Node peers, and tweetnacl (here), which runs everywhere
 * (a browser without WebCrypto too). The key schedule (./key-schedule.ts) takes either and must come out
 * the same with both; the tests check both against fixed vectors. tweetnacl has SHA-512 but no HMAC, so
 * HMAC is built here from its hash (RFC 2104).
 *
 * A `CryptoProvider` is everything one runtime computes for a connection: those primitives, random
 * bytes, the HMAC of CPython's handshake, and the record ciphers. Node's is ./node-crypto.ts, browsers'
 * ./web-crypto.ts; the code above them (handshake, key exchange, records) is the same for both.
 */
import nacl from 'tweetnacl';
import type { RecordCipher, SuiteId, SuiteName, Direction } from './suites.js';

/** X25519 keys and SHA-512 hashes are this long. */
export const X25519_KEY_LENGTH = 32;
const SHA512_BLOCK = 128;

/** An ephemeral X25519 key pair: the public half goes on the wire; the private half never leaves. */
export interface KeyPair {
  readonly publicKey: Uint8Array;
  /** The X25519 shared secret with the peer's public key (32 bytes; all zero for a degenerate key). */
  agree(peerPublic: Uint8Array): Uint8Array;
}

export interface ChannelCrypto {
  /** `node` or `nacl`: which library computes. */
  readonly name: string;
  /** A fresh ephemeral key pair; with `secret` (tests only), the pair of that private key. */
  keyPair(secret?: Uint8Array): KeyPair;
  sha512(...parts: Uint8Array[]): Uint8Array;
  hmacSha512(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array;
}

/** What one runtime computes for a connection's security (see the header). */
export interface CryptoProvider {
  /** `node`, `webcrypto` or `nacl`: where the work is done. */
  readonly name: string;
  /** The key exchange's and key schedule's primitives. */
  readonly channel: ChannelCrypto;
  /** `n` bytes from the runtime's secure random generator. */
  random(n: number): Uint8Array;
  /**
   * The digests CPython's handshake may name (Python's names: `sha256`, `md5`, ...) that this provider
   * computes. A challenge naming another fails with `AuthenticationError`.
   */
  readonly digests: readonly string[];
  /** HMAC of `message` under `key` with a digest from `digests` (a promise where the runtime's is async). */
  hmac(digest: string, key: Uint8Array, message: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /** The record suites it runs, in its preference order. */
  readonly suites: readonly SuiteName[];
  /** A cipher for one direction's records of `suite` (one of `suites`). */
  cipher(suite: Exclude<SuiteId, 0>, key: Uint8Array, dir: Direction): RecordCipher;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const naclCrypto: ChannelCrypto = {
  name: 'nacl',
  keyPair(secret) {
    const own = secret ?? nacl.randomBytes(X25519_KEY_LENGTH);
    return {
      publicKey: nacl.scalarMult.base(own),
      agree: (peerPublic) => nacl.scalarMult(own, peerPublic),
    };
  },
  sha512: (...parts) => nacl.hash(concat(parts)),
  hmacSha512(key, ...parts) {
    // RFC 2104: H((K ^ opad) || H((K ^ ipad) || m)), with K hashed first when longer than a block.
    const k = new Uint8Array(SHA512_BLOCK);
    k.set(key.length > SHA512_BLOCK ? nacl.hash(key) : key);
    const inner = new Uint8Array(SHA512_BLOCK);
    const outer = new Uint8Array(SHA512_BLOCK);
    for (let i = 0; i < SHA512_BLOCK; i++) {
      inner[i] = (k[i] as number) ^ 0x36;
      outer[i] = (k[i] as number) ^ 0x5c;
    }
    return nacl.hash(concat([outer, nacl.hash(concat([inner, ...parts]))]));
  },
};

/** Constant-time equality of two byte strings (false for different lengths). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

/** True for a shared secret of all zeros: the peer sent a low-order point (X25519 of 0, 1, ...). */
export function isDegenerate(shared: Uint8Array): boolean {
  let any = 0;
  for (const b of shared) any |= b;
  return any === 0;
}
