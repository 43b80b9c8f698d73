/**
 * What every shared object of one `RedisObjects` shares: the Redis connections, this server's id and
 * lease, the renewal of lock leases, the reaper's view of which servers are dead, and the hooks a shared
 * object implements (`SharedObject`). The objects' own files say what each keeps in Redis.
 *
 * Server lease: `<ns>:lease:<server id>` (SET PX `lease`), renewed every lease/3 together with the leases
 * of the locks held through this server. A server whose lease key is gone is dead to the others: its
 * queue items in flight go back to their queues and its semaphore permits come back (its locks expire by
 * themselves, each having its own PX). The reaper runs for the objects this process knows: when one is
 * first made, before a caller blocks on it, and every lease period.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { debuglog } from 'node:util';
import { BackendError } from '../../errors.js';
import { SHARED_ID } from '../../server/objects.js';
import { ObjectKeys, leaseKey, type Kind } from './keys.js';
import { type Store } from './store.js';
import { WaitRoom } from './waiting.js';

const debug = debuglog('mpmanager');

/** Hooks of a shared object, kept off its Python-visible names (the server exposes public methods). */
export const RECOVER = Symbol('recover');
export const REAP = Symbol('reap');
export const RELEASE_ALL = Symbol('releaseAll');
export const SIZE = Symbol('size');
export const WAKE = Symbol('wake');
export const CLOSE = Symbol('close');

/** A lease this server keeps alive for a holder (a lock held by one of its connections). */
export interface LeaseHold {
  /** Extends the lease; false when it is no longer this holder's. */
  renew(): Promise<boolean>;
  /** The lease was found taken or gone. */
  lost(): void;
}

export interface BackendOptions {
  readonly namespace: string;
  /** Lease length, ms. */
  readonly lease: number;
}

export class Backend {
  readonly store: Store;
  readonly namespace: string;
  /** Random per `RedisObjects`: the owner part of everything this server takes. */
  readonly serverId: string;
  readonly lease: number;
  readonly #leaseKey: string;
  readonly #leaseValue: string;
  readonly #objects = new Set<SharedObject>();
  readonly #holds = new Set<LeaseHold>();
  /** Servers seen alive, and when (ms): a lease checked within lease/3 is not checked again. */
  readonly #alive = new Map<string, number>();
  readonly #background = new Set<Promise<unknown>>();
  #counter = 0;
  #renewTimer: NodeJS.Timeout | null = null;
  #reapTimer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(store: Store, options: BackendOptions) {
    this.store = store;
    this.namespace = options.namespace;
    this.lease = options.lease;
    this.serverId = randomBytes(8).toString('hex');
    this.#leaseKey = leaseKey(this.namespace, this.serverId);
    this.#leaseValue = `${hostname()}:${process.pid}`;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Takes the lease and starts renewing it, and reaping. */
  async start(): Promise<void> {
    await this.store.command(['SET', this.#leaseKey, this.#leaseValue, 'PX', String(this.lease)]);
    this.#renewTimer = setInterval(() => this.#renew(), Math.max(1, Math.floor(this.lease / 3)));
    this.#renewTimer.unref();
    this.#reapTimer = setInterval(() => this.#reapAll(), this.lease);
    this.#reapTimer.unref();
  }

  /** A fresh id, unique within this server (delivery ids, permits, lock tokens). */
  nextId(): string {
    return String(++this.#counter);
  }

  register(obj: SharedObject): void {
    this.#objects.add(obj);
    if (obj[REAP] !== undefined) this.background(obj[REAP]());
  }

  /** Keeps `hold` renewed every lease/3 until `unhold`. */
  hold(hold: LeaseHold): void {
    this.#holds.add(hold);
  }

  unhold(hold: LeaseHold): void {
    this.#holds.delete(hold);
  }

  /** Which of `serverIds` have no lease (never this server). */
  async deadServers(serverIds: Iterable<string>): Promise<string[]> {
    const now = Date.now();
    const candidates = [...new Set(serverIds)].filter((id) => id !== this.serverId && now - (this.#alive.get(id) ?? -Infinity) > this.lease / 3);
    const exists = await Promise.all(candidates.map((id) => this.store.command(['EXISTS', leaseKey(this.namespace, id)])));
    const dead: string[] = [];
    candidates.forEach((id, i) => {
      if (exists[i] === 1) this.#alive.set(id, now);
      else {
        this.#alive.delete(id);
        dead.push(id);
      }
    });
    return dead;
  }

  /** Runs `work` in the background (its failure is only logged); `close()` waits for it. */
  background(work: Promise<unknown>): void {
    const tracked = work.catch((err: unknown) => debug('redis background work failed: %s', (err as Error)?.message)).finally(() => this.#background.delete(tracked));
    this.#background.add(tracked);
  }

  /** The command connection is back: take the lease again, let each object settle what was in doubt, retry waiters. */
  onReconnect(): void {
    if (this.#closed) return;
    this.background(
      (async () => {
        await this.store.command(['SET', this.#leaseKey, this.#leaseValue, 'PX', String(this.lease)]);
        await Promise.all([...this.#objects].map((obj) => obj[RECOVER]?.().catch((err: unknown) => debug('redis recovery of %s failed: %s', obj.place, (err as Error).message))));
      })().finally(() => this.#wakeAll()),
    );
    this.#wakeAll();
  }

  /** The subscriber is back (and subscribed again): whatever was published meanwhile is lost, so retry. */
  onResubscribed(): void {
    if (!this.#closed) this.#wakeAll();
  }

  /** Stops renewing and reaping, fails every waiter, gives back what this server holds, drops the lease. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#renewTimer !== null) clearInterval(this.#renewTimer);
    if (this.#reapTimer !== null) clearInterval(this.#reapTimer);
    const closed = new BackendError(`the shared objects of this server were closed (RedisObjects.close()); Redis at ${this.store.target.display} keeps their state`);
    for (const obj of this.#objects) obj[CLOSE](closed);
    // Removals of delivered queue items run one turn after their replies: let them start, then finish.
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.allSettled([...this.#background]);
    if (this.store.available) {
      await Promise.allSettled([...this.#objects].map((obj) => obj[RELEASE_ALL]?.()));
      await this.store.command(['DEL', this.#leaseKey]).catch(() => {});
    }
    this.#holds.clear();
  }

  #wakeAll(): void {
    for (const obj of this.#objects) obj[WAKE]();
  }

  #renew(): void {
    if (this.#closed || !this.store.available) return;
    this.background(
      (async () => {
        const kept = await this.store.command(['SET', this.#leaseKey, this.#leaseValue, 'PX', String(this.lease), 'XX']);
        if (kept === null) {
          debug('redis lease of server %s had lapsed (paused, or cut off from Redis, for longer than %d ms): what it held may have been given to others', this.serverId, this.lease);
          await this.store.command(['SET', this.#leaseKey, this.#leaseValue, 'PX', String(this.lease)]);
        }
        await Promise.all(
          [...this.#holds].map(async (hold) => {
            if (!(await hold.renew())) {
              this.#holds.delete(hold);
              hold.lost();
            }
          }),
        );
      })(),
    );
  }

  #reapAll(): void {
    if (this.#closed || !this.store.available) return;
    for (const obj of this.#objects) if (obj[REAP] !== undefined) this.background(obj[REAP]());
  }
}

/**
 * The base of every shared object: its id on every server, its keys, its wait room, and the hooks the
 * backend calls. Python-visible methods are the subclasses' own; everything here is a symbol, a private
 * field or a non-function property, so a registration without an explicit `exposed` list exposes only
 * Python's names.
 */
export abstract class SharedObject {
  readonly [SHARED_ID]: string;
  readonly name: string;
  /** The SyncManager typeid this object was made as (`describe()`). */
  readonly typeid: string;
  /** `the shared Queue 'jobs'`, for messages. */
  readonly place: string;
  protected readonly backend: Backend;
  /** Where its parts live in Redis. */
  protected readonly layout: ObjectKeys;
  #room: WaitRoom | null = null;

  /** Settles what a lost connection left in doubt (items in flight, locks taken unawares). */
  [RECOVER]?(): Promise<void>;
  /** Takes back what dead servers held. */
  [REAP]?(): Promise<void>;
  /** Gives back everything held through this server (on close). */
  [RELEASE_ALL]?(): Promise<void>;
  /** The size `describe()` reports. */
  abstract [SIZE](): Promise<number>;

  constructor(backend: Backend, kind: Kind, name: string, typeid: string) {
    this.backend = backend;
    this.name = name;
    this.typeid = typeid;
    this.place = `the shared ${typeid} '${name}'`;
    this.layout = new ObjectKeys(backend.namespace, kind, name);
    this[SHARED_ID] = `shared:${kind}:${backend.namespace}/${name}`;
  }

  /**
   * Whether callers of this server wait in line `line`: a blocking caller then queues behind them instead
   * of trying first, so it cannot overtake them. (`_`: not a Python method, never exposed by default.)
   */
  protected _waiting(line: string): boolean {
    return this.#room?.has(line) ?? false;
  }

  /** This object's waiters on this server. */
  protected get room(): WaitRoom {
    this.#room ??= new WaitRoom(this.backend.store, this.layout.wake);
    return this.#room;
  }

  /** Retries this object's waiters. */
  [WAKE](): void {
    this.#room?.wake();
  }

  /** Fails this object's waiters, now and later. */
  [CLOSE](err: unknown): void {
    this.#room?.close(err);
  }
}
