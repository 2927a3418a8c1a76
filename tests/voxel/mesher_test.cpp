#include "fabforge/voxel/mesher.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <iostream>
#include <numbers>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "fabforge/core/error.hpp"
#include "fabforge/core/mesh_io.hpp"
#include "fabforge/core/threemf.hpp"

#include "support/test_support.hpp"

namespace fabforge::voxel {
namespace {

using test::read_bytes;
using test::TempDir;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

/// A whole voxel field in memory (tests only): value(i, j, k) is the slice byte.
struct Field {
  Grid grid;
  std::vector<std::uint8_t> values;  // k-major, then row-major

  explicit Field(Grid g) : grid(g), values(static_cast<std::size_t>(g.nx) * g.ny * g.nz, 0) {}
  std::uint8_t& at(int i, int j, int k) { return values[(static_cast<std::size_t>(k) * grid.ny + j) * grid.nx + i]; }
  void fill(const std::function<std::uint8_t(int, int, int)>& f) {
    for (int k = 0; k < grid.nz; ++k) {
      for (int j = 0; j < grid.ny; ++j) {
        for (int i = 0; i < grid.nx; ++i) at(i, j, k) = f(i, j, k);
      }
    }
  }
  std::size_t count(std::uint8_t m) const {
    return static_cast<std::size_t>(std::count(values.begin(), values.end(), m));
  }
  Slice slice(int k) const {
    Slice s;
    s.k = k;
    s.width = grid.nx;
    s.height = grid.ny;
    const auto begin = values.begin() + static_cast<std::ptrdiff_t>(grid.slice_voxels() * static_cast<std::size_t>(k));
    s.material.assign(begin, begin + static_cast<std::ptrdiff_t>(grid.slice_voxels()));
    return s;
  }
};

std::vector<Material> palette(int n) {
  std::vector<Material> out;
  const std::vector<std::string> names{"VeroCyan", "VeroMagenta", "Vero Yellow/V2", "Agilus30", "VeroClear"};
  for (int m = 0; m < n; ++m) {
    out.push_back({names[static_cast<std::size_t>(m) % names.size()],
                   100 + m,
                   {static_cast<std::uint8_t>(40 * m), static_cast<std::uint8_t>(255 - 30 * m), 128, 255}});
  }
  return out;
}

MaterialMesher run(const Field& field, int materials) {
  MaterialMesher mesher(field.grid, palette(materials));
  for (int k = 0; k < field.grid.nz; ++k) mesher.push(field.slice(k));
  mesher.finish();
  return mesher;
}

Grid isotropic_grid(int nx, int ny, int nz, double d = 0.5) {
  Grid g;
  g.dx = g.dy = g.dz = d;
  g.nx = nx;
  g.ny = ny;
  g.nz = nz;
  return g;
}

Grid printer_grid(int nx, int ny, int nz) {  // 600 x 300 dpi, 27 um layers
  Grid g;
  g.origin = {10.0, -5.0, 2.0};
  g.nx = nx;
  g.ny = ny;
  g.nz = nz;
  return g;
}

/// Closed, edge-manifold (each undirected edge in exactly two triangles), each directed edge
/// once, no degenerate triangle, positive volume.
void expect_solid(const Mesh& mesh, const std::string& what) {
  const MeshReport r = analyze_mesh(mesh);
  EXPECT_GT(r.triangles, 0u) << what;
  EXPECT_TRUE(r.closed) << what;
  EXPECT_TRUE(r.manifold) << what << ": " << r.non_manifold_edges << " non-manifold edges";
  EXPECT_TRUE(r.consistently_oriented) << what;
  EXPECT_EQ(r.boundary_edges, 0u) << what;
  EXPECT_EQ(r.degenerate_triangles, 0u) << what;
  EXPECT_GT(r.volume, 0.0) << what;
  // A closed 2-manifold of one or more spheres: V - E + F even, E = 3F / 2.
  EXPECT_EQ(r.triangles % 2, 0u) << what;
}

// --- the case table, exhaustively -------------------------------------------------------------

TEST(MaterialMesher, EveryCubeConfigurationGivesAClosedManifoldMesh) {
  for (int mask = 1; mask < 256; ++mask) {
    Field field(isotropic_grid(2, 2, 2));
    field.fill([&](int i, int j, int k) { return ((mask >> (i | j << 1 | k << 2)) & 1) ? 1 : 0; });
    const MaterialMesher mesher = run(field, 1);
    expect_solid(mesher.mesh(0), "case " + std::to_string(mask));
    if (HasFailure()) return;
  }
}

TEST(MaterialMesher, EveryTwoMaterialCubeConfigurationGivesTwoClosedMeshes) {
  for (int mask = 1; mask < 255; ++mask) {
    Field field(isotropic_grid(2, 2, 2));
    field.fill([&](int i, int j, int k) { return ((mask >> (i | j << 1 | k << 2)) & 1) ? 1 : 2; });
    const MaterialMesher mesher = run(field, 2);
    expect_solid(mesher.mesh(0), "case " + std::to_string(mask) + ", material 0");
    expect_solid(mesher.mesh(1), "case " + std::to_string(mask) + ", material 1");
    if (HasFailure()) return;
  }
}

TEST(MaterialMesher, RandomFieldsOfThreeMaterialsGiveClosedManifoldMeshes) {
  std::mt19937 rng(7);
  for (double density : {0.2, 0.5, 0.8}) {
    Field field(isotropic_grid(9, 8, 7));
    std::uniform_real_distribution<double> u(0, 1);
    std::uniform_int_distribution<int> m(1, 3);
    field.fill([&](int, int, int) { return u(rng) < density ? static_cast<std::uint8_t>(m(rng)) : 0; });
    const MaterialMesher mesher = run(field, 3);
    for (int material = 0; material < 3; ++material) {
      expect_solid(mesher.mesh(material),
                   "density " + std::to_string(density) + ", material " + std::to_string(material));
    }
  }
}

// --- geometry ----------------------------------------------------------------------------------

TEST(MaterialMesher, SingleVoxelIsAnOctahedronThroughItsFaceCentres) {
  Field field(printer_grid(1, 1, 1));
  field.at(0, 0, 0) = 1;
  const MaterialMesher mesher = run(field, 1);
  const Mesh& mesh = mesher.mesh(0);
  expect_solid(mesh, "single voxel");
  EXPECT_EQ(mesh.triangles.size(), 8u);
  EXPECT_EQ(mesh.vertices.size(), 6u);
  const Grid& g = field.grid;
  EXPECT_NEAR(mesh_volume(mesh), g.voxel_volume() / 6, 1e-6 * g.voxel_volume());
  const BoundingBox box = mesh_bounds(mesh);
  EXPECT_NEAR(box.min.x, g.origin.x, 1e-6);
  EXPECT_NEAR(box.max.x, g.origin.x + g.dx, 1e-6);
  EXPECT_NEAR(box.min.y, g.origin.y, 1e-6);
  EXPECT_NEAR(box.max.y, g.origin.y + g.dy, 1e-6);
  EXPECT_NEAR(box.min.z, g.origin.z, 1e-6);
  EXPECT_NEAR(box.max.z, g.origin.z + g.dz, 1e-6);
}

double box_volume(int a, int b, int c) {
  Field field(printer_grid(a + 2, b + 3, c + 1));
  field.fill([&](int i, int j, int k) { return (i >= 1 && i <= a && j >= 2 && j <= b + 1 && k < c) ? 1 : 0; });
  const MaterialMesher mesher = run(field, 1);
  expect_solid(mesher.mesh(0), "box");
  return mesh_volume(mesher.mesh(0));
}

// Away from its ends, a box of voxels has a constant cross-section: the rectangle of the voxel
// faces with each corner chamfered by a right triangle with legs of half a voxel. So one more
// voxel of length adds exactly (b c - 1/2) voxel volumes, with anisotropic voxels too.
TEST(MaterialMesher, BoxOfAnisotropicVoxelsGrowsByItsChamferedCrossSection) {
  // (tolerance: float vertices; other chamfers would be off by a tenth of a voxel or more)
  const double v = printer_grid(1, 1, 1).voxel_volume();
  EXPECT_NEAR(box_volume(6, 4, 3) - box_volume(5, 4, 3), (4 * 3 - 0.5) * v, 2e-3 * v);
  EXPECT_NEAR(box_volume(5, 5, 3) - box_volume(5, 4, 3), (5 * 3 - 0.5) * v, 2e-3 * v);
  EXPECT_NEAR(box_volume(5, 4, 4) - box_volume(5, 4, 3), (5 * 4 - 0.5) * v, 2e-3 * v);
}

TEST(MaterialMesher, ShapeFillingTheGridIsClosedByThePadding) {
  Field field(printer_grid(7, 5, 4));
  field.fill([](int, int, int) { return 1; });
  const MaterialMesher mesher = run(field, 1);
  const Mesh& mesh = mesher.mesh(0);
  expect_solid(mesh, "full grid");
  // Flat faces lie exactly on the grid's boundary.
  const Grid& g = field.grid;
  const BoundingBox box = mesh_bounds(mesh);
  EXPECT_NEAR(box.min.x, g.origin.x, 1e-5);
  EXPECT_NEAR(box.max.x, g.origin.x + g.nx * g.dx, 1e-5);
  EXPECT_NEAR(box.min.y, g.origin.y, 1e-5);
  EXPECT_NEAR(box.max.y, g.origin.y + g.ny * g.dy, 1e-5);
  EXPECT_NEAR(box.min.z, g.origin.z, 1e-5);
  EXPECT_NEAR(box.max.z, g.origin.z + g.nz * g.dz, 1e-5);
  EXPECT_LT(mesh_volume(mesh), 7 * 5 * 4 * g.voxel_volume());
  EXPECT_GT(mesh_volume(mesh), 0.8 * 7 * 5 * 4 * g.voxel_volume());
}

TEST(MaterialMesher, SphereOfRadius30VoxelsIsClosedAndKeepsItsVolume) {
  const int n = 66;
  const double c = n / 2.0, r = 30;
  Field field(isotropic_grid(n, n, n, 0.1));
  field.fill([&](int i, int j, int k) {
    const double x = i + 0.5 - c, y = j + 0.5 - c, z = k + 0.5 - c;
    return x * x + y * y + z * z <= r * r ? 1 : 0;
  });
  const MaterialMesher mesher = run(field, 1);
  const Mesh& mesh = mesher.mesh(0);
  expect_solid(mesh, "sphere");
  const double voxels = static_cast<double>(field.count(1)) * field.grid.voxel_volume();
  const double volume = mesh_volume(mesh);
  std::cout << "sphere r=30 voxels: " << mesh.triangles.size() << " triangles, mesh/voxel volume " << volume / voxels
            << "\n";
  EXPECT_NEAR(volume / voxels, 1.0, 0.02);
  EXPECT_NEAR(volume, 4.0 / 3 * std::numbers::pi * std::pow(r * 0.1, 3), 0.02 * voxels);
}

TEST(MaterialMesher, SphereOnThePrinterGridRespectsAnisotropicVoxels) {
  // 600 x 300 dpi, 27 um: a 2.5 mm sphere is 59 voxels across in x, 30 in y, 93 in z.
  Grid g = printer_grid(122, 62, 190);
  const double r = 2.5;
  const Vec3d centre{g.origin.x + 61 * g.dx, g.origin.y + 31 * g.dy, g.origin.z + 95 * g.dz};
  Field field(g);
  field.fill([&](int i, int j, int k) {
    const Vec3d p = g.centre(i, j, k) - centre;
    return dot(p, p) <= r * r ? 1 : 0;
  });
  const MaterialMesher mesher = run(field, 1);
  const Mesh& mesh = mesher.mesh(0);
  expect_solid(mesh, "printer sphere");
  const double voxels = static_cast<double>(field.count(1)) * g.voxel_volume();
  EXPECT_NEAR(mesh_volume(mesh) / voxels, 1.0, 0.02);
  EXPECT_NEAR(mesh_volume(mesh), 4.0 / 3 * std::numbers::pi * r * r * r, 0.02 * voxels);
  const BoundingBox box = mesh_bounds(mesh);
  // Extreme vertices lie on voxel faces: the extent is 2 r to within one voxel along each axis.
  for (auto [lo, hi, mid, d] :
       {std::tuple{box.min.x, box.max.x, centre.x, g.dx}, std::tuple{box.min.y, box.max.y, centre.y, g.dy},
        std::tuple{box.min.z, box.max.z, centre.z, g.dz}}) {
    EXPECT_NEAR(hi - lo, 2 * r, d) << "the sphere is round in mm, not in voxels";
    EXPECT_NEAR((hi + lo) / 2, mid, d);
  }
}

// --- several materials -------------------------------------------------------------------------

TEST(MaterialMesher, MaterialsInContactAreEachClosedAndMeshedAsIfAlone) {
  const int n = 24;
  Field both(isotropic_grid(n, n, n, 0.25));
  both.fill([&](int i, int j, int k) -> std::uint8_t {
    const double x = i - 11.5, y = j - 11.5, z = k - 11.5;
    if (x * x + y * y + z * z > 100) return 0;
    return x < 0 ? 1 : 2;  // two hemispheres sharing a flat face
  });
  const MaterialMesher mesher = run(both, 2);
  expect_solid(mesher.mesh(0), "left hemisphere");
  expect_solid(mesher.mesh(1), "right hemisphere");
  for (std::uint8_t keep : {1, 2}) {
    Field alone = both;
    for (auto& v : alone.values) v = v == keep ? keep : 0;
    const MaterialMesher single = run(alone, 2);
    const Mesh& a = mesher.mesh(keep - 1);
    const Mesh& b = single.mesh(keep - 1);
    EXPECT_EQ(a.vertices, b.vertices) << "material " << int(keep);
    EXPECT_EQ(a.triangles, b.triangles) << "material " << int(keep);
  }
  // Where the hemispheres meet, their faces coincide: the summed volume is that of the whole
  // sphere meshed as one material minus only the chamfers along the contact rim.
  Field whole = both;
  for (auto& v : whole.values) v = v ? 1 : 0;
  const double one = mesh_volume(run(whole, 1).mesh(0));
  const double two = mesh_volume(mesher.mesh(0)) + mesh_volume(mesher.mesh(1));
  EXPECT_LT(two, one);
  EXPECT_GT(two, 0.97 * one);
}

TEST(MaterialMesher, EmptyMaterialHasEmptyMesh) {
  Field field(isotropic_grid(4, 4, 4));
  field.at(1, 1, 1) = 2;
  const MaterialMesher mesher = run(field, 3);
  EXPECT_TRUE(mesher.mesh(0).empty());
  EXPECT_TRUE(mesher.mesh(0).vertices.empty());
  EXPECT_EQ(mesher.mesh(1).triangles.size(), 8u);
  EXPECT_TRUE(mesher.mesh(2).empty());
}

// --- determinism and metamorphic checks -------------------------------------------------------

TEST(MaterialMesher, SameSlicesGiveIdenticalMeshesAndTranslatedSlicesTranslatedMeshes) {
  std::mt19937 rng(3);
  Field a(isotropic_grid(10, 9, 8, 0.5));
  std::uniform_int_distribution<int> m(0, 2);
  for (int k = 1; k < 6; ++k) {
    for (int j = 1; j < 6; ++j) {
      for (int i = 1; i < 7; ++i) a.at(i, j, k) = static_cast<std::uint8_t>(m(rng));
    }
  }
  const MaterialMesher first = run(a, 2);
  const MaterialMesher again = run(a, 2);
  // Shift the voxels by (2, 3, 2) and the origin back by the same amount: same mesh, same order.
  Field b(a.grid);
  b.grid.origin = {-1.0, -1.5, -1.0};
  b.fill([&](int i, int j, int k) { return (i >= 2 && j >= 3 && k >= 2) ? a.at(i - 2, j - 3, k - 2) : 0; });
  const MaterialMesher shifted = run(b, 2);
  for (int material = 0; material < 2; ++material) {
    EXPECT_EQ(first.mesh(material).vertices, again.mesh(material).vertices);
    EXPECT_EQ(first.mesh(material).triangles, again.mesh(material).triangles);
    EXPECT_EQ(first.mesh(material).vertices, shifted.mesh(material).vertices);
    EXPECT_EQ(first.mesh(material).triangles, shifted.mesh(material).triangles);
  }
}

TEST(MaterialMesher, MirroredFieldGivesMirroredMesh) {
  std::mt19937 rng(11);
  Field a(isotropic_grid(8, 7, 6, 0.5));
  std::bernoulli_distribution on(0.45);
  a.fill([&](int, int, int) { return on(rng) ? 1 : 0; });
  Field b(a.grid);
  b.fill([&](int i, int j, int k) { return a.at(a.grid.nx - 1 - i, j, k); });
  const Mesh ma = run(a, 1).mesh(0);
  const Mesh mb = run(b, 1).mesh(0);
  EXPECT_EQ(ma.triangles.size(), mb.triangles.size());
  EXPECT_EQ(ma.vertices.size(), mb.vertices.size());
  EXPECT_NEAR(mesh_volume(ma), mesh_volume(mb), 1e-9 * mesh_volume(ma));
  EXPECT_NEAR(analyze_mesh(ma).area, analyze_mesh(mb).area, 1e-9 * analyze_mesh(ma).area);
}

// --- writers -----------------------------------------------------------------------------------

TEST(MaterialMesher, WritesOneStlPerMaterialAndOne3mfThatReadBack) {
  Field field(isotropic_grid(12, 10, 9, 0.25));
  field.fill([](int i, int j, int k) -> std::uint8_t {
    if (i < 1 || j < 1 || k < 1 || i > 9 || j > 8 || k > 7) return 0;
    return i < 5 ? 1 : 3;  // material 1 (index 1) stays empty
  });
  const MaterialMesher mesher = run(field, 3);
  TempDir dir;
  const auto stls = mesher.write_stl_per_material(dir / "stl", "part");
  ASSERT_EQ(stls.size(), 2u);
  EXPECT_EQ(stls[0].filename(), "part_00_VeroCyan.stl");
  EXPECT_EQ(stls[1].filename(), "part_02_Vero_Yellow_V2.stl");
  for (int i = 0; i < 2; ++i) {
    const Mesh& original = mesher.mesh(i == 0 ? 0 : 2);
    const Mesh back = read_mesh(stls[static_cast<std::size_t>(i)]);
    EXPECT_EQ(back.triangles.size(), original.triangles.size());
    EXPECT_EQ(back.vertices.size(), original.vertices.size());
    EXPECT_TRUE(analyze_mesh(back).watertight());
    EXPECT_NEAR(mesh_volume(back), mesh_volume(original), 1e-6 * mesh_volume(original));
  }
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"stl"});

  const auto written = mesher.write_3mf(dir / "parts.3mf");
  EXPECT_EQ(written, (std::vector<int>{0, 2}));
  const ThreeMFModel model = read_3mf(dir / "parts.3mf");
  ASSERT_EQ(model.objects.size(), 2u);
  EXPECT_EQ(model.objects[0].name, "VeroCyan");
  EXPECT_EQ(model.objects[1].name, "Vero Yellow/V2");
  EXPECT_EQ(model.objects[1].color, (color::Rgb8{80, 195, 128}));
  EXPECT_EQ(model.objects[0].mesh.triangles.size(), mesher.mesh(0).triangles.size());
  EXPECT_EQ(model.objects[1].mesh.triangles.size(), mesher.mesh(2).triangles.size());
  EXPECT_EQ(read_mesh(dir / "parts.3mf").triangles.size(),
            mesher.mesh(0).triangles.size() + mesher.mesh(2).triangles.size());

  // Same input, same bytes.
  const MaterialMesher again = run(field, 3);
  const auto stls2 = again.write_stl_per_material(dir / "stl2", "part");
  again.write_3mf(dir / "parts2.3mf");
  EXPECT_EQ(read_bytes(stls[0]), read_bytes(stls2[0]));
  EXPECT_EQ(read_bytes(stls[1]), read_bytes(stls2[1]));
  EXPECT_EQ(read_bytes(dir / "parts.3mf"), read_bytes(dir / "parts2.3mf"));
}

// Meshes spilled to disk before every slice (a zero memory limit) are the same meshes and write
// the same files, and the spill files leave nothing in their folder.
TEST(MaterialMesher, SpilledMeshesWriteTheSameFilesAsInMemoryOnes) {
  Field field(isotropic_grid(40, 30, 25, 0.25));
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> u(0, 1);
  field.fill([&](int i, int j, int k) -> std::uint8_t {
    const double r = std::hypot(i - 20.0, j - 15.0, k - 12.0);
    if (r > 11) return 0;
    return u(rng) < 0.1 ? 2 : 1;  // a ball of one material flecked with another
  });
  TempDir dir;
  fs::create_directories(dir / "spill");
  MaterialMesher spilled(field.grid, palette(2), {dir / "spill", 0});
  for (int k = 0; k < field.grid.nz; ++k) spilled.push(field.slice(k));
  spilled.finish();
  const MaterialMesher memory = run(field, 2);
  EXPECT_GT(spilled.spilled_elements(), 0u);
  EXPECT_EQ(memory.spilled_elements(), 0u);
  EXPECT_TRUE(fs::is_empty(dir / "spill"));
  for (int m = 0; m < 2; ++m) {
    const Mesh a = spilled.mesh(m), b = memory.mesh(m);
    EXPECT_EQ(a.vertices, b.vertices);
    EXPECT_EQ(a.triangles, b.triangles);
    expect_solid(a, "material " + std::to_string(m));
  }
  const auto from_disk = spilled.write_stl_per_material(dir / "disk", "part");
  const auto from_memory = memory.write_stl_per_material(dir / "memory", "part");
  ASSERT_EQ(from_disk.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) EXPECT_EQ(read_bytes(from_disk[i]), read_bytes(from_memory[i]));
  spilled.write_3mf(dir / "disk.3mf");
  memory.write_3mf(dir / "memory.3mf");
  EXPECT_EQ(read_bytes(dir / "disk.3mf"), read_bytes(dir / "memory.3mf"));
}

TEST(MaterialMesher, WritersSkipEmptyMaterialsAndRefuseAnEmpty3mf) {
  Field field(isotropic_grid(3, 3, 3));
  const MaterialMesher mesher = run(field, 2);
  TempDir dir;
  EXPECT_TRUE(mesher.write_stl_per_material(dir.path(), "empty").empty());
  EXPECT_TRUE(dir.entries().empty());
  try {
    mesher.write_3mf(dir / "empty.3mf");
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_THAT(e.what(), HasSubstr("every material's mesh is empty"));
  }
  EXPECT_TRUE(dir.entries().empty());
}

// --- misuse ------------------------------------------------------------------------------------

template <typename F>
std::string error_of(F&& f, ErrorKind kind) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected an error";
  return {};
}

TEST(MaterialMesher, BadInputGivesClearErrors) {
  Field field(isotropic_grid(3, 2, 2));
  field.at(2, 1, 1) = 3;
  MaterialMesher mesher(field.grid, palette(2));
  EXPECT_THAT(error_of([&] { mesher.push(field.slice(1)); }, ErrorKind::usage),
              HasSubstr("expected slice 0, got slice 1"));
  Slice narrow = field.slice(0);
  narrow.width = 2;
  EXPECT_THAT(error_of([&] { mesher.push(narrow); }, ErrorKind::usage), HasSubstr("the grid needs 3 x 2"));
  EXPECT_THAT(error_of([&] { mesher.mesh(0); }, ErrorKind::usage), HasSubstr("before finish()"));
  EXPECT_THAT(error_of([&] { mesher.finish(); }, ErrorKind::usage), HasSubstr("after 0 of 2 slices"));
  mesher.push(field.slice(0));
  EXPECT_THAT(error_of([&] { mesher.push(field.slice(1)); }, ErrorKind::input),
              HasSubstr("slice 1, voxel (2, 1) holds material index 3 but the table has 2 materials"));
  EXPECT_EQ(mesher.slices_pushed(), 1);  // the failed push changed nothing
  field.at(2, 1, 1) = 2;
  mesher.push(field.slice(1));
  EXPECT_THAT(error_of([&] { mesher.push(field.slice(1)); }, ErrorKind::usage),
              HasSubstr("beyond the grid's 2 layers"));
  mesher.finish();
  EXPECT_THAT(error_of([&] { mesher.finish(); }, ErrorKind::usage), HasSubstr("twice"));
  EXPECT_THAT(error_of([&] { mesher.push(field.slice(1)); }, ErrorKind::usage), HasSubstr("after finish()"));
  EXPECT_THAT(error_of([&] { mesher.mesh(2); }, ErrorKind::usage), HasSubstr("out of range"));
  EXPECT_EQ(mesher.mesh(1).triangles.size(), 8u);

  Grid bad = field.grid;
  bad.dz = 0;
  EXPECT_THAT(error_of([&] { MaterialMesher m(bad, palette(1)); }, ErrorKind::usage), HasSubstr("positive"));
  bad = field.grid;
  bad.nx = 0;
  EXPECT_THAT(error_of([&] { MaterialMesher m(bad, palette(1)); }, ErrorKind::usage), HasSubstr("nx, ny >= 1"));
  EXPECT_THAT(error_of([&] { MaterialMesher m(field.grid, palette(256)); }, ErrorKind::usage),
              HasSubstr("at most 255"));
}

}  // namespace
}  // namespace fabforge::voxel
