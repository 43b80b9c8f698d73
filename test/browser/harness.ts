/**
 * What the real-browser suites share: the bundle (built once per test file, as `npm run build` would
 * ship it), an HTTP server on loopback serving a test page and the bundle with a manager's WebSocket
 * endpoint on the same server (so page and socket share an origin), headless Chromium, and pages whose
 * console and uncaught errors are collected, so a failure shows what the page said.
 *
 * The test page (`/`) imports the bundle and leaves it at `globalThis.mpm`; tests run code in the page
 * with `inPage(open, fn, arg)`, where `fn` is typed against the browser entry (`Mpm`). Such a function
 * is sent to the page as its source text: it may use only its argument and globals, and no `using`
 * (the test transform rewrites those into helpers the page does not have: write those tests as source
 * strings, `inPageSource`).
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import { afterAll, afterEach } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { SyncManager, type BaseManager, type ManagerOptions, type Server } from '../../src/index.js';
import { CHROMIUM_SKIP, launchChromium } from '../fixtures/chromium.js';
// @ts-expect-error: a plain ES module script, no declarations
import { buildBrowserBundle } from '../../scripts/build-browser.mjs';

export { CHROMIUM_SKIP };
// Said once per test file, so a skipped run shows why without a verbose reporter.
if (CHROMIUM_SKIP !== null) process.stderr.write(`${CHROMIUM_SKIP}\n`);

/** The browser entry's exports, as a page sees them at `globalThis.mpm`. */
export type Mpm = typeof import('../../src/browser.js');

/** Per test: generous, the machine is shared (nothing asserts timings). */
export const TIMEOUT = 60_000;

/** The authkey of the suites' servers. */
export const AUTHKEY = 'browser-test-key';

/** Where the test server serves the bundle. */
const BUNDLE_URL = '/mpmanager.js';

/** The test page: imports the bundle and publishes it for `inPage`. */
const TEST_PAGE = `<!doctype html>
<meta charset="utf-8">
<title>mpmanager browser test</title>
<link rel="icon" href="data:,">
<script type="module">
import * as mpm from '${BUNDLE_URL}';
globalThis.mpm = mpm;
</script>
`;

let bundleCode: Promise<string> | undefined;

/** The minified ESM bundle, built once per test file by the package's own build script. */
export function bundle(): Promise<string> {
  bundleCode ??= (buildBrowserBundle({ minify: true }) as Promise<{ code: string }>).then((b) => b.code);
  return bundleCode;
}

/** A free loopback TCP port (free when asked: the caller binds it right away). */
export async function freePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', resolve);
  });
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** A free port whose next port is free too (the board example listens on PORT and PORT+1). */
export async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freePort();
    if (port >= 65535) continue;
    const next = createNetServer();
    const ok = await new Promise<boolean>((resolve) => {
      next.once('error', () => resolve(false));
      next.listen(port + 1, '127.0.0.1', () => resolve(true));
    });
    if (ok) {
      await new Promise((resolve) => next.close(resolve));
      return port;
    }
  }
  throw new Error('no two consecutive free loopback ports found');
}

/** Cleanups of the current test, run after it in reverse order (whatever it ended with). */
const cleanups: Array<() => unknown> = [];

export function onCleanup(fn: () => unknown): void {
  cleanups.push(fn);
}

afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) {
    try {
      await fn();
    } catch {
      // already closed
    }
  }
});

export interface PageServer {
  /** `http://127.0.0.1:PORT`. */
  readonly origin: string;
  /** The manager's WebSocket address, `ws://127.0.0.1:PORT/mpm`. */
  readonly wsUrl: string;
  readonly http: HttpServer;
  readonly server: Server;
  /** Shuts the manager server down and closes the HTTP server. */
  close(): Promise<void>;
}

export interface PageServerOptions extends ManagerOptions {
  /** The manager class to serve. Default SyncManager. */
  manager?: new (address: string, options: ManagerOptions) => BaseManager;
  /** The port. Default 0: any free one. */
  port?: number;
  /** Listen the HTTP server before the manager joins it. Default false (the manager listens it). */
  listenFirst?: boolean;
  /** Serve over HTTPS and `wss://`, with test/fixtures/tls's server certificate. Default false. */
  https?: boolean;
}

const pem = (name: string): Buffer => readFileSync(new URL(`../fixtures/tls/${name}.pem`, import.meta.url));

/**
 * An HTTP server on 127.0.0.1 serving the test page at `/` and the bundle, with a manager's WebSocket
 * endpoint at `/mpm` on the same server. Closed after the test.
 */
export async function servePage(options: PageServerOptions = {}): Promise<PageServer> {
  const { manager: Manager = SyncManager, port = 0, listenFirst = false, https = false, ...managerOptions } = options;
  const code = await bundle();
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(TEST_PAGE);
    } else if (path === BUNDLE_URL) {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(code);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  };
  const http: HttpServer = https ? createHttpsServer({ key: pem('server-key'), cert: pem('server') }, handler) : createServer(handler);
  let wsPort = port;
  if (listenFirst) {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, '127.0.0.1', resolve);
    });
    wsPort = (http.address() as { port: number }).port;
  }
  const scheme = https ? 'wss' : 'ws';
  const server = await new Manager(`${scheme}://127.0.0.1:${wsPort}/mpm`, { authkey: AUTHKEY, ...managerOptions, httpServer: http }).getServer();
  void server.serveForever();
  const address = http.address();
  if (address === null || typeof address === 'string') throw new Error(`the HTTP server is not listening on TCP: ${String(address)}`);
  const wsUrl = String(server.address);
  const page: PageServer = {
    origin: `${https ? 'https' : 'http'}://127.0.0.1:${address.port}`,
    wsUrl,
    http,
    server,
    async close() {
      await server.shutdown();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
  onCleanup(() => page.close());
  return page;
}

/**
 * A host name of another site that Chromium resolves to 127.0.0.1: a page at `http://evil.example:PORT/`
 * is served by the test server yet is a foreign, non-secure origin. (A page served by `page.route` at a
 * public-looking address would not do: Chromium's Local Network Access checks block its connections to
 * loopback before they reach the server.)
 */
export const FOREIGN_HOST = 'evil.example';

let browser: Promise<Browser> | undefined;

/** Headless Chromium, one per test file (closed after it). */
export function chromium(): Promise<Browser> {
  browser ??= launchChromium({ args: [`--host-resolver-rules=MAP ${FOREIGN_HOST} 127.0.0.1`] });
  return browser;
}

afterAll(async () => {
  if (browser) await (await browser).close();
});

export interface OpenPage {
  readonly page: Page;
  readonly context: BrowserContext;
  /** What the page printed (console messages, uncaught errors, failed WebSockets), in order. */
  readonly log: string[];
  /** The log, for failure messages. */
  describe(): string;
}

/** A fresh browser context and page (closed after the test), with its console collected. */
export async function newPage(options: { ignoreHTTPSErrors?: boolean } = {}): Promise<OpenPage> {
  const context = await (await chromium()).newContext(options);
  onCleanup(() => context.close());
  const page = await context.newPage();
  const log: string[] = [];
  page.on('console', (m) => log.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => log.push(`pageerror: ${e.stack ?? e.message}`));
  page.on('websocket', (ws) => {
    ws.on('socketerror', (e) => log.push(`websocket ${ws.url()}: ${e}`));
  });
  const describe = () => `page log:\n${log.join('\n') || '(empty)'}`;
  return { page, context, log, describe };
}

/** Opens the test page at `url` and waits for the bundle to be loaded (trusting the test CA's certificate on https). */
export async function openTestPage(url: string): Promise<OpenPage> {
  const open = await newPage({ ignoreHTTPSErrors: url.startsWith('https:') });
  await open.page.goto(url);
  try {
    await open.page.waitForFunction(() => 'mpm' in globalThis, null, { timeout: 15_000 });
  } catch (err) {
    throw new Error(`the bundle did not load in ${url}: ${(err as Error).message}\n${open.describe()}`);
  }
  return open;
}

/** Runs `fn(mpm, arg)` in the page; a failure carries the page's log. */
export async function inPage<A, R>(open: OpenPage, fn: (mpm: Mpm, arg: A) => Promise<R>, arg: A): Promise<R> {
  try {
    return await open.page.evaluate(
      // The page compiles this source text: `fn` travels as a string and is called with the bundle.
      async ([source, a]) => {
        // eslint-disable-next-line @typescript-eslint/no-implied-eval
        const f = (0, eval)(`(${source})`) as (mpm: unknown, arg: unknown) => Promise<unknown>;
        return f((globalThis as unknown as { mpm: unknown }).mpm, a);
      },
      [fn.toString(), arg] as const,
    ) as R;
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${open.describe()}`, { cause: err });
  }
}

/** Runs an async function body (source text, with `mpm` and `arg` in scope) in the page. */
export async function inPageSource<R>(open: OpenPage, body: string, arg: unknown): Promise<R> {
  return inPage(open, async (mpm, [source, a]: [string, unknown]) => {
    const f = (0, eval)(`(async (mpm, arg) => {\n${source}\n})`) as (mpm: unknown, arg: unknown) => Promise<unknown>;
    return f(mpm, a);
  }, [body, arg] as [string, unknown]) as Promise<R>;
}

/** An error as a page reports it: instanceof does not cross the page boundary, names and codes do. */
export interface PageError {
  name: string;
  code: string | undefined;
  message: string;
}
