#include "fabforge/core/obj.hpp"

#include <gtest/gtest.h>

#include "fabforge/core/error.hpp"

#include "support/test_support.hpp"

namespace fabforge {
namespace {

std::string error_of(std::string_view text) {
  try {
    parse_obj(text, "m.obj");
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

constexpr std::string_view kCube = R"(# a unit cube with quads, normals and texture references
mtllib cube.mtl
o cube
v 0 0 0
v 1 0 0
v 1 1 0
v 0 1 0
v 0 0 1
v 1 0 1
v 1 1 1
v 0 1 1
vt 0 0
vn 0 0 1
usemtl grey
s off
f 1 4 3 2
f 5/1 6/1 7/1 8/1
f 1//1 2//1 6//1 5//1
f 2/1/1 3/1/1 7/1/1 6/1/1
f -6 -5 -1 -2
f 4 1 5 8
)";

TEST(Obj, QuadCubeIsWatertightWithUnitVolume) {
  Mesh m = parse_obj(kCube);
  EXPECT_EQ(m.vertices.size(), 8u);
  EXPECT_EQ(m.triangles.size(), 12u);
  MeshReport r = analyze_mesh(m);
  EXPECT_TRUE(r.watertight());
  EXPECT_DOUBLE_EQ(r.volume, 1.0);
}

TEST(Obj, NegativeIndicesCountBackFromTheLastVertex) {
  Mesh m = parse_obj("v 0 0 0\nv 1 0 0\nv 0 1 0\nf -3 -2 -1\nv 5 5 5\nf -4 -3 -1\n");
  ASSERT_EQ(m.triangles.size(), 2u);
  EXPECT_EQ(m.triangles[0], (Triangle{0, 1, 2}));
  EXPECT_EQ(m.triangles[1], (Triangle{0, 1, 3}));
}

TEST(Obj, PlusSignsAndUnderflowAreNumbers) {
  Mesh m = parse_obj("v +1 0 1e-50\nv 0 1 0\nv 0 0 1\nf 1 2 3\n");
  EXPECT_EQ(m.vertices[0].x, 1.0f);
  EXPECT_EQ(m.vertices[0].z, 0.0f);
}

TEST(Obj, ReadFromFile) {
  test::TempDir dir;
  test::write_bytes(dir / "c.obj", kCube);
  EXPECT_EQ(read_obj(dir / "c.obj").triangles.size(), 12u);
}

TEST(ObjMalformed, Empty) { EXPECT_NE(error_of("").find("m.obj: empty file"), std::string::npos); }

TEST(ObjMalformed, NoFaces) { EXPECT_NE(error_of("v 0 0 0\n").find("no faces"), std::string::npos); }

TEST(ObjMalformed, IndexOutOfRangeNamesTheFaceLine) {
  EXPECT_NE(error_of("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\nf 1 2 7\n")
                .find("m.obj:5: OBJ: face refers to vertex 7 but the file has 3 vertices"),
            std::string::npos);
}

TEST(ObjMalformed, ZeroIndex) {
  EXPECT_NE(error_of("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 0 1 2\n").find("m.obj:4: OBJ: bad vertex reference '0'"),
            std::string::npos);
}

TEST(ObjMalformed, NanCoordinate) {
  EXPECT_NE(error_of("v 0 0 0\nv nan 0 0\n").find("m.obj:2: OBJ: NaN or infinite"), std::string::npos);
}

TEST(ObjMalformed, MissingCoordinate) {
  EXPECT_NE(error_of("v 0 0\n").find("m.obj:1: OBJ: vertex needs three coordinates"), std::string::npos);
}

TEST(ObjMalformed, GarbageCoordinate) {
  EXPECT_NE(error_of("v 0 zero 0\n").find("expected a number, found 'zero'"), std::string::npos);
}

TEST(ObjMalformed, FaceWithTwoVertices) {
  EXPECT_NE(error_of("v 0 0 0\nv 1 0 0\nf 1 2\n").find("at least three vertices"), std::string::npos);
}

TEST(ObjMalformed, RelativeIndexBeforeTheStart) {
  EXPECT_NE(error_of("v 0 0 0\nf -1 -2 -3\n").find("points before the first vertex"), std::string::npos);
}

}  // namespace
}  // namespace fabforge
