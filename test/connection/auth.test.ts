/**
 * The handshake (cpython-wire.md §2) against the test vectors of §2.4, with scripted channels and raw
 * frames: both dialects, every allowed digest, a 3.11-style raw MD5 answer to a modern challenge, bad
 * prefixes, what a failing peer is sent, the 256-byte frame cap and the timeout; and mpmanager's mark in
 * the challenges it sends, which tells each side whether the other is mpmanager or a stock CPython peer.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import {
  ALLOWED_DIGESTS,
  CHALLENGE,
  FAILURE,
  MPM_MARK,
  WELCOME,
  answerChallenge,
  answerFor,
  clientHandshake,
  deliverChallenge,
  digestOf,
  peerOf,
  serverHandshake,
  toKey,
  verifyAnswer,
  type HandshakeChannel,
} from '../../src/connection/auth.js';
import { FrameDecoder } from '../../src/transport/framing.js';
import { Connection, Pipe } from '../../src/connection/index.js';
import { DEFAULT_LIMITS } from '../../src/limits.js';
import {
  AuthenticationError,
  ConnectionClosedError,
  FrameTooLargeError,
  HandshakeTimeoutError,
} from '../../src/errors.js';
import { MemoryTransport } from '../../src/transport/memory.js';
import { NODE_CRYPTO } from '../../src/channel/node-crypto.js';
import { NODE_RUNTIME } from '../../src/connection/node-runtime.js';
import type { CryptoProvider } from '../../src/channel/crypto.js';

// Spy on the comparison so a test can check that digests are compared in constant time: auth.ts compares
// through the runtime-neutral `equalBytes` (src/channel/crypto.ts), no longer node:crypto's timingSafeEqual.
const spy = vi.hoisted(() => ({ equalBytesCalls: 0 }));
vi.mock('../../src/channel/crypto.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../src/channel/crypto.js')>();
  return {
    ...actual,
    equalBytes: (a: Uint8Array, b: Uint8Array) => {
      spy.equalBytesCalls++;
      return actual.equalBytes(a, b);
    },
  };
});

/** Node's provider, as the handshake gets it from the runtime. */
const C: CryptoProvider = NODE_CRYPTO;
/** Bytes as hex / Latin-1 text, whatever kind of byte array they arrive as. */
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const toText = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const KEY = Buffer.from('secret-key');
const WRONG_KEY = Buffer.from('other-key');

/** The payload of one raw frame (header + payload, in hex). */
function payloadOf(frameHex: string): Buffer {
  const frames: Buffer[] = [];
  const dec = new FrameDecoder((f) => frames.push(Buffer.from(f)));
  dec.push(hex(frameHex));
  dec.end();
  expect(frames).toHaveLength(1);
  return frames[0]!;
}

const range = (from: number, to: number) => Buffer.from(Array.from({ length: to - from }, (_, i) => from + i));

// §2.4 vectors (identical results from CPython 3.11.7 and 3.13.0).
const LEGACY_FRAME = `0000001f 234348414c4c454e474523 ${range(1, 21).toString('hex')}`;
const LEGACY_PAYLOAD = range(1, 21);
const LEGACY_MD5 = '4656c7e1b60cd1ec837b1575aa326942';
const MODERN_FRAME = `0000003b 234348414c4c454e474523 7b7368613235367d ${range(0, 40).toString('hex')}`;
const MODERN_PAYLOAD = Buffer.concat([Buffer.from('{sha256}'), range(0, 40)]);
const MODERN_SHA256 = '39c4ff3268da80f68b36eb46879c33a2dedb3ac28faebb6a0279ac6a912624d9';
const MODERN_MD5 = '6ae2b853ecc155b89b53c8a04f6fac88';

/** Python digest name -> answer length, with its '{name}' prefix (cpython-wire.md §2.2, verified on 3.13.0). */
const ANSWER_SIZES: Record<string, number> = { md5: 21, sha256: 40, sha3_256: 42, sha384: 56, sha3_384: 58 };
const NODE_NAMES: Record<string, string> = { md5: 'md5', sha256: 'sha256', sha384: 'sha384', sha3_256: 'sha3-256', sha3_384: 'sha3-384' };

function prefixed(name: string, key: Buffer, message: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`{${name}}`), createHmac(NODE_NAMES[name]!, key).update(message).digest()]);
}

/**
 * A scripted peer: each `recvBytes` takes the next reply, which may be computed from what was sent so
 * far; when the script runs out the peer has "closed".
 */
function scripted(replies: Array<Uint8Array | ((sent: Buffer[]) => Uint8Array | Promise<Uint8Array>)>): { channel: HandshakeChannel; sent: Buffer[] } {
  const sent: Buffer[] = [];
  const queue = [...replies];
  return {
    sent,
    channel: {
      sendBytes: (b) => void sent.push(Buffer.from(b)),
      recvBytes: async () => {
        const next = queue.shift();
        if (next === undefined) throw new ConnectionClosedError('the peer closed the connection (EOF)');
        return typeof next === 'function' ? await next(sent) : next;
      },
    },
  };
}

/** The challenge payload (after '#CHALLENGE#') in the last frame sent. */
const lastChallenge = (sent: Buffer[]) => sent[sent.length - 1]!.subarray(CHALLENGE.length);

describe('test vectors (cpython-wire.md §2.4)', () => {
  it('the raw frames carry the payloads', () => {
    expect(payloadOf(LEGACY_FRAME)).toEqual(Buffer.concat([CHALLENGE, LEGACY_PAYLOAD]));
    expect(payloadOf(MODERN_FRAME)).toEqual(Buffer.concat([CHALLENGE, MODERN_PAYLOAD]));
    expect(toHex(CHALLENGE)).toBe('234348414c4c454e474523');
    expect(toText(WELCOME)).toBe('#WELCOME#');
    expect(toText(FAILURE)).toBe('#FAILURE#');
  });

  it('answerFor: a legacy 20-byte challenge gets a raw 16-byte HMAC-MD5', async () => {
    expect(toHex(await answerFor(KEY, LEGACY_PAYLOAD, C))).toBe(LEGACY_MD5);
  });

  it("answerFor: a '{sha256}' challenge gets '{sha256}' + HMAC-SHA256 over the whole payload, prefix included", async () => {
    const answer = await answerFor(KEY, MODERN_PAYLOAD, C);
    expect(answer).toHaveLength(40);
    expect(toText(answer.subarray(0, 8))).toBe('{sha256}');
    expect(toHex(answer.subarray(8))).toBe(MODERN_SHA256);
  });

  it('verifyAnswer accepts the 3.12+ answer and the raw MD5 a 3.11 client sends to a modern challenge', async () => {
    await expect(verifyAnswer(KEY, MODERN_PAYLOAD, Buffer.concat([Buffer.from('{sha256}'), hex(MODERN_SHA256)]), C)).resolves.toBeUndefined();
    await expect(verifyAnswer(KEY, MODERN_PAYLOAD, hex(MODERN_MD5), C)).resolves.toBeUndefined();
    await expect(verifyAnswer(KEY, LEGACY_PAYLOAD, hex(LEGACY_MD5), C)).resolves.toBeUndefined();
  });

  it('verifyAnswer refuses the same answers under another key, saying the authkeys differ', async () => {
    for (const answer of [Buffer.concat([Buffer.from('{sha256}'), hex(MODERN_SHA256)]), hex(MODERN_MD5)]) {
      await expect(verifyAnswer(WRONG_KEY, MODERN_PAYLOAD, answer, C)).rejects.toThrow(AuthenticationError);
      await expect(verifyAnswer(WRONG_KEY, MODERN_PAYLOAD, answer, C)).rejects.toThrow(/authkeys differ/);
    }
  });

  it('compares digests in constant time', async () => {
    const before = spy.equalBytesCalls;
    const good = await answerFor(KEY, MODERN_PAYLOAD, C);
    const bad = Buffer.from(good);
    bad[bad.length - 1]! ^= 1;
    await verifyAnswer(KEY, MODERN_PAYLOAD, good, C);
    await expect(verifyAnswer(KEY, MODERN_PAYLOAD, bad, C)).rejects.toThrow(/the peer's digest was wrong/);
    expect(spy.equalBytesCalls - before).toBe(2);
  });
});

describe('digest names', () => {
  it('allows exactly the CPython set', () => {
    expect([...ALLOWED_DIGESTS].sort()).toEqual(['md5', 'sha256', 'sha384', 'sha3_256', 'sha3_384']);
  });

  it.each(Object.keys(ANSWER_SIZES))("'{%s}': answered with that digest, and accepted in reply to a {sha256} challenge", async (name) => {
    const challenge = Buffer.concat([Buffer.from(`{${name}}`), range(0, 40)]);
    const answer = await answerFor(KEY, challenge, C);
    expect(Buffer.from(answer)).toEqual(prefixed(name, KEY, challenge));
    expect(answer).toHaveLength(ANSWER_SIZES[name]!);
    await expect(verifyAnswer(KEY, challenge, answer, C)).resolves.toBeUndefined();
    // The responder picks the MAC: any allowed digest answers a {sha256} challenge (as CPython's _verify_challenge).
    await expect(verifyAnswer(KEY, MODERN_PAYLOAD, prefixed(name, KEY, MODERN_PAYLOAD), C)).resolves.toBeUndefined();
    await expect(verifyAnswer(WRONG_KEY, MODERN_PAYLOAD, prefixed(name, KEY, MODERN_PAYLOAD), C)).rejects.toThrow(/authkeys differ/);
  });

  it('digestOf reads legacy lengths as md5 and prefixed names', () => {
    expect(digestOf(Buffer.alloc(16)).digest).toBe('md5');
    expect(digestOf(Buffer.alloc(20)).digest).toBe('md5');
    const { digest, payload } = digestOf(Buffer.concat([Buffer.from('{sha3_384}'), Buffer.from('xyz')]));
    expect(digest).toBe('sha3_384');
    expect(toText(payload)).toBe('xyz');
  });

  it.each([
    ['a name outside the set', Buffer.concat([Buffer.from('{sha1}'), Buffer.alloc(20)])],
    ['an unterminated prefix', Buffer.concat([Buffer.from('{sha256'), Buffer.alloc(33)])],
    ['a name too long to be one (`}` past index 9)', Buffer.concat([Buffer.from('{sha3_5120}'), Buffer.alloc(32)])],
    ['an empty name', Buffer.concat([Buffer.from('{}'), Buffer.alloc(32)])],
    ['32 raw bytes (an unprefixed SHA-256)', Buffer.alloc(32)],
    ['an empty message', Buffer.alloc(0)],
    ['a name in another case', Buffer.concat([Buffer.from('{SHA256}'), Buffer.alloc(32)])],
    ['an inherited property name', Buffer.concat([Buffer.from('{toString}'), Buffer.alloc(32)])],
  ])('digestOf refuses %s', (_, message) => {
    expect(() => digestOf(message)).toThrow(AuthenticationError);
    expect(() => digestOf(message)).toThrow(/unsupported handshake message/);
  });

  it('verifyAnswer refuses a digest of the wrong length, naming what it expected', async () => {
    const short = Buffer.concat([Buffer.from('{sha256}'), Buffer.alloc(31)]);
    await expect(verifyAnswer(KEY, MODERN_PAYLOAD, short, C)).rejects.toThrow(/authkeys differ.*sha256 digest of 32 bytes, got 31/);
  });

  it('answerFor refuses a challenge with an unknown digest', async () => {
    await expect(answerFor(KEY, Buffer.concat([Buffer.from('{sha1}'), range(0, 40)]), C)).rejects.toThrow(AuthenticationError);
  });

  it("a provider without MD5 (a browser's) refuses a legacy 20-byte challenge, saying it is the legacy handshake", async () => {
    const noMd5: CryptoProvider = { ...NODE_CRYPTO, digests: ['sha256', 'sha384'] };
    const err = await answerFor(KEY, LEGACY_PAYLOAD, noMd5).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as Error).message).toMatch(/legacy/);
    // The same provider still answers a '{sha256}' challenge, and as responder sends nothing for a legacy one.
    expect(toHex((await answerFor(KEY, MODERN_PAYLOAD, noMd5)).subarray(8))).toBe(MODERN_SHA256);
    const { channel, sent } = scripted([payloadOf(LEGACY_FRAME), WELCOME]);
    await expect(answerChallenge(channel, KEY, noMd5)).rejects.toThrow(/legacy/);
    expect(sent).toEqual([]);
  });

  it('toKey takes a string (UTF-8) or bytes, and nothing else', () => {
    expect(Buffer.from(toKey('pässword'))).toEqual(Buffer.from('pässword', 'utf8'));
    const bytes = new Uint8Array([9, 1, 2, 3]).subarray(1);
    expect(Buffer.from(toKey(bytes))).toEqual(Buffer.from([1, 2, 3]));
    expect(() => toKey(42 as unknown as string)).toThrow(TypeError);
  });
});

describe('answerChallenge (the responder)', () => {
  it('answers the legacy vector frame with raw MD5 and accepts WELCOME', async () => {
    const { channel, sent } = scripted([payloadOf(LEGACY_FRAME), WELCOME]);
    await answerChallenge(channel, KEY, C);
    expect(sent.map((b) => b.toString('hex'))).toEqual([LEGACY_MD5]);
  });

  it("answers the modern vector frame with '{sha256}' + HMAC", async () => {
    const { channel, sent } = scripted([payloadOf(MODERN_FRAME), WELCOME]);
    await answerChallenge(channel, KEY, C);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.toString('latin1', 0, 8)).toBe('{sha256}');
    expect(sent[0]!.subarray(8).toString('hex')).toBe(MODERN_SHA256);
  });

  it('raises AuthenticationError saying the authkeys differ when the challenger sends FAILURE', async () => {
    const { channel } = scripted([payloadOf(MODERN_FRAME), FAILURE]);
    await expect(answerChallenge(channel, KEY, C)).rejects.toThrow(AuthenticationError);
    const again = scripted([payloadOf(MODERN_FRAME), FAILURE]);
    await expect(answerChallenge(again.channel, KEY, C)).rejects.toThrow(/authkeys differ/);
  });

  it('treats anything but WELCOME as a rejection', async () => {
    const { channel } = scripted([payloadOf(MODERN_FRAME), Buffer.from('#WELCOME#!')]);
    await expect(answerChallenge(channel, KEY, C)).rejects.toThrow(AuthenticationError);
  });

  it.each([
    ['a wrong prefix', Buffer.concat([Buffer.from('#CHALLENGX#'), MODERN_PAYLOAD])],
    ['a lowercase prefix', Buffer.concat([Buffer.from('#challenge#'), MODERN_PAYLOAD])],
    ['no prefix at all', MODERN_PAYLOAD],
    ['a truncated prefix', Buffer.from('#CHALL')],
    ['an empty frame', Buffer.alloc(0)],
    ['WELCOME in place of a challenge', WELCOME],
  ])('refuses %s without answering', async (_, frame) => {
    const { channel, sent } = scripted([frame, WELCOME]);
    await expect(answerChallenge(channel, KEY, C)).rejects.toThrow(/expected an authentication challenge/);
    expect(sent).toEqual([]);
  });

  it('refuses a challenge shorter than 20 bytes', async () => {
    const { channel, sent } = scripted([Buffer.concat([CHALLENGE, range(0, 19)])]);
    await expect(answerChallenge(channel, KEY, C)).rejects.toThrow(/challenge too short: 19 bytes/);
    expect(sent).toEqual([]);
  });

  it('refuses a challenge with an unsupported digest', async () => {
    const { channel, sent } = scripted([Buffer.concat([CHALLENGE, Buffer.from('{sha1}'), range(0, 40)])]);
    await expect(answerChallenge(channel, KEY, C)).rejects.toThrow(AuthenticationError);
    expect(sent).toEqual([]);
  });
});

describe('deliverChallenge (the challenger)', () => {
  it("sends '#CHALLENGE#{sha256}' + the mark + 32 random bytes (59 bytes, as CPython's) and WELCOME for a right answer", async () => {
    const { channel, sent } = scripted([(s) => answerFor(KEY, lastChallenge(s), C)]);
    await deliverChallenge(channel, KEY, C);
    expect(sent).toHaveLength(2);
    expect(sent[0]).toHaveLength(59);
    expect(toText(sent[0]!.subarray(0, 19))).toBe('#CHALLENGE#{sha256}');
    expect(sent[0]!.subarray(19, 27).toString('hex')).toBe('894d504d0d0a1a0a');
    expect(sent[1]).toEqual(Buffer.from(WELCOME));
  });

  it('sends fresh random bytes every time', async () => {
    const a = scripted([(s) => answerFor(KEY, lastChallenge(s), C)]);
    const b = scripted([(s) => answerFor(KEY, lastChallenge(s), C)]);
    await deliverChallenge(a.channel, KEY, C);
    await deliverChallenge(b.channel, KEY, C);
    expect(a.sent[0]).not.toEqual(b.sent[0]);
  });

  it('accepts a 3.11-style raw HMAC-MD5 over the whole 48-byte payload', async () => {
    const { channel, sent } = scripted([(s) => createHmac('md5', KEY).update(lastChallenge(s)).digest()]);
    await deliverChallenge(channel, KEY, C);
    expect(sent[1]).toEqual(Buffer.from(WELCOME));
  });

  it.each(Object.keys(ANSWER_SIZES))("accepts a '{%s}' answer", async (name) => {
    const { channel, sent } = scripted([(s) => prefixed(name, KEY, lastChallenge(s))]);
    await deliverChallenge(channel, KEY, C);
    expect(sent[1]).toEqual(Buffer.from(WELCOME));
  });

  it.each(Object.keys(ANSWER_SIZES))("offers '{%s}' when asked to", async (name) => {
    const { channel, sent } = scripted([(s) => answerFor(KEY, lastChallenge(s), C)]);
    await deliverChallenge(channel, KEY, C, name);
    expect(toText(sent[0]!.subarray(CHALLENGE.length, CHALLENGE.length + name.length + 2))).toBe(`{${name}}`);
    expect(sent[1]).toEqual(Buffer.from(WELCOME));
  });

  it('refuses to offer a digest outside the set', async () => {
    const { channel, sent } = scripted([]);
    await expect(deliverChallenge(channel, KEY, C, 'sha1')).rejects.toThrow(TypeError);
    expect(sent).toEqual([]);
  });

  it.each([
    ['a wrong key', (s: Buffer[]) => answerFor(WRONG_KEY, lastChallenge(s), C), /authkeys differ/],
    ['a wrong-key raw MD5', (s: Buffer[]) => createHmac('md5', WRONG_KEY).update(lastChallenge(s)).digest(), /authkeys differ/],
    ['an answer to another challenge', () => answerFor(KEY, MODERN_PAYLOAD, C), /authkeys differ/],
    ['a {sha1} answer', (s: Buffer[]) => Buffer.concat([Buffer.from('{sha1}'), createHmac('sha1', KEY).update(lastChallenge(s)).digest()]), /unsupported/],
    ['32 raw bytes', (s: Buffer[]) => createHmac('sha256', KEY).update(lastChallenge(s)).digest(), /unsupported/],
    ['an empty answer', () => Buffer.alloc(0), /unsupported/],
  ])('sends FAILURE and nothing else for %s, then raises AuthenticationError', async (_, reply, message) => {
    const { channel, sent } = scripted([reply]);
    const err = await deliverChallenge(channel, KEY, C).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as Error).message).toMatch(message);
    expect((err as AuthenticationError).code).toBe('MPM_ERR_AUTH');
    expect(sent).toHaveLength(2);
    expect(sent[1]).toEqual(Buffer.from(FAILURE));
  });
});

describe("mpmanager's mark: which peer sent a challenge", () => {
  const marked = (digest: string, random = range(100, 132)) => Buffer.concat([Buffer.from(`{${digest}}`), MPM_MARK, random]);

  it('the mark is 8 fixed bytes: 89 4d 50 4d 0d 0a 1a 0a', () => {
    expect(toHex(MPM_MARK)).toBe('894d504d0d0a1a0a');
  });

  it("peerOf: CPython's challenges (the §2.4 vectors, legacy and modern) are 'cpython'; marked ones 'mpmanager', whatever the digest", () => {
    expect(peerOf(LEGACY_PAYLOAD)).toBe('cpython');
    expect(peerOf(MODERN_PAYLOAD)).toBe('cpython');
    for (const name of ALLOWED_DIGESTS) expect(peerOf(marked(name)), name).toBe('mpmanager');
  });

  it('peerOf: seven bytes of the mark, the mark later on, or nothing after it are not the mark', () => {
    const seven = Buffer.concat([Buffer.from('{sha256}'), MPM_MARK.subarray(0, 7), range(0, 33)]);
    const later = Buffer.concat([Buffer.from('{sha256}'), range(0, 1), MPM_MARK, range(0, 31)]);
    const bare = Buffer.concat([Buffer.from('{sha256}'), MPM_MARK]);
    expect([peerOf(seven), peerOf(later), peerOf(bare)]).toEqual(['cpython', 'cpython', 'cpython']);
  });

  it("a legacy 20-byte challenge is CPython's even if it begins with the mark", () => {
    expect(peerOf(Buffer.concat([MPM_MARK, range(0, 12)]))).toBe('cpython');
  });

  it("answerChallenge resolves with the challenger: 'cpython' for CPython's vectors, 'mpmanager' for ours", async () => {
    expect(await answerChallenge(scripted([payloadOf(LEGACY_FRAME), WELCOME]).channel, KEY, C)).toBe('cpython');
    expect(await answerChallenge(scripted([payloadOf(MODERN_FRAME), WELCOME]).channel, KEY, C)).toBe('cpython');
    const ours = scripted([Buffer.concat([CHALLENGE, marked('sha256')]), WELCOME]);
    expect(await answerChallenge(ours.channel, KEY, C)).toBe('mpmanager');
    // The answer is CPython's: a MAC over the whole payload, mark included.
    expect(ours.sent[0]).toEqual(prefixed('sha256', KEY, marked('sha256')));
  });

  it('a 3.11 peer answers a marked challenge with raw MD5 over all 48 bytes, and passes', async () => {
    const { channel, sent } = scripted([(s) => createHmac('md5', KEY).update(lastChallenge(s)).digest()]);
    await deliverChallenge(channel, KEY, C);
    expect(lastChallenge([sent[0]!]).subarray(8, 16)).toEqual(Buffer.from(MPM_MARK));
    expect(sent[1]).toEqual(Buffer.from(WELCOME));
  });
});

describe('both roles together', () => {
  /** Two scripted channels wired to each other. */
  function linked(): [HandshakeChannel, HandshakeChannel, Buffer[]] {
    const log: Buffer[] = [];
    const make = (inbox: Buffer[], waiters: Array<(b: Buffer) => void>, outInbox: Buffer[], outWaiters: Array<(b: Buffer) => void>): HandshakeChannel => ({
      sendBytes: (b) => {
        const copy = Buffer.from(b);
        log.push(copy);
        const w = outWaiters.shift();
        if (w) w(copy);
        else outInbox.push(copy);
      },
      recvBytes: () => {
        const b = inbox.shift();
        return b ? Promise.resolve(b) : new Promise((resolve) => waiters.push(resolve));
      },
    });
    const aIn: Buffer[] = [];
    const bIn: Buffer[] = [];
    const aW: Array<(b: Buffer) => void> = [];
    const bW: Array<(b: Buffer) => void> = [];
    return [make(aIn, aW, bIn, bW), make(bIn, bW, aIn, aW), log];
  }

  it('runs the six steps of the modern handshake (59, 40, 9, 59, 40, 9 bytes)', async () => {
    const [server, client, log] = linked();
    await Promise.all([serverHandshake(server, KEY, C), clientHandshake(client, KEY, C)]);
    expect(log.map((b) => b.length)).toEqual([59, 40, 9, 59, 40, 9]);
    expect(log[2]).toEqual(Buffer.from(WELCOME));
    expect(log[5]).toEqual(Buffer.from(WELCOME));
  });

  it('each side learns that the other is mpmanager', async () => {
    const [server, client] = linked();
    expect(await Promise.all([serverHandshake(server, KEY, C), clientHandshake(client, KEY, C)])).toEqual(['mpmanager', 'mpmanager']);
  });

  it("the client learns a stock CPython server is one from its first frame, before it sends any of its own", async () => {
    // CPython 3.12+'s server side: '{sha256}' + 40 random bytes, no mark; then it answers ours and welcomes us.
    const challenge = Buffer.concat([Buffer.from('{sha256}'), range(0, 40)]);
    const { channel } = scripted([
      Buffer.concat([CHALLENGE, challenge]),
      WELCOME,
      (s) => prefixed('sha256', KEY, lastChallenge(s)),
    ]);
    expect(await clientHandshake(channel, KEY, C)).toBe('cpython');
  });

  it('fails on both sides with a wrong key; the client is sent FAILURE and the handshake stops there', async () => {
    const [server, client, log] = linked();
    const [s, c] = await Promise.allSettled([serverHandshake(server, KEY, C), clientHandshake(client, WRONG_KEY, C)]);
    expect(s.status === 'rejected' && s.reason).toBeInstanceOf(AuthenticationError);
    expect(c.status === 'rejected' && c.reason).toBeInstanceOf(AuthenticationError);
    expect(s.status === 'rejected' && String(s.reason.message)).toMatch(/authkeys differ/);
    expect(c.status === 'rejected' && String(c.reason.message)).toMatch(/authkeys differ/);
    expect(log.map((b) => b.length)).toEqual([59, 40, 9]);
    expect(log[2]).toEqual(Buffer.from(FAILURE));
  });
});

describe('Connection handshake over an in-memory transport', () => {
  function pair(): [Connection, Connection] {
    const [a, b] = MemoryTransport.pair();
    return [new Connection(a, {}, NODE_RUNTIME), new Connection(b, {}, NODE_RUNTIME)];
  }

  it('authenticates both ways and then carries messages', async () => {
    const [server, client] = pair();
    await Promise.all([server.acceptHandshake('secret-key'), client.connectHandshake(Buffer.from('secret-key'))]);
    client.send({ hello: 'world' });
    expect(await server.recv()).toEqual({ hello: 'world' });
  });

  it("exposes what the handshake showed the peer to be: null before, then 'mpmanager' on both sides", async () => {
    const [server, client] = pair();
    expect([server.peer, client.peer]).toEqual([null, null]);
    await Promise.all([server.acceptHandshake('secret-key'), client.connectHandshake('secret-key')]);
    expect([server.peer, client.peer]).toEqual(['mpmanager', 'mpmanager']);
  });

  it("says 'cpython' for a peer whose challenge has no mark (a stock CPython server, legacy or modern)", async () => {
    for (const payload of [LEGACY_PAYLOAD, MODERN_PAYLOAD]) {
      const [raw, client] = pair();
      const handshake = client.connectHandshake(KEY);
      raw.sendBytes(Buffer.concat([CHALLENGE, payload]));
      const answer = await raw.recvBytes();
      await expect(verifyAnswer(KEY, payload, answer, C)).resolves.toBeUndefined();
      raw.sendBytes(WELCOME);
      const theirs = (await raw.recvBytes()).subarray(CHALLENGE.length);
      raw.sendBytes(await answerFor(KEY, theirs, C));
      expect(await raw.recvBytes()).toEqual(Buffer.from(WELCOME));
      await handshake;
      expect(client.peer).toBe('cpython');
    }
  });

  it('a wrong key fails both sides with AuthenticationError and closes both', async () => {
    const [server, client] = pair();
    const [s, c] = await Promise.allSettled([server.acceptHandshake('secret-key'), client.connectHandshake('other-key')]);
    expect(s.status === 'rejected' && s.reason).toBeInstanceOf(AuthenticationError);
    expect(c.status === 'rejected' && c.reason).toBeInstanceOf(AuthenticationError);
    expect(server.closed).toBe(true);
    expect(client.closed).toBe(true);
  });

  it(`refuses a handshake frame above ${DEFAULT_LIMITS.handshakeFrameSize} bytes, and restores the frame limit afterwards`, async () => {
    const [server, client] = pair();
    const handshake = server.acceptHandshake('secret-key');
    await client.recvBytes(); // the challenge
    client.sendBytes(Buffer.alloc(DEFAULT_LIMITS.handshakeFrameSize + 1));
    await expect(handshake).rejects.toThrow(FrameTooLargeError);

    const [s2, c2] = pair();
    await Promise.all([s2.acceptHandshake('k'), c2.connectHandshake('k')]);
    expect(s2.transport.maxFrameSize).toBeGreaterThan(DEFAULT_LIMITS.handshakeFrameSize);
    c2.sendBytes(Buffer.alloc(4096));
    expect(await s2.recvBytes()).toHaveLength(4096);
  });

  it('times out a silent peer with HandshakeTimeoutError and closes the connection (default 10 s)', async () => {
    expect(DEFAULT_LIMITS.handshakeTimeout).toBe(10_000);
    const [server, client] = pair();
    const err = await server.acceptHandshake('secret-key', { handshakeTimeout: 50 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HandshakeTimeoutError);
    expect((err as HandshakeTimeoutError).code).toBe('MPM_ERR_HANDSHAKE_TIMEOUT');
    expect(server.closed).toBe(true);
    // The silent peer got the challenge, then a close.
    expect(Buffer.from((await client.recvBytes()).subarray(0, CHALLENGE.length))).toEqual(Buffer.from(CHALLENGE));
    await expect(client.recvBytes()).rejects.toThrow(ConnectionClosedError);
  });

  it('Pipe() connections can authenticate too', async () => {
    const [a, b] = Pipe();
    await Promise.all([a.acceptHandshake('k'), b.connectHandshake('k')]);
    a.sendBytes(Buffer.from('ok'));
    expect(toText(await b.recvBytes())).toBe('ok');
  });
});
