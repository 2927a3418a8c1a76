// Benchmarks of the OpenFL interpreters on the example fablets (examples/openfl): voxels (or
// surface vertices) per second on one thread, batched SoA interpreter against the reference
// tree-walking interpreter. Run through scripts/run-benchmarks.sh (medians); never part of ctest.
//
// The target: the marble volume phase (3-octave fbm of Perlin noise, a sine band, a mix
// of two materials) at >= 15 million voxels/s on one core, >= 10x the reference.

#include <benchmark/benchmark.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "fabforge/core/image.hpp"
#include "fabforge/openfl/binding.hpp"
#include "fabforge/openfl/exec.hpp"
#include "fabforge/openfl/program.hpp"

#ifndef FABFORGE_SOURCE_DIR
#error "FABFORGE_SOURCE_DIR must be defined"
#endif

namespace {

using namespace fabforge;
using namespace fabforge::openfl;

const std::filesystem::path kExamples = std::filesystem::path(FABFORGE_SOURCE_DIR) / "examples" / "openfl";

/// Textures from the example folder and a sphere of radius 10 mm at the origin as the surface:
/// signed distance, nearest point, normal, and outs filled from the nearest point (u, v from its
/// longitude and latitude, then zeros).
class SphereHost : public TextureHost {
 public:
  using TextureHost::TextureHost;
  void surface_query(std::size_t n, const float* const xyz[3], float* const* columns, int count) const override {
    for (std::size_t i = 0; i < n; ++i) {
      const float x = xyz[0][i], y = xyz[1][i], z = xyz[2][i];
      const float r = std::sqrt(x * x + y * y + z * z);
      const float inv = r > 0 ? 1.0f / r : 0.0f;
      const float nx = r > 0 ? x * inv : 0.0f, ny = r > 0 ? y * inv : 0.0f, nz = r > 0 ? z * inv : 1.0f;
      const float row[9] = {r - kRadius, nx * kRadius, ny * kRadius, nz * kRadius, nx, ny, nz,
                            std::atan2(ny, nx) / 6.2831853f + 0.5f, nz * 0.5f + 0.5f};
      for (int c = 0; c < count; ++c) {
        if (columns[c] != nullptr) columns[c][i] = c < 9 ? row[c] : 0.0f;  // null: not read
      }
    }
  }
  static constexpr float kRadius = 10.0f;
};

struct Fixture {
  std::shared_ptr<const Program> program;
  UniformValues values;
  std::unique_ptr<SphereHost> host;
};

Fixture load(const std::string& name) {
  CompileResult r = compile_file((kExamples / (name + ".fl")).string());
  if (!r.program) throw std::runtime_error(r.diagnostics.format_all());
  Fixture f;
  f.program = r.program;
  f.values = f.program->defaults();
  std::vector<Texture> textures = load_textures(*f.program, f.values, kExamples);
  f.host = std::make_unique<SphereHost>(std::move(textures));
  return f;
}

/// Input columns for n items: voxel centres of a 600 x 300 dpi, 27 um slab through the sphere
/// (volume phase), or 2x2 quads of sphere vertices with normals and uv (surface phase).
std::vector<std::vector<float>> make_inputs(const Program& program, Phase phase, std::size_t n) {
  const auto params = program.phase_inputs(phase);
  std::vector<std::vector<float>> cols(static_cast<std::size_t>(program.input_columns(phase)), std::vector<float>(n));
  const std::size_t width = 512;
  for (std::size_t i = 0; i < n; ++i) {
    float p[3], nrm[3], uv[2];
    if (phase == Phase::volume) {
      p[0] = -10.0f + static_cast<float>(i % width) * 0.0423f;
      p[1] = -5.0f + static_cast<float>(i / width) * 0.0847f;
      p[2] = 0.5f;
      nrm[0] = nrm[1] = 0.0f;
      nrm[2] = 1.0f;
      uv[0] = uv[1] = 0.0f;
    } else {
      const std::size_t quad = i / 4, corner = i % 4;
      const float u = (static_cast<float>(quad % 256) + static_cast<float>(corner & 1)) / 256.0f;
      const float v = (static_cast<float>(quad / 256) + static_cast<float>(corner >> 1)) / 256.0f;
      const float lon = u * 6.2831853f, lat = (v - 0.5f) * 3.1415926f;
      nrm[0] = std::cos(lat) * std::cos(lon);
      nrm[1] = std::cos(lat) * std::sin(lon);
      nrm[2] = std::sin(lat);
      for (int k = 0; k < 3; ++k) p[k] = nrm[k] * SphereHost::kRadius;
      uv[0] = u;
      uv[1] = v;
    }
    std::size_t c = 0;
    for (const auto& [name, type] : params) {
      const int count = component_count(type);
      const float* src = name == "P" ? p : name == "N" ? nrm : name == "uv" ? uv : nullptr;
      for (int k = 0; k < count; ++k) cols[c++][i] = src ? src[k] : 0.0f;
    }
  }
  return cols;
}

void run_interpreter(benchmark::State& state, const std::string& name, Phase phase, bool reference) {
  const Fixture f = load(name);
  const std::size_t n = reference ? 4096 : 65536;
  std::vector<std::vector<float>> in = make_inputs(*f.program, phase, n);
  std::vector<std::vector<float>> out(static_cast<std::size_t>(f.program->output_columns(phase)), std::vector<float>(n));
  std::vector<const float*> in_cols;
  std::vector<float*> out_cols;
  for (auto& c : in) in_cols.push_back(c.data());
  for (auto& c : out) out_cols.push_back(c.data());
  if (reference) {
    const ReferenceInterpreter interp(f.program, f.values);
    for (auto _ : state) {
      interp.run(phase, *f.host, n, in_cols.data(), out_cols.data());
      benchmark::DoNotOptimize(out_cols[0][0]);
    }
  } else {
    BatchExecutor exec(f.program->kernel(phase, f.values));
    for (auto _ : state) {
      exec.run(*f.host, n, in_cols.data(), out_cols.data());
      benchmark::DoNotOptimize(out_cols[0][0]);
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(n));
}

/// The interval interpreter over a 1 mm box (a surface phase: the box around one base triangle
/// and its normals/uv, as the voxel pipeline bounds displacement): evaluations per second.
void run_intervals(benchmark::State& state, const std::string& name, Phase phase) {
  const Fixture f = load(name);
  const auto kernel = f.program->kernel(phase, f.values);
  std::vector<Interval> box;
  for (const auto& [param, type] : f.program->phase_inputs(phase)) {
    for (int k = 0; k < component_count(type); ++k) {
      if (param == "P") box.push_back({2.0f + static_cast<float>(k), 3.0f + static_cast<float>(k)});
      else if (param == "N") box.push_back({k == 2 ? 0.9f : -0.3f, k == 2 ? 1.0f : 0.3f});
      else box.push_back({0.25f, 0.3f});
    }
  }
  for (auto _ : state) benchmark::DoNotOptimize(evaluate_intervals(*kernel, *f.host, box));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void register_all() {
  struct Case {
    const char* fablet;
    Phase phase;
  };
  const Case cases[] = {{"marble", Phase::volume},  {"rods", Phase::volume},     {"holes", Phase::volume},
                        {"zebra", Phase::volume},   {"zebra", Phase::surface},   {"postcard", Phase::volume},
                        {"postcard", Phase::surface}};
  for (const Case& c : cases) {
    const std::string label = std::string("BM_Interval/") + c.fablet + "_" + std::string(phase_name(c.phase));
    benchmark::RegisterBenchmark(label.c_str(), [c](benchmark::State& s) { run_intervals(s, c.fablet, c.phase); })
        ->Unit(benchmark::kMicrosecond);
  }
  for (bool reference : {false, true})
    for (const Case& c : cases) {
      const std::string label = std::string(reference ? "BM_Reference/" : "BM_Batched/") + c.fablet + "_" +
                                std::string(phase_name(c.phase));
      benchmark::RegisterBenchmark(label.c_str(), [c, reference](benchmark::State& s) {
        run_interpreter(s, c.fablet, c.phase, reference);
      })->Unit(benchmark::kMillisecond);
    }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
