#include "rect_triangulate.hpp"

#include <algorithm>
#include <bit>
#include <limits>
#include <string>

#include "fabforge/core/error.hpp"
#include "fabforge/core/parallel.hpp"

namespace fabforge::detail {

void GridFaces::append(const std::vector<GridFaces>& parts) {
  std::size_t n_rects = rects.size(), n_tris = tris.size();
  for (const GridFaces& p : parts) {
    n_rects += p.rects.size();
    n_tris += p.tris.size();
  }
  rects.reserve(n_rects);
  tris.reserve(n_tris);
  for (const GridFaces& p : parts) {
    rects.insert(rects.end(), p.rects.begin(), p.rects.end());
    tris.insert(tris.end(), p.tris.begin(), p.tris.end());
  }
}

CornerGrid::CornerGrid(int width, int height, double pixel_size_mm)
    : width_(width), height_(height), pixel_mm_(pixel_size_mm) {
  const std::size_t n = static_cast<std::size_t>(width + 1) * static_cast<std::size_t>(height + 1);
  z_.resize(n);
  count_.assign(n, 0);
  used_.assign(n, 0);
  first_.assign(n, 0);
}

void CornerGrid::set_heights(int cx, int cy, const float* z, int count) {
  FABFORGE_CHECK(count >= 0 && count <= kMaxHeights, "too many heights at a grid corner");
  const std::size_t c = corner(cx, cy);
  std::copy(z, z + count, z_[c].begin());
  count_[c] = static_cast<std::uint8_t>(count);
}

void CornerGrid::split(int cx, int cy, float z) {
  const std::size_t c = corner(cx, cy);
  const int k = slot(c, z);
  FABFORGE_CHECK(k >= 0, "split at a height its grid corner does not have");
  count_[c] = static_cast<std::uint8_t>(count_[c] | (1u << (kSplitShift + static_cast<unsigned>(k))));
}

int CornerGrid::slot(std::size_t c, float z) const {
  for (int k = 0; k < height_count(c); ++k) {
    if (z_[c][static_cast<std::size_t>(k)] == z) return k;
  }
  return -1;
}

namespace {

/// Set bits of a 5-bit mask. A table, because without -mpopcnt std::popcount is a library call
/// and this sits on the hottest path.
constexpr std::array<std::uint8_t, 1u << CornerGrid::kMaxHeights> kBitCount = [] {
  std::array<std::uint8_t, 1u << CornerGrid::kMaxHeights> n{};
  for (std::size_t m = 0; m < n.size(); ++m) n[m] = static_cast<std::uint8_t>(std::popcount(m));
  return n;
}();

}  // namespace

std::uint32_t CornerGrid::index_of(std::size_t c, int k, int side) const {
  // Branch-free: in a noisy field a third of the corners are saddles.
  const unsigned below = used_[c] & ((1u << k) - 1u), split = split_mask(c);
  return first_[c] + kBitCount[below] + kBitCount[below & split] + ((split >> k) & static_cast<unsigned>(side) & 1u);
}

void CornerGrid::mark(const GridPoint& p) {
  const std::size_t c = corner(p.cx, p.cy);
  const int k = slot(c, p.z);
  FABFORGE_CHECK(k >= 0, "face corner at a height its grid corner does not have");
  used_[c] = static_cast<std::uint8_t>(used_[c] | (1u << k));
}

Vec3f CornerGrid::world(double cx, double cy, float z) const {
  return {static_cast<float>(cx * pixel_mm_), static_cast<float>((height_ - cy) * pixel_mm_), z};
}

std::vector<Vec3f> CornerGrid::number_vertices() {
  std::uint64_t next = 0;
  for (std::size_t c = 0; c < used_.size(); ++c) {
    first_[c] = static_cast<std::uint32_t>(next);
    next += kBitCount[used_[c]] + kBitCount[used_[c] & split_mask(c)];
    if (next >= std::numeric_limits<std::uint32_t>::max() / 2) {
      throw usage_error("heightfield too large: the mesh would need more than 2^31 vertices");
    }
  }
  std::vector<Vec3f> positions(next);
  parallel_for_each_index(0, static_cast<std::size_t>(corners_y()), 16, [&](std::size_t row) {
    const int cy = static_cast<int>(row);
    for (int cx = 0; cx < corners_x(); ++cx) {
      const std::size_t c = corner(cx, cy);
      std::uint32_t i = first_[c];
      const unsigned used = used_[c], split = split_mask(c);
      for (int k = 0, n = height_count(c); k < n; ++k) {
        if (((used >> k) & 1u) == 0) continue;
        const Vec3f p = world(cx, cy, z_[c][static_cast<std::size_t>(k)]);
        positions[i++] = p;
        if ((split >> k) & 1u) positions[i++] = p;
      }
    }
  });
  return positions;
}

std::uint32_t CornerGrid::vertex(const GridPoint& p, int side) const {
  const std::size_t c = corner(p.cx, p.cy);
  const int k = slot(c, p.z);
  FABFORGE_CHECK(k >= 0 && ((used_[c] >> k) & 1u), "face corner is not a marked grid vertex");
  return index_of(c, k, side);
}

void CornerGrid::vertices_between(const GridPoint& a, const GridPoint& b, int side, std::vector<Hit>& out) const {
  const std::size_t start = out.size();
  auto take = [&](std::size_t c, float z, double t) {
    const int k = slot(c, z);
    if (k >= 0 && ((used_[c] >> k) & 1u)) out.push_back({index_of(c, k, side), t});
  };
  bool descending = false;
  if (a.cx != b.cx) {
    for (int cx = std::min(a.cx, b.cx) + 1; cx < std::max(a.cx, b.cx); ++cx) take(corner(cx, a.cy), a.z, cx);
    descending = b.cx < a.cx;
  } else if (a.cy != b.cy) {
    for (int cy = std::min(a.cy, b.cy) + 1; cy < std::max(a.cy, b.cy); ++cy) take(corner(a.cx, cy), a.z, cy);
    descending = b.cy < a.cy;
  } else {
    // A vertical segment: the corner's own heights are few and already sorted.
    const std::size_t c = corner(a.cx, a.cy);
    const float lo = std::min(a.z, b.z), hi = std::max(a.z, b.z);
    for (int k = 0; k < height_count(c); ++k) {
      const float z = z_[c][static_cast<std::size_t>(k)];
      if (z > lo && z < hi && ((used_[c] >> k) & 1u)) out.push_back({index_of(c, k, side), z});
    }
    descending = b.z < a.z;
  }
  if (descending) std::reverse(out.begin() + static_cast<std::ptrdiff_t>(start), out.end());
}

namespace {

constexpr std::size_t kRectChunk = 1024;
constexpr std::size_t kTriChunk = 8192;

/// Triangles of one chunk of faces. Indices >= the grid vertex count refer to `centres`,
/// renumbered when the chunks are joined.
struct ChunkOut {
  std::vector<Triangle> tris;
  std::vector<Vec3f> centres;
};

std::array<GridPoint, 4> rect_corners(const RectFace& f) {
  switch (f.normal) {
    case Axis::x:
      return {{{f.x0, f.y0, f.z0}, {f.x0, f.y1, f.z0}, {f.x0, f.y1, f.z1}, {f.x0, f.y0, f.z1}}};
    case Axis::y:
      return {{{f.x0, f.y0, f.z0}, {f.x1, f.y0, f.z0}, {f.x1, f.y0, f.z1}, {f.x0, f.y0, f.z1}}};
    case Axis::z:
      break;
  }
  return {{{f.x0, f.y0, f.z0}, {f.x1, f.y0, f.z0}, {f.x1, f.y1, f.z0}, {f.x0, f.y1, f.z0}}};
}

/// The side of grid point p (a corner of f) that f lies on, choosing between a split vertex's
/// copies: 1 towards +x. A wall in the plane x = cx lies on the side of its solid, opposite to
/// its outward normal.
int rect_side(const RectFace& f, const GridPoint& p) {
  if (f.normal == Axis::x) return f.sign < 0 ? 1 : 0;
  return p.cx == f.x0 ? 1 : 0;
}

int tri_side(const TriFace& f, const GridPoint& p) {
  if (f.axis == Axis::x) return f.sign < 0 ? 1 : 0;
  for (const GridPoint& q : f.p) {
    if (q.cx != p.cx) return q.cx > p.cx ? 1 : 0;
  }
  return 0;  // unreachable: only faces in a plane x = cx have a single cx
}

/// Coordinate of p along the dimension in which a and b differ.
double along(const GridPoint& p, const GridPoint& a, const GridPoint& b) {
  if (a.cx != b.cx) return p.cx;
  if (a.cy != b.cy) return p.cy;
  return p.z;
}

/// Triangulates the faces of one chunk. Keeps its scratch vectors between faces.
class ChunkTriangulator {
 public:
  ChunkTriangulator(const CornerGrid& grid, const std::vector<Vec3f>& vertices, ChunkOut& out)
      : grid_(grid), vertices_(vertices), out_(out) {}

  void add(const TriFace& f) {
    emit(grid_.vertex(f.p[0], tri_side(f, f.p[0])), grid_.vertex(f.p[1], tri_side(f, f.p[1])),
         grid_.vertex(f.p[2], tri_side(f, f.p[2])), f.axis, f.sign);
  }
  void add(const RectFace& f);

 private:
  using Hit = CornerGrid::Hit;

  Vec3f position(std::uint32_t i) const {
    return i < vertices_.size() ? vertices_[i] : out_.centres[i - vertices_.size()];
  }
  /// Appends the triangle wound so that its normal points along (axis, sign).
  void emit(std::uint32_t a, std::uint32_t b, std::uint32_t c, Axis axis, int sign) {
    const Vec3d pa = to_double(position(a));
    const Vec3d n = cross(to_double(position(b)) - pa, to_double(position(c)) - pa);
    const double along_normal = axis == Axis::x ? n.x : (axis == Axis::y ? n.y : n.z);
    FABFORGE_CHECK(along_normal != 0.0, "degenerate triangle in heightfield face");
    if ((along_normal > 0) == (sign > 0)) {
      out_.tris.push_back({a, b, c});
    } else {
      out_.tris.push_back({a, c, b});
    }
  }
  void zipper(int side, Axis axis, int sign);
  void fan(std::size_t apex, Axis axis, int sign);

  const CornerGrid& grid_;
  const std::vector<Vec3f>& vertices_;
  ChunkOut& out_;
  std::array<GridPoint, 4> c_{};
  std::array<std::uint32_t, 4> idx_{};
  std::array<std::vector<Hit>, 4> extra_;  ///< vertices inside side k, from corner k to k + 1
  std::vector<Hit> p_, q_;
  std::vector<std::uint32_t> ring_;
};

/// A strip between side `side` (0 or 1) and the opposite side, which are the only sides with
/// inserted vertices: every triangle has a vertex on each of the two parallel lines, so none is
/// degenerate, and advancing along whichever side is behind keeps the triangles well shaped.
void ChunkTriangulator::zipper(int side, Axis axis, int sign) {
  const auto s = static_cast<std::size_t>(side);
  const GridPoint &a0 = c_[s], &a1 = c_[s + 1], &b0 = c_[(s + 3) % 4], &b1 = c_[s + 2];
  p_.assign(1, {idx_[s], along(a0, a0, a1)});
  p_.insert(p_.end(), extra_[s].begin(), extra_[s].end());
  p_.push_back({idx_[s + 1], along(a1, a0, a1)});
  q_.assign(1, {idx_[(s + 3) % 4], along(b0, a0, a1)});
  q_.insert(q_.end(), extra_[s + 2].rbegin(), extra_[s + 2].rend());
  q_.push_back({idx_[s + 2], along(b1, a0, a1)});
  std::size_t i = 0, j = 0;
  while (i + 1 < p_.size() || j + 1 < q_.size()) {
    if (j + 1 == q_.size() || (i + 1 < p_.size() && p_[i + 1].t <= q_[j + 1].t)) {
      emit(p_[i].index, p_[i + 1].index, q_[j].index, axis, sign);
      ++i;
    } else {
      emit(p_[i].index, q_[j + 1].index, q_[j].index, axis, sign);
      ++j;
    }
  }
}

/// A fan over the whole boundary ring from ring_[apex]; the caller guarantees that the apex is
/// not collinear with any boundary edge it fans to.
void ChunkTriangulator::fan(std::size_t apex, Axis axis, int sign) {
  const std::size_t n = ring_.size();
  for (std::size_t i = 1; i + 1 < n; ++i)
    emit(ring_[apex], ring_[(apex + i) % n], ring_[(apex + i + 1) % n], axis, sign);
}

void ChunkTriangulator::add(const RectFace& f) {
  c_ = rect_corners(f);
  bool any_extra = false;
  for (std::size_t k = 0; k < 4; ++k) {
    // A side along z stays at one corner and so on one side of it; split vertices never lie
    // inside a side along x or y (no face passes through a saddle corner).
    const int side = rect_side(f, c_[k]);
    idx_[k] = grid_.vertex(c_[k], side);
    extra_[k].clear();
    grid_.vertices_between(c_[k], c_[(k + 1) % 4], side, extra_[k]);
    any_extra = any_extra || !extra_[k].empty();
  }
  if (!any_extra) {
    emit(idx_[0], idx_[1], idx_[2], f.normal, f.sign);
    emit(idx_[0], idx_[2], idx_[3], f.normal, f.sign);
    return;
  }
  if (extra_[1].empty() && extra_[3].empty()) return zipper(0, f.normal, f.sign);
  if (extra_[0].empty() && extra_[2].empty()) return zipper(1, f.normal, f.sign);

  ring_.clear();
  std::array<std::size_t, 4> corner_at{};
  for (std::size_t k = 0; k < 4; ++k) {
    corner_at[k] = ring_.size();
    ring_.push_back(idx_[k]);
    for (const Hit& h : extra_[k]) ring_.push_back(h.index);
  }
  // Extra vertices on two adjacent sides: the opposite corner sees all of them.
  for (std::size_t k = 0; k < 4; ++k) {
    if (extra_[k].empty() && extra_[(k + 3) % 4].empty()) return fan(corner_at[k], f.normal, f.sign);
  }
  // Three or four sides split: fan around a new vertex in the middle of the rectangle. It is
  // strictly inside because split sides are at least two grid steps (or float steps) long.
  const GridPoint &lo = c_[0], &hi = c_[2];
  const float mid_z = static_cast<float>((static_cast<double>(lo.z) + static_cast<double>(hi.z)) * 0.5);
  out_.centres.push_back(grid_.world((lo.cx + hi.cx) * 0.5, (lo.cy + hi.cy) * 0.5, mid_z));
  ring_.push_back(static_cast<std::uint32_t>(vertices_.size() + out_.centres.size() - 1));
  const std::size_t centre = ring_.size() - 1;
  for (std::size_t i = 0; i < centre; ++i) {
    emit(ring_[centre], ring_[i], ring_[(i + 1) % centre], f.normal, f.sign);
  }
}

template <class Face>
std::vector<ChunkOut> triangulate_chunks(const CornerGrid& grid, const std::vector<Vec3f>& vertices,
                                         const std::vector<Face>& faces, std::size_t chunk) {
  std::vector<ChunkOut> out((faces.size() + chunk - 1) / chunk);
  parallel_for_each_index(0, out.size(), 1, [&](std::size_t c) {
    ChunkTriangulator t(grid, vertices, out[c]);
    out[c].tris.reserve(std::min(chunk, faces.size() - c * chunk) * 2);
    for (std::size_t i = c * chunk; i < std::min(faces.size(), (c + 1) * chunk); ++i) t.add(faces[i]);
  });
  return out;
}

}  // namespace

Mesh triangulate_faces(CornerGrid& grid, const GridFaces& faces) {
  for (const RectFace& f : faces.rects) {
    for (const GridPoint& p : rect_corners(f)) grid.mark(p);
  }
  for (const TriFace& f : faces.tris) {
    for (const GridPoint& p : f.p) grid.mark(p);
  }
  Mesh mesh;
  mesh.vertices = grid.number_vertices();
  const std::size_t grid_vertices = mesh.vertices.size();
  if (grid_vertices + faces.rects.size() >= std::numeric_limits<std::uint32_t>::max()) {
    throw usage_error("heightfield too large: the mesh would need more than 2^32 vertices");
  }
  std::vector<ChunkOut> parts = triangulate_chunks(grid, mesh.vertices, faces.rects, kRectChunk);
  std::vector<ChunkOut> tri_parts = triangulate_chunks(grid, mesh.vertices, faces.tris, kTriChunk);
  parts.insert(parts.end(), std::make_move_iterator(tri_parts.begin()), std::make_move_iterator(tri_parts.end()));

  // Join the chunks in order; centre vertices were numbered from grid_vertices within their
  // chunk and move up by the centres of the chunks before them.
  std::vector<std::size_t> tri_at(parts.size() + 1, 0), centre_at(parts.size() + 1, 0);
  for (std::size_t c = 0; c < parts.size(); ++c) {
    tri_at[c + 1] = tri_at[c] + parts[c].tris.size();
    centre_at[c + 1] = centre_at[c] + parts[c].centres.size();
  }
  mesh.triangles.resize(tri_at.back());
  mesh.vertices.resize(grid_vertices + centre_at.back());
  parallel_for_each_index(0, parts.size(), 1, [&](std::size_t c) {
    const auto shift = static_cast<std::uint32_t>(centre_at[c]);
    std::copy(parts[c].centres.begin(), parts[c].centres.end(),
              mesh.vertices.begin() + static_cast<std::ptrdiff_t>(grid_vertices + centre_at[c]));
    Triangle* out = mesh.triangles.data() + tri_at[c];
    for (Triangle t : parts[c].tris) {
      for (std::uint32_t& v : t) v += v >= grid_vertices ? shift : 0u;
      *out++ = t;
    }
  });
  return mesh;
}

}  // namespace fabforge::detail
