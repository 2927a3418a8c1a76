#include "fabforge/voxel/pipeline.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <numeric>
#include <span>
#include <tuple>
#include <utility>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "fabforge/core/error.hpp"
#include "fabforge/core/parallel.hpp"
#include "fabforge/openfl/exec.hpp"
#include "fabforge/openfl/texture.hpp"
#include "fabforge/voxel/dither.hpp"
#include "fabforge/voxel/mesher.hpp"
#include "fabforge/voxel/nearest.hpp"
#include "fabforge/voxel/tessellate.hpp"
#include "fabforge/voxel/voxelize.hpp"

namespace fabforge::voxel {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kSupportBlock = 4;         // columns per side of a support z-buffer cell
constexpr int kFarBlock[3] = {8, 4, 4};  // voxels per far-block side in x, y, z
// Layers one volume-phase task walks together, row by row (each keeps its ditherer's rows).
constexpr int kMaxLayerRun = 8;
// Layers one volume-phase task of a slab of `layers` layers walks together: a quarter of the slab
// (work for a few threads), at most kMaxLayerRun.
int layer_run(int layers) { return std::clamp((layers + 3) / 4, 1, kMaxLayerRun); }

// Voxels along x that the volume phase takes through every layer of its run before moving on
// (measured on the creature: 1, 2, 4, 8 and 16 give a volume phase of 3.14, 3.08, 3.32, 3.72 and
// 3.76 s; layer after layer of a row gave 3.77 s: the nodes a search walks, about 3.5 KB, must
// still be in the 32 KB first-level cache when the neighbouring voxel's search comes).
constexpr int kVolumeTile = 2;
// The fewest rows a band of a slab may have (banded slabs: make_plan).
constexpr int kMinBandRows = 4;
// The tallest banded slab make_plan tries: taller ones leave room for thin bands only, each with
// its own index and far blocks (the postcard as one slab of 101 layers took bands of 4 rows and
// 19.7 s, against 17.2 s for two slabs of 64 layers in bands of 26).
constexpr int kMaxBandedSlabLayers = 64;
// What the process holds before any job data: code, libraries, thread pools (measured: about 16
// MiB for a one-voxel job), with a margin.
constexpr std::size_t kProcessBaseBytes = std::size_t{24} << 20;
constexpr double kInf = std::numeric_limits<double>::infinity();

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Wall and process CPU time from construction, added to a phase's totals (JobStats).
struct PhaseTimer {
  Clock::time_point wall = Clock::now();
  double cpu = process_cpu_seconds();
  void add_to(PhaseTime& phase) const {
    phase.wall_s += seconds_since(wall);
    phase.cpu_s += process_cpu_seconds() - cpu;
  }
};

std::string format_mm(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

std::string format_box(const BoundingBox& b) {
  return "(" + format_mm(b.min.x) + ", " + format_mm(b.min.y) + ", " + format_mm(b.min.z) + ") .. (" +
         format_mm(b.max.x) + ", " + format_mm(b.max.y) + ", " + format_mm(b.max.z) + ") mm";
}

BoundingBox triangle_box(const Mesh& mesh, const Triangle& t) {
  BoundingBox b{{kInf, kInf, kInf}, {-kInf, -kInf, -kInf}};
  for (std::uint32_t v : t) {
    const Vec3f& p = mesh.vertices[v];
    b.min = {std::min(b.min.x, double(p.x)), std::min(b.min.y, double(p.y)), std::min(b.min.z, double(p.z))};
    b.max = {std::max(b.max.x, double(p.x)), std::max(b.max.y, double(p.y)), std::max(b.max.z, double(p.z))};
  }
  return b;
}

void grow(BoundingBox& into, const BoundingBox& b) {
  into.min = {std::min(into.min.x, b.min.x), std::min(into.min.y, b.min.y), std::min(into.min.z, b.min.z)};
  into.max = {std::max(into.max.x, b.max.x), std::max(into.max.y, b.max.y), std::max(into.max.z, b.max.z)};
}

// Voxels known to be farther than the query reach from the surface, from one distance query at
// the centre of each block of voxels: the distance is 1-Lipschitz, so a voxel whose distance from
// the centre is less than the centre's distance minus the reach is beyond reach (its query would
// miss), and a centre farther than reach + the block's half-diagonal rules out the whole block.
struct FarBlocks {
  Vec3d origin;  // min corner of block (0, 0, 0), mm
  Vec3d size;    // block edge lengths, mm
  Vec3d inv_size;
  int nx = 0, ny = 0, nz = 0;
  std::vector<float> centre_distance;  // a lower bound of the centre's distance to the surface (+inf: beyond)
  double reach = 0;                    // with a margin for rounding

  float centre(int axis, int b) const {
    const double o[3] = {origin.x, origin.y, origin.z}, sz[3] = {size.x, size.y, size.z};
    return static_cast<float>(o[axis] + (b + 0.5) * sz[axis]);
  }
  // Any block would do for the test (the bound holds from any centre), so the block is found with
  // reciprocals: a lane on a block's face may land in either neighbour.
  bool is_far(float x, float y, float z) const {
    const double fx = (x - origin.x) * inv_size.x, fy = (y - origin.y) * inv_size.y, fz = (z - origin.z) * inv_size.z;
    if (!(fx >= 0 && fy >= 0 && fz >= 0)) return false;
    const auto bx = static_cast<int>(fx), by = static_cast<int>(fy), bz = static_cast<int>(fz);
    if (bx >= nx || by >= ny || bz >= nz) return false;
    const float d = centre_distance[(static_cast<std::size_t>(bz) * ny + by) * nx + bx];
    if (!(d < std::numeric_limits<float>::infinity())) return true;
    if (!(d > reach)) return false;  // d - |p - c| > reach cannot hold (most blocks near the surface)
    const double dx = x - double(centre(0, bx)), dy = y - double(centre(1, by)), dz = z - double(centre(2, bz));
    return d - std::sqrt(dx * dx + dy * dy + dz * dz) > reach;
  }
};

// The volume phase's host: the shape's textures and, per slab, the nearest-point index of the
// surface within reach. Without an index (no surface within reach of the slab) every query
// misses; lanes in far blocks miss without a search, exactly as the search would have.
class SlabHost final : public openfl::TextureHost {
 public:
  explicit SlabHost(std::vector<openfl::Texture> textures) : openfl::TextureHost(std::move(textures)) {}
  void set_index(const SurfaceIndex* index, const FarBlocks* far = nullptr) {
    index_ = index;
    far_ = far;
  }
  void surface_query(std::size_t n, const float* const xyz[3], float* const* columns, int column_count) const override {
    if (index_ != nullptr && far_ == nullptr) {
      search(n, xyz, columns, column_count);
      return;
    }
    // Scratch kept per thread (a call per row and shape: allocating each time shows in profiles).
    thread_local std::vector<std::uint32_t> near;
    thread_local std::vector<float> in, out;
    thread_local std::vector<float*> sub_cols;
    near.clear();
    if (index_ != nullptr) {
      for (std::size_t i = 0; i < n; ++i) {
        if (!far_->is_far(xyz[0][i], xyz[1][i], xyz[2][i])) near.push_back(static_cast<std::uint32_t>(i));
      }
    }
    const float nan = std::numeric_limits<float>::quiet_NaN();
    for (int c = 0; c < column_count; ++c) {
      if (columns[c] == nullptr) continue;
      std::fill(columns[c], columns[c] + n,
                c == openfl::kQuerySignedDistance ? -std::numeric_limits<float>::infinity() : nan);
    }
    if (near.empty()) return;
    if (near.size() == n) {
      search(n, xyz, columns, column_count);
      return;
    }
    // Gather the near lanes, query them, scatter the answers.
    const std::size_t m = near.size();
    in.resize(3 * m);
    out.resize(static_cast<std::size_t>(column_count) * m);
    for (std::size_t q = 0; q < m; ++q) {
      for (int a = 0; a < 3; ++a) in[a * m + q] = xyz[a][near[q]];
    }
    const float* sub_xyz[3] = {in.data(), in.data() + m, in.data() + 2 * m};
    sub_cols.assign(static_cast<std::size_t>(column_count), nullptr);
    for (int c = 0; c < column_count; ++c)
      sub_cols[c] = columns[c] ? out.data() + static_cast<std::size_t>(c) * m : nullptr;
    search(m, sub_xyz, sub_cols.data(), column_count);
    for (int c = 0; c < column_count; ++c) {
      if (!columns[c]) continue;
      for (std::size_t q = 0; q < m; ++q) columns[c][near[q]] = sub_cols[c][q];
    }
  }
  // Lanes searched (not culled by the far blocks) and the thread time the searches took, since the
  // last call; for the report, where a search change can be measured without the rest of the job.
  std::pair<std::uint64_t, double> take_search_counts() {
    return {searched_.exchange(0), static_cast<double>(search_ns_.exchange(0)) * 1e-9};
  }

 private:
  void search(std::size_t n, const float* const xyz[3], float* const* columns, int column_count) const {
    const auto t0 = Clock::now();
    index_->query(n, xyz, columns, column_count);
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
    search_ns_.fetch_add(static_cast<std::uint64_t>(ns), std::memory_order_relaxed);
    searched_.fetch_add(n, std::memory_order_relaxed);
  }
  const SurfaceIndex* index_ = nullptr;
  const FarBlocks* far_ = nullptr;
  mutable std::atomic<std::uint64_t> searched_{0}, search_ns_{0};
};

// A group of base triangles tessellated together (one call, so its micropolygons never depend on
// what else is cached).
struct Patch {
  std::vector<std::uint32_t> triangles;
  double zmin = kInf, zmax = -kInf;
  double ymin = kInf, ymax = -kInf;
  std::size_t micropolygons = 0;  // at most what tessellation makes: n^2 per triangle, n = max n_e
};

// Patches for banded slabs group base triangles by cells of this size in z and y (then along x),
// so that a band of rows needs only the patches near it.
constexpr double kBandPatchCellMm = 0.5;

// The patches a shape needs for layers [k0, k1) of a slab and rows [ja, jb) of the job grid: those
// reaching the voxelizer's range (carry: the centres of the shape's layers there, from the layer
// below, whose winding numbers are carried, and of its rows there) and, for a shape with surface
// queries, those within its reach of the slab and rows (query). One definition for the plan's
// estimate and the slab loop. Rows covering all of the shape's leave y unbounded.
struct PatchWindow {
  double carry_z[2], query_z[2];
  double carry_y[2] = {-kInf, kInf}, query_y[2] = {-kInf, kInf};
  bool queries = false;
  static bool meets(double lo, double hi, const double (&range)[2]) { return hi >= range[0] && lo <= range[1]; }
  bool carry(const Patch& p) const { return meets(p.zmin, p.zmax, carry_z) && meets(p.ymin, p.ymax, carry_y); }
  bool query(const Patch& p) const {
    return queries && meets(p.zmin, p.zmax, query_z) && meets(p.ymin, p.ymax, query_y);
  }
  // Wholly below both ranges (slabs go up: no later slab needs it).
  bool below(const Patch& p) const { return p.zmax < carry_z[0] && (!queries || p.zmax < query_z[0]); }
};
PatchWindow patch_window(const Grid& g, const ShapePlan& p, int k0, int k1, int ja, int jb) {
  PatchWindow w;
  w.queries = p.surface_queries;
  const int a = std::max(k0, p.k0), b = std::min(k1, p.k1);
  w.carry_z[0] = g.origin.z + (a - 0.5) * g.dz;
  w.carry_z[1] = g.origin.z + (b - 0.5) * g.dz;
  const double reach = p.surface_queries ? p.reach_mm : -kInf;
  const double z_lo = g.origin.z + (k0 + 0.5) * g.dz, z_hi = g.origin.z + (k1 - 0.5) * g.dz;
  w.query_z[0] = z_lo - 0.5 * g.dz - reach;
  w.query_z[1] = z_hi + 0.5 * g.dz + reach;
  if (ja > p.j0 || jb < p.j1) {
    const int r0 = std::max(ja, p.j0), r1 = std::min(jb, p.j1);
    w.carry_y[0] = g.origin.y + (r0 + 0.5) * g.dy;
    w.carry_y[1] = g.origin.y + (r1 - 0.5) * g.dy;
    const double y_reach = p.surface_queries ? p.reach_mm : 0.0;
    w.query_y[0] = w.carry_y[0] - y_reach;
    w.query_y[1] = w.carry_y[1] + y_reach;
  }
  return w;
}

// Resident bytes per micropolygon while a slab uses it (out columns add 4 bytes per vertex,
// about 0.55 vertices per micropolygon): in the cache (positions, normals, outs, indices, and for
// a shape with surface queries the patch's nearest-point hierarchy), and transiently in the
// voxelizer: the mesh copy (a triangle and about 0.55 positions, 19 bytes) and the projected
// triangles (about 120 bytes), which it keeps only for micropolygons whose x and y ranges each
// hold a column centre. Micropolygons are half a column wide, so few do: measured 4.9% on the
// creature benchmark and 1.8% on a flat plate; a quarter is allowed.
double cache_bytes_per_micropolygon(int outs, bool indexed) {
  return indexed ? kSurfacePartBytesPerTriangle + kSurfacePartBytesPerAttribute * outs : 32 + 2.2 * outs;
}
// The meshes' in-memory part in a `meshes` output (make_output_sinks): a sixteenth of the budget,
// 4 to 64 MiB (more buys little: the writers read spilled meshes in order).
std::size_t mesh_sink_memory(std::size_t budget) {
  return std::clamp(budget / 16, std::size_t{4} << 20, std::size_t{64} << 20);
}

double transient_bytes_per_micropolygon(int outs) { return 19 + 0.25 * 120 + 2.2 * outs; }

struct Shape {
  ShapePlan plan;
  Mesh mesh;  // placed in printer coordinates
  std::shared_ptr<const openfl::Program> program;
  std::vector<int> slots;         // material slot -> printer material
  std::vector<int> dither_slots;  // material slot -> dithered material (VoxelJob::Impl::dithered)
  std::shared_ptr<const openfl::Kernel> volume, surface;
  std::unique_ptr<SlabHost> host;
  std::unique_ptr<BaseMesh> base;            // surface phase only
  std::vector<Patch> patches;                // surface phase only, by zmin (or banded cells)
  std::vector<BoundingBox> boxes;            // surface phase: displaced box per base triangle
  std::unique_ptr<MeshVoxelizer> voxelizer;  // no surface phase: the whole base mesh, indexed once
  std::unique_ptr<SurfaceIndex> base_index;  // no surface phase, with queries: built on first use
  Grid grid;                                 // the shape's window of the job grid (all layers)
  std::vector<std::int32_t> winding;         // surface phase: carried winding numbers
};

std::size_t mesh_bytes(const Mesh& m) {
  return m.vertices.size() * sizeof(Vec3f) + m.triangles.size() * sizeof(Triangle);
}

std::size_t micropolygon_bytes(const Micropolygons& mp) {
  const SurfaceMesh& s = mp.surface;
  return s.positions.size() * (2 * sizeof(Vec3f)) + s.attributes.size() * sizeof(float) +
         s.triangles.size() * (sizeof(Triangle) + sizeof(std::uint32_t));
}

// Base edges longer than this are bisected first (bisect_long_edges), so that patches (and the
// micropolygons a slab needs) stay small whatever the input's triangle sizes (a box face is one
// triangle), and slivers are tessellated by their area, not by the square of their length.
constexpr double kDiceEdgeMm = 1.0;

}  // namespace

struct VoxelJob::Impl {
  World world;
  PipelineOptions options;
  JobPlan plan;
  std::vector<Shape> shapes;              // in priority order (highest first, then world order)
  std::vector<std::int32_t> support_top;  // per support block: first layer above every shape there
  int support_bx = 0, support_by = 0;
  double setup_s = 0;
  double micro_edge_mm = 0;
  float query_tolerance_mm = 0;
  // The printer materials that some shape's slots or the support can take, in material order: only
  // these are dithered (a material no voxel can take never wins and carries no error, so leaving it
  // out changes nothing but the cost). Dithered index d is printer material dithered[d].
  std::vector<int> dithered;
  int dithered_support = -1;

  // A tessellated patch: its micropolygons, or for a shape with surface queries the same as a
  // nearest-point part (built once, shared by the indexes of every slab whose band it reaches).
  struct CacheEntry {
    std::shared_ptr<const Micropolygons> micro;
    std::shared_ptr<const SurfacePart> part;
    std::size_t bytes = 0;
    std::uint64_t last_use = 0;
    const SurfaceMesh& surface() const { return part ? part->mesh() : micro->surface; }
  };
  std::map<std::pair<int, int>, CacheEntry> cache;  // (shape, patch)
  std::size_t cache_bytes = 0;

  void setup(RunContext* context);
  void make_plan();
  void form_patches(Shape& shape, bool banded) const;
  void build_support();
  void run_slab(int k0, int k1, std::vector<Slice>& slices, JobStats& stats);
  // Drops the cached patches that `gone(key)` says nothing later needs, then the least recently
  // used ones not used since `stamp` until `incoming` more bytes fit the cache's size.
  template <class Gone>
  void evict(std::size_t incoming, Gone&& gone);
  void evict(std::size_t incoming) {
    evict(incoming, [](const std::pair<int, int>&) { return false; });
  }
  std::uint64_t stamp = 0;  // the cache's clock: one tick per band of rows of a slab
};

void VoxelJob::Impl::setup(RunContext* context) {
  const auto t0 = Clock::now();
  const PrinterSpec& printer = world.printer;
  const std::vector<Mesh> meshes = load_meshes(world);
  const std::vector<ShapeFablet> fablets = compile_fablets(world);
  micro_edge_mm = 0.5 * printer.dx_mm();
  query_tolerance_mm = static_cast<float>(options.query_tolerance_voxels *
                                          std::min({printer.dx_mm(), printer.dy_mm(), printer.dz_mm()}));

  shapes.resize(world.shapes.size());
  auto body = [&] {
    for (std::size_t s = 0; s < world.shapes.size(); ++s) {
      const ShapeSpec& spec = world.shapes[s];
      Shape& shape = shapes[s];
      shape.plan.name = spec.name;
      shape.plan.priority = spec.priority;
      shape.mesh = transform_mesh(meshes[static_cast<std::size_t>(spec.mesh)], spec.transform);
      shape.plan.base_triangles = shape.mesh.triangles.size();
      const ShapeFablet& fab = fablets[s];
      shape.program = fab.program;
      shape.slots = fab.material_slots;
      shape.plan.reach_mm = spec.surface_reach_mm.value_or(kInf);
      if (!shape.program) {
        shape.plan.fill = "material " + printer.materials[static_cast<std::size_t>(spec.material)].name;
      } else {
        shape.plan.fill = spec.fablet.filename().string();
        shape.volume = shape.program->kernel(openfl::Phase::volume, fab.values);
        shape.plan.surface_queries = shape.volume->query_count > 0;
        shape.plan.surface_phase = shape.program->has_phase(openfl::Phase::surface);
        std::vector<openfl::Texture> textures;
        for (int t = 0; t < shape.program->texture_count(); ++t) {
          const std::string& path = fab.values.texts[static_cast<std::size_t>(shape.program->texture_uniform(t))];
          textures.push_back(openfl::Texture::load(path, fab.texture_wraps[static_cast<std::size_t>(t)]));
        }
        shape.host = std::make_unique<SlabHost>(std::move(textures));
      }
      // Bounds: per base triangle, displaced when there is a surface phase.
      std::vector<BoundingBox> boxes;
      bool any = false;
      BoundingBox bounds{{kInf, kInf, kInf}, {-kInf, -kInf, -kInf}};
      if (shape.plan.surface_phase) {
        shape.surface = shape.program->kernel(openfl::Phase::surface, fab.values);
        const MeshSpec& mesh_spec = world.meshes[static_cast<std::size_t>(spec.mesh)];
        std::vector<VertexAttribute> attributes;
        if (mesh_spec.uv != UvProjection::none) {
          attributes.push_back({"uv", 2, uv_coordinates(meshes[static_cast<std::size_t>(spec.mesh)], mesh_spec.uv)});
        }
        shape.base =
            std::make_unique<BaseMesh>(bisect_long_edges(BaseMesh(shape.mesh, std::move(attributes)), kDiceEdgeMm));
        shape.mesh = shape.base->mesh();
        DisplacementBounds db =
            displacement_bounds(*shape.base, *shape.program, *shape.surface, *shape.host, spec.displacement_bound_mm);
        if (!db.finite) {
          throw input_error(world.source + ": shapes '" + spec.name + "': the displacement of fablet " +
                            shape.plan.fill +
                            " cannot be bounded (interval analysis gives an infinite bound); give the shape a "
                            "displacement_bound_mm");
        }
        boxes = std::move(db.triangles);
      } else {
        boxes.reserve(shape.mesh.triangles.size());
        for (const Triangle& t : shape.mesh.triangles) boxes.push_back(triangle_box(shape.mesh, t));
      }
      for (std::size_t t = 0; t < boxes.size(); ++t) {
        if (shape.plan.surface_phase && is_degenerate_triangle(shape.mesh, static_cast<std::uint32_t>(t))) continue;
        grow(bounds, boxes[t]);
        any = true;
      }
      if (!any) throw input_error(world.source + ": shapes '" + spec.name + "': the mesh has no triangles with area");
      shape.plan.bounds = bounds;
      if (shape.plan.surface_queries && options.infer_reach) {
        shape.plan.reach_inferred_mm = query_saturation_mm(*shape.volume, *shape.host, bounds, shape.plan.reach_mm);
        shape.plan.reach_mm = std::min(shape.plan.reach_mm, shape.plan.reach_inferred_mm);
      }
      const Vec3d& bv = printer.build_volume_mm;
      const double tol = 1e-6;
      if (bounds.min.x < -tol || bounds.min.y < -tol || bounds.min.z < -tol || bounds.max.x > bv.x + tol ||
          bounds.max.y > bv.y + tol || bounds.max.z > bv.z + tol) {
        throw input_error(world.source + ": shapes '" + spec.name + "' spans " + format_box(bounds) +
                          ", outside the build volume (0, 0, 0) .. (" + format_mm(bv.x) + ", " + format_mm(bv.y) +
                          ", " + format_mm(bv.z) + ") mm; move it with its transform");
      }
      if (shape.plan.surface_phase) {
        shape.boxes = std::move(boxes);
        form_patches(shape, false);
      }
    }
  };
  if (context)
    context->run(body);
  else
    body();

  // Priority order: highest first, then world order (stable).
  std::stable_sort(shapes.begin(), shapes.end(),
                   [](const Shape& a, const Shape& b) { return a.plan.priority > b.plan.priority; });
  make_plan();
  for (Shape& s : shapes) s.boxes = {};  // only needed to group the patches
  build_support();
  setup_s = seconds_since(t0);
}

// Patches: base triangles in fixed groups, by the bottom of their displaced box (slabs take
// the surface as rings), or for banded slabs by cells of kBandPatchCellMm in z, then y, then by x.
void VoxelJob::Impl::form_patches(Shape& shape, bool banded) const {
  const std::vector<BoundingBox>& boxes = shape.boxes;
  std::vector<std::uint32_t> order;
  for (std::uint32_t t = 0; t < boxes.size(); ++t) {
    if (!is_degenerate_triangle(shape.mesh, t)) order.push_back(t);
  }
  if (!banded) {
    std::stable_sort(order.begin(), order.end(),
                     [&](std::uint32_t a, std::uint32_t b) { return boxes[a].min.z < boxes[b].min.z; });
  } else {
    auto cell = [](double v) { return std::floor(v / kBandPatchCellMm); };
    std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
      const BoundingBox &ba = boxes[a], &bb = boxes[b];
      return std::tuple(cell(ba.min.z), cell(ba.min.y), ba.min.x) <
             std::tuple(cell(bb.min.z), cell(bb.min.y), bb.min.x);
    });
  }
  shape.patches.clear();
  const std::size_t per = static_cast<std::size_t>(std::max(1, options.patch_triangles));
  for (std::size_t p = 0; p < order.size(); p += per) {
    Patch patch;
    for (std::size_t q = p; q < std::min(order.size(), p + per); ++q) {
      const Triangle& tri = shape.mesh.triangles[order[q]];
      double longest = 0;
      for (int k = 0; k < 3; ++k) {
        longest = std::max(
            longest, length(to_double(shape.mesh.vertices[tri[k]]) - to_double(shape.mesh.vertices[tri[(k + 1) % 3]])));
      }
      const auto n = static_cast<std::size_t>(std::max(1.0, std::ceil(longest / micro_edge_mm)));
      patch.micropolygons += n * n;
      patch.triangles.push_back(order[q]);
      const BoundingBox& b = boxes[order[q]];
      patch.zmin = std::min(patch.zmin, b.min.z);
      patch.zmax = std::max(patch.zmax, b.max.z);
      patch.ymin = std::min(patch.ymin, b.min.y);
      patch.ymax = std::max(patch.ymax, b.max.y);
    }
    shape.patches.push_back(std::move(patch));
  }
}

void VoxelJob::Impl::make_plan() {
  const PrinterSpec& printer = world.printer;
  Grid g;
  g.dx = printer.dx_mm();
  g.dy = printer.dy_mm();
  g.dz = printer.dz_mm();
  BoundingBox all{{kInf, kInf, kInf}, {-kInf, -kInf, -kInf}};
  for (const Shape& s : shapes) grow(all, s.plan.bounds);
  const int tray_nx = static_cast<int>(std::floor(printer.build_volume_mm.x / g.dx + 1e-9));
  const int tray_ny = static_cast<int>(std::floor(printer.build_volume_mm.y / g.dy + 1e-9));
  const int tray_nz = static_cast<int>(std::floor(printer.build_volume_mm.z / g.dz + 1e-9));
  // Voxels whose centre may lie in [lo, hi]: centre (i + 0.5) d in [lo, hi], padded by one
  // voxel so that rounding never drops a centre lying exactly on a bound.
  auto first = [](double lo, double d) { return static_cast<int>(std::ceil(lo / d - 0.5)) - 1; };
  auto last = [](double hi, double d) { return static_cast<int>(std::floor(hi / d - 0.5)) + 1; };
  const int i0 = std::max(0, first(all.min.x, g.dx)), i1 = std::min(tray_nx, last(all.max.x, g.dx) + 1);
  const int j0 = std::max(0, first(all.min.y, g.dy)), j1 = std::min(tray_ny, last(all.max.y, g.dy) + 1);
  const int k1 = std::min(tray_nz, last(all.max.z, g.dz) + 1);
  const int k0 = printer.support >= 0 ? 0 : std::max(0, first(all.min.z, g.dz));
  g.nx = std::max(0, i1 - i0);
  g.ny = std::max(0, j1 - j0);
  g.nz = std::max(0, k1 - k0);
  g.origin = {i0 * g.dx, j0 * g.dy, k0 * g.dz};
  if (g.nx == 0 || g.ny == 0 || g.nz == 0) {
    throw input_error(world.source + ": the shapes hold no voxel centre at this resolution (bounds " + format_box(all) +
                      ")");
  }
  plan.grid = g;
  plan.first_layer = k0;
  plan.support = printer.support;
  std::vector<char> used(printer.materials.size(), 0);
  for (const Shape& s : shapes) {
    for (int m : s.slots) used[static_cast<std::size_t>(m)] = 1;
  }
  if (plan.support >= 0) used[static_cast<std::size_t>(plan.support)] = 1;
  dithered.clear();
  std::vector<int> dithered_of(printer.materials.size(), -1);
  for (std::size_t m = 0; m < used.size(); ++m) {
    if (!used[m]) continue;
    dithered_of[m] = static_cast<int>(dithered.size());
    dithered.push_back(static_cast<int>(m));
  }
  if (dithered.empty()) dithered.push_back(0);  // no shape takes a material: every voxel is void
  for (Shape& s : shapes) {
    s.dither_slots.clear();
    for (int m : s.slots) s.dither_slots.push_back(dithered_of[static_cast<std::size_t>(m)]);
  }
  dithered_support = plan.support >= 0 ? dithered_of[static_cast<std::size_t>(plan.support)] : -1;

  std::size_t fixed = 0;
  for (Shape& s : shapes) {
    ShapePlan& p = s.plan;
    p.i0 = std::clamp(first(p.bounds.min.x, g.dx) - i0, 0, g.nx);
    p.i1 = std::clamp(last(p.bounds.max.x, g.dx) + 1 - i0, p.i0, g.nx);
    p.j0 = std::clamp(first(p.bounds.min.y, g.dy) - j0, 0, g.ny);
    p.j1 = std::clamp(last(p.bounds.max.y, g.dy) + 1 - j0, p.j0, g.ny);
    p.k0 = std::clamp(first(p.bounds.min.z, g.dz) - k0, 0, g.nz);
    p.k1 = std::clamp(last(p.bounds.max.z, g.dz) + 1 - k0, p.k0, g.nz);
    s.grid = g;
    s.grid.origin = {(i0 + p.i0) * g.dx, (j0 + p.j0) * g.dy, g.origin.z};
    s.grid.nx = p.i1 - p.i0;
    s.grid.ny = p.j1 - p.j0;
    const std::size_t columns = static_cast<std::size_t>(s.grid.nx) * static_cast<std::size_t>(s.grid.ny);
    // Runs (offsets + about one run per column, twice for vector growth) and, for carried
    // shapes, two winding arrays.
    fixed +=
        columns * 2 * (sizeof(std::uint32_t) + sizeof(LayerRun) + (p.surface_phase ? 2 * sizeof(std::int32_t) : 0));
    fixed += mesh_bytes(s.mesh) * (p.surface_phase ? 3 : 4);  // mesh, voxelizer index or base mesh + bounds
    if (p.surface_queries && !p.surface_phase) fixed += s.mesh.triangles.size() * 96;  // nearest index
  }
  const std::size_t slice = g.slice_voxels();
  const std::size_t support_cells = static_cast<std::size_t>((g.nx + kSupportBlock - 1) / kSupportBlock) *
                                    ((g.ny + kSupportBlock - 1) / kSupportBlock);
  fixed += support_cells * sizeof(std::int32_t);
  // Per thread, for each layer of its run: a row of weights over the dithered materials, a row of
  // owners and ownership lists, and the volume batch's lanes (position, voxel, outputs) for the
  // row; per slab layer, its ditherer's two rows of errors (kept across the slab's bands).
  const std::size_t materials = dithered.size();
  std::size_t outputs = 1;
  for (const Shape& s : shapes) {
    if (s.volume) outputs = std::max(outputs, static_cast<std::size_t>(s.volume->output_count));
  }
  auto threads_bytes = [&](int layers) {
    const auto run = static_cast<std::size_t>(layer_run(layers));
    const std::size_t per_thread =
        static_cast<std::size_t>(g.nx) * run * (materials * sizeof(float) + 16 + 4 * (4 + outputs)) + (2u << 20);
    const std::size_t ditherers = static_cast<std::size_t>(layers) * (g.nx + 2) * materials * sizeof(float) * 2;
    return per_thread * 2 + ditherers;  // this machine's threads (two cores); more threads add theirs
  };
  fixed += kProcessBaseBytes;
  plan.budget_bytes = options.memory_budget_bytes ? options.memory_budget_bytes : world.memory_budget_mb << 20;
  // A `meshes` output holds its meshes' in-memory part and the marching cubes' two padded slices
  // and edge-vertex maps (a few bytes per voxel of a slice, bounded by four) meanwhile.
  if (!world.output.meshes.empty()) {
    fixed += mesh_sink_memory(plan.budget_bytes) +
             static_cast<std::size_t>(g.nx + 2) * static_cast<std::size_t>(g.ny + 2) * 4;
  }
  // Micropolygon memory of the busiest slab (or band of rows of a slab) for a slab height and
  // band: the patches each needs (carry range and query band, as run_slab picks them), priced per
  // micropolygon.
  // What a slab height and band need: the busiest slab's (or band's) micropolygons in the cache and
  // in the voxelizer, and all of it in bytes.
  struct Need {
    double cache = 0, transient = 0, bytes = kInf;
  };
  auto need_for = [&](int layers, int rows) {
    Need need;
    for (int s0 = 0; s0 < g.nz; s0 += layers) {
      const int s1 = std::min(g.nz, s0 + layers);
      for (int ja = 0; ja < g.ny; ja += rows) {
        const int jb = std::min(g.ny, ja + rows);
        double cache_now = 0, transient_now = 0;
        for (const Shape& s : shapes) {
          if (!s.plan.surface_phase || s.plan.k1 <= s0 || s.plan.k0 >= s1 || s.plan.j1 <= ja || s.plan.j0 >= jb)
            continue;
          const PatchWindow window = patch_window(g, s.plan, s0, s1, ja, jb);
          const int outs = s.program->out_columns();
          for (const Patch& patch : s.patches) {
            const bool carry = window.carry(patch);
            if (!carry && !window.query(patch)) continue;
            cache_now +=
                static_cast<double>(patch.micropolygons) * cache_bytes_per_micropolygon(outs, s.plan.surface_queries);
            // Only the carried patches pass through the voxelizer.
            if (carry)
              transient_now += static_cast<double>(patch.micropolygons) * transient_bytes_per_micropolygon(outs);
          }
        }
        need.cache = std::max(need.cache, cache_now);
        need.transient = std::max(need.transient, transient_now);
      }
    }
    need.bytes = static_cast<double>(fixed + threads_bytes(layers)) + static_cast<double>(slice) * layers +
                 1.25 * need.cache + need.transient;
    return need;
  };
  auto next_layers = [](int layers) { return layers > 8 ? layers * 3 / 4 : layers - 1; };
  // The tallest slab (up to max_slab_layers) whose slices and micropolygons fit the budget.
  const int max_layers = std::max(1, std::min(options.max_slab_layers, g.nz));
  const auto budget = static_cast<double>(plan.budget_bytes);
  Need chosen;
  plan.slab_layers = 1;
  plan.band_rows = g.ny;
  bool fits = false;
  for (int layers = max_layers; layers >= 1; layers = next_layers(layers)) {
    chosen = need_for(layers, g.ny);
    fits = chosen.bytes <= budget;
    if (fits || layers == 1) {
      plan.slab_layers = layers;
      break;
    }
  }
  // When no slab fits (a flat part's whole displaced face lies within every slab's reach), slabs
  // are walked in bands of rows, each tessellating and indexing only the surface near it: the
  // patches are regrouped by cells in z and y, and the tallest slab, then the most rows, that
  // fit are taken (taller slabs: fewer passes over the surface, whose patches each band of the
  // next slab would tessellate again).
  bool any_surface = false;
  for (const Shape& s : shapes) any_surface = any_surface || s.plan.surface_phase;
  if (!fits && any_surface && g.ny > kMinBandRows) {
    for (Shape& s : shapes) {
      if (s.plan.surface_phase) form_patches(s, true);
    }
    auto next_rows = [](int rows) { return std::max(kMinBandRows, rows * 3 / 4); };
    // None fits: the least memory (the taller slab, then more rows, on a tie).
    plan.slab_layers = 1;
    plan.band_rows = kMinBandRows;
    chosen = Need{};
    bool banded_fits = false;
    for (int layers = std::min(max_layers, kMaxBandedSlabLayers); layers >= 1 && !banded_fits;
         layers = next_layers(layers)) {
      // Slices alone over the budget: no band helps at this height.
      if (static_cast<double>(fixed + threads_bytes(layers)) + static_cast<double>(slice) * layers > budget) continue;
      for (int rows = next_rows(g.ny);; rows = next_rows(rows)) {
        const Need need = need_for(layers, rows);
        banded_fits = need.bytes <= budget;
        if (banded_fits || need.bytes < chosen.bytes) {
          chosen = need;
          plan.slab_layers = layers;
          plan.band_rows = rows;
        }
        if (banded_fits || rows == kMinBandRows) break;
      }
    }
    if (!(chosen.bytes < kInf)) chosen = need_for(plan.slab_layers, plan.band_rows);  // every height over on slices
  }
  const double cache_part = chosen.cache, transient_part = chosen.transient;
  // The cache holds the busiest slab's patches with a quarter to spare for reuse across slabs.
  plan.cache_bytes = cache_part > 0 ? std::max<std::size_t>(static_cast<std::size_t>(1.25 * cache_part), 16u << 20) : 0;
  plan.slab_count = (g.nz + plan.slab_layers - 1) / plan.slab_layers;
  plan.estimated_bytes = fixed + threads_bytes(plan.slab_layers) + plan.cache_bytes +
                         static_cast<std::size_t>(transient_part) + slice * static_cast<std::size_t>(plan.slab_layers);
  plan.shapes.clear();
  for (const Shape& s : shapes) plan.shapes.push_back(s.plan);
}

void VoxelJob::Impl::build_support() {
  if (plan.support < 0) return;
  const Grid& g = plan.grid;
  support_bx = (g.nx + kSupportBlock - 1) / kSupportBlock;
  support_by = (g.ny + kSupportBlock - 1) / kSupportBlock;
  support_top.assign(static_cast<std::size_t>(support_bx) * support_by, 0);
  for (const Shape& s : shapes) {
    // Displaced bounds per triangle are not kept; the patches' triangles plus the shape's
    // displacement grow would do, but a base triangle's own box grown by the shape's overall
    // displacement margin is simpler and still conservative.
    const BoundingBox& sb = s.plan.bounds;
    BoundingBox base_all{{kInf, kInf, kInf}, {-kInf, -kInf, -kInf}};
    for (const Triangle& t : s.mesh.triangles) grow(base_all, triangle_box(s.mesh, t));
    const double margin =
        s.plan.surface_phase
            ? std::max({base_all.min.x - sb.min.x, base_all.min.y - sb.min.y, base_all.min.z - sb.min.z,
                        sb.max.x - base_all.max.x, sb.max.y - base_all.max.y, sb.max.z - base_all.max.z, 0.0})
            : 0.0;
    for (const Triangle& t : s.mesh.triangles) {
      BoundingBox b = triangle_box(s.mesh, t);
      b.min = b.min - Vec3d{margin, margin, margin};
      b.max = b.max + Vec3d{margin, margin, margin};
      const int ci0 = std::max(0, static_cast<int>(std::floor((b.min.x - g.origin.x) / g.dx - 0.5)));
      const int ci1 = std::min(g.nx - 1, static_cast<int>(std::ceil((b.max.x - g.origin.x) / g.dx - 0.5)));
      const int cj0 = std::max(0, static_cast<int>(std::floor((b.min.y - g.origin.y) / g.dy - 0.5)));
      const int cj1 = std::min(g.ny - 1, static_cast<int>(std::ceil((b.max.y - g.origin.y) / g.dy - 0.5)));
      if (ci0 > ci1 || cj0 > cj1) continue;
      // Layers whose centre may be at or below max z: k <= (max z - origin) / dz - 0.5.
      const int top = std::min(g.nz, static_cast<int>(std::floor((b.max.z - g.origin.z) / g.dz - 0.5)) + 1);
      for (int by = cj0 / kSupportBlock; by <= cj1 / kSupportBlock; ++by) {
        for (int bx = ci0 / kSupportBlock; bx <= ci1 / kSupportBlock; ++bx) {
          std::int32_t& cell = support_top[static_cast<std::size_t>(by) * support_bx + bx];
          cell = std::max(cell, top);
        }
      }
    }
  }
}

template <class Gone>
void VoxelJob::Impl::evict(std::size_t incoming, Gone&& gone) {
  std::size_t freed = 0;
  for (auto it = cache.begin(); it != cache.end();) {
    if (!gone(it->first)) {
      ++it;
      continue;
    }
    cache_bytes -= it->second.bytes;
    freed += it->second.bytes;
    it = cache.erase(it);
  }
  if (cache_bytes + incoming > plan.cache_bytes) {
    std::vector<std::pair<std::uint64_t, std::pair<int, int>>> by_age;
    for (const auto& [key, e] : cache) {
      if (e.last_use < stamp) by_age.push_back({e.last_use, key});
    }
    std::sort(by_age.begin(), by_age.end());
    for (const auto& [use, key] : by_age) {
      if (cache_bytes + incoming <= plan.cache_bytes) break;
      const std::size_t bytes = cache.at(key).bytes;
      cache_bytes -= bytes;
      freed += bytes;
      cache.erase(key);
    }
  }
#if defined(__GLIBC__)
  // Patches are freed and made in every thread's malloc arena; without giving the freed pages
  // back, the next band's patches land beside them and resident memory creeps past the budget
  // (measured on the lenses: 1020 MiB peak against 835 MiB with this, under a 1 GiB budget).
  if (freed >= (std::size_t{16} << 20)) malloc_trim(0);
#endif
}

void VoxelJob::Impl::run_slab(int k0, int k1, std::vector<Slice>& slices, JobStats& stats) {
  const Grid& g = plan.grid;
  const int M = static_cast<int>(world.printer.materials.size());
  const int D = static_cast<int>(dithered.size());
  // Dithered index + 1 -> printer material + 1 (0 stays void): the ditherers' output codes.
  std::vector<std::uint8_t> to_material(static_cast<std::size_t>(D) + 1, 0);
  for (int d = 0; d < D; ++d)
    to_material[static_cast<std::size_t>(d) + 1] = static_cast<std::uint8_t>(dithered[static_cast<std::size_t>(d)] + 1);

  // 1-2. Working set and each shape's solid inside the slab.
  struct Active {
    Shape* shape;
    int k0, k1;  // layers of the slab the shape may hold
    SlabRuns runs;
    int row0 = 0;                         // job-grid row of runs' row 0 (runs cover runs.ny rows)
    std::unique_ptr<SurfaceIndex> index;  // per-band index (surface phase)
    FarBlocks far;
  };
  std::vector<Active> active;
  for (Shape& s : shapes) {
    const int a = std::max(k0, s.plan.k0), b = std::min(k1, s.plan.k1);
    if (a >= b || s.grid.nx == 0 || s.grid.ny == 0) continue;
    active.push_back(Active{&s, a, b, {}, s.plan.j0, nullptr, {}});
  }
  // Far blocks of a querying shape with a finite reach (skip the search for deep voxels), over the
  // rows its runs hold; made with the runs and the index.
  auto prepare_far = [&](Active& act) {
    Shape& s = *act.shape;
    const SurfaceIndex* index = s.plan.surface_phase ? act.index.get() : s.base_index.get();
    if (!s.plan.surface_queries || index == nullptr || !std::isfinite(s.plan.reach_mm) || act.runs.ny == 0) return;
    const PhaseTimer t_far;
    FarBlocks& fb = act.far;
    fb.size = {kFarBlock[0] * g.dx, kFarBlock[1] * g.dy, kFarBlock[2] * g.dz};
    fb.inv_size = {1.0 / fb.size.x, 1.0 / fb.size.y, 1.0 / fb.size.z};
    fb.origin = {s.grid.origin.x, s.grid.origin.y + (act.row0 - s.plan.j0) * g.dy, g.origin.z + act.k0 * g.dz};
    fb.nx = (act.runs.nx + kFarBlock[0] - 1) / kFarBlock[0];
    fb.ny = (act.runs.ny + kFarBlock[1] - 1) / kFarBlock[1];
    fb.nz = (act.k1 - act.k0 + kFarBlock[2] - 1) / kFarBlock[2];
    const std::size_t nb = static_cast<std::size_t>(fb.nx) * fb.ny * fb.nz;
    // Only blocks holding inside voxels are worth a query (the volume phase asks at those);
    // the others get distance 0, "never far", which is true of any point.
    std::vector<std::uint8_t> used(nb, 0);
    for (int j = 0; j < act.runs.ny; ++j) {
      for (int i = 0; i < act.runs.nx; ++i) {
        for (const LayerRun& r : act.runs.column(i, j)) {
          for (int bz = (r.begin - act.k0) / kFarBlock[2]; bz <= (r.end - 1 - act.k0) / kFarBlock[2]; ++bz) {
            used[(static_cast<std::size_t>(bz) * fb.ny + j / kFarBlock[1]) * fb.nx + i / kFarBlock[0]] = 1;
          }
        }
      }
    }
    std::vector<std::size_t> block;
    std::vector<float> cx, cy, cz;
    for (int bz = 0; bz < fb.nz; ++bz) {
      for (int by = 0; by < fb.ny; ++by) {
        for (int bx = 0; bx < fb.nx; ++bx) {
          const std::size_t b = (static_cast<std::size_t>(bz) * fb.ny + by) * fb.nx + bx;
          if (!used[b]) continue;
          block.push_back(b);
          cx.push_back(fb.centre(0, bx));
          cy.push_back(fb.centre(1, by));
          cz.push_back(fb.centre(2, bz));
        }
      }
    }
    const double half_diagonal = 0.5 * std::sqrt(fb.size.x * fb.size.x + fb.size.y * fb.size.y + fb.size.z * fb.size.z);
    // The centres' distances up to reach + half-diagonal (+ a margin for float rounding); a
    // distance found with the query tolerance may be that much above the true one.
    const float* xyz[3] = {cx.data(), cy.data(), cz.data()};
    std::vector<float> found(block.size());
    index->distance_within(block.size(), xyz, static_cast<float>((s.plan.reach_mm + half_diagonal) * (1 + 1e-5) + 1e-5),
                           found.data());
    const double tol = index->options().tolerance_mm;
    fb.centre_distance.assign(nb, 0.0f);
    for (std::size_t q = 0; q < block.size(); ++q) {
      float d = found[q];
      if (d < std::numeric_limits<float>::infinity())
        d = static_cast<float>(std::max(0.0, (d - tol) * (1 - 1e-6) - 1e-6));
      fb.centre_distance[block[q]] = d;
    }
    fb.reach = s.plan.reach_mm * (1 + 1e-5) + 1e-5;
    s.host->set_index(index, &fb);
    t_far.add_to(stats.index);
  };

  // Shapes without a surface phase: the whole slab at once, from the base mesh indexed once.
  for (Active& act : active) {
    Shape& s = *act.shape;
    if (!s.plan.surface_phase) {
      const PhaseTimer t_vox;
      if (!s.voxelizer) s.voxelizer = std::make_unique<MeshVoxelizer>(s.mesh, s.grid, Vec3d{0, 0, 0});
      act.runs = s.voxelizer->voxelize(act.k0, act.k1);
      t_vox.add_to(stats.voxelize);
      const PhaseTimer t_index;
      if (s.plan.surface_queries && !s.base_index) {
        SurfaceMesh sm;
        sm.positions = s.mesh.vertices;
        BaseMesh base(s.mesh);
        sm.normals = base.normals();
        sm.attribute_count = s.program->out_columns();
        sm.attributes.assign(sm.positions.size() * static_cast<std::size_t>(sm.attribute_count), 0.0f);
        sm.triangles = s.mesh.triangles;
        SurfaceIndexOptions io;
        io.max_distance_mm = static_cast<float>(s.plan.reach_mm);
        io.miss_distance = -std::numeric_limits<float>::infinity();
        io.known_side = -1;
        io.tolerance_mm = query_tolerance_mm;
        s.base_index = std::make_unique<SurfaceIndex>(std::move(sm), io);
      }
      t_index.add_to(stats.index);
      if (s.host) s.host->set_index(s.base_index.get());
      prepare_far(act);
    }
  }
  // Shapes with a surface phase, per band of rows [ja, jb) (the whole slab unless the plan bands
  // it): the patches reaching the voxelizer's range (carry mode) and the query band, tessellated
  // when not cached; the solid of the band's columns; the query index over the band.
  auto prepare_band = [&](Active& act, int ja, int jb) {
    Shape& s = *act.shape;
    act.runs = SlabRuns{};
    act.index.reset();
    act.far = FarBlocks{};
    act.row0 = std::max(ja, s.plan.j0);
    const int r0 = act.row0 - s.plan.j0, r1 = std::min(jb, s.plan.j1) - s.plan.j0;
    s.host->set_index(nullptr);
    if (r0 >= r1) return;  // no row of the shape in this band
    const PatchWindow patch_range = patch_window(g, s.plan, k0, k1, ja, jb);
    std::vector<int> carry_patches, band_patches, missing;
    const int shape_id = static_cast<int>(&s - shapes.data());
    std::size_t incoming = 0;
    const double per_micro = cache_bytes_per_micropolygon(s.program->out_columns(), s.plan.surface_queries);
    for (int p = 0; p < static_cast<int>(s.patches.size()); ++p) {
      const Patch& patch = s.patches[static_cast<std::size_t>(p)];
      const bool carry = patch_range.carry(patch), band = patch_range.query(patch);
      if (!carry && !band) continue;
      if (carry) carry_patches.push_back(p);
      if (band) band_patches.push_back(p);
      auto it = cache.find({shape_id, p});
      if (it == cache.end()) {
        missing.push_back(p);
        incoming += static_cast<std::size_t>(static_cast<double>(patch.micropolygons) * per_micro);
        ++stats.patch_misses;
      } else {
        it->second.last_use = stamp;
        ++stats.patch_hits;
      }
    }
    // Room for the missing patches first: what this band does not use goes, oldest first.
    evict(incoming);
    // Tessellate the missing patches in parallel, one call per patch.
    const PhaseTimer t_tess;
    std::vector<CacheEntry> made(missing.size());
    parallel_for(0, missing.size(), 1, [&](std::size_t lo, std::size_t hi) {
      SurfaceTessellator tess(s.program, s.surface);
      for (std::size_t q = lo; q < hi; ++q) {
        const Patch& patch = s.patches[static_cast<std::size_t>(missing[q])];
        Micropolygons mp = tess.tessellate(*s.base, patch.triangles, micro_edge_mm, *s.host);
        CacheEntry& e = made[q];
        e.last_use = stamp;
        if (s.plan.surface_queries && !mp.surface.triangles.empty()) {
          e.part = std::make_shared<const SurfacePart>(std::move(mp.surface), SurfacePart::kMicropolygonLeafTriangles);
          e.bytes = e.part->bytes();
        } else {
          e.micro = std::make_shared<const Micropolygons>(std::move(mp));
          e.bytes = micropolygon_bytes(*e.micro);
        }
      }
    });
    for (std::size_t q = 0; q < missing.size(); ++q) {
      CacheEntry& e = made[q];
      stats.micropolygons += e.surface().triangles.size();
      cache_bytes += e.bytes;
      cache.emplace(std::make_pair(shape_id, missing[q]), std::move(e));
    }
    stats.cache_peak_bytes = std::max(stats.cache_peak_bytes, cache_bytes);
    t_tess.add_to(stats.tessellate);
    // The voxelizer's mesh.
    const PhaseTimer t_vox;
    // Only micropolygons whose z-range meets [lo, hi] (the patches are coarser than the slab).
    auto reaches = [](const SurfaceMesh& sm, const Triangle& t, double lo, double hi) {
      const float z0 = sm.positions[t[0]].z, z1 = sm.positions[t[1]].z, z2 = sm.positions[t[2]].z;
      return std::max({z0, z1, z2}) >= lo && std::min({z0, z1, z2}) <= hi;
    };
    // Gathered in parallel, one task per patch: every vertex, the triangles reaching the range.
    Mesh micro;
    {
      const std::size_t np = carry_patches.size();
      std::vector<const SurfaceMesh*> src(np);
      std::vector<std::vector<std::uint8_t>> keep(np);
      std::vector<std::size_t> vfirst(np + 1, 0), tfirst(np + 1, 0);
      for (std::size_t q = 0; q < np; ++q) src[q] = &cache.at({shape_id, carry_patches[q]}).surface();
      parallel_for_each_index(0, np, 1, [&](std::size_t q) {
        const SurfaceMesh& sm = *src[q];
        keep[q].resize(sm.triangles.size());
        std::size_t kept = 0;
        for (std::size_t t = 0; t < sm.triangles.size(); ++t) {
          keep[q][t] = reaches(sm, sm.triangles[t], patch_range.carry_z[0], patch_range.carry_z[1]) ? 1 : 0;
          kept += keep[q][t];
        }
        tfirst[q + 1] = kept;
      });
      for (std::size_t q = 0; q < np; ++q) {
        vfirst[q + 1] = vfirst[q] + src[q]->positions.size();
        tfirst[q + 1] += tfirst[q];
      }
      micro.vertices.resize(vfirst[np]);
      micro.triangles.resize(tfirst[np]);
      parallel_for_each_index(0, np, 1, [&](std::size_t q) {
        const SurfaceMesh& sm = *src[q];
        std::copy(sm.positions.begin(), sm.positions.end(),
                  micro.vertices.begin() + static_cast<std::ptrdiff_t>(vfirst[q]));
        const auto base = static_cast<std::uint32_t>(vfirst[q]);
        std::size_t at = tfirst[q];
        for (std::size_t t = 0; t < sm.triangles.size(); ++t) {
          if (!keep[q][t]) continue;
          const Triangle& tri = sm.triangles[t];
          micro.triangles[at++] = {tri[0] + base, tri[1] + base, tri[2] + base};
        }
      });
    }
    if (s.winding.empty()) s.winding.assign(s.grid.slice_voxels(), 0);
    // The band's window of the shape's columns (on the same lattice, so it snaps identically) and
    // the winding numbers carried in its rows.
    Grid window = s.grid;
    window.origin.y = s.grid.origin.y + r0 * g.dy;
    window.ny = r1 - r0;
    const auto row_first = static_cast<std::ptrdiff_t>(static_cast<std::size_t>(r0) * s.grid.nx);
    const auto row_end = static_cast<std::ptrdiff_t>(static_cast<std::size_t>(r1) * s.grid.nx);
    const std::vector<std::int32_t> below(s.winding.begin() + row_first, s.winding.begin() + row_end);
    SlabOptions so;
    so.winding_below = &below;
    so.keep_winding_top = true;
    {  // freed before the index is built
      const MeshVoxelizer vox(micro, window, Vec3d{0, 0, 0});
      micro = Mesh{};
      act.runs = vox.voxelize(act.k0, act.k1, so);
    }
    std::copy(act.runs.winding_top.begin(), act.runs.winding_top.end(), s.winding.begin() + row_first);
    act.runs.winding_top = {};
    t_vox.add_to(stats.voxelize);
    // The query index over the band.
    const PhaseTimer t_index;
    if (s.plan.surface_queries && !band_patches.empty()) {
      // The band's parts in patch order (which orders ties), shared with the cache.
      std::vector<std::shared_ptr<const SurfacePart>> parts;
      for (int p : band_patches) {
        const CacheEntry& e = cache.at({shape_id, p});
        if (e.part) parts.push_back(e.part);
      }
      SurfaceIndexOptions io;
      io.max_distance_mm = static_cast<float>(s.plan.reach_mm);
      io.miss_distance = -std::numeric_limits<float>::infinity();
      io.known_side = -1;
      io.tolerance_mm = query_tolerance_mm;
      if (!parts.empty()) act.index = std::make_unique<SurfaceIndex>(std::move(parts), io);
    }
    t_index.add_to(stats.index);
    s.host->set_index(act.index.get());
    prepare_far(act);
  };

  // 3-4. Band by band, layers in parallel: ownership, volume phase, dithering. Each layer keeps
  // its slice and ditherer across the bands, which come in row order.
  parallel_for_each_index(0, static_cast<std::size_t>(k1 - k0), 1, [&](std::size_t q) {
    Slice& slice = slices[q];
    slice.k = k0 + static_cast<int>(q);
    slice.width = g.nx;
    slice.height = g.ny;
    slice.material.resize(g.slice_voxels());
  });
  std::vector<Ditherer> ditherers;
  ditherers.reserve(static_cast<std::size_t>(k1 - k0));
  for (int k = k0; k < k1; ++k) ditherers.emplace_back(g.nx, g.ny, D, to_material);
  std::atomic<std::uint64_t> shape_voxels{0}, fablet_voxels{0}, support_voxels{0};
  const auto layer_grain = static_cast<std::size_t>(layer_run(k1 - k0));
  const int band_rows = std::max(1, std::min(plan.band_rows, g.ny));
  // Row j of layer k once its volume phase is done: support for the void voxels below the
  // z-buffer, dithering into the slice, then the row's weights and owners cleared for the next row.
  // `touch` holds the row's owned voxels (n_touch of them) and receives those given support (the
  // two are disjoint, so at most nx in all); `support_blocks`: the row's support blocks whose top
  // lies above the run's first layer (the others hold no support in any layer of the run).
  // Returns the support voxels.
  auto finish_row = [&](Ditherer& ditherer, int k, int j, float* row_weights, std::int16_t* own, int* touch,
                        std::size_t n_touch, std::span<const int> support_blocks) {
    const auto nx = static_cast<std::size_t>(g.nx);
    std::uint8_t* row_out = slices[static_cast<std::size_t>(k - k0)].material.data() + static_cast<std::size_t>(j) * nx;
    std::uint64_t n_support = 0;
    if (plan.support >= 0) {
      const std::int32_t* tops = support_top.data() + static_cast<std::size_t>(j / kSupportBlock) * support_bx;
      // By support block: the columns whose support ends below this layer are skipped together.
      for (const int b : support_blocks) {
        if (k >= tops[b]) continue;
        for (int i = b * kSupportBlock; i < std::min(g.nx, (b + 1) * kSupportBlock); ++i) {
          float* w = row_weights + static_cast<std::size_t>(i) * D;
          if (own[i] < 0) {
            touch[n_touch++] = i;
          } else if (is_void_mixture(w, D)) {  // owned, but the dither would leave it void
            std::fill(w, w + D, 0.0f);
          } else {
            continue;
          }
          w[dithered_support] = 1.0f;
          ++n_support;
        }
      }
    }
    if (n_touch == 0) {
      ditherer.push_void_row(row_out);
      return n_support;
    }
    // Only the span of the touched voxels: the rest of the row is void. The ditherer writes
    // printer material numbers (its codes are to_material).
    const auto [lowest, highest] = std::minmax_element(touch, touch + n_touch);
    ditherer.push_row(row_weights, row_out, *lowest, *highest + 1);
    if (n_touch * 8 > nx) {  // most of the row: clear it all in one go
      std::fill_n(row_weights, nx * D, 0.0f);
      std::fill_n(own, nx, std::int16_t{-1});
    } else {
      for (const int i : std::span<const int>(touch, n_touch)) {
        for (int m = 0; m < D; ++m) row_weights[static_cast<std::size_t>(i) * D + m] = 0.0f;
        own[i] = -1;
      }
    }
    return n_support;
  };
  // Rows [ja, jb) of every layer of the slab.
  // The volume phase's runs of layers: the halving split of [k0, k1) down to layer_grain (fixed,
  // so the slices are the same at any thread count), the same for every band of rows.
  std::vector<std::pair<int, int>> layer_runs;
  auto halve = [&](auto&& self, int lo, int hi) -> void {
    if (hi - lo <= static_cast<int>(layer_grain)) {
      layer_runs.emplace_back(lo, hi);
      return;
    }
    const int mid = lo + (hi - lo) / 2;
    self(self, lo, mid);
    self(self, mid, hi);
  };
  halve(halve, k0, k1);
  auto volume_rows = [&](int ja, int jb) {
    const PhaseTimer t_volume;
    // Each task takes a run of layers and walks it row by row, every layer of the run at each row:
    // neighbouring layers ask about the same stretch of surface, which then stays in the caches
    // (layer by layer, every layer would stream the whole band's hierarchy from memory again). Each
    // layer keeps its own ditherer, so the output is the same whatever the grouping.
    //
    // The threads take the runs (layer_runs) costliest first (by the
    // voxels their layers own in these rows, a searching shape's counted four times), so a slab
    // ends on a cheap run. Measured on the creature: the slab-end tails left about 0.26 thread-s of
    // its 8 idle in whichever order the split left the runs; costliest first, the run's CPU use
    // went from 1.83-1.86 to 1.87-1.89 of its 2 threads (same slices).
    std::vector<double> cost_step(static_cast<std::size_t>(k1 - k0) + 1, 0.0);  // per layer, as steps
    for (const Active& act : active) {
      const int r0 = std::max(ja, act.row0) - act.row0;
      const int r1 = std::min(jb, act.row0 + act.runs.ny) - act.row0;
      if (r0 >= r1 || act.runs.nx == 0) continue;
      const double weight = act.shape->plan.surface_queries ? 4.0 : 1.0;
      const auto nx_runs = static_cast<std::size_t>(act.runs.nx);
      for (std::uint32_t q = act.runs.offsets[static_cast<std::size_t>(r0) * nx_runs];
           q < act.runs.offsets[static_cast<std::size_t>(r1) * nx_runs]; ++q) {
        const LayerRun& r = act.runs.runs[q];
        const int b = std::clamp(r.begin, k0, k1), e = std::clamp(r.end, k0, k1);
        cost_step[static_cast<std::size_t>(b - k0)] += weight;
        cost_step[static_cast<std::size_t>(e - k0)] -= weight;
      }
    }
    std::vector<double> run_cost(layer_runs.size(), 0.0);
    {
      double level = 0;
      std::size_t q = 0;
      for (int k = k0; k < k1; ++k) {
        level += cost_step[static_cast<std::size_t>(k - k0)];
        while (k >= layer_runs[q].second) ++q;
        run_cost[q] += level;
      }
    }
    std::vector<std::size_t> run_order(layer_runs.size());
    std::iota(run_order.begin(), run_order.end(), std::size_t{0});
    std::stable_sort(run_order.begin(), run_order.end(),
                     [&](std::size_t l, std::size_t r) { return run_cost[l] > run_cost[r]; });
    std::atomic<std::size_t> next_run{0};
    parallel_for(0, layer_runs.size(), 1, [&](std::size_t, std::size_t) {
      // Each call takes one run: the next in cost order, whichever call this is.
      const auto [run_lo, run_hi] = layer_runs[run_order[next_run.fetch_add(1)]];
      const auto lo = static_cast<std::size_t>(run_lo), hi = static_cast<std::size_t>(run_hi);
      const std::size_t L = hi - lo;  // layers of this run; layer l is k = lo + l
      const std::size_t nx = static_cast<std::size_t>(g.nx);
      Ditherer* run_ditherers = ditherers.data() + (lo - static_cast<std::size_t>(k0));
      // Per layer of the run: the row's weights and owners, and the x of the voxels touched: those
      // owned, shape by shape, then those given support (each voxel once, so nx at most). Shape
      // a's in layer l's row are touched[l * nx + owned_range[2 * (a * L + l)] ..
      // owned_range[2 * (a * L + l) + 1]), ascending.
      std::vector<float> weights(L * nx * D, 0.0f);
      std::vector<std::int16_t> owner(L * nx, -1);
      std::vector<int> touched(L * nx);
      std::vector<std::size_t> n_touched(L);
      std::vector<std::size_t> owned_range(active.size() * L * 2);
      std::vector<int> support_blocks;  // the row's blocks whose support reaches the run
      std::vector<std::unique_ptr<openfl::BatchExecutor>> executors(active.size());
      std::vector<float> px, py, pz, out;
      std::vector<std::uint32_t> lane_voxel;  // l * nx + x of each lane of a batch
      std::vector<std::size_t> cursor(L);
      std::uint64_t n_shape = 0, n_fablet = 0, n_support = 0;
      for (int j = ja; j < jb; ++j) {
        // Ownership: the highest-priority shape whose runs hold the voxel. Each column's runs are
        // read once for all the layers of the run; each shape's voxels in a layer stay in x order.
        std::fill(n_touched.begin(), n_touched.end(), 0);
        for (std::size_t a = 0; a < active.size(); ++a) {
          for (std::size_t l = 0; l < L; ++l) owned_range[2 * (a * L + l)] = n_touched[l];
          const Active& act = active[a];
          const ShapePlan& p = act.shape->plan;
          const int kb = std::max(static_cast<int>(lo), act.k0), ke = std::min(static_cast<int>(hi), act.k1);
          if (kb < ke && j >= act.row0 && j < act.row0 + act.runs.ny) {
            int* const xs = touched.data();
            std::size_t* const count = n_touched.data();
            std::int16_t* const owners = owner.data();
            for (int ii = 0; ii < act.runs.nx; ++ii) {
              const int i = p.i0 + ii;
              for (const LayerRun& r : act.runs.column(ii, j - act.row0)) {
                if (r.begin >= ke) break;
                for (int k = std::max(r.begin, kb); k < std::min(r.end, ke); ++k) {
                  const std::size_t l = static_cast<std::size_t>(k) - lo;
                  std::int16_t& own = owners[l * nx + static_cast<std::size_t>(i)];
                  if (own >= 0) continue;
                  own = static_cast<std::int16_t>(a);
                  xs[l * nx + count[l]++] = i;
                }
              }
            }
          }
          for (std::size_t l = 0; l < L; ++l) owned_range[2 * (a * L + l) + 1] = n_touched[l];
        }
        // The shape's owned voxels in layer l's row.
        auto owned_xs = [&](std::size_t a, std::size_t l) {
          const std::size_t b = owned_range[2 * (a * L + l)], e = owned_range[2 * (a * L + l) + 1];
          return std::span<const int>(touched.data() + l * nx + b, e - b);
        };
        // Volume phase per shape over the voxels it owns in this row of every layer of the run,
        // as one batch in tiles of kVolumeTile voxels along x, each tile through all the layers
        // before the next. Consecutive lanes are then a voxel apart and their surface searches
        // walk nearly the same nodes while those are still in the first-level cache.
        const float y = static_cast<float>(g.origin.y + (j + 0.5) * g.dy);
        for (std::size_t a = 0; a < active.size(); ++a) {
          Shape& s = *active[a].shape;
          std::size_t n = 0;
          for (std::size_t l = 0; l < L; ++l) n += owned_xs(a, l).size();
          if (n == 0) continue;
          n_shape += n;
          if (!s.program) {
            const int m = s.dither_slots[0];
            for (std::size_t l = 0; l < L; ++l) {
              for (int i : owned_xs(a, l)) weights[(l * nx + static_cast<std::size_t>(i)) * D + m] = 1.0f;
            }
            continue;
          }
          px.resize(n);
          py.assign(n, y);
          pz.resize(n);
          lane_voxel.resize(n);
          std::fill(cursor.begin(), cursor.end(), 0);
          std::size_t q = 0;
          for (int tile_end = kVolumeTile; q < n; tile_end += kVolumeTile) {
            for (std::size_t l = 0; l < L; ++l) {
              const std::span<const int> xs = owned_xs(a, l);
              const float z = static_cast<float>(g.origin.z + (static_cast<double>(lo + l) + 0.5) * g.dz);
              for (std::size_t& c = cursor[l]; c < xs.size() && xs[c] < tile_end; ++c, ++q) {
                px[q] = static_cast<float>(g.origin.x + (xs[c] + 0.5) * g.dx);
                pz[q] = z;
                lane_voxel[q] = static_cast<std::uint32_t>(l * nx + static_cast<std::size_t>(xs[c]));
              }
            }
          }
          const int cols = s.volume->output_count;
          out.resize(n * static_cast<std::size_t>(cols));
          std::vector<float*> outs(static_cast<std::size_t>(cols));
          for (int c = 0; c < cols; ++c)
            outs[static_cast<std::size_t>(c)] = out.data() + static_cast<std::size_t>(c) * n;
          const float* ins[3] = {px.data(), py.data(), pz.data()};
          if (!executors[a]) executors[a] = std::make_unique<openfl::BatchExecutor>(s.volume);
          executors[a]->run(*s.host, n, ins, outs.data());
          n_fablet += n;
          for (q = 0; q < n; ++q) {
            float* w = weights.data() + static_cast<std::size_t>(lane_voxel[q]) * D;
            for (int c = 0; c < cols; ++c)
              w[s.dither_slots[static_cast<std::size_t>(c)]] += outs[static_cast<std::size_t>(c)][q];
          }
        }
        support_blocks.clear();
        if (plan.support >= 0) {
          const std::int32_t* tops = support_top.data() + static_cast<std::size_t>(j / kSupportBlock) * support_bx;
          for (int b = 0; b < support_bx; ++b) {
            if (tops[b] > static_cast<std::int32_t>(lo)) support_blocks.push_back(b);
          }
        }
        for (std::size_t l = 0; l < L; ++l) {
          n_support += finish_row(run_ditherers[l], static_cast<int>(lo + l), j, weights.data() + l * nx * D,
                                  owner.data() + l * nx, touched.data() + l * nx, n_touched[l], support_blocks);
        }
      }
      shape_voxels += n_shape;
      fablet_voxels += n_fablet;
      support_voxels += n_support;
    });
    t_volume.add_to(stats.volume);
    for (Active& act : active) {
      if (!act.shape->host) continue;
      const auto [lanes, seconds] = act.shape->host->take_search_counts();
      stats.searched_voxels += lanes;
      stats.search_s += seconds;
    }
  };
  for (int ja = 0; ja < g.ny; ja += band_rows) {
    const int jb = std::min(g.ny, ja + band_rows);
    ++stamp;
    for (Active& act : active) {
      if (act.shape->plan.surface_phase) prepare_band(act, ja, jb);
    }
    volume_rows(ja, jb);
  }
  // Material counts per layer run.
  std::vector<std::uint64_t> material_voxels(static_cast<std::size_t>(M), 0);
  std::mutex stats_mutex;
  parallel_for(static_cast<std::size_t>(k0), static_cast<std::size_t>(k1), layer_grain,
               [&](std::size_t lo, std::size_t hi) {
                 std::vector<std::uint64_t> histogram(static_cast<std::size_t>(M) + 1, 0);
                 // Four interleaved counters: consecutive voxels mostly share a material, and one counter
                 // would make each increment wait for the previous one's store.
                 std::vector<std::uint64_t> partial(4 * histogram.size(), 0);
                 for (std::size_t kk = lo; kk < hi; ++kk) {
                   const std::vector<std::uint8_t>& mat = slices[kk - static_cast<std::size_t>(k0)].material;
                   const std::size_t n4 = mat.size() / 4 * 4;
                   for (std::size_t i = 0; i < n4; i += 4) {
                     ++partial[4 * mat[i]];
                     ++partial[4 * mat[i + 1] + 1];
                     ++partial[4 * mat[i + 2] + 2];
                     ++partial[4 * mat[i + 3] + 3];
                   }
                   for (std::size_t i = n4; i < mat.size(); ++i) ++partial[4 * mat[i]];
                 }
                 for (std::size_t v = 0; v < histogram.size(); ++v)
                   histogram[v] += partial[4 * v] + partial[4 * v + 1] + partial[4 * v + 2] + partial[4 * v + 3];
                 std::lock_guard<std::mutex> lock(stats_mutex);
                 for (int m = 0; m < M; ++m)
                   material_voxels[static_cast<std::size_t>(m)] += histogram[static_cast<std::size_t>(m) + 1];
               });
  stats.shape_voxels += shape_voxels;
  stats.fablet_voxels += fablet_voxels;
  stats.support_voxels += support_voxels;
  for (int m = 0; m < M; ++m)
    stats.material_voxels[static_cast<std::size_t>(m)] += material_voxels[static_cast<std::size_t>(m)];

  for (Shape& s : shapes) {
    if (s.host) s.host->set_index(s.plan.surface_phase ? nullptr : s.base_index.get());
  }
  // Free what the next slabs no longer need (below the next slab's ranges) and keep the cache
  // within its size.
  ++stamp;  // everything cached is older than the next band
  std::vector<PatchWindow> next_window;  // per shape: the next slab's ranges (its first layer)
  next_window.reserve(shapes.size());
  for (const Shape& s : shapes) next_window.push_back(patch_window(g, s.plan, k1, k1 + 1, 0, g.ny));
  evict(0, [&](const std::pair<int, int>& key) {
    const auto s = static_cast<std::size_t>(key.first);
    return next_window[s].below(shapes[s].patches[static_cast<std::size_t>(key.second)]);
  });
  for (Shape& s : shapes) {
    if (s.plan.k1 <= k1) {  // done with this shape: free its state
      s.voxelizer.reset();
      s.base_index.reset();
      s.winding = {};
    }
  }
}

VoxelJob::VoxelJob(World world, const PipelineOptions& options, RunContext* context) : impl_(std::make_unique<Impl>()) {
  impl_->world = std::move(world);
  impl_->options = options;
  impl_->setup(context);
}

VoxelJob::~VoxelJob() = default;

const World& VoxelJob::world() const noexcept { return impl_->world; }
const JobPlan& VoxelJob::plan() const noexcept { return impl_->plan; }
double VoxelJob::setup_seconds() const noexcept { return impl_->setup_s; }

JobStats VoxelJob::run(std::span<SliceSink* const> sinks, RunContext& context,
                       const std::function<void(const JobProgress&)>& on_slab) {
  const auto t0 = Clock::now();
  Impl& im = *impl_;
  const JobPlan& plan = im.plan;
  JobStats stats;
  stats.setup_s = im.setup_s;
  stats.material_voxels.assign(im.world.printer.materials.size(), 0);
  for (SliceSink* sink : sinks) sink->begin(plan.grid, im.world.printer.materials);
  std::vector<Slice> slices(static_cast<std::size_t>(plan.slab_layers));
  // The first slab is short so the first slice comes out soon; the rest use the planned height.
  const int first_height = std::min(plan.slab_layers, std::max(2, context.threads()));
  int k0 = 0, slab = 0;
  const int slab_count = plan.slab_count + (first_height < plan.slab_layers ? 1 : 0);
  while (k0 < plan.grid.nz) {
    context.throw_if_cancelled();
    const int height = slab == 0 ? first_height : plan.slab_layers;
    const int k1 = std::min(plan.grid.nz, k0 + height);
    context.run([&] { im.run_slab(k0, k1, slices, stats); });
    const PhaseTimer t_sinks;
    context.run([&] {  // a sink may write the slab's slices in parallel
      for (SliceSink* sink : sinks)
        sink->write_slab(std::span<const Slice>(slices.data(), static_cast<std::size_t>(k1 - k0)));
    });
    stats.slices += k1 - k0;
    t_sinks.add_to(stats.sinks);
    if (slab == 0) stats.first_slice_s = seconds_since(t0);
    ++slab;
    k0 = k1;
    if (on_slab) {
      JobProgress p;
      p.slabs_done = slab;
      p.slab_count = std::max(slab_count, slab);
      p.layers_done = k1;
      p.layer_count = plan.grid.nz;
      p.fablet_voxels = stats.fablet_voxels;
      p.elapsed_s = seconds_since(t0);
      on_slab(p);
    }
  }
  // The micropolygons are not needed any more: their memory goes to the sinks' writers.
  im.cache.clear();
  im.cache_bytes = 0;
  const PhaseTimer t_finish;
  context.run([&] {  // sinks may write their files in parallel, within the job's threads
    for (SliceSink* sink : sinks) sink->finish();
  });
  t_finish.add_to(stats.sinks);
  stats.run_s = seconds_since(t0);
  return stats;
}

namespace {

class MeshSink final : public SliceSink {
 public:
  MeshSink(fs::path folder, std::string base, std::size_t memory_bytes)
      : folder_(std::move(folder)), base_(std::move(base)), memory_bytes_(memory_bytes) {}
  void begin(const Grid& grid, const std::vector<Material>& materials) override {
    // Meshes beyond memory_bytes_ wait on disk next to the output (unlinked temporary files).
    MeshSpillOptions spill;
    spill.folder = folder_.parent_path().empty() ? fs::path(".") : folder_.parent_path();
    spill.memory_bytes = memory_bytes_;
    std::error_code ec;
    fs::create_directories(spill.folder, ec);
    mesher_ = std::make_unique<MaterialMesher>(grid, materials, std::move(spill));
  }
  void write(const Slice& slice) override { mesher_->push(slice); }
  void finish() override {
    mesher_->finish();
    // Stage into a temporary folder, then move it onto the target, so a failure leaves nothing.
    const fs::path tmp = folder_.parent_path() / ("." + folder_.filename().string() + ".tmp");
    std::error_code ec;
    fs::remove_all(tmp, ec);
    bool any = false;
    for (int m = 0; m < mesher_->material_count(); ++m) any = any || mesher_->triangle_count(m) > 0;
    fs::create_directories(tmp);
    // The STLs and the 3MF (whose compression is the long pole) are written side by side.
    parallel_for_each_index(0, 2, 1, [&](std::size_t task) {
      if (task == 0) {
        mesher_->write_stl_per_material(tmp, base_);
      } else if (any) {
        mesher_->write_3mf(tmp / (base_ + ".3mf"));
      }
    });
    fs::remove_all(folder_, ec);
    fs::rename(tmp, folder_, ec);
    if (ec) throw runtime_error("cannot move " + tmp.string() + " to " + folder_.string() + ": " + ec.message());
  }

 private:
  fs::path folder_;
  std::string base_;
  std::size_t memory_bytes_;
  std::unique_ptr<MaterialMesher> mesher_;
};

}  // namespace

std::unique_ptr<SliceSink> make_mesh_sink(fs::path folder, std::string base_name, std::size_t memory_bytes) {
  return std::make_unique<MeshSink>(std::move(folder), std::move(base_name), memory_bytes);
}

std::vector<std::unique_ptr<SliceSink>> make_output_sinks(const World& world, const fs::path& out_dir,
                                                          std::size_t memory_budget_bytes) {
  const std::size_t budget = memory_budget_bytes ? memory_budget_bytes : world.memory_budget_mb << 20;
  const std::size_t mesh_bytes = mesh_sink_memory(budget);
  std::vector<std::unique_ptr<SliceSink>> sinks;
  const OutputSpec& o = world.output;
  if (!o.png.empty()) sinks.push_back(make_png_stack_sink(out_dir / o.png));
  if (!o.grabcad.empty()) sinks.push_back(make_grabcad_sink(out_dir / o.grabcad));
  if (!o.raw.empty()) sinks.push_back(make_raw4_sink(out_dir / o.raw));
  if (!o.meshes.empty()) sinks.push_back(make_mesh_sink(out_dir / o.meshes, "part", mesh_bytes));
  return sinks;
}

}  // namespace fabforge::voxel
