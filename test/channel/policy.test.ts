/**
 * The encryption policies of two mpmanager peers (src/channel/key-exchange.ts, the table there), with
 * Listener and Client over TCP, a Unix socket and WebSocket, for both suites: every pair of off / prefer
 * / require, which connect and whether encrypted, and what the two refusing pairs say on each side. Then
 * the defaults (policy.ts): a client towards this machine is 'off', beyond it 'prefer'; a listener
 * 'prefer'; which suite is chosen when the lists differ; and options that are not valid.
 */
import { NODE_RUNTIME } from '../../src/connection/node-runtime.js';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { SealedTransport, type EncryptionPolicy, type SuiteName } from '../../src/channel/index.js';
import { Client, Connection, Listener } from '../../src/connection/index.js';
import { InvalidArgumentError } from '../../src/errors.js';
import type { Address } from '../../src/transport/address.js';
import { MemoryTransport } from '../../src/transport/memory.js';
import type { FrameSink, Transport } from '../../src/transport/types.js';
import { TRANSPORTS, type TransportCase } from '../fixtures/transports.js';
import { AUTHKEY, SUITES, expectChannelError, nextBytes, rejection, within } from './support.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

type Outcome = 'clear' | 'encrypted' | 'refused';

/** The table of key-exchange.ts: server policy, then client policy. */
const OUTCOMES: Readonly<Record<EncryptionPolicy, Readonly<Record<EncryptionPolicy, Outcome>>>> = {
  off: { off: 'clear', prefer: 'clear', require: 'refused' },
  prefer: { off: 'clear', prefer: 'encrypted', require: 'encrypted' },
  require: { off: 'refused', prefer: 'encrypted', require: 'encrypted' },
};

const PAIRS = (Object.keys(OUTCOMES) as EncryptionPolicy[]).flatMap((server) =>
  (Object.keys(OUTCOMES[server]) as EncryptionPolicy[]).map((client) => ({ server, client, outcome: OUTCOMES[server][client] })),
);

async function listen(t: TransportCase, options: Parameters<typeof Listener.listen>[1]) {
  const listener = await Listener.listen(t.address(), { authkey: AUTHKEY, ...options });
  cleanup.push(() => listener.close());
  return listener;
}

/** Connects and accepts; checks a message each way and that both ends agree on their encryption. */
async function connectPair(listener: Listener, options: Parameters<typeof Client>[1]) {
  const [client, server] = await within(Promise.all([Client(listener.address, { authkey: AUTHKEY, ...options }), listener.accept()]), 'connecting');
  cleanup.push(() => client.close(), () => server.close());
  client.sendBytes(Buffer.from('to the server'));
  expect((await nextBytes(server)).toString()).toBe('to the server');
  server.sendBytes(Buffer.from('to the client'));
  expect((await nextBytes(client)).toString()).toBe('to the client');
  expect(client.encryption).toBe(server.encryption);
  expect(client.transport instanceof SealedTransport).toBe(client.encryption !== null);
  expect([client.peer, server.peer]).toEqual(['mpmanager', 'mpmanager']);
  return { client, server };
}

/** What a refused client should be told to set, per refusing pair. */
const REMEDY: Readonly<Record<string, RegExp>> = {
  // The server requires encryption; this client has it off.
  'require/off': /requires encryption and this client has encryption 'off': set encryption to 'prefer' or 'require'/,
  // This client requires encryption; the server has it off. The message should say what to change too.
  'off/require': /'prefer'/,
};

describe.each(TRANSPORTS)('policies over $name', (t) => {
  describe.each(SUITES)('with %s', (suite) => {
    it.each(PAIRS)('server $server, client $client: $outcome', async ({ server: serverPolicy, client: clientPolicy, outcome }) => {
      const listener = await listen(t, { encryption: serverPolicy, encryptionSuites: [suite] });
      const options = { encryption: clientPolicy, encryptionSuites: [suite] } as const;
      if (outcome !== 'refused') {
        const { client } = await connectPair(listener, options);
        expect(client.encryption).toBe(outcome === 'encrypted' ? suite : null);
        return;
      }
      const refused = once(listener, 'handshakeError');
      const err = expectChannelError(await rejection(Client(listener.address, { authkey: AUTHKEY, ...options }), 'the refused client'), 'policy');
      expect(err.message).toMatch(/requires encryption/);
      // The listener hears the client's refusal (K2'), with the client's reason.
      const [listenerErr] = (await within(refused, 'the handshakeError')) as [Error];
      expectChannelError(listenerErr, 'policy');
      expect(listenerErr.message).toMatch(/^the client refused the connection: /);
      expect(listenerErr.message).toContain(err.message.slice(0, 40));
      // And goes on serving a client that agrees.
      const { client } = await connectPair(listener, { encryption: 'prefer', encryptionSuites: [suite] });
      expect(client.encryption).toBe(serverPolicy === 'off' ? null : suite);
    });
  });

  it.each([
    { server: 'require', client: 'off' },
    { server: 'off', client: 'require' },
  ] as const)('server $server, client $client: the refused client is told what to set', async ({ server, client }) => {
    const listener = await listen(t, { encryption: server });
    const err = expectChannelError(await rejection(Client(listener.address, { authkey: AUTHKEY, encryption: client }), 'the refused client'), 'policy');
    expect(err.message).toMatch(REMEDY[`${server}/${client}`] as RegExp);
  });

  describe('defaults', () => {
    it('a Client with no encryption option, towards this machine, gets plaintext from a default Listener', async () => {
      const listener = await listen(t, {});
      const { client } = await connectPair(listener, {});
      expect(client.encryption).toBeNull();
    });

    it("encryption: 'prefer' against a default Listener gets aes-256-gcm, Node's first suite", async () => {
      const listener = await listen(t, {});
      const { client } = await connectPair(listener, { encryption: 'prefer' });
      expect(client.encryption).toBe('aes-256-gcm');
    });

    it("a default Listener serves a 'require' client encrypted", async () => {
      const listener = await listen(t, {});
      const { client } = await connectPair(listener, { encryption: 'require' });
      expect(client.encryption).toBe('aes-256-gcm');
    });
  });

  describe('suites', () => {
    it.each<{ server: SuiteName[] | undefined; client: SuiteName[] | undefined; chosen: SuiteName }>([
      { server: undefined, client: ['xsalsa20-poly1305'], chosen: 'xsalsa20-poly1305' },
      { server: ['xsalsa20-poly1305'], client: undefined, chosen: 'xsalsa20-poly1305' },
      // Both speak both: the server's order decides.
      { server: ['xsalsa20-poly1305', 'aes-256-gcm'], client: ['aes-256-gcm', 'xsalsa20-poly1305'], chosen: 'xsalsa20-poly1305' },
      { server: ['aes-256-gcm', 'xsalsa20-poly1305'], client: ['xsalsa20-poly1305', 'aes-256-gcm'], chosen: 'aes-256-gcm' },
    ])('server $server, client $client: $chosen', async ({ server, client, chosen }) => {
      const listener = await listen(t, { encryptionSuites: server });
      const pair = await connectPair(listener, { encryption: 'prefer', encryptionSuites: client });
      expect(pair.client.encryption).toBe(chosen);
    });

    it('no suite in common: the client refuses, naming both lists', async () => {
      const listener = await listen(t, { encryptionSuites: ['aes-256-gcm'] });
      const refused = once(listener, 'handshakeError');
      const err = expectChannelError(
        await rejection(Client(listener.address, { authkey: AUTHKEY, encryption: 'prefer', encryptionSuites: ['xsalsa20-poly1305'] }), 'the client'),
        'policy',
      );
      expect(err.message).toMatch(/no cipher suite in common with the server at .* \(it offers aes-256-gcm; this client speaks xsalsa20-poly1305\)/);
      expectChannelError(((await within(refused, 'the handshakeError')) as [Error])[0], 'policy');
    });
  });
});

describe('options that are not valid', () => {
  it('an unknown policy is refused by Listener.listen and Client before anything is sent', async () => {
    const bad = 'sometimes' as EncryptionPolicy;
    const listenErr = await rejection(Listener.listen(['127.0.0.1', 0], { authkey: AUTHKEY, encryption: bad }), 'listen');
    expect(listenErr).toBeInstanceOf(InvalidArgumentError);
    expect(listenErr.message).toBe('encryption must be one of off, prefer, require, not "sometimes"');
    const listener = await Listener.listen(['127.0.0.1', 0], { authkey: AUTHKEY });
    cleanup.push(() => listener.close());
    expect(await rejection(Client(listener.address, { authkey: AUTHKEY, encryption: bad }), 'connect')).toBeInstanceOf(InvalidArgumentError);
  });

  it('an empty or unknown suite list is refused by Client', async () => {
    const listener = await Listener.listen(['127.0.0.1', 0], { authkey: AUTHKEY });
    cleanup.push(() => listener.close());
    for (const suites of [[], ['rot13']] as unknown as SuiteName[][]) {
      const err = await rejection(Client(listener.address, { authkey: AUTHKEY, encryption: 'prefer', encryptionSuites: suites }), 'connect');
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(err.message).toBe('encryptionSuites must list one or more of aes-256-gcm, xsalsa20-poly1305');
    }
  });

  it("'require' without an authkey (so with no handshake to run the key exchange after) is refused, not served in clear", async () => {
    const listening = await Listener.listen(['127.0.0.1', 0], { encryption: 'require' }).then(
      (listener) => {
        cleanup.push(() => listener.close());
        return listener;
      },
      (err: unknown) => err,
    );
    expect(listening, "Listener.listen with encryption 'require' and no authkey").toBeInstanceOf(InvalidArgumentError);
    const plain = await Listener.listen(['127.0.0.1', 0], {});
    cleanup.push(() => plain.close());
    const connecting = await Client(plain.address, { encryption: 'require' }).then(
      (conn) => {
        cleanup.push(() => conn.close());
        return conn;
      },
      (err: unknown) => err,
    );
    expect(connecting, "Client with encryption 'require' and no authkey").toBeInstanceOf(InvalidArgumentError);
  });

  it('an empty or unknown suite list is refused by Listener.listen, not at every handshake after it', async () => {
    for (const suites of [[], ['rot13']] as unknown as SuiteName[][]) {
      const listening = Listener.listen(['127.0.0.1', 0], { authkey: AUTHKEY, encryptionSuites: suites });
      const outcome = await listening.then(
        async (listener) => {
          await listener.close();
          return null;
        },
        (err: unknown) => err,
      );
      expect(outcome, `encryptionSuites ${JSON.stringify(suites)}`).toBeInstanceOf(InvalidArgumentError);
    }
  });
});

/**
 * A transport that says it is TCP to a host beyond this machine, over an in-memory pair: the default
 * client policy ('prefer' beyond this machine) can be seen without leaving loopback.
 */
class Remote implements Transport {
  readonly kind = 'tcp';
  readonly encryption = null;
  readonly #inner: MemoryTransport;
  readonly peerAddress: Address;
  constructor(inner: MemoryTransport, peerAddress: Address) {
    this.#inner = inner;
    this.peerAddress = peerAddress;
  }
  get maxFrameSize(): number {
    return this.#inner.maxFrameSize;
  }
  set maxFrameSize(n: number) {
    this.#inner.maxFrameSize = n;
  }
  get whenClosed(): Promise<void> {
    return this.#inner.whenClosed;
  }
  start(sink: FrameSink): void {
    this.#inner.start(sink);
  }
  send(payload: Uint8Array): boolean {
    return this.#inner.send(payload);
  }
  sendParts(parts: readonly Uint8Array[]): boolean {
    return this.#inner.sendParts(parts);
  }
  drained(): Promise<void> {
    return this.#inner.drained();
  }
  pause(): void {
    this.#inner.pause();
  }
  resume(): void {
    this.#inner.resume();
  }
  close(): void {
    this.#inner.close();
  }
  destroy(error?: Error): void {
    this.#inner.destroy(error);
  }
}

describe('the default client policy, by where the server is', () => {
  async function handshake(serverAddress: Address): Promise<{ client: Connection; server: Connection }> {
    const [a, b] = MemoryTransport.pair();
    const client = new Connection(new Remote(a, serverAddress), {}, NODE_RUNTIME);
    const server = new Connection(new Remote(b, ['127.0.0.1', 50_000]), {}, NODE_RUNTIME);
    cleanup.push(() => client.close(), () => server.close());
    await within(Promise.all([client.connectHandshake(AUTHKEY), server.acceptHandshake(AUTHKEY)]), 'the handshake');
    client.sendBytes(Buffer.from('hello'));
    expect((await nextBytes(server)).toString()).toBe('hello');
    return { client, server };
  }

  it("is 'prefer' towards a host beyond this machine: a default server encrypts", async () => {
    for (const address of [['203.0.113.7', 6000], ['2001:db8::1', 6000], ['example.com', 6000]] as Address[]) {
      const { client, server } = await handshake(address);
      expect([client.encryption, server.encryption], String(address)).toEqual(['aes-256-gcm', 'aes-256-gcm']);
    }
  });

  it("is 'off' towards a loopback host", async () => {
    for (const address of [['127.0.0.1', 6000], ['127.8.9.10', 6000], ['::1', 6000], ['localhost', 6000]] as Address[]) {
      const { client } = await handshake(address);
      expect(client.encryption, String(address)).toBeNull();
    }
  });
});
