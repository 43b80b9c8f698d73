/**
 * Fuzzed frames after a good handshake, both dialects, against a server in a child process: random
 * bytes, mutations of valid requests, frames that try to run code (pickle globals such as `os.system`,
 * msgpackr's own extensions) or to pollute prototypes (`__proto__` keys in values and keyword
 * arguments), and raw bytes that break the framing itself. The server must never crash (its process
 * stays up, exit code untouched), never run anything (no marker file, no prototype gains a property),
 * keep serving a well-behaved client, and give back whatever the fuzzing connections made.
 *
 * Decoder-level fuzzing is in test/codec/pickle/fuzz.test.ts; malformed native frames one by one in
 * test/server/native-session.test.ts. This is the end-to-end pass, seeded (the seed is in every failure
 * message). MPM_RELIABILITY_HEAVY=1 runs ten times the connections.
 */
import { prng } from '../support/prng.js';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { msgpack } from '../../src/codec/index.js';
import { pickle } from '../../src/codec/pickle/index.js';
import { ObjectRef } from '../../src/codec/ref.js';
import { Token } from '../../src/codec/token.js';
import { CodecError, ForbiddenGlobalError, ProtocolError } from '../../src/errors.js';
import { SyncManager } from '../../src/manager/sync-manager.js';
import { ClientKind, NATIVE_MAGIC, NATIVE_VERSION } from '../../src/protocol/native.js';
import { Reply, request, tracebackError } from '../../src/protocol/classic.js';
import { killAll } from '../fixtures/processes.js';
import { eventually } from '../fixtures/transports.js';
import { AUTHKEY, HEAVY, rawSocket, startServerProcess, type ServerProcess } from './support.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  killAll();
});

const CONNECTIONS = HEAVY ? 300 : 30;
const FRAMES_PER_CONNECTION = 25;
const SEED = Number(process.env.MPM_FUZZ_SEED ?? 20261206);
/** A file the hostile pickles would create if anything ran them. */
const MARKER = join(tmpdir(), `mpm-fuzz-marker-${process.pid}`);

/** Seeded random choices (test/support/prng.ts), so a failure can be replayed. */
function random(seed: number) {
  const next = prng(seed);
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
    bytes: (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256))),
  };
}
type Random = ReturnType<typeof random>;

/** Bytes msgpack and pickle treat specially, to mutate towards the interesting paths. */
const MAGIC_BYTES = [0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xc0, 0xc1, 0xc4, 0xc7, 0xc9, 0xd4, 0xd8, 0xdc, 0xdd, 0xde, 0xdf, 0xff, 0x28, 0x2e, 0x52, 0x63, 0x81, 0x93, 0x94, 0x95];

/** A mutation of `frame`: flipped bits, replaced or inserted bytes, a cut, or a doubled slice. */
function mutate(frame: Buffer, r: Random): Buffer {
  const out = Buffer.from(frame);
  switch (r.int(6)) {
    case 0:
      for (let i = 0, n = 1 + r.int(4); i < n && out.length > 0; i++) out[r.int(out.length)]! ^= 1 << r.int(8);
      return out;
    case 1:
      if (out.length > 0) out[r.int(out.length)] = r.pick(MAGIC_BYTES);
      return out;
    case 2:
      return out.subarray(0, r.int(out.length + 1));
    case 3: {
      const at = r.int(out.length + 1);
      return Buffer.concat([out.subarray(0, at), r.bytes(1 + r.int(8)), out.subarray(at)]);
    }
    case 4: {
      const from = r.int(out.length + 1);
      const to = from + r.int(out.length - from + 1);
      return Buffer.concat([out.subarray(0, to), out.subarray(from)]);
    }
    default: {
      const at = r.int(out.length + 1);
      return Buffer.concat([out.subarray(0, at), Buffer.from([r.pick(MAGIC_BYTES)]), out.subarray(at)]);
    }
  }
}

/** `JSON.parse` makes `__proto__` an own key, as a peer's decoded map would have it. */
const PROTO_VALUE = JSON.parse('{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}}') as Record<string, unknown>;

/** The good client's dict proxies, kept reachable: a proxy that is collected releases its object. */
const keep: unknown[] = [];
afterEach(() => {
  keep.length = 0;
});

async function setUp(): Promise<{ server: ServerProcess; good: SyncManager; dictId: string; baseline: number }> {
  const server = await startServerProcess();
  const good = await new SyncManager(server.address, { authkey: AUTHKEY }).connect();
  cleanup.push(() => good.shutdown());
  const d = await good.dict<string, string>();
  keep.push(d);
  await d.set('k', 'v');
  return { server, good, dictId: d.token.id, baseline: (await server.mem()).objects };
}

/** After the fuzzing: the server process is up, clean, serving, and holds only what the good client holds. */
async function expectUnharmed(server: ServerProcess, good: SyncManager, dictId: string, baseline: number, seed: string): Promise<void> {
  expect(server.alive(), `${seed}; ${server.proc.describe()}`).toBe(true);
  expect(await good.client.call(dictId, 'get', ['k']), seed).toBe('v');
  const mem = await server.mem();
  expect(mem.pollution, seed).toEqual([]);
  expect(await eventually(async () => (await server.mem()).objects, baseline), seed).toBe(baseline);
  expect(await eventually(async () => (await server.mem()).connections, 1), seed).toBe(1);
  expect(existsSync(MARKER), seed).toBe(false);
  expect(server.proc.stdout.filter((l) => l.startsWith('crash')), seed).toEqual([]);
}

/** Raw bytes that break the framing: a random length header (up to the 64 MiB limit, or beyond), then junk. */
async function unframed(server: ServerProcess, first: Buffer, r: Random): Promise<void> {
  const raw = await rawSocket(server.address);
  await raw.handshake();
  raw.send(first);
  const header = Buffer.alloc(4);
  header.writeInt32BE(r.pick([r.int(64), r.int(1 << 20), -2, -1, 0x7fffffff, r.int(64 << 20)]));
  raw.write(Buffer.concat([header, r.bytes(r.int(256))]));
  await new Promise((res) => setTimeout(res, 5));
  raw.socket.destroy();
}

describe('fuzzed frames after a good handshake', { timeout: HEAVY ? 300_000 : 30_000 }, () => {
  it('native dialect: the server survives, runs nothing, and keeps serving', async () => {
    const { server, good, dictId, baseline } = await setUp();
    const r = random(SEED);
    const hello = Buffer.from(msgpack.encode([NATIVE_MAGIC, NATIVE_VERSION, { name: 'fuzz' }]));
    const valid = (id: number): Buffer[] =>
      [
        [ClientKind.Call, id, null, 'create', ['dict'], null],
        [ClientKind.Call, id, null, 'create', ['Namespace'], PROTO_VALUE],
        [ClientKind.Call, id, dictId, '__setitem__', ['k2', { nested: [1, 2.5, 'three', null, true] }], null],
        [ClientKind.Call, id, dictId, 'get', ['k'], null],
        [ClientKind.Call, id, dictId, 'update', [PROTO_VALUE], null],
        [ClientKind.Call, id, dictId, 'update', [], PROTO_VALUE],
        [ClientKind.Call, id, dictId, '__setitem__', ['ref', new ObjectRef(new Token('dict', ['127.0.0.1', 1], 'x'), null, 'os.system')], null],
        [ClientKind.Call, id, null, 'debug_info', [], null],
        [ClientKind.Cancel, id],
        [ClientKind.Release, dictId, 1],
      ].map((m) => Buffer.from(msgpack.encode(m)));
    const hostile: Buffer[] = [
      Buffer.from('c7056500a14501', 'hex'), // msgpackr's Error extension (0x65)
      Buffer.from('d4720000', 'hex'), // msgpackr records (0x72)
      Buffer.from('d4690000', 'hex'), // structured-clone reference (0x69)
      Buffer.from('d4620000', 'hex'), // bundled strings (0x62)
      Buffer.concat([Buffer.from('96000ac0a564756d6d7991', 'hex'), Buffer.from('d40200', 'hex'), msgpack.encode([0, '__proto__', 'm', 's', []]), Buffer.from([0xc0])]), // a remote error named __proto__
      Buffer.concat([Buffer.from('96000bc0a564756d6d7991', 'hex'), Buffer.alloc(2000, 0x91), Buffer.from([0xc0, 0xc0])]), // nested 2000 deep
      Buffer.from('dd ffffffff 00'.replace(/ /g, ''), 'hex'), // a count the frame cannot hold
      Buffer.from('c9 00000002 05 0000'.replace(/ /g, ''), 'hex'), // a blob under the minimum
    ];
    for (let c = 0; c < CONNECTIONS; c++) {
      const seed = `seed ${SEED}, connection ${c}`;
      if (c % 10 === 9) {
        await unframed(server, hello, r);
        continue;
      }
      const raw = await rawSocket(server.address);
      await raw.handshake();
      raw.send(hello);
      await raw.recv(); // the welcome
      for (let f = 0; f < FRAMES_PER_CONNECTION; f++) {
        const kind = r.int(4);
        const frame = kind === 0 ? r.bytes(r.int(64)) : kind === 1 ? r.pick(hostile) : kind === 2 ? mutate(r.pick(valid(1 + f)), r) : r.pick(valid(1 + f));
        raw.send(frame);
      }
      // A last call, to know the server has dealt with everything before it (or dropped the connection).
      const SYNC = 0x7fffffff;
      raw.send(Buffer.from(msgpack.encode([ClientKind.Call, SYNC, null, 'dummy', [], null])));
      for (;;) {
        const f = await raw.recv();
        if (f === null) break;
        let msg: unknown;
        try {
          msg = msgpack.decode(f, { blobs: [] });
        } catch {
          continue; // a blob frame, or a reply naming a blob we did not keep
        }
        if (Array.isArray(msg) && msg[1] === SYNC) break;
      }
      raw.socket.destroy();
      if (c % 10 === 0) expect(await good.client.call(dictId, 'get', ['k']), seed).toBe('v');
    }
    await expectUnharmed(server, good, dictId, baseline, `seed ${SEED}`);
  });

  it('classic dialect: the server survives, runs nothing, answers every request once, and keeps serving', async () => {
    const { server, good, dictId, baseline } = await setUp();
    const r = random(SEED + 1);
    const accept = Buffer.from(pickle.encode(request(null, 'accept_connection', ['fuzz'])));
    const touch = `touch ${MARKER}`;
    const valid: Buffer[] = [
      request(dictId, 'get', ['k']),
      request(dictId, '__setitem__', ['k2', [1, 2.5, 'three', null, true, new Map([[1, 'one']])]]),
      request(dictId, 'update', [PROTO_VALUE]),
      request(dictId, 'update', [], PROTO_VALUE),
      request(dictId, '#GETVALUE'),
      request(dictId, '__repr__'),
      request(null, 'create', ['dict']),
    ].map((m) => Buffer.from(pickle.encode(m)));
    /** Pickles naming globals that would run code in CPython: each must be refused by name, never resolved. */
    const forbidden: Buffer[] = [
      `cos\nsystem\n(S'${touch}'\ntR.`,
      `cposix\nsystem\n(S'${touch}'\ntR.`,
      `cbuiltins\neval\n(S'__import__("os").system("${touch}")'\ntR.`,
      `c__builtin__\nexec\n(S'import os'\ntR.`,
      `csubprocess\ncheck_call\n((S'touch'\nS'${MARKER}'\nltR.`,
      `(S'${touch}'\nios\nsystem\n.`,
      `ccopyreg\n_reconstructor\n(cos\n_wrap_close\ncbuiltins\nobject\nNtR.`,
    ].map((s) => Buffer.from(s, 'latin1'));
    const stackGlobal = (module: string, name: string, arg: string) =>
      Buffer.concat([
        Buffer.from([0x80, 4]),
        ...[module, name].map((s) => Buffer.concat([Buffer.from([0x8c, s.length]), Buffer.from(s)])),
        Buffer.from([0x93]),
        Buffer.from([0x8c, arg.length]),
        Buffer.from(arg),
        Buffer.from([0x85, 0x52, 0x2e]),
      ]);
    forbidden.push(stackGlobal('os', 'system', touch), stackGlobal('builtins', 'eval', '1'), stackGlobal('__main__', 'Evil', 'x'));
    /** Other pickles that must be refused, each with the error it must get, without running anything. */
    const refused: Array<{ frame: Buffer; expect: typeof CodecError | typeof ProtocolError }> = [
      { frame: Buffer.from('\x80\x02\x82\x01.', 'latin1'), expect: CodecError }, // EXT1: the copyreg extension registry
      { frame: Buffer.from('Pid\n.', 'latin1'), expect: CodecError }, // PERSID
      { frame: Buffer.from('\x80\x04N\x81.', 'latin1'), expect: CodecError }, // NEWOBJ on None
      { frame: Buffer.from('cbuiltins\nslice\n(I1\nI2\nI3\nI4\ntR.', 'latin1'), expect: CodecError }, // an allowed global, misused
      { frame: Buffer.from('\x80\x04}\x94(X\x09\x00\x00\x00__class__\x94\x8c\x02os\x94u.', 'latin1'), expect: ProtocolError }, // data, not a request
    ];
    for (let c = 0; c < CONNECTIONS; c++) {
      const seed = `seed ${SEED + 1}, connection ${c}`;
      if (c % 10 === 9) {
        await unframed(server, accept, r);
        continue;
      }
      const raw = await rawSocket(server.address);
      await raw.handshake();
      raw.send(accept);
      expect(pickle.decode((await raw.recv()) ?? Buffer.alloc(0)), seed).toEqual([Reply.Return, null]);
      const sent: Array<{ frame: Buffer; expect?: typeof ForbiddenGlobalError | typeof CodecError | typeof ProtocolError }> = [];
      for (let f = 0; f < FRAMES_PER_CONNECTION; f++) {
        const kind = r.int(5);
        const entry =
          kind === 0
            ? { frame: r.bytes(r.int(64)) }
            : kind === 1
              ? { frame: r.pick(forbidden), expect: ForbiddenGlobalError }
              : kind === 2
                ? r.pick(refused)
                : kind === 3
                  ? { frame: mutate(r.pick(valid), r) }
                  : { frame: r.pick(valid) };
        sent.push(entry);
        raw.send(entry.frame);
      }
      // One request, one reply, in order (CPython's protocol has no ids), whatever the request was.
      let closed = false;
      for (const [i, entry] of sent.entries()) {
        const f = await raw.recv();
        if (f === null) {
          closed = true;
          break;
        }
        const reply = pickle.decode(f) as [string, unknown];
        expect(Object.values(Reply), seed).toContain(reply[0]);
        if (entry.expect) {
          expect(reply[0], `${seed}, frame ${i}: ${entry.frame.toString('latin1')}`).toBe(Reply.Traceback);
          expect(tracebackError(String(reply[1])), `${seed}, frame ${i}: ${String(reply[1])}`).toBeInstanceOf(entry.expect);
        }
      }
      if (!closed) {
        raw.send(Buffer.from(pickle.encode(request(dictId, 'get', ['k']))));
        expect(pickle.decode((await raw.recv()) ?? Buffer.alloc(0)), seed).toEqual([Reply.Return, 'v']);
      }
      raw.socket.destroy();
      if (c % 10 === 0) expect(await good.client.call(dictId, 'get', ['k']), seed).toBe('v');
    }
    await expectUnharmed(server, good, dictId, baseline, `seed ${SEED + 1}`);
  });
});
