/**
 * The inspector: a live page, JSON, server-sent events and Prometheus metrics for a running server
 * (issue #16). It reads `Server.view` and the server's `Activity` (`Server.watch()`); the hot path knows
 * nothing of it.
 */
export { Inspector, startInspector, type InspectorOptions } from './inspector.js';
export { serverMetrics } from './metrics.js';
export type { Snapshot, ObjectRow, WaitRow, ConnectionRow, Waiting } from './snapshot.js';
