/**
 * The reference programs with either side swapped, run as the real programs (node --import tsx for the
 * TypeScript side, python3 for examples/python-interop/), for every installed CPython version: the
 * socket pair (both ways, and once over a Unix socket), the patch_dict manager (both ways), and the
 * queue-per-channel server (both ways). Every process runs in its own process group, killed when its
 * test finishes, so a Python manager's own server process never outlives a test.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { start as startProcess } from '../fixtures/processes.js';
import { pythonVersions, type PythonVersion } from '../support/python.js';
import { TIMEOUT, socketPath } from './helpers.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const TS = (path: string) => join(ROOT, 'examples', path);
const PY = (path: string) => join(ROOT, 'examples/python-interop', path);
const KEY = 'password';

interface Proc {
  readonly child: ChildProcess;
  readonly stdout: string[];
  /** Resolves with the first stdout line matching `pattern` (already printed or to come). */
  line(pattern: RegExp, ms?: number): Promise<string>;
  /** Resolves with the exit code once the process ends (killed after `ms`); rejects, with its output, unless 0. */
  exit(ms?: number): Promise<number | null>;
  /** Asks for a clean stop (SIGTERM to the process). */
  stop(): void;
}

/** Kills a test's processes, each with its whole group: a Python manager's server process is a child. */
function killAll(procs: readonly Proc[]): void {
  for (const p of procs) {
    const pid = p.child.pid;
    if (pid === undefined) continue;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Starts the programs of one test, killed when that test finishes (tests here run concurrently). */
function launcher(onTestFinished: (fn: () => void) => void): {
  node(script: string, args: string[]): Proc;
  python(py: PythonVersion, script: string, args: string[]): Proc;
} {
  const procs: Proc[] = [];
  onTestFinished(() => killAll(procs));
  const track = (p: Proc) => (procs.push(p), p);
  return {
    node: (script, args) => track(start(process.execPath, ['--import', 'tsx', script, ...args])),
    python: (py, script, args) => track(start('python3', ['-u', script, ...args], py.env)),
  };
}

/** A program in a process group of its own, whose exit must be clean. */
function start(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Proc {
  const proc = startProcess(command, args, { env, detached: true });
  return {
    child: proc.child,
    stdout: proc.stdout,
    line: (pattern, ms) => proc.line(pattern, ms),
    async exit(ms) {
      const code = await proc.exit(ms);
      if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${String(code)}\n${proc.describe()}`);
      return code;
    },
    stop() {
      if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGTERM');
    },
  };
}

/** The address a server printed on its `listening on ADDRESS` line. */
async function listening(server: Proc, prefix = 'listening on '): Promise<string> {
  const line = await server.line(new RegExp(`^${prefix}`));
  return line.slice(prefix.length);
}

/** `--address A --result-address B` from a queue-channels server's `listening on A and B` line. */
async function queueAddresses(server: Proc): Promise<string[]> {
  const [sender = '', receiver = ''] = (await listening(server)).split(' and ');
  return ['--address', sender, '--result-address', receiver];
}

/** The queue-channels TypeScript pair, written by the SyncManager work; skipped until it exists. */
const TS_QUEUE_SERVER = TS('queue-channels/server.ts');
const TS_QUEUE_CLIENT = TS('queue-channels/client.ts');

// Concurrent: each test mostly waits for processes to start (at most vitest's maxConcurrency at once).
describe.concurrent.each(pythonVersions())('reference programs with CPython $version', (py) => {
  it.skipIf(!py.available)('socket: TypeScript server, Python client', { timeout: TIMEOUT }, async ({ onTestFinished }) => {
    const { node, python } = launcher(onTestFinished);
    const server = node(TS('socket/server.ts'), ['--address', '127.0.0.1:0', '--authkey', KEY]);
    const address = await listening(server);
    await python(py, PY('socket/client.py'), ['--address', address, '--authkey', KEY, '--pause', '0.05']).exit();
    await server.exit();
    expect(server.stdout.slice(1)).toEqual([expect.stringMatching(/^connection accepted from 127\.0\.0\.1:\d+$/), 'foo1', 'foo2', 'close server']);
  });

  it.skipIf(!py.available)('socket: Python server, TypeScript client (--serializer pickle)', { timeout: TIMEOUT }, async ({ onTestFinished }) => {
    const { node, python } = launcher(onTestFinished);
    const server = python(py, PY('socket/server.py'), ['--address', '127.0.0.1:0', '--authkey', KEY]);
    const address = await listening(server);
    await node(TS('socket/client.ts'), ['--address', address, '--authkey', KEY, '--serializer', 'pickle']).exit();
    await server.exit();
    expect(server.stdout.slice(1)).toEqual([expect.stringMatching(/^connection accepted from \('127\.0\.0\.1', \d+\)$/), 'foo1', 'foo2', 'close server']);
  });

  it.skipIf(!py.available)('socket over a Unix socket, both ways', { timeout: TIMEOUT }, async ({ onTestFinished }) => {
    const { node, python } = launcher(onTestFinished);
    const tsServer = node(TS('socket/server.ts'), ['--address', socketPath(), '--authkey', KEY]);
    await python(py, PY('socket/client.py'), ['--address', await listening(tsServer), '--authkey', KEY, '--pause', '0']).exit();
    await tsServer.exit();
    expect(tsServer.stdout.slice(-3)).toEqual(['foo1', 'foo2', 'close server']);

    const pyServer = python(py, PY('socket/server.py'), ['--address', socketPath(), '--authkey', KEY]);
    await node(TS('socket/client.ts'), ['--address', await listening(pyServer), '--authkey', KEY, '--serializer', 'pickle']).exit();
    await pyServer.exit();
    expect(pyServer.stdout.slice(-3)).toEqual(['foo1', 'foo2', 'close server']);
  });

  it.skipIf(!py.available)('patch_dict: TypeScript server, Python client', { timeout: TIMEOUT }, async ({ onTestFinished }) => {
    const { node, python } = launcher(onTestFinished);
    const server = node(TS('patch-dict/server.ts'), ['--address', '127.0.0.1:0', '--authkey', KEY]);
    const client = python(py, PY('patch-dict/client.py'), ['--address', await listening(server), '--authkey', KEY]);
    await client.exit();
    expect(client.stdout[0]).toMatch(/^Keys : \[\[0\.\d+(e-\d+)?, /);
    expect(client.stdout[1]).toBe('shape: (5, 1000)');
    server.stop();
    await server.exit();
  });

  it.skipIf(!py.available)('patch_dict: Python server, TypeScript client (--serializer pickle)', { timeout: TIMEOUT }, async ({ onTestFinished }) => {
    const { node, python } = launcher(onTestFinished);
    const server = python(py, PY('patch-dict/server.py'), ['--address', '127.0.0.1:0', '--authkey', KEY]);
    const client = node(TS('patch-dict/client.ts'), ['--address', await listening(server), '--authkey', KEY, '--serializer', 'pickle']);
    await client.exit();
    expect(client.stdout[0]).toMatch(/^Keys : \[\[0\.\d+(e-\d+)?, /);
    expect(client.stdout[1]).toBe('shape: (5, 1000)');
    server.stop();
    await server.exit();
    expect(server.stdout.at(-1)).toBe('server stopped');
  });

  it.skipIf(!py.available || !existsSync(TS_QUEUE_SERVER))('queue-channels: TypeScript server, Python client', { timeout: TIMEOUT }, async ({ onTestFinished }) => {
    const { node, python } = launcher(onTestFinished);
    const server = node(TS_QUEUE_SERVER, ['--address', '127.0.0.1:0', '--result-address', '127.0.0.1:0', '--authkey', KEY]);
    const args = [...(await queueAddresses(server)), '--authkey', KEY];
    const client = python(py, PY('queue-channels/client.py'), [...args, '--channel', 'ch-1', '--count', '3']);
    await client.exit();
    expect(client.stdout).toEqual([
      'channel ch-1 ready',
      ...[0, 1, 2].map(() => expect.stringMatching(/^result: \('audio-\d', \d+\)$/)),
      "nothing more: {'result': False}",
    ]);
    expect(client.stdout.slice(1, 4).map((l) => /audio-\d/.exec(l)?.[0]).sort()).toEqual(['audio-0', 'audio-1', 'audio-2']);
    // A second client cannot take the same channel: the server's answer arrives as data, and the
    // reference client raises it.
    const again = python(py, PY('queue-channels/client.py'), [...args, '--channel', 'ch-1', '--count', '0']);
    await expect(again.exit()).rejects.toThrow(/Please give me another channel id, not ch-1/);
    server.stop();
    await server.exit();
  });

  it.skipIf(!py.available || !existsSync(TS_QUEUE_CLIENT))('queue-channels: Python server, TypeScript client (--serializer pickle)', { timeout: TIMEOUT }, async ({ onTestFinished }) => {
    const { node, python } = launcher(onTestFinished);
    const server = python(py, PY('queue-channels/server.py'), ['--address', '127.0.0.1:0', '--result-address', '127.0.0.1:0', '--authkey', KEY]);
    const args = [...(await queueAddresses(server)), '--authkey', KEY, '--serializer', 'pickle'];
    const client = node(TS_QUEUE_CLIENT, [...args, '--channel', 'ch-ts', '--count', '3']);
    await client.exit();
    expect(client.stdout).toContain('received 3 results');
    server.stop();
    await server.exit();
    expect(server.stdout.at(-1)).toBe('server stopped');
  });
});
