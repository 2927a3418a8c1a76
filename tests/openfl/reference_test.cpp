// Tests of the reference interpreter: small fablets with hand-computed results for every statement
// kind, the operators of every type, user functions, loops, uniforms, both phases with outs,
// surface queries and the texture lod contract (through a recording test host), and the example
// fablets.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "fabforge/core/error.hpp"
#include "fabforge/openfl/exec.hpp"
#include "fabforge/openfl/host.hpp"
#include "fabforge/openfl/program.hpp"

#include "support/test_support.hpp"

namespace fabforge::openfl {
namespace {

namespace fs = std::filesystem;

/// A host without images: sample() returns (u, v, lod, slot) and records every call; surface
/// queries answer for a sphere of radius 2 about the origin, with out column j = 100 + j + x.
/// With `tame`, samples are 0.5 in every channel instead.
class TestHost : public Host {
 public:
  struct SampleCall {
    int slot;
    float u, v, lod;
  };
  explicit TestHost(bool tame = false) : tame_(tame) {}

  void sample(int slot, std::size_t n, const float* u, const float* v, const float* lod,
              float* const rgba[4]) const override {
    for (std::size_t i = 0; i < n; ++i) {
      samples.push_back({slot, u[i], v[i], lod[i]});
      rgba[0][i] = tame_ ? 0.5f : u[i];
      rgba[1][i] = tame_ ? 0.5f : v[i];
      rgba[2][i] = tame_ ? 0.5f : lod[i];
      rgba[3][i] = tame_ ? 0.5f : static_cast<float>(slot);
    }
  }
  float texture_lod_bias(int slot) const override { return 5.0f + static_cast<float>(slot); }
  void surface_query(std::size_t n, const float* const xyz[3], float* const* columns, int column_count) const override {
    ++query_calls;
    for (std::size_t i = 0; i < n; ++i) {
      ++queried_points;
      const float x = xyz[0][i], y = xyz[1][i], z = xyz[2][i];
      const float r = std::sqrt(x * x + y * y + z * z);
      const float p[3] = {x, y, z};
      auto put = [&](int c, float v) {
        if (columns[c] != nullptr) columns[c][i] = v;  // null: the kernel does not read it
      };
      put(kQuerySignedDistance, r - 2.0f);
      for (int c = 0; c < 3; ++c) {
        put(kQueryPoint + c, p[c] / r * 2.0f);
        put(kQueryNormal + c, p[c] / r);
      }
      for (int j = 0; j < column_count - kQueryOuts; ++j) put(kQueryOuts + j, 100.0f + static_cast<float>(j) + x);
    }
  }
  std::array<Interval, 4> texture_range(int) const override { return {}; }
  void query_range(const Interval*, Interval* columns, int column_count) const override {
    for (int c = 0; c < column_count; ++c) columns[c] = Interval{};
  }

  mutable std::vector<SampleCall> samples;
  mutable int query_calls = 0;
  mutable int queried_points = 0;

 private:
  bool tame_ = false;
};

std::shared_ptr<const Program> compile_ok(const std::string& src, const std::string& name = "t.fl") {
  CompileResult r = compile(name, src);
  EXPECT_TRUE(r.program != nullptr) << r.diagnostics.format_all() << src;
  return r.program;
}

/// Runs `phase` over n items given as rows (one row of input columns per item); returns rows.
std::vector<std::vector<float>> run_rows(const std::shared_ptr<const Program>& program, Phase phase,
                                         const std::vector<std::vector<float>>& rows, const Host& host,
                                         const UniformValues* values = nullptr, ExecOptions options = {}) {
  const std::size_t n = rows.size();
  const int in_count = program->input_columns(phase), out_count = program->output_columns(phase);
  std::vector<std::vector<float>> in(static_cast<std::size_t>(in_count), std::vector<float>(n, 0.0f));
  std::vector<std::vector<float>> out(static_cast<std::size_t>(out_count), std::vector<float>(n, -777.0f));
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t c = 0; c < rows[i].size() && c < in.size(); ++c) in[c][i] = rows[i][c];
  std::vector<const float*> in_ptr;
  std::vector<float*> out_ptr;
  for (auto& c : in) in_ptr.push_back(c.data());
  for (auto& c : out) out_ptr.push_back(c.data());
  const ReferenceInterpreter interp(program, values ? *values : program->defaults(), options);
  interp.run(phase, host, n, in_ptr.data(), out_ptr.data());
  std::vector<std::vector<float>> result(n);
  for (std::size_t i = 0; i < n; ++i)
    for (auto& c : out) result[i].push_back(c[i]);
  return result;
}

/// The surface phase `body` of a fablet with parameters (vec3 P, vec3 N), run on one point.
std::vector<float> surf(const std::string& decls, const std::string& body, std::vector<float> pn = {}) {
  const std::string src = decls +
                          "\nfablet T {\n  uniform material m0 = \"A\";\n  surface(vec3 P, vec3 N) -> vec3 {\n" + body +
                          "\n  }\n}\n";
  auto program = compile_ok(src);
  if (!program) return {};
  pn.resize(6, 0.0f);
  const TestHost host;
  return run_rows(program, Phase::surface, {pn}, host)[0];
}

/// The volume phase `body` of a fablet with materials m0, m1, m2 (plus `members`), run at P.
std::vector<float> vol(const std::string& decls, const std::string& members, const std::string& body,
                       std::vector<float> p = {0, 0, 0}) {
  const std::string src = decls +
                          "\nfablet T {\n  uniform material m0 = \"A\";\n  uniform material m1 = \"B\";\n"
                          "  uniform material m2 = \"C\";\n" +
                          members + "\n  volume(vec3 P) -> mixture {\n" + body + "\n  }\n}\n";
  auto program = compile_ok(src);
  if (!program) return {};
  const TestHost host;
  return run_rows(program, Phase::volume, {p}, host)[0];
}

const float kInf = std::numeric_limits<float>::infinity();

// ---------------------------------------------------------------------------------------------
// operators

TEST(ReferenceOperators, FloatArithmeticAndPrecedence) {
  const auto r = surf("", "float a = P.x; return vec3(a + 2.0 * 3.0 - 1.0 / 4.0, -a * 2.0, (a + 2.0) * 3.0);", {1.5f});
  EXPECT_EQ(r, (std::vector<float>{7.25f, -3.0f, 10.5f}));
  const auto d = surf("", "float z = P.x; return vec3(1.0 / z, -1.0 / z, z / z);", {0.0f});
  EXPECT_EQ(d[0], kInf);
  EXPECT_EQ(d[1], -kInf);
  EXPECT_TRUE(std::isnan(d[2]));
  // int operands convert to float next to a float
  EXPECT_EQ(surf("", "int i = int(P.x); return vec3(i * 0.5, 1.0 + i, float(i) / 2.0);", {3.0f}),
            (std::vector<float>{1.5f, 4.0f, 1.5f}));
}

TEST(ReferenceOperators, IntWrapDivisionByZeroAndConversions) {
  const std::string body = R"(
    int one = int(P.x);
    int zero = one - one;
    int big = 2147483647;
    int mn = -2147483647 - one;
    int bits = 0;
    if (big + one == mn) bits += 1;
    if (7 / zero == 0 && 7 % zero == 0) bits += 2;
    if (mn / (zero - one) == mn && mn % (zero - one) == 0) bits += 4;
    if ((zero - 7) / 2 == -3 && (zero - 7) % 2 == -1) bits += 8;
    if (-mn == mn && abs(mn) == mn && mn * 2 == 0) bits += 16;
    if (int(P.y) == -2 && int(sqrt(-P.x)) == 0) bits += 32;
    if (int(P.x * 1e10) == big && int(-P.x * 1e10) == mn) bits += 64;
    if (bool(P.y) && !bool(P.z) && int(true) == 1 && float(false) == 0.0) bits += 128;
    if (sign(zero - 5) == -1 && min(3, one) == 1 && max(3, one) == 3 && clamp(9, zero, 4) == 4) bits += 256;
    return vec3(float(bits), 0.0, 0.0);)";
  EXPECT_EQ(surf("", body, {1.0f, -2.7f, 0.0f})[0], 511.0f);
}

TEST(ReferenceOperators, ComparisonsAndLogic) {
  const std::string body = R"(
    float n = sqrt(-P.x);  // NaN
    int bits = 0;
    if (P.x < 2.0 && P.x <= 1.0 && P.x > 0.5 && P.x >= 1.0 && P.x == 1.0 && P.x != 2.0) bits += 1;
    if (!(n < 1.0) && !(n >= 1.0) && !(n == n) && n != n) bits += 2;
    if ((true || false) && !(true && false) && (1 < 2) == true) bits += 4;
    if (int(P.x) < 2 && int(P.x) >= 1 && 1 == P.x) bits += 8;
    return vec3(float(bits), P.x > 0.0 ? 5.0 : 6.0, P.x < 0.0 ? 1 : 2.5);)";
  EXPECT_EQ(surf("", body, {1.0f}), (std::vector<float>{15.0f, 5.0f, 2.5f}));
}

TEST(ReferenceOperators, VectorsSwizzlesAndIndexing) {
  EXPECT_EQ(surf("", "vec3 v = vec3(1.0, 2.0, 3.0) * 2.0 + 1.0; return v.zyx;"), (std::vector<float>{7, 5, 3}));
  EXPECT_EQ(surf("", "vec3 v = vec3(1.0, 2.0, 3.0); v.zx = vec2(10.0, 20.0); return v;"),
            (std::vector<float>{20, 2, 10}));
  EXPECT_EQ(surf("", "vec4 c = vec4(vec2(1.0, 2.0), 3.0, 4.0); return c.agr - vec3(1.0);"),
            (std::vector<float>{3, 1, 0}));
  EXPECT_EQ(surf("", "vec3 v = vec3(P.x); v.y += 1.0; v *= vec3(1.0, 2.0, 3.0); return 1.0 - v;", {2.0f}),
            (std::vector<float>{-1, -5, -5}));
  // a variable index is clamped; a constant one is exact
  const std::string idx =
      "vec3 v = vec3(1.0, 2.0, 3.0); int i = int(P.x); v[i] = 9.0; return vec3(v[i], v[0] + v[2] * 10.0, v[1]);";
  EXPECT_EQ(surf("", idx, {7.0f}), (std::vector<float>{9, 91, 2}));
  EXPECT_EQ(surf("", idx, {-3.0f}), (std::vector<float>{9, 39, 2}));
  EXPECT_EQ(surf("", idx, {1.0f}), (std::vector<float>{9, 31, 9}));
  // dot accumulates from x: ((1e8 + 1) - 1e8) + 1 = 1 in float
  EXPECT_EQ(surf("", "return vec3(dot(vec4(P.x, 1.0, -P.x, 1.0), vec4(1.0)), 0.0, 0.0);", {1e8f})[0], 1.0f);
}

TEST(ReferenceOperators, Matrices) {
  const std::string m = "mat3 m = mat3(1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0) * P.x;\n";
  EXPECT_EQ(surf("", m + "return m * vec3(1.0);", {1.0f}), (std::vector<float>{12, 15, 18}));
  EXPECT_EQ(surf("", m + "return vec3(1.0, 0.0, 0.0) * m;", {1.0f}), (std::vector<float>{1, 4, 7}));
  EXPECT_EQ(surf("", m + "return m[1] + vec3(0.0, 0.0, m[2][0]);", {1.0f}), (std::vector<float>{4, 5, 13}));
  EXPECT_EQ(surf("", m + "mat3 p = m * mat3(2.0); return p[2];", {1.0f}), (std::vector<float>{14, 16, 18}));
  EXPECT_EQ(surf("", m + "m[1][2] = 0.5; m[0] = vec3(0.0); return vec3(m[1].z, m[0].x, transpose(m)[0].z);", {1.0f}),
            (std::vector<float>{0.5f, 0, 7}));
  EXPECT_EQ(surf("", "mat3 d = mat3(P.x); return vec3(determinant(d), inverse(d)[1].y, d[0].y);", {2.0f}),
            (std::vector<float>{8, 0.5f, 0}));
  EXPECT_EQ(surf("", "mat3 c = mat3(vec3(1.0), vec3(2.0), vec3(3.0)) + mat3(1.0); return c[1];"),
            (std::vector<float>{2, 3, 2}));
  const auto rz = surf("", "return rotate_z(P.x) * vec3(1.0, 0.0, 0.0);", {1.0f});
  EXPECT_EQ(rz, (std::vector<float>{std::cos(1.0f), std::sin(1.0f), 0.0f}));
  // matrix products in composite.hpp's order: mat4 * mat4
  const auto m4 =
      surf("", "mat4 a = mat4(P.x); a[3] = vec4(1.0, 2.0, 3.0, 1.0); mat4 b = a * a; return b[3].xyz;", {1.0f});
  EXPECT_EQ(m4, (std::vector<float>{2, 4, 6}));
}

TEST(ReferenceOperators, Mixtures) {
  EXPECT_EQ(vol("", "", "return mixture(m0, 0.25, m1, 0.5, m0, 0.25) * 2.0 - mixture(m2, 1.0) / 4.0;"),
            (std::vector<float>{1.0f, 1.0f, -0.25f}));
  EXPECT_EQ(vol("", "", "return mix(mixture(m0, 1.0), mixture(m1, 1.0), 0.25) + empty();"),
            (std::vector<float>{0.75f, 0.25f, 0.0f}));
  EXPECT_EQ(vol("", "", "mixture a = mixture(m0, 0.3, m1, 0.7); return mixture(m2, weight(a, m1)) + 2 * a;"),
            (std::vector<float>{0.6f, 1.4f, 0.7f}));
  EXPECT_EQ(
      vol("", "", "material m = P.x > 0.0 ? m2 : m1; if (m == m2) return mixture(m, 1.0); return empty();", {1, 0, 0}),
      (std::vector<float>{0, 0, 1}));
  EXPECT_EQ(
      vol("", "", "material m = P.x > 0.0 ? m2 : m1; if (m != m2) return mixture(m, 1); return empty();", {-1, 0, 0}),
      (std::vector<float>{0, 1, 0}));
  // int weights convert; weights of repeated materials add in order
  EXPECT_EQ(vol("", "", "return mixture(m1, 1, m1, P.x, m1, -1e8);", {1e8f, 0, 0}), (std::vector<float>{0, 0, 0}));
}

TEST(ReferenceOperators, Builtins) {
  EXPECT_EQ(surf("", "return vec3(clamp(P.x, 0.0, 1.0), mix(1.0, 3.0, 0.25), smoothstep(0.0, 2.0, 1.0));", {5.0f}),
            (std::vector<float>{1.0f, 1.5f, 0.5f}));
  EXPECT_EQ(surf("", "return vec3(fract(P.x), mod(P.x, 2.0), step(0.0, P.x));", {-1.25f}),
            (std::vector<float>{0.75f, 0.75f, 0.0f}));
  EXPECT_EQ(surf("", "return vec3(round(P.x), floor(P.x), ceil(P.x)) + vec3(trunc(-P.x));", {2.5f}),
            (std::vector<float>{1, 0, 1}));
  EXPECT_EQ(surf("", "return min(vec3(1.0, 5.0, 3.0), P.x) + max(vec3(0.0), vec3(-1.0, 1.0, 0.0));", {2.0f}),
            (std::vector<float>{1, 3, 2}));
  EXPECT_EQ(surf("", "return cross(vec3(1.0, 0.0, 0.0), vec3(0.0, P.x, 0.0));", {2.0f}), (std::vector<float>{0, 0, 2}));
  EXPECT_EQ(
      surf("", "return vec3(length(vec2(3.0, P.x)), distance(vec3(1.0), vec3(1.0, 1.0, 1.0 + P.x)), 0.0);", {4.0f}),
      (std::vector<float>{5, 4, 0}));
  EXPECT_EQ(
      surf("", "return normalize(vec3(0.0, P.x, 0.0)) + reflect(vec3(1.0, -1.0, 0.0), vec3(0.0, 1.0, 0.0));", {3.0f}),
      (std::vector<float>{1, 2, 0}));
  const auto n = surf("", "return vec3(noise(vec2(P.x, 2.0)), noise(vec3(P.x)), cellular(vec2(P.x)).x);", {1.0f});
  EXPECT_EQ(n[0], 0.0f);  // 0 at integer points
  EXPECT_EQ(n[1], 0.0f);
  EXPECT_GE(n[2], 0.0f);
  const auto f = surf("", "return vec3(fbm(P, 3), fbm(P, 3, 2.0, 0.5), turbulence(P.xy, 2));", {0.3f, 0.7f, 0.1f});
  EXPECT_EQ(f[0], f[1]);
  EXPECT_GE(f[2], 0.0f);
  const auto angles = surf("", "return vec3(radians(180.0 * P.x), degrees(PI), luminance(vec3(P.x)));", {1.0f});
  EXPECT_NEAR(angles[0], 3.14159265f, 1e-6f);
  EXPECT_NEAR(angles[1], 180.0f, 1e-4f);
  EXPECT_EQ(angles[2], (0.2126f * 1.0f + 0.7152f * 1.0f) + 0.0722f * 1.0f);
}

// ---------------------------------------------------------------------------------------------
// statements, functions, constants

TEST(ReferenceStatements, UserFunctionsOverloadsAndOrder) {
  const std::string decls = R"(
float f(float x) { return x * 2.0; }
float f(float x, float y) { return x + y; }
int f(int i) { return i + 1; }
float g(float x) { return h(x) + 1.0; }   // h is declared below
float h(float x) {
  for (int i = 0; i < 10; i += 1) {
    if (float(i) >= x) return float(i) * 10.0;
  }
  return -1.0;
}
void nothing(float x) { float y = x; }
)";
  EXPECT_EQ(surf(decls, "nothing(1.0); return vec3(f(1.5) + f(1.0, 2.0), float(f(3)), g(P.x));", {2.5f}),
            (std::vector<float>{6, 4, 31}));
  EXPECT_EQ(surf(decls, "return vec3(g(P.x), f(2), 0.0);", {20.0f}), (std::vector<float>{0, 3, 0}));
}

TEST(ReferenceStatements, ConstantsAndScopes) {
  const std::string decls = "const int N = 3;\nconst vec2 OFF = vec2(0.5, N);\n";
  EXPECT_EQ(
      surf(decls, "const float K = 2.0; float x = 1.0; { float x = 5.0; x += K; } return vec3(x, OFF.y * K, PI);"),
      (std::vector<float>{1.0f, 6.0f, 3.14159265358979323846f}));
  // uninitialised locals are zero, also when declared again in a loop body
  EXPECT_EQ(surf("",
                 "float s = 0.0; for (int i = 0; i < 3; i += 1) { float t; t += 1.0; s += t; } vec3 v; "
                 "return v + vec3(s);"),
            (std::vector<float>{3, 3, 3}));
}

TEST(ReferenceStatements, LoopsBreakContinueReturn) {
  const std::string body = R"(
    int s = 0;
    for (int i = 0; i < 10; i += 1) { if (i == 2) continue; if (i == 5) break; s += i; }
    int w = 0; int k = 0;
    while (k < 100) { k += 7; w += 1; }
    int nest = 0;
    for (int i = 0; i < 3; i += 1) { for (int j = 0; j < 3; j += 1) { if (j > i) break; nest += 1; } }
    for (;;) { nest += 10; if (nest > 30) break; }
    return vec3(float(s), float(w), float(nest));)";
  EXPECT_EQ(surf("", body), (std::vector<float>{8, 15, 36}));
  // continue runs the step; a while loop with continue
  EXPECT_EQ(surf("",
                 "int c = 0; int i = 0; while (i < 6) { i += 1; if (i % 2 == 0) continue; c += i; } "
                 "return vec3(float(c), float(i), 0.0);"),
            (std::vector<float>{9, 6, 0}));
}

TEST(ReferenceStatements, DivergentLanesReturnEarly) {
  const std::string src = R"(fablet T {
  uniform material m0 = "A";
  surface(vec3 P, vec3 N) -> vec3 {
    for (int i = 0; i < 100; i += 1) {
      if (float(i) >= P.x) return vec3(float(i), N.x, 0.0);
      if (i == 50) break;
    }
    if (P.x > 1000.0) return vec3(-2.0);
    return vec3(-1.0);
  }
})";
  auto program = compile_ok(src);
  ASSERT_TRUE(program);
  const TestHost host;
  const auto out = run_rows(program, Phase::surface, {{0.5f, 0, 0, 7}, {2.5f}, {200.0f}, {3.0f}, {5000.0f}}, host);
  EXPECT_EQ(out[0], (std::vector<float>{1, 7, 0}));
  EXPECT_EQ(out[1], (std::vector<float>{3, 0, 0}));
  EXPECT_EQ(out[2], (std::vector<float>{-1, -1, -1}));
  EXPECT_EQ(out[3], (std::vector<float>{3, 0, 0}));
  EXPECT_EQ(out[4], (std::vector<float>{-2, -2, -2}));
}

TEST(ReferenceStatements, LoopCapNamesTheLoop) {
  const std::string src =
      "fablet T {\n  uniform material m0 = \"A\";\n  surface(vec3 P, vec3 N) -> vec3 {\n    float s = 0.0;\n"
      "    while (s < P.x) { s += 1.0; }\n    return vec3(s);\n  }\n}\n";
  auto program = compile_ok(src, "cap.fl");
  ASSERT_TRUE(program);
  const TestHost host;
  ExecOptions options;
  options.loop_cap = 10;
  EXPECT_EQ(run_rows(program, Phase::surface, {{10.0f}}, host, nullptr, options)[0][0], 10.0f);
  try {
    run_rows(program, Phase::surface, {{11.0f}}, host, nullptr, options);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "cap.fl:5:5: loop ran more than 10 iterations");
    EXPECT_EQ(e.kind(), ErrorKind::runtime);
  }
  // the default cap is a million iterations per loop entry
  EXPECT_EQ(run_rows(program, Phase::surface, {{1e6f}}, host)[0][0], 1e6f);
  EXPECT_THROW(run_rows(program, Phase::surface, {{2e6f}}, host), Error);
}

// ---------------------------------------------------------------------------------------------
// uniforms, phases, outs, queries, textures

TEST(ReferencePhases, UniformsDefaultsAndOverrides) {
  const std::string src = R"(fablet U {
  uniform material m0 = "A";
  uniform float s = 2.0;
  uniform int k = 3;
  uniform bool flag = false;
  uniform vec3 off = vec3(1.0, 2.0, 3.0);
  uniform float must;
  surface(vec3 P, vec3 N) -> vec3 {
    return vec3(s * float(k), flag ? must : -1.0, off.y);
  }
})";
  auto program = compile_ok(src);
  ASSERT_TRUE(program);
  EXPECT_THROW(ReferenceInterpreter(program, program->defaults()), Error);
  UniformValues values = program->defaults();
  program->set_uniform(values, "must", "5");
  const TestHost host;
  EXPECT_EQ(run_rows(program, Phase::surface, {{0.0f}}, host, &values)[0], (std::vector<float>{6, -1, 2}));
  program->set_uniform(values, "s", "0.5");
  program->set_uniform(values, "k", "-4");
  program->set_uniform(values, "flag", "true");
  program->set_uniform(values, "off", "4,5,6");
  EXPECT_EQ(run_rows(program, Phase::surface, {{0.0f}}, host, &values)[0], (std::vector<float>{-2, 5, 5}));
}

TEST(ReferencePhases, SurfaceOutsAndVolumeReadsThemThroughQueries) {
  const std::string src = R"(fablet O {
  uniform material m0 = "A";
  uniform material m1 = "B";
  out float a;
  out vec2 b;
  out float c;
  surface(vec3 P, vec3 N, vec2 uv) -> vec3 {
    a = P.x + uv.y;
    b.y = 3.0;
    return P + N;
  }
  volume(vec3 P) -> mixture {
    return mixture(m0, a, m1, b.y);
  }
})";
  auto program = compile_ok(src);
  ASSERT_TRUE(program);
  ASSERT_EQ(program->input_columns(Phase::surface), 8);
  ASSERT_EQ(program->output_columns(Phase::surface), 7);
  const TestHost host;
  EXPECT_EQ(run_rows(program, Phase::surface, {{1, 2, 3, 0, 0, 1, 0, 0.5f}}, host)[0],
            (std::vector<float>{1, 2, 4, 1.5f, 0, 3, 0}));
  // out columns: a = 0, b = 1..2, c = 3; the host answers 100 + column + x
  EXPECT_EQ(run_rows(program, Phase::volume, {{1, 0, 0}, {2, 0, 0}}, host),
            (std::vector<std::vector<float>>{{101, 103}, {102, 104}}));
  EXPECT_EQ(host.queried_points, 2);
}

TEST(ReferencePhases, DefaultPhases) {
  auto only_volume = compile_ok(
      "fablet V {\n uniform material m0 = \"A\";\n out float o;\n volume(vec3 P) -> mixture { return mixture(m0, 2.0); "
      "}\n}\n");
  ASSERT_TRUE(only_volume);
  const TestHost host;
  EXPECT_EQ(run_rows(only_volume, Phase::surface, {{1, 2, 3, 4, 5, 6}}, host)[0], (std::vector<float>{1, 2, 3, 0}));
  auto only_surface = compile_ok(
      "fablet S {\n uniform material m0 = \"A\";\n uniform material m1 = \"B\";\n"
      " surface(vec3 P, vec3 N) -> vec3 { return P * 2.0; }\n}\n");
  ASSERT_TRUE(only_surface);
  EXPECT_EQ(run_rows(only_surface, Phase::volume, {{1, 2, 3}}, host)[0], (std::vector<float>{1, 0}));
}

TEST(ReferencePhases, SurfaceQueries) {
  const std::string body =
      "return mixture(m0, surface_distance(), m1, surface_signed_distance()) + mixture(m2, surface_point().z + "
      "surface_normal().z);";
  EXPECT_EQ(vol("", "", body, {0, 0, 1}), (std::vector<float>{1, -1, 3}));
  EXPECT_EQ(vol("", "", body, {0, 0, -3}), (std::vector<float>{1, 1, -3}));
  // one query per voxel that uses them, none otherwise
  auto program = compile_ok(
      "fablet Q {\n uniform material m0 = \"A\";\n volume(vec3 P) -> mixture {\n"
      "  if (P.x > 0.0) return mixture(m0, surface_distance() + surface_distance());\n  return empty();\n }\n}\n");
  ASSERT_TRUE(program);
  const TestHost host;
  EXPECT_EQ(run_rows(program, Phase::volume, {{1, 0, 0}, {-1, 0, 0}, {3, 0, 0}}, host),
            (std::vector<std::vector<float>>{{2}, {0}, {2}}));
  EXPECT_EQ(host.queried_points, 2);
}

const char* kTextureFablet = R"(fablet X {
  uniform texture t0 = "a.png";
  uniform texture t1 = "b.png";
  uniform material m0 = "A";
  surface(vec3 P, vec3 N, vec2 uv) -> vec3 {
    BODY
  }
  volume(vec3 P) -> mixture { return mixture(m0, sample(t1, P.xy).z + sample_lod(t0, P.xy, 1.5).z); }
})";

std::shared_ptr<const Program> texture_fablet(const std::string& body) {
  std::string src = kTextureFablet;
  src.replace(src.find("BODY"), 4, body);
  return compile_ok(src);
}

/// Rows (P, N, uv) for quads with uv = base + (lane & 1) * dx + (lane >> 1) * dy.
std::vector<std::vector<float>> quad_rows(std::size_t n, float dx, float dy) {
  std::vector<std::vector<float>> rows;
  for (std::size_t i = 0; i < n; ++i) {
    const float u = 0.1f + dx * static_cast<float>(i & 1), v = 0.2f + dy * static_cast<float>((i >> 1) & 1);
    rows.push_back({0, 0, 0, 0, 0, 1, u, v});
  }
  return rows;
}

TEST(ReferenceTextures, LodFromFullQuadsOnly) {
  auto program = texture_fablet("vec4 c = sample(t1, uv); return vec3(c.z, c.w, c.x);");
  ASSERT_TRUE(program);
  const TestHost host;
  // 6 items: one full quad (derivatives 0.25 and 0.125: lod = log2(0.25) + 6), then a partial one (lod 0).
  const auto out = run_rows(program, Phase::surface, quad_rows(6, 0.25f, 0.125f), host);
  const float du = (0.1f + 0.25f) - 0.1f, dv = (0.2f + 0.125f) - 0.2f;
  const float expected = std::log2(std::max(std::sqrt(du * du + 0.0f), std::sqrt(0.0f + dv * dv))) + 6.0f;
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(out[static_cast<std::size_t>(i)][0], expected) << i;
    EXPECT_EQ(out[static_cast<std::size_t>(i)][1], 1.0f);
  }
  EXPECT_NEAR(expected, 4.0f, 1e-5f);
  EXPECT_EQ(out[4][0], 0.0f);
  EXPECT_EQ(out[5][0], 0.0f);
  EXPECT_EQ(host.samples.size(), 6u);
}

TEST(ReferenceTextures, DivergentQuadsSampleTheFinestLevel) {
  auto program = texture_fablet(
      "vec4 c = vec4(-1.0); if (uv.x < 0.3) c = sample(t0, uv); "
      "float l = sample_lod(t0, uv, 2.5).z; return vec3(c.z, c.w, l);");
  ASSERT_TRUE(program);
  const TestHost host;
  const auto out = run_rows(program, Phase::surface, quad_rows(4, 0.5f, 0.125f), host);
  EXPECT_EQ(out[0], (std::vector<float>{0, 0, 2.5f}));
  EXPECT_EQ(out[1], (std::vector<float>{-1, -1, 2.5f}));  // did not reach the call
  EXPECT_EQ(out[2], (std::vector<float>{0, 0, 2.5f}));
  EXPECT_EQ(out[3], (std::vector<float>{-1, -1, 2.5f}));
  EXPECT_EQ(host.samples.size(), 2u + 4u);
}

TEST(ReferenceTextures, EagerOperandsSampleWithTheWholeQuad) {
  // Both operands of && and both arms of ?: are evaluated, so every lane reaches the sample.
  auto program = texture_fablet(
      "bool b = uv.x > 10.0 && sample(t0, uv).z > 100.0; float c = uv.x > 0.0 ? 1.0 : sample(t1, uv).z; "
      "return vec3(b ? 1.0 : 0.0, c, 0.0);");
  ASSERT_TRUE(program);
  const TestHost host;
  const auto out = run_rows(program, Phase::surface, quad_rows(4, 0.5f, 0.5f), host);
  EXPECT_EQ(out[0], (std::vector<float>{0, 1, 0}));
  ASSERT_EQ(host.samples.size(), 8u);
  for (const auto& s : host.samples) EXPECT_NEAR(s.lod, 4.0f + static_cast<float>(s.slot), 1e-5f);
}

TEST(ReferenceTextures, VolumeSamplesTheFinestLevel) {
  auto program = texture_fablet("return P;");
  ASSERT_TRUE(program);
  const TestHost host;
  EXPECT_EQ(
      run_rows(program, Phase::volume, {{0.5f, 0.5f, 0}, {0.25f, 0.5f, 0}, {0.5f, 0.25f, 0}, {0.5f, 0.5f, 1}}, host)[0],
      (std::vector<float>{1.5f}));
  for (const auto& s : host.samples) EXPECT_EQ(s.lod, s.slot == 1 ? 0.0f : 1.5f);
}

// ---------------------------------------------------------------------------------------------
// the examples

TEST(ReferenceExamples, EveryExampleRuns) {
  const fs::path dir = test::source_dir() / "examples" / "openfl";
  int count = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".fl") continue;
    ++count;
    const CompileResult result = compile_file(entry.path().string());
    ASSERT_TRUE(result.program) << result.diagnostics.format_all();
    const TestHost host(true);
    for (Phase phase : {Phase::surface, Phase::volume}) {
      std::vector<std::vector<float>> rows;
      for (int i = 0; i < 10; ++i) {
        const float t = 0.37f * static_cast<float>(i) - 1.3f;
        std::vector<float> row{t, 0.5f * t + 0.2f, 1.0f - t, 0.0f, 0.6f, 0.8f, 0.05f * t + 0.5f, 0.03f * t + 0.5f};
        row.resize(static_cast<std::size_t>(result.program->input_columns(phase)), 0.25f);
        rows.push_back(row);
      }
      const auto out = run_rows(result.program, phase, rows, host);
      for (const auto& row : out)
        for (float x : row) EXPECT_TRUE(std::isfinite(x)) << entry.path() << " " << phase_name(phase);
    }
  }
  EXPECT_GE(count, 5);
}

// ---------------------------------------------------------------------------------------------
// agreement with the batched interpreter (bit for bit; NaNs compare equal)

bool same_bits(float a, float b) {
  return (std::isnan(a) && std::isnan(b)) || std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b);
}

/// Runs both interpreters over n items in coherent quads; returns the number of mismatches.
/// `spread` scales the differences between the lanes of a quad (large: lanes diverge).
int compare_with_batched(const std::shared_ptr<const Program>& program, const std::string& what, std::size_t n,
                         float spread = 0.03f) {
  const TestHost host;
  const UniformValues values = program->defaults();
  const ReferenceInterpreter reference(program, values);
  int bad = 0;
  for (Phase phase : {Phase::surface, Phase::volume}) {
    const auto kernel = program->kernel(phase, values);
    const int in_count = program->input_columns(phase), out_count = program->output_columns(phase);
    std::vector<std::vector<float>> in(static_cast<std::size_t>(in_count), std::vector<float>(n));
    for (std::size_t c = 0; c < in.size(); ++c)
      for (std::size_t i = 0; i < n; ++i) {
        const auto q = static_cast<float>(i / 4), lane_x = static_cast<float>(i & 1),
                   lane_y = static_cast<float>((i >> 1) & 1);
        in[c][i] = std::sin(1.7f * q + static_cast<float>(c)) * 2.5f +
                   spread * (lane_x + 2.0f * lane_y) * static_cast<float>(c + 1);
      }
    std::vector<std::vector<float>> a(static_cast<std::size_t>(out_count), std::vector<float>(n)), b = a;
    std::vector<const float*> in_ptr;
    std::vector<float*> a_ptr, b_ptr;
    for (auto& c : in) in_ptr.push_back(c.data());
    for (auto& c : a) a_ptr.push_back(c.data());
    for (auto& c : b) b_ptr.push_back(c.data());
    BatchExecutor(kernel).run(host, n, in_ptr.data(), a_ptr.data());
    reference.run(phase, host, n, in_ptr.data(), b_ptr.data());
    for (std::size_t c = 0; c < a.size(); ++c) {
      for (std::size_t i = 0; i < n; ++i) {
        if (!same_bits(a[c][i], b[c][i]) && ++bad <= 3) {
          ADD_FAILURE() << what << " " << phase_name(phase) << " column " << c << " item " << i << ": batched "
                        << a[c][i] << ", reference " << b[c][i];
        }
      }
    }
  }
  return bad;
}

TEST(ReferenceAgreement, ExamplesBitForBit) {
  const fs::path dir = test::source_dir() / "examples" / "openfl";
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".fl") continue;
    const CompileResult result = compile_file(entry.path().string());
    ASSERT_TRUE(result.program) << result.diagnostics.format_all();
    EXPECT_EQ(compare_with_batched(result.program, entry.path().filename().string(), 70), 0);
  }
}

TEST(ReferenceAgreement, DivergentControlFlowBitForBit) {
  // Loops whose lanes leave at different iterations with samples in conditions and bodies,
  // dynamic indices, materials chosen per lane, functions with early returns.
  const std::string src = R"(
float f(float x, int n) {
  float s = 0.0;
  for (int i = 0; i < n; i += 1) {
    if (s > x) return s * 0.5;
    s += sin(x * float(i));
    if (i == 3) continue;
    s *= 1.1;
  }
  return s;
}
fablet D {
  uniform texture t0 = "a.png";
  uniform texture t1 = "b.png";
  uniform material m0 = "A";
  uniform material m1 = "B";
  uniform material m2 = "C";
  out vec2 o;
  surface(vec3 P, vec3 N, vec2 uv) -> vec3 {
    vec3 acc = vec3(0.0);
    int i = 0;
    while (sample(t0, uv + vec2(float(i) * 0.01, 0.0)).z < 50.0) {
      i += 1;
      if (uv.x > P.y && i > 2) break;
      acc[i % 3] += sample(t1, uv * float(i)).z;
      if (i > 5) break;
    }
    mat3 m = rotate_y(P.x) * mat3(N, P, vec3(uv, 1.0));
    o = (m * acc).xy + vec2(f(P.z, 6), sample_lod(t0, uv, P.x).z);
    if (N.x > 0.0) return P + m[i % 3];
    return P * 2.0 + vec3(turbulence(uv * 3.0, 3), fbm(P, 2, 1.9, 0.6), cellular(P).y);
  }
  volume(vec3 P) -> mixture {
    material pick = P.x > 0.0 ? m1 : (P.y > 0.0 ? m2 : m0);
    mixture a = mixture(pick, 1.0, m0, o.x, pick, surface_distance());
    vec4 v = vec4(P, o.y);
    int k = int(P.z * 3.0);
    v[k] = 7.0 / P.y;
    for (int j = 0; j < 4; j += 1) {
      if (v[j] < 0.0) continue;
      a = a + mixture(m2, v[j] * 0.1) / float(j + 1);
      if (weight(a, m2) > 3.0) break;
    }
    return mix(a, mixture(pick, f(P.x, 5)), 0.25) * (1 - k);
  }
})";
  auto program = compile_ok(src);
  ASSERT_TRUE(program);
  EXPECT_EQ(compare_with_batched(program, "divergent", 130), 0);
  EXPECT_EQ(compare_with_batched(program, "divergent quads", 130, 0.9f), 0);
}

}  // namespace
}  // namespace fabforge::openfl
