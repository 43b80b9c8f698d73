/**
 * mpmanager's public API: exactly what users get. Internals stay out of it.
 */
export { Connection, Listener, Client, Pipe, type ConnectionOptions, type ListenerOptions, type ClientOptions, type EncryptionOptions, type SecurityOptions } from './connection/index.js';
export type { EncryptionPolicy, SuiteName } from './channel/index.js';
export type { TlsOptions } from './transport/tls.js';
export { type Address, type TcpAddress, parseAddress, formatAddress } from './transport/address.js';
export { BaseManager, type ManagerOptions, type ManagerEvents } from './manager/base-manager.js';
export type { ReconnectOptions, ReconnectAttempt } from './protocol/reconnecting-client.js';
export { SyncManager } from './manager/sync-manager.js';
export { registerShared, type SharedStore } from './manager/shared.js';
export { RedisObjects, SHARED_TYPEIDS, type RedisObjectsOptions } from './backends/redis/index.js';
export { Server, type ServerOptions, type ServerView, type ObjectInfo } from './server/server.js';
export type { Activity, ActivityOptions } from './server/activity.js';
export { Inspector, startInspector, serverMetrics, type InspectorOptions, type Snapshot } from './inspector/index.js';
export { currentCall, type CallContext, type Owner } from './server/context.js';
export { PY_SIGNATURES, GET_VALUE } from './server/dispatch.js';
export { PY_REPR } from './python-repr.js';
export type { TypeidOptions, Registry, Callable } from './server/registry.js';
export type { RegisterModule } from './cli.js';
/**
 * The server-side objects of SyncManager's typeids, for registering your own typeids that return them
 * (`register('get_jobs', () => jobs)` with `const jobs = new Queue()`), as CPython users do with
 * `queue.Queue()`. Python names, with `Py` where Python's name is a JavaScript global.
 */
export { Queue, Lock, RLock, Semaphore, BoundedSemaphore, Condition, PyEvent, Barrier, Value, PyArray, List, Dict, PySet, PyIterator, Namespace } from './manager/sync/index.js';
export type { CallOptions } from './protocol/native-client.js';
export { Token } from './codec/token.js';
export { Tuple, tuple, Slice } from './codec/values.js';
export { type Codec, registerCodec } from './codec/index.js';
export { DEFAULT_LIMITS, type Limits } from './limits.js';
export { ErrorCode, MpmError, ConnectError, ChannelError, ChannelFault, ConnectionLostError, ObjectGoneError, BackendError, AuthenticationError, HandshakeTimeoutError, FrameTooLargeError, TruncatedFrameError, BadMessageLengthError, BufferTooShortError, ConnectionClosedError, ProtocolError, CodecError, DecodeBudgetError, DigitLimitError, ForbiddenGlobalError, AddressError, InvalidArgumentError, TimeoutError, AbortError, NotExposedError, UnknownTypeidError, UnknownObjectError, ShutdownRefusedError, IdleTimeoutError, TooManyConnectionsError, StateError, RemoteError } from './errors.js';
export {
  PythonError,
  KeyError,
  IndexError,
  ValueError,
  PyTypeError,
  AttributeError,
  PyRuntimeError,
  StopIteration,
  PyAssertionError,
  PyNotImplementedError,
  ZeroDivisionError,
  Empty,
  Full,
  BrokenBarrierError,
  /** @deprecated renamed `PyAssertionError` (a Python name that clashes takes the `Py` prefix). */
  PyAssertionError as AssertionError_,
  /** @deprecated renamed `PyNotImplementedError`. */
  PyNotImplementedError as NotImplementedError_,
} from './python-errors.js';
export * from '../proxies/index.js';
