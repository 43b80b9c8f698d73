/**
 * `BaseProxy`: exposure checked before anything is sent, CPython's fallbacks always allowed, `release()`
 * (idempotent, and what comes after it), `using` / `await using`, the string forms, plain-data transfer
 * without the authkey, a closed connection, and the FinalizationRegistry backstop (in a child process
 * run with `--expose-gc`).
 */
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BaseManager } from '../../src/manager/base-manager.js';
import { ConnectionClosedError, NotExposedError } from '../../src/errors.js';
import { ObjectRef } from '../../src/codec/ref.js';
import { Token } from '../../src/codec/token.js';
import type { NativeClient } from '../../src/protocol/native-client.js';
import { BaseProxy, isConnected } from '../../proxies/base-proxy.js';
import { IteratorProxy } from '../../proxies/iterator-proxy.js';
import { Counter } from '../fixtures/referents.js';
import { killAll, run } from '../fixtures/processes.js';

const AUTHKEY = 'base-proxy-key';

function makeManager() {
  return new BaseManager(['127.0.0.1', 0], { authkey: AUTHKEY }).register('Counter', Counter).register('Value', null);
}
let m: Awaited<ReturnType<ReturnType<typeof makeManager>['start']>>;
beforeEach(async () => {
  m = await makeManager().start();
});
afterEach(async () => {
  killAll();
  await m.shutdown();
});

/** Calls the manager's connection has in flight. */
const inFlight = () => (m.client as NativeClient).pendingCalls;

describe('BaseProxy', () => {
  it('refuses a method outside its exposed list before sending anything', async () => {
    const c = await m.Counter();
    const refused = c.callMethod('_secret');
    expect(inFlight()).toBe(0);
    await expect(refused).rejects.toThrow(NotExposedError);
    await expect(refused).rejects.toThrow(/method '_secret' of 'Counter' is not exposed; exposed methods are: crash, crashLater, fail, inc/);
  });

  it('always allows the fallbacks __str__, __repr__ and #GETVALUE; toString() and repr() are the remote repr', async () => {
    const v = await m.create('Value', [1, 'a', null]);
    expect(v.exposed).toEqual([]);
    expect(await v.callMethod('__str__')).toBe("[1, 'a', None]");
    expect(await v.repr()).toBe("[1, 'a', None]");
    expect(await v.toString()).toBe("[1, 'a', None]");
    expect(await v.getValue()).toEqual([1, 'a', null]);
    expect(await v.getValue({ timeout: 30 })).toEqual([1, 'a', null]);
  });

  it('shows its type, typeid and id locally (console.log, inspect)', async () => {
    const c = await m.Counter();
    expect(inspect(c)).toBe(`<AutoProxy[Counter] object, typeid 'Counter' at ${c.token.id}>`);
    expect(c.token).toBeInstanceOf(Token);
    expect(String(c.token)).toMatch(/^Token\(typeid='Counter', address=127\.0\.0\.1:\d+, id='[0-9a-f]+'\)$/);
  });

  it('release() gives the reference back once; later calls reject; isConnected tells', async () => {
    const c = await m.Counter();
    expect(isConnected(c)).toBe(true);
    c.release();
    c.release();
    expect(c.released).toBe(true);
    expect(isConnected(c)).toBe(false);
    expect(await m.numberOfObjects()).toBe(0);
    await expect(c.callMethod('inc')).rejects.toThrow(ConnectionClosedError);
    await expect(c.callMethod('inc')).rejects.toThrow('this Counter proxy was released');
  });

  it('using and await using release at the end of the scope', async () => {
    {
      using a = await m.Counter();
      await using b = await m.Counter();
      expect(await a.inc()).toBe(1);
      expect(await b.inc()).toBe(1);
      expect(await m.numberOfObjects()).toBe(2);
    }
    expect(await m.numberOfObjects()).toBe(0);
  });

  it('toTransferable() is plain data (structured-clonable) without the authkey; toObjectRef() carries the same', async () => {
    const c = await m.Counter();
    const data = c.toTransferable();
    expect(data).toEqual({ typeid: 'Counter', address: m.address, id: c.token.id, exposed: c.exposed, proxytype: null });
    expect(structuredClone(data)).toEqual(data);
    expect(JSON.stringify(data)).not.toContain(AUTHKEY);
    expect(JSON.stringify(data)).not.toContain(m.authkey.toString('hex'));
    const ref = c.toObjectRef();
    expect(ref).toBeInstanceOf(ObjectRef);
    expect(ref.token).toBe(c.token);
    expect(ref.exposed).toEqual(c.exposed);
  });

  it('takes its exposed list from the reference, else from its class; its CPython proxy type from its class', () => {
    const token = new Token('Iterator', ['127.0.0.1', 1], 'abc');
    const fromClass = new IteratorProxy(m.client, new ObjectRef(token, null));
    expect(fromClass.exposed).toEqual(['__next__', 'send', 'throw', 'close']);
    expect(fromClass.toObjectRef().proxytype).toBe('multiprocessing.managers.IteratorProxy');
    expect(fromClass.toTransferable().proxytype).toBe('multiprocessing.managers.IteratorProxy');
    const fromRef = new IteratorProxy(m.client, new ObjectRef(token, ['__next__'], 'custom.Proxy'));
    expect(fromRef.exposed).toEqual(['__next__']);
    expect(fromRef.toObjectRef().proxytype).toBe('custom.Proxy');
    const bare = new BaseProxy(m.client, new ObjectRef(token, null));
    expect(bare.exposed).toEqual([]);
    for (const p of [fromClass, fromRef, bare]) p.release(); // not held by this connection: the server ignores it
  });

  it('rejects with ConnectionClosedError once its connection is gone', async () => {
    const c = await m.Counter();
    await m.shutdown();
    expect(isConnected(c)).toBe(false);
    await expect(c.callMethod('inc')).rejects.toThrow(ConnectionClosedError);
    c.release(); // harmless after the connection closed
  });
});

describe('the FinalizationRegistry backstop', () => {
  it('releases an unreachable proxy, and a reference dropped by a hosted value, after gc() (child process with --expose-gc)', async () => {
    const child = run('test/fixtures/gc-backstop.ts', [], { nodeArgs: ['--expose-gc'] });
    const line = await child.line(/^\{/);
    expect(JSON.parse(line)).toEqual({ proxyReleased: true, keptAlive: true, nestedReleased: true, keptWorks: true });
    expect(await child.exit()).toBe(0);
  });
});
