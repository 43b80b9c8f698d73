/**
 * `mpmanager serve`: a SyncManager server on 127.0.0.1:50000 by default; `mpmanager info`: the object
 * count and debug listing of a running server.
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from './errors.js';
import { DEFAULT_LIMITS, type LimitOptions } from './limits.js';
import { SERVER_LIMITS, Server, type ServerLimits } from './server/server.js';
import { RedisObjects, SHARED_TYPEIDS } from './backends/redis/index.js';
import { parseShared, registerShared } from './manager/shared.js';
import { SyncManager } from './manager/sync-manager.js';
import { formatAddress, isWildcardAddress, parseAddress, type Address } from './transport/address.js';
import type { Registry } from './server/registry.js';
import type { SecurityOptions } from './connection/index.js';
import { checkPolicy, type EncryptionPolicy } from './channel/index.js';
import { startInspector, type Inspector } from './inspector/index.js';

/** `maxFrameSize` as a flag: `--max-frame-size`. */
function flagOf(limit: string): string {
  return limit.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

const LIMIT_FLAGS = SERVER_LIMITS.map((limit) => `        --${flagOf(limit)} N`.padEnd(44) + `(default ${DEFAULT_LIMITS[limit]})`).join('\n');

const SERVE_HELP = `usage: mpmanager serve [--address ADDRESS] [--authkey KEY] [--register MODULE]... [--allow-remote-shutdown]
                       [--encryption off|prefer|require] [--tls-cert FILE --tls-key FILE [--tls-ca FILE]]
                       [--redis URL [--redis-namespace NS] [--redis-lease MS] --shared NAME=TYPEID...]
                       [--inspector [HOST:]PORT [--inspector-values] [--inspector-actions]] [LIMITS]

Runs a SyncManager server (every built-in typeid: Queue, Lock, dict, list, Value, ...) until SIGINT/SIGTERM.

  --address ADDRESS          where to listen (default 127.0.0.1:50000): HOST:PORT, [v6]:PORT, a path with a /
                             for a Unix socket, @name for an abstract socket, ws://HOST:PORT/PATH
  --authkey KEY              the shared secret (default: $MPM_AUTHKEY, else a generated key, printed at start)
  --register MODULE          a module whose default export is register(registry) or an object of
                             { typeid: callable }, adding typeids (repeatable; a .ts module needs
                             NODE_OPTIONS="--import tsx")
  --allow-remote-shutdown    let any client with the authkey shut the server down (CPython allows it)
  --encryption POLICY        prefer (default): mpmanager clients that ask get an encrypted channel, stock
                             CPython clients are served in clear; require: CPython clients are told why
                             and closed; off: never encrypt
  --tls-cert FILE            serve TLS (TCP, or a wss:// address) with this PEM certificate (chain) ...
  --tls-key FILE             ... and this PEM private key; TLS connections count as encrypted
  --tls-ca FILE              with TLS: require client certificates signed by this PEM CA
  --redis URL                keep the --shared objects in Redis: redis://HOST:PORT[/DB], or a Unix socket path;
                             every server given the same --redis and --shared serves the same objects
  --shared NAME=TYPEID       serve NAME as a typeid whose object is the one named NAME in Redis (repeatable);
                             TYPEID is Queue, JoinableQueue, dict, list, set, Namespace, Value, Lock, RLock,
                             Semaphore, BoundedSemaphore or Event; clients call manager.NAME()
  --redis-namespace NS       prefix of every key (default mpm), so deployments can share one Redis
  --redis-lease MS           how long a dead server's locks, permits and queue items in flight stay
                             claimed before other servers take them back (default 10000)
  --inspector [HOST:]PORT    serve a live inspector page, JSON and Prometheus /metrics over HTTP (HTTPS with
                             --tls-cert), on 127.0.0.1 unless HOST is given; PORT 0 picks one. Prints its
                             address with the access token every request needs. Browsers must reach it by
                             an IP address, localhost, or the HOST name given here
  --inspector-values         let the inspector show values (a Value's value, a dict's repr, error messages)
  --inspector-actions        let the inspector close connections
  -h, --help                 this text

Limits (each documented in the README's "Limits" section; 0 turns idle-timeout and max-connections-per-peer off):
${LIMIT_FLAGS}
`;

const INFO_HELP = `usage: mpmanager info [--address ADDRESS] [--authkey KEY] [--encryption POLICY] [--tls-ca FILE [--tls-cert FILE --tls-key FILE]]

Prints how its own connection is protected, the number of objects a running server hosts, the shared
objects it serves from Redis with their sizes, and its debug listing (CPython's debug_info()).

  --address ADDRESS          the server's address (default 127.0.0.1:50000)
  --authkey KEY              its authkey (default: $MPM_AUTHKEY)
  --encryption POLICY        off, prefer or require (default: off on this machine, prefer beyond it)
  --tls-ca FILE              connect with TLS, trusting the server certificate's PEM CA
  --tls-cert FILE            with TLS: the client certificate to show (with --tls-key)
  --tls-key FILE             with TLS: its private key
  -h, --help                 this text
`;

const USAGE = `usage: mpmanager <command> [options]

commands:
  serve    run a manager server           (mpmanager serve --help)
  info     inspect a running server       (mpmanager info --help)

  -h, --help      this text
  -v, --version   the version
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
      ...SECURITY_FLAGS,
      redis: { type: 'string' },
      'redis-namespace': { type: 'string' },
      'redis-lease': { type: 'string' },
      shared: { type: 'string', multiple: true, default: [] },
      inspector: { type: 'string' },
      'inspector-values': { type: 'boolean', default: false },
      'inspector-actions': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      ...Object.fromEntries(SERVER_LIMITS.map((limit) => [flagOf(limit), { type: 'string' as const }])),
    },
  });
  if (values.help) {
    process.stdout.write(SERVE_HELP);
    return;
  }
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
  const address = parseAddress(values.address);
  const shared = values.shared.map(parseShared);
  if (shared.length > 0 && values.redis === undefined) throw new InvalidArgumentError('--shared needs --redis URL: shared objects live in Redis');
  const seen = new Set<string>();
  for (const { name, typeid } of shared) {
    if (!SHARED_TYPEIDS.includes(typeid)) throw new InvalidArgumentError(`--shared ${name}=${typeid}: a shared object is one of ${SHARED_TYPEIDS.join(', ')}`);
    if (seen.has(name)) throw new InvalidArgumentError(`--shared ${name} is given twice: each name is one object`);
    seen.add(name);
  }
  if (isWildcardAddress(address)) {
    process.stderr.write(`warning: listening on every interface (${values.address}): any host that can reach this machine can connect, and only the authkey keeps it out\n`);
  }
  const security = securityOptions(values, 'serve');
  const inspectAt = values.inspector === undefined ? null : parseInspectorAddress(values.inspector);
  if (inspectAt === null && (values['inspector-values'] || values['inspector-actions'])) {
    throw new InvalidArgumentError('--inspector-values and --inspector-actions need --inspector [HOST:]PORT');
  }
  const store = values.redis === undefined ? null : await connectRedis(values.redis, values['redis-namespace'], values['redis-lease']);
  let server: Server;
  let inspector: Inspector | null = null;
  try {
    for (const { name, typeid } of shared) {
      registerShared(ServedManager, name, typeid, store as RedisObjects);
      // Made now, so `info` lists every name with its size before any client has used it.
      (store as RedisObjects).byTypeid(typeid, name);
    }
    server = await Server.listen(ServedManager.registry as Registry, address, {
      ...limits,
      ...security,
      authkey,
      allowRemoteShutdown: values['allow-remote-shutdown'],
      sharedObjects: store === null ? undefined : () => store.describe(),
    });
    if (inspectAt !== null) {
      // Before serving, so every connection is listed. With TLS, the inspector serves HTTPS with the same certificate.
      inspector = await startInspector(server, {
        ...inspectAt,
        // A host given by name is the name browsers will ask for (the Host check refuses other names).
        allowedHosts: isIP(inspectAt.host) === 0 ? [inspectAt.host] : [],
        values: values['inspector-values'],
        actions: values['inspector-actions'],
        tls: security.tls === undefined ? undefined : { cert: security.tls.cert, key: security.tls.key, passphrase: security.tls.passphrase },
      }).catch(async (err: unknown) => {
        await server.shutdown();
        throw new InvalidArgumentError(`--inspector ${values.inspector}: ${(err as Error).message}`);
      });
    }
  } catch (err) {
    await store?.close();
    throw err;
  }
  // Before anything is printed: until a listener is added, SIGTERM keeps its default action and kills the
  // process at once, so a supervisor that stops the server as soon as it reads `listening on` would
  // otherwise kill it uncleanly (seen in 10 of 30 tries).
  // `on`, not `once`: under `npm start` a Ctrl-C reaches the server twice (from the terminal's process group,
  // and forwarded by npm), and a second signal must not kill it mid-shutdown. shutdown() is idempotent.
  const stop = () => void server.shutdown();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  if (generated) process.stdout.write(`authkey: ${authkey}\n`);
  process.stdout.write(`listening on ${formatAddress(server.address)}\n`);
  process.stdout.write(connectSnippet(server.address, generated ? authkey : null, security));
  if (inspector !== null) {
    if (inspector.exposed && !inspector.tls) {
      process.stderr.write(
        `WARNING: the inspector listens on ${values.inspector} without TLS: its token, and everything the page shows, cross the network in clear.\n` +
          'WARNING: give the server --tls-cert and --tls-key (the inspector then serves HTTPS), or bind it to 127.0.0.1 and reach it through ssh -L.\n',
      );
    }
    process.stdout.write(`inspector at ${inspector.url}\n`);
  }
  if (shared.length > 0) {
    const names = shared.map((o) => `${o.name} (${o.typeid})`).join(', ');
    process.stdout.write(`shared objects, in ${store?.url}: ${names}; clients register each name (Python: M.register('${shared[0]?.name}'))\n`);
  }
  await server.serveForever();
  await store?.close();
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  process.stdout.write('server stopped\n');
}

async function info(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      address: { type: 'string', default: '127.0.0.1:50000' },
      authkey: { type: 'string' },
      ...SECURITY_FLAGS,
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(INFO_HELP);
    return;
  }
  const authkey = values.authkey ?? process.env.MPM_AUTHKEY;
  if (!authkey) throw new InvalidArgumentError('info needs --authkey (or MPM_AUTHKEY)');
  const manager = new SyncManager(parseAddress(values.address), { authkey, ...securityOptions(values, 'info') });
  await manager.connect();
  try {
    const encryption = manager.client.encryption;
    process.stdout.write(`connection: ${encryption === null ? 'in clear' : `encrypted (${encryption})`}\n`);
    process.stdout.write(`objects: ${await manager.numberOfObjects()}\n`);
    // Shared objects (an mpmanager server's `shared_objects`; a CPython server has no such operation).
    const shared = await manager.client.call(null, 'shared_objects').catch(() => []);
    for (const [name, typeid, size] of shared as Array<[string, string, number]>) process.stdout.write(`shared: ${name} (${typeid}) size ${size}\n`);
    const listing = await manager.debugInfo();
    if (listing) process.stdout.write(`${listing}\n`);
  } finally {
    await manager.shutdown();
  }
}

/** `--inspector [HOST:]PORT`: `9100`, `0.0.0.0:9100`, `[::1]:9100`; the host defaults to 127.0.0.1. */
export function parseInspectorAddress(text: string): { host: string; port: number } {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[^:[\]]+):)?(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new InvalidArgumentError(`--inspector takes [HOST:]PORT (e.g. 9100, or 0.0.0.0:9100 to listen beyond this machine), got '${text}'`);
  const host = m[1] === undefined ? '127.0.0.1' : m[1].startsWith('[') ? m[1].slice(1, -1) : m[1];
  return { host, port };
}

/** `RedisObjects.connect` for `serve`, with errors that name the flags and say what failed at start. */
async function connectRedis(url: string, namespace: string | undefined, leaseText: string | undefined): Promise<RedisObjects> {
  const lease = leaseText === undefined ? undefined : Number(leaseText);
  if (lease !== undefined && !Number.isFinite(lease)) throw new InvalidArgumentError(`--redis-lease takes a number of milliseconds, got '${leaseText}'`);
  try {
    return await RedisObjects.connect(url, { namespace, lease });
  } catch (err) {
    if (err instanceof InvalidArgumentError) {
      throw new InvalidArgumentError(err.message.startsWith('lease') ? `--redis-lease ${leaseText}: ${err.message}` : `--redis ${url}: ${err.message}`);
    }
    const cause = /\(([^()]*)\)/.exec((err as Error).message)?.[1] ?? (err as Error).message;
    throw new InvalidArgumentError(`cannot reach Redis at ${url}: is redis-server running there? (${cause})`);
  }
}

/** The flags both commands take for encryption and TLS. */
const SECURITY_FLAGS = {
  encryption: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-ca': { type: 'string' },
} as const;

/** The encryption and TLS options the flags ask for; a server's --tls-ca means client certificates are required. */
function securityOptions(values: { encryption?: string | undefined; 'tls-cert'?: string | undefined; 'tls-key'?: string | undefined; 'tls-ca'?: string | undefined }, command: 'serve' | 'info'): SecurityOptions {
  const options: SecurityOptions = {};
  if (values.encryption !== undefined) options.encryption = checkPolicy(values.encryption as EncryptionPolicy);
  const read = (flag: string, file: string | undefined) => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      throw new InvalidArgumentError(`--${flag} ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
  };
  const cert = read('tls-cert', values['tls-cert']);
  const key = read('tls-key', values['tls-key']);
  const ca = read('tls-ca', values['tls-ca']);
  if ((cert === undefined) !== (key === undefined)) throw new InvalidArgumentError('--tls-cert and --tls-key go together: give both');
  if (command === 'serve') {
    if (cert === undefined && ca !== undefined) throw new InvalidArgumentError('--tls-ca needs --tls-cert and --tls-key: it makes the TLS server require client certificates');
    if (cert !== undefined) options.tls = { cert, key: key as Buffer, ...(ca !== undefined ? { ca, requestCert: true } : {}) };
  } else if (cert !== undefined || ca !== undefined) {
    options.tls = { ...(ca !== undefined ? { ca } : {}), ...(cert !== undefined ? { cert, key: key as Buffer } : {}) };
  }
  return options;
}

/** The package's version, read from its package.json (two levels up from src/ and from dist/src/). */
function version(): string {
  for (const up of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'mpmanager' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not this one
    }
  }
  return 'unknown';
}

/** How to connect to the server just started, in Python and in TypeScript, with its real address. */
function connectSnippet(address: Address, generatedKey: string | null, security: SecurityOptions): string {
  const key = generatedKey ?? (process.env.MPM_AUTHKEY !== undefined ? '<$MPM_AUTHKEY>' : '<your authkey>');
  const py = typeof address === 'string' ? JSON.stringify(address) : `(${JSON.stringify(address[0])}, ${address[1]})`;
  const ts = typeof address === 'string' ? JSON.stringify(address) : `[${JSON.stringify(address[0])}, ${address[1]}]`;
  const python =
    security.tls !== undefined
      ? 'connect from Python:     through a TLS tunnel only (stunnel, ssh -L): CPython has no TLS for managers\n'
      : security.encryption === 'require'
        ? 'connect from Python:     not possible: this server requires encryption, which stock CPython cannot do\n'
        : `connect from Python:     m = SyncManager(${py}, authkey=b'${key}'); m.connect()\n`;
  const tls = security.tls !== undefined ? ", tls: { ca: readFileSync('ca.pem') }" : '';
  return python + `connect from TypeScript: const m = new SyncManager(${ts}, { authkey: '${key}'${tls} }); await m.connect();\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'serve') await serve(rest);
    else if (command === 'info') await info(rest);
    else if (command === '--version' || command === '-v' || command === 'version') process.stdout.write(`mpmanager ${version()}\n`);
    else if (command === undefined || command === 'help' || command === '--help' || command === '-h') process.stdout.write(USAGE);
    else {
      process.stderr.write(`mpmanager: unknown command '${command}'\n\n${USAGE}`);
      return 2;
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
