// The OpenFL type checker: name resolution, types, overloads, constants, local slots and the
// semantic rules of docs/openfl.md. Reports every error it finds; an expression whose type could
// not be determined gets Type::error, which every later rule accepts silently (no cascades).

#include "checker.hpp"

#include <algorithm>
#include <limits>
#include <string>
#include <unordered_map>

#include "fabforge/core/text.hpp"

namespace fabforge::openfl {

namespace {

using ast::BinaryOp;
using ast::Expr;
using ast::ExprKind;
using ast::Function;
using ast::FunctionKind;
using ast::NameKind;
using ast::Stmt;
using ast::StmtKind;

std::string in_quotes(std::string_view s) { return "'" + std::string(s) + "'"; }
std::string tn(Type t) { return std::string(type_name(t)); }

bool converts_to(Type from, Type to) { return from == to || (from == Type::int_ && to == Type::float_); }

/// The operand types after conversion and the result type of a binary operator; Type::error
/// when the operands are invalid.
struct BinaryTyping {
  Type left = Type::error, right = Type::error, result = Type::error;
};

BinaryTyping type_binary(BinaryOp op, Type a, Type b) {
  BinaryTyping t;
  const bool numeric_a = a == Type::int_ || is_float_based(a);
  const bool numeric_b = b == Type::int_ || is_float_based(b);
  auto with = [&](Type l, Type r, Type result) {
    t.left = l;
    t.right = r;
    t.result = result;
    return t;
  };
  switch (op) {
    case BinaryOp::and_:
    case BinaryOp::or_:
      if (a == Type::bool_ && b == Type::bool_) return with(a, b, Type::bool_);
      return t;
    case BinaryOp::lt:
    case BinaryOp::le:
    case BinaryOp::gt:
    case BinaryOp::ge:
    case BinaryOp::eq:
    case BinaryOp::ne: {
      const bool equality = op == BinaryOp::eq || op == BinaryOp::ne;
      if (a == Type::int_ && b == Type::int_) return with(a, b, Type::bool_);
      const bool scalar_a = a == Type::int_ || a == Type::float_, scalar_b = b == Type::int_ || b == Type::float_;
      if (scalar_a && scalar_b) return with(Type::float_, Type::float_, Type::bool_);
      if (equality && a == b && (a == Type::bool_ || a == Type::material)) return with(a, b, Type::bool_);
      return t;
    }
    case BinaryOp::mod:
      if (a == Type::int_ && b == Type::int_) return with(a, b, Type::int_);
      return t;
    default:
      break;
  }
  // + - * /
  if (a == Type::mixture || b == Type::mixture) {
    const bool scalar_a = a == Type::int_ || a == Type::float_, scalar_b = b == Type::int_ || b == Type::float_;
    if ((op == BinaryOp::add || op == BinaryOp::sub) && a == b) return with(a, b, a);
    if (op == BinaryOp::mul && a == Type::mixture && scalar_b) return with(a, Type::float_, a);
    if (op == BinaryOp::mul && scalar_a && b == Type::mixture) return with(Type::float_, b, b);
    if (op == BinaryOp::div && a == Type::mixture && scalar_b) return with(a, Type::float_, a);
    return t;
  }
  if (!numeric_a || !numeric_b) return t;
  if (a == Type::int_ && b == Type::int_) return with(a, b, a);
  const Type l = a == Type::int_ ? Type::float_ : a, r = b == Type::int_ ? Type::float_ : b;
  if (l == Type::float_) return with(l, r, r);
  if (r == Type::float_) return with(l, r, l);
  if (l == r) return with(l, r, l);  // component-wise, or the matrix product for mat * mat
  if (op == BinaryOp::mul) {
    if (l == Type::mat3 && r == Type::vec3) return with(l, r, r);
    if (l == Type::mat4 && r == Type::vec4) return with(l, r, r);
    if (l == Type::vec3 && r == Type::mat3) return with(l, r, l);
    if (l == Type::vec4 && r == Type::mat4) return with(l, r, l);
  }
  return t;
}

int swizzle_component(char c, int& set) {
  static constexpr std::string_view kSets[] = {"xyzw", "rgba"};
  for (int s = 0; s < 2; ++s) {
    const auto k = kSets[s].find(c);
    if (k != std::string_view::npos) {
      if (set >= 0 && set != s) return -2;
      set = s;
      return static_cast<int>(k);
    }
  }
  return -1;
}

struct ConstState {
  enum { unchecked, checking, done } state = unchecked;
};

/// Where a function (or phase) reads outs or calls surface queries, for the phase rules.
struct Usage {
  bool reads_out = false;
  SourceRange out_range;
  std::string out_name;
  bool queries = false;
  SourceRange query_range;
  std::string query_name;
  std::vector<std::pair<int, SourceRange>> calls;  ///< user functions called, with the call's name range
};

struct Ctx {
  bool allow_texture = false;
  bool writing = false;
  bool compound = false;  ///< writing with op= (the target is read too)
};

class Checker {
 public:
  Checker(ParseResult& parsed, Diagnostics& diags) : m_(parsed.module), damaged_(parsed.damaged), d_(diags) {}

  void run() {
    const std::size_t nf = m_.functions.size();
    usage_.resize(nf + 2);
    const_states_.resize(m_.consts.size());
    declare_globals();
    declare_functions();
    for (std::size_t k = 0; k < m_.consts.size(); ++k) check_const(static_cast<int>(k));
    if (m_.fablet) check_uniform_defaults();
    for (std::size_t k = 0; k < nf; ++k) check_function(*m_.functions[k], static_cast<int>(k));
    if (m_.fablet) {
      if (m_.fablet->surface) check_function(*m_.fablet->surface, static_cast<int>(nf));
      if (m_.fablet->volume) check_function(*m_.fablet->volume, static_cast<int>(nf + 1));
    }
    check_recursion();
    check_phase_reach();
    check_fablet();
  }

 private:
  void error(SourceRange r, std::string msg) { d_.error(r, std::move(msg)); }
  static SourceRange name_range(const Expr& e) {
    return {e.range.begin, static_cast<std::uint32_t>(e.range.begin + e.text.size())};
  }

  // ---------------- declarations ----------------

  void declare_global_name(const std::string& name, SourceRange range, const char* what) {
    if (builtin_constant(name)) {
      error(range, "cannot redeclare the builtin constant " + in_quotes(name));
      return;
    }
    if (global_names_.count(name)) {
      error(range, "redeclaration of " + in_quotes(name));
      return;
    }
    global_names_.emplace(name, what);
  }

  void declare_globals() {
    for (std::size_t k = 0; k < m_.consts.size(); ++k) {
      const ast::ConstDecl& c = m_.consts[k];
      declare_global_name(c.name, c.range, "constant");
      if (!const_index_.count(c.name)) const_index_.emplace(c.name, static_cast<int>(k));
    }
    if (!m_.fablet) return;
    ast::Fablet& f = *m_.fablet;
    for (std::size_t k = 0; k < f.uniforms.size(); ++k) {
      ast::UniformDecl& u = f.uniforms[k];
      if (u.type == Type::void_ || u.type == Type::mixture) {
        error(u.range, "a uniform cannot have type " + in_quotes(type_name(u.type)));
        u.type = Type::error;
      }
      if (u.type == Type::material) u.slot = f.material_count++;
      if (u.type == Type::texture) u.slot = f.texture_count++;
      if (!global_names_.count(u.name) && !builtin_constant(u.name))
        uniform_index_.emplace(u.name, static_cast<int>(k));
      declare_global_name(u.name, u.range, "uniform");
    }
    for (std::size_t k = 0; k < f.outs.size(); ++k) {
      ast::OutDecl& o = f.outs[k];
      if (!is_float_based(o.type) && o.type != Type::error) {
        error(o.range, "an out variable must be float, a vector or a matrix, not " + in_quotes(type_name(o.type)));
        o.type = Type::error;
      }
      o.first_column = f.out_columns;
      f.out_columns += component_count(o.type);
      if (!global_names_.count(o.name) && !builtin_constant(o.name)) out_index_.emplace(o.name, static_cast<int>(k));
      declare_global_name(o.name, o.range, "out");
    }
  }

  static std::string signature_text(const std::string& name, const std::vector<Type>& params) {
    std::string s = name + "(";
    for (std::size_t k = 0; k < params.size(); ++k) s += (k ? ", " : "") + tn(params[k]);
    return s + ")";
  }

  static std::vector<Type> param_types(const Function& f) {
    std::vector<Type> t;
    for (const ast::Param& p : f.params) t.push_back(p.type);
    return t;
  }

  void check_params(Function& f) {
    for (std::size_t k = 0; k < f.params.size(); ++k) {
      ast::Param& p = f.params[k];
      if (p.type == Type::void_ || p.type == Type::texture) {
        error(p.range, "a parameter cannot have type " + in_quotes(type_name(p.type)));
        p.type = Type::error;
      }
      for (std::size_t j = 0; j < k; ++j) {
        if (f.params[j].name == p.name) {
          error(p.range, "duplicate parameter " + in_quotes(p.name));
          break;
        }
      }
    }
  }

  void declare_functions() {
    for (std::size_t k = 0; k < m_.functions.size(); ++k) {
      Function& f = *m_.functions[k];
      check_params(f);
      if (f.return_type == Type::texture) {
        error(f.name_range, "a function cannot return a texture");
        f.return_type = Type::error;
      }
      if (find_builtin(f.name)) {
        error(f.name_range, in_quotes(f.name) + " is a builtin function and cannot be redefined");
        continue;
      }
      auto& overloads = functions_by_name_[f.name];
      const std::vector<Type> types = param_types(f);
      bool duplicate = false;
      for (int other : overloads) {
        if (param_types(*m_.functions[static_cast<std::size_t>(other)]) == types) {
          error(f.name_range, "function " + in_quotes(signature_text(f.name, types)) + " is already defined");
          duplicate = true;
          break;
        }
      }
      if (!duplicate) overloads.push_back(static_cast<int>(k));
    }
  }

  // ---------------- constants and uniform defaults ----------------

  /// Checks global constant k (on demand, so constants may be used before their declaration).
  void check_const(int k) {
    ConstState& st = const_states_[static_cast<std::size_t>(k)];
    if (st.state != ConstState::unchecked) return;
    ast::ConstDecl& c = m_.consts[static_cast<std::size_t>(k)];
    st.state = ConstState::checking;
    if (++const_depth_ > 64) {
      error(c.range, "constant definitions nested too deeply");
    } else {
      FunctionState saved = std::move(fs_);
      fs_ = FunctionState{};
      c.value = constant_initialiser(c.type, *c.expr, "constant " + in_quotes(c.name));
      fs_ = std::move(saved);
    }
    --const_depth_;
    st.state = ConstState::done;
  }

  /// The value of a constant's initialiser converted to `type`, or nullopt (diagnosed).
  std::optional<Value> constant_initialiser(Type type, Expr& e, const std::string& what) {
    const Type t = check_expr(e);
    if (type == Type::error || t == Type::error) return std::nullopt;
    if (!(type == Type::bool_ || type == Type::int_ || is_float_based(type))) {
      error(e.range, what + " cannot have type " + in_quotes(type_name(type)));
      return std::nullopt;
    }
    if (!converts_to(t, type)) {
      error(e.range, "cannot initialise " + what + " of type " + in_quotes(type_name(type)) + " with a value of type " +
                         in_quotes(type_name(t)));
      return std::nullopt;
    }
    if (!e.constant) {
      error(e.range, "the value of " + what + " is not a constant");
      return std::nullopt;
    }
    return fold::convert(*e.constant, type);
  }

  void check_uniform_defaults() {
    for (ast::UniformDecl& u : m_.fablet->uniforms) {
      if (!u.default_expr) continue;
      Expr& e = *u.default_expr;
      if (u.type == Type::material || u.type == Type::texture) {
        if (e.kind != ExprKind::string_lit) {
          error(e.range, "the default of " + tn(u.type) + " uniform " + in_quotes(u.name) + " must be a string (" +
                             (u.type == Type::material ? "a material name" : "an image path") + ")");
        } else {
          e.type = Type::string_;
          u.default_text = e.text;
        }
        continue;
      }
      if (e.kind == ExprKind::string_lit) {
        e.type = Type::string_;
        if (u.type != Type::error) error(e.range, "a string default is only allowed for material and texture uniforms");
        continue;
      }
      u.default_value = constant_initialiser(u.type, e, "uniform " + in_quotes(u.name));
    }
  }

  // ---------------- functions ----------------

  struct FunctionState {
    Function* fn = nullptr;
    int index = -1;  ///< into usage_ (functions, then surface, volume)
    std::vector<std::unordered_map<std::string, int>> scopes;
    std::vector<std::optional<Value>> local_constants;  ///< per slot
    std::vector<bool> local_is_const;                   ///< per slot
    int loops = 0;
  };

  int add_local(const std::string& name, Type type, SourceRange range) {
    Function& f = *fs_.fn;
    const int slot = static_cast<int>(f.local_types.size());
    f.local_types.push_back(type);
    f.local_names.push_back(name);
    fs_.local_constants.emplace_back();
    fs_.local_is_const.push_back(false);
    auto& scope = fs_.scopes.back();
    if (scope.count(name)) {
      error(range, "redeclaration of " + in_quotes(name));
    } else {
      scope.emplace(name, slot);
    }
    return slot;
  }

  void check_phase_signature(Function& f) {
    if (f.kind == FunctionKind::volume) {
      if (f.params.size() != 1 || (f.params[0].type != Type::vec3 && f.params[0].type != Type::error)) {
        error(f.name_range, "the volume phase takes exactly one parameter, the voxel centre 'vec3 P'");
      }
      return;
    }
    for (ast::Param& p : f.params) {
      Type want = Type::error;
      if (p.name == "P" || p.name == "N") want = Type::vec3;
      if (p.name == "uv") want = Type::vec2;
      if (p.type == Type::error) continue;
      if (want != Type::error && p.type != want) {
        error(p.range, "surface parameter " + in_quotes(p.name) + " must have type " + in_quotes(type_name(want)));
      } else if (want == Type::error && p.type != Type::float_ && !is_vector(p.type)) {
        error(p.range, "surface parameter " + in_quotes(p.name) + " (a mesh attribute) must be float or a vector");
      }
    }
  }

  void check_function(Function& f, int index) {
    fs_ = FunctionState{};
    fs_.fn = &f;
    fs_.index = index;
    if (f.kind != FunctionKind::function) {
      check_params(f);
      check_phase_signature(f);
    }
    fs_.scopes.emplace_back();
    for (ast::Param& p : f.params) {
      const int slot = static_cast<int>(f.local_types.size());
      f.local_types.push_back(p.type);
      f.local_names.push_back(p.name);
      fs_.local_constants.emplace_back();
      fs_.local_is_const.push_back(false);
      fs_.scopes.back().emplace(p.name, slot);  // duplicates were reported by check_params
      p.local = slot;
    }
    if (f.body) {
      // The body's outermost block shares the parameters' scope.
      for (auto& s : f.body->body) check_stmt(*s);
    }
    if (f.return_type != Type::void_ && f.return_type != Type::error && !damaged_.count(&f) &&
        !(f.body && always_returns(*f.body))) {
      if (f.kind == FunctionKind::function) {
        error(f.name_range, "function " + in_quotes(f.name) + " does not return a value on every path");
      } else {
        error(f.name_range, "the " + f.name + " phase does not return a value on every path");
      }
    }
    fs_ = FunctionState{};
  }

  static bool always_returns(const Stmt& s) {
    switch (s.kind) {
      case StmtKind::return_:
        return true;
      case StmtKind::block:
        for (const auto& b : s.body) {
          if (always_returns(*b)) return true;
        }
        return false;
      case StmtKind::if_:
        return s.then_stmt && s.else_stmt && always_returns(*s.then_stmt) && always_returns(*s.else_stmt);
      default:
        return false;
    }
  }

  // ---------------- statements ----------------

  void check_scoped(Stmt& s) {
    fs_.scopes.emplace_back();
    check_stmt(s);
    fs_.scopes.pop_back();
  }

  void check_condition(Expr& e, const char* what) {
    const Type t = check_expr(e);
    if (t != Type::bool_ && t != Type::error) {
      error(e.range, std::string("the condition of ") + what + " must be 'bool', not " + in_quotes(type_name(t)));
    }
  }

  void check_stmt(Stmt& s) {
    switch (s.kind) {
      case StmtKind::block:
        fs_.scopes.emplace_back();
        for (auto& b : s.body) check_stmt(*b);
        fs_.scopes.pop_back();
        return;
      case StmtKind::decl:
        return check_decl(s);
      case StmtKind::assign:
        return check_assign(s);
      case StmtKind::if_:
        check_condition(*s.expr, "'if'");
        if (s.then_stmt) check_scoped(*s.then_stmt);
        if (s.else_stmt) check_scoped(*s.else_stmt);
        return;
      case StmtKind::while_:
        check_condition(*s.expr, "'while'");
        ++fs_.loops;
        if (s.body_stmt) check_scoped(*s.body_stmt);
        --fs_.loops;
        return;
      case StmtKind::for_:
        fs_.scopes.emplace_back();
        if (s.init) check_stmt(*s.init);
        if (s.expr) check_condition(*s.expr, "'for'");
        ++fs_.loops;
        if (s.step) check_stmt(*s.step);
        if (s.body_stmt) check_scoped(*s.body_stmt);
        --fs_.loops;
        fs_.scopes.pop_back();
        return;
      case StmtKind::break_:
      case StmtKind::continue_:
        if (fs_.loops == 0) {
          error(s.range, std::string(s.kind == StmtKind::break_ ? "'break'" : "'continue'") + " outside a loop");
        }
        return;
      case StmtKind::return_:
        return check_return(s);
      case StmtKind::expr: {
        check_expr(*s.expr);
        if (s.expr->kind != ExprKind::call) error(s.expr->range, "only calls can be used as statements");
        return;
      }
    }
  }

  void check_decl(Stmt& s) {
    Type type = s.decl_type;
    if (type == Type::void_ || type == Type::texture) {
      error(s.name_range, "a variable cannot have type " + in_quotes(type_name(type)));
      type = Type::error;
    }
    std::optional<Value> constant;
    const std::string what = (s.is_const ? "constant " : "variable ") + in_quotes(s.name);
    if (s.is_const && s.expr) {
      constant = constant_initialiser(type, *s.expr, what);
    } else if (s.expr) {
      const Type t = check_expr(*s.expr);
      if (type != Type::error && t != Type::error && !converts_to(t, type)) {
        error(s.expr->range, "cannot initialise " + what + " of type " + in_quotes(type_name(type)) +
                                 " with a value of type " + in_quotes(type_name(t)));
      }
    }
    s.local = add_local(s.name, type, s.name_range);
    if (s.is_const) {
      fs_.local_constants[static_cast<std::size_t>(s.local)] = constant;
      fs_.local_is_const[static_cast<std::size_t>(s.local)] = true;
    }
  }

  void check_assign(Stmt& s) {
    Ctx ctx;
    ctx.writing = true;
    ctx.compound = s.assign_op != ast::AssignOp::set;
    const Type target = check_expr(*s.target, ctx);
    const Type value = check_expr(*s.expr);
    if (target == Type::error || value == Type::error) return;
    if (s.assign_op == ast::AssignOp::set) {
      if (!converts_to(value, target)) {
        error(s.expr->range,
              "cannot assign a value of type " + in_quotes(type_name(value)) + " to " + in_quotes(type_name(target)));
      }
      return;
    }
    static constexpr BinaryOp kOps[] = {BinaryOp::add, BinaryOp::add, BinaryOp::sub,
                                        BinaryOp::mul, BinaryOp::div, BinaryOp::mod};
    const BinaryTyping t = type_binary(kOps[static_cast<int>(s.assign_op)], target, value);
    if (t.result != target) {
      error(s.range, "invalid operands to " + in_quotes(op_spelling(s.assign_op)) + ": " + in_quotes(type_name(target)) +
                         " and " + in_quotes(type_name(value)));
    }
  }

  void check_return(Stmt& s) {
    const Function& f = *fs_.fn;
    if (!s.expr) {
      if (f.return_type != Type::void_ && f.return_type != Type::error) {
        error(s.range,
              "missing return value (" + describe_function(f) + " returns " + in_quotes(type_name(f.return_type)) + ")");
      }
      return;
    }
    const Type t = check_expr(*s.expr);
    if (f.return_type == Type::void_) {
      error(s.expr->range, "void function " + in_quotes(f.name) + " cannot return a value");
      return;
    }
    if (t != Type::error && f.return_type != Type::error && !converts_to(t, f.return_type)) {
      error(s.expr->range, "cannot return a value of type " + in_quotes(type_name(t)) + " from " + describe_function(f) +
                               " (it returns " + in_quotes(type_name(f.return_type)) + ")");
    }
  }

  static std::string describe_function(const Function& f) {
    return f.kind == FunctionKind::function ? "function " + in_quotes(f.name) : "the " + f.name + " phase";
  }

  // ---------------- expressions ----------------

  Type set(Expr& e, Type t) {
    e.type = t;
    return t;
  }

  Type check_expr(Expr& e, Ctx ctx = {}) {
    if (ctx.writing && e.kind != ExprKind::name && e.kind != ExprKind::swizzle && e.kind != ExprKind::index) {
      check_expr(e);
      error(e.range, "cannot assign to this expression");
      return set(e, Type::error);
    }
    switch (e.kind) {
      case ExprKind::bool_lit:
        e.constant = Value::of_bool(e.bool_value);
        return set(e, Type::bool_);
      case ExprKind::int_lit:
        if (e.int_value > std::numeric_limits<std::int32_t>::max()) {
          error(e.range, "integer literal is out of range for 'int' (the largest is 2147483647)");
          return set(e, Type::error);
        }
        e.constant = Value::of_int(static_cast<std::int32_t>(e.int_value));
        return set(e, Type::int_);
      case ExprKind::float_lit:
        e.constant = Value::of_float(static_cast<float>(e.float_value));
        return set(e, Type::float_);
      case ExprKind::string_lit:
        error(e.range, "a string is only allowed as the default of a material or texture uniform");
        return set(e, Type::error);
      case ExprKind::name:
        return check_name(e, ctx);
      case ExprKind::unary:
        return check_unary(e);
      case ExprKind::binary:
        return check_binary(e);
      case ExprKind::ternary:
        return check_ternary(e);
      case ExprKind::call:
        return check_call(e);
      case ExprKind::construct:
        return check_construct(e);
      case ExprKind::swizzle:
        return check_swizzle(e, ctx);
      case ExprKind::index:
        return check_index(e, ctx);
    }
    return set(e, Type::error);
  }

  std::vector<std::string_view> visible_names() const {
    std::vector<std::string_view> names;
    for (auto it = fs_.scopes.rbegin(); it != fs_.scopes.rend(); ++it) {
      for (const auto& [name, slot] : *it) names.push_back(name);
    }
    if (m_.fablet) {
      for (const auto& u : m_.fablet->uniforms) names.push_back(u.name);
      for (const auto& o : m_.fablet->outs) names.push_back(o.name);
    }
    for (const auto& c : m_.consts) names.push_back(c.name);
    for (std::string_view c : {"PI", "TAU", "E", "INFINITY"}) names.push_back(c);
    return names;
  }

  Type check_name(Expr& e, Ctx ctx) {
    for (auto it = fs_.scopes.rbegin(); it != fs_.scopes.rend(); ++it) {
      const auto found = it->find(e.text);
      if (found == it->end()) continue;
      const int slot = found->second;
      const auto& constant = fs_.local_constants[static_cast<std::size_t>(slot)];
      const Type t = fs_.fn->local_types[static_cast<std::size_t>(slot)];
      if (ctx.writing && is_local_const(slot)) {
        error(e.range, "cannot assign to constant " + in_quotes(e.text));
        return set(e, Type::error);
      }
      if (is_local_const(slot)) {
        e.name_kind = NameKind::constant;
        e.constant = constant;
        return set(e, constant ? t : Type::error);
      }
      e.name_kind = NameKind::local;
      e.name_index = slot;
      return set(e, t);
    }
    if (const auto u = uniform_index_.find(e.text); u != uniform_index_.end()) {
      const ast::UniformDecl& decl = m_.fablet->uniforms[static_cast<std::size_t>(u->second)];
      e.name_kind = NameKind::uniform;
      e.name_index = u->second;
      if (ctx.writing) {
        error(e.range, "cannot assign to uniform " + in_quotes(e.text));
        return set(e, Type::error);
      }
      if (decl.type == Type::texture && !ctx.allow_texture) {
        error(e.range, "texture " + in_quotes(e.text) + " can only be the first argument of sample() or sample_lod()");
        return set(e, Type::error);
      }
      return set(e, decl.type);
    }
    if (const auto o = out_index_.find(e.text); o != out_index_.end()) {
      e.name_kind = NameKind::out;
      e.name_index = o->second;
      check_out_use(e, ctx);
      return set(e, m_.fablet->outs[static_cast<std::size_t>(o->second)].type);
    }
    if (const auto c = const_index_.find(e.text); c != const_index_.end()) {
      e.name_kind = NameKind::constant;
      if (ctx.writing) {
        error(e.range, "cannot assign to constant " + in_quotes(e.text));
        return set(e, Type::error);
      }
      check_const(c->second);
      const ast::ConstDecl& decl = m_.consts[static_cast<std::size_t>(c->second)];
      if (const_states_[static_cast<std::size_t>(c->second)].state == ConstState::checking && !decl.value) {
        error(e.range, "constant " + in_quotes(e.text) + " is defined in terms of itself");
        return set(e, Type::error);
      }
      if (!decl.value) return set(e, Type::error);
      e.constant = decl.value;
      return set(e, decl.type);
    }
    if (const auto b = builtin_constant(e.text)) {
      e.name_kind = NameKind::constant;
      if (ctx.writing) {
        error(e.range, "cannot assign to the builtin constant " + in_quotes(e.text));
        return set(e, Type::error);
      }
      e.constant = b;
      return set(e, Type::float_);
    }
    error(e.range, "unknown name " + in_quotes(e.text) + did_you_mean(e.text, visible_names()));
    return set(e, Type::error);
  }

  bool is_local_const(int slot) const { return fs_.local_is_const[static_cast<std::size_t>(slot)]; }

  Usage& usage() { return usage_[static_cast<std::size_t>(fs_.index)]; }

  void check_out_use(const Expr& e, Ctx ctx) {
    if (!fs_.fn) return;  // a constant's initialiser: reported as not constant
    const FunctionKind kind = fs_.fn->kind;
    if (ctx.writing) {
      if (kind == FunctionKind::function) {
        error(e.range, "functions cannot assign out variables (only the surface phase does)");
        return;
      }
      if (kind == FunctionKind::volume) {
        error(e.range, "out " + in_quotes(e.text) + " can only be assigned in the surface phase");
        return;
      }
      if (!ctx.compound) return;
    }
    if (kind == FunctionKind::surface) {
      error(e.range, "out " + in_quotes(e.text) + " can only be read in the volume phase");
    } else if (kind == FunctionKind::function && !usage().reads_out) {
      usage().reads_out = true;
      usage().out_range = e.range;
      usage().out_name = e.text;
    }
  }

  Type check_unary(Expr& e) {
    Expr& a = *e.args[0];
    Type t;
    if (e.unary_op == ast::UnaryOp::neg && a.kind == ExprKind::int_lit && a.int_value == 2147483648LL) {
      a.type = t = Type::int_;  // -2147483648 is INT_MIN
      a.constant = Value::of_int(std::numeric_limits<std::int32_t>::min());
    } else {
      t = check_expr(a);
    }
    e.converted_arg_types = {t};
    if (t == Type::error) return set(e, Type::error);
    const bool ok = e.unary_op == ast::UnaryOp::not_ ? t == Type::bool_ : (t == Type::int_ || is_float_based(t));
    if (!ok) {
      error(e.range, "invalid operand to " + in_quotes(op_spelling(e.unary_op)) + ": " + in_quotes(type_name(t)));
      return set(e, Type::error);
    }
    if (a.constant) e.constant = fold::unary(e.unary_op, *a.constant);
    return set(e, t);
  }

  Type check_binary(Expr& e) {
    const Type a = check_expr(*e.args[0]);
    const Type b = check_expr(*e.args[1]);
    e.converted_arg_types = {a, b};
    if (a == Type::error || b == Type::error) return set(e, Type::error);
    const BinaryTyping t = type_binary(e.binary_op, a, b);
    if (t.result == Type::error) {
      std::string msg = "invalid operands to " + in_quotes(op_spelling(e.binary_op)) + ": " + in_quotes(type_name(a)) +
                        " and " + in_quotes(type_name(b));
      if (e.binary_op == BinaryOp::mod && is_float_based(a) && is_float_based(b)) msg += " (use mod() for floats)";
      error(e.range, msg);
      return set(e, Type::error);
    }
    e.converted_arg_types = {t.left, t.right};
    if (e.args[0]->constant && e.args[1]->constant) {
      e.constant = fold::binary(e.binary_op, fold::convert(*e.args[0]->constant, t.left),
                                fold::convert(*e.args[1]->constant, t.right), t.result);
    }
    return set(e, t.result);
  }

  Type check_ternary(Expr& e) {
    const Type c = check_expr(*e.args[0]);
    const Type a = check_expr(*e.args[1]);
    const Type b = check_expr(*e.args[2]);
    e.converted_arg_types = {c, a, b};
    if (c != Type::bool_ && c != Type::error) {
      error(e.args[0]->range, "the condition of '?:' must be 'bool', not " + in_quotes(type_name(c)));
      return set(e, Type::error);
    }
    if (c == Type::error || a == Type::error || b == Type::error) return set(e, Type::error);
    Type t = Type::error;
    if (a == b) t = a;
    if ((a == Type::int_ && b == Type::float_) || (a == Type::float_ && b == Type::int_)) t = Type::float_;
    if (t == Type::error || t == Type::void_) {
      error(e.range,
            "the two sides of '?:' have different types: " + in_quotes(type_name(a)) + " and " + in_quotes(type_name(b)));
      return set(e, Type::error);
    }
    e.converted_arg_types = {c, t, t};
    if (e.args[0]->constant && e.args[1]->constant && e.args[2]->constant) {
      e.constant = fold::convert(e.args[0]->constant->b ? *e.args[1]->constant : *e.args[2]->constant, t);
    }
    return set(e, t);
  }

  // ---- calls ----

  struct Candidate {
    const std::vector<Type>* params;
    Type result;
    int index;
  };

  /// Picks the overload needing the fewest int -> float conversions; -1 when none matches,
  /// -2 when two tie.
  static int resolve(const std::vector<Candidate>& candidates, const std::vector<Type>& args) {
    int best = -1, best_cost = std::numeric_limits<int>::max();
    bool tie = false;
    for (std::size_t k = 0; k < candidates.size(); ++k) {
      const auto& params = *candidates[k].params;
      if (params.size() != args.size()) continue;
      int cost = 0;
      bool ok = true;
      for (std::size_t j = 0; j < args.size() && ok; ++j) {
        if (args[j] == params[j]) continue;
        if (args[j] == Type::int_ && params[j] == Type::float_) {
          ++cost;
        } else {
          ok = false;
        }
      }
      if (!ok) continue;
      if (cost < best_cost) {
        best = static_cast<int>(k);
        best_cost = cost;
        tie = false;
      } else if (cost == best_cost) {
        tie = true;
      }
    }
    return tie ? -2 : best;
  }

  std::vector<std::string_view> function_names() const {
    std::vector<std::string_view> names;
    for (const auto& [name, list] : functions_by_name_) names.push_back(name);
    std::sort(names.begin(), names.end());
    for (std::string_view b : builtin_names()) {
      if (!builtin_constant(b)) names.push_back(b);
    }
    return names;
  }

  Type check_call(Expr& e) {
    const auto user = functions_by_name_.find(e.text);
    const std::optional<BuiltinFn> found = find_builtin(e.text);
    const bool is_builtin = user == functions_by_name_.end() && found.has_value();
    const BuiltinFn builtin = is_builtin ? found.value_or(BuiltinFn::count_) : BuiltinFn::count_;
    std::vector<Type> args;
    bool bad = false;
    for (std::size_t k = 0; k < e.args.size(); ++k) {
      Ctx ctx;
      ctx.allow_texture = k == 0 && (builtin == BuiltinFn::sample || builtin == BuiltinFn::sample_lod);
      args.push_back(check_expr(*e.args[k], ctx));
      bad = bad || args.back() == Type::error;
    }
    e.converted_arg_types = args;
    if (user == functions_by_name_.end() && !is_builtin) {
      if (m_.functions.end() !=
          std::find_if(m_.functions.begin(), m_.functions.end(), [&](const auto& f) { return f->name == e.text; })) {
        return set(e, Type::error);  // a function whose definition was rejected
      }
      error(name_range(e), "no function " + in_quotes(e.text) + did_you_mean(e.text, function_names()));
      return set(e, Type::error);
    }
    if (builtin == BuiltinFn::mixture) return check_mixture_call(e, args, bad);
    if (bad) return set(e, Type::error);

    std::vector<Candidate> candidates;
    if (is_builtin) {
      const auto& overloads = builtin_overloads(builtin);
      for (std::size_t k = 0; k < overloads.size(); ++k) {
        candidates.push_back({&overloads[k].params, overloads[k].result, static_cast<int>(k)});
      }
    } else {
      for (int f : user->second) {
        const Function& fn = *m_.functions[static_cast<std::size_t>(f)];
        user_params_.push_back(std::make_unique<std::vector<Type>>(param_types(fn)));
        candidates.push_back({user_params_.back().get(), fn.return_type, f});
      }
    }
    const int pick = resolve(candidates, args);
    if (pick < 0) {
      std::string list;
      for (const Candidate& c : candidates) {
        bool include = true;
        if (pick == -2) {  // list only the tied ones
          std::vector<Candidate> one{c};
          include = resolve(one, args) == 0;
        }
        if (include) list += (list.empty() ? "" : ", ") + signature_text(e.text, *c.params);
      }
      error(name_range(e), std::string(pick == -2 ? "ambiguous call to " : "no matching overload for ") +
                               in_quotes(signature_text(e.text, args)) + "; candidates: " + list);
      return set(e, Type::error);
    }
    const Candidate& c = candidates[static_cast<std::size_t>(pick)];
    e.converted_arg_types = *c.params;
    e.target.is_builtin = is_builtin;
    if (is_builtin) {
      e.target.builtin = builtin;
      e.target.overload = c.index;
      check_builtin_rules(e, builtin);
    } else {
      e.target.function = c.index;
      if (fs_.index >= 0) usage().calls.emplace_back(c.index, name_range(e));
    }
    return set(e, c.result);
  }

  void check_builtin_rules(Expr& e, BuiltinFn fn) {
    if (is_surface_query(fn)) {
      const std::string name = std::string(builtin_name(fn)) + "()";
      if (!fs_.fn) {
        // a constant's initialiser: reported as not constant
      } else if (fs_.fn->kind == FunctionKind::surface) {
        error(name_range(e), in_quotes(name) + " can only be called in the volume phase");
      } else if (fs_.fn->kind == FunctionKind::function && !usage().queries) {
        usage().queries = true;
        usage().query_range = name_range(e);
        usage().query_name = name;
      }
      return;
    }
    if ((fn == BuiltinFn::fbm || fn == BuiltinFn::turbulence) && e.args.size() > 1 && e.args[1]->constant) {
      const std::int32_t octaves = e.args[1]->constant->i;
      if (octaves < 1 || octaves > 16) {
        error(e.args[1]->range, "octaves must be between 1 and 16, not " + std::to_string(octaves));
      }
    }
    std::vector<Value> values;
    for (std::size_t k = 0; k < e.args.size(); ++k) {
      if (!e.args[k]->constant) return;
      values.push_back(fold::convert(*e.args[k]->constant, e.converted_arg_types[k]));
    }
    e.constant = fold::builtin(fn, values, builtin_overloads(fn)[static_cast<std::size_t>(e.target.overload)].result);
  }

  Type check_mixture_call(Expr& e, const std::vector<Type>& args, bool bad) {
    e.target.is_builtin = true;
    e.target.builtin = BuiltinFn::mixture;
    e.target.overload = -1;
    if (bad) return set(e, Type::error);
    bool ok = !args.empty() && args.size() % 2 == 0;
    for (std::size_t k = 0; ok && k < args.size(); ++k) {
      ok = k % 2 == 0 ? args[k] == Type::material : converts_to(args[k], Type::float_);
    }
    if (!ok) {
      error(name_range(e), "no matching overload for " + in_quotes(signature_text(e.text, args)) +
                               "; mixture() takes material, weight pairs: mixture(material, float, ...)");
      return set(e, Type::error);
    }
    for (std::size_t k = 1; k < args.size(); k += 2) e.converted_arg_types[k] = Type::float_;
    return set(e, Type::mixture);
  }

  Type check_construct(Expr& e) {
    std::vector<Type> args;
    bool bad = false;
    for (auto& a : e.args) {
      args.push_back(check_expr(*a));
      bad = bad || args.back() == Type::error;
    }
    e.converted_arg_types = args;
    const Type type = e.construct_type;
    if (type == Type::void_ || type == Type::material || type == Type::texture || type == Type::mixture) {
      error(name_range(e), "values of type " + in_quotes(type_name(type)) + " cannot be constructed");
      return set(e, Type::error);
    }
    if (bad) return set(e, Type::error);
    const std::string shown = in_quotes(signature_text(e.text, args));
    auto scalar = [](Type t) { return t == Type::int_ || t == Type::float_; };
    if (type == Type::float_ || type == Type::int_ || type == Type::bool_) {
      if (args.size() != 1 || !(scalar(args[0]) || args[0] == Type::bool_)) {
        error(name_range(e),
              "cannot construct " + in_quotes(type_name(type)) + " from " + shown + "; it takes one int, float or bool");
        return set(e, Type::error);
      }
    } else {
      const int n = component_count(type);
      int total = 0;
      bool ok = !args.empty();
      for (Type a : args) {
        if (!(scalar(a) || is_vector(a))) ok = false;
        total += component_count(a);
      }
      if (is_matrix(type) && ok) {
        const int size = type == Type::mat3 ? 3 : 4;
        const bool columns = static_cast<int>(args.size()) == size &&
                             std::all_of(args.begin(), args.end(), [&](Type a) { return a == float_vector(size); });
        const bool scalars =
            std::all_of(args.begin(), args.end(), scalar) && (args.size() == 1 || static_cast<int>(args.size()) == n);
        ok = columns || scalars;
      } else if (ok) {
        ok = total == n || (args.size() == 1 && scalar(args[0]));
      }
      if (!ok) {
        error(name_range(e),
              "cannot construct " + in_quotes(type_name(type)) + " from " + shown +
                  (is_matrix(type)
                       ? "; it takes one float (the diagonal), all " + std::to_string(n) + " components or the columns"
                       : "; it needs " + std::to_string(n) + " components in all, or one scalar"));
        return set(e, Type::error);
      }
      for (Type& a : e.converted_arg_types) {
        if (a == Type::int_) a = Type::float_;
      }
    }
    std::vector<Value> values;
    for (std::size_t k = 0; k < e.args.size(); ++k) {
      if (!e.args[k]->constant) return set(e, type);
      values.push_back(fold::convert(*e.args[k]->constant, e.converted_arg_types[k]));
    }
    e.constant = fold::construct(type, values);
    return set(e, type);
  }

  Type check_swizzle(Expr& e, Ctx ctx) {
    Ctx base_ctx;
    base_ctx.writing = ctx.writing;
    base_ctx.compound = ctx.compound;
    const Type base = check_expr(*e.args[0], base_ctx);
    e.converted_arg_types = {base};
    if (base == Type::error) return set(e, Type::error);
    const SourceRange letters = {static_cast<std::uint32_t>(e.range.end - e.text.size()), e.range.end};
    if (!is_vector(base)) {
      error(letters, "cannot swizzle a value of type " + in_quotes(type_name(base)) + " (only vectors have components)");
      return set(e, Type::error);
    }
    const int n = component_count(base);
    if (e.text.size() > 4) {
      error(letters, "a swizzle has at most 4 components");
      return set(e, Type::error);
    }
    int set_used = -1;
    for (char c : e.text) {
      const int k = swizzle_component(c, set_used);
      if (k == -2) {
        error(letters, "swizzle " + in_quotes(e.text) + " mixes 'xyzw' and 'rgba'");
        return set(e, Type::error);
      }
      if (k < 0 || k >= n) {
        error(letters, "no component " + in_quotes(std::string(1, c)) + " in " + in_quotes(type_name(base)));
        return set(e, Type::error);
      }
      if (ctx.writing && std::find(e.swizzle.begin(), e.swizzle.end(), k) != e.swizzle.end()) {
        error(letters, "swizzle " + in_quotes(e.text) + " assigns a component twice");
        return set(e, Type::error);
      }
      e.swizzle.push_back(k);
    }
    const Type t = float_vector(static_cast<int>(e.swizzle.size()));
    if (e.args[0]->constant) {
      Value v = Value::zero(t);
      for (std::size_t k = 0; k < e.swizzle.size(); ++k) {
        v.f[k] = e.args[0]->constant->f[static_cast<std::size_t>(e.swizzle[k])];
      }
      e.constant = v;
    }
    return set(e, t);
  }

  Type check_index(Expr& e, Ctx ctx) {
    Ctx base_ctx;
    base_ctx.writing = ctx.writing;
    base_ctx.compound = ctx.compound;
    const Type base = check_expr(*e.args[0], base_ctx);
    const Type index = check_expr(*e.args[1]);
    e.converted_arg_types = {base, index};
    if (base == Type::error || index == Type::error) return set(e, Type::error);
    if (!is_vector(base) && !is_matrix(base)) {
      error(e.args[0]->range, "cannot index a value of type " + in_quotes(type_name(base)));
      return set(e, Type::error);
    }
    if (index != Type::int_) {
      error(e.args[1]->range, "an index must be an 'int', not " + in_quotes(type_name(index)));
      return set(e, Type::error);
    }
    const int n = is_vector(base) ? component_count(base) : (base == Type::mat3 ? 3 : 4);
    const Type t = is_vector(base) ? Type::float_ : float_vector(n);
    if (e.args[1]->constant) {
      const std::int32_t k = e.args[1]->constant->i;
      if (k < 0 || k >= n) {
        error(e.args[1]->range, "index " + std::to_string(k) + " is out of range for " + in_quotes(type_name(base)) +
                                    " (0 to " + std::to_string(n - 1) + ")");
        return set(e, Type::error);
      }
      if (e.args[0]->constant) {
        Value v = Value::zero(t);
        const int width = component_count(t);
        for (int j = 0; j < width; ++j) {
          v.f[static_cast<std::size_t>(j)] = e.args[0]->constant->f[static_cast<std::size_t>(k * width + j)];
        }
        e.constant = v;
      }
    }
    return set(e, t);
  }

  // ---------------- whole-file rules ----------------

  std::string function_label(int index) const {
    const std::size_t nf = m_.functions.size();
    if (index == static_cast<int>(nf)) return "the surface phase";
    if (index == static_cast<int>(nf + 1)) return "the volume phase";
    return in_quotes(m_.functions[static_cast<std::size_t>(index)]->name);
  }

  void check_recursion() {
    // Iterative depth-first search; a back edge closes a cycle, reported at that call.
    const std::size_t n = m_.functions.size();
    std::vector<int> color(n, 0);  // 0 new, 1 on the stack, 2 done
    for (std::size_t root = 0; root < n; ++root) {
      if (color[root]) continue;
      std::vector<std::pair<int, std::size_t>> stack{{static_cast<int>(root), 0}};
      color[root] = 1;
      while (!stack.empty()) {
        auto& [f, next] = stack.back();
        const auto& calls = usage_[static_cast<std::size_t>(f)].calls;
        if (next == calls.size()) {
          color[static_cast<std::size_t>(f)] = 2;
          stack.pop_back();
          continue;
        }
        const auto [callee, range] = calls[next++];
        const auto c = static_cast<std::size_t>(callee);
        if (color[c] == 1) {
          std::string path;
          bool in_cycle = false;
          for (const auto& frame : stack) {
            if (frame.first == callee) in_cycle = true;
            if (in_cycle) path += in_quotes(m_.functions[static_cast<std::size_t>(frame.first)]->name) + " -> ";
          }
          error(range, "recursive call: " + path + in_quotes(m_.functions[c]->name));
        } else if (color[c] == 0) {
          color[c] = 1;
          stack.emplace_back(callee, 0);
        }
      }
    }
  }

  void check_phase_reach() {
    // Functions reachable from the surface phase may not read outs or query the surface.
    const std::size_t nf = m_.functions.size();
    std::vector<bool> seen(nf + 2, false);
    std::vector<int> work{static_cast<int>(nf)};
    seen[nf] = true;
    while (!work.empty()) {
      const int f = work.back();
      work.pop_back();
      for (const auto& [callee, range] : usage_[static_cast<std::size_t>(f)].calls) {
        if (seen[static_cast<std::size_t>(callee)]) continue;
        seen[static_cast<std::size_t>(callee)] = true;
        work.push_back(callee);
        const Usage& u = usage_[static_cast<std::size_t>(callee)];
        const std::string who = in_quotes(m_.functions[static_cast<std::size_t>(callee)]->name);
        if (u.queries) {
          error(u.query_range, in_quotes(u.query_name) + " can only be called in the volume phase, but " + who +
                                   " is called from the surface phase");
        }
        if (u.reads_out) {
          error(u.out_range, "out " + in_quotes(u.out_name) + " can only be read in the volume phase, but " + who +
                                 " is called from the surface phase");
        }
      }
    }
  }

  void check_fablet() {
    if (!m_.fablet) {
      if (!d_.has_errors()) error({0, 0}, "the file declares no fablet");
      return;
    }
    const ast::Fablet& f = *m_.fablet;
    if (!f.volume && f.material_count == 0) {
      error(f.range, "fablet " + in_quotes(f.name) + " has no volume phase and no material uniform to fill it with");
    }
  }

  ast::Module& m_;
  const std::unordered_set<const Function*>& damaged_;
  Diagnostics& d_;
  std::unordered_map<std::string, const char*> global_names_;
  std::unordered_map<std::string, int> uniform_index_, out_index_, const_index_;
  std::unordered_map<std::string, std::vector<int>> functions_by_name_;
  std::vector<ConstState> const_states_;
  int const_depth_ = 0;
  std::vector<Usage> usage_;
  std::vector<std::unique_ptr<std::vector<Type>>> user_params_;
  FunctionState fs_;
};

}  // namespace

void check(ParseResult& parsed, Diagnostics& diags) { Checker(parsed, diags).run(); }

}  // namespace fabforge::openfl
