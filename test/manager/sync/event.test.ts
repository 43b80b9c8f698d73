/**
 * `Event` against Python's `threading.Event`: `set`/`clear`/`is_set`, `wait(timeout)` answers the flag
 * (false on timeout), a `set` from another client wakes every waiter, an aborted wait leaves the
 * connection usable.
 */
import { describe, expect, it } from 'vitest';
import { AbortError } from '../../../src/errors.js';
import { connectClient, share, startManager, tracked } from './support.js';

describe('Event', () => {
  it('set, clear, is_set; wait answers at once when set, false on timeout when not', async () => {
    const m = await startManager();
    const ev = await m.Event();
    expect(await ev.is_set()).toBe(false);
    expect(await ev.wait(0.02)).toBe(false);
    expect(await ev.wait(0)).toBe(false);
    expect(await ev.callMethod('wait', [], { timeout: 0 })).toBe(false);
    await ev.set();
    expect(await ev.is_set()).toBe(true);
    expect(await ev.wait()).toBe(true);
    expect(await ev.wait(0)).toBe(true);
    await ev.clear();
    expect(await ev.is_set()).toBe(false);
  });

  it('a set from another client wakes every waiter; waiting delays nobody', async () => {
    const m = await startManager();
    const ev = await m.Event();
    const waiters = await Promise.all([1, 2, 3].map(async () => share(await connectClient(m), ev)));
    const waits = waiters.map((w) => tracked(w.wait()));
    for (const w of waiters) expect(await w.is_set()).toBe(false);
    expect(waits.some((w) => w.settled)).toBe(false);
    const setter = await share(await connectClient(m), ev);
    await setter.set();
    expect(await Promise.all(waits.map((w) => w.promise))).toEqual([true, true, true]);
  });

  it('an aborted wait rejects with AbortError and the connection goes on', async () => {
    const m = await startManager();
    const ev = await m.Event();
    const ac = new AbortController();
    const waiting = ev.wait(null, { signal: ac.signal });
    await ev.is_set();
    ac.abort();
    await expect(waiting).rejects.toBeInstanceOf(AbortError);
    await ev.set();
    expect(await ev.wait(1)).toBe(true);
  });

  it('reads its repr and #GETVALUE', async () => {
    const m = await startManager();
    const ev = await m.Event();
    expect(await ev.toString()).toBe('<threading.Event: unset>');
    await ev.set();
    expect(await ev.getValue()).toEqual({ set: true });
  });
});
