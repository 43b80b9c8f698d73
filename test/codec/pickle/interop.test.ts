/**
 * Real CPython on both sides of the codec: Python pickles with protocols 0-5 and we decode; we encode and
 * Python's own `pickle` loads it and prints `repr`.
 */
import { describe, it, expect } from 'vitest';
import { Buffer } from 'node:buffer';
import { pickle } from '../../../src/codec/pickle/index.js';
import { Slice, tuple } from '../../../src/codec/values.js';
import { ObjectRef } from '../../../src/codec/ref.js';
import { Token } from '../../../src/codec/token.js';
import { BrokenBarrierError, Empty, KeyError, PythonError } from '../../../src/python-errors.js';
import { pythonVersions, runPython, type PythonVersion } from '../../support/python.js';

async function python(py: PythonVersion, code: string, args: string[] = []): Promise<string[]> {
  const run = runPython(py, code, args);
  const { code: exitCode, stdout, stderr } = await run.exit(60_000);
  if (exitCode !== 0) throw new Error(`python exited with ${String(exitCode)}:\n${stderr}`);
  return stdout.split('\n').filter((l) => l.length > 0);
}

// ---------------------------------------------------------------------------------------------------
// Python → TS

const PY_VALUES = String.raw`
import pickle, queue, threading, sys, collections
from multiprocessing.managers import Token, RebuildProxy, AutoProxy, ListProxy, Namespace, Value

class AutoRef:
    def __reduce__(self):
        return (RebuildProxy, (AutoProxy, Token('Queue', ('127.0.0.1', 50000), '7f01'), 'pickle',
                               {'exposed': ('get', 'put', 'qsize')}))

class ListRef:
    def __reduce__(self):
        return (RebuildProxy, (ListProxy, Token('list', '/tmp/m.sock', '7f02'), 'pickle', {}))

shared = [1, 2]
cyclic = []
cyclic.append(cyclic)
values = {
    'ints': [0, 1, -1, 255, 256, 65535, 65536, -2**31, 2**31 - 1, 2**31, 2**53 - 1, -(2**53 - 1), 2**53, 2**63, 2**70, -2**70],
    'floats': [0.0, -0.0, 1.5, -2.25, 1e300, 5e-324, float('inf'), float('-inf')],
    'unicode': ['', 'a', '\u00e9', '\u20ac', '\U0001f600', 'x' * 300, '\u00ff' * 100, 'a\\b\n\r\x00\x1a', '\ud800'],
    'bytes': [b'', b'\x00\xff', bytes(range(256)) * 2],
    'bytearray': bytearray(b'abc'),
    'empty_bytearray': bytearray(),
    'nested': (1, [2, (3, {'a': [4, 5]})], {'b': (6,)}, {7, 8}, frozenset(['x'])),
    'intkeys': {1: 'a', 2: 'b'},
    'shared': [shared, shared],
    'cyclic': cyclic,
    'token': Token('dict', ('127.0.0.1', 50000), '7f00aa'),
    'token_unix': Token('Queue', '/tmp/m.sock', 'ab'),
    'token_abstract': Token('Queue', b'\x00listener-1', 'cd'),
    'autoproxy': AutoRef(),
    'listproxy': ListRef(),
    'keyerror': KeyError('missing'),
    'empty': queue.Empty(),
    'broken': threading.BrokenBarrierError(),
    'oserror': FileNotFoundError(2, 'nope'),
    'slice': slice(1, None, 2),
    'misc': [True, False, None, (), []],
    'biglist': list(range(2500)),
    'bigdict': {str(i): i for i in range(1500)},
    'ordered': collections.OrderedDict([('z', 1), ('a', 2)]),
    'namespace': Namespace(x=1, y='two'),
    'value': Value('i', 7),
    'reply': ('#RETURN', ('7f583f408c80', ('__contains__', '__iter__', '__iter__'))),
}
names = sys.argv[1:] or list(values)
for proto in range(0, 6):
    for name in names:
        print(proto, name, pickle.dumps(values[name], protocol=proto).hex())
`;

const token = new Token('dict', ['127.0.0.1', 50000], '7f00aa');
const EXPECTED: Record<string, unknown> = {
  ints: [0, 1, -1, 255, 256, 65535, 65536, -(2 ** 31), 2 ** 31 - 1, 2 ** 31, 2 ** 53 - 1, -(2 ** 53 - 1), 2n ** 53n, 2n ** 63n, 2n ** 70n, -(2n ** 70n)],
  floats: [0, -0, 1.5, -2.25, 1e300, 5e-324, Infinity, -Infinity],
  unicode: ['', 'a', 'é', '€', '😀', 'x'.repeat(300), 'ÿ'.repeat(100), 'a\\b\n\r\0\x1a', '\ud800'],
  bytes: [Buffer.alloc(0), Buffer.from([0, 255]), Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from(Array.from({ length: 256 }, (_, i) => i))])],
  bytearray: new Uint8Array([0x61, 0x62, 0x63]),
  empty_bytearray: new Uint8Array(0),
  nested: tuple<unknown>(1, [2, tuple<unknown>(3, { a: [4, 5] })], { b: tuple<unknown>(6) }, new Set([7, 8]), new Set(['x'])),
  intkeys: new Map([
    [1, 'a'],
    [2, 'b'],
  ]),
  token,
  token_unix: new Token('Queue', '/tmp/m.sock', 'ab'),
  token_abstract: new Token('Queue', '\0listener-1', 'cd'),
  slice: new Slice(1, null, 2),
  misc: [true, false, null, tuple<unknown>(), []],
  biglist: Array.from({ length: 2500 }, (_, i) => i),
  bigdict: Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [String(i), i])),
  ordered: { z: 1, a: 2 },
  namespace: { x: 1, y: 'two' },
  value: { typecode: 'i', value: 7 },
  reply: tuple<unknown>('#RETURN', tuple<unknown>('7f583f408c80', tuple<unknown>('__contains__', '__iter__', '__iter__'))),
};

function checkDecoded(name: string, v: unknown): void {
  if (name in EXPECTED) {
    expect(v, name).toStrictEqual(EXPECTED[name]);
    return;
  }
  switch (name) {
    case 'shared': {
      const [a, b] = v as unknown[][];
      expect(a).toStrictEqual([1, 2]);
      expect(a).toBe(b);
      return;
    }
    case 'cyclic':
      expect((v as unknown[])[0]).toBe(v);
      return;
    case 'autoproxy': {
      const ref = v as ObjectRef;
      expect(ref).toBeInstanceOf(ObjectRef);
      expect(ref.proxytype).toBe('AutoProxy');
      expect(ref.exposed).toEqual(['get', 'put', 'qsize']);
      expect(ref.token).toStrictEqual(new Token('Queue', ['127.0.0.1', 50000], '7f01'));
      return;
    }
    case 'listproxy': {
      const ref = v as ObjectRef;
      expect(ref.proxytype).toBe('ListProxy');
      expect(ref.exposed).toBeNull();
      expect(ref.token.address).toBe('/tmp/m.sock');
      return;
    }
    case 'keyerror':
      expect(v).toBeInstanceOf(KeyError);
      expect((v as PythonError).args).toEqual(['missing']);
      return;
    case 'empty':
      expect(v).toBeInstanceOf(Empty);
      return;
    case 'broken':
      expect(v).toBeInstanceOf(BrokenBarrierError);
      return;
    case 'oserror':
      expect((v as PythonError).args).toEqual([2, 'nope']);
      // Protocol 0-2 write FileNotFoundError as exceptions.OSError for Python 2 readers.
      expect(['builtins.FileNotFoundError', 'builtins.OSError']).toContain((v as PythonError).pyType);
      return;
    default:
      throw new Error(`no expectation for ${name}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// TS → Python

/** Loads each hex argument; RebuildProxy is replaced by a function that returns its arguments. */
const PY_LOAD = String.raw`
import pickle, io, sys
import multiprocessing.managers as m

def rebuild(func, token, serializer, kwds):
    return ('RebuildProxy', func.__name__, token, serializer, kwds)

class Loader(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ('multiprocessing.managers', 'RebuildProxy'):
            return rebuild
        return super().find_class(module, name)

for h in sys.argv[1:]:
    data = bytes.fromhex(h)
    obj = Loader(io.BytesIO(data)).load()
    same = pickle.dumps(obj, protocol=4) == data
    print(repr(obj) + '\t' + ('same' if same else 'differs'))
`;

const deepList: unknown[] = [];
deepList.push(deepList);

const TO_PYTHON: Array<[label: string, value: unknown, repr: string, identical?: boolean]> = [
  ['None', null, 'None', true],
  ['bools', [true, false], '[True, False]', true],
  ['ints', [1, 300, 70000, -5, 2 ** 40, 2 ** 53 - 1, -(2 ** 53 - 1)], '[1, 300, 70000, -5, 1099511627776, 9007199254740991, -9007199254740991]', true],
  ['bigints', [5n, 2n ** 70n, -(2n ** 70n), 2n ** 64n], '[5, 1180591620717411303424, -1180591620717411303424, 18446744073709551616]', true],
  ['floats', [1.5, -0, 1e300, Infinity, -Infinity, NaN, 2 ** 60], '[1.5, -0.0, 1e+300, inf, -inf, nan, 1.152921504606847e+18]'],
  ['unicode', ['é€😀', 'x'.repeat(300)], `['é€😀', '${'x'.repeat(300)}']`, true],
  ['lone surrogate', '\ud800', "'\\ud800'", true],
  ['bytes', Buffer.from([0, 255, 0x41]), "b'\\x00\\xffA'", true],
  ['bytearray', new Uint8Array([1, 2]), "bytearray(b'\\x01\\x02')", true],
  ['tuples', tuple<unknown>(tuple<unknown>(), tuple<unknown>(1), tuple<unknown>(1, 'a'), tuple<unknown>(1, 2, 3, 4)), "((), (1,), (1, 'a'), (1, 2, 3, 4))", true],
  ['dict', { a: 1, b: [2, null] }, "{'a': 1, 'b': [2, None]}", true],
  ['map', new Map<unknown, unknown>([[1, 'a'], [tuple<unknown>(1, 2), 'b']]), "{1: 'a', (1, 2): 'b'}"],
  ['set', new Set([3]), '{3}', true],
  ['big list', Array.from({ length: 2500 }, (_, i) => i), `[${Array.from({ length: 2500 }, (_, i) => i).join(', ')}]`, true],
  ['cyclic list', deepList, '[[...]]', true],
  ['token', token, "Token(typeid='dict', address=('127.0.0.1', 50000), id='7f00aa')", true],
  ['unix token', new Token('Queue', '/tmp/m.sock', 'ab'), "Token(typeid='Queue', address='/tmp/m.sock', id='ab')", true],
  ['abstract token', new Token('Queue', '\0listener-1', 'cd'), "Token(typeid='Queue', address=b'\\x00listener-1', id='cd')", true],
  ['KeyError', new KeyError('missing'), "KeyError('missing')", true],
  ['queue.Empty', new Empty(), 'Empty()', true],
  ['BrokenBarrierError', new BrokenBarrierError(), 'BrokenBarrierError()', true],
  ['Error', new Error('boom'), "Exception('boom')", true],
  ['slice', new Slice(1, null, 2), 'slice(1, None, 2)', true],
  ['request', tuple<unknown>(null, 'create', tuple<unknown>('dict'), {}), "(None, 'create', ('dict',), {})", true],
  [
    'AutoProxy ref',
    new ObjectRef(new Token('Queue', ['127.0.0.1', 5000], 'ab'), ['get', 'put'], 'AutoProxy'),
    "('RebuildProxy', 'AutoProxy', Token(typeid='Queue', address=('127.0.0.1', 5000), id='ab'), 'pickle', {'exposed': ('get', 'put')})",
  ],
  [
    'ListProxy ref',
    new ObjectRef(new Token('list', ['127.0.0.1', 5000], 'cd'), ['append'], 'ListProxy'),
    "('RebuildProxy', 'ListProxy', Token(typeid='list', address=('127.0.0.1', 5000), id='cd'), 'pickle', {})",
  ],
];

describe.each(pythonVersions())('pickle interop with Python $version', (py) => {
  it.skipIf(!py.available)('decodes what Python pickles with protocols 0 to 5', async () => {
    const lines = await python(py, PY_VALUES);
    const names = new Set<string>();
    expect(lines.length).toBeGreaterThan(100);
    for (const line of lines) {
      const [proto, name, hexText] = line.split(' ') as [string, string, string];
      names.add(name);
      let value: unknown;
      try {
        value = pickle.decode(Buffer.from(hexText, 'hex'));
      } catch (err) {
        throw new Error(`protocol ${proto} ${name}: ${String(err)}`);
      }
      try {
        checkDecoded(name, value);
      } catch (err) {
        throw new Error(`protocol ${proto} ${name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    expect(names.size).toBe(27);
  });

  it.skipIf(!py.available)('Python loads what we encode', async () => {
    const hexes = TO_PYTHON.map(([, value]) => Buffer.from(pickle.encode(value)).toString('hex'));
    const lines = await python(py, PY_LOAD, hexes);
    expect(lines).toHaveLength(TO_PYTHON.length);
    TO_PYTHON.forEach(([label, , repr, identical], i) => {
      const [got, same] = (lines[i] as string).split('\t');
      expect(got, label).toBe(repr);
      // Where CPython would write the same value identically, our bytes are CPython's bytes.
      if (identical) expect(same, `${label}: CPython re-pickles it to the same bytes`).toBe('same');
    });
  });
});
