/**
 * The socket pair of the reference programs, server side (CPython's `Listener` example): accepts
 * connections one after another, prints every message, closes a connection on 'close connection' and
 * stops on 'close server'.
 *
 *   npx tsx examples/socket/server.ts [--address 127.0.0.1:6000 | /path/to.sock] [--authkey password]
 *
 * Unlike CPython's accept loop, a client that never finishes the handshake, fails it, or vanishes does
 * not stop the server: failed handshakes are logged from the listener's 'handshakeError' event.
 */
import { parseArgs } from 'node:util';
import { Listener, formatAddress, parseAddress } from 'mpmanager';

const USAGE = 'usage: server.ts [--address HOST:PORT|PATH] [--authkey KEY]';

/** Command-line options; add one here (e.g. `serializer`) and read it in main(). */
const OPTIONS = {
  address: { type: 'string', default: '127.0.0.1:6000' },
  authkey: { type: 'string', default: 'password' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: OPTIONS, strict: true, allowPositionals: false });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const listener = await Listener.listen(parseAddress(values.address), { authkey: values.authkey });
  listener.on('handshakeError', (err, peer) => {
    console.error(`handshake failed${peer === '' ? '' : ` with ${formatAddress(peer)}`}: ${err.message}`);
  });
  console.log(`listening on ${formatAddress(listener.address)}`);

  let running = true;
  while (running) {
    const conn = await listener.accept();
    console.log(`connection accepted from ${formatAddress(listener.lastAccepted ?? '')}`);
    try {
      for await (const msg of conn) {
        console.log(msg);
        if (msg === 'close connection') break;
        if (msg === 'close server') {
          running = false;
          break;
        }
      }
    } catch (err) {
      // The client went away in the middle of a message, or sent something unreadable: drop it, go on.
      console.error(`connection lost: ${(err as Error).message}`);
    } finally {
      conn.close();
    }
  }
  await listener.close();
}

main().catch((err: unknown) => {
  console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  if (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) console.error(USAGE);
  process.exitCode = 1;
});
