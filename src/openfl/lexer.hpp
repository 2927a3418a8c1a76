#pragma once
// The OpenFL lexer: source text to tokens. Private to the front end.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fabforge/openfl/source.hpp"
#include "fabforge/openfl/types.hpp"

namespace fabforge::openfl {

enum class Tok : std::uint8_t {
  eof,
  ident,
  type_kw,  ///< a type keyword (void included); Token::type says which
  int_lit,
  float_lit,
  string_lit,
  // keywords
  kw_fablet,
  kw_uniform,
  kw_out,
  kw_const,
  kw_surface,
  kw_volume,
  kw_if,
  kw_else,
  kw_for,
  kw_while,
  kw_break,
  kw_continue,
  kw_return,
  kw_true,
  kw_false,
  // punctuation
  lparen,
  rparen,
  lbrace,
  rbrace,
  lbracket,
  rbracket,
  comma,
  semicolon,
  dot,
  question,
  colon,
  arrow,
  plus,
  minus,
  star,
  slash,
  percent,
  bang,
  less,
  less_eq,
  greater,
  greater_eq,
  eq_eq,
  not_eq_,
  and_and,
  or_or,
  assign,
  plus_assign,
  minus_assign,
  star_assign,
  slash_assign,
  percent_assign,
};

struct Token {
  Tok kind = Tok::eof;
  SourceRange range;
  std::string_view text;    ///< the token's source text (string literals: the contents, unescaped in `value`)
  Type type = Type::error;  ///< type_kw
  std::int64_t int_value = 0;
  double float_value = 0;
  std::string string_value;  ///< string_lit
};

/// Describes a token kind for messages ("';'", "identifier", "end of file").
std::string describe(Tok kind);
/// Describes a token as found ("'foo'", "end of file").
std::string describe(const Token& token);

/// Splits `file` into tokens (the last one is eof), reporting bad characters, unterminated strings
/// and comments and malformed numbers to `diags` and skipping them.
std::vector<Token> lex(const SourceFile& file, Diagnostics& diags);

}  // namespace fabforge::openfl
