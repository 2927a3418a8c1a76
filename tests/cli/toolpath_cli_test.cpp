// End-to-end tests of `fabforge toolpath`: G-code that our own checker accepts, extra outputs,
// metamorphic properties (mirror, resolution), determinism across thread counts, and bad input
// giving a clear message, a non-zero exit and no output file.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>

#include "fabforge/core/image.hpp"
#include "fabforge/core/mesh.hpp"
#include "fabforge/core/polygon.hpp"
#include "fabforge/core/stl.hpp"

#include "support/test_support.hpp"

namespace fabforge {
namespace {

using test::CommandResult;
using test::TempDir;
namespace fs = std::filesystem;

CommandResult fabforge(std::vector<std::string> args) { return test::run_fabforge(std::move(args)); }

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// A "keyhole" in units of 1 mm: a disc plus a slot, with a round hole.
bool keyhole(double u, double v) {
  const bool disc = std::hypot(u - 25, v - 25) < 18;
  const bool slot = u > 25 && u < 52 && v > 20 && v < 30;
  const bool hole = std::hypot(u - 20, v - 25) < 5;
  return (disc || slot) && !hole;
}

double keyhole_area() {
  double a = 0;
  for (double v = 0.005; v < 50; v += 0.01)
    for (double u = 0.005; u < 60; u += 0.01) a += keyhole(u, v) ? 1e-4 : 0.0;
  return a;
}

// The keyhole drawn dark and anti-aliased on white, `scale` pixels per mm over a 60 x 50 mm
// image; mirrored about the vertical axis when asked.
fs::path make_shape(const TempDir& dir, const std::string& name, int scale, bool mirror = false) {
  const int w = 60 * scale, h = 50 * scale;
  Image8 img(w, h, 1);
  constexpr int kSub = 4;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      int inside = 0;
      for (int sy = 0; sy < kSub; ++sy)
        for (int sx = 0; sx < kSub; ++sx) {
          double u = (x + (sx + 0.5) / kSub) / scale, v = (y + (sy + 0.5) / kSub) / scale;
          if (mirror) u = 60 - u;
          inside += keyhole(u, v);
        }
      img.at(x, y) = static_cast<std::uint8_t>(255 - 255 * inside / (kSub * kSub));
    }
  const fs::path path = dir / name;
  save_png(path, img);
  return path;
}

std::vector<std::string> job(const fs::path& image, const fs::path& out, std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {"toolpath", image.string(),   "-o",  out.string(), "--width-mm",
                                "60",       "--thickness-mm", "1.2", "-q"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

nlohmann::json inspect(const fs::path& gcode) {
  const CommandResult r = fabforge({"inspect", gcode.string(), "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  return nlohmann::json::parse(r.out);
}

TEST(ToolpathCli, WritesGcodeTheCheckerAccepts) {
  TempDir dir;
  const fs::path img = make_shape(dir, "shape.png", 8);
  const CommandResult r =
      fabforge(job(img, dir / "part.gcode",
                   {"--png", (dir / "preview.png").string(), "--regions-out", (dir / "regions.json").string(), "--stl",
                    (dir / "part.stl").string(), "--report", (dir / "report.json").string(), "--skirt-loops", "0"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(has(r.out, "wrote")) << r.out;
  const nlohmann::json j = inspect(dir / "part.gcode");
  EXPECT_EQ(j["layers"], 6);
  EXPECT_EQ(j["problem_count"], 0);
  // 6 layers of 0.2 mm with 3 bottom and 4 top solid layers: the part is solid throughout, so
  // the filament's volume matches the part's.
  const Regions regions = read_regions(dir / "regions.json");
  const double part_mm3 = area(regions) * 1.2;
  // The profile's purge line is unlabelled ("OTHER"); the part is everything else.
  const double part_filament_mm = j["filament_mm"].get<double>() - j["features"]["OTHER"]["filament_mm"].get<double>();
  const double filament_mm3 = part_filament_mm * 3.14159265358979 * 1.75 * 1.75 / 4;
  EXPECT_NEAR(filament_mm3 / part_mm3, 1.0, 0.03) << "part " << part_mm3 << " mm3, filament " << filament_mm3;
  EXPECT_NEAR(area(regions), keyhole_area(), 0.01 * keyhole_area());
  ASSERT_EQ(regions.islands.size(), 1u);
  EXPECT_EQ(regions.islands[0].holes.size(), 1u);
  const Mesh stl = read_stl(dir / "part.stl");
  EXPECT_TRUE(analyze_mesh(stl).watertight());
  EXPECT_NEAR(analyze_mesh(stl).volume, part_mm3, 1e-3 * part_mm3);
  EXPECT_GT(fs::file_size(dir / "preview.png"), 1000u);
  const auto report = nlohmann::json::parse(test::read_bytes(dir / "report.json"));
  EXPECT_EQ(report["layers"], 6);
}

TEST(ToolpathCli, SameFileOnAnyThreadCount) {
  TempDir dir;
  const fs::path img = make_shape(dir, "shape.png", 4);
  ASSERT_EQ(fabforge(job(img, dir / "a.gcode", {"-j", "1"})).exit_code, 0);
  ASSERT_EQ(fabforge(job(img, dir / "b.gcode", {"-j", "2"})).exit_code, 0);
  EXPECT_EQ(test::read_bytes(dir / "a.gcode"), test::read_bytes(dir / "b.gcode"));
}

TEST(ToolpathCli, MirroredImageGivesEqualLengths) {
  TempDir dir;
  ASSERT_EQ(fabforge(job(make_shape(dir, "a.png", 6), dir / "a.gcode")).exit_code, 0);
  ASSERT_EQ(fabforge(job(make_shape(dir, "b.png", 6, true), dir / "b.gcode")).exit_code, 0);
  const auto a = inspect(dir / "a.gcode"), b = inspect(dir / "b.gcode");
  EXPECT_NEAR(a["filament_mm"].get<double>(), b["filament_mm"].get<double>(), 0.01 * a["filament_mm"].get<double>());
  EXPECT_NEAR(a["printing_mm"].get<double>(), b["printing_mm"].get<double>(), 0.01 * a["printing_mm"].get<double>());
  // Mirrored about the bed centre: the extrusion bounds mirror too.
  EXPECT_NEAR(a["extrusion_bounds"]["min"][0].get<double>() - 110, 110 - b["extrusion_bounds"]["max"][0].get<double>(),
              0.3);
}

TEST(ToolpathCli, DoubledResolutionGivesNearlyEqualFilament) {
  TempDir dir;
  ASSERT_EQ(fabforge(job(make_shape(dir, "lo.png", 5), dir / "lo.gcode")).exit_code, 0);
  ASSERT_EQ(fabforge(job(make_shape(dir, "hi.png", 10), dir / "hi.gcode")).exit_code, 0);
  const double lo = inspect(dir / "lo.gcode")["filament_mm"].get<double>();
  const double hi = inspect(dir / "hi.gcode")["filament_mm"].get<double>();
  EXPECT_NEAR(lo / hi, 1.0, 0.02) << lo << " vs " << hi;
}

TEST(ToolpathCli, BadInputGivesAClearErrorAndNoFile) {
  TempDir dir;
  const fs::path out = dir / "part.gcode";
  // All one colour.
  Image8 blank(100, 80, 1);
  std::fill(blank.pixels.begin(), blank.pixels.end(), 255);
  save_png(dir / "blank.png", blank);
  CommandResult r = fabforge(job(dir / "blank.png", out));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "no part found")) << r.err;
  EXPECT_FALSE(fs::exists(out));
  // Above the configured size limit.
  const fs::path img = make_shape(dir, "shape.png", 8);
  r = fabforge(job(img, out, {"--max-megapixels", "0.1"}));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(has(r.err, "pixels")) << r.err;
  EXPECT_FALSE(fs::exists(out));
  // A profile with an unknown key.
  test::write_bytes(dir / "bad.json", R"({"inherits": "generic-marlin", "nozle_diameter_mm": 0.6})");
  r = fabforge(job(img, out, {"--profile", (dir / "bad.json").string()}));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "nozle_diameter_mm")) << r.err;
  EXPECT_FALSE(fs::exists(out));
  // An unknown bundled profile, a missing image, a part too big for the bed.
  r = fabforge(job(img, out, {"--profile", "makerbot"}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(has(r.err, "generic-marlin")) << r.err;
  r = fabforge(job(dir / "missing.png", out));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "missing.png")) << r.err;
  test::write_bytes(dir / "empty.png", "");  // an empty file
  r = fabforge(job(dir / "empty.png", out));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.err, "empty.png")) << r.err;
  r = fabforge({"toolpath", img.string(), "-o", out.string(), "--width-mm", "400", "-q"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(has(r.err, "does not fit")) << r.err;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"bad.json", "blank.png", "empty.png", "shape.png"}));
}

TEST(ToolpathCli, HeightmapGivesARelief) {
  TempDir dir;
  // A ramp: black on the left (no part) to white (full thickness) on the right.
  Image8 ramp(200, 100, 1);
  for (int y = 0; y < ramp.height; ++y)
    for (int x = 0; x < ramp.width; ++x) ramp.at(x, y) = static_cast<std::uint8_t>(255 * x / (ramp.width - 1));
  save_png(dir / "ramp.png", ramp);
  const CommandResult r = fabforge({"toolpath", (dir / "ramp.png").string(), "-o", (dir / "r.gcode").string(),
                                    "--heightmap", "--width-mm", "40", "--thickness-mm", "2", "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = inspect(dir / "r.gcode");
  EXPECT_EQ(j["layers"], 10);
  EXPECT_EQ(j["problem_count"], 0);
  // A wedge: half the volume of the 40 x 20 x 2 box.
  EXPECT_NEAR(j["filament_volume_mm3"].get<double>() / (40 * 20 * 2 / 2.0), 1.0, 0.12);
}

}  // namespace
}  // namespace fabforge
