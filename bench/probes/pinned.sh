#!/usr/bin/env bash
# Bare ping-pong round trips, CPython against Node, with both processes pinned to one core and to two
# (taskset), then unpinned: shows how much of a round trip is the kernel waking a process on another
# core. Usage: bash bench/probes/pinned.sh [round-trips]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
n="${1:-20000}"
sock="$(mktemp -u /tmp/mpm-pingpong-XXXXXX.sock)"

run() { # lang, server cpus, client cpus
  local lang="$1" scpu="$2" ccpu="$3" pin_s=() pin_c=() server client
  [[ "$scpu" != "-" ]] && pin_s=(taskset -c "$scpu")
  [[ "$ccpu" != "-" ]] && pin_c=(taskset -c "$ccpu")
  if [[ "$lang" == python ]]; then server=(python3 "$here/pingpong.py"); client=(python3 "$here/pingpong.py")
  else server=(node "$here/pingpong.mjs"); client=(node "$here/pingpong.mjs"); fi
  local ready; ready="$(mktemp)"
  "${pin_s[@]}" "${server[@]}" server "$sock" > "$ready" &
  local pid=$!
  for _ in $(seq 100); do grep -q ready "$ready" && break; sleep 0.05; done
  printf '%-7s server cpu %-2s client cpu %-2s ' "$lang" "$scpu" "$ccpu"
  "${pin_c[@]}" "${client[@]}" client "$sock" "$n"
  wait "$pid" 2>/dev/null || true
  rm -f "$ready"
}

for placement in "0 0" "0 1" "- -"; do
  for lang in python node; do run "$lang" $placement; done
done
rm -f "$sock"
