/**
 * Bare Unix-socket ping-pong in Node, no framing: `pingpong.mjs server PATH` | `pingpong.mjs client PATH [N]`.
 * The client reads with `onread` (as mpmanager's connecting sockets do), sends 16 bytes and waits for them
 * back, N times after a warm-up, and prints {"lang": "node", "rt_us", "client_cpu_us", "client_user_us"} (per
 * round trip; CPU from `process.cpuUsage`). Used by pinned.sh.
 */
import net from 'node:net';
import { rmSync } from 'node:fs';

const [mode, path, count = '20000'] = process.argv.slice(2);

if (mode === 'server') {
  rmSync(path, { force: true });
  const server = net.createServer((socket) => {
    socket.on('data', (data) => socket.write(data));
    socket.on('end', () => process.exit(0));
  });
  server.listen(path, () => console.log('ready'));
} else {
  const n = Number(count);
  const warm = 2000;
  const msg = Buffer.alloc(16, 0x61);
  let done = 0;
  let t0 = 0n;
  let cpu0 = process.cpuUsage();
  const socket = net.connect({
    path,
    onread: {
      buffer: Buffer.allocUnsafe(65536),
      callback: () => {
        done++;
        if (done === warm) {
          t0 = process.hrtime.bigint();
          cpu0 = process.cpuUsage();
        }
        if (done === warm + n) {
          const rt = Number(process.hrtime.bigint() - t0) / 1000 / n;
          const cpu = process.cpuUsage(cpu0);
          const perRt = (us) => Math.round((us / n) * 10) / 10;
          console.log(JSON.stringify({ lang: 'node', rt_us: Math.round(rt * 10) / 10, client_cpu_us: perRt(cpu.user + cpu.system), client_user_us: perRt(cpu.user) }));
          socket.end();
          return true;
        }
        socket.write(msg);
        return true;
      },
    },
  });
  socket.on('connect', () => socket.write(msg));
}
