/**
 * How shared objects keep values in Redis, without a Redis: the version byte, exact round trips of what
 * each codec delivers (tuples, bytes, big ints, dicts with non-string keys, sets), refusals that name the
 * value (a proxy, a class instance, a function), the canonical key agreeing with the in-memory dict's
 * hashing, and the URL and name checks.
 */
import { describe, expect, it } from 'vitest';
import { BackendError, InvalidArgumentError } from '../../../src/errors.js';
import { PyTypeError, ValueError } from '../../../src/python-errors.js';
import { ObjectRef } from '../../../src/codec/ref.js';
import { Token } from '../../../src/codec/token.js';
import { tuple } from '../../../src/codec/values.js';
import { hashKey } from '../../../src/server/py.js';
import { FORMAT_MSGPACK, canonicalKey, decodeValue, encodeValue } from '../../../src/backends/redis/values.js';
import { parseTarget } from '../../../src/backends/redis/store.js';
import { ObjectKeys, checkName } from '../../../src/backends/redis/keys.js';

const PLACE = "the shared dict 'test'";

function roundTrip(v: unknown): unknown {
  return decodeValue(encodeValue(v, PLACE), PLACE);
}

describe('stored values', () => {
  it('start with the version byte', () => {
    expect(encodeValue(1, PLACE)[0]).toBe(FORMAT_MSGPACK);
  });

  it.each([
    ['None', null],
    ['bool', true],
    ['int', -7],
    ['float', 1.5],
    ['big int', 2n ** 100n],
    ['negative big int', -(2n ** 64n) - 1n],
    ['str', 'héllo \u{1F600}'],
    ['bytes', Buffer.from([0, 1, 255])],
    ['list', [1, 'a', [null]]],
    ['set', new Set([1, 'a'])],
    ['dict with string keys', { a: 1, b: { c: [true] } }],
  ])('%s round-trips exactly', (_, v) => {
    expect(roundTrip(v)).toEqual(v);
  });

  it('keeps tuples tuples, at any depth', () => {
    const back = roundTrip([tuple<unknown>(1, tuple<unknown>('a', 2n ** 70n))]) as unknown[];
    expect(back[0]?.constructor.name).toBe('Tuple');
    expect((back[0] as unknown[])[1]?.constructor.name).toBe('Tuple');
    expect(back).toEqual([tuple<unknown>(1, tuple<unknown>('a', 2n ** 70n))]);
  });

  it('keeps the types of dict keys (a Map), and gives a plain object when every key is a string', () => {
    const m = new Map<unknown, unknown>([[1, 'int'], [tuple<unknown>(1, 'a'), 'tuple'], [Buffer.from('k'), 'bytes']]);
    const back = roundTrip({ nested: m }) as { nested: Map<unknown, unknown> };
    expect(back.nested).toBeInstanceOf(Map);
    expect([...back.nested.values()]).toEqual(['int', 'tuple', 'bytes']);
    expect([...back.nested.keys()][0]).toBe(1);
    expect([...back.nested.keys()][1]?.constructor.name).toBe('Tuple');
    const strings = roundTrip(new Map([['a', 1]]));
    expect(strings).not.toBeInstanceOf(Map);
    expect(strings).toEqual({ a: 1 });
  });

  it('refuses a reference to a hosted object, naming it and where it sits', () => {
    const ref = new ObjectRef(new Token('Queue', ['127.0.0.1', 1], 'abc123'), null);
    expect(() => encodeValue({ job: [1, ref] }, PLACE)).toThrow(PyTypeError);
    expect(() => encodeValue({ job: [1, ref] }, PLACE)).toThrow(/reference to the hosted Queue object abc123 \(at value\["job"\]\[1\]\) in the shared dict 'test'/);
  });

  it('refuses class instances and functions rather than storing a lossy copy', () => {
    class Point {
      x = 1;
    }
    expect(() => encodeValue(new Point(), PLACE)).toThrow(/cannot store an instance of Point in the shared dict 'test'/);
    expect(() => encodeValue([() => 1], PLACE)).toThrow(PyTypeError);
    expect(() => encodeValue(new Map([[new Point(), 1]]), PLACE)).toThrow(/key #0/);
  });

  it('refuses values nested too deep with ValueError', () => {
    let v: unknown = 1;
    for (let i = 0; i < 600; i++) v = [v];
    expect(() => encodeValue(v, PLACE)).toThrow(ValueError);
  });

  it('reads only its own format: another version byte is a BackendError saying so', () => {
    const bytes = encodeValue(1, PLACE);
    bytes[0] = 2;
    expect(() => decodeValue(bytes, PLACE)).toThrow(BackendError);
    expect(() => decodeValue(bytes, PLACE)).toThrow(/newer mpmanager/);
    expect(() => decodeValue(Buffer.from([FORMAT_MSGPACK, 0xc1]), PLACE)).toThrow(/could not be decoded/);
  });
});

describe('canonical keys', () => {
  it('agree with the in-memory dict: 1, 1.0, 1n and True are one key; str and bytes differ', () => {
    const samples: unknown[] = [null, 1, 1.0, 1n, true, false, 0, 2 ** 60, 2n ** 60n, 2n ** 100n, 1.5, 'a', '', Buffer.from('a'), tuple<unknown>(1, 'a'), tuple<unknown>(tuple(true), null), new Set([1, 2])];
    for (const a of samples) {
      expect(canonicalKey(a, PLACE)).toBe(hashKey(a));
      for (const b of samples) expect(canonicalKey(a, PLACE) === canonicalKey(b, PLACE)).toBe(hashKey(a) === hashKey(b));
    }
    expect(canonicalKey(1, PLACE)).toBe(canonicalKey(true, PLACE));
    expect(canonicalKey(2 ** 60, PLACE)).toBe(canonicalKey(2n ** 60n, PLACE));
    expect(canonicalKey('a', PLACE)).not.toBe(canonicalKey(Buffer.from('a'), PLACE));
  });

  it('refuses unhashable keys with TypeError', () => {
    expect(() => canonicalKey([1], PLACE)).toThrow(/unhashable type: 'list'/);
    expect(() => canonicalKey({ a: 1 }, PLACE)).toThrow(PyTypeError);
  });
});

describe('targets and names', () => {
  it('takes redis:// URLs (hiding a password) and Unix socket paths', () => {
    expect(parseTarget('redis://127.0.0.1:6379/2').options).toEqual({ url: 'redis://127.0.0.1:6379/2' });
    expect(parseTarget('redis://:secret@host:6379').display).not.toContain('secret');
    expect(parseTarget('/tmp/r.sock').options).toEqual({ socket: { path: '/tmp/r.sock' } });
    expect(() => parseTarget('http://host')).toThrow(InvalidArgumentError);
    expect(() => parseTarget('')).toThrow(InvalidArgumentError);
  });

  it('keeps every key of an object in one hash slot', () => {
    const keys = new ObjectKeys('mpm', 'queue', 'jobs');
    expect(keys.part('items')).toBe('mpm:{queue:jobs}:items');
    expect(keys.wake).toBe('mpm:{queue:jobs}:wake');
    expect(() => checkName('a{b', 'name')).toThrow(InvalidArgumentError);
    expect(() => checkName('', 'name')).toThrow(InvalidArgumentError);
    expect(checkName('jobs.v2-x', 'name')).toBe('jobs.v2-x');
  });
});
