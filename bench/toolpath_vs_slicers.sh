#!/usr/bin/env bash
# Toolpath benchmark (issue 4; run by hand, not part of ctest): every silhouette in
# examples/toolpath/ is printed three ways with matched settings, and all three G-code files are
# measured by fabforge's own reader (`fabforge inspect`):
#   fabforge     `fabforge toolpath IMAGE` straight from the picture;
#   PrusaSlicer  2.5 (Debian prusa-slicer) from the STL of the same regions that fabforge extrudes;
#   CuraEngine   4.13 (Debian cura-engine) from that STL.
# Usage: bench/toolpath_vs_slicers.sh [BUILD_DIR (build/release)] [OUT_DIR (out/toolpath-bench)] [IMAGE.png...]
#   (images default to examples/toolpath/*.png)
# Needs: BUILD_DIR/src/cli/fabforge, prusa-slicer, CuraEngine and Cura's setting definitions, jq
# (scripts/install-deps.sh --toolpath-bench installs them), GNU date and awk (Debian base); not
# Python (bench/toolpath/cura-derive.py is only for editing cura.settings).
# Writes OUT_DIR/results.md (the tables printed at the end), OUT_DIR/metrics.tsv, and per shape
# OUT_DIR/SHAPE/: the three G-code files, part.stl, regions.json, every tool's log, the inspect
# JSON of each file (TOOL.inspect.json) and each timed run's wall seconds (times.tsv).
# Exit status: 0 once the tables are printed, whatever they say (this is a measurement, not a
# test); 1 when a tool is missing or fails to run.
#
# Settings (bench/toolpath/): bench-profile.json (fabforge printer profile), prusa.ini, and
# cura.settings, matched as listed in those files: nozzle 0.4, filament 1.75, layers 0.2 (first
# 0.2), widths 0.45 (first layer 0.5), 2 walls, 4 top / 3 bottom solid layers, 20 % gyroid sparse
# infill, connected zigzag/rectilinear solid infill at 45 degrees alternating, 1 skirt loop 3 mm
# out, the same speeds, 0.8 mm retraction at 35 mm/s above 1 mm of travel, no z-hop, absolute E,
# Marlin. All three files get the same start and end G-code (the profile's, heating and homing
# only), and "travel" counts only moves between the first and the last extrusion, so the
# comparison covers the part's own paths.
#
# Each tool keeps its own travel strategy (the default): fabforge avoids crossing perimeters
# (travel inside the part does not retract), PrusaSlicer 2.5 travels in straight lines
# (avoid_crossing_perimeters = 0 by default) and retracts on travel over 1 mm, CuraEngine combs
# ("all": travel stays inside the part where it can, without retracting) and avoids printed parts.
#
# Placement: fabforge centres the image at --at 110,110. Its STL is in bed coordinates, and both
# slicers print it where it is: PrusaSlicer with --dont-arrange (--center X,Y would move the
# part's bounding-box centre there, which is not the image centre), CuraEngine with
# mesh_position_x/y = -110 (it adds half the bed to every vertex when machine_center_is_zero is
# false). So one regions.json serves all three coverage measurements; the script checks that the
# extrusion bounds of each file are centred on the regions' bounds (the skirt is the same offset
# all round) and flags any file that is not.
#
# Wall time is the median of 5 runs (RUNS=N) of each tool, process start to exit. fabforge's timed runs
# write only the G-code (image to G-code); one untimed run before them also writes part.stl and
# regions.json for the slicers and the coverage (the slicers' time is STL to G-code). Run it on an
# otherwise idle machine: on a loaded one the medians move by tens of percent.
set -euo pipefail

runs=${RUNS:-5}  # RUNS=N to change
caller=$PWD
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
abs() { case "$1" in /*) echo "$1" ;; *) echo "$caller/$1" ;; esac; }
build=$(abs "${1:-$root/build/release}")
out=$(abs "${2:-$root/out/toolpath-bench}")
cd "$root"
settings=bench/toolpath
profile=$settings/bench-profile.json
fabforge=$build/src/cli/fabforge
cura_definitions=${CURA_DEFINITIONS:-/usr/share/cura/resources/definitions}

die() { echo "toolpath-bench: error: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found (install: scripts/install-deps.sh --toolpath-bench)"; }
[ -x "$fabforge" ] || die "$fabforge not found (build it: cmake --build $build --target fabforge)"
need prusa-slicer
need CuraEngine
need jq
need awk
[ -f "$cura_definitions/fdmprinter.def.json" ] ||
  die "$cura_definitions/fdmprinter.def.json not found (Debian package cura; or set CURA_DEFINITIONS)"
for f in "$profile" "$settings/prusa.ini" "$settings/cura.settings"; do [ -f "$f" ] || die "$f is missing"; done
images=()
if (($# > 2)); then
  for image in "${@:3}"; do images+=("$(abs "$image")"); done
else
  shopt -s nullglob
  images=(examples/toolpath/*.png)
  shopt -u nullglob
fi
((${#images[@]})) || die "no PNG in examples/toolpath/"
for image in "${images[@]}"; do [ -f "$image" ] || die "$image not found"; done
mkdir -p "$out"

prusa_version=$(prusa-slicer --help 2>&1 | grep -m1 -o 'PrusaSlicer-[0-9.]*' || true)
cura_version=$(CuraEngine help 2>&1 | grep -m1 -o 'version [0-9.]*' | sed 's/version /CuraEngine-/' || true)
case "$prusa_version" in PrusaSlicer-2.5*) ;; *) echo "toolpath-bench: note: expected PrusaSlicer 2.5, found ${prusa_version:-an unknown version}" >&2 ;; esac
case "$cura_version" in CuraEngine-4.13*) ;; *) echo "toolpath-bench: note: expected CuraEngine 4.13, found ${cura_version:-an unknown version}" >&2 ;; esac

# The same start and end G-code for all three: the benchmark profile's lines.
start_gcode=$(jq -r '.start_gcode | if type == "array" then join("\n") else . end' "$profile")
end_gcode=$(jq -r '.end_gcode | if type == "array" then join("\n") else . end' "$profile")

fabforge_args=(--profile "$profile" --at "110,110" --thickness-mm 2 --first-layer-height 0.2 --layer-height 0.2
  --line-width 0.45 --first-layer-line-width 0.5 --perimeters 2 --top-layers 4 --bottom-layers 3
  --infill-density 20% --infill-pattern gyroid --solid-pattern zigzag --infill-angle 45
  --skirt-loops 1 --skirt-distance 3)
prusa_args=(--loglevel 1 --datadir "$out/.prusaslicer-datadir" --export-gcode --load "$settings/prusa.ini"
  --dont-arrange --start-gcode "$start_gcode" --end-gcode "$end_gcode")
# Global settings first (start/end, then the file's lines); "[extruder 0]" switches to -e0.
cura_args=(slice -j "$cura_definitions/fdmprinter.def.json"
  -s "machine_start_gcode=$start_gcode" -s "machine_end_gcode=$end_gcode")
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in
    "" | "#"*) ;;
    "[extruder 0]") cura_args+=(-e0) ;;
    "["*) die "$settings/cura.settings: unknown section $line" ;;
    *=*) cura_args+=(-s "$line") ;;
    *) die "$settings/cura.settings: expected key=value, got: $line" ;;
  esac
done <"$settings/cura.settings"

# timed LOG TIMES_FILE LABEL COMMAND...: runs COMMAND $runs times (output to LOG), appends each
# run's wall seconds to TIMES_FILE and sets `median_s`. A failing run ends the benchmark.
median_s=0
timed() {
  local log=$1 times=$2 label=$3 i t0 t1 rc
  shift 3
  local all=()
  for ((i = 1; i <= runs; i++)); do
    t0=$(date +%s.%N)
    rc=0
    "$@" >"$log" 2>&1 || rc=$?
    t1=$(date +%s.%N)
    if ((rc != 0)); then
      tail -n 5 "$log" | cut -c1-300 >&2
      die "$label failed (exit $rc); full output in $log"
    fi
    all+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')")
    printf '%s\t%d\t%s\n' "$label" "$i" "${all[-1]}" >>"$times"
  done
  median_s=$(printf '%s\n' "${all[@]}" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
}

# Figures from `fabforge inspect --json` (docs/cli/inspect.md), as one tab-separated line:
# filament_mm printing_mm travel_print_mm retractions time_s layer-1 coverage problem_count and
# the extrusion bounds (min x, min y, max x, max y); "nan" where the JSON lacks a figure.
metrics_jq='
  def num: if type == "number" then . else "nan" end;
  [ (.filament_mm | num), (.printing_mm | num), (.travel_print_mm | num), (.retractions | num), (.time_s | num),
    (.coverage.fraction | num), (.problem_count | num),
    (.extrusion_bounds.min[0] | num), (.extrusion_bounds.min[1] | num),
    (.extrusion_bounds.max[0] | num), (.extrusion_bounds.max[1] | num) ]
  | @tsv'
regions_bounds_jq='[.islands[].outer[]] | [(map(.[0]) | min), (map(.[1]) | min), (map(.[0]) | max), (map(.[1]) | max)] | @tsv'

metrics=$out/metrics.tsv
printf 'shape\ttool\twall_s\tfilament_mm\tprinting_mm\ttravel_mm\tretractions\ttime_s\tcoverage\tproblems\tinspect_rc\tplacement_mm\n' >"$metrics"

# inspect SHAPE_DIR TOOL WALL_S: measures SHAPE_DIR/TOOL.gcode and appends a metrics line.
inspect() {
  local dir=$1 tool=$2 wall=$3 rc=0 line rb
  "$fabforge" inspect --json --regions "$dir/regions.json" --profile "$profile" "$dir/$tool.gcode" \
    >"$dir/$tool.inspect.json" 2>"$dir/$tool.inspect.log" || rc=$?
  # inspect exits 1 when it finds problems in the file: recorded, not fatal.
  ((rc <= 1)) || die "fabforge inspect failed on $dir/$tool.gcode (exit $rc): $(head -c 300 "$dir/$tool.inspect.log")"
  line=$(jq -r "$metrics_jq" "$dir/$tool.inspect.json") || die "fabforge inspect wrote no JSON for $dir/$tool.gcode"
  rb=$(jq -r "$regions_bounds_jq" "$dir/regions.json")
  # Placement check: distance between the centres of the extrusion bounds and the regions' bounds.
  local placement
  placement=$(printf '%s\t%s\n' "$line" "$rb" | awk -F'\t' '{
      if ($8 == "nan") { print "nan"; exit }
      dx = ($8 + $10) / 2 - ($12 + $14) / 2; dy = ($9 + $11) / 2 - ($13 + $15) / 2
      printf "%.2f\n", sqrt(dx * dx + dy * dy) }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(basename "$dir")" "$tool" "$wall" "$(cut -f1-7 <<<"$line")" "$rc" "$placement" >>"$metrics"
}

echo "toolpath-bench: ${#images[@]} shape(s); fabforge $fabforge, ${prusa_version:-PrusaSlicer ?}, ${cura_version:-CuraEngine ?}; $runs runs each; output in $out"
for image in "${images[@]}"; do
  shape=$(basename "$image" .png)
  dir=$out/$shape
  rm -rf "$dir"
  mkdir -p "$dir"
  times=$dir/times.tsv
  printf 'tool\trun\twall_s\n' >"$times"
  echo "toolpath-bench: $shape"

  # Untimed: the STL and the regions for the slicers and for the coverage.
  "$fabforge" toolpath "$image" -o "$dir/fabforge.gcode" --regions-out "$dir/regions.json" --stl "$dir/part.stl" \
    "${fabforge_args[@]}" >"$dir/fabforge-first.log" 2>&1 ||
    die "fabforge toolpath failed on $image; see $dir/fabforge-first.log: $(tail -n 3 "$dir/fabforge-first.log")"
  timed "$dir/fabforge.log" "$times" fabforge "$fabforge" toolpath "$image" -o "$dir/fabforge.gcode" "${fabforge_args[@]}"
  fabforge_s=$median_s
  timed "$dir/prusaslicer.log" "$times" prusaslicer prusa-slicer "${prusa_args[@]}" "$dir/part.stl" -o "$dir/prusaslicer.gcode"
  prusa_s=$median_s
  timed "$dir/cura.log" "$times" cura CuraEngine "${cura_args[@]}" -l "$dir/part.stl" -o "$dir/cura.gcode"
  cura_s=$median_s

  inspect "$dir" fabforge "$fabforge_s"
  inspect "$dir" prusaslicer "$prusa_s"
  inspect "$dir" cura "$cura_s"
done

# The tables, from metrics.tsv.
report() {
  echo "# Toolpath benchmark: fabforge vs PrusaSlicer vs CuraEngine"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'); fabforge $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo '+changes'),"\
    "${prusa_version:-PrusaSlicer ?}, ${cura_version:-CuraEngine ?};" \
    "$(nproc) CPU(s): $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //' || echo '?')."
  echo "Settings: bench/toolpath/ (bench-profile.json, prusa.ini, cura.settings). Wall time: median of $runs runs."
  echo "Travel: XY travel between the first and the last extrusion. Time: fabforge inspect's estimate (1000 mm/s2)."
  echo "Coverage: share of layer 1's region area swept by the layer's extrusion lines."
  awk -F'\t' -f - "$metrics" <<'AWK'
function fmt(v, f) { return (v == "nan" || v == "") ? "n/a" : sprintf(f, v) }
function pf(ok) { return ok ? "PASS" : "FAIL" }
NR == 1 { next }
{
  if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
  k = $1 SUBSEP $2
  wall[k] = $3; fil[k] = $4; prn[k] = $5; trv[k] = $6; ret[k] = $7; tim[k] = $8; cov[k] = $9; prob[k] = $10; rc[k] = $11; plc[k] = $12
}
END {
  name["fabforge"] = "fabforge"; name["prusaslicer"] = "PrusaSlicer"; name["cura"] = "CuraEngine"
  split("fabforge prusaslicer cura", tools, " ")
  for (i = 1; i <= n; i++) {
    s = order[i]
    printf "\n## %s\n\n", s
    print "| tool | wall s | filament mm | printing mm | travel mm | retractions | time min | layer-1 coverage | problems |"
    print "|---|---:|---:|---:|---:|---:|---:|---:|---|"
    for (t = 1; t <= 3; t++) {
      k = s SUBSEP tools[t]
      p = prob[k] == "nan" ? "?" : prob[k]
      if (rc[k] == 1 && p == "0") p = "yes"
      if (plc[k] != "nan" && plc[k] > 0.3) p = p ", placement off by " plc[k] " mm"
      printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", name[tools[t]], fmt(wall[k], "%.3f"), fmt(fil[k], "%.1f"),
             fmt(prn[k], "%.1f"), fmt(trv[k], "%.1f"), fmt(ret[k], "%d"), (tim[k] == "nan" ? "n/a" : sprintf("%.1f", tim[k] / 60)),
             fmt(cov[k], "%.4f"), p
    }
  }
  printf "\n## Targets\n\n"
  print "Travel: fabforge <= 0.7 x the better slicer's. Filament: within 3 % of the slicers' mean."
  print "Coverage: fabforge >= 0.97 and >= the better slicer's - 0.01. Wall time: fabforge below both slicers.\n"
  print "| shape | travel fabforge / better slicer | <= 0.70 | filament vs slicers' mean | within 3 % | layer-1 coverage fabforge (better slicer) | >= 0.97 and >= better - 0.01 | wall s fabforge / PrusaSlicer / CuraEngine | below both |"
  print "|---|---:|---|---:|---|---:|---|---:|---|"
  for (i = 1; i <= n; i++) {
    s = order[i]; f = s SUBSEP "fabforge"; a = s SUBSEP "prusaslicer"; c = s SUBSEP "cura"
    best_trv = trv[a] < trv[c] ? trv[a] : trv[c]
    if (best_trv > 0) { ratio = trv[f] / best_trv; ok_t = ratio <= 0.7; rt = sprintf("%.2f", ratio) }
    else { ok_t = trv[f] <= 0; rt = trv[f] <= 0 ? "0 / 0" : "inf" }
    mean_fil = (fil[a] + fil[c]) / 2
    dev = mean_fil > 0 ? 100 * (fil[f] - mean_fil) / mean_fil : 0
    ok_f = dev <= 3 && dev >= -3
    best_cov = cov[a] > cov[c] ? cov[a] : cov[c]
    ok_c = cov[f] != "nan" && cov[f] >= 0.97 && cov[f] >= best_cov - 0.01
    ok_w = wall[f] < wall[a] && wall[f] < wall[c]
    pass_t += ok_t; pass_f += ok_f; pass_c += ok_c; pass_w += ok_w
    sum_f_trv += trv[f]; sum_best_trv += best_trv; sum_abs_dev += dev < 0 ? -dev : dev
    if (i == 1 || cov[f] < min_cov) min_cov = cov[f]
    sum_wf += wall[f]; sum_wa += wall[a]; sum_wc += wall[c]
    printf "| %s | %s | %s | %+.1f %% | %s | %s (%s) | %s | %.3f / %.3f / %.3f | %s |\n", s, rt, pf(ok_t), dev, pf(ok_f),
           fmt(cov[f], "%.4f"), fmt(best_cov, "%.4f"), pf(ok_c), wall[f], wall[a], wall[c], pf(ok_w)
  }
  printf "| **all %d** | %s | %d/%d | mean abs %.1f %% | %d/%d | min %s | %d/%d | total %.2f / %.2f / %.2f | %d/%d |\n", n,
         (sum_best_trv > 0 ? sprintf("%.2f", sum_f_trv / sum_best_trv) : "n/a"), pass_t, n, sum_abs_dev / n, pass_f, n,
         fmt(min_cov, "%.4f"), pass_c, n, sum_wf, sum_wa, sum_wc, pass_w, n
}
AWK
}
report | tee "$out/results.md"
