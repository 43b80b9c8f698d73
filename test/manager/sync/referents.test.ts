/**
 * The referents called in-process, with simulated callers (`withCall`): what cannot travel over the wire
 * (a barrier action, a sort key function, dicts with non-string keys as Maps, async iterators) and
 * ownership rules decided by who is calling (the LOCAL owner, a connection owner that closes).
 */
import { describe, expect, it } from 'vitest';
import { BrokenBarrierError, PyRuntimeError, StopIteration } from '../../../src/python-errors.js';
import { tuple } from '../../../src/codec/values.js';
import { ConnectionOwner, withCall } from '../../../src/server/context.js';
import { GET_VALUE } from '../../../src/server/dispatch.js';
import { pyRepr } from '../../../src/python-repr.js';
import { Barrier, Condition, Dict, List, Lock, PyIterator, RLock, Semaphore } from '../../../src/manager/sync/index.js';

const signal = new AbortController().signal;
function as<T>(owner: ConnectionOwner, fn: () => T): T {
  return withCall({ owner, signal }, fn);
}

describe('ownership', () => {
  it('an RLock belongs to its caller; closing the caller releases it to the next waiter', async () => {
    const a = new ConnectionOwner('a');
    const b = new ConnectionOwner('b');
    const r = new RLock();
    expect(as(a, () => r.acquire())).toBe(true);
    expect(as(a, () => r.acquire())).toBe(true);
    expect(() => as(b, () => r.release())).toThrow(PyRuntimeError);
    const waiting = as(b, () => r.acquire());
    a.close();
    expect(await waiting).toBe(true);
    expect(r._is_owned(b)).toBe(true);
    as(b, () => r.release());
    expect(r.locked()).toBe(false);
  });

  it('a Lock taken over by another caller is not released when the first caller closes', () => {
    const a = new ConnectionOwner('a');
    const b = new ConnectionOwner('b');
    const l = new Lock();
    as(a, () => l.acquire());
    as(b, () => l.release());
    as(b, () => l.acquire());
    a.close();
    expect(l.locked()).toBe(true);
    b.close();
    expect(l.locked()).toBe(false);
  });

  it('a semaphore used for signalling (initial 0) never returns a consumed permit on close', () => {
    const producer = new ConnectionOwner('p');
    const consumer = new ConnectionOwner('c');
    const s = new Semaphore(0);
    as(producer, () => s.release());
    expect(as(consumer, () => s.acquire(false))).toBe(true);
    consumer.close();
    expect(s[GET_VALUE]()).toEqual({ value: 0 });
  });

  it('a condition waiter that closes while taking the lock back stops waiting for it', async () => {
    const a = new ConnectionOwner('a');
    const b = new ConnectionOwner('b');
    const ac = new AbortController();
    const c = new Condition(new Lock());
    as(a, () => c.acquire());
    const waiting = withCall({ owner: a, signal: ac.signal }, () => c.wait());
    as(b, () => c.acquire());
    ac.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
    a.close();
    as(b, () => c.release());
    expect(c.locked()).toBe(false);
  });
});

describe('in-process only', () => {
  it('a barrier runs its action in the last arrival; a failing action breaks it', async () => {
    const calls: number[] = [];
    const b = new Barrier(2, () => calls.push(1));
    const first = b.wait();
    expect(b.wait()).toBe(1);
    expect(await first).toBe(0);
    expect(calls).toEqual([1]);
    const failing = new Barrier(2, () => {
      throw new Error('action failed');
    });
    const other = failing.wait();
    expect(() => failing.wait()).toThrow('action failed');
    await expect(other).rejects.toBeInstanceOf(BrokenBarrierError);
    expect(failing.broken).toBe(true);
  });

  it('list.sort takes a key function from in-process callers', () => {
    const l = new List(['bbb', 'a', 'cc']);
    l.sort((s: string) => s.length);
    expect(l[GET_VALUE]()).toEqual(['a', 'cc', 'bbb']);
  });

  it('a dict with non-string keys has a Map for its value; string keys give a plain object', () => {
    const d = new Dict([
      [1, 'a'],
      [tuple(2, 3), 'b'],
    ]);
    const value = d[GET_VALUE]();
    expect(value).toBeInstanceOf(Map);
    expect([...(value as Map<unknown, unknown>).keys()]).toEqual([1, tuple(2, 3)]);
    expect(new Dict({ x: 1 }, { y: 2 })[GET_VALUE]()).toEqual({ x: 1, y: 2 });
    expect(pyRepr(new Dict(new Map([[null, true]])))).toBe('{None: True}');
  });

  it('the iterator wrapper drives generators (send, throw, close) and async iterators', async () => {
    function* echo(): Generator<unknown, string, unknown> {
      let got: unknown = 'start';
      for (;;) {
        try {
          got = yield got;
          if (got === 'stop') return 'done';
        } catch (err) {
          got = `caught ${(err as Error).message}`;
        }
      }
    }
    const it = new PyIterator(echo());
    expect(it.__next__()).toBe('start');
    expect(it.send('x')).toBe('x');
    expect(it.throw(new Error('boom'))).toBe('caught boom');
    const stop = (() => {
      try {
        it.send('stop');
      } catch (err) {
        return err;
      }
    })();
    expect(stop).toBeInstanceOf(StopIteration);
    expect((stop as StopIteration).args).toEqual(['done']);
    async function* twice() {
      yield 1;
      yield 2;
    }
    const ai = new PyIterator(twice());
    expect(await ai.__next__()).toBe(1);
    await ai.close();
    expect(() => ai.__next__()).toThrow(StopIteration);
  });
});
