#pragma once
// Test helpers that make and read image files with libpng and libjpeg directly, independently of
// fabforge's own codec: a JPEG writer, a PNG reader through libpng's simplified API, and a
// low-level PNG writer for the layouts fabforge never writes (palettes, 1-bit grey, tRNS,
// interlacing). Inputs are always valid here, so libraries' default error handling (abort) is
// fine.

// jpeglib.h uses size_t and FILE without including their headers.
// clang-format off
#include <cstddef>
#include <cstdio>
#include <jpeglib.h>
// clang-format on

#include <gtest/gtest.h>
#include <png.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "fabforge/core/image.hpp"

namespace fabforge::test {

/// Encodes 1 (grey), 3 (RGB) or 4-channel (CMYK, stored as given) samples as a baseline JPEG.
inline std::string encode_jpeg(const Image8& image, int quality = 90, bool progressive = false) {
  jpeg_compress_struct c{};
  jpeg_error_mgr errors{};
  c.err = jpeg_std_error(&errors);
  jpeg_create_compress(&c);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &buffer, &size);
  c.image_width = static_cast<JDIMENSION>(image.width);
  c.image_height = static_cast<JDIMENSION>(image.height);
  c.input_components = image.channels;
  c.in_color_space = image.channels == 1 ? JCS_GRAYSCALE : image.channels == 3 ? JCS_RGB : JCS_CMYK;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, quality, TRUE);
  if (progressive) jpeg_simple_progression(&c);
  jpeg_start_compress(&c, TRUE);
  const auto row_bytes = static_cast<std::size_t>(image.width) * static_cast<std::size_t>(image.channels);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(image.pixels.data() + c.next_scanline * row_bytes);
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  std::string out(reinterpret_cast<const char*>(buffer), size);
  jpeg_destroy_compress(&c);
  std::free(buffer);
  return out;
}

/// A PNG file read by libpng's simplified API as 8-bit RGBA (grey replicated, opaque alpha added).
struct Rgba8 {
  int width = 0, height = 0;
  std::vector<std::uint8_t> pixels;
};

inline Rgba8 read_png_rgba(const std::filesystem::path& path) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  Rgba8 out;
  if (png_image_begin_read_from_file(&image, path.c_str()) == 0) {
    ADD_FAILURE() << path << ": " << image.message;
    return out;
  }
  image.format = PNG_FORMAT_RGBA;
  out.width = static_cast<int>(image.width);
  out.height = static_cast<int>(image.height);
  out.pixels.resize(PNG_IMAGE_SIZE(image));
  if (png_image_finish_read(&image, nullptr, out.pixels.data(), 0, nullptr) == 0) {
    ADD_FAILURE() << path << ": " << image.message;
  }
  return out;
}

/// A PNG as stored: rows of packed samples (16-bit ones big-endian), in any colour type.
struct RawPng {
  int width = 0, height = 0, bit_depth = 8, color_type = PNG_COLOR_TYPE_GRAY;
  bool interlaced = false;
  std::vector<png_color> palette;
  std::vector<png_byte> palette_alpha;      ///< tRNS for a palette image
  std::optional<png_color_16> transparent;  ///< tRNS for a grey or RGB image
  std::vector<std::vector<png_byte>> rows;
};

inline void write_raw_png(const std::filesystem::path& path, const RawPng& raw) {
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  png_init_io(png, f);
  png_set_IHDR(png, info, static_cast<png_uint_32>(raw.width), static_cast<png_uint_32>(raw.height), raw.bit_depth,
               raw.color_type, raw.interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (!raw.palette.empty()) png_set_PLTE(png, info, raw.palette.data(), static_cast<int>(raw.palette.size()));
  if (!raw.palette_alpha.empty()) {
    png_set_tRNS(png, info, raw.palette_alpha.data(), static_cast<int>(raw.palette_alpha.size()), nullptr);
  }
  if (raw.transparent) png_set_tRNS(png, info, nullptr, 1, &*raw.transparent);
  png_write_info(png, info);
  std::vector<png_bytep> rows;
  for (const auto& r : raw.rows) rows.push_back(const_cast<png_bytep>(r.data()));
  png_write_image(png, rows.data());  // interlaces itself when the header says so
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  std::fclose(f);
}

}  // namespace fabforge::test
