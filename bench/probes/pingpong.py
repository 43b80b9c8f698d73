"""Bare Unix-socket ping-pong, no framing: pingpong.py server PATH | pingpong.py client PATH [N].

The client sends 16 bytes and waits for them back, N times after a warm-up, and prints
{"lang": "python", "rt_us": ...}. Used by pinned.sh to separate the kernel's wake-up cost from ours.
"""
import json
import os
import socket
import sys
import time


def server(path):
    if os.path.exists(path):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen()
    print("ready", flush=True)
    conn, _ = listener.accept()
    while True:
        data = conn.recv(65536)
        if not data:
            return
        conn.sendall(data)


def client(path, n):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    msg = b"a" * 16
    for _ in range(2000):
        s.sendall(msg)
        s.recv(65536)
    t0 = time.perf_counter()
    for _ in range(n):
        s.sendall(msg)
        s.recv(65536)
    print(json.dumps({"lang": "python", "rt_us": round((time.perf_counter() - t0) / n * 1e6, 1)}))


if __name__ == "__main__":
    mode, path = sys.argv[1], sys.argv[2]
    if mode == "server":
        server(path)
    else:
        client(path, int(sys.argv[3]) if len(sys.argv) > 3 else 20000)
