/**
 * Shared Lock, RLock, Semaphore and BoundedSemaphore against a real redis-server, with simulated callers:
 * Python's semantics and exceptions, ownership by connection (released at once when it closes), leases
 * (renewed while held, ending after a dead server's lease, lost unawares by a paused holder), and waiters
 * on one server woken by a release on another.
 */
import { describe, expect, it } from 'vitest';
import { AbortError, InvalidArgumentError } from '../../../src/errors.js';
import { PyRuntimeError, ValueError } from '../../../src/python-errors.js';
import { GET_VALUE } from '../../../src/server/dispatch.js';
import { REDIS_SKIP, as, caller, freshNamespace, open, openPair, rawClient, tracked, useRedisServer, type RawRedis } from '../../fixtures/redis.js';

/** A key as keys.ts lays them out. */
function key(namespace: string, kind: string, name: string, part: string): string {
  return `${namespace}:{${kind}:${name}}:${part}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(REDIS_SKIP !== null)('shared locks in Redis', () => {
  const server = useRedisServer();
  async function raw(): Promise<RawRedis> {
    return rawClient(server());
  }

  describe('Lock', () => {
    it('acquire/locked/release as threading.Lock, with its argument checks', async () => {
      const o = await open();
      const a = caller('a');
      const l = o.lock('g');
      expect(await as(a, () => l.acquire())).toBe(true);
      expect(await l.locked()).toBe(true);
      expect(await as(a, () => l.acquire(false))).toBe(false);
      expect(await as(a, () => l.acquire(true, 0.02))).toBe(false);
      expect(() => as(a, () => l.acquire(false, 1))).toThrow(ValueError);
      expect(() => as(a, () => l.acquire(true, -2))).toThrow(/non-negative/);
      await as(a, () => l.release());
      expect(await l.locked()).toBe(false);
      await expect(as(a, () => l.release())).rejects.toThrow(PyRuntimeError);
      await expect(as(a, () => l.release())).rejects.toThrow(/release unlocked lock/);
      expect(await l[GET_VALUE]()).toEqual({ locked: false });
    });

    it('held through one server blocks the other until released; any caller may release it', async () => {
      const [sa, sb] = await openPair();
      const a = caller('a');
      const b = caller('b');
      expect(await as(a, () => sa.lock('g').acquire())).toBe(true);
      expect(await as(b, () => sb.lock('g').acquire(false))).toBe(false);
      const waiting = tracked(as(b, () => sb.lock('g').acquire()));
      await sleep(20);
      expect(waiting.settled).toBe(false);
      await as(a, () => sa.lock('g').release());
      expect(await waiting.promise).toBe(true);
      // Python lets another thread release a Lock: here a caller of the first server releases b's hold.
      await as(a, () => sa.lock('g').release());
      expect(await sb.lock('g').locked()).toBe(false);
    });

    it('excludes: callers on two servers incrementing a shared value under it lose no update', async () => {
      const [sa, sb] = await openPair();
      const worker = async (o: typeof sa, id: string): Promise<void> => {
        const me = caller(id);
        for (let i = 0; i < 10; i++) {
          expect(await as(me, () => o.lock('g').acquire(true, 20))).toBe(true);
          const v = (await o.value('n', 'i', 0).get()) as number;
          await o.value('n', 'i', 0).set(v + 1);
          await as(me, () => o.lock('g').release());
        }
      };
      await Promise.all([worker(sa, 'a1'), worker(sa, 'a2'), worker(sb, 'b1'), worker(sb, 'b2')]);
      expect(await sb.value('n', 'i', 0).get()).toBe(40);
    });

    it('is released at once when the holding connection closes, and goes to a waiter on the other server', async () => {
      const [sa, sb] = await openPair();
      const a = caller('a');
      await as(a, () => sa.lock('g').acquire());
      const waiting = as(caller('b'), () => sb.lock('g').acquire(true, 10));
      await sleep(20);
      a.close();
      expect(await waiting).toBe(true);
    });

    it('an aborted waiter leaves without taking the lock', async () => {
      const o = await open();
      const l = o.lock('g');
      await as(caller('a'), () => l.acquire());
      const ac = new AbortController();
      const waiting = as(caller('b'), () => l.acquire(), ac.signal);
      await sleep(20);
      ac.abort(new AbortError('cancelled'));
      await expect(waiting).rejects.toBeInstanceOf(AbortError);
      await as(caller('a'), () => l.release());
      expect(await l.locked()).toBe(false);
    });

    it('the lease is renewed while the holder lives', async () => {
      // Three leases long, with a lease long enough that a loaded machine's late timer still renews in time.
      const [sa, sb] = await openPair({ lease: 1000 });
      await as(caller('a'), () => sa.lock('g').acquire());
      await sleep(3000);
      expect(await as(caller('b'), () => sb.lock('g').acquire(false))).toBe(false);
    });

    it("a dead server's lock is free once its lease ends, and a waiter takes it then (no message needed)", async () => {
      const ns = freshNamespace();
      const o = await open({ namespace: ns });
      const r = await raw();
      try {
        await r.sendCommand(['SET', key(ns, 'lock', 'g', 'owner'), 'deadserver|native-1|1', 'PX', '150']);
        expect(await as(caller('b'), () => o.lock('g').acquire(false))).toBe(false);
        expect(await as(caller('b'), () => o.lock('g').acquire(true, 10))).toBe(true);
      } finally {
        r.destroy();
      }
    });

    it('a holder whose lease ran out gets RuntimeError at release, and does not release the new holder', async () => {
      const ns = freshNamespace();
      const [sa, sb] = await openPair({ namespace: ns });
      const r = await raw();
      try {
        await as(caller('a'), () => sa.lock('g').acquire());
        // As if a's server had been paused past its lease: the key is gone and b takes the lock.
        await r.sendCommand(['DEL', key(ns, 'lock', 'g', 'owner')]);
        expect(await as(caller('b'), () => sb.lock('g').acquire(false))).toBe(true);
        await expect(as(caller('a'), () => sa.lock('g').release())).rejects.toThrow(/no longer held by this caller: its lease in Redis/);
        expect(await sb.lock('g').locked()).toBe(true);
      } finally {
        r.destroy();
      }
    });
  });

  describe('RLock', () => {
    it('re-enters for its owner, counts, and only the owner releases', async () => {
      const [sa, sb] = await openPair();
      const a = caller('a');
      const b = caller('b');
      const l = sa.rlock('r');
      expect(await as(a, () => l.acquire())).toBe(true);
      expect(await as(a, () => l.acquire())).toBe(true);
      expect(await l[GET_VALUE]()).toEqual({ locked: true, count: 2 });
      expect(await as(b, () => sb.rlock('r').acquire(false))).toBe(false);
      await expect(as(b, () => sb.rlock('r').release())).rejects.toThrow(/cannot release un-acquired lock/);
      await expect(as(b, () => l.release())).rejects.toThrow(PyRuntimeError);
      await as(a, () => l.release());
      expect(await l.locked()).toBe(true);
      await as(a, () => l.release());
      expect(await sb.rlock('r').locked()).toBe(false);
    });

    it('closing the owner releases it whatever the count; a waiter on the other server gets it', async () => {
      const [sa, sb] = await openPair();
      const a = caller('a');
      await as(a, () => sa.rlock('r').acquire());
      await as(a, () => sa.rlock('r').acquire());
      const waiting = as(caller('b'), () => sb.rlock('r').acquire(true, 10));
      await sleep(20);
      a.close();
      expect(await waiting).toBe(true);
      expect(await sb.rlock('r')[GET_VALUE]()).toEqual({ locked: true, count: 1 });
    });
  });

  describe('Semaphore', () => {
    it('counts permits across servers; a blocked acquire is woken by a release on the other server', async () => {
      const [sa, sb] = await openPair();
      const a = caller('a');
      const b = caller('b');
      expect(await as(a, () => sa.semaphore('s', 2).acquire())).toBe(true);
      expect(await as(b, () => sb.semaphore('s', 2).acquire())).toBe(true);
      expect(await as(b, () => sb.semaphore('s', 2).acquire(false))).toBe(false);
      expect(await sa.semaphore('s', 2).locked()).toBe(true);
      const waiting = tracked(as(b, () => sb.semaphore('s', 2).acquire()));
      await sleep(20);
      expect(waiting.settled).toBe(false);
      await as(a, () => sa.semaphore('s', 2).release());
      expect(await waiting.promise).toBe(true);
      expect(() => as(a, () => sa.semaphore('s', 2).acquire(false, 1))).toThrow(/can't specify timeout/);
      expect(() => as(a, () => sa.semaphore('s', 2).release(0))).toThrow(/n must be one or more/);
      expect(await as(a, () => sa.semaphore('s', 2).acquire(true, 0.02))).toBe(false);
    });

    it('a closed connection gives back the permits it held', async () => {
      const [sa, sb] = await openPair();
      const a = caller('a');
      await as(a, () => sa.semaphore('s', 1).acquire());
      const waiting = as(caller('b'), () => sb.semaphore('s', 1).acquire(true, 10));
      await sleep(20);
      a.close();
      expect(await waiting).toBe(true);
    });

    it('used for signalling (initial 0), a consumed permit is not given back when the consumer closes', async () => {
      const [sa, sb] = await openPair();
      const consumer = caller('c');
      const got = as(consumer, () => sb.semaphore('sig', 0).acquire(true, 10));
      await sleep(20);
      await as(caller('p'), () => sa.semaphore('sig', 0).release());
      expect(await got).toBe(true);
      consumer.close();
      await sleep(50);
      expect(await sa.semaphore('sig', 0)[GET_VALUE]()).toEqual({ value: 0 });
    });

    it('BoundedSemaphore refuses a release past its initial value; Semaphore allows it', async () => {
      const o = await open();
      const a = caller('a');
      await expect(as(a, () => o.boundedSemaphore('b', 1).release())).rejects.toThrow(/Semaphore released too many times/);
      await as(a, () => o.boundedSemaphore('b', 1).acquire());
      await as(a, () => o.boundedSemaphore('b', 1).release());
      await as(a, () => o.semaphore('s', 1).release());
      expect(await o.semaphore('s', 1)[GET_VALUE]()).toEqual({ value: 2 });
    });

    it('servers must agree on the initial value', async () => {
      const [sa, sb] = await openPair();
      await as(caller('a'), () => sa.semaphore('s', 2).acquire());
      await expect(as(caller('b'), () => sb.semaphore('s', 3).acquire())).rejects.toBeInstanceOf(InvalidArgumentError);
    });

    it("a dead server's permits come back (the reaper runs before a caller blocks)", async () => {
      const ns = freshNamespace();
      const o = await open({ namespace: ns });
      const r = await raw();
      try {
        await r.sendCommand(['HSET', key(ns, 'semaphore', 's', 'meta'), 'initial', '1']);
        await r.sendCommand(['SET', key(ns, 'semaphore', 's', 'value'), '0']);
        await r.sendCommand(['ZADD', key(ns, 'semaphore', 's', 'holds'), '1', 'deadserver|native-9|1']);
        expect(await as(caller('b'), () => o.semaphore('s', 1).acquire(true, 10))).toBe(true);
      } finally {
        r.destroy();
      }
    });
  });
});
