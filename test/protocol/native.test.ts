/**
 * The native wire layout (src/protocol/native.ts) on raw bytes, with no socket: how a server tells a
 * native hello from a CPython pickle on the first frame, the message kinds and their exact encodings,
 * `BlobInbox.receive` (the blob checks, and the frame limit that bounds blobs together with their
 * message), and the order `sendWithBlobs` writes in, on a transport that only records.
 */
import { describe, expect, it } from 'vitest';
import { BLOB_MIN, EXT_BLOB, msgpack, type DecodeContext, type EncodeContext } from '../../src/codec/index.js';
import { ObjectRef } from '../../src/codec/ref.js';
import { ProtocolError, RemoteError } from '../../src/errors.js';
import {
  BlobInbox,
  ClientKind,
  NATIVE_MAGIC,
  NATIVE_VERSION,
  SERVER_OPERATIONS,
  ServerKind,
  isNativeHello,
  sendWithBlobs,
  peekCallId,
} from '../../src/protocol/native.js';
import type { FrameSink, Transport } from '../../src/transport/types.js';
import { VECTORS, hex, toHex } from '../codec/pickle/bytes.js';

/** A blob frame as a peer writes it: `c9 <u32 n> 05 <n bytes>`. */
function blobFrame(bytes: Uint8Array): Buffer {
  const head = Buffer.from([0xc9, 0, 0, 0, 0, EXT_BLOB]);
  head.writeUInt32BE(bytes.length, 1);
  return Buffer.concat([head, bytes]);
}

describe('the first frame: native hello or CPython pickle', () => {
  const hello = Buffer.from(msgpack.encode([NATIVE_MAGIC, NATIVE_VERSION, { name: 'node-1' }]));

  it('a hello starts 93 a9 "mpmanager" (fixarray of 3, fixstr of 9)', () => {
    expect(toHex(hello.subarray(0, 11))).toBe(`93a9${Buffer.from('mpmanager').toString('hex')}`);
    expect(isNativeHello(hello)).toBe(true);
    // The smallest: an empty hello map.
    expect(isNativeHello(hex(`93a9${Buffer.from('mpmanager').toString('hex')}0180`))).toBe(true);
  });

  it('recognises a hello that is a view inside a larger chunk (frames are views of socket reads)', () => {
    const chunk = Buffer.concat([Buffer.from('junk before'), hello, Buffer.from('junk after')]);
    expect(isNativeHello(chunk.subarray(11, 11 + hello.length))).toBe(true);
    expect(isNativeHello(chunk.subarray(10, 10 + hello.length))).toBe(false);
  });

  it('refuses CPython requests, other msgpack, empty and truncated frames', () => {
    expect(isNativeHello(hex(VECTORS.create))).toBe(false); // (None, 'create', ('dict',), {}), a pickle 80 04 ...
    expect(isNativeHello(hex(VECTORS.getitem))).toBe(false);
    expect(isNativeHello(new Uint8Array(0))).toBe(false);
    expect(isNativeHello(hello.subarray(0, 1))).toBe(false);
    expect(isNativeHello(hello.subarray(0, 11))).toBe(false); // the magic alone, nothing after it
    expect(isNativeHello(msgpack.encode(['mpmanageR', 1, {}]))).toBe(false);
    expect(isNativeHello(msgpack.encode(['mpmanager', 1]))).toBe(false); // fixarray of 2
    expect(isNativeHello(msgpack.encode([ClientKind.Call, 1, null, 'dummy', [], null]))).toBe(false);
    expect(isNativeHello(Buffer.from('this is not a manager request'))).toBe(false);
  });
});

describe('message kinds', () => {
  it('are the numbers of the layout table', () => {
    expect(NATIVE_MAGIC).toBe('mpmanager');
    expect(NATIVE_VERSION).toBe(1);
    expect(ClientKind).toEqual({ Call: 0, Cancel: 1, Release: 2 });
    expect(ServerKind).toEqual({ Return: 0, Error: 1 });
  });

  it('encode to the exact bytes of the table', () => {
    // [CALL, 7, null, 'dummy', [], null]
    expect(toHex(msgpack.encode([ClientKind.Call, 7, null, 'dummy', [], null]))).toBe('960007c0a564756d6d7990c0');
    // [CANCEL, 7] and [RELEASE, 'ab', 2]
    expect(toHex(msgpack.encode([ClientKind.Cancel, 7]))).toBe('920107');
    expect(toHex(msgpack.encode([ClientKind.Release, 'ab', 2]))).toBe('9302a2616202');
    // Replies start with fixarray 3, the kind, then the call id as the smallest uint: the client reads
    // the id from these bytes to drop a late reply without decoding it.
    expect(toHex(msgpack.encode([ServerKind.Return, 5, null]))).toBe('930005c0');
    expect(toHex(msgpack.encode([ServerKind.Return, 200, null]))).toBe('9300ccc8c0');
    expect(toHex(msgpack.encode([ServerKind.Return, 300, null]))).toBe('9300cd012cc0');
    expect(toHex(msgpack.encode([ServerKind.Return, 70_000, null]))).toBe('9300ce00011170c0');
  });

  it('an error reply carries ext 2 [kind, type, message, stack, args]', () => {
    const frame = Buffer.from(msgpack.encode([ServerKind.Error, 1, new RangeError('out')]));
    // [ERROR, 1, ...], then msgpackr's form of a `write` extension: fixext 1 of type 2 (d4 02 00) followed
    // by the array it wrote, here [0, 'RangeError', 'out', stack, []]
    const head = `930101d402009500aa${Buffer.from('RangeError').toString('hex')}a3${Buffer.from('out').toString('hex')}`;
    expect(toHex(frame.subarray(0, head.length / 2))).toBe(head);
    const [, , error] = msgpack.decode(frame) as [number, number, RemoteError];
    expect(error).toBeInstanceOf(RemoteError);
    expect([error.remoteType, error.remoteMessage]).toEqual(['RangeError', 'out']);
  });

  it('server operations are CPython\'s Server.public, and shared_objects', () => {
    // multiprocessing/managers.py: public = ['shutdown', 'create', 'accept_connection', 'get_methods',
    // 'debug_info', 'number_of_objects', 'dummy', 'incref', 'decref']; shared_objects is mpmanager's own
    // (what `mpmanager info` lists of a server's shared store).
    expect(new Set(SERVER_OPERATIONS)).toEqual(
      new Set(['shutdown', 'create', 'accept_connection', 'get_methods', 'debug_info', 'number_of_objects', 'dummy', 'incref', 'decref', 'shared_objects']),
    );
  });
});

describe('BlobInbox.receive', () => {
  const LIMIT = 4 * BLOB_MIN;

  it('gives a message with no blobs before it the context itself', () => {
    const inbox = new BlobInbox();
    const context: DecodeContext = { reviveRef: (r) => r };
    const frame = Buffer.from(msgpack.encode([ServerKind.Return, 1, 'x']));
    expect(inbox.receive(frame, context, LIMIT)).toBe(context);
  });

  it('keeps a blob frame (null) and hands it, as a view of its frame, to the message after it', () => {
    const inbox = new BlobInbox();
    const big = Buffer.alloc(BLOB_MIN, 0x41);
    const plain = new Uint8Array(BLOB_MIN + 1).fill(0x42);
    const encodeContext: EncodeContext = { blobs: [] };
    const message = Buffer.from(msgpack.encode([ServerKind.Return, 9, { big, plain, small: Buffer.from('s') }], encodeContext));
    expect(encodeContext.blobs).toHaveLength(2);
    expect(message.length).toBeLessThan(64); // the bytes are not in the message, only ext 4 references
    const frames = [blobFrame(big), blobFrame(plain)];
    const reviveRef = (r: ObjectRef) => r;
    const context: DecodeContext = { reviveRef };
    expect(inbox.receive(frames[0] as Buffer, context, LIMIT)).toBeNull();
    expect(inbox.receive(frames[1] as Buffer, context, LIMIT)).toBeNull();
    const got = inbox.receive(message, context, LIMIT);
    expect(got).not.toBeNull();
    expect(got).not.toBe(context); // a copy: the caller's context is not changed
    expect(context.blobs).toBeUndefined();
    expect(got?.reviveRef).toBe(reviveRef);
    expect(got?.blobs).toHaveLength(2);
    const [kind, id, value] = msgpack.decode(message, got as DecodeContext) as [number, number, { big: Buffer; plain: Uint8Array; small: Buffer }];
    expect([kind, id]).toEqual([ServerKind.Return, 9]);
    expect(Buffer.isBuffer(value.big) && value.big.equals(big)).toBe(true);
    expect(value.big.buffer).toBe((frames[0] as Buffer).buffer); // the frame's memory, not a copy
    expect(Buffer.isBuffer(value.plain)).toBe(false);
    expect(value.plain).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(value.plain).equals(Buffer.from(plain))).toBe(true);
    expect(value.small.toString()).toBe('s');
    // The blobs went with their message: the next message gets the context as it is.
    expect(inbox.receive(Buffer.from(msgpack.encode([0, 10, null])), context, LIMIT)).toBe(context);
  });

  it('refuses a blob frame under BLOB_MIN (a sender writes smaller binaries inline)', () => {
    const inbox = new BlobInbox();
    expect(() => inbox.receive(blobFrame(Buffer.alloc(0)), {}, LIMIT)).toThrow(ProtocolError);
    expect(() => inbox.receive(blobFrame(Buffer.alloc(BLOB_MIN - 1)), {}, LIMIT)).toThrow(ProtocolError);
    expect(() => new BlobInbox().receive(blobFrame(Buffer.alloc(BLOB_MIN - 1)), {}, LIMIT)).toThrow(/blobs are 65536 bytes or more/);
    expect(new BlobInbox().receive(blobFrame(Buffer.alloc(BLOB_MIN)), {}, LIMIT)).toBeNull();
  });

  it('refuses a blob frame whose header disagrees with its length', () => {
    const frame = blobFrame(Buffer.alloc(BLOB_MIN));
    frame.writeUInt32BE(BLOB_MIN + 1, 1);
    expect(() => new BlobInbox().receive(frame, {}, LIMIT)).toThrow(ProtocolError);
    expect(() => new BlobInbox().receive(frame.subarray(0, frame.length - 1), {}, LIMIT)).toThrow(ProtocolError);
  });

  it('counts blobs against the frame limit: more blobs than the limit before one message are refused', () => {
    const inbox = new BlobInbox();
    const blob = blobFrame(Buffer.alloc(BLOB_MIN));
    for (let i = 0; i < 4; i++) expect(inbox.receive(blob, {}, LIMIT)).toBeNull(); // exactly the limit
    expect(() => inbox.receive(blob, {}, LIMIT)).toThrow(ProtocolError);
  });

  it('counts a message with its blobs: together they must fit the limit', () => {
    const inbox = new BlobInbox();
    const blob = blobFrame(Buffer.alloc(BLOB_MIN));
    for (let i = 0; i < 4; i++) inbox.receive(blob, {}, LIMIT);
    const message = Buffer.from(msgpack.encode([ServerKind.Return, 1, null]));
    expect(() => inbox.receive(message, {}, LIMIT)).toThrow(ProtocolError);
    // With no blobs before it, a message is the transport's to bound (checked from its frame header).
    const alone: DecodeContext = {};
    expect(new BlobInbox().receive(message, alone, 1)).toBe(alone);
    // Under the limit together: accepted.
    const fits = new BlobInbox();
    fits.receive(blob, {}, BLOB_MIN + message.length);
    expect(fits.receive(message, {}, BLOB_MIN + message.length)?.blobs).toHaveLength(1);
  });

  it('takes an ext 32 frame of another type for a message (only type 5 is a blob)', () => {
    const frame = Buffer.from([0xc9, 0, 0, 0, 0, 0x04]);
    const context: DecodeContext = {};
    expect(new BlobInbox().receive(frame, context, LIMIT)).toBe(context);
  });
});

/** A transport that records what is sent to it, in order. */
class RecordingTransport implements Transport {
  readonly kind = 'recording';
  readonly peerAddress = '';
  readonly encryption = null;
  maxFrameSize = 1 << 30;
  readonly whenClosed = Promise.resolve();
  readonly sent: Array<{ op: 'send' | 'sendParts'; parts: readonly Uint8Array[] }> = [];
  verdict = true;
  start(_sink: FrameSink): void {}
  send(payload: Uint8Array): boolean {
    this.sent.push({ op: 'send', parts: [payload] });
    return this.verdict;
  }
  sendParts(parts: readonly Uint8Array[]): boolean {
    this.sent.push({ op: 'sendParts', parts });
    return true;
  }
  drained(): Promise<void> {
    return Promise.resolve();
  }
  pause(): void {}
  resume(): void {}
  close(): void {}
  destroy(): void {}
}

describe('sendWithBlobs', () => {
  it('writes each blob as a frame of its own, from the caller\'s memory, in order, then the message', () => {
    const transport = new RecordingTransport();
    const first = Buffer.alloc(BLOB_MIN, 1);
    const second = new Uint8Array(BLOB_MIN * 2).fill(2);
    const context = { blobs: [] as Uint8Array[] };
    const frame = msgpack.encode([ClientKind.Call, 1, 'id', 'set', [first, second], null], context);
    expect(sendWithBlobs(transport, frame, context)).toBe(true);
    expect(transport.sent.map((s) => s.op)).toEqual(['sendParts', 'sendParts', 'send']);
    const [a, b, message] = transport.sent;
    expect(toHex(a?.parts[0] as Uint8Array)).toBe('c90001000005');
    expect(a?.parts[1]).toBe(first); // no copy
    expect(toHex(b?.parts[0] as Uint8Array)).toBe('c90002000005');
    expect(b?.parts[1]).toBe(second);
    expect(message?.parts[0]).toBe(frame);
    expect(context.blobs).toEqual([]); // emptied for the next message
    // What was written decodes on the other side through a BlobInbox.
    const inbox = new BlobInbox();
    for (const blob of [a, b]) expect(inbox.receive(Buffer.concat(blob?.parts as Uint8Array[]), {}, 1 << 30)).toBeNull();
    const got = inbox.receive(Buffer.from(frame), {}, 1 << 30) as DecodeContext;
    const decoded = msgpack.decode(frame, got) as unknown[];
    expect((decoded[4] as Uint8Array[]).map((x) => x.length)).toEqual([BLOB_MIN, BLOB_MIN * 2]);
  });

  it('with no blobs sends the message alone, and returns send()\'s backpressure verdict', () => {
    const transport = new RecordingTransport();
    transport.verdict = false;
    const frame = msgpack.encode([ClientKind.Call, 1, null, 'dummy', [], null]);
    expect(sendWithBlobs(transport, frame, {})).toBe(false);
    expect(sendWithBlobs(transport, frame, { blobs: [] })).toBe(false);
    expect(transport.sent.map((s) => s.op)).toEqual(['send', 'send']);
  });
});

describe('peekCallId', () => {
  it('reads the call id of a call or reply from its head, at every width, without decoding the rest', () => {
    for (const id of [0, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1]) {
      expect(peekCallId(msgpack.encode([ClientKind.Call, id, null, 'm', [], null])), `call ${id}`).toBe(id);
      expect(peekCallId(msgpack.encode([ServerKind.Error, id, 'x'])), `reply ${id}`).toBe(id);
    }
    // The body after the id is never looked at: a call whose body is garbage still has its id.
    expect(peekCallId(Buffer.from('96000500c1c1c1', 'hex'))).toBe(5);
  });

  it('is -1 for anything that does not begin like a message', () => {
    for (const h of ['', '9300', '93a1', '80', '0000ff', '9300cf0000000000000001', '9300cd00', '91', 'a3616263']) {
      expect(peekCallId(Buffer.from(h, 'hex')), h).toBe(-1);
    }
  });
});
