/**
 * `Barrier` against Python's `threading.Barrier`: `wait` returns arrival indices and the barrier cycles;
 * `parties`, `n_waiting`, `broken` through `__getattribute__`; a timeout, `abort()` or a waiting party
 * that vanishes breaks it for everyone (`BrokenBarrierError`) until `reset()`.
 */
import { describe, expect, it } from 'vitest';
import { AbortError } from '../../../src/errors.js';
import { AttributeError, BrokenBarrierError, ValueError } from '../../../src/python-errors.js';
import { connectClient, pyRaises, share, startManager, tracked } from './support.js';

describe('Barrier', () => {
  it('releases a full round with indices 0..parties-1, and cycles', async () => {
    const m = await startManager();
    const b = await m.Barrier(3);
    const parties = await Promise.all([1, 2, 3].map(async () => share(await connectClient(m), b)));
    for (let round = 0; round < 2; round++) {
      const indices: number[] = [];
      const waits: Array<Promise<void>> = [];
      for (const p of parties) {
        waits.push(p.wait(10).then((i) => void indices.push(i)));
        await p.n_waiting(); // arrival order is the order the waits reach the server
      }
      await Promise.all(waits);
      expect(indices.sort()).toEqual([0, 1, 2]);
    }
    expect(await b.n_waiting()).toBe(0);
    expect(await b.broken()).toBe(false);
  });

  it('answers parties, n_waiting and broken through __getattribute__ (CPython BarrierProxy)', async () => {
    const m = await startManager();
    const b = await m.Barrier(2);
    expect(await b.parties()).toBe(2);
    const first = tracked(b.wait(10));
    expect(await b.n_waiting()).toBe(1);
    expect(await b.callMethod('__getattribute__', ['parties'])).toBe(2);
    await pyRaises(b.callMethod('__getattribute__', ['_count']), AttributeError);
    expect(await b.toString()).toBe('<threading.Barrier: waiters=1/2>');
    expect(await b.wait(10)).toBe(1);
    expect(await first.promise).toBe(0);
  });

  it('a timed-out wait breaks the barrier for every waiter until reset()', async () => {
    const m = await startManager();
    const b = await m.Barrier(3);
    const other = await share(await connectClient(m), b);
    const patient = other.wait(10);
    patient.catch(() => {});
    await other.n_waiting();
    await pyRaises(b.wait(0.02), BrokenBarrierError);
    await pyRaises(patient, BrokenBarrierError);
    expect(await b.broken()).toBe(true);
    await pyRaises(b.wait(10), BrokenBarrierError);
    await b.reset();
    expect(await b.broken()).toBe(false);
    const again = tracked(b.wait(10));
    await b.n_waiting();
    expect(again.settled).toBe(false);
    await b.abort();
    await pyRaises(again.promise, BrokenBarrierError);
  });

  it('reset() with waiters gives them BrokenBarrierError and leaves the barrier usable', async () => {
    const m = await startManager();
    const b = await m.Barrier(2);
    const waiting = b.wait(10);
    waiting.catch(() => {});
    await b.n_waiting();
    await b.reset();
    await pyRaises(waiting, BrokenBarrierError);
    expect(await b.broken()).toBe(false);
    const [x, y] = await Promise.all([b.wait(10), b.wait(10)]);
    expect([x, y].sort()).toEqual([0, 1]);
  });

  it('a waiting party whose connection vanishes breaks the barrier instead of hanging the others', async () => {
    const m = await startManager();
    const b = await m.Barrier(3);
    const leaving = await connectClient(m);
    const theirs = await share(leaving, b);
    const gone = theirs.wait();
    gone.catch(() => {});
    await theirs.n_waiting();
    const mine = b.wait(); // no timeout: only the break can end it
    mine.catch(() => {});
    await b.n_waiting();
    await leaving.shutdown();
    await pyRaises(mine, BrokenBarrierError);
    expect(await b.broken()).toBe(true);
  });

  it('an aborted wait breaks it too, and the aborting connection goes on', async () => {
    const m = await startManager();
    const b = await m.Barrier(2);
    const ac = new AbortController();
    const waiting = b.wait(null, { signal: ac.signal });
    await b.n_waiting();
    ac.abort();
    await expect(waiting).rejects.toBeInstanceOf(AbortError);
    expect(await b.broken()).toBe(true);
  });

  it('parties must be >= 1; the default timeout applies to each wait', async () => {
    const m = await startManager();
    await pyRaises(m.Barrier(0), ValueError, 'parties must be >= 1');
    const b = await m.Barrier(2, { timeout: 0.02 });
    await pyRaises(b.wait(), BrokenBarrierError);
    expect(await b.broken()).toBe(true);
  });
});
