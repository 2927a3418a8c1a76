#include "fabforge/core/image.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>

#include "fabforge/core/color.hpp"
#include "fabforge/core/error.hpp"

#include "image_files.hpp"
#include "support/test_support.hpp"

namespace fabforge {
namespace {

namespace fs = std::filesystem;
using test::encode_jpeg;
using test::read_bytes;
using test::read_png_rgba;
using test::TempDir;
using test::write_bytes;

/// A pattern in which every channel of every pixel differs from its neighbours.
Image8 pattern8(int w, int h, int channels) {
  Image8 img(w, h, channels);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < channels; ++c) img.at(x, y, c) = static_cast<std::uint8_t>((x * 7 + y * 13 + c * 50) % 256);
  return img;
}

/// Samples spread over the whole 16-bit range, exactly representable as k / 65535.
ImageF pattern16(int w, int h, int channels) {
  ImageF img(w, h, channels, Encoding::srgb);
  for (std::size_t i = 0; i < img.pixels.size(); ++i) {
    img.pixels[i] = static_cast<float>(static_cast<double>((i * 40503 + 17) % 65536) / 65535.0);
  }
  return img;
}

struct PngHeader {
  std::uint32_t width = 0, height = 0;
  int bit_depth = 0, color_type = 0;
};

/// Reads the IHDR straight from the bytes, independently of any decoder.
PngHeader png_header(const std::string& bytes) {
  auto be32 = [&](std::size_t at) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(bytes.at(at + i));
    return v;
  };
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(bytes.substr(12, 4), "IHDR");
  return {be32(16), be32(20), static_cast<unsigned char>(bytes.at(24)), static_cast<unsigned char>(bytes.at(25))};
}

template <class T>
double mean_of_channel(const Image<T>& img, int c) {
  double sum = 0;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) sum += img.at(x, y, c);
  return sum / static_cast<double>(img.pixel_count());
}

/// Expects `call` to throw fabforge::Error of `kind` whose message contains `needle`.
template <class Call>
void expect_error(Call&& call, const std::string& needle, ErrorKind kind = ErrorKind::input) {
  try {
    call();
    ADD_FAILURE() << "no exception; expected one mentioning " << needle;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_EQ(e.kind(), kind) << e.what();
  }
}

// ---------------------------------------------------------------------------------------------
// PNG files.

TEST(ImagePng, RoundTrips8BitForEveryChannelCount) {
  TempDir dir;
  const int expected_color_type[] = {0, 0, 4, 2, 6};
  for (int channels = 1; channels <= 4; ++channels) {
    const Image8 img = pattern8(37, 23, channels);
    const fs::path path = dir / (std::to_string(channels) + "-channel.png");
    save_png(path, img);
    const Image8 back = load_image8(path);
    EXPECT_EQ(back.width, 37);
    EXPECT_EQ(back.height, 23);
    ASSERT_EQ(back.channels, channels);
    EXPECT_EQ(back.pixels, img.pixels) << channels << " channels";

    const PngHeader h = png_header(read_bytes(path));
    EXPECT_EQ(h.width, 37u);
    EXPECT_EQ(h.height, 23u);
    EXPECT_EQ(h.bit_depth, 8);
    EXPECT_EQ(h.color_type, expected_color_type[channels]);

    const ImageFileInfo info = probe_image(path);
    EXPECT_EQ(info.width, 37);
    EXPECT_EQ(info.height, 23);
    EXPECT_EQ(info.channels, channels);
    EXPECT_EQ(info.bit_depth, 8);
  }
}

TEST(ImagePng, EncodePngMatchesSavedFile) {
  TempDir dir;
  const Image8 img = pattern8(16, 9, 3);
  save_png(dir / "a.png", img);
  const std::vector<std::uint8_t> bytes = encode_png(img);
  EXPECT_EQ(std::string(bytes.begin(), bytes.end()), read_bytes(dir / "a.png"));
}

TEST(ImagePng, ChannelOrderIsRgbNotBgr) {
  TempDir dir;
  Image8 red(3, 2, 3);
  Image8 red_alpha(3, 2, 4);
  for (std::size_t p = 0; p < red.pixel_count(); ++p) {
    red.pixels[3 * p] = 255;
    red_alpha.pixels[4 * p] = 255;
    red_alpha.pixels[4 * p + 3] = 90;
  }
  save_png(dir / "red.png", red);
  save_png(dir / "red_alpha.png", red_alpha);
  const Image8 back = load_image8(dir / "red.png");
  EXPECT_EQ(back.at(1, 1, 0), 255);
  EXPECT_EQ(back.at(1, 1, 1), 0);
  EXPECT_EQ(back.at(1, 1, 2), 0);
  // Another reader (libpng's simplified API, RGBA order) must find red first.
  const test::Rgba8 rgb = read_png_rgba(dir / "red.png");
  ASSERT_EQ(rgb.pixels.size(), 6u * 4u);
  EXPECT_EQ(rgb.pixels[0], 255);
  EXPECT_EQ(rgb.pixels[1], 0);
  EXPECT_EQ(rgb.pixels[2], 0);
  EXPECT_EQ(rgb.pixels[3], 255);
  const test::Rgba8 rgba = read_png_rgba(dir / "red_alpha.png");
  ASSERT_EQ(rgba.pixels.size(), 6u * 4u);
  const std::size_t at = 4 * (1 * 3 + 2);  // pixel (2, 1)
  EXPECT_EQ(rgba.pixels[at], 255);
  EXPECT_EQ(rgba.pixels[at + 1], 0);
  EXPECT_EQ(rgba.pixels[at + 2], 0);
  EXPECT_EQ(rgba.pixels[at + 3], 90);
}

TEST(ImagePng, GreyAlphaFilesAreRealGreyAlpha) {
  // Check that what we write decodes in another reader (libpng's simplified API, expanding to
  // RGBA) as grey replicated plus the alpha.
  TempDir dir;
  const Image8 img = pattern8(11, 5, 2);
  save_png(dir / "ga.png", img);
  EXPECT_EQ(png_header(read_bytes(dir / "ga.png")).color_type, 4);
  const test::Rgba8 m = read_png_rgba(dir / "ga.png");
  ASSERT_EQ(m.pixels.size(), 11u * 5u * 4u);
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 11; ++x) {
      const std::uint8_t* px = &m.pixels[4 * static_cast<std::size_t>(y * 11 + x)];
      EXPECT_EQ(px[0], img.at(x, y, 0));
      EXPECT_EQ(px[1], img.at(x, y, 0));
      EXPECT_EQ(px[2], img.at(x, y, 0));
      EXPECT_EQ(px[3], img.at(x, y, 1));
    }
}

TEST(ImagePng, SixteenBitKeepsFullPrecision) {
  TempDir dir;
  for (int channels = 1; channels <= 4; ++channels) {
    const ImageF img = pattern16(19, 7, channels);
    const fs::path path = dir / (std::to_string(channels) + "-channel-16.png");
    save_png(path, img, 16);
    const ImageFileInfo info = probe_image(path);
    EXPECT_EQ(info.bit_depth, 16);
    EXPECT_EQ(info.channels, channels);
    EXPECT_EQ(png_header(read_bytes(path)).bit_depth, 16);

    const ImageF back = load_imagef(path, Encoding::srgb);
    ASSERT_EQ(back.channels, channels);
    EXPECT_EQ(back.encoding, Encoding::srgb);
    double worst = 0;
    for (std::size_t i = 0; i < img.pixels.size(); ++i) {
      worst = std::max(worst, static_cast<double>(std::abs(back.pixels[i] - img.pixels[i])));
    }
    EXPECT_LE(worst, 1.0 / 65535.0) << channels << " channels";

    // The 8-bit view of the same file rounds each sample to the nearest of 256 levels.
    const Image8 as8 = load_image8(path);
    for (std::size_t i = 0; i < img.pixels.size(); ++i) {
      ASSERT_EQ(as8.pixels[i], std::lround(img.pixels[i] * 255.0)) << i;
    }
  }
}

TEST(ImagePng, SixteenBitFromLinearImageEncodesToSrgb) {
  TempDir dir;
  ImageF lin(64, 1, 2, Encoding::linear);
  for (int x = 0; x < 64; ++x) {
    lin.at(x, 0, 0) = static_cast<float>(x) / 63.0f;
    lin.at(x, 0, 1) = 0.25f;  // alpha is written as is
  }
  save_png(dir / "lin.png", lin, 16);
  const ImageF enc = load_imagef(dir / "lin.png", Encoding::srgb);
  const ImageF back = load_imagef(dir / "lin.png", Encoding::linear);
  for (int x = 0; x < 64; ++x) {
    EXPECT_NEAR(enc.at(x, 0, 0), color::linear_to_srgb(x / 63.0), 1.0 / 65535.0);
    // d(linear)/d(encoded) is at most about 2.3, so rounding the encoded value to 16 bits moves
    // linear light by less than 1.2 steps of 1/65535.
    EXPECT_NEAR(back.at(x, 0, 0), x / 63.0, 1.2 / 65535.0);
    EXPECT_NEAR(back.at(x, 0, 1), 0.25, 0.5 / 65535.0);
  }
}

TEST(ImagePng, RejectsBadSaveArguments) {
  TempDir dir;
  expect_error([&] { save_png(dir / "x.png", pattern16(2, 2, 3), 12); }, "bit depth", ErrorKind::usage);
  expect_error([&] { save_png(dir / "x.png", Image8{}); }, "invalid image", ErrorKind::usage);
  Image8 broken = pattern8(4, 4, 3);
  broken.pixels.pop_back();
  expect_error([&] { (void)encode_png(broken); }, "invalid image", ErrorKind::usage);
  EXPECT_TRUE(dir.entries().empty());
}

// ---------------------------------------------------------------------------------------------
// JPEG files, written with libjpeg in the test.

TEST(ImageJpeg, LoadsFlatColourWithinAFewLevels) {
  TempDir dir;
  Image8 flat(56, 40, 3);
  for (std::size_t p = 0; p < flat.pixel_count(); ++p) {
    flat.pixels[3 * p] = 200;
    flat.pixels[3 * p + 1] = 100;
    flat.pixels[3 * p + 2] = 50;
  }
  write_bytes(dir / "flat.jpg", encode_jpeg(flat, 95));
  const ImageFileInfo info = probe_image(dir / "flat.jpg");
  EXPECT_EQ(info.width, 56);
  EXPECT_EQ(info.height, 40);
  EXPECT_EQ(info.channels, 3);
  EXPECT_EQ(info.bit_depth, 8);
  const Image8 img = load_image8(dir / "flat.jpg");
  ASSERT_EQ(img.channels, 3);
  EXPECT_NEAR(mean_of_channel(img, 0), 200.0, 3.0);
  EXPECT_NEAR(mean_of_channel(img, 1), 100.0, 3.0);
  EXPECT_NEAR(mean_of_channel(img, 2), 50.0, 3.0);
  const Image8 rgba = load_image8(dir / "flat.jpg", 4);
  EXPECT_EQ(mean_of_channel(rgba, 3), 255.0);
}

TEST(ImageJpeg, GreyJpegStaysGrey) {
  TempDir dir;
  write_bytes(dir / "grey.jpg", encode_jpeg(Image8(16, 16, 1, Encoding::srgb, 77)));
  EXPECT_EQ(probe_image(dir / "grey.jpg").channels, 1);
  const Image8 img = load_image8(dir / "grey.jpg");
  ASSERT_EQ(img.channels, 1);
  EXPECT_NEAR(mean_of_channel(img, 0), 77.0, 2.0);
}

TEST(ImageJpeg, AppliesExifOrientation) {
  // An 8 x 4 image, white at the top-left, tagged "rotate 90 degrees clockwise" (orientation 6):
  // viewers show it 4 x 8 with the white corner at the top-right.
  Image8 img8(8, 4, 3);
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 2; ++x)
      for (int c = 0; c < 3; ++c) img8.at(x, y, c) = 255;
  const std::string jpeg = encode_jpeg(img8, 100);
  const std::string exif(
      "\xFF\xE1\x00\x22"
      "Exif\0\0"
      "MM\x00\x2A\x00\x00\x00\x08"
      "\x00\x01"
      "\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00"
      "\x00\x00\x00\x00",
      36);
  std::string file(jpeg.begin(), jpeg.end());
  file.insert(2, exif);
  TempDir dir;
  write_bytes(dir / "rotated.jpg", file);
  const ImageFileInfo info = probe_image(dir / "rotated.jpg");
  EXPECT_EQ(info.width, 4);
  EXPECT_EQ(info.height, 8);
  const Image8 img = load_image8(dir / "rotated.jpg");
  ASSERT_EQ(img.width, 4);
  ASSERT_EQ(img.height, 8);
  EXPECT_GT(img.at(3, 0, 0), 200);
  EXPECT_LT(img.at(0, 0, 0), 50);
  EXPECT_LT(img.at(3, 7, 0), 50);
}

TEST(ImageJpeg, TruncatedJpegIsAnInputError) {
  TempDir dir;
  std::mt19937 rng(5);
  Image8 noise(64, 64, 3);
  for (auto& v : noise.pixels) v = static_cast<std::uint8_t>(rng() & 0xFF);
  const std::string jpeg = encode_jpeg(noise);
  write_bytes(dir / "cut.jpg", jpeg.substr(0, jpeg.size() * 3 / 4));
  expect_error([&] { (void)load_image8(dir / "cut.jpg"); }, "cut.jpg");
}

// ---------------------------------------------------------------------------------------------
// Encodings and channels.

TEST(ImageConvert, SrgbAndLinearDecoding) {
  Image8 img(1, 1, 2);
  img.at(0, 0, 0) = 128;
  img.at(0, 0, 1) = 128;
  const ImageF lin = to_float(img, Encoding::linear);
  EXPECT_EQ(lin.encoding, Encoding::linear);
  EXPECT_NEAR(lin.at(0, 0, 0), 0.2158605, 1e-6);
  EXPECT_NEAR(lin.at(0, 0, 1), 128.0 / 255.0, 1e-7);  // alpha is never gamma-decoded
  const ImageF enc = to_float(img, Encoding::srgb);
  EXPECT_NEAR(enc.at(0, 0, 0), 128.0 / 255.0, 1e-7);

  TempDir dir;
  save_png(dir / "g.png", img);
  EXPECT_NEAR(load_imagef(dir / "g.png").at(0, 0, 0), 0.2158605, 1e-6);
  EXPECT_NEAR(load_imagef(dir / "g.png", Encoding::srgb).at(0, 0, 0), 128.0 / 255.0, 1e-7);
}

TEST(ImageConvert, EveryEightBitValueSurvivesFloatRoundTrips) {
  Image8 ramp(256, 1, 4);
  for (int x = 0; x < 256; ++x)
    for (int c = 0; c < 4; ++c) ramp.at(x, 0, c) = static_cast<std::uint8_t>(x);
  for (Encoding e : {Encoding::srgb, Encoding::linear}) {
    const ImageF f = to_float(ramp, e);
    EXPECT_EQ(to_image8(f).pixels, ramp.pixels);
    const Encoding other = e == Encoding::srgb ? Encoding::linear : Encoding::srgb;
    const ImageF converted = convert_encoding(f, other);
    EXPECT_EQ(converted.encoding, other);
    EXPECT_EQ(to_image8(converted).pixels, ramp.pixels);
  }
}

TEST(ImageConvert, LinearToEightBitMatchesTheTransferFunction) {
  ImageF lin(1001, 1, 3, Encoding::linear);
  for (std::size_t i = 0; i < lin.pixels.size(); ++i) lin.pixels[i] = static_cast<float>(i) / 3002.0f;
  lin.pixels[0] = -0.5f;
  lin.pixels[1] = 7.0f;
  lin.pixels[2] = NAN;
  const Image8 out = to_image8(lin);
  EXPECT_EQ(out.pixels[0], 0);
  EXPECT_EQ(out.pixels[1], 255);
  EXPECT_EQ(out.pixels[2], 0);
  for (std::size_t i = 3; i < lin.pixels.size(); ++i) {
    const double expected = std::round(color::linear_to_srgb(lin.pixels[i]) * 255.0);
    ASSERT_EQ(out.pixels[i], expected) << lin.pixels[i];
  }
}

TEST(ImageConvert, GreyToRgbReplicatesAndAddsOpaqueAlpha) {
  const Image8 grey = pattern8(5, 4, 1);
  const Image8 rgb = convert_channels(grey, 3);
  const Image8 rgba = convert_channels(grey, 4);
  const Image8 ga = convert_channels(grey, 2);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 5; ++x) {
      for (int c = 0; c < 3; ++c) {
        EXPECT_EQ(rgb.at(x, y, c), grey.at(x, y));
        EXPECT_EQ(rgba.at(x, y, c), grey.at(x, y));
      }
      EXPECT_EQ(rgba.at(x, y, 3), 255);
      EXPECT_EQ(ga.at(x, y, 0), grey.at(x, y));
      EXPECT_EQ(ga.at(x, y, 1), 255);
    }
  ImageF gf(2, 2, 1, Encoding::linear, 0.3f);
  const ImageF gfa = convert_channels(gf, 4);
  EXPECT_EQ(gfa.encoding, Encoding::linear);
  EXPECT_EQ(gfa.at(1, 1, 2), 0.3f);
  EXPECT_EQ(gfa.at(1, 1, 3), 1.0f);
}

TEST(ImageConvert, RgbToGreyUsesRec709Luma) {
  Image8 rgb(4, 1, 4);
  const std::uint8_t px[4][4] = {{255, 0, 0, 10}, {0, 255, 0, 20}, {0, 0, 255, 30}, {200, 100, 50, 40}};
  for (int x = 0; x < 4; ++x)
    for (int c = 0; c < 4; ++c) rgb.at(x, 0, c) = px[x][c];
  const Image8 grey = convert_channels(rgb, 1);
  const Image8 ga = convert_channels(rgb, 2);
  for (int x = 0; x < 4; ++x) {
    const double y = 0.2126 * px[x][0] + 0.7152 * px[x][1] + 0.0722 * px[x][2];
    EXPECT_EQ(grey.at(x, 0), std::lround(y)) << x;
    EXPECT_EQ(ga.at(x, 0, 0), std::lround(y)) << x;
    EXPECT_EQ(ga.at(x, 0, 1), px[x][3]) << x;  // alpha carried over
  }
  EXPECT_EQ(grey.at(0, 0), 54);
  EXPECT_EQ(grey.at(1, 0), 182);
  EXPECT_EQ(grey.at(2, 0), 18);
  const Image8 rgb3 = convert_channels(rgb, 3);
  EXPECT_EQ(rgb3.at(3, 0, 0), 200);
  EXPECT_EQ(rgb3.at(3, 0, 2), 50);

  // Loading with a channel count converts the same way; float grey is luma on encoded values.
  TempDir dir;
  save_png(dir / "rgba.png", rgb);
  EXPECT_EQ(load_image8(dir / "rgba.png", 1).pixels, grey.pixels);
  const ImageF gf = load_imagef(dir / "rgba.png", Encoding::linear, 1);
  ASSERT_EQ(gf.channels, 1);
  const double y3 = (0.2126 * 200 + 0.7152 * 100 + 0.0722 * 50) / 255.0;
  EXPECT_NEAR(gf.at(3, 0), color::srgb_to_linear(y3), 1e-6);
}

TEST(ImageConvert, RejectsBadChannelCounts) {
  const Image8 img = pattern8(2, 2, 3);
  expect_error([&] { (void)convert_channels(img, 0); }, "channel count", ErrorKind::usage);
  expect_error([&] { (void)convert_channels(img, 5); }, "channel count", ErrorKind::usage);
  TempDir dir;
  save_png(dir / "a.png", img);
  expect_error([&] { (void)load_image8(dir / "a.png", 7); }, "channel count", ErrorKind::usage);
}

// ---------------------------------------------------------------------------------------------
// Area resize.

TEST(ImageResize, HalvingAPixelCheckerGivesExactMeans) {
  ImageF checker(8, 6, 1, Encoding::linear);
  Image8 checker8(8, 6, 3);
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 8; ++x) {
      checker.at(x, y) = (x + y) % 2 ? 1.0f : 0.0f;
      for (int c = 0; c < 3; ++c) checker8.at(x, y, c) = (x + y) % 2 ? 200 : 0;
    }
  const ImageF half = resize_area(checker, 4, 3);
  EXPECT_EQ(half.width, 4);
  EXPECT_EQ(half.height, 3);
  EXPECT_EQ(half.encoding, Encoding::linear);
  for (float v : half.pixels) EXPECT_FLOAT_EQ(v, 0.5f);
  const Image8 half8 = resize_area(checker8, 4, 3);
  for (auto v : half8.pixels) EXPECT_EQ(v, 100);
}

TEST(ImageResize, IntegerShrinkAveragesBlocks) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  ImageF img(12, 9, 3, Encoding::linear);
  for (auto& v : img.pixels) v = unit(rng);
  const ImageF small = resize_area(img, 4, 3);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 4; ++x)
      for (int c = 0; c < 3; ++c) {
        double sum = 0;
        for (int j = 0; j < 3; ++j)
          for (int i = 0; i < 3; ++i) sum += img.at(3 * x + i, 3 * y + j, c);
        EXPECT_NEAR(small.at(x, y, c), sum / 9.0, 1e-6);
      }
}

TEST(ImageResize, ConstantStaysConstantAndMirrorCommutes) {
  const ImageF flat(17, 13, 4, Encoding::srgb, 0.375f);
  for (auto [w, h] : {std::pair{5, 4}, std::pair{16, 13}, std::pair{1, 1}, std::pair{30, 20}}) {
    const ImageF r = resize_area(flat, w, h);
    EXPECT_EQ(r.width, w);
    EXPECT_EQ(r.height, h);
    EXPECT_EQ(r.channels, 4);
    for (float v : r.pixels) ASSERT_NEAR(v, 0.375f, 1e-6);
  }
  // Metamorphic: shrinking a mirrored image gives the mirrored result.
  const Image8 img = pattern8(20, 10, 3);
  Image8 mirrored = img;
  for (int y = 0; y < 10; ++y)
    for (int x = 0; x < 20; ++x)
      for (int c = 0; c < 3; ++c) mirrored.at(x, y, c) = img.at(19 - x, y, c);
  const Image8 a = resize_area(img, 7, 4);
  const Image8 b = resize_area(mirrored, 7, 4);
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 7; ++x)
      for (int c = 0; c < 3; ++c) EXPECT_NEAR(a.at(x, y, c), b.at(6 - x, y, c), 1) << x << "," << y;
}

TEST(ImageResize, NonPositiveSizeIsAUsageError) {
  const ImageF img(4, 4, 1);
  expect_error([&] { (void)resize_area(img, 0, 2); }, "positive", ErrorKind::usage);
  expect_error([&] { (void)resize_area(img, 2, -1); }, "positive", ErrorKind::usage);
  expect_error([&] { (void)resize_area(Image8(4, 4, 3), -3, 3); }, "positive", ErrorKind::usage);
}

// ---------------------------------------------------------------------------------------------
// Errors.

TEST(ImageErrors, UnreadableFilesNameTheFile) {
  TempDir dir;
  expect_error([&] { (void)load_image8(dir / "missing.png"); }, "missing.png");
  expect_error([&] { (void)probe_image(dir / "missing.png"); }, "missing.png");

  write_bytes(dir / "empty.png", "");
  expect_error([&] { (void)load_imagef(dir / "empty.png"); }, "empty.png");

  std::mt19937 rng(3);
  std::string noise(4096, '\0');
  for (auto& ch : noise) ch = static_cast<char>(rng() & 0xFF);
  write_bytes(dir / "noise.png", noise);
  expect_error([&] { (void)load_image8(dir / "noise.png"); }, "noise.png");
  expect_error([&] { (void)probe_image(dir / "noise.png"); }, "noise.png");

  fs::create_directory(dir / "folder.png");
  expect_error([&] { (void)load_image8(dir / "folder.png"); }, "folder.png");
}

TEST(ImageErrors, TruncatedPngIsAnInputError) {
  TempDir dir;
  save_png(dir / "whole.png", pattern8(64, 64, 3));
  const std::string bytes = read_bytes(dir / "whole.png");
  write_bytes(dir / "half.png", bytes.substr(0, bytes.size() / 2));
  expect_error([&] { (void)load_image8(dir / "half.png"); }, "half.png");
  expect_error([&] { (void)load_imagef(dir / "half.png"); }, "truncated");
  // Cut just before IEND: all the image data is there but the file is still incomplete.
  write_bytes(dir / "no_iend.png", bytes.substr(0, bytes.size() - 12));
  expect_error([&] { (void)load_image8(dir / "no_iend.png"); }, "no_iend.png");
}

TEST(ImageErrors, HugeDimensionsAreRejectedBeforeDecoding) {
  TempDir dir;
  save_png(dir / "small.png", pattern8(4, 4, 1));
  std::string bytes = read_bytes(dir / "small.png");
  bytes[16] = 0;  // width 0x00009C40 = 40000 (the IHDR CRC is now wrong, which we never reach)
  bytes[17] = 0;
  bytes[18] = static_cast<char>(0x9C);
  bytes[19] = 0x40;
  write_bytes(dir / "huge.png", bytes);
  expect_error([&] { (void)load_image8(dir / "huge.png"); }, "too large");
  expect_error([&] { (void)probe_image(dir / "huge.png"); }, "huge.png");
}

TEST(ImageErrors, SaveToMissingDirectoryLeavesNothing) {
  TempDir dir;
  expect_error([&] { save_png(dir / "nope" / "a.png", pattern8(3, 3, 3)); }, "nope", ErrorKind::runtime);
  expect_error([&] { save_png(dir / "nope" / "b.png", pattern16(3, 3, 1), 16); }, "nope", ErrorKind::runtime);
  EXPECT_TRUE(dir.entries().empty());
}

TEST(ImageErrors, FailedSaveDoesNotClobber) {
  TempDir dir;
  const fs::path path = dir / "keep.png";
  save_png(path, pattern8(9, 9, 4));
  const std::string before = read_bytes(path);
  Image8 broken = pattern8(9, 9, 4);
  broken.channels = 5;
  EXPECT_THROW(save_png(path, broken), Error);
  EXPECT_THROW(save_png(path, pattern16(9, 9, 4), 7), Error);
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"keep.png"});
  // A successful save replaces it whole.
  save_png(path, pattern8(2, 2, 1));
  EXPECT_EQ(probe_image(path).width, 2);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"keep.png"});
}

}  // namespace
}  // namespace fabforge
