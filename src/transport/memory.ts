/**
 * An in-memory pair of transports, for tests and for `Pipe()` inside one process. Frames are delivered
 * on a later microtask, as a network would, and the size limit holds as on a socket.
 */
import { ConnectionClosedError, FrameTooLargeError } from '../errors.js';
import { DEFAULT_LIMITS } from '../limits.js';
import type { FrameSink, Transport, TransportOptions } from './types.js';

export class MemoryTransport implements Transport {
  readonly kind = 'memory';
  readonly peerAddress = '';
  /** Frames never leave the process. */
  readonly encryption = null;
  maxFrameSize: number;
  #peer: MemoryTransport | null = null;
  #sink: FrameSink | null = null;
  #inbox: Buffer[] = [];
  #paused = false;
  #scheduled = false;
  #closed = false;
  #resolveClosed!: () => void;
  /** A memory pair closes both ends at once. */
  readonly whenClosed = new Promise<void>((resolve) => (this.#resolveClosed = resolve));
  #peerEnded = false;

  constructor(options: TransportOptions = {}) {
    this.maxFrameSize = options.maxFrameSize ?? DEFAULT_LIMITS.maxFrameSize;
  }

  static pair(options: TransportOptions = {}): [MemoryTransport, MemoryTransport] {
    const a = new MemoryTransport(options);
    const b = new MemoryTransport(options);
    a.#peer = b;
    b.#peer = a;
    return [a, b];
  }

  start(sink: FrameSink): void {
    this.#sink = sink;
    this.#schedule();
  }

  send(payload: Uint8Array): boolean {
    return this.#post(Buffer.from(payload));
  }

  sendParts(parts: readonly Uint8Array[]): boolean {
    return this.#post(Buffer.concat(parts));
  }

  /** Hands the peer a frame of its own (never a view of the sender's memory). */
  #post(frame: Buffer): boolean {
    const peer = this.#peer;
    if (this.#closed || !peer) throw new ConnectionClosedError();
    peer.#inbox.push(frame);
    peer.#schedule();
    return true;
  }

  drained(): Promise<void> {
    return Promise.resolve();
  }

  pause(): void {
    this.#paused = true;
  }
  resume(): void {
    this.#paused = false;
    this.#schedule();
  }

  close(): void {
    this.destroy();
  }

  /** Closes this end (with `error` reported to its own sink, if given); the peer sees a clean close. */
  destroy(error?: Error): void {
    if (this.#closed) return;
    const peer = this.#peer;
    this.#finish(error);
    if (peer) {
      peer.#peerEnded = true;
      peer.#schedule();
    }
  }

  #schedule(): void {
    if (this.#scheduled || !this.#sink) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#deliver();
    });
  }

  #deliver(): void {
    const sink = this.#sink;
    if (!sink || this.#closed) return;
    while (!this.#paused && this.#inbox.length > 0 && !this.#closed) {
      const frame = this.#inbox.shift() as Buffer;
      if (frame.length > this.maxFrameSize) {
        this.#finish(new FrameTooLargeError(frame.length, this.maxFrameSize));
        this.#peer?.close();
        return;
      }
      sink.frame(frame);
    }
    if (this.#peerEnded && this.#inbox.length === 0) this.#finish(undefined);
  }

  #finish(error: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#resolveClosed();
    this.#inbox = [];
    this.#sink?.closed(error);
  }
}
