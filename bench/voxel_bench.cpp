// Benchmarks of the voxel pipeline's parts (issue 6), at printer resolution where it applies:
// dithering rows of a full tray's width, the slice writers, solid voxelization of a 20 mm sphere
// at 600 x 300 dpi and 27 um, and the per-material marching-cubes mesher. Run through
// scripts/run-benchmarks.sh (medians); never part of ctest.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "fabforge/core/run_context.hpp"
#include "fabforge/voxel/dither.hpp"
#include "fabforge/voxel/grid.hpp"
#include "fabforge/voxel/mesher.hpp"
#include "fabforge/voxel/nearest.hpp"
#include "fabforge/voxel/primitives.hpp"
#include "fabforge/voxel/slice_writers.hpp"
#include "fabforge/voxel/voxelize.hpp"

namespace {

using namespace fabforge;
using namespace fabforge::voxel;

constexpr int kTrayWidth = 11575;  // voxels across a 490 mm tray at 600 dpi

// Floyd-Steinberg over M materials: rows of random mixtures, voxels/s.
void BM_Dither(benchmark::State& state) {
  const int m = static_cast<int>(state.range(0));
  const int rows = 64;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<std::vector<float>> source(8, std::vector<float>(static_cast<std::size_t>(kTrayWidth) * m));
  for (auto& r : source)
    for (float& x : r) x = u(rng);
  std::vector<std::uint8_t> out(kTrayWidth);
  Ditherer d(kTrayWidth, rows, m);
  for (auto _ : state) {
    d.reset();
    for (int j = 0; j < rows; ++j) d.push_row(source[static_cast<std::size_t>(j) % source.size()].data(), out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kTrayWidth * rows);
}
BENCHMARK(BM_Dither)->Arg(2)->Arg(6)->Unit(benchmark::kMillisecond);

// Each sink writing two 2048 x 1024 slices of noise over two materials and void (the worst case
// for PNG compression), voxels/s.
void BM_SliceSink(benchmark::State& state) {
  Grid g;
  g.nx = 2048;
  g.ny = 1024;
  g.nz = 2;
  const std::vector<Material> materials = {{"VeroCyan", 1, {0, 255, 255, 255}}, {"VeroMagenta", 2, {255, 0, 255, 255}}};
  std::vector<Slice> slices(2);
  std::uint32_t lcg = 12345;
  for (int k = 0; k < 2; ++k) {
    slices[static_cast<std::size_t>(k)] = {k, g.nx, g.ny, std::vector<std::uint8_t>(g.slice_voxels())};
    for (std::uint8_t& v : slices[static_cast<std::size_t>(k)].material) {
      lcg = lcg * 1664525u + 1013904223u;
      v = static_cast<std::uint8_t>((lcg >> 24) % 3);
    }
  }
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "fabforge_voxel_bench";
  std::filesystem::create_directories(dir);
  for (auto _ : state) {
    std::unique_ptr<SliceSink> sink = state.range(0) == 0   ? make_png_stack_sink(dir / "stack")
                                      : state.range(0) == 1 ? make_grabcad_sink(dir / "job.zip")
                                                            : make_raw4_sink(dir / "job.ffvx");
    sink->begin(g, materials);
    for (const Slice& s : slices) sink->write(s);
    sink->finish();
  }
  std::filesystem::remove_all(dir);
  state.SetLabel(state.range(0) == 0 ? "png stack" : state.range(0) == 1 ? "grabcad zip" : "raw 4-bit");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 2 *
                          static_cast<std::int64_t>(g.slice_voxels()));
}
BENCHMARK(BM_SliceSink)->DenseRange(0, 2)->Unit(benchmark::kMillisecond);

Grid sphere_grid(double size_mm) {
  Grid g;  // 600 x 300 dpi, 27 um
  g.nx = static_cast<int>(std::ceil(size_mm / g.dx)) + 1;
  g.ny = static_cast<int>(std::ceil(size_mm / g.dy)) + 1;
  g.nz = static_cast<int>(std::ceil(size_mm / g.dz)) + 1;
  g.origin = {-size_mm / 2, -size_mm / 2, -size_mm / 2};
  return g;
}

// A 20 mm sphere (0.005 mm chord deviation) voxelized in 32-layer slabs carrying the winding
// number from slab to slab, as the pipeline streams; items = inside voxels + columns per slab.
void BM_VoxelizeSphere(benchmark::State& state) {
  const Mesh sphere = sphere_mesh(10.0);
  const Grid g = sphere_grid(20.0);
  RunContext ctx({.threads = static_cast<int>(state.range(0))});
  std::int64_t items = 0;
  ctx.run([&] {
    const MeshVoxelizer vox(sphere, g);
    for (auto _ : state) {
      std::vector<std::int32_t> below(g.slice_voxels(), 0);
      for (int k0 = 0; k0 < g.nz; k0 += 32) {
        const SlabRuns s = vox.voxelize(k0, std::min(g.nz, k0 + 32), SlabOptions{&below, true});
        below = s.winding_top;
        items += static_cast<std::int64_t>(s.inside_voxels() + g.slice_voxels());
      }
    }
  });
  state.SetItemsProcessed(items);
}
BENCHMARK(BM_VoxelizeSphere)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// Marching cubes over a 200^3 field holding a two-material sphere (shell and core): voxels/s.
void BM_MesherSphere(benchmark::State& state) {
  const int n = 200;
  Grid g;
  g.dx = g.dy = g.dz = 0.05;
  g.nx = g.ny = g.nz = n;
  std::vector<Slice> slices(static_cast<std::size_t>(n));
  for (int k = 0; k < n; ++k) {
    Slice& s = slices[static_cast<std::size_t>(k)];
    s = {k, n, n, std::vector<std::uint8_t>(g.slice_voxels())};
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < n; ++i) {
        const double x = i + 0.5 - n / 2.0, y = j + 0.5 - n / 2.0, z = k + 0.5 - n / 2.0;
        const double r2 = x * x + y * y + z * z;
        s.material[static_cast<std::size_t>(j) * n + i] = r2 <= 3600 ? 2 : (r2 <= 9025 ? 1 : 0);
      }
  }
  const std::vector<Material> materials = {{"shell", 1, {255, 255, 255, 255}}, {"core", 2, {0, 0, 0, 255}}};
  std::size_t triangles = 0;
  for (auto _ : state) {
    MaterialMesher mesher(g, materials);
    for (const Slice& s : slices) mesher.push(s);
    mesher.finish();
    triangles = mesher.mesh(0).triangles.size() + mesher.mesh(1).triangles.size();
  }
  state.counters["triangles"] = static_cast<double>(triangles);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * n * n * n);
}
BENCHMARK(BM_MesherSphere)->Unit(benchmark::kMillisecond);

// Nearest-surface queries (signed distance, point, normal, 2 attributes) on a 20 mm sphere of
// about 940,000 triangles, for points within 0.1 mm of the surface, in batches of 256 as the
// interpreter asks: queries/s on one thread.
void BM_NearestSphere(benchmark::State& state) {
  TessellationOptions opt;
  opt.max_deviation_mm = 0.00021;
  const Mesh mesh = sphere_mesh(20.0, opt);
  SurfaceMesh surface;
  surface.positions = mesh.vertices;
  for (const Vec3f& p : mesh.vertices) {
    const float len = std::sqrt(p.x * p.x + p.y * p.y + p.z * p.z);
    surface.normals.push_back({p.x / len, p.y / len, p.z / len});
  }
  surface.triangles = mesh.triangles;
  const SurfaceIndex index(std::move(surface));
  const std::size_t n = 65536;
  std::vector<float> x(n), y(n), z(n);
  std::mt19937 rng(21);
  std::normal_distribution<float> g(0, 1);
  std::uniform_real_distribution<float> r(19.9f, 20.1f);
  for (std::size_t i = 0; i < n; ++i) {
    const float a = g(rng), b = g(rng), c = g(rng), s = r(rng) / std::sqrt(a * a + b * b + c * c);
    x[i] = a * s;
    y[i] = b * s;
    z[i] = c * s;
  }
  std::vector<std::vector<float>> cols(7, std::vector<float>(n));
  RunContext ctx({.threads = 1});
  ctx.run([&] {
    for (auto _ : state) {
      for (std::size_t lo = 0; lo < n; lo += 256) {
        const float* p[3] = {x.data() + lo, y.data() + lo, z.data() + lo};
        float* c[7];
        for (int k = 0; k < 7; ++k) c[k] = cols[static_cast<std::size_t>(k)].data() + lo;
        index.query(std::min<std::size_t>(256, n - lo), p, c, 7);
      }
      benchmark::DoNotOptimize(cols[0].data());
    }
  });
  state.counters["triangles"] = static_cast<double>(index.triangle_count());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(n));
}
BENCHMARK(BM_NearestSphere)->Unit(benchmark::kMillisecond);

// Building one patch's nearest-point hierarchy (SurfacePart), as the pipeline does for every cached
// patch: a 4 mm sphere of about 24,000 triangles (the creature's patches average 23,000
// micropolygons). Triangles/s on one thread.
void BM_SurfacePartBuild(benchmark::State& state) {
  TessellationOptions opt;
  opt.max_deviation_mm = 0.0009;
  const Mesh mesh = sphere_mesh(4.0, opt);
  SurfaceMesh surface;
  surface.positions = mesh.vertices;
  for (const Vec3f& p : mesh.vertices) {
    const float len = std::sqrt(p.x * p.x + p.y * p.y + p.z * p.z);
    surface.normals.push_back({p.x / len, p.y / len, p.z / len});
  }
  surface.triangles = mesh.triangles;
  std::size_t bytes = 0;
  for (auto _ : state) {
    SurfacePart part(surface);
    bytes = part.bytes();
    benchmark::DoNotOptimize(&part);
  }
  state.counters["triangles"] = static_cast<double>(surface.triangles.size());
  state.counters["bytes_per_triangle"] = static_cast<double>(bytes) / static_cast<double>(surface.triangles.size());
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(surface.triangles.size()));
}
BENCHMARK(BM_SurfacePartBuild)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
