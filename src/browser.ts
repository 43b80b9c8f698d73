/**
 * mpmanager in a browser (`mpmanager/browser`, and `mpmanager` itself under a bundler's `browser`
 * condition): managers that connect over the page's `WebSocket` to an mpmanager server, with the same
 * typed proxies as in Node. The handshake, the key exchange, the records and the native dialect are the
 * code Node runs (src/connection, src/channel, src/protocol); only the socket (the page's WebSocket) and
 * the cryptography (WebCrypto, or tweetnacl and @noble/hashes outside a secure context:
 * src/channel/web-crypto.ts) are the browser's. Nothing here or below imports a Node built-in; the
 * tests bundle this entry for the browser and fail on any.
 *
 * A browser speaks the native dialect only (a stock CPython manager's pickle is Node-only), cannot start a
 * server, and answers only '{sha256}'/'{sha384}' challenges (an mpmanager server's).
 */
import { Connection } from './connection/connection.js';
import type { ClientOptions } from './connection/listener.js';
import type { Runtime } from './connection/runtime.js';
import { webCrypto } from './channel/web-crypto.js';
import { checkPolicy, checkSuites } from './channel/policy.js';
import { msgpack } from './codec/msgpack.js';
import type { Codec } from './codec/types.js';
import { AddressError, InvalidArgumentError } from './errors.js';
import { CoreManager, type ManagerOptions as CoreManagerOptions, type ManagerPlatform } from './manager/core-manager.js';
import { SYNC_PROXYTYPES, withSyncMethods } from './manager/sync-methods.js';
import type { Address } from './transport/address.js';
import { BrowserWebSocketTransport, type BrowserSocketClass } from './transport/browser-websocket.js';

const crypto = webCrypto();

const BROWSER_RUNTIME: Runtime = {
  crypto,
  codec(name: string | Codec): Codec {
    if (name === 'msgpack' || name === msgpack) return msgpack;
    throw new InvalidArgumentError(`a browser speaks msgpack only, not ${typeof name === 'string' ? name : name.name}`);
  },
  detect: () => msgpack,
};

/** Opens an authenticated connection over the page's WebSocket (`dial` of ../protocol/native-client.ts). */
async function dial(address: Address, options: ClientOptions): Promise<Connection> {
  if (typeof address !== 'string' || !/^wss?:\/\//i.test(address)) {
    throw new AddressError(`a browser connects over WebSocket only: give a ws:// or wss:// address, not ${JSON.stringify(address)}`);
  }
  checkPolicy(options.encryption);
  checkSuites(options.encryptionSuites);
  const Socket = (globalThis as { WebSocket?: BrowserSocketClass }).WebSocket;
  if (Socket === undefined) throw new InvalidArgumentError('this runtime has no WebSocket class: mpmanager/browser runs in browsers');
  const transport = await BrowserWebSocketTransport.connect(address, { maxFrameSize: options.maxFrameSize }, Socket);
  const conn = new Connection(transport, { serializer: 'msgpack' }, BROWSER_RUNTIME);
  if (options.authkey !== undefined && options.authkey !== null) await conn.connectHandshake(options.authkey, options);
  return conn;
}

const BROWSER_MANAGER_PLATFORM: ManagerPlatform = {
  dial,
  envAuthkey: () => undefined,
  random: (n) => crypto.random(n),
};

/** A manager's options in a browser (TLS is the page's: use a `wss://` address). */
export type ManagerOptions = Omit<CoreManagerOptions, 'tls' | 'serializer'>;

/** `BaseManager` in a browser: `connect()` to an mpmanager server at a `ws://` or `wss://` address. */
export class BaseManager extends CoreManager {
  static override platform: ManagerPlatform = BROWSER_MANAGER_PLATFORM;

  constructor(address: string, options: ManagerOptions = {}) {
    super(address, options);
  }
}

/** `SyncManager` in a browser: the SyncManager typeids' typed creation methods (`dict()`, `Queue()`, ...). */
export class SyncManager extends withSyncMethods(BaseManager) {}
for (const [typeid, proxytype] of SYNC_PROXYTYPES) SyncManager.register(typeid, null, { proxytype, createMethod: typeid !== 'Iterator' });

/** Which cryptography this page has: `'webcrypto'` in a secure context, `'nacl'` otherwise. */
export const cryptoProvider: string = crypto.name;

export type { ManagerEvents } from './manager/core-manager.js';
export type { ReconnectOptions, ReconnectAttempt } from './protocol/reconnecting-client.js';
export type { CallOptions } from './protocol/client.js';
export type { EncryptionPolicy } from './channel/key-exchange.js';
export type { SuiteName } from './channel/suites.js';
export { Token } from './codec/token.js';
export { Tuple, tuple, Slice } from './codec/values.js';
export { ErrorCode, MpmError, ConnectError, ChannelError, ChannelFault, ConnectionLostError, ObjectGoneError, AuthenticationError, HandshakeTimeoutError, FrameTooLargeError, ConnectionClosedError, ProtocolError, CodecError, DecodeBudgetError, DigitLimitError, AddressError, InvalidArgumentError, TimeoutError, AbortError, NotExposedError, UnknownTypeidError, UnknownObjectError, StateError, RemoteError } from './errors.js';
export { PythonError, KeyError, IndexError, ValueError, PyTypeError, AttributeError, PyRuntimeError, StopIteration, PyAssertionError, PyNotImplementedError, ZeroDivisionError, Empty, Full, BrokenBarrierError } from './python-errors.js';
export * from '../proxies/index.js';
