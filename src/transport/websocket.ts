/**
 * WebSocket transport (ws): one frame is one binary WebSocket message, with no length prefix, since
 * WebSocket already delimits messages. The frame limit is ws's `maxPayload` (an oversized message closes
 * with status 1009). Compression stays off (ws's own advice for small messages). `wss://` addresses run
 * over TLS (tls.ts): listening on one needs `tls.key` and `tls.cert`.
 */
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { WebSocket, WebSocketServer, type ClientOptions } from 'ws';
import { AddressError, ConnectionClosedError, FrameTooLargeError } from '../errors.js';
import { DEFAULT_LIMITS, type LimitOptions } from '../limits.js';
import { connectError, handshakeRefused, listenError, type Address } from './address.js';
import { clientTlsOptions, dropFailedClients, encryptionOf, loadServerTls, serverTlsOptions, tlsConnectError } from './tls.js';
import type { FrameSink, Transport, TransportOptions, TransportServer, WebSocketListenOptions } from './types.js';

const POLICY_VIOLATION = 1008;
const MESSAGE_TOO_BIG = 1009;

export class WebSocketTransport implements Transport {
  readonly kind = 'ws';
  readonly peerAddress: Address;
  readonly encryption: string | null;
  readonly origin: string | undefined;
  readonly #ws: WebSocket;
  #max: number;
  #sink: FrameSink | null = null;
  #done = false;
  /** Frames, and the close, that arrived before start(). */
  #early: Buffer[] = [];
  readonly whenClosed: Promise<void>;
  #earlyEnd: { error: Error | undefined } | null = null;
  /** Bytes buffered for sending above which `send()` reports backpressure. */
  readonly #highWater: number;

  /** `encryption`: what protects the socket under `ws` (`encryptionOf` it), null for ws://. */
  constructor(ws: WebSocket, peerAddress: Address, options: TransportOptions, encryption: string | null, origin?: string) {
    this.#ws = ws;
    this.origin = origin;
    this.peerAddress = peerAddress;
    this.encryption = encryption;
    this.#max = options.maxFrameSize ?? DEFAULT_LIMITS.maxFrameSize;
    this.#highWater = options.writeHighWaterMark ?? DEFAULT_LIMITS.writeHighWaterMark;
    ws.binaryType = 'nodebuffer';
    // Listen from the start: ws emits the messages that arrived with the upgrade response on the
    // next tick after 'open', before the caller's promise continuation can call start(). Until then
    // frames and the close are held here.
    ws.on('message', (data: Buffer, isBinary: boolean) => this.#onMessage(data, isBinary));
    ws.on('error', (err) => this.#finish(this.#translate(err)));
    ws.on('close', () => this.#finish(undefined));
    this.whenClosed = ws.readyState === WebSocket.CLOSED ? Promise.resolve() : new Promise((resolve) => ws.once('close', () => resolve()));
  }

  get maxFrameSize(): number {
    return this.#max;
  }
  set maxFrameSize(n: number) {
    this.#max = n;
  }

  start(sink: FrameSink): void {
    this.#sink = sink;
    for (const frame of this.#early.splice(0)) sink.frame(frame);
    const end = this.#earlyEnd;
    this.#earlyEnd = null;
    if (end) sink.closed(end.error);
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (this.#done) return;
    if (!isBinary) {
      this.#fail(new ConnectionClosedError('a text WebSocket message arrived; mpmanager frames are binary messages'), POLICY_VIOLATION);
      return;
    }
    // ws enforces maxPayload at construction; the handshake lowers the limit below it.
    if (data.length > this.#max) {
      this.#fail(new FrameTooLargeError(data.length, this.#max), MESSAGE_TOO_BIG);
      return;
    }
    if (this.#sink) this.#sink.frame(data);
    else this.#early.push(data);
  }

  send(payload: Uint8Array): boolean {
    if (this.#done || this.#ws.readyState !== WebSocket.OPEN) throw new ConnectionClosedError();
    this.#ws.send(payload, { binary: true });
    return this.#ws.bufferedAmount < this.#highWater;
  }

  sendParts(parts: readonly Uint8Array[]): boolean {
    // A WebSocket message is built in one piece by ws (masking rewrites it anyway on the client side).
    return this.send(Buffer.concat(parts));
  }

  async drained(): Promise<void> {
    while (!this.#done && this.#ws.bufferedAmount >= this.#highWater) {
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  pause(): void {
    this.#ws.pause();
  }
  resume(): void {
    this.#ws.resume();
  }

  close(): void {
    this.#finish(undefined);
    this.#ws.close(1000);
  }

  destroy(error?: Error): void {
    this.#finish(error);
    this.#ws.terminate();
  }

  /**
   * ws refuses a message above its maxPayload from the frame header, with its own RangeError; report it
   * as the FrameTooLargeError every transport raises. The announced size is only on ws's receiver.
   */
  #translate(err: Error): Error {
    if ((err as NodeJS.ErrnoException).code !== 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return err;
    const receiver = (this.#ws as unknown as { _receiver?: { _totalPayloadLength?: unknown } })._receiver;
    const size = typeof receiver?._totalPayloadLength === 'number' ? receiver._totalPayloadLength : this.#max + 1;
    return new FrameTooLargeError(size, this.#max);
  }

  #fail(error: Error, status: number): void {
    this.#finish(error);
    this.#ws.close(status);
  }

  #finish(error: Error | undefined): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#sink) this.#sink.closed(error);
    else this.#earlyEnd = { error };
  }
}

function parseWsUrl(address: string): URL {
  try {
    return new URL(address);
  } catch {
    throw new AddressError(`bad WebSocket address '${address}': write it as ws://host:port/path`);
  }
}

export async function connectWebSocket(address: string, options: TransportOptions = {}): Promise<WebSocketTransport> {
  const secure = parseWsUrl(address).protocol === 'wss:';
  if (!secure && options.tls !== undefined) throw plainWithTls(address);
  // wss:// without tls options still checks the server against Node's public CAs.
  const tlsOptions = secure ? clientTlsOptions(address, options.tls ?? {}) : {};
  return new Promise((resolve, reject) => {
    let socket: net.Socket | null = null;
    let secured = false;
    /**
     * ws's own connectors (`tlsConnect`, `netConnect` in ws/lib/websocket.js), keeping the socket: its
     * no-delay is set from the start, its TLS description is the transport's `encryption`, and whether
     * its TLS handshake completed tells the errors apart (a refused client certificate closes after it).
     */
    const connect = (opts: tls.ConnectionOptions & net.TcpNetConnectOpts & { socketPath?: string }): net.Socket => {
      if (secure) {
        const servername = opts.servername ?? (net.isIP(opts.host ?? '') ? '' : opts.host);
        const tlsSocket = tls.connect({ ...opts, path: undefined, ...(servername === undefined ? {} : { servername }) });
        tlsSocket.once('secureConnect', () => (secured = true));
        socket = tlsSocket;
      } else {
        socket = net.connect({ ...opts, path: opts.socketPath });
      }
      return socket.setNoDelay(true);
    };
    const describe = (err: unknown) => (secure ? tlsConnectError(address, err, secured) : connectError(address, err));
    const wsOptions: ClientOptions = {
      perMessageDeflate: false,
      maxPayload: options.maxFrameSize ?? DEFAULT_LIMITS.maxFrameSize,
      createConnection: connect as unknown as typeof net.createConnection,
      // Over TLS, the opening handshake (TCP, TLS and the HTTP upgrade) is bounded, as a stream's TLS is.
      ...(secure ? { ...tlsOptions, handshakeTimeout: options.handshakeTimeout ?? DEFAULT_LIMITS.handshakeTimeout } : {}),
    };
    let ws: WebSocket;
    try {
      ws = new WebSocket(address, wsOptions);
    } catch (err) {
      reject(describe(err));
      return;
    }
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      reject(err);
    };
    // Stays on: aborting a refused upgrade makes ws report the aborted request too.
    const onError = (err: Error) => fail(describe(err));
    ws.on('error', onError);
    // An HTTP reply instead of the upgrade (a wrong path, a proxy asking for credentials): ws would
    // report it as a plain `Error('Unexpected server response: 404')`.
    ws.once('unexpected-response', (req, res) => {
      fail(handshakeRefused(address, res.statusCode ?? 0));
      res.resume();
      req.destroy();
    });
    ws.once('open', () => {
      ws.off('error', onError);
      resolve(new WebSocketTransport(ws, address, options, socket === null ? null : encryptionOf(socket)));
    });
  });
}

function plainWithTls(address: string): AddressError {
  return new AddressError(`${address} is a plain WebSocket address, but tls was given: write it as ${address.replace(/^ws:/, 'wss:')}`);
}

function isLoopbackName(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Whether a page of `origin` may open this socket, reached as `host` (the request's Host header): its own
 * origin always, then `allowed` (default: loopback pages).
 */
export function originAllowed(origin: string, host: string | undefined, allowed: readonly string[] | '*' | undefined): boolean {
  if (allowed === '*') return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // 'null' (a sandboxed page, a file:) or garbage
  }
  if (host !== undefined && url.host === host.toLowerCase()) return true;
  if (allowed === undefined) return isLoopbackName(url.hostname);
  return allowed.some((entry) => {
    try {
      return new URL(entry).origin === url.origin;
    } catch {
      return false;
    }
  });
}

export async function listenWebSocket(
  address: string,
  options: TransportOptions & LimitOptions<'backlog'> & WebSocketListenOptions,
  onTransport: (transport: WebSocketTransport) => void,
): Promise<TransportServer> {
  const url = parseWsUrl(address);
  const secure = url.protocol === 'wss:';
  if (!secure && options.tls !== undefined) throw plainWithTls(address);
  if (options.httpServer !== undefined && options.tls !== undefined) {
    throw new AddressError(`${address}: with httpServer, TLS is that server's (make it with https.createServer): do not pass tls too`);
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const path = url.pathname || '/';
  const notUpgrade = (_: IncomingMessage, res: ServerResponse) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end(`this endpoint speaks WebSocket: connect with ${url.protocol}//\n`);
  };
  let http: HttpServer;
  const given = options.httpServer;
  if (given !== undefined) http = given;
  else if (!secure) http = createServer(notUpgrade);
  else {
    // Without tls, serverTlsOptions refuses the address, saying which options it needs.
    const handshakeTimeout = options.handshakeTimeout ?? DEFAULT_LIMITS.handshakeTimeout;
    const https = loadServerTls(address, () => createHttpsServer(serverTlsOptions(address, options.tls ?? {}, handshakeTimeout), notUpgrade));
    dropFailedClients(https, address);
    http = https;
  }
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxFrameSize ?? DEFAULT_LIMITS.maxFrameSize, perMessageDeflate: false });
  const onUpgrade = (req: IncomingMessage, socket: import('node:stream').Duplex, head: Buffer) => {
    const reqPath = new URL(req.url ?? '/', 'http://x').pathname;
    if (reqPath !== path) {
      // On a server of the user's, other paths may be theirs (another WebSocket endpoint).
      if (given === undefined) socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !originAllowed(origin, req.headers.host, options.allowedOrigins)) {
      const why = `a page from ${origin} may not connect to this manager server: add its origin to the server's allowedOrigins\n`;
      socket.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: ${why.length}\r\nconnection: close\r\n\r\n${why}`);
      return;
    }
    (socket as net.Socket).setNoDelay(true);
    wss.handleUpgrade(req, socket, head, (ws) => {
      onTransport(new WebSocketTransport(ws, [req.socket.remoteAddress ?? '', req.socket.remotePort ?? 0], options, encryptionOf(req.socket), req.headers.origin));
    });
  };
  http.on('upgrade', onUpgrade);
  if (!http.listening) {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen({ host, port: Number(url.port || (secure ? 443 : 80)), backlog: options.backlog ?? DEFAULT_LIMITS.backlog }, () => {
        http.off('error', reject);
        resolve();
      });
    }).catch((err: unknown) => {
      http.off('upgrade', onUpgrade);
      // As the stream transport does: a named error that says what to do.
      throw listenError(address, err);
    });
  }
  const port = (http.address() as net.AddressInfo).port;
  const bound = `${url.protocol}//${url.hostname}:${port}${path}`;
  return {
    address: bound,
    close: async () => {
      wss.close();
      http.off('upgrade', onUpgrade);
      // As for TCP: stop listening now; http.close()'s callback would wait for the accepted
      // (upgraded) sockets, which outlive the listener. A server of the user's stays theirs.
      if (given === undefined) http.close(() => {});
    },
  };
}
