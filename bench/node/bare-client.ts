/**
 * The runtime's floor, Node side: `bare-client.ts <case> <address-json> <authkey-hex> <params-json>`.
 * Sends 16 bytes on a bare socket to bare-echo-server.ts and waits until all 16 are back, one round trip
 * at a time, with no framing and no mpmanager code. It reads as mpmanager's connecting sockets do (Node's
 * `onread`, one reused buffer) and writes from the read callback. Protocol as bench/node/client.ts:
 * `{"ready": true}` after the warm-up, then one `{"ops", "seconds"}` per `go` line on stdin.
 */
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { serveRuns, type ClientParams, type Measurement } from '../lib/protocol.js';

const [, addressJson = 'null', , paramsJson = '{}'] = process.argv.slice(2);
const address = JSON.parse(addressJson) as [string, number] | string;
const p = JSON.parse(paramsJson) as ClientParams;
const SIZE = 16;
const message = Buffer.alloc(SIZE, 0x61);

let received = 0;
let left = 0;
let finished: (() => void) | null = null;

const socket = net.connect({
  ...(typeof address === 'string' ? { path: address } : { host: address[0], port: address[1], noDelay: true }),
  onread: {
    buffer: Buffer.allocUnsafe(64 * 1024),
    callback: (n: number) => {
      received += n;
      if (received < SIZE) return true;
      received -= SIZE;
      if (--left > 0) socket.write(message);
      else finished?.();
      return true;
    },
  },
});
await new Promise<void>((resolve, reject) => {
  socket.once('connect', resolve);
  socket.once('error', reject);
});

/** `n` round trips, one after another. */
function roundTrips(n: number): Promise<void> {
  return new Promise((resolve) => {
    left = n;
    finished = resolve;
    socket.write(message);
  });
}

async function timed(count: number): Promise<Measurement> {
  const t0 = performance.now();
  await roundTrips(count);
  return { ops: count, seconds: (performance.now() - t0) / 1000 };
}

await serveRuns(async () => {
  const end = performance.now() + p.warmupSeconds * 1000;
  await roundTrips(Math.max(1, p.warmup));
  while (performance.now() < end) await roundTrips(1000);
  return () => timed(p.count);
});
