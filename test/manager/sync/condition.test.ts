/**
 * `Condition` against Python's `threading.Condition`: wait/notify need the lock (`RuntimeError`
 * otherwise), `wait(timeout)` answers false on timeout and holds the lock again when it returns, notify
 * wakes waiters oldest first, `wait_for` loops on the proxy side; a condition over a hosted Lock; an
 * aborted wait takes the lock back, so the caller's release still works.
 */
import { describe, expect, it } from 'vitest';
import { AbortError } from '../../../src/errors.js';
import { PyRuntimeError } from '../../../src/python-errors.js';
import { connectClient, disconnect, pyRaises, share, startManager, tracked } from './support.js';

describe('Condition', () => {
  it('wait and notify without the lock are RuntimeError', async () => {
    const m = await startManager();
    const cond = await m.Condition();
    await pyRaises(cond.wait(), PyRuntimeError, 'cannot wait on un-acquired lock');
    await pyRaises(cond.notify(), PyRuntimeError, 'cannot notify on un-acquired lock');
    await pyRaises(cond.notify_all(), PyRuntimeError, 'cannot notify on un-acquired lock');
    await pyRaises(cond.release(), PyRuntimeError, 'cannot release un-acquired lock');
  });

  it('wait(timeout) answers false on timeout and returns holding the lock', async () => {
    const m = await startManager();
    const cond = await m.Condition();
    const other = await share(await connectClient(m), cond);
    await cond.acquire();
    expect(await cond.wait(0.02)).toBe(false);
    expect(await cond.wait(0)).toBe(false);
    expect(await cond.locked()).toBe(true);
    expect(await other.acquire(false)).toBe(false);
    await cond.release();
    expect(await other.acquire(false)).toBe(true);
    await other.release();
  });

  it('releases the lock while waiting; notify wakes the waiter, which returns true', async () => {
    const m = await startManager();
    const cond = await m.Condition();
    const other = await share(await connectClient(m), cond);
    await cond.acquire();
    await cond.acquire(); // the default lock is an RLock: the whole count is saved and restored
    const waiting = tracked(cond.wait(10));
    expect(await other.acquire(true, 10)).toBe(true); // the waiter released it
    await other.notify();
    expect(waiting.settled).toBe(false); // it needs the lock back first
    await other.release();
    expect(await waiting.promise).toBe(true);
    await cond.release();
    expect(await other.acquire(false)).toBe(false); // still held once
    await cond.release();
    expect(await other.acquire(false)).toBe(true);
    await other.release();
  });

  it('notify(n) wakes the oldest n waiters; notify_all wakes the rest', async () => {
    const m = await startManager();
    const cond = await m.Condition();
    const waiters = await Promise.all([1, 2, 3].map(async () => share(await connectClient(m), cond)));
    const woken: number[] = [];
    const waits: Array<Promise<void>> = [];
    for (const [i, w] of waiters.entries()) {
      await w.acquire();
      waits.push(
        w.wait(10).then(async (notified) => {
          expect(notified).toBe(true);
          woken.push(i);
          await w.release();
        }),
      );
      await w.locked(); // the wait has reached the server and released the lock
    }
    await cond.acquire();
    await cond.notify(2);
    await cond.release();
    await Promise.all(waits.slice(0, 2));
    expect(woken).toEqual([0, 1]);
    await cond.acquire();
    await cond.notify_all();
    await cond.release();
    await waits[2];
    expect(woken).toEqual([0, 1, 2]);
  });

  it('wait_for loops until the predicate holds, or times out with its last value', async () => {
    const m = await startManager();
    const cond = await m.Condition();
    const state = await m.Value('i', 0);
    const producer = await connectClient(m);
    const pc = await share(producer, cond);
    const pv = await share(producer, state);
    await cond.acquire();
    const result = cond.wait_for(async () => (await state.get()) >= 3 && 'ready', 10);
    for (let k = 1; k <= 3; k++) {
      await pc.withLock(async () => {
        await pv.set(k);
        await pc.notify_all();
      });
    }
    expect(await result).toBe('ready');
    expect(await cond.locked()).toBe(true);
    expect(await cond.wait_for(async () => (await state.get()) > 100, 0.02)).toBe(false);
    await cond.release();
  });

  it('works over a hosted Lock passed in, sharing it with the lock proxy', async () => {
    const m = await startManager();
    const lock = await m.Lock();
    const cond = await m.Condition(lock);
    await lock.acquire();
    expect(await cond.locked()).toBe(true);
    expect(await cond.wait(0.01)).toBe(false);
    await cond.notify();
    await lock.release();
    expect(await cond.locked()).toBe(false);
    expect(await cond.toString()).toBe('<Condition(<unlocked _thread.lock object>, 0)>');
  });

  it('an aborted wait rejects at once, takes the lock back, and the caller can release it', async () => {
    const m = await startManager();
    const cond = await m.Condition();
    const other = await share(await connectClient(m), cond);
    await cond.acquire();
    const ac = new AbortController();
    const waiting = cond.wait(null, { signal: ac.signal });
    await other.acquire(true, 10); // holds it while the aborted waiter wants it back
    ac.abort();
    await expect(waiting).rejects.toBeInstanceOf(AbortError);
    const released = tracked(cond.release()); // waits for the lock to come back to this client
    await other.notify_all(); // nothing to wake: the aborted waiter left the queue
    await other.release();
    await released.promise;
    expect(await other.acquire(false)).toBe(true);
    await other.release();
  });

  it('a waiter whose connection closes neither holds the lock nor takes a notify', async () => {
    const m = await startManager();
    const cond = await m.Condition();
    const leaving = await connectClient(m);
    const theirs = await share(leaving, cond);
    await theirs.acquire();
    const lost = theirs.wait();
    lost.catch(() => {});
    await cond.acquire(true, 10);
    await disconnect(m, leaving);
    const mine = await share(await connectClient(m), cond);
    await mine.acquire(false).then((got) => expect(got).toBe(false));
    const waiting = tracked(mine.acquire(true, 10).then(() => mine.wait(10)));
    await cond.release();
    await cond.acquire(true, 10);
    await cond.notify(); // goes to the live waiter, not the departed one
    await cond.release();
    expect(await waiting.promise).toBe(true);
    await mine.release();
  });
});
