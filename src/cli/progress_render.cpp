#include "progress_render.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace fabforge::cli {

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) return "--";
  char buf[32];
  if (seconds < 10) {
    std::snprintf(buf, sizeof buf, "%.1fs", seconds);
  } else if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%.0fs", std::floor(seconds));
  } else if (seconds < 3600) {
    const long s = std::lround(std::floor(seconds));
    std::snprintf(buf, sizeof buf, "%ldm %02lds", s / 60, s % 60);
  } else {
    const long m = std::lround(std::floor(seconds / 60));
    std::snprintf(buf, sizeof buf, "%ldh %02ldm", m / 60, m % 60);
  }
  return buf;
}

std::string format_rate(double per_second, std::string_view unit) {
  char buf[48];
  const char* suffix = "";
  double v = per_second;
  if (v >= 1e9)
    v /= 1e9, suffix = "G";
  else if (v >= 1e6)
    v /= 1e6, suffix = "M";
  else if (v >= 1e3)
    v /= 1e3, suffix = "k";
  if (*suffix)
    std::snprintf(buf, sizeof buf, "%.3g%s", v, suffix);
  else
    std::snprintf(buf, sizeof buf, "%.3g", v);
  std::string out(buf);
  out += ' ';
  out += unit;
  out += "/s";
  return out;
}

double estimate_remaining_s(const ProgressEvent& e) {
  if (e.finished) return 0;  // also when aborted: nothing more is coming
  if (e.total == 0 || e.done == 0 || e.elapsed_s <= 0) return -1;
  const double rate = static_cast<double>(e.done) / e.elapsed_s;
  return static_cast<double>(e.total > e.done ? e.total - e.done : 0) / rate;
}

namespace {

std::string counts(const ProgressEvent& e) {
  std::string s = std::to_string(e.done);
  if (e.total > 0) {
    s += '/';
    s += std::to_string(e.total);
  }
  s += ' ';
  s += e.unit;
  return s;
}

std::string rate_text(const ProgressEvent& e) {
  return e.elapsed_s > 0 && e.done > 0 ? format_rate(static_cast<double>(e.done) / e.elapsed_s, e.unit) : "";
}

std::string time_text(const ProgressEvent& e) {
  if (e.aborted) return "stopped after " + format_duration(e.elapsed_s);
  std::string s = e.finished ? "in " : "ETA ";
  s += format_duration(e.finished ? e.elapsed_s : estimate_remaining_s(e));
  return s;
}

int percent(const ProgressEvent& e) {
  if (e.finished && !e.aborted) return 100;
  if (e.total == 0) return -1;
  return static_cast<int>(std::min<std::uint64_t>(100, e.done * 100 / e.total));
}

}  // namespace

// "loss 12.3" when the task reports a figure of merit, else empty.
static std::string metric_text(const ProgressEvent& e) {
  if (e.metric_name.empty()) return {};
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.4g", e.metric);
  return std::string(e.metric_name) + " " + buf;
}

std::string render_bar(const ProgressEvent& e, int width) {
  std::string tail;
  const int pct = percent(e);
  char pbuf[16];
  if (pct >= 0) {
    std::snprintf(pbuf, sizeof pbuf, "%3d%%", pct);
    tail += pbuf;
  }
  tail += "  " + counts(e);
  const std::string rate = rate_text(e);
  if (!rate.empty()) tail += "  " + rate;
  const std::string metric = metric_text(e);
  if (!metric.empty()) tail += "  " + metric;
  tail += "  " + time_text(e);
  std::string head(e.stage);
  const int bar_cells = width - static_cast<int>(head.size() + tail.size()) - 4;
  if (bar_cells >= 10 && pct >= 0) {
    const int cells = std::min(bar_cells, 40);
    const int filled = cells * pct / 100;
    head += " [";
    head.append(static_cast<std::size_t>(filled), '#');
    head.append(static_cast<std::size_t>(cells - filled), '.');
    head += ']';
  }
  std::string line = head + " " + tail;
  if (width > 0 && static_cast<int>(line.size()) > width) line.resize(static_cast<std::size_t>(width));
  return line;
}

std::string render_line(const ProgressEvent& e) {
  std::string s(e.stage);
  s += ": ";
  const int pct = percent(e);
  if (pct >= 0)
    s += std::to_string(pct) + "% (";
  else
    s += "(";
  s += counts(e);
  const std::string rate = rate_text(e);
  if (!rate.empty()) s += ", " + rate;
  const std::string metric = metric_text(e);
  if (!metric.empty()) s += ", " + metric;
  s += ", " + time_text(e) + ")";
  return s;
}

StreamProgress::StreamProgress(std::FILE* stream, bool live_bar, int width, std::chrono::milliseconds plain_interval)
    : stream_(stream),
      live_bar_(live_bar),
      width_(width),
      plain_interval_s_(std::chrono::duration<double>(plain_interval).count()) {}

void StreamProgress::update(const ProgressEvent& e) {
  std::lock_guard lock(mutex_);  // tasks of different stages may report from different threads
  if (live_bar_) {
    // \r and erase-to-end-of-line redraw the bar in place; a finished task keeps its line.
    std::fprintf(stream_, "\r%s\x1b[K", render_bar(e, width_ - 1).c_str());
    if (e.finished) std::fputc('\n', stream_);
    std::fflush(stream_);
    return;
  }
  // Plain mode: a line when a task starts is noise for quick tasks; print when it finishes and
  // at most every plain_interval while it runs.
  const bool new_stage = last_stage_ != e.stage;
  if (new_stage) {
    last_stage_ = std::string(e.stage);
    last_plain_s_ = 0;
  }
  if (e.finished || e.elapsed_s - last_plain_s_ >= plain_interval_s_) {
    last_plain_s_ = e.elapsed_s;
    std::fprintf(stream_, "%s\n", render_line(e).c_str());
    std::fflush(stream_);
  }
}

std::unique_ptr<ProgressSink> make_progress_sink(ProgressMode mode, std::FILE* stream) {
  if (mode == ProgressMode::none) return nullptr;
  const bool tty = ::isatty(::fileno(stream)) != 0;
  const bool bar = mode == ProgressMode::bar || (mode == ProgressMode::automatic && tty);
  int width = 80;
  winsize ws{};
  if (tty && ::ioctl(::fileno(stream), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20) width = ws.ws_col;
  return std::make_unique<StreamProgress>(stream, bar, width);
}

}  // namespace fabforge::cli
