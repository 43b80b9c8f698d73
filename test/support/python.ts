/**
 * Real CPython peers for interop tests: every installed version (3.11.7 as `python3`, 3.12.1 and 3.13.0
 * through pyenv), each skipped with a message when missing.
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

export interface PythonVersion {
  /** The version as wanted, e.g. '3.12.1'. */
  readonly version: string;
  /** Environment that selects it. */
  readonly env: NodeJS.ProcessEnv;
  /** Whether it is installed here. */
  readonly available: boolean;
}

const WANTED: ReadonlyArray<[string, string | undefined]> = [
  ['3.11.7', undefined],
  ['3.12.1', '3.12.1'],
  ['3.13.0', '3.13.0'],
];

function probe(env: NodeJS.ProcessEnv, want: string): boolean {
  try {
    const out = execFileSync('python3', ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'], {
      env,
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
    });
    return out.toString().trim() === want;
  } catch {
    return false;
  }
}

let cached: PythonVersion[] | undefined;

/** Every wanted version, installed or not (tests skip the missing ones and say so). */
export function pythonVersions(): PythonVersion[] {
  if (cached) return cached;
  cached = WANTED.map(([version, pyenv]) => {
    const env: NodeJS.ProcessEnv = { ...process.env, PYTHONUNBUFFERED: '1' };
    if (pyenv) env.PYENV_VERSION = pyenv;
    else delete env.PYENV_VERSION;
    const available = probe(env, version);
    if (!available) process.stderr.write(`interop: Python ${version} is not installed here; its tests are skipped\n`);
    return { version, env, available };
  });
  return cached;
}

export interface PythonRun {
  readonly child: ChildProcessWithoutNullStreams;
  /** Resolves with the next line the script prints on stdout. */
  nextLine(timeoutMs?: number): Promise<string>;
  /** Resolves when the process exits, with its code, stdout (the lines not taken by nextLine) and stderr. */
  exit(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  kill(): void;
}

/** Starts `python3 -c code` for one version. The process is killed when the test ends if still alive. */
export function runPython(py: PythonVersion, code: string, args: string[] = [], options: { cwd?: string } = {}): PythonRun {
  const child = spawn('python3', ['-c', code, ...args], { env: py.env, cwd: options.cwd, stdio: 'pipe' });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const lines: string[] = [];
  const waiters: Array<(line: string | null) => void> = [];
  let ended = false;
  const rl = createInterface({ input: child.stdout });
  rl.on('line', (line) => {
    const w = waiters.shift();
    if (w) w(line);
    else lines.push(line);
  });
  rl.on('close', () => {
    ended = true;
    for (const w of waiters.splice(0)) w(null);
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return {
    child,
    nextLine(timeoutMs = 15_000) {
      const queued = lines.shift();
      if (queued !== undefined) return Promise.resolve(queued);
      if (ended) return Promise.reject(new Error(`python exited before printing a line; stderr:\n${stderr}`));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no line from python within ${timeoutMs} ms; stderr:\n${stderr}`)), timeoutMs);
        waiters.push((line) => {
          clearTimeout(timer);
          if (line === null) reject(new Error(`python exited before printing a line; stderr:\n${stderr}`));
          else resolve(line);
        });
      });
    },
    async exit(timeoutMs = 20_000) {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        const [code, signal] = await exited;
        await new Promise((r) => setImmediate(r));
        return { code, signal, stdout: lines.splice(0).join('\n'), stderr };
      } finally {
        clearTimeout(timer);
      }
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
