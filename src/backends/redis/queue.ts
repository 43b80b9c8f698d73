/**
 * `Queue` and `JoinableQueue` (one class, as in Python's `queue.Queue`) kept in Redis.
 *
 *   items          LIST    the queue, head on the left (RPUSH to put, LPOP to take)
 *   meta           HASH    maxsize (set by the first put; a server that disagrees gets InvalidArgumentError)
 *   unfinished     STRING  items put and not yet marked done (task_done/join)
 *   drained        STRING  how many times `unfinished` reached 0 (a join waiting since before returns)
 *   consumers      SET     ids of servers that took items (whose in-flight hashes the reaper checks)
 *   inflight:<id>  HASH    delivery id -> item: items server <id> took and has not yet delivered
 *
 * Delivery: `get` moves the head item into this server's in-flight hash (one Lua script), and removes it
 * from there only once the reply carrying it has been handed to the client's connection: on the next turn
 * of the event loop after `get` resolves (setImmediate), when the session has written the reply. If the
 * call is aborted before it resolves, the item goes straight back to the head of the queue. If this server
 * dies with items in flight, another server's reaper puts them back at the head (in their order) once this
 * server's lease has expired.
 *
 * So an item is delivered at least once, and twice only when:
 *   - a server dies (or is cut off from Redis) after writing the reply and before removing the item from
 *     its in-flight hash, a window of one event-loop turn (the reaper re-delivers it);
 *   - a server pauses, or loses Redis, for longer than its lease: it is taken for dead, its in-flight
 *     items are re-delivered, and it may still deliver them when it resumes.
 * An item is lost only if the client's connection fails after the reply was written and before the client
 * read it, as with an in-memory queue.
 */
import { Empty, Full, ValueError } from '../../python-errors.js';
import { InvalidArgumentError } from '../../errors.js';
import { currentCall } from '../../server/context.js';
import { GET_VALUE, PY_SIGNATURES } from '../../server/dispatch.js';
import { PY_REPR } from '../../python-repr.js';
import { Kind } from './keys.js';
import { toInt, truth } from '../../server/py.js';
import { defineScript } from './store.js';
import { blockingTimeout, deadlineOf } from './timeouts.js';
import { decodeValue, encodeValue } from './values.js';
import { MISS, hit, type Outcome } from './waiting.js';
import { type Backend, RECOVER, REAP, RELEASE_ALL, SIZE, SharedObject } from './backend.js';

/** KEYS items, unfinished, meta; ARGV maxsize, item, channel. {1} put, {0} full, {-1, stored maxsize}. */
const PUT = defineScript('queue-put', `
local m = redis.call('HGET', KEYS[3], 'maxsize')
if not m then
  redis.call('HSET', KEYS[3], 'maxsize', ARGV[1])
  m = ARGV[1]
elseif m ~= ARGV[1] then
  return {-1, m}
end
local max = tonumber(m)
if max > 0 and redis.call('LLEN', KEYS[1]) >= max then return {0} end
redis.call('RPUSH', KEYS[1], ARGV[2])
redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[3], 'put')
return {1}
`);

/** KEYS items, inflight, consumers, meta; ARGV server id, delivery id, channel. The item, or nil. */
const TAKE = defineScript('queue-take', `
local v = redis.call('LPOP', KEYS[1])
if not v then return false end
redis.call('HSET', KEYS[2], ARGV[2], v)
redis.call('SADD', KEYS[3], ARGV[1])
if tonumber(redis.call('HGET', KEYS[4], 'maxsize') or '0') > 0 then redis.call('PUBLISH', ARGV[3], 'get') end
return v
`);

/** KEYS items, inflight; ARGV delivery id, channel. Back to the head: 1, or 0 if it was not in flight. */
const GIVE_BACK = defineScript('queue-give-back', `
local v = redis.call('HGET', KEYS[2], ARGV[1])
if not v then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('LPUSH', KEYS[1], v)
redis.call('PUBLISH', ARGV[2], 'put')
return 1
`);

/**
 * KEYS items, inflight, consumers; ARGV server id, channel, dead ('1': forget the server), delivery ids
 * to keep... Puts every other in-flight item back at the head, oldest first. Returns how many.
 */
const RETURN_IN_FLIGHT = defineScript('queue-return-in-flight', `
local keep = {}
for i = 4, #ARGV do keep[ARGV[i]] = true end
local flat = redis.call('HGETALL', KEYS[2])
local ids, items = {}, {}
for i = 1, #flat, 2 do
  if not keep[flat[i]] then
    ids[#ids + 1] = flat[i]
    items[flat[i]] = flat[i + 1]
  end
end
table.sort(ids, function(a, b) return tonumber(a) < tonumber(b) end)
for i = #ids, 1, -1 do
  redis.call('LPUSH', KEYS[1], items[ids[i]])
  redis.call('HDEL', KEYS[2], ids[i])
end
if ARGV[3] == '1' and redis.call('HLEN', KEYS[2]) == 0 then redis.call('SREM', KEYS[3], ARGV[1]) end
if #ids > 0 then redis.call('PUBLISH', ARGV[2], 'put') end
return #ids
`);

/** KEYS unfinished, drained; ARGV channel. The count left, or -1 if none was unfinished. */
const TASK_DONE = defineScript('queue-task-done', `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n <= 0 then return -1 end
n = redis.call('DECR', KEYS[1])
if n == 0 then
  redis.call('INCR', KEYS[2])
  redis.call('PUBLISH', ARGV[1], 'done')
end
return n
`);

/** An item taken into this server's in-flight hash. */
interface Delivery {
  readonly id: string;
  readonly raw: Buffer;
}

/** Unfinished count and how many times it reached zero. */
interface JoinState {
  readonly unfinished: number;
  readonly drained: number;
}

export class RedisQueue<T = unknown> extends SharedObject {
  static readonly [PY_SIGNATURES] = {
    get: ['block', 'timeout'],
    put: ['item', 'block', 'timeout'],
    put_nowait: ['item'],
  };
  readonly #maxsize: number;
  readonly #items: string;
  readonly #meta: string;
  readonly #unfinished: string;
  readonly #drained: string;
  readonly #consumers: string;
  readonly #inflight: string;
  /** Deliveries taken here and neither removed from the in-flight hash nor given back. */
  readonly #live = new Set<string>();
  /** Delivered, but their removal from the in-flight hash failed: retried when Redis is back. */
  readonly #unacked = new Set<string>();
  /** Delivered this turn: removed from the in-flight hash on the next. */
  readonly #acking: string[] = [];

  constructor(backend: Backend, name: string, typeid: string, maxsize: unknown = 0) {
    super(backend, Kind.Queue, name, typeid);
    this.#maxsize = toInt(maxsize);
    this.#items = this.layout.part('items');
    this.#meta = this.layout.part('meta');
    this.#unfinished = this.layout.part('unfinished');
    this.#drained = this.layout.part('drained');
    this.#consumers = this.layout.part('consumers');
    this.#inflight = this.#inflightOf(backend.serverId);
  }

  /** The maxsize this server was given (0 = unbounded). */
  get maxsize(): number {
    return this.#maxsize;
  }

  async qsize(): Promise<number> {
    return (await this.backend.store.command(['LLEN', this.#items])) as number;
  }

  async empty(): Promise<boolean> {
    return (await this.qsize()) === 0;
  }

  async full(): Promise<boolean> {
    return this.#maxsize > 0 && (await this.qsize()) >= this.#maxsize;
  }

  /** Puts `item`; when full, waits for room (up to `timeout` seconds) or raises `Full`. */
  put(item: T, block: unknown = true, timeout: unknown = null): Promise<void> {
    const { signal } = currentCall();
    return this.#put(item, block, timeout, signal);
  }

  put_nowait(item: T): Promise<void> {
    return this.put(item, false);
  }

  /** Removes and returns the first item; when empty, waits (up to `timeout` seconds) or raises `Empty`. */
  get(block: unknown = true, timeout: unknown = null): Promise<T> {
    const { signal } = currentCall();
    return this.#get(block, timeout, signal);
  }

  get_nowait(): Promise<T> {
    return this.get(false);
  }

  /** One task taken from the queue is done; `join()` returns once every put item is done. */
  async task_done(): Promise<void> {
    const left = await this.backend.store.run(TASK_DONE, [this.#unfinished, this.#drained], [this.layout.wake]);
    if (left === -1) throw new ValueError('task_done() called too many times');
  }

  /** Waits until every item put has been marked done with `task_done()`. */
  join(): Promise<void> {
    const { signal } = currentCall();
    return this.#join(signal);
  }

  async [GET_VALUE](): Promise<T[]> {
    const raw = (await this.backend.store.command(['LRANGE', this.#items, '0', '-1'])) as Buffer[];
    return raw.map((b) => decodeValue(b, this.place) as T);
  }

  [PY_REPR](): string {
    return `<queue.Queue shared in Redis as '${this.name}': maxsize=${this.#maxsize}>`;
  }

  async [SIZE](): Promise<number> {
    return this.qsize();
  }

  async #put(item: T, block: unknown, timeout: unknown, signal: AbortSignal): Promise<void> {
    const wait = truth(block);
    const t = wait ? blockingTimeout(timeout) : null;
    const deadline = deadlineOf(t);
    const raw = encodeValue(item, this.place);
    if (!(wait && this._waiting('put')) && (await this.#tryPut(raw)).ok) return;
    if (!wait || (t !== null && t <= 0)) throw new Full();
    // A put that succeeds as its call is cancelled stays put, as a hand-off does in the in-memory queue.
    await this.room.fifo('put', () => this.#tryPut(raw), {
      deadline,
      signal,
      onTimeout: () => {
        throw new Full();
      },
    });
  }

  async #tryPut(raw: Buffer): Promise<Outcome<undefined>> {
    const reply = (await this.backend.store.run(PUT, [this.#items, this.#unfinished, this.#meta], [String(this.#maxsize), raw, this.layout.wake])) as [number, Buffer?];
    if (reply[0] === -1) {
      throw new InvalidArgumentError(`${this.place} has maxsize ${String(reply[1])} in Redis, not ${this.#maxsize}: give every server the same maxsize, or use another name`);
    }
    return reply[0] === 1 ? hit(undefined) : MISS;
  }

  async #get(block: unknown, timeout: unknown, signal: AbortSignal): Promise<T> {
    const wait = truth(block);
    const t = wait ? blockingTimeout(timeout) : null;
    const deadline = deadlineOf(t);
    const got = wait && this._waiting('get') ? MISS : await this.#take();
    let delivery: Delivery;
    if (got.ok) delivery = got.value;
    else {
      if (!wait || (t !== null && t <= 0)) throw new Empty();
      // Items a dead server held may be all there is: take them back before waiting.
      await this[REAP]();
      delivery = await this.room.fifo('get', () => this.#take(), {
        deadline,
        signal,
        onTimeout: () => {
          throw new Empty();
        },
        undo: (d) => this.#giveBack(d),
      });
    }
    if (signal.aborted) {
      await this.#giveBack(delivery);
      throw signal.reason;
    }
    let item: T;
    try {
      item = decodeValue(delivery.raw, this.place) as T;
    } catch (err) {
      // Not ours to read (a newer format): leave it at the head for a server that can.
      await this.#giveBack(delivery);
      throw err;
    }
    // After the session has written the reply (it does so as this promise resolves): the next turn.
    this.#ack(delivery.id);
    return item;
  }

  async #take(): Promise<Outcome<Delivery>> {
    const id = this.backend.nextId();
    this.#live.add(id);
    let raw: unknown;
    try {
      raw = await this.backend.store.run(TAKE, [this.#items, this.#inflight, this.#consumers, this.#meta], [this.backend.serverId, id, this.layout.wake]);
    } catch (err) {
      // Taken or not, it is not live here: if it was taken, recovery finds it in flight and puts it back.
      this.#live.delete(id);
      throw err;
    }
    if (raw === null) {
      this.#live.delete(id);
      return MISS;
    }
    return hit({ id, raw: raw as Buffer });
  }

  async #giveBack(d: Delivery): Promise<void> {
    try {
      await this.backend.store.run(GIVE_BACK, [this.#items, this.#inflight], [d.id, this.layout.wake]);
    } finally {
      this.#live.delete(d.id);
    }
  }

  /** Removes delivered items from the in-flight hash: those of one event-loop turn in one HDEL. */
  #ack(id: string): void {
    this.#acking.push(id);
    if (this.#acking.length > 1) return;
    setImmediate(() => {
      const ids = this.#acking.splice(0);
      this.backend.background(
        this.backend.store.command(['HDEL', this.#inflight, ...ids]).then(
          () => {
            for (const i of ids) {
              this.#live.delete(i);
              this.#unacked.delete(i);
            }
          },
          (err: unknown) => {
            for (const i of ids) this.#unacked.add(i);
            throw err;
          },
        ),
      );
    });
  }

  async #join(signal: AbortSignal): Promise<void> {
    const start = await this.#joinState();
    if (start.unfinished <= 0) return;
    await this.room.watch<JoinState, undefined>(
      'join',
      () => this.#joinState(),
      (s) => (s.unfinished <= 0 || s.drained !== start.drained ? hit(undefined) : MISS),
      { deadline: null, signal, onTimeout: () => undefined },
    );
  }

  async #joinState(): Promise<JoinState> {
    const [u, d] = (await this.backend.store.command(['MGET', this.#unfinished, this.#drained])) as [Buffer | null, Buffer | null];
    return { unfinished: Number(u?.toString() ?? 0), drained: Number(d?.toString() ?? 0) };
  }

  #inflightOf(serverId: string): string {
    return this.layout.part(`inflight:${serverId}`);
  }

  /** Puts back the in-flight items of servers whose lease is gone. */
  override async [REAP](): Promise<void> {
    const members = (await this.backend.store.command(['SMEMBERS', this.#consumers])) as Buffer[];
    const dead = await this.backend.deadServers(members.map(String));
    for (const id of dead) {
      await this.backend.store.run(RETURN_IN_FLIGHT, [this.#items, this.#inflightOf(id), this.#consumers], [id, this.layout.wake, '1']);
    }
  }

  /** After a lost connection: finish the removals that failed, then put back what no caller here is delivering. */
  override async [RECOVER](): Promise<void> {
    const unacked = [...this.#unacked];
    if (unacked.length > 0) {
      await this.backend.store.command(['HDEL', this.#inflight, ...unacked]);
      for (const id of unacked) {
        this.#unacked.delete(id);
        this.#live.delete(id);
      }
    }
    await this.backend.store.run(RETURN_IN_FLIGHT, [this.#items, this.#inflight, this.#consumers], [this.backend.serverId, this.layout.wake, '0', ...this.#live]);
  }

  /** On close: finish the removals, then put back everything else still in flight here. */
  override async [RELEASE_ALL](): Promise<void> {
    if (this.#unacked.size > 0) await this.backend.store.command(['HDEL', this.#inflight, ...this.#unacked]).catch(() => {});
    this.#unacked.clear();
    this.#live.clear();
    await this.backend.store.run(RETURN_IN_FLIGHT, [this.#items, this.#inflight, this.#consumers], [this.backend.serverId, this.layout.wake, '1']);
  }
}
