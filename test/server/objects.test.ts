/**
 * The object table and Python repr, without a socket: opaque ids never reused, refcounts that drop an
 * object at zero, and the `repr()` the `__repr__`/`__str__` fallbacks return.
 */
import { describe, expect, it } from 'vitest';
import { Tuple } from '../../src/codec/values.js';
import { UnknownObjectError } from '../../src/errors.js';
import { ObjectTable, type HostedObject } from '../../src/server/objects.js';
import { pyRepr, PY_REPR } from '../../src/python-repr.js';
import { Counter } from '../fixtures/referents.js';

const none = Object.create(null) as Record<string, string>;

describe('ObjectTable', () => {
  it('gives every object a fresh lowercase-hex id, never reused after a drop', () => {
    const table = new ObjectTable();
    const ids = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const obj = table.add('T', {}, [], none);
      expect(obj.id).toMatch(/^[0-9a-f]{12,}$/);
      ids.add(obj.id);
      table.incref(obj.id);
      table.decref(obj.id);
    }
    expect(ids.size).toBe(50);
    expect(table.size).toBe(0);
  });

  it('counts references and drops an object at zero, telling onDrop', () => {
    const table = new ObjectTable();
    const dropped: HostedObject[] = [];
    table.onDrop = (obj) => dropped.push(obj);
    const referent = new Counter();
    const obj = table.add('Counter', referent, ['inc'], none);
    expect(obj.refcount).toBe(0);
    table.incref(obj.id, 3);
    table.decref(obj.id);
    expect(table.find(obj.id)?.refcount).toBe(2);
    table.decref(obj.id, 2);
    expect(table.find(obj.id)).toBeUndefined();
    expect(dropped.map((o) => o.referent)).toEqual([referent]);
    table.decref(obj.id); // already gone: ignored
    expect(() => table.incref(obj.id)).toThrow(UnknownObjectError);
    expect(() => table.get('nope')).toThrow("no object with id 'nope'");
  });

  it('keeps the exposed list in order and a set for lookups', () => {
    const obj = new ObjectTable().add('T', {}, ['b', 'a', 'b'], none);
    expect(obj.exposedList).toEqual(['b', 'a', 'b']);
    expect(obj.exposed.has('a')).toBe(true);
    expect(obj.exposed.has('constructor')).toBe(false);
  });
});

describe('pyRepr', () => {
  it.each<[unknown, string]>([
    [null, 'None'],
    [undefined, 'None'],
    [true, 'True'],
    [false, 'False'],
    [3, '3'],
    [2.5, '2.5'],
    [Number.NaN, 'nan'],
    [-Infinity, '-inf'],
    [12n, '12'],
    ["it's", '"it\'s"'],
    ['a\nb', "'a\\nb'"],
    [[1, 'x', null], "[1, 'x', None]"],
    [Tuple.from([1]), '(1,)'],
    [Tuple.from([1, 2]), '(1, 2)'],
    [new Uint8Array([104, 105, 0, 255]), "b'hi\\x00\\xff'"],
    [new Map<unknown, unknown>([[1, 'a']]), "{1: 'a'}"],
    [new Set(), 'set()'],
    [new Set([1]), '{1}'],
    [{ a: { b: [] } }, "{'a': {'b': []}}"],
    [new Counter(), '<Counter object>'],
    [{ [PY_REPR]: () => "Namespace(name='Bob')" }, "Namespace(name='Bob')"],
  ])('%o is %s', (value, text) => {
    expect(pyRepr(value)).toBe(text);
  });

  it('stops at a depth limit instead of recursing forever', () => {
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    expect(pyRepr(cyclic)).toMatch(/\.\.\./);
  });
});
