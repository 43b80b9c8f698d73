/**
 * The benchmark's child processes: every server and client runs in a process of its own and talks to the
 * orchestrator in JSON lines on stdout (one object a line; other lines are ignored) and plain commands on
 * stdin. Every child started here is killed when the orchestrator exits, fails or is interrupted; each
 * child also exits by itself when its stdin closes, so none can outlive the run.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');

/** What a child prints: one JSON object per line. */
export type Message = Record<string, unknown>;

const live = new Set<Child>();

export class Child {
  readonly name: string;
  readonly #proc: ChildProcessWithoutNullStreams;
  readonly #messages: Message[] = [];
  readonly #waiters: Array<{ resolve(m: Message): void; reject(e: Error): void; timer: NodeJS.Timeout }> = [];
  readonly #stderr: string[] = [];
  #exitError: Error | null = null;
  readonly exited: Promise<void>;

  constructor(name: string, command: string, args: readonly string[], env: Record<string, string> = {}) {
    this.name = name;
    this.#proc = spawn(command, args, { cwd: ROOT, stdio: 'pipe', env: { ...process.env, ...env } });
    live.add(this);
    let partial = '';
    this.#proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) this.#onLine(line);
    });
    let errPartial = '';
    this.#proc.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (errPartial + chunk).split('\n');
      errPartial = lines.pop() ?? '';
      this.#stderr.push(...lines);
      if (this.#stderr.length > 40) this.#stderr.splice(0, this.#stderr.length - 40);
    });
    this.#proc.stdin.on('error', () => {}); // a child that died is reported through `exited`
    this.exited = new Promise((done) => {
      this.#proc.on('exit', (code, signal) => {
        live.delete(this);
        this.#exitError = new Error(`${this.name} exited (${signal ?? `code ${code}`})${this.#tail()}`);
        for (const w of this.#waiters.splice(0)) {
          clearTimeout(w.timer);
          w.reject(this.#exitError);
        }
        done();
      });
      this.#proc.on('error', (err) => {
        live.delete(this);
        this.#exitError = new Error(`${this.name} could not start: ${err.message}`);
        for (const w of this.#waiters.splice(0)) {
          clearTimeout(w.timer);
          w.reject(this.#exitError);
        }
        done();
      });
    });
  }

  get pid(): number {
    const pid = this.#proc.pid;
    if (pid === undefined) throw new Error(`${this.name} has no pid`);
    return pid;
  }

  /** The next message; rejects if the child exits first, reports an error, or after `ms`. */
  next(ms = 120_000): Promise<Message> {
    const m = this.#messages.shift();
    if (m) return settle(this.name, m);
    if (this.#exitError) return Promise.reject(this.#exitError);
    return new Promise<Message>((resolveMessage, reject) => {
      const timer = setTimeout(() => {
        const i = this.#waiters.findIndex((w) => w.timer === timer);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(new Error(`${this.name}: no answer within ${ms} ms${this.#tail()}`));
      }, ms);
      this.#waiters.push({ resolve: resolveMessage, reject, timer });
    }).then((msg) => settle(this.name, msg));
  }

  send(command: string): void {
    this.#proc.stdin.write(`${command}\n`);
  }

  /** Closes stdin (the child's cue to exit) and waits; kills it if it has not exited after `ms`. */
  async stop(ms = 10_000): Promise<void> {
    if (!live.has(this)) return;
    this.#proc.stdin.end();
    const timer = setTimeout(() => this.kill(), ms);
    await this.exited;
    clearTimeout(timer);
  }

  kill(): void {
    if (this.#proc.exitCode === null && this.#proc.signalCode === null) this.#proc.kill('SIGKILL');
  }

  #onLine(line: string): void {
    const text = line.trim();
    if (!text.startsWith('{')) return;
    let msg: Message;
    try {
      msg = JSON.parse(text) as Message;
    } catch {
      return;
    }
    const w = this.#waiters.shift();
    if (w) {
      clearTimeout(w.timer);
      w.resolve(msg);
    } else this.#messages.push(msg);
  }

  #tail(): string {
    const tail = this.#stderr.filter((l) => l.trim() !== '').slice(-15).join('\n');
    return tail ? `\n--- stderr of ${this.name} ---\n${tail}` : '';
  }
}

function settle(name: string, msg: Message): Promise<Message> {
  if (typeof msg.error === 'string') return Promise.reject(new Error(`${name}: ${msg.error}`));
  return Promise.resolve(msg);
}

/** `node --import tsx <script> ...args` (with `nodeArgs` before `--import`). */
export function nodeChild(name: string, script: string, args: readonly string[], nodeArgs: readonly string[] = []): Child {
  return new Child(name, process.execPath, [...nodeArgs, '--import', 'tsx', resolve(ROOT, script), ...args]);
}

/** `python3 -u <script> ...args` (the stock CPython on PATH, or `BENCH_PYTHON`). */
export function pythonChild(name: string, script: string, args: readonly string[]): Child {
  return new Child(name, process.env.BENCH_PYTHON ?? 'python3', ['-u', resolve(ROOT, script), ...args]);
}

/** Kills every child still running. Safe to call more than once. */
export function killAll(): void {
  for (const c of live) c.kill();
  live.clear();
}
