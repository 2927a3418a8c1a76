#!/usr/bin/env bash
# Voxel pipeline benchmarks (issue 6), by hand: not part of ctest.
#   bench/voxel/run.sh [RUNS]        (default 3 runs each; medians are printed)
# 1. examples/voxel/creature_zebra.json at 600 x 300 dpi, 27 um: a textured (uv through the
#    nearest point), displaced (micro-spikes), distance-dependent (0.5 mm skin) creature:
#    fablet-evaluated voxels per second and time to the first slice (raw output only, so the
#    figure is the pipeline's, not PNG encoding's).
# 2. bench/voxel/tray.json: a 480 x 386 mm tray (nearly the J750's 490 x 390) holding five
#    shapes, PNG stack output, at the default 1 GB budget and at 256 MB: seconds per slice and
#    peak resident memory from /usr/bin/time -v.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-3}
FABFORGE=${FABFORGE:-build/release/src/cli/fabforge}
OUT=${OUT:-/tmp/fabforge-voxel-bench}
mkdir -p "$OUT"
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
field() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

bench/voxel/creature_world.py "$OUT/creature.json"
rate=(); first=(); search=()
for i in $(seq "$RUNS"); do
  "$FABFORGE" -q voxel "$OUT/creature.json" -o "$OUT/creature" >/dev/null
  rate+=("$(field "$OUT/creature/report.json" "r['run']['fablet_voxels_per_s'] / 1e6")")
  first+=("$(field "$OUT/creature/report.json" "r['run']['first_slice_s']")")
  search+=("$(field "$OUT/creature/report.json" "r['run']['surface_searches']['thread_s']")")
done
echo "creature_zebra 600x300 dpi 27 um: $(printf '%s\n' "${rate[@]}" | median) M fablet voxels/s (median of $RUNS), first slice $(printf '%s\n' "${first[@]}" | median) s, searches $(printf '%s\n' "${search[@]}" | median) thread-s for $(field "$OUT/creature/report.json" "r['run']['surface_searches']['voxels']") voxels"
echo "wall s per phase (last run):"
field "$OUT/creature/report.json" "{k: round(v, 3) for k, v in r['run']['phase_s'].items()}"
echo "thread-s per phase (last run; the searches are part of volume_and_dither):"
field "$OUT/creature/report.json" "{k: round(v, 3) for k, v in r['run']['phase_cpu_s'].items()}"

for mb in 1024 256; do
  per=(); rss=()
  for i in $(seq "$RUNS"); do
    /usr/bin/time -v "$FABFORGE" -q voxel bench/voxel/tray.json -o "$OUT/tray" --memory-mb "$mb" >/dev/null 2>"$OUT/time.txt"
    per+=("$(field "$OUT/tray/report.json" "r['run']['run_s'] / r['run']['slices']")")
    rss+=("$(awk '/Maximum resident/ {print $6 / 1024}' "$OUT/time.txt")")
  done
  echo "tray at ${mb} MB: $(printf '%s\n' "${per[@]}" | median) s per slice, peak RSS $(printf '%s\n' "${rss[@]}" | median) MiB (medians of $RUNS)"
done
