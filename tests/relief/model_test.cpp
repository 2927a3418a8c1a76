#include "fabforge/relief/model.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "fabforge/core/color.hpp"
#include "fabforge/core/error.hpp"
#include "fabforge/relief/filament_library.hpp"

namespace fabforge::relief {
namespace {

Filament filament(const char* hex, double td) {
  Filament f;
  f.name = hex;
  f.color = *color::parse_hex(hex);
  f.td_mm = td;
  return f;
}

TEST(LayerAlpha, MatchesAutoForgesPublishedValues) {
  // One 0.04 mm layer (references.md).
  EXPECT_NEAR(layer_alpha(OpacityModel::autoforge, 0.04, 1.7), 0.458, 0.001);
  EXPECT_NEAR(layer_alpha(OpacityModel::autoforge, 0.04, 3.5), 0.257, 0.001);
  EXPECT_NEAR(layer_alpha(OpacityModel::autoforge, 0.04, 6.0), 0.157, 0.001);
  EXPECT_EQ(layer_alpha(OpacityModel::autoforge, 0.0, 3.0), 0.0);
}

TEST(LayerAlpha, NeverDecreasesWithThickness) {
  // The published fit turns down beyond its peak; fabforge holds it at 1 there.
  for (const auto model : {OpacityModel::autoforge, OpacityModel::beer_lambert}) {
    double last = 0;
    for (double t = 0; t <= 2.0; t += 0.001) {
      const double a = layer_alpha(model, t, 0.3);
      EXPECT_GE(a, last - 1e-12) << t;
      EXPECT_LE(a, 1.0);
      last = a;
    }
    EXPECT_NEAR(layer_alpha(model, 2.0, 0.3), 1.0, 1e-6);
  }
}

TEST(LayerAlpha, BeerLambertLetsOnePercentThroughAtTd) {
  EXPECT_NEAR(layer_alpha(OpacityModel::beer_lambert, 3.0, 3.0), 0.99, 1e-12);
  // Two half layers compose to one full layer.
  const double half = layer_alpha(OpacityModel::beer_lambert, 0.02, 2.0);
  const double full = layer_alpha(OpacityModel::beer_lambert, 0.04, 2.0);
  EXPECT_NEAR(1 - (1 - half) * (1 - half), full, 1e-12);
}

TEST(LayerAlpha, DerivativeMatchesFiniteDifferences) {
  for (const auto model : {OpacityModel::autoforge, OpacityModel::beer_lambert})
    for (double td : {0.8, 2.5, 6.0})
      for (double t : {0.005, 0.02, 0.04, 0.1}) {
        const double h = 1e-7;
        const double fd = (layer_alpha(model, t + h, td) - layer_alpha(model, t - h, td)) / (2 * h);
        EXPECT_NEAR(layer_alpha_derivative(model, t, td), fd, 1e-4 * std::max(1.0, std::abs(fd))) << td << " " << t;
      }
}

TEST(SrgbToLabf, AgreesWithTheDoublePrecisionConversion) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(0, 1);
  for (int i = 0; i < 200; ++i) {
    const Rgbf c{u(rng), u(rng), u(rng)};
    const color::Lab ref = color::srgb_to_lab({c.r, c.g, c.b});
    const Labf got = srgb_to_labf(c);
    EXPECT_NEAR(got.l, ref.l, 1e-3);
    EXPECT_NEAR(got.a, ref.a, 1e-3);
    EXPECT_NEAR(got.b, ref.b, 1e-3);
  }
}

class ModelTest : public ::testing::Test {
 protected:
  ModelSettings settings() const {
    ModelSettings s;
    s.max_layers = 6;
    return s;
  }
  ReliefModel model{{filament("#000000", 0.6), filament("#ff0000", 3.0), filament("#ffffff", 5.0)}, settings()};
  Stack stack{0, {1, 1, 2, 2, 2, 1}};
};

TEST_F(ModelTest, StackColorsCompositeBottomFirstOverTheBackground) {
  std::vector<Rgbf> c(7);
  model.stack_colors(stack, c);
  EXPECT_EQ(c[0].r, 0.0f);
  Rgbf expect{0, 0, 0};
  for (int l = 0; l < 6; ++l) {
    const int f = stack.layers[static_cast<std::size_t>(l)];
    const float a = static_cast<float>(layer_alpha(OpacityModel::autoforge, 0.04, model.filament(f).td_mm));
    expect.r = a * model.color(f).r + (1 - a) * expect.r;
    expect.g = a * model.color(f).g + (1 - a) * expect.g;
    expect.b = a * model.color(f).b + (1 - a) * expect.b;
    EXPECT_NEAR(c[static_cast<std::size_t>(l) + 1].r, expect.r, 1e-6);
    EXPECT_NEAR(c[static_cast<std::size_t>(l) + 1].g, expect.g, 1e-6);
    EXPECT_NEAR(c[static_cast<std::size_t>(l) + 1].b, expect.b, 1e-6);
  }
}

TEST_F(ModelTest, RenderWithoutBleedShowsEachPixelsStackColour) {
  LayerMap map{3, 2, {0, 1, 2, 3, 6, 4}, {1, 1, 1, 1, 1, 0}};
  const ImageF img = model.render(stack, map, false);
  std::vector<Rgbf> c(7);
  model.stack_colors(stack, c);
  for (std::size_t i = 0; i < 6; ++i) {
    const Rgbf want = map.mask[i] ? c[map.z[i]] : Rgbf{};
    EXPECT_FLOAT_EQ(img.pixels[i * 3], want.r);
    EXPECT_FLOAT_EQ(img.pixels[i * 3 + 1], want.g);
    EXPECT_FLOAT_EQ(img.pixels[i * 3 + 2], want.b);
  }
}

TEST_F(ModelTest, BleedAddsThinLayersUnderTallerNeighboursOnly) {
  // A flat map: bleed changes nothing.
  LayerMap flat{4, 3, std::vector<std::uint16_t>(12, 3), std::vector<std::uint8_t>(12, 1)};
  EXPECT_EQ(model.render(stack, flat, true).pixels, model.render(stack, flat, false).pixels);

  // A pit: the middle pixel at height 1 among neighbours at 5 gains layers 1..4 at coverage
  // 0.1 * 8/8 (AutoForge's fit gives alpha 0 to thinner slivers, such as one taller neighbour's).
  LayerMap pit{3, 3, std::vector<std::uint16_t>(9, 5), std::vector<std::uint8_t>(9, 1)};
  pit.z[4] = 1;
  const ImageF img = model.render(stack, pit, true);
  std::vector<Rgbf> c(7);
  model.stack_colors(stack, c);
  Rgbf expect = c[1];
  for (int l = 1; l < 5; ++l) {
    const int f = stack.layers[static_cast<std::size_t>(l)];
    const float a = static_cast<float>(layer_alpha(OpacityModel::autoforge, 0.04 * 0.1, model.filament(f).td_mm));
    EXPECT_GT(a, 0.0f);
    expect.r = a * model.color(f).r + (1 - a) * expect.r;
    expect.g = a * model.color(f).g + (1 - a) * expect.g;
  }
  EXPECT_NEAR(img.pixels[4 * 3], expect.r, 1e-6);
  EXPECT_NEAR(img.pixels[4 * 3 + 1], expect.g, 1e-6);
  EXPECT_GT(std::abs(img.pixels[4 * 3 + 1] - c[1].g), 1e-3);
  // The tall pixels have no taller neighbour: exactly their stack colour.
  EXPECT_FLOAT_EQ(img.pixels[0], c[5].r);
  // Unprinted neighbours do not bleed.
  for (std::size_t i = 0; i < 9; ++i) pit.mask[i] = i == 4;
  const ImageF none = model.render(stack, pit, true);
  EXPECT_FLOAT_EQ(none.pixels[4 * 3 + 1], c[1].g);
}

TEST_F(ModelTest, RejectsBadPalettesAndStacks) {
  EXPECT_THROW(ReliefModel({}, ModelSettings{}), Error);
  EXPECT_THROW(ReliefModel({filament("#000000", 0)}, ModelSettings{}), Error);
  EXPECT_THROW(ReliefModel({filament("#000000", -1)}, ModelSettings{}), Error);
  ModelSettings bad;
  bad.layer_height_mm = 0;
  EXPECT_THROW(ReliefModel({filament("#000000", 1)}, bad), Error);
  EXPECT_THROW(model.validate(Stack{0, {1, 1}}), Error);
  EXPECT_THROW(model.validate(Stack{3, {1, 1, 1, 1, 1, 1}}), Error);
  EXPECT_THROW(model.validate(Stack{0, {1, 1, 1, 1, 1, 7}}), Error);
}

TEST(LayerMapTop, IgnoresUnprintedPixels) {
  LayerMap m{2, 1, {3, 9}, {1, 0}};
  EXPECT_EQ(m.top(), 3);
}

}  // namespace
}  // namespace fabforge::relief
