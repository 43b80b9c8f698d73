/**
 * `/metrics`: the server's figures in Prometheus's text format, through prom-client, in a registry of the
 * inspector's own (not prom-client's global one, so an application's metrics and two servers in one
 * process stay apart). Every figure is read when Prometheus scrapes, from `Server.view` and its
 * `Activity`; nothing is updated per call here.
 *
 *   mpmanager_connections{dialect}                       gauge      cpython, native, browser
 *   mpmanager_objects{typeid,backend}                    gauge      backend: memory, redis
 *   mpmanager_calls_total{typeid,method,outcome}         counter    outcome: ok, error
 *   mpmanager_call_duration_seconds{typeid,method}       histogram  buckets: DURATION_BUCKETS (src/server/activity.ts)
 *   mpmanager_calls_blocked{typeid}                      gauge      calls not finished yet (waiting in get, acquire, ...)
 *   mpmanager_queue_depth{name}                          gauge      shared (Redis) queues, by their registered name
 *   mpmanager_auth_failures_total                        counter    handshakes that failed authentication
 *   mpmanager_received_bytes_total, _sent_bytes_total    counter    frame payload bytes
 *   + prom-client's default metrics (event-loop lag, GC, heap, CPU, file descriptors)
 *
 * Labels are bounded: typeids come from the registry, methods from exposed lists (others are `(other)`),
 * queue names from the operator's `--shared` list. Object ids and peer addresses are never labels.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import { DURATION_BUCKETS } from '../server/activity.js';
import type { Server } from '../server/server.js';
import { sharedSizes } from './shared.js';

const QUEUE_TYPEIDS: ReadonlySet<string> = new Set(['Queue', 'JoinableQueue']);

/** Makes the registry `/metrics` answers from. */
export function serverMetrics(server: Server): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  new Gauge({
    name: 'mpmanager_connections',
    help: 'Connections served now, by dialect (cpython, native, browser).',
    labelNames: ['dialect'],
    registers: [registry],
    collect() {
      this.reset();
      const activity = server.view.activity;
      const counts: Record<string, number> = { cpython: 0, native: 0, browser: 0 };
      for (const c of activity?.connections ?? []) counts[c.dialect] = (counts[c.dialect] ?? 0) + 1;
      for (const [dialect, n] of Object.entries(counts)) this.set({ dialect }, n);
    },
  });

  new Gauge({
    name: 'mpmanager_objects',
    help: 'Objects hosted now, by typeid and where their state lives (memory, redis).',
    labelNames: ['typeid', 'backend'],
    registers: [registry],
    collect() {
      this.reset();
      const counts = new Map<string, { typeid: string; backend: string; n: number }>();
      for (const o of server.view.objects()) {
        const backend = o.shared === null ? 'memory' : 'redis';
        const key = `${o.typeid}\u0000${backend}`;
        const entry = counts.get(key) ?? { typeid: o.typeid, backend, n: 0 };
        entry.n++;
        counts.set(key, entry);
      }
      for (const { typeid, backend, n } of counts.values()) this.set({ typeid, backend }, n);
    },
  });

  new Counter({
    name: 'mpmanager_calls_total',
    help: 'Calls finished, by typeid, method and outcome (ok, error); server operations under typeid "(server)".',
    labelNames: ['typeid', 'method', 'outcome'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [typeid, byMethod] of server.view.activity?.calls ?? []) {
        for (const [method, f] of byMethod) {
          this.inc({ typeid, method, outcome: 'ok' }, f.calls - f.errors);
          if (f.errors > 0) this.inc({ typeid, method, outcome: 'error' }, f.errors);
        }
      }
    },
  });

  registry.registerMetric(durationHistogram(server) as unknown as Metric);

  new Gauge({
    name: 'mpmanager_calls_blocked',
    help: 'Calls not finished yet (a get waiting for an item, an acquire waiting for a lock, ...), by typeid.',
    labelNames: ['typeid'],
    registers: [registry],
    collect() {
      this.reset();
      const counts = new Map<string, number>();
      for (const c of server.view.activity?.connections ?? []) {
        for (const call of c.inflight) {
          const typeid = call.target?.typeid ?? '(server)';
          counts.set(typeid, (counts.get(typeid) ?? 0) + 1);
        }
      }
      for (const [typeid, n] of counts) this.set({ typeid }, n);
    },
  });

  new Gauge({
    name: 'mpmanager_queue_depth',
    help: 'Items in each shared (Redis) queue this server serves, by name.',
    labelNames: ['name'],
    registers: [registry],
    async collect() {
      this.reset();
      // One look-up per shared object (bounded, shared.ts), and only when scraped.
      for (const o of await sharedSizes(server).catch(() => [])) if (QUEUE_TYPEIDS.has(o.typeid)) this.set({ name: o.name }, o.size);
    },
  });

  new Counter({
    name: 'mpmanager_auth_failures_total',
    help: 'Handshakes that failed authentication (a wrong authkey).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(server.view.authFailures);
    },
  });

  for (const [name, help, read] of [
    ['mpmanager_received_bytes_total', 'Frame payload bytes received from clients (framing and encryption not counted).', () => server.view.activity?.bytesIn ?? 0],
    ['mpmanager_sent_bytes_total', 'Frame payload bytes sent to clients (framing and encryption not counted).', () => server.view.activity?.bytesOut ?? 0],
  ] as const) {
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  }
  return registry;
}

/**
 * The call-duration histogram, as prom-client's registry prints any metric: its figures are the
 * activity's own bucket counts, so recording a call costs no prom-client work (a labelled `observe()`
 * per call would cost more than the call itself).
 */
function durationHistogram(server: Server) {
  const name = 'mpmanager_call_duration_seconds';
  return {
    name,
    help: 'Call durations, by typeid and method: from the request read to the reply made (waiting included).',
    type: 'histogram',
    aggregator: 'sum',
    reset() {},
    get() {
      const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
      for (const [typeid, byMethod] of server.view.activity?.calls ?? []) {
        for (const [method, f] of byMethod) {
          let cumulative = 0;
          for (let b = 0; b <= DURATION_BUCKETS.length; b++) {
            cumulative += f.buckets[b] as number;
            const le = b < DURATION_BUCKETS.length ? (DURATION_BUCKETS[b] as number) : '+Inf';
            values.push({ labels: { typeid, method, le }, value: cumulative, metricName: `${name}_bucket` });
          }
          values.push({ labels: { typeid, method }, value: f.durationSum, metricName: `${name}_sum` });
          values.push({ labels: { typeid, method }, value: f.calls, metricName: `${name}_count` });
        }
      }
      return { name, help: this.help, type: 'histogram', values, aggregator: 'sum' };
    },
  };
}
