// End-to-end tests of `fabforge inspect`: figures, problems and exit statuses, JSON, the PNG,
// coverage against regions, profiles and flavours, and the errors.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <numbers>
#include <string>
#include <vector>

#include "fabforge/core/image.hpp"
#include "fabforge/core/polygon.hpp"

#include "support/test_support.hpp"

namespace fabforge {
namespace {

using test::CommandResult;
using test::TempDir;

CommandResult fabforge(std::vector<std::string> args) { return test::run_fabforge(std::move(args)); }

using test::contains;

// E for a 0.45 mm line at 0.2 mm layers per mm of length (the flow model of flow.hpp).
double e_per_mm() {
  const double w = 0.45, h = 0.2;
  const double area = (w - h) * h + std::numbers::pi * h * h / 4;
  return area / (std::numbers::pi * 1.75 * 1.75 / 4);
}

// Two layers of a 20 mm square wall with one retraction and travel, relative E.
std::string clean_program() {
  const double e = 20 * e_per_mm();
  std::string g = "; fabforge_bed = 0,0,220,220,250\nM104 S210\nM109 S210\nG28\nG90\nM83\n";
  char buf[400];
  for (int layer = 0; layer < 2; ++layer) {
    std::snprintf(buf, sizeof buf,
                  ";LAYER:%d\nG1 Z%.1f F600\nG1 X50 Y50 F6000\n;TYPE:WALL-OUTER\nG1 X70 Y50 E%.5f F1800\n"
                  "G1 X70 Y70 E%.5f\nG1 X50 Y70 E%.5f\nG1 X50 Y50 E%.5f\n",
                  layer, 0.2 * (layer + 1), e, e, e, e);
    g += buf;
    if (layer == 0) g += "G1 E-0.8 F2100\nG1 X10 Y10 F6000\nG1 E0.8 F2100\n";
  }
  g += "G1 Z10 F600\nG1 X0 Y200 F6000\nM104 S0\n";
  return g;
}

std::filesystem::path write(const TempDir& dir, const std::string& name, const std::string& text) {
  test::write_bytes(dir / name, text);
  return dir / name;
}

TEST(InspectCli, CleanFileReportsFiguresAndExitsZero) {
  TempDir dir;
  const auto path = write(dir, "clean.gcode", clean_program());
  CommandResult r = fabforge({"inspect", path.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_TRUE(contains(r.out, "layers:          2\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "retractions:     1\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "printing:        160.0 mm\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "problems:        none\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "WALL-OUTER")) << r.out;
  EXPECT_TRUE(contains(r.out, "time:            0:00:")) << r.out;
  EXPECT_TRUE(contains(r.out, "fabforge_bed")) << r.out;  // the note names where the bed came from
  EXPECT_TRUE(r.err.empty()) << r.err;
}

// Line 8 leaves the 220 mm bed, line 10 has a NaN, line 12 extrudes five times too much.
std::string faulty_program() {
  const double e = 20 * e_per_mm();
  char buf[600];
  std::snprintf(buf, sizeof buf,
                "; fabforge_bed = 0,0,220,220,250\nM104 S210\nG28\nM83\n;LAYER:0\nG1 Z0.2 F600\n"  // 1-6
                "G1 X50 Y50 E%.5f F1800\n"                                                         // 7
                "G1 X230 Y50 F6000\n"                                                              // 8 off the bed
                "G1 X70 Y50\n"                                                                     // 9
                "G1 X nan Y70 E1\n"                                                                // 10
                "G1 X70 Y70 E%.5f\n"                                                               // 11
                "G1 X50 Y70 E%.5f\n",  // 12 five times the flow
                e * 3, e, 5 * e);
  return buf;
}

TEST(InspectCli, FaultyFileListsProblemsAndExitsOne) {
  TempDir dir;
  const auto path = write(dir, "faulty.gcode", faulty_program());
  CommandResult r = fabforge({"inspect", path.string()});
  EXPECT_EQ(r.exit_code, 1) << r.err << r.out;
  EXPECT_TRUE(contains(r.out, "problems:        3\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "line 8: the move to X230.000")) << r.out;
  EXPECT_TRUE(contains(r.out, "line 10: G1 has X = NaN")) << r.out;
  EXPECT_TRUE(contains(r.out, "line 12: the extrusion")) << r.out;
  EXPECT_EQ(r.err.rfind("fabforge: error: ", 0), 0u) << r.err;
  EXPECT_TRUE(contains(r.err, "3 problems")) << r.err;
}

TEST(InspectCli, JsonHasTheFiguresAndProblems) {
  TempDir dir;
  CommandResult r = fabforge({"inspect", "--json", write(dir, "clean.gcode", clean_program()).string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  for (const char* key : {"layers", "filament_mm", "filament_volume_mm3", "printing_mm", "travel_mm", "travel_print_mm",
                          "retractions", "z_hops", "color_changes", "tool_changes", "time_s", "extrusion_bounds",
                          "features", "problems", "problem_count", "notes"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["layers"], 2);
  EXPECT_NEAR(j["printing_mm"].get<double>(), 160, 1e-3);
  EXPECT_NEAR(j["filament_mm"].get<double>(), 160 * e_per_mm(), 1e-3);
  EXPECT_NEAR(j["extrusion_bounds"]["min"][0].get<double>(), 50, 1e-4);
  EXPECT_NEAR(j["extrusion_bounds"]["max"][2].get<double>(), 0.4, 1e-4);
  EXPECT_NEAR(j["features"]["WALL-OUTER"]["printing_mm"].get<double>(), 160, 1e-3);
  EXPECT_GT(j["time_s"].get<double>(), 160.0 / 30);
  EXPECT_EQ(j["problem_count"], 0);
  EXPECT_FALSE(j.contains("coverage"));

  CommandResult bad = fabforge({"inspect", "--json", write(dir, "faulty.gcode", faulty_program()).string()});
  EXPECT_EQ(bad.exit_code, 1);
  const nlohmann::json b = nlohmann::json::parse(bad.out);  // stdout stays pure JSON
  EXPECT_EQ(b["problem_count"], 3);
  ASSERT_EQ(b["problems"].size(), 3u);
  EXPECT_EQ(b["problems"][0]["kind"], "outside_bed");
  EXPECT_EQ(b["problems"][0]["line"], 8);
  EXPECT_EQ(b["problems"][1]["kind"], "not_finite");
  EXPECT_EQ(b["problems"][2]["kind"], "flow");
}

TEST(InspectCli, ManyProblemsAreCutShort) {
  TempDir dir;
  std::string g = "M104 S200\n";
  for (int i = 0; i < 130; ++i) g += "G1 Xnan\n";
  CommandResult r = fabforge({"inspect", write(dir, "nan.gcode", g).string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.out, "problems:        130\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "  ... and 30 more\n")) << r.out;
}

TEST(InspectCli, PngIsWritten) {
  TempDir dir;
  const auto path = write(dir, "clean.gcode", clean_program());
  CommandResult r = fabforge({"inspect", path.string(), "--png", (dir / "top.png").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "wrote ")) << r.out;
  const Image8 img = load_image8(dir / "top.png");
  EXPECT_EQ(img.channels, 3);
  EXPECT_EQ(img.height, 24 * 8);  // 20 mm square plus 2 mm margins at 8 px/mm
  // A wall pixel: the bottom edge (y = 50) at x = 60.
  const int x = (60 - 48) * 8, y = (72 - 50) * 8;
  EXPECT_NE(img.at(x, y, 0) + img.at(x, y, 1) + img.at(x, y, 2), 3 * 255);
  // One layer coloured by layer, over the regions (which also give the coverage figure: the wall
  // alone covers a thin frame of the square).
  Regions square;
  square.islands.push_back({{{50, 50}, {70, 50}, {70, 70}, {50, 70}}, {}});
  write_regions(dir / "square.json", square);
  CommandResult layer = fabforge({"inspect", path.string(), "--png", (dir / "l2.png").string(), "--layer", "2",
                                  "--color-by", "layer", "--regions", (dir / "square.json").string()});
  EXPECT_EQ(layer.exit_code, 0) << layer.err;
  EXPECT_TRUE(contains(layer.out, "coverage:        layer 1: ")) << layer.out;
  const Image8 l2 = load_image8(dir / "l2.png");
  EXPECT_EQ(l2.at(x, y - 5 * 8, 0), 225);  // the region's inside, drawn light grey
  // Nothing else is left in the directory (no temporary files).
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"clean.gcode", "l2.png", "square.json", "top.png"}));
}

TEST(InspectCli, CoverageAgainstRegions) {
  TempDir dir;
  // A raster of the flow model's spacing over a 10 mm square.
  const double w = 0.45, h = 0.2, spacing = w - h * (1 - std::numbers::pi / 4), e = 10 * e_per_mm();
  std::string g = "M104 S200\nM83\n;LAYER:0\n;TYPE:SKIN\nG1 Z0.2 F600\n";
  char buf[200];
  int k = 0;
  for (double y = 20 + w / 2; y < 30; y += spacing, ++k) {
    std::snprintf(buf, sizeof buf, "G1 X%d Y%.4f F6000\nG1 X%d Y%.4f E%.5f F1800\n", k % 2 ? 30 : 20, y,
                  k % 2 ? 20 : 30, y, e);
    g += buf;
  }
  Regions r;
  r.islands.push_back({{{20, 20}, {30, 20}, {30, 30}, {20, 30}}, {}});
  write_regions(dir / "regions.json", r);
  const auto path = write(dir, "raster.gcode", g);
  CommandResult json = fabforge(
      {"inspect", path.string(), "--json", "--regions", (dir / "regions.json").string(), "--coverage-layer", "1"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const nlohmann::json j = nlohmann::json::parse(json.out);
  EXPECT_GE(j["coverage"]["fraction"].get<double>(), 0.97);
  EXPECT_NEAR(j["coverage"]["region_area_mm2"].get<double>(), 100, 1e-9);
  EXPECT_EQ(j["coverage"]["layer"], 1);
  CommandResult beyond =
      fabforge({"inspect", path.string(), "--regions", (dir / "regions.json").string(), "--coverage-layer", "3"});
  EXPECT_EQ(beyond.exit_code, 2) << beyond.err;
  EXPECT_TRUE(contains(beyond.err, "--coverage-layer 3")) << beyond.err;
}

TEST(InspectCli, ProfileAndFlavour) {
  TempDir dir;
  // Outside the Ender-3's 220 x 220 bed (the file declares none: without a profile it passes).
  const std::string g = "M104 S200\nM83\nG1 Z0.2 F600\nG1 X240 Y100 E10 F1800\n";
  const auto path = write(dir, "wide.gcode", g);
  CommandResult ender = fabforge({"inspect", path.string(), "--profile", "ender3"});
  EXPECT_EQ(ender.exit_code, 1);
  EXPECT_TRUE(contains(ender.out, "leaves the bed")) << ender.out;
  // G90 after M83: Marlin takes E5 as absolute (E +3), Klipper as relative (E +5).
  const auto modes = write(dir, "modes.gcode", "M104 S200\nG92 E0\nM83\nG1 X5 E2 F1200\nG90\nG1 X10 E5\n");
  const auto filament = [&](const std::string& flavor) {
    CommandResult r = fabforge({"inspect", "--json", modes.string(), "--flavor", flavor});
    return nlohmann::json::parse(r.out)["filament_mm"].get<double>();
  };
  EXPECT_NEAR(filament("marlin"), 5, 1e-9);
  EXPECT_NEAR(filament("klipper"), 7, 1e-9);
}

TEST(InspectCli, Errors) {
  TempDir dir;
  CommandResult missing = fabforge({"inspect", (dir / "nope.gcode").string()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err.rfind("fabforge: error: ", 0), 0u) << missing.err;
  EXPECT_TRUE(contains(missing.err, "nope.gcode")) << missing.err;
  const auto path = write(dir, "clean.gcode", clean_program());
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"inspect", path.string(), "--bogus"},
           {"inspect", path.string(), "--layer", "1"},  // --layer needs --png
           {"inspect", path.string(), "--png", (dir / "x.png").string(), "--layer", "9"},
           {"inspect", path.string(), "--profile", "no-such-printer"}}) {
    CommandResult r = fabforge(args);
    EXPECT_EQ(r.exit_code, 2) << args.back() << ": " << r.err;
    EXPECT_EQ(r.err.rfind("fabforge: error: ", 0), 0u) << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "x.png"));
}

}  // namespace
}  // namespace fabforge
