/**
 * The reconnect policy on its own: the option checked field by field, and the backoff's bounds. The
 * client's behaviour over real sockets is in test/manager/reconnect.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { AddressError, InvalidArgumentError } from '../../src/errors.js';
import { RECONNECT_DEFAULTS, backoffDelay, reconnectPolicy, type ReconnectOptions } from '../../src/protocol/reconnecting-client.js';
import type { Address } from '../../src/transport/address.js';

describe('reconnectPolicy', () => {
  it('true takes the defaults: 100 ms, at most 5 s, forever, no other address', () => {
    expect(reconnectPolicy(true)).toEqual({ addresses: [], initialDelay: 100, maxDelay: 5_000, attempts: Infinity });
    expect(RECONNECT_DEFAULTS).toEqual({ initialDelay: 100, maxDelay: 5_000, attempts: Infinity });
  });

  it('keeps what it is given, and checks each address', () => {
    const addresses: Address[] = [['127.0.0.1', 5001], '/tmp/other.sock'];
    expect(reconnectPolicy({ addresses, initialDelay: 0, maxDelay: 0, attempts: 3 })).toEqual({ addresses, initialDelay: 0, maxDelay: 0, attempts: 3 });
    expect(() => reconnectPolicy({ addresses: ['nowhere' as unknown as Address] })).toThrow(AddressError);
  });

  const BAD: Array<[ReconnectOptions, RegExp]> = [
    [{ initialDelay: -1 }, /initialDelay must be a number of milliseconds ≥ 0, not -1/],
    [{ initialDelay: NaN }, /initialDelay/],
    [{ maxDelay: 50 }, /maxDelay must be a number of milliseconds ≥ initialDelay \(100\), not 50/],
    [{ maxDelay: Infinity }, /maxDelay/],
    [{ attempts: 0 }, /attempts must be a whole number ≥ 1, or Infinity, not 0/],
    [{ attempts: 2.5 }, /attempts/],
    [{ addresses: 'x' as unknown as Address[] }, /addresses must be an array/],
  ];
  it.each(BAD)('refuses %j with InvalidArgumentError naming the field', (option, message) => {
    expect(() => reconnectPolicy(option)).toThrow(InvalidArgumentError);
    expect(() => reconnectPolicy(option)).toThrow(message);
  });
});

describe('backoffDelay', () => {
  const policy = { initialDelay: 100, maxDelay: 1_000 };
  it('doubles from initialDelay up to maxDelay, drawn from [d/2, d]', () => {
    const low = (attempt: number) => backoffDelay(attempt, policy, () => 0);
    const high = (attempt: number) => backoffDelay(attempt, policy, () => 1);
    expect([1, 2, 3, 4, 5, 60, 5000].map(high)).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000]);
    expect([1, 2, 3, 4, 5, 60, 5000].map(low)).toEqual([50, 100, 200, 400, 500, 500, 500]);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(3, policy);
      expect(d).toBeGreaterThanOrEqual(200);
      expect(d).toBeLessThanOrEqual(400);
    }
  });

  it('is 0 throughout with an initialDelay of 0', () => {
    expect(backoffDelay(1, { initialDelay: 0, maxDelay: 0 })).toBe(0);
    expect(backoffDelay(2000, { initialDelay: 0, maxDelay: 10 })).toBe(0);
  });
});
