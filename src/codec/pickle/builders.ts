/**
 * Objects that live on the unpickler's stack and memo but never in a decoded value. Each stands for
 * something that is not finished yet (a dict still receiving items, an instance still waiting for BUILD)
 * or that must never become a value (a global). The decoder turns them into values when they are
 * placed inside something else or returned (`finish` in decode.ts).
 *
 * The contract between the decoder and the allow-list (`GlobalEntry`, `UnpicklerHooks`) lives here too,
 * so that globals.ts (the handlers) and decode.ts (the machine) both import it and not each other.
 */
import type { DecodeContext } from '../types.js';

/** What a global handler may ask of the decoder (the unpickler implements it). */
export interface UnpicklerHooks {
  readonly context: DecodeContext | undefined;
  /** Throws a CodecError naming the opcode and offset. */
  fail(message: string): never;
  /** Records that a Set is a frozenset (ADDITEMS must not grow it). */
  markFrozen(set: Set<unknown>): void;
}

/** How one allow-listed global may be used. A missing handler means that use is forbidden. */
export interface GlobalEntry {
  /** REDUCE (and INST/OBJ with arguments): `global(*args)`. */
  readonly call?: (args: readonly unknown[], g: PyGlobal, cx: UnpicklerHooks) => unknown;
  /** NEWOBJ (and INST/OBJ without arguments): `global.__new__(global, *args)`. */
  readonly create?: (args: readonly unknown[], g: PyGlobal, cx: UnpicklerHooks) => unknown;
  /** BUILD on an Instance that `create` made. */
  readonly build?: (inst: Instance, state: unknown, cx: UnpicklerHooks) => void;
  /** The argument tuple may hold globals (the handler checks where). */
  readonly takesGlobals?: boolean;
  /** May be RebuildProxy's first argument. */
  readonly proxyClass?: boolean;
  /** May be `copyreg._reconstructor`'s second argument. */
  readonly baseObject?: boolean;
  /** May be `array._array_reconstructor`'s first argument. */
  readonly arrayType?: boolean;
  /** May stand as a value by itself (a class sent as data, e.g. a Value's typecode): a `PythonClass`. */
  readonly typeValue?: boolean;
}

/** Common base, so the decoder needs one `instanceof` to tell a stack-only object from a value. */
export abstract class Intermediate {}

/** Beyond this index V8 keeps an object's integer keys in a dictionary (JSObject's sparse-array rules). */
const FAST_ELEMENTS_LIMIT = 8192;

/**
 * A dict being decoded. It is a plain object while every key is a str (keys are defined as own
 * properties, so a `__proto__` key is just a key), and becomes a Map when another kind of key arrives.
 * Once sealed (placed inside another value) its representation is fixed; later items still reach it, as
 * they do in CPython for a dict that contains itself.
 */
export class DictBuilder extends Intermediate {
  #obj: Record<string, unknown> | null = {};
  #map: Map<unknown, unknown> | null = null;
  #sealed = false;

  /** One past the largest array-index key so far (V8 keeps those in a store sized by the largest). */
  #elements = 0;

  /**
   * What adding str `key` costs beyond an ordinary entry, for the decode budget: a key that is an array
   * index (`'1023'`) makes V8 give a plain object a fast elements store sized by the largest such key
   * (about 12 bytes per index below it; `{'1023': 0}` takes 12 KB), until the store is sparse enough to
   * become a dictionary (past ~8K, charged as one entry).
   */
  indexKeyCost(key: string): number {
    const n = key.length;
    if (n === 0 || n > 10 || (n > 1 && key.charCodeAt(0) === 0x30)) return 0;
    for (let i = 0; i < n; i++) {
      const c = key.charCodeAt(i);
      if (c < 0x30 || c > 0x39) return 0;
    }
    const index = Number(key);
    if (index >= 0xffffffff || index < this.#elements) return 0;
    const grown = index + 1 - this.#elements;
    this.#elements = index + 1;
    return index < FAST_ELEMENTS_LIMIT ? 12 * grown + 16 : 48;
  }

  /** Adds one item; false when the dict is already a sealed plain object and `key` is not a str. */
  set(key: unknown, value: unknown): boolean {
    const obj = this.#obj;
    if (obj !== null) {
      if (typeof key === 'string') {
        defineKey(obj, key, value);
        return true;
      }
      if (this.#sealed) return false;
      this.#map = new Map(Object.entries(obj));
      this.#obj = null;
    }
    (this.#map as Map<unknown, unknown>).set(key, value);
    return true;
  }

  get size(): number {
    return this.#obj !== null ? Object.keys(this.#obj).length : (this.#map as Map<unknown, unknown>).size;
  }

  /** The dict's value from now on: the same object every time. */
  seal(): Record<string, unknown> | Map<unknown, unknown> {
    this.#sealed = true;
    return this.#obj ?? (this.#map as Map<unknown, unknown>);
  }
}

/**
 * Sets `obj[key] = value` as an own data property without ever reaching a prototype. A key that
 * Object.prototype has (`__proto__`, `constructor`, `toString`, ...) is defined with defineProperty, so
 * neither the `__proto__` setter nor a frozen intrinsic gets involved; any other key cannot meet a setter
 * or a read-only property on the way, and plain assignment is 50 times faster than defineProperty.
 */
export function defineKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key in Object.prototype) Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}

/** A global as the pickle named it. It is never a value: only REDUCE, NEWOBJ, BUILD and friends use it. */
export class PyGlobal extends Intermediate {
  readonly module: string;
  readonly name: string;
  readonly entry: GlobalEntry;
  constructor(module: string, name: string, entry: GlobalEntry) {
    super();
    this.module = module;
    this.name = name;
    this.entry = entry;
  }
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/**
 * A tuple with a global among its items: the argument tuple of `RebuildProxy(ProxyClass, ...)`,
 * `copyreg._reconstructor(cls, object, None)` or `array._array_reconstructor(array, ...)`. Only a REDUCE
 * whose callable accepts globals may consume it.
 */
export class GlobalArgs extends Intermediate {
  readonly items: readonly unknown[];
  constructor(items: readonly unknown[]) {
    super();
    this.items = items;
  }
  /** The first global among the items, for the error that names it. */
  firstGlobal(): PyGlobal | undefined {
    for (const item of this.items) if (item instanceof PyGlobal) return item;
    return undefined;
  }
}

/**
 * An instance made by NEWOBJ (CPython's `cls.__new__(cls)`) that BUILD has not given its state yet.
 * `value` is what it becomes; undefined until it is complete.
 */
export class Instance extends Intermediate {
  readonly cls: PyGlobal;
  value: unknown;
  built = false;
  constructor(cls: PyGlobal, value?: unknown) {
    super();
    this.cls = cls;
    this.value = value;
  }
}
