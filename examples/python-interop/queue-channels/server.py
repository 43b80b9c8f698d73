"""The queue-per-channel server of the reference programs, in stock Python.

    python3 examples/python-interop/queue-channels/server.py [--address 127.0.0.1:50001]
        [--result-address 127.0.0.1:50002] [--authkey password] [--workers 5]

Two managers (the reference's ports 1001 and 1002 need root, so the defaults are 50001 and 50002, as in
examples/queue-channels/server.ts): the sender, at --address, serves `GetAudioQueue` (the input queue of
(data_a, data_b, channel_id)); the receiver, at --result-address, serves `SetResultQueue` (an object with `set_channel`, used through a NamespaceProxy
subclass by the client) and `GetResultQueue(channel_id)` (that channel's result queue, or an error dict).
Worker threads take inputs and put `((data_a, worker), channel_id)` results, which a mediator routes to
each channel's queue. Prints 'listening on SENDER and RECEIVER' (port 0 picks free ports), and serves
until Enter, SIGINT or SIGTERM.

Relies on the 'fork' start method (Linux's default up to Python 3.13), as the reference does: the
managers' processes inherit the queues and the lambdas.
"""
import argparse
import multiprocessing
import signal
import threading
from multiprocessing import Queue
from multiprocessing.managers import SyncManager

audio_queue = Queue()           # input: (data_a, data_b, channel_id)
result_queue = Queue()          # (result, channel_id), routed by the mediator
result_queue_dict = {}          # channel_id -> Queue


def GetResultQueue(channel_id):
    if channel_id not in result_queue_dict:
        return {"result": False, "message": "[Error] Please call SetResultQueue function first"}
    return result_queue_dict[channel_id]


class SetResultQueue(object):
    def __init__(self):
        self.result_queue_dict = result_queue_dict

        def mediator():
            while True:
                result, channel_id = result_queue.get()
                self.result_queue_dict[channel_id].put(result)
        threading.Thread(target=mediator, daemon=True).start()

    def set_channel(self, channel_id):
        if channel_id in self.result_queue_dict:
            return {"result": False, "message": "[Error] Please give me another channel id, not {}".format(channel_id)}
        self.result_queue_dict[channel_id] = Queue()
        return {"result": True, "message": "[Notice] Successfully channel {} added".format(channel_id)}


class QueueManager(SyncManager):
    pass


def worker(i):                  # the real program runs a model here
    while True:
        data_a, data_b, channel_id = audio_queue.get()
        result_queue.put(((data_a, i), channel_id))


QueueManager.register('GetAudioQueue', callable=lambda: audio_queue)
QueueManager.register('SetResultQueue', callable=SetResultQueue)
QueueManager.register('GetResultQueue', callable=GetResultQueue)


def parse_address(text):
    """HOST:PORT is TCP; anything with a '/' is a Unix socket path; '@name' is a Linux abstract socket."""
    if text.startswith('@'):
        return '\0' + text[1:]
    if '/' in text:
        return text
    host, _, port = text.rpartition(':')
    return (host, int(port))


def format_address(address):
    if isinstance(address, tuple):
        return '%s:%d' % address
    if isinstance(address, bytes):
        address = address.decode()
    return '@' + address[1:] if address.startswith('\0') else address


def wait_for_stop():
    """Returns on Enter, SIGINT or SIGTERM (the reference's `input()`); without a terminal, on a signal only."""
    def stop(*_):
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        input('Press Enter to stop the server\n')
    except EOFError:
        signal.pause()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--address', default='127.0.0.1:50001', help='the sender manager (input queue)')
    parser.add_argument('--result-address', default='127.0.0.1:50002', help='the receiver manager (channels)')
    parser.add_argument('--authkey', default='password')
    parser.add_argument('--workers', type=int, default=5)
    args = parser.parse_args()

    authkey = args.authkey.encode()
    sender = QueueManager(parse_address(args.address), authkey=authkey)
    receiver = QueueManager(parse_address(args.result_address), authkey=authkey)
    multiprocessing.current_process().authkey = authkey
    for i in range(args.workers):
        threading.Thread(target=worker, args=(i,), daemon=True).start()
    sender.start()
    receiver.start()
    print('listening on {} and {}'.format(format_address(sender.address), format_address(receiver.address)), flush=True)
    try:
        wait_for_stop()
    finally:
        sender.shutdown()
        receiver.shutdown()
        print('server stopped', flush=True)


if __name__ == '__main__':
    main()
