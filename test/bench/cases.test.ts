/**
 * The benchmark's case table (bench/cases.ts) is well formed: the rows issue 17 names exist, each says
 * what its baseline is, and units point the way `ratio` assumes. No timing is measured or asserted here.
 */
import { describe, expect, it } from 'vitest';
import { cases, lowerIsBetter, type Transport } from '../../bench/cases.js';

const all = cases({ quick: true });
const transportsOf = (c: (typeof all)[number]): readonly Transport[] => c.transports ?? ['tcp', 'unix'];

describe('bench cases', () => {
  it('has the rows the benchmark reports against each baseline', () => {
    const names = new Set(all.map((c) => c.name));
    for (const name of [
      'call-latency',
      'pipelined-throughput',
      'bulk-16mib',
      'bare-pingpong',
      'call-latency-limit',
      'server-cpu-per-call',
      'peer-capnweb-pipelined',
      'peer-capnweb-latency',
      'encrypted-pipelined-throughput',
      'encrypted-bulk-16mib',
      'redis-queue-pair',
      'redis-dict-get',
      'inspector-pipelined-throughput',
    ]) {
      expect(names, name).toContain(name);
    }
  });

  it('names each baseline', () => {
    const against = Object.fromEntries(all.map((c) => [c.name, c.against ?? 'cpython']));
    expect(against).toMatchObject({
      'call-latency': 'cpython',
      'call-latency-limit': 'bare-node',
      'server-cpu-per-call': 'cpython',
      'peer-capnweb-pipelined': 'capnweb',
      'peer-capnweb-latency': 'capnweb',
      'encrypted-pipelined-throughput': 'plaintext',
      'redis-dict-get': 'direct-redis',
      'inspector-pipelined-throughput': 'inspector-off',
    });
  });

  it('gives each row one case per transport and variant', () => {
    const rows = all.flatMap((c) => transportsOf(c).map((t) => `${c.name}/${t}${c.variant ?? ''}`));
    expect(new Set(rows).size).toBe(rows.length);
  });

  it('runs the peer rows over ws:// and TCP, and only they use the ws transport', () => {
    for (const c of all) {
      const ws = transportsOf(c).includes('ws');
      expect(ws, c.name).toBe(c.name.startsWith('peer-capnweb-'));
      if (ws) expect(transportsOf(c)).toContain('tcp');
    }
  });

  it('measures the limit against the bare Node round trip on the same transport', () => {
    const limit = all.find((c) => c.name === 'call-latency-limit');
    for (const t of ['tcp', 'unix'] as const) {
      expect(limit?.baseline(t)).toMatchObject({ client: 'bare-node', server: 'ours', target: 'bare-echo', procs: 1 });
      expect(limit?.ours(t)).toMatchObject({ client: 'node', server: 'ours', target: 'manager', procs: 1 });
    }
  });

  it('reads server CPU only where the server is one of ours or CPython, and counts it lower-is-better', () => {
    for (const c of all.filter((x) => x.reduce === 'server-cpu')) {
      expect(lowerIsBetter(c.unit), c.name).toBe(true);
      for (const t of transportsOf(c)) {
        expect(['ours', 'cpython']).toContain(c.ours(t).server);
        expect(['ours', 'cpython']).toContain(c.baseline(t).server);
      }
    }
  });

  it('points units the way ratio assumes', () => {
    expect(lowerIsBetter('µs')).toBe(true);
    expect(lowerIsBetter('µs cpu/call')).toBe(true);
    expect(lowerIsBetter('KiB/object')).toBe(true);
    expect(lowerIsBetter('calls/s')).toBe(false);
    expect(lowerIsBetter('MB/s')).toBe(false);
  });
});
