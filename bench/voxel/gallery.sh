#!/usr/bin/env bash
# Renders every world of the voxel gallery (examples/voxel/*.json) at its printer's resolution
# (600 x 300 dpi, 27 um layers: the J750 of the examples) with the outputs the world asks for, and
# prints a markdown table: grid, voxels, micropolygons, wall time, rate, peak RSS (from
# /usr/bin/time -v) and the size of what was written. By hand, not part of ctest.
#   bench/voxel/gallery.sh [WORLD...]      (default: all; e.g. creature_zebra postcard)
set -euo pipefail
cd "$(dirname "$0")/../.."
FABFORGE=${FABFORGE:-build/release/src/cli/fabforge}
OUT=${OUT:-/tmp/fabforge-voxel-gallery}
mkdir -p "$OUT"
if [ $# -eq 0 ]; then
  set -- $(ls examples/voxel/*.json | xargs -n1 basename | sed 's/\.json$//')
fi
echo "| world | grid (voxels) | shape voxels | micropolygons | wall s | M fablet voxels/s | peak RSS MiB (budget) | output MB |"
echo "|---|---|---|---|---|---|---|---|"
for name in "$@"; do
  dir="$OUT/$name"
  rm -rf "$dir"
  /usr/bin/time -v "$FABFORGE" -q voxel "examples/voxel/$name.json" -o "$dir" >/dev/null 2>"$OUT/$name.time" || {
    echo "| $name | failed: $(grep -v '^\s' "$OUT/$name.time" | head -1) |"
    continue
  }
  rss=$(awk '/Maximum resident/ {printf "%.0f", $6 / 1024}' "$OUT/$name.time")
  wall=$(awk '/Elapsed \(wall clock\)/ {n = split($8, t, ":"); s = 0; for (i = 1; i <= n; ++i) s = s * 60 + t[i]; printf "%.1f", s}' "$OUT/$name.time")
  bytes=$(du -sb --exclude=report.json "$dir" | cut -f1)
  python3 - "$dir/report.json" "$name" "$rss" "$wall" "$bytes" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
g, run = r["grid"], r["run"]
name, rss, wall, size = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
print(f"| {name} | {g['nx']} x {g['ny']} x {g['nz']} ({r['voxels'] / 1e6:.1f} M) | {run['shape_voxels'] / 1e6:.1f} M "
      f"| {run['micropolygons'] / 1e6:.1f} M | {wall} | {run['fablet_voxels_per_s'] / 1e6:.2f} "
      f"| {rss} ({r['memory_budget_bytes'] >> 20}) | {size / 1e6:.1f} |")
PY
done
