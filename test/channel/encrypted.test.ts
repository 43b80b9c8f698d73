/**
 * What an eavesdropper sees of an encrypted connection, over TCP, a Unix socket and WebSocket, for both
 * suites: a relay (test/fixtures/relay.ts) between the peers records every byte, and none of the values
 * sent (markers in short messages, in an encoded object, in 200 KB buffers, in a manager's dict, in the
 * native hello's shutdownKey) appears in them, while the receiver gets each one. The control: a client
 * with encryption 'off' puts the same values on the wire in clear, so the capture does see them. Frames
 * of every size up to maxFrameSize pass once the key exchange is over (the handshake's 256-byte limit is
 * lifted on both ends), and that limit still holds inside the channel. A wrong authkey still fails as
 * CPython's AuthenticationError, before any key exchange.
 */
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_RECORD_FRAME, SealedTransport, type EncryptionPolicy, type SuiteName } from '../../src/channel/index.js';
import { Client, Listener, type Connection } from '../../src/connection/index.js';
import { AuthenticationError, FrameTooLargeError } from '../../src/errors.js';
import { SyncManager } from '../../src/manager/sync-manager.js';
import { NativeClient } from '../../src/protocol/native-client.js';
import type { Server } from '../../src/server/server.js';
import type { Address } from '../../src/transport/address.js';
import { startRelay, type Dir, type Relay } from '../fixtures/relay.js';
import { TRANSPORTS, type TransportCase } from '../fixtures/transports.js';
import { AUTHKEY, KxKind, SUITES, bigWith, expectCutOff, isKx, marker, nextBytes, rejection, within } from './support.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const DIRS: readonly Dir[] = ['c2s', 's2c'];

async function relayTo(t: TransportCase, target: Address): Promise<Relay> {
  const relay = await startRelay(t.name, target);
  cleanup.push(() => relay.close());
  return relay;
}

/** A Listener behind a relay, and a client connected through it with `clientPolicy`, accepted. */
async function relayedPair(t: TransportCase, suite: SuiteName, clientPolicy: EncryptionPolicy) {
  const listener = await Listener.listen(t.address(), { authkey: AUTHKEY, encryption: 'prefer', encryptionSuites: [suite] });
  cleanup.push(() => listener.close());
  const relay = await relayTo(t, listener.address);
  const [client, server] = await within(
    Promise.all([Client(relay.address, { authkey: AUTHKEY, encryption: clientPolicy, encryptionSuites: [suite] }), listener.accept()]),
    'connecting through the relay',
  );
  cleanup.push(() => client.close(), () => server.close());
  return { listener, relay, client, server };
}

/** The values one exchange carries each way: short messages, an object, and a 200 KB buffer. */
function markers() {
  return { up: marker('c2s'), down: marker('s2c'), object: marker('object'), bigUp: marker('big-c2s'), bigDown: marker('big-s2c') };
}

/** Sends each marker and checks that it arrives as sent. */
async function exchange(client: Connection, server: Connection, m: ReturnType<typeof markers>): Promise<void> {
  client.sendBytes(Buffer.from(m.up));
  client.send({ note: m.object, n: 42 });
  client.sendBytes(bigWith(m.bigUp));
  expect((await nextBytes(server)).toString()).toBe(m.up);
  expect(await within(server.recv(), 'the object')).toEqual({ note: m.object, n: 42 });
  expect((await nextBytes(server)).equals(bigWith(m.bigUp))).toBe(true);
  server.sendBytes(Buffer.from(m.down));
  server.sendBytes(bigWith(m.bigDown));
  expect((await nextBytes(client)).toString()).toBe(m.down);
  expect((await nextBytes(client)).equals(bigWith(m.bigDown))).toBe(true);
}

/** A SyncManager server with `policy`, serving until the test ends. */
async function managerServer(t: TransportCase, suite: SuiteName, policy: EncryptionPolicy = 'prefer'): Promise<Server> {
  const server = await new SyncManager(t.address(), { authkey: AUTHKEY, encryption: policy, encryptionSuites: [suite] }).getServer();
  void server.serveForever();
  cleanup.push(() => server.shutdown());
  return server;
}

async function managerClient(address: Address, suite: SuiteName, policy: EncryptionPolicy): Promise<SyncManager> {
  const m = await within(new SyncManager(address, { authkey: AUTHKEY, encryption: policy, encryptionSuites: [suite] }).connect(), 'a manager connect');
  cleanup.push(() => m.shutdown());
  return m;
}

/** Sets a marker key, a marker value and a 200 KB buffer in a dict through `m`, and reads them back. */
async function dictRoundTrip(m: SyncManager): Promise<{ key: string; value: string; big: string }> {
  const values = { key: marker('dict-key'), value: marker('dict-value'), big: marker('dict-big') };
  const d = await m.dict<string, unknown>();
  await d.set(values.key, values.value);
  await d.set('big', bigWith(values.big));
  expect(await d.get(values.key)).toBe(values.value);
  expect(Buffer.from((await d.get('big')) as Uint8Array).equals(bigWith(values.big))).toBe(true);
  expect(await d.keys()).toContain(values.key);
  return values;
}

function onWire(relay: Relay, dir: Dir, value: string, connection = 0): boolean {
  return relay.bytes(dir, connection).includes(value);
}

/** A frame limit other than the default, to see it hold inside the channel. */
const LIMIT = 256 * 1024;

describe.each(TRANSPORTS)('over $name', (t) => {
  describe.each(SUITES)('encrypted with %s', (suite) => {
    it('frames of every size up to maxFrameSize pass both ways after the key exchange, and the limit holds inside the channel', async () => {
      const options = { authkey: AUTHKEY, encryption: 'prefer', encryptionSuites: [suite], maxFrameSize: LIMIT } as const;
      const listener = await Listener.listen(t.address(), options);
      cleanup.push(() => listener.close());
      const [client, server] = await within(Promise.all([Client(listener.address, options), listener.accept()]), 'connecting');
      cleanup.push(() => client.close(), () => server.close());
      expect([client.encryption, server.encryption]).toEqual([suite, suite]);
      // The handshake's 256-byte limit (CPython's recv_bytes(256)) is over: each side is back to its own.
      expect([client.transport.maxFrameSize, server.transport.maxFrameSize]).toEqual([LIMIT, LIMIT]);
      for (const size of [0, 257, 70_000, LIMIT]) {
        const frame = Buffer.alloc(size, size & 0xff);
        server.sendBytes(frame);
        expect((await nextBytes(client)).equals(frame), `${size} bytes to the client`).toBe(true);
        client.sendBytes(frame);
        expect((await nextBytes(server)).equals(frame), `${size} bytes to the server`).toBe(true);
      }
      client.sendBytes(Buffer.alloc(LIMIT + 1));
      expect(await rejection(server.recvBytes(), 'a frame over the limit')).toBeInstanceOf(FrameTooLargeError);
      expectCutOff(await rejection(client.recvBytes(), 'the client after its peer refused'));
    });

    it('Listener/Client: no marker, short or inside 200 KB, appears on the wire either way, and each arrives', async () => {
      const { relay, client, server } = await relayedPair(t, suite, 'prefer');
      expect([client.encryption, server.encryption]).toEqual([suite, suite]);
      expect(client.transport).toBeInstanceOf(SealedTransport);
      expect(server.transport).toBeInstanceOf(SealedTransport);
      const m = markers();
      await exchange(client, server, m);

      // The relay was on the path: it carried the key exchange, then records of at most MAX_RECORD_FRAME
      // bytes (the 200 KB buffers in several), every byte the peers exchanged.
      const c2s = relay.received('c2s', 0);
      const s2c = relay.received('s2c', 0);
      expect(s2c.filter((f) => isKx(f, KxKind.Offer))).toHaveLength(1);
      expect(c2s.filter((f) => isKx(f, KxKind.Choice))).toHaveLength(1);
      for (const frames of [c2s, s2c]) {
        const records = frames.slice(frames.findIndex((f) => isKx(f)) + 1);
        expect(records.length).toBeGreaterThan(3);
        expect(records.every((r) => r.length <= MAX_RECORD_FRAME)).toBe(true);
      }
      for (const dir of DIRS) {
        expect(relay.bytes(dir).length).toBeGreaterThan(200 * 1024);
        for (const value of Object.values(m)) expect(onWire(relay, dir, value), `${value} on the wire ${dir}`).toBe(false);
      }
    });

    it('a manager: a dict entry set and read back through the relay never appears on the wire', async () => {
      const server = await managerServer(t, suite);
      const relay = await relayTo(t, server.address);
      const m = await managerClient(relay.address, suite, 'prefer');
      expect(m.client.encryption).toBe(suite);
      const values = await dictRoundTrip(m);
      expect(relay.connections).toBe(1);
      for (const dir of DIRS) {
        for (const value of Object.values(values)) expect(onWire(relay, dir, value), `${value} on the wire ${dir}`).toBe(false);
      }
    });

    it("the native hello's shutdownKey never appears on the wire, and still reaches the server", async () => {
      const server = await managerServer(t, suite);
      const relay = await relayTo(t, server.address);
      const client = await within(
        NativeClient.connect(relay.address, { dial: Client, authkey: AUTHKEY, shutdownKey: server.shutdownKey, encryption: 'prefer', encryptionSuites: [suite] }),
        'a native connect',
      );
      cleanup.push(() => client.close());
      expect(client.encryption).toBe(suite);
      expect(await client.call(null, 'number_of_objects')).toBe(0);
      expect(onWire(relay, 'c2s', server.shutdownKey)).toBe(false);
      // The key was in the hello: this connection may shut the server down (no other may).
      await client.call(null, 'shutdown');
      await within(server.whenStopped(), 'the server stopping');
      expect(server.stopped).toBe(true);
    });
  });

  it("control: a client with encryption 'off' puts the same values on the wire in clear", async () => {
    const suite = 'aes-256-gcm';
    const { relay, client, server } = await relayedPair(t, suite, 'off');
    expect([client.encryption, server.encryption]).toEqual([null, null]);
    const m = markers();
    await exchange(client, server, m);
    // The negotiation still ran, and chose plaintext: K2 names suite 00 and carries no key (39 bytes).
    const k2 = relay.received('c2s', 0).find((f) => isKx(f, KxKind.Choice));
    expect(k2?.length).toBe(39);
    expect(k2?.[6]).toBe(0);
    expect([m.up, m.object, m.bigUp].map((v) => onWire(relay, 'c2s', v))).toEqual([true, true, true]);
    expect([m.down, m.bigDown].map((v) => onWire(relay, 's2c', v))).toEqual([true, true]);

    const managed = await managerServer(t, suite);
    const managerRelay = await relayTo(t, managed.address);
    const manager = await managerClient(managerRelay.address, suite, 'off');
    expect(manager.client.encryption).toBeNull();
    const values = await dictRoundTrip(manager);
    expect(Object.values(values).map((v) => onWire(managerRelay, 'c2s', v))).toEqual([true, true, true]);
    expect(onWire(managerRelay, 's2c', values.value)).toBe(true);

    const native = await within(NativeClient.connect(managerRelay.address, { dial: Client, authkey: AUTHKEY, shutdownKey: managed.shutdownKey, encryption: 'off' }), 'a native connect');
    cleanup.push(() => native.close());
    expect(native.encryption).toBeNull();
    expect(onWire(managerRelay, 'c2s', managed.shutdownKey, 1)).toBe(true);
  });

  it('a wrong authkey fails as AuthenticationError before any key exchange, and the server goes on', async () => {
    const listener = await Listener.listen(t.address(), { authkey: AUTHKEY, encryption: 'require' });
    cleanup.push(() => listener.close());
    const relay = await relayTo(t, listener.address);
    const refused = once(listener, 'handshakeError');
    const err = await rejection(Client(relay.address, { authkey: 'not-the-key', encryption: 'require' }), 'a connect with a wrong authkey');
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((await within(refused, 'the handshakeError'))[0]).toBeInstanceOf(AuthenticationError);
    expect(relay.received('s2c', 0)[0]?.subarray(0, 11).toString()).toBe('#CHALLENGE#');
    expect(relay.received('s2c', 0).map((f) => f.toString('latin1'))).toContain('#FAILURE#');
    for (const dir of DIRS) expect(relay.received(dir).some((f) => isKx(f))).toBe(false);

    // A manager server the same way; then the right key gets through, encrypted.
    const server = await managerServer(t, 'aes-256-gcm', 'require');
    const managerRelay = await relayTo(t, server.address);
    const wrong = new SyncManager(managerRelay.address, { authkey: 'not-the-key', encryption: 'require' });
    expect(await rejection(wrong.connect(), 'a manager connect with a wrong authkey')).toBeInstanceOf(AuthenticationError);
    for (const dir of DIRS) expect(managerRelay.received(dir).some((f) => isKx(f))).toBe(false);
    const right = await managerClient(managerRelay.address, 'aes-256-gcm', 'require');
    expect(right.client.encryption).toBe('aes-256-gcm');
    expect(managerRelay.received('s2c', 1).some((f) => isKx(f, KxKind.Offer))).toBe(true);
  });
});
