/** Python's timeout arguments, checked as the in-memory referents check them (src/server/wait.ts), and deadlines. */
export { seconds, blockingTimeout, lockTimeout } from '../../server/wait.js';

/** The deadline (ms since the epoch) of a wait of `t` seconds starting now, or null for none. */
export function deadlineOf(t: number | null): number | null {
  return t === null ? null : Date.now() + t * 1000;
}
