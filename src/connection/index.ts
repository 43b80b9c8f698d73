export { Connection, securityOf, type ConnectionOptions, type HandshakeOptions, type EncryptionOptions, type SecurityOptions } from './connection.js';
export { Listener, Client, Pipe, ACCEPT_PLAINTEXT, arbitraryAddress, type ListenerOptions, type ClientOptions } from './listener.js';
