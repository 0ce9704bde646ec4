#!/usr/bin/env bash
# Fuzzes lowbit's model-file parsers: builds the libFuzzer targets (CMake preset "fuzz":
# clang++-14, ASan + UBSan), writes a seed corpus with lowbit's own writers, then runs each
# target for SECONDS (default 60). Exits non-zero if any target finds a crash, undefined
# behaviour, a leak, an uncaught exception or a timeout; the input that did it is kept in
# build/fuzz/artifacts/. The corpus grows in build/fuzz/corpus/ from run to run.
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

dict_for() {
  case "$1" in
    gguf) echo "-dict=fuzz/gguf.dict" ;;
    *) echo "-dict=fuzz/json.dict" ;;
  esac
}

failed=0
summary=$build/summary.txt
: > "$summary"
for t in "${targets[@]}"; do
  mkdir -p "$corpus/$t"
  log=$logs/$t.log
  echo "fuzz: $t for ${seconds}s ..."
  status=0
  # One job; the time limit bounds the run, -timeout bounds one input, -rss_limit_mb memory.
  "$build/fuzz/fuzz_$t" "$(dict_for "$t")" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=16384 -print_final_stats=1 -artifact_prefix="$artifacts/$t-" \
    "$corpus/$t" "$seeds/$t" >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  units=$(find "$corpus/$t" -type f | wc -l)
  line=$(printf '%-12s executions %-10s coverage (edges) %-6s features %-6s corpus %-5s %s' \
    "$t" "${runs:-?}" "${cov:-?}" "${ft:-?}" "$units" "$([ "$status" -eq 0 ] && echo ok || echo "FAILED (exit $status)")")
  echo "$line" | tee -a "$summary"
  if [ "$status" -ne 0 ]; then
    failed=1
    tail -n 40 "$log" >&2
  fi
done

if [ "$failed" -ne 0 ]; then
  echo "fuzz: a target failed; logs in $logs, inputs in $artifacts" >&2
  exit 1
fi
echo "fuzz: all targets clean (summary in $summary)"
