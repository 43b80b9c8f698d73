/**
 * Issue #11, defect 3: work that grows faster than the input. Before the fix an 8 MiB binary (LONG4) int
 * used as a dict key froze the server for 9.4 s (dict keys were hashed through the int's decimal text,
 * which is quadratic to make), `debug_info` with such keys hosted took 25 s, and a LONG of 30 million
 * decimal digits took 6 s to read. Now keys hash in hex (linear), LONG text over `maxIntDigits` (4300)
 * digits is refused with `DigitLimitError` (CPython 3.11+ refuses them too), and repr is bounded:
 * `debug_info` computes 75 characters per object, and a huge int's repr raises `DigitLimitError` (CPython
 * raises ValueError).
 *
 * These tests assert behaviour, not time (the machine is shared). Sizes are kept small enough that the
 * fixed server answers in well under a second: a 1 MiB key costs the old server ~1.5 s per hash or repr
 * here, a few seconds per test. The per-test timeout is a guard, not a measurement.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DigitLimitError } from '../../src/errors.js';
import { DEFAULT_LIMITS } from '../../src/limits.js';
import { hashKey } from '../../src/server/py.js';
import { SyncManager } from '../../src/manager/sync-manager.js';
import { Reply, tracebackError } from '../../src/protocol/classic.js';
import { AUTHKEY, MiB, longTextOps, pickleRequestWithArg, rawClassicObject } from './support.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function startServer(): Promise<SyncManager> {
  const m = await new SyncManager(['127.0.0.1', 0], { authkey: AUTHKEY }).start();
  cleanup.push(() => m.shutdown());
  return m;
}

async function connect(m: SyncManager, serializer: 'msgpack' | 'pickle'): Promise<SyncManager> {
  const c = await new SyncManager(m.address, { authkey: AUTHKEY, serializer }).connect();
  cleanup.push(() => c.shutdown());
  return c;
}

/** An int of `bytes` bytes (all 0xab), as a bigint: 2.5 decimal digits a byte. */
function hugeInt(bytes: number): bigint {
  return BigInt(`0x${'ab'.repeat(bytes)}`);
}

describe('huge ints (issue #11, defect 3)', { timeout: 10_000 }, () => {
  it(`a LONG of ${DEFAULT_LIMITS.maxIntDigits} digits is read; one of 5000 gets DigitLimitError, and the connection goes on`, async () => {
    expect(DEFAULT_LIMITS.maxIntDigits).toBe(4300);
    const m = await startServer();
    const d = await m.dict();
    const raw = await rawClassicObject(m.address);
    raw.conn.sendBytes(pickleRequestWithArg(d.token.id, 'get', longTextOps(4300)));
    expect(await raw.recv()).toEqual([Reply.Return, null]);

    raw.conn.sendBytes(pickleRequestWithArg(d.token.id, 'get', longTextOps(5000)));
    const [kind, text] = await raw.recv();
    expect(kind).toBe(Reply.Traceback);
    const err = tracebackError(String(text));
    expect(err).toBeInstanceOf(DigitLimitError);
    expect(err.message).toMatch(/^an int of 5000 decimal digits exceeds the limit of 4300 /);

    raw.send(d.token.id, '__len__');
    expect(await raw.recv()).toEqual([Reply.Return, 0]);
  });

  it('a dict keyed by a 1 MiB binary int works from both dialects, as one key, hashed in hex', async () => {
    const big = hugeInt(MiB);
    // The dict's key for it: hex, linear in the int's size (decimal took the old server ~1.5 s per hash).
    const key = hashKey(big);
    expect(key.startsWith('x')).toBe(true);
    expect(key).toHaveLength(1 + 2 * MiB);
    expect(hashKey(-big)).toBe(`x-${key.slice(1)}`);
    // Python: 2**60 == 2.0**60, one dict key; a JS number beyond 2^53 must hash as the bigint does.
    expect(hashKey(2 ** 60)).toBe(hashKey(2n ** 60n));
    expect(hashKey(2n ** 53n - 1n)).toBe(hashKey(Number.MAX_SAFE_INTEGER));

    const m = await startServer();
    const native = await connect(m, 'msgpack');
    const classic = await connect(m, 'pickle');
    const d = await native.dict<bigint, string>();
    await d.set(big, 'native');
    expect(await d.get(big)).toBe('native');
    expect(await d.get(big + 1n)).toBeNull();
    // The same dict through the CPython dialect: the key arrives as a LONG4 pickle.
    const same = await classic.rebuild<typeof d>(d.toTransferable());
    expect(await same.get(big)).toBe('native');
    await same.set(big, 'classic');
    expect(await d.get(big)).toBe('classic');
    expect(await d.__len__()).toBe(1);
    // Ints beyond 2^53 sent as a JS number (a float on the wire) and as a bigint are one key, as in Python.
    await d.set(2n ** 60n, 'two to the sixty');
    expect(await (d as unknown as { get(k: number): Promise<string> }).get(2 ** 60)).toBe('two to the sixty');
    expect(await d.__len__()).toBe(2);
  });

  it('debug_info stays bounded with huge keys hosted: 75 characters per object, a huge int shown as a refused repr', async () => {
    const m = await startServer();
    const d = await m.dict<bigint | string, string>();
    await d.set(hugeInt(MiB), 'v');
    const text = await m.dict<string, string>();
    await text.set('long', 'y'.repeat(4 * MiB));
    const info = await m.debugInfo();
    const lines = info.split('\n');
    expect(lines).toHaveLength(4); // two lines per object
    const reprOf = (id: string) => lines[lines.findIndex((l) => l.startsWith(`  ${id}:`)) + 1]?.slice(4) ?? '';
    expect(reprOf(d.token.id)).toMatch(/^<repr failed: an int of \d+ decimal digits exceeds the limit of 4300 /);
    expect(reprOf(d.token.id).length).toBeLessThanOrEqual(75);
    expect(reprOf(text.token.id)).toBe(`{'long': '${'y'.repeat(75 - 10)}`);
  });

  it("a huge int's repr raises DigitLimitError in both dialects, as CPython raises ValueError", async () => {
    const m = await startServer();
    const d = await m.dict<bigint, number>();
    await d.set(hugeInt(MiB), 1);
    await expect(d.toString()).rejects.toBeInstanceOf(DigitLimitError);
    const classic = await connect(m, 'pickle');
    const same = await classic.rebuild<typeof d>(d.toTransferable());
    const err = await same.toString().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DigitLimitError);
    expect((err as DigitLimitError).remoteStack).toMatch(/DigitLimitError: an int of \d+ decimal digits/);
    // A small int next to it is fine, and the server goes on.
    const small = await m.dict<number, number>();
    await small.set(2 ** 40, 1);
    expect(await small.toString()).toBe('{1099511627776: 1}');
  });
});
