/**
 * Listener and Connection against raw bytes written with node:net: EOF between and inside frames over a
 * real socket, peers that break the handshake, and the frame caps. Then every address form `listen` and
 * `Client` take, and every one they refuse.
 */
import { NODE_CRYPTO } from '../../src/channel/node-crypto.js';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CHALLENGE, FAILURE, answerFor } from '../../src/connection/auth.js';
import { Client, Listener, arbitraryAddress } from '../../src/connection/index.js';
import {
  AddressError,
  AuthenticationError,
  ConnectionClosedError,
  FrameTooLargeError,
  ProtocolError,
  TruncatedFrameError,
} from '../../src/errors.js';
import type { Address, TcpAddress } from '../../src/transport/address.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function listen(address: Address = ['127.0.0.1', 0], options: Parameters<typeof Listener.listen>[1] = {}): Promise<Listener> {
  const l = await Listener.listen(address, options);
  cleanup.push(() => l.close());
  return l;
}

/** A raw socket to the listener, with everything it receives collected. */
async function raw(address: Address): Promise<{ socket: net.Socket; received(): Buffer; ended: Promise<unknown> }> {
  const socket = Array.isArray(address)
    ? net.connect({ host: (address as TcpAddress)[0], port: (address as TcpAddress)[1] })
    : net.connect({ path: address as string });
  socket.on('error', () => {});
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  const ended = once(socket, 'close');
  await once(socket, 'connect');
  cleanup.push(() => socket.destroy());
  return { socket, received: () => Buffer.concat(chunks), ended };
}

/** Reads `frames` length-prefixed payloads from what a raw socket received. */
function parseFrames(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos + 4 <= bytes.length) {
    const n = bytes.readInt32BE(pos);
    out.push(bytes.subarray(pos + 4, pos + 4 + n));
    pos += 4 + n;
  }
  return out;
}

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe.each([
  ['tcp', (): Address => ['127.0.0.1', 0]],
  ['unix', (): Address => arbitraryAddress()],
])('EOF over a real %s socket', (_, address) => {
  it('between frames is a clean close, after every whole frame was delivered', async () => {
    const listener = await listen(address());
    const peer = await raw(listener.address);
    const accepted = listener.accept();
    peer.socket.end(hex('00000003 616263 00000000'));
    const conn = await accepted;
    expect((await conn.recvBytes()).toString()).toBe('abc');
    expect(await conn.recvBytes()).toHaveLength(0);
    const err = await conn.recvBytes().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect((err as Error).message).toMatch(/peer closed the connection \(EOF\)/);
  });

  it.each([
    ['inside the payload', '00000005 6162', /2 of 5 bytes/],
    ['inside the header', '0000', /2 of 4 bytes/],
    ['inside the 8-byte length', 'ffffffff 0000', /2 of 8 bytes/],
  ])('%s is an error that says so', async (__, bytes, detail) => {
    const listener = await listen(address());
    const peer = await raw(listener.address);
    const accepted = listener.accept();
    peer.socket.write(hex('00000001 78'));
    peer.socket.end(hex(bytes));
    const conn = await accepted;
    expect((await conn.recvBytes()).toString()).toBe('x');
    const err = await conn.recvBytes().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TruncatedFrameError);
    expect((err as Error).message).toMatch(/got end of file during message/);
    expect((err as Error).message).toMatch(detail);
  });
});

describe('hostile and broken peers over TCP', () => {
  it('a negative length closes the connection with ProtocolError', async () => {
    const listener = await listen();
    const peer = await raw(listener.address);
    const accepted = listener.accept();
    peer.socket.write(hex('fffffffe'));
    const conn = await accepted;
    await expect(conn.recvBytes()).rejects.toThrow(ProtocolError);
    await peer.ended;
  });

  it('an 8-byte length of 2^40 is refused from its header, and the peer gets a clean close (FIN, not reset)', async () => {
    const listener = await listen();
    const peer = await raw(listener.address);
    let reset = false;
    peer.socket.on('error', () => (reset = true));
    const accepted = listener.accept();
    peer.socket.write(hex('ffffffff 0000010000000000 00010203'));
    const conn = await accepted;
    const err = await conn.recvBytes().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FrameTooLargeError);
    expect((err as FrameTooLargeError).size).toBe(2 ** 40);
    await once(peer.socket, 'end');
    expect(reset).toBe(false);
  });

  it('the listener sends the challenge first, and a peer that vanishes mid-handshake is reported and delays nobody', async () => {
    const listener = await listen(['127.0.0.1', 0], { authkey: 'secret' });
    const errors: Error[] = [];
    listener.on('handshakeError', (e) => errors.push(e));
    const peer = await raw(listener.address);
    await until(() => peer.received().length >= 4 + 59, 'the challenge');
    const [challenge] = parseFrames(peer.received());
    expect(challenge!.subarray(0, CHALLENGE.length)).toEqual(CHALLENGE);
    expect(challenge!.subarray(CHALLENGE.length, CHALLENGE.length + 8).toString()).toBe('{sha256}');
    expect(challenge).toHaveLength(59);
    peer.socket.destroy();
    await until(() => errors.length === 1, 'handshakeError');
    expect(errors[0]).toBeInstanceOf(ConnectionClosedError);
  });

  it('a handshake frame above 256 bytes is refused', async () => {
    const listener = await listen(['127.0.0.1', 0], { authkey: 'secret' });
    const errors: Error[] = [];
    listener.on('handshakeError', (e) => errors.push(e));
    const peer = await raw(listener.address);
    await until(() => peer.received().length >= 4 + 59, 'the challenge');
    const frame = Buffer.alloc(4 + 257);
    frame.writeInt32BE(257, 0);
    peer.socket.write(frame);
    await until(() => errors.length === 1, 'handshakeError');
    expect(errors[0]).toBeInstanceOf(FrameTooLargeError);
    await peer.ended;
  });

  it('a failing peer is sent #FAILURE# and nothing else, then a close', async () => {
    const listener = await listen(['127.0.0.1', 0], { authkey: 'secret' });
    const errors: Error[] = [];
    listener.on('handshakeError', (e) => errors.push(e));
    const peer = await raw(listener.address);
    await until(() => peer.received().length >= 4 + 59, 'the challenge');
    const [challenge] = parseFrames(peer.received());
    const answer = await answerFor(Buffer.from('wrong'), challenge!.subarray(CHALLENGE.length), NODE_CRYPTO);
    const frame = Buffer.alloc(4);
    frame.writeInt32BE(answer.length, 0);
    peer.socket.write(Buffer.concat([frame, answer]));
    await peer.ended;
    const frames = parseFrames(peer.received());
    expect(frames).toHaveLength(2);
    expect(frames[1]).toEqual(FAILURE);
    expect(peer.received()).toHaveLength(4 + 59 + 4 + 9);
    expect(errors[0]).toBeInstanceOf(AuthenticationError);
    expect(errors[0]!.message).toMatch(/authkeys differ/);
  });
});

describe('Listener.listen and Client: the address forms', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mpm-forms-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const relativeSock = () => {
    const rel = relative(process.cwd(), join(dir, `r${randomBytes(3).toString('hex')}.sock`));
    return rel.includes('/') ? rel : `./${rel}`;
  };

  it.each<[string, () => Address, (bound: Address) => void]>([
    ['IPv4 loopback', () => ['127.0.0.1', 0], (bound) => expect(bound).toEqual(['127.0.0.1', expect.any(Number)])],
    ['a host name', () => ['localhost', 0], (bound) => expect(bound).toEqual(['localhost', expect.any(Number)])],
    ['IPv6 loopback', () => ['::1', 0], (bound) => expect(bound).toEqual(['::1', expect.any(Number)])],
    ['an absolute socket path', () => join(dir, `a${randomBytes(3).toString('hex')}.sock`), (bound) => expect(bound).toMatch(/\.sock$/)],
    ['a relative socket path with a /', relativeSock, (bound) => expect(bound).toMatch(/\.sock$/)],
    ['an abstract name', () => `\0mpm-forms-${process.pid}-${randomBytes(3).toString('hex')}`, (bound) => expect(bound).toMatch(/^\0mpm-forms-/)],
    ['a WebSocket URL', () => 'ws://127.0.0.1:0/mpm', (bound) => expect(bound).toMatch(/^ws:\/\/127\.0\.0\.1:[1-9]\d*\/mpm$/)],
  ])('%s: listens, and a Client connects and authenticates', async (_, address, checkBound) => {
    const listener = await listen(address(), { authkey: 'forms' });
    checkBound(listener.address);
    const [client, server] = await Promise.all([Client(listener.address, { authkey: 'forms' }), listener.accept()]);
    client.send({ hello: 'forms' });
    expect(await server.recv()).toEqual({ hello: 'forms' });
    client.close();
    server.close();
  });

  it.each<[unknown, RegExp]>([
    ['localhost', /^bad address 'localhost': use \['host', port\]/],
    ['foo:bar', /^bad address 'foo:bar': use \['host', port\]/],
    ['127.0.0.1:-1', /^bad address '127\.0\.0\.1:-1'/],
    ['5000', /^bad address '5000'/],
    [':5000', /^bad address ':5000'/],
    ['mpm.sock', /a path with a \/ for a Unix socket/],
    ['127.0.0.1:5000', /in code write \['127\.0\.0\.1', 5000\]/],
    ['@name', /in code write '\\0name'/],
    ['http://127.0.0.1:80/', /only ws:\/\/ and wss:\/\/ URLs are addresses/],
    [['', 0], /no host: write 0\.0\.0\.0 to listen on every interface/],
    [['127.0.0.1', -1], /0 <= port <= 65535/],
    [['127.0.0.1', 65536], /0 <= port <= 65535/],
    [5000, /^bad address 5000/],
  ])('refuses %j with AddressError, and makes no file of that name', async (address, message) => {
    const name = typeof address === 'string' ? address : null;
    const existed = name !== null && existsSync(name);
    const err = await Listener.listen(address as Address, { authkey: 'k' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AddressError);
    expect((err as Error).message).toMatch(message);
    if (name !== null && !existed) expect(existsSync(name)).toBe(false);
    await expect(Client(address as Address, { authkey: 'k' })).rejects.toThrow(AddressError);
  });
});
