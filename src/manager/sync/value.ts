/**
 * SyncManager's `Value(typecode, value, lock=True)` and `Array(typecode, sequence, lock=True)`, as
 * CPython's `managers.Value` and `array.array`. For `Value` the typecode is cosmetic (CPython stores any
 * value); an `Array` checks each item against its typecode as `array.array` does and stores plain numbers
 * (or one-character strings for 'u'/'w'), so its value is a plain array.
 */
import { PyTypeError, PythonError, ValueError } from '../../python-errors.js';
import { GET_VALUE, PY_SIGNATURES } from '../../server/dispatch.js';
import { PY_REPR, pyRepr, pyTypeName, type Repr } from '../../python-repr.js';
import { PICKLE_REDUCE, type PickleReduce } from '../../codec/pickle/index.js';
import { asSlice, iterate, seqIndex, sliceIndices, sliceRange } from '../../server/py.js';

/** CPython's `managers.Value`: a box with `get`/`set` and a `value` property. */
export class Value<T = unknown> {
  static readonly [PY_SIGNATURES] = { constructor: ['typecode', 'value', 'lock'], set: ['value'] };
  readonly #typecode: unknown;
  #value: T;

  constructor(typecode: unknown, value: T, _lock: unknown = true) {
    this.#typecode = typecode;
    this.#value = value;
  }

  get(): T {
    return this.#value;
  }

  set(value: T): void {
    this.#value = value;
  }

  get value(): T {
    return this.#value;
  }

  set value(value: T) {
    this.#value = value;
  }

  [GET_VALUE](): T {
    return this.#value;
  }

  [PY_REPR](repr: Repr): string {
    return `Value(${repr(this.#typecode)}, ${repr(this.#value)})`;
  }

  /** A Python client's `_getvalue()` gets a `managers.Value`, as from CPython (its `__dict__` as state). */
  [PICKLE_REDUCE](): PickleReduce {
    return { global: 'multiprocessing.managers.Value', newobj: true, state: { _typecode: this.#typecode, _value: this.#value } };
  }
}

/** Integer typecodes and their ranges (CPython on 64-bit Linux: 'l'/'L' are 8 bytes). */
const INTEGER_RANGES: Readonly<Record<string, readonly [bigint, bigint, string]>> = {
  b: [-(2n ** 7n), 2n ** 7n - 1n, 'signed char'],
  B: [0n, 2n ** 8n - 1n, 'unsigned byte integer'],
  h: [-(2n ** 15n), 2n ** 15n - 1n, 'signed short integer'],
  H: [0n, 2n ** 16n - 1n, 'unsigned short'],
  i: [-(2n ** 31n), 2n ** 31n - 1n, 'signed integer'],
  I: [0n, 2n ** 32n - 1n, 'unsigned int'],
  l: [-(2n ** 63n), 2n ** 63n - 1n, 'signed long integer'],
  L: [0n, 2n ** 64n - 1n, 'unsigned long'],
  q: [-(2n ** 63n), 2n ** 63n - 1n, 'signed long long integer'],
  Q: [0n, 2n ** 64n - 1n, 'unsigned long long'],
};
const TYPECODES = 'bBuwhHiIlLqQfd';

/** One item checked (and, for 'f', rounded) as `array.array(typecode)` stores it. */
function arrayItem(typecode: string, v: unknown): unknown {
  if (typecode === 'f' || typecode === 'd') {
    const n = typeof v === 'bigint' ? Number(v) : typeof v === 'boolean' ? Number(v) : v;
    if (typeof n !== 'number') throw new PyTypeError(`must be real number, not ${pyTypeName(v)}`);
    return typecode === 'f' ? Math.fround(n) : n;
  }
  if (typecode === 'u' || typecode === 'w') {
    if (typeof v !== 'string' || [...v].length !== 1) throw new PyTypeError(`array item must be a unicode character, not ${pyTypeName(v)}`);
    return v;
  }
  const range = INTEGER_RANGES[typecode] as readonly [bigint, bigint, string];
  if (!(typeof v === 'number' && Number.isInteger(v)) && typeof v !== 'bigint' && typeof v !== 'boolean') {
    throw new PyTypeError(`'${pyTypeName(v)}' object cannot be interpreted as an integer`);
  }
  const big = typeof v === 'bigint' ? v : BigInt(Number(v));
  if (big < range[0]) throw new PythonError('builtins.OverflowError', [`${range[2]} is less than minimum`]);
  if (big > range[1]) throw new PythonError('builtins.OverflowError', [`${range[2]} is greater than maximum`]);
  return typeof v === 'boolean' ? Number(v) : v;
}

/** `array.array(typecode, sequence)`: a typed sequence of numbers (or characters for 'u'/'w'). */
export class PyArray {
  static readonly [PY_SIGNATURES] = { constructor: ['typecode', 'sequence', 'lock'] };
  readonly #typecode: string;
  #items: unknown[];

  constructor(typecode: unknown, sequence: unknown = [], _lock: unknown = true) {
    if (typeof typecode !== 'string' || typecode.length !== 1 || !TYPECODES.includes(typecode)) {
      throw new ValueError('bad typecode (must be b, B, u, w, h, H, i, I, l, L, q, Q, f or d)');
    }
    this.#typecode = typecode;
    this.#items = iterate(sequence).map((v) => arrayItem(typecode, v));
  }

  __len__(): number {
    return this.#items.length;
  }

  __getitem__(index: unknown): unknown {
    const s = asSlice(index);
    if (s) return sliceRange(s, this.#items.length).map((i) => this.#items[i]);
    return this.#items[seqIndex(index, this.#items.length, 'array')];
  }

  __setitem__(index: unknown, value: unknown): void {
    const s = asSlice(index);
    if (!s) {
      this.#items[seqIndex(index, this.#items.length, 'array', 'array assignment index out of range')] = arrayItem(this.#typecode, value);
      return;
    }
    if (!Array.isArray(value)) throw new PyTypeError(`can only assign array (not "${pyTypeName(value)}") to array slice`);
    const values = value.map((v) => arrayItem(this.#typecode, v));
    const [start, stop, step] = sliceIndices(s, this.#items.length);
    if (step === 1) {
      this.#items = this.#items.slice(0, start).concat(values, this.#items.slice(Math.max(start, stop)));
      return;
    }
    const positions = sliceRange(s, this.#items.length);
    if (positions.length !== values.length) {
      throw new ValueError(`attempt to assign array of size ${values.length} to extended slice of size ${positions.length}`);
    }
    positions.forEach((p, k) => {
      this.#items[p] = values[k];
    });
  }

  [GET_VALUE](): unknown[] {
    return this.#items.slice();
  }

  [PY_REPR](repr: Repr): string {
    if (this.#items.length === 0) return `array('${this.#typecode}')`;
    const body = this.#typecode === 'u' || this.#typecode === 'w' ? repr(this.#items.join('')) : repr(this.#items);
    return `array('${this.#typecode}', ${body})`;
  }

  /** A Python client's `_getvalue()` gets an `array.array`, as from CPython. */
  [PICKLE_REDUCE](): PickleReduce {
    const items = this.#typecode === 'u' || this.#typecode === 'w' ? this.#items.join('') : this.#items.slice();
    return { global: 'array.array', args: [this.#typecode, items] };
  }
}
