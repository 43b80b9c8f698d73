"""Stock CPython benchmark client: client.py <case> <address-json> <authkey-hex> <params-json>.

Connects a plain multiprocessing.managers.SyncManager (or a multiprocessing.connection.Client for
raw-pingpong), sets up and warms up, prints {"ready": true}, then for every `go` line on stdin runs
one measurement and prints {"ops", "seconds"}; exits when stdin ends. Same cases and parameters as
bench/node/client.ts (see bench/lib/protocol.ts). Works against either server, since ours speaks
CPython's protocol on the same address.
"""
import json
import os
import sys
import traceback
from time import perf_counter
from multiprocessing.connection import Client
from multiprocessing.managers import SyncManager

from common import address_arg, emit, with_cpu

SMALL_VALUE = "v" * 16


def timed(count, op):
    t0 = perf_counter()
    for _ in range(count):
        op()
    return {"ops": count, "seconds": perf_counter() - t0}


def warm_up(p, op):
    """Runs op at least p["warmup"] times and for at least p["warmupSeconds"] seconds."""
    end = perf_counter() + p["warmupSeconds"]
    i = 0
    while i < p["warmup"] or perf_counter() < end:
        op()
        i += 1


def sustained(seconds, op):
    """One call in flight (a CPython proxy cannot have more on one connection) for `seconds`."""
    ops = 0
    t0 = perf_counter()
    end = t0 + seconds
    while perf_counter() < end:
        op()
        ops += 1
    return {"ops": ops, "seconds": perf_counter() - t0}


def connect(address, authkey):
    manager = SyncManager(address=address, authkey=authkey)
    manager.connect()
    return manager


def setup(case, address, authkey, p):
    if case == "raw-pingpong":
        conn = Client(address, authkey=authkey)
        payload = b"a" * 16

        def op():
            conn.send_bytes(payload)
            conn.recv_bytes()

        warm_up(p, op)
        return lambda: timed(p["count"], op)

    manager = connect(address, authkey)

    if case in ("call-latency", "pipelined-throughput", "clients4-throughput", "py-clients-server", "server-cpu-per-call"):
        d = manager.dict()
        d["k"] = SMALL_VALUE

        def op():
            d["k"]

        if case == "call-latency":
            warm_up(p, op)
            return lambda: timed(p["count"], op)
        sustained(p["warmupSeconds"], op)
        return lambda: sustained(p["seconds"], op)

    if case == "create-proxy":
        held = []

        def op():
            held.append(manager.dict())

        warm_up(p, op)
        held.clear()  # decrefs now, outside any measurement

        def run():
            result = timed(p["count"], op)
            held.clear()
            return result

        return run

    if case == "queue-pair":
        q = manager.Queue()

        def op():
            q.put(SMALL_VALUE)
            q.get()

        warm_up(p, op)
        return lambda: timed(p["count"], op)

    if case == "bulk-16mib":
        d = manager.dict()
        size = p.get("size") or 16 * 1024 * 1024
        payload = b"b" * size

        def op():
            d["b"] = payload
            back = d["b"]
            if len(back) != size:
                raise RuntimeError("got %d bytes back, sent %d" % (len(back), size))

        warm_up(p, op)

        def run():
            r = timed(p["count"], op)
            return {"ops": r["ops"] * 2 * size, "seconds": r["seconds"]}

        return run

    raise ValueError("unknown case %r" % case)


def main():
    case, address_json, key_hex, params_json = sys.argv[1:5]
    try:
        run = setup(case, address_arg(address_json), bytes.fromhex(key_hex), json.loads(params_json))
        emit({"ready": True})
        for line in sys.stdin:
            if line.strip() == "go":
                emit(with_cpu(run))
    except Exception:
        emit({"error": traceback.format_exc()})
        os._exit(1)
    # Leave without running the proxies' finalizers: over TCP each decref is a new connection that
    # waits ~40 ms on Nagle, which would only slow the run down.
    os._exit(0)


if __name__ == "__main__":
    main()
