/**
 * The manager server: hosts objects made from a registry and serves them over one listening address,
 * in every dialect of its table (native clients, msgpack, multiplexed; CPython clients, pickle). The
 * first frame after the handshake says which dialect a connection speaks. Sessions see the server only
 * through the narrow `SessionHost` it hands them; what is public here is what operators use.
 */
import type { WebSocketListenOptions } from '../transport/types.js';
import { randomBytes } from 'node:crypto';
import { debuglog } from 'node:util';
import { ACCEPT_PLAINTEXT, Listener, securityOf, type Connection, type ListenerOptions, type SecurityOptions } from '../connection/index.js';
import { ObjectRef } from '../codec/ref.js';
import { Token } from '../codec/token.js';
import { AuthenticationError, ChannelError, ChannelFault, IdleTimeoutError, InvalidArgumentError, ProtocolError, ShutdownRefusedError, StateError, TooManyConnectionsError, type MpmError } from '../errors.js';
import { MsgpackCodec } from '../codec/msgpack.js';
import { PickleCodec } from '../codec/pickle/index.js';
import { formatAddress, formatPeer, type Address } from '../transport/address.js';
import { LOCAL_CONTEXT, withCall, type CallContext } from './context.js';
import { bindToNames, parameterNames, pyStr, PY_SIGNATURES } from './dispatch.js';
import { ObjectTable, type HostedObject } from './objects.js';
import { construct, publicMethods, type Registry, type Callable } from './registry.js';
import { resolveLimits, type LimitOptions, type Limits } from '../limits.js';
import { DIALECTS } from './dialects.js';
import { objectId, type Dialect, type Session, type SessionHost } from './session.js';
import { tuple } from '../codec/values.js';
import { HostedRef } from './hosted-ref.js';
import { Activity, type ActivityOptions } from './activity.js';
import { sharedIdOf } from './objects.js';
import { watchHolds } from './context.js';

const debug = debuglog('mpmanager');
/** Characters of each object `debug_info` shows (CPython's `str(obj)[:75]`). */
const DEBUG_INFO_WIDTH = 75;

/** The limits a server enforces (each documented, with its default, in src/limits.ts). */
export const SERVER_LIMITS = [
  'handshakeTimeout',
  'maxFrameSize',
  'maxConnections',
  'backlog',
  'writeHighWaterMark',
  'maxCallsInFlight',
  'idleTimeout',
  'maxConnectionsPerPeer',
  'decodeAllocationFactor',
  'decodeAllocationFloor',
  'maxIntDigits',
  'maxDepth',
  'maxMemo',
  'maxItems',
] as const satisfies readonly (keyof Limits)[];
export type ServerLimits = Pick<Limits, (typeof SERVER_LIMITS)[number]>;

/**
 * A server's options. Its `encryption` policy (default `'prefer'`): every mpmanager client that wants
 * encryption gets it, and stock CPython clients, which cannot encrypt, are served in clear; with
 * `'require'` a CPython client is answered with an error saying why, then closed, and an mpmanager client
 * that will not encrypt is refused.
 */
/** One shared object (kept outside the server, e.g. in Redis) as `shared_objects` lists it. */
export interface SharedObjectInfo {
  readonly name: string;
  readonly typeid: string;
  /** Queue depth, dict/list/set length; 1 for objects without a size. */
  readonly size: number;
}

export interface ServerOptions extends LimitOptions<keyof ServerLimits>, SecurityOptions, WebSocketListenOptions {
  /**
   * The shared objects this server serves by name (`mpmanager serve --shared`), listed by the
   * `shared_objects` operation (`mpmanager info` shows them). Default: none.
   */
  sharedObjects?: (() => Promise<readonly SharedObjectInfo[]>) | undefined;
  /** Shared secret every client must prove it holds. */
  authkey: string | Uint8Array;
  /** Whether any authenticated client may shut the server down (CPython allows it). Default false. */
  allowRemoteShutdown?: boolean | undefined;
  /** A client presenting this key in its hello may shut the server down (the process that started it). */
  shutdownKey?: string | undefined;
  /** The dialects served, tried in order on each connection's first frame. Default: native, then CPython's. */
  dialects?: readonly Dialect[] | undefined;
}

/** One hosted object as the view lists it. */
export interface ObjectInfo {
  readonly id: string;
  readonly typeid: string;
  readonly refcount: number;
  /** When it was hosted (ms since the epoch). */
  readonly createdAt: number;
  /** For an object kept outside this server (in Redis): its shared id (`shared:<kind>:<ns>/<name>`); else null. */
  readonly shared: string | null;
  /**
   * The object itself, for an inspector that knows its class (a queue's `qsize()`): read it, never call
   * anything that waits or changes it.
   */
  readonly referent: unknown;
}

/** What an inspector may read of a running server: counts and listings, never a way to change it. */
export interface ServerView {
  readonly address: Address;
  /** When the server started listening (ms since the epoch). */
  readonly startedAt: number;
  /** Connections being served now. */
  readonly connections: number;
  /** Hosted objects now. */
  readonly objectCount: number;
  /** Each hosted object. */
  objects(): IterableIterator<ObjectInfo>;
  /** Handshakes that failed authentication since the server started. */
  readonly authFailures: number;
  /** The server's encryption policy (`prefer` unless set) and whether it serves TLS. */
  readonly encryption: string;
  readonly tls: boolean;
  /** The shared objects it serves by name, with their sizes (`sharedObjects` option; one look-up per call). */
  sharedObjects(): Promise<readonly SharedObjectInfo[]>;
  /** What the server records of its calls since `watch()`; null if nothing watches it. */
  readonly activity: Activity | null;
}


export class Server {
  readonly #registry: Registry;
  readonly #objects = new ObjectTable();
  readonly #options: Readonly<ServerOptions>;
  readonly #dialects: readonly Dialect[];
  readonly #startedAt = Date.now();
  /** What sessions may ask of this server. */
  readonly #host: SessionHost;
  /** A key a process can hand its own clients so they may shut this server down. */
  readonly shutdownKey: string;
  readonly #listener: Listener;
  readonly #sessions = new Set<Session>();
  #stopped = false;
  #stopWaiters: Array<() => void> = [];
  #serving: Promise<void> | null = null;

  readonly #limits: ServerLimits;
  /** Sessions by peer host, for `maxConnectionsPerPeer`. */
  readonly #perPeer = new Map<string, number>();
  /** What sessions record while the server is watched (`watch()`); null until then. */
  #activity: Activity | null = null;
  #unwatchHolds: (() => void) | null = null;
  #authFailures = 0;

  private constructor(registry: Registry, listener: Listener, options: ServerOptions, limits: ServerLimits) {
    this.#registry = registry;
    this.#listener = listener;
    this.#options = options;
    this.#limits = limits;
    this.#dialects = options.dialects ?? DIALECTS;
    const objects = this.#objects;
    const server = this;
    this.#host = {
      get address() {
        return listener.address;
      },
      objects,
      get activity() {
        return server.#activity;
      },
      limits,
      codecs: { msgpack: new MsgpackCodec(limits), pickle: new PickleCodec(limits) },
      create: (typeid, args, kwds, context) => this.#create(typeid, args, kwds, context),
      host: (typeid, value) => this.#hostValue(typeid, value),
      refTo: (obj) => this.#refTo(obj),
      resolveRef: (ref) => this.#resolveRef(ref),
      operation: (name, args, key) => this.#operation(name, args, key),
      assertRunning: () => this.#assertRunning(),
      sessionEnded: (session) => this.#sessions.delete(session),
    };
    this.shutdownKey = options.shutdownKey ?? randomBytes(16).toString('hex');
    listener.on('handshakeError', (err) => {
      if (err instanceof AuthenticationError) this.#authFailures++;
    });
  }

  /** Binds `address` (port 0 resolves to a free port) and returns a server ready to `serveForever()`. */
  static async listen(registry: Registry, address: Address, options: ServerOptions): Promise<Server> {
    if (options.authkey === undefined || options.authkey === null) throw new InvalidArgumentError('a manager server needs an authkey');
    const limits = resolveLimits(options, SERVER_LIMITS);
    const listener = await Listener.listen(address, {
      authkey: options.authkey,
      backlog: limits.backlog,
      handshakeTimeout: limits.handshakeTimeout,
      maxFrameSize: limits.maxFrameSize,
      writeHighWaterMark: limits.writeHighWaterMark,
      httpServer: options.httpServer,
      allowedOrigins: options.allowedOrigins,
      ...securityOf(options),
      // A CPython client under 'require' is told why (#begin), not just closed.
      [ACCEPT_PLAINTEXT]: true,
    } as ListenerOptions);
    return new Server(registry, listener, options, limits);
  }

  /** The bound address (what tokens carry). */
  get address(): Address {
    return this.#listener.address;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** A read-only view of what the server serves, for inspection. */
  get view(): ServerView {
    const server = this;
    const objects = this.#objects;
    const options = this.#options;
    return {
      address: this.address,
      startedAt: this.#startedAt,
      get connections() {
        return server.#sessions.size;
      },
      get objectCount() {
        return objects.size;
      },
      *objects() {
        for (const o of objects.values()) {
          yield { id: o.id, typeid: o.typeid, refcount: o.refcount, createdAt: o.createdAt, shared: sharedIdOf(o.referent), referent: o.referent };
        }
      },
      get authFailures() {
        return server.#authFailures;
      },
      encryption: options.encryption ?? 'prefer',
      tls: options.tls !== undefined,
      sharedObjects: () => options.sharedObjects?.() ?? Promise.resolve([]),
      get activity() {
        return server.#activity;
      },
    };
  }

  /**
   * Starts recording calls (counts, durations, outcomes, calls in flight), bytes, recent errors and slow
   * calls, and what each connection holds, for an inspector or a metrics endpoint; returns the record.
   * Connections opened before the first call are not recorded. Until a server is watched, its sessions
   * do nothing extra per call (a null check). Calling it again returns the same record.
   */
  watch(options: ActivityOptions = {}): Activity {
    if (this.#activity === null) {
      this.#activity = new Activity(options);
      this.#unwatchHolds = watchHolds();
      if (this.#stopped) this.#unwatch();
    }
    return this.#activity;
  }

  #unwatch(): void {
    this.#activity?.stop();
    this.#unwatchHolds?.();
    this.#unwatchHolds = null;
  }

  /** Serves until `shutdown()`; resolves then. Starting twice returns the same promise. */
  serveForever(): Promise<void> {
    this.#serving ??= this.#acceptLoop();
    return this.#serving;
  }

  /** Stops accepting, closes every connection (releasing what they held) and resolves when done. */
  async shutdown(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#unwatch();
    await this.#listener.close();
    for (const session of [...this.#sessions]) session.close();
    this.#sessions.clear();
    for (const w of this.#stopWaiters.splice(0)) w();
  }

  /** Resolves when the server has shut down. */
  whenStopped(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((r) => this.#stopWaiters.push(r));
  }

  async #acceptLoop(): Promise<void> {
    const { maxConnections, maxConnectionsPerPeer } = this.#limits;
    for await (const conn of this.#listener) {
      if (this.#sessions.size >= maxConnections) {
        void this.#refuse(conn, new TooManyConnectionsError('maxConnections', this.#sessions.size));
        continue;
      }
      const peer = peerHost(conn.transport.peerAddress);
      if (peer !== null && maxConnectionsPerPeer > 0) {
        const n = this.#perPeer.get(peer) ?? 0;
        if (n >= maxConnectionsPerPeer) {
          void this.#refuse(conn, new TooManyConnectionsError('maxConnectionsPerPeer', n, peer));
          continue;
        }
        this.#perPeer.set(peer, n + 1);
        void conn.transport.whenClosed.then(() => {
          const left = (this.#perPeer.get(peer) ?? 1) - 1;
          if (left > 0) this.#perPeer.set(peer, left);
          else this.#perPeer.delete(peer);
        });
      }
      void this.#begin(conn);
    }
    await this.whenStopped();
  }

  /**
   * Refuses an authenticated connection (a connection limit) and tells the client why, in the dialect of
   * its first frame (`Dialect.refuse`). Then the connection is closed; a peer that says nothing is closed
   * after a second.
   */
  async #refuse(conn: Connection, err: MpmError): Promise<void> {
    debug('refusing a connection from %s: %s', formatAddress(conn.transport.peerAddress), err.message);
    const timer = setTimeout(() => conn.destroy(), REFUSAL_WAIT_MS);
    timer.unref();
    try {
      const first = await conn.recvBytes();
      this.#dialects.find((d) => d.accepts(first))?.refuse(conn, first, err);
    } catch {
      // gone, or silent: nothing to tell
    } finally {
      clearTimeout(timer);
      conn.close();
    }
  }

  async #begin(conn: Connection): Promise<void> {
    let first: Buffer;
    const idle = this.#limits.idleTimeout;
    const timer = idle > 0 ? setTimeout(() => {
      debug('%s', new IdleTimeoutError(idle).message);
      conn.destroy(new IdleTimeoutError(idle));
    }, idle) : undefined;
    timer?.unref();
    try {
      first = await conn.recvBytes();
    } catch {
      conn.close();
      return;
    } finally {
      clearTimeout(timer);
    }
    if (this.#stopped) {
      conn.close();
      return;
    }
    if (this.#options.encryption === 'require' && conn.encryption === null) {
      // Only a stock CPython client gets here in clear (an mpmanager one encrypts or was refused).
      this.#dialects.find((d) => d.accepts(first))?.refuse(conn, first, new ChannelError(ChannelFault.Policy, ENCRYPTION_REQUIRED));
      conn.close();
      return;
    }
    let session: Session;
    try {
      const dialect = this.#dialects.find((d) => d.accepts(first));
      if (dialect === undefined) {
        throw new ProtocolError(`the first frame speaks none of this server's dialects (${this.#dialects.map((d) => d.name).join(', ')})`);
      }
      if (debug.enabled) {
        // Before open(): a CPython client's first request is served inside it.
        const who = `${formatPeer(conn.peerAddress, this.address)} over ${conn.transport.kind}, dialect ${dialect.name}`;
        debug('accepted %s', who);
        void conn.transport.whenClosed.then(() => debug('closed %s', who));
      }
      session = dialect.open(this.#host, conn, first);
    } catch (err) {
      debug('dropping a connection from %s: %s', formatPeer(conn.peerAddress, this.address), (err as Error).message);
      conn.destroy(err as Error);
      return;
    }
    if (!session.closed) this.#sessions.add(session);
  }

  // ---- server operations, shared by both dialects ------------------------------------------------

  /**
   * Makes a new object of `typeid` and returns it with refcount 0: the caller takes the first reference.
   * With no callable registered, the one positional argument is the object (CPython's rule). A callable
   * that returns a promise (an async factory) has its result hosted, not the promise.
   */
  #create(typeid: string, args: unknown[], kwds: Record<string, unknown> | null, context: CallContext): HostedObject | Promise<HostedObject> {
    const entry = this.#registry.get(typeid);
    let referent: unknown;
    if (entry.callable === null) {
      if (args.length !== 1 || (kwds && Object.keys(kwds).length > 0)) {
        throw new InvalidArgumentError(`'${typeid}' has no callable: create it with exactly one positional argument, the object itself`);
      }
      referent = args[0] instanceof HostedRef ? args[0].referent : args[0];
    } else {
      const callable = entry.callable;
      const callArgs = kwds && Object.keys(kwds).length > 0 ? bindToNames(constructorParams(callable), typeid, args, kwds) : args;
      referent = withCall(context, () => construct(callable, callArgs));
      if (referent instanceof Promise) return referent.then((value: unknown) => this.#hostValue(typeid, value));
    }
    return this.#hostValue(typeid, referent);
  }

  /** Hosts an existing value under `typeid` (the registry says what is exposed). Refcount starts at 0. */
  #hostValue(typeid: string, value: unknown): HostedObject {
    const entry = this.#registry.get(typeid);
    const referent = entry.hostAs ? entry.hostAs(value) : value;
    const exposed = entry.exposed ? this.#exposedOf(entry) : withMapped(publicMethods(referent), entry.methodToTypeid);
    return this.#objects.add(typeid, referent, exposed, entry.methodToTypeid);
  }

  /** A registered exposed list plus the `methodToTypeid` names, computed once per registration. */
  readonly #exposedLists = new WeakMap<object, readonly string[]>();
  #exposedOf(entry: { exposed: readonly string[] | null; methodToTypeid: Readonly<Record<string, string>> }): readonly string[] {
    let list = this.#exposedLists.get(entry);
    if (!list) {
      list = Object.freeze(withMapped(entry.exposed ?? [], entry.methodToTypeid));
      this.#exposedLists.set(entry, list);
    }
    return list;
  }

  /** The reference a client receives for a hosted object. */
  #refTo(obj: HostedObject): ObjectRef {
    const entry = this.#registry.has(obj.typeid) ? this.#registry.get(obj.typeid) : null;
    return new ObjectRef(new Token(obj.typeid, this.address, obj.id), obj.exposedList, entry?.pyProxytype ?? null);
  }

  /** Whether a caller that has shown `key` (or not) may shut the server down. */
  #checkShutdown(key: string | undefined): void {
    if (this.#options.allowRemoteShutdown || (key !== undefined && key === this.shutdownKey)) return;
    throw new ShutdownRefusedError();
  }

  /**
   * The server operations that do not depend on who holds references, answered alike in both dialects
   * (`create`, `incref` and `decref` belong to the sessions). `shutdownKey` is what the caller presented.
   */
  #operation(name: string, args: readonly unknown[], shutdownKey: string | undefined): unknown {
    switch (name) {
      case 'get_methods':
        return tuple(...this.#objects.get(objectId(args[0])).exposedList);
      case 'dummy':
      case 'accept_connection':
        return null;
      case 'debug_info':
        return this.#debugInfo();
      case 'number_of_objects':
        return this.#objects.size;
      case 'shared_objects':
        return (this.#options.sharedObjects?.() ?? Promise.resolve([])).then((list) => list.map((o) => tuple<unknown>(o.name, o.typeid, o.size)));
      case 'shutdown':
        this.#checkShutdown(shutdownKey);
        setImmediate(() => void this.shutdown());
        return null;
      default:
        throw new InvalidArgumentError(
          `'${name}' unrecognized: the server operations are create, incref, decref, get_methods, dummy, debug_info, number_of_objects, shared_objects, shutdown, accept_connection`,
        );
    }
  }

  #debugInfo(): string {
    const lines: string[] = [];
    for (const obj of this.#objects.values()) {
      let text: string;
      try {
        // CPython prints `str(obj)[:75]`; only that much is made, however large the object.
        text = withCall(LOCAL_CONTEXT, () => pyStr(obj.referent, { maxLength: DEBUG_INFO_WIDTH }));
      } catch (err) {
        text = `<repr failed: ${(err as Error).message}>`;
      }
      lines.push(`  ${obj.id}:       refcount=${obj.refcount}\n    ${text.slice(0, DEBUG_INFO_WIDTH)}`);
    }
    return lines.join('\n');
  }

  /**
   * Resolves a reference that arrived from a client: our own objects become handles; others stay
   * references, but the proxy class a CPython reader would import to rebuild them is kept only when it is
   * known to be harmless (CPython's own classes, named bare, or one a registration here names), else it
   * becomes AutoProxy. Otherwise any client could make every CPython client that reads the value import
   * a module of its choice.
   */
  #resolveRef(ref: ObjectRef): unknown {
    const obj = this.#objects.find(ref.token.id);
    if (obj && obj.typeid === ref.token.typeid) return new HostedRef(this.#objects, obj, this.#refTo(obj));
    const proxytype = ref.proxytype;
    if (proxytype === null || !proxytype.includes('.') || this.#registeredProxytypes().has(proxytype)) return ref;
    debug('a client sent a reference with proxy class %s, which no registration names: passed on as AutoProxy', proxytype);
    return new ObjectRef(ref.token, ref.exposed, null);
  }

  #proxytypes: ReadonlySet<string> | null = null;
  /** The `pyProxytype`s the registry names (computed once: registrations are fixed once serving). */
  #registeredProxytypes(): ReadonlySet<string> {
    this.#proxytypes ??= new Set([...this.#registry.entries()].map((e) => e.pyProxytype).filter((p): p is string => p !== null));
    return this.#proxytypes;
  }

  /** Fails calls that need a running server. */
  #assertRunning(): void {
    if (this.#stopped) throw new StateError('the server has shut down');
  }
}

/** `exposed` plus any `methodToTypeid` name it lacks (CPython: `list(exposed) + list(method_to_typeid)`). */
function withMapped(exposed: readonly string[], methodToTypeid: Readonly<Record<string, string>>): readonly string[] {
  const extra = Object.keys(methodToTypeid).filter((m) => !exposed.includes(m));
  return extra.length === 0 ? exposed : [...exposed, ...extra];
}

function constructorParams(callable: Callable): readonly string[] {
  const table = (callable as unknown as Record<symbol, unknown>)[PY_SIGNATURES] as Record<string, readonly string[]> | undefined;
  const explicit = table ? (Object.getOwnPropertyDescriptor(table, 'constructor')?.value as readonly string[] | undefined) : undefined;
  if (explicit) return explicit;
  return parameterNames(callable as (...a: unknown[]) => unknown);
}

/** The host a peer connects from, for per-peer limits: null for Unix sockets (no address). */
function peerHost(address: Address): string | null {
  return Array.isArray(address) && typeof address[0] === 'string' && address[0] !== '' ? address[0] : null;
}

const ENCRYPTION_REQUIRED =
  'this server requires an encrypted channel, and a stock CPython client cannot encrypt: connect with mpmanager, ' +
  "or through a TLS tunnel (stunnel, ssh -L) to the server's TLS listener, or ask its operator for encryption 'prefer'";

/** How long a refused connection is given to send its first frame, so it can be told why. */
const REFUSAL_WAIT_MS = 1000;

