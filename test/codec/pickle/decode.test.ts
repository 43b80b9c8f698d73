import { describe, it, expect } from 'vitest';
import { Buffer } from 'node:buffer';
import { PickleCodec, pickle, isPickleFrame, Op } from '../../../src/codec/pickle/index.js';
import { Slice, Tuple, tuple } from '../../../src/codec/values.js';
import { ObjectRef } from '../../../src/codec/ref.js';
import { Token } from '../../../src/codec/token.js';
import { CodecError, ForbiddenGlobalError } from '../../../src/errors.js';
import { Empty, KeyError, PythonError } from '../../../src/python-errors.js';
import { VECTORS, bytes, global, hex, p4, str } from './bytes.js';

const decode = (b: Uint8Array): unknown => pickle.decode(b);

function codecError(b: Uint8Array, codec = pickle): CodecError {
  try {
    codec.decode(b);
  } catch (err) {
    expect(err).toBeInstanceOf(CodecError);
    return err as CodecError;
  }
  throw new Error('decode did not throw');
}

function forbidden(b: Uint8Array): ForbiddenGlobalError {
  try {
    pickle.decode(b);
  } catch (err) {
    expect(err).toBeInstanceOf(ForbiddenGlobalError);
    return err as ForbiddenGlobalError;
  }
  throw new Error('decode did not throw');
}

describe('pickle decode: wire vectors (cpython-wire.md §5.2, §5.3)', () => {
  it('reads the create request', () => {
    expect(decode(hex(VECTORS.create))).toStrictEqual(tuple<unknown>(null, 'create', tuple<unknown>('dict'), {}));
  });

  it('reads the __getitem__ request', () => {
    expect(decode(hex(VECTORS.getitem))).toStrictEqual(tuple<unknown>('7f3a2c1b4d80', '__getitem__', tuple<unknown>('k'), {}));
  });

  it("reads ('#RETURN', None)", () => {
    expect(decode(hex(VECTORS.returnNone))).toStrictEqual(tuple<unknown>('#RETURN', null));
  });

  it('reads a Token with a TCP address as [host, port]', () => {
    const t = decode(hex(VECTORS.token));
    expect(t).toBeInstanceOf(Token);
    expect(t).toStrictEqual(new Token('Queue', ['127.0.0.1', 50000], '7f3a2c1b4d80'));
    expect(Array.isArray((t as Token).address) && !((t as Token).address instanceof Tuple)).toBe(true);
  });

  it('reads the #ERROR KeyError reply as a KeyError', () => {
    const v = decode(hex(VECTORS.errorKeyError)) as unknown[];
    expect(v[0]).toBe('#ERROR');
    expect(v[1]).toBeInstanceOf(KeyError);
    expect((v[1] as PythonError).pyType).toBe('builtins.KeyError');
    expect((v[1] as PythonError).args).toEqual(['missing']);
  });

  it('reads RebuildProxy(ListProxy, ...) as an ObjectRef with proxytype ListProxy', () => {
    const [kind, ref] = decode(hex(VECTORS.returnListProxy)) as [string, ObjectRef];
    expect(kind).toBe('#RETURN');
    expect(ref).toBeInstanceOf(ObjectRef);
    expect(ref.token).toStrictEqual(new Token('list', ['127.0.0.1', 47001], '7f81b8c05300'));
    expect(ref.exposed).toBeNull();
    expect(ref.proxytype).toBe('ListProxy');
  });

  it('reads RebuildProxy(AutoProxy, ...) with its exposed list and a Unix path address', () => {
    const ref = decode(hex(VECTORS.autoProxyUnix)) as ObjectRef;
    expect(ref.proxytype).toBe('AutoProxy');
    expect(ref.exposed).toEqual(['get', 'put']);
    expect(ref.token.address).toBe('/tmp/x.sock');
  });

  it('hands references to reviveRef', () => {
    const seen: ObjectRef[] = [];
    const v = pickle.decode(hex(VECTORS.returnListProxy), {
      reviveRef(ref) {
        seen.push(ref);
        return { proxy: ref.token.id };
      },
    });
    expect(v).toStrictEqual(tuple<unknown>('#RETURN', { proxy: '7f81b8c05300' }));
    expect(seen).toHaveLength(1);
  });

  it('wraps a throwing reviveRef in a CodecError', () => {
    expect(() =>
      pickle.decode(hex(VECTORS.returnListProxy), {
        reviveRef() {
          throw new TypeError('nope');
        },
      }),
    ).toThrow(/reviveRef failed.*nope/);
  });

  it('reads a #PROXY reply', () => {
    expect(decode(hex(VECTORS.proxyReply))).toStrictEqual(
      tuple<unknown>('#PROXY', tuple<unknown>(tuple<unknown>('__next__', 'send', 'throw', 'close'), new Token('Iterator', ['127.0.0.1', 47001], '7f81b8beb240'))),
    );
  });
});

describe('pickle decode: value mapping', () => {
  it('maps scalars', () => {
    expect(decode(p4(Op.NONE))).toBeNull();
    expect(decode(p4(Op.NEWTRUE))).toBe(true);
    expect(decode(p4(Op.NEWFALSE))).toBe(false);
    expect(decode(p4(Op.BININT1, 200))).toBe(200);
    expect(decode(p4(Op.BININT2, 0x50, 0xc3))).toBe(50000);
    expect(decode(p4(Op.BININT, 0xff, 0xff, 0xff, 0xff))).toBe(-1);
    expect(decode(p4(Op.BINFLOAT, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0))).toBe(1.5);
  });

  it('maps LONG1 / LONG4 to number within the safe range and bigint beyond', () => {
    expect(decode(p4(Op.LONG1, 0))).toBe(0);
    expect(decode(p4(Op.LONG1, 1, 0xff))).toBe(-1);
    expect(decode(p4(Op.LONG1, 2, 0xff, 0x00))).toBe(255);
    expect(decode(p4(Op.LONG1, 7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f))).toBe(Number.MAX_SAFE_INTEGER);
    expect(decode(p4(Op.LONG1, 7, 0, 0, 0, 0, 0, 0, 0x20))).toBe(2n ** 53n);
    expect(decode(p4(Op.LONG1, 7, 0, 0, 0, 0, 0, 0, 0xe0))).toBe(-(2n ** 53n));
    expect(decode(p4(Op.LONG1, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0x40))).toBe(2n ** 70n);
    expect(decode(p4(Op.LONG1, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0xc0))).toBe(-(2n ** 70n));
    expect(decode(p4(Op.LONG4, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40))).toBe(2n ** 70n);
  });

  it('maps bytes to Buffer and bytearray to a Uint8Array that is not a Buffer', () => {
    const b = decode(p4(Op.SHORT_BINBYTES, 2, 1, 2));
    expect(Buffer.isBuffer(b)).toBe(true);
    expect([...(b as Buffer)]).toEqual([1, 2]);
    const ba = decode(p4(Op.BYTEARRAY8, 2, 0, 0, 0, 0, 0, 0, 0, 1, 2));
    expect(ba).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(ba)).toBe(false);
    expect([...(ba as Uint8Array)]).toEqual([1, 2]);
    const viaGlobal = decode(p4(global('builtins', 'bytearray'), Op.SHORT_BINBYTES, 1, 9, Op.TUPLE1, Op.REDUCE));
    expect(Buffer.isBuffer(viaGlobal)).toBe(false);
    expect([...(viaGlobal as Uint8Array)]).toEqual([9]);
  });

  it('copies bytes out of the input', () => {
    const input = p4(Op.SHORT_BINBYTES, 1, 7);
    const b = decode(input) as Buffer;
    input[4] = 8;
    expect(b[0]).toBe(7);
  });

  it('maps dicts with str keys to plain objects and others to Map', () => {
    expect(decode(p4(Op.EMPTY_DICT, str('a'), Op.BININT1, 1, Op.SETITEM))).toStrictEqual({ a: 1 });
    const m = decode(p4(Op.EMPTY_DICT, Op.MARK, Op.BININT1, 1, str('a'), str('b'), Op.BININT1, 2, Op.SETITEMS)) as Map<unknown, unknown>;
    expect(m).toBeInstanceOf(Map);
    expect([...m.entries()]).toEqual([
      [1, 'a'],
      ['b', 2],
    ]);
  });

  it('keeps a __proto__ key as an own property and never touches a prototype', () => {
    // {'__proto__': {'polluted': True}} from CPython 3.11 protocol 4
    const v = decode(hex('8004951f000000000000007d948c095f5f70726f746f5f5f947d948c08706f6c6c75746564948873732e')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(v, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(v, '__proto__')?.value).toStrictEqual({ polluted: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((v as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('maps sets and frozensets to Set; ADDITEMS on a frozenset is refused', () => {
    expect(decode(p4(Op.EMPTY_SET, Op.MARK, Op.BININT1, 1, Op.BININT1, 2, Op.ADDITEMS))).toStrictEqual(new Set([1, 2]));
    expect(decode(p4(Op.MARK, Op.BININT1, 1, Op.FROZENSET))).toStrictEqual(new Set([1]));
    expect(codecError(p4(Op.MARK, Op.FROZENSET, Op.MARK, Op.BININT1, 1, Op.ADDITEMS)).message).toMatch(/frozenset/);
  });

  it('shares memoized objects and supports a list that contains itself', () => {
    const v = decode(p4(Op.EMPTY_LIST, Op.MEMOIZE, Op.MARK, Op.EMPTY_LIST, Op.MEMOIZE, Op.BINGET, 1, Op.APPENDS)) as unknown[];
    expect(v[0]).toBe(v[1]);
    const self = decode(p4(Op.EMPTY_LIST, Op.MEMOIZE, Op.BINGET, 0, Op.APPEND)) as unknown[];
    expect(self[0]).toBe(self);
  });

  it('keeps memo indexes as CPython does: MEMOIZE uses the entry count, BINPUT any index', () => {
    // BINPUT 5 puts 'a' at 5; MEMOIZE then stores 'b' at len(memo) == 1; BINGETs read both back.
    const v = decode(p4(Op.MARK, str('a'), Op.BINPUT, 5, str('b'), Op.MEMOIZE, Op.BINGET, 5, Op.BINGET, 1, Op.LONG_BINPUT, 0xff, 0xff, 0xff, 0xff, Op.LONG_BINGET, 0xff, 0xff, 0xff, 0xff, Op.TUPLE));
    expect(v).toStrictEqual(tuple<unknown>('a', 'b', 'a', 'b', 'b'));
    expect(codecError(p4(Op.NONE, Op.BINPUT, 5, Op.BINGET, 4)).message).toMatch(/memo key 4 not found/);
    // Overwriting an index does not count as a new entry.
    const small = new PickleCodec({ maxMemo: 2 });
    expect(small.decode(p4(Op.NONE, Op.BINPUT, 9, Op.BINPUT, 9, Op.MEMOIZE, Op.POP, Op.NONE))).toBeNull();
    expect(codecError(p4(Op.NONE, Op.BINPUT, 9, Op.BINPUT, 8, Op.BINPUT, 7), small).message).toMatch(/maxMemo/);
  });

  it('maps slice, Namespace, Value, OrderedDict and array', () => {
    expect(decode(p4(global('builtins', 'slice'), Op.BININT1, 1, Op.NONE, Op.BININT1, 2, Op.TUPLE3, Op.REDUCE))).toStrictEqual(new Slice(1, null, 2));
    const ns = p4(global('multiprocessing.managers', 'Namespace'), Op.EMPTY_TUPLE, Op.NEWOBJ, Op.EMPTY_DICT, str('a'), Op.BININT1, 1, Op.SETITEM, Op.BUILD);
    expect(decode(ns)).toStrictEqual({ a: 1 });
    const val = p4(global('multiprocessing.managers', 'Value'), Op.EMPTY_TUPLE, Op.NEWOBJ, Op.EMPTY_DICT, Op.MARK, str('_typecode'), str('i'), str('_value'), Op.BININT1, 5, Op.SETITEMS, Op.BUILD);
    expect(decode(val)).toStrictEqual({ typecode: 'i', value: 5 });
    expect(decode(p4(global('collections', 'OrderedDict'), Op.EMPTY_TUPLE, Op.REDUCE, str('a'), Op.BININT1, 1, Op.SETITEM))).toStrictEqual({ a: 1 });
    const arr = p4(global('array', '_array_reconstructor'), Op.MARK, global('array', 'array'), str('i'), Op.BININT1, 8, Op.SHORT_BINBYTES, 8, 1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, Op.TUPLE, Op.REDUCE);
    expect(decode(arr)).toStrictEqual([1, -2]);
    const arr2 = p4(global('array', 'array'), str('d'), Op.SHORT_BINBYTES, 8, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, Op.TUPLE2, Op.REDUCE);
    expect(decode(arr2)).toStrictEqual([1.5]);
  });

  it('maps exception classes to PythonError, named or generic', () => {
    const empty = decode(p4(global('_queue', 'Empty'), Op.EMPTY_TUPLE, Op.REDUCE));
    expect(empty).toBeInstanceOf(Empty);
    const os = decode(p4(global('builtins', 'FileNotFoundError'), Op.BININT1, 2, str('nope'), Op.TUPLE2, Op.REDUCE)) as PythonError;
    expect(os).toBeInstanceOf(PythonError);
    expect(os.pyType).toBe('builtins.FileNotFoundError');
    expect(os.args).toEqual([2, 'nope']);
    // BaseException.__reduce__ adds __dict__ as BUILD state: accepted and ignored.
    const withState = decode(p4(global('builtins', 'ImportError'), str('x'), Op.TUPLE1, Op.REDUCE, Op.EMPTY_DICT, str('name'), str('m'), Op.SETITEM, Op.BUILD));
    expect((withState as PythonError).args).toEqual(['x']);
  });

  it('reads protocol 0 and 1 pickles', () => {
    expect(decode(Buffer.from('(lp0\nI1\na(I2\nI3\ntp1\na(dp2\nVa\np3\nNsa.', 'latin1'))).toStrictEqual([1, tuple<unknown>(2, 3), { a: null }]);
    const p0 = Buffer.from(
      '(dp0\nVk\np1\n(lp2\nF1.5\naV\xe9\\u20ac\\U0001f600\np3\nac_codecs\nencode\np4\n(V\\u0000\np5\nVlatin1\np6\ntp7\nRp8\naL1180591620717411303424L\naL-1180591620717411303424L\nas.',
      'latin1',
    );
    const expected = { k: [1.5, 'é€😀', Buffer.from([0]), 2n ** 70n, -(2n ** 70n)] };
    expect(decode(p0)).toStrictEqual(expected);
    const p1 = hex(
      '7d710058010000006b71015d710228473ff80000000000005809000000c3a9e282acf09f98807103635f636f646563730a656e636f64650a710428580100000000710558060000006c6174696e3171067471075271084c313138303539313632303731373431313330333432344c0a4c2d313138303539313632303731373431313330333432344c0a65732e',
    );
    expect(decode(p1)).toStrictEqual(expected);
    expect(decode(Buffer.from("S'a\\'b\\n'\n.", 'latin1'))).toBe("a'b\n");
    expect(decode(Buffer.from('I01\n.', 'latin1'))).toBe(true);
    expect(decode(Buffer.from('Finf\n.', 'latin1'))).toBe(Infinity);
    expect(decode(Buffer.from('V\\\\u0041\n.', 'latin1'))).toBe('\\\\u0041');
  });

  it('reads str with lone surrogates (surrogatepass) and rejects invalid UTF-8', () => {
    expect(decode(p4(Op.SHORT_BINUNICODE, 3, 0xed, 0xa0, 0x80))).toBe('\ud800');
    expect(codecError(p4(Op.SHORT_BINUNICODE, 2, 0xc3, 0x28)).message).toMatch(/UTF-8/);
  });
});

describe('pickle decode: allow-list', () => {
  const call = (module: string, name: string) => p4(global(module, name), str('id'), Op.TUPLE1, Op.REDUCE);

  it.each([
    ['os', 'system'],
    ['builtins', 'eval'],
    ['builtins', 'getattr'],
    ['__main__', 'Anything'],
    ['subprocess', 'Popen'],
    ['posix', 'system'],
  ])('refuses %s.%s by name (STACK_GLOBAL and GLOBAL)', (module, name) => {
    const err = forbidden(call(module, name));
    expect(err.module).toBe(module);
    expect(err.qualname).toBe(name);
    expect(err.message).toContain(`${module}.${name}`);
    const viaGlobal = forbidden(Buffer.from(`c${module}\n${name}\n(S'id'\ntR.`, 'latin1'));
    expect(viaGlobal.qualname).toBe(name);
  });

  it('accepts a user proxy class only as RebuildProxy’s first argument', () => {
    const token = [global('multiprocessing.managers', 'Token'), Op.EMPTY_TUPLE, Op.NEWOBJ, str('Q'), str('/s'), str('1'), Op.TUPLE3, Op.BUILD];
    const rebuild = p4(global('multiprocessing.managers', 'RebuildProxy'), Op.MARK, global('__main__', 'ResultQueueProxy'), token, str('pickle'), Op.EMPTY_DICT, Op.TUPLE, Op.REDUCE);
    const ref = decode(rebuild) as ObjectRef;
    expect(ref.proxytype).toBe('__main__.ResultQueueProxy');
    // As a value, as a callable, or in any other argument position it is refused by name.
    expect(forbidden(p4(global('__main__', 'ResultQueueProxy'))).qualname).toBe('ResultQueueProxy');
    expect(forbidden(p4(Op.EMPTY_LIST, global('__main__', 'ResultQueueProxy'), Op.APPEND)).qualname).toBe('ResultQueueProxy');
    expect(forbidden(p4(global('__main__', 'ResultQueueProxy'), Op.EMPTY_TUPLE, Op.REDUCE)).qualname).toBe('ResultQueueProxy');
    expect(forbidden(p4(global('builtins', 'slice'), global('__main__', 'XProxy'), Op.TUPLE1, Op.REDUCE)).qualname).toBe('XProxy');
    expect(forbidden(p4(global('multiprocessing.managers', 'ListProxy'), Op.TUPLE1)).qualname).toBe('ListProxy');
    // Not a proxy-looking name: refused at once.
    expect(forbidden(p4(global('__main__', 'Result'))).qualname).toBe('Result');
  });

  it('refuses copyreg._reconstructor for classes off the list', () => {
    const p = p4(global('copyreg', '_reconstructor'), global('__main__', 'EvilProxy'), global('builtins', 'object'), Op.NONE, Op.TUPLE3, Op.REDUCE);
    expect(forbidden(p).qualname).toBe('EvilProxy');
    expect(forbidden(p4(global('builtins', 'object'))).qualname).toBe('object');
  });

  it('maps Python 2 module names only for protocol < 3', () => {
    expect(decode(Buffer.from("c__builtin__\nset\n((lI1\natR.", 'latin1'))).toStrictEqual(new Set([1]));
    expect(forbidden(bytes(Op.PROTO, 3, global('__builtin__', 'set'), Op.EMPTY_TUPLE, Op.REDUCE, Op.STOP)).module).toBe('__builtin__');
  });

  it('refuses persistent ids, extension codes and out-of-band buffers', () => {
    expect(codecError(p4(str('x'), Op.BINPERSID)).message).toMatch(/persistent/);
    expect(codecError(p4(Op.EXT1, 1)).message).toMatch(/extension/);
    expect(codecError(bytes(Op.PROTO, 5, Op.NEXT_BUFFER, Op.STOP)).message).toMatch(/out-of-band/);
  });
});

describe('pickle decode: malformed input', () => {
  it.each([
    ['truncated argument', p4(Op.BININT, 1, 2).subarray(0, 5), /truncated.*offset 2/],
    ['no STOP', bytes(Op.PROTO, 4, Op.NONE), /without STOP.*offset 3/],
    ['unknown opcode', p4(0xff), /unknown opcode 0xff.*offset 2/],
    ['stack underflow', p4(Op.APPEND), /underflow.*offset 2/],
    ['underflow past a mark', p4(Op.NONE, Op.MARK, Op.TUPLE1), /underflow.*nothing above the MARK.*offset 4/],
    ['missing MARK', p4(Op.NONE, Op.TUPLE), /no MARK.*offset 3/],
    ['unknown memo key', p4(Op.BINGET, 3), /memo key 3 not found.*offset 2/],
    ['bad protocol', bytes(Op.PROTO, 9, Op.NONE, Op.STOP), /protocol 9.*offset 0/],
    ['values left on the stack', p4(Op.NONE, Op.NONE), /2 values on the stack/],
    ['open mark at STOP', p4(Op.MARK, Op.NONE), /MARK/],
    ['bytes after STOP', bytes(p4(Op.NONE), 0), /1 bytes after STOP/],
    ['empty input', bytes(), /without STOP.*offset 0/],
    ['BUILD on a list', p4(Op.EMPTY_LIST, Op.NONE, Op.BUILD), /cannot BUILD a list/],
    ['append to a tuple', p4(Op.EMPTY_TUPLE, Op.NONE, Op.APPEND), /cannot append to a tuple/],
    ['Token used before BUILD', p4(global('multiprocessing.managers', 'Token'), Op.EMPTY_TUPLE, Op.NEWOBJ), /before BUILD/],
    ['bad Token state', p4(global('multiprocessing.managers', 'Token'), Op.EMPTY_TUPLE, Op.NEWOBJ, Op.NONE, Op.BUILD), /Token state/],
    ['REDUCE on a str', p4(str('a'), Op.EMPTY_TUPLE, Op.REDUCE), /allow-listed global/],
    ['FRAME longer than the input', p4(Op.FRAME, 0xff, 0, 0, 0, 0, 0, 0, 0, Op.NONE), /exceeds/],
  ])('%s throws CodecError naming the offset', (_name, input, pattern) => {
    expect(codecError(input).message).toMatch(pattern);
  });

  it('refuses a 4 GiB BINBYTES8 on a tiny frame without allocating', () => {
    const before = process.memoryUsage().arrayBuffers;
    expect(codecError(p4(Op.BINBYTES8, 0, 0, 0, 0, 1, 0, 0, 0, 1, 2, 3)).message).toMatch(/length 4294967296 exceeds/);
    expect(codecError(p4(Op.BINUNICODE, 0xff, 0xff, 0xff, 0xff)).message).toMatch(/length 4294967295 exceeds/);
    expect(codecError(p4(Op.LONG4, 0xff, 0xff, 0xff, 0x7f)).message).toMatch(/exceeds/);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('stops 100 000 MARKs at maxDepth without overflowing the stack', () => {
    const input = Buffer.alloc(100_002, Op.MARK);
    input[0] = Op.PROTO;
    input[1] = 4;
    expect(codecError(input).message).toMatch(/maxDepth \(512\) open MARKs/);
  });

  it('stops 100 000 nested EMPTY_LISTs at maxDepth', () => {
    const n = 100_000;
    const input = bytes(Op.PROTO, 4, new Uint8Array(n).fill(Op.EMPTY_LIST), new Uint8Array(n - 1).fill(Op.APPEND), Op.STOP);
    expect(codecError(input).message).toMatch(/nesting deeper than maxDepth/);
    // 512 levels are fine.
    const ok = bytes(Op.PROTO, 4, new Uint8Array(512).fill(Op.EMPTY_LIST), new Uint8Array(511).fill(Op.APPEND), Op.STOP);
    expect(Array.isArray(decode(ok))).toBe(true);
  });

  it('measures again when a container grows deeper after it was placed (memo trick)', () => {
    // a = []; b = []; a.append(b); then through the memo: b.append(c), c.append(d), ... each inserted
    // after its parent was already placed, so insertion-time depths alone would be stale.
    const codec = new PickleCodec({ maxDepth: 20 });
    const parts: number[] = [Op.EMPTY_LIST, Op.MEMOIZE]; // memo 0 = root
    let prev = 0;
    for (let i = 1; i <= 30; i++) {
      // new list, memoize as i, then push memo[prev] and the new one, append new into prev, pop.
      parts.push(Op.EMPTY_LIST, Op.MEMOIZE, Op.POP, Op.BINGET, prev, Op.BINGET, i, Op.APPEND, Op.POP);
      prev = i;
    }
    const input = p4(parts);
    expect(() => pickle.decode(input)).not.toThrow();
    expect(codecError(input, codec).message).toMatch(/nesting deeper than maxDepth \(20\)/);
  });

  it('enforces maxItems and maxMemo', () => {
    const small = new PickleCodec({ maxItems: 10, maxMemo: 3 });
    expect(codecError(p4(Op.EMPTY_LIST, Op.MARK, new Array(20).fill(Op.NONE), Op.APPENDS), small).message).toMatch(/maxItems/);
    expect(codecError(p4(Op.NONE, Op.MEMOIZE, Op.MEMOIZE, Op.MEMOIZE, Op.MEMOIZE), small).message).toMatch(/maxMemo/);
    expect(() => new PickleCodec({ maxDepth: 0 })).toThrow(/maxDepth/);
  });

  it('refuses a non-str key arriving after a self-containing dict became a plain object', () => {
    expect(codecError(p4(Op.EMPTY_DICT, Op.MEMOIZE, Op.BININT1, 1, Op.BINGET, 0, Op.SETITEM)).message).toMatch(/only str keys/);
    const ok = decode(p4(Op.EMPTY_DICT, Op.MEMOIZE, str('me'), Op.BINGET, 0, Op.SETITEM)) as Record<string, unknown>;
    expect(ok.me).toBe(ok);
  });
});

describe('isPickleFrame', () => {
  it('recognises protocol 2..5 pickles', () => {
    expect(isPickleFrame(hex(VECTORS.returnNone))).toBe(true);
    expect(isPickleFrame(bytes(Op.PROTO, 2, Op.NONE, Op.STOP))).toBe(true);
    expect(isPickleFrame(bytes(Op.PROTO, 5, Op.NONE, Op.STOP))).toBe(true);
    expect(isPickleFrame(bytes(Op.PROTO, 1, Op.NONE, Op.STOP))).toBe(false);
    expect(isPickleFrame(bytes(Op.PROTO, 6, Op.NONE, Op.STOP))).toBe(false);
    expect(isPickleFrame(bytes(Op.PROTO, 4, Op.NONE))).toBe(false);
    expect(isPickleFrame(bytes(0x93, 0xa1))).toBe(false);
    expect(isPickleFrame(new Uint8Array(0))).toBe(false);
  });
});
