/**
 * The referents of SyncManager's typeids (what the server hosts; clients see them through proxies).
 * Names are Python's, with a `Py` prefix where Python's name is a JavaScript global (`PySet`, `PyArray`, `PyEvent`,
 * `PyIterator`).
 */
export { Queue } from './queue.js';
export { Lock, RLock, Semaphore, BoundedSemaphore, type ConditionLock } from './locks.js';
export { Condition } from './condition.js';
export { PyEvent } from './event.js';
export { Barrier } from './barrier.js';
export { Value, PyArray } from './value.js';
export { List } from './list.js';
export { Dict } from './dict.js';
export { PySet } from './set.js';
export { PyIterator } from './iterator.js';
export { Namespace } from './namespace.js';
export { WaitQueue, type Waiter, type WaitOptions } from '../../server/wait.js';
