"""Shared by the CPython side of the benchmark: argument decoding and the JSON-lines protocol
(see bench/lib/protocol.ts). Standard library only."""
import json
import os
import sys


def address_arg(text):
    """A JSON address: ["host", port] for TCP (made a tuple), a path string for a Unix socket."""
    value = json.loads(text)
    return tuple(value) if isinstance(value, list) else value


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def exit_when_stdin_ends():
    """Blocks until stdin closes, then ends the process at once (threads and all)."""
    for _ in sys.stdin:
        pass
    os._exit(0)
