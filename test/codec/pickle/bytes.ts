/** Builds raw pickle bytes for tests: numbers are single bytes, strings are ASCII, arrays are spliced in. */
import { Buffer } from 'node:buffer';
import { Op } from '../../../src/codec/pickle/index.js';

export type Part = number | string | Uint8Array | readonly Part[];

export function bytes(...parts: Part[]): Buffer {
  const out: number[] = [];
  const add = (p: Part): void => {
    if (typeof p === 'number') out.push(p);
    else if (typeof p === 'string') out.push(...Buffer.from(p, 'latin1'));
    else if (p instanceof Uint8Array) out.push(...p);
    else for (const q of p) add(q);
  };
  for (const p of parts) add(p);
  return Buffer.from(out);
}

/** PROTO 4, the body, STOP. */
export function p4(...body: Part[]): Buffer {
  return bytes(Op.PROTO, 4, ...body, Op.STOP);
}

/** SHORT_BINUNICODE of a str. */
export function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  return bytes(Op.SHORT_BINUNICODE, b.length, b);
}

/** STACK_GLOBAL for module.name. */
export function global(module: string, name: string): Buffer {
  return bytes(str(module), str(name), Op.STACK_GLOBAL);
}

export const hex = (h: string): Buffer => Buffer.from(h, 'hex');
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Wire vectors from cpython-wire.md §5.2/§5.3 and CPython 3.11.7 `pickle.dumps(..., 4)`. */
export const VECTORS = {
  /** `(None, 'create', ('dict',), {})` */
  create: '8004951900000000000000284e8c06637265617465948c04646963749485947d9474942e',
  /** `('7f3a2c1b4d80', '__getitem__', ('k',), {})` */
  getitem: '8004952900000000000000288c0c376633613263316234643830948c0b5f5f6765746974656d5f5f948c016b9485947d9474942e',
  /** `('#RETURN', None)` */
  returnNone: '8004950e000000000000008c072352455455524e944e86942e',
  /** `Token('Queue', ('127.0.0.1', 50000), '7f3a2c1b4d80')` */
  token:
    '80049554000000000000008c186d756c746970726f63657373696e672e6d616e6167657273948c05546f6b656e9493942981948c055175657565948c093132372e302e302e31944d50c386948c0c376633613263316234643830948794622e',
  /** `('#ERROR', KeyError('missing'))` */
  errorKeyError:
    '80049532000000000000008c06234552524f52948c086275696c74696e73948c084b65794572726f729493948c076d697373696e67948594529486942e',
  /** `('#RETURN', RebuildProxy(ListProxy, Token('list', ('127.0.0.1', 47001), '7f81b8c05300'), 'pickle', {}))` */
  returnListProxy:
    '80049592000000000000008c072352455455524e948c186d756c746970726f63657373696e672e6d616e6167657273948c0c52656275696c6450726f78799493942868018c094c69737450726f787994939468018c05546f6b656e9493942981948c046c697374948c093132372e302e302e31944d99b786948c0c376638316238633035333030948794628c067069636b6c65947d947494529486942e',
  /** `RebuildProxy(AutoProxy, Token('Queue', '/tmp/x.sock', 'ab'), 'pickle', {'exposed': ('get', 'put')})` */
  autoProxyUnix:
    '80049593000000000000008c186d756c746970726f63657373696e672e6d616e6167657273948c0c52656275696c6450726f78799493942868008c094175746f50726f787994939468008c05546f6b656e9493942981948c055175657565948c0b2f746d702f782e736f636b948c026162948794628c067069636b6c65947d948c076578706f736564948c03676574948c0370757494869473749452942e',
  /** `('#PROXY', (('__next__', 'send', 'throw', 'close'), Token('Iterator', ('127.0.0.1', 47001), '7f81b8beb240')))` */
  proxyReply:
    '80049589000000000000008c062350524f585994288c085f5f6e6578745f5f948c0473656e64948c057468726f77948c05636c6f73659474948c186d756c746970726f63657373696e672e6d616e6167657273948c05546f6b656e9493942981948c084974657261746f72948c093132372e302e302e31944d99b786948c0c37663831623862656232343094879462869486942e',
} as const;
