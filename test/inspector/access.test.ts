/** The inspector's access rules, one function at a time (the endpoints' refusals are in inspector.test.ts). */
import { describe, expect, it } from 'vitest';
import { hostAllowed, isLoopbackHost, makeToken, originAllowed, parseHost, tokenMatches } from '../../src/inspector/access.js';

describe('inspector access rules', () => {
  it('makes 32-character URL-safe tokens, different each time', () => {
    const a = makeToken();
    expect(a).toMatch(/^[\w-]{32}$/);
    expect(makeToken()).not.toBe(a);
  });

  it('compares tokens whatever their lengths', () => {
    expect(tokenMatches('a-token-of-some-length', 'a-token-of-some-length')).toBe(true);
    expect(tokenMatches('a-token-of-some-length', 'a-token-of-some-lengtH')).toBe(false);
    expect(tokenMatches('a-token-of-some-length', 'a')).toBe(false);
    expect(tokenMatches('a-token-of-some-length', '')).toBe(false);
    expect(tokenMatches('a-token-of-some-length', null)).toBe(false);
  });

  it.each([
    ['127.0.0.1:9100', { name: '127.0.0.1', port: 9100 }],
    ['[::1]:9100', { name: '::1', port: 9100 }],
    ['LocalHost:80', { name: 'localhost', port: 80 }],
    ['example.org', { name: 'example.org', port: null }],
    ['', null],
    ['a:b:c', null],
    ['[::1', null],
  ])('parses the Host header %j', (host, parsed) => {
    expect(parseHost(host)).toEqual(parsed);
  });

  it.each([
    ['127.0.0.1:9100', true],
    ['10.1.2.3:9100', true],
    ['[::1]:9100', true],
    ['localhost:9100', true],
    ['inspector.internal:9100', true], // allowed by name
    ['evil.example:9100', false], // a rebinding page's own name
    ['127.0.0.1:9101', false],
    ['127.0.0.1', false], // port 80 is not ours
    [undefined, false],
  ])('Host %j is %s for an inspector on port 9100', (host, ok) => {
    expect(hostAllowed(host, 9100, 80, ['Inspector.Internal'])).toBe(ok);
  });

  it('takes a Host without a port when the scheme default is the port', () => {
    expect(hostAllowed('127.0.0.1', 443, 443, [])).toBe(true);
  });

  it('lets a request without Origin through, and one with an Origin only from its own', () => {
    expect(originAllowed(undefined, '127.0.0.1:9100', 'http')).toBe(true);
    expect(originAllowed('http://127.0.0.1:9100', '127.0.0.1:9100', 'http')).toBe(true);
    expect(originAllowed('https://127.0.0.1:9100', '127.0.0.1:9100', 'http')).toBe(false);
    expect(originAllowed('http://evil.example', '127.0.0.1:9100', 'http')).toBe(false);
    expect(originAllowed('null', '127.0.0.1:9100', 'http')).toBe(false);
    expect(originAllowed('http://127.0.0.1:9100', undefined, 'http')).toBe(false);
  });

  it('knows loopback hosts', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.org']) expect(isLoopbackHost(h), h).toBe(false);
  });
});
