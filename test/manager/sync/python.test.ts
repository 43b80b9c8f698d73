/**
 * Stock CPython clients (`SyncManager(address, authkey).connect()`, every installed version) using the
 * SyncManager types an mpmanager server hosts: each type's Python API and exceptions, keyword
 * arguments, iteration, a Python `get()` that waits for a Node `put`, and a lock left held by a Python
 * process that exits without releasing it.
 */
import { describe, expect, it } from 'vitest';
import { pythonVersions, runPython } from '../../support/python.js';
import { AUTHKEY, startManager, tracked } from './support.js';

const CHECKS = String.raw`
import sys, json, threading
from multiprocessing.managers import SyncManager
host, port = json.loads(sys.argv[1])
m = SyncManager((host, port), authkey=sys.argv[2].encode()); m.connect()
def check(name, fn):
    try: print(name, '->', repr(fn()))
    except Exception as e: print(name, 'raised', type(e).__name__, str(e))
q = m.Queue(); q.put((1, 2)); check('q.get', lambda: q.get(timeout=1))
check('q.get(timeout)', lambda: q.get(timeout=0.01))
b = m.Queue(1); b.put(1); check('q.put_nowait', lambda: b.put_nowait(2))
d = m.dict({'a': 1}); d[1] = 'int'; d[(1, 2)] = 'tuple'
check('str(d)', lambda: str(d)); check('list(d)', lambda: list(d)); check('d.items', d.items)
check('d[zz]', lambda: d['zz']); check('d.pop', lambda: d.pop('a'))
l = m.list([3, 1, 2]); l.sort(reverse=True); check('l[:]', lambda: l[:]); check('l[::-1]', lambda: l[::-1])
l[0:1] = ['x', 'y']; check('list(l)', lambda: list(l)); check('l[9]', lambda: l[9])
lock = m.Lock()
with lock: check('lock.acquire(False)', lambda: lock.acquire(False))
check('lock.release', lock.release)
r = m.RLock(); r.acquire(); r.acquire(); r.release(); r.release(); check('rlock.release', r.release)
s = m.BoundedSemaphore(1); check('bsem.release', s.release)
sem = m.Semaphore(value=2); check('sem.acquire', lambda: (sem.acquire(), sem.acquire(), sem.acquire(blocking=False)))
ns = m.Namespace(a=1, b='x'); ns.c = 3; check('str(ns)', lambda: str(ns)); del ns.c; check('ns.c', lambda: ns.c)
v = m.Value('i', 5); v.value += 1; check('v', lambda: (v.value, str(v)))
a = m.Array('i', [1, 2, 3]); check('a', lambda: (len(a), a[1], list(a)))
e = m.Event(); check('e.wait', lambda: e.wait(0.01)); e.set(); check('e.wait set', lambda: e.wait(1))
br = m.Barrier(2)
t = threading.Thread(target=lambda: br.wait(5)); t.start()
check('br.wait', lambda: br.wait(5) in (0, 1)); t.join(); check('br attrs', lambda: (br.parties, br.n_waiting, br.broken))
c = m.Condition()
with c: check('c.wait', lambda: c.wait(0.01))
check('c.notify', c.notify)
jq = m.JoinableQueue(); jq.put(1); jq.get(); jq.task_done(); jq.join(); check('jq.task_done', jq.task_done)
print('done')
`;

const EXPECTED = [
  'q.get -> (1, 2)',
  'q.get(timeout) raised Empty ',
  'q.put_nowait raised Full ',
  `str(d) -> "{'a': 1, 1: 'int', (1, 2): 'tuple'}"`,
  "list(d) -> ['a', 1, (1, 2)]",
  "d.items -> [('a', 1), (1, 'int'), ((1, 2), 'tuple')]",
  "d[zz] raised KeyError 'zz'",
  'd.pop -> 1',
  'l[:] -> [3, 2, 1]',
  'l[::-1] -> [1, 2, 3]',
  "list(l) -> ['x', 'y', 2, 1]",
  'l[9] raised IndexError list index out of range',
  'lock.acquire(False) -> False',
  'lock.release raised RuntimeError release unlocked lock',
  'rlock.release raised RuntimeError cannot release un-acquired lock',
  'bsem.release raised ValueError Semaphore released too many times',
  'sem.acquire -> (True, True, False)',
  `str(ns) -> "Namespace(a=1, b='x', c=3)"`,
  "ns.c raised AttributeError 'Namespace' object has no attribute 'c'",
  `v -> (6, "Value('i', 6)")`,
  'a -> (3, 2, [1, 2, 3])',
  'e.wait -> False',
  'e.wait set -> True',
  'br.wait -> True',
  'br attrs -> (2, 0, False)',
  'c.wait -> False',
  'c.notify raised RuntimeError cannot notify on un-acquired lock',
  'jq.task_done raised ValueError task_done() called too many times',
  'done',
];

const HOLD_AND_VANISH = String.raw`
import sys, json, os
from multiprocessing.managers import SyncManager, Token, AcquirerProxy, AutoProxy
host, port = json.loads(sys.argv[1])
key = sys.argv[2].encode()
qid, lockid = sys.argv[3], sys.argv[4]
m = SyncManager((host, port), authkey=key); m.connect()
q = AutoProxy(Token('Queue', (host, port), qid), 'pickle', manager=m, authkey=key)
lock = AcquirerProxy(Token('Lock', (host, port), lockid), 'pickle', manager=m, authkey=key)
print('ready', flush=True)
print('got', q.get(timeout=20), flush=True)
lock.acquire()
print('held', flush=True)
os._exit(0)
`;

describe.each(pythonVersions())('CPython $version client', (py) => {
  it.skipIf(!py.available)('uses every SyncManager type with Python\'s API and exceptions', async () => {
    const m = await startManager();
    const run = runPython(py, CHECKS, [JSON.stringify(m.address), AUTHKEY]);
    const { code, stdout, stderr } = await run.exit(40_000);
    expect(stderr).toBe('');
    expect(stdout.split('\n')).toEqual(EXPECTED);
    expect(code).toBe(0);
  });

  it.skipIf(!py.available)('gets what a Node client puts; a lock it holds when it exits goes to a Node waiter', async () => {
    const m = await startManager();
    const q = await m.Queue<unknown>();
    const lock = await m.Lock();
    const run = runPython(py, HOLD_AND_VANISH, [JSON.stringify(m.address), AUTHKEY, q.token.id, lock.token.id]);
    expect(await run.nextLine(20_000)).toBe('ready');
    await q.put(['from', 'node']);
    expect(await run.nextLine(20_000)).toBe("got ['from', 'node']");
    expect(await run.nextLine(20_000)).toBe('held');
    const waiting = tracked(lock.acquire(true, 20));
    expect((await run.exit(20_000)).code).toBe(0);
    expect(await waiting.promise).toBe(true);
    await lock.release();
  });
});
