#include "fabforge/voxel/nearest.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <limits>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "fabforge/core/error.hpp"
#include "fabforge/voxel/primitives.hpp"

namespace fabforge::voxel {
namespace {

using ::testing::HasSubstr;

// ---- Brute-force reference (independent of nearest.cpp's Voronoi-region code) ----

Vec3d sub(Vec3d a, Vec3d b) { return a - b; }
double len2(Vec3d a) { return dot(a, a); }

double segment_d2(Vec3d p, Vec3d a, Vec3d b) {
  const Vec3d ab = sub(b, a);
  const double l2 = len2(ab);
  double t = l2 > 0 ? dot(sub(p, a), ab) / l2 : 0;
  t = std::clamp(t, 0.0, 1.0);
  return len2(sub(p, a + ab * t));
}

// Projection onto the plane when it falls inside the triangle, else the nearest edge.
double triangle_d2(Vec3d p, Vec3d a, Vec3d b, Vec3d c) {
  const Vec3d n = cross(sub(b, a), sub(c, a));
  const double nn = len2(n);
  if (nn > 0) {
    const double s = dot(sub(p, a), n) / nn;
    const Vec3d q = p - n * s;
    const double wa = dot(cross(sub(b, q), sub(c, q)), n);
    const double wb = dot(cross(sub(c, q), sub(a, q)), n);
    const double wc = dot(cross(sub(a, q), sub(b, q)), n);
    if (wa >= 0 && wb >= 0 && wc >= 0) return len2(sub(p, q));
  }
  return std::min({segment_d2(p, a, b), segment_d2(p, b, c), segment_d2(p, c, a)});
}

double brute_distance(const Mesh& m, Vec3d p) {
  double best = std::numeric_limits<double>::infinity();
  for (const Triangle& t : m.triangles) {
    best = std::min(
        best, triangle_d2(p, to_double(m.vertices[t[0]]), to_double(m.vertices[t[1]]), to_double(m.vertices[t[2]])));
  }
  return std::sqrt(best);
}

// Generalised winding number (solid angles, Van Oosterom & Strackee): ~1 inside a closed,
// outward-oriented mesh, ~0 outside.
double winding_number(const Mesh& m, Vec3d p) {
  double total = 0;
  for (const Triangle& t : m.triangles) {
    const Vec3d a = sub(to_double(m.vertices[t[0]]), p);
    const Vec3d b = sub(to_double(m.vertices[t[1]]), p);
    const Vec3d c = sub(to_double(m.vertices[t[2]]), p);
    const double la = length(a), lb = length(b), lc = length(c);
    const double num = dot(a, cross(b, c));
    const double den = la * lb * lc + dot(a, b) * lc + dot(b, c) * la + dot(c, a) * lb;
    total += 2 * std::atan2(num, den);
  }
  return total / (4 * std::numbers::pi);
}

// A SurfaceMesh from a Mesh: normals = normalised position (or given), attributes x and y + 2z.
SurfaceMesh surface_from(const Mesh& m) {
  SurfaceMesh s;
  s.positions = m.vertices;
  s.attribute_count = 2;
  for (const Vec3f& v : m.vertices) {
    const double l = length(to_double(v));
    s.normals.push_back(l > 0 ? Vec3f{float(v.x / l), float(v.y / l), float(v.z / l)} : Vec3f{0, 0, 1});
    s.attributes.push_back(v.x);
    s.attributes.push_back(v.y + 2 * v.z);
  }
  s.triangles = m.triangles;
  return s;
}

struct Columns {
  std::vector<std::vector<float>> data;
  std::vector<float*> ptrs;
  Columns(int count, std::size_t n, float fill = -12345.0f) : data(count, std::vector<float>(n, fill)) {
    for (auto& d : data) ptrs.push_back(d.data());
  }
};

struct Points {
  std::vector<float> x, y, z;
  void add(Vec3d p) {
    x.push_back(float(p.x));
    y.push_back(float(p.y));
    z.push_back(float(p.z));
  }
  std::size_t size() const { return x.size(); }
  Vec3d at(std::size_t i) const { return {x[i], y[i], z[i]}; }
  std::array<const float*, 3> xyz() const { return {x.data(), y.data(), z.data()}; }
};

// Checks every property against brute force. `closed`: also check the sign with the winding number.
void check_against_brute_force(const Mesh& mesh, const Points& pts, bool closed) {
  SurfaceIndex index(surface_from(mesh));
  Columns cols(9, pts.size());
  const auto xyz = pts.xyz();
  index.query(pts.size(), xyz.data(), cols.ptrs.data(), 9);
  int inside = 0;
  for (std::size_t i = 0; i < pts.size(); ++i) {
    const Vec3d p = pts.at(i);
    const double ref = brute_distance(mesh, p);
    const float sd = cols.data[0][i];
    SCOPED_TRACE("point " + std::to_string(i) + " (" + std::to_string(p.x) + ", " + std::to_string(p.y) + ", " +
                 std::to_string(p.z) + ")");
    EXPECT_NEAR(std::abs(sd), ref, 1e-5 * ref + 1e-6);
    const Vec3d q{cols.data[1][i], cols.data[2][i], cols.data[3][i]};
    EXPECT_LT(brute_distance(mesh, q), 1e-5) << "closest point lies on the surface";
    EXPECT_NEAR(length(sub(p, q)), ref, 1e-5 * ref + 1e-5);
    const Vec3d n{cols.data[4][i], cols.data[5][i], cols.data[6][i]};
    EXPECT_NEAR(length(n), 1.0, 1e-5);
    EXPECT_NEAR(cols.data[7][i], q.x, 1e-5 * (1 + std::abs(q.x))) << "attribute x reproduces the point's x";
    EXPECT_NEAR(cols.data[8][i], q.y + 2 * q.z, 1e-4 * (1 + std::abs(q.y) + std::abs(q.z)));
    if (closed && ref > 1e-4) {
      const double w = winding_number(mesh, p);
      const bool in = w > 0.5;
      inside += in;
      EXPECT_EQ(sd < 0, in) << "winding number " << w << ", signed distance " << sd;
    }
  }
  if (closed) {
    EXPECT_GT(inside, 0);
    EXPECT_LT(inside, static_cast<int>(pts.size()));
  }
}

Points random_points(std::uint32_t seed, double half_extent, std::size_t count) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-half_extent, half_extent);
  Points pts;
  for (std::size_t i = 0; i < count; ++i) pts.add({u(rng), u(rng), u(rng)});
  return pts;
}

// Points scattered close to the mesh vertices (many land near edges and corners).
void add_near_vertices(Points& pts, const Mesh& m, std::uint32_t seed, double spread, std::size_t count) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::size_t> pick(0, m.vertices.size() - 1);
  std::uniform_real_distribution<double> u(-spread, spread);
  for (std::size_t i = 0; i < count; ++i) pts.add(to_double(m.vertices[pick(rng)]) + Vec3d{u(rng), u(rng), u(rng)});
}

TEST(SurfaceIndex, SphereMatchesBruteForce) {
  TessellationOptions opt;
  opt.max_deviation_mm = 0.05;
  const Mesh mesh = sphere_mesh(5.0, opt);
  Points pts = random_points(1, 7.0, 300);
  add_near_vertices(pts, mesh, 2, 0.05, 200);
  check_against_brute_force(mesh, pts, true);
}

TEST(SurfaceIndex, TorusMatchesBruteForce) {
  TessellationOptions opt;
  opt.max_deviation_mm = 0.05;
  const Mesh mesh = torus_mesh(6.0, 2.0, opt);
  Points pts = random_points(3, 9.0, 300);
  add_near_vertices(pts, mesh, 4, 0.05, 200);
  check_against_brute_force(mesh, pts, true);
}

TEST(SurfaceIndex, BoxEdgesAndCornersSignCorrectly) {
  const Mesh mesh = box_mesh({4, 6, 8});
  Points pts = random_points(5, 6.0, 400);
  add_near_vertices(pts, mesh, 6, 0.5, 400);
  // Exactly diagonal from corners and edges, outside and inside: the closest feature is the
  // corner vertex or an edge.
  pts.add({2 + 0.3, 3 + 0.3, 4 + 0.3});  // corner region
  pts.add({-2 - 0.2, 3 + 0.1, 0.5});     // edge region
  pts.add({2 - 0.1, 3 - 0.1, 4 - 0.1});  // inside near a corner
  pts.add({0.0, 3.25, 4.25});            // beyond an edge, on the diagonal
  pts.add({0.0, 2.75, 3.75});            // inside, equidistant from two faces
  check_against_brute_force(mesh, pts, true);

  SurfaceIndex index(surface_from(mesh));
  const auto corner = index.query_one({2.5f, 3.5f, 4.5f});
  EXPECT_NEAR(corner.signed_distance, std::sqrt(0.75), 1e-6);
  EXPECT_FLOAT_EQ(corner.point.x, 2);
  EXPECT_FLOAT_EQ(corner.point.y, 3);
  EXPECT_FLOAT_EQ(corner.point.z, 4);
  const auto edge = index.query_one({2.5f, 3.5f, 0.0f});
  EXPECT_NEAR(edge.signed_distance, std::sqrt(0.5), 1e-6);
  const auto in = index.query_one({1.9f, 2.9f, 3.9f});
  EXPECT_NEAR(in.signed_distance, -0.1, 1e-6);
  const auto centre = index.query_one({0, 0, 0});
  EXPECT_NEAR(centre.signed_distance, -2, 1e-6);
}

TEST(SurfaceIndex, UnweldedSoupSignsByPosition) {
  // The box with every triangle's corners duplicated: pseudo-normals must still come from the
  // neighbours by position, so points near corners and edges sign correctly.
  const Mesh welded = box_mesh({2, 2, 2});
  Mesh soup;
  for (const Triangle& t : welded.triangles) {
    const auto base = static_cast<std::uint32_t>(soup.vertices.size());
    for (int k = 0; k < 3; ++k) soup.vertices.push_back(welded.vertices[t[k]]);
    soup.triangles.push_back({base, base + 1, base + 2});
  }
  Points pts;
  add_near_vertices(pts, soup, 7, 0.3, 500);
  for (int sx : {-1, 1}) {
    for (int sy : {-1, 1}) {
      for (int sz : {-1, 1}) pts.add({sx * 1.2, sy * 1.2, sz * 1.2});
    }
  }
  check_against_brute_force(soup, pts, true);
}

TEST(SurfaceIndex, RandomSoupMatchesBruteForce) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-5, 5);
  std::uniform_real_distribution<float> d(-1, 1);
  Mesh soup;
  for (std::uint32_t t = 0; t < 400; ++t) {
    const Vec3f c{u(rng), u(rng), u(rng)};
    for (int k = 0; k < 3; ++k) soup.vertices.push_back(c + Vec3f{d(rng), d(rng), d(rng)});
    soup.triangles.push_back({3 * t, 3 * t + 1, 3 * t + 2});
  }
  // A degenerate (collinear) and a zero-size triangle too.
  soup.vertices.push_back({0, 0, 0});
  soup.vertices.push_back({1, 1, 1});
  soup.vertices.push_back({2, 2, 2});
  soup.triangles.push_back({1200, 1201, 1202});
  soup.triangles.push_back({1201, 1201, 1201});
  check_against_brute_force(soup, random_points(12, 7.0, 500), false);
}

TEST(SurfaceIndex, TiesPickTheLowestTriangle) {
  // Two copies of a square (4 triangles), the second with different attributes; every query is
  // a tie between copies and must report the first copy, whichever order the BVH visits them.
  Mesh quad;
  quad.vertices = {{0, 0, 0}, {1, 0, 0}, {1, 1, 0}, {0, 1, 0}};
  quad.triangles = {{0, 1, 2}, {0, 2, 3}};
  SurfaceMesh s;
  s.attribute_count = 1;
  for (int copy = 0; copy < 40; ++copy) {
    const auto base = static_cast<std::uint32_t>(s.positions.size());
    for (const Vec3f& v : quad.vertices) {
      s.positions.push_back(v);
      s.normals.push_back({0, 0, 1});
      s.attributes.push_back(static_cast<float>(copy));
    }
    for (const Triangle& t : quad.triangles) s.triangles.push_back({base + t[0], base + t[1], base + t[2]});
  }
  SurfaceIndex index(std::move(s));
  Points pts = random_points(13, 2.0, 2000);
  pts.add({0.5, 0.5, 1.0});  // above the shared diagonal: ties between triangles 0 and 1 as well
  pts.add({1.0, 1.0, 1.0});  // above a corner shared by both triangles
  Columns cols(8, pts.size());
  const auto xyz = pts.xyz();
  index.query(pts.size(), xyz.data(), cols.ptrs.data(), 8);
  for (std::size_t i = 0; i < pts.size(); ++i) EXPECT_EQ(cols.data[7][i], 0.0f) << i;
  const auto diag = index.query_one({0.5f, 0.5f, 1.0f});
  EXPECT_EQ(diag.triangle, 0);
  EXPECT_FLOAT_EQ(diag.signed_distance, 1.0f);
}

TEST(SurfaceIndex, ParallelBatchIsIdenticalToSingleQueries) {
  TessellationOptions opt;
  opt.max_deviation_mm = 0.01;
  const Mesh mesh = sphere_mesh(3.0, opt);
  SurfaceIndex index(surface_from(mesh));
  const Points pts = random_points(14, 4.0, 20000);
  Columns batch(9, pts.size());
  const auto xyz = pts.xyz();
  index.query(pts.size(), xyz.data(), batch.ptrs.data(), 9);
  for (std::size_t i = 0; i < pts.size(); i += 97) {
    Columns one(9, 1);
    const float* p1[3] = {&pts.x[i], &pts.y[i], &pts.z[i]};
    index.query(1, p1, one.ptrs.data(), 9);
    for (int c = 0; c < 9; ++c) {
      EXPECT_EQ(std::memcmp(&one.data[c][0], &batch.data[c][i], sizeof(float)), 0) << "lane " << i << " col " << c;
    }
  }
}

TEST(SurfaceIndex, FewerColumnsNullColumnsAndEmptyBatch) {
  const Mesh mesh = box_mesh({2, 2, 2});
  SurfaceIndex index(surface_from(mesh));
  Points pts;
  pts.add({0, 0, 3});
  pts.add({0, 0, 0.5});
  const auto xyz = pts.xyz();
  Columns one(9, 2);
  index.query(2, xyz.data(), one.ptrs.data(), 1);
  EXPECT_FLOAT_EQ(one.data[0][0], 2.0f);
  EXPECT_FLOAT_EQ(one.data[0][1], -0.5f);
  for (int c = 1; c < 9; ++c) EXPECT_EQ(one.data[c][0], -12345.0f) << "column " << c << " untouched";

  Columns four(9, 2);
  index.query(2, xyz.data(), four.ptrs.data(), 4);
  EXPECT_FLOAT_EQ(four.data[3][0], 1.0f);  // closest point z
  EXPECT_EQ(four.data[4][0], -12345.0f);

  Columns skip(8, 2);
  skip.ptrs[1] = nullptr;
  skip.ptrs[2] = nullptr;
  index.query(2, xyz.data(), skip.ptrs.data(), 8);
  EXPECT_FLOAT_EQ(skip.data[6][0], 1.0f);  // normal z
  EXPECT_FLOAT_EQ(skip.data[7][0], 0.0f);  // attribute x

  Columns none(9, 1);
  index.query(0, xyz.data(), none.ptrs.data(), 9);
  index.query(0, nullptr, nullptr, 9);
  EXPECT_EQ(none.data[0][0], -12345.0f);

  EXPECT_THROW(index.query(2, xyz.data(), one.ptrs.data(), 10), Error);
  EXPECT_THROW(index.query(2, xyz.data(), one.ptrs.data(), -1), Error);
  index.query(2, xyz.data(), one.ptrs.data(), 0);
}

TEST(SurfaceIndex, MaxDistanceMissesAndNonFinitePoints) {
  const Mesh mesh = box_mesh({2, 2, 2});
  SurfaceIndexOptions opt;
  opt.max_distance_mm = 0.5;
  opt.miss_distance = -std::numeric_limits<float>::infinity();
  SurfaceIndex index(surface_from(mesh), opt);
  const auto hit = index.query_one({0, 0, 1.4f});
  EXPECT_NEAR(hit.signed_distance, 0.4, 1e-6);
  const auto exact = index.query_one({0, 0, 1.5f});
  EXPECT_NEAR(exact.signed_distance, 0.5, 1e-6) << "a surface exactly at the limit is found";
  const auto miss = index.query_one({0, 0, 0});
  EXPECT_EQ(miss.triangle, -1);
  EXPECT_EQ(miss.signed_distance, -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(miss.point.x));
  EXPECT_TRUE(std::isnan(miss.normal.z));
  EXPECT_TRUE(std::isnan(miss.attributes[0]));
  const auto nan = index.query_one({std::numeric_limits<float>::quiet_NaN(), 0, 0});
  EXPECT_TRUE(std::isnan(nan.signed_distance));

  SurfaceIndex unlimited(surface_from(mesh));
  EXPECT_NEAR(unlimited.query_one({0, 0, 0}).signed_distance, -1, 1e-6);
  EXPECT_NEAR(unlimited.query_one({0, 0, 1e6f}).signed_distance, 1e6 - 1, 1);
}

TEST(SurfaceIndex, BadInputGivesClearErrors) {
  EXPECT_THAT([] { SurfaceIndex index(SurfaceMesh{}); },
              testing::ThrowsMessage<Error>(HasSubstr("surface index: the surface has no triangles")));
  SurfaceMesh bad = surface_from(box_mesh({1, 1, 1}));
  bad.triangles[3][1] = 99;
  EXPECT_THAT([&] { SurfaceIndex index(bad); }, testing::ThrowsMessage<Error>(HasSubstr("refers to vertex 99")));
  SurfaceMesh short_normals = surface_from(box_mesh({1, 1, 1}));
  short_normals.normals.pop_back();
  EXPECT_THAT([&] { SurfaceIndex index(short_normals); }, testing::ThrowsMessage<Error>(HasSubstr("normals")));
  SurfaceMesh short_attr = surface_from(box_mesh({1, 1, 1}));
  short_attr.attributes.pop_back();
  EXPECT_THAT([&] { SurfaceIndex index(short_attr); }, testing::ThrowsMessage<Error>(HasSubstr("attribute values")));
  SurfaceMesh nan_pos = surface_from(box_mesh({1, 1, 1}));
  nan_pos.positions[2].y = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THAT([&] { SurfaceIndex index(nan_pos); }, testing::ThrowsMessage<Error>(HasSubstr("non-finite")));
  SurfaceIndexOptions opt;
  opt.max_distance_mm = -1;
  EXPECT_THROW(SurfaceIndex(surface_from(box_mesh({1, 1, 1})), opt), Error);
}

// A torus split into bands by the bottom of each triangle, as the pipeline groups its patches:
// every part is a ring around the hole (the case that defeats splits by count).
std::vector<std::shared_ptr<const SurfacePart>> torus_parts(const Mesh& mesh, int bands, SurfaceMesh& concatenated,
                                                            std::uint32_t leaf = SurfacePart::kLeafTriangles) {
  const SurfaceMesh whole = surface_from(mesh);
  std::vector<std::uint32_t> order(mesh.triangles.size());
  for (std::uint32_t t = 0; t < order.size(); ++t) order[t] = t;
  auto zmin = [&](std::uint32_t t) {
    return std::min({mesh.vertices[mesh.triangles[t][0]].z, mesh.vertices[mesh.triangles[t][1]].z,
                     mesh.vertices[mesh.triangles[t][2]].z});
  };
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return zmin(a) < zmin(b); });
  concatenated = SurfaceMesh{};
  concatenated.attribute_count = whole.attribute_count;
  std::vector<std::shared_ptr<const SurfacePart>> parts;
  const std::size_t per = (order.size() + bands - 1) / bands;
  for (std::size_t first = 0; first < order.size(); first += per) {
    SurfaceMesh part = whole;
    part.triangles.clear();
    for (std::size_t q = first; q < std::min(order.size(), first + per); ++q)
      part.triangles.push_back(whole.triangles[order[q]]);
    const auto base = static_cast<std::uint32_t>(concatenated.positions.size());
    concatenated.positions.insert(concatenated.positions.end(), part.positions.begin(), part.positions.end());
    concatenated.normals.insert(concatenated.normals.end(), part.normals.begin(), part.normals.end());
    concatenated.attributes.insert(concatenated.attributes.end(), part.attributes.begin(), part.attributes.end());
    for (const Triangle& t : part.triangles) concatenated.triangles.push_back({base + t[0], base + t[1], base + t[2]});
    parts.push_back(std::make_shared<const SurfacePart>(std::move(part), leaf));
  }
  return parts;
}

// Exact answers do not depend on the hierarchy: parts of any leaf size answer bit for bit as one
// index over their union (ties go to the lowest triangle).
TEST(SurfaceIndex, PartsAnswerLikeOneIndexOverTheirUnion) {
  TessellationOptions opt;
  opt.max_deviation_mm = 0.01;
  const Mesh mesh = torus_mesh(4.0, 1.0, opt);
  for (std::uint32_t leaf :
       {1u, SurfacePart::kLeafTriangles, SurfacePart::kMicropolygonLeafTriangles, SurfacePart::kMaxLeafTriangles}) {
    SCOPED_TRACE("leaf " + std::to_string(leaf));
    SurfaceMesh concatenated;
    const auto parts = torus_parts(mesh, 9, concatenated, leaf);
    SurfaceIndexOptions io;
    io.known_side = 1;
    const SurfaceIndex multi(parts, io);
    const SurfaceIndex single(std::move(concatenated), io);
    ASSERT_EQ(multi.triangle_count(), mesh.triangles.size());
    ASSERT_EQ(single.triangle_count(), mesh.triangles.size());
    Points pts = random_points(31, 6.0, 3000);
    add_near_vertices(pts, mesh, 32, 0.3, 2000);
    Columns a(9, pts.size()), b(9, pts.size());
    const auto xyz = pts.xyz();
    multi.query(pts.size(), xyz.data(), a.ptrs.data(), 9);
    single.query(pts.size(), xyz.data(), b.ptrs.data(), 9);
    for (std::size_t i = 0; i < pts.size(); ++i) {
      const double ref = brute_distance(mesh, pts.at(i));
      EXPECT_NEAR(a.data[0][i], ref, 1e-5 * ref + 1e-6) << i;
      for (int c = 0; c < 9; ++c) {
        EXPECT_EQ(std::memcmp(&a.data[c][i], &b.data[c][i], sizeof(float)), 0) << "lane " << i << " col " << c;
      }
    }
    for (std::size_t i = 0; i < pts.size(); i += 50) {
      const Vec3f p{pts.x[i], pts.y[i], pts.z[i]};
      EXPECT_EQ(multi.query_one(p).triangle, single.query_one(p).triangle) << i;
    }
  }
  for (std::uint32_t bad : {0u, SurfacePart::kMaxLeafTriangles + 1}) {
    EXPECT_THROW(SurfacePart(surface_from(mesh), bad), Error) << bad;
  }
}

TEST(SurfaceIndex, ToleranceStaysWithinItsBound) {
  TessellationOptions opt;
  opt.max_deviation_mm = 0.005;
  const Mesh mesh = torus_mesh(4.0, 1.0, opt);
  SurfaceMesh concatenated;
  const auto parts = torus_parts(mesh, 5, concatenated);
  SurfaceIndexOptions io;
  io.known_side = 1;
  io.tolerance_mm = 0.05f;
  io.max_distance_mm = 1.5f;
  const SurfaceIndex index(parts, io);
  Points pts = random_points(33, 6.0, 4000);
  Columns cols(9, pts.size());
  const auto xyz = pts.xyz();
  index.query(pts.size(), xyz.data(), cols.ptrs.data(), 9);
  int hits = 0;
  for (std::size_t i = 0; i < pts.size(); ++i) {
    const double ref = brute_distance(mesh, pts.at(i));
    const float d = cols.data[0][i];
    if (ref > 1.5 + 1e-4) {
      EXPECT_EQ(d, std::numeric_limits<float>::infinity()) << i;  // miss: the default miss distance
      continue;
    }
    if (ref > 1.5 - 0.05) continue;  // either answer is allowed at the edge of the reach
    ++hits;
    EXPECT_GE(d, ref - 1e-5 * ref - 1e-6) << i;
    EXPECT_LE(d, ref + 0.05 + 1e-5) << i;
    const Vec3d q{cols.data[1][i], cols.data[2][i], cols.data[3][i]};
    EXPECT_NEAR(length(pts.at(i) - q), d, 1e-4) << "the reported point is at the reported distance";
  }
  EXPECT_GT(hits, 500);
}

TEST(SurfaceIndex, DistanceWithinIsTheDistanceOrInfinity) {
  TessellationOptions opt;
  opt.max_deviation_mm = 0.01;
  const Mesh mesh = torus_mesh(4.0, 1.0, opt);
  SurfaceMesh concatenated;
  const auto parts = torus_parts(mesh, 4, concatenated);
  for (const float tol : {0.0f, 0.03f}) {
    SurfaceIndexOptions io;
    io.known_side = 1;
    io.tolerance_mm = tol;
    io.max_distance_mm = 0.1f;  // ignored by distance_within
    const SurfaceIndex index(parts, io);
    Points pts = random_points(41, 6.0, 3000);
    pts.add({std::numeric_limits<double>::quiet_NaN(), 0, 0});
    std::vector<float> d(pts.size());
    const auto xyz = pts.xyz();
    index.distance_within(pts.size(), xyz.data(), 1.2f, d.data());
    int within = 0;
    for (std::size_t i = 0; i + 1 < pts.size(); ++i) {
      const double ref = brute_distance(mesh, pts.at(i));
      if (ref > 1.2 + 1e-5) {
        EXPECT_EQ(d[i], std::numeric_limits<float>::infinity()) << i;
      } else if (ref < 1.2 - 1e-5) {
        ++within;
        EXPECT_GE(d[i], ref * (1 - 1e-6)) << i;
        EXPECT_LE(d[i], ref + tol + 1e-5) << i;
      }
    }
    EXPECT_GT(within, 300);
    EXPECT_EQ(d.back(), std::numeric_limits<float>::infinity()) << "a non-finite point is beyond any radius";
    EXPECT_THROW(index.distance_within(pts.size(), xyz.data(), -1.0f, d.data()), Error);
  }
}

TEST(SurfaceIndex, PartsNeedAKnownSideAndMatchingAttributes) {
  const auto part = std::make_shared<const SurfacePart>(surface_from(box_mesh({1, 1, 1})));
  SurfaceIndexOptions io;
  EXPECT_THAT([&] { SurfaceIndex index({part}, io); }, testing::ThrowsMessage<Error>(HasSubstr("known side")));
  io.known_side = -1;
  EXPECT_THAT([&] { SurfaceIndex index(std::vector<std::shared_ptr<const SurfacePart>>{}, io); },
              testing::ThrowsMessage<Error>(HasSubstr("no parts")));
  EXPECT_THAT([&] { SurfaceIndex index({part, nullptr}, io); }, testing::ThrowsMessage<Error>(HasSubstr("null part")));
  SurfaceMesh other = surface_from(box_mesh({1, 1, 1}));
  other.attribute_count = 0;
  other.attributes.clear();
  const auto plain = std::make_shared<const SurfacePart>(std::move(other));
  EXPECT_THAT(
      [&] {
        SurfaceIndex index({part, plain}, io);
      },
      testing::ThrowsMessage<Error>(HasSubstr("different attribute counts")));
  EXPECT_THAT([] { SurfacePart p(SurfaceMesh{}); }, testing::ThrowsMessage<Error>(HasSubstr("no triangles")));
  EXPECT_GT(part->bytes(), part->mesh().triangles.size() * sizeof(Triangle));
}

TEST(SurfaceHost, ForwardsSurfaceQueries) {
  SurfaceIndex index(surface_from(box_mesh({2, 2, 2})));
  const SurfaceHost host({}, &index);
  const openfl::Host& h = host;
  const float x = 0, y = 0, z = 3;
  const float* xyz[3] = {&x, &y, &z};
  float d = 0, px = 0, py = 0, pz = 0;
  float* cols[4] = {&d, &px, &py, &pz};
  h.surface_query(1, xyz, cols, 4);
  EXPECT_FLOAT_EQ(d, 2.0f);
  EXPECT_FLOAT_EQ(pz, 1.0f);
  const SurfaceHost none({}, nullptr);
  EXPECT_THAT([&] { none.surface_query(1, xyz, cols, 1); },
              testing::ThrowsMessage<Error>(HasSubstr("no surface was given")));
}

}  // namespace
}  // namespace fabforge::voxel
