/**
 * End to end: two manager servers in this process, each with its own RedisObjects (so two server ids and
 * leases, as two machines would have) on one redis-server reached over TCP, registering every shared
 * typeid by name with SyncManager's proxy classes. Clients of either server see one object; a blocked get
 * is woken by a put on the other server; a lock held through one blocks the other and is released when its
 * client disconnects; values keep their types between a msgpack client and a pickle client (CPython's
 * wire); a proxy stored in a shared object is refused by name; with Redis down, shared objects fail with
 * BackendError while in-memory ones work, and with Redis back they work again.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BackendError } from '../../../src/errors.js';
import { PyTypeError } from '../../../src/python-errors.js';
import { tuple, Tuple } from '../../../src/codec/values.js';
import { SyncManager } from '../../../src/manager/sync-manager.js';
import type { AcquirerProxy } from '../../../proxies/acquirer-proxy.js';
import type { DictProxy } from '../../../proxies/dict-proxy.js';
import type { EventProxy } from '../../../proxies/event-proxy.js';
import type { ListProxy } from '../../../proxies/list-proxy.js';
import type { NamespaceProxy } from '../../../proxies/namespace-proxy.js';
import type { QueueProxy } from '../../../proxies/queue-proxy.js';
import type { SetProxy } from '../../../proxies/set-proxy.js';
import type { ValueProxy } from '../../../proxies/value-proxy.js';
import { SHARED_TYPEIDS, type RedisObjects } from '../../../src/backends/redis/index.js';
import { REDIS_SKIP, openPair, tracked, useRedisServer } from '../../fixtures/redis.js';

const AUTHKEY = 'redis-suite';
const managers: SyncManager[] = [];

afterEach(async () => {
  for (const m of managers.splice(0).reverse()) await m.shutdown();
});

/** The registered name of the shared object of `typeid`. */
const nameOf = (typeid: string): string => `shared_${typeid}`;

/** A SyncManager with every shared typeid registered as `shared_<typeid>`, kept in `objects`. */
function managerWith(objects: RedisObjects | null, address: SyncManager['address'], options: { serializer?: 'msgpack' | 'pickle' } = {}): SyncManager {
  const m = new SyncManager(address, { authkey: AUTHKEY, ...options });
  for (const typeid of SHARED_TYPEIDS) {
    const { proxytype } = SyncManager.registry.get(typeid);
    m.register(nameOf(typeid), objects === null ? null : () => objects.byTypeid(typeid, typeid.toLowerCase()), { proxytype });
  }
  return m;
}

/** Two started servers sharing one namespace in Redis. */
async function twoServers(): Promise<[SyncManager, SyncManager]> {
  const [oa, ob] = await openPair();
  const a = await managerWith(oa, ['127.0.0.1', 0]).start();
  managers.push(a);
  const b = await managerWith(ob, ['127.0.0.1', 0]).start();
  managers.push(b);
  return [a, b];
}

/** Another client of `server`. */
async function clientOf(server: SyncManager, serializer?: 'msgpack' | 'pickle'): Promise<SyncManager> {
  const m = await managerWith(null, server.address, serializer === undefined ? {} : { serializer }).connect();
  managers.push(m);
  return m;
}

function shared<P>(m: SyncManager, typeid: string): Promise<P> {
  return m.create<P>(nameOf(typeid));
}

describe.skipIf(REDIS_SKIP !== null)('two servers sharing objects in Redis', () => {
  const server = useRedisServer({ tcp: true });

  it('serve every shared typeid as one object', async () => {
    const [a, b] = await twoServers();
    const checks: Record<string, () => Promise<void>> = {
      Queue: async () => {
        await (await shared<QueueProxy>(a, 'Queue')).put('q');
        expect(await (await shared<QueueProxy>(b, 'Queue')).get()).toBe('q');
      },
      JoinableQueue: async () => {
        const qa = await shared<QueueProxy>(a, 'JoinableQueue');
        const qb = await shared<QueueProxy>(b, 'JoinableQueue');
        await qa.put('j');
        expect(await qb.get()).toBe('j');
        await qb.task_done();
        await qa.join();
      },
      dict: async () => {
        await (await shared<DictProxy<string, number>>(a, 'dict')).__setitem__('k', 1);
        expect(await (await shared<DictProxy<string, number>>(b, 'dict')).__getitem__('k')).toBe(1);
      },
      list: async () => {
        await (await shared<ListProxy<string>>(a, 'list')).append('x');
        expect(await (await shared<ListProxy<string>>(b, 'list')).__getitem__(0)).toBe('x');
      },
      set: async () => {
        await (await shared<SetProxy<number>>(a, 'set')).add(3);
        expect(await (await shared<SetProxy<number>>(b, 'set')).__contains__(3)).toBe(true);
      },
      Namespace: async () => {
        await (await shared<NamespaceProxy>(a, 'Namespace')).set('x', 1);
        expect(await (await shared<NamespaceProxy>(b, 'Namespace')).get('x')).toBe(1);
      },
      Value: async () => {
        await (await shared<ValueProxy<number>>(a, 'Value')).set(5);
        expect(await (await shared<ValueProxy<number>>(b, 'Value')).get()).toBe(5);
      },
      Event: async () => {
        await (await shared<EventProxy>(a, 'Event')).set();
        expect(await (await shared<EventProxy>(b, 'Event')).wait(1)).toBe(true);
      },
    };
    for (const typeid of ['Lock', 'RLock', 'Semaphore', 'BoundedSemaphore']) {
      checks[typeid] = async () => {
        const la = await shared<AcquirerProxy>(a, typeid);
        const lb = await shared<AcquirerProxy>(b, typeid);
        expect(await la.acquire()).toBe(true);
        expect(await lb.acquire(false)).toBe(false);
        expect(await lb.locked()).toBe(true);
        await la.release();
        expect(await lb.acquire(false)).toBe(true);
        await lb.release();
      };
    }
    expect(Object.keys(checks).sort()).toEqual([...SHARED_TYPEIDS].sort());
    for (const typeid of SHARED_TYPEIDS) await (checks[typeid] as () => Promise<void>)();
    // Made again, a shared object is the same hosted object (one id on every server).
    const q1 = await shared<QueueProxy>(a, 'Queue');
    const q2 = await shared<QueueProxy>(b, 'Queue');
    expect(q1.token.id).toBe(q2.token.id);
    expect(q1.token.id).toMatch(/^shared:queue:/);
  });

  it('iterates a shared dict and set through hosted iterators, in insertion order for the dict', async () => {
    const [a, b] = await twoServers();
    const da = await shared<DictProxy<unknown, number>>(a, 'dict');
    // Pairs, not a Map: the native codec carries a Map as a plain object, whose integer keys JS puts first.
    await da.update([['z', 1], [2, 2], ['a', 3]] as Array<[unknown, number]>);
    const keys: unknown[] = [];
    for await (const k of await shared<DictProxy<unknown, number>>(b, 'dict')) keys.push(k);
    expect(keys).toEqual(['z', 2, 'a']);
    await (await shared<SetProxy<number>>(a, 'set')).update([1, 2, 3]);
    const members: number[] = [];
    for await (const x of await shared<SetProxy<number>>(b, 'set')) members.push(x);
    expect(members.sort()).toEqual([1, 2, 3]);
  });

  it('a shared object passed to an in-memory one is refused, saying to pass its value', async () => {
    const [a] = await twoServers();
    const sharedDict = await shared<DictProxy<string, number>>(a, 'dict');
    await sharedDict.set('k', 1);
    const memory = await a.dict<string, number>();
    const err = await memory.update(sharedDict as never).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(PyTypeError);
    expect((err as Error).message).toMatch(/is kept in Redis: pass its value/);
    await memory.update(await sharedDict.items());
    expect(await memory.get('k')).toBe(1);
  });

  it('a blocked get is woken by a put on the other server', async () => {
    const [a, b] = await twoServers();
    const got = tracked((await shared<QueueProxy>(a, 'Queue')).get(true, 20));
    await new Promise((r) => setTimeout(r, 30));
    expect(got.settled).toBe(false);
    await (await shared<QueueProxy>(b, 'Queue')).put(tuple<unknown>(1, 'done'));
    expect(await got.promise).toEqual(tuple<unknown>(1, 'done'));
  });

  it('a lock held through one server blocks the other, and is released when its client disconnects', async () => {
    const [a, b] = await twoServers();
    const holder = await clientOf(a);
    const la = await shared<AcquirerProxy>(holder, 'Lock');
    const lb = await shared<AcquirerProxy>(b, 'Lock');
    expect(await la.acquire()).toBe(true);
    expect(await lb.acquire(true, 0.05)).toBe(false);
    const waiting = tracked(lb.acquire(true, 20));
    await new Promise((r) => setTimeout(r, 30));
    expect(waiting.settled).toBe(false);
    await holder.shutdown();
    expect(await waiting.promise).toBe(true);
  });

  it('values keep their types between a msgpack client and a pickle (CPython wire) client', async () => {
    const [a, b] = await twoServers();
    const node = await clientOf(a, 'msgpack');
    const py = await clientOf(b, 'pickle');
    const qn = await shared<QueueProxy>(node, 'Queue');
    const qp = await shared<QueueProxy>(py, 'Queue');
    const sent = [tuple<unknown>(1, 'a', tuple(2n ** 80n)), Buffer.from([0, 1, 255]), -(2n ** 70n), [1.5, null, 'é']];
    for (const v of sent) await qn.put(v);
    const got = [await qp.get(), await qp.get(), await qp.get(), await qp.get()];
    expect(got).toEqual(sent);
    expect(got[0]).toBeInstanceOf(Tuple);
    // A Python dict with int and tuple keys comes back with those keys.
    const dp = await shared<DictProxy<unknown, unknown>>(py, 'dict');
    await dp.__setitem__('nested', new Map<unknown, unknown>([[1, 'one'], [tuple(2, 3), 'pair']]));
    await dp.__setitem__(tuple(4, 5), 'tuple key');
    const otherPy = await clientOf(a, 'pickle');
    const back = await (await shared<DictProxy<unknown, unknown>>(otherPy, 'dict')).__getitem__('nested');
    expect(back).toEqual(new Map<unknown, unknown>([[1, 'one'], [tuple(2, 3), 'pair']]));
    expect(await (await shared<DictProxy<unknown, unknown>>(node, 'dict')).__getitem__(tuple(4, 5))).toBe('tuple key');
  });

  it('refuses to store a proxy, naming it, rather than keeping a copy in one server', async () => {
    const [a] = await twoServers();
    const inMemory = await a.dict();
    const err = await (await shared<QueueProxy>(a, 'Queue')).put(inMemory).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PyTypeError);
    expect((err as Error).message).toMatch(/cannot store a reference to the hosted dict object .* in the shared Queue 'queue'/);
  });

  it('with Redis down, shared objects fail with BackendError and in-memory ones work; with it back, shared ones work again', async () => {
    const [a] = await twoServers();
    const q = await shared<QueueProxy>(a, 'Queue');
    const inMemory = await a.dict<string, number>();
    await q.put(1);
    await server().stop();
    try {
      const err = await q.get(false).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BackendError);
      expect((err as Error).message).toMatch(/Redis at redis:\/\/127\.0\.0\.1:\d+.* is unreachable/);
      await inMemory.__setitem__('still', 1);
      expect(await inMemory.__getitem__('still')).toBe(1);
    } finally {
      await server().restart();
    }
    await vi.waitFor(
      async () => {
        await q.put('again');
      },
      { timeout: 10_000, interval: 20 },
    );
    expect(await q.get()).toBe('again');
  });
});
