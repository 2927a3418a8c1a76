// Operator spellings and the indented dump of the syntax tree.

#include "fabforge/openfl/ast.hpp"

namespace fabforge::openfl::ast {

std::string_view op_spelling(UnaryOp op) {
  switch (op) {
    case UnaryOp::neg:
      return "-";
    case UnaryOp::plus:
      return "+";
    case UnaryOp::not_:
      return "!";
  }
  return "?";
}

std::string_view op_spelling(BinaryOp op) {
  static constexpr std::string_view kSpellings[] = {
      "+", "-", "*", "/", "%", "<", "<=", ">", ">=", "==", "!=", "&&", "||"};
  const auto k = static_cast<std::size_t>(op);
  return k < std::size(kSpellings) ? kSpellings[k] : "?";
}

std::string_view op_spelling(AssignOp op) {
  static constexpr std::string_view kSpellings[] = {"=", "+=", "-=", "*=", "/=", "%="};
  const auto k = static_cast<std::size_t>(op);
  return k < std::size(kSpellings) ? kSpellings[k] : "?";
}

namespace {

class Dumper {
 public:
  explicit Dumper(const SourceFile& file) : file_(file) {}

  std::string take() { return std::move(out_); }

  void line(int depth, const std::string& text, SourceRange range) {
    out_.append(static_cast<std::size_t>(depth) * 2, ' ');
    out_ += text;
    out_ += " @" + std::to_string(file_.line_of(range.begin)) + ":" + std::to_string(file_.column_of(range.begin));
    out_ += '\n';
  }

  static std::string typed(const Expr& e) {
    std::string s = " : " + std::string(type_name(e.type));
    if (e.constant) s += " = " + format_value(*e.constant);
    return s;
  }

  static std::string conversions(const Expr& e) {
    std::string s;
    for (std::size_t k = 0; k < e.converted_arg_types.size() && k < e.args.size(); ++k) {
      if (e.converted_arg_types[k] != e.args[k]->type) {
        s += " [arg " + std::to_string(k) + " -> " + std::string(type_name(e.converted_arg_types[k])) + "]";
      }
    }
    return s;
  }

  void expr(const Expr& e, int depth) {
    std::string s;
    switch (e.kind) {
      case ExprKind::bool_lit:
        s = std::string("bool ") + (e.bool_value ? "true" : "false");
        break;
      case ExprKind::int_lit:
        s = "int " + std::to_string(e.int_value);
        break;
      case ExprKind::float_lit:
        s = "float " + format_value(Value::of_float(static_cast<float>(e.float_value)));
        break;
      case ExprKind::string_lit:
        s = "string \"" + e.text + "\"";
        break;
      case ExprKind::name: {
        static constexpr const char* kKinds[] = {"unresolved", "local", "uniform", "out", "constant"};
        s = "name " + e.text + " (" + kKinds[static_cast<int>(e.name_kind)];
        if (e.name_index >= 0) s += " " + std::to_string(e.name_index);
        s += ")";
        break;
      }
      case ExprKind::unary:
        s = "unary " + std::string(op_spelling(e.unary_op));
        break;
      case ExprKind::binary:
        s = "binary " + std::string(op_spelling(e.binary_op));
        break;
      case ExprKind::ternary:
        s = "select";
        break;
      case ExprKind::call:
        s = "call " + e.text;
        if (e.target.is_builtin) {
          s += " (builtin";
          if (e.target.overload >= 0) s += " #" + std::to_string(e.target.overload);
          s += ")";
        } else if (e.target.function >= 0) {
          s += " (function " + std::to_string(e.target.function) + ")";
        }
        break;
      case ExprKind::construct:
        s = "construct " + std::string(type_name(e.construct_type));
        break;
      case ExprKind::swizzle:
        s = "swizzle ." + e.text;
        break;
      case ExprKind::index:
        s = "index";
        break;
    }
    line(depth, s + typed(e) + conversions(e), e.range);
    for (const auto& a : e.args) expr(*a, depth + 1);
  }

  void stmt(const Stmt& s, int depth) {
    switch (s.kind) {
      case StmtKind::block:
        line(depth, "block", s.range);
        for (const auto& b : s.body) stmt(*b, depth + 1);
        return;
      case StmtKind::decl:
        line(depth,
             std::string(s.is_const ? "const " : "decl ") + std::string(type_name(s.decl_type)) + " " + s.name +
                 (s.local >= 0 ? " [slot " + std::to_string(s.local) + "]" : ""),
             s.range);
        if (s.expr) expr(*s.expr, depth + 1);
        return;
      case StmtKind::assign:
        line(depth, "assign " + std::string(op_spelling(s.assign_op)), s.range);
        if (s.target) expr(*s.target, depth + 1);
        if (s.expr) expr(*s.expr, depth + 1);
        return;
      case StmtKind::if_:
        line(depth, "if", s.range);
        if (s.expr) expr(*s.expr, depth + 1);
        if (s.then_stmt) stmt(*s.then_stmt, depth + 1);
        if (s.else_stmt) {
          line(depth, "else", s.else_stmt->range);
          stmt(*s.else_stmt, depth + 1);
        }
        return;
      case StmtKind::for_:
        line(depth, "for", s.range);
        if (s.init) stmt(*s.init, depth + 1);
        if (s.expr) expr(*s.expr, depth + 1);
        if (s.step) stmt(*s.step, depth + 1);
        if (s.body_stmt) stmt(*s.body_stmt, depth + 1);
        return;
      case StmtKind::while_:
        line(depth, "while", s.range);
        if (s.expr) expr(*s.expr, depth + 1);
        if (s.body_stmt) stmt(*s.body_stmt, depth + 1);
        return;
      case StmtKind::break_:
        line(depth, "break", s.range);
        return;
      case StmtKind::continue_:
        line(depth, "continue", s.range);
        return;
      case StmtKind::return_:
        line(depth, "return", s.range);
        if (s.expr) expr(*s.expr, depth + 1);
        return;
      case StmtKind::expr:
        line(depth, "expr", s.range);
        if (s.expr) expr(*s.expr, depth + 1);
        return;
    }
  }

  void function(const Function& f, int depth) {
    static constexpr const char* kKinds[] = {"function", "surface", "volume"};
    std::string s = std::string(kKinds[static_cast<int>(f.kind)]) + " " + std::string(type_name(f.return_type));
    if (f.kind == FunctionKind::function) s += " " + f.name;
    line(depth, s, f.name_range);
    for (const Param& p : f.params) {
      line(depth + 1,
           "param " + std::string(type_name(p.type)) + " " + p.name +
               (p.local >= 0 ? " [slot " + std::to_string(p.local) + "]" : ""),
           p.range);
    }
    if (!f.local_types.empty()) {
      std::string locals = "locals";
      for (std::size_t k = 0; k < f.local_types.size(); ++k) {
        locals += " " + std::to_string(k) + ":" + std::string(type_name(f.local_types[k]));
        if (k < f.local_names.size()) locals += " " + f.local_names[k];
      }
      line(depth + 1, locals, f.name_range);
    }
    if (f.body) stmt(*f.body, depth + 1);
  }

  void module(const Module& m) {
    line(0, "module " + file_.name(), {0, 0});
    for (const ConstDecl& c : m.consts) {
      line(1,
           "const " + std::string(type_name(c.type)) + " " + c.name + (c.value ? " = " + format_value(*c.value) : ""),
           c.range);
      if (c.expr) expr(*c.expr, 2);
    }
    for (const auto& f : m.functions) function(*f, 1);
    if (!m.fablet) return;
    const Fablet& fb = *m.fablet;
    line(1,
         "fablet " + fb.name + " (materials " + std::to_string(fb.material_count) + ", textures " +
             std::to_string(fb.texture_count) + ", out columns " + std::to_string(fb.out_columns) + ")",
         fb.range);
    for (const UniformDecl& u : fb.uniforms) {
      std::string s = "uniform " + std::string(type_name(u.type)) + " " + u.name;
      if (u.slot >= 0) s += " [slot " + std::to_string(u.slot) + "]";
      if (u.default_value) s += " = " + format_value(*u.default_value);
      if (!u.default_text.empty()) s += " = \"" + u.default_text + "\"";
      line(2, s, u.range);
      if (u.default_expr) expr(*u.default_expr, 3);
    }
    for (const OutDecl& o : fb.outs) {
      line(2,
           "out " + std::string(type_name(o.type)) + " " + o.name + " [column " + std::to_string(o.first_column) + "]",
           o.range);
    }
    if (fb.surface) function(*fb.surface, 2);
    if (fb.volume) function(*fb.volume, 2);
  }

 private:
  const SourceFile& file_;
  std::string out_;
};

}  // namespace

std::string dump(const Module& module) {
  if (!module.file) return {};
  Dumper d(*module.file);
  d.module(module);
  return d.take();
}

}  // namespace fabforge::openfl::ast
