"""Stock CPython manager server for the benchmark: server.py <address-json> <authkey-hex>.

A plain multiprocessing.managers.SyncManager server. Prints {"address", "pid"} once listening.
Stdin: `gc` runs gc.collect() and answers {"gc": true}; end of stdin exits.
"""
import gc
import os
import sys
import threading
from multiprocessing.managers import SyncManager

from common import address_arg, emit


def commands():
    for line in sys.stdin:
        if line.strip() == "gc":
            gc.collect()
            emit({"gc": True})
    os._exit(0)


def main():
    address = address_arg(sys.argv[1])
    authkey = bytes.fromhex(sys.argv[2])
    manager = SyncManager(address=address, authkey=authkey)
    server = manager.get_server()
    emit({"address": server.address, "pid": os.getpid()})
    threading.Thread(target=commands, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
