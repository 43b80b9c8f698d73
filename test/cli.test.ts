/**
 * `npm start` (mpmanager serve) and `mpmanager info` as real processes: the server prints its authkey
 * and address, serves a SyncManager that our clients and stock Python clients use, `info` reports its
 * objects, and SIGINT/SIGTERM stop it cleanly.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SyncManager } from '../src/manager/sync-manager.js';
import type { AutoProxy } from '../proxies/auto-proxy.js';
import { parseAddress } from '../src/transport/address.js';
import { killAll, run, start } from './fixtures/processes.js';
import { pythonVersions, runPython } from './support/python.js';

const TIMEOUT = 45_000;
afterEach(() => killAll());

describe('mpmanager serve / info', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)('serves a SyncManager with a generated key, answers info, and stops on %s', { timeout: TIMEOUT }, async (signal) => {
    const server = run('src/cli.ts', ['serve', '--address', '127.0.0.1:0'], { env: { MPM_AUTHKEY: '' } });
    const keyLine = await server.line(/^authkey: /);
    const authkey = keyLine.slice('authkey: '.length);
    expect(authkey).toMatch(/^[0-9a-f]{32}$/);
    const address = (await server.line(/^listening on /)).slice('listening on '.length);

    const manager = await new SyncManager(parseAddress(address), { authkey }).connect();
    const queue = await manager.Queue<number>();
    await queue.put(7);
    const info = run('src/cli.ts', ['info', '--address', address, '--authkey', authkey]);
    expect(await info.exit()).toBe(0);
    expect(info.stdout).toContain('objects: 1');
    expect(info.stdout.join('\n')).toMatch(/refcount=1/);
    expect(await queue.get()).toBe(7);
    await manager.shutdown();

    server.child.kill(signal);
    expect(await server.exit()).toBe(0);
    expect(server.stdout).toContain('server stopped');
  });

  const py = pythonVersions()[0];
  it.skipIf(!py?.available)('serves a stock Python SyncManager client, with --authkey and a Unix socket path', { timeout: TIMEOUT }, async () => {
    const path = `/tmp/mpm-cli-${process.pid}-${Date.now()}.sock`;
    const server = run('src/cli.ts', ['serve', '--address', path, '--authkey', 'secret']);
    expect(await server.line(/^listening on /)).toBe(`listening on ${path}`);
    expect(server.stdout.some((l) => l.startsWith('authkey:'))).toBe(false);
    const client = runPython(py!, `
import sys
from multiprocessing.managers import SyncManager
m = SyncManager(sys.argv[1], authkey=b'secret'); m.connect()
d = m.dict(a=1); d['b'] = (2, 3)
print(sorted(d.items()))
`, [path]);
    const out = await client.exit();
    expect(out.stderr).toBe('');
    expect(out.stdout.trim()).toBe("[('a', 1), ('b', (2, 3))]");
    server.child.kill('SIGTERM');
    expect(await server.exit()).toBe(0);
  });

  it.skipIf(!py?.available)('prints a connect snippet for Python and TypeScript with the real address, and the Python one works as printed', { timeout: TIMEOUT }, async () => {
    const server = run('src/cli.ts', ['serve', '--address', '127.0.0.1:0'], { env: { MPM_AUTHKEY: '' } });
    const authkey = (await server.line(/^authkey: /)).slice('authkey: '.length);
    const [host, port] = parseAddress((await server.line(/^listening on /)).slice('listening on '.length)) as [string, number];
    const pyLine = (await server.line(/^connect from Python: /)).replace(/^connect from Python:\s+/, '');
    const tsLine = (await server.line(/^connect from TypeScript: /)).replace(/^connect from TypeScript:\s+/, '');
    expect(pyLine).toBe(`m = SyncManager(("${host}", ${port}), authkey=b'${authkey}'); m.connect()`);
    expect(tsLine).toBe(`const m = new SyncManager(["${host}", ${port}], { authkey: '${authkey}' }); await m.connect();`);
    const client = runPython(py!, `from multiprocessing.managers import SyncManager\n${pyLine}\nprint(m.list([1, 2])[1])\n`);
    const out = await client.exit();
    expect(out.stderr).toBe('');
    expect(out.stdout.trim()).toBe('2');
    server.child.kill('SIGTERM');
    expect(await server.exit()).toBe(0);
  });

  it('a SIGTERM sent as soon as the server says it is listening stops it cleanly', { timeout: TIMEOUT }, async () => {
    // Signal handlers used to be added after `listening on` was printed: a signal in between killed the
    // process outright (exit by signal, no `server stopped`) about one time in three.
    for (let i = 0; i < 5; i++) {
      const server = run('src/cli.ts', ['serve', '--address', '127.0.0.1:0', '--authkey', 'k']);
      await server.line(/^listening on /);
      server.child.kill('SIGTERM');
      expect(await server.exit(), `try ${i}`).toBe(0);
      expect(server.stdout).toContain('server stopped');
    }
  });

  it('npm start is one server process: SIGTERM to npm stops it cleanly and frees its port', { timeout: TIMEOUT }, async () => {
    // npm forwards SIGTERM to its child; the start script execs node, so that child is the server itself
    // (with `tsx src/cli.ts serve` the chain npm -> sh -> tsx -> node left the server running).
    const npm = start('npm', ['start', '--silent', '--', '--address', '127.0.0.1:0', '--authkey', 'k'], { detached: true });
    const [host, port] = parseAddress((await npm.line(/^listening on /)).slice('listening on '.length)) as [string, number];
    npm.child.kill('SIGTERM');
    expect(await npm.exit()).toBe(0);
    expect(npm.stdout).toContain('server stopped');
    // Nothing holds the port: a new server binds it at once.
    const again = run('src/cli.ts', ['serve', '--address', `${host}:${port}`, '--authkey', 'k']);
    expect(await again.line(/^listening on /)).toBe(`listening on ${host}:${port}`);
    again.child.kill('SIGTERM');
    expect(await again.exit()).toBe(0);
  });

  it('--help, serve --help, info --help and --version print what they should', { timeout: TIMEOUT }, async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--help'], /^usage: mpmanager <command>/],
      [['serve', '--help'], /^usage: mpmanager serve .*\n[\s\S]*--idle-timeout N\s+\(default 0\)/],
      [['info', '-h'], /^usage: mpmanager info/],
      [['--version'], /^mpmanager \d+\.\d+\.\d+\n$/],
    ];
    for (const [args, expected] of cases) {
      const p = run('src/cli.ts', args);
      expect(await p.exit(), args.join(' ')).toBe(0);
      expect(`${p.stdout.join('\n')}\n`, args.join(' ')).toMatch(expected);
    }
    const bad = run('src/cli.ts', ['bogus']);
    expect(await bad.exit()).toBe(2);
    expect(bad.stderr[0]).toBe("mpmanager: unknown command 'bogus'");
  });

  it('--register adds typeids from a module, next to the built-in ones', { timeout: TIMEOUT }, async () => {
    const server = run('src/cli.ts', ['serve', '--address', '127.0.0.1:0', '--authkey', 'k', '--register', './test/fixtures/register-counter.ts']);
    const address = (await server.line(/^listening on /)).slice('listening on '.length);
    const manager = await new SyncManager(parseAddress(address), { authkey: 'k' }).connect();
    const counter = await manager.create<AutoProxy<{ inc(by?: number): number }>>('Counter');
    expect(await counter.inc(2)).toBe(2);
    expect(await counter.inc()).toBe(3);
    expect(await (await manager.list<number>([1, 2])).__len__()).toBe(2);
    await manager.shutdown();
  });

  it('a wrong authkey makes info fail with one line saying the keys differ', { timeout: TIMEOUT }, async () => {
    const server = run('src/cli.ts', ['serve', '--address', '127.0.0.1:0', '--authkey', 'right']);
    const address = (await server.line(/^listening on /)).slice('listening on '.length);
    const info = run('src/cli.ts', ['info', '--address', address, '--authkey', 'wrong']);
    expect(await info.exit()).toBe(1);
    expect(info.stderr.filter((l) => l !== '')).toEqual([expect.stringMatching(/^mpmanager info: .*authkeys differ/)]);
  });

  it('--encryption require: info in clear is told what to set, info --encryption prefer is encrypted, NODE_DEBUG shows the suite', { timeout: TIMEOUT }, async () => {
    const server = run('src/cli.ts', ['serve', '--address', '127.0.0.1:0', '--authkey', 'k', '--encryption', 'require'], { env: { NODE_DEBUG: 'mpmanager' } });
    const address = (await server.line(/^listening on /)).slice('listening on '.length);
    expect(await server.line(/^connect from Python:/)).toMatch(/connect from Python: +not possible: this server requires encryption/);
    const clear = run('src/cli.ts', ['info', '--address', address, '--authkey', 'k']);
    expect(await clear.exit()).toBe(1);
    expect(clear.stderr.join('\n')).toMatch(/requires encryption and this client has encryption 'off'/);
    const sealed = run('src/cli.ts', ['info', '--address', address, '--authkey', 'k', '--encryption', 'prefer']);
    expect(await sealed.exit()).toBe(0);
    expect(sealed.stdout).toContain('connection: encrypted (aes-256-gcm)');
    expect(sealed.stdout).toContain('objects: 0');
    // The server's log line may reach us after info has exited.
    for (let i = 0; i < 100 && !/accepted an mpmanager peer over tcp: encrypted/.test(server.stderr.join('\n')); i++) await new Promise((r) => setTimeout(r, 50));
    expect(server.stderr.join('\n')).toMatch(/accepted an mpmanager peer over tcp: encrypted \(aes-256-gcm\)/);
    const plain = run('src/cli.ts', ['info', '--address', address, '--authkey', 'k', '--encryption', 'bogus']);
    expect(await plain.exit()).toBe(1);
    expect(plain.stderr.join('\n')).toMatch(/encryption must be one of off, prefer, require/);
  });

  it('--tls-cert/--tls-key serve TLS; info --tls-ca connects through it; half a pair is refused', { timeout: TIMEOUT }, async () => {
    const dir = 'test/fixtures/tls';
    const server = run('src/cli.ts', ['serve', '--address', '127.0.0.1:0', '--authkey', 'k', '--tls-cert', `${dir}/server.pem`, '--tls-key', `${dir}/server-key.pem`]);
    const address = (await server.line(/^listening on /)).slice('listening on '.length);
    expect(await server.line(/^connect from Python:/)).toMatch(/connect from Python: +through a TLS tunnel only/);
    const info = run('src/cli.ts', ['info', '--address', address, '--authkey', 'k', '--tls-ca', `${dir}/ca.pem`]);
    expect(await info.exit()).toBe(0);
    expect(info.stdout.find((l) => l.startsWith('connection: '))).toMatch(/^connection: encrypted \(tls TLSv1\.[23] /);
    const untrusted = run('src/cli.ts', ['info', '--address', address, '--authkey', 'k', '--tls-ca', `${dir}/stranger.pem`]);
    expect(await untrusted.exit()).toBe(1);
    expect(untrusted.stderr.join('\n')).toMatch(/not trusted/);
    const half = run('src/cli.ts', ['serve', '--address', '127.0.0.1:0', '--authkey', 'k', '--tls-cert', `${dir}/server.pem`]);
    expect(await half.exit()).toBe(1);
    expect(half.stderr.join('\n')).toMatch(/--tls-cert and --tls-key go together/);
  });

  it('--shared is checked before anything starts: the typeid, a name given twice, --redis missing', { timeout: TIMEOUT }, async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--redis', '/nonexistent/r.sock', '--shared', 'c=Condition'], /--shared c=Condition: a shared object is one of Queue, /],
      [['--redis', '/nonexistent/r.sock', '--shared', 'a=Queue', '--shared', 'a=dict'], /--shared a is given twice/],
      [['--shared', 'a=Queue'], /--shared needs --redis URL/],
      [['--redis', '/nonexistent/r.sock', '--shared', 'a=Queue'], /cannot reach Redis at \/nonexistent\/r.sock: is redis-server running there\?/],
    ];
    for (const [args, message] of cases) {
      const p = run('src/cli.ts', ['serve', '--address', '127.0.0.1:0', '--authkey', 'k', ...args]);
      expect(await p.exit(), args.join(' ')).toBe(1);
      expect(p.stderr.join('\n')).toMatch(message);
    }
  });
});
