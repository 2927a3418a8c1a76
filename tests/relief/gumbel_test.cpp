#include "fabforge/relief/gumbel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>

#include "fabforge/core/error.hpp"
#include "fabforge/core/parallel.hpp"
#include "fabforge/core/run_context.hpp"
#include "fabforge/relief/filament_library.hpp"
#include "fabforge/relief/solve.hpp"

namespace fabforge::relief {
namespace {

// The first `count` filaments of the built-in library.
ReliefModel make_model(int count, int layers) {
  std::vector<Filament> palette(default_filament_library().filaments.begin(),
                                default_filament_library().filaments.begin() + count);
  ModelSettings settings;
  settings.max_layers = layers;
  return ReliefModel(std::move(palette), settings);
}

// A target of exactly w x h pixels (0.2 mm each) from an RGBA image.
Target make_exact_target(const Image8& image) {
  TargetOptions options;
  options.long_side_mm = std::max(image.width, image.height) * 0.2;
  options.nozzle_mm = 0.4;
  Target t = make_target(image, options);
  EXPECT_EQ(t.width, image.width);
  EXPECT_EQ(t.height, image.height);
  return t;
}

// Random colours, one transparent pixel.
Target random_target(int w, int h, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Image8 image(w, h, 4);
  for (std::size_t i = 0; i < image.pixels.size(); ++i)
    image.pixels[i] = static_cast<std::uint8_t>(i % 4 == 3 ? 255 : rng() % 256);
  image.pixels[3] = 0;
  Target t = make_exact_target(image);
  for (std::size_t i = 0; i < t.size(); ++i)
    if (t.mask[i]) t.weight[i] = 1.0f + static_cast<float>(rng() % 100) / 50.0f;
  return t;
}

// A smooth synthetic picture: a blend from dark blue to orange with a pale disc.
Target synthetic_target(int w, int h) {
  Image8 image(w, h, 4);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const double s = static_cast<double>(x) / (w - 1);
      double r = 20 + 200 * s, g = 40 + 110 * s, b = 120 - 80 * s;
      const double dx = x - w * 0.6, dy = y - h * 0.5;
      if (dx * dx + dy * dy < h * h * 0.08) r = g = b = 235;
      image.at(x, y, 0) = static_cast<std::uint8_t>(r);
      image.at(x, y, 1) = static_cast<std::uint8_t>(g);
      image.at(x, y, 2) = static_cast<std::uint8_t>(b);
      image.at(x, y, 3) = 255;
    }
  return make_exact_target(image);
}

GumbelParams<double> random_params(const GumbelProblem& pb, std::uint64_t seed, double tau, double tau_h) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  GumbelParams<double> p;
  const std::size_t lp = static_cast<std::size_t>(pb.layers) * static_cast<std::size_t>(pb.palette);
  for (std::size_t j = 0; j < lp; ++j) {
    p.theta.push_back(normal(rng));
    p.noise.push_back(0.5 * normal(rng));
  }
  for (std::size_t i = 0; i < pb.pixels(); ++i) p.u.push_back(1.5 * normal(rng));
  p.tau = tau;
  p.tau_h = tau_h;
  return p;
}

// Central finite differences of every theta and u entry against the analytic gradient.
void check_gradient(const GumbelProblem& pb, GumbelParams<double> p) {
  GumbelGrad<double> grad;
  const double loss = gumbel_loss_gradient(pb, p, &grad);
  ASSERT_TRUE(std::isfinite(loss));
  ASSERT_EQ(grad.theta.size(), p.theta.size());
  ASSERT_EQ(grad.u.size(), p.u.size());
  const double h = 1e-6;
  auto fd = [&](double& x) {
    const double keep = x;
    x = keep + h;
    const double up = gumbel_loss_gradient<double>(pb, p, nullptr);
    x = keep - h;
    const double down = gumbel_loss_gradient<double>(pb, p, nullptr);
    x = keep;
    return (up - down) / (2 * h);
  };
  double largest = 0;
  for (std::size_t j = 0; j < p.theta.size(); ++j) {
    const double numeric = fd(p.theta[j]);
    largest = std::max(largest, std::abs(numeric));
    EXPECT_NEAR(grad.theta[j], numeric, 1e-6 + 1e-5 * std::abs(numeric)) << "theta " << j;
  }
  for (std::size_t i = 0; i < p.u.size(); ++i) {
    const double numeric = fd(p.u[i]);
    largest = std::max(largest, std::abs(numeric));
    EXPECT_NEAR(grad.u[i], numeric, 1e-6 + 1e-5 * std::abs(numeric)) << "u " << i;
  }
  EXPECT_GT(largest, 1e-2);  // the check is not vacuous
}

TEST(GumbelKernel, GradientMatchesFiniteDifferences) {
  const ReliefModel model = make_model(4, 6);
  const Target target = random_target(5, 4, 7);
  GumbelProblem pb = make_gumbel_problem(model, target, 1);
  EXPECT_EQ(pb.pixels(), 19u);
  pb.window = 0;  // exact
  check_gradient(pb, random_params(pb, 11, 0.7, 0.7));
}

TEST(GumbelKernel, GradientMatchesFiniteDifferencesWithTruncation) {
  // Sharp soft rounding and a short window: most layers of a pixel are outside it, so the
  // fully covered stack below the window carries the gradient of the lower layers.
  const ReliefModel model = make_model(5, 16);
  const Target target = random_target(6, 5, 3);
  GumbelProblem pb = make_gumbel_problem(model, target, 2);
  pb.window = 4;
  check_gradient(pb, random_params(pb, 5, 0.5, 0.3));
}

TEST(GumbelKernel, TruncationChangesLittle) {
  const ReliefModel model = make_model(6, 30);
  const Target target = random_target(8, 8, 9);
  GumbelProblem pb = make_gumbel_problem(model, target, 0);
  const GumbelParams<double> p = random_params(pb, 21, 0.6, 0.4);
  GumbelGrad<double> exact, cut;
  pb.window = 0;
  const double le = gumbel_loss_gradient(pb, p, &exact);
  pb.window = 12;
  const double lc = gumbel_loss_gradient(pb, p, &cut);
  EXPECT_NEAR(lc, le, 1e-4 * le);
  for (std::size_t j = 0; j < p.theta.size(); ++j) EXPECT_NEAR(cut.theta[j], exact.theta[j], 1e-4);
  // Relative to the pixel's own gradient, up to about 1e-3 in dark colours, where Lab's cube
  // root makes the loss sensitive to the ~1e-6 of colour the truncation drops.
  for (std::size_t i = 0; i < p.u.size(); ++i) EXPECT_NEAR(cut.u[i], exact.u[i], 2e-3 * (std::abs(exact.u[i]) + 1e-2));
}

TEST(GumbelKernel, FloatAgreesWithDouble) {
  const ReliefModel model = make_model(8, 40);
  const Target target = random_target(30, 20, 4);
  const GumbelProblem pb = make_gumbel_problem(model, target, 0);
  const GumbelParams<double> pd = random_params(pb, 8, 0.8, 0.5);
  GumbelParams<float> pf;
  pf.theta.assign(pd.theta.begin(), pd.theta.end());
  pf.noise.assign(pd.noise.begin(), pd.noise.end());
  pf.u.assign(pd.u.begin(), pd.u.end());
  pf.tau = 0.8f;
  pf.tau_h = 0.5f;
  GumbelGrad<double> gd;
  GumbelGrad<float> gf;
  const double ld = gumbel_loss_gradient(pb, pd, &gd);
  const double lf = gumbel_loss_gradient(pb, pf, &gf);
  EXPECT_NEAR(lf, ld, 1e-4 * ld);
  double scale_t = 0, scale_u = 0;
  for (double g : gd.theta) scale_t = std::max(scale_t, std::abs(g));
  for (double g : gd.u) scale_u = std::max(scale_u, std::abs(g));
  for (std::size_t j = 0; j < gd.theta.size(); ++j) EXPECT_NEAR(gf.theta[j], gd.theta[j], 1e-3 * scale_t);
  for (std::size_t i = 0; i < gd.u.size(); ++i) EXPECT_NEAR(gf.u[i], gd.u[i], 1e-3 * scale_u);
}

TEST(GumbelKernel, LossDecreasesUnderAdam) {
  const ReliefModel model = make_model(14, 20);
  const Target target = synthetic_target(24, 16);
  const GumbelProblem pb = make_gumbel_problem(model, target, 0);
  GumbelParams<float> p;
  const std::size_t lp = static_cast<std::size_t>(pb.layers) * static_cast<std::size_t>(pb.palette);
  p.theta.assign(lp, 0.0f);
  p.noise.assign(lp, 0.0f);
  p.u.assign(pb.pixels(), 0.0f);
  p.tau = 1.0f;
  p.tau_h = 0.5f;
  std::vector<float> m(lp + pb.pixels(), 0.0f), v(m.size(), 0.0f);
  GumbelGrad<float> g;
  const double first = gumbel_loss_gradient(pb, p, &g);
  double loss = first;
  for (int it = 1; it <= 300; ++it) {
    loss = gumbel_loss_gradient(pb, p, &g);
    auto adam = [&](float& x, float grad, std::size_t k) {
      m[k] = 0.9f * m[k] + 0.1f * grad;
      v[k] = 0.999f * v[k] + 0.001f * grad * grad;
      const float mh = m[k] / (1 - std::pow(0.9f, static_cast<float>(it)));
      const float vh = v[k] / (1 - std::pow(0.999f, static_cast<float>(it)));
      x -= 0.05f * mh / (std::sqrt(vh) + 1e-12f);
    };
    for (std::size_t j = 0; j < lp; ++j) adam(p.theta[j], g.theta[j], j);
    for (std::size_t i = 0; i < pb.pixels(); ++i) adam(p.u[i], g.u[i], lp + i);
  }
  EXPECT_LT(loss, 0.3 * first) << "first " << first << " last " << loss;
}

TEST(GumbelKernel, BitIdenticalAtOneAndTwoThreads) {
  const ReliefModel model = make_model(14, 75);
  const Target target = random_target(64, 48, 2);
  const GumbelProblem pb = make_gumbel_problem(model, target, 3);
  const GumbelParams<double> pd = random_params(pb, 1, 0.9, 0.6);
  GumbelParams<float> p;
  p.theta.assign(pd.theta.begin(), pd.theta.end());
  p.noise.assign(pd.noise.begin(), pd.noise.end());
  p.u.assign(pd.u.begin(), pd.u.end());
  p.tau = 0.9f;
  p.tau_h = 0.6f;
  GumbelGrad<float> g1, g2;
  RunContext one(RunOptions{.threads = 1});
  RunContext two(RunOptions{.threads = 2});
  const double l1 = one.run([&] { return gumbel_loss_gradient(pb, p, &g1); });
  const double l2 = two.run([&] { return gumbel_loss_gradient(pb, p, &g2); });
  EXPECT_EQ(l1, l2);
  EXPECT_EQ(g1.theta, g2.theta);
  EXPECT_EQ(g1.u, g2.u);
}

TEST(GumbelKernel, RejectsMismatchedSizes) {
  const ReliefModel model = make_model(3, 5);
  const Target target = random_target(4, 4, 1);
  const GumbelProblem pb = make_gumbel_problem(model, target, 0);
  GumbelParams<float> p;
  p.theta.assign(15, 0.0f);
  p.noise.assign(15, 0.0f);
  p.u.assign(3, 0.0f);
  EXPECT_THROW(gumbel_loss_gradient<float>(pb, p, nullptr), InternalError);
  EXPECT_THROW(make_gumbel_problem(model, target, 3), Error);
}

TEST(GumbelKernel, ArgmaxStackAndHeights) {
  const ReliefModel model = make_model(3, 2);
  const Target target = random_target(2, 2, 1);
  const GumbelProblem pb = make_gumbel_problem(model, target, 1);
  const Stack s = gumbel_argmax_stack(pb, {0.f, 2.f, 1.f, 5.f, 5.f, 0.f}, 1);
  EXPECT_EQ(s.background, 1);
  EXPECT_EQ(s.layers, (std::vector<int>{1, 0}));
  const std::vector<float> z = gumbel_heights(pb, {0.0f, 100.0f, -100.0f});
  EXPECT_FLOAT_EQ(z[0], 1.0f);
  EXPECT_FLOAT_EQ(z[1], 2.0f);
  EXPECT_FLOAT_EQ(z[2], 0.0f);
}

SolveOptions small_options() {
  SolveOptions o;
  o.background = 0;
  o.seed = 42;
  o.gumbel_iterations = 150;
  o.gumbel_downscale = 2;
  o.limits = {4, 6};
  return o;
}

TEST(GumbelSolver, DeterministicAtOneAndTwoThreads) {
  const ReliefModel model = make_model(14, 30);
  const Target target = synthetic_target(60, 40);
  const SolveOptions options = small_options();
  RunContext one(RunOptions{.threads = 1});
  RunContext two(RunOptions{.threads = 2});
  const SolveResult a = solve_gumbel(model, target, options, one);
  const SolveResult b = solve_gumbel(model, target, options, two);
  EXPECT_EQ(a.stack, b.stack);
  EXPECT_EQ(a.heights.z, b.heights.z);
  EXPECT_EQ(a.heights.mask, b.heights.mask);
  EXPECT_EQ(a.search_loss, b.search_loss);
  EXPECT_EQ(a.iterations, 150);
  EXPECT_EQ(a.solver, "gumbel");
  ASSERT_EQ(a.phases.size(), 3u);
  EXPECT_EQ(a.phases[0].name, "init");
  EXPECT_EQ(a.phases[1].name, "optimise");
  EXPECT_EQ(a.phases[2].name, "discretise");
  EXPECT_EQ(a.heights.width, target.width);
  EXPECT_EQ(a.heights.height, target.height);
}

TEST(GumbelSolver, RespectsLimitsAndFitsTheTarget) {
  const ReliefModel model = make_model(14, 40);
  const Target target = synthetic_target(60, 40);
  for (const Limits limits : {Limits{2, 3}, Limits{4, 6}, Limits{6, 12}}) {
    SolveOptions options = small_options();
    options.limits = limits;
    options.background = pick_background(model, target);
    int previews = 0;
    options.preview_every = 50;
    options.preview = [&](const Stack& s, const LayerMap& h) {
      ++previews;
      EXPECT_EQ(h.width, target.width);
      EXPECT_EQ(static_cast<int>(s.layers.size()), 40);
    };
    RunContext context(RunOptions{.threads = 2});
    const SolveResult r = solve_gumbel(model, target, options, context);
    EXPECT_EQ(previews, 3);
    const int top = r.heights.top();
    EXPECT_LE(count_colors(r.stack, top), limits.max_colors);
    EXPECT_LE(count_swaps(r.stack, top), limits.max_swaps);
    EXPECT_LE(count_colors(r.stack, 40), limits.max_colors);
    EXPECT_LE(count_swaps(r.stack, 40), limits.max_swaps);
    EXPECT_EQ(r.stack.background, options.background);
    // The discrete result is far better than the bare background (no bleed, as it was searched).
    const LossReport report = evaluate(target, model.render(r.stack, r.heights, false));
    LayerMap flat = r.heights;
    std::fill(flat.z.begin(), flat.z.end(), std::uint16_t{0});
    const LossReport base = evaluate(target, model.render(r.stack, flat, false));
    std::printf("colours %d swaps %d: lab mse %.2f (background only %.2f), search loss %.2f\n", limits.max_colors,
                limits.max_swaps, report.lab_mse, base.lab_mse, r.search_loss);
    EXPECT_LT(report.lab_mse, 0.5 * base.lab_mse) << limits.max_colors;
    EXPECT_GT(r.search_loss, 0.0);
  }
}

TEST(GumbelSolver, MoreIterationsDoNotHurt) {
  const ReliefModel model = make_model(14, 30);
  const Target target = synthetic_target(60, 40);
  SolveOptions options = small_options();
  RunContext context(RunOptions{.threads = 2});
  options.gumbel_iterations = 1;
  const SolveResult start = solve_gumbel(model, target, options, context);
  options.gumbel_iterations = 300;
  const SolveResult trained = solve_gumbel(model, target, options, context);
  EXPECT_LE(trained.search_loss, start.search_loss);
}

TEST(GumbelSolver, TimeCapStopsEarlyWithAValidResult) {
  const ReliefModel model = make_model(14, 30);
  const Target target = synthetic_target(60, 40);
  SolveOptions options = small_options();
  options.gumbel_iterations = 100000;
  options.max_seconds = 1e-9;
  RunContext context(RunOptions{.threads = 2});
  const SolveResult r = solve_gumbel(model, target, options, context);
  EXPECT_LT(r.iterations, 100000);
  model.validate(r.stack);
  EXPECT_LE(count_colors(r.stack, 30), options.limits.max_colors);
  EXPECT_LE(count_swaps(r.stack, 30), options.limits.max_swaps);
  EXPECT_EQ(r.heights.z.size(), target.size());
}

TEST(GumbelSolver, ValidatesOptionsAndHonoursCancellation) {
  const ReliefModel model = make_model(4, 10);
  const Target target = synthetic_target(20, 10);
  RunContext context(RunOptions{.threads = 1});
  SolveOptions options = small_options();
  options.background = 9;
  EXPECT_THROW(solve_gumbel(model, target, options, context), Error);
  options = small_options();
  options.learning_rate = 0;
  EXPECT_THROW(solve_gumbel(model, target, options, context), Error);
  options = small_options();
  context.cancel();
  EXPECT_THROW(solve_gumbel(model, target, options, context), Error);
}

}  // namespace
}  // namespace fabforge::relief
