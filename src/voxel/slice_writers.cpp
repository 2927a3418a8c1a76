#include "fabforge/voxel/slice_writers.hpp"

#include <png.h>
#include <unistd.h>
#include <zip.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <string>
#include <system_error>
#include <utility>

#include "fabforge/core/atomic_file.hpp"
#include "fabforge/core/error.hpp"
#include "fabforge/core/parallel.hpp"

namespace fabforge::voxel {

namespace fs = std::filesystem;

namespace {

std::string quoted(const fs::path& path) { return "'" + path.string() + "'"; }

/// "out/" names the folder "out": drop a trailing separator so filename() is the last component.
fs::path without_trailing_separator(fs::path path) {
  if (path.filename().empty() && path.has_parent_path()) path = path.parent_path();
  return path;
}

/// The folder a target is created in; throws Error (input) naming the target if it is missing.
fs::path parent_folder(const fs::path& target) {
  if (target.filename().empty()) throw usage_error("output path " + quoted(target) + " names no file or folder");
  const fs::path parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::exists(parent, ec)) {
    throw input_error("cannot write " + quoted(target) + ": folder " + quoted(parent) + " does not exist");
  }
  if (!fs::is_directory(parent, ec)) {
    throw input_error("cannot write " + quoted(target) + ": " + quoted(parent) + " is not a folder");
  }
  return parent;
}

/// A hidden folder beside `target` (mkdtemp: unique without any shared counter), removed with its
/// contents on destruction unless release()d.
class StagingFolder {
 public:
  StagingFolder(const fs::path& target, const char* tag) {
    const fs::path parent = parent_folder(target);
    std::string pattern = (parent / ("." + target.filename().string() + tag + "XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw input_error("cannot write " + quoted(target) + ": cannot create a folder in " + quoted(parent) + ": " +
                        std::strerror(errno));
    }
    path_ = pattern;
  }
  ~StagingFolder() {
    if (!path_.empty()) {
      std::error_code ec;
      fs::remove_all(path_, ec);
    }
  }
  StagingFolder(const StagingFolder&) = delete;
  StagingFolder& operator=(const StagingFolder&) = delete;

  const fs::path& path() const noexcept { return path_; }
  void release() noexcept { path_.clear(); }

 private:
  fs::path path_;
};

// ---------------------------------------------------------------------------------------------
// Slice order and contents: what every sink checks.

class SliceSequence {
 public:
  void begin(const Grid& grid, const std::vector<Material>& materials, const fs::path& target) {
    FABFORGE_CHECK(!begun_, "SliceSink::begin called twice");
    if (grid.nx < 1 || grid.ny < 1 || grid.nz < 1) {
      throw usage_error("cannot write " + quoted(target) + ": the grid is empty (" + std::to_string(grid.nx) + " x " +
                        std::to_string(grid.ny) + " x " + std::to_string(grid.nz) + " voxels)");
    }
    if (!(grid.dx > 0 && grid.dy > 0 && grid.dz > 0 && std::isfinite(grid.dx) && std::isfinite(grid.dy) &&
          std::isfinite(grid.dz))) {
      throw usage_error("cannot write " + quoted(target) + ": voxel pitch must be positive");
    }
    if (materials.size() > 255) {
      throw usage_error("cannot write " + quoted(target) + ": " + std::to_string(materials.size()) +
                        " materials do not fit one byte per voxel");
    }
    grid_ = grid;
    materials_ = static_cast<int>(materials.size());
    begun_ = true;
  }

  void check(const Slice& slice) const {
    FABFORGE_CHECK(begun_, "SliceSink::write before begin");
    FABFORGE_CHECK(slice.k == written_, "slices must come in layer order: expected layer " + std::to_string(written_) +
                                            ", got " + std::to_string(slice.k));
    FABFORGE_CHECK(slice.k < grid_.nz,
                   "layer " + std::to_string(slice.k) + " beyond the grid's " + std::to_string(grid_.nz) + " layers");
    FABFORGE_CHECK(slice.width == grid_.nx && slice.height == grid_.ny && slice.material.size() == grid_.slice_voxels(),
                   "slice " + std::to_string(slice.k) + " is " + std::to_string(slice.width) + " x " +
                       std::to_string(slice.height) + " (" + std::to_string(slice.material.size()) +
                       " bytes), the grid " + std::to_string(grid_.nx) + " x " + std::to_string(grid_.ny));
    const std::uint8_t top = *std::max_element(slice.material.begin(), slice.material.end());
    FABFORGE_CHECK(top <= materials_, "slice " + std::to_string(slice.k) + " uses material index " +
                                          std::to_string(top) + " but the table has " + std::to_string(materials_) +
                                          " materials");
  }

  void advance() { ++written_; }

  void check_complete() const {
    FABFORGE_CHECK(begun_, "SliceSink::finish before begin");
    FABFORGE_CHECK(written_ == grid_.nz,
                   "finish after " + std::to_string(written_) + " of " + std::to_string(grid_.nz) + " slices");
  }

  const Grid& grid() const noexcept { return grid_; }
  int written() const noexcept { return written_; }

 private:
  Grid grid_;
  int materials_ = 0;
  int written_ = 0;
  bool begun_ = false;
};

/// A sink that turns each slice into a file of its own (`encode`, which must be safe to call from
/// several threads at once): a slab's slices are checked in order, then encoded in parallel (image
/// compression is most of such a sink's time; the tray's 177 PNG slices of 51.6 M voxels took 24 s
/// one at a time).
class FilePerSliceSink : public SliceSink {
 public:
  void write(const Slice& slice) final {
    sequence_.check(slice);
    encode(slice);
    sequence_.advance();
  }

  void write_slab(std::span<const Slice> slices) final {
    for (const Slice& slice : slices) {
      sequence_.check(slice);
      sequence_.advance();
    }
    parallel_for_each_index(0, slices.size(), 1, [&](std::size_t i) { encode(slices[i]); });
  }

 protected:
  virtual void encode(const Slice& slice) const = 0;

  SliceSequence sequence_;
};

// ---------------------------------------------------------------------------------------------
// PNG encoding with libpng, one row at a time. The functions that call setjmp hold only
// trivially destructible locals, as a longjmp out of libpng requires.

struct PngMessage {
  char text[200] = {};
};

[[noreturn]] void png_error_to_message(png_structp png, png_const_charp text) {
  auto* message = static_cast<PngMessage*>(png_get_error_ptr(png));
  std::snprintf(message->text, sizeof message->text, "%s", text != nullptr ? text : "libpng error");
  png_longjmp(png, 1);
}

void png_drop_warning(png_structp, png_const_charp) {}

/// Hands libpng row j of the image (row_bytes long); it must not throw.
struct PngRows {
  const std::uint8_t* (*row)(const void* context, int j) = nullptr;
  const void* context = nullptr;
};

struct PngLayout {
  png_uint_32 width = 0;
  png_uint_32 height = 0;
  int color_type = PNG_COLOR_TYPE_PALETTE;
  const png_color* palette = nullptr;
  int palette_size = 0;
  const png_byte* trns = nullptr;
  int trns_size = 0;
};

bool png_encode(png_structp png, png_infop info, const PngLayout* layout, const PngRows* rows) {
  if (setjmp(png_jmpbuf(png)) != 0) return false;
  // Indices compress best unfiltered; RGBA rows of a few exact colours turn into zero runs with
  // SUB. Deflate level 1 with run-length matching: slices are big, mostly runs and must keep up
  // with the pipeline.
  png_set_filter(png, PNG_FILTER_TYPE_BASE,
                 layout->color_type == PNG_COLOR_TYPE_PALETTE ? PNG_FILTER_NONE : PNG_FILTER_SUB);
  png_set_compression_level(png, Z_BEST_SPEED);
  png_set_compression_strategy(png, Z_RLE);
  png_set_IHDR(png, info, layout->width, layout->height, 8, layout->color_type, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (layout->palette_size > 0) png_set_PLTE(png, info, layout->palette, layout->palette_size);
  if (layout->trns_size > 0) png_set_tRNS(png, info, layout->trns, layout->trns_size, nullptr);
  png_write_info(png, info);
  for (png_uint_32 j = 0; j < layout->height; ++j) png_write_row(png, rows->row(rows->context, static_cast<int>(j)));
  png_write_end(png, info);
  return true;
}

/// Writes one PNG file; throws Error (runtime) naming the file on failure.
void write_png_file(const fs::path& path, const PngLayout& layout, const PngRows& rows) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) throw runtime_error("cannot write " + quoted(path) + ": " + std::strerror(errno));
  PngMessage message;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &message, png_error_to_message, png_drop_warning);
  png_infop info = png != nullptr ? png_create_info_struct(png) : nullptr;
  bool ok = png != nullptr && info != nullptr;
  if (ok) {
    png_init_io(png, file);
    ok = png_encode(png, info, &layout, &rows);
  } else {
    std::snprintf(message.text, sizeof message.text, "out of memory");
  }
  png_destroy_write_struct(&png, &info);
  const bool closed = std::fclose(file) == 0;
  if (!ok) throw runtime_error("cannot write " + quoted(path) + ": " + message.text);
  if (!closed) throw runtime_error("cannot write " + quoted(path) + ": " + std::strerror(errno));
}

/// Rows of a slice's index bytes, as they are.
const std::uint8_t* slice_row(const void* context, int j) {
  const auto* slice = static_cast<const Slice*>(context);
  return slice->material.data() + static_cast<std::size_t>(j) * static_cast<std::size_t>(slice->width);
}

// ---------------------------------------------------------------------------------------------
// (a) PNG stack.

bool is_stack_file(const std::string& name) {
  constexpr std::string_view kPrefix = "slice_";
  constexpr std::string_view kSuffix = ".png";
  if (name.size() <= kPrefix.size() + kSuffix.size()) return false;
  if (name.compare(0, kPrefix.size(), kPrefix) != 0) return false;
  if (name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) return false;
  return std::all_of(name.begin() + static_cast<std::ptrdiff_t>(kPrefix.size()),
                     name.end() - static_cast<std::ptrdiff_t>(kSuffix.size()),
                     [](char c) { return c >= '0' && c <= '9'; });
}

std::string padded(int value, int digits) {
  std::string s = std::to_string(value);
  if (static_cast<int>(s.size()) < digits) s.insert(0, static_cast<std::size_t>(digits) - s.size(), '0');
  return s;
}

class PngStackSink final : public FilePerSliceSink {
 public:
  explicit PngStackSink(fs::path folder) : folder_(without_trailing_separator(std::move(folder))) {}

  void begin(const Grid& grid, const std::vector<Material>& materials) override {
    sequence_.begin(grid, materials, folder_);
    std::error_code ec;
    if (fs::exists(folder_, ec)) {
      if (!fs::is_directory(folder_, ec)) {
        throw input_error("cannot write the slice stack " + quoted(folder_) + ": a file of that name is in the way");
      }
      for (const fs::directory_entry& entry : fs::directory_iterator(folder_, ec)) {
        if (!is_stack_file(entry.path().filename().string())) {
          throw input_error("cannot write the slice stack " + quoted(folder_) + ": the folder exists and holds " +
                            quoted(entry.path().filename()) + ", which is not a slice; choose an empty or new folder");
        }
      }
    }
    staging_ = std::make_unique<StagingFolder>(folder_, ".tmp-");
    digits_ = std::max(5, static_cast<int>(std::to_string(grid.nz - 1).size()));
    palette_.assign(materials.size() + 1, png_color{0, 0, 0});
    std::vector<png_byte> alpha(materials.size() + 1, 0);  // void: transparent black
    for (std::size_t m = 0; m < materials.size(); ++m) {
      palette_[m + 1] = png_color{materials[m].rgba[0], materials[m].rgba[1], materials[m].rgba[2]};
      alpha[m + 1] = materials[m].rgba[3];
    }
    // tRNS lists alphas up to the last one that is not opaque.
    std::size_t trns = alpha.size();
    while (trns > 0 && alpha[trns - 1] == 255) --trns;
    trns_.assign(alpha.begin(), alpha.begin() + static_cast<std::ptrdiff_t>(trns));
  }

  void finish() override {
    sequence_.check_complete();
    std::error_code ec;
    if (fs::exists(folder_, ec)) {
      // An earlier stack: move it aside, move the new one in, then delete the old one.
      StagingFolder old(folder_, ".old-");
      fs::rename(folder_, old.path(), ec);
      if (ec) throw runtime_error("cannot replace " + quoted(folder_) + ": " + ec.message());
      fs::rename(staging_->path(), folder_, ec);
      if (ec) {
        std::error_code restore;
        fs::rename(old.path(), folder_, restore);
        old.release();
        throw runtime_error("cannot write " + quoted(folder_) + ": " + ec.message());
      }
    } else {
      fs::rename(staging_->path(), folder_, ec);
      if (ec) throw runtime_error("cannot write " + quoted(folder_) + ": " + ec.message());
    }
    staging_->release();
  }

 private:
  void encode(const Slice& slice) const override {
    PngLayout layout;
    layout.width = static_cast<png_uint_32>(slice.width);
    layout.height = static_cast<png_uint_32>(slice.height);
    layout.color_type = PNG_COLOR_TYPE_PALETTE;
    layout.palette = palette_.data();
    layout.palette_size = static_cast<int>(palette_.size());
    layout.trns = trns_.data();
    layout.trns_size = static_cast<int>(trns_.size());
    const PngRows rows{&slice_row, &slice};
    write_png_file(staging_->path() / ("slice_" + padded(slice.k, digits_) + ".png"), layout, rows);
  }

  fs::path folder_;
  std::unique_ptr<StagingFolder> staging_;
  int digits_ = 5;
  std::vector<png_color> palette_;
  std::vector<png_byte> trns_;
};

// ---------------------------------------------------------------------------------------------
// (b) GrabCAD Voxel Print package.

std::string rgba_text(const std::array<std::uint8_t, 4>& rgba) {
  return std::to_string(rgba[0]) + " " + std::to_string(rgba[1]) + " " + std::to_string(rgba[2]) + " " +
         std::to_string(rgba[3]);
}

/// 25.4 / pitch as an integer when the pitch is a whole-dpi one, else the shortest exact decimal.
std::string dpi_text(double pitch_mm) {
  const double dpi = 25.4 / pitch_mm;
  const double whole = std::round(dpi);
  if (std::abs(dpi - whole) <= 1e-9 * std::max(1.0, whole)) return std::to_string(static_cast<long long>(whole));
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, dpi);
  return std::string(buffer, result.ptr);
}

std::string xml_escaped(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string grabcad_config(const Grid& grid, const std::vector<Material>& materials) {
  const long long thickness_nm = std::llround(grid.dz * 1e6);
  std::string xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<GCVF>\n  <Version>2</Version>\n";
  xml += "  <Resolution>\n    <XDpi>" + dpi_text(grid.dx) + "</XDpi>\n    <YDpi>" + dpi_text(grid.dy) +
         "</YDpi>\n    <SliceThicknessNanoMeter>" + std::to_string(thickness_nm) +
         "</SliceThicknessNanoMeter>\n  </Resolution>\n";
  xml += "  <SliceDimensions>\n    <SliceWidth>" + std::to_string(grid.nx) + "</SliceWidth>\n    <SliceHeight>" +
         std::to_string(grid.ny) + "</SliceHeight>\n  </SliceDimensions>\n";
  xml += "  <SliceRange>\n    <StartIndex>0</StartIndex>\n    <NumberOfSlices>" + std::to_string(grid.nz) +
         "</NumberOfSlices>\n  </SliceRange>\n";
  xml += "  <BitDepth>4</BitDepth>\n  <MaxNumberOfColors>" + std::to_string(materials.size()) +
         "</MaxNumberOfColors>\n  <DataSemantics>Materials</DataSemantics>\n  <CreationMode>MODEL_ONLY</CreationMode>\n"
         "  <ImageFilePrefix>layer_</ImageFilePrefix>\n";
  xml += "  <MaterialList>\n    <BackGroundMaterialRGBA>0 0 0 255</BackGroundMaterialRGBA>\n";
  for (const Material& m : materials) {
    xml += "    <Material>\n      <Name>" + xml_escaped(m.name) + "</Name>\n      <RGBA>" + rgba_text(m.rgba) +
           "</RGBA>\n    </Material>\n";
  }
  xml += "  </MaterialList>\n</GCVF>\n";
  return xml;
}

/// Rows of a slice as RGBA through a colour table; the one row buffer is reused.
struct RgbaRows {
  const Slice* slice = nullptr;
  const std::array<std::uint8_t, 4>* colours = nullptr;  ///< 256 entries
  std::uint8_t* buffer = nullptr;                        ///< width * 4 bytes
};

const std::uint8_t* rgba_row(const void* context, int j) {
  const auto* rows = static_cast<const RgbaRows*>(context);
  const std::size_t width = static_cast<std::size_t>(rows->slice->width);
  const std::uint8_t* in = rows->slice->material.data() + static_cast<std::size_t>(j) * width;
  for (std::size_t i = 0; i < width; ++i) std::memcpy(rows->buffer + 4 * i, rows->colours[in[i]].data(), 4);
  return rows->buffer;
}

/// Owns an open libzip archive; discards it (writing nothing) unless closed.
struct ZipArchive {
  zip_t* zip = nullptr;
  ~ZipArchive() {
    if (zip != nullptr) zip_discard(zip);
  }
};

class GrabcadSink final : public FilePerSliceSink {
 public:
  explicit GrabcadSink(fs::path file) : file_(std::move(file)) {}

  void begin(const Grid& grid, const std::vector<Material>& materials) override {
    sequence_.begin(grid, materials, file_);
    if (static_cast<int>(materials.size()) > kMaxMaterials4Bit) {
      throw input_error("cannot write the GrabCAD package " + quoted(file_) + ": it holds at most " +
                        std::to_string(kMaxMaterials4Bit) + " materials (BitDepth 4), the job has " +
                        std::to_string(materials.size()));
    }
    constexpr std::array<std::uint8_t, 4> kBackground{0, 0, 0, 255};
    std::set<std::array<std::uint8_t, 4>> seen{kBackground};
    for (const Material& m : materials) {
      if (!seen.insert(m.rgba).second) {
        throw input_error("cannot write the GrabCAD package " + quoted(file_) + ": material '" + m.name +
                          "' has colour " + rgba_text(m.rgba) +
                          (m.rgba == kBackground ? ", the background's" : ", like another material") +
                          "; in a GrabCAD package each material needs its own RGBA");
      }
    }
    colours_.fill(kBackground);
    for (std::size_t m = 0; m < materials.size(); ++m) colours_[m + 1] = materials[m].rgba;
    config_ = grabcad_config(grid, materials);
    std::error_code ec;
    parent_folder(file_);
    if (fs::is_directory(file_, ec)) throw input_error("cannot write " + quoted(file_) + ": it is a folder");
    output_ = std::make_unique<AtomicFile>(file_);
    staging_ = std::make_unique<StagingFolder>(file_, ".layers-");
  }

  void finish() override {
    sequence_.check_complete();
    const fs::path& temp = output_->temp_path();
    ZipArchive archive;
    int code = 0;
    archive.zip = zip_open(temp.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &code);
    if (archive.zip == nullptr) {
      zip_error_t error;
      zip_error_init_with_code(&error, code);
      const std::string text = zip_error_strerror(&error);
      zip_error_fini(&error);
      throw runtime_error("cannot write " + quoted(file_) + ": " + text);
    }
    for (int k = 0; k < sequence_.grid().nz; ++k) {
      const std::string name = "layer_" + std::to_string(k) + ".png";
      zip_source_t* source = zip_source_file(archive.zip, layer_path(k).c_str(), 0, -1);
      add(archive.zip, name, source, ZIP_CM_STORE);  // PNGs are compressed already
    }
    zip_source_t* config = zip_source_buffer(archive.zip, config_.data(), config_.size(), 0);
    add(archive.zip, "ConfigFile.xml", config, ZIP_CM_DEFLATE);
    if (zip_close(archive.zip) != 0) {
      throw runtime_error("cannot write " + quoted(file_) + ": " + zip_strerror(archive.zip));
    }
    archive.zip = nullptr;
    output_->commit();
    staging_.reset();  // the layer PNGs are in the zip now
  }

 private:
  fs::path layer_path(int k) const { return staging_->path() / ("layer_" + std::to_string(k) + ".png"); }

  // The layers wait as files in the staging folder until finish() packs them.
  void encode(const Slice& slice) const override {
    PngLayout layout;
    layout.width = static_cast<png_uint_32>(slice.width);
    layout.height = static_cast<png_uint_32>(slice.height);
    layout.color_type = PNG_COLOR_TYPE_RGB_ALPHA;
    std::vector<std::uint8_t> row(static_cast<std::size_t>(slice.width) * 4);  // one RGBA row at a time
    const RgbaRows context{&slice, colours_.data(), row.data()};
    const PngRows rows{&rgba_row, &context};
    write_png_file(layer_path(slice.k), layout, rows);
  }

  /// Adds an entry with a fixed time stamp (1980-01-01 00:00), so reruns give identical bytes.
  void add(zip_t* zip, const std::string& name, zip_source_t* source, std::int32_t method) {
    if (source == nullptr) throw runtime_error("cannot write " + quoted(file_) + ": " + zip_strerror(zip));
    const zip_int64_t index = zip_file_add(zip, name.c_str(), source, ZIP_FL_ENC_UTF_8);
    if (index < 0) {
      zip_source_free(source);
      throw runtime_error("cannot write " + quoted(file_) + ": " + zip_strerror(zip));
    }
    const auto at = static_cast<zip_uint64_t>(index);
    constexpr zip_uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;  // 1980-01-01
    if (zip_set_file_compression(zip, at, method, method == ZIP_CM_DEFLATE ? 9 : 0) != 0 ||
        zip_file_set_dostime(zip, at, 0, kDosDate, 0) != 0) {
      throw runtime_error("cannot write " + quoted(file_) + ": " + zip_strerror(zip));
    }
  }

  fs::path file_;
  std::array<std::array<std::uint8_t, 4>, 256> colours_{};
  std::string config_;
  std::unique_ptr<AtomicFile> output_;  // destroyed after staging_: declared first
  std::unique_ptr<StagingFolder> staging_;
};

// ---------------------------------------------------------------------------------------------
// (d) Raw 4-bit.

void put_u32(std::string& out, std::uint32_t v) {
  for (int b = 0; b < 4; ++b) out += static_cast<char>((v >> (8 * b)) & 0xFF);
}

void put_f64(std::string& out, double v) {
  std::uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof bits);
  for (int b = 0; b < 8; ++b) out += static_cast<char>((bits >> (8 * b)) & 0xFF);
}

std::string raw4_header(const Grid& grid, const std::vector<Material>& materials) {
  std::string body;
  for (int v : {grid.nx, grid.ny, grid.nz}) put_u32(body, static_cast<std::uint32_t>(v));
  for (double v : {grid.dx, grid.dy, grid.dz, grid.origin.x, grid.origin.y, grid.origin.z}) put_f64(body, v);
  put_u32(body, static_cast<std::uint32_t>(materials.size()));
  for (const Material& m : materials) {
    put_u32(body, static_cast<std::uint32_t>(m.id));
    for (std::uint8_t c : m.rgba) body += static_cast<char>(c);
    put_u32(body, static_cast<std::uint32_t>(m.name.size()));
    body += m.name;
  }
  std::string header = "FFVX";
  put_u32(header, 1);
  put_u32(header, static_cast<std::uint32_t>(12 + body.size()));
  return header + body;
}

class Raw4Sink final : public SliceSink {
 public:
  explicit Raw4Sink(fs::path file) : file_(std::move(file)) {}

  void begin(const Grid& grid, const std::vector<Material>& materials) override {
    sequence_.begin(grid, materials, file_);
    if (static_cast<int>(materials.size()) > kMaxMaterials4Bit) {
      throw input_error("cannot write the raw 4-bit file " + quoted(file_) + ": it holds at most " +
                        std::to_string(kMaxMaterials4Bit) + " materials (4 bits per voxel, one value for void), " +
                        "the job has " + std::to_string(materials.size()));
    }
    parent_folder(file_);
    std::error_code ec;
    if (fs::is_directory(file_, ec)) throw input_error("cannot write " + quoted(file_) + ": it is a folder");
    output_ = std::make_unique<AtomicFile>(file_);
    out_.open(output_->temp_path(), std::ios::binary | std::ios::trunc);
    if (!out_) throw input_error("cannot write " + quoted(file_) + ": " + std::strerror(errno));
    const std::string header = raw4_header(grid, materials);
    out_.write(header.data(), static_cast<std::streamsize>(header.size()));
    flush_checked();
    buffer_.resize(64 * 1024);
  }

  void write(const Slice& slice) override {
    sequence_.check(slice);
    // Pack in fixed-size pieces: two voxels per byte, the even one in the low nibble.
    const std::uint8_t* in = slice.material.data();
    const std::size_t voxels = slice.material.size();
    const std::size_t per_piece = buffer_.size() * 2;
    for (std::size_t start = 0; start < voxels; start += per_piece) {
      const std::size_t count = std::min(per_piece, voxels - start);
      const std::size_t pairs = count / 2;
      for (std::size_t p = 0; p < pairs; ++p) {
        buffer_[p] = static_cast<char>(in[start + 2 * p] | (in[start + 2 * p + 1] << 4));
      }
      std::size_t bytes = pairs;
      if (count % 2 != 0) buffer_[bytes++] = static_cast<char>(in[start + count - 1]);  // only at the slice end
      out_.write(buffer_.data(), static_cast<std::streamsize>(bytes));
    }
    flush_checked();
    sequence_.advance();
  }

  void finish() override {
    sequence_.check_complete();
    out_.close();
    if (!out_) throw runtime_error("cannot write " + quoted(file_) + ": write failed (disk full?)");
    output_->commit();
  }

 private:
  void flush_checked() {
    out_.flush();
    if (!out_) throw runtime_error("cannot write " + quoted(file_) + ": write failed (disk full?)");
  }

  fs::path file_;
  SliceSequence sequence_;
  std::unique_ptr<AtomicFile> output_;
  std::ofstream out_;  // closed before output_ removes the temporary file: declared after it
  std::vector<char> buffer_;
};

}  // namespace

std::unique_ptr<SliceSink> make_png_stack_sink(fs::path folder) {
  return std::make_unique<PngStackSink>(std::move(folder));
}

std::unique_ptr<SliceSink> make_grabcad_sink(fs::path zip_file) {
  return std::make_unique<GrabcadSink>(std::move(zip_file));
}

std::unique_ptr<SliceSink> make_raw4_sink(fs::path file) { return std::make_unique<Raw4Sink>(std::move(file)); }

}  // namespace fabforge::voxel
