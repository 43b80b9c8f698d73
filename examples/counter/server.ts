/**
 * The README's quick start, server side: hosts `Counter` objects.
 *
 *   npx tsx examples/counter/server.ts [--address 127.0.0.1:5000] [--authkey password]
 */
import { parseArgs } from 'node:util';
import { BaseManager, formatAddress, parseAddress } from 'mpmanager';
import { Counter } from './counter.js';

const { values } = parseArgs({ options: { address: { type: 'string', default: '127.0.0.1:5000' }, authkey: { type: 'string', default: 'password' } } });
const manager = new BaseManager(parseAddress(values.address), { authkey: values.authkey }).register('Counter', Counter);
const server = await manager.getServer();
console.log(`listening on ${formatAddress(server.address)}`);
process.once('SIGINT', () => void server.shutdown());
process.once('SIGTERM', () => void server.shutdown());
await server.serveForever();
