import { describe, it, expect } from 'vitest';
import { Buffer } from 'node:buffer';
import { PickleCodec, pickle, Op } from '../../../src/codec/pickle/index.js';
import { Slice, Tuple, tuple } from '../../../src/codec/values.js';
import { ObjectRef, RefHolder } from '../../../src/codec/ref.js';
import { Token } from '../../../src/codec/token.js';
import { CodecError, RemoteError } from '../../../src/errors.js';
import { Empty, KeyError, PythonError, makePythonError } from '../../../src/python-errors.js';
import { VECTORS, bytes, p4, toHex } from './bytes.js';

const enc = (v: unknown): Buffer => Buffer.from(pickle.encode(v));
/** The body between PROTO 4 (and FRAME, when present) and STOP. */
function body(v: unknown): Buffer {
  const b = enc(v);
  expect(b[0]).toBe(Op.PROTO);
  expect(b[1]).toBe(4);
  expect(b[b.length - 1]).toBe(Op.STOP);
  return b[2] === Op.FRAME ? b.subarray(11, b.length - 1) : b.subarray(2, b.length - 1);
}
const roundTrip = (v: unknown): unknown => pickle.decode(pickle.encode(v));

function encodeError(v: unknown, codec = pickle): CodecError {
  try {
    codec.encode(v);
  } catch (err) {
    expect(err).toBeInstanceOf(CodecError);
    return err as CodecError;
  }
  throw new Error('encode did not throw');
}

describe('pickle encode: byte-identical to CPython 3.11-3.13 protocol 4', () => {
  it('writes the create request', () => {
    expect(toHex(enc(tuple<unknown>(null, 'create', tuple<unknown>('dict'), {})))).toBe(VECTORS.create);
  });

  it('writes the __getitem__ request', () => {
    expect(toHex(enc(tuple<unknown>('7f3a2c1b4d80', '__getitem__', tuple<unknown>('k'), {})))).toBe(VECTORS.getitem);
  });

  it("writes ('#RETURN', None)", () => {
    expect(toHex(enc(tuple<unknown>('#RETURN', null)))).toBe(VECTORS.returnNone);
  });

  it('writes a Token exactly', () => {
    expect(toHex(enc(new Token('Queue', ['127.0.0.1', 50000], '7f3a2c1b4d80')))).toBe(VECTORS.token);
  });

  it('writes the #ERROR KeyError reply', () => {
    expect(toHex(enc(tuple<unknown>('#ERROR', new KeyError('missing'))))).toBe(VECTORS.errorKeyError);
  });

  it('writes a reference with a proxy class as RebuildProxy(ListProxy, token, "pickle", {})', () => {
    const ref = new ObjectRef(new Token('list', ['127.0.0.1', 47001], '7f81b8c05300'), ['append'], 'ListProxy');
    expect(toHex(enc(tuple<unknown>('#RETURN', ref)))).toBe(VECTORS.returnListProxy);
  });

  it('writes an AutoProxy reference with its exposed tuple', () => {
    const ref = new ObjectRef(new Token('Queue', '/tmp/x.sock', 'ab'), ['get', 'put'], 'AutoProxy');
    expect(toHex(enc(ref))).toBe(VECTORS.autoProxyUnix);
    // proxytype null means AutoProxy too.
    expect(toHex(enc(new ObjectRef(new Token('Queue', '/tmp/x.sock', 'ab'), ['get', 'put'], null)))).toBe(VECTORS.autoProxyUnix);
  });

  it('writes the #PROXY reply', () => {
    const v = tuple<unknown>('#PROXY', tuple<unknown>(tuple<unknown>('__next__', 'send', 'throw', 'close'), new Token('Iterator', ['127.0.0.1', 47001], '7f81b8beb240')));
    expect(toHex(enc(v))).toBe(VECTORS.proxyReply);
  });

  it('omits FRAME below 4 bytes of body, as CPython does', () => {
    expect(toHex(enc(null))).toBe('80044e2e');
    expect(toHex(enc(5))).toBe('80044b052e');
  });
});

describe('pickle encode: opcodes', () => {
  it.each<[unknown, number[]]>([
    [0, [Op.BININT1, 0]],
    [255, [Op.BININT1, 255]],
    [256, [Op.BININT2, 0, 1]],
    [65535, [Op.BININT2, 0xff, 0xff]],
    [65536, [Op.BININT, 0, 0, 1, 0]],
    [-1, [Op.BININT, 0xff, 0xff, 0xff, 0xff]],
    [2 ** 31 - 1, [Op.BININT, 0xff, 0xff, 0xff, 0x7f]],
    [-(2 ** 31), [Op.BININT, 0, 0, 0, 0x80]],
    [2 ** 31, [Op.LONG1, 5, 0, 0, 0, 0x80, 0]],
    [-(2 ** 31) - 1, [Op.LONG1, 5, 0xff, 0xff, 0xff, 0x7f, 0xff]],
    [2 ** 40, [Op.LONG1, 6, 0, 0, 0, 0, 0, 1]],
    [2 ** 47, [Op.LONG1, 7, 0, 0, 0, 0, 0, 0x80, 0]],
    [Number.MAX_SAFE_INTEGER, [Op.LONG1, 7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f]],
    [-Number.MAX_SAFE_INTEGER, [Op.LONG1, 7, 1, 0, 0, 0, 0, 0, 0xe0]],
    [5n, [Op.BININT1, 5]],
    [-128n * 2n ** 56n, [Op.LONG1, 8, 0, 0, 0, 0, 0, 0, 0, 0x80]],
    [2n ** 70n, [Op.LONG1, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0x40]],
    [-(2n ** 70n), [Op.LONG1, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0xc0]],
    [1.5, [Op.BINFLOAT, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]],
    [-0, [Op.BINFLOAT, 0x80, 0, 0, 0, 0, 0, 0, 0]],
    [2 ** 60, [Op.BINFLOAT, 0x43, 0xb0, 0, 0, 0, 0, 0, 0]],
    [true, [Op.NEWTRUE]],
    [false, [Op.NEWFALSE]],
    [undefined, [Op.NONE]],
  ])('writes %s', (value, expected) => {
    const b = enc(value);
    const inner = b[2] === Op.FRAME ? b.subarray(11, -1) : b.subarray(2, -1);
    expect([...inner]).toEqual(expected);
  });

  it('uses LONG4 for ints of 256 bytes or more', () => {
    const big = 2n ** 2100n;
    const b = body(big);
    expect(b[0]).toBe(Op.LONG4);
    expect(b.readInt32LE(1)).toBe(263); // (2101 bits >> 3) + 1, as encode_long gives
    expect(roundTrip(big)).toBe(big);
    expect(roundTrip(-big)).toBe(-big);
  });

  it('chooses the str opcode by UTF-8 length and writes lone surrogates as surrogatepass does', () => {
    expect(body('a'.repeat(255))[0]).toBe(Op.SHORT_BINUNICODE);
    expect(body('a'.repeat(256))[0]).toBe(Op.BINUNICODE);
    expect(body('€'.repeat(85))[0]).toBe(Op.SHORT_BINUNICODE);
    expect(body('€'.repeat(86))[0]).toBe(Op.BINUNICODE);
    expect([...body('\ud800')]).toEqual([Op.SHORT_BINUNICODE, 3, 0xed, 0xa0, 0x80, Op.MEMOIZE]);
    const lone = 'x\udfff'.repeat(100);
    const b = body(lone);
    expect(b[0]).toBe(Op.BINUNICODE);
    expect(b.readUInt32LE(1)).toBe(400);
    expect([...b.subarray(5, 9)]).toEqual([0x78, 0xed, 0xbf, 0xbf]);
    expect(roundTrip(lone)).toBe(lone);
  });

  it('writes Uint8Array as builtins.bytearray(bytes) and Buffer as bytes', () => {
    const b = body(new Uint8Array([1, 2]));
    expect(b.includes(Buffer.from('bytearray'))).toBe(true);
    expect(b[b.length - 2]).toBe(Op.REDUCE);
    expect([...body(Buffer.from([1, 2]))]).toEqual([Op.SHORT_BINBYTES, 2, 1, 2, Op.MEMOIZE]);
    expect(body(Buffer.alloc(300))[0]).toBe(Op.BINBYTES);
  });

  it('batches lists, dicts and sets by 1000 like CPython', () => {
    const count = (b: Buffer, op: number) => [...b].filter((x) => x === op).length;
    const list = Array.from({ length: 2001 }, () => null);
    const lb = body(list);
    expect(count(lb, Op.APPENDS)).toBe(2);
    expect(count(lb, Op.APPEND)).toBe(1);
    expect(count(lb, Op.MARK)).toBe(2);
    const dict = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, true]));
    const db = body(dict);
    expect(db.includes(Op.SETITEMS)).toBe(true);
    expect(roundTrip(dict)).toStrictEqual(dict);
    const set = new Set(Array.from({ length: 1001 }, (_, i) => i));
    expect(roundTrip(set)).toStrictEqual(set);
    expect([...body([7])]).toEqual([Op.EMPTY_LIST, Op.MEMOIZE, Op.BININT1, 7, Op.APPEND]);
    expect([...body(new Set([7]))]).toEqual([Op.EMPTY_SET, Op.MEMOIZE, Op.MARK, Op.BININT1, 7, Op.ADDITEMS]);
    expect([...body(new Map([[1, 2]]))]).toEqual([Op.EMPTY_DICT, Op.MEMOIZE, Op.BININT1, 1, Op.BININT1, 2, Op.SETITEM]);
  });

  it('writes a shared object once and refers to it with BINGET, so cycles survive', () => {
    const shared = [1];
    const b = body([shared, shared]);
    expect(b.includes(Op.BINGET)).toBe(true);
    const back = roundTrip([shared, shared]) as unknown[][];
    expect(back[0]).toBe(back[1]);
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    const c = roundTrip(cyclic) as unknown[];
    expect(c[0]).toBe(c);
  });

  it('writes abstract socket addresses as bytes', () => {
    const t = new Token('Queue', '\0listener-1', 'ab');
    expect(body(t).includes(bytes(Op.SHORT_BINBYTES, 11, '\0listener-1'))).toBe(true);
    expect(roundTrip(t)).toStrictEqual(t);
  });

  it('writes other errors as builtins.Exception(message) and slices as builtins.slice', () => {
    expect(body(new Error('boom')).includes(Buffer.from('Exception'))).toBe(true);
    const back = roundTrip(new RemoteError('X', 'boom')) as PythonError;
    expect(back.pyType).toBe('builtins.Exception');
    expect(back.args).toEqual(['X: boom']);
    expect(roundTrip(new Slice(1, null, -1))).toStrictEqual(new Slice(1, null, -1));
  });

  it('writes any RefHolder through toObjectRef()', () => {
    class FakeProxy extends RefHolder {
      toObjectRef(): ObjectRef {
        return new ObjectRef(new Token('dict', ['h', 1], 'i'), ['get'], 'DictProxy');
      }
    }
    const back = roundTrip(new FakeProxy()) as ObjectRef;
    expect(back).toBeInstanceOf(ObjectRef);
    expect(back.proxytype).toBe('DictProxy');
    expect(back.exposed).toBeNull();
    const user = roundTrip(new ObjectRef(new Token('Q', ['h', 1], 'i'), null, '__main__.ResultQueueProxy')) as ObjectRef;
    expect(user.proxytype).toBe('__main__.ResultQueueProxy');
  });
});

describe('pickle encode: refusals', () => {
  it.each<[string, unknown, RegExp]>([
    ['a function', () => 1, /function.*proxy/],
    ['a symbol', Symbol('s'), /symbol/],
    ['a Date', new Date(0), /Date.*getTime/],
    ['a Float64Array', new Float64Array(1), /Float64Array.*Array.from/],
    ['an ArrayBuffer', new ArrayBuffer(1), /Buffer.from/],
    ['a class instance', new (class Widget {})(), /Widget.*plain object/],
    ['a Promise', Promise.resolve(1), /await/],
    ['a list in a set', new Set([[1]]), /set item.*hash/],
    ['a dict key that is an object', new Map([[{}, 1]]), /dict key.*hash/],
  ])('refuses %s with a hint', (_name, value, pattern) => {
    expect(encodeError(value).message).toMatch(pattern);
    expect(encodeError(value).message).toMatch(/^cannot send /);
  });

  it('says where in the message the refused value sits (a request tuple, as the classic client sends one)', () => {
    const request = tuple<unknown>('obj-1', 'put', tuple<unknown>(1, { handler: () => 1 }), {});
    expect(encodeError(request).message).toMatch(/^cannot send the function handler \(at message\[2\]\[1\]\.handler\): functions cannot travel between processes/);
    expect(encodeError(tuple<unknown>(null, 'put', tuple<unknown>(new Set([[1]])))).message).toMatch(/\(at message\[2\]\[0\]\.values\(\)\[0\]\)/);
  });

  it('refuses values nested deeper than maxDepth', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 600; i++) deep = [deep];
    expect(encodeError(deep).message).toMatch(/maxDepth \(512\)/);
    let ok: unknown = 1;
    for (let i = 0; i < 500; i++) ok = [ok];
    expect(() => pickle.encode(ok)).not.toThrow();
    const t = new Tuple<unknown>();
    t.push(t);
    expect(encodeError(t).message).toMatch(/tuple contains itself/);
    expect(encodeError([[[1]]], new PickleCodec({ maxDepth: 2 })).message).toMatch(/maxDepth \(2\)/);
  });

  it('survives a nested encode from toObjectRef()', () => {
    class Nested extends RefHolder {
      toObjectRef(): ObjectRef {
        pickle.encode({ inner: 'x'.repeat(100) });
        return new ObjectRef(new Token('t', '/s', 'i'), [], 'ListProxy');
      }
    }
    const v = tuple<unknown>('a'.repeat(50), new Nested(), 'b'.repeat(50));
    const back = pickle.decode(pickle.encode(v)) as unknown[];
    expect(back[0]).toBe('a'.repeat(50));
    expect(back[2]).toBe('b'.repeat(50));
  });
});

describe('pickle encode → decode round trips', () => {
  const values: Array<[string, unknown]> = [
    ['null', null],
    ['ints', [0, 1, -1, 255, 256, 65535, 65536, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 40, -(2 ** 47), Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]],
    ['bigints', [2n ** 53n, -(2n ** 53n) - 1n, 2n ** 64n, 2n ** 70n, -(2n ** 70n), 2n ** 1000n]],
    ['floats', [0.5, -2.25, 1e300, -1e-300, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 60]],
    ['strings', ['', 'a', 'é', '€', '😀', 'x'.repeat(1000), 'ü'.repeat(300), '\u0000\n']],
    ['bytes', Buffer.from([0, 1, 255])],
    ['bytearray', new Uint8Array([3, 4])],
    ['empty bytearray', new Uint8Array(0)],
    ['tuples', tuple<unknown>(tuple<unknown>(), tuple<unknown>(1), tuple<unknown>(1, 2), tuple<unknown>(1, 2, 3), tuple<unknown>(1, 2, 3, 4))],
    ['nested', { a: [1, tuple<unknown>(2, { b: new Set(['x', 3]) })], c: new Map<unknown, unknown>([[tuple<unknown>(1, 2), 'pair']]) }],
    ['dict with int keys', new Map([[1, 'a'], [2, 'b']])],
    ['empty containers', [[], {}, new Set(), tuple<unknown>()]],
    ['big list', Array.from({ length: 2500 }, (_, i) => i)],
    ['token', new Token('dict', ['::1', 6000], '7f00')],
    ['unix token', new Token('dict', '/tmp/m.sock', '7f00')],
    ['slice', new Slice(null, 5)],
    ['a __proto__ key', JSON.parse('{"__proto__": {"x": 1}, "y": 2}')],
  ];

  it.each(values)('%s', (_name, value) => {
    expect(roundTrip(value)).toStrictEqual(value instanceof Map && [...value.keys()].every((k) => typeof k === 'string') ? Object.fromEntries(value) : value);
  });

  it('NaN', () => {
    expect(roundTrip(NaN)).toBeNaN();
  });

  it('errors', () => {
    const e = roundTrip(new Empty()) as PythonError;
    expect(e).toBeInstanceOf(Empty);
    const g = roundTrip(makePythonError('builtins.OSError', [2, 'x'])) as PythonError;
    expect(g.pyType).toBe('builtins.OSError');
    expect(g.args).toEqual([2, 'x']);
  });

  it('does not pollute Object.prototype', () => {
    roundTrip(JSON.parse('{"__proto__": {"polluted": 1}}'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('lists encode to bytes that decode equal, at a useful speed', () => {
    const msg = tuple<unknown>('7f3a2c1b4d80', '__setitem__', tuple<unknown>('key', { a: [1, 2.5, 'three'], b: null }), {});
    const start = performance.now();
    for (let i = 0; i < 20_000; i++) pickle.decode(pickle.encode(msg));
    expect(performance.now() - start).toBeLessThan(5000);
    expect(roundTrip(msg)).toStrictEqual(msg);
  });

  it('p4 helper sanity', () => {
    expect(pickle.decode(p4(Op.NONE))).toBeNull();
  });
});
