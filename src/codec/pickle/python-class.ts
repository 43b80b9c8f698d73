/**
 * A Python class sent as a value: `manager.Value(ctypes.c_char_p, 'text')` and `manager.Value(str, '')`
 * are common idioms, and pickle the class itself (a bare global) as Value's typecode. Only the classes on
 * the allow-list's type list (scalar builtins and `ctypes` simple types, see globals.ts) become one; the
 * decoder never imports anything, it only records the name, and the encoder writes the same global back.
 */
import { PY_REPR } from '../../python-repr.js';

export class PythonClass {
  readonly module: string;
  readonly name: string;
  constructor(module: string, name: string) {
    this.module = module;
    this.name = name;
  }

  /** `'str'` for builtins, else `'module.Name'`. */
  get qualifiedName(): string {
    return this.module === 'builtins' ? this.name : `${this.module}.${this.name}`;
  }

  toString(): string {
    return `<class '${this.qualifiedName}'>`;
  }

  [PY_REPR](): string {
    return this.toString();
  }
}
