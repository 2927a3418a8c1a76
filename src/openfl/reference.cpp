// The reference interpreter: walks the checked syntax tree directly (no IR, no optimisation).
//
// It is the oracle of the differential tests, so it is written for clarity, following
// docs/openfl.md. Where the document leaves the order of float operations open it does what the
// IR lowering (lower.cpp) does, so that the batched interpreter must agree with it bit for bit:
// multi-component builtins and matrix products go through composite.hpp with T = float, every
// scalar operation through scalar_math.hpp, and control flow is walked with a per-lane mask the
// way the lowered, masked code runs (both operands of && || and both arms of ?: are evaluated;
// a loop evaluates its condition for every lane that ran the previous iteration, including lanes
// that broke or returned in it).
//
// Values carry one entry per lane of a group: the surface phase walks the 2x2 quads (items
// 4k..4k+3) together so that sample() sees the lod contract of host.hpp; the volume phase walks
// one item at a time.

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fabforge/core/error.hpp"
#include "fabforge/openfl/ast.hpp"
#include "fabforge/openfl/composite.hpp"
#include "fabforge/openfl/exec.hpp"
#include "fabforge/openfl/host.hpp"
#include "fabforge/openfl/noise.hpp"
#include "fabforge/openfl/program.hpp"
#include "fabforge/openfl/scalar_math.hpp"

namespace fabforge::openfl {

namespace {

using ast::BinaryOp;
using ast::Expr;
using ast::ExprKind;
using ast::NameKind;
using ast::Stmt;
using ast::StmtKind;

constexpr int kLanes = 4;
using Mask = std::array<bool, kLanes>;

bool any(const Mask& m) { return m[0] || m[1] || m[2] || m[3]; }
bool all(const Mask& m) { return m[0] && m[1] && m[2] && m[3]; }

/// One scalar component of a value across the lanes of a group. The field that holds it follows
/// from the static type: f for float-based types, i for int and material, b for bool.
struct Comp {
  std::array<float, kLanes> f{};
  std::array<std::int32_t, kLanes> i{};
  std::array<bool, kLanes> b{};
  void copy_lane(const Comp& from, int k) {
    f[static_cast<std::size_t>(k)] = from.f[static_cast<std::size_t>(k)];
    i[static_cast<std::size_t>(k)] = from.i[static_cast<std::size_t>(k)];
    b[static_cast<std::size_t>(k)] = from.b[static_cast<std::size_t>(k)];
  }
};

/// A value: its components (zero-initialised). Up to 16 components (mat4) are stored inline; wider
/// mixtures go to the heap.
class Val {
 public:
  Val() = default;
  explicit Val(int n) : n_(n) {
    if (n_ > kInline) heap_.resize(static_cast<std::size_t>(n_));
  }
  int size() const { return n_; }
  Comp& operator[](int k) {
    return n_ > kInline ? heap_[static_cast<std::size_t>(k)] : inline_[static_cast<std::size_t>(k)];
  }
  const Comp& operator[](int k) const {
    return n_ > kInline ? heap_[static_cast<std::size_t>(k)] : inline_[static_cast<std::size_t>(k)];
  }
  /// Component k, or component 0 of a one-component value (a broadcast scalar).
  const Comp& at(int k) const { return n_ == 1 ? (*this)[0] : (*this)[k]; }

 private:
  static constexpr int kInline = 16;
  int n_ = 0;
  std::array<Comp, kInline> inline_{};
  std::vector<Comp> heap_;
};

struct LoopFlags {
  Mask broken{};
  Mask continued{};
};

struct Frame {
  const ast::Function* fn = nullptr;
  std::vector<Val> locals;
  Val result;
  Mask returned{};
  std::vector<LoopFlags> loops;
};

/// What an interpreter holds: the program, the uniform values and the options.
struct Setup {
  std::shared_ptr<const Program> program;
  UniformValues values;
  ExecOptions options;
};

/// One run of one phase over one group of lanes at a time.
class Walker {
 public:
  Walker(const Setup& impl, Phase phase, const Host& host)
      : program_(*impl.program),
        module_(impl.program->module()),
        fablet_(impl.program->fablet()),
        values_(impl.values),
        options_(impl.options),
        phase_(phase),
        host_(host) {}

  void run(std::size_t n, const float* const* inputs, float* const* outputs);

 private:
  // ---- groups and lanes ----
  void run_group(std::size_t first, int lanes, const float* const* inputs, float* const* outputs);
  template <class Fn>
  void each_lane(const Mask& m, Fn fn) const {
    for (int k = 0; k < lanes_; ++k)
      if (m[static_cast<std::size_t>(k)]) fn(k);
  }
  int width(Type t) const { return t == Type::mixture ? program_.material_count() : component_count(t); }

  // ---- statements ----
  Val call_function(const ast::Function& f, std::vector<Val> args, const Mask& m);
  void statement(const Stmt& s, const Mask& m);
  void statements(const std::vector<std::unique_ptr<Stmt>>& list, Mask m);
  void loop(const Stmt& s, const Mask& m);
  /// Lanes of the current frame that have not returned, broken out of or continued the innermost
  /// loop.
  Mask still_running(bool include_continue) const;
  void store(const Expr& target, const Val& value, const Mask& m);
  [[noreturn]] void loop_cap_exceeded(const Stmt& s) const;

  // ---- expressions ----
  Val eval(const Expr& e, const Mask& m);
  Val eval_as(const Expr& e, Type to, const Mask& m) { return convert(eval(e, m), e.type, to); }
  Type arg_type(const Expr& e, std::size_t k) const {
    return k < e.converted_arg_types.size() ? e.converted_arg_types[k] : e.args[k]->type;
  }
  Val arg(const Expr& e, std::size_t k, const Mask& m) { return eval_as(*e.args[k], arg_type(e, k), m); }
  Val convert(Val v, Type from, Type to) const;
  Val constant(const Value& value) const;
  Val name(const Expr& e, const Mask& m);
  Val unary(const Expr& e, const Mask& m);
  Val binary(BinaryOp op, const Val& a, Type ta, const Val& b, Type tb, Type result, const Mask& m) const;
  Val construct(const Expr& e, const Mask& m);
  Val index(const Expr& e, const Mask& m);
  std::int32_t clamped(std::int32_t i, int count) const { return sm::imin(sm::imax(i, 0), count - 1); }
  Val call(const Expr& e, const Mask& m);
  Val builtin(const Expr& e, const Mask& m);
  Val geometry(BuiltinFn fn, const std::vector<Val>& a, const std::vector<Type>& types, int result_width,
               const Mask& m) const;
  Val texture(const Expr& e, const Mask& m);
  Val mixture(const Expr& e, const Mask& m);
  /// Surface query column `column` of lane k (volume phase); the query runs at first use.
  float query(int column, int k);

  // Component-wise application with broadcast of one-component arguments.
  template <class Fn>
  Val map1(int n, const Val& a, const Mask& m, Fn fn) const {
    Val r(n);
    for (int c = 0; c < n; ++c) each_lane(m, [&](int k) { fn(r[c], a.at(c), static_cast<std::size_t>(k)); });
    return r;
  }
  template <class Fn>
  Val map2(int n, const Val& a, const Val& b, const Mask& m, Fn fn) const {
    Val r(n);
    for (int c = 0; c < n; ++c) each_lane(m, [&](int k) { fn(r[c], a.at(c), b.at(c), static_cast<std::size_t>(k)); });
    return r;
  }
  template <class Fn>
  Val map3(int n, const Val& a, const Val& b, const Val& c3, const Mask& m, Fn fn) const {
    Val r(n);
    for (int c = 0; c < n; ++c)
      each_lane(m, [&](int k) { fn(r[c], a.at(c), b.at(c), c3.at(c), static_cast<std::size_t>(k)); });
    return r;
  }
  template <float (*F)(float)>
  Val float1(int n, const Val& a, const Mask& m) const {
    return map1(n, a, m, [](Comp& r, const Comp& x, std::size_t k) { r.f[k] = F(x.f[k]); });
  }
  template <float (*F)(float, float)>
  Val float2(int n, const Val& a, const Val& b, const Mask& m) const {
    return map2(n, a, b, m, [](Comp& r, const Comp& x, const Comp& y, std::size_t k) { r.f[k] = F(x.f[k], y.f[k]); });
  }
  template <std::int32_t (*F)(std::int32_t, std::int32_t)>
  Val int2(int n, const Val& a, const Val& b, const Mask& m) const {
    return map2(n, a, b, m, [](Comp& r, const Comp& x, const Comp& y, std::size_t k) { r.i[k] = F(x.i[k], y.i[k]); });
  }

  const Program& program_;
  const ast::Module& module_;
  const ast::Fablet& fablet_;
  const UniformValues& values_;
  const ExecOptions& options_;
  Phase phase_;
  const Host& host_;

  int lanes_ = 0;                       ///< lanes in the current group (1..4)
  std::array<float, kLanes * 3> p_{};   ///< the volume phase's P per lane (surface queries)
  std::array<bool, kLanes> queried_{};  ///< per lane: surface query done
  std::vector<float> queries_;          ///< [lane * columns + column]
  Val outs_;                            ///< surface phase: the out columns
  std::vector<Frame> frames_;
};

// ---------------------------------------------------------------------------------------------
// phases

void Walker::run(std::size_t n, const float* const* inputs, float* const* outputs) {
  const ast::Function* f = phase_ == Phase::surface ? fablet_.surface.get() : fablet_.volume.get();
  if (f == nullptr) {
    // The default phases: an undisplaced surface with zero outs; a volume of the first material.
    for (std::size_t i = 0; i < n; ++i) {
      if (phase_ == Phase::surface) {
        for (int c = 0; c < 3; ++c) outputs[c][i] = inputs[c][i];
        for (int c = 0; c < program_.out_columns(); ++c) outputs[3 + c][i] = 0.0f;
      } else {
        for (int c = 0; c < program_.material_count(); ++c) outputs[c][i] = c == 0 ? 1.0f : 0.0f;
      }
    }
    return;
  }
  const std::size_t group = phase_ == Phase::surface ? kLanes : 1;
  for (std::size_t first = 0; first < n; first += group) {
    run_group(first, static_cast<int>(std::min(group, n - first)), inputs, outputs);
  }
}

void Walker::run_group(std::size_t first, int lanes, const float* const* inputs, float* const* outputs) {
  const ast::Function& f = phase_ == Phase::surface ? *fablet_.surface : *fablet_.volume;
  lanes_ = lanes;
  Mask m{};
  for (int k = 0; k < lanes; ++k) m[static_cast<std::size_t>(k)] = true;
  queried_ = {};
  queries_.assign(static_cast<std::size_t>(kLanes * (kQueryOuts + program_.out_columns())), 0.0f);
  outs_ = Val(program_.out_columns());

  std::vector<Val> args;
  int column = 0;
  for (const ast::Param& p : f.params) {
    Val v(component_count(p.type));
    for (int c = 0; c < v.size(); ++c, ++column)
      for (int k = 0; k < lanes; ++k)
        v[c].f[static_cast<std::size_t>(k)] = inputs[column][first + static_cast<std::size_t>(k)];
    args.push_back(std::move(v));
  }
  if (phase_ == Phase::volume) {
    for (int k = 0; k < lanes; ++k)
      for (int c = 0; c < 3; ++c)
        p_[static_cast<std::size_t>(k * 3 + c)] = inputs[c][first + static_cast<std::size_t>(k)];
  }

  const Val result = call_function(f, std::move(args), m);

  for (int k = 0; k < lanes; ++k) {
    const std::size_t i = first + static_cast<std::size_t>(k);
    const auto lane = static_cast<std::size_t>(k);
    for (int c = 0; c < result.size(); ++c) outputs[c][i] = result[c].f[lane];
    if (phase_ == Phase::surface) {
      for (int c = 0; c < outs_.size(); ++c) outputs[3 + c][i] = outs_[c].f[lane];
    }
  }
}

float Walker::query(int column, int k) {
  const int columns = kQueryOuts + program_.out_columns();
  float* row = queries_.data() + static_cast<std::size_t>(k * columns);
  if (!queried_[static_cast<std::size_t>(k)]) {
    const float* xyz[3] = {&p_[static_cast<std::size_t>(k * 3)], &p_[static_cast<std::size_t>(k * 3 + 1)],
                           &p_[static_cast<std::size_t>(k * 3 + 2)]};
    std::vector<float*> cols;
    for (int c = 0; c < columns; ++c) cols.push_back(row + c);
    host_.surface_query(1, xyz, cols.data(), columns);
    queried_[static_cast<std::size_t>(k)] = true;
  }
  return row[column];
}

// ---------------------------------------------------------------------------------------------
// statements

Val Walker::call_function(const ast::Function& f, std::vector<Val> args, const Mask& m) {
  Frame fr;
  fr.fn = &f;
  for (Type t : f.local_types) fr.locals.emplace_back(width(t));
  for (std::size_t k = 0; k < f.params.size() && k < args.size(); ++k) {
    const int slot = f.params[k].local >= 0 ? f.params[k].local : static_cast<int>(k);
    fr.locals[static_cast<std::size_t>(slot)] = std::move(args[k]);
  }
  fr.result = Val(width(f.return_type));
  frames_.push_back(std::move(fr));
  if (f.body) statement(*f.body, m);
  Val result = std::move(frames_.back().result);
  frames_.pop_back();
  return result;
}

Mask Walker::still_running(bool include_continue) const {
  const Frame& fr = frames_.back();
  Mask r{};
  for (std::size_t k = 0; k < kLanes; ++k) {
    bool stopped = fr.returned[k];
    if (!fr.loops.empty()) {
      stopped = stopped || fr.loops.back().broken[k];
      if (include_continue) stopped = stopped || fr.loops.back().continued[k];
    }
    r[k] = !stopped;
  }
  return r;
}

void Walker::statements(const std::vector<std::unique_ptr<Stmt>>& list, Mask m) {
  for (const auto& s : list) {
    if (!any(m)) return;
    statement(*s, m);
    const Mask running = still_running(true);
    for (std::size_t k = 0; k < kLanes; ++k) m[k] = m[k] && running[k];
  }
}

void Walker::statement(const Stmt& s, const Mask& m) {
  // Evaluating an expression may call a function and grow frames_: no reference to a frame is
  // held across one.
  switch (s.kind) {
    case StmtKind::block:
      statements(s.body, m);
      return;
    case StmtKind::decl: {
      if (s.local < 0) return;
      const Val v = s.expr ? eval_as(*s.expr, s.decl_type, m) : Val(width(s.decl_type));
      Val& local = frames_.back().locals[static_cast<std::size_t>(s.local)];
      for (int c = 0; c < v.size(); ++c) each_lane(m, [&](int k) { local[c].copy_lane(v[c], k); });
      return;
    }
    case StmtKind::assign: {
      const Type target = s.target->type;
      if (s.assign_op == ast::AssignOp::set) {
        store(*s.target, eval_as(*s.expr, target, m), m);
        return;
      }
      static constexpr BinaryOp kOps[] = {BinaryOp::add, BinaryOp::add, BinaryOp::sub,
                                          BinaryOp::mul, BinaryOp::div, BinaryOp::mod};
      Type rhs = s.expr->type;
      if (rhs == Type::int_ && (is_float_based(target) || target == Type::mixture)) rhs = Type::float_;
      const Val current = eval(*s.target, m);
      const Val value = eval_as(*s.expr, rhs, m);
      store(*s.target, binary(kOps[static_cast<int>(s.assign_op)], current, target, value, rhs, target, m), m);
      return;
    }
    case StmtKind::if_: {
      const Val c = eval(*s.expr, m);
      Mask then_mask{}, else_mask{};
      each_lane(m, [&](int k) {
        const auto lane = static_cast<std::size_t>(k);
        then_mask[lane] = c[0].b[lane];
        else_mask[lane] = !c[0].b[lane];
      });
      if (s.then_stmt && any(then_mask)) statement(*s.then_stmt, then_mask);
      if (s.else_stmt && any(else_mask)) statement(*s.else_stmt, else_mask);
      return;
    }
    case StmtKind::for_:
    case StmtKind::while_:
      loop(s, m);
      return;
    case StmtKind::break_:
      FABFORGE_CHECK(!frames_.back().loops.empty(), "break outside a loop");
      each_lane(m, [&](int k) { frames_.back().loops.back().broken[static_cast<std::size_t>(k)] = true; });
      return;
    case StmtKind::continue_:
      FABFORGE_CHECK(!frames_.back().loops.empty(), "continue outside a loop");
      each_lane(m, [&](int k) { frames_.back().loops.back().continued[static_cast<std::size_t>(k)] = true; });
      return;
    case StmtKind::return_: {
      if (s.expr) {
        const Val v = eval_as(*s.expr, frames_.back().fn->return_type, m);
        Val& result = frames_.back().result;
        for (int c = 0; c < v.size() && c < result.size(); ++c)
          each_lane(m, [&](int k) { result[c].copy_lane(v[c], k); });
      }
      each_lane(m, [&](int k) { frames_.back().returned[static_cast<std::size_t>(k)] = true; });
      return;
    }
    case StmtKind::expr:
      if (s.expr) eval(*s.expr, m);
      return;
  }
}

void Walker::loop_cap_exceeded(const Stmt& s) const {
  const SourceFile& file = *module_.file;
  throw runtime_error(file.name() + ":" + std::to_string(file.line_of(s.range.begin)) + ":" +
                      std::to_string(file.column_of(s.range.begin)) + ": loop ran more than " +
                      std::to_string(options_.loop_cap) + " iterations");
}

void Walker::loop(const Stmt& s, const Mask& m) {
  if (s.kind == StmtKind::for_ && s.init) statement(*s.init, m);
  frames_.back().loops.push_back(LoopFlags{});
  // `live`: the lanes that ran the previous iteration (at first, the lanes entering the loop).
  // The condition is evaluated for all of them, as the lowered loop does; a lane stays when it
  // has neither returned nor broken and its condition holds.
  Mask live = m;
  for (std::uint32_t iteration = 0;; ++iteration) {
    Mask cond = live;
    if (s.expr) {
      const Val c = eval(*s.expr, live);
      each_lane(live, [&](int k) { cond[static_cast<std::size_t>(k)] = c[0].b[static_cast<std::size_t>(k)]; });
    }
    {
      const Frame& fr = frames_.back();
      for (std::size_t k = 0; k < kLanes; ++k)
        live[k] = live[k] && cond[k] && !fr.returned[k] && !fr.loops.back().broken[k];
    }
    if (!any(live)) break;
    if (iteration >= options_.loop_cap) loop_cap_exceeded(s);
    frames_.back().loops.back().continued = {};
    if (s.body_stmt) statement(*s.body_stmt, live);
    if (s.kind == StmtKind::for_ && s.step) {
      // The step runs for the lanes that finished the body or continued.
      const Mask running = still_running(false);
      Mask step{};
      for (std::size_t k = 0; k < kLanes; ++k) step[k] = live[k] && running[k];
      if (any(step)) statement(*s.step, step);
    }
  }
  frames_.back().loops.pop_back();
}

void Walker::store(const Expr& target, const Val& value, const Mask& m) {
  switch (target.kind) {
    case ExprKind::name: {
      Val* dst = nullptr;
      int offset = 0;
      if (target.name_kind == NameKind::local) {
        dst = &frames_.back().locals[static_cast<std::size_t>(target.name_index)];
      } else if (target.name_kind == NameKind::out) {
        FABFORGE_CHECK(phase_ == Phase::surface, "out assigned outside the surface phase");
        dst = &outs_;
        offset = fablet_.outs[static_cast<std::size_t>(target.name_index)].first_column;
      }
      FABFORGE_CHECK(dst != nullptr, "assignment to a name that is not a variable");
      for (int c = 0; c < value.size(); ++c) each_lane(m, [&](int k) { (*dst)[offset + c].copy_lane(value[c], k); });
      return;
    }
    case ExprKind::swizzle: {
      Val whole = eval(*target.args[0], m);
      for (std::size_t j = 0; j < target.swizzle.size(); ++j) whole[target.swizzle[j]] = value[static_cast<int>(j)];
      store(*target.args[0], whole, m);
      return;
    }
    case ExprKind::index: {
      const Expr& base = *target.args[0];
      Val whole = eval(base, m);
      const int elem = is_matrix(base.type) ? (base.type == Type::mat3 ? 3 : 4) : 1;
      const int count = whole.size() / elem;
      if (target.args[1]->constant) {
        const int i = target.args[1]->constant->i;
        for (int r = 0; r < elem; ++r) whole[i * elem + r] = value[r];
      } else {
        const Val idx = eval(*target.args[1], m);
        each_lane(m, [&](int k) {
          const std::int32_t i = clamped(idx[0].i[static_cast<std::size_t>(k)], count);
          for (int r = 0; r < elem; ++r) whole[i * elem + r].copy_lane(value[r], k);
        });
      }
      store(base, whole, m);
      return;
    }
    default:
      FABFORGE_CHECK(false, "assignment to an expression that is not an lvalue");
  }
}

// ---------------------------------------------------------------------------------------------
// expressions

Val Walker::convert(Val v, Type from, Type to) const {
  if (from == Type::int_ && is_float_based(to)) {
    for (int c = 0; c < v.size(); ++c)
      for (std::size_t k = 0; k < kLanes; ++k) v[c].f[k] = sm::itof(v[c].i[k]);
  }
  return v;
}

Val Walker::constant(const Value& value) const {
  const int n = value.type == Type::bool_ || value.type == Type::int_ || value.type == Type::material
                    ? 1
                    : component_count(value.type);
  Val r(n);
  for (int c = 0; c < n; ++c) {
    r[c].f.fill(value.f[static_cast<std::size_t>(c)]);
    r[c].i.fill(value.i);
    r[c].b.fill(value.b);
  }
  return r;
}

Val Walker::eval(const Expr& e, const Mask& m) {
  if (e.constant && e.constant->type != Type::error) return constant(*e.constant);
  switch (e.kind) {
    case ExprKind::bool_lit:
      return constant(Value::of_bool(e.bool_value));
    case ExprKind::int_lit:
      return constant(Value::of_int(static_cast<std::int32_t>(e.int_value)));
    case ExprKind::float_lit:
      return constant(Value::of_float(static_cast<float>(e.float_value)));
    case ExprKind::string_lit:
      return Val();
    case ExprKind::name:
      return name(e, m);
    case ExprKind::unary:
      return unary(e, m);
    case ExprKind::binary:
      return binary(e.binary_op, arg(e, 0, m), arg_type(e, 0), arg(e, 1, m), arg_type(e, 1), e.type, m);
    case ExprKind::ternary: {
      // Both arms are evaluated (eager evaluation), then one is selected per lane.
      const Val c = eval(*e.args[0], m);
      const Val a = eval_as(*e.args[1], e.type, m);
      const Val b = eval_as(*e.args[2], e.type, m);
      Val r(a.size());
      for (int j = 0; j < a.size(); ++j)
        each_lane(m, [&](int k) { r[j].copy_lane(c[0].b[static_cast<std::size_t>(k)] ? a[j] : b[j], k); });
      return r;
    }
    case ExprKind::call:
      return call(e, m);
    case ExprKind::construct:
      return construct(e, m);
    case ExprKind::swizzle: {
      const Val base = eval(*e.args[0], m);
      Val r(static_cast<int>(e.swizzle.size()));
      for (std::size_t j = 0; j < e.swizzle.size(); ++j) r[static_cast<int>(j)] = base[e.swizzle[j]];
      return r;
    }
    case ExprKind::index:
      return index(e, m);
  }
  return Val();
}

Val Walker::name(const Expr& e, const Mask& m) {
  switch (e.name_kind) {
    case NameKind::local:
      return frames_.back().locals[static_cast<std::size_t>(e.name_index)];
    case NameKind::uniform: {
      const UniformInfo& u = program_.uniforms()[static_cast<std::size_t>(e.name_index)];
      if (u.type == Type::material) return constant(Value{Type::material, {}, u.slot, false});
      if (u.type == Type::texture) return Val();
      return constant(values_.values[static_cast<std::size_t>(e.name_index)]);
    }
    case NameKind::out: {
      const ast::OutDecl& out = fablet_.outs[static_cast<std::size_t>(e.name_index)];
      const int n = component_count(out.type);
      Val r(n);
      for (int c = 0; c < n; ++c) {
        if (phase_ == Phase::surface) {
          r[c] = outs_[out.first_column + c];
        } else {
          each_lane(m,
                    [&](int k) { r[c].f[static_cast<std::size_t>(k)] = query(kQueryOuts + out.first_column + c, k); });
        }
      }
      return r;
    }
    case NameKind::constant:
      FABFORGE_CHECK(e.constant.has_value(), "constant without a value");
      return constant(*e.constant);
    case NameKind::unresolved:
      break;
  }
  FABFORGE_CHECK(false, "unresolved name '" + e.text + "'");
  return Val();
}

Val Walker::unary(const Expr& e, const Mask& m) {
  const Type t = arg_type(e, 0);
  const Val a = arg(e, 0, m);
  switch (e.unary_op) {
    case ast::UnaryOp::plus:
      return a;
    case ast::UnaryOp::not_:
      return map1(1, a, m, [](Comp& r, const Comp& x, std::size_t k) { r.b[k] = !x.b[k]; });
    case ast::UnaryOp::neg:
      if (t == Type::int_)
        return map1(1, a, m, [](Comp& r, const Comp& x, std::size_t k) { r.i[k] = sm::ineg(x.i[k]); });
      return map1(a.size(), a, m, [](Comp& r, const Comp& x, std::size_t k) { r.f[k] = -x.f[k]; });
  }
  return a;
}

float fadd(float a, float b) { return a + b; }
float fsub(float a, float b) { return a - b; }
float fmul(float a, float b) { return a * b; }
float fdiv(float a, float b) { return a / b; }

Val Walker::binary(BinaryOp op, const Val& a, Type ta, const Val& b, Type tb, Type result, const Mask& m) const {
  const bool is_int = ta == Type::int_;
  switch (op) {
    case BinaryOp::and_:
      return map2(1, a, b, m, [](Comp& r, const Comp& x, const Comp& y, std::size_t k) { r.b[k] = x.b[k] && y.b[k]; });
    case BinaryOp::or_:
      return map2(1, a, b, m, [](Comp& r, const Comp& x, const Comp& y, std::size_t k) { r.b[k] = x.b[k] || y.b[k]; });
    case BinaryOp::lt:
    case BinaryOp::le:
    case BinaryOp::gt:
    case BinaryOp::ge: {
      // a > b is b < a and a >= b is b <= a (the same for NaN: every ordered comparison is false).
      const bool strict = op == BinaryOp::lt || op == BinaryOp::gt;
      const bool swap = op == BinaryOp::gt || op == BinaryOp::ge;
      const Val& x = swap ? b : a;
      const Val& y = swap ? a : b;
      return map2(1, x, y, m, [&](Comp& r, const Comp& p, const Comp& q, std::size_t k) {
        if (is_int) {
          r.b[k] = strict ? p.i[k] < q.i[k] : p.i[k] <= q.i[k];
        } else {
          r.b[k] = strict ? p.f[k] < q.f[k] : p.f[k] <= q.f[k];
        }
      });
    }
    case BinaryOp::eq:
    case BinaryOp::ne: {
      const bool eq = op == BinaryOp::eq;
      return map2(1, a, b, m, [&](Comp& r, const Comp& p, const Comp& q, std::size_t k) {
        bool same = false;
        if (ta == Type::int_ || ta == Type::material) {
          same = p.i[k] == q.i[k];
        } else if (ta == Type::bool_) {
          same = p.b[k] == q.b[k];
        } else {
          same = p.f[k] == q.f[k];
        }
        r.b[k] = eq == same;  // NaN: == false, != true
      });
    }
    default:
      break;
  }
  if (result == Type::int_) {
    switch (op) {
      case BinaryOp::add:
        return int2<sm::iadd>(1, a, b, m);
      case BinaryOp::sub:
        return int2<sm::isub>(1, a, b, m);
      case BinaryOp::mul:
        return int2<sm::imul>(1, a, b, m);
      case BinaryOp::div:
        return int2<sm::idiv>(1, a, b, m);
      default:
        return int2<sm::imod>(1, a, b, m);
    }
  }
  if (op == BinaryOp::mul && (is_matrix(ta) || is_matrix(tb)) && a.size() > 1 && b.size() > 1) {
    // The linear-algebra products, through composite.hpp lane by lane.
    const int n = is_matrix(ta) ? (ta == Type::mat3 ? 3 : 4) : (tb == Type::mat3 ? 3 : 4);
    const int out_size = is_matrix(ta) && is_matrix(tb) ? n * n : n;
    Val r(out_size);
    each_lane(m, [&](int k) {
      const auto lane = static_cast<std::size_t>(k);
      float x[16], y[16], out[16];
      for (int c = 0; c < a.size(); ++c) x[c] = a[c].f[lane];
      for (int c = 0; c < b.size(); ++c) y[c] = b[c].f[lane];
      if (is_matrix(ta) && is_matrix(tb)) {
        composite::mat_mul(x, y, n, out);
      } else if (is_matrix(ta)) {
        composite::mat_vec(x, y, n, out);
      } else {
        composite::vec_mat(x, y, n, out);
      }
      for (int c = 0; c < out_size; ++c) r[c].f[lane] = out[c];
    });
    return r;
  }
  // Component-wise on floats, vectors, matrices and mixtures; a scalar operand is broadcast.
  const int n = std::max(a.size(), b.size());
  switch (op) {
    case BinaryOp::add:
      return float2<fadd>(n, a, b, m);
    case BinaryOp::sub:
      return float2<fsub>(n, a, b, m);
    case BinaryOp::mul:
      return float2<fmul>(n, a, b, m);
    case BinaryOp::div:
      return float2<fdiv>(n, a, b, m);
    default:
      return float2<sm::fmod>(n, a, b, m);
  }
}

Val Walker::construct(const Expr& e, const Mask& m) {
  const Type t = e.construct_type;
  if (t == Type::float_ || t == Type::int_ || t == Type::bool_) {
    const Type from = e.args[0]->type;
    const Val x = eval(*e.args[0], m);
    const bool from_float = is_float_based(from), from_int = from == Type::int_ || from == Type::material;
    return map1(1, x, m, [&](Comp& r, const Comp& v, std::size_t k) {
      if (t == Type::float_) {
        r.f[k] = from_float ? v.f[k] : (from_int ? sm::itof(v.i[k]) : (v.b[k] ? 1.0f : 0.0f));
      } else if (t == Type::int_) {
        r.i[k] = from_int ? v.i[k] : (from_float ? sm::ftoi(v.f[k]) : (v.b[k] ? 1 : 0));
      } else {
        r.b[k] = from_float ? v.f[k] != 0.0f : (from_int ? v.i[k] != 0 : v.b[k]);
      }
    });
  }
  // Vectors and matrices: the components of every argument in order, ints and bools converted.
  std::vector<Comp> comps;
  for (const auto& a : e.args) {
    const Val v = eval(*a, m);
    for (int c = 0; c < v.size(); ++c) {
      Comp x = v[c];
      for (std::size_t k = 0; k < kLanes; ++k) {
        if (a->type == Type::int_) x.f[k] = sm::itof(x.i[k]);
        if (a->type == Type::bool_) x.f[k] = x.b[k] ? 1.0f : 0.0f;
      }
      comps.push_back(x);
    }
  }
  const int n = component_count(t);
  Val r(n);
  if (comps.size() == 1 && n > 1) {
    if (is_matrix(t)) {
      const int size = t == Type::mat3 ? 3 : 4;
      for (int d = 0; d < size; ++d) r[d * size + d] = comps[0];  // the rest stays +0
    } else {
      for (int c = 0; c < n; ++c) r[c] = comps[0];
    }
    return r;
  }
  FABFORGE_CHECK(static_cast<int>(comps.size()) == n, "constructor component count");
  for (int c = 0; c < n; ++c) r[c] = comps[static_cast<std::size_t>(c)];
  return r;
}

Val Walker::index(const Expr& e, const Mask& m) {
  const Expr& base_expr = *e.args[0];
  const Val base = eval(base_expr, m);
  const int elem = is_matrix(base_expr.type) ? (base_expr.type == Type::mat3 ? 3 : 4) : 1;
  const int count = base.size() / elem;
  Val r(elem);
  if (e.args[1]->constant) {
    const int i = std::clamp(e.args[1]->constant->i, 0, count - 1);
    for (int c = 0; c < elem; ++c) r[c] = base[i * elem + c];
    return r;
  }
  // A variable index is clamped to the valid range.
  const Val idx = eval(*e.args[1], m);
  each_lane(m, [&](int k) {
    const std::int32_t i = clamped(idx[0].i[static_cast<std::size_t>(k)], count);
    for (int c = 0; c < elem; ++c) r[c].copy_lane(base[i * elem + c], k);
  });
  return r;
}

Val Walker::call(const Expr& e, const Mask& m) {
  if (e.target.is_builtin) return builtin(e, m);
  FABFORGE_CHECK(e.target.function >= 0 && e.target.function < static_cast<int>(module_.functions.size()),
                 "call without a target");
  std::vector<Val> args;
  for (std::size_t k = 0; k < e.args.size(); ++k) args.push_back(arg(e, k, m));
  return call_function(*module_.functions[static_cast<std::size_t>(e.target.function)], std::move(args), m);
}

Val Walker::mixture(const Expr& e, const Mask& m) {
  // Weights start at +0; each (material, weight) pair adds its weight to its material, in order.
  const int n = program_.material_count();
  Val w(n);
  for (std::size_t j = 0; j + 1 < e.args.size(); j += 2) {
    const Val mat = eval(*e.args[j], m);
    const Val weight = eval_as(*e.args[j + 1], Type::float_, m);
    each_lane(m, [&](int k) {
      const auto lane = static_cast<std::size_t>(k);
      const std::int32_t s = mat[0].i[lane];
      if (s >= 0 && s < n) w[s].f[lane] = w[s].f[lane] + weight[0].f[lane];
    });
  }
  return w;
}

Val Walker::texture(const Expr& e, const Mask& m) {
  const Expr& t = *e.args[0];
  FABFORGE_CHECK(t.kind == ExprKind::name && t.name_kind == NameKind::uniform, "texture argument");
  const int slot = program_.uniforms()[static_cast<std::size_t>(t.name_index)].slot;
  const Val uv = arg(e, 1, m);
  std::array<float, kLanes> lod{};
  if (e.target.builtin == BuiltinFn::sample_lod) {
    const Val l = arg(e, 2, m);
    lod = l[0].f;
  } else if (phase_ == Phase::surface && lanes_ == kLanes && all(m)) {
    // host.hpp's lod contract: coarse derivatives across a full quad whose 4 lanes all reach the
    // call; otherwise the finest level.
    const float dudx = uv[0].f[1] - uv[0].f[0], dvdx = uv[1].f[1] - uv[1].f[0];
    const float dudy = uv[0].f[2] - uv[0].f[0], dvdy = uv[1].f[2] - uv[1].f[0];
    const float level =
        sm::flog2(sm::fmax(sm::fsqrt(dudx * dudx + dvdx * dvdx), sm::fsqrt(dudy * dudy + dvdy * dvdy))) +
        host_.texture_lod_bias(slot);
    lod.fill(level);
  }
  Val r(4);
  each_lane(m, [&](int k) {
    const auto lane = static_cast<std::size_t>(k);
    float rgba[4] = {0, 0, 0, 0};
    float* channels[4] = {&rgba[0], &rgba[1], &rgba[2], &rgba[3]};
    host_.sample(slot, 1, &uv[0].f[lane], &uv[1].f[lane], &lod[lane], channels);
    for (int c = 0; c < 4; ++c) r[c].f[lane] = rgba[c];
  });
  return r;
}

Val Walker::geometry(BuiltinFn fn, const std::vector<Val>& a, const std::vector<Type>& types, int result_width,
                     const Mask& m) const {
  const int n = a[0].size();
  const int size = types[0] == Type::mat3 ? 3 : 4;
  Val r(result_width);
  each_lane(m, [&](int k) {
    const auto lane = static_cast<std::size_t>(k);
    float x[16] = {}, y[16] = {}, out[16] = {};
    for (int c = 0; c < n; ++c) x[c] = a[0][c].f[lane];
    if (a.size() > 1)
      for (int c = 0; c < a[1].size(); ++c) y[c] = a[1][c].f[lane];
    switch (fn) {
      case BuiltinFn::length:
        out[0] = composite::length(x, n);
        break;
      case BuiltinFn::distance:
        out[0] = composite::distance(x, y, n);
        break;
      case BuiltinFn::dot:
        out[0] = composite::dot(x, y, n);
        break;
      case BuiltinFn::cross:
        composite::cross(x, y, out);
        break;
      case BuiltinFn::normalize:
        composite::normalize(x, n, out);
        break;
      case BuiltinFn::reflect:
        composite::reflect(x, y, n, out);
        break;
      case BuiltinFn::luminance:
        out[0] = composite::luminance(x);
        break;
      case BuiltinFn::transpose:
        composite::transpose(x, size, out);
        break;
      case BuiltinFn::determinant:
        out[0] = composite::determinant(x, size);
        break;
      case BuiltinFn::inverse:
        composite::inverse(x, size, out);
        break;
      case BuiltinFn::rotate_x:
        composite::rotation(0, x[0], out);
        break;
      case BuiltinFn::rotate_y:
        composite::rotation(1, x[0], out);
        break;
      case BuiltinFn::rotate_z:
        composite::rotation(2, x[0], out);
        break;
      default:
        FABFORGE_CHECK(false, "not a geometry builtin");
    }
    for (int c = 0; c < result_width; ++c) r[c].f[lane] = out[c];
  });
  return r;
}

Val Walker::builtin(const Expr& e, const Mask& m) {
  const BuiltinFn fn = e.target.builtin;
  if (fn == BuiltinFn::mixture) return mixture(e, m);
  if (fn == BuiltinFn::sample || fn == BuiltinFn::sample_lod) return texture(e, m);
  std::vector<Val> a;
  std::vector<Type> types;
  for (std::size_t k = 0; k < e.args.size(); ++k) {
    a.push_back(arg(e, k, m));
    types.push_back(arg_type(e, k));
  }
  const int n = std::max(width(e.type), 1);
  const bool is_int = e.type == Type::int_;
  using R = Comp&;
  using C = const Comp&;
  using L = std::size_t;
  // clang-format off
  switch (fn) {
    case BuiltinFn::abs:
      if (is_int) return map1(1, a[0], m, [](R r, C x, L k) { r.i[k] = sm::iabs(x.i[k]); });
      return float1<sm::fabs>(n, a[0], m);
    case BuiltinFn::sign:
      if (is_int) return map1(1, a[0], m, [](R r, C x, L k) { r.i[k] = sm::isign(x.i[k]); });
      return float1<sm::fsign>(n, a[0], m);
    case BuiltinFn::min: return is_int ? int2<sm::imin>(1, a[0], a[1], m) : float2<sm::fmin>(n, a[0], a[1], m);
    case BuiltinFn::max: return is_int ? int2<sm::imax>(1, a[0], a[1], m) : float2<sm::fmax>(n, a[0], a[1], m);
    case BuiltinFn::clamp:
      // min(max(x, lo), hi)
      if (is_int) return int2<sm::imin>(1, int2<sm::imax>(1, a[0], a[1], m), a[2], m);
      return float2<sm::fmin>(n, float2<sm::fmax>(n, a[0], a[1], m), a[2], m);
    case BuiltinFn::mix:
      // a + (b - a) * t, also on mixtures
      return float2<fadd>(n, a[0], float2<fmul>(n, float2<fsub>(n, a[1], a[0], m), a[2], m), m);
    case BuiltinFn::step: return float2<sm::fstep>(n, a[0], a[1], m);
    case BuiltinFn::smoothstep:
      return map3(n, a[0], a[1], a[2], m,
                  [](R r, C e0, C e1, C x, L k) { r.f[k] = sm::fsmoothstep(e0.f[k], e1.f[k], x.f[k]); });
    case BuiltinFn::floor: return float1<sm::ffloor>(n, a[0], m);
    case BuiltinFn::ceil: return float1<sm::fceil>(n, a[0], m);
    case BuiltinFn::round: return float1<sm::fround>(n, a[0], m);
    case BuiltinFn::trunc: return float1<sm::ftrunc>(n, a[0], m);
    case BuiltinFn::fract: return float1<sm::ffract>(n, a[0], m);
    case BuiltinFn::mod: return float2<sm::fmod>(n, a[0], a[1], m);
    case BuiltinFn::sqrt: return float1<sm::fsqrt>(n, a[0], m);
    case BuiltinFn::inversesqrt: return float1<sm::finvsqrt>(n, a[0], m);
    case BuiltinFn::pow: return float2<sm::fpow>(n, a[0], a[1], m);
    case BuiltinFn::exp: return float1<sm::fexp>(n, a[0], m);
    case BuiltinFn::exp2: return float1<sm::fexp2>(n, a[0], m);
    case BuiltinFn::log: return float1<sm::flog>(n, a[0], m);
    case BuiltinFn::log2: return float1<sm::flog2>(n, a[0], m);
    case BuiltinFn::sin: return float1<sm::fsin>(n, a[0], m);
    case BuiltinFn::cos: return float1<sm::fcos>(n, a[0], m);
    case BuiltinFn::tan: return float1<sm::ftan>(n, a[0], m);
    case BuiltinFn::asin: return float1<sm::fasin>(n, a[0], m);
    case BuiltinFn::acos: return float1<sm::facos>(n, a[0], m);
    case BuiltinFn::atan: return float1<sm::fatan>(n, a[0], m);
    case BuiltinFn::atan2: return float2<sm::fatan2>(n, a[0], a[1], m);
    case BuiltinFn::radians: return float1<sm::fradians>(n, a[0], m);
    case BuiltinFn::degrees: return float1<sm::fdegrees>(n, a[0], m);
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
      return geometry(fn, a, types, width(e.type), m);
    case BuiltinFn::noise:
      return map1(1, a[0], m, [&](R r, C, L k) {
        r.f[k] = a[0].size() == 2 ? noise::perlin2(a[0][0].f[k], a[0][1].f[k])
                                  : noise::perlin3(a[0][0].f[k], a[0][1].f[k], a[0][2].f[k]);
      });
    case BuiltinFn::fbm:
    case BuiltinFn::turbulence: {
      const bool turbulence = fn == BuiltinFn::turbulence;
      return map1(1, a[0], m, [&](R r, C, L k) {
        const std::int32_t octaves = a[1][0].i[k];
        const float lacunarity = a.size() > 2 ? a[2][0].f[k] : 2.0f;
        const float gain = a.size() > 3 ? a[3][0].f[k] : 0.5f;
        r.f[k] = a[0].size() == 2
                     ? noise::fbm2(a[0][0].f[k], a[0][1].f[k], octaves, lacunarity, gain, turbulence)
                     : noise::fbm3(a[0][0].f[k], a[0][1].f[k], a[0][2].f[k], octaves, lacunarity, gain, turbulence);
      });
    }
    case BuiltinFn::cellular: {
      Val r(2);
      each_lane(m, [&](int lane) {
        const auto k = static_cast<std::size_t>(lane);
        if (a[0].size() == 2) {
          noise::cellular2(a[0][0].f[k], a[0][1].f[k], r[0].f[k], r[1].f[k]);
        } else {
          noise::cellular3(a[0][0].f[k], a[0][1].f[k], a[0][2].f[k], r[0].f[k], r[1].f[k]);
        }
      });
      return r;
    }
    case BuiltinFn::surface_distance:
    case BuiltinFn::surface_signed_distance:
    case BuiltinFn::surface_point:
    case BuiltinFn::surface_normal: {
      const int first = fn == BuiltinFn::surface_point ? kQueryPoint
                        : fn == BuiltinFn::surface_normal ? kQueryNormal : kQuerySignedDistance;
      Val r(width(e.type));
      for (int c = 0; c < r.size(); ++c) {
        each_lane(m, [&](int k) {
          const float q = query(first + c, k);
          r[c].f[static_cast<std::size_t>(k)] = fn == BuiltinFn::surface_distance ? sm::fabs(q) : q;
        });
      }
      return r;
    }
    case BuiltinFn::empty:
      return Val(program_.material_count());
    case BuiltinFn::weight:
      return map1(1, a[1], m, [&](R r, C mat, L k) {
        const std::int32_t s = mat.i[k];
        r.f[k] = s >= 0 && s < a[0].size() ? a[0][s].f[k] : 0.0f;
      });
    default:
      break;
  }
  // clang-format on
  FABFORGE_CHECK(false, "builtin '" + std::string(builtin_name(fn)) + "' cannot be evaluated");
  return Val();
}

}  // namespace

struct ReferenceInterpreter::Impl : Setup {};

ReferenceInterpreter::ReferenceInterpreter(std::shared_ptr<const Program> program, UniformValues values,
                                           ExecOptions options)
    : impl_(std::make_unique<Impl>()) {
  FABFORGE_CHECK(program != nullptr, "a ReferenceInterpreter needs a program");
  program->check_complete(values);
  values.values.resize(program->uniforms().size());
  values.texts.resize(program->uniforms().size());
  impl_->program = std::move(program);
  impl_->values = std::move(values);
  impl_->options = options;
}

ReferenceInterpreter::~ReferenceInterpreter() = default;

void ReferenceInterpreter::run(Phase phase, const Host& host, std::size_t n, const float* const* inputs,
                               float* const* outputs) const {
  Walker(*impl_, phase, host).run(n, inputs, outputs);
}

}  // namespace fabforge::openfl
