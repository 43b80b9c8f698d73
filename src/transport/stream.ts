/**
 * TCP and Unix-socket transports (including Linux abstract names, `'\0name'`): CPython framing over a
 * `net.Socket`, or over a `tls.TLSSocket` when `tls` is given (tls.ts). Every TCP socket we open or
 * accept has Nagle's algorithm off: CPython leaves it on and pays ~40 ms per new connection on Linux
 * loopback (cpython-wire.md §6, Performance).
 */
import { existsSync, lstatSync, statSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { dirname } from 'node:path';
import tls from 'node:tls';
import { debuglog } from 'node:util';
import { AddressError, ConnectionClosedError } from '../errors.js';
import { DEFAULT_LIMITS, type LimitOptions } from '../limits.js';
import { COALESCE_LIMIT, FrameDecoder, encodeFrame, frameHeader, writeFrameHeader } from './framing.js';
import type { Address, TcpAddress } from './address.js';
import { addressFamily, connectError, formatAddress, listenError } from './address.js';
import { clientTlsOptions, dropFailedClients, encryptionOf, loadServerTls, serverTlsOptions, tlsConnectError, whenAccepted, type TlsOptions } from './tls.js';
import type { FrameSink, Transport, TransportOptions, TransportServer } from './types.js';

const debug = debuglog('mpmanager');

/** Time a socket we stopped reading from gets to close on its own after we ended it. */
const LINGER_MS = 5_000;
/**
 * Sizes of the buffers small frames sent in one tick are gathered into: a small one first (Node
 * allocates it from its shared pool, so a lone reply costs no large allocation), doubling while a tick
 * fills them.
 */
const MIN_BATCH = 2048;
const MAX_BATCH = 64 * 1024;
/**
 * A batch goes out as soon as it holds this many frames, without waiting for the end of the tick: the
 * peer starts on the first replies while this side works on the rest, instead of the two processes taking
 * turns (measured with 64 calls in flight: whole-tick batches left both sides half idle; 32 did best of
 * 4 to 64).
 */
const FLUSH_FRAMES = 32;

/** Size of the read buffer of a socket we read ourselves (Node's own reads are 64 KiB too). */
const READ_CHUNK = 64 * 1024;
/** A large frame's payload is read straight into the frame's own buffer while this much is missing. */
const DIRECT_MIN = 16 * 1024;

/**
 * Reads a socket into buffers we choose (Node's `onread`): one reused buffer for ordinary reads, and for
 * a large frame the frame's own buffer, so its bytes are copied once, by the kernel, and reads are as
 * large as the data waiting. Connecting sockets are made with it; accepted ones are moved onto a socket
 * made with it (`withDirectReads`); TLS sockets have no `onread` and read Node's 64 KiB chunks.
 */
class DirectReads {
  readonly #scratch = Buffer.allocUnsafe(READ_CHUNK);
  #decoder: FrameDecoder | null = null;
  #fail: (error: Error) => void = () => {};

  attach(decoder: FrameDecoder, fail: (error: Error) => void): void {
    this.#decoder = decoder;
    this.#fail = fail;
  }
  /** Later reads are dropped (the transport is done or failed). */
  detach(): void {
    this.#decoder = null;
  }

  readonly buffer = (): Buffer => this.#decoder?.directTarget(DIRECT_MIN) ?? this.#scratch;

  /** Always true: going on reading (pausing is the transport's `pause()`). */
  readonly callback = (n: number, buf: Uint8Array): boolean => {
    const decoder = this.#decoder;
    if (decoder === null) return true;
    try {
      if (buf === this.#scratch) decoder.push(this.#scratch.subarray(0, n));
      else decoder.advanceDirect(n);
    } catch (err) {
      this.#fail(err as Error);
    }
    return true;
  };
}

export class StreamTransport implements Transport {
  readonly kind: 'tcp' | 'unix';
  readonly peerAddress: Address;
  readonly encryption: string | null;
  readonly #socket: net.Socket;
  readonly #decoder: FrameDecoder;
  #sink: FrameSink | null = null;
  #done = false;
  readonly whenClosed: Promise<void>;
  #pendingError: Error | undefined;
  /**
   * Frames sent in the same tick are written together: small ones are gathered (header and payload) into
   * one buffer, and everything goes out in one write when the tick's work is done. Pipelined calls and
   * replies then cost one system call per batch instead of one per frame.
   */
  #batch: Buffer | null = null;
  #batchLength = 0;
  #batchSize = MIN_BATCH;
  #batchFrames = 0;
  #queued: Uint8Array[] = [];
  #queuedBytes = 0;
  #flushScheduled = false;
  readonly #flush = () => {
    this.#flushScheduled = false;
    this.#flushNow();
  };

  readonly #reads: DirectReads | null;
  /** Outgoing bytes buffered (socket plus batch) above which `send` reports backpressure. */
  readonly #highWater: number;

  /**
   * `socket` is not read from until `start()`: it is fresh, or paused. `reads`: the `onread` hooks it was
   * made with, if any. A TLS socket must have completed its handshake.
   */
  constructor(socket: net.Socket, kind: 'tcp' | 'unix', options: TransportOptions = {}, reads: DirectReads | null = null) {
    this.#socket = socket;
    this.kind = kind;
    this.encryption = encryptionOf(socket);
    if (kind === 'tcp') socket.setNoDelay(true);
    this.peerAddress = kind === 'tcp' ? [socket.remoteAddress ?? '', socket.remotePort ?? 0] : '';
    this.#decoder = new FrameDecoder((frame) => this.#sink?.frame(frame), options.maxFrameSize ?? DEFAULT_LIMITS.maxFrameSize, reads !== null);
    this.#reads = reads;
    this.#highWater = options.writeHighWaterMark ?? DEFAULT_LIMITS.writeHighWaterMark;
    reads?.attach(this.#decoder, (err) => this.#fail(err));
    this.whenClosed = socket.destroyed ? Promise.resolve() : new Promise((resolve) => socket.once('close', () => resolve()));
  }

  get maxFrameSize(): number {
    return this.#decoder.maxFrameSize;
  }
  set maxFrameSize(n: number) {
    this.#decoder.maxFrameSize = n;
  }

  start(sink: FrameSink): void {
    this.#sink = sink;
    const socket = this.#socket;
    if (this.#reads === null) {
      socket.on('data', (chunk: Buffer) => {
        if (this.#done) return;
        try {
          this.#decoder.push(chunk);
        } catch (err) {
          this.#fail(err as Error);
        }
      });
    }
    socket.resume();
    socket.on('end', () => {
      if (this.#done) return;
      try {
        this.#decoder.end();
        this.#finish(undefined);
      } catch (err) {
        this.#finish(err as Error);
      }
      socket.end();
    });
    socket.on('error', (err) => this.#finish(err));
    socket.on('close', () => this.#finish(this.#pendingError));
  }

  send(payload: Uint8Array): boolean {
    this.#checkOpen();
    const n = payload.length;
    if (!this.#flushScheduled) return this.#writeFirst(encodeFrame(payload));
    if (n <= COALESCE_LIMIT) {
      if (this.#batch === null || this.#batchLength + 4 + n > this.#batch.length) {
        if (this.#batch !== null) this.#batchSize = Math.min(this.#batchSize * 2, MAX_BATCH);
        this.#sealBatch();
        this.#batch = Buffer.allocUnsafe(Math.max(this.#batchSize, 4 + n));
      }
      const batch = this.#batch;
      batch.set(payload, this.#batchLength + writeFrameHeader(batch, this.#batchLength, n));
      this.#batchLength += 4 + n;
      this.#queuedBytes += 4 + n;
      if (++this.#batchFrames >= FLUSH_FRAMES) {
        this.#flushNow();
        return this.#socket.writableLength < this.#highWater;
      }
      return this.#socket.writableLength + this.#queuedBytes < this.#highWater;
    }
    return this.#queue(encodeFrame(payload));
  }

  sendParts(parts: readonly Uint8Array[]): boolean {
    this.#checkOpen();
    let n = 0;
    for (const part of parts) n += part.byteLength;
    const frame = [frameHeader(n), ...parts];
    return this.#flushScheduled ? this.#queue(frame) : this.#writeFirst(frame);
  }

  #checkOpen(): void {
    if (this.#done || this.#socket.destroyed) throw new ConnectionClosedError();
  }

  /**
   * The first frame of a tick goes out at once (a lone request or reply waits for nothing); the frames
   * that follow it in the same tick are gathered and written together when the tick ends.
   */
  #writeFirst(parts: readonly Uint8Array[]): boolean {
    this.#flushScheduled = true;
    setImmediate(this.#flush);
    this.#writeAll(parts);
    return this.#socket.writableLength < this.#highWater;
  }

  /** Writes buffers in order, as one writev when there are several. */
  #writeAll(parts: readonly Uint8Array[]): void {
    const socket = this.#socket;
    if (parts.length === 1) {
      socket.write(parts[0] as Uint8Array);
      return;
    }
    socket.cork();
    for (const part of parts) socket.write(part);
    socket.uncork();
  }

  /** Queues a frame's parts behind what this tick already batched. */
  #queue(parts: readonly Uint8Array[]): boolean {
    this.#sealBatch();
    for (const part of parts) {
      this.#queued.push(part);
      this.#queuedBytes += part.byteLength;
    }
    return this.#socket.writableLength + this.#queuedBytes < this.#highWater;
  }

  /** Moves the batch being filled into the write queue. */
  #sealBatch(): void {
    this.#batchFrames = 0;
    if (this.#batch !== null && this.#batchLength > 0) {
      this.#queued.push(this.#batch.subarray(0, this.#batchLength));
      this.#batch = null;
      this.#batchLength = 0;
    }
  }

  #flushNow(): void {
    if (this.#queued.length === 0) this.#batchSize = MIN_BATCH;
    this.#sealBatch();
    const queued = this.#queued;
    if (queued.length === 0) return;
    this.#queued = [];
    this.#queuedBytes = 0;
    if (this.#socket.destroyed) return;
    this.#writeAll(queued);
  }

  flush(): void {
    this.#flushNow();
  }

  drained(): Promise<void> {
    const socket = this.#socket;
    this.#flushNow();
    if (!socket.writableNeedDrain || this.#done) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
  }

  pause(): void {
    this.#socket.pause();
  }
  resume(): void {
    this.#socket.resume();
  }

  close(): void {
    if (this.#socket.destroyed) return;
    this.#flushNow();
    if (this.#socket.writableLength > this.#highWater) {
      // The peer is not reading what is queued (that is how it got this far): do not hold it for them.
      this.destroy();
      return;
    }
    this.#socket.end();
    this.#finish(undefined);
    this.#lingerThenDestroy();
  }

  destroy(error?: Error): void {
    this.#finish(error);
    this.#socket.destroy();
  }

  /** A protocol fault: report it here, and give the peer a clean close (FIN), not a reset. */
  #fail(error: Error): void {
    this.#finish(error);
    const socket = this.#socket;
    this.#reads?.detach();
    socket.removeAllListeners('data');
    socket.on('data', () => {});
    socket.resume();
    this.#flushNow();
    socket.end();
    this.#lingerThenDestroy();
  }

  #lingerThenDestroy(): void {
    const timer = setTimeout(() => this.#socket.destroy(), LINGER_MS);
    timer.unref();
    this.#socket.once('close', () => clearTimeout(timer));
  }

  #finish(error: Error | undefined): void {
    if (this.#done) {
      this.#pendingError ??= error;
      return;
    }
    this.#done = true;
    this.#reads?.detach();
    this.#sink?.closed(error);
  }
}

function socketPath(address: string): string {
  // Node spells a Linux abstract socket with a leading NUL, as Python does.
  return address;
}

function kindOf(address: Address): 'tcp' | 'unix' {
  const family = addressFamily(address);
  if (family === 'ws') throw new AddressError(`${formatAddress(address)} is a WebSocket address; it needs the ws transport`);
  return family;
}

export function connectStream(address: Address, options: TransportOptions = {}): Promise<StreamTransport> {
  const kind = kindOf(address);
  if (options.tls !== undefined) return connectTls(address, kind, options, options.tls);
  return new Promise((resolve, reject) => {
    const reads = new DirectReads();
    const onread = { buffer: reads.buffer, callback: reads.callback };
    const socket =
      kind === 'tcp'
        ? net.connect({ host: (address as TcpAddress)[0], port: (address as TcpAddress)[1], noDelay: true, onread })
        : net.connect({ path: socketPath(address as string), onread });
    const onError = (err: Error) => {
      socket.destroy();
      reject(connectError(address, err));
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      socket.pause(); // until start(): nothing is read before there is a sink for it
      resolve(new StreamTransport(socket, kind, options, reads));
    });
  });
}

/** `connectStream` over TLS: resolves once the server has accepted this client (tls.ts, `whenAccepted`). */
async function connectTls(address: Address, kind: 'tcp' | 'unix', options: TransportOptions, tlsOptions: TlsOptions): Promise<StreamTransport> {
  const secure = clientTlsOptions(address, tlsOptions);
  let socket: tls.TLSSocket;
  try {
    // (tls.connect takes no noDelay option: it is set at once, so Nagle holds back no handshake flight.)
    socket =
      kind === 'tcp'
        ? tls.connect({ ...secure, host: (address as TcpAddress)[0], port: (address as TcpAddress)[1] }).setNoDelay(true)
        : tls.connect({ ...secure, path: socketPath(address as string) });
  } catch (err) {
    // Node loads the key and certificates here, and throws when it cannot.
    throw tlsConnectError(address, err, false);
  }
  await whenAccepted(socket, address, options.handshakeTimeout ?? DEFAULT_LIMITS.handshakeTimeout);
  return new StreamTransport(socket, kind, options);
}

/** What Node keeps of an accepted socket that we move: its handle (`net.Socket`'s `_handle`, the libuv stream). */
interface AcceptedSocket extends net.Socket {
  _handle: object | null;
}

/**
 * An accepted socket read through `DirectReads`, as a connecting socket is. Node 20's `net.Server` makes
 * accepted sockets without `onread`: each read is then a fresh 64 KiB chunk, and a 16 MiB frame is 256
 * reads, allocations and copies into the frame (measured: 16 ms of copying per 16 MiB value on the server,
 * most of it faulting in the frame's fresh pages one 64 KiB piece at a time). So the accepted socket's
 * handle, not yet read from (`pauseOnConnect`), moves to a socket made with `onread`, the way `net.Server`
 * itself makes sockets from handles (the `handle` option). The accepted socket, left without a handle, is
 * destroyed when the new one closes, which keeps the server's connection count right. Without a handle
 * (never seen: Node always gives one), the accepted socket is used as it is.
 */
function withDirectReads(accepted: net.Socket): { socket: net.Socket; reads: DirectReads | null } {
  const old = accepted as AcceptedSocket;
  const handle = old._handle;
  if (handle === null || handle === undefined) return { socket: accepted, reads: null };
  const reads = new DirectReads();
  const options = {
    handle,
    onread: { buffer: reads.buffer, callback: reads.callback },
    allowHalfOpen: accepted.allowHalfOpen,
    readable: true,
    writable: true,
    pauseOnCreate: true, // until start(): nothing is read before there is a sink for it
  };
  old._handle = null;
  const socket = new net.Socket(options as net.SocketConstructorOpts);
  socket.once('close', () => accepted.destroy());
  return { socket, reads };
}

export type StreamListenOptions = TransportOptions & LimitOptions<'backlog'>;

/** How long the probe of an existing socket file may take before it counts as live (never delete when unsure). */
const PROBE_MS = 2_000;

/**
 * Removes the Unix socket file at `path` if it is stale: a socket nobody accepts on (its server died
 * without unlinking it). Throws an `AddressError` when someone accepts on it (or may: a probe that gets
 * no answer counts as live), and when the path is not a socket, which is never removed.
 */
async function removeStaleSocket(path: string, address: Address): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // gone meanwhile
  }
  const at = formatAddress(address);
  if (!isSocket) throw new AddressError(`${at} exists and is not a socket: it was left as it is; remove it yourself, or choose another path`);
  const verdict = await new Promise<'live' | 'stale' | 'gone' | 'denied'>((resolve) => {
    const probe = net.connect({ path });
    const done = (v: 'live' | 'stale' | 'gone' | 'denied') => {
      clearTimeout(timer);
      probe.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done('live'), PROBE_MS);
    probe.once('connect', () => done('live'));
    probe.once('error', (err: NodeJS.ErrnoException) => {
      const code = err.code;
      done(code === 'ECONNREFUSED' ? 'stale' : code === 'ENOENT' ? 'gone' : code === 'EACCES' || code === 'EPERM' ? 'denied' : 'live');
    });
  });
  switch (verdict) {
    case 'live':
      throw new AddressError(`${at} is in use by another process: stop it, or choose another path`);
    case 'denied':
      throw new AddressError(`${at} is a socket this user may not connect to, so whether it is in use cannot be told: choose another path`);
    case 'stale':
      try {
        unlinkSync(path);
      } catch {
        // removed by someone else meanwhile
      }
      debug('removed the stale socket file %s (nothing accepted on it)', at);
      return;
    case 'gone':
      return;
    default:
      verdict satisfies never;
  }
}

/** `listenError`, but a Unix socket whose directory is missing says so (libuv reports it as EACCES). */
function listenFailure(address: Address, err: unknown): Error {
  const path = typeof address === 'string' && !address.startsWith('\0') ? address : null;
  if (path !== null && (err as NodeJS.ErrnoException).code === 'EACCES' && !existsSync(dirname(path))) {
    return new AddressError(`cannot create the socket ${formatAddress(address)}: its directory does not exist`, { cause: err });
  }
  return listenError(address, err);
}

export async function listenStream(
  address: Address,
  options: StreamListenOptions,
  onTransport: (transport: StreamTransport) => void,
): Promise<TransportServer> {
  const kind = kindOf(address);
  const accept = (socket: net.Socket) => onTransport(new StreamTransport(socket, kind, options));
  const acceptDirect = (accepted: net.Socket) => {
    const { socket, reads } = withDirectReads(accepted);
    onTransport(new StreamTransport(socket, kind, options, reads));
  };
  const secure = options.tls;
  // A TLS server hands over a socket once its handshake is done (and, with requestCert, the client's
  // certificate verified: Node drops the others itself).
  let server: net.Server;
  if (secure === undefined) server = net.createServer({ noDelay: true, pauseOnConnect: true }, acceptDirect);
  else {
    const handshakeTimeout = options.handshakeTimeout ?? DEFAULT_LIMITS.handshakeTimeout;
    const tlsServer = loadServerTls(address, () => tls.createServer({ ...serverTlsOptions(address, secure, handshakeTimeout), noDelay: true }, accept));
    dropFailedClients(tlsServer, address);
    server = tlsServer;
  }
  const backlog = options.backlog ?? DEFAULT_LIMITS.backlog;
  const path = kind === 'unix' ? socketPath(address as string) : '';
  const abstract = path.startsWith('\0');
  const bind = () =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const listening = () => {
        server.off('error', reject);
        resolve();
      };
      if (kind === 'tcp') server.listen({ host: (address as TcpAddress)[0], port: (address as TcpAddress)[1], backlog }, listening);
      else server.listen({ path, backlog }, listening);
    });
  try {
    await bind();
  } catch (err) {
    // A socket file left by a server that died is taken over, as a restarted server expects; one that
    // someone accepts on, or a path that is not a socket, is an AddressError.
    if (kind !== 'unix' || abstract || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw listenFailure(address, err);
    await removeStaleSocket(path, address);
    await bind().catch((again: unknown) => {
      throw listenFailure(address, again);
    });
  }
  // Errors after listening (Node reports a failed accept, EMFILE, as one) must not crash the process.
  server.on('error', (err) => debug('listening on %s: %s', formatAddress(address), err.message));
  let bound: Address;
  if (kind === 'tcp') {
    const info = server.address() as net.AddressInfo;
    bound = [(address as TcpAddress)[0], info.port];
  } else {
    bound = address;
  }
  return {
    address: bound,
    close: async () => {
      // close() stops listening at once, but its callback waits until every accepted socket has closed;
      // accepted connections outlive the listener, so waiting for it would hang while any is open.
      server.close(() => {});
      // Node unlinks its own Unix socket path on close; make sure of it (CPython unlinks in a Finalize).
      if (!abstract && path) {
        try {
          if (statSync(path).isSocket()) unlinkSync(path);
        } catch {
          // already gone
        }
      }
    },
  };
}
