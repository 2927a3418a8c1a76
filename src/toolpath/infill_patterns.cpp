// The infill pattern generators. Each builds its lines over the area's extent (positions fixed in
// bed coordinates, so sparse infill stacks), clips them to the area and, where the pattern is a
// connected one, joins the pieces along the boundary (infill.cpp).
//
// Density: for every pattern the spacing is chosen so that
//   (total line length) x line_spacing_mm / area = density
// for areas much larger than one cell, connectors along the boundary not counted.

#include <algorithm>
#include <cmath>
#include <utility>

#include "clipper_util.hpp"
#include "infill_detail.hpp"

namespace fabforge::toolpath::infill_detail {

namespace {

ConnectOptions joins_for(const InfillParams& p, const Frame& frame) {
  ConnectOptions o;
  o.max_length = p.max_connection_factor * p.line_spacing_mm / p.density;
  o.frame = frame;
  return o;
}

}  // namespace

// ---- rectilinear and zigzag ----

std::vector<InfillLine> fill_parallel(const Regions& area, const InfillParams& p, bool connect) {
  const double spacing = p.line_spacing_mm / p.density;
  const Frame frame = Frame::degrees(p.angle_deg);
  const bool solid = p.density >= kSolidDensity;
  std::vector<Polyline> pieces;
  if (solid) {
    for (const auto& island : area.islands) {
      Regions one;
      one.islands.push_back(island);
      for (Polyline& piece : clip_pieces(fitted_lines(island, frame, spacing), one, p.min_length_mm))
        pieces.push_back(std::move(piece));
    }
  } else {
    pieces = clip_pieces(grid_lines(area, frame, spacing), area, p.min_length_mm);
  }
  sort_straight_pieces(pieces, frame);
  if (!connect) return as_open_lines(std::move(pieces));
  ConnectOptions o = joins_for(p, frame);
  o.join_within_band = solid;
  o.line_gap = spacing;
  return connect_pieces(std::move(pieces), area, o);
}

// ---- concentric ----

std::vector<InfillLine> fill_concentric(const Regions& area, const InfillParams& p) {
  const double spacing = p.line_spacing_mm / p.density;
  const Box2 b = bounds(area);
  const double max_loops = std::hypot(b.max.x - b.min.x, b.max.y - b.min.y) / spacing + 2;
  std::vector<InfillLine> out;
  // Each ring is an offset of the original area (not of the previous ring), so rounding does not
  // accumulate from ring to ring.
  for (int k = 0; k <= max_loops; ++k) {
    const Regions loops = k == 0 ? area : clip::offset(area, -k * spacing);
    if (loops.empty()) break;
    for (const auto& island : loops.islands) {
      out.push_back({island.outer, true});
      for (const Ring& hole : island.holes) out.push_back({hole, true});
    }
  }
  return out;
}

// ---- honeycomb ----
//
// Hexagons with two vertical walls ("uprights") in a frame at the fill angle, a cell centred on
// the origin so the grid is fixed in bed coordinates. The walls are drawn as zigzag columns: column
// j's right zigzag takes the upright of every row and the slant up-right, then up-left, ...; its
// mirror takes the other slants. The two share the uprights, which are therefore drawn twice, a
// line spacing apart (at +-spacing/2 from the wall, the slants shifted along themselves to stay on
// the hexagon's edges). From layer to layer the frame turns by 60 degrees, a symmetry of the cell
// grid: the cells stay put (they build up as prisms) while the doubled wall and the direction of
// the columns cycle through the three wall directions.

std::vector<InfillLine> fill_honeycomb(const Regions& area, const InfillParams& p) {
  const double sp = p.line_spacing_mm, rho = p.density;
  const double sqrt3 = std::sqrt(3.0);
  // Per cell: two doubled uprights of side + sp/sqrt3 and two slants of side - 2 sp/sqrt3, over a
  // cell area of 3 sqrt3/2 side^2; solving length * sp / area = rho for the side. At density 1 the
  // slants vanish and the columns become straight lines one spacing apart.
  const double side = (4 + std::sqrt(16 - 12 * rho)) * sp / (3 * sqrt3 * rho);
  const double width = sqrt3 * side;                 // across the flats, column pitch
  const double pitch = 1.5 * side;                   // row pitch
  const double reach = side / 2 + sp / (2 * sqrt3);  // upright half length, lengthened by the shift
  const int family = ((p.layer_index % 3) + 3) % 3;
  const Frame frame = Frame::degrees(p.angle_deg + 60.0 * family);
  const Box2 b = local_bounds(area, frame);
  const long r0 = static_cast<long>(std::floor((b.min.y - side) / pitch)) - 1;
  const long r1 = static_cast<long>(std::ceil((b.max.y + side) / pitch)) + 1;
  const long j0 = static_cast<long>(std::floor(b.min.x / width)) - 2;
  const long j1 = static_cast<long>(std::ceil(b.max.x / width)) + 1;
  std::vector<Polyline> columns;
  for (long j = j0; j <= j1; ++j) {
    const double jd = static_cast<double>(j);
    for (bool mirror : {false, true}) {
      Polyline line;
      for (long r = r0; r <= r1; ++r) {
        const bool even = ((r % 2) + 2) % 2 == 0;
        double x;
        if (even)
          x = (jd + 0.5) * width + (mirror ? -sp / 2 : sp / 2);
        else
          x = mirror ? jd * width + sp / 2 : (jd + 1) * width - sp / 2;
        const double y = static_cast<double>(r) * pitch;
        line.push_back(frame.to_world({x, y - reach}));
        line.push_back(frame.to_world({x, y + reach}));
      }
      columns.push_back(std::move(line));
    }
  }
  std::vector<Polyline> pieces = clip_pieces(columns, area, p.min_length_mm);
  sort_curved_pieces(pieces, frame);
  return connect_pieces(std::move(pieces), area, joins_for(p, frame));
}

// ---- triangles ----
//
// Three families of lines through the origin at 60 degrees: every crossing of two families lies
// on the third, so the lines bound equilateral triangles. Each family carries a third of the
// density.

std::vector<InfillLine> fill_triangles(const Regions& area, const InfillParams& p) {
  const double spacing = 3 * p.line_spacing_mm / p.density;
  std::vector<InfillLine> out;
  for (int family = 0; family < 3; ++family) {
    const Frame frame = Frame::degrees(p.angle_deg + 60.0 * family);
    std::vector<Polyline> pieces = clip_pieces(grid_lines(area, frame, spacing), area, p.min_length_mm);
    sort_straight_pieces(pieces, frame);
    for (InfillLine& l : as_open_lines(std::move(pieces))) out.push_back(std::move(l));
  }
  return out;
}

// ---- gyroid ----
//
// The surface sin X cos Y + sin Y cos Z + sin Z cos X = 0 with X = 2 pi x / period (likewise Y,
// Z), x and y in the frame at the fill angle. At a given Z the slice is a family of waves: when
// |sin Z| <= |cos Z| each wave is a graph Y(X) (solve a cos Y + b sin Y = c in closed form, two
// branches per period), otherwise a graph X(Y). Waves are sampled adaptively (a midpoint further
// than kSampleMm from its chord splits the interval), simplified by Douglas-Peucker within
// kSimplifyMm, clipped and joined. The chord error is at most their sum, 0.019 mm.
//
// Period: a slice of the unit gyroid (period 2 pi) has q(Z) * 2 pi of line per 2 pi x 2 pi cell,
// q between 2.309 (Z = 0) and 2.947 (Z = pi/4, where the waves touch); its mean over Z is
// kGyroidLength. Then length * spacing / area = q * spacing / period, so the period
// kGyroidLength * spacing / density gives the density on average over the layers (within -6% and
// +20% on any one layer: the slice's length varies with z, the surface itself does not).

namespace {

constexpr double kGyroidLength = 2.45871;
constexpr double kSampleMm = 0.004;
constexpr double kSimplifyMm = 0.015;

struct GyroidSlice {
  double omega = 1;  // 2 pi / period
  double sin_z = 0, cos_z = 1;
  bool along_u = true;  // waves are graphs over u (else over v)

  // The wave's cross coordinate (mm) at `t` mm along the axis, on `branch` (-1 or +1) of period k.
  double cross(double t, int branch, double k) const {
    const double tt = omega * t;
    double a, b, c;  // a cos W + b sin W = c
    if (along_u) {
      a = std::sin(tt), b = cos_z, c = -sin_z * std::cos(tt);  // b keeps its sign: atan2 is continuous
    } else {
      a = sin_z, b = std::cos(tt), c = -std::sin(tt) * cos_z;
      if (a < 0) a = -a, b = -b, c = -c;  // a keeps its sign; make it positive for the same reason
    }
    const double r = std::sqrt(a * a + b * b);  // >= 1/sqrt2 in either case
    const double w = std::atan2(b, a) + branch * std::acos(std::clamp(c / r, -1.0, 1.0)) + 2 * M_PI * k;
    return w / omega;
  }
  Point2 at(double t, int branch, double k) const {
    const double w = cross(t, branch, k);
    return along_u ? Point2{t, w} : Point2{w, t};
  }
};

double distance_to_segment(Point2 p, Point2 a, Point2 b) {
  const double dx = b.x - a.x, dy = b.y - a.y, len2 = dx * dx + dy * dy;
  const double t = len2 > 0 ? std::clamp(((p.x - a.x) * dx + (p.y - a.y) * dy) / len2, 0.0, 1.0) : 0.0;
  const double ex = a.x + t * dx - p.x, ey = a.y + t * dy - p.y;
  return std::sqrt(ex * ex + ey * ey);
}

void refine(const GyroidSlice& g, int branch, double k, double ta, Point2 pa, double tb, Point2 pb, int depth,
            Polyline& out) {
  const double tm = (ta + tb) / 2;
  const Point2 pm = g.at(tm, branch, k);
  if (depth < 18 && distance_to_segment(pm, pa, pb) > kSampleMm) {
    refine(g, branch, k, ta, pa, tm, pm, depth + 1, out);
    refine(g, branch, k, tm, pm, tb, pb, depth + 1, out);
  } else {
    out.push_back(pb);
  }
}

// One wave across [t0, t1], in local coordinates; empty when it stays outside [w0, w1].
Polyline sample_wave(const GyroidSlice& g, int branch, double k, double t0, double t1, double w0, double w1,
                     double step) {
  const int n = std::max(2, static_cast<int>(std::ceil((t1 - t0) / step)));
  std::vector<double> ts(static_cast<std::size_t>(n) + 1);
  Polyline coarse(ts.size());
  bool touches = false;
  for (int i = 0; i <= n; ++i) {
    const auto si = static_cast<std::size_t>(i);
    ts[si] = t0 + (t1 - t0) * i / n;
    coarse[si] = g.at(ts[si], branch, k);
    const double w = g.along_u ? coarse[si].y : coarse[si].x;
    touches = touches || (w >= w0 && w <= w1);
  }
  if (!touches) return {};
  Polyline fine{coarse.front()};
  for (std::size_t i = 1; i < coarse.size(); ++i)
    refine(g, branch, k, ts[i - 1], coarse[i - 1], ts[i], coarse[i], 0, fine);
  return simplify(fine, kSimplifyMm);
}

}  // namespace

std::vector<InfillLine> fill_gyroid(const Regions& area, const InfillParams& p) {
  const double period = kGyroidLength * p.line_spacing_mm / p.density;
  GyroidSlice g;
  g.omega = 2 * M_PI / period;
  g.sin_z = std::sin(g.omega * p.z_mm);
  g.cos_z = std::cos(g.omega * p.z_mm);
  g.along_u = std::abs(g.sin_z) <= std::abs(g.cos_z);
  const Frame frame = Frame::degrees(p.angle_deg);
  const Box2 b = local_bounds(area, frame);
  const double margin = 1.0;
  const double t0 = (g.along_u ? b.min.x : b.min.y) - margin, t1 = (g.along_u ? b.max.x : b.max.y) + margin;
  const double w0 = (g.along_u ? b.min.y : b.min.x) - margin, w1 = (g.along_u ? b.max.y : b.max.x) + margin;
  const double k0 = std::floor(w0 / period) - 1, k1 = std::ceil(w1 / period) + 1;
  std::vector<Polyline> waves;
  for (double k = k0; k <= k1; ++k)
    for (int branch : {-1, 1}) {
      Polyline wave = sample_wave(g, branch, k, t0, t1, w0, w1, period / 32);
      if (wave.size() < 2) continue;
      for (Point2& q : wave) q = frame.to_world(q);
      waves.push_back(std::move(wave));
    }
  std::vector<Polyline> pieces = clip_pieces(waves, area, p.min_length_mm);
  sort_curved_pieces(pieces, frame);
  return connect_pieces(std::move(pieces), area, joins_for(p, frame));
}

}  // namespace fabforge::toolpath::infill_detail
