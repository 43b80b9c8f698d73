"""The queue-per-channel client of the reference programs, in stock Python.

    python3 examples/python-interop/queue-channels/client.py [--address 127.0.0.1:50001]
        [--result-address 127.0.0.1:50002] [--authkey password] [--channel ch-1] [--count 3]

`MY_Client` is the reference program's, unchanged but for the addresses and key: it registers the
typeids without callables, `SetResultQueue` with a `NamespaceProxy` subclass exposing `set_channel`,
claims a channel and keeps that channel's result queue. The demo below sends `--count` inputs and
prints each result as `result: ...`. Works against the Python server next to it and against the
TypeScript server (examples/queue-channels/server.ts) alike.
"""
import argparse
import multiprocessing
from multiprocessing.managers import SyncManager, NamespaceProxy
from queue import Empty


class QueueManager(SyncManager):
    pass


class ResultQueueProxy(NamespaceProxy):
    _exposed_ = ('__getattribute__', '__setattr__', '__delattr__', 'set_channel')

    def set_channel(self, channel_id):
        callmethod = object.__getattribute__(self, '_callmethod')
        return callmethod('set_channel', (channel_id,))


class MY_Client:
    def __init__(self, channel_id, sender_address, receiver_address, authkey):
        self.channel_id = channel_id
        QueueManager.register('GetAudioQueue')
        QueueManager.register('GetResultQueue')
        QueueManager.register('SetResultQueue', proxytype=ResultQueueProxy)
        self.manager_sender = QueueManager(sender_address, authkey=authkey)
        self.manager_receiver = QueueManager(receiver_address, authkey=authkey)
        multiprocessing.current_process().authkey = authkey
        self.manager_sender.connect()
        self.manager_receiver.connect()
        self.audio_queue = self.manager_sender.GetAudioQueue()
        receiver_obj = self.manager_receiver.SetResultQueue()
        data = receiver_obj.set_channel(self.channel_id)
        if not data.get('result'):
            raise Exception(data.get("message"))
        data = self.manager_receiver.GetResultQueue(self.channel_id)
        try:
            data.get(block=False)
        except Empty:
            self.result_queue = data

    def SendAudio(self, data_a, data_b):
        self.audio_queue.put((data_a, data_b, self.channel_id))

    def ReceiveResult(self, block=True):
        if block:
            return {'result': True, 'data': self.result_queue.get(True)}
        try:
            return {'result': True, 'data': self.result_queue.get(False)}
        except Empty:
            return {'result': False}


def parse_address(text):
    """HOST:PORT is TCP; anything with a '/' is a Unix socket path; '@name' is a Linux abstract socket."""
    if text.startswith('@'):
        return '\0' + text[1:]
    if '/' in text:
        return text
    host, _, port = text.rpartition(':')
    return (host, int(port))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--address', default='127.0.0.1:50001', help='the sender manager (input queue)')
    parser.add_argument('--result-address', default='127.0.0.1:50002', help='the receiver manager (channels)')
    parser.add_argument('--authkey', default='password')
    parser.add_argument('--channel', default='ch-1')
    parser.add_argument('--count', type=int, default=3)
    args = parser.parse_args()

    client = MY_Client(args.channel, parse_address(args.address), parse_address(args.result_address),
                       args.authkey.encode())
    print('channel {} ready'.format(args.channel), flush=True)
    for n in range(args.count):
        client.SendAudio('audio-{}'.format(n), b'\x00' * 16)
    for _ in range(args.count):
        print('result: {}'.format(client.ReceiveResult()['data']), flush=True)
    print('nothing more: {}'.format(client.ReceiveResult(block=False)), flush=True)


if __name__ == '__main__':
    main()
