/** The in-memory transport pair, as a scripted peer for hostile-input tests and `Pipe()`. */
import { describe, expect, it } from 'vitest';
import { ConnectionClosedError, FrameTooLargeError } from '../../src/errors.js';
import { MemoryTransport } from '../../src/transport/memory.js';
import type { FrameSink } from '../../src/transport/types.js';

function recorder(): FrameSink & { frames: string[]; closes: Array<Error | undefined> } {
  const frames: string[] = [];
  const closes: Array<Error | undefined> = [];
  return { frames, closes, frame: (f) => void frames.push(f.toString()), closed: (e) => void closes.push(e) };
}
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('MemoryTransport', () => {
  it('delivers frames later (not inside send), in order, as copies', async () => {
    const [a, b] = MemoryTransport.pair();
    const sink = recorder();
    b.start(sink);
    const buf = Buffer.from('one');
    a.send(buf);
    a.send(Buffer.from(''));
    a.send(Buffer.from('three'));
    expect(sink.frames).toEqual([]);
    buf.write('ONE');
    await tick();
    expect(sink.frames).toEqual(['one', '', 'three']);
    expect(a.kind).toBe('memory');
    expect(a.peerAddress).toBe('');
  });

  it('holds frames sent before start()', async () => {
    const [a, b] = MemoryTransport.pair();
    a.send(Buffer.from('early'));
    await tick();
    const sink = recorder();
    b.start(sink);
    await tick();
    expect(sink.frames).toEqual(['early']);
  });

  it('pause() holds frames until resume()', async () => {
    const [a, b] = MemoryTransport.pair();
    const sink = recorder();
    b.start(sink);
    b.pause();
    a.send(Buffer.from('x'));
    await tick();
    expect(sink.frames).toEqual([]);
    b.resume();
    await tick();
    expect(sink.frames).toEqual(['x']);
  });

  it('close(): the peer gets what was sent, then a clean close; sending afterwards fails', async () => {
    const [a, b] = MemoryTransport.pair();
    const sa = recorder();
    const sb = recorder();
    a.start(sa);
    b.start(sb);
    a.send(Buffer.from('last'));
    a.close();
    a.close();
    await tick();
    expect(sb.frames).toEqual(['last']);
    expect(sb.closes).toEqual([undefined]);
    expect(sa.closes).toEqual([undefined]);
    expect(() => a.send(Buffer.from('x'))).toThrow(ConnectionClosedError);
  });

  it('destroy(error) reports the error on its own side only', async () => {
    const [a, b] = MemoryTransport.pair();
    const sa = recorder();
    const sb = recorder();
    a.start(sa);
    b.start(sb);
    const boom = new Error('boom');
    a.destroy(boom);
    await tick();
    expect(sa.closes).toEqual([boom]);
    expect(sb.closes).toEqual([undefined]);
  });

  it('refuses a frame above maxFrameSize: FrameTooLargeError on the receiver, a clean close for the sender', async () => {
    const [a, b] = MemoryTransport.pair({ maxFrameSize: 4 });
    const sa = recorder();
    const sb = recorder();
    a.start(sa);
    b.start(sb);
    a.send(Buffer.from('1234'));
    a.send(Buffer.from('12345'));
    a.send(Buffer.from('never'));
    await tick();
    expect(sb.frames).toEqual(['1234']);
    expect(sb.closes).toHaveLength(1);
    expect(sb.closes[0]).toBeInstanceOf(FrameTooLargeError);
    expect(sa.closes).toEqual([undefined]);
  });
});
