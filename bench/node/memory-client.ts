/**
 * Fills mpmanager's server for the memory rows: `memory-client.ts <conns|objects> <address-json> <authkey-hex> <count>`.
 * Warms the server up (one connection, one dict created, written, read and released), prints
 * `{"ready": true}`; on `go` opens `count` idle native manager connections (`conns`) or creates `count`
 * `dict` objects holding one item each (`objects`, one `create('dict', {k: i})` each), keeps them, and prints `{"done": count}`. Exits when
 * stdin ends.
 */
import { createInterface } from 'node:readline';
import { SyncManager } from '../../src/manager/sync-manager.js';
import type { BaseProxy } from '../../proxies/base-proxy.js';
import type { Address } from '../../src/transport/address.js';

const [mode = '', addressJson = 'null', keyHex = '', countText = '0'] = process.argv.slice(2);
const address = JSON.parse(addressJson) as Address;
const authkey = Buffer.from(keyHex, 'hex');
const count = Number(countText);

const connect = () => new SyncManager(address, { authkey }).connect();

/** Runs `task(i)` for i < n with `lanes` of them under way at once. */
async function inLanes(n: number, lanes: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: lanes }, lane));
}

const held: unknown[] = [];
try {
  const main = await connect();
  const warm = await main.create<BaseProxy>('dict');
  await warm.callMethod('__setitem__', ['k', 0]);
  await warm.callMethod('__getitem__', ['k']);
  warm.release();
  await main.client.call(null, 'dummy');
  console.log(JSON.stringify({ ready: true }));
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() !== 'go') continue;
    if (mode === 'conns') {
      await inLanes(count, 16, async () => void held.push(await connect()));
    } else {
      await inLanes(count, 64, async (i) => {
        held.push(await main.create<BaseProxy>('dict', { k: i })); // as CPython's create('dict', {'k': i})
      });
    }
    console.log(JSON.stringify({ done: held.length }));
  }
  process.exit(0);
} catch (err) {
  console.log(JSON.stringify({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
  process.exit(1);
}
