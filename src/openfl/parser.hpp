#pragma once
// The OpenFL parser: tokens to an unchecked syntax tree. Private to the front end.

#include <memory>
#include <unordered_set>

#include "fabforge/openfl/ast.hpp"
#include "fabforge/openfl/source.hpp"

namespace fabforge::openfl {

/// Deepest nesting of statements and expressions the parser accepts (deeper input gets a
/// diagnostic, so that no later recursive pass can overflow the stack).
constexpr int kMaxNesting = 200;

struct ParseResult {
  ast::Module module;
  /// Functions (phases included) in which a syntax error dropped part of the body: the checker
  /// does not complain about their missing returns.
  std::unordered_set<const ast::Function*> damaged;
};

/// Parses a whole file; every syntax error goes to `diags` and parsing resumes after it.
ParseResult parse(std::shared_ptr<const SourceFile> file, Diagnostics& diags);

}  // namespace fabforge::openfl
