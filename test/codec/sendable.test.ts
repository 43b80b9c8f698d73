/**
 * Values that cannot travel are refused at the sender by both encoders (src/codec/sendable.ts), with the
 * path to them in the message, and what travels today still does: a function used to leave msgpack as
 * `undefined` (a Python peer stored None), a class instance with nothing to carry as `{}`.
 */
import { describe, expect, it } from 'vitest';
import { msgpack, pickle } from '../../src/codec/index.js';
import { Slice, Tuple, tuple } from '../../src/codec/values.js';
import { Token } from '../../src/codec/token.js';
import { ObjectRef } from '../../src/codec/ref.js';
import { PythonClass } from '../../src/codec/pickle/index.js';
import { CodecError } from '../../src/errors.js';
import type { Codec } from '../../src/codec/types.js';

/** The error `codec.encode(value)` throws (fails the test if it does not throw a CodecError). */
function refusal(codec: Codec, value: unknown): CodecError {
  try {
    codec.encode(value);
  } catch (err) {
    expect(err).toBeInstanceOf(CodecError);
    return err as CodecError;
  }
  throw new Error(`${codec.name} encoded ${String(value)}`);
}

function roundTrip(codec: Codec, value: unknown): unknown {
  return codec.decode(codec.encode(value));
}

/** A native call frame, as the native client writes one: `[CALL, id, ident, method, args, kwds]`. */
const call = (...args: unknown[]) => [0, 7, 'obj-1', 'put', args, null];

class Counter {
  n = 1;
  inc(): number {
    return ++this.n;
  }
}
class Hidden {
  #value = 3;
  get(): number {
    return this.#value;
  }
}

const CODECS: readonly Codec[] = [msgpack, pickle];

describe.each(CODECS)('$name: refused at the sender, saying where', (codec) => {
  it('a function, with the path to it', () => {
    const err = refusal(codec, call(1, { handler: () => 1 }));
    expect(err.message).toBe(
      'cannot send the function handler (at message[4][1].handler): functions cannot travel between processes; ' +
        'send data, or register a class on the server and call its methods through a proxy',
    );
    expect(err.code).toBe('MPM_ERR_CODEC');
  });

  it.each<[string, unknown, string, RegExp]>([
    ['an anonymous function in an array', [1, [(() => () => 1)()]], 'message[1][0]', /^cannot send a function /],
    ['a class (a function too)', { cls: Counter }, 'message.cls', /^cannot send the function Counter /],
    ['an async function', { f: async function load() {} }, 'message.f', /^cannot send the function load /],
    ['a symbol', { tags: ['a', Symbol('b')] }, 'message.tags[1]', /^cannot send the symbol Symbol\(b\) .*send a string$/],
    ['a Promise', { result: Promise.resolve(1) }, 'message.result', /^cannot send a Promise .*await it/],
    ['a WeakMap', [new WeakMap()], 'message[0]', /^cannot send a WeakMap /],
    ['a WeakSet', [new WeakSet()], 'message[0]', /^cannot send a WeakSet /],
    ['a WeakRef', [new WeakRef({})], 'message[0]', /^cannot send a WeakRef /],
    ['a boxed string', [Object('s')], 'message[0]', /^cannot send a String object .*valueOf/],
    ['a value in a Map', new Map([['k', () => 1]]), 'message.get("k")', /^cannot send a function /],
    ['a value in a Set', new Set([1, Symbol('x')]), 'message.values()[1]', /^cannot send the symbol/],
    ['a value under an odd key', { 'two words': [() => 1] }, 'message["two words"][0]', /^cannot send a function /],
    ['a value in a tuple', tuple<unknown>(1, tuple<unknown>(2, () => 3)), 'message[1][1]', /^cannot send a function /],
  ])('%s', (_name, value, path, pattern) => {
    const err = refusal(codec, value);
    expect(err.message).toMatch(pattern);
    expect(err.message).toContain(`(at ${path})`);
  });

  it('the message itself', () => {
    expect(refusal(codec, () => 1).message).toMatch(/^cannot send a function \(the whole message\): /);
    expect(refusal(codec, Symbol('s')).message).toMatch(/^cannot send the symbol Symbol\(s\) \(the whole message\): /);
  });

  it('a very deep path is shortened in the middle', () => {
    let value: unknown = () => 1;
    for (let i = 0; i < 40; i++) value = [value];
    expect(refusal(codec, value).message).toContain(`(at message[0][0][0][0]…${'[0]'.repeat(12)})`);
  });

  it('the encoder is usable again after a refusal', () => {
    refusal(codec, call({ handler: () => 1 }));
    expect(roundTrip(codec, [1, 'two', { three: 3 }])).toEqual([1, 'two', { three: 3 }]);
  });

  it('keeps undefined as before (msgpack: undefined; pickle: None), and skips symbol-keyed properties', () => {
    const back = roundTrip(codec, [undefined, { [Symbol('meta')]: 1, a: 1 }]) as unknown[];
    expect(back[0]).toBe(codec.name === 'msgpack' ? undefined : null);
    expect(back[1]).toEqual({ a: 1 });
  });

  it("still writes the codec's own types and Errors", () => {
    const token = new Token('dict', ['127.0.0.1', 5000], 'a1');
    expect(roundTrip(codec, tuple<unknown>(1, 'a'))).toBeInstanceOf(Tuple);
    expect(roundTrip(codec, new ObjectRef(token, ['get']))).toBeInstanceOf(ObjectRef);
    expect(roundTrip(codec, [new Error('boom')])).toEqual([expect.any(Error)]);
    expect(roundTrip(codec, new Map([[1, 'a']]))).toBeDefined();
    expect(roundTrip(codec, new Set([1]))).toEqual(new Set([1]));
    expect(() => codec.encode([new Slice(1, 2), token, new PythonClass('builtins', 'str'), Buffer.from('b'), new Uint8Array(1)])).not.toThrow();
  });
});

describe('msgpack: what msgpackr writes well is kept', () => {
  it('a class instance with data travels as a plain object of its own properties (getValue() of a class referent)', () => {
    expect(roundTrip(msgpack, [new Counter()])).toEqual([{ n: 1 }]);
    expect(roundTrip(msgpack, [new Slice(1, 3)])).toEqual([{ start: 1, stop: 3, step: null }]);
    class Bag {
      [key: string]: unknown;
    }
    // A class with no methods carries nothing but its properties: an empty one is an empty object.
    expect(roundTrip(msgpack, [new Bag()])).toEqual([{}]);
  });

  it('a class instance that would arrive as {} is refused: its state is private, or it is a handle', () => {
    expect(refusal(msgpack, { box: new Hidden() }).message).toBe(
      'cannot send an instance of Hidden (at message.box): it has no own enumerable property, so it would arrive as an empty object; ' +
        'send a plain object of its data, or register the class on the server and call its methods through a proxy',
    );
    expect(refusal(msgpack, [new AbortController()]).message).toMatch(/^cannot send an instance of AbortController \(at message\[0\]\)/);
    // Refused for every instance of the class, whichever came first (the verdict is kept per class).
    expect(refusal(msgpack, [new Hidden()]).message).toMatch(/Hidden/);
  });

  it("plain objects of any shape: a 'constructor' key, a null prototype", () => {
    expect(roundTrip(msgpack, { constructor: 'x', a: 1 })).toEqual({ constructor: 'x', a: 1 });
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 });
    expect(roundTrip(msgpack, bare)).toEqual({ a: 1 });
  });

  it("msgpackr's own types: Date, RegExp, typed arrays, and what toJSON() returns", () => {
    const back = roundTrip(msgpack, [new Date(0), /x/g, new Float64Array([1.5]), new URL('http://h/p')]) as unknown[];
    expect(back[0]).toEqual(new Date(0));
    expect(back[1]).toEqual(/x/g);
    expect(back[2]).toEqual(new Float64Array([1.5]));
    expect(back[3]).toBe('http://h/p');
  });

  it('a refused value the path walk cannot reach (inside what toJSON() returns) is named without a path', () => {
    class Wrapped {
      constructor(readonly inner: unknown) {}
      toJSON(): unknown {
        return { inner: this.inner };
      }
    }
    expect(refusal(msgpack, [new Wrapped(Symbol('s'))]).message).toBe('cannot send a symbol: symbols cannot travel between processes; send a string');
    expect(refusal(msgpack, [new Wrapped(() => 1)]).message).toMatch(/^cannot send a function: functions cannot travel/);
  });

  it('a Map subclass is written as the Map it is (msgpackr wrote {})', () => {
    class Registry extends Map<string, number> {}
    expect(roundTrip(msgpack, [new Registry([['a', 1]])])).toEqual([{ a: 1 }]);
  });

  it('a value inside a class instance is found through its properties', () => {
    class Job {
      name = 'j';
      done = () => true;
    }
    expect(refusal(msgpack, call(new Job())).message).toMatch(/^cannot send the function done \(at message\[4\]\[0\]\.done\)/);
  });

  it('a refusal while blobs are collected leaves the encoder usable (the caller drops the blobs, as on any failed encode)', () => {
    const blobs: Uint8Array[] = [];
    expect(() => msgpack.encode([Buffer.alloc(70_000), () => 1], { blobs })).toThrow(/cannot send a function \(at message\[1\]\)/);
    blobs.length = 0;
    expect(msgpack.encode([Buffer.alloc(70_000)], { blobs })).toHaveLength(9); // fixarray 1, then the 8-byte ext 4 reference
    expect(blobs).toHaveLength(1);
  });
});

describe('pickle: refuses every class instance it has no Python form for, saying where', () => {
  it.each<[string, unknown, RegExp]>([
    ['a class instance with data', { c: new Counter() }, /^cannot send an instance of Counter \(at message\.c\): pickle carries Python values only/],
    ['a Date', [new Date(0)], /^cannot send a Date \(at message\[0\]\): .*getTime/],
    ['a list as a dict key', new Map([[tuple<unknown>(1, [2]), 'v']]), /^cannot send an array \(list\) as a dict key \(at message\.keys\(\)\[0\]\[1\]\): Python cannot hash it/],
  ])('%s', (_name, value, pattern) => {
    expect(refusal(pickle, value).message).toMatch(pattern);
  });
});
