/**
 * `Lock`, `RLock`, `Semaphore` and `BoundedSemaphore` kept in Redis, owned as the in-memory ones are: by
 * the client connection (`currentCall().owner`), here together with this server's id.
 *
 * Lock / RLock
 *   owner  STRING (Lock) or HASH {token, count} (RLock), with a PX lease of `lease` ms. The token is
 *          `<server id>|<connection id>|<n>`. Taken with SET NX PX (one Lua script with the PTTL a waiter
 *          retries at: a dead holder's server publishes nothing, its lease just ends).
 *   The server renews the lease every lease/3 while the holding connection is open; the connection
 *   closing releases the lock at once; a server that dies stops renewing, so its locks are free after at
 *   most `lease` ms. An RLock counts re-entries of its owner (the count is the holder's, mirrored in Redis).
 *   A Lock may be released by any caller, as Python's (`release` deletes it whoever holds it); an RLock only
 *   by its owner.
 *
 * Semaphore / BoundedSemaphore
 *   value  STRING  free permits (written with the initial value on first use)
 *   meta   HASH    initial (the first server's; a server given another gets InvalidArgumentError)
 *   holds  ZSET    `<server id>|<connection id>|<n>`, one member per permit held, scored by `seq`
 *   As in memory, only permits taken from the initial value count as held (a semaphore used to signal
 *   never gets a consumed permit back), a connection that closes returns what it held, and a release by a
 *   caller who holds none credits the oldest holds when every permit is accounted for. Permits held through
 *   a server that dies are returned by the reaper of any other server once its lease has expired.
 *   BoundedSemaphore raises ValueError when a release would pass the initial value.
 *
 * A lost connection to Redis: an acquire whose reply was lost with it may have taken the lock or permit
 * unawares. When Redis is back, such a lock is released (its token is known), and such a permit given
 * back if it counted as held; one that did not (taken beyond the initial value, after a release used as
 * a signal) stays taken, as a signal lost with the connection.
 *
 * Fencing caveat (Kleppmann, "How to do distributed locking"): a lease is time-bound. A holder whose
 * server pauses (GC, swap, a stopped VM) or loses Redis for longer than the lease loses the lock without
 * knowing, and another caller can take it while the first still thinks it holds it. These locks are for
 * efficiency and mutual exclusion among live servers; when correctness depends on exclusion, have the
 * protected resource check a fencing token. A holder that finds its lease gone at `release()` gets
 * RuntimeError saying so, rather than releasing someone else's lock.
 */
import { InvalidArgumentError } from '../../errors.js';
import { PyRuntimeError, ValueError } from '../../python-errors.js';
import { currentCall, type Owner } from '../../server/context.js';
import { GET_VALUE, PY_SIGNATURES } from '../../server/dispatch.js';
import { PY_REPR } from '../../python-repr.js';
import { Kind } from './keys.js';
import { toInt, truth } from '../../server/py.js';
import { defineScript, isUnreachable, type Script } from './store.js';
import { deadlineOf, lockTimeout, seconds } from './timeouts.js';
import { MISS, hit, type Outcome } from './waiting.js';
import { type Backend, type LeaseHold, RECOVER, REAP, RELEASE_ALL, SIZE, SharedObject } from './backend.js';

// ---- scripts -------------------------------------------------------------------------------------

/** KEYS owner; ARGV token, lease. {1} taken; {0, pttl} held by another. */
const LOCK_ACQUIRE = defineScript('lock-acquire', `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1} end
return {0, redis.call('PTTL', KEYS[1])}
`);

/** KEYS owner; ARGV token, lease. 1 renewed, 0 not ours. */
const LOCK_RENEW = defineScript('lock-renew', `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`);

/** KEYS owner; ARGV token, channel. 1 released, 0 not ours. */
const LOCK_RELEASE_MINE = defineScript('lock-release-mine', `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[2], 'release')
return 1
`);

/** KEYS owner; ARGV channel. 1 released, 0 it was not held. */
const LOCK_RELEASE_ANY = defineScript('lock-release-any', `
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
redis.call('PUBLISH', ARGV[1], 'release')
return 1
`);

/** KEYS owner; ARGV token, lease. {1} taken; {0, pttl} held by another. */
const RLOCK_ACQUIRE = defineScript('rlock-acquire', `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'token', ARGV[1], 'count', 1)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1}
end
return {0, redis.call('PTTL', KEYS[1])}
`);

/** KEYS owner; ARGV token, count, lease. 1 done, 0 not ours (any more). */
const RLOCK_COUNT = defineScript('rlock-count', `
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'count', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`);

/** KEYS owner; ARGV token, lease. 1 renewed, 0 not ours. */
const RLOCK_RENEW = defineScript('rlock-renew', `
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`);

/** KEYS owner; ARGV token, channel. 1 released, 0 not ours. */
const RLOCK_RELEASE = defineScript('rlock-release', `
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[2], 'release')
return 1
`);

/** Reads (or writes, the first time) the initial value: `init` holds it, or the script returns {-1, stored}. */
const SEM_INITIAL = `
local init = redis.call('HGET', KEYS[META], 'initial')
if not init then
  redis.call('HSET', KEYS[META], 'initial', ARGV[1])
  init = ARGV[1]
elseif init ~= ARGV[1] then
  return {-1, init}
end
init = tonumber(init)
`;

/** KEYS value, holds, seq, meta; ARGV initial, member. {1} taken and held, {2} taken (not counted as held), {0} none free. */
const SEM_ACQUIRE = defineScript('semaphore-acquire', `${SEM_INITIAL.replaceAll('META', '4')}
local v = tonumber(redis.call('GET', KEYS[1]) or init)
if v <= 0 then
  redis.call('SET', KEYS[1], v)
  return {0}
end
redis.call('SET', KEYS[1], v - 1)
if redis.call('ZCARD', KEYS[2]) < init then
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[2])
  return {1}
end
return {2}
`);

/**
 * KEYS value, holds, meta; ARGV initial, bounded ('1'), n, channel, the caller's members... {1, members
 * no longer held} released; {-2} past the bound.
 */
const SEM_RELEASE = defineScript('semaphore-release', `${SEM_INITIAL.replaceAll('META', '3')}
local v = tonumber(redis.call('GET', KEYS[1]) or init)
local n = tonumber(ARGV[3])
if ARGV[2] == '1' and v + n > init then return {-2} end
local credited, dropped = 0, {}
for i = 5, #ARGV do
  if credited >= n then break end
  dropped[#dropped + 1] = ARGV[i]
  credited = credited + redis.call('ZREM', KEYS[2], ARGV[i])
end
local rest = n - credited
local excess = v + redis.call('ZCARD', KEYS[2]) + rest - init
if rest > 0 and excess > 0 then redis.call('ZPOPMIN', KEYS[2], math.min(rest, excess)) end
redis.call('SET', KEYS[1], v + n)
redis.call('PUBLISH', ARGV[4], 'release')
return {1, dropped}
`);

/** KEYS value, holds; ARGV channel, permits held by no member, members... Gives them back; returns how many. */
const SEM_GIVE = defineScript('semaphore-give', `
local n = tonumber(ARGV[2])
for i = 3, #ARGV do n = n + redis.call('ZREM', KEYS[2], ARGV[i]) end
if n > 0 and redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('INCRBY', KEYS[1], n)
  redis.call('PUBLISH', ARGV[1], 'release')
end
return n
`);

/** KEYS value, holds; ARGV channel, dead server ids... Returns the permits those servers held. */
const SEM_RECLAIM = defineScript('semaphore-reclaim', `
local dead = {}
for i = 2, #ARGV do dead[ARGV[i]] = true end
local n = 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local server = string.match(m, '^([^|]*)|')
  if server and dead[server] then
    redis.call('ZREM', KEYS[2], m)
    n = n + 1
  end
end
if n > 0 and redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('INCRBY', KEYS[1], n)
  redis.call('PUBLISH', ARGV[1], 'release')
end
return n
`);

// ---- locks ---------------------------------------------------------------------------------------

/** A lock held through this server. */
interface Held {
  readonly owner: Owner;
  readonly token: string;
  count: number;
  readonly lease: LeaseHold;
  readonly unregister: () => void;
}

interface LockScripts {
  readonly acquire: Script;
  readonly renew: Script;
  readonly release: Script;
}

/** What Lock and RLock share: taking the lease, renewing it, and giving it up. */
abstract class LeasedLock extends SharedObject {
  static readonly [PY_SIGNATURES] = { acquire: ['blocking', 'timeout'] };
  protected readonly ownerKey: string;
  protected held: Held | null = null;
  /** Owners whose lease ran out while they held the lock: their next release says so. */
  readonly #lost = new WeakSet<Owner>();
  /** Tokens of acquisitions whose reply was lost with the connection: released if Redis has them. */
  readonly #uncertain = new Set<string>();
  readonly #scripts: LockScripts;

  constructor(backend: Backend, kind: Kind, name: string, typeid: string, scripts: LockScripts) {
    super(backend, kind, name, typeid);
    this.ownerKey = this.layout.part('owner');
    this.#scripts = scripts;
  }

  /** Takes the lock; `false` when not blocking (or on timeout) and it is held. */
  acquire(blocking: unknown = true, timeout: unknown = -1): Promise<boolean> {
    const call = currentCall();
    const block = truth(blocking);
    const t = lockTimeout(block, timeout);
    return this.#acquire(call.owner, block, t, call.signal);
  }

  async locked(): Promise<boolean> {
    return (await this.backend.store.command(['EXISTS', this.ownerKey])) === 1;
  }

  async [SIZE](): Promise<number> {
    return (await this.locked()) ? 1 : 0;
  }

  /** Re-entry by the holder (RLock); null when this lock does not re-enter. (`_`: not a Python method.) */
  protected _reenter(_owner: Owner): Promise<boolean | null> {
    return Promise.resolve(null);
  }

  async #acquire(owner: Owner, block: boolean, t: number | null, signal: AbortSignal): Promise<boolean> {
    const again = await this._reenter(owner);
    if (again !== null) return again;
    const deadline = deadlineOf(t);
    if (!(block && this._waiting('acquire')) && (await this.#try(owner)).ok) return true;
    if (!block || (t !== null && t <= 0)) return false;
    return this.room.fifo('acquire', () => this.#try(owner), {
      deadline,
      signal,
      onTimeout: () => false,
      undo: async () => {
        const held = this.held;
        if (held !== null && held.owner === owner) await this._releaseHeld(held);
      },
    });
  }

  async #try(owner: Owner): Promise<Outcome<boolean>> {
    const token = `${this.backend.serverId}|${owner.id}|${this.backend.nextId()}`;
    let reply: [number, number?];
    try {
      reply = (await this.backend.store.run(this.#scripts.acquire, [this.ownerKey], [token, String(this.backend.lease)])) as [number, number?];
    } catch (err) {
      if (isUnreachable(err)) this.#uncertain.add(token);
      throw err;
    }
    if (reply[0] !== 1) {
      // Retry when the holder's lease ends (its server may be dead and publish nothing). A key without
      // an expiry (-1) was not set by a server: wait for a release message only.
      const pttl = reply[1] ?? -1;
      return { ok: false, retryInMs: pttl >= 0 ? pttl : undefined };
    }
    this.#take(owner, token);
    return hit(true);
  }

  #take(owner: Owner, token: string): void {
    const lease: LeaseHold = {
      renew: async () => (await this.backend.store.run(this.#scripts.renew, [this.ownerKey], [token, String(this.backend.lease)])) === 1,
      lost: () => {
        if (this.held?.token === token) this._forget(this.held, true);
      },
    };
    this.backend.hold(lease);
    const unregister = owner.onClose(() => {
      const held = this.held;
      if (held?.token !== token) return;
      this.backend.background(
        this._releaseHeld(held).catch((err: unknown) => {
          if (isUnreachable(err)) {
            // Stop renewing (the lease ends by itself), and release it as soon as Redis is back.
            this._forget(held);
            this.#uncertain.add(token);
          }
          throw err;
        }),
      );
    });
    this.held = { owner, token, count: 1, lease, unregister };
  }

  /** Releases the lock `held` names; throws RuntimeError if its lease had run out. */
  protected async _releaseHeld(held: Held): Promise<void> {
    const released = await this.backend.store.run(this.#scripts.release, [this.ownerKey], [held.token, this.layout.wake]);
    this._forget(held);
    if (released !== 1) throw this._lostError();
  }

  /** Forgets `held` here (no more renewals, no release on close); `lost`: its owner is told at release. */
  protected _forget(held: Held, lost = false): void {
    held.unregister();
    this.backend.unhold(held.lease);
    if (this.held === held) this.held = null;
    if (lost) this.#lost.add(held.owner);
  }

  /** Whether `owner` lost the lock to its lease running out (and forgets it). */
  protected _wasLost(owner: Owner): boolean {
    return this.#lost.delete(owner);
  }

  protected _lostError(): PyRuntimeError {
    return new PyRuntimeError(
      `${this.place} was no longer held by this caller: its lease in Redis (${this.backend.lease} ms) ran out before the release, because its server was paused or cut off from Redis for that long, and another caller may have taken it meanwhile`,
    );
  }

  override async [RECOVER](): Promise<void> {
    for (const token of [...this.#uncertain]) {
      await this.backend.store.run(this.#scripts.release, [this.ownerKey], [token, this.layout.wake]);
      this.#uncertain.delete(token);
    }
  }

  override async [RELEASE_ALL](): Promise<void> {
    const held = this.held;
    if (held !== null) await this._releaseHeld(held).catch(() => {});
  }
}

/** Python's `threading.Lock`: any caller may release it; the connection that took it loses it on close. */
export class RedisLock extends LeasedLock {
  constructor(backend: Backend, name: string, typeid: string) {
    super(backend, Kind.Lock, name, typeid, { acquire: LOCK_ACQUIRE, renew: LOCK_RENEW, release: LOCK_RELEASE_MINE });
  }

  release(): Promise<void> {
    const { owner } = currentCall();
    return this.#release(owner);
  }

  async [GET_VALUE](): Promise<{ locked: boolean }> {
    return { locked: await this.locked() };
  }

  [PY_REPR](): string {
    return `<_thread.lock shared in Redis as '${this.name}'>`;
  }

  async #release(owner: Owner): Promise<void> {
    const held = this.held;
    // Held through this server (by any of its callers, as Python lets any thread release a Lock).
    if (held !== null) return this._releaseHeld(held);
    if (this._wasLost(owner)) throw this._lostError();
    const released = await this.backend.store.run(LOCK_RELEASE_ANY, [this.ownerKey], [this.layout.wake]);
    if (released !== 1) throw new PyRuntimeError('release unlocked lock');
  }
}

/** Python's `threading.RLock`: re-entrant for its owner; only the owner may release it. */
export class RedisRLock extends LeasedLock {
  constructor(backend: Backend, name: string, typeid: string) {
    super(backend, Kind.RLock, name, typeid, { acquire: RLOCK_ACQUIRE, renew: RLOCK_RENEW, release: RLOCK_RELEASE });
  }

  release(): Promise<void> {
    const { owner } = currentCall();
    return this.#release(owner);
  }

  async [GET_VALUE](): Promise<{ locked: boolean; count: number }> {
    const count = (await this.backend.store.command(['HGET', this.ownerKey, 'count'])) as Buffer | null;
    return { locked: count !== null, count: Number(count?.toString() ?? 0) };
  }

  [PY_REPR](): string {
    return `<_thread.RLock shared in Redis as '${this.name}'>`;
  }

  protected override async _reenter(owner: Owner): Promise<boolean | null> {
    const held = this.held;
    if (held === null || held.owner !== owner) return null;
    if (await this.#count(held, held.count + 1)) return true;
    return null;
  }

  async #release(owner: Owner): Promise<void> {
    const held = this.held;
    if (held === null || held.owner !== owner) {
      if (this._wasLost(owner)) throw this._lostError();
      throw new PyRuntimeError('cannot release un-acquired lock');
    }
    if (held.count > 1) {
      if (!(await this.#count(held, held.count - 1))) throw this._lostError();
      return;
    }
    await this._releaseHeld(held);
  }

  /** Sets the count (checking the lease is still ours); false, and forgotten, if it is not. */
  async #count(held: Held, count: number): Promise<boolean> {
    const ok = (await this.backend.store.run(RLOCK_COUNT, [this.ownerKey], [held.token, String(count), String(this.backend.lease)])) === 1;
    if (ok) held.count = count;
    else this._forget(held, true);
    return ok;
  }
}

// ---- semaphores ----------------------------------------------------------------------------------

/** A permit taken: its member of `holds`, or null when it does not count as held. */
interface Permit {
  readonly member: string | null;
}

/** Python's `threading.Semaphore(value=1)`. */
export class RedisSemaphore extends SharedObject {
  static readonly [PY_SIGNATURES] = { acquire: ['blocking', 'timeout'], release: ['n'] };
  readonly #initial: number;
  readonly #bounded: boolean;
  readonly #value: string;
  readonly #holds: string;
  readonly #seq: string;
  readonly #meta: string;
  /** The permits each connection holds through this server (members of `holds`). */
  readonly #held = new Map<Owner, { members: string[]; unregister: () => void }>();
  /** Members whose fate was lost with the connection, or that a closed connection could not give back. */
  readonly #orphans = new Set<string>();

  constructor(backend: Backend, name: string, typeid: string, value: unknown = 1, bounded = false) {
    super(backend, bounded ? Kind.BoundedSemaphore : Kind.Semaphore, name, typeid);
    const v = toInt(value);
    if (v < 0) throw new ValueError('semaphore initial value must be >= 0');
    this.#initial = v;
    this.#bounded = bounded;
    this.#value = this.layout.part('value');
    this.#holds = this.layout.part('holds');
    this.#seq = this.layout.part('seq');
    this.#meta = this.layout.part('meta');
  }

  /** The initial value this server was given. */
  get initialValue(): number {
    return this.#initial;
  }

  /** Takes a permit; `false` when not blocking (or on timeout) and none is free. */
  acquire(blocking: unknown = true, timeout: unknown = null): Promise<boolean> {
    const call = currentCall();
    const block = truth(blocking);
    if (!block && timeout !== null && timeout !== undefined) throw new ValueError("can't specify timeout for non-blocking acquire");
    const t = seconds(timeout);
    return this.#acquire(call.owner, block, t, call.signal);
  }

  /** Gives back `n` permits (Python 3.9+). */
  release(n: unknown = 1): Promise<void> {
    const count = toInt(n);
    if (count < 1) throw new ValueError('n must be one or more');
    const { owner } = currentCall();
    return this.#release(owner, count);
  }

  /** Whether no permit is free (as asyncio's `Semaphore.locked()`). */
  async locked(): Promise<boolean> {
    return (await this.#free()) === 0;
  }

  async [GET_VALUE](): Promise<{ value: number }> {
    return { value: await this.#free() };
  }

  [PY_REPR](): string {
    return `<threading.${this.#bounded ? 'BoundedSemaphore' : 'Semaphore'} shared in Redis as '${this.name}': initial=${this.#initial}>`;
  }

  /** The free permits. */
  async [SIZE](): Promise<number> {
    return this.#free();
  }

  async #free(): Promise<number> {
    const raw = (await this.backend.store.command(['GET', this.#value])) as Buffer | null;
    return raw === null ? this.#initial : Number(raw.toString());
  }

  async #acquire(owner: Owner, block: boolean, t: number | null, signal: AbortSignal): Promise<boolean> {
    const deadline = deadlineOf(t);
    if (!(block && this._waiting('acquire')) && (await this.#try(owner)).ok) return true;
    if (!block || (t !== null && t <= 0)) return false;
    // Permits a dead server held may be all there is: take them back before waiting.
    await this[REAP]();
    const got = await this.room.fifo<Permit | null>('acquire', () => this.#try(owner), {
      deadline,
      signal,
      onTimeout: () => null,
      undo: async (permit) => {
        if (permit === null) return;
        if (permit.member !== null) this.#unhold(owner, [permit.member]);
        await this.#give(permit.member === null ? 1 : 0, permit.member === null ? [] : [permit.member]);
      },
    });
    return got !== null;
  }

  /** One attempt: the permit (its member when it counts as held), or a miss. */
  async #try(owner: Owner): Promise<Outcome<Permit>> {
    const member = `${this.backend.serverId}|${owner.id}|${this.backend.nextId()}`;
    let reply: [number, Buffer?];
    try {
      reply = (await this.backend.store.run(SEM_ACQUIRE, [this.#value, this.#holds, this.#seq, this.#meta], [String(this.#initial), member])) as [number, Buffer?];
    } catch (err) {
      if (isUnreachable(err)) this.#orphans.add(member);
      throw err;
    }
    if (reply[0] === -1) throw this.#conflict(reply[1]);
    if (reply[0] === 0) return MISS;
    if (reply[0] === 2) return hit({ member: null });
    this.#hold(owner, member);
    return hit({ member });
  }

  #hold(owner: Owner, member: string): void {
    let mine = this.#held.get(owner);
    if (mine === undefined) {
      const entry = { members: [] as string[], unregister: () => {} };
      entry.unregister = owner.onClose(() => this.#closed(owner));
      mine = entry;
      this.#held.set(owner, mine);
    }
    mine.members.push(member);
  }

  /** A connection closed: what it held goes back (later, if Redis is away now). */
  #closed(owner: Owner): void {
    const mine = this.#held.get(owner);
    if (mine === undefined) return;
    this.#held.delete(owner);
    const members = mine.members;
    this.backend.background(
      this.#give(0, members).catch((err: unknown) => {
        for (const m of members) this.#orphans.add(m);
        throw err;
      }),
    );
  }

  async #release(owner: Owner, n: number): Promise<void> {
    const mine = this.#held.get(owner);
    const reply = (await this.backend.store.run(SEM_RELEASE, [this.#value, this.#holds, this.#meta], [String(this.#initial), this.#bounded ? '1' : '0', String(n), this.layout.wake, ...(mine?.members ?? [])])) as [number, (Buffer[] | Buffer)?];
    if (reply[0] === -1) throw this.#conflict(reply[1] as Buffer);
    if (reply[0] === -2) throw new ValueError('Semaphore released too many times');
    this.#unhold(owner, ((reply[1] as Buffer[] | undefined) ?? []).map(String));
  }

  /** `owner` no longer holds `members` here. */
  #unhold(owner: Owner, members: readonly string[]): void {
    const mine = this.#held.get(owner);
    if (mine === undefined) return;
    const gone = new Set(members);
    mine.members = mine.members.filter((m) => !gone.has(m));
    if (mine.members.length === 0) {
      mine.unregister();
      this.#held.delete(owner);
    }
  }

  async #give(unheld: number, members: readonly string[]): Promise<void> {
    await this.backend.store.run(SEM_GIVE, [this.#value, this.#holds], [this.layout.wake, String(unheld), ...members]);
  }

  #conflict(stored: Buffer | undefined): InvalidArgumentError {
    return new InvalidArgumentError(`${this.place} has the initial value ${String(stored)} in Redis, not ${this.#initial}: give every server the same value, or use another name`);
  }

  /** Returns the permits of servers whose lease is gone. */
  override async [REAP](): Promise<void> {
    const members = (await this.backend.store.command(['ZRANGE', this.#holds, '0', '-1'])) as Buffer[];
    const dead = await this.backend.deadServers(members.map((m) => m.toString().split('|', 1)[0] as string));
    if (dead.length > 0) await this.backend.store.run(SEM_RECLAIM, [this.#value, this.#holds], [this.layout.wake, ...dead]);
  }

  /** After a lost connection: give back permits taken unawares, and those closed connections left. */
  override async [RECOVER](): Promise<void> {
    const orphans = [...this.#orphans];
    if (orphans.length === 0) return;
    await this.#give(0, orphans);
    for (const m of orphans) this.#orphans.delete(m);
  }

  /** On close: everything held through this server goes back. */
  override async [RELEASE_ALL](): Promise<void> {
    const members = [...this.#orphans];
    for (const mine of this.#held.values()) {
      mine.unregister();
      members.push(...mine.members);
    }
    this.#held.clear();
    this.#orphans.clear();
    if (members.length > 0) await this.#give(0, members);
  }
}

/** Python's `threading.BoundedSemaphore(value=1)`: releasing past the initial value is a `ValueError`. */
export class RedisBoundedSemaphore extends RedisSemaphore {
  constructor(backend: Backend, name: string, typeid: string, value: unknown = 1) {
    super(backend, name, typeid, value, true);
  }
}
