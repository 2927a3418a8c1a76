#pragma once
/// Built-in primitive solids for fab worlds (docs/voxel-world.md, "Meshes"): box, sphere, cylinder
/// and torus, centred at the origin, as closed, outward-oriented, welded meshes, so that examples
/// and tests need no mesh files.
///
/// Curved surfaces are tessellated from a maximum deviation: no point of the mesh is farther than
/// `max_deviation_mm` from the true surface (the chord rule of segments_for_deviation, applied with
/// half the tolerance along each of the two directions of a doubly curved surface). By default the
/// vertices are then moved slightly outward (uniformly per primitive) so that the mesh encloses
/// exactly the analytic volume: facets straddle the true surface instead of lying inside it, which
/// keeps the deviation bound and removes the systematic volume loss of an inscribed polyhedron.
///
/// All functions are pure and thread-safe. They throw usage_error for non-positive or non-finite
/// sizes, and for a torus whose tube radius is not smaller than its major radius.

#include <cstddef>

#include "fabforge/core/mesh.hpp"
#include "fabforge/core/vec.hpp"

namespace fabforge::voxel {

/// How finely curved primitives are tessellated.
struct TessellationOptions {
  /// Largest distance, mm, between the mesh and the analytic surface (chord deviation, sagitta).
  double max_deviation_mm = 0.005;
  /// Cap on the triangle count. When the deviation asks for more, the segment counts are reduced
  /// proportionally until the mesh fits (the deviation bound then no longer holds).
  std::size_t max_triangles = 4'000'000;
  /// Move the vertices outward so the mesh's volume equals the analytic volume (see above). When
  /// false, every vertex lies on the analytic surface and the mesh is inscribed in it.
  bool match_volume = true;
};

/// Smallest number of segments around a full circle of radius `radius_mm` such that each chord
/// deviates at most `max_deviation_mm` from the arc: n = ceil(pi / acos(1 - d / r)), at least 3,
/// at most 65536 (3 when d >= r). Throws usage_error unless both are positive and finite.
int segments_for_deviation(double radius_mm, double max_deviation_mm);

/// Axis-aligned box of the given edge lengths, centred at the origin: 8 vertices, 12 triangles.
Mesh box_mesh(Vec3d size_mm);

/// Sphere of the given radius centred at the origin: a latitude-longitude mesh with single-vertex
/// poles on the z axis.
Mesh sphere_mesh(double radius_mm, const TessellationOptions& options = {});

/// Cylinder of the given radius and height, axis along z, centred at the origin (z from -h/2 to
/// h/2), with flat caps fanned around a centre vertex.
Mesh cylinder_mesh(double radius_mm, double height_mm, const TessellationOptions& options = {});

/// Torus around the z axis centred at the origin: tube centre circle of radius `major_radius_mm`
/// in the z = 0 plane, tube radius `minor_radius_mm` (< major).
Mesh torus_mesh(double major_radius_mm, double minor_radius_mm, const TessellationOptions& options = {});

/// Analytic volumes, mm^3, for tests and reports.
double box_volume(Vec3d size_mm);
double sphere_volume(double radius_mm);
double cylinder_volume(double radius_mm, double height_mm);
double torus_volume(double major_radius_mm, double minor_radius_mm);

}  // namespace fabforge::voxel
