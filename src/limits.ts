/**
 * Every limit mpmanager enforces, with its default, documented once. Option interfaces take their
 * fields from `Limits` (`Partial<Pick<Limits, ...>>`), so a limit's meaning and default are written
 * here and nowhere else, and every layer reads its default from `DEFAULT_LIMITS`.
 *
 * It sits at the bottom of the layer table, with the errors: the transport, the codecs, the connection
 * and the server all read it.
 */
import { InvalidArgumentError } from './errors.js';

export interface Limits {
  /**
   * Largest frame accepted, in bytes, checked from its header before anything is allocated; a larger
   * frame closes the connection with `FrameTooLargeError`. Default 64 MiB.
   */
  readonly maxFrameSize: number;
  /** Bound on a connection's whole authentication handshake, in milliseconds. Default 10 000. */
  readonly handshakeTimeout: number;
  /**
   * Largest frame accepted during the handshake, in bytes (the challenge and digests are under 100
   * bytes). Default 256.
   */
  readonly handshakeFrameSize: number;
  /** Listen backlog of a server socket. Default 128. */
  readonly backlog: number;
  /** Connections a server serves at once; more are closed on arrival. Default 4096. */
  readonly maxConnections: number;
  /**
   * Deepest nesting of containers a decoded value may have, and the deepest a value may be to be
   * encoded; also caps a pickle's open MARKs. Default 512 (CPython's pickler gives up near its recursion
   * limit of 1000).
   */
  readonly maxDepth: number;
  /** Most memo entries one pickle may create (CPython memoizes nearly every value). Default 10 000 000. */
  readonly maxMemo: number;
  /** Most values one pickle may push (every item of every container is pushed once). Default 10 000 000. */
  readonly maxItems: number;
}

export const DEFAULT_LIMITS: Limits = Object.freeze({
  maxFrameSize: 64 * 1024 * 1024,
  handshakeTimeout: 10_000,
  handshakeFrameSize: 256,
  backlog: 128,
  maxConnections: 4096,
  maxDepth: 512,
  maxMemo: 10_000_000,
  maxItems: 10_000_000,
});

/** Options that set some limits (the rest keep their defaults). */
export type LimitOptions<K extends keyof Limits> = { -readonly [P in K]?: Limits[P] };

/**
 * `DEFAULT_LIMITS` with `overrides` applied (undefined fields keep their default), checked: every limit
 * is a positive number. Throws `InvalidArgumentError` naming the bad one.
 */
export function resolveLimits<K extends keyof Limits>(overrides: LimitOptions<K> = {}, keys?: readonly K[]): Pick<Limits, K> {
  const out: Record<string, number> = {};
  for (const key of keys ?? (Object.keys(DEFAULT_LIMITS) as K[])) {
    const v = overrides[key] ?? DEFAULT_LIMITS[key];
    if (typeof v !== 'number' || Number.isNaN(v) || v <= 0) throw new InvalidArgumentError(`limit ${String(key)} must be a positive number, got ${String(v)}`);
    out[key] = v;
  }
  return Object.freeze(out) as unknown as Pick<Limits, K>;
}
