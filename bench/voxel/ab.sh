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
# The world defaults to the one bench/voxel/run.sh makes (raw output only), made if missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=3
OUT=${OUT:-/tmp/fabforge-voxel-ab}
WORLD=""
while getopts "r:w:" opt; do
  case $opt in
    r) ROUNDS=$OPTARG ;;
    w) WORLD=$OPTARG ;;
    *) echo "usage: $0 [-r ROUNDS] [-w WORLD] NAME=BINARY ..." >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ $# -lt 1 ]; then
  echo "usage: $0 [-r ROUNDS] [-w WORLD] NAME=BINARY ..." >&2
  exit 2
fi
mkdir -p "$OUT"
if [ -z "$WORLD" ]; then
  WORLD="$OUT/creature.json"
  # The same world as run.sh: the gallery's creature_zebra with absolute paths, raw output only.
  python3 - "$WORLD" <<'PY'
import json, os, sys
w = json.load(open("examples/voxel/creature_zebra.json"))
base = os.path.abspath("examples/voxel")
w["meshes"]["creature"]["file"] = os.path.join(base, "creature.stl")
for s in w["shapes"]:
    s["fablet"] = os.path.normpath(os.path.join(base, s["fablet"]))
w["output"] = {"raw": "creature.raw"}
json.dump(w, open(sys.argv[1], "w"))
PY
fi
names=()
for spec in "$@"; do
  name=${spec%%=*}
  run=${spec#*=}
  if [ -z "$name" ] || [ "$name" = "$spec" ]; then
    echo "ab.sh: '$spec' is not NAME=BINARY" >&2
    exit 2
  fi
  bin=${run##* }
  if [ ! -x "$bin" ]; then
    echo "ab.sh: $bin (for $name) is not an executable" >&2
    exit 2
  fi
  names+=("$name")
done
: >"$OUT/runs.tsv"
for r in $(seq "$ROUNDS"); do
  for spec in "$@"; do
    name=${spec%%=*}
    read -r -a run <<<"${spec#*=}"
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
    if [ "$name" != "${names[0]}" ]; then
      # The raw slices (the world's raw output) against the first build's, this round.
      shopt -s nullglob
      mine=("$OUT/$name"/*.raw)
      first=("$OUT/${names[0]}"/*.raw)
      shopt -u nullglob
      if [ ${#mine[@]} -eq 0 ] || [ ${#first[@]} -eq 0 ]; then
        echo "not compared (no raw output)" >"$OUT/$name.same"
      elif cmp -s <(cat "${mine[@]}") <(cat "${first[@]}"); then
        echo "byte-identical" >"$OUT/$name.same"
      else
        echo "differ" >"$OUT/$name.same"
      fi
    fi
  done
done
echo
echo "medians of $ROUNDS rounds:"
python3 - "$OUT" "${names[@]}" <<'PY'
import statistics, sys, os
out, names = sys.argv[1], sys.argv[2:]
rows = [line.rstrip("\n").split("\t") for line in open(os.path.join(out, "runs.tsv"))]
print("| build | M fablet voxels/s | search thread-s | CPU s | tessellate s | volume + dither s | slices |")
print("|---|---|---|---|---|---|---|")
for n in names:
    mine = [list(map(float, r[2:])) for r in rows if r[0] == n]
    med = [statistics.median(col) for col in zip(*mine)]
    same_file = os.path.join(out, n + ".same")
    same = "reference" if n == names[0] else open(same_file).read().strip() + " (last round)"
    print(f"| {n} | {med[0]:.2f} | {med[1]:.2f} | {med[2]:.2f} | {med[4]:.2f} | {med[5]:.2f} | {same} |")
PY
