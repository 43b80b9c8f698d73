/**
 * Limits on connections, as a shared server needs them (issue #11):
 *
 * - `idleTimeout` (new, off by default): a connection that sends nothing for that long is closed, whether
 *   it never said its first word or went quiet later, in either dialect; one with a call running is not
 *   idle; what a closed connection held is released.
 * - `maxConnectionsPerPeer` (new, off by default): TCP peers are counted by host; the connection over the
 *   limit is closed, other hosts and Unix sockets are not affected, and a slot frees when a connection
 *   closes.
 * - Held before, and must stay so: peers that connect and say nothing are dropped at `handshakeTimeout`
 *   while everyone else is served, and a wrong authkey gets `#FAILURE#` and nothing else. The Listener
 *   tests (test/connection/listener.test.ts) check the bytes for one peer at a time; here it is the manager
 *   server, with many such peers at once and a working client among them.
 */
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthenticationError, ConnectionClosedError, TooManyConnectionsError } from '../../src/errors.js';
import { DEFAULT_LIMITS } from '../../src/limits.js';
import { SyncManager } from '../../src/manager/sync-manager.js';
import type { ManagerOptions } from '../../src/manager/base-manager.js';
import type { Server } from '../../src/server/server.js';
import type { Address } from '../../src/transport/address.js';
import { Client } from '../../src/connection/index.js';
import { CHALLENGE, FAILURE } from '../../src/connection/auth.js';
import { eventually, TRANSPORTS } from '../fixtures/transports.js';
import { AUTHKEY, rawClassicObject, rawConnection, rawSocket } from './support.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A server with no client of its own (a started manager's own connection would count, and go idle). */
async function serve(options: ManagerOptions, address: Address = ['127.0.0.1', 0]): Promise<Server> {
  const server = await new SyncManager(address, { authkey: AUTHKEY, ...options }).getServer();
  void server.serveForever();
  cleanup.push(() => server.shutdown());
  return server;
}

async function connect(address: Address, serializer: 'msgpack' | 'pickle' = 'msgpack'): Promise<SyncManager> {
  const m = await new SyncManager(address, { authkey: AUTHKEY, serializer }).connect();
  cleanup.push(() => m.shutdown());
  return m;
}

/** The address clients use for a server bound to 0.0.0.0. */
function via(server: Server, host: string): Address {
  return [host, (server.address as [string, number])[1]];
}

const IDLE = 300;

describe('idleTimeout', { timeout: 10_000 }, () => {
  it('is off by default', () => {
    expect(DEFAULT_LIMITS.idleTimeout).toBe(0);
  });

  it('closes a connection that authenticates and never sends its first frame', async () => {
    const server = await serve({ idleTimeout: IDLE });
    const conn = await rawConnection(server.address);
    cleanup.push(() => conn.close());
    await expect(conn.recvBytes()).rejects.toBeInstanceOf(ConnectionClosedError);
    expect(server.view.connections).toBe(0);
  });

  it('closes a native session that goes quiet, and releases what it held; a busy or chatty one stays', async () => {
    const server = await serve({ idleTimeout: 3 * IDLE });
    const quiet = await connect(server.address);
    const busy = await connect(server.address);
    const chatty = await connect(server.address);
    const d = await quiet.dict<string, number>();
    await d.set('k', 1);
    const ev = await chatty.Event();
    const waiting = (await busy.rebuild<typeof ev>(ev.toTransferable())).wait();
    let quietClosed: Error | null = null;
    const closed = new Promise<Error>((resolve) => quiet.client.onClose((e) => resolve((quietClosed = e))));
    // The chatty client calls every 100 ms, a third of the idle limit (slack for a loaded machine), until
    // the quiet one is closed; the busy one waits on the event all the while.
    for (let i = 0; i < 60 && quietClosed === null; i++) {
      await new Promise((r) => setTimeout(r, 100));
      expect(await ev.is_set()).toBe(false);
    }
    expect(await closed).toBeInstanceOf(ConnectionClosedError);
    await expect(d.get('k')).rejects.toBeInstanceOf(ConnectionClosedError);
    await ev.set();
    expect(await waiting).toBe(true);
    expect(server.view.objectCount).toBe(1); // the event; the quiet client's dict was released
    expect(server.view.connections).toBe(2);
  });

  it('closes a quiet classic (CPython) object connection', async () => {
    const server = await serve({ idleTimeout: IDLE });
    const raw = await rawClassicObject(server.address);
    cleanup.push(() => raw.conn.close());
    await expect(raw.conn.recv()).rejects.toBeInstanceOf(ConnectionClosedError);
    expect(server.view.connections).toBe(0);
  });
});

/** A non-loopback IPv4 address of this machine, to connect from another host than 127.0.0.1. */
function otherHost(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)?.address;
}

describe('maxConnections', { timeout: 15_000 }, () => {
  it('refuses a connection over the limit, telling the client which limit to raise, and serves the next once one closes', async () => {
    const server = await serve({ maxConnections: 1 });
    const first = await connect(server.address);
    const refused = await new SyncManager(server.address, { authkey: AUTHKEY }).connect().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TooManyConnectionsError);
    expect((refused as Error).message).toMatch(/1 connections already.*raise maxConnections/);
    expect(await (await first.dict()).__len__()).toBe(0);
    await first.shutdown();
    const again = await eventually(
      () => new SyncManager(server.address, { authkey: AUTHKEY }).connect().then((m) => (cleanup.push(() => m.shutdown()), true), () => false),
      true,
    );
    expect(again).toBe(true);
  });
});

describe('maxConnectionsPerPeer', { timeout: 15_000 }, () => {
  it('is off by default', () => {
    expect(DEFAULT_LIMITS.maxConnectionsPerPeer).toBe(0);
  });

  it('refuses a TCP host its connection over the limit, not other hosts; a slot frees when one closes', async () => {
    const server = await serve({ maxConnectionsPerPeer: 2 }, ['0.0.0.0', 0]);
    const local = via(server, '127.0.0.1');
    const first = await connect(local);
    await connect(local);
    // The third is authenticated, then told why in place of its welcome: the limit to raise.
    const refused = await new SyncManager(local, { authkey: AUTHKEY }).connect().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TooManyConnectionsError);
    expect((refused as Error).message).toMatch(/2 connections from 127\.0\.0\.1 already.*raise maxConnectionsPerPeer/);
    // A CPython-dialect client is told the same, as a traceback.
    const classic = await new SyncManager(local, { authkey: AUTHKEY, serializer: 'pickle' }).connect().catch((e: unknown) => e);
    expect(classic).toBeInstanceOf(TooManyConnectionsError);
    expect(server.view.connections).toBe(2);
    const other = otherHost();
    if (other !== undefined) {
      const remote = await connect(via(server, other));
      expect(await (await remote.dict()).__len__()).toBe(0);
    }
    await first.shutdown();
    // The server counts the closed connection out once its socket is closed at both ends.
    const again = await eventually(
      () => new SyncManager(local, { authkey: AUTHKEY }).connect().then((m) => (cleanup.push(() => m.shutdown()), true), () => false),
      true,
    );
    expect(again).toBe(true);
  });

  it.each(TRANSPORTS.filter((t) => t.name === 'unix'))('does not count $name socket peers (they have no host)', async (transport) => {
    const server = await serve({ maxConnectionsPerPeer: 1 }, transport.address());
    const clients = [await connect(server.address), await connect(server.address), await connect(server.address)];
    for (const c of clients) expect(await (await c.dict()).__len__()).toBe(0);
  });
});

describe('peers that never authenticate (held before #11)', { timeout: 15_000 }, () => {
  it('30 silent peers are dropped at the handshake timeout, having been sent only the challenge; a client among them is served', async () => {
    const server = await serve({ handshakeTimeout: 500 });
    const silent = await Promise.all(Array.from({ length: 30 }, () => rawSocket(server.address)));
    const good = await connect(server.address);
    const d = await good.dict<number, number>();
    for (let i = 0; i < 20; i++) await d.set(i, i * i);
    expect(await d.__len__()).toBe(20);
    await Promise.all(silent.map((s) => s.closed));
    for (const s of silent) {
      const challenge = await s.recv();
      expect(challenge?.subarray(0, CHALLENGE.length)).toEqual(CHALLENGE);
      expect(await s.recv()).toBeNull();
      expect(s.received).toBe(4 + 59);
    }
    expect(server.view.connections).toBe(1);
  });

  it('20 peers with a wrong authkey each get #FAILURE# and nothing else, and a client among them is served', async () => {
    const server = await serve({});
    const good = await connect(server.address);
    const d = await good.dict<number, number>();
    const attempts = Array.from({ length: 20 }, async (_, i) => {
      const raw = await rawSocket(server.address);
      await expect(raw.handshake(`wrong-${i}`)).rejects.toBeInstanceOf(AuthenticationError);
      await raw.closed;
      return raw;
    });
    for (let i = 0; i < 20; i++) await d.set(i, i);
    for (const raw of await Promise.all(attempts)) {
      // The challenge (4 + 59 bytes), then #FAILURE# (4 + 9), then the close: no traceback, nothing else.
      expect(raw.received).toBe(4 + 59 + 4 + FAILURE.length);
    }
    await expect(Client(server.address, { authkey: 'not-the-key' })).rejects.toBeInstanceOf(AuthenticationError);
    expect(await d.__len__()).toBe(20);
    expect(server.view.connections).toBe(1);
  });
});
