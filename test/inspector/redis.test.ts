/**
 * Shared objects on the inspector: a queue kept in Redis is listed as such, under its name, with its depth
 * (looked up in Redis, at most once a second), and `/metrics` gives its depth by name.
 */
import { describe, expect, it } from 'vitest';
import { registerShared } from '../../src/manager/shared.js';
import { SyncManager } from '../../src/manager/sync-manager.js';
import { startInspector } from '../../src/inspector/index.js';
import type { QueueProxy } from '../../proxies/queue-proxy.js';
import { REDIS_SKIP, open, useRedisServer } from '../fixtures/redis.js';
import { AUTHKEY, parseMetrics, until } from './support.js';

describe.skipIf(REDIS_SKIP !== null)('inspector and shared objects', () => {
  useRedisServer();

  it('lists a shared queue in Redis with its name and depth, and exports the depth', async () => {
    const objects = await open();
    class JobManager extends SyncManager {}
    registerShared(JobManager, 'jobs', 'Queue', objects);
    const server = await new JobManager(['127.0.0.1', 0], { authkey: AUTHKEY }).getServer();
    const inspector = await startInspector(server, { port: 0 });
    void server.serveForever();
    const client = await new JobManager(server.address, { authkey: AUTHKEY }).connect();
    try {
      const jobs = (await (client as unknown as { jobs(): Promise<QueueProxy> }).jobs());
      for (const job of ['a', 'b']) await jobs.put(job);
      const get = (path: string) => fetch(`http://127.0.0.1:${inspector.address.port}${path}`, { headers: { authorization: `Bearer ${inspector.token}` } }).then((r) => r.text());
      const row = await until(
        async () => (JSON.parse(await get('/api/snapshot')) as { objects: Array<Record<string, unknown>> }).objects.find((o) => o.name === 'jobs'),
        (o) => o?.size === 2,
      );
      expect(row).toMatchObject({ typeid: 'jobs', backend: 'redis', name: 'jobs', size: 2 });
      const metrics = parseMetrics(await get('/metrics'));
      expect(metrics.get('mpmanager_queue_depth{name="jobs"}')).toBe(2);
      expect(metrics.get('mpmanager_objects{typeid="jobs",backend="redis"}')).toBe(1);
    } finally {
      await client.shutdown();
      await server.shutdown();
    }
  });
});
