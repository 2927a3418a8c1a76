// Textures and TextureHost: texel addressing, orientation, wrap modes, the mip pyramid, lod
// interpolation, NaN handling, batch == scalar, channel expansion, loading, host behaviour.

#include "fabforge/openfl/texture.hpp"

#include <gtest/gtest.h>

#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "fabforge/core/error.hpp"
#include "fabforge/core/image.hpp"
#include "fabforge/openfl/host.hpp"

#include "support/test_support.hpp"

namespace fabforge::openfl {
namespace {

using Rgba = std::array<float, 4>;
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

/// A w x h RGBA image whose texel (x, y) (y = row from the top) is value(x, y, c).
template <class F>
ImageF make_image(int w, int h, int channels, F value) {
  ImageF image(w, h, channels, Encoding::srgb);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      for (int c = 0; c < channels; ++c) image.at(x, y, c) = value(x, y, c);
    }
  }
  return image;
}

/// Distinct exact binary fractions per texel and channel (multiples of 1/256).
float texel_value(int x, int y, int c) { return static_cast<float>((x * 37 + y * 11 + c * 53) % 256) / 256.0f; }

/// One channel, one row: the texels given.
Texture row_texture(const std::vector<float>& values, Wrap wrap) {
  ImageF image(static_cast<int>(values.size()), 1, 1, Encoding::srgb);
  image.pixels = values;
  return Texture(image, wrap);
}

float red(const Texture& t, float u, float v = 0.5f, float lod = 0.0f) { return t.sample(u, v, lod)[0]; }

bool same_bits(const Rgba& a, const Rgba& b) {
  for (std::size_t c = 0; c < 4; ++c) {
    if (std::bit_cast<std::uint32_t>(a[c]) != std::bit_cast<std::uint32_t>(b[c])) return false;
  }
  return true;
}

TEST(Texture, WrapFromName) {
  EXPECT_EQ(wrap_from_name("repeat"), Wrap::repeat);
  EXPECT_EQ(wrap_from_name("clamp"), Wrap::clamp);
  EXPECT_EQ(wrap_from_name("mirror"), Wrap::mirror);
  try {
    wrap_from_name("border");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_NE(std::string(e.what()).find("'border'"), std::string::npos) << e.what();
  }
}

TEST(Texture, InvalidImagesAreRejected) {
  EXPECT_THROW(Texture(ImageF(), Wrap::repeat), Error);
  EXPECT_THROW(Texture(ImageF(2, 2, 5), Wrap::repeat), Error);
}

TEST(Texture, ExactTexelsAtPixelCentres) {
  const int w = 8, h = 4;
  const Texture t(make_image(w, h, 4, texel_value), Wrap::repeat);
  EXPECT_EQ(t.width(), w);
  EXPECT_EQ(t.height(), h);
  for (int j = 0; j < h; ++j) {
    for (int i = 0; i < w; ++i) {
      const float u = (static_cast<float>(i) + 0.5f) / static_cast<float>(w);
      const float v = (static_cast<float>(j) + 0.5f) / static_cast<float>(h);
      const Rgba s = t.sample(u, v, 0.0f);
      for (int c = 0; c < 4; ++c) {
        // v counts from the bottom: the centre j is image row h - 1 - j.
        EXPECT_EQ(s[static_cast<std::size_t>(c)], texel_value(i, h - 1 - j, c)) << i << "," << j << "," << c;
      }
    }
  }
}

TEST(Texture, OrientationLowerLeftOrigin) {
  // 2 x 2: top-left 0.25, top-right 0.5, bottom-left 0.75, bottom-right 1.
  ImageF image(2, 2, 1, Encoding::srgb);
  image.pixels = {0.25f, 0.5f, 0.75f, 1.0f};
  const Texture t(image, Wrap::clamp);
  EXPECT_EQ(red(t, 0.25f, 0.25f), 0.75f);  // lower-left
  EXPECT_EQ(red(t, 0.75f, 0.25f), 1.0f);   // lower-right
  EXPECT_EQ(red(t, 0.25f, 0.75f), 0.25f);  // upper-left: v = 1 is the top row
  EXPECT_EQ(red(t, 0.75f, 0.75f), 0.5f);   // upper-right
  EXPECT_EQ(red(t, 0.0f, 0.0f), 0.75f);    // the corners (clamped)
  EXPECT_EQ(red(t, 1.0f, 1.0f), 0.5f);
}

TEST(Texture, BilinearMidpoints) {
  ImageF image(2, 2, 1, Encoding::srgb);
  image.pixels = {0.25f, 0.5f, 0.75f, 1.0f};
  const Texture t(image, Wrap::clamp);
  EXPECT_EQ(red(t, 0.5f, 0.25f), 0.875f);  // between the bottom texels
  EXPECT_EQ(red(t, 0.25f, 0.5f), 0.5f);    // between the left texels
  EXPECT_EQ(red(t, 0.5f, 0.5f), 0.625f);   // the centre: mean of all four
  // A quarter of the way: x = 0.25 past the first centre.
  EXPECT_EQ(red(t, 0.375f, 0.25f), 0.75f + (1.0f - 0.75f) * 0.25f);
  // Bottom row first, then vertically: mix(mix(.75, 1, fx), mix(.25, .5, fx), fy).
  const float fx = 0.25f, fy = 0.75f;
  const float expected = [&] {
    const float bottom = 0.75f + (1.0f - 0.75f) * fx;
    const float top = 0.25f + (0.5f - 0.25f) * fx;
    return bottom + (top - bottom) * fy;
  }();
  EXPECT_EQ(red(t, 0.375f, 0.625f), expected);
}

TEST(Texture, RepeatIsPeriodic) {
  const Texture t = row_texture({0.0f, 0.25f, 0.5f, 1.0f}, Wrap::repeat);
  EXPECT_EQ(red(t, 0.0f), 0.5f);  // halfway between texel 3 (wrapped) and texel 0
  EXPECT_EQ(red(t, 1.0f), 0.5f);
  EXPECT_EQ(red(t, 1.125f), 0.0f);   // texel 0 again
  EXPECT_EQ(red(t, -0.125f), 1.0f);  // texel 3
  for (int k = -64; k <= 64; ++k) {
    const float u = static_cast<float>(k) / 64.0f;
    for (const float shift : {1.0f, -1.0f, 3.0f, -7.0f, 1024.0f}) {
      EXPECT_EQ(red(t, u), red(t, u + shift)) << u << " + " << shift;
    }
  }
  // Far away, exactly periodic too: u = 2^20 + 1/8 is the centre of texel 0.
  EXPECT_EQ(red(t, 1048576.125f), 0.0f);
  EXPECT_EQ(red(t, -1048576.0f + 0.875f), 1.0f);
}

TEST(Texture, MirrorIsSymmetric) {
  const Texture t = row_texture({0.0f, 0.25f, 0.5f, 1.0f}, Wrap::mirror);
  EXPECT_EQ(red(t, 0.0f), 0.0f);  // edge texel reflected onto itself
  EXPECT_EQ(red(t, 1.0f), 1.0f);
  EXPECT_EQ(red(t, -0.125f), 0.0f);  // the reflection of texel 0's centre
  EXPECT_EQ(red(t, 1.125f), 1.0f);   // the reflection of texel 3's centre
  EXPECT_EQ(red(t, 1.375f), 0.5f);
  for (int k = 0; k <= 64; ++k) {
    const float d = static_cast<float>(k) / 64.0f;
    EXPECT_EQ(red(t, d), red(t, -d)) << d;               // about 0
    EXPECT_EQ(red(t, 1.0f - d), red(t, 1.0f + d)) << d;  // about 1
    EXPECT_EQ(red(t, d), red(t, d + 2.0f)) << d;         // period 2
    EXPECT_EQ(red(t, d), red(t, d - 4.0f)) << d;
  }
}

TEST(Texture, ClampHoldsTheEdges) {
  const Texture t = row_texture({0.0f, 0.25f, 0.5f, 1.0f}, Wrap::clamp);
  EXPECT_EQ(red(t, 0.0f), 0.0f);
  EXPECT_EQ(red(t, -5.0f), 0.0f);
  EXPECT_EQ(red(t, 1.0f), 1.0f);
  EXPECT_EQ(red(t, 7.0f), 1.0f);
  EXPECT_EQ(red(t, kInf), 1.0f);
  EXPECT_EQ(red(t, -kInf), 0.0f);
  EXPECT_EQ(red(t, 0.25f), 0.125f);  // interior interpolation is unaffected
}

TEST(Texture, WrapModesApplyToV) {
  ImageF image(1, 4, 1, Encoding::srgb);
  image.pixels = {1.0f, 0.5f, 0.25f, 0.0f};  // top to bottom: v = 1/8 reads 0, v = 7/8 reads 1
  const Texture repeat(image, Wrap::repeat), mirror(image, Wrap::mirror), clamp(image, Wrap::clamp);
  EXPECT_EQ(red(repeat, 0.5f, 0.125f), 0.0f);
  EXPECT_EQ(red(repeat, 0.5f, 0.875f), 1.0f);
  EXPECT_EQ(red(repeat, 0.5f, 0.0f), 0.5f);
  EXPECT_EQ(red(repeat, 0.5f, 2.125f), 0.0f);
  EXPECT_EQ(red(mirror, 0.5f, -0.125f), 0.0f);
  EXPECT_EQ(red(mirror, 0.5f, 1.125f), 1.0f);
  EXPECT_EQ(red(mirror, 0.5f, -0.375f), red(mirror, 0.5f, 0.375f));
  EXPECT_EQ(red(clamp, 0.5f, -3.0f), 0.0f);
  EXPECT_EQ(red(clamp, 0.5f, 3.0f), 1.0f);
}

TEST(Texture, MipPyramidSizes) {
  const auto levels = [](int w, int h) { return Texture(ImageF(w, h, 1), Wrap::repeat).levels(); };
  EXPECT_EQ(levels(1, 1), 1);
  EXPECT_EQ(levels(2, 2), 2);
  EXPECT_EQ(levels(8, 8), 4);
  EXPECT_EQ(levels(16, 4), 5);  // 16x4, 8x2, 4x1, 2x1, 1x1
  EXPECT_EQ(levels(5, 3), 3);   // 5x3, 2x1, 1x1
  EXPECT_EQ(levels(1, 7), 3);   // 1x7, 1x3, 1x1
  EXPECT_EQ(levels(3, 3), 2);   // 3x3, 1x1
}

TEST(Texture, MipAveragesEvenSizes) {
  // 4x2: level 1 is 2x1, level 2 is 1x1.
  const auto value = [](int x, int y, int) { return static_cast<float>(x + 4 * y) / 8.0f; };
  const Texture t(make_image(4, 2, 1, value), Wrap::clamp);
  ASSERT_EQ(t.levels(), 3);
  const float left = (((value(0, 0, 0) + value(1, 0, 0)) + value(0, 1, 0)) + value(1, 1, 0)) / 4.0f;
  const float right = (((value(2, 0, 0) + value(3, 0, 0)) + value(2, 1, 0)) + value(3, 1, 0)) / 4.0f;
  EXPECT_EQ(red(t, 0.25f, 0.5f, 1.0f), left);
  EXPECT_EQ(red(t, 0.75f, 0.5f, 1.0f), right);
  EXPECT_EQ(red(t, 0.3f, 0.9f, 2.0f), (left + right) / 2.0f);
}

TEST(Texture, MipAveragesOddSizesTakeInTheLastRowAndColumn) {
  // 5x3 -> 2x1 (left: columns 0-1, right: columns 2-4; both over rows 0-2) -> 1x1.
  const auto value = [](int x, int y, int) { return static_cast<float>(x + 5 * y) / 16.0f; };
  const Texture t(make_image(5, 3, 1, value), Wrap::clamp);
  ASSERT_EQ(t.levels(), 3);
  const auto box = [&](int x0, int x1, int y0, int y1) {
    float sum = 0.0f;
    for (int y = y0; y < y1; ++y) {
      for (int x = x0; x < x1; ++x) sum += value(x, y, 0);
    }
    return sum / static_cast<float>((x1 - x0) * (y1 - y0));
  };
  const float left = box(0, 2, 0, 3), right = box(2, 5, 0, 3);
  EXPECT_EQ(red(t, 0.25f, 0.5f, 1.0f), left);
  EXPECT_EQ(red(t, 0.75f, 0.5f, 1.0f), right);
  EXPECT_EQ(red(t, 0.5f, 0.5f, 2.0f), (left + right) / 2.0f);

  // Every texel of level 0 reaches the 1x1 level: raising any one texel raises it.
  const float base = red(t, 0.5f, 0.5f, 2.0f);
  for (int y = 0; y < 3; ++y) {
    for (int x = 0; x < 5; ++x) {
      ImageF image = make_image(5, 3, 1, value);
      image.at(x, y) += 0.5f;
      EXPECT_GT(red(Texture(image, Wrap::clamp), 0.5f, 0.5f, 2.0f), base) << x << "," << y;
    }
  }
}

TEST(Texture, LodInterpolatesBetweenLevelsAndClamps) {
  ImageF image(2, 2, 1, Encoding::srgb);
  image.pixels = {0.25f, 0.5f, 0.75f, 1.0f};
  const Texture t(image, Wrap::clamp);
  const float fine = 0.75f, coarse = 0.625f;  // lower-left texel; the 1x1 mean
  const float u = 0.25f, v = 0.25f;
  EXPECT_EQ(red(t, u, v, 0.0f), fine);
  EXPECT_EQ(red(t, u, v, 1.0f), coarse);
  EXPECT_EQ(red(t, u, v, 0.25f), fine + (coarse - fine) * 0.25f);
  EXPECT_EQ(red(t, u, v, 0.5f), fine + (coarse - fine) * 0.5f);
  EXPECT_EQ(red(t, u, v, -1.0f), fine);
  EXPECT_EQ(red(t, u, v, -kInf), fine);
  EXPECT_EQ(red(t, u, v, 1.5f), coarse);
  EXPECT_EQ(red(t, u, v, 40.0f), coarse);
  EXPECT_EQ(red(t, u, v, kInf), coarse);
}

TEST(Texture, NaNReadsLevelZeroAtTheOrigin) {
  const Texture t(make_image(8, 4, 4, texel_value), Wrap::repeat);
  const Rgba origin = t.sample(0.0f, 0.0f, 0.0f);
  EXPECT_TRUE(same_bits(t.sample(kNaN, 0.3f, 0.0f), origin));
  EXPECT_TRUE(same_bits(t.sample(0.3f, kNaN, 2.0f), origin));
  EXPECT_TRUE(same_bits(t.sample(0.3f, 0.6f, kNaN), origin));
  EXPECT_TRUE(same_bits(t.sample(kNaN, kNaN, kNaN), origin));
}

TEST(Texture, ChannelExpansion) {
  const Texture grey(make_image(2, 1, 1, [](int x, int, int) { return 0.25f * static_cast<float>(x + 1); }),
                     Wrap::clamp);
  EXPECT_EQ(grey.sample(0.25f, 0.5f, 0.0f), (Rgba{0.25f, 0.25f, 0.25f, 1.0f}));
  EXPECT_EQ(grey.sample(0.75f, 0.5f, 0.0f), (Rgba{0.5f, 0.5f, 0.5f, 1.0f}));

  const Texture grey_alpha(make_image(1, 1, 2, [](int, int, int c) { return c == 0 ? 0.75f : 0.5f; }), Wrap::clamp);
  EXPECT_EQ(grey_alpha.sample(0.5f, 0.5f, 0.0f), (Rgba{0.75f, 0.75f, 0.75f, 0.5f}));

  const Texture rgb(make_image(1, 1, 3, [](int, int, int c) { return 0.125f * static_cast<float>(c + 1); }),
                    Wrap::clamp);
  EXPECT_EQ(rgb.sample(0.5f, 0.5f, 0.0f), (Rgba{0.125f, 0.25f, 0.375f, 1.0f}));
  EXPECT_EQ(rgb.min_value(), (Rgba{0.125f, 0.25f, 0.375f, 1.0f}));
  EXPECT_EQ(rgb.max_value(), (Rgba{0.125f, 0.25f, 0.375f, 1.0f}));

  // Samples outside [0, 1] are clamped; NaN reads 0.
  ImageF wild(3, 1, 1, Encoding::srgb);
  wild.pixels = {-1.0f, 2.0f, kNaN};
  const Texture clamped(wild, Wrap::clamp);
  EXPECT_EQ(red(clamped, 0.5f / 3.0f), 0.0f);
  EXPECT_EQ(red(clamped, 1.5f / 3.0f), 1.0f);
  EXPECT_EQ(red(clamped, 2.5f / 3.0f), 0.0f);
}

TEST(Texture, MinMaxAndSamplesStayInRange) {
  ImageF image(3, 2, 2, Encoding::srgb);
  // Includes a tiny value beside 1: plain interpolation could round below it.
  image.pixels = {0.5f, 1.0f, 0x1p-30f, 0.25f, 1.0f, 0.75f, 0.125f, 0.5f, 0.375f, 0.3f, 0.9f, 0.6f};
  const Texture t(image, Wrap::mirror);
  EXPECT_EQ(t.min_value(), (Rgba{0x1p-30f, 0x1p-30f, 0x1p-30f, 0.25f}));
  EXPECT_EQ(t.max_value(), (Rgba{1.0f, 1.0f, 1.0f, 1.0f}));
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uv(-2.0f, 3.0f), lod(-1.0f, 3.0f);
  for (int k = 0; k < 20000; ++k) {
    const Rgba s = t.sample(uv(rng), uv(rng), lod(rng));
    for (std::size_t c = 0; c < 4; ++c) {
      EXPECT_GE(s[c], t.min_value()[c]);
      EXPECT_LE(s[c], t.max_value()[c]);
    }
  }
}

TEST(Texture, BatchMatchesScalarBitForBit) {
  std::vector<Texture> textures;
  textures.emplace_back(make_image(8, 8, 4, texel_value), Wrap::repeat);
  textures.emplace_back(make_image(5, 3, 1, texel_value), Wrap::clamp);
  textures.emplace_back(make_image(16, 4, 3, texel_value), Wrap::mirror);
  textures.emplace_back(make_image(3, 7, 2, texel_value), Wrap::repeat);
  std::mt19937 rng(12345);
  std::uniform_real_distribution<float> uv(-3.0f, 4.0f), lod(-2.0f, 6.0f), pick(0.0f, 1.0f);
  const float specials[] = {kNaN, kInf, -kInf, 0.0f, -0.0f, 1.0f, 1e30f, -1e30f, 0x1p62f, 0x1p63f};
  const auto draw = [&](std::uniform_real_distribution<float>& d) {
    return pick(rng) < 0.05f ? specials[rng() % std::size(specials)] : d(rng);
  };
  const std::size_t n = 256;
  std::vector<float> u(n), v(n), l(n), r(n), g(n), b(n), a(n);
  for (const Texture& t : textures) {
    for (int round = 0; round < 20; ++round) {
      for (std::size_t k = 0; k < n; ++k) {
        u[k] = draw(uv);
        v[k] = draw(uv);
        l[k] = draw(lod);
      }
      t.sample(n, u.data(), v.data(), l.data(), r.data(), g.data(), b.data(), a.data());
      for (std::size_t k = 0; k < n; ++k) {
        const Rgba s = t.sample(u[k], v[k], l[k]);
        ASSERT_TRUE(same_bits(s, Rgba{r[k], g[k], b[k], a[k]})) << u[k] << " " << v[k] << " " << l[k];
      }
    }
  }
}

TEST(Texture, BatchToleratesOutputsAliasingInputs) {
  const Texture t(make_image(5, 3, 4, texel_value), Wrap::mirror);
  std::vector<float> u = {0.1f, 0.7f, -0.4f, 1.3f}, v = {0.2f, 0.9f, 0.5f, -2.0f}, lod = {0.0f, 0.5f, 1.25f, 3.0f};
  std::vector<Rgba> expected;
  for (std::size_t k = 0; k < u.size(); ++k) expected.push_back(t.sample(u[k], v[k], lod[k]));
  std::vector<float> g(u.size()), b(u.size());
  // r over u, a over lod (the batched interpreter gathers lanes in place).
  t.sample(u.size(), u.data(), v.data(), lod.data(), u.data(), g.data(), b.data(), lod.data());
  for (std::size_t k = 0; k < u.size(); ++k) {
    EXPECT_TRUE(same_bits(expected[k], Rgba{u[k], g[k], b[k], lod[k]})) << k;
  }
}

TEST(Texture, LoadsPngAsStored) {
  test::TempDir dir;
  Image8 image(3, 2, 3);
  for (std::size_t k = 0; k < image.pixels.size(); ++k) image.pixels[k] = static_cast<std::uint8_t>(k * 13 + 5);
  const auto path = dir / "tex.png";
  save_png(path, image);
  const Texture t = Texture::load(path.string(), Wrap::clamp);
  EXPECT_EQ(t.width(), 3);
  EXPECT_EQ(t.height(), 2);
  EXPECT_EQ(t.wrap(), Wrap::clamp);
  // Top-left texel (x 0, row 0) is at u = 1/6, v = 3/4; sRGB values as stored (no linearisation).
  const Rgba s = t.sample(1.0f / 6.0f, 0.75f, 0.0f);
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(s[static_cast<std::size_t>(c)], static_cast<float>(image.at(0, 0, c)) / 255.0f, 1e-6f);
  }
  EXPECT_EQ(s[3], 1.0f);
}

TEST(Texture, LoadMissingFileNamesIt) {
  test::TempDir dir;
  const std::string path = (dir / "missing.png").string();
  try {
    (void)Texture::load(path, Wrap::repeat);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::input);
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

/// A host that keeps every default (texture_range, query_range).
class DefaultHost : public Host {
 public:
  void sample(int, std::size_t, const float*, const float*, const float*, float* const*) const override {}
  float texture_lod_bias(int) const override { return 0.0f; }
  void surface_query(std::size_t, const float* const*, float* const*, int) const override {}
};

TEST(Host, Defaults) {
  const DefaultHost host;
  for (const Interval& i : host.texture_range(3)) EXPECT_EQ(i, (Interval{0.0f, 1.0f}));
  const Interval xyz[3] = {{0.0f, 1.0f}, {0.0f, 1.0f}, {0.0f, 1.0f}};
  Interval columns[9];
  for (Interval& c : columns) c = Interval{2.0f, 3.0f};
  host.query_range(xyz, columns, 9);
  for (const Interval& c : columns) {
    EXPECT_EQ(c, Interval{});
    EXPECT_TRUE(c.contains(kNaN));
  }
}

TEST(TextureHost, DispatchesBySlot) {
  std::vector<Texture> textures;
  textures.push_back(row_texture({0.25f}, Wrap::repeat));
  textures.push_back(row_texture({0.75f}, Wrap::repeat));
  const TextureHost host(std::move(textures));
  const float u[2] = {0.1f, 0.9f}, v[2] = {0.5f, 0.5f}, lod[2] = {0.0f, 0.0f};
  float r[2], g[2], b[2], a[2];
  float* const rgba[4] = {r, g, b, a};
  host.sample(1, 2, u, v, lod, rgba);
  EXPECT_EQ(r[0], 0.75f);
  EXPECT_EQ(b[1], 0.75f);
  EXPECT_EQ(a[1], 1.0f);
  host.sample(0, 2, u, v, lod, rgba);
  EXPECT_EQ(g[0], 0.25f);
  EXPECT_THROW(host.sample(2, 2, u, v, lod, rgba), InternalError);
  EXPECT_THROW(host.sample(-1, 2, u, v, lod, rgba), InternalError);
  EXPECT_THROW((void)host.texture_lod_bias(2), InternalError);
  EXPECT_THROW((void)host.texture_range(2), InternalError);
}

TEST(TextureHost, LodBiasIsLog2OfTheLargerSide) {
  std::vector<Texture> textures;
  textures.emplace_back(ImageF(8, 2, 1), Wrap::repeat);
  textures.emplace_back(ImageF(3, 16, 1), Wrap::repeat);
  textures.emplace_back(ImageF(5, 3, 1), Wrap::repeat);
  textures.emplace_back(ImageF(1, 1, 1), Wrap::repeat);
  const TextureHost host(std::move(textures));
  EXPECT_EQ(host.texture_lod_bias(0), 3.0f);
  EXPECT_EQ(host.texture_lod_bias(1), 4.0f);
  EXPECT_EQ(host.texture_lod_bias(2), std::log2(5.0f));
  EXPECT_EQ(host.texture_lod_bias(3), 0.0f);
}

TEST(TextureHost, RangeIsTheTexturesMinMax) {
  std::vector<Texture> textures;
  textures.push_back(row_texture({0.25f, 0.5f, 0.125f}, Wrap::repeat));
  const TextureHost host(std::move(textures));
  const std::array<Interval, 4> range = host.texture_range(0);
  for (int c = 0; c < 3; ++c) EXPECT_EQ(range[static_cast<std::size_t>(c)], (Interval{0.125f, 0.5f}));
  EXPECT_EQ(range[3], (Interval{1.0f, 1.0f}));
}

TEST(TextureHost, SurfaceQueryIsARuntimeError) {
  const TextureHost host;
  const float x[1] = {0.0f};
  const float* const xyz[3] = {x, x, x};
  float col[1];
  float* const columns[1] = {col};
  try {
    host.surface_query(1, xyz, columns, 1);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::runtime);
    EXPECT_STREQ(e.what(), "this fablet queries the surface, but no surface was given");
  }
  // The default texture_range and query_range are not overridden for queries.
  const Interval box[3] = {};
  Interval out[2];
  host.query_range(box, out, 2);
  EXPECT_EQ(out[0], Interval{});
}

}  // namespace
}  // namespace fabforge::openfl
