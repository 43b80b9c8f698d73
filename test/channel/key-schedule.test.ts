/**
 * The key exchange and key schedule come out the same whichever library computes them. The expected
 * values were computed independently, with Python's hashlib and hmac (the script is in the comment at the
 * bottom), and the X25519 values are RFC 7748 §6.1's.
 */
import { describe, expect, it } from 'vitest';
import { naclCrypto, type ChannelCrypto } from '../../src/channel/crypto.js';
import { nodeCrypto } from '../../src/channel/node-crypto.js';
import { KeySchedule, nextKey } from '../../src/channel/key-schedule.js';
import { ServerKeyExchange, clientKeyExchange, type EncryptionPolicy } from '../../src/channel/key-exchange.js';
import { ChannelError } from '../../src/errors.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const str = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const cat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));

// RFC 7748 §6.1.
const ALICE_SECRET = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
const ALICE_PUBLIC = '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a';
const BOB_SECRET = hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
const BOB_PUBLIC = 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f';
const SHARED = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';

const range = (from: number, to: number) => Uint8Array.from({ length: to - from }, (_, i) => from + i);
const MARK = hex('894d504d0d0a1a0a');
const AUTHKEY = str('vector authkey \x00\xff');
const F1 = cat(str('#CHALLENGE#{sha256}'), MARK, range(0, 32));
const F2 = cat(str('{sha256}'), range(100, 132));
const F4 = cat(str('#CHALLENGE#{sha256}'), MARK, range(200, 232));
const F5 = cat(str('{sha256}'), range(50, 82));
const B1 = cat(str('MPMKX\x01\x01\x01\x02\x02\x01'), hex(BOB_PUBLIC));
const B2 = cat(str('MPMKX\x02\x02'), hex(ALICE_PUBLIC));

const EXPECTED = {
  mac1: '27fbd81974a4bbd77a4db8320aeb747dccbc3498215eb01d70c07a168ea58c47',
  mac2: 'ea9133177a3b44c084a36b50e19f99ffa1cfdc044d1448d4c1e4233fca0e1141',
  th: '752e85254a72c7fbef7da29dc19af639ec91b7845e06de8d94dff90f73a531c2ebdaaabc0408867bdb9f7f8d16b24d6f5cff5d85dd872b4464d1f7386580dc7b',
  c2s: '679aced5f9b5a8b0ed10a38e769d61eac7217602af7429458ae79178a7449165',
  s2c: '61d6d07a455212e7d77e89382760eb0447d115fbcf0eda5b7682c4f7f3cd45c2',
  c2sNext: '33e7e71f136b200f1e7d9fda5b44e00dda10871b5da3e00006a30d2c366b951d',
};

const CRYPTOS: ChannelCrypto[] = [nodeCrypto, naclCrypto];

describe.each(CRYPTOS)('key schedule computed with $name', (crypto) => {
  it('X25519 gives RFC 7748 §6.1 public keys and shared secret', () => {
    const alice = crypto.keyPair(ALICE_SECRET);
    const bob = crypto.keyPair(BOB_SECRET);
    expect(toHex(alice.publicKey)).toBe(ALICE_PUBLIC);
    expect(toHex(bob.publicKey)).toBe(BOB_PUBLIC);
    expect(toHex(alice.agree(bob.publicKey))).toBe(SHARED);
    expect(toHex(bob.agree(alice.publicKey))).toBe(SHARED);
  });

  it('a low-order peer key gives an all-zero secret', () => {
    const pair = crypto.keyPair(ALICE_SECRET);
    expect(toHex(pair.agree(new Uint8Array(32)))).toBe('00'.repeat(32));
    expect(toHex(pair.agree(Uint8Array.of(1, ...new Uint8Array(31))))).toBe('00'.repeat(32));
  });

  it('MACs, transcript hash, record keys and key update match the fixed vectors', () => {
    const schedule = new KeySchedule(crypto, AUTHKEY, [F1, F2, F4, F5]);
    const mac1 = schedule.mac1(B1);
    expect(toHex(mac1)).toBe(EXPECTED.mac1);
    const k1 = cat(B1, mac1);
    const mac2 = schedule.mac2(k1, B2);
    expect(toHex(mac2)).toBe(EXPECTED.mac2);
    const th = schedule.transcriptHash(k1, cat(B2, mac2));
    expect(toHex(th)).toBe(EXPECTED.th);
    const keys = schedule.keys(hex(SHARED), th);
    expect(toHex(keys.c2s)).toBe(EXPECTED.c2s);
    expect(toHex(keys.s2c)).toBe(EXPECTED.s2c);
    expect(toHex(nextKey(crypto, keys.c2s))).toBe(EXPECTED.c2sNext);
  });

  it('a different authkey or a different handshake byte changes every MAC', () => {
    const base = toHex(new KeySchedule(crypto, AUTHKEY, [F1, F2, F4, F5]).mac1(B1));
    expect(toHex(new KeySchedule(crypto, str('other'), [F1, F2, F4, F5]).mac1(B1))).not.toBe(base);
    const f5 = F5.slice();
    f5[10] = (f5[10] as number) ^ 1;
    expect(toHex(new KeySchedule(crypto, AUTHKEY, [F1, F2, F4, f5]).mac1(B1))).not.toBe(base);
  });
});

describe('key exchange between the two libraries', () => {
  const options = (crypto: ChannelCrypto, policy: EncryptionPolicy = 'prefer') => ({
    crypto,
    authkey: AUTHKEY,
    handshake: [F1, F2, F4, F5],
    policy,
    suites: ['aes-256-gcm', 'xsalsa20-poly1305'] as const,
  });

  it.each([
    [nodeCrypto, naclCrypto],
    [naclCrypto, nodeCrypto],
    [nodeCrypto, nodeCrypto],
  ])('server and client with different libraries derive the same keys (%#)', (server, client) => {
    const kx = new ServerKeyExchange(options(server));
    const answer = clientKeyExchange(options(client), kx.offer, 'test');
    if ('error' in answer) throw answer.error;
    const done = kx.finish(answer.send);
    expect(done.keys).not.toBeNull();
    expect(answer.result.keys).not.toBeNull();
    expect(toHex(done.keys!.receive)).toBe(toHex(answer.result.keys!.send));
    expect(toHex(done.keys!.send)).toBe(toHex(answer.result.keys!.receive));
    expect(toHex(done.keys!.send)).not.toBe(toHex(done.keys!.receive));
    expect(done.keys!.suite).toBe(2);
  });

  it('the client picks the first of the server suites it speaks', () => {
    const kx = new ServerKeyExchange(options(nodeCrypto));
    const answer = clientKeyExchange({ ...options(naclCrypto), suites: ['xsalsa20-poly1305'] }, kx.offer, 'test');
    if ('error' in answer) throw answer.error;
    expect(kx.finish(answer.send).keys!.suite).toBe(1);
  });

  it('an offer changed on the way fails its MAC at the client', () => {
    const kx = new ServerKeyExchange(options(nodeCrypto));
    for (const at of [7, 9, 20, kx.offer.length - 1]) {
      const k1 = kx.offer.slice();
      k1[at] = (k1[at] as number) ^ 0x01;
      expect(() => clientKeyExchange(options(nodeCrypto), k1, 'test')).toThrow(ChannelError);
    }
  });

  it('a choice changed on the way fails its MAC at the server', () => {
    const kx = new ServerKeyExchange(options(nodeCrypto));
    const answer = clientKeyExchange(options(nodeCrypto), kx.offer, 'test');
    const k2 = answer.send.slice();
    k2[6] = 1; // the suite
    expect(() => kx.finish(k2)).toThrow(/failed its check/);
  });

  it('a different authkey on one side fails the offer', () => {
    const kx = new ServerKeyExchange(options(nodeCrypto));
    expect(() => clientKeyExchange({ ...options(nodeCrypto), authkey: str('wrong') }, kx.offer, 'test')).toThrow(/failed its check/);
  });

  it('policies: off/require refuse, off/prefer agree on plaintext, both MAC-checked', () => {
    const refusal = clientKeyExchange(options(nodeCrypto, 'off'), new ServerKeyExchange(options(nodeCrypto, 'require')).offer, 'test');
    expect('error' in refusal && refusal.error.reason).toBe('policy');
    const server = new ServerKeyExchange(options(nodeCrypto, 'require'));
    expect(() => server.finish(clientKeyExchange(options(nodeCrypto, 'off'), server.offer, 'test').send)).toThrow(/client refused/);
    const plain = new ServerKeyExchange(options(nodeCrypto, 'off'));
    const answer = clientKeyExchange(options(nodeCrypto, 'prefer'), plain.offer, 'test');
    if ('error' in answer) throw answer.error;
    expect(answer.result.keys).toBeNull();
    expect(plain.finish(answer.send).keys).toBeNull();
  });
});

/*
import hmac, hashlib, struct
def lp(*xs): return b''.join(struct.pack('>I', len(x)) + x for x in xs)
def H(k, *m): return hmac.new(k, b''.join(m), hashlib.sha512).digest()
authkey = b'vector authkey \x00\xff'; mark = bytes.fromhex('894d504d0d0a1a0a')
F1 = b'#CHALLENGE#{sha256}' + mark + bytes(range(32)); F2 = b'{sha256}' + bytes(range(100, 132))
F4 = b'#CHALLENGE#{sha256}' + mark + bytes(range(200, 232)); F5 = b'{sha256}' + bytes(range(50, 82))
B1 = b'MPMKX\x01\x01\x01\x02\x02\x01' + BOB_PUBLIC; T0 = lp(F1, F2, F4, F5)
es = H(bytes(64), authkey); mac1 = H(es, b'mpmanager kx1', T0, lp(B1))[:32]; K1 = B1 + mac1
B2 = b'MPMKX\x02\x02' + ALICE_PUBLIC; mac2 = H(es, b'mpmanager kx2', T0, lp(K1, B2))[:32]; K2 = B2 + mac2
th = hashlib.sha512(b'mpmanager enc v1' + T0 + lp(K1, K2)).digest()
okm = H(H(es, SHARED), b'mpmanager enc v1 keys', th, b'\x01'); c2s, s2c = okm[:32], okm[32:]
c2s_next = H(c2s, b'mpmanager key update', b'\x01')[:32]
*/
