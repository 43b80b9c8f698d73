/**
 * What the orchestrator and the client processes (Node and Python) agree on. A client gets its case,
 * the server address (JSON), the authkey (hex) and these parameters (JSON) on its command line, prints
 * `{"ready": true}` once set up and warmed up, then one `Measurement` per `go` line on stdin.
 * `bench/py/client.py` reads the same parameters.
 */
import { createInterface } from 'node:readline';

export interface ClientParams {
  /** Operations before the first measurement, at least (count cases). */
  warmup: number;
  /** Operations per measurement (count cases). */
  count: number;
  /**
   * Seconds of warm-up before the first measurement, at least: throughput cases call for this long;
   * count cases keep going past `warmup` operations until this much time has passed (V8 optimises
   * the hot path only after a while, on both the client and the server).
   */
  warmupSeconds: number;
  /** Seconds per measurement (throughput cases). */
  seconds: number;
  /** Calls kept in flight on the one connection (throughput cases; default 1). */
  inflight?: number;
  /** Bytes of the bulk value (bulk case). */
  size?: number;
  /** The client's encryption policy (default: the library's, which is off on loopback). */
  encryption?: 'off' | 'prefer' | 'require';
  /** The cipher suites the client accepts (encrypted cases pick one). */
  suites?: Array<'aes-256-gcm' | 'xsalsa20-poly1305'>;
}

/**
 * One measurement: `ops` operations (bytes for the bulk case) in `seconds`; `cpuSeconds`, the CPU time
 * (user + system) the client process spent meanwhile.
 */
export interface Measurement {
  ops: number;
  seconds: number;
  cpuSeconds?: number;
}

/** Runs one measurement and adds the CPU time this process spent on it (`process.cpuUsage`). */
export async function withCpu(run: () => Promise<Measurement>): Promise<Measurement> {
  const before = process.cpuUsage();
  const m = await run();
  const used = process.cpuUsage(before);
  return { ...m, cpuSeconds: (used.user + used.system) / 1e6 };
}

/**
 * A client process's life: `setup()` (connect, warm up) resolves with the measurement to run; then
 * `{"ready": true}`, one measurement line per `go` on stdin, and exit when stdin ends. A failure prints
 * `{"error": ...}` and exits 1.
 */
export async function serveRuns(setup: () => Promise<() => Promise<Measurement>>): Promise<never> {
  try {
    const run = await setup();
    console.log(JSON.stringify({ ready: true }));
    for await (const line of createInterface({ input: process.stdin })) {
      if (line.trim() === 'go') console.log(JSON.stringify(await withCpu(run)));
    }
    process.exit(0);
  } catch (err) {
    console.log(JSON.stringify({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
    process.exit(1);
  }
}

/** The value stored under `'k'` and put on queues: a short string, as Python's `'v' * 16`. */
export const SMALL_VALUE = 'vvvvvvvvvvvvvvvv';
