#include "fabforge/toolpath/plan.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>

#include "fabforge/core/error.hpp"
#include "fabforge/gcode/flow.hpp"
#include "fabforge/gcode/writer.hpp"

using namespace fabforge;
using namespace fabforge::toolpath;

namespace {

Ring rect(double x0, double y0, double x1, double y1) { return {{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}}; }
Ring circle(double cx, double cy, double r, int n, bool ccw = true) {
  Ring ring;
  for (int i = 0; i < n; ++i) {
    const double a = 2 * std::numbers::pi * i / n * (ccw ? 1 : -1);
    ring.push_back({cx + r * std::cos(a), cy + r * std::sin(a)});
  }
  return ring;
}

Regions plate() {
  Regions r;
  r.islands.push_back({rect(90, 90, 130, 120), {circle(100, 105, 5, 48, false), circle(118, 105, 4, 48, false)}});
  return r;
}

std::vector<LayerRegions> stack(const Regions& r, int layers, double h = 0.2) {
  std::vector<LayerRegions> out;
  for (int i = 0; i < layers; ++i) out.push_back({h * (i + 1), h, r});
  return out;
}

PlannedToolpaths plan(const std::vector<LayerRegions>& layers, const PlanParams& p, int threads = 1) {
  RunContext ctx(RunOptions{threads, nullptr});
  return plan_toolpaths(layers, p, ctx);
}

double extruded_volume(const gcode::Toolpaths& t) {
  double v = 0;
  for (const auto& l : t.layers)
    for (const auto& p : l.paths)
      if (p.feature != gcode::Feature::skirt)
        v += gcode::line_area_mm2(p.width_mm, l.height_mm) * gcode::path_length(p);
  return v;
}

double travel(const gcode::Toolpaths& t) {
  double d = 0;
  bool have = false;
  Point2 at{};
  for (const auto& l : t.layers)
    for (const auto& p : l.paths) {
      if (have) d += std::hypot(p.points.front().x - at.x, p.points.front().y - at.y);
      at = p.closed ? p.points.front() : p.points.back();
      have = true;
    }
  return d;
}

}  // namespace

TEST(ToolpathPlan, PathsStayInsideTheRegionAndLoopsAreClosed) {
  PlanParams p;
  p.skirt_loops = 0;
  const auto result = plan(stack(plate(), 10), p);
  ASSERT_EQ(result.toolpaths.layers.size(), 10u);
  std::size_t walls = 0;
  for (const auto& l : result.toolpaths.layers) {
    ASSERT_FALSE(l.paths.empty());
    for (const auto& path : l.paths) {
      ASSERT_GE(path.points.size(), path.closed ? 3u : 2u);
      if (path.feature == gcode::Feature::wall_outer || path.feature == gcode::Feature::wall_inner) {
        EXPECT_TRUE(path.closed);
        ++walls;
      }
      for (Point2 q : path.points) ASSERT_TRUE(contains(plate(), q)) << q.x << "," << q.y;
    }
  }
  EXPECT_EQ(walls, 10u * 2 * 3) << "two walls around the outline and each hole on every layer";
}

TEST(ToolpathPlan, SolidPartExtrudesItsVolume) {
  PlanParams p;
  p.skirt_loops = 0;
  p.infill_density = 1.0;
  p.sparse_pattern = InfillPattern::rectilinear;
  const auto layers = stack(plate(), 10);
  const double volume = area(plate()) * 2.0;
  const double extruded = extruded_volume(plan(layers, p).toolpaths);
  EXPECT_NEAR(extruded / volume, 1.0, 0.04);
}

TEST(ToolpathPlan, SparseInfillAndSolidSkins) {
  PlanParams p;
  p.skirt_loops = 0;
  p.infill_density = 0.2;
  const auto result = plan(stack(plate(), 15), p);
  auto has = [&](std::size_t layer, gcode::Feature f) {
    for (const auto& path : result.toolpaths.layers[layer].paths)
      if (path.feature == f) return true;
    return false;
  };
  EXPECT_TRUE(has(0, gcode::Feature::solid_infill));
  EXPECT_FALSE(has(0, gcode::Feature::sparse_infill));
  EXPECT_TRUE(has(7, gcode::Feature::sparse_infill));
  EXPECT_FALSE(has(7, gcode::Feature::solid_infill));
  EXPECT_TRUE(has(14, gcode::Feature::top_solid_infill));
  EXPECT_TRUE(has(12, gcode::Feature::solid_infill));
}

TEST(ToolpathPlan, SameResultOnAnyThreadCount) {
  PlanParams p;
  const auto layers = stack(plate(), 8);
  const auto a = plan(layers, p, 1), b = plan(layers, p, 2);
  ASSERT_EQ(a.toolpaths.layers.size(), b.toolpaths.layers.size());
  for (std::size_t i = 0; i < a.toolpaths.layers.size(); ++i) {
    const auto &pa = a.toolpaths.layers[i].paths, &pb = b.toolpaths.layers[i].paths;
    ASSERT_EQ(pa.size(), pb.size());
    for (std::size_t k = 0; k < pa.size(); ++k) {
      ASSERT_EQ(pa[k].points, pb[k].points);
      ASSERT_EQ(pa[k].retract_before, pb[k].retract_before);
    }
  }
}

TEST(ToolpathPlan, OptimisedOrderTravelsLess) {
  PlanParams p;
  p.skirt_loops = 0;
  p.sparse_pattern = InfillPattern::rectilinear;  // many separate lines: ordering matters
  const auto layers = stack(plate(), 6);
  p.optimize = 0;
  const double nn = travel(plan(layers, p).toolpaths);
  p.optimize = 1;
  const double two_opt = travel(plan(layers, p).toolpaths);
  p.optimize = 2;
  const double full = travel(plan(layers, p).toolpaths);
  EXPECT_LE(two_opt, nn + 1e-6);
  EXPECT_LE(full, two_opt + 1e-6);

  // Scattered islands: greedy order leaves long jumps back that 2-opt removes.
  Regions scattered;
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> u(40, 180);
  for (int i = 0; i < 30; ++i) {
    const double x = u(rng), y = u(rng);
    bool clash = false;
    for (const auto& isl : scattered.islands)
      clash = clash || (std::abs(isl.outer[0].x - x) < 6 && std::abs(isl.outer[0].y - y) < 6);
    if (!clash) scattered.islands.push_back({rect(x, y, x + 4, y + 4), {}});
  }
  p.optimize = 0;
  const double scattered_nn = travel(plan(stack(scattered, 1), p).toolpaths);
  p.optimize = 2;
  const double scattered_opt = travel(plan(stack(scattered, 1), p).toolpaths);
  EXPECT_LT(scattered_opt, 0.95 * scattered_nn)
      << "nearest neighbour " << scattered_nn << " mm, optimised " << scattered_opt;
}

TEST(ToolpathPlan, MirroredRegionGivesMirroredWalls) {
  PlanParams p;
  p.skirt_loops = 0;
  p.infill_density = 0.2;
  const Regions r = plate();
  const Regions m = mirrored_x(r, 110);
  const auto a = plan(stack(r, 5), p), b = plan(stack(m, 5), p);
  auto wall_length = [](const PlannedToolpaths& t) {
    double len = 0;
    for (const auto& l : t.toolpaths.layers)
      for (const auto& path : l.paths)
        if (path.feature == gcode::Feature::wall_outer || path.feature == gcode::Feature::wall_inner)
          len += gcode::path_length(path);
    return len;
  };
  EXPECT_NEAR(wall_length(a), wall_length(b), 1e-3);
  EXPECT_NEAR(a.report.extrusion_mm, b.report.extrusion_mm, 0.01 * a.report.extrusion_mm);
}

TEST(ToolpathPlan, ThinFeaturesBecomeGapFill) {
  // A comb: a 0.35 mm and a 0.6 mm tooth on a base; the thin tooth cannot hold a wall loop.
  Regions comb;
  comb.islands.push_back({{{100, 100},
                           {110, 100},
                           {110, 102},
                           {108, 102},
                           {108, 112},
                           {107.4, 112},
                           {107.4, 102},
                           {103, 102},
                           {103, 112},
                           {102.65, 112},
                           {102.65, 102},
                           {100, 102}},
                          {}});
  PlanParams p;
  p.skirt_loops = 0;
  const auto result = plan(stack(comb, 3), p);
  EXPECT_GE(result.report.gap_fill_paths, 3) << "the thin tooth is printed on every layer";
  // Every tooth gets material along its length: some extrusion point near the tip of each.
  for (double x : {102.825, 107.7}) {
    bool reached = false;
    for (const auto& path : result.toolpaths.layers[1].paths)
      for (Point2 q : path.points) reached = reached || (std::abs(q.x - x) < 0.3 && q.y > 110.5);
    EXPECT_TRUE(reached) << "tooth at x=" << x;
  }
}

TEST(ToolpathPlan, NewIslandsRetractInsideTravelDoesNot) {
  Regions two;
  two.islands.push_back({rect(80, 80, 100, 100), {}});
  two.islands.push_back({rect(120, 80, 140, 100), {}});
  PlanParams p;
  p.skirt_loops = 0;
  const auto result = plan(stack(two, 2), p);
  int retracting = 0, inside = 0;
  for (const auto& l : result.toolpaths.layers)
    for (std::size_t k = 1; k < l.paths.size(); ++k) (l.paths[k].retract_before ? retracting : inside)++;
  EXPECT_GE(retracting, 2) << "one island change per layer";
  EXPECT_GT(inside, retracting) << "travel within an island stays inside";
}

TEST(ToolpathPlan, RejectsBadParameters) {
  PlanParams p;
  p.line_width_mm = 5;
  EXPECT_THROW(plan(stack(plate(), 2), p), Error);
  p = PlanParams{};
  p.infill_density = 1.5;
  EXPECT_THROW(plan(stack(plate(), 2), p), Error);
  p = PlanParams{};
  p.solid_pattern = InfillPattern::gyroid;
  EXPECT_THROW(plan(stack(plate(), 2), p), Error);
  EXPECT_THROW(plan({}, PlanParams{}), Error);
}

TEST(ToolpathPlan, TravelWithoutRetractionStaysInsideThePart) {
  // A plate with a ring of small holes: infill lines end at every hole, so many travels would
  // cross one. A travel the planner does not retract for must not pass over a hole.
  Regions r;
  PolygonWithHoles plate_with_holes{rect(90, 90, 130, 130), {}};
  for (int i = 0; i < 6; ++i)
    plate_with_holes.holes.push_back(
        circle(110 + 10 * std::cos(i * 1.0472), 110 + 10 * std::sin(i * 1.0472), 1.5, 24, false));
  r.islands.push_back(plate_with_holes);
  PlanParams p;
  p.skirt_loops = 0;
  p.sparse_pattern = InfillPattern::rectilinear;
  const auto result = plan(stack(r, 6), p);
  Regions shrunk;  // the holes, less a hair for points that lie exactly on their outline
  for (int i = 0; i < 6; ++i)
    shrunk.islands.push_back({circle(110 + 10 * std::cos(i * 1.0472), 110 + 10 * std::sin(i * 1.0472), 1.49, 24), {}});
  int routed = 0, checked = 0;
  for (const auto& layer : result.toolpaths.layers) {
    for (std::size_t k = 1; k < layer.paths.size(); ++k) {
      const auto& path = layer.paths[k];
      if (path.retract_before) continue;
      const auto& prev = layer.paths[k - 1];
      std::vector<Point2> route = {prev.closed ? prev.points.front() : prev.points.back()};
      route.insert(route.end(), path.travel_via.begin(), path.travel_via.end());
      route.push_back(path.points.front());
      routed += !path.travel_via.empty();
      for (std::size_t s = 1; s < route.size(); ++s)
        for (int f = 0; f <= 20; ++f) {
          const Point2 q{route[s - 1].x + (route[s].x - route[s - 1].x) * f / 20.0,
                         route[s - 1].y + (route[s].y - route[s - 1].y) * f / 20.0};
          ++checked;
          ASSERT_FALSE(contains(shrunk, q)) << "travel over a hole at " << q.x << "," << q.y;
        }
    }
  }
  EXPECT_GT(checked, 100);
  EXPECT_GT(routed, 0) << "some travel goes round a hole instead of over it";
}

TEST(ToolpathPlan, RandomPolygonsGiveClosedWallsInsideTheRegion) {
  // Random star-shaped outlines with a random hole: every extrusion point lies inside the region,
  // every wall is a closed loop, and the G-code writer accepts the result on a 220 mm bed.
  std::mt19937 rng(2024);
  std::uniform_real_distribution<double> u(0, 1);
  for (int trial = 0; trial < 12; ++trial) {
    const int n = 5 + static_cast<int>(u(rng) * 30);
    Ring outer;
    for (int i = 0; i < n; ++i) {
      const double a = 2 * std::numbers::pi * (i + 0.3 * u(rng)) / n, r = 8 + 17 * u(rng);
      outer.push_back({110 + r * std::cos(a), 110 + r * std::sin(a)});
    }
    Regions region;
    region.islands.push_back({outer, {circle(110 + 2 * u(rng), 110 + 2 * u(rng), 1 + 3 * u(rng), 16 + trial, false)}});
    PlanParams p;
    p.infill_density = 0.1 + 0.3 * u(rng);
    p.sparse_pattern = static_cast<InfillPattern>(trial % 6);
    p.perimeters = 1 + trial % 3;
    p.skirt_loops = 0;
    const auto result = plan(stack(region, 8), p);
    for (const auto& layer : result.toolpaths.layers)
      for (const auto& path : layer.paths) {
        if (path.feature == gcode::Feature::wall_outer || path.feature == gcode::Feature::wall_inner) {
          ASSERT_TRUE(path.closed) << "trial " << trial;
        }
        for (Point2 q : path.points)
          ASSERT_TRUE(contains(region, q)) << "trial " << trial << " at " << q.x << "," << q.y;
      }
    const gcode::PrinterProfile profile = gcode::load_profile("generic-marlin");
    const gcode::WrittenGcode written = gcode::write_gcode(result.toolpaths, profile, {});
    for (const gcode::Problem& problem : written.analysis.problems)
      ADD_FAILURE() << "trial " << trial << ": " << problem.message;
    EXPECT_EQ(written.analysis.stats.layers, 8);
  }
}
