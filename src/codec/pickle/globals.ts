/**
 * The allow-list: the only globals a pickle may name, and what each becomes. CPython's `pickle.loads`
 * imports any global it is given (`find_class`), which is why a pickle is code (cpython-wire.md §6,
 * gh-84220). Here a name resolves only through the null-prototype table below to a handler written for
 * it; nothing a peer sends ever reaches a JS prototype, constructor or property lookup.
 *
 *   global                                        used as                       becomes
 *   multiprocessing.managers.Token                NEWOBJ () + BUILD (3-tuple)   Token
 *   multiprocessing.managers.RebuildProxy         REDUCE (cls, token, ser, kw)  ObjectRef (then reviveRef)
 *   multiprocessing.managers.<X>Proxy, AutoProxy  RebuildProxy's first arg      (its name, in the ObjectRef)
 *   <module>.<Name>Proxy (user proxy classes)     RebuildProxy's first arg only (its name, in the ObjectRef)
 *   builtins.<Exception>, _queue.Empty, ...       REDUCE (args)                 PythonError (makePythonError)
 *   builtins.slice                                REDUCE (start, stop, step)    Slice
 *   builtins.set / frozenset                      REDUCE ([items],) (proto 2)   Set
 *   builtins.bytes                                REDUCE () (proto 2: b'')      Buffer
 *   _codecs.encode                                REDUCE (str, 'latin1')        Buffer (proto 2 bytes)
 *   builtins.bytearray                            REDUCE (bytes,)               Uint8Array (not a Buffer)
 *   copyreg._reconstructor                        REDUCE (cls, object, None)    blank Token/Namespace/Value
 *   builtins.object                               _reconstructor's 2nd arg only
 *   array.array, array._array_reconstructor       REDUCE                        number[]
 *   collections.OrderedDict                       REDUCE () + SETITEMS          same as a dict
 *   multiprocessing.managers.Namespace            NEWOBJ () + BUILD dict        plain object
 *   multiprocessing.managers.Value                NEWOBJ () + BUILD dict        { typecode, value }
 *   builtins.str/int/float/bool/bytes/...,        a bare value (a Value's        PythonClass (written back
 *   ctypes.c_int, c_char_p, ... (simple types)    typecode)                      as the same global)
 *
 * Protocols 0-2 name Python 2 modules (`__builtin__`, `exceptions`, `copy_reg`) because CPython's pickler
 * writes them for Python 2 readers (`fix_imports`, `Lib/_compat_pickle.py`); they are mapped back, as the
 * unpickler does, only for protocol < 3.
 */
import { Buffer } from 'node:buffer';
import { ForbiddenGlobalError } from '../../errors.js';
import { pyTypeName } from '../../python-repr.js';
import { OTHER_PYTHON_EXCEPTIONS, PYTHON_ERRORS, makePythonError } from '../../python-errors.js';
import { ObjectRef } from '../ref.js';
import { Token } from '../token.js';
import { Slice, Tuple } from '../values.js';
import { DictBuilder, Instance, PyGlobal, defineKey, type GlobalEntry, type UnpicklerHooks } from './builders.js';

const MANAGERS = 'multiprocessing.managers';

/** Python 2 module names that protocol 0-2 pickles use (CPython `_compat_pickle.IMPORT_MAPPING`, the part we need). */
const PY2_MODULES: Readonly<Record<string, string>> = Object.assign(Object.create(null) as Record<string, string>, {
  __builtin__: 'builtins',
  exceptions: 'builtins',
  copy_reg: 'copyreg',
  Queue: 'queue',
});

// ---------------------------------------------------------------------------------------------------
// Handlers

/** A declared function (not a method of a contextually typed parameter), so TypeScript narrows after it. */
function fail(cx: UnpicklerHooks, message: string): never {
  return cx.fail(message);
}

function arity(args: readonly unknown[], g: PyGlobal, cx: UnpicklerHooks, min: number, max = min): void {
  if (args.length < min || args.length > max) {
    const want = min === max ? `${min}` : `${min} to ${max}`;
    fail(cx, `${g.qualifiedName} takes ${want} arguments, got ${args.length}`);
  }
}

/** Any global in `args` other than at `allowed` is refused by name. */
function noGlobalsExcept(args: readonly unknown[], allowed: number): void {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (i !== allowed && a instanceof PyGlobal) throw new ForbiddenGlobalError(a.module, a.name);
  }
}


/** The state of a Token: `(typeid, address, id)`, address `(host, port)`, a path, or abstract bytes. */
function tokenFrom(state: unknown, cx: UnpicklerHooks): Token {
  if (!Array.isArray(state) || state.length !== 3) fail(cx, `Token state must be a (typeid, address, id) tuple, got ${pyTypeName(state)}`);
  const [typeid, address, id] = state as unknown[];
  if (typeof typeid !== 'string' || typeof id !== 'string') fail(cx, 'Token typeid and id must be str');
  return new Token(typeid, addressFrom(address, cx), id);
}

function addressFrom(address: unknown, cx: UnpicklerHooks): Token['address'] {
  if (typeof address === 'string') return address;
  if (Buffer.isBuffer(address)) {
    // Linux abstract socket names arrive as bytes (b'\0listener-...'); they are usually ASCII. Read them
    // as UTF-8 (what Python uses for a str address) unless that would lose bytes.
    const utf8 = address.toString('utf8');
    return utf8.includes('\ufffd') ? address.toString('latin1') : utf8;
  }
  if (Array.isArray(address) && address.length === 2) {
    const [host, port] = address as unknown[];
    if (typeof host === 'string' && typeof port === 'number' && Number.isInteger(port)) return [host, port];
  }
  return fail(cx, `Token address must be (host, port), a str path or bytes, got ${pyTypeName(address)}`);
}

function exposedFrom(kwds: unknown, cx: UnpicklerHooks): string[] | null {
  let exposed: unknown;
  if (kwds instanceof Map) exposed = kwds.get('exposed');
  else if (kwds !== null && typeof kwds === 'object' && Object.prototype.hasOwnProperty.call(kwds, 'exposed')) {
    exposed = (kwds as Record<string, unknown>).exposed;
  } else if (kwds === null || typeof kwds !== 'object' || Array.isArray(kwds)) {
    fail(cx, `RebuildProxy kwds must be a dict, got ${pyTypeName(kwds)}`);
  }
  if (exposed === undefined || exposed === null) return null;
  if (!Array.isArray(exposed) && !(exposed instanceof Set)) fail(cx, `RebuildProxy exposed must be a tuple of str, got ${pyTypeName(exposed)}`);
  const names: string[] = [];
  for (const name of exposed as Iterable<unknown>) {
    if (typeof name !== 'string') fail(cx, 'RebuildProxy exposed must hold only str');
    names.push(name);
  }
  return names;
}

/**
 * `RebuildProxy(func, token, serializer, kwds)` (cpython-wire.md §3.7). The proxy class is recorded by
 * name: bare for `multiprocessing.managers` classes, `module.Name` otherwise, so the encoder can write it
 * back. `kwds['authkey']` (only present while spawning a child) is dropped on purpose.
 */
const rebuildProxy: GlobalEntry = {
  takesGlobals: true,
  call(args, g, cx) {
    arity(args, g, cx, 4);
    noGlobalsExcept(args, 0);
    const [cls, token, serializer, kwds] = args;
    if (!(cls instanceof PyGlobal) || !cls.entry.proxyClass) fail(cx, `RebuildProxy needs a proxy class first, got ${pyTypeName(cls)}`);
    if (!(token instanceof Token)) fail(cx, `RebuildProxy needs a Token second, got ${pyTypeName(token)}`);
    if (typeof serializer !== 'string') fail(cx, 'RebuildProxy serializer must be a str');
    const proxytype = cls.module === MANAGERS ? cls.name : cls.qualifiedName;
    const ref = new ObjectRef(token, exposedFrom(kwds, cx), proxytype);
    const revive = cx.context?.reviveRef;
    if (!revive) return ref;
    try {
      return revive.call(cx.context, ref);
    } catch (err) {
      return fail(cx, `reviveRef failed for ${token.toString()}: ${err instanceof Error ? err.message : String(err)}`);
    }
  },
};

const proxyClass: GlobalEntry = { proxyClass: true };

const tokenClass: GlobalEntry = {
  create(args, g, cx) {
    arity(args, g, cx, 0);
    return new Instance(g);
  },
  call(args, _g, cx) {
    return tokenFrom(args, cx);
  },
  build(inst, state, cx) {
    inst.value = tokenFrom(state, cx);
  },
};

/** `Namespace.__dict__.update(state)`; the instance is a plain object from the start. */
const namespaceClass: GlobalEntry = {
  create(args, g, cx) {
    arity(args, g, cx, 0);
    return new Instance(g, {});
  },
  call(args, g, cx) {
    arity(args, g, cx, 0);
    return new Instance(g, {});
  },
  build(inst, state, cx) {
    if (state === null) return;
    const target = inst.value as Record<string, unknown>;
    for (const [key, value] of dictEntries(state, 'Namespace state', cx)) {
      if (typeof key !== 'string') fail(cx, 'Namespace attribute names must be str');
      defineKey(target, key, value);
    }
  },
};

/** `multiprocessing.managers.Value(typecode, value)`, state `{'_typecode': ..., '_value': ...}`. */
const valueClass: GlobalEntry = {
  create(args, g, cx) {
    arity(args, g, cx, 0);
    return new Instance(g);
  },
  call(args, g, cx) {
    arity(args, g, cx, 2, 3);
    return makeValue(args[0], args[1], cx);
  },
  build(inst, state, cx) {
    let typecode: unknown;
    let value: unknown;
    for (const [key, v] of dictEntries(state, 'Value state', cx)) {
      if (key === '_typecode') typecode = v;
      else if (key === '_value') value = v;
    }
    inst.value = makeValue(typecode, value, cx);
  },
};

function makeValue(typecode: unknown, value: unknown, cx: UnpicklerHooks): { typecode: string; value: unknown } {
  if (typeof typecode !== 'string') fail(cx, 'Value typecode must be a str');
  return { typecode, value: value === undefined ? null : value };
}

function dictEntries(state: unknown, what: string, cx: UnpicklerHooks): Iterable<[unknown, unknown]> {
  if (state instanceof Map) return state.entries();
  if (state !== null && typeof state === 'object' && Object.getPrototypeOf(state) === Object.prototype) {
    return Object.entries(state as Record<string, unknown>);
  }
  return fail(cx, `${what} must be a dict, got ${pyTypeName(state)}`);
}

/** Exception classes: `cls(*args)` and `cls.__new__(cls, *args)` both give the Python error. */
function exceptionClass(qualifiedName: string): GlobalEntry {
  const make = (args: readonly unknown[]) => makePythonError(qualifiedName, Array.from(args));
  return { call: make, create: make };
}

const sliceClass: GlobalEntry = {
  call(args, g, cx) {
    arity(args, g, cx, 1, 3);
    for (const a of args) {
      if (a !== null && !(typeof a === 'number' && Number.isInteger(a))) fail(cx, `slice bounds must be int or None, got ${pyTypeName(a)}`);
    }
    const [a, b, c] = args as Array<number | null>;
    return args.length === 1 ? new Slice(null, a ?? null) : new Slice(a ?? null, b ?? null, c ?? null);
  },
};

function setClass(frozen: boolean): GlobalEntry {
  return {
    call(args, g, cx) {
      arity(args, g, cx, 0, 1);
      const src = args[0];
      if (src !== undefined && !Array.isArray(src) && !(src instanceof Set)) fail(cx, `${g.qualifiedName} needs a list, got ${pyTypeName(src)}`);
      const set = new Set<unknown>(src as Iterable<unknown> | undefined);
      if (frozen) cx.markFrozen(set);
      return set;
    },
  };
}

const LATIN1 = new Set(['latin1', 'latin-1', 'iso-8859-1', 'iso8859-1', 'l1']);

/** Protocol 0-2 bytes: `_codecs.encode('\xab...', 'latin1')` (CPython's `save_bytes` for proto < 3). */
function latin1Bytes(text: unknown, encoding: unknown, what: string, cx: UnpicklerHooks): Buffer {
  if (typeof text !== 'string' || typeof encoding !== 'string' || !LATIN1.has(encoding.toLowerCase())) {
    fail(cx, `${what} is only accepted as (str, 'latin1')`);
  }
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0xff) fail(cx, `${what}: character U+${text.charCodeAt(i).toString(16)} is not latin-1`);
  }
  return Buffer.from(text, 'latin1');
}

const codecsEncode: GlobalEntry = {
  call(args, g, cx) {
    arity(args, g, cx, 2);
    return latin1Bytes(args[0], args[1], g.qualifiedName, cx);
  },
};

const bytesClass: GlobalEntry = {
  call(args, g, cx) {
    // Python 3 writes an empty bytes as `bytes()` for protocol < 3; nothing else is accepted (`bytes(n)`
    // would let a peer ask for n zero bytes).
    arity(args, g, cx, 0);
    return Buffer.alloc(0);
  },
};

const bytearrayClass: GlobalEntry = {
  call(args, g, cx) {
    arity(args, g, cx, 0, 2);
    if (args.length === 0) return new Uint8Array(0);
    const [src, encoding] = args;
    if (args.length === 2) return new Uint8Array(latin1Bytes(src, encoding, g.qualifiedName, cx));
    if (!Buffer.isBuffer(src)) fail(cx, `bytearray needs bytes, got ${pyTypeName(src)}`);
    return new Uint8Array(src);
  },
};

/**
 * `copyreg._reconstructor(cls, object, None)`: protocol 0/1's way to make a blank instance
 * (`copyreg._reduce_ex`); BUILD then gives it its state.
 */
const reconstructor: GlobalEntry = {
  takesGlobals: true,
  call(args, g, cx) {
    arity(args, g, cx, 3);
    const [cls, base, state] = args;
    if (!(cls instanceof PyGlobal) || !cls.entry.create || !cls.entry.build) {
      if (cls instanceof PyGlobal) throw new ForbiddenGlobalError(cls.module, cls.name);
      fail(cx, `copyreg._reconstructor needs a class first, got ${pyTypeName(cls)}`);
    }
    if (!(base instanceof PyGlobal) || !base.entry.baseObject) {
      if (base instanceof PyGlobal) throw new ForbiddenGlobalError(base.module, base.name);
      fail(cx, 'copyreg._reconstructor is only accepted with builtins.object as base');
    }
    if (state !== null) fail(cx, 'copyreg._reconstructor is only accepted with a None state');
    return cls.entry.create([], cls, cx);
  },
};

const baseObject: GlobalEntry = { baseObject: true };

/**
 * Item decoders for `array` typecodes as a little-endian x86-64/arm64 Linux or macOS sender lays them out
 * (`array.array.tobytes()`; `l`/`L` are 8 bytes there). managers.py pickles arrays as
 * `array.array(typecode, a.tobytes())` (`reduce_array`).
 */
const ARRAY_ITEMS: Readonly<Record<string, readonly [size: number, read: (b: Buffer, at: number) => number | bigint]>> = Object.assign(
  Object.create(null) as Record<string, readonly [number, (b: Buffer, at: number) => number | bigint]>,
  {
    b: [1, (b: Buffer, at: number) => b.readInt8(at)],
    B: [1, (b: Buffer, at: number) => b.readUInt8(at)],
    h: [2, (b: Buffer, at: number) => b.readInt16LE(at)],
    H: [2, (b: Buffer, at: number) => b.readUInt16LE(at)],
    i: [4, (b: Buffer, at: number) => b.readInt32LE(at)],
    I: [4, (b: Buffer, at: number) => b.readUInt32LE(at)],
    l: [8, (b: Buffer, at: number) => safe(b.readBigInt64LE(at))],
    L: [8, (b: Buffer, at: number) => safe(b.readBigUInt64LE(at))],
    q: [8, (b: Buffer, at: number) => safe(b.readBigInt64LE(at))],
    Q: [8, (b: Buffer, at: number) => safe(b.readBigUInt64LE(at))],
    f: [4, (b: Buffer, at: number) => b.readFloatLE(at)],
    d: [8, (b: Buffer, at: number) => b.readDoubleLE(at)],
  },
);

/**
 * `array._array_reconstructor` machine formats (CPython `Modules/arraymodule.c`, `enum machine_format_code`):
 * the code says the item layout explicitly, so these need no guess about the sender.
 */
const MACHINE_FORMATS: ReadonlyArray<readonly [size: number, read: (b: Buffer, at: number) => number | bigint]> = [
  [1, (b, at) => b.readUInt8(at)], // 0 UNSIGNED_INT8
  [1, (b, at) => b.readInt8(at)], // 1 SIGNED_INT8
  [2, (b, at) => b.readUInt16LE(at)], // 2 UNSIGNED_INT16_LE
  [2, (b, at) => b.readUInt16BE(at)], // 3 UNSIGNED_INT16_BE
  [2, (b, at) => b.readInt16LE(at)], // 4 SIGNED_INT16_LE
  [2, (b, at) => b.readInt16BE(at)], // 5 SIGNED_INT16_BE
  [4, (b, at) => b.readUInt32LE(at)], // 6 UNSIGNED_INT32_LE
  [4, (b, at) => b.readUInt32BE(at)], // 7 UNSIGNED_INT32_BE
  [4, (b, at) => b.readInt32LE(at)], // 8 SIGNED_INT32_LE
  [4, (b, at) => b.readInt32BE(at)], // 9 SIGNED_INT32_BE
  [8, (b, at) => safe(b.readBigUInt64LE(at))], // 10 UNSIGNED_INT64_LE
  [8, (b, at) => safe(b.readBigUInt64BE(at))], // 11 UNSIGNED_INT64_BE
  [8, (b, at) => safe(b.readBigInt64LE(at))], // 12 SIGNED_INT64_LE
  [8, (b, at) => safe(b.readBigInt64BE(at))], // 13 SIGNED_INT64_BE
  [4, (b, at) => b.readFloatLE(at)], // 14 IEEE_754_FLOAT_LE
  [4, (b, at) => b.readFloatBE(at)], // 15 IEEE_754_FLOAT_BE
  [8, (b, at) => b.readDoubleLE(at)], // 16 IEEE_754_DOUBLE_LE
  [8, (b, at) => b.readDoubleBE(at)], // 17 IEEE_754_DOUBLE_BE
  // 18-21 are UTF-16/UTF-32 ('u', 'w'): refused, send a str instead.
];

function safe(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function readItems(
  data: Buffer,
  layout: readonly [number, (b: Buffer, at: number) => number | bigint],
  what: string,
  cx: UnpicklerHooks,
): Array<number | bigint> {
  const [size, read] = layout;
  if (data.length % size !== 0) fail(cx, `${what}: ${data.length} bytes is not a whole number of ${size}-byte items`);
  const out: Array<number | bigint> = [];
  for (let at = 0; at < data.length; at += size) out.push(read(data, at));
  return out;
}

function arrayTypecode(typecode: unknown, cx: UnpicklerHooks): string {
  if (typeof typecode !== 'string' || typecode.length !== 1) fail(cx, 'array typecode must be a one-character str');
  return typecode;
}

/** `array.array(typecode[, list | bytes])`. */
const arrayClass: GlobalEntry = {
  arrayType: true,
  call(args, g, cx) {
    arity(args, g, cx, 1, 2);
    const typecode = arrayTypecode(args[0], cx);
    const layout = ARRAY_ITEMS[typecode];
    if (!layout) fail(cx, `array typecode '${typecode}' is not supported (unicode arrays: send a str)`);
    const init = args[1];
    if (init === undefined) return [];
    if (Buffer.isBuffer(init)) return readItems(init, layout, 'array', cx);
    if (!Array.isArray(init)) fail(cx, `array initializer must be a list or bytes, got ${pyTypeName(init)}`);
    const out: Array<number | bigint> = [];
    for (const item of init as unknown[]) {
      if (typeof item !== 'number' && typeof item !== 'bigint') fail(cx, 'array items must be numbers');
      out.push(item);
    }
    return out;
  },
};

/** `array._array_reconstructor(array.array, typecode, mformat_code, items)` (protocol 3+). */
const arrayReconstructor: GlobalEntry = {
  takesGlobals: true,
  call(args, g, cx) {
    arity(args, g, cx, 4);
    noGlobalsExcept(args, 0);
    const [cls, typecode, mformat, items] = args;
    if (!(cls instanceof PyGlobal) || !cls.entry.arrayType) {
      if (cls instanceof PyGlobal) throw new ForbiddenGlobalError(cls.module, cls.name);
      fail(cx, 'array._array_reconstructor needs array.array first');
    }
    arrayTypecode(typecode, cx);
    const layout = typeof mformat === 'number' ? MACHINE_FORMATS[mformat] : undefined;
    if (!layout) fail(cx, `array machine format ${String(mformat)} is not supported (unicode arrays: send a str)`);
    if (!Buffer.isBuffer(items)) fail(cx, 'array._array_reconstructor needs bytes');
    return readItems(items, layout, 'array', cx);
  },
};

/** `OrderedDict()` then SETITEMS (its `__reduce__` yields the items), or `OrderedDict([(k, v), ...])`. */
const orderedDictClass: GlobalEntry = {
  call(args, g, cx) {
    arity(args, g, cx, 0, 1);
    const dict = new DictBuilder();
    const pairs = args[0];
    if (pairs === undefined) return dict;
    if (!Array.isArray(pairs)) fail(cx, `OrderedDict needs a list of pairs, got ${pyTypeName(pairs)}`);
    for (const pair of pairs as unknown[]) {
      if (!Array.isArray(pair) || pair.length !== 2) fail(cx, 'OrderedDict items must be (key, value) pairs');
      if (!dict.set(pair[0], pair[1])) fail(cx, 'OrderedDict key error');
    }
    return dict;
  },
};

/** A class that is only ever data (`PythonClass`): calling or instantiating it is refused. */
const typeValue: GlobalEntry = { typeValue: true };

/**
 * `ctypes` simple types, as `managers.Value(typecode, ...)` users pass them (`Value(c_char_p, 'x')`);
 * several are aliases of each other in CPython, and a class pickles under its `__qualname__`.
 */
const CTYPES_SIMPLE_TYPES = [
  'c_bool', 'c_char', 'c_wchar', 'c_byte', 'c_ubyte', 'c_short', 'c_ushort', 'c_int', 'c_uint', 'c_long', 'c_ulong',
  'c_longlong', 'c_ulonglong', 'c_size_t', 'c_ssize_t', 'c_float', 'c_double', 'c_longdouble', 'c_char_p', 'c_wchar_p',
  'c_void_p', 'c_int8', 'c_int16', 'c_int32', 'c_int64', 'c_uint8', 'c_uint16', 'c_uint32', 'c_uint64', 'c_time_t',
];

// ---------------------------------------------------------------------------------------------------
// The table

/** The proxy classes `multiprocessing.managers` defines (3.11-3.14), plus the `AutoProxy` factory. */
const MANAGER_PROXIES = [
  'BaseProxy',
  'AutoProxy',
  'DictProxy',
  'ListProxy',
  'BaseListProxy',
  'IteratorProxy',
  'AcquirerProxy',
  'ConditionProxy',
  'EventProxy',
  'BarrierProxy',
  'NamespaceProxy',
  'ValueProxy',
  'ArrayProxy',
  'PoolProxy',
  'BasePoolProxy',
  'SetProxy',
];

type Table = Record<string, Record<string, GlobalEntry>>;
const TABLE: Table = Object.create(null) as Table;

function allow(module: string, name: string, entry: GlobalEntry): void {
  const names = TABLE[module] ?? (TABLE[module] = Object.create(null) as Record<string, GlobalEntry>);
  names[name] = Object.freeze(entry);
}
function allowQualified(qualifiedName: string, entry: GlobalEntry): void {
  const dot = qualifiedName.lastIndexOf('.');
  allow(qualifiedName.slice(0, dot), qualifiedName.slice(dot + 1), entry);
}

for (const name of [...Object.keys(PYTHON_ERRORS), ...OTHER_PYTHON_EXCEPTIONS]) allowQualified(name, exceptionClass(name));
for (const name of MANAGER_PROXIES) allow(MANAGERS, name, proxyClass);
allow(MANAGERS, 'Token', tokenClass);
allow(MANAGERS, 'RebuildProxy', rebuildProxy);
allow(MANAGERS, 'Namespace', namespaceClass);
allow(MANAGERS, 'Value', valueClass);
allow('builtins', 'slice', sliceClass);
allow('builtins', 'set', setClass(false));
allow('builtins', 'frozenset', setClass(true));
allow('builtins', 'bytes', { ...bytesClass, typeValue: true });
allow('builtins', 'bytearray', { ...bytearrayClass, typeValue: true });
for (const name of ['str', 'int', 'float', 'bool', 'complex']) allow('builtins', name, typeValue);
for (const name of CTYPES_SIMPLE_TYPES) allow('ctypes', name, typeValue);
allow('builtins', 'object', baseObject);
allow('_codecs', 'encode', codecsEncode);
allow('copyreg', '_reconstructor', reconstructor);
allow('array', 'array', arrayClass);
allow('array', '_array_reconstructor', arrayReconstructor);
allow('collections', 'OrderedDict', orderedDictClass);
Object.freeze(TABLE);

/** A dotted Python identifier path: `__main__`, `pkg.mod`, `Outer.InnerProxy`. */
const DOTTED_NAME = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/**
 * Resolves `module.name` as GLOBAL / STACK_GLOBAL name it, or throws `ForbiddenGlobalError`.
 * A user proxy class (`<module>.<Name>Proxy`) resolves to an entry that is only good as RebuildProxy's
 * first argument: anywhere else it is refused by name when used.
 */
export function resolveGlobal(module: string, name: string, protocol: number): PyGlobal {
  let mod = module;
  if (protocol < 3) mod = PY2_MODULES[module] ?? module;
  const entry = TABLE[mod]?.[name];
  if (entry) return new PyGlobal(mod, name, entry);
  if (name.endsWith('Proxy') && DOTTED_NAME.test(mod) && DOTTED_NAME.test(name)) return new PyGlobal(mod, name, proxyClass);
  throw new ForbiddenGlobalError(module, name);
}
