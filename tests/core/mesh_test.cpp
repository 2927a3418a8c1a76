#include "fabforge/core/mesh.hpp"

#include <gtest/gtest.h>

#include "fabforge/core/error.hpp"

#include "support/test_support.hpp"

namespace fabforge {
namespace {

using test::make_box;
using test::make_tetrahedron;

TEST(MeshReport, BoxIsWatertightWithExactVolumeAndBounds) {
  Mesh box = make_box({1, 2, 3}, {21, 12, 8});
  MeshReport r = analyze_mesh(box);
  EXPECT_EQ(r.triangles, 12u);
  EXPECT_EQ(r.vertices, 8u);
  EXPECT_TRUE(r.closed);
  EXPECT_TRUE(r.manifold);
  EXPECT_TRUE(r.consistently_oriented);
  EXPECT_TRUE(r.watertight());
  EXPECT_DOUBLE_EQ(r.volume, 20.0 * 10.0 * 5.0);
  EXPECT_DOUBLE_EQ(r.area, 2 * (20.0 * 10 + 20 * 5 + 10 * 5));
  EXPECT_EQ(r.bounds.min, (Vec3d{1, 2, 3}));
  EXPECT_EQ(r.bounds.max, (Vec3d{21, 12, 8}));
}

TEST(MeshReport, TetrahedronVolume) { EXPECT_NEAR(mesh_volume(make_tetrahedron()), 1000.0 / 6.0, 1e-9); }

TEST(MeshReport, InsideOutMeshHasNegativeVolumeAndIsNotWatertight) {
  Mesh box = make_box({0, 0, 0}, {1, 1, 1});
  flip_orientation(box);
  MeshReport r = analyze_mesh(box);
  EXPECT_TRUE(r.closed);
  EXPECT_TRUE(r.consistently_oriented);
  EXPECT_DOUBLE_EQ(r.volume, -1.0);
  EXPECT_FALSE(r.watertight());
}

TEST(MeshReport, OneFlippedTriangleBreaksOrientationAndClosedness) {
  Mesh box = make_box({0, 0, 0}, {1, 1, 1});
  std::swap(box.triangles[3][1], box.triangles[3][2]);
  MeshReport r = analyze_mesh(box);
  EXPECT_FALSE(r.consistently_oriented);
  EXPECT_FALSE(r.closed);
  EXPECT_TRUE(r.manifold);  // still two triangles per edge
  EXPECT_EQ(r.unbalanced_edges, 3u);
}

TEST(MeshReport, MissingTriangleLeavesBoundary) {
  Mesh box = make_box({0, 0, 0}, {1, 1, 1});
  box.triangles.pop_back();
  MeshReport r = analyze_mesh(box);
  EXPECT_FALSE(r.closed);
  EXPECT_FALSE(r.manifold);
  EXPECT_EQ(r.boundary_edges, 3u);
}

TEST(MeshReport, TwoBoxesSharingAnEdgeAreClosedButNotManifold) {
  Mesh a = make_box({0, 0, 0}, {1, 1, 1});
  append_mesh(a, make_box({1, 1, 0}, {2, 2, 1}));
  a = weld_vertices(a);
  MeshReport r = analyze_mesh(a);
  EXPECT_TRUE(r.closed);
  EXPECT_TRUE(r.consistently_oriented);
  EXPECT_FALSE(r.manifold);
  EXPECT_EQ(r.non_manifold_edges, 1u);
  EXPECT_DOUBLE_EQ(r.volume, 2.0);
  EXPECT_TRUE(r.watertight());
}

TEST(MeshReport, DegenerateTrianglesAreCounted) {
  Mesh m = make_tetrahedron();
  m.triangles.push_back({0, 0, 1});
  m.vertices.push_back({5, 0, 0});  // on the edge 0-1: zero area
  m.triangles.push_back({0, 4, 1});
  EXPECT_EQ(analyze_mesh(m).degenerate_triangles, 2u);
}

TEST(MeshReport, EmptyMeshIsNotClosed) {
  MeshReport r = analyze_mesh(Mesh{});
  EXPECT_FALSE(r.closed);
  EXPECT_FALSE(r.watertight());
  EXPECT_EQ(r.volume, 0.0);
}

TEST(MeshReport, VolumeIsAccurateFarFromTheOrigin) {
  Mesh box = make_box({100000, 100000, 100000}, {100001, 100001, 100001});
  EXPECT_NEAR(mesh_volume(box), 1.0, 1e-9);
}

TEST(Weld, SoupBecomesIndexedAndClosed) {
  Mesh box = make_box({0, 0, 0}, {2, 2, 2});
  Mesh soup;
  for (const auto& t : box.triangles) {
    for (auto v : t) soup.vertices.push_back(box.vertices[v]);
    auto n = static_cast<std::uint32_t>(soup.vertices.size());
    soup.triangles.push_back({n - 3, n - 2, n - 1});
  }
  EXPECT_FALSE(analyze_mesh(soup).closed);
  Mesh welded = weld_vertices(soup);
  EXPECT_EQ(welded.vertices.size(), 8u);
  EXPECT_EQ(welded.triangles.size(), 12u);
  EXPECT_TRUE(analyze_mesh(welded).watertight());
}

TEST(Weld, ToleranceMergesNearbyVerticesAndDropsCollapsedTriangles) {
  Mesh m;
  m.vertices = {{0, 0, 0}, {1, 0, 0}, {0, 1, 0}, {1.0004f, 0, 0}, {0.0002f, 0, 0}};
  m.triangles = {{0, 1, 2}, {3, 2, 0}, {0, 4, 2}};
  Mesh w = weld_vertices(m, 0.001f);
  EXPECT_EQ(w.vertices.size(), 3u);
  ASSERT_EQ(w.triangles.size(), 2u);           // the third collapsed: vertex 4 merged into 0
  EXPECT_EQ(w.vertices[1], (Vec3f{1, 0, 0}));  // the first of a cluster is kept
  Mesh exact = weld_vertices(m, 0.0f);
  EXPECT_EQ(exact.vertices.size(), 5u);
}

TEST(Weld, HugeCoordinatesAndBadTolerances) {
  Mesh m;
  m.vertices = {{1e30f, 0, 0}, {1e30f, 1, 0}, {-1e30f, 0, 0}, {1e30f, 0, 0}};
  m.triangles = {{0, 1, 2}, {3, 2, 1}};
  Mesh w = weld_vertices(m, 1e-3f);
  EXPECT_EQ(w.vertices.size(), 3u);
  EXPECT_THROW(weld_vertices(m, std::numeric_limits<float>::quiet_NaN()), Error);
}

TEST(Weld, ClusterRepresentativeIsTheFirstVertexWithinTolerance) {
  // Vertex 2 is within tolerance of both 0 and 1 (which are not within tolerance of each other);
  // it must join vertex 0, the first in input order, whatever grid cells they fall in.
  Mesh m;
  m.vertices = {{0.0f, 0, 0}, {0.0018f, 0, 0}, {0.0009f, 0, 0}, {0, 1, 0}, {0, 0, 1}};
  m.triangles = {{0, 3, 4}, {1, 3, 4}, {2, 3, 4}};
  Mesh w = weld_vertices(m, 0.001f);
  ASSERT_EQ(w.triangles.size(), 3u);
  EXPECT_EQ(w.triangles[2][0], w.triangles[0][0]);
  EXPECT_NE(w.triangles[1][0], w.triangles[0][0]);
}

TEST(AppendMesh, ToItself) {
  Mesh m = make_tetrahedron();
  append_mesh(m, m);
  EXPECT_EQ(m.triangles.size(), 8u);
  EXPECT_EQ(m.vertices.size(), 8u);
  EXPECT_NEAR(mesh_volume(m), 2 * 1000.0 / 6.0, 1e-9);
}

TEST(Weld, NegativeZeroEqualsZero) {
  Mesh m;
  m.vertices = {{0, 0, 0}, {-0.0f, 0, 0}, {1, 0, 0}, {0, 1, 0}};
  m.triangles = {{0, 2, 3}, {1, 3, 2}};
  EXPECT_EQ(weld_vertices(m).vertices.size(), 3u);
}

TEST(IndexTriangleSoup, KeepsEveryTriangle) {
  std::vector<Vec3f> corners = {{0, 0, 0}, {1, 0, 0}, {0, 1, 0}, {0, 0, 0}, {0, 0, 0}, {1, 0, 0}};
  Mesh m = index_triangle_soup(corners);
  EXPECT_EQ(m.vertices.size(), 3u);
  ASSERT_EQ(m.triangles.size(), 2u);
  EXPECT_EQ(m.triangles[1], (Triangle{0, 0, 1}));
  corners.pop_back();
  EXPECT_THROW(index_triangle_soup(corners), Error);
}

TEST(Validate, RejectsNanAndBadIndices) {
  Mesh m = make_tetrahedron();
  EXPECT_NO_THROW(validate_mesh(m, "t"));
  m.vertices[2].y = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(validate_mesh(m, "t"), Error);
  m = make_tetrahedron();
  m.triangles[1][2] = 4;
  try {
    validate_mesh(m, "thing.obj");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("thing.obj: triangle 1 refers to vertex 4"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace fabforge
