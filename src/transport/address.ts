/**
 * Addresses, written as in Python: `['127.0.0.1', 6000]` (TCP), a path (Unix socket), `'\0name'`
 * (Linux abstract socket), `'ws://host:port/path'` (WebSocket). Where a user types an address
 * (command lines, config), `HOST:PORT`, `[v6]:PORT` and `@name` are accepted too (`parseAddress`).
 *
 * Both readers are strict: a string that is none of these forms is refused with an `AddressError` that
 * lists them, instead of becoming a Unix socket file named `localhost` or `foo:bar` in the working
 * directory (as CPython's `address_type()` would make it). Binding every interface is never implied: an
 * empty host is refused, and `0.0.0.0` or `::` must be written out.
 *
 * No Node built-in is imported here, so a browser build can read and format addresses with it too.
 *
 * Also here: what it means to fail at an address. `listenError` and `connectError` turn Node's system
 * errors (`EADDRINUSE`, `ECONNREFUSED`, `ENOENT`, ...) into errors that say where and what to do.
 */
import { AddressError, ConnectError, MpmError } from '../errors.js';

export type TcpAddress = readonly [host: string, port: number];
/** A TCP `[host, port]` pair, a Unix socket path, `'\0name'` for an abstract socket, or a `ws://` URL. */
export type Address = TcpAddress | string;

export type AddressFamily = 'tcp' | 'unix' | 'ws';

const MAX_PORT = 65535;
const WS_URL = /^wss?:\/\//;
/** Any other URL: `http://...`, `tcp://...` would otherwise pass for a path (they contain a `/`). */
const OTHER_URL = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
/** Windows named pipes (`\\.\pipe\name`), which Node opens as it opens Unix socket paths. */
const WINDOWS_PIPE = /^\\\\[.?]\\pipe\\./i;
/** A host name (RFC 1123 labels; `_` too, as container runtimes name hosts with it). */
const HOST_NAME = /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/** The forms a typed address may take, for messages. */
const TYPED_FORMS =
  'use HOST:PORT (127.0.0.1:5000), [::1]:5000, a path with a / for a Unix socket (./mgr.sock, /tmp/mgr.sock), ' +
  '@name for an abstract socket, or ws://host:port/path';
/** The forms an address in code may take, for messages. */
const CODE_FORMS =
  "use ['host', port] (['127.0.0.1', 5000]), a path with a / for a Unix socket ('./mgr.sock', '/tmp/mgr.sock'), " +
  "'\\0name' for an abstract socket, or 'ws://host:port/path'";

export function addressFamily(address: Address): AddressFamily {
  if (Array.isArray(address)) return 'tcp';
  if (typeof address === 'string') {
    if (WS_URL.test(address)) return 'ws';
    return 'unix';
  }
  throw new AddressError(`unsupported address ${String(address)}: ${CODE_FORMS}`);
}

const IPV4_PART = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${IPV4_PART}(?:\\.${IPV4_PART}){3}$`);

function isIPv4(host: string): boolean {
  return IPV4.test(host);
}

/** An IPv6 address (a zone, `%eth0`, allowed), checked by the URL parser, which Node and browsers share. */
function isIPv6(host: string): boolean {
  const [addr = '', zone] = host.split('%', 2);
  if (!addr.includes(':') || (zone !== undefined && !/^[\w.-]+$/.test(zone))) return false;
  try {
    new URL(`http://[${addr}]/`);
    return true;
  } catch {
    return false;
  }
}

/** Why `host` cannot be a TCP host, or null if it can be (a name, an IPv4 or an IPv6 address). */
function badHost(host: string): string | null {
  if (host === '') return 'no host: write 0.0.0.0 to listen on every interface, or 127.0.0.1 for this machine only';
  if (isIPv4(host) || isIPv6(host)) return null;
  if (/^[\d.]+$/.test(host)) return `${host} is not an IPv4 address`;
  if (/^\[.*\]$/.test(host)) return `write an IPv6 host without brackets: '${host.slice(1, -1)}'`;
  if (host.includes(':')) return `${host} is not an IPv6 address`;
  if (!HOST_NAME.test(host)) return `'${host}' is not a host name`;
  return null;
}

function validPort(port: unknown): port is number {
  return typeof port === 'number' && Number.isInteger(port) && port >= 0 && port <= MAX_PORT;
}

/** Why `url` cannot be a WebSocket address, or null if it can be. */
function badWsUrl(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'not a valid URL';
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') return 'not a ws:// or wss:// URL';
  if (parsed.hostname === '') return 'no host';
  if (parsed.username !== '' || parsed.password !== '') return 'credentials in a WebSocket address are not sent; use the authkey';
  return null;
}

/**
 * Checks an address given in code (`Listener.listen`, `Client`, managers) and returns it: `['host', port]`,
 * a path containing `/`, `'\0name'`, or a `ws://`/`wss://` URL. Anything else is an `AddressError`.
 */
export function checkAddress(address: unknown): Address {
  if (Array.isArray(address)) {
    const [host, port] = address as unknown[];
    if (address.length !== 2 || typeof host !== 'string' || !validPort(port)) {
      throw new AddressError(`bad TCP address ${JSON.stringify(address)}: write it as ['host', port] with 0 <= port <= 65535`);
    }
    const why = badHost(host);
    if (why !== null) throw new AddressError(`bad TCP address ${JSON.stringify(address)}: ${why}`);
    return [host, port];
  }
  if (typeof address === 'string') {
    if (WS_URL.test(address)) {
      const why = badWsUrl(address);
      if (why !== null) throw new AddressError(`bad WebSocket address '${address}' (${why}): write it as ws://host:port/path`);
      return address;
    }
    if (address.startsWith('\0')) {
      if (address.length === 1) throw new AddressError(`bad address '\\0': an abstract socket needs a name after the NUL; ${CODE_FORMS}`);
      return address;
    }
    if (OTHER_URL.test(address)) throw new AddressError(`bad address '${address}': only ws:// and wss:// URLs are addresses; ${CODE_FORMS}`);
    if (address.includes('/') || WINDOWS_PIPE.test(address)) return address;
    const typed = tryParse(address);
    if (typed !== null) {
      const hint = Array.isArray(typed) ? `['${typed[0]}', ${typed[1]}]` : `'${formatAddress(typed).replace('@', '\\0')}'`;
      throw new AddressError(`bad address '${address}': in code write ${hint}, or read the text with parseAddress()`);
    }
  }
  throw new AddressError(`bad address ${describe(address)}: ${CODE_FORMS}`);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** `parseAddress(text)`, or null where it would throw. */
function tryParse(text: string): Address | null {
  try {
    return parseAddress(text);
  } catch {
    return null;
  }
}

/**
 * Parses an address as a user types it (command lines, config):
 *
 * | typed | address |
 * |---|---|
 * | `127.0.0.1:5000`, `localhost:5000`, `0.0.0.0:5000` | `['127.0.0.1', 5000]`, ... (TCP; port 0 picks a free one) |
 * | `[::1]:5000`, `[::]:5000` | `['::1', 5000]`, ... |
 * | `./mgr.sock`, `/tmp/mgr.sock` (anything with a `/`) | the path (Unix socket) |
 * | `@name`, `\0name` | `'\0name'` (Linux abstract socket) |
 * | `ws://host:port/path`, `wss://...` | the URL (WebSocket) |
 *
 * Anything else (`localhost`, `5000`, `:5000`, `foo:bar`, `127.0.0.1:-1`) is an `AddressError` naming
 * these forms.
 */
export function parseAddress(text: string): Address {
  const refuse = (why?: string): never => {
    throw new AddressError(`'${text}' is not an address${why === undefined ? '' : ` (${why})`}: ${TYPED_FORMS}`);
  };
  if (typeof text !== 'string') return refuse('not a string');
  if (WS_URL.test(text)) {
    const why = badWsUrl(text);
    return why === null ? text : refuse(why);
  }
  if (text.startsWith('@') || text.startsWith('\0')) {
    return text.length > 1 ? `\0${text.slice(1)}` : refuse('an abstract socket needs a name');
  }
  if (OTHER_URL.test(text)) refuse('only ws:// and wss:// URLs are addresses');
  if (text.includes('/') || WINDOWS_PIPE.test(text)) return text;
  let host: string;
  let portText: string;
  const v6 = /^\[([^\]]*)\]:(.*)$/.exec(text);
  if (v6) {
    host = v6[1] as string;
    portText = v6[2] as string;
    if (!isIPv6(host)) refuse(`${host} is not an IPv6 address`);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return refuse(/^\d+$/.test(text) ? `a port alone: did you mean 127.0.0.1:${text}?` : undefined);
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':') && isIPv6(host)) refuse(`write an IPv6 host in brackets: [${host}]:${portText}`);
    const why = badHost(host);
    if (why !== null) refuse(why);
  }
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!validPort(port)) refuse(`the port must be a whole number from 0 to ${MAX_PORT}, not '${portText}'`);
  return [host, port];
}

/** Formats an address for people: `127.0.0.1:6000`, `[::1]:6000`, `/tmp/x.sock`, `@name`, `ws://...`. */
export function formatAddress(address: Address): string {
  if (Array.isArray(address)) {
    const [host, port] = address as TcpAddress;
    return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  }
  const text = address as string;
  return text.startsWith('\0') ? `@${text.slice(1)}` : text;
}

/**
 * A peer as logs show it: `127.0.0.1:53422` for TCP and WebSocket, and for Unix sockets (whose peers
 * have no address, `''`) `a local peer on <where it connected>`.
 */
export function formatPeer(peer: Address, local: Address): string {
  if (Array.isArray(peer) || peer !== '') return formatAddress(peer);
  return `a local peer on ${formatAddress(local)}`;
}

/**
 * Whether listening on `address` binds every interface (`0.0.0.0`, `::`, or such a WebSocket URL), so
 * any host that can reach this machine can connect. Command lines warn about it.
 */
export function isWildcardAddress(address: Address): boolean {
  let host: string;
  if (Array.isArray(address)) host = (address as TcpAddress)[0];
  else if (typeof address === 'string' && WS_URL.test(address)) {
    try {
      host = new URL(address).hostname.replace(/^\[|\]$/g, '');
    } catch {
      return false;
    }
  } else return false;
  return host === '' || (isIPv4(host) && host === '0.0.0.0') || (isIPv6(host) && /^[0:]+$/.test(host));
}

export function sameAddress(a: Address, b: Address): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a[0] === b[0] && a[1] === b[1];
  return a === b;
}

// ---- failing at an address ---------------------------------------------------------------------

export { ConnectError };

/** What each system error of a failed connect means, said to the user about the address `at`. */
const CONNECT_HINTS: Readonly<Record<string, (at: string) => string>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, (at: string) => string>, {
    ECONNREFUSED: (at: string) => `no manager listening at ${at}: is the server running?`,
    ENOENT: (at: string) => `no socket file at ${at}: is the server running, and is the path right?`,
    ETIMEDOUT: (at: string) => `${at} did not answer in time: check the host, the port and any firewall in between`,
    EHOSTUNREACH: (at: string) => `cannot reach ${at}: check the host and the network (a firewall, a VPN, a route)`,
    ENETUNREACH: (at: string) => `cannot reach ${at}: no network route to that host`,
    EACCES: (at: string) => `permission denied connecting to ${at}: this user may not open that socket`,
    EPERM: (at: string) => `permission denied connecting to ${at}: this user may not open that socket`,
    ENOTFOUND: (at: string) => `cannot connect to ${at}: the host name does not resolve; check its spelling`,
    EAI_AGAIN: (at: string) => `cannot connect to ${at}: the host name cannot be resolved now (DNS is unavailable)`,
    ECONNRESET: (at: string) => `${at} reset the connection while it was being opened: is it an mpmanager or multiprocessing server?`,
    ENOTSOCK: (at: string) => `${at} is not a socket: check the path`,
  }),
);

/** The error to report when connecting to `address` failed with `err` (a system error, or ws's). */
export function connectError(address: Address, err: unknown): Error {
  if (err instanceof MpmError) return err;
  const at = formatAddress(address);
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof code === 'string') {
    const hint = CONNECT_HINTS[code];
    if (hint !== undefined) return new ConnectError(`${hint(at)} (${code})`, { cause: err, syscallCode: code });
    // ws reports an HTTP reply that is not an upgrade, or a reply that is not HTTP, with these.
    if (code.startsWith('HPE_') || code.startsWith('WS_ERR_')) {
      return new ConnectError(`${at} is not a WebSocket manager endpoint: ${message}`, { cause: err });
    }
    return new ConnectError(`cannot connect to ${at}: ${message}`, { cause: err, syscallCode: code });
  }
  return new ConnectError(`cannot connect to ${at}: ${message}`, { cause: err });
}

/** A WebSocket endpoint that answered the upgrade with an HTTP status. */
export function handshakeRefused(url: string, status: number): ConnectError {
  const hint = status === 404 ? ': check the path' : status === 401 || status === 403 ? ': it wants HTTP authentication, which mpmanager does not send' : '';
  return new ConnectError(`${url} is not a WebSocket manager endpoint (HTTP ${status})${hint}`, { httpStatus: status });
}

/** The error to report when listening on `address` failed with `err` (a system error). */
export function listenError(address: Address, err: unknown): Error {
  const code = (err as { code?: unknown } | null)?.code;
  const at = formatAddress(address);
  const unix = addressFamily(address) === 'unix';
  let message: string;
  switch (code) {
    case 'EADDRINUSE':
      message = `${at} is in use by another process: stop it, or choose another address`;
      break;
    case 'EADDRNOTAVAIL':
      message = `cannot listen on ${at}: the host is not an address of this machine (use one of its addresses, 127.0.0.1, or 0.0.0.0 for every interface)`;
      break;
    case 'EACCES':
    case 'EPERM':
      message = unix
        ? `cannot create the socket ${at}: permission denied; choose a directory this user can write to`
        : `cannot listen on ${at}: permission denied (ports below 1024 need privileges); choose a port from 1024 up`;
      break;
    case 'ENOENT':
      // (libuv reports a missing directory as EACCES: uv_pipe_bind turns ENOENT into it; the stream
      // transport tells the two apart.)
      message = `cannot create the socket ${at}: its directory does not exist`;
      break;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      message = `cannot listen on ${at}: the host name does not resolve`;
      break;
    default:
      return err instanceof Error ? err : new Error(String(err));
  }
  return new AddressError(`${message} (${code})`, { cause: err });
}

