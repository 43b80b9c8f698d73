/**
 * Failures, against a real redis-server: queue items a dead server held in flight go back to the head of
 * their queue (and a live server's stay); what a closing server holds is given back; a lost connection
 * (CLIENT KILL) is recovered from, with items taken unawares put back and waiters woken; Redis stopped
 * makes calls fail at once with BackendError, and once it is back they work again, without new objects.
 */
import { describe, expect, it, vi } from 'vitest';
import { BackendError, StateError } from '../../../src/errors.js';
import { Empty } from '../../../src/python-errors.js';
import { tuple } from '../../../src/codec/values.js';
import { RedisObjects } from '../../../src/backends/redis/index.js';
import { encodeValue } from '../../../src/backends/redis/values.js';
import { REDIS_SKIP, as, caller, freshNamespace, open, openPair, rawClient, tracked, useRedisServer } from '../../fixtures/redis.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const item = (v: unknown) => encodeValue(v, 'test');

describe.skipIf(REDIS_SKIP !== null)('shared objects when things fail', () => {
  const server = useRedisServer();

  it('puts back, at the head and in order, the items a dead server had in flight; leaves a live server\'s', async () => {
    const ns = freshNamespace();
    const [a, b] = await openPair({ namespace: ns });
    const r = await rawClient(server());
    try {
      const base = `${ns}:{queue:jobs}`;
      await r.sendCommand(['HSET', `${base}:inflight:deadserver`, '7', item('first'), '12', item(tuple<unknown>('second', 2))]);
      await r.sendCommand(['HSET', `${base}:inflight:${a.serverId}`, '1', item('a-is-delivering-this')]);
      await r.sendCommand(['SADD', `${base}:consumers`, 'deadserver', a.serverId]);
      // b finds the queue empty, reaps before it blocks, and takes the dead server's items back first.
      expect(await b.queue('jobs').get(true, 10)).toBe('first');
      expect(await b.queue('jobs').get(true, 10)).toEqual(tuple<unknown>('second', 2));
      await expect(b.queue('jobs').get(true, 0.05)).rejects.toBeInstanceOf(Empty);
      const consumers = ((await r.sendCommand(['SMEMBERS', `${base}:consumers`])) as Buffer[]).map(String);
      expect(consumers).toContain(a.serverId);
      expect(consumers).not.toContain('deadserver');
    } finally {
      r.destroy();
    }
  });

  it('close() gives back the items still in flight here, releases held locks, and drops the lease', async () => {
    const ns = freshNamespace();
    const [a, b] = await openPair({ namespace: ns });
    const r = await rawClient(server());
    try {
      const jobs = a.queue('jobs');
      await r.sendCommand(['HSET', `${ns}:{queue:jobs}:inflight:${a.serverId}`, '1', item('undelivered')]);
      await as(caller('x'), () => a.lock('g').acquire());
      await a.close();
      expect(a.available).toBe(false);
      expect(await b.queue('jobs').get(false)).toBe('undelivered');
      expect(await b.lock('g').locked()).toBe(false);
      expect(await r.sendCommand(['EXISTS', `${ns}:lease:${a.serverId}`])).toBe(0);
      await expect(jobs.qsize()).rejects.toThrow(/closed/);
      expect(() => a.queue('other')).toThrow(StateError);
    } finally {
      r.destroy();
    }
  });

  it('after a lost connection: items taken unawares go back, and a waiter that missed a wake message still wakes', async () => {
    const ns = freshNamespace();
    const [a, b] = await openPair({ namespace: ns });
    const r = await rawClient(server());
    try {
      // As if a's get had taken an item and the reply had been lost with the connection.
      a.queue('orphans');
      await r.sendCommand(['HSET', `${ns}:{queue:orphans}:inflight:${a.serverId}`, '999999', item('orphan')]);
      await r.sendCommand(['CLIENT', 'KILL', 'TYPE', 'normal']);
      await vi.waitFor(async () => expect(await b.queue('orphans').get(false)).toBe('orphan'), { timeout: 10_000, interval: 20 });

      const waiting = tracked(a.queue('jobs').get(true, 20));
      await sleep(20);
      await r.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
      await vi.waitFor(async () => expect(b.available).toBe(true), { timeout: 10_000, interval: 10 });
      await b.queue('jobs').put('after');
      expect(await waiting.promise).toBe('after');
    } finally {
      r.destroy();
    }
  });

  it('connect() to a Redis that is not there fails with BackendError', async () => {
    await expect(RedisObjects.connect(`${server().dir}/nothing-here.sock`)).rejects.toThrow(BackendError);
    await expect(RedisObjects.connect(`${server().dir}/nothing-here.sock`)).rejects.toThrow(/nothing-here.sock is unreachable/);
  });

  it('while Redis is down calls fail at once with BackendError; when it is back they work again', async () => {
    const o = await open();
    const q = o.queue('jobs');
    const waiting = tracked(q.get(true, 30));
    await sleep(20);
    await server().stop();
    try {
      await vi.waitFor(() => expect(o.available).toBe(false), { timeout: 10_000, interval: 10 });
      const err = await q.put(2).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BackendError);
      expect((err as Error).message).toMatch(/^Redis at .*r\.sock is unreachable.*objects kept in the server's own memory still work/);
      await expect(o.dict('d').__len__()).rejects.toBeInstanceOf(BackendError);
      await expect(q.get(true, 0.05)).rejects.toBeInstanceOf(BackendError);
      expect(waiting.settled).toBe(false);
    } finally {
      await server().restart();
    }
    await vi.waitFor(() => expect(o.available).toBe(true), { timeout: 10_000, interval: 10 });
    // The waiter blocked through the outage, and the same objects work again.
    await q.put('back');
    expect(await waiting.promise).toBe('back');
    await o.dict('d').__setitem__('k', 'v');
    expect(await o.dict('d').__getitem__('k')).toBe('v');
  });
});
