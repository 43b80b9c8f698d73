/**
 * An active attacker between two mpmanager peers, over TCP, a Unix socket and WebSocket, for both suites:
 * the relay (test/fixtures/relay.ts) flips a byte of a record, drops one, replays one, swaps two, cuts
 * the stream before the close record, sends an oversized record, or rewrites the key exchange (K1: the
 * policy, the suites, the key, the version; K2: its MAC, or a downgrade to plaintext).
 *
 * Each time the side that detects it fails with `ChannelError` ('record' for records, 'key-exchange' for
 * K1 and K2), the other side sees its connection cut, and the server goes on: relay connection 1, which
 * no rule touches, still gets an encrypted connection. For a manager, a call in flight rejects and a new
 * client (direct, and through the relay) works.
 *
 * Rules that act on records pick them by an index read from what the relay received (records cannot be
 * matched by content: that is the point); rules on K1 and K2 match their magic.
 */
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { SuiteName } from '../../src/channel/index.js';
import { Client, Listener, type Connection } from '../../src/connection/index.js';
import { ChannelError, ConnectionClosedError, FrameTooLargeError } from '../../src/errors.js';
import { SyncManager } from '../../src/manager/sync-manager.js';
import type { Server } from '../../src/server/server.js';
import type { Address } from '../../src/transport/address.js';
import { RelayAction, startRelay, type Dir, type Relay, type RelayRule, type Rewrite } from '../fixtures/relay.js';
import { eventually, TRANSPORTS, type TransportCase } from '../fixtures/transports.js';
import {
  AUTHKEY,
  K1,
  KX_MAGIC,
  KxKind,
  SUITES,
  expectChannelError,
  expectCutOff,
  isKx,
  marker,
  nextBytes,
  nextTick,
  rejection,
  within,
} from './support.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const SUITE_IDS: Readonly<Record<SuiteName, number>> = { 'xsalsa20-poly1305': 1, 'aes-256-gcm': 2 };
const MAC_LENGTH = 32;

interface Pair {
  client: Connection;
  server: Connection;
}

/** A Listener (encryption 'prefer', one suite) behind a relay with `rules`. */
async function relayedListener(t: TransportCase, suite: SuiteName, rules: RelayRule[] = []) {
  const listener = await Listener.listen(t.address(), { authkey: AUTHKEY, encryption: 'prefer', encryptionSuites: [suite] });
  cleanup.push(() => listener.close());
  const relay = await startRelay(t.name, listener.address, rules);
  cleanup.push(() => relay.close());
  const handshakeErrors: Error[] = [];
  listener.on('handshakeError', (err) => handshakeErrors.push(err));
  const clientOptions = { authkey: AUTHKEY, encryption: 'prefer', encryptionSuites: [suite] } as const;
  /** Connects through the relay (its next connection), accepts, and checks an encrypted ping each way. */
  const connect = async (): Promise<Pair> => {
    const [client, server] = await within(Promise.all([Client(relay.address, clientOptions), listener.accept()]), 'connecting through the relay');
    cleanup.push(() => client.close(), () => server.close());
    expect([client.encryption, server.encryption]).toEqual([suite, suite]);
    client.sendBytes(Buffer.from('ping'));
    expect((await nextBytes(server)).toString()).toBe('ping');
    server.sendBytes(Buffer.from('pong'));
    expect((await nextBytes(client)).toString()).toBe('pong');
    return { client, server };
  };
  return { listener, relay, connect, clientOptions, handshakeErrors };
}

/** A rule on the next frame in `dir` of relay connection 0 (by the index it will have). */
function nextFrame(relay: Relay, dir: Dir, action: RelayRule['action']): RelayRule {
  const rule: RelayRule = { dir, index: relay.received(dir, 0).length, action };
  relay.addRule(rule);
  return rule;
}

const ATTACKS = [
  { name: 'a flipped byte', action: RelayAction.Flip },
  { name: 'a dropped record', action: RelayAction.Drop },
  { name: 'a replayed record', action: RelayAction.Replay },
  { name: 'two records swapped', action: RelayAction.Swap },
] as const;

/** K1 rewritten: each change an attacker might try on the server's offer. */
function k1Rewrites(suite: SuiteName): ReadonlyArray<{ name: string; rewrite: Rewrite }> {
  const other = suite === 'aes-256-gcm' ? SUITE_IDS['xsalsa20-poly1305'] : SUITE_IDS['aes-256-gcm'];
  return [
    {
      name: 'its policy byte set to off',
      rewrite: (f) => {
        f[K1.policy] = 0;
        return f;
      },
    },
    {
      // A well-formed 'off' offer (no suites, no key), with the original MAC.
      name: 'stripped to a plaintext offer',
      rewrite: (f) => Buffer.concat([KX_MAGIC, Buffer.from([KxKind.Offer, 1, 0, 0]), f.subarray(f.length - MAC_LENGTH)]),
    },
    {
      name: 'its suite changed',
      rewrite: (f) => {
        f[K1.suites] = other;
        return f;
      },
    },
    {
      name: "the server's key replaced by the relay's",
      rewrite: (f) => {
        const at = K1.suites + (f[K1.count] as number);
        randomBytes(32).copy(f, at);
        return f;
      },
    },
  ];
}

/** K2 rewritten: a changed MAC, and the client's choice turned into plaintext. */
const K2_REWRITES: ReadonlyArray<{ name: string; rewrite: Rewrite }> = [
  {
    name: 'its MAC changed',
    rewrite: (f) => {
      f[f.length - 1] = (f[f.length - 1] as number) ^ 0x01;
      return f;
    },
  },
  {
    name: 'downgraded to plaintext (suite 00, no key, the MAC kept)',
    rewrite: (f) => Buffer.concat([KX_MAGIC, Buffer.from([KxKind.Choice, 0]), f.subarray(f.length - MAC_LENGTH)]),
  },
  {
    name: 'its key replaced by the relay’s',
    rewrite: (f) => {
      randomBytes(32).copy(f, KX_MAGIC.length + 2);
      return f;
    },
  },
];

describe.each(TRANSPORTS)('over $name', (t) => {
  describe.each(SUITES)('with %s', (suite) => {
    describe.each(['c2s', 's2c'] as const)('records %s', (dir) => {
      it.each(ATTACKS)('$name: the receiver fails with ChannelError record, the sender is cut off, the listener goes on', async ({ action }) => {
        const { relay, connect } = await relayedListener(t, suite);
        const { client, server } = await connect();
        const [sender, receiver] = dir === 'c2s' ? [client, server] : [server, client];
        const rule = nextFrame(relay, dir, action);
        // Two records: a frame sent in a later tick is sealed on its own (sealed.ts).
        sender.sendBytes(Buffer.from('first'));
        await nextTick();
        sender.sendBytes(Buffer.from('second'));
        if (action === RelayAction.Replay) expect((await nextBytes(receiver)).toString()).toBe('first');
        const err = expectChannelError(await rejection(receiver.recvBytes(), 'the receiver'), 'record');
        expect(err.message).toMatch(/failed to authenticate: the connection was altered on the way/);
        expectCutOff(await rejection(sender.recvBytes(), 'the sender'));
        expect(relay.hits(rule)).toBe(1);

        const again = await connect(); // relay connection 1: no rule
        again.client.sendBytes(Buffer.from('still serving'));
        expect((await nextBytes(again.server)).toString()).toBe('still serving');
      });
    });

    it('a stream cut before the close record is truncated; with it, the end is clean', async () => {
      const { relay, connect } = await relayedListener(t, suite);
      const first = await connect();
      nextFrame(relay, 'c2s', RelayAction.Drop); // the close record
      first.client.close();
      expectChannelError(await rejection(first.server.recvBytes(), 'the server after a cut'), 'truncated');

      const second = await connect();
      second.client.close();
      const clean = await rejection(second.server.recvBytes(), 'the server after a close');
      expect(clean).toBeInstanceOf(ConnectionClosedError);
      expect(clean).not.toBeInstanceOf(ChannelError);
    });

    it('a record larger than any record may be (1 MiB of junk) fails the connection', async () => {
      const { relay, connect } = await relayedListener(t, suite);
      const { client, server } = await connect();
      nextFrame(relay, 'c2s', () => randomBytes(1 << 20));
      client.sendBytes(Buffer.from('replaced'));
      const err = await rejection(server.recvBytes(), 'the server');
      // Refused by the record layer ('malformed'), or before it by the frame limit under the records.
      if (err instanceof ChannelError) expect(err.reason).toBe('malformed');
      else expect(err).toBeInstanceOf(FrameTooLargeError);
      expectCutOff(await rejection(client.recvBytes(), 'the client'));
      await connect();
    });

    it.each(k1Rewrites(suite))('K1 with $name: the client fails with ChannelError key-exchange, the listener sees a closed connection', async ({ rewrite }) => {
      const rule: RelayRule = { dir: 's2c', match: (f) => isKx(f, KxKind.Offer), action: rewrite };
      const { relay, connect, clientOptions, handshakeErrors } = await relayedListener(t, suite, [rule]);
      const err = expectChannelError(await rejection(Client(relay.address, clientOptions), 'the client'), 'key-exchange');
      expect(err.message).toMatch(/altered the key exchange/);
      expect(relay.hits(rule)).toBe(1);
      await eventually(async () => handshakeErrors.length, 1);
      expect(handshakeErrors).toHaveLength(1);
      expectCutOff(handshakeErrors[0]);
      // The client answered nothing: no K2 went out.
      expect(relay.received('c2s', 0).some((f) => isKx(f))).toBe(false);
      await connect();
    });

    it('K1 with another version: the client says which side to upgrade', async () => {
      const rewrite: Rewrite = (f) => {
        f[K1.version] = 2;
        return f;
      };
      const { relay, connect, clientOptions } = await relayedListener(t, suite, [{ dir: 's2c', match: (f) => isKx(f, KxKind.Offer), action: rewrite }]);
      const err = expectChannelError(await rejection(Client(relay.address, clientOptions), 'the client'), 'key-exchange');
      expect(err.message).toMatch(/key-exchange version 2, this client 1: upgrade the older side/);
      await connect();
    });

    it.each(K2_REWRITES)('K2 with $name: the listener fails with ChannelError key-exchange, the client is cut off', async ({ rewrite }) => {
      const rule: RelayRule = { dir: 'c2s', match: (f) => isKx(f, KxKind.Choice), action: rewrite };
      const { listener, relay, connect, clientOptions } = await relayedListener(t, suite, [rule]);
      const refused = once(listener, 'handshakeError');
      // The client sends K2 and goes on (its first frame follows K2 at once): its connect succeeds.
      const client = await within(Client(relay.address, clientOptions), 'the client');
      cleanup.push(() => client.close());
      expect(client.encryption).toBe(suite);
      const [err] = (await within(refused, 'the handshakeError')) as [Error];
      expectChannelError(err, 'key-exchange');
      expect(err.message).toMatch(/client's key-exchange choice failed its check/);
      expectCutOff(await rejection(client.recvBytes(), 'the client'));
      expect(relay.hits(rule)).toBe(1);
      await connect();
    });
  });
});

describe.each(TRANSPORTS)('a manager over $name', (t) => {
  async function serve(suite: SuiteName): Promise<Server> {
    const server = await new SyncManager(t.address(), { authkey: AUTHKEY, encryption: 'prefer', encryptionSuites: [suite] }).getServer();
    void server.serveForever();
    cleanup.push(() => server.shutdown());
    return server;
  }

  async function connect(address: Address, suite: SuiteName): Promise<SyncManager> {
    const m = await within(new SyncManager(address, { authkey: AUTHKEY, encryption: 'prefer', encryptionSuites: [suite] }).connect(), 'a manager connect');
    cleanup.push(() => m.shutdown());
    expect(m.client.encryption).toBe(suite);
    return m;
  }

  /** A new client works: a dict round trip, encrypted. */
  async function works(address: Address, suite: SuiteName): Promise<void> {
    const m = await connect(address, suite);
    const d = await m.dict<string, string>();
    const value = marker('after');
    await d.set('k', value);
    expect(await d.get('k')).toBe(value);
  }

  describe.each(SUITES)('with %s', (suite) => {
    it.each(['s2c', 'c2s'] as const)('a flipped %s record: the call in flight rejects, the server serves new clients', async (dir) => {
      const server = await serve(suite);
      const relay = await startRelay(t.name, server.address);
      cleanup.push(() => relay.close());
      const m = await connect(relay.address, suite);
      const d = await m.dict<string, string>();
      await d.set('k', 'v');
      const rule: RelayRule = { dir, action: RelayAction.Flip }; // the next frame: the call's request, or its reply
      relay.addRule(rule);
      const err = await rejection(d.get('k'), 'the call in flight');
      expect(err).toBeInstanceOf(ConnectionClosedError);
      if (dir === 's2c') {
        // The client detected it.
        expect(err.message).toMatch(/failed to authenticate/);
        expectChannelError(err.cause, 'record');
      } else if (err.cause !== undefined) {
        // The server detected it and closed: the client saw its connection cut.
        expectCutOff(err.cause);
      }
      expect(relay.hits(rule)).toBe(1);
      expect(m.client.closed).toBe(true);
      expect(await eventually(async () => server.view.connections, 0)).toBe(0);
      await works(server.address, suite);
      await works(relay.address, suite);
    });

    it('K1 rewritten: connect fails with ChannelError key-exchange, the server serves new clients', async () => {
      const server = await serve(suite);
      const rule: RelayRule = {
        dir: 's2c',
        match: (f) => isKx(f, KxKind.Offer),
        action: (f) => {
          f[K1.policy] = 0;
          return f;
        },
      };
      const relay = await startRelay(t.name, server.address, [rule]);
      cleanup.push(() => relay.close());
      const manager = new SyncManager(relay.address, { authkey: AUTHKEY, encryption: 'prefer', encryptionSuites: [suite] });
      expectChannelError(await rejection(manager.connect(), 'the manager connect'), 'key-exchange');
      await works(server.address, suite);
      await works(relay.address, suite);
    });
  });
});
