/**
 * The hostile clients of `bench/hostile.ts`, in one process: `attackers.ts <address-json> <authkey-hex>`.
 * Builds its frames, prints `{"ready": true}`, and on `go <ms>` runs the 20 attackers below at once for
 * that long; then closes everything it opened (its victims killed), prints
 * `{"attackers": [{kind, ...counters}]}` and exits.
 *
 *   kind              n  what it does, over and over
 *   msgpack-bomb      2  a native CALL whose argument is 3 M empty maps (3 MB: 200+ MB to decode before #11)
 *   msgpack-bare      1  a native frame of 6 M empty arrays, no call id (the connection is dropped)
 *   pickle-bomb       2  a pickle request whose argument is 2 M empty dicts
 *   flood-native      2  2,000 gets of a 1 MiB value, reading nothing; a new connection every 3 s
 *   flood-pickle      2  the same in CPython's dialect
 *   huge-int          2  a dict keyed by a 1 MiB int (set, get), and a LONG of 5,000 digits
 *   debug-info        1  debug_info, with those huge keys hosted
 *   idle              2  50 authenticated connections that say nothing, and 50 sockets that never authenticate
 *   fuzz-native       1  random and mutated frames after a good handshake, and unframed bytes
 *   fuzz-pickle       1  the same in CPython's dialect, with pickles naming os.system and friends
 *   killer            2  starts a client process (objects, a held lock, waits in flight) and SIGKILLs it
 *   cancel-storm      1  calls aborted at random moments, 500 at a time
 *   wrong-key         1  handshakes with a wrong authkey
 */
import { NODE_CRYPTO } from '../../src/channel/node-crypto.js';
import { prng } from '../../test/support/prng.js';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { msgpack } from '../../src/codec/index.js';
import { pickle } from '../../src/codec/pickle/index.js';
import { Client, type Connection } from '../../src/connection/index.js';
import { clientHandshake, toKey } from '../../src/connection/auth.js';
import { DecodeBudgetError, DigitLimitError } from '../../src/errors.js';
import { SyncManager } from '../../src/manager/sync-manager.js';
import { ClientKind, NATIVE_MAGIC, NATIVE_VERSION, ServerKind } from '../../src/protocol/native.js';
import { Reply, request, tracebackError } from '../../src/protocol/classic.js';
import { FrameDecoder, frameHeader } from '../../src/transport/framing.js';
import type { Address } from '../../src/transport/address.js';
import type { BaseProxy } from '../../proxies/base-proxy.js';
import { nodeChild, killAll as killChildren, type Child } from '../lib/children.js';

const [addressJson = 'null', keyHex = ''] = process.argv.slice(2);
const address = JSON.parse(addressJson) as Address;
const authkey = Buffer.from(keyHex, 'hex');
const MiB = 1024 * 1024;

process.on('exit', killChildren);

// ---- frames, built once ------------------------------------------------------------------------------

/** msgpack `dd <u32 n>` then `n` copies of a one-byte value (0x80 `{}`, 0x90 `[]`). */
function listOf(n: number, byte: number): Buffer {
  const head = Buffer.alloc(5);
  head[0] = 0xdd;
  head.writeUInt32BE(n, 1);
  return Buffer.concat([head, Buffer.alloc(n, byte)]);
}
const EMPTY_MAPS = listOf(3_000_000, 0x80);
const EMPTY_ARRAYS = listOf(6_000_000, 0x90);
/** `[CALL, id, 'x', 'update', [<3 M empty maps>], null]`, the id patched in per call (uint32 at byte 3). */
const MAP_BOMB = Buffer.concat([Buffer.from([0x96, ClientKind.Call, 0xce, 0, 0, 0, 0, 0xa1, 0x78, 0xa6]), Buffer.from('update'), Buffer.from([0x91]), EMPTY_MAPS, Buffer.from([0xc0])]);
/** A pickle request `('x', 'update', ([{} * 2 M],), {})`. */
const DICT_BOMB = Buffer.concat([
  Buffer.from([0x80, 4, 0x28, 0x8c, 1, 0x78, 0x8c, 6]),
  Buffer.from('update'),
  Buffer.from([0x28, 0x5d, 0x28]),
  Buffer.alloc(2_000_000, 0x7d),
  Buffer.from([0x65, 0x74, 0x7d, 0x74, 0x2e]),
]);
/** A pickle request whose argument is a LONG of 5,000 decimal digits. */
function longRequest(ident: string): Buffer {
  return Buffer.concat([
    Buffer.from([0x80, 4, 0x28, 0x8c, ident.length]),
    Buffer.from(ident),
    Buffer.from([0x8c, 3]),
    Buffer.from('get'),
    Buffer.from([0x28]),
    Buffer.from(`L${'7'.repeat(5000)}L\n`, 'latin1'),
    Buffer.from([0x74, 0x7d, 0x74, 0x2e]),
  ]);
}
const HUGE_INT = BigInt(`0x${'ab'.repeat(MiB)}`);
const MARKER = '/tmp/mpm-hostile-bench-marker';
const CODE_PICKLES = [`cos\nsystem\n(S'touch ${MARKER}'\ntR.`, `cbuiltins\neval\n(S'1'\ntR.`, `(S'touch ${MARKER}'\nios\nsystem\n.`].map((s) => Buffer.from(s, 'latin1'));

// ---- raw clients -------------------------------------------------------------------------------------

/** An authenticated connection; native ones have said their hello and read the welcome. */
async function native(): Promise<Connection> {
  const conn = await Client(address, { authkey });
  conn.sendBytes(msgpack.encode([NATIVE_MAGIC, NATIVE_VERSION, { name: 'attacker' }]));
  await conn.recvBytes();
  return conn;
}
async function classicObject(): Promise<Connection> {
  const conn = await Client(address, { authkey, serializer: 'pickle' });
  conn.send(request(null, 'accept_connection', ['attacker']));
  await conn.recv();
  return conn;
}
async function manager(): Promise<SyncManager> {
  return new SyncManager(address, { authkey }).connect();
}

/** A TCP socket with CPython's framing and nothing else (for bytes that break it). */
async function rawSocket(): Promise<{ socket: net.Socket; send(p: Uint8Array): void; recv(): Promise<Buffer | null> }> {
  const [host, port] = address as [string, number];
  const socket = net.connect({ host, port });
  socket.on('error', () => {});
  const frames: Buffer[] = [];
  const waiters: Array<(f: Buffer | null) => void> = [];
  const decoder = new FrameDecoder((f) => {
    const w = waiters.shift();
    if (w) w(Buffer.from(f));
    else frames.push(Buffer.from(f));
  }, 1 << 30);
  socket.on('data', (chunk: Buffer) => decoder.push(chunk));
  socket.on('close', () => {
    for (const w of waiters.splice(0)) w(null);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const send = (p: Uint8Array) => void socket.write(Buffer.concat([frameHeader(p.length), p]));
  const recv = () => {
    const f = frames.shift();
    if (f) return Promise.resolve(f);
    if (socket.destroyed) return Promise.resolve(null);
    return new Promise<Buffer | null>((r) => waiters.push(r));
  };
  return { socket, send, recv };
}

// ---- the attackers -----------------------------------------------------------------------------------

type Counters = Record<string, number>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const open = new Set<{ destroy(): void }>();
function track<T extends { destroy(): void }>(c: T): T {
  open.add(c);
  return c;
}

/** Runs `attempt` until `deadline`, counting outcomes by name; an exception counts under its class name. */
async function loop(deadline: number, counters: Counters, attempt: () => Promise<string | void>): Promise<Counters> {
  while (performance.now() < deadline) {
    try {
      const outcome = await attempt();
      if (outcome) counters[outcome] = (counters[outcome] ?? 0) + 1;
    } catch (err) {
      const name = (err as Error).name || 'Error';
      counters[name] = (counters[name] ?? 0) + 1;
      await sleep(10);
    }
  }
  return counters;
}

function randomBytes(random: () => number, n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));
}
function mutate(random: () => number, frame: Buffer): Buffer {
  const out = Buffer.from(frame);
  for (let i = 0, n = 1 + Math.floor(random() * 3); i < n && out.length > 0; i++) out[Math.floor(random() * out.length)] = Math.floor(random() * 256);
  return random() < 0.3 ? out.subarray(0, Math.floor(random() * out.length)) : out;
}

/** An attacker: sets up (connects, stores what it will ask for) before the run, then `run`s until `deadline`. */
type Attacker = (seed: number) => Promise<(deadline: number) => Promise<Counters>>;

/** A connected client that stores a 1 MiB string under 'k' in a dict of its own, for the flooders. */
async function bigValue(): Promise<{ m: SyncManager; ident: string }> {
  const m = await manager();
  const d = await m.dict<string, string>();
  await d.set('k', 'x'.repeat(MiB));
  return { m, ident: d.token.id };
}

const attackers: Record<string, Attacker> = {
  'msgpack-bomb': async () => {
    let conn = track(await native());
    let id = 0;
    return (deadline) =>
      loop(deadline, {}, async () => {
        if (conn.closed) conn = track(await native());
        MAP_BOMB.writeUInt32BE(++id, 3);
        conn.sendBytes(MAP_BOMB);
        const reply = msgpack.decode(await conn.recvBytes()) as unknown[];
        return reply[0] === ServerKind.Error && reply[2] instanceof DecodeBudgetError ? 'DecodeBudgetError replies' : 'other replies';
      });
  },
  'msgpack-bare': async () => (deadline) =>
    loop(deadline, {}, async () => {
      const conn = track(await native());
      conn.sendBytes(EMPTY_ARRAYS);
      return conn.recvBytes().then(
        () => 'answered',
        () => 'dropped connections',
      );
    }),
  'pickle-bomb': async () => {
    let conn = track(await classicObject());
    return (deadline) =>
      loop(deadline, {}, async () => {
        if (conn.closed) conn = track(await classicObject());
        conn.sendBytes(DICT_BOMB);
        const [kind, text] = (await conn.recv()) as [string, unknown];
        return kind === Reply.Traceback && tracebackError(String(text)) instanceof DecodeBudgetError ? 'DecodeBudgetError replies' : 'other replies';
      });
  },
  'flood-native': async () => {
    const { m, ident } = await bigValue();
    return async (deadline) => {
      const counters = await loop(deadline, {}, async () => {
        const conn = track(await native());
        conn.transport.pause();
        for (let i = 0; i < 2000; i++) conn.sendBytes(msgpack.encode([ClientKind.Call, i + 1, ident, 'get', ['k'], null]));
        await sleep(Math.min(3000, deadline - performance.now()));
        conn.destroy();
        return 'floods of 2000 gets';
      });
      await m.shutdown();
      return counters;
    };
  },
  'flood-pickle': async () => {
    const { m, ident } = await bigValue();
    return async (deadline) => {
      const counters = await loop(deadline, {}, async () => {
        const conn = track(await classicObject());
        conn.transport.pause();
        for (let i = 0; i < 2000; i++) conn.send(request(ident, 'get', ['k']));
        await sleep(Math.min(3000, deadline - performance.now()));
        conn.destroy();
        return 'floods of 2000 gets';
      });
      await m.shutdown();
      return counters;
    };
  },
  'huge-int': async () => {
    const m = await manager();
    const d = await m.dict<bigint, number>();
    const conn = track(await classicObject());
    let i = 0;
    return async (deadline) => {
      const counters = await loop(deadline, {}, async () => {
        await d.set(HUGE_INT, ++i);
        if ((await d.get(HUGE_INT)) !== i) return 'wrong values';
        conn.sendBytes(longRequest(d.token.id));
        const [kind, text] = (await conn.recv()) as [string, unknown];
        return kind === Reply.Traceback && tracebackError(String(text)) instanceof DigitLimitError ? 'rounds (set+get of a 1 MiB key, a refused 5000-digit LONG)' : 'other LONG replies';
      });
      await m.shutdown();
      return counters;
    };
  },
  'debug-info': async () => {
    const m = await manager();
    return async (deadline) => {
      const counters = await loop(deadline, {}, async () => {
        const info = await m.debugInfo();
        return info.split('\n').every((l) => l.length <= 80) ? 'debug_info calls' : 'unbounded debug_info';
      });
      await m.shutdown();
      return counters;
    };
  },
  idle: async () => async (deadline) => {
    const conns = new Set<Connection>();
    const sockets = new Set<net.Socket>();
    let dropped = 0;
    let most = 0;
    const failed: Counters = {};
    while (performance.now() < deadline) {
      for (const c of [...conns].filter((c) => c.closed)) {
        conns.delete(c);
        dropped++;
      }
      for (const s of [...sockets].filter((s) => s.destroyed)) {
        sockets.delete(s);
        dropped++;
      }
      while (conns.size < 50) {
        const conn = await Client(address, { authkey }).catch((err: Error) => err);
        if (conn instanceof Error) {
          failed[conn.name] = (failed[conn.name] ?? 0) + 1;
          break;
        }
        conns.add(track(conn));
      }
      while (sockets.size < 50) {
        const [host, port] = address as [string, number];
        const s = net.connect({ host, port });
        s.on('error', () => {});
        s.resume();
        sockets.add(track(s));
      }
      most = Math.max(most, conns.size + sockets.size);
      await sleep(500);
    }
    return { 'connections held at once': most, 'dropped by the server': dropped, ...failed };
  },
  'fuzz-native': async (seed) => {
    const random = prng(seed);
    const hello = Buffer.from(msgpack.encode([NATIVE_MAGIC, NATIVE_VERSION, { name: 'fuzz' }]));
    const valid = [[0, 1, null, 'create', ['dict'], null], [0, 2, null, 'debug_info', [], null], [1, 1], [2, 'x', 1]].map((m) => Buffer.from(msgpack.encode(m)));
    let frames = 0;
    return async (deadline) => {
      const counters = await loop(deadline, {}, async () => {
        const raw = await rawSocket();
        track(raw.socket);
        await clientHandshake({ sendBytes: raw.send, recvBytes: async () => (await raw.recv()) ?? Promise.reject(new Error('closed')) }, toKey(authkey), NODE_CRYPTO);
        raw.send(hello);
        await raw.recv();
        if (random() < 0.1) {
          raw.socket.write(randomBytes(random, 1 + Math.floor(random() * 64))); // not even framed
        } else {
          for (let i = 0; i < 20; i++, frames++) raw.send(random() < 0.5 ? randomBytes(random, Math.floor(random() * 64)) : mutate(random, valid[Math.floor(random() * valid.length)] as Buffer));
        }
        await sleep(20);
        raw.socket.destroy();
        return 'connections';
      });
      return { ...counters, frames };
    };
  },
  'fuzz-pickle': async (seed) => {
    const random = prng(seed);
    const accept = Buffer.from(pickle.encode(request(null, 'accept_connection', ['fuzz'])));
    const valid = [request('x', 'get', ['k']), request('x', 'update', [{ a: [1, 2.5, 'three'] }])].map((m) => Buffer.from(pickle.encode(m)));
    let frames = 0;
    return async (deadline) => {
      const counters = await loop(deadline, {}, async () => {
        const raw = await rawSocket();
        track(raw.socket);
        await clientHandshake({ sendBytes: raw.send, recvBytes: async () => (await raw.recv()) ?? Promise.reject(new Error('closed')) }, toKey(authkey), NODE_CRYPTO);
        raw.send(accept);
        await raw.recv();
        for (let i = 0; i < 20; i++, frames++) {
          const pick = random();
          raw.send(pick < 0.3 ? randomBytes(random, Math.floor(random() * 64)) : pick < 0.6 ? (CODE_PICKLES[Math.floor(random() * CODE_PICKLES.length)] as Buffer) : mutate(random, valid[Math.floor(random() * valid.length)] as Buffer));
        }
        await sleep(20);
        raw.socket.destroy();
        return 'connections';
      });
      return { ...counters, frames };
    };
  },
  killer: async (seed) => {
    const random = prng(seed);
    return (deadline) =>
      loop(deadline, {}, async () => {
        const victim: Child = nodeChild('victim', 'bench/hostile/victim.ts', [JSON.stringify(address), keyHex]);
        try {
          const ready = await victim.next(Math.max(100, deadline - performance.now())).then(
            () => true,
            () => false,
          );
          if (!ready) return 'client processes killed before they were ready (the run ended)';
          await sleep(random() * 300);
          return 'client processes SIGKILLed mid-work';
        } finally {
          victim.kill();
        }
      });
  },
  'cancel-storm': async (seed) => {
    const m = await manager();
    const d = await m.create<BaseProxy>('dict');
    const random = prng(seed);
    let cancelled = 0;
    let answered = 0;
    return async (deadline) => {
      const counters = await loop(deadline, {}, async () => {
        const calls = Array.from({ length: 500 }, () => {
          const c = new AbortController();
          setTimeout(() => c.abort(), random() * 5);
          return d.callMethod('get', ['k'], null, { signal: c.signal });
        });
        for (const o of await Promise.allSettled(calls)) {
          if (o.status === 'fulfilled') answered++;
          else cancelled++;
        }
        return 'storms of 500 calls';
      });
      await m.shutdown();
      return { ...counters, cancelled, answered };
    };
  },
  'wrong-key': async () => (deadline) =>
    loop(deadline, {}, async () => {
      await Client(address, { authkey: 'not-the-key' }).then((c) => c.close());
      return 'accepted (wrong!)';
    }),
};

/** The 20 attackers: kind and how many of it. `HOSTILE_ONLY=kind,kind` keeps only those (for exploring). */
const ONLY = process.env.HOSTILE_ONLY ? new Set(process.env.HOSTILE_ONLY.split(',')) : null;
const PLAN: ReadonlyArray<[kind: string, count: number]> = ([
  ['msgpack-bomb', 2],
  ['msgpack-bare', 1],
  ['pickle-bomb', 2],
  ['flood-native', 2],
  ['flood-pickle', 2],
  ['huge-int', 2],
  ['debug-info', 1],
  ['idle', 2],
  ['fuzz-native', 1],
  ['fuzz-pickle', 1],
  ['killer', 2],
  ['cancel-storm', 1],
  ['wrong-key', 1],
] as Array<[string, number]>).filter(([kind]) => ONLY === null || ONLY.has(kind));

let seed = 100;
const runs = await Promise.all(PLAN.flatMap(([kind, count]) => Array.from({ length: count }, async () => ({ kind, run: await (attackers[kind] as Attacker)(seed++) }))));
console.log(JSON.stringify({ ready: true, attackers: runs.length }));
for await (const line of createInterface({ input: process.stdin })) {
  const [command, msText] = line.trim().split(/\s+/);
  if (command !== 'go') continue;
  const deadline = performance.now() + Number(msText);
  const results = await Promise.all(
    runs.map(({ kind, run }) =>
      run(deadline).then(
        (counters) => ({ kind, ...counters }),
        (err: unknown) => ({ kind, failed: String(err) }),
      ),
    ),
  );
  for (const c of open) c.destroy();
  killChildren();
  console.log(JSON.stringify({ attackers: results }));
  break;
}
process.exit(0);
