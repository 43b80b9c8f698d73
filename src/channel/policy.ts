/**
 * Which policy applies when none is given. Servers and listeners `prefer`: they offer encryption and
 * every mpmanager client that wants it gets it, while stock CPython clients (which cannot encrypt) are
 * served as before. Clients `prefer` too, except towards an address on this machine (a Unix socket, a
 * loopback host): there nothing travels beyond the kernel, and encrypting would only cost time. Pass
 * `encryption` explicitly to override either.
 */
import { InvalidArgumentError } from '../errors.js';
import { addressFamily, type Address } from '../transport/address.js';
import { ENCRYPTION_POLICIES, type EncryptionPolicy } from './key-exchange.js';
import { NODE_SUITES, type SuiteName } from './suites.js';

export const DEFAULT_SERVER_POLICY: EncryptionPolicy = 'prefer';

/** True for loopback hosts: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || /^::ffff:127\./i.test(h);
}

/** True when `address` is on this machine: a Unix socket, or a TCP or WebSocket address on a loopback host. */
export function isLocalAddress(address: Address): boolean {
  const family = addressFamily(address);
  if (family === 'unix') return true;
  if (family === 'tcp') return isLoopbackHost(String((address as readonly unknown[])[0]));
  try {
    return isLoopbackHost(new URL(address as string).hostname);
  } catch {
    return false;
  }
}

/** A client's policy towards `address`: the one given, else `off` on this machine and `prefer` beyond it. */
export function clientPolicy(given: EncryptionPolicy | undefined, address: Address): EncryptionPolicy {
  return checkPolicy(given) ?? (isLocalAddress(address) ? 'off' : 'prefer');
}

/** Validates a policy given by a user (undefined stays undefined). */
export function checkPolicy(policy: EncryptionPolicy | undefined): EncryptionPolicy | undefined {
  if (policy === undefined || ENCRYPTION_POLICIES.includes(policy)) return policy;
  throw new InvalidArgumentError(`encryption must be one of ${ENCRYPTION_POLICIES.join(', ')}, not ${JSON.stringify(policy)}`);
}

/** Validates a suite list given by a user; undefined gives this runtime's suites. */
export function checkSuites(suites: readonly SuiteName[] | undefined): readonly SuiteName[] {
  if (suites === undefined) return NODE_SUITES;
  if (suites.length === 0 || suites.some((s) => !NODE_SUITES.includes(s))) {
    throw new InvalidArgumentError(`encryptionSuites must list one or more of ${NODE_SUITES.join(', ')}`);
  }
  return suites;
}
