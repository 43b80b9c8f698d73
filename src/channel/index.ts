/** The encrypted channel: key exchange after CPython's handshake, then sealed records (see each module's table). */
export { naclCrypto, type ChannelCrypto, type CryptoProvider, type KeyPair } from './crypto.js';
export { nodeCrypto, NODE_CRYPTO } from './node-crypto.js';
export { KeySchedule, nextKey } from './key-schedule.js';
export { ServerKeyExchange, clientKeyExchange, ENCRYPTION_POLICIES, type EncryptionPolicy, type KeyExchangeResult } from './key-exchange.js';
export { SealedTransport, MAX_RECORD_DATA, MAX_RECORD_FRAME, type ChannelKeys, type KeyUpdatePolicy } from './sealed.js';
export { NODE_SUITES, SUITE_NAMES, SuiteId, type SuiteName } from './suites.js';
export { DEFAULT_SERVER_POLICY, checkPolicy, checkSuites, clientPolicy, isLocalAddress } from './policy.js';
