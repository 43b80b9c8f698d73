/**
 * Separate client processes (`node --import tsx test/fixtures/sync-*.ts`): a barrier of N processes
 * releases every one of them with distinct indices; a waiting party that is SIGKILLed breaks the barrier
 * for the others; a lock held by a SIGKILLed client is released and a waiter gets it.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BrokenBarrierError } from '../../../src/python-errors.js';
import { killAll, run } from '../../fixtures/processes.js';
import { AUTHKEY, pyRaises, startManager, tracked } from './support.js';
import type { BaseProxy } from '../../../proxies/base-proxy.js';
import type { SyncManager } from '../../../src/manager/sync-manager.js';

afterEach(() => killAll());

function handOver(m: SyncManager, key: string, proxy: BaseProxy): string[] {
  return [JSON.stringify({ address: m.address, authkey: AUTHKEY, [key]: proxy.toTransferable() })];
}

describe('client processes', () => {
  it('a barrier of 3 processes releases each with a distinct arrival index', async () => {
    const m = await startManager();
    const b = await m.Barrier(3);
    const parties = [1, 2, 3].map(() => run('test/fixtures/sync-barrier-party.ts', handOver(m, 'barrier', b)));
    const lines = await Promise.all(parties.map((p) => p.line(/^(index \d+|broken)$/, 40_000)));
    expect(lines.sort()).toEqual(['index 0', 'index 1', 'index 2']);
    expect(await Promise.all(parties.map((p) => p.exit(20_000)))).toEqual([0, 0, 0]);
    expect(await b.broken()).toBe(false);
  });

  it('a waiting party process that is SIGKILLed breaks the barrier for the others', async () => {
    const m = await startManager();
    const b = await m.Barrier(3);
    const doomed = run('test/fixtures/sync-barrier-party.ts', handOver(m, 'barrier', b));
    await doomed.line(/^waiting$/, 40_000);
    await vi.waitFor(async () => expect(await b.n_waiting()).toBe(1), { timeout: 20_000, interval: 20 });
    const mine = tracked(b.wait());
    expect(await b.n_waiting()).toBe(2);
    doomed.child.kill('SIGKILL');
    await pyRaises(mine.promise, BrokenBarrierError);
    expect(await b.broken()).toBe(true);
  });

  it('a lock held by a SIGKILLed client process is released, and a waiter gets it', async () => {
    const m = await startManager();
    const lock = await m.Lock();
    const holder = run('test/fixtures/sync-lock-holder.ts', handOver(m, 'lock', lock));
    await holder.line(/^held$/, 40_000);
    expect(await lock.acquire(false)).toBe(false);
    const waiting = tracked(lock.acquire(true, 30));
    expect(await lock.locked()).toBe(true);
    expect(waiting.settled).toBe(false);
    holder.child.kill('SIGKILL');
    expect(await waiting.promise).toBe(true);
    await lock.release();
  });
});
