#include "fabforge/core/stl.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>

#include "fabforge/core/error.hpp"

#include "support/test_support.hpp"

namespace fabforge {
namespace {

using test::TempDir;

std::string error_of(std::string_view bytes, std::string_view name = "part.stl") {
  try {
    parse_stl(bytes, name);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::input);
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

// Same triangles with the same corners in the same order, bit for bit. Vertex numbering may
// differ: STL stores corners, and the reader numbers vertices in order of first appearance.
void expect_same_mesh(const Mesh& a, const Mesh& b) {
  ASSERT_EQ(a.vertices.size(), b.vertices.size());
  ASSERT_EQ(a.triangles.size(), b.triangles.size());
  for (std::size_t i = 0; i < a.triangles.size(); ++i) {
    for (int k = 0; k < 3; ++k) {
      EXPECT_EQ(a.vertices[a.triangles[i][k]], b.vertices[b.triangles[i][k]]) << "triangle " << i << " corner " << k;
    }
  }
}

Mesh awkward_mesh() {
  // Coordinates that need all of float's digits to survive a text round trip.
  Mesh m = test::make_box({0.1f, -3.3333333f, 1e-7f}, {123.456789f, 7.0000005f, 2.5e3f});
  return m;
}

TEST(Stl, BinaryRoundTripIsExact) {
  TempDir dir;
  Mesh m = awkward_mesh();
  write_stl(dir / "a.stl", m, StlFormat::binary);
  EXPECT_EQ(std::filesystem::file_size(dir / "a.stl"), 84u + 50u * 12u);
  expect_same_mesh(read_stl(dir / "a.stl"), m);
}

TEST(Stl, AsciiRoundTripIsExact) {
  TempDir dir;
  Mesh m = awkward_mesh();
  write_stl(dir / "a.stl", m, StlFormat::ascii, "my part");
  const std::string text = test::read_bytes(dir / "a.stl");
  EXPECT_EQ(text.rfind("solid my_part\n", 0), 0u);
  expect_same_mesh(read_stl(dir / "a.stl"), m);
  EXPECT_TRUE(analyze_mesh(read_stl(dir / "a.stl")).watertight());
}

TEST(Stl, BinaryHeaderStartingWithSolidIsReadAsBinary) {
  std::string bytes = format_stl(test::make_tetrahedron(), StlFormat::binary);
  std::memcpy(bytes.data(), "solid tetra exported by some CAD", 32);
  Mesh m = parse_stl(bytes);
  EXPECT_EQ(m.triangles.size(), 4u);
  EXPECT_NEAR(mesh_volume(m), 1000.0 / 6.0, 1e-6);
}

TEST(Stl, WrittenNormalsFollowTheWinding) {
  std::string bytes = format_stl(test::make_box({0, 0, 0}, {1, 1, 1}), StlFormat::binary);
  float n[3];
  std::memcpy(n, bytes.data() + 84, sizeof n);  // first triangle is on the bottom face
  EXPECT_EQ(n[0], 0.0f);
  EXPECT_EQ(n[1], 0.0f);
  EXPECT_EQ(n[2], -1.0f);
  EXPECT_NE(bytes.rfind("solid", 0), 0u) << "binary header must not look like ASCII";
}

TEST(Stl, AsciiWithCrlfAndOddSpacingParses) {
  std::string text =
      "solid  \r\n facet normal 0 0 1\r\n outer loop\r\n  vertex 0 0 0\r\n vertex 1 0 0\r\n"
      "vertex 0 1 0\r\n endloop\r\n endfacet\r\nendsolid\r\n";
  Mesh m = parse_stl(text);
  EXPECT_EQ(m.triangles.size(), 1u);
  EXPECT_EQ(m.vertices[1], (Vec3f{1, 0, 0}));
}

TEST(Stl, AsciiAcceptsPlusSignsAndFloatUnderflow) {
  // Exporters write these; C's strtof accepts them, so must we.
  std::string text =
      "solid t\nfacet normal 0 0 1e-50\nouter loop\nvertex +1 0 0\nvertex 0 +1.5e+0 0\nvertex 0 0 1e-60\n"
      "endloop\nendfacet\nendsolid\n";
  Mesh m = parse_stl(text);
  ASSERT_EQ(m.vertices.size(), 3u);
  EXPECT_EQ(m.vertices[0], (Vec3f{1, 0, 0}));
  EXPECT_EQ(m.vertices[1], (Vec3f{0, 1.5f, 0}));
  EXPECT_EQ(m.vertices[2], (Vec3f{0, 0, 0}));
  EXPECT_NE(
      error_of("solid t\nfacet normal 0 0 1\nouter loop\nvertex 1e50 0 0\n").find("expected a number, found '1e50'"),
      std::string::npos);
  EXPECT_NE(error_of("solid t\nfacet normal 0 0 1\nouter loop\nvertex ++1 0 0\n").find("expected a number"),
            std::string::npos);
}

TEST(StlMalformed, EmptyFile) { EXPECT_NE(error_of("").find("part.stl: empty file"), std::string::npos); }

TEST(StlMalformed, TruncatedBinary) {
  std::string bytes = format_stl(test::make_tetrahedron(), StlFormat::binary);
  bytes.resize(bytes.size() - 30);
  const std::string e = error_of(bytes);
  EXPECT_NE(e.find("truncated or corrupt binary STL: header says 4 triangles (284 bytes) but the file has 254 bytes"),
            std::string::npos)
      << e;
}

TEST(StlMalformed, TruncatedBinaryWhoseHeaderSaysSolid) {
  std::string bytes = format_stl(test::make_tetrahedron(), StlFormat::binary);
  std::memcpy(bytes.data(), "solid", 5);
  bytes.resize(200);
  EXPECT_NE(error_of(bytes).find("truncated or corrupt binary STL"), std::string::npos);
}

TEST(StlMalformed, WrongTriangleCount) {
  std::string bytes = format_stl(test::make_tetrahedron(), StlFormat::binary);
  const std::uint32_t wrong = 9;
  std::memcpy(bytes.data() + 80, &wrong, 4);
  EXPECT_NE(error_of(bytes).find("header says 9 triangles"), std::string::npos);
}

TEST(StlMalformed, NanCoordinateInBinary) {
  std::string bytes = format_stl(test::make_tetrahedron(), StlFormat::binary);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(bytes.data() + 84 + 50 * 2 + 12 + 4, &nan, 4);
  EXPECT_NE(error_of(bytes).find("triangle 2 has a NaN or infinite coordinate"), std::string::npos);
}

TEST(StlMalformed, NanCoordinateInAscii) {
  std::string text = format_stl(test::make_tetrahedron(), StlFormat::ascii);
  const auto pos = text.find("vertex", text.find("facet", 40));
  text.replace(pos, 6, "vertex nan");
  const std::string e = error_of(text);
  EXPECT_NE(e.find("part.stl:"), std::string::npos) << e;
  EXPECT_NE(e.find("NaN or infinite"), std::string::npos) << e;
}

TEST(StlMalformed, AsciiSyntaxErrorNamesTheLine) {
  std::string text =
      "solid x\nfacet normal 0 0 1\nouter loop\nvertex 0 0 0\nvertex 1 0 0\nendloop\nendfacet\nendsolid\n";
  EXPECT_NE(error_of(text).find("part.stl:6: ASCII STL: expected 'vertex', found 'endloop'"), std::string::npos)
      << error_of(text);
}

TEST(StlMalformed, AsciiWithoutEndsolid) {
  std::string text = format_stl(test::make_tetrahedron(), StlFormat::ascii);
  text.resize(text.find("endsolid"));
  EXPECT_NE(error_of(text).find("missing 'endsolid'"), std::string::npos);
}

TEST(StlMalformed, AsciiWithNoFacets) {
  EXPECT_NE(error_of("solid empty\nendsolid empty\n").find("no facets"), std::string::npos);
}

TEST(StlMalformed, ShortGarbage) { EXPECT_NE(error_of("hello").find("not an STL file"), std::string::npos); }

TEST(StlMalformed, MissingFileNamesThePath) {
  try {
    read_stl("/nonexistent/dir/part.stl");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/part.stl"), std::string::npos);
  }
}

TEST(StlWrite, FailureLeavesNoFile) {
  TempDir dir;
  Mesh bad = test::make_tetrahedron();
  bad.vertices[0].x = std::numeric_limits<float>::infinity();
  EXPECT_THROW(write_stl(dir / "bad.stl", bad), Error);
  EXPECT_THROW(write_stl(dir / "empty.stl", Mesh{}), Error);
  EXPECT_TRUE(dir.entries().empty());
  EXPECT_THROW(write_stl(dir / "no_such_dir" / "x.stl", test::make_tetrahedron()), Error);
}

}  // namespace
}  // namespace fabforge
