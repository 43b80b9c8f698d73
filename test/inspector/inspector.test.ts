/**
 * The inspector's JSON and Prometheus endpoints against a real server and real clients: counts that follow
 * creates, calls, errors and releases; calls in flight and lock holders; dialects, encryption and failed
 * authentication; values hidden unless asked; the access rules (token, Host, Origin); actions; `/events`.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { Connection } from '../../src/connection/connection.js';
import { NODE_RUNTIME } from '../../src/connection/node-runtime.js';
import { NativeClient } from '../../src/protocol/native-client.js';
import { WebSocketTransport } from '../../src/transport/websocket.js';
import type { Address } from '../../src/transport/address.js';
import { SyncManager } from '../../src/manager/sync-manager.js';
import { startInspector } from '../../src/inspector/index.js';
import { parseInspectorAddress } from '../../src/cli.js';
import { AUTHKEY, startInspected, startInspectedAt, until } from './support.js';

describe('inspector endpoints', () => {
  it('counts follow creates, calls, errors and releases', async () => {
    const { connect, snapshot, metrics } = await startInspected();
    const m = await connect();
    const q = await m.Queue();
    for (const item of ['a', 'b', 'c']) await q.put(item);

    let s = await snapshot();
    const row = s.objects.find((o) => o.typeid === 'Queue');
    expect(row).toMatchObject({ backend: 'memory', size: 3, refcount: 1, name: null });
    expect(row?.heldBy).toEqual([s.connections[0]?.id]);
    expect(s.totals.objects).toBe(1);
    expect(s.totals.connections).toBe(1);

    let mt = await metrics();
    expect(mt.get('mpmanager_objects{typeid="Queue",backend="memory"}')).toBe(1);
    expect(mt.get('mpmanager_calls_total{typeid="Queue",method="put",outcome="ok"}')).toBe(3);
    expect(mt.get('mpmanager_calls_total{typeid="(server)",method="create",outcome="ok"}')).toBe(1);
    expect(mt.get('mpmanager_call_duration_seconds_count{typeid="Queue",method="put"}')).toBe(3);
    expect(mt.get('mpmanager_call_duration_seconds_bucket{typeid="Queue",method="put",le="+Inf"}')).toBe(3);
    expect(mt.get('mpmanager_connections{dialect="native"}')).toBe(1);

    for (let i = 0; i < 3; i++) await q.get();
    await expect(q.get_nowait()).rejects.toThrow();
    s = await snapshot();
    expect(s.objects.find((o) => o.typeid === 'Queue')?.size).toBe(0);
    expect(s.errors.map((e) => [e.typeid, e.method, e.error])).toEqual([['Queue', 'get_nowait', 'Empty']]);
    mt = await metrics();
    expect(mt.get('mpmanager_calls_total{typeid="Queue",method="get_nowait",outcome="error"}')).toBe(1);
    expect(mt.get('mpmanager_calls_total{typeid="Queue",method="get",outcome="ok"}')).toBe(3);

    q.release();
    s = await until(snapshot, (x) => x.totals.objects === 0);
    expect(s.objects).toEqual([]);
    mt = await metrics();
    expect(mt.has('mpmanager_objects{typeid="Queue",backend="memory"}')).toBe(false);

    await m.shutdown();
    mt = await until(metrics, (x) => x.get('mpmanager_connections{dialect="native"}') === 0);
    expect(mt.get('mpmanager_connections{dialect="native"}')).toBe(0);
  });

  it('a method no object exposes is counted as (other), never under the name a client sent', async () => {
    const { connect, metrics } = await startInspected();
    const m = await connect();
    const d = await m.dict();
    await expect(m.client.call(d.toObjectRef().token.id, 'no_such_method_x1')).rejects.toThrow();
    const mt = await metrics();
    expect(mt.get('mpmanager_calls_total{typeid="dict",method="(other)",outcome="error"}')).toBe(1);
    expect([...mt.keys()].some((k) => k.includes('no_such_method_x1'))).toBe(false);
  });

  it('lists calls in flight, who waits on a lock and who holds it', async () => {
    const { connect, snapshot, metrics } = await startInspected();
    const a = await connect();
    const lock = await a.Lock();
    expect(await lock.acquire()).toBe(true);
    const b = await connect();
    const ids = (await snapshot()).connections.map((c) => c.id);
    const [holder, waiter] = ids as [string, string];

    // b waits for the lock that a holds (calling it by a's token's id).
    const token = lock.toObjectRef().token;
    const waiting = b.client.call(token.id, 'acquire', [true, 10]);
    const s = await until(snapshot, (x) => (x.waits.find((w) => w.id === token.id)?.waiters.length ?? 0) > 0);
    const row = s.waits.find((w) => w.id === token.id);
    expect(row).toMatchObject({ typeid: 'Lock', kind: 'lock', state: 'locked', holders: [holder] });
    expect(row?.waiters.map((w) => [w.connection, w.method])).toEqual([[waiter, 'acquire']]);
    expect(s.connections.find((c) => c.id === waiter)?.inflight.map((c) => [c.typeid, c.method])).toEqual([['Lock', 'acquire']]);
    expect(s.totals.blockedCalls).toBe(1);
    expect((await metrics()).get('mpmanager_calls_blocked{typeid="Lock"}')).toBe(1);

    // a releases: the lock goes to b, which now holds it.
    await lock.release();
    expect(await waiting).toBe(true);
    const after = await until(snapshot, (x) => x.waits.find((w) => w.id === token.id)?.holders[0] === waiter);
    expect(after.waits.find((w) => w.id === token.id)).toMatchObject({ holders: [waiter], waiters: [] });

    // b's connection closes: the lock is free, and nobody holds it.
    await b.shutdown();
    const freed = await until(snapshot, (x) => x.waits.find((w) => w.id === token.id)?.state === 'unlocked');
    expect(freed.waits.find((w) => w.id === token.id)).toMatchObject({ holders: [], waiters: [] });
  });

  it('shows blocked getters of a queue, events, semaphores and barriers', async () => {
    const { connect, snapshot } = await startInspected();
    const m = await connect();
    const q = await m.Queue();
    const event = await m.Event();
    const sem = await m.Semaphore(2);
    const barrier = await m.Barrier(3);
    expect(await sem.acquire()).toBe(true);
    const getting = q.get(true, 10);
    const waitingEvent = event.wait(10);
    const atBarrier = barrier.wait(10).catch(() => null);
    const s = await until(snapshot, (x) => x.totals.blockedCalls === 3);
    const byType = (t: string) => s.waits.find((w) => w.typeid === t);
    expect(byType('Queue')).toMatchObject({ kind: 'queue', state: 'depth 0, unfinished 0' });
    expect(byType('Queue')?.waiters.map((w) => w.method)).toEqual(['get']);
    expect(byType('Event')).toMatchObject({ state: 'unset' });
    expect(byType('Event')?.waiters.map((w) => w.method)).toEqual(['wait']);
    expect(byType('Semaphore')).toMatchObject({ state: 'value=1', holders: [s.connections[0]?.id] });
    expect(byType('Barrier')).toMatchObject({ state: '1/3 waiting' });
    await q.put('x');
    await event.set();
    expect(await getting).toBe('x');
    expect(await waitingEvent).toBe(true);
    await barrier.abort();
    await atBarrier;
  });

  it("shows a queue's unfinished tasks and bound: put and not yet task_done()", async () => {
    const { connect, snapshot } = await startInspected();
    const m = await connect();
    const q = await m.JoinableQueue<number>(5);
    for (const n of [1, 2, 3]) await q.put(n);
    await q.get();
    await q.task_done();
    const s = await until(snapshot, (x) => x.objects.some((o) => o.typeid === 'JoinableQueue' && o.size === 2));
    expect(s.objects.find((o) => o.typeid === 'JoinableQueue')).toMatchObject({ size: 2, state: 'unfinished 2, maxsize 5' });
  });

  it('names dialects and encryption: CPython clients, native ones, encrypted ones', async () => {
    const { connect, snapshot, metrics } = await startInspected();
    const classic = await connect({ serializer: 'pickle' });
    const d = await classic.dict();
    await d.__setitem__('k', 1);
    await connect({ encryption: 'require' });
    const s = await until(snapshot, (x) => x.dialects.cpython! > 0 && x.dialects.native === 1);
    expect(s.dialects.cpython).toBeGreaterThan(0);
    const native = s.connections.find((c) => c.dialect === 'native');
    expect(native?.encryption).toMatch(/aes-256-gcm|xsalsa20-poly1305/);
    expect(s.connections.filter((c) => c.dialect === 'cpython').every((c) => c.encryption === null)).toBe(true);
    expect((await metrics()).get('mpmanager_connections{dialect="native"}')).toBe(1);
  });

  it('counts failed authentication', async () => {
    const { server, metrics, snapshot } = await startInspected();
    const intruder = new SyncManager(server.address, { authkey: 'not-the-key' });
    await expect(intruder.connect()).rejects.toThrow();
    const mt = await until(metrics, (x) => x.get('mpmanager_auth_failures_total') === 1);
    expect(mt.get('mpmanager_auth_failures_total')).toBe(1);
    expect((await snapshot()).totals.authFailures).toBe(1);
  });

  it('shows no value, and no error message, unless values are on', async () => {
    const secret = 'hunter2-secret';
    for (const values of [false, true]) {
      const { connect, request } = await startInspected({ values });
      const m = await connect();
      await m.Value('u', secret);
      const d = await m.dict();
      await expect(d.__getitem__(secret)).rejects.toThrow();
      const body = (await request('/api/snapshot')).body;
      expect(body.includes(secret)).toBe(values);
    }
  });

  it('records nothing for a server nobody watches', async () => {
    const m = new SyncManager(['127.0.0.1', 0], { authkey: AUTHKEY });
    const server = await m.getServer();
    try {
      expect(server.view.activity).toBeNull();
      const inspector = await startInspector(server, { port: 0 });
      expect(server.view.activity).not.toBeNull();
      await inspector.close();
    } finally {
      await server.shutdown();
    }
  });
});

describe('inspector access', () => {
  it('needs the token on every endpoint but /healthz', async () => {
    const { request, inspector } = await startInspected();
    for (const path of ['/', '/api/snapshot', '/metrics', '/events', '/assets/page.js', '/assets/uplot.js']) {
      const none = await request(path, { headers: { authorization: undefined } });
      expect(none.status, path).toBe(401);
      expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
      expect((await request(path, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status, path).toBe(401);
    }
    expect((await request(`/api/snapshot?token=${encodeURIComponent(inspector.token)}`, { headers: { authorization: undefined } })).status).toBe(200);
    expect((await request('/api/snapshot?token=nope', { headers: { authorization: undefined } })).status).toBe(401);
    const health = await request('/healthz', { headers: { authorization: undefined } });
    expect([health.status, health.body]).toEqual([200, 'ok\n']);
  });

  it('refuses a Host that does not name it (DNS rebinding) and pages of other origins', async () => {
    const { request, inspector } = await startInspected();
    const port = inspector.address.port;
    expect((await request('/api/snapshot', { headers: { host: `evil.example:${port}` } })).status).toBe(403);
    expect((await request('/api/snapshot', { headers: { host: `127.0.0.1:${port + 1}` } })).status).toBe(403);
    expect((await request('/api/snapshot', { headers: { host: '127.0.0.1' } })).status).toBe(403); // port 80 is not ours
    expect((await request('/api/snapshot', { headers: { host: `localhost:${port}` } })).status).toBe(200);
    expect((await request('/api/snapshot', { headers: { origin: 'http://evil.example' } })).status).toBe(403);
    expect((await request('/api/snapshot', { headers: { origin: `http://127.0.0.1:${port}` } })).status).toBe(200);
  });

  it('sends a strict content security policy and no referrer', async () => {
    const { request } = await startInspected();
    const page = await request('/');
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.body).not.toMatch(/<script>(?!<\/script>)/); // no inline script
  });

  it('closes a connection only when actions are on', async () => {
    for (const actions of [false, true]) {
      const { connect, request, snapshot } = await startInspected({ actions });
      const m = await connect();
      const lock = await m.Lock();
      await lock.acquire();
      const id = (await snapshot()).connections[0]?.id as string;
      const res = await request(`/api/connections/${id}/close`, { method: 'POST' });
      expect(res.status).toBe(actions ? 200 : 403);
      if (actions) {
        // Its references went with it, the lock's last one included.
        const s = await until(snapshot, (x) => x.totals.connections === 0 && x.totals.objects === 0);
        expect([s.totals.connections, s.totals.objects]).toEqual([0, 0]);
        await expect(lock.locked()).rejects.toThrow();
      }
    }
  });

  it('refuses a short token, and parses --inspector [HOST:]PORT', async () => {
    const { server } = await startInspected();
    await expect(startInspector(server, { port: 0, token: 'short' })).rejects.toThrow(/16 characters/);
    expect(parseInspectorAddress('9100')).toEqual({ host: '127.0.0.1', port: 9100 });
    expect(parseInspectorAddress('0.0.0.0:0')).toEqual({ host: '0.0.0.0', port: 0 });
    expect(parseInspectorAddress('[::1]:9100')).toEqual({ host: '::1', port: 9100 });
    expect(() => parseInspectorAddress('host:port')).toThrow(/\[HOST:\]PORT/);
  });

  it('/events streams snapshots', async () => {
    const { request } = await startInspected();
    const res = await request('/events', { firstChunk: true });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const data = /^data: (.*)$/m.exec(res.body)?.[1] as string;
    expect(JSON.parse(data)).toMatchObject({ totals: { connections: 0 } });
  });
});

describe('browser connections', () => {
  it('names a native client whose WebSocket upgrade carried an Origin a browser, with its origin', async () => {
    const { server, snapshot, metrics } = await startInspectedAt('ws://127.0.0.1:0/mpm');
    const origin = 'http://127.0.0.1:5173';
    // A page's connection, as the browser client makes it: the native dialect over a WebSocket with an Origin.
    const dial = async (address: Address, options: { authkey?: string | Uint8Array | null | undefined }) => {
      const ws = new WebSocket(address as string, { origin, perMessageDeflate: false });
      // Made at once, so it listens before the server's first frame arrives (it may come with the upgrade).
      const transport = new WebSocketTransport(ws, ['127.0.0.1', 0], {}, null);
      await once(ws, 'open');
      const conn = new Connection(transport, {}, NODE_RUNTIME);
      await conn.connectHandshake(options.authkey as string, { encryption: 'off' });
      return conn;
    };
    const client = await NativeClient.connect(server.address, { authkey: AUTHKEY, dial } as never);
    try {
      await client.call(null, 'dummy');
      const s = await until(snapshot, (x) => x.connections.length === 1);
      expect(s.connections[0]).toMatchObject({ dialect: 'browser', origin, transport: 'ws' });
      expect((await metrics()).get('mpmanager_connections{dialect="browser"}')).toBe(1);
    } finally {
      client.close();
    }
  });
});

describe('inspector over TLS', () => {
  it('serves HTTPS with the certificate it is given, and the token still gates it', async () => {
    const pem = (name: string) => readFileSync(new URL(`../fixtures/tls/${name}.pem`, import.meta.url));
    const { inspector } = await startInspected({ tls: { cert: pem('server'), key: pem('server-key') } });
    expect(inspector.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/\?token=/);
    const get = (path: string, headers: Record<string, string> = {}) =>
      new Promise<number>((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port: inspector.address.port, path, ca: pem('ca'), headers }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    expect(await get('/api/snapshot')).toBe(401);
    expect(await get('/api/snapshot', { authorization: `Bearer ${inspector.token}` })).toBe(200);
    expect(await get('/api/snapshot', { authorization: `Bearer ${inspector.token}`, origin: `http://127.0.0.1:${inspector.address.port}` })).toBe(403);
  });
});
