/**
 * The context of the call being dispatched: who is calling (the connection that owns what it acquires)
 * and the signal that aborts the call (a cancel from the client, or the connection closing).
 *
 * Dispatch sets it synchronously around the method invocation, so a referent reads it with
 * `currentCall()` at the start of its method, before its first `await`. A referent that blocks (a queue
 * `get`, a lock `acquire`) uses the signal to stop waiting and the owner to release what the caller held
 * when the caller goes away.
 */

/** A client connection, as referents see it. */
export interface Owner {
  /** Stable for the connection's lifetime. */
  readonly id: string;
  /** Calls `fn` once when the connection closes, however it closes. Returns a function that unregisters it. */
  onClose(fn: () => void): () => void;
  readonly closed: boolean;
}

export interface CallContext {
  readonly owner: Owner;
  /** Aborted when the call is cancelled, times out on the client, or its connection closes. */
  readonly signal: AbortSignal;
}

const neverAborted = new AbortController().signal;

/** The owner used for calls made from inside the server process (it never closes). */
export const LOCAL_OWNER: Owner = Object.freeze({
  id: 'local',
  closed: false,
  onClose: () => () => {},
});

/** The context of calls made from inside the server process: never aborted, owned by no connection. */
export const LOCAL_CONTEXT: CallContext = Object.freeze({ owner: LOCAL_OWNER, signal: neverAborted });

let current: CallContext = LOCAL_CONTEXT;

/** The context of the call being dispatched (read it before your method's first `await`). */
export function currentCall(): CallContext {
  return current;
}

/** Runs `fn` synchronously with `context` as the current call. */
export function withCall<T>(context: CallContext, fn: () => T): T {
  const previous = current;
  current = context;
  try {
    return fn();
  } finally {
    current = previous;
  }
}

/** A connection's owner record: tracks close callbacks. */
export class ConnectionOwner implements Owner {
  readonly id: string;
  #closed = false;
  #callbacks = new Set<() => void>();
  constructor(id: string) {
    this.id = id;
  }
  get closed(): boolean {
    return this.#closed;
  }
  onClose(fn: () => void): () => void {
    if (this.#closed) {
      queueMicrotask(fn);
      return () => {};
    }
    this.#callbacks.add(fn);
    return () => this.#callbacks.delete(fn);
  }
  /** Marks the owner closed and runs every callback once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const callbacks = [...this.#callbacks];
    this.#callbacks.clear();
    for (const fn of callbacks) {
      try {
        fn();
      } catch {
        // a referent's cleanup must not stop the others
      }
    }
  }
}
