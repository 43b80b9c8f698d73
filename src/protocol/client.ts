/**
 * What proxies and managers need from a connection to a manager server, whichever dialect it speaks:
 * the native client (mpmanager servers) and the classic client (stock CPython servers) both provide it.
 */
import type { DecodeContext } from '../codec/types.js';
import { AbortError, TimeoutError } from '../errors.js';
import type { Address } from '../transport/address.js';

export interface CallOptions {
  /** Aborts the call: it rejects with `AbortError` and the server is asked to stop it. */
  signal?: AbortSignal | undefined;
  /** Rejects the call with `TimeoutError` after this many seconds (and cancels it). Default: none. */
  timeout?: number | undefined;
}

export interface ManagerClient {
  /** The server's own address (what its tokens carry). */
  readonly serverAddress: Address;
  readonly closed: boolean;
  /**
   * How the connection is protected: the encrypted channel's suite, TLS's description, or null in clear
   * (for a client of many connections, the latest one's).
   */
  readonly encryption: string | null;
  /** Turns references in replies into proxies; set by the manager that owns this client. */
  decodeContext: DecodeContext;
  /**
   * Calls `method` on object `ident`, or a server operation when `ident` is null. `holder` is kept
   * reachable until the call settles (a proxy is never finalized with a call in flight).
   */
  call(ident: string | null, method: string, args?: readonly unknown[], kwds?: Record<string, unknown> | null, options?: CallOptions, holder?: unknown): Promise<unknown>;
  /** Drops `count` references this client holds on object `ident`. */
  release(ident: string, count?: number): void;
  onClose(fn: (error: Error) => void): () => void;
  /** Closes; resolves once the server has closed its side (and so released what this client held). */
  close(): Promise<void>;
}

/** Whether a call's options ask for an abort or a timeout at all. */
export function isArmed(options: CallOptions | undefined): options is CallOptions {
  return options !== undefined && (options.signal !== undefined || options.timeout !== undefined);
}

/**
 * Arms a call's `signal` and `timeout`: `cancel` is called once, with `AbortError` or `TimeoutError`,
 * whichever comes first (a signal already aborted cancels in a microtask, so the caller has set up its
 * call first). Returns the function that disarms both; call it when the call settles.
 */
export function armCall({ signal, timeout }: CallOptions, cancel: (error: Error) => void): () => void {
  let done = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const disarm = () => {
    done = true;
    if (timer !== undefined) clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  };
  const fire = (error: Error) => {
    if (done) return;
    disarm();
    cancel(error);
  };
  const onAbort = () => fire(new AbortError('the call was aborted', { cause: signal?.reason }));
  if (signal?.aborted) {
    queueMicrotask(onAbort);
    return disarm;
  }
  signal?.addEventListener('abort', onAbort, { once: true });
  if (timeout !== undefined) {
    timer = setTimeout(() => fire(new TimeoutError(`the call did not complete within ${timeout} s`)), timeout * 1000);
    (timer as { unref?: () => void }).unref?.();
  }
  return disarm;
}

/**
 * Object ids that start with this name a shared object: one kept outside any server's memory (in Redis,
 * src/backends/redis/), hosted under the same id on every server that serves it (src/server/objects.ts,
 * `SHARED_ID`). A reconnecting client finds such objects again on its next server; any other id names an
 * object in the memory of the one server that made it.
 */
export const SHARED_ID_PREFIX = 'shared:';
