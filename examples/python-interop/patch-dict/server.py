"""The patch_dict manager of the reference programs, server side, in stock Python.

    python3 examples/python-interop/patch-dict/server.py [--address 127.0.0.1:4900 | /path/to.sock] [--authkey password]

Serves `patch_dict`, 5 rows of 1000 random floats (the reference uses numpy's `np.random.rand(5, 1000)`;
this one uses `random` so that it needs no package, and so that the value is plain lists, which any
client can read). Starts the manager in a child process as the reference does, prints 'listening on
ADDRESS' (port 0 picks a free port), and stops on Enter, SIGINT or SIGTERM.

Clients: examples/python-interop/patch-dict/client.py, or the TypeScript client with
`--serializer pickle` (examples/patch-dict/client.ts).
"""
import argparse
import multiprocessing
import random
import signal
from multiprocessing.managers import SyncManager

patch_dict = [[random.random() for _ in range(1000)] for _ in range(5)]


def get_patch_dict():
    return patch_dict


class MyManager(SyncManager):
    pass


MyManager.register('patch_dict', get_patch_dict)


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
    parser.add_argument('--address', default='127.0.0.1:4900')
    parser.add_argument('--authkey', default='password')
    args = parser.parse_args()

    manager = MyManager(parse_address(args.address), authkey=args.authkey.encode())
    multiprocessing.current_process().authkey = args.authkey.encode()
    manager.start()
    print('listening on {}'.format(format_address(manager.address)), flush=True)
    try:
        wait_for_stop()
    finally:
        manager.shutdown()
        print('server stopped', flush=True)


if __name__ == '__main__':
    main()
