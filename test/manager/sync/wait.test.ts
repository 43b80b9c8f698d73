/**
 * The wait queue under every blocking referent: FIFO hand-offs, timeouts in seconds whose timers are
 * cleared when the waiter settles, aborts that remove the waiter at once, and waits longer than
 * `setTimeout` can take.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Empty, ValueError } from '../../../src/python-errors.js';
import { WaitQueue, seconds } from '../../../src/server/wait.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('WaitQueue', () => {
  it('settles waiters first in, first out, and clears their timers', async () => {
    const q = new WaitQueue<string, number>();
    const a = q.wait('a', { timeout: 10, onTimeout: () => -1 });
    const b = q.wait('b', { timeout: null, onTimeout: () => -1 });
    expect(q.size).toBe(2);
    expect(vi.getTimerCount()).toBe(1);
    const first = q.shift();
    expect(first?.data).toBe('a');
    first?.resolve(1);
    expect(vi.getTimerCount()).toBe(0);
    q.shift()?.resolve(2);
    expect(await Promise.all([a, b])).toEqual([1, 2]);
    expect(q.size).toBe(0);
  });

  it('times out after the timeout in seconds, with onTimeout\'s value or error', async () => {
    const q = new WaitQueue<undefined, boolean>();
    const v = q.wait(undefined, { timeout: 1.5, onTimeout: () => false });
    const e = q.wait(undefined, {
      timeout: 2,
      onTimeout: () => {
        throw new Empty();
      },
    });
    e.catch(() => {});
    await vi.advanceTimersByTimeAsync(1499);
    expect(q.size).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(await v).toBe(false);
    expect(q.size).toBe(1);
    await vi.advanceTimersByTimeAsync(500);
    await expect(e).rejects.toBeInstanceOf(Empty);
    expect(q.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a timeout <= 0 answers at once without queueing or a timer', async () => {
    const q = new WaitQueue<undefined, string>();
    expect(await q.wait(undefined, { timeout: 0, onTimeout: () => 'now' })).toBe('now');
    expect(await q.wait(undefined, { timeout: -1, onTimeout: () => 'now' })).toBe('now');
    expect(q.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('an abort removes the waiter at once, clears its timer, runs onAbort and rejects with the reason', async () => {
    const q = new WaitQueue<number, void>();
    const ac = new AbortController();
    const onAbort = vi.fn(() => expect(q.size).toBe(1));
    const w = q.wait(1, { timeout: 60, signal: ac.signal, onTimeout: () => undefined, onAbort });
    q.wait(2, { timeout: null, onTimeout: () => undefined }).catch(() => {});
    const reason = new Error('gone');
    ac.abort(reason);
    expect(q.size).toBe(1);
    expect(q.peek()?.data).toBe(2);
    expect(onAbort).toHaveBeenCalledOnce();
    expect(vi.getTimerCount()).toBe(0);
    await expect(w).rejects.toBe(reason);
    const already = q.wait(3, { timeout: null, signal: ac.signal, onTimeout: () => undefined });
    await expect(already).rejects.toBe(reason);
    expect(q.size).toBe(1);
  });

  it('waits longer than setTimeout allows by re-arming', async () => {
    const q = new WaitQueue<undefined, string>();
    const days = 30 * 24 * 3600;
    const w = q.wait(undefined, { timeout: days, onTimeout: () => 'late' });
    await vi.advanceTimersByTimeAsync(2 ** 31);
    expect(q.size).toBe(1);
    await vi.advanceTimersByTimeAsync(days * 1000 - 2 ** 31);
    expect(await w).toBe('late');
  });

  it('drain takes every waiter in order', async () => {
    const q = new WaitQueue<number, number>();
    const ws = [1, 2, 3].map((n) => q.wait(n, { timeout: 5, onTimeout: () => 0 }));
    const taken = q.drain();
    expect(taken.map((w) => w.data)).toEqual([1, 2, 3]);
    for (const w of taken) w.resolve(w.data * 10);
    expect(await Promise.all(ws)).toEqual([10, 20, 30]);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('seconds', () => {
  it('reads Python timeouts: None and inf are forever; NaN and non-numbers are refused', () => {
    expect(seconds(null)).toBe(null);
    expect(seconds(undefined)).toBe(null);
    expect(seconds(Infinity)).toBe(null);
    expect(seconds(2n)).toBe(2);
    expect(seconds(0.5)).toBe(0.5);
    expect(() => seconds(Number.NaN)).toThrow(ValueError);
    expect(() => seconds('1')).toThrow(ValueError);
  });
});
