// Benchmarks of the core library: the operations every pipeline leans on. Run through
// scripts/run-benchmarks.sh (medians of repeated runs); never part of ctest.

#include <benchmark/benchmark.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "fabforge/core/color.hpp"
#include "fabforge/core/heightfield.hpp"
#include "fabforge/core/image.hpp"
#include "fabforge/core/mesh.hpp"
#include "fabforge/core/stl.hpp"
#include "fabforge/core/threemf.hpp"

namespace {

using namespace fabforge;

// A relief like the relief pipeline produces: 750 x 500 pixels (150 mm at 0.2 mm), heights in
// 0.04 mm layers over a 0.24 mm base, 30 distinct levels in smooth blobs.
Heightfield relief_field(int w = 750, int h = 500) {
  Heightfield f;
  f.width = w;
  f.height = h;
  f.pixel_size_mm = 0.2;
  f.heights_mm.resize(std::size_t(w) * std::size_t(h));
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const double v = 0.5 + 0.25 * std::sin(x * 0.021) * std::cos(y * 0.017) + 0.25 * std::sin((x + 2 * y) * 0.009);
      const int layer = std::clamp(static_cast<int>(v * 30), 0, 29);
      f.heights_mm[std::size_t(y) * std::size_t(w) + std::size_t(x)] = static_cast<float>(0.24 + 0.04 * (layer + 1));
    }
  }
  return f;
}

const Mesh& relief_mesh() {
  static const Mesh mesh = heightfield_to_mesh(relief_field(), {});
  return mesh;
}

std::filesystem::path bench_dir() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / "fabforge-bench";
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

void BM_HeightfieldStepped(benchmark::State& state) {
  const Heightfield f = relief_field();
  std::size_t tris = 0;
  for (auto _ : state) {
    Mesh m = heightfield_to_mesh(f, {});
    tris = m.triangle_count();
    benchmark::DoNotOptimize(m);
  }
  state.counters["triangles"] = static_cast<double>(tris);
  state.counters["tri_per_px"] = static_cast<double>(tris) / (f.width * f.height);
  state.SetItemsProcessed(state.iterations() * f.width * f.height);
}
BENCHMARK(BM_HeightfieldStepped)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_HeightfieldSmooth(benchmark::State& state) {
  const Heightfield f = relief_field();
  std::size_t tris = 0;
  for (auto _ : state) {
    Mesh m = heightfield_to_mesh(f, {HeightfieldStyle::smooth});
    tris = m.triangle_count();
    benchmark::DoNotOptimize(m);
  }
  state.counters["triangles"] = static_cast<double>(tris);
  state.SetItemsProcessed(state.iterations() * f.width * f.height);
}
BENCHMARK(BM_HeightfieldSmooth)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_AnalyzeMesh(benchmark::State& state) {
  const Mesh& m = relief_mesh();
  for (auto _ : state) benchmark::DoNotOptimize(analyze_mesh(m));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(m.triangle_count()));
}
BENCHMARK(BM_AnalyzeMesh)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_StlWriteBinary(benchmark::State& state) {
  const Mesh& m = relief_mesh();
  for (auto _ : state) write_stl(bench_dir() / "relief.stl", m);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(m.triangle_count()));
}
BENCHMARK(BM_StlWriteBinary)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_StlReadBinary(benchmark::State& state) {
  const Mesh& m = relief_mesh();
  write_stl(bench_dir() / "relief_in.stl", m);
  for (auto _ : state) benchmark::DoNotOptimize(read_stl(bench_dir() / "relief_in.stl"));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(m.triangle_count()));
}
BENCHMARK(BM_StlReadBinary)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ThreeMFWrite(benchmark::State& state) {
  ThreeMFModel model;
  model.objects.push_back({"relief", relief_mesh(), color::Rgb8{200, 200, 200}});
  for (auto _ : state) write_3mf(bench_dir() / "relief.3mf", model);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(relief_mesh().triangle_count()));
}
BENCHMARK(BM_ThreeMFWrite)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ThreeMFRead(benchmark::State& state) {
  ThreeMFModel model;
  model.objects.push_back({"relief", relief_mesh(), color::Rgb8{200, 200, 200}});
  write_3mf(bench_dir() / "relief_in.3mf", model);
  for (auto _ : state) benchmark::DoNotOptimize(read_3mf(bench_dir() / "relief_in.3mf"));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(relief_mesh().triangle_count()));
}
BENCHMARK(BM_ThreeMFRead)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Ciede2000(benchmark::State& state) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<double> L(0, 100), ab(-100, 100);
  std::vector<color::Lab> labs(4096);
  for (auto& c : labs) c = {L(rng), ab(rng), ab(rng)};
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(color::delta_e2000(labs[i & 4095], labs[(i * 7 + 1) & 4095]));
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Ciede2000);

void BM_SrgbToLabImage(benchmark::State& state) {
  Image8 img(750, 500, 3);
  std::mt19937 rng(2);
  for (auto& p : img.pixels) p = static_cast<std::uint8_t>(rng());
  std::vector<color::Lab> out(img.pixel_count());
  for (auto _ : state) {
    for (std::size_t i = 0; i < img.pixel_count(); ++i) {
      out[i] = color::srgb_to_lab(
          color::to_unit(color::Rgb8{img.pixels[3 * i], img.pixels[3 * i + 1], img.pixels[3 * i + 2]}));
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(img.pixel_count()));
}
BENCHMARK(BM_SrgbToLabImage)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ResizeArea(benchmark::State& state) {
  ImageF img(3000, 2000, 3, Encoding::linear);
  std::mt19937 rng(3);
  for (auto& p : img.pixels) p = static_cast<float>(rng() % 1000) / 1000.0f;
  for (auto _ : state) benchmark::DoNotOptimize(resize_area(img, 750, 500));
  state.SetItemsProcessed(state.iterations() * 3000 * 2000);
}
BENCHMARK(BM_ResizeArea)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_PngRoundTrip(benchmark::State& state) {
  Image8 img(750, 500, 4);
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x)
      for (int c = 0; c < 4; ++c) img.at(x, y, c) = static_cast<std::uint8_t>((x * (c + 1) + y) & 255);
  for (auto _ : state) {
    save_png(bench_dir() / "img.png", img);
    benchmark::DoNotOptimize(load_image8(bench_dir() / "img.png"));
  }
}
BENCHMARK(BM_PngRoundTrip)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
