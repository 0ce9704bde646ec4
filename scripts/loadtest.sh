#!/usr/bin/env bash
# A load test of `lowbit serve` (make loadtest; a short one runs in make test): wrk keeps
# CONNECTIONS clients asking /v1/completions for 32 tokens for SECONDS while /health is timed
# every 100 ms. Reports requests/s, generated tokens/s, latency percentiles, errors, the
# slowest /health answer and the server's RSS before and after. Fails on errors (anything but
# 200 or an intended 429), a /health answer slower than 50 ms, or RSS growing by more than 64 MiB.
#
#   scripts/loadtest.sh LOWBIT_CLI MODEL [SECONDS=30] [CONNECTIONS=8] [PARALLEL=4]
set -euo pipefail

cli=${1:?usage: scripts/loadtest.sh LOWBIT_CLI MODEL [SECONDS] [CONNECTIONS] [PARALLEL]}
model=${2:?usage}
seconds=${3:-30}
connections=${4:-8}
parallel=${5:-4}
here=$(cd "$(dirname "$0")" && pwd)
for tool in wrk curl; do
  command -v "$tool" >/dev/null || { echo "loadtest: $tool is missing (scripts/install-deps.sh)" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
"$cli" serve -m "$model" --port 0 -t 2 --parallel "$parallel" --queue 64 2>"$work/server.log" &
server=$!
base=""
for _ in $(seq 1 200); do
  base=$(grep -o 'http://[0-9.]*:[0-9]*' "$work/server.log" | head -1 || true)
  if [ -n "$base" ] && curl -sf "$base/health" >/dev/null 2>&1; then break; fi
  sleep 0.05
done
[ -n "$base" ] || { echo "loadtest: the server did not start" >&2; cat "$work/server.log" >&2; exit 1; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }  # KiB

curl -sf "$base/v1/completions" -d '{"prompt": "warm up", "max_tokens": 8}' >/dev/null
rss_before=$(rss)

( while kill -0 "$server" 2>/dev/null; do
    curl -s -o /dev/null -w '%{time_total}\n' "$base/health" >>"$work/health.txt" || true
    sleep 0.1
  done ) &
prober=$!
wrk -t 2 -c "$connections" -d "${seconds}s" --timeout 30s -s "$here/loadtest.lua" "$base/v1/completions" >"$work/wrk.txt"
kill "$prober" 2>/dev/null || true
wait "$prober" 2>/dev/null || true
rss_after=$(rss)

get() { awk -v k="$1" '$1 == k {print $2}' "$work/wrk.txt"; }
requests=$(get requests)
ok=$(get status_200); ok=${ok:-0}
limited=$(get status_429); limited=${limited:-0}
socket_errors=$(get socket_errors)
others=$(( requests - ok - limited ))
health_max=$(sort -g "$work/health.txt" | tail -1)
health_p50=$(sort -g "$work/health.txt" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
growth=$(( (rss_after - rss_before) / 1024 ))

echo "lowbit serve load test: $connections connections, $parallel slots, ${seconds} s, model $(basename "$model")"
echo "  requests          $requests ($(get requests_per_second)/s): $ok ok, $limited 429, $others other, $socket_errors socket errors"
echo "  generated tokens  $(get tokens) ($(get tokens_per_second)/s)"
echo "  latency           p50 $(get latency_p50_ms) ms, p90 $(get latency_p90_ms) ms, p99 $(get latency_p99_ms) ms"
echo "  /health           $(wc -l <"$work/health.txt") probes, median $(awk -v s="$health_p50" 'BEGIN {printf "%.1f", s * 1000}') ms, slowest $(awk -v s="$health_max" 'BEGIN {printf "%.1f", s * 1000}') ms"
echo "  server RSS        $((rss_before / 1024)) MiB before, $((rss_after / 1024)) MiB after"

status=0
if [ "$others" -ne 0 ] || [ "$socket_errors" -ne 0 ]; then echo "loadtest: FAILED: errors" >&2; status=1; fi
if [ "$ok" -eq 0 ]; then echo "loadtest: FAILED: no request succeeded" >&2; status=1; fi
if awk -v s="$health_max" 'BEGIN {exit !(s > 0.050)}'; then echo "loadtest: FAILED: /health took over 50 ms" >&2; status=1; fi
if [ "$growth" -gt 64 ]; then echo "loadtest: FAILED: RSS grew by $growth MiB" >&2; status=1; fi
kill -TERM "$server"
wait "$server" || { echo "loadtest: FAILED: the server did not exit cleanly on SIGTERM" >&2; status=1; }
exit $status
