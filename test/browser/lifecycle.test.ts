/**
 * A page's connection over its life, seen from both sides: what the page holds is released when it drops
 * a proxy, closes, reloads or shuts its manager down; a reconnecting page rides through a server restart
 * on the same port (calls in flight fail as lost, calls made meanwhile wait, proxies to the lost server's
 * objects fail as gone, new ones work), with its events in order.
 */
import { describe, expect, it } from 'vitest';
import { Lock, Queue, SyncManager, type AcquirerProxy, type QueueProxy } from '../../src/index.js';
import { AUTHKEY, CHROMIUM_SKIP, TIMEOUT, freePort, inPage, onCleanup, openTestPage, servePage, type PageServer } from './harness.js';

/** One queue and one lock for every client: a page holds them, a Node client checks what is left. */
class GuardManager extends SyncManager {}
const jobs = new Queue();
const guard = new Lock();
GuardManager.register('jobs', () => jobs);
GuardManager.register('guard', () => guard);

/** Waits (bounded) until `check()` holds; fails with what it last saw. */
async function until<T>(what: string, read: () => T, check: (v: T) => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  let last = read();
  while (!check(last)) {
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(last)} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
    last = read();
  }
}

const held = (web: PageServer) => ({ objects: web.server.view.objectCount, connections: web.server.view.connections });

describe.skipIf(CHROMIUM_SKIP !== null)(`a page's connection over its life${CHROMIUM_SKIP === null ? '' : ` (${CHROMIUM_SKIP})`}`, () => {
  it('releases what the page holds: a released proxy, then everything when the tab closes', { timeout: TIMEOUT }, async () => {
    const web = await servePage();
    const open = await openTestPage(web.origin);
    await inPage(open, async (mpm, url) => {
      const m = new mpm.SyncManager(url, { authkey: 'browser-test-key' });
      await m.connect();
      const keep = [await m.dict(), await m.list([1]), await m.Queue()];
      const dropped = await m.Event();
      dropped.release();
      (globalThis as unknown as { keep: unknown }).keep = keep; // held until the tab goes
    }, web.wsUrl);
    await until('objects and connections while the page lives', () => held(web), (h) => h.objects === 3 && h.connections === 1);
    await open.page.close();
    await until('objects and connections after the tab closed', () => held(web), (h) => h.objects === 0 && h.connections === 0);
  });

  it('a tab that closes lets go: its lock is released, its waiting get takes no item', { timeout: TIMEOUT }, async () => {
    const web = await servePage({ manager: GuardManager });
    const node = await new GuardManager(web.wsUrl, { authkey: AUTHKEY }).connect();
    onCleanup(() => node.shutdown());
    const open = await openTestPage(web.origin);
    await inPage(open, async (mpm, url) => {
      const m = new mpm.SyncManager(url, { authkey: 'browser-test-key' });
      m.register('jobs', null, { proxytype: mpm.QueueProxy });
      m.register('guard', null, { proxytype: mpm.AcquirerProxy });
      await m.connect();
      const lock = await m.create<AcquirerProxy>('guard');
      await lock.acquire();
      const q = await m.create<QueueProxy<string>>('jobs');
      void q.get().catch(() => undefined); // waits on the server until the tab goes
      await new Promise((r) => setTimeout(r, 200));
    }, web.wsUrl);
    const lock = await node.create<AcquirerProxy>('guard');
    expect(await lock.acquire(true, 0.1), 'the page holds the lock').toBe(false);
    await open.page.close();
    expect(await lock.acquire(true, 10), 'released when the tab closed').toBe(true);
    await lock.release();
    await until('connections after the tab closed', () => held(web).connections, (n) => n === 1);
    const q = await node.create<QueueProxy<string>>('jobs');
    await q.put('job');
    expect(await q.get(true, 10), 'the closed tab\'s get took nothing').toBe('job');
  });

  it('a reload starts afresh: the old page\'s objects are released', { timeout: TIMEOUT }, async () => {
    const web = await servePage();
    const open = await openTestPage(web.origin);
    const make = () =>
      inPage(open, async (mpm, url) => {
        const m = new mpm.SyncManager(url, { authkey: 'browser-test-key' });
        await m.connect();
        (globalThis as unknown as { keep: unknown }).keep = [m, await m.dict({ a: 1 })];
      }, web.wsUrl);
    await make();
    await until('objects before the reload', () => held(web), (h) => h.objects === 1);
    await open.page.reload();
    await open.page.waitForFunction(() => 'mpm' in globalThis, null, { timeout: 15_000 });
    await make();
    await until('objects after the reload', () => held(web), (h) => h.objects === 1 && h.connections === 1);
  });

  it('shutdown() in the page closes its connection; a wrong authkey is counted by the server', { timeout: TIMEOUT }, async () => {
    const web = await servePage();
    const open = await openTestPage(web.origin);
    await inPage(open, async (mpm, url) => {
      const m = new mpm.SyncManager(url, { authkey: 'browser-test-key' });
      await m.connect();
      (globalThis as unknown as { keep: unknown }).keep = await m.list();
      await m.shutdown();
      await new mpm.SyncManager(url, { authkey: 'wrong' }).connect().catch(() => undefined);
    }, web.wsUrl);
    await until('after shutdown()', () => held(web), (h) => h.objects === 0 && h.connections === 0);
    expect(web.server.view.authFailures).toBe(1);
  });

  it('reconnect: rides through a server restart on the same port', { timeout: TIMEOUT }, async () => {
    const port = await freePort();
    const first = await servePage({ port });
    const open = await openTestPage(first.origin);
    type State = { events: string[]; inFlight: Promise<unknown>; old: { len(): Promise<number> }; m: unknown };
    await inPage(open, async (mpm, url) => {
      const m = new mpm.SyncManager(url, { authkey: 'browser-test-key', reconnect: { initialDelay: 50, maxDelay: 500 } });
      const events: string[] = [];
      m.on('disconnect', () => events.push('disconnect'));
      m.on('reconnecting', () => {
        if (events.at(-1) !== 'reconnecting') events.push('reconnecting');
      });
      m.on('reconnect', () => events.push('reconnect'));
      await m.connect();
      const q = await m.Queue();
      const old = await m.dict({ a: 1 });
      // A get that waits on the server: in flight when the connection drops.
      const inFlight = q.get().then(() => 'resolved', (e: Error & { code?: string }) => e.code);
      (globalThis as unknown as { state: State }).state = { events, inFlight, old, m };
    }, first.wsUrl);
    await first.close();
    await open.page.waitForFunction(() => (globalThis as unknown as { state: State }).state.events.includes('reconnecting'), null, { timeout: 15_000 });

    // A call made while the server is away waits for the reconnection.
    await inPage(open, async (mpm) => {
      const state = (globalThis as unknown as { state: State & { waiting: Promise<unknown> } }).state;
      const m = state.m as InstanceType<typeof mpm.SyncManager>;
      state.waiting = m.Value('i', 5).then((v) => v.get());
    }, null);

    const second = await servePage({ port });
    const out = await inPage(open, async () => {
      const state = (globalThis as unknown as { state: State & { waiting: Promise<unknown> } }).state;
      const waited = await state.waiting;
      const inFlight = await state.inFlight;
      const old = await state.old.len().then(() => 'resolved', (e: Error & { code?: string }) => e.code);
      return { events: state.events, inFlight, waited, old };
    }, null);
    expect(out, open.describe()).toEqual({
      events: ['disconnect', 'reconnecting', 'reconnect'],
      inFlight: 'MPM_ERR_CONNECTION_LOST',
      waited: 5,
      old: 'MPM_ERR_OBJECT_GONE',
    });
    await until('the page is connected to the new server', () => held(second), (h) => h.connections === 1);
  });
});
