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

// What a connection holds, for the inspector: a referent that takes something on a connection's behalf
// (a lock, a permit) registers `owner.onClose` to give it back, so the live registrations of a connection
// are what it holds. Each registration is tagged with the object whose method was running when it was made
// (a hand-off inside a release, or inside another holder's close, is tagged with the same object). The
// tagging runs only while some server watches (`watchHolds`); otherwise dispatch does not track targets.

/** The hosted object whose method is running, while holds are watched. */
let currentTarget: object | null = null;
let holdWatchers = 0;

/** Starts tagging `onClose` registrations with the object being called; returns the function that stops it. */
export function watchHolds(): () => void {
  holdWatchers++;
  let stopped = false;
  return () => {
    if (!stopped) holdWatchers--;
    stopped = true;
  };
}

/** Whether some server watches holds (dispatch then calls through `withCallOn`). */
export function holdsWatched(): boolean {
  return holdWatchers > 0;
}

/** `withCall`, with `target` as the object being called (what `onClose` registrations are tagged with). */
export function withCallOn<T>(context: CallContext, target: object, fn: () => T): T {
  const previous = currentTarget;
  currentTarget = target;
  try {
    return withCall(context, fn);
  } finally {
    currentTarget = previous;
  }
}

/** A connection's owner record: tracks close callbacks. */
export class ConnectionOwner implements Owner {
  readonly id: string;
  #closed = false;
  /** Close callbacks, each with the object it was registered for (null unless holds are watched). */
  #callbacks = new Map<() => void, object | null>();
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
    this.#callbacks.set(fn, holdWatchers > 0 ? currentTarget : null);
    return () => this.#callbacks.delete(fn);
  }
  /** The objects this connection holds something of (tagged registrations; see `watchHolds`). */
  *holds(): IterableIterator<object> {
    for (const target of this.#callbacks.values()) if (target !== null) yield target;
  }
  /** Marks the owner closed and runs every callback once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const callbacks = [...this.#callbacks];
    this.#callbacks.clear();
    for (const [fn, target] of callbacks) {
      const previous = currentTarget;
      currentTarget = target; // what this cleanup hands on (a lock to its next waiter) belongs to the same object
      try {
        fn();
      } catch {
        // a referent's cleanup must not stop the others
      } finally {
        currentTarget = previous;
      }
    }
  }
}
