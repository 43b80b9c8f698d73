"""A stock CPython SyncManager server for cpu-per-call.sh: cpu_server.py ADDRESS. Exits when stdin ends."""
import os
import sys
import threading
from multiprocessing.managers import SyncManager

server = SyncManager(address=sys.argv[1], authkey=b"probe").get_server()
threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
print("ready", flush=True)
server.serve_forever()
