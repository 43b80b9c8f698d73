/**
 * Issue #11, defect 5: the pickle-dialect client killed its own process. A call given an AbortSignal that
 * was already aborted (or aborted in a microtask), and some `AbortSignal.timeout` cancellations, rejected
 * as they should, and then the process died on an unhandled `ConnectionClosedError` from the connection
 * the call abandoned. The unit cases are in test/protocol/classic-client.test.ts; this is the end-to-end
 * check, in a real child process (fixtures/abort-client.ts) against our server, where Node's own default
 * (an unhandled rejection ends the process) is the judge.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SyncManager } from '../../src/manager/sync-manager.js';
import { killAll, run } from '../fixtures/processes.js';
import { AUTHKEY } from './support.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  killAll();
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

describe('pickle-dialect client aborts (issue #11, defect 5)', () => {
  it('a process making 50 calls with already-aborted, microtask-aborted and AbortSignal.timeout(1) signals exits 0', async () => {
    const m = await new SyncManager(['127.0.0.1', 0], { authkey: AUTHKEY }).start();
    cleanup.push(() => m.shutdown());
    const d = await m.dict<string, string>();
    await d.set('k', 'value');
    const q = await m.Queue<string>();
    const start = await m.numberOfObjects();
    const child = run('test/reliability/fixtures/abort-client.ts', [JSON.stringify({ address: m.address, authkey: AUTHKEY, dict: d.toTransferable(), queue: q.toTransferable() })]);
    const code = await child.exit(30_000);
    expect(code, child.describe()).toBe(0);
    const done = child.stdout.find((l) => l.startsWith('done '));
    expect(done, child.describe()).toMatch(/^done aborted=\d+ completed=\d+ then=value$/);
    const [, aborted, completed] = /aborted=(\d+) completed=(\d+)/.exec(done ?? '') ?? [];
    expect(Number(aborted) + Number(completed)).toBe(50);
    // The 34 calls aborted before they could be sent, or within the same tick, are always aborted.
    expect(Number(aborted)).toBeGreaterThanOrEqual(34);
    // Nothing taken from the queue by a cancelled get, and the server lost nothing.
    expect(await q.qsize()).toBe(0);
    expect(await d.get('k')).toBe('value');
    expect(await m.numberOfObjects()).toBe(start);
  });
});
