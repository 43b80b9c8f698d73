/** Every error class in src/errors.ts, from one table: its stable code, its name, a message, and `cause`. */
import { describe, expect, it } from 'vitest';
import * as errors from '../src/errors.js';
import * as pythonErrors from '../src/python-errors.js';
import { remoteError, ConnectionLostError, ObjectGoneError, BackendError, ChannelError, ChannelFault, ConnectError, AbortError, AddressError, AuthenticationError, BadMessageLengthError, BufferTooShortError, CodecError, ConnectionClosedError, DecodeBudgetError, DigitLimitError, IdleTimeoutError, TooManyConnectionsError, ErrorCode, ForbiddenGlobalError, FrameTooLargeError, HandshakeTimeoutError, InvalidArgumentError, MpmError, NotExposedError, ProtocolError, RemoteError, ShutdownRefusedError, StateError, TimeoutError, TruncatedFrameError, UnknownObjectError, UnknownTypeidError } from '../src/errors.js';
import { PyAssertionError, AttributeError, BrokenBarrierError, Empty, Full, IndexError, KeyError, PyNotImplementedError, PYTHON_ERRORS, PyRuntimeError, PyTypeError, PythonError, StopIteration, ValueError, ZeroDivisionError, makePythonError } from '../src/python-errors.js';

type Row = [name: string, make: () => MpmError, code: string, message: RegExp];

const TABLE: Row[] = [
  ['MpmError', () => new MpmError(ErrorCode.State, 'base'), 'MPM_ERR_STATE', /base/],
  ['AuthenticationError', () => new AuthenticationError('the authkeys differ'), 'MPM_ERR_AUTH', /authkeys differ/],
  ['HandshakeTimeoutError', () => new HandshakeTimeoutError(10_000), 'MPM_ERR_HANDSHAKE_TIMEOUT', /within 10000 ms/],
  ['FrameTooLargeError', () => new FrameTooLargeError(2000, 1024), 'MPM_ERR_FRAME_TOO_LARGE', /2000 bytes exceeds the limit of 1024/],
  ['TruncatedFrameError', () => new TruncatedFrameError(2, 5), 'MPM_ERR_TRUNCATED_FRAME', /got end of file during message: 2 of 5/],
  ['BadMessageLengthError', () => new BadMessageLengthError(11, 10), 'MPM_ERR_BAD_MESSAGE_LENGTH', /bad message length/],
  ['BufferTooShortError', () => new BufferTooShortError(new Uint8Array(6), 4), 'MPM_ERR_BUFFER_TOO_SHORT', /6 bytes.*room for 4/],
  ['ConnectionClosedError', () => new ConnectionClosedError(), 'MPM_ERR_CONNECTION_CLOSED', /closed/],
  ['ChannelError', () => new ChannelError(ChannelFault.Record, 'a record failed to authenticate'), 'MPM_ERR_CHANNEL', /failed to authenticate/],
  ['ConnectionLostError', () => new ConnectionLostError('lost while in flight'), 'MPM_ERR_CONNECTION_LOST', /lost while in flight/],
  ['ObjectGoneError', () => new ObjectGoneError('the object is gone'), 'MPM_ERR_OBJECT_GONE', /is gone/],
  ['BackendError', () => new BackendError('Redis is unreachable'), 'MPM_ERR_BACKEND', /unreachable/],
  ['ConnectError', () => new ConnectError('no manager listening at 127.0.0.1:5000: is the server running? (ECONNREFUSED)', { syscallCode: 'ECONNREFUSED' }), 'MPM_ERR_CONNECT', /no manager listening.*is the server running/],
  ['ProtocolError', () => new ProtocolError('bad frame'), 'MPM_ERR_PROTOCOL', /bad frame/],
  ['CodecError', () => new CodecError('bad bytes'), 'MPM_ERR_CODEC', /bad bytes/],
  ['ForbiddenGlobalError', () => new ForbiddenGlobalError('os', 'system'), 'MPM_ERR_FORBIDDEN_GLOBAL', /os\.system.*allow-list/],
  ['AddressError', () => new AddressError('bad address'), 'MPM_ERR_ADDRESS', /bad address/],
  ['InvalidArgumentError', () => new InvalidArgumentError('offset is negative'), 'MPM_ERR_INVALID_ARGUMENT', /offset is negative/],
  ['TimeoutError', () => new TimeoutError('too slow'), 'MPM_ERR_TIMEOUT', /too slow/],
  ['AbortError', () => new AbortError(), 'MPM_ERR_ABORTED', /aborted/],
  ['NotExposedError', () => new NotExposedError('pop', 'dict', ['get']), 'MPM_ERR_NOT_EXPOSED', /'pop' of 'dict' is not exposed.*get/],
  ['UnknownTypeidError', () => new UnknownTypeidError('Foo'), 'MPM_ERR_UNKNOWN_TYPEID', /'Foo' is not registered/],
  ['UnknownObjectError', () => new UnknownObjectError('7f00'), 'MPM_ERR_UNKNOWN_OBJECT', /'7f00'/],
  ['ShutdownRefusedError', () => new ShutdownRefusedError(), 'MPM_ERR_SHUTDOWN_REFUSED', /shutdown refused/],
  ['StateError', () => new StateError('listener is closed'), 'MPM_ERR_STATE', /listener is closed/],
  ['DecodeBudgetError', () => new DecodeBudgetError('decodeAllocationFactor', 'too much'), 'MPM_ERR_DECODE_BUDGET', /too much.*raise decodeAllocationFactor/],
  ['DigitLimitError', () => new DigitLimitError(5000, 4300), 'MPM_ERR_DIGIT_LIMIT', /5000 decimal digits exceeds the limit of 4300.*maxIntDigits/],
  ['IdleTimeoutError', () => new IdleTimeoutError(500), 'MPM_ERR_IDLE_TIMEOUT', /nothing for 500 ms.*idleTimeout/],
  ['TooManyConnectionsError', () => new TooManyConnectionsError('maxConnectionsPerPeer', 4, '10.0.0.1'), 'MPM_ERR_TOO_MANY_CONNECTIONS', /4 connections from 10\.0\.0\.1.*maxConnectionsPerPeer/],
  ['RemoteError', () => new RemoteError('OSError', 'disk full', 'stack'), 'MPM_ERR_REMOTE', /^OSError: disk full$/],
  ['PythonError', () => new PythonError('mod.Weird', ['x']), 'MPM_ERR_PYTHON', /^Weird: x$/],
  ['KeyError', () => new KeyError('missing'), 'MPM_ERR_PYTHON', /^KeyError: 'missing'$/],
  ['IndexError', () => new IndexError('list index out of range'), 'MPM_ERR_PYTHON', /^IndexError: list index out of range$/],
  ['ValueError', () => new ValueError('bad'), 'MPM_ERR_PYTHON', /^ValueError: bad$/],
  ['PyTypeError', () => new PyTypeError('nope'), 'MPM_ERR_PYTHON', /^TypeError: nope$/],
  ['AttributeError', () => new AttributeError('no attr'), 'MPM_ERR_PYTHON', /^AttributeError: no attr$/],
  ['PyRuntimeError', () => new PyRuntimeError('oops'), 'MPM_ERR_PYTHON', /^RuntimeError: oops$/],
  ['StopIteration', () => new StopIteration(), 'MPM_ERR_PYTHON', /^StopIteration$/],
  ['PyAssertionError', () => new PyAssertionError('x'), 'MPM_ERR_PYTHON', /^AssertionError: x$/],
  ['PyNotImplementedError', () => new PyNotImplementedError(), 'MPM_ERR_PYTHON', /^NotImplementedError$/],
  ['ZeroDivisionError', () => new ZeroDivisionError('division by zero'), 'MPM_ERR_PYTHON', /^ZeroDivisionError: division by zero$/],
  ['Empty', () => new Empty(), 'MPM_ERR_PYTHON', /^Empty$/],
  ['Full', () => new Full(), 'MPM_ERR_PYTHON', /^Full$/],
  ['BrokenBarrierError', () => new BrokenBarrierError(), 'MPM_ERR_PYTHON', /^BrokenBarrierError$/],
];

describe('error classes', () => {
  it.each(TABLE)('%s has its stable code and a message', (name, make, code, message) => {
    const err = make();
    expect(err).toBeInstanceOf(Error);
    expect(err).toBeInstanceOf(MpmError);
    expect(err.name).toBe(name);
    expect(err.code).toBe(code);
    expect(err.message.length).toBeGreaterThan(0);
    expect(err.message).toMatch(message);
    expect(String(err)).toBe(`${name}: ${err.message}`);
    expect(err.stack).toContain(name);
  });

  it('the table covers every error class src/errors.ts and src/python-errors.ts export', () => {
    const exported = Object.entries({ ...errors, ...pythonErrors })
      .filter(([, v]) => typeof v === 'function' && (v === MpmError || (v as { prototype?: unknown }).prototype instanceof MpmError))
      .map(([k]) => k)
      .sort();
    expect(TABLE.map(([name]) => name).sort()).toEqual(exported);
  });

  it('every code in ErrorCode is used by some class, and codes are unique', () => {
    const codes = Object.values(ErrorCode);
    expect(new Set(codes).size).toBe(codes.length);
    expect(new Set(TABLE.map(([, , code]) => code))).toEqual(new Set(codes));
    for (const code of codes) expect(code).toMatch(/^MPM_ERR_[A-Z_]+$/);
  });

  it('keeps the cause where one is given', () => {
    const cause = new Error('underneath');
    expect(new AuthenticationError('x', { cause }).cause).toBe(cause);
    expect(new ConnectionClosedError('x', { cause }).cause).toBe(cause);
    expect(new ProtocolError('x', { cause }).cause).toBe(cause);
    expect(new CodecError('x', { cause }).cause).toBe(cause);
    expect(new AbortError('x', { cause }).cause).toBe(cause);
  });

  it('carries the details a caller needs', () => {
    const tooLarge = new FrameTooLargeError(2000, 1024);
    expect([tooLarge.size, tooLarge.limit]).toEqual([2000, 1024]);
    const data = new Uint8Array([1, 2, 3]);
    expect(new BufferTooShortError(data, 2).data).toBe(data);
    const forbidden = new ForbiddenGlobalError('os', 'system');
    expect([forbidden.module, forbidden.qualname]).toEqual(['os', 'system']);
    const remote = new RemoteError('OSError', 'disk full', 'Traceback ...');
    expect([remote.remoteType, remote.remoteStack]).toEqual(['OSError', 'Traceback ...']);
    expect(new RemoteError('', 'bare').message).toBe('bare');
  });
});

describe('Python errors', () => {
  it('map qualified Python names to classes, each with its pyType and args', () => {
    for (const [pyType, Cls] of Object.entries(PYTHON_ERRORS)) {
      const err = new Cls('a', 1);
      expect(err).toBeInstanceOf(PythonError);
      if (pyType !== 'queue.Empty') expect(err.pyType).toBe(pyType);
      expect(err.args).toEqual(['a', 1]);
    }
    expect(PYTHON_ERRORS['queue.Empty']).toBe(Empty);
    expect(Object.getPrototypeOf(PYTHON_ERRORS)).toBeNull();
    expect(PYTHON_ERRORS['__proto__' as string]).toBeUndefined();
    expect(PYTHON_ERRORS['constructor' as string]).toBeUndefined();
  });

  it('makePythonError builds the known class or a generic PythonError carrying the name', () => {
    const known = makePythonError('builtins.KeyError', ['k'], 'remote stack');
    expect(known).toBeInstanceOf(KeyError);
    expect(known.remoteStack).toBe('remote stack');
    const unknown = makePythonError('mymod.CustomError', ['x']);
    expect(unknown.constructor).toBe(PythonError);
    expect(unknown.pyType).toBe('mymod.CustomError');
    expect(unknown.message).toBe('CustomError: x');
  });

  it('formats messages as Python prints them', () => {
    expect(new KeyError('k').message).toBe("KeyError: 'k'");
    expect(new ValueError('a', 'b').message).toBe("ValueError: ('a', 'b')");
    expect(new IndexError(3n).message).toBe('IndexError: 3');
    expect(new ValueError({ a: 1 }).message).toBe("ValueError: {'a': 1}");
  });
});

describe('errors from the other side of a connection', () => {
  it('an mpmanager class arrives as that class, keeping the remote message and stack', () => {
    const err = remoteError('ShutdownRefusedError', 'remote shutdown refused: not allowed', 'ShutdownRefusedError: ...\n    at server.ts:1');
    expect(err).toBeInstanceOf(ShutdownRefusedError);
    expect(err).toBeInstanceOf(MpmError);
    expect(err.code).toBe('MPM_ERR_SHUTDOWN_REFUSED');
    expect(err.message).toBe('remote shutdown refused: not allowed');
    expect(err.remoteStack).toContain('server.ts:1');
    expect(String(err)).toBe('ShutdownRefusedError: remote shutdown refused: not allowed');
  });

  it('any other name is a RemoteError carrying it; names resolve through a null-prototype table only', () => {
    for (const type of ['OSError', 'constructor', '__proto__', 'toString', 'MpmError', 'RemoteError']) {
      const err = remoteError(type, 'x');
      expect(err, type).toBeInstanceOf(RemoteError);
      expect((err as RemoteError).remoteType).toBe(type);
    }
  });
});
