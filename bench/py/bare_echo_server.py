"""The runtime's floor, CPython side: bare_echo_server.py <address-json> <authkey-hex>.

A plain socket server, one thread per connection, that sends back every chunk it receives: no framing,
no handshake, no multiprocessing code (the authkey is ignored). TCP_NODELAY on, as mpmanager's sockets.
Prints {"address", "pid"} once listening; exits when stdin ends. Standard library only.
"""
import os
import socket
import sys
import threading

from common import address_arg, emit, exit_when_stdin_ends


def echo(conn):
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            conn.sendall(data)
    except OSError:
        pass
    conn.close()


def serve(listener, tcp):
    while True:
        conn, _ = listener.accept()
        if tcp:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=echo, args=(conn,), daemon=True).start()


def main():
    address = address_arg(sys.argv[1])
    tcp = isinstance(address, tuple)
    listener = socket.socket(socket.AF_INET if tcp else socket.AF_UNIX)
    listener.bind(address)
    listener.listen(64)
    emit({"address": list(listener.getsockname()) if tcp else address, "pid": os.getpid()})
    threading.Thread(target=serve, args=(listener, tcp), daemon=True).start()
    exit_when_stdin_ends()


if __name__ == "__main__":
    main()
