#pragma once
/// Indexed triangle meshes and their checks.
///
/// A Mesh is a value type: a vertex array and a triangle array of indices into it. Triangles are
/// wound counter-clockwise seen from outside (right-hand rule gives the outward normal), as STL
/// and 3MF require. Units are millimetres throughout fabforge.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "fabforge/core/vec.hpp"

namespace fabforge {

using Triangle = std::array<std::uint32_t, 3>;

struct Mesh {
  std::vector<Vec3f> vertices;
  std::vector<Triangle> triangles;

  std::size_t triangle_count() const noexcept { return triangles.size(); }
  bool empty() const noexcept { return triangles.empty(); }
};

struct BoundingBox {
  Vec3d min{0, 0, 0};
  Vec3d max{0, 0, 0};
  Vec3d size() const { return max - min; }
};

/// What analyze_mesh measured. Edges are undirected vertex pairs of the indexed mesh, so weld
/// first if the mesh came from a format that duplicates vertices.
struct MeshReport {
  std::size_t vertices = 0;
  std::size_t triangles = 0;
  std::size_t degenerate_triangles = 0;  ///< repeated index or zero area
  std::size_t boundary_edges = 0;        ///< used by exactly one triangle
  std::size_t non_manifold_edges = 0;    ///< used by three or more triangles
  std::size_t unbalanced_edges = 0;      ///< a -> b used a different number of times than b -> a
  /// Every edge has as many uses a -> b as b -> a: the surface has no holes and no flipped
  /// triangle. Non-manifold edges (e.g. two cubes touching along an edge) may still be closed.
  bool closed = false;
  /// Each manifold edge is traversed once in each direction by its two triangles.
  bool consistently_oriented = false;
  bool manifold = false;  ///< every edge used by exactly two triangles
  double volume = 0;      ///< signed, mm^3; positive for a closed, outward-oriented mesh
  double area = 0;        ///< mm^2
  BoundingBox bounds;
  /// Closed, consistently oriented and with positive volume: a solid whose inside is well
  /// defined, which is what slicers need. Manifoldness is reported separately: two solids that
  /// touch along an edge are watertight but not manifold, and slicers accept them. (fabforge's
  /// heightfield solids keep such edges apart by index; welding by position, as every STL round
  /// trip does, brings them back.)
  bool watertight() const { return closed && consistently_oriented && volume > 0; }
};

/// Measures topology, volume, area and bounds. O(triangles log triangles).
MeshReport analyze_mesh(const Mesh& mesh);

/// Signed volume by the divergence theorem (double accumulation, deterministic).
double mesh_volume(const Mesh& mesh);
BoundingBox mesh_bounds(const Mesh& mesh);  ///< zero box for an empty mesh

/// Merges vertices closer than `tolerance_mm` (0 merges exact duplicates only), drops triangles
/// that become degenerate and unreferenced vertices. Deterministic: the first vertex of a
/// cluster, in input order, is kept.
Mesh weld_vertices(const Mesh& mesh, float tolerance_mm = 0.0f);

/// Builds an indexed mesh from a triangle soup (three corners per triangle, as STL stores them),
/// merging exactly equal vertices (-0 equals +0) and keeping every triangle, degenerate ones too.
/// Vertices are numbered in order of first appearance. Throws Error (usage) if the corner count
/// is not a multiple of 3.
Mesh index_triangle_soup(const std::vector<Vec3f>& corners);

/// Appends b to a (indices shifted).
void append_mesh(Mesh& a, const Mesh& b);

/// Reverses every triangle's winding.
void flip_orientation(Mesh& mesh);

/// Throws Error (input) naming `source` if a vertex is NaN/inf or an index is out of range.
void validate_mesh(const Mesh& mesh, const std::string_view source);

}  // namespace fabforge
