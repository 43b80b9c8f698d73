/**
 * Python's `repr()` of JavaScript values, for the `__repr__`/`__str__` fallbacks: what a Python client
 * prints for a proxy (`print(proxy)` sends `__str__`... through `__repr__`) should read as Python.
 */
import { Tuple } from '../codec/values.js';

/** Referents that define their own Python repr. */
export const PY_REPR = Symbol.for('mpmanager.pyRepr');

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
  if (typeof own === 'function') return String((own as () => unknown).call(value));
  if (value instanceof Tuple) {
    const items = value.map((v) => pyRepr(v, depth + 1));
    return items.length === 1 ? `(${items[0]},)` : `(${items.join(', ')})`;
  }
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
