/**
 * What proxies and managers need from a connection to a manager server, whichever dialect it speaks:
 * the native client (mpmanager servers) and the classic client (stock CPython servers) both provide it.
 */
import type { DecodeContext } from '../codec/types.js';
import type { Address } from '../transport/address.js';

export interface CallOptions {
  /** Aborts the call: it rejects with `AbortError` and the server is asked to stop it. */
  signal?: AbortSignal;
  /** Rejects the call with `TimeoutError` after this many seconds (and cancels it). Default: none. */
  timeout?: number;
}

export interface ManagerClient {
  /** The server's own address (what its tokens carry). */
  readonly serverAddress: Address;
  readonly closed: boolean;
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
