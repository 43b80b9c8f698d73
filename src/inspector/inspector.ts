/**
 * The inspector: an HTTP(S) endpoint beside a running server with a live page, JSON, server-sent events
 * and Prometheus metrics. Off unless started; loopback unless told otherwise.
 *
 *   const inspector = await startInspector(server, { port: 0 });
 *   console.log(inspector.url); // http://127.0.0.1:PORT/?token=...
 *
 *   path                              token  what
 *   GET  /                            yes    the page (it keeps the token from its own address)
 *   GET  /assets/{page.js,page.css,uplot.js,uplot.css}  yes  its script and styles, uPlot's dist files
 *   GET  /api/snapshot[?latest=1]     yes    everything the page shows, as JSON (src/inspector/snapshot.ts)
 *   GET  /events                      yes    the same, as a server-sent event each second
 *   GET  /metrics                     yes    Prometheus text format (src/inspector/metrics.ts)
 *   POST /api/connections/ID/close    yes    closes a connection; only with `actions`
 *   GET  /healthz                     no     `ok`: the process answers (nothing else is told)
 *
 * Access rules are in access.ts. Responses carry a strict Content-Security-Policy (scripts and styles
 * from the inspector only, no inline script), `Referrer-Policy: no-referrer` (the token is in the
 * page's address) and `Cache-Control: no-store`.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsOptions } from 'node:https';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { InvalidArgumentError } from '../errors.js';
import type { SharedObjectInfo, Server } from '../server/server.js';
import { hostAllowed, isLoopbackHost, makeToken, originAllowed, presentedToken, tokenMatches } from './access.js';
import { serverMetrics } from './metrics.js';
import { PAGE_CSS, PAGE_JS, pageHtml } from './page.js';
import { sharedSizes } from './shared.js';
import { snapshot } from './snapshot.js';

export interface InspectorOptions {
  /** Port to listen on; 0 picks a free one. Default 0. */
  port?: number | undefined;
  /** Host to bind. Default `127.0.0.1` (loopback only); anything else is reachable from other machines. */
  host?: string | undefined;
  /** The access token. Default: 24 random bytes, URL-safe base64, in `inspector.url`. */
  token?: string | undefined;
  /** Show values (a `Value`'s value, a dict's repr, error messages). Default false. */
  values?: boolean | undefined;
  /** Allow actions (closing a connection). Default false. */
  actions?: boolean | undefined;
  /**
   * Serve HTTPS with this certificate and key (the CLI passes the manager server's own). No client
   * certificates are asked for: the token is the credential. Default: plain HTTP.
   */
  tls?: Pick<HttpsOptions, 'cert' | 'key' | 'passphrase'> | undefined;
  /** Host names (besides IP literals and `localhost`) the Host header may carry, e.g. a DNS name. Default none. */
  allowedHosts?: readonly string[] | undefined;
  /** A call at least this long (ms) is listed as slow. Default 100. */
  slowCallMs?: number | undefined;
  /** Page clients following `/events` at once; more are refused with 503. Default 16. */
  maxEventClients?: number | undefined;
}

/** How often `/events` sends a snapshot. */
const EVENT_INTERVAL_MS = 1000;

const SECURITY_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
} as const;

/** uPlot's dist files, read once, from the installed package. */
let uplotFiles: { js: string; css: string } | null = null;
function uplot(): { js: string; css: string } {
  if (uplotFiles === null) {
    const require = createRequire(import.meta.url);
    uplotFiles = {
      js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
      css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
    };
  }
  return uplotFiles;
}

/** The package's version (package.json two or three levels up, from src/ or dist/src/). */
function packageVersion(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'mpmanager' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not this one
    }
  }
  return 'unknown';
}

export class Inspector {
  readonly #server: Server;
  readonly #http: HttpServer;
  readonly #token: string;
  readonly #values: boolean;
  readonly #actions: boolean;
  readonly #allowedHosts: readonly string[];
  readonly #scheme: 'http' | 'https';
  readonly #metrics: Registry;
  readonly #version = packageVersion();
  readonly #maxEventClients: number;
  readonly #eventClients = new Set<ServerResponse>();
  #shared: { at: number; list: readonly SharedObjectInfo[] } = { at: 0, list: [] };
  #closed = false;

  private constructor(server: Server, http: HttpServer, options: InspectorOptions, scheme: 'http' | 'https') {
    this.#server = server;
    this.#http = http;
    this.#token = options.token ?? makeToken();
    this.#values = options.values ?? false;
    this.#actions = options.actions ?? false;
    this.#allowedHosts = options.allowedHosts ?? [];
    this.#scheme = scheme;
    this.#maxEventClients = options.maxEventClients ?? 16;
    this.#metrics = serverMetrics(server);
    http.on('request', (req, res) => void this.#handle(req, res));
    server.watch({ slowCallMs: options.slowCallMs, keepMessages: this.#values });
    void server.whenStopped().then(() => this.close());
  }

  /**
   * Starts an inspector for `server` (which from now on records its calls, see `Server.watch()`). Start it
   * before the server accepts clients: connections opened earlier are not listed.
   */
  static async start(server: Server, options: InspectorOptions = {}): Promise<Inspector> {
    if (options.token !== undefined && options.token.length < 16) throw new InvalidArgumentError('the inspector token must be at least 16 characters: leave it out for a random one');
    const scheme = options.tls === undefined ? 'http' : 'https';
    const http = options.tls === undefined ? createHttpServer() : createHttpsServer({ cert: options.tls.cert, key: options.tls.key, passphrase: options.tls.passphrase });
    const inspector = new Inspector(server, http, options, scheme);
    const host = options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port ?? 0, host, () => {
        http.off('error', reject);
        resolve();
      });
    });
    return inspector;
  }

  /** Where it listens: host and port (port 0 resolved). */
  get address(): { host: string; port: number } {
    const a = this.#http.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  /** The page's address, token included: `http://127.0.0.1:PORT/?token=...` (a wildcard bind shows 127.0.0.1). */
  get url(): string {
    const { host, port } = this.address;
    const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    return `${this.#scheme}://${shown}:${port}/?token=${encodeURIComponent(this.#token)}`;
  }

  get token(): string {
    return this.#token;
  }

  /** Whether it listens beyond this machine (not loopback). */
  get exposed(): boolean {
    return !isLoopbackHost(this.address.host);
  }

  /** Whether it serves HTTPS. */
  get tls(): boolean {
    return this.#scheme === 'https';
  }

  /** Stops listening and ends the event streams. The server goes on. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const res of this.#eventClients) res.end();
    this.#eventClients.clear();
    await new Promise<void>((resolve) => {
      this.#http.close(() => resolve());
      this.#http.closeAllConnections();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await this.#route(req, res);
    } catch (err) {
      if (!res.headersSent) this.#text(res, 500, `inspector error: ${(err as Error).name}\n`);
      else res.end();
    }
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://inspector.invalid');
    const path = url.pathname;
    // Probes: no token (a kubelet or a load balancer holds none), and nothing but liveness is told.
    if (path === '/healthz') {
      this.#text(res, req.method === 'GET' || req.method === 'HEAD' ? 200 : 405, 'ok\n');
      return;
    }
    const { port } = this.address;
    if (!hostAllowed(req.headers.host, port, this.#scheme === 'https' ? 443 : 80, this.#allowedHosts)) {
      this.#text(res, 403, 'refused: the Host header does not name this inspector (allow other names with allowedHosts)\n');
      return;
    }
    if (!originAllowed(req.headers.origin, req.headers.host, this.#scheme)) {
      this.#text(res, 403, 'refused: a page of another origin\n');
      return;
    }
    if (!tokenMatches(this.#token, presentedToken(req, url))) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="mpmanager inspector"');
      this.#text(res, 401, 'the inspector needs its token: open the address it printed (…/?token=…), or send Authorization: Bearer TOKEN\n');
      return;
    }
    const close = /^\/api\/connections\/([^/]+)\/close$/.exec(path);
    if (close !== null) {
      if (req.method !== 'POST') return this.#text(res, 405, 'POST only\n');
      if (!this.#actions) return this.#text(res, 403, 'actions are off: start the inspector with actions (mpmanager serve --inspector-actions)\n');
      const id = decodeURIComponent(close[1] as string);
      const conn = [...(this.#server.view.activity?.connections ?? [])].find((c) => c.id === id);
      if (conn === undefined) return this.#text(res, 404, 'no such connection\n');
      conn.close();
      return this.#json(res, { closed: id });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return this.#text(res, 405, 'GET only\n');
    switch (path) {
      case '/':
        return this.#send(res, 200, 'text/html; charset=utf-8', pageHtml(this.#token));
      case '/assets/page.js':
        return this.#send(res, 200, 'text/javascript; charset=utf-8', PAGE_JS);
      case '/assets/page.css':
        return this.#send(res, 200, 'text/css; charset=utf-8', PAGE_CSS);
      case '/assets/uplot.js':
        return this.#send(res, 200, 'text/javascript; charset=utf-8', uplot().js);
      case '/assets/uplot.css':
        return this.#send(res, 200, 'text/css; charset=utf-8', uplot().css);
      case '/api/snapshot':
        return this.#json(res, await this.#snapshot(url.searchParams.get('latest') === '1'));
      case '/events':
        return this.#events(req, res);
      case '/metrics':
        return this.#send(res, 200, this.#metrics.contentType, await this.#metrics.metrics());
      default:
        return this.#text(res, 404, 'not found\n');
    }
  }

  /** The snapshot, with shared objects' sizes looked up at most once a second. */
  async #snapshot(latestOnly: boolean) {
    if (Date.now() - this.#shared.at >= 1000) {
      const list = await sharedSizes(this.#server).catch(() => this.#shared.list);
      this.#shared = { at: Date.now(), list };
    }
    return snapshot(this.#server, { version: this.#version, values: this.#values, actions: this.#actions, latestOnly, shared: this.#shared.list });
  }

  #events(req: IncomingMessage, res: ServerResponse): void {
    if (this.#eventClients.size >= this.#maxEventClients) {
      this.#text(res, 503, `too many pages follow this inspector (maxEventClients ${this.#maxEventClients})\n`);
      return;
    }
    res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive' });
    this.#eventClients.add(res);
    let first = true;
    let busy = false;
    const push = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      try {
        // The first event carries the whole chart series, the others the last second.
        const s = await this.#snapshot(!first);
        first = false;
        res.write(`data: ${JSON.stringify(s)}\n\n`);
      } catch {
        res.end();
      } finally {
        busy = false;
      }
    };
    const timer = setInterval(() => void push(), EVENT_INTERVAL_MS);
    timer.unref();
    void push();
    const stop = () => {
      clearInterval(timer);
      this.#eventClients.delete(res);
    };
    req.on('close', stop);
    res.on('close', stop);
  }

  #send(res: ServerResponse, status: number, type: string, body: string): void {
    res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
    res.end(res.req.method === 'HEAD' ? undefined : body);
  }

  #text(res: ServerResponse, status: number, body: string): void {
    this.#send(res, status, 'text/plain; charset=utf-8', body);
  }

  #json(res: ServerResponse, value: unknown): void {
    this.#send(res, 200, 'application/json; charset=utf-8', JSON.stringify(value));
  }
}

/** Starts an inspector for `server` (`Inspector.start`). */
export function startInspector(server: Server, options: InspectorOptions = {}): Promise<Inspector> {
  return Inspector.start(server, options);
}
