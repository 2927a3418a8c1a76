#include "fabforge/voxel/voxelize.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <numbers>
#include <ostream>

#include "fabforge/core/error.hpp"
#include "fabforge/core/run_context.hpp"

#include "support/test_support.hpp"

namespace fabforge::voxel {

// Readable failures (found by argument-dependent lookup, so outside the anonymous namespace).
[[maybe_unused]] static void PrintTo(const LayerRun& r, std::ostream* os) {
  *os << "[" << r.begin << ", " << r.end << ")";
}

namespace {

constexpr double kPi = std::numbers::pi;

// ---- meshes made here (the built-in primitives are another part of the pipeline) ----

// UV sphere, outward-oriented: `slices` around z, `stacks` from pole to pole.
Mesh make_uv_sphere(Vec3d c, double r, int slices, int stacks) {
  Mesh m;
  m.vertices.push_back({static_cast<float>(c.x), static_cast<float>(c.y), static_cast<float>(c.z - r)});
  for (int s = 1; s < stacks; ++s) {
    const double phi = -kPi / 2 + kPi * s / stacks;
    for (int a = 0; a < slices; ++a) {
      const double th = 2 * kPi * a / slices;
      m.vertices.push_back({static_cast<float>(c.x + r * std::cos(phi) * std::cos(th)),
                            static_cast<float>(c.y + r * std::cos(phi) * std::sin(th)),
                            static_cast<float>(c.z + r * std::sin(phi))});
    }
  }
  m.vertices.push_back({static_cast<float>(c.x), static_cast<float>(c.y), static_cast<float>(c.z + r)});
  const auto ring = [&](int s, int a) { return static_cast<std::uint32_t>(1 + (s - 1) * slices + (a % slices)); };
  const auto top = static_cast<std::uint32_t>(m.vertices.size() - 1);
  for (int a = 0; a < slices; ++a) {
    m.triangles.push_back({0, ring(1, a + 1), ring(1, a)});
    m.triangles.push_back({top, ring(stacks - 1, a), ring(stacks - 1, a + 1)});
    for (int s = 1; s + 1 < stacks; ++s) {
      m.triangles.push_back({ring(s, a), ring(s, a + 1), ring(s + 1, a + 1)});
      m.triangles.push_back({ring(s, a), ring(s + 1, a + 1), ring(s + 1, a)});
    }
  }
  return m;
}

// Torus around the z axis through c: major radius R, minor radius r, outward-oriented.
Mesh make_torus(Vec3d c, double big_r, double r, int around, int tube) {
  Mesh m;
  for (int a = 0; a < around; ++a) {
    const double u = 2 * kPi * a / around;
    for (int b = 0; b < tube; ++b) {
      const double v = 2 * kPi * b / tube;
      const double rho = big_r + r * std::cos(v);
      m.vertices.push_back({static_cast<float>(c.x + rho * std::cos(u)), static_cast<float>(c.y + rho * std::sin(u)),
                            static_cast<float>(c.z + r * std::sin(v))});
    }
  }
  const auto id = [&](int a, int b) { return static_cast<std::uint32_t>((a % around) * tube + (b % tube)); };
  for (int a = 0; a < around; ++a) {
    for (int b = 0; b < tube; ++b) {
      m.triangles.push_back({id(a, b), id(a + 1, b), id(a + 1, b + 1)});
      m.triangles.push_back({id(a, b), id(a + 1, b + 1), id(a, b + 1)});
    }
  }
  return m;
}

// Rotation by `degrees` about `axis` through `centre` (Rodrigues).
Mesh rotated(Mesh m, Vec3d axis, double degrees, Vec3d centre) {
  const Vec3d k = axis * (1.0 / length(axis));
  const double t = degrees * kPi / 180, cs = std::cos(t), sn = std::sin(t);
  for (Vec3f& v : m.vertices) {
    const Vec3d p = to_double(v) - centre;
    const Vec3d q = p * cs + cross(k, p) * sn + k * (dot(k, p) * (1 - cs));
    const Vec3d r = q + centre;
    v = {static_cast<float>(r.x), static_cast<float>(r.y), static_cast<float>(r.z)};
  }
  return m;
}

Grid printer_grid() { return Grid{}; }

// A grid with the given pitch covering the mesh with a margin, its origin deliberately unaligned.
Grid grid_around(const Mesh& m, double dx, double dy, double dz) {
  const BoundingBox b = mesh_bounds(m);
  Grid g;
  g.dx = dx;
  g.dy = dy;
  g.dz = dz;
  g.origin = {b.min.x - 1.37 * dx, b.min.y - 1.61 * dy, b.min.z - 1.23 * dz};
  g.nx = static_cast<int>(std::ceil(b.size().x / dx)) + 4;
  g.ny = static_cast<int>(std::ceil(b.size().y / dy)) + 4;
  g.nz = static_cast<int>(std::ceil(b.size().z / dz)) + 4;
  return g;
}

// Pitches that are powers of two, origin 0: centres and float vertices are exact, so faces can
// be put exactly through voxel centres.
Grid dyadic_grid(int nx, int ny, int nz) {
  Grid g;
  g.dx = 1.0 / 16;
  g.dy = 1.0 / 8;
  g.dz = 1.0 / 32;
  g.nx = nx;
  g.ny = ny;
  g.nz = nz;
  return g;
}

SlabRuns whole(const Mesh& m, const Grid& g) { return voxelize_slab(m, g, 0, g.nz); }

double voxel_volume(const Mesh& m, const Grid& g) {
  return static_cast<double>(whole(m, g).inside_voxels()) * g.voxel_volume();
}

// Centres c_n = origin + (n + 0.5) pitch, n in [0, count), with lo <= c_n < hi.
int centres_in(double origin, double pitch, int count, double lo, double hi) {
  int n = 0;
  for (int i = 0; i < count; ++i) {
    const double c = origin + (i + 0.5) * pitch;
    if (lo <= c && c < hi) ++n;
  }
  return n;
}

std::uint64_t box_count(const Grid& g, Vec3d lo, Vec3d hi) {
  return static_cast<std::uint64_t>(centres_in(g.origin.x, g.dx, g.nx, lo.x, hi.x)) *
         static_cast<std::uint64_t>(centres_in(g.origin.y, g.dy, g.ny, lo.y, hi.y)) *
         static_cast<std::uint64_t>(centres_in(g.origin.z, g.dz, g.nz, lo.z, hi.z));
}

Vec3f f(Vec3d v) { return {static_cast<float>(v.x), static_cast<float>(v.y), static_cast<float>(v.z)}; }

bool runs_well_formed(const SlabRuns& s) {
  if (s.offsets.size() != static_cast<std::size_t>(s.nx) * static_cast<std::size_t>(s.ny) + 1) return false;
  if (s.offsets.back() != s.runs.size()) return false;
  for (std::size_t c = 0; c + 1 < s.offsets.size(); ++c) {
    std::int32_t prev_end = s.k0 - 1;
    for (std::uint32_t r = s.offsets[c]; r < s.offsets[c + 1]; ++r) {
      const LayerRun& run = s.runs[r];
      if (run.begin < s.k0 || run.end > s.k1 || run.begin >= run.end || run.begin <= prev_end) return false;
      prev_end = run.end;
    }
  }
  return true;
}

// ---- analytic volumes ----

struct Resolution {
  double dx, dy, dz;
};

TEST(Voxelize, SphereVolumeWithinOnePercent) {
  const double r = 5;
  const Mesh sphere = make_uv_sphere({1.3, -2.1, 7.4}, r, 256, 128);
  const double analytic = 4.0 / 3.0 * kPi * r * r * r;
  const Grid p = printer_grid();
  for (const Resolution res : {Resolution{p.dx, p.dy, p.dz}, Resolution{0.1, 0.1, 0.1}, Resolution{0.25, 0.2, 0.15}}) {
    for (const double angle : {0.0, 30.0}) {
      const Mesh m = rotated(sphere, {1, 2, 3}, angle, {0, 0, 0});
      const Grid g = grid_around(m, res.dx, res.dy, res.dz);
      const SlabRuns s = whole(m, g);
      EXPECT_TRUE(runs_well_formed(s));
      const double v = static_cast<double>(s.inside_voxels()) * g.voxel_volume();
      EXPECT_NEAR(v / analytic, 1.0, 0.01) << "pitch " << res.dx << " angle " << angle;
      EXPECT_NEAR(v / mesh_volume(m), 1.0, 0.005) << "pitch " << res.dx << " angle " << angle;
    }
  }
}

TEST(Voxelize, TorusVolumeWithinOnePercent) {
  const double big_r = 6, r = 2;
  const Mesh torus = make_torus({-3.2, 4.4, 2.9}, big_r, r, 256, 96);
  const double analytic = 2 * kPi * kPi * big_r * r * r;
  const Grid p = printer_grid();
  for (const Resolution res : {Resolution{p.dx, p.dy, p.dz}, Resolution{0.1, 0.12, 0.08}}) {
    for (const double angle : {0.0, 30.0}) {
      const Mesh m = rotated(torus, {1, -1, 2}, angle, {0, 0, 0});
      const Grid g = grid_around(m, res.dx, res.dy, res.dz);
      const double v = voxel_volume(m, g);
      EXPECT_NEAR(v / analytic, 1.0, 0.01) << "pitch " << res.dx << " angle " << angle;
    }
  }
}

TEST(Voxelize, RotatedBoxVolumeWithinOnePercent) {
  const Mesh box = test::make_box({-2, -1.5f, -1}, {2, 1.5f, 1});
  const double analytic = 4.0 * 3.0 * 2.0;
  const Grid p = printer_grid();
  for (const Resolution res : {Resolution{p.dx, p.dy, p.dz}, Resolution{0.05, 0.05, 0.05}}) {
    for (const double angle : {30.0, 47.0}) {
      const Mesh m = rotated(box, {1, 2, 3}, angle, {0.1, 0.2, 0.3});
      const Grid g = grid_around(m, res.dx, res.dy, res.dz);
      EXPECT_NEAR(voxel_volume(m, g) / analytic, 1.0, 0.01) << "pitch " << res.dx << " angle " << angle;
    }
  }
}

// ---- exact counts and the half-open rules ----

TEST(Voxelize, AxisAlignedBoxBetweenCentresIsExact) {
  const Grid g = [] {
    Grid p = printer_grid();
    p.origin = {-0.6, 0.35, 1.0};
    p.nx = 200, p.ny = 90, p.nz = 300;
    return p;
  }();
  // Faces 0.3 or 0.7 of a pitch past a voxel boundary: far from every centre.
  const Vec3d lo{g.origin.x + 17.3 * g.dx, g.origin.y + 5.7 * g.dy, g.origin.z + 11.3 * g.dz};
  const Vec3d hi{g.origin.x + 160.7 * g.dx, g.origin.y + 81.3 * g.dy, g.origin.z + 255.7 * g.dz};
  const SlabRuns s = whole(test::make_box(f(lo), f(hi)), g);
  EXPECT_EQ(s.inside_voxels(), 144ull * 75 * 245);
  EXPECT_EQ(s.inside_voxels(), box_count(g, lo, hi));
  ASSERT_EQ(s.column(17, 5).size(), 0u);
  ASSERT_EQ(s.column(18, 6).size(), 1u);
  EXPECT_EQ(s.column(18, 6)[0], (LayerRun{11, 256}));
}

TEST(Voxelize, BoxFacesThroughCentresFollowTheHalfOpenRule) {
  const Grid g = dyadic_grid(40, 30, 60);
  // Every face exactly on a plane of voxel centres: [x0, x1) x [y0, y1) x [z0, z1) is inside.
  const Vec3d lo{(3 + 0.5) / 16, (4 + 0.5) / 8, (5 + 0.5) / 32};
  const Vec3d hi{(30 + 0.5) / 16, (20 + 0.5) / 8, (50 + 0.5) / 32};
  const SlabRuns s = whole(test::make_box(f(lo), f(hi)), g);
  EXPECT_EQ(s.inside_voxels(), 27ull * 16 * 45);
  EXPECT_EQ(s.inside_voxels(), box_count(g, lo, hi));
  ASSERT_EQ(s.column(3, 4).size(), 1u);
  EXPECT_EQ(s.column(3, 4)[0], (LayerRun{5, 50}));
  EXPECT_TRUE(s.column(30, 4).empty());
  EXPECT_TRUE(s.column(3, 20).empty());
  EXPECT_TRUE(s.column(2, 10).empty());
}

// Two boxes sharing a face, along each axis, with the face between or exactly through centres
// and the second box's face smaller than the first's (its edges then lie inside the first face).
TEST(Voxelize, BoxesSharingAFaceClaimEachVoxelOnce) {
  const Grid g = dyadic_grid(48, 40, 64);
  const double pitch[3] = {g.dx, g.dy, g.dz};
  for (int axis = 0; axis < 3; ++axis) {
    for (const double offset : {0.5, 0.3}) {  // 0.5: through centres
      SCOPED_TRACE("axis " + std::to_string(axis) + " offset " + std::to_string(offset));
      double alo[3], ahi[3], blo[3], bhi[3];
      for (int a = 0; a < 3; ++a) {
        alo[a] = (4 + 0.5) * pitch[a];
        ahi[a] = (20 + 0.5) * pitch[a];
        blo[a] = (8 + offset) * pitch[a];  // smaller cross-section, edges on or between centres
        bhi[a] = (16 + offset) * pitch[a];
      }
      ahi[axis] = (14 + offset) * pitch[axis];
      blo[axis] = ahi[axis];
      bhi[axis] = (30 + 0.5) * pitch[axis];
      const Mesh a =
          test::make_box({static_cast<float>(alo[0]), static_cast<float>(alo[1]), static_cast<float>(alo[2])},
                         {static_cast<float>(ahi[0]), static_cast<float>(ahi[1]), static_cast<float>(ahi[2])});
      const Mesh b =
          test::make_box({static_cast<float>(blo[0]), static_cast<float>(blo[1]), static_cast<float>(blo[2])},
                         {static_cast<float>(bhi[0]), static_cast<float>(bhi[1]), static_cast<float>(bhi[2])});
      const std::vector<std::uint8_t> ma = runs_to_mask(whole(a, g)), mb = runs_to_mask(whole(b, g));
      std::size_t na = 0, nb = 0, both = 0, either = 0;
      for (std::size_t v = 0; v < ma.size(); ++v) {
        na += ma[v];
        nb += mb[v];
        both += ma[v] & mb[v];
        either += ma[v] | mb[v];
      }
      EXPECT_EQ(both, 0u);
      EXPECT_EQ(either, na + nb);
      EXPECT_EQ(na, box_count(g, {alo[0], alo[1], alo[2]}, {ahi[0], ahi[1], ahi[2]}));
      EXPECT_EQ(nb, box_count(g, {blo[0], blo[1], blo[2]}, {bhi[0], bhi[1], bhi[2]}));
      // Both boxes in one mesh: the shared face's crossings cancel where it is horizontal.
      Mesh ab = a;
      append_mesh(ab, b);
      EXPECT_EQ(runs_to_mask(whole(ab, g)), [&] {
        std::vector<std::uint8_t> u(ma.size());
        for (std::size_t v = 0; v < u.size(); ++v) u[v] = ma[v] | mb[v];
        return u;
      }());
    }
  }
}

// An octahedron centred on a column centre: its apexes are shared by four triangles each, its
// upper and lower edges project onto the row and column through the centre, and its equator edges
// pass through column centres. Every column must get exactly the analytic run.
TEST(Voxelize, SharedEdgesAndVerticesOnColumnCentresCountOnce) {
  const Grid g = dyadic_grid(32, 16, 48);
  const double cx = (10 + 0.5) / 16, cy = (6 + 0.5) / 8, cz = 20.25 / 32, r = 0.5;
  Mesh m;
  m.vertices = {f({cx + r, cy, cz}), f({cx, cy + r, cz}), f({cx - r, cy, cz}),
                f({cx, cy - r, cz}), f({cx, cy, cz + r}), f({cx, cy, cz - r})};
  for (std::uint32_t q = 0; q < 4; ++q) {
    m.triangles.push_back({q, (q + 1) % 4, 4});
    m.triangles.push_back({(q + 1) % 4, q, 5});
  }
  ASSERT_GT(mesh_volume(m), 0);
  for (const bool flip : {false, true}) {
    Mesh mm = m;
    if (flip) flip_orientation(mm);
    const SlabRuns s = whole(mm, g);
    ASSERT_TRUE(runs_well_formed(s));
    ASSERT_EQ(s.column(10, 6).size(), 1u);
    EXPECT_EQ(s.column(10, 6)[0], (LayerRun{4, 36}));
    std::uint64_t expected_total = 0;
    for (int j = 0; j < g.ny; ++j) {
      for (int i = 0; i < g.nx; ++i) {
        const double h = r - std::fabs(g.centre(i, j, 0).x - cx) - std::fabs(g.centre(i, j, 0).y - cy);
        std::vector<LayerRun> expected;
        if (h > 0) {
          int k0 = -1, k1 = -1;
          for (int k = 0; k < g.nz; ++k) {
            const double z = g.centre(i, j, k).z;
            if (cz - h <= z && z < cz + h) {
              if (k0 < 0) k0 = k;
              k1 = k + 1;
            }
          }
          if (k0 >= 0) expected.push_back({k0, k1});
        }
        const auto got = s.column(i, j);
        EXPECT_EQ(std::vector<LayerRun>(got.begin(), got.end()), expected) << "column " << i << ", " << j;
        expected_total += expected.empty() ? 0 : static_cast<std::uint64_t>(expected[0].end - expected[0].begin);
      }
    }
    EXPECT_EQ(s.inside_voxels(), expected_total);
  }
}

// A square lid split into a fan of eight triangles around a vertex on a column centre, and into
// two triangles the other way: the same solid.
TEST(Voxelize, FanAroundAColumnCentreMatchesTwoTriangles) {
  const Grid g = dyadic_grid(24, 12, 24);
  const float x0 = 2.5f / 16, x1 = 20.5f / 16, y0 = 1.5f / 8, y1 = 9.5f / 8, z0 = 3.25f / 32, z1 = 17.75f / 32;
  const float xc = 11.5f / 16, yc = 5.5f / 8;
  Mesh fan = test::make_box({x0, y0, z0}, {x1, y1, z1});
  // Replace the top (triangles 2 and 3) by a fan around (xc, yc, z1), sloping up to it.
  fan.triangles.erase(fan.triangles.begin() + 2, fan.triangles.begin() + 4);
  fan.vertices.push_back({xc, yc, z1 + 0.1f});
  fan.vertices.push_back({xc, y0, z1});
  fan.vertices.push_back({x1, yc, z1});
  fan.vertices.push_back({xc, y1, z1});
  fan.vertices.push_back({x0, yc, z1});
  // Top corners 4 (x0,y0) 5 (x1,y0) 6 (x1,y1) 7 (x0,y1); midpoints 9 (y0) 10 (x1) 11 (y1) 12 (x0).
  const std::uint32_t ring[8] = {4, 9, 5, 10, 6, 11, 7, 12};
  for (int q = 0; q < 8; ++q) fan.triangles.push_back({ring[q], ring[(q + 1) % 8], 8});
  // The side faces must share the midpoints: split the four sides' top edges.
  fan.triangles.erase(fan.triangles.begin() + 2, fan.triangles.begin() + 10);  // old sides
  const std::uint32_t bottom[4] = {0, 1, 2, 3};
  for (int q = 0; q < 4; ++q) {
    const std::uint32_t b0 = bottom[q], b1 = bottom[(q + 1) % 4];
    const std::uint32_t t0 = ring[2 * q], tm = ring[2 * q + 1], t1 = ring[(2 * q + 2) % 8];
    fan.triangles.push_back({b0, b1, tm});
    fan.triangles.push_back({b0, tm, t0});
    fan.triangles.push_back({b1, t1, tm});
  }
  const MeshReport report = analyze_mesh(fan);
  ASSERT_TRUE(report.closed);
  ASSERT_GT(report.volume, 0);
  const SlabRuns s = whole(fan, g);
  ASSERT_TRUE(runs_well_formed(s));
  // Centre column: from z0 = 3.25 / 32 up to the apex at z1 + 0.1 = 20.95 / 32 (layer 20 at 20.5).
  ASSERT_EQ(s.column(11, 5).size(), 1u);
  EXPECT_EQ(s.column(11, 5)[0], (LayerRun{3, 21}));
  // Every column of the lid's footprint holds one run; none outside.
  for (int j = 0; j < g.ny; ++j) {
    for (int i = 0; i < g.nx; ++i) {
      const bool in = i >= 2 && i < 20 && j >= 1 && j < 9;
      EXPECT_EQ(s.column(i, j).size(), in ? 1u : 0u) << i << ", " << j;
      if (in && !s.column(i, j).empty()) {
        EXPECT_EQ(s.column(i, j)[0].begin, 3);
        EXPECT_GE(s.column(i, j)[0].end, 18);
      }
    }
  }
}

// ---- slabs, orientation, odd meshes ----

TEST(Voxelize, SlabsUnionToTheWholeGrid) {
  const Mesh m = rotated(make_torus({0, 0, 0}, 3, 1.2, 96, 48), {1, 2, 3}, 30, {0, 0, 0});
  const Grid g = grid_around(m, 0.07, 0.09, 0.05);
  const MeshVoxelizer vox(m, g);
  const SlabRuns all = vox.voxelize(0, g.nz);
  const std::vector<std::uint8_t> all_mask = runs_to_mask(all);
  const std::size_t layer_bytes = g.slice_voxels();
  std::vector<std::uint8_t> stacked, carried, cropped;
  std::vector<std::int32_t> below(g.slice_voxels(), 0), below_cropped(g.slice_voxels(), 0);
  ASSERT_GT(g.nz, 77);
  const int cuts[] = {0, 1, 8, 9, 40, 41, 77, g.nz};
  for (std::size_t c = 0; c + 1 < std::size(cuts); ++c) {
    const int k0 = cuts[c], k1 = cuts[c + 1];
    const SlabRuns s = vox.voxelize(k0, k1);
    ASSERT_TRUE(runs_well_formed(s));
    const auto mask = runs_to_mask(s);
    ASSERT_EQ(mask.size(), layer_bytes * static_cast<std::size_t>(k1 - k0));
    stacked.insert(stacked.end(), mask.begin(), mask.end());
    // Carry mode on the whole mesh ...
    SlabOptions opt{&below, true};
    const SlabRuns sc = vox.voxelize(k0, k1, opt);
    EXPECT_EQ(sc.runs, s.runs);
    EXPECT_EQ(sc.offsets, s.offsets);
    below = sc.winding_top;
    // ... and on only the triangles that reach the slab, as the pipeline streams them.
    const double zlo = g.origin.z + (k0 - 0.5) * g.dz, zhi = g.origin.z + (k1 - 0.5) * g.dz;
    Mesh part;
    part.vertices = m.vertices;
    for (const Triangle& t : m.triangles) {
      double lo = 1e30, hi = -1e30;
      for (std::uint32_t v : t) {
        lo = std::min(lo, static_cast<double>(m.vertices[v].z));
        hi = std::max(hi, static_cast<double>(m.vertices[v].z));
      }
      if (hi >= zlo && lo <= zhi) part.triangles.push_back(t);
    }
    SlabOptions opt_cropped{&below_cropped, true};
    const SlabRuns sp = MeshVoxelizer(part, g).voxelize(k0, k1, opt_cropped);
    below_cropped = sp.winding_top;
    const auto pmask = runs_to_mask(sp);
    cropped.insert(cropped.end(), pmask.begin(), pmask.end());
  }
  EXPECT_EQ(stacked, all_mask);
  EXPECT_EQ(cropped, all_mask);
  EXPECT_EQ(below, std::vector<std::int32_t>(g.slice_voxels(), 0));  // closed mesh: back to 0 at the top
  EXPECT_GT(all.inside_voxels(), 0u);
}

TEST(Voxelize, InvertedOrientationGivesTheSameSolid) {
  const Mesh m = rotated(make_uv_sphere({0, 0, 0}, 2, 64, 32), {3, 1, 1}, 30, {0, 0, 0});
  Mesh inv = m;
  flip_orientation(inv);
  const Grid g = grid_around(m, 0.05, 0.06, 0.04);
  EXPECT_EQ(whole(m, g), whole(inv, g));
  SlabOptions opt;
  opt.keep_winding_top = true;
  const SlabRuns half = MeshVoxelizer(inv, g).voxelize(0, g.nz / 2, opt);
  // Inside-out, the winding inside is -1: the solid is the same by the nonzero rule.
  EXPECT_EQ(half.winding_top[static_cast<std::size_t>(g.ny / 2) * static_cast<std::size_t>(g.nx) +
                             static_cast<std::size_t>(g.nx / 2)],
            -1);
}

TEST(Voxelize, OverlappingPartsOfOneMeshGiveTheirUnion) {
  const Grid g = dyadic_grid(40, 20, 40);
  const Mesh a = test::make_box({0.3f, 0.3f, 0.2f}, {1.6f, 1.7f, 0.9f});
  const Mesh b = test::make_box({1.0f, 0.9f, 0.5f}, {2.2f, 2.3f, 1.1f});
  Mesh ab = a;
  append_mesh(ab, b);
  const auto ma = runs_to_mask(whole(a, g)), mb = runs_to_mask(whole(b, g)), mab = runs_to_mask(whole(ab, g));
  std::size_t both = 0;
  for (std::size_t v = 0; v < ma.size(); ++v) {
    ASSERT_EQ(mab[v], ma[v] | mb[v]);
    both += ma[v] & mb[v];
  }
  EXPECT_GT(both, 0u);  // they do overlap, where the winding is 2
}

TEST(Voxelize, OpenMeshRunsAreClampedAtTheSlabTop) {
  const Grid g = dyadic_grid(16, 8, 32);
  Mesh open = test::make_box({0.3f, 0.3f, 0.2f}, {0.7f, 0.7f, 0.6f});
  open.triangles.erase(open.triangles.begin() + 2, open.triangles.begin() + 4);  // no lid
  ASSERT_FALSE(analyze_mesh(open).closed);
  const SlabRuns s = whole(open, g);
  // Column (6, 3): centre (0.40625, 0.4375), inside the footprint; the bottom is at 0.2 = 6.4 layers.
  ASSERT_EQ(s.column(6, 3).size(), 1u);
  EXPECT_EQ(s.column(6, 3)[0], (LayerRun{6, 32}));
  const SlabRuns top = MeshVoxelizer(open, g).voxelize(20, 25);
  ASSERT_EQ(top.column(6, 3).size(), 1u);
  EXPECT_EQ(top.column(6, 3)[0], (LayerRun{20, 25}));
}

TEST(Voxelize, EmptyMeshAndEmptySlabGiveNothing) {
  const Grid g = dyadic_grid(8, 4, 6);
  const SlabRuns s = whole(Mesh{}, g);
  EXPECT_EQ(s.runs.size(), 0u);
  EXPECT_EQ(s.offsets, std::vector<std::uint32_t>(33, 0));
  EXPECT_EQ(runs_to_mask(s), std::vector<std::uint8_t>(8 * 4 * 6, 0));
  const SlabRuns e = voxelize_slab(test::make_box({0, 0, 0}, {1, 1, 1}), g, 3, 3);
  EXPECT_EQ(e.inside_voxels(), 0u);
  // A mesh entirely outside the grid, and one of triangles parallel to z only.
  EXPECT_EQ(whole(test::make_box({5, 5, 0}, {6, 6, 1}), g).inside_voxels(), 0u);
  Mesh wall;
  wall.vertices = {{0.1f, 0.1f, 0}, {0.4f, 0.3f, 0}, {0.1f, 0.1f, 1}};
  wall.triangles = {{0, 1, 2}};
  EXPECT_EQ(MeshVoxelizer(wall, g).indexed_triangles(), 0u);
}

// Only triangles whose x and y ranges both hold a column centre are kept (micropolygons smaller
// than a column mostly hold none), and dropping the others changes no voxel.
TEST(Voxelize, TrianglesBetweenColumnCentresAreNotIndexed) {
  const Grid g = dyadic_grid(8, 4, 6);  // centres at x = (i + 0.5) / 16, y = (j + 0.5) / 8
  auto one = [](Vec3f a, Vec3f b, Vec3f c) {
    Mesh m;
    m.vertices = {a, b, c};
    m.triangles = {{0, 1, 2}};
    return m;
  };
  // x in [0.035, 0.09]: between the centres 0.03125 and 0.09375, though its y range holds 0.0625.
  EXPECT_EQ(MeshVoxelizer(one({0.035f, 0.05f, 0}, {0.09f, 0.05f, 0}, {0.06f, 0.08f, 0}), g).indexed_triangles(), 0u);
  // y in [0.07, 0.12]: between the rows 0.0625 and 0.1875.
  EXPECT_EQ(MeshVoxelizer(one({0.02f, 0.07f, 0}, {0.05f, 0.07f, 0}, {0.03f, 0.12f, 0}), g).indexed_triangles(), 0u);
  // Both ranges hold a centre (0.03125, 0.0625): kept.
  EXPECT_EQ(MeshVoxelizer(one({0.02f, 0.05f, 0}, {0.05f, 0.05f, 0}, {0.03f, 0.08f, 0}), g).indexed_triangles(), 1u);
  // A centre exactly on the range's boundary counts.
  EXPECT_EQ(MeshVoxelizer(one({0.03125f, 0.05f, 0}, {0.05f, 0.05f, 0}, {0.04f, 0.08f, 0}), g).indexed_triangles(), 1u);
}

TEST(Voxelize, ExtremeCoordinatesAreHandledOrRefused) {
  const Grid g = dyadic_grid(8, 8, 8);
  // A huge triangle fan (a far-away lid) still voxelizes within the grid.
  const Mesh big = test::make_box({-1e6f, -1e6f, 0.1f}, {1e6f, 1e6f, 0.2f});
  const SlabRuns s = whole(big, g);
  EXPECT_EQ(s.inside_voxels(), 8u * 8u * 3u);  // layers 3, 4, 5 (centres 0.109 .. 0.172)
  Mesh far = test::make_box({0, 0, 0}, {1, 1, 1});
  far.vertices[0].x = 1e30f;
  try {
    MeshVoxelizer vox(far, g);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::input);
    EXPECT_TRUE(test::contains(e.what(), "vertex 0"));
  }
}

TEST(Voxelize, BadInputGivesClearErrors) {
  const Mesh box = test::make_box({0, 0, 0}, {1, 1, 1});
  Grid g = dyadic_grid(8, 8, 8);
  const MeshVoxelizer vox(box, g);
  EXPECT_THROW(vox.voxelize(0, 9), Error);
  EXPECT_THROW(vox.voxelize(-1, 2), Error);
  EXPECT_THROW(vox.voxelize(5, 4), Error);
  std::vector<std::int32_t> wrong(3, 0);
  SlabOptions opt;
  opt.winding_below = &wrong;
  EXPECT_THROW(vox.voxelize(0, 2, opt), Error);
  Mesh nan = box;
  nan.vertices[3].y = std::nanf("");
  EXPECT_THROW(MeshVoxelizer(nan, g), Error);
  Mesh bad_index = box;
  bad_index.triangles[0][1] = 99;
  EXPECT_THROW(MeshVoxelizer(bad_index, g), Error);
  g.dz = 0;
  try {
    MeshVoxelizer v(box, g);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_TRUE(test::contains(e.what(), "pitch"));
  }
}

TEST(Voxelize, SameResultOnAnyThreadCount) {
  const Mesh m = rotated(make_torus({0, 0, 0}, 4, 1.5, 128, 64), {1, 1, 0}, 30, {0, 0, 0});
  const Grid g = grid_around(m, 0.05, 0.1, 0.04);
  std::vector<SlabRuns> results;
  for (const int threads : {1, 2, 3}) {
    RunContext ctx({.threads = threads});
    results.push_back(ctx.run([&] {
      SlabOptions opt;
      opt.keep_winding_top = true;
      return MeshVoxelizer(m, g).voxelize(5, g.nz - 7, opt);
    }));
  }
  EXPECT_EQ(results[0], results[1]);
  EXPECT_EQ(results[0], results[2]);
  EXPECT_GT(results[0].inside_voxels(), 0u);
}

}  // namespace
}  // namespace fabforge::voxel
