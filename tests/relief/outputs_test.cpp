// Writing a solved relief: every file of the output folder, read back and checked for what it
// promises (a closed solid of the right size, colour changes on layer boundaries that match the
// swap list, a HueForge project of the right size), and the all-or-nothing folder replacement.
#include "fabforge/relief/outputs.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <string>
#include <vector>

#include "fabforge/core/color.hpp"
#include "fabforge/core/error.hpp"
#include "fabforge/core/heightfield.hpp"
#include "fabforge/core/image.hpp"
#include "fabforge/core/mesh.hpp"
#include "fabforge/core/stl.hpp"
#include "fabforge/core/threemf.hpp"
#include "fabforge/relief/filament_library.hpp"
#include "fabforge/relief/solve.hpp"

#include "support/test_support.hpp"

namespace fabforge::relief {
namespace {

using nlohmann::json;
using test::TempDir;
namespace fs = std::filesystem;

constexpr int kLayers = 20;
constexpr double kLayer = 0.04;
constexpr double kBase = 0.24;

ReliefModel make_model() {
  const auto& lib = default_filament_library().filaments;
  std::vector<Filament> palette(lib.begin(), lib.begin() + 5);
  ModelSettings s;
  s.max_layers = kLayers;
  s.layer_height_mm = kLayer;
  s.base_height_mm = kBase;
  return ReliefModel(palette, s);
}

/// An 80 x 60 gradient (optionally with a transparent hole), 8 mm long side: a 40 x 30 px target.
Target make_small_target(bool hole) {
  Image8 image(80, 60, 4);
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      image.at(x, y, 0) = static_cast<std::uint8_t>(x * 3);
      image.at(x, y, 1) = static_cast<std::uint8_t>(y * 4);
      image.at(x, y, 2) = static_cast<std::uint8_t>(200 - x);
      image.at(x, y, 3) = hole && x >= 20 && x < 36 && y >= 20 && y < 32 ? 0 : 255;
    }
  }
  TargetOptions options;
  options.long_side_mm = 8;
  options.nozzle_mm = 0.4;
  return make_target(image, options);
}

/// Bands: background for layers 1-2, then filament 1 from layer 3, 2 from 6, 3 from 9, 1 again
/// from 13; heights rise left to right to 16 layers, so the last layers (17..20, filament 4)
/// are never printed and bring no swap.
SolveResult make_result(const Target& target) {
  SolveResult r;
  r.stack.background = 0;
  r.stack.layers = {0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 1, 1, 1, 1, 4, 4, 4, 4};
  r.heights.width = target.width;
  r.heights.height = target.height;
  r.heights.mask = target.mask;
  r.heights.z.resize(target.size());
  for (int y = 0; y < target.height; ++y)
    for (int x = 0; x < target.width; ++x)
      r.heights.z[static_cast<std::size_t>(y * target.width + x)] = static_cast<std::uint16_t>(
          std::max<long>(0, std::lround(16.0 * x / (target.width - 1)) - (y % 3 == 0 ? 1 : 0)));
  r.solver = "test";
  r.iterations = 7;
  r.search_loss = 12.5;
  r.phases = {{"init", 0.5}, {"search", 1.25}, {"search", 0.25}};
  return r;
}

double expected_volume(const Target& target, const LayerMap& heights) {
  double sum = 0;
  for (std::size_t i = 0; i < heights.size(); ++i)
    if (heights.mask[i]) sum += kBase + heights.z[i] * kLayer;
  return sum * target.pixel_size_mm * target.pixel_size_mm;
}

// The values of every ` attribute="..."` in the text, in order (no std::regex: GCC 12 warns
// inside it under the sanitizer build).
std::vector<std::string> attribute_strings(const std::string& xml, const std::string& attribute) {
  std::vector<std::string> out;
  const std::string key = " " + attribute + "=\"";
  for (std::size_t at = xml.find(key); at != std::string::npos; at = xml.find(key, at + 1)) {
    const std::size_t begin = at + key.size();
    const std::size_t end = xml.find('"', begin);
    if (end == std::string::npos) break;
    out.push_back(xml.substr(begin, end - begin));
  }
  return out;
}

std::vector<double> attribute_values(const std::string& xml, const std::string& attribute) {
  std::vector<double> out;
  for (const std::string& v : attribute_strings(xml, attribute)) out.push_back(std::stod(v));
  return out;
}

const PackageFile* find_extra(const ThreeMFModel& m, const std::string& path) {
  for (const PackageFile& f : m.extra_files)
    if (f.path == path) return &f;
  return nullptr;
}

json read_json(const fs::path& path) { return json::parse(test::read_bytes(path)); }

class ReliefOutputs : public ::testing::Test {
 protected:
  ReliefModel model = make_model();
  Target target = make_small_target(true);
  SolveResult result = make_result(target);
};

TEST_F(ReliefOutputs, CaseIsWhatTheTestsAssume) {
  ASSERT_EQ(target.width, 40);
  ASSERT_EQ(target.height, 30);
  EXPECT_EQ(result.heights.top(), 16);
  EXPECT_EQ(count_swaps(result.stack, 16), 4);
  EXPECT_LT(target.printed, target.size());
}

TEST_F(ReliefOutputs, MeshIsClosedSolidOfTheRightSizeAndVolume) {
  const Mesh mesh = relief_mesh(model, target, result.heights);
  const MeshReport r = analyze_mesh(mesh);
  EXPECT_TRUE(r.watertight());
  EXPECT_NEAR(r.bounds.min.x, 0, 1e-5);
  EXPECT_NEAR(r.bounds.min.y, 0, 1e-5);
  EXPECT_NEAR(r.bounds.min.z, 0, 1e-5);
  EXPECT_NEAR(r.bounds.max.x, 40 * 0.2, 1e-4);
  EXPECT_NEAR(r.bounds.max.y, 30 * 0.2, 1e-4);
  EXPECT_NEAR(r.bounds.max.z, kBase + 16 * kLayer, 1e-5);
  EXPECT_NEAR(r.volume, expected_volume(target, result.heights), 1e-4);
}

TEST_F(ReliefOutputs, PreviewIsTheRenderWithTransparentHoles) {
  const Image8 preview = relief_preview(model, target, result.stack, result.heights);
  ASSERT_EQ(preview.width, 40);
  ASSERT_EQ(preview.height, 30);
  ASSERT_EQ(preview.channels, 4);
  const Image8 rgb = to_image8(model.render(result.stack, result.heights));
  for (std::size_t i = 0; i < target.size(); ++i) {
    EXPECT_EQ(preview.pixels[i * 4 + 3], target.mask[i] ? 255 : 0);
    if (target.mask[i]) {
      for (std::size_t c = 0; c < 3; ++c) ASSERT_EQ(preview.pixels[i * 4 + c], rgb.pixels[i * 3 + c]);
    }
  }
  const Target full = make_small_target(false);
  const SolveResult full_result = make_result(full);
  EXPECT_EQ(relief_preview(model, full, full_result.stack, full_result.heights).channels, 3);
}

TEST_F(ReliefOutputs, WritesEveryFile) {
  TempDir tmp;
  OutputOptions options;
  options.report_extra = {{"settings", {{"colors", 8}}}, {"input", "gradient.png"}};
  const json report = write_relief_outputs(tmp / "out", model, target, result, options);
  EXPECT_EQ(tmp.entries(), std::vector<std::string>{"out"});
  const fs::path out = tmp / "out";
  for (const char* name : {"preview.png", "compare.png", "model.stl", "model.3mf", "swaps.txt", "swaps.json",
                           "project.hfp", "report.json"})
    EXPECT_TRUE(fs::is_regular_file(out / name)) << name;

  // Images.
  const Image8 preview = load_image8(out / "preview.png");
  EXPECT_EQ(preview.width, 40);
  EXPECT_EQ(preview.height, 30);
  EXPECT_EQ(preview.channels, 4);
  const Image8 compare = load_image8(out / "compare.png");
  EXPECT_EQ(compare.width, 2 * 40 + 4);
  EXPECT_EQ(compare.height, 30);

  // STL: binary, closed, the right size and volume.
  EXPECT_NE(test::read_bytes(out / "model.stl").rfind("solid", 0), 0u);
  const MeshReport stl = analyze_mesh(read_stl(out / "model.stl"));
  EXPECT_TRUE(stl.closed);
  EXPECT_GT(stl.volume, 0);
  EXPECT_NEAR(stl.bounds.size().x, 8.0, 1e-4);
  EXPECT_NEAR(stl.bounds.size().y, 6.0, 1e-4);
  EXPECT_NEAR(stl.bounds.size().z, kBase + 16 * kLayer, 1e-5);
  EXPECT_NEAR(stl.volume, expected_volume(target, result.heights), 1e-4);

  // 3MF: one object in the background colour, the same solid, and the slicer metadata.
  const ThreeMFModel package = read_3mf(out / "model.3mf");
  ASSERT_EQ(package.objects.size(), 1u);
  EXPECT_EQ(package.objects[0].name, "relief");
  ASSERT_TRUE(package.objects[0].color.has_value());
  EXPECT_EQ(*package.objects[0].color, model.filament(0).color);
  const MeshReport m3 = analyze_mesh(package.objects[0].mesh);
  EXPECT_TRUE(m3.watertight());
  EXPECT_NEAR(m3.volume, expected_volume(target, result.heights), 1e-4);

  const std::vector<Swap> swaps = list_swaps(model, result.stack, 16);
  ASSERT_EQ(swaps.size(), 4u);
  const PackageFile* prusa = find_extra(package, "Metadata/Prusa_Slicer_custom_gcode_per_print_z.xml");
  const PackageFile* orca = find_extra(package, "Metadata/custom_gcode_per_layer.xml");
  ASSERT_NE(prusa, nullptr);
  ASSERT_NE(orca, nullptr);
  EXPECT_NE(prusa->content.find("<mode value=\"SingleExtruder\"/>"), std::string::npos);
  EXPECT_NE(orca->content.find("<plate_info id=\"1\"/>"), std::string::npos);
  for (const auto& [file, attribute] : {std::pair{prusa, "print_z"}, std::pair{orca, "top_z"}}) {
    const std::vector<double> zs = attribute_values(file->content, attribute);
    ASSERT_EQ(zs.size(), swaps.size()) << file->path;
    for (std::size_t k = 0; k < zs.size(); ++k) {
      EXPECT_NEAR(zs[k], swaps[k].z_mm, 1e-9) << file->path;
      const double layers = (zs[k] - kBase) / kLayer;
      EXPECT_NEAR(layers, std::round(layers), 1e-6) << "not on a layer boundary: " << zs[k];
    }
    const std::vector<std::string> colors = attribute_strings(file->content, "color");
    ASSERT_EQ(colors.size(), swaps.size());
    for (std::size_t k = 0; k < swaps.size(); ++k)
      EXPECT_EQ(colors[k], color::to_hex(model.filament(swaps[k].to).color));
  }
  EXPECT_NEAR(attribute_values(prusa->content, "print_z")[0], kBase + 3 * kLayer, 1e-9);

  const PackageFile* prusa_config = find_extra(package, "Metadata/Slic3r_PE.config");
  ASSERT_NE(prusa_config, nullptr);
  const std::string& pc = prusa_config->content;
  EXPECT_EQ(pc.substr(0, pc.find('\n')).find('='), std::string::npos) << "PrusaSlicer skips the first line";
  EXPECT_NE(pc.find("\n; layer_height = 0.04\n"), std::string::npos) << pc;
  EXPECT_NE(pc.find("\n; first_layer_height = 0.24\n"), std::string::npos) << pc;
  const PackageFile* orca_config = find_extra(package, "Metadata/project_settings.config");
  ASSERT_NE(orca_config, nullptr);
  const json oc = json::parse(orca_config->content);
  EXPECT_EQ(oc.at("layer_height"), "0.04");
  EXPECT_EQ(oc.at("initial_layer_print_height"), "0.24");

  // swaps.txt and swaps.json.
  const std::string text = test::read_bytes(out / "swaps.txt");
  EXPECT_NE(text.find("Layer height: 0.04 mm"), std::string::npos) << text;
  EXPECT_NE(text.find("Base height: 0.24 mm"), std::string::npos) << text;
  const Filament& f1 = model.filament(1);
  EXPECT_NE(text.find("At layer #4 (Z = 0.36 mm) swap to " + f1.brand + " - " + f1.name + " (" +
                      color::to_hex(f1.color) + ")"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("At layer #14 (Z = 0.76 mm)"), std::string::npos) << text;
  EXPECT_NE(text.find("Start with " + model.filament(0).brand + " - " + model.filament(0).name), std::string::npos);
  EXPECT_NE(text.find("Top of the print: Z = 0.88 mm"), std::string::npos) << text;

  const json sj = read_json(out / "swaps.json");
  ASSERT_EQ(sj.at("swaps").size(), static_cast<std::size_t>(count_swaps(result.stack, 16)));
  for (std::size_t k = 0; k < swaps.size(); ++k) {
    const json& s = sj["swaps"][k];
    EXPECT_EQ(s.at("layer"), swaps[k].layer);
    EXPECT_EQ(s.at("slicer_layer"), swaps[k].layer + 1);
    EXPECT_NEAR(s.at("z_mm").get<double>(), swaps[k].z_mm, 1e-9);
    EXPECT_EQ(s.at("to").at("color"), color::to_hex(model.filament(swaps[k].to).color));
    EXPECT_EQ(s.at("from").at("name"), model.filament(swaps[k].from).name);
    EXPECT_DOUBLE_EQ(s.at("to").at("td").get<double>(), model.filament(swaps[k].to).td_mm);
    EXPECT_TRUE(s.at("to").contains("brand"));
  }

  // project.hfp.
  const json hfp = read_json(out / "project.hfp");
  EXPECT_DOUBLE_EQ(hfp.at("layer_height").get<double>(), kLayer);
  EXPECT_DOUBLE_EQ(hfp.at("base_layer_height").get<double>(), kBase);
  EXPECT_DOUBLE_EQ(hfp.at("border_height").get<double>(), kBase);
  EXPECT_NEAR(hfp.at("max_depth").get<double>(), kBase + 16 * kLayer, 1e-9);
  EXPECT_NEAR(hfp.at("width_in_mm").get<double>(), 8.0, 1e-9);
  EXPECT_NEAR(hfp.at("height_in_mm").get<double>(), 6.0, 1e-9);
  EXPECT_EQ(hfp.at("stl"), "model.stl");
  EXPECT_TRUE(hfp.at("version").is_string());
  EXPECT_EQ(hfp.at("slider_values"), json({3, 6, 9, 13}));
  const json& set = hfp.at("filament_set");
  ASSERT_EQ(set.size(), 5u);
  // Top band first, background last.
  const std::vector<int> bands_top_first{1, 3, 2, 1, 0};
  for (std::size_t k = 0; k < set.size(); ++k) {
    const Filament& f = model.filament(bands_top_first[k]);
    EXPECT_EQ(set[k].at("Color"), color::to_hex(f.color)) << k;
    EXPECT_EQ(set[k].at("Name"), f.name);
    EXPECT_EQ(set[k].at("Brand"), f.brand);
    EXPECT_DOUBLE_EQ(set[k].at("Transmissivity").get<double>(), f.td_mm);
    EXPECT_TRUE(set[k].at("Owned").is_boolean());
    EXPECT_FALSE(set[k].at("Type").get<std::string>().empty());
    EXPECT_FALSE(set[k].at("uuid").get<std::string>().empty());
  }
  EXPECT_EQ(set[0].at("uuid"), set[3].at("uuid")) << "the same filament keeps its id";

  // report.json.
  const json file_report = read_json(out / "report.json");
  EXPECT_EQ(file_report, report);
  EXPECT_EQ(report.at("solver"), "test");
  EXPECT_EQ(report.at("iterations"), 7);
  EXPECT_DOUBLE_EQ(report.at("search_loss").get<double>(), 12.5);
  EXPECT_DOUBLE_EQ(report.at("phases").at("init").get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(report.at("phases").at("search").get<double>(), 1.5);
  const LossReport bleed = evaluate(target, model.render(result.stack, result.heights, true));
  const LossReport no_bleed = evaluate(target, model.render(result.stack, result.heights, false));
  EXPECT_DOUBLE_EQ(report.at("loss").at("lab_mse").get<double>(), bleed.lab_mse);
  EXPECT_DOUBLE_EQ(report.at("loss_with_bleed").at("mean_delta_e2000").get<double>(), bleed.mean_delta_e2000);
  EXPECT_DOUBLE_EQ(report.at("loss_without_bleed").at("weighted_lab_mse").get<double>(), no_bleed.weighted_lab_mse);
  EXPECT_NE(bleed.lab_mse, no_bleed.lab_mse);
  EXPECT_EQ(report.at("colors"), count_colors(result.stack, 16));
  EXPECT_EQ(report.at("swaps"), 4);
  EXPECT_EQ(report.at("top_layer"), 16);
  ASSERT_EQ(report.at("palette_used").size(), 4u);  // filament 4 lies above the top
  for (const json& f : report.at("palette_used")) EXPECT_NE(f.at("index"), 4);
  EXPECT_EQ(report.at("size").at("width_px"), 40);
  EXPECT_EQ(report.at("size").at("height_px"), 30);
  EXPECT_NEAR(report.at("size").at("width_mm").get<double>(), 8.0, 1e-9);
  EXPECT_GT(report.at("peak_memory_mb").get<double>(), 1.0);
  EXPECT_EQ(report.at("settings").at("colors"), 8);
  EXPECT_EQ(report.at("input"), "gradient.png");
}

TEST_F(ReliefOutputs, AsciiStlOption) {
  TempDir tmp;
  OutputOptions options;
  options.ascii_stl = true;
  write_relief_outputs(tmp / "out", model, target, result, options);
  const std::string bytes = test::read_bytes(tmp / "out" / "model.stl");
  EXPECT_EQ(bytes.rfind("solid", 0), 0u);
  EXPECT_NE(bytes.find("endsolid"), std::string::npos);
  EXPECT_NEAR(analyze_mesh(read_stl(tmp / "out" / "model.stl")).volume, expected_volume(target, result.heights), 1e-4);
}

TEST_F(ReliefOutputs, NoSwapsStillWritesEverything) {
  TempDir tmp;
  result.stack.layers.assign(kLayers, 0);
  write_relief_outputs(tmp / "out", model, target, result, {});
  const ThreeMFModel package = read_3mf(tmp / "out" / "model.3mf");
  const PackageFile* prusa = find_extra(package, "Metadata/Prusa_Slicer_custom_gcode_per_print_z.xml");
  ASSERT_NE(prusa, nullptr);
  EXPECT_TRUE(attribute_values(prusa->content, "print_z").empty());
  const json hfp = read_json(tmp / "out" / "project.hfp");
  EXPECT_EQ(hfp.at("filament_set").size(), 1u);
  EXPECT_TRUE(hfp.at("slider_values").empty());
  EXPECT_TRUE(read_json(tmp / "out" / "swaps.json").at("swaps").empty());
  EXPECT_NE(test::read_bytes(tmp / "out" / "swaps.txt").find("No swaps"), std::string::npos);
}

TEST_F(ReliefOutputs, RewritingReplacesTheFolder) {
  TempDir tmp;
  const fs::path out = tmp / "out";
  write_relief_outputs(out, model, target, result, {});
  test::write_bytes(out / "stray.txt", "old");
  result.solver = "second";
  write_relief_outputs(out.string() + "/", model, target, result, {});
  EXPECT_FALSE(fs::exists(out / "stray.txt"));
  EXPECT_EQ(read_json(out / "report.json").at("solver"), "second");
  EXPECT_EQ(tmp.entries(), std::vector<std::string>{"out"});
}

TEST_F(ReliefOutputs, FailureLeavesNothingBehind) {
  TempDir tmp;
  // The parent is a regular file.
  test::write_bytes(tmp / "file", "x");
  EXPECT_THROW(write_relief_outputs(tmp / "file" / "out", model, target, result, {}), Error);
  // The destination is a regular file: not replaced.
  EXPECT_THROW(write_relief_outputs(tmp / "file", model, target, result, {}), Error);
  EXPECT_EQ(test::read_bytes(tmp / "file"), "x");
  EXPECT_EQ(tmp.entries(), std::vector<std::string>{"file"});

  // A failure half way (nothing printed: no solid) after some files were staged; an existing
  // folder stays as it was.
  const fs::path out = tmp / "out";
  write_relief_outputs(out, model, target, result, {});
  SolveResult empty = result;
  std::fill(empty.heights.mask.begin(), empty.heights.mask.end(), 0);
  EXPECT_THROW(write_relief_outputs(out, model, target, empty, {}), Error);
  EXPECT_EQ(tmp.entries(), (std::vector<std::string>{"file", "out"}));
  EXPECT_EQ(read_json(out / "report.json").at("solver"), "test");

  // Sizes that do not fit are refused before anything is written.
  SolveResult wrong = result;
  wrong.heights.width = 10;
  EXPECT_THROW(write_relief_outputs(tmp / "other", model, target, wrong, {}), Error);
  EXPECT_EQ(tmp.entries(), (std::vector<std::string>{"file", "out"}));
}

TEST_F(ReliefOutputs, WritePreviewCreatesTheFolder) {
  TempDir tmp;
  const fs::path dir = tmp / "a" / "b";
  write_preview(dir, model, target, result.stack, result.heights);
  const Image8 preview = load_image8(dir / "preview.png");
  EXPECT_EQ(preview.width, 40);
  EXPECT_EQ(preview.height, 30);
  write_preview(dir, model, target, result.stack, result.heights);  // rewrites in place
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator{}), 1);
}

}  // namespace
}  // namespace fabforge::relief
