/**
 * Named shared objects on a manager: `registerShared(JobManager, 'jobs', 'Queue', objects)` makes every
 * `manager.jobs()`, on every server with the same store, return a proxy to the one queue named `jobs`
 * (CPython's documented remote-manager pattern, `register('get_queue', callable=...)`, so stock CPython
 * clients need nothing new). The proxy class is SyncManager's for that typeid, so the object behaves, and
 * is typed, as the in-memory one.
 */
import { InvalidArgumentError } from '../errors.js';
import type { BaseManager } from './base-manager.js';
import { SyncManager } from './sync-manager.js';

/** Where named shared objects come from: `RedisObjects` (src/backends/redis/). */
export interface SharedStore {
  /** The object named `name`, of SyncManager typeid `typeid`. */
  byTypeid(typeid: string, name: string, args?: unknown[]): object;
}

/**
 * Registers `name` on `manager` (a manager class, or one manager) as a typeid whose objects are the shared
 * object `name` of `store`, of SyncManager typeid `typeid` (`Queue`, `dict`, `Lock`, ...). A client leaves
 * `store` out: it registers the name with that typeid's proxy class only (as a CPython client registers
 * `get_queue` with no callable), so `manager.jobs()` is typed as the in-memory `Queue()` is.
 */
export function registerShared(manager: typeof BaseManager | BaseManager, name: string, typeid: string, store?: SharedStore): void {
  if (!SyncManager.registry.has(typeid)) throw new InvalidArgumentError(`'${typeid}' is not a SyncManager typeid`);
  const { proxytype } = SyncManager.registry.get(typeid);
  const make = store === undefined ? null : () => store.byTypeid(typeid, name);
  if (typeof manager === 'function') manager.register(name, make, { proxytype });
  else manager.register(name, make, { proxytype });
}

/** Parses `NAME=TYPEID` (the CLI's `--shared`). */
export function parseShared(spec: string): { name: string; typeid: string } {
  const at = spec.indexOf('=');
  const name = spec.slice(0, at);
  const typeid = spec.slice(at + 1);
  if (at <= 0 || typeid === '' || !/^[A-Za-z_][\w.-]*$/.test(name)) {
    throw new InvalidArgumentError(`--shared ${spec}: write NAME=TYPEID, e.g. jobs=Queue (a name of letters, digits, _, . and -)`);
  }
  return { name, typeid };
}
