#!/usr/bin/env bash
# The relief benchmark (issue 3): every bundled photo, every solver, several runs (seeds), one job
# per process; prints the medians as a Markdown table for docs/benchmarks.md.
# Usage: scripts/relief-benchmark.sh [BUILD_DIR] [RUNS] [SOLVERS...]
# Uses ../shared/data/images/chelsea.png when present (the AutoForge anchor image), else the
# bundled copy of the same file.
set -euo pipefail
build=${1:-build/release}
runs=${2:-3}
shift $(( $# > 2 ? 2 : $# )) || true
solvers=("${@:-discrete gumbel chain}")
read -r -a solvers <<< "${solvers[*]}"
bench="$build/bench/relief_bench"
[ -x "$bench" ] || { echo "build $bench first (cmake --build $build --target relief_bench)" >&2; exit 1; }
chelsea=examples/relief/chelsea.png
[ -f ../shared/data/images/chelsea.png ] && chelsea=../shared/data/images/chelsea.png
images=("$chelsea" examples/relief/coffee.png examples/relief/astronaut.png)
results=$(mktemp /tmp/relief-bench.XXXXXX.jsonl)
out=$(mktemp -d /tmp/relief-bench-out.XXXXXX)
trap 'rm -rf "$out"' EXIT
for image in "${images[@]}"; do
  for solver in "${solvers[@]}"; do
    for run in $(seq 1 "$runs"); do
      "$bench" "$image" "$solver" 0 "$run" "$out/job" 2>/dev/null | tee -a "$results" | cut -c1-160
    done
  done
done
echo "raw results: $results"
"$bench" --summary "$results"
