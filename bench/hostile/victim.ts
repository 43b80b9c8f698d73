/**
 * A client process that the killers of `bench/hostile.ts` SIGKILL mid-work: `victim.ts <address-json>
 * <authkey-hex>`. Connects (native dialect), creates five objects, takes a lock, leaves gets waiting on a
 * queue and waits on an event, then prints `{"ready": true}` and waits to be killed. The server must give
 * all of it back when the process dies.
 */
import { SyncManager } from '../../src/manager/sync-manager.js';
import type { Address } from '../../src/transport/address.js';

const [addressJson = 'null', keyHex = ''] = process.argv.slice(2);
const m = await new SyncManager(JSON.parse(addressJson) as Address, { authkey: Buffer.from(keyHex, 'hex') }).connect();
const d = await m.dict<string, string>();
await d.set('k', 'v'.repeat(100_000));
const lock = await m.Lock();
await lock.acquire();
const q = await m.Queue<string>();
const ev = await m.Event();
const held = [d, lock, q, ev, await m.list([1, 2, 3])];
for (let i = 0; i < 20; i++) void q.get().catch(() => {});
for (let i = 0; i < 50; i++) void ev.wait().catch(() => {});
await d.__len__(); // served after the waits above began (one connection, in order)
console.log(JSON.stringify({ ready: true, holding: held.length }));
setInterval(() => void held, 60_000);
