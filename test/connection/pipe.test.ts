/** `Pipe(duplex)`: a connected pair in one process (CPython's `Pipe`). */
import { NODE_RUNTIME } from '../../src/connection/node-runtime.js';
import { afterEach, describe, expect, it } from 'vitest';
import { Connection, Pipe } from '../../src/connection/index.js';
import { ConnectionClosedError, InvalidArgumentError, StateError } from '../../src/errors.js';
import { MemoryTransport } from '../../src/transport/memory.js';

const open: Connection[] = [];
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});
function pipe(duplex?: boolean): [Connection, Connection] {
  const pair = Pipe(duplex);
  open.push(...pair);
  return pair;
}

describe('Pipe(true)', () => {
  it('is the default and carries objects and bytes both ways, in order', async () => {
    const [a, b] = pipe();
    expect(a.readable && a.writable && b.readable && b.writable).toBe(true);
    a.send({ n: 1 });
    a.sendBytes(Buffer.from('raw'));
    b.send('back');
    expect(await b.recv()).toEqual({ n: 1 });
    expect((await b.recvBytes()).toString()).toBe('raw');
    expect(await a.recv()).toBe('back');
  });

  it('copies what is sent: changing the buffer afterwards changes nothing', async () => {
    const [a, b] = pipe();
    const buf = Buffer.from('abc');
    a.sendBytes(buf);
    buf.fill(0);
    expect((await b.recvBytes()).toString()).toBe('abc');
  });

  it('polls, and sees EOF when the other end closes', async () => {
    const [a, b] = pipe();
    expect(await b.poll()).toBe(false);
    a.send(1);
    expect(await b.poll(1)).toBe(true);
    expect(await b.recv()).toBe(1);
    a.close();
    expect(await b.poll(1)).toBe(true);
    await expect(b.recv()).rejects.toThrow(ConnectionClosedError);
  });

  it('delivers what was sent before a close, then ends for await', async () => {
    const [a, b] = pipe();
    for (const n of [1, 2, 3]) a.send(n);
    a.close();
    const got: unknown[] = [];
    for await (const v of b) got.push(v);
    expect(got).toEqual([1, 2, 3]);
  });

  it('keeps going past 1024 queued messages (receive backpressure pauses and resumes)', async () => {
    const [a, b] = pipe();
    for (let i = 0; i < 3000; i++) a.send(i);
    await new Promise((r) => setTimeout(r, 10));
    for (let i = 0; i < 3000; i++) expect(await b.recv()).toBe(i);
  });
});

describe('Pipe(false)', () => {
  it('returns [reader, writer]', async () => {
    const [reader, writer] = pipe(false);
    expect([reader.readable, reader.writable]).toEqual([true, false]);
    expect([writer.readable, writer.writable]).toEqual([false, true]);
    writer.send('one way');
    expect(await reader.recv()).toBe('one way');
  });

  it("refuses the wrong direction: 'read-only' and 'write-only' as in CPython", async () => {
    const [reader, writer] = pipe(false);
    expect(() => reader.send('x')).toThrow(StateError);
    expect(() => reader.sendBytes(Buffer.from('x'))).toThrow(/read-only/);
    await expect(writer.recv()).rejects.toThrow(/write-only/);
    await expect(writer.recvBytes()).rejects.toThrow(StateError);
    expect(() => writer.poll()).toThrow(/write-only/);
  });

  it('a read-only end closes after a bad message length (CPython closes what it cannot use)', async () => {
    const [reader, writer] = pipe(false);
    writer.sendBytes(Buffer.alloc(5));
    await expect(reader.recvBytes(4)).rejects.toThrow(/bad message length/);
    expect(reader.closed).toBe(true);
  });
});

describe('Connection', () => {
  it('refuses to be neither readable nor writable', () => {
    const [t] = MemoryTransport.pair();
    expect(() => new Connection(t, { readable: false, writable: false }, NODE_RUNTIME)).toThrow(InvalidArgumentError);
  });

  it('refuses an unknown serializer by name', () => {
    expect(() => Pipe(true, { serializer: 'marshal' })).toThrow(/unknown serializer 'marshal'/);
  });
});
