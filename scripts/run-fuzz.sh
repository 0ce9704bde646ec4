#!/usr/bin/env bash
# Fuzzes lowbit's model-file parsers: builds the libFuzzer targets (CMake preset "fuzz":
# clang++-14, ASan + UBSan), writes a seed corpus with lowbit's own writers, then runs each
# target for SECONDS (default 60). Exits non-zero if any target finds a crash, undefined
# behaviour, a leak, an uncaught exception or a timeout; the input that did it is kept in
# build/fuzz/artifacts/. The corpus grows in build/fuzz/corpus/ from run to run. Targets run
# side by side, one per core.
#
#   scripts/run-fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
targets=(gguf safetensors index config)
build=build/fuzz
seeds=$build/seeds
corpus=$build/corpus
logs=$build/logs
artifacts=$build/artifacts

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

rm -rf "$seeds" "$artifacts"
"$build/fuzz/fuzz_seeds" "$seeds"
mkdir -p "$logs" "$artifacts"
rm -f "$logs"/*.status

dict_for() {
  case "$1" in
    gguf) echo "-dict=fuzz/gguf.dict" ;;
    *) echo "-dict=fuzz/json.dict" ;;
  esac
}

summary=$build/summary.txt
: > "$summary"

# One target: one libFuzzer job; the time limit bounds the run, -timeout one input,
# -rss_limit_mb memory. Writes its status to $logs/$t.status.
fuzz_one() {
  local t=$1 status=0
  mkdir -p "$corpus/$t"
  "$build/fuzz/fuzz_$t" "$(dict_for "$t")" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=16384 -print_final_stats=1 -artifact_prefix="$artifacts/$t-" \
    "$corpus/$t" "$seeds/$t" >"$logs/$t.log" 2>&1 || status=$?
  echo "$status" >"$logs/$t.status"
}

# The targets are single-threaded: run as many at once as there are cores (each still gets its
# SECONDS), so that `make test` spends SECONDS x targets / cores here instead of SECONDS x targets.
parallel=$(nproc 2>/dev/null || echo 1)
running=0
for t in "${targets[@]}"; do
  echo "fuzz: $t for ${seconds}s ..."
  fuzz_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$parallel" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait

failed=0
for t in "${targets[@]}"; do
  log=$logs/$t.log
  status=$(cat "$logs/$t.status" 2>/dev/null || echo "?")
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  units=$(find "$corpus/$t" -type f | wc -l)
  line=$(printf '%-12s executions %-10s coverage (edges) %-6s features %-6s corpus %-5s %s' \
    "$t" "${runs:-?}" "${cov:-?}" "${ft:-?}" "$units" "$([ "$status" = 0 ] && echo ok || echo "FAILED (exit $status)")")
  echo "$line" | tee -a "$summary"
  if [ "$status" != 0 ]; then
    failed=1
    tail -n 40 "$log" >&2
  fi
done

if [ "$failed" -ne 0 ]; then
  echo "fuzz: a target failed; logs in $logs, inputs in $artifacts" >&2
  exit 1
fi
echo "fuzz: all targets clean (summary in $summary)"
