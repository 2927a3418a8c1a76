#include "fabforge/core/mesh.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <string>
#include <unordered_map>

#include "fabforge/core/error.hpp"
#include "fabforge/core/parallel.hpp"

namespace fabforge {

namespace {

constexpr std::size_t kTriangleGrain = 1 << 14;

struct Sums {
  double volume = 0;
  double area = 0;
};

// One use of an undirected edge: (lo, hi) with the direction it was traversed in.
struct EdgeUse {
  std::uint32_t lo, hi;
  bool forward;  // traversed lo -> hi
  friend bool operator<(const EdgeUse& a, const EdgeUse& b) {
    return a.lo != b.lo ? a.lo < b.lo : (a.hi != b.hi ? a.hi < b.hi : a.forward < b.forward);
  }
};

bool has_repeated_index(const Triangle& t) { return t[0] == t[1] || t[1] == t[2] || t[0] == t[2]; }

Vec3d bounds_centre(const BoundingBox& b) { return (b.min + b.max) * 0.5; }

Sums volume_and_area(const Mesh& mesh, Vec3d origin) {
  return parallel_reduce(
      0, mesh.triangles.size(), kTriangleGrain, Sums{},
      [&](std::size_t lo, std::size_t hi) {
        Sums s;
        for (std::size_t i = lo; i < hi; ++i) {
          const auto& t = mesh.triangles[i];
          // Relative to the box centre: far from the origin, absolute coordinates lose digits.
          Vec3d a = to_double(mesh.vertices[t[0]]) - origin;
          Vec3d b = to_double(mesh.vertices[t[1]]) - origin;
          Vec3d c = to_double(mesh.vertices[t[2]]) - origin;
          s.volume += dot(a, cross(b, c)) / 6.0;
          s.area += 0.5 * length(cross(b - a, c - a));
        }
        return s;
      },
      [](Sums a, Sums b) {
        return Sums{a.volume + b.volume, a.area + b.area};
      });
}

}  // namespace

BoundingBox mesh_bounds(const Mesh& mesh) {
  BoundingBox box;
  if (mesh.vertices.empty()) return box;
  const double inf = std::numeric_limits<double>::infinity();
  box.min = {inf, inf, inf};
  box.max = {-inf, -inf, -inf};
  for (const auto& v : mesh.vertices) {
    box.min = {std::min<double>(box.min.x, v.x), std::min<double>(box.min.y, v.y), std::min<double>(box.min.z, v.z)};
    box.max = {std::max<double>(box.max.x, v.x), std::max<double>(box.max.y, v.y), std::max<double>(box.max.z, v.z)};
  }
  return box;
}

double mesh_volume(const Mesh& mesh) { return volume_and_area(mesh, bounds_centre(mesh_bounds(mesh))).volume; }

MeshReport analyze_mesh(const Mesh& mesh) {
  MeshReport r;
  r.vertices = mesh.vertices.size();
  r.triangles = mesh.triangles.size();
  r.bounds = mesh_bounds(mesh);
  Sums sums = volume_and_area(mesh, bounds_centre(r.bounds));
  r.volume = sums.volume;
  r.area = sums.area;

  std::vector<EdgeUse> uses;
  uses.reserve(mesh.triangles.size() * 3);
  for (const auto& t : mesh.triangles) {
    if (has_repeated_index(t)) {
      ++r.degenerate_triangles;
      continue;
    }
    Vec3d a = to_double(mesh.vertices[t[0]]), b = to_double(mesh.vertices[t[1]]), c = to_double(mesh.vertices[t[2]]);
    if (length(cross(b - a, c - a)) == 0.0) ++r.degenerate_triangles;
    for (int k = 0; k < 3; ++k) {
      std::uint32_t from = t[k], to = t[(k + 1) % 3];
      uses.push_back(from < to ? EdgeUse{from, to, true} : EdgeUse{to, from, false});
    }
  }
  std::sort(uses.begin(), uses.end());

  bool oriented = true;
  for (std::size_t i = 0; i < uses.size();) {
    std::size_t j = i;
    std::size_t forward = 0;
    while (j < uses.size() && uses[j].lo == uses[i].lo && uses[j].hi == uses[i].hi) {
      forward += uses[j].forward ? 1 : 0;
      ++j;
    }
    const std::size_t n = j - i, backward = n - forward;
    if (n == 1) ++r.boundary_edges;
    if (n >= 3) ++r.non_manifold_edges;
    if (forward != backward) {
      ++r.unbalanced_edges;
      if (n >= 2) oriented = false;
    }
    i = j;
  }
  r.closed = r.unbalanced_edges == 0 && !mesh.triangles.empty();
  r.manifold = r.boundary_edges == 0 && r.non_manifold_edges == 0 && !mesh.triangles.empty();
  r.consistently_oriented = oriented && !mesh.triangles.empty();
  return r;
}

namespace {

// Exact-match key for a vertex; -0 and +0 are the same point.
struct ExactKey {
  std::uint32_t x, y, z;
  friend bool operator==(const ExactKey&, const ExactKey&) = default;
};
struct ExactKeyHash {
  std::size_t operator()(const ExactKey& k) const noexcept {
    std::uint64_t h = k.x * 0x9E3779B97F4A7C15ull;
    h ^= (k.y + 0x7F4A7C15ull + (h << 6) + (h >> 2)) * 0xBF58476D1CE4E5B9ull;
    h ^= (k.z + 0x94D049BBull + (h << 6) + (h >> 2)) * 0x94D049BB133111EBull;
    return static_cast<std::size_t>(h ^ (h >> 31));
  }
};
ExactKey exact_key(Vec3f v) {
  auto bits = [](float f) { return std::bit_cast<std::uint32_t>(f == 0.0f ? 0.0f : f); };
  return {bits(v.x), bits(v.y), bits(v.z)};
}

// Open-addressing map from exact vertex keys to indices: the STL reader meets millions of
// corners, and std::unordered_map's node allocations dominated reading time.
class ExactVertexTable {
 public:
  explicit ExactVertexTable(std::size_t expected) {
    std::size_t cap = 16;
    while (cap < expected * 2) cap <<= 1;
    keys_.resize(cap);
    values_.assign(cap, kEmpty);
    mask_ = cap - 1;
  }
  /// The index stored for v, or `next` after inserting it.
  std::uint32_t find_or_insert(Vec3f v, std::uint32_t next) {
    const ExactKey k = exact_key(v);
    for (std::size_t slot = ExactKeyHash{}(k)&mask_;; slot = (slot + 1) & mask_) {
      if (values_[slot] == kEmpty) {
        keys_[slot] = k;
        values_[slot] = next;
        return next;
      }
      if (keys_[slot] == k) return values_[slot];
    }
  }

 private:
  static constexpr std::uint32_t kEmpty = std::numeric_limits<std::uint32_t>::max();
  std::vector<ExactKey> keys_;
  std::vector<std::uint32_t> values_;
  std::size_t mask_ = 0;
};

struct CellKey {
  std::int64_t x, y, z;
  friend bool operator==(const CellKey&, const CellKey&) = default;
};
struct CellKeyHash {
  std::size_t operator()(const CellKey& k) const noexcept {
    return ExactKeyHash{}(ExactKey{static_cast<std::uint32_t>(k.x * 73856093),
                                   static_cast<std::uint32_t>(k.y * 19349663),
                                   static_cast<std::uint32_t>(k.z * 83492791)});
  }
};

// For every vertex, the index of the vertex that represents its cluster (first in input order).
std::vector<std::uint32_t> cluster_vertices(const std::vector<Vec3f>& vertices, float tolerance) {
  std::vector<std::uint32_t> rep(vertices.size());
  if (tolerance <= 0.0f) {
    ExactVertexTable table(vertices.size());
    for (std::uint32_t i = 0; i < vertices.size(); ++i) rep[i] = table.find_or_insert(vertices[i], i);
    return rep;
  }
  const double cell = tolerance, tol2 = double(tolerance) * tolerance;
  std::unordered_map<CellKey, std::vector<std::uint32_t>, CellKeyHash> grid;
  // Clamped so that far-out coordinates (finite but huge) cannot overflow the cell arithmetic.
  constexpr double kMaxCell = 4.0e18;
  auto cell_coord = [&](float v) {
    return static_cast<std::int64_t>(std::clamp(std::floor(v / cell), -kMaxCell, kMaxCell));
  };
  for (std::uint32_t i = 0; i < vertices.size(); ++i) {
    const Vec3f v = vertices[i];
    const CellKey c{cell_coord(v.x), cell_coord(v.y), cell_coord(v.z)};
    std::uint32_t found = i;  // the lowest-numbered representative within tolerance
    for (std::int64_t dz = -1; dz <= 1; ++dz)
      for (std::int64_t dy = -1; dy <= 1; ++dy)
        for (std::int64_t dx = -1; dx <= 1; ++dx) {
          auto it = grid.find(CellKey{c.x + dx, c.y + dy, c.z + dz});
          if (it == grid.end()) continue;
          for (std::uint32_t j : it->second) {
            Vec3d d = to_double(vertices[j]) - to_double(v);
            if (dot(d, d) <= tol2 && j < found) found = j;
          }
        }
    rep[i] = found;
    if (found == i) grid[c].push_back(i);
  }
  return rep;
}

}  // namespace

Mesh index_triangle_soup(const std::vector<Vec3f>& corners) {
  if (corners.size() % 3 != 0) throw usage_error("a triangle soup needs three corners per triangle");
  if (corners.size() >= std::numeric_limits<std::uint32_t>::max()) {
    throw input_error("mesh has " + std::to_string(corners.size() / 3) +
                      " triangles; fabforge handles at most 1.4 billion (32-bit vertex indices)");
  }
  Mesh mesh;
  ExactVertexTable table(corners.size() / 2 + 1);
  mesh.triangles.resize(corners.size() / 3);
  for (std::size_t i = 0; i < corners.size(); ++i) {
    const auto next = static_cast<std::uint32_t>(mesh.vertices.size());
    const std::uint32_t idx = table.find_or_insert(corners[i], next);
    if (idx == next) mesh.vertices.push_back(corners[i]);
    mesh.triangles[i / 3][i % 3] = idx;
  }
  return mesh;
}

Mesh weld_vertices(const Mesh& mesh, float tolerance_mm) {
  if (!std::isfinite(tolerance_mm)) throw usage_error("weld tolerance must be a finite number of millimetres");
  const std::vector<std::uint32_t> rep = cluster_vertices(mesh.vertices, tolerance_mm);
  Mesh out;
  out.triangles.reserve(mesh.triangles.size());
  constexpr std::uint32_t kUnused = std::numeric_limits<std::uint32_t>::max();
  std::vector<std::uint32_t> new_index(mesh.vertices.size(), kUnused);
  auto remap = [&](std::uint32_t v) {
    std::uint32_t r = rep[v];
    if (new_index[r] == kUnused) {
      new_index[r] = static_cast<std::uint32_t>(out.vertices.size());
      out.vertices.push_back(mesh.vertices[r]);
    }
    return new_index[r];
  };
  for (const auto& t : mesh.triangles) {
    if (rep[t[0]] == rep[t[1]] || rep[t[1]] == rep[t[2]] || rep[t[0]] == rep[t[2]]) continue;
    out.triangles.push_back({remap(t[0]), remap(t[1]), remap(t[2])});
  }
  return out;
}

void append_mesh(Mesh& a, const Mesh& b) {
  if (&a == &b) {  // appending a mesh to itself: copy first, the loops below would read moved storage
    const Mesh copy = b;
    return append_mesh(a, copy);
  }
  const auto offset = static_cast<std::uint32_t>(a.vertices.size());
  FABFORGE_CHECK(a.vertices.size() + b.vertices.size() < std::numeric_limits<std::uint32_t>::max(),
                 "mesh too large for 32-bit indices");
  // No exact reserve here: callers append in loops, and exact reserves would make that quadratic.
  a.vertices.insert(a.vertices.end(), b.vertices.begin(), b.vertices.end());
  for (const auto& t : b.triangles) a.triangles.push_back({t[0] + offset, t[1] + offset, t[2] + offset});
}

void flip_orientation(Mesh& mesh) {
  for (auto& t : mesh.triangles) std::swap(t[1], t[2]);
}

void validate_mesh(const Mesh& mesh, std::string_view source) {
  for (std::size_t i = 0; i < mesh.vertices.size(); ++i) {
    if (!is_finite(mesh.vertices[i])) {
      throw input_error(std::string(source) + ": vertex " + std::to_string(i) + " has a NaN or infinite coordinate");
    }
  }
  const std::size_t n = mesh.vertices.size();
  for (std::size_t i = 0; i < mesh.triangles.size(); ++i) {
    for (std::uint32_t v : mesh.triangles[i]) {
      if (v >= n) {
        throw input_error(std::string(source) + ": triangle " + std::to_string(i) + " refers to vertex " +
                          std::to_string(v) + " but there are only " + std::to_string(n) + " vertices");
      }
    }
  }
}

}  // namespace fabforge
