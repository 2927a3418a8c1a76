// Noise: ranges, lattice zeros, continuity, batch == scalar bit for bit, fbm relationships,
// Worley properties, and a rough speed print.

#include "fabforge/openfl/noise.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <vector>

namespace fabforge::openfl::noise {
namespace {

std::vector<float> random_floats(std::size_t n, float lo, float hi, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

/// Coordinates that stress the lattice code: ordinary, large, negative, near-integers, huge,
/// non-finite.
std::vector<float> nasty_floats(std::size_t n, unsigned seed) {
  std::vector<float> v = random_floats(n, -50.0f, 50.0f, seed);
  std::mt19937 rng(seed + 1);
  const float specials[] = {0.0f,   -0.0f,  1.0f,      -1.0f,          1e-30f,          -1e-30f,
                            8388607.5f, -8388607.5f, 8388608.0f, -8388609.0f, 3e9f,  -3e9f,
                            1e38f,  -1e38f, INFINITY,  -INFINITY,      std::nanf(""),   123456.789f,
                            -0.5f,  65535.99f};
  for (std::size_t i = 0; i < n; i += 3) {
    switch (rng() % 4) {
      case 0: v[i] = specials[rng() % std::size(specials)]; break;
      case 1: v[i] = std::ldexp(v[i], static_cast<int>(rng() % 40)); break;
      case 2: v[i] = std::nextafter(std::round(v[i]), v[i] > 0 ? INFINITY : -INFINITY); break;
      default: break;
    }
  }
  return v;
}

bool same_bits(float a, float b) { return std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b); }

TEST(Noise, PerlinInRange) {
  const std::size_t n = 200000;
  const auto x = random_floats(n, -100.0f, 100.0f, 1), y = random_floats(n, -100.0f, 100.0f, 2),
             z = random_floats(n, -100.0f, 100.0f, 3);
  float lo3 = 0, hi3 = 0, lo2 = 0, hi2 = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const float a = perlin3(x[i], y[i], z[i]), b = perlin2(x[i], y[i]);
    ASSERT_GE(a, -1.0f);
    ASSERT_LE(a, 1.0f);
    ASSERT_GE(b, -1.0f);
    ASSERT_LE(b, 1.0f);
    lo3 = std::min(lo3, a), hi3 = std::max(hi3, a), lo2 = std::min(lo2, b), hi2 = std::max(hi2, b);
  }
  // The range is used, not squeezed into a corner of [-1, 1].
  EXPECT_LT(lo3, -0.6f);
  EXPECT_GT(hi3, 0.6f);
  EXPECT_LT(lo2, -0.6f);
  EXPECT_GT(hi2, 0.6f);
}

TEST(Noise, ZeroAtLatticePoints) {
  for (int i = -20; i <= 20; ++i)
    for (int j = -20; j <= 20; ++j) {
      const float x = static_cast<float>(i), y = static_cast<float>(j), z = static_cast<float>(i * 7 - j * 3);
      ASSERT_EQ(perlin2(x, y), 0.0f);
      ASSERT_EQ(perlin3(x, y, z), 0.0f);
    }
  EXPECT_EQ(perlin3(3e9f, -1e20f, 16777216.0f), 0.0f);
  // Non-finite coordinates read as lattice points: no NaN ever comes out.
  EXPECT_EQ(perlin3(std::nanf(""), 0.5f, 0.5f), perlin2(0.5f, 0.5f) * 0.0f + perlin3(-8388608.0f, 0.5f, 0.5f));
  EXPECT_FALSE(std::isnan(perlin2(INFINITY, 0.3f)));
}

TEST(Noise, NotConstant) {
  // Points inside cells have nonzero noise in most places.
  int nonzero = 0;
  for (int i = 0; i < 100; ++i) nonzero += perlin3(i * 0.37f + 0.1f, i * 0.71f + 0.2f, i * 0.13f + 0.3f) != 0.0f;
  EXPECT_GT(nonzero, 95);
}

TEST(Noise, Deterministic) {
  EXPECT_TRUE(same_bits(perlin3(1.25f, -3.5f, 7.75f), perlin3(1.25f, -3.5f, 7.75f)));
  EXPECT_TRUE(same_bits(perlin2(1.25f, -3.5f), perlin2(1.25f, -3.5f)));
  float a1, a2, b1, b2;
  cellular3(0.3f, 0.6f, -2.2f, a1, a2);
  cellular3(0.3f, 0.6f, -2.2f, b1, b2);
  EXPECT_TRUE(same_bits(a1, b1));
  EXPECT_TRUE(same_bits(a2, b2));
}

TEST(Noise, Continuous) {
  // The gradient of the raw noise is bounded (a few units); a step of 1e-3 changes the value by
  // far less than 0.05.
  const auto x = random_floats(20000, -30.0f, 30.0f, 4), y = random_floats(20000, -30.0f, 30.0f, 5),
             z = random_floats(20000, -30.0f, 30.0f, 6);
  const float h = 1e-3f;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const float a = perlin3(x[i], y[i], z[i]);
    ASSERT_LT(std::fabs(perlin3(x[i] + h, y[i], z[i]) - a), 0.01f);
    ASSERT_LT(std::fabs(perlin3(x[i], y[i] + h, z[i]) - a), 0.01f);
    ASSERT_LT(std::fabs(perlin3(x[i], y[i], z[i] + h) - a), 0.01f);
    const float b = perlin2(x[i], y[i]);
    ASSERT_LT(std::fabs(perlin2(x[i] + h, y[i]) - b), 0.01f);
    ASSERT_LT(std::fabs(perlin2(x[i], y[i] + h) - b), 0.01f);
  }
  // Across cell borders too.
  for (int i = -5; i < 5; ++i) {
    const float b = static_cast<float>(i);
    EXPECT_LT(std::fabs(perlin3(std::nextafter(b, -10.0f), 0.3f, 0.7f) - perlin3(b, 0.3f, 0.7f)), 1e-5f);
    EXPECT_LT(std::fabs(perlin2(0.3f, std::nextafter(b, -10.0f)) - perlin2(0.3f, b)), 1e-5f);
  }
}

TEST(Noise, BatchEqualsScalarBitForBit) {
  const std::size_t n = 4099;  // not a multiple of any lane count
  const auto x = nasty_floats(n, 7), y = nasty_floats(n, 8), z = nasty_floats(n, 9);
  std::vector<std::int32_t> oct(n);
  std::mt19937 rng(10);
  for (auto& o : oct) o = static_cast<std::int32_t>(rng() % 20) - 2;  // includes out-of-range counts
  const auto lac = random_floats(n, 1.5f, 3.0f, 11), gain = random_floats(n, -0.8f, 0.8f, 12);
  std::vector<float> out(n), out2(n);

  perlin3(n, x.data(), y.data(), z.data(), out.data());
  for (std::size_t i = 0; i < n; ++i) ASSERT_TRUE(same_bits(out[i], perlin3(x[i], y[i], z[i]))) << i;
  perlin2(n, x.data(), y.data(), out.data());
  for (std::size_t i = 0; i < n; ++i) ASSERT_TRUE(same_bits(out[i], perlin2(x[i], y[i]))) << i;
  for (bool turb : {false, true}) {
    fbm3(n, x.data(), y.data(), z.data(), oct.data(), lac.data(), gain.data(), turb, out.data());
    for (std::size_t i = 0; i < n; ++i)
      ASSERT_TRUE(same_bits(out[i], fbm3(x[i], y[i], z[i], oct[i], lac[i], gain[i], turb))) << i;
    fbm2(n, x.data(), y.data(), oct.data(), lac.data(), gain.data(), turb, out.data());
    for (std::size_t i = 0; i < n; ++i)
      ASSERT_TRUE(same_bits(out[i], fbm2(x[i], y[i], oct[i], lac[i], gain[i], turb))) << i;
  }
  cellular3(n, x.data(), y.data(), z.data(), out.data(), out2.data());
  for (std::size_t i = 0; i < n; ++i) {
    float f1, f2;
    cellular3(x[i], y[i], z[i], f1, f2);
    ASSERT_TRUE(same_bits(out[i], f1) && same_bits(out2[i], f2)) << i;
  }
  cellular2(n, x.data(), y.data(), out.data(), out2.data());
  for (std::size_t i = 0; i < n; ++i) {
    float f1, f2;
    cellular2(x[i], y[i], f1, f2);
    ASSERT_TRUE(same_bits(out[i], f1) && same_bits(out2[i], f2)) << i;
  }
  // Batch calls of every length agree with one long call (lane position does not matter).
  for (std::size_t len = 1; len < 20; ++len) {
    perlin3(len, x.data() + 5, y.data() + 5, z.data() + 5, out.data());
    for (std::size_t i = 0; i < len; ++i) ASSERT_TRUE(same_bits(out[i], perlin3(x[5 + i], y[5 + i], z[5 + i])));
  }
}

TEST(Noise, FbmRelationships) {
  const auto x = random_floats(2000, -20.0f, 20.0f, 13), y = random_floats(2000, -20.0f, 20.0f, 14),
             z = random_floats(2000, -20.0f, 20.0f, 15);
  for (std::size_t i = 0; i < x.size(); ++i) {
    ASSERT_EQ(fbm3(x[i], y[i], z[i], 1, 2.0f, 0.5f, false), perlin3(x[i], y[i], z[i]));
    ASSERT_EQ(fbm2(x[i], y[i], 1, 2.0f, 0.5f, false), perlin2(x[i], y[i]));
    ASSERT_EQ(fbm3(x[i], y[i], z[i], 1, 2.0f, 0.5f, true), std::fabs(perlin3(x[i], y[i], z[i])));
    // Octave counts are clamped to 1..16.
    ASSERT_EQ(fbm3(x[i], y[i], z[i], 0, 2.0f, 0.5f, false), perlin3(x[i], y[i], z[i]));
    ASSERT_EQ(fbm3(x[i], y[i], z[i], 40, 2.0f, 0.5f, false), fbm3(x[i], y[i], z[i], 16, 2.0f, 0.5f, false));
    // Two octaves by hand, in the documented order.
    const float two = 0.0f + 1.0f * perlin3(x[i], y[i], z[i]) + 0.5f * perlin3(x[i] * 2.0f, y[i] * 2.0f, z[i] * 2.0f);
    ASSERT_EQ(fbm3(x[i], y[i], z[i], 2, 2.0f, 0.5f, false), two);
    const float t = fbm3(x[i], y[i], z[i], 5, 2.0f, 0.5f, true);
    ASSERT_GE(t, 0.0f);
    ASSERT_LE(t, fbm_bound(5, 0.5f));
    ASSERT_LE(std::fabs(fbm2(x[i], y[i], 7, 2.3f, -0.7f, false)), fbm_bound(7, -0.7f));
  }
  EXPECT_EQ(fbm_bound(1, 0.5f), 1.0f);
  EXPECT_EQ(fbm_bound(3, 0.5f), 1.75f);
  EXPECT_EQ(fbm_bound(3, -0.5f), 1.75f);
  EXPECT_EQ(fbm_bound(0, 0.5f), 1.0f);
  EXPECT_EQ(fbm_bound(100, 1.0f), 16.0f);
  EXPECT_EQ(fbm_bound(3, std::nanf("")), INFINITY);
}

TEST(Noise, CellularProperties) {
  const auto x = random_floats(20000, -40.0f, 40.0f, 16), y = random_floats(20000, -40.0f, 40.0f, 17),
             z = random_floats(20000, -40.0f, 40.0f, 18);
  float min3 = INFINITY, min2 = INFINITY;
  for (std::size_t i = 0; i < x.size(); ++i) {
    float f1, f2;
    cellular3(x[i], y[i], z[i], f1, f2);
    ASSERT_GE(f1, 0.0f);
    ASSERT_LE(f1, f2);
    ASSERT_LE(f1, std::sqrt(3.0f));
    min3 = std::min(min3, f1);
    cellular2(x[i], y[i], f1, f2);
    ASSERT_GE(f1, 0.0f);
    ASSERT_LE(f1, f2);
    ASSERT_LE(f1, std::sqrt(2.0f));
    min2 = std::min(min2, f1);
  }
  EXPECT_LT(min3, 0.1f);
  EXPECT_LT(min2, 0.02f);
  // Descend to a feature point: F1 shrinks to ~0 there, and F2 stays away from zero.
  float px = 0.5f, py = 0.5f, f1, f2;
  for (int it = 0; it < 200; ++it) {
    cellular2(px, py, f1, f2);
    float best = f1, bx = px, by = py;
    for (float dx : {-1.0f, 0.0f, 1.0f})
      for (float dy : {-1.0f, 0.0f, 1.0f}) {
        float g1, g2;
        cellular2(px + dx * f1 * 0.5f, py + dy * f1 * 0.5f, g1, g2);
        if (g1 < best) best = g1, bx = px + dx * f1 * 0.5f, by = py + dy * f1 * 0.5f;
      }
    px = bx, py = by;
  }
  cellular2(px, py, f1, f2);
  EXPECT_LT(f1, 1e-3f);
  EXPECT_GT(f2, 0.01f);
  // Continuity of F1.
  for (std::size_t i = 0; i < 2000; ++i) {
    float a1, a2, b1, b2;
    cellular3(x[i], y[i], z[i], a1, a2);
    cellular3(x[i] + 1e-3f, y[i], z[i], b1, b2);
    ASSERT_LE(std::fabs(a1 - b1), 1.1e-3f);
  }
}

// perlin_range: every sample of a box lies in its bounds (corners, faces, random inside, the
// box astride a cell boundary), small boxes get narrow bounds, and boxes it cannot bound are
// refused.
TEST(Noise, RangeOverABoxHoldsEverySampleAndIsNarrowForSmallBoxes) {
  std::mt19937 rng(41);
  std::uniform_real_distribution<float> where(-40.0f, 40.0f), size(0.0f, 1.5f), unit(0.0f, 1.0f);
  double width_small = 0;
  int small_boxes = 0;
  for (int box = 0; box < 3000; ++box) {
    const int dims = 2 + box % 2;
    float lo[3], hi[3];
    const float edge = box % 3 == 0 ? size(rng) * 0.02f : size(rng);
    for (int a = 0; a < dims; ++a) {
      lo[a] = box % 7 == 0 ? std::round(where(rng)) - edge * 0.5f : where(rng);  // some astride a lattice plane
      hi[a] = lo[a] + edge * unit(rng);
    }
    float r_lo = 0, r_hi = 0;
    const bool ok = perlin_range(dims, lo, hi, r_lo, r_hi);
    bool two_cells = true;
    for (int a = 0; a < dims; ++a) two_cells = two_cells && std::floor(hi[a]) - std::floor(lo[a]) <= 1;
    ASSERT_EQ(ok, two_cells) << "box " << box;
    if (!ok) continue;
    ASSERT_LE(r_lo, r_hi);
    ASSERT_GE(r_lo, -1.0f);
    ASSERT_LE(r_hi, 1.0f);
    for (int q = 0; q < 400; ++q) {
      float p[3];
      for (int a = 0; a < dims; ++a) {
        const int corner = q < 8 ? (q >> a) & 1 : -1;
        p[a] = corner == 0 ? lo[a] : corner == 1 ? hi[a] : lo[a] + (hi[a] - lo[a]) * unit(rng);
        p[a] = std::clamp(p[a], lo[a], hi[a]);
      }
      const float v = dims == 2 ? perlin2(p[0], p[1]) : perlin3(p[0], p[1], p[2]);
      ASSERT_GE(v, r_lo) << "box " << box << " sample " << q;
      ASSERT_LE(v, r_hi) << "box " << box << " sample " << q;
    }
    if (edge < 0.03f) {
      width_small += r_hi - r_lo;
      ++small_boxes;
    }
  }
  ASSERT_GT(small_boxes, 500);
  // Boxes under 0.03 on a side: the noise changes by a few hundredths over them at most.
  EXPECT_LT(width_small / small_boxes, 0.1);
  // Refused: three cells along an axis, empty, beyond 2^23, wrong dimension.
  float r_lo = -7, r_hi = 7;
  const float wide_lo[3] = {0.5f, 0, 0}, wide_hi[3] = {2.5f, 0.5f, 0.5f};
  EXPECT_FALSE(perlin_range(3, wide_lo, wide_hi, r_lo, r_hi));
  const float empty_lo[2] = {1, 1}, empty_hi[2] = {0, 2};
  EXPECT_FALSE(perlin_range(2, empty_lo, empty_hi, r_lo, r_hi));
  const float big_lo[2] = {1e8f, 0}, big_hi[2] = {1e8f, 0};
  EXPECT_FALSE(perlin_range(2, big_lo, big_hi, r_lo, r_hi));
  EXPECT_FALSE(perlin_range(4, big_lo, big_hi, r_lo, r_hi));
  EXPECT_EQ(r_lo, -7);
  EXPECT_EQ(r_hi, 7);
  // A point box: bounds around the point's value.
  const float pt[2] = {3.3f, -7.9f};
  ASSERT_TRUE(perlin_range(2, pt, pt, r_lo, r_hi));
  EXPECT_LE(r_lo, perlin2(pt[0], pt[1]));
  EXPECT_GE(r_hi, perlin2(pt[0], pt[1]));
  EXPECT_LT(r_hi - r_lo, 1e-3f);
}

TEST(Noise, SpeedPrint) {
  const std::size_t n = 1 << 16;
  const auto x = random_floats(n, -100.0f, 100.0f, 19), y = random_floats(n, -100.0f, 100.0f, 20),
             z = random_floats(n, -100.0f, 100.0f, 21);
  std::vector<float> out(n), out2(n);
  const std::vector<std::int32_t> oct(n, 3);
  const std::vector<float> lac(n, 2.0f), gain(n, 0.5f);
  auto rate = [&](auto&& fn) {
    const int reps = 20;
    const auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < reps; ++r) fn();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return static_cast<double>(n) * reps / s * 1e-6;
  };
  std::printf("perlin3 batch: %.1f M/s\n", rate([&] { perlin3(n, x.data(), y.data(), z.data(), out.data()); }));
  std::printf("perlin3 scalar: %.1f M/s\n", rate([&] {
                for (std::size_t i = 0; i < n; ++i) out[i] = perlin3(x[i], y[i], z[i]);
              }));
  std::printf("perlin2 batch: %.1f M/s\n", rate([&] { perlin2(n, x.data(), y.data(), out.data()); }));
  std::printf("fbm3 (3 octaves) batch: %.1f M/s\n", rate([&] {
                fbm3(n, x.data(), y.data(), z.data(), oct.data(), lac.data(), gain.data(), false, out.data());
              }));
  std::printf("cellular3 batch: %.1f M/s\n",
              rate([&] { cellular3(n, x.data(), y.data(), z.data(), out.data(), out2.data()); }));
  std::printf("cellular2 batch: %.1f M/s\n", rate([&] { cellular2(n, x.data(), y.data(), out.data(), out2.data()); }));
}

}  // namespace
}  // namespace fabforge::openfl::noise
