/**
 * mpmanager's raw echo server: `echo-server.ts <address-json> <authkey-hex>`. Every authenticated
 * connection gets each `recvBytes` frame back through `sendBytes`. Prints `{"address", "pid"}` once
 * listening; exits when stdin ends.
 */
import { Listener, type Connection } from '../../src/connection/index.js';
import type { Address } from '../../src/transport/address.js';

const address = JSON.parse(process.argv[2] ?? 'null') as Address;
const authkey = Buffer.from(process.argv[3] ?? '', 'hex');

async function echo(conn: Connection): Promise<void> {
  try {
    for (;;) conn.sendBytes(await conn.recvBytes());
  } catch {
    conn.close(); // the client went away
  }
}

const listener = await Listener.listen(address, { authkey });
console.log(JSON.stringify({ address: listener.address, pid: process.pid }));
process.stdin.on('end', () => process.exit(0)).resume();
for await (const conn of listener) void echo(conn);
