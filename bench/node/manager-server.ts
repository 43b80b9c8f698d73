/**
 * mpmanager's manager server for the benchmark: `manager-server.ts <address-json> <authkey-hex> [redis-socket | --inspector]`.
 * Serves Python's typeids (`dict`, `Queue`, ...) on one address, to native and stock CPython clients alike.
 * With `--inspector`, an inspector is started with the server (as `mpmanager serve --inspector` does) and
 * followed by one page (a `/events` stream, a snapshot each second), so the server records its calls.
 * Prints `{"address", "pid"}` once listening. Stdin: `gc` runs a full collection (run with --expose-gc)
 * and answers `{"gc": true}`; end of stdin exits.
 */
import { get } from 'node:http';
import { createInterface } from 'node:readline';
import type { Address } from '../../src/transport/address.js';
import { SyncManager } from '../../src/manager/sync-manager.js';

const address = JSON.parse(process.argv[2] ?? 'null') as Address;
const authkey = Buffer.from(process.argv[3] ?? '', 'hex');

const inspect = process.argv[4] === '--inspector';
// With a Redis socket: the shared objects the redis-* cases use, kept in that Redis.
const redisUrl = inspect ? undefined : process.argv[4];
class BenchManager extends SyncManager {}
if (redisUrl !== undefined) {
  // Imported only here: the other cases' servers (and the memory rows) load no Redis client.
  const { RedisObjects } = await import('../../src/backends/redis/index.js');
  const { registerShared } = await import('../../src/manager/shared.js');
  const store = await RedisObjects.connect(redisUrl, { namespace: 'bench' });
  registerShared(BenchManager, 'bench_queue', 'Queue', store);
  registerShared(BenchManager, 'bench_dict', 'dict', store);
}
const manager = new BenchManager(address, { authkey });
const server = await manager.getServer();
if (inspect) {
  // Imported only here, as the Redis client above: the other servers load no inspector.
  const { startInspector } = await import('../../src/inspector/index.js');
  const inspector = await startInspector(server, { port: 0 });
  const events = new URL(inspector.url);
  events.pathname = '/events';
  await new Promise<void>((resolve, reject) => {
    get(events, (res) => {
      if (res.statusCode !== 200) reject(new Error(`the inspector's /events answered ${res.statusCode}`));
      else resolve();
      res.resume();
    }).once('error', reject);
  });
}
void server.serveForever();
console.log(JSON.stringify({ address: server.address, pid: process.pid }));

const gc = (globalThis as { gc?: () => void }).gc;
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === 'gc') {
    gc?.();
    await new Promise((r) => setTimeout(r, 50));
    gc?.();
    console.log(JSON.stringify({ gc: gc !== undefined }));
  }
}
process.exit(0);
