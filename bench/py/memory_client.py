"""Fills a stock CPython manager server for the memory rows:
memory_client.py <conns|objects> <address-json> <authkey-hex> <count>.

Warms the server up (one SyncManager client creates a dict, writes, reads and drops it), prints
{"ready": true}; on `go`:
- conns: opens `count` authenticated connections and turns each into an object connection with
  `accept_connection`, exactly what a proxy's first call in a new thread does, so the server holds one
  idle serving thread per connection; keeps them open.
- objects: sends `count` `create('dict', {'k': i})` requests, each on a one-shot connection as
  SyncManager.dict() does; the server keeps each object (create leaves its refcount at 1).
then prints {"done": count}. Eight threads open the connections (over TCP each new CPython connection
waits ~40 ms on Nagle; the server's backlog is 16). Exits when stdin ends.
"""
import os
import sys
import traceback
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Client
from multiprocessing.managers import SyncManager

from common import address_arg, emit

THREADS = 8


def main():
    mode, address_json, key_hex, count_text = sys.argv[1:5]
    address = address_arg(address_json)
    authkey = bytes.fromhex(key_hex)
    count = int(count_text)
    held = []

    def open_idle(i):
        conn = Client(address, authkey=authkey)
        conn.send((None, "accept_connection", ("bench-%d" % i,), {}))
        kind, result = conn.recv()
        if kind != "#RETURN":
            raise RuntimeError("accept_connection: %r %r" % (kind, result))
        held.append(conn)

    def create(i):
        conn = Client(address, authkey=authkey)
        try:
            conn.send((None, "create", ("dict", {"k": i}), {}))
            kind, result = conn.recv()
            if kind != "#RETURN":
                raise RuntimeError("create: %r %r" % (kind, result))
        finally:
            conn.close()

    try:
        manager = SyncManager(address=address, authkey=authkey)
        manager.connect()
        d = manager.dict()
        d["k"] = 0
        d["k"]
        del d
        emit({"ready": True})
        for line in sys.stdin:
            if line.strip() != "go":
                continue
            task = open_idle if mode == "conns" else create
            with ThreadPoolExecutor(THREADS) as pool:
                list(pool.map(task, range(count)))
            emit({"done": count})
    except Exception:
        emit({"error": traceback.format_exc()})
        os._exit(1)
    os._exit(0)  # the held connections just close; no finalizer round trips


if __name__ == "__main__":
    main()
