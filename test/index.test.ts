/** The public API (src/index.ts): what users get, and the server-side objects used as CPython users do. */
import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';
import { BaseManager, Empty, Queue, type AutoProxy } from '../src/index.js';

describe('public API', () => {
  it('exports the server-side objects of the built-in typeids, and no internals', () => {
    for (const name of ['Queue', 'Lock', 'RLock', 'Semaphore', 'BoundedSemaphore', 'Condition', 'PyEvent', 'Barrier', 'Value', 'PyArray', 'List', 'Dict', 'PySet', 'Namespace']) {
      expect(typeof (api as Record<string, unknown>)[name], name).toBe('function');
    }
    for (const internal of ['makePythonError', 'PYTHON_ERRORS', 'NativeSession', 'ClassicSession', 'SessionCore', 'remoteError', 'objectId']) {
      expect(internal in api, internal).toBe(false);
    }
  });

  it('a registration returning one server-side Queue gives every client a proxy to that queue', async () => {
    const jobs = new Queue<number>();
    class JobManager extends BaseManager {}
    JobManager.register('get_jobs', () => jobs);
    await using server = await new JobManager(['127.0.0.1', 0], { authkey: 'k' }).start();
    await using other = await new JobManager(server.address, { authkey: 'k' }).connect();
    const a = await server.create<AutoProxy<Queue<number>>>('get_jobs');
    const b = await other.create<AutoProxy<Queue<number>>>('get_jobs');
    await a.put(41);
    expect(await b.get()).toBe(41);
    expect(jobs.qsize()).toBe(0);
    await expect(b.get(false)).rejects.toBeInstanceOf(Empty);
  });
});
