/**
 * The two Redis connections of one `RedisObjects`, and all it asks of the client library (node-redis):
 *
 *   commands    every read, write and Lua script, RESP2, binary-safe (bulk strings come back as Buffers).
 *               `disableOfflineQueue`: while the connection is down a command fails at once instead of
 *               waiting in node-redis's queue, so a call on a shared object fails fast with BackendError.
 *   subscriber  the wake channels (pub/sub): one connection however many callers wait. node-redis
 *               subscribes again to every channel before it reports the connection ready again.
 *
 * Both reconnect by themselves with a capped backoff once the first connection was made; the first must
 * succeed, or `Store.connect` fails. `onReconnect`/`onResubscribed` tell the owner when a connection came
 * back after a loss: messages published meanwhile are lost (pub/sub is at-most-once), so every waiter
 * retries then.
 *
 * Scripts run with EVALSHA and fall back to EVAL on NOSCRIPT (a restarted Redis has forgotten them).
 */
import { createHash } from 'node:crypto';
import { debuglog } from 'node:util';
import { createClient, ErrorReply, RESP_TYPES } from 'redis';
import { BackendError, InvalidArgumentError } from '../../errors.js';

const debug = debuglog('mpmanager');

/** A command argument: text, or the bytes of a stored value. */
export type RedisArg = string | Buffer;

/** The longest pause between two reconnection attempts, ms (they start at 50 ms and double). */
const RECONNECT_MAX_MS = 1000;
/** How long the first connection may take, ms. */
const CONNECT_TIMEOUT_MS = 5000;

/** A Lua script with its SHA-1, for EVALSHA. */
export interface Script {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

export function defineScript(name: string, source: string): Script {
  return Object.freeze({ name, source, sha: createHash('sha1').update(source).digest('hex') });
}

/** What `Store.connect` takes: a `redis://` URL or a Unix socket path. */
export interface RedisTarget {
  /** The URL as shown in messages (a password replaced by `***`). */
  readonly display: string;
  readonly options: { url: string } | { socket: { path: string } };
}

/** Parses `redis://HOST:PORT[/DB]`, `rediss://...` or a Unix socket path. */
export function parseTarget(url: string): RedisTarget {
  if (typeof url !== 'string' || url.length === 0) throw new InvalidArgumentError('the Redis URL must be a non-empty string: redis://HOST:PORT[/DB] or a Unix socket path');
  if (/^rediss?:\/\//i.test(url)) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new InvalidArgumentError(`'${url}' is not a valid Redis URL: use redis://HOST:PORT[/DB] or a Unix socket path`);
    }
    if (parsed.password) parsed.password = '***';
    return { display: parsed.toString(), options: { url } };
  }
  if (url.includes('://')) throw new InvalidArgumentError(`'${url}' is not a Redis URL: use redis://HOST:PORT[/DB] or a Unix socket path`);
  return { display: url, options: { socket: { path: url } } };
}

type Listener = (message: Buffer, channel: Buffer) => void;

/** The part of node-redis's client this module uses (its own types are generic over every module). */
interface Client {
  connect(): Promise<unknown>;
  sendCommand(args: readonly RedisArg[]): Promise<unknown>;
  subscribe(channel: string, listener: Listener, bufferMode: true): Promise<void>;
  unsubscribe(channel: string, listener: Listener, bufferMode: true): Promise<void>;
  on(event: 'error' | 'ready' | 'end', fn: (err?: unknown) => void): unknown;
  close(): Promise<void>;
  destroy(): void;
  readonly isReady: boolean;
}

export interface StoreHooks {
  /** The command connection is back after a loss. */
  onReconnect(): void;
  /** The subscriber connection is back (and subscribed again) after a loss. */
  onResubscribed(): void;
}

interface Subscription {
  readonly listeners: Set<() => void>;
  readonly dispatch: Listener;
  readonly ready: Promise<void>;
}

export class Store {
  readonly target: RedisTarget;
  readonly #commands: Client;
  readonly #subscriber: Client;
  readonly #subscriptions = new Map<string, Subscription>();
  #closed = false;

  private constructor(target: RedisTarget, commands: Client, subscriber: Client) {
    this.target = target;
    this.#commands = commands;
    this.#subscriber = subscriber;
  }

  /** Opens both connections; fails with BackendError if Redis cannot be reached now. */
  static async connect(target: RedisTarget, hooks: StoreHooks): Promise<Store> {
    const commands = Store.#client(target, 'commands', hooks.onReconnect);
    const subscriber = Store.#client(target, 'subscriber', hooks.onResubscribed);
    try {
      await Promise.all([commands.connect(), subscriber.connect()]);
    } catch (err) {
      commands.destroy();
      subscriber.destroy();
      throw unreachable(target, err);
    }
    return new Store(target, commands, subscriber);
  }

  static #client(target: RedisTarget, role: string, onBack: () => void): Client {
    let connected = false;
    let lost = false;
    const path = 'socket' in target.options ? target.options.socket.path : undefined;
    const client = createClient({
      ...('url' in target.options ? { url: target.options.url } : {}),
      RESP: 2,
      disableOfflineQueue: true,
      commandOptions: { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } },
      socket: {
        ...(path === undefined ? {} : { path }),
        connectTimeout: CONNECT_TIMEOUT_MS,
        // Before the first connection, give up at once: connect() then fails and says so.
        reconnectStrategy: (retries: number, cause: Error) => (connected ? Math.min(50 * 2 ** retries, RECONNECT_MAX_MS) + Math.floor(Math.random() * 50) : cause),
      },
    } as Parameters<typeof createClient>[0]) as unknown as Client;
    client.on('error', (err) => {
      if (connected && !lost) debug('redis %s connection to %s lost: %s', role, target.display, (err as Error)?.message);
      lost = connected;
    });
    client.on('ready', () => {
      connected = true;
      if (!lost) return;
      lost = false;
      debug('redis %s connection to %s is back', role, target.display);
      onBack();
    });
    return client;
  }

  /** Whether the command connection is up now. */
  get available(): boolean {
    return !this.#closed && this.#commands.isReady;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends one command; bulk strings come back as Buffers. Failures are BackendErrors. */
  async command(args: readonly RedisArg[]): Promise<unknown> {
    if (this.#closed) throw this.#closedError();
    try {
      return await this.#commands.sendCommand(args);
    } catch (err) {
      throw this.#failure(err, String(args[0]));
    }
  }

  /** Runs a script (EVALSHA, then EVAL if Redis does not have it). */
  async run(script: Script, keys: readonly string[], args: readonly RedisArg[]): Promise<unknown> {
    if (this.#closed) throw this.#closedError();
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await this.#commands.sendCommand(['EVALSHA', script.sha, ...tail]);
    } catch (err) {
      if (!(err instanceof ErrorReply && err.message.startsWith('NOSCRIPT'))) throw this.#failure(err, `the script ${script.name}`);
    }
    try {
      return await this.#commands.sendCommand(['EVAL', script.source, ...tail]);
    } catch (err) {
      throw this.#failure(err, `the script ${script.name}`);
    }
  }

  /** Calls `listener` for every message on `channel`, from when this resolves. Shared per channel. */
  async subscribe(channel: string, listener: () => void): Promise<void> {
    if (this.#closed) throw this.#closedError();
    let sub = this.#subscriptions.get(channel);
    if (sub === undefined) {
      const listeners = new Set<() => void>();
      const dispatch: Listener = () => {
        for (const fn of listeners) fn();
      };
      const ready = this.#subscriber.subscribe(channel, dispatch, true).catch((err: unknown) => {
        if (this.#subscriptions.get(channel)?.dispatch === dispatch) this.#subscriptions.delete(channel);
        this.#subscriber.unsubscribe(channel, dispatch, true).catch(() => {});
        throw this.#failure(err, 'SUBSCRIBE');
      });
      sub = { listeners, dispatch, ready };
      this.#subscriptions.set(channel, sub);
    }
    sub.listeners.add(listener);
    try {
      await sub.ready;
    } catch (err) {
      sub.listeners.delete(listener);
      throw err;
    }
  }

  /** Stops calling `listener`; the last one out unsubscribes. */
  unsubscribe(channel: string, listener: () => void): void {
    const sub = this.#subscriptions.get(channel);
    if (sub === undefined || !sub.listeners.delete(listener) || sub.listeners.size > 0) return;
    this.#subscriptions.delete(channel);
    if (!this.#closed) void sub.ready.then(() => this.#subscriber.unsubscribe(channel, sub.dispatch, true)).catch(() => {});
  }

  /** Closes both connections (gracefully when they are up). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#subscriptions.clear();
    await Promise.all(
      [this.#commands, this.#subscriber].map(async (client) => {
        if (!client.isReady) {
          client.destroy();
          return;
        }
        try {
          await client.close();
        } catch {
          client.destroy();
        }
      }),
    );
  }

  /** The BackendError for a failed command: refused by Redis, or Redis unreachable. */
  #failure(err: unknown, what: string): BackendError {
    if (err instanceof BackendError) return err;
    if (this.#closed) return this.#closedError();
    if (err instanceof ErrorReply) return new BackendError(`Redis at ${this.target.display} refused ${what}: ${err.message}`, { cause: err });
    return unreachable(this.target, err);
  }

  #closedError(): BackendError {
    return new BackendError(`the connection of these shared objects to Redis at ${this.target.display} was closed (RedisObjects.close())`);
  }
}

/** Whether `err` says Redis could not be reached (as opposed to refusing a command). */
export function isUnreachable(err: unknown): boolean {
  return err instanceof BackendError && (err as BackendError & { [UNREACHABLE]?: true })[UNREACHABLE] === true;
}

const UNREACHABLE = Symbol('unreachable');

function unreachable(target: RedisTarget, cause: unknown): BackendError {
  const reason = cause instanceof Error && cause.message ? ` (${cause.message})` : '';
  const err = new BackendError(
    `Redis at ${target.display} is unreachable${reason}: calls on shared objects fail until it is back, which is retried by itself; objects kept in the server's own memory still work`,
    { cause },
  );
  Object.defineProperty(err, UNREACHABLE, { value: true });
  return err;
}
