// Serves a page that shows the shared `board` live: npx tsx examples/browser/server.ts [PORT]
// (default 8000). The page and its WebSocket share http://127.0.0.1:PORT; Python clients, which cannot
// speak WebSocket, get the same board over TCP on PORT+1 (any free port when PORT is 0).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { BaseManager, Dict, DictProxy, formatAddress } from 'mpmanager';

const port = Number(process.argv[2] ?? 8000);
const AUTHKEY = process.env.MPM_AUTHKEY ?? 'board-secret';

// The one object every client shares: a dict registered as `board`. Both listeners below (WebSocket for
// pages and Node, TCP for Python) serve this same Dict.
const board = new Dict();
class BoardManager extends BaseManager {}
BoardManager.register('board', () => board, { proxytype: DictProxy });

/** The browser bundle: in this repository, built from the sources; elsewhere, the one the package ships. */
async function loadBundle(): Promise<string> {
  const script = new URL('../../scripts/build-browser.mjs', import.meta.url);
  if (existsSync(script)) {
    const { buildBrowserBundle } = (await import(script.href)) as {
      buildBrowserBundle(options: { minify?: boolean }): Promise<{ code: string }>;
    };
    return (await buildBrowserBundle({ minify: true })).code;
  }
  // `mpmanager/browser` is dist/browser/mpmanager.js: one ES module that imports nothing.
  return readFile(createRequire(import.meta.url).resolve('mpmanager/browser'), 'utf8');
}

/** Text for an HTML attribute value. */
const attribute = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// The authkey goes into the page itself (a <meta> tag), never into a URL a server or proxy would log.
// Whoever can load the page can read it: serve the page only where that is fine (here, loopback).
const page = (await readFile(new URL('./index.html', import.meta.url), 'utf8')).replace('%AUTHKEY%', attribute(AUTHKEY));
const bundle = await loadBundle();

const http = createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
  } else if (path === '/') {
    // no-store: the page carries the key, so no cache keeps a copy.
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' }).end(page);
  } else if (path === '/mpmanager.js') {
    res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(bundle);
  } else {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  }
});

// Pages (and Node clients) over WebSocket at /mpm on the page's own HTTP server; only pages from this
// origin or another loopback one may open it (allowedOrigins' default).
const web = await new BoardManager(`ws://127.0.0.1:${port}/mpm`, { authkey: AUTHKEY, httpServer: http }).getServer();
// Stock Python clients over TCP: the same registration, so the same board.
const tcp = await new BoardManager(['127.0.0.1', port === 0 ? 0 : port + 1], { authkey: AUTHKEY }).getServer();

const stop = () => void Promise.all([web.shutdown(), tcp.shutdown()]);
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
console.log(`listening on ${formatAddress(web.address)}`);
console.log(`python at ${formatAddress(tcp.address)}`);
console.log(`page at ${new URL('/', String(web.address).replace(/^ws/, 'http'))}`);
await Promise.all([web.serveForever(), tcp.serveForever()]);
http.closeAllConnections();
http.close();
