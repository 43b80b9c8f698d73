/**
 * `Queue` and `JoinableQueue` against Python's `queue.Queue`: FIFO, `Empty`/`Full` for non-blocking and
 * timed calls, bounded `maxsize`, `task_done`/`join`, keyword arguments as a Python client sends them;
 * a blocked `get` never delays other clients; producers and consumers move every item exactly once;
 * an aborted `get` leaves the connection usable and takes no item; `for await`.
 */
import { describe, expect, it } from 'vitest';
import { AbortError } from '../../../src/errors.js';
import { Empty, Full, ValueError } from '../../../src/python-errors.js';
import { tuple } from '../../../src/codec/values.js';
import { connectClient, disconnect, pyRaises, share, startManager, tracked } from './support.js';

describe('Queue', () => {
  it('is FIFO and answers qsize/empty/full', async () => {
    const m = await startManager();
    const q = await m.Queue<number | string>();
    expect(await q.empty()).toBe(true);
    for (const x of [1, 'two', 3]) await q.put(x);
    expect(await q.qsize()).toBe(3);
    expect(await q.empty()).toBe(false);
    expect(await q.full()).toBe(false);
    expect([await q.get(), await q.get(), await q.get()]).toEqual([1, 'two', 3]);
  });

  it('keeps tuples as tuples and carries structured values', async () => {
    const m = await startManager();
    const q = await m.Queue<unknown>();
    await q.put(tuple(1, 2));
    await q.put({ a: [1, { b: null }] });
    const t = await q.get();
    expect(Array.isArray(t) && t.constructor.name).toBe('Tuple');
    expect(await q.get()).toEqual({ a: [1, { b: null }] });
  });

  it('raises Empty from get_nowait, get(false) and a timed get', async () => {
    const m = await startManager();
    const q = await m.Queue<number>();
    await expect(q.get_nowait()).rejects.toBeInstanceOf(Empty);
    await expect(q.get(false)).rejects.toBeInstanceOf(Empty);
    await expect(q.get(true, 0.02)).rejects.toBeInstanceOf(Empty);
    await expect(q.get(true, 0)).rejects.toBeInstanceOf(Empty);
    // a Python client's q.get(timeout=0.02)
    await expect(q.callMethod('get', [], { timeout: 0.02 })).rejects.toBeInstanceOf(Empty);
  });

  it('rejects a negative timeout as Python does', async () => {
    const m = await startManager();
    const q = await m.Queue<number>();
    await pyRaises(q.get(true, -1), ValueError, "'timeout' must be a non-negative number");
  });

  it('bounded: put_nowait and timed put raise Full; a blocked put goes in when room is made', async () => {
    const m = await startManager();
    const q = await m.Queue<number>(2);
    await q.put(1);
    await q.put_nowait(2);
    expect(await q.full()).toBe(true);
    await expect(q.put_nowait(3)).rejects.toBeInstanceOf(Full);
    await expect(q.put(3, false)).rejects.toBeInstanceOf(Full);
    await expect(q.put(3, true, 0.02)).rejects.toBeInstanceOf(Full);
    await expect(q.callMethod('put', [3], { block: true, timeout: 0.02 })).rejects.toBeInstanceOf(Full);
    const blocked = tracked(q.put(3));
    const blocked2 = tracked(q.put(4));
    expect(await q.qsize()).toBe(2);
    expect(blocked.settled).toBe(false);
    expect(await q.get()).toBe(1);
    await blocked.promise;
    expect(blocked2.settled).toBe(false);
    expect(await q.get()).toBe(2);
    await blocked2.promise;
    expect([await q.get(), await q.get()]).toEqual([3, 4]);
    expect(await q.empty()).toBe(true);
  });

  it('a get blocked on an empty queue does not delay other clients (put, qsize) and gets their item', async () => {
    const m = await startManager();
    const q = await m.Queue<string>();
    const other = await connectClient(m);
    const theirs = await share(other, q);
    const waiting = tracked(q.get());
    expect(await theirs.qsize()).toBe(0);
    expect(await q.qsize()).toBe(0); // the same connection is not held up either
    expect(waiting.settled).toBe(false);
    await theirs.put('hello');
    expect(await waiting.promise).toBe('hello');
    expect(await theirs.qsize()).toBe(0);
  });

  it('serves blocked getters first come, first served', async () => {
    const m = await startManager();
    const q = await m.Queue<number>();
    const a = await share(await connectClient(m), q);
    const b = await share(await connectClient(m), q);
    const first = a.get();
    await a.qsize(); // a's get has reached the server
    const second = b.get();
    await b.qsize();
    await q.put(1);
    await q.put(2);
    expect([await first, await second]).toEqual([1, 2]);
  });

  it('task_done too many times is a ValueError; join waits for every task', async () => {
    const m = await startManager();
    const q = await m.JoinableQueue<number>();
    await pyRaises(q.task_done(), ValueError, 'task_done() called too many times');
    await q.join(); // nothing unfinished: returns at once
    await q.put(1);
    await q.put(2);
    const worker = await share(await connectClient(m), q);
    const joined = tracked(q.join());
    await worker.get();
    await worker.task_done();
    await worker.get();
    expect(await worker.qsize()).toBe(0);
    expect(joined.settled).toBe(false);
    await worker.task_done();
    await joined.promise;
    await expect(worker.task_done()).rejects.toBeInstanceOf(ValueError);
  });

  it('producers and consumers on separate connections move every item exactly once', async () => {
    const m = await startManager();
    const q = await m.Queue<number>(5);
    const PRODUCERS = 3;
    const CONSUMERS = 3;
    const PER = 60;
    const producers = await Promise.all(Array.from({ length: PRODUCERS }, async () => share(await connectClient(m), q)));
    const consumers = await Promise.all(Array.from({ length: CONSUMERS }, async () => share(await connectClient(m), q)));
    const received: number[][] = consumers.map(() => []);
    const consuming = consumers.map(async (c, i) => {
      for (;;) {
        const item = await c.get();
        if (item < 0) return;
        received[i]?.push(item);
      }
    });
    await Promise.all(
      producers.map(async (p, i) => {
        for (let k = 0; k < PER; k++) await p.put(i * PER + k);
      }),
    );
    for (let i = 0; i < CONSUMERS; i++) await q.put(-1);
    await Promise.all(consuming);
    const all = received.flat().sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: PRODUCERS * PER }, (_, i) => i));
    expect(await q.qsize()).toBe(0);
  });

  it('an aborted get leaves the connection usable and takes no later item', async () => {
    const m = await startManager();
    const q = await m.Queue<string>();
    const ac = new AbortController();
    const waiting = q.get(true, null, { signal: ac.signal });
    await q.qsize();
    ac.abort();
    await expect(waiting).rejects.toBeInstanceOf(AbortError);
    await q.put('kept');
    expect(await q.qsize()).toBe(1);
    expect(await q.get()).toBe('kept');
  });

  it('a getter whose connection closes is dropped: the next item goes to a live getter', async () => {
    const m = await startManager();
    const q = await m.Queue<string>();
    const leaving = await connectClient(m);
    const theirs = await share(leaving, q);
    const lost = theirs.get();
    lost.catch(() => {});
    await theirs.qsize();
    await disconnect(m, leaving);
    const alive = q.get();
    await q.put('item');
    expect(await alive).toBe('item');
  });

  it('for await gets items until its signal aborts, or until the sentinel', async () => {
    const m = await startManager();
    const q = await m.Queue<number | null>();
    for (const x of [1, 2, 3]) await q.put(x);
    const ac = new AbortController();
    const seen: Array<number | null> = [];
    for await (const item of q.iterate({ signal: ac.signal })) {
      seen.push(item);
      if (seen.length === 3) ac.abort();
    }
    expect(seen).toEqual([1, 2, 3]);
    await q.put(4);
    await q.put(null);
    const rest: Array<number | null> = [];
    for await (const item of q.iterate({ sentinel: null })) rest.push(item);
    expect(rest).toEqual([4]);
  });

  it('plain for await stops when the connection closes', async () => {
    const m = await startManager();
    const client = await connectClient(m);
    const q = await share(client, await m.Queue<number>());
    await q.put(1);
    const seen: number[] = [];
    for await (const item of q) {
      seen.push(item);
      void client.shutdown();
    }
    expect(seen).toEqual([1]);
  });

  it('reads its repr and #GETVALUE', async () => {
    const m = await startManager();
    const q = await m.Queue<number>(3);
    await q.put(5);
    expect(await q.getValue()).toEqual([5]);
    expect(await q.toString()).toBe('<queue.Queue: qsize=1 maxsize=3>');
  });
});
