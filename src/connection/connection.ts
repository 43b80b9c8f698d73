/**
 * `Connection`: CPython's `multiprocessing.connection.Connection` over any transport: objects
 * (`send`/`recv`, through a codec) and raw messages (`sendBytes`/`recvBytes`/`recvBytesInto`), `poll`,
 * `close`. A protocol layer can take the frames directly with `detach()` (the manager does), so the hot
 * path makes no promise per frame.
 */
import { DEFAULT_LIMITS, type LimitOptions } from '../limits.js';
import type { Codec, DecodeContext } from '../codec/types.js';
import {
  BadMessageLengthError,
  BufferTooShortError,
  ConnectionClosedError,
  HandshakeTimeoutError,
  InvalidArgumentError,
  StateError,
} from '../errors.js';
import { debuglog } from '../debug.js';
import { ChannelError, ChannelFault } from '../errors.js';
import { copyBytes, startsWith } from '../bytes.js';
import { ServerKeyExchange, clientKeyExchange, type EncryptionPolicy, type KeyExchangeResult } from '../channel/key-exchange.js';
import { DEFAULT_SERVER_POLICY, checkPolicy, checkSuites, isLocalAddress } from '../channel/policy.js';
import { SealedTransport, type ChannelKeys } from '../channel/sealed.js';
import type { SuiteName } from '../channel/suites.js';
import { formatAddress, type Address } from '../transport/address.js';
import type { FrameSink, Transport } from '../transport/types.js';
import type { TlsOptions } from '../transport/tls.js';
import { CHALLENGE, Peer, clientHandshake, peerOf, serverHandshake, toKey } from './auth.js';
import type { Runtime } from './runtime.js';

const debug = debuglog('mpmanager');

/** Received frames held before the transport is paused (receive backpressure). */
const QUEUE_HIGH_WATER = 1024;

export interface ConnectionOptions {
  /**
   * Codec for `send`/`recv`: `'msgpack'` (default), `'pickle'`, a `Codec`, or `'auto'`: each received
   * frame is decoded as pickle if it is one (a stock Python `conn.send()`), else as msgpack, and `send`
   * answers in the codec the peer last used (msgpack until the peer has sent anything).
   */
  serializer?: string | Codec | undefined;
  /** Whether the connection may receive. Default true. */
  readable?: boolean | undefined;
  /** Whether the connection may send. Default true. */
  writable?: boolean | undefined;
}

/** Whether a connection is encrypted after the handshake (src/channel/). */
export interface EncryptionOptions {
  /**
   * Whether the connection is encrypted after the handshake, when the peer is mpmanager too (a stock
   * CPython peer cannot encrypt): `'off'`, `'prefer'` or `'require'` (src/channel/policy.ts). Default:
   * `'prefer'` when accepting; when connecting, `'off'` towards this machine (a Unix socket, a loopback
   * host) and `'prefer'` beyond it. A TLS connection is encrypted already and satisfies `'require'`.
   */
  encryption?: EncryptionPolicy | undefined;
  /** The cipher suites offered or accepted, in preference order. Default: aes-256-gcm, xsalsa20-poly1305. */
  encryptionSuites?: readonly SuiteName[] | undefined;
}

/** Encryption and TLS, as every endpoint (listener, client, manager, server) takes them. */
export interface SecurityOptions extends EncryptionOptions {
  /**
   * TLS (TCP and `wss://` addresses). Listening: key and certificate, and `ca` with `requestCert` to
   * verify clients' certificates. Connecting: `ca` to trust the server's certificate, key and cert to
   * show one. TLS connections count as encrypted; no key exchange runs inside them.
   */
  tls?: TlsOptions | undefined;
}

export interface HandshakeOptions extends LimitOptions<'handshakeTimeout'>, EncryptionOptions {}

/** The encryption and TLS options out of a larger options object, to pass on to the next endpoint. */
export function securityOf(options: SecurityOptions): SecurityOptions {
  return { encryption: options.encryption, encryptionSuites: options.encryptionSuites, tls: options.tls };
}

/** Frames each side receives during the handshake: a challenge, an answer, and a verdict. */
const HANDSHAKE_FRAMES = 3;

interface Waiter {
  resolve(frame: Uint8Array | null): void;
  reject(error: Error): void;
}

export class Connection implements AsyncIterable<unknown> {
  #transport: Transport;
  #codec: Codec;
  #auto: boolean;
  readonly #readable: boolean;
  readonly #writable: boolean;
  #frames: Uint8Array[] = [];
  #waiters: Waiter[] = [];
  #pollers = new Set<() => void>();
  /** Set once the transport closed: null for a clean close. */
  #ended: { error: Error | null } | null = null;
  #closed = false;
  #unreadable = false;
  #detached: FrameSink | null = null;
  /** While a handshake runs: frames still to come, and the limit to restore after them. */
  #handshakeFrames: { left: number; limit: number } | null = null;
  #paused = false;
  #peer: Peer | null = null;
  /** Where the transport delivers: this connection, or the sealed channel once there is one. */
  #rawSink: FrameSink = {
    frame: (frame) => this.#onFrame(frame),
    closed: (error) => this.#onClosed(error ?? null),
  };

  readonly #runtime: Runtime;

  /**
   * `runtime`: the cryptography and codecs of the runtime this runs in (./runtime.ts); connections are made
   * by `Listener`, `Client` and `Pipe` (Node) or by the browser entry, which pass their own.
   */
  constructor(transport: Transport, options: ConnectionOptions, runtime: Runtime) {
    this.#transport = transport;
    this.#runtime = runtime;
    this.#auto = options.serializer === 'auto';
    this.#codec = runtime.codec(this.#auto ? 'msgpack' : (options.serializer ?? 'msgpack'));
    this.#readable = options.readable ?? true;
    this.#writable = options.writable ?? true;
    if (!this.#readable && !this.#writable) throw new InvalidArgumentError('at least one of readable and writable must be true');
    transport.start({
      frame: (frame) => this.#rawSink.frame(frame),
      closed: (error) => this.#rawSink.closed(error),
    });
  }

  /** The codec `send`/`recv` use. */
  get serializer(): Codec {
    return this.#codec;
  }
  /** Switches the codec, e.g. to answer a peer in the codec it used. */
  set serializer(codec: string | Codec) {
    this.#auto = codec === 'auto';
    if (!this.#auto) this.#codec = this.#runtime.codec(codec);
  }

  get closed(): boolean {
    return this.#closed;
  }
  get readable(): boolean {
    return this.#readable && !this.#unreadable;
  }
  get writable(): boolean {
    return this.#writable;
  }
  /** The transport underneath (for limits and the peer's address). */
  get transport(): Transport {
    return this.#transport;
  }
  get peerAddress(): Address {
    return this.#transport.peerAddress;
  }
  /**
   * What the handshake showed the other side to be: `'mpmanager'` (its challenge carried mpmanager's mark,
   * auth.ts) or `'cpython'` (a stock multiprocessing peer); null before a handshake, or without one.
   */
  get peer(): Peer | null {
    return this.#peer;
  }
  /**
   * How this connection's bytes are protected: the channel's suite (`'aes-256-gcm'`,
   * `'xsalsa20-poly1305'`), TLS's description, or null in clear.
   */
  get encryption(): string | null {
    return this.#transport.encryption;
  }

  /** Sends an object, encoded with the connection's codec. */
  send(obj: unknown): void {
    this.#checkWritable();
    this.#transport.send(this.#codec.encode(obj));
  }

  /**
   * Sends a message of raw bytes: `buf[offset : offset + size]` (CPython's `send_bytes`). Typed arrays of
   * wider elements are sent as their bytes; `offset` and `size` count elements, as CPython's do.
   */
  sendBytes(buf: ArrayBufferView | ArrayBuffer, offset = 0, size?: number): void {
    this.#checkWritable();
    const view = ArrayBuffer.isView(buf) ? buf : new Uint8Array(buf);
    const itemSize = 'BYTES_PER_ELEMENT' in view ? (view as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT : 1;
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    const n = bytes.length / itemSize;
    if (offset < 0) throw new InvalidArgumentError('offset is negative');
    if (n < offset) throw new InvalidArgumentError('buffer length < offset');
    if (size === undefined) size = n - offset;
    else if (size < 0) throw new InvalidArgumentError('size is negative');
    else if (offset + size > n) throw new InvalidArgumentError('buffer length < offset + size');
    this.#transport.send(bytes.subarray(offset * itemSize, (offset + size) * itemSize));
  }

  /** Receives one object. Rejects with `ConnectionClosedError` (CPython: `EOFError`) once the peer closed. */
  async recv(context?: DecodeContext): Promise<unknown> {
    const frame = await this.#next();
    return this.#decode(frame, context);
  }

  /**
   * Receives one message of raw bytes. A message longer than `maxLength` rejects with
   * `BadMessageLengthError` and leaves the connection unreadable, as CPython does.
   */
  async recvBytes(maxLength?: number): Promise<Buffer> {
    // Node's transports deliver Buffers (src/bytes.ts `allocUnsafe`); a browser has no Connection API.
    if (maxLength !== undefined && maxLength < 0) throw new InvalidArgumentError('negative maxLength');
    const frame = await this.#next();
    if (maxLength !== undefined && frame.length > maxLength) {
      this.#unreadable = true;
      if (!this.#writable) this.close();
      throw new BadMessageLengthError(frame.length, maxLength);
    }
    return frame as Buffer;
  }

  /**
   * Reads one message into `buf` at byte `offset` and returns its length. A message that does not fit
   * rejects with `BufferTooShortError` carrying the whole message (the message is consumed).
   */
  async recvBytesInto(buf: ArrayBufferView, offset = 0): Promise<number> {
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    if (offset < 0) throw new InvalidArgumentError('negative offset');
    if (offset > bytes.length) throw new InvalidArgumentError('offset too large');
    const frame = await this.#next();
    if (frame.length > bytes.length - offset) throw new BufferTooShortError(copyBytes(frame), bytes.length - offset);
    bytes.set(frame, offset);
    return frame.length;
  }

  /**
   * Whether a message (or EOF) can be read without waiting. `timeout` is in seconds, as in Python:
   * 0 (default) checks now, `null` waits until something arrives.
   */
  poll(timeout: number | null = 0): Promise<boolean> {
    this.#checkReadable();
    if (this.#frames.length > 0 || this.#ended) return Promise.resolve(true);
    if (timeout !== null && timeout <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const wake = () => {
        if (timer) clearTimeout(timer);
        this.#pollers.delete(wake);
        resolve(this.#frames.length > 0 || this.#ended !== null);
      };
      this.#pollers.add(wake);
      if (timeout !== null) {
        timer = setTimeout(wake, timeout * 1000);
        (timer as { unref?: () => void }).unref?.();
      }
    });
  }

  /** Graceful close: what was sent is flushed; pending receives reject. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#transport.close();
    this.#onClosed(null);
  }

  /**
   * Closes gracefully and resolves once the peer has closed its side too (it has read everything we sent
   * and our end of file), or after `timeoutMs`.
   */
  async closeAndWait(timeoutMs = 5_000): Promise<void> {
    this.close();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.#transport.whenClosed,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        (timer as { unref?: () => void }).unref?.();
      }),
    ]);
    clearTimeout(timer);
  }

  /** Abortive close with an error every pending receive rejects with. Idempotent. */
  destroy(error?: Error): void {
    if (this.#closed && this.#ended) return;
    this.#closed = true;
    this.#transport.destroy(error);
    this.#onClosed(error ?? null);
  }

  /** Resolves when the outgoing buffer has room again. */
  drained(): Promise<void> {
    return this.#transport.drained();
  }

  /**
   * Hands every later frame (and those already queued) straight to `sink`; `recv` can no longer be used.
   * For protocol layers that multiplex a connection.
   */
  detach(sink: FrameSink): void {
    if (this.#waiters.length > 0) throw new StateError('detach() while a recv() is pending');
    this.#detached = sink;
    const queued = this.#frames;
    this.#frames = [];
    if (this.#paused) {
      this.#paused = false;
      this.#transport.resume();
    }
    for (const frame of queued) sink.frame(frame);
    if (this.#ended) sink.closed(this.#ended.error ?? undefined);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<unknown> {
    for (;;) {
      let frame: Uint8Array;
      try {
        frame = await this.#next();
      } catch (err) {
        if (err instanceof ConnectionClosedError && this.#ended?.error === null) return;
        throw err;
      }
      yield this.#decode(frame);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  /**
   * Runs the accepting side's handshake (challenge first), then, with an mpmanager peer, the key
   * exchange. A stock CPython peer is accepted in clear whatever the policy: refusing it is the caller's
   * decision (a listener closes it, a manager server tells it why).
   */
  async acceptHandshake(authkey: string | Uint8Array, options: HandshakeOptions = {}): Promise<void> {
    await this.#handshake(true, authkey, options);
  }

  /**
   * Runs the connecting side's handshake (answer first), then, with an mpmanager server, the key
   * exchange. With `encryption: 'require'`, a server that cannot encrypt (a stock CPython one) is refused
   * with `ChannelError`.
   */
  async connectHandshake(authkey: string | Uint8Array, options: HandshakeOptions = {}): Promise<void> {
    await this.#handshake(false, authkey, options);
  }

  async #handshake(accepting: boolean, authkey: string | Uint8Array, options: HandshakeOptions): Promise<void> {
    const handshakeTimeout = options.handshakeTimeout ?? DEFAULT_LIMITS.handshakeTimeout;
    const key = toKey(authkey);
    const transport = this.#transport;
    const limit = transport.maxFrameSize;
    transport.maxFrameSize = DEFAULT_LIMITS.handshakeFrameSize;
    // Each side receives exactly three handshake frames. The peer's first application frame can arrive in
    // the same chunk as its last handshake frame (CPython writes '#WELCOME#' and its first request back to
    // back), so the usual limit comes back the moment the third frame arrives, before the next is parsed.
    // A frame already queued (a WebSocket transport delivers the server's challenge as soon as it starts)
    // is one of the three.
    this.#handshakeFrames = { left: HANDSHAKE_FRAMES - this.#frames.length, limit };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new HandshakeTimeoutError(handshakeTimeout);
        this.destroy(err);
        reject(err);
      }, handshakeTimeout);
      (timer as { unref?: () => void }).unref?.();
    });
    try {
      await Promise.race([this.#authenticate(accepting, key, options), timeout]);
    } catch (err) {
      // A failed handshake leaves nothing to say: close after the FAILURE frame went out.
      this.close();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    this.#handshakeFrames = null;
    // An encrypted channel has its limits already: records below, `limit` for the frames inside them.
    if (this.#transport === transport) transport.maxFrameSize = limit;
  }

  /** CPython's handshake, then the key exchange when both sides are mpmanager and the transport is not TLS. */
  async #authenticate(accepting: boolean, key: Uint8Array, options: HandshakeOptions): Promise<void> {
    const transport = this.#transport;
    const crypto = this.#runtime.crypto;
    const policy = checkPolicy(options.encryption) ?? (accepting ? DEFAULT_SERVER_POLICY : this.#defaultClientPolicy());
    const suites = runnableSuites(checkSuites(options.encryptionSuites), crypto.suites, options.encryptionSuites !== undefined);
    const exchange = transport.encryption === null;
    // Every handshake frame in order, sent and received alike; F1, F2, F4, F5 go into the transcript.
    const frames: Uint8Array[] = [];
    const transcript = () => [frames[0], frames[1], frames[3], frames[4]] as Uint8Array[];
    const channel = {
      sendBytes: (b: Uint8Array) => {
        frames.push(b);
        transport.send(b);
      },
      recvBytes: async () => {
        const frame = await this.#next();
        frames.push(frame);
        // The peer's challenge says whether it is mpmanager; then one more frame (K1 or K2) is a
        // handshake frame, under the handshake's size limit.
        if (exchange && this.#handshakeFrames !== null && isMarkedChallenge(frame)) this.#handshakeFrames.left++;
        return frame;
      },
    };
    const kx = { crypto: crypto.channel, authkey: key, policy, suites };
    let result: KeyExchangeResult = { keys: null };
    if (accepting) {
      let offer: ServerKeyExchange | null = null;
      this.#peer = await serverHandshake(channel, key, crypto, (peer) => {
        if (peer !== Peer.Mpmanager || !exchange) return;
        offer = new ServerKeyExchange({ ...kx, handshake: transcript() });
        transport.send(offer.offer);
      });
      if (offer !== null) result = (offer as ServerKeyExchange).finish(await this.#next());
    } else {
      this.#peer = await clientHandshake(channel, key, crypto);
      if (this.#peer === Peer.Mpmanager && exchange) {
        const answer = clientKeyExchange({ ...kx, handshake: transcript() }, await this.#next(), this.#where());
        transport.send(answer.send);
        if ('error' in answer) throw answer.error;
        result = answer.result;
      } else if (policy === 'require' && exchange) {
        throw new ChannelError(
          ChannelFault.Policy,
          `the server at ${this.#where()} is a stock CPython peer, which cannot encrypt, and this client requires encryption`,
        );
      }
    }
    if (result.keys !== null) this.#secure(result.keys);
    if (debug.enabled) {
      debug('%s %s over %s: %s', accepting ? 'accepted' : 'connected to', this.#peer === Peer.Mpmanager ? 'an mpmanager peer' : 'a CPython peer', transport.kind, this.encryption === null ? 'in clear' : `encrypted (${this.encryption})`);
    }
  }

  /** From now on the transport's frames are records of an encrypted channel. */
  #secure(keys: ChannelKeys): void {
    // Frames inside the channel get the connection's limit (the handshake's is over).
    const sealed = new SealedTransport(this.#transport, keys, this.#runtime.crypto, { maxFrameSize: this.#handshakeFrames?.limit ?? this.#transport.maxFrameSize });
    this.#handshakeFrames = null;
    // Frames that arrived right behind the key exchange are records already.
    const early = this.#frames;
    this.#frames = [];
    this.#transport = sealed;
    sealed.start({
      frame: (frame) => this.#onFrame(frame),
      closed: (error) => this.#onClosed(error ?? null),
    });
    this.#rawSink = sealed.sink;
    for (const record of early) sealed.sink.frame(record);
  }

  /** `off` towards this machine (a Unix socket, a loopback host), `prefer` beyond it (policy.ts). */
  #defaultClientPolicy(): EncryptionPolicy {
    const transport = this.#transport;
    if (transport.kind === 'unix' || transport.kind === 'memory') return 'off';
    return isLocalAddress(transport.peerAddress) ? 'off' : 'prefer';
  }

  #where(): string {
    const address = this.#transport.peerAddress;
    return address === '' ? `a ${this.#transport.kind} socket` : formatAddress(address);
  }

  #decode(frame: Uint8Array, context?: DecodeContext): unknown {
    if (this.#auto) this.#codec = this.#runtime.detect(frame);
    return this.#codec.decode(frame, context);
  }

  #checkWritable(): void {
    if (this.#closed) throw new ConnectionClosedError('handle is closed');
    if (!this.#writable) throw new StateError('connection is read-only');
  }

  #checkReadable(): void {
    if (this.#closed) throw new ConnectionClosedError('handle is closed');
    if (this.#detached) throw new StateError('the connection was detached to a protocol layer');
    if (!this.#readable) throw new StateError('connection is write-only');
    if (this.#unreadable) throw new StateError('connection is no longer readable after a bad message length');
  }

  #next(): Promise<Uint8Array> {
    try {
      this.#checkReadable();
    } catch (err) {
      return Promise.reject(err);
    }
    const frame = this.#frames.shift();
    if (frame !== undefined) {
      if (this.#paused && this.#frames.length < QUEUE_HIGH_WATER / 2) {
        this.#paused = false;
        this.#transport.resume();
      }
      return Promise.resolve(frame);
    }
    if (this.#ended) return Promise.reject(this.#endError());
    return new Promise((resolve, reject) => {
      this.#waiters.push({
        resolve: (f) => (f ? resolve(f) : reject(this.#endError())),
        reject,
      });
    });
  }

  #endError(): Error {
    const ended = this.#ended;
    if (ended?.error) return ended.error;
    return new ConnectionClosedError(this.#closed ? 'the connection is closed' : 'the peer closed the connection (EOF)');
  }

  #onFrame(frame: Uint8Array): void {
    const handshake = this.#handshakeFrames;
    if (handshake !== null && --handshake.left === 0) {
      this.#transport.maxFrameSize = handshake.limit;
      this.#handshakeFrames = null;
    }
    if (this.#detached) {
      this.#detached.frame(frame);
      return;
    }
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter.resolve(frame);
      return;
    }
    this.#frames.push(frame);
    if (!this.#paused && this.#frames.length >= QUEUE_HIGH_WATER) {
      this.#paused = true;
      this.#transport.pause();
    }
    for (const wake of this.#pollers) wake();
  }

  #onClosed(error: Error | null): void {
    if (this.#ended) return;
    this.#ended = { error };
    if (this.#detached) {
      this.#detached.closed(error ?? undefined);
      return;
    }
    for (const waiter of this.#waiters.splice(0)) waiter.resolve(null);
    for (const wake of this.#pollers) wake();
  }
}

/**
 * The suites of `wanted` this runtime runs. Asked for explicitly, each must run here (a page outside a
 * secure context has no AES-GCM); by default, those that run.
 */
function runnableSuites(wanted: readonly SuiteName[], runnable: readonly SuiteName[], explicit: boolean): readonly SuiteName[] {
  const suites = wanted.filter((s) => runnable.includes(s));
  if (explicit && suites.length < wanted.length) {
    const missing = wanted.filter((s) => !runnable.includes(s));
    throw new InvalidArgumentError(
      `encryptionSuites: ${missing.join(', ')} cannot run here (this runtime has ${runnable.join(', ')}; a page needs a secure context, https or localhost, for aes-256-gcm)`,
    );
  }
  return suites;
}

/** True for a '#CHALLENGE#' frame carrying mpmanager's mark (auth.ts). */
function isMarkedChallenge(frame: Uint8Array): boolean {
  if (frame.length <= CHALLENGE.length || !startsWith(frame, CHALLENGE)) return false;
  try {
    return peerOf(frame.subarray(CHALLENGE.length)) === Peer.Mpmanager;
  } catch {
    return false;
  }
}
