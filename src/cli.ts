/**
 * `mpmanager serve`: a SyncManager server on 127.0.0.1:50000 by default; `mpmanager info`: the object
 * count and debug listing of a running server.
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from './errors.js';
import { DEFAULT_LIMITS, type LimitOptions } from './limits.js';
import { SERVER_LIMITS, type ServerLimits } from './server/server.js';
import { SyncManager } from './manager/sync-manager.js';
import { formatAddress, parseAddress } from './transport/address.js';
import type { Registry } from './server/registry.js';

/** `maxFrameSize` as a flag: `--max-frame-size`. */
function flagOf(limit: string): string {
  return limit.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

const LIMIT_FLAGS = SERVER_LIMITS.map((limit) => `        --${flagOf(limit)} N`.padEnd(44) + `(default ${DEFAULT_LIMITS[limit]})`).join('\n');

const USAGE = `usage:
  mpmanager serve [--address HOST:PORT|PATH] [--authkey KEY] [--register MODULE]... [--allow-remote-shutdown] [LIMITS]
  mpmanager info  --address HOST:PORT|PATH --authkey KEY

serve   runs a SyncManager server (every built-in typeid: Queue, Lock, dict, list, Value, ...).
        --address   where to listen (default 127.0.0.1:50000; a path means a Unix socket, @name an abstract one)
        --authkey   the shared secret (default: $MPM_AUTHKEY, else a generated key, printed at start)
        --register  a module whose default export is register(registry) or an object of
                    { typeid: callable }, adding typeids (repeatable)
        limits (src/limits.ts says what each does; 0 turns idle-timeout and max-connections-per-peer off):
${LIMIT_FLAGS}
info    prints the number of hosted objects and the debug listing of a running server.
`;

/** What `--register` modules export: a function given the registry, or a map of typeid to callable. */
export type RegisterModule = ((registry: Registry) => void | Promise<void>) | Record<string, (...args: any[]) => unknown>;

async function loadRegistrations(manager: typeof SyncManager, modules: string[]): Promise<void> {
  for (const spec of modules) {
    const url = spec.startsWith('.') || spec.startsWith('/') ? pathToFileURL(resolve(spec)).href : spec;
    const mod = (await import(url)) as { default?: RegisterModule; register?: RegisterModule };
    const hook = mod.default ?? mod.register;
    if (typeof hook === 'function') await hook(manager.registry as Registry);
    else if (hook && typeof hook === 'object') for (const [typeid, fn] of Object.entries(hook)) manager.register(typeid, fn);
    else throw new InvalidArgumentError(`--register ${spec}: export default a function (registry) => void, or an object { typeid: callable }`);
  }
}

async function serve(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      address: { type: 'string', default: '127.0.0.1:50000' },
      authkey: { type: 'string' },
      register: { type: 'string', multiple: true, default: [] },
      'allow-remote-shutdown': { type: 'boolean', default: false },
      ...Object.fromEntries(SERVER_LIMITS.map((limit) => [flagOf(limit), { type: 'string' as const }])),
    },
  });
  const limits: LimitOptions<keyof ServerLimits> = {};
  for (const limit of SERVER_LIMITS) {
    const text = (values as Record<string, unknown>)[flagOf(limit)];
    if (typeof text !== 'string') continue;
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`--${flagOf(limit)} takes a number, got '${text}'`);
    limits[limit] = n;
  }
  let authkey = values.authkey ?? process.env.MPM_AUTHKEY;
  let generated = false;
  if (!authkey) {
    authkey = randomBytes(16).toString('hex');
    generated = true;
  }
  class ServedManager extends SyncManager {}
  await loadRegistrations(ServedManager, values.register);
  const manager = new ServedManager(parseAddress(values.address), { ...limits, authkey, allowRemoteShutdown: values['allow-remote-shutdown'] });
  const server = await manager.getServer();
  if (generated) process.stdout.write(`authkey: ${authkey}\n`);
  process.stdout.write(`listening on ${formatAddress(server.address)}\n`);
  // `on`, not `once`: under `npm start` a Ctrl-C reaches the server twice (from the terminal's process group,
  // and forwarded by npm), and a second signal must not kill it mid-shutdown. shutdown() is idempotent.
  const stop = () => void server.shutdown();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  await server.serveForever();
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  process.stdout.write('server stopped\n');
}

async function info(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { address: { type: 'string', default: '127.0.0.1:50000' }, authkey: { type: 'string' } } });
  const authkey = values.authkey ?? process.env.MPM_AUTHKEY;
  if (!authkey) throw new InvalidArgumentError('info needs --authkey (or MPM_AUTHKEY)');
  const manager = new SyncManager(parseAddress(values.address), { authkey });
  await manager.connect();
  try {
    process.stdout.write(`objects: ${await manager.numberOfObjects()}\n`);
    const listing = await manager.debugInfo();
    if (listing) process.stdout.write(`${listing}\n`);
  } finally {
    await manager.shutdown();
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'serve') await serve(rest);
    else if (command === 'info') await info(rest);
    else {
      process.stdout.write(USAGE);
      return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
    }
    return 0;
  } catch (err) {
    process.stderr.write(`mpmanager ${command}: ${(err as Error).message}\n`);
    return 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2));
}
