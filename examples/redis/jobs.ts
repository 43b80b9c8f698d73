// The objects every server and client of this example shares, by name: a queue of jobs and a dict of
// results, kept in Redis by the servers. Clients register the names only (no store): they get the same
// proxies as SyncManager's Queue() and dict().
import { SyncManager, registerShared, type SharedStore } from 'mpmanager';

export class JobManager extends SyncManager {}

export function registerJobs(store?: SharedStore): void {
  registerShared(JobManager, 'jobs', 'Queue', store);
  registerShared(JobManager, 'results', 'dict', store);
}

export const AUTHKEY = process.env.MPM_AUTHKEY ?? 'redis-example';
