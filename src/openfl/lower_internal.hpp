#pragma once
// Private helpers shared by the IR files (ir.cpp, passes.cpp, lower.cpp, kernel.cpp).

#include <vector>

#include "fabforge/openfl/ir.hpp"

namespace fabforge::openfl::ir {

/// Argument and result types of a non-control op. `uniform` lists no result type (any one type);
/// `select` lists only its condition (the arms have the result's type); if_/loop list nothing.
struct Signature {
  std::vector<ScalarType> args;
  std::vector<ScalarType> results;
};
Signature signature(Op op);

/// One round of fold_constants + eliminate_dead_code repeated until the function stops changing
/// (bounded by `max_rounds`).
void optimize(Function& fn, int max_rounds = 16);

}  // namespace fabforge::openfl::ir
