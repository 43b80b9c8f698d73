/**
 * The package as users get it: `npm pack` (which builds dist/ through prepack), the tarball installed into a
 * fresh project with no network, and there: a plain-Node ES module using mpmanager against a server started
 * through the installed bin, `npx mpmanager`, and tsc type-checking a consumer with the strictest flags and
 * without @types/ws.
 *
 * Offline install: the tarball's runtime dependencies come from this project's own node_modules, repacked
 * with `npm pack` and pinned by `overrides` in the consumer, installed with `--offline` and an empty cache,
 * so nothing is fetched and the user's npm cache does not matter.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killAll, ROOT, start } from '../fixtures/processes.js';

const exec = promisify(execFile);
const TIMEOUT = 60_000;
const TSC = join(ROOT, 'node_modules', '.bin', 'tsc');

/** This environment without npm's own variables (npm_config_*, npm_package_*, ...): `npm test` sets them. */
const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'INIT_CWD'));
const npm = (cwd: string, args: string[]) => exec('npm', args, { cwd, env, maxBuffer: 64 * 1024 * 1024 });

interface PackResult {
  name: string;
  version: string;
  filename: string;
  files: Array<{ path: string; mode: number }>;
}

let dir = '';
let consumer = '';
let packed: PackResult;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mpm-package-'));
  consumer = join(dir, 'consumer');
  const deps = join(dir, 'deps');
  mkdirSync(consumer);
  mkdirSync(deps);

  // The package itself; prepack builds dist/ first.
  const own = JSON.parse((await npm(ROOT, ['pack', '--json', '--pack-destination', dir])).stdout) as PackResult[];
  packed = own[0]!;

  // Its runtime dependency tree as installed here: the lock file's non-dev packages that are on disk
  // (optional packages for other platforms are not), each repacked from node_modules.
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  const runtime = Object.entries(lock.packages)
    .filter(([path, meta]) => path.startsWith('node_modules/') && !meta.dev && existsSync(join(ROOT, path)))
    .map(([path]) => join(ROOT, path)); // absolute: `npm pack node_modules/x` would mean the GitHub repo node_modules/x
  const depPacks = JSON.parse((await npm(ROOT, ['pack', '--ignore-scripts', '--json', '--pack-destination', deps, ...runtime])).stdout) as PackResult[];
  const overrides: Record<string, string> = {};
  for (const p of depPacks) {
    if (overrides[p.name]) throw new Error(`${p.name} is installed twice; pin it per path instead`);
    overrides[p.name] = `file:${join(deps, p.filename)}`;
  }

  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { mpmanager: `file:${join(dir, packed.filename)}` }, overrides }, null, 2),
  );
  // --offline with an empty cache: fails rather than fetch. --ignore-scripts: msgpackr-extract's install
  // script only checks its prebuilt binary, and the consumer has no allowScripts policy.
  await npm(consumer, ['install', '--offline', '--cache', join(dir, 'npm-cache'), '--ignore-scripts', '--no-audit', '--no-fund']);
}, 120_000);

afterEach(() => killAll());
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the npm package', () => {
  it('holds dist, the bin, README, LICENSE and CHANGELOG, and nothing else', () => {
    const paths = packed.files.map((f) => f.path).sort();
    const allowed = /^(package\.json|README\.md|LICENSE|CHANGELOG\.md|bin\/mpmanager\.js|dist\/browser\/mpmanager\.js|dist\/(src|proxies)\/[\w/.-]+\.(js|js\.map|d\.ts))$/;
    expect(paths.filter((p) => !allowed.test(p))).toEqual([]);
    for (const p of ['dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/index.js.map', 'dist/src/cli.js', 'dist/proxies/index.js', 'dist/src/browser.d.ts', 'dist/browser/mpmanager.js', 'bin/mpmanager.js', 'README.md', 'LICENSE', 'CHANGELOG.md']) {
      expect(paths).toContain(p);
    }
    // Every emitted module has its declarations and source map (the browser bundle is one file of its own).
    for (const js of paths.filter((p) => p.endsWith('.js') && p.startsWith('dist/') && !p.startsWith('dist/browser/'))) {
      expect(paths).toContain(js.replace(/\.js$/, '.d.ts'));
      expect(paths).toContain(`${js}.map`);
    }
  });

  it('installs with its runtime dependencies only', () => {
    const installed = JSON.parse(readFileSync(join(consumer, 'node_modules', 'mpmanager', 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(installed.dependencies).sort()).toEqual(['msgpackr', 'prom-client', 'redis', 'tweetnacl', 'uplot', 'ws']);
    for (const dev of ['tsx', 'typescript', 'vitest', '@types/ws', 'esbuild', 'playwright-core', '@noble/hashes', 'capnweb']) expect(existsSync(join(consumer, 'node_modules', dev))).toBe(false);
  });

  it('resolves to the browser bundle under the browser condition (as bundlers do), and as mpmanager/browser', { timeout: TIMEOUT }, async () => {
    const script = `const a = await import('mpmanager'); const b = await import('mpmanager/browser');
console.log(JSON.stringify({ same: a === b, managers: typeof a.SyncManager === 'function' && typeof a.DictProxy === 'function', provider: a.cryptoProvider, server: 'Server' in a }));`;
    const browser = await exec(process.execPath, ['--conditions=browser', '--input-type=module', '-e', script], { cwd: consumer, env });
    expect(JSON.parse(browser.stdout)).toEqual({ same: true, managers: true, provider: 'webcrypto', server: false });
    // Without the condition, Node gets the Node entry (with Server); mpmanager/browser is the bundle still.
    const node = await exec(process.execPath, ['--input-type=module', '-e', `const a = await import('mpmanager'); const b = await import('mpmanager/browser'); console.log(JSON.stringify({ server: 'Server' in a, bundle: 'cryptoProvider' in b }));`], { cwd: consumer, env });
    expect(JSON.parse(node.stdout)).toEqual({ server: true, bundle: true });
  });

  it('serves through the installed bin, and a plain Node ES module uses a dict and a Queue; info and SIGTERM work', { timeout: TIMEOUT }, async () => {
    // node_modules/.bin/mpmanager is a symlink, run by its #!/usr/bin/env node line: plain Node, no tsx.
    const server = start(join(consumer, 'node_modules', '.bin', 'mpmanager'), ['serve', '--address', '127.0.0.1:0', '--authkey', 'secret'], { cwd: consumer, env });
    const address = (await server.line(/^listening on /)).slice('listening on '.length);

    writeFileSync(
      join(consumer, 'client.mjs'),
      `import { SyncManager, parseAddress, Empty } from 'mpmanager';
import { createRequire } from 'node:module';

const manager = await new SyncManager(parseAddress(process.argv[2]), { authkey: process.argv[3] }).connect();
const dict = await manager.dict({ a: 1 });
await dict.set('b', [2, 3]);
const queue = await manager.Queue();
await queue.put('hello');
const got = await queue.get();
let empty = false;
try { await queue.get(false); } catch (err) { empty = err instanceof Empty; }
const cjs = createRequire(import.meta.url)('mpmanager'); // the "default" condition: require(esm)
console.log(JSON.stringify({ dict: await dict.copy(), len: await dict.len(), got, empty, sameClass: cjs.SyncManager === SyncManager }));
await manager.shutdown();
`,
    );
    const client = await exec(process.execPath, ['client.mjs', address, 'secret'], { cwd: consumer, env });
    expect(JSON.parse(client.stdout)).toEqual({ dict: { a: 1, b: [2, 3] }, len: 2, got: 'hello', empty: true, sameClass: true });

    const info = await exec('npx', ['--no', '--', 'mpmanager', 'info', '--address', address, '--authkey', 'secret'], { cwd: consumer, env });
    expect(info.stdout).toMatch(/^objects: \d+$/m);

    server.child.kill('SIGTERM');
    expect(await server.exit()).toBe(0);
    expect(server.stdout).toContain('server stopped');
  });

  it('npx mpmanager --help, serve --help, info --help and --version print what they should; a bad command exits 2', { timeout: TIMEOUT }, async () => {
    const help = await exec('npx', ['--no', '--', 'mpmanager', '--help'], { cwd: consumer, env });
    expect(help.stdout).toMatch(/^usage: mpmanager <command>/);
    expect(help.stdout).toMatch(/serve .*mpmanager serve --help/);
    const serveHelp = await exec('npx', ['--no', '--', 'mpmanager', 'serve', '--help'], { cwd: consumer, env });
    expect(serveHelp.stdout).toMatch(/^usage: mpmanager serve/);
    expect(serveHelp.stdout).toMatch(/--max-frame-size N\s+\(default 67108864\)/);
    const infoHelp = await exec('npx', ['--no', '--', 'mpmanager', 'info', '--help'], { cwd: consumer, env });
    expect(infoHelp.stdout).toMatch(/^usage: mpmanager info/);
    const version = await exec('npx', ['--no', '--', 'mpmanager', '--version'], { cwd: consumer, env });
    expect(version.stdout.trim()).toBe(`mpmanager ${(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}`);
    await expect(exec('npx', ['--no', '--', 'mpmanager', 'bogus'], { cwd: consumer, env })).rejects.toMatchObject({ code: 2 });
  });

  it('type-checks a consumer under strict, exactOptionalPropertyTypes and skipLibCheck: false, without @types/ws', { timeout: TIMEOUT }, async () => {
    // @types/node from this project (a Node library's users have it); @types/ws deliberately absent.
    mkdirSync(join(consumer, 'node_modules', '@types'), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', '@types', 'node'), join(consumer, 'node_modules', '@types', 'node'), 'dir');
    expect(existsSync(join(consumer, 'node_modules', '@types', 'ws'))).toBe(false);
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
          skipLibCheck: false,
          types: ['node'],
          noEmit: true,
        },
        files: ['consumer.ts'],
      }),
    );
    writeFileSync(
      join(consumer, 'consumer.ts'),
      `import { BaseManager, Client, Empty, Listener, SyncManager, type DictProxy, type ManagerOptions, type QueueProxy } from 'mpmanager';

// Options forwarded from optional settings: exactOptionalPropertyTypes lets undefined through only if declared.
const settings: { timeout?: number; backlog?: number } = JSON.parse(process.env.SETTINGS ?? '{}');
const options: ManagerOptions = { authkey: 'k', handshakeTimeout: settings.timeout, backlog: settings.backlog };
const manager = await new SyncManager(['127.0.0.1', 50000], options).connect();
const dict: DictProxy<string, number> = await manager.dict<string, number>({ a: 1 });
const a: number | null = await dict.get('a');
const queue: QueueProxy<string> = await manager.Queue<string>();
await queue.put('x');
try {
  const item: string = await queue.get(true, 0.1, { timeout: settings.timeout });
  console.log(item, a);
} catch (err) {
  if (!(err instanceof Empty)) throw err;
}
const listener = await Listener.listen(['127.0.0.1', 0], { authkey: 'k', backlog: settings.backlog });
const conn = await Client(listener.address, { authkey: 'k', maxFrameSize: settings.timeout });
conn.close();

class Counter {
  n = 0;
  inc(by = 1): number {
    return (this.n += by);
  }
}
const counters = new BaseManager(['127.0.0.1', 0], { authkey: 'k' }).register('Counter', Counter);
await counters.connect();
const counter = await counters.Counter();
const n: number = await counter.inc(2);
console.log(n);
`,
    );
    const result = await exec(TSC, ['-p', consumer], { cwd: consumer, env }).catch((err: { stdout: string; stderr: string }) => err);
    expect(`${result.stdout}${result.stderr}`).toBe('');
  });
});
