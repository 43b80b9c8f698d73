/**
 * Dispatch without a socket: names resolve only through the exposed set; CPython's fallbacks `__str__`,
 * `__repr__`, `#GETVALUE`; the generic attribute methods of NamespaceProxy over own data properties only;
 * keyword arguments bound to parameter names; the current call context set around each invocation.
 */
import { describe, expect, it } from 'vitest';
import { NotExposedError } from '../../src/errors.js';
import { AttributeError, PyTypeError } from '../../src/python-errors.js';
import { ConnectionOwner, currentCall, LOCAL_OWNER, withCall, type CallContext } from '../../src/server/context.js';
import { bindToNames, GET_VALUE, getValue, invoke, parameterNames, PY_SIGNATURES, pyStr, reprOf } from '../../src/server/dispatch.js';
import { HostedObject } from '../../src/server/objects.js';
import { publicMethods } from '../../src/server/registry.js';
import { PY_REPR } from '../../src/python-repr.js';
import { Counter, Kw } from '../fixtures/referents.js';

const context: CallContext = { owner: LOCAL_OWNER, signal: new AbortController().signal };

function hosted(referent: unknown, exposed: readonly string[] = publicMethods(referent), typeid = 'T'): HostedObject {
  return new HostedObject('id1', typeid, referent, exposed, Object.create(null) as Record<string, string>);
}

describe('invoke: exposure', () => {
  it('calls an exposed method with the referent as this', () => {
    const c = new Counter(1);
    expect(invoke(hosted(c), 'inc', [2], null, context)).toBe(3);
    expect(c.n).toBe(3);
  });

  it('refuses anything outside the exposed set with NotExposedError, naming the exposed methods', () => {
    const obj = hosted(new Counter(), ['value']);
    expect(() => invoke(obj, 'inc', [], null, context)).toThrow(NotExposedError);
    expect(() => invoke(obj, 'inc', [], null, context)).toThrow("method 'inc' of 'T' is not exposed; exposed methods are: value");
    expect(() => invoke(hosted({}, []), 'x', [], null, context)).toThrow('exposed methods are: (none)');
  });

  it.each(['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', '__defineGetter__', '__lookupGetter__', 'then'])(
    'never reaches %s unless exposed',
    (name) => {
      const referent = new Counter();
      expect(() => invoke(hosted(referent), name, [], null, context)).toThrow(NotExposedError);
      expect(Object.getPrototypeOf(referent)).toBe(Counter.prototype);
    },
  );

  it('an exposed name the referent lacks is an AttributeError', () => {
    expect(() => invoke(hosted({}, ['missing']), 'missing', [], null, context)).toThrow(AttributeError);
    expect(() => invoke(hosted(null, ['missing']), 'missing', [], null, context)).toThrow("'T' object has no method 'missing'");
  });

  it('returns what the method returns, promises included, and throws what it throws', async () => {
    const referent = { async later() { return 'done'; }, bad() { throw new RangeError('no'); } };
    await expect(invoke(hosted(referent), 'later', [], null, context)).resolves.toBe('done');
    expect(() => invoke(hosted(referent), 'bad', [], null, context)).toThrow(RangeError);
  });
});

describe('invoke: CPython fallbacks', () => {
  class WithOwn {
    __str__(): string {
      return 'own str';
    }
    __repr__(): string {
      return 'own repr';
    }
    [GET_VALUE](): unknown {
      return { copied: true };
    }
  }

  it('__str__, __repr__ and #GETVALUE work on any object, exposed or not', () => {
    const plain = hosted({ a: 1 }, []);
    expect(invoke(plain, '__str__', [], null, context)).toBe("{'a': 1}");
    expect(invoke(plain, '__repr__', [], null, context)).toBe("{'a': 1}");
    expect(invoke(plain, '#GETVALUE', [], null, context)).toBe(plain.referent);
    const own = hosted(new WithOwn(), []);
    expect(invoke(own, '__str__', [], null, context)).toBe('own str');
    expect(invoke(own, '__repr__', [], null, context)).toBe('own repr');
    expect(invoke(own, '#GETVALUE', [], null, context)).toEqual({ copied: true });
  });

  it('str() of a string is the string itself; repr() quotes it', () => {
    expect(pyStr('abc')).toBe('abc');
    expect(reprOf('abc')).toBe("'abc'");
    expect(pyStr(null)).toBe('None');
    expect(pyStr({ [PY_REPR]: () => 'Custom()' })).toBe('Custom()');
    expect(getValue(5)).toBe(5);
  });
});

describe('generic attribute methods (NamespaceProxy on any referent)', () => {
  const exposed = ['__getattribute__', '__setattr__', '__delattr__'];

  it('read, write and delete own data properties', () => {
    const referent: Record<string, unknown> = { name: 'Bob' };
    const obj = hosted(referent, exposed);
    expect(invoke(obj, '__getattribute__', ['name'], null, context)).toBe('Bob');
    expect(invoke(obj, '__setattr__', ['job', 'builder'], null, context)).toBeNull();
    expect(referent.job).toBe('builder');
    expect(invoke(obj, '__delattr__', ['name'], null, context)).toBeNull();
    expect(referent).toEqual({ job: 'builder' });
  });

  it('never read or change the prototype', () => {
    const referent = new Counter(1);
    const obj = hosted(referent, exposed);
    for (const name of ['constructor', '__proto__', 'inc', 'toString']) {
      expect(() => invoke(obj, '__getattribute__', [name], null, context), name).toThrow(AttributeError);
    }
    expect(() => invoke(obj, '__getattribute__', ['missing'], null, context)).toThrow("'Counter' object has no attribute 'missing'");
    invoke(obj, '__setattr__', ['__proto__', { polluted: true }], null, context);
    expect(Object.getPrototypeOf(referent)).toBe(Counter.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(() => invoke(obj, '__delattr__', ['inc'], null, context)).toThrow(AttributeError);
    expect(typeof referent.inc).toBe('function');
  });

  it('a referent with its own attribute methods uses them', () => {
    const referent = { __getattribute__: (name: string) => `custom ${name}` };
    expect(invoke(hosted(referent, exposed), '__getattribute__', ['x'], null, context)).toBe('custom x');
  });
});

describe('keyword arguments', () => {
  it('bind onto positions by the names in the source', () => {
    const kw = new Kw();
    expect(invoke(hosted(kw), 'join', ['a'], { c: 'z' }, context)).toBe('a-B-z');
    expect(invoke(hosted(kw), 'join', [], { a: 1, b: 2, c: 3 }, context)).toBe('1-2-3');
    // an empty kwds object is the same as none
    expect(invoke(hosted(kw), 'join', ['a'], {}, context)).toBe('a-B-C');
  });

  it('use a static [PY_SIGNATURES] table first, with **kwargs collecting the rest', () => {
    expect(invoke(hosted(new Kw()), 'options', [], { first: 1, x: 2, y: 3 }, context)).toEqual([1, { x: 2, y: 3 }]);
    expect((Kw as unknown as Record<symbol, unknown>)[PY_SIGNATURES]).toBeDefined();
  });

  it('report Python TypeErrors for unknown and repeated names', () => {
    expect(() => bindToNames(['a', 'b'], 'f', [], { c: 1 })).toThrow(PyTypeError);
    expect(() => bindToNames(['a', 'b'], 'f', [], { c: 1 })).toThrow("f() got an unexpected keyword argument 'c'");
    expect(() => bindToNames(['a', 'b'], 'f', [1], { a: 2 })).toThrow("f() got multiple values for argument 'a'");
    expect(() => bindToNames(['a', '...rest'], 'f', [], { rest: 2 })).toThrow(PyTypeError);
    expect(bindToNames(['a', 'b', 'c'], 'f', [], { c: 3 })).toEqual([undefined, undefined, 3]);
  });

  it('parameterNames reads functions, arrows, methods, defaults, destructuring and classes', () => {
    expect(parameterNames(function f(a: number, b = 2, ...rest: unknown[]) {
      return [a, b, rest];
    } as never)).toEqual(['a', 'b', '...rest']);
    expect(parameterNames(((x: number, { y }: { y: number } = { y: 1 }, z = [1, 2]) => [x, y, z]) as never)).toEqual(['x', '(destructured)', 'z']);
    expect(parameterNames(Kw as never)).toEqual(['label', '_unused']);
    expect(parameterNames(new Kw().join as never)).toEqual(['a', 'b', 'c']);
    expect(parameterNames(class {} as never)).toEqual([]);
  });

  it('a destructured parameter keeps its position, so later names bind where they are', () => {
    const referent = {
      f(x: unknown, { y }: { y?: unknown } = {}, z: unknown = 'default') {
        return [x, y, z];
      },
    };
    expect(invoke(hosted(referent), 'f', [1], { z: 3 }, context)).toEqual([1, undefined, 3]);
  });
});

describe('the current call', () => {
  it('is set around the invocation and restored after, even when the method throws', () => {
    const owner = new ConnectionOwner('c1');
    const ctx: CallContext = { owner, signal: new AbortController().signal };
    const seen: string[] = [];
    const referent = {
      who() {
        seen.push(currentCall().owner.id);
        return null;
      },
      fail() {
        seen.push(currentCall().owner.id);
        throw new Error('x');
      },
    };
    invoke(hosted(referent), 'who', [], null, ctx);
    expect(() => invoke(hosted(referent), 'fail', [], null, ctx)).toThrow('x');
    expect(seen).toEqual(['c1', 'c1']);
    expect(currentCall().owner).toBe(LOCAL_OWNER);
    expect(withCall(ctx, () => currentCall().owner.id)).toBe('c1');
  });

  it('an owner runs each close callback once, even if one throws, and late registrations run too', async () => {
    const owner = new ConnectionOwner('c2');
    const calls: string[] = [];
    owner.onClose(() => calls.push('a'));
    owner.onClose(() => {
      throw new Error('bad cleanup');
    });
    const off = owner.onClose(() => calls.push('unregistered'));
    owner.onClose(() => calls.push('b'));
    off();
    owner.close();
    owner.close();
    expect(owner.closed).toBe(true);
    expect(calls).toEqual(['a', 'b']);
    owner.onClose(() => calls.push('late'));
    await Promise.resolve();
    expect(calls).toEqual(['a', 'b', 'late']);
  });
});
