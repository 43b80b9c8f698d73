/**
 * What held before issue #11 and must stay true, at volume:
 *
 * - Clients SIGKILLed mid-work leave nothing behind. test/server/server.test.ts ('a client process
 *   killed with SIGKILL frees everything it held') kills one process holding four objects, and
 *   test/manager/sync/processes.test.ts kills one lock holder. Here four processes die at once, both
 *   dialects, each holding a lock, the native ones also holding five objects and a `get` waiting on a
 *   shared queue: the objects go, every lock can be taken, and the dead waiters take no item.
 * - No stale replies after mass cancellation. server.test.ts ('the late reply of a cancelled call never
 *   reaches the next call') checks a few; here 2,000 native calls are cancelled at random moments
 *   (before sending, in flight, after the reply), then every later call must get its own reply, and 200
 *   over the pickle dialect, whose client must throw away each connection a cancelled call used.
 */
import { prng } from '../support/prng.js';
import { afterEach, describe, expect, it } from 'vitest';
import { AbortError, TimeoutError } from '../../src/errors.js';
import { SyncManager } from '../../src/manager/sync-manager.js';
import type { NativeClient } from '../../src/protocol/native-client.js';
import type { AcquirerProxy } from '../../proxies/acquirer-proxy.js';
import type { BaseProxy } from '../../proxies/base-proxy.js';
import { eventually } from '../fixtures/transports.js';
import { killAll, run } from '../fixtures/processes.js';
import { AUTHKEY } from './support.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  killAll();
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** Answers with its argument after `ms` milliseconds, and counts the calls running. */
class Echo {
  running = 0;
  async after(value: unknown, ms: number): Promise<unknown> {
    this.running++;
    try {
      await new Promise((r) => setTimeout(r, ms));
      return value;
    } finally {
      this.running--;
    }
  }
  getRunning(): number {
    return this.running;
  }
}

async function startServer() {
  const m = await new SyncManager(['127.0.0.1', 0], { authkey: AUTHKEY }).register('Echo', Echo).start();
  cleanup.push(() => m.shutdown());
  return m;
}


describe('killed clients', { timeout: 30_000 }, () => {
  it('four client processes SIGKILLed mid-work at once: their objects go, their locks are free, their waiting gets take nothing', async () => {
    const m = await startServer();
    const queue = await m.Queue<string>();
    const dialects = ['msgpack', 'msgpack', 'msgpack', 'pickle'] as const;
    const locks: AcquirerProxy[] = [];
    for (let i = 0; i < dialects.length; i++) locks.push(await m.Lock());
    const baseline = await m.numberOfObjects();
    const children = dialects.map((serializer, i) =>
      run('test/reliability/fixtures/kill-client.ts', [
        JSON.stringify({ address: m.address, authkey: AUTHKEY, serializer, lock: locks[i]?.toTransferable(), queue: queue.toTransferable() }),
      ]),
    );
    const ready = await Promise.all(children.map((c) => c.line(/^ready holding=\d+$/, 25_000)));
    expect(ready).toEqual(dialects.map((d) => `ready holding=${d === 'msgpack' ? 5 : 0}`));
    expect(await m.numberOfObjects()).toBe(baseline + 3 * 5);
    for (const lock of locks) expect(await lock.locked()).toBe(true);

    for (const c of children) c.child.kill('SIGKILL');
    expect(await Promise.all(children.map((c) => c.exit()))).toEqual(dialects.map(() => null));

    expect(await eventually(() => m.numberOfObjects(), baseline)).toBe(baseline);
    for (const lock of locks) expect(await lock.acquire(true, 10)).toBe(true);
    // Three gets were waiting on the queue when their processes died: none of them may take these.
    await queue.put('first');
    await queue.put('second');
    expect(await queue.get(true, 5)).toBe('first');
    expect(await queue.get(true, 5)).toBe('second');
    expect(await queue.qsize()).toBe(0);
  });
});

describe('no stale replies after mass cancellation', { timeout: 30_000 }, () => {
  /** `p`, marked handled: the test awaits it later, and a failure before then must not be reported twice. */
  function handled<T>(p: Promise<T>): Promise<T> {
    p.catch(() => {});
    return p;
  }

  /**
   * Every outcome checked: a call that settled with a value has its own; one that was cancelled has an
   * AbortError (or TimeoutError, given a timeout). Returns how many were cancelled.
   */
  async function settle(calls: Array<Promise<unknown>>, ids: readonly unknown[]): Promise<number> {
    let cancelled = 0;
    (await Promise.allSettled(calls)).forEach((o, i) => {
      if (o.status === 'fulfilled') expect(o.value).toBe(ids[i]);
      else {
        expect(o.reason instanceof AbortError || o.reason instanceof TimeoutError, String(o.reason)).toBe(true);
        cancelled++;
      }
    });
    return cancelled;
  }

  it('native: 2,000 calls cancelled (before sending, in flight, at random), then 500 more racing their late replies: each has its own value', async () => {
    const m = await startServer();
    const echo = await m.create<BaseProxy>('Echo');
    const random = prng(11);
    const call = (value: unknown, ms: number, options?: { signal?: AbortSignal; timeout?: number }) => handled(echo.callMethod('after', [value, ms], null, options));
    // 1,000 aborted before they are sent.
    const before = Array.from({ length: 1000 }, (_, i) => call(`before ${i}`, 0, { signal: AbortSignal.abort() }));
    // 200 in flight (under maxCallsInFlight, 256): running on the server, for 300 ms, when they are
    // cancelled; their replies come later.
    const controllers = Array.from({ length: 200 }, () => new AbortController());
    const inFlight = controllers.map((c, i) => call(`in flight ${i}`, 300, { signal: c.signal }));
    expect(await eventually(async () => (await echo.callMethod<number>('getRunning')) >= 200, true)).toBe(true);
    for (const c of controllers) c.abort();
    // 800 cancelled at random moments, half by a signal, half by a timeout: before, during or after their reply.
    const atRandom = Array.from({ length: 800 }, (_, i) => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), Math.floor(random() * 100));
      return call(`random ${i}`, Math.floor(random() * 50), i % 2 ? { timeout: random() * 0.1 } : { signal: controller.signal });
    });
    // 500 more, finishing before and after the late replies of the cancelled ones.
    const later = Array.from({ length: 500 }, (_, i) => call(`later ${i}`, Math.floor(random() * 500)));
    expect(await settle(before, [])).toBe(1000);
    expect(await settle(inFlight, [])).toBe(200);
    await settle(atRandom, Array.from({ length: 800 }, (_, i) => `random ${i}`));
    expect(await Promise.all(later)).toEqual(Array.from({ length: 500 }, (_, i) => `later ${i}`));
    expect(await eventually(() => echo.callMethod('getRunning'), 0)).toBe(0);
    expect((m.client as NativeClient).pendingCalls).toBe(0);
    expect(await echo.callMethod('after', ['last', 0])).toBe('last');
  });

  it('pickle: cancelled calls (before sending, in flight, at random), then 100 more at once: each has its own value', async () => {
    const m = await startServer();
    const client = await new SyncManager(m.address, { authkey: AUTHKEY, serializer: 'pickle' }).connect();
    cleanup.push(() => client.shutdown());
    const echo = await client.rebuild<BaseProxy>((await m.create<BaseProxy>('Echo')).toTransferable());
    const random = prng(12);
    const call = (value: unknown, ms: number, signal?: AbortSignal) => handled(echo.callMethod('after', [value, ms], null, signal ? { signal } : undefined));
    const before = Array.from({ length: 50 }, (_, i) => call(`before ${i}`, 0, AbortSignal.abort()));
    // The client keeps at most 8 object connections, so 8 calls can be in flight at once.
    const controllers = Array.from({ length: 8 }, () => new AbortController());
    const inFlight = controllers.map((c, i) => call(`in flight ${i}`, 300, c.signal));
    expect(await eventually(async () => (await m.client.call(echo.token.id, 'getRunning')) === 8, true)).toBe(true);
    for (const c of controllers) c.abort();
    const atRandom = Array.from({ length: 100 }, (_, i) => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), Math.floor(random() * 100));
      return call(`random ${i}`, Math.floor(random() * 50), controller.signal);
    });
    expect(await settle(before, [])).toBe(50);
    expect(await settle(inFlight, [])).toBe(8);
    await settle(atRandom, Array.from({ length: 100 }, (_, i) => `random ${i}`));
    const later = await Promise.all(Array.from({ length: 100 }, (_, i) => call(`later ${i}`, i % 3)));
    expect(later).toEqual(Array.from({ length: 100 }, (_, i) => `later ${i}`));
    expect(await eventually(() => m.client.call(echo.token.id, 'getRunning'), 0)).toBe(0);
  });
});
