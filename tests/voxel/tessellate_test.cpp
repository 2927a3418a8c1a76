// Tests for the micropolygon tessellation and the surface phase (fabforge/voxel/tessellate.hpp).

#include "fabforge/voxel/tessellate.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "fabforge/core/error.hpp"
#include "fabforge/core/mesh.hpp"
#include "fabforge/openfl/exec.hpp"
#include "fabforge/openfl/program.hpp"
#include "fabforge/voxel/primitives.hpp"
#include "support/test_support.hpp"

namespace fabforge::voxel {
namespace {

using openfl::Phase;

std::shared_ptr<const openfl::Program> compile_file_ok(const test::TempDir& dir, const std::string& name,
                                                       const std::string& text) {
  test::write_bytes(dir / name, text);
  openfl::CompileResult r = openfl::compile_file((dir / name).string());
  EXPECT_TRUE(r.program) << r.diagnostics.format_all();
  return r.program;
}

const char* kIdentity = R"(
fablet Identity {
  uniform material m = "A";
  surface(vec3 P, vec3 N) -> vec3 { return P; }
}
)";

const char* kNoise = R"(
fablet Bumps {
  uniform material m = "A";
  surface(vec3 P, vec3 N) -> vec3 { return P + N * 0.1 * noise(P * 3.0); }
}
)";

/// sample() returns (u, v, lod clamped to [0, 12], slot); counts the lods it was given.
class LodHost : public openfl::Host {
 public:
  void sample(int slot, std::size_t n, const float* u, const float* v, const float* lod,
              float* const rgba[4]) const override {
    for (std::size_t i = 0; i < n; ++i) {
      rgba[0][i] = u[i];
      rgba[1][i] = v[i];
      rgba[2][i] = std::clamp(lod[i], 0.0f, 12.0f);
      rgba[3][i] = static_cast<float>(slot);
      (lod[i] > 0.0f ? positive_lods : zero_lods) += 1;
    }
  }
  float texture_lod_bias(int) const override { return 10.0f; }
  void surface_query(std::size_t, const float* const[3], float* const*, int) const override {}
  std::array<openfl::Interval, 4> texture_range(int) const override {
    return {openfl::Interval{}, openfl::Interval{}, openfl::Interval{0.0f, 12.0f}, openfl::Interval{0.0f, 0.0f}};
  }
  mutable std::size_t positive_lods = 0, zero_lods = 0;
};

const char* kTexture = R"(
fablet Tex {
  uniform material m = "A";
  uniform texture t = "t.png";
  out float lod;
  surface(vec3 P, vec3 N, vec2 uv) -> vec3 {
    float l = sample(t, uv).b;
    lod = l;
    return P + N * (0.01 * l);
  }
}
)";

struct Fablet {
  std::shared_ptr<const openfl::Program> program;
  std::shared_ptr<const openfl::Kernel> kernel;
};

Fablet make(const test::TempDir& dir, const char* text) {
  Fablet s;
  s.program = compile_file_ok(dir, "f.fl", text);
  if (s.program) s.kernel = s.program->kernel(Phase::surface, s.program->defaults());
  return s;
}

Mesh as_mesh(const SurfaceMesh& s) { return Mesh{s.positions, s.triangles}; }

double longest_edge(const SurfaceMesh& s) {
  double longest = 0;
  for (const Triangle& t : s.triangles) {
    for (int k = 0; k < 3; ++k) {
      longest = std::max(longest, length(to_double(s.positions[t[k]]) - to_double(s.positions[t[(k + 1) % 3]])));
    }
  }
  return longest;
}

/// uv = (x, y) of the base positions.
BaseMesh with_uv(Mesh mesh) {
  VertexAttribute uv{"uv", 2, {}};
  for (const Vec3f& p : mesh.vertices) {
    uv.values.push_back(p.x);
    uv.values.push_back(p.y);
  }
  return BaseMesh(std::move(mesh), {uv});
}

// Lattice steps are <= h; edges next to a base edge, where lattice points snap to edge points, are
// <= 1.5 h. The lattice level is max n_e, so the count is at most the sum of n^2 per triangle.
TEST(Tessellate, EveryEdgeAtMostOneAndAHalfH) {
  test::TempDir dir;
  const Fablet s = make(dir, kIdentity);
  ASSERT_TRUE(s.program);
  SurfaceTessellator tess(s.program, s.kernel);
  const openfl::TextureHost host;
  TessellationOptions coarse;
  coarse.max_deviation_mm = 0.05;
  for (const Mesh& m : {box_mesh({1.0, 2.0, 0.7}), sphere_mesh(1.0, coarse), torus_mesh(2.0, 0.5, coarse),
                        test::make_tetrahedron()}) {
    const BaseMesh base(m);
    for (double h : {0.3, 0.11, 0.05}) {
      const Micropolygons mp = tess.tessellate(base, h, host);
      EXPECT_LE(longest_edge(mp.surface), 1.5 * h * (1 + 1e-5)) << "h " << h;
      EXPECT_EQ(mp.base_triangle.size(), mp.surface.triangles.size());
      std::size_t bound = 0;
      for (const Triangle& t : m.triangles) {
        double longest = 0;
        for (int k = 0; k < 3; ++k) {
          longest = std::max(longest, length(to_double(m.vertices[t[k]]) - to_double(m.vertices[t[(k + 1) % 3]])));
        }
        const auto n = static_cast<std::size_t>(std::max(1.0, std::ceil(longest / h)));
        bound += n * n;
      }
      EXPECT_LE(mp.surface.triangles.size(), bound) << "h " << h;
    }
  }
}

TEST(Tessellate, IdentityKeepsClosedMeshWatertightWithSameVolume) {
  test::TempDir dir;
  const Fablet s = make(dir, kIdentity);
  ASSERT_TRUE(s.program);
  SurfaceTessellator tess(s.program, s.kernel);
  const openfl::TextureHost host;
  TessellationOptions coarse;
  coarse.max_deviation_mm = 0.02;
  for (const Mesh& m : {box_mesh({1.0, 2.0, 0.7}), sphere_mesh(1.0, coarse)}) {
    const MeshReport before = analyze_mesh(m);
    const Micropolygons mp = tess.tessellate(BaseMesh(m), 0.07, host);
    const MeshReport after = analyze_mesh(as_mesh(mp.surface));
    EXPECT_TRUE(after.manifold);  // every edge in exactly two triangles
    EXPECT_TRUE(after.watertight());
    EXPECT_EQ(after.boundary_edges, 0u);
    EXPECT_EQ(after.degenerate_triangles, 0u);
    // No micropolygon is larger than an equilateral one of edge 1.5 h.
    EXPECT_GT(static_cast<double>(after.triangles), before.area / (std::sqrt(3.0) / 4 * 1.5 * 0.07 * 1.5 * 0.07));
    EXPECT_NEAR(after.volume, before.volume, 1e-5 * before.volume);
    EXPECT_NEAR(after.area, before.area, 1e-5 * before.area);
    // Normals of a flat box face stay the face normal.
    for (std::size_t v = 0; v < mp.surface.positions.size(); ++v) {
      EXPECT_NEAR(length(to_double(mp.surface.normals[v])), 1.0, 1e-5);
    }
  }
}

TEST(Tessellate, DisplacedSphereStaysClosedAcrossCalls) {
  test::TempDir dir;
  const Fablet s = make(dir, kNoise);
  ASSERT_TRUE(s.program);
  SurfaceTessellator tess(s.program, s.kernel);
  const openfl::TextureHost host;
  TessellationOptions coarse;
  coarse.max_deviation_mm = 0.05;
  const BaseMesh base(sphere_mesh(1.0, coarse));
  const double h = 0.06;
  const Micropolygons all = tess.tessellate(base, h, host);
  const MeshReport r = analyze_mesh(as_mesh(all.surface));
  EXPECT_TRUE(r.manifold);
  EXPECT_TRUE(r.watertight());
  EXPECT_GT(std::abs(r.volume - mesh_volume(base.mesh())), 1e-3);  // it did displace

  // Two halves tessellated separately (as by two slabs) share bit-identical boundary vertices:
  // welding them exactly gives the same closed surface.
  std::vector<std::uint32_t> lower, upper;
  for (std::uint32_t t = 0; t < base.mesh().triangles.size(); ++t) (t % 3 == 0 ? lower : upper).push_back(t);
  const Micropolygons a = tess.tessellate(base, lower, h, host);
  const Micropolygons b = tess.tessellate(base, upper, h, host);
  Mesh joined = as_mesh(a.surface);
  append_mesh(joined, as_mesh(b.surface));
  const Mesh welded = weld_vertices(joined, 0.0f);
  const MeshReport rj = analyze_mesh(welded);
  EXPECT_TRUE(rj.manifold);
  EXPECT_TRUE(rj.watertight());
  EXPECT_EQ(welded.vertices.size(), all.surface.positions.size());
  EXPECT_EQ(rj.triangles, r.triangles);
  EXPECT_NEAR(rj.volume, r.volume, 1e-9 * std::abs(r.volume));
}

TEST(Tessellate, QuadsGiveTextureLodsAndStayCrackFree) {
  test::TempDir dir;
  const Fablet s = make(dir, kTexture);
  ASSERT_TRUE(s.program);
  SurfaceTessellator tess(s.program, s.kernel);
  LodHost host;
  const BaseMesh base = with_uv(box_mesh({1.0, 1.0, 1.0}));
  const double h = 0.05;
  const Micropolygons all = tess.tessellate(base, h, host);
  ASSERT_EQ(all.surface.attribute_count, 1);
  // Most vertices are grid or edge vertices of full quads: positive lods. Corners read zero.
  std::size_t positive = 0;
  for (float lod : all.surface.attributes) positive += lod > 0.0f ? 1 : 0;
  EXPECT_GT(positive, all.surface.positions.size() * 8 / 10);
  EXPECT_GT(host.positive_lods, 0u);
  // The lod is log2(spacing * 2^bias): about log2(spacing * 1024) for uv = xy faces.
  float max_lod = 0;
  for (float lod : all.surface.attributes) max_lod = std::max(max_lod, lod);
  EXPECT_GT(max_lod, 0.0f);
  EXPECT_LT(max_lod, std::log2(static_cast<float>(h) * 1024.0f) + 1.0f);

  // The lod-dependent displacement still closes across separate calls.
  std::vector<std::uint32_t> odd, even;
  for (std::uint32_t t = 0; t < base.mesh().triangles.size(); ++t) (t % 2 ? odd : even).push_back(t);
  Mesh joined = as_mesh(tess.tessellate(base, odd, h, host).surface);
  append_mesh(joined, as_mesh(tess.tessellate(base, even, h, host).surface));
  const MeshReport rj = analyze_mesh(weld_vertices(joined, 0.0f));
  EXPECT_TRUE(rj.manifold);
  EXPECT_TRUE(rj.watertight());
  EXPECT_NEAR(rj.volume, analyze_mesh(as_mesh(all.surface)).volume, 1e-9);
}

TEST(Tessellate, AttributesInterpolateAndMissingOnesReadZero) {
  test::TempDir dir;
  const Fablet s = make(dir, R"(
fablet Attr {
  uniform material m = "A";
  out vec2 tex;
  out vec3 normal;
  out float w;
  surface(vec3 P, vec3 N, vec2 uv, float weight) -> vec3 { tex = uv; normal = N; w = weight + 1.0; return P; }
}
)");
  ASSERT_TRUE(s.program);
  SurfaceTessellator tess(s.program, s.kernel);
  const openfl::TextureHost host;
  const BaseMesh base = with_uv(box_mesh({1.0, 2.0, 3.0}));
  const Micropolygons mp = tess.tessellate(base, 0.2, host);
  const SurfaceMesh& m = mp.surface;
  ASSERT_EQ(m.attribute_count, 6);
  for (std::size_t v = 0; v < m.positions.size(); ++v) {
    const float* a = &m.attributes[v * 6];
    EXPECT_NEAR(a[0], m.positions[v].x, 1e-5);  // uv = xy, linear, so exact up to rounding
    EXPECT_NEAR(a[1], m.positions[v].y, 1e-5);
    EXPECT_NEAR(std::sqrt(a[2] * a[2] + a[3] * a[3] + a[4] * a[4]), 1.0, 1e-5);  // renormalised N
    EXPECT_EQ(a[5], 1.0f);                                                   // no "weight": zeros
  }
}

TEST(Tessellate, IntervalBoundsContainEveryDisplacedVertex) {
  test::TempDir dir;
  const Fablet s = make(dir, kNoise);
  ASSERT_TRUE(s.program);
  SurfaceTessellator tess(s.program, s.kernel);
  const openfl::TextureHost host;
  TessellationOptions coarse;
  coarse.max_deviation_mm = 0.05;
  const BaseMesh base(sphere_mesh(1.0, coarse));
  const DisplacementBounds bounds = displacement_bounds(base, *s.program, *s.kernel, host);
  ASSERT_EQ(bounds.triangles.size(), base.mesh().triangles.size());
  EXPECT_TRUE(bounds.finite);
  const Micropolygons mp = tess.tessellate(base, 0.05, host);
  auto inside = [](const BoundingBox& b, Vec3f p) {
    return p.x >= b.min.x && p.x <= b.max.x && p.y >= b.min.y && p.y <= b.max.y && p.z >= b.min.z && p.z <= b.max.z;
  };
  std::size_t outside = 0;
  for (std::size_t t = 0; t < mp.surface.triangles.size(); ++t) {
    const BoundingBox& b = bounds.triangles[mp.base_triangle[t]];
    for (std::uint32_t v : mp.surface.triangles[t]) outside += inside(b, mp.surface.positions[v]) ? 0 : 1;
  }
  EXPECT_EQ(outside, 0u);
  // |noise| <= 1: the shape bound is the sphere's box grown by at most 0.1 (plus a little slack).
  const BoundingBox mb = mesh_bounds(base.mesh());
  EXPECT_GE(bounds.shape.min.x, mb.min.x - 0.1 - 1e-3);
  EXPECT_LE(bounds.shape.max.z, mb.max.z + 0.1 + 1e-3);
  EXPECT_LE(bounds.shape.min.x, mb.min.x);

  // A user bound can only tighten: 0.02 mm gives the base boxes grown by 0.02.
  const DisplacementBounds user = displacement_bounds(base, *s.program, *s.kernel, host, 0.02);
  EXPECT_NEAR(user.shape.max.z, mesh_bounds(base.mesh()).max.z + 0.02, 1e-6);
  const DisplacementBounds loose = displacement_bounds(base, *s.program, *s.kernel, host, 5.0);
  EXPECT_EQ(loose.shape.max.z, bounds.shape.max.z);

  // Identity: exactly the base boxes (up to the few-ulp widening of the inputs).
  const Fablet id = make(dir, kIdentity);
  const DisplacementBounds ib = displacement_bounds(base, *id.program, *id.kernel, host);
  EXPECT_NEAR(ib.shape.max.x, mesh_bounds(base.mesh()).max.x, 1e-6);
  EXPECT_THROW((void)displacement_bounds(base, *s.program, *s.kernel, host, -1.0), Error);
}

// The reach a volume phase needs: where its outputs stop depending on the surface query.
TEST(QuerySaturation, FindsWhereTheVolumePhaseStopsReadingTheQuery) {
  test::TempDir dir;
  const openfl::TextureHost host;
  const BoundingBox box{{0, 0, 0}, {10, 10, 10}};
  const double inf = std::numeric_limits<double>::infinity();
  auto saturation = [&](const std::string& volume_body, double limit) {
    const std::string text =
        "fablet F {\n  uniform material a = \"A\";\n  uniform material b = \"B\";\n"
        "  out vec2 tex;\n  surface(vec3 P, vec3 N) -> vec3 { tex = P.xy; return P; }\n"
        "  volume(vec3 P) -> mixture {\n" +
        volume_body + "\n  }\n}\n";
    const auto program = compile_file_ok(dir, "v.fl", text);
    if (!program) return -1.0;
    return query_saturation_mm(*program->kernel(Phase::volume, program->defaults()), host, box, limit);
  };
  // A skin: beyond 0.3 mm (strictly) the output is one material, so the smallest float above 0.3.
  const char* skin =
      "    if (surface_distance() > 0.3) return mixture(a, 1.0);\n"
      "    float s = step(0.5, fract(tex.x));\n    return mixture(a, s, b, 1.0 - s);";
  EXPECT_EQ(saturation(skin, 0.6), static_cast<double>(std::nextafter(0.3f, 1.0f)));
  EXPECT_EQ(saturation(skin, inf), static_cast<double>(std::nextafter(0.3f, 1.0f)));  // below the box diagonal
  // Not reached within the limit.
  EXPECT_EQ(saturation(skin, 0.2), inf);
  // A graded layer saturates where smoothstep reaches 1.
  const double graded =
      saturation("    float s = smoothstep(0.1, 0.4, surface_distance());\n    return mixture(a, s, b, 1.0 - s);", inf);
  EXPECT_GE(graded, 0.4f);
  EXPECT_LE(graded, 0.4001);
  // Never constant: periodic in the distance; or reading the nearest point's outs beyond the skin.
  EXPECT_EQ(saturation("    float s = fract(surface_distance());\n    return mixture(a, s, b, 1.0 - s);", 5.0), inf);
  EXPECT_EQ(saturation("    if (surface_distance() > 0.3) return mixture(a, fract(tex.x), b, 1.0 - fract(tex.x));\n"
                       "    return mixture(b, 1.0);",
                       5.0),
            inf);
  // No query at all: nothing to limit.
  EXPECT_EQ(saturation("    return mixture(a, 1.0);", 5.0), inf);
  // A signed distance compared on the inside (negative there).
  EXPECT_EQ(saturation("    if (surface_signed_distance() < -0.25) return mixture(b, 1.0);\n"
                       "    return mixture(a, 1.0);",
                       1.0),
            static_cast<double>(std::nextafter(0.25f, 1.0f)));
  // Bad calls.
  const auto program = compile_file_ok(dir, "s.fl", kIdentity);
  ASSERT_TRUE(program);
  EXPECT_THROW((void)query_saturation_mm(*program->kernel(Phase::surface, program->defaults()), host, box, 1.0), Error);
}

TEST(Tessellate, VertexCountScalesWithAreaOverHSquared) {
  test::TempDir dir;
  const Fablet s = make(dir, kIdentity);
  ASSERT_TRUE(s.program);
  SurfaceTessellator tess(s.program, s.kernel);
  const openfl::TextureHost host;
  TessellationOptions coarse;
  coarse.max_deviation_mm = 0.02;
  for (const Mesh& m : {box_mesh({2.0, 2.0, 2.0}), sphere_mesh(1.0, coarse)}) {
    const BaseMesh base(m);
    const double area = analyze_mesh(m).area;
    const double h = 0.04;
    const double v1 = static_cast<double>(tess.tessellate(base, h, host).surface.positions.size());
    const double v2 = static_cast<double>(tess.tessellate(base, h / 2, host).surface.positions.size());
    const double density = v1 * h * h / area;  // 1.15 for a perfect equilateral grid of edge h
    EXPECT_GT(density, 0.5);
    EXPECT_LT(density, 8.0);  // measured 5.4-6.0: the lattice refines until stitched edges fit h
    EXPECT_NEAR(v2 / v1, 4.0, 1.0);
    std::printf("[ measure  ] area %.2f mm^2 h %.3f: %.0f vertices, density V h^2 / A = %.2f, ratio %.2f\n", area, h,
                v1, density, v2 / v1);
  }
}

TEST(Tessellate, DeterministicAcrossRuns) {
  test::TempDir dir;
  const Fablet s = make(dir, kNoise);
  ASSERT_TRUE(s.program);
  SurfaceTessellator tess(s.program, s.kernel);
  const openfl::TextureHost host;
  const BaseMesh base(box_mesh({1.0, 1.0, 1.0}));
  const Micropolygons a = tess.tessellate(base, 0.1, host);
  const Micropolygons b = tess.tessellate(base, 0.1, host);
  EXPECT_EQ(a.surface.positions, b.surface.positions);
  EXPECT_EQ(a.surface.normals, b.surface.normals);
  EXPECT_EQ(a.surface.triangles, b.surface.triangles);
}

// Longest-edge bisection of long base triangles: every edge ends up <= the limit, the surface
// stays closed with its volume and area, attributes stay linear, normals unit, and a sliver
// tessellates by its area instead of by the square of its length.
TEST(BisectLongEdges, ClosedLinearAndLinearInASliversLength) {
  test::TempDir dir;
  const Mesh box = box_mesh({80.0, 54.0, 1.6});  // the postcard: two faces and four slivers
  const BaseMesh base = with_uv(box);
  const double limit = 1.0;
  const BaseMesh cut = bisect_long_edges(base, limit);
  const Mesh& m = cut.mesh();
  double longest = 0;
  for (const Triangle& t : m.triangles) {
    for (int k = 0; k < 3; ++k)
      longest = std::max(longest, length(to_double(m.vertices[t[k]]) - to_double(m.vertices[t[(k + 1) % 3]])));
  }
  EXPECT_LE(longest, limit);
  EXPECT_GT(longest, limit / 2);  // bisection stops as soon as an edge fits
  const MeshReport before = analyze_mesh(box), after = analyze_mesh(m);
  EXPECT_TRUE(after.manifold);
  EXPECT_TRUE(after.watertight());
  EXPECT_EQ(after.degenerate_triangles, 0u);
  EXPECT_NEAR(after.volume, before.volume, 1e-6 * before.volume);
  EXPECT_NEAR(after.area, before.area, 1e-6 * before.area);
  // uv = (x, y) at the corners stays (x, y) at every midpoint; N is carried, unit length.
  const VertexAttribute* uv = cut.find("uv");
  const VertexAttribute* n = cut.find("N");
  ASSERT_NE(uv, nullptr);
  ASSERT_NE(n, nullptr);
  for (std::size_t v = 0; v < m.vertices.size(); ++v) {
    EXPECT_NEAR(uv->values[2 * v], m.vertices[v].x, 1e-4);
    EXPECT_NEAR(uv->values[2 * v + 1], m.vertices[v].y, 1e-4);
    const Vec3f nv = cut.normals()[v];
    EXPECT_NEAR(std::sqrt(nv.x * nv.x + nv.y * nv.y + nv.z * nv.z), 1.0, 1e-5);
  }
  // The pieces' micropolygons at the creature's h (21 um, ceil(longest / h)^2 each, what the
  // pipeline plans with) against those of the 1 mm lattice pieces that dicing made before: the
  // lattice cuts each 80 x 1.6 mm side triangle into 80^2 slivers 1 mm long.
  const Fablet id = make(dir, kIdentity);
  ASSERT_TRUE(id.program);
  SurfaceTessellator dicer(id.program, id.kernel);
  const openfl::TextureHost plain;
  // The 1 mm lattice pieces: n = ceil(longest / 1 mm) segments a side, n^2 similar triangles.
  auto lattice_pieces = [](const Mesh& mesh, double step) {
    Mesh out;
    for (const Triangle& t : mesh.triangles) {
      const Vec3d a = to_double(mesh.vertices[t[0]]), b = to_double(mesh.vertices[t[1]]), c = to_double(mesh.vertices[t[2]]);
      const int segs = static_cast<int>(
          std::max(1.0, std::ceil(std::max({length(b - a), length(c - b), length(a - c)}) / step)));
      auto at = [&](int i, int j) {
        const double d = segs;
        const Vec3d p = a * ((segs - i - j) / d) + b * (i / d) + c * (j / d);
        out.vertices.push_back({static_cast<float>(p.x), static_cast<float>(p.y), static_cast<float>(p.z)});
        return static_cast<std::uint32_t>(out.vertices.size() - 1);
      };
      for (int j = 0; j < segs; ++j) {
        for (int i = 0; i + j < segs; ++i) {
          out.triangles.push_back({at(i, j), at(i + 1, j), at(i, j + 1)});
          if (i + j + 2 <= segs) out.triangles.push_back({at(i + 1, j), at(i + 1, j + 1), at(i, j + 1)});
        }
      }
    }
    return out;
  };
  const Mesh lattice = lattice_pieces(box, limit);
  auto planned = [](const Mesh& pieces, double h) {
    double sum = 0;
    for (const Triangle& t : pieces.triangles) {
      double l = 0;
      for (int k = 0; k < 3; ++k)
        l = std::max(l, length(to_double(pieces.vertices[t[k]]) - to_double(pieces.vertices[t[(k + 1) % 3]])));
      sum += std::ceil(l / h) * std::ceil(l / h);
    }
    return sum;
  };
  const double h = 0.0212;
  const double by_bisection = planned(m, h), by_lattice = planned(lattice, h);
  EXPECT_LT(by_bisection, 0.6 * by_lattice);
  const Mesh sliver{{{0, 0, 0}, {80, 0, 0}, {0, 1.6f, 0}}, {{0, 1, 2}}};
  const BaseMesh sliver_base(sliver);
  const Mesh sliver_cut = bisect_long_edges(sliver_base, limit).mesh();
  const Mesh sliver_lattice = lattice_pieces(sliver, limit);
  EXPECT_LT(2 * planned(sliver_cut, h), planned(sliver_lattice, h));
  std::printf("[ measure  ] 80 x 54 x 1.6 box at h %.4f: %.1f M micropolygons after bisection (%zu pieces), %.1f M "
              "after a 1 mm lattice (%zu); its 80 x 1.6 side: %.2f M vs %.2f M\n",
              h, by_bisection / 1e6, m.triangles.size(), by_lattice / 1e6, lattice.triangles.size(),
              planned(sliver_cut, h) / 1e6, planned(sliver_lattice, h) / 1e6);

  // Tessellating the pieces keeps the surface closed and its volume (identity fablet).
  const Micropolygons mp = dicer.tessellate(bisect_long_edges(BaseMesh(box_mesh({3.0, 2.0, 0.5})), 0.4), 0.1, plain);
  const MeshReport r = analyze_mesh(weld_vertices(as_mesh(mp.surface), 0.0f));
  EXPECT_TRUE(r.watertight());
  EXPECT_NEAR(r.volume, 3.0, 1e-4);

  // Short edges: the same mesh back; deterministic; bad limits rejected.
  const BaseMesh same = bisect_long_edges(base, 200.0);
  EXPECT_EQ(same.mesh().triangles, box.triangles);
  EXPECT_EQ(bisect_long_edges(base, limit).mesh().vertices, m.vertices);
  EXPECT_EQ(bisect_long_edges(base, limit).mesh().triangles, m.triangles);
  for (double bad : {0.0, -1.0, std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()})
    EXPECT_THROW((void)bisect_long_edges(base, bad), Error);
}

TEST(Tessellate, BadInputs) {
  test::TempDir dir;
  const Fablet s = make(dir, kTexture);
  ASSERT_TRUE(s.program);
  SurfaceTessellator tess(s.program, s.kernel);
  LodHost host;
  const BaseMesh base = with_uv(box_mesh({1.0, 1.0, 1.0}));
  for (double h : {0.0, -1.0, std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
    EXPECT_THROW((void)tess.tessellate(base, h, host), Error);
  }
  const std::vector<std::uint32_t> bad{0, 99};
  EXPECT_THROW((void)tess.tessellate(base, bad, 0.1, host), Error);
  EXPECT_THROW((void)tess.tessellate(base, 1e-6, host), Error);  // > 65536 segments per edge

  // A uv attribute with the wrong width, bad attributes, a kernel of the wrong phase.
  EXPECT_THROW((void)tess.tessellate(BaseMesh(box_mesh({1, 1, 1}), {{"uv", 3, std::vector<float>(24, 0.0f)}}), 0.1,
                                     host),
               Error);
  EXPECT_THROW(BaseMesh(box_mesh({1, 1, 1}), {{"uv", 2, std::vector<float>(5, 0.0f)}}), Error);
  EXPECT_THROW(BaseMesh(box_mesh({1, 1, 1}), {{"P", 3, std::vector<float>(24, 0.0f)}}), Error);
  EXPECT_THROW(SurfaceTessellator(s.program, s.program->kernel(Phase::volume, s.program->defaults())), Error);

  // Degenerate triangles are skipped; the rest is tessellated as before.
  Mesh m = box_mesh({1, 1, 1});
  const Micropolygons clean = tess.tessellate(with_uv(m), 0.1, host);
  m.triangles.push_back({0, 0, 1});
  m.vertices.push_back({2, 2, 2});
  m.vertices.push_back({3, 3, 3});
  m.vertices.push_back({4, 4, 4});
  m.triangles.push_back({8, 9, 10});  // collinear: zero area
  const Micropolygons skipped = tess.tessellate(with_uv(m), 0.1, host);
  EXPECT_EQ(skipped.surface.triangles, clean.surface.triangles);
  EXPECT_TRUE(is_degenerate_triangle(m, 12));
  EXPECT_TRUE(is_degenerate_triangle(m, 13));
  EXPECT_FALSE(is_degenerate_triangle(m, 0));
}

}  // namespace
}  // namespace fabforge::voxel
