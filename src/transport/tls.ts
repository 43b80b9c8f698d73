/**
 * TLS for the stream transports (TCP, and Unix sockets too) and for `wss://` WebSocket addresses:
 * the options, what each side hands to node:tls, what an encrypted transport reports as its
 * `encryption`, and what a failed TLS connect tells the user to fix.
 *
 * Decisions, each explained where it is made:
 *
 * - The TLS handshake is bounded by `handshakeTimeout` (default 10 s), not by Node's 120 s: a server
 *   passes it to `tls.createServer`/`https.createServer` and drops a client that has not finished by
 *   then (`dropFailedClients`); a client's connect rejects when it runs out (`whenAccepted`; over
 *   `wss://`, ws's opening handshake timeout). The authentication handshake above starts afterwards, with its own
 *   `handshakeTimeout`, so a connection may take up to twice that to authenticate.
 * - TLS over a Unix socket is allowed (Node runs it as over TCP). The client then checks the server's
 *   certificate against `servername`, which defaults to `localhost` there.
 * - Under TLS 1.3 a client's handshake ends before the server has checked the client's certificate
 *   (RFC 8446 §2: the client's Certificate travels with its Finished message), so a client connect
 *   waits for the server's first word after the handshake (`whenAccepted`) before it resolves: a refused
 *   certificate then rejects the connect, instead of closing the transport just after it.
 */
import type { Socket } from 'node:net';
import { TLSSocket, type ConnectionOptions, type TlsOptions as NodeTlsOptions, type Server } from 'node:tls';
import { debuglog } from 'node:util';
import { AddressError, ConnectError, MpmError } from '../errors.js';
import { connectError, formatAddress, type Address } from './address.js';

const debug = debuglog('mpmanager');

/** PEM text: a string or its bytes. */
type Pem = string | Buffer;

/**
 * TLS for a transport: a thin subset of node:tls's options, passed through as they are to
 * `tls.createServer`/`https.createServer` (listening) and to `tls.connect`/ws's `WebSocket` (connecting).
 * Certificates and keys are PEM contents, not file names.
 */
export interface TlsOptions {
  /**
   * The private key of `cert` (PEM). A server needs one; a client gives one when the server asks for a
   * client certificate. Several keys (of several certificates, RSA and EC) may be given as an array.
   */
  key?: Pem | Pem[] | undefined;
  /** This side's certificate chain (PEM): the certificate, then any intermediates. Goes with `key`. */
  cert?: Pem | Pem[] | undefined;
  /**
   * The CA certificates (PEM) to trust instead of Node's bundled public CAs: for a client, those that
   * may have signed the server's certificate (a self-signed certificate is its own CA); for a server
   * with `requestCert`, those that may have signed a client's certificate.
   */
  ca?: Pem | Pem[] | undefined;
  /** Decrypts `key` when it is encrypted. Without it an encrypted key fails to load (no prompt). */
  passphrase?: string | undefined;
  /**
   * Server: ask each client for a certificate, and drop any client whose certificate is missing or not
   * signed by one of `ca` (which is then required). Default false: any client may connect, and the
   * authkey alone authenticates it.
   */
  requestCert?: boolean | undefined;
  /**
   * Client: the host name to send (SNI) and to check the server's certificate against. Default: the
   * address's host (for an IP address, the IP itself is checked and no name is sent); `localhost` for a
   * Unix socket.
   */
  servername?: string | undefined;
  /**
   * Client: refuse a server whose certificate is not signed by a trusted CA or is not for `servername`.
   * Default true. false turns off all server authentication, so anyone in the path can read and change
   * the traffic: for tests only.
   */
  rejectUnauthorized?: boolean | undefined;
}

/** Fields of `options` that are not undefined, for Node's option types (exactOptionalPropertyTypes). */
function defined<T extends object>(options: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

/**
 * What to fix when Node cannot load this side's TLS material (it throws these while building the
 * secure context), or null for other errors.
 */
function materialProblem(err: unknown): string | null {
  switch ((err as { code?: unknown } | null)?.code) {
    case 'ERR_OSSL_BAD_DECRYPT':
      return 'tls.key is encrypted, and tls.passphrase is missing or wrong';
    case 'ERR_OSSL_X509_KEY_VALUES_MISMATCH':
      return 'tls.key is not the private key of tls.cert';
    case 'ERR_OSSL_PEM_NO_START_LINE':
    case 'ERR_OSSL_PEM_BAD_END_LINE':
      return 'tls.key, tls.cert or tls.ca is not PEM text (-----BEGIN ...-----); pass the contents, not a file name';
    default:
      return null;
  }
}

/**
 * The options a server listening at `address` passes to `tls.createServer` or `https.createServer`.
 * Throws an `AddressError` saying what is missing.
 *
 * `handshakeTimeout` replaces Node's default of 120 s: a client that opens a connection and never
 * finishes its TLS handshake holds a socket until then.
 */
export function serverTlsOptions(address: Address, tls: TlsOptions, handshakeTimeout: number): NodeTlsOptions {
  const refuse = (why: string): never => {
    throw new AddressError(`cannot listen with TLS on ${formatAddress(address)}: ${why}`);
  };
  if (tls.key === undefined || tls.cert === undefined) {
    refuse('a TLS server needs tls.key and tls.cert (its private key and certificate, PEM)');
  }
  if (tls.requestCert === true && tls.ca === undefined) {
    // Without it, Node would accept any client certificate signed by a public CA.
    refuse('tls.requestCert needs tls.ca: the CA certificates that client certificates must be signed by');
  }
  const { key, cert, ca, passphrase } = tls;
  // rejectUnauthorized on a server acts only with requestCert: then it drops unverified clients.
  return { ...defined({ key, cert, ca, passphrase }), requestCert: tls.requestCert ?? false, rejectUnauthorized: true, handshakeTimeout };
}

/** Loads a server's secure context (`create`), turning a failure to load its material into an `AddressError`. */
export function loadServerTls<T>(address: Address, create: () => T): T {
  try {
    return create();
  } catch (err) {
    const why = materialProblem(err);
    if (why === null) throw err;
    const code = String((err as { code: unknown }).code);
    throw new AddressError(`cannot listen with TLS on ${formatAddress(address)}: ${why} (${code})`, { cause: err });
  }
}

/**
 * Makes a TLS server (`tls.Server`, `https.Server`) at `address` drop a client whose handshake failed or
 * ran out of time: Node reports such a client with 'tlsClientError' and, for the timeout at least, leaves
 * its socket open (Node 20, measured), which would undo `handshakeTimeout`.
 */
export function dropFailedClients(server: Server, address: Address): void {
  server.on('tlsClientError', (err, socket) => {
    debug('dropped a TLS client of %s: %s', formatAddress(address), err.message);
    socket.destroy();
  });
}

/**
 * The options a client connecting to `address` passes to `tls.connect` or ws's `WebSocket`. Throws a
 * `ConnectError` for a key without its certificate or the reverse, which Node accepts without a word.
 */
export function clientTlsOptions(
  address: Address,
  tls: TlsOptions,
): Pick<ConnectionOptions, 'key' | 'cert' | 'ca' | 'passphrase' | 'servername' | 'rejectUnauthorized'> {
  if ((tls.key === undefined) !== (tls.cert === undefined)) {
    const why = tls.key === undefined ? 'tls.cert was given without its tls.key' : 'tls.key was given without its tls.cert';
    throw new ConnectError(`cannot connect to ${formatAddress(address)}: ${why}`);
  }
  const { key, cert, ca, passphrase, servername } = tls;
  return { ...defined({ key, cert, ca, passphrase, servername }), rejectUnauthorized: tls.rejectUnauthorized ?? true };
}

/**
 * A transport's `encryption` over `socket`: null for a plain socket; for a TLS socket whose handshake is
 * done, `tls`, the protocol version and the cipher suite's IANA name (the same in every TLS library), as
 * in `tls TLSv1.3 TLS_AES_256_GCM_SHA384`.
 */
export function encryptionOf(socket: Socket): string | null {
  if (!(socket instanceof TLSSocket)) return null;
  return `tls ${socket.getProtocol() ?? 'unknown'} ${socket.getCipher().standardName}`;
}

function untrusted(at: string): string {
  return `the certificate of ${at} is not trusted: pass the CA that signed it in tls.ca (for a self-signed certificate, the certificate itself)`;
}
function refusedCert(at: string): string {
  return `${at} did not accept this client's certificate: pass one signed by a CA it trusts in tls.cert and tls.key`;
}
function notTls(at: string): string {
  return `${at} does not speak TLS: connect without tls, or give the server tls.key and tls.cert`;
}

/** What each TLS failure of a connect means, said about the server at `at`. */
const TLS_HINTS: Readonly<Record<string, (at: string, err: { reason?: unknown }) => string>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, (at: string, err: { reason?: unknown }) => string>, {
    // The server's certificate (OpenSSL's verification codes, as Node reports them).
    UNABLE_TO_VERIFY_LEAF_SIGNATURE: untrusted,
    UNABLE_TO_GET_ISSUER_CERT: untrusted,
    UNABLE_TO_GET_ISSUER_CERT_LOCALLY: untrusted,
    DEPTH_ZERO_SELF_SIGNED_CERT: untrusted,
    SELF_SIGNED_CERT_IN_CHAIN: untrusted,
    CERT_UNTRUSTED: untrusted,
    CERT_HAS_EXPIRED: (at: string) => `the certificate of ${at} has expired: the server needs a new one (or this machine's clock is wrong)`,
    CERT_NOT_YET_VALID: (at: string) => `the certificate of ${at} is not valid yet: check the clocks of both machines`,
    ERR_TLS_CERT_ALTNAME_INVALID: (at: string, err: { reason?: unknown }) =>
      `the certificate of ${at} is not for that host (${String(err.reason ?? 'its names do not match')}): ` +
      'connect by a name it lists, or give that name as tls.servername',
    // The server's verdict on this client's certificate, as TLS alerts (RFC 8446 §6.2).
    ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: (at: string) =>
      `${at} requires a client certificate: pass one signed by a CA it trusts in tls.cert and tls.key`,
    ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: refusedCert,
    ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: refusedCert,
    ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: refusedCert,
    // Plain bytes where a TLS record was expected (a plain mpmanager server sends its challenge first).
    ERR_SSL_WRONG_VERSION_NUMBER: notTls,
    ERR_SSL_PACKET_LENGTH_TOO_LONG: notTls,
  }),
);

/**
 * The error to report when a TLS connect to `address` failed with `err`; `secured` tells whether the TLS
 * handshake had completed. Other failures (`ECONNREFUSED`, ...) are `connectError`'s.
 */
export function tlsConnectError(address: Address, err: unknown, secured: boolean): Error {
  if (err instanceof MpmError) return err;
  const at = formatAddress(address);
  const code = (err as { code?: unknown } | null)?.code;
  const tag = typeof code === 'string' ? ` (${code})` : '';
  const material = materialProblem(err);
  if (material !== null) return new ConnectError(`cannot connect to ${at}: ${material}${tag}`, { cause: err });
  const hint = typeof code === 'string' ? TLS_HINTS[code] : undefined;
  if (hint !== undefined) return new ConnectError(`${hint(at, err as { reason?: unknown })}${tag}`, { cause: err });
  if (code === 'ECONNRESET' || code === 'EPIPE') return secured ? refusedAfterHandshake(address, err) : closedDuringHandshake(address, err);
  return connectError(address, err);
}

/**
 * The server dropped the connection right after a complete TLS handshake. Node's TLS server (and so an
 * mpmanager server) refuses a client certificate that way: it checks it after the handshake, and closes.
 */
function refusedAfterHandshake(address: Address, cause?: unknown): ConnectError {
  return new ConnectError(
    `${formatAddress(address)} closed the connection right after the TLS handshake: it did not accept this client's certificate; ` +
      'pass one signed by a CA it trusts in tls.cert and tls.key',
    cause === undefined ? {} : { cause },
  );
}

function closedDuringHandshake(address: Address, cause?: unknown): ConnectError {
  return new ConnectError(
    `${formatAddress(address)} closed the connection during the TLS handshake: is it listening with TLS (tls.key and tls.cert)?`,
    cause === undefined ? {} : { cause },
  );
}

/**
 * Settles when a client TLS connection, `socket` fresh from `tls.connect`, is ready for frames: resolves
 * once the handshake is done and the server accepted this client, rejects with a `ConnectError` saying
 * what to fix otherwise (the socket is then destroyed). The socket is left paused, with any early bytes
 * still in it.
 *
 * Accepted means: under TLS 1.3, which Node peers agree on, the client waits for the first thing the
 * server sends after its handshake, since the server checks a client certificate only then: a session
 * ticket (RFC 8446 §4.6.1; OpenSSL servers, Node's among them, send two right after accepting the
 * client's Finished message) or data. That costs half a round trip before the first frame. A server
 * that sends neither and waits for the client to speak first is taken as accepting after `timeoutMs`.
 * Under TLS 1.2 it is the completed handshake: a Node server checks the client's certificate just
 * after it, so there a refused certificate closes the transport right after the connect resolved.
 *
 * `timeoutMs` bounds the handshake from the TCP connect on; a server that does not complete it in time
 * (it is not a TLS server, or it is stalled) fails the connect.
 */
export function whenAccepted(socket: TLSSocket, address: Address, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let secured = false;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const settle = (error: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('secureConnect', onSecure);
      socket.off('session', onAccepted);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (error === null) {
        socket.pause(); // until the transport starts: nothing is read before there is a sink for it
        resolve();
      } else {
        socket.destroy();
        reject(error);
      }
    };
    const onConnect = () => {
      timer = setTimeout(() => {
        if (secured) settle(null);
        else {
          const at = formatAddress(address);
          const why = `did not complete the TLS handshake within ${timeoutMs} ms: is it a TLS server? (raise handshakeTimeout if the link is slow)`;
          settle(new ConnectError(`${at} ${why}`));
        }
      }, timeoutMs);
      timer.unref();
    };
    const onSecure = () => {
      secured = true;
      if (socket.getProtocol() !== 'TLSv1.3') settle(null);
      else socket.on('data', onData);
    };
    // Node emits 'session' from inside OpenSSL's read of the ticket, and a write made before that read
    // returns (in the handler, its microtasks or its next ticks) never reaches the server (Node 20,
    // measured): the connect resolves on the next turn of the event loop, outside it.
    const onAccepted = () => {
      if (secured) setImmediate(() => settle(null));
    };
    const onData = (chunk: Buffer) => {
      socket.pause();
      socket.unshift(chunk); // the transport's first bytes
      settle(null);
    };
    const onError = (err: Error) => settle(tlsConnectError(address, err, secured));
    const onClose = () => settle(secured ? refusedAfterHandshake(address) : closedDuringHandshake(address));
    socket.once('connect', onConnect);
    socket.once('secureConnect', onSecure);
    // Listening for 'session' from the start: Node reports tickets only to a socket that had a listener
    // before they arrived.
    socket.on('session', onAccepted);
    socket.on('error', onError);
    socket.once('close', onClose);
  });
}
