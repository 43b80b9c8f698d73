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
  /**
   * Decode budget: the JS heap one frame may make the decoder allocate, as a multiple of the frame's size
   * (plus `decodeAllocationFloor`). Each value is charged what V8 spends on it as the decoder builds it
   * (about 8 bytes for a small int in an array, 60 or more for an empty map or dict); the frame is
   * refused with `DecodeBudgetError` the moment the charge passes the budget, so a 30 MB frame of empty
   * maps (2.3 GB decoded) is refused at once. Default 32.
   *
   * Why 32 (heap bytes per wire byte, measured): ordinary data costs 2 to 12 (records of strings and
   * numbers 4-6, floats 3-5, lists of small ints 8, of short strings 12, of tuples 15, of one-key dicts
   * 17); the densest legitimate shapes found are lists of pairs of small ints (24) and of one-element
   * lists (32). What attacks use costs more and is refused: empty arrays 40, empty Sets 40, empty maps
   * 64, empty binaries 50, maps with small integer keys 90 to 2 500. The price: a frame may still decode
   * to 32 times its size, so under a 64 MiB `maxFrameSize` one frame can cost 2 GiB.
   */
  readonly decodeAllocationFactor: number;
  /** The decode budget's fixed allowance, in bytes, so that small frames are never refused. Default 64 KiB. */
  readonly decodeAllocationFloor: number;
  /**
   * Most decimal digits an int may have where it is converted from or to text (a pickle's INT/LONG
   * opcodes, `repr`, keys): CPython's own limit since 3.11 (`sys.get_int_max_str_digits()`,
   * CVE-2020-10735), because the conversion is quadratic. Binary ints of any size are taken in linear
   * time. Default 4300.
   */
  readonly maxIntDigits: number;
  /**
   * Unsent bytes a connection may have queued before the server stops reading its requests until they
   * drain (a client that does not read its replies is not served further; others are unaffected).
   * Default 4 MiB.
   */
  readonly writeHighWaterMark: number;
  /**
   * Calls one native connection may have running at once; further requests wait, unread, until one
   * finishes. Default 256.
   */
  readonly maxCallsInFlight: number;
  /**
   * An authenticated connection that sends nothing for this many milliseconds, with no call running, is
   * closed (`IdleTimeoutError` in the server's log). 0 turns it off; CPython has no such limit. Default 0.
   */
  readonly idleTimeout: number;
  /**
   * Connections served at once from one peer host (TCP and WebSocket; Unix-socket peers have no
   * address and are counted by `maxConnections` only). 0 turns it off. Default 0.
   */
  readonly maxConnectionsPerPeer: number;
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
  decodeAllocationFactor: 32,
  decodeAllocationFloor: 64 * 1024,
  maxIntDigits: 4300,
  writeHighWaterMark: 4 * 1024 * 1024,
  maxCallsInFlight: 256,
  idleTimeout: 0,
  maxConnectionsPerPeer: 0,
});

/** Limits where 0 means "off". */
const ZERO_IS_OFF: ReadonlySet<keyof Limits> = new Set(['idleTimeout', 'maxConnectionsPerPeer']);

/** Options that set some limits (the rest keep their defaults). */
export type LimitOptions<K extends keyof Limits> = { -readonly [P in K]?: Limits[P] | undefined };

/**
 * `DEFAULT_LIMITS` with `overrides` applied (undefined fields keep their default), checked: every limit
 * is a positive number (or 0 where that means off). Throws `InvalidArgumentError` naming the bad one.
 */
export function resolveLimits<K extends keyof Limits>(overrides: LimitOptions<K> = {}, keys?: readonly K[]): Pick<Limits, K> {
  const out: Record<string, number> = {};
  for (const key of keys ?? (Object.keys(DEFAULT_LIMITS) as K[])) {
    const v = overrides[key] ?? DEFAULT_LIMITS[key];
    const ok = typeof v === 'number' && !Number.isNaN(v) && (v > 0 || (v === 0 && ZERO_IS_OFF.has(key)));
    if (!ok) throw new InvalidArgumentError(`limit ${String(key)} must be a positive number${ZERO_IS_OFF.has(key) ? ' (or 0: off)' : ''}, got ${String(v)}`);
    out[key] = v;
  }
  return Object.freeze(out) as unknown as Pick<Limits, K>;
}
