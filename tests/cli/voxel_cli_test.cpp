// End-to-end tests of `fabforge voxel`: every gallery world in examples/voxel renders at a low
// preview resolution with the materials its fablets promise, --dry-run prints the plan without
// writing, the outputs are complete, bad input exits non-zero with a clear message.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/resource.h>

#include <filesystem>
#include <string>
#include <vector>

#include "support/test_support.hpp"

namespace fabforge {
namespace {

namespace fs = std::filesystem;
using test::CommandResult;
using test::contains;
using test::TempDir;

CommandResult fabforge(std::vector<std::string> args) { return test::run_fabforge(std::move(args)); }
std::string gallery(const std::string& name) { return (test::source_dir() / "examples" / "voxel" / (name + ".json")).string(); }

struct GalleryCase {
  const char* name;
  std::vector<const char*> materials;  // each must hold voxels after dithering
};

class VoxelGallery : public ::testing::TestWithParam<GalleryCase> {};

TEST_P(VoxelGallery, RendersAtPreviewResolution) {
  const GalleryCase& c = GetParam();
  TempDir dir;
  const CommandResult r =
      fabforge({"-q", "voxel", gallery(c.name), "-o", dir.path().string(), "--dpi", "50", "--layer-um", "250"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto report = nlohmann::json::parse(test::read_bytes(dir / "report.json"));
  const auto& run = report["run"];
  EXPECT_GT(run["shape_voxels"].get<long>(), 1000);
  for (const char* m : c.materials) EXPECT_GT(run["material_voxels"][m].get<long>(), 100) << c.name << " " << m;
  // One PNG per layer, and every other backend the world asks for.
  const long layers = report["grid"]["nz"].get<long>();
  long pngs = 0;
  for (const auto& e : fs::directory_iterator(dir / "slices")) pngs += e.path().extension() == ".png";
  EXPECT_EQ(pngs, layers);
  EXPECT_EQ(run["slices"].get<long>(), layers);
  const auto world = nlohmann::json::parse(test::read_bytes(gallery(c.name)));
  const auto& output = world["output"];
  if (output.contains("meshes")) {
    EXPECT_TRUE(fs::exists(dir / "meshes" / "part.3mf")) << c.name;
  }
  if (output.contains("grabcad")) {
    EXPECT_GT(fs::file_size(dir / output["grabcad"].get<std::string>()), 1000u) << c.name;
  }
  if (output.contains("raw")) {
    // Header + nz slices of ceil(nx * ny / 2) bytes.
    const auto& g = report["grid"];
    const std::uintmax_t slice = (g["nx"].get<std::uintmax_t>() * g["ny"].get<std::uintmax_t>() + 1) / 2;
    EXPECT_GT(fs::file_size(dir / output["raw"].get<std::string>()), slice * static_cast<std::uintmax_t>(layers)) << c.name;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Examples, VoxelGallery,
    ::testing::Values(GalleryCase{"creature_zebra", {"VeroBlack", "VeroWhite", "SUP706"}},
                      GalleryCase{"creature_holes", {"VeroBlack", "VeroClear"}},
                      GalleryCase{"creature_marble", {"VeroBlack", "VeroWhite"}},
                      GalleryCase{"amber", {"VeroBlack", "VeroClear", "VeroYellow"}},
                      GalleryCase{"foam", {"Agilus30"}},
                      GalleryCase{"postcard", {"VeroBlack", "VeroWhite"}},
                      GalleryCase{"marble", {"VeroBlack", "VeroWhite"}},
                      GalleryCase{"lenses", {"VeroBlack", "VeroClear"}},
                      GalleryCase{"rods", {"VeroBlack", "Agilus30"}}),
    [](const ::testing::TestParamInfo<GalleryCase>& param) { return std::string(param.param.name); });

TEST(VoxelCli, DryRunPrintsThePlanAndWritesNothing) {
  TempDir dir;
  const CommandResult r = fabforge({"voxel", gallery("creature_zebra"), "--dry-run", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto plan = nlohmann::json::parse(r.out);
  EXPECT_GT(plan["grid"]["nx"].get<int>(), 700);  // 34 mm at 600 dpi
  EXPECT_GE(plan["slabs"].get<int>(), 1);
  EXPECT_EQ(plan["shapes"][0]["surface_phase"], true);
  EXPECT_EQ(plan["shapes"][0]["surface_queries"], true);
  // The zebra reads the surface within its 0.5 mm skin; the world allows 0.6.
  EXPECT_NEAR(plan["shapes"][0]["surface_reach_inferred_mm"].get<double>(), 0.5, 1e-6);
  EXPECT_EQ(plan["shapes"][0]["surface_reach_mm"], plan["shapes"][0]["surface_reach_inferred_mm"]);
  EXPECT_EQ(plan["support"], "SUP706");
  EXPECT_TRUE(dir.entries().empty());
  const CommandResult text = fabforge({"voxel", gallery("creature_zebra"), "--dry-run"});
  EXPECT_TRUE(contains(text.out, "grid: ")) << text.out;
  EXPECT_TRUE(contains(text.out, "shape zebra: zebra.fl")) << text.out;
  EXPECT_TRUE(contains(text.out, "(reach 0.500 mm, inferred from the fablet)")) << text.out;
}

TEST(VoxelCli, BadInputExitsWithAClearMessageAndNoOutput) {
  TempDir dir;
  const fs::path out = dir / "out";
  // A world that does not parse.
  test::write_bytes(dir / "bad.json", "{\"printer\": ");
  CommandResult r = fabforge({"voxel", (dir / "bad.json").string(), "-o", out.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "bad.json")) << r.err;
  EXPECT_FALSE(fs::exists(out));
  // A missing world file.
  r = fabforge({"voxel", (dir / "none.json").string(), "-o", out.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "none.json")) << r.err;
  // Bad option values are usage errors.
  r = fabforge({"voxel", gallery("rods"), "-o", out.string(), "--dpi", "600,x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "--dpi")) << r.err;
  r = fabforge({"voxel", gallery("rods")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "-o")) << r.err;
}

// The report's per-phase CPU time (thread-seconds, for throughput budgets): one figure per phase
// of the wall-time breakdown, none negative, and together no more than the CPU time the whole
// fabforge process used (measured here from the test's side, over the child it waited for).
TEST(VoxelCli, ReportsCpuTimePerPhase) {
  TempDir dir;
  auto children_cpu = [] {
    rusage u{};
    getrusage(RUSAGE_CHILDREN, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
  };
  const double before = children_cpu();
  const CommandResult r = fabforge(
      {"-q", "voxel", gallery("creature_zebra"), "-o", dir.path().string(), "--dpi", "100", "--layer-um", "100"});
  const double process_cpu = children_cpu() - before;
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto report = nlohmann::json::parse(test::read_bytes(dir / "report.json"));
  const auto& wall = report["run"]["phase_s"];
  const auto& cpu = report["run"]["phase_cpu_s"];
  ASSERT_EQ(cpu.size(), wall.size());
  double sum = 0;
  for (const auto& [phase, seconds] : wall.items()) {
    ASSERT_TRUE(cpu.contains(phase)) << phase;
    const double c = cpu[phase].get<double>();
    EXPECT_GE(c, 0.0) << phase;
    sum += c;
  }
  EXPECT_GT(cpu["volume_and_dither"].get<double>(), 0.0);
  EXPECT_GT(cpu["tessellate"].get<double>(), 0.0);
  // Clock granularity: the children's figure counts in microseconds, the phases' in nanoseconds.
  EXPECT_LE(sum, process_cpu + 0.01) << "phases " << sum << " s, process " << process_cpu << " s";
}

// Peak resident memory of a scaled job (a 600 x 300 dpi tray slice of 80 x 80 mm) stays under the
// budget it was given, measured on the fabforge process.
TEST(VoxelCli, PeakMemoryStaysWithinTheBudget) {
  TempDir dir;
  test::write_bytes(dir / "w.json", R"({"printer": {"name": "J", "x_dpi": 600, "y_dpi": 300, "layer_um": 27,
    "build_volume_mm": [100, 100, 20],
    "materials": [{"name": "A", "id": 1, "rgba": [250, 250, 250, 255]}, {"name": "B", "id": 2, "rgba": [10, 10, 10, 255]}]},
  "meshes": {"box": {"primitive": "box", "size": [80, 80, 2]}},
  "shapes": [{"name": "b", "mesh": "box", "material": "A", "transform": {"translate": [50, 50, 1.2]}}],
  "output": {"raw": "v.raw"}, "memory_budget_mb": 64})");
  const test::CommandResult r = test::run_fabforge({"-q", "voxel", (dir / "w.json").string(), "-o", (dir / "out").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The process's own high-water mark (getrusage in the report; RUSAGE_CHILDREN here would also
  // count the test process's pages copied at fork).
  const auto report = nlohmann::json::parse(test::read_bytes(dir / "out" / "report.json"));
  const double peak_mb = report["run"]["peak_rss_mb"].get<double>();
  EXPECT_GT(peak_mb, 8.0);
  EXPECT_LT(peak_mb, 64.0) << "peak RSS " << peak_mb << " MiB";
  EXPECT_GT(std::filesystem::file_size(dir / "out" / "v.raw"), 1000u);
}

// A flat part with a displaced, queried top, its whole surface within reach of every slab (whole
// slabs peak at 100 MiB even one layer high, 165 MiB in one slab), under a 96 MiB budget: the
// slabs are walked in bands of rows and the process stays under the budget.
TEST(VoxelCli, FlatDisplacedPartStaysWithinTheBudgetInBandsOfRows) {
  TempDir dir;
  test::write_bytes(dir / "ink.fl", test::read_bytes(test::source_dir() / "tests" / "data" / "ink_plate.fl"));
  test::write_bytes(dir / "w.json", R"({"printer": {"name": "J", "x_dpi": 300, "y_dpi": 150, "layer_um": 54,
    "build_volume_mm": [100, 100, 20],
    "materials": [{"name": "A", "id": 1, "rgba": [250, 250, 250, 255]}, {"name": "B", "id": 2, "rgba": [10, 10, 10, 255]}]},
  "meshes": {"plate": {"primitive": "box", "size": [20, 14, 1]}},
  "shapes": [{"name": "p", "mesh": "plate", "fablet": "ink.fl", "surface_reach_mm": 0.3, "transform": {"translate": [30, 30, 1]}}],
  "output": {"raw": "v.raw"}, "memory_budget_mb": 96})");
  const test::CommandResult r =
      test::run_fabforge({"-q", "voxel", (dir / "w.json").string(), "-o", (dir / "out").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(contains(r.err, "warning")) << r.err;
  const auto report = nlohmann::json::parse(test::read_bytes(dir / "out" / "report.json"));
  EXPECT_LT(report["band_rows"].get<int>(), report["grid"]["ny"].get<int>());
  EXPECT_GT(report["run"]["material_voxels"]["B"].get<double>(), 1000.0);
  const double peak_mb = report["run"]["peak_rss_mb"].get<double>();
  EXPECT_LT(peak_mb, 96.0) << "peak RSS " << peak_mb << " MiB";
}

}  // namespace
}  // namespace fabforge
