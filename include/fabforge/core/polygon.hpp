#pragma once
/// Plain planar polygons in millimetres: the data that flows between the toolpath pipeline's
/// stages (image -> regions -> layers -> paths) and that the G-code checker measures coverage
/// against. Value types, no invariants enforced; the functions below document what they expect.
///
/// Conventions: a Ring is closed implicitly (the last point connects to the first, which is not
/// repeated). An island's outer ring runs counter-clockwise (positive signed area) and its holes
/// clockwise, as Clipper and most slicers expect. Coordinates are bed coordinates in mm (x right,
/// y away from the front), unless a function says otherwise.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace fabforge {

struct Point2 {
  double x = 0, y = 0;
  friend constexpr bool operator==(Point2 a, Point2 b) = default;
};

/// A closed ring of points; the closing edge is implicit.
using Ring = std::vector<Point2>;

/// One connected area: an outer boundary (counter-clockwise) and its holes (clockwise).
struct PolygonWithHoles {
  Ring outer;
  std::vector<Ring> holes;
  friend bool operator==(const PolygonWithHoles&, const PolygonWithHoles&) = default;
};

/// A set of disjoint islands, e.g. one layer's cross-section.
struct Regions {
  std::vector<PolygonWithHoles> islands;
  bool empty() const noexcept { return islands.empty(); }
  friend bool operator==(const Regions&, const Regions&) = default;
};

struct Box2 {
  Point2 min{1e300, 1e300}, max{-1e300, -1e300};
  bool empty() const noexcept { return min.x > max.x || min.y > max.y; }
  void add(Point2 p) noexcept {
    if (p.x < min.x) min.x = p.x;
    if (p.y < min.y) min.y = p.y;
    if (p.x > max.x) max.x = p.x;
    if (p.y > max.y) max.y = p.y;
  }
};

/// Shoelace signed area: positive for counter-clockwise rings.
double signed_area(const Ring& ring);
/// Outer area minus hole areas (absolute values, whatever the orientation).
double area(const PolygonWithHoles& polygon);
double area(const Regions& regions);
/// Total boundary length, holes included.
double perimeter(const Regions& regions);
Box2 bounds(const Regions& regions);
/// Even-odd point-in-polygon over all rings (a point inside a hole is outside).
bool contains(const Regions& regions, Point2 p);
bool contains(const PolygonWithHoles& polygon, Point2 p);
/// Counts rings: islands plus holes.
std::size_t ring_count(const Regions& regions);

/// The regions moved by (dx, dy).
Regions translated(const Regions& regions, double dx, double dy);
/// The regions mirrored about the vertical line x = axis_x; orientations are restored so outer
/// rings stay counter-clockwise.
Regions mirrored_x(const Regions& regions, double axis_x);

/// The regions as JSON text ({"format":"fabforge-regions","version":1,"units":"mm",
/// "islands":[{"outer":[[x,y],...],"holes":[[[x,y],...],...]}]}), see docs/formats.md.
std::string regions_to_json(const Regions& regions);
/// Parses regions_to_json's output. Throws input_error naming `source` on malformed input.
Regions regions_from_json(std::string_view text, const std::string& source);
/// File forms of the two above (writes atomically).
void write_regions(const std::filesystem::path& path, const Regions& regions);
Regions read_regions(const std::filesystem::path& path);

}  // namespace fabforge
