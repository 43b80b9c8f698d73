"""The socket pair of the reference programs, client side, in stock Python (multiprocessing.connection).

    python3 examples/python-interop/socket/client.py [--address 127.0.0.1:6000 | /path/to.sock] [--authkey password] [--pause 1.0]

Sends 'foo1', 'foo2' and 'close server', pausing between messages (1 s in the reference program), then
closes. Talks to the TypeScript server (examples/socket/server.ts) unchanged: mpmanager's Listener reads
the pickles a stock Python client sends.
"""
import argparse
import time
from multiprocessing.connection import Client


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
    parser.add_argument('--address', default='127.0.0.1:6000')
    parser.add_argument('--authkey', default='password')
    parser.add_argument('--pause', type=float, default=1.0, help='seconds between messages')
    args = parser.parse_args()

    conn = Client(parse_address(args.address), authkey=args.authkey.encode())
    conn.send('foo1')
    time.sleep(args.pause)
    conn.send('foo2')
    time.sleep(args.pause)
    conn.send('close server')
    conn.close()


if __name__ == '__main__':
    main()
