/**
 * A transport is a duplex carrying whole frames. Nothing above it knows what a socket is.
 */
import type { LimitOptions } from '../limits.js';
import type { Address } from './address.js';
import type { Server as HttpServer } from 'node:http';
import type { TlsOptions } from './tls.js';

/** Receives what a transport delivers. */
export interface FrameSink {
  /**
   * One whole frame. The bytes may be a view of a larger chunk; copy them to keep them past the call. Node's
   * transports deliver `Buffer`s.
   */
  frame(payload: Uint8Array): void;
  /** The transport is closed: cleanly (no error) or because of `error`. Called exactly once. */
  closed(error?: Error): void;
}

export interface Transport {
  /** `tcp`, `unix`, `ws` or `memory`. */
  readonly kind: string;
  /** The peer's address: `[host, port]` for TCP, `''` for Unix sockets (as CPython's `last_accepted`). */
  readonly peerAddress: Address;
  /**
   * How the bytes are protected on the wire: null in clear; otherwise what protects them, read once it
   * is in place, e.g. `tls TLSv1.3 TLS_AES_256_GCM_SHA384` (see tls.ts).
   */
  readonly encryption: string | null;
  /**
   * The `Origin` a WebSocket peer sent with its upgrade request: browsers always send one, Node and
   * Python clients do not. Undefined on every other transport.
   */
  readonly origin?: string | undefined;
  /** Frames above this size are refused from their header and close the transport. */
  maxFrameSize: number;
  /** Starts delivering frames to `sink`. Call once. */
  start(sink: FrameSink): void;
  /**
   * Sends one frame. Returns false when the outgoing buffer is above its high-water mark; the frame is
   * still queued, and `drained()` resolves when there is room again.
   */
  send(payload: Uint8Array): boolean;
  /**
   * Sends one frame whose payload is `parts` one after another. Stream transports write the parts from
   * their own memory (no copy), so they must not change until the peer has them. Same verdict as `send`.
   */
  sendParts(parts: readonly Uint8Array[]): boolean;
  /**
   * Writes what this tick has batched so far now, instead of when the tick ends (a layer above that
   * batches too uses it, so the peer can start on the first of many frames). Optional: transports that do
   * not batch have nothing to do.
   */
  flush?(): void;
  /** Resolves when the outgoing buffer is below its high-water mark (or the transport closed). */
  drained(): Promise<void>;
  /** Stops delivering frames until `resume()` (receive backpressure). */
  pause(): void;
  resume(): void;
  /** Graceful close: flushes what was sent, then closes. Idempotent. */
  close(): void;
  /**
   * Resolves once the connection is closed at both ends: after a graceful `close()`, when the peer has
   * closed its side too (so it has seen everything we sent, and our end of file).
   */
  readonly whenClosed: Promise<void>;
  /** Abortive close: drops buffered data. The sink sees `closed(error)`. Idempotent. */
  destroy(error?: Error): void;
}

/**
 * Options shared by every transport. `handshakeTimeout` bounds the TLS handshake, where there is one
 * (tls.ts).
 */
export type TransportOptions = LimitOptions<'maxFrameSize' | 'writeHighWaterMark' | 'handshakeTimeout'> & {
  /**
   * TLS (TCP, Unix sockets, and required by `wss://` addresses): connecting, the server's certificate
   * is checked against `ca` (or Node's public CAs); listening, `key` and `cert` are required. Default: no
   * TLS (and a `wss://` address connects checking against Node's public CAs).
   */
  tls?: TlsOptions | undefined;
};

/** A bound, listening transport endpoint. */
export interface TransportServer {
  /** The bound address, with port 0 resolved to the real port. */
  readonly address: Address;
  /** Stops accepting; Unix socket paths are unlinked. Existing transports stay open. */
  close(): Promise<void>;
}

/** Where a WebSocket listener sits, and which pages may connect to it. */
export interface WebSocketListenOptions {
  /**
   * An HTTP(S) server of yours to sit on, at the address's path, so that pages and their socket share an
   * origin. If it is not listening yet, it is made to listen on the address's host and port; otherwise the
   * address's host and port are those it listens on. Other requests stay yours; closing the listener
   * leaves the server open. Its TLS is its own: do not pass `tls` with it. Default: a server of its own.
   */
  httpServer?: HttpServer | undefined;
  /**
   * Origins (`https://app.example.com`) whose pages may connect, besides the server's own; `'*'` lets any
   * page connect. A request with another `Origin` is refused with 403 before the WebSocket handshake.
   * Requests without one (Node and Python clients) are never refused for it. Default: loopback origins
   * (`http://localhost:*`, `http://127.0.0.1:*`, `http://[::1]:*`).
   */
  allowedOrigins?: readonly string[] | '*' | undefined;
}
