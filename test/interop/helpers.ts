/**
 * Shared pieces of the interop suites: the Python prelude every script starts with, addresses passed to
 * Python as JSON, Unix socket paths in a private temp directory, and Python children that are killed
 * when a test ends.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach } from 'vitest';
import type { Address } from '../../src/transport/address.js';
import { runPython, type PythonRun, type PythonVersion } from '../support/python.js';

export const AUTHKEY = 'interop-key';
/** Per test; generous because the machine is shared (nothing asserts timings). */
export const TIMEOUT = 40_000;

/**
 * Python helpers: `addr(argv)` reads an address written by `addressArg` (JSON: a `[host, port]` list or a
 * path), `out(...)` prints and flushes, `check(cond, what)` fails loudly with a message.
 */
export const PY_PRELUDE = String.raw`
import sys, json, os, time, multiprocessing
def addr(s):
    a = json.loads(s)
    return tuple(a) if isinstance(a, list) else a
def out(*a):
    print(*a, flush=True)
def check(cond, what):
    if not cond:
        raise AssertionError(what)
`;

/** An address as the prelude's `addr()` reads it. */
export function addressArg(address: Address): string {
  return JSON.stringify(address);
}

/** Python children of the current test; killed after it, however it ended. */
const children: PythonRun[] = [];
/** Cleanups of the current test (servers to shut down, managers to close). */
const cleanups: Array<() => unknown> = [];

afterEach(async () => {
  for (const run of children.splice(0)) run.kill();
  for (const fn of cleanups.splice(0).reverse()) {
    try {
      await fn();
    } catch {
      // already closed
    }
  }
});

/** Runs a Python script for this test (killed when the test ends). */
export function python(py: PythonVersion, code: string, args: string[] = []): PythonRun {
  const run = runPython(py, code, args);
  children.push(run);
  return run;
}

/** Registers something to undo when the current test ends. */
export function onCleanup(fn: () => unknown): void {
  cleanups.push(fn);
}

let dir: string | null = null;
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = null;
});

let counter = 0;
/** A fresh Unix socket path, short enough for `sun_path`. */
export function socketPath(): string {
  dir ??= mkdtempSync(join(tmpdir(), 'mpm-interop-'));
  return join(dir, `s${++counter}.sock`);
}

/** The lines of a finished Python run, with its stderr in the message when it failed. */
export async function finish(run: PythonRun): Promise<string[]> {
  const { code, stdout, stderr } = await run.exit();
  if (code !== 0) throw new Error(`python exited with ${String(code)}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
  return stdout.length === 0 ? [] : stdout.split('\n');
}
