/**
 * The record layer on its own: two SealedTransports whose records pass through the test, which can
 * deliver, change, drop, replay or reorder them. Both suites.
 */
import { NODE_CRYPTO } from '../../src/channel/node-crypto.js';
import { describe, expect, it } from 'vitest';
import { SealedTransport, MAX_RECORD_DATA, MAX_RECORD_FRAME, type ChannelKeys } from '../../src/channel/sealed.js';
import { SuiteId } from '../../src/channel/suites.js';
import { ChannelError, FrameTooLargeError } from '../../src/errors.js';
import type { FrameSink, Transport } from '../../src/transport/types.js';

/** The transport under a SealedTransport: keeps what is sent; the test delivers it. */
class Wire implements Transport {
  readonly kind = 'memory';
  readonly peerAddress = '';
  readonly encryption = null;
  maxFrameSize = 64 * 1024 * 1024;
  readonly sent: Buffer[] = [];
  closedWith: { error: Error | undefined } | null = null;
  readonly whenClosed = Promise.resolve();
  start(_sink: FrameSink): void {}
  send(payload: Uint8Array): boolean {
    this.sent.push(Buffer.from(payload));
    return true;
  }
  sendParts(parts: readonly Uint8Array[]): boolean {
    this.sent.push(Buffer.concat(parts));
    return true;
  }
  drained(): Promise<void> {
    return Promise.resolve();
  }
  pause(): void {}
  resume(): void {}
  close(): void {
    this.closedWith ??= { error: undefined };
  }
  destroy(error?: Error): void {
    this.closedWith ??= { error };
  }
}

const KEY_A = new Uint8Array(32).fill(7);
const KEY_B = new Uint8Array(32).fill(9);

function pair(suite: 1 | 2, keyUpdate?: { records: number; bytes: number }) {
  const keys = (client: boolean): ChannelKeys => ({ suite, client, send: (client ? KEY_A : KEY_B).slice(), receive: (client ? KEY_B : KEY_A).slice() });
  const wireC = new Wire();
  const wireS = new Wire();
  const client = new SealedTransport(wireC, keys(true), NODE_CRYPTO, keyUpdate ? { keyUpdate } : {});
  const server = new SealedTransport(wireS, keys(false), NODE_CRYPTO, keyUpdate ? { keyUpdate } : {});
  const got: Buffer[] = [];
  let closed: { error: Error | undefined } | null = null;
  server.start({ frame: (f) => got.push(Buffer.from(f)), closed: (error) => (closed = { error }) });
  client.start({ frame: () => {}, closed: () => {} });
  return {
    client,
    server,
    wireC,
    got,
    closed: () => closed,
    /** Hands the server every record the client has sent so far (through `edit`). */
    deliver(edit: (records: Buffer[]) => Buffer[] = (r) => r) {
      const records = edit(wireC.sent.splice(0));
      for (const r of records) server.sink.frame(r);
    },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe.each([
  ['xsalsa20-poly1305', SuiteId.XSalsa20Poly1305],
  ['aes-256-gcm', SuiteId.Aes256Gcm],
] as const)('sealed records, %s', (name, suite) => {
  it('small frames of one tick share records; frames arrive whole and in order', async () => {
    const p = pair(suite);
    expect(p.client.encryption).toBe(name);
    for (let i = 0; i < 100; i++) p.client.send(Buffer.from(`frame ${i}`));
    await tick();
    // Sealed in batches of at most 32 frames, none alone.
    expect(p.wireC.sent.length).toBe(Math.ceil(100 / 32));
    p.deliver();
    expect(p.got.map(String)).toEqual(Array.from({ length: 100 }, (_, i) => `frame ${i}`));
  });

  it('a frame larger than a record spans records and arrives intact, with the empty frame', async () => {
    const p = pair(suite);
    const big = Buffer.alloc(5 * MAX_RECORD_DATA + 123);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    p.client.send(Buffer.alloc(0));
    p.client.sendParts([big.subarray(0, 1000), big.subarray(1000)]);
    p.client.send(Buffer.from('after'));
    await tick();
    for (const r of p.wireC.sent) expect(r.length).toBeLessThanOrEqual(MAX_RECORD_FRAME);
    p.deliver();
    expect(p.got.length).toBe(3);
    expect(p.got[0]!.length).toBe(0);
    expect(p.got[1]!.equals(big)).toBe(true);
    expect(String(p.got[2])).toBe('after');
  });

  it('the bytes on the wire never show the plaintext', async () => {
    const p = pair(suite);
    const secret = 'the-secret-value-0123456789';
    p.client.send(Buffer.from(secret));
    p.client.send(Buffer.from(secret));
    await tick();
    const wire = Buffer.concat(p.wireC.sent);
    expect(wire.includes(secret)).toBe(false);
    p.deliver();
    expect(p.got.map(String)).toEqual([secret, secret]);
  });

  it('keys are updated by volume, and records go on opening across updates', async () => {
    const p = pair(suite, { records: 3, bytes: 1 << 30 });
    for (let i = 0; i < 20; i++) {
      p.client.send(Buffer.from(`n${i}`));
      await tick();
    }
    // 20 data records and a key update after every third.
    expect(p.wireC.sent.length).toBe(20 + 6);
    p.deliver();
    expect(p.got.map(String)).toEqual(Array.from({ length: 20 }, (_, i) => `n${i}`));
    expect(p.closed()).toBeNull();
  });

  async function attacked(edit: (records: Buffer[]) => Buffer[]) {
    const p = pair(suite);
    for (const word of ['one', 'two', 'three']) {
      p.client.send(Buffer.from(word));
      await tick();
    }
    expect(p.wireC.sent.length).toBe(3);
    p.deliver(edit);
    return p;
  }

  it.each([
    ['a flipped byte', (r: Buffer[]) => [r[0]!, Buffer.from(r[1]!.map((b, i) => (i === 5 ? b ^ 1 : b))), r[2]!]],
    ['a dropped record', (r: Buffer[]) => [r[0]!, r[2]!]],
    ['a replayed record', (r: Buffer[]) => [r[0]!, r[0]!, r[1]!]],
    ['two records reordered', (r: Buffer[]) => [r[1]!, r[0]!, r[2]!]],
    ['a truncated record', (r: Buffer[]) => [r[0]!.subarray(0, 10)]],
    ['a record reflected back to its sender', (r: Buffer[]) => r],
  ])('%s fails the connection at once with ChannelError', async (what, edit) => {
    if (what.startsWith('a record reflected')) {
      // The client's own record, fed to the client: its receive key and direction differ.
      const p = pair(suite);
      let closed: Error | undefined;
      const other = new SealedTransport(new Wire(), { suite, client: true, send: KEY_A.slice(), receive: KEY_B.slice() }, NODE_CRYPTO);
      other.start({ frame: () => {}, closed: (e) => (closed = e) });
      p.client.send(Buffer.from('x'));
      await tick();
      other.sink.frame(p.wireC.sent[0]!);
      expect(closed).toBeInstanceOf(ChannelError);
      return;
    }
    const p = await attacked(edit);
    const closed = p.closed();
    expect(closed?.error).toBeInstanceOf(ChannelError);
    expect((closed!.error as ChannelError).reason).toBe('record');
    expect((closed!.error as ChannelError).message).toMatch(/failed to authenticate/);
    // Only what came before the fault was delivered, and the connection under it was closed.
    expect(p.got.length).toBeLessThanOrEqual(1);
  });

  it('a record over the size limit is refused before it is opened', () => {
    const p = pair(suite);
    p.server.sink.frame(Buffer.alloc(MAX_RECORD_FRAME + 1));
    expect((p.closed()?.error as ChannelError).reason).toBe('malformed');
  });

  it('a frame inside the records over maxFrameSize fails as FrameTooLargeError', async () => {
    const p = pair(suite);
    p.server.maxFrameSize = 1000;
    p.client.send(Buffer.alloc(2000));
    await tick();
    p.deliver();
    expect(p.closed()?.error).toBeInstanceOf(FrameTooLargeError);
  });

  it('end of file after the close record is clean; without it, truncated', async () => {
    const clean = pair(suite);
    clean.client.send(Buffer.from('last'));
    clean.client.close();
    clean.deliver();
    clean.server.sink.closed(undefined);
    expect(clean.closed()).toEqual({ error: undefined });
    expect(clean.got.map(String)).toEqual(['last']);
    expect(() => clean.client.send(Buffer.from('more'))).toThrow();

    const cut = pair(suite);
    cut.client.send(Buffer.from('last'));
    cut.deliver();
    cut.server.sink.closed(undefined);
    expect((cut.closed()?.error as ChannelError).reason).toBe('truncated');
  });

  it('a record after the close record is refused', async () => {
    // Two senders with the same keys: one's close record is #0, the other's second data record is #1.
    const p = pair(suite);
    p.client.close();
    const closeRecord = p.wireC.sent.splice(0)[0]!;
    const twinWire: Buffer[] = [];
    p.server.sink.frame(closeRecord);
    expect(p.closed()).toBeNull();
    const wire = new Wire();
    const sender = new SealedTransport(wire, { suite, client: true, send: KEY_A.slice(), receive: KEY_B.slice() }, NODE_CRYPTO);
    sender.send(Buffer.from('a'));
    await tick();
    sender.send(Buffer.from('b'));
    await tick();
    twinWire.push(...wire.sent);
    p.server.sink.frame(twinWire[1]!);
    expect((p.closed()?.error as ChannelError).reason).toBe('malformed');
    expect((p.closed()?.error as ChannelError).message).toMatch(/after the peer closed/);
  });
});
