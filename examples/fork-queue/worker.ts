/**
 * A child of examples/fork-queue/main.ts: rebuilds the parent's queue proxy from what the parent sent
 * over IPC, puts its items, and exits (its proxy's reference is released when its connection closes).
 */
import { SyncManager, type QueueProxy, type TransferableProxy, type Address } from 'mpmanager';

interface HandOff {
  child: number;
  items: number;
  address: Address;
  queue: TransferableProxy;
}

process.once('message', async (msg: HandOff) => {
  const authkey = Buffer.from(process.env.MPM_AUTHKEY ?? '', 'hex');
  await using manager = await new SyncManager(msg.address, { authkey }).connect();
  const queue = await manager.rebuild<QueueProxy<[number, number]>>(msg.queue);
  for (let i = 1; i <= msg.items; i++) await queue.put([msg.child, msg.child * 100 + i]);
  process.disconnect();
});
