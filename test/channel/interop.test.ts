/**
 * Stock CPython peers, which cannot encrypt, and the encryption policies, every installed version (a
 * missing one shows as skipped, as in test/interop):
 *
 * - a CPython SyncManager client against our manager server: 'off' and 'prefer' serve it (a dict round
 *   trip), 'require' answers its first request with a RemoteError saying the server requires an
 *   encrypted channel; the server goes on serving an mpmanager client, encrypted unless it is 'off';
 * - a CPython `multiprocessing.connection.Client` against a 'require' Listener: the connection closes
 *   after the handshake, and Python sees EOFError (or a ConnectionError), not a hang; 'prefer' serves it;
 * - our Client and SyncManager against a CPython Listener and manager: 'require' refuses them with
 *   ChannelError 'policy' (a stock peer cannot encrypt), 'prefer' connects in clear.
 */
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { EncryptionPolicy } from '../../src/channel/index.js';
import { Client, Listener } from '../../src/connection/index.js';
import { SyncManager } from '../../src/manager/sync-manager.js';
import type { Address } from '../../src/transport/address.js';
import { pythonVersions } from '../support/python.js';
import { PY_PRELUDE, TIMEOUT, addressArg, finish, onCleanup, python, socketPath } from '../interop/helpers.js';
import { AUTHKEY, expectChannelError, marker, nextBytes, rejection, within } from './support.js';

/** A stock SyncManager client: connect, then a dict round trip. argv: address, authkey, value. */
const PY_MANAGER_CLIENT = `${PY_PRELUDE}
from multiprocessing.managers import SyncManager, RemoteError
m = SyncManager(addr(sys.argv[1]), authkey=sys.argv[2].encode())
try:
    m.connect()
except RemoteError as e:
    out('RemoteError')
    out(json.dumps(str(e)))
    sys.exit(0)
d = m.dict()
d['key'] = sys.argv[3]
out('got', d['key'])
`;

/** A stock Client: the handshake, then wait (bounded) for what comes. argv: address, authkey, mode. */
const PY_CLIENT = `${PY_PRELUDE}
from multiprocessing.connection import Client
try:
    c = Client(addr(sys.argv[1]), authkey=sys.argv[2].encode())
except (EOFError, ConnectionError) as e:
    out('closed during the handshake', type(e).__name__)
    sys.exit(0)
if sys.argv[3] == 'exchange':
    c.send_bytes(b'from python')
    out(c.recv_bytes().decode())
    c.close()
    sys.exit(0)
if not c.poll(20):
    out('nothing within 20 s')
    sys.exit(0)
try:
    c.recv_bytes()
    out('data')
except EOFError:
    out('EOFError')
except ConnectionError as e:
    out('ConnectionError', type(e).__name__)
`;

/** A stock Listener: prints its address, then serves two clients. */
const PY_LISTENER = `${PY_PRELUDE}
from multiprocessing.connection import Listener
l = Listener(('127.0.0.1', 0), authkey=sys.argv[1].encode())
out(json.dumps(list(l.address)))
for n in ('first', 'second'):
    c = l.accept()
    try:
        m = c.recv_bytes()
        c.send_bytes(b'echo:' + m)
        c.recv_bytes()
        out(n, 'data after the echo')
    except EOFError:
        out(n, 'EOFError')
    c.close()
l.close()
`;

/** A stock manager server: prints its address, serves until killed. */
const PY_MANAGER_SERVER = `${PY_PRELUDE}
from multiprocessing.managers import SyncManager
s = SyncManager(address=('127.0.0.1', 0), authkey=sys.argv[1].encode()).get_server()
out(json.dumps(list(s.address)))
s.serve_forever()
`;

async function serve(address: Address, encryption: EncryptionPolicy): Promise<Address> {
  const server = await new SyncManager(address, { authkey: AUTHKEY, encryption }).getServer();
  void server.serveForever();
  onCleanup(() => server.shutdown());
  return server.address;
}

/** An mpmanager client that asks for encryption: a dict round trip; returns its encryption. */
async function mpmanagerRoundTrip(address: Address): Promise<string | null> {
  const m = await within(new SyncManager(address, { authkey: AUTHKEY, encryption: 'prefer' }).connect(), 'an mpmanager connect');
  onCleanup(() => m.shutdown());
  const d = await m.dict<string, string>();
  const value = marker('node');
  await d.set('k', value);
  expect(await d.get('k')).toBe(value);
  return m.client.encryption;
}

describe.each(pythonVersions())('CPython $version', (py) => {
  describe.each([
    { name: 'TCP', address: (): Address => ['127.0.0.1', 0] },
    { name: 'a Unix socket', address: socketPath },
  ])('SyncManager client against our manager server over $name', ({ address }) => {
    it.skipIf(!py.available).each(['off', 'prefer'] as const)("%s: serves it in clear (a dict round trip)", { timeout: TIMEOUT }, async (policy) => {
      const at = await serve(address(), policy);
      const value = marker('python');
      expect(await finish(python(py, PY_MANAGER_CLIENT, [addressArg(at), AUTHKEY, value]))).toEqual([`got ${value}`]);
      expect(await mpmanagerRoundTrip(at)).toBe(policy === 'off' ? null : 'aes-256-gcm');
    });

    it.skipIf(!py.available)("require: m.connect() raises RemoteError saying the server requires an encrypted channel; the server goes on", { timeout: TIMEOUT }, async () => {
      const at = await serve(address(), 'require');
      const lines = await finish(python(py, PY_MANAGER_CLIENT, [addressArg(at), AUTHKEY, 'unused']));
      expect(lines[0]).toBe('RemoteError');
      const text = JSON.parse(lines[1] ?? '""') as string;
      expect(text).toContain('this server requires an encrypted channel');
      expect(text).toContain('a stock CPython client cannot encrypt');
      expect(await mpmanagerRoundTrip(at)).toBe('aes-256-gcm');
      // And again: one refusal does not stop it refusing the next.
      const again = await finish(python(py, PY_MANAGER_CLIENT, [addressArg(at), AUTHKEY, 'unused']));
      expect(again[0]).toBe('RemoteError');
    });
  });

  it.skipIf(!py.available)('Client against a require Listener: the connection closes after the handshake, and Python sees it', { timeout: TIMEOUT }, async () => {
    const listener = await Listener.listen(['127.0.0.1', 0], { authkey: AUTHKEY, encryption: 'require' });
    onCleanup(() => listener.close());
    const refused = once(listener, 'handshakeError');
    const lines = await finish(python(py, PY_CLIENT, [addressArg(listener.address), AUTHKEY, 'wait']));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^(EOFError|ConnectionError \w+|closed during the handshake \w+)$/);
    const [err] = (await within(refused, 'the handshakeError')) as [Error];
    expectChannelError(err, 'policy');
    expect(err.message).toMatch(/a stock CPython client connected, which cannot encrypt, and this listener requires encryption/);
    // An mpmanager client that encrypts is served.
    const [client, server] = await within(Promise.all([Client(listener.address, { authkey: AUTHKEY, encryption: 'prefer' }), listener.accept()]), 'an mpmanager client');
    onCleanup(() => client.close());
    onCleanup(() => server.close());
    expect(server.encryption).toBe('aes-256-gcm');
  });

  it.skipIf(!py.available)('Client against a prefer Listener: served in clear', { timeout: TIMEOUT }, async () => {
    const listener = await Listener.listen(['127.0.0.1', 0], { authkey: AUTHKEY, encryption: 'prefer' });
    onCleanup(() => listener.close());
    const run = python(py, PY_CLIENT, [addressArg(listener.address), AUTHKEY, 'exchange']);
    const conn = await within(listener.accept(), 'the Python client');
    onCleanup(() => conn.close());
    expect([conn.peer, conn.encryption]).toEqual(['cpython', null]);
    expect((await nextBytes(conn)).toString()).toBe('from python');
    conn.sendBytes(Buffer.from('from node'));
    expect(await finish(run)).toEqual(['from node']);
  });

  it.skipIf(!py.available)("our Client against a stock Listener: 'require' refuses it, 'prefer' connects in clear", { timeout: TIMEOUT }, async () => {
    const run = python(py, PY_LISTENER, [AUTHKEY]);
    const at = JSON.parse(await run.nextLine()) as Address;
    const err = expectChannelError(await rejection(Client(at, { authkey: AUTHKEY, encryption: 'require' }), 'a require client'), 'policy');
    expect(err.message).toMatch(/is a stock CPython peer, which cannot encrypt, and this client requires encryption/);
    const conn = await within(Client(at, { authkey: AUTHKEY, encryption: 'prefer' }), 'a prefer client');
    expect([conn.peer, conn.encryption]).toEqual(['cpython', null]);
    conn.sendBytes(Buffer.from('hi'));
    expect((await nextBytes(conn)).toString()).toBe('echo:hi');
    conn.close();
    expect(await finish(run)).toEqual(['first EOFError', 'second EOFError']);
  });

  it.skipIf(!py.available)("our SyncManager against a stock manager server: 'require' refuses it, 'prefer' connects in clear", { timeout: TIMEOUT }, async () => {
    const run = python(py, PY_MANAGER_SERVER, [AUTHKEY]);
    const at = JSON.parse(await run.nextLine()) as Address;
    const strict = new SyncManager(at, { authkey: AUTHKEY, encryption: 'require' });
    expectChannelError(await rejection(strict.connect(), 'a require manager'), 'policy');
    expect(await mpmanagerRoundTrip(at)).toBeNull();
  });
});
