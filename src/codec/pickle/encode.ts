/**
 * The pickler: protocol 4, the protocol CPython 3.8-3.13 write by default and every 3.4+ reads
 * (cpython-wire.md §5.1). One pass into a growable Buffer.
 *
 * Output follows CPython's `pickle._Pickler` opcode for opcode where that costs nothing, so a simple
 * message is byte-identical to what CPython sends (`('#RETURN', None)`, a Token, an `#ERROR` reply):
 *
 *   value                         opcodes
 *   None / bool                   NONE, NEWTRUE / NEWFALSE
 *   int                           BININT1 (0..255), BININT2 (..65535), BININT (int32), LONG1 / LONG4
 *   float                         BINFLOAT (big-endian double)
 *   str                           SHORT_BINUNICODE / BINUNICODE / BINUNICODE8, MEMOIZE
 *   bytes                         SHORT_BINBYTES / BINBYTES / BINBYTES8, MEMOIZE
 *   tuple                         EMPTY_TUPLE | items TUPLE1/2/3 | MARK items TUPLE, MEMOIZE
 *   list / dict / set             EMPTY_LIST/DICT/SET, MEMOIZE, then batches of 1000 (CPython's
 *                                 _BATCHSIZE): MARK items APPENDS/SETITEMS/ADDITEMS (one leftover item:
 *                                 APPEND / SETITEM)
 *   global                        SHORT_BINUNICODE module, MEMOIZE, name, MEMOIZE, STACK_GLOBAL, MEMOIZE
 *   obj via __reduce__            global args-tuple REDUCE MEMOIZE
 *   [PICKLE_REDUCE]() object      global args-tuple REDUCE | NEWOBJ, MEMOIZE, then state BUILD if any
 *   PythonClass                   global (as above)
 *
 * Lists, dicts, sets, tuples, tokens and references are memoized by identity, so a value shared twice
 * (or a list that contains itself) is written once and referred to with BINGET, as CPython does.
 * Strings are written each time (JS strings have no identity), except global names.
 */
import { Buffer } from 'node:buffer';
import { CodecError } from '../../errors.js';
import { PythonError } from '../../python-errors.js';
import { RefHolder } from '../ref.js';
import { Token } from '../token.js';
import { Slice, Tuple } from '../values.js';
import type { PickleLimits } from './limits.js';
import { Op, WRITE_PROTOCOL } from './opcodes.js';
import { PythonClass } from './python-class.js';
import { located, pickleRefusalOf, refuse, refusalOf, type Refusal, type Walk } from '../sendable.js';
import { isWellFormed, writeUtf8Surrogatepass } from './utf8.js';

/** CPython's `_Pickler._BATCHSIZE`: items per APPENDS / SETITEMS / ADDITEMS. */
const BATCH = 1000;
/** CPython's `_Framer._FRAME_SIZE_MIN`: smaller pickles get no FRAME. */
const FRAME_MIN = 4;
/** PROTO 4 (2 bytes) then FRAME with its 8-byte length. */
const HEADER = 2 + 9;
const MANAGERS = 'multiprocessing.managers';
/** Strings up to this many UTF-16 units fit SHORT_BINUNICODE whatever they hold (3 bytes per unit). */
const SHORT_STR_UNITS = 85;

/**
 * An object that knows its Python form implements `[PICKLE_REDUCE]()`, and is written as the Python object
 * it describes: how CPython's `#GETVALUE` reply carries a copy of a `managers.Value`, an `array.array` or a
 * `managers.Namespace`, and how a user class can reach a Python peer as a Python class instance.
 * Only the sending side names these globals; decoding still goes through the allow-list.
 */
export const PICKLE_REDUCE = Symbol.for('mpmanager.pickleReduce');

/**
 * A Python object as `__reduce__` describes it: `global(*args)`, or with `newobj` `global.__new__(global,
 * *args)` (NEWOBJ); then, when `state` is given, BUILD with it (`__setstate__(state)`, or
 * `__dict__.update(state)` for a dict). Examples:
 * `{ global: 'array.array', args: ['i', [1, 2]] }`;
 * `{ global: 'multiprocessing.managers.Value', newobj: true, state: { _typecode: 'i', _value: 7 } }`.
 */
export interface PickleReduce {
  /** `module.QualifiedName`, e.g. `'multiprocessing.managers.Namespace'`. */
  readonly global: string;
  readonly args?: readonly unknown[];
  readonly newobj?: boolean;
  readonly state?: unknown;
}

/** Whether `v` says how it pickles. */
export function hasPickleReduce(v: unknown): v is { [PICKLE_REDUCE](): PickleReduce } {
  return typeof v === 'object' && v !== null && typeof (v as Record<symbol, unknown>)[PICKLE_REDUCE] === 'function';
}

// One scratch buffer is reused across calls; the result is copied out of it. A nested encode (a
// RefHolder's toObjectRef() that encodes) gets a fresh one.
const SCRATCH_SIZE = 64 * 1024;
const SCRATCH_KEEP = 1024 * 1024;
let scratch: Buffer | null = Buffer.allocUnsafe(SCRATCH_SIZE);

const WALK: Walk = { flattensInstances: false };

/**
 * Encodes one value as a protocol 4 pickle. Throws `CodecError` for values Python cannot receive (the
 * table is in ../sendable.ts), saying where in `value` the refused one sits.
 */
export function encodePickle(value: unknown, limits: PickleLimits): Buffer {
  const buf = scratch ?? Buffer.allocUnsafe(SCRATCH_SIZE);
  scratch = null;
  const p = new Pickler(buf, limits.maxDepth);
  try {
    return p.dump(value);
  } catch (err) {
    throw located(err, value, WALK);
  } finally {
    const used = p.buffer;
    scratch = used.length <= SCRATCH_KEEP ? used : Buffer.allocUnsafe(SCRATCH_SIZE);
  }
}

class Pickler {
  #buf: Buffer;
  #pos = 0;
  readonly #maxDepth: number;
  #depth = 0;
  /** Number of MEMOIZE written so far: the next memo index. */
  #memoSize = 0;
  /** Memo index of each object already written. */
  readonly #seen = new Map<object, number>();
  /** Memo index of global module and class names, and of the globals themselves (`module\0name`). */
  readonly #names = new Map<string, number>();

  constructor(buf: Buffer, maxDepth: number) {
    this.#buf = buf;
    this.#maxDepth = maxDepth;
  }

  get buffer(): Buffer {
    return this.#buf;
  }

  dump(value: unknown): Buffer {
    this.#ensure(HEADER);
    const buf = this.#buf;
    buf[0] = Op.PROTO;
    buf[1] = WRITE_PROTOCOL;
    this.#pos = HEADER;
    this.#save(value);
    this.#u8(Op.STOP);
    const body = this.#pos - HEADER;
    const out = this.#buf;
    if (body < FRAME_MIN) {
      const res = Buffer.allocUnsafe(2 + body);
      out.copy(res, 0, 0, 2);
      out.copy(res, 2, HEADER, this.#pos);
      return res;
    }
    out[2] = Op.FRAME;
    out.writeUInt32LE(body % 2 ** 32, 3);
    out.writeUInt32LE(Math.floor(body / 2 ** 32), 7);
    const res = Buffer.allocUnsafe(this.#pos);
    out.copy(res, 0, 0, this.#pos);
    return res;
  }

  // -------------------------------------------------------------------------------------------------
  // Writing

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.#buf.copy(next, 0, 0, this.#pos);
    this.#buf = next;
  }

  #u8(b: number): void {
    this.#ensure(1);
    this.#buf[this.#pos++] = b;
  }

  #u8x2(a: number, b: number): void {
    this.#ensure(2);
    this.#buf[this.#pos++] = a;
    this.#buf[this.#pos++] = b;
  }

  /** An opcode with a 4-byte little-endian argument. */
  #op32(op: number, n: number): void {
    this.#ensure(5);
    this.#buf[this.#pos] = op;
    this.#buf.writeUInt32LE(n, this.#pos + 1);
    this.#pos += 5;
  }

  /** An opcode with an 8-byte little-endian length. */
  #op64(op: number, n: number): void {
    this.#ensure(9);
    this.#buf[this.#pos] = op;
    this.#buf.writeUInt32LE(n % 2 ** 32, this.#pos + 1);
    this.#buf.writeUInt32LE(Math.floor(n / 2 ** 32), this.#pos + 5);
    this.#pos += 9;
  }

  #memoize(obj?: object): void {
    if (obj !== undefined) this.#seen.set(obj, this.#memoSize);
    this.#memoSize++;
    this.#u8(Op.MEMOIZE);
  }

  #get(index: number): void {
    if (index < 256) this.#u8x2(Op.BINGET, index);
    else this.#op32(Op.LONG_BINGET, index);
  }

  // -------------------------------------------------------------------------------------------------
  // Values

  #save(v: unknown): void {
    switch (typeof v) {
      case 'string':
        return this.#str(v);
      case 'number':
        if (Number.isSafeInteger(v) && !Object.is(v, -0)) return this.#int(v);
        return this.#float(v);
      case 'boolean':
        return this.#u8(v ? Op.NEWTRUE : Op.NEWFALSE);
      case 'bigint':
        if (v >= -0x80000000n && v <= 0x7fffffffn) return this.#int(Number(v));
        return this.#long(v);
      case 'undefined':
        return this.#u8(Op.NONE);
      case 'object':
        if (v === null) return this.#u8(Op.NONE);
        return this.#object(v);
      case 'function':
      case 'symbol':
        throw refuse(v, refusalOf(v) as Refusal);
    }
  }

  #int(v: number): void {
    if (v >= 0) {
      if (v <= 0xff) return this.#u8x2(Op.BININT1, v);
      if (v <= 0xffff) {
        this.#ensure(3);
        this.#buf[this.#pos] = Op.BININT2;
        this.#buf.writeUInt16LE(v, this.#pos + 1);
        this.#pos += 3;
        return;
      }
    }
    if (v >= -0x80000000 && v <= 0x7fffffff) {
      this.#ensure(5);
      this.#buf[this.#pos] = Op.BININT;
      this.#buf.writeInt32LE(v, this.#pos + 1);
      this.#pos += 5;
      return;
    }
    // Beyond int32: the smallest two's complement that holds it, as `pickle.encode_long` gives.
    let n = 5;
    while (n < 6 && !(v >= -(2 ** (8 * n - 1)) && v < 2 ** (8 * n - 1))) n++;
    if (v >= -(2 ** (8 * n - 1)) && v < 2 ** (8 * n - 1)) {
      this.#ensure(2 + n);
      this.#buf[this.#pos] = Op.LONG1;
      this.#buf[this.#pos + 1] = n;
      this.#buf.writeIntLE(v, this.#pos + 2, n);
      this.#pos += 2 + n;
      return;
    }
    this.#long(BigInt(v));
  }

  /** LONG1 / LONG4 with the minimal two's complement bytes, little-endian. */
  #long(v: bigint): void {
    const magnitude = v < 0n ? -v - 1n : v;
    const hex = magnitude.toString(16);
    const bits = (hex.length - 1) * 4 + (32 - Math.clz32(parseInt(hex[0] as string, 16)));
    const n = Math.floor(bits / 8) + 1;
    const bytes = Buffer.from(BigInt.asUintN(8 * n, v).toString(16).padStart(2 * n, '0'), 'hex').reverse();
    if (n < 256) {
      this.#u8x2(Op.LONG1, n);
    } else {
      this.#ensure(5);
      this.#buf[this.#pos] = Op.LONG4;
      this.#buf.writeInt32LE(n, this.#pos + 1);
      this.#pos += 5;
    }
    this.#raw(bytes);
  }

  #float(v: number): void {
    this.#ensure(9);
    this.#buf[this.#pos] = Op.BINFLOAT;
    this.#buf.writeDoubleBE(v, this.#pos + 1);
    this.#pos += 9;
  }

  #raw(bytes: Uint8Array): void {
    this.#ensure(bytes.length);
    this.#buf.set(bytes, this.#pos);
    this.#pos += bytes.length;
  }

  #str(s: string): void {
    const n = s.length;
    if (n <= SHORT_STR_UNITS) {
      this.#ensure(2 + 3 * n + 1);
      const buf = this.#buf;
      buf[this.#pos] = Op.SHORT_BINUNICODE;
      const lenAt = this.#pos + 1;
      let pos = lenAt + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[pos++] = c;
      }
      if (i < n) pos = lenAt + 1 + this.#utf8(s, lenAt + 1);
      buf[lenAt] = pos - lenAt - 1;
      this.#pos = pos;
    } else {
      // Buffer.byteLength counts a lone surrogate as 3 bytes (U+FFFD), as many as surrogatepass writes.
      const len = Buffer.byteLength(s, 'utf8');
      if (len < 256) this.#u8x2(Op.SHORT_BINUNICODE, len);
      else if (len <= 0xffffffff) this.#op32(Op.BINUNICODE, len);
      else this.#op64(Op.BINUNICODE8, len);
      this.#ensure(len);
      this.#pos += this.#utf8(s, this.#pos);
    }
    this.#memoize();
  }

  /** Writes UTF-8 at `at` (room already ensured) the way CPython's surrogatepass does. */
  #utf8(s: string, at: number): number {
    if (isWellFormed(s)) return this.#buf.write(s, at, 'utf8');
    return writeUtf8Surrogatepass(this.#buf, at, s);
  }

  #bytes(b: Uint8Array): void {
    const n = b.length;
    if (n < 256) this.#u8x2(Op.SHORT_BINBYTES, n);
    else if (n <= 0xffffffff) this.#op32(Op.BINBYTES, n);
    else this.#op64(Op.BINBYTES8, n);
    this.#raw(b);
  }

  /** A global, memoized like CPython's `save_global` (module and name strings reused by identity there). */
  #global(module: string, name: string): void {
    const key = `${module}\0${name}`;
    const known = this.#names.get(key);
    if (known !== undefined) return this.#get(known);
    this.#name(module);
    this.#name(name);
    this.#u8(Op.STACK_GLOBAL);
    this.#names.set(key, this.#memoSize);
    this.#memoize();
  }

  #name(s: string): void {
    const known = this.#names.get(s);
    if (known !== undefined) return this.#get(known);
    this.#names.set(s, this.#memoSize);
    this.#str(s);
  }

  // -------------------------------------------------------------------------------------------------
  // Objects

  #object(v: object): void {
    const known = this.#seen.get(v);
    if (known !== undefined) return this.#get(known);
    if (++this.#depth > this.#maxDepth) {
      throw new CodecError(`value nests deeper than maxDepth (${this.#maxDepth}), or a tuple contains itself: flatten it before sending`);
    }
    if (Array.isArray(v)) {
      if (v instanceof Tuple) this.#tuple(v, v);
      else this.#list(v);
    } else if (v instanceof Uint8Array) {
      if (Buffer.isBuffer(v)) {
        this.#bytes(v);
        this.#memoize(v);
      } else {
        // bytearray.__reduce_ex__(4) is (bytearray, (bytes(self),)); BYTEARRAY8 would need protocol 5.
        this.#global('builtins', 'bytearray');
        this.#bytes(v);
        this.#memoize();
        this.#u8(Op.TUPLE1);
        this.#memoize();
        this.#u8(Op.REDUCE);
        this.#memoize(v);
      }
    } else {
      const proto: unknown = Object.getPrototypeOf(v);
      if (proto === Object.prototype || proto === null) {
        if (hasPickleReduce(v)) this.#custom(v, v[PICKLE_REDUCE]());
        else this.#dict(v as Record<string, unknown>);
      }
      else if (v instanceof Map) this.#map(v);
      else if (v instanceof Set) this.#set(v);
      else if (v instanceof Token) this.#token(v);
      else if (v instanceof RefHolder) this.#ref(v);
      else if (v instanceof PythonClass) this.#global(v.module, v.name);
      else if (hasPickleReduce(v)) this.#custom(v, v[PICKLE_REDUCE]());
      else if (v instanceof PythonError) this.#reduce(v, ...splitName(v.pyType), v.args);
      else if (v instanceof Error) this.#reduce(v, 'builtins', 'Exception', [String(v.message)]);
      else if (v instanceof Slice) this.#reduce(v, 'builtins', 'slice', [v.start, v.stop, v.step]);
      else throw refuse(v, pickleRefusalOf(v));
    }
    this.#depth--;
  }

  /** `global(*args)` as CPython's `save_reduce` writes it. */
  #reduce(v: object, module: string, name: string, args: readonly unknown[]): void {
    this.#global(module, name);
    this.#tuple(args);
    this.#u8(Op.REDUCE);
    this.#memoize(v);
  }

  /** An object that says how it pickles (`[PICKLE_REDUCE]`), as CPython's `save_reduce` writes it. */
  #custom(v: object, r: PickleReduce): void {
    const dot = typeof r?.global === 'string' ? r.global.lastIndexOf('.') : -1;
    if (dot <= 0 || dot === r.global.length - 1) throw new CodecError(`[PICKLE_REDUCE] must give a qualified global such as 'module.Name', got ${String(r?.global)}`);
    this.#global(r.global.slice(0, dot), r.global.slice(dot + 1));
    this.#tuple(r.args ?? []);
    this.#u8(r.newobj ? Op.NEWOBJ : Op.REDUCE);
    this.#memoize(v);
    if (r.state !== undefined) {
      this.#save(r.state);
      this.#u8(Op.BUILD);
    }
  }

  #tuple(items: readonly unknown[], self?: object): void {
    const n = items.length;
    if (n === 0) return this.#u8(Op.EMPTY_TUPLE);
    if (n > 3) this.#u8(Op.MARK);
    for (let i = 0; i < n; i++) this.#save(items[i]);
    this.#u8(n === 1 ? Op.TUPLE1 : n === 2 ? Op.TUPLE2 : n === 3 ? Op.TUPLE3 : Op.TUPLE);
    this.#memoize(self);
  }

  #list(v: readonly unknown[]): void {
    this.#u8(Op.EMPTY_LIST);
    this.#memoize(v);
    const n = v.length;
    for (let start = 0; start < n; start += BATCH) {
      const end = Math.min(n, start + BATCH);
      if (end - start === 1) {
        this.#save(v[start]);
        this.#u8(Op.APPEND);
        continue;
      }
      this.#u8(Op.MARK);
      for (let i = start; i < end; i++) this.#save(v[i]);
      this.#u8(Op.APPENDS);
    }
  }

  #dict(v: Record<string, unknown>): void {
    this.#u8(Op.EMPTY_DICT);
    this.#memoize(v);
    const keys = Object.keys(v);
    const n = keys.length;
    for (let start = 0; start < n; start += BATCH) {
      const end = Math.min(n, start + BATCH);
      const many = end - start > 1;
      if (many) this.#u8(Op.MARK);
      for (let i = start; i < end; i++) {
        const key = keys[i] as string;
        this.#str(key);
        this.#save(v[key]);
      }
      this.#u8(many ? Op.SETITEMS : Op.SETITEM);
    }
  }

  #map(v: Map<unknown, unknown>): void {
    this.#u8(Op.EMPTY_DICT);
    this.#memoize(v);
    let count = 0;
    let open = false;
    let left = v.size;
    for (const [key, value] of v) {
      checkHashable(key, 'a dict key');
      if (count === 0) {
        open = left > 1;
        if (open) this.#u8(Op.MARK);
      }
      this.#save(key);
      this.#save(value);
      count++;
      left--;
      if (count === BATCH || left === 0) {
        this.#u8(open ? Op.SETITEMS : Op.SETITEM);
        count = 0;
      }
    }
  }

  #set(v: Set<unknown>): void {
    this.#u8(Op.EMPTY_SET);
    this.#memoize(v);
    let count = 0;
    let left = v.size;
    for (const item of v) {
      checkHashable(item, 'a set item');
      if (count === 0) this.#u8(Op.MARK);
      this.#save(item);
      count++;
      left--;
      if (count === BATCH || left === 0) {
        this.#u8(Op.ADDITEMS);
        count = 0;
      }
    }
  }

  /**
   * Exactly what CPython writes for a Token (cpython-wire.md §5.2): `Token.__new__(Token)` then BUILD
   * with the `(typeid, address, id)` state; the address a (host, port) tuple, a str path, or bytes for a
   * Linux abstract socket.
   */
  #token(t: Token): void {
    this.#global(MANAGERS, 'Token');
    this.#u8(Op.EMPTY_TUPLE);
    this.#u8(Op.NEWOBJ);
    this.#memoize(t);
    this.#str(t.typeid);
    const address: unknown = t.address;
    if (Array.isArray(address)) {
      const [host, port] = address as unknown[];
      if (address.length !== 2 || typeof host !== 'string' || !Number.isInteger(port)) {
        throw new CodecError(`cannot pickle ${t.toString()}: a TCP address must be [host, port]`);
      }
      this.#str(host);
      this.#save(port);
      this.#u8(Op.TUPLE2);
      this.#memoize();
    } else if (typeof address === 'string' && address.startsWith('\0')) {
      this.#bytes(Buffer.from(address, 'utf8'));
      this.#memoize();
    } else if (typeof address === 'string') {
      this.#str(address);
    } else {
      throw new CodecError(`cannot pickle a Token whose address is ${typeof address}: use [host, port] or a socket path`);
    }
    this.#str(t.id);
    this.#u8(Op.TUPLE3);
    this.#memoize();
    this.#u8(Op.BUILD);
  }

  /**
   * `RebuildProxy(ProxyClass, token, 'pickle', kwds)` as `BaseProxy.__reduce__` gives it (cpython-wire.md
   * §3.7): kwds carries `exposed` only for AutoProxy, which needs the method list.
   */
  #ref(holder: RefHolder): void {
    const ref = holder.toObjectRef();
    const [module, name] = ref.proxytype === null ? [MANAGERS, 'AutoProxy'] : ref.proxytype.includes('.') ? splitName(ref.proxytype) : [MANAGERS, ref.proxytype];
    if (!module || !name) throw new CodecError(`cannot pickle a reference with proxy type '${String(ref.proxytype)}': use 'ProxyName' or 'module.ProxyName'`);
    this.#global(MANAGERS, 'RebuildProxy');
    this.#u8(Op.MARK);
    this.#global(module, name);
    this.#object(ref.token);
    this.#str('pickle');
    this.#u8(Op.EMPTY_DICT);
    this.#memoize();
    if (module === MANAGERS && name === 'AutoProxy' && ref.exposed !== null) {
      this.#str('exposed');
      this.#tuple(ref.exposed);
      this.#u8(Op.SETITEM);
    }
    this.#u8(Op.TUPLE);
    this.#memoize();
    this.#u8(Op.REDUCE);
    this.#memoize(holder);
  }
}

/** `'_queue.Empty'` → `['_queue', 'Empty']`; a bare name is a builtin. */
function splitName(qualified: string): [string, string] {
  const dot = qualified.lastIndexOf('.');
  return dot < 0 ? ['builtins', qualified] : [qualified.slice(0, dot), qualified.slice(dot + 1)];
}

/** Python refuses unhashable set items and dict keys when it loads them; say so here instead. */
function checkHashable(v: unknown, what: string, depth = 0): void {
  if (typeof v !== 'object' || v === null) return;
  if (v instanceof Tuple) {
    if (depth > 64) throw new CodecError(`${what} nests tuples too deeply`);
    for (const item of v) checkHashable(item, what, depth + 1);
    return;
  }
  let kind: string | null = null;
  if (Array.isArray(v)) kind = 'an array (list)';
  else if (v instanceof Map || Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null) kind = 'an object (dict)';
  else if (v instanceof Set) kind = 'a Set (set)';
  else if (v instanceof Uint8Array && !Buffer.isBuffer(v)) kind = 'a Uint8Array (bytearray)';
  if (kind !== null) throw refuse(v, { what: `${kind} as ${what}`, advice: 'Python cannot hash it; use a tuple(...) or a Buffer' });
}
