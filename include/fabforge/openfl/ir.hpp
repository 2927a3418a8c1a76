#pragma once
/// The OpenFL intermediate representation: scalar SSA with structured control flow.
///
/// Every value is one scalar (f32, i32 or b1); vectors, matrices and mixtures are lowered to
/// their components, so swizzles cost nothing and dead components disappear. Values are defined
/// once. Control flow is structured (as in MLIR's scf dialect): an `if_` instruction owns a then
/// and an else block, each yielding the same number of values, and its results are the yielded
/// values of the side taken; a `loop` owns a condition block and a body block over loop-carried
/// values. `return`, `break` and `continue` in the source are lowered to flags before this level,
/// so blocks have no early exits. This shape maps directly onto masked SIMD execution.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fabforge/openfl/source.hpp"

namespace fabforge::openfl::ir {

enum class ScalarType : std::uint8_t { f32, i32, b1 };

using ValueId = std::uint32_t;
constexpr ValueId kNoValue = 0xffffffffu;

enum class Op : std::uint8_t {
  // leaves (no args)
  const_f,     ///< fimm
  const_i,     ///< imm (as int32)
  const_b,     ///< imm (0 / 1)
  input,       ///< imm = phase input column
  uniform,     ///< imm = uniform scalar column (kernels not specialised on uniforms)
  query,       ///< imm = surface query column (volume phase): 0 signed distance, 1-3 point, 4-6 normal, 7.. outs
  // float, one result
  fadd, fsub, fmul, fdiv, fneg, fabs, fsign, fmin, fmax, ffloor, fceil, fround, ftrunc, ffract, fmod,
  fsqrt, finvsqrt, fpow, fexp, fexp2, flog, flog2, fsin, fcos, ftan, fasin, facos, fatan, fatan2,
  fstep, fsmoothstep,
  // int, one result
  iadd, isub, imul, idiv, imod, ineg, iabs, isign, imin, imax,
  // comparisons -> b1
  flt, fle, feq, fne, ilt, ile, ieq, ine, beq, bne,
  // bool
  band, bor, bnot,
  // select(cond, a, b): type of a
  select,
  // conversions
  itof, ftoi, btoi, btof, ftob, itob,
  // heavy builtins: batch calls (multiple results)
  noise2,      ///< (x, y) -> n
  noise3,      ///< (x, y, z) -> n
  fbm2,        ///< (x, y, octaves:i32, lacunarity, gain) -> n; imm: 0 fbm, 1 turbulence
  fbm3,        ///< (x, y, z, octaves:i32, lacunarity, gain) -> n; imm as fbm2
  cellular2,   ///< (x, y) -> (f1, f2)
  cellular3,   ///< (x, y, z) -> (f1, f2)
  tex_sample,  ///< imm = texture slot; (u, v) -> (r, g, b, a); lod from quad derivatives (surface) or 0
  tex_lod,     ///< imm = texture slot; (u, v, lod) -> (r, g, b, a)
  // structured control flow
  if_,         ///< args[0] = cond; blocks[0] then, blocks[1] else; results = yields of the side taken
  loop,        ///< args = initial carried values; blocks[0] = cond (params = carried, yields {cond}),
               ///< blocks[1] = body (params = carried, yields next carried); results = final carried
};

/// Name for dumps ("fadd").
std::string_view op_name(Op op);
/// Name for dumps ("f32", "i32", "b1").
std::string_view type_name(ScalarType type);
/// Number of results of a non-control instruction (1 for most, 2 for cellular, 4 for textures).
int result_count(Op op);
/// True for instructions without side effects or failure that constant folding may evaluate
/// when all arguments are constants (everything except leaves other than constants, textures
/// and control flow).
bool is_foldable(Op op);

struct Block;

struct Inst {
  Op op{};
  std::uint32_t imm = 0;
  float fimm = 0;
  std::vector<ValueId> args;
  std::vector<ValueId> results;
  std::vector<Block> blocks;  ///< if_: {then, else}; loop: {cond, body}
  SourceRange range;          ///< for runtime errors (loops: the loop statement)
};

struct Block {
  std::vector<ValueId> params;  ///< loop blocks: one per carried value
  std::vector<Inst> insts;
  std::vector<ValueId> yields;
};

/// One phase of one fablet, lowered.
struct Function {
  std::vector<ScalarType> value_types;  ///< indexed by ValueId
  Block body;                           ///< body.yields = the phase outputs
  int input_count = 0;
  int uniform_count = 0;                ///< uniform scalar columns (0 once specialised)
  int query_count = 0;                  ///< surface query columns read (0: no query)
  std::shared_ptr<const SourceFile> file;

  ValueId new_value(ScalarType t) {
    value_types.push_back(t);
    return static_cast<ValueId>(value_types.size() - 1);
  }
};

/// Text form for `fabforge openfl dump --ir`: one instruction per line, `%12:f32 = fadd %3, %7`,
/// nested blocks indented, uniform/varying marked when `uniformity` is given.
std::string dump(const Function& fn, const std::vector<bool>* uniformity = nullptr);

/// Checks SSA well-formedness (each value defined once before use, types of args/results match
/// the op, block yield counts match); throws InternalError with a description otherwise.
void verify(const Function& fn);

// ---- passes (src/openfl/passes.cpp) ----

/// Values of the uniform scalar columns, as bit patterns of their type.
struct UniformColumns {
  std::vector<ScalarType> types;
  std::vector<std::uint32_t> bits;  ///< float bits, int32 bits, or 0/1
};
/// Replaces `uniform` leaves by constants of the given per-column values.
void specialize_uniforms(Function& fn, const UniformColumns& values);
/// Folds instructions whose arguments are constants (with scalar_math, bit-exact), simplifies
/// `if_` on constant conditions and selects with constant conditions or equal arms.
void fold_constants(Function& fn);
/// Removes instructions whose results are unused (loops and ifs included, when all their
/// results are unused), and unused loop-carried values.
void eliminate_dead_code(Function& fn);
/// Uniform/varying analysis: true for values that are the same in every lane still running at
/// the point of definition (constants, uniforms, and pure functions of them; results of control
/// flow whose conditions are uniform). Inside a divergent loop a carried value may be "uniform"
/// among the lanes still looping while lanes that left hold older values, so a back end that
/// drops masks needs a stricter test. Indexed by ValueId.
std::vector<bool> analyze_uniformity(const Function& fn);

}  // namespace fabforge::openfl::ir
