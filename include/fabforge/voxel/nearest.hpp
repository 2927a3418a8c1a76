#pragma once
/// Surface queries for the volume phase (issue 6, pipeline step 3): the nearest point of the
/// displaced surface to each voxel, with signed distance, interpolated normal and the fablet's
/// interpolated out attributes, answered from a bounding volume hierarchy over the cached
/// micropolygons.
///
/// The surface is a triangle soup (indexed; vertices may or may not be shared between triangles)
/// with a unit normal and `attribute_count` attribute values per vertex. A query finds the
/// closest point of the closest triangle (exact point-triangle distance in double precision) and
/// reports:
///   - the signed distance, negative inside: its sign is that of (p - c) . N, N being the
///     angle-weighted pseudo-normal of the feature holding the closest point c (the triangle's
///     face, one of its edges or one of its corners; Baerentzen & Aanaes 2005). Edge and vertex
///     pseudo-normals are computed over the triangles sharing that edge or corner by *position*, so
///     a soup with duplicated vertices signs correctly too. The sign is right for every point when
///     the surface is closed and consistently oriented (outward, counter-clockwise seen from
///     outside); on an open surface it says which side of the nearest feature the point lies on;
///   - the closest point c;
///   - the normal at c: the vertex normals interpolated barycentrically and normalised (the face
///     normal where they cancel);
///   - every attribute interpolated barycentrically at c.
///
/// Ties: when several triangles are equally close (equal computed squared distance) the lowest
/// triangle index wins, so results never depend on the hierarchy, traversal order or thread count.
///
/// Structure (two levels, so that a pipeline never rebuilds what it indexed once): a SurfacePart
/// is a piece of surface with its own hierarchy, built once (the pipeline makes one per cached
/// patch of micropolygons); a SurfaceIndex is a small top-level hierarchy over any number of shared
/// parts, cheap to build per slab: its leaves are the parts' subtrees of about a hundred triangles,
/// so it sorts compact pieces of surface whatever the shape of a part (the pipeline's patches are
/// rings of surface around a shape). The hierarchy is a 4-wide BVH built by middle splits; besides
/// its box, every node keeps a plane slab (a unit normal n and the range [lo, hi] of n . x over its
/// vertices), and a node's distance bound is the larger of the box's and the slab's. For the thin,
/// nearly flat groups of micropolygons a displaced surface is made of, the slab bound is almost the
/// true distance where a box is not (a tilted patch's box is as thick as it is wide), so a query
/// whose upper bound is already good (the previous lane's triangle) visits few nodes. Measured on
/// the creature benchmark, this replaced Embree's point queries (see docs/benchmarks.md).

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "fabforge/core/mesh.hpp"
#include "fabforge/core/vec.hpp"
#include "fabforge/openfl/host.hpp"

namespace fabforge::voxel {

/// Micropolygons with per-vertex data, as the surface phase leaves them. SoA-ish value type.
struct SurfaceMesh {
  std::vector<Vec3f> positions;  ///< mm
  std::vector<Vec3f> normals;    ///< one per position, unit length (normalised again on use)
  /// Number of attribute values per vertex (the fablet's out columns), >= 0.
  int attribute_count = 0;
  /// Vertex-major: attributes[v * attribute_count + a]; size positions.size() * attribute_count.
  std::vector<float> attributes;
  std::vector<Triangle> triangles;  ///< counter-clockwise seen from outside
};

struct SurfaceIndexOptions {
  /// Queries look for surface no farther than this, mm (+inf: always find the nearest point).
  /// The pipeline may pass the displacement bound plus the fablet's reach.
  float max_distance_mm = std::numeric_limits<float>::infinity();
  /// Signed distance reported for a query with no surface within max_distance_mm; its point,
  /// normal and attribute columns are NaN. Default +inf ("far, side unknown"). A caller that
  /// only asks about covered (inside) voxels, as the volume phase does, should pass -inf.
  float miss_distance = std::numeric_limits<float>::infinity();
  /// -1: every query point is known to lie inside the surface (the volume phase queries only
  /// voxels the voxelizer put inside), so the signed distance is minus the distance and the
  /// pseudo-normals are not built; +1: known outside; 0: the sign is computed per query (above).
  int known_side = 0;
  /// Accept a nearest point up to this much farther than the true nearest one, mm (0: exact).
  /// A positive tolerance lets the search prune the many near-equidistant micropolygons around
  /// the true nearest point; the answer is then the exact closest point of a triangle whose
  /// distance is within the tolerance of the minimum, which one depending on the BVH's visiting
  /// order and the previous lane of the batch (deterministic for a given mesh and batch, but
  /// no longer independent of them, unlike the exact mode's lowest-index tie rule).
  float tolerance_mm = 0;
};

/// A piece of surface and its hierarchy: immutable once built, shared by any number of indexes
/// (and threads). `mesh()` holds the triangles in hierarchy order (a leaf is a contiguous range);
/// triangle numbers in results and ties are still the caller's order.
class SurfacePart {
 public:
  /// Triangles per leaf, by default and at most. Four suits meshes whose triangles are about the
  /// size of the query distances (a base mesh: the tray's inked creature searches 30% slower with
  /// eight). Micropolygons far smaller than the reach take kMicropolygonLeafTriangles.
  static constexpr std::uint32_t kLeafTriangles = 4;
  static constexpr std::uint32_t kMaxLeafTriangles = 15;
  /// Searches from the previous lane's triangle rarely reach a leaf of micropolygons (0.34 leaves
  /// per search on the creature), so bigger leaves halve the nodes: cheaper builds, smaller parts
  /// (creature: cache peak 212 -> 152 MiB, tessellate phase 0.9-1.1 -> 0.8-0.9 s, searches as
  /// fast; 16 made them slower).
  static constexpr std::uint32_t kMicropolygonLeafTriangles = 8;

  /// Validates (input_error for no triangles, an index out of range, a non-finite position or
  /// normal, a normals or attributes array of the wrong size, a negative attribute_count;
  /// usage_error for `leaf_triangles` outside 1..kMaxLeafTriangles) and builds the hierarchy,
  /// at most `leaf_triangles` triangles per leaf. Deterministic; single-threaded (build parts in
  /// parallel).
  explicit SurfacePart(SurfaceMesh mesh, std::uint32_t leaf_triangles = kLeafTriangles);
  ~SurfacePart();
  SurfacePart(SurfacePart&&) noexcept;
  SurfacePart& operator=(SurfacePart&&) noexcept;
  SurfacePart(const SurfacePart&) = delete;
  SurfacePart& operator=(const SurfacePart&) = delete;

  const SurfaceMesh& mesh() const noexcept;
  /// Resident bytes of the mesh and the hierarchy.
  std::size_t bytes() const noexcept;

  struct Impl;
  const Impl& impl() const noexcept { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

/// Resident bytes of a micropolygon SurfacePart (kMicropolygonLeafTriangles per leaf) per
/// triangle, without attributes, for memory planning: measured 54 on the lens plate's
/// micropolygons and 60 on the creature's with two attribute columns (so about 3 bytes per
/// column), rounded up. (With four triangles per leaf and the lattice tessellation it was 79.)
inline constexpr double kSurfacePartBytesPerTriangle = 62;
inline constexpr double kSurfacePartBytesPerAttribute = 3;

/// Nearest-point index over a SurfaceMesh or over several SurfaceParts. Build once, query from any
/// number of threads.
class SurfaceIndex {
 public:
  /// Validates and indexes `mesh` (taken by value: move it in). Throws input_error for an empty
  /// mesh (no triangles), an index out of range, a non-finite position or normal, a normals or
  /// attributes array of the wrong size, a negative attribute_count; usage_error for a NaN or
  /// negative max_distance_mm, a negative or non-finite tolerance, a known_side other than -1, 0, 1.
  explicit SurfaceIndex(SurfaceMesh mesh, const SurfaceIndexOptions& options = {});
  /// The union of `parts` (shared, not copied; kept alive by the index). Triangle indices run
  /// over the parts in this order (part 0's triangles first), which also orders ties. Every part
  /// must have the same attribute_count. The parts are not welded to each other, so
  /// options.known_side must be -1 or +1 (usage_error otherwise, and for no parts or a null one).
  SurfaceIndex(std::vector<std::shared_ptr<const SurfacePart>> parts, const SurfaceIndexOptions& options);
  ~SurfaceIndex();
  SurfaceIndex(SurfaceIndex&&) noexcept;
  SurfaceIndex& operator=(SurfaceIndex&&) noexcept;
  SurfaceIndex(const SurfaceIndex&) = delete;
  SurfaceIndex& operator=(const SurfaceIndex&) = delete;

  /// Answers n queries at points (xyz[0][i], xyz[1][i], xyz[2][i]), mm. Writes the first
  /// `column_count` columns of n floats, in the order of openfl's surface query: signed distance
  /// (openfl::kQuerySignedDistance), closest point x, y, z (kQueryPoint), normal x, y, z
  /// (kQueryNormal), then the attributes (kQueryOuts + a). A null column pointer is skipped.
  /// n = 0 does nothing. A non-finite query point gets NaN in every column. Throws usage_error
  /// when column_count is negative or larger than 7 + attribute_count. Thread-safe (const); large batches run
  /// in parallel (each lane written independently, so results are identical at any thread count).
  void query(std::size_t n, const float* const xyz[3], float* const* columns, int column_count) const;

  /// For n points: out[i] = the unsigned distance from point i to the surface when it is at most
  /// `radius_mm`, else +inf (also for a non-finite point). With a tolerance, the distance reported
  /// may be up to tolerance_mm above the true one, never below. Ignores max_distance_mm (the
  /// pipeline asks it at the centres of blocks of voxels, with the reach plus the block's
  /// half-diagonal, to skip the voxels that no surface reaches). Thread-safe; parallel for large n.
  void distance_within(std::size_t n, const float* const xyz[3], float radius_mm, float* out) const;

  /// One query, returning the nearest triangle's index (or -1 on a miss) and all columns.
  struct Result {
    std::int64_t triangle = -1;
    float signed_distance = 0;
    Vec3f point;
    Vec3f normal;
    std::vector<float> attributes;
  };
  Result query_one(Vec3f p) const;

  std::size_t triangle_count() const noexcept;
  int attribute_count() const noexcept;
  const SurfaceIndexOptions& options() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// An openfl::Host for the volume phase: textures as TextureHost, surface queries from a
/// SurfaceIndex (not owned; it must outlive the host). query_range keeps the default (unbounded).
class SurfaceHost : public openfl::TextureHost {
 public:
  SurfaceHost(std::vector<openfl::Texture> textures, const SurfaceIndex* surface);
  /// Forwards to surface->query; without a surface, throws like TextureHost.
  void surface_query(std::size_t n, const float* const xyz[3], float* const* columns, int column_count) const override;
  const SurfaceIndex* surface() const noexcept { return surface_; }

 private:
  const SurfaceIndex* surface_;
};

}  // namespace fabforge::voxel
