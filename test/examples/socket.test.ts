/**
 * examples/socket/{server,client}.ts run as real processes (node --import tsx) on a free port and on a
 * Unix socket path: the reference program 1 scenario, plus a wrong authkey, a client that vanishes, and
 * 'close connection'. (Python clients against the example come with the pickle serializer.)
 */
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../../src/connection/index.js';
import { ConnectionClosedError } from '../../src/errors.js';
import { parseAddress } from '../../src/transport/address.js';
import { killAll, run, type Proc } from '../fixtures/processes.js';

const SERVER = 'examples/socket/server.ts';
const CLIENT = 'examples/socket/client.ts';
const TIMEOUT = 45_000;

afterEach(() => killAll());

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mpm-example-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function startServer(address: string, authkey = 'password'): Promise<{ server: Proc; address: string }> {
  const server = run(SERVER, ['--address', address, '--authkey', authkey]);
  const line = await server.line(/^listening on /);
  return { server, address: line.slice('listening on '.length) };
}

describe('examples/socket', () => {
  it('over TCP: survives a wrong key, a vanishing client and "close connection", then stops on "close server"', { timeout: TIMEOUT }, async () => {
    const { server, address } = await startServer('127.0.0.1:0');
    expect(address).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);

    // A wrong authkey: the client says so on one line and exits 1; the server logs it and goes on.
    const wrong = run(CLIENT, ['--address', address, '--authkey', 'not-the-password']);
    expect(await wrong.exit()).toBe(1);
    const errLines = wrong.stderr.filter((l) => l.trim() !== '');
    expect(errLines).toHaveLength(1);
    expect(errLines[0]).toMatch(/^error: .*authkeys differ/);

    // A client that connects and vanishes before the handshake.
    const [host, port] = parseAddress(address) as [string, number];
    const vanishing = net.connect({ host, port });
    vanishing.on('error', () => {});
    await once(vanishing, 'data'); // the challenge: read it, so that the close is a FIN, not a reset
    vanishing.destroy();

    // An authenticated client that sends one message and vanishes.
    const first = await Client([host, port], { authkey: 'password' });
    first.send({ n: 1 });
    await server.line(/n: 1/);
    first.close();

    // 'close connection' closes this connection only.
    const second = await Client([host, port], { authkey: 'password' });
    second.send('hello');
    second.send('close connection');
    await expect(second.recv()).rejects.toThrow(ConnectionClosedError);

    // The example client: foo1, foo2, close server.
    const client = run(CLIENT, ['--address', address]);
    expect(await client.exit()).toBe(0);
    expect(client.stderr.join('')).toBe('');
    expect(await server.exit()).toBe(0);

    const out = server.stdout.filter((l) => l !== '');
    expect(out[0]).toBe(`listening on ${address}`);
    expect(out.slice(1)).toEqual([
      expect.stringMatching(/^connection accepted from 127\.0\.0\.1:\d+$/),
      expect.stringMatching(/n: 1/),
      expect.stringMatching(/^connection accepted from 127\.0\.0\.1:\d+$/),
      'hello',
      'close connection',
      expect.stringMatching(/^connection accepted from 127\.0\.0\.1:\d+$/),
      'foo1',
      'foo2',
      'close server',
    ]);
    const log = server.stderr.join('\n');
    expect(log).toMatch(/handshake failed with 127\.0\.0\.1:\d+: the authkeys differ/);
    expect(log.match(/^handshake failed with 127\.0\.0\.1:\d+: /gm)).toHaveLength(2);
    // The server is gone: nothing listens any more.
    await expect(Client([host, port], { authkey: 'password' })).rejects.toMatchObject({ code: 'MPM_ERR_CONNECT', syscallCode: 'ECONNREFUSED' });
  });

  it('over a Unix socket path: the reference scenario, and the path is removed when the server stops', { timeout: TIMEOUT }, async () => {
    const path = join(dir, 'example.sock');
    const { server, address } = await startServer(path);
    expect(address).toBe(path);
    expect(existsSync(path)).toBe(true);
    const client = run(CLIENT, ['--address', path]);
    expect(await client.exit()).toBe(0);
    expect(await server.exit()).toBe(0);
    expect(server.stdout.filter((l) => l !== '')).toEqual([`listening on ${path}`, 'connection accepted from ', 'foo1', 'foo2', 'close server']);
    expect(existsSync(path)).toBe(false);
  });

  it('the client reports a bad option or a missing server on one line and exits 1', { timeout: TIMEOUT }, async () => {
    const missing = run(CLIENT, ['--address', join(dir, 'nobody-here.sock')]);
    const bogus = run(CLIENT, ['--bogus']);
    expect(await missing.exit()).toBe(1);
    expect(missing.stderr.filter((l) => l !== '')).toEqual([expect.stringMatching(/^error: .*ENOENT/)]);
    expect(await bogus.exit()).toBe(1);
    expect(bogus.stderr[0]).toMatch(/^error: .*bogus/);
  });
});
