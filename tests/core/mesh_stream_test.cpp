#include "fabforge/core/mesh_stream.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "fabforge/core/error.hpp"
#include "fabforge/core/stl.hpp"
#include "fabforge/core/threemf.hpp"

#include "support/test_support.hpp"

namespace fabforge {
namespace {

using test::TempDir;
namespace fs = std::filesystem;

// A mesh of `n` vertices on a helix and triangles joining vertices up to `reach` apart, in order
// of their first vertex: enough vertices to overflow the vertex cache, and lookups far back.
Mesh helix_mesh(std::size_t n, std::size_t reach, unsigned seed) {
  Mesh m;
  std::mt19937 rng(seed);
  for (std::size_t i = 0; i < n; ++i) {
    const float t = static_cast<float>(i) * 0.01f;
    m.vertices.push_back({std::cos(t) * 10.0f, std::sin(t) * 10.0f, t * 0.1f});
  }
  std::uniform_int_distribution<std::size_t> back(1, reach);
  for (std::size_t i = reach; i < n; ++i) {
    m.triangles.push_back({static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i - back(rng)),
                           static_cast<std::uint32_t>(i - back(rng))});
  }
  return m;
}

std::size_t entries_in(const fs::path& dir) {
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.exists() ? 1 : 0;
  return n;
}

// Appends `mesh` to `spill`, spilling every `every` triangles.
void build(SpillMesh& spill, const Mesh& mesh, std::size_t every) {
  std::size_t v = 0;
  for (std::size_t t = 0; t < mesh.triangles.size(); ++t) {
    const std::uint32_t needed = std::max({mesh.triangles[t][0], mesh.triangles[t][1], mesh.triangles[t][2]});
    for (; v <= needed; ++v) ASSERT_EQ(spill.add_vertex(mesh.vertices[v]), v);
    spill.add_triangle(mesh.triangles[t]);
    if ((t + 1) % every == 0) spill.spill();
  }
  while (v < mesh.vertices.size()) spill.add_vertex(mesh.vertices[v++]);
}

TEST(SpillMesh, ReadsBackWhatWasAppendedAcrossTheSpillBoundary) {
  TempDir dir;
  const Mesh mesh = helix_mesh(20000, 50, 1);
  SpillMesh spill(dir.path());
  build(spill, mesh, 3001);
  EXPECT_GT(spill.spilled_triangles(), 0u);
  EXPECT_LT(spill.spilled_triangles(), mesh.triangles.size());  // some still in memory
  EXPECT_TRUE(spill.vertices_in_memory().empty());
  EXPECT_EQ(entries_in(dir.path()), 0u);  // the files are unlinked: nothing is left behind
  ASSERT_EQ(spill.vertex_count(), mesh.vertices.size());
  ASSERT_EQ(spill.triangle_count(), mesh.triangles.size());
  const Mesh back = read_all(spill);
  EXPECT_EQ(back.vertices, mesh.vertices);
  EXPECT_EQ(back.triangles, mesh.triangles);
  // A read straddling the boundary between file and memory.
  const std::size_t boundary = spill.spilled_triangles();
  std::vector<Triangle> piece(10);
  spill.read_triangles(boundary - 5, piece);
  for (std::size_t i = 0; i < piece.size(); ++i) EXPECT_EQ(piece[i], mesh.triangles[boundary - 5 + i]);
  EXPECT_THROW(spill.read_triangles(mesh.triangles.size() - 5, piece), Error);
  // Moving keeps the files.
  SpillMesh moved = std::move(spill);
  EXPECT_EQ(read_all(moved).triangles, mesh.triangles);
}

TEST(SpillMesh, WithoutAFolderItCannotSpillAndIntoAMissingFolderItFailsUnchanged) {
  SpillMesh memory;
  memory.add_vertex({1, 2, 3});
  EXPECT_THROW(memory.spill(), Error);
  TempDir dir;
  SpillMesh spill(dir / "missing");
  spill.add_vertex({1, 2, 3});
  try {
    spill.spill();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::runtime);
    EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();
  }
  EXPECT_EQ(spill.vertex_count(), 1u);
  EXPECT_EQ(spill.spilled_vertices(), 0u);
}

// The streaming STL writer gives format_stl's bytes, from memory and from disk, with more
// vertices than its cache holds; 3MF from a spilled mesh equals 3MF from the in-memory one.
TEST(SpillMesh, StlAnd3mfFromASpilledMeshAreTheInMemoryFilesByteForByte) {
  TempDir dir;
  const std::size_t n = VertexCache::kBlocks * VertexCache::kBlockVertices + 50000;
  const Mesh mesh = helix_mesh(n, 40000, 2);
  SpillMesh spill(dir.path());
  build(spill, mesh, 200000);
  ASSERT_GT(spill.spilled_vertices(), VertexCache::kBlocks * VertexCache::kBlockVertices / 2);
  const std::string expected = format_stl(mesh, StlFormat::binary, "helix");
  write_stl(dir / "memory.stl", mesh, StlFormat::binary, "helix");
  write_stl(dir / "spilled.stl", spill, "helix");
  EXPECT_EQ(test::read_bytes(dir / "memory.stl"), expected);
  EXPECT_EQ(test::read_bytes(dir / "spilled.stl"), expected);
  const MeshRef ref(mesh);
  write_3mf(dir / "memory.3mf", {{"helix", &ref, std::nullopt}}, {}, 0);
  write_3mf(dir / "spilled.3mf", {{"helix", &spill, std::nullopt}}, {}, 0);
  EXPECT_EQ(test::read_bytes(dir / "memory.3mf"), test::read_bytes(dir / "spilled.3mf"));
}

TEST(SpillMesh, BadIndicesAreReportedAndNoFileIsLeft) {
  TempDir dir;
  Mesh mesh = test::make_tetrahedron();
  mesh.triangles[2][1] = 7;
  SpillMesh spill(dir.path());
  build(spill, test::make_tetrahedron(), 2);
  spill.add_triangle({0, 1, 9});
  for (const MeshReader* reader : {static_cast<const MeshReader*>(&spill), static_cast<const MeshReader*>(nullptr)}) {
    const MeshRef ref(mesh);
    const MeshReader& r = reader ? *reader : ref;
    try {
      write_stl(dir / "bad.stl", r);
      FAIL() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::input);
      EXPECT_NE(std::string(e.what()).find("refers to vertex"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(dir / "bad.stl"));
  }
  VertexCache cache(spill);
  EXPECT_EQ(cache[3], test::make_tetrahedron().vertices[3]);
  EXPECT_THROW(cache[4], Error);
  Mesh nan = test::make_tetrahedron();
  nan.vertices[1].y = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(validate_mesh(MeshRef(nan), "nan"), Error);
}

}  // namespace
}  // namespace fabforge
