// Lowering of a checked OpenFL phase to scalar SSA IR with structured control flow.
//
// Every variable is a vector of scalar components; the lowering keeps a flat "state" of the
// current ValueId of every component of every live variable (the locals of each inlined call
// frame, the surface phase's outs, and the return / break / continue flags), which makes SSA
// construction over structured control flow simple:
//  - an `if` lowers both sides from the same state and yields the components that differ (phis);
//  - a loop carries every live component through block parameters, lowers its condition and
//    body, then drops the carried values the body leaves alone;
//  - `return`, `break` and `continue` set flags; the statements after one that may have set a
//    flag are nested in an `if` on the flags, and a loop's condition includes !broken && !returned.
// User functions are inlined at every call (the language has no recursion). Builtins lower to
// the scalar ops of scalar_math.hpp; multi-component ones go through composite.hpp with an IR
// value handle, so the operations and their order are exactly the reference interpreter's.

#include <algorithm>
#include <bit>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "fabforge/core/error.hpp"
#include "fabforge/openfl/ast.hpp"
#include "fabforge/openfl/composite.hpp"
#include "fabforge/openfl/host.hpp"
#include "fabforge/openfl/ir.hpp"
#include "fabforge/openfl/program.hpp"

#include "lower_internal.hpp"

namespace fabforge::openfl {

namespace {

using ast::BinaryOp;
using ast::Expr;
using ast::ExprKind;
using ast::NameKind;
using ast::Stmt;
using ast::StmtKind;
using ir::kNoValue;
using ir::Op;
using ir::ScalarType;
using ir::ValueId;
using Vals = std::vector<ValueId>;

ScalarType scalar_of(Type t) {
  switch (t) {
    case Type::bool_:
      return ScalarType::b1;
    case Type::int_:
    case Type::material:
      return ScalarType::i32;
    default:
      return ScalarType::f32;
  }
}

class Lowerer;

/// An IR float value for composite.hpp: each arithmetic operator emits one instruction.
struct FV {
  Lowerer* lw = nullptr;
  ValueId v = kNoValue;
};
FV operator+(const FV& a, const FV& b);
FV operator-(const FV& a, const FV& b);
FV operator*(const FV& a, const FV& b);
FV operator/(const FV& a, const FV& b);
FV operator-(const FV& a);
FV sqrt_of(const FV& a);
FV sin_of(const FV& a);
FV cos_of(const FV& a);
FV constant_like(const FV& any, float value);

class Lowerer {
 public:
  Lowerer(const Program& program, Phase phase)
      : program_(program), module_(program.module()), fablet_(program.fablet()), phase_(phase) {}

  ir::Function run();

  // ---- emission ----
  /// Inlining every call can blow up exponentially (f calls g twice, g calls h twice, ...); past
  /// this many scalar values the fablet is rejected instead of exhausting memory.
  static constexpr std::size_t kMaxValues = std::size_t{1} << 20;
  void check_size() {
    if (fn_.value_types.size() > kMaxValues) {
      throw input_error(module_.file->name() + ": fablet '" + fablet_.name + "' is too large to compile (more than " +
                        std::to_string(kMaxValues) + " scalar operations once its function calls are inlined)");
    }
  }
  ValueId emit(Op op, ScalarType t, Vals args, std::uint32_t imm = 0) {
    check_size();
    ir::Inst inst;
    inst.op = op;
    inst.imm = imm;
    inst.args = std::move(args);
    const ValueId r = fn_.new_value(t);
    inst.results = {r};
    cur_->push_back(std::move(inst));
    return r;
  }
  Vals emit_multi(Op op, int n, Vals args, std::uint32_t imm = 0) {
    check_size();
    ir::Inst inst;
    inst.op = op;
    inst.imm = imm;
    inst.args = std::move(args);
    for (int k = 0; k < n; ++k) inst.results.push_back(fn_.new_value(ScalarType::f32));
    Vals r = inst.results;
    cur_->push_back(std::move(inst));
    return r;
  }
  ValueId f1(Op op, ValueId a) { return emit(op, ScalarType::f32, {a}); }
  ValueId f2(Op op, ValueId a, ValueId b) { return emit(op, ScalarType::f32, {a, b}); }

  ValueId constant(ScalarType t, std::uint32_t bits) {
    const auto key = std::make_pair(static_cast<int>(t), bits);
    if (auto it = const_cache_.find(key); it != const_cache_.end()) return it->second;
    ir::Inst inst;
    inst.op = t == ScalarType::f32 ? Op::const_f : (t == ScalarType::i32 ? Op::const_i : Op::const_b);
    if (t == ScalarType::f32) {
      inst.fimm = std::bit_cast<float>(bits);
    } else {
      inst.imm = bits;
    }
    const ValueId r = fn_.new_value(t);
    inst.results = {r};
    prologue_.push_back(std::move(inst));
    const_cache_[key] = r;
    known_[r] = bits;
    return r;
  }
  ValueId cf(float f) { return constant(ScalarType::f32, std::bit_cast<std::uint32_t>(f)); }
  ValueId ci(std::int32_t i) { return constant(ScalarType::i32, static_cast<std::uint32_t>(i)); }
  ValueId cb(bool b) { return constant(ScalarType::b1, b ? 1u : 0u); }

 private:
  struct Loop {
    std::size_t broken = 0, continued = 0;
  };
  struct Frame {
    const ast::Function* fn = nullptr;
    std::vector<std::size_t> local_offset;  ///< state index of each local slot's first component
    std::size_t returned = 0;               ///< state index of the return flag
    std::size_t result = 0;                 ///< state index of the return value's first component
    std::vector<Loop> loops;
  };

  // ---- small helpers ----
  int width(Type t) const { return t == Type::mixture ? program_.material_count() : component_count(t); }
  bool known_bool(ValueId v, bool& value) const {
    const auto it = known_.find(v);
    if (it == known_.end()) return false;
    value = it->second != 0;
    return true;
  }
  bool is_known(ValueId v, bool value) const {
    bool b = false;
    return known_bool(v, b) && b == value;
  }
  ValueId b_not(ValueId a) {
    bool k = false;
    if (known_bool(a, k)) return cb(!k);
    return emit(Op::bnot, ScalarType::b1, {a});
  }
  ValueId b_or(ValueId a, ValueId b) {
    if (is_known(a, true) || is_known(b, true)) return cb(true);
    if (is_known(a, false)) return b;
    if (is_known(b, false)) return a;
    return emit(Op::bor, ScalarType::b1, {a, b});
  }
  ValueId b_and(ValueId a, ValueId b) {
    if (is_known(a, false) || is_known(b, false)) return cb(false);
    if (is_known(a, true)) return b;
    if (is_known(b, true)) return a;
    return emit(Op::band, ScalarType::b1, {a, b});
  }
  Vals zeros(Type t) {
    const ScalarType s = scalar_of(t);
    return Vals(static_cast<std::size_t>(width(t)), constant(s, 0));
  }
  std::size_t alloc(Type t, Vals init) {
    const std::size_t at = state_.size();
    const int n = width(t);
    for (int k = 0; k < n; ++k) {
      state_.push_back(init.empty() ? kNoValue : init[static_cast<std::size_t>(k)]);
      state_types_.push_back(scalar_of(t));
    }
    return at;
  }
  void truncate(std::size_t n) {
    state_.resize(n);
    state_types_.resize(n);
  }
  Vals read(std::size_t at, int n) const {
    Vals v(state_.begin() + static_cast<std::ptrdiff_t>(at), state_.begin() + static_cast<std::ptrdiff_t>(at + n));
    for (ValueId x : v) FABFORGE_CHECK(x != kNoValue, "read of a variable before its declaration");
    return v;
  }
  void write(std::size_t at, const Vals& v) {
    for (std::size_t k = 0; k < v.size(); ++k) state_[at + k] = v[k];
  }

  ValueId input(int column) { return cached_leaf(inputs_, column, Op::input, ScalarType::f32); }
  ValueId query(int column) {
    used_query_ = true;
    return cached_leaf(queries_, column, Op::query, ScalarType::f32);
  }
  ValueId uniform_leaf(int column, ScalarType t) { return cached_leaf(uniforms_, column, Op::uniform, t); }
  ValueId cached_leaf(std::map<int, ValueId>& cache, int column, Op op, ScalarType t) {
    if (const auto it = cache.find(column); it != cache.end()) return it->second;
    const ValueId v = leaf(op, t, static_cast<std::uint32_t>(column));
    cache.emplace(column, v);
    return v;
  }
  ValueId leaf(Op op, ScalarType t, std::uint32_t imm) {
    ir::Inst inst;
    inst.op = op;
    inst.imm = imm;
    const ValueId r = fn_.new_value(t);
    inst.results = {r};
    prologue_.push_back(std::move(inst));
    return r;
  }

  // ---- control flow ----
  void emit_if(ValueId cond, const std::function<void()>& then_fn, const std::function<void()>& else_fn);
  ValueId active_flag(bool include_continue);
  void statements(const std::vector<std::unique_ptr<Stmt>>& list, std::size_t from);
  void statement(const Stmt& s);
  void loop(const Stmt& s);
  Vals call_function(const ast::Function& f, std::vector<Vals> args);
  void begin_frame(const ast::Function& f, std::vector<Vals> args);
  Vals end_frame();

  // ---- expressions ----
  Vals expr(const Expr& e);
  Vals expr_as(const Expr& e, Type to) { return convert(expr(e), e.type, to); }
  Vals arg(const Expr& e, std::size_t k) {
    const Expr& a = *e.args[k];
    return k < e.converted_arg_types.size() ? expr_as(a, e.converted_arg_types[k]) : expr(a);
  }
  Type arg_type(const Expr& e, std::size_t k) const {
    return k < e.converted_arg_types.size() ? e.converted_arg_types[k] : e.args[k]->type;
  }
  Vals convert(Vals v, Type from, Type to) {
    if (from == Type::int_ && is_float_based(to)) {
      for (ValueId& x : v) x = emit(Op::itof, ScalarType::f32, {x});
    }
    return v;
  }
  Vals constant_value(const Value& value);
  Vals name(const Expr& e);
  Vals unary(const Expr& e);
  Vals binary(BinaryOp op, const Vals& a, Type ta, const Vals& b, Type tb, Type result);
  Vals construct(const Expr& e);
  Vals index(const Expr& e);
  ValueId clamped_index(const Expr& index_expr, int count);
  Vals call(const Expr& e);
  Vals builtin(const Expr& e);
  Vals geometry(BuiltinFn fn, const std::vector<Vals>& a, const std::vector<Type>& types);
  Vals map_n(Op op, const std::vector<Vals>& args, std::size_t n);
  Vals mixture(const Expr& e);
  void assign(const Expr& target, Vals value);

  std::vector<FV> fv(const Vals& v) {
    std::vector<FV> r;
    for (ValueId x : v) r.push_back(FV{this, x});
    return r;
  }
  static Vals vals(const std::vector<FV>& v) {
    Vals r;
    for (const FV& x : v) r.push_back(x.v);
    return r;
  }

  const Program& program_;
  const ast::Module& module_;
  const ast::Fablet& fablet_;
  Phase phase_;
  ir::Function fn_;
  std::vector<ir::Inst> prologue_;
  std::vector<ir::Inst>* cur_ = nullptr;
  std::map<std::pair<int, std::uint32_t>, ValueId> const_cache_;
  std::unordered_map<ValueId, std::uint32_t> known_;
  std::map<int, ValueId> inputs_, queries_, uniforms_;
  bool used_query_ = false;
  std::vector<ValueId> state_;
  std::vector<ScalarType> state_types_;
  std::vector<Frame> frames_;
  std::size_t outs_at_ = 0;
};

FV operator+(const FV& a, const FV& b) { return {a.lw, a.lw->f2(Op::fadd, a.v, b.v)}; }
FV operator-(const FV& a, const FV& b) { return {a.lw, a.lw->f2(Op::fsub, a.v, b.v)}; }
FV operator*(const FV& a, const FV& b) { return {a.lw, a.lw->f2(Op::fmul, a.v, b.v)}; }
FV operator/(const FV& a, const FV& b) { return {a.lw, a.lw->f2(Op::fdiv, a.v, b.v)}; }
FV operator-(const FV& a) { return {a.lw, a.lw->f1(Op::fneg, a.v)}; }
FV sqrt_of(const FV& a) { return {a.lw, a.lw->f1(Op::fsqrt, a.v)}; }
FV sin_of(const FV& a) { return {a.lw, a.lw->f1(Op::fsin, a.v)}; }
FV cos_of(const FV& a) { return {a.lw, a.lw->f1(Op::fcos, a.v)}; }
FV constant_like(const FV& any, float value) { return {any.lw, any.lw->cf(value)}; }

// ---------------------------------------------------------------------------------------------
// phases

ir::Function Lowerer::run() {
  fn_.file = module_.file;
  fn_.input_count = program_.input_columns(phase_);
  fn_.uniform_count = program_.uniform_columns();
  std::vector<ir::Inst> main;
  cur_ = &main;
  Vals outputs;
  const ast::Function* f = phase_ == Phase::surface ? fablet_.surface.get() : fablet_.volume.get();
  if (phase_ == Phase::surface) {
    outs_at_ = state_.size();
    for (int k = 0; k < program_.out_columns(); ++k) {
      state_.push_back(cf(0.0f));
      state_types_.push_back(ScalarType::f32);
    }
  }
  if (f == nullptr) {
    if (phase_ == Phase::surface) {
      outputs = {input(0), input(1), input(2)};
      for (int k = 0; k < program_.out_columns(); ++k) outputs.push_back(cf(0.0f));
    } else {
      for (int k = 0; k < program_.material_count(); ++k) outputs.push_back(cf(k == 0 ? 1.0f : 0.0f));
    }
  } else {
    std::vector<Vals> args;
    int column = 0;
    for (const ast::Param& p : f->params) {
      Vals v;
      for (int k = 0; k < component_count(p.type); ++k) v.push_back(input(column++));
      args.push_back(std::move(v));
    }
    outputs = call_function(*f, std::move(args));
    if (phase_ == Phase::surface) {
      const Vals outs = read(outs_at_, program_.out_columns());
      outputs.insert(outputs.end(), outs.begin(), outs.end());
    }
  }
  fn_.query_count = used_query_ ? kQueryOuts + program_.out_columns() : 0;
  fn_.body.insts = std::move(prologue_);
  for (ir::Inst& inst : main) fn_.body.insts.push_back(std::move(inst));
  fn_.body.yields = std::move(outputs);
  return std::move(fn_);
}

void Lowerer::begin_frame(const ast::Function& f, std::vector<Vals> args) {
  Frame fr;
  fr.fn = &f;
  for (Type t : f.local_types) fr.local_offset.push_back(alloc(t, {}));
  for (std::size_t k = 0; k < f.params.size() && k < args.size(); ++k) {
    const int slot = f.params[k].local >= 0 ? f.params[k].local : static_cast<int>(k);
    write(fr.local_offset[static_cast<std::size_t>(slot)], args[k]);
  }
  fr.returned = alloc(Type::bool_, {cb(false)});
  fr.result = alloc(f.return_type, zeros(f.return_type));
  frames_.push_back(std::move(fr));
}

Vals Lowerer::end_frame() {
  Frame& fr = frames_.back();
  Vals result = read(fr.result, width(fr.fn->return_type));
  const std::size_t base = fr.local_offset.empty() ? fr.returned : fr.local_offset.front();
  frames_.pop_back();
  truncate(base);
  return result;
}

Vals Lowerer::call_function(const ast::Function& f, std::vector<Vals> args) {
  begin_frame(f, std::move(args));
  if (f.body) statement(*f.body);
  return end_frame();
}

// ---------------------------------------------------------------------------------------------
// statements

void Lowerer::emit_if(ValueId cond, const std::function<void()>& then_fn, const std::function<void()>& else_fn) {
  bool k = false;
  if (known_bool(cond, k)) {
    if (k && then_fn) then_fn();
    if (!k && else_fn) else_fn();
    return;
  }
  const std::vector<ValueId> before = state_;
  ir::Inst inst;
  inst.op = Op::if_;
  inst.args = {cond};
  inst.blocks.resize(2);
  std::vector<ir::Inst>* outer = cur_;
  cur_ = &inst.blocks[0].insts;
  if (then_fn) then_fn();
  const std::vector<ValueId> after_then = state_;
  state_ = before;
  cur_ = &inst.blocks[1].insts;
  if (else_fn) else_fn();
  const std::vector<ValueId> after_else = state_;
  cur_ = outer;
  FABFORGE_CHECK(after_then.size() == before.size() && after_else.size() == before.size(),
                 "branches changed the variable layout");
  for (std::size_t s = 0; s < before.size(); ++s) {
    const ValueId a = after_then[s], b = after_else[s];
    if (a == b) {
      state_[s] = a;
    } else if (a == kNoValue || b == kNoValue) {
      state_[s] = kNoValue;  // declared in one branch only: out of scope now
    } else {
      const ValueId r = fn_.new_value(state_types_[s]);
      inst.blocks[0].yields.push_back(a);
      inst.blocks[1].yields.push_back(b);
      inst.results.push_back(r);
      state_[s] = r;
    }
  }
  cur_->push_back(std::move(inst));
}

// !(returned || broken || continued) for the current frame and its innermost loop.
ValueId Lowerer::active_flag(bool include_continue) {
  const Frame& fr = frames_.back();
  ValueId any = state_[fr.returned];
  if (!fr.loops.empty()) {
    any = b_or(any, state_[fr.loops.back().broken]);
    if (include_continue) any = b_or(any, state_[fr.loops.back().continued]);
  }
  return b_not(any);
}

void Lowerer::statements(const std::vector<std::unique_ptr<Stmt>>& list, std::size_t from) {
  for (std::size_t i = from; i < list.size(); ++i) {
    statement(*list[i]);
    if (i + 1 == list.size()) return;
    const ValueId active = active_flag(true);
    if (is_known(active, true)) continue;
    if (is_known(active, false)) return;  // the rest is unreachable
    emit_if(
        active, [&] { statements(list, i + 1); }, nullptr);
    return;
  }
}

void Lowerer::statement(const Stmt& s) {
  // Note: lowering an expression may inline a call and grow frames_, so no reference to the
  // current frame is held across one.
  switch (s.kind) {
    case StmtKind::block:
      statements(s.body, 0);
      return;
    case StmtKind::decl: {
      if (s.local < 0) return;
      const Vals v = s.expr ? expr_as(*s.expr, s.decl_type) : zeros(s.decl_type);
      write(frames_.back().local_offset[static_cast<std::size_t>(s.local)], v);
      return;
    }
    case StmtKind::assign: {
      const Type target = s.target->type;
      if (s.assign_op == ast::AssignOp::set) {
        assign(*s.target, expr_as(*s.expr, target));
        return;
      }
      static constexpr BinaryOp kOps[] = {BinaryOp::add, BinaryOp::add, BinaryOp::sub,
                                          BinaryOp::mul, BinaryOp::div, BinaryOp::mod};
      Type rhs = s.expr->type;
      if (rhs == Type::int_ && (is_float_based(target) || target == Type::mixture)) rhs = Type::float_;
      const Vals current = expr(*s.target);
      const Vals value = expr_as(*s.expr, rhs);
      assign(*s.target, binary(kOps[static_cast<int>(s.assign_op)], current, target, value, rhs, target));
      return;
    }
    case StmtKind::if_: {
      const ValueId c = expr(*s.expr)[0];
      const Stmt* then_stmt = s.then_stmt.get();
      const Stmt* else_stmt = s.else_stmt.get();
      emit_if(
          c,
          [&] {
            if (then_stmt) statement(*then_stmt);
          },
          [&] {
            if (else_stmt) statement(*else_stmt);
          });
      return;
    }
    case StmtKind::for_:
    case StmtKind::while_:
      loop(s);
      return;
    case StmtKind::break_:
      FABFORGE_CHECK(!frames_.back().loops.empty(), "break outside a loop");
      state_[frames_.back().loops.back().broken] = cb(true);
      return;
    case StmtKind::continue_:
      FABFORGE_CHECK(!frames_.back().loops.empty(), "continue outside a loop");
      state_[frames_.back().loops.back().continued] = cb(true);
      return;
    case StmtKind::return_:
      if (s.expr) {
        const Vals v = expr_as(*s.expr, frames_.back().fn->return_type);
        write(frames_.back().result, v);
      }
      state_[frames_.back().returned] = cb(true);
      return;
    case StmtKind::expr:
      if (s.expr) expr(*s.expr);
      return;
  }
}

void substitute(ir::Block& b, const std::unordered_map<ValueId, ValueId>& map) {
  auto fix = [&](ValueId& v) {
    if (auto it = map.find(v); it != map.end()) v = it->second;
  };
  for (ir::Inst& inst : b.insts) {
    for (ValueId& a : inst.args) fix(a);
    for (ir::Block& nested : inst.blocks) substitute(nested, map);
  }
  for (ValueId& y : b.yields) fix(y);
}

void Lowerer::loop(const Stmt& s) {
  if (s.kind == StmtKind::for_ && s.init) statement(*s.init);
  const std::size_t flags_at = state_.size();
  Loop lp;
  lp.broken = alloc(Type::bool_, {cb(false)});
  lp.continued = alloc(Type::bool_, {cb(false)});
  frames_.back().loops.push_back(lp);
  const std::size_t returned = frames_.back().returned;

  // Every live component except `continued` (reset each iteration) is carried; the ones the
  // body leaves alone are dropped below.
  const std::vector<ValueId> entry = state_;
  std::vector<std::size_t> carried;
  for (std::size_t k = 0; k < entry.size(); ++k)
    if (entry[k] != kNoValue && k != lp.continued) carried.push_back(k);

  ir::Inst inst;
  inst.op = Op::loop;
  inst.range = s.range;
  inst.blocks.resize(2);
  ir::Block& cond = inst.blocks[0];
  ir::Block& body = inst.blocks[1];
  for (std::size_t k : carried) {
    inst.args.push_back(entry[k]);
    cond.params.push_back(fn_.new_value(state_types_[k]));
    body.params.push_back(fn_.new_value(state_types_[k]));
  }
  std::vector<ir::Inst>* outer = cur_;

  // condition: !(returned || broken) && cond
  for (std::size_t j = 0; j < carried.size(); ++j) state_[carried[j]] = cond.params[j];
  cur_ = &cond.insts;
  ValueId c = s.expr ? expr(*s.expr)[0] : cb(true);
  c = b_and(b_not(b_or(state_[returned], state_[lp.broken])), c);
  cond.yields = {c};

  // body: the condition held, so the flags are false on entry
  state_ = entry;
  for (std::size_t j = 0; j < carried.size(); ++j) state_[carried[j]] = body.params[j];
  state_[returned] = cb(false);
  state_[lp.broken] = cb(false);
  state_[lp.continued] = cb(false);
  cur_ = &body.insts;
  if (s.body_stmt) statement(*s.body_stmt);
  if (s.kind == StmtKind::for_ && s.step) {
    const Stmt* step = s.step.get();
    emit_if(
        active_flag(false), [&] { statement(*step); }, nullptr);
  }
  FABFORGE_CHECK(state_.size() == entry.size(), "loop body changed the variable layout");
  for (std::size_t k : carried) body.yields.push_back(state_[k]);
  cur_ = outer;

  // Drop carried values that stay at their initial value.
  std::unordered_map<ValueId, ValueId> fixed;
  std::vector<bool> keep(carried.size(), true);
  for (std::size_t j = 0; j < carried.size(); ++j) {
    if (body.yields[j] == body.params[j] || body.yields[j] == inst.args[j]) {
      keep[j] = false;
      fixed[cond.params[j]] = inst.args[j];
      fixed[body.params[j]] = inst.args[j];
    }
  }
  substitute(cond, fixed);
  substitute(body, fixed);
  state_ = entry;
  std::vector<ValueId> args, cparams, bparams, yields;
  for (std::size_t j = 0; j < carried.size(); ++j) {
    if (!keep[j]) continue;
    args.push_back(inst.args[j]);
    cparams.push_back(cond.params[j]);
    bparams.push_back(body.params[j]);
    yields.push_back(body.yields[j]);
    const ValueId r = fn_.new_value(state_types_[carried[j]]);
    inst.results.push_back(r);
    state_[carried[j]] = r;
  }
  inst.args = std::move(args);
  cond.params = std::move(cparams);
  body.params = std::move(bparams);
  body.yields = std::move(yields);
  cur_->push_back(std::move(inst));
  frames_.back().loops.pop_back();
  truncate(flags_at);
}

void Lowerer::assign(const Expr& target, Vals value) {
  switch (target.kind) {
    case ExprKind::name: {
      if (target.name_kind == NameKind::local) {
        write(frames_.back().local_offset[static_cast<std::size_t>(target.name_index)], value);
      } else if (target.name_kind == NameKind::out) {
        FABFORGE_CHECK(phase_ == Phase::surface, "out assigned outside the surface phase");
        const auto& out = fablet_.outs[static_cast<std::size_t>(target.name_index)];
        write(outs_at_ + static_cast<std::size_t>(out.first_column), value);
      } else {
        FABFORGE_CHECK(false, "assignment to a name that is not a variable");
      }
      return;
    }
    case ExprKind::swizzle: {
      Vals whole = expr(*target.args[0]);
      for (std::size_t k = 0; k < target.swizzle.size(); ++k)
        whole[static_cast<std::size_t>(target.swizzle[k])] = value[k];
      assign(*target.args[0], std::move(whole));
      return;
    }
    case ExprKind::index: {
      const Expr& base = *target.args[0];
      Vals whole = expr(base);
      const int elem = is_matrix(base.type) ? (base.type == Type::mat3 ? 3 : 4) : 1;
      const int count = static_cast<int>(whole.size()) / elem;
      if (target.args[1]->constant) {
        const int i = target.args[1]->constant->i;
        for (int r = 0; r < elem; ++r)
          whole[static_cast<std::size_t>(i * elem + r)] = value[static_cast<std::size_t>(r)];
      } else {
        const ValueId idx = clamped_index(*target.args[1], count);
        for (int k = 0; k < count; ++k) {
          const ValueId hit = emit(Op::ieq, ScalarType::b1, {idx, ci(k)});
          for (int r = 0; r < elem; ++r) {
            ValueId& slot = whole[static_cast<std::size_t>(k * elem + r)];
            slot = emit(Op::select, fn_.value_types[slot], {hit, value[static_cast<std::size_t>(r)], slot});
          }
        }
      }
      assign(base, std::move(whole));
      return;
    }
    default:
      FABFORGE_CHECK(false, "assignment to an expression that is not an lvalue");
  }
}

// ---------------------------------------------------------------------------------------------
// expressions

Vals Lowerer::constant_value(const Value& value) {
  switch (value.type) {
    case Type::bool_:
      return {cb(value.b)};
    case Type::int_:
    case Type::material:
      return {ci(value.i)};
    default: {
      Vals v;
      for (int k = 0; k < component_count(value.type); ++k) v.push_back(cf(value.f[static_cast<std::size_t>(k)]));
      return v;
    }
  }
}

Vals Lowerer::expr(const Expr& e) {
  if (e.constant && e.constant->type != Type::error) return constant_value(*e.constant);
  switch (e.kind) {
    case ExprKind::bool_lit:
      return {cb(e.bool_value)};
    case ExprKind::int_lit:
      return {ci(static_cast<std::int32_t>(e.int_value))};
    case ExprKind::float_lit:
      return {cf(static_cast<float>(e.float_value))};
    case ExprKind::string_lit:
      return {};
    case ExprKind::name:
      return name(e);
    case ExprKind::unary:
      return unary(e);
    case ExprKind::binary:
      return binary(e.binary_op, arg(e, 0), arg_type(e, 0), arg(e, 1), arg_type(e, 1), e.type);
    case ExprKind::ternary: {
      const ValueId c = expr(*e.args[0])[0];
      const Vals a = expr_as(*e.args[1], e.type), b = expr_as(*e.args[2], e.type);
      Vals r;
      for (std::size_t k = 0; k < a.size(); ++k) r.push_back(emit(Op::select, fn_.value_types[a[k]], {c, a[k], b[k]}));
      return r;
    }
    case ExprKind::call:
      return call(e);
    case ExprKind::construct:
      return construct(e);
    case ExprKind::swizzle: {
      const Vals base = expr(*e.args[0]);
      Vals r;
      for (int k : e.swizzle) r.push_back(base[static_cast<std::size_t>(k)]);
      return r;
    }
    case ExprKind::index:
      return index(e);
  }
  return {};
}

Vals Lowerer::name(const Expr& e) {
  switch (e.name_kind) {
    case NameKind::local: {
      const Frame& fr = frames_.back();
      return read(fr.local_offset[static_cast<std::size_t>(e.name_index)], width(e.type));
    }
    case NameKind::uniform: {
      const UniformInfo& u = program_.uniforms()[static_cast<std::size_t>(e.name_index)];
      if (u.type == Type::material) return {ci(u.slot)};
      if (u.type == Type::texture) return {};
      Vals v;
      for (int k = 0; k < component_count(u.type); ++k)
        v.push_back(uniform_leaf(u.first_column + k, scalar_of(u.type)));
      return v;
    }
    case NameKind::out: {
      const auto& out = fablet_.outs[static_cast<std::size_t>(e.name_index)];
      const int n = component_count(out.type);
      if (phase_ == Phase::surface) return read(outs_at_ + static_cast<std::size_t>(out.first_column), n);
      Vals v;
      for (int k = 0; k < n; ++k) v.push_back(query(kQueryOuts + out.first_column + k));
      return v;
    }
    case NameKind::constant:
      FABFORGE_CHECK(e.constant.has_value(), "constant without a value");
      return constant_value(*e.constant);
    case NameKind::unresolved:
      break;
  }
  FABFORGE_CHECK(false, "unresolved name '" + e.text + "'");
  return {};
}

Vals Lowerer::unary(const Expr& e) {
  const Type t = arg_type(e, 0);
  Vals a = arg(e, 0);
  switch (e.unary_op) {
    case ast::UnaryOp::plus:
      return a;
    case ast::UnaryOp::not_:
      return {emit(Op::bnot, ScalarType::b1, {a[0]})};
    case ast::UnaryOp::neg:
      for (ValueId& x : a) x = t == Type::int_ ? emit(Op::ineg, ScalarType::i32, {x}) : f1(Op::fneg, x);
      return a;
  }
  return a;
}

Vals Lowerer::map_n(Op op, const std::vector<Vals>& args, std::size_t n) {
  const ir::Signature sig = ir::signature(op);
  const ScalarType t = sig.results.empty() ? ScalarType::f32 : sig.results[0];
  Vals r;
  for (std::size_t k = 0; k < n; ++k) {
    Vals a;
    for (const Vals& v : args) a.push_back(v.size() == 1 ? v[0] : v[k]);
    r.push_back(emit(op, t, std::move(a)));
  }
  return r;
}

Vals Lowerer::binary(BinaryOp op, const Vals& a, Type ta, const Vals& b, Type tb, Type result) {
  switch (op) {
    case BinaryOp::and_:
      return {emit(Op::band, ScalarType::b1, {a[0], b[0]})};
    case BinaryOp::or_:
      return {emit(Op::bor, ScalarType::b1, {a[0], b[0]})};
    case BinaryOp::lt:
    case BinaryOp::le:
    case BinaryOp::gt:
    case BinaryOp::ge: {
      const bool is_int = ta == Type::int_;
      const bool strict = op == BinaryOp::lt || op == BinaryOp::gt;
      const Op o = is_int ? (strict ? Op::ilt : Op::ile) : (strict ? Op::flt : Op::fle);
      const bool swap = op == BinaryOp::gt || op == BinaryOp::ge;
      return {emit(o, ScalarType::b1, swap ? Vals{b[0], a[0]} : Vals{a[0], b[0]})};
    }
    case BinaryOp::eq:
    case BinaryOp::ne: {
      const bool eq = op == BinaryOp::eq;
      Op o = eq ? Op::feq : Op::fne;
      if (ta == Type::int_ || ta == Type::material) o = eq ? Op::ieq : Op::ine;
      if (ta == Type::bool_) o = eq ? Op::beq : Op::bne;
      return {emit(o, ScalarType::b1, {a[0], b[0]})};
    }
    default:
      break;
  }
  if (result == Type::int_) {
    static constexpr Op kInt[] = {Op::iadd, Op::isub, Op::imul, Op::idiv, Op::imod};
    return {emit(kInt[static_cast<int>(op)], ScalarType::i32, {a[0], b[0]})};
  }
  if (op == BinaryOp::mul && (is_matrix(ta) || is_matrix(tb)) && a.size() > 1 && b.size() > 1) {
    const int n = is_matrix(ta) ? (ta == Type::mat3 ? 3 : 4) : (tb == Type::mat3 ? 3 : 4);
    const std::vector<FV> x = fv(a), y = fv(b);
    std::vector<FV> out(static_cast<std::size_t>(is_matrix(ta) && is_matrix(tb) ? n * n : n));
    if (is_matrix(ta) && is_matrix(tb)) {
      composite::mat_mul(x.data(), y.data(), n, out.data());
    } else if (is_matrix(ta)) {
      composite::mat_vec(x.data(), y.data(), n, out.data());
    } else {
      composite::vec_mat(x.data(), y.data(), n, out.data());
    }
    return vals(out);
  }
  static constexpr Op kFloat[] = {Op::fadd, Op::fsub, Op::fmul, Op::fdiv, Op::fmod};
  return map_n(kFloat[static_cast<int>(op)], {a, b}, std::max(a.size(), b.size()));
}

Vals Lowerer::construct(const Expr& e) {
  const Type t = e.construct_type;
  if (t == Type::float_ || t == Type::int_ || t == Type::bool_) {
    const Type from = e.args[0]->type;
    const ValueId x = expr(*e.args[0])[0];
    const ScalarType fs = scalar_of(from), ts = scalar_of(t);
    if (fs == ts) return {x};
    static const std::map<std::pair<ScalarType, ScalarType>, Op> kConv = {
        {{ScalarType::i32, ScalarType::f32}, Op::itof}, {{ScalarType::b1, ScalarType::f32}, Op::btof},
        {{ScalarType::f32, ScalarType::i32}, Op::ftoi}, {{ScalarType::b1, ScalarType::i32}, Op::btoi},
        {{ScalarType::f32, ScalarType::b1}, Op::ftob},  {{ScalarType::i32, ScalarType::b1}, Op::itob}};
    return {emit(kConv.at({fs, ts}), ts, {x})};
  }
  Vals comps;
  for (std::size_t k = 0; k < e.args.size(); ++k) {
    const Type from = e.args[k]->type;
    Vals v = expr(*e.args[k]);
    if (scalar_of(from) == ScalarType::i32) {
      for (ValueId& x : v) x = emit(Op::itof, ScalarType::f32, {x});
    } else if (scalar_of(from) == ScalarType::b1) {
      for (ValueId& x : v) x = emit(Op::btof, ScalarType::f32, {x});
    }
    comps.insert(comps.end(), v.begin(), v.end());
  }
  const int n = component_count(t);
  if (comps.size() == 1 && n > 1) {
    if (is_matrix(t)) {
      const int size = t == Type::mat3 ? 3 : 4;
      Vals m(static_cast<std::size_t>(n), cf(0.0f));
      for (int d = 0; d < size; ++d) m[static_cast<std::size_t>(d * size + d)] = comps[0];
      return m;
    }
    return Vals(static_cast<std::size_t>(n), comps[0]);
  }
  FABFORGE_CHECK(static_cast<int>(comps.size()) == n, "constructor component count");
  return comps;
}

ValueId Lowerer::clamped_index(const Expr& index_expr, int count) {
  const ValueId i = expr(index_expr)[0];
  const ValueId lo = emit(Op::imax, ScalarType::i32, {i, ci(0)});
  return emit(Op::imin, ScalarType::i32, {lo, ci(count - 1)});
}

Vals Lowerer::index(const Expr& e) {
  const Expr& base_expr = *e.args[0];
  const Vals base = expr(base_expr);
  const int elem = is_matrix(base_expr.type) ? (base_expr.type == Type::mat3 ? 3 : 4) : 1;
  const int count = static_cast<int>(base.size()) / elem;
  Vals r;
  if (e.args[1]->constant) {
    const int i = std::clamp(e.args[1]->constant->i, 0, count - 1);
    for (int k = 0; k < elem; ++k) r.push_back(base[static_cast<std::size_t>(i * elem + k)]);
    return r;
  }
  const ValueId idx = clamped_index(*e.args[1], count);
  std::vector<ValueId> hits(static_cast<std::size_t>(count), kNoValue);
  for (int k = 1; k < count; ++k) hits[static_cast<std::size_t>(k)] = emit(Op::ieq, ScalarType::b1, {idx, ci(k)});
  for (int c = 0; c < elem; ++c) {
    ValueId v = base[static_cast<std::size_t>(c)];
    for (int k = 1; k < count; ++k)
      v = emit(Op::select, ScalarType::f32,
               {hits[static_cast<std::size_t>(k)], base[static_cast<std::size_t>(k * elem + c)], v});
    r.push_back(v);
  }
  return r;
}

Vals Lowerer::call(const Expr& e) {
  if (e.target.is_builtin) return builtin(e);
  FABFORGE_CHECK(e.target.function >= 0 && e.target.function < static_cast<int>(module_.functions.size()),
                 "call without a target");
  std::vector<Vals> args;
  for (std::size_t k = 0; k < e.args.size(); ++k) args.push_back(arg(e, k));
  return call_function(*module_.functions[static_cast<std::size_t>(e.target.function)], std::move(args));
}

Vals Lowerer::mixture(const Expr& e) {
  const int n = program_.material_count();
  Vals w(static_cast<std::size_t>(n), cf(0.0f));
  for (std::size_t k = 0; k + 1 < e.args.size(); k += 2) {
    const ValueId m = expr(*e.args[k])[0];
    const ValueId weight = expr_as(*e.args[k + 1], Type::float_)[0];
    const auto it = known_.find(m);
    for (int s = 0; s < n; ++s) {
      ValueId add = weight;
      if (it != known_.end()) {
        if (static_cast<std::int32_t>(it->second) != s) continue;
      } else {
        const ValueId hit = emit(Op::ieq, ScalarType::b1, {m, ci(s)});
        add = emit(Op::select, ScalarType::f32, {hit, weight, cf(0.0f)});
      }
      w[static_cast<std::size_t>(s)] = f2(Op::fadd, w[static_cast<std::size_t>(s)], add);
    }
  }
  return w;
}

Vals Lowerer::geometry(BuiltinFn fn, const std::vector<Vals>& a, const std::vector<Type>& types) {
  const int n = static_cast<int>(a[0].size());
  std::vector<FV> x = fv(a[0]);
  std::vector<FV> y = a.size() > 1 ? fv(a[1]) : std::vector<FV>{};
  std::vector<FV> out(static_cast<std::size_t>(n));
  const int size = types[0] == Type::mat3 ? 3 : 4;
  switch (fn) {
    case BuiltinFn::length:
      return {composite::length(x.data(), n).v};
    case BuiltinFn::distance:
      return {composite::distance(x.data(), y.data(), n).v};
    case BuiltinFn::dot:
      return {composite::dot(x.data(), y.data(), n).v};
    case BuiltinFn::cross:
      composite::cross(x.data(), y.data(), out.data());
      return vals(out);
    case BuiltinFn::normalize:
      composite::normalize(x.data(), n, out.data());
      return vals(out);
    case BuiltinFn::reflect:
      composite::reflect(x.data(), y.data(), n, out.data());
      return vals(out);
    case BuiltinFn::luminance:
      return {composite::luminance(x.data()).v};
    case BuiltinFn::transpose:
      composite::transpose(x.data(), size, out.data());
      return vals(out);
    case BuiltinFn::determinant:
      return {composite::determinant(x.data(), size).v};
    case BuiltinFn::inverse:
      composite::inverse(x.data(), size, out.data());
      return vals(out);
    case BuiltinFn::rotate_x:
    case BuiltinFn::rotate_y:
    case BuiltinFn::rotate_z: {
      std::vector<FV> m(9);
      const int axis = fn == BuiltinFn::rotate_x ? 0 : (fn == BuiltinFn::rotate_y ? 1 : 2);
      composite::rotation(axis, x[0], m.data());
      return vals(m);
    }
    default:
      break;
  }
  FABFORGE_CHECK(false, "not a geometry builtin");
  return {};
}

Vals Lowerer::builtin(const Expr& e) {
  const BuiltinFn fn = e.target.builtin;
  if (fn == BuiltinFn::mixture) return mixture(e);
  if (fn == BuiltinFn::sample || fn == BuiltinFn::sample_lod) {
    const Expr& t = *e.args[0];
    FABFORGE_CHECK(t.kind == ExprKind::name && t.name_kind == NameKind::uniform, "texture argument");
    const auto slot = static_cast<std::uint32_t>(program_.uniforms()[static_cast<std::size_t>(t.name_index)].slot);
    const Vals uv = arg(e, 1);
    if (fn == BuiltinFn::sample_lod) return emit_multi(Op::tex_lod, 4, {uv[0], uv[1], arg(e, 2)[0]}, slot);
    if (phase_ == Phase::surface) return emit_multi(Op::tex_sample, 4, {uv[0], uv[1]}, slot);
    return emit_multi(Op::tex_lod, 4, {uv[0], uv[1], cf(0.0f)}, slot);
  }
  std::vector<Vals> a;
  std::vector<Type> types;
  for (std::size_t k = 0; k < e.args.size(); ++k) {
    a.push_back(arg(e, k));
    types.push_back(arg_type(e, k));
  }
  const std::size_t n = static_cast<std::size_t>(std::max(width(e.type), 1));
  const bool is_int = e.type == Type::int_;
  // clang-format off
  switch (fn) {
    case BuiltinFn::abs: return map_n(is_int ? Op::iabs : Op::fabs, a, n);
    case BuiltinFn::sign: return map_n(is_int ? Op::isign : Op::fsign, a, n);
    case BuiltinFn::min: return map_n(is_int ? Op::imin : Op::fmin, a, n);
    case BuiltinFn::max: return map_n(is_int ? Op::imax : Op::fmax, a, n);
    case BuiltinFn::clamp: {
      const Vals lo = map_n(is_int ? Op::imax : Op::fmax, {a[0], a[1]}, n);
      return map_n(is_int ? Op::imin : Op::fmin, {lo, a[2]}, n);
    }
    case BuiltinFn::mix: {
      const Vals d = map_n(Op::fsub, {a[1], a[0]}, n);
      const Vals s = map_n(Op::fmul, {d, a[2]}, n);
      return map_n(Op::fadd, {a[0], s}, n);
    }
    case BuiltinFn::step: return map_n(Op::fstep, a, n);
    case BuiltinFn::smoothstep: return map_n(Op::fsmoothstep, a, n);
    case BuiltinFn::floor: return map_n(Op::ffloor, a, n);
    case BuiltinFn::ceil: return map_n(Op::fceil, a, n);
    case BuiltinFn::round: return map_n(Op::fround, a, n);
    case BuiltinFn::trunc: return map_n(Op::ftrunc, a, n);
    case BuiltinFn::fract: return map_n(Op::ffract, a, n);
    case BuiltinFn::mod: return map_n(Op::fmod, a, n);
    case BuiltinFn::sqrt: return map_n(Op::fsqrt, a, n);
    case BuiltinFn::inversesqrt: return map_n(Op::finvsqrt, a, n);
    case BuiltinFn::pow: return map_n(Op::fpow, a, n);
    case BuiltinFn::exp: return map_n(Op::fexp, a, n);
    case BuiltinFn::exp2: return map_n(Op::fexp2, a, n);
    case BuiltinFn::log: return map_n(Op::flog, a, n);
    case BuiltinFn::log2: return map_n(Op::flog2, a, n);
    case BuiltinFn::sin: return map_n(Op::fsin, a, n);
    case BuiltinFn::cos: return map_n(Op::fcos, a, n);
    case BuiltinFn::tan: return map_n(Op::ftan, a, n);
    case BuiltinFn::asin: return map_n(Op::fasin, a, n);
    case BuiltinFn::acos: return map_n(Op::facos, a, n);
    case BuiltinFn::atan: return map_n(Op::fatan, a, n);
    case BuiltinFn::atan2: return map_n(Op::fatan2, a, n);
    // sm::fradians / fdegrees: one multiplication by the same constant
    case BuiltinFn::radians: return map_n(Op::fmul, {a[0], {cf(0.0174532925199432957692f)}}, n);
    case BuiltinFn::degrees: return map_n(Op::fmul, {a[0], {cf(57.295779513082320876798f)}}, n);
    case BuiltinFn::length:
    case BuiltinFn::distance:
    case BuiltinFn::dot:
    case BuiltinFn::cross:
    case BuiltinFn::normalize:
    case BuiltinFn::reflect:
    case BuiltinFn::luminance:
    case BuiltinFn::transpose:
    case BuiltinFn::determinant:
    case BuiltinFn::inverse:
    case BuiltinFn::rotate_x:
    case BuiltinFn::rotate_y:
    case BuiltinFn::rotate_z:
      return geometry(fn, a, types);
    case BuiltinFn::noise:
      return {emit(a[0].size() == 2 ? Op::noise2 : Op::noise3, ScalarType::f32, a[0])};
    case BuiltinFn::fbm:
    case BuiltinFn::turbulence: {
      Vals args = a[0];
      args.push_back(a[1][0]);
      args.push_back(a.size() > 2 ? a[2][0] : cf(2.0f));
      args.push_back(a.size() > 3 ? a[3][0] : cf(0.5f));
      return {emit(a[0].size() == 2 ? Op::fbm2 : Op::fbm3, ScalarType::f32, std::move(args),
                   fn == BuiltinFn::turbulence ? 1u : 0u)};
    }
    case BuiltinFn::cellular:
      return emit_multi(a[0].size() == 2 ? Op::cellular2 : Op::cellular3, 2, a[0]);
    case BuiltinFn::surface_distance:
      return {f1(Op::fabs, query(kQuerySignedDistance))};
    case BuiltinFn::surface_signed_distance:
      return {query(kQuerySignedDistance)};
    case BuiltinFn::surface_point:
      return {query(kQueryPoint), query(kQueryPoint + 1), query(kQueryPoint + 2)};
    case BuiltinFn::surface_normal:
      return {query(kQueryNormal), query(kQueryNormal + 1), query(kQueryNormal + 2)};
    case BuiltinFn::empty:
      return zeros(Type::mixture);
    case BuiltinFn::weight: {
      const Vals& mix = a[0];
      const ValueId m = a[1][0];
      if (const auto it = known_.find(m); it != known_.end()) {
        const auto s = static_cast<std::int32_t>(it->second);
        return {s >= 0 && s < static_cast<std::int32_t>(mix.size()) ? mix[static_cast<std::size_t>(s)] : cf(0.0f)};
      }
      if (mix.empty()) return {cf(0.0f)};
      ValueId v = mix[0];
      for (std::size_t s = 1; s < mix.size(); ++s) {
        const ValueId hit = emit(Op::ieq, ScalarType::b1, {m, ci(static_cast<std::int32_t>(s))});
        v = emit(Op::select, ScalarType::f32, {hit, mix[s], v});
      }
      return {v};
    }
    default:
      break;
  }
  // clang-format on
  FABFORGE_CHECK(false, "builtin '" + std::string(builtin_name(fn)) + "' cannot be lowered");
  return {};
}

}  // namespace

ir::Function lower_phase(const Program& program, Phase phase) { return Lowerer(program, phase).run(); }

}  // namespace fabforge::openfl
