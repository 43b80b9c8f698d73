/**
 * `Namespace(**kwds)` against CPython's: attributes through `__getattribute__`/`__setattr__`/
 * `__delattr__` (AttributeError when missing), names starting with '_' stay on the proxy, and the repr
 * lists public attributes sorted: `Namespace(a=1, b='x')`.
 */
import { describe, expect, it } from 'vitest';
import { AttributeError } from '../../../src/python-errors.js';
import { connectClient, pyRaises, share, startManager } from './support.js';

describe('Namespace', () => {
  it('is created with attributes, read, written and deleted by name', async () => {
    const m = await startManager();
    const ns = await m.Namespace<{ name: string; job?: string; n?: number }>({ name: 'Bob', job: 'x' });
    expect(await ns.get('name')).toBe('Bob');
    await ns.set('n', 3);
    expect(await ns.attrs.n).toBe(3);
    await ns.delete('job');
    await pyRaises(ns.get('job'), AttributeError, "'Namespace' object has no attribute 'job'");
    await pyRaises(ns.delete('job'), AttributeError);
    expect(await ns.getValue()).toEqual({ name: 'Bob', n: 3 });
  });

  it('prints as CPython\'s: public attributes, sorted', async () => {
    const m = await startManager();
    const ns = await m.Namespace({ b: 'x', a: 1 });
    expect(await ns.toString()).toBe("Namespace(a=1, b='x')");
    await ns.callMethod('__setattr__', ['_hidden', 1]);
    expect(await ns.toString()).toBe("Namespace(a=1, b='x')");
    expect(await (await m.Namespace()).toString()).toBe('Namespace()');
  });

  it('never reaches the prototype: constructor and __proto__ are not attributes', async () => {
    const m = await startManager();
    const ns = await m.Namespace({ a: 1 });
    await pyRaises(ns.callMethod('__getattribute__', ['constructor']), AttributeError);
    await pyRaises(ns.callMethod('__getattribute__', ['toString']), AttributeError);
  });

  it('is shared between clients', async () => {
    const m = await startManager();
    const ns = await m.Namespace({ count: 0 });
    const theirs = await share(await connectClient(m), ns);
    await theirs.set('count', 5);
    expect(await ns.get('count')).toBe(5);
  });
});
