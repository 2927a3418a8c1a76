#pragma once
// The planner's working types, shared by plan.cpp (geometry per layer), perimeters.cpp (walls and
// gap fill) and order.cpp (print order and travel). Private to fabforge_toolpath.

#include <vector>

#include "fabforge/core/polygon.hpp"
#include "fabforge/gcode/toolpaths.hpp"
#include "fabforge/toolpath/plan.hpp"

namespace fabforge::toolpath::detail {

/// One extrusion before ordering: a loop (any point may become the seam) or an open polyline
/// (either end may come first).
struct PathItem {
  gcode::Feature feature = gcode::Feature::other;
  bool closed = false;
  double width_mm = 0.45;
  std::vector<Point2> points;
};

/// What one island of one layer prints, grouped in the order the groups must come: walls, then
/// gap fill, then infill.
struct IslandPaths {
  PolygonWithHoles island;  ///< the island's region, for travel checks
  std::vector<PathItem> walls;
  std::vector<PathItem> gaps;
  std::vector<PathItem> infill;
};

struct LayerPaths {
  double z_mm = 0, height_mm = 0;
  std::vector<PathItem> skirt;
  std::vector<IslandPaths> islands;
};

/// Line widths and spacing on one layer.
struct LayerWidths {
  double wall_mm = 0.45;     ///< walls and infill line width
  double spacing_mm = 0.45;  ///< centre distance of adjacent walls (flow.hpp line_spacing_mm)
  double height_mm = 0.2;
};

/// Walls and gap fill of one island. `infill_edge` receives the area left inside the innermost
/// wall (where infill lines' edges may reach); `infill_centre` the area infill centre lines may
/// occupy (infill_edge inset by half a spacing, grown by the overlap).
struct WallResult {
  std::vector<PathItem> walls;
  std::vector<PathItem> gaps;
  Regions infill_centre;
  double dropped_area_mm2 = 0;
};
WallResult make_walls(const PolygonWithHoles& island, const LayerWidths& widths, const PlanParams& params);

/// Orders one layer's paths starting from `start` (the nozzle's position at the end of the
/// previous layer; nullptr: unknown) and turns them into toolpath paths with travel decisions.
/// Returns the paths in print order; `end` receives where the nozzle stops.
std::vector<gcode::ExtrusionPath> order_layer(LayerPaths& layer, const Point2* start, const PlanParams& params,
                                              Point2& end);

}  // namespace fabforge::toolpath::detail
