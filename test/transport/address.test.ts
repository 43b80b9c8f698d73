/**
 * Addresses written as in Python and as users type them: every accepted and every refused form, the
 * wildcard check, and what failing at an address is reported as (connect and listen errors, table-driven
 * from synthetic system errors; test/transport/stream.test.ts and connect-errors.test.ts provoke the
 * real ones).
 */
import { describe, expect, it } from 'vitest';
import { AddressError, MpmError } from '../../src/errors.js';
import {
  ConnectError,
  addressFamily,
  checkAddress,
  connectError,
  formatAddress,
  formatPeer,
  handshakeRefused,
  isWildcardAddress,
  listenError,
  parseAddress,
  sameAddress,
  type Address,
} from '../../src/transport/address.js';

/** Every form the message lists, so that a refusal tells the user what to type instead. */
const TYPED_FORMS = /use HOST:PORT \(127\.0\.0\.1:5000\), \[::1\]:5000, a path with a \/ for a Unix socket \(\.\/mgr\.sock, \/tmp\/mgr\.sock\), @name for an abstract socket, or ws:\/\/host:port\/path$/;

describe('parseAddress (what users type)', () => {
  it.each<[string, Address]>([
    ['127.0.0.1:6000', ['127.0.0.1', 6000]],
    ['localhost:0', ['localhost', 0]],
    ['my-host.example.org:65535', ['my-host.example.org', 65535]],
    ['compose_service:5000', ['compose_service', 5000]],
    ['0.0.0.0:5000', ['0.0.0.0', 5000]],
    ['[::1]:6000', ['::1', 6000]],
    ['[::]:5000', ['::', 5000]],
    ['[fe80::1%eth0]:5000', ['fe80::1%eth0', 5000]],
    ['127.0.0.1:05000', ['127.0.0.1', 5000]],
    ['/tmp/mpm.sock', '/tmp/mpm.sock'],
    ['./relative/mpm.sock', './relative/mpm.sock'],
    ['./mpm.sock', './mpm.sock'],
    ['./host:5000', './host:5000'],
    ['@mpm-name', '\0mpm-name'],
    ['\0mpm-name', '\0mpm-name'],
    ['ws://127.0.0.1:8080/mpm', 'ws://127.0.0.1:8080/mpm'],
    ['ws://[::1]:8080/', 'ws://[::1]:8080/'],
    ['wss://example.org/mpm', 'wss://example.org/mpm'],
    ['\\\\.\\pipe\\mpm', '\\\\.\\pipe\\mpm'],
  ])('%j -> %j', (text, address) => {
    expect(parseAddress(text)).toEqual(address);
  });

  it.each<[string, RegExp | null]>([
    // Each of these used to become a Unix socket file of that name in the working directory...
    ['localhost', null],
    ['mpm.sock', null],
    ['foo:bar', /the port must be a whole number from 0 to 65535, not 'bar'/],
    ['127.0.0.1:-1', /not '-1'/],
    // ...or Node's "The argument 'options' is invalid", or every interface without saying so.
    ['5000', /a port alone: did you mean 127\.0\.0\.1:5000\?/],
    [':5000', /no host: write 0\.0\.0\.0 to listen on every interface, or 127\.0\.0\.1 for this machine only/],
    ['127.0.0.1:70000', /not '70000'/],
    ['127.0.0.1:', /not ''/],
    ['127.0.0.1:5000.5', /not '5000\.5'/],
    ['127.0.0.1: 5000', /not ' 5000'/],
    ['127.0.0.1:+5000', /not '\+5000'/],
    ['999.1.1.1:80', /999\.1\.1\.1 is not an IPv4 address/],
    ['1.2.3:80', /1\.2\.3 is not an IPv4 address/],
    ['a b:80', /'a b' is not a host name/],
    ['-bad-:80', /'-bad-' is not a host name/],
    ['::1:5000', /write an IPv6 host in brackets: \[::1\]:5000/],
    ['[zz]:80', /zz is not an IPv6 address/],
    ['[::1]', null],
    ['@', /an abstract socket needs a name/],
    ['\0', /an abstract socket needs a name/],
    ['ws://:80/', /not a valid URL/],
    ['ws://user:pw@host:80/', /credentials in a WebSocket address are not sent/],
    ['http://127.0.0.1:80/', /only ws:\/\/ and wss:\/\/ URLs are addresses/],
    ['tcp://127.0.0.1:5000', /only ws:\/\/ and wss:\/\/ URLs are addresses/],
    ['', null],
    [' 127.0.0.1:5000', /' 127\.0\.0\.1' is not a host name/],
  ])('refuses %j with an AddressError naming the accepted forms', (text, detail) => {
    let error: unknown;
    try {
      parseAddress(text);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(AddressError);
    const message = (error as AddressError).message;
    expect(message.startsWith(`'${text}' is not an address`)).toBe(true);
    expect(message).toMatch(TYPED_FORMS);
    if (detail !== null) expect(message).toMatch(detail);
    expect((error as AddressError).code).toBe('MPM_ERR_ADDRESS');
  });
});

describe('formatAddress (for people)', () => {
  it.each([
    [['127.0.0.1', 6000], '127.0.0.1:6000'],
    [['::1', 6000], '[::1]:6000'],
    ['/tmp/mpm.sock', '/tmp/mpm.sock'],
    ['\0mpm-name', '@mpm-name'],
    ['ws://127.0.0.1:8080/mpm', 'ws://127.0.0.1:8080/mpm'],
  ] as const)('%j -> %s, and parses back', (address, text) => {
    expect(formatAddress(address)).toBe(text);
    expect(parseAddress(text)).toEqual(address);
  });

  it('formats peers: an address, or for a Unix socket peer (which has none) where it connected', () => {
    expect(formatPeer(['127.0.0.1', 53422], ['127.0.0.1', 5000])).toBe('127.0.0.1:53422');
    expect(formatPeer(['::1', 53422], ['::1', 5000])).toBe('[::1]:53422');
    expect(formatPeer('', '/tmp/mgr.sock')).toBe('a local peer on /tmp/mgr.sock');
    expect(formatPeer('', '\0mgr')).toBe('a local peer on @mgr');
  });
});

describe('checkAddress (addresses in code)', () => {
  it.each<[unknown, Address]>([
    [['127.0.0.1', 6000], ['127.0.0.1', 6000]],
    [['localhost', 0], ['localhost', 0]],
    [['::1', 6000], ['::1', 6000]],
    [['0.0.0.0', 6000], ['0.0.0.0', 6000]],
    ['/tmp/x.sock', '/tmp/x.sock'],
    ['./x.sock', './x.sock'],
    ['\0name', '\0name'],
    ['ws://127.0.0.1:0/mpm', 'ws://127.0.0.1:0/mpm'],
    ['wss://example.org/mpm', 'wss://example.org/mpm'],
  ])('accepts %j', (address, checked) => {
    expect(checkAddress(address)).toEqual(checked);
  });

  it.each<[unknown, RegExp]>([
    [['127.0.0.1'], /write it as \['host', port\] with 0 <= port <= 65535/],
    [['127.0.0.1', 6000, 1], /write it as \['host', port\]/],
    [['127.0.0.1', '6000'], /write it as \['host', port\]/],
    [[6000, '127.0.0.1'], /write it as \['host', port\]/],
    [['127.0.0.1', -1], /0 <= port <= 65535/],
    [['127.0.0.1', 65536], /0 <= port <= 65535/],
    [['127.0.0.1', 1.5], /0 <= port <= 65535/],
    [['', 5000], /no host: write 0\.0\.0\.0 to listen on every interface/],
    [['[::1]', 5000], /write an IPv6 host without brackets: '::1'/],
    [['a b', 5000], /'a b' is not a host name/],
    ['localhost', /bad address 'localhost': use \['host', port\]/],
    ['mpm.sock', /a path with a \/ for a Unix socket/],
    ['127.0.0.1:5000', /in code write \['127\.0\.0\.1', 5000\], or read the text with parseAddress\(\)/],
    ['@name', /in code write '\\0name'/],
    ['\0', /an abstract socket needs a name/],
    ['ws://:1/', /bad WebSocket address/],
    ['http://127.0.0.1:80/', /only ws:\/\/ and wss:\/\/ URLs are addresses/],
    ['', /bad address ''/],
    [42, /bad address 42/],
    [null, /bad address null/],
    [{ host: '127.0.0.1', port: 6000 }, /bad address \{"host":"127\.0\.0\.1","port":6000\}/],
  ])('refuses %j with AddressError', (address, message) => {
    expect(() => checkAddress(address)).toThrow(AddressError);
    expect(() => checkAddress(address)).toThrow(message);
  });
});

describe('isWildcardAddress', () => {
  it.each<[Address, boolean]>([
    [['0.0.0.0', 5000], true],
    [['::', 5000], true],
    [['0:0:0:0:0:0:0:0', 5000], true],
    ['ws://0.0.0.0:8080/mpm', true],
    ['ws://[::]:8080/mpm', true],
    [['127.0.0.1', 5000], false],
    [['::1', 5000], false],
    [['localhost', 5000], false],
    [['10.0.0.0', 5000], false],
    ['ws://127.0.0.1:8080/mpm', false],
    ['/tmp/0.0.0.0', false],
    ['\0name', false],
  ])('%j -> %s', (address, wildcard) => {
    expect(isWildcardAddress(address)).toBe(wildcard);
  });
});

describe('addressFamily and sameAddress', () => {
  it('tells the families apart', () => {
    expect(addressFamily(['127.0.0.1', 1])).toBe('tcp');
    expect(addressFamily('/tmp/x')).toBe('unix');
    expect(addressFamily('\0x')).toBe('unix');
    expect(addressFamily('ws://h:1/')).toBe('ws');
    expect(() => addressFamily(7 as unknown as string)).toThrow(AddressError);
  });

  it('compares addresses by value', () => {
    expect(sameAddress(['127.0.0.1', 1], ['127.0.0.1', 1])).toBe(true);
    expect(sameAddress(['127.0.0.1', 1], ['127.0.0.1', 2])).toBe(false);
    expect(sameAddress('/a', '/a')).toBe(true);
    expect(sameAddress('/a', ['/a', 0])).toBe(false);
  });
});

/** A system error as Node makes them. */
function sysError(code: string, message = `connect ${code}`): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code, errno: -1, syscall: 'connect' });
}

describe('connectError: what a failed connect is reported as', () => {
  it.each<[Address, string, RegExp]>([
    [['127.0.0.1', 5000], 'ECONNREFUSED', /^no manager listening at 127\.0\.0\.1:5000: is the server running\? \(ECONNREFUSED\)$/],
    [['::1', 5000], 'ECONNREFUSED', /^no manager listening at \[::1\]:5000: is the server running\? \(ECONNREFUSED\)$/],
    ['\0mgr', 'ECONNREFUSED', /^no manager listening at @mgr: is the server running\? \(ECONNREFUSED\)$/],
    ['/tmp/x.sock', 'ENOENT', /^no socket file at \/tmp\/x\.sock: is the server running, and is the path right\? \(ENOENT\)$/],
    [['10.9.9.9', 5000], 'ETIMEDOUT', /^10\.9\.9\.9:5000 did not answer in time: check the host, the port and any firewall in between \(ETIMEDOUT\)$/],
    [['10.9.9.9', 5000], 'EHOSTUNREACH', /^cannot reach 10\.9\.9\.9:5000: check the host and the network .* \(EHOSTUNREACH\)$/],
    [['10.9.9.9', 5000], 'ENETUNREACH', /^cannot reach 10\.9\.9\.9:5000: no network route to that host \(ENETUNREACH\)$/],
    ['/run/mgr.sock', 'EACCES', /^permission denied connecting to \/run\/mgr\.sock: this user may not open that socket \(EACCES\)$/],
    [['no-such-host.invalid', 5000], 'ENOTFOUND', /^cannot connect to no-such-host\.invalid:5000: the host name does not resolve; check its spelling \(ENOTFOUND\)$/],
    [['127.0.0.1', 5000], 'ECONNRESET', /^127\.0\.0\.1:5000 reset the connection while it was being opened/],
    [['127.0.0.1', 5000], 'EWHATEVER', /^cannot connect to 127\.0\.0\.1:5000: connect EWHATEVER$/],
  ])('%j with %s', (address, code, message) => {
    const cause = sysError(code);
    const err = connectError(address, cause) as ConnectError;
    expect(err).toBeInstanceOf(ConnectError);
    expect(err).toBeInstanceOf(MpmError);
    expect(err.name).toBe('ConnectError');
    expect(err.code).toBe('MPM_ERR_CONNECT');
    expect(err.syscallCode).toBe(code);
    expect(err.httpStatus).toBeUndefined();
    expect(err.cause).toBe(cause);
    expect(err.message).toMatch(message);
  });

  it('reports a reply that is not HTTP as no WebSocket endpoint, and leaves mpmanager errors alone', () => {
    const parse = Object.assign(new Error('Parse Error: Expected HTTP/'), { code: 'HPE_INVALID_CONSTANT' });
    const err = connectError('ws://127.0.0.1:5000/mpm', parse) as ConnectError;
    expect(err.message).toBe('ws://127.0.0.1:5000/mpm is not a WebSocket manager endpoint: Parse Error: Expected HTTP/');
    expect(err.syscallCode).toBeUndefined();
    const own = new AddressError('x');
    expect(connectError(['127.0.0.1', 1], own)).toBe(own);
    expect(connectError(['127.0.0.1', 1], new Error('odd')).message).toBe('cannot connect to 127.0.0.1:1: odd');
  });

  it.each<[number, RegExp]>([
    [404, /^ws:\/\/h:1\/mpm is not a WebSocket manager endpoint \(HTTP 404\): check the path$/],
    [401, /^ws:\/\/h:1\/mpm is not a WebSocket manager endpoint \(HTTP 401\): it wants HTTP authentication/],
    [403, /\(HTTP 403\): it wants HTTP authentication/],
    [500, /^ws:\/\/h:1\/mpm is not a WebSocket manager endpoint \(HTTP 500\)$/],
  ])('an upgrade answered with HTTP %d', (status, message) => {
    const err = handshakeRefused('ws://h:1/mpm', status);
    expect(err).toBeInstanceOf(ConnectError);
    expect(err.code).toBe('MPM_ERR_CONNECT');
    expect(err.httpStatus).toBe(status);
    expect(err.message).toMatch(message);
  });
});

describe('listenError: what a failed listen is reported as', () => {
  it.each<[Address, string, RegExp]>([
    [['127.0.0.1', 5000], 'EADDRINUSE', /^127\.0\.0\.1:5000 is in use by another process: stop it, or choose another address \(EADDRINUSE\)$/],
    ['\0mgr', 'EADDRINUSE', /^@mgr is in use by another process/],
    [['10.9.9.9', 5000], 'EADDRNOTAVAIL', /^cannot listen on 10\.9\.9\.9:5000: the host is not an address of this machine/],
    [['127.0.0.1', 80], 'EACCES', /^cannot listen on 127\.0\.0\.1:80: permission denied \(ports below 1024 need privileges\)/],
    ['/run/mgr.sock', 'EACCES', /^cannot create the socket \/run\/mgr\.sock: permission denied; choose a directory this user can write to/],
    ['/no/such/dir/mgr.sock', 'ENOENT', /^cannot create the socket \/no\/such\/dir\/mgr\.sock: its directory does not exist/],
    [['no-such-host.invalid', 5000], 'ENOTFOUND', /^cannot listen on no-such-host\.invalid:5000: the host name does not resolve/],
  ])('%j with %s is an AddressError', (address, code, message) => {
    const cause = sysError(code, `listen ${code}`);
    const err = listenError(address, cause);
    expect(err).toBeInstanceOf(AddressError);
    expect(err.message).toMatch(message);
    expect(err.cause).toBe(cause);
  });

  it('passes an error it has nothing to add to through', () => {
    const odd = sysError('EWHATEVER');
    expect(listenError(['127.0.0.1', 1], odd)).toBe(odd);
  });
});
