// The bytecode assembler: flattens an ir::Function's structured control flow into jumps and mask
// instructions, then allocates registers by linear scan (see bytecode_code.hpp for the design).
//
// Uniformity. The batched interpreter runs every instruction on all lanes, so a value that
// ir::analyze_uniformity calls uniform (constants, uniforms and pure functions of them; not the
// carried values of a divergent loop, nor texture results, which the host computes for the
// active lanes only) is the same in every lane, and a branch on it needs no mask.

#include "fabforge/openfl/bytecode.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdio>
#include <functional>
#include <map>
#include <queue>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "fabforge/core/error.hpp"

#include "bytecode_code.hpp"

namespace fabforge::openfl::bytecode {

namespace {

using ir::Op;
using ir::ScalarType;
using ir::ValueId;

enum class File : std::uint8_t { f, i };
File file_of(ScalarType t) { return t == ScalarType::f32 ? File::f : File::i; }

constexpr std::uint32_t kNone = 0xffffffffu;

// ---------------------------------------------------------------------------------------------
// operands of an instruction: fn(field, file, is_write) for every register field.

// clang-format off
template <class Fn>
void for_operands(Instr& in, std::vector<std::uint32_t>& extra, Fn&& fn) {
  constexpr File F = File::f;
  constexpr File I = File::i;
  auto rd = [&](std::uint32_t& r, File f) { fn(r, f, false); };
  auto wr = [&](std::uint32_t& r, File f) { fn(r, f, true); };
  switch (in.op) {
    case Opc::fneg: case Opc::fabs: case Opc::fsign: case Opc::ffloor: case Opc::fceil: case Opc::fround:
    case Opc::ftrunc: case Opc::ffract: case Opc::fsqrt: case Opc::finvsqrt: case Opc::fexp: case Opc::fexp2:
    case Opc::flog: case Opc::flog2: case Opc::fsin: case Opc::fcos: case Opc::ftan: case Opc::fasin:
    case Opc::facos: case Opc::fatan: case Opc::mov_f: case Opc::mov_mask_f:
      rd(in.a, F);
      wr(in.dst, F);
      return;
    case Opc::fadd: case Opc::fsub: case Opc::fmul: case Opc::fdiv: case Opc::fmin: case Opc::fmax: case Opc::fmod:
    case Opc::fpow: case Opc::fatan2: case Opc::fstep: case Opc::noise2:
      rd(in.a, F);
      rd(in.b, F);
      wr(in.dst, F);
      return;
    case Opc::fsmoothstep: case Opc::noise3:
      rd(in.a, F);
      rd(in.b, F);
      rd(in.c, F);
      wr(in.dst, F);
      return;
    case Opc::ineg: case Opc::iabs: case Opc::isign: case Opc::bnot: case Opc::btoi: case Opc::itob: case Opc::mov_i:
    case Opc::mov_mask_i:
      rd(in.a, I);
      wr(in.dst, I);
      return;
    case Opc::iadd: case Opc::isub: case Opc::imul: case Opc::idiv: case Opc::imod: case Opc::imin: case Opc::imax:
    case Opc::ilt: case Opc::ile: case Opc::ieq: case Opc::ine: case Opc::beq: case Opc::bne: case Opc::band:
    case Opc::bor:
      rd(in.a, I);
      rd(in.b, I);
      wr(in.dst, I);
      return;
    case Opc::flt: case Opc::fle: case Opc::feq: case Opc::fne:
      rd(in.a, F);
      rd(in.b, F);
      wr(in.dst, I);
      return;
    case Opc::select_f:
      rd(in.c, I);
      rd(in.a, F);
      rd(in.b, F);
      wr(in.dst, F);
      return;
    case Opc::select_i:
      rd(in.c, I);
      rd(in.a, I);
      rd(in.b, I);
      wr(in.dst, I);
      return;
    case Opc::itof: case Opc::btof:
      rd(in.a, I);
      wr(in.dst, F);
      return;
    case Opc::ftoi: case Opc::ftob:
      rd(in.a, F);
      wr(in.dst, I);
      return;
    case Opc::fbm2: case Opc::fbm3:
      rd(in.a, F);
      rd(in.b, F);
      if (in.op == Opc::fbm3) rd(in.c, F);
      rd(extra[in.x], I);
      rd(extra[in.x + 1], F);
      rd(extra[in.x + 2], F);
      wr(in.dst, F);
      return;
    case Opc::cellular2: case Opc::cellular3:
      rd(in.a, F);
      rd(in.b, F);
      if (in.op == Opc::cellular3) rd(in.c, F);
      wr(in.dst, F);
      wr(in.x, F);
      return;
    case Opc::tex_sample: case Opc::tex_lod:
      rd(in.a, F);
      rd(in.b, F);
      if (in.op == Opc::tex_lod) rd(in.c, F);
      for (std::uint32_t k = 0; k < 4; ++k) wr(extra[in.x + k], F);
      return;
    case Opc::mov_if_f: case Opc::mov_ifnot_f:
      rd(in.a, F);
      rd(in.c, I);
      wr(in.dst, F);
      return;
    case Opc::mov_if_i: case Opc::mov_ifnot_i:
      rd(in.a, I);
      rd(in.c, I);
      wr(in.dst, I);
      return;
    case Opc::jump_ifnot: case Opc::if_begin: case Opc::if_else: case Opc::uloop_test: case Opc::loop_test:
      rd(in.a, I);
      return;
    case Opc::jump: case Opc::if_end: case Opc::uloop_begin: case Opc::loop_begin: case Opc::loop_end:
      return;
  }
}

// clang-format on

Opc simple_opc(Op op) {
  // clang-format off
  switch (op) {
#define FABFORGE_SAME(name) case Op::name: return Opc::name;
    FABFORGE_SAME(fadd) FABFORGE_SAME(fsub) FABFORGE_SAME(fmul) FABFORGE_SAME(fdiv) FABFORGE_SAME(fneg)
    FABFORGE_SAME(fabs) FABFORGE_SAME(fsign) FABFORGE_SAME(fmin) FABFORGE_SAME(fmax) FABFORGE_SAME(ffloor)
    FABFORGE_SAME(fceil) FABFORGE_SAME(fround) FABFORGE_SAME(ftrunc) FABFORGE_SAME(ffract) FABFORGE_SAME(fmod)
    FABFORGE_SAME(fsqrt) FABFORGE_SAME(finvsqrt) FABFORGE_SAME(fpow) FABFORGE_SAME(fexp) FABFORGE_SAME(fexp2)
    FABFORGE_SAME(flog) FABFORGE_SAME(flog2) FABFORGE_SAME(fsin) FABFORGE_SAME(fcos) FABFORGE_SAME(ftan)
    FABFORGE_SAME(fasin) FABFORGE_SAME(facos) FABFORGE_SAME(fatan) FABFORGE_SAME(fatan2) FABFORGE_SAME(fstep)
    FABFORGE_SAME(fsmoothstep) FABFORGE_SAME(iadd) FABFORGE_SAME(isub) FABFORGE_SAME(imul) FABFORGE_SAME(idiv)
    FABFORGE_SAME(imod) FABFORGE_SAME(ineg) FABFORGE_SAME(iabs) FABFORGE_SAME(isign) FABFORGE_SAME(imin)
    FABFORGE_SAME(imax) FABFORGE_SAME(flt) FABFORGE_SAME(fle) FABFORGE_SAME(feq) FABFORGE_SAME(fne) FABFORGE_SAME(ilt)
    FABFORGE_SAME(ile) FABFORGE_SAME(ieq) FABFORGE_SAME(ine) FABFORGE_SAME(beq) FABFORGE_SAME(bne) FABFORGE_SAME(band)
    FABFORGE_SAME(bor) FABFORGE_SAME(bnot) FABFORGE_SAME(itof) FABFORGE_SAME(ftoi) FABFORGE_SAME(btoi)
    FABFORGE_SAME(btof) FABFORGE_SAME(ftob) FABFORGE_SAME(itob) FABFORGE_SAME(noise2) FABFORGE_SAME(noise3)
#undef FABFORGE_SAME
    default: break;
  }
  // clang-format on
  FABFORGE_CHECK(false, "no simple bytecode for IR op " + std::string(ir::op_name(op)));
  return Opc::jump;
}

// ---------------------------------------------------------------------------------------------

enum class Pin : std::uint8_t { none, constant, uniform, input, query };

struct VReg {
  File file = File::f;
  Pin pin = Pin::none;
  std::uint32_t key = 0;  ///< constant bits / column
  ScalarType type = ScalarType::f32;
  std::uint32_t reg = kNone;
  std::uint32_t def = kNone, end = 0;
};

struct Span {
  std::uint32_t start = 0, end = 0;
  int parent = -1;
};

std::string where_of(const ir::Function& fn, SourceRange range) {
  if (!fn.file) return "";
  return fn.file->name() + ":" + std::to_string(fn.file->line_of(range.begin)) + ":" +
         std::to_string(fn.file->column_of(range.begin));
}

class Assembler {
 public:
  Assembler(const ir::Function& fn, const std::vector<bool>& uniformity)
      : fn_(fn), invariant_(uniformity.empty() ? ir::analyze_uniformity(fn) : uniformity), vreg_of_(fn.value_types.size(), kNone) {}

  std::shared_ptr<const Code> run() {
    code_.input_count = fn_.input_count;
    code_.query_count = fn_.query_count;
    code_.uniform_count = fn_.uniform_count;
    block(fn_.body);
    for (ValueId y : fn_.body.yields) code_.outputs.push_back({fn_.value_types[y], use(y)});
    pin_registers();
    liveness();
    allocate();
    rewrite();
    return std::make_shared<const Code>(std::move(code_));
  }

 private:
  // ---- virtual registers ----
  std::uint32_t new_vreg(ScalarType t, Pin pin = Pin::none, std::uint32_t key = 0) {
    VReg v;
    v.file = file_of(t);
    v.type = t;
    v.pin = pin;
    v.key = key;
    vregs_.push_back(v);
    return static_cast<std::uint32_t>(vregs_.size() - 1);
  }
  std::uint32_t pinned(ScalarType t, Pin pin, std::uint32_t key) {
    const auto k = std::make_tuple(static_cast<int>(pin), static_cast<int>(file_of(t)), key);
    if (auto it = pinned_.find(k); it != pinned_.end()) return it->second;
    const std::uint32_t v = new_vreg(t, pin, key);
    pinned_.emplace(k, v);
    return v;
  }
  std::uint32_t use(ValueId v) const {
    FABFORGE_CHECK(v < vreg_of_.size() && vreg_of_[v] != kNone, "bytecode: value %" + std::to_string(v) + " unset");
    return vreg_of_[v];
  }
  std::uint32_t def(ValueId v) {
    const std::uint32_t r = new_vreg(fn_.value_types[v]);
    vreg_of_[v] = r;
    return r;
  }
  bool is_f(ValueId v) const { return fn_.value_types[v] == ScalarType::f32; }

  // ---- emission ----
  std::uint32_t here() const { return static_cast<std::uint32_t>(code_.instrs.size()); }
  std::uint32_t emit(Instr in) {
    code_.instrs.push_back(in);
    pos_span_.push_back(cur_span_);
    return here() - 1;
  }
  std::uint32_t emit_op(Opc op, std::uint32_t dst, std::uint32_t a = 0, std::uint32_t b = 0, std::uint32_t c = 0) {
    Instr in;
    in.op = op;
    in.dst = dst;
    in.a = a;
    in.b = b;
    in.c = c;
    return emit(in);
  }
  std::uint32_t push_extra(std::initializer_list<std::uint32_t> regs) {
    const auto at = static_cast<std::uint32_t>(code_.extra.size());
    code_.extra.insert(code_.extra.end(), regs);
    return at;
  }

  void block(const ir::Block& b) {
    cse_.emplace_back();
    for (const ir::Inst& inst : b.insts)
      if (!hoisted_.contains(&inst)) instruction(inst);
    cse_.pop_back();
  }

  void instruction(const ir::Inst& inst) {
    const auto& a = inst.args;
    switch (inst.op) {
      case Op::const_f:
        vreg_of_[inst.results[0]] = pinned(ScalarType::f32, Pin::constant, std::bit_cast<std::uint32_t>(inst.fimm));
        return;
      case Op::const_i:
      case Op::const_b:
        vreg_of_[inst.results[0]] = pinned(ScalarType::i32, Pin::constant, inst.imm);
        return;
      case Op::input:
        vreg_of_[inst.results[0]] = pinned(ScalarType::f32, Pin::input, inst.imm);
        return;
      case Op::query:
        vreg_of_[inst.results[0]] = pinned(ScalarType::f32, Pin::query, inst.imm);
        return;
      case Op::uniform:
        vreg_of_[inst.results[0]] = pinned(fn_.value_types[inst.results[0]], Pin::uniform, inst.imm);
        return;
      case Op::if_:
        emit_if(inst);
        return;
      case Op::loop:
        emit_loop(inst);
        return;
      case Op::select: {
        Instr in;
        in.op = is_f(inst.results[0]) ? Opc::select_f : Opc::select_i;
        in.c = use(a[0]);
        in.a = use(a[1]);
        in.b = use(a[2]);
        emit_pure(in, {}, inst.results);
        return;
      }
      case Op::fbm2:
      case Op::fbm3: {
        const bool three = inst.op == Op::fbm3;
        Instr in;
        in.op = three ? Opc::fbm3 : Opc::fbm2;
        in.flag = inst.imm != 0 ? 1 : 0;
        in.a = use(a[0]);
        in.b = use(a[1]);
        if (three) in.c = use(a[2]);
        const std::size_t o = three ? 3 : 2;
        emit_pure(in, {use(a[o]), use(a[o + 1]), use(a[o + 2])}, inst.results);
        return;
      }
      case Op::cellular2:
      case Op::cellular3: {
        Instr in;
        in.op = inst.op == Op::cellular3 ? Opc::cellular3 : Opc::cellular2;
        in.a = use(a[0]);
        in.b = use(a[1]);
        if (inst.op == Op::cellular3) in.c = use(a[2]);
        emit_pure(in, {}, inst.results);
        return;
      }
      case Op::tex_sample:
      case Op::tex_lod: {
        // not shared between calls: the host is asked once per call, as the reference does
        Instr in;
        in.op = inst.op == Op::tex_lod ? Opc::tex_lod : Opc::tex_sample;
        in.imm = inst.imm;
        in.a = use(a[0]);
        in.b = use(a[1]);
        if (inst.op == Op::tex_lod) in.c = use(a[2]);
        in.x = push_extra({def(inst.results[0]), def(inst.results[1]), def(inst.results[2]), def(inst.results[3])});
        emit(in);
        return;
      }
      default: {
        Instr in;
        in.op = simple_opc(inst.op);
        if (!a.empty()) in.a = use(a[0]);
        if (a.size() > 1) in.b = use(a[1]);
        if (a.size() > 2) in.c = use(a[2]);
        emit_pure(in, {}, inst.results);
        return;
      }
    }
  }

  // Emits a pure instruction (operands set, results not yet), or reuses the results of the same
  // instruction on the same registers emitted earlier in this block or an enclosing one (the
  // lowering inlines every call, so repeated subexpressions are common).
  void emit_pure(Instr in, std::initializer_list<std::uint32_t> extra_reads, const std::vector<ValueId>& results) {
    CseKey key{};
    key[0] = static_cast<std::uint32_t>(in.op);
    key[1] = in.flag;
    key[2] = in.a;
    key[3] = in.b;
    key[4] = in.c;
    std::size_t k = 5;
    for (std::uint32_t r : extra_reads) key[k++] = r;
    for (auto scope = cse_.rbegin(); scope != cse_.rend(); ++scope) {
      if (auto it = scope->find(key); it != scope->end()) {
        for (std::size_t j = 0; j < results.size(); ++j) vreg_of_[results[j]] = it->second[j];
        return;
      }
    }
    if (extra_reads.size() > 0) in.x = push_extra(extra_reads);
    in.dst = def(results[0]);
    if (results.size() > 1) in.x = def(results[1]);  // cellular: f2
    emit(in);
    std::vector<std::uint32_t> defined;
    for (ValueId r : results) defined.push_back(vreg_of_[r]);
    cse_.back().emplace(key, std::move(defined));
  }

  void emit_if(const ir::Inst& inst) {
    const std::uint32_t c = use(inst.args[0]);
    const ir::Block& then_b = inst.blocks[0];
    const ir::Block& else_b = inst.blocks[1];
    if (then_b.insts.empty() && else_b.insts.empty()) {
      for (std::size_t k = 0; k < inst.results.size(); ++k) {
        Instr in;
        in.op = is_f(inst.results[k]) ? Opc::select_f : Opc::select_i;
        in.c = c;
        in.a = use(then_b.yields[k]);
        in.b = use(else_b.yields[k]);
        emit_pure(in, {}, {inst.results[k]});
      }
      return;
    }
    if (!invariant_[inst.args[0]] && cheap(then_b) && cheap(else_b)) {
      // If-conversion: both sides on every lane, then selects (cheaper than masks for short
      // sides; every instruction is total, so running a side a lane did not take is harmless).
      block(then_b);
      block(else_b);
      for (std::size_t k = 0; k < inst.results.size(); ++k) {
        Instr in;
        in.op = is_f(inst.results[k]) ? Opc::select_f : Opc::select_i;
        in.c = c;
        in.a = use(then_b.yields[k]);
        in.b = use(else_b.yields[k]);
        emit_pure(in, {}, {inst.results[k]});
      }
      return;
    }
    std::vector<std::uint32_t> results;
    for (ValueId r : inst.results) results.push_back(new_vreg(fn_.value_types[r]));
    auto moves = [&](const ir::Block& side, Opc opc_f, Opc opc_i) {
      for (std::size_t k = 0; k < results.size(); ++k)
        emit_op(is_f(inst.results[k]) ? opc_f : opc_i, results[k], use(side.yields[k]), 0, c);
    };
    if (invariant_[inst.args[0]]) {
      const std::uint32_t skip_then = emit_op(Opc::jump_ifnot, 0, c);
      block(then_b);
      moves(then_b, Opc::mov_f, Opc::mov_i);
      const std::uint32_t skip_else = emit_op(Opc::jump, 0);
      code_.instrs[skip_then].imm = here();
      block(else_b);
      moves(else_b, Opc::mov_f, Opc::mov_i);
      code_.instrs[skip_else].imm = here();
    } else {
      ++depth_;
      code_.max_depth = std::max(code_.max_depth, depth_);
      const std::uint32_t begin = emit_op(Opc::if_begin, 0, c);
      block(then_b);
      moves(then_b, Opc::mov_if_f, Opc::mov_if_i);
      code_.instrs[begin].imm = here();
      const std::uint32_t other = emit_op(Opc::if_else, 0, c);
      block(else_b);
      moves(else_b, Opc::mov_ifnot_f, Opc::mov_ifnot_i);
      code_.instrs[other].imm = here();
      emit_op(Opc::if_end, 0);
      --depth_;
    }
    for (std::size_t k = 0; k < results.size(); ++k) vreg_of_[inst.results[k]] = results[k];
  }

  void emit_loop(const ir::Inst& inst) {
    const ir::Block& cond = inst.blocks[0];
    const ir::Block& body = inst.blocks[1];
    const bool uniform = invariant_[cond.yields[0]];
    hoist(cond);
    hoist(body);
    std::vector<std::uint32_t> carried;
    for (std::size_t k = 0; k < inst.args.size(); ++k) {
      const std::uint32_t init = use(inst.args[k]);
      const std::uint32_t r = new_vreg(fn_.value_types[inst.results[k]]);
      carried.push_back(r);
      emit_op(is_f(inst.results[k]) ? Opc::mov_f : Opc::mov_i, r, init);
      vreg_of_[inst.results[k]] = vreg_of_[cond.params[k]] = vreg_of_[body.params[k]] = r;
    }
    const auto index = static_cast<std::uint32_t>(code_.loops.size());
    code_.loops.push_back({where_of(fn_, inst.range)});

    const int span = static_cast<int>(spans_.size());
    spans_.push_back({here(), 0, cur_span_});
    cur_span_ = span;
    if (!uniform) {
      ++depth_;
      code_.max_depth = std::max(code_.max_depth, depth_);
    }
    Instr begin;
    begin.op = uniform ? Opc::uloop_begin : Opc::loop_begin;
    begin.x = index;
    emit(begin);
    const std::uint32_t top = here();
    block(cond);
    Instr test;
    test.op = uniform ? Opc::uloop_test : Opc::loop_test;
    test.a = use(cond.yields[0]);
    test.x = index;
    const std::uint32_t test_at = emit(test);
    block(body);
    std::vector<std::pair<std::uint32_t, std::uint32_t>> moves;  // (dst, src)
    for (std::size_t k = 0; k < carried.size(); ++k) {
      const std::uint32_t src = use(body.yields[k]);
      if (src != carried[k]) moves.emplace_back(carried[k], src);
    }
    parallel_moves(std::move(moves), uniform);
    Instr back;
    back.op = Opc::jump;
    back.imm = top;
    spans_[static_cast<std::size_t>(span)].end = emit(back);
    code_.instrs[test_at].imm = here();
    cur_span_ = spans_[static_cast<std::size_t>(span)].parent;
    if (!uniform) {
      emit_op(Opc::loop_end, 0);
      --depth_;
    }
  }

  /// A block short and light enough to run on lanes that did not take it: a few arithmetic
  /// instructions, no noise, textures or control flow.
  static bool cheap(const ir::Block& b) {
    constexpr std::size_t kMaxInstructions = 12;
    if (b.insts.size() > kMaxInstructions) return false;
    return std::all_of(b.insts.begin(), b.insts.end(), [](const ir::Inst& inst) {
      switch (inst.op) {
        case Op::if_:
        case Op::loop:
        case Op::noise2:
        case Op::noise3:
        case Op::fbm2:
        case Op::fbm3:
        case Op::cellular2:
        case Op::cellular3:
        case Op::tex_sample:
        case Op::tex_lod:
          return false;
        default:
          return true;
      }
    });
  }

  // Loop-invariant code motion: emits before the loop the instructions of its blocks (not of
  // nested ones) whose arguments are all defined outside it. Every instruction is total and pure,
  // so running one that the loop would not have reached changes no result. Textures stay (their
  // lod depends on the lanes active at the call).
  void hoist(const ir::Block& b) {
    for (const ir::Inst& inst : b.insts) {
      if (inst.op == Op::if_ || inst.op == Op::loop || inst.op == Op::tex_sample || inst.op == Op::tex_lod) continue;
      const bool outside = std::all_of(inst.args.begin(), inst.args.end(),
                                       [&](ValueId v) { return v < vreg_of_.size() && vreg_of_[v] != kNone; });
      if (!outside) continue;
      instruction(inst);
      hoisted_.insert(&inst);
    }
  }

  // Moves src -> dst for every pair as if all at once; a cycle goes through a temporary.
  void parallel_moves(std::vector<std::pair<std::uint32_t, std::uint32_t>> moves, bool all_lanes) {
    // A move may run once no pending move reads its destination; what is left then is cycles,
    // and a cycle opens by saving one destination in a temporary. Linear in the moves.
    std::unordered_map<std::uint32_t, std::size_t> writer;                // dst -> move
    std::unordered_map<std::uint32_t, std::vector<std::size_t>> readers;  // src -> pending moves
    for (std::size_t k = 0; k < moves.size(); ++k) {
      writer[moves[k].first] = k;
      readers[moves[k].second].push_back(k);
    }
    std::unordered_map<std::uint32_t, std::size_t> reads;  // pending reads of each register
    for (const auto& m : moves) ++reads[m.second];
    std::vector<bool> done(moves.size(), false);
    std::vector<std::size_t> ready;
    for (std::size_t k = 0; k < moves.size(); ++k)
      if (reads[moves[k].first] == 0) ready.push_back(k);
    std::size_t remaining = moves.size(), scan = 0;
    while (remaining > 0) {
      if (ready.empty()) {
        while (done[scan]) ++scan;
        const std::uint32_t dst = moves[scan].first;
        const std::uint32_t tmp = new_vreg(vregs_[dst].type);
        emit_op(vregs_[dst].file == File::f ? Opc::mov_f : Opc::mov_i, tmp, dst);
        for (std::size_t r : readers[dst]) {
          if (done[r]) continue;
          moves[r].second = tmp;
          ++reads[tmp];
        }
        reads[dst] = 0;
        ready.push_back(scan);
      }
      const std::size_t k = ready.back();
      ready.pop_back();
      const auto [dst, src] = moves[k];
      const bool f = vregs_[dst].file == File::f;
      emit_op(all_lanes ? (f ? Opc::mov_f : Opc::mov_i) : (f ? Opc::mov_mask_f : Opc::mov_mask_i), dst, src);
      done[k] = true;
      --remaining;
      if (--reads[src] == 0) {
        if (auto w = writer.find(src); w != writer.end() && !done[w->second]) ready.push_back(w->second);
      }
    }
  }

  // ---- registers ----
  void pin_registers() {
    std::uint32_t nf = 0, ni = 0;
    auto next = [&](File f) { return f == File::f ? nf++ : ni++; };
    // constants, then uniforms, inputs and queries, each group in order of its key
    for (Pin group : {Pin::constant, Pin::uniform, Pin::input, Pin::query}) {
      for (const auto& [key, v] : pinned_) {
        if (std::get<0>(key) != static_cast<int>(group)) continue;
        VReg& r = vregs_[v];
        r.reg = next(r.file);
        switch (group) {
          case Pin::constant:
            (r.file == File::f ? code_.f_consts : code_.i_consts).push_back({r.reg, r.key});
            break;
          case Pin::uniform:
            code_.uniforms.push_back({r.reg, r.type, r.key});
            break;
          case Pin::input:
            code_.inputs.push_back({r.reg, r.key});
            break;
          case Pin::query:
            code_.queries.push_back({r.reg, r.key});
            break;
          case Pin::none:
            break;
        }
      }
    }
    code_.f_pinned = code_.f_regs = nf;
    code_.i_pinned = code_.i_regs = ni;
  }

  void liveness() {
    // def = first access, end = last access
    for (std::uint32_t pos = 0; pos < code_.instrs.size(); ++pos) {
      for_operands(code_.instrs[pos], code_.extra, [&](std::uint32_t& v, File, bool) {
        VReg& r = vregs_[v];
        if (r.pin != Pin::none) return;
        if (r.def == kNone) r.def = pos;
        r.end = std::max(r.end, pos);
      });
    }
    // the outputs are read after the last instruction
    const auto end_of_code = static_cast<std::uint32_t>(code_.instrs.size());
    for (const TypedReg& o : code_.outputs)
      if (vregs_[o.reg].pin == Pin::none) vregs_[o.reg].end = end_of_code;
    // an access inside a loop that does not contain the definition keeps the register to the
    // end of that loop (the next iteration needs it again)
    for (std::uint32_t pos = 0; pos < code_.instrs.size(); ++pos) {
      const int inner = pos_span_[pos];
      if (inner < 0) continue;
      for_operands(code_.instrs[pos], code_.extra, [&](std::uint32_t& v, File, bool) {
        VReg& r = vregs_[v];
        if (r.pin != Pin::none) return;
        for (int s = inner; s >= 0 && spans_[static_cast<std::size_t>(s)].start > r.def;
             s = spans_[static_cast<std::size_t>(s)].parent)
          r.end = std::max(r.end, spans_[static_cast<std::size_t>(s)].end);
      });
    }
  }

  void allocate() {
    std::vector<std::uint32_t> order;
    for (std::uint32_t v = 0; v < vregs_.size(); ++v)
      if (vregs_[v].pin == Pin::none && vregs_[v].def != kNone) order.push_back(v);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::uint32_t x, std::uint32_t y) { return vregs_[x].def < vregs_[y].def; });
    using Ending = std::pair<std::uint32_t, std::uint32_t>;  // (end, vreg)
    std::priority_queue<Ending, std::vector<Ending>, std::greater<>> active;
    std::priority_queue<std::uint32_t, std::vector<std::uint32_t>, std::greater<>> free_f, free_i;
    for (std::uint32_t v : order) {
      VReg& r = vregs_[v];
      // strictly before: a register read at this position is not reused for its result
      while (!active.empty() && active.top().first < r.def) {
        const VReg& done = vregs_[active.top().second];
        (done.file == File::f ? free_f : free_i).push(done.reg);
        active.pop();
      }
      auto& pool = r.file == File::f ? free_f : free_i;
      if (!pool.empty()) {
        r.reg = pool.top();
        pool.pop();
      } else {
        r.reg = r.file == File::f ? code_.f_regs++ : code_.i_regs++;
      }
      active.emplace(r.end, v);
    }
  }

  void rewrite() {
    for (Instr& in : code_.instrs)
      for_operands(in, code_.extra, [&](std::uint32_t& v, File, bool) { v = vregs_[v].reg; });
    for (TypedReg& o : code_.outputs) o.reg = vregs_[o.reg].reg;
  }

  const ir::Function& fn_;
  std::vector<bool> invariant_;
  std::vector<std::uint32_t> vreg_of_;
  std::vector<VReg> vregs_;
  std::map<std::tuple<int, int, std::uint32_t>, std::uint32_t> pinned_;
  using CseKey = std::array<std::uint32_t, 8>;  // opcode, flag, a, b, c, extra reads
  std::vector<std::map<CseKey, std::vector<std::uint32_t>>> cse_;
  std::set<const ir::Inst*> hoisted_;
  std::vector<Span> spans_;
  std::vector<int> pos_span_;
  int cur_span_ = -1;
  std::uint32_t depth_ = 0;
  Code code_;
};

// ---------------------------------------------------------------------------------------------
// dump

std::string reg_name(File f, std::uint32_t r) { return (f == File::f ? "f" : "i") + std::to_string(r); }

std::string float_text(std::uint32_t bits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(std::bit_cast<float>(bits)));
  return buf;
}


std::string instr_text(const Code& code, std::uint32_t pos, std::vector<std::uint32_t>& extra) {
  Instr in = code.instrs[pos];
  std::vector<std::string> reads, writes;
  for_operands(in, extra, [&](std::uint32_t& v, File f, bool w) { (w ? writes : reads).push_back(reg_name(f, v)); });
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (std::size_t k = 0; k < v.size(); ++k) s += (k > 0 ? ", " : "") + v[k];
    return s;
  };
  std::string s;
  if (!writes.empty()) s += join(writes) + " = ";
  s += opc_name(in.op);
  if (in.op == Opc::fbm2 || in.op == Opc::fbm3) s += in.flag != 0 ? "[turbulence]" : "[fbm]";
  if (in.op == Opc::tex_sample || in.op == Opc::tex_lod) s += "[slot " + std::to_string(in.imm) + "]";
  if (!reads.empty()) s += " " + join(reads);
  switch (in.op) {
    case Opc::jump:
    case Opc::jump_ifnot:
    case Opc::if_begin:
    case Opc::if_else:
    case Opc::uloop_test:
    case Opc::loop_test:
      s += " -> " + std::to_string(in.imm);
      break;
    default:
      break;
  }
  if (in.op == Opc::loop_begin || in.op == Opc::uloop_begin) {
    s += " L" + std::to_string(in.x);
    const std::string& where = code.loops[in.x].where;
    if (!where.empty()) s += " (" + where + ")";
  }
  if (in.op == Opc::loop_test || in.op == Opc::uloop_test) s += " L" + std::to_string(in.x);
  return s;
}

}  // namespace

const char* opc_name(Opc op) {
  static constexpr const char* kNames[] = {
      "fadd",     "fsub",     "fmul",        "fdiv",        "fneg",       "fabs",       "fsign",       "fmin",
      "fmax",     "ffloor",   "fceil",       "fround",      "ftrunc",     "ffract",     "fmod",        "fsqrt",
      "finvsqrt", "fpow",     "fexp",        "fexp2",       "flog",       "flog2",      "fsin",        "fcos",
      "ftan",     "fasin",    "facos",       "fatan",       "fatan2",     "fstep",      "fsmoothstep", "iadd",
      "isub",     "imul",     "idiv",        "imod",        "ineg",       "iabs",       "isign",       "imin",
      "imax",     "flt",      "fle",         "feq",         "fne",        "ilt",        "ile",         "ieq",
      "ine",      "beq",      "bne",         "band",        "bor",        "bnot",       "select_f",    "select_i",
      "itof",     "ftoi",     "btoi",        "btof",        "ftob",       "itob",       "noise2",      "noise3",
      "fbm2",     "fbm3",     "cellular2",   "cellular3",   "tex_sample", "tex_lod",    "mov_f",       "mov_i",
      "mov_if_f", "mov_if_i", "mov_ifnot_f", "mov_ifnot_i", "mov_mask_f", "mov_mask_i", "jump",        "jump_ifnot",
      "if_begin", "if_else",  "if_end",      "uloop_begin", "uloop_test", "loop_begin", "loop_test",   "loop_end"};
  static_assert(sizeof kNames / sizeof kNames[0] == static_cast<std::size_t>(Opc::loop_end) + 1);
  return kNames[static_cast<std::size_t>(op)];
}

std::shared_ptr<const Code> assemble(const ir::Function& fn, const std::vector<bool>& uniformity) {
  (void)uniformity;
  FABFORGE_CHECK(uniformity.empty() || uniformity.size() == fn.value_types.size(), "uniformity size");
  return Assembler(fn, uniformity).run();
}

std::string dump(const Code& code) {
  std::string s = "bytecode: " + std::to_string(code.instrs.size()) + " instructions, registers f" +
                  std::to_string(code.f_regs) + " (" + std::to_string(code.f_pinned) + " pinned) i" +
                  std::to_string(code.i_regs) + " (" + std::to_string(code.i_pinned) + " pinned), mask depth " +
                  std::to_string(code.max_depth) + "\n";
  for (const RegConst& c : code.f_consts)
    s += "  " + reg_name(File::f, c.reg) + " = const " + float_text(c.bits) + "\n";
  for (const RegConst& c : code.i_consts)
    s += "  " + reg_name(File::i, c.reg) + " = const " + std::to_string(static_cast<std::int32_t>(c.bits)) + "\n";
  for (const RegUniform& u : code.uniforms)
    s += "  " + reg_name(file_of(u.type), u.reg) + " = uniform #" + std::to_string(u.column) + " " + std::string(ir::type_name(u.type)) +
         "\n";
  for (const RegColumn& c : code.inputs)
    s += "  " + reg_name(File::f, c.reg) + " = input #" + std::to_string(c.column) + "\n";
  if (code.query_count > 0) s += "  surface query: " + std::to_string(code.query_count) + " columns per lane\n";
  for (const RegColumn& c : code.queries)
    s += "  " + reg_name(File::f, c.reg) + " = query #" + std::to_string(c.column) + "\n";
  char num[16];
  std::vector<std::uint32_t> extra = code.extra;  // for_operands takes fields by reference
  for (std::uint32_t pos = 0; pos < code.instrs.size(); ++pos) {
    std::snprintf(num, sizeof num, "%4u: ", pos);
    s += num + instr_text(code, pos, extra) + "\n";
  }
  for (std::size_t k = 0; k < code.outputs.size(); ++k)
    s += "  out " + std::to_string(k) + " = " + reg_name(file_of(code.outputs[k].type), code.outputs[k].reg) + "\n";
  return s;
}

}  // namespace fabforge::openfl::bytecode
