// IR passes: uniform specialisation, constant folding, dead-code elimination, uniformity.
//
// Constant folding evaluates with the scalar functions every interpreter uses (scalar_math.hpp,
// noise.hpp), so folding never changes a result bit. The only algebraic rewrites are the ones
// that are exact for every input: boolean identities (b && true = b, ...), selects with a
// constant condition or identical arms, and ifs with a constant condition. Arithmetic identities
// such as x + 0 = x are deliberately not applied (wrong for x = -0) and neither is x * 1 (it
// is exact, but buys little once uniforms are folded).
//
// Dead-code elimination removes a loop whose results are all unused, together with the runtime
// error it might have raised on hitting the iteration cap: a dead loop has no observable output,
// and the cap is a guard against hangs, not a result.

#include <algorithm>
#include <bit>
#include <cstdint>
#include <string>
#include <vector>

#include "fabforge/core/error.hpp"
#include "fabforge/openfl/ir.hpp"
#include "fabforge/openfl/noise.hpp"
#include "fabforge/openfl/scalar_math.hpp"

#include "lower_internal.hpp"

namespace fabforge::openfl::ir {

namespace {

float as_f(std::uint32_t b) { return std::bit_cast<float>(b); }
std::int32_t as_i(std::uint32_t b) { return static_cast<std::int32_t>(b); }
std::uint32_t of_f(float f) { return std::bit_cast<std::uint32_t>(f); }
std::uint32_t of_i(std::int32_t i) { return static_cast<std::uint32_t>(i); }
std::uint32_t of_b(bool b) { return b ? 1u : 0u; }

/// Evaluates a foldable non-leaf op on constant argument bits; false when it cannot.
bool evaluate(const Inst& inst, const std::vector<std::uint32_t>& a, std::vector<std::uint32_t>& r) {
  r.clear();
  auto f = [&](std::size_t k) { return as_f(a[k]); };
  auto i = [&](std::size_t k) { return as_i(a[k]); };
  auto b = [&](std::size_t k) { return a[k] != 0; };
  // clang-format off
  switch (inst.op) {
    case Op::fadd: r = {of_f(f(0) + f(1))}; break;
    case Op::fsub: r = {of_f(f(0) - f(1))}; break;
    case Op::fmul: r = {of_f(f(0) * f(1))}; break;
    case Op::fdiv: r = {of_f(f(0) / f(1))}; break;
    case Op::fneg: r = {of_f(-f(0))}; break;
    case Op::fabs: r = {of_f(sm::fabs(f(0)))}; break;
    case Op::fsign: r = {of_f(sm::fsign(f(0)))}; break;
    case Op::fmin: r = {of_f(sm::fmin(f(0), f(1)))}; break;
    case Op::fmax: r = {of_f(sm::fmax(f(0), f(1)))}; break;
    case Op::ffloor: r = {of_f(sm::ffloor(f(0)))}; break;
    case Op::fceil: r = {of_f(sm::fceil(f(0)))}; break;
    case Op::fround: r = {of_f(sm::fround(f(0)))}; break;
    case Op::ftrunc: r = {of_f(sm::ftrunc(f(0)))}; break;
    case Op::ffract: r = {of_f(sm::ffract(f(0)))}; break;
    case Op::fmod: r = {of_f(sm::fmod(f(0), f(1)))}; break;
    case Op::fsqrt: r = {of_f(sm::fsqrt(f(0)))}; break;
    case Op::finvsqrt: r = {of_f(sm::finvsqrt(f(0)))}; break;
    case Op::fpow: r = {of_f(sm::fpow(f(0), f(1)))}; break;
    case Op::fexp: r = {of_f(sm::fexp(f(0)))}; break;
    case Op::fexp2: r = {of_f(sm::fexp2(f(0)))}; break;
    case Op::flog: r = {of_f(sm::flog(f(0)))}; break;
    case Op::flog2: r = {of_f(sm::flog2(f(0)))}; break;
    case Op::fsin: r = {of_f(sm::fsin(f(0)))}; break;
    case Op::fcos: r = {of_f(sm::fcos(f(0)))}; break;
    case Op::ftan: r = {of_f(sm::ftan(f(0)))}; break;
    case Op::fasin: r = {of_f(sm::fasin(f(0)))}; break;
    case Op::facos: r = {of_f(sm::facos(f(0)))}; break;
    case Op::fatan: r = {of_f(sm::fatan(f(0)))}; break;
    case Op::fatan2: r = {of_f(sm::fatan2(f(0), f(1)))}; break;
    case Op::fstep: r = {of_f(sm::fstep(f(0), f(1)))}; break;
    case Op::fsmoothstep: r = {of_f(sm::fsmoothstep(f(0), f(1), f(2)))}; break;
    case Op::iadd: r = {of_i(sm::iadd(i(0), i(1)))}; break;
    case Op::isub: r = {of_i(sm::isub(i(0), i(1)))}; break;
    case Op::imul: r = {of_i(sm::imul(i(0), i(1)))}; break;
    case Op::idiv: r = {of_i(sm::idiv(i(0), i(1)))}; break;
    case Op::imod: r = {of_i(sm::imod(i(0), i(1)))}; break;
    case Op::ineg: r = {of_i(sm::ineg(i(0)))}; break;
    case Op::iabs: r = {of_i(sm::iabs(i(0)))}; break;
    case Op::isign: r = {of_i(sm::isign(i(0)))}; break;
    case Op::imin: r = {of_i(sm::imin(i(0), i(1)))}; break;
    case Op::imax: r = {of_i(sm::imax(i(0), i(1)))}; break;
    case Op::flt: r = {of_b(f(0) < f(1))}; break;
    case Op::fle: r = {of_b(f(0) <= f(1))}; break;
    case Op::feq: r = {of_b(f(0) == f(1))}; break;
    case Op::fne: r = {of_b(f(0) != f(1))}; break;
    case Op::ilt: r = {of_b(i(0) < i(1))}; break;
    case Op::ile: r = {of_b(i(0) <= i(1))}; break;
    case Op::ieq: r = {of_b(i(0) == i(1))}; break;
    case Op::ine: r = {of_b(i(0) != i(1))}; break;
    case Op::beq: r = {of_b(b(0) == b(1))}; break;
    case Op::bne: r = {of_b(b(0) != b(1))}; break;
    case Op::band: r = {of_b(b(0) && b(1))}; break;
    case Op::bor: r = {of_b(b(0) || b(1))}; break;
    case Op::bnot: r = {of_b(!b(0))}; break;
    case Op::select: r = {b(0) ? a[1] : a[2]}; break;
    case Op::itof: r = {of_f(sm::itof(i(0)))}; break;
    case Op::ftoi: r = {of_i(sm::ftoi(f(0)))}; break;
    case Op::btoi: r = {of_i(b(0) ? 1 : 0)}; break;
    case Op::btof: r = {of_f(b(0) ? 1.0f : 0.0f)}; break;
    case Op::ftob: r = {of_b(f(0) != 0.0f)}; break;
    case Op::itob: r = {of_b(i(0) != 0)}; break;
    case Op::noise2: r = {of_f(noise::perlin2(f(0), f(1)))}; break;
    case Op::noise3: r = {of_f(noise::perlin3(f(0), f(1), f(2)))}; break;
    case Op::fbm2: r = {of_f(noise::fbm2(f(0), f(1), i(2), f(3), f(4), inst.imm != 0))}; break;
    case Op::fbm3: r = {of_f(noise::fbm3(f(0), f(1), f(2), i(3), f(4), f(5), inst.imm != 0))}; break;
    case Op::cellular2: {
      float f1 = 0, f2 = 0;
      noise::cellular2(f(0), f(1), f1, f2);
      r = {of_f(f1), of_f(f2)};
      break;
    }
    case Op::cellular3: {
      float f1 = 0, f2 = 0;
      noise::cellular3(f(0), f(1), f(2), f1, f2);
      r = {of_f(f1), of_f(f2)};
      break;
    }
    default:
      return false;
  }
  // clang-format on
  return true;
}

Inst make_const(ScalarType t, std::uint32_t bits, ValueId result) {
  Inst c;
  c.op = t == ScalarType::f32 ? Op::const_f : (t == ScalarType::i32 ? Op::const_i : Op::const_b);
  if (t == ScalarType::f32) {
    c.fimm = as_f(bits);
  } else {
    c.imm = bits;
  }
  c.results = {result};
  return c;
}

std::uint32_t const_bits(const Inst& inst) { return inst.op == Op::const_f ? of_f(inst.fimm) : inst.imm; }

template <class T>
void erase_indices(std::vector<T>& v, const std::vector<bool>& drop) {
  std::size_t w = 0;
  for (std::size_t k = 0; k < v.size(); ++k)
    if (!drop[k]) v[w++] = std::move(v[k]);
  v.resize(w);
}

// ---------------------------------------------------------------------------------------------

class Folder {
 public:
  explicit Folder(Function& fn)
      : fn_(fn),
        repl_(fn.value_types.size(), kNoValue),
        known_(fn.value_types.size(), 0),
        bits_(fn.value_types.size(), 0) {}

  void block(Block& b) {
    std::vector<Inst> out;
    out.reserve(b.insts.size());
    for (Inst& inst : b.insts) instruction(std::move(inst), out);
    b.insts = std::move(out);
    for (ValueId& y : b.yields) y = resolve(y);
  }

 private:
  ValueId resolve(ValueId v) const {
    while (v < repl_.size() && repl_[v] != kNoValue) v = repl_[v];
    return v;
  }
  bool known(ValueId v) const { return v < known_.size() && known_[v] != 0; }
  void set_known(ValueId v, std::uint32_t bits) {
    known_[v] = 1;
    bits_[v] = bits;
  }
  void replace(ValueId from, ValueId to) {
    if (from != to) repl_[from] = to;
  }
  void emit_const(ValueId result, std::uint32_t bits, std::vector<Inst>& out) {
    out.push_back(make_const(fn_.value_types[result], bits, result));
    set_known(result, bits);
  }

  // Re-applies the substitution inside blocks already folded (after loop-carried values vanish).
  void resubstitute(Block& b) {
    for (Inst& inst : b.insts) {
      for (ValueId& a : inst.args) a = resolve(a);
      for (Block& nested : inst.blocks) resubstitute(nested);
    }
    for (ValueId& y : b.yields) y = resolve(y);
  }

  void instruction(Inst inst, std::vector<Inst>& out) {
    for (ValueId& a : inst.args) a = resolve(a);
    switch (inst.op) {
      case Op::const_f:
      case Op::const_i:
      case Op::const_b:
        set_known(inst.results[0], const_bits(inst));
        out.push_back(std::move(inst));
        return;
      case Op::if_:
        fold_if(std::move(inst), out);
        return;
      case Op::loop:
        fold_loop(std::move(inst), out);
        return;
      case Op::select:
        if (known(inst.args[0])) {
          replace(inst.results[0], inst.args[bits_[inst.args[0]] != 0 ? 1 : 2]);
          return;
        }
        if (inst.args[1] == inst.args[2]) {
          replace(inst.results[0], inst.args[1]);
          return;
        }
        if (known(inst.args[1]) && known(inst.args[2]) && bits_[inst.args[1]] == bits_[inst.args[2]]) {
          emit_const(inst.results[0], bits_[inst.args[1]], out);
          return;
        }
        out.push_back(std::move(inst));
        return;
      case Op::band:
      case Op::bor:
        if (fold_logic(inst, out)) return;
        break;
      default:
        break;
    }
    if (!is_foldable(inst.op) || inst.args.empty()) {
      out.push_back(std::move(inst));
      return;
    }
    std::vector<std::uint32_t> args;
    for (ValueId a : inst.args) {
      if (!known(a)) {
        out.push_back(std::move(inst));
        return;
      }
      args.push_back(bits_[a]);
    }
    std::vector<std::uint32_t> results;
    if (!evaluate(inst, args, results) || results.size() != inst.results.size()) {
      out.push_back(std::move(inst));
      return;
    }
    for (std::size_t k = 0; k < results.size(); ++k) emit_const(inst.results[k], results[k], out);
  }

  // b && true = b, b && false = false, b || false = b, b || true = true (exact for booleans).
  bool fold_logic(const Inst& inst, std::vector<Inst>& out) {
    const bool is_and = inst.op == Op::band;
    for (int k = 0; k < 2; ++k) {
      const ValueId c = inst.args[k], other = inst.args[1 - k];
      if (!known(c)) continue;
      const bool v = bits_[c] != 0;
      if (v == is_and) {
        replace(inst.results[0], other);
      } else {
        emit_const(inst.results[0], of_b(v), out);
      }
      return true;
    }
    if (inst.args[0] == inst.args[1]) {
      replace(inst.results[0], inst.args[0]);
      return true;
    }
    return false;
  }

  void fold_if(Inst inst, std::vector<Inst>& out) {
    const ValueId c = inst.args[0];
    if (known(c)) {
      Block& taken = inst.blocks[bits_[c] != 0 ? 0 : 1];
      block(taken);
      for (Inst& nested : taken.insts) out.push_back(std::move(nested));
      for (std::size_t k = 0; k < inst.results.size(); ++k) replace(inst.results[k], resolve(taken.yields[k]));
      return;
    }
    block(inst.blocks[0]);
    block(inst.blocks[1]);
    std::vector<bool> drop(inst.results.size(), false);
    std::vector<Inst> consts;
    for (std::size_t k = 0; k < inst.results.size(); ++k) {
      const ValueId y0 = inst.blocks[0].yields[k], y1 = inst.blocks[1].yields[k];
      if (y0 == y1) {
        replace(inst.results[k], y0);
        drop[k] = true;
      } else if (known(y0) && known(y1) && bits_[y0] == bits_[y1]) {
        emit_const(inst.results[k], bits_[y0], consts);
        drop[k] = true;
      } else if (fn_.value_types[inst.results[k]] == ScalarType::b1 && known(y0) && known(y1)) {
        // if c {true} else {false} is c; the other way round it is !c
        if (bits_[y0] != 0) {
          replace(inst.results[k], c);
        } else {
          Inst neg;
          neg.op = Op::bnot;
          neg.args = {c};
          neg.results = {inst.results[k]};
          consts.push_back(std::move(neg));
        }
        drop[k] = true;
      }
    }
    erase_indices(inst.results, drop);
    erase_indices(inst.blocks[0].yields, drop);
    erase_indices(inst.blocks[1].yields, drop);
    out.push_back(std::move(inst));
    for (Inst& k : consts) out.push_back(std::move(k));
  }

  // True when the loop's condition is the constant false for its initial values.
  bool never_entered(const Inst& inst) {
    const std::vector<ValueId> saved_repl = repl_;
    const std::vector<std::uint8_t> saved_known = known_;
    const std::vector<std::uint32_t> saved_bits = bits_;
    Block cond = inst.blocks[0];
    for (std::size_t k = 0; k < cond.params.size(); ++k) replace(cond.params[k], inst.args[k]);
    cond.params.clear();
    block(cond);
    const ValueId c = cond.yields[0];
    const bool result = known(c) && bits_[c] == 0;
    repl_ = saved_repl;
    known_ = saved_known;
    bits_ = saved_bits;
    return result;
  }

  void fold_loop(Inst inst, std::vector<Inst>& out) {
    if (never_entered(inst)) {
      for (std::size_t k = 0; k < inst.results.size(); ++k) replace(inst.results[k], inst.args[k]);
      return;
    }
    Block& cond = inst.blocks[0];
    Block& body = inst.blocks[1];
    block(cond);
    block(body);
    // Carried values the body passes through unchanged (or resets to their initial value) are
    // their initial values throughout.
    std::vector<bool> drop(inst.args.size(), false);
    bool any = false;
    for (std::size_t k = 0; k < inst.args.size(); ++k) {
      if (body.yields[k] != body.params[k] && body.yields[k] != inst.args[k]) continue;
      drop[k] = true;
      any = true;
      replace(cond.params[k], inst.args[k]);
      replace(body.params[k], inst.args[k]);
      replace(inst.results[k], inst.args[k]);
    }
    if (any) {
      erase_indices(inst.args, drop);
      erase_indices(inst.results, drop);
      erase_indices(cond.params, drop);
      erase_indices(body.params, drop);
      erase_indices(body.yields, drop);
      resubstitute(cond);
      resubstitute(body);
    }
    out.push_back(std::move(inst));
  }

  Function& fn_;
  std::vector<ValueId> repl_;
  std::vector<std::uint8_t> known_;
  std::vector<std::uint32_t> bits_;
};

// ---------------------------------------------------------------------------------------------

class DeadCode {
 public:
  explicit DeadCode(Function& fn) : needed_(fn.value_types.size(), false) {}

  void run(Block& body) {
    for (ValueId y : body.yields) need(y);
    mark(body);
    sweep(body);
  }

 private:
  void need(ValueId v) {
    if (v < needed_.size() && !needed_[v]) {
      needed_[v] = true;
      changed_ = true;
    }
  }
  bool any_needed(const std::vector<ValueId>& vs) const {
    for (ValueId v : vs)
      if (v < needed_.size() && needed_[v]) return true;
    return false;
  }
  bool carried_live(const Inst& loop, std::size_t k) const {
    return needed_[loop.results[k]] || needed_[loop.blocks[0].params[k]] || needed_[loop.blocks[1].params[k]];
  }

  // Marks, walking backward, every value a needed value depends on (yields must be marked by the
  // caller).
  void mark(const Block& b) {
    for (auto it = b.insts.rbegin(); it != b.insts.rend(); ++it) {
      const Inst& inst = *it;
      if (!any_needed(inst.results)) continue;
      if (inst.op == Op::if_) {
        need(inst.args[0]);
        for (std::size_t k = 0; k < inst.results.size(); ++k) {
          if (!needed_[inst.results[k]]) continue;
          need(inst.blocks[0].yields[k]);
          need(inst.blocks[1].yields[k]);
        }
        mark(inst.blocks[0]);
        mark(inst.blocks[1]);
      } else if (inst.op == Op::loop) {
        // Fixed point over the back edge: a carried value is live when its result or either
        // block parameter is needed.
        const bool outer_changed = changed_;
        bool any = false;
        do {
          changed_ = false;
          need(inst.blocks[0].yields[0]);
          for (std::size_t k = 0; k < inst.args.size(); ++k) {
            if (!carried_live(inst, k)) continue;
            need(inst.results[k]);
            need(inst.blocks[0].params[k]);
            need(inst.blocks[1].params[k]);
            need(inst.blocks[1].yields[k]);
            need(inst.args[k]);
          }
          mark(inst.blocks[0]);
          mark(inst.blocks[1]);
          any = any || changed_;
        } while (changed_);
        changed_ = outer_changed || any;
      } else {
        for (ValueId a : inst.args) need(a);
      }
    }
  }

  void sweep(Block& b) {
    std::vector<Inst> out;
    out.reserve(b.insts.size());
    for (Inst& inst : b.insts) {
      if (!any_needed(inst.results)) continue;
      if (inst.op == Op::if_) {
        std::vector<bool> drop(inst.results.size());
        for (std::size_t k = 0; k < inst.results.size(); ++k) drop[k] = !needed_[inst.results[k]];
        erase_indices(inst.results, drop);
        erase_indices(inst.blocks[0].yields, drop);
        erase_indices(inst.blocks[1].yields, drop);
        sweep(inst.blocks[0]);
        sweep(inst.blocks[1]);
      } else if (inst.op == Op::loop) {
        std::vector<bool> drop(inst.results.size());
        for (std::size_t k = 0; k < inst.results.size(); ++k) drop[k] = !carried_live(inst, k);
        erase_indices(inst.results, drop);
        erase_indices(inst.args, drop);
        erase_indices(inst.blocks[0].params, drop);
        erase_indices(inst.blocks[1].params, drop);
        erase_indices(inst.blocks[1].yields, drop);
        sweep(inst.blocks[0]);
        sweep(inst.blocks[1]);
      }
      out.push_back(std::move(inst));
    }
    b.insts = std::move(out);
  }

  std::vector<bool> needed_;
  bool changed_ = false;
};

// ---------------------------------------------------------------------------------------------

class Uniformity {
 public:
  explicit Uniformity(const Function& fn) : u_(fn.value_types.size(), false) {}

  std::vector<bool> run(const Block& body) {
    block(body);
    return std::move(u_);
  }

 private:
  bool all(const std::vector<ValueId>& vs) const {
    for (ValueId v : vs)
      if (!u_[v]) return false;
    return true;
  }

  void block(const Block& b) {
    for (const Inst& inst : b.insts) instruction(inst);
  }

  void instruction(const Inst& inst) {
    switch (inst.op) {
      case Op::const_f:
      case Op::const_i:
      case Op::const_b:
      case Op::uniform:
        u_[inst.results[0]] = true;
        return;
      case Op::input:
      case Op::query:
      case Op::tex_sample:  // its lod depends on the lanes around it
      case Op::tex_lod:     // the host samples the active lanes only; the others hold stale values
        for (ValueId r : inst.results) u_[r] = false;
        return;
      case Op::if_: {
        block(inst.blocks[0]);
        block(inst.blocks[1]);
        const bool c = u_[inst.args[0]];
        for (std::size_t k = 0; k < inst.results.size(); ++k)
          u_[inst.results[k]] = c && u_[inst.blocks[0].yields[k]] && u_[inst.blocks[1].yields[k]];
        return;
      }
      case Op::loop: {
        const Block& cond = inst.blocks[0];
        const Block& body = inst.blocks[1];
        std::vector<bool> param(inst.args.size());
        for (std::size_t k = 0; k < param.size(); ++k) param[k] = u_[inst.args[k]];
        // Optimistic start, then lower to a fixed point (values only ever become varying).
        for (bool changed = true; changed;) {
          for (std::size_t k = 0; k < param.size(); ++k) {
            u_[cond.params[k]] = param[k];
            u_[body.params[k]] = param[k];
          }
          block(cond);
          block(body);
          changed = false;
          for (std::size_t k = 0; k < param.size(); ++k) {
            if (param[k] && !u_[body.yields[k]]) {
              param[k] = false;
              changed = true;
            }
          }
        }
        if (!u_[cond.yields[0]]) {
          // A divergent loop writes its carried values only on the lanes still running, so
          // lanes that left hold older values: inside and after it, they vary.
          std::fill(param.begin(), param.end(), false);
          for (std::size_t k = 0; k < param.size(); ++k) {
            u_[cond.params[k]] = false;
            u_[body.params[k]] = false;
          }
          block(cond);
          block(body);
        }
        for (std::size_t k = 0; k < param.size(); ++k) u_[inst.results[k]] = param[k];
        return;
      }
      default: {
        const bool u = all(inst.args);
        for (ValueId r : inst.results) u_[r] = u;
        return;
      }
    }
  }

  std::vector<bool> u_;
};

void specialize_block(Block& b, const UniformColumns& values, const Function& fn) {
  for (Inst& inst : b.insts) {
    for (Block& nested : inst.blocks) specialize_block(nested, values, fn);
    if (inst.op != Op::uniform) continue;
    FABFORGE_CHECK(inst.imm < values.bits.size() && inst.imm < values.types.size(),
                   "uniform column " + std::to_string(inst.imm) + " has no value");
    const ScalarType t = fn.value_types[inst.results[0]];
    FABFORGE_CHECK(values.types[inst.imm] == t, "uniform column " + std::to_string(inst.imm) + " type mismatch");
    inst = make_const(t, values.bits[inst.imm], inst.results[0]);
  }
}

}  // namespace

void specialize_uniforms(Function& fn, const UniformColumns& values) {
  specialize_block(fn.body, values, fn);
  fn.uniform_count = 0;
}

void fold_constants(Function& fn) { Folder(fn).block(fn.body); }

void eliminate_dead_code(Function& fn) { DeadCode(fn).run(fn.body); }

std::vector<bool> analyze_uniformity(const Function& fn) { return Uniformity(fn).run(fn.body); }

void optimize(Function& fn, int max_rounds) {
  std::string before = dump(fn);
  for (int round = 0; round < max_rounds; ++round) {
    fold_constants(fn);
    eliminate_dead_code(fn);
    std::string after = dump(fn);
    if (after == before) break;
    before = std::move(after);
  }
}

}  // namespace fabforge::openfl::ir
