#include "fabforge/core/heightfield.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "fabforge/core/error.hpp"
#include "fabforge/core/mesh.hpp"
#include "fabforge/core/run_context.hpp"

namespace fabforge {
namespace {

using HeightFn = std::function<float(int, int)>;
using MaskFn = std::function<bool(int, int)>;

Heightfield make_field(int w, int h, double pixel_mm, const HeightFn& height, const MaskFn& printed = nullptr) {
  Heightfield f;
  f.width = w;
  f.height = h;
  f.pixel_size_mm = pixel_mm;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      f.heights_mm.push_back(height(x, y));
      if (printed) f.mask.push_back(printed(x, y) ? 1 : 0);
    }
  }
  return f;
}

Heightfield random_levels(int w, int h, int levels, std::uint32_t seed, double pixel_mm = 0.3) {
  std::mt19937 rng(seed);
  std::vector<float> z;
  for (int i = 0; i < w * h; ++i) z.push_back(0.5f + 0.25f * static_cast<float>(rng() % static_cast<unsigned>(levels)));
  return make_field(w, h, pixel_mm, [&](int x, int y) { return z[static_cast<std::size_t>(y * w + x)]; });
}

/// A layered relief: a smooth landscape quantized to `levels` heights; `scale` stretches it
/// (at 1 a level band is about ten pixels wide).
Heightfield relief(int w, int h, int levels, double scale = 1.0) {
  return make_field(w, h, 0.2, [&](int x, int y) {
    const double u = x / scale, v = y / scale;
    const double s = std::sin(u / 57.0) + std::cos(v / 41.0) + 0.5 * std::sin((u + 2 * v) / 93.0);  // in [-2.5, 2.5]
    const int q = std::clamp(static_cast<int>((s + 2.5) / 5.0 * levels), 0, levels - 1);
    return 0.6f + 0.08f * static_cast<float>(q);
  });
}

float solid(const Heightfield& f, int x, int y) {
  if (x < 0 || y < 0 || x >= f.width || y >= f.height || !f.printed(x, y)) return 0.0f;
  return f.at(x, y);
}

/// Area of the stepped solid, counted pixel by pixel: top and bottom squares plus unit walls.
double stepped_area(const Heightfield& f) {
  const double p = f.pixel_size_mm;
  double a = 0;
  for (int y = 0; y <= f.height; ++y) {
    for (int x = 0; x <= f.width; ++x) {
      if (solid(f, x, y) > 0) a += 2 * p * p;
      a += std::abs(solid(f, x - 1, y) - solid(f, x, y)) * p;  // wall on the line left of x
      a += std::abs(solid(f, x, y - 1) - solid(f, x, y)) * p;  // wall on the line behind y
    }
  }
  return a;
}

/// Saddle corners: both pixels of one diagonal higher than both of the other, so that the two
/// high columns touch along a vertical edge. `floor_only`: count those whose low pixels are both
/// holes (the edge starts at z = 0).
int saddle_corners(const Heightfield& f, bool floor_only = false) {
  int n = 0;
  for (int cy = 0; cy <= f.height; ++cy) {
    for (int cx = 0; cx <= f.width; ++cx) {
      const float tl = solid(f, cx - 1, cy - 1), tr = solid(f, cx, cy - 1), bl = solid(f, cx - 1, cy),
                  br = solid(f, cx, cy);
      const bool main = std::min(tl, br) > std::max(tr, bl), anti = std::min(tr, bl) > std::max(tl, br);
      const float low = main ? std::max(tr, bl) : std::max(tl, br);
      n += (main || anti) && (!floor_only || low == 0) ? 1 : 0;
    }
  }
  return n;
}

float max_height(const Heightfield& f) {
  float m = 0;
  for (int y = 0; y < f.height; ++y) {
    for (int x = 0; x < f.width; ++x) m = std::max(m, solid(f, x, y));
  }
  return m;
}

/// V - E + F of an indexed mesh: 2 per sphere-like component, 0 for a torus.
long euler_characteristic(const Mesh& m) {
  std::set<std::pair<std::uint32_t, std::uint32_t>> edges;
  for (const Triangle& t : m.triangles) {
    for (int k = 0; k < 3; ++k) edges.insert(std::minmax(t[k], t[(k + 1) % 3]));
  }
  return static_cast<long>(m.vertices.size()) - static_cast<long>(edges.size()) + static_cast<long>(m.triangles.size());
}

/// Closed, oriented, non-degenerate and edge-manifold: saddle corners carry coincident vertex
/// copies, so even there every edge of the indexed mesh has exactly two triangles.
void expect_closed_solid(const MeshReport& r) {
  EXPECT_GT(r.triangles, 0u);
  EXPECT_TRUE(r.closed) << r.unbalanced_edges << " unbalanced edges";
  EXPECT_TRUE(r.consistently_oriented);
  EXPECT_EQ(r.degenerate_triangles, 0u);
  EXPECT_GT(r.volume, 0);
  EXPECT_TRUE(r.manifold);
  EXPECT_EQ(r.non_manifold_edges, 0u);
  EXPECT_EQ(r.boundary_edges, 0u);
}

/// The box spanned by the printed pixels, from z = 0 to the highest pixel.
void expect_bounds(const MeshReport& r, const Heightfield& f) {
  const double p = f.pixel_size_mm;
  int x0 = f.width, x1 = 0, y0 = f.height, y1 = 0;
  for (int y = 0; y < f.height; ++y) {
    for (int x = 0; x < f.width; ++x) {
      if (!f.printed(x, y)) continue;
      x0 = std::min(x0, x), x1 = std::max(x1, x + 1), y0 = std::min(y0, y), y1 = std::max(y1, y + 1);
    }
  }
  EXPECT_DOUBLE_EQ(r.bounds.min.z, 0.0);
  EXPECT_EQ(r.bounds.max.z, static_cast<double>(max_height(f)));
  const double tol = 1e-6 * (f.width + f.height) * p;
  EXPECT_NEAR(r.bounds.min.x, x0 * p, tol);
  EXPECT_NEAR(r.bounds.max.x, x1 * p, tol);
  EXPECT_NEAR(r.bounds.min.y, (f.height - y1) * p, tol);  // row 0 is at the back (+y)
  EXPECT_NEAR(r.bounds.max.y, (f.height - y0) * p, tol);
}

/// Unit pixel edges with a step across them (the outline counts): what a stepped solid's walls
/// are made of, and what its triangle count should grow with instead of the pixel count.
int unit_step_edges(const Heightfield& f) {
  int n = 0;
  for (int y = 0; y <= f.height; ++y) {
    for (int x = 0; x <= f.width; ++x) {
      n += solid(f, x - 1, y) != solid(f, x, y) ? 1 : 0;
      n += solid(f, x, y - 1) != solid(f, x, y) ? 1 : 0;
    }
  }
  return n;
}

/// Plateaus a few dozen pixels across: a base, two discs and a block at four heights.
Heightfield terraces(int w, int h) {
  return make_field(w, h, 0.2, [](int x, int y) {
    if ((x - 60) * (x - 60) + (y - 60) * (y - 60) < 35 * 35) return 1.6f;
    if ((x - 140) * (x - 140) + (y - 90) * (y - 90) < 40 * 40) return 2.4f;
    if (x >= 20 && x < 80 && y >= 110 && y < 140) return 1.2f;
    return 0.8f;
  });
}

/// Everything a stepped solid must satisfy, measured; returns the report for further checks.
MeshReport check_stepped(const Heightfield& f, const Mesh& m) {
  const MeshReport r = analyze_mesh(m);
  expect_closed_solid(r);
  const double volume = heightfield_volume(f);
  EXPECT_NEAR(r.volume, volume, 1e-6 * volume);
  EXPECT_NEAR(r.area, stepped_area(f), 1e-6 * stepped_area(f));
  EXPECT_TRUE(r.watertight() && r.manifold);
  // Every triangle of a stepped solid lies in an axis plane.
  for (const Triangle& t : m.triangles) {
    const Vec3f a = m.vertices[t[0]], b = m.vertices[t[1]], c = m.vertices[t[2]];
    const bool axis_plane = (a.x == b.x && b.x == c.x) || (a.y == b.y && b.y == c.y) || (a.z == b.z && b.z == c.z);
    EXPECT_TRUE(axis_plane);
    if (!axis_plane) break;
  }
  expect_bounds(r, f);
  return r;
}

Mesh stepped(const Heightfield& f) { return heightfield_to_mesh(f); }
Mesh smooth(const Heightfield& f) { return heightfield_to_mesh(f, {.style = HeightfieldStyle::smooth}); }

TEST(HeightfieldStepped, SinglePixelIsABox) {
  const Heightfield f = make_field(1, 1, 0.5, [](int, int) { return 2.0f; });
  const Mesh m = stepped(f);
  const MeshReport r = check_stepped(f, m);
  EXPECT_EQ(r.vertices, 8u);
  EXPECT_EQ(r.triangles, 12u);
  EXPECT_DOUBLE_EQ(r.volume, 0.5);
}

TEST(HeightfieldStepped, ConstantFieldCostsAHandfulOfTriangles) {
  const Heightfield f = make_field(100, 80, 0.2, [](int, int) { return 3.0f; });
  const Mesh m = stepped(f);
  const MeshReport r = check_stepped(f, m);
  EXPECT_LE(r.triangles, 24u);  // a box is 12; 8000 pixels would be 16000 top triangles unmerged
  EXPECT_NEAR(r.volume, 100 * 0.2 * 80 * 0.2 * 3.0, 1e-3);
  EXPECT_EQ(euler_characteristic(m), 2);
}

TEST(HeightfieldStepped, RandomFewLevelsIsClosedWithExactVolume) {
  for (std::uint32_t seed : {1u, 2u, 3u}) {
    const Heightfield f = random_levels(37, 23, 3, seed);
    check_stepped(f, stepped(f));
  }
}

TEST(HeightfieldStepped, MaskedHoleMakesATorus) {
  const Heightfield f = make_field(
      30, 20, 0.25, [](int x, int) { return 1.0f + 0.5f * static_cast<float>(x / 10); },
      [](int x, int y) { return !(x >= 10 && x < 20 && y >= 7 && y < 13); });
  const Mesh m = stepped(f);
  const MeshReport r = check_stepped(f, m);
  EXPECT_TRUE(r.watertight() && r.manifold);
  EXPECT_EQ(euler_characteristic(m), 0);
}

TEST(HeightfieldStepped, UnprintedPixelsMayHoldAnyHeight) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Heightfield f = make_field(
      6, 5, 1.0, [](int x, int y) { return x == 2 && y == 2 ? -1.0f : 1.0f; },
      [](int x, int y) { return !(x == 2 && y == 2); });
  const Mesh m = stepped(f);
  check_stepped(f, m);
  EXPECT_EQ(euler_characteristic(m), 0);  // a one-pixel hole through a plate
  Heightfield g = f;
  g.heights_mm[2 * 6 + 2] = nan;
  EXPECT_TRUE(stepped(g).triangles == m.triangles);
  const Mesh s = smooth(g);
  const MeshReport rs = analyze_mesh(s);
  EXPECT_TRUE(rs.watertight() && rs.manifold);
  EXPECT_TRUE(s.vertices == smooth(f).vertices);
}

TEST(HeightfieldStepped, CheckerboardSaddlesAreManifoldByIndex) {
  const Heightfield f = make_field(8, 8, 1.0, [](int x, int y) { return (x + y) % 2 == 0 ? 1.0f : 2.0f; });
  const Mesh m = stepped(f);
  const MeshReport r = check_stepped(f, m);
  EXPECT_TRUE(r.manifold);
  EXPECT_EQ(r.non_manifold_edges, 0u);
  EXPECT_EQ(r.boundary_edges, 0u);
  // Each interior corner is a saddle: four unit walls stand on its vertical edge from 1 to 2,
  // two for each high pixel, and the top vertex has one copy per pixel. Welding the exactly
  // coincident copies (as an STL round trip does) makes the 49 edges shared again.
  ASSERT_EQ(saddle_corners(f), 7 * 7);
  const Mesh welded = weld_vertices(m);
  EXPECT_EQ(welded.vertices.size(), m.vertices.size() - 7u * 7u);
  EXPECT_EQ(welded.triangles.size(), m.triangles.size());
  const MeshReport w = analyze_mesh(welded);
  EXPECT_TRUE(w.closed);
  EXPECT_TRUE(w.consistently_oriented);
  EXPECT_FALSE(w.manifold);
  EXPECT_EQ(w.non_manifold_edges, 7u * 7u);
  EXPECT_EQ(w.boundary_edges, 0u);
  EXPECT_EQ(w.volume, r.volume);
}

TEST(HeightfieldStepped, RandomManyLevelsWithManySaddlesIsManifold) {
  for (std::uint32_t seed : {4u, 5u}) {
    Heightfield f = random_levels(90, 70, 12, seed);
    // Holes too, so that some saddles stand on the floor.
    f.mask.assign(f.heights_mm.size(), 1);
    std::mt19937 rng(seed);
    for (std::uint8_t& m : f.mask) m = rng() % 5 == 0 ? 0 : 1;
    const int saddles = saddle_corners(f), on_floor = saddle_corners(f, true);
    ASSERT_GT(saddles, 1000);
    ASSERT_GT(on_floor, 50);
    const Mesh m = stepped(f);
    const MeshReport r = check_stepped(f, m);
    EXPECT_TRUE(r.manifold && r.closed && r.consistently_oriented);
    EXPECT_NEAR(r.volume, heightfield_volume(f), 1e-6 * r.volume);
    // One extra copy at the top of each touching edge, and one at the bottom where that is the
    // floor; nothing else is duplicated.
    const Mesh welded = weld_vertices(m);
    EXPECT_EQ(m.vertices.size() - welded.vertices.size(), static_cast<std::size_t>(saddles + on_floor));
    EXPECT_EQ(analyze_mesh(welded).non_manifold_edges, static_cast<std::size_t>(saddles));
  }
}

TEST(HeightfieldStepped, LShapedMask) {
  const Heightfield f = make_field(
      40, 30, 0.1, [](int x, int y) { return 0.4f + 0.2f * static_cast<float>((x + y) / 15); },
      [](int x, int y) { return x < 12 || y >= 20; });
  const Mesh m = stepped(f);
  const MeshReport r = check_stepped(f, m);
  EXPECT_TRUE(r.watertight() && r.manifold);
  EXPECT_EQ(euler_characteristic(m), 2);
}

TEST(HeightfieldStepped, TwoIslandsAreTwoSolids) {
  const Heightfield f = make_field(
      30, 12, 0.5, [](int x, int) { return x < 15 ? 1.0f : 2.5f; },
      [](int x, int y) { return y > 1 && y < 10 && (x < 12 || x > 17); });
  const Mesh m = stepped(f);
  const MeshReport r = check_stepped(f, m);
  EXPECT_TRUE(r.watertight() && r.manifold);
  EXPECT_EQ(euler_characteristic(m), 4);
}

TEST(HeightfieldStepped, FlatRegionsAreMerged) {
  for (const Heightfield& f : {terraces(200, 150), relief(300, 200, 30), random_levels(60, 40, 3, 9)}) {
    const MeshReport r = check_stepped(f, stepped(f));
    // Each unit step adds about two vertices and a closed surface has about two triangles per
    // vertex; the pixels inside flat regions add nothing.
    EXPECT_LE(r.triangles, 4u * static_cast<unsigned>(unit_step_edges(f)) + 16u) << f.width << " x " << f.height;
  }
  const Heightfield f = terraces(200, 150);
  EXPECT_LT(static_cast<double>(stepped(f).triangle_count()), 0.1 * f.width * f.height);  // unmerged: 2+
}

/// Vertex positions in half-pixel units (centre vertices sit on half pixels), sorted.
std::vector<std::tuple<long, long, float>> grid_vertices(const Mesh& m, double pixel_mm, bool mirror_x, bool mirror_y,
                                                         const Heightfield& f) {
  std::vector<std::tuple<long, long, float>> v;
  for (const Vec3f& p : m.vertices) {
    long x = std::lround(2 * p.x / pixel_mm), y = std::lround(2 * p.y / pixel_mm);
    if (mirror_x) x = 2L * f.width - x;
    if (mirror_y) y = 2L * f.height - y;
    v.emplace_back(x, y, p.z);
  }
  std::sort(v.begin(), v.end());
  return v;
}

TEST(HeightfieldStepped, MirroringTheFieldMirrorsTheMesh) {
  const Heightfield f = make_field(
      41, 27, 0.3, [](int x, int y) { return 0.5f + 0.25f * static_cast<float>(((x * 7) / 9 + (y * y) / 40) % 4); },
      [](int x, int y) { return (x - 12) * (x - 12) + (y - 9) * (y - 9) > 20; });
  for (const bool left_right : {true, false}) {
    const Heightfield g = make_field(
        f.width, f.height, f.pixel_size_mm,
        [&](int x, int y) { return left_right ? f.at(f.width - 1 - x, y) : f.at(x, f.height - 1 - y); },
        [&](int x, int y) { return left_right ? f.printed(f.width - 1 - x, y) : f.printed(x, f.height - 1 - y); });
    const Mesh a = stepped(f), b = stepped(g);
    const MeshReport ra = check_stepped(f, a), rb = check_stepped(g, b);
    EXPECT_EQ(ra.triangles, rb.triangles);
    EXPECT_NEAR(ra.volume, rb.volume, 1e-6 * ra.volume);  // float coordinates round differently
    EXPECT_NEAR(ra.area, rb.area, 1e-6 * ra.area);
    EXPECT_EQ(grid_vertices(a, f.pixel_size_mm, left_right, !left_right, f),
              grid_vertices(b, f.pixel_size_mm, false, false, f));
  }
}

TEST(HeightfieldStepped, DoublingTheResolutionKeepsTheSolid) {
  const Heightfield f = random_levels(19, 13, 4, 7, 0.4);
  const Heightfield g = make_field(38, 26, 0.2, [&](int x, int y) { return f.at(x / 2, y / 2); });
  const MeshReport ra = check_stepped(f, stepped(f)), rb = check_stepped(g, stepped(g));
  EXPECT_NEAR(ra.volume, rb.volume, 1e-6 * ra.volume);
  EXPECT_NEAR(ra.area, rb.area, 1e-6 * ra.area);
  EXPECT_EQ(ra.triangles, rb.triangles);  // merging sees the same rectangles
}

TEST(HeightfieldSmooth, ConstantFieldIsExactlyTheBox) {
  const Heightfield f = make_field(100, 80, 0.2, [](int, int) { return 3.0f; });
  const Mesh m = smooth(f);
  const MeshReport r = analyze_mesh(m);
  expect_closed_solid(r);
  EXPECT_TRUE(r.watertight() && r.manifold);
  EXPECT_LE(r.triangles, 24u);
  EXPECT_NEAR(r.volume, 20.0 * 16.0 * 3.0, 1e-6 * 960.0);
  expect_bounds(r, f);
}

TEST(HeightfieldSmooth, LinearRampHasTheAnalyticVolume) {
  const int w = 20, h = 10;
  const double p = 0.5, slope = 0.25;
  const Heightfield f = make_field(w, h, p, [&](int x, int) { return static_cast<float>(1.0 + slope * x); });
  const MeshReport r = analyze_mesh(smooth(f));
  expect_closed_solid(r);
  EXPECT_TRUE(r.watertight() && r.manifold);
  // Corner heights: 1 at the left edge, 1 + slope * (k - 1/2) inside, 1 + slope * (w - 1) at the
  // right edge; along x the top is piecewise linear between them (trapezoid rule is exact).
  const double inner = (w - 1) + slope * (w - 1) * (w - 1) / 2.0;  // sum over k = 1..w-1
  const double ends = (1.0 + 1.0 + slope * (w - 1)) / 2.0;
  EXPECT_NEAR(r.volume, p * p * h * (inner + ends), 1e-6 * r.volume);
  EXPECT_EQ(r.bounds.max.z, 1.0 + slope * (w - 1));
}

TEST(HeightfieldSmooth, RandomFieldWithHoleIsClosedAndBounded) {
  Heightfield f = random_levels(31, 24, 5, 11);
  f.mask.assign(f.heights_mm.size(), 1);
  for (int y = 8; y < 15; ++y) {
    for (int x = 9; x < 20; ++x) f.mask[static_cast<std::size_t>(y * f.width + x)] = 0;
  }
  const Mesh m = smooth(f);
  const MeshReport r = analyze_mesh(m);
  expect_closed_solid(r);
  EXPECT_TRUE(r.watertight() && r.manifold);
  EXPECT_EQ(euler_characteristic(m), 0);
  const double base = (31.0 * 24 - 11 * 7) * f.pixel_size_mm * f.pixel_size_mm;
  EXPECT_GT(r.volume, 0.5 * base);
  EXPECT_LT(r.volume, max_height(f) * base);
  EXPECT_LE(r.bounds.max.z, max_height(f));
  EXPECT_DOUBLE_EQ(r.bounds.min.z, 0.0);
}

TEST(HeightfieldSmooth, DiagonalMaskSaddlesStayClosedAndManifold) {
  const Heightfield f = make_field(
      9, 7, 1.0, [](int x, int y) { return 1.0f + 0.1f * static_cast<float>(x * y); },
      [](int x, int y) { return (x + y) % 2 == 0; });
  // Printed pixels touch only at corners, along an edge from the floor to the corner height;
  // both of its ends have one copy per pixel.
  const int saddles = saddle_corners(f, true);
  ASSERT_EQ(saddles, 8 * 6);
  for (const Mesh& m : {smooth(f), stepped(f)}) {
    const MeshReport r = analyze_mesh(m);
    expect_closed_solid(r);
    EXPECT_TRUE(r.manifold);
    EXPECT_EQ(r.non_manifold_edges, 0u);
    EXPECT_EQ(r.boundary_edges, 0u);
    const Mesh welded = weld_vertices(m);
    EXPECT_EQ(m.vertices.size() - welded.vertices.size(), 2u * saddles);
    EXPECT_EQ(analyze_mesh(welded).non_manifold_edges, static_cast<std::size_t>(saddles));
  }
  check_stepped(f, stepped(f));
}

TEST(HeightfieldSmooth, RandomMaskWithDiagonalsIsManifold) {
  Heightfield f = random_levels(60, 45, 6, 21);
  f.mask.assign(f.heights_mm.size(), 1);
  std::mt19937 rng(21);
  for (std::uint8_t& m : f.mask) m = rng() % 3 == 0 ? 0 : 1;
  ASSERT_GT(saddle_corners(f, true), 100);
  const MeshReport r = analyze_mesh(smooth(f));
  expect_closed_solid(r);
  EXPECT_LE(r.bounds.max.z, max_height(f));
}

TEST(HeightfieldSmooth, FlatPlateausAreMerged) {
  const Heightfield f = terraces(200, 150);
  const MeshReport r = analyze_mesh(smooth(f));
  expect_closed_solid(r);
  EXPECT_TRUE(r.watertight() && r.manifold);
  expect_bounds(r, f);
  // Only the one-pixel bands where plateaus meet slope; unmerged would be 2 per pixel.
  EXPECT_LT(static_cast<double>(r.triangles), 0.25 * f.width * f.height);
}

TEST(Heightfield, TypicalReliefMeshesIntoASmallClosedSolid) {
  const Heightfield f = relief(750, 500, 30, 3.0);
  const MeshReport r = check_stepped(f, stepped(f));
  EXPECT_LT(static_cast<double>(r.triangles), 0.25 * 750 * 500);
  const MeshReport s = analyze_mesh(smooth(f));
  expect_closed_solid(s);
  EXPECT_TRUE(s.watertight() && s.manifold);
}

TEST(Heightfield, OutputIsDeterministicOnAnyThreadCount) {
  const Heightfield f = relief(240, 160, 12);
  Heightfield g = random_levels(150, 90, 4, 5);
  g.mask.assign(g.heights_mm.size(), 1);
  g.mask[1000] = g.mask[5000] = 0;
  for (const Heightfield* field : std::vector<const Heightfield*>{&f, &g}) {
    for (const HeightfieldStyle style : {HeightfieldStyle::stepped, HeightfieldStyle::smooth}) {
      auto run_on = [&](int threads) {
        RunContext ctx({.threads = threads});
        return ctx.run([&] { return heightfield_to_mesh(*field, {.style = style}); });
      };
      const Mesh one = run_on(1), two = run_on(2), again = run_on(2);
      EXPECT_TRUE(one.vertices == two.vertices);
      EXPECT_TRUE(one.triangles == two.triangles);
      EXPECT_TRUE(two.vertices == again.vertices);
      EXPECT_TRUE(two.triangles == again.triangles);
    }
  }
}

TEST(Heightfield, EmptyMaskOrSizeGivesEmptyMesh) {
  const Heightfield f = make_field(
      5, 4, 1.0, [](int, int) { return 1.0f; }, [](int, int) { return false; });
  EXPECT_TRUE(stepped(f).empty());
  EXPECT_TRUE(smooth(f).empty());
  EXPECT_EQ(heightfield_volume(f), 0.0);
  EXPECT_TRUE(stepped(Heightfield{}).empty());
}

TEST(Heightfield, VolumeCountsPrintedPixelsOnly) {
  const Heightfield f = make_field(
      4, 3, 0.5, [](int x, int) { return static_cast<float>(x + 1); }, [](int x, int y) { return x != 1 || y != 1; });
  EXPECT_DOUBLE_EQ(heightfield_volume(f), (3 * (1 + 2 + 3 + 4) - 2) * 0.25);
}

void expect_usage_error(const Heightfield& f, const std::string& fragment) {
  for (const HeightfieldStyle style : {HeightfieldStyle::stepped, HeightfieldStyle::smooth}) {
    try {
      heightfield_to_mesh(f, {.style = style});
      ADD_FAILURE() << "no error for " << fragment;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::usage);
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(heightfield_volume(f), Error);
}

TEST(Heightfield, BadInputIsAUsageError) {
  const Heightfield good = make_field(4, 3, 1.0, [](int, int) { return 1.0f; });
  Heightfield f = good;
  f.heights_mm[1 * 4 + 3] = -0.5f;
  expect_usage_error(f, "pixel (3, 1)");
  f.heights_mm[1 * 4 + 3] = std::numeric_limits<float>::quiet_NaN();
  expect_usage_error(f, "pixel (3, 1)");
  f = good;
  f.heights_mm[0] = 0.0f;
  expect_usage_error(f, "pixel (0, 0)");
  f = good;
  f.heights_mm.pop_back();
  expect_usage_error(f, "12 heights");
  f = good;
  f.mask.assign(5, 1);
  expect_usage_error(f, "mask");
  f = good;
  f.pixel_size_mm = 0;
  expect_usage_error(f, "pixel size");
  f.pixel_size_mm = -1;
  expect_usage_error(f, "pixel size");
}

}  // namespace
}  // namespace fabforge
