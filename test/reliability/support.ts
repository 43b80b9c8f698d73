/**
 * What the reliability suites share: a manager server in a child process (fixtures/server.ts) whose
 * memory is read from /proc, raw clients of both dialects that say exactly what a test wants (and read
 * only when told to), and the hostile frames of issue #11.
 *
 * Why a child process for memory: the figures asserted are a few MiB of growth, against hundreds of MiB
 * before the fixes; the test runner's own heap (vitest, other suites' garbage) moves by more than that,
 * so a server in the runner's process could not be measured. The child's RSS is its own, read from
 * `/proc/<pid>/status` (VmRSS now, VmHWM the peak since it was last reset through `clear_refs`).
 */
import { NODE_CRYPTO } from '../../src/channel/node-crypto.js';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { msgpack } from '../../src/codec/index.js';
import { Client, type Connection } from '../../src/connection/index.js';
import { clientHandshake, toKey } from '../../src/connection/auth.js';
import { NODE_SUITES, clientKeyExchange, nodeCrypto } from '../../src/channel/index.js';
import { FrameDecoder, frameHeader } from '../../src/transport/framing.js';
import { ClientKind, NATIVE_MAGIC, NATIVE_VERSION } from '../../src/protocol/native.js';
import { Op } from '../../src/codec/pickle/index.js';
import { request } from '../../src/protocol/classic.js';
import type { ManagerOptions } from '../../src/manager/base-manager.js';
import type { Address } from '../../src/transport/address.js';
import { run, type Proc } from '../fixtures/processes.js';

export const AUTHKEY = 'reliability-key';
export const MiB = 1024 * 1024;

/** Heavy volumes (the full sizes) only with MPM_RELIABILITY_HEAVY=1. */
export const HEAVY = process.env.MPM_RELIABILITY_HEAVY === '1';

/** The memory of a process, from /proc (Linux). */
export interface ProcMemory {
  /** Resident set size now, bytes. */
  rss: number;
  /** Peak resident set size since start or the last `resetPeak`, bytes. */
  peak: number;
}

export function procMemory(pid: number): ProcMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

/** Resets a process's VmHWM to its current RSS (Linux 4.0+; `5` is "reset peak RSS"). */
export function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/** What the server process reports after two full collections. */
export interface ServerMemory {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** Sessions being served. */
  connections: number;
  /** Hosted objects. */
  objects: number;
  /** Properties the built-in prototypes gained since the server started (`Object.prototype.x`). */
  pollution: string[];
}

export interface ServerProcess {
  readonly proc: Proc;
  readonly address: Address;
  readonly pid: number;
  /** Collects garbage in the server and reports its memory. */
  mem(): Promise<ServerMemory>;
  /** /proc figures, no collection. */
  procMemory(): ProcMemory;
  resetPeak(): void;
  /** True while the process runs (a crash exits 70 and prints `crash ...`). */
  alive(): boolean;
  /** Asks it to exit; resolves with the exit code. */
  stop(): Promise<number | null>;
}

let memQueries = 0;

/**
 * Starts fixtures/server.ts (`node --expose-gc`) with `limits` and waits until it listens. Kill it with
 * `killAll()` (test/fixtures/processes.ts) in afterEach, or `stop()`.
 */
export async function startServerProcess(limits: ManagerOptions = {}, address: Address = ['127.0.0.1', 0]): Promise<ServerProcess> {
  const proc = run('test/reliability/fixtures/server.ts', [JSON.stringify({ address, authkey: AUTHKEY, limits })], { nodeArgs: ['--expose-gc'] });
  const ready = await proc.line(/^ready /, 30_000);
  const info = JSON.parse(ready.slice('ready '.length)) as { address: Address; pid: number };
  const alive = () => proc.child.exitCode === null && proc.child.signalCode === null;
  return {
    proc,
    address: info.address,
    pid: info.pid,
    async mem() {
      const n = ++memQueries;
      proc.child.stdin.write(`mem ${n}\n`);
      const line = await proc.line(new RegExp(`^mem ${n} `), 20_000);
      return JSON.parse(line.slice(`mem ${n} `.length)) as ServerMemory;
    },
    procMemory: () => procMemory(info.pid),
    resetPeak: () => resetPeak(info.pid),
    alive,
    async stop() {
      if (alive()) proc.child.stdin.write('exit\n');
      return proc.exit(10_000);
    },
  };
}

/**
 * Samples a process's RSS every `ms` until stopped; `max` is the highest sample, also counting the
 * kernel's own peak (VmHWM) when the process was reset with `resetPeak` first.
 */
export function sampleRss(pid: number, ms = 20): { readonly max: number; stop(): number } {
  let max = 0;
  const take = () => {
    try {
      const m = procMemory(pid);
      max = Math.max(max, m.rss, m.peak);
    } catch {
      // the process is gone
    }
  };
  take();
  const timer = setInterval(take, ms);
  return {
    get max() {
      return max;
    },
    stop() {
      clearInterval(timer);
      take();
      return max;
    },
  };
}

// ---- raw clients ------------------------------------------------------------------------------------

/** An authenticated connection that has said nothing yet. */
export function rawConnection(address: Address, options: { serializer?: 'msgpack' | 'pickle'; maxFrameSize?: number } = {}): Promise<Connection> {
  return Client(address, { authkey: AUTHKEY, serializer: options.serializer ?? 'msgpack', maxFrameSize: options.maxFrameSize });
}

/** A native-dialect connection past the hello: `call` writes a CALL frame, `recv` reads one message. */
export async function rawNative(address: Address) {
  const conn = await rawConnection(address);
  conn.sendBytes(msgpack.encode([NATIVE_MAGIC, NATIVE_VERSION, { name: 'reliability-raw' }]));
  await conn.recvBytes(); // the welcome
  let nextId = 0;
  return {
    conn,
    /** Sends a CALL with a fresh call id; returns the id. */
    call(ident: string | null, method: string, args: unknown[] = [], kwds: Record<string, unknown> | null = null): number {
      const id = ++nextId;
      conn.sendBytes(msgpack.encode([ClientKind.Call, id, ident, method, args, kwds]));
      return id;
    },
    recv: async () => msgpack.decode(await conn.recvBytes()) as unknown[],
  };
}

/**
 * A classic-dialect (CPython) object connection: `accept_connection` done, so requests are served one
 * at a time and a refused one is a `#TRACEBACK` reply, not a close.
 */
export async function rawClassicObject(address: Address) {
  const conn = await rawConnection(address, { serializer: 'pickle' });
  conn.send(request(null, 'accept_connection', ['reliability-raw']));
  await conn.recv();
  return {
    conn,
    send: (ident: string | null, method: string, args: unknown[] = []) => conn.send(request(ident, method, args)),
    /** The reply as `[kind, value]`. */
    recv: async () => (await conn.recv()) as [string, unknown],
  };
}

/**
 * A plain TCP socket with CPython's framing and nothing else: frames it receives are queued, `send`
 * writes one framed payload, `write` writes bytes as they are (framing or not). `handshake(key)` runs
 * the client's side of the authentication on it.
 */
export async function rawSocket(address: Address) {
  if (!Array.isArray(address)) throw new Error('rawSocket speaks TCP only');
  const socket = net.connect({ host: address[0] === '0.0.0.0' ? '127.0.0.1' : String(address[0]), port: Number(address[1]) });
  const frames: Buffer[] = [];
  const waiters: Array<(f: Buffer | null) => void> = [];
  let received = 0;
  let ended = false;
  const decoder = new FrameDecoder((f) => {
    const copy = Buffer.from(f);
    const w = waiters.shift();
    if (w) w(copy);
    else frames.push(copy);
  }, 1 << 30);
  socket.on('data', (chunk: Buffer) => {
    received += chunk.length;
    decoder.push(chunk);
  });
  const closed = new Promise<void>((resolve) => {
    socket.on('close', () => {
      ended = true;
      for (const w of waiters.splice(0)) w(null);
      resolve();
    });
  });
  socket.on('error', () => {}); // a reset is reported as a close
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const raw = {
    socket,
    /** Resolves when the server has closed the connection (or it was reset). */
    closed,
    /** Bytes received so far. */
    get received() {
      return received;
    },
    send(payload: Uint8Array): void {
      socket.write(Buffer.concat([frameHeader(payload.length), payload]));
    },
    write(bytes: Uint8Array): void {
      socket.write(bytes);
    },
    /** The next frame, or null once the connection closed. */
    recv(): Promise<Buffer | null> {
      const f = frames.shift();
      if (f) return Promise.resolve(f);
      if (ended) return Promise.resolve(null);
      return new Promise((resolve) => waiters.push(resolve));
    },
    /**
     * The client's side of CPython's handshake (with mpmanager's mark), then the key exchange that
     * follows between mpmanager peers, choosing plaintext: frames after it are in clear, as the hostile
     * tests need.
     */
    async handshake(authkey: string = AUTHKEY): Promise<void> {
      const frames: Buffer[] = [];
      const next = async () => {
        const f = await raw.recv();
        if (f === null) throw new Error('closed during the handshake');
        return f;
      };
      const key = toKey(authkey);
      await clientHandshake(
        {
          sendBytes: (p) => {
            frames.push(Buffer.from(p));
            raw.send(p);
          },
          recvBytes: async () => {
            const f = await next();
            frames.push(f);
            return f;
          },
        },
        key,
        NODE_CRYPTO,
      );
      const options = { crypto: nodeCrypto, authkey: key, handshake: [frames[0], frames[1], frames[3], frames[4]] as Buffer[], policy: 'off' as const, suites: NODE_SUITES };
      const answer = clientKeyExchange(options, await next(), 'the test server');
      raw.send(answer.send);
      if ('error' in answer) throw answer.error;
    },
  };
  return raw;
}

// ---- hostile frames (issue #11) ---------------------------------------------------------------------

/** msgpack array32 header: `dd <u32 n>`. */
function array32(n: number): Buffer {
  const head = Buffer.alloc(5);
  head[0] = 0xdd;
  head.writeUInt32BE(n, 1);
  return head;
}

/** A msgpack frame that is a list of `n` copies of the one-byte value `byte` (0x80 `{}`, 0x90 `[]`). */
export function msgpackListOf(n: number, byte: number): Buffer {
  return Buffer.concat([array32(n), Buffer.alloc(n, byte)]);
}

/**
 * A native CALL frame `[CALL, callId, ident, method, [<n empty maps>], null]` written by hand, so the
 * bomb is the call's only argument and the call id is readable before it.
 */
export function msgpackCallWithBomb(callId: number, ident: string, method: string, n: number, byte = 0x80): Buffer {
  const head = Buffer.from(msgpack.encode([ClientKind.Call, callId, ident, method]));
  head[0] = 0x96; // fixarray of 6, not 4
  return Buffer.concat([head, Buffer.from([0x91]), msgpackListOf(n, byte), Buffer.from([0xc0])]);
}


/** `SHORT_BINUNICODE s` (s under 256 bytes). */
function shortStr(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from([Op.SHORT_BINUNICODE, b.length]), b]);
}

/**
 * A classic request `(ident, method, (<arg>,), {})` whose one argument is the raw pickle opcodes
 * `argOps` (e.g. a LONG of 5000 digits, or a list of a million empty dicts).
 */
export function pickleRequestWithArg(ident: string | null, method: string, argOps: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from([Op.PROTO, 4, Op.MARK]),
    ident === null ? Buffer.from([Op.NONE]) : shortStr(ident),
    shortStr(method),
    Buffer.from([Op.MARK]),
    argOps,
    Buffer.from([Op.TUPLE, Op.EMPTY_DICT, Op.TUPLE, Op.STOP]),
  ]);
}

/** The opcodes of a list of `n` empty dicts (no PROTO/STOP), for `pickleRequestWithArg`. */
export function emptyDictsOps(n: number): Buffer {
  return Buffer.concat([Buffer.from([Op.EMPTY_LIST, Op.MARK]), Buffer.alloc(n, Op.EMPTY_DICT), Buffer.from([Op.APPENDS])]);
}

/** The text opcode `LONG` (`L<digits>L\n`, protocol 0's int) of a `digits`-digit number. */
export function longTextOps(digits: number): Buffer {
  return Buffer.from(`L${'7'.repeat(digits)}L\n`, 'latin1');
}

