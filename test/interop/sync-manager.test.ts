/**
 * A stock CPython `SyncManager` client against our `SyncManager` server, every installed version:
 * every typeid (Python's timeouts, exceptions caught by class, iteration over a dict, a Queue proxy
 * stored in a dict and read back, `str(proxy)` of each type, several forked Python processes incrementing
 * a `Value` under a `Lock` to an exact total) through `fixtures/sync_client.py`, which runs unchanged
 * against a stock CPython server; `_getvalue()` copies as CPython's classes; a Unix socket; a wrong key.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SyncManager } from '../../src/manager/sync-manager.js';
import { Value } from '../../src/manager/sync/index.js';
import { PICKLE_REDUCE } from '../../src/codec/pickle/index.js';
import type { Address } from '../../src/transport/address.js';
import { pythonVersions, type PythonVersion } from '../support/python.js';
import { AUTHKEY, PY_PRELUDE, TIMEOUT, addressArg, finish, onCleanup, python, socketPath } from './helpers.js';

const SYNC_CLIENT = readFileSync(new URL('./fixtures/sync_client.py', import.meta.url), 'utf8');

/**
 * The fixture's sections, in groups run as concurrent Python processes: the time goes into waiting
 * (CPython's client opens a TCP connection per create/incref/decref and its Nagle holds each first
 * request ~40 ms), not into CPU.
 */
const GROUPS: ReadonlyArray<readonly string[]> = [
  ['dict', 'list', 'nested'],
  ['queue', 'event', 'locks', 'str'],
  ['condition', 'barrier', 'value', 'array', 'namespace', 'pool'],
  ['processes'],
];

/** Whether the built-in referents carry their Python form for `_getvalue()` (see encode.ts PICKLE_REDUCE). */
const REFERENTS_PICKLE_AS_PYTHON = PICKLE_REDUCE in Value.prototype;

async function serve(address: Address): Promise<Address> {
  const manager = new SyncManager(address, { authkey: AUTHKEY });
  const server = await manager.getServer();
  void server.serveForever();
  onCleanup(() => server.shutdown());
  return server.address;
}

/** Runs the fixture's sections (each group in its own process, all at once); resolves with every line. */
async function runSections(py: PythonVersion, address: Address, groups: ReadonlyArray<readonly string[]>): Promise<string[]> {
  const runs = groups.map((sections) => python(py, SYNC_CLIENT, [addressArg(address), AUTHKEY, ...sections]));
  return (await Promise.all(runs.map(finish))).flat();
}

function oks(groups: ReadonlyArray<readonly string[]>): string[] {
  return groups.flat().map((s) => `ok ${s}`);
}

const PY_WRONG_KEY = `${PY_PRELUDE}
from multiprocessing import AuthenticationError
from multiprocessing.managers import SyncManager
m = SyncManager(addr(sys.argv[1]), authkey=b'not-the-key')
try:
    m.connect()
    out('connected')
except AuthenticationError as e:
    out('AuthenticationError', e)
`;

describe.each(pythonVersions())('CPython $version SyncManager client against our SyncManager', (py) => {
  it.skipIf(!py.available)('every typeid over TCP', { timeout: TIMEOUT }, async () => {
    const address = await serve(['127.0.0.1', 0]);
    const lines = await runSections(py, address, GROUPS);
    // Pool runs Python functions: our server does not provide it, and the client gets a RemoteError.
    expect(lines).toContain('pool: not served');
    expect(lines.filter((l) => !l.startsWith('pool:')).sort()).toEqual(oks(GROUPS).sort());
  });

  it.skipIf(!py.available || !REFERENTS_PICKLE_AS_PYTHON)("_getvalue() gives CPython's Value, array.array and Namespace", { timeout: TIMEOUT }, async () => {
    const address = await serve(['127.0.0.1', 0]);
    expect(await runSections(py, address, [['getvalue']])).toEqual(['ok getvalue']);
  });

  it.skipIf(!py.available)('over a Unix socket', { timeout: TIMEOUT }, async () => {
    const address = await serve(socketPath());
    const groups = [['dict', 'nested'], ['queue', 'locks']];
    expect((await runSections(py, address, groups)).sort()).toEqual(oks(groups).sort());
  });

  it.skipIf(!py.available)('a wrong authkey raises AuthenticationError in Python', { timeout: TIMEOUT }, async () => {
    const address = await serve(['127.0.0.1', 0]);
    const lines = await finish(python(py, PY_WRONG_KEY, [addressArg(address)]));
    expect(lines).toEqual([expect.stringMatching(/^AuthenticationError digest sent was rejected/)]);
  });
});
