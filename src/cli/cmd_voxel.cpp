// fabforge voxel WORLD.json -o OUT: the OpenFab-style streaming pipeline. A fab world (meshes,
// fablets, printer) becomes dithered material slices (PNG stack, GrabCAD package, raw 4-bit) and
// per-material meshes, slab by slab within the memory budget. --dry-run prints the plan only.

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "fabforge/core/atomic_file.hpp"
#include "fabforge/core/error.hpp"
#include "fabforge/voxel/pipeline.hpp"
#include "fabforge/voxel/world.hpp"

#include "app.hpp"

namespace fabforge::cli {

namespace {

namespace fs = std::filesystem;
using namespace fabforge::voxel;

struct VoxelOptions {
  std::string world;
  std::string output;
  bool dry_run = false;
  std::size_t memory_mb = 0;
  bool json = false;
  std::string dpi;       // "X" or "X,Y": override the printer's resolution (previews)
  double layer_um = 0;   // override the layer thickness
  double query_tolerance = PipelineOptions{}.query_tolerance_voxels;
};

// Applies --dpi and --layer-um to the world's printer.
void override_resolution(const VoxelOptions& o, World& world) {
  if (!o.dpi.empty()) {
    const auto comma = o.dpi.find(',');
    auto parse = [&](const std::string& text) {
      std::size_t used = 0;
      int v = 0;
      try {
        v = std::stoi(text, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != text.size() || v < 1 || v > 10000) throw usage_error("--dpi: expected X or X,Y in 1..10000, got '" + o.dpi + "'");
      return v;
    };
    world.printer.x_dpi = parse(o.dpi.substr(0, comma));
    world.printer.y_dpi = comma == std::string::npos ? world.printer.x_dpi : parse(o.dpi.substr(comma + 1));
  }
  if (o.layer_um > 0) world.printer.layer_um = o.layer_um;
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string mib(std::size_t bytes) { return fixed(static_cast<double>(bytes) / (1 << 20), 1) + " MiB"; }

std::string box_text(const BoundingBox& b) {
  return "(" + fixed(b.min.x, 2) + ", " + fixed(b.min.y, 2) + ", " + fixed(b.min.z, 2) + ") .. (" + fixed(b.max.x, 2) +
         ", " + fixed(b.max.y, 2) + ", " + fixed(b.max.z, 2) + ") mm";
}

nlohmann::json plan_json(const VoxelJob& job) {
  const JobPlan& p = job.plan();
  nlohmann::json shapes = nlohmann::json::array();
  for (const ShapePlan& s : p.shapes) {
    shapes.push_back(
        {{"name", s.name},
         {"fill", s.fill},
         {"priority", s.priority},
         {"bounds_mm",
          {s.bounds.min.x, s.bounds.min.y, s.bounds.min.z, s.bounds.max.x, s.bounds.max.y, s.bounds.max.z}},
         {"layers", {s.k0, s.k1}},
         {"base_triangles", s.base_triangles},
         {"surface_phase", s.surface_phase},
         {"surface_queries", s.surface_queries},
         {"surface_reach_mm", std::isfinite(s.reach_mm) ? nlohmann::json(s.reach_mm) : nlohmann::json(nullptr)},
         {"surface_reach_inferred_mm",
          std::isfinite(s.reach_inferred_mm) ? nlohmann::json(s.reach_inferred_mm) : nlohmann::json(nullptr)}});
  }
  return {{"grid",
           {{"nx", p.grid.nx}, {"ny", p.grid.ny}, {"nz", p.grid.nz}, {"dx_mm", p.grid.dx}, {"dy_mm", p.grid.dy},
            {"dz_mm", p.grid.dz}, {"origin_mm", {p.grid.origin.x, p.grid.origin.y, p.grid.origin.z}}}},
          {"voxels", p.voxels()},
          {"slab_layers", p.slab_layers},
          {"slabs", p.slab_count},
          {"band_rows", p.band_rows},
          {"memory_budget_bytes", p.budget_bytes},
          {"estimated_peak_bytes", p.estimated_bytes},
          {"micropolygon_cache_bytes", p.cache_bytes},
          {"support", p.support >= 0 ? nlohmann::json(job.world().printer.materials[static_cast<std::size_t>(p.support)].name)
                                     : nlohmann::json(nullptr)},
          {"setup_s", job.setup_seconds()},
          {"shapes", shapes}};
}

void print_plan(const VoxelJob& job, std::ostream& out) {
  const JobPlan& p = job.plan();
  const Grid& g = p.grid;
  out << "grid: " << g.nx << " x " << g.ny << " x " << g.nz << " voxels (" << fixed(g.nx * g.dx, 2) << " x "
      << fixed(g.ny * g.dy, 2) << " x " << fixed(g.nz * g.dz, 2) << " mm at " << fixed(25.4 / g.dx, 0) << " x "
      << fixed(25.4 / g.dy, 0) << " dpi, " << fixed(g.dz * 1000, 1) << " um layers), origin (" << fixed(g.origin.x, 3)
      << ", " << fixed(g.origin.y, 3) << ", " << fixed(g.origin.z, 3) << ") mm\n";
  out << "slabs: " << p.slab_count << " of " << p.slab_layers << " layers";
  if (p.band_rows < g.ny) out << ", each in bands of " << p.band_rows << " rows";
  out << "; memory budget " << mib(p.budget_bytes) << ", estimated peak " << mib(p.estimated_bytes)
      << " (micropolygon cache " << mib(p.cache_bytes) << ")\n";
  if (p.support >= 0) {
    out << "support: " << job.world().printer.materials[static_cast<std::size_t>(p.support)].name << "\n";
  }
  for (const ShapePlan& s : p.shapes) {
    out << "shape " << s.name << ": " << s.fill << ", priority " << s.priority << ", " << s.base_triangles
        << " triangles, bounds " << box_text(s.bounds) << ", layers " << s.k0 << ".." << s.k1;
    if (s.surface_phase) out << ", surface phase";
    if (s.surface_queries) {
      out << ", surface queries (reach " << (std::isfinite(s.reach_mm) ? fixed(s.reach_mm, 3) + " mm" : "unlimited");
      if (s.reach_mm == s.reach_inferred_mm) out << ", inferred from the fablet";
      out << ")";
    }
    out << "\n";
  }
  out << "setup: " << fixed(job.setup_seconds(), 2) << " s\n";
}

void run_voxel(const VoxelOptions& o, CommandEnv& env) {
  World world = load_world(o.world);
  override_resolution(o, world);
  const int world_threads = world.threads.value_or(0);
  RunContext& ctx = env.context(world_threads);
  PipelineOptions options;
  options.memory_budget_bytes = o.memory_mb << 20;
  options.query_tolerance_voxels = o.query_tolerance;
  VoxelJob job(std::move(world), options, &ctx);
  if (o.dry_run) {
    if (o.json) {
      env.out() << plan_json(job).dump(2) << "\n";
    } else {
      print_plan(job, env.out());
    }
    return;
  }
  if (o.output.empty()) throw usage_error("voxel: give an output folder with -o (or --dry-run)");
  const fs::path out_dir(o.output);
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec || !fs::is_directory(out_dir)) {
    throw input_error("cannot create output folder " + out_dir.string() + (ec ? ": " + ec.message() : ""));
  }
  if (job.plan().estimated_bytes > job.plan().budget_bytes) {
    const JobPlan& p = job.plan();
    const std::string bands =
        p.band_rows < p.grid.ny ? " in bands of " + std::to_string(p.band_rows) + " rows" : std::string();
    env.note("voxel: warning: estimated peak " + mib(p.estimated_bytes) + " exceeds the memory budget " +
             mib(p.budget_bytes) + " with every slab height and band of rows (the least is taken: " +
             std::to_string(p.slab_layers) + "-layer slabs" + bands + ")");
  }
  std::vector<std::unique_ptr<SliceSink>> sinks = make_output_sinks(job.world(), out_dir, options.memory_budget_bytes);
  std::vector<SliceSink*> raw;
  for (auto& s : sinks) raw.push_back(s.get());
  const JobPlan& plan = job.plan();
  auto task = ctx.task("voxel", static_cast<std::uint64_t>(plan.grid.nz), "layers");
  int last_layers = 0;
  const JobStats stats = job.run(raw, ctx, [&](const JobProgress& p) {
    task->advance(static_cast<std::uint64_t>(p.layers_done - last_layers));
    last_layers = p.layers_done;
    if (p.elapsed_s > 0) task->set_metric("M fablet voxels/s", static_cast<double>(p.fablet_voxels) / p.elapsed_s / 1e6);
  });
  task->finish();

  const double rate = stats.run_s > 0 ? static_cast<double>(stats.fablet_voxels) / stats.run_s : 0;
  nlohmann::json report = plan_json(job);
  nlohmann::json materials = nlohmann::json::object();
  for (std::size_t m = 0; m < stats.material_voxels.size(); ++m) {
    materials[job.world().printer.materials[m].name] = stats.material_voxels[m];
  }
  report["run"] = {{"slices", stats.slices},
                   {"shape_voxels", stats.shape_voxels},
                   {"fablet_voxels", stats.fablet_voxels},
                   {"support_voxels", stats.support_voxels},
                   {"material_voxels", materials},
                   {"micropolygons", stats.micropolygons},
                   {"patch_hits", stats.patch_hits},
                   {"patch_misses", stats.patch_misses},
                   {"cache_peak_bytes", stats.cache_peak_bytes},
                   {"first_slice_s", stats.first_slice_s},
                   {"run_s", stats.run_s},
                   {"fablet_voxels_per_s", rate},
                   {"surface_searches", {{"voxels", stats.searched_voxels}, {"thread_s", stats.search_s}}},
                   {"threads", ctx.threads()},
                   {"peak_rss_mb", peak_resident_mb()}};
  // Each phase's wall time under phase_s, its CPU time under phase_cpu_s.
  const std::pair<const char*, const PhaseTime*> phases[] = {{"tessellate", &stats.tessellate},
                                                             {"index", &stats.index},
                                                             {"voxelize", &stats.voxelize},
                                                             {"volume_and_dither", &stats.volume},
                                                             {"sinks", &stats.sinks}};
  for (const auto& [name, time] : phases) {
    report["run"]["phase_s"][name] = time->wall_s;
    report["run"]["phase_cpu_s"][name] = time->cpu_s;
  }
  write_file_atomic(out_dir / "report.json", report.dump(2) + "\n");
  if (o.json) {
    env.out() << report.dump(2) << "\n";
    return;
  }
  env.out() << "voxel: " << stats.slices << " slices of " << plan.grid.nx << " x " << plan.grid.ny << ", "
            << stats.shape_voxels << " shape voxels (" << stats.fablet_voxels << " by fablets), "
            << stats.support_voxels << " support\n"
            << "time: setup " << fixed(stats.setup_s, 2) << " s, first slice " << fixed(stats.first_slice_s, 2)
            << " s, run " << fixed(stats.run_s, 2) << " s (" << fixed(rate / 1e6, 2) << " M fablet voxels/s, "
            << ctx.threads() << " threads), peak memory " << fixed(peak_resident_mb(), 1) << " MiB\n"
            << "wrote: " << out_dir.string() << "/ report.json";
  const OutputSpec& out = job.world().output;
  for (const std::string* name : {&out.png, &out.grabcad, &out.raw, &out.meshes}) {
    if (!name->empty()) env.out() << " " << *name;
  }
  env.out() << "\n";
}

}  // namespace

void register_voxel(CLI::App& app, CommandEnv& env) {
  auto o = std::make_shared<VoxelOptions>();
  CLI::App* cmd = app.add_subcommand(
      "voxel", "Run a fab world (meshes + OpenFL fablets) into dithered multi-material slices and meshes");
  cmd->add_option("world", o->world, "Fab world JSON (docs/voxel-world.md)")->required();
  cmd->add_option("-o,--output", o->output, "Output folder (created if missing)");
  cmd->add_flag("--dry-run", o->dry_run, "Print the plan (grid, bounds, slabs, memory) and stop");
  cmd->add_option("--memory-mb", o->memory_mb, "Memory budget in MiB (overrides the world's memory_budget_mb)")
      ->check(CLI::Range(16, 1 << 24));
  cmd->add_flag("--json", o->json, "Print the plan or report as JSON");
  cmd->add_option("--dpi", o->dpi, "Override the printer's resolution: X or X,Y dots per inch (for previews)");
  cmd->add_option("--query-tolerance", o->query_tolerance,
                  "Surface queries may return a point this many voxels (smallest pitch) farther than the nearest; "
                  "0 = exact")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--layer-um", o->layer_um, "Override the layer thickness, um")->check(CLI::Range(1.0, 10000.0));
  cmd->callback([o, &env] { run_voxel(*o, env); });
}

}  // namespace fabforge::cli
