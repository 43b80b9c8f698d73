export { Connection, type ConnectionOptions, type HandshakeOptions, DEFAULT_HANDSHAKE_TIMEOUT_MS } from './connection.js';
export { Listener, Client, Pipe, arbitraryAddress, type ListenerOptions, type ClientOptions } from './listener.js';
