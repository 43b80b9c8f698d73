/**
 * Which dialect a client speaks, learnt from the handshake (src/connection/auth.ts), against every
 * installed CPython: our manager with no `serializer` speaks pickle to a stock `SyncManager` server by
 * itself (a dict and a Queue work; 3.11 sends the legacy 20-byte MD5 challenge, 3.12+ `{sha256}`), and
 * `serializer: 'msgpack'` fails at once with one clear line; CPython's own `answer_challenge` and `Client`
 * accept the challenge our marked `Listener` sends, and tell us they are not mpmanager.
 */
import { describe, expect, it } from 'vitest';
import { Listener } from '../../src/connection/index.js';
import { CHALLENGE, MPM_MARK } from '../../src/connection/auth.js';
import { InvalidArgumentError } from '../../src/errors.js';
import { SyncManager } from '../../src/manager/sync-manager.js';
import { ClassicClient } from '../../src/protocol/classic-client.js';
import { formatAddress, type Address } from '../../src/transport/address.js';
import { pythonVersions, type PythonVersion } from '../support/python.js';
import { AUTHKEY, PY_PRELUDE, TIMEOUT, addressArg, finish, onCleanup, python } from './helpers.js';

/** A stock SyncManager server that prints its address, then serves. */
const PY_SYNC_SERVER = `${PY_PRELUDE}
from multiprocessing.managers import SyncManager
m = SyncManager(addr(sys.argv[1]), authkey=sys.argv[2].encode())
server = m.get_server()
out(json.dumps(server.address))
server.serve_forever()
`;

/**
 * CPython's own `answer_challenge` and `deliver_challenge` (the client side of its `Client()`) against
 * our Listener; prints the challenge frame it was sent, in hex, once both succeeded.
 */
const PY_HANDSHAKE = `${PY_PRELUDE}
import socket
from multiprocessing.connection import Connection, answer_challenge, deliver_challenge
s = socket.create_connection(addr(sys.argv[1]))
c = Connection(s.detach())
frames = []
recv_bytes = c.recv_bytes
def logged(maxlength=None):
    b = recv_bytes(maxlength)
    frames.append(b)
    return b
c.recv_bytes = logged
key = sys.argv[2].encode()
answer_challenge(c, key)
deliver_challenge(c, key)
c.send_bytes(b'done')
out(frames[0].hex())
c.close()
`;

async function startSyncServer(py: PythonVersion): Promise<{ address: Address; stderr: () => Promise<string> }> {
  const run = python(py, PY_SYNC_SERVER, [addressArg(['127.0.0.1', 0]), AUTHKEY]);
  const address = JSON.parse(await run.nextLine()) as Address;
  return {
    address,
    stderr: async () => {
      run.kill();
      return (await run.exit()).stderr;
    },
  };
}

describe.each(pythonVersions())('the dialect, learnt from the handshake, against CPython $version', (py) => {
  it.skipIf(!py.available)('our SyncManager with no serializer speaks pickle to a stock SyncManager server by itself', { timeout: TIMEOUT }, async () => {
    const server = await startSyncServer(py);
    const m = new SyncManager(server.address, { authkey: AUTHKEY });
    await m.connect();
    onCleanup(() => m.shutdown());
    expect(m.client).toBeInstanceOf(ClassicClient);

    const d = await m.dict<string, unknown>({ a: 1 });
    await d.set('b', [1, 2]);
    expect(await d.getValue()).toEqual({ a: 1, b: [1, 2] });
    const q = await m.Queue<string>();
    await q.put('job');
    expect(await q.qsize()).toBe(1);
    expect(await q.get()).toBe('job');
    await m.shutdown();
    // The probe connection closed right after its handshake: CPython's server said nothing about it.
    expect(await server.stderr()).not.toMatch(/Traceback|Error/);
  });

  it.skipIf(!py.available)("serializer: 'msgpack' fails at once with one line naming pickle; the server keeps serving", { timeout: TIMEOUT }, async () => {
    const server = await startSyncServer(py);
    const m = new SyncManager(server.address, { authkey: AUTHKEY, serializer: 'msgpack' });
    const err = await m.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toBe(
      `the server at ${formatAddress(server.address)} is a CPython manager: it speaks pickle; pass serializer: 'pickle' (or leave serializer unset)`,
    );
    const again = new SyncManager(server.address, { authkey: AUTHKEY, serializer: 'pickle' });
    await again.connect();
    onCleanup(() => again.shutdown());
    expect(await (await again.list([1])).getValue()).toEqual([1]);
    await again.shutdown();
    expect(await server.stderr()).not.toMatch(/Traceback|Error/);
  });

  it.skipIf(!py.available)("CPython's answer_challenge takes our marked challenge, and our side sees a CPython peer", { timeout: TIMEOUT }, async () => {
    const listener = await Listener.listen(['127.0.0.1', 0], { authkey: AUTHKEY });
    onCleanup(() => listener.close());
    const run = python(py, PY_HANDSHAKE, [addressArg(listener.address), AUTHKEY]);
    const conn = await listener.accept();
    onCleanup(() => conn.close());
    expect(conn.peer).toBe('cpython');
    expect((await conn.recvBytes()).toString()).toBe('done');
    const [challenge] = await finish(run);
    const sent = Buffer.from(challenge ?? '', 'hex');
    expect(sent).toHaveLength(59);
    expect(sent.subarray(0, 19).toString('latin1')).toBe(`${Buffer.from(CHALLENGE).toString('latin1')}{sha256}`);
    expect(sent.subarray(19, 27)).toEqual(MPM_MARK);
  });
});
