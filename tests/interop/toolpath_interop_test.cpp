// Interop for the toolpath pipeline: PrusaSlicer accepts the STL fabforge writes for a part made
// from an image, and fabforge's G-code reader measures PrusaSlicer's G-code for that part the way
// it measures its own: same layers, same footprint, filament within the spread of two
// slicers' infill rules.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>

#include "fabforge/core/image.hpp"

#include "support/test_support.hpp"

namespace fabforge {
namespace {

using test::CommandResult;
using test::TempDir;
namespace fs = std::filesystem;

CommandResult fabforge(std::vector<std::string> args) { return test::run_fabforge(std::move(args)); }

// A dark rounded plate with two holes on white, 0.1 mm per pixel (40 x 30 mm).
fs::path make_plate(const TempDir& dir) {
  Image8 img(400, 300, 1);
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      const double u = x * 0.1, v = y * 0.1;
      const bool plate = u > 5 && u < 35 && v > 5 && v < 25;
      const bool hole = std::hypot(u - 13, v - 15) < 4 || std::hypot(u - 27, v - 15) < 3;
      img.at(x, y) = plate && !hole ? 0 : 255;
    }
  save_png(dir / "plate.png", img);
  return dir / "plate.png";
}

nlohmann::json inspect(const fs::path& gcode) {
  const CommandResult r = fabforge({"inspect", gcode.string(), "--json"});
  EXPECT_NE(r.out.find('{'), std::string::npos) << r.err;
  return nlohmann::json::parse(r.out);
}

TEST(ToolpathInterop, PrusaSlicerSlicesOurPartAndOurReaderMeasuresIt) {
  if (test::run_command({"sh", "-c", "command -v prusa-slicer"}).exit_code != 0)
    GTEST_SKIP() << "prusa-slicer is not installed (scripts/install-deps.sh installs it)";
  TempDir dir;
  const CommandResult ours =
      fabforge({"toolpath", make_plate(dir).string(), "-o", (dir / "ours.gcode").string(), "--width-mm", "40",
                "--thickness-mm", "2", "--stl", (dir / "part.stl").string(), "--infill-pattern", "rectilinear", "-q"});
  ASSERT_EQ(ours.exit_code, 0) << ours.err;
  const CommandResult sliced = test::run_command({"prusa-slicer",
                                                  "--export-gcode",
                                                  "--layer-height",
                                                  "0.2",
                                                  "--first-layer-height",
                                                  "0.2",
                                                  "--perimeters",
                                                  "2",
                                                  "--top-solid-layers",
                                                  "4",
                                                  "--bottom-solid-layers",
                                                  "3",
                                                  "--fill-density",
                                                  "20%",
                                                  "--fill-pattern",
                                                  "rectilinear",
                                                  "--extrusion-width",
                                                  "0.45",
                                                  "--first-layer-extrusion-width",
                                                  "0.5",
                                                  "--skirts",
                                                  "1",
                                                  "--skirt-distance",
                                                  "3",
                                                  "--center",
                                                  "110,110",
                                                  "-o",
                                                  (dir / "prusa.gcode").string(),
                                                  (dir / "part.stl").string()});
  ASSERT_EQ(sliced.exit_code, 0) << sliced.out << sliced.err;

  const nlohmann::json a = inspect(dir / "ours.gcode"), b = inspect(dir / "prusa.gcode");
  EXPECT_EQ(a["problem_count"], 0) << a["problems"].dump();
  EXPECT_EQ(a["layers"], 10);
  EXPECT_EQ(b["layers"], 10) << "PrusaSlicer slices our 2 mm STL into 10 layers of 0.2 mm";
  // The same footprint: extrusion bounds agree within the skirt (3 mm + line).
  for (int axis = 0; axis < 2; ++axis) {
    const double ours_size =
        a["extrusion_bounds"]["max"][axis].get<double>() - a["extrusion_bounds"]["min"][axis].get<double>();
    const double theirs =
        b["extrusion_bounds"]["max"][axis].get<double>() - b["extrusion_bounds"]["min"][axis].get<double>();
    EXPECT_NEAR(ours_size, theirs, 1.0) << "axis " << axis;
  }
  const double fa = a["filament_mm"].get<double>(), fb = b["filament_mm"].get<double>();
  EXPECT_NEAR(fa / fb, 1.0, 0.10) << "ours " << fa << " mm, PrusaSlicer " << fb << " mm";
}

}  // namespace
}  // namespace fabforge
