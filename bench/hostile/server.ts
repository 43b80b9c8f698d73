/**
 * The server of `bench/hostile.ts`: `server.ts <address-json> <authkey-hex>`, a SyncManager with default
 * limits, run with --expose-gc. Prints `{"address", "pid"}` once listening. Stdin commands, one a line:
 *
 *   gc      two full collections; answers `{"gc": true}`
 *   phase   answers `{"eventLoopDelay": {p50, p99, max}, "cpu": {user, system}}` for the time since the last
 *           `phase` (ms; CPU as a share of one core): how long the server's own event loop was held up
 *           (what a hostile request costs everyone), apart from what the OS scheduler adds; then starts over
 *
 * End of stdin exits.
 */
import { createInterface } from 'node:readline';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { SyncManager } from '../../src/manager/sync-manager.js';
import type { Address } from '../../src/transport/address.js';

const [addressJson = 'null', keyHex = ''] = process.argv.slice(2);
const manager = new SyncManager(JSON.parse(addressJson) as Address, { authkey: Buffer.from(keyHex, 'hex') });
const server = await manager.getServer();
void server.serveForever();
console.log(JSON.stringify({ address: server.address, pid: process.pid }));

const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
let cpu = process.cpuUsage();
let since = performance.now();
const gc = (globalThis as { gc?: () => void }).gc;
for await (const line of createInterface({ input: process.stdin })) {
  const command = line.trim();
  if (command === 'gc') {
    gc?.();
    await new Promise((r) => setTimeout(r, 50));
    gc?.();
    console.log(JSON.stringify({ gc: gc !== undefined }));
  } else if (command === 'phase') {
    const used = process.cpuUsage(cpu);
    const elapsed = (performance.now() - since) * 1000; // µs
    const ms = (ns: number) => ns / 1e6;
    console.log(
      JSON.stringify({
        eventLoopDelay: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) },
        cpu: { user: used.user / elapsed, system: used.system / elapsed },
      }),
    );
    delay.reset();
    cpu = process.cpuUsage();
    since = performance.now();
  }
}
process.exit(0);
