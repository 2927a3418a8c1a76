// Walls (perimeters) by inward offsets, and gap fill: what the walls and the infill leave
// uncovered (thin features, narrow gaps between walls) printed as single lines of the gap's own
// width along its centre line.

#include <algorithm>
#include <cmath>

#include "fabforge/toolpath/infill.hpp"

#include "clipper_util.hpp"
#include "plan_internal.hpp"

namespace fabforge::toolpath::detail {

namespace {

double ring_length(const Ring& r) {
  double len = 0;
  for (std::size_t i = 0, j = r.size() - 1; i < r.size(); j = i++) len += std::hypot(r[i].x - r[j].x, r[i].y - r[j].y);
  return len;
}

// Points at `n` equal arc-length steps along an open chain.
std::vector<Point2> resample(const std::vector<Point2>& chain, int n) {
  std::vector<double> acc(chain.size(), 0.0);
  for (std::size_t i = 1; i < chain.size(); ++i)
    acc[i] = acc[i - 1] + std::hypot(chain[i].x - chain[i - 1].x, chain[i].y - chain[i - 1].y);
  std::vector<Point2> out;
  out.reserve(static_cast<std::size_t>(n));
  std::size_t seg = 1;
  for (int k = 0; k < n; ++k) {
    const double t = acc.back() * k / std::max(1, n - 1);
    while (seg + 1 < chain.size() && acc[seg] < t) ++seg;
    const double len = acc[seg] - acc[seg - 1];
    const double f = len > 0 ? std::clamp((t - acc[seg - 1]) / len, 0.0, 1.0) : 0.0;
    out.push_back({chain[seg - 1].x + f * (chain[seg].x - chain[seg - 1].x),
                   chain[seg - 1].y + f * (chain[seg].y - chain[seg - 1].y)});
  }
  return out;
}

// Centre line of a long thin polygon: split its ring at the two points farthest apart and average
// the two sides, sampled at equal arc-length fractions.
std::vector<Point2> strip_centre_line(const Ring& ring) {
  const std::size_t n = ring.size();
  std::size_t a = 0, b = 0;
  double best = -1;
  const std::size_t stride = std::max<std::size_t>(1, n / 200);  // cap the O(n^2) search
  for (std::size_t i = 0; i < n; i += stride)
    for (std::size_t j = i + 1; j < n; ++j) {
      const double d = std::hypot(ring[i].x - ring[j].x, ring[i].y - ring[j].y);
      if (d > best) best = d, a = i, b = j;
    }
  std::vector<Point2> side1(ring.begin() + static_cast<std::ptrdiff_t>(a),
                            ring.begin() + static_cast<std::ptrdiff_t>(b) + 1);
  std::vector<Point2> side2;
  for (std::size_t k = b; k != a; k = (k + 1) % n) side2.push_back(ring[k]);
  side2.push_back(ring[a]);
  std::reverse(side2.begin(), side2.end());  // both sides now run from ring[a] to ring[b]
  const double len = std::max(ring_length(side1.size() > 1 ? side1 : ring), 1e-9);
  const int samples = std::clamp(static_cast<int>(len / 0.2) + 2, 2, 400);
  const auto s1 = resample(side1, samples), s2 = resample(side2, samples);
  std::vector<Point2> centre;
  centre.reserve(s1.size());
  for (std::size_t k = 0; k < s1.size(); ++k) centre.push_back({(s1[k].x + s2[k].x) / 2, (s1[k].y + s2[k].y) / 2});
  return centre;
}

// Removes consecutive points closer than eps.
void dedupe(std::vector<Point2>& pts, double eps) {
  std::vector<Point2> out;
  for (Point2 p : pts)
    if (out.empty() || std::hypot(p.x - out.back().x, p.y - out.back().y) > eps) out.push_back(p);
  pts = std::move(out);
}

void gap_fill(const Regions& gaps, const LayerWidths& w, const PlanParams& params, WallResult& out) {
  const double min_width = 0.25 * params.nozzle_diameter_mm;
  for (const PolygonWithHoles& piece : gaps.islands) {
    const double a = area(piece);
    Regions one;
    one.islands.push_back(piece);
    const double perim = perimeter(one);
    if (a <= 0 || perim <= 0) continue;
    // For a strip of length L and width t: area = L t and perimeter ~ 2 L, so t ~ 2 area / perimeter.
    const double width = 2 * a / perim;
    // Too narrow for any line, or a speck (a corner sliver) that would cost a trip of its own
    // for less material than the lines' overlap already puts there.
    if (width < min_width || a < w.wall_mm * w.wall_mm) {
      out.dropped_area_mm2 += a;
      continue;
    }
    if (width > 1.6 * w.wall_mm) {
      // A wide leftover (e.g. where walls diverge): fill it solid rather than with one fat line.
      InfillParams ip;
      ip.pattern = InfillPattern::zigzag;
      ip.density = 1.0;
      ip.line_width_mm = w.wall_mm;
      ip.line_spacing_mm = w.spacing_mm;
      for (auto& line : fill_area(clip::offset(one, -w.spacing_mm / 2), ip))
        out.gaps.push_back({gcode::Feature::gap_fill, line.closed, w.wall_mm, std::move(line.points)});
      continue;
    }
    const double line_w = std::max(width, w.height_mm);
    if (!piece.holes.empty()) {
      // A ring-shaped gap (between two walls all the way round): its centre is a loop.
      Regions inner = clip::offset(one, -width / 2);
      for (auto& isl : inner.islands) {
        if (isl.outer.size() >= 3) out.gaps.push_back({gcode::Feature::gap_fill, true, line_w, std::move(isl.outer)});
      }
      continue;
    }
    std::vector<Point2> centre = strip_centre_line(piece.outer);
    dedupe(centre, 0.01);
    double len = 0;
    for (std::size_t i = 1; i < centre.size(); ++i)
      len += std::hypot(centre[i].x - centre[i - 1].x, centre[i].y - centre[i - 1].y);
    if (centre.size() < 2 || len < 0.2) {
      out.dropped_area_mm2 += a;
      continue;
    }
    // Extrude the gap's area: the line's nominal width times its length matches it.
    const double fitted = std::clamp(a / len, w.height_mm, 1.6 * w.wall_mm);
    out.gaps.push_back({gcode::Feature::gap_fill, false, fitted, std::move(centre)});
  }
}

}  // namespace

WallResult make_walls(const PolygonWithHoles& island, const LayerWidths& w, const PlanParams& params) {
  WallResult out;
  Regions region;
  region.islands.push_back(island);
  Regions covered;  // by the walls' lines
  int made = 0;
  for (int k = 0; k < params.perimeters; ++k) {
    const double inset = w.wall_mm / 2 + k * w.spacing_mm;
    // Walls reach into corners down to about 20 degrees (miter limit 6) instead of leaving a
    // sliver at every sharp tip that would need its own gap-fill dot and the travel to it.
    Regions loops = clip::offset(region, -inset, ClipperLib::jtMiter, 6.0);
    if (loops.empty()) break;
    for (const PolygonWithHoles& l : loops.islands) {
      const gcode::Feature f = k == 0 ? gcode::Feature::wall_outer : gcode::Feature::wall_inner;
      out.walls.push_back({f, true, w.wall_mm, l.outer});
      for (const Ring& h : l.holes) {
        Ring ccw = h;  // print holes' walls in the same rotational sense as the outer walls
        std::reverse(ccw.begin(), ccw.end());
        out.walls.push_back({f, true, w.wall_mm, std::move(ccw)});
      }
    }
    // The band a wall's line covers. Miter rather than round joins: at a convex corner the band
    // then claims the corner's tip, which only hides a sliver smaller than the specks gap fill
    // drops anyway, and the polygons stay small (round joins multiplied the vertices and were
    // 40 % of the planning time).
    const Regions band = clip::difference(clip::offset(loops, w.wall_mm / 2), clip::offset(loops, -w.wall_mm / 2));
    covered = clip::union_of(covered, band);
    made = k + 1;
  }
  // Infill reaches the inner edge of the innermost wall; its centre lines stay half a spacing
  // further in, less the overlap that bonds infill to the wall.
  const double edge_inset = made > 0 ? w.wall_mm / 2 + (made - 1) * w.spacing_mm + w.spacing_mm / 2 : 0.0;
  const Regions infill_edge = made > 0 ? clip::offset(region, -edge_inset) : region;
  out.infill_centre = clip::offset(infill_edge, -(w.spacing_mm / 2 - params.infill_overlap * w.wall_mm));

  // Gaps: inside the island, not under a wall line, not in the infill area.
  Regions gaps = clip::difference(clip::difference(region, covered), infill_edge);
  // Open by a small radius: slivers between offset arcs lie within the lines' overlap and are
  // not worth a line of their own.
  const double r = 0.1 * params.nozzle_diameter_mm;
  gaps = clip::offset(clip::offset(gaps, -r, ClipperLib::jtRound), r, ClipperLib::jtRound);
  gap_fill(gaps, w, params, out);
  return out;
}

}  // namespace fabforge::toolpath::detail
