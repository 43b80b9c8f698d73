/**
 * Set-up for the inspector suites: a SyncManager server with an inspector on loopback (free ports),
 * clients of it, and plain HTTP requests (node:http, so a test can send any Host or Origin header).
 * Everything started is stopped after each test.
 */
import { request as httpRequest } from 'node:http';
import { afterEach } from 'vitest';
import { SyncManager } from '../../src/manager/sync-manager.js';
import { startInspector, type Inspector, type InspectorOptions } from '../../src/inspector/index.js';
import type { Snapshot } from '../../src/inspector/index.js';
import type { Server } from '../../src/server/server.js';
import type { ManagerOptions } from '../../src/manager/base-manager.js';
import type { Address } from '../../src/transport/address.js';

export const AUTHKEY = 'inspector-suite-key';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {});
});

export interface Inspected {
  readonly server: Server;
  readonly inspector: Inspector;
  /** A connected client (closed after the test). */
  connect(options?: ManagerOptions): Promise<SyncManager>;
  /** GET (or `method`) `path` with the token as a bearer header unless `headers` says otherwise. */
  request(path: string, options?: RequestOptions): Promise<HttpResponse>;
  snapshot(): Promise<Snapshot>;
  /** `/metrics` as `name{labels}` -> value. */
  metrics(): Promise<Map<string, number>>;
}

export interface RequestOptions {
  method?: string;
  /** Headers to send; `authorization` defaults to the bearer token, `host` to 127.0.0.1:PORT. */
  headers?: Record<string, string | undefined>;
  /** Stop reading after the first chunk (for /events). */
  firstChunk?: boolean;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** Starts a SyncManager server on loopback TCP with an inspector; both stop after the test. */
export function startInspected(options: InspectorOptions = {}, managerOptions: ManagerOptions = {}): Promise<Inspected> {
  return startInspectedAt(['127.0.0.1', 0], options, managerOptions);
}

/** The same, with the server at `address` (e.g. `ws://127.0.0.1:0/mpm`). */
export async function startInspectedAt(address: Address, options: InspectorOptions = {}, managerOptions: ManagerOptions = {}): Promise<Inspected> {
  const manager = new SyncManager(address, { authkey: AUTHKEY, ...managerOptions });
  const server = await manager.getServer();
  cleanups.push(() => server.shutdown());
  const inspector = await startInspector(server, { port: 0, ...options });
  cleanups.push(() => inspector.close());
  void server.serveForever();

  const request = (path: string, opts: RequestOptions = {}): Promise<HttpResponse> => {
    const port = inspector.address.port;
    const headers: Record<string, string> = { host: `127.0.0.1:${port}`, authorization: `Bearer ${inspector.token}` };
    for (const [k, v] of Object.entries(opts.headers ?? {})) {
      if (v === undefined) delete headers[k.toLowerCase()];
      else headers[k.toLowerCase()] = v;
    }
    return httpGet(port, path, opts.method ?? 'GET', headers, opts.firstChunk ?? false);
  };
  return {
    server,
    inspector,
    async connect(extra: ManagerOptions = {}) {
      const m = new SyncManager(server.address, { authkey: AUTHKEY, ...extra });
      await m.connect();
      cleanups.push(() => m.shutdown());
      return m;
    },
    request,
    async snapshot() {
      const res = await request('/api/snapshot');
      if (res.status !== 200) throw new Error(`snapshot: ${res.status} ${res.body}`);
      return JSON.parse(res.body) as Snapshot;
    },
    async metrics() {
      const res = await request('/metrics');
      if (res.status !== 200) throw new Error(`metrics: ${res.status} ${res.body}`);
      return parseMetrics(res.body);
    },
  };
}

/** Prometheus text as `name{labels}` -> value (comments dropped). */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

function httpGet(port: number, path: string, method: string, headers: Record<string, string>, firstChunk: boolean): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, headers, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        if (firstChunk && body.includes('\n\n')) {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
          req.destroy();
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

/** Polls `read` until `ok` holds of its value, for at most `ms`; returns the last value. */
export async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await read();
  while (!ok(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 25));
    value = await read();
  }
  return value;
}
