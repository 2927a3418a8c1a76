#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "fabforge/core/color.hpp"
#include "fabforge/core/error.hpp"
#include "fabforge/relief/filament_library.hpp"
#include "fabforge/relief/model.hpp"
#include "fabforge/relief/solve.hpp"
#include "fabforge/relief/target.hpp"

namespace fabforge::relief {
namespace {

// A small smooth colourful picture with a transparent corner.
Image8 test_picture(int w, int h) {
  Image8 img(w, h, 4);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const double u = static_cast<double>(x) / w, v = static_cast<double>(y) / h;
      img.at(x, y, 0) = static_cast<std::uint8_t>(255 * (0.5 + 0.5 * std::sin(6 * u)));
      img.at(x, y, 1) = static_cast<std::uint8_t>(255 * v);
      img.at(x, y, 2) = static_cast<std::uint8_t>(255 * (0.5 + 0.5 * std::cos(5 * u * v)));
      img.at(x, y, 3) = (x < w / 6 && y < h / 6) ? 0 : 255;
    }
  return img;
}

Target small_target(int px = 48) {
  TargetOptions o;
  o.long_side_mm = px * 0.2;
  return make_target(test_picture(64, 48), o);
}

ModelSettings small_settings(int layers = 20) {
  ModelSettings s;
  s.max_layers = layers;
  return s;
}

float lab_error(Labf a, Labf b) {
  return (a.l - b.l) * (a.l - b.l) + (a.a - b.a) * (a.a - b.a) + (a.b - b.b) * (a.b - b.b);
}

TEST(Counting, ColoursAndSwapsOverThePrintedLayersOnly) {
  const Stack s{2, {2, 2, 5, 5, 3, 5, 5, 1}};
  EXPECT_EQ(count_colors(s, 0), 1);
  EXPECT_EQ(count_swaps(s, 0), 0);
  EXPECT_EQ(count_swaps(s, 2), 0);
  EXPECT_EQ(count_colors(s, 4), 2);
  EXPECT_EQ(count_swaps(s, 4), 1);
  EXPECT_EQ(count_colors(s, 8), 4);
  EXPECT_EQ(count_swaps(s, 8), 4);
  const ReliefModel model(default_filament_library().filaments, small_settings(8));
  const auto swaps = list_swaps(model, s, 8);
  ASSERT_EQ(swaps.size(), 4u);
  EXPECT_EQ(swaps[0].layer, 3);
  EXPECT_EQ(swaps[0].from, 2);
  EXPECT_EQ(swaps[0].to, 5);
  EXPECT_NEAR(swaps[0].z_mm, 0.24 + 3 * 0.04, 1e-12);
  EXPECT_EQ(swaps[3].layer, 8);
}

TEST(AssignHeights, EqualsBruteForceOnRandomCases) {
  std::mt19937 rng(11);
  const auto& lib = default_filament_library().filaments;
  for (int trial = 0; trial < 6; ++trial) {
    const int layers = 5 + trial * 3;
    const ReliefModel model(lib, small_settings(layers));
    Stack stack{static_cast<int>(rng() % lib.size()), {}};
    for (int l = 0; l < layers; ++l) stack.layers.push_back(static_cast<int>(rng() % lib.size()));
    Image8 img(9, 7, 3);
    for (auto& p : img.pixels) p = static_cast<std::uint8_t>(rng() % 256);
    TargetOptions o;
    o.long_side_mm = 9 * 0.2;
    const Target target = make_target(img, o);
    RunContext ctx;
    const LayerMap map = assign_heights(model, target, stack, 0.0, ctx);
    // Brute force: render every uniform height and pick the lowest best height per pixel.
    std::vector<float> best(target.size(), std::numeric_limits<float>::max());
    std::vector<int> best_z(target.size(), 0);
    for (int z = 0; z <= layers; ++z) {
      LayerMap uniform{target.width, target.height,
                       std::vector<std::uint16_t>(target.size(), static_cast<std::uint16_t>(z)), target.mask};
      const ImageF r = model.render(stack, uniform, false);
      for (std::size_t i = 0; i < target.size(); ++i) {
        const float e =
            lab_error(srgb_to_labf({r.pixels[i * 3], r.pixels[i * 3 + 1], r.pixels[i * 3 + 2]}), target.lab[i]);
        if (e < best[i] - 1e-4f) {
          best[i] = e;
          best_z[i] = z;
        }
      }
    }
    for (std::size_t i = 0; i < target.size(); ++i) {
      const int z = map.z[i];
      // Equal, or an equally good height within float rounding.
      if (z != best_z[i]) {
        LayerMap one{target.width, target.height,
                     std::vector<std::uint16_t>(target.size(), static_cast<std::uint16_t>(z)), target.mask};
        const ImageF r = model.render(stack, one, false);
        const float e =
            lab_error(srgb_to_labf({r.pixels[i * 3], r.pixels[i * 3 + 1], r.pixels[i * 3 + 2]}), target.lab[i]);
        EXPECT_NEAR(e, best[i], 1e-3f) << "trial " << trial << " pixel " << i;
      }
    }
  }
}

// Data + smoothness energy as documented in solve.hpp.
double energy(const ReliefModel& model, const Target& t, const Stack& s, const LayerMap& m, double lambda) {
  std::vector<Rgbf> c(static_cast<std::size_t>(model.settings().max_layers) + 1);
  model.stack_colors(s, c);
  double e = 0;
  for (int y = 0; y < t.height; ++y)
    for (int x = 0; x < t.width; ++x) {
      const std::size_t i = static_cast<std::size_t>(y * t.width + x);
      if (!t.mask[i]) continue;
      e += t.weight[i] * lab_error(srgb_to_labf(c[m.z[i]]), t.lab[i]);
      if (x + 1 < t.width && t.mask[i + 1]) e += lambda * std::abs(m.z[i] - m.z[i + 1]);
      if (y + 1 < t.height && t.mask[i + static_cast<std::size_t>(t.width)])
        e += lambda * std::abs(m.z[i] - m.z[i + static_cast<std::size_t>(t.width)]);
    }
  return e;
}

TEST(AssignHeights, SmoothnessLowersTheEnergyItAddsAndFlattensSpikes) {
  const Target target = small_target();
  const ReliefModel model(default_filament_library().filaments, small_settings());
  Stack stack{0, {}};
  for (int l = 0; l < 20; ++l) stack.layers.push_back(l < 7 ? 8 : (l < 14 ? 12 : 10));
  RunContext ctx;
  const LayerMap sharp = assign_heights(model, target, stack, 0.0, ctx);
  for (double lambda : {5.0, 50.0}) {
    const LayerMap smooth = assign_heights(model, target, stack, lambda, ctx);
    EXPECT_LE(energy(model, target, stack, smooth, lambda), energy(model, target, stack, sharp, lambda));
    // Smoothing costs data error: the plain optimum is no worse on data alone.
    EXPECT_LE(energy(model, target, stack, sharp, 0), energy(model, target, stack, smooth, 0) + 1e-6);
  }
  EXPECT_THROW(assign_heights(model, target, stack, -1.0, ctx), Error);
}

TEST(EnforceLimits, BringsAnyStackWithinTheLimits) {
  const Target target = small_target();
  const ReliefModel model(default_filament_library().filaments, small_settings());
  std::mt19937 rng(5);
  RunContext ctx;
  for (int trial = 0; trial < 5; ++trial) {
    Stack s{3, {}};
    for (int l = 0; l < 20; ++l) s.layers.push_back(static_cast<int>(rng() % 14));
    const Limits limits{2 + trial, 1 + 2 * trial};
    const Stack fixed = enforce_limits(model, target, s, limits, 20, ctx);
    EXPECT_LE(count_colors(fixed, 20), limits.max_colors);
    EXPECT_LE(count_swaps(fixed, 20), limits.max_swaps);
    EXPECT_EQ(fixed.background, 3);
  }
  // A first band in the background filament is not a removable band (this once looped forever).
  const ReliefModel ten(default_filament_library().filaments, small_settings(10));
  const Stack bands{0, {0, 0, 10, 8, 10, 8, 10, 8, 10, 8}};
  const Target own = [&] {
    LayerMap m{9, 1, {0, 1, 2, 3, 4, 5, 6, 7, 8}, std::vector<std::uint8_t>(9, 1)};
    const Image8 img = to_image8(ten.render(bands, m, false));
    TargetOptions o;
    o.long_side_mm = 9 * 0.2;
    return make_target(img, o);
  }();
  const Stack two = enforce_limits(ten, own, bands, Limits{8, 2}, 10, ctx);
  EXPECT_LE(count_swaps(two, 10), 2);
  // A stack within the limits is kept.
  Stack ok{1, std::vector<int>(20, 4)};
  EXPECT_EQ(enforce_limits(model, target, ok, Limits{2, 1}, 20, ctx), ok);
}

TEST(SolveDiscrete, RespectsEveryLimitAndBeatsTheFlatPrint) {
  const Target target = small_target();
  const ReliefModel model(default_filament_library().filaments, small_settings());
  RunContext ctx;
  const double flat = [&] {
    Stack s{0, std::vector<int>(20, 0)};
    return evaluate(target, model.render(s, assign_heights(model, target, s, 0, ctx), false)).weighted_lab_mse;
  }();
  for (const Limits limits : {Limits{1, 0}, Limits{2, 1}, Limits{3, 2}, Limits{4, 7}, Limits{8, 3}}) {
    SolveOptions o;
    o.limits = limits;
    o.background = 0;
    o.discrete_effort = 5;
    const SolveResult r = solve_discrete(model, target, o, ctx);
    const int top = r.heights.top();
    EXPECT_LE(count_colors(r.stack, top), limits.max_colors);
    EXPECT_LE(count_swaps(r.stack, top), limits.max_swaps);
    EXPECT_LE(count_colors(r.stack, 20), limits.max_colors);
    EXPECT_EQ(r.stack.background, 0);
    const LossReport loss = evaluate(target, model.render(r.stack, r.heights, false));
    EXPECT_LE(loss.weighted_lab_mse, flat + 1e-9);
    if (limits.max_colors >= 3) {
      EXPECT_LT(loss.weighted_lab_mse, 0.5 * flat);
    }
  }
}

TEST(SolveDiscrete, NeverWorseThanTheStackItStartsFrom) {
  const Target target = small_target();
  const ReliefModel model(default_filament_library().filaments, small_settings());
  RunContext ctx;
  Stack start{0, {}};
  for (int l = 0; l < 20; ++l) start.layers.push_back(l < 5 ? 7 : (l < 12 ? 4 : 10));
  const double start_loss =
      evaluate(target, model.render(start, assign_heights(model, target, start, 0, ctx), false)).weighted_lab_mse;
  SolveOptions o;
  o.background = 0;
  o.discrete_effort = 1;
  const SolveResult r = solve_discrete(model, target, o, ctx, &start);
  EXPECT_LE(evaluate(target, model.render(r.stack, r.heights, false)).weighted_lab_mse, start_loss + 1e-9);
}

TEST(SolveDiscrete, SameSeedSameResultAtAnyThreadCount) {
  const Target target = small_target();
  const ReliefModel model(default_filament_library().filaments, small_settings());
  SolveOptions o;
  o.background = 2;
  o.discrete_effort = 5;
  o.seed = 77;
  RunContext one(RunOptions{1, nullptr});
  RunContext two(RunOptions{2, nullptr});
  const SolveResult a = solve_discrete(model, target, o, one);
  const SolveResult b = solve_discrete(model, target, o, two);
  EXPECT_EQ(a.stack, b.stack);
  EXPECT_EQ(a.heights.z, b.heights.z);
  EXPECT_EQ(a.search_loss, b.search_loss);
}

TEST(SolveDiscrete, RejectsImpossibleSettings) {
  const Target target = small_target();
  const ReliefModel model(default_filament_library().filaments, small_settings());
  RunContext ctx;
  SolveOptions o;
  o.background = 99;
  EXPECT_THROW(solve_discrete(model, target, o, ctx), Error);
  o.background = 0;
  o.limits.max_colors = 0;
  EXPECT_THROW(solve_discrete(model, target, o, ctx), Error);
  o.limits = {3, -1};
  EXPECT_THROW(solve_discrete(model, target, o, ctx), Error);
}

}  // namespace
}  // namespace fabforge::relief
