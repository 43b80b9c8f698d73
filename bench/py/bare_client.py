"""The runtime's floor, CPython side: bare_client.py <case> <address-json> <authkey-hex> <params-json>.

Sends 16 bytes on a bare socket to bare_echo_server.py and waits until all 16 are back, one round trip at
a time (sendall, recv), with no framing and no multiprocessing code. Protocol as client.py: {"ready": true}
after the warm-up, then one {"ops", "seconds"} per `go` line on stdin. Standard library only.
"""
import json
import os
import socket
import sys
import traceback
from time import perf_counter

from common import address_arg, emit, with_cpu

SIZE = 16


def main():
    _, address_json, _, params_json = sys.argv[1:5]
    try:
        address = address_arg(address_json)
        p = json.loads(params_json)
        tcp = isinstance(address, tuple)
        s = socket.socket(socket.AF_INET if tcp else socket.AF_UNIX)
        s.connect(address)
        if tcp:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        message = b"a" * SIZE

        def round_trips(n):
            for _ in range(n):
                s.sendall(message)
                got = 0
                while got < SIZE:
                    chunk = s.recv(65536)
                    if not chunk:
                        raise EOFError("the echo server closed the connection")
                    got += len(chunk)

        def timed(count):
            t0 = perf_counter()
            round_trips(count)
            return {"ops": count, "seconds": perf_counter() - t0}

        end = perf_counter() + p["warmupSeconds"]
        round_trips(max(1, p["warmup"]))
        while perf_counter() < end:
            round_trips(1000)
        emit({"ready": True})
        for line in sys.stdin:
            if line.strip() == "go":
                emit(with_cpu(lambda: timed(p["count"])))
    except Exception:
        emit({"error": traceback.format_exc()})
        os._exit(1)
    os._exit(0)


if __name__ == "__main__":
    main()
