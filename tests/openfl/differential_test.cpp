// Differential tests: random well-typed fablets (program_gen) run by the batched interpreter and
// by the reference interpreter on random inputs must agree bit for bit (NaNs compare equal
// whatever their payload); kernels compiled without specialisation and optimisation must agree
// with the optimised ones; and the interval interpreter's bounds must contain every point result.

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "fabforge/openfl/exec.hpp"
#include "fabforge/openfl/program.hpp"
#include "openfl/program_gen.hpp"

namespace fabforge::openfl {
namespace {

/// Column storage in the interpreters' layout.
struct Columns {
  std::vector<std::vector<float>> data;
  std::vector<const float*> in;
  std::vector<float*> out;
  Columns(int count, std::size_t n) : data(static_cast<std::size_t>(count), std::vector<float>(n)) {
    for (auto& c : data) {
      in.push_back(c.data());
      out.push_back(c.data());
    }
  }
};

/// Inputs arranged in coherent 2x2 quads: lane (i & 1) steps along one random direction, lane
/// (i >> 1 & 1) along another, like neighbouring micropolygon vertices. Values stay in a box of
/// half-width `spread` around `centre`.
Columns quad_inputs(int count, std::size_t n, std::mt19937& rng, float centre, float spread) {
  Columns cols(count, n);
  std::uniform_real_distribution<float> base(centre - spread, centre + spread);
  std::uniform_real_distribution<float> step(-0.05f, 0.05f);
  for (std::size_t q = 0; q < n; q += 4) {
    for (auto& c : cols.data) {
      const float b = base(rng), dx = step(rng), dy = step(rng);
      for (std::size_t k = 0; k < 4 && q + k < n; ++k)
        c[q + k] = b + dx * static_cast<float>(k & 1) + dy * static_cast<float>((k >> 1) & 1);
    }
  }
  return cols;
}

bool same_bits(float a, float b) {
  if (std::isnan(a) && std::isnan(b)) return true;
  return std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b);
}

std::string numbered(const std::string& text) {
  std::istringstream in(text);
  std::ostringstream out;
  std::string line;
  for (int k = 1; std::getline(in, line); ++k) out << k << ": " << line << "\n";
  return out.str();
}

struct Compiled {
  std::string text;
  std::shared_ptr<const Program> program;
  UniformValues values;
};

Compiled compile_seed(std::uint64_t seed, const testgen::GenOptions& options = {}) {
  Compiled c;
  c.text = testgen::generate_program(seed, options);
  CompileResult result = compile("gen" + std::to_string(seed) + ".fl", c.text);
  EXPECT_TRUE(result.program) << "seed " << seed << ": the generator wrote a program that does not compile:\n"
                              << result.diagnostics.format_all() << numbered(c.text);
  c.program = result.program;
  if (c.program) c.values = c.program->defaults();
  return c;
}

/// Compares two column sets; returns the number of mismatching values and reports the first few.
int compare(const Columns& a, const Columns& b, std::size_t n, const std::string& what, const Compiled& c,
            const Columns& inputs) {
  int bad = 0;
  for (std::size_t col = 0; col < a.data.size(); ++col) {
    for (std::size_t i = 0; i < n; ++i) {
      if (same_bits(a.data[col][i], b.data[col][i])) continue;
      if (++bad <= 3) {
        std::ostringstream where;
        for (const auto& in : inputs.data) where << in[i] << " ";
        ADD_FAILURE() << what << ": output column " << col << " lane " << i << ": " << a.data[col][i] << " vs "
                      << b.data[col][i] << " (inputs " << where.str() << ")\n"
                      << numbered(c.text);
      }
    }
  }
  return bad;
}

constexpr float kSphereRadius = 1.0f;
constexpr int kProgramsPerBlock = 40;

class Differential : public ::testing::TestWithParam<int> {};

// Batched vs reference, and optimised vs unoptimised, over both phases of random programs.
TEST_P(Differential, BatchedAgreesWithReference) {
  const int block = GetParam();
  int programs = 0, values = 0;
  for (int k = 0; k < kProgramsPerBlock; ++k) {
    const auto seed = static_cast<std::uint64_t>(block * 1000 + k);
    const Compiled c = compile_seed(seed);
    if (!c.program) continue;
    const testgen::SphereHost host(testgen::make_test_textures(c.program->texture_count()), kSphereRadius);
    const ReferenceInterpreter reference(c.program, c.values);
    std::mt19937 rng(static_cast<std::uint32_t>(seed));
    // n straddles a batch and ends in a partial quad on odd seeds.
    const std::size_t n = (seed % 2 == 0) ? 64 : 262;
    for (Phase phase : {Phase::surface, Phase::volume}) {
      const auto kernel = c.program->kernel(phase, c.values);
      const auto plain = c.program->kernel(phase, c.values, KernelOptions{false, false});
      const Columns in = quad_inputs(c.program->input_columns(phase), n, rng, 0.0f, 1.6f);
      Columns batched(kernel->output_count, n), unoptimised(plain->output_count, n),
          oracle(c.program->output_columns(phase), n);
      ASSERT_EQ(kernel->output_count, c.program->output_columns(phase));
      BatchExecutor(kernel).run(host, n, in.in.data(), batched.out.data());
      BatchExecutor(plain).run(host, n, in.in.data(), unoptimised.out.data());
      reference.run(phase, host, n, in.in.data(), oracle.out.data());
      const std::string tag = "seed " + std::to_string(seed) + " " + std::string(phase_name(phase));
      EXPECT_EQ(compare(batched, oracle, n, tag + " batched vs reference", c, in), 0);
      EXPECT_EQ(compare(batched, unoptimised, n, tag + " optimised vs unoptimised", c, in), 0);
      values += static_cast<int>(n) * kernel->output_count;
    }
    ++programs;
  }
  EXPECT_EQ(programs, kProgramsPerBlock);
  RecordProperty("values_compared", values);
}

// Programs restricted to one feature family at a time, so a failure points at its family.
TEST(DifferentialFamilies, NoLoopsNoTexturesNoQueries) {
  testgen::GenOptions options;
  options.loops = false;
  options.textures = false;
  options.queries = false;
  options.max_expr_depth = 5;
  for (std::uint64_t seed = 50'000; seed < 50'040; ++seed) {
    const Compiled c = compile_seed(seed, options);
    if (!c.program) continue;
    const TextureHost host;
    const ReferenceInterpreter reference(c.program, c.values);
    std::mt19937 rng(static_cast<std::uint32_t>(seed));
    for (Phase phase : {Phase::surface, Phase::volume}) {
      const auto kernel = c.program->kernel(phase, c.values);
      const std::size_t n = 40;
      const Columns in = quad_inputs(c.program->input_columns(phase), n, rng, 0.0f, 100.0f);
      Columns batched(kernel->output_count, n), oracle(kernel->output_count, n);
      BatchExecutor(kernel).run(host, n, in.in.data(), batched.out.data());
      reference.run(phase, host, n, in.in.data(), oracle.out.data());
      EXPECT_EQ(compare(batched, oracle, n, "seed " + std::to_string(seed), c, in), 0);
    }
  }
}

// Overriding uniforms: specialised kernels for other uniform values agree with the reference
// interpreter given the same values.
TEST(DifferentialUniforms, OverriddenScalarUniforms) {
  for (std::uint64_t seed = 60'000; seed < 60'020; ++seed) {
    Compiled c = compile_seed(seed);
    if (!c.program) continue;
    std::mt19937 rng(static_cast<std::uint32_t>(seed));
    std::uniform_real_distribution<float> value(-3.0f, 3.0f);
    for (std::size_t u = 0; u < c.program->uniforms().size(); ++u) {
      const UniformInfo& info = c.program->uniforms()[u];
      if (info.type == Type::float_) c.program->set_uniform(c.values, info.name, std::to_string(value(rng)));
      if (info.type == Type::int_) c.program->set_uniform(c.values, info.name, std::to_string(static_cast<int>(value(rng))));
    }
    const testgen::SphereHost host(testgen::make_test_textures(c.program->texture_count()), kSphereRadius);
    const ReferenceInterpreter reference(c.program, c.values);
    for (Phase phase : {Phase::surface, Phase::volume}) {
      const auto kernel = c.program->kernel(phase, c.values);
      const auto loaded = c.program->kernel(phase, c.values, KernelOptions{false, true});
      const std::size_t n = 32;
      const Columns in = quad_inputs(c.program->input_columns(phase), n, rng, 0.0f, 1.6f);
      Columns batched(kernel->output_count, n), via_columns(kernel->output_count, n), oracle(kernel->output_count, n);
      BatchExecutor(kernel).run(host, n, in.in.data(), batched.out.data());
      BatchExecutor(loaded).run(host, n, in.in.data(), via_columns.out.data());
      reference.run(phase, host, n, in.in.data(), oracle.out.data());
      EXPECT_EQ(compare(batched, oracle, n, "seed " + std::to_string(seed) + " specialised", c, in), 0);
      EXPECT_EQ(compare(via_columns, oracle, n, "seed " + std::to_string(seed) + " uniform columns", c, in), 0);
    }
  }
}

// Programs that once disagreed, reduced from generated ones (found by long runs of the generator).
TEST(DifferentialRegressions, ReducedPrograms) {
  const char* programs[] = {
      // A texture sample at a constant uv is the same in every lane, but the host computes it for
      // the active lanes only: the branch on it must not read a lane that already returned.
      "fablet R1 {\n"
      "  uniform material m = \"A\";\n"
      "  uniform texture t = \"t.png\";\n"
      "  volume(vec3 P) -> mixture {\n"
      "    if (surface_distance() < 0.7) return mixture(m, 1.0);\n"
      "    if (0.5 <= sample(t, vec2(0.3, 0.3)).y) return mixture(m, 2.0);\n"
      "    return mixture(m, 3.0);\n"
      "  }\n"
      "}\n",
      // Compound assignment of an int to a mixture converts the int to float.
      "fablet R2 {\n"
      "  uniform material m = \"A\";\n"
      "  volume(vec3 P) -> mixture {\n"
      "    int i = int(P.x * 4.0);\n"
      "    mixture x = mixture(m, 2.0);\n"
      "    x *= i;\n"
      "    x /= 2;\n"
      "    return x;\n"
      "  }\n"
      "}\n",
  };
  for (const char* text : programs) {
    const CompileResult result = compile("r.fl", text);
    ASSERT_TRUE(result.program) << result.diagnostics.format_all();
    const UniformValues values = result.program->defaults();
    // Texture 0 of make_test_textures varies between lanes' uv, so both branches are taken.
    const testgen::SphereHost host(testgen::make_test_textures(result.program->texture_count()), kSphereRadius);
    const auto kernel = result.program->kernel(Phase::volume, values);
    std::mt19937 rng(1);
    const std::size_t n = 256;
    const Columns in = quad_inputs(3, n, rng, 0.0f, 1.6f);
    Columns batched(kernel->output_count, n), oracle(kernel->output_count, n);
    BatchExecutor(kernel).run(host, n, in.in.data(), batched.out.data());
    ReferenceInterpreter(result.program, values).run(Phase::volume, host, n, in.in.data(), oracle.out.data());
    const Compiled c{text, result.program, values};
    EXPECT_EQ(compare(batched, oracle, n, "regression", c, in), 0);
  }
}

class Containment : public ::testing::TestWithParam<int> {};

// Interval bounds over random boxes contain the batched results at random points in the box
// (arranged in quads, so texture lods vary too).
TEST_P(Containment, IntervalsContainPointResults) {
  const int block = GetParam();
  long checked = 0;
  for (int k = 0; k < 25; ++k) {
    const auto seed = static_cast<std::uint64_t>(100'000 + block * 1000 + k);
    const Compiled c = compile_seed(seed);
    if (!c.program) continue;
    const testgen::SphereHost host(testgen::make_test_textures(c.program->texture_count()), kSphereRadius);
    std::mt19937 rng(static_cast<std::uint32_t>(seed));
    for (Phase phase : {Phase::surface, Phase::volume}) {
      const auto kernel = c.program->kernel(phase, c.values);
      const int inputs = kernel->input_count;
      for (const float half : {0.01f, 0.2f, 1.5f}) {
        std::uniform_real_distribution<float> centre(-1.5f, 1.5f);
        std::vector<Interval> box(static_cast<std::size_t>(inputs));
        for (auto& iv : box) {
          const float m = centre(rng);
          iv = Interval{m - half, m + half};
        }
        const std::vector<Interval> bounds = evaluate_intervals(*kernel, host, box);
        ASSERT_EQ(bounds.size(), static_cast<std::size_t>(kernel->output_count));
        const std::size_t n = 64;
        Columns in(inputs, n), out(kernel->output_count, n);
        for (int col = 0; col < inputs; ++col) {
          const Interval& iv = box[static_cast<std::size_t>(col)];
          std::uniform_real_distribution<float> inside(iv.lo, iv.hi);
          for (std::size_t i = 0; i < n; ++i) in.data[static_cast<std::size_t>(col)][i] = inside(rng);
        }
        BatchExecutor(kernel).run(host, n, in.in.data(), out.out.data());
        for (std::size_t col = 0; col < out.data.size(); ++col) {
          for (std::size_t i = 0; i < n; ++i) {
            const float v = out.data[col][i];
            ++checked;
            if (!bounds[col].contains(v)) {
              ADD_FAILURE() << "seed " << seed << " " << phase_name(phase) << " output " << col << " = " << v
                            << " outside [" << bounds[col].lo << ", " << bounds[col].hi << "]\n"
                            << numbered(c.text);
              return;
            }
          }
        }
      }
    }
  }
  RecordProperty("values_checked", static_cast<int>(checked));
}

// 16 x 40 random programs against the reference, 8 x 25 for interval containment.
INSTANTIATE_TEST_SUITE_P(Seeds, Differential, ::testing::Range(0, 16));
INSTANTIATE_TEST_SUITE_P(Seeds, Containment, ::testing::Range(0, 8));

// The generator itself: the same seed gives the same program, different seeds differ, and the
// programs exercise the features the differential tests rely on.
TEST(ProgramGenerator, DeterministicAndVaried) {
  EXPECT_EQ(testgen::generate_program(7), testgen::generate_program(7));
  EXPECT_NE(testgen::generate_program(7), testgen::generate_program(8));
  std::string all;
  for (std::uint64_t seed = 0; seed < 100; ++seed) all += testgen::generate_program(seed);
  for (const char* feature : {"for (", "while (", "break;", "continue;", "return", "sample(", "sample_lod(",
                              "surface_distance()", "mixture(", "fbm(", "cellular(", "mat3", "? ", "+=", "const "}) {
    EXPECT_NE(all.find(feature), std::string::npos) << "no generated program uses " << feature;
  }
}

}  // namespace
}  // namespace fabforge::openfl
