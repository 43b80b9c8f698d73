/**
 * examples/patch-dict/{server,client}.ts run as real processes (node --import tsx), over TCP on a free
 * port and over a Unix socket path: reference program 2. The client prints the proxy and the shape of
 * its value and exits 0; a wrong authkey is one `error:` line and exit 1; the server serves until
 * SIGTERM or SIGINT and then exits 0. (Python peers against these come with the pickle serializer.)
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BaseManager } from '../../src/manager/base-manager.js';
import { pyRepr } from '../../src/python-repr.js';
import { parseAddress } from '../../src/transport/address.js';
import { killAll, run, type Proc } from '../fixtures/processes.js';
import { eventually } from '../fixtures/transports.js';

const SERVER = 'examples/patch-dict/server.ts';
const CLIENT = 'examples/patch-dict/client.ts';
const TIMEOUT = 45_000;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mpm-patch-dict-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => killAll());

async function startServer(address: string, authkey?: string): Promise<{ server: Proc; address: string }> {
  const server = run(SERVER, ['--address', address, ...(authkey === undefined ? [] : ['--authkey', authkey])]);
  const line = await server.line(/^listening on /);
  return { server, address: line.slice('listening on '.length) };
}

/** The client's two lines, checked; returns the printed repr. */
async function runClient(address: string, authkey?: string): Promise<string> {
  const client = run(CLIENT, ['--address', address, ...(authkey === undefined ? [] : ['--authkey', authkey])]);
  expect(await client.exit()).toBe(0);
  expect(client.stderr.join('')).toBe('');
  const out = client.stdout.filter((l) => l !== '');
  expect(out).toHaveLength(2);
  expect(out[0]).toMatch(/^Keys : \[\[0\.\d+(e-\d+)?, /);
  expect(out[1]).toBe('shape: (5, 1000)');
  return (out[0] as string).slice('Keys : '.length);
}

describe('examples/patch-dict', () => {
  it('over TCP: the client prints the proxy and the shape; a wrong authkey is one error line; SIGTERM stops the server', { timeout: TIMEOUT }, async () => {
    const { server, address } = await startServer('127.0.0.1:0');
    expect(address).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);

    const printed = await runClient(address);
    // The printed form is the server's repr of the very rows a manager reads back.
    const m = await new BaseManager(parseAddress(address), { authkey: 'password' }).connect();
    try {
      const proxy = await m.create('patch_dict');
      const rows = (await proxy.getValue()) as number[][];
      expect(rows).toHaveLength(5);
      for (const row of rows) {
        expect(row).toHaveLength(1000);
        expect(row.every((x) => typeof x === 'number' && x >= 0 && x < 1)).toBe(true);
      }
      expect(printed).toBe(pyRepr(rows));
      expect(new Set(rows.flat()).size).toBeGreaterThan(4000); // random, not a constant
      proxy.release();
      // Every object the example client made was given back when it exited.
      expect(await eventually(() => m.numberOfObjects(), 0)).toBe(0);
    } finally {
      await m.shutdown();
    }
    expect(await runClient(address)).toBe(printed); // one shared value

    const wrong = run(CLIENT, ['--address', address, '--authkey', 'not-the-password']);
    expect(await wrong.exit()).toBe(1);
    expect(wrong.stdout.filter((l) => l !== '')).toEqual([]);
    const errLines = wrong.stderr.filter((l) => l.trim() !== '');
    expect(errLines).toHaveLength(1);
    expect(errLines[0]).toMatch(/^error: AuthenticationError: .*authkeys differ/);

    await runClient(address); // the server did not mind
    server.child.kill('SIGTERM');
    expect(await server.exit()).toBe(0);
    expect(server.stdout.filter((l) => l !== '')).toEqual([`listening on ${address}`, 'SIGTERM: shutting down', 'server stopped']);
    expect(server.stderr.join('')).toBe('');
  });

  it('over a Unix socket path with another authkey; SIGINT stops the server and removes the path', { timeout: TIMEOUT }, async () => {
    const path = join(dir, 'patch-dict.sock');
    const { server, address } = await startServer(path, 'other-key');
    expect(address).toBe(path);
    expect(existsSync(path)).toBe(true);
    await runClient(path, 'other-key');
    const wrong = run(CLIENT, ['--address', path]); // the default key, 'password'
    expect(await wrong.exit()).toBe(1);
    expect(wrong.stderr.filter((l) => l !== '')).toEqual([expect.stringMatching(/^error: AuthenticationError: /)]);
    server.child.kill('SIGINT');
    expect(await server.exit()).toBe(0);
    expect(server.stdout.filter((l) => l !== '').slice(1)).toEqual(['SIGINT: shutting down', 'server stopped']);
    expect(existsSync(path)).toBe(false);
  });

  it('the client reports a missing server or a bad option on one line and exits 1', { timeout: TIMEOUT }, async () => {
    const missing = run(CLIENT, ['--address', join(dir, 'nobody-here.sock')]);
    const bogus = run(CLIENT, ['--bogus']);
    expect(await missing.exit()).toBe(1);
    expect(missing.stderr.filter((l) => l !== '')).toEqual([expect.stringMatching(/^error: .*ENOENT/)]);
    expect(await bogus.exit()).toBe(1);
    expect(bogus.stderr[0]).toMatch(/^error: .*bogus/);
    expect(bogus.stderr[1]).toMatch(/^usage: client\.ts/);
  });
});
