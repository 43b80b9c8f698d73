/**
 * The queue-per-channel server of the reference programs: one manager serves the input queue
 * (`GetAudioQueue`), a second serves `SetResultQueue` (an object a client claims a channel with, through a
 * NamespaceProxy exposing `set_channel`) and `GetResultQueue(id)` (that channel's result queue). Worker
 * tasks move `(data_a, data_b, channel_id)` items from the input queue to `(data_a, worker_id)` on the
 * channel's result queue. Stock Python clients (examples/python-interop/queue-channels/client.py) and
 * TypeScript clients (client.ts beside this file) use it alike.
 *
 *   npx tsx examples/queue-channels/server.ts [--address 127.0.0.1:50001] [--result-address 127.0.0.1:50002]
 *       [--authkey password] [--workers 5]
 */
import { parseArgs } from 'node:util';
import { tuple, SyncManager, Queue, formatAddress, parseAddress, QueueProxy } from 'mpmanager';

/** An input item: `(data_a, data_b, channel_id)`, as the reference client puts it. */
type AudioItem = readonly [dataA: unknown, dataB: unknown, channelId: unknown];

const audioQueue = new Queue<AudioItem>();
/** Result queues by channel. Python clients send channel ids of any type: the key keeps '1' and 1 apart. */
const resultQueues = new Map<string, Queue>();
const channelKey = (channelId: unknown): string => `${typeof channelId}:${String(channelId)}`;

/** What a client claims a channel with (the reference program's `SetResultQueue`). */
class SetResultQueue {
  set_channel(channelId: unknown): { result: boolean; message: string } {
    const key = channelKey(channelId);
    if (resultQueues.has(key)) return { result: false, message: `[Error] Please give me another channel id, not ${String(channelId)}` };
    resultQueues.set(key, new Queue());
    return { result: true, message: `[Notice] Successfully channel ${String(channelId)} added` };
  }
}

/** The channel's result queue, or an error value before `set_channel` (as the reference returns a dict). */
function GetResultQueue(channelId: unknown): Queue | { result: boolean; message: string } {
  return resultQueues.get(channelKey(channelId)) ?? { result: false, message: '[Error] Please call SetResultQueue function first' };
}

/** One worker: the reference runs a model here; this one tags each input with its worker id. */
async function worker(id: number, stopped: AbortSignal): Promise<void> {
  while (!stopped.aborted) {
    const [dataA, , channelId] = await audioQueue.get();
    const results = resultQueues.get(channelKey(channelId));
    if (results) await results.put(tuple(dataA, id));
    else console.error(`dropping an item for unknown channel ${String(channelId)}`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      address: { type: 'string', default: '127.0.0.1:50001' },
      'result-address': { type: 'string', default: '127.0.0.1:50002' },
      authkey: { type: 'string', default: 'password' },
      workers: { type: 'string', default: '5' },
    },
  });
  const authkey = values.authkey;
  const sender = new SyncManager(parseAddress(values.address), { authkey }).register('GetAudioQueue', () => audioQueue, { proxytype: QueueProxy });
  const receiver = new SyncManager(parseAddress(values['result-address']), { authkey })
    .register('SetResultQueue', SetResultQueue, { exposed: ['__getattribute__', '__setattr__', '__delattr__', 'set_channel'] })
    .register('GetResultQueue', GetResultQueue);
  const senderServer = await sender.getServer();
  const receiverServer = await receiver.getServer();
  const stop = new AbortController();
  for (let i = 0; i < Number(values.workers); i++) void worker(i, stop.signal);
  const shutdown = () => {
    stop.abort();
    void Promise.all([senderServer.shutdown(), receiverServer.shutdown()]);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  console.log(`listening on ${formatAddress(senderServer.address)} and ${formatAddress(receiverServer.address)}`);
  await Promise.all([senderServer.serveForever(), receiverServer.serveForever()]);
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
