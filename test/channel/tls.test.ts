/**
 * TLS and the encrypted channel, with the certificates of test/fixtures/tls, over TCP and `wss://`: a TLS
 * connection is encrypted already, so no key exchange runs inside it (key-exchange.ts), its `encryption`
 * is TLS's description, and it satisfies 'require' on either end, whatever the other end's policy. A TCP
 * relay in front (it cannot frame TLS records, so it passes the bytes through raw) sees neither the values
 * sent nor a key-exchange frame. A manager over TLS round-trips a dict.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ENCRYPTION_POLICIES, SealedTransport } from '../../src/channel/index.js';
import { Client, Listener } from '../../src/connection/index.js';
import { SyncManager } from '../../src/manager/sync-manager.js';
import type { Address, TcpAddress } from '../../src/transport/address.js';
import { startRelay, type Relay } from '../fixtures/relay.js';
import { AUTHKEY, KX_MAGIC, TLS_CLIENT, TLS_SERVER, bigWith, marker, nextBytes, within } from './support.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const TLS_DESCRIPTION = /^tls TLSv1\.[23] TLS_[A-Z0-9_]+$/;

const CASES = [
  { name: 'TCP', address: (): Address => ['127.0.0.1', 0] },
  { name: 'wss://', address: (): Address => 'wss://127.0.0.1:0/mpm' },
] as const;

/** The TCP port a listener at `address` is bound to. */
function portOf(address: Address): number {
  return Array.isArray(address) ? (address as TcpAddress)[1] : Number(new URL(address as string).port);
}

/** The same endpoint, reached through `relay` (a TCP relay to its port). */
function through(relay: Relay, address: Address): Address {
  const port = (relay.address as TcpAddress)[1];
  if (Array.isArray(address)) return ['127.0.0.1', port];
  const url = new URL(address as string);
  url.port = String(port);
  return url.toString();
}

async function tcpRelay(target: Address): Promise<Relay> {
  const relay = await startRelay('tcp', ['127.0.0.1', portOf(target)]);
  cleanup.push(() => relay.close());
  return relay;
}

describe.each(CASES)('TLS over $name', ({ address }) => {
  it.each(ENCRYPTION_POLICIES.flatMap((server) => ENCRYPTION_POLICIES.map((client) => ({ server, client }))))(
    'server $server, client $client: connected under TLS, with no key exchange inside it',
    async ({ server: serverPolicy, client: clientPolicy }) => {
      const listener = await Listener.listen(address(), { authkey: AUTHKEY, tls: TLS_SERVER, encryption: serverPolicy });
      cleanup.push(() => listener.close());
      const [client, server] = await within(
        Promise.all([Client(listener.address, { authkey: AUTHKEY, tls: TLS_CLIENT, encryption: clientPolicy }), listener.accept()]),
        'connecting',
      );
      cleanup.push(() => client.close(), () => server.close());
      expect(client.encryption).toMatch(TLS_DESCRIPTION);
      expect(server.encryption).toBe(client.encryption);
      expect(client.transport).not.toBeInstanceOf(SealedTransport);
      expect(server.transport).not.toBeInstanceOf(SealedTransport);
      expect([client.peer, server.peer]).toEqual(['mpmanager', 'mpmanager']);
      client.sendBytes(Buffer.from('over tls'));
      expect((await nextBytes(server)).toString()).toBe('over tls');
    },
  );

  it("require on both ends, through a relay: the relay sees no value and no key-exchange frame", async () => {
    const listener = await Listener.listen(address(), { authkey: AUTHKEY, tls: TLS_SERVER, encryption: 'require' });
    cleanup.push(() => listener.close());
    const relay = await tcpRelay(listener.address);
    const [client, server] = await within(
      Promise.all([Client(through(relay, listener.address), { authkey: AUTHKEY, tls: TLS_CLIENT, encryption: 'require' }), listener.accept()]),
      'connecting through the relay',
    );
    cleanup.push(() => client.close(), () => server.close());
    expect(client.encryption).toMatch(TLS_DESCRIPTION);
    expect(server.transport).not.toBeInstanceOf(SealedTransport);
    const up = marker('tls-c2s');
    const down = marker('tls-s2c');
    client.sendBytes(Buffer.from(up));
    client.sendBytes(bigWith(up));
    expect((await nextBytes(server)).toString()).toBe(up);
    expect((await nextBytes(server)).equals(bigWith(up))).toBe(true);
    server.sendBytes(Buffer.from(down));
    expect((await nextBytes(client)).toString()).toBe(down);
    expect(relay.connections).toBe(1);
    for (const dir of ['c2s', 's2c'] as const) {
      const wire = relay.bytes(dir);
      expect(wire.length).toBeGreaterThan(0);
      expect(wire.includes(up) || wire.includes(down)).toBe(false);
      expect(wire.includes(KX_MAGIC)).toBe(false);
    }
    expect(relay.bytes('c2s').length).toBeGreaterThan(200 * 1024);
  });

  it('a manager with tls on both sides round-trips a dict; a relay in front sees none of it', async () => {
    const server = await new SyncManager(address(), { authkey: AUTHKEY, tls: TLS_SERVER, encryption: 'require' }).getServer();
    void server.serveForever();
    cleanup.push(() => server.shutdown());
    const relay = await tcpRelay(server.address);
    for (const at of [server.address, through(relay, server.address)]) {
      const m = await within(new SyncManager(at, { authkey: AUTHKEY, tls: TLS_CLIENT, encryption: 'require' }).connect(), 'a manager connect');
      cleanup.push(() => m.shutdown());
      expect(m.client.encryption).toMatch(TLS_DESCRIPTION);
      const d = await m.dict<string, string>();
      const key = marker('tls-key');
      const value = marker('tls-value');
      await d.set(key, value);
      expect(await d.get(key)).toBe(value);
      expect(await d.keys()).toEqual([key]);
      if (at !== server.address) {
        for (const dir of ['c2s', 's2c'] as const) expect(relay.bytes(dir).includes(key) || relay.bytes(dir).includes(value)).toBe(false);
      }
    }
    expect(relay.connections).toBe(1);
  });
});
