#include "fabforge/core/parallel.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>

#include "fabforge/core/run_context.hpp"

namespace fabforge {
namespace {

TEST(ParallelFor, CoversEveryIndexExactlyOnce) {
  std::vector<int> hits(100003, 0);
  parallel_for(0, hits.size(), 97, [&](std::size_t lo, std::size_t hi) {
    EXPECT_LE(hi - lo, 97u);
    for (std::size_t i = lo; i < hi; ++i) ++hits[i];
  });
  EXPECT_EQ(std::count(hits.begin(), hits.end(), 1), static_cast<long>(hits.size()));
}

TEST(ParallelFor, EmptyAndReversedRangesDoNothing) {
  int calls = 0;
  parallel_for(5, 5, 1, [&](std::size_t, std::size_t) { ++calls; });
  parallel_for(7, 3, 1, [&](std::size_t, std::size_t) { ++calls; });
  EXPECT_EQ(calls, 0);
}

TEST(ParallelFor, ExceptionsPropagate) {
  EXPECT_THROW(parallel_for(0, 1000, 10,
                            [](std::size_t lo, std::size_t) {
                              if (lo == 500) throw std::runtime_error("boom");
                            }),
               std::runtime_error);
}

// Sums chosen so that float addition order changes the result: a deterministic reduction must
// still give the same bits on any thread count.
double sum_with_threads(const std::vector<double>& v, int threads) {
  RunContext ctx({threads, nullptr});
  return ctx.run([&] {
    return parallel_reduce(
        0, v.size(), 1000, 0.0,
        [&](std::size_t lo, std::size_t hi) {
          double s = 0;
          for (std::size_t i = lo; i < hi; ++i) s += v[i];
          return s;
        },
        [](double a, double b) { return a + b; });
  });
}

TEST(ParallelReduce, BitIdenticalOnAnyThreadCount) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> dist(-1e6, 1e6);
  std::vector<double> v(200000);
  for (auto& x : v) x = dist(rng) * std::pow(10.0, static_cast<int>(rng() % 12) - 6);
  const double one = sum_with_threads(v, 1);
  for (int t : {2, 3, 8}) {
    for (int repeat = 0; repeat < 3; ++repeat) EXPECT_EQ(sum_with_threads(v, t), one) << t << " threads";
  }
  EXPECT_NEAR(one, std::accumulate(v.begin(), v.end(), 0.0), 1e-3 * std::abs(one) + 1);
}

TEST(ParallelReduce, NonCommutativeCombineKeepsOrder) {
  const std::string joined = parallel_reduce(
      0, 26, 3, std::string(),
      [](std::size_t lo, std::size_t hi) {
        std::string s;
        for (std::size_t i = lo; i < hi; ++i) s += static_cast<char>('a' + i);
        return s;
      },
      [](std::string a, std::string b) { return a + b; });
  EXPECT_EQ(joined, "abcdefghijklmnopqrstuvwxyz");
}

TEST(RunContext, LimitsTheNumberOfWorkers) {
  RunContext ctx({1, nullptr});
  EXPECT_EQ(ctx.threads(), 1);
  std::atomic<int> active{0}, peak{0};
  ctx.run([&] {
    parallel_for(0, 64, 1, [&](std::size_t, std::size_t) {
      int now = ++active;
      int p = peak.load();
      while (now > p && !peak.compare_exchange_weak(p, now)) {
      }
      volatile double x = 0;
      for (int i = 0; i < 20000; ++i) x = x + std::sqrt(static_cast<double>(i));
      --active;
    });
  });
  EXPECT_EQ(peak.load(), 1);
}

}  // namespace
}  // namespace fabforge
