// Built-in primitive solids: box, sphere, cylinder, torus (see primitives.hpp for the rules).

#include "fabforge/voxel/primitives.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>
#include <vector>

#include "fabforge/core/error.hpp"

namespace fabforge::voxel {
namespace {

constexpr double kPi = std::numbers::pi;
constexpr int kMaxSegments = 65536;

void require_size(double value, const char* what) {
  if (!std::isfinite(value) || value <= 0) {
    throw usage_error(std::string(what) + " must be a positive number of mm, got " + std::to_string(value));
  }
}

void require_options(const TessellationOptions& options) {
  if (!std::isfinite(options.max_deviation_mm) || options.max_deviation_mm <= 0) {
    throw usage_error("tessellation: max_deviation_mm must be positive, got " +
                      std::to_string(options.max_deviation_mm));
  }
}

// Shrinks segment counts (all by the same factor) until count(a, b) <= cap. Deterministic.
template <typename Count>
void fit_cap(int& a, int& b, int min_a, int min_b, std::size_t cap, Count count, const char* what) {
  if (count(min_a, min_b) > cap) {
    throw usage_error(std::string(what) + ": max_triangles " + std::to_string(cap) + " is below the minimum of " +
                      std::to_string(count(min_a, min_b)));
  }
  while (count(a, b) > cap) {
    const double f = std::sqrt(static_cast<double>(cap) / static_cast<double>(count(a, b)));
    a = std::max(min_a, std::min(a - 1, static_cast<int>(std::floor(a * f))));
    b = std::max(min_b, std::min(b - 1, static_cast<int>(std::floor(b * f))));
  }
}

// Builds float vertices from double positions.
Mesh to_mesh(const std::vector<Vec3d>& points, std::vector<Triangle> triangles) {
  Mesh mesh;
  mesh.vertices.reserve(points.size());
  for (const Vec3d& p : points) {
    mesh.vertices.push_back({static_cast<float>(p.x), static_cast<float>(p.y), static_cast<float>(p.z)});
  }
  mesh.triangles = std::move(triangles);
  return mesh;
}

// Signed volume of double-precision geometry (the float mesh would add rounding to the fit).
double volume_of(const std::vector<Vec3d>& points, const std::vector<Triangle>& triangles) {
  double six_v = 0;
  for (const Triangle& t : triangles) six_v += dot(points[t[0]], cross(points[t[1]], points[t[2]]));
  return six_v / 6;
}

std::uint32_t u32(std::size_t i) { return static_cast<std::uint32_t>(i); }

// Appends the two triangles of quad a-b-c-d (counter-clockwise seen from outside).
void quad(std::vector<Triangle>& triangles, std::uint32_t a, std::uint32_t b, std::uint32_t c, std::uint32_t d) {
  triangles.push_back({a, b, c});
  triangles.push_back({a, c, d});
}

}  // namespace

int segments_for_deviation(double radius_mm, double max_deviation_mm) {
  require_size(radius_mm, "radius");
  if (!std::isfinite(max_deviation_mm) || max_deviation_mm <= 0) {
    throw usage_error("max deviation must be a positive number of mm, got " + std::to_string(max_deviation_mm));
  }
  if (max_deviation_mm >= radius_mm) return 3;
  // Sagitta of a chord spanning angle t: r (1 - cos(t / 2)) <= d  <=>  t <= 2 acos(1 - d / r), and
  // acos(1 - x) = 2 asin(sqrt(x / 2)) keeps precision when d / r is tiny.
  const double max_angle = 4 * std::asin(std::sqrt(max_deviation_mm / radius_mm / 2));
  const double n = std::ceil(2 * kPi / max_angle - 1e-9);
  return static_cast<int>(std::clamp(n, 3.0, static_cast<double>(kMaxSegments)));
}

double box_volume(Vec3d size_mm) { return size_mm.x * size_mm.y * size_mm.z; }
double sphere_volume(double radius_mm) { return 4.0 / 3.0 * kPi * radius_mm * radius_mm * radius_mm; }
double cylinder_volume(double radius_mm, double height_mm) { return kPi * radius_mm * radius_mm * height_mm; }
double torus_volume(double major_radius_mm, double minor_radius_mm) {
  return 2 * kPi * kPi * major_radius_mm * minor_radius_mm * minor_radius_mm;
}

Mesh box_mesh(Vec3d size_mm) {
  require_size(size_mm.x, "box size x");
  require_size(size_mm.y, "box size y");
  require_size(size_mm.z, "box size z");
  const Vec3d h = size_mm * 0.5;
  // Vertex v = bit 0: +x, bit 1: +y, bit 2: +z.
  std::vector<Vec3d> points;
  for (int v = 0; v < 8; ++v) points.push_back({(v & 1) ? h.x : -h.x, (v & 2) ? h.y : -h.y, (v & 4) ? h.z : -h.z});
  std::vector<Triangle> triangles;
  quad(triangles, 0, 2, 3, 1);  // -z
  quad(triangles, 4, 5, 7, 6);  // +z
  quad(triangles, 0, 1, 5, 4);  // -y
  quad(triangles, 2, 6, 7, 3);  // +y
  quad(triangles, 0, 4, 6, 2);  // -x
  quad(triangles, 1, 3, 7, 5);  // +x
  return to_mesh(points, std::move(triangles));
}

Mesh sphere_mesh(double radius_mm, const TessellationOptions& options) {
  require_size(radius_mm, "sphere radius");
  require_options(options);
  // Half the tolerance along each direction: a facet's deviation is about the sum of the two.
  int n_lon = segments_for_deviation(radius_mm, options.max_deviation_mm / 2);
  int n_lat = std::max(2, (n_lon + 1) / 2);
  const auto count = [](int lon, int lat) {
    return 2 * static_cast<std::size_t>(lon) * static_cast<std::size_t>(lat - 1);
  };
  fit_cap(n_lon, n_lat, 3, 2, options.max_triangles, count, "sphere");

  std::vector<Vec3d> points;
  points.push_back({0, 0, 1});
  for (int i = 1; i < n_lat; ++i) {
    const double phi = kPi * i / n_lat;
    for (int j = 0; j < n_lon; ++j) {
      const double theta = 2 * kPi * j / n_lon;
      points.push_back({std::sin(phi) * std::cos(theta), std::sin(phi) * std::sin(theta), std::cos(phi)});
    }
  }
  points.push_back({0, 0, -1});
  const std::size_t south = points.size() - 1;
  const auto ring = [&](int i, int j) { return u32(1 + static_cast<std::size_t>(i - 1) * n_lon + (j % n_lon)); };

  std::vector<Triangle> triangles;
  triangles.reserve(count(n_lon, n_lat));
  for (int j = 0; j < n_lon; ++j) triangles.push_back({0, ring(1, j), ring(1, j + 1)});
  for (int i = 1; i + 1 < n_lat; ++i) {
    for (int j = 0; j < n_lon; ++j) quad(triangles, ring(i, j), ring(i + 1, j), ring(i + 1, j + 1), ring(i, j + 1));
  }
  for (int j = 0; j < n_lon; ++j) triangles.push_back({u32(south), ring(n_lat - 1, j + 1), ring(n_lat - 1, j)});

  double scale = radius_mm;
  if (options.match_volume) scale *= std::cbrt(sphere_volume(1.0) / volume_of(points, triangles));
  for (Vec3d& p : points) p = p * scale;
  return to_mesh(points, std::move(triangles));
}

Mesh cylinder_mesh(double radius_mm, double height_mm, const TessellationOptions& options) {
  require_size(radius_mm, "cylinder radius");
  require_size(height_mm, "cylinder height");
  require_options(options);
  int n = segments_for_deviation(radius_mm, options.max_deviation_mm);
  int unused = 1;
  const auto count = [](int segments, int) { return 4 * static_cast<std::size_t>(segments); };
  fit_cap(n, unused, 3, 1, options.max_triangles, count, "cylinder");

  // Regular n-gon of circumradius k r; k^2 = 2 pi / (n sin(2 pi / n)) gives it the circle's area.
  const double k = options.match_volume ? std::sqrt(2 * kPi / (n * std::sin(2 * kPi / n))) : 1.0;
  const double r = radius_mm * k, h = height_mm / 2;
  std::vector<Vec3d> points;
  for (int j = 0; j < n; ++j) {
    const double theta = 2 * kPi * j / n;
    points.push_back({r * std::cos(theta), r * std::sin(theta), -h});
  }
  for (int j = 0; j < n; ++j) points.push_back({points[u32(j)].x, points[u32(j)].y, h});
  points.push_back({0, 0, -h});
  points.push_back({0, 0, h});
  const std::uint32_t bottom_centre = u32(2 * static_cast<std::size_t>(n)), top_centre = bottom_centre + 1;
  const auto b = [&](int j) { return u32(static_cast<std::size_t>(j % n)); };
  const auto t = [&](int j) { return u32(static_cast<std::size_t>(n + j % n)); };

  std::vector<Triangle> triangles;
  triangles.reserve(count(n, 1));
  for (int j = 0; j < n; ++j) {
    triangles.push_back({bottom_centre, b(j + 1), b(j)});
    triangles.push_back({top_centre, t(j), t(j + 1)});
    quad(triangles, b(j), b(j + 1), t(j + 1), t(j));
  }
  return to_mesh(points, std::move(triangles));
}

Mesh torus_mesh(double major_radius_mm, double minor_radius_mm, const TessellationOptions& options) {
  require_size(major_radius_mm, "torus major radius");
  require_size(minor_radius_mm, "torus minor radius");
  if (minor_radius_mm >= major_radius_mm) {
    throw usage_error("torus minor radius (" + std::to_string(minor_radius_mm) +
                      " mm) must be smaller than its major radius (" + std::to_string(major_radius_mm) + " mm)");
  }
  require_options(options);
  int n_major = segments_for_deviation(major_radius_mm + minor_radius_mm, options.max_deviation_mm / 2);
  int n_minor = segments_for_deviation(minor_radius_mm, options.max_deviation_mm / 2);
  const auto count = [](int a, int b) { return 2 * static_cast<std::size_t>(a) * static_cast<std::size_t>(b); };
  fit_cap(n_major, n_minor, 3, 3, options.max_triangles, count, "torus");

  std::vector<Triangle> triangles;
  triangles.reserve(count(n_major, n_minor));
  const auto at = [&](int i, int j) {
    return u32(static_cast<std::size_t>(i % n_major) * n_minor + static_cast<std::size_t>(j % n_minor));
  };
  for (int i = 0; i < n_major; ++i) {
    for (int j = 0; j < n_minor; ++j) quad(triangles, at(i, j), at(i + 1, j), at(i + 1, j + 1), at(i, j + 1));
  }
  const auto build = [&](double tube) {
    std::vector<Vec3d> points;
    points.reserve(static_cast<std::size_t>(n_major) * n_minor);
    for (int i = 0; i < n_major; ++i) {
      const double u = 2 * kPi * i / n_major;
      for (int j = 0; j < n_minor; ++j) {
        const double v = 2 * kPi * j / n_minor;
        const double rho = major_radius_mm + tube * std::cos(v);
        points.push_back({rho * std::cos(u), rho * std::sin(u), tube * std::sin(v)});
      }
    }
    return points;
  };
  double tube = minor_radius_mm;
  if (options.match_volume) {
    // The volume grows as the square of the tube radius (exactly for even n_minor); a few
    // fixed-point steps settle odd counts too.
    const double target = torus_volume(major_radius_mm, minor_radius_mm);
    for (int step = 0; step < 4; ++step) tube *= std::sqrt(target / volume_of(build(tube), triangles));
    tube = std::min(tube, 0.999 * major_radius_mm);
  }
  return to_mesh(build(tube), std::move(triangles));
}

}  // namespace fabforge::voxel
