/**
 * examples/fork-queue: a parent hands a Queue proxy to forked children with toTransferable(); each child
 * rebuild()s it and puts its items; the parent gets every item, and the queue outlives no one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, run } from '../fixtures/processes.js';

afterEach(() => killAll());

describe('examples/fork-queue', () => {
  it('collects every item the children put on the shared queue', { timeout: 45_000 }, async () => {
    const main = run('examples/fork-queue/main.ts', ['--children', '3', '--items', '4']);
    expect(await main.exit()).toBe(0);
    const lines = main.stdout.filter((l) => l !== '');
    const sent = lines.filter((l) => l.startsWith('child ')).sort();
    const expected = [0, 1, 2].flatMap((c) => [1, 2, 3, 4].map((i) => `child ${c} sent ${c * 100 + i}`)).sort();
    expect(sent).toEqual(expected);
    expect(lines.at(-1)).toBe('12 items from 3 children, sum 1230');
  });
});
