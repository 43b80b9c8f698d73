/**
 * Every proxy class: the base and generic ones, and one per SyncManager type.
 */
export { BaseProxy, isConnected, type ProxyClass, type ProxyContext, type TransferableProxy } from './base-proxy.js';
export { type AutoProxy, autoProxy, makeProxyType } from './auto-proxy.js';
export { NamespaceProxy } from './namespace-proxy.js';
export { IteratorProxy } from './iterator-proxy.js';
export type { Remote, RemoteMethod, PublicMethodNames } from './types.js';
export { AcquirerProxy, type Held } from './acquirer-proxy.js';
export { ConditionProxy } from './condition-proxy.js';
export { EventProxy } from './event-proxy.js';
export { BarrierProxy } from './barrier-proxy.js';
export { QueueProxy, type QueueIterateOptions } from './queue-proxy.js';
export { ValueProxy } from './value-proxy.js';
export { ArrayProxy } from './array-proxy.js';
export { ListProxy } from './list-proxy.js';
export { DictProxy, type DictValue, type DictSource } from './dict-proxy.js';
export { SetProxy } from './set-proxy.js';
