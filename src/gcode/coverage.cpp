// How much of a layer's intended area the extrusion actually covers. Both the regions and the
// lines are sampled at cell centres on one grid: the regions by an even-odd scanline fill, each
// extruding move as a stadium (the segment widened by half the line width its E implies, with
// round ends). Exact per cell, so the result only depends on the grid, not on a drawing library.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "fabforge/core/error.hpp"
#include "fabforge/core/parallel.hpp"
#include "fabforge/gcode/analysis.hpp"
#include "fabforge/gcode/flow.hpp"

#include "analysis_internal.hpp"

namespace fabforge::gcode {

namespace {

// Larger grids are sampled more coarsely: 16 M cells keep memory near 32 MB.
constexpr double kMaxCells = 16e6;

struct Grid {
  double x0 = 0, y0 = 0, cell = 1;
  int nx = 0, ny = 0;
  double cx(int i) const { return x0 + (i + 0.5) * cell; }
  double cy(int j) const { return y0 + (j + 0.5) * cell; }
  std::size_t at(int i, int j) const {
    return static_cast<std::size_t>(j) * static_cast<std::size_t>(nx) + static_cast<std::size_t>(i);
  }
  // Cells whose centres lie in [xa, xb) on a row, clamped to the grid.
  void span(double xa, double xb, int& begin, int& end) const {
    begin = static_cast<int>(std::clamp(std::ceil((xa - x0) / cell - 0.5), 0.0, static_cast<double>(nx)));
    end = static_cast<int>(std::clamp(std::ceil((xb - x0) / cell - 0.5), 0.0, static_cast<double>(nx)));
  }
};

struct Edge {
  Point2 a, b;
};

void fill_regions(const Regions& regions, const Grid& g, std::vector<std::uint8_t>& mask) {
  std::vector<Edge> edges;
  const auto add_ring = [&](const Ring& r) {
    for (std::size_t i = 0; i < r.size(); ++i) edges.push_back({r[i], r[(i + 1) % r.size()]});
  };
  for (const PolygonWithHoles& p : regions.islands) {
    add_ring(p.outer);
    for (const Ring& h : p.holes) add_ring(h);
  }
  parallel_for(0, static_cast<std::size_t>(g.ny), 16, [&](std::size_t lo, std::size_t hi) {
    std::vector<double> xs;
    for (std::size_t jj = lo; jj < hi; ++jj) {
      const int j = static_cast<int>(jj);
      const double y = g.cy(j);
      xs.clear();
      for (const Edge& e : edges) {
        if ((e.a.y <= y) != (e.b.y <= y)) xs.push_back(e.a.x + (y - e.a.y) / (e.b.y - e.a.y) * (e.b.x - e.a.x));
      }
      std::sort(xs.begin(), xs.end());
      for (std::size_t k = 0; k + 1 < xs.size(); k += 2) {  // even-odd: inside between pairs
        int b = 0, e = 0;
        g.span(xs[k], xs[k + 1], b, e);
        for (int i = b; i < e; ++i) mask[g.at(i, j)] = 1;
      }
    }
  });
}

// The x-interval where the row y = yc crosses the stadium of segment p-q with radius r.
bool stadium_row(Point2 p, Point2 q, double r, double yc, double& xa, double& xb) {
  xa = 1e300, xb = -1e300;
  const auto disc = [&](Point2 c) {
    const double dy = yc - c.y;
    if (std::abs(dy) > r) return;
    const double dx = std::sqrt(r * r - dy * dy);
    xa = std::min(xa, c.x - dx);
    xb = std::max(xb, c.x + dx);
  };
  disc(p);
  disc(q);
  const double lx = q.x - p.x, ly = q.y - p.y, len = std::hypot(lx, ly);
  if (len > 0) {
    const double nx = -ly / len * r, ny = lx / len * r;
    const Point2 quad[4] = {{p.x + nx, p.y + ny}, {q.x + nx, q.y + ny}, {q.x - nx, q.y - ny}, {p.x - nx, p.y - ny}};
    for (int k = 0; k < 4; ++k) {
      const Point2 a = quad[k], b = quad[(k + 1) % 4];
      if ((a.y - yc) * (b.y - yc) > 0) continue;
      if (a.y == b.y) {
        xa = std::min({xa, a.x, b.x});
        xb = std::max({xb, a.x, b.x});
      } else {
        const double x = a.x + (yc - a.y) / (b.y - a.y) * (b.x - a.x);
        xa = std::min(xa, x);
        xb = std::max(xb, x);
      }
    }
  }
  return xa <= xb;
}

void cover_move(const Move& m, double radius, const Grid& g, std::vector<std::uint8_t>& covered) {
  const Point2 p{m.x0, m.y0}, q{m.x1, m.y1};
  const double ylo = std::min(p.y, q.y) - radius, yhi = std::max(p.y, q.y) + radius;
  const int j0 = std::max(0, static_cast<int>(std::floor((ylo - g.y0) / g.cell - 0.5)));
  const int j1 = std::min(g.ny - 1, static_cast<int>(std::ceil((yhi - g.y0) / g.cell - 0.5)));
  for (int j = j0; j <= j1; ++j) {
    double xa = 0, xb = 0;
    if (!stadium_row(p, q, radius, g.cy(j), xa, xb)) continue;
    int b = 0, e = 0;
    g.span(xa, std::nextafter(xb, 1e300), b, e);  // closed on the right: a touching centre counts
    for (int i = b; i < e; ++i) covered[g.at(i, j)] = 1;
  }
}

}  // namespace

double layer_coverage(const GcodeAnalysis& analysis, std::size_t layer, const Regions& regions, double cell_mm) {
  if (layer >= analysis.layers.size()) {
    throw usage_error("layer " + std::to_string(layer + 1) + " does not exist: the program has " +
                      std::to_string(analysis.layers.size()) + " layers");
  }
  if (!(cell_mm > 0)) throw usage_error("the coverage grid cell must be a positive size in mm");
  const Box2 box = bounds(regions);
  if (box.empty()) return 0;
  Grid g;
  const double w = box.max.x - box.min.x, h = box.max.y - box.min.y;
  g.cell = std::max(cell_mm, std::sqrt(std::max(w, cell_mm) * std::max(h, cell_mm) / kMaxCells));
  g.x0 = box.min.x;
  g.y0 = box.min.y;
  g.nx = std::max(1, static_cast<int>(std::ceil(w / g.cell)));
  g.ny = std::max(1, static_cast<int>(std::ceil(h / g.cell)));
  std::vector<std::uint8_t> region(static_cast<std::size_t>(g.nx) * static_cast<std::size_t>(g.ny), 0);
  std::vector<std::uint8_t> covered(region.size(), 0);
  fill_regions(regions, g, region);

  const LayerStats& ls = analysis.layers[layer];
  const double lh = detail::effective_layer_height(analysis, static_cast<std::int32_t>(layer));
  const double fa = filament_area_mm2(analysis.filament_diameter_mm);
  for (std::size_t k = ls.first_move; k < ls.end_move && k < analysis.moves.size(); ++k) {
    const Move& m = analysis.moves[k];
    if (!m.extruding) continue;
    const double xy = detail::xy_length(m);
    if (xy <= 1e-9) continue;
    const double width = lh > 0 ? width_from_area(m.e * fa / xy, lh) : analysis.nozzle_diameter_mm;
    cover_move(m, width / 2, g, covered);
  }
  std::size_t in_region = 0, both = 0;
  for (std::size_t i = 0; i < region.size(); ++i) {
    in_region += region[i];
    both += region[i] & covered[i];
  }
  return in_region ? static_cast<double>(both) / static_cast<double>(in_region) : 0.0;
}

}  // namespace fabforge::gcode
