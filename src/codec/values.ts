/**
 * Value types that exist so Python values survive a round trip through JavaScript.
 */
import { PY_REPR, PY_TYPE, type Repr } from '../python-repr.js';

/**
 * A Python tuple. It is an Array in every way; the class only marks that it must be written back as a
 * tuple (Python code compares `q.get() == (1, 2)` and a list would not be equal).
 */
export class Tuple<T = unknown> extends Array<T> {
  static override get [Symbol.species](): ArrayConstructor {
    return Array;
  }
  get [PY_TYPE](): string {
    return 'tuple';
  }
  [PY_REPR](repr: Repr): string {
    return this.length === 1 ? `(${repr(this[0])},)` : repr.join('(', this, ')');
  }
}

/** Makes a Python tuple from its items: `tuple(1, 'a')` is `(1, 'a')`. */
export function tuple<T>(...items: T[]): Tuple<T> {
  const t = new Tuple<T>();
  for (const item of items) t.push(item);
  return t;
}

/** Python's `slice(start, stop, step)`, as `l[1:3]` sends it. */
export class Slice {
  readonly start: number | null;
  readonly stop: number | null;
  readonly step: number | null;
  constructor(start: number | null, stop: number | null, step: number | null = null) {
    this.start = start;
    this.stop = stop;
    this.step = step;
  }
  get [PY_TYPE](): string {
    return 'slice';
  }
  [PY_REPR](repr: Repr): string {
    return `slice(${repr(this.start)}, ${repr(this.stop)}, ${repr(this.step)})`;
  }
}
