/**
 * `Lock`, `RLock`, `Semaphore`, `BoundedSemaphore` against Python's `threading` semantics: acquire with
 * `blocking`/`timeout` answers a bool, releasing an unheld lock is a `RuntimeError`, an RLock re-enters
 * for its owner only, an over-released BoundedSemaphore is a `ValueError`; waiters are FIFO; what a
 * closed connection held is released to the next waiter; N clients x M increments under a Lock.
 */
import { describe, expect, it } from 'vitest';
import { AbortError } from '../../../src/errors.js';
import { PyRuntimeError, ValueError } from '../../../src/python-errors.js';
import { connectClient, disconnect, pyRaises, share, startManager, tracked } from './support.js';

describe('Lock', () => {
  it('acquire/release/locked; non-blocking and timed acquires answer false while held', async () => {
    const m = await startManager();
    const lock = await m.Lock();
    expect(await lock.locked()).toBe(false);
    expect(await lock.acquire()).toBe(true);
    expect(await lock.locked()).toBe(true);
    expect(await lock.acquire(false)).toBe(false);
    expect(await lock.acquire(true, 0.02)).toBe(false);
    expect(await lock.acquire(true, 0)).toBe(false);
    await lock.release();
    expect(await lock.locked()).toBe(false);
    expect(await lock.acquire(false)).toBe(true);
    await lock.release();
  });

  it('releasing an unlocked lock is RuntimeError', async () => {
    const m = await startManager();
    const lock = await m.Lock();
    await pyRaises(lock.release(), PyRuntimeError, 'release unlocked lock');
  });

  it('checks timeouts as _thread.lock does', async () => {
    const m = await startManager();
    const lock = await m.Lock();
    await pyRaises(lock.acquire(false, 1), ValueError, "can't specify a timeout for a non-blocking call");
    await pyRaises(lock.acquire(true, -2), ValueError, 'timeout value must be a non-negative number');
    expect(await lock.acquire(true, -1)).toBe(true); // -1 = forever, as Python's default
  });

  it('may be released by another client (a Lock has no owner), which hands it to the next waiter', async () => {
    const m = await startManager();
    const lock = await m.Lock();
    const other = await share(await connectClient(m), lock);
    await lock.acquire();
    const waiting = tracked(lock.acquire());
    await other.release();
    expect(await waiting.promise).toBe(true);
    expect(await other.locked()).toBe(true);
  });

  it('a blocked acquire does not delay other calls, and waiters are served in arrival order', async () => {
    const m = await startManager();
    const lock = await m.Lock();
    const clients = await Promise.all([1, 2, 3].map(async () => share(await connectClient(m), lock)));
    await lock.acquire();
    const order: number[] = [];
    const waits: Array<Promise<void>> = [];
    for (const [i, c] of clients.entries()) {
      waits.push(c.acquire().then(() => void order.push(i)));
      expect(await c.locked()).toBe(true); // answered while its own acquire waits
    }
    await lock.release();
    for (const [i, c] of clients.entries()) {
      await waits[i];
      await c.release();
    }
    expect(order).toEqual([0, 1, 2]);
  });

  it('a lock held by a client whose connection closes is released, and a waiter gets it', async () => {
    const m = await startManager();
    const lock = await m.Lock();
    const holder = await connectClient(m);
    const theirs = await share(holder, lock);
    expect(await theirs.acquire()).toBe(true);
    const waiting = tracked(lock.acquire(true, 10));
    expect(await lock.locked()).toBe(true);
    expect(waiting.settled).toBe(false);
    await holder.shutdown();
    expect(await waiting.promise).toBe(true);
    await lock.release();
    expect(await lock.locked()).toBe(false);
  });

  it('an aborted acquire leaves the connection usable and never takes the lock', async () => {
    const m = await startManager();
    const lock = await m.Lock();
    const other = await share(await connectClient(m), lock);
    await other.acquire();
    const ac = new AbortController();
    const waiting = lock.acquire(true, null, { signal: ac.signal });
    await lock.locked();
    ac.abort();
    await expect(waiting).rejects.toBeInstanceOf(AbortError);
    await other.release();
    expect(await lock.locked()).toBe(false); // the aborted waiter was not handed the lock
    expect(await lock.acquire(false)).toBe(true);
  });

  it('hold() and withLock() release however the block ends', async () => {
    const m = await startManager();
    const lock = await m.Lock();
    {
      await using held = await lock.hold();
      expect(await lock.locked()).toBe(true);
      void held;
    }
    expect(await lock.locked()).toBe(false);
    await expect(lock.withLock(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await lock.locked()).toBe(false);
    expect(await lock.withLock(async () => (await lock.locked()) && 'inside')).toBe('inside');
  });

  it('N clients x M increments of a Value under a Lock end at exactly N*M', async () => {
    const m = await startManager();
    const lock = await m.Lock();
    const counter = await m.Value('i', 0);
    const N = 4;
    const M = 25;
    const clients = await Promise.all(Array.from({ length: N }, () => connectClient(m)));
    await Promise.all(
      clients.map(async (c) => {
        const l = await share(c, lock);
        const v = await share(c, counter);
        for (let k = 0; k < M; k++) {
          await l.withLock(async () => {
            const n = await v.get();
            await v.set(n + 1);
          });
        }
      }),
    );
    expect(await counter.get()).toBe(N * M);
  });

  it('reads its repr and #GETVALUE', async () => {
    const m = await startManager();
    const lock = await m.Lock();
    expect(await lock.toString()).toBe('<unlocked _thread.lock object>');
    await lock.acquire();
    expect(await lock.getValue()).toEqual({ locked: true });
  });
});

describe('RLock', () => {
  it('re-enters for its owner, and frees only after as many releases', async () => {
    const m = await startManager();
    const rlock = await m.RLock();
    const other = await share(await connectClient(m), rlock);
    expect(await rlock.acquire()).toBe(true);
    expect(await rlock.acquire()).toBe(true);
    expect(await other.acquire(false)).toBe(false);
    await rlock.release();
    expect(await other.acquire(true, 0.02)).toBe(false);
    await rlock.release();
    expect(await rlock.locked()).toBe(false);
    expect(await other.acquire(false)).toBe(true);
  });

  it('release by a client that does not own it, or an extra release, is RuntimeError', async () => {
    const m = await startManager();
    const rlock = await m.RLock();
    const other = await share(await connectClient(m), rlock);
    await pyRaises(rlock.release(), PyRuntimeError, 'cannot release un-acquired lock');
    await rlock.acquire();
    await pyRaises(other.release(), PyRuntimeError, 'cannot release un-acquired lock');
    await rlock.release();
    await pyRaises(rlock.release(), PyRuntimeError, 'cannot release un-acquired lock');
  });

  it('held twice by a client whose connection closes: fully released to the waiter', async () => {
    const m = await startManager();
    const rlock = await m.RLock();
    const holder = await connectClient(m);
    const theirs = await share(holder, rlock);
    await theirs.acquire();
    await theirs.acquire();
    const waiting = tracked(rlock.acquire(true, 10));
    await rlock.locked();
    await holder.shutdown();
    expect(await waiting.promise).toBe(true);
    await rlock.release();
    expect(await rlock.locked()).toBe(false);
  });

  it('shows its owner and count in its repr', async () => {
    const m = await startManager();
    const rlock = await m.RLock();
    await rlock.acquire();
    await rlock.acquire();
    expect(await rlock.toString()).toMatch(/^<locked _thread\.RLock object owner='[^']+' count=2>$/);
    expect(await rlock.getValue()).toEqual({ locked: true, count: 2 });
  });
});

describe('Semaphore', () => {
  it('counts permits; acquire answers false when none is free', async () => {
    const m = await startManager();
    const sem = await m.Semaphore(2);
    expect(await sem.acquire()).toBe(true);
    expect(await sem.acquire()).toBe(true);
    expect(await sem.locked()).toBe(true);
    expect(await sem.acquire(false)).toBe(false);
    expect(await sem.acquire(true, 0.02)).toBe(false);
    await sem.release();
    expect(await sem.acquire(false)).toBe(true);
    await sem.callMethod('release', [], { n: 2 }); // Python 3.9+: release(n=2)
    expect(await sem.getValue()).toEqual({ value: 2 });
    await pyRaises(sem.callMethod('release', [0]), ValueError, 'n must be one or more');
  });

  it('validates its arguments as Python does', async () => {
    const m = await startManager();
    await pyRaises(m.Semaphore(-1), ValueError, 'semaphore initial value must be >= 0');
    const sem = await m.Semaphore(0);
    await pyRaises(sem.acquire(false, 1), ValueError, "can't specify timeout for non-blocking acquire");
  });

  it('an unbounded semaphore may be released past its initial value (signalling)', async () => {
    const m = await startManager();
    const sem = await m.Semaphore(0);
    const consumer = await share(await connectClient(m), sem);
    const waiting = tracked(consumer.acquire());
    await consumer.locked();
    expect(waiting.settled).toBe(false);
    await sem.release();
    expect(await waiting.promise).toBe(true);
    await sem.release();
    await sem.release();
    expect(await sem.getValue()).toEqual({ value: 2 });
  });

  it('permits held by a client whose connection closes come back', async () => {
    const m = await startManager();
    const sem = await m.Semaphore(2);
    const holder = await connectClient(m);
    const theirs = await share(holder, sem);
    await theirs.acquire();
    await theirs.acquire();
    const waiting = tracked(sem.acquire(true, 10));
    await sem.locked();
    expect(waiting.settled).toBe(false);
    await holder.shutdown();
    expect(await waiting.promise).toBe(true);
    expect(await sem.getValue()).toEqual({ value: 1 });
  });

  it('a permit released on the holder\'s behalf is not given back again when the holder leaves', async () => {
    const m = await startManager();
    const sem = await m.BoundedSemaphore(1);
    const holder = await connectClient(m);
    const theirs = await share(holder, sem);
    await theirs.acquire();
    await sem.release(); // another client gives the permit back
    await disconnect(m, holder);
    expect(await sem.getValue()).toEqual({ value: 1 });
    await pyRaises(sem.release(), ValueError, 'Semaphore released too many times');
  });
});

describe('BoundedSemaphore', () => {
  it('releasing past the initial value is ValueError', async () => {
    const m = await startManager();
    const sem = await m.BoundedSemaphore(2);
    await pyRaises(sem.release(), ValueError, 'Semaphore released too many times');
    await sem.acquire();
    await sem.release();
    await pyRaises(sem.release(), ValueError, 'Semaphore released too many times');
    expect(await sem.toString()).toBe('<threading.BoundedSemaphore: value=2/2>');
  });
});
