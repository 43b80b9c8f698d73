/**
 * examples/queue-channels/{server,client}.ts as real processes: several clients at once each get
 * exactly their own results; a channel id already taken is refused; a wrong authkey is one error line.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, run, type Proc } from '../fixtures/processes.js';

const SERVER = 'examples/queue-channels/server.ts';
const CLIENT = 'examples/queue-channels/client.ts';
const TIMEOUT = 60_000;

afterEach(() => killAll());

async function startServer(): Promise<{ server: Proc; address: string; resultAddress: string }> {
  const server = run(SERVER, ['--address', '127.0.0.1:0', '--result-address', '127.0.0.1:0']);
  const line = await server.line(/^listening on /);
  const m = /^listening on (\S+) and (\S+)$/.exec(line);
  if (!m) throw new Error(`unexpected line: ${line}`);
  return { server, address: m[1] as string, resultAddress: m[2] as string };
}

function client(address: string, resultAddress: string, channel: string, extra: string[] = []): Proc {
  return run(CLIENT, ['--channel', channel, '--count', '25', '--address', address, '--result-address', resultAddress, ...extra]);
}

describe('examples/queue-channels', () => {
  it('serves three clients at once, each gets its own 25 results; a taken channel is refused; SIGINT stops it', { timeout: TIMEOUT }, async () => {
    const { server, address, resultAddress } = await startServer();
    const clients = ['a', 'b', 'c'].map((ch) => client(address, resultAddress, ch));
    const codes = await Promise.all(clients.map((c) => c.exit(TIMEOUT / 2)));
    expect(codes).toEqual([0, 0, 0]);
    for (const c of clients) {
      expect(c.stdout.filter((l) => l !== '')).toEqual(['received 25 results']);
      expect(c.stderr.join('')).toBe('');
    }

    const again = client(address, resultAddress, 'b');
    expect(await again.exit()).toBe(1);
    expect(again.stderr.join('\n')).toMatch(/^error: \[Error\] Please give me another channel id, not b$/m);

    server.child.kill('SIGINT');
    expect(await server.exit()).toBe(0);
  });

  it('a wrong authkey ends the client with one error line, and the server keeps serving', { timeout: TIMEOUT }, async () => {
    const { address, resultAddress } = await startServer();
    const bad = client(address, resultAddress, 'x', ['--authkey', 'wrong']);
    expect(await bad.exit()).toBe(1);
    expect(bad.stderr.filter((l) => l !== '')).toHaveLength(1);
    expect(bad.stderr[0]).toMatch(/^error: .*authkeys differ/);
    const good = client(address, resultAddress, 'y');
    expect(await good.exit()).toBe(0);
    expect(good.stdout).toContain('received 25 results');
  });
});
