#include "fabforge/voxel/tessellate.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <limits>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "fabforge/core/error.hpp"
#include "fabforge/core/parallel.hpp"
#include "fabforge/openfl/types.hpp"

namespace fabforge::voxel {

namespace {

constexpr int kMaxSegments = 65536;
constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();

Vec3d normalized_or_zero(Vec3d v) {
  const double len = length(v);
  return len > 0 ? v * (1.0 / len) : Vec3d{};
}

/// Where one scalar input column of the surface kernel comes from.
struct ColumnSource {
  enum class Kind : std::uint8_t { position, normal, attribute, zero };
  Kind kind = Kind::zero;
  int component = 0;
  const VertexAttribute* attribute = nullptr;
};

/// The surface kernel's input columns bound to a base mesh by parameter name.
struct Binding {
  std::vector<ColumnSource> columns;
  int normal_first = -1;  ///< first column of the parameter bound to the normals (renormalised)

  int size() const { return static_cast<int>(columns.size()); }

  /// The inputs of base vertex v, one value per column.
  void row(const BaseMesh& base, std::uint32_t v, double* out) const {
    const Vec3f p = base.mesh().vertices[v];
    const Vec3f n = base.normals()[v];
    for (std::size_t c = 0; c < columns.size(); ++c) {
      const ColumnSource& s = columns[c];
      const int k = s.component;
      switch (s.kind) {
        case ColumnSource::Kind::position: out[c] = k == 0 ? p.x : k == 1 ? p.y : p.z; break;
        case ColumnSource::Kind::normal: out[c] = k == 0 ? n.x : k == 1 ? n.y : n.z; break;
        case ColumnSource::Kind::attribute:
          out[c] = s.attribute->values[static_cast<std::size_t>(v) * static_cast<std::size_t>(s.attribute->components) +
                                       static_cast<std::size_t>(k)];
          break;
        case ColumnSource::Kind::zero: out[c] = 0.0; break;
      }
    }
  }
};

Binding bind_inputs(const openfl::Program& program, const BaseMesh& base) {
  Binding b;
  for (const auto& [name, type] : program.phase_inputs(openfl::Phase::surface)) {
    const int count = openfl::component_count(type);
    auto wrong = [&](int have) {
      return usage_error("surface parameter '" + name + "' of fablet '" + program.name() + "' is " +
                         std::string(openfl::type_name(type)) + " (" + std::to_string(count) +
                         " components) but the mesh gives " + std::to_string(have));
    };
    ColumnSource s;
    const VertexAttribute* attr = nullptr;
    if (name == "P") {
      if (count != 3) throw wrong(3);
      s.kind = ColumnSource::Kind::position;
    } else if (name == "N") {
      if (count != 3) throw wrong(3);
      s.kind = ColumnSource::Kind::normal;
      b.normal_first = b.size();
    } else if ((attr = base.find(name)) != nullptr) {
      if (attr->components != count) throw wrong(attr->components);
      s.kind = ColumnSource::Kind::attribute;
      s.attribute = attr;
    }
    for (int k = 0; k < count; ++k) {
      s.component = k;
      b.columns.push_back(s);
    }
  }
  return b;
}

void check_kernel(const openfl::Program& program, const openfl::Kernel& kernel) {
  if (kernel.phase != openfl::Phase::surface || kernel.input_count != program.input_columns(openfl::Phase::surface) ||
      kernel.output_count != program.output_columns(openfl::Phase::surface)) {
    throw usage_error("the kernel given for fablet '" + program.name() + "' is not its surface phase");
  }
}

/// Interpolates corner rows with weights w (kept lanes: clamped to the corners' range, normal
/// renormalised; helper lanes: plain extrapolation).
void interpolate(const Binding& b, int corners, const double* const* rows, const double* w, bool kept, double* out) {
  const int k = b.size();
  for (int c = 0; c < k; ++c) {
    double v = 0, lo = rows[0][c], hi = rows[0][c];
    for (int r = 0; r < corners; ++r) {
      v += w[r] * rows[r][c];
      lo = std::min(lo, rows[r][c]);
      hi = std::max(hi, rows[r][c]);
    }
    out[c] = kept ? std::clamp(v, lo, hi) : v;
  }
  if (b.normal_first >= 0) {
    double* n = out + b.normal_first;
    // Unclamped interpolation first: clamping a normal's components would bend it.
    Vec3d v{};
    for (int r = 0; r < corners; ++r) {
      const double* nr = rows[r] + b.normal_first;
      v = v + Vec3d{nr[0], nr[1], nr[2]} * w[r];
    }
    v = normalized_or_zero(v);
    n[0] = v.x;
    n[1] = v.y;
    n[2] = v.z;
  }
}

/// A base edge in canonical direction lo < hi, with its segment count and the output vertices of
/// its inner points (first + o - 1 for o in 1..segments-1).
struct EdgeInfo {
  int segments = 1;
  std::uint32_t first = 0;
};

std::uint64_t edge_key(std::uint32_t a, std::uint32_t b) {
  const std::uint32_t lo = std::min(a, b), hi = std::max(a, b);
  return (static_cast<std::uint64_t>(lo) << 32) | hi;
}

/// Lanes for the surface phase plus the output vertex each one fills (kNone: helper lane).
class LaneBuffer {
 public:
  explicit LaneBuffer(int columns) : columns_(static_cast<std::size_t>(columns)) {}
  void add(const double* values, std::uint32_t target) {
    for (std::size_t c = 0; c < columns_.size(); ++c) columns_[c].push_back(static_cast<float>(values[c]));
    targets_.push_back(target);
  }
  std::size_t size() const { return targets_.size(); }
  const std::vector<std::vector<float>>& columns() const { return columns_; }
  const std::vector<std::uint32_t>& targets() const { return targets_; }

 private:
  std::vector<std::vector<float>> columns_;
  std::vector<std::uint32_t> targets_;
};

/// Builds the micropolygons and lanes of one call.
class Builder {
 public:
  Builder(const BaseMesh& base, const Binding& binding, double h)
      : base_(base), b_(binding), h_(h), lanes_(binding.size()) {}

  void add_triangle(std::uint32_t t);

  const BaseMesh& base_;
  const Binding& b_;
  double h_;
  LaneBuffer lanes_;
  std::uint32_t vertex_count_ = 0;
  std::vector<Vec3d> fallback_normals_;  ///< per output vertex: interpolated base normal
  std::vector<Triangle> triangles_;
  std::vector<std::uint32_t> base_triangle_;

 private:
  std::vector<double> row(std::uint32_t v) const {
    std::vector<double> r(static_cast<std::size_t>(b_.size()));
    b_.row(base_, v, r.data());
    return r;
  }
  Vec3d position(std::uint32_t v) const { return to_double(base_.mesh().vertices[v]); }
  std::uint32_t new_vertex(Vec3d fallback_normal) {
    fallback_normals_.push_back(fallback_normal);
    return vertex_count_++;
  }
  std::uint32_t corner(std::uint32_t v);
  const EdgeInfo& edge(std::uint32_t a, std::uint32_t b);
  /// Base triangle t in the frame of the staggered rows (see add_rows' comment): its longest edge
  /// along x from the origin, the apex above it. What does not depend on the margin.
  struct RowFrame {
    int i0 = 0, i1 = 1, i2 = 2;  // corners of t: the longest edge's two ends, then the apex
    std::uint32_t v0 = 0, v1 = 0, v2 = 0;
    double L = 0, cx = 0, H = 0;  // longest edge's length, the apex at (cx, H)
    int m = 1;                    // row gaps: rows 0 (the longest edge) .. m (the apex)
    int nb = 1, nr = 1, nl = 1;   // segments of the longest edge, v1 v2 and v0 v2
    double w = 0;                 // spacing along a row
  };
  /// The frame of base triangle t, or nothing where the rows cannot be used (degenerate, or more
  /// rows than an edge may have segments).
  std::optional<RowFrame> row_frame(std::uint32_t t);
  /// The staggered rows of base triangle t for a margin; false, with nothing added, where they do
  /// not give a valid triangulation within the edge bounds (the lattice then does).
  bool add_rows(std::uint32_t t, const RowFrame& f, double margin);
  // add_rows' scratch, kept across calls: per row its first lattice column, point count and first
  // inner point; the micropolygons found; the two chains of a strip.
  struct RowPoint {
    double x, y;
    std::uint32_t id;
  };
  std::vector<int> row_k0_, row_count_;
  std::vector<std::uint32_t> row_first_;
  std::vector<Triangle> row_triangles_;
  std::vector<RowPoint> chain1_, chain2_;
  /// Output vertex of the point o (counted from `from`) of edge {from, to}.
  std::uint32_t edge_vertex(std::uint32_t from, std::uint32_t to, int o);
  /// Parameter o / segments from lo, bit-identical on both sides.
  static double edge_t(int o, int segments) { return static_cast<double>(o) / static_cast<double>(segments); }
  Vec3d edge_position(std::uint32_t lo, std::uint32_t hi, int o, int segments) const {
    const double t = edge_t(o, segments);
    return position(lo) * (1.0 - t) + position(hi) * t;
  }

  std::unordered_map<std::uint32_t, std::uint32_t> corners_;
  std::unordered_map<std::uint64_t, EdgeInfo> edges_;
};

std::uint32_t Builder::corner(std::uint32_t v) {
  const auto it = corners_.find(v);
  if (it != corners_.end()) return it->second;
  const std::uint32_t id = new_vertex(to_double(base_.normals()[v]));
  corners_.emplace(v, id);
  const std::vector<double> r = row(v);
  // (v, v, v, v): zero derivatives, finest texture level; depends on the vertex alone.
  lanes_.add(r.data(), id);
  for (int k = 0; k < 3; ++k) lanes_.add(r.data(), kNone);
  return id;
}

const EdgeInfo& Builder::edge(std::uint32_t a, std::uint32_t b) {
  const std::uint64_t key = edge_key(a, b);
  const auto it = edges_.find(key);
  if (it != edges_.end()) return it->second;
  const std::uint32_t lo = std::min(a, b), hi = std::max(a, b);
  const double len = length(position(hi) - position(lo));
  const double segs = std::max(1.0, std::ceil(len / h_));
  if (segs > kMaxSegments) {
    throw usage_error("a base edge of " + std::to_string(len) + " mm needs more than " + std::to_string(kMaxSegments) +
                      " segments at a micropolygon size of " + std::to_string(h_) + " mm");
  }
  EdgeInfo e;
  e.segments = static_cast<int>(segs);
  e.first = vertex_count_;
  const std::vector<double> rlo = row(lo), rhi = row(hi);
  const double* rows[2] = {rlo.data(), rhi.data()};
  const Vec3d nlo = to_double(base_.normals()[lo]), nhi = to_double(base_.normals()[hi]);
  for (int o = 1; o < e.segments; ++o) {
    const double t = edge_t(o, e.segments);
    (void)new_vertex(normalized_or_zero(nlo * (1.0 - t) + nhi * t));
  }
  // Quads (p_o, p_o+1, p_o, p_o+1) for odd o: derivatives along this edge only.
  std::vector<double> v0(rlo.size()), v1(rlo.size());
  for (int o = 1; o < e.segments; o += 2) {
    const double t0 = edge_t(o, e.segments), t1 = edge_t(o + 1, e.segments);
    const double w0[2] = {1.0 - t0, t0}, w1[2] = {1.0 - t1, t1};
    interpolate(b_, 2, rows, w0, true, v0.data());
    interpolate(b_, 2, rows, w1, true, v1.data());
    const std::uint32_t id0 = e.first + static_cast<std::uint32_t>(o) - 1;
    const std::uint32_t id1 = o + 1 < e.segments ? id0 + 1 : kNone;
    lanes_.add(v0.data(), id0);
    lanes_.add(v1.data(), id1);
    lanes_.add(v0.data(), kNone);
    lanes_.add(v1.data(), kNone);
  }
  return edges_.emplace(key, e).first->second;
}

std::uint32_t Builder::edge_vertex(std::uint32_t from, std::uint32_t to, int o) {
  const EdgeInfo& e = edge(from, to);
  const int from_lo = from < to ? o : e.segments - o;
  if (from_lo == 0) return corner(std::min(from, to));
  if (from_lo == e.segments) return corner(std::max(from, to));
  return e.first + static_cast<std::uint32_t>(from_lo) - 1;
}

// Staggered rows. The longest edge P0 P1 (length L; taken in the triangle's own cyclic order, so
// the orientation is kept) is the base; the apex P2 lies at height H over it. Rows parallel to the
// base at heights H r / m, m = ceil(H / (h sqrt(3) / 2)), hold the points of a staggered lattice:
// spacing w = L / n_01 <= h along a row (the base's own points are row 0), odd rows shifted by
// w / 2, so that inside the triangle micropolygons are near equilateral with edges <= h
// (sqrt(w^2 / 4 + v^2) <= h for row spacing v). The barycentric lattice makes micropolygons
// similar to the base triangle, all sized by its longest edge: 1.7x as many as equilateral ones
// on half a quad, 2.2x on the creature's base mesh. Lattice points nearer than `margin` w to a
// side are left out. Strip r, between rows r and r + 1, is triangulated by merging two chains,
// both running left to right from S to T, taking the shorter diagonal at each step: row r, and
// the left side's points up, row r + 1, the right side's points down. S and T are the side points
// nearest in height to row r (the apex is row m). The boundary points are the edges' own, so the
// result is crack-free next to any neighbour. Accepted only when every micropolygon keeps the
// triangle's orientation and the areas add up to the triangle's (the chains bound each strip
// once, so the micropolygons then tile it exactly), and the edges keep the lattice's bounds
// (<= h between inner points, <= 1.5 h next to the boundary), and there are no more of them than
// the lattice's; else nothing is added.
constexpr double kRowHeight = 0.8660254037844386 * (1 - 1e-9);  // sqrt(3) / 2, rounding kept inside
// Margins tried in turn before the lattice: the edges from a row's end to the side points are the
// ones that can pass 1.5 h, and which margin keeps them inside depends on where the lattice falls.
constexpr double kRowMargins[] = {0.3, 0.15, 0.45};

std::optional<Builder::RowFrame> Builder::row_frame(std::uint32_t t) {
  const Triangle& tri = base_.mesh().triangles[t];
  const Vec3d p[3] = {position(tri[0]), position(tri[1]), position(tri[2])};
  RowFrame f;
  double longest2 = -1;
  for (int e = 0; e < 3; ++e) {
    const Vec3d d = p[(e + 1) % 3] - p[e];
    if (dot(d, d) > longest2) {
      longest2 = dot(d, d);
      f.i0 = e;
    }
  }
  f.i1 = (f.i0 + 1) % 3;
  f.i2 = (f.i0 + 2) % 3;
  f.v0 = tri[static_cast<std::size_t>(f.i0)];
  f.v1 = tri[static_cast<std::size_t>(f.i1)];
  f.v2 = tri[static_cast<std::size_t>(f.i2)];
  f.L = std::sqrt(longest2);
  if (!(f.L > 0)) return std::nullopt;
  const Vec3d ux = (p[f.i1] - p[f.i0]) * (1.0 / f.L);
  const Vec3d e02 = p[f.i2] - p[f.i0];
  f.cx = dot(e02, ux);
  f.H = length(e02 - ux * f.cx);
  if (!(f.H > 1e-6 * f.L)) return std::nullopt;
  const double rows_needed = std::ceil(f.H / (kRowHeight * h_));
  if (!(rows_needed <= kMaxSegments)) return std::nullopt;
  f.m = std::max(1, static_cast<int>(rows_needed));
  f.nb = edge(f.v0, f.v1).segments;
  f.nr = edge(f.v1, f.v2).segments;
  f.nl = edge(f.v0, f.v2).segments;
  f.w = f.L / f.nb;
  return f;
}

bool Builder::add_rows(std::uint32_t t, const RowFrame& f, double margin) {
  const Triangle& tri = base_.mesh().triangles[t];
  const int i0 = f.i0, i1 = f.i1, i2 = f.i2, m = f.m, nb = f.nb, nr = f.nr, nl = f.nl;
  const std::uint32_t v0 = f.v0, v1 = f.v1, v2 = f.v2;
  const double L = f.L, cx = f.cx, H = f.H, w = f.w;
  using Point = RowPoint;
  auto base_point = [&](int o) { return Point{L * o / nb, 0.0, edge_vertex(v0, v1, o)}; };
  auto right_point = [&](int o) { return Point{L + (cx - L) * o / nr, H * o / nr, edge_vertex(v1, v2, o)}; };
  auto left_point = [&](int o) { return Point{cx * o / nl, H * o / nl, edge_vertex(v0, v2, o)}; };
  // Inner rows 1 .. m - 1: lattice columns [k0, k0 + count), numbered from first.
  const std::uint32_t first_inner = vertex_count_;
  std::vector<int>&row_k0 = row_k0_, &row_count = row_count_;
  std::vector<std::uint32_t>& row_first = row_first_;
  row_k0.assign(static_cast<std::size_t>(m) + 1, 0);
  row_count.assign(static_cast<std::size_t>(m) + 1, 0);
  row_first.assign(static_cast<std::size_t>(m) + 1, 0);
  std::uint32_t inner = 0;
  auto stagger = [](int r) { return (r & 1) != 0 ? 0.5 : 0.0; };
  for (int r = 1; r < m; ++r) {
    const double xl = cx * r / m, xr = L + (cx - L) * r / m;
    const double lo = std::ceil((xl + margin * w) / w - stagger(r));
    const double hi = std::floor((xr - margin * w) / w - stagger(r));
    const auto ur = static_cast<std::size_t>(r);
    row_first[ur] = inner;
    if (!(hi >= lo)) continue;
    if (hi - lo + 1 > 4.0 * kMaxSegments) return false;
    row_k0[ur] = static_cast<int>(lo);
    row_count[ur] = static_cast<int>(hi - lo) + 1;
    inner += static_cast<std::uint32_t>(row_count[ur]);
  }
  if (inner > (kNone >> 2) - vertex_count_) return false;
  auto inner_point = [&](int r, int q) {
    const auto ur = static_cast<std::size_t>(r);
    return Point{(row_k0[ur] + q + stagger(r)) * w, H * r / m, first_inner + row_first[ur] + static_cast<std::uint32_t>(q)};
  };
  // The side point nearest in height to row r (where the row meets the side, to half a segment).
  auto nearest_side = [m](int r, int segments) { return static_cast<int>((2LL * r * segments + m) / (2LL * m)); };

  const double limit_inner = h_ * (1 + 1e-9), limit_boundary = 1.5 * h_ * (1 + 1e-9);
  const double min_area2 = 1e-12 * L * L;
  std::vector<Triangle>& local = row_triangles_;
  local.clear();
  double area2 = 0;
  bool ok = true;
  auto orient = [](const Point& a, const Point& b, const Point& c) {
    return (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x);
  };
  auto too_long = [&](const Point& a, const Point& b) {
    const double dx = a.x - b.x, dy = a.y - b.y;
    const double limit = a.id >= first_inner && b.id >= first_inner ? limit_inner : limit_boundary;
    return dx * dx + dy * dy > limit * limit;
  };
  auto emit = [&](const Point& a, const Point& b, const Point& c) {
    if (a.id == b.id || b.id == c.id || c.id == a.id) return;
    const double o = orient(a, b, c);
    if (!(o > min_area2) || too_long(a, b) || too_long(b, c) || too_long(c, a)) ok = false;
    area2 += o;
    local.push_back({a.id, b.id, c.id});
  };
  auto dist2 = [](const Point& a, const Point& b) { return (a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y); };
  std::vector<Point>&c1 = chain1_, &c2 = chain2_;
  auto push = [](std::vector<Point>& chain, const Point& pt) {
    if (chain.empty() || chain.back().id != pt.id) chain.push_back(pt);
  };
  auto push_row = [&](std::vector<Point>& chain, int r) {
    if (r == 0) {
      for (int o = 1; o < nb; ++o) push(chain, base_point(o));
    } else if (r < m) {
      for (int q = 0; q < row_count[static_cast<std::size_t>(r)]; ++q) push(chain, inner_point(r, q));
    }
  };
  for (int r = 0; r < m && ok; ++r) {
    const int l0 = nearest_side(r, nl), l1 = nearest_side(r + 1, nl);
    const int r0 = nearest_side(r, nr), r1 = nearest_side(r + 1, nr);
    c1.clear();
    c2.clear();
    push(c1, left_point(l0));
    push_row(c1, r);
    push(c1, right_point(r0));
    for (int o = l0; o <= l1; ++o) push(c2, left_point(o));
    push_row(c2, r + 1);
    for (int o = r1; o >= r0; --o) push(c2, right_point(o));
    std::size_t i = 0, j = 0;
    const std::size_t n1 = c1.size(), n2 = c2.size();
    while (i + 1 < n1 || j + 1 < n2) {
      bool first = j + 1 >= n2;
      if (i + 1 < n1 && j + 1 < n2) {
        first = dist2(c1[i + 1], c2[j]) <= dist2(c1[i], c2[j + 1]);
        const bool good1 = orient(c1[i], c1[i + 1], c2[j]) > min_area2;
        const bool good2 = orient(c1[i], c2[j + 1], c2[j]) > min_area2;
        if (good1 != good2) first = good1;
      }
      if (first) {
        emit(c1[i], c1[i + 1], c2[j]);
        ++i;
      } else {
        emit(c1[i], c2[j + 1], c2[j]);
        ++j;
      }
    }
  }
  if (!ok || std::abs(area2 - L * H) > 1e-9 * L * H) return false;
  // Never more than the lattice's n^2 (n = max n_e), which the job plans memory with.
  const auto n_max = static_cast<std::size_t>(std::max({nb, nl, nr}));
  if (local.size() > n_max * n_max) return false;

  // Accepted: the inner vertices, the micropolygons, then the lanes in 2x2 quads of the staggered
  // lattice tiled at odd rows and even columns (points outside the kept ranges run as helpers).
  const std::vector<double> r0 = row(tri[0]), r1 = row(tri[1]), r2 = row(tri[2]);
  const double* rows[3] = {r0.data(), r1.data(), r2.data()};
  const Vec3d n[3] = {to_double(base_.normals()[tri[0]]), to_double(base_.normals()[tri[1]]),
                      to_double(base_.normals()[tri[2]])};
  auto weights = [&](double x, double y, double* wt) {  // barycentric, in the order of tri
    const double w2 = y / H, w1 = (x - cx * w2) / L;
    wt[i0] = 1.0 - w1 - w2;
    wt[i1] = w1;
    wt[i2] = w2;
  };
  double wt[3];
  for (int r = 1; r < m; ++r) {
    for (int q = 0; q < row_count[static_cast<std::size_t>(r)]; ++q) {
      const Point pt = inner_point(r, q);
      weights(pt.x, pt.y, wt);
      (void)new_vertex(normalized_or_zero(n[0] * wt[0] + n[1] * wt[1] + n[2] * wt[2]));
    }
  }
  triangles_.insert(triangles_.end(), local.begin(), local.end());
  base_triangle_.insert(base_triangle_.end(), local.size(), t);
  std::vector<double> values(r0.size());
  for (int ra = 1; ra < m; ra += 2) {
    int lo = std::numeric_limits<int>::max(), hi = std::numeric_limits<int>::min();
    for (int r = ra; r <= std::min(ra + 1, m - 1); ++r) {
      const auto ur = static_cast<std::size_t>(r);
      if (row_count[ur] == 0) continue;
      lo = std::min(lo, row_k0[ur]);
      hi = std::max(hi, row_k0[ur] + row_count[ur] - 1);
    }
    if (lo > hi) continue;
    for (int k0 = lo - (lo & 1); k0 <= hi; k0 += 2) {
      bool any = false;
      std::uint32_t ids[4];
      for (int q = 0; q < 4; ++q) {
        const int kk = k0 + (q & 1), r = ra + (q >> 1);
        const auto ur = static_cast<std::size_t>(r);
        const bool kept = r < m && kk >= row_k0[ur] && kk < row_k0[ur] + row_count[ur];
        ids[q] = kept ? inner_point(r, kk - row_k0[ur]).id : kNone;
        any = any || kept;
      }
      if (!any) continue;
      for (int q = 0; q < 4; ++q) {
        const int kk = k0 + (q & 1), r = ra + (q >> 1);
        weights((kk + stagger(r)) * w, H * r / m, wt);
        interpolate(b_, 3, rows, wt, ids[q] != kNone, values.data());
        lanes_.add(values.data(), ids[q]);
      }
    }
  }
  return true;
}

void Builder::add_triangle(std::uint32_t t) {
  const Triangle& tri = base_.mesh().triangles[t];
  const std::uint32_t a = tri[0], b = tri[1], c = tri[2];
  // Edges first (their vertices are allocated once per call), then the corners.
  const int nab = edge(a, b).segments, nbc = edge(b, c).segments, nca = edge(c, a).segments;
  (void)corner(a);
  (void)corner(b);
  (void)corner(c);
  FABFORGE_CHECK(vertex_count_ < (kNone >> 2), "too many micropolygon vertices in one call");
  if (const std::optional<RowFrame> frame = row_frame(t)) {
    for (double margin : kRowMargins) {
      if (add_rows(t, *frame, margin)) return;
    }
  }
  const Vec3d pa = position(a), pb = position(b), pc = position(c);
  auto snap = [](int i, int n, int segments) {  // nearest edge point to lattice parameter i / n
    return static_cast<int>((2LL * i * segments + n) / (2LL * n));
  };
  auto lattice_position = [&](int i, int j, int n) {
    const double dn = n;
    return pa * ((n - i - j) / dn) + pb * (i / dn) + pc * (j / dn);
  };
  auto index = [](int i, int j, int n) {
    return static_cast<std::size_t>(j) * static_cast<std::size_t>(n + 1) -
           static_cast<std::size_t>(j) * static_cast<std::size_t>(j - 1) / 2 + static_cast<std::size_t>(i);
  };
  // Lattice points: boundary ones snap to edge points; interior ones get provisional numbers
  // until n is fixed. Positions are kept for the edge-length check.
  int n = std::max({nab, nbc, nca});
  std::vector<std::uint32_t> map;
  std::vector<Vec3d> pos;
  std::vector<Triangle> local;
  for (int attempt = 0;; ++attempt) {
    const std::size_t count = index(0, n, n) + 1;
    map.assign(count, kNone);
    pos.assign(count, Vec3d{});
    std::uint32_t interior = 0;
    for (int j = 0; j <= n; ++j) {
      for (int i = 0; i + j <= n; ++i) {
        const int k = n - i - j;
        const std::size_t id = index(i, j, n);
        if (j == 0) {
          const int o = snap(i, n, nab);
          map[id] = edge_vertex(a, b, o);
          pos[id] = a < b ? edge_position(a, b, o, nab) : edge_position(b, a, nab - o, nab);
        } else if (k == 0) {
          const int o = snap(j, n, nbc);
          map[id] = edge_vertex(b, c, o);
          pos[id] = b < c ? edge_position(b, c, o, nbc) : edge_position(c, b, nbc - o, nbc);
        } else if (i == 0) {
          const int o = snap(k, n, nca);
          map[id] = edge_vertex(c, a, o);
          pos[id] = c < a ? edge_position(c, a, o, nca) : edge_position(a, c, nca - o, nca);
        } else {
          map[id] = kNone - 1 - interior++;  // provisional, see resolve()
          pos[id] = lattice_position(i, j, n);
        }
      }
    }
    local.clear();
    double longest2 = 0;
    // `boundary`: the triangle has a lattice point on the base triangle's boundary. Only those can
    // have an edge longer than h (between lattice points the steps are |ab| / n, |bc| / n and
    // |ca| / n, each <= h since n >= every n_e), so only their edges are measured.
    auto emit = [&](std::size_t p, std::size_t q, std::size_t r, bool boundary) {
      if (map[p] == map[q] || map[q] == map[r] || map[r] == map[p]) return;
      local.push_back({static_cast<std::uint32_t>(p), static_cast<std::uint32_t>(q), static_cast<std::uint32_t>(r)});
      if (!boundary) return;
      for (const auto& [x, y] : {std::pair{p, q}, std::pair{q, r}, std::pair{r, p}}) {
        const Vec3d d = pos[x] - pos[y];
        longest2 = std::max(longest2, dot(d, d));
      }
    };
    for (int j = 0; j < n; ++j) {
      for (int i = 0; i + j < n; ++i) {
        emit(index(i, j, n), index(i + 1, j, n), index(i, j + 1, n), i == 0 || j == 0 || i + j + 1 == n);
        if (i + j + 2 <= n)
          emit(index(i + 1, j, n), index(i + 1, j + 1, n), index(i, j + 1, n), i == 0 || j == 0 || i + j + 2 == n);
      }
    }
    // Lattice steps are <= h; snapping moves a boundary point by at most half an edge segment
    // (<= h / 2), so edges next to the boundary are <= 1.5 h and n stays at max n_e unless
    // rounding says otherwise (see the header).
    const double limit = 1.5 * h_ * (1.0 + 1e-9);
    if (longest2 <= limit * limit || attempt >= 64) break;
    n += std::max(1, n / 16);
    if (n > 4 * kMaxSegments) break;
  }
  // Number the interior points and run them in 2x2 quads of the lattice tiled at even (i, j).
  const std::uint32_t first_interior = vertex_count_;
  const Vec3d na = to_double(base_.normals()[a]), nb = to_double(base_.normals()[b]), nc = to_double(base_.normals()[c]);
  for (int j = 1; j < n; ++j) {
    for (int i = 1; i + j < n; ++i) {
      const double dn = n;
      (void)new_vertex(normalized_or_zero(na * ((n - i - j) / dn) + nb * (i / dn) + nc * (j / dn)));
    }
  }
  // Interior points were numbered kNone - 1 - k (k in lattice order, the order allocated above).
  auto resolve = [&](std::size_t id) {
    const std::uint32_t m = map[id];
    return m > (kNone >> 1) ? first_interior + (kNone - 1 - m) : m;
  };
  for (const Triangle& l : local) triangles_.push_back({resolve(l[0]), resolve(l[1]), resolve(l[2])});
  base_triangle_.insert(base_triangle_.end(), local.size(), t);

  const std::vector<double> ra = row(a), rb = row(b), rc = row(c);
  const double* rows[3] = {ra.data(), rb.data(), rc.data()};
  std::vector<double> v(ra.size());
  for (int j0 = 0; j0 < n; j0 += 2) {
    for (int i0 = 0; i0 + j0 < n; i0 += 2) {
      const int di[4] = {0, 1, 0, 1}, dj[4] = {0, 0, 1, 1};
      bool any = false;
      for (int q = 0; q < 4; ++q) {
        const int i = i0 + di[q], j = j0 + dj[q];
        any = any || (i >= 1 && j >= 1 && i + j <= n - 1);
      }
      if (!any) continue;
      for (int q = 0; q < 4; ++q) {
        const int i = i0 + di[q], j = j0 + dj[q];
        const bool kept = i >= 1 && j >= 1 && i + j <= n - 1;
        const double dn = n;
        const double w[3] = {(n - i - j) / dn, i / dn, j / dn};
        interpolate(b_, 3, rows, w, kept, v.data());
        lanes_.add(v.data(), kept ? resolve(index(i, j, n)) : kNone);
      }
    }
  }
}

}  // namespace

// --- BaseMesh -------------------------------------------------------------------------------

BaseMesh::BaseMesh(Mesh mesh, std::vector<VertexAttribute> attributes)
    : mesh_(std::move(mesh)), attributes_(std::move(attributes)) {
  validate_mesh(mesh_, "base mesh");
  const std::size_t nv = mesh_.vertices.size();
  for (std::size_t k = 0; k < attributes_.size(); ++k) {
    const VertexAttribute& a = attributes_[k];
    if (a.name.empty()) throw usage_error("a vertex attribute has no name");
    if (a.name == "P") throw usage_error("vertex attribute 'P' is reserved for the positions");
    for (std::size_t l = 0; l < k; ++l) {
      if (attributes_[l].name == a.name) throw usage_error("vertex attribute '" + a.name + "' is given twice");
    }
    if (a.components < 1 || a.components > 16) {
      throw usage_error("vertex attribute '" + a.name + "' has " + std::to_string(a.components) +
                        " components (1 to 16 allowed)");
    }
    if (a.name == "N" && a.components != 3) throw usage_error("vertex attribute 'N' must have 3 components");
    if (a.values.size() != nv * static_cast<std::size_t>(a.components)) {
      throw usage_error("vertex attribute '" + a.name + "' has " + std::to_string(a.values.size()) + " values, expected " +
                        std::to_string(nv * static_cast<std::size_t>(a.components)));
    }
    for (float x : a.values) {
      if (!std::isfinite(x)) throw usage_error("vertex attribute '" + a.name + "' has a non-finite value");
    }
  }
  normals_.assign(nv, Vec3f{});
  if (const VertexAttribute* n = find("N")) {
    for (std::size_t v = 0; v < nv; ++v) {
      const Vec3d d = normalized_or_zero({n->values[3 * v], n->values[3 * v + 1], n->values[3 * v + 2]});
      normals_[v] = {static_cast<float>(d.x), static_cast<float>(d.y), static_cast<float>(d.z)};
    }
    return;
  }
  std::vector<Vec3d> sum(nv);
  for (const Triangle& t : mesh_.triangles) {
    const Vec3d p0 = to_double(mesh_.vertices[t[0]]);
    const Vec3d area2 = cross(to_double(mesh_.vertices[t[1]]) - p0, to_double(mesh_.vertices[t[2]]) - p0);
    for (std::uint32_t v : t) sum[v] = sum[v] + area2;
  }
  for (std::size_t v = 0; v < nv; ++v) {
    const Vec3d d = normalized_or_zero(sum[v]);
    normals_[v] = {static_cast<float>(d.x), static_cast<float>(d.y), static_cast<float>(d.z)};
  }
}

const VertexAttribute* BaseMesh::find(std::string_view name) const {
  for (const VertexAttribute& a : attributes_) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

bool is_degenerate_triangle(const Mesh& mesh, std::uint32_t triangle) {
  const Triangle& t = mesh.triangles[triangle];
  if (t[0] == t[1] || t[1] == t[2] || t[2] == t[0]) return true;
  const Vec3d p0 = to_double(mesh.vertices[t[0]]);
  const Vec3d c = cross(to_double(mesh.vertices[t[1]]) - p0, to_double(mesh.vertices[t[2]]) - p0);
  return dot(c, c) == 0.0;
}

BaseMesh bisect_long_edges(const BaseMesh& base, double max_edge_mm) {
  if (!(max_edge_mm > 0) || !std::isfinite(max_edge_mm)) {
    throw usage_error("the longest base edge must be positive and finite, got " + std::to_string(max_edge_mm));
  }
  const Mesh& in = base.mesh();
  auto edge_length2 = [](const std::vector<Vec3f>& v, std::uint32_t a, std::uint32_t b) {
    const Vec3d d = to_double(v[a]) - to_double(v[b]);
    return dot(d, d);
  };
  auto to_float = [](Vec3d d) { return Vec3f{static_cast<float>(d.x), static_cast<float>(d.y), static_cast<float>(d.z)}; };
  const double limit2 = max_edge_mm * max_edge_mm;
  bool any_long = false;
  for (const Triangle& t : in.triangles) {
    for (int k = 0; k < 3 && !any_long; ++k) any_long = edge_length2(in.vertices, t[k], t[(k + 1) % 3]) > limit2;
  }
  if (!any_long) return base;

  std::vector<Vec3f> vertices = in.vertices;
  std::vector<Vec3f> normals = base.normals();
  std::vector<VertexAttribute> attributes;
  for (const VertexAttribute& a : base.attributes()) {
    if (a.name != "N") attributes.push_back(a);
  }
  std::vector<Triangle> triangles;
  triangles.reserve(in.triangles.size());
  for (const Triangle& t : in.triangles) {
    if (t[0] != t[1] && t[1] != t[2] && t[2] != t[0]) triangles.push_back(t);
  }
  auto key = [](std::uint32_t a, std::uint32_t b) {
    return (static_cast<std::uint64_t>(std::min(a, b)) << 32) | std::max(a, b);
  };
  // Edge -> the triangles using it (two on a closed manifold; any number is handled).
  std::unordered_map<std::uint64_t, std::vector<std::uint32_t>> uses;
  for (std::uint32_t t = 0; t < triangles.size(); ++t) {
    for (int k = 0; k < 3; ++k) uses[key(triangles[t][k], triangles[t][(k + 1) % 3])].push_back(t);
  }
  // Longest first; equal lengths by vertex pair, so the order never depends on hashing.
  struct Long {
    double length2;
    std::uint64_t edge;
    bool operator<(const Long& o) const { return length2 != o.length2 ? length2 < o.length2 : edge > o.edge; }
  };
  std::priority_queue<Long> queue;
  auto push = [&](std::uint32_t a, std::uint32_t b) {
    const double l2 = edge_length2(vertices, a, b);
    if (l2 > limit2) queue.push({l2, key(a, b)});
  };
  for (const auto& [edge, tris] : uses) {
    (void)tris;
    push(static_cast<std::uint32_t>(edge >> 32), static_cast<std::uint32_t>(edge));
  }
  while (!queue.empty()) {
    const Long top = queue.top();
    queue.pop();
    const auto it = uses.find(top.edge);
    if (it == uses.end()) continue;  // already split (an edge is queued once, but be safe)
    const std::vector<std::uint32_t> around = std::move(it->second);
    uses.erase(it);
    const auto u = static_cast<std::uint32_t>(top.edge >> 32), v = static_cast<std::uint32_t>(top.edge);
    if (vertices.size() >= std::numeric_limits<std::uint32_t>::max() - 1)
      throw input_error("base mesh: too many vertices after splitting long edges");
    const auto m = static_cast<std::uint32_t>(vertices.size());
    vertices.push_back(to_float((to_double(vertices[u]) + to_double(vertices[v])) * 0.5));
    normals.push_back(to_float(normalized_or_zero(to_double(normals[u]) + to_double(normals[v]))));
    for (VertexAttribute& a : attributes) {
      const auto c = static_cast<std::size_t>(a.components);
      for (std::size_t q = 0; q < c; ++q) a.values.push_back(0.5f * (a.values[u * c + q] + a.values[v * c + q]));
    }
    for (const std::uint32_t t : around) {
      Triangle& tri = triangles[t];
      int k = 0;
      while (key(tri[k], tri[(k + 1) % 3]) != top.edge) ++k;
      const std::uint32_t a = tri[k], b = tri[(k + 1) % 3], w = tri[(k + 2) % 3];
      const auto t2 = static_cast<std::uint32_t>(triangles.size());
      tri = {a, m, w};
      triangles.push_back({m, b, w});  // `tri` is not used after this (the vector may grow)
      for (std::uint32_t& x : uses[key(b, w)]) {
        if (x == t) x = t2;
      }
      uses[key(a, m)].push_back(t);
      uses[key(m, b)].push_back(t2);
      std::vector<std::uint32_t>& mw = uses[key(m, w)];
      mw.push_back(t);
      mw.push_back(t2);
      push(m, w);
    }
    push(u, m);
    push(m, v);
  }
  VertexAttribute n{"N", 3, {}};
  n.values.reserve(normals.size() * 3);
  for (const Vec3f& x : normals) {
    n.values.push_back(x.x);
    n.values.push_back(x.y);
    n.values.push_back(x.z);
  }
  attributes.insert(attributes.begin(), std::move(n));
  return BaseMesh(Mesh{std::move(vertices), std::move(triangles)}, std::move(attributes));
}

// --- SurfaceTessellator -----------------------------------------------------------------------

SurfaceTessellator::SurfaceTessellator(std::shared_ptr<const openfl::Program> program,
                                       std::shared_ptr<const openfl::Kernel> surface_kernel,
                                       openfl::ExecOptions options)
    : program_(std::move(program)) {
  if (!program_ || !surface_kernel) throw usage_error("SurfaceTessellator needs a program and its surface kernel");
  check_kernel(*program_, *surface_kernel);
  executor_ = std::make_unique<openfl::BatchExecutor>(std::move(surface_kernel), options);
}

SurfaceTessellator::~SurfaceTessellator() = default;
SurfaceTessellator::SurfaceTessellator(SurfaceTessellator&&) noexcept = default;
SurfaceTessellator& SurfaceTessellator::operator=(SurfaceTessellator&&) noexcept = default;

Micropolygons SurfaceTessellator::tessellate(const BaseMesh& base, double max_edge_mm, const openfl::Host& host) {
  std::vector<std::uint32_t> all(base.mesh().triangles.size());
  for (std::size_t t = 0; t < all.size(); ++t) all[t] = static_cast<std::uint32_t>(t);
  return tessellate(base, all, max_edge_mm, host);
}

Micropolygons SurfaceTessellator::tessellate(const BaseMesh& base, std::span<const std::uint32_t> triangles,
                                             double max_edge_mm, const openfl::Host& host) {
  if (!(max_edge_mm > 0) || !std::isfinite(max_edge_mm)) {
    throw usage_error("the micropolygon size must be positive and finite, got " + std::to_string(max_edge_mm));
  }
  const Binding binding = bind_inputs(*program_, base);
  Builder builder(base, binding, max_edge_mm);
  std::unordered_set<std::uint32_t> seen;
  for (std::uint32_t t : triangles) {
    if (t >= base.mesh().triangles.size()) {
      throw usage_error("base triangle " + std::to_string(t) + " out of range (the mesh has " +
                        std::to_string(base.mesh().triangles.size()) + ")");
    }
    if (!seen.insert(t).second || is_degenerate_triangle(base.mesh(), t)) continue;
    builder.add_triangle(t);
  }

  // The surface phase over every lane at once (the executor batches, keeping quads aligned).
  const openfl::Kernel& kernel = executor_->kernel();
  const std::size_t lanes = builder.lanes_.size();
  std::vector<const float*> in;
  for (const auto& col : builder.lanes_.columns()) in.push_back(col.data());
  std::vector<std::vector<float>> out(static_cast<std::size_t>(kernel.output_count), std::vector<float>(lanes));
  std::vector<float*> out_ptrs;
  for (auto& col : out) out_ptrs.push_back(col.data());
  if (lanes > 0) executor_->run(host, lanes, in.data(), out_ptrs.data());

  Micropolygons result;
  SurfaceMesh& s = result.surface;
  const std::size_t nv = builder.vertex_count_;
  const int attrs = program_->out_columns();
  s.attribute_count = attrs;
  s.positions.assign(nv, Vec3f{});
  s.attributes.assign(nv * static_cast<std::size_t>(attrs), 0.0f);
  const std::vector<std::uint32_t>& targets = builder.lanes_.targets();
  for (std::size_t l = 0; l < lanes; ++l) {
    const std::uint32_t v = targets[l];
    if (v == kNone) continue;
    s.positions[v] = {out[0][l], out[1][l], out[2][l]};
    for (int a = 0; a < attrs; ++a) {
      s.attributes[static_cast<std::size_t>(v) * static_cast<std::size_t>(attrs) + static_cast<std::size_t>(a)] =
          out[static_cast<std::size_t>(3 + a)][l];
    }
  }
  s.triangles = std::move(builder.triangles_);
  result.base_triangle = std::move(builder.base_triangle_);

  // Normals of the displaced surface: area-weighted over this call's micropolygons.
  std::vector<Vec3d> sum(nv);
  for (const Triangle& t : s.triangles) {
    const Vec3d p0 = to_double(s.positions[t[0]]);
    const Vec3d area2 = cross(to_double(s.positions[t[1]]) - p0, to_double(s.positions[t[2]]) - p0);
    for (std::uint32_t v : t) sum[v] = sum[v] + area2;
  }
  s.normals.resize(nv);
  for (std::size_t v = 0; v < nv; ++v) {
    Vec3d d = normalized_or_zero(sum[v]);
    if (dot(d, d) == 0.0) d = builder.fallback_normals_[v];
    s.normals[v] = {static_cast<float>(d.x), static_cast<float>(d.y), static_cast<float>(d.z)};
  }
  return result;
}

// --- Bounds ------------------------------------------------------------------------------------

namespace {

/// Float interval around [lo, hi] (doubles), widened by a few ulps.
openfl::Interval widen(double lo, double hi) {
  const float inf = std::numeric_limits<float>::infinity();
  float l = static_cast<float>(lo), h = static_cast<float>(hi);
  for (int k = 0; k < 2; ++k) {
    l = std::nextafter(l, -inf);
    h = std::nextafter(h, inf);
  }
  return {l, h};
}

/// Conservative interval of each component of normalize(x) for x in the box [lo, hi] of unit
/// vectors' convex combinations (|x| <= 1, |x| >= the box's distance to the origin).
void normal_intervals(const double* lo, const double* hi, openfl::Interval* out) {
  double m2 = 0;
  for (int c = 0; c < 3; ++c) {
    if (lo[c] > 0) m2 += lo[c] * lo[c];
    if (hi[c] < 0) m2 += hi[c] * hi[c];
  }
  const double m = std::sqrt(m2) * (1.0 - 1e-9);
  for (int c = 0; c < 3; ++c) {
    if (m <= 1e-12) {
      out[c] = widen(-1.0, 1.0);
      continue;
    }
    const double l = lo[c] < 0 ? std::max(-1.0, lo[c] / m) : lo[c];
    const double h = hi[c] > 0 ? std::min(1.0, hi[c] / m) : hi[c];
    out[c] = widen(l, h);
  }
}

}  // namespace

DisplacementBounds displacement_bounds(const BaseMesh& base, const openfl::Program& program,
                                       const openfl::Kernel& surface_kernel, const openfl::Host& host,
                                       std::optional<double> user_bound_mm, openfl::ExecOptions options) {
  check_kernel(program, surface_kernel);
  if (user_bound_mm && (!(*user_bound_mm >= 0) || !std::isfinite(*user_bound_mm))) {
    throw usage_error("the displacement bound must be non-negative and finite, got " + std::to_string(*user_bound_mm));
  }
  const Binding binding = bind_inputs(program, base);
  const Mesh& mesh = base.mesh();
  const std::size_t nt = mesh.triangles.size();
  DisplacementBounds result;
  result.triangles.resize(nt);
  std::vector<char> infinite(nt, 0);
  parallel_for(0, nt, 64, [&](std::size_t begin, std::size_t end) {
    const std::size_t k = static_cast<std::size_t>(binding.size());
    std::vector<double> rows(3 * k), lo(k), hi(k);
    std::vector<openfl::Interval> in(k);
    for (std::size_t t = begin; t < end; ++t) {
      const Triangle& tri = mesh.triangles[t];
      BoundingBox corners{to_double(mesh.vertices[tri[0]]), to_double(mesh.vertices[tri[0]])};
      for (std::uint32_t v : tri) {
        const Vec3d p = to_double(mesh.vertices[v]);
        corners.min = {std::min(corners.min.x, p.x), std::min(corners.min.y, p.y), std::min(corners.min.z, p.z)};
        corners.max = {std::max(corners.max.x, p.x), std::max(corners.max.y, p.y), std::max(corners.max.z, p.z)};
      }
      if (is_degenerate_triangle(mesh, static_cast<std::uint32_t>(t))) {
        result.triangles[t] = corners;
        continue;
      }
      for (int r = 0; r < 3; ++r) binding.row(base, tri[static_cast<std::size_t>(r)], rows.data() + r * k);
      for (std::size_t c = 0; c < k; ++c) {
        lo[c] = std::min({rows[c], rows[k + c], rows[2 * k + c]});
        hi[c] = std::max({rows[c], rows[k + c], rows[2 * k + c]});
        in[c] = widen(lo[c], hi[c]);
      }
      if (binding.normal_first >= 0) {
        const std::size_t f = static_cast<std::size_t>(binding.normal_first);
        normal_intervals(lo.data() + f, hi.data() + f, in.data() + f);
      }
      const std::vector<openfl::Interval> out = openfl::evaluate_intervals(surface_kernel, host, in, options);
      BoundingBox box{{out[0].lo, out[1].lo, out[2].lo}, {out[0].hi, out[1].hi, out[2].hi}};
      if (user_bound_mm) {
        const double d = *user_bound_mm;
        box.min = {std::max(box.min.x, corners.min.x - d), std::max(box.min.y, corners.min.y - d),
                   std::max(box.min.z, corners.min.z - d)};
        box.max = {std::min(box.max.x, corners.max.x + d), std::min(box.max.y, corners.max.y + d),
                   std::min(box.max.z, corners.max.z + d)};
      }
      const bool finite = std::isfinite(box.min.x) && std::isfinite(box.min.y) && std::isfinite(box.min.z) &&
                          std::isfinite(box.max.x) && std::isfinite(box.max.y) && std::isfinite(box.max.z);
      infinite[t] = finite ? 0 : 1;
      result.triangles[t] = box;
    }
  });
  bool first = true;
  for (std::size_t t = 0; t < nt; ++t) {
    if (is_degenerate_triangle(mesh, static_cast<std::uint32_t>(t))) continue;
    if (infinite[t]) result.finite = false;
    const BoundingBox& b = result.triangles[t];
    if (first) {
      result.shape = b;
      first = false;
      continue;
    }
    result.shape.min = {std::min(result.shape.min.x, b.min.x), std::min(result.shape.min.y, b.min.y),
                        std::min(result.shape.min.z, b.min.z)};
    result.shape.max = {std::max(result.shape.max.x, b.max.x), std::max(result.shape.max.y, b.max.y),
                        std::max(result.shape.max.z, b.max.z)};
  }
  return result;
}

namespace {

// The shape's host for textures; query columns as the volume phase fills them for an inside voxel
// at least `reach` from the surface, or a miss.
class SaturationHost final : public openfl::Host {
 public:
  SaturationHost(const openfl::Host& inner, float reach) : inner_(inner), reach_(reach) {}
  void sample(int slot, std::size_t n, const float* u, const float* v, const float* lod,
              float* const rgba[4]) const override {
    inner_.sample(slot, n, u, v, lod, rgba);
  }
  float texture_lod_bias(int slot) const override { return inner_.texture_lod_bias(slot); }
  void surface_query(std::size_t n, const float* const xyz[3], float* const* columns, int column_count) const override {
    inner_.surface_query(n, xyz, columns, column_count);
  }
  std::array<openfl::Interval, 4> texture_range(int slot) const override { return inner_.texture_range(slot); }
  void query_range(const openfl::Interval* /*xyz*/, openfl::Interval* columns, int column_count) const override {
    for (int c = 0; c < column_count; ++c) columns[c] = openfl::Interval{};
    if (column_count > openfl::kQuerySignedDistance)
      columns[openfl::kQuerySignedDistance] = {-std::numeric_limits<float>::infinity(), -reach_};
  }

 private:
  const openfl::Host& inner_;
  float reach_;
};

}  // namespace

double query_saturation_mm(const openfl::Kernel& volume_kernel, const openfl::Host& host, const BoundingBox& box,
                           double limit_mm, openfl::ExecOptions options) {
  if (volume_kernel.phase != openfl::Phase::volume) {
    throw usage_error("query saturation: the kernel is not a volume phase");
  }
  if (!(limit_mm >= 0)) throw usage_error("query saturation: the limit must be >= 0");
  constexpr double kNone = std::numeric_limits<double>::infinity();
  if (volume_kernel.query_count <= 0) return kNone;
  std::vector<openfl::Interval> inputs(static_cast<std::size_t>(volume_kernel.input_count));
  const double lo_box[3] = {box.min.x, box.min.y, box.min.z}, hi_box[3] = {box.max.x, box.max.y, box.max.z};
  for (std::size_t a = 0; a < 3 && a < inputs.size(); ++a) {
    if (lo_box[a] <= hi_box[a]) {
      inputs[a] = {std::nextafter(static_cast<float>(lo_box[a]), -std::numeric_limits<float>::infinity()),
                   std::nextafter(static_cast<float>(hi_box[a]), std::numeric_limits<float>::infinity())};
    }
  }
  // Every output a single value (a whole-line interval may hold NaN; a point never does).
  auto saturated = [&](float reach) {
    const SaturationHost probe(host, reach);
    const std::vector<openfl::Interval> out = openfl::evaluate_intervals(volume_kernel, probe, inputs, options);
    return std::all_of(out.begin(), out.end(), [](const openfl::Interval& i) { return i.lo == i.hi; });
  };
  double hi = limit_mm;
  if (std::isinf(hi)) {
    const Vec3d d = box.max - box.min;
    hi = std::sqrt(dot(d, d));
    if (!std::isfinite(hi)) return kNone;
  }
  const auto hi_f = static_cast<float>(hi);
  float top = hi_f > hi ? std::nextafter(hi_f, 0.0f) : hi_f;  // a float <= the limit
  if (!saturated(top)) return kNone;
  // Bisection over the floats in [0, top] by their bit patterns (monotone for non-negative
  // floats): the smallest one found saturated. The analysis is monotone in R in practice (a
  // larger R narrows the query interval); only `top`'s final value is relied upon.
  std::uint32_t lo_bits = 0, hi_bits = std::bit_cast<std::uint32_t>(top);
  if (saturated(0.0f)) return 0.0;
  while (hi_bits - lo_bits > 1) {
    const std::uint32_t mid = lo_bits + (hi_bits - lo_bits) / 2;
    if (saturated(std::bit_cast<float>(mid))) {
      hi_bits = mid;
    } else {
      lo_bits = mid;
    }
  }
  return static_cast<double>(std::bit_cast<float>(hi_bits));
}

}  // namespace fabforge::voxel
