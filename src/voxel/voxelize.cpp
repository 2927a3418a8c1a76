// Slab solid voxelization by signed vertical ray crossings (see voxelize.hpp for the rules).
//
// Fixed point: x and y are stored in units of 1/65536 voxel pitch relative to the grid origin, so
// the centre of column i is at (2 i + 1) * kHalf. Vertices are limited to 2^46 units (2^30 voxels)
// from the origin, so edge functions (products of two differences, each < 2^47) fit in 128 bits
// and are exact.

#include "fabforge/voxel/voxelize.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <numeric>
#include <optional>
#include <string>

#include "fabforge/core/error.hpp"
#include "fabforge/core/parallel.hpp"

namespace fabforge::voxel {
namespace {

__extension__ typedef __int128 Wide;  // exact edge functions; __extension__ keeps -Wpedantic quiet

constexpr double kUnitsPerVoxel = 65536.0;
constexpr std::int64_t kHalf = 32768;           // half a voxel in fixed point
constexpr double kMaxUnits = 70368744177664.0;  // 2^46: 2^30 voxels
constexpr std::size_t kRowGrain = 4;

using Projected = MeshVoxelizer::Projected;

// Exact 2D orientation of (a, b, p): > 0 when p is left of a -> b.
Wide orient(std::int64_t ax, std::int64_t ay, std::int64_t bx, std::int64_t by, std::int64_t px, std::int64_t py) {
  return static_cast<Wide>(bx - ax) * (py - ay) - static_cast<Wide>(by - ay) * (px - ax);
}

// Sign of orient(a, b, p + (e, e^2)) for infinitesimal e > 0: never 0 for a != b. Breaks ties so
// that a point on an edge or vertex belongs to the triangle on its +x side (+y for edges along x).
int perturbed_side(const Wide e, std::int64_t dx, std::int64_t dy) {
  if (e != 0) return e > 0 ? 1 : -1;
  return (dy < 0 || (dy == 0 && dx > 0)) ? 1 : -1;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {  // b > 0
  std::int64_t q = a / b;
  if ((a % b) != 0 && a < 0) --q;
  return q;
}
std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return -floor_div(-a, b); }

// First column / row whose centre (2 n + 1) * kHalf is >= u, and last one whose centre is <= u.
std::int64_t first_centre_at_or_above(std::int64_t u) { return ceil_div(u - kHalf, 2 * kHalf); }
std::int64_t last_centre_at_or_below(std::int64_t u) { return floor_div(u - kHalf, 2 * kHalf); }

std::int64_t snap(double coordinate, double origin, double pitch, std::size_t vertex) {
  const double u = (coordinate - origin) / pitch * kUnitsPerVoxel;
  if (!(std::fabs(u) <= kMaxUnits)) {
    throw input_error("voxelize: vertex " + std::to_string(vertex) +
                      " lies more than 2^30 voxels from the grid origin; crop or translate the mesh");
  }
  // std::llround, inline: truncation and the exact remainder (|u| <= 2^46, so both are exact).
  auto t = static_cast<std::int64_t>(u);
  const double rest = u - static_cast<double>(t);
  t += rest >= 0.5 ? 1 : 0;
  t -= rest <= -0.5 ? 1 : 0;
  return t;
}

// Index of the first layer whose centre is at or above z, as a double (may be far out of range).
// The one function that places heights on layers, so equal heights always land on equal layers.
double first_layer_at_or_above(const Grid& g, double z) { return std::ceil((z - g.origin.z) / g.dz - 0.5); }

std::int32_t clamped_layer(const Grid& g, double z) {
  return static_cast<std::int32_t>(std::clamp(first_layer_at_or_above(g, z), -1.0, static_cast<double>(g.nz) + 1));
}

// One signed crossing of a column's vertical line, at the first layer whose centre is at or above it.
struct Crossing {
  std::int32_t column;
  std::int32_t layer;
  std::int32_t sign;
};

struct RowWork {
  std::vector<Crossing> crossings;
};

class SlabRunner {
 public:
  SlabRunner(const Grid& grid, const std::vector<std::vector<Projected>>& triangles, int chunk_bits,
             const std::vector<std::uint32_t>& row_offsets, const std::vector<std::uint32_t>& row_triangles, int k0,
             int k1, const std::vector<std::int32_t>* below)
      : grid_(grid),
        tris_(triangles),
        chunk_bits_(chunk_bits),
        row_offsets_(row_offsets),
        row_tris_(row_triangles),
        k0_(k0),
        k1_(k1),
        below_(below) {}

  // Fills the runs of row j, the run count of each of its columns and, if wanted, its top winding.
  void row(int j, RowWork& work, std::vector<LayerRun>& runs, std::uint32_t* counts, std::int32_t* top) const {
    collect_crossings(j, work.crossings);
    auto& xs = work.crossings;
    std::sort(xs.begin(), xs.end(), [](const Crossing& a, const Crossing& b) {
      return a.column != b.column ? a.column < b.column : a.layer < b.layer;
    });
    const std::size_t row_base = static_cast<std::size_t>(j) * static_cast<std::size_t>(grid_.nx);
    std::size_t x = 0;
    for (int i = 0; i < grid_.nx; ++i) {
      std::int32_t w = below_ ? (*below_)[row_base + static_cast<std::size_t>(i)] : 0;
      const std::size_t before = runs.size();
      std::int32_t start = k0_;
      bool inside = false;
      auto settle = [&](std::int32_t layer) {  // the winding changed at `layer`
        if (!inside && w != 0) {
          start = layer;
          inside = true;
        } else if (inside && w == 0) {
          runs.push_back({start, layer});
          inside = false;
        }
      };
      // Crossings below the slab (marked k0 - 1) and at its first layer set the starting winding.
      for (; x < xs.size() && xs[x].column == i && xs[x].layer <= k0_; ++x) w += xs[x].sign;
      settle(k0_);
      while (x < xs.size() && xs[x].column == i) {
        const std::int32_t layer = xs[x].layer;
        for (; x < xs.size() && xs[x].column == i && xs[x].layer == layer; ++x) w += xs[x].sign;
        settle(layer);
      }
      if (inside) runs.push_back({start, k1_});  // open at the slab top
      counts[i] = static_cast<std::uint32_t>(runs.size() - before);
      if (top) top[i] = w;
    }
  }

 private:
  double layer_of(double z) const { return first_layer_at_or_above(grid_, z); }

  void collect_crossings(int j, std::vector<Crossing>& out) const {
    out.clear();
    const std::int64_t py = (2 * static_cast<std::int64_t>(j) + 1) * kHalf;
    const bool carry = below_ != nullptr;
    for (std::uint32_t r = row_offsets_[static_cast<std::size_t>(j)]; r < row_offsets_[static_cast<std::size_t>(j) + 1];
         ++r) {
      const std::uint32_t id = row_tris_[r];
      const Projected& t = tris_[id >> chunk_bits_][id & ((1u << chunk_bits_) - 1)];
      if (t.kmin >= k1_) break;  // sorted by zmin: every later triangle lies above the slab
      const bool below_slab = t.kmax < k0_;
      if (carry && below_slab) continue;  // already in winding_below
      triangle_in_row(t, py, below_slab, out);
    }
  }

  // Candidate columns from the row's intersection with the triangle (in doubles, widened by one
  // column), then the exact test on each.
  void triangle_in_row(const Projected& t, std::int64_t py, bool below_slab, std::vector<Crossing>& out) const {
    double lo = std::numeric_limits<double>::infinity();
    double hi = -lo;
    for (int e = 0; e < 3; ++e) {
      const int a = e == 2 ? 0 : e;
      const int b = e == 0 ? 1 : 2;  // edges (0,1), (1,2), (0,2)
      const std::int64_t ya = t.y[a], yb = t.y[b];
      if (py < std::min(ya, yb) || py > std::max(ya, yb)) continue;
      double x;
      if (ya == yb) {
        lo = std::min(lo, static_cast<double>(std::min(t.x[a], t.x[b])));
        hi = std::max(hi, static_cast<double>(std::max(t.x[a], t.x[b])));
        continue;
      }
      x = static_cast<double>(t.x[a]) +
          static_cast<double>(py - ya) * static_cast<double>(t.x[b] - t.x[a]) / static_cast<double>(yb - ya);
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
    if (!(lo <= hi)) return;
    const double two_half = 2.0 * static_cast<double>(kHalf);
    std::int64_t ilo = static_cast<std::int64_t>(std::ceil((lo - static_cast<double>(kHalf)) / two_half)) - 1;
    std::int64_t ihi = static_cast<std::int64_t>(std::floor((hi - static_cast<double>(kHalf)) / two_half)) + 1;
    ilo = std::max<std::int64_t>(ilo, 0);
    ihi = std::min<std::int64_t>(ihi, grid_.nx - 1);
    for (std::int64_t i = ilo; i <= ihi; ++i) {
      const std::int64_t px = (2 * i + 1) * kHalf;
      const Wide e01 = orient(t.x[0], t.y[0], t.x[1], t.y[1], px, py);
      if (perturbed_side(e01, t.x[1] - t.x[0], t.y[1] - t.y[0]) != t.orient) continue;
      const Wide e12 = orient(t.x[1], t.y[1], t.x[2], t.y[2], px, py);
      if (perturbed_side(e12, t.x[2] - t.x[1], t.y[2] - t.y[1]) != t.orient) continue;
      const Wide e02 = orient(t.x[0], t.y[0], t.x[2], t.y[2], px, py);
      if (perturbed_side(e02, t.x[2] - t.x[0], t.y[2] - t.y[0]) != -t.orient) continue;
      std::int32_t layer = k0_ - 1;
      if (!below_slab) {
        const double z = height(t, px, py, e01 == 0, e12 == 0, e02 == 0);
        const double k = layer_of(z);
        if (k >= k1_) continue;
        if (k >= k0_) {
          layer = static_cast<std::int32_t>(k);
        } else if (below_) {
          continue;  // counted in winding_below
        }
      }
      out.push_back({static_cast<std::int32_t>(i), layer, t.crossing});
    }
  }

  // Height of the triangle at column centre (px, py). On an edge it comes from that edge alone, at
  // a vertex from the vertex, so triangles sharing them agree exactly; inside, from the plane.
  static double height(const Projected& t, std::int64_t px, std::int64_t py, bool on01, bool on12, bool on02) {
    for (int v = 0; v < 3; ++v) {
      if (t.x[v] == px && t.y[v] == py) return t.z[v];
    }
    int a = -1, b = -1;
    if (on01) {
      a = 0, b = 1;
    } else if (on12) {
      a = 1, b = 2;
    } else if (on02) {
      a = 0, b = 2;
    }
    double z;
    if (a >= 0) {
      const std::int64_t dx = t.x[b] - t.x[a], dy = t.y[b] - t.y[a];
      const double s = std::llabs(dx) >= std::llabs(dy) ? static_cast<double>(px - t.x[a]) / static_cast<double>(dx)
                                                        : static_cast<double>(py - t.y[a]) / static_cast<double>(dy);
      z = t.z[a] + s * (t.z[b] - t.z[a]);
    } else {
      z = t.z[0] + t.gx * static_cast<double>(px - t.x[0]) + t.gy * static_cast<double>(py - t.y[0]);
    }
    return std::clamp(z, t.zmin, t.zmax);
  }

  const Grid& grid_;
  const std::vector<std::vector<Projected>>& tris_;
  int chunk_bits_;
  const std::vector<std::uint32_t>& row_offsets_;
  const std::vector<std::uint32_t>& row_tris_;
  int k0_, k1_;
  const std::vector<std::int32_t>* below_;
};

void check_grid(const Grid& g) {
  auto bad_pitch = [](double d) { return !(std::isfinite(d) && d > 0); };
  if (bad_pitch(g.dx) || bad_pitch(g.dy) || bad_pitch(g.dz)) {
    throw usage_error("voxelize: grid pitch must be positive and finite (dx " + std::to_string(g.dx) + ", dy " +
                      std::to_string(g.dy) + ", dz " + std::to_string(g.dz) + " mm)");
  }
  if (!std::isfinite(g.origin.x) || !std::isfinite(g.origin.y) || !std::isfinite(g.origin.z)) {
    throw usage_error("voxelize: grid origin must be finite");
  }
  if (g.nx < 0 || g.ny < 0 || g.nz < 0) {
    throw usage_error("voxelize: grid size must not be negative (" + std::to_string(g.nx) + " x " +
                      std::to_string(g.ny) + " x " + std::to_string(g.nz) + ")");
  }
}

// Where the column centres lie along x and y, for a quick test in doubles before snapping: a
// centre at lattice coordinate (n + 0.5 + whole) voxels for n in [0, last].
struct CentreWindow {
  double lattice[2];    // the lattice origin, mm
  double inv_pitch[2];  // voxels per mm
  double whole[2];      // the grid origin's offset from the lattice origin, voxels
  double last[2];       // the last column / row index
};

// Snaps one triangle and sorts its vertices; false for a zero projected area (e.g. parallel to z)
// or a triangle whose x range holds no column centre of the grid (its rows are checked after).
// `lattice` is the origin x, y snapping is relative to; `shift` the grid origin's offset from it in
// fixed-point units (a whole number of voxels), so windows of one lattice snap alike.
bool project(const Mesh& mesh, const Triangle& tri, const Grid& g, const Vec3d& lattice, const std::int64_t shift[2],
             const CentreWindow& window, Projected& out) {
  // Most micropolygons are smaller than a column and hold no column centre: a quick look in
  // doubles, a thousandth of a voxel wide of the snapped positions (within 1/131072 voxel of
  // these), drops them before snapping. Far or non-finite vertices go on, to the snapping's error.
  {
    const Vec3f& a = mesh.vertices[tri[0]];
    const Vec3f& b = mesh.vertices[tri[1]];
    const Vec3f& c = mesh.vertices[tri[2]];
    const double lo[2] = {std::min({a.x, b.x, c.x}), std::min({a.y, b.y, c.y})};
    const double hi[2] = {std::max({a.x, b.x, c.x}), std::max({a.y, b.y, c.y})};
    for (int axis = 0; axis < 2; ++axis) {
      const double u0 = (lo[axis] - window.lattice[axis]) * window.inv_pitch[axis] - window.whole[axis];
      const double u1 = (hi[axis] - window.lattice[axis]) * window.inv_pitch[axis] - window.whole[axis];
      if (!(std::fabs(u0) < 1e9 && std::fabs(u1) < 1e9)) break;
      // The first centre at or above u0 and the last at or below u1.
      const double first = std::max(std::ceil(u0 - 1e-3 - 0.5), 0.0);
      const double last = std::min(std::floor(u1 + 1e-3 - 0.5), window.last[axis]);
      if (first > last) return false;
    }
  }
  struct V {
    std::int64_t x, y;
    double z;
  };
  V v[3];
  for (int c = 0; c < 3; ++c) {
    const Vec3f& p = mesh.vertices[tri[static_cast<std::size_t>(c)]];
    v[c] = {snap(p.x, lattice.x, g.dx, tri[static_cast<std::size_t>(c)]) - shift[0],
            snap(p.y, lattice.y, g.dy, tri[static_cast<std::size_t>(c)]) - shift[1], static_cast<double>(p.z)};
  }
  const Wide as_given = orient(v[0].x, v[0].y, v[1].x, v[1].y, v[2].x, v[2].y);
  if (as_given == 0) return false;
  const std::int64_t xmin = std::min({v[0].x, v[1].x, v[2].x}), xmax = std::max({v[0].x, v[1].x, v[2].x});
  // No column centre within its x range (one on the boundary counts): it crosses no column.
  if (std::max<std::int64_t>(first_centre_at_or_above(xmin), 0) >
      std::min<std::int64_t>(last_centre_at_or_below(xmax), g.nx - 1))
    return false;
  std::sort(v, v + 3, [](const V& a, const V& b) {
    if (a.x != b.x) return a.x < b.x;
    if (a.y != b.y) return a.y < b.y;
    return a.z < b.z;
  });
  const Wide sorted = orient(v[0].x, v[0].y, v[1].x, v[1].y, v[2].x, v[2].y);
  for (int c = 0; c < 3; ++c) {
    out.x[c] = v[c].x;
    out.y[c] = v[c].y;
    out.z[c] = v[c].z;
  }
  out.zmin = std::min({v[0].z, v[1].z, v[2].z});
  out.zmax = std::max({v[0].z, v[1].z, v[2].z});
  out.kmin = clamped_layer(g, out.zmin);
  out.kmax = clamped_layer(g, out.zmax);
  out.orient = sorted > 0 ? 1 : -1;
  out.crossing = as_given > 0 ? -1 : 1;  // counter-clockwise from above: normal up, the ray leaves
  const double d1x = static_cast<double>(v[1].x - v[0].x), d1y = static_cast<double>(v[1].y - v[0].y);
  const double d2x = static_cast<double>(v[2].x - v[0].x), d2y = static_cast<double>(v[2].y - v[0].y);
  const double dz1 = v[1].z - v[0].z, dz2 = v[2].z - v[0].z;
  const double det = static_cast<double>(sorted);
  out.gx = (dz1 * d2y - dz2 * d1y) / det;
  out.gy = (d1x * dz2 - d2x * dz1) / det;
  return true;
}

}  // namespace

std::uint64_t SlabRuns::inside_voxels() const {
  std::uint64_t n = 0;
  for (const LayerRun& r : runs) n += static_cast<std::uint64_t>(r.end - r.begin);
  return n;
}

MeshVoxelizer::MeshVoxelizer(const Mesh& mesh, const Grid& grid, std::optional<Vec3d> lattice_origin) : grid_(grid) {
  check_grid(grid_);
  validate_mesh(mesh, "voxelize");
  const Vec3d lattice = lattice_origin.value_or(grid_.origin);
  std::int64_t shift[2] = {0, 0};
  const double pitch[2] = {grid_.dx, grid_.dy};
  const double offset[2] = {grid_.origin.x - lattice.x, grid_.origin.y - lattice.y};
  for (int a = 0; a < 2; ++a) {
    const double voxels = offset[a] / pitch[a];
    const double whole = std::round(voxels);
    if (!std::isfinite(voxels) || std::abs(voxels - whole) > 1e-6 || std::abs(whole) > 1e9) {
      throw usage_error("voxelize: the grid origin must lie a whole number of voxels from the lattice origin");
    }
    shift[a] = static_cast<std::int64_t>(whole) * static_cast<std::int64_t>(kUnitsPerVoxel);
  }
  const CentreWindow window{
      {lattice.x, lattice.y},
      {1.0 / grid_.dx, 1.0 / grid_.dy},
      {static_cast<double>(shift[0]) / kUnitsPerVoxel, static_cast<double>(shift[1]) / kUnitsPerVoxel},
      {static_cast<double>(grid_.nx - 1), static_cast<double>(grid_.ny - 1)}};
  // In chunks, in parallel: project, keep the triangles reaching a row, count them per row. The
  // chunks' boundaries depend only on the triangle count, so the triangle ids (the input's order,
  // less the skipped ones) and each row's list never depend on the threads.
  const std::size_t ny = static_cast<std::size_t>(grid_.ny);
  const std::size_t nt = mesh.triangles.size();
  constexpr std::size_t kProjectChunk = std::size_t{1} << kChunkBits;
  const std::size_t chunks = (nt + kProjectChunk - 1) / kProjectChunk;
  if (chunks > (std::size_t{1} << (32 - kChunkBits))) {
    throw input_error("voxelize: more than 2^32 triangles in one mesh; split it into slabs");
  }
  struct Chunk {
    std::vector<Projected> kept;
    std::vector<std::pair<std::int32_t, std::int32_t>> rows;  // per kept triangle: [first, last] row
    std::vector<std::uint32_t> row_counts;                    // per row, then the chunk's cursor
  };
  std::vector<Chunk> parts(chunks);
  parallel_for_each_index(0, chunks, 1, [&](std::size_t c) {
    Chunk& ch = parts[c];
    ch.row_counts.assign(ny, 0);
    const std::size_t t1 = std::min(nt, (c + 1) * kProjectChunk);
    for (std::size_t t = c * kProjectChunk; t < t1; ++t) {
      Projected p;
      if (!project(mesh, mesh.triangles[t], grid_, lattice, shift, window, p)) continue;
      const std::int64_t jlo = std::max<std::int64_t>(first_centre_at_or_above(std::min({p.y[0], p.y[1], p.y[2]})), 0);
      const std::int64_t jhi =
          std::min<std::int64_t>(last_centre_at_or_below(std::max({p.y[0], p.y[1], p.y[2]})), grid_.ny - 1);
      if (jlo > jhi) continue;
      ch.kept.push_back(p);
      ch.rows.emplace_back(static_cast<std::int32_t>(jlo), static_cast<std::int32_t>(jhi));
      for (std::int64_t j = jlo; j <= jhi; ++j) ++ch.row_counts[static_cast<std::size_t>(j)];
    }
  });
  indexed_ = 0;
  for (const Chunk& ch : parts) indexed_ += ch.kept.size();
  row_offsets_.assign(ny + 1, 0);
  std::uint64_t total = 0;
  for (std::size_t j = 0; j < ny; ++j) {
    for (const Chunk& ch : parts) total += ch.row_counts[j];
    if (total > std::numeric_limits<std::uint32_t>::max()) {
      throw input_error("voxelize: the mesh's triangles cover more than 2^32 grid rows in total; use a smaller grid");
    }
    row_offsets_[j + 1] = static_cast<std::uint32_t>(total);
  }
  // Each chunk's slot in each row: after the earlier chunks' entries.
  for (std::size_t j = 0; j < ny; ++j) {
    std::uint32_t at = row_offsets_[j];
    for (Chunk& ch : parts) {
      const std::uint32_t count = ch.row_counts[j];
      ch.row_counts[j] = at;
      at += count;
    }
  }
  row_triangles_.resize(static_cast<std::size_t>(total));
  parallel_for_each_index(0, chunks, 1, [&](std::size_t c) {
    Chunk& ch = parts[c];
    for (std::size_t q = 0; q < ch.kept.size(); ++q) {
      const auto t = static_cast<std::uint32_t>((c << kChunkBits) | q);
      for (std::int32_t j = ch.rows[q].first; j <= ch.rows[q].second; ++j) {
        row_triangles_[ch.row_counts[static_cast<std::size_t>(j)]++] = t;
      }
    }
    ch.rows = {};
    ch.row_counts = {};
  });
  chunks_.resize(chunks);
  for (std::size_t c = 0; c < chunks; ++c) chunks_[c] = std::move(parts[c].kept);
  // Sorting each row by lowest z lets a slab stop at the first triangle above it.
  parallel_for_each_index(0, ny, kRowGrain, [&](std::size_t j) {
    std::sort(row_triangles_.begin() + row_offsets_[j], row_triangles_.begin() + row_offsets_[j + 1],
              [&](std::uint32_t a, std::uint32_t b) {
                const Projected& ta = chunks_[a >> kChunkBits][a & ((1u << kChunkBits) - 1)];
                const Projected& tb = chunks_[b >> kChunkBits][b & ((1u << kChunkBits) - 1)];
                return ta.zmin != tb.zmin ? ta.zmin < tb.zmin : a < b;
              });
  });
}

SlabRuns MeshVoxelizer::voxelize(int k0, int k1, const SlabOptions& options) const {
  if (k0 < 0 || k1 < k0 || k1 > grid_.nz) {
    throw usage_error("voxelize: slab [" + std::to_string(k0) + ", " + std::to_string(k1) +
                      ") is not within the grid's layers [0, " + std::to_string(grid_.nz) + ")");
  }
  const std::size_t nx = static_cast<std::size_t>(grid_.nx), ny = static_cast<std::size_t>(grid_.ny);
  const std::size_t columns = nx * ny;
  if (options.winding_below && options.winding_below->size() != columns) {
    throw usage_error("voxelize: winding_below has " + std::to_string(options.winding_below->size()) +
                      " entries, the grid has " + std::to_string(columns) + " columns");
  }
  SlabRuns out;
  out.nx = grid_.nx;
  out.ny = grid_.ny;
  out.k0 = k0;
  out.k1 = k1;
  out.offsets.assign(columns + 1, 0);
  if (options.keep_winding_top) out.winding_top.assign(columns, 0);

  const SlabRunner runner(grid_, chunks_, kChunkBits, row_offsets_, row_triangles_, k0, k1, options.winding_below);
  std::vector<std::vector<LayerRun>> row_runs(ny);
  if (k1 > k0) {
    parallel_for(0, ny, kRowGrain, [&](std::size_t lo, std::size_t hi) {
      RowWork work;
      for (std::size_t j = lo; j < hi; ++j) {
        runner.row(static_cast<int>(j), work, row_runs[j], out.offsets.data() + j * nx + 1,
                   options.keep_winding_top ? out.winding_top.data() + j * nx : nullptr);
      }
    });
  } else if (options.keep_winding_top && options.winding_below) {
    out.winding_top = *options.winding_below;  // an empty slab changes nothing
  }
  std::uint64_t total = 0;
  for (std::size_t c = 0; c < columns; ++c) {
    total += out.offsets[c + 1];
    if (total > std::numeric_limits<std::uint32_t>::max()) {
      throw runtime_error("voxelize: more than 2^32 runs in one slab; use thinner slabs or a smaller grid");
    }
    out.offsets[c + 1] = static_cast<std::uint32_t>(total);
  }
  out.runs.resize(static_cast<std::size_t>(total));
  parallel_for_each_index(0, ny, kRowGrain, [&](std::size_t j) {
    std::copy(row_runs[j].begin(), row_runs[j].end(), out.runs.begin() + out.offsets[j * nx]);
  });
  return out;
}

SlabRuns voxelize_slab(const Mesh& mesh, const Grid& grid, int k0, int k1) {
  return MeshVoxelizer(mesh, grid).voxelize(k0, k1);
}

std::vector<std::uint8_t> runs_to_mask(const SlabRuns& runs) {
  const std::size_t nx = static_cast<std::size_t>(runs.nx), ny = static_cast<std::size_t>(runs.ny);
  const std::size_t layers = static_cast<std::size_t>(runs.k1 - runs.k0);
  std::vector<std::uint8_t> mask(nx * ny * layers, 0);
  parallel_for_each_index(0, ny, kRowGrain, [&](std::size_t j) {  // rows write disjoint bytes
    for (std::size_t c = j * nx; c < (j + 1) * nx; ++c) {
      for (std::uint32_t r = runs.offsets[c]; r < runs.offsets[c + 1]; ++r) {
        for (std::int32_t k = runs.runs[r].begin; k < runs.runs[r].end; ++k) {
          mask[static_cast<std::size_t>(k - runs.k0) * nx * ny + c] = 1;
        }
      }
    }
  });
  return mask;
}

}  // namespace fabforge::voxel
