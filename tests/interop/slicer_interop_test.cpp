// Interop: the files fabforge writes must be accepted by a real slicer. Debian's PrusaSlicer CLI
// slices them to G-code; we then check the G-code for what the files promised (layers up to the
// part's height, and the colour change carried in 3MF metadata).

#include <gtest/gtest.h>

#include <cstdlib>
#include <algorithm>

#include "fabforge/core/heightfield.hpp"
#include "fabforge/core/stl.hpp"
#include "fabforge/core/threemf.hpp"

#include "support/test_support.hpp"

namespace fabforge {
namespace {

using test::TempDir;

const char* kSlicer = "prusa-slicer";

struct Sliced {
  int exit_code = -1;
  std::string log;
  std::string gcode;
};

Sliced slice(const std::filesystem::path& model, const TempDir& dir) {
  const auto out = dir / (model.stem().string() + ".gcode");
  test::CommandResult r = test::run_command({kSlicer, "--export-gcode", "--layer-height", "0.2", "--first-layer-height",
                                             "0.2", "-o", out.string(), model.string()});
  Sliced s;
  s.exit_code = r.exit_code;
  s.log = r.out + r.err;
  if (std::filesystem::exists(out)) s.gcode = test::read_bytes(out);
  return s;
}

// Highest Z of a printing layer, from PrusaSlicer's ";Z:" layer comments.
double top_layer_z(const std::string& gcode) {
  double top = 0;
  for (std::size_t pos = gcode.find("\n;Z:"); pos != std::string::npos; pos = gcode.find("\n;Z:", pos + 1)) {
    top = std::max(top, std::stod(gcode.substr(pos + 4, 16)));
  }
  return top;
}

void require_slicer() {
  ASSERT_EQ(test::run_command({"sh", "-c", std::string("command -v ") + kSlicer}).exit_code, 0)
      << kSlicer << " is not installed; run scripts/install-deps.sh";
}

Heightfield stepped_field() {
  Heightfield f;
  f.width = 80;
  f.height = 50;
  f.pixel_size_mm = 0.5;
  f.heights_mm.resize(80 * 50);
  f.mask.resize(80 * 50);
  for (int y = 0; y < f.height; ++y) {
    for (int x = 0; x < f.width; ++x) {
      const double r = std::hypot(x - 40.0, y - 25.0);
      f.heights_mm[std::size_t(y * f.width + x)] =
          static_cast<float>(1.0 + 0.4 * std::floor((25 - std::min(r, 25.0)) / 5));
      f.mask[std::size_t(y * f.width + x)] = (x > 5 && x < 30 && y > 20 && y < 30) ? 0 : 1;  // a slot through it
    }
  }
  return f;
}

TEST(SlicerInterop, PrusaSlicerSlicesOurBinaryAndAsciiStl) {
  require_slicer();
  TempDir dir;
  write_stl(dir / "box_bin.stl", test::make_box({0, 0, 0}, {20, 15, 10}), StlFormat::binary);
  write_stl(dir / "box_ascii.stl", test::make_box({0, 0, 0}, {20, 15, 10}), StlFormat::ascii);
  for (const char* name : {"box_bin.stl", "box_ascii.stl"}) {
    Sliced s = slice(dir / name, dir);
    ASSERT_EQ(s.exit_code, 0) << s.log;
    EXPECT_NEAR(top_layer_z(s.gcode), 10.0, 1e-6) << name;
  }
}

TEST(SlicerInterop, PrusaSlicerSlicesOurHeightfieldSolid) {
  require_slicer();
  TempDir dir;
  const Mesh mesh = heightfield_to_mesh(stepped_field(), {});
  write_stl(dir / "relief.stl", mesh);
  Sliced s = slice(dir / "relief.stl", dir);
  ASSERT_EQ(s.exit_code, 0) << s.log;
  EXPECT_EQ(s.log.find("repaired"), std::string::npos) << "slicer had to repair the mesh:\n" << s.log;
  EXPECT_NEAR(top_layer_z(s.gcode), 3.0, 0.21);  // tallest step is 1.0 + 5 * 0.4 mm
}

TEST(SlicerInterop, PrusaSlicerReadsOur3mfObjectsAndColourChange) {
  require_slicer();
  TempDir dir;
  ThreeMFModel model;
  model.objects.push_back({"base", test::make_box({0, 0, 0}, {30, 30, 2}), color::Rgb8{255, 255, 255}});
  model.objects.push_back({"tower", test::make_box({10, 10, 2}, {20, 20, 8}), color::Rgb8{200, 30, 30}});
  model.extra_files.push_back(
      {"Metadata/Prusa_Slicer_custom_gcode_per_print_z.xml",
       "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<custom_gcodes_per_print_z>\n"
       "<code print_z=\"4\" type=\"0\" extruder=\"1\" color=\"#C81E1E\" extra=\"\" gcode=\"M600\"/>\n"
       "<mode value=\"SingleExtruder\"/>\n</custom_gcodes_per_print_z>\n",
       ""});
  write_3mf(dir / "parts.3mf", model);
  Sliced s = slice(dir / "parts.3mf", dir);
  ASSERT_EQ(s.exit_code, 0) << s.log;
  // PrusaSlicer sets every object on the bed, so the 6 mm tower is the tallest.
  EXPECT_NEAR(top_layer_z(s.gcode), 6.0, 1e-6);
  const auto change = s.gcode.find(";COLOR_CHANGE");
  ASSERT_NE(change, std::string::npos) << "the colour change in the 3MF metadata was not applied";
  EXPECT_NE(s.gcode.find("M600", change), std::string::npos);
  // The change happens at the layer printed at Z = 4.
  const auto z_before = s.gcode.rfind(";Z:", change);
  ASSERT_NE(z_before, std::string::npos);
  EXPECT_NEAR(std::stod(s.gcode.substr(z_before + 3, 10)), 4.0, 1e-6);
}

// A streamed model part (written piece by piece, zip64 local header) must open in the slicer
// just as the one-piece model does.
TEST(SlicerInterop, PrusaSlicerSlicesOurStreamed3mf) {
  require_slicer();
  TempDir dir;
  const Mesh base = test::make_box({0, 0, 0}, {30, 30, 2});
  const Mesh tower = test::make_box({10, 10, 2}, {20, 20, 8});
  const MeshRef base_ref(base), tower_ref(tower);
  write_3mf(dir / "streamed.3mf", {{"base", &base_ref, color::Rgb8{255, 255, 255}}, {"tower", &tower_ref, std::nullopt}},
            {{"Application", "fabforge"}}, 0);
  Sliced s = slice(dir / "streamed.3mf", dir);
  ASSERT_EQ(s.exit_code, 0) << s.log;
  EXPECT_NEAR(top_layer_z(s.gcode), 6.0, 1e-6);
}

}  // namespace
}  // namespace fabforge
