/** The one limits object (src/limits.ts). */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../src/errors.js';
import { DEFAULT_LIMITS, resolveLimits } from '../src/limits.js';

describe('limits', () => {
  it('are frozen, with the documented defaults', () => {
    expect(Object.isFrozen(DEFAULT_LIMITS)).toBe(true);
    expect(DEFAULT_LIMITS).toMatchObject({ maxFrameSize: 64 * 1024 * 1024, handshakeTimeout: 10_000, handshakeFrameSize: 256, backlog: 128, maxIntDigits: 4300, decodeAllocationFactor: 32 });
  });

  it('resolve overrides over the defaults, and refuse what is not a positive number (0 only where it means off)', () => {
    expect(resolveLimits({ maxFrameSize: 1024, backlog: undefined }, ['maxFrameSize', 'backlog'])).toEqual({ maxFrameSize: 1024, backlog: 128 });
    expect(resolveLimits({ idleTimeout: 0 }, ['idleTimeout']).idleTimeout).toBe(0);
    expect(() => resolveLimits({ maxFrameSize: 0 }, ['maxFrameSize'])).toThrow(InvalidArgumentError);
    expect(() => resolveLimits({ maxCallsInFlight: Number.NaN }, ['maxCallsInFlight'])).toThrow(/maxCallsInFlight must be a positive number/);
    expect(() => resolveLimits({ idleTimeout: -1 }, ['idleTimeout'])).toThrow(/or 0: off/);
  });
});
