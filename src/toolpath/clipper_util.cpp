#include "clipper_util.hpp"

#include <algorithm>

namespace fabforge::toolpath::clip {

namespace {

// Lowest y, then lowest x: a stable key for ordering rings.
Point2 ring_key(const Ring& ring) {
  Point2 best = ring.front();
  for (Point2 p : ring)
    if (p.y < best.y || (p.y == best.y && p.x < best.x)) best = p;
  return best;
}

bool key_less(Point2 a, Point2 b) { return a.y < b.y || (a.y == b.y && a.x < b.x); }

void collect(const ClipperLib::PolyNode& node, Regions& out) {
  for (const ClipperLib::PolyNode* child : node.Childs) {
    // child is an outer ring; its children are holes; their children are islands again.
    if (child->Contour.size() < 3) continue;
    PolygonWithHoles poly;
    poly.outer = to_ring(child->Contour);
    if (signed_area(poly.outer) < 0) std::reverse(poly.outer.begin(), poly.outer.end());
    for (const ClipperLib::PolyNode* hole : child->Childs) {
      if (hole->Contour.size() >= 3) {
        Ring h = to_ring(hole->Contour);
        if (signed_area(h) > 0) std::reverse(h.begin(), h.end());
        poly.holes.push_back(std::move(h));
      }
      collect(*hole, out);
    }
    std::sort(poly.holes.begin(), poly.holes.end(),
              [](const Ring& a, const Ring& b) { return key_less(ring_key(a), ring_key(b)); });
    out.islands.push_back(std::move(poly));
  }
}

Regions boolean(const Regions& a, const Regions& b, ClipperLib::ClipType type) {
  ClipperLib::Clipper c;
  c.AddPaths(to_paths(a), ClipperLib::ptSubject, true);
  c.AddPaths(to_paths(b), ClipperLib::ptClip, true);
  ClipperLib::PolyTree tree;
  c.Execute(type, tree, ClipperLib::pftNonZero, ClipperLib::pftNonZero);
  return to_regions(tree);
}

}  // namespace

Paths to_paths(const Regions& regions) {
  Paths paths;
  for (const auto& island : regions.islands) {
    paths.push_back(to_path(island.outer));
    for (const auto& h : island.holes) paths.push_back(to_path(h));
  }
  return paths;
}

Regions to_regions(const ClipperLib::PolyTree& tree) {
  Regions out;
  collect(tree, out);
  std::sort(out.islands.begin(), out.islands.end(), [](const PolygonWithHoles& a, const PolygonWithHoles& b) {
    return key_less(ring_key(a.outer), ring_key(b.outer));
  });
  return out;
}

Regions to_regions(const Paths& paths) {
  ClipperLib::Clipper c;
  c.AddPaths(paths, ClipperLib::ptSubject, true);
  ClipperLib::PolyTree tree;
  c.Execute(ClipperLib::ctUnion, tree, ClipperLib::pftNonZero, ClipperLib::pftNonZero);
  return to_regions(tree);
}

Paths offset_paths(const Paths& paths, double delta_mm, ClipperLib::JoinType join) {
  ClipperLib::ClipperOffset off(3.0, 0.005 * kUnitsPerMm);  // miter limit 3, arcs within 5 um
  off.AddPaths(paths, join, ClipperLib::etClosedPolygon);
  Paths out;
  off.Execute(out, delta_mm * kUnitsPerMm);
  return out;
}

Regions offset(const Regions& regions, double delta_mm, ClipperLib::JoinType join, double miter_limit) {
  ClipperLib::ClipperOffset off(miter_limit, 0.005 * kUnitsPerMm);
  off.AddPaths(to_paths(regions), join, ClipperLib::etClosedPolygon);
  ClipperLib::PolyTree tree;
  off.Execute(tree, delta_mm * kUnitsPerMm);
  return to_regions(tree);
}

Regions difference(const Regions& a, const Regions& b) { return boolean(a, b, ClipperLib::ctDifference); }
Regions intersection(const Regions& a, const Regions& b) { return boolean(a, b, ClipperLib::ctIntersection); }
Regions union_of(const Regions& a, const Regions& b) { return boolean(a, b, ClipperLib::ctUnion); }

std::vector<std::vector<Point2>> clip_lines(const std::vector<std::vector<Point2>>& lines, const Regions& regions) {
  ClipperLib::Clipper c;
  for (const auto& line : lines) {
    if (line.size() < 2) continue;
    c.AddPath(to_path(line), ClipperLib::ptSubject, false);
  }
  c.AddPaths(to_paths(regions), ClipperLib::ptClip, true);
  ClipperLib::PolyTree tree;
  c.Execute(ClipperLib::ctIntersection, tree, ClipperLib::pftNonZero, ClipperLib::pftNonZero);
  Paths open;
  ClipperLib::OpenPathsFromPolyTree(tree, open);
  std::vector<std::vector<Point2>> out;
  out.reserve(open.size());
  for (const Path& p : open) out.push_back(to_ring(p));
  return out;
}

}  // namespace fabforge::toolpath::clip
