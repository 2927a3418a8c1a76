#pragma once
/// Toolpaths: the plain data between a path planner (fabforge_toolpath today, a learned
/// generator later) and the G-code writer. Extrusion paths per layer in print order, in bed
/// millimetres, with the width each line is meant to have; the writer turns width and layer
/// height into E with the flow model (flow.hpp) and inserts the travel moves between paths.

#include <cstdint>
#include <string_view>
#include <vector>

#include "fabforge/core/polygon.hpp"

namespace fabforge::gcode {

/// What a move prints. Written as ";TYPE:<name>" comments (names from feature_name) so G-code
/// viewers colour them, and read back from fabforge's, PrusaSlicer's and Cura's comments.
enum class Feature : std::uint8_t {
  wall_outer,
  wall_inner,
  gap_fill,      ///< thin walls and gaps too narrow for a full line
  solid_infill,  ///< bottom and internal solid layers
  top_solid_infill,
  sparse_infill,
  skirt,
  support,
  other,  ///< anything a foreign file labels otherwise, or unlabelled extrusion
};
inline constexpr int kFeatureCount = 9;

/// The comment name fabforge writes: "WALL-OUTER", "WALL-INNER", "GAP-FILL", "SKIN",
/// "TOP-SKIN", "FILL", "SKIRT", "SUPPORT", "OTHER" (Cura's names where Cura has one).
std::string_view feature_name(Feature feature);
/// Maps a ";TYPE:" comment value from fabforge, PrusaSlicer ("External perimeter", "Perimeter",
/// "Overhang perimeter", "Internal infill", "Solid infill", "Top solid infill", "Bridge infill",
/// "Gap fill", "Skirt/Brim", "Support material", ...) or Cura ("WALL-OUTER", "WALL-INNER", "SKIN",
/// "FILL", "SKIRT", "SUPPORT", ...) to a Feature; unknown names give Feature::other.
Feature feature_from_comment(std::string_view name);

/// One extrusion: a polyline (or a closed loop) printed at one width.
struct ExtrusionPath {
  Feature feature = Feature::other;
  bool closed = false;  ///< a loop: the writer prints back to points.front() at the end
  double width_mm = 0.45;
  /// Speed factor for this path on top of the profile's speed for its feature (1 = as profiled);
  /// planners lower it for very short paths.
  double speed_factor = 1.0;
  std::vector<Point2> points;  ///< at least 2 (a closed path: at least 3)

  /// How to get here from where the previous path ended: through these points first (empty:
  /// straight). A planner that routes travel inside the part sets retract_before = false; the
  /// writer still retracts when the travel is longer than the profile's retract_min_travel_mm
  /// and retract_before is true.
  std::vector<Point2> travel_via;
  bool retract_before = true;
};

struct ToolpathLayer {
  double z_mm = 0;                   ///< top of the layer: the nozzle height while printing it
  double height_mm = 0;              ///< thickness of this layer
  std::vector<ExtrusionPath> paths;  ///< in print order
};

struct Toolpaths {
  std::vector<ToolpathLayer> layers;  ///< bottom to top, z strictly increasing
};

/// Extruded length (sum of segment lengths, closing edge included) of a path.
double path_length(const ExtrusionPath& path);

}  // namespace fabforge::gcode
