#!/usr/bin/env bash
# Runs fabforge's benchmarks several times and prints the median of each, the figures that go
# into docs/benchmarks.md. Usage: scripts/run-benchmarks.sh [BUILD_DIR] [REPETITIONS]
set -euo pipefail
build=${1:-build/release}
reps=${2:-5}
for bench in "$build"/bench/*_bench; do
  [ -x "$bench" ] || continue
  echo "== $(basename "$bench") ($reps repetitions, medians)"
  "$bench" --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
           --benchmark_display_aggregates_only=true 2>/dev/null | grep -E "^(Benchmark|-+$|BM_.*_median)"
done
