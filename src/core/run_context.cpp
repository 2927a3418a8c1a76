#include "fabforge/core/run_context.hpp"

#include <sys/resource.h>

#include <cstdio>
#include <ctime>
#include <thread>

#include "fabforge/core/error.hpp"

namespace fabforge {

using Clock = std::chrono::steady_clock;

ProgressTask::ProgressTask(ProgressSink* sink, std::string stage, std::uint64_t total, std::string unit,
                           std::chrono::milliseconds interval)
    : sink_(sink),
      stage_(std::move(stage)),
      unit_(std::move(unit)),
      total_(total),
      start_(Clock::now()),
      interval_(interval) {
  next_report_ns_.store(std::chrono::duration_cast<std::chrono::nanoseconds>(interval_).count());
  report(false);
}

ProgressTask::~ProgressTask() { report(true, true); }

void ProgressTask::advance(std::uint64_t n) {
  done_.fetch_add(n, std::memory_order_relaxed);
  if (!sink_) return;
  const auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start_).count();
  auto due = next_report_ns_.load(std::memory_order_relaxed);
  if (now_ns < due) return;
  // One thread wins the right to report this interval; the others carry on without waiting.
  const auto next = now_ns + std::chrono::duration_cast<std::chrono::nanoseconds>(interval_).count();
  if (next_report_ns_.compare_exchange_strong(due, next, std::memory_order_relaxed)) report(false);
}

void ProgressTask::finish() { report(true); }  // report() ignores repeats under its lock

void ProgressTask::set_metric(std::string name, double value) {
  std::lock_guard lock(report_mutex_);
  metric_name_ = std::move(name);
  metric_ = value;
}

void ProgressTask::report(bool finished, bool aborted) {
  if (!sink_) return;
  std::lock_guard lock(report_mutex_);
  if (finished_) return;
  ProgressEvent e;
  e.stage = stage_;
  e.unit = unit_;
  e.done = done_.load(std::memory_order_relaxed);
  e.total = total_;
  e.elapsed_s = std::chrono::duration<double>(Clock::now() - start_).count();
  e.finished = finished;
  e.aborted = aborted;
  e.metric_name = metric_name_;
  e.metric = metric_;
  if (finished) finished_ = true;
  sink_->update(e);
}

RunContext::RunContext(RunOptions options) : progress_(options.progress) {
  if (options.threads < 0)
    throw usage_error("thread count must be 0 (all) or positive, got " + std::to_string(options.threads));
  int hw = static_cast<int>(std::thread::hardware_concurrency());
  threads_ = options.threads > 0 ? options.threads : (hw > 0 ? hw : 1);
#if FABFORGE_WITH_TBB
  arena_ = std::make_unique<tbb::task_arena>(threads_);
#else
  threads_ = 1;
#endif
}

void RunContext::throw_if_cancelled() const {
  if (cancelled()) throw runtime_error("cancelled");
}

double peak_resident_mb() {
  // VmHWM is this process image's high-water mark; getrusage's ru_maxrss also keeps the peak of
  // the image before exec (a forked parent's pages), so it is only the fallback.
  if (std::FILE* f = std::fopen("/proc/self/status", "r")) {
    char line[256];
    long kib = -1;
    while (std::fgets(line, sizeof line, f)) {
      if (std::sscanf(line, "VmHWM: %ld kB", &kib) == 1) break;
    }
    std::fclose(f);
    if (kib >= 0) return static_cast<double>(kib) / 1024.0;
  }
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux reports KiB
}

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

}  // namespace fabforge
