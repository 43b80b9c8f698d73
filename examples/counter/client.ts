/**
 * The README's quick start, client side: creates a `Counter` on the server and calls it.
 *
 *   npx tsx examples/counter/client.ts [--address 127.0.0.1:5000] [--authkey password]
 */
import { parseArgs } from 'node:util';
import { BaseManager, parseAddress } from 'mpmanager';
import type { Counter } from './counter.js';

const { values } = parseArgs({ options: { address: { type: 'string', default: '127.0.0.1:5000' }, authkey: { type: 'string', default: 'password' } } });
const manager = new BaseManager(parseAddress(values.address), { authkey: values.authkey }).register<'Counter', typeof Counter>('Counter');
await manager.connect();
using counter = await manager.Counter();
const total: number = await counter.inc(5); // typed from Counter: Promise<number>
console.log(`counter: ${total}`);
await manager.shutdown();
