/**
 * NODE_DEBUG=mpmanager shows what a server does, not only what fails: where it listens, each connection
 * accepted and closed (peer as users write addresses, transport, dialect), handshake failures, creates
 * and releases; addresses as `127.0.0.1:5000`, never as arrays; never the authkey. A real process, since
 * debuglog reads NODE_DEBUG once per process.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { killAll, run } from '../fixtures/processes.js';

afterEach(() => killAll());

describe('NODE_DEBUG=mpmanager', () => {
  it('logs listening, accepted and closed connections with their dialect, creates and releases, and handshake failures', { timeout: 45_000 }, async () => {
    const child = run('test/connection/debug-log-child.ts', [], { env: { NODE_DEBUG: 'mpmanager' } });
    expect(await child.exit(), child.describe()).toBe(0);
    expect(child.stdout).toContain('done');
    expect(child.stdout).toContain('intruder AuthenticationError');
    const address = child.stdout.find((l) => l.startsWith('address '))!.slice('address '.length);
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    const lines = child.stderr.filter((l) => l.startsWith('MPMANAGER '));
    const log = lines.join('\n');
    const has = (pattern: RegExp) => expect(lines.some((l) => pattern.test(l)), `${pattern} in\n${log}`).toBe(true);

    const peer = '127\\.0\\.0\\.1:\\d+';
    has(new RegExp(`: listening on ${address.replace(/\./g, '\\.')}$`));
    for (const dialect of ['native', 'cpython']) {
      has(new RegExp(`: accepted ${peer} over tcp, dialect ${dialect}$`));
      has(new RegExp(`: closed ${peer} over tcp, dialect ${dialect}$`));
    }
    has(new RegExp(`: create dict [0-9a-f]+ from ${peer}$`));
    // The CPython dialect releases with a decref control request (the native one with its own message).
    has(new RegExp(`: decref dict [0-9a-f]+ \\(released\\) from ${peer}$`));
    has(new RegExp(`: handshake failed with ${peer} over tcp: .*authkeys differ`));

    expect(log).not.toMatch(/\[ *'127\.0\.0\.1'/); // addresses as users write them, not arrays
    expect(log).not.toContain('debug-log-secret-authkey');
    expect(log).not.toContain('not-the-key');
  });
});
