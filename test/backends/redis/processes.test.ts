/**
 * Shared objects in Redis, end to end with real processes: `mpmanager serve --redis URL --shared ...`
 * servers (src/cli.ts, each its own Node process) on one redis-server started here, with Node clients in
 * this process and stock CPython clients as child processes.
 *
 * - Two servers serve every shared typeid as one object; a blocked get, join, acquire and Event wait
 *   through one server are woken by the other.
 * - CPython clients (every installed version) on one server and a Node client on the other exchange
 *   tuples, bytes, big ints and nested lists through a queue and a dict, each side getting the other's
 *   values back identical.
 * - A server SIGKILLed while producers and consumers run: every item is received, duplicates only within
 *   the window the backend documents (src/backends/redis/queue.ts: a server dying within one turn after a
 *   get; at most one per get in flight on the killed server).
 * - A lock held through a server that is SIGKILLed: a waiter on the other server gets it once the lease
 *   runs out, never while the holder's server lives.
 * - A reconnecting client carries on through its server's restart with the same shared state, and says so
 *   with 'disconnect' and 'reconnect'.
 * - Redis restarted under running servers: shared objects fail with BackendError (Node) or a RemoteError
 *   naming Redis (Python), in-memory objects keep working, and shared ones work again afterwards.
 * - `mpmanager info` lists each shared object with its size.
 *
 * Servers listen on 127.0.0.1 port 0 and are read from their `listening on` line; every process is killed
 * after each test. Each test has a Redis namespace of its own. No assertion is about durations: where a
 * test waits for something not to happen, it checks the order of events.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SyncManager } from '../../../src/manager/sync-manager.js';
import { registerShared } from '../../../src/manager/shared.js';
import { BackendError, ConnectionLostError, ObjectGoneError } from '../../../src/errors.js';
import { Empty, ValueError } from '../../../src/python-errors.js';
import { Tuple, tuple } from '../../../src/codec/values.js';
import { parseAddress, type Address } from '../../../src/transport/address.js';
import type { ReconnectOptions } from '../../../src/protocol/reconnecting-client.js';
import type { AcquirerProxy } from '../../../proxies/acquirer-proxy.js';
import type { DictProxy } from '../../../proxies/dict-proxy.js';
import type { EventProxy } from '../../../proxies/event-proxy.js';
import type { ListProxy } from '../../../proxies/list-proxy.js';
import type { NamespaceProxy } from '../../../proxies/namespace-proxy.js';
import type { QueueProxy } from '../../../proxies/queue-proxy.js';
import type { SetProxy } from '../../../proxies/set-proxy.js';
import type { ValueProxy } from '../../../proxies/value-proxy.js';
import { killAll, run, type Proc } from '../../fixtures/processes.js';
import { REDIS_SKIP, RedisServer, rawClient, tracked } from '../../fixtures/redis.js';
import { pythonVersions, runPython, type PythonRun, type PythonVersion } from '../../support/python.js';

const AUTHKEY = 'redis-processes';
/** Every shared typeid, under the names the servers are given with --shared. */
const SHARED = {
  jobs: 'Queue',
  jq: 'JoinableQueue',
  results: 'dict',
  items: 'list',
  tags: 'set',
  ns: 'Namespace',
  counter: 'Value',
  guard: 'Lock',
  rguard: 'RLock',
  sem: 'Semaphore',
  bsem: 'BoundedSemaphore',
  flag: 'Event',
} as const;
/** The lease given to servers in the tests where one dies, in ms (what a dead server's claims outlive it by). */
const LEASE_MS = 1000;
/** How long a server gets to print `listening on` (tsx compiles the CLI first). */
const START_MS = 30_000;
/** How long a test waits for something that should happen (not a measurement: a bound on a hang). */
const WAIT_MS = 20_000;

/** A client of the servers: every shared name registered with its SyncManager proxy, no store. */
class SharedClient extends SyncManager {}
for (const [name, typeid] of Object.entries(SHARED)) registerShared(SharedClient, name, typeid);

interface Served {
  readonly proc: Proc;
  /** As printed (`HOST:PORT`). */
  readonly address: string;
  readonly addr: Address;
}

const clients: SyncManager[] = [];
const pythons: PythonRun[] = [];
let namespaces = 0;

/** A Redis namespace of this test's own. */
function freshNamespace(): string {
  return `proc${process.pid}-${++namespaces}`;
}

/** Starts `mpmanager serve` with every SHARED name, kept in `redisUrl` under `namespace`. */
async function serve(redisUrl: string, namespace: string, options: { lease?: number; address?: string } = {}): Promise<Served> {
  const args = ['serve', '--address', options.address ?? '127.0.0.1:0', '--authkey', AUTHKEY, '--redis', redisUrl, '--redis-namespace', namespace];
  if (options.lease !== undefined) args.push('--redis-lease', String(options.lease));
  for (const [name, typeid] of Object.entries(SHARED)) args.push('--shared', `${name}=${typeid}`);
  const proc = run('src/cli.ts', args);
  const address = (await proc.line(/^listening on /, START_MS)).slice('listening on '.length);
  return { proc, address, addr: parseAddress(address) };
}

/** Two servers on the same Redis and namespace. */
function servePair(redisUrl: string, namespace: string, options: { lease?: number } = {}): Promise<[Served, Served]> {
  return Promise.all([serve(redisUrl, namespace, options), serve(redisUrl, namespace, options)]);
}

/** A connected Node client of `server` (shut down after the test). */
async function clientOf(server: Served, reconnect?: ReconnectOptions): Promise<SharedClient> {
  const m = new SharedClient(server.addr, reconnect === undefined ? { authkey: AUTHKEY } : { authkey: AUTHKEY, reconnect });
  clients.push(m);
  await m.connect();
  return m;
}

/** A stock CPython client script (killed after the test if still running). */
function python(version: PythonVersion, code: string, args: string[]): PythonRun {
  const p = runPython(version, code, args);
  pythons.push(p);
  return p;
}

/** Resolves `p`, or rejects after `ms` saying what did not happen. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** How long to let a blocking call reach its server before checking that it is still blocked. */
const SETTLE_MS = 200;

afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((m) => within(m.shutdown(), 5000, 'client shutdown')));
  for (const p of pythons.splice(0)) p.kill();
  killAll();
});

describe.skipIf(REDIS_SKIP !== null)('mpmanager serve processes sharing objects in one redis-server', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start({ tcp: true });
  });
  afterAll(async () => {
    await redis?.dispose();
  });

  it('two servers serve each shared typeid as one object; blocking calls through one are woken through the other', { timeout: 90_000 }, async () => {
    // The TCP URL here (redis://127.0.0.1:PORT); the other tests use the Unix socket path.
    const [a, b] = await servePair(redis.url, freshNamespace());
    const [ma, mb] = await Promise.all([clientOf(a), clientOf(b)]);
    const on = <P>(m: SharedClient, name: keyof typeof SHARED): Promise<P> => m.create<P>(name);

    const checks: Record<keyof typeof SHARED, () => Promise<void>> = {
      jobs: async () => {
        const [qa, qb] = [await on<QueueProxy<unknown>>(ma, 'jobs'), await on<QueueProxy<unknown>>(mb, 'jobs')];
        await qa.put(tuple<unknown>(1, 'one'));
        await qa.put('two');
        expect(await qb.qsize()).toBe(2);
        expect(await qb.get()).toEqual(tuple<unknown>(1, 'one'));
        expect(await qb.get()).toBe('two');
        expect(await qa.empty()).toBe(true);
        // A blocked get through B is woken by a put through A.
        const got = tracked(qb.get(true, WAIT_MS / 1000));
        await sleep(SETTLE_MS);
        expect(got.settled).toBe(false);
        await qa.put('wake');
        expect(await got.promise).toBe('wake');
      },
      jq: async () => {
        const [qa, qb] = [await on<QueueProxy<string>>(ma, 'jq'), await on<QueueProxy<string>>(mb, 'jq')];
        await qa.put('task');
        // join through A waits for task_done through B.
        const joined = tracked(qa.join());
        expect(await qb.get()).toBe('task');
        await sleep(SETTLE_MS);
        expect(joined.settled).toBe(false);
        await qb.task_done();
        await within(joined.promise, WAIT_MS, 'join through A after task_done through B');
      },
      results: async () => {
        const [da, db] = [await on<DictProxy<unknown, unknown>>(ma, 'results'), await on<DictProxy<unknown, unknown>>(mb, 'results')];
        await da.__setitem__('k', [1, 2]);
        await da.__setitem__(tuple(3, 4), 'tuple key');
        expect(await db.__getitem__('k')).toEqual([1, 2]);
        expect(await db.__getitem__(tuple(3, 4))).toBe('tuple key');
        expect(await db.keys()).toEqual(['k', tuple(3, 4)]);
        await db.__delitem__('k');
        expect(await da.__contains__('k')).toBe(false);
      },
      items: async () => {
        const [la, lb] = [await on<ListProxy<string>>(ma, 'items'), await on<ListProxy<string>>(mb, 'items')];
        await la.extend(['x', 'y']);
        await lb.append('z');
        expect(await la.copy()).toEqual(['x', 'y', 'z']);
        expect(await lb.__getitem__(-1)).toBe('z');
      },
      tags: async () => {
        const [sa, sb] = [await on<SetProxy<unknown>>(ma, 'tags'), await on<SetProxy<unknown>>(mb, 'tags')];
        await sa.add('red');
        await sa.add(7);
        expect(await sb.__contains__('red')).toBe(true);
        expect(await sb.__contains__(7)).toBe(true);
        expect(await sb.__len__()).toBe(2);
      },
      ns: async () => {
        const [na, nb] = [await on<NamespaceProxy>(ma, 'ns'), await on<NamespaceProxy>(mb, 'ns')];
        await na.set('answer', 42);
        expect(await nb.get('answer')).toBe(42);
      },
      counter: async () => {
        const [va, vb] = [await on<ValueProxy<number>>(ma, 'counter'), await on<ValueProxy<number>>(mb, 'counter')];
        await va.set(5);
        expect(await vb.get()).toBe(5);
      },
      guard: async () => {
        const [la, lb] = [await on<AcquirerProxy>(ma, 'guard'), await on<AcquirerProxy>(mb, 'guard')];
        expect(await la.acquire()).toBe(true);
        expect(await lb.acquire(false)).toBe(false);
        const waiting = tracked(lb.acquire(true, WAIT_MS / 1000));
        await sleep(SETTLE_MS);
        expect(waiting.settled).toBe(false);
        await la.release();
        expect(await waiting.promise).toBe(true);
        expect(await la.locked()).toBe(true);
        await lb.release();
        expect(await la.locked()).toBe(false);
      },
      rguard: async () => {
        const [la, lb] = [await on<AcquirerProxy>(ma, 'rguard'), await on<AcquirerProxy>(mb, 'rguard')];
        expect(await la.acquire()).toBe(true);
        expect(await la.acquire()).toBe(true); // re-entered by its owner
        expect(await lb.acquire(false)).toBe(false);
        await la.release();
        expect(await lb.acquire(false)).toBe(false); // still held once
        await la.release();
        expect(await lb.acquire(false)).toBe(true);
        await lb.release();
      },
      sem: async () => {
        const [sa, sb] = [await on<AcquirerProxy>(ma, 'sem'), await on<AcquirerProxy>(mb, 'sem')];
        expect(await sa.acquire()).toBe(true);
        expect(await sb.acquire(false)).toBe(false);
        await sb.release(); // a semaphore may be released by anyone
        expect(await sb.acquire(false)).toBe(true);
        await sa.release();
      },
      bsem: async () => {
        const [sa, sb] = [await on<AcquirerProxy>(ma, 'bsem'), await on<AcquirerProxy>(mb, 'bsem')];
        expect(await sa.acquire()).toBe(true);
        expect(await sb.acquire(false)).toBe(false);
        await sb.release();
        // Bounded: one release too many, through either server, is refused.
        await expect(sa.release()).rejects.toBeInstanceOf(ValueError);
      },
      flag: async () => {
        const [ea, eb] = [await on<EventProxy>(ma, 'flag'), await on<EventProxy>(mb, 'flag')];
        expect(await ea.is_set()).toBe(false);
        // An Event wait through A is woken by set through B.
        const waiting = tracked(ea.wait(WAIT_MS / 1000));
        await sleep(SETTLE_MS);
        expect(waiting.settled).toBe(false);
        await eb.set();
        expect(await waiting.promise).toBe(true);
        expect(await ea.is_set()).toBe(true);
        await ea.clear();
        expect(await eb.is_set()).toBe(false);
      },
    };
    for (const [name, check] of Object.entries(checks)) {
      try {
        await check();
      } catch (err) {
        throw new Error(`${name} (${SHARED[name as keyof typeof SHARED]}): ${(err as Error).message}\nA ${a.proc.describe()}\nB ${b.proc.describe()}`, { cause: err });
      }
    }
    // One hosted object on both servers: the same id.
    const [qa, qb] = [await on<QueueProxy>(ma, 'jobs'), await on<QueueProxy>(mb, 'jobs')];
    expect(qa.token.id).toBe(qb.token.id);
  });

  describe('stock CPython clients on one server, a Node client on the other', () => {
    // Python's side: put its values, then, once told, check Node's (type by type) and say so.
    const PY_CLIENT = String.raw`
import sys
from multiprocessing.managers import BaseManager
class M(BaseManager): pass
M.register('jobs'); M.register('results')
m = M((sys.argv[1], int(sys.argv[2])), authkey=sys.argv[3].encode()); m.connect()
jobs = m.jobs(); results = m.results()
for v in [(1, 'a', (2, 3)), b'\x00\x01\xff', 2**70, [1, [2.5, None, '\u00e9'], {'k': (1,)}]]:
    jobs.put(v)
results['from python'] = (2**70, b'\xff\x00', [(1,), 'x'], -1)
print('put', flush=True)
sys.stdin.readline()
got = [jobs.get(timeout=10) for _ in range(3)]
want = [(1, 'x', (2,)), b'\x00\x01\xff', -2**70]
print('queue', got == want and [type(v) for v in got] == [tuple, bytes, int] and type(got[0][2]) is tuple, repr(got), flush=True)
node = results['from node']
want = (b'\x01', 2**70 + 1, ['n', (None,)])
print('dict', node == want and type(node) is tuple and type(node[0]) is bytes and type(node[2][1]) is tuple, repr(node), flush=True)
`;
    for (const py of pythonVersions()) {
      it.skipIf(!py.available)(`Python ${py.version}: tuples, bytes, big ints and nested lists come back identical both ways`, { timeout: 90_000 }, async () => {
        const [a, b] = await servePair(redis.socketPath, freshNamespace());
        const [host, port] = a.addr as [string, number];
        const client = python(py, PY_CLIENT, [host, String(port), AUTHKEY]);
        expect(await client.nextLine(WAIT_MS)).toBe('put');

        const node = await clientOf(b);
        const jobs = await node.create<QueueProxy<unknown>>('jobs');
        const results = await node.create<DictProxy<string, unknown>>('results');
        const got = [await jobs.get(true, 10), await jobs.get(true, 10), await jobs.get(true, 10), await jobs.get(true, 10)];
        expect(got).toEqual([tuple<unknown>(1, 'a', tuple(2, 3)), Buffer.from([0, 1, 255]), 2n ** 70n, [1, [2.5, null, 'é'], { k: tuple(1) }]]);
        expect(got[0]).toBeInstanceOf(Tuple);
        expect((got[0] as unknown[])[2]).toBeInstanceOf(Tuple);
        expect(Buffer.isBuffer(got[1])).toBe(true);
        expect(typeof got[2]).toBe('bigint');
        expect(Array.isArray(got[3]) && !(got[3] instanceof Tuple)).toBe(true);
        const fromPython = await results.__getitem__('from python');
        expect(fromPython).toEqual(tuple<unknown>(2n ** 70n, Buffer.from([255, 0]), [tuple(1), 'x'], -1));
        expect(fromPython).toBeInstanceOf(Tuple);

        await jobs.put(tuple<unknown>(1, 'x', tuple(2)));
        await jobs.put(Buffer.from([0, 1, 255]));
        await jobs.put(-(2n ** 70n));
        await results.__setitem__('from node', tuple<unknown>(Buffer.from([1]), 2n ** 70n + 1n, ['n', tuple(null)]));
        client.child.stdin.write('go\n');
        expect(await client.nextLine(WAIT_MS)).toMatch(/^queue True /);
        expect(await client.nextLine(WAIT_MS)).toMatch(/^dict True /);
        const out = await client.exit(WAIT_MS);
        expect(out.code, out.stderr).toBe(0);
      });
    }
  });

  it('a server SIGKILLed while producers and consumers run through both: no item lost, duplicates only as documented', { timeout: 120_000 }, async () => {
    const ns = freshNamespace();
    const [a, b] = await servePair(redis.url, ns, { lease: LEASE_MS });
    const N = 400;
    /** Producers stay at most this many items ahead of consumers, so they are still producing when A dies. */
    const WINDOW = 30;
    const CONSUMERS_PER_SERVER = 2;
    const reconnect = (to: Served): ReconnectOptions => ({ addresses: [to.addr], initialDelay: 50, maxDelay: 400 });

    const received: number[] = [];
    const seen = new Set<number>();
    /** Items whose put was in flight when a connection dropped, and put again (they may be in the queue twice). */
    const reput = new Set<number>();
    let produced = 0;
    let progressWaiters: Array<() => void> = [];
    const progressed = (): Promise<void> => new Promise((r) => progressWaiters.push(r));
    const notify = (): void => {
      const ws = progressWaiters;
      progressWaiters = [];
      for (const w of ws) w();
    };
    let giveUp = false;
    const giveUpTimer = setTimeout(() => {
      giveUp = true;
      notify();
    }, 60_000);

    const produce = async (m: SharedClient, items: number[]): Promise<void> => {
      const q = await m.create<QueueProxy<number>>('jobs');
      for (const n of items) {
        while (!giveUp && produced - seen.size >= WINDOW) await progressed();
        for (;;) {
          try {
            await q.put(n);
            break;
          } catch (err) {
            if (!(err instanceof ConnectionLostError)) throw err;
            reput.add(n);
          }
        }
        produced++;
      }
    };
    const consume = async (m: SharedClient): Promise<void> => {
      const q = await m.create<QueueProxy<number>>('jobs');
      while (!giveUp && seen.size < N) {
        try {
          const n = await q.get(true, 0.25);
          received.push(n);
          seen.add(n);
          notify();
        } catch (err) {
          // Empty: nothing yet. ConnectionLostError: the get was in flight on the killed server; the item it
          // may have taken is in that server's in-flight hash, and comes back once its lease has expired.
          if (!(err instanceof Empty) && !(err instanceof ConnectionLostError)) throw err;
        }
      }
      notify();
    };

    const producers = [await clientOf(a, reconnect(b)), await clientOf(b)];
    const consumersOnA = await Promise.all(Array.from({ length: CONSUMERS_PER_SERVER }, () => clientOf(a, reconnect(b))));
    const consumersOnB = await Promise.all(Array.from({ length: CONSUMERS_PER_SERVER }, () => clientOf(b)));
    const numbers = Array.from({ length: N }, (_, i) => i);
    const running = Promise.all([
      produce(producers[0] as SharedClient, numbers.filter((n) => n % 2 === 0)),
      produce(producers[1] as SharedClient, numbers.filter((n) => n % 2 === 1)),
      ...[...consumersOnA, ...consumersOnB].map(consume),
    ]);

    // Kill A once a quarter of the items went through: producers and consumers are all busy then.
    while (!giveUp && seen.size < N / 4) await progressed();
    const producedAtKill = produced;
    const killed = a.proc.exit();
    a.proc.child.kill('SIGKILL');
    expect(await killed).toBe(null);
    expect(producedAtKill).toBeLessThan(N); // producers were still at work

    try {
      await running;
    } finally {
      clearTimeout(giveUpTimer);
    }
    expect(giveUp, `consumers saw ${seen.size} of ${N} items within 60 s; B ${b.proc.describe()}`).toBe(false);

    // Every item went through. Now let what A had in flight come back (B's reaper, after A's lease), and
    // drain the queue through B, so that every copy of every item is counted.
    const raw = await rawClient(redis);
    try {
      await vi.waitFor(
        async () => {
          const keys = (await raw.sendCommand(['KEYS', `${ns}:{queue:jobs}:inflight:*`])) as Buffer[];
          const lengths = await Promise.all(keys.map((k) => raw.sendCommand(['HLEN', k])));
          expect(lengths.reduce<number>((sum, n) => sum + Number(n), 0)).toBe(0);
        },
        { timeout: WAIT_MS, interval: 100 },
      );
    } finally {
      raw.destroy();
    }
    const drain = await (consumersOnB[0] as SharedClient).create<QueueProxy<number>>('jobs');
    for (;;) {
      try {
        received.push(await drain.get(false));
      } catch (err) {
        if (err instanceof Empty) break;
        throw err;
      }
    }

    const copies = new Map<number, number>();
    for (const n of received) copies.set(n, (copies.get(n) ?? 0) + 1);
    expect([...copies.keys()].filter((n) => !numbers.includes(n))).toEqual([]);
    expect(numbers.filter((n) => !copies.has(n)), 'lost items').toEqual([]);
    // Extra copies: one per item put twice by its producer (reput), and besides those at most one per get
    // in flight on A when it died (each consumer connected to A has at most one).
    let extra = 0;
    for (const [n, count] of copies) extra += count - 1 - (reput.has(n) ? 1 : 0);
    expect(extra, `duplicates: ${JSON.stringify([...copies].filter(([, c]) => c > 1))}, reput: ${JSON.stringify([...reput])}`).toBeLessThanOrEqual(CONSUMERS_PER_SERVER);
  });

  it('a lock held through a server that is SIGKILLed goes to a waiter on the other server after the lease, not before', { timeout: 60_000 }, async () => {
    const [a, b] = await servePair(redis.socketPath, freshNamespace(), { lease: LEASE_MS });
    const holder = await clientOf(a);
    const waiter = await clientOf(b);
    const held = await holder.create<AcquirerProxy>('guard');
    const wanted = await waiter.create<AcquirerProxy>('guard');
    const events: string[] = [];

    expect(await held.acquire()).toBe(true);
    events.push('held through A');
    expect(await wanted.acquire(false)).toBe(false);
    const waiting = tracked(
      wanted.acquire(true, WAIT_MS / 1000).then((ok) => {
        events.push(`waiter on B acquired: ${ok}`);
        return ok;
      }),
    );
    // More than two leases go by with A alive: its renewals keep the lock held.
    await sleep(2.5 * LEASE_MS);
    expect(waiting.settled).toBe(false);
    expect(await wanted.locked()).toBe(true);

    a.proc.child.once('exit', () => events.push('A died'));
    const died = a.proc.exit();
    a.proc.child.kill('SIGKILL');
    await died;
    expect(await waiting.promise).toBe(true);
    expect(events).toEqual(['held through A', 'A died', 'waiter on B acquired: true']);
    // And it is the waiter's now, as any held lock: the others wait.
    const other = await (await clientOf(b)).create<AcquirerProxy>('guard');
    expect(await other.acquire(false)).toBe(false);
    await wanted.release();
    expect(await other.acquire(false)).toBe(true);
  });

  it('a reconnecting client carries on through its server being stopped and started again on the same address', { timeout: 90_000 }, async () => {
    const ns = freshNamespace();
    const a = await serve(redis.socketPath, ns);
    const m = await clientOf(a, { initialDelay: 50, maxDelay: 500 });
    const events: string[] = [];
    m.on('disconnect', () => events.push('disconnect'));
    m.on('reconnect', (address) => events.push(`reconnect ${JSON.stringify(address)}`));
    const jobs = await m.create<QueueProxy<string>>('jobs');
    const results = await m.create<DictProxy<string, number>>('results');
    const guard = await m.create<AcquirerProxy>('guard');
    const inMemory = await m.dict<string, number>({ x: 1 });
    await jobs.put('before');
    await results.__setitem__('k', 1);

    a.proc.child.kill('SIGTERM');
    expect(await a.proc.exit(WAIT_MS), a.proc.describe()).toBe(0);
    await vi.waitFor(() => expect(events).toContain('disconnect'), { timeout: WAIT_MS, interval: 20 });
    // A call made while disconnected waits for the connection to come back.
    const during = tracked(jobs.put('while down'));
    await sleep(SETTLE_MS);
    expect(during.settled).toBe(false);

    const again = await serve(redis.socketPath, ns, { address: a.address });
    expect(again.address).toBe(a.address);
    await within(during.promise, WAIT_MS, 'the put made while disconnected');
    expect(events).toEqual(['disconnect', `reconnect ${JSON.stringify(a.addr)}`]);
    // The same proxies, the same shared state.
    expect(await jobs.get(true, 5)).toBe('before');
    expect(await jobs.get(true, 5)).toBe('while down');
    expect(await results.__getitem__('k')).toBe(1);
    await results.__setitem__('k', 2);
    expect(await (await (await clientOf(again)).create<DictProxy<string, number>>('results')).__getitem__('k')).toBe(2);
    expect(await guard.acquire(false)).toBe(true);
    await guard.release();
    // What lived in the old server's memory is gone, and says so.
    await expect(inMemory.__getitem__('x')).rejects.toBeInstanceOf(ObjectGoneError);
  });

  it('Redis restarted under running servers: shared objects fail meanwhile (Node and Python), in-memory ones work, and shared ones work again after', { timeout: 120_000 }, async () => {
    const [a, b] = await servePair(redis.socketPath, freshNamespace());
    const m = await clientOf(a);
    const jobs = await m.create<QueueProxy<string>>('jobs');
    const flag = await m.create<EventProxy>('flag');
    const inMemory = await m.dict<string, number>();
    await jobs.put('before');
    expect(await jobs.get()).toBe('before');
    // A get blocked through B before Redis goes away stays (until its own timeout) through the outage.
    const blocked = tracked((await (await clientOf(b)).create<QueueProxy<string>>('jobs')).get(true, 60));

    const py = pythonVersions().find((v) => v.available);
    const [host, port] = b.addr as [string, number];
    const client =
      py === undefined
        ? null
        : python(
            py,
            String.raw`
import sys, time
from multiprocessing.managers import SyncManager, RemoteError
class M(SyncManager): pass
M.register('jobs')
m = M((sys.argv[1], int(sys.argv[2])), authkey=sys.argv[3].encode()); m.connect()
jobs = m.jobs()
jobs.qsize()
print('ready', flush=True)
sys.stdin.readline()
try:
    jobs.put('down')
    print('shared: no error', flush=True)
except RemoteError as e:
    print('shared: RemoteError', 'Redis' in str(e), flush=True)
d = m.dict(); d['x'] = 1
print('memory:', d['x'], flush=True)
sys.stdin.readline()
for _ in range(200):
    try:
        jobs.put('from python, after'); break
    except RemoteError:
        time.sleep(0.1)
print('shared: back', flush=True)
`,
            [host, String(port), AUTHKEY],
          );
    if (client !== null) expect(await client.nextLine(WAIT_MS)).toBe('ready');

    await redis.stop();
    try {
      const err = await jobs.put('down').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BackendError);
      expect((err as Error).message).toMatch(/Redis at .* is unreachable/);
      await expect(flag.set()).rejects.toBeInstanceOf(BackendError);
      await inMemory.__setitem__('still', 1);
      expect(await inMemory.__getitem__('still')).toBe(1);
      expect(await (await m.list([1, 2])).__len__()).toBe(2);
      if (client !== null) {
        client.child.stdin.write('down\n');
        expect(await client.nextLine(WAIT_MS)).toBe('shared: RemoteError True');
        expect(await client.nextLine(WAIT_MS)).toBe('memory: 1');
      }
      expect(blocked.settled).toBe(false);
    } finally {
      await redis.restart();
    }

    // No server restart: each server's Redis connection comes back by itself. Redis came back empty
    // (persistence off), so what is checked is that the objects work, not what they held.
    await vi.waitFor(() => jobs.qsize(), { timeout: WAIT_MS, interval: 50 });
    await jobs.put('after');
    expect(await within(blocked.promise, WAIT_MS, 'the get blocked through the outage')).toBe('after');
    await flag.set();
    expect(await (await (await clientOf(b)).create<EventProxy>('flag')).is_set()).toBe(true);
    if (client !== null) {
      client.child.stdin.write('up\n');
      expect(await client.nextLine(WAIT_MS)).toBe('shared: back');
      expect(await jobs.get(true, 10)).toBe('from python, after');
      const out = await client.exit(WAIT_MS);
      expect(out.code, out.stderr).toBe(0);
    }
    expect(await inMemory.__getitem__('still')).toBe(1);
  });

  it('mpmanager info lists each shared object a server serves, with its size', { timeout: 60_000 }, async () => {
    const [a, b] = await servePair(redis.socketPath, freshNamespace());
    const m = await clientOf(a);
    const jobs = await m.create<QueueProxy<number>>('jobs');
    for (const n of [1, 2, 3]) await jobs.put(n);
    await (await m.create<DictProxy<string, number>>('results')).update({ a: 1, b: 2 });
    await (await m.create<ListProxy<string>>('items')).extend(['w', 'x', 'y', 'z']);
    await (await m.create<SetProxy<string>>('tags')).add('t');
    expect(await (await m.create<AcquirerProxy>('guard')).acquire()).toBe(true);
    await (await m.create<EventProxy>('flag')).set();

    const infoA = run('src/cli.ts', ['info', '--address', a.address, '--authkey', AUTHKEY]);
    expect(await infoA.exit(WAIT_MS), infoA.describe()).toBe(0);
    const sharedA = infoA.stdout.filter((l) => l.startsWith('shared: ')).sort();
    // Every --shared name is listed, used or not (semaphores: their free permits; the others untouched).
    const expected = [
      'shared: jobs (Queue) size 3',
      'shared: results (dict) size 2',
      'shared: items (list) size 4',
      'shared: tags (set) size 1',
      'shared: guard (Lock) size 1',
      'shared: flag (Event) size 1',
      'shared: jq (JoinableQueue) size 0',
      'shared: ns (Namespace) size 0',
      'shared: counter (Value) size 1',
      'shared: rguard (RLock) size 0',
      'shared: sem (Semaphore) size 1',
      'shared: bsem (BoundedSemaphore) size 1',
    ].sort();
    expect(sharedA).toEqual(expected);

    // B, where no client has made anything, reports the same sizes: they are Redis's, not A's memory.
    const infoB = run('src/cli.ts', ['info', '--address', b.address, '--authkey', AUTHKEY]);
    expect(await infoB.exit(WAIT_MS), infoB.describe()).toBe(0);
    expect(infoB.stdout.filter((l) => l.startsWith('shared: ')).sort()).toEqual(expected);
  });
});
