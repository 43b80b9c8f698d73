"""The patch_dict manager of the reference programs, client side, in stock Python.

    python3 examples/python-interop/patch-dict/client.py [--address 127.0.0.1:4900 | /path/to.sock] [--authkey password]

Connects, gets the `patch_dict` proxy and prints it (`str(proxy)` is the referent's repr, computed by
the server), then the shape of its value. Talks to the TypeScript server (examples/patch-dict/server.ts)
unchanged.
"""
import argparse
import multiprocessing
from multiprocessing.managers import SyncManager


class MyManager(SyncManager):
    pass


MyManager.register('patch_dict')


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
    parser.add_argument('--address', default='127.0.0.1:4900')
    parser.add_argument('--authkey', default='password')
    args = parser.parse_args()

    manager = MyManager(parse_address(args.address), authkey=args.authkey.encode())
    multiprocessing.current_process().authkey = args.authkey.encode()
    manager.connect()
    patch_dict = manager.patch_dict()
    print('Keys : {}'.format(patch_dict))
    value = patch_dict._getvalue()
    print('shape: ({}, {})'.format(len(value), len(value[0])))


if __name__ == '__main__':
    main()
