/**
 * The queue-per-channel client of the reference programs: claims a channel with `set_channel`, sends
 * `--count` items to the input queue, and waits for its own results on its channel's queue.
 *
 *   npx tsx examples/queue-channels/client.ts --channel ID [--count 10] [--address 127.0.0.1:50001]
 *       [--result-address 127.0.0.1:50002] [--authkey password] [--serializer msgpack|pickle]
 *
 * `--serializer pickle` talks to the stock Python server (examples/python-interop/queue-channels/server.py).
 * It prints `received N results` and exits 0 once every result is its own, exactly once.
 */
import { parseArgs } from 'node:util';
import { tuple, SyncManager, parseAddress, NamespaceProxy, QueueProxy } from 'mpmanager';

/** The reference client's `ResultQueueProxy`: a NamespaceProxy that also exposes `set_channel`. */
class ResultQueueProxy extends NamespaceProxy {
  static override readonly exposed: readonly string[] = ['__getattribute__', '__setattr__', '__delattr__', 'set_channel'];
  set_channel(channelId: unknown): Promise<{ result: boolean; message: string }> {
    return this.callMethod('set_channel', [channelId]);
  }
}

/** How long to wait for each result before giving up, in seconds. */
const RESULT_TIMEOUT = 30;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      channel: { type: 'string' },
      count: { type: 'string', default: '10' },
      address: { type: 'string', default: '127.0.0.1:50001' },
      'result-address': { type: 'string', default: '127.0.0.1:50002' },
      authkey: { type: 'string', default: 'password' },
      serializer: { type: 'string', default: 'msgpack' },
    },
  });
  if (!values.channel) throw new Error('--channel ID is required');
  const serializer = values.serializer;
  if (serializer !== 'msgpack' && serializer !== 'pickle') throw new Error(`--serializer must be msgpack or pickle, not '${serializer}'`);
  const channel = values.channel;
  const count = Number(values.count);

  const options = { authkey: values.authkey, serializer } as const;
  await using sender = new SyncManager(parseAddress(values.address), options).register('GetAudioQueue', null, { proxytype: QueueProxy });
  await using receiver = new SyncManager(parseAddress(values['result-address']), options)
    .register('SetResultQueue', null, { proxytype: ResultQueueProxy })
    .register('GetResultQueue', null, { proxytype: QueueProxy });
  await sender.connect();
  await receiver.connect();

  const audio = await sender.GetAudioQueue();
  const claim = await (await receiver.SetResultQueue()).set_channel(channel);
  if (!claim.result) throw new Error(claim.message);
  const results = await receiver.GetResultQueue(channel);

  const sent = new Set<string>();
  for (let i = 0; i < count; i++) {
    const data = `${channel}/${i}`;
    sent.add(data);
    await audio.put(tuple<unknown>(data, i, channel));
  }
  for (let i = 0; i < count; i++) {
    const [data, workerId] = (await results.get(true, RESULT_TIMEOUT)) as [string, number];
    if (!sent.delete(data)) throw new Error(`result ${JSON.stringify(data)} (worker ${workerId}) is not one of ours, or came twice`);
  }
  console.log(`received ${count} results`);
}

main().catch((err: unknown) => {
  console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
