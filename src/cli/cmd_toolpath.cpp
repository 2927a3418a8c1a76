// fabforge toolpath IMAGE -o part.gcode: a picture becomes FDM G-code directly, no CAD and no
// slicer: image -> regions -> layers -> paths -> G-code, each stage a library call with plain data
// between them (see docs/architecture.md).

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "fabforge/core/atomic_file.hpp"
#include "fabforge/core/error.hpp"
#include "fabforge/core/image.hpp"
#include "fabforge/core/stl.hpp"
#include "fabforge/core/text.hpp"
#include "fabforge/gcode/analysis.hpp"
#include "fabforge/gcode/profile.hpp"
#include "fabforge/gcode/writer.hpp"
#include "fabforge/toolpath/layers.hpp"
#include "fabforge/toolpath/plan.hpp"
#include "fabforge/toolpath/regions.hpp"

#include "app.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#include <sys/mman.h>
#endif

namespace fabforge::cli {

namespace {

using namespace fabforge::toolpath;

struct ToolpathOptions {
  std::string input, output, profile = "generic-marlin";
  std::string png, regions_out, stl, report;
  int png_layer = 1;
  // Image to regions.
  std::string mode = "auto";
  int threshold = -1;
  bool invert = false;
  double width_mm = 0, height_mm = 0, dpi = 0;
  std::string at;
  double min_feature_mm2 = -1, simplify_mm = -1, sketch_gap_mm = -1;
  double max_megapixels = 50;
  bool heightmap = false;
  // Layers.
  double thickness_mm = 2, first_layer_height_mm = 0.2, layer_height_mm = 0.2;
  // Paths.
  double line_width_mm = 0, first_layer_line_width_mm = 0;
  int perimeters = 2, top_layers = 4, bottom_layers = 3;
  std::string infill_density = "20%";
  std::string infill_pattern = "gyroid", solid_pattern = "zigzag";
  double infill_angle_deg = 45;
  int skirt_loops = 1;
  double skirt_distance_mm = 3;
  bool no_avoid_crossing = false;
  int optimize = 2;
  // Writer.
  std::vector<double> color_change_z;
  double z_hop_mm = -1, retract_min_travel_mm = -1;
};

double parse_density(const std::string& text) {
  std::string_view s = trim(text);
  const bool percent = !s.empty() && s.back() == '%';
  if (percent) s.remove_suffix(1);
  double v = 0;
  try {
    std::size_t used = 0;
    v = std::stod(std::string(s), &used);
    if (used != s.size()) throw std::invalid_argument("trailing");
  } catch (const std::exception&) {
    throw usage_error("--infill-density: expected a fraction like 0.2 or a percentage like 20%, got \"" + text + "\"");
  }
  if (percent || v > 1) v /= 100;
  if (!(v >= 0 && v <= 1)) throw usage_error("--infill-density must lie between 0 and 100%");
  return v;
}

Point2 parse_at(const std::string& text, const gcode::PrinterProfile& profile) {
  if (text.empty())
    return {profile.bed_origin_x_mm + profile.bed_width_mm / 2, profile.bed_origin_y_mm + profile.bed_depth_mm / 2};
  const auto comma = text.find(',');
  try {
    if (comma == std::string::npos) throw std::invalid_argument("no comma");
    std::size_t u1 = 0, u2 = 0;
    const std::string xs = text.substr(0, comma), ys = text.substr(comma + 1);
    const Point2 p{std::stod(xs, &u1), std::stod(ys, &u2)};
    if (u1 != xs.size() || u2 != ys.size() || !std::isfinite(p.x) || !std::isfinite(p.y))
      throw std::invalid_argument("x");
    return p;
  } catch (const std::exception&) {
    throw usage_error("--at: expected X,Y in mm (e.g. 110,110), got \"" + text + "\"");
  }
}

struct Regioned {
  std::vector<LayerRegions> layers;
  Regions first_layer;
  RegionReport report;
};

Regioned make_layers(const ToolpathOptions& o, const gcode::PrinterProfile& profile, double line_width,
                     RunContext& ctx) {
  const Image8 image = load_image8(o.input);
  RegionParams rp;
  rp.mode = parse_region_mode(o.mode);
  if (o.threshold >= 0) rp.threshold = o.threshold;
  rp.invert = o.invert;
  rp.placement = {o.width_mm, o.height_mm, o.dpi, parse_at(o.at, profile)};
  rp.min_feature_area_mm2 = o.min_feature_mm2;
  rp.simplify_tolerance_mm = o.simplify_mm;
  rp.line_width_mm = line_width;
  rp.sketch_gap_mm = o.sketch_gap_mm;
  rp.max_pixels = static_cast<std::int64_t>(o.max_megapixels * 1e6);
  LayerParams lp{o.thickness_mm, o.first_layer_height_mm, o.layer_height_mm};
  Regioned out;
  if (o.heightmap) {
    out.layers = image_heightmap_layers(image, rp, lp);
    if (out.layers.empty() || out.layers.front().regions.empty())
      throw input_error(o.input + ": no part found: every pixel is black (height 0) or transparent");
    out.report.mm_per_pixel = mm_per_pixel(rp.placement, image.width, image.height);
    out.report.area_mm2 = area(out.layers.front().regions);
    out.report.islands = static_cast<int>(out.layers.front().regions.islands.size());
  } else {
    ImageRegions ir = image_to_regions(image, rp, ctx);
    out.report = std::move(ir.report);
    out.layers = extrude_layers(ir.regions, lp);
  }
  out.first_layer = out.layers.front().regions;
  return out;
}

std::string fmt(const char* format, double a, double b = 0, double c = 0) {
  char buf[256];
  std::snprintf(buf, sizeof buf, format, a, b, c);
  return buf;
}

// A toolpath job of a typical picture takes about a tenth of a second, and a third of that went
// to page faults: the image stages allocate and free a dozen image-sized buffers, which glibc
// serves with fresh mmap pages (4 KiB faults, expensive on virtual machines) and unmaps on free.
// So for this command: keep freed blocks in the heap, and back the first 64 MiB of the main heap
// with transparent huge pages (the kernel's default THP mode is "madvise"). Measured on the horse
// example: image stages 34 -> 15 ms. Worker threads keep their own arenas (one shared arena made
// planning slower). Only here: on relief jobs keeping freed memory raised peak memory by 17 %.
void prepare_heap() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr std::size_t kHeap = std::size_t{64} << 20, kHuge = std::size_t{2} << 20;
  mallopt(M_TOP_PAD, static_cast<int>(kHeap));
  if (void* block = std::malloc(kHeap)) {
    const auto start = reinterpret_cast<std::uintptr_t>(block);
    const std::uintptr_t aligned = (start + kHuge - 1) & ~(kHuge - 1);
    if (aligned + kHuge < start + kHeap)
      madvise(reinterpret_cast<void*>(aligned), start + kHeap - kHuge - aligned, MADV_HUGEPAGE);  // advice only
    std::free(block);  // stays in the heap (below the trim threshold) for the job to reuse
  }
#endif
#endif
}

void run_toolpath(const ToolpathOptions& o, CommandEnv& env) {
  prepare_heap();
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  gcode::PrinterProfile profile = gcode::load_profile(o.profile);
  if (o.z_hop_mm >= 0) profile.z_hop_mm = o.z_hop_mm;
  if (o.retract_min_travel_mm >= 0) profile.retract_min_travel_mm = o.retract_min_travel_mm;
  const double nozzle = profile.nozzle_diameter_mm;
  const double line_width = o.line_width_mm > 0 ? o.line_width_mm : 1.125 * nozzle;

  PlanParams pp;
  pp.nozzle_diameter_mm = nozzle;
  pp.line_width_mm = line_width;
  pp.first_layer_line_width_mm = o.first_layer_line_width_mm > 0 ? o.first_layer_line_width_mm : 1.25 * nozzle;
  pp.perimeters = o.perimeters;
  pp.top_layers = o.top_layers;
  pp.bottom_layers = o.bottom_layers;
  pp.infill_density = parse_density(o.infill_density);
  pp.sparse_pattern = parse_infill_pattern(o.infill_pattern);
  pp.solid_pattern = parse_infill_pattern(o.solid_pattern);
  pp.infill_angle_deg = o.infill_angle_deg;
  pp.skirt_loops = o.skirt_loops;
  pp.skirt_distance_mm = o.skirt_distance_mm;
  pp.avoid_crossing_perimeters = !o.no_avoid_crossing;
  pp.optimize = o.optimize;

  RunContext& ctx = env.context();
  const Regioned reg = make_layers(o, profile, line_width, ctx);
  if (!o.heightmap)
    env.note(std::string("toolpath: ") + std::string(region_mode_name(reg.report.mode_used)) + " mode" +
             (reg.report.mode_reason.empty() ? "" : " (" + reg.report.mode_reason + ")"));
  for (const std::string& s : reg.report.open_strokes) env.note("toolpath: not printed: " + s);
  for (const std::string& w : reg.report.warnings) env.note("toolpath: warning: " + w);
  const double regions_s = std::chrono::duration<double>(Clock::now() - t0).count();

  const PlannedToolpaths planned = plan_toolpaths(reg.layers, pp, ctx);
  for (const std::string& w : planned.report.warnings) env.note("toolpath: warning: " + w);

  gcode::WriteOptions wo;
  wo.color_change_z_mm = o.color_change_z;
  wo.header_notes.push_back("source image: " + o.input);
  const gcode::WrittenGcode written = gcode::write_gcode(planned.toolpaths, profile, wo);
  ctx.throw_if_cancelled();

  // Everything is computed; now write the files (each atomically).
  if (!o.png.empty()) {
    gcode::RenderOptions ro;
    ro.only_layer = std::max(0, o.png_layer - 1);
    ro.underlay = &reg.first_layer;
    const std::vector<std::uint8_t> png = encode_png(render_top_view(written.analysis, ro));
    write_file_atomic(o.png, std::string_view(reinterpret_cast<const char*>(png.data()), png.size()));
  }
  if (!o.regions_out.empty()) write_regions(o.regions_out, reg.first_layer);
  if (!o.stl.empty()) write_stl(o.stl, layers_to_mesh(reg.layers));
  write_file_atomic(o.output, written.text);
  const double total_s = std::chrono::duration<double>(Clock::now() - t0).count();

  const gcode::GcodeStats& s = written.analysis.stats;
  std::string text;
  text += fmt("toolpath: %.0f layers, %.0f paths, first layer %.1f mm2", static_cast<double>(reg.layers.size()),
              static_cast<double>(planned.report.paths), area(reg.first_layer));
  text += fmt(" in %.0f island(s)\n", static_cast<double>(reg.first_layer.islands.size()));
  text += fmt("filament %.1f mm (%.2f cm3), travel %.1f mm (first to last extrusion), ", s.filament_mm,
              s.filament_volume_mm3 / 1000, s.travel_print_mm);
  text += fmt("%.0f retractions, estimated time %.1f min\n", s.retractions, s.time_s / 60);
  for (const gcode::Problem& p : written.analysis.problems) text += "check: " + p.message + "\n";
  text += "wrote " + o.output + fmt(" in %.2f s (regions %.2f s)\n", total_s, regions_s);
  env.out() << text;
  if (!o.report.empty()) {
    nlohmann::json j = {{"regions",
                         {{"mode", std::string(region_mode_name(reg.report.mode_used))},
                          {"mode_reason", reg.report.mode_reason},
                          {"threshold", reg.report.threshold_used},
                          {"mm_per_pixel", reg.report.mm_per_pixel},
                          {"islands", reg.first_layer.islands.size()},
                          {"area_mm2", area(reg.first_layer)},
                          {"open_strokes", reg.report.open_strokes}}},
                        {"layers", reg.layers.size()},
                        {"paths", planned.report.paths},
                        {"gap_fill_paths", planned.report.gap_fill_paths},
                        {"dropped_area_mm2", planned.report.dropped_area_mm2},
                        {"filament_mm", s.filament_mm},
                        {"printing_mm", s.printing_mm},
                        {"travel_mm", s.travel_mm},
                        {"travel_print_mm", s.travel_print_mm},
                        {"retractions", s.retractions},
                        {"time_s", s.time_s},
                        {"wall_s", total_s}};
    write_file_atomic(o.report, j.dump(2) + "\n");
  }
}

}  // namespace

void register_toolpath(CLI::App& app, CommandEnv& env) {
  auto o = std::make_shared<ToolpathOptions>();
  CLI::App* sub =
      app.add_subcommand("toolpath", "Turn a picture (silhouette, sketch, logo, cross-section) into FDM G-code");
  sub->add_option("image", o->input, "PNG or JPEG; pixels with alpha < 128 are background")->required();
  sub->add_option("-o,--output", o->output, "G-code file to write")->required();
  sub->add_option("--profile", o->profile,
                  "Printer: generic-marlin, prusa-mk3, ender3, generic-klipper, or a JSON file")
      ->capture_default_str();
  sub->add_option("--png", o->png, "Also write a top view of the paths over the region");
  sub->add_option("--png-layer", o->png_layer, "Layer shown by --png (1-based)")->capture_default_str();
  sub->add_option("--regions-out", o->regions_out, "Also write the first layer's regions (JSON, mm)");
  sub->add_option("--stl", o->stl, "Also write the part as an STL (the layers extruded), e.g. for a slicer");
  sub->add_option("--report", o->report, "Also write figures as JSON");
  auto* g = sub->add_option_group("image to regions");
  g->add_option("--mode", o->mode, "silhouette, sketch or auto")->capture_default_str();
  g->add_option("--threshold", o->threshold, "Luminance threshold 0-255 (default: Otsu)")->check(CLI::Range(0, 255));
  g->add_flag("--invert", o->invert, "Take the other side of the threshold as the part");
  g->add_option("--width-mm", o->width_mm, "Width of the whole image in mm");
  g->add_option("--height-mm", o->height_mm, "Height of the whole image in mm");
  g->add_option("--dpi", o->dpi, "Image resolution in pixels per inch");
  g->add_option("--at", o->at, "Bed position X,Y (mm) of the image centre (default: bed centre)");
  g->add_option("--min-feature-mm2", o->min_feature_mm2,
                "Drop islands and holes smaller than this (default from line width)");
  g->add_option("--simplify-mm", o->simplify_mm, "Contour simplification tolerance (default: line width / 4)");
  g->add_option("--sketch-gap-mm", o->sketch_gap_mm, "Sketch mode: close gaps in strokes up to this size (default 1)");
  g->add_option("--max-megapixels", o->max_megapixels, "Refuse larger images")->capture_default_str();
  g->add_flag("--heightmap", o->heightmap, "Read the image as grey heights (white = --thickness-mm) to print a relief");
  auto* l = sub->add_option_group("layers");
  l->add_option("--thickness-mm", o->thickness_mm, "Part thickness (mm)")->capture_default_str();
  l->add_option("--first-layer-height", o->first_layer_height_mm, "mm")->capture_default_str();
  l->add_option("--layer-height", o->layer_height_mm, "mm")->capture_default_str();
  auto* p = sub->add_option_group("paths");
  p->add_option("--line-width", o->line_width_mm, "Extrusion width in mm (default 1.125 x nozzle)");
  p->add_option("--first-layer-line-width", o->first_layer_line_width_mm, "mm (default 1.25 x nozzle)");
  p->add_option("--perimeters", o->perimeters, "Walls")->capture_default_str();
  p->add_option("--top-layers", o->top_layers, "Solid layers at the top")->capture_default_str();
  p->add_option("--bottom-layers", o->bottom_layers, "Solid layers at the bottom")->capture_default_str();
  p->add_option("--infill-density", o->infill_density, "Sparse infill, 0-100% (or 0-1)")->capture_default_str();
  p->add_option("--infill-pattern", o->infill_pattern,
                "Sparse infill: rectilinear, zigzag, concentric, honeycomb, triangles, gyroid")
      ->capture_default_str();
  p->add_option("--solid-pattern", o->solid_pattern, "Solid layers: zigzag, rectilinear or concentric")
      ->capture_default_str();
  p->add_option("--infill-angle", o->infill_angle_deg, "Degrees; alternates by 90 per layer")->capture_default_str();
  p->add_option("--skirt-loops", o->skirt_loops, "Loops around the part on layer 1 (0: none)")->capture_default_str();
  p->add_option("--skirt-distance", o->skirt_distance_mm, "mm")->capture_default_str();
  p->add_flag("--no-avoid-crossing", o->no_avoid_crossing, "Retract on every travel longer than the minimum");
  p->add_option("--optimize", o->optimize, "Travel optimisation: 0 nearest neighbour, 1 +2-opt, 2 +Or-opt and seams")
      ->capture_default_str();
  auto* w = sub->add_option_group("G-code");
  w->add_option("--color-change-at", o->color_change_z,
                "Insert a colour change (M600) above this height (mm); repeatable");
  w->add_option("--z-hop", o->z_hop_mm, "Lift on retraction (mm), overriding the profile");
  w->add_option("--retract-min-travel", o->retract_min_travel_mm,
                "Shorter travels never retract (mm), overriding the profile");
  sub->callback([o, &env] { run_toolpath(*o, env); });
}

}  // namespace fabforge::cli
