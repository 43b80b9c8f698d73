/**
 * `npm run bench:hostile` (`npx tsx bench/hostile.ts`): what hostile clients cost everyone else (issue #11).
 *
 * One mpmanager server (`hostile/server.ts`, SyncManager, default limits) in a process of its own, its
 * RSS sampled every 50 ms from `/proc/<pid>/status`, its event loop's delay and its CPU measured by
 * itself per phase. Four well-behaved clients (`hostile/good-clients.ts`:
 * two native, two speaking CPython's pickle dialect, each calling `d['k']` one call at a time and timing
 * every call) run first alone (the quiet phase), then while 20 hostile clients (`hostile/attackers.ts`:
 * decode-budget bombs of both codecs, non-reading flooders of both dialects, huge-int keys and debug_info,
 * idle and silent connections, fuzzers, client processes SIGKILLed mid-work, cancellation storms, wrong
 * keys) attack the same server. Prints the good clients' call counts and latencies, how long the server's
 * own event loop was held up (what the attacks cost it, apart from what the OS scheduler adds: every
 * process shares this machine's cores), the server's RSS (baseline, peaks, after), what the attackers
 * did, and whether the server gave back what the dead and departed held. Not a pass/fail test.
 *
 * Environment: `HOSTILE_SECONDS` (default 10) of attack, `HOSTILE_QUIET_SECONDS` (default 3),
 * `HOSTILE_ONLY=kind,kind` only those attackers (see hostile/attackers.ts; for exploring),
 * `HOSTILE_SERVER_NODE_ARGS` more Node options for the server (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { SyncManager } from '../src/manager/sync-manager.js';
import type { Address } from '../src/transport/address.js';
import { killAll, nodeChild, type Message } from './lib/children.js';

const ATTACK_MS = 1000 * (Number(process.env.HOSTILE_SECONDS ?? 10) || 10);
const QUIET_MS = 1000 * (Number(process.env.HOSTILE_QUIET_SECONDS ?? 3) || 3);
const SAMPLE_MS = 50;
const AUTHKEY = randomBytes(32).toString('hex');
const MiB = 1024 * 1024;

process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}

/** VmRSS of a process, bytes. */
function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) * 1024;
}

/** Samples a process's RSS every SAMPLE_MS; `mark(name)` starts a new phase, `peaks` has each phase's peak. */
function sampler(pid: number) {
  const peaks = new Map<string, number>();
  let phase = 'start';
  const take = () => {
    try {
      const rss = rssOf(pid);
      peaks.set(phase, Math.max(peaks.get(phase) ?? 0, rss));
    } catch {
      // the process is gone; the caller finds out
    }
  };
  const timer = setInterval(take, SAMPLE_MS);
  return {
    mark(name: string) {
      take();
      phase = name;
      take();
    },
    peaks,
    stop() {
      clearInterval(timer);
      take();
    },
  };
}

/** What the server measured of itself over a phase (ms; CPU as a share of one core). */
interface ServerPhase {
  eventLoopDelay: { p50: number; p99: number; max: number };
  cpu: { user: number; system: number };
}

interface Stats {
  calls: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
}

const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;
const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '-');

async function main(): Promise<void> {
  const serverArgs = ['--expose-gc', ...(process.env.HOSTILE_SERVER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)];
  const server = nodeChild('server', 'bench/hostile/server.ts', [JSON.stringify(['127.0.0.1', 0]), AUTHKEY], serverArgs);
  const { address, pid } = (await server.next(60_000)) as { address: Address; pid: number };
  const gc = async () => {
    server.send('gc');
    await server.next(30_000);
  };
  const rss = sampler(pid);

  const good = nodeChild('good clients', 'bench/hostile/good-clients.ts', [JSON.stringify(address), AUTHKEY]);
  await good.next(60_000);
  // An inspector of our own, idle during the run, to count objects before the attackers and after them.
  const inspector = await new SyncManager(address, { authkey: Buffer.from(AUTHKEY, 'hex') }).connect();
  const objectsBefore = await inspector.numberOfObjects();
  const attackers = nodeChild('attackers', 'bench/hostile/attackers.ts', [JSON.stringify(address), AUTHKEY]);
  const { attackers: count } = (await attackers.next(60_000)) as { attackers: number };

  const phase = async () => {
    server.send('phase');
    return (await server.next(30_000)) as unknown as ServerPhase;
  };

  await gc();
  const baseline = rssOf(pid);
  rss.mark('quiet');
  await phase();
  good.send(`run quiet ${QUIET_MS}`);
  const quiet = (await good.next(QUIET_MS + 60_000)) as Message & { dialects: Record<string, Stats>; all: Stats };
  const quietServer = await phase();

  rss.mark('attack');
  attackers.send(`go ${ATTACK_MS}`);
  good.send(`run attack ${ATTACK_MS}`);
  const attacked = (await good.next(ATTACK_MS + 60_000)) as Message & { dialects: Record<string, Stats>; all: Stats };
  const attackServer = await phase();
  const report = (await attackers.next(ATTACK_MS + 60_000)) as { attackers: Array<Record<string, unknown>> };
  rss.mark('after');
  await attackers.exited;

  // What the attackers held must come back once they are gone (the flooders' dicts, the victims' objects).
  let objectsAfter = await inspector.numberOfObjects();
  for (let i = 0; i < 50 && objectsAfter !== objectsBefore; i++) {
    await sleep(100);
    objectsAfter = await inspector.numberOfObjects();
  }
  await gc();
  const after = rssOf(pid);
  rss.stop();
  const alive = (await inspector.client.call(null, 'dummy').then(() => true, () => false)) && rssOf(pid) > 0;
  await inspector.shutdown();
  await good.stop();
  await server.stop();

  const rows: Array<[string, string, Stats]> = [];
  for (const [phase, result] of [['quiet', quiet], ['attack', attacked]] as const) {
    rows.push([phase, 'native', result.dialects.msgpack as Stats], [phase, 'pickle', result.dialects.pickle as Stats], [phase, 'all four', result.all]);
  }
  const out: string[] = [];
  out.push(`hostile load on one mpmanager server (default limits), TCP loopback, ${cpus().length} cores shared by every process`);
  out.push(`  ${count} hostile clients for ${ATTACK_MS / 1000} s; 4 good clients (2 native, 2 pickle), one call at a time each, ${QUIET_MS / 1000} s alone first`);
  out.push('');
  out.push('good clients      phase   calls   errors   p50 ms   p99 ms   max ms');
  for (const [phase, who, s] of rows) {
    out.push(`  ${who.padEnd(14)}  ${phase.padEnd(6)} ${String(s.calls).padStart(6)}   ${String(s.errors).padStart(6)}  ${ms(s.p50).padStart(7)}  ${ms(s.p99).padStart(7)}  ${ms(s.max).padStart(7)}`);
  }
  out.push('');
  out.push('server itself     phase   event-loop delay p50 / p99 / max ms   CPU (of one core)');
  for (const [name, p] of [['quiet', quietServer], ['attack', attackServer]] as const) {
    const d = p.eventLoopDelay;
    out.push(`                  ${name.padEnd(6)}  ${ms(d.p50).padStart(8)} / ${ms(d.p99).padStart(8)} / ${ms(d.max).padStart(8)}          ${((p.cpu.user + p.cpu.system) * 100).toFixed(0)} %`);
  }
  out.push(`load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  out.push('');
  out.push(`server RSS: baseline ${mib(baseline)} (after a full GC), peak ${mib(rss.peaks.get('quiet') ?? NaN)} quiet, peak ${mib(rss.peaks.get('attack') ?? NaN)} under attack, ${mib(after)} after (GC)`);
  out.push(`server objects: ${objectsBefore} before the attackers came (the good clients' dicts), ${objectsAfter} after they left; server ${alive ? 'still serving' : 'NOT SERVING'}`);
  out.push('');
  out.push('attackers (kind: what they got done)');
  for (const a of report.attackers) {
    const { kind, ...counters } = a;
    const done = Object.entries(counters).map(([k, v]) => `${k} ${String(v)}`);
    out.push(`  ${String(kind).padEnd(13)} ${done.length > 0 ? done.join(', ') : '(nothing finished)'}`);
  }
  console.log(out.join('\n'));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    killAll();
    process.exit(1);
  },
);
