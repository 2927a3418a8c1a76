#pragma once
// Private to fabforge_toolpath: the pieces shared by infill.cpp (dispatch, clipping, joining lines
// along the boundary) and infill_patterns.cpp (the pattern generators).
//
// Every generator works in a rotated frame: u runs along the pattern's lines, v across them. Grid
// positions are multiples of the spacing in that frame, measured from the bed origin, so sparse
// infill lands on the same lines layer after layer whatever the area's shape.

#include <vector>

#include "fabforge/core/polygon.hpp"
#include "fabforge/toolpath/infill.hpp"

namespace fabforge::toolpath::infill_detail {

using Polyline = std::vector<Point2>;

/// At or above this density a fill is solid: line positions are fitted to each island instead
/// of the global grid (nothing stacks on solid layers, and fitting leaves no gap at the edges).
inline constexpr double kSolidDensity = 0.999;

/// Rotation by an angle: to_local gives (u, v) with u along direction angle, v across it.
struct Frame {
  double c = 1, s = 0;
  static Frame degrees(double angle_deg);
  Point2 to_local(Point2 p) const { return {p.x * c + p.y * s, -p.x * s + p.y * c}; }
  Point2 to_world(Point2 q) const { return {q.x * c - q.y * s, q.x * s + q.y * c}; }
};

Box2 local_bounds(const Regions& area, const Frame& frame);
double polyline_length(const Polyline& line);
/// Douglas-Peucker: drops points closer than `tolerance` to the simplified polyline.
Polyline simplify(const Polyline& line, double tolerance);

/// Lines v = k * spacing (integer k) across the area's extent in the frame, as world polylines
/// reaching past the area on both sides.
std::vector<Polyline> grid_lines(const Regions& area, const Frame& frame, double spacing);
/// Lines spread evenly over the island's extent across the frame, at most `spacing` apart, the
/// first and last just inside its lowest and highest points (solid fill).
std::vector<Polyline> fitted_lines(const PolygonWithHoles& island, const Frame& frame, double spacing);

/// The parts of `lines` inside `area` (Clipper), without repeated points, each at least
/// `min_length` long.
std::vector<Polyline> clip_pieces(const std::vector<Polyline>& lines, const Regions& area, double min_length);
/// Straight pieces oriented along +u and ordered by line (v), then along it (u).
void sort_straight_pieces(std::vector<Polyline>& pieces, const Frame& frame);
/// Curved pieces ordered by their first point (v, then u), each starting at its end with the
/// smaller (v, u).
void sort_curved_pieces(std::vector<Polyline>& pieces, const Frame& frame);

struct ConnectOptions {
  /// Longest join along the boundary, or straight across where the boundary run is longer.
  double max_length = 0;
  /// Solid fills of parallel lines: two consecutive lines may also be joined by a longer run
  /// along the boundary when that run stays between them (it then fills the sliver next to the
  /// boundary instead of doubling a line), so a convex area becomes one polyline.
  bool join_within_band = false;
  Frame frame;          ///< the frame whose v measures the band (join_within_band)
  double line_gap = 0;  ///< the largest distance between consecutive lines (join_within_band)
};

/// Joins pieces whose ends lie on the boundary of `area` into polylines (see infill.cpp).
std::vector<InfillLine> connect_pieces(std::vector<Polyline> pieces, const Regions& area,
                                       const ConnectOptions& options);
std::vector<InfillLine> as_open_lines(std::vector<Polyline> pieces);

// Generators (infill_patterns.cpp). `area` is normalised (non-empty, outer rings
// counter-clockwise, holes clockwise) and the parameters are validated.
std::vector<InfillLine> fill_parallel(const Regions& area, const InfillParams& params, bool connect);
std::vector<InfillLine> fill_concentric(const Regions& area, const InfillParams& params);
std::vector<InfillLine> fill_honeycomb(const Regions& area, const InfillParams& params);
std::vector<InfillLine> fill_triangles(const Regions& area, const InfillParams& params);
std::vector<InfillLine> fill_gyroid(const Regions& area, const InfillParams& params);

}  // namespace fabforge::toolpath::infill_detail
