#include "fabforge/core/threemf.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zip.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "fabforge/core/error.hpp"

#include "support/test_support.hpp"

namespace fabforge {
namespace {

namespace fs = std::filesystem;
using test::make_box;
using test::make_tetrahedron;
using test::read_bytes;
using test::TempDir;
using test::write_bytes;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using namespace std::string_literals;
using ZipEntries = std::vector<std::pair<std::string, std::string>>;

// --- zip helpers, independent of the code under test ---------------------------------------

void write_zip(const fs::path& path, const ZipEntries& entries) {
  int code = 0;
  zip_t* zip = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code);
  ASSERT_NE(zip, nullptr);
  for (const auto& [name, bytes] : entries) {
    zip_source_t* source = zip_source_buffer(zip, bytes.data(), bytes.size(), 0);
    ASSERT_NE(source, nullptr);
    ASSERT_GE(zip_file_add(zip, name.c_str(), source, ZIP_FL_ENC_UTF_8), 0) << name;
  }
  ASSERT_EQ(zip_close(zip), 0);
}

ZipEntries read_zip(const fs::path& path) {
  int code = 0;
  zip_t* zip = zip_open(path.c_str(), ZIP_RDONLY, &code);
  EXPECT_NE(zip, nullptr);
  ZipEntries entries;
  if (!zip) return entries;
  for (zip_int64_t i = 0; i < zip_get_num_entries(zip, 0); ++i) {
    zip_stat_t st;
    zip_stat_index(zip, static_cast<zip_uint64_t>(i), 0, &st);
    std::string bytes(st.size, '\0');
    zip_file_t* f = zip_fopen_index(zip, static_cast<zip_uint64_t>(i), 0);
    EXPECT_EQ(zip_fread(f, bytes.data(), st.size), static_cast<zip_int64_t>(st.size));
    zip_fclose(f);
    entries.emplace_back(st.name, std::move(bytes));
  }
  zip_discard(zip);
  return entries;
}

const std::string kContentTypes =
    R"(<?xml version="1.0" encoding="UTF-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
 <Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
 <Default Extension="model" ContentType="application/vnd.ms-package.3dmanufacturing-3dmodel+xml"/>
</Types>)";

std::string rels_to(const std::string& target) {
  return R"(<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
 <Relationship Target=")" +
         target + R"(" Id="rel0" Type="http://schemas.microsoft.com/3dmanufacturing/2013/01/3dmodel"/>
</Relationships>)";
}

/// A model document around `body` (resources and build).
std::string model_doc(const std::string& body, const std::string& unit = "millimeter") {
  return R"(<?xml version="1.0" encoding="UTF-8"?>
<model unit=")" +
         unit + R"(" xml:lang="en-US" xmlns="http://schemas.microsoft.com/3dmanufacturing/core/2015/02">)" + body +
         "</model>";
}

/// Mesh XML of a mesh, written independently of the code under test.
std::string mesh_xml(const Mesh& mesh) {
  std::string s = "<mesh><vertices>";
  for (const Vec3f& v : mesh.vertices) {
    s += "<vertex x=\"" + std::to_string(v.x) + "\" y=\"" + std::to_string(v.y) + "\" z=\"" + std::to_string(v.z) +
         "\"/>";
  }
  s += "</vertices><triangles>";
  for (const Triangle& t : mesh.triangles) {
    s += "<triangle v1=\"" + std::to_string(t[0]) + "\" v2=\"" + std::to_string(t[1]) + "\" v3=\"" +
         std::to_string(t[2]) + "\"/>";
  }
  return s + "</triangles></mesh>";
}

std::string box_object(int id, const std::string& extra_attributes = "") {
  return "<object id=\"" + std::to_string(id) + "\" type=\"model\" " + extra_attributes + ">" +
         mesh_xml(make_box({0, 0, 0}, {10, 10, 10})) + "</object>";
}

void write_package(const fs::path& path, const std::string& model) {
  write_zip(path, {{"[Content_Types].xml", kContentTypes},
                   {"_rels/.rels", rels_to("/3D/3dmodel.model")},
                   {"3D/3dmodel.model", model}});
}

/// The message of the fabforge::Error (input) that read_3mf throws.
std::string read_error(const fs::path& path) {
  try {
    read_3mf(path);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::input) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "read_3mf(" << path << ") did not throw";
  return "";
}

/// The message of the fabforge::Error (usage) that write_3mf throws; the destination and any
/// temporary file must not exist afterwards.
std::string write_error(const TempDir& dir, const ThreeMFModel& model) {
  const fs::path path = dir / "out.3mf";
  std::string message;
  try {
    write_3mf(path, model);
    ADD_FAILURE() << "write_3mf did not throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage) << e.what();
    message = e.what();
  }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(dir.entries().empty()) << "stray file " << dir.entries().front();
  return message;
}

ThreeMFModel sample_model() {
  ThreeMFModel model;
  model.objects.push_back({"Base & <frame>", make_box({0, 0, 0}, {20, 10, 2.5f}), color::Rgb8{255, 128, 0}});
  model.objects.push_back({"tetra \"T\"", make_tetrahedron(), color::Rgb8{0, 16, 255}});
  model.objects.push_back({"plain", make_box({-1.1f, 2.2f, 3.3f}, {0.3f, 7.7f, 9.9f}), std::nullopt});
  model.metadata = {{"Title", "Relief <1>"}, {"Designer", "fabforge & co"}, {"Description", "two\nlines"}};
  model.extra_files.push_back({"Metadata/Prusa_Slicer_custom_gcode_per_print_z.xml",
                               "<?xml version=\"1.0\"?>\n<custom_gcodes_per_print_z>\n"
                               "<code print_z=\"1.2\" type=\"0\" extruder=\"1\" color=\"#FF0000\"/>\n"
                               "</custom_gcodes_per_print_z>\n",
                               ""});
  model.extra_files.push_back({"Metadata/thumbnail.png", "\x89PNG\r\n\x1a\n\0\0binary"s, ""});
  model.extra_files.push_back({"Metadata/notes", "no extension", "text/plain"});
  return model;
}

// --- round trip --------------------------------------------------------------------------------

TEST(ThreeMF, RoundTripKeepsNamesColoursMeshesMetadataAndExtraFiles) {
  TempDir dir;
  const ThreeMFModel in = sample_model();
  write_3mf(dir / "m.3mf", in);
  const ThreeMFModel out = read_3mf(dir / "m.3mf");

  ASSERT_EQ(out.objects.size(), in.objects.size());
  for (std::size_t i = 0; i < in.objects.size(); ++i) {
    SCOPED_TRACE(in.objects[i].name);
    EXPECT_EQ(out.objects[i].name, in.objects[i].name);
    EXPECT_EQ(out.objects[i].color, in.objects[i].color);
    EXPECT_EQ(out.objects[i].mesh.vertices, in.objects[i].mesh.vertices);  // bit-exact floats
    EXPECT_EQ(out.objects[i].mesh.triangles, in.objects[i].mesh.triangles);
    const MeshReport report = analyze_mesh(out.objects[i].mesh);
    EXPECT_TRUE(report.watertight());
    EXPECT_DOUBLE_EQ(report.volume, analyze_mesh(in.objects[i].mesh).volume);
  }
  EXPECT_NEAR(analyze_mesh(out.objects[0].mesh).volume, 20 * 10 * 2.5, 1e-9);
  EXPECT_NEAR(analyze_mesh(out.objects[1].mesh).volume, 1000.0 / 6.0, 1e-9);
  EXPECT_EQ(out.metadata, in.metadata);
  ASSERT_EQ(out.extra_files.size(), in.extra_files.size());
  for (std::size_t i = 0; i < in.extra_files.size(); ++i) {
    EXPECT_EQ(out.extra_files[i].path, in.extra_files[i].path);
    EXPECT_EQ(out.extra_files[i].content, in.extra_files[i].content);  // byte-identical
    EXPECT_TRUE(out.extra_files[i].content_type.empty());
  }
}

TEST(ThreeMF, ObjectWithoutNameIsNamedAfterItsId) {
  TempDir dir;
  ThreeMFModel in;
  in.objects.push_back({"", make_tetrahedron(), color::Rgb8{1, 2, 3}});
  write_3mf(dir / "m.3mf", in);
  const ThreeMFModel out = read_3mf(dir / "m.3mf");
  ASSERT_EQ(out.objects.size(), 1u);
  EXPECT_THAT(out.objects[0].name, ::testing::StartsWith("object "));
  EXPECT_EQ(out.objects[0].color, (color::Rgb8{1, 2, 3}));
}

TEST(ThreeMF, CoordinatesRoundTripBitExactly) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> coord(-1000.0f, 1000.0f);
  Mesh mesh;
  for (int i = 0; i < 3000; ++i) mesh.vertices.push_back({coord(rng), coord(rng) * 1e-6f, coord(rng) * 1e6f});
  mesh.vertices.push_back({-0.0f, 1e-38f, 3.4e38f});
  mesh.vertices.push_back({0.1f, 1.0f / 3.0f, -123456.789f});
  for (std::uint32_t i = 0; i + 2 < mesh.vertices.size(); i += 3) mesh.triangles.push_back({i, i + 1, i + 2});
  TempDir dir;
  write_3mf(dir / "m.3mf", ThreeMFModel{{{"cloud", mesh, std::nullopt}}, {}, {}});
  const ThreeMFModel out = read_3mf(dir / "m.3mf");
  ASSERT_EQ(out.objects.size(), 1u);
  const auto& v = out.objects[0].mesh.vertices;
  ASSERT_EQ(v.size(), mesh.vertices.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    ASSERT_EQ(std::memcmp(&v[i], &mesh.vertices[i], sizeof(Vec3f)), 0) << "vertex " << i;
  }
}

TEST(ThreeMF, LargeGridRoundTripsWithSameTrianglesAndVolume) {
  // 130 x 130 boxes of different heights: 202,800 triangles.
  Mesh grid;
  grid.vertices.reserve(130 * 130 * 8);
  grid.triangles.reserve(130 * 130 * 12);
  for (int y = 0; y < 130; ++y) {
    for (int x = 0; x < 130; ++x) {
      const float h = 0.5f + static_cast<float>((x * 7 + y * 13) % 10) * 0.25f;
      append_mesh(grid, make_box({x * 0.5f, y * 0.5f, 0}, {x * 0.5f + 0.4f, y * 0.5f + 0.4f, h}));
    }
  }
  ASSERT_GE(grid.triangle_count(), 200000u);
  TempDir dir;
  write_3mf(dir / "grid.3mf", ThreeMFModel{{{"relief", grid, color::Rgb8{10, 20, 30}}}, {}, {}});
  const ThreeMFModel out = read_3mf(dir / "grid.3mf");
  ASSERT_EQ(out.objects.size(), 1u);
  EXPECT_EQ(out.objects[0].mesh.triangle_count(), grid.triangle_count());
  EXPECT_EQ(out.objects[0].mesh.vertices, grid.vertices);
  EXPECT_DOUBLE_EQ(analyze_mesh(out.objects[0].mesh).volume, analyze_mesh(grid).volume);
  EXPECT_LT(fs::file_size(dir / "grid.3mf"), 8u << 20) << "the model part should be deflated";
}

TEST(ThreeMF, MergeObjectsAppendsAllMeshes) {
  const ThreeMFModel model = sample_model();
  const Mesh merged = merge_objects(model);
  std::size_t triangles = 0;
  double volume = 0;
  for (const auto& o : model.objects) {
    triangles += o.mesh.triangle_count();
    volume += analyze_mesh(o.mesh).volume;
  }
  EXPECT_EQ(merged.triangle_count(), triangles);
  EXPECT_NEAR(analyze_mesh(merged).volume, volume, 1e-9);
  EXPECT_TRUE(merge_objects(ThreeMFModel{}).empty());
}

// --- the package written -----------------------------------------------------------------------

// Borrowed meshes, streamed (a limit of 0 streams any model): the model part is the same text
// as written in one piece, in the same place, and reads back to the same meshes; writing is
// deterministic.
TEST(ThreeMF, StreamedModelFromBorrowedMeshesMatchesTheInMemoryOne) {
  Mesh grid;
  for (int y = 0; y < 40; ++y) {
    for (int x = 0; x < 40; ++x) append_mesh(grid, make_box({x * 0.5f, y * 0.5f, 0}, {x * 0.5f + 0.4f, y * 0.5f + 0.4f, 1}));
  }
  const Mesh tetra = make_tetrahedron();
  const MeshRef grid_ref(grid), tetra_ref(tetra);
  const std::vector<ThreeMFObjectRef> refs{{"grid", &grid_ref, color::Rgb8{10, 20, 30}},
                                           {"tetra", &tetra_ref, std::nullopt}};
  TempDir dir;
  write_3mf(dir / "streamed.3mf", refs, {{"Application", "fabforge"}}, 0);
  write_3mf(dir / "again.3mf", refs, {{"Application", "fabforge"}}, 0);
  write_3mf(dir / "memory.3mf", refs, {{"Application", "fabforge"}});
  EXPECT_EQ(read_bytes(dir / "streamed.3mf"), read_bytes(dir / "again.3mf"));
  const ZipEntries streamed = read_zip(dir / "streamed.3mf"), memory = read_zip(dir / "memory.3mf");
  ASSERT_EQ(streamed.size(), 3u);
  ASSERT_EQ(memory.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(streamed[i].first, memory[i].first);
    EXPECT_EQ(streamed[i].second, memory[i].second) << streamed[i].first;
  }
  EXPECT_GT(streamed[2].second.size(), 100000u);  // many pieces of the generator
  const ThreeMFModel out = read_3mf(dir / "streamed.3mf");
  ASSERT_EQ(out.objects.size(), 2u);
  EXPECT_EQ(out.objects[0].name, "grid");
  EXPECT_EQ(out.objects[0].mesh.vertices, grid.vertices);
  EXPECT_EQ(out.objects[0].mesh.triangles, grid.triangles);
  EXPECT_EQ(out.objects[1].mesh.triangles, tetra.triangles);
  EXPECT_EQ(out.metadata.at("Application"), "fabforge");
  EXPECT_THROW(write_3mf(dir / "null.3mf", {{"none", nullptr, std::nullopt}}), Error);
  EXPECT_FALSE(fs::exists(dir / "null.3mf"));
}

TEST(ThreeMF, WrittenPackageHasCoreSpecParts) {
  TempDir dir;
  write_3mf(dir / "m.3mf", sample_model());
  const ZipEntries entries = read_zip(dir / "m.3mf");
  std::vector<std::string> names;
  for (const auto& e : entries) names.push_back(e.first);
  EXPECT_THAT(names, ElementsAre("[Content_Types].xml", "_rels/.rels", "3D/3dmodel.model",
                                 "Metadata/Prusa_Slicer_custom_gcode_per_print_z.xml", "Metadata/thumbnail.png",
                                 "Metadata/notes"));
  const std::string& types = entries[0].second;
  EXPECT_THAT(
      types,
      HasSubstr(
          R"(<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>)"));
  EXPECT_THAT(
      types,
      HasSubstr(
          R"(<Default Extension="model" ContentType="application/vnd.ms-package.3dmanufacturing-3dmodel+xml"/>)"));
  EXPECT_THAT(types, HasSubstr(R"(<Default Extension="png" ContentType="image/png"/>)"));
  EXPECT_THAT(types, HasSubstr(R"(<Default Extension="xml" ContentType="application/xml"/>)"));
  EXPECT_THAT(types, HasSubstr(R"(<Override PartName="/Metadata/notes" ContentType="text/plain"/>)"));
  EXPECT_THAT(entries[1].second, HasSubstr(R"(Target="/3D/3dmodel.model")"));
  EXPECT_THAT(entries[1].second, HasSubstr(R"(Type="http://schemas.microsoft.com/3dmanufacturing/2013/01/3dmodel")"));
  const std::string& model = entries[2].second;
  EXPECT_THAT(model, HasSubstr(R"(unit="millimeter")"));
  EXPECT_THAT(model, HasSubstr(R"(xml:lang="en-US")"));
  EXPECT_THAT(model, HasSubstr(R"(xmlns="http://schemas.microsoft.com/3dmanufacturing/core/2015/02")"));
  EXPECT_THAT(model, HasSubstr(R"(<metadata name="Title">Relief &lt;1&gt;</metadata>)"));
  EXPECT_THAT(model, HasSubstr(R"(<base name="Base &amp; &lt;frame&gt;" displaycolor="#FF8000FF"/>)"));
  EXPECT_THAT(model, HasSubstr(R"(<base name="tetra &quot;T&quot;" displaycolor="#0010FFFF"/>)"));
  EXPECT_THAT(model, HasSubstr(R"(type="model" name="plain">)"));  // no pid: no colour
  EXPECT_THAT(model, HasSubstr("<vertex x=\"-1.1\" y=\"2.2\" z=\"3.3\"/>"));
  EXPECT_THAT(model, HasSubstr("<triangle v1=\"0\" v2=\"2\" v3=\"1\"/>"));
  EXPECT_EQ(std::count(model.begin(), model.end() - 1, '\0'), 0);
  std::size_t items = 0;
  for (std::size_t at = model.find("<item objectid="); at != std::string::npos;
       at = model.find("<item objectid=", at + 1))
    ++items;
  EXPECT_EQ(items, 3u);
}

TEST(ThreeMF, WritingTwiceGivesIdenticalBytes) {
  TempDir dir;
  write_3mf(dir / "a.3mf", sample_model());
  write_3mf(dir / "b.3mf", sample_model());
  EXPECT_EQ(read_bytes(dir / "a.3mf"), read_bytes(dir / "b.3mf"));
  EXPECT_THAT(dir.entries(), ElementsAre("a.3mf", "b.3mf"));
}

TEST(ThreeMF, PrefixedMetadataDeclaresItsNamespace) {
  TempDir dir;
  ThreeMFModel model{{{"t", make_tetrahedron(), std::nullopt}}, {}, {{"slic3rpe:Version3mf", "1"}}};
  write_3mf(dir / "m.3mf", model);
  EXPECT_THAT(read_zip(dir / "m.3mf")[2].second,
              HasSubstr(R"(xmlns:slic3rpe="http://schemas.slic3r.org/3mf/2017/06")"));
  EXPECT_EQ(read_3mf(dir / "m.3mf").metadata, model.metadata);
}

// --- write errors leave nothing behind -------------------------------------------------------

TEST(ThreeMF, WriteRejectsBadModelsAndLeavesNoFile) {
  TempDir dir;
  EXPECT_THAT(write_error(dir, ThreeMFModel{}), HasSubstr("no objects"));

  ThreeMFModel no_triangles{{{"empty one", Mesh{{{0, 0, 0}}, {}}, std::nullopt}}, {}, {}};
  EXPECT_THAT(write_error(dir, no_triangles), HasSubstr("'empty one' has no triangles"));

  ThreeMFModel bad_index{{{"t", make_tetrahedron(), std::nullopt}}, {}, {}};
  bad_index.objects[0].mesh.triangles[2][1] = 4;
  EXPECT_THAT(write_error(dir, bad_index),
              HasSubstr("object 1 't': triangle 2 refers to vertex 4 but there are only 4 vertices"));

  ThreeMFModel nan{{{"t", make_tetrahedron(), std::nullopt}}, {}, {}};
  nan.objects[0].mesh.vertices[3].y = std::nanf("");
  EXPECT_THAT(write_error(dir, nan), HasSubstr("object 1 't': vertex 3 has a NaN or infinite coordinate"));

  ThreeMFModel control{{{"bell\a", make_tetrahedron(), std::nullopt}}, {}, {}};
  EXPECT_THAT(write_error(dir, control), HasSubstr("control character"));
}

TEST(ThreeMF, WriteRejectsReservedAndDuplicateExtraFiles) {
  TempDir dir;
  for (const char* reserved : {"[Content_Types].xml", "_rels/.rels", "3D/3dmodel.model", "3d/3DModel.model"}) {
    ThreeMFModel model{{{"t", make_tetrahedron(), std::nullopt}}, {{reserved, "x", ""}}, {}};
    EXPECT_THAT(write_error(dir, model), HasSubstr("is reserved")) << reserved;
  }
  ThreeMFModel duplicate{
      {{"t", make_tetrahedron(), std::nullopt}}, {{"Metadata/a.xml", "1", ""}, {"Metadata/a.xml", "2", ""}}, {}};
  EXPECT_THAT(write_error(dir, duplicate), HasSubstr("'Metadata/a.xml' appears twice"));
  for (const char* bad : {"", "/Metadata/a.xml", "Metadata/", "../a.xml", "Metadata\\a.xml"}) {
    ThreeMFModel model{{{"t", make_tetrahedron(), std::nullopt}}, {{bad, "x", ""}}, {}};
    EXPECT_FALSE(write_error(dir, model).empty()) << bad;
  }
}

TEST(ThreeMF, FailedWriteKeepsThePreviousFile) {
  TempDir dir;
  write_3mf(dir / "out.3mf", sample_model());
  const std::string before = read_bytes(dir / "out.3mf");
  EXPECT_THROW(write_3mf(dir / "out.3mf", ThreeMFModel{}), Error);
  EXPECT_EQ(read_bytes(dir / "out.3mf"), before);
  EXPECT_THAT(dir.entries(), ElementsAre("out.3mf"));
}

TEST(ThreeMF, WriteIntoMissingDirectoryIsARuntimeError) {
  TempDir dir;
  try {
    write_3mf(dir / "no/such/dir/out.3mf", sample_model());
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::runtime);
  }
  EXPECT_TRUE(dir.entries().empty());
}

// --- reading hand-written packages ----------------------------------------------------------

TEST(ThreeMF, BuildTransformsAndComponentsArePlaced) {
  // Object 1: a 10 mm box. Object 2: two copies of it, one shifted by 20 in x, one scaled by 2
  // and shifted by 100 in y. The build places object 2 shifted by (1000, 0, 0) and object 1
  // rotated 90 degrees about z (x' = -y, y' = x).
  const std::string body = "<resources>" + box_object(1, R"(name="cube")") +
                           R"(<object id="2" type="model" name="pair"><components>
           <component objectid="1" transform="1 0 0 0 1 0 0 0 1 20 0 0"/>
           <component objectid="1" transform="2 0 0 0 2 0 0 0 2 0 100 0"/>
         </components></object></resources>
       <build><item objectid="2" transform="1 0 0 0 1 0 0 0 1 1000 0 0"/>
              <item objectid="1" transform="0 1 0 -1 0 0 0 0 1 0 0 0"/></build>)";
  TempDir dir;
  write_package(dir / "c.3mf", model_doc(body));
  const ThreeMFModel model = read_3mf(dir / "c.3mf");
  ASSERT_EQ(model.objects.size(), 2u);

  EXPECT_EQ(model.objects[0].name, "pair");
  const MeshReport pair = analyze_mesh(model.objects[0].mesh);
  EXPECT_EQ(pair.triangles, 24u);
  EXPECT_NEAR(pair.volume, 1000.0 + 8000.0, 1e-6);
  EXPECT_EQ(pair.bounds.min, (Vec3d{1000, 0, 0}));
  EXPECT_EQ(pair.bounds.max, (Vec3d{1030, 120, 20}));

  EXPECT_EQ(model.objects[1].name, "cube");
  const MeshReport cube = analyze_mesh(model.objects[1].mesh);
  EXPECT_TRUE(cube.watertight());
  EXPECT_EQ(cube.bounds.min, (Vec3d{-10, 0, 0}));
  EXPECT_EQ(cube.bounds.max, (Vec3d{0, 10, 10}));
}

TEST(ThreeMF, ObjectRepeatedByManyComponents) {
  std::string components;
  for (int i = 0; i < 2000; ++i) {
    components += R"(<component objectid="1" transform="1 0 0 0 1 0 0 0 1 )" + std::to_string(20 * i) + R"( 0 0"/>)";
  }
  const std::string body = "<resources>" + box_object(1) + R"(<object id="2" type="model"><components>)" + components +
                           R"(</components></object></resources><build><item objectid="2"/></build>)";
  TempDir dir;
  write_package(dir / "many.3mf", model_doc(body));
  const MeshReport r = analyze_mesh(read_3mf(dir / "many.3mf").objects.at(0).mesh);
  EXPECT_EQ(r.triangles, 2000u * 12u);
  EXPECT_NEAR(r.volume, 2000 * 1000.0, 1e-6);
  EXPECT_EQ(r.bounds.max.x, 20 * 1999 + 10);
}

TEST(ThreeMF, MirroringTransformKeepsMeshOutwardOriented) {
  const std::string body = "<resources>" + box_object(1) +
                           R"(</resources><build><item objectid="1" transform="-1 0 0 0 1 0 0 0 1 0 0 0"/></build>)";
  TempDir dir;
  write_package(dir / "m.3mf", model_doc(body));
  const MeshReport r = analyze_mesh(read_3mf(dir / "m.3mf").objects.at(0).mesh);
  EXPECT_TRUE(r.watertight());
  EXPECT_NEAR(r.volume, 1000.0, 1e-9);
  EXPECT_EQ(r.bounds.min, (Vec3d{-10, 0, 0}));
}

TEST(ThreeMF, InchesAreScaledToMillimetres) {
  const std::string body = "<resources>" + box_object(1) + R"(</resources><build><item objectid="1"/></build>)";
  TempDir dir;
  write_package(dir / "in.3mf", model_doc(body, "inch"));
  const MeshReport r = analyze_mesh(read_3mf(dir / "in.3mf").objects.at(0).mesh);
  EXPECT_NEAR(r.bounds.max.x, 254.0, 1e-4);
  EXPECT_NEAR(r.volume, std::pow(254.0, 3), 1.0);
}

TEST(ThreeMF, ModelPartIsFoundThroughTheStartPartRelationship) {
  const std::string model = model_doc(
      R"(<metadata name="Title">elsewhere</metadata><resources><basematerials id="5"><base name="a" displaycolor="#102030"/>
         <base name="b" displaycolor="#405060AA"/></basematerials>)" +
      box_object(1, R"(pid="5" pindex="1")") + R"(</resources><build><item objectid="1"/></build>)");
  TempDir dir;
  write_zip(dir / "r.3mf", {{"[Content_Types].xml", kContentTypes},
                            {"_rels/.rels", rels_to("/3D/other.model")},
                            {"3D/other.model", model},
                            {"Metadata/keep.txt", "kept"},
                            {"Metadata/", ""}});
  const ThreeMFModel out = read_3mf(dir / "r.3mf");
  ASSERT_EQ(out.objects.size(), 1u);
  EXPECT_EQ(out.objects[0].color, (color::Rgb8{0x40, 0x50, 0x60}));
  EXPECT_EQ(out.metadata.at("Title"), "elsewhere");
  ASSERT_EQ(out.extra_files.size(), 1u);
  EXPECT_EQ(out.extra_files[0].path, "Metadata/keep.txt");
  EXPECT_EQ(out.extra_files[0].content, "kept");
}

TEST(ThreeMF, ComponentsInOtherModelPartsAreResolved) {
  // The production extension layout OrcaSlicer and Bambu Studio write.
  const std::string root = R"(<?xml version="1.0" encoding="UTF-8"?>
<model unit="millimeter" xmlns="http://schemas.microsoft.com/3dmanufacturing/core/2015/02"
       xmlns:p="http://schemas.microsoft.com/3dmanufacturing/production/2015/06" requiredextensions="p">
 <resources><object id="7" type="model" name="assembly"><components>
   <component p:path="/3D/Objects/object_1.model" objectid="1" transform="1 0 0 0 1 0 0 0 1 5 0 0"/>
 </components></object></resources>
 <build><item objectid="7"/></build></model>)";
  TempDir dir;
  write_zip(dir / "p.3mf",
            {{"[Content_Types].xml", kContentTypes},
             {"_rels/.rels", rels_to("/3D/3dmodel.model")},
             {"3D/3dmodel.model", root},
             {"3D/Objects/object_1.model", model_doc("<resources>" + box_object(1) + "</resources><build/>")}});
  const ThreeMFModel out = read_3mf(dir / "p.3mf");
  ASSERT_EQ(out.objects.size(), 1u);
  EXPECT_EQ(out.objects[0].name, "assembly");
  const MeshReport r = analyze_mesh(out.objects[0].mesh);
  EXPECT_NEAR(r.volume, 1000.0, 1e-9);
  EXPECT_EQ(r.bounds.min, (Vec3d{5, 0, 0}));
}

TEST(ThreeMF, SupportObjectsAreSkipped) {
  const std::string body = "<resources>" + box_object(1) + R"(<object id="2" type="support">)" +
                           mesh_xml(make_tetrahedron()) +
                           R"(</object></resources><build><item objectid="1"/><item objectid="2"/></build>)";
  TempDir dir;
  write_package(dir / "s.3mf", model_doc(body));
  EXPECT_EQ(read_3mf(dir / "s.3mf").objects.size(), 1u);
}

// --- malformed input: each names the file and the problem ------------------------------------

struct BadModelCase {
  const char* label;
  std::string body;
  const char* phrase;
};

TEST(ThreeMF, MalformedModelsAreReportedWithFileAndProblem) {
  const std::string ok_object = box_object(1);
  const std::string build = "<build><item objectid=\"1\"/></build>";
  const auto tetra_with = [](const std::string& vertices, const std::string& triangles) {
    return "<resources><object id=\"1\" type=\"model\"><mesh><vertices>" + vertices + "</vertices><triangles>" +
           triangles + "</triangles></mesh></object></resources><build><item objectid=\"1\"/></build>";
  };
  const std::string v3 = R"(<vertex x="0" y="0" z="0"/><vertex x="1" y="0" z="0"/><vertex x="0" y="1" z="0"/>)";
  const std::vector<BadModelCase> cases = {
      {"malformed xml", "<resources><object id=\"1\">", "malformed XML in 3D/3dmodel.model at byte"},
      {"nan vertex", tetra_with(v3 + R"(<vertex x="0" y="NaN" z="1"/>)", R"(<triangle v1="0" v2="1" v3="3"/>)"),
       "vertex 3 has a NaN or infinite coordinate"},
      {"inf vertex", tetra_with(v3 + R"(<vertex x="inf" y="0" z="1"/>)", ""), "NaN or infinite"},
      {"garbage vertex", tetra_with(R"(<vertex x="1.5mm" y="0" z="0"/>)", ""), "x is not a valid number: '1.5mm'"},
      {"missing coordinate", tetra_with(R"(<vertex x="1" y="0"/>)", ""), "vertex 0: missing attribute z"},
      {"out of range", tetra_with(v3, R"(<triangle v1="0" v2="1" v3="2"/><triangle v1="0" v2="17" v3="2"/>)"),
       "triangle 1 refers to vertex 17 but object 1 has 3 vertices"},
      {"negative index", tetra_with(v3, R"(<triangle v1="0" v2="-1" v3="2"/>)"), "is not a valid vertex index"},
      {"two-vertex triangle", tetra_with(v3, R"(<triangle v1="0" v2="1"/>)"), "triangle 0: missing attribute v3"},
      {"no build items", "<resources>" + ok_object + "</resources><build/>", "no build items"},
      {"no objects", "<resources/><build/>", "no build items"},
      {"unknown object", "<resources>" + ok_object + "</resources><build><item objectid=\"9\"/></build>",
       "there is no object 9"},
      {"bad transform",
       "<resources>" + ok_object + "</resources><build><item objectid=\"1\" transform=\"1 0 0\"/></build>",
       "transform must be 12 finite numbers"},
      {"bad colour",
       "<resources><basematerials id=\"2\"><base name=\"x\" displaycolor=\"red\"/></basematerials>" + ok_object +
           "</resources>" + build,
       "displaycolor must be #RRGGBB"},
      {"cycle",
       R"(<resources><object id="1" type="model"><components><component objectid="2"/></components></object>
                   <object id="2" type="model"><components><component objectid="1"/></components></object></resources>)" +
           build,
       "contains itself"},
  };
  TempDir dir;
  for (const BadModelCase& c : cases) {
    SCOPED_TRACE(c.label);
    const fs::path path = dir / (std::string(c.label) + ".3mf");
    write_package(path, model_doc(c.body));
    const std::string message = read_error(path);
    EXPECT_THAT(message, HasSubstr(path.string() + ": "));
    EXPECT_THAT(message, HasSubstr(c.phrase));
  }
  write_package(dir / "feet.3mf", model_doc("<resources>" + ok_object + "</resources>" + build, "furlong"));
  EXPECT_THAT(read_error(dir / "feet.3mf"), HasSubstr("unknown unit 'furlong'"));
}

TEST(ThreeMF, BrokenPackagesAreReportedWithFileAndProblem) {
  TempDir dir;
  write_bytes(dir / "empty.3mf", "");
  EXPECT_THAT(read_error(dir / "empty.3mf"), HasSubstr((dir / "empty.3mf").string() + ": the file is empty"));

  std::mt19937 rng(1);
  std::string noise(4096, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  write_bytes(dir / "noise.3mf", noise);
  EXPECT_THAT(read_error(dir / "noise.3mf"),
              HasSubstr((dir / "noise.3mf").string() + ": not a 3MF package: not a zip archive"));

  write_3mf(dir / "good.3mf", sample_model());
  const std::string good = read_bytes(dir / "good.3mf");
  write_bytes(dir / "half.3mf", good.substr(0, good.size() / 2));
  EXPECT_THAT(read_error(dir / "half.3mf"), HasSubstr((dir / "half.3mf").string() + ": not a 3MF package"));

  write_zip(dir / "nomodel.3mf", {{"[Content_Types].xml", kContentTypes}, {"readme.txt", "hello"}});
  EXPECT_THAT(read_error(dir / "nomodel.3mf"),
              HasSubstr((dir / "nomodel.3mf").string() + ": not a 3MF package: no 3D model part"));

  write_zip(dir / "badrels.3mf", {{"_rels/.rels", rels_to("/3D/elsewhere.model")}, {"3D/3dmodel.model", "x"}});
  EXPECT_THAT(read_error(dir / "badrels.3mf"), HasSubstr("3D/elsewhere.model is missing, named by _rels/.rels"));

  EXPECT_THAT(read_error(dir / "missing.3mf"), HasSubstr((dir / "missing.3mf").string() + ": cannot open"));
}

TEST(ThreeMF, CorruptedEntryIsReported) {
  TempDir dir;
  write_3mf(dir / "good.3mf", sample_model());
  std::string bytes = read_bytes(dir / "good.3mf");
  // Flip bytes in the middle of the deflated model part, which is the bulk of the file.
  const std::size_t model_at = bytes.find("3D/3dmodel.model") + 40;
  for (std::size_t i = model_at; i < model_at + 64; ++i) bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
  write_bytes(dir / "bad.3mf", bytes);
  EXPECT_THAT(read_error(dir / "bad.3mf"), HasSubstr((dir / "bad.3mf").string() + ": "));
}

}  // namespace
}  // namespace fabforge
