/**
 * The well-behaved clients of `bench/hostile.ts`: `good-clients.ts <address-json> <authkey-hex>`. Four
 * clients, two per dialect (native msgpack, CPython's pickle), each on its own dict, each making one
 * `d['k']` call at a time and timing it. Prints `{"ready": true}` once connected and warmed up; then for
 * each `run <name> <ms>` line on stdin calls for that long and prints
 * `{"phase", "dialects": {msgpack: Stats, pickle: Stats}, "all": Stats}`; exits when stdin ends.
 */
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { SyncManager } from '../../src/manager/sync-manager.js';
import type { BaseProxy } from '../../proxies/base-proxy.js';
import type { Address } from '../../src/transport/address.js';
import { SMALL_VALUE } from '../lib/protocol.js';

const [addressJson = 'null', keyHex = ''] = process.argv.slice(2);
const address = JSON.parse(addressJson) as Address;
const authkey = Buffer.from(keyHex, 'hex');

export interface Stats {
  calls: number;
  errors: number;
  /** Milliseconds. */
  p50: number;
  p99: number;
  max: number;
}

interface Good {
  dialect: 'msgpack' | 'pickle';
  d: BaseProxy;
}

function stats(latencies: number[], errors: number): Stats {
  const sorted = Float64Array.from(latencies).sort();
  const at = (q: number) => (sorted.length === 0 ? NaN : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number));
  return { calls: sorted.length, errors, p50: at(0.5), p99: at(0.99), max: sorted.length === 0 ? NaN : (sorted[sorted.length - 1] as number) };
}

const clients: Good[] = [];
for (const dialect of ['msgpack', 'msgpack', 'pickle', 'pickle'] as const) {
  const m = await new SyncManager(address, { authkey, serializer: dialect }).connect();
  const d = await m.create<BaseProxy>('dict');
  await d.callMethod('__setitem__', ['k', SMALL_VALUE]);
  clients.push({ dialect, d });
}
// Warm up (V8 optimises the hot path of client and server only after a while).
const warmEnd = performance.now() + 1000;
await Promise.all(clients.map(async ({ d }) => {
  while (performance.now() < warmEnd) await d.callMethod('__getitem__', ['k']);
}));
console.log(JSON.stringify({ ready: true }));

for await (const line of createInterface({ input: process.stdin })) {
  const [command, phase, msText] = line.trim().split(/\s+/);
  if (command !== 'run') continue;
  const end = performance.now() + Number(msText);
  const latencies = new Map<Good, number[]>(clients.map((c) => [c, []]));
  const errors = new Map<Good, number>(clients.map((c) => [c, 0]));
  await Promise.all(
    clients.map(async (c) => {
      const mine = latencies.get(c) as number[];
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          const v = await c.d.callMethod('__getitem__', ['k'], null, { timeout: 30 });
          if (v !== SMALL_VALUE) throw new Error(`wrong value ${String(v)}`);
          mine.push(performance.now() - t0);
        } catch {
          errors.set(c, (errors.get(c) ?? 0) + 1);
        }
      }
    }),
  );
  const of = (pick: (c: Good) => boolean) =>
    stats(
      clients.filter(pick).flatMap((c) => latencies.get(c) as number[]),
      clients.filter(pick).reduce((n, c) => n + (errors.get(c) ?? 0), 0),
    );
  console.log(JSON.stringify({ phase, dialects: { msgpack: of((c) => c.dialect === 'msgpack'), pickle: of((c) => c.dialect === 'pickle') }, all: of(() => true) }));
}
process.exit(0);
