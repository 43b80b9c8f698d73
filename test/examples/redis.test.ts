/**
 * examples/redis as its README runs it: two example servers on one redis-server (started here), a stock
 * CPython worker on the second, and the TypeScript client on the first: every job put through one server
 * is done through the other, and the results come back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { REDIS_SKIP, useRedisServer } from '../fixtures/redis.js';
import { killAll, run, start } from '../fixtures/processes.js';
import { pythonVersions } from '../support/python.js';

const TIMEOUT = 60_000;
afterEach(() => killAll());

const py = pythonVersions().find((v) => v.available);

describe.skipIf(REDIS_SKIP !== null || py === undefined)(`examples/redis${REDIS_SKIP === null ? '' : ` (${REDIS_SKIP})`}`, () => {
  const redis = useRedisServer();

  it('a Node client and a stock CPython worker share the jobs and results through two servers', { timeout: TIMEOUT }, async () => {
    const port = async () => {
      const server = run('examples/redis/server.ts', ['0', redis().url], { env: { MPM_AUTHKEY: 'example-test' } });
      const line = await server.line(/^listening on /);
      return /:(\d+),/.exec(line)?.[1] as string;
    };
    const [a, b] = await Promise.all([port(), port()]);
    const worker = start('python3', ['examples/redis/worker.py', b], { env: { ...py!.env, MPM_AUTHKEY: 'example-test' } });
    const client = run('examples/redis/client.ts', [a, b, '6'], { env: { MPM_AUTHKEY: 'example-test' } });
    expect(await client.exit(), client.describe()).toBe(0);
    expect(client.stdout).toContain('results: {"1":1,"2":4,"3":9,"4":16,"5":25,"6":36}');
    expect(await worker.exit(), worker.describe()).toBe(0);
    expect(worker.stdout).toContain('worker done');
  });
});
