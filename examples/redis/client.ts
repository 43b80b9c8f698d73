// Puts jobs through one server and reads the results through whichever answers: npx tsx
// examples/redis/client.ts PORT_A PORT_B [COUNT]. It reconnects (to either server) if its server goes
// away; the queue and the dict live in Redis, so nothing is lost with a server.
import type { DictProxy, QueueProxy } from 'mpmanager';
import { AUTHKEY, JobManager, registerJobs } from './jobs.js';

const [a = '5001', b = '5002', count = '10'] = process.argv.slice(2);
registerJobs();
const manager = new JobManager(['127.0.0.1', Number(a)], {
  authkey: AUTHKEY,
  reconnect: { addresses: [['127.0.0.1', Number(b)]], maxDelay: 1000 },
});
manager.on('disconnect', (err) => console.log(`disconnected: ${err.message}`));
manager.on('reconnect', (address) => console.log(`reconnected to ${String(address)}`));
await manager.connect();
const jobs = await manager.create<QueueProxy<number | null>>('jobs');
const results = await manager.create<DictProxy<number, number>>('results');
for (let n = 1; n <= Number(count); n++) await jobs.put(n);
await jobs.put(null); // one stop sign per worker
while ((await results.__len__()) < Number(count)) await new Promise((r) => setTimeout(r, 100));
console.log('results:', JSON.stringify(Object.fromEntries(await results.items())));
await manager.shutdown();
