#include "fabforge/core/run_context.hpp"

#include <gtest/gtest.h>

#include <mutex>
#include <thread>
#include <vector>

#include "fabforge/core/error.hpp"
#include "fabforge/core/parallel.hpp"

namespace fabforge {
namespace {

struct RecordingSink : ProgressSink {
  std::mutex m;
  std::vector<ProgressEvent> events;
  std::vector<std::string> stages;
  std::vector<std::string> metric_names;
  void update(const ProgressEvent& e) override {
    std::lock_guard lock(m);
    events.push_back(e);
    stages.emplace_back(e.stage);
    metric_names.emplace_back(e.metric_name);
  }
};

TEST(Progress, ReportsStartAndFinishWithCounts) {
  RecordingSink sink;
  {
    ProgressTask task(&sink, "meshing", 10, "rows", std::chrono::milliseconds(0));
    for (int i = 0; i < 10; ++i) task.advance();
    task.finish();
  }
  ASSERT_GE(sink.events.size(), 2u);
  EXPECT_EQ(sink.events.front().done, 0u);
  EXPECT_FALSE(sink.events.front().finished);
  EXPECT_TRUE(sink.events.back().finished);
  EXPECT_EQ(sink.events.back().done, 10u);
  EXPECT_EQ(sink.events.back().total, 10u);
  EXPECT_EQ(sink.stages.back(), "meshing");
  EXPECT_FALSE(sink.events.back().aborted);
  for (std::size_t i = 1; i < sink.events.size(); ++i) EXPECT_GE(sink.events[i].done, sink.events[i - 1].done);
}

TEST(Progress, CarriesTheStagesMetric) {
  RecordingSink sink;
  {
    ProgressTask task(&sink, "search", 4, "moves", std::chrono::milliseconds(0));
    task.advance();
    task.set_metric("loss", 12.5);
    task.advance();
    task.finish();
  }
  ASSERT_GE(sink.events.size(), 3u);
  EXPECT_EQ(sink.metric_names.front(), "");
  EXPECT_EQ(sink.metric_names.back(), "loss");
  EXPECT_DOUBLE_EQ(sink.events.back().metric, 12.5);
}

TEST(Progress, TaskDestroyedWithoutFinishReportsAborted) {
  RecordingSink sink;
  try {
    ProgressTask task(&sink, "writing", 3, "steps");
    task.advance(2);
    throw std::runtime_error("disk full");
  } catch (const std::runtime_error&) {
  }
  ASSERT_FALSE(sink.events.empty());
  EXPECT_TRUE(sink.events.back().finished);
  EXPECT_TRUE(sink.events.back().aborted);
  EXPECT_EQ(sink.events.back().done, 2u);
}

TEST(Progress, ThrottlesUpdates) {
  RecordingSink sink;
  ProgressTask task(&sink, "x", 100000, "items", std::chrono::hours(1));
  for (int i = 0; i < 100000; ++i) task.advance();
  task.finish();
  task.finish();
  EXPECT_EQ(sink.events.size(), 2u);  // start and finish only
  EXPECT_EQ(task.done(), 100000u);
}

TEST(Progress, CountsAdvancesFromManyThreads) {
  RecordingSink sink;
  RunContext ctx({2, &sink});
  auto task = ctx.task("work", 5000, "items");
  ctx.run([&] { parallel_for_each_index(0, 5000, 7, [&](std::size_t) { task->advance(); }); });
  task->finish();
  EXPECT_EQ(sink.events.back().done, 5000u);
  EXPECT_TRUE(sink.events.back().finished);
}

TEST(Progress, NoSinkIsFine) {
  ProgressTask task(nullptr, "x", 3, "y");
  task.advance(3);
  EXPECT_EQ(task.done(), 3u);
}

TEST(RunContext, CancellationThrowsARuntimeError) {
  RunContext ctx;
  EXPECT_NO_THROW(ctx.throw_if_cancelled());
  ctx.cancel();
  try {
    ctx.throw_if_cancelled();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::runtime);
    EXPECT_STREQ(e.what(), "cancelled");
  }
}

TEST(RunContext, NegativeThreadsIsAUsageError) {
  EXPECT_THROW(RunContext({-1, nullptr}), Error);
  EXPECT_GE(RunContext({0, nullptr}).threads(), 1);
}

}  // namespace
}  // namespace fabforge
