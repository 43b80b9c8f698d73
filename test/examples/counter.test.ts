/**
 * examples/counter (the README's quick start) as real processes: each client creates its own Counter
 * and prints 5; the server stops on SIGINT.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, run } from '../fixtures/processes.js';

afterEach(() => killAll());

describe('examples/counter', () => {
  it('serves clients that each create and call their own Counter', { timeout: 45_000 }, async () => {
    const server = run('examples/counter/server.ts', ['--address', '127.0.0.1:0']);
    const address = (await server.line(/^listening on /)).slice('listening on '.length);
    for (let i = 0; i < 2; i++) {
      const client = run('examples/counter/client.ts', ['--address', address]);
      expect(await client.exit()).toBe(0);
      expect(client.stdout.filter((l) => l !== '')).toEqual(['counter: 5']);
    }
    server.child.kill('SIGINT');
    expect(await server.exit()).toBe(0);
  });
});
