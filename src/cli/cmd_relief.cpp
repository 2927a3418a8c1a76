// fabforge relief IMAGE -o DIR: a photo becomes a layered multi-filament print (a "filament
// painting"): heights per pixel and a filament per layer, with preview, STL, 3MF with the colour
// changes set, swap instructions, a HueForge project and a report.

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "fabforge/core/color.hpp"
#include "fabforge/core/error.hpp"
#include "fabforge/core/image.hpp"
#include "fabforge/core/text.hpp"
#include "fabforge/relief/filament_library.hpp"
#include "fabforge/relief/model.hpp"
#include "fabforge/relief/outputs.hpp"
#include "fabforge/relief/solve.hpp"
#include "fabforge/relief/target.hpp"

#include "app.hpp"

namespace fabforge::cli {

namespace {

namespace fs = std::filesystem;
using namespace fabforge::relief;

struct ReliefOptions {
  std::string input;
  std::string output;
  std::string solver = "discrete";
  int colors = 8;
  int swaps = 20;
  double size_mm = 150;
  double nozzle_mm = 0.4;
  double layer_height_mm = 0.04;
  int max_layers = 75;
  double base_height_mm = 0.24;
  std::string background = "dominant";
  std::string library;
  bool owned_only = false;
  std::string priority_mask;
  double priority_weight = 4;
  std::uint64_t seed = 1;
  double max_seconds = 0;
  double smoothness = 0;
  bool no_bleed = false;
  std::string opacity = "autoforge";
  bool ascii_stl = false;
  int preview_every = 0;
  int iterations = 0;
  int effort = 0;
};

void validate(const ReliefOptions& o) {
  auto positive = [](double v, const char* name) {
    if (!(v > 0) || !std::isfinite(v)) throw usage_error(std::string(name) + " must be a number > 0");
  };
  positive(o.size_mm, "--size-mm");
  positive(o.nozzle_mm, "--nozzle-mm");
  positive(o.layer_height_mm, "--layer-height");
  positive(o.base_height_mm, "--base-height");
  if (o.size_mm > 2000) throw usage_error("--size-mm must be at most 2000");
  if (o.max_layers < 1 || o.max_layers > 4000) throw usage_error("--max-layers must be in 1..4000");
  if (o.colors < 1) throw usage_error("--colors must be at least 1 (the background counts as one)");
  if (o.swaps < 0) throw usage_error("--swaps must not be negative");
  if (o.colors > 1 && o.swaps == 0)
    throw usage_error("--colors " + std::to_string(o.colors) +
                      " needs at least one swap; with --swaps 0 only the background colour can be printed");
  if (!(o.priority_weight >= 1)) throw usage_error("--priority-weight must be >= 1");
  if (!(o.max_seconds >= 0)) throw usage_error("--max-seconds must not be negative");
  if (!(o.smoothness >= 0) || !std::isfinite(o.smoothness)) throw usage_error("--smoothness must be >= 0");
  if (o.preview_every < 0) throw usage_error("--preview-every must not be negative");
}

SolverKind parse_solver(const std::string& s) {
  if (s == "discrete") return SolverKind::discrete;
  if (s == "gumbel") return SolverKind::gumbel;
  if (s == "chain") return SolverKind::chain;
  throw usage_error("--solver must be discrete, gumbel or chain, not '" + s + "'");
}

OpacityModel parse_opacity(const std::string& s) {
  if (s == "autoforge") return OpacityModel::autoforge;
  if (s == "beer-lambert") return OpacityModel::beer_lambert;
  throw usage_error("--opacity must be autoforge or beer-lambert, not '" + s + "'");
}

// "dominant", a filament name ("Bone White", "Geeetech Bone White") or a colour "#rrggbb".
int resolve_background(const std::string& spec, const ReliefModel& model, const Target& target) {
  if (spec == "dominant") return pick_background(model, target);
  const std::string want = to_lower(trim(spec));
  if (auto hex = color::parse_hex(want)) {
    for (int f = 0; f < model.palette_size(); ++f)
      if (model.filament(f).color == *hex) return f;
    throw usage_error("--background " + spec + ": no filament of that colour in the library");
  }
  // An exact "Brand Name" wins; a bare name must name one filament.
  std::vector<int> by_name;
  for (int f = 0; f < model.palette_size(); ++f) {
    const Filament& fil = model.filament(f);
    if (to_lower(fil.display_name()) == want) return f;
    if (to_lower(fil.name) == want) by_name.push_back(f);
  }
  if (by_name.size() > 1)
    throw usage_error("--background '" + spec + "' matches more than one filament; use 'Brand Name'");
  if (by_name.empty()) throw usage_error("--background '" + spec + "': no such filament in the library");
  return by_name.front();
}

// Removes a folder this run created if the run fails (only --preview-every creates it early).
struct CreatedFolder {
  fs::path path;
  bool existed = true;
  bool keep = false;
  ~CreatedFolder() {
    if (!existed && !keep) {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  }
};

void run_relief(const ReliefOptions& o, CommandEnv& env) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  auto since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  validate(o);
  const SolverKind kind = parse_solver(o.solver);
  ModelSettings settings;
  settings.opacity = parse_opacity(o.opacity);
  settings.bleed = !o.no_bleed;
  settings.layer_height_mm = o.layer_height_mm;
  settings.max_layers = o.max_layers;
  settings.base_height_mm = o.base_height_mm;

  FilamentLibrary library = o.library.empty() ? default_filament_library() : load_filament_library(o.library);
  if (o.owned_only) library = owned_only(library);
  if (library.filaments.empty()) throw input_error("the filament library is empty");

  const Image8 image = load_image8(o.input);
  std::optional<Image8> priority;
  if (!o.priority_mask.empty()) priority = load_image8(o.priority_mask, 1);
  TargetOptions topts;
  topts.long_side_mm = o.size_mm;
  topts.nozzle_mm = o.nozzle_mm;
  topts.priority = priority ? &*priority : nullptr;
  topts.priority_weight = o.priority_weight;

  RunContext& ctx = env.context();
  const ReliefModel model(library.filaments, settings);
  const Target target = ctx.run([&] { return make_target(image, topts); });
  const double prepare_s = since(t0);

  SolveOptions sopts;
  sopts.limits = {o.colors, o.swaps};
  sopts.background = resolve_background(o.background, model, target);
  sopts.seed = o.seed;
  sopts.max_seconds = o.max_seconds;
  sopts.smoothness = o.smoothness;
  sopts.gumbel_iterations = o.iterations;
  sopts.discrete_effort = o.effort;

  CreatedFolder folder{o.output, fs::exists(o.output)};
  if (o.preview_every > 0) {
    sopts.preview_every = o.preview_every;
    sopts.preview = [&](const Stack& stack, const LayerMap& heights) {
      write_preview(o.output, model, target, stack, heights);
    };
  }
  env.note("relief: " + std::to_string(target.width) + "x" + std::to_string(target.height) + " px, " +
           std::to_string(model.palette_size()) + " filaments, background " +
           model.filament(sopts.background).display_name() + ", solver " + o.solver);

  const auto t1 = Clock::now();
  const SolveResult result = solve(kind, model, target, sopts, ctx);
  const double solve_s = since(t1);
  ctx.throw_if_cancelled();

  const auto t2 = Clock::now();
  nlohmann::json settings_json = {
      {"input", o.input},
      {"solver", o.solver},
      {"max_colors", o.colors},
      {"max_swaps", o.swaps},
      {"size_mm", o.size_mm},
      {"nozzle_mm", o.nozzle_mm},
      {"layer_height_mm", o.layer_height_mm},
      {"max_layers", o.max_layers},
      {"base_height_mm", o.base_height_mm},
      {"background", model.filament(sopts.background).display_name()},
      {"background_choice", o.background},
      {"library", o.library.empty() ? std::string("built-in") : o.library},
      {"owned_only", o.owned_only},
      {"priority_mask", o.priority_mask},
      {"priority_weight", o.priority_weight},
      {"seed", o.seed},
      {"max_seconds", o.max_seconds},
      {"smoothness", o.smoothness},
      {"bleed", settings.bleed},
      {"opacity", o.opacity},
      {"threads", ctx.threads()},
  };
  OutputOptions oopts;
  oopts.ascii_stl = o.ascii_stl;
  oopts.report_extra["settings"] = settings_json;
  oopts.report_extra["timings"] = {{"prepare_s", prepare_s}, {"solve_s", solve_s}};
  nlohmann::json report = write_relief_outputs(o.output, model, target, result, oopts);
  folder.keep = true;
  const double write_s = since(t2);

  char line[256];
  const nlohmann::json& preview = report.at("loss");
  const double mse = preview.value("lab_mse", -1.0);
  const double de = preview.value("mean_delta_e2000", -1.0);
  std::snprintf(line, sizeof line,
                "relief: Lab MSE %.2f, mean CIEDE2000 %.2f, %d colours, %d swaps, %d layers; solve %.1f s, "
                "total %.1f s\n",
                mse, de, count_colors(result.stack, result.heights.top()),
                count_swaps(result.stack, result.heights.top()), result.heights.top(), solve_s,
                prepare_s + solve_s + write_s);
  env.out() << line;
  env.out() << "wrote " << o.output
            << "/: preview.png compare.png model.stl model.3mf swaps.txt swaps.json project.hfp report.json\n";
}

}  // namespace

void register_relief(CLI::App& app, CommandEnv& env) {
  auto o = std::make_shared<ReliefOptions>();
  CLI::App* sub = app.add_subcommand(
      "relief",
      "Turn a photo into a layered multi-filament print (filament painting): preview, STL, 3MF with colour "
      "changes, swap list, HueForge project");
  sub->add_option("image", o->input, "PNG or JPEG; pixels with alpha < 128 are not printed")->required();
  sub->add_option("-o,--output", o->output, "Output folder (replaced if it exists)")->required();
  sub->add_option("--solver", o->solver, "discrete, gumbel, or chain (gumbel then discrete)")->capture_default_str();
  sub->add_option("--colors", o->colors, "Most filaments in the print, background included")->capture_default_str();
  sub->add_option("--swaps", o->swaps, "Most filament swaps")->capture_default_str();
  sub->add_option("--size-mm", o->size_mm, "Long side of the print in mm")->capture_default_str();
  sub->add_option("--nozzle-mm", o->nozzle_mm, "Nozzle diameter; one output pixel is half of it")
      ->capture_default_str();
  sub->add_option("--layer-height", o->layer_height_mm, "Layer height in mm")->capture_default_str();
  sub->add_option("--max-layers", o->max_layers, "Most layers above the base")->capture_default_str();
  sub->add_option("--base-height", o->base_height_mm, "Base thickness in mm (printed as the first layer)")
      ->capture_default_str();
  sub->add_option("--background", o->background,
                  "Base filament: 'dominant' (closest to the image's dominant colour), a name or #rrggbb")
      ->capture_default_str();
  sub->add_option("--library", o->library, "Filament library: HueForge CSV export or JSON (default: built-in)");
  sub->add_flag("--owned-only", o->owned_only, "Use only the filaments marked as owned");
  sub->add_option("--priority-mask", o->priority_mask, "Grey image: white regions count more (e.g. faces)");
  sub->add_option("--priority-weight", o->priority_weight, "How much a white priority pixel counts")
      ->capture_default_str();
  sub->add_option("--seed", o->seed, "Random seed; the same seed gives the same files")->capture_default_str();
  sub->add_option("--max-seconds", o->max_seconds, "Safety cap on the search (0: none); a capped run may vary")
      ->capture_default_str();
  sub->add_option("--smoothness", o->smoothness, "Penalty on height steps between neighbours (0: best colour)")
      ->capture_default_str();
  sub->add_flag("--no-bleed", o->no_bleed, "Leave out the neighbour bleed term of the model");
  sub->add_option("--opacity", o->opacity, "Opacity model: autoforge or beer-lambert")->capture_default_str();
  sub->add_flag("--ascii-stl", o->ascii_stl, "Write model.stl as ASCII");
  sub->add_option("--preview-every", o->preview_every, "Rewrite preview.png every N iterations while solving");
  sub->add_option("--iterations", o->iterations, "Gumbel iterations (0: default)");
  sub->add_option("--effort", o->effort, "Discrete search effort (0: default 600; time grows linearly)");
  sub->callback([o, &env] { run_relief(*o, env); });
}

}  // namespace fabforge::cli
