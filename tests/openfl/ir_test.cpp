// Tests of the OpenFL IR: verifier, passes (folding, DCE, specialisation, uniformity) on hand-built
// IR, and the lowering of small programs, run by a small scalar IR evaluator written here.

#include "fabforge/openfl/ir.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "fabforge/core/error.hpp"
#include "fabforge/openfl/composite.hpp"
#include "fabforge/openfl/host.hpp"
#include "fabforge/openfl/noise.hpp"
#include "fabforge/openfl/program.hpp"
#include "fabforge/openfl/scalar_math.hpp"
#include "support/test_support.hpp"

namespace fabforge::openfl {
namespace {

using ir::Op;
using ir::ScalarType;
using ir::ValueId;

std::uint32_t fbits(float f) { return std::bit_cast<std::uint32_t>(f); }
float as_float(std::uint32_t b) { return std::bit_cast<float>(b); }

// ---------------------------------------------------------------------------------------------
// A small scalar evaluator of IR functions (one lane), independent of the bytecode back end.

struct EvalEnv {
  std::vector<float> inputs;
  std::vector<std::uint32_t> uniforms;
  std::vector<float> queries;
  std::uint32_t loop_cap = 1'000'000;
};

class Evaluator {
 public:
  Evaluator(const ir::Function& fn, EvalEnv env) : fn_(fn), env_(std::move(env)), v_(fn.value_types.size(), 0) {}

  std::vector<std::uint32_t> run() {
    block(fn_.body);
    std::vector<std::uint32_t> out;
    for (ValueId y : fn_.body.yields) out.push_back(v_[y]);
    return out;
  }
  int loops_run() const { return loops_run_; }

 private:
  float f(ValueId x) const { return as_float(v_[x]); }
  std::int32_t i(ValueId x) const { return static_cast<std::int32_t>(v_[x]); }
  bool b(ValueId x) const { return v_[x] != 0; }
  void setf(ValueId r, float x) { v_[r] = fbits(x); }
  void seti(ValueId r, std::int32_t x) { v_[r] = static_cast<std::uint32_t>(x); }
  void setb(ValueId r, bool x) { v_[r] = x ? 1u : 0u; }

  void block(const ir::Block& blk) {
    for (const ir::Inst& inst : blk.insts) exec(inst);
  }

  void exec(const ir::Inst& in) {
    const auto& a = in.args;
    const ValueId r = in.results.empty() ? 0 : in.results[0];
    // clang-format off
    switch (in.op) {
      case Op::const_f: setf(r, in.fimm); break;
      case Op::const_i:
      case Op::const_b: v_[r] = in.imm; break;
      case Op::input: setf(r, env_.inputs.at(in.imm)); break;
      case Op::uniform: v_[r] = env_.uniforms.at(in.imm); break;
      case Op::query: setf(r, env_.queries.at(in.imm)); break;
      case Op::fadd: setf(r, f(a[0]) + f(a[1])); break;
      case Op::fsub: setf(r, f(a[0]) - f(a[1])); break;
      case Op::fmul: setf(r, f(a[0]) * f(a[1])); break;
      case Op::fdiv: setf(r, f(a[0]) / f(a[1])); break;
      case Op::fneg: setf(r, -f(a[0])); break;
      case Op::fabs: setf(r, sm::fabs(f(a[0]))); break;
      case Op::fsign: setf(r, sm::fsign(f(a[0]))); break;
      case Op::fmin: setf(r, sm::fmin(f(a[0]), f(a[1]))); break;
      case Op::fmax: setf(r, sm::fmax(f(a[0]), f(a[1]))); break;
      case Op::ffloor: setf(r, sm::ffloor(f(a[0]))); break;
      case Op::fceil: setf(r, sm::fceil(f(a[0]))); break;
      case Op::fround: setf(r, sm::fround(f(a[0]))); break;
      case Op::ftrunc: setf(r, sm::ftrunc(f(a[0]))); break;
      case Op::ffract: setf(r, sm::ffract(f(a[0]))); break;
      case Op::fmod: setf(r, sm::fmod(f(a[0]), f(a[1]))); break;
      case Op::fsqrt: setf(r, sm::fsqrt(f(a[0]))); break;
      case Op::finvsqrt: setf(r, sm::finvsqrt(f(a[0]))); break;
      case Op::fpow: setf(r, sm::fpow(f(a[0]), f(a[1]))); break;
      case Op::fexp: setf(r, sm::fexp(f(a[0]))); break;
      case Op::fexp2: setf(r, sm::fexp2(f(a[0]))); break;
      case Op::flog: setf(r, sm::flog(f(a[0]))); break;
      case Op::flog2: setf(r, sm::flog2(f(a[0]))); break;
      case Op::fsin: setf(r, sm::fsin(f(a[0]))); break;
      case Op::fcos: setf(r, sm::fcos(f(a[0]))); break;
      case Op::ftan: setf(r, sm::ftan(f(a[0]))); break;
      case Op::fasin: setf(r, sm::fasin(f(a[0]))); break;
      case Op::facos: setf(r, sm::facos(f(a[0]))); break;
      case Op::fatan: setf(r, sm::fatan(f(a[0]))); break;
      case Op::fatan2: setf(r, sm::fatan2(f(a[0]), f(a[1]))); break;
      case Op::fstep: setf(r, sm::fstep(f(a[0]), f(a[1]))); break;
      case Op::fsmoothstep: setf(r, sm::fsmoothstep(f(a[0]), f(a[1]), f(a[2]))); break;
      case Op::iadd: seti(r, sm::iadd(i(a[0]), i(a[1]))); break;
      case Op::isub: seti(r, sm::isub(i(a[0]), i(a[1]))); break;
      case Op::imul: seti(r, sm::imul(i(a[0]), i(a[1]))); break;
      case Op::idiv: seti(r, sm::idiv(i(a[0]), i(a[1]))); break;
      case Op::imod: seti(r, sm::imod(i(a[0]), i(a[1]))); break;
      case Op::ineg: seti(r, sm::ineg(i(a[0]))); break;
      case Op::iabs: seti(r, sm::iabs(i(a[0]))); break;
      case Op::isign: seti(r, sm::isign(i(a[0]))); break;
      case Op::imin: seti(r, sm::imin(i(a[0]), i(a[1]))); break;
      case Op::imax: seti(r, sm::imax(i(a[0]), i(a[1]))); break;
      case Op::flt: setb(r, f(a[0]) < f(a[1])); break;
      case Op::fle: setb(r, f(a[0]) <= f(a[1])); break;
      case Op::feq: setb(r, f(a[0]) == f(a[1])); break;
      case Op::fne: setb(r, f(a[0]) != f(a[1])); break;
      case Op::ilt: setb(r, i(a[0]) < i(a[1])); break;
      case Op::ile: setb(r, i(a[0]) <= i(a[1])); break;
      case Op::ieq: setb(r, i(a[0]) == i(a[1])); break;
      case Op::ine: setb(r, i(a[0]) != i(a[1])); break;
      case Op::beq: setb(r, b(a[0]) == b(a[1])); break;
      case Op::bne: setb(r, b(a[0]) != b(a[1])); break;
      case Op::band: setb(r, b(a[0]) && b(a[1])); break;
      case Op::bor: setb(r, b(a[0]) || b(a[1])); break;
      case Op::bnot: setb(r, !b(a[0])); break;
      case Op::select: v_[r] = b(a[0]) ? v_[a[1]] : v_[a[2]]; break;
      case Op::itof: setf(r, sm::itof(i(a[0]))); break;
      case Op::ftoi: seti(r, sm::ftoi(f(a[0]))); break;
      case Op::btoi: seti(r, b(a[0]) ? 1 : 0); break;
      case Op::btof: setf(r, b(a[0]) ? 1.0f : 0.0f); break;
      case Op::ftob: setb(r, f(a[0]) != 0.0f); break;
      case Op::itob: setb(r, i(a[0]) != 0); break;
      case Op::noise2: setf(r, noise::perlin2(f(a[0]), f(a[1]))); break;
      case Op::noise3: setf(r, noise::perlin3(f(a[0]), f(a[1]), f(a[2]))); break;
      case Op::fbm2: setf(r, noise::fbm2(f(a[0]), f(a[1]), i(a[2]), f(a[3]), f(a[4]), in.imm != 0)); break;
      case Op::fbm3:
        setf(r, noise::fbm3(f(a[0]), f(a[1]), f(a[2]), i(a[3]), f(a[4]), f(a[5]), in.imm != 0));
        break;
      case Op::cellular2:
      case Op::cellular3: {
        float f1 = 0, f2 = 0;
        if (in.op == Op::cellular2) {
          noise::cellular2(f(a[0]), f(a[1]), f1, f2);
        } else {
          noise::cellular3(f(a[0]), f(a[1]), f(a[2]), f1, f2);
        }
        setf(in.results[0], f1);
        setf(in.results[1], f2);
        break;
      }
      case Op::tex_sample:
      case Op::tex_lod:
        // A fake texture: rgba = (u, v, lod or -1, slot).
        setf(in.results[0], f(a[0]));
        setf(in.results[1], f(a[1]));
        setf(in.results[2], in.op == Op::tex_lod ? f(a[2]) : -1.0f);
        setf(in.results[3], static_cast<float>(in.imm));
        break;
      case Op::if_: {
        const ir::Block& side = in.blocks[b(a[0]) ? 0 : 1];
        block(side);
        for (std::size_t k = 0; k < in.results.size(); ++k) v_[in.results[k]] = v_[side.yields[k]];
        break;
      }
      case Op::loop: {
        ++loops_run_;
        std::vector<std::uint32_t> carried;
        for (ValueId x : a) carried.push_back(v_[x]);
        for (std::uint32_t iter = 0;; ++iter) {
          const ir::Block& cond = in.blocks[0];
          for (std::size_t k = 0; k < carried.size(); ++k) v_[cond.params[k]] = carried[k];
          block(cond);
          if (!b(cond.yields[0])) break;
          if (iter >= env_.loop_cap) throw runtime_error("loop ran more than the cap");
          const ir::Block& body = in.blocks[1];
          for (std::size_t k = 0; k < carried.size(); ++k) v_[body.params[k]] = carried[k];
          block(body);
          for (std::size_t k = 0; k < carried.size(); ++k) carried[k] = v_[body.yields[k]];
        }
        for (std::size_t k = 0; k < carried.size(); ++k) v_[in.results[k]] = carried[k];
        break;
      }
    }
  }

  // clang-format on
  const ir::Function& fn_;
  EvalEnv env_;
  std::vector<std::uint32_t> v_;
  int loops_run_ = 0;
};

// ---------------------------------------------------------------------------------------------
// A tiny IR builder for hand-written functions.

struct Builder {
  ir::Function fn;
  std::vector<ir::Inst>* cur = &fn.body.insts;

  ValueId inst(Op op, ScalarType t, std::vector<ValueId> args, std::uint32_t imm = 0, float fimm = 0) {
    ir::Inst in;
    in.op = op;
    in.imm = imm;
    in.fimm = fimm;
    in.args = std::move(args);
    in.results = {fn.new_value(t)};
    cur->push_back(in);
    return in.results[0];
  }
  ValueId cf(float x) { return inst(Op::const_f, ScalarType::f32, {}, 0, x); }
  ValueId ci(std::int32_t x) { return inst(Op::const_i, ScalarType::i32, {}, static_cast<std::uint32_t>(x)); }
  ValueId cb(bool x) { return inst(Op::const_b, ScalarType::b1, {}, x ? 1u : 0u); }
  ValueId in(int column) {
    fn.input_count = std::max(fn.input_count, column + 1);
    return inst(Op::input, ScalarType::f32, {}, static_cast<std::uint32_t>(column));
  }
  ValueId f(Op op, std::vector<ValueId> args) { return inst(op, ScalarType::f32, std::move(args)); }
  ValueId b(Op op, std::vector<ValueId> args) { return inst(op, ScalarType::b1, std::move(args)); }
  ValueId i(Op op, std::vector<ValueId> args) { return inst(op, ScalarType::i32, std::move(args)); }
};

int count_ops(const ir::Block& b, Op op) {
  int n = 0;
  for (const ir::Inst& in : b.insts) {
    if (in.op == op) ++n;
    for (const ir::Block& nested : in.blocks) n += count_ops(nested, op);
  }
  return n;
}
int count_insts(const ir::Block& b) {
  int n = 0;
  for (const ir::Inst& in : b.insts) {
    ++n;
    for (const ir::Block& nested : in.blocks) n += count_insts(nested);
  }
  return n;
}

void optimize(ir::Function& fn) {
  for (int k = 0; k < 12; ++k) {
    const std::string before = ir::dump(fn);
    ir::fold_constants(fn);
    ir::eliminate_dead_code(fn);
    ir::verify(fn);
    if (ir::dump(fn) == before) break;
  }
}

// ---------------------------------------------------------------------------------------------
// verify

TEST(IrVerify, AcceptsWellFormedFunction) {
  Builder bld;
  const ValueId x = bld.in(0);
  const ValueId y = bld.f(Op::fadd, {x, bld.cf(1.0f)});
  bld.fn.body.yields = {y};
  EXPECT_NO_THROW(ir::verify(bld.fn));
}

TEST(IrVerify, RejectsUseBeforeDefinition) {
  Builder bld;
  const ValueId x = bld.in(0);
  const ValueId late = bld.fn.new_value(ScalarType::f32);
  const ValueId y = bld.f(Op::fadd, {x, late});
  bld.fn.body.insts.push_back({Op::const_f, 0, 1.0f, {}, {late}, {}, {}});
  bld.fn.body.yields = {y};
  EXPECT_THROW(ir::verify(bld.fn), InternalError);
}

TEST(IrVerify, RejectsDoubleDefinitionTypeErrorsAndRanges) {
  {
    Builder bld;
    const ValueId x = bld.in(0);
    bld.fn.body.insts.push_back({Op::const_f, 0, 1.0f, {}, {x}, {}, {}});
    bld.fn.body.yields = {x};
    EXPECT_THROW(ir::verify(bld.fn), InternalError);
  }
  {
    Builder bld;
    const ValueId k = bld.ci(3);
    const ValueId y = bld.f(Op::fadd, {k, k});  // int args to a float op
    bld.fn.body.yields = {y};
    EXPECT_THROW(ir::verify(bld.fn), InternalError);
  }
  {
    Builder bld;
    const ValueId x = bld.in(0);
    bld.fn.input_count = 0;  // input column out of range
    bld.fn.body.yields = {x};
    EXPECT_THROW(ir::verify(bld.fn), InternalError);
  }
  {
    Builder bld;
    const ValueId x = bld.in(0);
    ir::Inst bad;
    bad.op = Op::cellular2;  // two results expected
    bad.args = {x, x};
    bad.results = {bld.fn.new_value(ScalarType::f32)};
    bld.fn.body.insts.push_back(bad);
    bld.fn.body.yields = {x};
    EXPECT_THROW(ir::verify(bld.fn), InternalError);
  }
}

TEST(IrVerify, RejectsMalformedControlFlow) {
  // if_ whose blocks yield different counts
  Builder bld;
  const ValueId x = bld.in(0);
  const ValueId c = bld.b(Op::flt, {x, bld.cf(0.0f)});
  ir::Inst iff;
  iff.op = Op::if_;
  iff.args = {c};
  iff.blocks.resize(2);
  iff.blocks[0].yields = {x};
  iff.results = {bld.fn.new_value(ScalarType::f32)};
  bld.fn.body.insts.push_back(iff);
  bld.fn.body.yields = {iff.results[0]};
  EXPECT_THROW(ir::verify(bld.fn), InternalError);
  bld.fn.body.insts.back().blocks[1].yields = {x};
  EXPECT_NO_THROW(ir::verify(bld.fn));
  // a value defined inside a block used outside it
  Builder b2;
  const ValueId y = b2.in(0);
  ir::Inst iff2;
  iff2.op = Op::if_;
  iff2.args = {b2.b(Op::flt, {y, y})};
  iff2.blocks.resize(2);
  b2.cur = &iff2.blocks[0].insts;
  const ValueId inner = b2.f(Op::fneg, {y});
  b2.cur = &b2.fn.body.insts;
  b2.fn.body.insts.push_back(iff2);
  b2.fn.body.yields = {inner};
  EXPECT_THROW(ir::verify(b2.fn), InternalError);
}

// A loop: i = 0; s = x; while (i < n) { s = s * 2; i = i + 1 }; returns {s, i}
ir::Inst counting_loop(Builder& bld, ValueId x, ValueId n) {
  ir::Inst lp;
  lp.op = Op::loop;
  lp.args = {bld.ci(0), x};
  lp.blocks.resize(2);
  ir::Block& cond = lp.blocks[0];
  ir::Block& body = lp.blocks[1];
  cond.params = {bld.fn.new_value(ScalarType::i32), bld.fn.new_value(ScalarType::f32)};
  body.params = {bld.fn.new_value(ScalarType::i32), bld.fn.new_value(ScalarType::f32)};
  bld.cur = &cond.insts;
  cond.yields = {bld.b(Op::ilt, {cond.params[0], n})};
  bld.cur = &body.insts;
  const ValueId s2 = bld.f(Op::fmul, {body.params[1], bld.cf(2.0f)});
  const ValueId i2 = bld.i(Op::iadd, {body.params[0], bld.ci(1)});
  body.yields = {i2, s2};
  bld.cur = &bld.fn.body.insts;
  lp.results = {bld.fn.new_value(ScalarType::i32), bld.fn.new_value(ScalarType::f32)};
  return lp;
}

TEST(IrVerify, LoopShapeIsChecked) {
  Builder bld;
  const ValueId x = bld.in(0);
  const ValueId n = bld.ci(3);
  ir::Inst lp = counting_loop(bld, x, n);
  bld.fn.body.insts.push_back(lp);
  bld.fn.body.yields = {lp.results[1]};
  EXPECT_NO_THROW(ir::verify(bld.fn));
  Evaluator ev(bld.fn, {{1.5f}, {}, {}});
  EXPECT_EQ(as_float(ev.run()[0]), 12.0f);
  // body yielding the wrong number of values
  bld.fn.body.insts.back().blocks[1].yields.pop_back();
  EXPECT_THROW(ir::verify(bld.fn), InternalError);
}

// ---------------------------------------------------------------------------------------------
// passes

TEST(IrPasses, FoldingIsBitExact) {
  Builder bld;
  const float a = 0.1f, b = 0.7f, c = 3.3f;
  const ValueId ka = bld.cf(a), kb = bld.cf(b), kc = bld.cf(c);
  std::vector<ValueId> outs = {
      bld.f(Op::fadd, {ka, kb}),
      bld.f(Op::fdiv, {ka, kc}),
      bld.f(Op::fsin, {kc}),
      bld.f(Op::fpow, {kc, kb}),
      bld.f(Op::fsmoothstep, {ka, kc, kb}),
      bld.f(Op::fmod, {kc, kb}),
      bld.f(Op::noise3, {ka, kb, kc}),
      bld.f(Op::fbm2, {ka, kc, bld.ci(4), bld.cf(2.0f), bld.cf(0.5f)}),
      bld.f(Op::itof, {bld.i(Op::ftoi, {bld.cf(std::numeric_limits<float>::quiet_NaN())})}),
      bld.f(Op::itof, {bld.i(Op::idiv, {bld.ci(7), bld.ci(0)})}),
      bld.f(Op::itof, {bld.i(Op::iadd, {bld.ci(std::numeric_limits<std::int32_t>::max()), bld.ci(1)})}),
  };
  bld.fn.body.yields = outs;
  const std::vector<std::uint32_t> expected = Evaluator(bld.fn, {}).run();
  ir::fold_constants(bld.fn);
  ir::eliminate_dead_code(bld.fn);
  ir::verify(bld.fn);
  for (const ir::Inst& in : bld.fn.body.insts) {
    EXPECT_TRUE(in.op == Op::const_f || in.op == Op::const_i) << ir::dump(bld.fn);
  }
  EXPECT_EQ(Evaluator(bld.fn, {}).run(), expected);
  EXPECT_EQ(as_float(expected[0]), a + b);
  EXPECT_EQ(as_float(expected[4]), sm::fsmoothstep(a, c, b));
  EXPECT_EQ(as_float(expected[8]), 0.0f);
  EXPECT_EQ(as_float(expected[10]), static_cast<float>(std::numeric_limits<std::int32_t>::min()));
}

TEST(IrPasses, InexactIdentitiesAreNotApplied) {
  Builder bld;
  const ValueId x = bld.in(0);
  bld.fn.body.yields = {bld.f(Op::fadd, {x, bld.cf(0.0f)})};
  ir::fold_constants(bld.fn);
  EXPECT_EQ(count_ops(bld.fn.body, Op::fadd), 1);
  // x + 0 at x = -0 is +0, so the add must stay
  const auto r = Evaluator(bld.fn, {{-0.0f}, {}, {}}).run();
  EXPECT_EQ(r[0], fbits(0.0f));
}

TEST(IrPasses, SelectsAndLogicFold) {
  Builder bld;
  const ValueId x = bld.in(0), y = bld.in(1);
  const ValueId c = bld.b(Op::flt, {x, y});
  const ValueId s1 = bld.f(Op::select, {bld.cb(true), x, y});
  const ValueId s2 = bld.f(Op::select, {c, y, y});
  const ValueId both = bld.b(Op::band, {c, bld.cb(true)});
  const ValueId s3 = bld.f(Op::select, {both, x, y});
  const ValueId never = bld.b(Op::band, {c, bld.cb(false)});
  const ValueId s4 = bld.f(Op::select, {never, x, y});
  bld.fn.body.yields = {s1, s2, s3, s4};
  optimize(bld.fn);
  EXPECT_EQ(bld.fn.body.yields[0], x);
  EXPECT_EQ(bld.fn.body.yields[1], y);
  EXPECT_EQ(bld.fn.body.yields[3], y);
  EXPECT_EQ(count_ops(bld.fn.body, Op::select), 1);
  EXPECT_EQ(count_ops(bld.fn.body, Op::band), 0);
}

TEST(IrPasses, ConstantIfIsInlinedAndEqualArmsMerge) {
  Builder bld;
  const ValueId x = bld.in(0);
  ir::Inst iff;
  iff.op = Op::if_;
  iff.args = {bld.b(Op::flt, {bld.cf(1.0f), bld.cf(2.0f)})};
  iff.blocks.resize(2);
  bld.cur = &iff.blocks[0].insts;
  iff.blocks[0].yields = {bld.f(Op::fmul, {x, bld.cf(3.0f)}), x};
  bld.cur = &iff.blocks[1].insts;
  iff.blocks[1].yields = {bld.f(Op::fneg, {x}), x};
  bld.cur = &bld.fn.body.insts;
  iff.results = {bld.fn.new_value(ScalarType::f32), bld.fn.new_value(ScalarType::f32)};
  bld.fn.body.insts.push_back(iff);
  bld.fn.body.yields = iff.results;
  optimize(bld.fn);
  EXPECT_EQ(count_ops(bld.fn.body, Op::if_), 0);
  EXPECT_EQ(count_ops(bld.fn.body, Op::fneg), 0);
  EXPECT_EQ(bld.fn.body.yields[1], x);
  EXPECT_EQ(as_float(Evaluator(bld.fn, {{2.0f}, {}, {}}).run()[0]), 6.0f);
}

TEST(IrPasses, LoopNeverEnteredBecomesItsInitialValues) {
  Builder bld;
  const ValueId x = bld.in(0);
  ir::Inst lp = counting_loop(bld, x, bld.ci(0));
  bld.fn.body.insts.push_back(lp);
  bld.fn.body.yields = {lp.results[1]};
  optimize(bld.fn);
  EXPECT_EQ(count_ops(bld.fn.body, Op::loop), 0);
  EXPECT_EQ(bld.fn.body.yields[0], x);
}

TEST(IrPasses, LoopWithConstantTripCountIsKept) {
  Builder bld;
  const ValueId x = bld.in(0);
  ir::Inst lp = counting_loop(bld, x, bld.ci(4));
  bld.fn.body.insts.push_back(lp);
  bld.fn.body.yields = {lp.results[1]};
  optimize(bld.fn);
  EXPECT_EQ(count_ops(bld.fn.body, Op::loop), 1);
  EXPECT_EQ(as_float(Evaluator(bld.fn, {{1.0f}, {}, {}}).run()[0]), 16.0f);
}

TEST(IrPasses, DeadCodeRemovesUnusedValuesIfsAndCarriedValues) {
  Builder bld;
  const ValueId x = bld.in(0);
  bld.f(Op::fsin, {x});  // unused
  ir::Inst iff;          // unused if
  iff.op = Op::if_;
  iff.args = {bld.b(Op::flt, {x, x})};
  iff.blocks.resize(2);
  bld.cur = &iff.blocks[0].insts;
  iff.blocks[0].yields = {bld.f(Op::fcos, {x})};
  bld.cur = &bld.fn.body.insts;
  iff.blocks[1].yields = {x};
  iff.results = {bld.fn.new_value(ScalarType::f32)};
  bld.fn.body.insts.push_back(iff);
  // loop whose float result is unused but whose counter is used
  ir::Inst lp = counting_loop(bld, x, bld.ci(5));
  bld.fn.body.insts.push_back(lp);
  bld.fn.body.yields = {bld.f(Op::itof, {lp.results[0]})};
  ir::eliminate_dead_code(bld.fn);
  ir::verify(bld.fn);
  EXPECT_EQ(count_ops(bld.fn.body, Op::fsin), 0);
  EXPECT_EQ(count_ops(bld.fn.body, Op::if_), 0);
  EXPECT_EQ(count_ops(bld.fn.body, Op::fmul), 0);
  ASSERT_EQ(count_ops(bld.fn.body, Op::loop), 1);
  for (const ir::Inst& in : bld.fn.body.insts) {
    if (in.op == Op::loop) {
      EXPECT_EQ(in.args.size(), 1u);
    }
  }
  EXPECT_EQ(as_float(Evaluator(bld.fn, {{1.0f}, {}, {}}).run()[0]), 5.0f);
}

TEST(IrPasses, DeadLoopIsRemoved) {
  // a loop with no used result disappears (with its possible iteration-cap error)
  Builder bld;
  const ValueId x = bld.in(0);
  ir::Inst lp = counting_loop(bld, x, bld.ci(5));
  bld.fn.body.insts.push_back(lp);
  bld.fn.body.yields = {x};
  ir::eliminate_dead_code(bld.fn);
  ir::verify(bld.fn);
  EXPECT_EQ(count_insts(bld.fn.body), 1);
}

TEST(IrPasses, SpecialisationReplacesUniformLeaves) {
  Builder bld;
  bld.fn.uniform_count = 2;
  const ValueId u0 = bld.inst(Op::uniform, ScalarType::f32, {}, 0);
  const ValueId u1 = bld.inst(Op::uniform, ScalarType::i32, {}, 1);
  const ValueId x = bld.in(0);
  const ValueId y = bld.f(Op::fmul, {u0, bld.f(Op::itof, {u1})});
  bld.fn.body.yields = {bld.f(Op::fadd, {x, y})};
  ir::verify(bld.fn);
  EvalEnv env{{1.0f}, {fbits(2.5f), 4u}, {}};
  const auto before = Evaluator(bld.fn, env).run();
  const std::vector<bool> u = ir::analyze_uniformity(bld.fn);
  EXPECT_TRUE(u[y]);
  EXPECT_FALSE(u[x]);
  EXPECT_FALSE(u[bld.fn.body.yields[0]]);
  ir::UniformColumns cols;
  cols.types = {ScalarType::f32, ScalarType::i32};
  cols.bits = {fbits(2.5f), 4u};
  ir::specialize_uniforms(bld.fn, cols);
  EXPECT_EQ(bld.fn.uniform_count, 0);
  optimize(bld.fn);
  EXPECT_EQ(count_ops(bld.fn.body, Op::uniform), 0);
  EXPECT_EQ(count_ops(bld.fn.body, Op::fmul), 0);
  EXPECT_EQ(Evaluator(bld.fn, env).run(), before);
  EXPECT_EQ(as_float(before[0]), 11.0f);
}

TEST(IrPasses, UniformityOfControlFlow) {
  Builder bld;
  bld.fn.uniform_count = 1;
  const ValueId u = bld.inst(Op::uniform, ScalarType::f32, {}, 0);
  const ValueId x = bld.in(0);
  auto make_if = [&](ValueId cond) {
    ir::Inst iff;
    iff.op = Op::if_;
    iff.args = {cond};
    iff.blocks.resize(2);
    iff.blocks[0].yields = {u};
    iff.blocks[1].yields = {bld.cf(1.0f)};
    iff.results = {bld.fn.new_value(ScalarType::f32)};
    bld.fn.body.insts.push_back(iff);
    return iff.results[0];
  };
  const ValueId r_uniform = make_if(bld.b(Op::flt, {u, bld.cf(0.0f)}));
  const ValueId r_varying = make_if(bld.b(Op::flt, {x, bld.cf(0.0f)}));
  ir::Inst lp = counting_loop(bld, u, bld.ci(3));
  bld.fn.body.insts.push_back(lp);
  ir::Inst lp2 = counting_loop(bld, x, bld.ci(3));
  bld.fn.body.insts.push_back(lp2);
  bld.fn.body.yields = {r_uniform, r_varying, lp.results[1], lp2.results[1]};
  ir::verify(bld.fn);
  const std::vector<bool> uni = ir::analyze_uniformity(bld.fn);
  EXPECT_TRUE(uni[r_uniform]);
  EXPECT_FALSE(uni[r_varying]);
  EXPECT_TRUE(uni[lp.results[1]]);
  EXPECT_FALSE(uni[lp2.results[1]]);
  const std::string text = ir::dump(bld.fn, &uni);
  EXPECT_NE(text.find("uniform #0"), std::string::npos) << text;
  EXPECT_NE(text.find("= loop ("), std::string::npos) << text;
  EXPECT_NE(text.find(":f32 u = "), std::string::npos) << text;
}

TEST(IrOps, NamesAndCounts) {
  EXPECT_EQ(ir::op_name(Op::fadd), "fadd");
  EXPECT_EQ(ir::op_name(Op::tex_lod), "tex_lod");
  EXPECT_EQ(ir::result_count(Op::cellular3), 2);
  EXPECT_EQ(ir::result_count(Op::tex_sample), 4);
  EXPECT_EQ(ir::result_count(Op::fmul), 1);
  EXPECT_TRUE(ir::is_foldable(Op::noise2));
  EXPECT_FALSE(ir::is_foldable(Op::tex_sample));
  EXPECT_FALSE(ir::is_foldable(Op::input));
  EXPECT_FALSE(ir::is_foldable(Op::loop));
}

// ---------------------------------------------------------------------------------------------
// lowering of whole programs

std::shared_ptr<const Program> compile_ok(const std::string& src) {
  CompileResult r = compile("test.fl", src);
  EXPECT_TRUE(r.program != nullptr) << r.diagnostics.format_all();
  return r.program;
}

struct PhaseRun {
  std::vector<float> out;  // optimised
  std::vector<float> raw;  // unoptimised, same bits expected
  ir::Function fn;         // optimised IR
};

PhaseRun run_phase(const Program& p, Phase phase, const std::vector<float>& inputs, std::vector<float> queries = {}) {
  PhaseRun r;
  ir::Function fn = lower_phase(p, phase);
  ir::verify(fn);
  const ir::UniformColumns cols = p.uniform_columns_of(p.defaults());
  EvalEnv env{inputs, cols.bits, std::move(queries)};
  env.queries.resize(static_cast<std::size_t>(fn.query_count), 0.0f);
  const auto raw = Evaluator(fn, env).run();
  ir::specialize_uniforms(fn, cols);
  optimize(fn);
  const auto opt = Evaluator(fn, env).run();
  EXPECT_EQ(raw, opt) << ir::dump(fn);
  for (std::uint32_t b : opt) r.out.push_back(as_float(b));
  for (std::uint32_t b : raw) r.raw.push_back(as_float(b));
  r.fn = std::move(fn);
  return r;
}

// Surface phase returning vec3 `expr` after `body`, with P, N inputs.
std::vector<float> surf(const std::string& decls, const std::string& body, std::vector<float> p = {0, 0, 0}) {
  const std::string src = decls +
                          "\nfablet T {\n  uniform material m0 = \"A\";\n  surface(vec3 P, vec3 N) -> vec3 {\n" + body +
                          "\n  }\n}\n";
  auto prog = compile_ok(src);
  if (!prog) return {};
  p.resize(6, 0.0f);
  return run_phase(*prog, Phase::surface, p).out;
}

TEST(IrLower, IfElse) {
  const std::string body =
      "float a = P.x; if (a > 1.0) { a = a * 2.0; } else { a = a - 1.0; } return vec3(a, P.y, 0.0);";
  EXPECT_EQ(surf("", body, {3.0f, 7.0f})[0], 6.0f);
  EXPECT_EQ(surf("", body, {0.5f, 7.0f})[0], -0.5f);
  EXPECT_EQ(surf("", body, {0.5f, 7.0f})[1], 7.0f);
}

TEST(IrLower, ForLoopAccumulates) {
  const std::string body =
      "float s = 0.0; for (int i = 0; i < 5; i += 1) { s += P.x * float(i); } return vec3(s, 0.0, 0.0);";
  float s = 0.0f;
  for (int i = 0; i < 5; ++i) s += 1.1f * static_cast<float>(i);
  EXPECT_EQ(surf("", body, {1.1f})[0], s);
}

TEST(IrLower, WhileBreakContinue) {
  const std::string body =
      "int i = 0; float s = 0.0; while (true) { i += 1; if (i > 10) break; if (i % 2 == 0) continue; s += float(i); }"
      " return vec3(s, float(i), 0.0);";
  const auto r = surf("", body);
  EXPECT_EQ(r[0], 25.0f);
  EXPECT_EQ(r[1], 11.0f);
}

TEST(IrLower, ContinueStillRunsTheStep) {
  const std::string body =
      "float s = 0.0; for (int i = 0; i < 6; i += 1) { if (i == 2) { continue; } if (i == 4) { break; } s += 1.0; }"
      " return vec3(s, 0.0, 0.0);";
  EXPECT_EQ(surf("", body)[0], 3.0f);
}

TEST(IrLower, EarlyReturnInLoopInsideFunction) {
  const std::string fns =
      "float first_above(float x) { for (int i = 0; i < 100; i += 1) { if (float(i) > x) return float(i) * 2.0; } "
      "return -1.0; }";
  EXPECT_EQ(surf(fns, "return vec3(first_above(P.x), 0.0, 0.0);", {3.5f})[0], 8.0f);
  EXPECT_EQ(surf(fns, "return vec3(first_above(P.x), 0.0, 0.0);", {200.0f})[0], -1.0f);
}

TEST(IrLower, EarlyReturnInPhase) {
  const std::string body = "if (P.x < 0.0) { return vec3(-1.0); } float y = P.x * 3.0; return vec3(y, y, y);";
  EXPECT_EQ(surf("", body, {-2.0f})[2], -1.0f);
  EXPECT_EQ(surf("", body, {2.0f})[2], 6.0f);
}

TEST(IrLower, NestedFunctionsAndIntConversion) {
  const std::string fns =
      "float sq(float x) { return x * x; }\n"
      "float hyp(float a, float b) { return sqrt(sq(a) + sq(b)); }\n"
      "int twice(int k) { return k * 2; }\n";
  const auto r = surf(fns, "float h = hyp(P.x, 4); float t = twice(3); return vec3(h, t, 0.0);", {3.0f});
  EXPECT_EQ(r[0], 5.0f);
  EXPECT_EQ(r[1], 6.0f);
}

TEST(IrLower, SwizzleAssignmentAndUninitialisedLocals) {
  const auto r = surf("", "vec3 v = P; v.zx = vec2(1.0, 2.0); vec2 w; w.y += 3.0; return vec3(v.x, v.z, w.y + v.y);",
                      {5.0f, 7.0f, 9.0f});
  EXPECT_EQ(r[0], 2.0f);
  EXPECT_EQ(r[1], 1.0f);
  EXPECT_EQ(r[2], 10.0f);
}

TEST(IrLower, DynamicIndexClampsAndAssigns) {
  const std::string body =
      "vec3 v = vec3(10.0, 20.0, 30.0); int i = int(P.x); float got = v[i]; v[i] = 5.0;"
      " return vec3(got, v[0], v[2]);";
  const auto lo = surf("", body, {-5.0f});
  EXPECT_EQ(lo[0], 10.0f);
  EXPECT_EQ(lo[1], 5.0f);
  EXPECT_EQ(lo[2], 30.0f);
  const auto hi = surf("", body, {7.0f});
  EXPECT_EQ(hi[0], 30.0f);
  EXPECT_EQ(hi[2], 5.0f);
  const auto mid = surf("", body, {1.0f});
  EXPECT_EQ(mid[0], 20.0f);
}

TEST(IrLower, Matrices) {
  const std::string body =
      "mat3 m = mat3(1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0); vec3 a = m * P; vec3 b = P * m;"
      " mat3 mm = m * m; int k = int(P.z) - 2; vec3 col = m[k];"
      " return vec3(a.x + a.y * 100.0, b.z, mm[2][1] + col.y * 1000.0 + determinant(m) * 10000.0);";
  const float m[9] = {1, 2, 3, 4, 5, 6, 7, 8, 10};
  const float p[3] = {0.5f, -1.25f, 3.0f};
  const float ax = (m[0] * p[0] + m[3] * p[1]) + m[6] * p[2];
  const float ay = (m[1] * p[0] + m[4] * p[1]) + m[7] * p[2];
  const float bz = (p[0] * m[6] + p[1] * m[7]) + p[2] * m[8];
  const float mm21 = (m[1] * m[6] + m[4] * m[7]) + m[7] * m[8];  // row 1, column 2
  const auto r = surf("", body, {p[0], p[1], p[2]});
  EXPECT_EQ(r[0], ax + ay * 100.0f);
  EXPECT_EQ(r[1], bz);
  const float d =
      (m[0] * (m[4] * m[8] - m[7] * m[5]) - m[3] * (m[1] * m[8] - m[7] * m[2])) + m[6] * (m[1] * m[5] - m[4] * m[2]);
  EXPECT_EQ(r[2], mm21 + m[4] * 1000.0f + d * 10000.0f);
}

// Volume phase: returns the mixture weights.
PhaseRun vol(const std::string& src, std::vector<float> p, std::vector<float> queries = {}) {
  auto prog = compile_ok(src);
  if (!prog) return {};
  p.resize(3, 0.0f);
  return run_phase(*prog, Phase::volume, p, std::move(queries));
}

TEST(IrLower, MixturesWithConstantAndDynamicMaterials) {
  const std::string src =
      "fablet T {\n uniform material a = \"A\"; uniform material b = \"B\"; uniform material c = \"C\";\n"
      " volume(vec3 P) -> mixture {\n"
      "   material m = P.x > 0.5 ? a : c;\n"
      "   mixture x = mixture(a, P.y, b, 1.0 - P.y) + mixture(m, 2.0, a, 0.25);\n"
      "   x = x * 2.0 - mixture(b, 1.0) / 4.0;\n"
      "   return mix(x, empty(), 0.5) + mixture(c, weight(x, m));\n"
      " }\n}\n";
  for (float px : {0.25f, 0.75f}) {
    const float py = 0.3f;
    float w[3] = {0.0f, 0.0f, 0.0f};
    w[0] = w[0] + py;
    w[1] = w[1] + (1.0f - py);
    const int m = px > 0.5f ? 0 : 2;
    float v[3] = {0.0f, 0.0f, 0.0f};
    v[m] = v[m] + 2.0f;
    v[0] = v[0] + 0.25f;
    float x[3];
    for (int k = 0; k < 3; ++k) x[k] = (w[k] + v[k]) * 2.0f - (k == 1 ? 1.0f : 0.0f) / 4.0f;
    const float wm = x[m];
    const PhaseRun r = vol(src, {px, py, 0.0f});
    ASSERT_EQ(r.out.size(), 3u);
    for (int k = 0; k < 3; ++k) {
      float e = x[k] + (0.0f - x[k]) * 0.5f;
      e = e + (k == 2 ? 0.0f + wm : 0.0f);
      EXPECT_EQ(r.out[static_cast<std::size_t>(k)], e) << "px " << px << " k " << k;
    }
  }
}

TEST(IrLower, VolumeQueriesAndOuts) {
  const std::string src =
      "fablet T {\n uniform material a = \"A\"; uniform material b = \"B\";\n out float shade; out vec2 tex;\n"
      " volume(vec3 P) -> mixture {\n"
      "   float d = surface_distance();\n"
      "   vec3 n = surface_normal();\n"
      "   return mixture(a, d + shade, b, tex.y + n.z + surface_point().x);\n"
      " }\n}\n";
  std::vector<float> q(10, 0.0f);
  q[kQuerySignedDistance] = -1.5f;
  q[kQueryPoint] = 4.0f;
  q[kQueryNormal + 2] = 0.25f;
  q[kQueryOuts + 0] = 10.0f;  // shade
  q[kQueryOuts + 2] = 20.0f;  // tex.y
  const PhaseRun r = vol(src, {0, 0, 0}, q);
  EXPECT_EQ(r.fn.query_count, kQueryOuts + 3);
  ASSERT_EQ(r.out.size(), 2u);
  EXPECT_EQ(r.out[0], 0.0f + (1.5f + 10.0f));
  EXPECT_EQ(r.out[1], 0.0f + ((20.0f + 0.25f) + 4.0f));
}

TEST(IrLower, SurfaceOutsAreOutputsAndZeroWhenUnassigned) {
  const std::string src =
      "fablet T {\n uniform material a = \"A\";\n out float s; out vec2 t; out float never;\n"
      " surface(vec3 P, vec3 N, vec2 uv) -> vec3 {\n"
      "   t = uv * 2.0; if (P.x > 0.0) { s = 1.0; } t.x = 1.5;\n"
      "   return P + N * 0.5;\n"
      " }\n}\n";
  auto prog = compile_ok(src);
  ASSERT_TRUE(prog);
  const PhaseRun r = run_phase(*prog, Phase::surface, {1, 2, 3, 0, 0, 2, 0.25f, 0.75f});
  ASSERT_EQ(r.out.size(), 7u);
  EXPECT_EQ(r.out[2], 4.0f);
  EXPECT_EQ(r.out[3], 1.0f);  // s
  EXPECT_EQ(r.out[4], 1.5f);  // t.x
  EXPECT_EQ(r.out[5], 1.5f);  // t.y
  EXPECT_EQ(r.out[6], 0.0f);  // never
  EXPECT_EQ(r.fn.input_count, 8);
}

TEST(IrLower, MissingPhasesGetDefaults) {
  auto prog = compile_ok("fablet T {\n uniform material a = \"A\"; uniform material b = \"B\"; out float o;\n}\n");
  ASSERT_TRUE(prog);
  const PhaseRun s = run_phase(*prog, Phase::surface, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(s.out, (std::vector<float>{1, 2, 3, 0}));
  const PhaseRun v = run_phase(*prog, Phase::volume, {1, 2, 3});
  EXPECT_EQ(v.out, (std::vector<float>{1, 0}));
}

TEST(IrLower, UniformsSpecialiseAndLoad) {
  const std::string src =
      "fablet T {\n uniform material a = \"A\"; uniform float k = 2.5; uniform vec2 off = vec2(1.0, -1.0);"
      " uniform int n = 3;\n"
      " surface(vec3 P, vec3 N) -> vec3 { float s = 0.0; for (int i = 0; i < n; i += 1) { s += k; }"
      " return vec3(P.x * k + off.y, s, float(n)); }\n}\n";
  auto prog = compile_ok(src);
  ASSERT_TRUE(prog);
  ir::Function fn = lower_phase(*prog, Phase::surface);
  EXPECT_EQ(fn.uniform_count, prog->uniform_columns());
  EXPECT_GT(count_ops(fn.body, Op::uniform), 0);
  const PhaseRun r = run_phase(*prog, Phase::surface, {2, 0, 0, 0, 0, 0});
  EXPECT_EQ(r.out[0], 2.0f * 2.5f + -1.0f);
  EXPECT_EQ(r.out[1], 7.5f);
  EXPECT_EQ(r.out[2], 3.0f);
  EXPECT_EQ(count_ops(r.fn.body, Op::uniform), 0);
}

TEST(IrLower, NoiseTexturesAndBuiltins) {
  const std::string src =
      "fablet T {\n uniform material a = \"A\"; uniform texture t0 = \"x.png\"; uniform texture t1 = \"y.png\";\n"
      " surface(vec3 P, vec3 N, vec2 uv) -> vec3 {\n"
      "   vec4 c = sample(t1, uv); vec4 d = sample_lod(t0, uv, 2.0);\n"
      "   float n = noise(P) + fbm(P.xy, 3) + turbulence(P, 2, 3.0, 0.25) + cellular(P.xy).y;\n"
      "   return vec3(c.z + c.w * 10.0, d.z + d.w * 10.0, n + clamp(P.z, 0.0, 1.0) + smoothstep(0.0, 2.0, P.x));\n"
      " }\n"
      " volume(vec3 P) -> mixture { return mixture(a, sample(t1, P.xy).z); }\n}\n";
  auto prog = compile_ok(src);
  ASSERT_TRUE(prog);
  const std::vector<float> in = {0.3f, 1.7f, 2.2f, 0, 0, 1, 0.1f, 0.2f};
  const PhaseRun r = run_phase(*prog, Phase::surface, in);
  EXPECT_EQ(r.out[0], -1.0f + 10.0f);  // tex_sample: fake lod -1, slot 1
  EXPECT_EQ(r.out[1], 2.0f + 0.0f);    // tex_lod: lod 2, slot 0
  float f1 = 0, f2 = 0;
  noise::cellular2(0.3f, 1.7f, f1, f2);
  const float n = ((noise::perlin3(0.3f, 1.7f, 2.2f) + noise::fbm2(0.3f, 1.7f, 3, 2.0f, 0.5f, false)) +
                   noise::fbm3(0.3f, 1.7f, 2.2f, 2, 3.0f, 0.25f, true)) +
                  f2;
  EXPECT_EQ(r.out[2], (n + 1.0f) + sm::fsmoothstep(0.0f, 2.0f, 0.3f));
  const PhaseRun v = run_phase(*prog, Phase::volume, {0.3f, 1.7f, 2.2f});
  EXPECT_EQ(v.out[0], 0.0f + 0.0f);  // volume sample: lod 0
}

TEST(IrLower, LoopsCarryTheirSourceRange) {
  const std::string src =
      "fablet T {\n uniform material a = \"A\";\n"
      " surface(vec3 P, vec3 N) -> vec3 { float s = P.x; while (s < 100.0) { s = s * 2.0 + 1.0; } return vec3(s); }\n"
      "}\n";
  auto prog = compile_ok(src);
  ASSERT_TRUE(prog);
  const ir::Function fn = lower_phase(*prog, Phase::surface);
  const ir::Inst* lp = nullptr;
  for (const ir::Inst& in : fn.body.insts)
    if (in.op == Op::loop) lp = &in;
  ASSERT_NE(lp, nullptr);
  const std::string text = src.substr(lp->range.begin, lp->range.end - lp->range.begin);
  EXPECT_EQ(text.rfind("while", 0), 0u) << text;
  EvalEnv env{{0.0f, 0, 0, 0, 0, 0}, {}, {}};
  env.loop_cap = 3;
  EXPECT_THROW(Evaluator(fn, env).run(), Error);
  env.loop_cap = 100;
  EXPECT_EQ(as_float(Evaluator(fn, env).run()[0]), 127.0f);
}

TEST(IrLower, NestedLoopsWithBreaks) {
  const std::string body =
      "int count = 0; for (int i = 0; i < 4; i += 1) { for (int j = 0; j < 4; j += 1) { if (j > i) break;"
      " count += 1; } if (count > 6) break; } return vec3(float(count), 0.0, 0.0);";
  EXPECT_EQ(surf("", body)[0], 10.0f);
}

TEST(IrLower, ExamplesLowerVerifyAndOptimise) {
  const std::filesystem::path dir = test::source_dir() / "examples" / "openfl";
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".fl") continue;
    ++count;
    CompileResult r = compile_file(entry.path().string());
    ASSERT_TRUE(r.program) << r.diagnostics.format_all();
    for (Phase phase : {Phase::surface, Phase::volume}) {
      ir::Function fn = lower_phase(*r.program, phase);
      ASSERT_NO_THROW(ir::verify(fn)) << entry.path();
      EXPECT_EQ(fn.input_count, r.program->input_columns(phase));
      ir::specialize_uniforms(fn, r.program->uniform_columns_of(r.program->defaults()));
      optimize(fn);
      EXPECT_EQ(static_cast<int>(fn.body.yields.size()), r.program->output_columns(phase)) << entry.path();
      const std::vector<bool> u = ir::analyze_uniformity(fn);
      EXPECT_EQ(u.size(), fn.value_types.size());
    }
  }
  EXPECT_GE(count, 5);
}

TEST(IrLower, ExponentialInliningIsRejected) {
  std::string src = "float f0(float x) { return x * 1.5; }\n";
  for (int k = 1; k <= 24; ++k) {
    src += "float f" + std::to_string(k) + "(float x) { return f" + std::to_string(k - 1) + "(x) + f" +
           std::to_string(k - 1) + "(x + 1.0); }\n";
  }
  src += "fablet T { uniform material a = \"A\"; volume(vec3 P) -> mixture { return mixture(a, f24(P.x)); } }\n";
  auto prog = compile_ok(src);
  ASSERT_TRUE(prog);
  EXPECT_THROW(lower_phase(*prog, Phase::volume), Error);
}

// A float wrapper that composite.hpp can use (its helpers are found by ADL).
struct S {
  float v = 0;
};
S operator+(S a, S b) { return {a.v + b.v}; }
S operator-(S a, S b) { return {a.v - b.v}; }
S operator*(S a, S b) { return {a.v * b.v}; }
S operator/(S a, S b) { return {a.v / b.v}; }
S operator-(S a) { return {-a.v}; }
S sqrt_of(const S& a) { return {sm::fsqrt(a.v)}; }
S sin_of(const S& a) { return {sm::fsin(a.v)}; }
S cos_of(const S& a) { return {sm::fcos(a.v)}; }
S constant_like(const S&, float value) { return {value}; }

TEST(IrLower, GeometryBuiltinsMatchComposite) {
  const std::string body =
      "vec3 n = normalize(P); vec3 r = reflect(P, n); vec3 c = cross(P, N); mat3 m = rotate_y(P.x) * mat3(2.0);"
      " mat3 inv = inverse(m + mat3(P, N, vec3(1.0, 2.0, 5.0)));"
      " return vec3(r.y + c.z * 3.0, inv[1][2] + distance(P, N), m[2][0] + degrees(P.z) + mod(P.y, 0.7));";
  const std::vector<float> in = {0.4f, -1.3f, 2.1f, 0.2f, 0.9f, -0.5f};
  const auto out = surf("", body, in);
  // composite.hpp with T = float cannot find sm::sqrt_of by ADL, so evaluate through a wrapper.
  S p[3] = {{in[0]}, {in[1]}, {in[2]}}, q[3] = {{in[3]}, {in[4]}, {in[5]}};
  S n[3], r[3], c[3], rot[9], m[9], sum[9], inv[9], two[9];
  for (int k = 0; k < 9; ++k) two[k] = {k % 4 == 0 ? 2.0f : 0.0f};
  composite::normalize(p, 3, n);
  composite::reflect(p, n, 3, r);
  composite::cross(p, q, c);
  composite::rotation(1, p[0], rot);
  composite::mat_mul(rot, two, 3, m);
  const float cols[9] = {in[0], in[1], in[2], in[3], in[4], in[5], 1.0f, 2.0f, 5.0f};
  for (int k = 0; k < 9; ++k) sum[k] = {m[k].v + cols[k]};
  composite::inverse(sum, 3, inv);
  EXPECT_EQ(out[0], r[1].v + c[2].v * 3.0f);
  EXPECT_EQ(out[1], inv[1 * 3 + 2].v + composite::distance(p, q, 3).v);
  EXPECT_EQ(out[2], (m[2 * 3 + 0].v + sm::fdegrees(in[2])) + sm::fmod(in[1], 0.7f));
}

TEST(IrLower, IntegerBoolAndComparisonSemantics) {
  const std::string body =
      "int z = int(P.x); int a = 7 / z; int b = 7 % z; int big = 2147483647; big += int(P.y);"
      " bool t = bool(P.z); bool g = P.y >= 1.0; bool h = 3 > z;"
      " float f = float(a) + float(b) * 10.0 + float(t) * 100.0 + float(g) * 1000.0 + float(h) * 10000.0;"
      " return vec3(f, float(big), float(int(-P.y * 2.5)));";
  const auto out = surf("", body, {0.0f, 1.0f, 0.0f});
  EXPECT_EQ(out[0], 0.0f + 0.0f + 0.0f + 1000.0f + 10000.0f);
  EXPECT_EQ(out[1], static_cast<float>(std::numeric_limits<std::int32_t>::min()));
  EXPECT_EQ(out[2], -2.0f);
  const auto out2 = surf("", body, {-2.0f, 0.5f, 0.25f});
  EXPECT_EQ(out2[0], -3.0f + 10.0f + 100.0f + 0.0f + 10000.0f);
}

TEST(IrLower, MaterialSelectionAndMixtureTernary) {
  const std::string src =
      "fablet T {\n uniform material a = \"A\"; uniform material b = \"B\";\n"
      " volume(vec3 P) -> mixture {\n"
      "   material m = a; if (P.x > 0.0) { m = b; }\n"
      "   mixture x = m == b ? mixture(m, 2.0) : empty();\n"
      "   return x + mixture(a, weight(x, b));\n"
      " }\n}\n";
  EXPECT_EQ(vol(src, {1.0f}).out, (std::vector<float>{0.0f + 2.0f, 0.0f + 2.0f}));
  EXPECT_EQ(vol(src, {-1.0f}).out, (std::vector<float>{0.0f, 0.0f}));
}

}  // namespace
}  // namespace fabforge::openfl
