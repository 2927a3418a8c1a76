#include "progress_render.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace fabforge::cli {
namespace {

ProgressEvent event(std::uint64_t done, std::uint64_t total, double elapsed, bool finished = false) {
  ProgressEvent e;
  e.stage = "meshing";
  e.unit = "rows";
  e.done = done;
  e.total = total;
  e.elapsed_s = elapsed;
  e.finished = finished;
  return e;
}

TEST(Format, Durations) {
  EXPECT_EQ(format_duration(0.42), "0.4s");
  EXPECT_EQ(format_duration(12.7), "12s");
  EXPECT_EQ(format_duration(185), "3m 05s");
  EXPECT_EQ(format_duration(7380), "2h 03m");
  EXPECT_EQ(format_duration(-1), "--");
}

TEST(Format, Rates) {
  EXPECT_EQ(format_rate(950, "rows"), "950 rows/s");
  EXPECT_EQ(format_rate(12345, "rows"), "12.3k rows/s");
  EXPECT_EQ(format_rate(4.56e6, "voxels"), "4.56M voxels/s");
}

TEST(Eta, FromRateSoFar) {
  EXPECT_DOUBLE_EQ(estimate_remaining_s(event(250, 1000, 5)), 15.0);
  EXPECT_LT(estimate_remaining_s(event(0, 1000, 5)), 0);  // no rate yet
  EXPECT_LT(estimate_remaining_s(event(10, 0, 5)), 0);    // unknown total
  EXPECT_EQ(estimate_remaining_s(event(10, 0, 5, true)), 0);
}

TEST(Render, BarShowsPercentCountsRateAndEta) {
  const std::string bar = render_bar(event(450, 1000, 3), 100);
  EXPECT_NE(bar.find("meshing ["), std::string::npos) << bar;
  EXPECT_NE(bar.find(" 45%"), std::string::npos) << bar;
  EXPECT_NE(bar.find("450/1000 rows"), std::string::npos) << bar;
  EXPECT_NE(bar.find("150 rows/s"), std::string::npos) << bar;
  EXPECT_NE(bar.find("ETA 3.7s"), std::string::npos) << bar;
  EXPECT_LE(bar.size(), 100u);
  const std::string::size_type open = bar.find('['), close = bar.find(']');
  const std::string cells = bar.substr(open + 1, close - open - 1);
  EXPECT_EQ(std::count(cells.begin(), cells.end(), '#') * 100 / static_cast<long>(cells.size()), 45);
}

TEST(Render, NarrowTerminalDropsTheBarButKeepsNumbers) {
  const std::string bar = render_bar(event(450, 1000, 3), 50);
  EXPECT_EQ(bar.find('['), std::string::npos);
  EXPECT_LE(bar.size(), 50u);
  EXPECT_NE(bar.find("45%"), std::string::npos);
}

TEST(Render, PlainLine) {
  EXPECT_EQ(render_line(event(450, 1000, 3)), "meshing: 45% (450/1000 rows, 150 rows/s, ETA 3.7s)");
  EXPECT_EQ(render_line(event(1000, 1000, 2, true)), "meshing: 100% (1000/1000 rows, 500 rows/s, in 2.0s)");
}

TEST(Render, MetricIsShownWhenTheTaskReportsOne) {
  ProgressEvent e = event(450, 1000, 3);
  e.metric_name = "loss";
  e.metric = 12.345678;
  EXPECT_EQ(render_line(e), "meshing: 45% (450/1000 rows, 150 rows/s, loss 12.35, ETA 3.7s)");
  EXPECT_NE(render_bar(e, 120).find("loss 12.35"), std::string::npos);
}

TEST(Render, AbortedTaskIsNotShownAsComplete) {
  ProgressEvent e = event(2, 3, 0.5, true);
  e.aborted = true;
  EXPECT_EQ(render_line(e), "meshing: 66% (2/3 rows, 4 rows/s, stopped after 0.5s)");
  EXPECT_EQ(render_bar(e, 100).find("100%"), std::string::npos);
}

TEST(StreamProgress, PlainModeWritesPeriodicLines) {
  char* buf = nullptr;
  std::size_t len = 0;
  std::FILE* mem = open_memstream(&buf, &len);
  {
    StreamProgress sink(mem, false, 80, std::chrono::seconds(2));
    sink.update(event(0, 100, 0));     // start: quiet
    sink.update(event(10, 100, 1));    // within 2 s: quiet
    sink.update(event(30, 100, 2.5));  // a line
    sink.update(event(40, 100, 3));    // quiet
    sink.update(event(100, 100, 4, true));
  }
  std::fclose(mem);
  const std::string out(buf, len);
  std::free(buf);
  EXPECT_EQ(out, "meshing: 30% (30/100 rows, 12 rows/s, ETA 5.8s)\nmeshing: 100% (100/100 rows, 25 rows/s, in 4.0s)\n");
}

TEST(StreamProgress, BarModeRedrawsInPlace) {
  char* buf = nullptr;
  std::size_t len = 0;
  std::FILE* mem = open_memstream(&buf, &len);
  {
    StreamProgress sink(mem, true, 80);
    sink.update(event(10, 100, 1));
    sink.update(event(100, 100, 2, true));
  }
  std::fclose(mem);
  const std::string out(buf, len);
  std::free(buf);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\r'), 2);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
  EXPECT_EQ(out.back(), '\n');
}

TEST(MakeSink, NoneGivesNoSink) { EXPECT_EQ(make_progress_sink(ProgressMode::none, stderr), nullptr); }

}  // namespace
}  // namespace fabforge::cli
