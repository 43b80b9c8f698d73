/** Node's `Runtime` (./runtime.ts): node:crypto, and every codec (pickle for stock CPython peers). */
import { getCodec, isPickleFrame, msgpack, pickle } from '../codec/index.js';
import { NODE_CRYPTO } from '../channel/node-crypto.js';
import type { Runtime } from './runtime.js';

export const NODE_RUNTIME: Runtime = {
  crypto: NODE_CRYPTO,
  codec: getCodec,
  detect: (frame) => (isPickleFrame(frame) ? pickle : msgpack),
};
