"""One stock CPython manager client for cpu-per-call.sh: cpu_client.py ADDRESS SECONDS.

Calls d['k'] on a dict proxy one at a time for SECONDS (after 0.5 s of warm-up) and prints
{"lang": "python", "calls_per_s": ..., "cpu_us_per_call": ...} (this process's user + system time).
"""
import json
import os
import sys
import time
from multiprocessing.managers import SyncManager


def main():
    address, seconds = sys.argv[1], float(sys.argv[2])
    manager = SyncManager(address=address, authkey=b"probe")
    manager.connect()
    d = manager.dict()
    d["k"] = "v" * 16
    end = time.perf_counter() + 0.5
    while time.perf_counter() < end:
        d["k"]
    n, t0, end = 0, os.times(), time.perf_counter() + seconds
    while time.perf_counter() < end:
        d["k"]
        n += 1
    t1 = os.times()
    cpu = (t1.user - t0.user) + (t1.system - t0.system)
    print(json.dumps({"lang": "python", "calls_per_s": round(n / seconds), "cpu_us_per_call": round(cpu / n * 1e6, 1)}), flush=True)
    os._exit(0)  # skip the proxies' finalizers


if __name__ == "__main__":
    main()
