#pragma once
/// Infill patterns: lines that fill an area, clipped to it. Used by the planner for solid layers
/// (rectilinear or concentric at full density) and sparse infill (any pattern at a density).
/// Pure geometry on mm coordinates; Clipper (integer nanometres) underneath.

#include <string_view>
#include <vector>

#include "fabforge/core/polygon.hpp"

namespace fabforge::toolpath {

enum class InfillPattern {
  rectilinear,  ///< parallel lines, one direction per layer, each line printed on its own
  zigzag,       ///< parallel lines joined end to end along the boundary into long polylines
  concentric,   ///< inward offsets of the boundary (closed loops)
  honeycomb,    ///< hexagonal cells (zigzag lines in alternating directions per layer)
  triangles,    ///< three line families at 60 degrees on every layer
  gyroid,       ///< the gyroid surface sampled at the layer's z
};
std::string_view infill_pattern_name(InfillPattern pattern);
/// Parses a pattern name as infill_pattern_name writes it ("lines" is accepted for
/// rectilinear); throws usage_error listing the valid names.
InfillPattern parse_infill_pattern(std::string_view name);

struct InfillParams {
  InfillPattern pattern = InfillPattern::zigzag;
  /// Fraction of the area the pattern's lines cover, (0, 1]. 1 gives adjacent lines at
  /// line_spacing_mm (solid).
  double density = 0.2;
  double line_width_mm = 0.45;
  /// Centre distance of adjacent lines at density 1 (flow.hpp line_spacing_mm).
  double line_spacing_mm = 0.45;
  double angle_deg = 45;  ///< direction of the lines (rectilinear, zigzag); rotation of the others
  double z_mm = 0;        ///< the layer's height, for patterns that vary with z (gyroid)
  int layer_index = 0;    ///< for patterns that alternate per layer (honeycomb)
  /// Join neighbouring lines by a short run along the boundary when the join stays inside the
  /// area and is shorter than this multiple of the line spacing (zigzag, honeycomb, gyroid).
  double max_connection_factor = 3.0;
  /// Lines (or pieces) shorter than this are dropped (mm).
  double min_length_mm = 0.2;
  friend bool operator==(const InfillParams&, const InfillParams&) = default;
};

struct InfillLine {
  std::vector<Point2> points;
  bool closed = false;
};

/// Fills `area` (the region left inside the perimeters) with the pattern. Lines are the centre
/// lines of extrusions of line_width_mm; they stay inside `area`. The same inputs always give the
/// same lines (no randomness, no dependence on thread count). Order is geometric (the planner
/// reorders for travel).
std::vector<InfillLine> fill_area(const Regions& area, const InfillParams& params);

}  // namespace fabforge::toolpath
