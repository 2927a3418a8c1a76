// The OpenFL lexer.

#include "lexer.hpp"

#include <charconv>
#include <cmath>
#include <limits>

namespace fabforge::openfl {

namespace {

struct Keyword {
  std::string_view word;
  Tok kind;
};

constexpr Keyword kKeywords[] = {
    {"fablet", Tok::kw_fablet}, {"uniform", Tok::kw_uniform}, {"out", Tok::kw_out},
    {"const", Tok::kw_const},   {"surface", Tok::kw_surface}, {"volume", Tok::kw_volume},
    {"if", Tok::kw_if},         {"else", Tok::kw_else},       {"for", Tok::kw_for},
    {"while", Tok::kw_while},   {"break", Tok::kw_break},     {"continue", Tok::kw_continue},
    {"return", Tok::kw_return}, {"true", Tok::kw_true},       {"false", Tok::kw_false},
};

struct Punct {
  std::string_view text;
  Tok kind;
};

// Longest first, so that "->" wins over "-".
constexpr Punct kPuncts[] = {
    {"->", Tok::arrow},        {"<=", Tok::less_eq},     {">=", Tok::greater_eq},   {"==", Tok::eq_eq},
    {"!=", Tok::not_eq_},      {"&&", Tok::and_and},     {"||", Tok::or_or},        {"+=", Tok::plus_assign},
    {"-=", Tok::minus_assign}, {"*=", Tok::star_assign}, {"/=", Tok::slash_assign}, {"%=", Tok::percent_assign},
    {"(", Tok::lparen},        {")", Tok::rparen},       {"{", Tok::lbrace},        {"}", Tok::rbrace},
    {"[", Tok::lbracket},      {"]", Tok::rbracket},     {",", Tok::comma},         {";", Tok::semicolon},
    {".", Tok::dot},           {"?", Tok::question},     {":", Tok::colon},         {"+", Tok::plus},
    {"-", Tok::minus},         {"*", Tok::star},         {"/", Tok::slash},         {"%", Tok::percent},
    {"!", Tok::bang},          {"<", Tok::less},         {">", Tok::greater},       {"=", Tok::assign},
};

bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c); }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string byte_text(unsigned char c) {
  if (c >= 0x20 && c < 0x7f) return std::string(1, static_cast<char>(c));
  static constexpr char kHex[] = "0123456789abcdef";
  return std::string("\\x") + kHex[c >> 4] + kHex[c & 15];
}

class Lexer {
 public:
  Lexer(const SourceFile& file, Diagnostics& diags) : src_(file.text()), diags_(diags) {}

  std::vector<Token> run() {
    std::vector<Token> tokens;
    for (;;) {
      skip_space_and_comments();
      if (pos_ >= src_.size()) break;
      Token t;
      if (lex_one(t)) tokens.push_back(std::move(t));
    }
    Token eof;
    eof.kind = Tok::eof;
    eof.range = {static_cast<std::uint32_t>(src_.size()), static_cast<std::uint32_t>(src_.size())};
    tokens.push_back(eof);
    return tokens;
  }

 private:
  SourceRange range(std::size_t begin, std::size_t end) const {
    return {static_cast<std::uint32_t>(begin), static_cast<std::uint32_t>(end)};
  }

  void skip_space_and_comments() {
    while (pos_ < src_.size()) {
      const char c = src_[pos_];
      if (is_space(c)) {
        ++pos_;
      } else if (c == '/' && pos_ + 1 < src_.size() && src_[pos_ + 1] == '/') {
        while (pos_ < src_.size() && src_[pos_] != '\n') ++pos_;
      } else if (c == '/' && pos_ + 1 < src_.size() && src_[pos_ + 1] == '*') {
        const std::size_t end = src_.find("*/", pos_ + 2);
        if (end == std::string_view::npos) {
          diags_.error(range(pos_, pos_ + 2), "unterminated comment");
          pos_ = src_.size();
        } else {
          pos_ = end + 2;
        }
      } else {
        break;
      }
    }
  }

  // Lexes one token starting at pos_ (not space); false when the characters were skipped with an error.
  bool lex_one(Token& t) {
    const std::size_t begin = pos_;
    const char c = src_[pos_];
    if (is_ident_start(c)) {
      while (pos_ < src_.size() && is_ident_char(src_[pos_])) ++pos_;
      finish(t, begin, Tok::ident);
      classify_word(t);
      return true;
    }
    if (is_digit(c) || (c == '.' && pos_ + 1 < src_.size() && is_digit(src_[pos_ + 1]))) return lex_number(t);
    if (c == '"') return lex_string(t);
    for (const Punct& p : kPuncts) {
      if (src_.substr(pos_, p.text.size()) == p.text) {
        pos_ += p.text.size();
        finish(t, begin, p.kind);
        return true;
      }
    }
    // A run of characters that start no token is reported once.
    while (pos_ < src_.size() && !starts_token(src_[pos_])) ++pos_;
    if (pos_ == begin) ++pos_;
    if (pos_ - begin == 1) {
      diags_.error(range(begin, pos_), "unexpected character '" + byte_text(static_cast<unsigned char>(c)) + "'");
    } else {
      diags_.error(range(begin, pos_),
                   "unexpected characters starting with '" + byte_text(static_cast<unsigned char>(c)) + "'");
    }
    return false;
  }

  static bool starts_token(char c) {
    if (is_ident_char(c) || is_space(c) || c == '"' || c == '.') return true;
    for (const Punct& p : kPuncts) {
      if (p.text[0] == c) return true;
    }
    return false;
  }

  void finish(Token& t, std::size_t begin, Tok kind) {
    t.kind = kind;
    t.range = range(begin, pos_);
    t.text = src_.substr(begin, pos_ - begin);
  }

  static void classify_word(Token& t) {
    for (const Keyword& k : kKeywords) {
      if (k.word == t.text) {
        t.kind = k.kind;
        return;
      }
    }
    const Type type = type_from_name(t.text);
    if (type != Type::error) {
      t.kind = Tok::type_kw;
      t.type = type;
    }
  }

  std::size_t digits(std::size_t p) const {
    while (p < src_.size() && is_digit(src_[p])) ++p;
    return p;
  }

  bool lex_number(Token& t) {
    const std::size_t begin = pos_;
    std::size_t p = digits(pos_);
    bool is_float = false, bad = false;
    if (p < src_.size() && src_[p] == '.') {
      is_float = true;
      p = digits(p + 1);
    }
    if (p < src_.size() && (src_[p] == 'e' || src_[p] == 'E')) {
      is_float = true;
      std::size_t q = p + 1;
      if (q < src_.size() && (src_[q] == '+' || src_[q] == '-')) ++q;
      const std::size_t e = digits(q);
      if (e == q) bad = true;  // exponent without digits
      p = e;
    }
    const std::size_t number_end = p;
    if (is_float && p < src_.size() && (src_[p] == 'f' || src_[p] == 'F')) ++p;
    // Letters, digits or another '.' glued to the number make it malformed ("12abc", "0x1f", "1.2.3").
    if (p < src_.size() && (is_ident_char(src_[p]) || src_[p] == '.')) {
      bad = true;
      while (p < src_.size() && (is_ident_char(src_[p]) || src_[p] == '.')) ++p;
    }
    pos_ = p;
    finish(t, begin, is_float ? Tok::float_lit : Tok::int_lit);
    if (bad) {
      diags_.error(t.range, "malformed number '" + std::string(t.text) + "'");
      // Keep a token so that the parser does not report a second error here.
      t.kind = is_float ? Tok::float_lit : Tok::int_lit;
      return true;
    }
    const std::string_view body = src_.substr(begin, number_end - begin);
    if (!is_float) {
      std::int64_t v = 0;
      for (char d : body) {
        if (v > (std::numeric_limits<std::int64_t>::max() - 9) / 10) {
          v = std::numeric_limits<std::int64_t>::max();
          break;
        }
        v = v * 10 + (d - '0');
      }
      t.int_value = v;
      return true;
    }
    // "2." and ".5" are valid here; from_chars wants digits on both sides of nothing in particular,
    // so parse a normalised copy.
    std::string norm(body);
    if (norm[0] == '.') norm.insert(norm.begin(), '0');
    float f = 0;
    const auto rf = std::from_chars(norm.data(), norm.data() + norm.size(), f);
    if (rf.ec == std::errc()) {
      t.float_value = f;
      return true;
    }
    double d = 0;
    std::from_chars(norm.data(), norm.data() + norm.size(), d);
    if (std::fabs(d) > static_cast<double>(std::numeric_limits<float>::max()) || std::isinf(d)) {
      diags_.error(t.range, "float literal '" + std::string(t.text) + "' is out of range");
      t.float_value = 0;
    } else {
      t.float_value = static_cast<float>(d);  // underflow: a subnormal or zero
    }
    return true;
  }

  bool lex_string(Token& t) {
    const std::size_t begin = pos_;
    std::string value;
    ++pos_;
    for (;;) {
      if (pos_ >= src_.size() || src_[pos_] == '\n') {
        diags_.error(range(begin, begin + 1), "unterminated string");
        finish(t, begin, Tok::string_lit);
        t.string_value = std::move(value);
        return true;
      }
      const char c = src_[pos_];
      if (c == '"') {
        ++pos_;
        break;
      }
      if (c == '\\' && pos_ + 1 < src_.size() && (src_[pos_ + 1] == '"' || src_[pos_ + 1] == '\\')) {
        value += src_[pos_ + 1];
        pos_ += 2;
        continue;
      }
      value += c;
      ++pos_;
    }
    finish(t, begin, Tok::string_lit);
    t.string_value = std::move(value);
    return true;
  }

  std::string_view src_;
  Diagnostics& diags_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string describe(Tok kind) {
  switch (kind) {
    case Tok::eof:
      return "end of file";
    case Tok::ident:
      return "identifier";
    case Tok::type_kw:
      return "type";
    case Tok::int_lit:
    case Tok::float_lit:
      return "number";
    case Tok::string_lit:
      return "string";
    default:
      break;
  }
  for (const Keyword& k : kKeywords) {
    if (k.kind == kind) return "'" + std::string(k.word) + "'";
  }
  for (const Punct& p : kPuncts) {
    if (p.kind == kind) return "'" + std::string(p.text) + "'";
  }
  return "token";
}

std::string describe(const Token& token) {
  if (token.kind == Tok::eof) return "end of file";
  if (token.kind == Tok::string_lit) return "string";
  std::string text(token.text.substr(0, 40));
  return "'" + text + "'";
}

std::vector<Token> lex(const SourceFile& file, Diagnostics& diags) { return Lexer(file, diags).run(); }

}  // namespace fabforge::openfl
