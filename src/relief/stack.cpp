// Counting colours and swaps of a layer stack.
#include <algorithm>

#include "fabforge/core/error.hpp"
#include "fabforge/relief/solve.hpp"

namespace fabforge::relief {

int count_colors(const Stack& stack, int top) {
  std::vector<int> used{stack.background};
  const int n = std::min<int>(top, static_cast<int>(stack.layers.size()));
  for (int l = 0; l < n; ++l) used.push_back(stack.layers[static_cast<std::size_t>(l)]);
  std::sort(used.begin(), used.end());
  return static_cast<int>(std::unique(used.begin(), used.end()) - used.begin());
}

int count_swaps(const Stack& stack, int top) {
  int swaps = 0;
  int previous = stack.background;
  const int n = std::min<int>(top, static_cast<int>(stack.layers.size()));
  for (int l = 0; l < n; ++l) {
    const int f = stack.layers[static_cast<std::size_t>(l)];
    if (f != previous) ++swaps;
    previous = f;
  }
  return swaps;
}

std::vector<Swap> list_swaps(const ReliefModel& model, const Stack& stack, int top) {
  std::vector<Swap> swaps;
  int previous = stack.background;
  const int n = std::min<int>(top, static_cast<int>(stack.layers.size()));
  const ModelSettings& s = model.settings();
  for (int l = 0; l < n; ++l) {
    const int f = stack.layers[static_cast<std::size_t>(l)];
    if (f != previous) swaps.push_back({l + 1, s.base_height_mm + (l + 1) * s.layer_height_mm, previous, f});
    previous = f;
  }
  return swaps;
}

const char* to_string(SolverKind kind) {
  switch (kind) {
    case SolverKind::discrete:
      return "discrete";
    case SolverKind::gumbel:
      return "gumbel";
    case SolverKind::chain:
      return "chain";
  }
  return "?";
}

}  // namespace fabforge::relief
