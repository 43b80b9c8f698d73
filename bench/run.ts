/**
 * `npm run bench`: runs every case against mpmanager and against stock CPython in the same run, over TCP
 * and over a Unix socket, prints a table and writes `bench/results.json` (the rows) and
 * `bench/machine.json` (machine, versions, run counts and parameters). See bench/README.md.
 *
 * Environment: `BENCH_RUNS` (default 5) measured runs per case and side, the median is reported;
 * `BENCH_QUICK=1` one run with smaller counts (a smoke test, not a measurement); `BENCH_PYTHON` the
 * CPython to compare with (default `python3`).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cases, lowerIsBetter, memorySizes, type Against, type Case, type Reduce, type Side, type Transport, type Unit } from './cases.js';
import { Child, killAll, nodeChild, pythonChild, ROOT, type Message } from './lib/children.js';
import { REDIS_SERVER, startRedis } from './lib/redis.js';
import type { Measurement } from './lib/protocol.js';

const QUICK = process.env.BENCH_QUICK === '1';
const RUNS = QUICK ? 1 : Math.max(1, Number(process.env.BENCH_RUNS ?? '5') || 5);
/** `BENCH_CASES=call-latency,mem` runs only the named cases (`mem` = the memory rows); for exploring, not for the README table. */
const ONLY = process.env.BENCH_CASES ? new Set(process.env.BENCH_CASES.split(',')) : null;
/** The transports a case runs on unless it names its own (`Case.transports`). */
const TRANSPORTS: readonly Transport[] = ['tcp', 'unix'];
/** Every transport, in the order the run goes through them; `ws` only has the cases that name it. */
const ALL_TRANSPORTS: readonly Transport[] = ['tcp', 'unix', 'ws'];
/**
 * `BENCH_SEMI_SPACE_MB`: caps V8's young generation in mpmanager's server processes
 * (`--max-semi-space-size`). The memory rows read RSS, which counts the young generation V8 grows while a
 * burst of handshakes allocates; capping it shows what the connections and objects themselves keep.
 */
const SEMI_SPACE = process.env.BENCH_SEMI_SPACE_MB ?? '';
const AUTHKEY = randomBytes(32).toString('hex');
const TMP = mkdtempSync(join(tmpdir(), 'mpm-bench-'));

/** One row of results.json. */
interface Row {
  case: string;
  /** `tcp` or `unix`, with the variant measured (`tcp+aead`: over an AES-256-GCM channel). */
  transport: string;
  unit: Unit;
  ours: number;
  baseline: number;
  /** How many times better ours is than the baseline (above 1 means better, whichever way the unit points). */
  ratio: number;
  /** What `baseline` is (cases.ts `Against`): `cpython`, `bare-node`, `capnweb`, `plaintext`, `direct-redis`, `one-server`, `inspector-off`. */
  against: Against;
}

/** The run count shown in the table for each row (results.json keeps exactly the fields above). */
const runsOf = new WeakMap<Row, number>();

// ---- cleanup: no child outlives the run ----------------------------------------------------------

function cleanup(): void {
  killAll();
  rmSync(TMP, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping every benchmark process`);
    cleanup();
    process.exit(130);
  });
}

// ---- servers -------------------------------------------------------------------------------------

interface Server {
  child: Child;
  address: unknown;
  pid: number;
}

let pythonExe = process.env.BENCH_PYTHON ?? 'python3';

let servers = 0;

/** Loopback with a free port, a WebSocket URL on loopback, or a fresh socket path (a killed server leaves its path behind). */
function listenAddress(transport: Transport, name: string): unknown {
  switch (transport) {
    case 'tcp':
      return ['127.0.0.1', 0];
    case 'ws':
      return 'ws://127.0.0.1:0/';
    case 'unix':
      return join(TMP, `${name}-${++servers}.sock`);
    default:
      return transport satisfies never;
  }
}

/** The program of each `<server>-<target>` (cases.ts `Side`), whether it is a Node or Python one, and its extra arguments. */
const SERVER_PROGRAMS: Record<string, { node: boolean; script: string; args?: string[] }> = {
  'ours-manager': { node: true, script: 'bench/node/manager-server.ts' },
  'ours-inspector-manager': { node: true, script: 'bench/node/manager-server.ts', args: ['--inspector'] },
  'ours-echo': { node: true, script: 'bench/node/echo-server.ts' },
  'ours-bare-echo': { node: true, script: 'bench/node/bare-echo-server.ts' },
  'cpython-manager': { node: false, script: 'bench/py/server.py' },
  'cpython-echo': { node: false, script: 'bench/py/echo_server.py' },
  'cpython-bare-echo': { node: false, script: 'bench/py/bare_echo_server.py' },
  // capnweb listens on a WebSocket on loopback whatever the row's transport.
  'capnweb-map': { node: true, script: 'bench/node/capnweb-server.ts' },
};

/** Starts the server `key` (`<server>-<target>`, a key of SERVER_PROGRAMS) on `transport`. */
async function startServer(key: string, transport: Transport, tag = '', redisUrl?: string): Promise<Server> {
  const name = `${key}-${transport}${tag}`;
  const program = SERVER_PROGRAMS[key];
  if (program === undefined) throw new Error(`no ${key} server`);
  const ours = key.startsWith('ours-');
  const address = JSON.stringify(key.startsWith('capnweb-') ? listenAddress('ws', name) : listenAddress(transport, name));
  const args = [address, AUTHKEY, ...(redisUrl ? [redisUrl] : []), ...(program.args ?? [])];
  const child = program.node
    ? nodeChild(name, program.script, args, ['--expose-gc', ...(SEMI_SPACE && ours ? [`--max-semi-space-size=${SEMI_SPACE}`] : [])])
    : pythonChild(name, program.script, args);
  const msg = await child.next(60_000);
  return { child, address: msg.address, pid: Number(msg.pid) };
}

/** Servers by `<server>-<target>`; `ours-redis-manager-2` is the second server on the same Redis. */
type Servers = Record<string, Server>;

/** The servers the cases need on `transport`, started at once. */
async function startServers(transport: Transport, caseList: readonly Case[], redisUrl: string | null): Promise<Servers> {
  const keys = new Set<string>();
  for (const c of caseList) {
    for (const s of [c.ours(transport), c.baseline(transport)]) keys.add(`${s.server}-${s.target}${s.spread ? '+2' : ''}`);
  }
  const servers: Servers = {};
  const starting: Array<Promise<void>> = [];
  const start = (key: string, program = key, tag = '', url?: string) => {
    starting.push(startServer(program, transport, tag, url).then((s) => void (servers[key] = s)));
  };
  for (const key of keys) {
    if (!key.startsWith('ours-redis-') && !key.startsWith('redis-')) start(key);
  }
  if (redisUrl !== null && [...keys].some((k) => k.includes('redis'))) {
    start('ours-redis-manager', 'ours-manager', '-redis', redisUrl);
    start('ours-redis-manager-2', 'ours-manager', '-redis-2', redisUrl);
  }
  const settled = await Promise.allSettled(starting);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) {
    await Promise.all(Object.values(servers).map((s) => s.child.stop()));
    throw failed.reason;
  }
  const redisServer = servers['ours-redis-manager'];
  // The direct-Redis clients take the socket path as their address.
  if (redisUrl !== null && redisServer !== undefined) servers['redis-manager'] = { child: redisServer.child, address: redisUrl, pid: 0 };
  return servers;
}

// ---- cases ---------------------------------------------------------------------------------------

function startClients(caseName: string, side: Side, servers: Servers, label: string): Child[] {
  const key = `${side.server}-${side.target}`;
  return Array.from({ length: side.procs }, (_, i) => {
    const server = servers[side.spread && i % 2 === 1 ? `${key}-2` : key];
    if (server === undefined) throw new Error(`no ${key} server in this run`);
    const args = [caseName, JSON.stringify(server.address), AUTHKEY, JSON.stringify(side.params)];
    const name = `${label}-client${side.procs > 1 ? `-${i + 1}` : ''}`;
    switch (side.client) {
      case 'node':
        return nodeChild(name, 'bench/node/client.ts', args);
      case 'python':
        return pythonChild(name, 'bench/py/client.py', args);
      case 'redis':
        return nodeChild(name, 'bench/node/redis-client.ts', args);
      case 'bare-node':
        return nodeChild(name, 'bench/node/bare-client.ts', args);
      case 'bare-python':
        return pythonChild(name, 'bench/py/bare_client.py', args);
      case 'capnweb':
        return nodeChild(name, 'bench/node/capnweb-client.ts', args);
      default:
        return side.client satisfies never;
    }
  });
}

/**
 * CPU time a process has used so far, in µs: the time on CPU of each of its threads, from
 * `/proc/<pid>/task/<tid>/schedstat` (nanoseconds; `/proc/<pid>/stat` counts 10 ms ticks). A thread that
 * ends between two readings takes its time with it; the servers' threads live as long as their
 * connections (CPython) or the process (Node's), so none ends during a run.
 */
function cpuMicros(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended meanwhile
    }
  }
  return ns / 1000;
}

function figure(reduce: Reduce, results: Measurement[], serverCpu: number): number {
  switch (reduce) {
    case 'server-cpu':
      return serverCpu / results.reduce((sum, r) => sum + r.ops, 0);
    case 'latency': {
      const [only] = results;
      if (!only || results.length !== 1) throw new Error('a latency case has one client');
      return (only.seconds / only.ops) * 1e6;
    }
    case 'rate':
      return results.reduce((sum, r) => sum + r.ops / r.seconds, 0);
    case 'bytes':
      return results.reduce((sum, r) => sum + r.ops / r.seconds, 0) / 1e6;
    default:
      return reduce satisfies never;
  }
}

function asMeasurement(msg: Message, who: string): Measurement {
  const { ops, seconds, cpuSeconds } = msg;
  if (typeof ops !== 'number' || typeof seconds !== 'number' || !(seconds > 0) || !(ops > 0)) {
    throw new Error(`${who} sent a bad measurement: ${JSON.stringify(msg)}`);
  }
  return typeof cpuSeconds === 'number' ? { ops, seconds, cpuSeconds } : { ops, seconds };
}

/** Where one run's CPU went, in µs per operation (per MB in MB/s cases): all the side's clients, and its server. */
interface CpuSplit {
  client: number;
  server: number;
}

/**
 * One measured run of one side: `go` to every client at once, one result from each. `serverPid`: the
 * side's server (0: none of ours to read, as Redis), whose CPU time over the run `server-cpu` cases report
 * and every case records (`cpu`).
 */
async function measure(clients: Child[], reduce: Reduce, serverPid = 0): Promise<{ figure: number; cpu: CpuSplit }> {
  const cpu0 = serverPid > 0 ? cpuMicros(serverPid) : 0;
  for (const c of clients) c.send('go');
  const results = await Promise.all(clients.map(async (c) => asMeasurement(await c.next(180_000), c.name)));
  const serverCpu = serverPid > 0 ? cpuMicros(serverPid) - cpu0 : 0;
  const ops = results.reduce((sum, r) => sum + r.ops, 0) / (reduce === 'bytes' ? 1e6 : 1);
  const clientCpu = results.reduce((sum, r) => sum + (r.cpuSeconds ?? 0), 0) * 1e6;
  return { figure: figure(reduce, results, serverCpu), cpu: { client: clientCpu / ops, server: serverCpu / ops } };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  if (s.length === 0) throw new Error('median of nothing');
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function row(name: string, transport: string, unit: Unit, ours: number, baseline: number, runs: number, against: Against = 'cpython'): Row {
  const ratio = lowerIsBetter(unit) ? baseline / ours : ours / baseline;
  const r: Row = { case: name, transport, unit, ours: round(ours), baseline: round(baseline), ratio: Number(ratio.toFixed(3)), against };
  runsOf.set(r, runs);
  return r;
}

function round(x: number): number {
  return Math.abs(x) >= 1000 ? Math.round(x) : Number(x.toPrecision(4));
}

const samples: Record<string, { ours: number[]; baseline: number[] }> = {};
/**
 * Where the CPU went in each case and side (medians of the runs): µs per operation (per MB in MB/s cases)
 * of the client processes together and of the server process (0 where it is not ours to read: Redis).
 * The limit rows read their why from it.
 */
const cpuSplits: Record<string, { ours: CpuSplit; baseline: CpuSplit }> = {};

async function runCase(c: Case, transport: Transport, servers: Servers): Promise<Row> {
  const ours = c.ours(transport);
  const base = c.baseline(transport);
  const label = `${transport}${c.variant ?? ''}`;
  const ourClients = startClients(c.name, ours, servers, `ours-${c.name}-${label}`);
  const pyClients = startClients(c.name, base, servers, `baseline-${c.name}-${label}`);
  const all = [...ourClients, ...pyClients];
  const pidOf = (s: Side) => servers[`${s.server}-${s.target}`]?.pid ?? 0;
  const sides = { ours: { clients: ourClients, pid: pidOf(ours) }, baseline: { clients: pyClients, pid: pidOf(base) } };
  try {
    await Promise.all(all.map((child) => child.next(180_000))); // ready: set up and warmed up
    // One discarded run per side, each alone on the machine: the warm-ups above ran side by side.
    if (!QUICK) for (const s of [sides.ours, sides.baseline]) await measure(s.clients, c.reduce, s.pid);
    const figures = { ours: [] as number[], baseline: [] as number[] };
    const split = { ours: [] as CpuSplit[], baseline: [] as CpuSplit[] };
    for (let r = 0; r < RUNS; r++) {
      // Alternate which side goes first, so a slow drift of the machine does not favour one side.
      const order = r % 2 === 0 ? (['ours', 'baseline'] as const) : (['baseline', 'ours'] as const);
      for (const who of order) {
        const m = await measure(sides[who].clients, c.reduce, sides[who].pid);
        figures[who].push(m.figure);
        split[who].push(m.cpu);
      }
    }
    samples[`${c.name}/${label}`] = figures;
    const medianSplit = (xs: CpuSplit[]) => ({ client: round(median(xs.map((x) => x.client))), server: round(median(xs.map((x) => x.server))) });
    cpuSplits[`${c.name}/${label}`] = { ours: medianSplit(split.ours), baseline: medianSplit(split.baseline) };
    return row(c.name, label, c.unit, median(figures.ours), median(figures.baseline), RUNS, c.against);
  } finally {
    await Promise.all(all.map((child) => child.stop()));
  }
}

// ---- memory --------------------------------------------------------------------------------------

function rssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

async function settledRss(server: Server): Promise<number> {
  await sleep(300);
  server.child.send('gc');
  await server.child.next(30_000);
  await sleep(200);
  return rssKiB(server.pid);
}

/** Server RSS growth per idle connection (`conns`) or per hosted one-item dict (`objects`), in KiB. */
async function memoryPer(side: 'ours' | 'cpython', mode: 'conns' | 'objects', transport: Transport, count: number): Promise<number> {
  const server = await startServer(`${side}-manager`, transport, `-mem-${mode}`);
  const args = [mode, JSON.stringify(server.address), AUTHKEY, String(count)];
  const name = `${side}-memory-${mode}-${transport}`;
  const client = side === 'ours' ? nodeChild(name, 'bench/node/memory-client.ts', args) : pythonChild(name, 'bench/py/memory_client.py', args);
  try {
    await client.next(120_000);
    const before = await settledRss(server);
    client.send('go');
    await client.next(600_000);
    const after = await settledRss(server);
    return (after - before) / count;
  } finally {
    await client.stop();
    await server.child.stop();
  }
}

/** The median of `runs` memory measurements of both sides, each on a fresh server, sides alternating. */
async function memoryRow(name: string, unit: Unit, mode: 'conns' | 'objects', transport: Transport, count: number, runs: number): Promise<Row> {
  const figures = { ours: [] as number[], baseline: [] as number[] };
  for (let r = 0; r < runs; r++) {
    const order = r % 2 === 0 ? (['ours', 'baseline'] as const) : (['baseline', 'ours'] as const);
    for (const who of order) figures[who].push(await memoryPer(who === 'ours' ? 'ours' : 'cpython', mode, transport, count));
  }
  samples[`${name}/${transport}`] = figures;
  return row(name, transport, unit, median(figures.ours), median(figures.baseline), runs);
}

async function memoryRows(): Promise<Row[]> {
  const { conns, objects, runs } = memorySizes({ quick: QUICK });
  const rows: Row[] = [];
  for (const transport of TRANSPORTS) rows.push(await memoryRow('mem-idle-connection', 'KiB/conn', 'conns', transport, conns, runs));
  // Hosting an object costs the same whatever the transport; CPython makes one connection per create,
  // so the Unix socket keeps that part of the run short.
  rows.push(await memoryRow('mem-small-object', 'KiB/object', 'objects', 'unix', objects, runs));
  return rows;
}

// ---- output --------------------------------------------------------------------------------------

function formatNumber(x: number): string {
  return Math.abs(x) >= 1000 ? Math.round(x).toLocaleString('en-US') : x.toFixed(Math.abs(x) >= 100 ? 1 : 2);
}

function table(rows: readonly Row[]): string {
  const head = ['case', 'transport', 'unit', 'ours', 'baseline', 'against', 'ratio', 'runs'];
  const body = rows.map((r) => [r.case, r.transport, r.unit, formatNumber(r.ours), formatNumber(r.baseline), r.against, `${r.ratio.toFixed(2)}x`, String(runsOf.get(r) ?? '')]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const numeric = new Set([3, 4, 5, 6]);
  const line = (cells: string[]) => cells.map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

function machineInfo(caseList: Case[]): Record<string, unknown> {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const python = execFileSync(pythonExe, ['-c', 'import sys; print(sys.version.split()[0])'], { encoding: 'utf8' }).trim();
  const params: Record<string, unknown> = {};
  for (const c of caseList) {
    for (const t of c.transports ?? TRANSPORTS) {
      const strip = (s: Side) => ({ client: s.client, server: s.server, processes: s.procs, ...s.params });
      params[`${c.name}/${t}${c.variant ?? ''}`] = { what: c.what, against: c.against ?? 'cpython', ours: strip(c.ours(t)), baseline: strip(c.baseline(t)) };
    }
  }
  return {
    date: new Date().toISOString(),
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? 'unknown',
    cores: cpus().length,
    memoryMiB: Math.round(totalmem() / 2 ** 20),
    kernel: release(),
    node: process.version,
    python,
    pythonExecutable: pythonExe,
    quick: QUICK,
    runs: RUNS,
    reported: QUICK
      ? 'one run after a short warm-up (smoke test)'
      : 'median of the measured runs; before them, a warm-up in each client process and one discarded run per side',
    memory: memorySizes({ quick: QUICK }),
    params,
    samples,
    cpu: cpuSplits,
  };
}

// ---- main ----------------------------------------------------------------------------------------

async function main(): Promise<void> {
  // Resolve a version-manager shim once, so every Python child starts as fast as it can.
  pythonExe = execFileSync(pythonExe, ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
  process.env.BENCH_PYTHON = pythonExe;
  let caseList = cases({ quick: QUICK }).filter((c) => !ONLY || ONLY.has(c.name));
  const redis = caseList.some((c) => c.needs === 'redis') ? await startRedis(TMP) : null;
  if (redis === null && caseList.some((c) => c.needs === 'redis')) {
    console.log(`redis-server is not installed (${REDIS_SERVER}): the redis-* rows are skipped; install it with apt-get install -y redis-server`);
    caseList = caseList.filter((c) => c.needs !== 'redis');
  }
  const t0 = Date.now();
  const rows: Row[] = [];
  console.log(`mpmanager bench: ${QUICK ? 'QUICK smoke run (1 run, small counts)' : `${RUNS} runs per case`}; ours vs CPython ${pythonExe}`);
  for (const transport of ALL_TRANSPORTS) {
    const here = caseList.filter((c) => (c.transports ?? TRANSPORTS).includes(transport));
    if (here.length === 0) continue;
    const servers = await startServers(transport, here, here.some((c) => c.needs === 'redis') ? (redis?.url ?? null) : null);
    try {
      for (const c of here) {
        const r = await runCase(c, transport, servers);
        rows.push(r);
        const cpu = cpuSplits[`${c.name}/${r.transport}`];
        const split = cpu ? `; cpu/op client+server ${formatNumber(cpu.ours.client)}+${formatNumber(cpu.ours.server)}, ${formatNumber(cpu.baseline.client)}+${formatNumber(cpu.baseline.server)} µs` : '';
        console.log(`  ${c.name.padEnd(30)} ${r.transport.padEnd(9)} ours ${formatNumber(r.ours)} ${r.unit}, ${r.against} ${formatNumber(r.baseline)} ${r.unit}${split}  (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
      }
    } finally {
      await Promise.all(Object.values(servers).map((s) => s.child.stop()));
    }
  }
  for (const r of !ONLY || ONLY.has('mem') ? await memoryRows() : []) {
    rows.push(r);
    console.log(`  ${r.case.padEnd(30)} ${r.transport.padEnd(9)} ours ${formatNumber(r.ours)} ${r.unit}, ${r.against} ${formatNumber(r.baseline)} ${r.unit}`);
  }
  console.log(`\n${table(rows)}\n`);
  console.log(`ratio: how many times better ours is than the baseline (baseline/ours for µs and KiB, ours/baseline for rates).`);
  console.log(`figures: median of the runs shown, after a warm-up; ${((Date.now() - t0) / 1000).toFixed(0)} s in all.`);
  if (ONLY) return; // a partial run does not replace the full results
  writeFileSync(resolve(ROOT, 'bench/results.json'), `${JSON.stringify(rows, null, 2)}\n`);
  writeFileSync(resolve(ROOT, 'bench/machine.json'), `${JSON.stringify(machineInfo(caseList), null, 2)}\n`);
  console.log('wrote bench/results.json and bench/machine.json');
}

try {
  await main();
  process.exit(0);
} catch (err) {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
}
