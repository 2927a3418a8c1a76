// The PNG and JPEG decoders behind load_image8 / load_imagef (src/core/image_codec.cpp): the file
// layouts fabforge never writes itself, EXIF orientation, and damaged files, which must give an
// input error naming the file (or, for recoverable JPEG damage, a picture) and print nothing.

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>

#include "fabforge/core/error.hpp"
#include "fabforge/core/image.hpp"

#include "image_files.hpp"
#include "support/test_support.hpp"

namespace fabforge {
namespace {

namespace fs = std::filesystem;
using test::encode_jpeg;
using test::RawPng;
using test::read_bytes;
using test::TempDir;
using test::write_bytes;
using test::write_raw_png;

/// Expects `call` to throw an input Error mentioning every needle, and nothing on stderr.
template <class Call>
void expect_silent_input_error(Call&& call, const std::vector<std::string>& needles) {
  testing::internal::CaptureStderr();
  try {
    call();
    ADD_FAILURE() << "no exception";
  } catch (const Error& e) {
    for (const auto& n : needles) EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
    EXPECT_EQ(e.kind(), ErrorKind::input) << e.what();
  }
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

Image8 pattern8(int w, int h, int channels) {
  Image8 img(w, h, channels);
  for (std::size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<std::uint8_t>((i * 37 + 11) % 256);
  return img;
}

std::uint32_t be32(const std::string& b, std::size_t at) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(b.at(at + i));
  return v;
}

std::string be32_bytes(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

/// A PNG chunk with its length and CRC (or a wrong CRC).
std::string chunk(const std::string& type, const std::string& data, bool good_crc = true) {
  const std::string body = type + data;
  auto crc =
      static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size())));
  if (!good_crc) crc ^= 1;
  return be32_bytes(static_cast<std::uint32_t>(data.size())) + body + be32_bytes(crc);
}

/// Byte offset of the first IDAT chunk's length field.
std::size_t find_idat(const std::string& png) {
  const std::size_t type = png.find("IDAT");
  EXPECT_NE(type, std::string::npos);
  return type - 4;
}

// ---------------------------------------------------------------------------------------------
// PNG layouts.

TEST(ImagePngDecode, PaletteWithTransparencyBecomesRgba) {
  TempDir dir;
  RawPng raw;
  raw.width = 4;
  raw.height = 2;
  raw.bit_depth = 2;
  raw.color_type = PNG_COLOR_TYPE_PALETTE;
  raw.palette = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {10, 20, 30}};
  raw.rows = {{0x1B}, {0xE4}};  // indices 0 1 2 3, then 3 2 1 0
  write_raw_png(dir / "opaque.png", raw);
  raw.palette_alpha = {0, 128};  // entries 2 and 3 stay opaque
  write_raw_png(dir / "clear.png", raw);

  const Image8 opaque = load_image8(dir / "opaque.png");
  ASSERT_EQ(opaque.channels, 3);
  EXPECT_EQ(probe_image(dir / "opaque.png").channels, 3);
  EXPECT_EQ(opaque.at(3, 0, 0), 10);
  EXPECT_EQ(opaque.at(3, 0, 2), 30);

  const ImageFileInfo info = probe_image(dir / "clear.png");
  EXPECT_EQ(info.channels, 4);
  EXPECT_EQ(info.bit_depth, 8);
  const Image8 img = load_image8(dir / "clear.png");
  ASSERT_EQ(img.channels, 4);
  ASSERT_EQ(img.width, 4);
  const std::uint8_t expected[4][4] = {{255, 0, 0, 0}, {0, 255, 0, 128}, {0, 0, 255, 255}, {10, 20, 30, 255}};
  for (int x = 0; x < 4; ++x)
    for (int c = 0; c < 4; ++c) {
      EXPECT_EQ(img.at(x, 0, c), expected[x][c]) << x << "," << c;
      EXPECT_EQ(img.at(3 - x, 1, c), expected[x][c]) << x << "," << c;
    }
}

TEST(ImagePngDecode, LowBitGreyIsScaledAndGreyTransparencyIgnored) {
  TempDir dir;
  RawPng one;
  one.width = 8;
  one.height = 1;
  one.bit_depth = 1;
  one.rows = {{0xB1}};  // 1 0 1 1 0 0 0 1
  one.transparent = png_color_16{0, 0, 0, 0, 1};
  write_raw_png(dir / "one.png", one);
  const Image8 a = load_image8(dir / "one.png");
  ASSERT_EQ(a.channels, 1);  // a grey image's tRNS is dropped, not turned into alpha
  EXPECT_EQ(probe_image(dir / "one.png").channels, 1);
  EXPECT_EQ(a.pixels, (std::vector<std::uint8_t>{255, 0, 255, 255, 0, 0, 0, 255}));

  RawPng four;
  four.width = 3;
  four.height = 1;
  four.bit_depth = 4;
  four.rows = {{0x0F, 0x50}};  // 0, 15, 5
  write_raw_png(dir / "four.png", four);
  EXPECT_EQ(load_image8(dir / "four.png").pixels, (std::vector<std::uint8_t>{0, 255, 85}));
}

TEST(ImagePngDecode, InterlacedEqualsPlain) {
  TempDir dir;
  for (int depth : {8, 16}) {
    RawPng raw;
    raw.width = 13;
    raw.height = 11;
    raw.bit_depth = depth;
    raw.color_type = PNG_COLOR_TYPE_RGB_ALPHA;
    const Image8 src = pattern8(13 * depth / 8, 11, 4);  // 16-bit: two bytes per sample
    for (int y = 0; y < 11; ++y) raw.rows.emplace_back(&src.pixels[src.index(0, y)], &src.pixels[src.index(0, y + 1)]);
    write_raw_png(dir / "plain.png", raw);
    raw.interlaced = true;
    write_raw_png(dir / "interlaced.png", raw);
    const ImageF plain = load_imagef(dir / "plain.png", Encoding::srgb);
    const ImageF interlaced = load_imagef(dir / "interlaced.png", Encoding::srgb);
    ASSERT_EQ(interlaced.width, 13);
    ASSERT_EQ(interlaced.channels, 4);
    EXPECT_EQ(interlaced.pixels, plain.pixels) << depth;
    // The samples are the stored bytes (big-endian pairs for 16 bits).
    const float scale = depth == 8 ? 255.0f : 65535.0f;
    for (int x : {0, 6, 12}) {
      const std::size_t at = src.index(x * depth / 8, 10);
      const int stored = depth == 8 ? src.pixels[at] : (src.pixels[at] << 8) | src.pixels[at + 1];
      EXPECT_EQ(interlaced.at(x, 10, 0), static_cast<float>(stored / static_cast<double>(scale))) << depth;
    }
  }
}

TEST(ImagePngDecode, SixteenBitRgbTransparencyBecomesAlpha) {
  TempDir dir;
  RawPng raw;
  raw.width = 3;
  raw.height = 1;
  raw.bit_depth = 16;
  raw.color_type = PNG_COLOR_TYPE_RGB;
  raw.transparent = png_color_16{0, 1000, 2000, 3000, 0};
  const std::uint16_t px[3][3] = {{1000, 2000, 3000}, {1000, 2000, 3001}, {65535, 0, 1}};
  raw.rows.emplace_back();
  for (const auto& p : px)
    for (std::uint16_t v : p) {
      raw.rows[0].push_back(static_cast<png_byte>(v >> 8));
      raw.rows[0].push_back(static_cast<png_byte>(v & 0xFF));
    }
  write_raw_png(dir / "trns16.png", raw);
  const ImageFileInfo info = probe_image(dir / "trns16.png");
  EXPECT_EQ(info.channels, 4);
  EXPECT_EQ(info.bit_depth, 16);
  const ImageF img = load_imagef(dir / "trns16.png", Encoding::srgb);
  ASSERT_EQ(img.channels, 4);
  for (int x = 0; x < 3; ++x)
    for (int c = 0; c < 3; ++c) EXPECT_EQ(img.at(x, 0, c), static_cast<float>(px[x][c] / 65535.0)) << x;
  EXPECT_EQ(img.at(0, 0, 3), 0.0f);
  EXPECT_EQ(img.at(1, 0, 3), 1.0f);
  EXPECT_EQ(img.at(2, 0, 3), 1.0f);
}

// ---------------------------------------------------------------------------------------------
// Damaged PNG files.

TEST(ImagePngDamage, BadAncillaryChunkIsSkippedSilently) {
  TempDir dir;
  const Image8 img = pattern8(20, 10, 3);
  save_png(dir / "good.png", img);
  std::string bytes = read_bytes(dir / "good.png");
  bytes.insert(33, chunk("tEXt", std::string("Comment\0hello", 13), false));  // right after IHDR
  write_bytes(dir / "text.png", bytes);
  testing::internal::CaptureStderr();
  const Image8 back = load_image8(dir / "text.png");
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  EXPECT_EQ(back.pixels, img.pixels);
}

TEST(ImagePngDamage, CorruptImageDataIsASilentInputError) {
  TempDir dir;
  save_png(dir / "good.png", pattern8(20, 10, 3));
  const std::string good = read_bytes(dir / "good.png");
  const std::size_t idat = find_idat(good);
  const std::uint32_t length = be32(good, idat);

  // A broken zlib header with a correct chunk CRC: only the decompressor can notice.
  std::string data = good.substr(idat + 8, length);
  data[0] = 0x00;
  const std::string zlib_bad = good.substr(0, idat) + chunk("IDAT", data) + good.substr(idat + 12 + length);
  write_bytes(dir / "zlib.png", zlib_bad);
  expect_silent_input_error([&] { (void)load_image8(dir / "zlib.png"); }, {"zlib.png", "not a valid PNG"});

  // Intact data under a wrong chunk CRC.
  std::string crc_bad = good;
  crc_bad[idat + 8 + length] = static_cast<char>(crc_bad[idat + 8 + length] ^ 0x10);
  write_bytes(dir / "crc.png", crc_bad);
  expect_silent_input_error([&] { (void)load_imagef(dir / "crc.png"); }, {"crc.png", "CRC"});
}

// ---------------------------------------------------------------------------------------------
// JPEG.

TEST(ImageJpegDecode, EveryExifOrientation) {
  // 32 x 16, white in the top-left 8 x 8 block. Where that block is shown, per orientation:
  // 1 top-left, 2 top-right, 3 bottom-right, 4 bottom-left, and the same for 5..8 with the image
  // turned to 16 x 32.
  Image8 src(32, 16, 1);
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 8; ++x) src.at(x, y) = 255;
  const std::string jpeg = encode_jpeg(src, 100);
  TempDir dir;
  for (int o = 1; o <= 8; ++o) {
    const std::string exif = std::string(
                                 "\xFF\xE1\x00\x22"
                                 "Exif\0\0"
                                 "MM\x00\x2A\x00\x00\x00\x08"
                                 "\x00\x01"
                                 "\x01\x12\x00\x03\x00\x00\x00\x01\x00",
                                 29) +
                             static_cast<char>(o) + std::string("\x00\x00\x00\x00\x00\x00", 6);
    ASSERT_EQ(exif.size(), 36u);
    std::string file = jpeg;
    file.insert(2, exif);
    const fs::path path = dir / ("o" + std::to_string(o) + ".jpg");
    write_bytes(path, file);
    const Image8 img = load_image8(path);
    const int w = o >= 5 ? 16 : 32, h = o >= 5 ? 32 : 16;
    ASSERT_EQ(img.width, w) << o;
    ASSERT_EQ(img.height, h) << o;
    EXPECT_EQ(probe_image(path).width, w) << o;
    const int corner = (o - 1) % 4;  // 0 TL, 1 TR, 2 BR, 3 BL
    const int cx[4] = {0, w - 1, w - 1, 0}, cy[4] = {0, 0, h - 1, h - 1};
    for (int k = 0; k < 4; ++k) {
      if (k == corner) {
        EXPECT_GT(img.at(cx[k], cy[k]), 200) << "orientation " << o << " corner " << k;
      } else {
        EXPECT_LT(img.at(cx[k], cy[k]), 50) << "orientation " << o << " corner " << k;
      }
    }
  }
}

TEST(ImageJpegDecode, CmykIsConvertedToRgb) {
  // Adobe's inverted CMYK, where a sample is the light its ink lets through (255: no ink). Left
  // half: no cyan, half magenta, full yellow, no black; right half: only black, passing half.
  Image8 cmyk(16, 8, 4);
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 16; ++x) {
      const std::uint8_t left[4] = {255, 128, 0, 255}, right[4] = {255, 255, 255, 128};
      for (int c = 0; c < 4; ++c) cmyk.at(x, y, c) = x < 8 ? left[c] : right[c];
    }
  TempDir dir;
  write_bytes(dir / "cmyk.jpg", encode_jpeg(cmyk, 100));
  EXPECT_EQ(probe_image(dir / "cmyk.jpg").channels, 3);
  const Image8 img = load_image8(dir / "cmyk.jpg");
  ASSERT_EQ(img.channels, 3);
  EXPECT_NEAR(img.at(2, 4, 0), 255, 3);
  EXPECT_NEAR(img.at(2, 4, 1), 128, 3);
  EXPECT_NEAR(img.at(2, 4, 2), 0, 3);
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(img.at(13, 4, c), 128, 3);
}

TEST(ImageJpegDecode, ProgressiveDecodesLikeBaseline) {
  const Image8 src = pattern8(40, 24, 3);
  TempDir dir;
  write_bytes(dir / "base.jpg", encode_jpeg(src, 95));
  write_bytes(dir / "prog.jpg", encode_jpeg(src, 95, true));
  const Image8 base = load_image8(dir / "base.jpg");
  const Image8 prog = load_image8(dir / "prog.jpg");
  ASSERT_EQ(prog.pixels.size(), base.pixels.size());
  int worst = 0;
  for (std::size_t i = 0; i < base.pixels.size(); ++i)
    worst = std::max(worst, std::abs(base.pixels[i] - prog.pixels[i]));
  EXPECT_LE(worst, 2);
}

TEST(ImageJpegDamage, DamagedScanStillLoadsSilently) {
  // Image data cut in the middle but still closed by an end marker: libjpeg warns ("premature end
  // of data segment") and fills the rest; the picture loads and nothing is printed.
  std::mt19937 rng(9);
  Image8 noise(64, 64, 3);
  for (auto& v : noise.pixels) v = static_cast<std::uint8_t>(rng() & 0xFF);
  const std::string jpeg = encode_jpeg(noise);
  TempDir dir;
  write_bytes(dir / "cut.jpg", jpeg.substr(0, jpeg.size() * 2 / 3) + "\xFF\xD9");
  testing::internal::CaptureStderr();
  const Image8 img = load_image8(dir / "cut.jpg");
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  EXPECT_EQ(img.width, 64);
  EXPECT_EQ(img.height, 64);
}

TEST(ImageJpegDamage, BadHuffmanTableIsASilentInputError) {
  std::string jpeg = encode_jpeg(pattern8(16, 16, 3));
  const std::size_t dht = jpeg.find("\xFF\xC4");
  ASSERT_NE(dht, std::string::npos);
  jpeg[dht + 4] = 0x1F;  // table class 1, index 15: there are only 4
  TempDir dir;
  write_bytes(dir / "dht.jpg", jpeg);
  expect_silent_input_error([&] { (void)load_image8(dir / "dht.jpg"); }, {"dht.jpg", "not a valid JPEG"});
}

}  // namespace
}  // namespace fabforge
