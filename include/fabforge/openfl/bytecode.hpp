#pragma once
/// The register bytecode that the batched interpreter (BatchExecutor) runs. Assembled from one
/// ir::Function: structured control flow flattened into jumps and lane-mask operations, common
/// subexpressions shared, loop-invariant instructions hoisted, registers allocated by linear
/// scan. The instruction set is private (src/openfl/bytecode_code.hpp).

#include <memory>
#include <string>
#include <vector>

#include "fabforge/openfl/ir.hpp"

namespace fabforge::openfl::bytecode {

struct Code;

/// Assembles a verified IR function. `uniformity` (per ValueId, may be empty) is accepted for the
/// interface but not needed: the assembler derives the stricter lane invariance it relies on to
/// branch without masks (see bytecode.cpp).
std::shared_ptr<const Code> assemble(const ir::Function& fn, const std::vector<bool>& uniformity);

/// Text form for `fabforge openfl dump --bytecode`: a header (instruction and register counts,
/// mask depth), the pinned registers (constants, uniforms, inputs, surface query columns), one
/// numbered instruction per line (`f12 = fmul f9, f1`, jumps as `-> 17`, loops with their
/// source position) and the output registers.
std::string dump(const Code& code);

}  // namespace fabforge::openfl::bytecode
