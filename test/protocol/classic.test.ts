/**
 * CPython's classic dialect table (src/protocol/classic.ts): requests as CPython's `dispatch()` writes
 * them (byte for byte, through the pickle codec, against vectors from CPython), the shape check a server
 * runs on a decoded request, the reply words, the fallback methods, and traceback text both ways.
 */
import { describe, expect, it } from 'vitest';
import { pickle } from '../../src/codec/pickle/index.js';
import { Tuple, tuple } from '../../src/codec/values.js';
import { NotExposedError, RemoteError, ShutdownRefusedError, UnknownObjectError } from '../../src/errors.js';
import { FALLBACK_METHODS, GETVALUE, Reply, parseRequest, request, tracebackError, tracebackText } from '../../src/protocol/classic.js';
import { KeyError, ValueError } from '../../src/python-errors.js';
import { VECTORS, hex, toHex } from '../codec/pickle/bytes.js';

describe('request', () => {
  it('builds (ident, method, args, kwds) as CPython writes it: args a tuple, kwds a dict', () => {
    const r = request(null, 'create', ['dict']);
    expect(r).toBeInstanceOf(Tuple);
    expect(r).toStrictEqual(tuple<unknown>(null, 'create', tuple<unknown>('dict'), {}));
    expect(r[2]).toBeInstanceOf(Tuple);
    expect(request('7f01', 'acquire', [], { blocking: false })).toStrictEqual(tuple<unknown>('7f01', 'acquire', tuple(), { blocking: false }));
    expect(request(null, 'dummy')).toStrictEqual(tuple<unknown>(null, 'dummy', tuple(), {}));
  });

  it('pickles to the bytes CPython sends', () => {
    expect(toHex(pickle.encode(request(null, 'create', ['dict'])))).toBe(VECTORS.create);
    expect(toHex(pickle.encode(request('7f3a2c1b4d80', '__getitem__', ['k'])))).toBe(VECTORS.getitem);
  });
});

describe('parseRequest', () => {
  it('reads CPython\'s request tuples', () => {
    expect(parseRequest(pickle.decode(hex(VECTORS.create)))).toEqual({ ident: null, method: 'create', args: ['dict'], kwds: {} });
    const getitem = parseRequest(pickle.decode(hex(VECTORS.getitem)));
    expect(getitem).toEqual({ ident: '7f3a2c1b4d80', method: '__getitem__', args: ['k'], kwds: {} });
    expect(getitem?.args).not.toBeInstanceOf(Tuple); // a plain array the server may spread
    expect(parseRequest([null, 'm', [1], { a: 1 }])).toEqual({ ident: null, method: 'm', args: [1], kwds: { a: 1 } });
  });

  it('refuses what is not a 4-sequence with a method name', () => {
    for (const bad of [null, 'text', 42, {}, [], [null, 'm', []], [null, 'm', [], {}, 'extra'], [null, 7, [], {}], new Map([[0, null]])]) {
      expect(parseRequest(bad), JSON.stringify(bad) ?? String(bad)).toBeNull();
    }
  });

  it('takes args that are not a sequence as none, and kwds that are not a string-keyed dict as null', () => {
    expect(parseRequest([null, 'm', 'not args', {}])?.args).toEqual([]);
    expect(parseRequest([null, 'm', [], null])?.kwds).toBeNull();
    expect(parseRequest([null, 'm', [], 'kw'])?.kwds).toBeNull();
    expect(parseRequest([null, 'm', [], new Map<unknown, unknown>([[1, 2]])])?.kwds).toBeNull(); // a pickled dict with non-str keys
  });
});

describe('reply words and fallbacks', () => {
  it('are CPython\'s strings (multiprocessing/managers.py)', () => {
    expect(Reply).toEqual({ Return: '#RETURN', Error: '#ERROR', Traceback: '#TRACEBACK', Proxy: '#PROXY', Unserializable: '#UNSERIALIZABLE' });
    expect(pickle.decode(hex(VECTORS.returnNone))).toStrictEqual(tuple<unknown>(Reply.Return, null));
    expect((pickle.decode(hex(VECTORS.errorKeyError)) as unknown[])[0]).toBe(Reply.Error);
    expect((pickle.decode(hex(VECTORS.proxyReply)) as unknown[])[0]).toBe(Reply.Proxy);
  });

  it('#GETVALUE, __str__ and __repr__ are answered for every referent (Server.fallback_mapping)', () => {
    expect(GETVALUE).toBe('#GETVALUE');
    expect([...FALLBACK_METHODS].sort()).toEqual(['#GETVALUE', '__repr__', '__str__']);
  });
});

describe('tracebacks', () => {
  it('tracebackText: Python\'s layout, the frames, then "Type: message" as the last line', () => {
    const text = tracebackText(new RangeError('out of range'));
    const lines = text.split('\n');
    expect(lines[0]).toBe('Traceback (most recent call last):');
    expect(text.endsWith('\nRangeError: out of range\n')).toBe(true);
    expect(lines.slice(1, -2).every((l) => l.startsWith('  at '))).toBe(true);
    expect(lines.length).toBeGreaterThan(3); // this test's own frames
    expect(tracebackText('thrown text')).toBe('Traceback (most recent call last):\nException: thrown text\n');
    expect(tracebackText(new RemoteError('OSError', 'disk full', 'remote stack'))).toMatch(/\nOSError: disk full\n$/);
  });

  it('tracebackError reads a CPython traceback: the type and message of its last line, the whole text as remoteStack', () => {
    const text = [
      'Traceback (most recent call last):',
      '  File "/usr/lib/python3.12/multiprocessing/managers.py", line 209, in _handle_request',
      '    result = func(c, *args, **kwds)',
      '  File "/usr/lib/python3.12/multiprocessing/managers.py", line 403, in decref',
      '    raise ValueError("...")',
      "ValueError: the object '7f01' has no references",
      '',
    ].join('\n');
    const err = tracebackError(text);
    expect(err).toBeInstanceOf(RemoteError);
    expect(err).toMatchObject({ remoteType: 'ValueError', remoteMessage: "the object '7f01' has no references", remoteStack: text });
    // A dotted name, a name with no message, and a last line that names no exception.
    expect(tracebackError('Traceback (most recent call last):\nmultiprocessing.context.AuthenticationError: digest\n')).toMatchObject({
      remoteType: 'multiprocessing.context.AuthenticationError',
      remoteMessage: 'digest',
    });
    expect(tracebackError('Traceback (most recent call last):\nKeyboardInterrupt:\n')).toMatchObject({ remoteType: 'KeyboardInterrupt', remoteMessage: '' });
    expect(tracebackError('something went wrong')).toMatchObject({ remoteType: 'RemoteError', remoteMessage: 'something went wrong' });
  });

  it('an mpmanager error class named on the last line comes back as that class', () => {
    const refused = tracebackError(tracebackText(new ShutdownRefusedError()));
    expect(refused).toBeInstanceOf(ShutdownRefusedError);
    expect(refused.message).toBe(new ShutdownRefusedError().message);
    expect(refused.remoteStack).toMatch(/^Traceback \(most recent call last\):\n/);
    expect(tracebackError(tracebackText(new NotExposedError('x', 'T', ['a'])))).toBeInstanceOf(NotExposedError);
    expect(tracebackError(tracebackText(new UnknownObjectError('7f01')))).toMatchObject({ code: 'MPM_ERR_UNKNOWN_OBJECT' });
  });

  it('round trip: tracebackError(tracebackText(err)) keeps the type and the message', () => {
    for (const err of [new RangeError('out of range'), new TypeError('not a function'), new RemoteError('OSError', 'disk full')]) {
      const back = tracebackError(tracebackText(err));
      expect(back, err.name).toBeInstanceOf(RemoteError);
      expect((back as RemoteError).remoteType).toBe(err instanceof RemoteError ? err.remoteType : err.name);
      expect((back as RemoteError).remoteMessage).toBe(err instanceof RemoteError ? err.remoteMessage : err.message);
    }
  });

  // A Python exception's `message` already starts with its type ("ValueError: bad", as Python prints it),
  // and tracebackText puts the type in front once more: CPython's format_exc() ends "ValueError: bad",
  // ours "ValueError: ValueError: bad". The server sends this text when a control request (a `create`
  // whose constructor raises ValueError) fails, so a client reads the message "ValueError: bad".
  it('round trip of a Python exception: the last line is "ValueError: bad", as CPython\'s format_exc()', () => {
    expect(tracebackText(new ValueError('bad'))).toMatch(/\nValueError: bad\n$/);
    expect(tracebackError(tracebackText(new KeyError('k')))).toMatchObject({ remoteType: 'KeyError', remoteMessage: "'k'" });
  });
});
