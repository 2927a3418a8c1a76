// Writing a solved relief: the solid, the previews, the slicer package and the instructions.
#include "fabforge/relief/outputs.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <system_error>
#include <vector>

#include "fabforge/core/atomic_file.hpp"
#include "fabforge/core/color.hpp"
#include "fabforge/core/error.hpp"
#include "fabforge/core/run_context.hpp"
#include "fabforge/core/heightfield.hpp"
#include "fabforge/core/image.hpp"
#include "fabforge/core/stl.hpp"
#include "fabforge/core/threemf.hpp"
#include "fabforge/core/version.hpp"

namespace fabforge::relief {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

/// Pixels between the target and the preview in compare.png.
constexpr int kCompareGap = 4;

/// A length in mm with at most 6 decimals and no trailing zeros ("0.36", "1", "0.025"), at least
/// `min_decimals` decimals.
std::string format_mm(double v, int min_decimals = 0) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.6f", v);
  std::string s = buffer;
  const std::size_t dot = s.find('.');
  std::size_t keep = s.size();
  while (keep > dot + 1 + static_cast<std::size_t>(min_decimals) && s[keep - 1] == '0') --keep;
  if (keep == dot + 1) --keep;  // no decimals left: drop the dot
  s.resize(keep);
  if (s == "-0") s = "0";
  return s;
}

/// The value rounded to 1e-6 so that JSON shows 0.28 rather than 0.28000000000000003.
double round6(double v) { return std::round(v * 1e6) / 1e6; }

std::size_t pixel_index(int x, int y, int width) {
  return static_cast<std::size_t>(y) * static_cast<std::size_t>(width) + static_cast<std::size_t>(x);
}

void check_sizes(const ReliefModel& model, const Target& target, const LayerMap& heights) {
  if (heights.width != target.width || heights.height != target.height)
    throw usage_error("layer map is " + std::to_string(heights.width) + " x " + std::to_string(heights.height) +
                      " pixels but the target is " + std::to_string(target.width) + " x " +
                      std::to_string(target.height));
  FABFORGE_CHECK(heights.z.size() == heights.size() && heights.mask.size() == heights.size(),
                 "layer map sizes disagree");
  for (std::size_t i = 0; i < heights.size(); ++i)
    if (heights.mask[i] && heights.z[i] > model.settings().max_layers)
      throw usage_error("layer map height " + std::to_string(heights.z[i]) + " exceeds the model's " +
                        std::to_string(model.settings().max_layers) + " layers");
}

// ---------------------------------------------------------------------------------------------
// Filament descriptions

/// "Brand - Name" (or the name alone), as swap instructions show it.
std::string swap_name(const Filament& f) { return f.brand.empty() ? f.name : f.brand + " - " + f.name; }

std::string swap_label(const Filament& f) { return swap_name(f) + " (" + color::to_hex(f.color) + ")"; }

json filament_json(const Filament& f, int index) {
  return json{
      {"index", index}, {"brand", f.brand}, {"name", f.name}, {"type", f.type}, {"color", color::to_hex(f.color)},
      {"td", f.td_mm}};
}

/// FNV-1a, 64 bit, with a chosen offset basis (two bases give two independent halves).
std::uint64_t fnv1a(std::string_view text, std::uint64_t basis) {
  std::uint64_t h = basis;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

/// The filament's uuid, or a stable made-up one (RFC 9562 version 8, "custom") derived from
/// its brand, name and colour, so that the same filament always gets the same id.
std::string filament_uuid(const Filament& f) {
  if (!f.uuid.empty()) return f.uuid;
  const std::string key = f.brand + '\x1f' + f.name + '\x1f' + color::to_hex(f.color);
  std::uint64_t hi = fnv1a(key, 0xcbf29ce484222325ULL);
  std::uint64_t lo = fnv1a(key, 0x84222325cbf29ce4ULL);
  hi = (hi & ~0xf000ULL) | 0x8000ULL;                         // version 8
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%08llx-%04llx-%04llx-%04llx-%012llx", static_cast<unsigned long long>(hi >> 32),
                static_cast<unsigned long long>((hi >> 16) & 0xffff), static_cast<unsigned long long>(hi & 0xffff),
                static_cast<unsigned long long>(lo >> 48), static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buffer;
}

// ---------------------------------------------------------------------------------------------
// Slicer metadata

/// PrusaSlicer's colour-change list: one M600 per swap at the swap's print_z.
std::string prusa_custom_gcode_xml(const ReliefModel& model, const std::vector<Swap>& swaps) {
  std::string out = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<custom_gcodes_per_print_z>\n";
  for (const Swap& s : swaps)
    out += "<code print_z=\"" + format_mm(s.z_mm) + "\" type=\"0\" extruder=\"1\" color=\"" +
           color::to_hex(model.filament(s.to).color) + "\" extra=\"\" gcode=\"M600\"/>\n";
  out += "<mode value=\"SingleExtruder\"/>\n</custom_gcodes_per_print_z>\n";
  return out;
}

/// OrcaSlicer / BambuStudio's per-layer G-code list for plate 1.
std::string orca_custom_gcode_xml(const ReliefModel& model, const std::vector<Swap>& swaps) {
  std::string out = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<custom_gcodes_per_layer>\n<plate>\n";
  out += "<plate_info id=\"1\"/>\n";
  for (const Swap& s : swaps)
    out += "<layer top_z=\"" + format_mm(s.z_mm) + "\" type=\"0\" extruder=\"1\" color=\"" +
           color::to_hex(model.filament(s.to).color) + "\" extra=\"\" gcode=\"M600\"/>\n";
  out += "<mode value=\"SingleExtruder\"/>\n</plate>\n</custom_gcodes_per_layer>\n";
  return out;
}

/// PrusaSlicer's print settings. PrusaSlicer parses this file backwards from its end, one
/// "; key = value" line at a time, stops at the first line of any other form and never parses
/// the very first line; so the header comes first, has no '=' and the settings follow it
/// without gaps.
std::string prusa_config(const ModelSettings& s) {
  std::string out = "; fabforge " + std::string(kVersion) + " relief: first layer is the base, then equal layers\n";
  out += "; layer_height = " + format_mm(s.layer_height_mm) + "\n";
  out += "; first_layer_height = " + format_mm(s.base_height_mm) + "\n";
  return out;
}

/// OrcaSlicer / BambuStudio's project settings (JSON, values as strings).
std::string orca_config(const ModelSettings& s) {
  const json config{{"layer_height", format_mm(s.layer_height_mm)},
                    {"initial_layer_print_height", format_mm(s.base_height_mm)}};
  return config.dump(4) + "\n";
}

// ---------------------------------------------------------------------------------------------
// Instructions

std::string swaps_text(const ReliefModel& model, const Stack& stack, const std::vector<Swap>& swaps, int top) {
  const ModelSettings& s = model.settings();
  const double top_mm = s.base_height_mm + top * s.layer_height_mm;
  std::string out = "Filament swaps for this relief (fabforge " + std::string(kVersion) + ")\n\n";
  out += "Layer height: " + format_mm(s.layer_height_mm, 2) + " mm\n";
  out += "Base height: " + format_mm(s.base_height_mm, 2) + " mm (in the background filament)\n";
  out += "Slicer: first layer height " + format_mm(s.base_height_mm, 2) + " mm, then " +
         format_mm(s.layer_height_mm, 2) + " mm layers; 100% infill recommended.\n";
  out +=
      "model.3mf carries these settings and the colour changes (M600) for PrusaSlicer and\n"
      "OrcaSlicer/BambuStudio; with model.stl set them and the pauses by hand.\n\n";
  out += "Start with " + swap_label(model.filament(stack.background)) + " (background) for layer #1, the base.\n";
  for (const Swap& w : swaps)
    out += "At layer #" + std::to_string(w.layer + 1) + " (Z = " + format_mm(w.z_mm, 2) + " mm) swap to " +
           swap_label(model.filament(w.to)) + "\n";
  const int last = swaps.empty() ? stack.background : swaps.back().to;
  if (swaps.empty())
    out += "No swaps: print the whole relief in " + swap_label(model.filament(last)) + ".\n";
  else
    out += "Finish with " + swap_label(model.filament(last)) + ".\n";
  out += "Top of the print: Z = " + format_mm(top_mm, 2) + " mm (layer #" + std::to_string(top + 1) + ").\n";
  out += "Swaps: " + std::to_string(swaps.size()) + ", colours: " + std::to_string(count_colors(stack, top)) + ".\n";
  return out;
}

json swaps_json(const ReliefModel& model, const Stack& stack, const std::vector<Swap>& swaps, int top) {
  const ModelSettings& s = model.settings();
  json list = json::array();
  for (const Swap& w : swaps)
    list.push_back({{"layer", w.layer},
                    {"slicer_layer", w.layer + 1},
                    {"z_mm", round6(w.z_mm)},
                    {"from", filament_json(model.filament(w.from), w.from)},
                    {"to", filament_json(model.filament(w.to), w.to)}});
  const int last = swaps.empty() ? stack.background : swaps.back().to;
  return json{{"layer_height_mm", s.layer_height_mm},
              {"base_height_mm", s.base_height_mm},
              {"first_layer_height_mm", s.base_height_mm},
              {"top_layer", top},
              {"top_z_mm", round6(s.base_height_mm + top * s.layer_height_mm)},
              {"start", filament_json(model.filament(stack.background), stack.background)},
              {"final", filament_json(model.filament(last), last)},
              {"swaps", std::move(list)}};
}

/// HueForge project. filament_set lists one entry per band, top band first, the background
/// last; slider_values lists, bottom to top, the layer where each band above the background
/// starts, counting the base as layer 0 (= the swap's layer), so slider_values[k] belongs to
/// filament_set[n - 2 - k].
json hueforge_project(const ReliefModel& model, const Target& target, const Stack& stack,
                      const std::vector<Swap>& swaps, int top) {
  const ModelSettings& s = model.settings();
  auto entry = [&](int index) {
    const Filament& f = model.filament(index);
    return json{{"Brand", f.brand},
                {"Color", color::to_hex(f.color)},
                {"Name", f.name},
                {"Owned", f.owned},
                {"Transmissivity", f.td_mm},
                {"Type", f.type.empty() ? std::string("PLA") : f.type},
                {"uuid", filament_uuid(f)}};
  };
  json filament_set = json::array();
  for (auto it = swaps.rbegin(); it != swaps.rend(); ++it) filament_set.push_back(entry(it->to));
  filament_set.push_back(entry(stack.background));
  json sliders = json::array();
  for (const Swap& w : swaps) sliders.push_back(w.layer);
  return json{{"base_layer_height", s.base_height_mm},
              {"border_height", s.base_height_mm},
              {"filament_set", std::move(filament_set)},
              {"height_in_mm", round6(target.height * target.pixel_size_mm)},
              {"layer_height", s.layer_height_mm},
              {"max_depth", round6(s.base_height_mm + top * s.layer_height_mm)},
              {"slider_values", std::move(sliders)},
              {"stl", "model.stl"},
              {"version", "0.7.0"},
              {"width_in_mm", round6(target.width * target.pixel_size_mm)}};
}

// ---------------------------------------------------------------------------------------------
// Report

json loss_json(const LossReport& r) {
  return json{{"lab_mse", r.lab_mse},
              {"weighted_lab_mse", r.weighted_lab_mse},
              {"mean_delta_e2000", r.mean_delta_e2000},
              {"pixels", r.pixels}};
}

json make_report(const ReliefModel& model, const Target& target, const SolveResult& result, int top,
                 const OutputOptions& options) {
  const ModelSettings& s = model.settings();
  const Stack& stack = result.stack;
  const LossReport with_bleed = evaluate(target, model.render(stack, result.heights, true));
  const LossReport without_bleed = evaluate(target, model.render(stack, result.heights, false));
  const LossReport& preview = s.bleed ? with_bleed : without_bleed;  // what preview.png shows

  json phases = json::object();
  for (const PhaseTime& p : result.phases)
    phases[p.name] = (phases.contains(p.name) ? phases[p.name].get<double>() : 0.0) + p.seconds;

  std::set<int> used{stack.background};
  std::map<int, int> layer_count;
  const int n = std::min<int>(top, static_cast<int>(stack.layers.size()));
  for (int l = 0; l < n; ++l) {
    const int f = stack.layers[static_cast<std::size_t>(l)];
    used.insert(f);
    ++layer_count[f];
  }
  json palette = json::array();
  for (int f : used) {
    json item = filament_json(model.filament(f), f);
    item["layers"] = layer_count[f];
    item["background"] = f == stack.background;
    palette.push_back(std::move(item));
  }

  json report{{"fabforge_version", kVersion},
              {"solver", result.solver},
              {"iterations", result.iterations},
              {"search_loss", result.search_loss},
              {"phases", std::move(phases)},
              {"loss",
               {{"bleed", s.bleed},
                {"lab_mse", preview.lab_mse},
                {"weighted_lab_mse", preview.weighted_lab_mse},
                {"mean_delta_e2000", preview.mean_delta_e2000},
                {"pixels", preview.pixels}}},
              {"loss_with_bleed", loss_json(with_bleed)},
              {"loss_without_bleed", loss_json(without_bleed)},
              {"colors", count_colors(stack, top)},
              {"swaps", count_swaps(stack, top)},
              {"top_layer", top},
              {"top_mm", round6(s.base_height_mm + top * s.layer_height_mm)},
              {"layer_height_mm", s.layer_height_mm},
              {"base_height_mm", s.base_height_mm},
              {"max_layers", s.max_layers},
              {"opacity_model", s.opacity == OpacityModel::autoforge ? "autoforge" : "beer_lambert"},
              {"background", filament_json(model.filament(stack.background), stack.background)},
              {"palette_used", std::move(palette)},
              {"size",
               {{"width_px", target.width},
                {"height_px", target.height},
                {"printed_px", target.printed},
                {"pixel_size_mm", target.pixel_size_mm},
                {"width_mm", round6(target.width * target.pixel_size_mm)},
                {"height_mm", round6(target.height * target.pixel_size_mm)}}},
              {"peak_memory_mb", round6(peak_resident_mb())}};
  if (!options.report_extra.is_null()) {
    if (!options.report_extra.is_object()) throw usage_error("report_extra must be a JSON object");
    for (const auto& [key, value] : options.report_extra.items()) report[key] = value;
  }
  return report;
}

// ---------------------------------------------------------------------------------------------
// Images

Image8 compare_image(const Target& target, const Image8& preview) {
  const Image8& left = target.rgb;
  FABFORGE_CHECK(left.width == target.width && left.height == target.height && left.channels == 3,
                 "target.rgb must be the 3-channel input at target size");
  const int channels = preview.channels;
  const bool alpha = channels == 4;
  Image8 out(left.width + kCompareGap + preview.width, left.height, channels, Encoding::srgb, alpha ? 0 : 255);
  for (int y = 0; y < left.height; ++y) {
    for (int x = 0; x < left.width; ++x) {
      for (int c = 0; c < 3; ++c) out.at(x, y, c) = left.at(x, y, c);
      if (alpha) out.at(x, y, 3) = target.mask[pixel_index(x, y, target.width)] ? 255 : 0;
    }
    const int x0 = left.width + kCompareGap;
    for (int x = 0; x < preview.width; ++x)
      for (int c = 0; c < channels; ++c) out.at(x0 + x, y, c) = preview.at(x, y, c);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Folders

[[noreturn]] void throw_fs(const std::string& what, const fs::path& path, const std::error_code& ec) {
  throw runtime_error(what + " '" + path.string() + "': " + ec.message());
}

/// `dir` without a trailing separator, so that it has a file name.
fs::path folder_path(const fs::path& dir) {
  fs::path d = dir.lexically_normal();
  if (!d.has_filename() && d.has_parent_path()) d = d.parent_path();
  if (d.empty() || d.filename() == "." || d.filename() == "..")
    throw usage_error("output folder '" + dir.string() + "' must name a folder");
  return d;
}

fs::path sibling(const fs::path& dir, const std::string& tag) {
  return dir.parent_path() / ("." + dir.filename().string() + "." + tag + "-" + std::to_string(::getpid()));
}

/// Removes `path` recursively if it exists, ignoring errors (cleanup on failure paths).
void remove_quietly(const fs::path& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
}

/// Writes every file into `staging` (which exists and is empty).
json write_all(const fs::path& staging, const ReliefModel& model, const Target& target, const SolveResult& result,
               const OutputOptions& options) {
  const Stack& stack = result.stack;
  const LayerMap& heights = result.heights;
  const int top = heights.top();
  const std::vector<Swap> swaps = list_swaps(model, stack, top);

  const Image8 preview = relief_preview(model, target, stack, heights);
  save_png(staging / "preview.png", preview);
  save_png(staging / "compare.png", compare_image(target, preview));

  const Mesh mesh = relief_mesh(model, target, heights);
  write_stl(staging / "model.stl", mesh, options.ascii_stl ? StlFormat::ascii : StlFormat::binary, "relief");

  ThreeMFModel package;
  package.objects.push_back({"relief", mesh, model.filament(stack.background).color});
  package.metadata["Title"] = "relief";
  package.metadata["Application"] = std::string("fabforge ") + kVersion;
  package.extra_files.push_back(
      {"Metadata/Prusa_Slicer_custom_gcode_per_print_z.xml", prusa_custom_gcode_xml(model, swaps), ""});
  package.extra_files.push_back({"Metadata/Slic3r_PE.config", prusa_config(model.settings()), ""});
  package.extra_files.push_back({"Metadata/custom_gcode_per_layer.xml", orca_custom_gcode_xml(model, swaps), ""});
  package.extra_files.push_back({"Metadata/project_settings.config", orca_config(model.settings()), ""});
  write_3mf(staging / "model.3mf", package);

  write_file_atomic(staging / "swaps.txt", swaps_text(model, stack, swaps, top));
  write_file_atomic(staging / "swaps.json", swaps_json(model, stack, swaps, top).dump(2) + "\n");
  write_file_atomic(staging / "project.hfp", hueforge_project(model, target, stack, swaps, top).dump(4) + "\n");

  json report = make_report(model, target, result, top, options);
  write_file_atomic(staging / "report.json", report.dump(2) + "\n");
  return report;
}

}  // namespace

Mesh relief_mesh(const ReliefModel& model, const Target& target, const LayerMap& heights) {
  check_sizes(model, target, heights);
  const ModelSettings& s = model.settings();
  Heightfield field;
  field.width = heights.width;
  field.height = heights.height;
  field.pixel_size_mm = target.pixel_size_mm;
  field.mask = heights.mask;
  field.heights_mm.resize(heights.size(), 0.0f);
  for (std::size_t i = 0; i < heights.size(); ++i)
    if (heights.mask[i]) field.heights_mm[i] = static_cast<float>(s.base_height_mm + heights.z[i] * s.layer_height_mm);
  Mesh mesh = heightfield_to_mesh(field, {HeightfieldStyle::stepped});
  if (mesh.empty()) throw input_error("the relief has no printed pixel");
  return mesh;
}

Image8 relief_preview(const ReliefModel& model, const Target& target, const Stack& stack, const LayerMap& heights) {
  check_sizes(model, target, heights);
  const Image8 rgb = to_image8(model.render(stack, heights));
  const bool any_unprinted = std::any_of(heights.mask.begin(), heights.mask.end(), [](std::uint8_t m) { return !m; });
  if (!any_unprinted) return rgb;
  Image8 rgba(rgb.width, rgb.height, 4);
  for (std::size_t i = 0; i < rgb.pixel_count(); ++i) {
    for (std::size_t c = 0; c < 3; ++c) rgba.pixels[i * 4 + c] = rgb.pixels[i * 3 + c];
    rgba.pixels[i * 4 + 3] = heights.mask[i] ? 255 : 0;
  }
  return rgba;
}

nlohmann::json write_relief_outputs(const fs::path& dir, const ReliefModel& model, const Target& target,
                                    const SolveResult& result, const OutputOptions& options) {
  model.validate(result.stack);
  check_sizes(model, target, result.heights);
  const fs::path out = folder_path(dir);
  std::error_code ec;
  const fs::file_status status = fs::symlink_status(out, ec);
  if (fs::exists(status) && !fs::is_directory(status))
    throw runtime_error("cannot write outputs to '" + out.string() + "': it exists and is not a folder");
  if (out.has_parent_path()) {
    fs::create_directories(out.parent_path(), ec);
    if (ec) throw_fs("cannot create the folder", out.parent_path(), ec);
  }

  const fs::path staging = sibling(out, "partial");
  remove_quietly(staging);
  fs::create_directory(staging, ec);
  if (ec) throw_fs("cannot create the folder", staging, ec);

  json report;
  try {
    report = write_all(staging, model, target, result, options);
    // Swap the finished folder in: the old one (if any) moves aside first and goes last.
    const fs::path old = sibling(out, "old");
    bool moved_old = false;
    if (fs::exists(fs::symlink_status(out, ec))) {
      remove_quietly(old);
      fs::rename(out, old, ec);
      if (ec) throw_fs("cannot replace the folder", out, ec);
      moved_old = true;
    }
    fs::rename(staging, out, ec);
    if (ec) {
      const std::error_code failure = ec;
      if (moved_old) fs::rename(old, out, ec);
      throw_fs("cannot move the outputs into", out, failure);
    }
    if (moved_old) remove_quietly(old);
  } catch (...) {
    remove_quietly(staging);
    throw;
  }
  return report;
}

void write_preview(const fs::path& dir, const ReliefModel& model, const Target& target, const Stack& stack,
                   const LayerMap& heights) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw_fs("cannot create the folder", dir, ec);
  save_png(dir / "preview.png", relief_preview(model, target, stack, heights));
}

}  // namespace fabforge::relief
