// The checks: what would make a printer misbehave or a print fail, each reported with its line
// and the values involved. Runs of faulty moves (a file shifted off the bed, a layer printed
// with twice the flow) are reported once, with their length, instead of once per move.

#include <algorithm>
#include <cmath>

#include "fabforge/gcode/analysis.hpp"
#include "fabforge/gcode/flow.hpp"

#include "analysis_internal.hpp"

namespace fabforge::gcode::detail {

std::string StreamChecks::at(std::size_t line) const { return source_ + ", line " + std::to_string(line) + ": "; }

void StreamChecks::syntax(std::size_t line, const std::string& what) {
  problems_.add(ProblemKind::syntax, line, at(line) + what + ".");
}

void StreamChecks::not_finite(std::size_t line, std::string_view command, char letter, double value) {
  problems_.add(ProblemKind::not_finite, line,
                at(line) + strprintf("%.*s has %c = %s, which is not a finite number; the line was skipped.",
                                     static_cast<int>(command.size()), command.data(), letter,
                                     std::isnan(value) ? "NaN" : (value > 0 ? "Inf" : "-Inf")));
}

void StreamChecks::start_macro(std::string_view name, std::size_t line) {
  if (!start_macro_.empty()) return;
  start_macro_ = std::string(name);
  start_macro_line_ = line;
}

// Firmware refuses to extrude below its minimum temperature; a file that pushes filament
// before asking for any nozzle temperature only works if something else heated the nozzle.
void StreamChecks::extrusion(std::size_t line, double e) {
  if (heated_ || cold_reported_) return;
  cold_reported_ = true;
  if (!start_macro_.empty()) {
    notes_.push_back(
        strprintf("Extrusion starts at line %zu before any nozzle temperature command; the start macro "
                  "%s (line %zu) is assumed to heat the nozzle.",
                  line, start_macro_.c_str(), start_macro_line_));
    return;
  }
  problems_.add(ProblemKind::cold_extrusion, line,
                at(line) + strprintf("the move pushes %.3f mm of filament before any nozzle temperature was set "
                                     "(M104, M109, M568 or G10 P.. S..); the firmware would refuse to extrude cold.",
                                     e));
}

// A retraction takes E back by a few millimetres; E falling far below what the layer already
// reached means the program lost track of E (e.g. a missing G92 E0) and the firmware would pull
// the filament out.
void StreamChecks::absolute_e(std::size_t line, double e_before, double e_after) {
  e_mark_ = std::max(e_mark_, e_before);
  if (e_after < e_mark_ - options_.max_retraction_mm) {
    problems_.add(ProblemKind::e_backwards, line,
                  at(line) + strprintf("absolute E goes back to %.5f, %.3f mm below the %.5f already reached in this "
                                       "layer; more than the %g mm a retraction may take, so E is running backwards "
                                       "(a missing G92 E0?).",
                                       e_after, e_mark_ - e_after, e_mark_, options_.max_retraction_mm));
    e_mark_ = e_after;
    return;
  }
  e_mark_ = std::max(e_mark_, e_after);
}

namespace {

std::string bed_limits(const AnalyzeOptions::Bed& b, double tolerance) {
  std::string t = strprintf("X %g..%g, Y %g..%g", b.origin_x_mm, b.origin_x_mm + b.width_mm, b.origin_y_mm,
                            b.origin_y_mm + b.depth_mm);
  if (std::isfinite(b.max_height_mm)) t += strprintf(", Z 0..%g", b.max_height_mm);
  return t + strprintf(" mm, with %g mm tolerance", tolerance);
}

// Which way the point leaves the bed, e.g. "X is 3.500 mm beyond the bed".
std::string how_outside(const AnalyzeOptions::Bed& b, double x, double y, double z) {
  const double over[4] = {b.origin_x_mm - x, x - (b.origin_x_mm + b.width_mm), b.origin_y_mm - y,
                          y - (b.origin_y_mm + b.depth_mm)};
  int worst = 0;
  for (int i = 1; i < 4; ++i)
    if (over[i] > over[worst]) worst = i;
  double z_over = std::max(-z, std::isfinite(b.max_height_mm) ? z - b.max_height_mm : -1.0);
  if (z_over > over[worst])
    return strprintf("Z is %.3f mm %s", z_over, z < 0 ? "below the bed" : "above the maximum height");
  return strprintf("%c is %.3f mm beyond the %s edge", worst < 2 ? 'X' : 'Y', over[worst],
                   worst == 0   ? "left"
                   : worst == 1 ? "right"
                   : worst == 2 ? "front"
                                : "back");
}

}  // namespace

void check_bed(const GcodeAnalysis& analysis, const AnalyzeOptions::Bed& bed, double tolerance_mm,
               const std::string& source, ProblemList& problems) {
  const double x0 = bed.origin_x_mm - tolerance_mm, x1 = bed.origin_x_mm + bed.width_mm + tolerance_mm;
  const double y0 = bed.origin_y_mm - tolerance_mm, y1 = bed.origin_y_mm + bed.depth_mm + tolerance_mm;
  const double z0 = -tolerance_mm, z1 = bed.max_height_mm + tolerance_mm;  // +inf when unknown
  const auto outside = [&](const Move& m) {
    return m.x1 < x0 || m.x1 > x1 || m.y1 < y0 || m.y1 > y1 || m.z1 < z0 || m.z1 > z1;
  };
  const std::vector<Move>& moves = analysis.moves;
  for (std::size_t i = 0; i < moves.size(); ++i) {
    if (!outside(moves[i])) continue;
    std::size_t end = i + 1;
    while (end < moves.size() && outside(moves[end])) ++end;
    const Move& m = moves[i];
    std::string msg =
        source + ", line " + std::to_string(m.line) + ": " +
        strprintf("the %s to X%.3f Y%.3f Z%.3f leaves the bed (%s): %s", m.extruding ? "extrusion" : "move", m.x1, m.y1,
                  m.z1, bed_limits(bed, tolerance_mm).c_str(), how_outside(bed, m.x1, m.y1, m.z1).c_str());
    if (end - i == 2) {
      msg += strprintf("; the move after it (line %u) is outside too", static_cast<unsigned>(moves[end - 1].line));
    } else if (end - i > 2) {
      msg += strprintf("; the %zu moves after it, up to line %u, are outside too", end - i - 1,
                       static_cast<unsigned>(moves[end - 1].line));
    }
    problems.add(ProblemKind::outside_bed, m.line, msg + ".");
    i = end - 1;
  }
}

double effective_layer_height(const GcodeAnalysis& analysis, std::int32_t layer) {
  if (layer < 0 || static_cast<std::size_t>(layer) >= analysis.layers.size()) return 0;
  const LayerStats& l = analysis.layers[static_cast<std::size_t>(layer)];
  if (l.height_mm >= 0.02) return l.height_mm;
  // Below the previous layer: a first layer under a start-G-code purge; the bed is beneath it.
  if (l.height_mm <= 0) return l.z_mm > 0.02 ? l.z_mm : 0;
  return 0;  // implausibly thin (a spiral vase rises a little per move): not checkable
}

namespace {

struct FlowVerdict {
  bool bad = false;
  int type = 0;  // 1 over-extrusion, 2 under-extrusion, 3 volumetric flow
  std::string what;
};

FlowVerdict judge_flow(const GcodeAnalysis& a, const AnalyzeOptions& o, const Move& m, double xy, double h) {
  const double area = m.e * filament_area_mm2(a.filament_diameter_mm) / xy;
  const double width = width_from_area(area, h);
  const double speed = std::min<double>(m.feedrate_mm_s, o.max_feedrate_mm_s);
  const double volumetric = area * speed;
  const double nozzle = a.nozzle_diameter_mm;
  FlowVerdict v;
  if (width > o.max_width_factor * nozzle || width < o.min_width_factor * nozzle) {
    const bool over = width > o.max_width_factor * nozzle;
    v.bad = true;
    v.type = over ? 1 : 2;
    v.what = strprintf(
        "the extrusion of %.5f mm of filament over %.3f mm at layer height %.3f mm makes a line "
        "%.3f mm wide, %s %g x the %g mm nozzle (%s-extrusion)",
        m.e, xy, h, width, over ? "more than" : "less than", over ? o.max_width_factor : o.min_width_factor, nozzle,
        over ? "over" : "under");
  } else if (volumetric > o.max_volumetric_mm3_s) {
    v.bad = true;
    v.type = 3;
    v.what = strprintf(
        "the extrusion asks for %.2f mm^3/s of plastic (%.3f mm^2 at %.1f mm/s), more than the "
        "%g mm^3/s limit",
        volumetric, area, speed, o.max_volumetric_mm3_s);
  }
  return v;
}

}  // namespace

void check_flow(const GcodeAnalysis& analysis, const AnalyzeOptions& options, const std::string& source,
                ProblemList& problems) {
  constexpr double kMinLengthMm = 0.05;
  const std::vector<Move>& moves = analysis.moves;
  // Runs of faulty extruding moves within a layer are one problem.
  std::size_t run_count = 0, run_problem_line = 0;
  std::string run_message;
  std::int32_t run_layer = -1;
  int run_type = 0;
  std::uint32_t run_last_line = 0;
  const auto flush = [&] {
    if (run_count == 0) return;
    std::string msg = run_message;
    if (run_count == 2) {
      msg += strprintf("; so is the next extruding move (line %u)", static_cast<unsigned>(run_last_line));
    } else if (run_count > 2) {
      msg += strprintf("; so are the next %zu extruding moves of the layer, up to line %u", run_count - 1,
                       static_cast<unsigned>(run_last_line));
    }
    problems.add(ProblemKind::flow, run_problem_line, msg + ".");
    run_count = 0;
  };
  for (const Move& m : moves) {
    if (!m.extruding || m.layer < 0) continue;  // start G-code (purge lines) is exempt
    const double xy = xy_length(m);
    if (xy < kMinLengthMm) continue;
    const double h = effective_layer_height(analysis, m.layer);
    if (h <= 0) continue;
    if (m.layer != run_layer) flush();
    FlowVerdict v = judge_flow(analysis, options, m, xy, h);
    if (!v.bad || v.type != run_type) flush();
    if (!v.bad) continue;
    if (run_count == 0) {
      run_problem_line = m.line;
      run_message = source + ", line " + std::to_string(m.line) + ": " + v.what;
      run_layer = m.layer;
      run_type = v.type;
    }
    ++run_count;
    run_last_line = m.line;
  }
  flush();
}

}  // namespace fabforge::gcode::detail
