/**
 * What a connection needs from the runtime it runs in: its cryptography (src/channel/crypto.ts) and its
 * codecs. Node's (./node-runtime.ts) has node:crypto and every codec; a browser's (src/browser.ts) has
 * WebCrypto and msgpack only. The connection code above is the same for both.
 */
import type { Codec } from '../codec/types.js';
import type { CryptoProvider } from '../channel/crypto.js';

export interface Runtime {
  readonly crypto: CryptoProvider;
  /** The codec a name stands for (`'msgpack'`, `'pickle'`, ...); throws `InvalidArgumentError` for one it lacks. */
  codec(name: string | Codec): Codec;
  /** For `serializer: 'auto'`: the codec a received frame is in. */
  detect(frame: Uint8Array): Codec;
}
