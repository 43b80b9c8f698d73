/**
 * A stock CPython `BaseManager` client against our server, every installed version: a class and a plain
 * function registered in TypeScript, called with positional and keyword arguments (the constructor too);
 * Python values as JS referents receive them (tuple, dict with str keys and with other keys, big ints);
 * `KeyError` caught by class, `RemoteError` for a fault in the server; `print(proxy)` and `_getvalue()`;
 * the reference client's `NamespaceProxy` subclass (`ResultQueueProxy.set_channel`); a wrong authkey;
 * and the same over a Unix socket.
 */
import { describe, expect, it } from 'vitest';
import { BaseManager } from '../../src/manager/base-manager.js';
import { KeyError } from '../../src/python-errors.js';
import { Tuple } from '../../src/codec/values.js';
import type { Address } from '../../src/transport/address.js';
import { pythonVersions } from '../support/python.js';
import { AUTHKEY, PY_PRELUDE, TIMEOUT, addressArg, finish, onCleanup, python, socketPath } from './helpers.js';

/** What a JS referent received, by kind. */
function kind(v: unknown): string {
  if (v === null) return 'null';
  if (v instanceof Tuple) return `Tuple(${v.map(kind).join(',')})`;
  if (Array.isArray(v)) return `Array(${v.map(kind).join(',')})`;
  if (v instanceof Map) return `Map(${[...v.keys()].map(kind).join(',')})`;
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) return `object(${Object.keys(v).join(',')})`;
  return typeof v;
}

class Accumulator {
  total: number;
  readonly scale: number;
  constructor(start = 0, scale = 1) {
    this.total = start;
    this.scale = scale;
  }
  add(a: number, b = 0, times = 1): number {
    this.total += (a + b) * times * this.scale;
    return this.total;
  }
  lookup(key: string): never {
    throw new KeyError(key);
  }
  crash(): never {
    throw new Error('the referent failed');
  }
  kinds(...values: unknown[]): string[] {
    return values.map(kind);
  }
  /** A big int arrives as bigint and goes back as int. */
  double(n: bigint | number): bigint | number {
    return typeof n === 'bigint' ? n * 2n : n * 2;
  }
  _hidden(): string {
    return 'not exposed';
  }
}

/** The reference program's `SetResultQueue`, as the queue-channels server registers it. */
class Channels {
  readonly channels: string[] = [];
  set_channel(channelId: string): Record<string, unknown> {
    if (this.channels.includes(channelId)) return { result: false, message: `[Error] Please give me another channel id, not ${channelId}` };
    this.channels.push(channelId);
    return { result: true, message: `[Notice] Successfully channel ${channelId} added` };
  }
}

const PY_CLIENT = `${PY_PRELUDE}
from multiprocessing.managers import BaseManager, NamespaceProxy, RemoteError

class ResultQueueProxy(NamespaceProxy):
    _exposed_ = ('__getattribute__', '__setattr__', '__delattr__', 'set_channel')
    def set_channel(self, channel_id):
        callmethod = object.__getattribute__(self, '_callmethod')
        return callmethod('set_channel', (channel_id,))

class MyManager(BaseManager):
    pass
MyManager.register('Accumulator')
MyManager.register('SetResultQueue', proxytype=ResultQueueProxy)
MyManager.register('make_pair')

m = MyManager(addr(sys.argv[1]), authkey=sys.argv[2].encode())
m.connect()
acc = m.Accumulator(10, scale=2)
out('add', acc.add(1), acc.add(1, 2), acc.add(1, b=2, times=3), acc.add(a=1))
try:
    acc.lookup('missing')
    out('no error')
except KeyError as e:
    out('KeyError', e.args)
try:
    acc.crash()
except RemoteError as e:
    out('RemoteError', 'the referent failed' in str(e))
try:
    acc._callmethod('_hidden')
except RemoteError as e:
    out('RemoteError for _hidden', "'_hidden'" in str(e))
out('kinds', acc.kinds((1, 'a'), {'k': 1}, {1: 'x'}, [(2,)], None))
out('double', acc.double(2**80) == 2**81, acc.double(21))
out('str', str(acc).startswith('<'), 'failed' not in str(acc))
pair = m.make_pair('left', right=(1, 2))
out('pair', pair._getvalue())
out('print', pair)

channels = m.SetResultQueue()
out('set_channel', channels.set_channel('ch-1'))
out('again', channels.set_channel('ch-1')['result'])
out('attr', channels.channels)
channels.note = 'hi'
out('setattr', channels.note)
del channels.note
try:
    channels.note
except AttributeError:
    out('AttributeError after del')
out('done')
`;

const PY_WRONG_KEY = `${PY_PRELUDE}
from multiprocessing import AuthenticationError
from multiprocessing.managers import BaseManager
m = BaseManager(addr(sys.argv[1]), authkey=b'not-the-key')
try:
    m.connect()
    out('connected')
except AuthenticationError as e:
    out('AuthenticationError', e)
`;

/**
 * A client whose handshake ends in the same write as its first request, as happens on a busy machine
 * (the server then reads both frames in one chunk), with a request over the 256-byte handshake cap.
 */
const PY_COALESCED = `${PY_PRELUDE}
from multiprocessing import connection
from multiprocessing.managers import BaseManager
original = connection.Connection._send
held = {}
def send(self, buf, *rest):
    data = bytes(buf)
    if data == b'\\x00\\x00\\x00\\x09#WELCOME#':
        held[id(self)] = data
        return
    original(self, held.pop(id(self), b'') + data, *rest)
connection.Connection._send = send
class MyManager(BaseManager):
    pass
MyManager.register('make_pair')
m = MyManager(addr(sys.argv[1]), authkey=sys.argv[2].encode())
m.connect()
pair = m.make_pair('x' * 400, right=None)
out('created', len(pair._getvalue()['left']))
`;

class InteropManager extends BaseManager {}
InteropManager.register('Accumulator', Accumulator);
InteropManager.register('SetResultQueue', Channels, { exposed: ['__getattribute__', '__setattr__', '__delattr__', 'set_channel'] });
InteropManager.register('make_pair', (left: unknown, right: unknown) => ({ left, right }));

async function serve(address: Address): Promise<Address> {
  const manager = new InteropManager(address, { authkey: AUTHKEY });
  const server = await manager.getServer();
  void server.serveForever();
  onCleanup(() => server.shutdown());
  return server.address;
}

describe.each(pythonVersions())('CPython $version BaseManager client against our server', (py) => {
  it.skipIf(!py.available)('calls TypeScript registrations with positional and keyword arguments, errors by class, a NamespaceProxy subclass', { timeout: TIMEOUT }, async () => {
    const address = await serve(['127.0.0.1', 0]);
    const lines = await finish(python(py, PY_CLIENT, [addressArg(address), AUTHKEY]));
    expect(lines).toEqual([
      // (10 + ...) with scale 2: 10+2, +6, +18, +2
      'add 12 18 36 38',
      "KeyError ('missing',)",
      'RemoteError True',
      'RemoteError for _hidden True',
      "kinds ['Tuple(number,string)', 'object(k)', 'Map(number)', 'Array(Tuple(number))', 'null']",
      'double True 42',
      'str True True',
      "pair {'left': 'left', 'right': (1, 2)}",
      "print {'left': 'left', 'right': (1, 2)}",
      "set_channel {'result': True, 'message': '[Notice] Successfully channel ch-1 added'}",
      'again False',
      "attr ['ch-1']",
      'setattr hi',
      'AttributeError after del',
      'done',
    ]);
  });

  // A stock client writes '#WELCOME#' and its first request back to back: the request must not meet the
  // handshake's 256-byte cap (regression test).
  it.skipIf(!py.available)('a first request over 256 bytes that arrives with the last handshake frame', { timeout: TIMEOUT }, async () => {
    const address = await serve(['127.0.0.1', 0]);
    expect(await finish(python(py, PY_COALESCED, [addressArg(address), AUTHKEY]))).toEqual(['created 400']);
  });

  it.skipIf(!py.available)('over a Unix socket', { timeout: TIMEOUT }, async () => {
    const address = await serve(socketPath());
    const lines = await finish(python(py, PY_CLIENT, [addressArg(address), AUTHKEY]));
    expect(lines[0]).toBe('add 12 18 36 38');
    expect(lines.at(-1)).toBe('done');
  });

  it.skipIf(!py.available)('a wrong authkey raises AuthenticationError in Python', { timeout: TIMEOUT }, async () => {
    const address = await serve(['127.0.0.1', 0]);
    const lines = await finish(python(py, PY_WRONG_KEY, [addressArg(address)]));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^AuthenticationError digest sent was rejected/);
  });
});
