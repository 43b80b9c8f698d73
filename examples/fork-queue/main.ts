/**
 * A queue shared by a parent and the children it forks, as CPython code passes a proxy to a
 * `multiprocessing.Process`: the parent starts a manager in its own process, makes a Queue, and hands each
 * child `queue.toTransferable()` (the token and exposed names: plain data, never the authkey) with the
 * address; the child connects its own manager and `rebuild()`s the proxy. Every child's rebuilt proxy
 * holds a reference of its own, so the queue lives as long as any process still uses it.
 *
 *   npx tsx examples/fork-queue/main.ts [--children 3] [--items 5]
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SyncManager } from 'mpmanager';

const { values } = parseArgs({ options: { children: { type: 'string', default: '3' }, items: { type: 'string', default: '5' } } });
const children = Number(values.children);
const items = Number(values.items);

// A random authkey; start() serves in this process and connects this process's client to it.
await using manager = await new SyncManager(['127.0.0.1', 0]).start();
const results = await manager.Queue<[number, number]>();

const worker = fileURLToPath(new URL('./worker.ts', import.meta.url));
const exits = [];
for (let i = 0; i < children; i++) {
  // The child runs TypeScript through tsx, as this file does; its argv carries the hand-off as JSON.
  const child = fork(worker, [], { execArgv: ['--import', 'tsx'], stdio: 'inherit', env: { ...process.env, MPM_AUTHKEY: Buffer.from(manager.authkey).toString('hex') } });
  child.send({ child: i, items, address: manager.address, queue: results.toTransferable() });
  exits.push(once(child, 'exit'));
}

let sum = 0;
for (let n = 0; n < children * items; n++) {
  const [child, value] = await results.get();
  sum += value;
  console.log(`child ${child} sent ${value}`);
}
await Promise.all(exits);
console.log(`${children * items} items from ${children} children, sum ${sum}`);
