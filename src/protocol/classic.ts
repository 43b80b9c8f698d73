/**
 * CPython's classic manager dialect (`multiprocessing/managers.py`; cpython-wire.md §3): what a stock
 * `BaseManager` client and server say to each other after the handshake. Every frame is one pickle.
 *
 *   #   dir   frame                                        notes
 *   1   C->S  (None, op, args, kwds)                       a control request; op in Server.public
 *   2   S->C  ('#RETURN', result) | ('#TRACEBACK', text)   then the server closes it: a one-shot
 *                                                          control connection
 *   1'  C->S  (None, 'accept_connection', (name,), {})     turns the connection into an object
 *   2'  S->C  ('#RETURN', None)                            connection; then, one at a time:
 *   3   C->S  (ident, method, args, kwds)                  method may be '#GETVALUE' (a copy of the
 *                                                          referent) or a fallback ('__str__', '__repr__')
 *   4   S->C  ('#RETURN', value)
 *           | ('#ERROR', exception)                        raised by the referent; re-raised as is
 *           | ('#TRACEBACK', text)                         anything else: a `RemoteError` with the text
 *           | ('#PROXY', (exposed, Token))                 a `method_to_typeid` result, already incref'd
 *           | ('#UNSERIALIZABLE', text)                    the reply could not be pickled
 *
 * There are no request ids: the reply to a request is the next frame on its connection, so a call that
 * is abandoned must close its connection (cpython-wire.md §6).
 */
import { RemoteError, remoteError, type MpmError } from '../errors.js';
import { PythonError } from '../python-errors.js';
import { tuple, type Tuple } from '../codec/values.js';

/** Reply kinds (CPython's `managers.py` strings). */
export const Reply = {
  Return: '#RETURN',
  Error: '#ERROR',
  Traceback: '#TRACEBACK',
  Proxy: '#PROXY',
  Unserializable: '#UNSERIALIZABLE',
} as const;
export type Reply = (typeof Reply)[keyof typeof Reply];

/** Row 3's method that asks for a copy of the referent (`BaseProxy._getvalue()`). */
export const GETVALUE = '#GETVALUE';

/** Methods every referent answers whether or not it exposes them (CPython's `Server.fallback_mapping`). */
export const FALLBACK_METHODS: ReadonlySet<string> = new Set(['__str__', '__repr__', GETVALUE]);

/** A request, rows 1 and 3: `ident` is null for a control request. */
export type ClassicRequest = readonly [ident: string | null, method: string, args: readonly unknown[], kwds: Record<string, unknown>];

/** A reply, rows 2 and 4. */
export type ClassicReply = readonly [kind: Reply, result: unknown];

/** Builds a request tuple as CPython's `dispatch()` writes it. */
export function request(ident: string | null, method: string, args: readonly unknown[] = [], kwds: Record<string, unknown> | null = null): Tuple<unknown> {
  return tuple<unknown>(ident, method, tuple(...args), kwds ?? {});
}

/** Checks a decoded request's shape; returns it with args as an array and kwds as an object or null. */
export function parseRequest(value: unknown): { ident: unknown; method: string; args: unknown[]; kwds: Record<string, unknown> | null } | null {
  if (!Array.isArray(value) || value.length !== 4 || typeof value[1] !== 'string') return null;
  const [ident, method, rawArgs, rawKwds] = value as [unknown, string, unknown, unknown];
  const args = Array.isArray(rawArgs) ? Array.from(rawArgs) : [];
  const kwds = rawKwds && typeof rawKwds === 'object' && !(rawKwds instanceof Map) ? (rawKwds as Record<string, unknown>) : null;
  return { ident, method, args, kwds };
}

/** Python's traceback text for an error raised in a server, as `format_exc()` would give it (row 2/4). */
export function tracebackText(err: unknown): string {
  if (!(err instanceof Error)) return `Traceback (most recent call last):\nException: ${String(err)}\n`;
  const type = err instanceof RemoteError ? err.remoteType : err instanceof PythonError ? err.pyType.slice(err.pyType.lastIndexOf('.') + 1) : err.name;
  // A Python exception's message already reads `Type: text` (or just `Type`): keep only the text.
  const message = err instanceof RemoteError ? err.remoteMessage : err instanceof PythonError ? err.message.slice(type.length + 2) : err.message;
  if (err instanceof PythonError && message === '') {
    return `Traceback (most recent call last):\n${framesOf(err)}\n${type}\n`;
  }
  return `Traceback (most recent call last):\n${framesOf(err)}\n${type}: ${message}\n`;
}

/** An error's JS stack frames, indented as a traceback's. */
function framesOf(err: Error): string {
  return (err.stack ?? '')
    .split('\n')
    .filter((l) => l.trimStart().startsWith('at '))
    .map((l) => `  ${l.trim()}`)
    .join('\n');
}

/**
 * A `#TRACEBACK` text as an error: mpmanager's class of the last line's exception name when there is
 * one (an mpmanager server's `ShutdownRefusedError`), else a `RemoteError` of that type.
 */
export function tracebackError(text: string): MpmError {
  const lines = text.trimEnd().split('\n');
  const last = lines[lines.length - 1] ?? '';
  const m = /^([A-Za-z_][\w.]*): ?(.*)$/.exec(last);
  return remoteError(m?.[1] ?? 'RemoteError', m?.[2] ?? last, text);
}
