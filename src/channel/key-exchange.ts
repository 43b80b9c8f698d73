/**
 * The key exchange: two frames between mpmanager peers, right after CPython's handshake, and only when
 * both challenges carried mpmanager's mark (auth.ts), which that handshake authenticates: a stock
 * CPython peer never sees a byte of this. Over TLS there is no key exchange; TLS already encrypts.
 *
 *   #   dir   frame                                                                  size
 *   1-6       CPython's handshake, unchanged (auth.ts); F1, F2, F4, F5 enter the transcript
 *   K1  S->C  "MPMKX" 01 ‖ version 01 ‖ policy ‖ n ‖ n suite ids ‖ E_s (32) ‖ mac1 (32)    73+n
 *             policy: 00 off, 01 prefer, 02 require. With policy off, no suites and no E_s.  or 41
 *             The server sends it right after F5, so it travels with F6 and costs no round trip.
 *   K2  C->S  "MPMKX" 02 ‖ suite ‖ E_c (32) ‖ mac2 (32)                                  71
 *             the client's choice: suite 00 is plaintext (then no E_c)                      or 39
 *   K2' C->S  "MPMKX" 03 ‖ reason (UTF-8, at most 200 bytes) ‖ mac2 (32)                 38+
 *             the client cannot agree (a policy says no): it closes after this
 *   9…  both  records (sealed.ts) when a suite was chosen; the client's first frame goes right
 *             behind K2, so connecting costs no extra round trip. Frames as before otherwise.
 *
 * The MACs and keys are ./key-schedule.ts's. What the two policies give (the client decides, the server
 * checks the choice):
 *
 *   server \ client   off                     prefer                   require
 *   off               plaintext               plaintext                client refuses (K2')
 *   prefer            plaintext               encrypted                encrypted
 *   require           client refuses (K2')    encrypted                encrypted
 *
 * Plaintext is chosen only inside MAC'd frames, so nothing between the peers can strip an offer: a
 * changed K1 or K2 fails its MAC (`ChannelError` 'key-exchange'), and a changed suite or key fails every
 * record after it.
 */
import { ChannelError, ChannelFault } from '../errors.js';
import { equalBytes, isDegenerate, X25519_KEY_LENGTH, type ChannelCrypto, type KeyPair } from './crypto.js';
import { KeySchedule, MAC_LENGTH } from './key-schedule.js';
import type { ChannelKeys } from './sealed.js';
import { SUITE_NAMES, SuiteId, suiteId, type SuiteName } from './suites.js';

/**
 * Whether a side encrypts: `off` never (it still answers the key exchange, in plaintext), `prefer` when
 * the peer can, `require` always (a peer that cannot is refused).
 */
export type EncryptionPolicy = 'off' | 'prefer' | 'require';
export const ENCRYPTION_POLICIES: readonly EncryptionPolicy[] = Object.freeze(['off', 'prefer', 'require']);

const MAGIC = new TextEncoder().encode('MPMKX');
const Kind = { Offer: 1, Choice: 2, Refusal: 3 } as const;
export const KX_VERSION = 1;
const POLICY_CODES: Readonly<Record<EncryptionPolicy, number>> = { off: 0, prefer: 1, require: 2 };
/** A refusal's reason is cut to this many bytes (every handshake frame is at most 256). */
const MAX_REASON = 200;

/** How the key exchange ended: the record keys, or plaintext by agreement. */
export type KeyExchangeResult = { readonly keys: ChannelKeys } | { readonly keys: null };

function tampered(what: string): ChannelError {
  return new ChannelError(
    ChannelFault.KeyExchange,
    `the ${what} failed its check: something between the peers altered the key exchange (or the peer is faulty); the connection was closed`,
  );
}

function frame(kind: number, ...parts: Uint8Array[]): Uint8Array {
  let n = MAGIC.length + 1;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  out.set(MAGIC);
  out[MAGIC.length] = kind;
  let at = MAGIC.length + 1;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The kind of a key-exchange frame, or -1 if it is not one. */
function kindOf(f: Uint8Array): number {
  if (f.length <= MAGIC.length) return -1;
  for (let i = 0; i < MAGIC.length; i++) if (f[i] !== MAGIC[i]) return -1;
  return f[MAGIC.length] as number;
}

function agree(pair: KeyPair, peer: Uint8Array): Uint8Array {
  const dh = pair.agree(peer);
  if (isDegenerate(dh)) {
    throw new ChannelError(ChannelFault.KeyExchange, "the peer's key-exchange key is degenerate (a low-order point); the connection was closed");
  }
  return dh;
}

export interface KeyExchangeOptions {
  readonly crypto: ChannelCrypto;
  readonly authkey: Uint8Array;
  /** F1, F2, F4, F5 of the CPython handshake, as sent. */
  readonly handshake: readonly Uint8Array[];
  readonly policy: EncryptionPolicy;
  /** The suites this side speaks, in preference order. */
  readonly suites: readonly SuiteName[];
}

/** The server's side: `offer()` is K1; `finish(k2)` checks the client's choice. */
export class ServerKeyExchange {
  readonly #options: KeyExchangeOptions;
  readonly #schedule: KeySchedule;
  readonly #pair: KeyPair | null;
  readonly #suites: readonly number[];
  readonly offer: Uint8Array;

  constructor(options: KeyExchangeOptions) {
    this.#options = options;
    this.#schedule = new KeySchedule(options.crypto, options.authkey, options.handshake);
    const off = options.policy === 'off';
    this.#pair = off ? null : options.crypto.keyPair();
    this.#suites = off ? [] : options.suites.map(suiteId);
    const head = Uint8Array.of(KX_VERSION, POLICY_CODES[options.policy], this.#suites.length, ...this.#suites);
    const body = frame(Kind.Offer, head, this.#pair?.publicKey ?? new Uint8Array(0));
    this.offer = frame(Kind.Offer, head, this.#pair?.publicKey ?? new Uint8Array(0), this.#schedule.mac1(body));
  }

  /** Checks K2 and returns the keys, or null keys for plaintext. Throws `ChannelError`. */
  finish(k2: Uint8Array): KeyExchangeResult {
    const kind = kindOf(k2);
    if ((kind !== Kind.Choice && kind !== Kind.Refusal) || k2.length < MAGIC.length + 2 + MAC_LENGTH) throw tampered("client's key-exchange choice");
    const body = k2.subarray(0, k2.length - MAC_LENGTH);
    if (!equalBytes(k2.subarray(body.length), this.#schedule.mac2(this.offer, body))) throw tampered("client's key-exchange choice");
    if (kind === Kind.Refusal) {
      const reason = new TextDecoder().decode(body.subarray(MAGIC.length + 1));
      throw new ChannelError(ChannelFault.Policy, `the client refused the connection: ${reason}`);
    }
    const suite = body[MAGIC.length + 1] as number;
    if (suite === SuiteId.None) {
      if (body.length !== MAGIC.length + 2) throw tampered("client's key-exchange choice");
      if (this.#options.policy === 'require') {
        throw new ChannelError(ChannelFault.Policy, 'a client chose plaintext, but this server requires encryption; the connection was closed');
      }
      return { keys: null };
    }
    if (this.#pair === null || !this.#suites.includes(suite) || body.length !== MAGIC.length + 2 + X25519_KEY_LENGTH) {
      throw tampered("client's key-exchange choice");
    }
    const dh = agree(this.#pair, body.subarray(MAGIC.length + 2));
    const { c2s, s2c } = this.#schedule.keys(dh, this.#schedule.transcriptHash(this.offer, k2));
    dh.fill(0);
    return { keys: { suite: suite as ChannelKeys['suite'], send: s2c, receive: c2s, client: false } };
  }
}

/** What the server's K1 says. */
interface Offer {
  readonly policy: EncryptionPolicy;
  readonly suites: readonly number[];
  readonly publicKey: Uint8Array | null;
}

function parseOffer(k1: Uint8Array): Offer {
  const bad = () => tampered("server's key-exchange offer");
  const at = MAGIC.length + 1;
  if (kindOf(k1) !== Kind.Offer || k1.length < at + 3 + MAC_LENGTH) throw bad();
  if (k1[at] !== KX_VERSION) {
    throw new ChannelError(ChannelFault.KeyExchange, `the server speaks key-exchange version ${String(k1[at])}, this client ${KX_VERSION}: upgrade the older side`);
  }
  const policy = ENCRYPTION_POLICIES[k1[at + 1] as number];
  const n = k1[at + 2] as number;
  if (policy === undefined) throw bad();
  const suites = [...k1.subarray(at + 3, at + 3 + n)];
  const keyLength = policy === 'off' ? 0 : X25519_KEY_LENGTH;
  if (k1.length !== at + 3 + n + keyLength + MAC_LENGTH) throw bad();
  const publicKey = keyLength === 0 ? null : k1.subarray(at + 3 + n, at + 3 + n + keyLength);
  return { policy, suites, publicKey };
}

/**
 * The client's side: reads K1 and answers with K2 (or the refusal K2', after which it throws). Returns
 * the frame to send and the outcome; on a refusal, `send` is the refusal and `error` what to throw once
 * it is sent.
 */
export function clientKeyExchange(
  options: KeyExchangeOptions,
  k1: Uint8Array,
  where: string,
): { readonly send: Uint8Array; readonly result: KeyExchangeResult } | { readonly send: Uint8Array; readonly error: ChannelError } {
  const schedule = new KeySchedule(options.crypto, options.authkey, options.handshake);
  const offer = parseOffer(k1);
  if (!equalBytes(k1.subarray(k1.length - MAC_LENGTH), schedule.mac1(k1.subarray(0, k1.length - MAC_LENGTH)))) {
    throw tampered("server's key-exchange offer");
  }
  const refuse = (reason: string) => {
    const error = new ChannelError(ChannelFault.Policy, reason);
    const bytes = new TextEncoder().encode(reason).subarray(0, MAX_REASON);
    return { send: frame(Kind.Refusal, bytes, schedule.mac2(k1, frame(Kind.Refusal, bytes))), error };
  };
  const mine = options.policy;
  if (offer.policy === 'off' || mine === 'off') {
    if (offer.policy === 'require') {
      return refuse(`the server at ${where} requires encryption and this client has encryption 'off': set encryption to 'prefer' or 'require'`);
    }
    if (mine === 'require') {
      return refuse(`this client requires encryption and the server at ${where} has it off: turn encryption on at the server ('prefer' or 'require'), or set this client's encryption to 'prefer'`);
    }
    const body = frame(Kind.Choice, Uint8Array.of(SuiteId.None));
    return { send: frame(Kind.Choice, Uint8Array.of(SuiteId.None), schedule.mac2(k1, body)), result: { keys: null } };
  }
  const ours = options.suites.map(suiteId);
  const suite = offer.suites.find((s) => (ours as number[]).includes(s));
  if (suite === undefined || offer.publicKey === null) {
    const theirs = offer.suites.map((s) => SUITE_NAMES[s as 1 | 2] ?? `#${s}`).join(', ');
    return refuse(`no cipher suite in common with the server at ${where} (it offers ${theirs || 'none'}; this client speaks ${options.suites.join(', ')})`);
  }
  const pair = options.crypto.keyPair();
  const head = Uint8Array.of(suite);
  const body = frame(Kind.Choice, head, pair.publicKey);
  const k2 = frame(Kind.Choice, head, pair.publicKey, schedule.mac2(k1, body));
  const dh = agree(pair, offer.publicKey);
  const { c2s, s2c } = schedule.keys(dh, schedule.transcriptHash(k1, k2));
  dh.fill(0);
  return { send: k2, result: { keys: { suite: suite as ChannelKeys['suite'], send: c2s, receive: s2c, client: true } } };
}
