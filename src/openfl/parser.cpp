// The OpenFL parser: recursive descent over the grammar of docs/openfl.md, with panic-mode error
// recovery (the first error of a statement is reported, then the parser skips to the statement's
// end) and a nesting limit so that no input can exhaust the stack.

#include "parser.hpp"

#include <algorithm>
#include <limits>
#include <unordered_map>

#include "fabforge/core/text.hpp"

#include "lexer.hpp"

namespace fabforge::openfl {

namespace {

using ast::Expr;
using ast::ExprKind;
using ast::Stmt;
using ast::StmtKind;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;

/// Deepest expression tree (left-associative chains such as 1+1+1+... included).
constexpr int kMaxExprDepth = 256;


int binary_precedence(Tok t) {
  switch (t) {
    case Tok::or_or:
      return 1;
    case Tok::and_and:
      return 2;
    case Tok::eq_eq:
    case Tok::not_eq_:
      return 3;
    case Tok::less:
    case Tok::less_eq:
    case Tok::greater:
    case Tok::greater_eq:
      return 4;
    case Tok::plus:
    case Tok::minus:
      return 5;
    case Tok::star:
    case Tok::slash:
    case Tok::percent:
      return 6;
    default:
      return 0;
  }
}

ast::BinaryOp binary_op(Tok t) {
  switch (t) {
    case Tok::or_or:
      return ast::BinaryOp::or_;
    case Tok::and_and:
      return ast::BinaryOp::and_;
    case Tok::eq_eq:
      return ast::BinaryOp::eq;
    case Tok::not_eq_:
      return ast::BinaryOp::ne;
    case Tok::less:
      return ast::BinaryOp::lt;
    case Tok::less_eq:
      return ast::BinaryOp::le;
    case Tok::greater:
      return ast::BinaryOp::gt;
    case Tok::greater_eq:
      return ast::BinaryOp::ge;
    case Tok::plus:
      return ast::BinaryOp::add;
    case Tok::minus:
      return ast::BinaryOp::sub;
    case Tok::star:
      return ast::BinaryOp::mul;
    case Tok::slash:
      return ast::BinaryOp::div;
    default:
      return ast::BinaryOp::mod;
  }
}

bool assign_op(Tok t, ast::AssignOp& op) {
  switch (t) {
    case Tok::assign:
      op = ast::AssignOp::set;
      return true;
    case Tok::plus_assign:
      op = ast::AssignOp::add;
      return true;
    case Tok::minus_assign:
      op = ast::AssignOp::sub;
      return true;
    case Tok::star_assign:
      op = ast::AssignOp::mul;
      return true;
    case Tok::slash_assign:
      op = ast::AssignOp::div;
      return true;
    case Tok::percent_assign:
      op = ast::AssignOp::mod;
      return true;
    default:
      return false;
  }
}

class Parser {
 public:
  Parser(std::shared_ptr<const SourceFile> file, Diagnostics& diags)
      : file_(std::move(file)), diags_(diags), lex_diags_(file_), tokens_(lex(*file_, lex_diags_)) {}

  ParseResult run() {
    result_.module.file = file_;
    while (!at(Tok::eof)) {
      panic_ = false;
      const std::size_t start = pos_;
      parse_top_item();
      if (pos_ == start) advance();  // always make progress
    }
    flush_lex_errors(std::numeric_limits<std::uint32_t>::max());
    return std::move(result_);
  }

 private:
  // ---- tokens ----
  const Token& peek(std::size_t k = 0) const { return tokens_[std::min(pos_ + k, tokens_.size() - 1)]; }
  bool at(Tok kind) const { return peek().kind == kind; }
  const Token& advance() {
    const Token& t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }
  bool accept(Tok kind) {
    if (!at(kind)) return false;
    advance();
    return true;
  }
  SourceRange prev_range() const { return pos_ > 0 ? tokens_[pos_ - 1].range : SourceRange{}; }

  // ---- errors ----
  void error(SourceRange range, std::string message) {
    in_damage_ = true;
    if (panic_) return;
    panic_ = true;
    flush_lex_errors(range.begin);
    // A lexer error in the previous or current token (a stray character, an unterminated string)
    // already explains this one.
    const std::uint32_t from = prev_range().begin, to = std::max(peek().range.end, range.end);
    for (const Diagnostic& d : lex_diags_.all()) {
      if (d.range.begin >= from && d.range.begin <= to) return;
    }
    diags_.error(range, std::move(message));
  }
  /// Lexer errors are reported in source order among the parser's.
  void flush_lex_errors(std::uint32_t upto) {
    const auto& items = lex_diags_.all();
    for (; lex_next_ < items.size() && items[lex_next_].range.begin <= upto; ++lex_next_) {
      diags_.error(items[lex_next_].range, items[lex_next_].message);
    }
  }
  /// "expected X, found Y", at the found token, or just after the previous token when the found
  /// token is on a later line (a missing ';' is best shown where it belongs).
  void error_expected(const std::string& what) {
    SourceRange where = peek().range;
    if (pos_ > 0) {
      const SourceRange prev = prev_range();
      if (file_->line_of(prev.end) != file_->line_of(where.begin)) where = {prev.end, prev.end};
    }
    error(where, "expected " + what + ", found " + describe(peek()));
  }
  bool expect(Tok kind) {
    if (accept(kind)) return true;
    error_expected(describe(kind));
    return false;
  }

  /// Skips the rest of a broken statement: up to and including a ';' at depth 0, up to (not
  /// including) a '}' that closes the enclosing block, or through a whole '{...}' block opened
  /// while skipping (the body of a broken if/while/for).
  void skip_statement() {
    int depth = 0;
    while (!at(Tok::eof)) {
      const Tok k = peek().kind;
      if (k == Tok::lparen || k == Tok::lbracket || k == Tok::lbrace) {
        ++depth;
      } else if (k == Tok::rparen || k == Tok::rbracket) {
        if (depth > 0) --depth;
      } else if (k == Tok::rbrace) {
        if (depth == 0) break;
        if (--depth == 0) {
          advance();
          if (!at(Tok::kw_else)) break;
          continue;
        }
      } else if (k == Tok::semicolon && depth == 0) {
        advance();
        break;
      }
      advance();
    }
    panic_ = false;
  }

  /// Skips a broken top-level item or fablet member.
  void skip_item() {
    bool moved = false;
    while (!at(Tok::eof)) {
      const Tok k = peek().kind;
      if (moved && (k == Tok::kw_const || k == Tok::kw_fablet || k == Tok::kw_uniform || k == Tok::kw_out ||
                    k == Tok::kw_surface || k == Tok::kw_volume || k == Tok::type_kw)) {
        break;
      }
      if (k == Tok::rbrace) break;
      if (k == Tok::semicolon) {
        advance();
        break;
      }
      if (k == Tok::lbrace) {
        skip_statement();
        break;
      }
      advance();
      moved = true;
    }
    panic_ = false;
  }

  // ---- nesting limits ----
  struct NestGuard {
    explicit NestGuard(int& n) : n_(n) { ++n_; }
    ~NestGuard() { --n_; }
    NestGuard(const NestGuard&) = delete;
    NestGuard& operator=(const NestGuard&) = delete;
    int& n_;
  };
  bool too_deep(const char* what) {
    if (nest_ <= kMaxNesting) return false;
    error(peek().range,
          std::string(what) + " nested too deeply (more than " + std::to_string(kMaxNesting) + " levels)");
    return true;
  }

  ExprPtr make(ExprKind kind, SourceRange range) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->range = range;
    depth_[e.get()] = 1;
    return e;
  }
  /// Records the depth of a node whose args are set; null (with an error) when too deep.
  ExprPtr finish(ExprPtr e) {
    int d = 0;
    for (const ExprPtr& a : e->args) d = std::max(d, depth_[a.get()]);
    if (d + 1 > kMaxExprDepth) {
      error(e->range, "expression nested too deeply (more than " + std::to_string(kMaxExprDepth) + " levels)");
      return nullptr;
    }
    depth_[e.get()] = d + 1;
    return e;
  }

  // ---- types ----
  std::string type_suggestion(std::string_view word) const {
    static constexpr std::string_view kTypes[] = {"bool", "int",  "float", "vec2",     "vec3",    "vec4",
                                                  "mat3", "mat4", "void",  "material", "mixture", "texture"};
    return did_you_mean(word, kTypes);
  }
  bool at_unknown_type() const { return at(Tok::ident) && peek(1).kind == Tok::ident; }

  /// A type keyword, or an identifier followed by an identifier (an unknown type, reported).
  bool parse_type(Type& type, SourceRange* range = nullptr) {
    if (range) *range = peek().range;
    if (at(Tok::type_kw)) {
      type = advance().type;
      return true;
    }
    if (at(Tok::ident)) {
      const Token& t = peek();
      error(t.range, "unknown type '" + std::string(t.text) + "'" + type_suggestion(t.text));
      advance();
      type = Type::error;
      return true;
    }
    error_expected("a type");
    return false;
  }

  // ---- top level ----
  void parse_top_item() {
    switch (peek().kind) {
      case Tok::kw_const:
        parse_const_member();
        return;
      case Tok::kw_fablet:
        parse_fablet();
        return;
      case Tok::type_kw:
      case Tok::ident:
        if (peek().kind == Tok::type_kw || at_unknown_type()) {
          parse_function_member();
          return;
        }
        break;
      case Tok::kw_uniform:
      case Tok::kw_out:
      case Tok::kw_surface:
      case Tok::kw_volume: {
        // Parsed (for its syntax errors) into a fablet that is thrown away.
        error(peek().range, describe(peek()) + " is only allowed inside the fablet");
        panic_ = false;
        ast::Fablet discarded;
        parse_member(discarded);
        return;
      }
      default:
        break;
    }
    error_expected("a constant, function or fablet");
    skip_item();
  }

  void parse_const_member() {
    advance();  // const
    ast::ConstDecl c;
    if (!parse_type(c.type)) return skip_item();
    if (!at(Tok::ident)) {
      error_expected("a constant name");
      return skip_item();
    }
    const Token& name = advance();
    c.name = std::string(name.text);
    c.range = name.range;
    if (!expect(Tok::assign)) return skip_item();
    c.expr = parse_expr();
    if (!c.expr || !expect(Tok::semicolon)) return skip_item();
    result_.module.consts.push_back(std::move(c));
  }

  void parse_function_member() {
    Type ret = Type::error;
    const std::size_t begin = peek().range.begin;
    if (!parse_type(ret)) return skip_item();
    if (!at(Tok::ident)) {
      error_expected("a function name");
      return skip_item();
    }
    const Token& name = advance();
    if (!at(Tok::lparen)) {
      if (at(Tok::assign) || at(Tok::semicolon)) {
        error(name.range, "variables outside functions must be 'const' (or a uniform inside the fablet)");
      } else {
        error_expected("'('");
      }
      return skip_item();
    }
    auto fn = std::make_unique<ast::Function>();
    fn->kind = ast::FunctionKind::function;
    fn->name = std::string(name.text);
    fn->name_range = name.range;
    fn->return_type = ret;
    if (parse_function_rest(*fn, begin)) result_.module.functions.push_back(std::move(fn));
  }

  /// Parameters and body, from the '('.
  bool parse_function_rest(ast::Function& fn, std::size_t begin) {
    in_damage_ = false;
    if (!parse_params(fn)) {
      skip_item();
      return false;
    }
    if (fn.kind != ast::FunctionKind::function && accept(Tok::arrow)) {
      Type t = Type::error;
      SourceRange r;
      if (!parse_type(t, &r)) {
        skip_item();
        return false;
      }
      const Type want = fn.kind == ast::FunctionKind::surface ? Type::vec3 : Type::mixture;
      if (t != want && t != Type::error) {
        error(r, "the " + fn.name + " phase returns '" + std::string(type_name(want)) + "', not '" +
                     std::string(type_name(t)) + "'");
        panic_ = false;
        fn.return_type = Type::error;  // no further complaints about its returns
      }
    }
    if (!at(Tok::lbrace)) {
      error_expected("'{'");
      skip_item();
      return false;
    }
    fn.body = parse_block();
    fn.range = {static_cast<std::uint32_t>(begin), prev_range().end};
    if (in_damage_) result_.damaged.insert(&fn);
    in_damage_ = false;
    return true;
  }

  bool parse_params(ast::Function& fn) {
    if (!expect(Tok::lparen)) return false;
    if (accept(Tok::rparen)) return true;
    for (;;) {
      ast::Param p;
      if (at(Tok::type_kw) && peek().type == Type::void_ && peek(1).kind == Tok::rparen) {
        error(peek().range, "an empty parameter list is written '()', not '(void)'");
        advance();
        panic_ = false;
        return expect(Tok::rparen);
      }
      if (!parse_type(p.type)) return false;
      if (!at(Tok::ident)) {
        error_expected("a parameter name");
        return false;
      }
      const Token& name = advance();
      p.name = std::string(name.text);
      p.range = name.range;
      fn.params.push_back(std::move(p));
      if (accept(Tok::comma)) continue;
      return expect(Tok::rparen);
    }
  }

  void parse_fablet() {
    advance();  // fablet
    if (!at(Tok::ident)) {
      error_expected("the fablet's name");
      return skip_item();
    }
    const Token& name = advance();
    auto fablet = std::make_unique<ast::Fablet>();
    fablet->name = std::string(name.text);
    fablet->range = name.range;
    if (result_.module.fablet) {
      error(name.range, "a second fablet '" + fablet->name + "'; a file holds exactly one fablet");
      panic_ = false;
    }
    if (!expect(Tok::lbrace)) return skip_item();
    while (!at(Tok::rbrace) && !at(Tok::eof)) {
      panic_ = false;
      const std::size_t start = pos_;
      parse_member(*fablet);
      if (pos_ == start) advance();
    }
    panic_ = false;
    expect(Tok::rbrace);
    if (!result_.module.fablet) result_.module.fablet = std::move(fablet);
  }

  void parse_member(ast::Fablet& fablet) {
    switch (peek().kind) {
      case Tok::kw_uniform:
        return parse_uniform(fablet);
      case Tok::kw_out:
        return parse_out(fablet);
      case Tok::kw_const:
        return parse_const_member();
      case Tok::kw_surface:
      case Tok::kw_volume:
        return parse_phase(fablet);
      case Tok::type_kw:
        return parse_function_member();
      case Tok::ident:
        if (at_unknown_type()) return parse_function_member();
        break;
      case Tok::kw_fablet:
        error(peek().range, "a fablet cannot be declared inside another fablet");
        return skip_item();
      default:
        break;
    }
    error_expected("a uniform, out, const, function, surface or volume declaration");
    skip_item();
  }

  void parse_uniform(ast::Fablet& fablet) {
    advance();  // uniform
    ast::UniformDecl u;
    if (!parse_type(u.type)) return skip_item();
    if (!at(Tok::ident)) {
      error_expected("a uniform name");
      return skip_item();
    }
    const Token& name = advance();
    u.name = std::string(name.text);
    u.range = name.range;
    // A broken default keeps the uniform, so that its uses still resolve.
    bool ok = true;
    if (accept(Tok::assign)) {
      u.default_expr = parse_expr();
      ok = u.default_expr != nullptr;
    }
    ok = ok && expect(Tok::semicolon);
    fablet.uniforms.push_back(std::move(u));
    if (!ok) skip_item();
  }

  void parse_out(ast::Fablet& fablet) {
    advance();  // out
    ast::OutDecl o;
    if (!parse_type(o.type)) return skip_item();
    if (!at(Tok::ident)) {
      error_expected("an out variable name");
      return skip_item();
    }
    const Token& name = advance();
    o.name = std::string(name.text);
    o.range = name.range;
    if (at(Tok::assign)) {
      error(peek().range, "out variables have no initialiser (the surface phase assigns them)");
      return skip_item();
    }
    if (!expect(Tok::semicolon)) return skip_item();
    fablet.outs.push_back(std::move(o));
  }

  void parse_phase(ast::Fablet& fablet) {
    const Token& kw = advance();
    const bool is_surface = kw.kind == Tok::kw_surface;
    auto fn = std::make_unique<ast::Function>();
    fn->kind = is_surface ? ast::FunctionKind::surface : ast::FunctionKind::volume;
    fn->name = is_surface ? "surface" : "volume";
    fn->name_range = kw.range;
    fn->return_type = is_surface ? Type::vec3 : Type::mixture;
    const bool duplicate = is_surface ? fablet.surface != nullptr : fablet.volume != nullptr;
    if (duplicate) {
      error(kw.range, "the fablet already has a " + fn->name + " phase");
      panic_ = false;
    }
    if (!parse_function_rest(*fn, kw.range.begin)) return;
    if (duplicate) return;
    (is_surface ? fablet.surface : fablet.volume) = std::move(fn);
  }

  // ---- statements ----
  StmtPtr make_stmt(StmtKind kind, std::uint32_t begin) {
    auto s = std::make_unique<Stmt>();
    s->kind = kind;
    s->range = {begin, begin};
    return s;
  }
  void close(Stmt& s) { s.range.end = std::max(s.range.begin, prev_range().end); }

  StmtPtr parse_block() {
    auto block = make_stmt(StmtKind::block, peek().range.begin);
    NestGuard guard(nest_);
    if (too_deep("statements")) {
      skip_statement();
      return block;
    }
    advance();  // {
    while (!at(Tok::rbrace) && !at(Tok::eof)) {
      const std::size_t start = pos_;
      panic_ = false;
      StmtPtr s = parse_statement();
      if (s) block->body.push_back(std::move(s));
      if (pos_ == start) {
        error(peek().range, "expected a statement, found " + describe(peek()));
        advance();
        panic_ = false;
      }
    }
    if (!at(Tok::rbrace)) {
      error_expected("'}'");
    } else {
      advance();
    }
    close(*block);
    return block;
  }

  /// One statement; null after a syntax error (reported, and the rest of the statement skipped).
  StmtPtr parse_statement() {
    NestGuard guard(nest_);
    if (too_deep("statements")) {
      skip_statement();
      return nullptr;
    }
    const std::uint32_t begin = peek().range.begin;
    switch (peek().kind) {
      case Tok::lbrace:
        return parse_block();
      case Tok::semicolon:
        advance();
        return make_stmt(StmtKind::block, begin);
      case Tok::kw_if:
        return parse_if();
      case Tok::kw_while:
        return parse_while();
      case Tok::kw_for:
        return parse_for();
      case Tok::kw_break:
      case Tok::kw_continue: {
        auto s = make_stmt(at(Tok::kw_break) ? StmtKind::break_ : StmtKind::continue_, begin);
        advance();
        if (!expect(Tok::semicolon)) return fail();
        close(*s);
        return s;
      }
      case Tok::kw_return: {
        auto s = make_stmt(StmtKind::return_, begin);
        advance();
        if (!at(Tok::semicolon)) {
          s->expr = parse_expr();
          if (!s->expr) return fail();
        }
        if (!expect(Tok::semicolon)) return fail();
        close(*s);
        return s;
      }
      case Tok::kw_else:
        error(peek().range, "'else' without a matching 'if'");
        return fail();
      default:
        break;
    }
    StmtPtr s = parse_simple(true);
    if (!s) return fail();
    if (!expect(Tok::semicolon)) {
      // A declaration survives a broken end so that later uses of its name still resolve.
      if (s->kind == StmtKind::decl) {
        skip_statement();
        return s;
      }
      return fail();
    }
    close(*s);
    return s;
  }

  StmtPtr fail() {
    skip_statement();
    return nullptr;
  }

  bool at_decl() const {
    return at(Tok::kw_const) || (at(Tok::type_kw) && peek(1).kind == Tok::ident) || at_unknown_type();
  }

  /// A declaration (when allowed), an assignment or an expression, without the terminator.
  StmtPtr parse_simple(bool allow_decl) {
    const std::uint32_t begin = peek().range.begin;
    if (at_decl()) {
      auto s = make_stmt(StmtKind::decl, begin);
      if (!allow_decl) {
        error(peek().range, "a declaration is not allowed here");
        return nullptr;
      }
      s->is_const = accept(Tok::kw_const);
      if (!parse_type(s->decl_type)) return nullptr;
      if (!at(Tok::ident)) {
        error_expected("a variable name");
        return nullptr;
      }
      const Token& name = advance();
      s->name = std::string(name.text);
      s->name_range = name.range;
      if (accept(Tok::assign)) {
        s->expr = parse_expr();
        if (!s->expr) {
          close(*s);
          return s;
        }
      } else if (s->is_const) {
        error_expected("'=' (a constant needs a value)");
      }
      close(*s);
      return s;
    }
    ExprPtr e = parse_expr();
    if (!e) return nullptr;
    ast::AssignOp op{};
    if (assign_op(peek().kind, op)) {
      advance();
      auto s = make_stmt(StmtKind::assign, begin);
      s->assign_op = op;
      s->target = std::move(e);
      s->expr = parse_expr();
      if (!s->expr) return nullptr;
      close(*s);
      return s;
    }
    auto s = make_stmt(StmtKind::expr, begin);
    s->expr = std::move(e);
    close(*s);
    return s;
  }

  bool parse_condition(Stmt& s) {
    if (!expect(Tok::lparen)) return false;
    s.expr = parse_expr();
    if (!s.expr) return false;
    return expect(Tok::rparen);
  }

  StmtPtr parse_if() {
    auto s = make_stmt(StmtKind::if_, peek().range.begin);
    advance();
    if (!parse_condition(*s)) return fail();
    s->then_stmt = parse_statement();
    if (accept(Tok::kw_else)) s->else_stmt = parse_statement();
    if (!s->then_stmt) s->then_stmt = make_stmt(StmtKind::block, s->range.begin);
    close(*s);
    return s;
  }

  StmtPtr parse_while() {
    auto s = make_stmt(StmtKind::while_, peek().range.begin);
    advance();
    if (!parse_condition(*s)) return fail();
    s->body_stmt = parse_statement();
    if (!s->body_stmt) s->body_stmt = make_stmt(StmtKind::block, s->range.begin);
    close(*s);
    return s;
  }

  StmtPtr parse_for() {
    auto s = make_stmt(StmtKind::for_, peek().range.begin);
    advance();
    if (!expect(Tok::lparen)) return fail();
    if (!at(Tok::semicolon)) {
      s->init = parse_simple(true);
      if (!s->init) return fail();
    }
    if (!expect(Tok::semicolon)) return fail();
    if (!at(Tok::semicolon)) {
      s->expr = parse_expr();
      if (!s->expr) return fail();
    }
    if (!expect(Tok::semicolon)) return fail();
    if (!at(Tok::rparen)) {
      s->step = parse_simple(false);
      if (!s->step) return fail();
    }
    if (!expect(Tok::rparen)) return fail();
    s->body_stmt = parse_statement();
    if (!s->body_stmt) s->body_stmt = make_stmt(StmtKind::block, s->range.begin);
    close(*s);
    return s;
  }

  // ---- expressions ----
  ExprPtr parse_expr() {
    NestGuard guard(nest_);
    if (too_deep("expression")) return nullptr;
    ExprPtr cond = parse_binary(1);
    if (!cond || !at(Tok::question)) return cond;
    advance();
    auto e = make(ExprKind::ternary, cond->range);
    e->args.push_back(std::move(cond));
    ExprPtr a = parse_expr();
    if (!a || !expect(Tok::colon)) return nullptr;
    ExprPtr b = parse_expr();  // right-associative
    if (!b) return nullptr;
    e->range.end = b->range.end;
    e->args.push_back(std::move(a));
    e->args.push_back(std::move(b));
    return finish(std::move(e));
  }

  ExprPtr parse_binary(int min_prec) {
    ExprPtr lhs = parse_unary();
    if (!lhs) return nullptr;
    for (;;) {
      const int prec = binary_precedence(peek().kind);
      if (prec == 0 || prec < min_prec) return lhs;
      const Tok op = advance().kind;
      NestGuard guard(nest_);
      if (too_deep("expression")) return nullptr;
      ExprPtr rhs = parse_binary(prec + 1);
      if (!rhs) return nullptr;
      auto e = make(ExprKind::binary, {lhs->range.begin, rhs->range.end});
      e->binary_op = binary_op(op);
      e->args.push_back(std::move(lhs));
      e->args.push_back(std::move(rhs));
      lhs = finish(std::move(e));
      if (!lhs) return nullptr;
    }
  }

  ExprPtr parse_unary() {
    if (at(Tok::minus) || at(Tok::plus) || at(Tok::bang)) {
      const Token& op = advance();
      NestGuard guard(nest_);
      if (too_deep("expression")) return nullptr;
      ExprPtr operand = parse_unary();
      if (!operand) return nullptr;
      auto e = make(ExprKind::unary, {op.range.begin, operand->range.end});
      e->unary_op = op.kind == Tok::minus  ? ast::UnaryOp::neg
                    : op.kind == Tok::plus ? ast::UnaryOp::plus
                                           : ast::UnaryOp::not_;
      e->args.push_back(std::move(operand));
      return finish(std::move(e));
    }
    return parse_postfix();
  }

  ExprPtr parse_postfix() {
    ExprPtr e = parse_primary();
    while (e) {
      if (accept(Tok::lbracket)) {
        ExprPtr index = parse_expr();
        if (!index || !expect(Tok::rbracket)) return nullptr;
        auto node = make(ExprKind::index, {e->range.begin, prev_range().end});
        node->args.push_back(std::move(e));
        node->args.push_back(std::move(index));
        e = finish(std::move(node));
      } else if (accept(Tok::dot)) {
        if (!at(Tok::ident)) {
          error_expected("swizzle letters");
          return nullptr;
        }
        const Token& letters = advance();
        auto node = make(ExprKind::swizzle, {e->range.begin, letters.range.end});
        node->text = std::string(letters.text);
        node->args.push_back(std::move(e));
        e = finish(std::move(node));
      } else {
        break;
      }
    }
    return e;
  }

  bool parse_args(Expr& e) {
    advance();  // (
    NestGuard guard(nest_);
    if (too_deep("expression")) return false;
    if (!accept(Tok::rparen)) {
      for (;;) {
        ExprPtr a = parse_expr();
        if (!a) return false;
        e.args.push_back(std::move(a));
        if (accept(Tok::comma)) continue;
        if (!expect(Tok::rparen)) return false;
        break;
      }
    }
    e.range.end = prev_range().end;
    return true;
  }

  ExprPtr parse_primary() {
    const Token& t = peek();
    switch (t.kind) {
      case Tok::int_lit: {
        advance();
        auto e = make(ExprKind::int_lit, t.range);
        e->int_value = t.int_value;
        return e;
      }
      case Tok::float_lit: {
        advance();
        auto e = make(ExprKind::float_lit, t.range);
        e->float_value = t.float_value;
        return e;
      }
      case Tok::string_lit: {
        advance();
        auto e = make(ExprKind::string_lit, t.range);
        e->text = t.string_value;
        return e;
      }
      case Tok::kw_true:
      case Tok::kw_false: {
        advance();
        auto e = make(ExprKind::bool_lit, t.range);
        e->bool_value = t.kind == Tok::kw_true;
        return e;
      }
      case Tok::ident: {
        advance();
        if (at(Tok::lparen)) {
          auto e = make(ExprKind::call, t.range);
          e->text = std::string(t.text);
          if (!parse_args(*e)) return nullptr;
          return finish(std::move(e));
        }
        auto e = make(ExprKind::name, t.range);
        e->text = std::string(t.text);
        return e;
      }
      case Tok::type_kw: {
        if (peek(1).kind != Tok::lparen) break;
        advance();
        // mixture(...) is the builtin function; every other type name constructs a value.
        auto e = make(t.type == Type::mixture ? ExprKind::call : ExprKind::construct, t.range);
        e->text = std::string(t.text);
        e->construct_type = t.type;
        if (!parse_args(*e)) return nullptr;
        return finish(std::move(e));
      }
      case Tok::lparen: {
        advance();
        NestGuard guard(nest_);
        if (too_deep("expression")) return nullptr;
        ExprPtr e = parse_expr();
        if (!e || !expect(Tok::rparen)) return nullptr;
        return e;
      }
      default:
        break;
    }
    error_expected("an expression");
    return nullptr;
  }

  std::shared_ptr<const SourceFile> file_;
  Diagnostics& diags_;
  Diagnostics lex_diags_;
  std::size_t lex_next_ = 0;
  std::vector<Token> tokens_;
  std::size_t pos_ = 0;
  bool panic_ = false;
  bool in_damage_ = false;
  int nest_ = 0;
  std::unordered_map<const Expr*, int> depth_;
  ParseResult result_;
};

}  // namespace

ParseResult parse(std::shared_ptr<const SourceFile> file, Diagnostics& diags) {
  return Parser(std::move(file), diags).run();
}

}  // namespace fabforge::openfl
