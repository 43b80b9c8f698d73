/**
 * TCP and Unix-socket transports at the frame level: no-delay on every TCP socket opened or accepted,
 * whole frames out of a byte stream, EOF between and inside frames, abstract names, path unlinking, a
 * stale socket file taken over (a live one, a regular file or a directory never), connect failures.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AddressError, ConnectionClosedError, FrameTooLargeError, TruncatedFrameError } from '../../src/errors.js';
import { ConnectError, type TcpAddress } from '../../src/transport/address.js';
import { connectTransport, listenTransport } from '../../src/transport/index.js';
import { connectStream, listenStream, type StreamTransport } from '../../src/transport/stream.js';
import type { FrameSink, Transport, TransportServer } from '../../src/transport/types.js';
import { killAll, start } from '../fixtures/processes.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function recorder(): FrameSink & { frames: string[]; closed$: Promise<Error | undefined> } {
  const frames: string[] = [];
  let done!: (e: Error | undefined) => void;
  const closed$ = new Promise<Error | undefined>((r) => (done = r));
  return { frames, closed$, frame: (f) => void frames.push(Buffer.from(f).toString('hex')), closed: (e) => done(e) };
}

async function serve(address: TcpAddress | string = ['127.0.0.1', 0], options = {}) {
  const accepted: StreamTransport[] = [];
  const waiters: Array<(t: StreamTransport) => void> = [];
  const server = await listenStream(address, options, (t) => {
    cleanup.push(() => t.destroy());
    const w = waiters.shift();
    if (w) w(t);
    else accepted.push(t);
  });
  cleanup.push(() => server.close());
  const next = () => {
    const t = accepted.shift();
    return t ? Promise.resolve(t) : new Promise<StreamTransport>((r) => waiters.push(r));
  };
  return { server, next };
}

describe('TCP no-delay', () => {
  it('is set on the socket we open and on the socket we accept', async () => {
    const calls: Array<{ local: number | undefined; remote: number | undefined; on: unknown }> = [];
    const original = net.Socket.prototype.setNoDelay;
    vi.spyOn(net.Socket.prototype, 'setNoDelay').mockImplementation(function (this: net.Socket, on?: boolean) {
      calls.push({ local: this.localPort, remote: this.remotePort, on });
      return original.call(this, on);
    });
    const { server, next } = await serve();
    const port = (server.address as TcpAddress)[1];
    const client = await connectStream(['127.0.0.1', port]);
    cleanup.push(() => client.destroy());
    await next();
    const enabled = calls.filter((c) => c.on === undefined || c.on === true);
    expect(enabled.some((c) => c.remote === port)).toBe(true); // ours, connecting
    expect(enabled.some((c) => c.local === port)).toBe(true); // accepted
    expect(calls.every((c) => c.on !== false)).toBe(true);
  });
});

describe('frames out of a TCP byte stream', () => {
  /** A raw server that writes `bytes` (in the given pieces) to whoever connects, then ends. */
  async function rawServer(pieces: Buffer[], end = true): Promise<TcpAddress> {
    const server = net.createServer(async (socket) => {
      socket.on('error', () => {});
      for (const p of pieces) {
        socket.write(p);
        await new Promise((r) => setTimeout(r, 2));
      }
      if (end) socket.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => server.close(r)));
    return ['127.0.0.1', (server.address() as net.AddressInfo).port];
  }

  it('splits frames arriving in odd pieces and ends cleanly between frames', async () => {
    const stream = hex('00000003 616263 00000000 ffffffff 0000000000000002 6869');
    const address = await rawServer([stream.subarray(0, 2), stream.subarray(2, 9), stream.subarray(9, 15), stream.subarray(15)]);
    const t = await connectStream(address);
    cleanup.push(() => t.destroy());
    const sink = recorder();
    t.start(sink);
    expect(await sink.closed$).toBeUndefined();
    expect(sink.frames).toEqual(['616263', '', '6869']);
  });

  it('reports EOF inside a frame as TruncatedFrameError', async () => {
    const address = await rawServer([hex('00000001 61 00000004 6263')]);
    const t = await connectStream(address);
    cleanup.push(() => t.destroy());
    const sink = recorder();
    t.start(sink);
    const err = await sink.closed$;
    expect(err).toBeInstanceOf(TruncatedFrameError);
    expect(err!.message).toMatch(/got end of file during message: 2 of 4 bytes/);
    expect(sink.frames).toEqual(['61']);
  });

  it('refuses an oversized frame from its header, with no payload sent at all', async () => {
    const address = await rawServer([hex('00100000')], false);
    const t = await connectStream(address, { maxFrameSize: 1024 });
    cleanup.push(() => t.destroy());
    const sink = recorder();
    t.start(sink);
    const err = await sink.closed$;
    expect(err).toBeInstanceOf(FrameTooLargeError);
    expect((err as FrameTooLargeError).size).toBe(0x100000);
  });

  it('a connecting socket reads frames of every size in order, large ones straight into their own buffers', async () => {
    // Sizes around the direct-read threshold and the 64 KiB read buffer, a 16-byte one between large ones,
    // and one large frame sent from several parts.
    const sizes = [0, 5, 16 * 1024 - 1, 16 * 1024 + 3, 64 * 1024 - 4, 64 * 1024 + 1, 16, 300 * 1024, 3, 1024 * 1024 + 7];
    const frames = sizes.map((n, i) => randomBytes(n).fill(i, 0, Math.min(n, 1)));
    const { server, next } = await serve();
    const client = await connectStream(server.address);
    cleanup.push(() => client.destroy());
    const accepted = await next();
    accepted.start(recorder());
    const received: Buffer[] = [];
    let done!: () => void;
    const all = new Promise<void>((r) => (done = r));
    client.start({
      frame: (f) => {
        received.push(Buffer.from(f));
        if (received.length === frames.length) done();
      },
      closed: () => {},
    });
    for (const [i, f] of frames.entries()) {
      if (i === frames.length - 1) accepted.sendParts([f.subarray(0, 1000), f.subarray(1000, 5000), f.subarray(5000)]);
      else accepted.send(f);
    }
    await all;
    expect(received.map((f) => f.length)).toEqual(sizes);
    for (const [i, f] of received.entries()) expect(f.equals(frames[i]!), `frame ${i}`).toBe(true);
  });

  it('refuses to send once closed', async () => {
    const { server, next } = await serve();
    const t = await connectStream(server.address);
    const sink = recorder();
    t.start(sink);
    await next();
    t.close();
    expect(await sink.closed$).toBeUndefined();
    expect(() => t.send(Buffer.from('x'))).toThrow(ConnectionClosedError);
  });
});

describe('Unix sockets', () => {
  it('carry frames over a path, and the path is unlinked on close', async () => {
    const path = join(tmpdir(), `mpm-stream-${process.pid}-${randomBytes(4).toString('hex')}.sock`);
    const { server, next } = await serve(path);
    expect(server.address).toBe(path);
    expect(existsSync(path)).toBe(true);
    const client = await connectStream(path);
    cleanup.push(() => client.destroy());
    const accepted = await next();
    expect(accepted.kind).toBe('unix');
    expect(accepted.peerAddress).toBe('');
    const sink = recorder();
    accepted.start(sink);
    client.start(recorder());
    client.send(Buffer.from('hi'));
    client.close();
    expect(await sink.closed$).toBeUndefined();
    expect(sink.frames).toEqual(['6869']);
    await server.close();
    expect(existsSync(path)).toBe(false);
  });

  it('carry frames over an abstract name, which leaves nothing in the file system', async () => {
    const name = `\0mpm-stream-${process.pid}-${randomBytes(4).toString('hex')}`;
    const { server, next } = await serve(name);
    expect(server.address).toBe(name);
    const client = await connectStream(name);
    cleanup.push(() => client.destroy());
    const accepted = await next();
    const sink = recorder();
    accepted.start(sink);
    client.start(recorder());
    client.send(Buffer.from('abstract'));
    client.close();
    expect(await sink.closed$).toBeUndefined();
    expect(sink.frames).toEqual([Buffer.from('abstract').toString('hex')]);
  });

  it('refuse a path that is in use with AddressError', async () => {
    const path = join(tmpdir(), `mpm-stream-${process.pid}-${randomBytes(4).toString('hex')}.sock`);
    await serve(path);
    const err = await listenStream(path, {}, () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AddressError);
    expect((err as Error).message).toBe(`${path} is in use by another process: stop it, or choose another path`);
    expect(existsSync(path)).toBe(true);
  });
});

describe('an existing file at a Unix socket path', () => {
  afterEach(() => killAll());
  const fresh = () => join(tmpdir(), `mpm-stale-${process.pid}-${randomBytes(4).toString('hex')}.sock`);

  /** A socket file left by a server that was killed (SIGKILL: nothing unlinked it). */
  async function staleSocket(): Promise<string> {
    const path = fresh();
    const child = start(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`]);
    await child.line(/^up$/);
    child.child.kill('SIGKILL');
    await child.exit();
    cleanup.push(() => rmSync(path, { force: true }));
    expect(lstatSync(path).isSocket()).toBe(true);
    return path;
  }

  it('is replaced when it is a stale socket (nobody accepts on it), and the new server works', async () => {
    const path = await staleSocket();
    await expect(connectStream(path)).rejects.toMatchObject({ code: 'MPM_ERR_CONNECT', syscallCode: 'ECONNREFUSED' });
    const { server, next } = await serve(path);
    expect(server.address).toBe(path);
    const client = await connectStream(path);
    cleanup.push(() => client.destroy());
    const accepted = await next();
    const sink = recorder();
    accepted.start(sink);
    client.start(recorder());
    client.send(Buffer.from('fresh'));
    client.close();
    expect(await sink.closed$).toBeUndefined();
    expect(sink.frames).toEqual([Buffer.from('fresh').toString('hex')]);
  });

  it('is left alone when someone accepts on it (another process): AddressError, in use', async () => {
    const path = fresh();
    const child = start(process.execPath, ['-e', `require('node:net').createServer((s) => s.destroy()).listen(${JSON.stringify(path)}, () => console.log('up'))`]);
    cleanup.push(() => rmSync(path, { force: true })); // killed with SIGKILL after the test: nothing unlinks it
    await child.line(/^up$/);
    const err = await listenStream(path, {}, () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AddressError);
    expect((err as Error).message).toBe(`${path} is in use by another process: stop it, or choose another path`);
    expect(lstatSync(path).isSocket()).toBe(true);
    expect(child.child.exitCode).toBeNull();
  });

  it.each([
    ['a regular file', (path: string) => writeFileSync(path, 'precious data')],
    ['a directory', (path: string) => mkdirSync(path)],
  ])('is refused, and never deleted, when it is %s', async (_, make) => {
    const path = fresh();
    make(path);
    cleanup.push(() => rmSync(path, { recursive: true, force: true }));
    const err = await listenStream(path, {}, () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AddressError);
    expect((err as Error).message).toBe(`${path} exists and is not a socket: it was left as it is; remove it yourself, or choose another path`);
    expect(existsSync(path)).toBe(true);
    if (lstatSync(path).isFile()) expect(readFileSync(path, 'utf8')).toBe('precious data');
  });

  it('a path whose directory does not exist is an AddressError that says so', async () => {
    const path = join(tmpdir(), `mpm-no-dir-${process.pid}-${randomBytes(4).toString('hex')}`, 'mgr.sock');
    const err = await listenStream(path, {}, () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AddressError);
    expect((err as Error).message).toMatch(new RegExp(`^cannot create the socket ${path.replace(/[.]/g, '\\.')}: its directory does not exist`));
  });
});

describe('connectTransport / listenTransport', () => {
  it('pick the transport from the address', async () => {
    const made: Transport[] = [];
    const servers: TransportServer[] = [];
    for (const address of [['127.0.0.1', 0] as const, 'ws://127.0.0.1:0/pick']) {
      const server = await listenTransport(address, {}, (t) => made.push(t));
      servers.push(server);
      cleanup.push(() => server.close());
      const t = await connectTransport(server.address);
      cleanup.push(() => t.destroy());
      expect(t.kind).toBe(Array.isArray(address) ? 'tcp' : 'ws');
    }
    await new Promise((r) => setTimeout(r, 20));
    expect(made.map((t) => t.kind).sort()).toEqual(['tcp', 'ws']);
  });

  it('a WebSocket address given to the stream transport is an AddressError', async () => {
    await expect(async () => connectStream('ws://127.0.0.1:1/x')).rejects.toThrow(AddressError);
  });

  it('a refused connection rejects with ConnectError, saying nobody listens there', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((r) => server.close(r));
    const err = await connectStream(['127.0.0.1', port]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect(err).toMatchObject({ code: 'MPM_ERR_CONNECT', syscallCode: 'ECONNREFUSED', cause: expect.objectContaining({ code: 'ECONNREFUSED' }) });
    expect((err as Error).message).toBe(`no manager listening at 127.0.0.1:${port}: is the server running? (ECONNREFUSED)`);
  });

  it('a missing socket file rejects with ConnectError (ENOENT), and so does an abstract name nobody holds', async () => {
    const path = join(tmpdir(), `mpm-missing-${process.pid}-${randomBytes(4).toString('hex')}.sock`);
    const err = await connectStream(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect(err).toMatchObject({ code: 'MPM_ERR_CONNECT', syscallCode: 'ENOENT' });
    expect((err as Error).message).toBe(`no socket file at ${path}: is the server running, and is the path right? (ENOENT)`);
    const name = `mpm-missing-${process.pid}-${randomBytes(4).toString('hex')}`;
    const abstract = await connectStream(`\0${name}`).catch((e: unknown) => e);
    expect(abstract).toMatchObject({ code: 'MPM_ERR_CONNECT', syscallCode: 'ECONNREFUSED' });
    expect((abstract as Error).message).toBe(`no manager listening at @${name}: is the server running? (ECONNREFUSED)`);
  });
});
