#pragma once
// The register bytecode (private to the back ends: bytecode.cpp assembles it, batch.cpp runs it).
//
// Two register files: F holds f32 values, I holds i32 values and b1 values (as 0 / 1). In the
// batched interpreter a register is one vector of kBatchLanes lanes.
//
// Pinned registers come first in each file and are never written by code: constants and uniform
// columns (filled once when an executor is made), the input columns and the surface query columns
// (pointed at the caller's columns / the query results of the batch, so leaves cost no
// instruction). The rest are allocated by linear scan over live ranges (a value defined outside
// a loop and read inside it stays live to the loop's end; loop-carried values live across the
// whole loop). A register is never the destination of an instruction that also reads it, so the
// interpreter's loops may treat destination and sources as not aliasing.
//
// Instructions run on every lane of the batch, whatever the mask: every operation is total
// (integer division by zero is defined, float operations cannot trap), so lanes that are not
// active only compute values nobody reads. The mask matters only where lanes must not be
// disturbed or where a lane's activity is observable: merging the sides of a divergent if,
// writing loop-carried values, ending a loop, counting iterations, and host calls (textures).
//
// Structured control flow is flattened into jumps. A branch whose condition is the same in every
// lane ("uniform", see bytecode.cpp) needs no mask:
//   uniform if:      jump_ifnot c -> E; <then>; mov R, Ty; jump -> X; E: <else>; mov R, Ey; X:
//   uniform loop:    mov C, init; uloop_begin; T: <cond>; uloop_test c -> X; <body>; mov C, Y; jump -> T; X:
// A divergent one keeps a stack of lane masks (one level per enclosing divergent if / loop) and
// skips a side whose mask is empty:
//   if:    if_begin c -> E; <then>; mov_if R, Ty, c; E: if_else c -> X; <else>; mov_ifnot R, Ey, c; X: if_end
//   loop:  mov C, init; loop_begin; T: <cond>; loop_test c -> X; <body>; mov_mask C, Y; jump -> T; X: loop_end
// An if whose sides hold no instructions becomes selects. Carried values move in parallel (a
// cycle goes through a temporary register).

#include <cstdint>
#include <string>
#include <vector>

#include "fabforge/openfl/bytecode.hpp"
#include "fabforge/openfl/ir.hpp"

namespace fabforge::openfl::bytecode {

enum class Opc : std::uint8_t {
  // float -> float (operands and result in F)
  fadd,
  fsub,
  fmul,
  fdiv,
  fneg,
  fabs,
  fsign,
  fmin,
  fmax,
  ffloor,
  fceil,
  fround,
  ftrunc,
  ffract,
  fmod,
  fsqrt,
  finvsqrt,
  fpow,
  fexp,
  fexp2,
  flog,
  flog2,
  fsin,
  fcos,
  ftan,
  fasin,
  facos,
  fatan,
  fatan2,
  fstep,
  fsmoothstep,
  // int -> int (I)
  iadd,
  isub,
  imul,
  idiv,
  imod,
  ineg,
  iabs,
  isign,
  imin,
  imax,
  // comparisons -> I (0 / 1)
  flt,
  fle,
  feq,
  fne,
  ilt,
  ile,
  ieq,
  ine,
  beq,
  bne,
  band,
  bor,
  bnot,
  // dst = c ? a : b (c in I; a, b, dst in F for select_f, in I for select_i)
  select_f,
  select_i,
  // conversions
  itof,
  ftoi,
  btoi,
  btof,
  ftob,
  itob,
  // heavy: one batch call per instruction
  noise2,
  noise3,
  fbm2,
  fbm3,
  cellular2,
  cellular3,
  tex_sample,
  tex_lod,
  // moves: dst <- a on all lanes; on lanes where c; where !c; where the current mask is set
  mov_f,
  mov_i,
  mov_if_f,
  mov_if_i,
  mov_ifnot_f,
  mov_ifnot_i,
  mov_mask_f,
  mov_mask_i,
  // control; imm = jump target (instruction index), a = condition (I), x = loop index
  jump,         ///< jump to imm
  jump_ifnot,   ///< uniform condition a false (lane 0) -> jump to imm
  if_begin,     ///< push mask & a; empty -> jump to imm (the if_else)
  if_else,      ///< top = parent & !a; empty -> jump to imm (the if_end)
  if_end,       ///< pop
  uloop_begin,  ///< iteration count of loop x = 0
  uloop_test,   ///< uniform condition a false -> jump to imm; else count an iteration of loop x
  loop_begin,   ///< push a copy of the mask; iteration count of loop x = 0
  loop_test,    ///< mask &= a; empty -> jump to imm (the loop_end); else count an iteration of loop x
  loop_end,     ///< pop
};

/// Register operands: dst, a, b, c (which file each names follows from the opcode). For the
/// heavy instructions:
///   noise*, cellular*:  a, b[, c] = coordinates; cellular: dst = f1, x = f2
///   fbm2/fbm3:          a, b[, c] = coordinates; extra[x..x+3) = octaves (I), lacunarity (F),
///                       gain (F); flag = turbulence
///   tex_*:              imm = slot; a = u, b = v, c = lod (tex_lod); extra[x..x+4) = r, g, b, a
struct Instr {
  Opc op{};
  std::uint8_t flag = 0;
  std::uint32_t dst = 0, a = 0, b = 0, c = 0;
  std::uint32_t imm = 0;
  std::uint32_t x = 0;
};

struct RegConst {
  std::uint32_t reg = 0;
  std::uint32_t bits = 0;  ///< float bits (F) or int32 bits (I)
};

struct RegUniform {
  std::uint32_t reg = 0;
  ir::ScalarType type = ir::ScalarType::f32;
  std::uint32_t column = 0;  ///< Kernel::uniform_values column
};

/// A pinned F register that reads input column / surface query column `column`.
struct RegColumn {
  std::uint32_t reg = 0;
  std::uint32_t column = 0;
};

struct TypedReg {
  ir::ScalarType type = ir::ScalarType::f32;
  std::uint32_t reg = 0;
};
inline bool is_float(ir::ScalarType t) { return t == ir::ScalarType::f32; }

struct LoopInfo {
  std::string where;  ///< "file:line:col" of the loop statement ("" when unknown)
};

struct Code {
  std::vector<Instr> instrs;
  std::vector<std::uint32_t> extra;
  std::vector<RegConst> f_consts, i_consts;
  std::vector<RegUniform> uniforms;
  std::vector<RegColumn> inputs, queries;
  std::vector<TypedReg> outputs;  ///< body yields, in order
  std::vector<LoopInfo> loops;
  std::uint32_t f_regs = 0, i_regs = 0;  ///< registers in each file, pinned ones included
  std::uint32_t f_pinned = 0, i_pinned = 0;
  std::uint32_t max_depth = 0;  ///< deepest nesting of divergent ifs / loops (mask stack levels)
  int input_count = 0, query_count = 0, uniform_count = 0;
};

/// Name of an opcode for dumps ("fadd").
const char* opc_name(Opc op);

}  // namespace fabforge::openfl::bytecode
