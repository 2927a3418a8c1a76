// Interop: the model.3mf of a relief must slice in a real slicer exactly as promised. Debian's
// PrusaSlicer slices it with no settings on the command line, so the layer heights come from the
// package's Metadata/Slic3r_PE.config and the colour changes from its custom G-code list; the
// G-code must start at Z = base height, step by the layer height and hold one M600 per swap,
// right at the start of the first layer printed with the new filament.

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "fabforge/core/color.hpp"
#include "fabforge/relief/filament_library.hpp"
#include "fabforge/relief/outputs.hpp"
#include "fabforge/relief/solve.hpp"

#include "support/test_support.hpp"

namespace fabforge::relief {
namespace {

using test::TempDir;

const char* kSlicer = "prusa-slicer";

bool have_slicer() {
  return test::run_command({"sh", "-c", std::string("command -v ") + kSlicer + " >/dev/null"}).exit_code == 0;
}

struct Change {
  double z = 0;       ///< the layer the change precedes (last ";Z:" before it)
  std::string color;  ///< from ";COLOR_CHANGE,T0,#RRGGBB"
};

struct Gcode {
  std::vector<double> layer_z;  ///< every ";Z:" in order
  std::vector<Change> changes;  ///< every ";COLOR_CHANGE"
  int m600 = 0;                 ///< lines that are exactly "M600"
};

Gcode parse_gcode(const std::string& text) {
  Gcode g;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind(";Z:", 0) == 0) {
      g.layer_z.push_back(std::stod(line.substr(3)));
    } else if (line.rfind(";COLOR_CHANGE", 0) == 0) {
      const std::size_t hash = line.find('#');
      g.changes.push_back(
          {g.layer_z.empty() ? -1.0 : g.layer_z.back(), hash == std::string::npos ? "" : line.substr(hash, 7)});
    } else if (line == "M600" || line.rfind("M600 ", 0) == 0 || line.rfind("M600;", 0) == 0) {
      ++g.m600;
    }
  }
  return g;
}

TEST(ReliefInterop, PrusaSlicerPrintsOurLayersAndColourChanges) {
  if (!have_slicer()) GTEST_SKIP() << kSlicer << " is not installed; run scripts/install-deps.sh";

  // 30 x 20 mm at 1 mm pixels; heights rise from 0 to 12 layers left to right.
  const auto& lib = default_filament_library().filaments;
  ModelSettings settings;
  settings.max_layers = 16;
  settings.layer_height_mm = 0.04;
  settings.base_height_mm = 0.24;
  const ReliefModel model(std::vector<Filament>(lib.begin(), lib.begin() + 4), settings);

  Image8 image(60, 40, 3);
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x)
      for (int c = 0; c < 3; ++c) image.at(x, y, c) = static_cast<std::uint8_t>(x * 4);
  TargetOptions options;
  options.long_side_mm = 30;
  options.nozzle_mm = 2.0;
  const Target target = make_target(image, options);
  ASSERT_EQ(target.width, 30);
  ASSERT_EQ(target.height, 20);

  SolveResult result;
  result.solver = "interop";
  result.stack.background = 0;
  // A swap right after the base (layer 1), then at layers 4, 8 and 11; 13..16 are never printed.
  result.stack.layers = {1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 1, 1, 1, 2, 2, 2};
  result.heights.width = target.width;
  result.heights.height = target.height;
  result.heights.mask = target.mask;
  result.heights.z.resize(target.size());
  for (int y = 0; y < target.height; ++y)
    for (int x = 0; x < target.width; ++x)
      result.heights.z[static_cast<std::size_t>(y * target.width + x)] = static_cast<std::uint16_t>(x * 12 / 29);
  const int top = result.heights.top();
  ASSERT_EQ(top, 12);
  const std::vector<Swap> swaps = list_swaps(model, result.stack, top);
  ASSERT_EQ(swaps.size(), 4u);

  TempDir tmp;
  write_relief_outputs(tmp / "out", model, target, result, {});
  const auto gcode_path = tmp / "model.gcode";
  const test::CommandResult run =
      test::run_command({kSlicer, "--export-gcode", "-o", gcode_path.string(), (tmp / "out" / "model.3mf").string()});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const Gcode g = parse_gcode(test::read_bytes(gcode_path));

  // Layers: the base as the first layer, then one layer per layer height up to the top.
  ASSERT_EQ(g.layer_z.size(), static_cast<std::size_t>(top + 1));
  EXPECT_NEAR(g.layer_z.front(), settings.base_height_mm, 1e-6);
  for (std::size_t i = 1; i < g.layer_z.size(); ++i)
    EXPECT_NEAR(g.layer_z[i] - g.layer_z[i - 1], settings.layer_height_mm, 1e-6) << "layer " << i + 1;
  EXPECT_NEAR(g.layer_z.back(), settings.base_height_mm + top * settings.layer_height_mm, 1e-6);

  // One colour change per swap, each before the first layer printed in the new filament.
  EXPECT_EQ(g.m600, static_cast<int>(swaps.size()));
  ASSERT_EQ(g.changes.size(), swaps.size());
  for (std::size_t k = 0; k < swaps.size(); ++k) {
    EXPECT_NEAR(g.changes[k].z, swaps[k].z_mm, 1e-6) << "swap " << k;
    EXPECT_EQ(g.changes[k].color, color::to_hex(model.filament(swaps[k].to).color)) << "swap " << k;
  }
}

}  // namespace
}  // namespace fabforge::relief
