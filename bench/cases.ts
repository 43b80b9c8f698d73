/**
 * The benchmark's cases: what each side runs, with which parameters, and how a measurement becomes the
 * figure in the table. `ours` is mpmanager, `cpython` stock CPython 3.11 (standard library only).
 */
import type { ClientParams } from './lib/protocol.js';

/** Where the servers listen: TCP on loopback, a Unix socket, or a WebSocket (`ws://127.0.0.1`, the peer rows only). */
export type Transport = 'tcp' | 'unix' | 'ws';

/** Units; µs, CPU µs per call and KiB are lower-is-better, rates higher-is-better. */
export type Unit = 'µs' | 'µs cpu/call' | 'calls/s' | 'MB/s' | 'KiB/conn' | 'KiB/object';

export function lowerIsBetter(unit: Unit): boolean {
  return unit === 'µs' || unit === 'µs cpu/call' || unit === 'KiB/conn' || unit === 'KiB/object';
}

/**
 * How one run's measurements (one per client process) become the figure: `latency` is µs per operation
 * of the single client, `rate` the sum over processes of operations per second, `bytes` the same in MB/s
 * (10^6 bytes), `server-cpu` the CPU time the side's server process used during the run (user + system,
 * all its threads, from `/proc/<pid>/stat`) in µs, divided by the operations of all its clients.
 */
export type Reduce = 'latency' | 'rate' | 'bytes' | 'server-cpu';

export interface Side {
  /**
   * Which client program runs: bench/node/client.ts, bench/py/client.py, bench/node/redis-client.ts
   * (Redis itself), bench/node/bare-client.ts or bench/py/bare_client.py (a bare socket, no framing),
   * bench/node/capnweb-client.ts.
   */
  client: 'node' | 'python' | 'redis' | 'bare-node' | 'bare-python' | 'capnweb';
  /**
   * Which server it talks to: mpmanager's, CPython's, mpmanager's with shared objects in the run's Redis
   * (`ours-redis`), that Redis itself (`redis`), or capnweb's (`capnweb`, over WebSocket whatever the
   * row's transport), or mpmanager's with an inspector started and followed by a page
   * (`ours-inspector`).
   */
  server: 'ours' | 'cpython' | 'ours-redis' | 'redis' | 'capnweb' | 'ours-inspector';
  /** Client processes alternate between two `ours-redis` servers (the same Redis) instead of sharing one. */
  spread?: boolean;
  /**
   * The manager server, the raw `Listener` echo server, a bare socket echo server in the same runtime
   * (`bare-echo`: Node's `net` for `ours`, Python's `socket` for `cpython`; no framing, no library), or
   * capnweb's `RpcTarget` holding a map (`map`).
   */
  target: 'manager' | 'echo' | 'bare-echo' | 'map';
  /** Client processes started at once; their results are added up. */
  procs: number;
  params: ClientParams;
}

/**
 * What a case's baseline is: stock CPython; mpmanager itself without the capability measured
 * (`plaintext`, `inspector-off`); the same operations straight to Redis (`direct-redis`); the same clients
 * on one server instead of two (`one-server`); a bare Node socket round trip on the same transport
 * (`bare-node`: the runtime's floor); or the same work through capnweb (`capnweb`).
 */
export type Against = 'cpython' | 'plaintext' | 'direct-redis' | 'one-server' | 'bare-node' | 'capnweb' | 'inspector-off';

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
  /** The transports it runs on (default tcp and unix); `variant` is added to the transport's name in the rows (`tcp+aead`). */
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
  // The limit rows time more round trips per run than `latency`: a bare round trip is short, and both sides
  // of a limit row should see the same stretch of the machine's weather.
  const limit = quick ? counts(500, 2000, warmS) : counts(2000, 10_000, warmS);
  const serverCpuRun = quick ? duration(warmS, 1) : duration(warmS, 2);

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
      name: 'bare-pingpong',
      unit: 'µs',
      reduce: 'latency',
      what: "the runtimes' floor: 16 bytes sent and echoed back on a bare socket, no framing and no library (Node's net against Python's socket), one round trip at a time; 'ours' is Node",
      ours: () => side('bare-node', 'ours', 'bare-echo', 1, limit),
      baseline: () => side('bare-python', 'cpython', 'bare-echo', 1, limit),
    },
    {
      name: 'call-latency-limit',
      unit: 'µs',
      reduce: 'latency',
      what: "call-latency against the bare Node round trip on the same transport (bare-pingpong's Node side): how close one call at a time comes to the runtime's floor",
      against: 'bare-node',
      ours: () => side('node', 'ours', 'manager', 1, limit),
      baseline: () => side('bare-node', 'ours', 'bare-echo', 1, limit),
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
      name: 'server-cpu-per-call',
      unit: 'µs cpu/call',
      reduce: 'server-cpu',
      what: "py-clients-server's load (4 stock CPython clients, one dict __getitem__('k') in flight each): the CPU time the server process spends per call, mpmanager's server against CPython's",
      ours: () => side('python', 'ours', 'manager', 4, serverCpuRun),
      baseline: () => side('python', 'cpython', 'manager', 4, serverCpuRun),
    },
    {
      name: 'server-cpu-floor',
      unit: 'µs cpu/call',
      reduce: 'server-cpu',
      what: "server-cpu-per-call's floor: 4 bare Python socket clients, one 16-byte round trip in flight each, against a bare Node echo server ('ours': net, one event loop) and a bare Python one (a thread per connection); the CPU time of the server process per round trip",
      ours: () => side('bare-python', 'ours', 'bare-echo', 4, limit),
      baseline: () => side('bare-python', 'cpython', 'bare-echo', 4, limit),
    },
    {
      name: 'bulk-16mib',
      unit: 'MB/s',
      reduce: 'bytes',
      what: "a 16 MiB bytes value stored with __setitem__ and read back with __getitem__; MB/s counts both directions (2 × 16 MiB per round)",
      ours: () => side('node', 'ours', 'manager', 1, bulk),
      baseline: () => side('python', 'cpython', 'manager', 1, bulk),
    },
    ...peerCases(warmS, runS, latency),
    ...encryptedCases(warmS, runS, bulk),
    {
      name: 'inspector-pipelined-throughput',
      unit: 'calls/s',
      reduce: 'rate',
      what: 'pipelined-throughput (64 calls in flight, one client) against a manager server with its inspector on (started with the server, one page following /events), against the same client and a server without one',
      against: 'inspector-off',
      transports: ['tcp'],
      ours: () => side('node', 'ours-inspector', 'manager', 1, duration(warmS, runS, 64)),
      baseline: () => side('node', 'ours', 'manager', 1, duration(warmS, runS, 64)),
    },
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
 * The closest Node peer, capnweb (Cloudflare's RPC, over WebSocket between two Node processes, `ws` at
 * both ends): an `RpcTarget` holding a map, `get('k')`, against mpmanager's dict proxy `__getitem__('k')`
 * over `ws://` and over TCP. capnweb runs over WebSocket in both rows; the transport column is ours.
 */
function peerCases(warmS: number, runS: number, latency: ClientParams): Case[] {
  const side = (client: Side['client'], server: Side['server'], target: Side['target'], params: ClientParams): Side => ({ client, server, target, procs: 1, params });
  const common = { against: 'capnweb', transports: ['tcp', 'ws'] } as const;
  const pipelined = duration(warmS, runS, 64);
  return [
    {
      ...common,
      name: 'peer-capnweb-pipelined',
      unit: 'calls/s',
      reduce: 'rate',
      what: "one client process, 64 calls kept in flight on its one connection: mpmanager's dict __getitem__('k') against capnweb's map get('k') over WebSocket",
      ours: () => side('node', 'ours', 'manager', pipelined),
      baseline: () => side('capnweb', 'capnweb', 'map', pipelined),
    },
    {
      ...common,
      name: 'peer-capnweb-latency',
      unit: 'µs',
      reduce: 'latency',
      what: "one call at a time: mpmanager's dict __getitem__('k') against capnweb's map get('k') over WebSocket",
      ours: () => side('node', 'ours', 'manager', latency),
      baseline: () => side('capnweb', 'capnweb', 'map', latency),
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
