/**
 * The record ciphers. Every peer speaks suite 1 (tweetnacl's `secretbox`, which runs anywhere); Node
 * peers prefer suite 2 (AES-256-GCM from node:crypto: 20 times tweetnacl's speed on large records).
 *
 *   id  name                cipher                 record on the wire           nonce (implicit)
 *   1   xsalsa20-poly1305   nacl.secretbox         tag(16) ‖ ciphertext         24 B: dir ‖ 15 × 00 ‖ ctr u64 BE
 *   2   aes-256-gcm         node:crypto, WebCrypto  ciphertext ‖ tag(16)        12 B: dir ‖ 00 00 00 ‖ ctr u64 BE
 *
 * dir is 0x43 ('C') for client-to-server records and 0x53 ('S') for server-to-client ones; ctr counts the
 * records of that direction from 0 and is never sent. Each direction has its own key as well, so a nonce
 * can never repeat under one key. There is no additional data: the record's length is its frame's, and a
 * changed length fails the tag like any other change.
 */
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

/** Every suite, in preference order: what a Node peer offers. */
export const NODE_SUITES: readonly SuiteName[] = Object.freeze(['aes-256-gcm', 'xsalsa20-poly1305']);
/** What every runtime runs (tweetnacl's): a browser without WebCrypto offers this one only. */
export const PORTABLE_SUITES: readonly SuiteName[] = Object.freeze(['xsalsa20-poly1305']);

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

/**
 * Seals and opens one direction's records under one key; `rekey` installs the next key. A synchronous
 * cipher (node:crypto, tweetnacl) returns its results; an asynchronous one (WebCrypto) returns promises
 * and says so with `async`, and the record layer keeps its records in order (./sealed.ts).
 */
export type RecordCipher = SyncRecordCipher | AsyncRecordCipher;

export interface SyncRecordCipher {
  readonly async: false;
  /** The record holding `parts` one after another, as pieces to send in order (no piece is `parts`' own memory). */
  seal(parts: readonly Uint8Array[], counter: number): Uint8Array[];
  /** The plaintext of `record`, or null when it fails to authenticate. */
  open(record: Uint8Array, counter: number): Uint8Array | null;
  rekey(key: Uint8Array): void;
}

/** As `SyncRecordCipher`, with promises. Each call takes the key in place when it is made. */
export interface AsyncRecordCipher {
  readonly async: true;
  seal(data: Uint8Array, counter: number): Promise<Uint8Array>;
  open(record: Uint8Array, counter: number): Promise<Uint8Array | null>;
  rekey(key: Uint8Array): void;
}

/** Writes `counter` as the nonce's last 8 bytes, big-endian. */
export function writeCounter(nonce: Uint8Array, counter: number): void {
  const view = new DataView(nonce.buffer, nonce.byteOffset, nonce.byteLength);
  const at = nonce.length - 8;
  view.setUint32(at, Math.floor(counter / 0x1_0000_0000));
  view.setUint32(at + 4, counter >>> 0);
}

class SecretboxCipher implements SyncRecordCipher {
  readonly async = false;
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

/** Suite 1's cipher (tweetnacl): every provider's. */
export function secretboxCipher(key: Uint8Array, dir: Direction): SyncRecordCipher {
  return new SecretboxCipher(key, dir);
}
