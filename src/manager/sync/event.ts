/**
 * Python's `threading.Event`: `set` wakes every waiter, `wait(timeout)` returns the flag (`false` when
 * the timeout passed first).
 */
import { currentCall } from '../../server/context.js';
import { GET_VALUE, PY_SIGNATURES } from '../../server/dispatch.js';
import { PY_REPR } from '../../python-repr.js';
import { WaitQueue, seconds } from '../../server/wait.js';

export class PyEvent {
  static readonly [PY_SIGNATURES] = { wait: ['timeout'] };
  #flag = false;
  readonly #waiters = new WaitQueue<undefined, boolean>();

  is_set(): boolean {
    return this.#flag;
  }

  set(): void {
    this.#flag = true;
    for (const w of this.#waiters.drain()) w.resolve(true);
  }

  clear(): void {
    this.#flag = false;
  }

  /** Waits until the flag is set or `timeout` seconds pass (None = forever); returns the flag. */
  wait(timeout: unknown = null): boolean | Promise<boolean> {
    const t = seconds(timeout);
    if (this.#flag) return true;
    return this.#waiters.wait(undefined, { timeout: t, signal: currentCall().signal, onTimeout: () => this.#flag });
  }

  [GET_VALUE](): { set: boolean } {
    return { set: this.#flag };
  }

  [PY_REPR](): string {
    return `<threading.Event: ${this.#flag ? 'set' : 'unset'}>`;
  }
}
