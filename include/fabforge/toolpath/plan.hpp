#pragma once
/// Path planning: the third stage of the toolpath pipeline. Layer regions become extrusion paths
/// in print order: perimeters by polygon offsetting (Clipper, integer nanometres), thin walls and
/// gaps as single variable lines, solid and sparse infill, a skirt, and an order over islands,
/// perimeters and infill lines (with seam and direction choices) that keeps travel short and
/// inside the part. Output is plain gcode::Toolpaths for the writer.

#include <string>
#include <vector>

#include "fabforge/core/run_context.hpp"
#include "fabforge/gcode/toolpaths.hpp"
#include "fabforge/toolpath/infill.hpp"
#include "fabforge/toolpath/layers.hpp"

namespace fabforge::toolpath {

struct PlanParams {
  double nozzle_diameter_mm = 0.4;
  double line_width_mm = 0.45;  ///< walls and infill
  double first_layer_line_width_mm = 0.5;
  int perimeters = 2;
  int top_layers = 4;
  int bottom_layers = 3;
  double infill_density = 0.2;  ///< sparse infill, [0, 1]; 0: none
  InfillPattern sparse_pattern = InfillPattern::gyroid;
  InfillPattern solid_pattern = InfillPattern::zigzag;  ///< zigzag, rectilinear or concentric
  /// Solid and line infill turn by 90 degrees every layer; honeycomb, triangles and gyroid keep it.
  double infill_angle_deg = 45;
  /// Infill lines overlap the innermost perimeter by this fraction of the line width.
  double infill_overlap = 0.15;
  int skirt_loops = 1;
  double skirt_distance_mm = 3;
  /// Travel: route inside the part (avoid crossing perimeters) and skip the retraction when the
  /// route stays inside; otherwise travel straight and retract.
  bool avoid_crossing_perimeters = true;
  /// A travel that would cross the outline is routed along it instead when the route is at most
  /// this fraction (or 2 mm) longer than the straight line; otherwise it goes straight and retracts.
  double max_detour = 0.1;
  /// Order optimisation effort: 0 nearest neighbour only, 1 + 2-opt, 2 + Or-opt and direction
  /// and seam choice (default).
  int optimize = 2;
};

struct PlanReport {
  std::size_t paths = 0;
  double extrusion_mm = 0;
  /// Areas narrower than one line that were printed as single gap-fill lines, and those too
  /// narrow for any line (< 0.25 x nozzle) or too small to be worth one (< line width^2),
  /// which are dropped (with their total area).
  int gap_fill_paths = 0;
  double dropped_area_mm2 = 0;
  std::vector<std::string> warnings;
};

struct PlannedToolpaths {
  gcode::Toolpaths toolpaths;
  PlanReport report;
};

/// Plans every layer (in parallel; the result does not depend on the thread count). Throws
/// usage_error for parameters out of range.
PlannedToolpaths plan_toolpaths(const std::vector<LayerRegions>& layers, const PlanParams& params, RunContext& context);

}  // namespace fabforge::toolpath
