/**
 * What cannot travel between processes, and where it sits. Both encoders refuse these values at the
 * sender, with a `CodecError` that names the value, the path to it in the encoded message and what to
 * send instead, rather than writing something the receiver would misread (msgpackr used to write a
 * function as `undefined`, which a Python peer stores as None, and a class instance as whatever its own
 * enumerable properties were, `{}` for most built-ins):
 *
 *   value                                          msgpack                    pickle
 *   function (classes, bound, async, generators)   refused                    refused
 *   symbol (a value; symbol-keyed properties are   refused                    refused
 *     skipped, as JSON.stringify skips them)
 *   Promise, WeakMap, WeakSet, WeakRef,            refused                    refused
 *     FinalizationRegistry (process-local)
 *   boxed primitive (`new String('a')`, ...)       refused                    refused
 *   class instance with no own enumerable          refused (it would arrive   refused (as every class
 *     property, whose class has methods or         as {}: an AbortController, instance pickle has no
 *     accessors                                    state kept in #private     Python form for)
 *                                                  fields, a generator)
 *   class instance with own data                   a plain object of its own  refused
 *                                                  enumerable properties, as
 *                                                  postMessage gives (what
 *                                                  getValue() of a class
 *                                                  referent returns)
 *   object with toJSON() (not a plain object)      what toJSON() returns      refused
 *   Map subclass                                   a Map                      a dict
 *   undefined                                      undefined                  None
 *
 * Not seen by msgpack: an object whose prototype chain has no `constructor` but Object's looks like a
 * plain object to msgpackr (Node 20's array and map iterators) and is written as its own properties.
 *
 * The hot path pays nothing for this: msgpack meets these values only where msgpackr found no type of
 * its own (an extension whose class test runs for those objects alone), pickle where it had no case for
 * them anyway; the path is found afterwards, by walking the message again, only once an encode failed.
 */
import { CodecError } from '../errors.js';

/** Why a value cannot be sent: `cannot send ${what} (at path): ${advice}`. */
export interface Refusal {
  readonly what: string;
  readonly advice: string;
}

/** Name of the encoded value in paths: `message[4][1].handler`. */
const ROOT = 'message';
/** Paths are searched this deep at most (pickle refuses deeper values anyway, at `maxDepth` 512). */
const MAX_WALK_DEPTH = 4096;
/** A longer path is shortened in the middle. */
const MAX_PATH_SEGMENTS = 16;

const SYMBOL_ADVICE = 'symbols cannot travel between processes; send a string';
const FUNCTION_ADVICE = 'functions cannot travel between processes; send data, or register a class on the server and call its methods through a proxy';

/** The refusals both codecs share: functions, symbols, and objects that hold what only this process has. */
export function refusalOf(v: unknown): Refusal | null {
  if (typeof v === 'function') {
    const name = (v as { name?: unknown }).name;
    return { what: typeof name === 'string' && name !== '' ? `the function ${name}` : 'a function', advice: FUNCTION_ADVICE };
  }
  if (typeof v === 'symbol') return { what: `the symbol ${String(v)}`, advice: SYMBOL_ADVICE };
  if (typeof v !== 'object' || v === null) return null;
  if (v instanceof Promise) return { what: 'a Promise', advice: 'await it and send its result' };
  for (const Cls of PROCESS_LOCAL) {
    if (v instanceof Cls) {
      return { what: `a ${Cls.name}`, advice: 'what it refers to lives in this process only; send the data itself (a Map, a Set, an array)' };
    }
  }
  for (const Cls of BOXES) {
    if (v instanceof Cls) return { what: `a ${Cls.name} object`, advice: 'send the primitive value itself, x.valueOf()' };
  }
  return null;
}

const PROCESS_LOCAL: ReadonlyArray<abstract new (...args: never[]) => object> = [WeakMap, WeakSet, WeakRef, FinalizationRegistry];
const BOXES: ReadonlyArray<abstract new (...args: never[]) => object> = [String, Number, Boolean, BigInt as never, Symbol as never];

/** What msgpack does with an object msgpackr has no type of its own for, by its prototype. */
export const Verdict = {
  /** Let msgpackr write it: one of its types, a plain object, `toJSON()`, or a class without behaviour. */
  Write: 0,
  /** Refuse it (a function, a Promise, a weak collection, a boxed primitive). */
  Refuse: 1,
  /** Refuse it when it has no own enumerable property (it would arrive as `{}`); else write its data. */
  RefuseIfEmpty: 2,
  /** Write it as a Map (a Map subclass; msgpackr would write `{}`). */
  AsMap: 3,
} as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

/** Verdicts by prototype: each class is looked at once, not every time one of its instances is sent. */
const verdicts = new WeakMap<object, Verdict>();

/**
 * What the msgpack encoder does with `v`, a function or an object msgpackr has no type for (it is asked
 * about those alone). Cached by prototype, so an instance costs a lookup and, for a class with behaviour,
 * a check for one own enumerable property.
 */
export function msgpackVerdict(v: object): Verdict {
  if (typeof v === 'function') return Verdict.Refuse;
  const proto = Object.getPrototypeOf(v) as object | null;
  if (proto === null) return Verdict.Write;
  let verdict = verdicts.get(proto);
  if (verdict === undefined) {
    verdict = verdictFor(v, proto);
    verdicts.set(proto, verdict);
  }
  if (verdict === Verdict.RefuseIfEmpty && hasOwnEnumerable(v)) return Verdict.Write;
  return verdict;
}

/** The verdict for `proto`, read off one instance `v` of it (the tests below depend on the prototype alone). */
function verdictFor(v: object, proto: object): Verdict {
  if (Array.isArray(v) || v instanceof Date || v instanceof Set || v instanceof RegExp || v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
    return Verdict.Write;
  }
  if (v instanceof Map) return Verdict.AsMap;
  // Plain objects (one with its own 'constructor' key, or another realm's) get here too.
  if (Object.getPrototypeOf(proto) === null) return Verdict.Write;
  if (refusalOf(v) !== null) return Verdict.Refuse;
  if (typeof (proto as { toJSON?: unknown }).toJSON === 'function') return Verdict.Write;
  return hasBehaviour(proto) ? Verdict.RefuseIfEmpty : Verdict.Write;
}

/** Why msgpack refuses `v` (a value `msgpackVerdict` refused). */
export function msgpackRefusalOf(v: object): Refusal {
  return (
    refusalOf(v) ?? {
      what: `an instance of ${className(v)}`,
      advice:
        'it has no own enumerable property, so it would arrive as an empty object; send a plain object of its data, ' +
        'or register the class on the server and call its methods through a proxy',
    }
  );
}

/** What the pickle encoder refuses of an object it has no Python form for. */
export function pickleRefusalOf(v: object): Refusal {
  const shared = refusalOf(v);
  if (shared !== null) return shared;
  if (v instanceof Date) return { what: 'a Date', advice: 'pickle carries no Date; send date.getTime() (ms since the epoch) or date.toISOString()' };
  if (ArrayBuffer.isView(v)) {
    return {
      what: `a ${v.constructor.name}`,
      advice: 'send Array.from(x) (a list) or Buffer.from(x.buffer, x.byteOffset, x.byteLength) (bytes)',
    };
  }
  if (v instanceof ArrayBuffer) return { what: 'an ArrayBuffer', advice: 'send Buffer.from(arrayBuffer) (bytes)' };
  return {
    what: `an instance of ${className(v)}`,
    advice: 'pickle carries Python values only; send a plain object (dict), an array (list), tuple(...), a Map, a Set, a Buffer, or a manager proxy',
  };
}

const refused = new WeakMap<CodecError, { value: unknown; refusal: Refusal }>();

/** The error for a refused value; the codec's `located()` adds where the value sits. */
export function refuse(value: unknown, refusal: Refusal): CodecError {
  const err = new CodecError(`cannot send ${refusal.what}: ${refusal.advice}`);
  refused.set(err, { value, refusal });
  return err;
}

/** How a codec descends into values, for the path walk (the order its encoder writes them in). */
export interface Walk {
  /** Whether class instances are written as plain objects of their own enumerable properties (msgpack). */
  readonly flattensInstances: boolean;
}

/**
 * The error an encode of `root` failed with: a refusal made by `refuse()` comes back as a new
 * `CodecError` saying where the value sits (`cannot send a function (at message[4][1].handler): ...`);
 * `symbolError` (a symbol refused by the library below) the same for the first symbol in `root`; any
 * other error unchanged. Runs only after a failed encode.
 */
export function located(err: unknown, root: unknown, walk: Walk, symbolError = false): unknown {
  const known = err instanceof CodecError ? refused.get(err) : undefined;
  let found: { value: unknown; segments: string[] } | null;
  let refusal: Refusal;
  if (known !== undefined) {
    const { value } = known;
    found = pathTo(root, (v) => v === value, walk);
    refusal = known.refusal;
  } else if (symbolError) {
    found = pathTo(root, (v) => typeof v === 'symbol', walk);
    refusal = found === null ? { what: 'a symbol', advice: SYMBOL_ADVICE } : (refusalOf(found.value) as Refusal);
  } else {
    return err;
  }
  const where = found === null ? '' : found.segments.length === 0 ? ' (the whole message)' : ` (at ${ROOT}${format(found.segments)})`;
  return new CodecError(`cannot send ${refusal.what}${where}: ${refusal.advice}`, { cause: err });
}

/** The first value in `root` (depth first, in write order) that `match` accepts, and the path to it. */
function pathTo(root: unknown, match: (v: unknown) => boolean, walk: Walk): { value: unknown; segments: string[] } | null {
  const seen = new Set<object>();
  const segments: string[] = [];
  let hit: unknown;
  const visit = (v: unknown, depth: number): boolean => {
    if (match(v)) {
      hit = v;
      return true;
    }
    if (typeof v !== 'object' || v === null || seen.has(v) || depth > MAX_WALK_DEPTH) return false;
    seen.add(v);
    const child = (segment: string, x: unknown): boolean => {
      segments.push(segment);
      if (visit(x, depth + 1)) return true;
      segments.pop();
      return false;
    };
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) if (child(`[${i}]`, v[i])) return true;
    } else if (v instanceof Map) {
      let i = 0;
      for (const [key, x] of v) {
        if (child(`.keys()[${i++}]`, key) || child(`.get(${keyText(key)})`, x)) return true;
      }
    } else if (v instanceof Set) {
      let i = 0;
      for (const x of v) if (child(`.values()[${i++}]`, x)) return true;
    } else if (isPlain(v) || (walk.flattensInstances && flattened(v))) {
      for (const key in v) {
        if (Object.hasOwn(v, key) && child(member(key), (v as Record<string, unknown>)[key])) return true;
      }
    }
    return false;
  };
  return visit(root, 0) ? { value: hit, segments } : null;
}

function isPlain(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as object | null;
  return proto === null || Object.getPrototypeOf(proto) === null;
}

/** A class instance msgpack writes as a plain object (not one of msgpackr's own types, no toJSON). */
function flattened(v: object): boolean {
  return !(v instanceof Date || v instanceof RegExp || v instanceof Error || v instanceof ArrayBuffer || ArrayBuffer.isView(v)) && typeof (v as { toJSON?: unknown }).toJSON !== 'function';
}

function format(segments: readonly string[]): string {
  if (segments.length <= MAX_PATH_SEGMENTS) return segments.join('');
  return `${segments.slice(0, 4).join('')}…${segments.slice(-(MAX_PATH_SEGMENTS - 4)).join('')}`;
}

function member(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function keyText(key: unknown): string {
  switch (typeof key) {
    case 'string':
      return JSON.stringify(key);
    case 'number':
    case 'boolean':
    case 'undefined':
      return String(key);
    case 'bigint':
      return `${key}n`;
    default:
      return key === null ? 'null' : '…';
  }
}

function hasOwnEnumerable(v: object): boolean {
  for (const key in v) if (Object.hasOwn(v, key)) return true;
  return false;
}

/** Whether a prototype chain (below Object.prototype) defines anything but constructors: methods, accessors. */
function hasBehaviour(proto: object | null): boolean {
  for (let p = proto; p !== null && Object.getPrototypeOf(p) !== null; p = Object.getPrototypeOf(p) as object | null) {
    if (Object.getOwnPropertySymbols(p).length > 0) return true;
    for (const name of Object.getOwnPropertyNames(p)) if (name !== 'constructor') return true;
  }
  return false;
}

function className(v: object): string {
  const ctor = (v as { constructor?: unknown }).constructor;
  if (typeof ctor === 'function' && ctor.name !== '') return ctor.name;
  const tag = (v as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag];
  return typeof tag === 'string' && tag !== '' ? tag : 'an anonymous class';
}
