/**
 * Calling a method of a hosted object. Names resolve only through the object's exposed set, never
 * through `__proto__`, `constructor` or inherited members by accident; CPython's fallbacks hold for
 * names outside it: `__str__`, `__repr__` and `#GETVALUE` (cpython-wire.md §3.4).
 */
import { NotExposedError } from '../errors.js';
import { GETVALUE } from '../protocol/classic.js';
import { AttributeError, PyTypeError } from '../python-errors.js';
import { type CallContext, holdsWatched, withCall, withCallOn } from './context.js';
import type { HostedObject } from './objects.js';
import { pyRepr, pyStrOf, type ReprOptions } from '../python-repr.js';

/** A referent's own `#GETVALUE`: what a client's `getValue()` receives (default: the referent itself). */
export const GET_VALUE = Symbol.for('mpmanager.getValue');

/**
 * Parameter names of a referent's methods, for Python keyword arguments: a static
 * `[PY_SIGNATURES] = { get: ['block', 'timeout'] }` on the class. A list may end with `'**kwargs'`, which
 * collects the remaining keywords into one object argument. Without it, names are read from the
 * method's source.
 */
export const PY_SIGNATURES = Symbol.for('mpmanager.pySignatures');

type Fn = (...args: unknown[]) => unknown;

/** The attribute methods of NamespaceProxy, for referents that do not define them (own data properties only). */
const ATTRIBUTE_METHODS: Readonly<Record<string, Fn>> = Object.freeze({
  __getattribute__(this: object, name: unknown): unknown {
    const key = String(name);
    if (!Object.prototype.hasOwnProperty.call(this, key)) {
      throw new AttributeError(`'${this.constructor?.name ?? 'object'}' object has no attribute '${key}'`);
    }
    return (this as Record<string, unknown>)[key];
  },
  __setattr__(this: object, name: unknown, value: unknown): null {
    Object.defineProperty(this, String(name), { value, writable: true, enumerable: true, configurable: true });
    return null;
  },
  __delattr__(this: object, name: unknown): null {
    const key = String(name);
    if (!Object.prototype.hasOwnProperty.call(this, key)) {
      throw new AttributeError(`'${this.constructor?.name ?? 'object'}' object has no attribute '${key}'`);
    }
    delete (this as Record<string, unknown>)[key];
    return null;
  },
});

function lookup(obj: HostedObject, method: string): Fn {
  const referent = obj.referent as Record<string, unknown> | null;
  const fn = referent === null || referent === undefined ? undefined : referent[method];
  if (typeof fn === 'function') return fn as Fn;
  const generic = Object.prototype.hasOwnProperty.call(ATTRIBUTE_METHODS, method) ? ATTRIBUTE_METHODS[method] : undefined;
  if (generic) return generic;
  throw new AttributeError(`'${obj.typeid}' object has no method '${method}'`);
}

/** `str()` of a referent: its own `__str__`, a string as itself, else its repr (bounded by `options`). */
export function pyStr(referent: unknown, options?: ReprOptions): string {
  const own = (referent as { __str__?: unknown } | null)?.__str__;
  if (typeof own === 'function') return String((own as () => unknown).call(referent));
  if (typeof referent === 'string') return pyStrOf(referent, options);
  return reprOf(referent, options);
}

export function reprOf(referent: unknown, options?: ReprOptions): string {
  const own = (referent as { __repr__?: unknown } | null)?.__repr__;
  if (typeof own === 'function') return String((own as () => unknown).call(referent));
  return pyRepr(referent, options);
}

export function getValue(referent: unknown): unknown {
  const own = (referent as Record<symbol, unknown> | null)?.[GET_VALUE];
  return typeof own === 'function' ? (own as () => unknown).call(referent) : referent;
}

/**
 * Calls `method` on the hosted object with positional `args` and Python keyword arguments `kwds`.
 * Returns the result or a promise of it; throws what the method throws.
 */
export function invoke(obj: HostedObject, method: string, args: unknown[], kwds: Record<string, unknown> | null, context: CallContext): unknown {
  if (!obj.exposed.has(method)) {
    if (method === '__str__') return pyStr(obj.referent);
    if (method === '__repr__') return reprOf(obj.referent);
    if (method === GETVALUE) return getValue(obj.referent);
    throw new NotExposedError(method, obj.typeid, obj.exposedList);
  }
  const fn = lookup(obj, method);
  const callArgs = kwds && hasKeys(kwds) ? bindKeywords(obj.referent, method, fn, args, kwds) : args;
  if (holdsWatched()) return withCallOn(context, obj, () => fn.apply(obj.referent, callArgs));
  return withCall(context, () => fn.apply(obj.referent, callArgs));
}

function hasKeys(o: Record<string, unknown>): boolean {
  for (const _ in o) return true;
  return false;
}

const signatureCache = new WeakMap<Fn, readonly string[]>();

/** Parameter names of a function, read from its source (`a, b = 1, ...rest` gives `['a', 'b', '...rest']`). */
export function parameterNames(fn: Fn): readonly string[] {
  const cached = signatureCache.get(fn);
  if (cached) return cached;
  const src = Function.prototype.toString.call(fn);
  let open = src.indexOf('(');
  if (/^class[\s{]/.test(src)) {
    const m = /\bconstructor\s*\(/.exec(src);
    open = m ? m.index + m[0].length - 1 : -1;
  }
  const names = open >= 0 ? parameterList(src, open) : [];
  signatureCache.set(fn, names);
  return names;
}

/** Names in the parameter list that opens at `src[open] === '('`. */
function parameterList(src: string, open: number): string[] {
  let depth = 0;
  let current = '';
  const parts: string[] = [];
  for (let i = open + 1; i < src.length; i++) {
    const ch = src[i] as string;
    if (depth === 0 && ch === ')') {
      parts.push(current);
      break;
    }
    if (ch === '(' || ch === '[' || ch === '{') depth++;
    else if (ch === ')' || ch === ']' || ch === '}') depth--;
    if (depth === 0 && ch === ',') {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  const names = parts.map((p) => (/^\s*(\.\.\.)?\s*([A-Za-z_$][\w$]*)/.exec(p)?.slice(1).join('') ?? '').trim());
  while (names.length > 0 && names[names.length - 1] === '') names.pop(); // `()` or a trailing comma
  // A destructured parameter has no name but keeps its position, so the names after it bind where they are.
  return names.map((n) => (n === '' ? UNNAMED_PARAMETER : n));
}

/** Stands for a destructured parameter: not an identifier, so no keyword argument can bind to it. */
const UNNAMED_PARAMETER = '(destructured)';

function signatureOf(referent: unknown, method: string, fn: Fn): readonly string[] {
  const ctor = (referent as { constructor?: unknown } | null)?.constructor as Record<symbol, unknown> | undefined;
  const table = ctor?.[PY_SIGNATURES] as Record<string, readonly string[]> | undefined;
  const explicit = table && Object.prototype.hasOwnProperty.call(table, method) ? table[method] : undefined;
  return explicit ?? parameterNames(fn);
}

/** Maps Python keyword arguments onto positions, as Python would bind them. */
export function bindKeywords(referent: unknown, method: string, fn: Fn, args: unknown[], kwds: Record<string, unknown>): unknown[] {
  return bindToNames(signatureOf(referent, method, fn), method, args, kwds);
}

export function bindToNames(params: readonly string[], method: string, args: unknown[], kwds: Record<string, unknown>): unknown[] {
  const out = args.slice();
  const last = params[params.length - 1];
  const collect = last?.startsWith('**') ? Object.create(null) as Record<string, unknown> : null;
  const positional = collect ? params.slice(0, -1) : params;
  for (const name of Object.keys(kwds)) {
    const index = positional.indexOf(name);
    if (index < 0 || positional[index]?.startsWith('...')) {
      if (collect) {
        collect[name] = kwds[name];
        continue;
      }
      throw new PyTypeError(`${method}() got an unexpected keyword argument '${name}'`);
    }
    if (index < args.length) throw new PyTypeError(`${method}() got multiple values for argument '${name}'`);
    while (out.length < index) out.push(undefined);
    out[index] = kwds[name];
  }
  if (collect) {
    while (out.length < positional.length) out.push(undefined);
    out.push(collect);
  }
  return out;
}
