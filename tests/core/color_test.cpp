#include "fabforge/core/color.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <random>

namespace fabforge::color {
namespace {

struct De2000Case {
  Lab a, b;
  double expected;
};

/// Sharma, Wu and Dalal (2005), "The CIEDE2000 color-difference formula: implementation notes,
/// supplementary test data, and mathematical observations", Table 1. The pairs probe the hue
/// wrap-around, the achromatic special cases and the mean-hue rules.
constexpr std::array<De2000Case, 34> kSharmaTable = {{
    {{50.0000, 2.6772, -79.7751}, {50.0000, 0.0000, -82.7485}, 2.0425},
    {{50.0000, 3.1571, -77.2803}, {50.0000, 0.0000, -82.7485}, 2.8615},
    {{50.0000, 2.8361, -74.0200}, {50.0000, 0.0000, -82.7485}, 3.4412},
    {{50.0000, -1.3802, -84.2814}, {50.0000, 0.0000, -82.7485}, 1.0000},
    {{50.0000, -1.1848, -84.8006}, {50.0000, 0.0000, -82.7485}, 1.0000},
    {{50.0000, -0.9009, -85.5211}, {50.0000, 0.0000, -82.7485}, 1.0000},
    {{50.0000, 0.0000, 0.0000}, {50.0000, -1.0000, 2.0000}, 2.3669},
    {{50.0000, -1.0000, 2.0000}, {50.0000, 0.0000, 0.0000}, 2.3669},
    {{50.0000, 2.4900, -0.0010}, {50.0000, -2.4900, 0.0009}, 7.1792},
    {{50.0000, 2.4900, -0.0010}, {50.0000, -2.4900, 0.0010}, 7.1792},
    {{50.0000, 2.4900, -0.0010}, {50.0000, -2.4900, 0.0011}, 7.2195},
    {{50.0000, 2.4900, -0.0010}, {50.0000, -2.4900, 0.0012}, 7.2195},
    {{50.0000, -0.0010, 2.4900}, {50.0000, 0.0009, -2.4900}, 4.8045},
    {{50.0000, -0.0010, 2.4900}, {50.0000, 0.0010, -2.4900}, 4.8045},
    {{50.0000, -0.0010, 2.4900}, {50.0000, 0.0011, -2.4900}, 4.7461},
    {{50.0000, 2.5000, 0.0000}, {50.0000, 0.0000, -2.5000}, 4.3065},
    {{50.0000, 2.5000, 0.0000}, {73.0000, 25.0000, -18.0000}, 27.1492},
    {{50.0000, 2.5000, 0.0000}, {61.0000, -5.0000, 29.0000}, 22.8977},
    {{50.0000, 2.5000, 0.0000}, {56.0000, -27.0000, -3.0000}, 31.9030},
    {{50.0000, 2.5000, 0.0000}, {58.0000, 24.0000, 15.0000}, 19.4535},
    {{50.0000, 2.5000, 0.0000}, {50.0000, 3.1736, 0.5854}, 1.0000},
    {{50.0000, 2.5000, 0.0000}, {50.0000, 3.2972, 0.0000}, 1.0000},
    {{50.0000, 2.5000, 0.0000}, {50.0000, 1.8634, 0.5757}, 1.0000},
    {{50.0000, 2.5000, 0.0000}, {50.0000, 3.2592, 0.3350}, 1.0000},
    {{60.2574, -34.0099, 36.2677}, {60.4626, -34.1751, 39.4387}, 1.2644},
    {{63.0109, -31.0961, -5.8663}, {62.8187, -29.7946, -4.0864}, 1.2630},
    {{61.2901, 3.7196, -5.3901}, {61.4292, 2.2480, -4.9620}, 1.8731},
    {{35.0831, -44.1164, 3.7933}, {35.0232, -40.0716, 1.5901}, 1.8645},
    {{22.7233, 20.0904, -46.6940}, {23.0331, 14.9730, -42.5619}, 2.0373},
    {{36.4612, 47.8580, 18.3852}, {36.2715, 50.5065, 21.2231}, 1.4146},
    {{90.8027, -2.0831, 1.4410}, {91.1528, -1.6435, 0.0447}, 1.4441},
    {{90.9257, -0.5406, -0.9208}, {88.6381, -0.8985, -0.7239}, 1.5381},
    {{6.7747, -0.2908, -2.4247}, {5.8714, -0.0985, -2.2286}, 0.6377},
    {{2.0776, 0.0795, -1.1350}, {0.9033, -0.0636, -0.5514}, 0.9082},
}};

TEST(DeltaE2000, MatchesSharmaWuDalalTable) {
  for (std::size_t i = 0; i < kSharmaTable.size(); ++i) {
    const auto& c = kSharmaTable[i];
    EXPECT_NEAR(delta_e2000(c.a, c.b), c.expected, 1e-4) << "pair " << i + 1;
  }
}

TEST(DeltaE2000, IsSymmetric) {
  for (std::size_t i = 0; i < kSharmaTable.size(); ++i) {
    const auto& c = kSharmaTable[i];
    EXPECT_NEAR(delta_e2000(c.a, c.b), delta_e2000(c.b, c.a), 1e-12) << "pair " << i + 1;
  }
}

TEST(DeltaE2000, IsZeroForEqualColours) {
  for (const auto& c : kSharmaTable) {
    EXPECT_EQ(delta_e2000(c.a, c.a), 0.0);
    EXPECT_EQ(delta_e2000(c.b, c.b), 0.0);
  }
}

TEST(DeltaE2000, LightnessFactorScalesPureLightnessDifferences) {
  // With equal chroma and hue only the lightness term is left, so kL divides the difference.
  const Lab a{40, 10, -20};
  const Lab b{55, 10, -20};
  EXPECT_NEAR(delta_e2000(a, b, 2.0), delta_e2000(a, b) / 2.0, 1e-12);
  EXPECT_NEAR(delta_e2000(a, b, 1.0, 3.0, 3.0), delta_e2000(a, b), 1e-12);
}

TEST(DeltaE76, IsEuclideanDistance) {
  EXPECT_DOUBLE_EQ(delta_e76({50, 0, 0}, {53, 4, 0}), 5.0);
  EXPECT_DOUBLE_EQ(delta_e76({10, -2, 3}, {10, -2, 3}), 0.0);
  EXPECT_DOUBLE_EQ(delta_e76({0, 0, 0}, {0, 0, -12}), 12.0);
}

TEST(SrgbTransfer, RoundTripsEvery8BitValue) {
  double previous = -1.0;
  for (int i = 0; i < 256; ++i) {
    const double encoded = i / 255.0;
    const double linear = srgb_to_linear(encoded);
    EXPECT_GT(linear, previous) << i;  // strictly increasing
    previous = linear;
    EXPECT_NEAR(linear_to_srgb(linear), encoded, 1e-12) << i;
    EXPECT_EQ(to_rgb8(linear_to_srgb(Rgb{linear, linear, linear})).r, i);
  }
  EXPECT_EQ(srgb_to_linear(0.0), 0.0);
  EXPECT_NEAR(srgb_to_linear(1.0), 1.0, 1e-15);
  EXPECT_NEAR(srgb_to_linear(128.0 / 255.0), 0.2158605, 1e-7);
}

TEST(SrgbTransfer, BranchesMeetAtTheThresholds) {
  // The two pieces of the IEC curve join (to about 1e-7) at 0.04045 encoded / 0.0031308 linear.
  EXPECT_NEAR(0.04045 / 12.92, std::pow((0.04045 + 0.055) / 1.055, 2.4), 1e-7);
  EXPECT_NEAR(srgb_to_linear(0.04045), 0.0031308, 1e-7);
  EXPECT_NEAR(linear_to_srgb(0.0031308), 0.04045, 1e-6);
}

TEST(Lab, WhiteAndBlack) {
  const Lab white = srgb_to_lab({1, 1, 1});
  EXPECT_NEAR(white.l, 100.0, 1e-4);
  EXPECT_NEAR(white.a, 0.0, 1e-4);
  EXPECT_NEAR(white.b, 0.0, 1e-4);
  const Lab black = srgb_to_lab({0, 0, 0});
  EXPECT_EQ(black.l, 0.0);
  EXPECT_EQ(black.a, 0.0);
  EXPECT_EQ(black.b, 0.0);
}

TEST(Lab, GreysAreNeutral) {
  for (int i = 1; i < 255; i += 17) {
    const double v = i / 255.0;
    const Lab g = srgb_to_lab({v, v, v});
    EXPECT_NEAR(g.a, 0.0, 1e-4) << i;
    EXPECT_NEAR(g.b, 0.0, 1e-4) << i;
  }
}

TEST(Lab, KnownPrimaries) {
  const Lab red = srgb_to_lab({1, 0, 0});
  EXPECT_NEAR(red.l, 53.2408, 1e-3);
  EXPECT_NEAR(red.a, 80.0925, 1e-3);
  EXPECT_NEAR(red.b, 67.2032, 1e-3);
  const Xyz red_xyz = linear_rgb_to_xyz({1, 0, 0});
  EXPECT_DOUBLE_EQ(red_xyz.x, 0.4124564);
  EXPECT_DOUBLE_EQ(red_xyz.y, 0.2126729);
  EXPECT_DOUBLE_EQ(red_xyz.z, 0.0193339);
}

TEST(Lab, MatrixInverseRoundTrips) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int i = 0; i < 1000; ++i) {
    const Rgb c{unit(rng), unit(rng), unit(rng)};
    const Rgb back = xyz_to_linear_rgb(linear_rgb_to_xyz(c));
    EXPECT_NEAR(back.r, c.r, 1e-13);
    EXPECT_NEAR(back.g, c.g, 1e-13);
    EXPECT_NEAR(back.b, c.b, 1e-13);
  }
}

TEST(Lab, SrgbRoundTripsForRandomInGamutColours) {
  std::mt19937 rng(2005);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int i = 0; i < 5000; ++i) {
    // Every fifth colour is very dark, so the linear branches of both curves are exercised.
    const double scale = i % 5 == 0 ? 0.03 : 1.0;
    const Rgb c{scale * unit(rng), scale * unit(rng), scale * unit(rng)};
    const Rgb back = lab_to_srgb(srgb_to_lab(c));
    ASSERT_NEAR(back.r, c.r, 1e-9) << i;
    ASSERT_NEAR(back.g, c.g, 1e-9) << i;
    ASSERT_NEAR(back.b, c.b, 1e-9) << i;
  }
}

TEST(Lab, XyzRoundTripsAcrossTheLinearSegment) {
  for (double l : {0.0, 0.5, 3.0, 7.99, 8.0, 8.01, 20.0, 60.0, 99.0}) {
    const Lab lab{l, 12.0, -7.0};
    const Lab back = xyz_to_lab(lab_to_xyz(lab));
    EXPECT_NEAR(back.l, lab.l, 1e-10) << l;
    EXPECT_NEAR(back.a, lab.a, 1e-10) << l;
    EXPECT_NEAR(back.b, lab.b, 1e-10) << l;
  }
}

TEST(Hex, ParsesWithAndWithoutHashAndAlpha) {
  EXPECT_EQ(parse_hex("#FF8000"), (Rgb8{255, 128, 0}));
  EXPECT_EQ(parse_hex("ff8000"), (Rgb8{255, 128, 0}));
  EXPECT_EQ(parse_hex("#ff8000cc"), (Rgb8{255, 128, 0}));
  EXPECT_EQ(parse_hex("#0a0B0c"), (Rgb8{10, 11, 12}));
}

TEST(Hex, RejectsMalformedText) {
  EXPECT_FALSE(parse_hex("#ff80"));
  EXPECT_FALSE(parse_hex("#gg0000"));
  EXPECT_FALSE(parse_hex(""));
  EXPECT_FALSE(parse_hex("#"));
  EXPECT_FALSE(parse_hex("##ff8000"));
  EXPECT_FALSE(parse_hex("#ff8000c"));
  EXPECT_FALSE(parse_hex(" ff8000"));
  EXPECT_FALSE(parse_hex("#ff 800"));
}

TEST(Hex, FormatsUppercaseAndRoundTrips) {
  EXPECT_EQ(to_hex({255, 128, 0}), "#FF8000");
  EXPECT_EQ(to_hex({0, 0, 0}), "#000000");
  EXPECT_EQ(to_hex({171, 205, 239}), "#ABCDEF");
  for (int v = 0; v < 256; v += 5) {
    const Rgb8 c{static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(255 - v), static_cast<std::uint8_t>(v / 2)};
    EXPECT_EQ(parse_hex(to_hex(c)), c);
  }
}

TEST(Rgb8, RoundsAndClamps) {
  EXPECT_EQ(to_rgb8({0.5, 1.2, -0.3}), (Rgb8{128, 255, 0}));
  EXPECT_EQ(to_rgb8({NAN, 0.0, 1.0}), (Rgb8{0, 0, 255}));
  for (int v = 0; v < 256; ++v) {
    const Rgb8 c{static_cast<std::uint8_t>(v), 0, 0};
    EXPECT_EQ(to_rgb8(to_unit(c)), c);
  }
}

}  // namespace
}  // namespace fabforge::color
