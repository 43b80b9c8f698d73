/**
 * Who may talk to the inspector. Every endpoint but `/healthz` needs the token, given as
 * `Authorization: Bearer <token>` or `?token=<token>` (EventSource and a first page load cannot set a
 * header); it is compared in constant time. The Host header must name this endpoint: an IP literal or
 * `localhost` (or a name the operator allowed) with the endpoint's port, so a DNS-rebinding page, whose
 * requests carry its own host name, is refused even before the token is checked. A request carrying an
 * Origin (browsers send one with cross-origin requests and every POST) must come from the inspector's own
 * origin.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';

/** A fresh token: 24 random bytes, URL-safe base64 (32 characters). */
export function makeToken(): string {
  return randomBytes(24).toString('base64url');
}

/** The token a request presents: its bearer header, else its `token` query parameter; null if none. */
export function presentedToken(req: IncomingMessage, url: URL): string | null {
  const header = req.headers.authorization;
  if (typeof header === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (m) return m[1] as string;
  }
  return url.searchParams.get('token');
}

/**
 * Whether `given` is `expected`, in time that does not depend on where they differ: both are hashed first,
 * so `timingSafeEqual` compares equal lengths and the length of the token does not leak either.
 */
export function tokenMatches(expected: string, given: string | null): boolean {
  if (given === null) return false;
  const a = createHash('sha256').update(expected, 'utf8').digest();
  const b = createHash('sha256').update(given, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** `name` and `port` of a Host header (`[::1]:8080`, `localhost:8080`, `example`), or null if malformed. */
export function parseHost(host: string | undefined): { name: string; port: number | null } | null {
  if (host === undefined || host === '') return null;
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(host);
  if (!m) return null;
  const name = (m[1] as string).toLowerCase();
  return { name: name.startsWith('[') ? name.slice(1, -1) : name, port: m[2] === undefined ? null : Number(m[2]) };
}

/**
 * Whether a request's Host header names this endpoint: the port is ours (or absent, with the scheme's
 * default port being ours), and the name is an IP literal, `localhost`, or one of `allowedHosts`. A name
 * outside these is how a DNS-rebinding attack looks.
 */
export function hostAllowed(host: string | undefined, port: number, defaultPort: number, allowedHosts: readonly string[]): boolean {
  const parsed = parseHost(host);
  if (parsed === null) return false;
  if ((parsed.port ?? defaultPort) !== port) return false;
  return isIP(parsed.name) !== 0 || parsed.name === 'localhost' || allowedHosts.some((h) => h.toLowerCase() === parsed.name);
}

/** Whether a request's Origin (if it has one) is this endpoint's own: `scheme://` + the Host it asked for. */
export function originAllowed(origin: string | undefined, host: string | undefined, scheme: 'http' | 'https'): boolean {
  if (origin === undefined) return true;
  if (host === undefined) return false;
  return origin === `${scheme}://${host.toLowerCase()}` || origin === `${scheme}://${host}`;
}

/** Whether a host to bind is loopback only (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.startsWith('[') ? host.slice(1, -1) : host;
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}
