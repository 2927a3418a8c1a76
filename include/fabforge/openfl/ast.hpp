#pragma once
/// The OpenFL syntax tree. The parser builds it; the type checker fills the "checked" fields
/// (types, name resolution, call targets, swizzles, constants, local slots); the lowering to IR
/// and the reference interpreter read it.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fabforge/openfl/builtins.hpp"
#include "fabforge/openfl/source.hpp"
#include "fabforge/openfl/types.hpp"

namespace fabforge::openfl::ast {

enum class UnaryOp : std::uint8_t { neg, plus, not_ };
enum class BinaryOp : std::uint8_t { add, sub, mul, div, mod, lt, le, gt, ge, eq, ne, and_, or_ };
enum class AssignOp : std::uint8_t { set, add, sub, mul, div, mod };

std::string_view op_spelling(UnaryOp op);
std::string_view op_spelling(BinaryOp op);
std::string_view op_spelling(AssignOp op);  ///< "=", "+=", ...

enum class ExprKind : std::uint8_t {
  bool_lit,
  int_lit,
  float_lit,
  string_lit,
  name,       ///< text = identifier
  unary,      ///< op_unary, args[0]
  binary,     ///< op_binary, args[0], args[1]
  ternary,    ///< args[0] ? args[1] : args[2]
  call,       ///< text = callee name, args = arguments
  construct,  ///< construct_type(args...): float(x), vec3(...), mat3(...), int(x), bool(x)
  swizzle,    ///< args[0].text
  index,      ///< args[0][args[1]]
};

/// What a name expression refers to (filled by the checker).
enum class NameKind : std::uint8_t {
  unresolved,
  local,             ///< a parameter or local variable of the enclosing function: index = local slot
  uniform,           ///< index = uniform number in Fablet::uniforms
  out,               ///< index = out number in Fablet::outs
  constant,          ///< a `const` or builtin constant (PI, ...): value in Expr::constant
};

/// The function a call expression resolved to (filled by the checker).
struct CallTarget {
  bool is_builtin = false;
  BuiltinFn builtin{};                ///< when is_builtin
  int overload = -1;                  ///< index into builtin_overloads(builtin) (-1 for mixture())
  int function = -1;                  ///< index into Module::functions when !is_builtin
};

struct Expr {
  ExprKind kind{};
  SourceRange range;

  // --- syntax ---
  bool bool_value = false;
  std::int64_t int_value = 0;   ///< as written (range-checked by the checker)
  double float_value = 0;       ///< as written; the checker rounds to float
  std::string text;             ///< identifier, callee, string contents or swizzle letters
  UnaryOp unary_op{};
  BinaryOp binary_op{};
  Type construct_type = Type::error;
  std::vector<std::unique_ptr<Expr>> args;

  // --- checked ---
  Type type = Type::error;
  NameKind name_kind = NameKind::unresolved;
  int name_index = -1;                    ///< local slot, uniform or out index
  CallTarget target;                      ///< calls
  /// Argument types after implicit int->float conversion, i.e. the types the callee/operator
  /// receives (one per args entry). The lowering and interpreters convert when they differ from
  /// args[k]->type.
  std::vector<Type> converted_arg_types;
  std::vector<int> swizzle;               ///< component numbers, 0..3 (swizzle)
  std::optional<Value> constant;          ///< the value when the expression is a compile-time constant
};

enum class StmtKind : std::uint8_t {
  block,      ///< body
  decl,       ///< decl_type name [= expr]; is_const for const
  assign,     ///< target assign_op expr
  if_,        ///< if (expr) then_stmt [else else_stmt]
  for_,       ///< for (init; expr; step) body_stmt  -- any of init/expr/step may be null
  while_,     ///< while (expr) body_stmt
  break_,
  continue_,
  return_,    ///< return [expr];
  expr,       ///< expr; (a call)
};

struct Stmt {
  StmtKind kind{};
  SourceRange range;

  std::vector<std::unique_ptr<Stmt>> body;  ///< block
  Type decl_type = Type::error;
  bool is_const = false;
  std::string name;
  SourceRange name_range;
  AssignOp assign_op{};
  std::unique_ptr<Expr> target;             ///< assign: the lvalue
  std::unique_ptr<Expr> expr;               ///< decl init, assign rhs, condition, return value, expr stmt
  std::unique_ptr<Stmt> init, step;         ///< for
  std::unique_ptr<Stmt> then_stmt, else_stmt, body_stmt;

  // --- checked ---
  int local = -1;                           ///< decl: the local slot it declares
};

struct Param {
  Type type = Type::error;
  std::string name;
  SourceRange range;
  int local = -1;  ///< checked: its local slot (parameters take slots 0..n-1)
};

enum class FunctionKind : std::uint8_t { function, surface, volume };

struct Function {
  FunctionKind kind = FunctionKind::function;
  std::string name;               ///< "surface" / "volume" for phases
  SourceRange range;              ///< the whole definition
  SourceRange name_range;
  Type return_type = Type::void_; ///< phases: vec3 / mixture
  std::vector<Param> params;
  std::unique_ptr<Stmt> body;     ///< a block

  // --- checked ---
  std::vector<Type> local_types;  ///< type of every local slot (parameters first)
  std::vector<std::string> local_names;
};

struct UniformDecl {
  Type type = Type::error;
  std::string name;
  SourceRange range;
  std::unique_ptr<Expr> default_expr;  ///< may be null
  // --- checked ---
  std::optional<Value> default_value;  ///< bool/int/float/vector/matrix defaults
  std::string default_text;            ///< material / texture defaults (the string)
  int slot = -1;                       ///< material: material slot; texture: texture slot
};

struct OutDecl {
  Type type = Type::error;
  std::string name;
  SourceRange range;
  int first_column = -1;  ///< checked: first scalar column among all outs (declaration order)
};

struct ConstDecl {
  Type type = Type::error;
  std::string name;
  SourceRange range;
  std::unique_ptr<Expr> expr;
  std::optional<Value> value;  ///< checked
};

struct Fablet {
  std::string name;
  SourceRange range;
  std::vector<UniformDecl> uniforms;
  std::vector<OutDecl> outs;
  std::unique_ptr<Function> surface;  ///< may be null
  std::unique_ptr<Function> volume;   ///< may be null
  // --- checked ---
  int material_count = 0;        ///< number of material uniforms = mixture width
  int texture_count = 0;
  int out_columns = 0;           ///< total scalar components of all outs
};

/// A whole file. Constants and functions declared inside the fablet are stored here too (their
/// names are visible file-wide, as if declared at file scope).
struct Module {
  std::shared_ptr<const SourceFile> file;
  std::vector<ConstDecl> consts;
  std::vector<std::unique_ptr<Function>> functions;
  std::unique_ptr<Fablet> fablet;  ///< null only after errors
};

/// Indented tree dump for `fabforge openfl dump --ast`: one node per line with its kind, key
/// fields, source line:col and, once checked, its type.
std::string dump(const Module& module);

}  // namespace fabforge::openfl::ast
