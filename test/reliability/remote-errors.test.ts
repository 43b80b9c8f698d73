/**
 * Issue #11, defect 6: errors of mpmanager's own classes lost their class across the wire; a refused
 * remote shutdown reached a Node client as a `RemoteError` whose `remoteType` was 'ShutdownRefusedError'.
 * Now an error the server raises with one of mpmanager's classes arrives as that class (`instanceof`,
 * its `code`), with the server's stack or traceback in `remoteStack`: over the native dialect (msgpack
 * ext 2) and over CPython's (the `#TRACEBACK` text's last line names it), here both against our server.
 * Python's own exceptions and foreign error names are unchanged (RemoteError), which is checked too.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MpmError, NotExposedError, RemoteError, ShutdownRefusedError, UnknownObjectError, UnknownTypeidError } from '../../src/errors.js';
import { SyncManager } from '../../src/manager/sync-manager.js';
import { AUTHKEY } from './support.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

class Thrower {
  foreign(): never {
    class NotOurs extends Error {
      override name = 'NotOurs';
    }
    throw new NotOurs('a class mpmanager does not know');
  }
}

describe.each(['msgpack', 'pickle'] as const)("mpmanager's error classes across the wire (issue #11, defect 6), serializer '%s'", (serializer) => {
  async function setUp() {
    const server = await new SyncManager(['127.0.0.1', 0], { authkey: AUTHKEY }).register('Thrower', Thrower).start();
    cleanup.push(() => server.shutdown());
    const client = await new SyncManager(server.address, { authkey: AUTHKEY, serializer }).connect();
    cleanup.push(() => client.shutdown());
    return { server, client };
  }

  /** The server's side of the story: a stack trace (native) or a Python traceback (classic). */
  const remoteStackOf = (name: string) => (serializer === 'msgpack' ? new RegExp(`^${name}: [^\\n]+\\n\\s+at `) : new RegExp(`^Traceback \\(most recent call last\\):\\n[\\s\\S]*\\n${name}: `));

  it('a refused remote shutdown arrives as ShutdownRefusedError, with the remote stack; the server keeps serving', async () => {
    const { server, client } = await setUp();
    const err = await client.client.call(null, 'shutdown').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ShutdownRefusedError);
    expect(err).not.toBeInstanceOf(RemoteError);
    expect(err).toMatchObject({ name: 'ShutdownRefusedError', code: 'MPM_ERR_SHUTDOWN_REFUSED', message: expect.stringMatching(/^remote shutdown refused/) });
    expect((err as MpmError).remoteStack).toMatch(remoteStackOf('ShutdownRefusedError'));
    expect(await server.numberOfObjects()).toBe(0);
    expect(await (await client.dict()).__len__()).toBe(0);
  });

  it('other mpmanager errors keep their class too; foreign ones stay RemoteError', async () => {
    const { client } = await setUp();
    const unknownObject = await client.client.call('ffffffffffff', 'get', ['k']).catch((e: unknown) => e);
    expect(unknownObject).toBeInstanceOf(UnknownObjectError);
    expect((unknownObject as MpmError).remoteStack).toMatch(remoteStackOf('UnknownObjectError'));
    await expect(client.create('NoSuchTypeid')).rejects.toBeInstanceOf(UnknownTypeidError);
    const d = await client.dict();
    await expect(client.client.call(d.token.id, 'no_such_method')).rejects.toBeInstanceOf(NotExposedError);
    const t = await client.create('Thrower');
    const foreign = await t.callMethod('foreign').catch((e: unknown) => e);
    expect(foreign).toBeInstanceOf(RemoteError);
    expect(foreign).toMatchObject({ remoteType: 'NotOurs', remoteMessage: 'a class mpmanager does not know' });
  });
});
