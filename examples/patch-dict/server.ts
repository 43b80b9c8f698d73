/**
 * The `patch_dict` manager of the reference programs, server side: serves `patch_dict`, which returns
 * 5 rows of 1000 random numbers (the Python program's `np.random.rand(5, 1000)`), until SIGINT or
 * SIGTERM, then shuts down cleanly and exits 0.
 *
 *   npx tsx examples/patch-dict/server.ts [--address 127.0.0.1:4900 | /path/to.sock] [--authkey password]
 *
 * With port 0 the system picks a free port; the `listening on` line shows the real one. Python's
 * `input("Press any key to stop the server")` becomes a signal: press Ctrl-C.
 */
import { parseArgs } from 'node:util';
import { BaseManager, type ManagerOptions, formatAddress, parseAddress } from 'mpmanager';

const USAGE = 'usage: server.ts [--address HOST:PORT|PATH] [--authkey KEY]';

/** Command-line options; add one here and read it in managerOptions(). */
const OPTIONS = {
  address: { type: 'string', default: '127.0.0.1:4900' },
  authkey: { type: 'string', default: 'password' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

const ROWS = 5;
const COLUMNS = 1000;

/** The one shared value: every `patch_dict()` call hands out a proxy to this same array of rows. */
const patchDict: number[][] = Array.from({ length: ROWS }, () => Array.from({ length: COLUMNS }, () => Math.random()));

function getPatchDict(): number[][] {
  return patchDict;
}

class PatchDictManager extends BaseManager {}
PatchDictManager.register('patch_dict', getPatchDict);

function managerOptions(values: Values): ManagerOptions {
  return { authkey: values.authkey };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: OPTIONS, strict: true, allowPositionals: false });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const manager = new PatchDictManager(parseAddress(values.address), managerOptions(values));
  const server = await manager.getServer();
  const serving = server.serveForever();
  console.log(`listening on ${formatAddress(server.address)}`);

  const stop = (signal: NodeJS.Signals) => {
    console.log(`${signal}: shutting down`);
    void server.shutdown();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await serving;
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  console.log('server stopped');
}

main().catch((err: unknown) => {
  console.error(`error: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  if (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) console.error(USAGE);
  process.exitCode = 1;
});
