/**
 * The primitives the key exchange needs (X25519, SHA-512, HMAC-SHA-512), from two libraries:
 * node:crypto, fast and used by Node peers, and tweetnacl, which runs everywhere (a browser without
 * WebCrypto too). The key schedule (./key-schedule.ts) takes either and must come out the same with both;
 * the tests check both against fixed vectors. tweetnacl has SHA-512 but no HMAC, so HMAC is built here
 * from its hash (RFC 2104).
 */
import { createHash, createHmac, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';
import nacl from 'tweetnacl';

/** X25519 keys and SHA-512 hashes are this long. */
export const X25519_KEY_LENGTH = 32;
const SHA512_BLOCK = 128;
/** DER of PKCS#8 `PrivateKeyInfo` for X25519 (OID 1.3.101.110) up to the key's 32 bytes (RFC 8410). */
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

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

/** node:crypto's X25519 takes raw keys only through JWK. */
function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

function nodePair(privateKey: KeyObject, publicKey: KeyObject): KeyPair {
  const x = publicKey.export({ format: 'jwk' }).x as string;
  return {
    publicKey: new Uint8Array(Buffer.from(x, 'base64url')),
    agree(peerPublic) {
      const peer = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: base64url(peerPublic) }, format: 'jwk' });
      // OpenSSL refuses a shared secret of all zeros itself; say so the same way as tweetnacl's result.
      try {
        return new Uint8Array(diffieHellman({ privateKey, publicKey: peer }));
      } catch {
        return new Uint8Array(X25519_KEY_LENGTH);
      }
    },
  };
}

export const nodeCrypto: ChannelCrypto = {
  name: 'node',
  keyPair(secret) {
    if (secret === undefined) {
      const { privateKey, publicKey } = generateKeyPairSync('x25519');
      return nodePair(privateKey, publicKey);
    }
    // A raw private key enters node:crypto as PKCS#8: a fixed DER prefix, then the 32 bytes.
    const der = Buffer.concat([X25519_PKCS8_PREFIX, secret]);
    const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    return nodePair(privateKey, createPublicKey(privateKey));
  },
  sha512(...parts) {
    const h = createHash('sha512');
    for (const p of parts) h.update(p);
    return new Uint8Array(h.digest());
  },
  hmacSha512(key, ...parts) {
    const h = createHmac('sha512', key);
    for (const p of parts) h.update(p);
    return new Uint8Array(h.digest());
  },
};

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
