/**
 * The `patch_dict` manager of the reference programs, client side: names the typeid without a callable
 * (as the Python client's `MyManager.register("patch_dict")`), connects, gets the proxy and prints it,
 * then the shape of its value.
 *
 *   npx tsx examples/patch-dict/client.ts [--address 127.0.0.1:4900 | /path/to.sock] [--authkey password] [--serializer pickle]
 *
 * `--serializer pickle` speaks CPython's own protocol, for the reference Python server (a stock
 * `SyncManager`; see examples/python-interop/); the default, msgpack, is for mpmanager servers.
 *
 * Prints `Keys : <the referent's repr, computed by the server>` and `shape: (5, 1000)`. A wrong authkey
 * (or no server) ends it with a one-line `error: ...` and exit status 1.
 */
import { parseArgs } from 'node:util';
import { BaseManager, type ManagerOptions, parseAddress } from 'mpmanager';

const USAGE = 'usage: client.ts [--address HOST:PORT|PATH] [--authkey KEY] [--serializer msgpack|pickle]';

/** Command-line options; add one here (e.g. `serializer`) and read it in managerOptions(). */
const OPTIONS = {
  address: { type: 'string', default: '127.0.0.1:4900' },
  authkey: { type: 'string', default: 'password' },
  serializer: { type: 'string', default: 'msgpack' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

class PatchDictManager extends BaseManager {}
PatchDictManager.register('patch_dict');

function managerOptions(values: Values): ManagerOptions {
  const serializer = values.serializer;
  if (serializer !== 'msgpack' && serializer !== 'pickle') throw new Error(`--serializer must be msgpack or pickle, not '${serializer}'`);
  return { authkey: values.authkey, serializer };
}

/** numpy's `shape` of nested arrays: `(5, 1000)`; `(n,)` for a flat list, `()` for a scalar. */
function shapeOf(value: unknown): string {
  const dims: number[] = [];
  let level: unknown = value;
  while (Array.isArray(level) || ArrayBuffer.isView(level)) {
    const items = Array.from(level as ArrayLike<unknown>);
    dims.push(items.length);
    const first = items[0];
    const width = Array.isArray(first) || ArrayBuffer.isView(first) ? Array.from(first as ArrayLike<unknown>).length : -1;
    const ragged = items.some((item) => (Array.isArray(item) || ArrayBuffer.isView(item) ? Array.from(item as ArrayLike<unknown>).length : -1) !== width);
    if (items.length === 0 || ragged) break;
    level = first;
  }
  return dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: OPTIONS, strict: true, allowPositionals: false });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const manager = new PatchDictManager(parseAddress(values.address), managerOptions(values));
  await manager.connect();
  try {
    const patchDict = await manager.create('patch_dict');
    // Python's print("Keys : {}".format(patch_dict)): str(proxy) is the referent's repr, from the server.
    console.log(`Keys : ${await patchDict.toString()}`);
    console.log(`shape: ${shapeOf(await patchDict.getValue())}`);
    patchDict.release();
  } finally {
    await manager.shutdown();
  }
}

main().catch((err: unknown) => {
  console.error(`error: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  if (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS')) console.error(USAGE);
  process.exitCode = 1;
});
