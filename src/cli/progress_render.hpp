#pragma once
// Drawing progress for people: a live bar with rate and ETA on a terminal, plain lines at a
// steady pace when stderr is a file or a pipe (CI logs), nothing with --quiet.

#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include "fabforge/core/run_context.hpp"

namespace fabforge::cli {

/// "0.4s", "12s", "3m 05s", "2h 03m"; "--" for unknown.
std::string format_duration(double seconds);
/// "950 rows/s", "12.3k rows/s", "4.56M voxels/s".
std::string format_rate(double per_second, std::string_view unit);
/// Seconds left from progress so far, or a negative value when it cannot be estimated yet.
double estimate_remaining_s(const ProgressEvent& e);

/// One terminal line: "meshing [#######.........]  45%  450/1000 rows  1.2k rows/s  ETA 3s".
/// `width` is the terminal width; the bar shrinks to fit.
std::string render_bar(const ProgressEvent& e, int width);
/// One plain log line: "meshing: 45% (450/1000 rows, 1.2k rows/s, ETA 3s)".
std::string render_line(const ProgressEvent& e);

enum class ProgressMode { automatic, bar, plain, none };

/// Draws progress on `stream`: redraws one line in place (bar) or appends lines (plain).
class StreamProgress final : public ProgressSink {
 public:
  StreamProgress(std::FILE* stream, bool live_bar, int width,
                 std::chrono::milliseconds plain_interval = std::chrono::seconds(2));
  void update(const ProgressEvent& e) override;

 private:
  std::FILE* stream_;
  bool live_bar_;
  int width_;
  double plain_interval_s_;
  double last_plain_s_ = -1e9;
  std::string last_stage_;
  std::mutex mutex_;
};

/// The sink for a mode; `automatic` picks a bar when `stream` is a terminal, else plain lines.
/// Returns null for `none`.
std::unique_ptr<ProgressSink> make_progress_sink(ProgressMode mode, std::FILE* stream);

}  // namespace fabforge::cli
