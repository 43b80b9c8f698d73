/**
 * The registry of typeids and CPython's exposure rules, without a socket: `public_methods` (callables not
 * starting with '_', sorted, never from Object.prototype), an explicit `exposed` list taken exactly, names
 * that reach the prototype machinery refused, subclass copies, and how callables are invoked.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, UnknownTypeidError } from '../../src/errors.js';
import { checkExposed, construct, publicMethods, Registry } from '../../src/server/registry.js';
import { Counter } from '../fixtures/referents.js';

class Base {
  shared(): number {
    return 1;
  }
  _hidden(): number {
    return 2;
  }
  get computed(): number {
    return 3;
  }
}
class Derived extends Base {
  own(): number {
    return 4;
  }
  data = 5;
  arrow = (): number => 6;
  _privateArrow = (): number => 7;
}

describe('publicMethods (CPython public_methods)', () => {
  it('lists callables not starting with _, sorted, own and inherited, never constructor', () => {
    expect(publicMethods(new Derived())).toEqual(['arrow', 'own', 'shared']);
    expect(publicMethods(new Counter())).toEqual(['crash', 'crashLater', 'fail', 'inc', 'throwString', 'value']);
  });

  it('never lists what every object inherits from Object, Array, Map, Set or Function', () => {
    expect(publicMethods({})).toEqual([]);
    expect(publicMethods(Object.create(null))).toEqual([]);
    expect(publicMethods([1, 2])).toEqual([]);
    expect(publicMethods(new Map())).toEqual([]);
    expect(publicMethods(new Set())).toEqual([]);
    expect(publicMethods({ f() {}, g: 1, _h() {} })).toEqual(['f']);
    expect(publicMethods(function named() {})).toEqual([]);
  });

  it('is empty for primitives and null', () => {
    for (const v of [null, undefined, 1, 'text', true, 10n]) expect(publicMethods(v)).toEqual([]);
  });
});

describe('checkExposed', () => {
  it('keeps the list exactly, in its order, frozen', () => {
    const list = checkExposed('T', ['b', '_a', '__getitem__']);
    expect(list).toEqual(['b', '_a', '__getitem__']);
    expect(Object.isFrozen(list)).toBe(true);
  });

  it.each(['constructor', '__proto__', 'prototype', '__defineGetter__', '__defineSetter__', '__lookupGetter__', '__lookupSetter__'])(
    'refuses to expose %s',
    (name) => {
      expect(() => checkExposed('T', ['ok', name])).toThrow(InvalidArgumentError);
      expect(() => checkExposed('T', ['ok', name])).toThrow(`'${name}' cannot be exposed (typeid 'T')`);
    },
  );

  it('refuses names that are not non-empty strings', () => {
    expect(() => checkExposed('T', [''])).toThrow(InvalidArgumentError);
    expect(() => checkExposed('T', [3 as unknown as string])).toThrow(InvalidArgumentError);
  });
});

describe('Registry', () => {
  it('registers entries with CPython defaults', () => {
    const r = new Registry();
    const e = r.register('Counter', Counter);
    expect(e).toMatchObject({ typeid: 'Counter', callable: Counter, exposed: null, proxytype: undefined, createMethod: true, pyProxytype: null });
    expect(Object.getPrototypeOf(e.methodToTypeid)).toBeNull();
    expect(Object.isFrozen(e)).toBe(true);
    expect(r.get('Counter')).toBe(e);
    expect(r.has('Counter')).toBe(true);
    expect([...r.entries()]).toEqual([e]);
  });

  it('keeps exposed, methodToTypeid, createMethod and pyProxytype as given', () => {
    const r = new Registry<string>();
    const e = r.register('dict', null, {
      exposed: ['__getitem__', 'keys'],
      methodToTypeid: { __iter__: 'Iterator' },
      createMethod: false,
      proxytype: 'DictProxyClass',
      pyProxytype: 'multiprocessing.managers.DictProxy',
    });
    expect(e.exposed).toEqual(['__getitem__', 'keys']);
    expect({ ...e.methodToTypeid }).toEqual({ __iter__: 'Iterator' });
    expect(e).toMatchObject({ callable: null, createMethod: false, proxytype: 'DictProxyClass', pyProxytype: 'multiprocessing.managers.DictProxy' });
  });

  it('a methodToTypeid named __proto__ stays a plain entry', () => {
    const r = new Registry();
    const e = r.register('T', null, { methodToTypeid: JSON.parse('{"__proto__": "Iterator"}') as Record<string, string> });
    expect(Object.getPrototypeOf(e.methodToTypeid)).toBeNull();
    expect(Object.keys(e.methodToTypeid)).toEqual(['__proto__']);
  });

  it('refuses a bad typeid, callable, exposed list or methodToTypeid', () => {
    const r = new Registry();
    expect(() => r.register('', Counter)).toThrow(InvalidArgumentError);
    expect(() => r.register('T', 42 as never)).toThrow(InvalidArgumentError);
    expect(() => r.register('T', Counter, { exposed: ['constructor'] })).toThrow(InvalidArgumentError);
    expect(() => r.register('T', Counter, { methodToTypeid: { f: 3 as unknown as string } })).toThrow(InvalidArgumentError);
    expect(r.has('T')).toBe(false);
  });

  it('names the typeid when it is unknown', () => {
    expect(() => new Registry().get('Nope')).toThrow(UnknownTypeidError);
    expect(() => new Registry().get('Nope')).toThrow(/'Nope' is not registered/);
  });

  it('clone() copies, so a subclass adds typeids without changing its parent', () => {
    const parent = new Registry();
    parent.register('A', Counter);
    const child = parent.clone();
    child.register('B', Counter);
    child.register('A', null);
    expect(parent.has('B')).toBe(false);
    expect(parent.get('A').callable).toBe(Counter);
    expect(child.get('A').callable).toBeNull();
  });
});

describe('construct', () => {
  it('calls classes with new and factories as functions', () => {
    const made = construct(Counter, [3]);
    expect(made).toBeInstanceOf(Counter);
    expect((made as Counter).n).toBe(3);
    expect(construct((a: number, b: number) => [a, b], [1, 2])).toEqual([1, 2]);
    expect(construct(function legacy(this: unknown, x: number) {
      return { x, isThisUndefined: this === undefined };
    }, [9])).toEqual({ x: 9, isThisUndefined: true });
  });
});
