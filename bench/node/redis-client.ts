/**
 * The direct-Redis baseline: `redis-client.ts <case> <redis-socket-json> <unused> <params-json>`. The same
 * operations a shared object costs, issued straight to Redis with the same client library (node-redis) the
 * server uses, one at a time: a queue put and get (RPUSH, LPOP), a dict read (HGET). Same protocol with the
 * orchestrator as client.ts.
 */
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { createClient } from 'redis';
import { SMALL_VALUE, withCpu, type ClientParams, type Measurement } from '../lib/protocol.js';

const [caseName = '', socketJson = 'null', , paramsJson = '{}'] = process.argv.slice(2);
const socket = JSON.parse(socketJson) as string;
const p = JSON.parse(paramsJson) as ClientParams;

const client = createClient({ socket: { path: socket, tls: false } });
await client.connect();
const key = `bench-direct-${process.pid}`;

async function timed(count: number, op: () => Promise<unknown>): Promise<Measurement> {
  const t0 = performance.now();
  for (let i = 0; i < count; i++) await op();
  return { ops: count, seconds: (performance.now() - t0) / 1000 };
}

let op: () => Promise<unknown>;
switch (caseName) {
  case 'redis-queue-pair':
    op = async () => {
      await client.rPush(key, SMALL_VALUE);
      if ((await client.lPop(key)) === null) throw new Error('the queue was empty');
    };
    break;
  case 'redis-dict-get':
    await client.hSet(key, 'k', SMALL_VALUE);
    op = () => client.hGet(key, 'k');
    break;
  default:
    throw new Error(`unknown case ${caseName}`);
}
const end = performance.now() + p.warmupSeconds * 1000;
for (let i = 0; i < p.warmup || performance.now() < end; i++) await op();
console.log(JSON.stringify({ ready: true }));
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === 'go') console.log(JSON.stringify(await withCpu(() => timed(p.count, op))));
}
await client.del(key);
await client.quit();
process.exit(0);
