#pragma once
/// Surface queries for the volume phase (issue 6, pipeline step 3): the nearest point of the
/// displaced surface to each voxel, with signed distance, interpolated normal and the fablet's
/// interpolated out attributes, answered from an Embree BVH over the cached micropolygons.
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
/// triangle index wins, so results never depend on BVH layout, traversal order or thread count.

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
  /// Build the BVH with Embree's fast (Morton) builder instead of the SAH one: several times
  /// quicker to build, somewhat slower to query; for indexes rebuilt often (one per slab).
  bool fast_build = false;
};

/// Nearest-point index over a SurfaceMesh. Build once, query from any number of threads.
class SurfaceIndex {
 public:
  /// Validates and indexes `mesh` (taken by value: move it in). Throws input_error for an empty
  /// mesh (no triangles), an index out of range, a non-finite position or normal, a normals or
  /// attributes array of the wrong size, a negative attribute_count; usage_error for a NaN or
  /// negative max_distance_mm; runtime_error if Embree fails.
  explicit SurfaceIndex(SurfaceMesh mesh, const SurfaceIndexOptions& options = {});
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

  /// For n points: out[i] = 1 when some triangle lies within `radius_mm` of point i (closed
  /// ball), else 0; a non-finite point gets 0. Stops at the first triangle found, so it is much
  /// cheaper than a nearest query (the pipeline uses it to skip blocks of voxels beyond reach).
  /// Ignores max_distance_mm. Thread-safe; parallel for large n.
  void any_within(std::size_t n, const float* const xyz[3], float radius_mm, std::uint8_t* out) const;

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
  void surface_query(std::size_t n, const float* const xyz[3], float* const* columns,
                     int column_count) const override;
  const SurfaceIndex* surface() const noexcept { return surface_; }

 private:
  const SurfaceIndex* surface_;
};

}  // namespace fabforge::voxel
