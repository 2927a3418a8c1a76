// Tests of the batched interpreter (BatchExecutor) and the bytecode assembler: small fablets run
// over lanes and checked against values computed here with the same scalar functions
// (scalar_math.hpp, noise.hpp), bit for bit: arithmetic and the int rules, divergent ifs and
// loops, break / continue / return, the loop cap, batch sizes, noise, the texture lod contract,
// the surface query, specialised against loaded uniforms, and the bytecode dump.

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "fabforge/core/error.hpp"
#include "fabforge/openfl/bytecode.hpp"
#include "fabforge/openfl/exec.hpp"
#include "fabforge/openfl/host.hpp"
#include "fabforge/openfl/noise.hpp"
#include "fabforge/openfl/program.hpp"
#include "fabforge/openfl/scalar_math.hpp"

namespace fabforge::openfl {
namespace {

using Columns = std::vector<std::vector<float>>;

bool same_bits(float a, float b) { return std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b); }

/// A host without images: sample() returns (u, v, lod, slot) so a test can read back what it was
/// given; the surface query fills column c of lane i with c * 1000 + x + 2 y + 3 z. Counts calls.
class RecordingHost : public Host {
 public:
  void sample(int slot, std::size_t n, const float* u, const float* v, const float* lod,
              float* const rgba[4]) const override {
    ++sample_calls;
    sampled_lanes += n;
    for (std::size_t i = 0; i < n; ++i) {
      rgba[0][i] = u[i];
      rgba[1][i] = v[i];
      rgba[2][i] = lod[i];
      rgba[3][i] = static_cast<float>(slot);
    }
  }
  float texture_lod_bias(int slot) const override { return 5.0f + static_cast<float>(slot); }
  void surface_query(std::size_t n, const float* const xyz[3], float* const* columns, int column_count) const override {
    ++query_calls;
    query_lanes.push_back(n);
    last_column_count = column_count;
    last_wanted.clear();
    for (int c = 0; c < column_count; ++c) {
      last_wanted.push_back(columns[c] != nullptr);
      if (columns[c] == nullptr) continue;
      for (std::size_t i = 0; i < n; ++i) columns[c][i] = query_value(c, xyz[0][i], xyz[1][i], xyz[2][i]);
    }
  }
  std::array<Interval, 4> texture_range(int) const override { return {}; }
  void query_range(const Interval[3], Interval* columns, int column_count) const override {
    for (int c = 0; c < column_count; ++c) columns[c] = Interval{};
  }
  static float query_value(int c, float x, float y, float z) {
    return static_cast<float>(c) * 1000.0f + x + 2.0f * y + 3.0f * z;
  }

  mutable int sample_calls = 0;
  mutable std::size_t sampled_lanes = 0;
  mutable int query_calls = 0;
  mutable std::vector<std::size_t> query_lanes;
  mutable int last_column_count = 0;
  mutable std::vector<bool> last_wanted;  // per column of the last query: asked for (not null)
};

std::shared_ptr<const Program> compile_ok(const std::string& text, const std::string& name = "test.fl") {
  CompileResult r = compile(name, text);
  EXPECT_TRUE(r.program) << r.diagnostics.format_all();
  return r.program;
}

Columns run(const std::shared_ptr<const Kernel>& kernel, const Host& host, const Columns& inputs, std::size_t n,
            ExecOptions options = {}) {
  Columns out(static_cast<std::size_t>(kernel->output_count), std::vector<float>(n + 1, -12345.0f));
  std::vector<const float*> in_ptrs;
  std::vector<float*> out_ptrs;
  for (const auto& c : inputs) in_ptrs.push_back(c.data());
  for (auto& c : out) out_ptrs.push_back(c.data());
  BatchExecutor exec(kernel, options);
  exec.run(host, n, in_ptrs.data(), out_ptrs.data());
  for (const auto& c : out) EXPECT_EQ(c[n], -12345.0f) << "wrote past item n";
  return out;
}

/// Input columns whose values are gen(column, item).
template <class Gen>
Columns make_inputs(int columns, std::size_t n, Gen gen) {
  Columns in(static_cast<std::size_t>(columns), std::vector<float>(n));
  for (int c = 0; c < columns; ++c)
    for (std::size_t i = 0; i < n; ++i) in[static_cast<std::size_t>(c)][i] = gen(c, i);
  return in;
}

/// Surface-phase fablet with float outs o0..o{k-1}, body `body` (P is the only input).
std::string surface_fablet(int outs, const std::string& body, const std::string& extra = "") {
  std::string s = "fablet T {\n  uniform material m = \"A\";\n" + extra;
  for (int k = 0; k < outs; ++k) s += "  out float o" + std::to_string(k) + ";\n";
  s += "  surface(vec3 P) -> vec3 {\n" + body + "\n    return P;\n  }\n}\n";
  return s;
}

// ---------------------------------------------------------------------------------------------

TEST(Batch, FloatArithmeticMatchesScalarMath) {
  const auto program = compile_ok(surface_fablet(8, R"(
    float x = P.x;
    float y = P.y;
    float z = P.z;
    o0 = x + y * z;
    o1 = x / y;
    o2 = sin(x) * cos(y) + sqrt(abs(z));
    o3 = smoothstep(-1.0, 2.0, x) + mod(y, 0.75) + fract(z);
    o4 = pow(abs(x), y) + exp(z * 0.1) + log(abs(y) + 1.0);
    o5 = min(x, y) - max(y, z) + clamp(z, -0.5, 0.5) + step(0.25, x);
    o6 = atan2(y, x) + floor(z) + ceil(x) + round(y) + trunc(z) + sign(x);
    o7 = inversesqrt(abs(x) + 0.5) + exp2(y) + log2(abs(z) + 2.0) + mix(x, y, 0.3);)"));
  const std::size_t n = 700;
  const Columns in = make_inputs(3, n, [](int c, std::size_t i) {
    return std::sin(static_cast<float>(i) * 0.37f + static_cast<float>(c)) * 3.0f;
  });
  const Columns out = run(program->kernel(Phase::surface, program->defaults()), RecordingHost(), in, n);
  ASSERT_EQ(out.size(), 11u);
  for (std::size_t i = 0; i < n; ++i) {
    const float x = in[0][i], y = in[1][i], z = in[2][i];
    const float want[8] = {
        x + y * z,
        x / y,
        sm::fsin(x) * sm::fcos(y) + sm::fsqrt(sm::fabs(z)),
        sm::fsmoothstep(-1.0f, 2.0f, x) + sm::fmod(y, 0.75f) + sm::ffract(z),
        sm::fpow(sm::fabs(x), y) + sm::fexp(z * 0.1f) + sm::flog(sm::fabs(y) + 1.0f),
        sm::fmin(x, y) - sm::fmax(y, z) + sm::fclamp(z, -0.5f, 0.5f) + sm::fstep(0.25f, x),
        sm::fatan2(y, x) + sm::ffloor(z) + sm::fceil(x) + sm::fround(y) + sm::ftrunc(z) + sm::fsign(x),
        sm::finvsqrt(sm::fabs(x) + 0.5f) + sm::fexp2(y) + sm::flog2(sm::fabs(z) + 2.0f) + sm::fmix(x, y, 0.3f),
    };
    EXPECT_TRUE(same_bits(out[0][i], x) && same_bits(out[1][i], y) && same_bits(out[2][i], z)) << i;
    for (int k = 0; k < 8; ++k)
      ASSERT_TRUE(same_bits(out[3 + static_cast<std::size_t>(k)][i], want[k]))
          << "o" << k << " lane " << i << ": " << out[3 + static_cast<std::size_t>(k)][i] << " vs " << want[k];
  }
}

TEST(Batch, IntRulesWrapAndDivisionByZero) {
  // P.x = 0 and P.y = 0 at run time, so nothing folds.
  const auto program = compile_ok(surface_fablet(7, R"(
    int zero = int(P.x);
    int big = 2147483647 + zero;
    o0 = float(big + 1);                  // wraps to INT_MIN
    o1 = float(7 / zero);                 // x / 0 = 0
    o2 = float(7 % zero);                 // x % 0 = 0
    int lowest = -2147483647 - 1 + zero;
    o3 = float(lowest / (zero - 1));      // INT_MIN / -1 = INT_MIN
    o4 = float(lowest % (zero - 1));
    o5 = float(int(P.y * 1e20) + int(-7.9 + P.y));   // saturates; truncates toward zero
    o6 = float(abs(lowest) + sign(-5 + zero) * 3 + min(4, 9 + zero) + (-7 + zero) % 3);)"));
  const std::size_t n = 5;
  const Columns in(3, std::vector<float>(n, 0.0f));
  const Columns out = run(program->kernel(Phase::surface, program->defaults()), RecordingHost(), in, n);
  for (std::size_t i = 0; i < n; ++i) {
    EXPECT_EQ(out[3][i], -2147483648.0f);
    EXPECT_EQ(out[4][i], 0.0f);
    EXPECT_EQ(out[5][i], 0.0f);
    EXPECT_EQ(out[6][i], -2147483648.0f);
    EXPECT_EQ(out[7][i], 0.0f);
    EXPECT_EQ(out[8][i], -7.0f);  // int(0) + int(-7.9)
    // abs(INT_MIN) wraps to INT_MIN; -3 + 4 + (-1)
    EXPECT_EQ(out[9][i], static_cast<float>(sm::iadd(sm::iabs(std::numeric_limits<std::int32_t>::min()), 0)));
  }
  // saturation at large values, on other inputs
  Columns big(3, std::vector<float>(n, 0.0f));
  big[1] = {1.0f, -1.0f, std::nanf(""), 0.5f, -0.5f};
  const Columns out2 = run(program->kernel(Phase::surface, program->defaults()), RecordingHost(), big, n);
  EXPECT_EQ(out2[8][0], static_cast<float>(sm::iadd(std::numeric_limits<std::int32_t>::max(), sm::ftoi(-6.9f))));
  EXPECT_EQ(out2[8][1], static_cast<float>(sm::iadd(std::numeric_limits<std::int32_t>::min(), sm::ftoi(-8.9f))));
  EXPECT_EQ(out2[8][2], static_cast<float>(sm::ftoi(std::nanf("") - 7.9f)));
}

// The outer if and the nested one run under masks (noise makes their sides too heavy to run on
// every lane); the else-if chain is converted to selects.
TEST(Batch, DivergentIfElseWithinABatch) {
  const auto program = compile_ok(surface_fablet(3, R"(
    float a = 0.0;
    float b = P.z;
    if (P.x > 0.5) {
      a = P.y * 2.0 + noise(P);
      if (P.y > 10.0) { b = b + fbm(P, 2); } else { b = b - 1.0; }
    } else if (P.x > 0.25) {
      a = P.y + 100.0;
    } else {
      a = -P.y;
      b = sqrt(P.z);
    }
    o0 = a;
    o1 = b;
    o2 = P.x > 0.9 ? a : b;)"));
  const std::size_t n = 1000;
  const Columns in = make_inputs(3, n, [](int c, std::size_t i) {
    if (c == 0) return static_cast<float>((i * 7919) % 100) / 100.0f;
    if (c == 1) return static_cast<float>(i % 23);
    return static_cast<float>(i % 5);
  });
  const Columns out = run(program->kernel(Phase::surface, program->defaults()), RecordingHost(), in, n);
  for (std::size_t i = 0; i < n; ++i) {
    const float x = in[0][i], y = in[1][i], z = in[2][i];
    float a = 0.0f, b = z;
    if (x > 0.5f) {
      a = y * 2.0f + noise::perlin3(x, y, z);
      b = y > 10.0f ? b + noise::fbm3(x, y, z, 2, 2.0f, 0.5f, false) : b - 1.0f;
    } else if (x > 0.25f) {
      a = y + 100.0f;
    } else {
      a = -y;
      b = sm::fsqrt(z);
    }
    ASSERT_TRUE(same_bits(out[3][i], a)) << i;
    ASSERT_TRUE(same_bits(out[4][i], b)) << i;
    ASSERT_TRUE(same_bits(out[5][i], x > 0.9f ? a : b)) << i;
  }
}

TEST(Batch, LoopsWithLaneVaryingTripCounts) {
  const auto program = compile_ok(surface_fablet(5, R"(
    // while with a lane-varying count
    int k = 0;
    float s = 0.0;
    while (k < int(P.x)) { s += float(k) * 0.5; k += 1; }
    o0 = s;
    // for with break and continue
    float c = 0.0;
    for (int i = 0; i < 100; i += 1) {
      if (i == int(P.y)) break;
      if (i % 3 == 0) continue;
      c += float(i);
    }
    o1 = c;
    // nested loops, the inner one divergent and breaking
    float t = 0.0;
    for (int i = 0; i < int(P.z); i += 1) {
      for (int j = 0; j < 10; j += 1) {
        if (j > i + int(P.x)) break;
        t += 1.0;
      }
    }
    o2 = t;
    // carried values that rotate every iteration (a parallel move with a cycle)
    float a = P.x;
    float b = P.y;
    float e = P.z + 0.5;
    for (int i = 0; i < int(P.z); i += 1) { float tmp = a; a = b; b = e; e = tmp; }
    o3 = a - b * 1000.0 + e * 0.001;
    // uniform trip count, swapping as well
    float u = P.x;
    float v = P.y;
    for (int i = 0; i < 3; i += 1) { float tmp = u; u = v; v = tmp + 1.0; }
    o4 = u - v * 1000.0;)"));
  const std::size_t n = 777;
  const Columns in = make_inputs(3, n, [](int c, std::size_t i) {
    return static_cast<float>((i * (c + 3) * 2654435761u >> 7) % (c == 1 ? 40 : 9));
  });
  const Columns out = run(program->kernel(Phase::surface, program->defaults()), RecordingHost(), in, n);
  for (std::size_t i = 0; i < n; ++i) {
    const float x = in[0][i], y = in[1][i], z = in[2][i];
    float s = 0.0f;
    for (int k = 0; k < static_cast<int>(x); ++k) s += static_cast<float>(k) * 0.5f;
    float c = 0.0f;
    for (int j = 0; j < 100; ++j) {
      if (j == static_cast<int>(y)) break;
      if (j % 3 == 0) continue;
      c += static_cast<float>(j);
    }
    float t = 0.0f;
    for (int p = 0; p < static_cast<int>(z); ++p)
      for (int j = 0; j < 10; ++j) {
        if (j > p + static_cast<int>(x)) break;
        t += 1.0f;
      }
    float a = x, b = y, e = z + 0.5f;
    for (int p = 0; p < static_cast<int>(z); ++p) {
      const float tmp = a;
      a = b;
      b = e;
      e = tmp;
    }
    float u = x, v = y;
    for (int p = 0; p < 3; ++p) {
      const float tmp = u;
      u = v;
      v = tmp + 1.0f;
    }
    ASSERT_TRUE(same_bits(out[3][i], s)) << i;
    ASSERT_TRUE(same_bits(out[4][i], c)) << i;
    ASSERT_TRUE(same_bits(out[5][i], t)) << i;
    ASSERT_TRUE(same_bits(out[6][i], a - b * 1000.0f + e * 0.001f)) << i;
    ASSERT_TRUE(same_bits(out[7][i], u - v * 1000.0f)) << i;
  }
}

TEST(Batch, EarlyReturnInFunctionsAndPhases) {
  const auto program = compile_ok(R"(
float f(float x) {
  if (x > 3.0) return 1.0;
  for (int i = 0; i < 10; i += 1) {
    if (float(i) > x) return float(i) * 10.0;
  }
  return 2.0;
}
fablet T {
  uniform material a = "A";
  uniform material b = "B";
  volume(vec3 P) -> mixture {
    if (P.y > 0.5) return mixture(a, f(P.x));
    return mixture(b, f(P.x) + 0.5);
  }
}
)");
  const std::size_t n = 300;
  const Columns in = make_inputs(3, n, [](int c, std::size_t i) {
    if (c == 0) return static_cast<float>(i % 11) * 0.5f - 1.0f;
    return static_cast<float>(i % 2);
  });
  const Columns out = run(program->kernel(Phase::volume, program->defaults()), RecordingHost(), in, n);
  ASSERT_EQ(out.size(), 2u);
  for (std::size_t i = 0; i < n; ++i) {
    const float x = in[0][i];
    float fx = 2.0f;
    if (x > 3.0f) {
      fx = 1.0f;
    } else {
      for (int k = 0; k < 10; ++k)
        if (static_cast<float>(k) > x) {
          fx = static_cast<float>(k) * 10.0f;
          break;
        }
    }
    const bool first = in[1][i] > 0.5f;
    ASSERT_EQ(out[0][i], first ? fx : 0.0f) << i;
    ASSERT_EQ(out[1][i], first ? 0.0f : fx + 0.5f) << i;
  }
}

TEST(Batch, LoopCapErrorNamesTheLoop) {
  const std::string text = surface_fablet(1, R"(
    int k = 0;
    while (k < int(P.x)) { k += 1; }
    o0 = float(k);)");
  const auto program = compile_ok(text, "cap.fl");
  const auto kernel = program->kernel(Phase::surface, program->defaults());
  const std::size_t n = 300;
  ExecOptions options;
  options.loop_cap = 10;
  // exactly the cap in one lane is fine
  Columns in(3, std::vector<float>(n, 3.0f));
  in[0][257] = 10.0f;
  Columns out = run(kernel, RecordingHost(), in, n, options);
  EXPECT_EQ(out[3][257], 10.0f);
  EXPECT_EQ(out[3][0], 3.0f);
  // one more in one lane of the second batch is an error naming the loop
  in[0][299] = 11.0f;
  const std::size_t line = 7, column = 5;  // the `while` of the text above
  try {
    run(kernel, RecordingHost(), in, n, options);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::runtime);
    EXPECT_EQ(std::string(e.what()),
              "cap.fl:" + std::to_string(line) + ":" + std::to_string(column) + ": loop ran more than 10 iterations");
  }
  // inactive lanes (past n) and lanes that are not in the loop do not count
  in[0].assign(n, 1e9f);
  for (std::size_t i = 0; i < 296; ++i) in[0][i] = 2.0f;
  EXPECT_THROW(run(kernel, RecordingHost(), in, 297, options), Error);
  EXPECT_NO_THROW(run(kernel, RecordingHost(), in, 296, options));
  // the same executor runs again after an error
  BatchExecutor exec(kernel, options);
  std::vector<const float*> ip = {in[0].data(), in[1].data(), in[2].data()};
  Columns o(4, std::vector<float>(n));
  std::vector<float*> op = {o[0].data(), o[1].data(), o[2].data(), o[3].data()};
  EXPECT_THROW(exec.run(RecordingHost(), n, ip.data(), op.data()), Error);
  exec.run(RecordingHost(), 296, ip.data(), op.data());
  EXPECT_EQ(o[3][5], 2.0f);
}

TEST(Batch, UniformLoopCapAndDefaultCap) {
  const auto program = compile_ok(surface_fablet(1, R"(
    float s = 0.0;
    for (int i = 0; i < 50; i += 1) { s += P.x; }
    o0 = s;)"),
                                  "u.fl");
  const auto kernel = program->kernel(Phase::surface, program->defaults());
  const Columns in(3, std::vector<float>(8, 1.0f));
  EXPECT_EQ(run(kernel, RecordingHost(), in, 8)[3][7], 50.0f);
  ExecOptions options;
  options.loop_cap = 49;
  EXPECT_THROW(run(kernel, RecordingHost(), in, 8, options), Error);
  options.loop_cap = 50;
  EXPECT_NO_THROW(run(kernel, RecordingHost(), in, 8, options));
}

TEST(Batch, BatchSizesAndEmptyInput) {
  const auto program = compile_ok(surface_fablet(2, R"(
    o0 = P.x * 3.0 + P.y;
    float s = 0.0;
    for (int i = 0; i < int(P.z); i += 1) s += 1.5;
    o1 = s;)"));
  const auto kernel = program->kernel(Phase::surface, program->defaults());
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{3}, std::size_t{4}, std::size_t{5},
                        std::size_t{255}, std::size_t{256}, std::size_t{257}, std::size_t{513}, std::size_t{1030}}) {
    const Columns in = make_inputs(3, n, [](int c, std::size_t i) {
      return c == 2 ? static_cast<float>(i % 7) : static_cast<float>(i) * 0.25f + static_cast<float>(c);
    });
    RecordingHost host;
    const Columns out = run(kernel, host, in, n);
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_EQ(out[3][i], in[0][i] * 3.0f + in[1][i]) << n << " " << i;
      ASSERT_EQ(out[4][i], 1.5f * static_cast<float>(i % 7)) << n << " " << i;
    }
    EXPECT_EQ(host.sample_calls + host.query_calls, 0);
  }
}

TEST(Batch, NoiseEqualsScalarNoise) {
  const auto program = compile_ok(surface_fablet(8, R"(
    o0 = noise(P);
    o1 = noise(P.xy);
    o2 = fbm(P, 3);
    o3 = fbm(P.zx, int(P.y) + 2, 2.5, 0.4);
    o4 = turbulence(P, 4);
    vec2 c = cellular(P);
    o5 = c.x;
    o6 = c.y;
    o7 = cellular(P.yz).y;)"));
  const std::size_t n = 301;
  const Columns in = make_inputs(3, n, [](int c, std::size_t i) {
    return std::cos(static_cast<float>(i) * 0.731f + static_cast<float>(c) * 1.7f) * 9.0f;
  });
  const Columns out = run(program->kernel(Phase::surface, program->defaults()), RecordingHost(), in, n);
  for (std::size_t i = 0; i < n; ++i) {
    const float x = in[0][i], y = in[1][i], z = in[2][i];
    float f1 = 0, f2 = 0, g1 = 0, g2 = 0;
    noise::cellular3(x, y, z, f1, f2);
    noise::cellular2(y, z, g1, g2);
    const float want[8] = {noise::perlin3(x, y, z),
                           noise::perlin2(x, y),
                           noise::fbm3(x, y, z, 3, 2.0f, 0.5f, false),
                           noise::fbm2(z, x, sm::iadd(sm::ftoi(y), 2), 2.5f, 0.4f, false),
                           noise::fbm3(x, y, z, 4, 2.0f, 0.5f, true),
                           f1,
                           f2,
                           g2};
    for (int k = 0; k < 8; ++k)
      ASSERT_TRUE(same_bits(out[3 + static_cast<std::size_t>(k)][i], want[k])) << "o" << k << " lane " << i;
  }
}

// ---------------------------------------------------------------------------------------------
// textures

std::string texture_fablet(const std::string& body) {
  return R"(
fablet T {
  uniform material m = "A";
  uniform texture first = "a.png";
  uniform texture second = "b.png";
  out vec4 c;
  out float d;
  surface(vec3 P, vec2 uv) -> vec3 {
)" + body +
         R"(
    return P;
  }
  volume(vec3 P) -> mixture {
    return mixture(m, sample(second, P.xy).b + sample_lod(first, P.yz, 2.5).b * 10.0);
  }
}
)";
}

/// The lod of the host contract for the quad starting at item q.
float quad_lod(const Columns& in, std::size_t q, float bias) {
  const std::vector<float>& u = in[3];
  const std::vector<float>& v = in[4];
  const float dudx = u[q + 1] - u[q], dvdx = v[q + 1] - v[q];
  const float dudy = u[q + 2] - u[q], dvdy = v[q + 2] - v[q];
  return std::log2(std::max(std::sqrt(dudx * dudx + dvdx * dvdx), std::sqrt(dudy * dudy + dvdy * dvdy))) + bias;
}

Columns quad_uv_inputs(std::size_t n) {
  return make_inputs(5, n, [](int c, std::size_t i) {
    const float q = static_cast<float>(i / 4);
    const float corner_x = static_cast<float>(i & 1), corner_y = static_cast<float>((i >> 1) & 1);
    switch (c) {
      case 3:
        return 0.1f * q + corner_x * (0.001f + 0.0001f * q) + corner_y * 0.0003f;
      case 4:
        return 0.05f * q + corner_y * (0.002f + 0.00001f * q) - corner_x * 0.0002f;
      default:
        return static_cast<float>(i % 3) - 1.0f + static_cast<float>(c);
    }
  });
}

TEST(Batch, TextureLodFromQuadDerivatives) {
  const auto program = compile_ok(texture_fablet("    c = sample(second, uv); d = sample(first, uv * 2.0).b;"));
  const auto kernel = program->kernel(Phase::surface, program->defaults());
  const std::size_t n = 518;  // two full batches and a partial one ending in a partial quad
  const Columns in = quad_uv_inputs(n);
  RecordingHost host;
  const Columns out = run(kernel, host, in, n);
  ASSERT_EQ(out.size(), 8u);  // P, c, d
  EXPECT_EQ(host.sample_calls, 3 * 2);
  EXPECT_EQ(host.sampled_lanes, 2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t q = i & ~std::size_t{3};
    const bool full = q + 4 <= n;
    const float lod = full ? quad_lod(in, q, 6.0f) : 0.0f;  // slot 1: bias 6
    EXPECT_EQ(out[3][i], in[3][i]);
    EXPECT_EQ(out[4][i], in[4][i]);
    ASSERT_TRUE(same_bits(out[5][i], lod)) << i << ": " << out[5][i] << " vs " << lod;
    EXPECT_EQ(out[6][i], 1.0f);
    // the second sample: uv * 2 doubles the derivatives (one more level), slot 0: bias 5
    Columns twice = in;
    for (std::size_t k = q; k < q + 4 && k < n; ++k) {
      twice[3][k] = in[3][k] * 2.0f;
      twice[4][k] = in[4][k] * 2.0f;
    }
    const float lod2 = full ? quad_lod(twice, q, 5.0f) : 0.0f;
    ASSERT_TRUE(same_bits(out[7][i], lod2)) << i;
  }
}

TEST(Batch, TextureLodIsZeroWhenAQuadDiverges) {
  const auto program =
      compile_ok(texture_fablet("    if (P.x > 0.0) { c = sample(second, uv); } else { c = vec4(-1.0); }\n"
                                "    d = sample_lod(first, uv, P.z * 0.25).b;"));
  const auto kernel = program->kernel(Phase::surface, program->defaults());
  const std::size_t n = 64;
  const Columns in = quad_uv_inputs(n);  // P.x = (i % 3) - 1: quads are never all positive
  Columns all_in = in;
  for (std::size_t i = 0; i < 8; ++i) all_in[0][i] = 5.0f;  // quads 0 and 1: every lane active
  RecordingHost host;
  const Columns out = run(kernel, host, all_in, n);
  std::size_t active = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (all_in[0][i] > 0.0f) {
      ++active;
      const float want = i < 8 ? quad_lod(all_in, i & ~std::size_t{3}, 6.0f) : 0.0f;
      ASSERT_TRUE(same_bits(out[5][i], want)) << i;
    } else {
      ASSERT_EQ(out[5][i], -1.0f) << i;
    }
    ASSERT_EQ(out[7][i], all_in[2][i] * 0.25f) << "sample_lod passes its argument: " << i;
  }
  EXPECT_EQ(host.sampled_lanes, active + n) << "only active lanes are sampled";
}

TEST(Batch, VolumeSamplesTheFinestLevel) {
  const auto program = compile_ok(texture_fablet("    c = vec4(0.0);"));
  const auto kernel = program->kernel(Phase::volume, program->defaults());
  const std::size_t n = 12;
  const Columns in = make_inputs(3, n, [](int c, std::size_t i) { return static_cast<float>(i * (c + 1)) * 0.1f; });
  const Columns out = run(kernel, RecordingHost(), in, n);
  for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(out[0][i], 0.0f + 2.5f * 10.0f);  // lod 0, then lod 2.5
}

// ---------------------------------------------------------------------------------------------
// surface queries

TEST(Batch, SurfaceQueryOncePerBatch) {
  const auto program = compile_ok(R"(
fablet Q {
  uniform material a = "A";
  uniform material b = "B";
  out float shade;
  out vec2 tex;
  surface(vec3 P) -> vec3 { shade = P.x; tex = P.yz; return P; }
  volume(vec3 P) -> mixture {
    float s = surface_signed_distance();
    if (s > 2.5) return mixture(a, surface_distance() + shade);
    return mixture(b, surface_normal().z + tex.y + surface_point().x);
  }
}
)");
  const auto kernel = program->kernel(Phase::volume, program->defaults());
  EXPECT_EQ(kernel->query_count, kQueryOuts + 3);
  const std::size_t n = 600;
  const Columns in = make_inputs(3, n, [](int c, std::size_t i) {
    return static_cast<float>(i % 10) * 0.5f * static_cast<float>(c == 0) - static_cast<float>(c == 2) * 0.25f;
  });
  RecordingHost host;
  const Columns out = run(kernel, host, in, n);
  EXPECT_EQ(host.query_calls, 3);
  EXPECT_EQ(host.query_lanes, (std::vector<std::size_t>{256, 256, 88}));
  EXPECT_EQ(host.last_column_count, kQueryOuts + 3);
  // Only the columns the kernel reads are asked for: the signed distance, point x, normal z, shade
  // and tex.y (the others are null, so a host need not compute them).
  std::vector<bool> wanted(static_cast<std::size_t>(kQueryOuts + 3), false);
  for (int c : {kQuerySignedDistance, kQueryPoint, kQueryNormal + 2, kQueryOuts, kQueryOuts + 2})
    wanted[static_cast<std::size_t>(c)] = true;
  EXPECT_EQ(host.last_wanted, wanted);
  for (std::size_t i = 0; i < n; ++i) {
    auto q = [&](int c) { return RecordingHost::query_value(c, in[0][i], in[1][i], in[2][i]); };
    const float s = q(kQuerySignedDistance);
    if (s > 2.5f) {
      ASSERT_EQ(out[0][i], std::fabs(s) + q(kQueryOuts)) << i;
      ASSERT_EQ(out[1][i], 0.0f) << i;
    } else {
      ASSERT_EQ(out[0][i], 0.0f) << i;
      ASSERT_EQ(out[1][i], q(kQueryNormal + 2) + q(kQueryOuts + 2) + q(kQueryPoint)) << i;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// uniforms

TEST(Batch, SpecialisedAndLoadedUniformsAgree) {
  const auto program = compile_ok(R"(
fablet U {
  uniform material a = "A";
  uniform material b = "B";
  uniform float scale = 0.37;
  uniform int count = 5;
  uniform bool flip = true;
  uniform vec3 offset = vec3(0.5, -1.25, 2.0);
  out float o;
  surface(vec3 P) -> vec3 {
    float s = 0.0;
    for (int i = 0; i < count; i += 1) {
      s += noise(P * scale + offset * float(i));
      if (flip && s > 0.2) s -= 0.1;
    }
    if (flip) { o = s * scale; } else { o = -s; }
    int k = 0;
    while (float(k) < P.x * scale && k < count * 4) { k += 1; }
    return P + offset * float(k);
  }
  volume(vec3 P) -> mixture {
    float w = flip ? fract(P.x * scale) : 0.25;
    return mix(mixture(a, 1.0), mixture(b, 1.0), w + float(count));
  }
}
)");
  UniformValues values = program->defaults();
  for (const char* setting : {"", "count=0", "flip=false", "scale=-2.5"}) {
    const std::string text = setting;
    if (!text.empty()) {
      const auto eq = text.find('=');
      program->set_uniform(values, text.substr(0, eq), text.substr(eq + 1));
    }
    for (Phase phase : {Phase::surface, Phase::volume}) {
      const auto special = program->kernel(phase, values);
      const auto loaded = program->kernel(phase, values, KernelOptions{false, true});
      const auto plain = program->kernel(phase, values, KernelOptions{false, false});
      const std::size_t n = 333;
      const Columns in = make_inputs(3, n, [](int c, std::size_t i) {
        return static_cast<float>(static_cast<int>((i * 37 + static_cast<std::size_t>(c) * 11) % 101) - 50) * 0.3f;
      });
      const Columns a = run(special, RecordingHost(), in, n);
      const Columns b = run(loaded, RecordingHost(), in, n);
      const Columns c = run(plain, RecordingHost(), in, n);
      for (std::size_t col = 0; col < a.size(); ++col)
        for (std::size_t i = 0; i < n; ++i) {
          ASSERT_TRUE(same_bits(a[col][i], b[col][i])) << setting << " col " << col << " lane " << i;
          ASSERT_TRUE(same_bits(a[col][i], c[col][i])) << setting << " col " << col << " lane " << i;
        }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// the bytecode

TEST(Bytecode, DumpOfMarble) {
  const auto program = compile_ok(R"(fablet Marble {
  uniform material vein = "VeroBlack";
  uniform material stone = "VeroWhite";
  uniform float scale = 0.2;
  uniform float bands = 4.0;
  volume(vec3 P) -> mixture {
    float n = fbm(P * scale, 3);
    float s = 0.5 + 0.5 * sin((P.x * scale + 2.0 * n) * bands);
    return mix(mixture(stone, 1.0), mixture(vein, 1.0), smoothstep(0.6, 0.9, s));
  }
}
)",
                                  "marble.fl");
  const auto kernel = program->kernel(Phase::volume, program->defaults());
  const std::string text = bytecode::dump(*kernel->code);
  EXPECT_NE(text.find("= const 0.200000003"), std::string::npos) << text;
  EXPECT_NE(text.find("= input #0"), std::string::npos) << text;
  EXPECT_NE(text.find("fbm3[fbm]"), std::string::npos) << text;
  EXPECT_NE(text.find("fsin"), std::string::npos) << text;
  EXPECT_NE(text.find("out 1 = f"), std::string::npos) << text;
  // P.x * scale is computed once, and no moves are needed without control flow
  std::size_t products = 0;
  for (std::size_t at = text.find("fmul f"); at != std::string::npos; at = text.find("fmul f", at + 1)) ++products;
  EXPECT_EQ(products, 3u + 1 + 1 + 1 + 2) << text;
  EXPECT_EQ(text.find("mov_"), std::string::npos) << text;
  // one instruction per line after the register listing
  EXPECT_NE(text.find("\n   0: "), std::string::npos) << text;
}

TEST(Bytecode, DumpShowsLoopsAndMasks) {
  const auto program = compile_ok(surface_fablet(1, R"(
    float s = 0.0;
    for (int i = 0; i < int(P.x); i += 1) {
      if (P.y > float(i)) s += noise(P * float(i));
    }
    o0 = s;)"),
                                  "loops.fl");
  const auto kernel = program->kernel(Phase::surface, program->defaults());
  const std::string text = bytecode::dump(*kernel->code);
  EXPECT_NE(text.find("loop_begin L0 (loops.fl:7:5)"), std::string::npos) << text;
  EXPECT_NE(text.find("loop_test"), std::string::npos) << text;
  EXPECT_NE(text.find("mov_mask_f"), std::string::npos) << text;
  EXPECT_NE(text.find("loop_end"), std::string::npos) << text;
  EXPECT_NE(text.find("if_begin"), std::string::npos) << text;
  EXPECT_NE(text.find("mask depth 2"), std::string::npos) << text;
}

}  // namespace
}  // namespace fabforge::openfl
