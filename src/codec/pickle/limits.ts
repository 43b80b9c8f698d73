/**
 * Bounds on what one pickle may make the decoder build. CPython's unpickler has none (a peer that may send
 * pickles may run code anyway); we resolve no code, so these are what stands between a hostile frame and
 * memory, time or a consumer's recursion. Each is documented, with its default, in src/limits.ts.
 */
import { resolveLimits as resolve, type LimitOptions, type Limits } from '../../limits.js';

const PICKLE_LIMITS = ['maxDepth', 'maxMemo', 'maxItems', 'maxIntDigits', 'decodeAllocationFactor', 'decodeAllocationFloor'] as const;

export type PickleLimits = Pick<Limits, (typeof PICKLE_LIMITS)[number]>;

export const DEFAULT_PICKLE_LIMITS: PickleLimits = resolve({}, PICKLE_LIMITS);

/** Fills in defaults and checks that every limit is a positive number. */
export function resolveLimits(limits: LimitOptions<keyof PickleLimits> = {}): PickleLimits {
  return resolve(limits, PICKLE_LIMITS);
}
