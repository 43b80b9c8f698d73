/**
 * `NamespaceProxy`: attributes through `__getattribute__`/`__setattr__`/`__delattr__`, names starting
 * with '_' kept local as in Python, `attrs` for reads written as properties, and a subclass with one
 * more exposed method (the `ResultQueueProxy` of reference program 3).
 */
import { afterEach, beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import { BaseManager } from '../../src/manager/base-manager.js';
import { NotExposedError } from '../../src/errors.js';
import { AttributeError } from '../../src/python-errors.js';
import { NamespaceProxy } from '../../proxies/namespace-proxy.js';
import { Settings } from '../fixtures/referents.js';

/** Reference program 3's server-side object: a namespace plus `set_channel`. */
class Channels {
  [key: string]: unknown;
  set_channel(id: string): Record<string, unknown> {
    if (this[id] !== undefined) return { result: false, message: `[Error] Please give me another channel id, not ${id}` };
    this[id] = [];
    return { result: true, message: `[Notice] Successfully channel ${id} added` };
  }
}

class ResultQueueProxy extends NamespaceProxy {
  static override readonly exposed = Object.freeze([...NamespaceProxy.exposed, 'set_channel']);
  setChannel(id: string): Promise<{ result: boolean; message: string }> {
    return this.callMethod('set_channel', [id]);
  }
}

function makeManager() {
  return new BaseManager(['127.0.0.1', 0], { authkey: 'namespace-key' })
    .register('Namespace', Settings, { proxytype: NamespaceProxy<{ name: string; job: string; n: number }> })
    .register('SetResultQueue', Channels, { proxytype: ResultQueueProxy });
}
let m: Awaited<ReturnType<ReturnType<typeof makeManager>['start']>>;
beforeEach(async () => {
  m = await makeManager().start();
});
afterEach(async () => {
  await m.shutdown();
});

describe('NamespaceProxy', () => {
  it('reads, writes and deletes attributes on the server', async () => {
    const ns = await m.Namespace({ name: 'Bob' });
    expect(ns).toBeInstanceOf(NamespaceProxy);
    expect(ns.exposed).toEqual(['__getattribute__', '__setattr__', '__delattr__']);
    expect(await ns.get('name')).toBe('Bob');
    await ns.set('job', 'builder');
    expect(await ns.get('job')).toBe('builder');
    await ns.delete('name');
    await expect(ns.get('name')).rejects.toThrow(AttributeError);
    await expect(ns.get('name')).rejects.toThrow("AttributeError: 'Settings' object has no attribute 'name'");
    await expect(ns.delete('name')).rejects.toThrow(AttributeError);
    expect(await ns.getValue()).toEqual({ job: 'builder' });
  });

  it('attrs reads attributes as properties; it is read-only and never thenable', async () => {
    const ns = await m.Namespace({ name: 'Ann', n: 3 });
    expect(await ns.attrs.name).toBe('Ann');
    expect(await ns.attrs.n).toBe(3);
    expectTypeOf<typeof ns.attrs.n>().toEqualTypeOf<Promise<number>>();
    expect((ns.attrs as unknown as { then?: unknown }).then).toBeUndefined();
    expect(await Promise.resolve(ns.attrs)).toBe(ns.attrs);
    expect(() => {
      (ns.attrs as unknown as Record<string, unknown>).name = 'x';
    }).toThrow(/read-only/);
  });

  it('keeps names starting with _ local, as Python does: nothing is sent', async () => {
    const ns = await m.Namespace({ _hidden: 1 } as never);
    const name = '_hidden' as 'name';
    const get = ns.get(name); // a rejection, never a synchronous throw
    await expect(get).rejects.toThrow(AttributeError);
    await expect(ns.set(name, 'x')).rejects.toThrow(/starts with '_'/);
    await expect(ns.delete(name)).rejects.toThrow(AttributeError);
    await expect(ns.attrs[name]).rejects.toThrow(AttributeError);
    expect(await ns.getValue()).toEqual({ _hidden: 1 }); // untouched on the server
  });

  it('cannot reach the prototype of the referent', async () => {
    const ns = await m.Namespace({});
    for (const name of ['constructor', '__proto__', 'toString'] as const) {
      await expect(ns.callMethod('__getattribute__', [name])).rejects.toThrow(AttributeError);
    }
    await ns.callMethod('__setattr__', ['__proto__', { polluted: true }]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(await ns.callMethod('__getattribute__', ['__proto__'])).toEqual({ polluted: true });
  });

  it('a subclass with one more exposed method (reference program 3)', async () => {
    const q = await m.SetResultQueue();
    expect(q).toBeInstanceOf(ResultQueueProxy);
    expect(q.exposed).toEqual(['__getattribute__', '__setattr__', '__delattr__', 'set_channel']);
    expect(await q.setChannel('ch1')).toEqual({ result: true, message: '[Notice] Successfully channel ch1 added' });
    expect(await q.setChannel('ch1')).toMatchObject({ result: false });
    expect(await q.get('ch1')).toEqual([]);
    await expect(q.callMethod('other')).rejects.toThrow(NotExposedError);
  });
});
