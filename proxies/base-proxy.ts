/**
 * `BaseProxy`: the client-side handle of a hosted object (CPython's `multiprocessing.managers.BaseProxy`).
 * A proxy owns one reference on the server: `release()` (or `using`/`await using`) gives it back; if a
 * proxy is garbage collected unreleased, a FinalizationRegistry gives it back then. Calls in flight keep
 * their proxy reachable, so the backstop never cancels one.
 */
import { NotExposedError, ConnectionClosedError } from '../src/errors.js';
import type { CallOptions, ManagerClient } from '../src/protocol/client.js';
import { ObjectRef, RefHolder } from '../src/codec/ref.js';
import { Token } from '../src/codec/token.js';
import { FALLBACK_METHODS, GETVALUE } from '../src/protocol/classic.js';
import type { Address } from '../src/transport/address.js';

const finalizer = new FinalizationRegistry<{ client: ManagerClient; id: string }>(({ client, id }) => client.release(id));

/** What a proxy needs to make proxies of the references its results contain. */
export interface ProxyContext {
  readonly client: ManagerClient;
}

/** A proxy's token and exposed names as plain data, to hand to another process or worker thread. */
export interface TransferableProxy {
  readonly typeid: string;
  readonly address: Address;
  readonly id: string;
  readonly exposed: readonly string[] | null;
  readonly proxytype: string | null;
}

/** The constructor shape every proxy class has. */
export interface ProxyClass<P extends BaseProxy = BaseProxy> {
  new (client: ManagerClient, ref: ObjectRef): P;
  /** Method names this proxy type calls (CPython's `_exposed_`); the server's list is used when absent. */
  readonly exposed?: readonly string[];
  /** Methods whose results are proxies of the given typeid (CPython's `_method_to_typeid_`). */
  readonly methodToTypeid?: Readonly<Record<string, string>>;
  /** The CPython proxy class a Python client rebuilds references to this type with. */
  readonly pyProxytype?: string;
}

export class BaseProxy extends RefHolder {
  readonly #token: Token;
  readonly #exposed: readonly string[];
  readonly #exposedSet: ReadonlySet<string>;
  readonly #client: ManagerClient;
  readonly #ref: ObjectRef;
  #released = false;

  /** Takes over one reference the server already counts for this client. */
  constructor(client: ManagerClient, ref: ObjectRef) {
    super();
    this.#client = client;
    this.#token = ref.token;
    const own = (this.constructor as ProxyClass).exposed;
    this.#exposed = ref.exposed ?? own ?? [];
    this.#exposedSet = new Set(this.#exposed);
    this.#ref = new ObjectRef(ref.token, this.#exposed, ref.proxytype ?? (this.constructor as ProxyClass).pyProxytype ?? null);
    finalizer.register(this, { client, id: ref.token.id }, this);
  }

  /** `(typeid, address, id)` of the hosted object. */
  get token(): Token {
    return this.#token;
  }

  /** The method names this proxy may call. */
  get exposed(): readonly string[] {
    return this.#exposed;
  }

  get released(): boolean {
    return this.#released;
  }

  /** The connection this proxy calls through. */
  get client(): ManagerClient {
    return this.#client;
  }

  /**
   * Calls an exposed method of the referent (CPython's `_callmethod`). `kwds` are Python keyword
   * arguments; `options` adds an `AbortSignal` and a timeout in seconds.
   */
  callMethod<R = unknown>(method: string, args: readonly unknown[] = [], kwds: Record<string, unknown> | null = null, options?: CallOptions): Promise<R> {
    if (this.#released) return Promise.reject(new ConnectionClosedError(`this ${this.#token.typeid} proxy was released`));
    if (!this.#exposedSet.has(method) && !FALLBACK_METHODS.has(method)) {
      return Promise.reject(new NotExposedError(method, this.#token.typeid, this.#exposed));
    }
    return this.#client.call(this.#token.id, method, args, kwds, options, this) as Promise<R>;
  }

  /** A copy of the referent's value (CPython's `_getvalue`). */
  getValue<R = unknown>(options?: CallOptions): Promise<R> {
    return this.callMethod<R>(GETVALUE, [], null, options);
  }

  /** The referent's Python `repr()`, computed on the server. */
  repr(): Promise<string> {
    return this.callMethod<string>('__repr__');
  }

  /**
   * The referent's string form, computed on the server through `__repr__` as CPython's `str(proxy)`
   * does. It is asynchronous: `await proxy.toString()`. (`console.log(proxy)` shows the local form.)
   */
  override toString(): Promise<string> {
    return this.repr();
  }

  /** Gives the server back this proxy's reference. Idempotent; later calls reject. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    finalizer.unregister(this);
    this.#client.release(this.#token.id);
  }

  // The base release, not `this.release()`: a subclass may take the name for Python's own `release`
  // (AcquirerProxy releases the lock with it).
  [Symbol.dispose](): void {
    BaseProxy.prototype.release.call(this);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    BaseProxy.prototype.release.call(this);
  }

  toObjectRef(): ObjectRef {
    return this.#ref;
  }

  /** The token and exposed names, to rebuild this proxy elsewhere with `rebuildProxy` (never the authkey). */
  toTransferable(): TransferableProxy {
    const t = this.#token;
    return { typeid: t.typeid, address: t.address, id: t.id, exposed: this.#exposed, proxytype: this.#ref.proxytype };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `<${this.constructor.name} object, typeid '${this.#token.typeid}' at ${this.#token.id}>`;
  }
}


export function isConnected(proxy: BaseProxy): boolean {
  return !proxy.client.closed && !proxy.released;
}
