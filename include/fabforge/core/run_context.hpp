#pragma once
/// The explicit context every stage receives: progress reporting, cancellation and the thread
/// limit. There are no global settings; the CLI builds one RunContext per job.
///
///   RunContext ctx({.threads = 2, .progress = &sink});
///   ctx.run([&] { Mesh m = heightfield_to_mesh(field, opts); });   // at most 2 threads
///
/// Progress: a stage opens a ProgressTask ("meshing", 480 rows) and advances it from any thread;
/// the task forwards throttled snapshots to the ProgressSink, which the CLI renders as a bar,
/// as plain lines, or not at all. Library code never prints.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#if FABFORGE_WITH_TBB
#include <tbb/task_arena.h>
#endif

namespace fabforge {

/// A snapshot of one task's progress.
struct ProgressEvent {
  std::string_view stage;  ///< e.g. "meshing"
  std::string_view unit;   ///< e.g. "rows"
  std::uint64_t done = 0;
  std::uint64_t total = 0;  ///< 0 when unknown
  double elapsed_s = 0;     ///< since the task began
  bool finished = false;
  /// The task ended without finish(): the stage failed or was cancelled part-way.
  bool aborted = false;
  /// An optional figure of merit the stage reports as it goes (e.g. "loss"); empty name: none.
  std::string_view metric_name;
  double metric = 0;
};

/// Receives progress snapshots. Calls are serialized per task but may come from any thread.
class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void update(const ProgressEvent& event) = 0;
};

/// One stage's progress counter. Thread-safe; reports to the sink at most every `interval`,
/// plus once at the start and once when finished.
class ProgressTask {
 public:
  ProgressTask(ProgressSink* sink, std::string stage, std::uint64_t total, std::string unit,
               std::chrono::milliseconds interval = std::chrono::milliseconds(100));
  ~ProgressTask();
  ProgressTask(const ProgressTask&) = delete;
  ProgressTask& operator=(const ProgressTask&) = delete;

  void advance(std::uint64_t n = 1);
  void finish();  ///< marks the task done; idempotent
  /// Sets the figure of merit shown with this task's progress from now on (e.g. the current loss).
  void set_metric(std::string name, double value);
  /// A task destroyed without finish() reports one last event with `aborted` set.
  std::uint64_t done() const noexcept { return done_.load(std::memory_order_relaxed); }

 private:
  void report(bool finished, bool aborted = false);
  ProgressSink* sink_;
  std::string stage_, unit_;
  std::uint64_t total_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::duration interval_;
  std::atomic<std::uint64_t> done_{0};
  std::atomic<std::int64_t> next_report_ns_{0};
  std::mutex report_mutex_;
  bool finished_ = false;
  std::string metric_name_;  // guarded by report_mutex_
  double metric_ = 0;
};

struct RunOptions {
  int threads = 0;                   ///< 0: all hardware threads
  ProgressSink* progress = nullptr;  ///< null: no reporting
};

class RunContext {
 public:
  explicit RunContext(RunOptions options = {});

  /// Runs f with parallel loops limited to this context's thread count.
  template <class F>
  decltype(auto) run(F&& f) {
#if FABFORGE_WITH_TBB
    return arena_->execute(std::forward<F>(f));
#else
    return std::forward<F>(f)();
#endif
  }

  int threads() const noexcept { return threads_; }

  /// Opens a progress task reporting to this context's sink.
  std::unique_ptr<ProgressTask> task(std::string stage, std::uint64_t total, std::string unit) const {
    return std::make_unique<ProgressTask>(progress_, std::move(stage), total, std::move(unit));
  }

  /// Requests cancellation (safe from a signal handler: one lock-free atomic store).
  void cancel() noexcept { cancelled_.store(true, std::memory_order_relaxed); }
  bool cancelled() const noexcept { return cancelled_.load(std::memory_order_relaxed); }
  /// Throws Error (runtime) "cancelled" once cancel() was called; stages call it between steps.
  void throw_if_cancelled() const;
  /// The flag itself, for a signal handler to set.
  std::atomic<bool>& cancel_flag() noexcept { return cancelled_; }

 private:
  int threads_;
  ProgressSink* progress_;
  std::atomic<bool> cancelled_{false};
#if FABFORGE_WITH_TBB
  std::unique_ptr<tbb::task_arena> arena_;
#endif
};

/// Peak resident memory of this process so far, MiB (the kernel's high-water mark VmHWM; 0 if
/// unknown).
double peak_resident_mb();

/// CPU time this process has used so far, every thread's, s (CLOCK_PROCESS_CPUTIME_ID).
double process_cpu_seconds();

}  // namespace fabforge
