/**
 * The browser's transport: the page's own `WebSocket`, one frame per binary message, as the Node
 * WebSocket transport (./websocket.ts) sends them; nothing from Node. Browsers cannot set headers on a
 * WebSocket, so authentication stays in-band (CPython's handshake over the first messages), and they
 * offer no way to stop reading: `pause()` cannot hold the peer back here, only the frame limit and the
 * server's own limits bound what arrives. Sending backs off on `bufferedAmount`.
 */
import { ConnectionClosedError, ConnectError, FrameTooLargeError } from '../errors.js';
import { DEFAULT_LIMITS } from '../limits.js';
import { concatBytes } from '../bytes.js';
import type { FrameSink, Transport, TransportOptions } from './types.js';

/** What is used of the WHATWG `WebSocket` (typed here: the project compiles without the DOM library). */
export interface BrowserSocket {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'close' | 'error' | 'message', listener: (event: { data?: unknown; code?: number; reason?: string }) => void): void;
}
export type BrowserSocketClass = new (url: string) => BrowserSocket;

const OPEN = 1;
const CLOSED = 3;
const NORMAL = 1000;
const POLICY_VIOLATION = 1008;
const MESSAGE_TOO_BIG = 1009;
/** How often `drained()` looks at `bufferedAmount` (browsers have no event for it). */
const DRAIN_POLL_MS = 10;

export class BrowserWebSocketTransport implements Transport {
  readonly kind = 'ws';
  readonly peerAddress: string;
  /** A `wss://` socket is TLS; its details are the browser's. */
  readonly encryption: string | null;
  maxFrameSize: number;
  readonly whenClosed: Promise<void>;
  readonly #ws: BrowserSocket;
  readonly #highWater: number;
  #sink: FrameSink | null = null;
  #early: Uint8Array[] = [];
  #earlyEnd: { error: Error | undefined } | null = null;
  #done = false;

  constructor(ws: BrowserSocket, address: string, options: TransportOptions) {
    this.#ws = ws;
    this.peerAddress = address;
    this.encryption = address.startsWith('wss:') ? 'tls (browser)' : null;
    this.maxFrameSize = options.maxFrameSize ?? DEFAULT_LIMITS.maxFrameSize;
    this.#highWater = options.writeHighWaterMark ?? DEFAULT_LIMITS.writeHighWaterMark;
    ws.binaryType = 'arraybuffer';
    let closed!: () => void;
    this.whenClosed = new Promise((resolve) => (closed = resolve));
    ws.addEventListener('message', (event) => this.#onMessage(event.data));
    ws.addEventListener('close', (event) => {
      closed();
      const clean = event.code === NORMAL || this.#done;
      this.#finish(clean ? undefined : new ConnectionClosedError(`the WebSocket closed (code ${String(event.code)}${event.reason ? `: ${event.reason}` : ''})`));
    });
    if (ws.readyState === CLOSED) closed();
  }

  /** Opens a WebSocket to `address` (`ws://` or `wss://`) with the page's `WebSocket` class. */
  static connect(address: string, options: TransportOptions, Socket: BrowserSocketClass): Promise<BrowserWebSocketTransport> {
    return new Promise((resolve, reject) => {
      let ws: BrowserSocket;
      try {
        ws = new Socket(address);
      } catch (err) {
        reject(new ConnectError(`cannot open a WebSocket to ${address}: ${(err as Error).message}`, { cause: err }));
        return;
      }
      let opened = false;
      const transport = new BrowserWebSocketTransport(ws, address, options);
      ws.addEventListener('open', () => {
        opened = true;
        resolve(transport);
      });
      // A page learns nothing of why a WebSocket failed (a refused port, a 403 for its origin, a TLS error):
      // the browser hides it on purpose, so the error lists what to check.
      ws.addEventListener('close', () => {
        if (!opened) {
          reject(
            new ConnectError(
              `cannot connect to ${address}: the WebSocket did not open (no server there, a server that refuses this page's origin, ` +
                'or a certificate the browser does not trust); the browser console says which',
            ),
          );
        }
      });
    });
  }

  start(sink: FrameSink): void {
    this.#sink = sink;
    for (const frame of this.#early.splice(0)) sink.frame(frame);
    const end = this.#earlyEnd;
    this.#earlyEnd = null;
    if (end) sink.closed(end.error);
  }

  send(payload: Uint8Array): boolean {
    if (this.#done || this.#ws.readyState !== OPEN) throw new ConnectionClosedError();
    this.#ws.send(payload);
    return this.#ws.bufferedAmount < this.#highWater;
  }

  sendParts(parts: readonly Uint8Array[]): boolean {
    return this.send(parts.length === 1 ? (parts[0] as Uint8Array) : concatBytes(parts));
  }

  async drained(): Promise<void> {
    while (!this.#done && this.#ws.bufferedAmount >= this.#highWater) await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
  }

  // A browser's WebSocket cannot stop reading (see the header).
  pause(): void {}
  resume(): void {}

  close(): void {
    if (this.#done) return;
    this.#ws.close(NORMAL);
  }

  destroy(error?: Error): void {
    if (this.#ws.readyState !== CLOSED) this.#ws.close(NORMAL);
    this.#finish(error);
  }

  #onMessage(data: unknown): void {
    if (this.#done) return;
    if (!(data instanceof ArrayBuffer)) {
      this.#fail(new ConnectionClosedError('a text WebSocket message arrived; mpmanager frames are binary messages'), POLICY_VIOLATION);
      return;
    }
    if (data.byteLength > this.maxFrameSize) {
      this.#fail(new FrameTooLargeError(data.byteLength, this.maxFrameSize), MESSAGE_TOO_BIG);
      return;
    }
    const frame = new Uint8Array(data);
    if (this.#sink) this.#sink.frame(frame);
    else this.#early.push(frame);
  }

  #fail(error: Error, code: number): void {
    this.#ws.close(code);
    this.#finish(error);
  }

  #finish(error: Error | undefined): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#sink) this.#sink.closed(error);
    else this.#earlyEnd = { error };
  }
}
