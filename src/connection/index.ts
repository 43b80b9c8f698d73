export { Connection, type ConnectionOptions, type HandshakeOptions } from './connection.js';
export { Listener, Client, Pipe, arbitraryAddress, type ListenerOptions, type ClientOptions } from './listener.js';
