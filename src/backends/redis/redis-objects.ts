/**
 * `RedisObjects`: the named shared objects of one server, kept in one Redis. See index.ts for the design.
 */
import { InvalidArgumentError, StateError } from '../../errors.js';
import { Backend, SIZE, type SharedObject } from './backend.js';
import { RedisDict } from './dict.js';
import { RedisEvent } from './event.js';
import { checkName } from './keys.js';
import { RedisList } from './list.js';
import { RedisBoundedSemaphore, RedisLock, RedisRLock, RedisSemaphore } from './locks.js';
import { RedisNamespace } from './namespace.js';
import { RedisQueue } from './queue.js';
import { RedisSet } from './set.js';
import { Store, parseTarget } from './store.js';
import { RedisValue } from './value.js';

/** The SyncManager typeids that can be shared objects, in SyncManager's order. */
export const SHARED_TYPEIDS: readonly string[] = Object.freeze([
  'Queue',
  'JoinableQueue',
  'Event',
  'Lock',
  'RLock',
  'Semaphore',
  'BoundedSemaphore',
  'list',
  'dict',
  'Value',
  'Namespace',
  'set',
]);

/** Why the other SyncManager typeids are not offered (InvalidArgumentError messages). */
const NOT_SHARED: Readonly<Record<string, string>> = Object.freeze({
  Condition: 'a Condition cannot keep Python\'s notify(n) promise across servers that may die (see src/backends/redis/index.ts)',
  Barrier: 'a Barrier cannot tell a party whose server died from one that is late, nor share its action (see src/backends/redis/index.ts)',
  Array: 'an Array is not offered as a shared object yet; use a shared list',
  Pool: 'a Pool runs code, which cannot be shared',
});

/** Shortest lease, ms: renewals run every lease/3. */
const MIN_LEASE_MS = 300;

export interface RedisObjectsOptions {
  /** Prefix of every key, so several deployments can share one Redis. Default `'mpm'`. */
  namespace?: string | undefined;
  /**
   * How long a server's claim on what it holds (queue items in flight, locks, semaphore permits) outlives
   * it, in ms: renewed every lease/3 while it runs. After a crash its locks are free after this long, and
   * its queue items and permits come back at the next reaper run after that (the reaper runs every lease
   * period, and whenever a caller is about to block): within twice this long. At least 300. Default 10000.
   */
  lease?: number | undefined;
}

export class RedisObjects {
  readonly #backend: Backend;
  readonly #objects = new Map<string, SharedObject>();
  #closed = false;

  private constructor(backend: Backend) {
    this.#backend = backend;
  }

  /**
   * Connects to Redis at `url` (`redis://HOST:PORT[/DB]`, `rediss://...`, or a Unix socket path) and
   * takes this server's lease. Fails with BackendError if Redis cannot be reached now; later outages are
   * survived (calls fail fast meanwhile, and work again once Redis is back).
   */
  static async connect(url: string, options: RedisObjectsOptions = {}): Promise<RedisObjects> {
    const namespace = checkName(options.namespace ?? 'mpm', 'namespace');
    const lease = options.lease ?? 10_000;
    if (typeof lease !== 'number' || !Number.isFinite(lease) || lease < MIN_LEASE_MS) {
      throw new InvalidArgumentError(`lease must be a number of milliseconds, at least ${MIN_LEASE_MS}, not ${String(lease)}`);
    }
    const target = parseTarget(url);
    let backend: Backend | null = null;
    const store = await Store.connect(target, {
      onReconnect: () => backend?.onReconnect(),
      onResubscribed: () => backend?.onResubscribed(),
    });
    backend = new Backend(store, { namespace, lease });
    try {
      await backend.start();
    } catch (err) {
      await store.close();
      throw err;
    }
    return new RedisObjects(backend);
  }

  /** Where Redis is (a password shown as `***`). */
  get url(): string {
    return this.#backend.store.target.display;
  }

  /** Whether Redis is reachable now (shared objects fail fast with BackendError while it is not). */
  get available(): boolean {
    return !this.#closed && this.#backend.store.available;
  }

  /** This server's id in Redis (the owner part of what it takes; its lease is `<ns>:lease:<id>`). */
  get serverId(): string {
    return this.#backend.serverId;
  }

  /** A FIFO queue (`maxsize` 0 = unbounded; every server must give the same). */
  queue(name: string, maxsize: unknown = 0): RedisQueue {
    return this.#make(name, 'queue', [maxsize], () => new RedisQueue(this.#backend, name, 'Queue', maxsize));
  }

  /** A queue with `task_done()`/`join()`: the same object as `queue(name)`, as in Python. */
  joinableQueue(name: string, maxsize: unknown = 0): RedisQueue {
    return this.#make(name, 'queue', [maxsize], () => new RedisQueue(this.#backend, name, 'JoinableQueue', maxsize));
  }

  dict(name: string): RedisDict {
    return this.#make(name, 'dict', [], () => new RedisDict(this.#backend, name, 'dict'));
  }

  list(name: string): RedisList {
    return this.#make(name, 'list', [], () => new RedisList(this.#backend, name, 'list'));
  }

  set(name: string): RedisSet {
    return this.#make(name, 'set', [], () => new RedisSet(this.#backend, name, 'set'));
  }

  namespace(name: string): RedisNamespace {
    return this.#make(name, 'namespace', [], () => new RedisNamespace(this.#backend, name, 'Namespace'));
  }

  /** A value (`typecode` only shows in its repr); `initial` is written if Redis has none yet. */
  value(name: string, typecode: unknown = null, initial: unknown = null): RedisValue {
    return this.#make(name, 'value', [], () => new RedisValue(this.#backend, name, 'Value', typecode, initial));
  }

  lock(name: string): RedisLock {
    return this.#make(name, 'lock', [], () => new RedisLock(this.#backend, name, 'Lock'));
  }

  rlock(name: string): RedisRLock {
    return this.#make(name, 'rlock', [], () => new RedisRLock(this.#backend, name, 'RLock'));
  }

  /** A semaphore of `value` permits (every server must give the same). */
  semaphore(name: string, value: unknown = 1): RedisSemaphore {
    return this.#make(name, 'semaphore', [value], () => new RedisSemaphore(this.#backend, name, 'Semaphore', value));
  }

  boundedSemaphore(name: string, value: unknown = 1): RedisBoundedSemaphore {
    return this.#make(name, 'boundedsemaphore', [value], () => new RedisBoundedSemaphore(this.#backend, name, 'BoundedSemaphore', value));
  }

  event(name: string): RedisEvent {
    return this.#make(name, 'event', [], () => new RedisEvent(this.#backend, name, 'Event'));
  }

  /**
   * The shared object for a SyncManager typeid: `Queue`/`JoinableQueue` take `[maxsize]`, `Semaphore`/
   * `BoundedSemaphore` `[value]`, `Value` `[typecode, value]`, the others nothing. InvalidArgumentError
   * for any other typeid, naming those that can be shared.
   */
  byTypeid(typeid: string, name: string, args: readonly unknown[] = []): object {
    const takes = (n: number): void => {
      if (args.length > n) throw new InvalidArgumentError(`a shared ${typeid} takes ${n === 0 ? 'no arguments' : `at most ${n} argument${n === 1 ? '' : 's'}`}, not ${args.length}`);
    };
    switch (typeid) {
      case 'Queue':
        takes(1);
        return this.queue(name, args[0] ?? 0);
      case 'JoinableQueue':
        takes(1);
        return this.joinableQueue(name, args[0] ?? 0);
      case 'dict':
        takes(0);
        return this.dict(name);
      case 'list':
        takes(0);
        return this.list(name);
      case 'set':
        takes(0);
        return this.set(name);
      case 'Namespace':
        takes(0);
        return this.namespace(name);
      case 'Value':
        takes(2);
        return this.value(name, args[0] ?? null, args[1] ?? null);
      case 'Lock':
        takes(0);
        return this.lock(name);
      case 'RLock':
        takes(0);
        return this.rlock(name);
      case 'Semaphore':
        takes(1);
        return this.semaphore(name, args[0] ?? 1);
      case 'BoundedSemaphore':
        takes(1);
        return this.boundedSemaphore(name, args[0] ?? 1);
      case 'Event':
        takes(0);
        return this.event(name);
      default: {
        const why = Object.prototype.hasOwnProperty.call(NOT_SHARED, typeid) ? `: ${NOT_SHARED[typeid]}` : '';
        throw new InvalidArgumentError(`'${typeid}' cannot be a shared object${why}. Shared typeids: ${SHARED_TYPEIDS.join(', ')}`);
      }
    }
  }

  /** Name, typeid and size of each object made through this instance (queue depth, lengths, free permits, 1/0 for set/held). */
  async describe(): Promise<Array<{ name: string; typeid: string; size: number }>> {
    return Promise.all([...this.#objects.values()].map(async (obj) => ({ name: obj.name, typeid: obj.typeid, size: await obj[SIZE]() })));
  }

  /**
   * Gives back what this server holds (queue items in flight go back to their queues, locks and permits
   * are released), fails the calls still waiting, drops the lease and closes the connections. Redis keeps
   * every object's state. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#backend.close();
    } finally {
      await this.#backend.store.close();
    }
  }

  #make<T extends SharedObject>(name: string, kind: string, params: readonly unknown[], make: () => T): T {
    if (this.#closed) throw new StateError(`these shared objects are closed: connect a new RedisObjects to make '${String(name)}'`);
    checkName(name, 'name');
    const key = `${kind}\u0000${name}`;
    const existing = this.#objects.get(key);
    if (existing !== undefined) {
      const had = existing instanceof RedisQueue ? [existing.maxsize] : existing instanceof RedisSemaphore ? [existing.initialValue] : [];
      if (params.length > 0 && had.length > 0 && String(params[0]) !== String(had[0])) {
        throw new InvalidArgumentError(`${existing.place} was already made here with ${existing instanceof RedisQueue ? 'maxsize' : 'value'} ${String(had[0])}, not ${String(params[0])}`);
      }
      return existing as T;
    }
    const obj = make();
    this.#objects.set(key, obj);
    this.#backend.register(obj);
    return obj;
  }
}
