/**
 * The manager, as CPython's `BaseManager`, for every runtime: register typeids, then `start()` a server
 * (in this process: Node serves without blocking, so the caller keeps working and uses proxies like any
 * client), `connect()` to a running one, or `getServer()` and `serveForever()`. Creation methods named
 * after each typeid exist at run time as in Python (`manager.dict()`), and `create(typeid, ...)` is the
 * typed form.
 *
 * What differs between runtimes comes from the class's `platform` (`ManagerPlatform`): how connections are
 * opened, whether the classic dialect and a server of its own exist. Node's `BaseManager`
 * (./base-manager.ts) has all of them; the browser's (src/browser.ts) connects over WebSocket only.
 */
import { Emitter } from '../events.js';
import { InvalidArgumentError, StateError } from '../errors.js';
import { NativeClient, type Dial, type NativeClientOptions } from '../protocol/native-client.js';
import { ReconnectingClient, reconnectPolicy, type ReconnectEvents, type ReconnectOptions, type ReconnectPolicy } from '../protocol/reconnecting-client.js';
import type { CallOptions, ManagerClient } from '../protocol/client.js';
import { ObjectRef } from '../codec/ref.js';
import { Token } from '../codec/token.js';
import type { Address } from '../transport/address.js';
import { checkAddress } from '../transport/address.js';
import { asBytes, copyBytes, utf8 } from '../bytes.js';
import { Registry, type Callable, type TypeidOptions } from '../server/registry.js';
import type { ServerLimits } from '../server/server.js';
import type { LimitOptions } from '../limits.js';
import { securityOf, type SecurityOptions } from '../connection/connection.js';
import type { BaseProxy, ProxyClass, TransferableProxy } from '../../proxies/base-proxy.js';
import { autoProxy, type AutoProxy } from '../../proxies/auto-proxy.js';

/** Options of a manager: its own, and the limits of the server it starts (src/limits.ts documents each). */
export interface ManagerOptions extends LimitOptions<keyof ServerLimits>, SecurityOptions {
  /** Shared secret. Default: `MPM_AUTHKEY` from the environment, else (for `start()`) a random key, readable as `manager.authkey`. */
  authkey?: string | Uint8Array | undefined;
  /** Whether any authenticated client may shut a started server down. Default false (only this process may). */
  allowRemoteShutdown?: boolean | undefined;
  /** Name this client shows the server. Default `node-<pid>`. */
  name?: string | undefined;
  /**
   * The dialect this manager's client speaks: `'msgpack'` (the native dialect; mpmanager servers only) or
   * `'pickle'` (CPython's own protocol; stock CPython manager servers, and mpmanager servers too).
   * Default: the server's own, known from its handshake: native for an mpmanager server, pickle for a
   * CPython one. `'msgpack'` against a CPython server fails at once with `InvalidArgumentError`.
   */
  serializer?: 'msgpack' | 'pickle' | undefined;
  /**
   * Reconnect when the connection to the server drops (for `connect()`; mpmanager servers only: with
   * `serializer: 'pickle'`, or against a stock CPython server, it is refused with `InvalidArgumentError`).
   * `true` takes the defaults; an object sets `addresses` (more servers to try, round robin after the one
   * just lost; default none), `initialDelay` (ms, default 100), `maxDelay` (ms, default 5 000) and
   * `attempts` (default Infinity: forever, until `shutdown()`). Each wait is exponential backoff with
   * jitter: uniform in [d/2, d], d = min(maxDelay, initialDelay × 2^(attempt−1)). Every other option
   * (authkey, encryption, tls, limits) applies to every reconnection. Default: off.
   *
   * While reconnecting, calls in flight at the drop fail with `ConnectionLostError` (retryable: each may or
   * may not have run); later calls wait, bounded by their own `timeout`/`signal`; releases are dropped (the
   * server released what the connection held). Once connected again, proxies to shared objects (ids
   * starting `shared:`, kept in Redis) work as before; proxies to objects that lived in the lost server's
   * memory fail with `ObjectGoneError`. `connect()` itself still fails at once if no server answers.
   * The manager emits `'disconnect'`, `'reconnecting'`, `'reconnect'` and `'reconnectFailed'` (`on()`).
   */
  reconnect?: boolean | ReconnectOptions | undefined;
}

/** The events a manager with the `reconnect` option emits (`manager.on(event, listener)`). */
export type ManagerEvents = ReconnectEvents;

/** The referent type a callable makes. */
export type ReferentOf<C> = C extends new (...args: any[]) => infer I ? I : C extends (...args: any[]) => infer R ? Awaited<R> : any;
/** The proxy a registration yields: its proxy class, else an auto proxy typed from the referent (and its `exposed` names). */
export type ProxyFor<C, P, E extends string = never> = P extends ProxyClass<infer I> ? I : AutoProxy<ReferentOf<C>, E>;
/** The arguments a callable takes. */
export type ArgsOf<C> = C extends new (...args: infer A) => any ? A : C extends (...args: infer A) => any ? A : any[];

/** A server a manager started or bound (Node's `Server`). */
export interface ManagerServer {
  readonly address: Address;
  readonly shutdownKey: string;
  serveForever(): Promise<void>;
  shutdown(): Promise<void>;
  whenStopped(): Promise<void>;
}

/** What a runtime gives its managers (see the header). */
export interface ManagerPlatform {
  /** Opens authenticated connections. */
  readonly dial: Dial;
  /** The authkey from the environment (`MPM_AUTHKEY`), if the runtime has one. */
  envAuthkey(): string | undefined;
  /** Random bytes, for a started server's authkey. */
  random(n: number): Uint8Array;
  /** The classic dialect's client, for stock CPython servers; absent where there is none (browsers). */
  readonly classic?: ((address: Address, options: Omit<NativeClientOptions, 'dial' | 'shutdownKey'>) => Promise<ManagerClient>) | undefined;
  /** Binds a server for a registry; absent where no server can run (browsers). */
  readonly listen?: ((registry: Registry, address: Address, options: ManagerOptions & { authkey: Uint8Array }) => Promise<ManagerServer>) | undefined;
}

const State = { Initial: 'initial', Started: 'started', Connected: 'connected', Shutdown: 'shutdown' } as const;
type State = (typeof State)[keyof typeof State];

const classRegistries = new WeakMap<object, Registry<ProxyClass>>();

function registryOf(cls: object): Registry<ProxyClass> {
  let own = classRegistries.get(cls);
  if (!own) {
    const parent = Object.getPrototypeOf(cls) as object | null;
    own = parent && parent !== Function.prototype ? registryOf(parent).clone() : new Registry<ProxyClass>();
    classRegistries.set(cls, own);
  }
  return own;
}

function entryOptions(options: TypeidOptions<ProxyClass>): TypeidOptions<ProxyClass> {
  const proxytype = options.proxytype;
  const resolved: TypeidOptions<ProxyClass> = { ...options };
  const exposed = options.exposed ?? proxytype?.exposed;
  const methodToTypeid = options.methodToTypeid ?? proxytype?.methodToTypeid;
  const pyProxytype = options.pyProxytype ?? proxytype?.pyProxytype;
  if (exposed) resolved.exposed = exposed;
  if (methodToTypeid) resolved.methodToTypeid = methodToTypeid;
  if (pyProxytype) resolved.pyProxytype = pyProxytype;
  return resolved;
}

export abstract class CoreManager {
  /** This runtime's platform (see the header); every concrete manager class has one. */
  static platform: ManagerPlatform;

  /** Registers a typeid on this manager class and its subclasses (CPython's classmethod `register`). */
  static register(typeid: string, callable: Callable | null = null, options: TypeidOptions<ProxyClass> = {}): void {
    registryOf(this).register(typeid, callable, entryOptions(options));
  }

  /** This class's registry (a copy of its parent's plus its own registrations). */
  static get registry(): Registry<ProxyClass> {
    return registryOf(this);
  }

  readonly #registry: Registry<ProxyClass>;
  readonly #options: ManagerOptions;
  #address: Address;
  #authkey: Uint8Array | null;
  #state: State = State.Initial;
  #server: ManagerServer | null = null;
  #client: ManagerClient | null = null;
  readonly #reconnect: ReconnectPolicy | null;
  readonly #events = new Emitter<ManagerEvents>();
  readonly #platform: ManagerPlatform;

  constructor(address: Address = ['127.0.0.1', 0], options: ManagerOptions = {}) {
    this.#address = checkAddress(address);
    this.#options = options;
    this.#platform = (this.constructor as typeof CoreManager).platform;
    this.#reconnect = options.reconnect === undefined || options.reconnect === false ? null : reconnectPolicy(options.reconnect);
    if (this.#reconnect !== null && options.serializer === 'pickle') {
      throw new InvalidArgumentError("reconnect needs an mpmanager server and its native dialect: it cannot be used with serializer: 'pickle' (leave serializer unset, or 'msgpack')");
    }
    this.#registry = registryOf(this.constructor).clone();
    const key = options.authkey ?? this.#platform.envAuthkey();
    // A Buffer in Node (asBytes), as CPython's `authkey` is bytes.
    this.#authkey = key === undefined ? null : asBytes(typeof key === 'string' ? utf8(key) : copyBytes(key));
    for (const entry of this.#registry.entries()) this.#addCreateMethod(entry.typeid, entry.createMethod);
  }

  /**
   * Registers a typeid on this manager only, and types its creation method:
   * `const m = new BaseManager(addr, opts).register('Counter', Counter)` gives `m.Counter(): Promise<AutoProxy<Counter>>`.
   */
  register<K extends string, C extends Callable | null = null, P extends ProxyClass | undefined = undefined, const E extends string = never>(
    typeid: K,
    callable?: C,
    options: Omit<TypeidOptions<ProxyClass>, 'exposed'> & { proxytype?: P; exposed?: readonly E[] } = {},
  ): this & { [Q in K]: (...args: ArgsOf<C>) => Promise<ProxyFor<C, P, E>> } {
    const entry = this.#registry.register(typeid, callable ?? null, entryOptions(options));
    this.#addCreateMethod(typeid, entry.createMethod);
    return this as never;
  }

  /** The server's address (with port 0 resolved once started). */
  get address(): Address {
    return this.#address;
  }

  /** The authkey in use (generated by `start()` when none was given). */
  get authkey(): Uint8Array {
    if (!this.#authkey) throw new StateError('no authkey yet: pass { authkey } or call start() first');
    return this.#authkey;
  }

  get registry(): Registry<ProxyClass> {
    return this.#registry;
  }

  /** The connection proxies of this manager use. */
  get client(): ManagerClient {
    if (!this.#client) throw new StateError('the manager is not started or connected: call start() or connect() first');
    return this.#client;
  }

  /** Binds a server for this manager's registry without serving yet (CPython's `get_server()`). */
  async getServer(): Promise<ManagerServer> {
    if (this.#state !== State.Initial) throw new StateError('Already started server');
    const listen = this.#platform.listen;
    if (listen === undefined) throw new StateError('a server cannot run here (a browser): connect() to one instead');
    this.#authkey ??= asBytes(this.#platform.random(32));
    const server = await listen(this.#registry as Registry, this.#address, { ...this.#options, authkey: this.#authkey });
    this.#address = server.address;
    return server;
  }

  /** Starts a server for this manager in this process, and connects to it. */
  async start(): Promise<this> {
    if (this.#reconnect !== null) {
      throw new InvalidArgumentError('reconnect is for connect(): a started manager serves from this process, and its connection lives as long as its server');
    }
    const server = await this.getServer();
    this.#server = server;
    void server.serveForever();
    this.#state = State.Started;
    try {
      await this.#connectClient(server.shutdownKey);
    } catch (err) {
      await server.shutdown();
      this.#state = State.Shutdown;
      throw err;
    }
    return this;
  }

  /** Connects to a running manager server (an mpmanager or a stock CPython one). */
  async connect(): Promise<this> {
    if (this.#state !== State.Initial) throw new StateError('the manager is already started or connected');
    if (!this.#authkey) throw new InvalidArgumentError('connect() needs the server\'s authkey: pass { authkey } or set MPM_AUTHKEY');
    await this.#connectClient(undefined);
    // CPython's connect() checks the server with `dummy`; ClassicClient.connect() has already done so.
    if (this.#client instanceof NativeClient || this.#client instanceof ReconnectingClient) await this.#client.call(null, 'dummy');
    this.#state = State.Connected;
    return this;
  }

  /**
   * Opens this manager's client in the dialect `serializer` names, or, when it names none, in the one the
   * server speaks, as its handshake shows (src/connection/auth.ts): native for an mpmanager server, on the
   * connection that handshake ran on; classic for a stock CPython server, whose client opens connections of
   * its own, so that probe costs one extra connection (closed right after its handshake, no frame sent).
   */
  async #connectClient(shutdownKey: string | undefined): Promise<void> {
    const o = this.#options;
    const common = {
      authkey: this.authkey,
      handshakeTimeout: o.handshakeTimeout,
      maxFrameSize: o.maxFrameSize,
      name: o.name,
      ...securityOf(o),
    };
    const native = { ...common, shutdownKey, dial: this.#platform.dial };
    const classic = this.#platform.classic;
    const classicClient = () => {
      if (classic === undefined) throw new InvalidArgumentError(`the server at ${String(this.#address)} is a stock CPython manager, whose pickle dialect a browser does not speak`);
      return classic(this.#address, common);
    };
    const serializer = o.serializer;
    let client: ManagerClient;
    if (this.#reconnect !== null) {
      // The client emits on the manager's emitter: listeners may be added before connect().
      client = await ReconnectingClient.connect(this.#address, native, this.#reconnect, this.#events);
    } else {
      switch (serializer) {
        case 'pickle':
          client = await classicClient();
          break;
        case 'msgpack':
          client = await NativeClient.connect(this.#address, native);
          break;
        case undefined:
          client = (await NativeClient.connectIfNative(this.#address, native)) ?? (await classicClient());
          break;
        default:
          serializer satisfies never;
          throw new InvalidArgumentError(`unknown serializer '${String(serializer)}': use 'msgpack' or 'pickle', or leave it unset`);
      }
    }
    client.decodeContext = { reviveRef: (ref) => this.proxyFor(ref) };
    this.#client = client;
  }

  /** Creates a hosted object of `typeid` and returns its proxy (one round trip). */
  create<P = AutoProxy>(typeid: string, ...args: unknown[]): Promise<P> {
    return this.createWith<P>(typeid, args);
  }

  /** `create` with Python keyword arguments and call options. */
  createWith<P = AutoProxy>(typeid: string, args: readonly unknown[] = [], kwds: Record<string, unknown> | null = null, options?: CallOptions): Promise<P> {
    return this.client.call(null, 'create', [typeid, ...args], kwds, options) as Promise<P>;
  }

  /** Makes the proxy for a reference this client now holds. */
  proxyFor(ref: ObjectRef): BaseProxy {
    const client = this.client;
    const Cls = this.#registry.has(ref.token.typeid) ? this.#registry.get(ref.token.typeid).proxytype : undefined;
    return Cls ? new Cls(client, ref) : autoProxy(client, ref);
  }

  /**
   * Rebuilds a proxy handed over from another process or thread (`proxy.toTransferable()`): this manager's
   * connection takes a reference of its own (incref), so the object stays alive while this proxy does.
   */
  async rebuild<P = AutoProxy>(data: TransferableProxy): Promise<P> {
    const client = this.client;
    await client.call(null, 'incref', [data.id]);
    return this.proxyFor(new ObjectRef(new Token(data.typeid, data.address, data.id), data.exposed, data.proxytype)) as P;
  }

  /** How many objects the server hosts. */
  async numberOfObjects(): Promise<number> {
    return (await this.client.call(null, 'number_of_objects')) as number;
  }

  /** The server's listing of hosted objects and refcounts. */
  async debugInfo(): Promise<string> {
    return (await this.client.call(null, 'debug_info')) as string;
  }

  /**
   * A started manager shuts its server down; a connected one disconnects (and asks the server to shut
   * down only if `{ remote: true }`, which the server refuses unless it allows remote shutdown).
   */
  async shutdown(options: { remote?: boolean } = {}): Promise<void> {
    if (this.#state === State.Shutdown) return;
    const state = this.#state;
    this.#state = State.Shutdown;
    const client = this.#client;
    try {
      if (state === State.Connected && options.remote && client) await client.call(null, 'shutdown');
    } finally {
      // A refused remote shutdown still disconnects: the state is already Shutdown, so nothing else would.
      // Closing waits for the server's side, so what this client held is released when shutdown() resolves.
      // A started manager's own server closes that side itself.
      if (this.#server) {
        void client?.close();
        await this.#server.shutdown();
      } else await client?.close();
    }
  }

  /**
   * Listens to this manager's events (`reconnect` option): `'disconnect'` (error), `'reconnecting'`
   * ({ attempt, delay, address, error }), `'reconnect'` (address) and `'reconnectFailed'` (error).
   */
  on<E extends keyof ManagerEvents>(event: E, listener: (...args: ManagerEvents[E]) => void): this {
    this.#events.on(event, listener as never);
    return this;
  }

  /** `on`, for the next event only. */
  once<E extends keyof ManagerEvents>(event: E, listener: (...args: ManagerEvents[E]) => void): this {
    this.#events.once(event, listener as never);
    return this;
  }

  /** Removes a listener added with `on` or `once`. */
  off<E extends keyof ManagerEvents>(event: E, listener: (...args: ManagerEvents[E]) => void): this {
    this.#events.off(event, listener as never);
    return this;
  }

  /** Resolves when a started manager's server stops (after `shutdown()` or a permitted remote shutdown). */
  join(): Promise<void> {
    return this.#server?.whenStopped() ?? Promise.resolve();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  #addCreateMethod(typeid: string, wanted: boolean): void {
    if (!wanted || typeid in this) return;
    Object.defineProperty(this, typeid, {
      value: (...args: unknown[]) => this.create(typeid, ...args),
      configurable: true,
      writable: true,
    });
  }
}
