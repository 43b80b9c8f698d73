/**
 * Objects (not bytes) across the connection layer with stock CPython, every installed version: a stock
 * `conn.send()` reaches an mpmanager `Listener` with no configuration (the default serializer 'auto'
 * reads pickles and answers in pickle), and an mpmanager `Client` with `serializer: 'pickle'` sends what a
 * stock `conn.recv()` reads. TCP and a Unix socket each way.
 */
import { describe, expect, it } from 'vitest';
import { Client, Listener } from '../../src/connection/index.js';
import { KeyError, PythonError } from '../../src/python-errors.js';
import { Slice, Tuple, tuple } from '../../src/codec/values.js';
import { PICKLE_REDUCE, PythonClass, type PickleReduce } from '../../src/codec/pickle/index.js';
import type { Address } from '../../src/transport/address.js';
import { pythonVersions } from '../support/python.js';
import { AUTHKEY, PY_PRELUDE, TIMEOUT, addressArg, finish, onCleanup, python, socketPath } from './helpers.js';

/** A stock Client sends each value, reads our echo and checks it equals (same type for tuples). */
const PY_SENDER = `${PY_PRELUDE}
from multiprocessing.connection import Client
c = Client(addr(sys.argv[1]), authkey=sys.argv[2].encode())
import ctypes
values = [None, True, 42, -7, 2**70, -1.5, 'héllo ✓', b'\\x00\\xff', bytearray(b'ba'), (1, 'a'), (), [1, [2, (3,)]],
          {'a': 1, 'b': [None]}, {1: 'x', (2, 3): 'y'}, {1, 2}, slice(1, 5, 2), (str, ctypes.c_char_p)]
for v in values:
    c.send(v)
    back = c.recv()
    check(back == v and type(back) is type(v), 'echo of %r came back as %r' % (v, back))
c.send(KeyError('missing'))
e = c.recv()
check(type(e) is KeyError and e.args == ('missing',), repr(e))
c.send('done')
out('ok', len(values))
c.close()
`;

/** A stock Listener prints the repr of every object until 'close'. */
const PY_RECEIVER = `${PY_PRELUDE}
from multiprocessing.connection import Listener
l = Listener(addr(sys.argv[1]), authkey=sys.argv[2].encode())
out(json.dumps(l.address))
c = l.accept()
while True:
    m = c.recv()
    if m == 'close':
        break
    out(repr(m))
c.send(('reply', 2**64, {'k': [1.0]}))
c.close()
l.close()
`;

/** An object that pickles as the Python object `reduce` describes. */
function pickled(reduce: PickleReduce): object {
  return { [PICKLE_REDUCE]: () => reduce };
}

const FAMILIES: ReadonlyArray<[string, () => Address]> = [
  ['tcp', () => ['127.0.0.1', 0]],
  ['unix', socketPath],
];

describe.each(pythonVersions())('CPython $version', (py) => {
  describe.each(FAMILIES)('over %s', (_family, fresh) => {
    it.skipIf(!py.available)("a stock conn.send() reaches our Listener (serializer 'auto') and reads our pickled echo", { timeout: TIMEOUT }, async () => {
      const listener = await Listener.listen(fresh(), { authkey: AUTHKEY });
      onCleanup(() => listener.close());
      const run = python(py, PY_SENDER, [addressArg(listener.address), AUTHKEY]);
      const conn = await listener.accept();
      const seen: unknown[] = [];
      for (;;) {
        const msg = await conn.recv();
        if (msg === 'done') break;
        seen.push(msg);
        conn.send(msg);
      }
      conn.close();
      expect(await finish(run)).toEqual(['ok 17']);
      // What JavaScript saw: Python's types mapped as the codec documents.
      expect(seen.slice(0, 6)).toEqual([null, true, 42, -7, 2n ** 70n, -1.5]);
      expect(seen[6]).toBe('héllo ✓');
      expect(Buffer.isBuffer(seen[7])).toBe(true);
      expect(seen[8]).toBeInstanceOf(Uint8Array);
      expect(Buffer.isBuffer(seen[8])).toBe(false);
      expect(seen[9]).toBeInstanceOf(Tuple);
      expect(seen[12]).toEqual({ a: 1, b: [null] });
      expect(seen[13]).toBeInstanceOf(Map);
      expect(seen[14]).toEqual(new Set([1, 2]));
      expect(seen[15]).toEqual(new Slice(1, 5, 2));
      // Classes as values (a manager Value's typecode): names only, written back as the same globals.
      expect(seen[16]).toEqual(tuple(new PythonClass('builtins', 'str'), new PythonClass('ctypes', 'c_char_p')));
      expect(seen[17]).toBeInstanceOf(KeyError);
    });

    it.skipIf(!py.available)("our Client with serializer 'pickle' sends what a stock conn.recv() reads", { timeout: TIMEOUT }, async () => {
      const run = python(py, PY_RECEIVER, [addressArg(fresh()), AUTHKEY]);
      const bound = JSON.parse(await run.nextLine()) as Address;
      const conn = await Client(bound, { authkey: AUTHKEY, serializer: 'pickle' });
      const values: unknown[] = [
        null,
        false,
        2 ** 40,
        12345678901234567890n,
        0.25,
        'naïve',
        Buffer.from([1, 2]),
        new Uint8Array([9]),
        tuple<unknown>(1, 'two'),
        [1, tuple()],
        { a: 1, nested: { b: null } },
        new Map<unknown, unknown>([[1, 'one'], [tuple(2, 3), 'pair']]),
        new Set(['s']),
        new KeyError('k'),
        new PythonError('_queue.Empty'),
        // Objects that say how they pickle: what a '#GETVALUE' reply carries for Value, Array, Namespace.
        pickled({ global: 'multiprocessing.managers.Value', newobj: true, state: { _typecode: 'i', _value: 7 } }),
        pickled({ global: 'array.array', args: ['d', [1.5, 2]] }),
        pickled({ global: 'multiprocessing.managers.Namespace', newobj: true, state: { name: 'Bob' } }),
        new PythonClass('ctypes', 'c_int'),
      ];
      for (const v of values) conn.send(v);
      conn.send('close');
      expect(await conn.recv()).toEqual(tuple<unknown>('reply', 2n ** 64n, { k: [1] }));
      conn.close();
      expect(await finish(run)).toEqual([
        'None',
        'False',
        '1099511627776',
        '12345678901234567890',
        '0.25',
        "'naïve'",
        "b'\\x01\\x02'",
        "bytearray(b'\\t')",
        "(1, 'two')",
        '[1, ()]',
        "{'a': 1, 'nested': {'b': None}}",
        "{1: 'one', (2, 3): 'pair'}",
        "{'s'}",
        "KeyError('k')",
        'Empty()',
        "Value('i', 7)",
        "array('d', [1.5, 2.0])",
        "Namespace(name='Bob')",
        "<class 'ctypes.c_int'>",
      ]);
    });
  });
});
