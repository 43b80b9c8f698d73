/**
 * The benchmark's own `redis-server` (Debian's package): persistence off, listening on a Unix socket in
 * the run's temporary directory only. Killed when the orchestrator exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const REDIS_SERVER = '/usr/bin/redis-server';

export interface RedisProcess {
  /** The Unix socket path (what `RedisObjects.connect` and the direct client take). */
  readonly url: string;
  stop(): void;
}

function ping(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (b) => {
      socket.destroy();
      resolve(b.toString('latin1').startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
  });
}

/** Null when redis-server is not installed. */
export async function startRedis(dir: string): Promise<RedisProcess | null> {
  if (!existsSync(REDIS_SERVER)) return null;
  const path = join(dir, 'redis.sock');
  const child: ChildProcess = spawn(
    REDIS_SERVER,
    ['--port', '0', '--unixsocket', path, '--unixsocketperm', '700', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' },
  );
  process.on('exit', () => child.kill('SIGKILL'));
  for (let i = 0; i < 200; i++) {
    if (await ping(path)) return { url: path, stop: () => child.kill('SIGTERM') };
    await sleep(25);
  }
  child.kill('SIGKILL');
  throw new Error('redis-server did not answer PING within 5 s');
}
