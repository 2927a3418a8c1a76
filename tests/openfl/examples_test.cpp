// Every example of docs/openfl.md compiles and runs: the fablets in ```openfl blocks compile
// without diagnostics, the files under examples/openfl are exactly those blocks, and each example
// runs both phases on a sphere (textures from its folder) with the batched and the reference
// interpreter agreeing bit for bit and the interval bounds containing the results.

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <filesystem>
#include <numbers>
#include <set>
#include <string>
#include <vector>

#include "fabforge/openfl/binding.hpp"
#include "fabforge/openfl/exec.hpp"
#include "fabforge/openfl/program.hpp"
#include "openfl/program_gen.hpp"
#include "support/test_support.hpp"

namespace fabforge::openfl {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> doc_blocks() {
  const std::string doc = test::read_bytes(test::source_dir() / "docs" / "openfl.md");
  std::vector<std::string> blocks;
  const std::string open = "```openfl\n";
  for (std::size_t at = doc.find(open); at != std::string::npos; at = doc.find(open, at)) {
    at += open.size();
    const std::size_t end = doc.find("\n```", at);
    blocks.push_back(doc.substr(at, end - at + 1));
    at = end;
  }
  return blocks;
}

std::vector<fs::path> example_files() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(test::source_dir() / "examples" / "openfl"))
    if (entry.path().extension() == ".fl") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

TEST(DocExamples, EveryBlockCompilesCleanly) {
  const std::vector<std::string> blocks = doc_blocks();
  ASSERT_GE(blocks.size(), 5u);
  for (std::size_t k = 0; k < blocks.size(); ++k) {
    const CompileResult result = compile("block" + std::to_string(k) + ".fl", blocks[k]);
    EXPECT_TRUE(result.program) << result.diagnostics.format_all() << blocks[k];
    EXPECT_TRUE(result.diagnostics.all().empty()) << result.diagnostics.format_all();
  }
}

TEST(DocExamples, ExampleFilesAreTheDocumentedFablets) {
  const std::vector<std::string> blocks = doc_blocks();
  const std::set<std::string> documented(blocks.begin(), blocks.end());
  const auto files = example_files();
  ASSERT_GE(files.size(), 5u);
  std::set<std::string> seen;
  for (const fs::path& file : files) {
    const std::string text = test::read_bytes(file);
    EXPECT_TRUE(documented.count(text)) << file << " differs from every ```openfl block of docs/openfl.md";
    seen.insert(text);
  }
  for (const std::string& block : blocks) {
    if (block.find("fablet ") != std::string::npos) {
      EXPECT_TRUE(seen.count(block)) << "no example file holds\n" << block;
    }
  }
}

constexpr float kRadius = 10.0f;  // mm: the examples' depths (tenths of a mm to a few mm) fit inside

/// Surface-phase inputs for grid vertices on the sphere |P| = kRadius, in quads: P, N and uv get
/// their geometric meaning, any other attribute a smooth function of the position.
std::vector<std::vector<float>> sphere_surface_inputs(const Program& program, std::size_t quads) {
  const auto params = program.phase_inputs(Phase::surface);
  std::vector<std::vector<float>> cols(static_cast<std::size_t>(program.input_columns(Phase::surface)));
  for (std::size_t q = 0; q < quads; ++q) {
    const float theta0 = 0.1f + 2.9f * static_cast<float>(q) / static_cast<float>(quads);
    const float phi0 = 6.0f * static_cast<float>(q % 17) / 17.0f;
    for (int k = 0; k < 4; ++k) {
      const float theta = theta0 + 0.01f * static_cast<float>(k >> 1);
      const float phi = phi0 + 0.01f * static_cast<float>(k & 1);
      const float d[3] = {std::sin(theta) * std::cos(phi), std::sin(theta) * std::sin(phi), std::cos(theta)};
      const float uv[2] = {phi / (2 * std::numbers::pi_v<float>), 1 - theta / std::numbers::pi_v<float>};
      std::size_t col = 0;
      for (const auto& [name, type] : params) {
        const int width = component_count(type);
        for (int c = 0; c < width; ++c, ++col) {
          float v = 0.25f * static_cast<float>(c + 1) * d[c % 3];
          if (name == "P") v = kRadius * d[c];
          if (name == "N") v = d[c];
          if (name == "uv") v = uv[c];
          cols[col].push_back(v);
        }
      }
    }
  }
  return cols;
}

/// Volume-phase inputs: a grid through and around the sphere, and points just under its surface.
std::vector<std::vector<float>> grid_volume_inputs(int per_axis) {
  std::vector<std::vector<float>> cols(3);
  for (int i = 0; i < per_axis; ++i)
    for (int j = 0; j < per_axis; ++j)
      for (int k = 0; k < per_axis; ++k) {
        const auto at = [&](int t) { return -12.0f + 24.0f * (static_cast<float>(t) + 0.5f) / static_cast<float>(per_axis); };
        cols[0].push_back(at(i));
        cols[1].push_back(at(j));
        cols[2].push_back(at(k));
      }
  // and a shell just under the surface, where the examples deposit their textures
  for (int k = 0; k < 512; ++k) {
    const float z = 1.0f - (2.0f * static_cast<float>(k) + 1.0f) / 512.0f;
    const float r = std::sqrt(1.0f - z * z), phi = 2.39996323f * static_cast<float>(k);
    const float depth = kRadius - 0.05f - 0.4f * static_cast<float>(k % 5) / 4.0f;
    cols[0].push_back(depth * r * std::cos(phi));
    cols[1].push_back(depth * r * std::sin(phi));
    cols[2].push_back(depth * z);
  }
  return cols;
}

bool same_bits(float a, float b) {
  return (std::isnan(a) && std::isnan(b)) || std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b);
}

class Example : public ::testing::TestWithParam<std::string> {};

TEST_P(Example, RunsAndInterpretersAgree) {
  const fs::path file = test::source_dir() / "examples" / "openfl" / GetParam();
  const CompileResult result = compile_file(file.string());
  ASSERT_TRUE(result.program) << result.diagnostics.format_all();
  const Program& program = *result.program;
  const UniformValues values = program.defaults();
  const testgen::SphereHost host(load_textures(program, values, file.parent_path()), kRadius);
  const ReferenceInterpreter reference(result.program, values);

  for (Phase phase : {Phase::surface, Phase::volume}) {
    const auto kernel = program.kernel(phase, values);
    const auto inputs = phase == Phase::surface ? sphere_surface_inputs(program, 64) : grid_volume_inputs(12);
    const std::size_t n = inputs[0].size();
    std::vector<const float*> in;
    for (const auto& c : inputs) in.push_back(c.data());
    std::vector<std::vector<float>> a(static_cast<std::size_t>(kernel->output_count), std::vector<float>(n)), b = a;
    std::vector<float*> out_a, out_b;
    for (auto& c : a) out_a.push_back(c.data());
    for (auto& c : b) out_b.push_back(c.data());
    BatchExecutor(kernel).run(host, n, in.data(), out_a.data());
    reference.run(phase, host, n, in.data(), out_b.data());

    int mismatches = 0;
    for (std::size_t col = 0; col < a.size(); ++col)
      for (std::size_t i = 0; i < n; ++i) {
        if (!same_bits(a[col][i], b[col][i]) && ++mismatches <= 3)
          ADD_FAILURE() << phase_name(phase) << " column " << col << " lane " << i << ": " << a[col][i] << " vs "
                        << b[col][i];
        EXPECT_TRUE(std::isfinite(a[col][i])) << phase_name(phase) << " column " << col << " lane " << i;
      }

    if (phase == Phase::volume) {
      // Every example gives a material to most of the points inside the sphere and uses each of
      // its materials somewhere.
      std::vector<double> total(a.size(), 0.0);
      int inside = 0, filled = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const float r = std::hypot(inputs[0][i], inputs[1][i], inputs[2][i]);
        double sum = 0;
        for (std::size_t col = 0; col < a.size(); ++col) {
          EXPECT_GE(a[col][i], 0.0f);
          sum += a[col][i];
          if (r < kRadius) total[col] += a[col][i];
        }
        if (r < kRadius) {
          ++inside;
          filled += sum > 0;
        }
      }
      EXPECT_GT(filled, inside / 2) << "most of the inside should be material";
      for (std::size_t col = 0; col < total.size(); ++col)
        EXPECT_GT(total[col], 0.0) << "material " << col << " never used";
    }

    // Interval bounds over a box around the first few points contain their results.
    std::vector<Interval> box(inputs.size());
    for (std::size_t c = 0; c < inputs.size(); ++c) {
      const auto [lo, hi] = std::minmax_element(inputs[c].begin(), inputs[c].begin() + 16);
      box[c] = Interval{*lo, *hi};
    }
    const std::vector<Interval> bounds = evaluate_intervals(*kernel, host, box);
    for (std::size_t col = 0; col < a.size(); ++col)
      for (std::size_t i = 0; i < 16; ++i)
        EXPECT_TRUE(bounds[col].contains(a[col][i]))
            << phase_name(phase) << " column " << col << ": " << a[col][i] << " outside [" << bounds[col].lo << ", "
            << bounds[col].hi << "]";
  }
}

INSTANTIATE_TEST_SUITE_P(Files, Example,
                         ::testing::Values("postcard.fl", "marble.fl", "zebra.fl", "holes.fl", "rods.fl"),
                         [](const auto& param) { return param.param.substr(0, param.param.find('.')); });

}  // namespace
}  // namespace fabforge::openfl
