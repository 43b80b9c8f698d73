/**
 * `SyncManager`: `BaseManager` with CPython's built-in typeids (cpython-wire.md §4.3), each with
 * Python's name, exposed list (§4.2, plus the 3.14 additions) and the CPython proxy class a Python client
 * rebuilds it with. The creation methods are typed (./sync-methods.ts): `await manager.Queue<number>()`,
 * `await manager.dict<string, number>()`, `await manager.Lock()`.
 *
 * `Pool` and `AsyncResult` are not provided (a pool runs Python code).
 */
import { BaseManager } from './base-manager.js';
import { SYNC_PROXYTYPES, withSyncMethods } from './sync-methods.js';
import type { Callable } from '../server/registry.js';
import {
  Barrier,
  BoundedSemaphore,
  Condition,
  Dict,
  PyEvent,
  List,
  Lock,
  Namespace,
  PyArray,
  PyIterator,
  PySet,
  Queue,
  RLock,
  Semaphore,
  Value,
} from './sync/index.js';

export type { NumericTypecode, Typecode } from './sync-methods.js';

export class SyncManager extends withSyncMethods(BaseManager) {}

/** What hosts each typeid's objects on a server of this process. */
const CALLABLES: Readonly<Record<string, Callable>> = {
  Queue,
  JoinableQueue: Queue,
  Event: PyEvent,
  Lock,
  RLock,
  Semaphore,
  BoundedSemaphore,
  Condition,
  Barrier,
  list: List,
  dict: Dict,
  Value,
  Array: PyArray,
  Namespace,
  set: PySet,
};

for (const [typeid, proxytype] of SYNC_PROXYTYPES) {
  if (typeid === 'Iterator') continue;
  SyncManager.register(typeid, CALLABLES[typeid] ?? null, { proxytype });
}
// A method mapped to 'Iterator' may return any JS iterable, iterator or generator (sync or async): it is
// served as a Python iterator (`__next__`, `send`, `throw`, `close`, StopIteration at the end).
SyncManager.register('Iterator', null, {
  proxytype: SYNC_PROXYTYPES.find(([t]) => t === 'Iterator')?.[1],
  createMethod: false,
  hostAs: (value) => (value instanceof PyIterator || typeof (value as { __next__?: unknown } | null)?.__next__ === 'function' ? value : new PyIterator(value as Iterable<unknown>)),
});
