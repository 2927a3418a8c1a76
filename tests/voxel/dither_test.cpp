#include "fabforge/voxel/dither.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "fabforge/core/error.hpp"

namespace fabforge::voxel {
namespace {

constexpr int kSize = 256;

/// A slice where every voxel asks for the same mixture.
std::vector<float> uniform_weights(int width, int height, const std::vector<float>& mixture) {
  std::vector<float> w;
  w.reserve(static_cast<std::size_t>(width) * height * mixture.size());
  for (int i = 0; i < width * height; ++i) w.insert(w.end(), mixture.begin(), mixture.end());
  return w;
}

/// Share of each output index (0 = void, m = material m - 1) among the given voxels.
std::vector<double> fractions(const std::vector<std::uint8_t>& out, int materials) {
  std::vector<double> counts(static_cast<std::size_t>(materials) + 1, 0.0);
  for (std::uint8_t v : out) counts.at(v) += 1.0;
  for (double& c : counts) c /= static_cast<double>(out.size());
  return counts;
}

void expect_uniform_fractions(const std::vector<float>& mixture) {
  const int m_count = static_cast<int>(mixture.size());
  const auto out = dither_slice(uniform_weights(kSize, kSize, mixture), kSize, kSize, m_count);
  const auto f = fractions(out, m_count);
  double total = 0;
  for (float w : mixture) total += w;
  EXPECT_EQ(f[0], 0.0) << "no voxel may be void";
  for (int m = 0; m < m_count; ++m) {
    EXPECT_NEAR(f[static_cast<std::size_t>(m) + 1], mixture[static_cast<std::size_t>(m)] / total, 0.01)
        << "material " << m;
  }
}

TEST(Dither, TwoMaterialsThirtySeventy) { expect_uniform_fractions({0.3f, 0.7f}); }

TEST(Dither, ThreeMaterialsThirdEach) { expect_uniform_fractions({1.0f / 3, 1.0f / 3, 1.0f / 3}); }

TEST(Dither, SmallFractionFivePercent) { expect_uniform_fractions({0.05f, 0.95f}); }

TEST(Dither, SixMaterialsUnequal) { expect_uniform_fractions({0.1f, 0.2f, 0.05f, 0.15f, 0.3f, 0.2f}); }

TEST(Dither, UnnormalisedWeightsAreNormalised) { expect_uniform_fractions({3.0f, 7.0f}); }

TEST(Dither, ManyMaterialsGenericKernel) {
  std::vector<float> mixture(20);
  for (int m = 0; m < 20; ++m) mixture[static_cast<std::size_t>(m)] = static_cast<float>(m + 1);
  expect_uniform_fractions(mixture);
}

TEST(Dither, FractionsErrorIsTiny) {
  // Error diffusion conserves material: over 65536 voxels the count is off by a few voxels only.
  const auto out = dither_slice(uniform_weights(kSize, kSize, {0.3f, 0.7f}), kSize, kSize, 2);
  const auto f = fractions(out, 2);
  EXPECT_NEAR(f[1], 0.3, 0.001);
}

TEST(Dither, SpatialGradientFollowsRequest) {
  // Material 1's share rises linearly from 0 at x = 0 to 1 at x = 255; every band of 32 columns
  // and the whole region get their requested share.
  std::vector<float> w;
  for (int j = 0; j < kSize; ++j) {
    for (int i = 0; i < kSize; ++i) {
      const float a = static_cast<float>(i) / (kSize - 1);
      w.push_back(a);
      w.push_back(1.0f - a);
    }
  }
  const auto out = dither_slice(w, kSize, kSize, 2);
  double total_requested = 0;
  double total_got = 0;
  for (int band = 0; band < kSize / 32; ++band) {
    double requested = 0;
    double got = 0;
    for (int j = 0; j < kSize; ++j) {
      for (int i = band * 32; i < band * 32 + 32; ++i) {
        requested += static_cast<double>(i) / (kSize - 1);
        got += out[static_cast<std::size_t>(j) * kSize + i] == 1 ? 1.0 : 0.0;
        EXPECT_NE(out[static_cast<std::size_t>(j) * kSize + i], 0);
      }
    }
    EXPECT_NEAR(got / (32.0 * kSize), requested / (32.0 * kSize), 0.01) << "band " << band;
    total_requested += requested;
    total_got += got;
  }
  EXPECT_NEAR(total_got / (kSize * kSize), total_requested / (kSize * kSize), 0.01);
  // The ends are pure: column 0 never gets material 1, column 255 always does.
  for (int j = 0; j < kSize; ++j) {
    EXPECT_EQ(out[static_cast<std::size_t>(j) * kSize], 2);
    EXPECT_EQ(out[static_cast<std::size_t>(j) * kSize + kSize - 1], 1);
  }
}

TEST(Dither, PureMixturesAreExact) {
  std::mt19937 rng(7);
  const int m_count = 5;
  std::vector<float> w;
  std::vector<std::uint8_t> expected;
  for (int i = 0; i < kSize * kSize; ++i) {
    const int m = static_cast<int>(rng() % m_count);
    const float scale = 0.25f + static_cast<float>(rng() % 100);
    for (int k = 0; k < m_count; ++k) w.push_back(k == m ? scale : (k % 2 == 0 ? 0.0f : -1.0f));
    expected.push_back(static_cast<std::uint8_t>(m + 1));
  }
  EXPECT_EQ(dither_slice(w, kSize, kSize, m_count), expected);
}

TEST(Dither, VoidStaysVoidAndPassesNoError) {
  // A 50/50 mixture with a void disk in the middle: the disk outputs 0, everything else is a
  // material, and the non-void region still gets 50/50.
  std::vector<float> w;
  std::vector<bool> is_void;
  for (int j = 0; j < kSize; ++j) {
    for (int i = 0; i < kSize; ++i) {
      const double r = std::hypot(i - 128.0, j - 128.0);
      const bool v = r < 60.0;
      is_void.push_back(v);
      w.push_back(v ? 0.0f : 0.5f);
      w.push_back(v ? 0.0f : 0.5f);
    }
  }
  const auto out = dither_slice(w, kSize, kSize, 2);
  std::size_t solid = 0;
  std::size_t first = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (is_void[i]) {
      ASSERT_EQ(out[i], 0) << "voxel " << i;
    } else {
      ASSERT_NE(out[i], 0) << "voxel " << i;
      ++solid;
      first += out[i] == 1 ? 1 : 0;
    }
  }
  EXPECT_NEAR(static_cast<double>(first) / static_cast<double>(solid), 0.5, 0.01);
}

TEST(Dither, NegativeAndNonFiniteWeights) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  // One row of voxels, each a separate case; error from one case may not change the next, so
  // each row holds one case repeated and is checked on its own slice.
  struct Case {
    std::vector<float> weights;
    std::uint8_t expected;
  };
  const std::vector<Case> cases = {
      {{-1.0f, 1.0f, 0.0f}, 2}, {{0.0f, -5.0f, 2.0f}, 3},  {{-1.0f, -1.0f, -1.0f}, 0},
      {{0.0f, 0.0f, 0.0f}, 0},  {{nan, 1.0f, 0.0f}, 0},    {{1.0f, inf, 0.0f}, 0},
      {{1.0f, -inf, 0.0f}, 0},  {{1e30f, 0.0f, 3e38f}, 3}, {{1e-30f, 0.0f, 0.0f}, 1},
  };
  for (std::size_t c = 0; c < cases.size(); ++c) {
    const auto out = dither_slice(uniform_weights(17, 3, cases[c].weights), 17, 3, 3);
    for (std::uint8_t v : out) ASSERT_EQ(v, cases[c].expected) << "case " << c;
  }
}

// is_void_mixture states rule 1 for callers (the pipeline's support): it must agree with what the
// Ditherer outputs, including the large-sum case (finite weights whose float sum overflows).
TEST(Dither, VoidTestAgreesWithTheDitherer) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<std::vector<float>> cases = {
      {-1.0f, 1.0f, 0.0f}, {-1.0f, -1.0f, -1.0f}, {0.0f, 0.0f, 0.0f},    {nan, 1.0f, 0.0f},    {1.0f, inf, 0.0f},
      {1.0f, -inf, 0.0f},  {1e30f, 0.0f, 3e38f},  {3e38f, 3e38f, 3e38f}, {1e-30f, 0.0f, 0.0f}, {-0.0f, 0.0f, 0.0f},
  };
  for (std::size_t c = 0; c < cases.size(); ++c) {
    const auto out = dither_slice(uniform_weights(5, 2, cases[c]), 5, 2, 3);
    EXPECT_EQ(is_void_mixture(cases[c].data(), 3), out[0] == 0) << "case " << c;
  }
}

TEST(Dither, TiesGoToTheLowestIndex) {
  const auto out = dither_slice(std::vector<float>{0.5f, 0.5f}, 1, 1, 2);
  EXPECT_EQ(out[0], 1);
  const auto out3 = dither_slice(std::vector<float>{0.0f, 0.5f, 0.5f}, 1, 1, 3);
  EXPECT_EQ(out3[0], 2);
}

TEST(Dither, DeterministicStreamingAndReset) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> u(-0.2f, 1.0f);
  const int width = 97;
  const int height = 61;
  const int m_count = 6;
  std::vector<float> w(static_cast<std::size_t>(width) * height * m_count);
  for (float& x : w) x = u(rng);
  const auto once = dither_slice(w, width, height, m_count);
  EXPECT_EQ(dither_slice(w, width, height, m_count), once);

  // Streaming row by row through one Ditherer, twice with a reset in between, gives the same.
  Ditherer d(width, height, m_count);
  std::vector<std::uint8_t> row(width);
  for (int pass = 0; pass < 2; ++pass) {
    for (int j = 0; j < height; ++j) {
      d.push_row(w.data() + static_cast<std::size_t>(j) * width * m_count, row.data());
      for (int i = 0; i < width; ++i) ASSERT_EQ(row[i], once[static_cast<std::size_t>(j) * width + i]);
    }
    EXPECT_EQ(d.rows_done(), height);
    d.reset();
  }
  // Scaling all weights by a power of two changes nothing (normalisation is exact then).
  std::vector<float> w4 = w;
  for (float& x : w4) x *= 4.0f;
  EXPECT_EQ(dither_slice(w4, width, height, m_count), once);
}

TEST(Dither, OutputCodesReplaceTheIndices) {
  // A ditherer given output codes writes codes[index] where it would write the index, row by row
  // (void rows and void voxels included), and chooses exactly as without them.
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-0.3f, 1.0f);
  const int width = 53, height = 9, m_count = 3;
  std::vector<float> w(static_cast<std::size_t>(width) * height * m_count);
  for (float& x : w) x = u(rng);
  const auto plain = dither_slice(w, width, height, m_count);
  const std::vector<std::uint8_t> codes = {200, 7, 3, 12};  // void, material 0, 1, 2
  Ditherer d(width, height, m_count, codes);
  std::vector<std::uint8_t> row(width);
  std::size_t voids = 0;
  for (int j = 0; j < height; ++j) {
    if (j == 4) {
      d.push_void_row(row.data());
      for (int i = 0; i < width; ++i) ASSERT_EQ(row[i], 200);
      continue;
    }
    d.push_row(w.data() + static_cast<std::size_t>(j) * width * m_count, row.data());
    if (j > 4) continue;  // below the void row the error differs from the plain slice's
    for (int i = 0; i < width; ++i) {
      const std::uint8_t index = plain[static_cast<std::size_t>(j) * width + i];
      ASSERT_EQ(row[i], codes[index]);
      voids += index == 0 ? 1 : 0;
    }
  }
  EXPECT_GT(voids, 0u);  // the weights include all-negative voxels, so the void code was written
  EXPECT_THROW(Ditherer(4, 4, 3, std::vector<std::uint8_t>(3)), Error);
  EXPECT_THROW(Ditherer(4, 4, 3, std::vector<std::uint8_t>(5)), Error);
}

TEST(Dither, SpansGiveTheWholeRowsResult) {
  // Rows void outside a random span (sometimes empty, sometimes touching an edge), with void
  // voxels inside too: dithering only the span gives, row after row (so the error handed to the
  // next row matches as well, in both scan directions), what dithering the whole row gives.
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-0.2f, 1.0f);
  const int width = 41, height = 60;
  for (const int m_count : {2, 3, 9}) {
    std::vector<float> w(static_cast<std::size_t>(width) * height * m_count, 0.0f);
    std::vector<std::pair<int, int>> spans;
    for (int j = 0; j < height; ++j) {
      int first = static_cast<int>(rng() % (width + 1)), end = static_cast<int>(rng() % (width + 1));
      if (first > end) std::swap(first, end);
      if (j % 7 == 1) first = 0;
      if (j % 5 == 2) end = width;
      spans.emplace_back(first, end);
      for (int i = first; i < end; ++i) {
        for (int m = 0; m < m_count; ++m) w[(static_cast<std::size_t>(j) * width + i) * m_count + m] = u(rng);
      }
    }
    const auto whole = dither_slice(w, width, height, m_count);
    Ditherer d(width, height, m_count);
    std::vector<std::uint8_t> row(width, 99);
    std::size_t non_void = 0;
    for (int j = 0; j < height; ++j) {
      d.push_row(w.data() + static_cast<std::size_t>(j) * width * m_count, row.data(), spans[j].first, spans[j].second);
      for (int i = 0; i < width; ++i) {
        ASSERT_EQ(row[i], whole[static_cast<std::size_t>(j) * width + i]) << "row " << j << " voxel " << i;
        non_void += row[i] != 0 ? 1 : 0;
      }
    }
    EXPECT_GT(non_void, static_cast<std::size_t>(width * height / 4));
  }
  Ditherer d(8, 2, 2);
  std::vector<float> w(16, 0.5f);
  std::vector<std::uint8_t> row(8);
  EXPECT_THROW(d.push_row(w.data(), row.data(), -1, 4), Error);
  EXPECT_THROW(d.push_row(w.data(), row.data(), 2, 9), Error);
  EXPECT_THROW(d.push_row(w.data(), row.data(), 5, 4), Error);
  EXPECT_EQ(d.rows_done(), 0);
}

TEST(Dither, BadArguments) {
  EXPECT_THROW(Ditherer(0, 4, 2), Error);
  EXPECT_THROW(Ditherer(4, 0, 2), Error);
  EXPECT_THROW(Ditherer(4, 4, 0), Error);
  EXPECT_THROW(Ditherer(4, 4, 65), Error);
  EXPECT_NO_THROW(Ditherer(4, 4, 64));
  EXPECT_THROW(dither_slice(std::vector<float>(7), 2, 2, 2), Error);
  Ditherer d(2, 1, 1);
  const float w[2] = {1.0f, 1.0f};
  std::uint8_t out[2];
  d.push_row(w, out);
  try {
    d.push_row(w, out);
    ADD_FAILURE() << "a second row in a one-row slice must throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_NE(std::string(e.what()).find("reset()"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace fabforge::voxel
