/**
 * The runtime's floor, Node side: `bare-echo-server.ts <address-json> <authkey-hex>`. A plain `net` server
 * that writes back every chunk it reads, with no framing, no handshake and no mpmanager code (the authkey
 * is ignored); Nagle off on TCP, as mpmanager's sockets. Prints `{"address", "pid"}` once listening; exits
 * when stdin ends.
 */
import net from 'node:net';

const address = JSON.parse(process.argv[2] ?? 'null') as [string, number] | string;

const server = net.createServer({ noDelay: true }, (socket) => {
  socket.on('data', (chunk) => socket.write(chunk));
  socket.on('error', () => socket.destroy());
});
await new Promise<void>((resolve, reject) => {
  server.once('error', reject);
  if (typeof address === 'string') server.listen({ path: address }, resolve);
  else server.listen({ host: address[0], port: address[1] }, resolve);
});
const bound = typeof address === 'string' ? address : [address[0], (server.address() as net.AddressInfo).port];
console.log(JSON.stringify({ address: bound, pid: process.pid }));
process.stdin.on('end', () => process.exit(0)).resume();
