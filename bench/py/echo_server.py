"""Stock CPython raw echo server: echo_server.py <address-json> <authkey-hex>.

A multiprocessing.connection.Listener; every authenticated connection gets each recv_bytes() frame
back through send_bytes(), one thread per connection. Prints {"address", "pid"}; exits when stdin ends.
"""
import os
import sys
import threading
from multiprocessing.connection import Listener

from common import address_arg, emit, exit_when_stdin_ends


def echo(conn):
    try:
        while True:
            conn.send_bytes(conn.recv_bytes())
    except (EOFError, OSError):
        conn.close()


def serve(listener):
    while True:
        try:
            conn = listener.accept()
        except Exception:  # a failed handshake must not stop the loop
            continue
        threading.Thread(target=echo, args=(conn,), daemon=True).start()


def main():
    listener = Listener(address_arg(sys.argv[1]), authkey=bytes.fromhex(sys.argv[2]), backlog=64)
    emit({"address": listener.address, "pid": os.getpid()})
    threading.Thread(target=serve, args=(listener,), daemon=True).start()
    exit_when_stdin_ends()


if __name__ == "__main__":
    main()
