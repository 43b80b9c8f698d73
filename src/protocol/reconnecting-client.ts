/**
 * A native client that outlives its connections (issue 14, item 3; CPython's managers never reconnect,
 * cpython issues #87495 and #86320). Underneath is one `NativeClient` at a time; when its connection
 * drops (not by `close()`), this client connects again, with backoff, to the same server or the next of
 * its addresses, and carries on.
 *
 *   phase          calls                                          releases
 *   connected      sent on the connection                         sent
 *   disconnected   wait for `connected`, bounded by their own     dropped: the server released everything
 *                  timeout/signal                                 the lost connection held
 *   rebinding      wait (shared objects are being found again)    counted, sent once an object is bound
 *   closed         reject with the closing error                  dropped
 *
 *   connected ──drop──▶ disconnected ──connected again──▶ rebinding ──bound──▶ connected
 *                         ▲     │ attempts exhausted           │ drop
 *                         │     ▼                              │
 *                         │   closed ◀── close() from any phase│
 *                         └────────────────────────────────────┘
 *
 * What a drop does to the calls and proxies of the lost connection:
 * - Calls in flight reject at once with `ConnectionLostError` (retryable): each may or may not have run.
 * - Objects whose id starts with `shared:` (SHARED_ID_PREFIX) live outside the server and have the same id
 *   on every server: this client remembers, per id, the `create` that first returned it and how many
 *   references it holds, and on the new connection runs that `create` again (checking the id is the same)
 *   and increfs up to that count, so proxies carry on unchanged. One that cannot be bound then (its
 *   store is down, say) is tried again on its next call.
 * - Any other object lived in the memory of the lost server's connection: every later call on it fails
 *   with `ObjectGoneError`.
 */
import { Emitter } from '../events.js';
import { ObjectRef, RefHolder } from '../codec/ref.js';
import type { DecodeContext } from '../codec/types.js';
import { ConnectionClosedError, ConnectionLostError, InvalidArgumentError, ObjectGoneError, TimeoutError, UnknownObjectError } from '../errors.js';
import { checkAddress, formatAddress, sameAddress, type Address } from '../transport/address.js';
import { armCall, isArmed, SHARED_ID_PREFIX, type CallOptions, type ManagerClient } from './client.js';
import { NativeClient, type NativeClientOptions } from './native-client.js';

/**
 * How a client reconnects (the manager option `reconnect`). Delays are in milliseconds. Before attempt k
 * (k = 1, 2, ... after a drop) the client waits a delay drawn uniformly from [d/2, d], where
 * d = min(maxDelay, initialDelay × 2^(k−1)): exponential backoff with jitter, so clients that lost the
 * same server do not all come back at the same instant.
 */
export interface ReconnectOptions {
  /**
   * More servers to try (serving the same shared objects), after the address the client connected to:
   * attempt k after a drop goes to the k-th address of that list in turn, starting with the one just
   * lost (a restarting server is the common case), round robin. Default: none (only that address).
   */
  addresses?: readonly Address[] | undefined;
  /** The delay before the first attempt, in milliseconds. Default 100. */
  initialDelay?: number | undefined;
  /** The longest delay between attempts, in milliseconds. Default 5 000. */
  maxDelay?: number | undefined;
  /**
   * Attempts after a drop before the client gives up and closes for good (every waiting and later call
   * then fails, and 'reconnectFailed' is emitted). The count starts again once reconnected.
   * Default: Infinity (forever, until `close()`).
   */
  attempts?: number | undefined;
}

/** `ReconnectOptions` checked, with the defaults filled in. */
export interface ReconnectPolicy {
  readonly addresses: readonly Address[];
  readonly initialDelay: number;
  readonly maxDelay: number;
  readonly attempts: number;
}

export const RECONNECT_DEFAULTS = Object.freeze({ initialDelay: 100, maxDelay: 5_000, attempts: Infinity });

/** Checks the `reconnect` option (`true` means the defaults); throws `InvalidArgumentError` naming the bad field. */
export function reconnectPolicy(option: true | ReconnectOptions): ReconnectPolicy {
  const o: ReconnectOptions = option === true ? {} : option;
  if (o === null || typeof o !== 'object') throw new InvalidArgumentError('reconnect must be true or an object { addresses?, initialDelay?, maxDelay?, attempts? }');
  const initialDelay = o.initialDelay ?? RECONNECT_DEFAULTS.initialDelay;
  const maxDelay = o.maxDelay ?? RECONNECT_DEFAULTS.maxDelay;
  const attempts = o.attempts ?? RECONNECT_DEFAULTS.attempts;
  if (typeof initialDelay !== 'number' || !Number.isFinite(initialDelay) || initialDelay < 0) {
    throw new InvalidArgumentError(`reconnect.initialDelay must be a number of milliseconds ≥ 0, not ${String(initialDelay)}`);
  }
  if (typeof maxDelay !== 'number' || !Number.isFinite(maxDelay) || maxDelay < initialDelay) {
    throw new InvalidArgumentError(`reconnect.maxDelay must be a number of milliseconds ≥ initialDelay (${initialDelay}), not ${String(maxDelay)}`);
  }
  if (typeof attempts !== 'number' || !(attempts === Infinity || (Number.isInteger(attempts) && attempts >= 1))) {
    throw new InvalidArgumentError(`reconnect.attempts must be a whole number ≥ 1, or Infinity, not ${String(attempts)}`);
  }
  if (o.addresses !== undefined && !Array.isArray(o.addresses)) throw new InvalidArgumentError('reconnect.addresses must be an array of addresses');
  const addresses = (o.addresses ?? []).map((a) => checkAddress(a));
  return { addresses, initialDelay, maxDelay, attempts };
}

/** The wait before attempt `attempt` (1-based): uniform in [d/2, d], d = min(maxDelay, initialDelay × 2^(attempt−1)). */
export function backoffDelay(attempt: number, policy: Pick<ReconnectPolicy, 'initialDelay' | 'maxDelay'>, random: () => number = Math.random): number {
  const d = Math.min(policy.maxDelay, policy.initialDelay * 2 ** Math.min(attempt - 1, 52));
  return d / 2 + (random() * d) / 2;
}

/** One reconnection attempt about to be made: its number since the drop, its wait, its address, and why the last one failed. */
export interface ReconnectAttempt {
  readonly attempt: number;
  /** The wait before it, in milliseconds. */
  readonly delay: number;
  readonly address: Address;
  /** Why the connection (for the first attempt) or the previous attempt failed. */
  readonly error: Error;
}

/** The events of a reconnecting client (and of a manager with the `reconnect` option). */
export interface ReconnectEvents {
  /** The connection dropped: calls in flight failed with `ConnectionLostError`; later calls wait. */
  disconnect: [error: Error];
  /** An attempt to connect again is about to be made (after `delay` ms). */
  reconnecting: [attempt: ReconnectAttempt];
  /** Connected again, to `address`, with the shared objects bound again: waiting calls go out now. */
  reconnect: [address: Address];
  /** Gave up after `attempts` attempts: the client is closed, and every call fails with this error. */
  reconnectFailed: [error: ConnectionClosedError];
}

const Phase = { Connected: 'connected', Disconnected: 'disconnected', Rebinding: 'rebinding', Closed: 'closed' } as const;
type Phase = (typeof Phase)[keyof typeof Phase];

/** The `create` that first returned a shared object: run again to find it on another connection. */
interface Recipe {
  readonly args: readonly unknown[];
  readonly kwds: Record<string, unknown> | null;
}

/** What this client holds on one object. */
interface Held {
  readonly id: string;
  typeid: string | null;
  readonly shared: boolean;
  /** References this client's proxies hold (replies that carried it, increfs, less releases). */
  count: number;
  /** The connection the server counts `onLink` references on (for an in-memory object: the one it lives on). */
  link: NativeClient;
  /** References the server counts for `link`: equal to `count` once bound. */
  onLink: number;
  recipe: Recipe | null;
  /** A re-binding under way, and for which connection. */
  binding: { link: NativeClient; done: Promise<void> } | null;
}

/** Takes the references in a re-binding's reply as they are: no proxies are made of them. */
const TAKE_REFS: DecodeContext = { reviveRef: (ref) => ref };

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // rejected at close even when no call waits
  return { promise, resolve, reject };
}

export class ReconnectingClient implements ManagerClient {
  /** Where this client's events are emitted (the manager's own emitter, for a manager's client). */
  readonly events: Emitter<ReconnectEvents>;
  readonly #options: NativeClientOptions;
  readonly #policy: ReconnectPolicy;
  /** The round: the address first connected to, then `policy.addresses`. */
  readonly #addresses: readonly Address[];
  /** Where in the round the latest connection went. */
  #index = 0;
  #phase: Phase = Phase.Connected;
  /** The connection in use (connected or rebinding); null while disconnected or closed. */
  #link: NativeClient | null;
  /** The latest connection made, for `serverAddress` and `encryption` while disconnected. */
  #latest: NativeClient;
  /** Resolves when connected again; calls made meanwhile wait on it. */
  #ready: Deferred | null = null;
  /** Attempts since the drop; back to 0 once connected again. */
  #attempt = 0;
  /** A connect attempt under way (close() waits for it and closes what it made). */
  #connecting: Promise<NativeClient | null> | null = null;
  /** Ends the wait before the next attempt early (close() calls it). */
  #wake: (() => void) | null = null;
  /** A remote `shutdown` was asked for: a drop then ends this client instead of reconnecting. */
  #final = false;
  #closedError: ConnectionClosedError | null = null;
  #closing: Promise<void> | null = null;
  readonly #closeListeners = new Set<(error: Error) => void>();
  readonly #held = new Map<string, Held>();
  #decodeContext: DecodeContext = {};

  private constructor(link: NativeClient, addresses: readonly Address[], options: NativeClientOptions, policy: ReconnectPolicy, events: Emitter<ReconnectEvents>) {
    this.events = events;
    this.#options = options;
    this.#policy = policy;
    this.#addresses = addresses;
    this.#link = link;
    this.#latest = link;
    this.#attach(link);
  }

  /**
   * Connects to the mpmanager server at `address` (failing at once if none answers: reconnecting is for
   * connections that drop later). A stock CPython server is refused with `InvalidArgumentError`: its
   * objects all live in its memory, and it speaks no native dialect to reconnect with.
   */
  static async connect(address: Address, options: NativeClientOptions, policy: ReconnectPolicy, events = new Emitter<ReconnectEvents>()): Promise<ReconnectingClient> {
    const round = [address];
    for (const a of policy.addresses) if (!round.some((b) => sameAddress(a, b))) round.push(a);
    const connectOptions: NativeClientOptions = { ...options, lostCallError };
    const link = await NativeClient.connectIfNative(address, connectOptions);
    if (link === null) throw notNative(address);
    return new ReconnectingClient(link, round, connectOptions, policy, events);
  }

  /** The address of the server in use (the latest one while disconnected): what its tokens carry. */
  get serverAddress(): Address {
    return this.#latest.serverAddress;
  }

  /** True once closed for good (`close()`, or reconnection given up); false while reconnecting. */
  get closed(): boolean {
    return this.#closedError !== null;
  }

  /** True while a connection is up and every shared object is bound on it. */
  get connected(): boolean {
    return this.#phase === Phase.Connected;
  }

  get encryption(): string | null {
    return this.#latest.encryption;
  }

  get decodeContext(): DecodeContext {
    return this.#decodeContext;
  }

  set decodeContext(context: DecodeContext) {
    this.#decodeContext = context;
  }

  call(ident: string | null, method: string, args: readonly unknown[] = [], kwds: Record<string, unknown> | null = null, options?: CallOptions, holder?: unknown): Promise<unknown> {
    if (this.#closedError !== null) return Promise.reject(this.#closedError);
    const link = this.#phase === Phase.Connected ? this.#link : null;
    if (ident !== null) {
      const held = this.#held.get(ident);
      if (held !== undefined && !(held.link === link && held.onLink >= held.count)) {
        if (!held.shared) return Promise.reject(gone(held));
        if (link !== null) {
          return this.#after(this.#bind(held, link), options, 'finding a shared object again', (left) => this.call(ident, method, args, kwds, left, holder), link);
        }
      }
    }
    if (link === null) {
      return this.#after((this.#ready ??= deferred()).promise, options, 'reconnecting to the manager server', (left) => this.call(ident, method, args, kwds, left, holder), null);
    }
    if (ident === null) {
      switch (method) {
        case 'create':
          return link.call(null, method, args, kwds, options, holder).then((value) => {
            this.#remember(value, args, kwds);
            return value;
          });
        case 'incref':
          return link.call(null, method, args, kwds, options, holder).then((value) => {
            if (typeof args[0] === 'string') this.#count(args[0], null, link);
            return value;
          });
        case 'decref':
          return link.call(null, method, args, kwds, options, holder).then((value) => {
            const held = typeof args[0] === 'string' ? this.#held.get(args[0]) : undefined;
            if (held !== undefined) this.#uncount(held, 1, false);
            return value;
          });
        case 'shutdown':
          // The server is asked to go away: its connection dropping then is no reason to come back.
          this.#final = true;
          return link.call(null, method, args, kwds, options, holder).catch((err: unknown) => {
            if (!(err instanceof ConnectionClosedError)) this.#final = false;
            throw err;
          });
      }
    }
    return link.call(ident, method, args, kwds, options, holder);
  }

  release(ident: string, count = 1): void {
    if (this.#closedError !== null) return;
    const held = this.#held.get(ident);
    if (held === undefined) this.#link?.release(ident, count);
    else this.#uncount(held, count, true);
  }

  /** Calls `fn` once when this client closes for good (`close()`, or reconnection given up). */
  onClose(fn: (error: Error) => void): () => void {
    if (this.#closedError !== null) {
      const error = this.#closedError;
      queueMicrotask(() => fn(error));
      return () => {};
    }
    this.#closeListeners.add(fn);
    return () => this.#closeListeners.delete(fn);
  }

  /** Closes for good: no more reconnecting; calls waiting or in flight reject with `ConnectionClosedError`. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#end(new ConnectionClosedError('the manager connection was closed'));
    const link = this.#link;
    this.#link = null;
    const late = this.#connecting;
    await link?.close();
    const made = await late?.catch(() => null);
    await made?.close();
  }

  /** Enters the closed phase: waiting calls and close listeners get `error`. */
  #end(error: ConnectionClosedError): void {
    if (this.#closedError !== null) return;
    this.#closedError = error;
    this.#phase = Phase.Closed;
    this.#ready?.reject(error);
    this.#ready = null;
    this.#wake?.();
    for (const fn of this.#closeListeners) fn(error);
    this.#closeListeners.clear();
  }

  /** Counts references in this connection's replies, then hands them to the owner's `reviveRef`. */
  #attach(link: NativeClient): void {
    link.decodeContext = {
      reviveRef: (ref) => {
        // The server counts a reference as held only when it is one of its own objects (native-session.ts).
        if (sameAddress(ref.token.address, link.serverAddress)) this.#count(ref.token.id, ref.token.typeid, link);
        const context = this.#decodeContext;
        return context.reviveRef ? context.reviveRef(ref) : ref;
      },
    };
    link.onClose((error) => this.#onDrop(link, error));
  }

  /** One more reference on `id`, which the server counts for `link`. */
  #count(id: string, typeid: string | null, link: NativeClient): void {
    let held = this.#held.get(id);
    if (held === undefined) {
      held = { id, typeid, shared: id.startsWith(SHARED_ID_PREFIX), count: 0, link, onLink: 0, recipe: null, binding: null };
      this.#held.set(id, held);
    } else if (held.link !== link) {
      held.link = link; // a shared object met on a new connection before it was bound there
      held.onLink = 0;
    }
    held.typeid ??= typeid;
    held.count++;
    held.onLink++;
  }

  /** `n` references fewer; `send` releases them on the server if it counts them (not after a decref). */
  #uncount(held: Held, n: number, send: boolean): void {
    const k = Math.min(Math.max(0, Math.floor(n)), held.count);
    held.count -= k;
    if (held.link === this.#link) {
      const counted = Math.min(k, held.onLink);
      held.onLink -= counted;
      if (send && counted > 0) held.link.release(held.id, counted);
    }
    // A re-binding under way settles the count itself when it ends.
    if (held.count === 0 && held.binding === null && this.#held.get(held.id) === held) this.#held.delete(held.id);
  }

  /** Keeps the first `create` that returned a shared object, to run it again on the next connection. */
  #remember(value: unknown, args: readonly unknown[], kwds: Record<string, unknown> | null): void {
    if (!(value instanceof RefHolder)) return;
    const held = this.#held.get(value.toObjectRef().token.id);
    if (held !== undefined && held.shared && held.recipe === null) held.recipe = { args: [...args], kwds: kwds === null ? null : { ...kwds } };
  }

  /** Brings the references the server counts for `held` on `link` up to what this client holds. */
  #bind(held: Held, link: NativeClient): Promise<void> {
    if (held.binding?.link === link) return held.binding.done;
    const binding = { link, done: this.#rebind(held, link) };
    held.binding = binding;
    const settle = () => {
      if (held.binding === binding) held.binding = null;
      if (held.count === 0 && held.binding === null && this.#held.get(held.id) === held) this.#held.delete(held.id);
    };
    binding.done.then(settle, settle);
    return binding.done;
  }

  async #rebind(held: Held, link: NativeClient): Promise<void> {
    if (held.link !== link) {
      held.link = link;
      held.onLink = 0;
    }
    if (held.onLink === 0 && held.count > 0) {
      if (held.recipe !== null) {
        const ref = await link.callDecoding(TAKE_REFS, null, 'create', held.recipe.args, held.recipe.kwds);
        const id = ref instanceof ObjectRef ? ref.token.id : null;
        if (id !== held.id) {
          if (id !== null) link.release(id);
          throw new ObjectGoneError(
            `the shared ${objectName(held)} is not on the server at ${formatAddress(link.serverAddress)}: create('${String(held.recipe.args[0])}') there returned ${id ?? 'no object'}; ` +
              'that server keeps its shared objects in another store (check that every server uses the same one)',
          );
        }
      } else {
        try {
          await link.call(null, 'incref', [held.id]);
        } catch (err) {
          if (!(err instanceof UnknownObjectError)) throw err;
          throw new ObjectGoneError(
            `the shared ${objectName(held)} is not served by the server at ${formatAddress(link.serverAddress)} yet, and this client cannot make it there: ` +
              'it did not come from a create() on this client. It is found again once something on that server makes it (a create of its typeid)',
          );
        }
      }
      if (held.link !== link) return; // another connection took over meanwhile
      held.onLink++;
    }
    while (held.link === link && held.onLink < held.count) {
      const more = held.count - held.onLink;
      await Promise.all(
        Array.from({ length: more }, () =>
          link.call(null, 'incref', [held.id]).then(() => {
            if (held.link === link) held.onLink++;
          }),
        ),
      );
    }
    if (held.link === link && held.onLink > held.count) {
      link.release(held.id, held.onLink - held.count); // released by proxies while being bound
      held.onLink = held.count;
    }
  }

  /**
   * Runs `call` once `ready` resolves, with what is left of the call's own timeout; the call's signal and
   * timeout bound the wait too. If `ready` fails because `link` dropped, the call waits for the next one.
   */
  #after(ready: Promise<void>, options: CallOptions | undefined, waitingFor: string, call: (options: CallOptions | undefined) => Promise<unknown>, link: NativeClient | null): Promise<unknown> {
    const start = performance.now();
    let wait = ready;
    if (isArmed(options)) {
      wait = new Promise<void>((resolve, reject) => {
        const disarm = armCall(options, (error) => reject(error instanceof TimeoutError ? new TimeoutError(`${error.message}: the client was ${waitingFor} all along`) : error));
        ready.then(
          () => {
            disarm();
            resolve();
          },
          (error: Error) => {
            disarm();
            reject(error);
          },
        );
      });
    }
    const left = (): CallOptions | undefined => {
      if (options?.timeout === undefined) return options;
      return { signal: options.signal, timeout: Math.max(0, options.timeout - (performance.now() - start) / 1000) };
    };
    return wait.then(
      () => call(left()),
      (error: unknown) => {
        if (link !== null && link.closed && error instanceof ConnectionClosedError && this.#closedError === null) return call(left());
        throw error;
      },
    );
  }

  #onDrop(link: NativeClient, error: Error): void {
    if (link !== this.#link || this.#closedError !== null) return;
    this.#link = null;
    const wasConnected = this.#phase === Phase.Connected;
    this.#phase = Phase.Disconnected;
    if (this.#final) {
      this.#end(new ConnectionClosedError('the manager server was shut down at this client\'s request', { cause: error }));
      return;
    }
    if (wasConnected) this.#emit('disconnect', error);
    void this.#reconnect(error);
  }

  async #reconnect(error: Error): Promise<void> {
    const round = this.#addresses;
    const lost = this.#index;
    // The round starts with the address just lost (a restarting server is the common case).
    for (let turn = 0; this.#closedError === null; turn++) {
      if (this.#attempt >= this.#policy.attempts) {
        this.#giveUp(error);
        return;
      }
      const attempt = ++this.#attempt;
      const index = (lost + turn) % round.length;
      const address = round[index] as Address;
      const delay = backoffDelay(attempt, this.#policy);
      this.#emit('reconnecting', { attempt, delay, address, error });
      await this.#wait(delay);
      if (this.#closedError !== null) return;
      let link: NativeClient | null;
      try {
        this.#connecting = NativeClient.connectIfNative(address, this.#options);
        link = await this.#connecting;
      } catch (err) {
        error = err as Error;
        continue;
      } finally {
        this.#connecting = null;
      }
      if (link === null) {
        error = notNative(address);
        continue;
      }
      if (this.#closedError !== null) {
        void link.close();
        return;
      }
      this.#index = index;
      void this.#adopt(link, address);
      return;
    }
  }

  /** Takes a new connection into use: binds every shared object on it, then lets waiting calls go. */
  async #adopt(link: NativeClient, address: Address): Promise<void> {
    this.#link = link;
    this.#latest = link;
    this.#phase = Phase.Rebinding;
    this.#attach(link);
    const shared = [...this.#held.values()].filter((held) => held.shared && held.count > 0);
    // One that fails now (its store is down, say) is tried again on its next call.
    await Promise.allSettled(shared.map((held) => this.#bind(held, link)));
    if (this.#link !== link || this.#closedError !== null) return; // dropped meanwhile: reconnecting again
    this.#phase = Phase.Connected;
    this.#attempt = 0;
    const ready = this.#ready;
    this.#ready = null;
    ready?.resolve();
    this.#emit('reconnect', address);
  }

  #giveUp(error: Error): void {
    const n = this.#attempt;
    const where = this.#addresses.map(formatAddress).join(', ');
    const closed = new ConnectionClosedError(
      `gave up reconnecting to the manager server after ${n} attempt${n === 1 ? '' : 's'} (${where}); the last one failed: ${error.message}. ` +
        'Connect again (a new manager) once a server is back, or raise reconnect.attempts',
      { cause: error },
    );
    this.#end(closed);
    this.#emit('reconnectFailed', closed);
  }

  /** Waits `ms` (cut short by close()). Not unref'ed: a reconnecting client keeps the process alive, as its connection did. */
  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#wake = wake;
    });
  }

  /** Emits an event; a listener that throws does not break reconnecting: its error is rethrown on its own. */
  #emit<E extends keyof ReconnectEvents>(event: E, ...args: ReconnectEvents[E]): void {
    try {
      this.events.emit(event, ...(args as never));
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
  }
}

/** What calls in flight on a dropped connection reject with. */
function lostCallError(closed: ConnectionClosedError): Error {
  return new ConnectionLostError(
    `the connection to the manager server was lost with this call in flight (${closed.message}): ` +
      'it may or may not have run; retry it if running it twice is safe (the client is reconnecting)',
    { cause: closed },
  );
}

function notNative(address: Address): InvalidArgumentError {
  return new InvalidArgumentError(
    `reconnect needs an mpmanager server, and the one at ${formatAddress(address)} is a CPython manager (pickle only, every object in its memory): ` +
      'leave reconnect unset to use it',
  );
}

function objectName(held: Held): string {
  return held.typeid === null ? `object ${held.id}` : `${held.typeid} object ${held.id}`;
}

function gone(held: Held): ObjectGoneError {
  return new ObjectGoneError(
    `the ${objectName(held)} is gone: it lived in the memory of the server at ${formatAddress(held.link.serverAddress)}, and this client lost that connection ` +
      '(the server stopped, or the client moved to another server). Make it again; shared objects (kept in Redis) survive this and are found again by their name',
  );
}
