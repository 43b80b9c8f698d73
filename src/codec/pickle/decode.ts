/**
 * The unpickler: protocols 0 to 5, run as an explicit stack machine over the input (no recursion, so
 * nesting cannot overflow the JS stack), resolving globals only through the allow-list (globals.ts).
 *
 * Stack discipline follows CPython's C unpickler (`Modules/_pickle.c`): MARK opens a new segment and
 * nothing below the topmost mark can be popped except by the opcode that consumes the mark ("unpickling
 * stack underflow"). Values on the stack and in the memo may be intermediates (builders.ts); they become
 * values when they are placed in another value or returned (`#finish`).
 *
 * Bounds (limits.ts): every length is checked against the remaining input before anything is allocated;
 * pushes, memo entries, open marks and container nesting are counted. Nesting is measured as items are
 * inserted, which is exact for the pickles CPython writes (a child is complete before it is inserted);
 * when a container that is already inside another grows deeper (a cyclic value, or a crafted frame), the
 * finished value is measured again before it is returned.
 */
import { Buffer } from 'node:buffer';
import { CodecError, DecodeBudgetError, DigitLimitError, ForbiddenGlobalError } from '../../errors.js';
import { PythonError } from '../../python-errors.js';
import type { DecodeContext } from '../types.js';
import { Tuple } from '../values.js';
import { DictBuilder, GlobalArgs, Instance, Intermediate, PyGlobal, type UnpicklerHooks } from './builders.js';
import { PythonClass } from './python-class.js';
import { resolveGlobal } from './globals.js';
import { pyTypeName } from '../../python-repr.js';
import type { PickleLimits } from './limits.js';
import { HIGHEST_PROTOCOL, Op, opName } from './opcodes.js';
import { MAX_STRING_LENGTH, decodeUtf8 } from './utf8.js';

const NEWLINE = 0x0a;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
/** V8 refuses BigInts above 2^30 bits; Python ints that large are refused up front. */
const MAX_LONG_BYTES = 1 << 27;

/**
 * The decode budget's charges: about what V8 spends on what each opcode makes (measured with
 * `--expose-gc` and heapUsed over a million of each). Every value pushed costs a slot; containers, dict
 * and set entries, strings and bytes cost what they hold. A frame is refused once the charges pass
 * `decodeAllocationFloor + decodeAllocationFactor * size` (src/limits.ts), before it allocates more.
 */
export const COST = {
  slot: 8,
  list: 32,
  tuple: 32,
  dict: 120,
  dictEntry: 40,
  set: 100,
  setEntry: 32,
  string: 16,
  bytes: 80,
  object: 64,
  memo: 16,
} as const;

/** Decodes one pickle. Throws `CodecError` or `ForbiddenGlobalError`, never anything else. */
export function decodePickle(input: Uint8Array, context: DecodeContext | undefined, limits: PickleLimits): unknown {
  return new Unpickler(input, context, limits).run();
}

class Unpickler implements UnpicklerHooks {
  readonly context: DecodeContext | undefined;
  readonly #buf: Buffer;
  readonly #end: number;
  readonly #limits: PickleLimits;
  #pos = 0;
  /** Offset and code of the opcode being run, for messages. */
  #at = 0;
  #op = -1;
  #protocol = 0;
  readonly #stack: unknown[] = [];
  /** Stack lengths at each open MARK; `#base` is the topmost (0 when none). */
  readonly #marks: number[] = [];
  #base = 0;
  /**
   * The memo: indexes 0..n-1 in an array (MEMOIZE and CPython's BINPUT always use the next index), any
   * index beyond that in a Map. A Map alone costs most of the decode time of a large pickle.
   */
  readonly #memo: unknown[] = [];
  #memoFar: Map<number, unknown> | null = null;
  #pushed = 0;
  /** Nesting depth of containers deeper than 1 (absent means 1). */
  readonly #depths = new Map<object, number>();
  /** Mutable containers that have been placed inside another value. */
  readonly #placed = new Set<object>();
  #remeasure = false;
  #frozen: Set<Set<unknown>> | null = null;
  /** What this pickle may still make us allocate (the decode budget), in bytes. */
  #budget: number;

  constructor(input: Uint8Array, context: DecodeContext | undefined, limits: PickleLimits) {
    this.#buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    this.#end = this.#buf.length;
    this.context = context;
    this.#limits = limits;
    this.#budget = limits.decodeAllocationFloor + limits.decodeAllocationFactor * this.#end;
  }

  /** Charges `n` bytes against the decode budget; refuses the pickle the moment it is spent. */
  #charge(n: number): void {
    if ((this.#budget -= n) >= 0) return;
    const limits = this.#limits;
    throw new DecodeBudgetError(
      'decodeAllocationFactor',
      `a pickle of ${this.#end} bytes would make the decoder allocate more than ${limits.decodeAllocationFactor} times its size ` +
        `(${limits.decodeAllocationFloor} bytes + ${limits.decodeAllocationFactor} per byte) ${this.#where()}`,
    );
  }

  run(): unknown {
    try {
      return this.#loop();
    } catch (err) {
      if (err instanceof CodecError || err instanceof ForbiddenGlobalError) throw err;
      // Anything else is a bug in this file; keep the contract (only CodecError) and say where.
      throw new CodecError(`pickle: internal error ${this.#where()}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  // -------------------------------------------------------------------------------------------------
  // Errors

  #where(): string {
    return this.#op < 0 ? `at offset ${this.#at}` : `in ${opName(this.#op)} at offset ${this.#at}`;
  }

  fail(message: string): never {
    throw new CodecError(`pickle: ${message} (${this.#where()})`);
  }

  markFrozen(set: Set<unknown>): void {
    (this.#frozen ??= new Set()).add(set);
  }

  // -------------------------------------------------------------------------------------------------
  // Reading

  /** Claims `n` bytes of argument and returns where they start. */
  #take(n: number): number {
    const at = this.#pos;
    if (n > this.#end - at) this.fail(`truncated pickle: needs ${n} bytes of argument, ${this.#end - at} remain`);
    this.#pos = at + n;
    return at;
  }

  #u8(): number {
    return this.#buf[this.#take(1)] as number;
  }

  #u32(): number {
    return this.#buf.readUInt32LE(this.#take(4));
  }

  /** An 8-byte length; anything beyond the remaining input is refused before it is used. */
  #len64(): number {
    const at = this.#take(8);
    const hi = this.#buf.readUInt32LE(at + 4);
    const lo = this.#buf.readUInt32LE(at);
    const remain = this.#end - this.#pos;
    if (hi !== 0 || lo > remain) this.fail(`length ${hi * 2 ** 32 + lo} exceeds the ${remain} bytes that remain`);
    return lo;
  }

  /** A length that must fit in what remains. */
  #fits(n: number): number {
    const remain = this.#end - this.#pos;
    if (n > remain) this.fail(`length ${n} exceeds the ${remain} bytes that remain`);
    return n;
  }

  /** One text-protocol line without its newline, as [start, end). */
  #line(): [number, number] {
    const start = this.#pos;
    const nl = this.#buf.indexOf(NEWLINE, start);
    if (nl < 0 || nl >= this.#end) this.fail('truncated pickle: line argument has no newline');
    this.#pos = nl + 1;
    return [start, nl];
  }

  #lineText(): string {
    const [s, e] = this.#line();
    return this.#buf.toString('latin1', s, e);
  }

  #str(start: number, n: number): string {
    if (n > MAX_STRING_LENGTH) this.fail(`str of ${n} bytes is longer than JavaScript strings may be`);
    this.#charge(COST.string + n);
    const s = decodeUtf8(this.#buf, start, start + n);
    if (s === null) this.fail('str is not valid UTF-8');
    return s;
  }

  /** Python 2 `str` (STRING, BINSTRING, SHORT_BINSTRING): decoded as ASCII, CPython 3's default `encoding`. */
  #ascii(bytes: Buffer | Uint8Array, start: number, end: number): string {
    this.#charge(COST.string + end - start);
    for (let i = start; i < end; i++) {
      if ((bytes[i] as number) >= 0x80) this.fail("Python 2 str is not ASCII (CPython's default encoding='ASCII' refuses it too)");
    }
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1', start, end);
  }

  #bytes(start: number, n: number): Buffer {
    this.#charge(COST.bytes + n);
    const out = Buffer.allocUnsafe(n);
    this.#buf.copy(out, 0, start, start + n);
    return out;
  }

  // -------------------------------------------------------------------------------------------------
  // Stack and memo

  #push(value: unknown): void {
    if (++this.#pushed > this.#limits.maxItems) this.fail(`more than maxItems (${this.#limits.maxItems}) values`);
    this.#charge(COST.slot);
    this.#stack.push(value);
  }

  #pop(): unknown {
    if (this.#stack.length <= this.#base) this.#underflow();
    return this.#stack.pop();
  }

  #peek(): unknown {
    const n = this.#stack.length;
    if (n <= this.#base) this.#underflow();
    return this.#stack[n - 1];
  }

  #underflow(): never {
    return this.fail(this.#stack.length === 0 ? 'stack underflow: the stack is empty' : 'stack underflow: nothing above the MARK');
  }

  #mark(): void {
    if (this.#marks.length >= this.#limits.maxDepth) this.fail(`more than maxDepth (${this.#limits.maxDepth}) open MARKs`);
    this.#base = this.#stack.length;
    this.#marks.push(this.#base);
  }

  /** Removes and returns everything above the topmost MARK, and the mark. */
  #popMark(): unknown[] {
    const m = this.#marks.pop();
    if (m === undefined) this.fail('no MARK on the stack');
    this.#base = this.#marks.length > 0 ? (this.#marks[this.#marks.length - 1] as number) : 0;
    return this.#stack.splice(m);
  }

  /** Number of memo entries: the index MEMOIZE uses (CPython: `memo[len(memo)]`). */
  #memoSize(): number {
    return this.#memo.length + (this.#memoFar?.size ?? 0);
  }

  #memoPut(index: number): void {
    this.#charge(COST.memo);
    const memo = this.#memo;
    const value = this.#peek();
    if (index < memo.length) {
      memo[index] = value;
      return;
    }
    const far = this.#memoFar;
    if (this.#memoSize() >= this.#limits.maxMemo && !far?.has(index)) this.fail(`more than maxMemo (${this.#limits.maxMemo}) memo entries`);
    if (index === memo.length) {
      memo.push(value);
      far?.delete(index); // each index lives in exactly one of the two
      return;
    }
    (this.#memoFar ??= new Map()).set(index, value);
  }

  #memoGet(index: number): void {
    const v = index < this.#memo.length ? this.#memo[index] : this.#memoFar?.get(index);
    if (v === undefined) this.fail(`memo key ${index} not found`);
    this.#push(v);
  }

  #decimal(text: string, what: string): number {
    let n = 0;
    if (text.length === 0 || text.length > 15) this.fail(`bad ${what} '${text.slice(0, 20)}'`);
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i) - 0x30;
      if (c < 0 || c > 9) this.fail(`bad ${what} '${text}'`);
      n = n * 10 + c;
    }
    return n;
  }

  // -------------------------------------------------------------------------------------------------
  // Values and nesting

  /** Depth of a stack entry: 0 for scalars, 1 for a flat container. */
  #depthOf(raw: unknown): number {
    if (typeof raw !== 'object' || raw === null) return 0;
    return this.#depths.get(raw) ?? 1;
  }

  #setDepth(container: object, depth: number): void {
    if (depth > this.#limits.maxDepth) this.fail(`nesting deeper than maxDepth (${this.#limits.maxDepth})`);
    this.#depths.set(container, depth);
    if (this.#placed.has(container)) this.#remeasure = true;
  }

  /** Notes that `raw` (an object) is being placed inside a container; returns its depth. */
  #enter(raw: object): number {
    const c = raw.constructor;
    if (c === Array || c === DictBuilder || c === Set || c === Instance) this.#placed.add(raw);
    return this.#depths.get(raw) ?? 1;
  }

  /** The value a stack entry stands for once it is placed inside a value or returned. */
  #finish(raw: unknown): unknown {
    if (!(raw instanceof Intermediate)) return raw;
    if (raw instanceof DictBuilder) return raw.seal();
    if (raw instanceof Instance) {
      if (raw.value === undefined) this.fail(`${raw.cls.qualifiedName} instance used before BUILD gave it its state`);
      return raw.value;
    }
    if (raw instanceof PyGlobal && raw.entry.typeValue) return new PythonClass(raw.module, raw.name);
    const g = raw instanceof PyGlobal ? raw : (raw as GlobalArgs).firstGlobal();
    throw new ForbiddenGlobalError(g?.module ?? '?', g?.name ?? '?');
  }

  /** A tuple from stack entries; a tuple holding globals becomes `GlobalArgs` (REDUCE arguments only). */
  #tuple(items: readonly unknown[]): Tuple | GlobalArgs {
    this.#charge(COST.tuple + COST.slot * items.length);
    // Indexed stores, not push(): V8's push on an Array subclass is two orders of magnitude slower.
    const t = new Tuple<unknown>();
    let depth = 1;
    let globals = false;
    for (let i = 0; i < items.length; i++) {
      const raw = items[i];
      if (typeof raw !== 'object' || raw === null) {
        t[i] = raw;
        continue;
      }
      if (raw instanceof PyGlobal && !raw.entry.typeValue) {
        globals = true;
        t[i] = raw;
        continue;
      }
      const d = this.#enter(raw);
      if (d >= depth) depth = d + 1;
      t[i] = this.#finish(raw);
    }
    if (globals) {
      const args = new GlobalArgs(t);
      if (depth > 1) this.#setDepth(args, depth);
      return args;
    }
    if (depth > 1) this.#setDepth(t, depth);
    return t;
  }

  #appendAll(list: unknown, items: readonly unknown[]): void {
    if (!Array.isArray(list) || list instanceof Tuple) this.fail(`cannot append to a ${kind(list)}`);
    this.#charge(COST.slot * items.length);
    const start = this.#depthOf(list);
    let depth = start;
    for (const raw of items) {
      if (typeof raw !== 'object' || raw === null) {
        list.push(raw);
        continue;
      }
      const d = this.#enter(raw);
      if (d >= depth) depth = d + 1;
      list.push(this.#finish(raw));
    }
    if (depth !== start) this.#setDepth(list, depth);
  }

  /** Sets items from `[k0, v0, k1, v1, ...]` starting at `from`. */
  #setItems(dict: unknown, items: readonly unknown[], from: number): void {
    if (!(dict instanceof DictBuilder)) this.fail(`cannot set items on a ${kind(dict)}`);
    if ((items.length - from) % 2 !== 0) this.fail('odd number of items for a dict');
    this.#charge(COST.dictEntry * ((items.length - from) / 2));
    const start = this.#depthOf(dict);
    let depth = start;
    for (let i = from; i < items.length; i += 2) {
      let key = items[i];
      let value = items[i + 1];
      if (typeof key === 'object' && key !== null) {
        const d = this.#enter(key);
        if (d >= depth) depth = d + 1;
        key = this.#finish(key);
      }
      if (typeof value === 'object' && value !== null) {
        const d = this.#enter(value);
        if (d >= depth) depth = d + 1;
        value = this.#finish(value);
      }
      if (typeof key === 'string') this.#charge(dict.indexKeyCost(key));
      if (!dict.set(key, value)) this.fail('a dict that contains itself must have only str keys (it became a plain object before a non-str key arrived)');
    }
    if (depth !== start) this.#setDepth(dict, depth);
  }

  #addAll(set: unknown, items: readonly unknown[]): void {
    if (!(set instanceof Set) || this.#frozen?.has(set)) this.fail(`cannot add items to a ${set instanceof Set ? 'frozenset' : kind(set)}`);
    this.#charge(COST.setEntry * items.length);
    const start = this.#depthOf(set);
    let depth = start;
    for (const raw of items) {
      if (typeof raw !== 'object' || raw === null) {
        set.add(raw);
        continue;
      }
      const d = this.#enter(raw);
      if (d >= depth) depth = d + 1;
      set.add(this.#finish(raw));
    }
    if (depth !== start) this.#setDepth(set, depth);
  }

  /** Records that `result` holds what `from` held (at most as deep). */
  #inherit(result: unknown, from: unknown): void {
    if (typeof result !== 'object' || result === null) return;
    const depth = this.#depthOf(from);
    if (depth > this.#depthOf(result)) this.#setDepth(result, depth);
  }

  // -------------------------------------------------------------------------------------------------
  // Calls

  #argsOf(raw: unknown, callee: PyGlobal): readonly unknown[] {
    if (raw instanceof Tuple) return raw;
    if (raw instanceof GlobalArgs) {
      if (callee.entry.takesGlobals) return raw.items;
      const g = raw.firstGlobal() as PyGlobal;
      throw new ForbiddenGlobalError(g.module, g.name);
    }
    return this.fail(`arguments must be a tuple, got a ${kind(raw)}`);
  }

  #callee(raw: unknown): PyGlobal {
    if (raw instanceof PyGlobal) return raw;
    return this.fail(`can only call an allow-listed global, got a ${kind(raw)}`);
  }

  /** REDUCE: `callee(*args)`. */
  #call(callee: PyGlobal, argsRaw: unknown): unknown {
    const args = this.#argsOf(argsRaw, callee);
    const call = callee.entry.call;
    if (!call) throw new ForbiddenGlobalError(callee.module, callee.name);
    const result = call(args, callee, this);
    this.#inherit(result, argsRaw);
    return result;
  }

  /** NEWOBJ: `callee.__new__(callee, *args)`. */
  #create(callee: PyGlobal, argsRaw: unknown): unknown {
    const args = this.#argsOf(argsRaw, callee);
    const create = callee.entry.create;
    if (!create) throw new ForbiddenGlobalError(callee.module, callee.name);
    const result = create(args, callee, this);
    this.#inherit(result, argsRaw);
    return result;
  }

  /** INST / OBJ: CPython's `_instantiate`: `cls.__new__(cls)` without arguments, else `cls(*args)`. */
  #instantiate(callee: PyGlobal, items: readonly unknown[]): unknown {
    const args = this.#tuple(items);
    if (items.length === 0 && callee.entry.create) return this.#create(callee, args);
    return this.#call(callee, args);
  }

  #build(): void {
    const stateRaw = this.#pop();
    const target = this.#peek();
    if (target instanceof Instance) {
      const build = target.cls.entry.build;
      if (!build || target.built) this.fail(`cannot BUILD ${target.cls.qualifiedName} ${target.built ? 'twice' : ''}`.trim());
      const state = this.#finish(stateRaw);
      build(target, state, this);
      target.built = true;
      this.#inherit(target, stateRaw);
      return;
    }
    if (target instanceof PythonError) {
      // BaseException.__reduce__ adds the instance __dict__ (e.g. ImportError's name/path, __notes__);
      // the JS error keeps only the args.
      if (stateRaw === null || stateRaw instanceof DictBuilder) return;
      this.fail(`exception state must be a dict or None, got a ${kind(stateRaw)}`);
    }
    this.fail(`cannot BUILD a ${kind(target)}`);
  }

  #stop(): unknown {
    if (this.#marks.length > 0) this.fail(`STOP with ${this.#marks.length} MARK(s) still open`);
    if (this.#stack.length !== 1) this.fail(this.#stack.length === 0 ? 'STOP with an empty stack' : `STOP with ${this.#stack.length} values on the stack`);
    if (this.#pos !== this.#end) this.fail(`${this.#end - this.#pos} bytes after STOP`);
    const raw = this.#stack[0];
    const value = this.#finish(raw);
    if (this.#remeasure) measureDepth(value, this.#limits.maxDepth, this);
    return value;
  }

  // -------------------------------------------------------------------------------------------------
  // Numbers and text opcodes

  /** LONG1/LONG4 payload: two's complement, little-endian (`pickle.decode_long`). */
  #long(start: number, n: number): number | bigint {
    const buf = this.#buf;
    if (n === 0) return 0;
    if (n <= 6) return buf.readIntLE(start, n);
    if (n > MAX_LONG_BYTES) this.fail(`int of ${n} bytes is too large`);
    this.#charge(COST.string + 2 * n);
    const hex = Buffer.from(buf.subarray(start, start + n)).reverse().toString('hex');
    let v = BigInt(`0x${hex}`);
    if ((buf[start + n - 1] as number) & 0x80) v -= 1n << BigInt(8 * n);
    return v >= MIN_SAFE && v <= MAX_SAFE ? Number(v) : v;
  }

  /** INT / LONG text: decimal with optional sign (CPython writes exactly this). */
  #intText(text: string): number | bigint {
    let i = text.charCodeAt(0) === 0x2d || text.charCodeAt(0) === 0x2b ? 1 : 0;
    if (i >= text.length) this.fail(`bad int '${text.slice(0, 20)}'`);
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c < 0x30 || c > 0x39) this.fail(`bad int '${text.slice(0, 20)}'`);
    }
    if (text.length <= 15) return Number(text); // 15 digits are always below 2^53
    const digits = text.length - (text.charCodeAt(0) === 0x2d || text.charCodeAt(0) === 0x2b ? 1 : 0);
    // Decimal to binary is quadratic: CPython refuses these too (`int()` under sys.get_int_max_str_digits()).
    if (digits > this.#limits.maxIntDigits) throw new DigitLimitError(digits, this.#limits.maxIntDigits);
    const v = BigInt(text);
    return v >= MIN_SAFE && v <= MAX_SAFE ? Number(v) : v;
  }

  #floatText(text: string): number {
    switch (text.toLowerCase()) {
      case 'inf':
      case '+inf':
      case 'infinity':
        return Infinity;
      case '-inf':
      case '-infinity':
        return -Infinity;
      case 'nan':
      case '-nan':
      case '+nan':
        return NaN;
    }
    if (!/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(text)) this.fail(`bad float '${text.slice(0, 20)}'`);
    return Number(text);
  }

  /** STRING: a quoted Python 2 repr, escapes as `codecs.escape_decode`. */
  #stringText(): string {
    const [s, e] = this.#line();
    const buf = this.#buf;
    const q = buf[s];
    if (e - s < 2 || (q !== 0x22 && q !== 0x27) || buf[e - 1] !== q) this.fail('STRING argument is not quoted');
    const out: number[] = [];
    for (let i = s + 1; i < e - 1; i++) {
      const c = buf[i] as number;
      if (c !== 0x5c) {
        out.push(c);
        continue;
      }
      if (++i >= e - 1) this.fail('STRING ends with a lone backslash');
      const x = buf[i] as number;
      const simple = ESCAPES.get(x);
      if (simple !== undefined) out.push(simple);
      else if (x === 0x0a) continue; // backslash-newline
      else if (x === 0x78) {
        const hex = buf.toString('latin1', i + 1, i + 3);
        if (i + 2 >= e - 1 || !/^[0-9a-fA-F]{2}$/.test(hex)) this.fail('STRING has a bad \\x escape');
        out.push(parseInt(hex, 16));
        i += 2;
      } else if (x >= 0x30 && x <= 0x37) {
        let v = x - 0x30;
        for (let k = 0; k < 2 && i + 1 < e - 1 && (buf[i + 1] as number) >= 0x30 && (buf[i + 1] as number) <= 0x37; k++) v = v * 8 + ((buf[++i] as number) - 0x30);
        out.push(v & 0xff);
      } else out.push(0x5c, x);
    }
    return this.#ascii(Uint8Array.from(out), 0, out.length);
  }

  /** UNICODE: raw-unicode-escape (only \uXXXX and \UXXXXXXXX after an odd run of backslashes escape). */
  #unicodeText(): string {
    const [s, e] = this.#line();
    const buf = this.#buf;
    let out = '';
    let i = s;
    while (i < e) {
      const c = buf[i] as number;
      if (c !== 0x5c) {
        out += String.fromCharCode(c);
        i++;
        continue;
      }
      let j = i;
      while (j < e && buf[j] === 0x5c) j++;
      const run = j - i;
      const u = buf[j];
      if (run % 2 === 0 || j >= e || (u !== 0x75 && u !== 0x55)) {
        out += '\\'.repeat(run);
        i = j;
        continue;
      }
      out += '\\'.repeat(run - 1);
      const digits = u === 0x75 ? 4 : 8;
      const hex = buf.toString('latin1', j + 1, j + 1 + digits);
      if (j + digits >= e || !/^[0-9a-fA-F]+$/.test(hex)) this.fail('UNICODE has a truncated \\u escape');
      const cp = parseInt(hex, 16);
      if (cp > 0x10ffff) this.fail('UNICODE escape is beyond U+10FFFF');
      out += String.fromCodePoint(cp);
      i = j + 1 + digits;
    }
    return out;
  }

  #globalNamed(module: unknown, name: unknown): PyGlobal {
    if (typeof module !== 'string' || typeof name !== 'string') this.fail('STACK_GLOBAL needs two str');
    return resolveGlobal(module, name, this.#protocol);
  }

  #globalLines(): PyGlobal {
    const [ms, me] = this.#line();
    const [ns, ne] = this.#line();
    const module = decodeUtf8(this.#buf, ms, me);
    const name = decodeUtf8(this.#buf, ns, ne);
    if (module === null || name === null) this.fail('global name is not valid UTF-8');
    return resolveGlobal(module, name, this.#protocol);
  }

  // -------------------------------------------------------------------------------------------------
  // The machine

  #loop(): unknown {
    const buf = this.#buf;
    const stack = this.#stack;
    while (this.#pos < this.#end) {
      this.#at = this.#pos;
      const op = buf[this.#pos++] as number;
      this.#op = op;
      switch (op) {
        case Op.PROTO: {
          const v = this.#u8();
          if (v > HIGHEST_PROTOCOL) this.fail(`unsupported pickle protocol ${v}`);
          this.#protocol = v;
          break;
        }
        case Op.FRAME:
          // A frame only tells buffered readers how much to fetch; the whole pickle is already here.
          this.#len64();
          break;
        case Op.STOP:
          return this.#stop();

        // Scalars
        case Op.NONE:
          this.#push(null);
          break;
        case Op.NEWTRUE:
          this.#push(true);
          break;
        case Op.NEWFALSE:
          this.#push(false);
          break;
        case Op.BININT1:
          this.#push(this.#u8());
          break;
        case Op.BININT2:
          this.#push(buf.readUInt16LE(this.#take(2)));
          break;
        case Op.BININT:
          this.#push(buf.readInt32LE(this.#take(4)));
          break;
        case Op.LONG1: {
          const n = this.#u8();
          this.#push(this.#long(this.#take(n), n));
          break;
        }
        case Op.LONG4: {
          const n = buf.readInt32LE(this.#take(4));
          if (n < 0) this.fail('negative byte count');
          this.#push(this.#long(this.#take(this.#fits(n)), n));
          break;
        }
        case Op.BINFLOAT:
          this.#push(buf.readDoubleBE(this.#take(8)));
          break;
        case Op.INT: {
          // 'I00' and 'I01' are how protocol 0 writes False and True.
          const text = this.#lineText();
          this.#push(text === '00' ? false : text === '01' ? true : this.#intText(text));
          break;
        }
        case Op.LONG: {
          const text = this.#lineText();
          this.#push(this.#intText(text.endsWith('L') ? text.slice(0, -1) : text));
          break;
        }
        case Op.FLOAT:
          this.#push(this.#floatText(this.#lineText()));
          break;

        // Strings and bytes
        case Op.SHORT_BINUNICODE: {
          const n = this.#u8();
          this.#push(this.#str(this.#take(n), n));
          break;
        }
        case Op.BINUNICODE: {
          const n = this.#fits(this.#u32());
          this.#push(this.#str(this.#take(n), n));
          break;
        }
        case Op.BINUNICODE8: {
          const n = this.#len64();
          this.#push(this.#str(this.#take(n), n));
          break;
        }
        case Op.UNICODE:
          this.#push(this.#unicodeText());
          break;
        case Op.STRING:
          this.#push(this.#stringText());
          break;
        case Op.BINSTRING: {
          const n = buf.readInt32LE(this.#take(4));
          if (n < 0) this.fail('negative byte count');
          const at = this.#take(this.#fits(n));
          this.#push(this.#ascii(buf, at, at + n));
          break;
        }
        case Op.SHORT_BINSTRING: {
          const n = this.#u8();
          const at = this.#take(n);
          this.#push(this.#ascii(buf, at, at + n));
          break;
        }
        case Op.SHORT_BINBYTES: {
          const n = this.#u8();
          this.#push(this.#bytes(this.#take(n), n));
          break;
        }
        case Op.BINBYTES: {
          const n = this.#fits(this.#u32());
          this.#push(this.#bytes(this.#take(n), n));
          break;
        }
        case Op.BINBYTES8: {
          const n = this.#len64();
          this.#push(this.#bytes(this.#take(n), n));
          break;
        }
        case Op.BYTEARRAY8: {
          const n = this.#len64();
          const at = this.#take(n);
          this.#push(new Uint8Array(buf.subarray(at, at + n)));
          break;
        }

        // Containers
        case Op.MARK:
          this.#mark();
          break;
        case Op.EMPTY_TUPLE:
          this.#charge(COST.tuple);
          this.#push(new Tuple());
          break;
        case Op.TUPLE1: {
          const a = this.#pop();
          this.#push(this.#tuple([a]));
          break;
        }
        case Op.TUPLE2: {
          const b = this.#pop();
          const a = this.#pop();
          this.#push(this.#tuple([a, b]));
          break;
        }
        case Op.TUPLE3: {
          const c = this.#pop();
          const b = this.#pop();
          const a = this.#pop();
          this.#push(this.#tuple([a, b, c]));
          break;
        }
        case Op.TUPLE:
          this.#push(this.#tuple(this.#popMark()));
          break;
        case Op.EMPTY_LIST:
          this.#charge(COST.list);
          this.#push([]);
          break;
        case Op.LIST: {
          this.#charge(COST.list);
          const items = this.#popMark();
          const list: unknown[] = [];
          this.#appendAll(list, items);
          this.#push(list);
          break;
        }
        case Op.APPEND: {
          const item = this.#pop();
          this.#appendAll(this.#peek(), [item]);
          break;
        }
        case Op.APPENDS: {
          const items = this.#popMark();
          this.#appendAll(this.#peek(), items);
          break;
        }
        case Op.EMPTY_DICT:
          this.#charge(COST.dict);
          this.#push(new DictBuilder());
          break;
        case Op.DICT: {
          this.#charge(COST.dict);
          const items = this.#popMark();
          const dict = new DictBuilder();
          this.#setItems(dict, items, 0);
          this.#push(dict);
          break;
        }
        case Op.SETITEM: {
          const value = this.#pop();
          const key = this.#pop();
          this.#setItems(this.#peek(), [key, value], 0);
          break;
        }
        case Op.SETITEMS: {
          const items = this.#popMark();
          this.#setItems(this.#peek(), items, 0);
          break;
        }
        case Op.EMPTY_SET:
          this.#charge(COST.set);
          this.#push(new Set());
          break;
        case Op.ADDITEMS: {
          const items = this.#popMark();
          this.#addAll(this.#peek(), items);
          break;
        }
        case Op.FROZENSET: {
          this.#charge(COST.set);
          const items = this.#popMark();
          const set = new Set<unknown>();
          this.#addAll(set, items);
          this.markFrozen(set);
          this.#push(set);
          break;
        }

        // Stack manipulation
        case Op.POP:
          // CPython: with nothing above the topmost mark, POP discards the mark itself.
          if (stack.length > this.#base) stack.pop();
          else this.#popMark();
          break;
        case Op.POP_MARK:
          this.#popMark();
          break;
        case Op.DUP:
          this.#push(this.#peek());
          break;

        // Memo
        case Op.MEMOIZE:
          this.#memoPut(this.#memoSize());
          break;
        case Op.BINPUT:
          this.#memoPut(this.#u8());
          break;
        case Op.LONG_BINPUT:
          this.#memoPut(this.#u32());
          break;
        case Op.PUT:
          this.#memoPut(this.#decimal(this.#lineText(), 'memo index'));
          break;
        case Op.BINGET:
          this.#memoGet(this.#u8());
          break;
        case Op.LONG_BINGET:
          this.#memoGet(this.#u32());
          break;
        case Op.GET:
          this.#memoGet(this.#decimal(this.#lineText(), 'memo index'));
          break;

        // Globals and objects
        case Op.GLOBAL:
          this.#push(this.#globalLines());
          break;
        case Op.STACK_GLOBAL: {
          const name = this.#pop();
          const module = this.#pop();
          this.#push(this.#globalNamed(module, name));
          break;
        }
        case Op.REDUCE: {
          const args = this.#pop();
          const callee = this.#callee(this.#pop());
          this.#push(this.#call(callee, args));
          break;
        }
        case Op.NEWOBJ: {
          const args = this.#pop();
          const callee = this.#callee(this.#pop());
          this.#push(this.#create(callee, args));
          break;
        }
        case Op.NEWOBJ_EX: {
          const kwargs = this.#pop();
          const args = this.#pop();
          const callee = this.#callee(this.#pop());
          if (!(kwargs instanceof DictBuilder) || kwargs.size !== 0) this.fail('NEWOBJ_EX keyword arguments are not supported');
          this.#push(this.#create(callee, args));
          break;
        }
        case Op.BUILD:
          this.#build();
          break;
        case Op.INST: {
          const callee = this.#globalLines();
          this.#push(this.#instantiate(callee, this.#popMark()));
          break;
        }
        case Op.OBJ: {
          const items = this.#popMark();
          if (items.length === 0) this.#underflow();
          this.#push(this.#instantiate(this.#callee(items[0]), items.slice(1)));
          break;
        }

        // Refused
        case Op.PERSID:
        case Op.BINPERSID:
          this.fail('persistent IDs are not supported');
          break;
        case Op.EXT1:
        case Op.EXT2:
        case Op.EXT4:
          this.fail('extension registry codes (copyreg.add_extension) are not supported');
          break;
        case Op.NEXT_BUFFER:
        case Op.READONLY_BUFFER:
          this.fail('out-of-band buffers are not supported');
          break;
        default:
          this.fail(`unknown opcode 0x${op.toString(16).padStart(2, '0')}`);
      }
    }
    this.#at = this.#pos;
    this.#op = -1;
    return this.fail('truncated pickle: ended without STOP');
  }
}

/** Python 2 `str` escapes that stand for one byte (`\n`, `\t`, ...). */
const ESCAPES: ReadonlyMap<number, number> = new Map([
  [0x5c, 0x5c], // \\
  [0x27, 0x27], // \'
  [0x22, 0x22], // \"
  [0x61, 0x07], // \a
  [0x62, 0x08], // \b
  [0x66, 0x0c], // \f
  [0x6e, 0x0a], // \n
  [0x72, 0x0d], // \r
  [0x74, 0x09], // \t
  [0x76, 0x0b], // \v
]);

/** What a stack entry is, for messages: an intermediate by its role, a value by its Python type. */
function kind(v: unknown): string {
  if (v instanceof PyGlobal) return `global ${v.qualifiedName}`;
  if (v instanceof DictBuilder) return 'dict';
  if (v instanceof Instance) return `${v.cls.qualifiedName} instance`;
  if (v instanceof GlobalArgs) return 'tuple';
  return pyTypeName(v);
}

/**
 * Measures a finished value's nesting without recursion: the longest chain of containers, counting each
 * container once per path (a container met again on the current path is a cycle and ends the path).
 */
function measureDepth(root: unknown, maxDepth: number, cx: UnpicklerHooks): void {
  const height = new Map<object, number>();
  const onPath = new Set<object>();
  interface Frame {
    readonly node: object;
    readonly children: unknown[];
    next: number;
    best: number;
  }
  const path: Frame[] = [];
  const open = (node: object): void => {
    if (path.length >= maxDepth) cx.fail(`nesting deeper than maxDepth (${maxDepth})`);
    onPath.add(node);
    path.push({ node, children: childrenOf(node), next: 0, best: 0 });
  };
  if (typeof root !== 'object' || root === null) return;
  open(root);
  while (path.length > 0) {
    const top = path[path.length - 1] as Frame;
    if (top.next < top.children.length) {
      const child = top.children[top.next++];
      if (typeof child !== 'object' || child === null || onPath.has(child)) continue;
      const known = height.get(child);
      if (known !== undefined) {
        if (path.length + known > maxDepth) cx.fail(`nesting deeper than maxDepth (${maxDepth})`);
        if (known > top.best) top.best = known;
        continue;
      }
      open(child);
      continue;
    }
    path.pop();
    onPath.delete(top.node);
    const h = top.best + 1;
    height.set(top.node, h);
    const parent = path[path.length - 1];
    if (parent && h > parent.best) parent.best = h;
  }
}

function childrenOf(node: object): unknown[] {
  if (Array.isArray(node)) return node;
  if (node instanceof Map) return [...node.keys(), ...node.values()];
  if (node instanceof Set) return [...node];
  if (node instanceof PythonError) return [...node.args];
  if (Object.getPrototypeOf(node) === Object.prototype) return Object.values(node as Record<string, unknown>);
  return [];
}
