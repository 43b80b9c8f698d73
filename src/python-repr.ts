/**
 * Python's `repr()` and type names of JavaScript values: the one place that says how a value reads to
 * Python, for the `__repr__`/`__str__` fallbacks (what a Python client prints for a proxy), Python
 * exceptions' messages, `debug_info` and every decoder's error messages.
 *
 * It sits with the errors, below every layer, so it knows no class of theirs: a value that reads
 * differently to Python says so itself, with `[PY_REPR]` (its repr; it is handed the repr to use for its
 * items) and `[PY_TYPE]` (its Python type name), as `Tuple` and `Slice` in the codec do.
 */

import { NodeBuffer } from './bytes.js';
import { DigitLimitError } from './errors.js';
import { DEFAULT_LIMITS } from './limits.js';

/** Values that define their own Python repr: `[PY_REPR](repr) => string`, `repr` for nested items. */
export const PY_REPR = Symbol.for('mpmanager.pyRepr');
/** Values that name their own Python type: `[PY_TYPE]: string` (`'tuple'`). */
export const PY_TYPE = Symbol.for('mpmanager.pyType');

/** Python's name for a value's type, for error messages (`'int'`, `'list'`, `'NoneType'`). */
export function pyTypeName(v: unknown): string {
  if (v === null || v === undefined) return 'NoneType';
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'number':
      return Number.isInteger(v) ? 'int' : 'float';
    case 'bigint':
      return 'int';
    case 'string':
      return 'str';
    case 'function':
      return 'function';
    case 'symbol':
      return 'symbol';
    default:
      break;
  }
  const own = (v as Record<PropertyKey, unknown>)[PY_TYPE];
  if (typeof own === 'string') return own;
  if (Array.isArray(v)) return 'list';
  if (v instanceof Uint8Array) return NodeBuffer === undefined || v instanceof NodeBuffer ? 'bytes' : 'bytearray';
  if (v instanceof Map) return 'dict';
  if (v instanceof Set) return 'set';
  const proto = Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null;
  if (proto === Object.prototype || proto === null) return 'dict';
  return proto.constructor?.name ?? 'object';
}

const MAX_DEPTH = 8;
/** log10(2): decimal digits per bit. */
const DIGITS_PER_BIT = Math.log10(2);

/** The repr a `[PY_REPR]` method is handed, for its items: it keeps the caller's length budget. */
export interface Repr {
  (value: unknown): string;
  /**
   * `open`, the items' reprs separated by `', '`, then `close`; `item` renders one item (default: its
   * repr). Stops early, ending in `...`, once the budget is spent, so a huge container costs no more.
   */
  join(open: string, items: Iterable<unknown>, close: string, item?: (value: unknown, repr: Repr) => string): string;
}

export interface ReprOptions {
  /**
   * Stop once the text is this long (it then ends in `...`): `debug_info` asks for 75 characters of
   * each object, and pays for no more than that, however large the object. Default: no bound.
   */
  maxLength?: number;
  /** Ints with more decimal digits than this are not converted (quadratic); see `Limits.maxIntDigits`. */
  maxIntDigits?: number;
}

function pyString(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = '';
  for (const ch of s) {
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch < ' ' || ch === '\x7f') out += `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return quote + out + quote;
}

function pyFloat(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (n === Infinity) return 'inf';
  if (n === -Infinity) return '-inf';
  return Number.isInteger(n) && Math.abs(n) < 1e16 ? String(n) : String(n).replace('e+', 'e+');
}

function pyBytes(b: Uint8Array): string {
  let out = "b'";
  for (const c of b) {
    if (c === 0x5c) out += '\\\\';
    else if (c === 0x27) out += "\\'";
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c < 0x20 || c >= 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += String.fromCharCode(c);
  }
  return `${out}'`;
}

/**
 * Python's `repr()` of a value. Work is linear in the text produced and bounded by `maxLength`; an int
 * beyond `maxIntDigits` decimal digits throws `DigitLimitError`, as CPython raises `ValueError`.
 */
export function pyRepr(value: unknown, options: ReprOptions = {}): string {
  const w = new Writer(options.maxLength ?? Infinity, options.maxIntDigits ?? DEFAULT_LIMITS.maxIntDigits);
  w.value(value, 0);
  return w.text();
}

/** `str()` of a value as Python gives it: a str is itself, anything else its repr (under the same bounds). */
export function pyStrOf(value: unknown, options: ReprOptions = {}): string {
  if (typeof value === 'string') return options.maxLength !== undefined && value.length > options.maxLength ? `${value.slice(0, options.maxLength)}...` : value;
  return pyRepr(value, options);
}

/** Decimal digits of a bigint, from its bits, without converting it (may overcount by one). */
function decimalDigits(v: bigint): number {
  const hex = (v < 0n ? -v : v).toString(16);
  const bits = (hex.length - 1) * 4 + Math.floor(Math.log2(parseInt(hex[0] ?? '0', 16))) + 1;
  return Math.floor(bits * DIGITS_PER_BIT) + 1;
}

/** Accumulates repr text up to a budget. */
class Writer {
  readonly #parts: string[] = [];
  #length = 0;
  readonly #limit: number;
  readonly #maxIntDigits: number;
  constructor(limit: number, maxIntDigits: number) {
    this.#limit = limit;
    this.#maxIntDigits = maxIntDigits;
  }

  get full(): boolean {
    return this.#length > this.#limit;
  }

  /** Room left before the budget is spent. */
  get room(): number {
    return this.#limit - this.#length;
  }

  put(text: string): void {
    if (this.full) return;
    this.#parts.push(text);
    this.#length += text.length;
  }

  text(): string {
    const all = this.#parts.join('');
    return all.length > this.#limit ? `${all.slice(0, this.#limit)}...` : all;
  }

  /** A repr function for `[PY_REPR]` methods, writing nested items under this writer's remaining budget. */
  repr(depth: number): Repr {
    const fn = ((v: unknown) => {
      const inner = new Writer(Math.max(0, this.room), this.#maxIntDigits);
      inner.value(v, depth);
      return inner.text();
    }) as Repr;
    fn.join = (open, items, close, item) => {
      const inner = new Writer(Math.max(0, this.room), this.#maxIntDigits);
      inner.put(open);
      let first = true;
      for (const x of items) {
        if (inner.full) break;
        if (!first) inner.put(', ');
        first = false;
        if (item) inner.put(item(x, inner.repr(depth + 1)));
        else inner.value(x, depth + 1);
      }
      inner.put(close);
      return inner.text();
    };
    return fn;
  }

  #seq(open: string, items: Iterable<unknown>, close: string, depth: number, each: (x: unknown) => void): void {
    this.put(open);
    let first = true;
    for (const x of items) {
      if (this.full) return;
      if (!first) this.put(', ');
      first = false;
      each(x);
    }
    this.put(close);
  }

  value(value: unknown, depth: number): void {
    if (this.full) return;
    if (depth > MAX_DEPTH) return this.put('...');
    if (value === null || value === undefined) return this.put('None');
    switch (typeof value) {
      case 'boolean':
        return this.put(value ? 'True' : 'False');
      case 'number':
        return this.put(pyFloat(value));
      case 'bigint': {
        if (value > 10n ** 15n || value < -(10n ** 15n)) {
          const digits = decimalDigits(value);
          if (digits > this.#maxIntDigits) throw new DigitLimitError(digits, this.#maxIntDigits);
        }
        return this.put(value.toString());
      }
      case 'string':
        // Escaping never shortens text: only the first `room` characters can appear.
        return this.put(pyString(value.length > this.room + 1 ? value.slice(0, Math.max(0, this.room) + 1) : value));
      case 'function':
        return this.put(`<function ${value.name || '<anonymous>'}>`);
      case 'symbol':
        return this.put(value.toString());
      default:
        break;
    }
    const obj = value as Record<PropertyKey, unknown>;
    const own = obj[PY_REPR];
    if (typeof own === 'function') return this.put(String((own as (repr: Repr) => unknown).call(value, this.repr(depth + 1))));
    const each = (x: unknown) => this.value(x, depth + 1);
    if (Array.isArray(value)) return this.#seq('[', value, ']', depth, each);
    if (value instanceof Uint8Array) return this.put(pyBytes(value.length > this.room + 1 ? value.subarray(0, Math.max(0, this.room) + 1) : value));
    if (value instanceof Map) {
      return this.#seq('{', value, '}', depth, (entry) => {
        const [k, v] = entry as [unknown, unknown];
        this.value(k, depth + 1);
        this.put(': ');
        this.value(v, depth + 1);
      });
    }
    if (value instanceof Set) return value.size === 0 ? this.put('set()') : this.#seq('{', value, '}', depth, each);
    if (value instanceof Error) return this.put(`${value.name}(${pyString(value.message)})`);
    if (ArrayBuffer.isView(value)) return this.#seq('[', value as unknown as Iterable<unknown>, ']', depth, each);
    const proto = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) {
      return this.#seq('{', keysOf(obj), '}', depth, (k) => {
        this.put(pyString(k as string));
        this.put(': ');
        this.value(obj[k as string], depth + 1);
      });
    }
    return this.put(`<${(proto?.constructor as { name?: string } | undefined)?.name ?? 'object'} object>`);
  }
}

/** A plain object's own keys, lazily (`for...in` over own enumerable keys, no array of them all). */
function* keysOf(obj: Record<string, unknown>): Generator<string> {
  for (const k in obj) if (Object.prototype.hasOwnProperty.call(obj, k)) yield k;
}
