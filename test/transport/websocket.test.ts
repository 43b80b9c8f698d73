/** The WebSocket transport: one frame per binary message, limits, and frames that arrive before start(). */
import { once } from 'node:events';
import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ConnectionClosedError, FrameTooLargeError } from '../../src/errors.js';
import { connectWebSocket, listenWebSocket, type WebSocketTransport } from '../../src/transport/websocket.js';
import type { FrameSink } from '../../src/transport/types.js';
import { SyncManager } from '../../src/manager/sync-manager.js';
import type { BaseProxy } from '../../proxies/base-proxy.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function recorder(): FrameSink & { frames: string[]; closed$: Promise<Error | undefined> } {
  const frames: string[] = [];
  let done!: (e: Error | undefined) => void;
  const closed$ = new Promise<Error | undefined>((r) => (done = r));
  return { frames, closed$, frame: (f) => void frames.push(f.toString()), closed: (e) => done(e) };
}

async function serve(onTransport: (t: WebSocketTransport) => void, options = {}, path = '/mpm') {
  const server = await listenWebSocket(`ws://127.0.0.1:0${path}`, options, (t) => {
    cleanup.push(() => t.destroy());
    onTransport(t);
  });
  cleanup.push(() => server.close());
  return server;
}

describe('WebSocket transport', () => {
  it('binds port 0 and reports the real URL', async () => {
    const server = await serve(() => {});
    expect(server.address).toMatch(/^ws:\/\/127\.0\.0\.1:[1-9]\d*\/mpm$/);
  });

  it('keeps frames that arrive with the upgrade response, before start() (regression)', async () => {
    // The server speaks first, as a Listener with an authkey does (its challenge); those bytes can reach
    // the client in the same read as the 101 response, which ws delivers on the tick after 'open'.
    const server = await serve((t) => {
      t.start(recorder());
      t.send(Buffer.from('first'));
      t.send(Buffer.from('second'));
    });
    const client = await connectWebSocket(server.address as string);
    cleanup.push(() => client.destroy());
    await new Promise((r) => setTimeout(r, 50));
    const sink = recorder();
    client.start(sink);
    expect(sink.frames).toEqual(['first', 'second']);
  });

  it('reports a close that happened before start()', async () => {
    const server = await serve((t) => {
      t.start(recorder());
      t.send(Buffer.from('bye'));
      t.close();
    });
    const client = await connectWebSocket(server.address as string);
    await new Promise((r) => setTimeout(r, 50));
    const sink = recorder();
    client.start(sink);
    expect(await sink.closed$).toBeUndefined();
    expect(sink.frames).toEqual(['bye']);
  });

  it("reports the peer's address as [host, port]", async () => {
    let peer: unknown;
    const server = await serve((t) => (peer = t.peerAddress));
    const client = await connectWebSocket(server.address as string);
    cleanup.push(() => client.destroy());
    client.start(recorder());
    await new Promise((r) => setTimeout(r, 20));
    expect(peer).toEqual(['127.0.0.1', expect.any(Number)]);
  });

  it("refuses a message above the listener's maxFrameSize from its header: FrameTooLargeError, and a clean close for the sender", async () => {
    const sinks: Array<ReturnType<typeof recorder>> = [];
    const server = await serve((t) => {
      const s = recorder();
      sinks.push(s);
      t.start(s);
    }, { maxFrameSize: 1000 });
    const client = await connectWebSocket(server.address as string);
    const clientSink = recorder();
    client.start(clientSink);
    client.send(Buffer.alloc(1000));
    client.send(Buffer.alloc(5000));
    expect(await clientSink.closed$).toBeUndefined();
    const err = await sinks[0]!.closed$;
    expect(err).toBeInstanceOf(FrameTooLargeError);
    expect((err as FrameTooLargeError).size).toBe(5000);
    expect((err as FrameTooLargeError).limit).toBe(1000);
    expect(sinks[0]!.frames).toHaveLength(1);
  });

  it('closes on a text message (frames are binary)', async () => {
    const sinks: Array<ReturnType<typeof recorder>> = [];
    const server = await serve((t) => {
      const s = recorder();
      sinks.push(s);
      t.start(s);
    });
    const ws = new WebSocket(server.address as string);
    cleanup.push(() => ws.terminate());
    await once(ws, 'open');
    ws.send('text');
    const [code] = (await once(ws, 'close')) as [number];
    expect(code).toBe(1008);
    const err = await sinks[0]!.closed$;
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect(err!.message).toMatch(/text WebSocket message/);
  });

  it('answers another path with 404 and plain HTTP with 426', async () => {
    const server = await serve(() => {});
    const url = new URL(server.address as string);
    // A refused upgrade: a ConnectError naming the HTTP status.
    await expect(connectWebSocket(`ws://127.0.0.1:${url.port}/elsewhere`)).rejects.toMatchObject({ code: 'MPM_ERR_CONNECT', httpStatus: 404 });
    const status = await new Promise<number | undefined>((resolve, reject) => {
      request({ host: '127.0.0.1', port: Number(url.port), path: '/mpm' }, (res) => {
        res.resume();
        resolve(res.statusCode);
      })
        .on('error', reject)
        .end();
    });
    expect(status).toBe(426);
  });

  it('close() stops listening while accepted connections stay open', async () => {
    const accepted: WebSocketTransport[] = [];
    const server = await serve((t) => accepted.push(t));
    const client = await connectWebSocket(server.address as string);
    cleanup.push(() => client.destroy());
    client.start(recorder());
    await new Promise((r) => setTimeout(r, 20));
    const sink = recorder();
    accepted[0]!.start(sink);
    await server.close();
    client.send(Buffer.from('still open'));
    await new Promise((r) => setTimeout(r, 20));
    expect(sink.frames).toEqual(['still open']);
    await expect(connectWebSocket(server.address as string)).rejects.toMatchObject({ code: 'MPM_ERR_CONNECT', syscallCode: 'ECONNREFUSED' }); // nothing listens
  });

  it('sends a frame given in parts as one message, and carries a manager whose values hold large binaries', async () => {
    const got = recorder();
    let accepted!: WebSocketTransport;
    const server = await serve((t) => {
      accepted = t;
      t.start(got);
    });
    const client = await connectWebSocket(server.address as string);
    cleanup.push(() => client.destroy());
    client.start(recorder());
    client.sendParts([Buffer.from('ab'), Buffer.from('cd'), Buffer.alloc(0), Buffer.from('e')]);
    client.close();
    await got.closed$;
    expect(accepted).toBeDefined();
    expect(got.frames).toEqual(['abcde']);

    const m = await new SyncManager('ws://127.0.0.1:0/blobs', { authkey: 'ws-blobs' }).start();
    cleanup.push(() => m.shutdown());
    const d = await m.create<BaseProxy>('dict');
    const big = Buffer.alloc(300_000).map((_, i) => i % 251);
    await d.callMethod('__setitem__', ['big', big]);
    const back = (await d.callMethod('__getitem__', ['big'])) as Buffer;
    expect(Buffer.isBuffer(back) && back.equals(big)).toBe(true);
  });
});
