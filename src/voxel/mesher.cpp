#include "fabforge/voxel/mesher.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <system_error>
#include <utility>

#include "fabforge/core/error.hpp"
#include "fabforge/core/parallel.hpp"
#include "fabforge/core/stl.hpp"
#include "fabforge/core/threemf.hpp"

namespace fabforge::voxel {

namespace {

// --- The marching-cubes case table, derived in code ---------------------------------------
//
// Corner c of a cube sits at offset (c & 1, (c >> 1) & 1, (c >> 2) & 1). Edge e runs along axis
// a = e / 4 from its lower corner, whose offsets along the two other axes u = (a + 1) % 3 and
// v = (a + 2) % 3 are the bits of e % 4, to that corner + 1 along a.
//
// For a case (bit c set: corner c inside), each face is walked counter-clockwise seen from
// outside the cube. Each face edge whose corners differ carries a cut point: an "exit" when the
// walk goes inside -> outside, an "entry" otherwise; along the walk they alternate. Pairing each
// entry with the next exit cuts off each run of inside corners, so inside corners on opposite
// corners of a face stay apart (the fixed ambiguity rule); the directed segment entry -> exit
// runs counter-clockwise around the outward (inside -> outside) normal of the surface. A cut
// point lies on two faces, an exit on one and an entry on the other (adjacent faces walk their
// shared edge in opposite directions), so the segments link into disjoint cycles; each is
// triangulated as a disk in its own direction, which makes the triangles face outward.

struct EdgeGeometry {
  int axis = 0;
  std::array<int, 3> offset{};  // lower corner
  int corner0 = 0, corner1 = 0;
};

constexpr int corner_of(const std::array<int, 3>& offset) { return offset[0] | (offset[1] << 1) | (offset[2] << 2); }

std::array<EdgeGeometry, 12> make_edges() {
  std::array<EdgeGeometry, 12> edges{};
  for (int e = 0; e < 12; ++e) {
    EdgeGeometry& g = edges[e];
    g.axis = e / 4;
    g.offset[(g.axis + 1) % 3] = e & 1;
    g.offset[(g.axis + 2) % 3] = (e >> 1) & 1;
    g.corner0 = corner_of(g.offset);
    g.corner1 = g.corner0 | (1 << g.axis);
  }
  return edges;
}

int edge_between(const std::array<EdgeGeometry, 12>& edges, int c0, int c1) {
  for (int e = 0; e < 12; ++e) {
    if ((edges[e].corner0 == c0 && edges[e].corner1 == c1) || (edges[e].corner0 == c1 && edges[e].corner1 == c0)) {
      return e;
    }
  }
  FABFORGE_CHECK(false, "corners " + std::to_string(c0) + " and " + std::to_string(c1) + " share no edge");
  return -1;
}

/// Corners of each face, counter-clockwise seen from outside (along its outward normal).
std::array<std::array<int, 4>, 6> make_faces() {
  std::array<std::array<int, 4>, 6> faces{};
  for (int a = 0; a < 3; ++a) {
    const int u = (a + 1) % 3, v = (a + 2) % 3;  // e_u x e_v = e_a
    for (int side = 0; side < 2; ++side) {
      std::array<int, 4>& f = faces[a * 2 + side];
      constexpr std::array<std::array<int, 2>, 4> kSquare{{{0, 0}, {1, 0}, {1, 1}, {0, 1}}};
      for (int q = 0; q < 4; ++q) {
        std::array<int, 3> offset{};
        offset[a] = side;
        offset[u] = kSquare[q][0];
        offset[v] = kSquare[q][1];
        f[q] = corner_of(offset);
      }
      if (side == 0) std::reverse(f.begin(), f.end());  // outward normal is -e_a
    }
  }
  return faces;
}

struct Point {
  double x = 0, y = 0, z = 0;
};

double triangle_area(const Point& a, const Point& b, const Point& c) {
  const double ux = b.x - a.x, uy = b.y - a.y, uz = b.z - a.z;
  const double vx = c.x - a.x, vy = c.y - a.y, vz = c.z - a.z;
  const double nx = uy * vz - uz * vy, ny = uz * vx - ux * vz, nz = ux * vy - uy * vx;
  return 0.5 * std::sqrt(nx * nx + ny * ny + nz * nz);
}

using LocalTriangle = std::array<std::uint8_t, 3>;  // three cube edges

// Signed volume of the tetrahedron (cube centre, a, b, c), times 6.
double cone_volume6(const Point& a, const Point& b, const Point& c) {
  const double ax = a.x - 0.5, ay = a.y - 0.5, az = a.z - 0.5;
  const double bx = b.x - 0.5, by = b.y - 0.5, bz = b.z - 0.5;
  const double cx = c.x - 0.5, cy = c.y - 0.5, cz = c.z - 0.5;
  return ax * (by * cz - bz * cy) - ay * (bx * cz - bz * cx) + az * (bx * cy - by * cx);
}

/// Minimum-area triangulation of a closed polygon of cube-edge midpoints, keeping its winding.
/// Ties (e.g. the two diagonals of a saddle quad) go to the triangulation enclosing more
/// volume, a rule that mirror images share, so mirrored fields give meshes of equal volume.
void triangulate_cycle(const std::vector<int>& cycle, const std::array<EdgeGeometry, 12>& edges,
                       std::vector<LocalTriangle>& out) {
  const int n = static_cast<int>(cycle.size());
  std::vector<Point> p(n);
  for (int i = 0; i < n; ++i) {
    const EdgeGeometry& g = edges[cycle[i]];
    std::array<double, 3> c{double(g.offset[0]), double(g.offset[1]), double(g.offset[2])};
    c[g.axis] += 0.5;
    p[i] = {c[0], c[1], c[2]};
  }
  // A diagonal joining two points of one cube face would lie in that face, where the neighbouring
  // cube, whose cycle may hold the same two points, can draw it too: the edge would then have
  // four triangles. Such diagonals are avoided (kept only if a cycle cannot be cut otherwise).
  const auto on_one_face = [&](int i, int j) {
    const double a[3] = {p[i].x, p[i].y, p[i].z}, b[3] = {p[j].x, p[j].y, p[j].z};
    for (int axis = 0; axis < 3; ++axis) {
      if (a[axis] == b[axis] && a[axis] != 0.5) return true;
    }
    return false;
  };
  // area[i][j], volume[i][j]: the best triangulation of the sub-polygon i..j; split[i][j]: its apex.
  constexpr double kTie = 1e-9;
  std::vector<std::vector<double>> area(n, std::vector<double>(n, 0.0));
  std::vector<std::vector<double>> volume(n, std::vector<double>(n, 0.0));
  std::vector<std::vector<int>> split(n, std::vector<int>(n, -1));
  // The price of edge i-j (i < j) as a diagonal: sides (j = i + 1) are free; 1e6 is larger than
  // any cycle's area.
  const auto penalty = [&](int i, int j) { return j > i + 1 && on_one_face(i, j) ? 1e6 : 0.0; };
  for (int len = 2; len < n; ++len) {
    for (int i = 0; i + len < n; ++i) {
      const int j = i + len;
      area[i][j] = std::numeric_limits<double>::infinity();
      for (int k = i + 1; k < j; ++k) {
        // Each diagonal is priced once, by the triangle whose inner sides it is (the sub-polygon
        // i..j's own side i-j is priced by its parent; the whole polygon's 0-(n-1) is a side).
        const double a =
            area[i][k] + area[k][j] + triangle_area(p[i], p[k], p[j]) + penalty(i, k) + penalty(k, j);
        const double v = volume[i][k] + volume[k][j] + cone_volume6(p[i], p[k], p[j]);
        if (a < area[i][j] - kTie || (a <= area[i][j] + kTie && v > volume[i][j] + kTie)) {
          area[i][j] = a;
          volume[i][j] = v;
          split[i][j] = k;
        }
      }
    }
  }
  std::vector<std::pair<int, int>> stack{{0, n - 1}};
  while (!stack.empty()) {
    const auto [i, j] = stack.back();
    stack.pop_back();
    if (j - i < 2) continue;
    const int k = split[i][j];
    out.push_back({static_cast<std::uint8_t>(cycle[i]), static_cast<std::uint8_t>(cycle[k]),
                   static_cast<std::uint8_t>(cycle[j])});
    stack.emplace_back(k, j);
    stack.emplace_back(i, k);
  }
}

struct CaseTable {
  std::array<EdgeGeometry, 12> edges;
  std::array<std::uint16_t, 257> begin{};  // case c's triangles: triangles[begin[c] .. begin[c + 1])
  std::vector<LocalTriangle> triangles;
};

CaseTable build_case_table() {
  CaseTable table;
  table.edges = make_edges();
  const auto faces = make_faces();
  for (int mask = 0; mask < 256; ++mask) {
    table.begin[mask] = static_cast<std::uint16_t>(table.triangles.size());
    const auto inside = [mask](int c) { return ((mask >> c) & 1) != 0; };
    std::array<int, 12> next;
    next.fill(-1);
    for (const auto& f : faces) {
      std::array<int, 4> cut{};  // cut edges in walk order
      std::array<bool, 4> entry{};
      int count = 0;
      for (int q = 0; q < 4; ++q) {
        const int a = f[q], b = f[(q + 1) % 4];
        if (inside(a) == inside(b)) continue;
        cut[count] = edge_between(table.edges, a, b);
        entry[count] = !inside(a);
        ++count;
      }
      for (int t = 0; t < count; ++t) {
        if (!entry[t]) continue;
        FABFORGE_CHECK(next[cut[t]] == -1 && !entry[(t + 1) % count], "cut points must alternate");
        next[cut[t]] = cut[(t + 1) % count];
      }
    }
    std::array<bool, 12> used{};
    for (int e = 0; e < 12; ++e) {
      const bool cut = inside(table.edges[e].corner0) != inside(table.edges[e].corner1);
      FABFORGE_CHECK(cut == (next[e] != -1), "every cut edge must start exactly one segment");
      if (!cut || used[e]) continue;
      std::vector<int> cycle;
      for (int x = e; !used[x]; x = next[x]) {
        used[x] = true;
        cycle.push_back(x);
      }
      FABFORGE_CHECK(cycle.size() >= 3, "a cycle needs three cut points");
      triangulate_cycle(cycle, table.edges, table.triangles);
    }
  }
  table.begin[256] = static_cast<std::uint16_t>(table.triangles.size());
  return table;
}

const CaseTable& case_table() {
  static const CaseTable table = build_case_table();
  return table;
}

std::uint64_t load8(const std::uint8_t* p) {
  std::uint64_t x;
  std::memcpy(&x, p, sizeof x);
  return x;
}

/// Whether bytes [0, 9) of the four rows all equal a[0].
bool uniform_run(const std::uint8_t* a, const std::uint8_t* b, const std::uint8_t* c, const std::uint8_t* d) {
  const std::uint64_t v = 0x0101010101010101ULL * a[0];
  return ((load8(a) ^ v) | (load8(a + 1) ^ v) | (load8(b) ^ v) | (load8(b + 1) ^ v) | (load8(c) ^ v) |
          (load8(c + 1) ^ v) | (load8(d) ^ v) | (load8(d + 1) ^ v)) == 0;
}

std::string sanitize(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) c = '_';
  }
  return out;
}

std::string two_digits(int i) { return (i < 10 ? "0" : "") + std::to_string(i); }

}  // namespace

// --- EdgeVertexMap ---------------------------------------------------------------------------

namespace detail {

namespace {
constexpr std::uint64_t kEmpty = ~std::uint64_t{0};
inline std::size_t slot_of(std::uint64_t key, std::size_t mask) {
  key ^= key >> 29;
  key *= 0xbf58476d1ce4e5b9ULL;
  key ^= key >> 32;
  return static_cast<std::size_t>(key) & mask;
}
}  // namespace

std::uint32_t EdgeVertexMap::find_or_insert(std::uint64_t key, std::uint32_t value) {
  if ((size_ + 1) * 2 > keys_.size()) grow();
  const std::size_t mask = keys_.size() - 1;
  for (std::size_t s = slot_of(key, mask);; s = (s + 1) & mask) {
    if (keys_[s] == key) return values_[s];
    if (keys_[s] == kEmpty) {
      keys_[s] = key;
      values_[s] = value;
      ++size_;
      return value;
    }
  }
}

void EdgeVertexMap::grow() {
  std::vector<std::uint64_t> old_keys = std::move(keys_);
  std::vector<std::uint32_t> old_values = std::move(values_);
  const std::size_t capacity = std::max<std::size_t>(64, old_keys.size() * 2);
  keys_.assign(capacity, kEmpty);
  values_.assign(capacity, 0);
  const std::size_t mask = capacity - 1;
  for (std::size_t i = 0; i < old_keys.size(); ++i) {
    if (old_keys[i] == kEmpty) continue;
    std::size_t s = slot_of(old_keys[i], mask);
    while (keys_[s] != kEmpty) s = (s + 1) & mask;
    keys_[s] = old_keys[i];
    values_[s] = old_values[i];
  }
}

void EdgeVertexMap::clear() {
  if (size_ == 0) return;
  std::fill(keys_.begin(), keys_.end(), kEmpty);
  size_ = 0;
}

void EdgeVertexMap::swap(EdgeVertexMap& other) noexcept {
  keys_.swap(other.keys_);
  values_.swap(other.values_);
  std::swap(size_, other.size_);
}

}  // namespace detail

// --- MaterialMesher --------------------------------------------------------------------------

MaterialMesher::MaterialMesher(const Grid& grid, std::vector<Material> materials, MeshSpillOptions spill)
    : grid_(grid), materials_(std::move(materials)), spill_(std::move(spill)) {
  if (grid.nx < 1 || grid.ny < 1 || grid.nz < 0) {
    throw usage_error("mesher: grid of " + std::to_string(grid.nx) + " x " + std::to_string(grid.ny) + " x " +
                      std::to_string(grid.nz) + " voxels: need nx, ny >= 1 and nz >= 0");
  }
  for (double d : {grid.dx, grid.dy, grid.dz}) {
    if (!std::isfinite(d) || d <= 0) throw usage_error("mesher: voxel sizes must be positive and finite");
  }
  for (double o : {grid.origin.x, grid.origin.y, grid.origin.z}) {
    if (!std::isfinite(o)) throw usage_error("mesher: grid origin must be finite");
  }
  if (materials_.size() > 255) {
    throw usage_error("mesher: " + std::to_string(materials_.size()) +
                      " materials: slices hold one byte per voxel, so at most 255");
  }
  width_ = grid.nx + 2;
  height_ = grid.ny + 2;
  const std::size_t padded = static_cast<std::size_t>(width_) * static_cast<std::size_t>(height_);
  lower_.assign(padded, 0);
  upper_.assign(padded, 0);
  meshes_.reserve(materials_.size());
  for (std::size_t m = 0; m < materials_.size(); ++m) meshes_.emplace_back(spill_.folder);
  case_table();  // build the table now rather than inside the first slice
}

void MaterialMesher::push(const Slice& slice) {
  if (finished_) throw usage_error("mesher: slice " + std::to_string(slice.k) + " pushed after finish()");
  if (next_k_ >= grid_.nz) {
    throw usage_error("mesher: slice " + std::to_string(slice.k) + " is beyond the grid's " + std::to_string(grid_.nz) +
                      " layers");
  }
  if (slice.k != next_k_) {
    throw usage_error("mesher: expected slice " + std::to_string(next_k_) + ", got slice " + std::to_string(slice.k) +
                      " (slices must come in order)");
  }
  if (slice.width != grid_.nx || slice.height != grid_.ny || slice.material.size() != grid_.slice_voxels()) {
    throw usage_error("mesher: slice " + std::to_string(slice.k) + " is " + std::to_string(slice.width) + " x " +
                      std::to_string(slice.height) + " with " + std::to_string(slice.material.size()) +
                      " bytes; the grid needs " + std::to_string(grid_.nx) + " x " + std::to_string(grid_.ny));
  }
  const auto worst = std::max_element(slice.material.begin(), slice.material.end());
  if (*worst > materials_.size()) {
    const std::size_t at = static_cast<std::size_t>(worst - slice.material.begin());
    throw input_error("mesher: slice " + std::to_string(slice.k) + ", voxel (" +
                      std::to_string(at % static_cast<std::size_t>(grid_.nx)) + ", " +
                      std::to_string(at / static_cast<std::size_t>(grid_.nx)) + ") holds material index " +
                      std::to_string(*worst) + " but the table has " + std::to_string(materials_.size()) +
                      " materials");
  }
  if (!spill_.folder.empty()) {
    std::size_t held = 0;
    for (const SpillMesh& mesh : meshes_) held += mesh.memory_bytes();
    if (held > spill_.memory_bytes) {
      for (SpillMesh& mesh : meshes_) mesh.spill();  // a failure leaves every mesh as it was
    }
  }
  const std::size_t nx = static_cast<std::size_t>(grid_.nx);
  for (int j = 0; j < grid_.ny; ++j) {
    const std::uint8_t* src = slice.material.data() + static_cast<std::size_t>(j) * nx;
    std::copy(src, src + nx, upper_.begin() + static_cast<std::ptrdiff_t>((j + 1) * std::size_t(width_) + 1));
  }
  mesh_layer(upper_, slice.k);
  lower_.swap(upper_);
  ++next_k_;
}

void MaterialMesher::finish() {
  if (finished_) throw usage_error("mesher: finish() called twice");
  if (next_k_ != grid_.nz) {
    throw usage_error("mesher: finish() after " + std::to_string(next_k_) + " of " + std::to_string(grid_.nz) +
                      " slices");
  }
  std::fill(upper_.begin(), upper_.end(), std::uint8_t{0});
  mesh_layer(upper_, grid_.nz);
  finished_ = true;
  // The streaming state is no longer needed.
  lower_ = {};
  upper_ = {};
  lower_map_ = {};
  upper_map_ = {};
  z_map_ = {};
}

// Meshes the cubes between the padded plane lower_ (slice upper_k - 1, void below the grid) and
// `upper` (slice upper_k, void above it). Padded plane p has voxel centres at origin + (p - 0.5) d
// along each axis; slice k is padded plane k + 1 along z.
void MaterialMesher::mesh_layer(const std::vector<std::uint8_t>& upper, int upper_k) {
  const CaseTable& table = case_table();
  const std::size_t w = static_cast<std::size_t>(width_);
  const double base[3] = {grid_.origin.x - 0.5 * grid_.dx, grid_.origin.y - 0.5 * grid_.dy,
                          grid_.origin.z - 0.5 * grid_.dz};
  const double step[3] = {grid_.dx, grid_.dy, grid_.dz};
  const std::array<detail::EdgeVertexMap*, 3> plane_maps{&lower_map_, &upper_map_, &z_map_};

  // Vertex of material value m (1-based) on cube edge e of the cube whose lower corner is padded
  // (ip, jp, upper_k).
  const auto vertex = [&](int m, int e, int ip, int jp) -> std::uint32_t {
    const EdgeGeometry& g = table.edges[e];
    const std::uint64_t column =
        static_cast<std::uint64_t>(jp + g.offset[1]) * w + static_cast<std::uint64_t>(ip + g.offset[0]);
    detail::EdgeVertexMap& map = *plane_maps[g.axis == 2 ? 2 : g.offset[2]];
    const std::uint64_t edge = g.axis == 2 ? column : column * 2 + static_cast<std::uint64_t>(g.axis);
    SpillMesh& mesh = meshes_[static_cast<std::size_t>(m - 1)];
    if (mesh.vertex_count() >= std::numeric_limits<std::uint32_t>::max()) {
      throw runtime_error("mesher: the mesh of material '" + materials_[static_cast<std::size_t>(m - 1)].name +
                          "' exceeds 2^32 - 1 vertices");
    }
    const auto next = static_cast<std::uint32_t>(mesh.vertex_count());
    const std::uint32_t index = map.find_or_insert((edge << 8) | static_cast<std::uint64_t>(m), next);
    if (index == next) {
      const double p[3] = {double(ip + g.offset[0]), double(jp + g.offset[1]), double(upper_k + g.offset[2])};
      double c[3];
      for (int a = 0; a < 3; ++a) c[a] = base[a] + (p[a] + (a == g.axis ? 0.5 : 0.0)) * step[a];
      mesh.add_vertex({static_cast<float>(c[0]), static_cast<float>(c[1]), static_cast<float>(c[2])});
    }
    return index;
  };

  const auto emit = [&](int m, int mask, int ip, int jp) {
    std::array<std::uint32_t, 12> local;
    local.fill(std::numeric_limits<std::uint32_t>::max());
    SpillMesh& mesh = meshes_[static_cast<std::size_t>(m - 1)];
    for (int t = table.begin[mask]; t < table.begin[mask + 1]; ++t) {
      Triangle tri;
      for (int q = 0; q < 3; ++q) {
        const int e = table.triangles[t][q];
        if (local[e] == std::numeric_limits<std::uint32_t>::max()) local[e] = vertex(m, e, ip, jp);
        tri[q] = local[e];
      }
      mesh.add_triangle(tri);
    }
  };

  for (int jp = 0; jp + 1 < height_; ++jp) {
    const std::uint8_t* l0 = lower_.data() + static_cast<std::size_t>(jp) * w;
    const std::uint8_t* l1 = l0 + w;
    const std::uint8_t* u0 = upper.data() + static_cast<std::size_t>(jp) * w;
    const std::uint8_t* u1 = u0 + w;
    for (int ip = 0; ip + 1 < width_; ++ip) {
      // Most cubes are all void or all one material: skip eight of them at a time when the
      // nine columns under them hold one value.
      while (ip + 9 <= width_ && uniform_run(l0 + ip, l1 + ip, u0 + ip, u1 + ip)) ip += 8;
      if (ip + 1 >= width_) break;
      const std::array<std::uint8_t, 8> v{l0[ip], l0[ip + 1], l1[ip], l1[ip + 1],
                                          u0[ip], u0[ip + 1], u1[ip], u1[ip + 1]};
      const std::uint8_t first = v[0];
      if (v[1] == first && v[2] == first && v[3] == first && v[4] == first && v[5] == first && v[6] == first &&
          v[7] == first) {
        continue;
      }
      int done = 0;  // corners whose material was meshed already
      for (int c = 0; c < 8; ++c) {
        if (((done >> c) & 1) != 0 || v[c] == 0) continue;
        int mask = 0;
        for (int d = c; d < 8; ++d) mask |= (v[d] == v[c] ? 1 : 0) << d;
        done |= mask;
        emit(v[c], mask, ip, jp);
      }
    }
  }
  lower_map_.swap(upper_map_);
  upper_map_.clear();
  z_map_.clear();
}

void MaterialMesher::require_finished(const char* what) const {
  if (!finished_) throw usage_error(std::string("mesher: ") + what + " before finish()");
}

std::size_t MaterialMesher::spilled_elements() const noexcept {
  std::size_t n = 0;
  for (const SpillMesh& mesh : meshes_) n += mesh.spilled_vertices() + mesh.spilled_triangles();
  return n;
}

const MeshReader& MaterialMesher::mesh_reader(int material) const {
  require_finished("mesh()");
  if (material < 0 || material >= material_count()) {
    throw usage_error("mesher: material " + std::to_string(material) + " out of range (the table has " +
                      std::to_string(material_count()) + ")");
  }
  return meshes_[static_cast<std::size_t>(material)];
}

std::vector<std::filesystem::path> MaterialMesher::write_stl_per_material(const std::filesystem::path& folder,
                                                                          std::string_view base_name) const {
  require_finished("write_stl_per_material()");
  if (base_name.empty()) throw usage_error("mesher: STL base name is empty");
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec) throw runtime_error("mesher: cannot create folder " + folder.string() + ": " + ec.message());
  std::vector<std::size_t> chosen;
  std::vector<std::filesystem::path> written;
  for (std::size_t m = 0; m < meshes_.size(); ++m) {
    if (meshes_[m].empty()) continue;
    chosen.push_back(m);
    written.push_back(folder / (std::string(base_name) + "_" + two_digits(static_cast<int>(m)) + "_" +
                                sanitize(materials_[m].name) + ".stl"));
  }
  // One file per task (in the caller's task arena): the writers read the meshes, never change them.
  parallel_for_each_index(0, chosen.size(), 1, [&](std::size_t i) {
    write_stl(written[i], meshes_[chosen[i]], materials_[chosen[i]].name);
  });
  return written;
}

std::vector<int> MaterialMesher::write_3mf(const std::filesystem::path& path) const {
  require_finished("write_3mf()");
  // The meshes are borrowed, not copied: they may be most of the job's memory.
  std::vector<ThreeMFObjectRef> objects;
  std::vector<int> written;
  for (int m = 0; m < material_count(); ++m) {
    const SpillMesh& mesh = meshes_[static_cast<std::size_t>(m)];
    if (mesh.empty()) continue;
    const Material& material = materials_[static_cast<std::size_t>(m)];
    ThreeMFObjectRef object;
    object.name = material.name.empty() ? "material " + std::to_string(m) : material.name;
    object.mesh = &mesh;
    object.color = color::Rgb8{material.rgba[0], material.rgba[1], material.rgba[2]};
    objects.push_back(std::move(object));
    written.push_back(m);
  }
  if (written.empty()) {
    throw usage_error("mesher: " + path.string() + ": nothing to write: every material's mesh is empty");
  }
  fabforge::write_3mf(path, objects, {{"Application", "fabforge"}});
  return written;
}

}  // namespace fabforge::voxel
