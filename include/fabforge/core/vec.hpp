#pragma once
/// Small fixed-size vectors used by meshes and geometry. Plain aggregates, no invariants.

#include <cmath>

namespace fabforge {

struct Vec3f {
  float x = 0, y = 0, z = 0;
  friend constexpr Vec3f operator+(Vec3f a, Vec3f b) { return {a.x + b.x, a.y + b.y, a.z + b.z}; }
  friend constexpr Vec3f operator-(Vec3f a, Vec3f b) { return {a.x - b.x, a.y - b.y, a.z - b.z}; }
  friend constexpr Vec3f operator*(Vec3f a, float s) { return {a.x * s, a.y * s, a.z * s}; }
  friend constexpr bool operator==(Vec3f a, Vec3f b) = default;
};

struct Vec3d {
  double x = 0, y = 0, z = 0;
  friend constexpr Vec3d operator+(Vec3d a, Vec3d b) { return {a.x + b.x, a.y + b.y, a.z + b.z}; }
  friend constexpr Vec3d operator-(Vec3d a, Vec3d b) { return {a.x - b.x, a.y - b.y, a.z - b.z}; }
  friend constexpr Vec3d operator*(Vec3d a, double s) { return {a.x * s, a.y * s, a.z * s}; }
  friend constexpr bool operator==(Vec3d a, Vec3d b) = default;
};

constexpr Vec3d to_double(Vec3f v) { return {v.x, v.y, v.z}; }
constexpr double dot(Vec3d a, Vec3d b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
constexpr Vec3d cross(Vec3d a, Vec3d b) {
  return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}
inline double length(Vec3d a) { return std::sqrt(dot(a, a)); }
inline bool is_finite(Vec3f v) { return std::isfinite(v.x) && std::isfinite(v.y) && std::isfinite(v.z); }

}  // namespace fabforge
