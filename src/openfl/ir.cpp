// The OpenFL IR: op tables, text dump and the well-formedness checker.

#include "fabforge/openfl/ir.hpp"

#include <cstdio>
#include <string>
#include <vector>

#include "fabforge/core/error.hpp"

#include "lower_internal.hpp"

namespace fabforge::openfl::ir {

std::string_view type_name(ScalarType t) {
  switch (t) {
    case ScalarType::f32:
      return "f32";
    case ScalarType::i32:
      return "i32";
    case ScalarType::b1:
      return "b1";
  }
  return "?";
}

// clang-format off
std::string_view op_name(Op op) {
  switch (op) {
#define FABFORGE_IR_OP(name) \
  case Op::name:             \
    return #name;
    FABFORGE_IR_OP(const_f) FABFORGE_IR_OP(const_i) FABFORGE_IR_OP(const_b) FABFORGE_IR_OP(input)
    FABFORGE_IR_OP(uniform) FABFORGE_IR_OP(query) FABFORGE_IR_OP(fadd) FABFORGE_IR_OP(fsub) FABFORGE_IR_OP(fmul)
    FABFORGE_IR_OP(fdiv) FABFORGE_IR_OP(fneg) FABFORGE_IR_OP(fabs) FABFORGE_IR_OP(fsign) FABFORGE_IR_OP(fmin)
    FABFORGE_IR_OP(fmax) FABFORGE_IR_OP(ffloor) FABFORGE_IR_OP(fceil) FABFORGE_IR_OP(fround) FABFORGE_IR_OP(ftrunc)
    FABFORGE_IR_OP(ffract) FABFORGE_IR_OP(fmod) FABFORGE_IR_OP(fsqrt) FABFORGE_IR_OP(finvsqrt) FABFORGE_IR_OP(fpow)
    FABFORGE_IR_OP(fexp) FABFORGE_IR_OP(fexp2) FABFORGE_IR_OP(flog) FABFORGE_IR_OP(flog2) FABFORGE_IR_OP(fsin)
    FABFORGE_IR_OP(fcos) FABFORGE_IR_OP(ftan) FABFORGE_IR_OP(fasin) FABFORGE_IR_OP(facos) FABFORGE_IR_OP(fatan)
    FABFORGE_IR_OP(fatan2) FABFORGE_IR_OP(fstep) FABFORGE_IR_OP(fsmoothstep) FABFORGE_IR_OP(iadd)
    FABFORGE_IR_OP(isub) FABFORGE_IR_OP(imul) FABFORGE_IR_OP(idiv) FABFORGE_IR_OP(imod) FABFORGE_IR_OP(ineg)
    FABFORGE_IR_OP(iabs) FABFORGE_IR_OP(isign) FABFORGE_IR_OP(imin) FABFORGE_IR_OP(imax) FABFORGE_IR_OP(flt)
    FABFORGE_IR_OP(fle) FABFORGE_IR_OP(feq) FABFORGE_IR_OP(fne) FABFORGE_IR_OP(ilt) FABFORGE_IR_OP(ile)
    FABFORGE_IR_OP(ieq) FABFORGE_IR_OP(ine) FABFORGE_IR_OP(beq) FABFORGE_IR_OP(bne) FABFORGE_IR_OP(band)
    FABFORGE_IR_OP(bor) FABFORGE_IR_OP(bnot) FABFORGE_IR_OP(select) FABFORGE_IR_OP(itof) FABFORGE_IR_OP(ftoi)
    FABFORGE_IR_OP(btoi) FABFORGE_IR_OP(btof) FABFORGE_IR_OP(ftob) FABFORGE_IR_OP(itob) FABFORGE_IR_OP(noise2)
    FABFORGE_IR_OP(noise3) FABFORGE_IR_OP(fbm2) FABFORGE_IR_OP(fbm3) FABFORGE_IR_OP(cellular2)
    FABFORGE_IR_OP(cellular3) FABFORGE_IR_OP(tex_sample) FABFORGE_IR_OP(tex_lod) FABFORGE_IR_OP(if_)
    FABFORGE_IR_OP(loop)
#undef FABFORGE_IR_OP
  }
  return "?";
}

// clang-format on
int result_count(Op op) {
  switch (op) {
    case Op::cellular2:
    case Op::cellular3:
      return 2;
    case Op::tex_sample:
    case Op::tex_lod:
      return 4;
    case Op::if_:
    case Op::loop:
      return 0;  // variable: as many as the instruction lists
    default:
      return 1;
  }
}

bool is_foldable(Op op) {
  switch (op) {
    case Op::input:
    case Op::uniform:
    case Op::query:
    case Op::tex_sample:
    case Op::tex_lod:
    case Op::if_:
    case Op::loop:
      return false;
    default:
      return true;
  }
}

namespace {
using F = ScalarType;
}  // namespace

// clang-format off
Signature signature(Op op) {
  switch (op) {
    case Op::const_f:
    case Op::input:
    case Op::query:
      return {{}, {F::f32}};
    case Op::const_i:
      return {{}, {F::i32}};
    case Op::const_b:
      return {{}, {F::b1}};
    case Op::uniform:
      return {{}, {}};  // any one result type
    case Op::fadd: case Op::fsub: case Op::fmul: case Op::fdiv: case Op::fmin: case Op::fmax: case Op::fmod:
    case Op::fpow: case Op::fatan2: case Op::fstep: case Op::noise2:
      return {{F::f32, F::f32}, {F::f32}};
    case Op::fneg: case Op::fabs: case Op::fsign: case Op::ffloor: case Op::fceil: case Op::fround:
    case Op::ftrunc: case Op::ffract: case Op::fsqrt: case Op::finvsqrt: case Op::fexp: case Op::fexp2:
    case Op::flog: case Op::flog2: case Op::fsin: case Op::fcos: case Op::ftan: case Op::fasin: case Op::facos:
    case Op::fatan:
      return {{F::f32}, {F::f32}};
    case Op::fsmoothstep:
    case Op::noise3:
      return {{F::f32, F::f32, F::f32}, {F::f32}};
    case Op::iadd: case Op::isub: case Op::imul: case Op::idiv: case Op::imod: case Op::imin: case Op::imax:
      return {{F::i32, F::i32}, {F::i32}};
    case Op::ineg: case Op::iabs: case Op::isign:
      return {{F::i32}, {F::i32}};
    case Op::flt: case Op::fle: case Op::feq: case Op::fne:
      return {{F::f32, F::f32}, {F::b1}};
    case Op::ilt: case Op::ile: case Op::ieq: case Op::ine:
      return {{F::i32, F::i32}, {F::b1}};
    case Op::beq: case Op::bne: case Op::band: case Op::bor:
      return {{F::b1, F::b1}, {F::b1}};
    case Op::bnot:
      return {{F::b1}, {F::b1}};
    case Op::select:
      return {{F::b1}, {}};  // arms checked separately
    case Op::itof:
      return {{F::i32}, {F::f32}};
    case Op::ftoi:
      return {{F::f32}, {F::i32}};
    case Op::btoi:
      return {{F::b1}, {F::i32}};
    case Op::btof:
      return {{F::b1}, {F::f32}};
    case Op::ftob:
      return {{F::f32}, {F::b1}};
    case Op::itob:
      return {{F::i32}, {F::b1}};
    case Op::fbm2:
      return {{F::f32, F::f32, F::i32, F::f32, F::f32}, {F::f32}};
    case Op::fbm3:
      return {{F::f32, F::f32, F::f32, F::i32, F::f32, F::f32}, {F::f32}};
    case Op::cellular2:
      return {{F::f32, F::f32}, {F::f32, F::f32}};
    case Op::cellular3:
      return {{F::f32, F::f32, F::f32}, {F::f32, F::f32}};
    case Op::tex_sample:
      return {{F::f32, F::f32}, {F::f32, F::f32, F::f32, F::f32}};
    case Op::tex_lod:
      return {{F::f32, F::f32, F::f32}, {F::f32, F::f32, F::f32, F::f32}};
    case Op::if_:
    case Op::loop:
      return {{}, {}};
  }
  return {{}, {}};
}

// clang-format on
// ---------------------------------------------------------------------------------------------
// dump

namespace {


class Dumper {
 public:
  Dumper(const Function& fn, const std::vector<bool>* uniformity) : fn_(fn), uniformity_(uniformity) {}

  std::string run() {
    out_ += "function inputs=" + std::to_string(fn_.input_count) + " uniforms=" + std::to_string(fn_.uniform_count) +
            " queries=" + std::to_string(fn_.query_count) + " {\n";
    block(fn_.body, 1);
    out_ += "}\n";
    return std::move(out_);
  }

 private:
  std::string value(ValueId v) const { return v == kNoValue ? std::string("%?") : "%" + std::to_string(v); }

  std::string typed(ValueId v) const {
    std::string s = value(v);
    if (v < fn_.value_types.size()) {
      s += ":";
      s += type_name(fn_.value_types[v]);
    }
    if (uniformity_ != nullptr && v < uniformity_->size()) s += (*uniformity_)[v] ? " u" : " v";
    return s;
  }

  std::string list(const std::vector<ValueId>& vs, bool with_types) const {
    std::string s;
    for (std::size_t k = 0; k < vs.size(); ++k) {
      if (k > 0) s += ", ";
      s += with_types ? typed(vs[k]) : value(vs[k]);
    }
    return s;
  }

  void indent(int depth) { out_.append(static_cast<std::size_t>(depth) * 2, ' '); }

  void block(const Block& b, int depth) {
    for (const Inst& inst : b.insts) instruction(inst, depth);
    indent(depth);
    out_ += "yield " + list(b.yields, false) + "\n";
  }

  void instruction(const Inst& inst, int depth) {
    indent(depth);
    if (!inst.results.empty()) out_ += list(inst.results, true) + " = ";
    out_ += op_name(inst.op);
    char buf[64];
    switch (inst.op) {
      case Op::const_f:
        std::snprintf(buf, sizeof buf, " %.9g", static_cast<double>(inst.fimm));
        out_ += buf;
        break;
      case Op::const_i:
        out_ += " " + std::to_string(static_cast<std::int32_t>(inst.imm));
        break;
      case Op::const_b:
        out_ += inst.imm != 0 ? " true" : " false";
        break;
      case Op::input:
      case Op::uniform:
      case Op::query:
        out_ += " #" + std::to_string(inst.imm);
        break;
      case Op::fbm2:
      case Op::fbm3:
        out_ += inst.imm != 0 ? "[turbulence]" : "[fbm]";
        break;
      case Op::tex_sample:
      case Op::tex_lod:
        out_ += "[slot " + std::to_string(inst.imm) + "]";
        break;
      default:
        break;
    }
    if (inst.op == Op::if_) {
      out_ += " " + list(inst.args, false) + " {\n";
      if (inst.blocks.size() > 0) block(inst.blocks[0], depth + 1);
      indent(depth);
      out_ += "} else {\n";
      if (inst.blocks.size() > 1) block(inst.blocks[1], depth + 1);
      indent(depth);
      out_ += "}\n";
      return;
    }
    if (inst.op == Op::loop) {
      out_ += " (" + list(inst.args, false) + ")";
      if (inst.blocks.size() == 2) {
        out_ += " cond(" + list(inst.blocks[0].params, true) + ") {\n";
        block(inst.blocks[0], depth + 1);
        indent(depth);
        out_ += "} body(" + list(inst.blocks[1].params, true) + ") {\n";
        block(inst.blocks[1], depth + 1);
        indent(depth);
        out_ += "}\n";
      } else {
        out_ += " <malformed>\n";
      }
      return;
    }
    if (!inst.args.empty()) out_ += " " + list(inst.args, false);
    out_ += "\n";
  }

  const Function& fn_;
  const std::vector<bool>* uniformity_;
  std::string out_;
};

// ---------------------------------------------------------------------------------------------
// verify

class Verifier {
 public:
  explicit Verifier(const Function& fn)
      : fn_(fn), defined_(fn.value_types.size(), false), visible_(fn.value_types.size(), false) {}

  void run() {
    block(fn_.body, "function body");
    if (fn_.input_count < 0 || fn_.uniform_count < 0 || fn_.query_count < 0) fail("negative column count");
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw_internal_error("well-formed IR", __FILE__, __LINE__, "malformed OpenFL IR: " + what);
  }

  ScalarType type_of(ValueId v) const { return fn_.value_types[v]; }

  void define(ValueId v, std::vector<ValueId>& scope) {
    if (v >= fn_.value_types.size()) fail("value %" + std::to_string(v) + " has no type");
    if (defined_[v]) fail("value %" + std::to_string(v) + " is defined twice");
    defined_[v] = true;
    visible_[v] = true;
    scope.push_back(v);
  }

  void use(ValueId v, const Inst* at) const {
    const std::string where = at != nullptr ? std::string(" in ") + std::string(op_name(at->op)) : " in a yield";
    if (v >= fn_.value_types.size()) fail("use of unknown value %" + std::to_string(v) + where);
    if (!visible_[v]) fail("value %" + std::to_string(v) + " used before its definition or out of scope" + where);
  }

  void expect(ValueId v, ScalarType t, const Inst& inst, std::size_t k) const {
    if (type_of(v) != t)
      fail(std::string(op_name(inst.op)) + " argument " + std::to_string(k) + " (%" + std::to_string(v) + ") is " +
           std::string(type_name(type_of(v))) + ", expected " + std::string(type_name(t)));
  }

  // Checks a nested block; its definitions go out of scope at its end.
  void block(const Block& b, const char* what, const std::vector<ValueId>* param_types_from = nullptr) {
    std::vector<ValueId> scope;
    for (std::size_t k = 0; k < b.params.size(); ++k) {
      define(b.params[k], scope);
      if (param_types_from != nullptr && type_of(b.params[k]) != type_of((*param_types_from)[k]))
        fail(std::string(what) + " parameter " + std::to_string(k) + " type differs from the carried value");
    }
    for (const Inst& inst : b.insts) instruction(inst, scope);
    for (ValueId y : b.yields) use(y, nullptr);
    for (ValueId v : scope) visible_[v] = false;
    (void)what;
  }

  void yields_match(const Block& b, const std::vector<ValueId>& results, const char* what) const {
    if (b.yields.size() != results.size())
      fail(std::string(what) + " yields " + std::to_string(b.yields.size()) + " values, expected " +
           std::to_string(results.size()));
    for (std::size_t k = 0; k < results.size(); ++k)
      if (type_of(b.yields[k]) != type_of(results[k]))
        fail(std::string(what) + " yield " + std::to_string(k) + " has the wrong type");
  }

  void instruction(const Inst& inst, std::vector<ValueId>& scope) {
    for (std::size_t k = 0; k < inst.args.size(); ++k) use(inst.args[k], &inst);
    const std::string name(op_name(inst.op));
    if (inst.op == Op::if_) {
      if (inst.args.size() != 1) fail("if_ needs exactly one argument");
      expect(inst.args[0], ScalarType::b1, inst, 0);
      if (inst.blocks.size() != 2) fail("if_ needs two blocks");
      for (ValueId r : inst.results)
        if (r >= fn_.value_types.size()) fail("if_ result without type");
      for (int s = 0; s < 2; ++s) {
        if (!inst.blocks[s].params.empty()) fail("if_ blocks take no parameters");
        block(inst.blocks[s], s == 0 ? "if_ then block" : "if_ else block");
        yields_match(inst.blocks[s], inst.results, s == 0 ? "if_ then block" : "if_ else block");
      }
      for (ValueId r : inst.results) define(r, scope);
      return;
    }
    if (inst.op == Op::loop) {
      if (inst.blocks.size() != 2) fail("loop needs two blocks");
      const Block& cond = inst.blocks[0];
      const Block& body = inst.blocks[1];
      const std::size_t n = inst.args.size();
      if (inst.results.size() != n || cond.params.size() != n || body.params.size() != n)
        fail("loop carried value counts differ (args " + std::to_string(n) + ", results " +
             std::to_string(inst.results.size()) + ", cond params " + std::to_string(cond.params.size()) +
             ", body params " + std::to_string(body.params.size()) + ")");
      for (ValueId r : inst.results)
        if (r >= fn_.value_types.size()) fail("loop result without type");
      for (std::size_t k = 0; k < n; ++k)
        if (type_of(inst.results[k]) != type_of(inst.args[k])) fail("loop result type differs from its initial value");
      block(cond, "loop cond block", &inst.args);
      if (cond.yields.size() != 1 || type_of(cond.yields[0]) != ScalarType::b1)
        fail("loop cond block must yield one b1");
      block(body, "loop body block", &inst.args);
      yields_match(body, inst.results, "loop body block");
      for (ValueId r : inst.results) define(r, scope);
      return;
    }
    if (!inst.blocks.empty()) fail(name + " cannot own blocks");
    const Signature sig = signature(inst.op);
    const std::size_t want_results = static_cast<std::size_t>(result_count(inst.op));
    if (inst.results.size() != want_results)
      fail(name + " has " + std::to_string(inst.results.size()) + " results, expected " + std::to_string(want_results));
    for (ValueId r : inst.results) define(r, scope);
    if (inst.op == Op::select) {
      if (inst.args.size() != 3) fail("select needs 3 arguments");
      expect(inst.args[0], ScalarType::b1, inst, 0);
      expect(inst.args[1], type_of(inst.results[0]), inst, 1);
      expect(inst.args[2], type_of(inst.results[0]), inst, 2);
      return;
    }
    if (inst.args.size() != sig.args.size())
      fail(name + " has " + std::to_string(inst.args.size()) + " arguments, expected " +
           std::to_string(sig.args.size()));
    for (std::size_t k = 0; k < sig.args.size(); ++k) expect(inst.args[k], sig.args[k], inst, k);
    for (std::size_t k = 0; k < sig.results.size(); ++k)
      if (type_of(inst.results[k]) != sig.results[k])
        fail(name + " result " + std::to_string(k) + " has the wrong type");
    switch (inst.op) {
      case Op::input:
        if (static_cast<int>(inst.imm) >= fn_.input_count)
          fail("input column " + std::to_string(inst.imm) + " out of range");
        break;
      case Op::uniform:
        if (static_cast<int>(inst.imm) >= fn_.uniform_count)
          fail("uniform column " + std::to_string(inst.imm) + " out of range");
        break;
      case Op::query:
        if (static_cast<int>(inst.imm) >= fn_.query_count)
          fail("query column " + std::to_string(inst.imm) + " out of range");
        break;
      case Op::const_b:
        if (inst.imm > 1) fail("const_b immediate must be 0 or 1");
        break;
      case Op::fbm2:
      case Op::fbm3:
        if (inst.imm > 1) fail("fbm immediate must be 0 or 1");
        break;
      default:
        break;
    }
  }

  const Function& fn_;
  std::vector<bool> defined_;
  std::vector<bool> visible_;
};

}  // namespace

std::string dump(const Function& fn, const std::vector<bool>* uniformity) { return Dumper(fn, uniformity).run(); }

void verify(const Function& fn) { Verifier(fn).run(); }

}  // namespace fabforge::openfl::ir
