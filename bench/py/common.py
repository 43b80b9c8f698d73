"""Shared by the CPython side of the benchmark: argument decoding and the JSON-lines protocol
(see bench/lib/protocol.ts). Standard library only."""
import json
import os
import sys
import time


def address_arg(text):
    """A JSON address: ["host", port] for TCP (made a tuple), a path string for a Unix socket."""
    value = json.loads(text)
    return tuple(value) if isinstance(value, list) else value


def with_cpu(run):
    """Runs one measurement and adds the CPU time (user + system) this process spent on it."""
    t0 = time.process_time()
    result = run()
    result["cpuSeconds"] = time.process_time() - t0
    return result


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def exit_when_stdin_ends():
    """Blocks until stdin closes, then ends the process at once (threads and all)."""
    for _ in sys.stdin:
        pass
    os._exit(0)
