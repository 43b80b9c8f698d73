/**
 * A WebSocket listener on an HTTP server of the user's, and the Origin check that refuses other sites'
 * pages before any handshake (src/transport/websocket.ts `originAllowed`). Browsers always send Origin;
 * here `ws` sends it as a browser would.
 */
import { once } from 'node:events';
import { createServer, get, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { listenWebSocket, originAllowed } from '../../src/transport/websocket.js';
import type { Transport, TransportServer } from '../../src/transport/types.js';
import { SyncManager } from '../../src/manager/sync-manager.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function page(): HttpServer {
  const http = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('the page'));
  cleanup.push(() => new Promise((r) => http.close(r)));
  return http;
}

async function listen(options: Parameters<typeof listenWebSocket>[1]): Promise<{ server: TransportServer; accepted: Transport[] }> {
  const accepted: Transport[] = [];
  const server = await listenWebSocket('ws://127.0.0.1:0/mpm', options, (t) => {
    accepted.push(t);
    cleanup.push(() => t.destroy());
  });
  cleanup.push(() => server.close());
  return { server, accepted };
}

/** Opens a WebSocket as a page of `origin` would (undefined: as Node and Python clients do, without one). */
async function open(address: string, origin?: string): Promise<{ status: number | 'open'; body: string }> {
  const ws = new WebSocket(address, origin === undefined ? {} : { origin });
  return new Promise((resolve) => {
    ws.once('open', () => {
      ws.close();
      resolve({ status: 'open', body: '' });
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('error', () => {});
  });
}

describe('originAllowed', () => {
  it('allows the server\'s own origin, loopback pages by default, the listed ones, or any with *', () => {
    expect(originAllowed('http://example.com:8080', 'example.com:8080', undefined)).toBe(true);
    expect(originAllowed('http://localhost:3000', 'example.com:8080', undefined)).toBe(true);
    expect(originAllowed('http://127.0.0.1:3000', '127.0.0.1:9', undefined)).toBe(true);
    expect(originAllowed('http://[::1]:3000', '127.0.0.1:9', undefined)).toBe(true);
    expect(originAllowed('https://evil.example', '127.0.0.1:9', undefined)).toBe(false);
    expect(originAllowed('null', '127.0.0.1:9', undefined)).toBe(false);
    expect(originAllowed('https://app.example.com', '10.0.0.2:9', ['https://app.example.com'])).toBe(true);
    // A list replaces the loopback default; the server's own origin stays allowed.
    expect(originAllowed('http://localhost:3000', '10.0.0.2:9', ['https://app.example.com'])).toBe(false);
    expect(originAllowed('http://10.0.0.2:9', '10.0.0.2:9', [])).toBe(true);
    expect(originAllowed('https://evil.example', '10.0.0.2:9', '*')).toBe(true);
  });
});

describe('a WebSocket listener on an HTTP server of the user\'s', () => {
  it('shares the server with the page: the page is served, the socket upgrades at its path, other paths stay the user\'s', async () => {
    const http = page();
    const { server, accepted } = await listen({ httpServer: http });
    const port = (http.address() as AddressInfo).port;
    expect(server.address).toBe(`ws://127.0.0.1:${port}/mpm`);
    const body = await new Promise<string>((resolve) => get(`http://127.0.0.1:${port}/`, (res) => res.setEncoding('utf8').on('data', resolve)));
    expect(body).toBe('the page');
    expect((await open(server.address as string, `http://127.0.0.1:${port}`)).status).toBe('open');
    await expect.poll(() => accepted.length).toBe(1);
    expect(accepted[0]?.origin).toBe(`http://127.0.0.1:${port}`);
    // Closing the listener leaves the user's server serving.
    await server.close();
    const again = await new Promise<number>((resolve) => get(`http://127.0.0.1:${port}/`, (res) => (res.resume(), resolve(res.statusCode ?? 0))));
    expect(again).toBe(200);
  });

  it('uses a server already listening, on its own port', async () => {
    const http = page();
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    const { server } = await listen({ httpServer: http });
    expect(server.address).toBe(`ws://127.0.0.1:${(http.address() as AddressInfo).port}/mpm`);
  });

  it('refuses tls next to httpServer (TLS is that server\'s)', async () => {
    await expect(listenWebSocket('wss://127.0.0.1:0/mpm', { httpServer: page(), tls: { key: 'k', cert: 'c' } }, () => {})).rejects.toThrow(/httpServer/);
  });
});

describe('the Origin check', () => {
  it('refuses another site\'s page with 403 and a reason, before any handshake; pages of loopback and clients without Origin connect', async () => {
    const { server, accepted } = await listen({});
    const address = server.address as string;
    const refused = await open(address, 'https://evil.example');
    expect(refused.status).toBe(403);
    expect(refused.body).toMatch(/https:\/\/evil\.example may not connect.*allowedOrigins/);
    expect(accepted).toHaveLength(0);
    expect((await open(address, 'http://localhost:5173')).status).toBe('open');
    expect((await open(address)).status).toBe('open');
    await expect.poll(() => accepted.length).toBe(2);
  });

  it('lets the listed origins in, and only them with the server\'s own', async () => {
    const { server } = await listen({ allowedOrigins: ['https://app.example.com'] });
    const address = server.address as string;
    expect((await open(address, 'https://app.example.com')).status).toBe('open');
    expect((await open(address, 'http://localhost:5173')).status).toBe(403);
  });

  it('is a manager server option: a page of another site cannot reach the manager', async () => {
    const http = page();
    const mgr = await new SyncManager('ws://127.0.0.1:0/mpm', { authkey: 'k', httpServer: http, allowedOrigins: [] }).getServer();
    void mgr.serveForever();
    cleanup.push(() => mgr.shutdown());
    const port = (http.address() as AddressInfo).port;
    expect((await open(mgr.address as string, 'http://localhost:1')).status).toBe(403);
    expect((await open(mgr.address as string, `http://127.0.0.1:${port}`)).status).toBe('open');
    const client = await new SyncManager(mgr.address, { authkey: 'k' }).connect();
    cleanup.push(() => client.shutdown());
    const d = await client.dict({ a: 1 });
    expect(await d.get('a')).toBe(1);
  });
});
