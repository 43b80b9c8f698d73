/**
 * mpmanager's benchmark client: `client.ts <case> <address-json> <authkey-hex> <params-json>`.
 * Connects (native dialect), sets up and warms up, prints `{"ready": true}`, then for every `go` line on
 * stdin runs one measurement and prints `{"ops", "seconds"}`; exits when stdin ends.
 */
import { performance } from 'node:perf_hooks';
import { Client } from '../../src/connection/index.js';
import { SyncManager } from '../../src/manager/sync-manager.js';
import type { BaseProxy } from '../../proxies/base-proxy.js';
import type { Address } from '../../src/transport/address.js';
import { SMALL_VALUE, serveRuns, type ClientParams, type Measurement } from '../lib/protocol.js';

const [caseName = '', addressJson = 'null', keyHex = '', paramsJson = '{}'] = process.argv.slice(2);
const address = JSON.parse(addressJson) as Address;
const authkey = Buffer.from(keyHex, 'hex');
const p = JSON.parse(paramsJson) as ClientParams;

type Run = () => Promise<Measurement>;

/** Runs `op` `count` times one after another. */
async function timed(count: number, op: () => Promise<unknown>): Promise<Measurement> {
  const t0 = performance.now();
  for (let i = 0; i < count; i++) await op();
  return { ops: count, seconds: (performance.now() - t0) / 1000 };
}

/** Runs `op` at least `p.warmup` times and for at least `p.warmupSeconds`. */
async function warmUp(op: () => Promise<unknown>): Promise<void> {
  const end = performance.now() + p.warmupSeconds * 1000;
  for (let i = 0; i < p.warmup || performance.now() < end; i++) await op();
}

/** Runs `op` for `seconds` with `inflight` calls outstanding at every moment. */
async function sustained(seconds: number, inflight: number, op: () => Promise<unknown>): Promise<Measurement> {
  let ops = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const lane = async (): Promise<void> => {
    while (performance.now() < end) {
      await op();
      ops++;
    }
  };
  await Promise.all(Array.from({ length: inflight }, lane));
  return { ops, seconds: (performance.now() - t0) / 1000 };
}

async function connect(): Promise<SyncManager> {
  const m = await new SyncManager(address, { authkey, encryption: p.encryption, encryptionSuites: p.suites }).connect();
  // An encrypted case that ran in clear would measure the wrong thing.
  if (p.encryption === 'require' && m.client.encryption !== (p.suites?.[0] ?? m.client.encryption)) {
    throw new Error(`asked for ${String(p.suites)}, got ${String(m.client.encryption)}`);
  }
  return m;
}

async function dictWithKey(m: SyncManager): Promise<BaseProxy> {
  const d = await m.create<BaseProxy>('dict');
  await d.callMethod('__setitem__', ['k', SMALL_VALUE]);
  return d;
}

/**
 * Cases that run another case's calls: against a baseline other than CPython (`call-latency-limit`, the
 * peer rows, the inspector's cost). An `encrypted-` case runs its plain case's calls; the parameters
 * choose the channel.
 */
const SAME_CALLS: Record<string, string> = {
  'call-latency-limit': 'call-latency',
  'peer-capnweb-latency': 'call-latency',
  'peer-capnweb-pipelined': 'pipelined-throughput',
  'inspector-pipelined-throughput': 'pipelined-throughput',
};

async function setup(): Promise<Run> {
  const plain = caseName.replace(/^encrypted-/, '');
  switch (SAME_CALLS[plain] ?? plain) {
    case 'raw-pingpong': {
      const conn = await Client(address, { authkey });
      const payload = Buffer.alloc(16, 0x61);
      const op = async () => {
        conn.sendBytes(payload);
        await conn.recvBytes();
      };
      await warmUp(op);
      return () => timed(p.count, op);
    }
    case 'call-latency': {
      const d = await dictWithKey(await connect());
      const op = () => d.callMethod('__getitem__', ['k']);
      await warmUp(op);
      return () => timed(p.count, op);
    }
    case 'pipelined-throughput':
    case 'clients4-throughput': {
      const d = await dictWithKey(await connect());
      const op = () => d.callMethod('__getitem__', ['k']);
      const inflight = p.inflight ?? 1;
      await sustained(p.warmupSeconds, inflight, op);
      return () => sustained(p.seconds, inflight, op);
    }
    case 'create-proxy': {
      const m = await connect();
      const held: BaseProxy[] = [];
      const op = async () => held.push(await m.create<BaseProxy>('dict'));
      const releaseAll = async () => {
        for (const proxy of held.splice(0)) proxy.release();
        await m.client.call(null, 'dummy'); // the releases have reached the server
      };
      await warmUp(op);
      await releaseAll();
      return async () => {
        const result = await timed(p.count, op);
        await releaseAll(); // outside the timing, as CPython's decrefs are
        return result;
      };
    }
    case 'queue-pair': {
      const m = await connect();
      const q = await m.create<BaseProxy>('Queue');
      const op = async () => {
        await q.callMethod('put', [SMALL_VALUE]);
        await q.callMethod('get');
      };
      await warmUp(op);
      return () => timed(p.count, op);
    }
    case 'redis-queue-pair': {
      const q = await (await connect()).create<BaseProxy>('bench_queue');
      const op = async () => {
        await q.callMethod('put', [SMALL_VALUE]);
        await q.callMethod('get');
      };
      await warmUp(op);
      return () => timed(p.count, op);
    }
    case 'redis-dict-get':
    case 'redis-2-servers': {
      const d = await (await connect()).create<BaseProxy>('bench_dict');
      await d.callMethod('__setitem__', ['k', SMALL_VALUE]);
      const op = () => d.callMethod('__getitem__', ['k']);
      if (caseName === 'redis-dict-get') {
        await warmUp(op);
        return () => timed(p.count, op);
      }
      await sustained(p.warmupSeconds, 1, op);
      return () => sustained(p.seconds, 1, op);
    }
    case 'bulk-16mib': {
      const d = await (await connect()).create<BaseProxy>('dict');
      const size = p.size ?? 16 * 1024 * 1024;
      const payload = Buffer.alloc(size, 0x62);
      const op = async () => {
        await d.callMethod('__setitem__', ['b', payload]);
        const back = await d.callMethod<Uint8Array>('__getitem__', ['b']);
        if (back.byteLength !== size) throw new Error(`got ${back.byteLength} bytes back, sent ${size}`);
      };
      await warmUp(op);
      return async () => {
        const r = await timed(p.count, op);
        return { ops: r.ops * 2 * size, seconds: r.seconds }; // bytes moved, both directions
      };
    }
    default:
      throw new Error(`unknown case ${caseName}`);
  }
}

await serveRuns(setup);
