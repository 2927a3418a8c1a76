#include "fabforge/voxel/nearest.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <tuple>
#include <utility>

#include "fabforge/core/error.hpp"
#include "fabforge/core/parallel.hpp"

namespace fabforge::voxel {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Which part of a triangle holds the closest point.
enum class Feature : std::uint8_t { face, edge_ab, edge_bc, edge_ca, vertex_a, vertex_b, vertex_c };

struct Closest {
  double d2 = 0;        // squared distance
  double bary[3] = {};  // weights of a, b, c at the closest point
  Feature feature = Feature::face;
};

Closest make_closest(double d2, double wa, double wb, double wc, Feature f) {
  Closest r;
  r.d2 = d2;
  r.bary[0] = wa;
  r.bary[1] = wb;
  r.bary[2] = wc;
  r.feature = f;
  return r;
}

double norm2(Vec3d v) { return dot(v, v); }

// Closest point of segment [a, b] to p as the parameter t in [0, 1].
double segment_parameter(Vec3d p, Vec3d a, Vec3d b) {
  const Vec3d ab = b - a;
  const double len2 = norm2(ab);
  if (len2 <= 0) return 0;
  return std::clamp(dot(p - a, ab) / len2, 0.0, 1.0);
}

// Degenerate triangle (zero area): the closest point of its three edges.
Closest closest_on_degenerate(Vec3d p, Vec3d a, Vec3d b, Vec3d c) {
  const Vec3d v[3] = {a, b, c};
  Closest best;
  best.d2 = std::numeric_limits<double>::infinity();
  for (int e = 0; e < 3; ++e) {
    const int i = e;
    const int j = (e + 1) % 3;
    const double t = segment_parameter(p, v[i], v[j]);
    const double d2 = norm2(p - (v[i] + (v[j] - v[i]) * t));
    if (d2 < best.d2) {
      double w[3] = {0, 0, 0};
      w[i] = 1 - t;
      w[j] = t;
      Feature f = static_cast<Feature>(1 + e);  // edge_ab, edge_bc, edge_ca
      if (t <= 0) f = static_cast<Feature>(4 + i);
      if (t >= 1) f = static_cast<Feature>(4 + j);
      best = make_closest(d2, w[0], w[1], w[2], f);
    }
  }
  return best;
}

// Exact closest point of triangle abc to p by Voronoi regions (Ericson, Real-Time Collision
// Detection, 5.1.5), in double precision.
Closest closest_on_triangle(Vec3d p, Vec3d a, Vec3d b, Vec3d c, bool degenerate) {
  if (degenerate) return closest_on_degenerate(p, a, b, c);
  const Vec3d ab = b - a;
  const Vec3d ac = c - a;
  const Vec3d ap = p - a;
  const double d1 = dot(ab, ap);
  const double d2 = dot(ac, ap);
  if (d1 <= 0 && d2 <= 0) return make_closest(norm2(ap), 1, 0, 0, Feature::vertex_a);
  const Vec3d bp = p - b;
  const double d3 = dot(ab, bp);
  const double d4 = dot(ac, bp);
  if (d3 >= 0 && d4 <= d3) return make_closest(norm2(bp), 0, 1, 0, Feature::vertex_b);
  const double vc = d1 * d4 - d3 * d2;
  if (vc <= 0 && d1 >= 0 && d3 <= 0) {
    const double t = d1 / (d1 - d3);
    return make_closest(norm2(p - (a + ab * t)), 1 - t, t, 0, Feature::edge_ab);
  }
  const Vec3d cp = p - c;
  const double d5 = dot(ab, cp);
  const double d6 = dot(ac, cp);
  if (d6 >= 0 && d5 <= d6) return make_closest(norm2(cp), 0, 0, 1, Feature::vertex_c);
  const double vb = d5 * d2 - d1 * d6;
  if (vb <= 0 && d2 >= 0 && d6 <= 0) {
    const double t = d2 / (d2 - d6);
    return make_closest(norm2(p - (a + ac * t)), 1 - t, 0, t, Feature::edge_ca);
  }
  const double va = d3 * d6 - d5 * d4;
  if (va <= 0 && (d4 - d3) >= 0 && (d5 - d6) >= 0) {
    const double t = (d4 - d3) / ((d4 - d3) + (d5 - d6));
    return make_closest(norm2(p - (b + (c - b) * t)), 0, 1 - t, t, Feature::edge_bc);
  }
  const double sum = va + vb + vc;
  if (!(sum > 0)) return closest_on_degenerate(p, a, b, c);
  const double v = vb / sum;
  const double w = vc / sum;
  const Vec3d q = a + ab * v + ac * w;
  return make_closest(norm2(p - q), 1 - v - w, v, w, Feature::face);
}

// Exact position key (-0 equals +0) for welding by position.
std::array<std::uint32_t, 3> position_key(Vec3f v) {
  auto bits = [](float x) { return std::bit_cast<std::uint32_t>(x == 0.0f ? 0.0f : x); };
  return {bits(v.x), bits(v.y), bits(v.z)};
}

Vec3d normalized_or_zero(Vec3d v) {
  const double len = length(v);
  return len > 0 ? v * (1.0 / len) : Vec3d{0, 0, 0};
}

Vec3f to_float(Vec3d v) { return {static_cast<float>(v.x), static_cast<float>(v.y), static_cast<float>(v.z)}; }

// ---- The hierarchy ----

// A part enters the top level as its subtrees of about this many triangles (or fewer, deeper
// down), so that the top level sorts pieces of surface, not whole parts: a part may be any shape
// (a ring of micropolygons around a shape, for one), its subtrees are compact.
constexpr std::uint32_t kEntryTriangles = 128;
// Ranges up to this size get exact bounds (box and plane slab over their own vertices); larger
// ones the union of their children's, which costs nothing extra.
constexpr std::uint32_t kExactBoundsLimit = 256;
// Nodes deeper than this split by count (depth stays bounded whatever the distribution).
constexpr int kMaxMiddleDepth = 24;
constexpr std::int32_t kNoChild = std::numeric_limits<std::int32_t>::min();
constexpr int kLeafCountBits = 4;  // a leaf child holds ~(first << 4 | count), count <= 15
static_assert(SurfacePart::kMaxLeafTriangles < (1u << kLeafCountBits));
constexpr float kFloatInf = std::numeric_limits<float>::infinity();

// Four children's bounds, structure of arrays, in the hierarchy's local frame (mm from `origin`).
// A child is a node (child >= 0), a leaf (child < 0, ~child = first << kLeafCountBits | count:
// items [first, first + count) of the hierarchy's order) or absent (kNoChild). Three cache lines.
struct alignas(64) Node4 {
  float bmin[3][4], bmax[3][4];
  float n[3][4], lo[4], hi[4];  // plane slab: lo <= n . x <= hi for every point x of the child
  std::int32_t child[4];
};
static_assert(sizeof(Node4) == 192);

// Bounds of a range while building: the box and slab as stored, plus the area-weighted normal sum
// (double) that a parent's slab normal is made from.
struct ChildBounds {
  float bmin[3], bmax[3], n[3], lo, hi;
  double nsum[3];
};

// The neighbouring float below / above f (f not NaN; +-0 step to -+ the smallest subnormal), as
// std::nextafter but inline: a float's bits, read as an integer, step through its magnitudes.
float float_below(float f) {
  if (f == 0.0f) return -std::numeric_limits<float>::denorm_min();
  const auto bits = std::bit_cast<std::uint32_t>(f);
  return std::bit_cast<float>(f > 0.0f ? bits - 1 : bits + 1);
}
float float_above(float f) {
  if (f == 0.0f) return std::numeric_limits<float>::denorm_min();
  const auto bits = std::bit_cast<std::uint32_t>(f);
  return std::bit_cast<float>(f > 0.0f ? bits + 1 : bits - 1);
}
float round_down(double v) {
  const float f = static_cast<float>(v);
  return static_cast<double>(f) > v ? float_below(f) : f;
}
float round_up(double v) {
  const float f = static_cast<float>(v);
  return static_cast<double>(f) < v ? float_above(f) : f;
}

// A bounds accumulator over points (and, for triangles, an area-weighted normal).
struct BoundsBuilder {
  Vec3d lo{kInfD, kInfD, kInfD}, hi{-kInfD, -kInfD, -kInfD};
  Vec3d normal_sum{0, 0, 0};
  static constexpr double kInfD = std::numeric_limits<double>::infinity();
  void add_point(Vec3d p) {
    lo = {std::min(lo.x, p.x), std::min(lo.y, p.y), std::min(lo.z, p.z)};
    hi = {std::max(hi.x, p.x), std::max(hi.y, p.y), std::max(hi.z, p.z)};
  }
};

struct Bvh {
  Vec3d origin{0, 0, 0};
  float margin = 0;  // absolute allowance for float rounding in the bounds tests, mm
  std::vector<Node4> nodes;
  ChildBounds all{};  // bounds of everything, local frame

  std::size_t bytes() const { return nodes.capacity() * sizeof(Node4); }
};

ChildBounds finish_bounds(const BoundsBuilder& b, const Vec3d& normal, double plane_lo, double plane_hi, bool plane) {
  ChildBounds out;
  const double lo[3] = {b.lo.x, b.lo.y, b.lo.z}, hi[3] = {b.hi.x, b.hi.y, b.hi.z};
  for (int a = 0; a < 3; ++a) {
    out.bmin[a] = round_down(lo[a]);
    out.bmax[a] = round_up(hi[a]);
  }
  out.n[0] = plane ? static_cast<float>(normal.x) : 0.0f;
  out.n[1] = plane ? static_cast<float>(normal.y) : 0.0f;
  out.n[2] = plane ? static_cast<float>(normal.z) : 0.0f;
  out.lo = plane ? round_down(plane_lo) : -kFloatInf;
  out.hi = plane ? round_up(plane_hi) : kFloatInf;
  out.nsum[0] = b.normal_sum.x;
  out.nsum[1] = b.normal_sum.y;
  out.nsum[2] = b.normal_sum.z;
  return out;
}

// The bounds of a union of children: the union of their boxes, and a slab around the summed normal
// over the children's boxes (conservative: every point of a child lies in its box).
ChildBounds merge_bounds(const ChildBounds* kids, int count) {
  BoundsBuilder b;
  for (int c = 0; c < count; ++c) {
    b.add_point({kids[c].bmin[0], kids[c].bmin[1], kids[c].bmin[2]});
    b.add_point({kids[c].bmax[0], kids[c].bmax[1], kids[c].bmax[2]});
    b.normal_sum = b.normal_sum + Vec3d{kids[c].nsum[0], kids[c].nsum[1], kids[c].nsum[2]};
  }
  const Vec3d n = to_double(to_float(normalized_or_zero(b.normal_sum)));
  const bool plane = n.x != 0 || n.y != 0 || n.z != 0;
  double plo = std::numeric_limits<double>::infinity(), phi = -plo;
  if (plane) {
    const double na[3] = {n.x, n.y, n.z};
    for (int c = 0; c < count; ++c) {
      const ChildBounds& k = kids[c];
      // Over the child's box; and, where the child has a slab of its own, n . x = n_c . x +
      // (n - n_c) . x with the first term in [lo_c, hi_c] and the second (small when the normals
      // agree) over the box. The tighter of the two.
      double lo = 0, hi = 0, dlo = 0, dhi = 0;
      for (int a = 0; a < 3; ++a) {
        const double u = na[a] * k.bmin[a], v = na[a] * k.bmax[a];
        lo += std::min(u, v);
        hi += std::max(u, v);
        const double d = na[a] - static_cast<double>(k.n[a]);
        const double du = d * k.bmin[a], dv = d * k.bmax[a];
        dlo += std::min(du, dv);
        dhi += std::max(du, dv);
      }
      if (std::isfinite(k.lo) && std::isfinite(k.hi)) {
        lo = std::max(lo, static_cast<double>(k.lo) + dlo);
        hi = std::min(hi, static_cast<double>(k.hi) + dhi);
      }
      plo = std::min(plo, lo);
      phi = std::max(phi, hi);
    }
    // The sums above were rounded: widen by a relative hair.
    const double slack = 1e-12 * (std::abs(plo) + std::abs(phi) + 1);
    plo -= slack;
    phi += slack;
  }
  return finish_bounds(b, n, plo, phi, plane);
}

// Four floats at once (GCC and Clang vector extensions).
using F4 = float __attribute__((vector_size(16)));
inline F4 load4(const float* p) {
  F4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
using I4 = std::int32_t __attribute__((vector_size(16)));
inline F4 max4(F4 a, F4 b) { return a > b ? a : b; }
inline F4 min4(F4 a, F4 b) { return a < b ? a : b; }
// a where the mask is all ones, b where it is zero (bitwise, no branch).
inline F4 select4(I4 mask, F4 a, F4 b) {
  I4 ia, ib;
  std::memcpy(&ia, &a, sizeof ia);
  std::memcpy(&ib, &b, sizeof ib);
  const I4 r = (ia & mask) | (ib & ~mask);
  F4 out;
  std::memcpy(&out, &r, sizeof out);
  return out;
}
// The squared lower bounds of the distance from (px, py, pz) (local frame) to the four children.
inline void child_bounds2(const Node4& node, float px, float py, float pz, float out[4]) {
  const F4 x = {px, px, px, px}, y = {py, py, py, py}, z = {pz, pz, pz, pz}, zero = {0, 0, 0, 0};
  const F4 dx = max4(max4(load4(node.bmin[0]) - x, x - load4(node.bmax[0])), zero);
  const F4 dy = max4(max4(load4(node.bmin[1]) - y, y - load4(node.bmax[1])), zero);
  const F4 dz = max4(max4(load4(node.bmin[2]) - z, z - load4(node.bmax[2])), zero);
  const F4 s = load4(node.n[0]) * x + load4(node.n[1]) * y + load4(node.n[2]) * z;
  const F4 pd = max4(max4(load4(node.lo) - s, s - load4(node.hi)), zero);
  const F4 r = max4(dx * dx + dy * dy + dz * dz, pd * pd);
  std::memcpy(out, &r, sizeof r);
}

// The box of a set of centroids.
struct CentroidBox {
  float lo[3] = {kFloatInf, kFloatInf, kFloatInf}, hi[3] = {-kFloatInf, -kFloatInf, -kFloatInf};
  void add(const float* c) {
    for (int a = 0; a < 3; ++a) {
      lo[a] = std::min(lo[a], c[a]);
      hi[a] = std::max(hi[a], c[a]);
    }
  }
};

// Builds a 4-wide hierarchy over items [0, n) with centroids `centroid` (local frame). `order`
// receives the item order (leaves are ranges of it). `bounds(first, count, kids, kid_count)` gives
// the exact bounds of order[first .. first + count) for ranges up to kExactBoundsLimit items: of
// a leaf from its items (kids == nullptr), of a node with the exact bounds of its children at
// hand. Splits at the middle of the longest axis of the centroids' box (a split by count would cut
// clusters: the two sides of a ring of surface end up in one leaf as wide as the ring, which every
// query inside the ring then opens); a median split, ties by item index, where the middle leaves
// one side empty or the tree gets deep. The partition pass also measures both sides' centroid
// boxes, so each level reads the items once. Deterministic.
template <class BoundsOf>
void build_bvh(Bvh& bvh, const std::vector<Vec3f>& centroid, std::vector<std::uint32_t>& order, std::uint32_t leaf_size,
               BoundsOf&& bounds) {
  const auto n = static_cast<std::uint32_t>(centroid.size());
  if (n >= (std::uint32_t{1} << (31 - kLeafCountBits)))
    throw input_error("surface index: too many items for one hierarchy");
  // The splits move records (centroid and item) rather than indices into the centroids: the passes
  // then read memory in order. `order` receives a leaf's items when the leaf is made (final then).
  struct Record {
    float c[3];
    std::uint32_t item;
  };
  // Two buffers: a split reads its range from one and writes both sides to the other, so nothing
  // is copied back; a range knows which buffer holds it.
  std::vector<Record> rec(n), scratch(n);
  Record* const buffer[2] = {rec.data(), scratch.data()};
  for (std::uint32_t i = 0; i < n; ++i) rec[i] = {{centroid[i].x, centroid[i].y, centroid[i].z}, i};
  order.assign(n, 0);
  bvh.nodes.clear();
  bvh.nodes.reserve(n / leaf_size / 2 + 1);
  struct Range {
    std::uint32_t b = 0, e = 0;
    CentroidBox box;  // of the range's centroids
    int buf = 0;      // the buffer holding its records
    std::uint32_t size() const { return e - b; }
  };
  auto measure = [&](Range& r) {
    r.box = CentroidBox{};
    const Record* x = buffer[r.buf];
    for (std::uint32_t i = r.b; i < r.e; ++i) r.box.add(x[i].c);
  };
  auto split = [&](const Range& r, Range& left, Range& right, int depth) {
    const float* lo = r.box.lo;
    const float* hi = r.box.hi;
    int axis = 0;
    for (int a = 1; a < 3; ++a) {
      if (hi[a] - lo[a] > hi[axis] - lo[axis]) axis = a;
    }
    int buf = r.buf;
    if (depth < kMaxMiddleDepth && hi[axis] > lo[axis]) {
      const float middle = 0.5f * (lo[axis] + hi[axis]);
      // Without data-dependent branches (which side an item falls is a coin toss that a branch
      // predictor loses): each record is written to both ends of the range in the other buffer and
      // the end it belongs to advances; lower items keep their order, upper ones are reversed. The
      // same pass measures both sides' centroid boxes (a record adds +-inf to the other side's).
      const Record* x = buffer[r.buf];
      Record* t = buffer[1 - r.buf];
      std::uint32_t i = r.b, top = r.e - 1;
      const F4 inf = {kFloatInf, kFloatInf, kFloatInf, kFloatInf};
      F4 low_lo = inf, low_hi = -inf, high_lo = inf, high_hi = -inf;
      // The middle in the axis' lane, -inf in the others (no value is below it there).
      F4 split_at = -inf;
      split_at[axis] = middle;
      for (std::uint32_t q = r.b; q < r.e; ++q) {
        F4 v;
        std::memcpy(&v, x + q, sizeof v);
        const I4 below = v < split_at;
        const std::int32_t low = below[0] | below[1] | below[2];  // -1 where the record goes low, else 0
        const I4 m = {low, low, low, low};
        std::memcpy(t + i, &v, sizeof v);
        std::memcpy(t + top, &v, sizeof v);
        i -= static_cast<std::uint32_t>(low);
        top -= static_cast<std::uint32_t>(~low) & 1u;
        low_lo = min4(low_lo, select4(m, v, inf));
        low_hi = max4(low_hi, select4(m, v, -inf));
        high_lo = min4(high_lo, select4(m, inf, v));
        high_hi = max4(high_hi, select4(m, -inf, v));
      }
      buf = 1 - r.buf;
      if (i > r.b && i < r.e) {
        CentroidBox low_box, high_box;
        for (int a = 0; a < 3; ++a) {
          low_box.lo[a] = low_lo[a];
          low_box.hi[a] = low_hi[a];
          high_box.lo[a] = high_lo[a];
          high_box.hi[a] = high_hi[a];
        }
        left.b = r.b;
        left.e = i;
        left.box = low_box;
        left.buf = buf;
        right.b = i;
        right.e = r.e;
        right.box = high_box;
        right.buf = buf;
        return;
      }
    }
    Record* x = buffer[buf];
    const std::uint32_t mid = r.b + r.size() / 2;
    std::nth_element(x + r.b, x + mid, x + r.e, [&](const Record& p, const Record& q) {
      return p.c[axis] != q.c[axis] ? p.c[axis] < q.c[axis] : p.item < q.item;
    });
    left.b = r.b;
    left.e = mid;
    left.buf = buf;
    right.b = mid;
    right.e = r.e;
    right.buf = buf;
    measure(left);
    measure(right);
  };
  // Fills node `index` with the (up to four) children of range r; returns r's bounds.
  auto fill = [&](auto&& self, std::size_t index, const Range& r, int depth) -> ChildBounds {
    Range groups[4];
    groups[0] = r;
    int count = 1;
    while (count < 4) {
      int widest = -1;
      for (int g = 0; g < count; ++g) {
        if (groups[g].size() > leaf_size && (widest < 0 || groups[g].size() > groups[widest].size())) widest = g;
      }
      if (widest < 0) break;
      Range left, right;
      split(groups[widest], left, right, depth);
      groups[widest] = left;
      groups[count++] = right;
    }
    for (int g = 1; g < count; ++g) {  // in item order (insertion: at most four)
      for (int at = g; at > 0 && groups[at - 1].b > groups[at].b; --at) std::swap(groups[at - 1], groups[at]);
    }
    ChildBounds kids[4];
    std::int32_t child[4] = {kNoChild, kNoChild, kNoChild, kNoChild};
    for (int c = 0; c < count; ++c) {
      if (groups[c].size() <= leaf_size) {
        const Record* x = buffer[groups[c].buf];
        for (std::uint32_t q = groups[c].b; q < groups[c].e; ++q) order[q] = x[q].item;
        kids[c] = bounds(groups[c].b, groups[c].size(), nullptr, 0);
        child[c] = ~static_cast<std::int32_t>((groups[c].b << kLeafCountBits) | groups[c].size());
      } else {
        const std::size_t next = bvh.nodes.size();
        bvh.nodes.emplace_back();
        child[c] = static_cast<std::int32_t>(next);
        kids[c] = self(self, next, groups[c], depth + 1);
      }
    }
    Node4& node = bvh.nodes[index];
    for (int c = 0; c < 4; ++c) {
      node.child[c] = child[c];
      if (c >= count) {
        for (int a = 0; a < 3; ++a) {
          node.bmin[a][c] = kFloatInf;
          node.bmax[a][c] = -kFloatInf;
          node.n[a][c] = 0;
        }
        node.lo[c] = -kFloatInf;
        node.hi[c] = kFloatInf;
        continue;
      }
      for (int a = 0; a < 3; ++a) {
        node.bmin[a][c] = kids[c].bmin[a];
        node.bmax[a][c] = kids[c].bmax[a];
        node.n[a][c] = kids[c].n[a];
      }
      node.lo[c] = kids[c].lo;
      node.hi[c] = kids[c].hi;
    }
    return r.size() <= kExactBoundsLimit ? bounds(r.b, r.size(), kids, count) : merge_bounds(kids, count);
  };
  bvh.nodes.emplace_back();
  Range root;
  root.b = 0;
  root.e = n;
  measure(root);
  bvh.all = fill(fill, 0, root, 0);
}

// Depth-first, nearest child first. `radius()` is the current search radius (mm; children whose
// bound exceeds it, with the rounding allowance, are skipped); `leaf(first, count)` handles a
// leaf and returns true to stop the whole traversal. The nearest child hit is visited at once and
// the others pushed, farthest first; the loop is written to keep data-dependent branches few
// (mispredicted branches, not arithmetic, are what a node visit costs).
template <class Radius, class Leaf>
bool traverse(const Bvh& bvh, Vec3d p, Radius&& radius, Leaf&& leaf, std::int32_t root = 0) {
  const float px = static_cast<float>(p.x - bvh.origin.x);
  const float py = static_cast<float>(p.y - bvh.origin.y);
  const float pz = static_cast<float>(p.z - bvh.origin.z);
  struct Entry {
    std::int32_t child;
    float bound2;
  };
  Entry stack[256];
  int top = 0;
  auto limit2 = [&] {
    const float r = radius();
    if (!(r < kFloatInf)) return kFloatInf;
    const float l = r * (1 + 1e-5f) + bvh.margin;
    return l * l;
  };
  const Node4* nodes = bvh.nodes.data();
  std::int32_t cur = root;
  for (;;) {
    if (cur < 0) {
      const auto code = static_cast<std::uint32_t>(~cur);
      if (leaf(code >> kLeafCountBits, code & ((1u << kLeafCountBits) - 1))) return true;
    } else {
      const Node4& node = nodes[cur];
      const float l2 = limit2();
      float b2[4];
      child_bounds2(node, px, py, pz, b2);
      unsigned hits = 0;
      for (int c = 0; c < 4; ++c) hits |= static_cast<unsigned>(b2[c] <= l2 && node.child[c] != kNoChild) << c;
      if (hits != 0) {
        Entry kids[4];
        int k = 0;
        for (unsigned m = hits; m != 0; m &= m - 1) {
          const int c = std::countr_zero(m);
          kids[k++] = {node.child[c], b2[c]};
        }
        if (k == 1) {
          cur = kids[0].child;
          continue;
        }
        // Sort by bound, nearest first (k <= 4, insertion).
        for (int i = 1; i < k; ++i) {
          const Entry e = kids[i];
          int at = i;
          while (at > 0 && kids[at - 1].bound2 > e.bound2) {
            kids[at] = kids[at - 1];
            --at;
          }
          kids[at] = e;
        }
        for (int i = k - 1; i >= 1; --i) {
          if (kids[i].child >= 0) __builtin_prefetch(nodes + kids[i].child);
          stack[top++] = kids[i];
        }
        cur = kids[0].child;
        continue;
      }
    }
    // Pop the nearest deferred child still within the (possibly shrunk) radius.
    for (;;) {
      if (top == 0) return false;
      const Entry e = stack[--top];
      if (e.bound2 <= limit2()) {
        cur = e.child;
        break;
      }
    }
  }
}

}  // namespace

// ---- SurfacePart ----

// A subtree through which a part enters a top level: a child slot's reference and bounds.
struct PartEntry {
  std::int32_t child;
  ChildBounds bounds;  // the part's local frame
};

struct SurfacePart::Impl {
  SurfaceMesh mesh;                      // triangles in hierarchy order
  std::vector<std::uint32_t> original;   // hierarchy order -> the caller's triangle index
  std::vector<std::uint8_t> degenerate;  // per triangle (hierarchy order)
  Bvh bvh;
  std::vector<PartEntry> entries;  // subtrees of about kEntryTriangles triangles, covering all

  Vec3d vertex(std::uint32_t v) const { return to_double(mesh.positions[v]); }
};

namespace {

void validate_surface(const SurfaceMesh& mesh) {
  const std::size_t nv = mesh.positions.size();
  if (mesh.triangles.empty()) throw input_error("surface index: the surface has no triangles");
  if (mesh.normals.size() != nv) {
    throw input_error("surface index: " + std::to_string(mesh.normals.size()) + " normals for " + std::to_string(nv) +
                      " vertices");
  }
  if (mesh.attribute_count < 0) throw input_error("surface index: negative attribute count");
  if (mesh.attributes.size() != nv * static_cast<std::size_t>(mesh.attribute_count)) {
    throw input_error("surface index: " + std::to_string(mesh.attributes.size()) + " attribute values for " +
                      std::to_string(nv) + " vertices with " + std::to_string(mesh.attribute_count) + " attributes");
  }
  for (std::size_t v = 0; v < nv; ++v) {
    if (!is_finite(mesh.positions[v]) || !is_finite(mesh.normals[v])) {
      throw input_error("surface index: vertex " + std::to_string(v) + " has a non-finite position or normal");
    }
  }
  for (std::size_t t = 0; t < mesh.triangles.size(); ++t) {
    for (std::uint32_t idx : mesh.triangles[t]) {
      if (idx >= nv) {
        throw input_error("surface index: triangle " + std::to_string(t) + " refers to vertex " + std::to_string(idx) +
                          " of " + std::to_string(nv));
      }
    }
  }
  if (mesh.triangles.size() > std::numeric_limits<std::uint32_t>::max() / 2) {
    throw input_error("surface index: more than 2^31 triangles in one surface");
  }
}

}  // namespace

SurfacePart::SurfacePart(SurfaceMesh mesh, std::uint32_t leaf_triangles) : impl_(std::make_unique<Impl>()) {
  if (leaf_triangles < 1 || leaf_triangles > kMaxLeafTriangles) {
    throw usage_error("surface part: " + std::to_string(leaf_triangles) + " triangles per leaf (1 to " +
                      std::to_string(kMaxLeafTriangles) + " allowed)");
  }
  validate_surface(mesh);
  Impl& im = *impl_;
  const std::size_t nt = mesh.triangles.size();
  // Local frame: the centre of the vertices' box, so bounds tests in float stay precise.
  BoundsBuilder all;
  for (const Vec3f& v : mesh.positions) all.add_point(to_double(v));
  Bvh& bvh = im.bvh;
  bvh.origin = (all.lo + all.hi) * 0.5;
  const double extent = std::max({all.hi.x - all.lo.x, all.hi.y - all.lo.y, all.hi.z - all.lo.z, 0.0});
  bvh.margin = static_cast<float>(1e-6 * (1 + extent));
  // Local-frame positions and per-triangle area normals, computed once for every level's bounds.
  std::vector<Vec3d> local(mesh.positions.size());
  for (std::size_t v = 0; v < local.size(); ++v) local[v] = to_double(mesh.positions[v]) - bvh.origin;
  std::vector<Vec3f> centroid(nt);
  std::vector<Vec3d> area_normal(nt);
  for (std::size_t t = 0; t < nt; ++t) {
    const Triangle& tri = mesh.triangles[t];
    const Vec3d& a = local[tri[0]];
    const Vec3d& b = local[tri[1]];
    const Vec3d& c = local[tri[2]];
    centroid[t] = to_float((a + b + c) * (1.0 / 3.0));
    area_normal[t] = cross(b - a, c - a);
  }
  std::vector<std::uint32_t> order;
  const auto& tris = mesh.triangles;
  // A leaf's box and normal from its triangles; a node's from its children's (exact: the union of
  // outward-rounded boxes is the outward-rounded union). The slab always over the vertices.
  auto bounds = [&](std::uint32_t first, std::uint32_t count, const ChildBounds* kids, int kid_count) {
    BoundsBuilder b;
    if (kids == nullptr) {
      for (std::uint32_t q = first; q < first + count; ++q) {
        const Triangle& tri = tris[order[q]];
        b.add_point(local[tri[0]]);
        b.add_point(local[tri[1]]);
        b.add_point(local[tri[2]]);
        b.normal_sum = b.normal_sum + area_normal[order[q]];
      }
    } else {
      for (int c = 0; c < kid_count; ++c) {
        b.add_point({kids[c].bmin[0], kids[c].bmin[1], kids[c].bmin[2]});
        b.add_point({kids[c].bmax[0], kids[c].bmax[1], kids[c].bmax[2]});
        b.normal_sum = b.normal_sum + Vec3d{kids[c].nsum[0], kids[c].nsum[1], kids[c].nsum[2]};
      }
    }
    const Vec3d n = normalized_or_zero(b.normal_sum);
    const bool plane = n.x != 0 || n.y != 0 || n.z != 0;
    // The slab over the float normal's exact value, so that lo <= n . x <= hi holds exactly.
    const Vec3d nf = to_double(to_float(n));
    double plo = std::numeric_limits<double>::infinity(), phi = -plo;
    if (plane) {
      // One running minimum and maximum per corner: three independent chains, not one.
      double lo3[3] = {plo, plo, plo}, hi3[3] = {phi, phi, phi};
      for (std::uint32_t q = first; q < first + count; ++q) {
        const Triangle& tri = tris[order[q]];
        for (int k = 0; k < 3; ++k) {
          const double s = dot(nf, local[tri[k]]);
          lo3[k] = std::min(lo3[k], s);
          hi3[k] = std::max(hi3[k], s);
        }
      }
      plo = std::min({lo3[0], lo3[1], lo3[2]});
      phi = std::max({hi3[0], hi3[1], hi3[2]});
    }
    return finish_bounds(b, nf, plo, phi, plane);
  };
  build_bvh(bvh, centroid, order, leaf_triangles, bounds);
  // Triangles in hierarchy order, so a leaf is a contiguous range.
  std::vector<Triangle> sorted(nt);
  im.original = order;
  im.degenerate.resize(nt);
  for (std::size_t q = 0; q < nt; ++q) {
    sorted[q] = tris[order[q]];
    const auto& pos = mesh.positions;
    const Vec3d a = to_double(pos[sorted[q][0]]);
    const Vec3d n = cross(to_double(pos[sorted[q][1]]) - a, to_double(pos[sorted[q][2]]) - a);
    im.degenerate[q] = (n.x == 0 && n.y == 0 && n.z == 0) ? 1 : 0;
  }
  // Vertices renumbered in order of first use by the sorted triangles, so that a leaf's corners
  // (and those of its neighbours in the hierarchy) share cache lines; unused vertices dropped.
  {
    constexpr std::uint32_t kUnset = std::numeric_limits<std::uint32_t>::max();
    std::vector<std::uint32_t> renumber(mesh.positions.size(), kUnset);
    std::uint32_t used = 0;
    for (Triangle& t : sorted) {
      for (std::uint32_t& v : t) {
        if (renumber[v] == kUnset) renumber[v] = used++;
        v = renumber[v];
      }
    }
    const auto na = static_cast<std::size_t>(mesh.attribute_count);
    std::vector<Vec3f> positions(used), normals(used);
    std::vector<float> attributes(used * na);
    for (std::size_t v = 0; v < renumber.size(); ++v) {
      const std::uint32_t to = renumber[v];
      if (to == kUnset) continue;
      positions[to] = mesh.positions[v];
      normals[to] = mesh.normals[v];
      std::copy_n(mesh.attributes.begin() + static_cast<std::ptrdiff_t>(v * na), na,
                  attributes.begin() + static_cast<std::ptrdiff_t>(to * na));
    }
    mesh.positions = std::move(positions);
    mesh.normals = std::move(normals);
    mesh.attributes = std::move(attributes);
  }
  mesh.triangles = std::move(sorted);
  im.mesh = std::move(mesh);
  // Entries: the children at the depth where four-way splits leave about kEntryTriangles each.
  int depth = 0;
  for (std::size_t size = nt; size > kEntryTriangles && depth < 12; size /= 4) ++depth;
  auto collect = [&](auto&& self, std::int32_t node, int level) -> void {
    const Node4& n = bvh.nodes[static_cast<std::size_t>(node)];
    for (int c = 0; c < 4; ++c) {
      if (n.child[c] == kNoChild) continue;
      if (n.child[c] >= 0 && level + 1 < depth) {
        self(self, n.child[c], level + 1);
        continue;
      }
      PartEntry e;
      e.child = n.child[c];
      for (int a = 0; a < 3; ++a) {
        e.bounds.bmin[a] = n.bmin[a][c];
        e.bounds.bmax[a] = n.bmax[a][c];
        e.bounds.n[a] = n.n[a][c];
        e.bounds.nsum[a] = 0;
      }
      e.bounds.lo = n.lo[c];
      e.bounds.hi = n.hi[c];
      im.entries.push_back(e);
    }
  };
  if (depth == 0) {
    im.entries.push_back(PartEntry{0, bvh.all});
  } else {
    collect(collect, 0, 0);
  }
}

SurfacePart::~SurfacePart() = default;
SurfacePart::SurfacePart(SurfacePart&&) noexcept = default;
SurfacePart& SurfacePart::operator=(SurfacePart&&) noexcept = default;

const SurfaceMesh& SurfacePart::mesh() const noexcept { return impl_->mesh; }

std::size_t SurfacePart::bytes() const noexcept {
  const SurfaceMesh& m = impl_->mesh;
  return m.positions.capacity() * sizeof(Vec3f) + m.normals.capacity() * sizeof(Vec3f) +
         m.attributes.capacity() * sizeof(float) + m.triangles.capacity() * sizeof(Triangle) +
         impl_->original.capacity() * sizeof(std::uint32_t) + impl_->degenerate.capacity() + impl_->bvh.bytes() +
         impl_->entries.capacity() * sizeof(PartEntry) + sizeof(Impl);
}

// ---- SurfaceIndex ----

struct SurfaceIndex::Impl {
  std::vector<std::shared_ptr<const SurfacePart>> parts;
  std::vector<std::uint64_t> offsets;  // first global triangle index of each part
  std::size_t triangles = 0;
  int attribute_count = 0;
  SurfaceIndexOptions options;
  // The top level: over the parts' entry subtrees (one per leaf), global frame.
  struct Item {
    std::uint32_t part;
    std::int32_t child;  // the entry's root in the part's hierarchy
  };
  std::vector<Item> items;
  Bvh top;
  std::vector<std::uint32_t> item_order;
  // Pseudo-normals, single part and known_side == 0 only (hierarchy triangle order).
  std::vector<std::array<std::uint32_t, 3>> tri_edge;    // pseudo-normal index of ab, bc, ca
  std::vector<std::array<std::uint32_t, 3>> tri_vertex;  // pseudo-normal index of a, b, c
  std::vector<Vec3f> edge_normal;                        // angle-weighted (sum of face normals)
  std::vector<Vec3f> vertex_normal;                      // angle-weighted

  void validate_options() const;
  void build_top();
  void build_pseudo_normals();

  struct Hit {
    std::int32_t part = -1;
    std::uint32_t triangle = 0;  // in the part's hierarchy order
    std::uint64_t index = 0;     // global, the caller's order
    Closest closest;
  };
  // `hint`: a triangle likely to be near p (the previous lane's), or none. In exact mode it only
  // bounds the search, so it changes the speed, never the result.
  // `maxd`: search no farther (mm); options.max_distance_mm for queries.
  Hit nearest(Vec3d p, const Hit& hint, double maxd) const;
  // Writes lane i of the requested columns.
  // What a query's columns need computed (a null column is not wanted; the sign needs the point).
  struct Wants {
    bool point = false, normal = false;
  };
  Wants wants(float* const* columns, int column_count) const;
  void fill(const Hit& hit, Vec3d p, std::size_t i, float* const* columns, int column_count, const Wants& want) const;

  Closest closest(const Hit& h, Vec3d p) const {
    const SurfacePart::Impl& part = parts[static_cast<std::size_t>(h.part)]->impl();
    const Triangle& tri = part.mesh.triangles[h.triangle];
    return closest_on_triangle(p, part.vertex(tri[0]), part.vertex(tri[1]), part.vertex(tri[2]),
                               part.degenerate[h.triangle] != 0);
  }
};

void SurfaceIndex::Impl::validate_options() const {
  if (std::isnan(options.max_distance_mm) || options.max_distance_mm < 0) {
    throw usage_error("surface index: max_distance_mm must be >= 0");
  }
  if (!(options.tolerance_mm >= 0) || !std::isfinite(options.tolerance_mm)) {
    throw usage_error("surface index: tolerance_mm must be finite and >= 0");
  }
  if (options.known_side < -1 || options.known_side > 1)
    throw usage_error("surface index: known_side must be -1, 0 or 1");
}

void SurfaceIndex::Impl::build_top() {
  offsets.clear();
  items.clear();
  triangles = 0;
  for (const auto& part : parts) {
    offsets.push_back(triangles);
    triangles += part->mesh().triangles.size();
  }
  // Each entry's bounds moved to the global frame, rounded outward again (the sums with the part's
  // origin were rounded); the margin from the extent.
  double extent = 0;
  std::vector<Vec3f> centroid;
  std::vector<ChildBounds> boxes;
  for (std::size_t q = 0; q < parts.size(); ++q) {
    const SurfacePart::Impl& part = parts[q]->impl();
    const Vec3d o = part.bvh.origin;
    for (const PartEntry& e : part.entries) {
      items.push_back({static_cast<std::uint32_t>(q), e.child});
      BoundsBuilder bb;
      bb.add_point(Vec3d{e.bounds.bmin[0], e.bounds.bmin[1], e.bounds.bmin[2]} + o);
      bb.add_point(Vec3d{e.bounds.bmax[0], e.bounds.bmax[1], e.bounds.bmax[2]} + o);
      const Vec3d n{e.bounds.n[0], e.bounds.n[1], e.bounds.n[2]};
      const bool plane = n.x != 0 || n.y != 0 || n.z != 0;
      const double shift = dot(n, o);
      const double slack =
          1e-12 * (std::abs(shift) + std::abs(double(e.bounds.lo)) + std::abs(double(e.bounds.hi)) + 1);
      ChildBounds b = finish_bounds(bb, n, e.bounds.lo + shift - slack, e.bounds.hi + shift + slack, plane);
      for (int a = 0; a < 3; ++a) {
        b.bmin[a] = std::nextafter(b.bmin[a], -kFloatInf);
        b.bmax[a] = std::nextafter(b.bmax[a], kFloatInf);
      }
      if (plane) {
        b.lo = std::nextafter(b.lo, -kFloatInf);
        b.hi = std::nextafter(b.hi, kFloatInf);
      }
      for (int a = 0; a < 3; ++a) b.nsum[a] = b.n[a];  // unit weight per entry, for merged slabs
      boxes.push_back(b);
      centroid.push_back(to_float((bb.lo + bb.hi) * 0.5));
      extent = std::max({extent, std::abs(bb.lo.x), std::abs(bb.lo.y), std::abs(bb.lo.z), std::abs(bb.hi.x),
                         std::abs(bb.hi.y), std::abs(bb.hi.z)});
    }
  }
  top.origin = {0, 0, 0};
  top.margin = static_cast<float>(1e-6 * (1 + extent));
  std::vector<ChildBounds> kids;
  build_bvh(top, centroid, item_order, 1, [&](std::uint32_t first, std::uint32_t count, const ChildBounds*, int) {
    if (count == 1) return boxes[item_order[first]];
    kids.resize(count);
    for (std::uint32_t q = 0; q < count; ++q) kids[q] = boxes[item_order[first + q]];
    return merge_bounds(kids.data(), static_cast<int>(count));
  });
}

void SurfaceIndex::Impl::build_pseudo_normals() {
  const SurfaceMesh& mesh = parts.front()->mesh();
  const std::size_t nt = mesh.triangles.size();
  const std::size_t nv = mesh.positions.size();
  // Weld by exact position: canonical id per vertex index.
  std::vector<std::uint32_t> order(nv);
  for (std::size_t v = 0; v < nv; ++v) order[v] = static_cast<std::uint32_t>(v);
  std::sort(order.begin(), order.end(), [&](std::uint32_t l, std::uint32_t r) {
    const auto kl = position_key(mesh.positions[l]);
    const auto kr = position_key(mesh.positions[r]);
    return std::tie(kl, l) < std::tie(kr, r);
  });
  std::vector<std::uint32_t> canon(nv);
  std::uint32_t ids = 0;
  for (std::size_t k = 0; k < nv; ++k) {
    if (k > 0 && position_key(mesh.positions[order[k]]) != position_key(mesh.positions[order[k - 1]])) ++ids;
    canon[order[k]] = ids;
  }
  const std::size_t n_canon = nv == 0 ? 0 : ids + 1;

  std::vector<Vec3f> face_normal(nt);
  tri_vertex.resize(nt);
  std::vector<Vec3d> vsum(n_canon, Vec3d{0, 0, 0});
  for (std::size_t t = 0; t < nt; ++t) {
    const Triangle& tri = mesh.triangles[t];
    const Vec3d p[3] = {to_double(mesh.positions[tri[0]]), to_double(mesh.positions[tri[1]]),
                        to_double(mesh.positions[tri[2]])};
    const Vec3d n = normalized_or_zero(cross(p[1] - p[0], p[2] - p[0]));
    const bool degen = n.x == 0 && n.y == 0 && n.z == 0;
    face_normal[t] = to_float(n);
    for (int k = 0; k < 3; ++k) {
      tri_vertex[t][k] = canon[tri[k]];
      if (degen) continue;
      const Vec3d e1 = normalized_or_zero(p[(k + 1) % 3] - p[k]);
      const Vec3d e2 = normalized_or_zero(p[(k + 2) % 3] - p[k]);
      const double angle = std::acos(std::clamp(dot(e1, e2), -1.0, 1.0));
      vsum[canon[tri[k]]] = vsum[canon[tri[k]]] + n * angle;
    }
  }
  vertex_normal.resize(n_canon);
  for (std::size_t v = 0; v < n_canon; ++v) vertex_normal[v] = to_float(vsum[v]);

  // Edges by canonical endpoint pair; the sum of the adjacent faces' normals (angle pi each).
  struct EdgeUse {
    std::uint64_t key;
    std::uint32_t slot;  // triangle * 3 + edge
  };
  std::vector<EdgeUse> uses(nt * 3);
  for (std::size_t t = 0; t < nt; ++t) {
    for (int e = 0; e < 3; ++e) {
      std::uint64_t i = tri_vertex[t][e];
      std::uint64_t j = tri_vertex[t][(e + 1) % 3];
      if (i > j) std::swap(i, j);
      uses[t * 3 + e] = {(i << 32) | j, static_cast<std::uint32_t>(t * 3 + e)};
    }
  }
  std::sort(uses.begin(), uses.end(),
            [](const EdgeUse& l, const EdgeUse& r) { return std::tie(l.key, l.slot) < std::tie(r.key, r.slot); });
  tri_edge.resize(nt);
  edge_normal.clear();
  for (std::size_t k = 0; k < uses.size();) {
    std::size_t end = k;
    Vec3d sum{0, 0, 0};
    while (end < uses.size() && uses[end].key == uses[k].key) {
      sum = sum + to_double(face_normal[uses[end].slot / 3]);
      ++end;
    }
    const auto id = static_cast<std::uint32_t>(edge_normal.size());
    edge_normal.push_back(to_float(sum));
    for (std::size_t u = k; u < end; ++u) tri_edge[uses[u].slot / 3][uses[u].slot % 3] = id;
    k = end;
  }
}

SurfaceIndex::Impl::Hit SurfaceIndex::Impl::nearest(Vec3d p, const Hit& hint, double maxd) const {
  const double max_d2 = std::isinf(maxd) ? std::numeric_limits<double>::infinity() : maxd * maxd;
  const double tol = options.tolerance_mm;
  Hit best;
  // Slightly above the limit so that triangles exactly at max_distance_mm are still visited.
  float radius = std::isinf(maxd) ? kFloatInf : static_cast<float>(maxd * (1 + 1e-5) + 1e-7);
  auto shrink = [&] {
    const double d = std::sqrt(best.closest.d2);
    // Exact: a little above the best distance, so equally close triangles are still seen.
    const float r = tol > 0 ? static_cast<float>(std::max(0.0, d - tol)) : static_cast<float>(d * (1 + 1e-5) + 1e-7);
    radius = std::min(radius, r);
  };
  if (hint.part >= 0) {
    const Closest c = closest(hint, p);
    if (c.d2 <= max_d2) {
      best = hint;
      best.closest = c;
      shrink();
    }
  }
  traverse(
      top, p, [&] { return radius; },
      [&](std::uint32_t first, std::uint32_t count) {
        for (std::uint32_t q = first; q < first + count; ++q) {
          const Item& item = items[item_order[q]];
          const std::uint32_t pi = item.part;
          const SurfacePart::Impl& part = parts[pi]->impl();
          const std::uint64_t offset = offsets[pi];
          traverse(
              part.bvh, p, [&] { return radius; },
              [&](std::uint32_t tf, std::uint32_t tc) {
                for (std::uint32_t t = tf; t < tf + tc; ++t) {
                  const Triangle& tri = part.mesh.triangles[t];
                  const Closest c = closest_on_triangle(p, part.vertex(tri[0]), part.vertex(tri[1]),
                                                        part.vertex(tri[2]), part.degenerate[t] != 0);
                  if (c.d2 > max_d2) continue;
                  const std::uint64_t index = offset + part.original[t];
                  if (best.part >= 0 && (c.d2 > best.closest.d2 || (c.d2 == best.closest.d2 && index >= best.index))) {
                    continue;
                  }
                  best.part = static_cast<std::int32_t>(pi);
                  best.triangle = t;
                  best.index = index;
                  best.closest = c;
                  shrink();
                }
                return false;
              },
              item.child);
        }
        return false;
      });
  return best;
}

SurfaceIndex::Impl::Wants SurfaceIndex::Impl::wants(float* const* columns, int column_count) const {
  auto any = [&](int first) {
    for (int col = first; col < first + 3; ++col) {
      if (col < column_count && columns[col] != nullptr) return true;
    }
    return false;
  };
  return {options.known_side == 0 || any(openfl::kQueryPoint), any(openfl::kQueryNormal)};
}

void SurfaceIndex::Impl::fill(const Hit& hit, Vec3d p, std::size_t i, float* const* columns, int column_count,
                              const Wants& want) const {
  auto put = [&](int col, float value) {
    if (col < column_count && columns[col] != nullptr) columns[col][i] = value;
  };
  if (hit.part < 0) {
    put(openfl::kQuerySignedDistance, std::isfinite(p.x + p.y + p.z) ? options.miss_distance : kNaN);
    for (int col = 1; col < column_count; ++col) put(col, kNaN);
    return;
  }
  const SurfacePart::Impl& part = parts[static_cast<std::size_t>(hit.part)]->impl();
  const SurfaceMesh& mesh = part.mesh;
  const int na = mesh.attribute_count;
  const std::size_t t = hit.triangle;
  const Triangle& tri = mesh.triangles[t];
  const double* w = hit.closest.bary;
  Vec3d q{0, 0, 0};
  Vec3d nrm{0, 0, 0};
  for (int k = 0; k < 3; ++k) {
    if (want.point) q = q + to_double(mesh.positions[tri[k]]) * w[k];
    if (want.normal) nrm = nrm + to_double(mesh.normals[tri[k]]) * w[k];
  }
  // The face normal: the sign's pseudo-normal on a face, the normal's fallback (computed only when
  // one of those needs it).
  auto face_normal = [&] {
    const Vec3d a = to_double(mesh.positions[tri[0]]);
    return normalized_or_zero(cross(to_double(mesh.positions[tri[1]]) - a, to_double(mesh.positions[tri[2]]) - a));
  };
  // Sign from the pseudo-normal of the feature holding the closest point (or known).
  Vec3d pseudo{0, 0, 0};
  if (options.known_side == 0) switch (hit.closest.feature) {
      case Feature::face:
        pseudo = face_normal();
        break;
      case Feature::edge_ab:
        pseudo = to_double(edge_normal[tri_edge[t][0]]);
        break;
      case Feature::edge_bc:
        pseudo = to_double(edge_normal[tri_edge[t][1]]);
        break;
      case Feature::edge_ca:
        pseudo = to_double(edge_normal[tri_edge[t][2]]);
        break;
      case Feature::vertex_a:
        pseudo = to_double(vertex_normal[tri_vertex[t][0]]);
        break;
      case Feature::vertex_b:
        pseudo = to_double(vertex_normal[tri_vertex[t][1]]);
        break;
      case Feature::vertex_c:
        pseudo = to_double(vertex_normal[tri_vertex[t][2]]);
        break;
    }
  const double dist = std::sqrt(hit.closest.d2);
  const double side = options.known_side != 0 ? options.known_side : dot(p - q, pseudo);
  put(openfl::kQuerySignedDistance, static_cast<float>(side < 0 ? -dist : dist));
  put(openfl::kQueryPoint, static_cast<float>(q.x));
  put(openfl::kQueryPoint + 1, static_cast<float>(q.y));
  put(openfl::kQueryPoint + 2, static_cast<float>(q.z));
  if (want.normal) {
    Vec3d n = normalized_or_zero(nrm);
    if (n.x == 0 && n.y == 0 && n.z == 0) n = face_normal();
    if (n.x == 0 && n.y == 0 && n.z == 0) n = normalized_or_zero(pseudo);
    put(openfl::kQueryNormal, static_cast<float>(n.x));
    put(openfl::kQueryNormal + 1, static_cast<float>(n.y));
    put(openfl::kQueryNormal + 2, static_cast<float>(n.z));
  }
  const int outs = std::min(na, column_count - openfl::kQueryOuts);
  for (int k = 0; k < outs; ++k) {
    if (columns[openfl::kQueryOuts + k] == nullptr) continue;
    double value = 0;
    for (int c = 0; c < 3; ++c) value += w[c] * mesh.attributes[static_cast<std::size_t>(tri[c]) * na + k];
    put(openfl::kQueryOuts + k, static_cast<float>(value));
  }
}

SurfaceIndex::SurfaceIndex(SurfaceMesh mesh, const SurfaceIndexOptions& options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  impl_->validate_options();
  impl_->attribute_count = mesh.attribute_count;
  impl_->parts.push_back(std::make_shared<const SurfacePart>(std::move(mesh)));
  impl_->build_top();
  if (options.known_side == 0) impl_->build_pseudo_normals();
}

SurfaceIndex::SurfaceIndex(std::vector<std::shared_ptr<const SurfacePart>> parts, const SurfaceIndexOptions& options)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  impl_->validate_options();
  if (options.known_side == 0) {
    throw usage_error("surface index: an index over several parts needs a known side (known_side -1 or +1)");
  }
  if (parts.empty()) throw usage_error("surface index: no parts");
  for (const auto& part : parts) {
    if (!part) throw usage_error("surface index: a null part");
    if (part->mesh().attribute_count != parts.front()->mesh().attribute_count) {
      throw usage_error("surface index: the parts have different attribute counts");
    }
  }
  impl_->attribute_count = parts.front()->mesh().attribute_count;
  impl_->parts = std::move(parts);
  impl_->build_top();
}

SurfaceIndex::~SurfaceIndex() = default;
SurfaceIndex::SurfaceIndex(SurfaceIndex&&) noexcept = default;
SurfaceIndex& SurfaceIndex::operator=(SurfaceIndex&&) noexcept = default;

void SurfaceIndex::query(std::size_t n, const float* const xyz[3], float* const* columns, int column_count) const {
  if (column_count < 0 || column_count > openfl::kQueryOuts + impl_->attribute_count) {
    throw usage_error("surface query: " + std::to_string(column_count) + " columns asked, the surface has " +
                      std::to_string(openfl::kQueryOuts + impl_->attribute_count));
  }
  if (n == 0 || column_count == 0) return;
  const Impl::Wants want = impl_->wants(columns, column_count);
  parallel_for(0, n, 512, [&](std::size_t lo, std::size_t hi) {
    Impl::Hit hint;  // lanes are usually neighbouring voxels
    for (std::size_t i = lo; i < hi; ++i) {
      const Vec3d p{xyz[0][i], xyz[1][i], xyz[2][i]};
      Impl::Hit hit;
      if (std::isfinite(p.x) && std::isfinite(p.y) && std::isfinite(p.z))
        hit = impl_->nearest(p, hint, impl_->options.max_distance_mm);
      if (hit.part >= 0) hint = hit;
      impl_->fill(hit, p, i, columns, column_count, want);
    }
  });
}

void SurfaceIndex::distance_within(std::size_t n, const float* const xyz[3], float radius_mm, float* out) const {
  if (!(radius_mm >= 0)) throw usage_error("surface index: distance_within radius must be >= 0");
  parallel_for(0, n, 512, [&](std::size_t lo, std::size_t hi) {
    Impl::Hit hint;
    for (std::size_t i = lo; i < hi; ++i) {
      const Vec3d p{xyz[0][i], xyz[1][i], xyz[2][i]};
      out[i] = std::numeric_limits<float>::infinity();
      if (!(std::isfinite(p.x) && std::isfinite(p.y) && std::isfinite(p.z))) continue;
      const Impl::Hit hit = impl_->nearest(p, hint, radius_mm);
      if (hit.part < 0) continue;
      hint = hit;
      // Rounded up, so that the float is never below the distance computed in double.
      out[i] = round_up(std::sqrt(hit.closest.d2));
    }
  });
}

SurfaceIndex::Result SurfaceIndex::query_one(Vec3f p) const {
  const int cols = openfl::kQueryOuts + impl_->attribute_count;
  std::vector<float> values(static_cast<std::size_t>(cols));
  std::vector<float*> columns(static_cast<std::size_t>(cols));
  for (int c = 0; c < cols; ++c) columns[c] = &values[c];
  const Vec3d pd = to_double(p);
  Impl::Hit hit;
  if (is_finite(p)) hit = impl_->nearest(pd, Impl::Hit{}, impl_->options.max_distance_mm);
  impl_->fill(hit, pd, 0, columns.data(), cols, impl_->wants(columns.data(), cols));
  Result r;
  r.triangle = hit.part >= 0 ? static_cast<std::int64_t>(hit.index) : -1;
  r.signed_distance = values[0];
  r.point = {values[1], values[2], values[3]};
  r.normal = {values[4], values[5], values[6]};
  r.attributes.assign(values.begin() + openfl::kQueryOuts, values.end());
  return r;
}

std::size_t SurfaceIndex::triangle_count() const noexcept { return impl_->triangles; }
int SurfaceIndex::attribute_count() const noexcept { return impl_->attribute_count; }
const SurfaceIndexOptions& SurfaceIndex::options() const noexcept { return impl_->options; }

SurfaceHost::SurfaceHost(std::vector<openfl::Texture> textures, const SurfaceIndex* surface)
    : openfl::TextureHost(std::move(textures)), surface_(surface) {}

void SurfaceHost::surface_query(std::size_t n, const float* const xyz[3], float* const* columns,
                                int column_count) const {
  if (surface_ == nullptr) {
    openfl::TextureHost::surface_query(n, xyz, columns, column_count);
    return;
  }
  surface_->query(n, xyz, columns, column_count);
}

}  // namespace fabforge::voxel
