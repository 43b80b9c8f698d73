/**
 * Issue #11, defect 1: frames that cost far more heap to decode than they have bytes. Before the fix a
 * 30 MB native frame that is a list of 30 million empty maps took 2.3 GB of heap and froze the server
 * for 6 s (the third one killed it), 60 MB of empty arrays peaked at 3 GB, and a 20 MB pickle of 10
 * million empty dicts peaked at 1.9 GB before it was refused. Now both codecs refuse a frame once it
 * would allocate more than `decodeAllocationFactor` (32) times its size plus `decodeAllocationFloor`
 * (64 KiB): a call whose id is known gets a `DecodeBudgetError` reply, a frame whose call cannot be
 * known closes its connection, and the server goes on serving everyone else.
 *
 * The server runs in a child process so that its RSS is its own (see support.ts). The default run
 * sends frames a tenth of the (3 M empty maps, 6 M empty arrays, 2 M empty dicts: each of which
 * cost the old server 200-400 MB) three times each; MPM_RELIABILITY_HEAVY=1 sends the sizes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/limits.js';
import { ConnectionClosedError, DecodeBudgetError } from '../../src/errors.js';
import { Reply, tracebackError } from '../../src/protocol/classic.js';
import { ServerKind } from '../../src/protocol/native.js';
import { SyncManager } from '../../src/manager/sync-manager.js';
import type { DictProxy } from '../../proxies/dict-proxy.js';
import { killAll } from '../fixtures/processes.js';
import { eventually } from '../fixtures/transports.js';
import {
  AUTHKEY,
  HEAVY,
  MiB,
  emptyDictsOps,
  msgpackCallWithBomb,
  msgpackListOf,
  pickleRequestWithArg,
  rawClassicObject,
  rawNative,
  startServerProcess,
  type ServerProcess,
} from './support.js';

/** One server for the file: each test measures from a collected heap, so the others' garbage does not count. */
let server: ServerProcess;
beforeAll(async () => {
  server = await startServerProcess();
});
afterAll(() => killAll());

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** The sizes with MPM_RELIABILITY_HEAVY=1, else a tenth. */
const EMPTY_MAPS = HEAVY ? 30_000_000 : 3_000_000;
const EMPTY_ARRAYS = HEAVY ? 60_000_000 : 6_000_000;
const EMPTY_DICTS = HEAVY ? 20_000_000 : 2_000_000;
/** How often each bomb is sent (the third 30 MB frame killed the server). */
const REPEAT = 3;
/** What RSS may gain beyond what a bound names: V8's and the allocator's slack, garbage not yet collected. */
const SLACK = 24 * MiB;
/**
 * V8's heap takes more RSS than its live objects (pages, semi-spaces, fragmentation): ~10 % more at these
 * sizes. Measured: a 20 MB pickle of empty dicts is refused with 592 MiB live (610 MiB allowed) and RSS
 * 668 MiB above where it started.
 */
const HEAP_OVERHEAD = 1.1;

/**
 * Most the server's RSS may grow while it refuses a msgpack frame: the frame itself, gathered from the
 * socket (and once more, at most, in the reader's copy), and the slack. The budget scan refuses before
 * msgpackr builds anything. The old server grew by 214 MB for 3 M empty maps, 236 MB for 6 M empty arrays.
 */
const msgpackBound = (frameSize: number) => 2 * frameSize + SLACK;
/**
 * Most the server's RSS may grow while it refuses a pickle: the decoder builds as it goes and stops once
 * its charges pass the budget, `decodeAllocationFactor` x size + `decodeAllocationFloor` (in heap, which
 * costs HEAP_OVERHEAD in RSS); plus the frame and the slack. The old server grew by ~190 bytes per empty
 * dict (~400 MB for 2 M).
 */
const pickleBound = (frameSize: number) =>
  HEAP_OVERHEAD * (DEFAULT_LIMITS.decodeAllocationFactor * frameSize + DEFAULT_LIMITS.decodeAllocationFloor) + frameSize + SLACK;

/**
 * Runs `send` (one bomb, and the check of its answer) REPEAT times, each from a collected heap and a reset
 * peak, and returns the largest growth of the server's peak RSS over its RSS just before.
 */
async function worstGrowth(server: ServerProcess, send: (i: number) => Promise<void>): Promise<{ growth: number; detail: string }> {
  let growth = 0;
  const detail: string[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const before = (await server.mem()).rss;
    server.resetPeak();
    await send(i);
    const peak = server.procMemory().peak;
    detail.push(`${(before / MiB).toFixed(0)} -> ${(peak / MiB).toFixed(0)} MiB`);
    growth = Math.max(growth, peak - before);
  }
  return { growth, detail: `RSS before -> peak, per frame: ${detail.join(', ')}` };
}

/** A well-behaved client of the server, calling while the bombs go off. */
async function goodClient(server: ServerProcess): Promise<{ d: DictProxy<string, string>; calls(n: number): Promise<number> }> {
  const m = await new SyncManager(server.address, { authkey: AUTHKEY }).connect();
  cleanup.push(() => m.shutdown());
  const d = await m.dict<string, string>();
  await d.set('k', 'value');
  return {
    d,
    /** `n` gets one after another; resolves with how many returned the right value. */
    calls(n: number) {
      const done = (async () => {
        let ok = 0;
        for (let i = 0; i < n; i++) if ((await d.get('k')) === 'value') ok++;
        return ok;
      })();
      done.catch(() => {}); // awaited by the test; a failure before then must not be an unhandled rejection
      return done;
    },
  };
}

describe('decode budget (issue #11, defect 1)', { timeout: HEAVY ? 120_000 : 30_000 }, () => {
  it('the limits are the documented ones', () => {
    expect(DEFAULT_LIMITS.decodeAllocationFactor).toBe(32);
    expect(DEFAULT_LIMITS.decodeAllocationFloor).toBe(64 * 1024);
  });

  it(`native: a CALL whose argument is ${EMPTY_MAPS} empty maps gets a DecodeBudgetError reply for its call id; RSS stays bounded; others are served`, async () => {
    const good = await goodClient(server);
    const raw = await rawNative(server.address);
    cleanup.push(() => raw.conn.close());
    const serving = good.calls(200);
    const frame = (i: number) => msgpackCallWithBomb(1000 + i, good.d.token.id, 'update', EMPTY_MAPS, 0x80);
    const { growth, detail } = await worstGrowth(server, async (i) => {
      raw.conn.sendBytes(frame(i));
      const reply = await raw.recv();
      expect(reply.slice(0, 2)).toEqual([ServerKind.Error, 1000 + i]);
      expect(reply[2]).toBeInstanceOf(DecodeBudgetError);
      expect((reply[2] as DecodeBudgetError).code).toBe('MPM_ERR_DECODE_BUDGET');
    });
    expect(growth, detail).toBeLessThan(msgpackBound(frame(0).length));
    // The refused call changed nothing, and the connection that sent it still works.
    const id = raw.call(good.d.token.id, 'get', ['k']);
    expect(await raw.recv()).toEqual([ServerKind.Return, id, 'value']);
    expect(await serving).toBe(200);
    expect(server.alive()).toBe(true);
  });

  it(`native: a frame that is ${EMPTY_ARRAYS} empty arrays (no call id to answer) closes its connection only; RSS stays bounded`, async () => {
    const good = await goodClient(server);
    const serving = good.calls(200);
    const frame = msgpackListOf(EMPTY_ARRAYS, 0x90);
    const { growth, detail } = await worstGrowth(server, async () => {
      const raw = await rawNative(server.address);
      raw.conn.sendBytes(frame);
      await expect(raw.conn.recvBytes()).rejects.toBeInstanceOf(ConnectionClosedError);
    });
    expect(growth, detail).toBeLessThan(msgpackBound(frame.length));
    expect(await serving).toBe(200);
    expect(await eventually(async () => (await server.mem()).connections, 1)).toBe(1); // only the good client's
  });

  it(`classic: a request whose argument is ${EMPTY_DICTS} empty dicts gets a DecodeBudgetError #TRACEBACK; the object connection stays usable; RSS stays bounded`, async () => {
    const good = await goodClient(server);
    const raw = await rawClassicObject(server.address);
    cleanup.push(() => raw.conn.close());
    const serving = good.calls(200);
    const frame = pickleRequestWithArg(good.d.token.id, 'update', emptyDictsOps(EMPTY_DICTS));
    const { growth, detail } = await worstGrowth(server, async () => {
      raw.conn.sendBytes(frame);
      const [kind, text] = await raw.recv();
      expect(kind).toBe(Reply.Traceback);
      const err = tracebackError(String(text));
      expect(err).toBeInstanceOf(DecodeBudgetError);
      expect(err.message).toMatch(/decodeAllocationFactor/);
    });
    expect(growth, detail).toBeLessThan(pickleBound(frame.length));
    raw.send(good.d.token.id, 'get', ['k']);
    expect(await raw.recv()).toEqual([Reply.Return, 'value']);
    expect(await serving).toBe(200);
    expect(server.alive()).toBe(true);
  });
});
