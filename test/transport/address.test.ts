/** Addresses written as in Python, and as users type them. */
import { describe, expect, it } from 'vitest';
import { AddressError } from '../../src/errors.js';
import { addressFamily, checkAddress, formatAddress, parseAddress, sameAddress } from '../../src/transport/address.js';

describe('parseAddress (what users type)', () => {
  it.each([
    ['127.0.0.1:6000', ['127.0.0.1', 6000]],
    ['localhost:0', ['localhost', 0]],
    ['0.0.0.0:65535', ['0.0.0.0', 65535]],
    ['[::1]:6000', ['::1', 6000]],
    [':6000', ['', 6000]],
    ['/tmp/mpm.sock', '/tmp/mpm.sock'],
    ['./relative/mpm.sock', './relative/mpm.sock'],
    ['mpm.sock', 'mpm.sock'],
    ['@mpm-name', '\0mpm-name'],
    ['\0mpm-name', '\0mpm-name'],
    ['ws://127.0.0.1:8080/mpm', 'ws://127.0.0.1:8080/mpm'],
    ['wss://example.org/mpm', 'wss://example.org/mpm'],
  ])('%j -> %j', (text, address) => {
    expect(parseAddress(text)).toEqual(address);
  });

  it('refuses a port above 65535', () => {
    expect(() => parseAddress('127.0.0.1:70000')).toThrow(AddressError);
    expect(() => parseAddress('127.0.0.1:70000')).toThrow(/ports go up to 65535/);
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
});

describe('checkAddress (addresses in code)', () => {
  it('accepts what Python accepts', () => {
    expect(checkAddress(['127.0.0.1', 6000])).toEqual(['127.0.0.1', 6000]);
    expect(checkAddress('/tmp/x.sock')).toBe('/tmp/x.sock');
    expect(checkAddress('\0name')).toBe('\0name');
  });

  it.each([
    [['127.0.0.1']],
    [['127.0.0.1', 6000, 1]],
    [['127.0.0.1', '6000']],
    [[6000, '127.0.0.1']],
    [['127.0.0.1', -1]],
    [['127.0.0.1', 65536]],
    [['127.0.0.1', 1.5]],
    [''],
    [42],
    [null],
    [{ host: '127.0.0.1', port: 6000 }],
  ])('refuses %j with AddressError', (address) => {
    expect(() => checkAddress(address)).toThrow(AddressError);
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
