// The OpenFL front end: the documented examples compile, types, overloads, constants, slots,
// the Program interface, and robustness against arbitrary input.

#include <gtest/gtest.h>

#include <bit>
#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "fabforge/core/error.hpp"
#include "fabforge/openfl/program.hpp"

#include "support/test_support.hpp"

namespace fabforge::openfl {
namespace {

std::vector<std::string> doc_examples() {
  const std::string doc = test::read_bytes(test::source_dir() / "docs" / "openfl.md");
  std::vector<std::string> blocks;
  const std::string open = "```openfl\n";
  for (std::size_t at = doc.find(open); at != std::string::npos; at = doc.find(open, at)) {
    at += open.size();
    const std::size_t end = doc.find("```", at);
    if (end == std::string::npos) break;
    blocks.push_back(doc.substr(at, end - at));
    at = end + 3;
  }
  return blocks;
}

std::shared_ptr<const Program> compile_ok(const std::string& text) {
  CompileResult r = compile("test.fl", text);
  EXPECT_TRUE(r.program) << r.diagnostics.format_all();
  return r.program;
}

/// Wraps statements into a volume phase with two materials and a few uniforms.
std::string in_volume(const std::string& body) {
  return "fablet T {\n  uniform material a = \"A\";\n  uniform material b = \"B\";\n  uniform float u = 1.5;\n"
         "  volume(vec3 P) -> mixture {\n" +
         body + "\n    return mixture(a, 1.0);\n  }\n}\n";
}

/// The checked expression initialising the first declared local `x` of the volume phase.
const ast::Expr& init_of_x(const Program& p) {
  for (const auto& s : p.fablet().volume->body->body) {
    if (s->kind == ast::StmtKind::decl && s->name == "x") return *s->expr;
  }
  throw std::runtime_error("no x");
}

TEST(OpenflFrontend, EveryDocumentedExampleCompiles) {
  const auto examples = doc_examples();
  ASSERT_GE(examples.size(), 5u);
  for (const std::string& text : examples) {
    CompileResult r = compile("example.fl", text);
    EXPECT_TRUE(r.program) << text << "\n" << r.diagnostics.format_all();
    EXPECT_EQ(r.diagnostics.all().size(), 0u);
  }
}

TEST(OpenflFrontend, PostcardInterface) {
  const auto p = compile_ok(doc_examples().at(0));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->name(), "Postcard");
  EXPECT_EQ(p->material_count(), 2);
  EXPECT_EQ(p->texture_count(), 2);
  EXPECT_EQ(p->out_columns(), 3);
  EXPECT_EQ(p->uniform_columns(), 2);
  ASSERT_EQ(p->outs().size(), 2u);
  EXPECT_EQ(p->outs()[0].first_column, 0);
  EXPECT_EQ(p->outs()[1].first_column, 2);
  EXPECT_EQ(p->uniforms()[0].slot, 0);  // relief_map: texture 0
  EXPECT_EQ(p->uniforms()[1].slot, 1);  // picture: texture 1
  EXPECT_EQ(p->uniforms()[2].slot, 0);  // black: material 0
  EXPECT_EQ(p->uniforms()[4].first_column, 0);
  EXPECT_EQ(p->uniforms()[5].first_column, 1);
  EXPECT_EQ(p->material_uniform(1), 3);
  EXPECT_EQ(p->texture_uniform(0), 0);
  EXPECT_TRUE(p->has_phase(Phase::surface));
  EXPECT_TRUE(p->has_phase(Phase::volume));
  EXPECT_EQ(p->input_columns(Phase::surface), 8);
  EXPECT_EQ(p->output_columns(Phase::surface), 6);
  EXPECT_EQ(p->input_columns(Phase::volume), 3);
  EXPECT_EQ(p->output_columns(Phase::volume), 2);
  const auto inputs = p->phase_inputs(Phase::surface);
  ASSERT_EQ(inputs.size(), 3u);
  EXPECT_EQ(inputs[2].first, "uv");
  EXPECT_EQ(inputs[2].second, Type::vec2);
  const UniformValues d = p->defaults();
  EXPECT_EQ(d.texts[0], "relief.png");
  EXPECT_EQ(d.texts[2], "VeroBlack");
  EXPECT_EQ(d.values[4], Value::of_float(0.4f));
  EXPECT_NO_THROW(p->check_complete(d));
}

TEST(OpenflFrontend, MissingSurfaceTakesPositionAndNormal) {
  const auto p = compile_ok(doc_examples().at(1));
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->has_phase(Phase::surface));
  const auto inputs = p->phase_inputs(Phase::surface);
  ASSERT_EQ(inputs.size(), 2u);
  EXPECT_EQ(inputs[0].first, "P");
  EXPECT_EQ(inputs[1].first, "N");
  EXPECT_EQ(p->input_columns(Phase::surface), 6);
  EXPECT_EQ(p->output_columns(Phase::surface), 3);
}

TEST(OpenflFrontend, LocalSlotsParamsFirst) {
  const auto p = compile_ok(doc_examples().at(4));
  ASSERT_TRUE(p);
  const ast::Function& f = *p->module().functions.at(0);
  EXPECT_EQ(f.name, "helix_distance");
  ASSERT_EQ(f.local_types.size(), 7u);
  EXPECT_EQ(f.local_names[0], "p");
  EXPECT_EQ(f.local_types[0], Type::vec3);
  EXPECT_EQ(f.params[3].local, 3);
  EXPECT_EQ(f.local_names[4], "a");
  const ast::Function& v = *p->fablet().volume;
  EXPECT_EQ(v.local_names, (std::vector<std::string>{"P", "q", "best", "i"}));
  EXPECT_EQ(v.local_types, (std::vector<Type>{Type::vec3, Type::vec3, Type::float_, Type::int_}));
  ASSERT_EQ(p->module().consts.size(), 1u);
  EXPECT_EQ(p->module().consts[0].value, Value::of_int(6));
}

TEST(OpenflFrontend, ImplicitConversionsAreRecorded) {
  const auto p = compile_ok(in_volume("    float x = 2 * u;"));
  ASSERT_TRUE(p);
  const ast::Expr& e = init_of_x(*p);
  EXPECT_EQ(e.type, Type::float_);
  EXPECT_EQ(e.args[0]->type, Type::int_);
  EXPECT_EQ(e.converted_arg_types, (std::vector<Type>{Type::float_, Type::float_}));
}

TEST(OpenflFrontend, OverloadsPreferExactMatches) {
  {
    const auto p = compile_ok(in_volume("    int x = abs(-3);"));
    ASSERT_TRUE(p);
    const ast::Expr& e = init_of_x(*p);
    EXPECT_EQ(e.type, Type::int_);
    EXPECT_TRUE(e.target.is_builtin);
    EXPECT_EQ(e.target.builtin, BuiltinFn::abs);
    EXPECT_EQ(builtin_overloads(BuiltinFn::abs)[static_cast<std::size_t>(e.target.overload)].params[0], Type::int_);
    EXPECT_EQ(e.constant, Value::of_int(3));
  }
  {
    const auto p = compile_ok(in_volume("    float x = min(1, u);"));
    ASSERT_TRUE(p);
    const ast::Expr& e = init_of_x(*p);
    EXPECT_EQ(e.type, Type::float_);
    EXPECT_EQ(e.converted_arg_types, (std::vector<Type>{Type::float_, Type::float_}));
  }
  {
    const auto p = compile_ok(in_volume("    vec3 x = clamp(P, 0.0, 1.0);"));
    ASSERT_TRUE(p);
    EXPECT_EQ(init_of_x(*p).type, Type::vec3);
  }
  {
    const auto p = compile_ok(
        "float f(float a, int b) { return a; }\nfloat f(int a, float b) { return b; }\n"
        "float f(int a, int b) { return 1.0; }\n" +
        in_volume("    float x = f(1, 2) + f(1.0, 2);"));
    ASSERT_TRUE(p);
    const ast::Expr& e = init_of_x(*p);
    EXPECT_EQ(e.args[0]->target.function, 2);
    EXPECT_EQ(e.args[1]->target.function, 0);
  }
}

TEST(OpenflFrontend, ConstantFoldingMatchesScalarMath) {
  struct Case {
    const char* decl;
    Value expect;
  };
  const float pi = 3.14159265358979323846f;
  const Case cases[] = {
      {"const int x = 7 / 2 * 3 % 4;", Value::of_int(1)},
      {"const int x = -2147483648 / -1;", Value::of_int(-2147483647 - 1)},
      {"const int x = 5 / 0;", Value::of_int(0)},
      {"const float x = sin(PI / 4.0);", Value::of_float(std::sin(pi / 4.0f))},
      {"const float x = 1 + 0.5;", Value::of_float(1.5f)},
      {"const bool x = 1 < 2 && !(2.0 == 3);", Value::of_bool(true)},
      {"const int x = int(-2.7) + int(true);", Value::of_int(-1)},
      {"const float x = length(vec3(1.0, 2.0, 2.0));", Value::of_float(3.0f)},
      {"const float x = vec4(1, 2, 3, 4).wzyx[1];", Value::of_float(3.0f)},
      {"const float x = true ? 1 : 2.5;", Value::of_float(1.0f)},
      {"const float x = mod(-1.0, 3.0);", Value::of_float(2.0f)},
      {"const float x = dot(vec2(0.1, 0.2), vec2(0.3, 0.7));", Value::of_float(0.1f * 0.3f + 0.2f * 0.7f)},
      {"const float x = determinant(mat3(2.0));", Value::of_float(8.0f)},
      {"const float x = smoothstep(0.0, 1.0, 0.25);", Value::of_float(0.25f * 0.25f * (3.0f - 2.0f * 0.25f))},
  };
  for (const Case& c : cases) {
    const auto p = compile_ok(in_volume(std::string("    ") + c.decl));
    ASSERT_TRUE(p) << c.decl;
    const ast::Expr& e = init_of_x(*p);
    ASSERT_TRUE(e.constant.has_value()) << c.decl;
    const Value v = c.expect.type == Type::float_ ? Value::of_float(e.constant->f[0]) : *e.constant;
    EXPECT_EQ(v, c.expect) << c.decl;
    if (c.expect.type == Type::float_) {
      EXPECT_EQ(std::bit_cast<std::uint32_t>(e.constant->f[0]), std::bit_cast<std::uint32_t>(c.expect.f[0])) << c.decl;
    }
  }
  // Matrix products fold like composite.hpp: mat * vec.
  const auto p = compile_ok(in_volume("    const vec3 x = rotate_z(PI / 2.0) * vec3(1.0, 0.0, 0.0);"));
  ASSERT_TRUE(p);
  const auto& v = *init_of_x(*p).constant;
  EXPECT_NEAR(v.f[0], 0.0f, 1e-6f);
  EXPECT_NEAR(v.f[1], 1.0f, 1e-6f);
}

TEST(OpenflFrontend, ExpressionTypes) {
  struct Case {
    const char* expr;
    Type type;
  };
  const Case cases[] = {
      {"P * 2.0", Type::vec3},
      {"1.0 - P.xy", Type::vec2},
      {"mat3(1.0) * P", Type::vec3},
      {"P * mat3(1.0)", Type::vec3},
      {"mat4(2.0) * mat4(1.0)", Type::mat4},
      {"mat3(P, P, P)[1]", Type::vec3},
      {"P.zyx.r", Type::float_},
      {"u > 1 ? P : vec3(0.0)", Type::vec3},
      {"a == b", Type::bool_},
      {"mixture(a, 1, b, u) * 2", Type::mixture},
      {"weight(empty(), a)", Type::float_},
      {"mix(empty(), mixture(a, 1.0), 0.5)", Type::mixture},
      {"cellular(P)", Type::vec2},
      {"fbm(P.xy, 3, 2.0, 0.5)", Type::float_},
      {"u > 0.0 ? a : b", Type::material},
      {"step(0.5, P)", Type::vec3},
  };
  for (const Case& c : cases) {
    const std::string body = std::string("    ") + std::string(type_name(c.type)) + " x = " + c.expr + ";";
    const auto p = compile_ok(in_volume(body));
    ASSERT_TRUE(p) << c.expr;
    EXPECT_EQ(init_of_x(*p).type, c.type) << c.expr;
  }
}

TEST(OpenflFrontend, NamesResolve) {
  const auto p = compile_ok(in_volume("    float x = u + PI;\n    { float u = 2.0; x = u; }"));
  ASSERT_TRUE(p);
  const ast::Expr& e = init_of_x(*p);
  EXPECT_EQ(e.args[0]->name_kind, ast::NameKind::uniform);
  EXPECT_EQ(e.args[0]->name_index, 2);
  EXPECT_EQ(e.args[1]->name_kind, ast::NameKind::constant);
  const ast::Stmt& block = *p->fablet().volume->body->body[1];
  const ast::Expr& target = *block.body[1]->expr;
  EXPECT_EQ(target.name_kind, ast::NameKind::local);
  EXPECT_EQ(target.name_index, 2);
}

TEST(OpenflFrontend, DumpShowsTypes) {
  const auto p = compile_ok(doc_examples().at(1));
  ASSERT_TRUE(p);
  const std::string d = ast::dump(p->module());
  EXPECT_NE(d.find("fablet Marble"), std::string::npos);
  EXPECT_NE(d.find("call fbm"), std::string::npos);
  EXPECT_NE(d.find(": mixture"), std::string::npos);
}

TEST(OpenflFrontend, SetUniform) {
  const auto p = compile_ok(
      "fablet S {\n  uniform material m;\n  uniform texture t;\n  uniform bool on;\n  uniform int n = 2;\n"
      "  uniform float f;\n  uniform vec3 c = vec3(1, 2, 3);\n  uniform mat3 r = mat3(1.0);\n}\n");
  ASSERT_TRUE(p);
  UniformValues v = p->defaults();
  EXPECT_THROW(p->check_complete(v), Error);
  p->set_uniform(v, "m", "VeroBlack");
  p->set_uniform(v, "t", "maps/a.png");
  p->set_uniform(v, "on", "true");
  p->set_uniform(v, "f", "1.5");
  p->set_uniform(v, "c", "0.5, -1,2e1");
  EXPECT_NO_THROW(p->check_complete(v));
  EXPECT_EQ(v.texts[0], "VeroBlack");
  EXPECT_EQ(v.values[2], Value::of_bool(true));
  EXPECT_EQ(v.values[4], Value::of_float(1.5f));
  EXPECT_EQ(v.values[5].f[2], 20.0f);
  EXPECT_THROW(p->set_uniform(v, "nope", "1"), Error);
  EXPECT_THROW(p->set_uniform(v, "n", "1.5"), Error);
  EXPECT_THROW(p->set_uniform(v, "c", "1,2"), Error);
  EXPECT_THROW(p->set_uniform(v, "f", "abc"), Error);
  EXPECT_THROW(p->set_uniform(v, "on", "maybe"), Error);
  try {
    p->set_uniform(v, "c", "1,2");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_NE(std::string(e.what()).find("'c'"), std::string::npos);
  }
  p->set_uniform(v, "n", "-7");
  const ir::UniformColumns cols = p->uniform_columns_of(v);
  ASSERT_EQ(cols.types.size(), 1u + 1u + 1u + 3u + 9u);
  EXPECT_EQ(cols.types[0], ir::ScalarType::b1);
  EXPECT_EQ(cols.bits[0], 1u);
  EXPECT_EQ(cols.types[1], ir::ScalarType::i32);
  EXPECT_EQ(cols.bits[1], static_cast<std::uint32_t>(-7));
  EXPECT_EQ(cols.types[2], ir::ScalarType::f32);
  EXPECT_EQ(cols.bits[2], std::bit_cast<std::uint32_t>(1.5f));
  EXPECT_EQ(cols.bits[6], std::bit_cast<std::uint32_t>(1.0f));
  EXPECT_EQ(cols.bits[7], 0u);
}

TEST(OpenflFrontend, CompileFileErrors) {
  test::TempDir dir;
  EXPECT_THROW(compile_file((dir / "missing.fl").string()), Error);
  test::write_bytes(dir / "ok.fl", doc_examples().at(2));
  EXPECT_TRUE(compile_file((dir / "ok.fl").string()).program);
}

TEST(OpenflFrontend, DeepNestingIsDiagnosedNotCrashed) {
  for (const std::string& piece : {std::string("("), std::string("-"), std::string("{"), std::string("if (true) ")}) {
    std::string text = "fablet D { uniform material m = \"M\"; volume(vec3 P) -> mixture { float x = ";
    for (int k = 0; k < 100000; ++k) text += piece;
    CompileResult r = compile("deep.fl", text);
    EXPECT_FALSE(r.program);
    EXPECT_TRUE(r.diagnostics.has_errors());
  }
  std::string chain = "fablet D { uniform material m = \"M\"; volume(vec3 P) -> mixture { float x = 1.0";
  for (int k = 0; k < 100000; ++k) chain += " + 1.0";
  chain += "; return mixture(m, x); } }";
  CompileResult r = compile("chain.fl", chain);
  EXPECT_FALSE(r.program);
  EXPECT_NE(r.diagnostics.format_all().find("nested too deeply"), std::string::npos);
}

TEST(OpenflFrontend, VolumeOnlyRulesFollowTheCallGraph) {
  // A function that reads an out and queries the surface is fine when only the volume phase calls it.
  const auto p = compile_ok(
      "fablet F {\n  uniform material a = \"A\";\n  out float h;\n  float depth() { return surface_distance() + h; }\n"
      "  surface(vec3 P, vec3 N) -> vec3 { h = 1.0; return P; }\n"
      "  volume(vec3 P) -> mixture { const float k = 2.0; float d = depth() * k; return mixture(a, d); }\n}\n");
  ASSERT_TRUE(p);
  const ast::Stmt& decl = *p->fablet().volume->body->body[1];
  const ast::Expr& k = *decl.expr->args[1];
  EXPECT_EQ(k.name_kind, ast::NameKind::constant);
  EXPECT_EQ(k.constant, Value::of_float(2.0f));
}

TEST(OpenflFrontend, RandomInputNeverCrashes) {
  std::mt19937 rng(12345);
  const auto examples = doc_examples();
  const auto start = std::chrono::steady_clock::now();
  const std::string alphabet = "(){}[];,.+-*/%<>=!&|?:\"'0123456789 \n\tabcxyzPNuv_";
  int compiled = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string text;
    if (iter % 3 == 0) {
      const int n = static_cast<int>(rng() % 300);
      for (int k = 0; k < n; ++k) {
        text += rng() % 2 ? static_cast<char>(rng() % 256) : alphabet[rng() % alphabet.size()];
      }
    } else {
      text = examples[rng() % examples.size()];
      const int edits = 1 + static_cast<int>(rng() % 8);
      for (int k = 0; k < edits && !text.empty(); ++k) {
        const std::size_t at = rng() % text.size();
        switch (rng() % 4) {
          case 0:
            text.erase(at, 1 + rng() % 10);
            break;
          case 1:
            text.insert(at, 1, alphabet[rng() % alphabet.size()]);
            break;
          case 2:
            std::swap(text[at], text[rng() % text.size()]);
            break;
          default:
            text.insert(at, text.substr(rng() % text.size(), rng() % 40));
            break;
        }
      }
    }
    CompileResult r = compile("fuzz.fl", text);
    if (r.program) {
      ++compiled;
      (void)ast::dump(r.program->module());
      (void)r.program->defaults();
    } else {
      EXPECT_TRUE(r.diagnostics.has_errors());
    }
    (void)r.diagnostics.format_all();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 20.0);
  EXPECT_GT(compiled, 0);
}

}  // namespace
}  // namespace fabforge::openfl
