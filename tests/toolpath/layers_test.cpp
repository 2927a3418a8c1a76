#include "fabforge/toolpath/layers.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <numbers>
#include <random>
#include <utility>

#include "fabforge/core/error.hpp"
#include "fabforge/toolpath/regions.hpp"

namespace fabforge::toolpath {
namespace {

constexpr double kPi = std::numbers::pi;

double heights_sum(const std::vector<double>& tops) { return tops.empty() ? 0 : tops.back(); }

void expect_tops_valid(const LayerParams& p) {
  SCOPED_TRACE("thickness " + std::to_string(p.thickness_mm));
  const std::vector<double> tops = layer_tops(p);
  ASSERT_FALSE(tops.empty());
  EXPECT_EQ(tops.back(), p.thickness_mm);  // exactly
  double below = 0, total = 0;
  for (std::size_t i = 0; i < tops.size(); ++i) {
    const double h = tops[i] - below;
    total += h;
    EXPECT_GT(h, 0);
    if (i == 0 && tops.size() > 1) {
      EXPECT_NEAR(h, p.first_layer_height_mm, 1e-12);
    }
    if (i > 0 && i + 1 < tops.size()) {
      EXPECT_NEAR(h, p.layer_height_mm, 1e-12);
    }
    if (i > 0 && i + 1 == tops.size()) {
      EXPECT_GE(h, 0.5 * p.layer_height_mm - 1e-12);
      EXPECT_LE(h, 1.5 * p.layer_height_mm + 1e-12);
    }
    below = tops[i];
  }
  EXPECT_NEAR(total, p.thickness_mm, 1e-12);
}

TEST(LayerTops, StackEndsExactlyAtTheThickness) {
  const std::vector<double> tops = layer_tops({2.0, 0.2, 0.2});
  ASSERT_EQ(tops.size(), 10u);
  EXPECT_NEAR(tops[0], 0.2, 1e-15);
  EXPECT_NEAR(tops[4], 1.0, 1e-12);
  EXPECT_EQ(heights_sum(tops), 2.0);
  for (double t : {2.0, 1.05, 2.05, 2.29, 0.2, 0.29, 3.333, 10.0, 0.7})
    for (auto [first, h] : {std::pair{0.2, 0.2}, {0.3, 0.15}, {0.25, 0.1}, {0.2, 0.28}})
      if (t >= first) expect_tops_valid({t, first, h});
}

TEST(LayerTops, EdgeCases) {
  EXPECT_EQ(layer_tops({0.2, 0.2, 0.2}), std::vector<double>{0.2});
  EXPECT_EQ(layer_tops({0.25, 0.2, 0.2}), std::vector<double>{0.25});  // less than half a layer more
  EXPECT_EQ(layer_tops({0.3, 0.2, 0.2}).size(), 2u);                   // exactly half a layer more
  const auto thick = layer_tops({1.05, 0.2, 0.2});                     // 0.85 left: 3 full + 0.25
  ASSERT_EQ(thick.size(), 5u);
  EXPECT_NEAR(thick.back() - thick[3], 0.25, 1e-12);
  EXPECT_THROW(layer_tops({0, 0.2, 0.2}), Error);
  EXPECT_THROW(layer_tops({2, -0.2, 0.2}), Error);
  EXPECT_THROW(layer_tops({2, 0.2, 0}), Error);
  EXPECT_THROW(layer_tops({std::nan(""), 0.2, 0.2}), Error);
  EXPECT_THROW(layer_tops({1e9, 0.2, 0.2}), Error);
  try {
    layer_tops({0.1, 0.2, 0.2});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_NE(std::string(e.what()).find("thinner than the first layer"), std::string::npos) << e.what();
  }
}

Ring rect(double x0, double y0, double x1, double y1, bool ccw = true) {
  Ring r{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}};
  if (!ccw) std::reverse(r.begin(), r.end());
  return r;
}

Ring circle(double cx, double cy, double r, int n, bool ccw = true) {
  Ring ring;
  for (int k = 0; k < n; ++k) {
    const double a = 2 * kPi * k / n * (ccw ? 1 : -1);
    ring.push_back({cx + r * std::cos(a), cy + r * std::sin(a)});
  }
  return ring;
}

// A plate with two holes, an island inside one of them, and a separate disc.
Regions sample_regions() {
  Regions r;
  r.islands.push_back({rect(0, 0, 60, 40), {circle(15, 20, 8, 64, false), rect(35, 10, 52, 30, false)}});
  r.islands.push_back({circle(43.5, 20, 4, 40), {}});
  r.islands.push_back({circle(80, 20, 10, 90), {circle(80, 20, 3, 30, false)}});
  return r;
}

TEST(ExtrudeLayers, SameRegionsOnEveryLayer) {
  const Regions r = sample_regions();
  const auto layers = extrude_layers(r, {1.1, 0.3, 0.2});
  ASSERT_EQ(layers.size(), 5u);
  double below = 0;
  for (const auto& l : layers) {
    EXPECT_NEAR(l.height_mm, l.z_mm - below, 1e-12);
    EXPECT_EQ(regions_to_json(l.regions), regions_to_json(r));
    below = l.z_mm;
  }
  EXPECT_EQ(layers.back().z_mm, 1.1);
}

TEST(LayersToMesh, ExtrudedRegionsAreOneWatertightPrismWithTheRightVolume) {
  const Regions r = sample_regions();
  const double thickness = 2.4;
  const Mesh mesh = layers_to_mesh(extrude_layers(r, {thickness, 0.2, 0.2}));
  const MeshReport rep = analyze_mesh(mesh);
  EXPECT_TRUE(rep.watertight());
  EXPECT_TRUE(rep.manifold);
  EXPECT_EQ(rep.degenerate_triangles, 0u);
  EXPECT_NEAR(rep.volume / (area(r) * thickness), 1.0, 1e-6);
  EXPECT_NEAR(rep.bounds.min.z, 0.0, 1e-9);
  EXPECT_NEAR(rep.bounds.max.z, thickness, 1e-6);
  // One prism: a vertex per ring point at the bottom and at the top.
  std::size_t points = 0;
  for (const auto& island : r.islands) {
    points += island.outer.size();
    for (const Ring& h : island.holes) points += h.size();
  }
  EXPECT_EQ(rep.vertices, 2 * points);
}

TEST(LayersToMesh, RegionsFromAnImageGiveAWatertightMesh) {
  Image8 img(300, 300, 1, Encoding::srgb, 255);
  for (int y = 0; y < 300; ++y)
    for (int x = 0; x < 300; ++x) {
      const double d = std::hypot(x - 150.0, y - 150.0);
      if ((d < 120 && d > 60) || std::hypot(x - 150.0, y - 150.0) < 30 || (x > 20 && x < 40 && y > 20 && y < 80))
        img.at(x, y) = 0;
    }
  RunContext ctx;
  const ImageRegions got = image_to_regions(img, {}, ctx);
  ASSERT_EQ(got.report.islands, 3);
  const Mesh mesh = layers_to_mesh(extrude_layers(got.regions, {3.0, 0.2, 0.2}));
  const MeshReport rep = analyze_mesh(mesh);
  EXPECT_TRUE(rep.watertight());
  EXPECT_NEAR(rep.volume / (got.report.area_mm2 * 3.0), 1.0, 1e-6);
}

// A horizontal ramp: black on the left, white on the right.
Image8 ramp(int w, int h) {
  Image8 img(w, h, 1);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) img.at(x, y) = static_cast<std::uint8_t>(std::lround(255.0 * x / (w - 1)));
  return img;
}

TEST(HeightmapLayers, RampGivesNestedShrinkingLayers) {
  const LayerParams p{2.0, 0.2, 0.2};
  const double mpp = 0.1;
  const Image8 img = ramp(256, 100);
  const auto layers = heightmap_layers(img, {}, p, mpp, {50, 50}, 0.05, 0.02);
  ASSERT_EQ(layers.size(), 10u);
  const double full = 25.6 * 10.0;
  double prev_area = 1e300;
  for (std::size_t k = 0; k < layers.size(); ++k) {
    SCOPED_TRACE("layer " + std::to_string(k));
    const double a = area(layers[k].regions);
    EXPECT_LT(a, prev_area);
    // Pixels whose height reaches the layer's middle: grey >= 255 (z - h/2) / thickness.
    const double cut = std::ceil(255.0 * (layers[k].z_mm - 0.5 * layers[k].height_mm) / p.thickness_mm - 1e-9);
    const double expected = (256 - cut) / 256 * full;
    EXPECT_NEAR(a, expected, 0.15 * 10.0) << "within 1.5 pixel columns";
    if (k > 0) {  // every point of this layer is also in the one below
      for (double x = 37.5; x < 63; x += 0.13)
        for (double y = 45.2; y < 55; y += 0.37)
          if (contains(layers[k].regions, {x, y})) {
            ASSERT_TRUE(contains(layers[k - 1].regions, {x, y}));
          }
    }
    prev_area = a;
  }
  const Mesh mesh = layers_to_mesh(layers);
  const MeshReport rep = analyze_mesh(mesh);
  EXPECT_TRUE(rep.watertight());
  double volume = 0;
  for (const auto& l : layers) volume += area(l.regions) * l.height_mm;
  EXPECT_NEAR(rep.volume / volume, 1.0, 1e-6);
}

TEST(HeightmapLayers, MaskGivesAFirstLayerEvenWhereBlack) {
  Image8 heights(100, 80, 1);  // all black
  Image8 mask(100, 80, 1);
  for (int y = 10; y < 70; ++y)
    for (int x = 20; x < 60; ++x) mask.at(x, y) = 1;
  for (int y = 30; y < 50; ++y)
    for (int x = 30; x < 50; ++x) heights.at(x, y) = 255;
  heights.at(90, 5) = 255;  // outside the mask: ignored
  const auto layers = heightmap_layers(heights, mask, {1.0, 0.2, 0.2}, 0.1, {0, 0}, 0.01, 0.01);
  ASSERT_EQ(layers.size(), 5u);
  EXPECT_NEAR(area(layers[0].regions), 4.0 * 6.0, 0.01);
  for (std::size_t k = 1; k < layers.size(); ++k) EXPECT_NEAR(area(layers[k].regions), 2.0 * 2.0, 0.01);
  // Layers 1..4 are identical, so the mesh is two prisms.
  const MeshReport rep = analyze_mesh(layers_to_mesh(layers));
  EXPECT_TRUE(rep.watertight());
  EXPECT_NEAR(rep.volume, area(layers[0].regions) * 0.2 + area(layers[1].regions) * 0.8, 1e-4);
  EXPECT_THROW(heightmap_layers(heights, Image8(10, 10, 1), {1.0, 0.2, 0.2}, 0.1, {0, 0}, 0, 0), Error);
  EXPECT_TRUE(heightmap_layers(Image8(10, 10, 1), {}, {1.0, 0.2, 0.2}, 0.1, {0, 0}, 0, 0).empty());
}

double triangles_area(const std::vector<std::array<int, 3>>& tris, const std::vector<Point2>& v, double* min_area) {
  double total = 0;
  *min_area = 1e300;
  for (const auto& t : tris) {
    const Point2 a = v[t[0]], b = v[t[1]], c = v[t[2]];
    const double s = 0.5 * ((b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x));
    total += s;
    *min_area = std::min(*min_area, s);
  }
  return total;
}

// Each ring edge (in the stored ring order, outer CCW, holes CW) appears once in the triangles
// and every other directed edge is matched by its reverse: the caps close against walls.
void expect_edges_close(const PolygonWithHoles& poly, const std::vector<std::array<int, 3>>& tris) {
  std::map<std::pair<int, int>, int> uses;
  for (const auto& t : tris)
    for (int k = 0; k < 3; ++k) ++uses[{t[k], t[(k + 1) % 3]}];
  int base = 0;
  auto ring_edges = [&](const Ring& r) {
    const int n = static_cast<int>(r.size());
    for (int k = 0; k < n; ++k) {
      auto it = uses.find({base + k, base + (k + 1) % n});
      ASSERT_NE(it, uses.end());
      --it->second;
    }
    base += n;
  };
  ring_edges(poly.outer);
  for (const Ring& h : poly.holes) ring_edges(h);
  for (const auto& [e, n] : uses) {
    if (n == 0) continue;
    const auto back = uses.find({e.second, e.first});
    ASSERT_TRUE(back != uses.end() && back->second == n) << e.first << "->" << e.second;
  }
}

Ring random_star(std::mt19937& rng, Point2 c, double r_min, double r_max, int n, bool ccw) {
  std::uniform_real_distribution<double> u(0, 1);
  Ring ring;
  for (int k = 0; k < n; ++k) {  // jittered angles: every gap is under 1.8 x 360 / n degrees
    const double a = 2 * kPi * (k + 0.8 * u(rng)) / n;
    const double r = r_min + (r_max - r_min) * u(rng);
    ring.push_back({c.x + r * std::cos(a), c.y + r * std::sin(a)});
  }
  if (!ccw) std::reverse(ring.begin(), ring.end());
  return ring;
}

TEST(Triangulate, RandomStarPolygonsWithHolesKeepTheirArea) {
  std::mt19937 rng(12345);
  for (int trial = 0; trial < 200; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const int n = 5 + static_cast<int>(rng() % 200);  // 5+: the centre stays inside
    PolygonWithHoles poly;
    poly.outer = random_star(rng, {100, 100}, 20, 30, n, true);
    // Holes on a circle well inside the outer ring's nearest edge, 72 degrees apart: never
    // overlapping each other or the outer ring.
    double d = 1e300;
    for (std::size_t i = 0, j = n - 1; i < static_cast<std::size_t>(n); j = i++) {
      const Point2 a = poly.outer[j], b = poly.outer[i];
      d = std::min(d,
                   std::abs((b.x - a.x) * (a.y - 100) - (b.y - a.y) * (a.x - 100)) / std::hypot(b.x - a.x, b.y - a.y));
    }
    const double rho = 0.55 * d, r_max = std::min(0.4 * d, 0.95 * rho * std::sin(kPi / 5));
    const int holes = static_cast<int>(rng() % 5);
    for (int h = 0; h < holes; ++h) {
      const double a = 2 * kPi * h / 5;
      poly.holes.push_back(random_star(rng, {100 + rho * std::cos(a), 100 + rho * std::sin(a)}, 0.3 * r_max, r_max,
                                       3 + static_cast<int>(rng() % 30), false));
    }
    std::vector<Point2> v;
    const auto tris = triangulate(poly, v);
    std::size_t points = poly.outer.size();
    for (const Ring& h : poly.holes) points += h.size();
    ASSERT_EQ(v.size(), points);
    EXPECT_EQ(tris.size(), points + 2 * poly.holes.size() - 2);
    double smallest = 0;
    EXPECT_NEAR(triangles_area(tris, v, &smallest) / area(poly), 1.0, 1e-12);
    EXPECT_GE(smallest, -1e-12);
    expect_edges_close(poly, tris);
  }
}

TEST(Triangulate, ClockwiseOuterAndCounterClockwiseHolesAreAccepted) {
  PolygonWithHoles poly{rect(0, 0, 10, 10, false), {rect(2, 2, 4, 4, true), rect(6, 6, 8, 8, true)}};
  std::vector<Point2> v;
  const auto tris = triangulate(poly, v);
  double smallest = 0;
  EXPECT_NEAR(triangles_area(tris, v, &smallest), 100 - 8, 1e-12);
  EXPECT_GE(smallest, 0);
  EXPECT_EQ(v[0], (Point2{0, 10}));  // vertices as given
}

TEST(Triangulate, CollinearAndDuplicatePoints) {
  // A square with every side split into collinear pieces and a repeated corner, with a square
  // hole and a rectangular hole that has a straight (collinear) point on its right side.
  Ring outer;
  for (int i = 0; i < 10; ++i) outer.push_back({double(i), 0});
  outer.push_back({10, 0});
  for (int i = 0; i < 10; ++i) outer.push_back({10, double(i)});
  for (int i = 10; i > 0; --i) outer.push_back({double(i), 10});
  for (int i = 10; i > 0; --i) outer.push_back({0, double(i)});
  PolygonWithHoles poly{outer, {rect(3, 3, 5, 5, false), {{7, 2}, {7, 8}, {8, 8}, {8, 5}, {8, 2}}}};
  std::vector<Point2> v;
  const auto tris = triangulate(poly, v);
  double smallest = 0;
  EXPECT_NEAR(triangles_area(tris, v, &smallest), 100 - 4 - 6, 1e-12);
  EXPECT_GE(smallest, -1e-12);
}

TEST(Triangulate, LongJaggedRingIsFast) {
  // 5000 points: a star with 2500 spikes.
  Ring ring;
  for (int k = 0; k < 5000; ++k) {
    const double a = 2 * kPi * k / 5000, r = k % 2 ? 30 : 22;
    ring.push_back({r * std::cos(a), r * std::sin(a)});
  }
  PolygonWithHoles poly{ring, {circle(0, 0, 10, 500, false)}};
  std::vector<Point2> v;
  const auto start = std::chrono::steady_clock::now();
  const auto tris = triangulate(poly, v);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  RecordProperty("triangulate_5500_points_ms", std::to_string(ms));
  double smallest = 0;
  EXPECT_NEAR(triangles_area(tris, v, &smallest) / area(poly), 1.0, 1e-12);
  EXPECT_GE(smallest, -1e-12);
  EXPECT_EQ(tris.size(), 5500u);
}

TEST(Triangulate, DegenerateInputIsAnInputError) {
  std::vector<Point2> v;
  EXPECT_THROW(triangulate({{{0, 0}, {1, 1}}, {}}, v), Error);
  EXPECT_THROW(triangulate({{{0, 0}, {1, 1}, {2, 2}}, {}}, v), Error);
  EXPECT_THROW(triangulate({{{0, 0}, {1, 0}, {std::nan(""), 2}}, {}}, v), Error);
  EXPECT_THROW(triangulate({rect(0, 0, 1, 1), {{{0.2, 0.2}, {0.3, 0.3}}}}, v), Error);
}

}  // namespace
}  // namespace fabforge::toolpath
