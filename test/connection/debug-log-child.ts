/**
 * Run by debug-log.test.ts with NODE_DEBUG=mpmanager: a manager server, a native client and a CPython-
 * dialect client that each create and release an object, and a client with a wrong authkey. Prints the
 * server's address and `done`; the debug lines go to stderr.
 */
import { SyncManager } from '../../src/manager/sync-manager.js';
import { formatAddress } from '../../src/transport/address.js';

const AUTHKEY = 'debug-log-secret-authkey';

const server = await new SyncManager(['127.0.0.1', 0], { authkey: AUTHKEY }).getServer();
void server.serveForever();
process.stdout.write(`address ${formatAddress(server.address)}\n`);

for (const serializer of ['msgpack', 'pickle'] as const) {
  const client = await new SyncManager(server.address, { authkey: AUTHKEY, serializer }).connect();
  const d = await client.dict();
  d.release();
  await client.shutdown();
}

const intruder = await new SyncManager(server.address, { authkey: 'not-the-key' }).connect().catch((err: unknown) => err);
process.stdout.write(`intruder ${(intruder as Error).name}\n`);

// Let the server see the last closes before it stops.
await new Promise((r) => setTimeout(r, 200));
await server.shutdown();
process.stdout.write('done\n');
