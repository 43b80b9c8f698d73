/**
 * One mpmanager client for cpu-per-call.sh: `cpu-client.ts ADDRESS SECONDS`. Calls `d['k']` on a dict proxy
 * one at a time for SECONDS (after 0.5 s of warm-up) and prints {"lang": "node", "calls_per_s",
 * "cpu_us_per_call"} (`process.cpuUsage`: user + system time of the whole process).
 */
import { SyncManager } from '../../src/manager/sync-manager.js';
import type { BaseProxy } from '../../proxies/base-proxy.js';

const [address = '', seconds = '3'] = process.argv.slice(2);
const m = await new SyncManager(address, { authkey: 'probe' }).connect();
const d = await m.create<BaseProxy>('dict');
await d.callMethod('__setitem__', ['k', 'v'.repeat(16)]);
const callFor = async (ms: number): Promise<number> => {
  let n = 0;
  for (const end = performance.now() + ms; performance.now() < end; n++) await d.callMethod('__getitem__', ['k']);
  return n;
};
await callFor(500);
const before = process.cpuUsage();
const n = await callFor(Number(seconds) * 1000);
const used = process.cpuUsage(before);
console.log(JSON.stringify({ lang: 'node', calls_per_s: Math.round(n / Number(seconds)), cpu_us_per_call: Math.round(((used.user + used.system) / n) * 10) / 10 }));
process.exit(0);
