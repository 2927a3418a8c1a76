#include "fabforge/voxel/slice_writers.hpp"

#include <gtest/gtest.h>
#include <png.h>
#include <pugixml.hpp>
#include <zip.h>

#include <array>
#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "fabforge/core/error.hpp"
#include "fabforge/core/image.hpp"

#include "support/test_support.hpp"

namespace fabforge::voxel {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

std::vector<Material> three_materials() {
  return {{"VeroCyan", 11, {0, 255, 255, 255}},
          {"VeroMagenta & <Co>", 12, {255, 0, 255, 255}},
          {"Agilus Clear", 13, {200, 200, 200, 128}}};
}

Grid small_grid(int nz = 3) {
  Grid g;
  g.nx = 7;  // odd: 35 voxels per slice, so raw slices end in a half byte
  g.ny = 5;
  g.nz = nz;
  g.origin = {1.5, -2.0, 0.25};
  return g;
}

/// Known pattern: voxel (i, j) of layer k holds (i + 2 j + k) mod (M + 1).
std::uint8_t expected_index(int i, int j, int k, int materials) {
  return static_cast<std::uint8_t>((i + 2 * j + k) % (materials + 1));
}

Slice make_slice(const Grid& g, int k, int materials) {
  Slice s;
  s.k = k;
  s.width = g.nx;
  s.height = g.ny;
  for (int j = 0; j < g.ny; ++j) {
    for (int i = 0; i < g.nx; ++i) s.material.push_back(expected_index(i, j, k, materials));
  }
  return s;
}

void write_all(SliceSink& sink, const Grid& g, const std::vector<Material>& materials) {
  sink.begin(g, materials);
  for (int k = 0; k < g.nz; ++k) sink.write(make_slice(g, k, static_cast<int>(materials.size())));
  sink.finish();
}

/// As write_all, through write_slab: layers [0, first) as one slab, the rest as another.
void write_all_in_two_slabs(SliceSink& sink, const Grid& g, const std::vector<Material>& materials, int first) {
  std::vector<Slice> all;
  for (int k = 0; k < g.nz; ++k) all.push_back(make_slice(g, k, static_cast<int>(materials.size())));
  sink.begin(g, materials);
  sink.write_slab(std::span<const Slice>(all).first(static_cast<std::size_t>(first)));
  sink.write_slab(std::span<const Slice>(all).subspan(static_cast<std::size_t>(first)));
  sink.finish();
}

/// A PNG as stored: colour type, palette and tRNS, and the samples without any expansion.
struct RawPng {
  int width = 0, height = 0, color_type = -1, bit_depth = 0;
  std::vector<png_color> palette;
  std::vector<std::uint8_t> trns;
  std::vector<std::uint8_t> samples;
};

bool read_png_into(std::FILE* file, RawPng* out) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png)) != 0) {
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  png_init_io(png, file);
  png_read_info(png, info);
  out->width = static_cast<int>(png_get_image_width(png, info));
  out->height = static_cast<int>(png_get_image_height(png, info));
  out->color_type = png_get_color_type(png, info);
  out->bit_depth = png_get_bit_depth(png, info);
  png_colorp palette = nullptr;
  int n = 0;
  if (png_get_PLTE(png, info, &palette, &n) != 0) out->palette.assign(palette, palette + n);
  png_bytep trns = nullptr;
  int nt = 0;
  if (png_get_tRNS(png, info, &trns, &nt, nullptr) != 0) out->trns.assign(trns, trns + nt);
  const std::size_t row = png_get_rowbytes(png, info);
  out->samples.resize(row * static_cast<std::size_t>(out->height));
  for (int j = 0; j < out->height; ++j)
    png_read_row(png, out->samples.data() + row * static_cast<std::size_t>(j), nullptr);
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

RawPng read_png(const fs::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) throw std::runtime_error("cannot open " + path.string());
  RawPng out;
  const bool ok = read_png_into(f, &out);
  std::fclose(f);
  if (!ok) throw std::runtime_error("bad PNG " + path.string());
  return out;
}

/// The names in a folder that are not hidden temporaries.
std::size_t hidden_entries(const TempDir& dir) {
  std::size_t n = 0;
  for (const auto& name : dir.entries()) n += name[0] == '.' ? 1 : 0;
  return n;
}

template <class F>
void expect_input_error_naming(F&& f, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "expected an Error naming " << part;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::input) << e.what();
    EXPECT_TRUE(test::contains(e.what(), part)) << e.what();
  }
}

// ---------------------------------------------------------------------------------------------
// PNG stack.

TEST(PngStack, IndexedSlicesWithPaletteAndTransparency) {
  TempDir dir;
  const Grid g = small_grid();
  const auto materials = three_materials();
  auto sink = make_png_stack_sink(dir / "stack");
  write_all(*sink, g, materials);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"stack"});  // no temporaries left
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir / "stack")) files.push_back(e.path().filename().string());
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{"slice_00000.png", "slice_00001.png", "slice_00002.png"}));

  for (int k = 0; k < g.nz; ++k) {
    const fs::path path = dir / "stack" / files[static_cast<std::size_t>(k)];
    const RawPng png = read_png(path);
    ASSERT_EQ(png.color_type, PNG_COLOR_TYPE_PALETTE);
    ASSERT_EQ(png.bit_depth, 8);
    ASSERT_EQ(png.width, g.nx);
    ASSERT_EQ(png.height, g.ny);
    ASSERT_EQ(png.palette.size(), 4u);
    EXPECT_EQ(png.palette[0].red + png.palette[0].green + png.palette[0].blue, 0);
    for (std::size_t m = 0; m < 3; ++m) {
      EXPECT_EQ(png.palette[m + 1].red, materials[m].rgba[0]);
      EXPECT_EQ(png.palette[m + 1].green, materials[m].rgba[1]);
      EXPECT_EQ(png.palette[m + 1].blue, materials[m].rgba[2]);
    }
    // Void transparent, the two opaque materials 255, the clear one 128 (tRNS may stop early).
    ASSERT_EQ(png.trns.size(), 4u);
    EXPECT_EQ(png.trns, (std::vector<std::uint8_t>{0, 255, 255, 128}));
    for (int j = 0; j < g.ny; ++j) {
      for (int i = 0; i < g.nx; ++i) {
        ASSERT_EQ(png.samples[static_cast<std::size_t>(j * g.nx + i)], expected_index(i, j, k, 3));
      }
    }
    // Through core's loader: every pixel its material's exact RGBA, void 0 0 0 0.
    const Image8 rgba = load_image8(path, 4);
    for (int j = 0; j < g.ny; ++j) {
      for (int i = 0; i < g.nx; ++i) {
        const int m = expected_index(i, j, k, 3);
        const std::array<std::uint8_t, 4> want =
            m == 0 ? std::array<std::uint8_t, 4>{0, 0, 0, 0} : materials[static_cast<std::size_t>(m - 1)].rgba;
        for (int c = 0; c < 4; ++c) ASSERT_EQ(rgba.at(i, j, c), want[static_cast<std::size_t>(c)]);
      }
    }
  }
}

TEST(PngStack, OpaqueTableNeedsOnlyTheVoidAlpha) {
  TempDir dir;
  const Grid g = small_grid(1);
  auto materials = three_materials();
  materials.pop_back();
  auto sink = make_png_stack_sink(dir / "stack/");  // a trailing separator names the same folder
  write_all(*sink, g, materials);
  EXPECT_EQ(read_png(dir / "stack" / "slice_00000.png").trns, std::vector<std::uint8_t>{0});
}

TEST(PngStack, StreamsAndLeavesNothingWithoutFinish) {
  TempDir dir;
  const Grid g = small_grid(4);
  const auto materials = three_materials();
  {
    auto sink = make_png_stack_sink(dir / "stack");
    sink->begin(g, materials);
    for (int k = 0; k < 3; ++k) {
      sink->write(make_slice(g, k, 3));
      // Each slice is on disk as soon as it is written, in the hidden staging folder.
      ASSERT_EQ(dir.entries().size(), 1u);
      const fs::path staging = dir / dir.entries()[0];
      EXPECT_EQ(dir.entries()[0].rfind(".stack.tmp-", 0), 0u) << dir.entries()[0];
      EXPECT_EQ(static_cast<int>(std::distance(fs::directory_iterator(staging), fs::directory_iterator())), k + 1);
    }
    EXPECT_THROW(sink->finish(), InternalError);  // 3 of 4 slices
  }
  EXPECT_TRUE(dir.entries().empty());
}

TEST(PngStack, SlabsWriteTheSameFilesAsSlices) {
  // write_slab encodes a slab's slices in parallel: the files are those write() makes one by one,
  // byte for byte, and the layer order is still checked.
  TempDir dir;
  const Grid g = small_grid(7);
  const auto materials = three_materials();
  write_all(*make_png_stack_sink(dir / "one"), g, materials);
  write_all_in_two_slabs(*make_png_stack_sink(dir / "slabs"), g, materials, 4);
  for (int k = 0; k < g.nz; ++k) {
    const std::string name = "slice_0000" + std::to_string(k) + ".png";
    const auto bytes = test::read_bytes(dir / "slabs" / name);
    EXPECT_FALSE(bytes.empty()) << name;
    EXPECT_EQ(bytes, test::read_bytes(dir / "one" / name)) << name;
  }
  auto out_of_order = make_png_stack_sink(dir / "bad");
  out_of_order->begin(g, materials);
  const std::vector<Slice> skipped = {make_slice(g, 1, 3), make_slice(g, 2, 3)};  // layer 0 missing
  EXPECT_THROW(out_of_order->write_slab(skipped), InternalError);
}

TEST(PngStack, ReplacesAnEarlierStackButNoOtherFolder) {
  TempDir dir;
  const auto materials = three_materials();
  write_all(*make_png_stack_sink(dir / "stack"), small_grid(3), materials);
  write_all(*make_png_stack_sink(dir / "stack"), small_grid(2), materials);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"stack"});
  EXPECT_EQ(std::distance(fs::directory_iterator(dir / "stack"), fs::directory_iterator()), 2);

  fs::create_directory(dir / "photos");
  test::write_bytes(dir / "photos" / "holiday.jpg", "x");
  expect_input_error_naming([&] { make_png_stack_sink(dir / "photos")->begin(small_grid(), materials); },
                            "holiday.jpg");
  EXPECT_TRUE(fs::exists(dir / "photos" / "holiday.jpg"));
  test::write_bytes(dir / "plain", "x");
  expect_input_error_naming([&] { make_png_stack_sink(dir / "plain")->begin(small_grid(), materials); }, "plain");
}

// ---------------------------------------------------------------------------------------------
// GrabCAD package.

std::string zip_entry(zip_t* zip, const std::string& name) {
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_stat(zip, name.c_str(), 0, &st) != 0) return {};
  std::string bytes(st.size, '\0');
  zip_file_t* f = zip_fopen(zip, name.c_str(), 0);
  if (f == nullptr) return {};
  const zip_int64_t got = zip_fread(f, bytes.data(), st.size);
  zip_fclose(f);
  return got == static_cast<zip_int64_t>(st.size) ? bytes : std::string();
}

TEST(Grabcad, LayersAndConfigFile) {
  TempDir dir;
  const Grid g = small_grid();
  const auto materials = three_materials();
  write_all(*make_grabcad_sink(dir / "job.zip"), g, materials);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"job.zip"});

  int code = 0;
  zip_t* zip = zip_open((dir / "job.zip").c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
  ASSERT_NE(zip, nullptr) << code;
  ASSERT_EQ(zip_get_num_entries(zip, 0), g.nz + 1);
  std::vector<std::string> names;
  for (zip_int64_t e = 0; e < zip_get_num_entries(zip, 0); ++e) {
    names.emplace_back(zip_get_name(zip, static_cast<zip_uint64_t>(e), 0));
  }
  EXPECT_EQ(names, (std::vector<std::string>{"layer_0.png", "layer_1.png", "layer_2.png", "ConfigFile.xml"}));

  for (int k = 0; k < g.nz; ++k) {
    const std::string name = "layer_" + std::to_string(k) + ".png";
    zip_stat_t st;
    ASSERT_EQ(zip_stat(zip, name.c_str(), 0, &st), 0);
    EXPECT_EQ(st.comp_method, ZIP_CM_STORE) << name;
    const fs::path png_path = dir / name;
    test::write_bytes(png_path, zip_entry(zip, name));
    const RawPng raw = read_png(png_path);
    EXPECT_EQ(raw.color_type, PNG_COLOR_TYPE_RGB_ALPHA);
    EXPECT_EQ(raw.bit_depth, 8);
    ASSERT_EQ(raw.width, g.nx);
    ASSERT_EQ(raw.height, g.ny);
    for (int j = 0; j < g.ny; ++j) {
      for (int i = 0; i < g.nx; ++i) {
        const int m = expected_index(i, j, k, 3);
        const std::array<std::uint8_t, 4> want =
            m == 0 ? std::array<std::uint8_t, 4>{0, 0, 0, 255} : materials[static_cast<std::size_t>(m - 1)].rgba;
        for (int c = 0; c < 4; ++c) {
          ASSERT_EQ(raw.samples[static_cast<std::size_t>((j * g.nx + i) * 4 + c)], want[static_cast<std::size_t>(c)]);
        }
      }
    }
    fs::remove(png_path);
  }

  const std::string xml = zip_entry(zip, "ConfigFile.xml");
  zip_close(zip);
  pugi::xml_document doc;
  ASSERT_TRUE(doc.load_string(xml.c_str())) << xml;
  const pugi::xml_node root = doc.child("GCVF");
  ASSERT_TRUE(root);
  auto text = [&](const char* path) {
    return std::string(root.first_element_by_path(path).text().as_string("<missing>"));
  };
  EXPECT_EQ(text("Version"), "2");
  EXPECT_EQ(text("Resolution/XDpi"), "600");
  EXPECT_EQ(text("Resolution/YDpi"), "300");
  EXPECT_EQ(text("Resolution/SliceThicknessNanoMeter"), "27000");
  EXPECT_EQ(text("SliceDimensions/SliceWidth"), "7");
  EXPECT_EQ(text("SliceDimensions/SliceHeight"), "5");
  EXPECT_EQ(text("SliceRange/StartIndex"), "0");
  EXPECT_EQ(text("SliceRange/NumberOfSlices"), "3");
  EXPECT_EQ(text("BitDepth"), "4");
  EXPECT_EQ(text("MaxNumberOfColors"), "3");
  EXPECT_EQ(text("DataSemantics"), "Materials");
  EXPECT_EQ(text("CreationMode"), "MODEL_ONLY");
  EXPECT_EQ(text("ImageFilePrefix"), "layer_");
  EXPECT_EQ(text("MaterialList/BackGroundMaterialRGBA"), "0 0 0 255");
  std::vector<std::pair<std::string, std::string>> listed;
  for (pugi::xml_node m : root.child("MaterialList").children("Material")) {
    listed.emplace_back(m.child("Name").text().as_string(), m.child("RGBA").text().as_string());
  }
  EXPECT_EQ(listed, (std::vector<std::pair<std::string, std::string>>{{"VeroCyan", "0 255 255 255"},
                                                                      {"VeroMagenta & <Co>", "255 0 255 255"},
                                                                      {"Agilus Clear", "200 200 200 128"}}));
}

TEST(Grabcad, OtherPitchesAndByteIdenticalReruns) {
  TempDir dir;
  Grid g = small_grid(2);
  g.dx = 25.4 / 1200;
  g.dy = 0.1;  // 254 dpi
  g.dz = 0.0135;
  const auto materials = three_materials();
  write_all(*make_grabcad_sink(dir / "a.zip"), g, materials);
  write_all(*make_grabcad_sink(dir / "b.zip"), g, materials);
  EXPECT_EQ(test::read_bytes(dir / "a.zip"), test::read_bytes(dir / "b.zip"));
  int code = 0;
  zip_t* zip = zip_open((dir / "a.zip").c_str(), ZIP_RDONLY, &code);
  ASSERT_NE(zip, nullptr);
  const std::string xml = zip_entry(zip, "ConfigFile.xml");
  zip_close(zip);
  EXPECT_TRUE(test::contains(xml, "<XDpi>1200</XDpi>")) << xml;
  EXPECT_TRUE(test::contains(xml, "<YDpi>254</YDpi>")) << xml;
  EXPECT_TRUE(test::contains(xml, "<SliceThicknessNanoMeter>13500</SliceThicknessNanoMeter>")) << xml;
}

TEST(Grabcad, SlabsWriteTheSamePackageAsSlices) {
  // write_slab encodes a slab's layers in parallel; the package is write()'s, byte for byte.
  TempDir dir;
  const Grid g = small_grid(6);
  const auto materials = three_materials();
  write_all(*make_grabcad_sink(dir / "one.zip"), g, materials);
  write_all_in_two_slabs(*make_grabcad_sink(dir / "slabs.zip"), g, materials, 5);
  EXPECT_EQ(test::read_bytes(dir / "slabs.zip"), test::read_bytes(dir / "one.zip"));
  EXPECT_GT(test::read_bytes(dir / "one.zip").size(), 6u * 40);  // six layer PNGs and the config
}

TEST(Grabcad, MaterialTableErrors) {
  TempDir dir;
  const fs::path out = dir / "job.zip";
  std::vector<Material> many(16);
  for (int m = 0; m < 16; ++m) {
    many[static_cast<std::size_t>(m)] = {"m" + std::to_string(m), m, {static_cast<std::uint8_t>(m + 1), 0, 0, 255}};
  }
  expect_input_error_naming([&] { make_grabcad_sink(out)->begin(small_grid(), many); }, "at most 15 materials");
  auto same = three_materials();
  same[2].rgba = same[0].rgba;
  expect_input_error_naming([&] { make_grabcad_sink(out)->begin(small_grid(), same); }, "Agilus Clear");
  auto black = three_materials();
  black[1].rgba = {0, 0, 0, 255};
  expect_input_error_naming([&] { make_grabcad_sink(out)->begin(small_grid(), black); }, "background");
  EXPECT_TRUE(dir.entries().empty());
}

TEST(Grabcad, NothingWithoutFinish) {
  TempDir dir;
  const Grid g = small_grid();
  {
    auto sink = make_grabcad_sink(dir / "job.zip");
    sink->begin(g, three_materials());
    sink->write(make_slice(g, 0, 3));
    EXPECT_EQ(hidden_entries(dir), dir.entries().size());
    EXPECT_THROW(sink->write(make_slice(g, 2, 3)), InternalError);  // layer 1 skipped
  }
  EXPECT_TRUE(dir.entries().empty());
}

// ---------------------------------------------------------------------------------------------
// Raw 4-bit.

struct Reader {
  const std::string& bytes;
  std::size_t at = 0;
  std::uint32_t u32() {
    std::uint32_t v = 0;
    for (int b = 0; b < 4; ++b) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes.at(at++))) << (8 * b);
    return v;
  }
  double f64() {
    std::uint64_t v = 0;
    for (int b = 0; b < 8; ++b) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes.at(at++))) << (8 * b);
    double d = 0;
    std::memcpy(&d, &v, sizeof d);
    return d;
  }
  std::uint8_t u8() { return static_cast<std::uint8_t>(bytes.at(at++)); }
};

TEST(Raw4, HeaderAndNibbles) {
  TempDir dir;
  const Grid g = small_grid();
  const auto materials = three_materials();
  write_all(*make_raw4_sink(dir / "job.ffvx"), g, materials);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"job.ffvx"});
  const std::string bytes = test::read_bytes(dir / "job.ffvx");
  ASSERT_EQ(bytes.substr(0, 4), "FFVX");
  Reader r{bytes, 4};
  EXPECT_EQ(r.u32(), 1u);
  const std::uint32_t header = r.u32();
  EXPECT_EQ(r.u32(), 7u);
  EXPECT_EQ(r.u32(), 5u);
  EXPECT_EQ(r.u32(), 3u);
  EXPECT_EQ(r.f64(), g.dx);
  EXPECT_EQ(r.f64(), g.dy);
  EXPECT_EQ(r.f64(), g.dz);
  EXPECT_EQ(r.f64(), 1.5);
  EXPECT_EQ(r.f64(), -2.0);
  EXPECT_EQ(r.f64(), 0.25);
  ASSERT_EQ(r.u32(), 3u);
  for (const Material& m : materials) {
    EXPECT_EQ(static_cast<int>(r.u32()), m.id);
    for (std::uint8_t c : m.rgba) EXPECT_EQ(r.u8(), c);
    const std::uint32_t len = r.u32();
    EXPECT_EQ(bytes.substr(r.at, len), m.name);
    r.at += len;
  }
  EXPECT_EQ(r.at, header);
  const std::size_t slice_bytes = 18;  // ceil(35 / 2)
  ASSERT_EQ(bytes.size(), header + 3 * slice_bytes);
  for (int k = 0; k < 3; ++k) {
    const std::size_t base = header + static_cast<std::size_t>(k) * slice_bytes;
    for (int n = 0; n < 35; ++n) {
      const auto byte = static_cast<unsigned char>(bytes[base + static_cast<std::size_t>(n / 2)]);
      const int nibble = n % 2 == 0 ? (byte & 0xF) : (byte >> 4);
      ASSERT_EQ(nibble, expected_index(n % 7, n / 7, k, 3)) << "layer " << k << " voxel " << n;
    }
    EXPECT_EQ(static_cast<unsigned char>(bytes[base + slice_bytes - 1]) >> 4, 0) << "odd slice ends with a zero nibble";
  }
}

TEST(Raw4, FifteenMaterialsFitSixteenDoNot) {
  TempDir dir;
  std::vector<Material> table(15);
  for (int m = 0; m < 15; ++m) table[static_cast<std::size_t>(m)] = {"m" + std::to_string(m), m, {0, 0, 0, 255}};
  const Grid g = small_grid(2);
  write_all(*make_raw4_sink(dir / "ok.ffvx"), g, table);
  const std::string bytes = test::read_bytes(dir / "ok.ffvx");
  Reader r{bytes, 8};
  const std::uint32_t header = r.u32();
  // Index 15 (material 14) survives as nibble 15: voxel (6, 4) of layer 1, n = 34, the low
  // nibble of the slice's last byte.
  ASSERT_EQ(expected_index(6, 4, 1, 15), 15);
  EXPECT_EQ(static_cast<unsigned char>(bytes[header + 18 + 17]) & 0xF, 15);

  table.push_back({"one too many", 15, {1, 2, 3, 255}});
  expect_input_error_naming([&] { make_raw4_sink(dir / "bad.ffvx")->begin(g, table); }, "bad.ffvx");
  expect_input_error_naming([&] { make_raw4_sink(dir / "bad.ffvx")->begin(g, table); }, "at most 15 materials");
  EXPECT_FALSE(fs::exists(dir / "bad.ffvx"));
}

TEST(Raw4, StreamsSliceBySliceAndLeavesNothingWithoutFinish) {
  TempDir dir;
  const Grid g = small_grid(5);
  {
    auto sink = make_raw4_sink(dir / "job.ffvx");
    sink->begin(g, three_materials());
    ASSERT_EQ(dir.entries().size(), 1u);
    const fs::path temp = dir / dir.entries()[0];
    EXPECT_EQ(dir.entries()[0][0], '.');
    const auto header = fs::file_size(temp);
    for (int k = 0; k < 4; ++k) {
      sink->write(make_slice(g, k, 3));
      EXPECT_EQ(fs::file_size(temp), header + static_cast<std::uintmax_t>(k + 1) * 18u);  // on disk already
    }
    Slice bad = make_slice(g, 4, 3);
    bad.material[3] = 4;  // beyond the 3-material table
    EXPECT_THROW(sink->write(bad), InternalError);
  }
  EXPECT_TRUE(dir.entries().empty());
}

// ---------------------------------------------------------------------------------------------
// All sinks.

TEST(SliceSinks, UnwritablePlacesNameThePath) {
  TempDir dir;
  test::write_bytes(dir / "file", "x");
  const auto materials = three_materials();
  const fs::path missing = dir / "no-such-folder" / "out";
  const fs::path under_file = dir / "file" / "out";
  for (const fs::path& target : {missing, under_file}) {
    expect_input_error_naming([&] { make_png_stack_sink(target)->begin(small_grid(), materials); }, target.string());
    expect_input_error_naming([&] { make_grabcad_sink(target)->begin(small_grid(), materials); }, target.string());
    expect_input_error_naming([&] { make_raw4_sink(target)->begin(small_grid(), materials); }, target.string());
  }
  fs::create_directory(dir / "folder");
  expect_input_error_naming([&] { make_raw4_sink(dir / "folder")->begin(small_grid(), materials); }, "folder");
  expect_input_error_naming([&] { make_grabcad_sink(dir / "folder")->begin(small_grid(), materials); }, "folder");
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"file", "folder"}));
}

TEST(SliceSinks, ContractViolationsAreInternalErrors) {
  TempDir dir;
  const Grid g = small_grid();
  auto sink = make_raw4_sink(dir / "x.ffvx");
  EXPECT_THROW(sink->write(make_slice(g, 0, 3)), InternalError);  // before begin
  sink->begin(g, three_materials());
  EXPECT_THROW(sink->begin(g, three_materials()), InternalError);
  Slice wrong = make_slice(g, 0, 3);
  wrong.width = 5;
  EXPECT_THROW(sink->write(wrong), InternalError);
  Grid empty = g;
  empty.nz = 0;
  EXPECT_THROW(make_png_stack_sink(dir / "s")->begin(empty, three_materials()), Error);
}

TEST(SliceSinks, SlicesAreNotKept) {
  // A sink holds no copy: after write() returns, the caller may reuse the slice's buffer and the
  // output still has what it held at the time.
  TempDir dir;
  const Grid g = small_grid(2);
  auto sink = make_raw4_sink(dir / "a.ffvx");
  sink->begin(g, three_materials());
  Slice s = make_slice(g, 0, 3);
  sink->write(s);
  std::fill(s.material.begin(), s.material.end(), 0);
  s = make_slice(g, 1, 3);
  sink->write(s);
  sink->finish();
  write_all(*make_raw4_sink(dir / "b.ffvx"), g, three_materials());
  EXPECT_EQ(test::read_bytes(dir / "a.ffvx"), test::read_bytes(dir / "b.ffvx"));
}

}  // namespace
}  // namespace fabforge::voxel
