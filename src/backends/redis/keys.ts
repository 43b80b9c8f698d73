/**
 * The key layout. Every key of one object shares the hash tag `{kind:name}`, so each Lua script touches one
 * slot only (what scripts and Redis Cluster require); a server's lease is the one key outside any object.
 *
 *   <ns>:{<kind>:<name>}:<part>     a part of one object (parts per kind are listed in index.ts)
 *   <ns>:{<kind>:<name>}:wake       its wake channel (pub/sub; a channel, not a key)
 *   <ns>:lease:<server id>          a server's lease: exists while the server is alive (PX lease)
 *
 * `kind` is the storage kind (`queue` for Queue and JoinableQueue, `dict`, `lock`, ...), so one name may
 * be used by objects of different kinds without their keys meeting.
 */
import { InvalidArgumentError } from '../../errors.js';

/** Storage kinds: one per typeid, except that Queue and JoinableQueue share `queue` (one class in Python). */
export const Kind = {
  Queue: 'queue',
  Dict: 'dict',
  List: 'list',
  Set: 'set',
  Namespace: 'namespace',
  Value: 'value',
  Lock: 'lock',
  RLock: 'rlock',
  Semaphore: 'semaphore',
  BoundedSemaphore: 'boundedsemaphore',
  Event: 'event',
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/** Longest object name or namespace, in characters. */
export const MAX_NAME_LENGTH = 256;

/** Checks an object name or namespace: non-empty, bounded, and without `{`/`}` (they would move the hash tag). */
export function checkName(name: unknown, what: 'name' | 'namespace'): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH) {
    throw new InvalidArgumentError(`a shared object's ${what} must be a string of 1 to ${MAX_NAME_LENGTH} characters, not ${typeof name === 'string' ? `${name.length} characters` : typeof name}`);
  }
  if (/[{}\x00-\x1f]/.test(name)) throw new InvalidArgumentError(`a shared object's ${what} cannot contain '{', '}' or control characters: ${JSON.stringify(name)}`);
  return name;
}

/** The keys of one object. */
export class ObjectKeys {
  /** `<ns>:{<kind>:<name>}` */
  readonly base: string;
  /** The wake channel. */
  readonly wake: string;

  constructor(namespace: string, kind: Kind, name: string) {
    this.base = `${namespace}:{${kind}:${name}}`;
    this.wake = `${this.base}:wake`;
  }

  part(part: string): string {
    return `${this.base}:${part}`;
  }
}

/** The lease key of server `serverId`. */
export function leaseKey(namespace: string, serverId: string): string {
  return `${namespace}:lease:${serverId}`;
}
