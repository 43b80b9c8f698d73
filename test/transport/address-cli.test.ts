/**
 * `mpmanager serve --address` reads addresses strictly: a typo is one line naming the accepted forms and
 * makes no socket file, and listening on every interface is said out loud (a warning on stderr).
 */
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli.js';
import { killAll, run } from '../fixtures/processes.js';

afterEach(() => {
  vi.restoreAllMocks();
  killAll();
});

describe('mpmanager serve --address', () => {
  it.each([
    ['localhost', /^mpmanager serve: 'localhost' is not an address: use HOST:PORT \(127\.0\.0\.1:5000\)/],
    ['foo:bar', /^mpmanager serve: 'foo:bar' is not an address \(the port must be a whole number from 0 to 65535, not 'bar'\)/],
    ['127.0.0.1:-1', /^mpmanager serve: '127\.0\.0\.1:-1' is not an address/],
    ['5000', /^mpmanager serve: '5000' is not an address \(a port alone: did you mean 127\.0\.0\.1:5000\?\)/],
    [':5000', /^mpmanager serve: ':5000' is not an address \(no host: write 0\.0\.0\.0 to listen on every interface/],
  ])('refuses %j in one line, before binding anything', async (address, message) => {
    const stderr: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr.push(String(chunk));
      return true;
    });
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const existed = existsSync(address);
    expect(await main(['serve', '--address', address, '--authkey', 'k'])).toBe(1);
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toMatch(message);
    if (!existed) expect(existsSync(address)).toBe(false);
  });

  it('warns on stderr when it listens on every interface', { timeout: 45_000 }, async () => {
    const server = run('src/cli.ts', ['serve', '--address', '0.0.0.0:0', '--authkey', 'k']);
    await server.line(/^listening on 0\.0\.0\.0:\d+$/);
    expect(server.stderr[0]).toMatch(/^warning: listening on every interface \(0\.0\.0\.0:0\): any host that can reach this machine can connect/);
    server.child.kill('SIGTERM'); // (how serve stops is test/cli.test.ts's business)
    await server.exit();
  });
});
