/**
 * The browser client in headless Chromium, against a Node server on the same origin: the handshake,
 * every SyncManager proxy type driven from the page, a wrong authkey, an object shared with a Node
 * client, and the encrypted channel with each suite (WebCrypto's AES-256-GCM, tweetnacl's
 * XSalsa20-Poly1305) and without.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { BaseManager, Dict, DictProxy, Queue, SyncManager, formatAddress, type QueueProxy } from '../../src/index.js';
import { pythonVersions } from '../support/python.js';
import { python } from '../interop/helpers.js';
import { AUTHKEY, CHROMIUM_SKIP, TIMEOUT, inPage, inPageSource, onCleanup, openTestPage, servePage, type PageError } from './harness.js';

const py = pythonVersions().find((v) => v.available);

/** A class of the server's own, served through an auto proxy. */
class Counter {
  n = 0;
  inc(by = 1): number {
    return (this.n += by);
  }
  fail(): never {
    throw new RangeError('counters do not fail');
  }
}

/** A manager whose `inbox` is one queue for every client (the page puts, a Node client gets), plus `Counter`. */
class InboxManager extends SyncManager {}
const inbox = new Queue();
InboxManager.register('inbox', () => inbox);
InboxManager.register('Counter', Counter);

describe.skipIf(CHROMIUM_SKIP !== null)(`the browser client${CHROMIUM_SKIP === null ? '' : ` (${CHROMIUM_SKIP})`}`, () => {
  it('connects from the page: handshake, a round trip, and a clean shutdown', { timeout: TIMEOUT }, async () => {
    const web = await servePage();
    const open = await openTestPage(web.origin);
    const out = await inPage(open, async (mpm, url) => {
      const m = new mpm.SyncManager(url, { authkey: 'browser-test-key' });
      await m.connect();
      const d = await m.dict<string, number>({ a: 1 });
      await d.set('b', 2);
      const items = await d.items();
      const secure = (globalThis as unknown as { isSecureContext: boolean }).isSecureContext;
      await m.shutdown();
      return { items: items.map(([k, v]) => [k, v]), secure };
    }, web.wsUrl);
    expect(out, open.describe()).toEqual({ items: [['a', 1], ['b', 2]], secure: true });
  });

  it('a wrong authkey rejects connect() with AuthenticationError', { timeout: TIMEOUT }, async () => {
    const web = await servePage();
    const open = await openTestPage(web.origin);
    const err = await inPage(open, async (mpm, url): Promise<PageError & { instance: boolean }> => {
      const m = new mpm.SyncManager(url, { authkey: 'not-the-key' });
      try {
        await m.connect();
        return { name: 'none', code: undefined, message: 'connect() resolved', instance: false };
      } catch (e) {
        const err = e as Error & { code?: string };
        return { name: err.name, code: err.code, message: err.message, instance: err instanceof mpm.AuthenticationError };
      }
    }, web.wsUrl);
    expect(err, open.describe()).toMatchObject({ name: 'AuthenticationError', code: 'MPM_ERR_AUTH', instance: true });
  });

  it("a server offering only CPython's legacy MD5 challenge is refused with an AuthenticationError that says so", { timeout: TIMEOUT }, async () => {
    // A stand-in for a stock CPython <= 3.11 peer behind a WebSocket: its first message is the legacy
    // challenge, '#CHALLENGE#' + 20 random bytes (answered with a raw HMAC-MD5, which WebCrypto lacks).
    const http = createServer();
    const wss = new WebSocketServer({ server: http });
    wss.on('connection', (ws) => ws.send(Buffer.concat([Buffer.from('#CHALLENGE#'), randomBytes(20)])));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise((resolve) => { wss.close(); http.closeAllConnections(); http.close(resolve); }));
    const legacyUrl = `ws://127.0.0.1:${(http.address() as { port: number }).port}/legacy`;
    const web = await servePage();
    const open = await openTestPage(web.origin);
    const err = await inPage(open, async (mpm, url): Promise<PageError> => {
      const m = new mpm.SyncManager(url, { authkey: 'browser-test-key' });
      return m.connect().then(
        () => ({ name: 'none', code: undefined, message: 'connect() resolved' }),
        (e: Error & { code?: string }) => ({ name: e.name, code: e.code, message: e.message }),
      );
    }, legacyUrl);
    expect(err, open.describe()).toMatchObject({ name: 'AuthenticationError', code: 'MPM_ERR_AUTH', message: expect.stringMatching(/md5.*legacy|legacy.*md5/i) });
  });

  it('dict, list and set', { timeout: TIMEOUT }, async () => {
    const web = await servePage();
    const open = await openTestPage(web.origin);
    const out = await inPage(open, async (mpm, url) => {
      const m = new mpm.SyncManager(url, { authkey: 'browser-test-key' });
      await m.connect();
      const d = await m.dict<string, unknown>({ a: 1 });
      await d.set('b', [1, 'two']);
      await d.update({ c: true });
      const keys: string[] = [];
      for await (const k of d) keys.push(k);
      const keyError = await d.__getitem__('zz').then(() => 'resolved', (e: Error & { pyType?: string; code?: string }) => [e.pyType, e.code]);
      const dict = {
        keyError,
        get: await d.get('b'),
        missing: await d.get('zz', 'default'),
        has: await d.has('c'),
        len: await d.len(),
        keys,
        popped: await d.pop('a'),
        copy: await d.copy(),
      };
      const l = await m.list<number>([3, 1]);
      await l.append(2);
      await l.extend([5, 4]);
      await l.sort();
      const listItems: number[] = [];
      for await (const x of l) listItems.push(x);
      const list = { items: listItems, first: await l.get(0), slice: await l.slice(1, 3), len: await l.len(), pop: await l.pop() };
      const s = await m.set<string>(['x']);
      await s.add('y');
      await s.add('x');
      const set = { len: await s.len(), has: await s.has('y'), copy: [...(await s.copy())].sort() };
      await m.shutdown();
      return { dict, list, set };
    }, web.wsUrl);
    expect(out, open.describe()).toEqual({
      dict: { keyError: ['builtins.KeyError', 'MPM_ERR_PYTHON'], get: [1, 'two'], missing: 'default', has: true, len: 3, keys: ['a', 'b', 'c'], popped: 1, copy: { b: [1, 'two'], c: true } },
      list: { items: [1, 2, 3, 4, 5], first: 1, slice: [2, 3], len: 5, pop: 5 },
      set: { len: 2, has: true, copy: ['x', 'y'] },
    });
  });

  it('Queue and JoinableQueue: for await, a timed get, an aborted get', { timeout: TIMEOUT }, async () => {
    const web = await servePage();
    const open = await openTestPage(web.origin);
    const out = await inPage(open, async (mpm, url) => {
      const m = new mpm.SyncManager(url, { authkey: 'browser-test-key' });
      await m.connect();
      const q = await m.Queue<number | null>();
      for (const n of [1, 2, 3]) await q.put(n);
      await q.put(null);
      const got: Array<number | null> = [];
      for await (const x of q.iterate({ sentinel: null })) got.push(x);
      await q.put(4);
      for await (const x of q) {
        got.push(x);
        break;
      }
      // An aborted iteration ends quietly.
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 50);
      for await (const x of q.iterate({ signal: controller.signal })) got.push(x);
      const pageError = (e: unknown) => ({ name: (e as Error).name, pyType: (e as { pyType?: string }).pyType });
      const timed = await q.get(true, 0.05).then(() => 'resolved', pageError);
      const aborted = await q.get(true, null, { signal: AbortSignal.timeout(100) }).then(() => 'resolved', pageError);
      // A get blocked in the page is woken by a put from the page (two calls in flight on one connection).
      const waiting = q.get();
      await q.put(42);
      const woken = await waiting;
      const j = await m.JoinableQueue<string>();
      await j.put('job');
      const job = await j.get();
      await j.task_done();
      await j.join();
      const empty = await j.empty();
      await m.shutdown();
      return { got, timed, aborted, woken, job, empty };
    }, web.wsUrl);
    expect(out, open.describe()).toEqual({
      got: [1, 2, 3, 4],
      timed: { name: 'Empty', pyType: '_queue.Empty' },
      aborted: { name: 'AbortError', pyType: undefined },
      woken: 42,
      job: 'job',
      empty: true,
    });
  });

  it('Lock, RLock, Semaphore, BoundedSemaphore, Condition, Event, Barrier', { timeout: TIMEOUT }, async () => {
    const web = await servePage();
    const open = await openTestPage(web.origin);
    const out = await inPage(open, async (mpm, url) => {
      const m = new mpm.SyncManager(url, { authkey: 'browser-test-key' });
      await m.connect();
      const lock = await m.Lock();
      const lockSteps = [await lock.acquire(), await lock.locked(), await lock.acquire(false), await lock.acquire(true, 0.05)];
      await lock.release();
      lockSteps.push(await lock.locked());
      const inside = await lock.withLock(() => lock.locked());
      const rlock = await m.RLock();
      const rlockSteps = [await rlock.acquire(), await rlock.acquire()];
      await rlock.release();
      await rlock.release();
      const sem = await m.Semaphore(2);
      const semSteps = [await sem.acquire(), await sem.acquire(), await sem.acquire(false)];
      const bsem = await m.BoundedSemaphore(1);
      await bsem.acquire();
      await bsem.release();
      const overRelease = await bsem.release().then(() => 'resolved', (e: Error & { pyType?: string }) => e.pyType);
      const cond = await m.Condition();
      await cond.acquire();
      const condTimedOut = await cond.wait(0.05);
      await cond.notify_all();
      await cond.release();
      const ev = await m.Event();
      const evSteps = [await ev.is_set(), await ev.wait(0.05)];
      const waiter = ev.wait();
      await ev.set();
      evSteps.push(await waiter, await ev.is_set());
      const barrier = await m.Barrier(1);
      const barrierIndex = await barrier.wait();
      const parties = await barrier.parties();
      await m.shutdown();
      return { lockSteps, inside, rlockSteps, semSteps, overRelease, condTimedOut, evSteps, barrierIndex, parties };
    }, web.wsUrl);
    expect(out, open.describe()).toEqual({
      lockSteps: [true, true, false, false, false],
      inside: true,
      rlockSteps: [true, true],
      semSteps: [true, true, false],
      overRelease: 'builtins.ValueError',
      condTimedOut: false,
      evSteps: [false, false, true, true],
      barrierIndex: 0,
      parties: 1,
    });
  });

  it('Value, Array and Namespace', { timeout: TIMEOUT }, async () => {
    const web = await servePage();
    const open = await openTestPage(web.origin);
    const out = await inPage(open, async (mpm, url) => {
      const m = new mpm.SyncManager(url, { authkey: 'browser-test-key' });
      await m.connect();
      const v = await m.Value('i', 1);
      await v.set(41);
      const value = (await v.get()) + 1;
      const a = await m.Array('d', [0.5, 1.5]);
      await a.set(1, 2.5);
      const array = { len: await a.len(), items: [await a.get(0), await a.get(1)] };
      const ns = await m.Namespace<{ name: string; n: number }>({ name: 'page' });
      await ns.set('n', 7);
      const namespace = { name: await ns.get('name'), n: await ns.attrs.n };
      await ns.delete('n');
      const gone = await ns.get('n').then(() => 'resolved', (e: Error & { pyType?: string }) => e.pyType);
      await m.shutdown();
      return { value, array, namespace, gone };
    }, web.wsUrl);
    expect(out, open.describe()).toEqual({
      value: 42,
      array: { len: 2, items: [0.5, 2.5] },
      namespace: { name: 'page', n: 7 },
      gone: 'builtins.AttributeError',
    });
  });

  it('await using releases a held lock; a released proxy refuses calls', { timeout: TIMEOUT }, async () => {
    const web = await servePage();
    const open = await openTestPage(web.origin);
    // Source text: the test transform would rewrite `await using` into helpers the page does not have.
    const out = await inPageSource<unknown>(
      open,
      `
      const m = new mpm.SyncManager(arg, { authkey: 'browser-test-key' });
      await m.connect();
      const lock = await m.Lock();
      let during;
      {
        await using held = await lock.hold();
        during = await lock.locked();
      }
      const after = await lock.locked();
      let released;
      {
        using d = await m.dict();
      released = d;
      }
      const call = await released.len().then(() => 'resolved', (e) => e.name);
      await m.shutdown();
      return { during, after, call };
      `,
      web.wsUrl,
    );
    expect(out, open.describe()).toMatchObject({ during: true, after: false });
    expect((out as { call: string }).call, open.describe()).not.toBe('resolved');
  });

  it('a queue registered on the server is shared by the page and a Node client', { timeout: TIMEOUT }, async () => {
    const web = await servePage({ manager: InboxManager });
    const node = await new InboxManager(web.wsUrl, { authkey: AUTHKEY }).connect();
    onCleanup(() => node.shutdown());
    const fromNode = await node.create<QueueProxy<string>>('inbox');
    const open = await openTestPage(web.origin);
    const reply = inPage(open, async (mpm, url) => {
      const m = new mpm.SyncManager(url, { authkey: 'browser-test-key' });
      m.register('inbox', null, { proxytype: mpm.QueueProxy });
      await m.connect();
      const q = await m.create<QueueProxy<string>>('inbox');
      await q.put('hello from the page');
      // Waits for the Node client's answer on the same queue.
      let answer = await q.get(true, 10);
      while (answer === 'hello from the page') {
        await q.put(answer);
        answer = await q.get(true, 10);
      }
      await m.shutdown();
      return answer;
    }, web.wsUrl);
    expect(await fromNode.get(true, 10)).toBe('hello from the page');
    await fromNode.put('hello from node');
    expect(await reply).toBe('hello from node');
  });

  it("a registered class through an auto proxy (Remote<T>), and the server's errors", { timeout: TIMEOUT }, async () => {
    const web = await servePage({ manager: InboxManager });
    const open = await openTestPage(web.origin);
    const out = await inPage(open, async (mpm, url) => {
      const m = new mpm.BaseManager(url, { authkey: 'browser-test-key' }).register<'Counter', typeof Counter>('Counter');
      await m.connect();
      const counter = await m.Counter();
      const n = [await counter.inc(), await counter.inc(5)];
      const failed = await counter.fail().then(() => 'resolved', (e: Error & { code?: string }) => ({ code: e.code, message: e.message }));
      const unknown = await m.create('NoSuchTypeid').then(() => 'resolved', (e: Error & { code?: string }) => e.code);
      await m.shutdown();
      return { n, failed, unknown };
    }, web.wsUrl);
    expect(out, open.describe()).toMatchObject({ n: [1, 6], failed: { message: expect.stringContaining('counters do not fail') } });
    expect(out.unknown, open.describe()).not.toBe('resolved');
  });

  it('joins an HTTP server that is already listening', { timeout: TIMEOUT }, async () => {
    const web = await servePage({ listenFirst: true });
    const open = await openTestPage(web.origin);
    const n = await inPage(open, async (mpm, url) => {
      const m = new mpm.SyncManager(url, { authkey: 'browser-test-key' });
      await m.connect();
      const v = await m.Value('i', 7);
      const got = await v.get();
      await m.shutdown();
      return got;
    }, web.wsUrl);
    expect(n, open.describe()).toBe(7);
    expect(web.wsUrl).toBe(`ws://127.0.0.1:${new URL(web.origin).port}/mpm`);
  });

  it.skipIf(py === undefined)('values keep their Python types from the page to a stock CPython client and back', { timeout: TIMEOUT }, async () => {
    // One dict served twice: over WebSocket for the page, over TCP for Python (which has no WebSocket).
    const shared = new Dict();
    class SharedManager extends BaseManager {}
    SharedManager.register('shared', () => shared, { proxytype: DictProxy });
    const web = await servePage({ manager: SharedManager });
    const tcp = await new SharedManager(['127.0.0.1', 0], { authkey: AUTHKEY }).getServer();
    void tcp.serveForever();
    onCleanup(() => tcp.shutdown());
    const open = await openTestPage(web.origin);
    await inPage(open, async (mpm, url) => {
      const m = new mpm.BaseManager(url, { authkey: 'browser-test-key' }).register('shared', null, { proxytype: mpm.DictProxy });
      await m.connect();
      const d = await m.shared();
      await d.set('v', [10n ** 30n, new Uint8Array([1, 255]), mpm.tuple<unknown>(1, 'a'), new Set([3]), 1.5, null, true, 'é']);
      await m.shutdown();
    }, web.wsUrl);
    const run = python(py!, String.raw`
import sys
from multiprocessing.managers import BaseManager
class M(BaseManager): pass
M.register('shared')
host, port = sys.argv[1].rsplit(':', 1)
m = M((host, int(port)), authkey=b'browser-test-key')
m.connect()
d = m.shared()
print(repr(d.get('v')), flush=True)
d['back'] = (2 ** 70, b'\x00\x01', frozenset([1]), {'k': [1.25]})
`, [formatAddress(tcp.address)]);
    const result = await run.exit(30_000);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe("[1000000000000000000000000000000, b'\\x01\\xff', (1, 'a'), {3}, 1.5, None, True, 'é']");
    const back = await inPage(open, async (mpm, url) => {
      const m = new mpm.BaseManager(url, { authkey: 'browser-test-key' }).register('shared', null, { proxytype: mpm.DictProxy });
      await m.connect();
      const [big, bytes, set, obj] = (await (await m.shared()).get('back')) as [bigint, Uint8Array, Set<number>, Record<string, number[]>];
      await m.shutdown();
      return { big: String(big), bigType: typeof big, bytes: bytes instanceof Uint8Array ? [...bytes] : String(bytes), set: set instanceof Set ? [...set] : String(set), obj };
    }, web.wsUrl);
    expect(back, open.describe()).toEqual({ big: String(2n ** 70n), bigType: 'bigint', bytes: [0, 1], set: [1], obj: { k: [1.25] } });
  });

  it('many calls in flight on one connection, and a value of several megabytes', { timeout: TIMEOUT }, async () => {
    const web = await servePage();
    const open = await openTestPage(web.origin);
    const out = await inPage(open, async (mpm, url) => {
      const m = new mpm.SyncManager(url, { authkey: 'browser-test-key', encryption: 'require' });
      await m.connect();
      const d = await m.dict<number, number>();
      await Promise.all(Array.from({ length: 2000 }, (_, i) => d.set(i, i * i)));
      const len = await d.len();
      const sample = await d.get(1999);
      const big = new Uint8Array(8 * 1024 * 1024).map((_, i) => i % 251);
      const l = await m.list<Uint8Array>();
      await l.append(big);
      const back = await l.get(0);
      let same = back.length === big.length;
      for (let i = 0; same && i < big.length; i += 4099) same = back[i] === big[i];
      await m.shutdown();
      return { len, sample, same, length: back.length };
    }, web.wsUrl);
    expect(out, open.describe()).toEqual({ len: 2000, sample: 1999 * 1999, same: true, length: 8 * 1024 * 1024 });
  });

  describe('encryption', () => {
    it('over https and wss:// the page connects through TLS, with encryption required by both sides', { timeout: TIMEOUT }, async () => {
      const web = await servePage({ https: true, encryption: 'require' });
      expect(web.wsUrl).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/mpm$/);
      const open = await openTestPage(web.origin);
      const out = await inPage(open, async (mpm, url) => {
        const m = new mpm.SyncManager(url, { authkey: 'browser-test-key', encryption: 'require' });
        await m.connect();
        const d = await m.dict<string, number>({ a: 1 });
        const a = await d.get('a');
        const encryption = m.client.encryption;
        await m.shutdown();
        return { a, encryption };
      }, web.wsUrl);
      // TLS is the page's, so it counts as encryption and no second layer runs inside it (as in Node).
      expect(out, open.describe()).toMatchObject({ a: 1, encryption: expect.stringMatching(/^tls/) });
    });

    it("'off' runs in clear; 'require' picks AES-256-GCM (WebCrypto) in a secure context", { timeout: TIMEOUT }, async () => {
      const web = await servePage({ encryption: 'prefer' });
      const open = await openTestPage(web.origin);
      const out = await inPage(open, async (mpm, url) => {
        const run = async (options: Record<string, unknown>) => {
          const m = new mpm.SyncManager(url, { authkey: 'browser-test-key', ...options });
          await m.connect();
          const d = await m.dict<string, string>();
          await d.set('k', 'x'.repeat(100_000)); // several records
          const ok = (await d.get('k'))?.length === 100_000;
          const encryption = m.client.encryption;
          await m.shutdown();
          return { encryption, ok };
        };
        return {
          secure: (globalThis as unknown as { isSecureContext: boolean }).isSecureContext,
          off: await run({ encryption: 'off' }),
          require: await run({ encryption: 'require' }),
          prefer: await run({ encryption: 'prefer' }),
        };
      }, web.wsUrl);
      expect(out, open.describe()).toEqual({
        secure: true,
        off: { encryption: null, ok: true },
        require: { encryption: 'aes-256-gcm', ok: true },
        prefer: { encryption: 'aes-256-gcm', ok: true },
      });
    });

    it("encryptionSuites: ['xsalsa20-poly1305'] picks tweetnacl's suite", { timeout: TIMEOUT }, async () => {
      const web = await servePage();
      const open = await openTestPage(web.origin);
      const out = await inPage(open, async (mpm, url) => {
        const m = new mpm.SyncManager(url, { authkey: 'browser-test-key', encryption: 'require', encryptionSuites: ['xsalsa20-poly1305'] });
        await m.connect();
        const q = await m.Queue<Uint8Array>();
        await q.put(new Uint8Array([1, 2, 3]));
        const got = [...(await q.get())];
        const encryption = m.client.encryption;
        await m.shutdown();
        return { encryption, got };
      }, web.wsUrl);
      expect(out, open.describe()).toEqual({ encryption: 'xsalsa20-poly1305', got: [1, 2, 3] });
    });

    it("a server with encryption 'require' refuses a page that will not encrypt", { timeout: TIMEOUT }, async () => {
      const web = await servePage({ encryption: 'require' });
      const open = await openTestPage(web.origin);
      const out = await inPage(open, async (mpm, url) => {
        const m = new mpm.SyncManager(url, { authkey: 'browser-test-key', encryption: 'off' });
        return m.connect().then(
          async () => {
            await m.shutdown();
            return { name: 'none', code: undefined as string | undefined };
          },
          (e: Error & { code?: string }) => ({ name: e.name, code: e.code }),
        );
      }, web.wsUrl);
      expect(out.code, `${JSON.stringify(out)}\n${open.describe()}`).toBe('MPM_ERR_CHANNEL');
    });
  });
});
