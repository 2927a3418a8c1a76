#pragma once
/// Running kernels: the batched SoA interpreter (production), the interval interpreter
/// (conservative bounds) and the reference tree-walking interpreter (the test oracle). All three
/// take the same column layout:
///   inputs[c][i]  input column c of item i (Kernel::input_count columns),
///   outputs[c][i] output column c of item i (Kernel::output_count columns).
/// Surface-phase items come in quads: items 4k..4k+3 are one 2x2 quad of grid vertices
/// (0 = (0,0), 1 = (1,0), 2 = (0,1), 3 = (1,1)); a final partial quad gets no derivatives.

#include <cstddef>
#include <memory>
#include <vector>

#include "fabforge/openfl/host.hpp"
#include "fabforge/openfl/program.hpp"

namespace fabforge::openfl {

struct ExecOptions {
  /// Iterations one entry into one loop may run before evaluation stops with a runtime Error
  /// ("file:line:col: loop ran more than N iterations").
  std::uint32_t loop_cap = 1'000'000;
};

/// Batched interpreter: runs a Kernel's bytecode over lanes (kBatchLanes at a time) with an
/// active-lane mask for divergent control flow; textures, noise and surface queries are one call
/// per instruction per batch. Holds scratch registers, so one executor per thread; the Kernel is
/// shared.
class BatchExecutor {
 public:
  static constexpr std::size_t kBatchLanes = 256;
  explicit BatchExecutor(std::shared_ptr<const Kernel> kernel, ExecOptions options = {});
  ~BatchExecutor();
  BatchExecutor(BatchExecutor&&) noexcept;
  BatchExecutor& operator=(BatchExecutor&&) noexcept;

  void run(const Host& host, std::size_t n, const float* const* inputs, float* const* outputs);
  const Kernel& kernel() const noexcept { return *kernel_; }

 private:
  struct Scratch;
  std::shared_ptr<const Kernel> kernel_;
  ExecOptions options_;
  std::unique_ptr<Scratch> scratch_;
};

/// Interval interpreter over the kernel's structured IR (Kernel::ir, the code the bytecode was
/// assembled from): every output interval contains every output the point interpreters give for
/// inputs inside the input intervals (any quad arrangement, any texture lod). Uncertain branches
/// take the union of both sides; loops whose carried intervals do not settle within a few rounds
/// widen to the whole line.
std::vector<Interval> evaluate_intervals(const Kernel& kernel, const Host& host, const std::vector<Interval>& inputs,
                                         ExecOptions options = {});

/// The reference interpreter: walks the checked syntax tree with one value per lane, following
/// docs/openfl.md directly (no IR, no optimisation). Surface phase: groups of up to 4 lanes
/// (the quads) walked together with a mask so texture derivatives match the batched rules;
/// volume phase: one lane at a time. Slow by design; the oracle of the differential tests.
class ReferenceInterpreter {
 public:
  ReferenceInterpreter(std::shared_ptr<const Program> program, UniformValues values, ExecOptions options = {});
  ~ReferenceInterpreter();
  void run(Phase phase, const Host& host, std::size_t n, const float* const* inputs, float* const* outputs) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fabforge::openfl
