/**
 * Python's `repr()` and type names of JavaScript values: the one place that says how a value reads to
 * Python, for the `__repr__`/`__str__` fallbacks (what a Python client prints for a proxy), Python
 * exceptions' messages, `debug_info` and every decoder's error messages.
 *
 * It sits with the errors, below every layer, so it knows no class of theirs: a value that reads
 * differently to Python says so itself, with `[PY_REPR]` (its repr; it is handed the repr to use for its
 * items) and `[PY_TYPE]` (its Python type name), as `Tuple` and `Slice` in the codec do.
 */

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
  if (v instanceof Uint8Array) return Buffer.isBuffer(v) ? 'bytes' : 'bytearray';
  if (v instanceof Map) return 'dict';
  if (v instanceof Set) return 'set';
  const proto = Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null;
  if (proto === Object.prototype || proto === null) return 'dict';
  return proto.constructor?.name ?? 'object';
}

const MAX_DEPTH = 8;

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

export function pyRepr(value: unknown, depth = 0): string {
  if (depth > MAX_DEPTH) return '...';
  if (value === null || value === undefined) return 'None';
  switch (typeof value) {
    case 'boolean':
      return value ? 'True' : 'False';
    case 'number':
      return pyFloat(value);
    case 'bigint':
      return value.toString();
    case 'string':
      return pyString(value);
    case 'function':
      return `<function ${value.name || '<anonymous>'}>`;
    case 'symbol':
      return value.toString();
    default:
      break;
  }
  const obj = value as Record<PropertyKey, unknown>;
  const own = obj[PY_REPR];
  if (typeof own === 'function') return String((own as (repr: (v: unknown) => string) => unknown).call(value, (v) => pyRepr(v, depth + 1)));
  if (Array.isArray(value)) return `[${value.map((v) => pyRepr(v, depth + 1)).join(', ')}]`;
  if (value instanceof Uint8Array) return pyBytes(value);
  if (value instanceof Map) return `{${[...value].map(([k, v]) => `${pyRepr(k, depth + 1)}: ${pyRepr(v, depth + 1)}`).join(', ')}}`;
  if (value instanceof Set) return value.size === 0 ? 'set()' : `{${[...value].map((v) => pyRepr(v, depth + 1)).join(', ')}}`;
  if (value instanceof Error) return `${value.name}(${pyString(value.message)})`;
  if (ArrayBuffer.isView(value)) return `[${Array.from(value as unknown as ArrayLike<number>).map((v) => pyRepr(v)).join(', ')}]`;
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) {
    return `{${Object.keys(obj).map((k) => `${pyString(k)}: ${pyRepr(obj[k], depth + 1)}`).join(', ')}}`;
  }
  return `<${(proto?.constructor as { name?: string } | undefined)?.name ?? 'object'} object>`;
}
