/**
 * The benchmark's cases: what each side runs, with which parameters, and how a measurement becomes the
 * figure in the table. `ours` is mpmanager, `cpython` stock CPython 3.11 (standard library only).
 */
import type { ClientParams } from './lib/protocol.js';

export type Transport = 'tcp' | 'unix';

/** Units; µs and KiB are lower-is-better, rates higher-is-better. */
export type Unit = 'µs' | 'calls/s' | 'MB/s' | 'KiB/conn' | 'KiB/object';

export function lowerIsBetter(unit: Unit): boolean {
  return unit === 'µs' || unit === 'KiB/conn' || unit === 'KiB/object';
}

/**
 * How one run's measurements (one per client process) become the figure: `latency` is µs per operation
 * of the single client, `rate` the sum over processes of operations per second, `bytes` the same in MB/s
 * (10^6 bytes).
 */
export type Reduce = 'latency' | 'rate' | 'bytes';

export interface Side {
  /** Which client program runs: bench/node/client.ts, bench/py/client.py, or bench/node/redis-client.ts (Redis itself). */
  client: 'node' | 'python' | 'redis';
  /**
   * Which server it talks to: mpmanager's, CPython's, mpmanager's with shared objects in the run's Redis
   * (`ours-redis`), or that Redis itself (`redis`).
   */
  server: 'ours' | 'cpython' | 'ours-redis' | 'redis';
  /** Client processes alternate between two `ours-redis` servers (the same Redis) instead of sharing one. */
  spread?: boolean;
  /** The manager server, or the raw `Listener` echo server. */
  target: 'manager' | 'echo';
  /** Client processes started at once; their results are added up. */
  procs: number;
  params: ClientParams;
}

/**
 * What a case's baseline is: stock CPython; mpmanager itself without the capability measured
 * (`plaintext`); the same operations straight to Redis (`direct-redis`); or the same clients on one server
 * instead of two (`one-server`).
 */
export type Against = 'cpython' | 'plaintext' | 'direct-redis' | 'one-server';

export interface Case {
  name: string;
  unit: Unit;
  reduce: Reduce;
  /** What the case measures, for the README and machine.json. */
  what: string;
  /** What `baseline` is. Default `cpython`. */
  against?: Against;
  /** A system service the case needs (the run skips it, saying so, when it is missing). */
  needs?: 'redis';
  /** The transports it runs on (default both); `variant` is added to the transport's name in the rows (`tcp+aead`). */
  transports?: readonly Transport[];
  variant?: string;
  ours(t: Transport): Side;
  /** The baseline side. */
  baseline(t: Transport): Side;
}

export interface Sizes {
  quick: boolean;
}

/** Parameters for a count case: at least `warmup` operations and `warmupSeconds` of warm-up. */
function counts(warmup: number, count: number, warmupSeconds: number): ClientParams {
  return { warmup, count, warmupSeconds, seconds: 0 };
}

/** Parameters for a throughput case. */
function duration(warmupSeconds: number, seconds: number, inflight = 1): ClientParams {
  return { warmup: 0, count: 0, warmupSeconds, seconds, inflight };
}

export function cases({ quick }: Sizes): Case[] {
  const [warmS, runS] = quick ? [0.2, 0.4] : [1, 1.5];
  const latency = quick ? counts(100, 500, warmS) : counts(500, 3000, warmS);
  const queue = quick ? counts(50, 300, warmS) : counts(200, 2000, warmS);
  const MiB16 = 16 * 1024 * 1024;
  const bulk: ClientParams = { ...(quick ? counts(1, 2, warmS) : counts(1, 5, warmS)), size: MiB16 };
  // CPython opens three connections per proxy; over TCP each waits ~40 ms on Nagle (cpython-wire.md §6).
  const pyCreate = (t: Transport) =>
    t === 'tcp' ? (quick ? counts(1, 5, warmS) : counts(2, 20, warmS)) : quick ? counts(5, 50, warmS) : counts(10, 200, warmS);
  const ourCreate = quick ? counts(50, 200, warmS) : counts(100, 1000, warmS);

  const side = (client: Side['client'], server: Side['server'], target: Side['target'], procs: number, params: ClientParams): Side => ({
    client,
    server,
    target,
    procs,
    params,
  });

  return [
    {
      name: 'raw-pingpong',
      unit: 'µs',
      reduce: 'latency',
      what: 'a 16-byte sendBytes/recvBytes round trip to an echo Listener on one authenticated connection',
      ours: () => side('node', 'ours', 'echo', 1, latency),
      baseline: () => side('python', 'cpython', 'echo', 1, latency),
    },
    {
      name: 'call-latency',
      unit: 'µs',
      reduce: 'latency',
      what: "one dict proxy __getitem__('k') at a time, one client",
      ours: () => side('node', 'ours', 'manager', 1, latency),
      baseline: () => side('python', 'cpython', 'manager', 1, latency),
    },
    {
      name: 'pipelined-throughput',
      unit: 'calls/s',
      reduce: 'rate',
      what: "__getitem__('k'): one mpmanager client with 64 calls in flight on its one connection, against CPython's best: 4 client processes, one call in flight each",
      ours: () => side('node', 'ours', 'manager', 1, duration(warmS, runS, 64)),
      baseline: () => side('python', 'cpython', 'manager', 4, duration(warmS, runS)),
    },
    {
      name: 'clients4-throughput',
      unit: 'calls/s',
      reduce: 'rate',
      what: "__getitem__('k'): 4 client processes at once, one call in flight each, each on its own dict",
      ours: () => side('node', 'ours', 'manager', 4, duration(warmS, runS)),
      baseline: () => side('python', 'cpython', 'manager', 4, duration(warmS, runS)),
    },
    {
      name: 'create-proxy',
      unit: 'µs',
      reduce: 'latency',
      what: 'creating a dict proxy from a connected client (proxies kept until the run ends, released outside the timing)',
      ours: () => side('node', 'ours', 'manager', 1, ourCreate),
      baseline: (t) => side('python', 'cpython', 'manager', 1, pyCreate(t)),
    },
    {
      name: 'queue-pair',
      unit: 'µs',
      reduce: 'latency',
      what: 'put(x) then get() on a Queue proxy, one pair at a time',
      ours: () => side('node', 'ours', 'manager', 1, queue),
      baseline: () => side('python', 'cpython', 'manager', 1, queue),
    },
    {
      name: 'py-clients-server',
      unit: 'calls/s',
      reduce: 'rate',
      what: "4 stock CPython client processes, one dict __getitem__('k') in flight each: against mpmanager's server (CPython's protocol, same address) versus a CPython SyncManager server",
      ours: () => side('python', 'ours', 'manager', 4, duration(warmS, runS)),
      baseline: () => side('python', 'cpython', 'manager', 4, duration(warmS, runS)),
    },
    {
      name: 'bulk-16mib',
      unit: 'MB/s',
      reduce: 'bytes',
      what: "a 16 MiB bytes value stored with __setitem__ and read back with __getitem__; MB/s counts both directions (2 × 16 MiB per round)",
      ours: () => side('node', 'ours', 'manager', 1, bulk),
      baseline: () => side('python', 'cpython', 'manager', 1, bulk),
    },
    ...encryptedCases(warmS, runS, bulk),
    ...redisCases(warmS, runS, queue, latency),
  ];
}

/**
 * Shared objects kept in Redis (`ours-redis` servers): one client against the direct use of the same
 * Redis through the same client library (the limit of this design: every operation is a round trip to
 * the server and one from it to Redis), and four clients spread over two servers against the same four
 * on one.
 */
function redisCases(warmS: number, runS: number, queue: ClientParams, latency: ClientParams): Case[] {
  const side = (client: Side['client'], server: Side['server'], procs: number, params: ClientParams, spread = false): Side => ({
    client,
    server,
    target: 'manager',
    procs,
    params,
    spread,
  });
  const common = { needs: 'redis', transports: ['tcp'] } as const;
  return [
    {
      ...common,
      name: 'redis-queue-pair',
      unit: 'µs',
      reduce: 'latency',
      what: 'put(x) then get() on a Queue kept in Redis, through an mpmanager server, against RPUSH then LPOP straight to that Redis (node-redis)',
      against: 'direct-redis',
      ours: () => side('node', 'ours-redis', 1, queue),
      baseline: () => side('redis', 'redis', 1, queue),
    },
    {
      ...common,
      name: 'redis-dict-get',
      unit: 'µs',
      reduce: 'latency',
      what: "d['k'] on a dict kept in Redis, through an mpmanager server, against HGET straight to that Redis (node-redis)",
      against: 'direct-redis',
      ours: () => side('node', 'ours-redis', 1, latency),
      baseline: () => side('redis', 'redis', 1, latency),
    },
    {
      ...common,
      name: 'redis-2-servers',
      unit: 'calls/s',
      reduce: 'rate',
      what: "d['k'] on one dict kept in Redis: 4 client processes, one call in flight each, spread over two mpmanager servers, against the same 4 on one server",
      against: 'one-server',
      ours: () => side('node', 'ours-redis', 4, duration(warmS, runS), true),
      baseline: () => side('node', 'ours-redis', 4, duration(warmS, runS)),
    },
  ];
}

/**
 * The encrypted channel's cost: the same calls over an encrypted TCP connection, one case per suite,
 * against the same client and server in clear in the same run.
 */
function encryptedCases(warmS: number, runS: number, bulk: ClientParams): Case[] {
  const suites = [
    ['aead', 'aes-256-gcm'],
    ['nacl', 'xsalsa20-poly1305'],
  ] as const;
  const manager = (params: ClientParams): Side => ({ client: 'node', server: 'ours', target: 'manager', procs: 1, params });
  const pipelined = duration(warmS, runS, 64);
  return suites.flatMap(([variant, suite]): Case[] => {
    const sealed = (params: ClientParams): ClientParams => ({ ...params, encryption: 'require', suites: [suite] });
    const clear = (params: ClientParams): ClientParams => ({ ...params, encryption: 'off' });
    return [
      {
        name: 'encrypted-pipelined-throughput',
        unit: 'calls/s',
        reduce: 'rate',
        what: `pipelined-throughput (64 calls in flight, one client) over a ${suite} channel, against the same in clear`,
        against: 'plaintext',
        transports: ['tcp'],
        variant: `+${variant}`,
        ours: () => manager(sealed(pipelined)),
        baseline: () => manager(clear(pipelined)),
      },
      {
        name: 'encrypted-bulk-16mib',
        unit: 'MB/s',
        reduce: 'bytes',
        what: `bulk-16mib over a ${suite} channel, against the same in clear`,
        against: 'plaintext',
        transports: ['tcp'],
        variant: `+${variant}`,
        ours: () => manager(sealed(bulk)),
        baseline: () => manager(clear(bulk)),
      },
    ];
  });
}

/** Sizes of the memory rows, and how many fresh-server measurements each row is the median of. */
export function memorySizes({ quick }: Sizes): { conns: number; objects: number; runs: number } {
  return quick ? { conns: 50, objects: 1000, runs: 1 } : { conns: 200, objects: 10_000, runs: 3 };
}
