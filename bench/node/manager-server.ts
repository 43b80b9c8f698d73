/**
 * mpmanager's manager server for the benchmark: `manager-server.ts <address-json> <authkey-hex>`.
 * Serves Python's typeids (`dict`, `Queue`, ...) on one address, to native and stock CPython clients alike.
 * Prints `{"address", "pid"}` once listening. Stdin: `gc` runs a full collection (run with --expose-gc)
 * and answers `{"gc": true}`; end of stdin exits.
 */
import { createInterface } from 'node:readline';
import type { Address } from '../../src/transport/address.js';
import { SyncManager } from '../../src/manager/sync-manager.js';

const address = JSON.parse(process.argv[2] ?? 'null') as Address;
const authkey = Buffer.from(process.argv[3] ?? '', 'hex');

const manager = new SyncManager(address, { authkey });
const server = await manager.getServer();
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
