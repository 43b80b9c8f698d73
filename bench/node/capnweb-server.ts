/**
 * The Node peer's server: `capnweb-server.ts <address-json> <authkey-hex>`. capnweb (Cloudflare's RPC,
 * https://github.com/cloudflare/capnweb) over WebSocket (`ws`, compression off, as mpmanager's ws
 * transport): every connection gets an RPC session whose main object is a `MapTarget`, an `RpcTarget`
 * holding a map with 'k' set to the same 16-character string as the manager cases. Listens on the
 * `ws://` URL given (port 0: any free port); the authkey is ignored (capnweb has no handshake of its
 * own). Prints `{"address", "pid"}`; exits when stdin ends.
 */
import type net from 'node:net';
import { RpcSession, RpcTarget } from 'capnweb';
import { WebSocketServer } from 'ws';
import { WsRpcTransport } from '../lib/capnweb-ws.js';
import { SMALL_VALUE } from '../lib/protocol.js';

/** What the peer rows call: `get` of a map kept in the server, as a dict proxy's `__getitem__`. */
export class MapTarget extends RpcTarget {
  readonly #map = new Map<string, unknown>([['k', SMALL_VALUE]]);

  get(key: string): unknown {
    return this.#map.get(key);
  }

  set(key: string, value: unknown): void {
    this.#map.set(key, value);
  }
}

const url = new URL(JSON.parse(process.argv[2] ?? '"ws://127.0.0.1:0/"') as string);
const target = new MapTarget();
const wss = new WebSocketServer({ host: url.hostname, port: Number(url.port), perMessageDeflate: false });
wss.on('connection', (ws) => {
  // ws turns Nagle off on its sockets itself; the session lives as long as the connection.
  new RpcSession(new WsRpcTransport(ws), target);
});
await new Promise<void>((resolve, reject) => {
  wss.once('listening', resolve);
  wss.once('error', reject);
});
const port = (wss.address() as net.AddressInfo).port;
console.log(JSON.stringify({ address: `ws://${url.hostname}:${port}/`, pid: process.pid }));
process.stdin.on('end', () => process.exit(0)).resume();
