// Tests for the fab world (JSON parsing, validation, fablet binding) and the built-in primitives.

#include "fabforge/voxel/world.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <string>

#include "fabforge/core/error.hpp"
#include "fabforge/core/mesh_io.hpp"
#include "fabforge/voxel/primitives.hpp"

#include "support/test_support.hpp"

namespace fabforge::voxel {
namespace {

constexpr double kPi = std::numbers::pi;

// ---- Primitives ----------------------------------------------------------------------------------

void expect_solid(const Mesh& mesh) {
  const MeshReport r = analyze_mesh(mesh);
  EXPECT_TRUE(r.watertight());
  EXPECT_TRUE(r.manifold);
  EXPECT_EQ(r.boundary_edges, 0u);
  EXPECT_EQ(r.non_manifold_edges, 0u);
  EXPECT_EQ(r.degenerate_triangles, 0u);
  // Welded: no two vertices share a position.
  EXPECT_EQ(weld_vertices(mesh).vertices.size(), mesh.vertices.size());
}

double rel_error(double measured, double expected) { return std::abs(measured - expected) / expected; }

Vec3d corner(const Mesh& m, const Triangle& t, int k) { return to_double(m.vertices[t[static_cast<std::size_t>(k)]]); }

TEST(Primitives, SegmentsForDeviationFollowsTheChordRule) {
  for (const double r : {0.1, 1.0, 5.0, 10.0, 245.0}) {
    for (const double d : {0.001, 0.005, 0.05}) {
      const int n = segments_for_deviation(r, d);
      const auto sagitta = [&](int segments) { return r * (1 - std::cos(kPi / segments)); };
      EXPECT_LE(sagitta(n), d * (1 + 1e-9)) << r << " " << d;
      if (n > 3) {
        EXPECT_GT(sagitta(n - 1), d) << "not the smallest count for r " << r << " d " << d;
      }
    }
  }
  EXPECT_EQ(segments_for_deviation(10, 0.005), 100);  // pi / acos(0.9995) = 99.35
  EXPECT_EQ(segments_for_deviation(1, 2), 3);
  EXPECT_THROW(segments_for_deviation(0, 0.005), Error);
  EXPECT_THROW(segments_for_deviation(1, -1), Error);
}

TEST(Primitives, BoxIsExact) {
  const Mesh box = box_mesh({2, 3, 4});
  expect_solid(box);
  EXPECT_EQ(box.vertices.size(), 8u);
  EXPECT_EQ(box.triangles.size(), 12u);
  EXPECT_DOUBLE_EQ(mesh_volume(box), 24.0);
  const BoundingBox b = mesh_bounds(box);
  EXPECT_EQ(b.min, (Vec3d{-1, -1.5, -2}));
  EXPECT_EQ(b.max, (Vec3d{1, 1.5, 2}));
}

TEST(Primitives, SphereVolumeDeviationAndOrientation) {
  const double r = 10;
  const Mesh sphere = sphere_mesh(r);
  expect_solid(sphere);
  EXPECT_LT(rel_error(mesh_volume(sphere), sphere_volume(r)), 1e-5);  // volume matched
  double max_dev = 0;
  for (const Triangle& t : sphere.triangles) {
    const Vec3d a = corner(sphere, t, 0), b = corner(sphere, t, 1), c = corner(sphere, t, 2);
    const Vec3d centroid = (a + b + c) * (1.0 / 3);
    for (const Vec3d p : {a, centroid, (a + b) * 0.5}) max_dev = std::max(max_dev, std::abs(length(p) - r));
    EXPECT_GT(dot(cross(b - a, c - a), centroid), 0) << "inward-facing triangle";
  }
  EXPECT_LE(max_dev, 0.005);
  EXPECT_GT(max_dev, 0.001);  // the tolerance is used, not wasted on far too many triangles
  EXPECT_LT(sphere.triangles.size(), 30000u);

  // Inscribed (no volume matching): every vertex on the sphere, volume just below analytic.
  TessellationOptions inscribed;
  inscribed.match_volume = false;
  const Mesh in = sphere_mesh(r, inscribed);
  expect_solid(in);
  for (const Vec3f& v : in.vertices) EXPECT_NEAR(length(to_double(v)), r, 1e-5);
  EXPECT_LT(mesh_volume(in), sphere_volume(r));
  EXPECT_LT(rel_error(mesh_volume(in), sphere_volume(r)), 1e-3);
}

TEST(Primitives, SmallSphereStaysWithinTenthOfAPercent) {
  const Mesh sphere = sphere_mesh(5);  // a 10 mm sphere
  expect_solid(sphere);
  EXPECT_LT(rel_error(mesh_volume(sphere), sphere_volume(5)), 1e-3);
}

TEST(Primitives, CylinderVolumeAndCaps) {
  const Mesh cyl = cylinder_mesh(4, 7);
  expect_solid(cyl);
  EXPECT_LT(rel_error(mesh_volume(cyl), cylinder_volume(4, 7)), 1e-6);
  const BoundingBox b = mesh_bounds(cyl);
  EXPECT_FLOAT_EQ(static_cast<float>(b.min.z), -3.5f);
  EXPECT_FLOAT_EQ(static_cast<float>(b.max.z), 3.5f);
  const int n = segments_for_deviation(4, 0.005);
  EXPECT_EQ(cyl.triangles.size(), 4u * static_cast<std::size_t>(n));
  for (const Vec3f& v : cyl.vertices) {
    const double rho = std::hypot(v.x, v.y);
    if (rho > 0) {
      EXPECT_NEAR(rho, 4, 0.005);
    }
  }
  TessellationOptions inscribed;
  inscribed.match_volume = false;
  EXPECT_LT(mesh_volume(cylinder_mesh(4, 7, inscribed)), cylinder_volume(4, 7));
}

TEST(Primitives, TorusVolumeAndDeviation) {
  const double big = 12, small = 3;
  const Mesh torus = torus_mesh(big, small);
  expect_solid(torus);
  EXPECT_LT(rel_error(mesh_volume(torus), torus_volume(big, small)), 1e-5);
  double max_dev = 0;
  for (const Triangle& t : torus.triangles) {
    const Vec3d a = corner(torus, t, 0), b = corner(torus, t, 1), c = corner(torus, t, 2);
    for (const Vec3d p : {a, (a + b + c) * (1.0 / 3)}) {
      const double tube = std::hypot(std::hypot(p.x, p.y) - big, p.z);
      max_dev = std::max(max_dev, std::abs(tube - small));
    }
  }
  EXPECT_LE(max_dev, 0.005);
  EXPECT_THROW(torus_mesh(3, 3), Error);
}

TEST(Primitives, TriangleCapIsHonoured) {
  TessellationOptions capped;
  capped.max_triangles = 1000;
  for (const Mesh& m : {sphere_mesh(50, capped), torus_mesh(50, 10, capped), cylinder_mesh(50, 1, capped)}) {
    EXPECT_LE(m.triangles.size(), 1000u);
    EXPECT_GT(m.triangles.size(), 500u);
    expect_solid(m);
  }
  capped.max_triangles = 4;
  EXPECT_THROW(sphere_mesh(1, capped), Error);
}

TEST(Primitives, BadSizesThrow) {
  EXPECT_THROW(box_mesh({1, 0, 1}), Error);
  EXPECT_THROW(sphere_mesh(-1), Error);
  EXPECT_THROW(cylinder_mesh(1, std::nan("")), Error);
  TessellationOptions zero;
  zero.max_deviation_mm = 0;
  EXPECT_THROW(sphere_mesh(1, zero), Error);
}

// ---- Transforms ----------------------------------------------------------------------------------

void expect_near(Vec3d a, Vec3d b) {
  EXPECT_NEAR(a.x, b.x, 1e-12);
  EXPECT_NEAR(a.y, b.y, 1e-12);
  EXPECT_NEAR(a.z, b.z, 1e-12);
}

TEST(Transforms, ScaleThenRotateXYZThenTranslate) {
  const Mat4 m = compose_transform({10, 0, 0}, {90, 0, 90}, {2, 3, 4});
  // (1,0,0) -> scale (2,0,0) -> rot x (2,0,0) -> rot z (0,2,0) -> (10,2,0)
  expect_near(transform_point(m, {1, 0, 0}), {10, 2, 0});
  // (0,1,0) -> scale (0,3,0) -> rot x (0,0,3) -> rot z (0,0,3) -> (10,0,3)
  expect_near(transform_point(m, {0, 1, 0}), {10, 0, 3});
  // (0,0,1) -> scale (0,0,4) -> rot x (0,-4,0) -> rot z (4,0,0) -> (14,0,0)
  expect_near(transform_point(m, {0, 0, 1}), {14, 0, 0});
  // Rotations about fixed axes x then y: (1,0,0) -> rot x: same -> rot y 90: (0,0,-1).
  expect_near(transform_point(compose_transform({}, {90, 90, 0}, {1, 1, 1}), {1, 0, 0}), {0, 0, -1});
  // A non-right angle.
  const Vec3d p = transform_point(rotation_matrix(2, 30), {1, 0, 0});
  EXPECT_NEAR(p.x, std::sqrt(3.0) / 2, 1e-15);
  EXPECT_NEAR(p.y, 0.5, 1e-15);
}

TEST(Transforms, MirrorKeepsMeshOutwardOriented) {
  const Mesh box = box_mesh({1, 2, 3});
  const Mat4 mirror = scale_matrix({-1, 1, 1});
  EXPECT_LT(linear_determinant(mirror), 0);
  const Mesh m = transform_mesh(box, mirror);
  EXPECT_TRUE(analyze_mesh(m).watertight());
  EXPECT_NEAR(mesh_volume(m), 6, 1e-9);
}

// ---- Worlds --------------------------------------------------------------------------------------

constexpr const char* kZebra = R"(fablet Zebra {
  uniform material black = "VeroBlack";
  uniform material white = "VeroWhite";
  uniform float spike = 0.3;
  uniform vec3 tint = vec3(1.0, 1.0, 1.0);
  uniform bool striped = true;
  uniform int count = 3;
  uniform texture pattern = "default.png";

  volume(vec3 P) -> mixture {
    float s = sample(pattern, P.xy).r * spike * tint.x;
    return striped ? mixture(black, s, white, 1.0 - s) : mixture(white, 1.0);
  }
}
)";

constexpr const char* kSolid = R"(fablet Solid {
  uniform material m;
  volume(vec3 P) -> mixture { return mixture(m, 1.0); }
}
)";

// The example of docs/voxel-world.md, with its files.
constexpr const char* kExample = R"({
  // comments are allowed
  "printer": {
    "name": "J750",
    "x_dpi": 600, "y_dpi": 300, "layer_um": 27,
    "build_volume_mm": [490, 390, 200],
    "materials": [
      {"name": "VeroWhite", "id": 1, "rgba": [240, 240, 240, 255]},
      {"name": "VeroBlack", "id": 2, "rgba": "#101010"},
      {"name": "VeroClear", "id": 3, "rgba": "#e0f0ff80"},
      {"name": "SUP706", "id": 9, "rgba": [128, 128, 128]}
    ],
    "support": "SUP706"
  },
  "textures": {
    "stripes": {"path": "textures/stripes.png", "wrap": "mirror"}
  },
  "meshes": {
    "body": {"file": "meshes/body.stl"},
    "ball": {"primitive": "sphere", "radius": 5, "max_deviation_mm": 0.01},
    "ring": {"primitive": "torus", "major_radius": 8, "minor_radius": 2}
  },
  "shapes": [
    {"name": "creature", "mesh": "body", "fablet": "zebra.fl",
     "transform": {"translate": [100, 50, 0], "rotate": [0, 0, 90], "scale": 2},
     "uniforms": {"spike": 0.5, "tint": [1, 0.5, 0.25], "striped": false, "count": 7,
                  "black": "VeroClear", "pattern": "stripes"},
     "priority": 2, "displacement_bound_mm": 0.6},
    {"name": "ball1", "mesh": "ball", "fablet": "solid.fl", "uniforms": {"m": "VeroBlack"},
     "transform": {"translate": [10, 10, 5]}},
    {"name": "ball2", "mesh": "ball", "material": "VeroWhite",
     "transform": {"matrix": [[1, 0, 0, 30], [0, 1, 0, 10], [0, 0, 1, 5], [0, 0, 0, 1]]}, "priority": -1}
  ],
  "output": {"png": "layers", "grabcad": true, "meshes": false, "raw": "job.raw"},
  "memory_budget_mb": 256,
  "threads": 2
})";

class WorldTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_ / "textures");
    std::filesystem::create_directories(dir_ / "meshes");
    test::write_bytes(dir_ / "textures/stripes.png", "not decoded while parsing");
    test::write_bytes(dir_ / "default.png", "x");
    write_mesh(dir_ / "meshes/body.stl", test::make_box({0, 0, 0}, {10, 20, 30}));
    test::write_bytes(dir_ / "zebra.fl", kZebra);
    test::write_bytes(dir_ / "solid.fl", kSolid);
    test::write_bytes(dir_ / "world.json", kExample);
  }
  World parse(const std::string& text) const { return parse_world(text, dir_.path(), "w.json"); }
  // The message of the Error that parsing `text` throws ("" if none).
  std::string error_of(const std::string& text) const {
    try {
      parse(text);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::input);
      return e.what();
    }
    return "";
  }
  std::string fablet_error_of(const std::string& text) const {
    try {
      check_fablets(parse(text));
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::input);
      return e.what();
    }
    return "";
  }

  test::TempDir dir_;
};

// A small valid world with `shape` as its only shape and `extra` spliced into the top level.
std::string minimal(const std::string& shape = R"({"name": "a", "mesh": "cube", "material": "White"})",
                    const std::string& printer_extra = "", const std::string& extra = "") {
  return R"({"printer": {"materials": [{"name": "White", "rgba": "#ffffff"}, {"name": "Black", "rgba": "#000000"}])" +
         printer_extra + R"(}, "meshes": {"cube": {"primitive": "box", "size": 10}}, "shapes": [)" + shape + "]" +
         extra + "}";
}

TEST_F(WorldTest, FullExampleParsesWithAllFields) {
  const World w = load_world(dir_ / "world.json");
  EXPECT_EQ(w.source, (dir_ / "world.json").string());
  EXPECT_EQ(w.printer.name, "J750");
  EXPECT_EQ(w.printer.x_dpi, 600);
  EXPECT_EQ(w.printer.y_dpi, 300);
  EXPECT_DOUBLE_EQ(w.printer.layer_um, 27);
  EXPECT_DOUBLE_EQ(w.printer.dz_mm(), 0.027);
  EXPECT_EQ(w.printer.build_volume_mm, (Vec3d{490, 390, 200}));
  ASSERT_EQ(w.printer.materials.size(), 4u);
  EXPECT_EQ(w.printer.materials[1].name, "VeroBlack");
  EXPECT_EQ(w.printer.materials[1].id, 2);
  EXPECT_EQ(w.printer.materials[1].rgba, (std::array<std::uint8_t, 4>{16, 16, 16, 255}));
  EXPECT_EQ(w.printer.materials[2].rgba, (std::array<std::uint8_t, 4>{224, 240, 255, 128}));
  EXPECT_EQ(w.printer.materials[3].rgba, (std::array<std::uint8_t, 4>{128, 128, 128, 255}));
  EXPECT_EQ(w.printer.support, 3);

  ASSERT_EQ(w.textures.size(), 1u);
  EXPECT_EQ(w.textures[0].name, "stripes");
  EXPECT_EQ(w.textures[0].path, dir_ / "textures/stripes.png");
  EXPECT_EQ(w.textures[0].wrap, openfl::Wrap::mirror);

  ASSERT_EQ(w.meshes.size(), 3u);  // document order
  EXPECT_EQ(w.meshes[0].name, "body");
  EXPECT_EQ(w.meshes[0].file, dir_ / "meshes/body.stl");
  EXPECT_FALSE(w.meshes[0].primitive);
  ASSERT_TRUE(w.meshes[1].primitive);
  EXPECT_EQ(w.meshes[1].primitive->kind, PrimitiveKind::sphere);
  EXPECT_DOUBLE_EQ(w.meshes[1].primitive->radius_mm, 5);
  EXPECT_DOUBLE_EQ(w.meshes[1].primitive->tessellation.max_deviation_mm, 0.01);
  EXPECT_EQ(w.meshes[2].primitive->kind, PrimitiveKind::torus);
  EXPECT_DOUBLE_EQ(w.meshes[2].primitive->minor_radius_mm, 2);

  ASSERT_EQ(w.shapes.size(), 3u);
  const ShapeSpec& c = w.shapes[0];
  EXPECT_EQ(c.name, "creature");
  EXPECT_EQ(c.mesh, 0);
  EXPECT_EQ(c.fablet, dir_ / "zebra.fl");
  EXPECT_EQ(c.priority, 2);
  EXPECT_EQ(c.displacement_bound_mm, 0.6);
  expect_near(transform_point(c.transform, {1, 0, 0}), {100, 52, 0});
  EXPECT_EQ(std::get<double>(c.uniforms.at("spike")), 0.5);
  EXPECT_EQ(std::get<std::vector<double>>(c.uniforms.at("tint")), (std::vector<double>{1, 0.5, 0.25}));
  EXPECT_EQ(std::get<bool>(c.uniforms.at("striped")), false);
  EXPECT_EQ(std::get<std::string>(c.uniforms.at("pattern")), "stripes");
  // Instancing: two shapes, one mesh.
  EXPECT_EQ(w.shapes[1].mesh, 1);
  EXPECT_EQ(w.shapes[2].mesh, 1);
  EXPECT_EQ(w.shapes[2].material, 0);
  EXPECT_TRUE(w.shapes[2].fablet.empty());
  EXPECT_EQ(w.shapes[2].priority, -1);
  EXPECT_FALSE(w.shapes[1].displacement_bound_mm);
  expect_near(transform_point(w.shapes[2].transform, {1, 1, 1}), {31, 11, 6});

  EXPECT_EQ(w.output.png, "layers");
  EXPECT_EQ(w.output.grabcad, "grabcad.zip");
  EXPECT_EQ(w.output.meshes, "");
  EXPECT_EQ(w.output.raw, "job.raw");
  EXPECT_EQ(w.memory_budget_mb, 256u);
  EXPECT_EQ(w.threads, 2);

  // The meshes, each once.
  const std::vector<Mesh> meshes = load_meshes(w);
  ASSERT_EQ(meshes.size(), 3u);
  EXPECT_NEAR(mesh_volume(meshes[0]), 6000, 1e-6);
  EXPECT_LT(rel_error(mesh_volume(meshes[1]), sphere_volume(5)), 1e-5);
  EXPECT_LT(rel_error(mesh_volume(meshes[2]), torus_volume(8, 2)), 1e-5);
  // The scale 2 of the creature multiplies its volume by 8.
  EXPECT_NEAR(mesh_volume(transform_mesh(meshes[0], c.transform)), 48000, 1e-3);
}

TEST_F(WorldTest, FabletsBindOverridesDefaultsMaterialsAndTextures) {
  const World w = load_world(dir_ / "world.json");
  const std::vector<ShapeFablet> f = compile_fablets(w);
  ASSERT_EQ(f.size(), 3u);
  ASSERT_TRUE(f[0].program);
  const openfl::Program& zebra = *f[0].program;
  EXPECT_EQ(zebra.name(), "Zebra");
  // black -> VeroClear (override), white -> VeroWhite (default).
  EXPECT_EQ(f[0].material_slots, (std::vector<int>{2, 0}));
  EXPECT_EQ(f[0].texture_wraps, (std::vector<openfl::Wrap>{openfl::Wrap::mirror}));
  const auto index = [&](const char* name) {
    for (std::size_t k = 0; k < zebra.uniforms().size(); ++k) {
      if (zebra.uniforms()[k].name == name) return k;
    }
    return std::size_t{999};
  };
  EXPECT_FLOAT_EQ(f[0].values.values[index("spike")].f[0], 0.5f);
  EXPECT_FLOAT_EQ(f[0].values.values[index("tint")].f[2], 0.25f);
  EXPECT_EQ(f[0].values.values[index("striped")].b, false);
  EXPECT_EQ(f[0].values.values[index("count")].i, 7);
  EXPECT_EQ(f[0].values.texts[index("pattern")], (dir_ / "textures/stripes.png").string());
  EXPECT_EQ(f[1].material_slots, (std::vector<int>{1}));
  EXPECT_FALSE(f[2].program);
  EXPECT_EQ(f[2].material_slots, (std::vector<int>{0}));
  EXPECT_NO_THROW(zebra.check_complete(f[0].values));
}

// The fenced code blocks of a Markdown text, in order.
std::vector<std::string> code_blocks(const std::string& markdown) {
  std::vector<std::string> blocks;
  std::size_t pos = 0;
  while ((pos = markdown.find("\n```", pos)) != std::string::npos) {
    const std::size_t start = markdown.find('\n', pos + 1);
    const std::size_t end = markdown.find("\n```", start);
    if (start == std::string::npos || end == std::string::npos) break;
    blocks.push_back(markdown.substr(start + 1, end - start));
    pos = markdown.find('\n', end + 1);
    if (pos == std::string::npos) break;
  }
  return blocks;
}

TEST_F(WorldTest, DocumentedExampleParses) {
  const std::vector<std::string> blocks = code_blocks(test::read_bytes(test::source_dir() / "docs/voxel-world.md"));
  ASSERT_EQ(blocks.size(), 3u);  // world.json, zebra.fl, solid.fl
  test::write_bytes(dir_ / "doc.json", blocks[0]);
  test::write_bytes(dir_ / "zebra.fl", blocks[1]);
  test::write_bytes(dir_ / "solid.fl", blocks[2]);
  const World w = load_world(dir_ / "doc.json");
  ASSERT_EQ(w.shapes.size(), 3u);
  EXPECT_EQ(w.meshes.size(), 2u);
  EXPECT_EQ(w.shapes[1].mesh, w.shapes[2].mesh);  // instancing
  const std::vector<ShapeFablet> f = compile_fablets(w);
  EXPECT_EQ(f[0].material_slots, (std::vector<int>{2, 0}));
  // The statement of the transform section: (1, 0, 0) -> (10, 2, 0).
  expect_near(transform_point(compose_transform({10, 0, 0}, {90, 0, 90}, {2, 2, 2}), {1, 0, 0}), {10, 2, 0});
  // "A 10 mm sphere has about 10,000 triangles" (radius 5 at the default deviation).
  EXPECT_NEAR(static_cast<double>(sphere_mesh(5).triangles.size()), 10000, 500);
}

TEST_F(WorldTest, DefaultsOfAMinimalWorld) {
  const World w = parse(minimal());
  EXPECT_EQ(w.source, "w.json");
  EXPECT_EQ(w.printer.name, "");
  EXPECT_EQ(w.printer.x_dpi, 600);
  EXPECT_EQ(w.printer.y_dpi, 300);
  EXPECT_DOUBLE_EQ(w.printer.layer_um, 27);
  EXPECT_EQ(w.printer.build_volume_mm, (Vec3d{490, 390, 200}));
  EXPECT_EQ(w.printer.support, -1);
  EXPECT_EQ(w.printer.materials[0].id, 0);  // ids default to the table position
  EXPECT_EQ(w.printer.materials[1].id, 1);
  EXPECT_EQ(w.printer.materials[0].rgba, (std::array<std::uint8_t, 4>{255, 255, 255, 255}));
  EXPECT_TRUE(w.textures.empty());
  EXPECT_EQ(w.meshes[0].primitive->size_mm, (Vec3d{10, 10, 10}));
  EXPECT_DOUBLE_EQ(w.meshes[0].primitive->tessellation.max_deviation_mm, 0.005);
  EXPECT_EQ(w.shapes[0].transform, identity_matrix());
  EXPECT_EQ(w.shapes[0].priority, 0);
  EXPECT_EQ(w.output.png, "slices");
  EXPECT_EQ(w.output.grabcad, "");
  EXPECT_EQ(w.output.raw, "");
  EXPECT_EQ(w.memory_budget_mb, 1024u);
  EXPECT_FALSE(w.threads);
}

TEST_F(WorldTest, StructuralErrorsNameTheJsonPath) {
  EXPECT_EQ(error_of(R"({"printer": {}})"), "w.json: printer: missing key 'materials'");
  EXPECT_EQ(error_of(R"({"printer": {"materials": [{"name": "W", "rgba": "#ffffff"}]}, "meshes": {}})"),
            "w.json: missing key 'shapes'");
  EXPECT_EQ(error_of(minimal(R"({"name": "a", "mesh": "cube"})")),
            "w.json: shapes[0]: missing key 'fablet' (an OpenFL file) or 'material' (a printer material)");
  EXPECT_EQ(error_of(minimal(R"({"name": "a", "mesh": "cube", "material": "White", "priorty": 3})")),
            "w.json: shapes[0].priorty: unknown key 'priorty' (expected one of: name, mesh, transform, fablet, "
            "material, uniforms, priority, displacement_bound_mm, surface_reach_mm)");
  EXPECT_EQ(error_of(minimal(R"({"name": "a", "mesh": "cube", "material": "White"})", R"(, "xdpi": 600)")),
            "w.json: printer.xdpi: unknown key 'xdpi' (expected one of: name, x_dpi, y_dpi, layer_um, "
            "build_volume_mm, materials, support)");
  EXPECT_EQ(
      error_of(minimal(R"({"name": "a", "mesh": "cube", "material": "White"})", "", R"(, "output": {"pgn": true})")),
      "w.json: output.pgn: unknown key 'pgn' (expected one of: png, grabcad, meshes, raw)");
  EXPECT_EQ(error_of(R"({"printer": {"materials": []}, "printer": {}})"), "w.json: duplicate key 'printer'");
  EXPECT_EQ(error_of(minimal(R"({"name": "a", "name": "b", "mesh": "cube", "material": "White"})")),
            "w.json: shapes[0]: duplicate key 'name'");
  EXPECT_EQ(
      error_of("{\"printer\": }"),
      "w.json: invalid JSON: parse error at line 1, column 13: syntax error while parsing value - unexpected '}'; "
      "expected '[', '{', or a literal");
  EXPECT_EQ(error_of("[1]"), "w.json: a fab world must be a JSON object, got an array");
  EXPECT_EQ(error_of(minimal("")), "w.json: shapes: the world has no shapes");
  EXPECT_EQ(
      error_of(minimal(
          R"({"name": "a", "mesh": "cube", "material": "White"}, {"name": "a", "mesh": "cube", "material": "White"})")),
      "w.json: shapes[1].name: duplicate shape name 'a' (also shapes[0])");
}

TEST_F(WorldTest, TypeAndRangeErrors) {
  const std::string shape = R"({"name": "a", "mesh": "cube", "material": "White"})";
  EXPECT_EQ(error_of(minimal(shape, R"(, "x_dpi": "600")")),
            "w.json: printer.x_dpi: expected a number, got the string \"600\"");
  EXPECT_EQ(error_of(minimal(shape, R"(, "x_dpi": 0)")), "w.json: printer.x_dpi: must be in [1, 100000], got 0");
  EXPECT_EQ(error_of(minimal(shape, R"(, "y_dpi": 300.5)")), "w.json: printer.y_dpi: expected an integer, got 300.5");
  EXPECT_EQ(error_of(minimal(shape, R"(, "layer_um": -27)")), "w.json: printer.layer_um: must be positive, got -27");
  EXPECT_EQ(error_of(minimal(shape, R"(, "build_volume_mm": [490, 390])")),
            "w.json: printer.build_volume_mm: expected an array of 3 numbers, got an array of 2");
  EXPECT_EQ(error_of(minimal(shape, R"(, "build_volume_mm": [490, 0, 200])")),
            "w.json: printer.build_volume_mm[1]: must be positive, got 0");
  EXPECT_EQ(error_of(minimal(shape, "", R"(, "memory_budget_mb": 8)")),
            "w.json: memory_budget_mb: must be in [16, 16777216], got 8");
  EXPECT_EQ(error_of(minimal(shape, "", R"(, "threads": 0)")), "w.json: threads: must be in [1, 1024], got 0");
  EXPECT_EQ(error_of(minimal(R"({"name": "a", "mesh": "cube", "material": "White", "priority": true})")),
            "w.json: shapes[0].priority: expected a number, got true");
  EXPECT_EQ(error_of(minimal(R"({"name": "a", "mesh": 3, "material": "White"})")),
            "w.json: shapes[0].mesh: expected a string, got 3");
  EXPECT_EQ(
      error_of(minimal(R"({"name": "a", "mesh": "cube", "material": "White", "transform": {"rotate": [0, 90]}})")),
      "w.json: shapes[0].transform.rotate: expected an array of 3 numbers, got an array of 2");
  EXPECT_EQ(error_of(minimal(R"({"name": "a", "mesh": "cube", "material": "White", "transform": {"scale": 0}})")),
            "w.json: shapes[0].transform: the transform is singular (it flattens the mesh)");
  EXPECT_EQ(error_of(minimal(R"({"name": "a", "mesh": "cube", "material": "White",
                                 "transform": {"matrix": [1,0,0,0, 0,1,0,0, 0,0,1,0, 1,0,0,1]}})")),
            "w.json: shapes[0].transform.matrix: the last row must be [0, 0, 0, 1] (affine transforms only)");
  EXPECT_EQ(error_of(minimal(R"({"name": "a", "mesh": "cube", "material": "White",
                                 "transform": {"matrix": [1,0,0,0, 0,1,0,0, 0,0,1,0, 0,0,0,1], "scale": 2}})")),
            "w.json: shapes[0].transform: 'matrix' cannot be combined with translate, rotate or scale");
  EXPECT_EQ(error_of(minimal(R"({"name": "a", "mesh": "cube", "material": "White", "displacement_bound_mm": -1})")),
            "w.json: shapes[0].displacement_bound_mm: must not be negative, got -1");
  EXPECT_EQ(error_of(minimal(shape, "", R"(, "output": {"raw": "../escape.raw"})")),
            "w.json: output.raw: must be a name inside the output directory, got '../escape.raw'");
  EXPECT_EQ(error_of(minimal(shape, "", R"(, "output": {"png": false})")),
            "w.json: output: every backend is off; enable at least one of png, grabcad, meshes, raw");
}

TEST_F(WorldTest, MaterialTableErrors) {
  std::string many;
  for (int i = 0; i < 65; ++i)
    many += std::string(i ? "," : "") + R"({"name": "m)" + std::to_string(i) + R"(", "rgba": "#000000"})";
  EXPECT_EQ(error_of(R"({"printer": {"materials": [)" + many + R"(]}, "meshes": {}, "shapes": []})"),
            "w.json: printer.materials: 65 materials, at most 64 are allowed");
  many = many.substr(0, many.rfind(",{"));  // 64 is fine
  EXPECT_EQ(
      error_of(
          R"({"printer": {"materials": [)" + many +
          R"(]}, "meshes": {"c": {"primitive": "box", "size": 1}},
              "shapes": [{"name": "a", "mesh": "c", "material": "m63"}]})"),
      "");
  EXPECT_EQ(error_of(R"({"printer": {"materials": []}})"),
            "w.json: printer.materials: the printer needs at least one material");
  EXPECT_EQ(error_of(R"({"printer": {"materials": [{"name": "A", "rgba": "#fff"}]}})"),
            "w.json: printer.materials[0].rgba: expected \"#rrggbb\" or \"#rrggbbaa\", got \"#fff\"");
  EXPECT_EQ(error_of(R"({"printer": {"materials": [{"name": "A", "rgba": [1, 2, 300]}]}})"),
            "w.json: printer.materials[0].rgba[2]: must be in [0, 255], got 300");
  EXPECT_EQ(
      error_of(R"({"printer": {"materials": [{"name": "A", "rgba": "#ffffff"}, {"name": "A", "rgba": "#ffffff"}]}})"),
      "w.json: printer.materials[1].name: duplicate material name 'A' (also printer.materials[0])");
  EXPECT_EQ(
      error_of(
          R"({"printer": {"materials": [{"name": "A", "id": 5, "rgba": "#ffffff"},
                                       {"name": "B", "id": 5, "rgba": "#ffffff"}]}})"),
      "w.json: printer.materials[1].id: duplicate material id 5 (also printer.materials[0])");
  EXPECT_EQ(error_of(R"({"printer": {"materials": [{"rgba": "#ffffff"}]}})"),
            "w.json: printer.materials[0]: missing key 'name'");
  EXPECT_EQ(error_of(minimal(R"({"name": "a", "mesh": "cube", "material": "White"})", R"(, "support": "SUP")")),
            "w.json: printer.support: no material named 'SUP' (materials: White, Black)");
}

TEST_F(WorldTest, UnknownReferencesAndMissingFiles) {
  EXPECT_EQ(error_of(minimal(R"({"name": "a", "mesh": "bunny", "material": "White"})")),
            "w.json: shapes[0].mesh: no mesh named 'bunny' (meshes: cube)");
  EXPECT_EQ(error_of(minimal(R"({"name": "a", "mesh": "cube", "material": "Red"})")),
            "w.json: shapes[0].material: no printer material named 'Red' (materials: White, Black)");
  EXPECT_EQ(error_of(minimal(R"({"name": "a", "mesh": "cube", "fablet": "solid.fl", "uniforms": {"m": "Red"}})")),
            "w.json: shapes[0].uniforms.m: 'Red' is neither a printer material (White, Black) nor a texture (none)");
  EXPECT_EQ(error_of(minimal(R"({"name": "a", "mesh": "cube", "fablet": "nothere.fl"})")),
            "w.json: shapes[0].fablet: no such file: " + (dir_ / "nothere.fl").string());
  EXPECT_EQ(error_of(R"({"printer": {"materials": [{"name": "W", "rgba": "#ffffff"}]},
                        "meshes": {"bunny": {"file": "bunny.stl"}}, "shapes": []})"),
            "w.json: meshes.bunny.file: no such file: " + (dir_ / "bunny.stl").string());
  EXPECT_EQ(error_of(R"({"printer": {"materials": [{"name": "W", "rgba": "#ffffff"}]},
                        "textures": {"t": {"path": "sub/../missing.png"}}})"),
            "w.json: textures.t.path: no such file: " + (dir_ / "missing.png").string());
  EXPECT_EQ(error_of(R"({"printer": {"materials": [{"name": "W", "rgba": "#ffffff"}]},
                        "textures": {"t": {"path": "default.png", "wrap": "tile"}}})"),
            "w.json: textures.t.wrap: expected \"repeat\", \"clamp\" or \"mirror\", got \"tile\"");
  EXPECT_EQ(error_of(R"({"printer": {"materials": [{"name": "W", "rgba": "#ffffff"}]},
                        "meshes": {"b": {"file": "zebra.fl"}}})"),
            "w.json: meshes.b.file: unknown mesh format '.fl' (expected .stl, .obj or .3mf)");
  EXPECT_EQ(error_of(R"({"printer": {"materials": [{"name": "W", "rgba": "#ffffff"}]},
                        "meshes": {"b": {"primitive": "sphere", "radius": 5, "size": 3}}})"),
            "w.json: meshes.b.size: unknown key 'size' (expected one of: primitive, max_deviation_mm, max_triangles, "
            "uv, radius)");
  EXPECT_EQ(error_of(R"({"printer": {"materials": [{"name": "W", "rgba": "#ffffff"}]},
                        "meshes": {"b": {"primitive": "cone", "radius": 5}}})"),
            "w.json: meshes.b.primitive: unknown primitive 'cone' (expected box, sphere, cylinder or torus)");
  EXPECT_EQ(error_of(R"({"printer": {"materials": [{"name": "W", "rgba": "#ffffff"}]},
                        "meshes": {"b": {"primitive": "torus", "major_radius": 2, "minor_radius": 2}}})"),
            "w.json: meshes.b.minor_radius: must be smaller than major_radius (2), got 2");
  EXPECT_EQ(error_of(R"({"printer": {"materials": [{"name": "W", "rgba": "#ffffff"}]},
                        "meshes": {"b": {"primitive": "cylinder", "radius": 5}}})"),
            "w.json: meshes.b: missing key 'height'");
  EXPECT_EQ(error_of(R"({"printer": {"materials": [{"name": "W", "rgba": "#ffffff"}]}, "meshes": {"b": {}}})"),
            "w.json: meshes.b: missing key 'file' or 'primitive'");
}

TEST_F(WorldTest, LoadErrorsNameTheMeshAndFile) {
  test::write_bytes(dir_ / "broken.stl", "solid x\n  facet normal 0 0 1\n");
  const World w = parse(R"({"printer": {"materials": [{"name": "W", "rgba": "#ffffff"}]},
                             "meshes": {"broken": {"file": "broken.stl"}},
                             "shapes": [{"name": "a", "mesh": "broken", "material": "W"}]})");
  try {
    load_meshes(w);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_TRUE(test::contains(e.what(), "w.json: meshes.broken: ")) << e.what();
    EXPECT_TRUE(test::contains(e.what(), "broken.stl")) << e.what();
  }
  try {
    load_world(dir_ / "absent.json");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), (dir_ / "absent.json").string() + ": cannot open the fab world file");
  }
}

TEST_F(WorldTest, FabletCompileErrorsCarryTheDiagnostics) {
  test::write_bytes(dir_ / "bad.fl", "fablet Bad {\n  volume(vec3 P) -> mixture {\n    return nope;\n  }\n}\n");
  const std::string msg = fablet_error_of(minimal(R"({"name": "a", "mesh": "cube", "fablet": "bad.fl"})"));
  const std::string file = (dir_ / "bad.fl").string();
  EXPECT_TRUE(test::contains(msg, "w.json: shapes[0].fablet: cannot compile " + file + " (shape 'a'):\n")) << msg;
  EXPECT_TRUE(test::contains(msg, file + ":3:12: error: ")) << msg;
  EXPECT_TRUE(test::contains(msg, "\n        return nope;\n")) << msg;
  EXPECT_TRUE(test::contains(msg, "\n               ^")) << msg;
  EXPECT_TRUE(test::contains(msg, "1 error generated.")) << msg;
}

TEST_F(WorldTest, UniformErrorsAreChecked) {
  const auto zebra = [](const std::string& uniforms) {
    return minimal(R"({"name": "z", "mesh": "cube", "fablet": "zebra.fl", "uniforms": {)" + uniforms + "}}");
  };
  // The fablet's defaults name VeroBlack / VeroWhite, which this printer lacks.
  EXPECT_EQ(fablet_error_of(zebra(R"("white": "White")")),
            "w.json: shapes[0]: fablet 'Zebra' (" + (dir_ / "zebra.fl").string() +
                "): material uniform 'black' defaults to 'VeroBlack', which the printer does not have (materials: "
                "White, Black); set it in shapes[0].uniforms.black");
  const std::string ok = R"("black": "Black", "white": "White")";
  EXPECT_EQ(fablet_error_of(zebra(ok)), "");
  EXPECT_EQ(fablet_error_of(zebra(ok + R"(, "spkie": 1)")),
            "w.json: shapes[0].uniforms.spkie: fablet 'Zebra' has no uniform 'spkie' (its uniforms: black, white, "
            "spike, tint, striped, count, pattern)");
  EXPECT_EQ(fablet_error_of(zebra(ok + R"(, "spike": "Black")")),
            "w.json: shapes[0].uniforms.spike: uniform 'spike' has type float; expected a value of that type, got the "
            "name 'Black'");
  EXPECT_EQ(fablet_error_of(zebra(ok + R"(, "tint": [1, 2])")),
            "w.json: shapes[0].uniforms.tint: cannot set uniform 'tint' (vec3) to '1,2': expected 3 comma-separated "
            "numbers, got 2");
  EXPECT_EQ(fablet_error_of(zebra(ok + R"(, "count": 2.5)")),
            "w.json: shapes[0].uniforms.count: cannot set uniform 'count' (int) to '2.5': expected an integer");
  EXPECT_EQ(
      fablet_error_of(zebra(R"("black": 1, "white": "White")")),
      "w.json: shapes[0].uniforms.black: uniform 'black' has type material; expected a printer material name, got 1");
  EXPECT_EQ(fablet_error_of(zebra(ok + R"(, "pattern": "White")")),
            "w.json: shapes[0].uniforms.pattern: no texture named 'White' (textures: none)");
  // A material uniform given a texture name, in a world that has one.
  EXPECT_EQ(fablet_error_of(R"({"printer": {"materials": [{"name": "W", "rgba": "#ffffff"}]},
      "textures": {"t": {"path": "default.png"}}, "meshes": {"c": {"primitive": "box", "size": 1}},
      "shapes": [{"name": "s", "mesh": "c", "fablet": "solid.fl", "uniforms": {"m": "t"}}]})"),
            "w.json: shapes[0].uniforms.m: no printer material named 't' (materials: W)");
  // A material uniform without default and without override.
  EXPECT_EQ(fablet_error_of(minimal(R"({"name": "s", "mesh": "cube", "fablet": "solid.fl"})")),
            "w.json: shapes[0]: fablet 'Solid' (" + (dir_ / "solid.fl").string() +
                "): uniform 'm' has no default; set it in shapes[0].uniforms.m");
}

}  // namespace
}  // namespace fabforge::voxel
