/**
 * The socket pair of the reference programs, client side (CPython's `Client` example): sends 'foo1',
 * 'foo2' and 'close server', then closes.
 *
 *   npx tsx examples/socket/client.ts [--address 127.0.0.1:6000 | /path/to.sock] [--authkey password] [--serializer pickle]
 *
 * `--serializer pickle` sends what a stock Python `Listener` reads with `conn.recv()` (the reference
 * Python server); the default, msgpack, is for mpmanager servers (which also read pickle).
 *
 * A wrong authkey (or no server) ends it with a one-line `error: ...` and exit status 1.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Client, parseAddress } from 'mpmanager';

const USAGE = 'usage: client.ts [--address HOST:PORT|PATH] [--authkey KEY] [--serializer msgpack|pickle]';

/** A short pause between messages, as the Python client's time.sleep (shortened so that runs stay quick). */
const PAUSE_MS = 100;

/** Command-line options. */
const OPTIONS = {
  address: { type: 'string', default: '127.0.0.1:6000' },
  authkey: { type: 'string', default: 'password' },
  serializer: { type: 'string', default: 'msgpack' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: OPTIONS, strict: true, allowPositionals: false });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (values.serializer !== 'msgpack' && values.serializer !== 'pickle') throw new Error(`--serializer must be msgpack or pickle, not '${values.serializer}'`);
  const conn = await Client(parseAddress(values.address), { authkey: values.authkey, serializer: values.serializer });
  try {
    conn.send('foo1');
    await sleep(PAUSE_MS);
    conn.send('foo2');
    await sleep(PAUSE_MS);
    conn.send('close server');
  } finally {
    // A graceful close: what was sent is flushed first.
    conn.close();
  }
}

main().catch((err: unknown) => {
  console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  if (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) console.error(USAGE);
  process.exitCode = 1;
});
