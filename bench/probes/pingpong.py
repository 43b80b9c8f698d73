"""Bare Unix-socket ping-pong, no framing: pingpong.py server PATH | pingpong.py client PATH [N].

The client sends 16 bytes and waits for them back, N times after a warm-up, and prints
{"lang", "rt_us", "client_cpu_us", "client_user_us"} (per round trip; CPU from os.times()).
Used by pinned.sh to separate the kernel's wake-up cost from ours.
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
    t0, cpu0 = time.perf_counter(), os.times()
    for _ in range(n):
        s.sendall(msg)
        s.recv(65536)
    rt, cpu = time.perf_counter() - t0, os.times()
    user, system = cpu.user - cpu0.user, cpu.system - cpu0.system
    print(json.dumps({
        "lang": "python",
        "rt_us": round(rt / n * 1e6, 1),
        "client_cpu_us": round((user + system) / n * 1e6, 1),
        "client_user_us": round(user / n * 1e6, 1),
    }))


if __name__ == "__main__":
    mode, path = sys.argv[1], sys.argv[2]
    if mode == "server":
        server(path)
    else:
        client(path, int(sys.argv[3]) if len(sys.argv) > 3 else 20000)
