// Tests for the slab loop (pipeline.hpp): analytic volumes through the whole pipeline, exactly-
// once claims between shapes, priority, dithered fractions, closed meshes, determinism across
// thread counts and memory budgets, support, bad worlds, slab height from the budget (the peak
// memory of a scaled job is measured in tests/cli/voxel_cli_test.cpp, outside the sanitizer runs).

#include "fabforge/voxel/pipeline.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "fabforge/core/error.hpp"
#include "fabforge/core/mesh.hpp"
#include "fabforge/core/mesh_io.hpp"
#include "fabforge/voxel/primitives.hpp"

#include "support/test_support.hpp"

namespace fabforge::voxel {
namespace {

using test::TempDir;

constexpr std::size_t kSmallBudgetMb = 64;

// A coarse printer (0.1 mm cubes) so that whole jobs run in milliseconds.
std::string printer_json(double dpi = 254, double layer_um = 100, bool support = false) {
  std::string s = R"({"name": "test", "x_dpi": )" + std::to_string(dpi) + R"(, "y_dpi": )" + std::to_string(dpi) +
                  R"(, "layer_um": )" + std::to_string(layer_um) + R"(, "build_volume_mm": [100, 100, 50],
    "materials": [{"name": "A", "id": 1, "rgba": [250, 250, 250, 255]}, {"name": "B", "id": 2, "rgba": [10, 10, 10, 255]},
                  {"name": "C", "id": 3, "rgba": [200, 30, 30, 255]}, {"name": "S", "id": 9, "rgba": [128, 128, 128, 255]}])";
  if (support) s += R"(, "support": "S")";
  return s + "}";
}

std::string world_json(const std::string& meshes, const std::string& shapes,
                       const std::string& printer = printer_json(), const std::string& extra = "") {
  return R"({"printer": )" + printer + R"(, "meshes": {)" + meshes + R"(}, "shapes": [)" + shapes +
         R"(], "output": {"raw": "v.raw"})" + extra + "}";
}

struct Result {
  JobStats stats;
  JobPlan plan;
  std::string raw;
};

Result run_world(const TempDir& dir, const std::string& json, int threads = 2, std::size_t budget = 0,
                 bool meshes = false, double tolerance_voxels = PipelineOptions{}.query_tolerance_voxels,
                 bool infer_reach = true) {
  World world = parse_world(json, dir.path(), "test.json");
  if (meshes) world.output.meshes = "meshes";
  PipelineOptions options;
  options.memory_budget_bytes = budget;
  options.query_tolerance_voxels = tolerance_voxels;
  options.infer_reach = infer_reach;
  RunContext ctx({threads, nullptr});
  VoxelJob job(std::move(world), options, &ctx);
  auto sinks = make_output_sinks(job.world(), dir.path());
  std::vector<SliceSink*> raw;
  for (auto& s : sinks) raw.push_back(s.get());
  Result r;
  r.stats = job.run(raw, ctx);
  r.plan = job.plan();
  r.raw = test::read_bytes(dir / "v.raw");
  return r;
}

// A displaced surface inked in stripes to 0.3 mm through the nearest point's tex, core beyond.
constexpr const char* kSkinFablet = R"(fablet Skin {
  uniform material core = "A";
  uniform material ink = "B";
  out vec2 tex;
  surface(vec3 P, vec3 N) -> vec3 {
    tex = P.xy;
    return P + N * (0.15 * (0.5 + 0.5 * sin(P.x * 4.0) * cos(P.y * 3.0)));
  }
  volume(vec3 P) -> mixture {
    if (surface_distance() > 0.3) return mixture(core, 1.0);
    float s = step(0.5, fract(tex.x * 0.7));
    return mixture(ink, s, core, 1.0 - s);
  }
}
)";

double voxel_volume(const JobPlan& p) { return p.grid.voxel_volume(); }

TEST(Pipeline, AnalyticVolumesWithinOnePercent) {
  TempDir dir;
  struct Case {
    const char* mesh;
    const char* transform;
    double volume;
  };
  const Case cases[] = {
      {R"("m": {"primitive": "sphere", "radius": 3})", R"({"translate": [10, 10, 5]})", sphere_volume(3)},
      {R"("m": {"primitive": "box", "size": [4.03, 5.51, 2.97]})",
       R"({"translate": [10, 10, 5], "rotate": [20, 35, 10]})", box_volume({4.03, 5.51, 2.97})},
      {R"("m": {"primitive": "torus", "major_radius": 4, "minor_radius": 1.3})",
       R"({"translate": [10, 10, 5], "rotate": [60, 0, 15]})", torus_volume(4, 1.3)},
      {R"("m": {"primitive": "cylinder", "radius": 2.2, "height": 5})",
       R"({"translate": [10, 10, 5], "rotate": [90, 0, 0]})", cylinder_volume(2.2, 5)},
  };
  for (const Case& c : cases) {
    const std::string shape =
        std::string(R"({"name": "s", "mesh": "m", "material": "B", "transform": )") + c.transform + "}";
    const Result r = run_world(dir, world_json(c.mesh, shape));
    const double v = static_cast<double>(r.stats.material_voxels[1]) * voxel_volume(r.plan);
    EXPECT_NEAR(v / c.volume, 1.0, 0.01) << c.mesh;
    EXPECT_EQ(r.stats.shape_voxels, r.stats.material_voxels[1]);
    EXPECT_EQ(r.stats.fablet_voxels, 0u);
  }
}

// Two boxes sharing a face claim each voxel there once: their counts add up to the count of the
// box they make together, with the face through voxel centres and between them, in x, y and z.
TEST(Pipeline, TwoBoxesSharingAFaceClaimEachVoxelOnce) {
  TempDir dir;
  for (const double offset : {0.0, 0.05, 0.0371}) {  // shared face on a centre (0.05) or between
    for (int axis = 0; axis < 3; ++axis) {
      double size[3] = {3, 3, 3};
      size[axis] = 2;
      double half_shift[3] = {0, 0, 0};
      half_shift[axis] = 1;
      auto v3 = [](double x, double y, double z) {
        return "[" + std::to_string(x) + ", " + std::to_string(y) + ", " + std::to_string(z) + "]";
      };
      const double base = 10 + offset;
      const std::string meshes = R"("half": {"primitive": "box", "size": )" + v3(size[0], size[1], size[2]) +
                                 R"(}, "whole": {"primitive": "box", "size": )" +
                                 v3(axis == 0 ? 4 : 3, axis == 1 ? 4 : 3, axis == 2 ? 4 : 3) + "}";
      const std::string two = R"({"name": "lo", "mesh": "half", "material": "A", "transform": {"translate": )" +
                              v3(base - half_shift[0], base - half_shift[1], base - half_shift[2]) +
                              R"(}}, {"name": "hi", "mesh": "half", "material": "B", "transform": {"translate": )" +
                              v3(base + half_shift[0], base + half_shift[1], base + half_shift[2]) + "}}";
      const std::string one = R"({"name": "all", "mesh": "whole", "material": "C", "transform": {"translate": )" +
                              v3(base, base, base) + "}}";
      const Result a = run_world(dir, world_json(meshes, two));
      const Result b = run_world(dir, world_json(meshes, one));
      EXPECT_GT(a.stats.material_voxels[0], 0u);
      EXPECT_EQ(a.stats.material_voxels[0], a.stats.material_voxels[1]) << "axis " << axis << " offset " << offset;
      EXPECT_EQ(a.stats.material_voxels[0] + a.stats.material_voxels[1], b.stats.material_voxels[2])
          << "axis " << axis << " offset " << offset;
    }
  }
}

TEST(Pipeline, PriorityWinsOverlaps) {
  TempDir dir;
  const std::string meshes =
      R"("box": {"primitive": "box", "size": [8, 8, 8]}, "ball": {"primitive": "sphere", "radius": 2})";
  const std::string box =
      R"({"name": "amber", "mesh": "box", "material": "A", "transform": {"translate": [10, 10, 5]}})";
  const std::string ball_hi =
      R"({"name": "insect", "mesh": "ball", "material": "B", "priority": 1, "transform": {"translate": [10, 10, 5]}})";
  const std::string ball_lo =
      R"({"name": "insect", "mesh": "ball", "material": "B", "priority": -1, "transform": {"translate": [10, 10, 5]}})";
  const Result alone_box = run_world(dir, world_json(meshes, box));
  const Result alone_ball = run_world(dir, world_json(meshes, ball_hi));
  const Result hi = run_world(dir, world_json(meshes, box + "," + ball_hi));
  const Result lo = run_world(dir, world_json(meshes, box + "," + ball_lo));
  // Document order: the later shape with equal priority loses.
  const Result same = run_world(
      dir, world_json(
               meshes,
               box + "," +
                   R"({"name": "insect", "mesh": "ball", "material": "B", "transform": {"translate": [10, 10, 5]}})"));
  const std::uint64_t nb = alone_ball.stats.material_voxels[1];
  EXPECT_GT(nb, 1000u);
  EXPECT_EQ(hi.stats.material_voxels[1], nb);
  EXPECT_EQ(hi.stats.material_voxels[0], alone_box.stats.material_voxels[0] - nb);
  EXPECT_EQ(lo.stats.material_voxels[1], 0u);
  EXPECT_EQ(lo.stats.material_voxels[0], alone_box.stats.material_voxels[0]);
  EXPECT_EQ(same.stats.material_voxels[1], 0u);
  EXPECT_EQ(hi.stats.shape_voxels, alone_box.stats.shape_voxels);  // one volume phase per voxel
}

// Only the materials a job can take are dithered: a printer with an unused material between the
// used ones (so dithered indices and material indices differ) gives the same voxels as a printer
// without it, material for material, support included.
TEST(Pipeline, UnusedMaterialsChangeNothing) {
  TempDir dir;
  test::write_bytes(dir / "ac.fl", R"(fablet AC {
  uniform material a = "A";
  uniform material c = "C";
  volume(vec3 P) -> mixture { return mixture(a, 0.3 + 0.1 * sin(P.x), c, 0.7 - 0.1 * sin(P.x)); }
}
)");
  const std::string wide = printer_json(254, 100, true);  // A, B, C, S: B unused
  const std::string narrow = R"({"name": "test", "x_dpi": 254, "y_dpi": 254, "layer_um": 100,
    "build_volume_mm": [100, 100, 50], "materials": [{"name": "A", "id": 1, "rgba": [250, 250, 250, 255]},
    {"name": "C", "id": 3, "rgba": [200, 30, 30, 255]}, {"name": "S", "id": 9, "rgba": [128, 128, 128, 255]}],
    "support": "S"})";
  const std::string mesh = R"("ball": {"primitive": "sphere", "radius": 3})";
  const std::string shape =
      R"({"name": "s", "mesh": "ball", "fablet": "ac.fl", "transform": {"translate": [10, 10, 4]}})";
  const Result a = run_world(dir, world_json(mesh, shape, wide));
  const Result b = run_world(dir, world_json(mesh, shape, narrow));
  ASSERT_EQ(a.stats.material_voxels.size(), 4u);
  ASSERT_EQ(b.stats.material_voxels.size(), 3u);
  EXPECT_GT(a.stats.material_voxels[0], 0u);
  EXPECT_GT(a.stats.material_voxels[2], 0u);
  EXPECT_GT(a.stats.material_voxels[3], 0u);  // support under the ball
  EXPECT_EQ(a.stats.material_voxels[1], 0u);
  EXPECT_EQ(a.stats.material_voxels[0], b.stats.material_voxels[0]);
  EXPECT_EQ(a.stats.material_voxels[2], b.stats.material_voxels[1]);
  EXPECT_EQ(a.stats.material_voxels[3], b.stats.material_voxels[2]);
  // The voxels after the headers (which list the materials): a's values 1, 3, 4 are b's 1, 2, 3.
  auto body = [](const std::string& raw) {
    const std::uint32_t size = static_cast<std::uint8_t>(raw[8]) | static_cast<std::uint8_t>(raw[9]) << 8 |
                               static_cast<std::uint8_t>(raw[10]) << 16 | static_cast<std::uint32_t>(raw[11]) << 24;
    return raw.substr(size);
  };
  std::string mapped = body(a.raw);
  const std::uint8_t to_narrow[16] = {0, 1, 15, 2, 3, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15};
  for (char& byte : mapped) {
    const auto v = static_cast<std::uint8_t>(byte);
    byte = static_cast<char>(to_narrow[v & 15] | to_narrow[v >> 4] << 4);
  }
  EXPECT_EQ(mapped, body(b.raw));
}

// Every voxel gets the fablet's answer at its own centre: a fablet of pure materials in slanted
// stripes (no dithering error to spread) through a box of 30 layers, so the volume phase's batches
// span runs of layers, tiles of columns and rows, and any mix-up between lanes and voxels shows.
TEST(Pipeline, EachVoxelGetsTheFabletAtItsOwnCentre) {
  TempDir dir;
  test::write_bytes(dir / "stripes.fl", R"(fablet Stripes {
  uniform material a = "A";
  uniform material b = "B";
  volume(vec3 P) -> mixture {
    if (fract(P.x * 1.37 + P.y * 0.71 + P.z * 2.93) < 0.5) return mixture(a, 1.0);
    return mixture(b, 1.0);
  }
}
)");
  const Result r = run_world(
      dir,
      world_json(R"("box": {"primitive": "box", "size": [4, 3, 3]})",
                 R"({"name": "m", "mesh": "box", "fablet": "stripes.fl", "transform": {"translate": [10, 10, 5]}})"));
  const Grid& g = r.plan.grid;
  const std::uint32_t header = static_cast<std::uint8_t>(r.raw[8]) | static_cast<std::uint8_t>(r.raw[9]) << 8 |
                               static_cast<std::uint8_t>(r.raw[10]) << 16 |
                               static_cast<std::uint32_t>(static_cast<std::uint8_t>(r.raw[11])) << 24;
  const std::size_t slice_bytes = (static_cast<std::size_t>(g.nx) * g.ny + 1) / 2;
  ASSERT_EQ(r.raw.size(), header + slice_bytes * static_cast<std::size_t>(g.nz));
  std::size_t checked = 0, wrong = 0;
  for (int k = 0; k < g.nz; ++k) {
    for (int j = 0; j < g.ny; ++j) {
      for (int i = 0; i < g.nx; ++i) {
        const std::size_t n = static_cast<std::size_t>(j) * g.nx + i;
        const auto byte = static_cast<std::uint8_t>(r.raw[header + k * slice_bytes + n / 2]);
        const int v = n % 2 == 0 ? byte & 15 : byte >> 4;
        if (v == 0) continue;  // outside the box
        const double x = static_cast<float>(g.origin.x + (i + 0.5) * g.dx);
        const double y = static_cast<float>(g.origin.y + (j + 0.5) * g.dy);
        const double z = static_cast<float>(g.origin.z + (k + 0.5) * g.dz);
        const double t = x * 1.37 + y * 0.71 + z * 2.93, f = t - std::floor(t);
        if (std::abs(f - 0.5) < 1e-3 || f < 1e-3 || f > 1 - 1e-3) continue;  // too close to call in float
        ++checked;
        wrong += v != (f < 0.5 ? 1 : 2);
      }
    }
  }
  EXPECT_GT(r.plan.slab_layers, 8);  // runs of several layers per task
  EXPECT_GT(checked, 30000u);
  EXPECT_EQ(wrong, 0u);
}

TEST(Pipeline, DitheredFractionsMatchTheMixture) {
  TempDir dir;
  test::write_bytes(dir / "mix.fl", R"(fablet Mix {
  uniform material a = "A";
  uniform material b = "B";
  uniform material c = "C";
  volume(vec3 P) -> mixture { return mixture(a, 0.2, b, 0.5, c, 0.3); }
}
)");
  const Result r = run_world(
      dir, world_json(R"("box": {"primitive": "box", "size": [6, 6, 3]})",
                      R"({"name": "m", "mesh": "box", "fablet": "mix.fl", "transform": {"translate": [10, 10, 5]}})"));
  const double total = static_cast<double>(r.stats.shape_voxels);
  EXPECT_EQ(r.stats.fablet_voxels, r.stats.shape_voxels);
  EXPECT_NEAR(r.stats.material_voxels[0] / total, 0.2, 0.01);
  EXPECT_NEAR(r.stats.material_voxels[1] / total, 0.5, 0.01);
  EXPECT_NEAR(r.stats.material_voxels[2] / total, 0.3, 0.01);
}

// A fablet with a displacing surface phase and surface queries: 1 and 2 threads give identical
// bytes; with exact surface queries, so do small and large memory budgets (different slab
// heights, query bands and cache evictions). With the default query tolerance the nearest point
// found may depend on the slab's band (see PipelineOptions), so only the thread count is free.
TEST(Pipeline, OutputIsIdenticalForAnyThreadCountAndBudget) {
  TempDir dir;
  test::write_bytes(dir / "skin.fl", kSkinFablet);
  const std::string json = world_json(R"("ball": {"primitive": "sphere", "radius": 3})",
                                      R"({"name": "s", "mesh": "ball", "fablet": "skin.fl", "surface_reach_mm": 0.5,
                                          "transform": {"translate": [10, 10, 5]}})",
                                      printer_json(254, 100, true));
  const Result one = run_world(dir, json, 1);
  const Result two = run_world(dir, json, 2);
  const Result exact = run_world(dir, json, 2, 0, false, 0.0);
  const Result small = run_world(dir, json, 2, 20u << 20, false, 0.0);
  EXPECT_GT(one.stats.material_voxels[1], 1000u);  // the ink layer exists
  EXPECT_GT(one.stats.micropolygons, 0u);
  EXPECT_GT(one.stats.support_voxels, 0u);
  EXPECT_TRUE(one.raw == two.raw) << "1 and 2 threads differ";
  // Every inked voxel (within 0.3 mm) needed a search; the core beyond the 0.5 mm reach (about
  // (2.5 / 3)^3 = 58% of the ball) is mostly culled by the far blocks without one.
  EXPECT_GE(one.stats.searched_voxels, one.stats.material_voxels[1]);
  EXPECT_LT(static_cast<double>(one.stats.searched_voxels), 0.8 * static_cast<double>(one.stats.fablet_voxels));
  EXPECT_EQ(one.stats.searched_voxels, two.stats.searched_voxels);
  EXPECT_GT(one.stats.search_s, 0.0);
  EXPECT_TRUE(exact.raw == small.raw) << "a small budget (" << small.plan.slab_layers << " layers per slab, not "
                                      << one.plan.slab_layers << ") changes the output";
  // Displacement grows the solid beyond the base sphere (at most by 0.15 mm).
  const double v = static_cast<double>(one.stats.shape_voxels) * voxel_volume(one.plan);
  EXPECT_GT(v, sphere_volume(3) * 1.02);
  EXPECT_LT(v, sphere_volume(3.15) * 1.01);
}

// The skin fablet reads the surface only within 0.3 mm, so the plan limits its queries to 0.3 mm
// where the world allows 0.5 (or nothing): exact queries give the same bytes either way, and the
// voxels between 0.3 and 0.5 mm no longer cost a search.
TEST(Pipeline, ReachInferredFromTheFabletChangesNoOutput) {
  TempDir dir;
  test::write_bytes(dir / "skin.fl", kSkinFablet);
  auto world = [](const char* reach) {
    return world_json(R"("ball": {"primitive": "sphere", "radius": 2})",
                      std::string(R"({"name": "s", "mesh": "ball", "fablet": "skin.fl", )") + reach +
                          R"("transform": {"translate": [10, 10, 5]}})",
                      printer_json(254, 100));
  };
  const std::string given = world(R"("surface_reach_mm": 0.5, )");
  const Result inferred = run_world(dir, given, 2, 0, false, 0.0);
  const Result plain = run_world(dir, given, 2, 0, false, 0.0, false);
  const Result unlimited = run_world(dir, world(""), 2, 0, false, 0.0);
  ASSERT_EQ(inferred.plan.shapes.size(), 1u);
  EXPECT_EQ(inferred.plan.shapes[0].reach_inferred_mm, static_cast<double>(std::nextafter(0.3f, 1.0f)));
  EXPECT_EQ(inferred.plan.shapes[0].reach_mm, inferred.plan.shapes[0].reach_inferred_mm);
  EXPECT_EQ(plain.plan.shapes[0].reach_mm, 0.5);
  EXPECT_EQ(unlimited.plan.shapes[0].reach_mm, inferred.plan.shapes[0].reach_mm);
  EXPECT_GT(inferred.stats.material_voxels[1], 1000u);  // the ink exists
  EXPECT_TRUE(inferred.raw == plain.raw) << "the inferred reach changes the output";
  EXPECT_TRUE(unlimited.raw == plain.raw) << "an inferred reach in place of none changes the output";
  // Fewer searches (measured 23.2 k against 28.2 k: at this coarse grid the far blocks are
  // 0.8 x 0.4 x 0.4 mm and keep many voxels beyond either reach).
  EXPECT_LT(static_cast<double>(inferred.stats.searched_voxels),
            0.9 * static_cast<double>(plain.stats.searched_voxels));
}

// A flat plate whose displaced top lies within reach of every slab: under a budget too small for
// a slab's whole surface, the plan walks slabs in bands of rows, each tessellating and indexing
// only the surface near it. With exact queries the slices are the same bytes as whole slabs give
// (the surface a voxel's search can reach is all there, band or not); with the default tolerance,
// 1 and 2 threads still agree.
TEST(Pipeline, FlatPartsAreWalkedInBandsOfRowsUnderASmallBudget) {
  TempDir dir;
  test::write_bytes(dir / "ink.fl", test::read_bytes(test::source_dir() / "tests" / "data" / "ink_plate.fl"));
  const std::string json = world_json(R"("plate": {"primitive": "box", "size": [12, 8, 1]})",
                                      R"({"name": "p", "mesh": "plate", "fablet": "ink.fl", "surface_reach_mm": 0.3,
                                          "transform": {"translate": [20, 20, 1]}})",
                                      printer_json(254, 100));
  const std::size_t budget = kSmallBudgetMb << 20;
  const Result whole = run_world(dir, json, 2, 0, false, 0.0);
  const Result banded = run_world(dir, json, 2, budget, false, 0.0);
  EXPECT_EQ(whole.plan.band_rows, whole.plan.grid.ny);
  EXPECT_GT(whole.plan.estimated_bytes, budget);
  EXPECT_LT(banded.plan.band_rows, banded.plan.grid.ny);
  EXPECT_LE(banded.plan.estimated_bytes, budget);
  EXPECT_GT(banded.stats.material_voxels[1], 1000u);  // the ink exists
  EXPECT_TRUE(whole.raw == banded.raw) << "bands of " << banded.plan.band_rows << " rows change the output";
  const Result one = run_world(dir, json, 1, budget);
  const Result two = run_world(dir, json, 2, budget);
  EXPECT_TRUE(one.raw == two.raw) << "1 and 2 threads differ in banded slabs";
}

TEST(Pipeline, SupportFillsVoidBelowParts) {
  TempDir dir;
  // A box floating 2 mm above the tray: every column under it holds support from the tray up.
  const Result r = run_world(
      dir, world_json(R"("box": {"primitive": "box", "size": [2, 2, 1]})",
                      R"({"name": "b", "mesh": "box", "material": "A", "transform": {"translate": [10, 10, 2.5]}})",
                      printer_json(254, 100, true)));
  EXPECT_EQ(r.plan.first_layer, 0);
  EXPECT_EQ(r.stats.material_voxels[0], 20u * 20u * 10u);
  // 20 x 20 columns x 20 layers under the part, plus the conservative 4-column blocks around it.
  EXPECT_GE(r.stats.support_voxels, 20u * 20u * 20u);
  EXPECT_EQ(r.stats.support_voxels, r.stats.material_voxels[3]);
  EXPECT_LE(r.stats.support_voxels, 28u * 28u * 30u);
}

TEST(Pipeline, MeshesAreClosedAndMatchTheVoxels) {
  TempDir dir;
  test::write_bytes(dir / "half.fl", R"(fablet Half {
  uniform material a = "A";
  uniform material b = "B";
  volume(vec3 P) -> mixture { return P.x < 10.0 ? mixture(a, 1.0) : mixture(b, 1.0); }
}
)");
  const Result r = run_world(
      dir,
      world_json(R"("ball": {"primitive": "sphere", "radius": 2.5})",
                 R"({"name": "s", "mesh": "ball", "fablet": "half.fl", "transform": {"translate": [10, 10, 5]}})"),
      2, 0, true);
  for (int m = 0; m < 2; ++m) {
    const std::string name = m == 0 ? "part_00_A.stl" : "part_01_B.stl";
    const Mesh mesh = read_mesh(dir / "meshes" / name);
    const MeshReport rep = analyze_mesh(mesh);
    EXPECT_TRUE(rep.watertight()) << name;
    const double expected =
        static_cast<double>(r.stats.material_voxels[static_cast<std::size_t>(m)]) * voxel_volume(r.plan);
    EXPECT_NEAR(mesh_volume(mesh) / expected, 1.0, 0.03) << name;
  }
  EXPECT_TRUE(std::filesystem::exists(dir / "meshes" / "part.3mf"));
}

TEST(Pipeline, BadWorldsGiveClearErrors) {
  TempDir dir;
  const std::string ball = R"("ball": {"primitive": "sphere", "radius": 2})";
  auto error_of = [&](const std::string& json) -> std::string {
    try {
      run_world(dir, json);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  // Outside the build volume.
  EXPECT_TRUE(test::contains(
      error_of(world_json(ball,
                          R"({"name": "s", "mesh": "ball", "material": "A", "transform": {"translate": [1, 10, 5]}})")),
      "shapes 's' spans"));
  // A fablet that does not compile: file, line and column.
  test::write_bytes(dir / "bad.fl", "fablet Bad {\n  volume(vec3 P) -> mixture { return mixtur(1.0); }\n}\n");
  const std::string compile = error_of(world_json(
      ball, R"({"name": "s", "mesh": "ball", "fablet": "bad.fl", "transform": {"translate": [10, 10, 5]}})"));
  EXPECT_TRUE(test::contains(compile, "bad.fl:2:")) << compile;
  // An unknown material.
  EXPECT_TRUE(test::contains(
      error_of(world_json(
          ball, R"({"name": "s", "mesh": "ball", "material": "Z", "transform": {"translate": [10, 10, 5]}})")),
      "no printer material named 'Z'"));
  // A missing mesh file.
  EXPECT_TRUE(test::contains(
      error_of(world_json(R"("m": {"file": "nope.stl"})", R"({"name": "s", "mesh": "m", "material": "A"})")),
      "nope.stl"));
  // A runtime error in the volume phase leaves no output behind.
  test::write_bytes(dir / "loop.fl",
                    "fablet Loop {\n  uniform material a = \"A\";\n  volume(vec3 P) -> mixture {\n    float x = 0.0;\n"
                    "    while (P.x > 0.0) { x = x + 1.0; }\n    return mixture(a, x);\n  }\n}\n");
  std::filesystem::remove(dir / "v.raw");
  const std::string loop = error_of(world_json(
      ball, R"({"name": "s", "mesh": "ball", "fablet": "loop.fl", "transform": {"translate": [10, 10, 5]}})"));
  EXPECT_TRUE(test::contains(loop, "loop.fl:5:")) << loop;
  EXPECT_FALSE(std::filesystem::exists(dir / "v.raw"));
}

// An open mesh (a box without its top) is voxelized by the winding rule without failing: its
// columns are clamped at the slab top, so it still produces a solid.
TEST(Pipeline, OpenMeshIsHandledByTheWindingRule) {
  TempDir dir;
  Mesh box = box_mesh({2, 2, 2});
  std::vector<Triangle> kept;
  for (const Triangle& t : box.triangles) {
    bool top = true;
    for (std::uint32_t v : t) top = top && box.vertices[v].z > 0.5f;
    if (!top) kept.push_back(t);
  }
  box.triangles = kept;
  write_mesh(dir / "open.stl", box);
  const Result r = run_world(
      dir, world_json(R"("m": {"file": "open.stl"})",
                      R"({"name": "s", "mesh": "m", "material": "A", "transform": {"translate": [10, 10, 5]}})"));
  EXPECT_GT(r.stats.material_voxels[0], 0u);
}

TEST(Pipeline, SlabHeightFollowsTheBudget) {
  TempDir dir;
  const std::string json =
      world_json(R"("box": {"primitive": "box", "size": [60, 60, 4]})",
                 R"({"name": "b", "mesh": "box", "material": "A", "transform": {"translate": [40, 40, 3]}})",
                 printer_json(300, 27));
  World world = parse_world(json, dir.path(), "test.json");
  PipelineOptions big, small;
  big.memory_budget_bytes = 1024u << 20;
  small.memory_budget_bytes = 64u << 20;
  const VoxelJob a(world, big), b(world, small);
  EXPECT_GT(a.plan().slab_layers, b.plan().slab_layers);
  EXPECT_LE(b.plan().estimated_bytes, small.memory_budget_bytes);
  EXPECT_GE(b.plan().slab_layers, 1);
}

}  // namespace
}  // namespace fabforge::voxel
