/**
 * Browsers' `CryptoProvider` (./crypto.ts), with nothing from Node: WebCrypto where the page is a secure
 * context (https, or http on localhost/127.0.0.1), which has HMAC-SHA-256/384 for CPython's handshake and
 * AES-256-GCM (suite 2); tweetnacl for X25519, SHA-512 and suite 1 everywhere; and, in an insecure
 * context (no `crypto.subtle`), @noble/hashes' SHA-256 for the handshake, with suite 1 as the only
 * cipher. WebCrypto has no MD5, so a challenge in CPython's legacy form (a stock CPython 3.11 peer, never
 * an mpmanager server) fails with `AuthenticationError` saying so.
 *
 * WebCrypto's calls are asynchronous, so suite 2's cipher is an `AsyncRecordCipher`: the record layer
 * keeps its records in order (./sealed.ts). X25519 stays with tweetnacl (about 0.8 ms a connection in
 * Chromium), so the key exchange is the same synchronous code as in Node.
 */
import { hmac as nobleHmac } from '@noble/hashes/hmac.js';
import { sha256, sha384 } from '@noble/hashes/sha2.js';
import nacl from 'tweetnacl';
import { naclCrypto, type CryptoProvider } from './crypto.js';
import { NODE_SUITES, PORTABLE_SUITES, SuiteId, TAG_LENGTH, secretboxCipher, writeCounter, type AsyncRecordCipher, type Direction } from './suites.js';

/** What is used of WebCrypto's `Subtle` (typed here: the project compiles without the DOM library). */
export interface Subtle {
  importKey(format: 'raw', key: Uint8Array, algorithm: { name: string; hash?: string }, extractable: boolean, usages: string[]): Promise<unknown>;
  encrypt(algorithm: { name: string; iv: Uint8Array; tagLength: number }, key: unknown, data: Uint8Array): Promise<ArrayBuffer>;
  decrypt(algorithm: { name: string; iv: Uint8Array; tagLength: number }, key: unknown, data: Uint8Array): Promise<ArrayBuffer>;
  sign(algorithm: string, key: unknown, data: Uint8Array): Promise<ArrayBuffer>;
}

const WEB_DIGESTS: Readonly<Record<string, string>> = { sha256: 'SHA-256', sha384: 'SHA-384' };
const NOBLE_DIGESTS = { sha256, sha384 } as const;

class WebAesGcmCipher implements AsyncRecordCipher {
  readonly async = true;
  readonly #subtle: Subtle;
  readonly #dir: Direction;
  #key: Promise<unknown>;
  constructor(subtle: Subtle, key: Uint8Array, dir: Direction) {
    this.#subtle = subtle;
    this.#dir = dir;
    this.#key = this.#import(key);
  }
  #import(key: Uint8Array): Promise<unknown> {
    return this.#subtle.importKey('raw', key.slice(), { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
  }
  #nonce(counter: number): Uint8Array {
    const nonce = new Uint8Array(12);
    nonce[0] = this.#dir;
    writeCounter(nonce, counter);
    return nonce;
  }
  async seal(data: Uint8Array, counter: number): Promise<Uint8Array> {
    const iv = this.#nonce(counter);
    const key = await this.#key;
    return new Uint8Array(await this.#subtle.encrypt({ name: 'AES-GCM', iv, tagLength: TAG_LENGTH * 8 }, key, data));
  }
  async open(record: Uint8Array, counter: number): Promise<Uint8Array | null> {
    if (record.length < TAG_LENGTH) return null;
    const iv = this.#nonce(counter);
    const key = await this.#key;
    try {
      return new Uint8Array(await this.#subtle.decrypt({ name: 'AES-GCM', iv, tagLength: TAG_LENGTH * 8 }, key, record));
    } catch {
      return null;
    }
  }
  rekey(key: Uint8Array): void {
    this.#key = this.#import(key);
  }
}

/**
 * The provider for this page: WebCrypto's where `crypto.subtle` exists (a secure context), tweetnacl's and
 * @noble/hashes' otherwise.
 */
export function webCrypto(subtle: Subtle | undefined = (globalThis as { crypto?: { subtle?: Subtle } }).crypto?.subtle): CryptoProvider {
  const random = (n: number) => nacl.randomBytes(n);
  if (subtle === undefined) {
    return {
      name: 'nacl',
      channel: naclCrypto,
      random,
      digests: Object.keys(NOBLE_DIGESTS),
      hmac: (digest, key, message) => nobleHmac(NOBLE_DIGESTS[digest as keyof typeof NOBLE_DIGESTS], key, message),
      suites: PORTABLE_SUITES,
      cipher: (_suite, key, dir) => secretboxCipher(key, dir),
    };
  }
  return {
    name: 'webcrypto',
    channel: naclCrypto,
    random,
    digests: Object.keys(WEB_DIGESTS),
    async hmac(digest, key, message) {
      const hash = WEB_DIGESTS[digest] as string;
      const k = await subtle.importKey('raw', key.slice(), { name: 'HMAC', hash }, false, ['sign']);
      return new Uint8Array(await subtle.sign('HMAC', k, message));
    },
    suites: NODE_SUITES,
    cipher: (suite, key, dir) => (suite === SuiteId.Aes256Gcm ? new WebAesGcmCipher(subtle, key, dir) : secretboxCipher(key, dir)),
  };
}
