/** Opens and binds transports by address family. */
import type { Address } from './address.js';
import { addressFamily } from './address.js';
import { connectStream, listenStream, type StreamListenOptions } from './stream.js';
import { connectWebSocket, listenWebSocket } from './websocket.js';
import type { Transport, TransportOptions, TransportServer, WebSocketListenOptions } from './types.js';

export type { Transport, TransportServer, TransportOptions, FrameSink } from './types.js';
export type { StreamListenOptions } from './stream.js';
export type { TlsOptions } from './tls.js';

export function connectTransport(address: Address, options: TransportOptions = {}): Promise<Transport> {
  return addressFamily(address) === 'ws' ? connectWebSocket(address as string, options) : connectStream(address, options);
}

export function listenTransport(
  address: Address,
  options: StreamListenOptions & WebSocketListenOptions,
  onTransport: (transport: Transport) => void,
): Promise<TransportServer> {
  return addressFamily(address) === 'ws'
    ? listenWebSocket(address as string, options, onTransport)
    : listenStream(address, options, onTransport);
}
