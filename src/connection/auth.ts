/**
 * CPython's mutual HMAC handshake (`multiprocessing/connection.py`: `deliver_challenge`,
 * `answer_challenge`), both dialects. The side that accepts challenges first; each side challenges the
 * other once. Every message is one frame of at most 256 bytes.
 *
 * Modern (CPython >= 3.12, gh-61460 / PR #20380), as we send it:
 *
 *   #  dir   payload                                                     length
 *   1  S->C  '#CHALLENGE#' + M1, M1 = '{sha256}' + MARK + 32 random      59
 *   2  C->S  '{sha256}' + HMAC-SHA256(key, M1)                            40   (the MAC covers the prefix)
 *   3  S->C  '#WELCOME#' | '#FAILURE#'                                    9
 *   4  C->S  '#CHALLENGE#' + M2, M2 = '{sha256}' + MARK + 32 random      59
 *   5  S->C  '{sha256}' + HMAC-SHA256(key, M2)                            40
 *   6  C->S  '#WELCOME#' | '#FAILURE#'                                    9
 *
 *   MARK = 89 4d 50 4d 0d 0a 1a 0a  ('\x89MPM\r\n\x1a\n', 8 bytes): "this peer is mpmanager"
 *
 *   Between two mpmanager peers the key exchange follows (src/channel/key-exchange.ts): the server sends
 *   its offer K1 right after frame 5, the client its choice K2 right after frame 6.
 *
 * The mark tells an mpmanager peer, before its first frame, that the other side is mpmanager too (so a
 * manager client can speak the native dialect) or a stock CPython peer (which speaks pickle only). A
 * CPython peer takes the marked challenge as any other: 3.12+ reads the '{digest}' prefix and MACs the
 * whole message, whatever the bytes after it; 3.11 MACs the whole payload with MD5 and checks only the
 * '#CHALLENGE#' prefix; all read it with `recv_bytes(256)` (verified against 3.11.7, 3.12.1 and 3.13.0 in
 * test/interop). CPython's own 40 random bytes begin with MARK with probability 2^-64. The mark is
 * covered by the answer's MAC, so once the handshake succeeds it is authenticated: a peer without the key
 * cannot add or strip it. The 32 random bytes left are still more than a legacy challenge's 20.
 *
 * Legacy (CPython <= 3.11): challenges are '#CHALLENGE#' + 20 random bytes and answers are a raw
 * 16-byte HMAC-MD5. A 3.11 peer answers our modern challenge with a raw HMAC-MD5 over the whole
 * 48-byte M1, so as challenger we accept a 16-byte answer as MD5, and any '{name}' answer whose name is
 * allowed, whatever we offered (as CPython's `_verify_challenge` does). As responder we answer a 20-byte
 * challenge with raw MD5 and a prefixed one with the digest it names; either kind without MARK comes from
 * a CPython peer.
 *
 * The HMACs and random bytes come from the runtime's `CryptoProvider` (src/channel/crypto.ts): node:crypto
 * in Node, WebCrypto in browsers, which has no MD5: a browser answers only '{sha256}'/'{sha384}'
 * challenges, and a legacy challenge fails there with `AuthenticationError` saying so. An mpmanager server
 * always challenges with '{sha256}'.
 */
import { AuthenticationError } from '../errors.js';
import { asBytes, concatBytes, fromLatin1, latin1, sameBytes, startsWith, utf8 } from '../bytes.js';
import { equalBytes, type CryptoProvider } from '../channel/crypto.js';

// Buffers in Node (asBytes), as the frames they are compared with.
export const CHALLENGE = asBytes(latin1('#CHALLENGE#'));
export const WELCOME = asBytes(latin1('#WELCOME#'));
export const FAILURE = asBytes(latin1('#FAILURE#'));
/** Bytes after the digest prefix in a challenge we send: MARK then random (CPython >= 3.12: `MESSAGE_LENGTH = 40`). */
export const MESSAGE_LENGTH = 40;
/** Starts the bytes after the digest prefix of every challenge an mpmanager peer sends (table above). */
export const MPM_MARK: Uint8Array = asBytes(Uint8Array.of(0x89, 0x4d, 0x50, 0x4d, 0x0d, 0x0a, 0x1a, 0x0a));

/** What the other side of a handshake is: an mpmanager peer (its challenge carries MARK), or not (a stock CPython peer). */
export const Peer = { Mpmanager: 'mpmanager', CPython: 'cpython' } as const;
export type Peer = (typeof Peer)[keyof typeof Peer];
/** Payload length of a legacy challenge, and the least a challenge may carry. */
export const LEGACY_MESSAGE_LENGTH = 20;
/** A raw HMAC-MD5 answer. */
export const MD5_DIGEST_LENGTH = 16;
/** Default digest of the challenges we send. */
export const DEFAULT_DIGEST = 'sha256';
/** A digest name sits in the first 10 bytes: '{' + name (at most 8) + '}' (`_MAX_DIGEST_LEN = 8`). */
const MAX_DIGEST_NAME_END = 10;

/** The digests CPython's handshake allows (`_ALLOWED_DIGESTS`), by Python's names. */
export const ALLOWED_DIGESTS: readonly string[] = Object.freeze(['md5', 'sha256', 'sha384', 'sha3_256', 'sha3_384']);

/** What the handshake needs from a connection: raw frames. */
export interface HandshakeChannel {
  sendBytes(payload: Uint8Array): void;
  /** The next frame; frames above the `handshakeFrameSize` limit (CPython: `recv_bytes(256)`) are refused by the caller's transport limit. */
  recvBytes(): Promise<Uint8Array>;
}

export function toKey(authkey: string | Uint8Array): Uint8Array {
  if (typeof authkey === 'string') return asBytes(utf8(authkey));
  if (authkey instanceof Uint8Array) return authkey;
  throw new TypeError('authkey should be a string or bytes');
}

const DIFFERENT_KEYS = 'the authkeys differ: both sides must use the same authkey';

/**
 * Splits an answer or challenge payload into its digest name and the rest (`_get_digest_name_and_payload`):
 * 16 or 20 bytes with no prefix are legacy MD5; otherwise a '{name}' prefix with an allowed name.
 */
export function digestOf(message: Uint8Array): { digest: string; payload: Uint8Array } {
  if (message.length === MD5_DIGEST_LENGTH || message.length === LEGACY_MESSAGE_LENGTH) {
    return { digest: 'md5', payload: message };
  }
  if (message[0] === 0x7b /* { */) {
    const end = message.indexOf(0x7d /* } */, 1);
    if (end > 0 && end < MAX_DIGEST_NAME_END) {
      const name = fromLatin1(message.subarray(1, end));
      if (ALLOWED_DIGESTS.includes(name)) return { digest: name, payload: message.subarray(end + 1) };
    }
  }
  throw new AuthenticationError(
    `unsupported handshake message of ${message.length} bytes: no digest prefix, or a digest outside ` +
      `${ALLOWED_DIGESTS.join(', ')}; is the peer a multiprocessing connection?`,
  );
}

async function hmac(crypto: CryptoProvider, digest: string, key: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  if (!crypto.digests.includes(digest)) {
    throw new AuthenticationError(
      `the peer's handshake uses ${digest}, which ${crypto.name === 'node' ? 'this runtime' : 'a browser'} cannot compute (it has ${crypto.digests.join(', ')})` +
        (digest === 'md5' ? ': that is the legacy handshake of a stock CPython 3.11 or older peer; mpmanager servers use sha256' : ''),
    );
  }
  return crypto.hmac(digest, key, message);
}

/** The answer to a challenge payload: raw MD5 for a legacy 20-byte payload, else '{name}' + HMAC. */
export async function answerFor(key: Uint8Array, challengePayload: Uint8Array, crypto: CryptoProvider): Promise<Uint8Array> {
  if (challengePayload.length === LEGACY_MESSAGE_LENGTH) return asBytes(await hmac(crypto, 'md5', key, challengePayload));
  const { digest } = digestOf(challengePayload);
  return concatBytes([latin1(`{${digest}}`), await hmac(crypto, digest, key, challengePayload)]);
}

/**
 * Which peer sent a challenge payload (the bytes after '#CHALLENGE#'): mpmanager when MARK follows its
 * digest prefix, else CPython (a legacy 20-byte challenge never carries it).
 */
export function peerOf(challengePayload: Uint8Array): Peer {
  if (challengePayload.length === LEGACY_MESSAGE_LENGTH) return Peer.CPython;
  const { payload } = digestOf(challengePayload);
  return payload.length > MPM_MARK.length && startsWith(payload, MPM_MARK) ? Peer.Mpmanager : Peer.CPython;
}

/** Checks an answer to the challenge `sent` (the payload after '#CHALLENGE#'), in constant time. */
export async function verifyAnswer(key: Uint8Array, sent: Uint8Array, answer: Uint8Array, crypto: CryptoProvider): Promise<void> {
  const { digest, payload } = digestOf(answer);
  const expected = await hmac(crypto, digest, key, sent);
  if (payload.length !== expected.length) {
    throw new AuthenticationError(`${DIFFERENT_KEYS} (expected a ${digest} digest of ${expected.length} bytes, got ${payload.length})`);
  }
  if (!equalBytes(payload, expected)) throw new AuthenticationError(`${DIFFERENT_KEYS} (the peer's digest was wrong)`);
}

/** Challenger side: sends a challenge, checks the answer, sends WELCOME or FAILURE. */
export async function deliverChallenge(channel: HandshakeChannel, key: Uint8Array, crypto: CryptoProvider, digest = DEFAULT_DIGEST): Promise<void> {
  if (!ALLOWED_DIGESTS.includes(digest)) throw new TypeError(`digest '${digest}' is not one of ${ALLOWED_DIGESTS.join(', ')}`);
  const sent = concatBytes([latin1(`{${digest}}`), MPM_MARK, crypto.random(MESSAGE_LENGTH - MPM_MARK.length)]);
  channel.sendBytes(concatBytes([CHALLENGE, sent]));
  const answer = await channel.recvBytes();
  try {
    await verifyAnswer(key, sent, answer, crypto);
  } catch (err) {
    // Nothing but FAILURE goes to a peer that failed: no traceback, no detail (CPython sends both).
    channel.sendBytes(FAILURE);
    throw err;
  }
  channel.sendBytes(WELCOME);
}

/**
 * Responder side: answers the peer's challenge and expects WELCOME. Resolves with what the challenger is.
 * `onAnswered` runs right after the answer is sent, before the verdict comes back (the server sends its
 * key-exchange offer there, so it costs no round trip).
 */
export async function answerChallenge(channel: HandshakeChannel, key: Uint8Array, crypto: CryptoProvider, onAnswered?: (peer: Peer) => void): Promise<Peer> {
  const message = await channel.recvBytes();
  if (!startsWith(message, CHALLENGE)) {
    throw new AuthenticationError(
      'protocol error: expected an authentication challenge; the peer does not use an authkey, or is not a multiprocessing peer',
    );
  }
  const payload = message.subarray(CHALLENGE.length);
  if (payload.length < LEGACY_MESSAGE_LENGTH) throw new AuthenticationError(`challenge too short: ${payload.length} bytes`);
  channel.sendBytes(await answerFor(key, payload, crypto));
  const peer = peerOf(payload);
  onAnswered?.(peer);
  const reply = await channel.recvBytes();
  if (!sameBytes(reply, WELCOME)) throw new AuthenticationError(`${DIFFERENT_KEYS} (the peer rejected our digest)`);
  return peer;
}

/** The accepting side's handshake: challenge first, then answer (`Listener.accept`). Resolves with what the client is. */
export async function serverHandshake(channel: HandshakeChannel, key: Uint8Array, crypto: CryptoProvider, onAnswered?: (peer: Peer) => void): Promise<Peer> {
  await deliverChallenge(channel, key, crypto);
  return answerChallenge(channel, key, crypto, onAnswered);
}

/**
 * The connecting side's handshake: answer first, then challenge (`Client`). Resolves with what the
 * server is, known from its challenge, so the client picks its dialect before its first frame.
 */
export async function clientHandshake(channel: HandshakeChannel, key: Uint8Array, crypto: CryptoProvider): Promise<Peer> {
  const peer = await answerChallenge(channel, key, crypto);
  await deliverChallenge(channel, key, crypto);
  return peer;
}
