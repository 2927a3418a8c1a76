// Infill: pattern names, parameter checks, dispatch, and the machinery the generators share:
// global grid lines, clipping (Clipper, through clipper_util) and joining clipped pieces along the
// area's boundary into long polylines.

#include "fabforge/toolpath/infill.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>

#include "fabforge/core/error.hpp"

#include "clipper_util.hpp"
#include "infill_detail.hpp"

namespace fabforge::toolpath {

namespace detail = infill_detail;
using detail::Polyline;

namespace {

constexpr std::array<std::pair<std::string_view, InfillPattern>, 6> kPatternNames{{
    {"rectilinear", InfillPattern::rectilinear},
    {"zigzag", InfillPattern::zigzag},
    {"concentric", InfillPattern::concentric},
    {"honeycomb", InfillPattern::honeycomb},
    {"triangles", InfillPattern::triangles},
    {"gyroid", InfillPattern::gyroid},
}};

// More lines than this across one area means the parameters are nonsense (a 2 m bed at 1 um);
// refusing keeps a typo from running out of memory.
constexpr double kMaxLinesAcross = 2e6;

std::string number(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

void validate(const InfillParams& p) {
  if (!(p.density > 0 && p.density <= 1))
    throw usage_error("infill density must be in (0, 1], got " + number(p.density));
  if (!(p.line_spacing_mm > 0) || !std::isfinite(p.line_spacing_mm))
    throw usage_error("infill line spacing must be a positive number of mm, got " + number(p.line_spacing_mm));
  if (!(p.line_width_mm > 0) || !std::isfinite(p.line_width_mm))
    throw usage_error("infill line width must be a positive number of mm, got " + number(p.line_width_mm));
  if (!std::isfinite(p.angle_deg)) throw usage_error("infill angle must be a finite number of degrees");
  if (!std::isfinite(p.z_mm)) throw usage_error("infill layer height z must be a finite number of mm");
  if (!(p.max_connection_factor >= 0) || !std::isfinite(p.max_connection_factor))
    throw usage_error("infill max connection factor must be >= 0, got " + number(p.max_connection_factor));
  if (!(p.min_length_mm >= 0) || !std::isfinite(p.min_length_mm))
    throw usage_error("infill minimum line length must be >= 0 mm, got " + number(p.min_length_mm));
}

// Clipper's even-odd union: orientation normalised, self-overlaps resolved the way contains()
// reads them, degenerate rings dropped.
Regions normalised(const Regions& area) {
  for (const auto& island : area.islands) {
    auto finite = [](const Ring& r) {
      return std::all_of(r.begin(), r.end(), [](Point2 p) { return std::isfinite(p.x) && std::isfinite(p.y); });
    };
    if (!finite(island.outer) || !std::all_of(island.holes.begin(), island.holes.end(), finite))
      throw input_error("infill area has a coordinate that is not a finite number");
  }
  ClipperLib::Clipper c;
  c.AddPaths(clip::to_paths(area), ClipperLib::ptSubject, true);
  ClipperLib::PolyTree tree;
  c.Execute(ClipperLib::ctUnion, tree, ClipperLib::pftEvenOdd, ClipperLib::pftEvenOdd);
  return clip::to_regions(tree);
}

void check_line_count(const Regions& area, const InfillParams& p) {
  const Box2 b = bounds(area);
  const double diagonal = std::hypot(b.max.x - b.min.x, b.max.y - b.min.y);
  const double spacing = p.line_spacing_mm / p.density;
  if (diagonal / spacing > kMaxLinesAcross)
    throw usage_error("infill line spacing " + number(spacing) + " mm is too fine for a " + number(diagonal) +
                      " mm area (more than " + number(kMaxLinesAcross) + " lines)");
}

// ---- boundary index: where piece ends lie on the boundary, runs along it, chords inside it ----

constexpr double kOnBoundaryMm = 1e-4;  // Clipper puts clipped ends within ~2 nm of the boundary
constexpr double kSamePointMm = 1e-5;

double cross(Point2 o, Point2 a, Point2 b) { return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x); }

bool on_segment(Point2 a, Point2 b, Point2 p) {
  return std::min(a.x, b.x) <= p.x && p.x <= std::max(a.x, b.x) && std::min(a.y, b.y) <= p.y &&
         p.y <= std::max(a.y, b.y);
}

// Closed segments [a, b] and [c, d] share a point (touching counts).
bool segments_meet(Point2 a, Point2 b, Point2 c, Point2 d) {
  const double d1 = cross(c, d, a), d2 = cross(c, d, b), d3 = cross(a, b, c), d4 = cross(a, b, d);
  if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))) return true;
  return (d1 == 0 && on_segment(c, d, a)) || (d2 == 0 && on_segment(c, d, b)) || (d3 == 0 && on_segment(a, b, c)) ||
         (d4 == 0 && on_segment(a, b, d));
}

class Boundary {
 public:
  struct Location {
    int ring = -1;
    double s = 0;  // arc length from the ring's first point, along the ring's direction
  };

  explicit Boundary(const Regions& area) : area_(area) {
    for (const auto& island : area.islands) {
      add_ring(island.outer);
      for (const Ring& h : island.holes) add_ring(h);
    }
    build_grid();
  }

  int ring_count() const { return static_cast<int>(rings_.size()); }
  double length(int ring) const { return rings_[ring].cum.back(); }

  Location locate(Point2 p) const {
    double best = kOnBoundaryMm;
    std::size_t best_edge = edges_.size();
    double best_t = 0;
    visit_near(p, [&](std::size_t e) {
      const auto [a, b] = edge_points(e);
      const double dx = b.x - a.x, dy = b.y - a.y, len2 = dx * dx + dy * dy;
      const double t = len2 > 0 ? std::clamp(((p.x - a.x) * dx + (p.y - a.y) * dy) / len2, 0.0, 1.0) : 0.0;
      const double d = std::hypot(a.x + t * dx - p.x, a.y + t * dy - p.y);
      if (d < best || (d == best && e < best_edge)) best = d, best_edge = e, best_t = t;
    });
    if (best_edge == edges_.size()) return {};
    const Edge& e = edges_[best_edge];
    const auto& cum = rings_[e.ring].cum;
    double s = cum[e.index] + best_t * (cum[e.index + 1] - cum[e.index]);
    if (s >= cum.back()) s -= cum.back();
    return {e.ring, s};
  }

  /// The boundary from arc position `from` to `to` (forward: along the ring's direction), both
  /// ends included.
  Polyline run(int ring, double from, double to, bool forward) const {
    if (!forward) {
      Polyline back = run(ring, to, from, true);
      std::reverse(back.begin(), back.end());
      return back;
    }
    const RingData& r = rings_[ring];
    const std::size_t n = r.points.size();
    const double total = r.cum.back();
    const double end = to >= from ? to : to + total;
    Polyline out{point_at(r, from)};
    std::size_t j = static_cast<std::size_t>(std::upper_bound(r.cum.begin(), r.cum.begin() + n, from) - r.cum.begin());
    for (std::size_t k = 0; k < n; ++k, ++j) {
      const double at = j < n ? r.cum[j] : r.cum[j - n] + total;
      if (at >= end) break;
      out.push_back(r.points[j % n]);
    }
    out.push_back(point_at(r, end >= total ? end - total : end));
    return out;
  }

  /// The straight segment a-b (ends on the boundary) crosses no boundary edge and runs inside.
  bool chord_inside(Point2 a, Point2 b) const {
    const double len = std::hypot(b.x - a.x, b.y - a.y);
    const Point2 mid{(a.x + b.x) / 2, (a.y + b.y) / 2};
    if (len < 4 * kOnBoundaryMm) return contains(area_, mid);
    const double f = 2 * kOnBoundaryMm / len;
    const Point2 a2{a.x + (b.x - a.x) * f, a.y + (b.y - a.y) * f};
    const Point2 b2{b.x - (b.x - a.x) * f, b.y - (b.y - a.y) * f};
    std::vector<std::size_t> near;
    const int steps = std::max(1, static_cast<int>(std::ceil(len / (cell_ / 2))));
    for (int i = 0; i <= steps; ++i) {
      const double t = static_cast<double>(i) / steps;
      visit_near({a2.x + (b2.x - a2.x) * t, a2.y + (b2.y - a2.y) * t}, [&](std::size_t e) { near.push_back(e); });
    }
    std::sort(near.begin(), near.end());
    near.erase(std::unique(near.begin(), near.end()), near.end());
    for (std::size_t e : near) {
      const auto [p, q] = edge_points(e);
      if (segments_meet(a2, b2, p, q)) return false;
    }
    return contains(area_, mid);
  }

 private:
  struct RingData {
    Ring points;
    std::vector<double> cum;  // cum[i]: arc length to point i; cum[n]: the ring's length
  };
  struct Edge {
    int ring;
    std::size_t index;
  };

  void add_ring(const Ring& ring) {
    if (ring.size() < 2) return;
    RingData r{ring, {0.0}};
    for (std::size_t i = 0; i < ring.size(); ++i) {
      const Point2 a = ring[i], b = ring[(i + 1) % ring.size()];
      r.cum.push_back(r.cum.back() + std::hypot(b.x - a.x, b.y - a.y));
      edges_.push_back({static_cast<int>(rings_.size()), i});
    }
    rings_.push_back(std::move(r));
  }

  std::pair<Point2, Point2> edge_points(std::size_t e) const {
    const RingData& r = rings_[edges_[e].ring];
    const std::size_t i = edges_[e].index;
    return {r.points[i], r.points[(i + 1) % r.points.size()]};
  }

  static Point2 point_at(const RingData& r, double s) {
    const std::size_t n = r.points.size();
    std::size_t i = static_cast<std::size_t>(std::upper_bound(r.cum.begin(), r.cum.end(), s) - r.cum.begin());
    i = std::clamp<std::size_t>(i, 1, n) - 1;
    const double len = r.cum[i + 1] - r.cum[i];
    const double t = len > 0 ? std::clamp((s - r.cum[i]) / len, 0.0, 1.0) : 0.0;
    const Point2 a = r.points[i], b = r.points[(i + 1) % n];
    return {a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t};
  }

  // A uniform grid of (cell, edge) pairs; an edge is entered in the cells of points sampled every
  // half cell along it, so any point of the edge lies in a cell next to one that lists it.
  void build_grid() {
    box_ = bounds(area_);
    const double w = std::max(box_.max.x - box_.min.x, 1e-3), h = std::max(box_.max.y - box_.min.y, 1e-3);
    cell_ = std::max(
        {std::sqrt(w * h / static_cast<double>(std::max<std::size_t>(edges_.size(), 1))), std::max(w, h) / 2048, 1e-3});
    nx_ = static_cast<std::int64_t>(w / cell_) + 1;
    ny_ = static_cast<std::int64_t>(h / cell_) + 1;
    for (std::size_t e = 0; e < edges_.size(); ++e) {
      const auto [a, b] = edge_points(e);
      const int steps = std::max(1, static_cast<int>(std::ceil(std::hypot(b.x - a.x, b.y - a.y) / (cell_ / 2))));
      for (int i = 0; i <= steps; ++i) {
        const double t = static_cast<double>(i) / steps;
        const auto [cx, cy] = cell_of({a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t});
        grid_.emplace_back(cy * nx_ + cx, static_cast<std::uint32_t>(e));
      }
    }
    std::sort(grid_.begin(), grid_.end());
    grid_.erase(std::unique(grid_.begin(), grid_.end()), grid_.end());
  }

  std::pair<std::int64_t, std::int64_t> cell_of(Point2 p) const {
    auto clamp_cell = [](double v, std::int64_t n) {
      return std::clamp<std::int64_t>(static_cast<std::int64_t>(std::floor(std::clamp(v, -1.0, 1e15))), 0, n - 1);
    };
    return {clamp_cell((p.x - box_.min.x) / cell_, nx_), clamp_cell((p.y - box_.min.y) / cell_, ny_)};
  }

  template <class Visit>
  void visit_near(Point2 p, Visit&& visit) const {
    const auto [cx, cy] = cell_of(p);
    for (std::int64_t y = std::max<std::int64_t>(cy - 1, 0); y <= std::min(cy + 1, ny_ - 1); ++y)
      for (std::int64_t x = std::max<std::int64_t>(cx - 1, 0); x <= std::min(cx + 1, nx_ - 1); ++x) {
        const std::int64_t cell = y * nx_ + x;
        auto it = std::lower_bound(grid_.begin(), grid_.end(), std::make_pair(cell, std::uint32_t{0}));
        for (; it != grid_.end() && it->first == cell; ++it) visit(static_cast<std::size_t>(it->second));
      }
  }

  const Regions& area_;
  std::vector<RingData> rings_;
  std::vector<Edge> edges_;
  Box2 box_;
  double cell_ = 1;
  std::int64_t nx_ = 1, ny_ = 1;
  std::vector<std::pair<std::int64_t, std::uint32_t>> grid_;
};

// ---- joining pieces ----

struct Join {
  int to = -1;  // endpoint id (2 * piece + end)
  double length = 0;
  Polyline path;  // from this endpoint to `to`
};

struct UnionFind {
  std::vector<int> parent;
  explicit UnionFind(std::size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
  int find(int i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
  }
  void unite(int a, int b) {
    a = find(a), b = find(b);
    parent[std::max(a, b)] = std::min(a, b);
  }
};

class Joiner {
 public:
  Joiner(const std::vector<Polyline>& pieces, const Regions& area, const detail::ConnectOptions& options)
      : pieces_(pieces),
        boundary_(area),
        options_(options),
        joins_(2 * pieces.size()),
        partner_(2 * pieces.size(), -1),
        bridge_(2 * pieces.size()),
        groups_(pieces.size()) {
    find_candidates();
  }

  std::vector<InfillLine> run() {
    walk();
    join_chain_ends();
    return assemble();
  }

 private:
  static int piece(int end) { return end / 2; }
  Point2 end_point(int end) const { return end % 2 == 0 ? pieces_[piece(end)].front() : pieces_[piece(end)].back(); }

  // Candidates are the ends next to each other along a ring: a join between them covers a stretch
  // of boundary no other piece reaches, so joins never overlap each other.
  void find_candidates() {
    std::vector<Boundary::Location> loc(2 * pieces_.size());
    std::vector<std::vector<int>> on_ring(static_cast<std::size_t>(boundary_.ring_count()));
    for (std::size_t e = 0; e < loc.size(); ++e) {
      loc[e] = boundary_.locate(end_point(static_cast<int>(e)));
      if (loc[e].ring >= 0) on_ring[static_cast<std::size_t>(loc[e].ring)].push_back(static_cast<int>(e));
    }
    for (std::size_t ring = 0; ring < on_ring.size(); ++ring) {
      auto& ends = on_ring[ring];
      std::sort(ends.begin(), ends.end(),
                [&](int a, int b) { return std::pair(loc[a].s, a) < std::pair(loc[b].s, b); });
      const std::size_t m = ends.size();
      if (m < 2) continue;
      for (std::size_t i = 0; i < m; ++i) {
        const int a = ends[i], b = ends[(i + 1) % m];
        if (piece(a) == piece(b)) continue;
        Join j;
        if (!make_join(static_cast<int>(ring), loc[a].s, loc[b].s, a, b, j)) continue;
        Join back{a, j.length, Polyline(j.path.rbegin(), j.path.rend())};
        j.to = b;
        joins_[static_cast<std::size_t>(a)].push_back(std::move(j));
        joins_[static_cast<std::size_t>(b)].push_back(std::move(back));
      }
    }
  }

  // The join from end a forward along the ring to end b: the boundary run when short enough (or,
  // for solid parallel lines, when it stays between the two lines), else a short straight chord
  // that stays inside.
  bool make_join(int ring, double sa, double sb, int a, int b, Join& out) const {
    const double total = boundary_.length(ring);
    const double arc = sb >= sa ? sb - sa : sb + total - sa;
    if (arc <= options_.max_length) {
      out.path = boundary_.run(ring, sa, sb, true);
      out.length = arc;
      return true;
    }
    const Point2 pa = end_point(a), pb = end_point(b);
    if (options_.join_within_band) {
      const double va = options_.frame.to_local(pa).y, vb = options_.frame.to_local(pb).y;
      const double lo = std::min(va, vb) - 1e-4, hi = std::max(va, vb) + 1e-4;
      if (std::abs(va - vb) > 1e-3 && std::abs(va - vb) <= 1.5 * options_.line_gap) {
        Polyline path = boundary_.run(ring, sa, sb, true);
        const bool between = std::all_of(path.begin(), path.end(), [&](Point2 p) {
          const double v = options_.frame.to_local(p).y;
          return v >= lo && v <= hi;
        });
        if (between) {
          out.path = std::move(path);
          out.length = arc;
          return true;
        }
      }
    }
    const double chord = std::hypot(pb.x - pa.x, pb.y - pa.y);
    if (chord <= options_.max_length && boundary_.chord_inside(pa, pb)) {
      out.path = {pa, pb};
      out.length = chord;
      return true;
    }
    return false;
  }

  void link(int a, const Join& j) {
    partner_[static_cast<std::size_t>(a)] = j.to;
    partner_[static_cast<std::size_t>(j.to)] = a;
    bridge_[static_cast<std::size_t>(a)] = j.path;
    bridge_[static_cast<std::size_t>(j.to)] = Polyline(j.path.rbegin(), j.path.rend());
    groups_.unite(piece(a), piece(j.to));
  }

  template <class Allowed>
  const Join* best_join(int end, Allowed&& allowed) const {
    const Join* best = nullptr;
    for (const Join& j : joins_[static_cast<std::size_t>(end)]) {
      if (partner_[static_cast<std::size_t>(j.to)] >= 0 || !allowed(j.to)) continue;
      if (!best || std::pair(j.length, j.to) < std::pair(best->length, best->to)) best = &j;
    }
    return best;
  }

  // Grows chains piece by piece, in piece order, taking the shortest join to an unused piece at
  // each end: on parallel lines this is the zigzag walk.
  void walk() {
    std::vector<char> used(pieces_.size(), 0);
    auto unused = [&](int end) { return !used[static_cast<std::size_t>(piece(end))]; };
    for (std::size_t p = 0; p < pieces_.size(); ++p) {
      if (used[p]) continue;
      used[p] = 1;
      for (int start : {static_cast<int>(2 * p + 1), static_cast<int>(2 * p)}) {
        int end = start;
        while (partner_[static_cast<std::size_t>(end)] < 0) {
          const Join* j = best_join(end, unused);
          if (!j) break;
          const int next = j->to;
          link(end, *j);
          used[static_cast<std::size_t>(piece(next))] = 1;
          end = next ^ 1;
        }
      }
    }
  }

  // Joins chain ends left over by the walk, shortest first, never closing a loop.
  void join_chain_ends() {
    struct Option {
      double length;
      int from;
      std::size_t index;
    };
    std::vector<Option> options;
    for (std::size_t e = 0; e < joins_.size(); ++e)
      for (std::size_t i = 0; i < joins_[e].size(); ++i)
        options.push_back({joins_[e][i].length, static_cast<int>(e), i});
    std::sort(options.begin(), options.end(), [](const Option& a, const Option& b) {
      return std::tie(a.length, a.from, a.index) < std::tie(b.length, b.from, b.index);
    });
    for (const Option& o : options) {
      const Join& j = joins_[static_cast<std::size_t>(o.from)][o.index];
      if (partner_[static_cast<std::size_t>(o.from)] >= 0 || partner_[static_cast<std::size_t>(j.to)] >= 0) continue;
      if (groups_.find(piece(o.from)) == groups_.find(piece(j.to))) continue;
      link(o.from, j);
    }
  }

  static void append(Polyline& out, const Polyline& points, bool reversed) {
    auto add = [&](Point2 p) {
      if (out.empty() || std::hypot(p.x - out.back().x, p.y - out.back().y) > kSamePointMm) out.push_back(p);
    };
    if (reversed)
      for (auto it = points.rbegin(); it != points.rend(); ++it) add(*it);
    else
      for (Point2 p : points) add(p);
  }

  // Chains are paths (no loops), so each starts at a free end; emitted in end order.
  std::vector<InfillLine> assemble() const {
    std::vector<InfillLine> out;
    std::vector<char> done(pieces_.size(), 0);
    std::size_t emitted = 0;
    for (int start = 0; start < static_cast<int>(2 * pieces_.size()); ++start) {
      if (done[static_cast<std::size_t>(piece(start))] || partner_[static_cast<std::size_t>(start)] >= 0) continue;
      InfillLine line;
      for (int end = start;;) {
        const std::size_t p = static_cast<std::size_t>(piece(end));
        append(line.points, pieces_[p], end % 2 == 1);
        done[p] = 1;
        ++emitted;
        const int other = end ^ 1;
        if (partner_[static_cast<std::size_t>(other)] < 0) break;
        append(line.points, bridge_[static_cast<std::size_t>(other)], false);
        end = partner_[static_cast<std::size_t>(other)];
      }
      out.push_back(std::move(line));
    }
    FABFORGE_CHECK(emitted == pieces_.size(), "infill joins formed a loop");
    return out;
  }

  const std::vector<Polyline>& pieces_;
  Boundary boundary_;
  detail::ConnectOptions options_;
  std::vector<std::vector<Join>> joins_;  // per end: candidate joins
  std::vector<int> partner_;              // per end: the end it is joined to, or -1
  std::vector<Polyline> bridge_;          // per end: the join's path from it to its partner
  UnionFind groups_;                      // pieces already in one chain
};

}  // namespace

std::string_view infill_pattern_name(InfillPattern pattern) {
  for (const auto& [name, p] : kPatternNames)
    if (p == pattern) return name;
  FABFORGE_CHECK(false, "unknown infill pattern value");
  return {};
}

InfillPattern parse_infill_pattern(std::string_view name) {
  if (name == "lines") return InfillPattern::rectilinear;
  for (const auto& [n, p] : kPatternNames)
    if (n == name) return p;
  throw usage_error("unknown infill pattern '" + std::string(name) +
                    "' (valid: rectilinear (or lines), zigzag, concentric, honeycomb, triangles, gyroid)");
}

std::vector<InfillLine> fill_area(const Regions& area, const InfillParams& params) {
  validate(params);
  if (area.empty()) return {};
  const Regions clean = normalised(area);
  if (clean.empty()) return {};
  check_line_count(clean, params);
  std::vector<InfillLine> lines;
  switch (params.pattern) {
    case InfillPattern::rectilinear:
      lines = detail::fill_parallel(clean, params, false);
      break;
    case InfillPattern::zigzag:
      lines = detail::fill_parallel(clean, params, true);
      break;
    case InfillPattern::concentric:
      lines = detail::fill_concentric(clean, params);
      break;
    case InfillPattern::honeycomb:
      lines = detail::fill_honeycomb(clean, params);
      break;
    case InfillPattern::triangles:
      lines = detail::fill_triangles(clean, params);
      break;
    case InfillPattern::gyroid:
      lines = detail::fill_gyroid(clean, params);
      break;
  }
  std::erase_if(lines, [&](const InfillLine& l) {
    double len = detail::polyline_length(l.points);
    if (l.closed && l.points.size() > 1) {
      const Point2 a = l.points.back(), b = l.points.front();
      len += std::hypot(b.x - a.x, b.y - a.y);
    }
    return l.points.size() < 2 || len < params.min_length_mm || len == 0;
  });
  return lines;
}

namespace infill_detail {

Frame Frame::degrees(double angle_deg) {
  // Exact quarter turns keep axis-aligned lines exactly axis-aligned.
  const double turns = angle_deg / 90;
  if (turns == std::round(turns) && std::abs(turns) < 1e9) {
    const long q = ((static_cast<long>(turns) % 4) + 4) % 4;
    constexpr std::array<std::pair<double, double>, 4> kQuarter{{{1, 0}, {0, 1}, {-1, 0}, {0, -1}}};
    return {kQuarter[static_cast<std::size_t>(q)].first, kQuarter[static_cast<std::size_t>(q)].second};
  }
  const double a = angle_deg * M_PI / 180;
  return {std::cos(a), std::sin(a)};
}

Box2 local_bounds(const Regions& area, const Frame& frame) {
  Box2 box;
  for (const auto& island : area.islands) {
    for (Point2 p : island.outer) box.add(frame.to_local(p));
    for (const Ring& h : island.holes)
      for (Point2 p : h) box.add(frame.to_local(p));
  }
  return box;
}

double polyline_length(const Polyline& line) {
  double len = 0;
  for (std::size_t i = 1; i < line.size(); ++i) len += std::hypot(line[i].x - line[i - 1].x, line[i].y - line[i - 1].y);
  return len;
}

Polyline simplify(const Polyline& line, double tolerance) {
  if (line.size() < 3) return line;
  std::vector<char> keep(line.size(), 0);
  keep.front() = keep.back() = 1;
  std::vector<std::pair<std::size_t, std::size_t>> stack{{0, line.size() - 1}};
  while (!stack.empty()) {
    const auto [i, j] = stack.back();
    stack.pop_back();
    const Point2 a = line[i], b = line[j];
    const double dx = b.x - a.x, dy = b.y - a.y, len = std::hypot(dx, dy);
    double worst = -1;
    std::size_t at = i;
    for (std::size_t k = i + 1; k < j; ++k) {
      const double d = len > 0 ? std::abs(dx * (line[k].y - a.y) - dy * (line[k].x - a.x)) / len
                               : std::hypot(line[k].x - a.x, line[k].y - a.y);
      if (d > worst) worst = d, at = k;
    }
    if (worst > tolerance) {
      keep[at] = 1;
      stack.push_back({i, at});
      stack.push_back({at, j});
    }
  }
  Polyline out;
  for (std::size_t k = 0; k < line.size(); ++k)
    if (keep[k]) out.push_back(line[k]);
  return out;
}

std::vector<Polyline> grid_lines(const Regions& area, const Frame& frame, double spacing) {
  const Box2 b = local_bounds(area, frame);
  if (b.empty()) return {};
  const double k0 = std::ceil(b.min.y / spacing), k1 = std::floor(b.max.y / spacing);
  const double u0 = b.min.x - 1, u1 = b.max.x + 1;
  std::vector<Polyline> lines;
  for (double k = k0; k <= k1; ++k) {
    const double v = k * spacing;
    lines.push_back({frame.to_world({u0, v}), frame.to_world({u1, v})});
  }
  return lines;
}

std::vector<Polyline> fitted_lines(const PolygonWithHoles& island, const Frame& frame, double spacing) {
  Regions one;
  one.islands.push_back(island);
  const Box2 b = local_bounds(one, frame);
  if (b.empty()) return {};
  const double span = b.max.y - b.min.y;
  // Just inside the extremes: a line exactly on a flat edge would be clipped unpredictably.
  const double margin = std::min(1e-3, span / 4);
  const double usable = span - 2 * margin;
  const double u0 = b.min.x - 1, u1 = b.max.x + 1;
  std::vector<Polyline> lines;
  if (usable <= 0) {
    const double v = (b.min.y + b.max.y) / 2;
    lines.push_back({frame.to_world({u0, v}), frame.to_world({u1, v})});
    return lines;
  }
  const double gaps = std::max(1.0, std::ceil(usable / spacing - 1e-9));
  for (double i = 0; i <= gaps; ++i) {
    const double v = b.min.y + margin + usable * (i / gaps);
    lines.push_back({frame.to_world({u0, v}), frame.to_world({u1, v})});
  }
  return lines;
}

std::vector<Polyline> clip_pieces(const std::vector<Polyline>& lines, const Regions& area, double min_length) {
  std::vector<Polyline> out;
  for (Polyline& raw : clip::clip_lines(lines, area)) {
    Polyline piece;
    for (Point2 p : raw)
      if (piece.empty() || std::hypot(p.x - piece.back().x, p.y - piece.back().y) > 1e-6) piece.push_back(p);
    if (piece.size() < 2) continue;
    const double len = polyline_length(piece);
    if (len > 0 && len >= min_length) out.push_back(std::move(piece));
  }
  return out;
}

void sort_straight_pieces(std::vector<Polyline>& pieces, const Frame& frame) {
  struct Key {
    double v, u;
    std::size_t index;
  };
  std::vector<Key> keys;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    Polyline& p = pieces[i];
    if (frame.to_local(p.back()).x < frame.to_local(p.front()).x) std::reverse(p.begin(), p.end());
    const Point2 q = frame.to_local(p.front());
    keys.push_back({q.y, q.x, i});
  }
  // Pieces of one line agree on v to a few nanometres; lines are far further apart. Group by v,
  // then order each group along u.
  std::sort(keys.begin(), keys.end(),
            [](const Key& a, const Key& b) { return std::tie(a.v, a.u, a.index) < std::tie(b.v, b.u, b.index); });
  std::size_t g = 0;
  while (g < keys.size()) {
    std::size_t h = g + 1;
    while (h < keys.size() && keys[h].v - keys[g].v < 1e-4) ++h;
    std::sort(keys.begin() + static_cast<std::ptrdiff_t>(g), keys.begin() + static_cast<std::ptrdiff_t>(h),
              [](const Key& a, const Key& b) { return std::tie(a.u, a.index) < std::tie(b.u, b.index); });
    g = h;
  }
  std::vector<Polyline> sorted;
  sorted.reserve(pieces.size());
  for (const Key& k : keys) sorted.push_back(std::move(pieces[k.index]));
  pieces = std::move(sorted);
}

void sort_curved_pieces(std::vector<Polyline>& pieces, const Frame& frame) {
  auto key = [&](Point2 p) {
    const Point2 q = frame.to_local(p);
    return std::pair(q.y, q.x);
  };
  for (Polyline& p : pieces)
    if (key(p.back()) < key(p.front())) std::reverse(p.begin(), p.end());
  std::stable_sort(pieces.begin(), pieces.end(), [&](const Polyline& a, const Polyline& b) {
    return std::pair(key(a.front()), key(a.back())) < std::pair(key(b.front()), key(b.back()));
  });
}

std::vector<InfillLine> connect_pieces(std::vector<Polyline> pieces, const Regions& area,
                                       const ConnectOptions& options) {
  if (pieces.empty()) return {};
  return Joiner(pieces, area, options).run();
}

std::vector<InfillLine> as_open_lines(std::vector<Polyline> pieces) {
  std::vector<InfillLine> out;
  out.reserve(pieces.size());
  for (Polyline& p : pieces) out.push_back({std::move(p), false});
  return out;
}

}  // namespace infill_detail

}  // namespace fabforge::toolpath
