/**
 * A small typed event emitter for code Node and browsers share (node:events is Node's): `on`, `once`,
 * `off`, `emit`, `listenerCount`, with the same listener order and the same typing as Node's generic
 * `EventEmitter<Events>`. Unlike Node's, an `'error'` event without listeners is not thrown.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Listener = (...args: any[]) => void;

export class Emitter<Events extends { [K in keyof Events]: unknown[] }> {
  readonly #listeners = new Map<keyof Events, { fn: Listener; once: boolean }[]>();

  on<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): this {
    return this.#add(event, listener as Listener, false);
  }

  once<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): this {
    return this.#add(event, listener as Listener, true);
  }

  off<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): this {
    const list = this.#listeners.get(event);
    const at = list?.findIndex((l) => l.fn === (listener as Listener)) ?? -1;
    if (list !== undefined && at >= 0) list.splice(at, 1);
    return this;
  }

  /** Calls each listener in order; returns whether there was any. */
  emit<E extends keyof Events>(event: E, ...args: Events[E]): boolean {
    const list = this.#listeners.get(event);
    if (list === undefined || list.length === 0) return false;
    for (const l of [...list]) {
      if (l.once) this.off(event, l.fn as never);
      l.fn(...args);
    }
    return true;
  }

  listenerCount(event: keyof Events): number {
    return this.#listeners.get(event)?.length ?? 0;
  }

  #add(event: keyof Events, fn: Listener, once: boolean): this {
    const list = this.#listeners.get(event);
    if (list === undefined) this.#listeners.set(event, [{ fn, once }]);
    else list.push({ fn, once });
    return this;
  }
}
