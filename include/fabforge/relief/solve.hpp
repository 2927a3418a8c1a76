#pragma once
/// Solvers: choose a filament per layer and a height per pixel so that the rendered print is
/// close to the target in CIELAB, within a colour and a swap limit.
///
/// Counting (over the printed part only, layers [0, top) where top is the highest height):
///   - colours: distinct filaments among the background and the printed layers;
///   - swaps: filament changes between consecutive entries of (background, layer 0, layer 1, ...).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "fabforge/core/run_context.hpp"
#include "fabforge/relief/model.hpp"
#include "fabforge/relief/target.hpp"

namespace fabforge::relief {

struct Limits {
  int max_colors = 8;  ///< including the background
  int max_swaps = 20;
};

int count_colors(const Stack& stack, int top);
int count_swaps(const Stack& stack, int top);

/// One filament change: layer `layer` (1-based, counted above the base) is the first printed
/// with `to`; its top is at z_mm = base + layer * layer_height, which is the print_z slicers use.
struct Swap {
  int layer = 0;
  double z_mm = 0;
  int from = 0;
  int to = 0;
};
std::vector<Swap> list_swaps(const ReliefModel& model, const Stack& stack, int top);

enum class SolverKind : std::uint8_t { discrete, gumbel, chain };  ///< chain: gumbel, then discrete
const char* to_string(SolverKind kind);

struct SolveOptions {
  Limits limits;
  int background = 0;  ///< palette index of the base filament
  std::uint64_t seed = 1;
  /// Safety cap on the search in seconds (0: none). Solvers stop by iteration counts so that the
  /// result is reproducible; only when this cap cuts a run short does it depend on machine speed.
  double max_seconds = 0;
  /// Weight of the height smoothness term (per unit of height difference between 4-neighbours,
  /// in Lab squared error units). 0: every pixel takes its best height.
  double smoothness = 0;

  // gumbel
  int gumbel_iterations = 0;  ///< 0: the solver's default
  double learning_rate = 0.015;
  int gumbel_downscale = 2;  ///< solve at 1/2 resolution, as AutoForge does

  // discrete
  int discrete_effort = 0;  ///< 0: the solver's default; scales the search

  /// Called with the best discrete solution so far every `preview_every` iterations (0: never);
  /// for the discrete solver an iteration is 1000 annealing moves of its first chain.
  int preview_every = 0;
  std::function<void(const Stack&, const LayerMap&)> preview;
};

struct PhaseTime {
  std::string name;
  double seconds = 0;
};

struct SolveResult {
  Stack stack;
  LayerMap heights;
  std::string solver;
  int iterations = 0;
  double search_loss = 0;  ///< the weighted Lab MSE the solver minimised last (its own model)
  std::vector<PhaseTime> phases;
};

/// Best heights for a fixed stack. With smoothness 0 each printed pixel takes the height whose
/// colour (no bleed) has the least Lab error, the lowest such height on ties; exact. With
/// smoothness > 0, iterated conditional modes from that start on data + smoothness energy.
LayerMap assign_heights(const ReliefModel& model, const Target& target, const Stack& stack, double smoothness,
                        RunContext& context);

/// Improves heights for the model with bleed: iterated conditional modes in which a pixel moves
/// to another height only if that lowers the weighted Lab error, bleed included, of its 3x3
/// neighbourhood (plus the smoothness term, if any). Candidates are nearby heights and the
/// neighbours' heights. Never raises the loss; parallel in 9 interleaved phases, deterministic.
/// Returns the number of pixels changed.
std::size_t refine_heights_for_bleed(const ReliefModel& model, const Target& target, const Stack& stack,
                                     LayerMap& heights, double smoothness, int sweeps, RunContext& context);

/// Makes a stack respect the limits (for layers below `top`) by greedy merges of bands and
/// colours with the least increase of the loss. Returns the stack unchanged if it already fits.
Stack enforce_limits(const ReliefModel& model, const Target& target, Stack stack, const Limits& limits, int top,
                     RunContext& context);

SolveResult solve_discrete(const ReliefModel& model, const Target& target, const SolveOptions& options,
                           RunContext& context, const Stack* start = nullptr);
SolveResult solve_gumbel(const ReliefModel& model, const Target& target, const SolveOptions& options,
                         RunContext& context);
SolveResult solve(SolverKind kind, const ReliefModel& model, const Target& target, const SolveOptions& options,
                  RunContext& context);

}  // namespace fabforge::relief
