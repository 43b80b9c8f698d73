/**
 * TLS on the transports: frames through TLS over TCP, a Unix socket and `wss://`; `encryption` on both
 * ends (and null in clear); an untrusted server, a wrong host name, client certificates asked for and
 * refused; listening without what TLS needs; a TLS handshake that never completes. The certificates are
 * test/fixtures/tls/ (made offline by make-certs.sh there, valid for a century).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AddressError } from '../../src/errors.js';
import { ConnectError, formatAddress, type Address, type TcpAddress } from '../../src/transport/address.js';
import { connectTransport, listenTransport, type TlsOptions } from '../../src/transport/index.js';
import { MemoryTransport } from '../../src/transport/memory.js';
import type { StreamListenOptions } from '../../src/transport/stream.js';
import type { FrameSink, Transport } from '../../src/transport/types.js';
import { TRANSPORTS } from '../fixtures/transports.js';

const pem = (name: string): Buffer => readFileSync(new URL(`../fixtures/tls/${name}.pem`, import.meta.url));
const CA = pem('ca');
const SERVER: TlsOptions = { key: pem('server-key'), cert: pem('server') };
/** The client's key is encrypted (make-certs.sh, CLIENT_PASSPHRASE). */
const CLIENT: TlsOptions = { key: pem('client-key'), cert: pem('client'), passphrase: 'mpmanager-test' };
/** Self-signed: no CA of ours signed it. */
const STRANGER: TlsOptions = { key: pem('stranger-key'), cert: pem('stranger') };

const TLS_DESCRIPTION = /^tls TLSv1\.3 TLS_[A-Z0-9_]+$/;

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A sink that keeps copies of the frames, and can wait for a number of them or for the close. */
function recorder(): FrameSink & { frames: Buffer[]; take(n: number): Promise<Buffer[]>; closed$: Promise<Error | undefined> } {
  const frames: Buffer[] = [];
  let wake = () => {};
  let done!: (e: Error | undefined) => void;
  const closed$ = new Promise<Error | undefined>((r) => (done = r));
  return {
    frames,
    closed$,
    frame: (f) => {
      frames.push(Buffer.from(f));
      wake();
    },
    closed: (e) => {
      done(e);
      wake();
    },
    take: async (n) => {
      while (frames.length < n) await new Promise<void>((r) => (wake = r));
      return frames.splice(0, n);
    },
  };
}

/** Listens at `address`; every transport accepted echoes each frame back. `next()` is the next one accepted. */
async function echoServer(address: Address, options: StreamListenOptions) {
  const accepted: Transport[] = [];
  const waiters: Array<(t: Transport) => void> = [];
  const server = await listenTransport(address, options, (t) => {
    cleanup.push(() => t.destroy());
    t.start({ frame: (f) => void t.send(Buffer.from(f)), closed: () => {} });
    const w = waiters.shift();
    if (w) w(t);
    else accepted.push(t);
  });
  cleanup.push(() => server.close());
  const next = () => {
    const t = accepted.shift();
    return t ? Promise.resolve(t) : new Promise<Transport>((r) => waiters.push(r));
  };
  return { address: server.address, next };
}

async function connect(address: Address, tls: TlsOptions | undefined): Promise<Transport> {
  const t = await connectTransport(address, { tls });
  cleanup.push(() => t.destroy());
  return t;
}

/** Sends a few frames (a large one, one in parts, an empty one) and expects them echoed back in order. */
async function roundTrip(client: Transport): Promise<void> {
  const sink = recorder();
  client.start(sink);
  const big = randomBytes(200 * 1024);
  client.send(Buffer.from('first'));
  client.send(big);
  client.sendParts([Buffer.from('in '), Buffer.from('three '), Buffer.from('parts')]);
  client.send(Buffer.alloc(0));
  client.send(Buffer.from('last'));
  const got = await sink.take(5);
  expect(got.map((f) => f.length)).toEqual([5, big.length, 14, 0, 4]);
  expect(got[0]?.toString()).toBe('first');
  expect(got[1]?.equals(big)).toBe(true);
  expect(got[2]?.toString()).toBe('in three parts');
  expect(got[4]?.toString()).toBe('last');
}

async function failure(promise: Promise<unknown>): Promise<ConnectError> {
  const err = await promise.then(
    () => {
      throw new Error('connected, but it was expected to fail');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConnectError);
  expect((err as ConnectError).code).toBe('MPM_ERR_CONNECT');
  return err as ConnectError;
}

const unixPath = (TRANSPORTS.find((t) => t.name === 'unix') as (typeof TRANSPORTS)[number]).address;
const SECURE_CASES = [
  { name: 'tcp', address: (): Address => ['127.0.0.1', 0] },
  { name: 'unix', address: unixPath },
  { name: 'wss', address: (): Address => 'wss://127.0.0.1:0/mpm' },
] as const;

describe.each(SECURE_CASES)('TLS over $name', ({ address }) => {
  it('carries frames of every size, and both ends report the TLS in use as their encryption', async () => {
    const server = await echoServer(address(), { tls: SERVER });
    const client = await connect(server.address, { ca: CA });
    const accepted = await server.next();
    await roundTrip(client);
    expect(client.encryption).toMatch(TLS_DESCRIPTION);
    expect(accepted.encryption).toBe(client.encryption);
  });

  it('keeps what a server sends first (as its authentication challenge), arriving with the end of the TLS handshake', async () => {
    const server = await listenTransport(address(), { tls: SERVER }, (t) => {
      cleanup.push(() => t.destroy());
      t.send(Buffer.from('welcome'));
      t.start({ frame: (f) => void t.send(Buffer.from(f)), closed: () => {} });
    });
    cleanup.push(() => server.close());
    const client = await connect(server.address, { ca: CA });
    const sink = recorder();
    client.start(sink);
    client.send(Buffer.from('hello'));
    expect((await sink.take(2)).map(String)).toEqual(['welcome', 'hello']);
  });

  it('refuses a server whose certificate no trusted CA signed, saying to pass its CA in tls.ca', async () => {
    const stranger = await echoServer(address(), { tls: STRANGER });
    const err = await failure(connectTransport(stranger.address, { tls: { ca: CA } }));
    expect(err.message).toBe(
      `the certificate of ${formatAddress(stranger.address)} is not trusted: pass the CA that signed it in tls.ca ` +
        '(for a self-signed certificate, the certificate itself) (DEPTH_ZERO_SELF_SIGNED_CERT)',
    );
    // Without tls.ca, Node's public CAs are trusted, and they did not sign ours either.
    const ours = await echoServer(address(), { tls: SERVER });
    expect((await failure(connectTransport(ours.address, { tls: {} }))).message).toMatch(/ is not trusted: pass the CA that signed it in tls\.ca/);
    // Trusting the stranger's certificate itself (its own CA) lets the client in.
    await roundTrip(await connect(stranger.address, { ca: STRANGER.cert }));
  });

  it('with requestCert, lets in a client with a certificate signed by tls.ca and refuses the others at the TLS layer', async () => {
    const server = await echoServer(address(), { tls: { ...SERVER, ca: CA, requestCert: true } });
    // No certificate: the server's alert says so (TLS 1.3's certificate_required); over wss://, should the
    // server's close overtake its alert (the client has sent its upgrade request by then), the close.
    const none = await failure(connectTransport(server.address, { tls: { ca: CA } }));
    expect(none.message).toMatch(/(requires a client certificate|did not accept this client's certificate)[:;] pass one signed by a CA it trusts in tls\.cert and tls\.key/);
    const stranger = await failure(connectTransport(server.address, { tls: { ca: CA, ...STRANGER } }));
    expect(stranger.message).toMatch(/did not accept this client's certificate; pass one signed by a CA it trusts in tls\.cert and tls\.key/);
    // The server goes on serving: the refused clients were dropped, nothing else happened.
    const client = await connect(server.address, { ca: CA, ...CLIENT });
    await roundTrip(client);
    expect((await server.next()).encryption).toBe(client.encryption);
  });
});

describe('encryption in clear', () => {
  it.each(TRANSPORTS)('is null on both ends over $name without tls', async ({ address }) => {
    const server = await echoServer(address(), {});
    const client = await connect(server.address, undefined);
    await roundTrip(client);
    expect(client.encryption).toBeNull();
    expect((await server.next()).encryption).toBeNull();
  });

  it('is null for an in-memory pair', () => {
    const [a, b] = MemoryTransport.pair();
    expect([a.encryption, b.encryption]).toEqual([null, null]);
  });
});

describe('TLS connect failures say what to fix', () => {
  it('a certificate for other names: the host name to use, or tls.servername', async () => {
    const server = await echoServer(['127.0.0.1', 0], { tls: SERVER });
    const err = await failure(connectTransport(server.address, { tls: { ca: CA, servername: 'elsewhere.example' } }));
    expect(err.message).toMatch(/^the certificate of 127\.0\.0\.1:\d+ is not for that host \(.*elsewhere\.example.*\): /);
    expect(err.message).toMatch(/: connect by a name it lists, or give that name as tls\.servername \(ERR_TLS_CERT_ALTNAME_INVALID\)$/);
    // A name it lists is checked instead of the address's host.
    await roundTrip(await connect(server.address, { ca: CA, servername: 'localhost' }));
  });

  it('rejectUnauthorized: false (tests only) connects to a server nobody vouches for', async () => {
    const server = await echoServer(['127.0.0.1', 0], { tls: STRANGER });
    const client = await connect(server.address, { rejectUnauthorized: false });
    await roundTrip(client);
    expect(client.encryption).toMatch(TLS_DESCRIPTION);
  });

  it('an encrypted key without its passphrase, and a key without its certificate', async () => {
    const server = await echoServer(['127.0.0.1', 0], { tls: { ...SERVER, ca: CA, requestCert: true } });
    const at = formatAddress(server.address);
    const noPass = await failure(connectTransport(server.address, { tls: { ca: CA, key: CLIENT.key, cert: CLIENT.cert } }));
    expect(noPass.message).toBe(`cannot connect to ${at}: tls.key is encrypted, and tls.passphrase is missing or wrong (ERR_OSSL_BAD_DECRYPT)`);
    const keyOnly = await failure(connectTransport(server.address, { tls: { ca: CA, key: SERVER.key } }));
    expect(keyOnly.message).toBe(`cannot connect to ${at}: tls.key was given without its tls.cert`);
  });

  it('a server without TLS (it speaks first, as an mpmanager server does)', async () => {
    const plain = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.resume(); // reading, it sees the client go
      socket.write(Buffer.from('0000000b2343484c4c454e4745', 'hex'));
    });
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => plain.close(r)));
    const port = (plain.address() as net.AddressInfo).port;
    const err = await failure(connectTransport(['127.0.0.1', port], { tls: { ca: CA } }));
    expect(err.message).toMatch(new RegExp(`^127\\.0\\.0\\.1:${port} does not speak TLS: connect without tls, or give the server tls\\.key and tls\\.cert \\(ERR_SSL_`));
  });

  it('a server that never completes the handshake: the connect rejects after handshakeTimeout', async () => {
    const silent = net.createServer((socket) => socket.on('error', () => {}).resume());
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    cleanup.push(() => silent.close());
    const port = (silent.address() as net.AddressInfo).port;
    const err = await failure(connectTransport(['127.0.0.1', port], { tls: { ca: CA }, handshakeTimeout: 50 }));
    expect(err.message).toBe(`127.0.0.1:${port} did not complete the TLS handshake within 50 ms: is it a TLS server? (raise handshakeTimeout if the link is slow)`);
  });
});

describe('a TLS server', () => {
  it('drops a client that never completes its TLS handshake, after handshakeTimeout', async () => {
    const server = await echoServer(['127.0.0.1', 0], { tls: SERVER, handshakeTimeout: 50 });
    const [host, port] = server.address as TcpAddress;
    const silent = net.connect({ host, port });
    cleanup.push(() => silent.destroy());
    silent.on('error', () => {});
    await new Promise((r) => silent.once('close', r));
  });

  it('drops a client speaking in clear, and goes on serving', async () => {
    const server = await echoServer(['127.0.0.1', 0], { tls: SERVER });
    const plain = await connect(server.address, undefined);
    const sink = recorder();
    plain.start(sink);
    plain.send(Buffer.from('hello in clear'));
    await sink.closed$;
    expect(sink.frames).toEqual([]);
    await roundTrip(await connect(server.address, { ca: CA }));
  });
});

describe('listening with TLS needs what TLS needs', () => {
  it('a wss:// address without tls key and cert is refused', async () => {
    await expect(listenTransport('wss://127.0.0.1:0/mpm', {}, () => {})).rejects.toThrow(
      new AddressError(
        'cannot listen with TLS on wss://127.0.0.1:0/mpm: a TLS server needs tls.key and tls.cert (its private key and certificate, PEM)',
      ),
    );
    await expect(listenTransport('wss://127.0.0.1:0/mpm', { tls: { ca: CA } }, () => {})).rejects.toBeInstanceOf(AddressError);
  });

  it('a ws:// address with tls is refused, for listening and connecting: it is written wss://', async () => {
    const message = 'ws://127.0.0.1:0/mpm is a plain WebSocket address, but tls was given: write it as wss://127.0.0.1:0/mpm';
    await expect(listenTransport('ws://127.0.0.1:0/mpm', { tls: SERVER }, () => {})).rejects.toThrow(new AddressError(message));
    await expect(connectTransport('ws://127.0.0.1:0/mpm', { tls: { ca: CA } })).rejects.toThrow(new AddressError(message));
  });

  it('TCP: no certificate, requestCert without ca, a key that is not the certificate\'s', async () => {
    const listen = (tls: TlsOptions) => listenTransport(['127.0.0.1', 0], { tls }, () => {});
    await expect(listen({ key: SERVER.key })).rejects.toThrow(
      new AddressError('cannot listen with TLS on 127.0.0.1:0: a TLS server needs tls.key and tls.cert (its private key and certificate, PEM)'),
    );
    await expect(listen({ ...SERVER, requestCert: true })).rejects.toThrow(
      new AddressError('cannot listen with TLS on 127.0.0.1:0: tls.requestCert needs tls.ca: the CA certificates that client certificates must be signed by'),
    );
    await expect(listen({ key: SERVER.key, cert: STRANGER.cert })).rejects.toThrow(
      new AddressError('cannot listen with TLS on 127.0.0.1:0: tls.key is not the private key of tls.cert (ERR_OSSL_X509_KEY_VALUES_MISMATCH)'),
    );
  });
});
