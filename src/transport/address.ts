/**
 * Addresses, written as in Python: `['127.0.0.1', 6000]` (TCP), a path (Unix socket), `'\0name'`
 * (Linux abstract socket), `'ws://host:port/path'` (WebSocket). Where a user types an address
 * (command lines), `host:port` is accepted too.
 */
import { AddressError } from '../errors.js';

export type TcpAddress = readonly [host: string, port: number];
/** A TCP `[host, port]` pair, a Unix socket path, `'\0name'` for an abstract socket, or a `ws://` URL. */
export type Address = TcpAddress | string;

export type AddressFamily = 'tcp' | 'unix' | 'ws';

export function addressFamily(address: Address): AddressFamily {
  if (Array.isArray(address)) return 'tcp';
  if (typeof address === 'string') {
    if (/^wss?:\/\//.test(address)) return 'ws';
    return 'unix';
  }
  throw new AddressError(`unsupported address ${String(address)}: use ['host', port], a socket path, '\\0name' or 'ws://host:port/path'`);
}

/** Checks an address given in code. */
export function checkAddress(address: unknown): Address {
  if (Array.isArray(address)) {
    const [host, port] = address as unknown[];
    if (address.length !== 2 || typeof host !== 'string' || typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
      throw new AddressError(`bad TCP address ${JSON.stringify(address)}: write it as ['host', port] with 0 <= port <= 65535`);
    }
    return [host, port];
  }
  if (typeof address === 'string' && address.length > 0) return address;
  throw new AddressError(`bad address ${JSON.stringify(address)}: use ['host', port], a socket path, '\\0name' or 'ws://host:port/path'`);
}

/**
 * Parses an address as a user types it: `HOST:PORT` (or `[v6]:PORT`) is TCP, `ws://...` is WebSocket,
 * a string starting with `@` or `\0` is an abstract socket, anything else is a socket path.
 */
export function parseAddress(text: string): Address {
  if (/^wss?:\/\//.test(text)) return text;
  if (text.startsWith('@')) return `\0${text.slice(1)}`;
  if (text.startsWith('\0') || text.includes('/')) return text;
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text);
  if (m) {
    const port = Number(m[3]);
    if (port > 65535) throw new AddressError(`bad port in '${text}': ports go up to 65535`);
    return [m[1] ?? m[2] ?? '', port];
  }
  return text;
}

/** Formats an address for people: `127.0.0.1:6000`, `/tmp/x.sock`, `@name`, `ws://...`. */
export function formatAddress(address: Address): string {
  if (Array.isArray(address)) {
    const [host, port] = address as TcpAddress;
    return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  }
  const text = address as string;
  return text.startsWith('\0') ? `@${text.slice(1)}` : text;
}

export function sameAddress(a: Address, b: Address): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a[0] === b[0] && a[1] === b[1];
  return a === b;
}
