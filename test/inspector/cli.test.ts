/**
 * `mpmanager serve --inspector` as a real process: it prints the inspector's address with its token, the
 * page and `/metrics` answer with it, the server's clients show up there, a wide bind without TLS is
 * warned about, and SIGTERM stops both.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SyncManager } from '../../src/manager/sync-manager.js';
import { parseAddress } from '../../src/transport/address.js';
import { killAll, run } from '../fixtures/processes.js';
import { parseMetrics } from './support.js';

const TIMEOUT = 45_000;
afterEach(() => killAll());

describe('mpmanager serve --inspector', () => {
  it('prints the inspector address with its token, and serves the page and /metrics', { timeout: TIMEOUT }, async () => {
    const server = run('src/cli.ts', ['serve', '--address', '127.0.0.1:0', '--authkey', 'cli-inspector-key', '--inspector', '0']);
    const address = (await server.line(/^listening on /)).slice('listening on '.length);
    const url = new URL((await server.line(/^inspector at /)).slice('inspector at '.length));
    expect(url.hostname).toBe('127.0.0.1');
    expect(url.searchParams.get('token')).toMatch(/^[\w-]{32}$/);
    expect(server.stderr.join('\n')).not.toContain('WARNING');

    const manager = await new SyncManager(parseAddress(address), { authkey: 'cli-inspector-key' }).connect();
    try {
      const q = await manager.Queue<number>();
      await q.put(1);
      expect((await fetch(url)).status).toBe(200);
      expect((await fetch(new URL('/metrics', url))).status).toBe(401);
      const metrics = parseMetrics(await (await fetch(new URL(`/metrics${url.search}`, url))).text());
      expect(metrics.get('mpmanager_objects{typeid="Queue",backend="memory"}')).toBe(1);
      expect(metrics.get('mpmanager_connections{dialect="native"}')).toBe(1);
    } finally {
      await manager.shutdown();
    }
    server.child.kill('SIGTERM');
    expect(await server.exit()).toBe(0);
  });

  it('warns when the inspector listens beyond this machine without TLS', { timeout: TIMEOUT }, async () => {
    const server = run('src/cli.ts', ['serve', '--address', '127.0.0.1:0', '--authkey', 'cli-inspector-key', '--inspector', '0.0.0.0:0']);
    await server.line(/^inspector at /);
    server.child.kill('SIGTERM');
    expect(await server.exit()).toBe(0);
    // Read once it has exited: stderr and stdout are separate pipes, in no order between them.
    expect(server.stderr.join('\n')).toMatch(/WARNING: the inspector listens on 0\.0\.0\.0:0 without TLS/);
  });

  it('refuses --inspector-values without --inspector', { timeout: TIMEOUT }, async () => {
    const server = run('src/cli.ts', ['serve', '--address', '127.0.0.1:0', '--authkey', 'k', '--inspector-values']);
    expect(await server.exit()).toBe(1);
    expect(server.stderr.join('\n')).toMatch(/need --inspector/);
  });
});
