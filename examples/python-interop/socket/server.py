"""The socket pair of the reference programs, server side, in stock Python (multiprocessing.connection).

    python3 examples/python-interop/socket/server.py [--address 127.0.0.1:6000 | /path/to.sock] [--authkey password]

Accepts connections one after another and prints every message; 'close connection' ends a connection,
'close server' stops the server. Serves the TypeScript client (examples/socket/client.ts
--serializer pickle) and the Python client alike. With port 0 the system picks a free port: the
'listening on' line shows it.

Unlike the reference program, a client with a wrong authkey does not stop the server: CPython raises
AuthenticationError out of accept(), so it is caught and the loop goes on.
"""
import argparse
from multiprocessing import AuthenticationError
from multiprocessing.connection import Listener


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--address', default='127.0.0.1:6000')
    parser.add_argument('--authkey', default='password')
    args = parser.parse_args()

    listener = Listener(parse_address(args.address), authkey=args.authkey.encode())
    print('listening on {}'.format(format_address(listener.address)), flush=True)
    running = True
    while running:
        try:
            conn = listener.accept()
        except AuthenticationError as e:
            print('handshake failed: {}'.format(e), flush=True)
            continue
        print('connection accepted from {}'.format(listener.last_accepted), flush=True)
        while True:
            try:
                msg = conn.recv()
            except EOFError:
                print('connection closed by the client', flush=True)
                break
            print(msg, flush=True)
            if isinstance(msg, str) and msg == 'close connection':
                break
            if isinstance(msg, str) and msg == 'close server':
                running = False
                break
        conn.close()
    listener.close()


if __name__ == '__main__':
    main()
