/**
 * The record ciphers. Every peer speaks suite 1 (tweetnacl's `secretbox`, which runs anywhere); Node
 * peers prefer suite 2 (AES-256-GCM from node:crypto: 20 times tweetnacl's speed on large records).
 *
 *   id  name                cipher                 record on the wire           nonce (implicit)
 *   1   xsalsa20-poly1305   nacl.secretbox         tag(16) ‖ ciphertext         24 B: dir ‖ 15 × 00 ‖ ctr u64 BE
 *   2   aes-256-gcm         node:crypto (WebCrypto) ciphertext ‖ tag(16)        12 B: dir ‖ 00 00 00 ‖ ctr u64 BE
 *
 * dir is 0x43 ('C') for client-to-server records and 0x53 ('S') for server-to-client ones; ctr counts the
 * records of that direction from 0 and is never sent. Each direction has its own key as well, so a nonce
 * can never repeat under one key. There is no additional data: the record's length is its frame's, and a
 * changed length fails the tag like any other change.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import nacl from 'tweetnacl';

export const SuiteId = {
  /** No encryption: the negotiation ended in plaintext. */
  None: 0,
  XSalsa20Poly1305: 1,
  Aes256Gcm: 2,
} as const;
export type SuiteId = (typeof SuiteId)[keyof typeof SuiteId];

export type SuiteName = 'xsalsa20-poly1305' | 'aes-256-gcm';

export const SUITE_NAMES: Readonly<Record<Exclude<SuiteId, 0>, SuiteName>> = Object.freeze({
  [SuiteId.XSalsa20Poly1305]: 'xsalsa20-poly1305',
  [SuiteId.Aes256Gcm]: 'aes-256-gcm',
});

/** What a Node peer offers, in preference order. */
export const NODE_SUITES: readonly SuiteName[] = Object.freeze(['aes-256-gcm', 'xsalsa20-poly1305']);

export function suiteId(name: SuiteName): Exclude<SuiteId, 0> {
  return name === 'aes-256-gcm' ? SuiteId.Aes256Gcm : SuiteId.XSalsa20Poly1305;
}

/** Bytes a record adds to what it carries: the tag. (Its type byte is inside the ciphertext.) */
export const TAG_LENGTH = 16;

export const Direction = {
  ClientToServer: 0x43,
  ServerToClient: 0x53,
} as const;
export type Direction = (typeof Direction)[keyof typeof Direction];

/** Seals and opens one direction's records under one key; `rekey` installs the next key. */
export interface RecordCipher {
  /** The record holding `parts` one after another, as pieces to send in order (no piece is `parts`' own memory). */
  seal(parts: readonly Uint8Array[], counter: number): Uint8Array[];
  /** The plaintext of `record`, or null when it fails to authenticate. */
  open(record: Uint8Array, counter: number): Uint8Array | null;
  rekey(key: Uint8Array): void;
}

function writeCounter(nonce: Uint8Array, counter: number): void {
  const view = new DataView(nonce.buffer, nonce.byteOffset, nonce.byteLength);
  const at = nonce.length - 8;
  view.setUint32(at, Math.floor(counter / 0x1_0000_0000));
  view.setUint32(at + 4, counter >>> 0);
}

class AesGcmCipher implements RecordCipher {
  #key: Uint8Array;
  readonly #nonce = new Uint8Array(12);
  constructor(key: Uint8Array, dir: Direction) {
    this.#key = key;
    this.#nonce[0] = dir;
  }
  seal(parts: readonly Uint8Array[], counter: number): Uint8Array[] {
    writeCounter(this.#nonce, counter);
    const cipher = createCipheriv('aes-256-gcm', this.#key, this.#nonce, { authTagLength: TAG_LENGTH });
    const out: Uint8Array[] = [];
    for (const part of parts) out.push(cipher.update(part));
    cipher.final();
    out.push(cipher.getAuthTag());
    return out;
  }
  open(record: Uint8Array, counter: number): Uint8Array | null {
    if (record.length < TAG_LENGTH) return null;
    writeCounter(this.#nonce, counter);
    const decipher = createDecipheriv('aes-256-gcm', this.#key, this.#nonce, { authTagLength: TAG_LENGTH });
    decipher.setAuthTag(record.subarray(record.length - TAG_LENGTH));
    const plain = decipher.update(record.subarray(0, record.length - TAG_LENGTH));
    try {
      decipher.final();
    } catch {
      return null;
    }
    return plain;
  }
  rekey(key: Uint8Array): void {
    this.#key = key;
  }
}

class SecretboxCipher implements RecordCipher {
  #key: Uint8Array;
  readonly #nonce = new Uint8Array(nacl.secretbox.nonceLength);
  constructor(key: Uint8Array, dir: Direction) {
    this.#key = key;
    this.#nonce[0] = dir;
  }
  seal(parts: readonly Uint8Array[], counter: number): Uint8Array[] {
    writeCounter(this.#nonce, counter);
    // secretbox takes one message (and copies it into a padded buffer of its own anyway).
    let message: Uint8Array;
    if (parts.length === 1) message = parts[0] as Uint8Array;
    else {
      let n = 0;
      for (const p of parts) n += p.length;
      message = new Uint8Array(n);
      let at = 0;
      for (const p of parts) {
        message.set(p, at);
        at += p.length;
      }
    }
    return [nacl.secretbox(message, this.#nonce, this.#key)];
  }
  open(record: Uint8Array, counter: number): Uint8Array | null {
    if (record.length < TAG_LENGTH) return null;
    writeCounter(this.#nonce, counter);
    return nacl.secretbox.open(record, this.#nonce, this.#key);
  }
  rekey(key: Uint8Array): void {
    this.#key = key;
  }
}

export function recordCipher(suite: Exclude<SuiteId, 0>, key: Uint8Array, dir: Direction): RecordCipher {
  return suite === SuiteId.Aes256Gcm ? new AesGcmCipher(key, dir) : new SecretboxCipher(key, dir);
}
