#pragma once
// Bridges fabforge's mm polygons and Clipper 6.4 (Debian's libpolyclipping): integer coordinates
// in nanometres, as PrusaSlicer scales them, which keeps a 2 m bed inside Clipper's fast 32-bit
// range. Private to fabforge_toolpath.

#include <polyclipping/clipper.hpp>

#include <cmath>
#include <vector>

#include "fabforge/core/polygon.hpp"

namespace fabforge::toolpath::clip {

using ClipperLib::cInt;
using ClipperLib::IntPoint;
using ClipperLib::Path;
using ClipperLib::Paths;

inline constexpr double kUnitsPerMm = 1e6;

inline cInt to_units(double mm) { return static_cast<cInt>(std::llround(mm * kUnitsPerMm)); }
inline double to_mm(cInt units) { return static_cast<double>(units) / kUnitsPerMm; }
inline IntPoint to_int(Point2 p) { return IntPoint(to_units(p.x), to_units(p.y)); }
inline Point2 to_point(const IntPoint& p) { return {to_mm(p.X), to_mm(p.Y)}; }

inline Path to_path(const Ring& ring) {
  Path path;
  path.reserve(ring.size());
  for (Point2 p : ring) path.push_back(to_int(p));
  return path;
}
inline Ring to_ring(const Path& path) {
  Ring ring;
  ring.reserve(path.size());
  for (const IntPoint& p : path) ring.push_back(to_point(p));
  return ring;
}

/// All rings of the regions (outer and holes) as one set of paths, for even-odd or non-zero fill
/// (outer rings counter-clockwise and holes clockwise make both agree).
Paths to_paths(const Regions& regions);

/// Paths (any orientation, fill rule non-zero after Clipper union) back to islands with holes,
/// orientation normalised (outer counter-clockwise, holes clockwise). Order is deterministic:
/// islands by their lowest-then-leftmost point, holes likewise.
Regions to_regions(const ClipperLib::PolyTree& tree);
Regions to_regions(const Paths& paths);  // unions first (non-zero)

/// Offsets closed polygons by delta_mm (negative: inward) with miter joins (corners sharper than
/// the miter limit, in multiples of delta, are squared off) and returns the result as regions.
Regions offset(const Regions& regions, double delta_mm, ClipperLib::JoinType join = ClipperLib::jtMiter,
               double miter_limit = 3.0);
Paths offset_paths(const Paths& paths, double delta_mm, ClipperLib::JoinType join = ClipperLib::jtMiter);

/// Boolean operations on regions.
Regions difference(const Regions& a, const Regions& b);
Regions intersection(const Regions& a, const Regions& b);
Regions union_of(const Regions& a, const Regions& b);

/// Clips open polylines to the regions; returns the pieces inside.
std::vector<std::vector<Point2>> clip_lines(const std::vector<std::vector<Point2>>& lines, const Regions& regions);

}  // namespace fabforge::toolpath::clip
