/**
 * Python's `threading.Event` kept in Redis.
 *
 *   flag   STRING  exists while the event is set
 *   gen    STRING  how many times `set()` was called
 *
 * `wait()` returns true once the flag is set, as in Python even if it was cleared again before the waiter
 * ran: a waiter remembers `gen` when it starts and is released when it changes. `set()` publishes on the
 * wake channel in the same script, so waiters block without polling.
 */
import { currentCall } from '../../server/context.js';
import { GET_VALUE, PY_SIGNATURES } from '../../server/dispatch.js';
import { PY_REPR } from '../../python-repr.js';
import { Kind } from './keys.js';
import { defineScript } from './store.js';
import { deadlineOf, seconds } from './timeouts.js';
import { MISS, hit } from './waiting.js';
import { type Backend, SIZE, SharedObject } from './backend.js';

/** KEYS flag, gen; ARGV channel. */
const SET = defineScript('event-set', `
redis.call('SET', KEYS[1], '1')
redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[1], 'set')
return 1
`);

interface EventState {
  readonly set: boolean;
  readonly gen: number;
}

export class RedisEvent extends SharedObject {
  static readonly [PY_SIGNATURES] = { wait: ['timeout'] };
  readonly #flag: string;
  readonly #gen: string;

  constructor(backend: Backend, name: string, typeid: string) {
    super(backend, Kind.Event, name, typeid);
    this.#flag = this.layout.part('flag');
    this.#gen = this.layout.part('gen');
  }

  async is_set(): Promise<boolean> {
    return (await this.backend.store.command(['EXISTS', this.#flag])) === 1;
  }

  async set(): Promise<void> {
    await this.backend.store.run(SET, [this.#flag, this.#gen], [this.layout.wake]);
  }

  async clear(): Promise<void> {
    await this.backend.store.command(['DEL', this.#flag]);
  }

  /** Waits until the flag is set or `timeout` seconds pass (None = forever); returns whether it was set. */
  wait(timeout: unknown = null): Promise<boolean> {
    const { signal } = currentCall();
    return this.#wait(timeout, signal);
  }

  async [GET_VALUE](): Promise<{ set: boolean }> {
    return { set: await this.is_set() };
  }

  [PY_REPR](): string {
    return `<threading.Event shared in Redis as '${this.name}'>`;
  }

  /** 1 while set, else 0. */
  async [SIZE](): Promise<number> {
    return (await this.is_set()) ? 1 : 0;
  }

  async #wait(timeout: unknown, signal: AbortSignal): Promise<boolean> {
    const t = seconds(timeout);
    const deadline = deadlineOf(t);
    const start = await this.#state();
    if (start.set) return true;
    if (t !== null && t <= 0) return false;
    const since = (s: EventState): boolean => s.set || s.gen !== start.gen;
    return this.room.watch<EventState, boolean>('wait', () => this.#state(), (s) => (since(s) ? hit(true) : MISS), {
      deadline,
      signal,
      // One last look: a set() whose message has not arrived yet still counts (unknown if Redis is down: no).
      onTimeout: async () => since(await this.#state().catch(() => start)),
    });
  }

  async #state(): Promise<EventState> {
    const [flag, gen] = (await this.backend.store.command(['MGET', this.#flag, this.#gen])) as [Buffer | null, Buffer | null];
    return { set: flag !== null, gen: Number(gen?.toString() ?? 0) };
  }
}
