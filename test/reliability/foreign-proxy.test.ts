/**
 * Issue #11, defect 4: one client could make other CPython clients import a module of its choice. A
 * value holding `RebuildProxy(<any module>.<Name>Proxy, Token(..., another server's address, ...))` was
 * stored as it came and sent back as it came, and a stock CPython client reading it imported the module
 * while unpickling (shown with `this`, which prints the Zen of Python on import). Now a proxy class a
 * client sends is kept only if it is CPython's own (a bare name) or one a registration on this server
 * names (`pyProxytype`); any other becomes AutoProxy (src/server/server.ts, `#resolveRef`).
 *
 * Real CPython processes, every installed version (test/support/python.ts; a missing one is skipped and
 * says so): a writer stores the hostile value in a dict on our server; a second, stock reader reads it
 * back, first as raw reply bytes (which class does the pickle name?), then as any client would.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { SyncManager } from '../../src/manager/sync-manager.js';
import type { Address } from '../../src/transport/address.js';
import { pythonVersions } from '../support/python.js';
import { PY_PRELUDE, TIMEOUT, addressArg, finish, onCleanup, python } from '../interop/helpers.js';
import { AUTHKEY } from './support.js';

/** The Zen of Python's first line, printed by `import this`. */
const ZEN = 'Beautiful is better than ugly.';

/**
 * The writer: `argv = address, authkey, dict id, bogus address`. Stores under 'evil' a value whose pickle
 * is `RebuildProxy(this.ZenProxy, Token('dict', bogus, 'x'), 'pickle', {})`, and under 'cpython' one with
 * CPython's own `ListProxy` for an object of that other server. A stand-in module named `this` lets
 * pickle write the global by reference without importing the real one here.
 */
const WRITER = `${PY_PRELUDE}
import types
from multiprocessing.managers import SyncManager, RebuildProxy, Token, DictProxy, ListProxy
address, key, did, bogus = addr(sys.argv[1]), sys.argv[2].encode(), sys.argv[3], addr(sys.argv[4])
fake = types.ModuleType('this')
class ZenProxy:
    pass
ZenProxy.__module__ = 'this'
ZenProxy.__qualname__ = 'ZenProxy'
fake.ZenProxy = ZenProxy
sys.modules['this'] = fake

class Evil:
    def __reduce__(self):
        return (RebuildProxy, (ZenProxy, Token('dict', bogus, 'x'), 'pickle', {}))

class Theirs:
    def __reduce__(self):
        return (RebuildProxy, (ListProxy, Token('list', bogus, 'y'), 'pickle', {}))

m = SyncManager(address, authkey=key)
m.connect()
d = DictProxy(Token('dict', address, did), 'pickle', manager=m, authkey=key)
d['evil'] = Evil()
d['cpython'] = Theirs()
out('stored', len(d))
`;

/**
 * The reader, a stock client: `argv = address, authkey, dict id`. Prints one JSON line per key: the
 * proxy classes the raw reply names, what reading it gave, and whether \`this\` was imported.
 */
const READER = `${PY_PRELUDE}
from multiprocessing.managers import SyncManager, Token, DictProxy
address, key, did = addr(sys.argv[1]), sys.argv[2].encode(), sys.argv[3]
m = SyncManager(address, authkey=key)
m.connect()
d = DictProxy(Token('dict', address, did), 'pickle', manager=m, authkey=key)
check(len(d) == 2, 'two entries')
for k in ('evil', 'cpython'):
    conn = d._tls.connection
    conn.send((d._id, '__getitem__', (k,), {}))
    raw = conn.recv_bytes()
    report = {'key': k, 'names': [n for n in ('ZenProxy', 'AutoProxy', 'ListProxy') if n.encode() in raw]}
    try:
        v = d[k]
        report['read'] = type(v).__name__
    except Exception as e:
        report['read'] = 'raised ' + type(e).__name__
    report['this_imported'] = 'this' in sys.modules
    out(json.dumps(report))
`;

/** An address on which nothing listens (a port bound and closed again). */
async function deadAddress(): Promise<Address> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return ['127.0.0.1', port];
}

describe.each(pythonVersions())('foreign proxy classes (issue #11, defect 4), CPython $version', (py) => {
  it.skipIf(!py.available)(
    "a proxy class no registration names is sent back as AutoProxy: a stock reader never imports the writer's module",
    { timeout: TIMEOUT },
    async () => {
      const m = await new SyncManager(['127.0.0.1', 0], { authkey: AUTHKEY }).start();
      onCleanup(() => m.shutdown());
      const d = await m.dict();
      const bogus = await deadAddress();
      expect(await finish(python(py, WRITER, [addressArg(m.address), AUTHKEY, d.token.id, addressArg(bogus)]))).toEqual(['stored 2']);

      const reader = python(py, READER, [addressArg(m.address), AUTHKEY, d.token.id]);
      const { code, stdout, stderr } = await reader.exit();
      expect(stdout).not.toContain(ZEN);
      expect(code, stderr).toBe(0);
      const reports = stdout.split('\n').map((l) => JSON.parse(l) as { key: string; names: string[]; read: string; this_imported: boolean });
      // The hostile class is gone from the wire; reading fails only on connecting to the other server.
      expect(reports[0]).toEqual({ key: 'evil', names: ['AutoProxy'], read: 'raised ConnectionRefusedError', this_imported: false });
      // CPython's own class (a bare name on our side) is kept.
      expect(reports[1]).toEqual({ key: 'cpython', names: ['ListProxy'], read: 'raised ConnectionRefusedError', this_imported: false });
      expect(await d.__len__()).toBe(2); // (and our proxy stays reachable, so the dict lives until here)
    },
  );
});
