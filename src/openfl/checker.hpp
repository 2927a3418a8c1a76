#pragma once
// The OpenFL type checker and the constant folding it uses. Private to the front end.

#include <optional>
#include <vector>

#include "fabforge/openfl/ast.hpp"
#include "fabforge/openfl/builtins.hpp"
#include "fabforge/openfl/types.hpp"

#include "parser.hpp"

namespace fabforge::openfl {

/// Resolves names, types every expression, assigns local slots, folds constants and checks the
/// rules of docs/openfl.md, filling the "checked" fields of the tree. Errors go to `diags`.
void check(ParseResult& parsed, Diagnostics& diags);

/// Constant folding on Values, with the runtime's scalar arithmetic (scalar_math.hpp,
/// composite.hpp) so that folding never changes a result. Arguments must already have the types
/// the operation receives (after int -> float conversion); nullopt when the operation is not
/// folded.
namespace fold {
/// int -> float (the only implicit conversion); other values unchanged.
Value convert(const Value& v, Type to);
std::optional<Value> unary(ast::UnaryOp op, const Value& a);
std::optional<Value> binary(ast::BinaryOp op, const Value& a, const Value& b, Type result);
/// float(x), int(x), bool(x), vecN(...), matN(...).
std::optional<Value> construct(Type type, const std::vector<Value>& args);
/// Pure math builtins (no noise, textures, surface queries or mixtures).
std::optional<Value> builtin(BuiltinFn fn, const std::vector<Value>& args, Type result);
}  // namespace fold

}  // namespace fabforge::openfl
