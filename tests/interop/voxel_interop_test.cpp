// Interop: the per-material meshes of a voxel job must open in a real slicer. A gallery world is
// rendered at a coarse resolution under a small memory budget (so the meshes go through the
// spill files and the streaming writers), then Debian's PrusaSlicer reads the 3MF and each STL
// (`--info`) and slices one STL to G-code.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "fabforge/core/threemf.hpp"

#include "support/test_support.hpp"

namespace fabforge {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

const char* kSlicer = "prusa-slicer";

struct ObjectInfo {
  long facets = -1;
  bool manifold = false;
};

// The objects PrusaSlicer's `--info` describes, in order: each block has `number_of_facets = N`
// and `manifold = yes|no`.
std::vector<ObjectInfo> slicer_info(const fs::path& file, std::string& log) {
  const test::CommandResult r = test::run_command({kSlicer, "--info", file.string()});
  log = r.out + r.err;
  std::vector<ObjectInfo> objects;
  if (r.exit_code != 0) return objects;
  for (std::size_t at = r.out.find("number_of_facets = "); at != std::string::npos;
       at = r.out.find("number_of_facets = ", at + 1)) {
    ObjectInfo info;
    info.facets = std::stol(r.out.substr(at + 19, 20));
    const std::size_t m = r.out.find("manifold = ", at);
    info.manifold = m != std::string::npos && r.out.compare(m + 11, 3, "yes") == 0;
    objects.push_back(info);
  }
  return objects;
}

long stl_triangles(const fs::path& stl) { return static_cast<long>((fs::file_size(stl) - 84) / 50); }

TEST(VoxelInterop, PrusaSlicerReadsAndSlicesOurPerMaterialMeshes) {
  if (test::run_command({"sh", "-c", std::string("command -v ") + kSlicer}).exit_code != 0) {
    GTEST_SKIP() << kSlicer << " is not installed (scripts/install-deps.sh installs it)";
  }
  TempDir dir;
  const std::string world = (test::source_dir() / "examples" / "voxel" / "creature_holes.json").string();
  const test::CommandResult r = test::run_fabforge(
      {"-q", "voxel", world, "-o", dir.path().string(), "--dpi", "100", "--layer-um", "100", "--memory-mb", "64"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"meshes", "report.json", "slices"}));  // no spill files left

  std::vector<fs::path> stls;
  for (const auto& e : fs::directory_iterator(dir / "meshes")) {
    if (e.path().extension() == ".stl") stls.push_back(e.path());
  }
  std::sort(stls.begin(), stls.end());
  ASSERT_GE(stls.size(), 2u);
  const ThreeMFModel model = read_3mf(dir / "meshes" / "part.3mf");
  ASSERT_EQ(model.objects.size(), stls.size());

  std::string log;
  const std::vector<ObjectInfo> objects = slicer_info(dir / "meshes" / "part.3mf", log);
  ASSERT_EQ(objects.size(), model.objects.size()) << log;
  for (std::size_t i = 0; i < objects.size(); ++i) {
    EXPECT_EQ(objects[i].facets, static_cast<long>(model.objects[i].mesh.triangles.size())) << model.objects[i].name;
    EXPECT_TRUE(objects[i].manifold) << model.objects[i].name << "\n" << log;
  }
  for (const fs::path& stl : stls) {
    const std::vector<ObjectInfo> info = slicer_info(stl, log);
    ASSERT_EQ(info.size(), 1u) << stl << "\n" << log;
    EXPECT_EQ(info[0].facets, stl_triangles(stl)) << stl;
    EXPECT_TRUE(info[0].manifold) << stl << "\n" << log;
  }

  // The core (the first material's mesh) slices to layers up to its height.
  const fs::path gcode = dir / "core.gcode";
  const test::CommandResult sliced = test::run_command({kSlicer, "--export-gcode", "--layer-height", "0.2",
                                                        "--first-layer-height", "0.2", "-o", gcode.string(),
                                                        stls.front().string()});
  ASSERT_EQ(sliced.exit_code, 0) << sliced.out << sliced.err;
  const std::string text = test::read_bytes(gcode);
  double top = 0;
  for (std::size_t at = text.find("\n;Z:"); at != std::string::npos; at = text.find("\n;Z:", at + 1)) {
    top = std::max(top, std::stod(text.substr(at + 4, 16)));
  }
  const Mesh core = model.objects.front().mesh;
  double zmin = 1e30, zmax = -1e30;
  for (const Vec3f& v : core.vertices) zmin = std::min(zmin, double(v.z)), zmax = std::max(zmax, double(v.z));
  EXPECT_NEAR(top, zmax - zmin, 0.21);
}

}  // namespace
}  // namespace fabforge
