/**
 * The Node peer's client: `capnweb-client.ts <case> <address-json> <authkey-hex> <params-json>`. Opens a
 * WebSocket (`ws`, compression off) to capnweb-server.ts, starts an RPC session on it and calls
 * `get('k')` on the server's main object: one at a time (`peer-capnweb-latency`) or with `inflight`
 * calls kept outstanding for `seconds` (`peer-capnweb-pipelined`). Protocol as bench/node/client.ts.
 */
import { performance } from 'node:perf_hooks';
import { RpcSession } from 'capnweb';
import { WebSocket } from 'ws';
import { WsRpcTransport } from '../lib/capnweb-ws.js';
import { SMALL_VALUE, serveRuns, type ClientParams, type Measurement } from '../lib/protocol.js';
import type { MapTarget } from './capnweb-server.js';

const [caseName = '', addressJson = 'null', , paramsJson = '{}'] = process.argv.slice(2);
const url = JSON.parse(addressJson) as string;
const p = JSON.parse(paramsJson) as ClientParams;

async function timed(count: number, op: () => Promise<unknown>): Promise<Measurement> {
  const t0 = performance.now();
  for (let i = 0; i < count; i++) await op();
  return { ops: count, seconds: (performance.now() - t0) / 1000 };
}

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

async function setup(): Promise<() => Promise<Measurement>> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const map = new RpcSession<MapTarget>(new WsRpcTransport(ws)).getRemoteMain();
  const op = async () => {
    const value = await map.get('k');
    if (value !== SMALL_VALUE) throw new Error(`get('k') gave ${JSON.stringify(value)}`);
  };
  switch (caseName) {
    case 'peer-capnweb-latency': {
      const end = performance.now() + p.warmupSeconds * 1000;
      for (let i = 0; i < p.warmup || performance.now() < end; i++) await op();
      return () => timed(p.count, op);
    }
    case 'peer-capnweb-pipelined': {
      const inflight = p.inflight ?? 1;
      await sustained(p.warmupSeconds, inflight, op);
      return () => sustained(p.seconds, inflight, op);
    }
    default:
      throw new Error(`unknown case ${caseName}`);
  }
}

await serveRuns(setup);
