#!/usr/bin/env bash
# CPU time per manager call, on a Unix socket: one client alone (CPython client with CPython's server,
# mpmanager client with mpmanager's server), then 4 stock CPython clients at once against each server, with
# the server's CPU per call read from /proc over the middle 2 s. These are the budgets behind the
# 4-client cases of `npm run bench`. Usage: bash bench/probes/cpu-per-call.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
dir="$(mktemp -d /tmp/mpm-cpu-XXXXXX)"
trap 'rm -rf "$dir"' EXIT
tck="$(getconf CLK_TCK)"

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

start_server() { # ours|cpython, address; sets server_pid and opens fd 3 as its stdin
  local ready="$dir/ready" fifo="$dir/stdin-$RANDOM"
  rm -f "$ready"; mkfifo "$fifo"
  if [[ "$1" == ours ]]; then (cd "$root" && exec node --import tsx "$here/cpu-server.ts" "$2") < "$fifo" > "$ready" &
  else python3 "$here/cpu_server.py" "$2" < "$fifo" > "$ready" & fi
  server_pid=$!
  exec 3> "$fifo"
  for _ in $(seq 200); do grep -q ready "$ready" 2>/dev/null && return; sleep 0.05; done
  echo "server $1 did not start" >&2; exit 1
}
stop_server() { exec 3>&-; wait "$server_pid" 2>/dev/null || true; }

echo "one client alone, 3 s:"
start_server cpython "$dir/cpython.sock"
printf '  cpython client, cpython server: '; python3 "$here/cpu_client.py" "$dir/cpython.sock" 3
stop_server
start_server ours "$dir/ours.sock"
printf '  node client,    ours server:    '; (cd "$root" && node --import tsx "$here/cpu-client.ts" "$dir/ours.sock" 3)
stop_server

echo "4 CPython clients at once, 4 s each; server CPU over the middle 2 s:"
for side in cpython ours; do
  start_server "$side" "$dir/$side-4.sock"
  for i in 1 2 3 4; do python3 "$here/cpu_client.py" "$dir/$side-4.sock" 4 > "$dir/client-$i" & done
  sleep 1.5; t0="$(ticks "$server_pid")"; sleep 2; t1="$(ticks "$server_pid")"
  wait $(jobs -p | grep -vx "$server_pid") 2>/dev/null || true
  total="$(cat "$dir"/client-* | python3 -c 'import sys, json; print(sum(json.loads(l)["calls_per_s"] for l in sys.stdin))')"
  python3 -c "import sys; t, c, k = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]); print('  %-7s server: %.0f calls/s in all, server %.1f us CPU per call (%.0f %% of one core)' % (sys.argv[4], t, c / k / 2 / t * 1e6, c / k / 2 * 100))" "$total" "$((t1 - t0))" "$tck" "$side"
  printf '          clients: %s\n' "$(cat "$dir"/client-* | python3 -c 'import sys, json; print(", ".join(str(json.loads(l)["cpu_us_per_call"]) for l in sys.stdin))') us CPU per call each"
  stop_server
done
