// fabforge inspect FILE.gcode: what a G-code program does (layers, filament, lengths, time,
// features) and what is wrong with it (moves off the bed, E running backwards, NaN, extrusion
// before heating, implausible flow), for any slicer's output. Optionally a top-view PNG and the
// coverage of a layer against the regions it was meant to fill.

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <string>

#include "fabforge/core/atomic_file.hpp"
#include "fabforge/core/error.hpp"
#include "fabforge/core/image.hpp"
#include "fabforge/core/polygon.hpp"
#include "fabforge/gcode/analysis.hpp"
#include "fabforge/gcode/profile.hpp"
#include "fabforge/gcode/writer.hpp"

#include "app.hpp"

namespace fabforge::cli {

namespace {

using namespace fabforge::gcode;

constexpr double kPlaDensityGPerCm3 = 1.24;

struct InspectOptions {
  std::string path;
  bool json = false;
  std::string png;
  ColorBy color_by = ColorBy::feature;
  int layer = 0;  // 1-based; 0: all layers
  std::string profile;
  std::optional<Flavor> flavor;
  std::string regions;
  int coverage_layer = 1;
};

struct Coverage {
  int layer = 0;  // 1-based
  double fraction = 0;
  double region_area_mm2 = 0;
};

std::string fmt(const char* f, double a, double b = 0, double c = 0, double d = 0) {
  char buf[200];
  const int n = std::snprintf(buf, sizeof buf, f, a, b, c, d);
  return n < 0 ? std::string() : std::string(buf);
}

std::string hms(double seconds) {
  const long long s = std::llround(std::max(0.0, seconds));
  char buf[64];
  const int n = std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
  return n < 0 ? std::string() : std::string(buf);
}

double grams(const GcodeAnalysis& a) { return a.stats.filament_volume_mm3 / 1000.0 * kPlaDensityGPerCm3; }

bool feature_used(const FeatureStats& f) { return f.printing_mm > 0 || f.filament_mm != 0; }

void print_text(std::ostream& out, const InspectOptions& o, const GcodeAnalysis& a,
                const std::optional<Coverage>& cov) {
  const GcodeStats& s = a.stats;
  out << "file:            " << o.path << "\n";
  out << "flavour:         " << flavor_name(a.flavor) << "\n";
  out << "lines:           " << s.lines << " (" << s.moves << " moves)\n";
  out << "layers:          " << s.layers << "\n";
  out << "filament:        "
      << fmt("%.1f mm, %.2f g, %.1f mm^3 (%.2f mm filament at 1.24 g/cm^3)", s.filament_mm, grams(a),
             s.filament_volume_mm3, a.filament_diameter_mm)
      << "\n";
  out << "printing:        " << fmt("%.1f mm", s.printing_mm) << "\n";
  out << "travel:          "
      << fmt("%.1f mm (%.1f mm between the first and the last extrusion)", s.travel_mm, s.travel_print_mm) << "\n";
  out << "retractions:     " << s.retractions << "\n";
  out << "z-hops:          " << s.z_hops << "\n";
  out << "colour changes:  " << s.color_changes << "\n";
  out << "tool changes:    " << s.tool_changes << "\n";
  out << "time:            " << hms(s.time_s) << fmt(" (%.0f s)", s.time_s) << "\n";
  if (s.printing_mm > 0) {
    out << "extrusion:       "
        << fmt("X %.3f..%.3f  Y %.3f..%.3f", s.extrusion_min[0], s.extrusion_max[0], s.extrusion_min[1],
               s.extrusion_max[1])
        << fmt("  Z %.3f..%.3f mm", s.extrusion_min[2], s.extrusion_max[2]) << "\n";
    out << "features:        feature       filament mm   printing mm      time\n";
    for (int f = 0; f < kFeatureCount; ++f) {
      const FeatureStats& fs = s.features[f];
      if (!feature_used(fs)) continue;
      char line[160];
      std::snprintf(line, sizeof line, "                 %-12s %12.1f  %12.1f  %8s\n",
                    std::string(feature_name(static_cast<Feature>(f))).c_str(), fs.filament_mm, fs.printing_mm,
                    hms(fs.time_s).c_str());
      out << line;
    }
  }
  if (cov) {
    out << "coverage:        layer " << cov->layer
        << fmt(": %.1f %% of the regions' %.1f mm^2 is covered by extrusion", 100 * cov->fraction, cov->region_area_mm2)
        << "\n";
  }
  if (a.ok()) {
    out << "problems:        none\n";
  } else {
    out << "problems:        " << a.problem_count << "\n";
    for (const Problem& p : a.problems) out << "  " << p.message << "\n";
    if (a.problem_count > a.problems.size()) out << "  ... and " << a.problem_count - a.problems.size() << " more\n";
  }
  if (!a.notes.empty()) {
    out << "notes:\n";
    for (const std::string& n : a.notes) out << "  " << n << "\n";
  }
}

nlohmann::json to_json(const InspectOptions& o, const GcodeAnalysis& a, const std::optional<Coverage>& cov) {
  const GcodeStats& s = a.stats;
  nlohmann::json j;
  j["file"] = o.path;
  j["flavor"] = std::string(flavor_name(a.flavor));
  j["lines"] = s.lines;
  j["moves"] = s.moves;
  j["layers"] = s.layers;
  j["filament_mm"] = s.filament_mm;
  j["filament_volume_mm3"] = s.filament_volume_mm3;
  j["filament_g"] = grams(a);
  j["filament_diameter_mm"] = a.filament_diameter_mm;
  j["printing_mm"] = s.printing_mm;
  j["travel_mm"] = s.travel_mm;
  j["travel_print_mm"] = s.travel_print_mm;
  j["retractions"] = s.retractions;
  j["z_hops"] = s.z_hops;
  j["color_changes"] = s.color_changes;
  j["tool_changes"] = s.tool_changes;
  j["time_s"] = s.time_s;
  j["extrusion_bounds"] = {{"min", {s.extrusion_min[0], s.extrusion_min[1], s.extrusion_min[2]}},
                           {"max", {s.extrusion_max[0], s.extrusion_max[1], s.extrusion_max[2]}}};
  nlohmann::json features = nlohmann::json::object();
  for (int f = 0; f < kFeatureCount; ++f) {
    const FeatureStats& fs = s.features[f];
    if (!feature_used(fs)) continue;
    features[std::string(feature_name(static_cast<Feature>(f)))] = {
        {"filament_mm", fs.filament_mm}, {"printing_mm", fs.printing_mm}, {"time_s", fs.time_s}};
  }
  j["features"] = features;
  nlohmann::json problems = nlohmann::json::array();
  for (const Problem& p : a.problems) {
    problems.push_back({{"kind", std::string(problem_kind_name(p.kind))}, {"line", p.line}, {"message", p.message}});
  }
  j["problems"] = problems;
  j["problem_count"] = a.problem_count;
  j["notes"] = a.notes;
  if (cov) {
    j["coverage"] = {{"layer", cov->layer}, {"fraction", cov->fraction}, {"region_area_mm2", cov->region_area_mm2}};
  }
  if (!o.png.empty()) j["png"] = o.png;
  return j;
}

AnalyzeOptions analysis_options(const InspectOptions& o) {
  AnalyzeOptions opts;
  if (!o.profile.empty()) opts = analyze_options_for(load_profile(o.profile));
  if (o.flavor) opts.flavor = o.flavor;
  return opts;
}

void check_layer(int layer, const GcodeAnalysis& a, const char* option) {
  if (layer > a.stats.layers) {
    throw usage_error(std::string(option) + " " + std::to_string(layer) + ": the program has only " +
                      std::to_string(a.stats.layers) + " layers");
  }
}

void write_png(const InspectOptions& o, const GcodeAnalysis& a, const Regions* underlay) {
  RenderOptions r;
  r.color_by = o.color_by;
  if (o.layer > 0) r.only_layer = o.layer - 1;
  r.underlay = underlay;
  const Image8 img = render_top_view(a, r);
  const std::vector<std::uint8_t> bytes = encode_png(img);
  write_file_atomic(o.png, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

void run_inspect(const InspectOptions& o, CommandEnv& env) {
  const AnalyzeOptions opts = analysis_options(o);
  RunContext& ctx = env.context();
  const GcodeAnalysis a = analyze_gcode_file(o.path, opts);
  ctx.throw_if_cancelled();
  if (o.layer > 0) check_layer(o.layer, a, "--layer");
  std::optional<Regions> regions;
  std::optional<Coverage> cov;
  if (!o.regions.empty()) {
    regions = read_regions(o.regions);
    check_layer(o.coverage_layer, a, "--coverage-layer");
    Coverage c;
    c.layer = o.coverage_layer;
    c.region_area_mm2 = area(*regions);
    c.fraction = ctx.run([&] { return layer_coverage(a, static_cast<std::size_t>(o.coverage_layer - 1), *regions); });
    cov = c;
  }
  if (!o.png.empty()) write_png(o, a, regions ? &*regions : nullptr);
  if (o.json) {
    env.out() << to_json(o, a, cov).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    print_text(env.out(), o, a, cov);
    if (!o.png.empty()) env.out() << "wrote " << o.png << "\n";
  }
  env.out().flush();
  if (!a.ok()) {
    throw input_error(o.path + ": the checks found " + std::to_string(a.problem_count) +
                      (a.problem_count == 1 ? " problem" : " problems") + " (listed above)");
  }
}

}  // namespace

void register_inspect(CLI::App& app, CommandEnv& env) {
  auto o = std::make_shared<InspectOptions>();
  CLI::App* sub = app.add_subcommand(
      "inspect",
      "Measure and check a G-code file: layers, filament, travel, time, features, and what is wrong with it");
  sub->add_option("file", o->path, "G-code file from any slicer")->required();
  sub->add_flag("--json", o->json, "Print the report as one JSON object");
  CLI::Option* png = sub->add_option("--png", o->png, "Write a top view of the moves as a PNG image");
  const std::map<std::string, ColorBy> colors{{"feature", ColorBy::feature}, {"layer", ColorBy::layer}};
  sub->add_option("--color-by", o->color_by, "Colour the PNG by feature or by layer")
      ->transform(CLI::CheckedTransformer(colors, CLI::ignore_case))
      ->needs(png);
  sub->add_option("--layer", o->layer, "Draw only this layer (1-based) in the PNG")
      ->check(CLI::PositiveNumber)
      ->needs(png);
  sub->add_option("--profile", o->profile,
                  "Printer profile (bundled name or .json file) for the bed, flavour, diameters and motion limits");
  const std::map<std::string, Flavor> flavors{
      {"marlin", Flavor::marlin}, {"klipper", Flavor::klipper}, {"reprap", Flavor::reprap}};
  sub->add_option("--flavor", o->flavor,
                  "Firmware whose G90/G91/M82/M83 rules apply (default: the file's own, else marlin)")
      ->transform(CLI::CheckedTransformer(flavors, CLI::ignore_case));
  CLI::Option* regions = sub->add_option("--regions", o->regions,
                                         "Regions JSON (fabforge toolpath --regions-out) to measure coverage against");
  sub->add_option("--coverage-layer", o->coverage_layer, "Layer (1-based) whose coverage of the regions is measured")
      ->check(CLI::PositiveNumber)
      ->needs(regions)
      ->capture_default_str();
  sub->callback([o, &env] { run_inspect(*o, env); });
}

}  // namespace fabforge::cli
