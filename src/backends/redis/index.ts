/**
 * Named shared objects kept in Redis, served through any number of mpmanager servers (issue #14).
 *
 *   const objects = await RedisObjects.connect('redis://127.0.0.1:6379', { namespace: 'mpm', lease: 10_000 });
 *   manager.register('jobs', () => objects.queue('jobs'), { proxytype: QueueProxy });
 *
 * Every server that registers `jobs` this way, against the same Redis and namespace, serves the same queue:
 * a referent carries `[SHARED_ID]` (`shared:<kind>:<ns>/<name>`), so a server hosts it under that id, the
 * same on every server, and hosting it again returns the object already hosted. The method names,
 * arguments, results and Python exceptions are the in-memory referents' (src/manager/sync/), so the same
 * proxies, and stock CPython clients, work unchanged. Methods return promises; the server awaits them.
 *
 * Decisions (they go into docs/architecture.md):
 *
 * Typeids. Queue, JoinableQueue (one class, as in Python), dict, list, set, Namespace, Value, Lock, RLock,
 *   Semaphore, BoundedSemaphore, Event. Not Array (use a list). Not Condition: `notify(n)` promises that
 *   n waiting threads wake, and a notified thread either takes the lock back or its process is gone with
 *   everything else. Across servers, a waiter notified while its server dies swallows the notification,
 *   so `notify(1)` can wake nobody while others wait; making that sound needs per-waiter leases and a
 *   re-notify protocol that Python's semantics do not describe. Not Barrier: a party whose server dies
 *   neither arrives nor breaks the barrier, so the others hang until their timeout, where an in-memory
 *   barrier breaks at once when a party's connection closes; and its `action` callable cannot be shared.
 *
 * Key layout (keys.ts). `<ns>:{<kind>:<name>}:<part>`: one hash tag per object, so every Lua script
 *   touches one slot. Parts per kind are listed in each file's header (queue.ts, dict.ts, ...). Each
 *   server has a lease key `<ns>:lease:<server id>` (PX `lease`, renewed every lease/3), and each object a
 *   wake channel `<ns>:{<kind>:<name>}:wake`.
 *
 * Values (values.ts). A version byte, then the project's msgpack encoding: tuples stay tuples, bytes stay
 *   bytes, big ints stay exact, sets stay sets, and dicts keep non-string keys (read back with
 *   `mapsAsObjects: false`, then plain objects where every key is a string, as in memory). Dict keys and
 *   set members are stored under a canonical key (Python's hash + eq, `1`, `1.0` and `True` being one) with
 *   the original kept for `keys()` and iteration. A reference to a hosted object (a proxy inside a value)
 *   or a class instance is refused with PyTypeError naming it; nothing is ever copied into one server's
 *   memory instead.
 *
 * Order. dict keeps Python's insertion order (a ZSET of insertion numbers); list is a LIST; set iterates
 *   in the hash's order (arbitrary, as in Python). Iterating a dict or set walks a snapshot.
 *
 * Blocking (waiting.ts). No polling, no connection per waiter: one subscriber connection per
 *   RedisObjects; a waiter subscribes (shared, ref-counted) to its object's wake channel before it tries,
 *   tries atomically (a Lua script), and retries on each message, at a lock's PTTL (a timer at a known
 *   time: a dead holder publishes nothing), when a reaper returns something, and when a connection to
 *   Redis comes back (pub/sub loses what was published meanwhile). Within one server waiters are FIFO;
 *   across servers, whoever retries first wins.
 *
 * Delivery (queue.ts). At least once. `get` moves the item atomically into this server's in-flight hash
 *   and removes it from there one event-loop turn after `get` resolved (setImmediate), by which time the
 *   reply is written to the client's connection; an aborted get puts its item back at the head at once.
 *   Twice only if a server dies within that turn, or is paused or cut off from Redis for longer than its
 *   lease (its in-flight items are taken back by another server's reaper, and it may still deliver them).
 *   Lost only if a client's connection fails with the reply written and unread (as in memory).
 *
 * Locks (locks.ts). Owner = server id + client connection. A PX lease renewed every lease/3 while the
 *   holding connection lives; released at once when it closes; freed `lease` ms after its server dies.
 *   Semaphore permits held through a dead server are returned by another server's reaper once that
 *   server's lease has expired (the reaper runs every lease period and before a caller blocks, so within
 *   two lease periods of the death; the same holds for its queue items in flight). Fencing caveat: a holder paused longer than the lease loses the lock
 *   unawares and another caller may take it; its later `release()` raises RuntimeError rather than
 *   releasing the new holder's lock. Protect resources that need strict exclusion with fencing tokens.
 *
 * Requirements. Redis 7.0 or later (`SET ... NX GET`, `HRANDFIELD`), one primary. Every script touches
 *   the keys of one object only, so the layout suits Redis Cluster, but the client here talks to one
 *   server (and pub/sub, sentinel failover and replication lag are outside what is tested).
 *
 * Redis unreachable (store.ts). Commands fail at once (node-redis `disableOfflineQueue`) with
 *   BackendError "Redis at URL is unreachable ...; objects kept in the server's own memory still work".
 *   node-redis reconnects by itself (backoff up to 1 s); then this server takes its lease again, settles
 *   what the outage left in doubt (items taken whose reply was lost go back to their queue, locks and
 *   permits taken unawares are given back) and wakes every waiter. Waiters stay through an outage until
 *   their own timeout. Parameters given when an object is made (a queue's maxsize, a semaphore's value)
 *   are written by the first server to use it; a server given other values gets InvalidArgumentError.
 */
export { RedisObjects, SHARED_TYPEIDS, type RedisObjectsOptions } from './redis-objects.js';
export { RedisQueue } from './queue.js';
export { RedisDict } from './dict.js';
export { RedisList } from './list.js';
export { RedisSet } from './set.js';
export { RedisNamespace } from './namespace.js';
export { RedisValue } from './value.js';
export { RedisLock, RedisRLock, RedisSemaphore, RedisBoundedSemaphore } from './locks.js';
export { RedisEvent } from './event.js';
