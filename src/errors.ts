/**
 * Every error mpmanager raises, each with a stable `code` (checked from one table in
 * `test/errors.test.ts`). Python-facing names stay Python's: `AuthenticationError`, `RemoteError`.
 * Python's own exceptions (`KeyError`, `Empty`, ...) are in python-errors.ts.
 */

export const ErrorCode = {
  Auth: 'MPM_ERR_AUTH',
  HandshakeTimeout: 'MPM_ERR_HANDSHAKE_TIMEOUT',
  FrameTooLarge: 'MPM_ERR_FRAME_TOO_LARGE',
  TruncatedFrame: 'MPM_ERR_TRUNCATED_FRAME',
  BadMessageLength: 'MPM_ERR_BAD_MESSAGE_LENGTH',
  BufferTooShort: 'MPM_ERR_BUFFER_TOO_SHORT',
  ConnectionClosed: 'MPM_ERR_CONNECTION_CLOSED',
  Protocol: 'MPM_ERR_PROTOCOL',
  Codec: 'MPM_ERR_CODEC',
  ForbiddenGlobal: 'MPM_ERR_FORBIDDEN_GLOBAL',
  Address: 'MPM_ERR_ADDRESS',
  InvalidArgument: 'MPM_ERR_INVALID_ARGUMENT',
  Timeout: 'MPM_ERR_TIMEOUT',
  Aborted: 'MPM_ERR_ABORTED',
  NotExposed: 'MPM_ERR_NOT_EXPOSED',
  UnknownTypeid: 'MPM_ERR_UNKNOWN_TYPEID',
  UnknownObject: 'MPM_ERR_UNKNOWN_OBJECT',
  Remote: 'MPM_ERR_REMOTE',
  ShutdownRefused: 'MPM_ERR_SHUTDOWN_REFUSED',
  State: 'MPM_ERR_STATE',
  DecodeBudget: 'MPM_ERR_DECODE_BUDGET',
  DigitLimit: 'MPM_ERR_DIGIT_LIMIT',
  IdleTimeout: 'MPM_ERR_IDLE_TIMEOUT',
  TooManyConnections: 'MPM_ERR_TOO_MANY_CONNECTIONS',
  Connect: 'MPM_ERR_CONNECT',
  Channel: 'MPM_ERR_CHANNEL',
  ConnectionLost: 'MPM_ERR_CONNECTION_LOST',
  ObjectGone: 'MPM_ERR_OBJECT_GONE',
  Backend: 'MPM_ERR_BACKEND',
  Python: 'MPM_ERR_PYTHON',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base of every mpmanager error. */
export class MpmError extends Error {
  readonly code: ErrorCode;
  /** Where the error was raised on the other side of a connection, when it came from there. */
  remoteStack?: string;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
  override get name(): string {
    return this.constructor.name;
  }
}

/** The authkeys differ, or the peer broke the challenge protocol (CPython's `AuthenticationError`). */
export class AuthenticationError extends MpmError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Auth, message, options);
  }
}

export class HandshakeTimeoutError extends MpmError {
  constructor(ms: number) {
    super(
      ErrorCode.HandshakeTimeout,
      `the peer did not complete the authentication handshake within ${ms} ms; ` +
        'check that it is an mpmanager or multiprocessing peer using an authkey (raise handshakeTimeout if the link is slow)',
    );
  }
}

export class FrameTooLargeError extends MpmError {
  readonly size: number;
  readonly limit: number;
  constructor(size: number, limit: number) {
    super(
      ErrorCode.FrameTooLarge,
      `frame of ${size} bytes exceeds the limit of ${limit} bytes; the connection was closed ` +
        '(raise maxFrameSize on both sides if such messages are expected)',
    );
    this.size = size;
    this.limit = limit;
  }
}

export class TruncatedFrameError extends MpmError {
  constructor(got: number, expected: number) {
    super(ErrorCode.TruncatedFrame, `got end of file during message: ${got} of ${expected} bytes arrived before the peer closed`);
  }
}

/** `recvBytes(maxLength)` met a longer message (CPython: `OSError('bad message length')`). */
export class BadMessageLengthError extends MpmError {
  constructor(size: number, maxLength: number) {
    super(
      ErrorCode.BadMessageLength,
      `bad message length: the message has ${size} bytes, more than maxLength ${maxLength}; the connection is no longer readable`,
    );
  }
}

/** `recvBytesInto` got a message larger than the buffer; the whole message is in `data` (CPython: `args[0]`). */
export class BufferTooShortError extends MpmError {
  readonly data: Uint8Array;
  constructor(data: Uint8Array, room: number) {
    super(ErrorCode.BufferTooShort, `buffer too short: the message has ${data.length} bytes, the buffer has room for ${room}`);
    this.data = data;
  }
}

export class ConnectionClosedError extends MpmError {
  constructor(message = 'the connection is closed', options?: { cause?: unknown }) {
    super(ErrorCode.ConnectionClosed, message, options);
  }
}

/** The peer sent something the protocol does not allow. */
export class ProtocolError extends MpmError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Protocol, message, options);
  }
}

export class CodecError extends MpmError {
  constructor(message: string, options?: { cause?: unknown }, code: ErrorCode = ErrorCode.Codec) {
    super(code, message, options);
  }
}

/**
 * A frame would make the decoder allocate more than its budget (`decodeAllocationFactor` times its size,
 * plus `decodeAllocationFloor`), or nest deeper than `maxDepth`: refused before it is built.
 */
export class DecodeBudgetError extends CodecError {
  /** The limit that was exceeded: `decodeAllocationFactor` or `maxDepth`. */
  readonly limit: string;
  /** What the frame reached when decoding stopped (bytes charged, or the depth), where that is known. */
  readonly actual: number | undefined;
  /** The most allowed (bytes, or the depth), where that is known. */
  readonly allowed: number | undefined;
  /** Where in the frame decoding stopped, where that is known. */
  readonly offset: number | undefined;
  constructor(limit: string, message: string, details: { actual?: number; allowed?: number; offset?: number } = {}) {
    super(`${message}; the frame was refused (raise ${limit} on the receiving side if such values are expected)`, undefined, ErrorCode.DecodeBudget);
    this.limit = limit;
    this.actual = details.actual;
    this.allowed = details.allowed;
    this.offset = details.offset;
  }
}

/** An int with more decimal digits than `maxIntDigits` was to be converted from or to text (CPython's limit, 4300). */
export class DigitLimitError extends CodecError {
  constructor(digits: number, limit: number) {
    super(
      `an int of ${digits} decimal digits exceeds the limit of ${limit} for integer string conversion ` +
        '(CPython has the same limit, sys.set_int_max_str_digits(); raise maxIntDigits, or send ints in binary)',
      undefined,
      ErrorCode.DigitLimit,
    );
  }
}

/** A pickle named a global that is not on the allow-list. */
export class ForbiddenGlobalError extends CodecError {
  readonly module: string;
  readonly qualname: string;
  constructor(module: string, qualname: string) {
    super(
      `pickle refers to ${module}.${qualname}, which is not on the allow-list; ` +
        'send plain data (None, bool, int, float, str, bytes, tuple, list, dict, set) or a manager proxy instead',
      undefined,
      ErrorCode.ForbiddenGlobal,
    );
    this.module = module;
    this.qualname = qualname;
  }
}

export class AddressError extends MpmError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Address, message, options);
  }
}

/**
 * Connecting to an address failed: nothing listens there, the socket file is missing, the host cannot be
 * reached, or a WebSocket endpoint answered with an HTTP status instead of upgrading. `cause` is the
 * underlying error; the message names the address as users write it and says what to check.
 */
export class ConnectError extends MpmError {
  /** The system error's code (`ECONNREFUSED`, `ENOENT`, `ETIMEDOUT`, ...), when a system call failed. */
  readonly syscallCode: string | undefined;
  /** The HTTP status a WebSocket endpoint answered instead of upgrading, when that is what failed. */
  readonly httpStatus: number | undefined;
  constructor(message: string, details: { cause?: unknown; syscallCode?: string | undefined; httpStatus?: number | undefined } = {}) {
    super(ErrorCode.Connect, message, 'cause' in details ? { cause: details.cause } : undefined);
    this.syscallCode = details.syscallCode;
    this.httpStatus = details.httpStatus;
  }
}

/** Why an encrypted channel failed or could not be set up (`ChannelError.reason`). */
export const ChannelFault = {
  /** A record failed to authenticate: altered, dropped, replayed or reordered on the way. */
  Record: 'record',
  /** A record larger than the channel allows, or of a type it does not know. */
  Malformed: 'malformed',
  /** The peer's data ended without the channel's close record. */
  Truncated: 'truncated',
  /** The key exchange was malformed or tampered with (a wrong MAC, a degenerate key, an unknown suite). */
  KeyExchange: 'key-exchange',
  /** The two sides' encryption policies cannot agree (one requires encryption, the other has it off). */
  Policy: 'policy',
} as const;
export type ChannelFault = (typeof ChannelFault)[keyof typeof ChannelFault];

/**
 * The encrypted channel failed (the connection was closed at once, and the peer was told nothing but the
 * close), or the two sides' encryption policies cannot agree.
 */
export class ChannelError extends MpmError {
  readonly reason: ChannelFault;
  constructor(reason: ChannelFault, message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Channel, message, options);
    this.reason = reason;
  }
}

/**
 * A reconnecting client lost its connection while this call was in flight: the call may or may not have
 * run on the server. Retry it if running it twice is safe. (A `ConnectionClosedError`, so code that
 * handles closed connections handles it too.)
 */
export class ConnectionLostError extends ConnectionClosedError {
  /** Always true: the client reconnects, so the call can be made again. */
  readonly retryable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    Object.defineProperty(this, 'code', { value: ErrorCode.ConnectionLost });
  }
}

/**
 * The object a proxy points to lived in the memory of a server this client is no longer connected to
 * (it restarted, or the client moved to another server): it is gone. Objects kept in a shared store
 * (Redis) are found again by name instead.
 */
export class ObjectGoneError extends MpmError {
  constructor(message: string) {
    super(ErrorCode.ObjectGone, message);
  }
}

/** The store that keeps shared objects (Redis) cannot be reached, or failed an operation. */
export class BackendError extends MpmError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Backend, message, options);
  }
}

export class InvalidArgumentError extends MpmError {
  constructor(message: string) {
    super(ErrorCode.InvalidArgument, message);
  }
}

export class TimeoutError extends MpmError {
  constructor(message: string) {
    super(ErrorCode.Timeout, message);
  }
}

export class AbortError extends MpmError {
  constructor(message = 'the operation was aborted', options?: { cause?: unknown }) {
    super(ErrorCode.Aborted, message, options);
  }
}

/** A method that is not in the object's exposed list was called. */
export class NotExposedError extends MpmError {
  constructor(method: string, typeid: string, exposed: readonly string[]) {
    super(
      ErrorCode.NotExposed,
      `method '${method}' of '${typeid}' is not exposed; exposed methods are: ${exposed.join(', ') || '(none)'}` +
        ' (pass `exposed` to register() to change the list)',
    );
  }
}

export class UnknownTypeidError extends MpmError {
  constructor(typeid: string) {
    super(ErrorCode.UnknownTypeid, `typeid '${typeid}' is not registered on the server; register it before start()/serveForever()`);
  }
}

export class UnknownObjectError extends MpmError {
  constructor(id: string) {
    super(ErrorCode.UnknownObject, `no object with id '${id}' is hosted by the server (it was released, or the server restarted)`);
  }
}

export class ShutdownRefusedError extends MpmError {
  constructor() {
    super(
      ErrorCode.ShutdownRefused,
      'remote shutdown refused: the server was not started with allowRemoteShutdown, and the caller is not the process that started it',
    );
  }
}

/** The server closed a connection that sent nothing for `idleTimeout` ms. */
export class IdleTimeoutError extends MpmError {
  constructor(ms: number) {
    super(ErrorCode.IdleTimeout, `the connection sent nothing for ${ms} ms and was closed (raise idleTimeout on the server, or 0 to turn it off)`);
  }
}

/** The server refused a connection: `maxConnections` in all, or `maxConnectionsPerPeer` from one host. */
export class TooManyConnectionsError extends MpmError {
  constructor(limit: 'maxConnections' | 'maxConnectionsPerPeer', count: number, peer?: string) {
    super(
      ErrorCode.TooManyConnections,
      `${count} connections${peer !== undefined ? ` from ${peer}` : ''} already: a new one was refused (raise ${limit} on the server)`,
    );
  }
}

export class StateError extends MpmError {
  constructor(message: string) {
    super(ErrorCode.State, message);
  }
}

/**
 * An error raised on the other side that is not one of the Python exception kinds below.
 * CPython's `RemoteError`: `remoteType` names the error's class, `remoteStack` is the server-side stack.
 */
export class RemoteError extends MpmError {
  readonly remoteType: string;
  /** The remote error's own message (`message` is prefixed with its type). */
  readonly remoteMessage: string;
  declare readonly remoteStack: string;
  constructor(remoteType: string, message: string, remoteStack = '') {
    super(ErrorCode.Remote, remoteType ? `${remoteType}: ${message}` : message);
    this.remoteType = remoteType;
    this.remoteMessage = message;
    this.remoteStack = remoteStack;
  }
}

/**
 * mpmanager's error classes by name, for errors that cross a connection: an error a server raises with
 * one of these classes reaches the client as that class (with the remote stack in `remoteStack`), not as
 * a `RemoteError`. A name outside the table stays a `RemoteError`.
 */
const MPM_ERRORS: Readonly<Record<string, readonly [cls: typeof MpmError, code: ErrorCode]>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, readonly [typeof MpmError, ErrorCode]>, {
    AuthenticationError: [AuthenticationError, ErrorCode.Auth],
    HandshakeTimeoutError: [HandshakeTimeoutError, ErrorCode.HandshakeTimeout],
    FrameTooLargeError: [FrameTooLargeError, ErrorCode.FrameTooLarge],
    TruncatedFrameError: [TruncatedFrameError, ErrorCode.TruncatedFrame],
    BadMessageLengthError: [BadMessageLengthError, ErrorCode.BadMessageLength],
    BufferTooShortError: [BufferTooShortError, ErrorCode.BufferTooShort],
    ConnectionClosedError: [ConnectionClosedError, ErrorCode.ConnectionClosed],
    ProtocolError: [ProtocolError, ErrorCode.Protocol],
    CodecError: [CodecError, ErrorCode.Codec],
    DecodeBudgetError: [DecodeBudgetError, ErrorCode.DecodeBudget],
    DigitLimitError: [DigitLimitError, ErrorCode.DigitLimit],
    ForbiddenGlobalError: [ForbiddenGlobalError, ErrorCode.ForbiddenGlobal],
    AddressError: [AddressError, ErrorCode.Address],
    ConnectError: [ConnectError, ErrorCode.Connect],
    ChannelError: [ChannelError, ErrorCode.Channel],
    ConnectionLostError: [ConnectionLostError, ErrorCode.ConnectionLost],
    ObjectGoneError: [ObjectGoneError, ErrorCode.ObjectGone],
    BackendError: [BackendError, ErrorCode.Backend],
    InvalidArgumentError: [InvalidArgumentError, ErrorCode.InvalidArgument],
    TimeoutError: [TimeoutError, ErrorCode.Timeout],
    AbortError: [AbortError, ErrorCode.Aborted],
    NotExposedError: [NotExposedError, ErrorCode.NotExposed],
    UnknownTypeidError: [UnknownTypeidError, ErrorCode.UnknownTypeid],
    UnknownObjectError: [UnknownObjectError, ErrorCode.UnknownObject],
    ShutdownRefusedError: [ShutdownRefusedError, ErrorCode.ShutdownRefused],
    IdleTimeoutError: [IdleTimeoutError, ErrorCode.IdleTimeout],
    TooManyConnectionsError: [TooManyConnectionsError, ErrorCode.TooManyConnections],
    StateError: [StateError, ErrorCode.State],
  }),
);

/**
 * The error a peer reported as `type: message`: an instance of mpmanager's class of that name when
 * there is one (made without running its constructor, so it keeps the remote message), else a
 * `RemoteError`. `remoteStack` is the peer's stack or traceback text.
 */
export function remoteError(type: string, message: string, remoteStack = ''): MpmError {
  const known = MPM_ERRORS[type];
  if (known === undefined) return new RemoteError(type, message, remoteStack);
  const [Cls, code] = known;
  const err = Object.create(Cls.prototype) as MpmError;
  const local = new Error(message);
  Object.defineProperties(err, {
    message: { value: message, writable: true, configurable: true },
    code: { value: code, configurable: true },
    stack: { value: `${type}: ${message}\n${local.stack?.split('\n').slice(1).join('\n') ?? ''}`, writable: true, configurable: true },
  });
  err.remoteStack = remoteStack;
  return err;
}
