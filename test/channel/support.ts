/**
 * Shared pieces of the encrypted-channel suites over real sockets (encrypted, tamper, policy, interop,
 * tls): the suites, the certificates of test/fixtures/tls, unique markers, bounded waits, and the checks
 * on what a connection ended with.
 *
 * Where the key exchange sits on the wire (src/channel/key-exchange.ts, src/connection/auth.ts), per
 * direction of one relayed connection, numbered as the relay numbers frames:
 *
 *   c2s  0 answer  1 challenge  2 '#WELCOME#'  3 K2 ("MPMKX" 02 ...)  4… records
 *   s2c  0 challenge  1 '#WELCOME#'  2 answer  3 K1 ("MPMKX" 01 ...)  4… records
 *
 * The tests read K1 and K2 by their magic (`isKx`) rather than trusting those numbers.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { SuiteName } from '../../src/channel/index.js';
import type { Connection } from '../../src/connection/index.js';
import { ChannelError, ConnectionClosedError, type ChannelFault } from '../../src/errors.js';
import type { TlsOptions } from '../../src/transport/tls.js';

export const AUTHKEY = 'channel-suite-key';

export const SUITES: readonly SuiteName[] = ['aes-256-gcm', 'xsalsa20-poly1305'];

/** The key-exchange frames' magic, and each frame's kind byte after it. */
export const KX_MAGIC = Buffer.from('MPMKX', 'latin1');
export const KxKind = { Offer: 1, Choice: 2, Refusal: 3 } as const;

/** K1's layout (key-exchange.ts): magic, kind, then these offsets. */
export const K1 = { version: 6, policy: 7, count: 8, suites: 9 } as const;

/** Whether a frame is a key-exchange frame (of `kind`, when given). */
export function isKx(frame: Buffer, kind?: number): boolean {
  return frame.length > KX_MAGIC.length && frame.subarray(0, KX_MAGIC.length).equals(KX_MAGIC) && (kind === undefined || frame[KX_MAGIC.length] === kind);
}

/** A string that appears nowhere unless this test put it there. */
export function marker(what: string): string {
  return `${what}-${randomBytes(12).toString('hex')}`;
}

/** `size` bytes of filler with `mark` written in the middle. */
export function bigWith(mark: string, size = 200 * 1024): Buffer {
  const big = Buffer.alloc(size, 0x2e);
  big.write(mark, size >> 1, 'latin1');
  return big;
}

/** The next macrotask: frames sent before and after it go out in separate records (sealed.ts batches a tick). */
export function nextTick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** How long something that should happen may take before the test fails instead of hanging. */
export const BOUND_MS = 10_000;

/** `promise`, or a failure naming `what` after BOUND_MS (a bound, not a timing assertion). */
export function within<T>(promise: Promise<T>, what: string, ms = BOUND_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing happened within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}

/** The next message on `conn`, as bytes, bounded. */
export async function nextBytes(conn: Connection): Promise<Buffer> {
  return within(conn.recvBytes(), 'waiting for a message');
}

/** What `promise` rejected with; fails the test if it resolved. */
export async function rejection(promise: Promise<unknown>, what: string): Promise<Error> {
  const outcome = await within(
    promise.then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    ),
    what,
  );
  if (outcome.ok) throw new Error(`${what}: expected a failure, got ${String(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(Error);
  return outcome.error as Error;
}

/** Checks that `err` is a `ChannelError` of `reason` with the channel's error code; returns it. */
export function expectChannelError(err: unknown, reason: ChannelFault): ChannelError {
  expect(err).toBeInstanceOf(ChannelError);
  expect((err as ChannelError).reason).toBe(reason);
  expect((err as ChannelError).code).toBe('MPM_ERR_CHANNEL');
  return err as ChannelError;
}

/**
 * Checks that `err` says the connection was cut under this side by the peer that detected a fault:
 * sealed.ts fails the connection with nothing but the close, so this side sees its data end without a
 * close record (`ChannelError` 'truncated'); if the close came as a TCP reset (the peer had unread bytes
 * when it closed), the socket's own error or a closed connection.
 */
export function expectCutOff(err: unknown): void {
  if (err instanceof ChannelError) expect(err.reason).toBe('truncated');
  else if (err instanceof ConnectionClosedError) return;
  else expect((err as { code?: unknown }).code).toMatch(/^(ECONNRESET|EPIPE)$/);
}

/** The PEM files of test/fixtures/tls (made by make-certs.sh there). */
export function pem(name: string): Buffer {
  return readFileSync(new URL(`../fixtures/tls/${name}.pem`, import.meta.url));
}

export const TLS_SERVER: TlsOptions = { key: pem('server-key'), cert: pem('server') };
export const TLS_CLIENT: TlsOptions = { ca: pem('ca') };
