/**
 * Python's exceptions, as mpmanager raises and receives them: the classes clients catch (`KeyError`,
 * `Empty`, `BrokenBarrierError`, ...), the table both dialects map qualified names through, and the
 * other built-in exception names a peer may send (they arrive as a `PythonError` carrying the name).
 *
 * Naming: a Python name that would shadow a JavaScript global, or Node's `assert.AssertionError`, takes
 * the `Py` prefix (`PyTypeError`, `PyRuntimeError`, `PyAssertionError`; `PySet`, `PyArray` among the
 * referents); every other name is Python's own (`KeyError`, `List`, `Dict`).
 */
import { ErrorCode, MpmError } from './errors.js';
import { PY_REPR, pyRepr, type Repr } from './python-repr.js';

/**
 * Python exceptions that clients catch by class. They keep Python's names so that code reads the same
 * on both sides; `pyType` is the qualified Python name the classic dialect pickles.
 */
export class PythonError extends MpmError {
  /** Qualified Python class, e.g. `builtins.KeyError`, `_queue.Empty`. */
  readonly pyType: string;
  /** The Python exception's `args`. */
  readonly args: readonly unknown[];
  /** Server-side stack text, when the error was raised remotely. */
  declare remoteStack: string;
  constructor(pyType: string, args: readonly unknown[] = [], remoteStack = '') {
    super(ErrorCode.Python, formatPythonMessage(pyType, args));
    this.pyType = pyType;
    this.args = args;
    this.remoteStack = remoteStack;
  }
}

/** `Type: str(exc)`, as Python prints it: one argument as its str (a KeyError's as its repr), several as a tuple. */
function formatPythonMessage(pyType: string, args: readonly unknown[]): string {
  const short = pyType.slice(pyType.lastIndexOf('.') + 1);
  if (args.length === 0) return short;
  const one = args[0];
  const text = args.length > 1 ? boundedRepr(tuple(args)) : typeof one === 'string' && !pyType.endsWith('KeyError') ? one : boundedRepr(one);
  return `${short}: ${text}`;
}

/** Reprs as a tuple does, for a message. */
function tuple(items: readonly unknown[]): { [PY_REPR](repr: Repr): string } {
  return { [PY_REPR]: (repr: Repr) => repr.join('(', items, ')') };
}

/** A message never fails, nor costs more than its first few kilobytes (a key may be a huge value). */
function boundedRepr(value: unknown): string {
  try {
    return pyRepr(value, { maxLength: MESSAGE_REPR_LENGTH });
  } catch (err) {
    return `<${err instanceof Error ? err.message : 'unprintable value'}>`;
  }
}

/** Characters of a value a Python exception's message shows at most. */
const MESSAGE_REPR_LENGTH = 4096;

function pythonClass(pyType: string) {
  return class extends PythonError {
    constructor(...args: unknown[]) {
      super(pyType, args);
    }
  };
}

export class KeyError extends pythonClass('builtins.KeyError') {}
export class IndexError extends pythonClass('builtins.IndexError') {}
export class ValueError extends pythonClass('builtins.ValueError') {}
export class PyTypeError extends pythonClass('builtins.TypeError') {}
export class AttributeError extends pythonClass('builtins.AttributeError') {}
export class PyRuntimeError extends pythonClass('builtins.RuntimeError') {}
export class StopIteration extends pythonClass('builtins.StopIteration') {}
export class PyAssertionError extends pythonClass('builtins.AssertionError') {}
export class PyNotImplementedError extends pythonClass('builtins.NotImplementedError') {}
export class ZeroDivisionError extends pythonClass('builtins.ZeroDivisionError') {}
/** `queue.Empty`: a non-blocking or timed `get` found no item. */
export class Empty extends pythonClass('_queue.Empty') {}
/** `queue.Full`: a non-blocking or timed `put` found no room. */
export class Full extends pythonClass('queue.Full') {}
export class BrokenBarrierError extends pythonClass('threading.BrokenBarrierError') {}

/**
 * Python exception classes by qualified name. Both dialects map names through this table only:
 * a name that is not here arrives as a `PythonError` carrying the name (native) or is refused (pickle).
 */
export const PYTHON_ERRORS: Readonly<Record<string, new (...args: unknown[]) => PythonError>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, new (...args: unknown[]) => PythonError>, {
    'builtins.KeyError': KeyError,
    'builtins.IndexError': IndexError,
    'builtins.ValueError': ValueError,
    'builtins.TypeError': PyTypeError,
    'builtins.AttributeError': AttributeError,
    'builtins.RuntimeError': PyRuntimeError,
    'builtins.StopIteration': StopIteration,
    'builtins.AssertionError': PyAssertionError,
    'builtins.NotImplementedError': PyNotImplementedError,
    'builtins.ZeroDivisionError': ZeroDivisionError,
    '_queue.Empty': Empty,
    'queue.Empty': Empty,
    'queue.Full': Full,
    'threading.BrokenBarrierError': BrokenBarrierError,
  }),
);

/**
 * Built-in exception names a peer may send beyond the classes above; each arrives as a `PythonError`
 * carrying its name (the pickle allow-list admits exactly `PYTHON_ERRORS` and these).
 */
export const OTHER_PYTHON_EXCEPTIONS: readonly string[] = Object.freeze([
  'builtins.Exception',
  'builtins.ArithmeticError',
  'builtins.BufferError',
  'builtins.LookupError',
  'builtins.OverflowError',
  'builtins.FloatingPointError',
  'builtins.RecursionError',
  'builtins.MemoryError',
  'builtins.NameError',
  'builtins.UnboundLocalError',
  'builtins.ImportError',
  'builtins.ModuleNotFoundError',
  'builtins.UnicodeError',
  'builtins.UnicodeDecodeError',
  'builtins.UnicodeEncodeError',
  'builtins.StopAsyncIteration',
  'builtins.EOFError',
  'builtins.OSError',
  'builtins.BlockingIOError',
  'builtins.ChildProcessError',
  'builtins.ConnectionError',
  'builtins.BrokenPipeError',
  'builtins.ConnectionAbortedError',
  'builtins.ConnectionRefusedError',
  'builtins.ConnectionResetError',
  'builtins.FileExistsError',
  'builtins.FileNotFoundError',
  'builtins.InterruptedError',
  'builtins.IsADirectoryError',
  'builtins.NotADirectoryError',
  'builtins.PermissionError',
  'builtins.ProcessLookupError',
  'builtins.TimeoutError',
  'multiprocessing.context.AuthenticationError',
  'multiprocessing.context.BufferTooShort',
  'multiprocessing.context.ProcessError',
  'multiprocessing.context.TimeoutError',
  'multiprocessing.managers.RemoteError',
]);

/** Builds the Python error for a qualified name, or a generic `PythonError` carrying the name. */
export function makePythonError(pyType: string, args: readonly unknown[], remoteStack = ''): PythonError {
  const Cls = PYTHON_ERRORS[pyType];
  const err = Cls ? new Cls(...args) : new PythonError(pyType, args);
  err.remoteStack = remoteStack;
  return err;
}
