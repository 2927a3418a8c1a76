#!/usr/bin/env bash
# Interleaved A/B comparison of fabforge binaries on the voxel creature benchmark (issue 6), by
# hand, not part of ctest. This project's benchmark machine is a shared VM whose speed drifts by
# 10-20% within minutes, so two builds are only comparable when their runs alternate: round r runs
# every binary once, in the order given, before round r + 1 starts.
#   bench/voxel/ab.sh [-r ROUNDS] [-w WORLD] NAME=BINARY [NAME=BINARY ...]
#   e.g. bench/voxel/ab.sh -r 5 base=/tmp/fabforge-base new=build/release/src/cli/fabforge
# A binary may carry environment settings before it, NAME='VAR=value BINARY'.
# Per run: M fablet voxels/s, the surface searches' thread-seconds, CPU seconds and CPU use (from
# /usr/bin/time), and the phase times the report gives; then each build's medians, and whether
# each build's raw slices are byte-identical to the first build's (a speed change should not
# change them; a tolerance change may).
# The world defaults to run.sh's creature (bench/voxel/creature_world.py: raw output only).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=3
OUT=${OUT:-/tmp/fabforge-voxel-ab}
WORLD=""
usage() {
  echo "usage: $0 [-r ROUNDS] [-w WORLD] NAME=BINARY ..." >&2
  exit 2
}
while getopts "r:w:" opt; do
  case $opt in
    r) ROUNDS=$OPTARG ;;
    w) WORLD=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
mkdir -p "$OUT"
if [ -z "$WORLD" ]; then
  WORLD="$OUT/creature.json"
  bench/voxel/creature_world.py "$WORLD"
fi
# Each NAME=BINARY parsed once: names[k] and the command (environment settings, binary) runs[k].
names=(); runs=()
for spec in "$@"; do
  name=${spec%%=*}
  if [ -z "$name" ] || [ "$name" = "$spec" ]; then
    echo "ab.sh: '$spec' is not NAME=BINARY" >&2
    exit 2
  fi
  names+=("$name")
  runs+=("${spec#*=}")
  bin=${runs[-1]##* }
  if [ ! -x "$bin" ]; then
    echo "ab.sh: $bin (for $name) is not an executable" >&2
    exit 2
  fi
done
: >"$OUT/runs.tsv"
for r in $(seq "$ROUNDS"); do
  for k in "${!names[@]}"; do
    name=${names[$k]}
    read -r -a run <<<"${runs[$k]}"
    rm -rf "${OUT:?}/${name:?}"
    /usr/bin/time -f "%U %S %e" -o "$OUT/$name.time" env "${run[@]}" -q voxel "$WORLD" -o "$OUT/$name" >/dev/null
    python3 - "$OUT/$name/report.json" "$OUT/$name.time" "$name" "$r" >>"$OUT/runs.tsv" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))["run"]
user, sys_s, wall = map(float, open(sys.argv[2]).read().split())
phase = run["phase_s"]
print("\t".join(str(v) for v in [sys.argv[3], sys.argv[4], run["fablet_voxels_per_s"] / 1e6,
      run.get("surface_searches", {}).get("thread_s", 0.0), user + sys_s, (user + sys_s) / wall,
      phase["tessellate"], phase["volume_and_dither"], phase["index"]]))
PY
    tail -n 1 "$OUT/runs.tsv" | awk -F'\t' '{printf "round %s  %-12s %6.3f M/s  searches %6.3f thread-s  cpu %6.2f s  use %5.3f  tessellate %5.2f  volume %5.2f  index %5.2f\n", $2, $1, $3, $4, $5, $6, $7, $8, $9}'
  done
done
# The raw slices (the world's raw output) of each build's last run against the first build's.
shopt -s nullglob
first=("$OUT/${names[0]}"/*.raw)
for name in "${names[@]:1}"; do
  mine=("$OUT/$name"/*.raw)
  if [ ${#mine[@]} -eq 0 ] || [ ${#first[@]} -eq 0 ]; then
    echo "not compared (no raw output)"
  elif cmp -s <(cat "${mine[@]}") <(cat "${first[@]}"); then
    echo "byte-identical"
  else
    echo "differ"
  fi
done >"$OUT/slices.txt"
shopt -u nullglob
echo
echo "medians of $ROUNDS rounds:"
python3 - "$OUT" "${names[@]}" <<'PY'
import statistics, sys, os
out, names = sys.argv[1], sys.argv[2:]
rows = [line.rstrip("\n").split("\t") for line in open(os.path.join(out, "runs.tsv"))]
slices = ["reference"] + [line.strip() + " (last round)" for line in open(os.path.join(out, "slices.txt"))]
print("| build | M fablet voxels/s | search thread-s | CPU s | tessellate s | volume + dither s | slices |")
print("|---|---|---|---|---|---|---|")
for n, same in zip(names, slices):
    mine = [list(map(float, r[2:])) for r in rows if r[0] == n]
    med = [statistics.median(col) for col in zip(*mine)]
    print(f"| {n} | {med[0]:.2f} | {med[1]:.2f} | {med[2]:.2f} | {med[4]:.2f} | {med[5]:.2f} | {same} |")
PY
