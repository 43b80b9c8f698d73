/**
 * Shared set-up for the SyncManager suites: a started manager on TCP loopback (port 0), more clients
 * connected to it (each a separate manager with its own connection), and a helper that hands a proxy to
 * another client.
 */
import { afterEach, expect, vi } from 'vitest';
import { SyncManager } from '../../../src/manager/sync-manager.js';
import type { BaseProxy } from '../../../proxies/base-proxy.js';

export const AUTHKEY = 'sync-suite';

const managers: SyncManager[] = [];

afterEach(async () => {
  for (const m of managers.splice(0).reverse()) await m.shutdown();
});

/** A started SyncManager (serving in this process), shut down after the test. */
export async function startManager(): Promise<SyncManager> {
  const m = await new SyncManager(['127.0.0.1', 0], { authkey: AUTHKEY }).start();
  managers.push(m);
  return m;
}

/** Another client of `server`'s manager: its own connection, disconnected after the test. */
export async function connectClient(server: SyncManager): Promise<SyncManager> {
  const m = await new SyncManager(server.address, { authkey: AUTHKEY }).connect();
  managers.push(m);
  return m;
}

/** The same hosted object, seen through `client` (which takes its own reference). */
export function share<P extends BaseProxy>(client: SyncManager, proxy: P): Promise<P> {
  return client.rebuild<P>(proxy.toTransferable());
}

/** Whether `p` has settled, after letting pending I/O callbacks run (a round trip through the server). */
export function tracked<T>(p: Promise<T>): { promise: Promise<T>; readonly settled: boolean } {
  let settled = false;
  const promise = p.finally(() => {
    settled = true;
  });
  promise.catch(() => {});
  return {
    promise,
    get settled() {
      return settled;
    },
  };
}

/** Awaits a rejection of class `cls` whose Python `args` are `args` (when given), and returns it. */
export async function pyRaises<E extends Error>(p: Promise<unknown>, cls: abstract new (...a: any[]) => E, ...args: unknown[]): Promise<E> {
  let error: unknown;
  try {
    await p;
  } catch (err) {
    error = err;
  }
  if (error === undefined) throw new Error(`expected ${cls.name}, but the call succeeded`);
  expect(error).toBeInstanceOf(cls);
  if (args.length > 0) expect((error as unknown as { args: unknown[] }).args).toEqual(args);
  return error as E;
}

/** Shuts `client` down and waits (bounded) until the server has processed its connection closing. */
export async function disconnect(server: SyncManager, client: SyncManager): Promise<void> {
  const marker = await client.Event();
  const before = await server.numberOfObjects();
  await client.shutdown();
  void marker;
  await vi.waitFor(
    async () => {
      if ((await server.numberOfObjects()) >= before) throw new Error('the server has not seen the close yet');
    },
    { timeout: 10_000, interval: 5 },
  );
}
