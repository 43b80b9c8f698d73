/**
 * Connect failures over every transport reach users as `ConnectError` (code `MPM_ERR_CONNECT`) with the
 * address as they wrote it, a hint, the system error's code in `syscallCode` and the system error as
 * `cause`; a WebSocket endpoint that answers with an HTTP status says so (`httpStatus`), instead of ws's
 * plain `Error('Unexpected server response: 404')`. The errno-to-message table is in address.test.ts.
 */
import { createServer } from 'node:http';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '../../src/connection/index.js';
import { ConnectError } from '../../src/transport/address.js';
import { connectTransport } from '../../src/transport/index.js';
import { connectWebSocket, listenWebSocket } from '../../src/transport/websocket.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A loopback port nobody listens on (bound, then closed). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
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
  expect((err as ConnectError).name).toBe('ConnectError');
  return err as ConnectError;
}

describe('ConnectError from a real failed connect', () => {
  it('TCP: nobody listens on the port (ECONNREFUSED)', async () => {
    const port = await freePort();
    for (const connect of [() => connectTransport(['127.0.0.1', port]), () => Client(['127.0.0.1', port], { authkey: 'k' })]) {
      const err = await failure(connect());
      expect(err.message).toBe(`no manager listening at 127.0.0.1:${port}: is the server running? (ECONNREFUSED)`);
      expect(err.syscallCode).toBe('ECONNREFUSED');
      expect((err.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    }
  });

  it('Unix socket: no such socket file (ENOENT)', async () => {
    const path = join(tmpdir(), `mpm-no-such-${process.pid}-${randomBytes(4).toString('hex')}.sock`);
    const err = await failure(Client(path, { authkey: 'k' }));
    expect(err.message).toBe(`no socket file at ${path}: is the server running, and is the path right? (ENOENT)`);
    expect(err.syscallCode).toBe('ENOENT');
  });

  it('WebSocket: nobody listens on the port (ECONNREFUSED)', async () => {
    const url = `ws://127.0.0.1:${await freePort()}/mpm`;
    const err = await failure(connectTransport(url));
    expect(err.message).toBe(`no manager listening at ${url}: is the server running? (ECONNREFUSED)`);
    expect(err.syscallCode).toBe('ECONNREFUSED');
  });

  it('WebSocket: our server answers another path with 404', async () => {
    const server = await listenWebSocket('ws://127.0.0.1:0/mpm', {}, (t) => t.destroy());
    cleanup.push(() => server.close());
    const url = (server.address as string).replace(/\/mpm$/, '/elsewhere');
    const err = await failure(connectWebSocket(url));
    expect(err.message).toBe(`${url} is not a WebSocket manager endpoint (HTTP 404): check the path`);
    expect(err.httpStatus).toBe(404);
    expect(err.syscallCode).toBeUndefined();
  });

  it.each([
    [401, /\(HTTP 401\): it wants HTTP authentication, which mpmanager does not send$/],
    [404, /\(HTTP 404\): check the path$/],
    [502, /\(HTTP 502\)$/],
  ])('WebSocket: an HTTP server answers the upgrade with %d', async (status, hint) => {
    const http = createServer((_, res) => res.writeHead(status, { 'www-authenticate': 'Basic' }).end('no'));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => http.close(r)));
    const url = `ws://127.0.0.1:${(http.address() as net.AddressInfo).port}/mpm`;
    const err = await failure(connectTransport(url));
    expect(err.message.startsWith(`${url} is not a WebSocket manager endpoint (HTTP ${status})`)).toBe(true);
    expect(err.message).toMatch(hint);
    expect(err.httpStatus).toBe(status);
  });

  it('WebSocket: a server that does not speak HTTP at all (a TCP manager port)', async () => {
    const sockets: net.Socket[] = [];
    const raw = net.createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => {});
      socket.write(Buffer.from('0000000b#CHALLENGE#', 'latin1'));
    });
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => raw.close(r)));
    cleanup.push(() => sockets.forEach((s) => s.destroy()));
    const url = `ws://127.0.0.1:${(raw.address() as net.AddressInfo).port}/mpm`;
    const err = await failure(connectTransport(url));
    expect(err.message.startsWith(`${url} is not a WebSocket manager endpoint: `)).toBe(true);
  });
});
