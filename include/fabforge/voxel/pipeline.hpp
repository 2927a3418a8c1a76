#pragma once
/// The streaming voxel pipeline (issue 6): a fab world becomes dithered material slices, handed in
/// printer order to the slice sinks (PNG stack, GrabCAD package, raw 4-bit, per-material meshes).
///
/// Setup (VoxelJob's constructor): meshes are read or built and placed by their transforms,
/// fablets compiled and bound, textures loaded. For a shape whose fablet has a surface phase the
/// displaced bounds of every base triangle are inferred in interval arithmetic (tessellate.hpp;
/// the smaller of that and the user's displacement bound). The job grid is the printer lattice
/// (voxel (0, 0, 0) of the tray at the printer origin) cropped to the union of the shapes'
/// bounds; it starts at the tray (layer 0) when the printer has a support material, else at the
/// lowest shape. Shapes must lie inside the build volume.
///
/// Support: an orthographic z-buffer over blocks of 4 x 4 columns holds the highest layer any
/// shape may occupy there (from the displaced bounds of each base triangle: conservative, so it
/// may overestimate, never underestimate); a void voxel below that layer becomes support.
///
/// Slab loop, along z from the tray up. The slab height comes from the memory budget (see
/// JobPlan). Per slab:
///   1. Working set: the shapes whose layers meet the slab, highest priority first (equal
///      priorities: earlier in the world first).
///   2. Per shape, the solid inside the slab: a shape without a surface phase is voxelized from
///      its base mesh; a shape with one from its displaced micropolygons (micropolygon edges at
///      most half the x pitch), in carry mode (voxelize.hpp: the winding numbers at the previous
///      slab's top are carried, so only the surface reaching the slab is needed). Micropolygons
///      come in patches of base triangles (fixed groups, tessellated one patch per call, so the
///      result never depends on the cache) kept in an LRU cache of fixed size across slabs.
///      Every shape is voxelized on a window of the one printer lattice, so two shapes sharing
///      a face claim each voxel there exactly once, as two faces of one mesh would.
///   3. Each voxel goes to the first shape of the working set holding it; so one volume phase
///      runs per voxel. Layers of the slab run in parallel; within a layer, rows in order, and
///      per row the volume phase of each shape runs in batches over the voxels it owns. Surface
///      queries are answered from a nearest-point index (nearest.hpp) over the shape's surface
///      within its reach of the slab (the base mesh when there is no surface phase, else the
///      cached micropolygons).
///   4. Each row's mixtures (mapped from the fablet's material slots to the printer table; a
///      support voxel is pure support) are dithered at once (dither.hpp), one Ditherer per layer.
///   5. The slab's slices go to every sink in layer order; nothing of the slab is kept.
/// Bands of rows: when no slab height brings a slab's micropolygons under the budget (a flat part
/// whose whole displaced face lies within reach of every slab), steps 2-4 run per band of
/// JobPlan::band_rows rows: a band tessellates, voxelizes (on a window of the shape's columns,
/// winding numbers carried per column) and indexes only the patches within reach of its rows
/// (then grouped by cells in z and y, not by height), and each layer's ditherer carries on across
/// the bands in row order. With exact queries the slices do not depend on the bands, except
/// through surface_normal(): a micropolygon vertex on a patch border takes its normal from its
/// own patch only, and banded slabs group the patches differently.
///
/// Determinism: every voxel's mixture depends only on the world (never on batching, slab height
/// or thread count), and dithering runs one layer at a time in a fixed order, so outputs are
/// byte-identical for any thread count. The slab height (memory budget) does not change them
/// either.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "fabforge/core/mesh.hpp"
#include "fabforge/core/run_context.hpp"
#include "fabforge/voxel/grid.hpp"
#include "fabforge/voxel/slice_writers.hpp"
#include "fabforge/voxel/world.hpp"

namespace fabforge::voxel {

/// One shape of the plan.
struct ShapePlan {
  std::string name;
  int priority = 0;
  BoundingBox bounds;         ///< of the displaced surface, printer mm
  int i0 = 0, i1 = 0;         ///< job-grid columns [i0, i1) the shape may occupy
  int j0 = 0, j1 = 0;         ///< rows
  int k0 = 0, k1 = 0;         ///< layers
  std::size_t base_triangles = 0;
  bool surface_phase = false;  ///< runs a surface phase (tessellated into micropolygons)
  bool surface_queries = false;  ///< its volume phase asks for the nearest surface point
  /// Surface query reach (+inf: unlimited): the smaller of the world's surface_reach_mm and
  /// reach_inferred_mm.
  double reach_mm = 0;
  /// Where the fablet's volume phase stops depending on its queries (query_saturation_mm), +inf
  /// when it does not or the inference is off (PipelineOptions::infer_reach).
  double reach_inferred_mm = std::numeric_limits<double>::infinity();
  std::string fill;            ///< fablet file name or "material NAME"
};

/// What a job will do, known before any voxel is computed (`fabforge voxel --dry-run`).
struct JobPlan {
  Grid grid;                    ///< the job's voxels; origin on the printer lattice
  int first_layer = 0;          ///< printer layer of the grid's layer 0
  int slab_layers = 1;          ///< layers per slab
  int slab_count = 0;
  /// Rows per band: a slab is walked in bands of this many rows, each tessellating and indexing
  /// only the surface within reach of its rows, when the whole slab's surface would not fit the
  /// budget (flat parts); grid.ny (one band) otherwise.
  int band_rows = 0;
  std::size_t budget_bytes = 0;
  /// Estimated peak of the pipeline's own working memory: slabs of slices, per-shape column
  /// state, the micropolygon cache, the support z-buffer and per-thread rows (not the meshes a
  /// `meshes` output accumulates, which grow with the result).
  std::size_t estimated_bytes = 0;
  std::size_t cache_bytes = 0;  ///< micropolygon cache size
  std::vector<ShapePlan> shapes;
  int support = -1;             ///< printer material index of support, -1 none

  std::uint64_t voxels() const {
    return static_cast<std::uint64_t>(grid.nx) * static_cast<std::uint64_t>(grid.ny) * static_cast<std::uint64_t>(grid.nz);
  }
};

/// Time spent in one phase of a job: wall time, and the process's CPU time over it (every
/// thread's). Set side by side they show where threads idle (cpu_s / wall_s is the phase's use of
/// the threads) and what the phase costs in thread-seconds, the budget a throughput target sets.
struct PhaseTime {
  double wall_s = 0;
  double cpu_s = 0;
};

/// Figures of a finished run.
struct JobStats {
  std::uint64_t slices = 0;
  std::uint64_t shape_voxels = 0;   ///< voxels claimed by shapes
  std::uint64_t fablet_voxels = 0;  ///< voxels the volume phase of a fablet evaluated
  std::uint64_t support_voxels = 0;
  std::vector<std::uint64_t> material_voxels;  ///< after dithering, per printer material
  std::uint64_t micropolygons = 0;  ///< tessellated (cache misses included once each)
  std::uint64_t patch_hits = 0, patch_misses = 0;
  std::size_t cache_peak_bytes = 0;
  double setup_s = 0;        ///< constructor: meshes, fablets, bounds
  double first_slice_s = 0;  ///< from run() start until the first slice reached the sinks
  double run_s = 0;          ///< run() wall time
  /// Time in each of run()'s phases, summed over slabs: tessellation and the surface phase,
  /// nearest-point indexes, voxelization, the volume phase with dithering, the sinks.
  PhaseTime tessellate, index, voxelize, volume, sinks;
  /// Voxels whose volume phase asked for the nearest surface point and got a search (not culled as
  /// beyond the shape's reach), and the time those searches took, summed over the threads' calls
  /// (part of volume; for measuring the searches apart from the rest of the job).
  std::uint64_t searched_voxels = 0;
  double search_s = 0;
};

struct PipelineOptions {
  /// Overrides World::memory_budget_mb when non-zero.
  std::size_t memory_budget_bytes = 0;
  /// Upper bound on the slab height (layers); the budget may choose fewer (and slabs walked in
  /// bands of rows start from at most 64). Taller slabs mean fewer indexes over the same surface
  /// and fewer ends where one thread waits for the other: with 128 rather than 64 the creature
  /// benchmark ran 2-5% faster (5 slabs instead of 9, 292 MiB instead of 227) and a tray slice
  /// 4-7% faster (907 MiB instead of 858 of its 1 GB).
  int max_slab_layers = 128;
  /// Base triangles per micropolygon patch.
  int patch_triangles = 64;
  /// Surface queries may return a nearest point up to this many (smallest) voxel pitches farther
  /// than the true nearest one (SurfaceIndexOptions::tolerance_mm); 0 = exact.
  double query_tolerance_voxels = 1.0;
  /// Limit each shape's surface queries to where its volume phase stops depending on them
  /// (ShapePlan::reach_inferred_mm). Changes no output in exact mode; with a tolerance, a search
  /// limited to a smaller reach may end at another triangle within the tolerance. Off: the
  /// world's reach alone (for comparisons).
  bool infer_reach = true;
};

/// Progress of run(): called on the calling thread after each slab reached the sinks.
struct JobProgress {
  int slabs_done = 0, slab_count = 0;
  int layers_done = 0, layer_count = 0;
  std::uint64_t fablet_voxels = 0;
  double elapsed_s = 0;
};

/// A prepared job. Construction does the setup; run() streams it. Not copyable.
class VoxelJob {
 public:
  /// Throws Error (input) with the world's path in the message for unreadable meshes, fablet
  /// compile errors (full diagnostics), unreadable textures, a shape outside the build volume or
  /// a shape whose displacement cannot be bounded (give displacement_bound_mm).
  explicit VoxelJob(World world, const PipelineOptions& options = {}, RunContext* context = nullptr);
  ~VoxelJob();
  VoxelJob(const VoxelJob&) = delete;
  VoxelJob& operator=(const VoxelJob&) = delete;

  const World& world() const noexcept;
  const JobPlan& plan() const noexcept;
  double setup_seconds() const noexcept;

  /// Runs the slab loop and streams every slice to each sink (begin, write per layer, finish).
  /// Parallel loops run inside `context` (its thread limit; cancellation between slabs).
  /// A sink whose finish() is not reached (an exception) leaves its target untouched.
  JobStats run(std::span<SliceSink* const> sinks, RunContext& context,
               const std::function<void(const JobProgress&)>& on_slab = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// A sink that meshes each material by marching cubes (mesher.hpp) and, in finish(), writes one
/// STL per material and `<base>.3mf` with an object per material into `folder`. The meshes hold
/// at most about `memory_bytes` in memory; the rest waits in unlinked temporary files in
/// folder's parent.
std::unique_ptr<SliceSink> make_mesh_sink(std::filesystem::path folder, std::string base_name = "part",
                                          std::size_t memory_bytes = std::size_t{64} << 20);

/// The sinks the world's `output` asks for, under `out_dir`, sized for the memory budget
/// (0: the world's memory_budget_mb).
std::vector<std::unique_ptr<SliceSink>> make_output_sinks(const World& world, const std::filesystem::path& out_dir,
                                                          std::size_t memory_budget_bytes = 0);

}  // namespace fabforge::voxel
