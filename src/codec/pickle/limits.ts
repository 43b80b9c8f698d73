/**
 * Bounds on what one pickle may make the decoder build. CPython's unpickler has none (a peer that may send
 * pickles may run code anyway); we resolve no code, so these are what stands between a hostile frame and
 * memory or a consumer's recursion.
 */
import { InvalidArgumentError } from '../../errors.js';

export interface PickleLimits {
  /**
   * Deepest nesting of containers (tuple, list, dict, set, exception args, ...) a decoded value may have,
   * and the deepest a value may be to be encoded. Also caps the number of open MARKs. Default 512
   * (CPython's pickler gives up near its recursion limit of 1000).
   */
  readonly maxDepth: number;
  /** Most memo entries one pickle may create (CPython memoizes nearly every value). Default 10 000 000. */
  readonly maxMemo: number;
  /** Most values one pickle may push (every item of every container is pushed once). Default 10 000 000. */
  readonly maxItems: number;
}

export const DEFAULT_PICKLE_LIMITS: PickleLimits = Object.freeze({
  maxDepth: 512,
  maxMemo: 10_000_000,
  maxItems: 10_000_000,
});

/** Fills in defaults and checks that every limit is a positive integer. */
export function resolveLimits(limits: Partial<PickleLimits> = {}): PickleLimits {
  const out = { ...DEFAULT_PICKLE_LIMITS, ...limits };
  for (const [name, v] of Object.entries(out)) {
    if (!Number.isSafeInteger(v) || v <= 0) throw new InvalidArgumentError(`pickle limit ${name} must be a positive integer, got ${String(v)}`);
  }
  return Object.freeze(out);
}
