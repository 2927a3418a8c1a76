#pragma once
/// Conforming triangulation of planar faces on a heightfield's corner grid (private to core).
///
/// heightfield.cpp describes a solid as planar faces whose corners sit on the pixel-corner grid
/// at exact float heights: axis-aligned rectangles (merged flat tops, merged walls, the bottom)
/// and loose triangles (sloped smooth tops, trapezoid walls). Merged rectangles meet their
/// neighbours with T-junctions; triangulate_faces removes them by inserting, into each rectangle's
/// boundary, every grid vertex that lies on it. Because x and y are integer corner indices and z
/// is an exact float, "lies on" is an exact test, so two faces sharing a segment always split it
/// at the same points and the result is closed and conforming by construction.
///
/// Where two solid columns touch along a vertical edge (a saddle corner), the caller splits the
/// vertices at that edge's ends: each gets two indices at the same position, and every face picks
/// one by the side of the corner it lies on (its `side`: 1 if the face, or for a face in the
/// plane x = cx its solid, lies towards +x). The two columns then share no edge, and the mesh
/// stays edge-manifold.

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fabforge/core/mesh.hpp"

namespace fabforge::detail {

enum class Axis : std::uint8_t { x, y, z };

/// A point of the corner grid: corner column cx in [0, width], corner row cy in [0, height]
/// (image rows, 0 at the back) and an exact height in mm.
struct GridPoint {
  int cx = 0, cy = 0;
  float z = 0;
};

/// Axis-aligned rectangle [x0, x1] x [y0, y1] x [z0, z1] in grid coordinates, flat along `normal`
/// (x0 == x1, y0 == y1 or z0 == z1). `sign` is the sign of the outward normal in world
/// coordinates (+y is the back of the picture, i.e. towards cy = 0).
struct RectFace {
  int x0 = 0, x1 = 0, y0 = 0, y1 = 0;
  float z0 = 0, z1 = 0;
  Axis normal = Axis::z;
  std::int8_t sign = 1;
};

/// A triangle whose outward normal has the sign `sign` along world axis `axis` (for a sloped top:
/// z, +1). Its edges must contain no other grid vertex.
struct TriFace {
  std::array<GridPoint, 3> p;
  Axis axis = Axis::z;
  std::int8_t sign = 1;
};

struct GridFaces {
  std::vector<RectFace> rects;
  std::vector<TriFace> tris;
  /// Appends the parts in order (reserving once: the parts of a large field hold millions).
  void append(const std::vector<GridFaces>& parts);
};

/// The heights at which each grid corner may carry a vertex, and, once the faces are known,
/// which of them do and what their vertex indices are.
class CornerGrid {
 public:
  static constexpr int kMaxHeights = 5;  ///< 0 plus the heights of the four pixels around a corner

  /// A grid for a field of `width` x `height` pixels of `pixel_size_mm`.
  CornerGrid(int width, int height, double pixel_size_mm);

  int corners_x() const { return width_ + 1; }
  int corners_y() const { return height_ + 1; }
  /// Sets the candidate heights of a corner: ascending, distinct, at most kMaxHeights. Distinct
  /// corners may be set from different threads.
  void set_heights(int cx, int cy, const float* z, int count);
  /// Gives the vertex at height z of a corner (one of its heights) a second index at the same
  /// position: faces on the corner's -x side use the first, those on its +x side the second.
  /// Call after set_heights, from the thread that set the corner.
  void split(int cx, int cy, float z);

  /// Marks the vertex at p as used (p.z must be one of its corner's heights).
  void mark(const GridPoint& p);
  /// Numbers the used vertices (corners in row-major order, heights ascending, a split vertex's
  /// two copies in a row) and returns their world positions: x = cx * pixel size,
  /// y = (height - cy) * pixel size.
  std::vector<Vec3f> number_vertices();

  /// Index of the used vertex at p, for a face on `side` (0 or 1) of it.
  std::uint32_t vertex(const GridPoint& p, int side) const;
  Vec3f world(double cx, double cy, float z) const;

  /// A used vertex found on a segment, with its coordinate along the segment.
  struct Hit {
    std::uint32_t index;
    double t;
  };
  /// Appends the used vertices strictly between a and b (which differ in exactly one
  /// coordinate), ordered from a to b, as seen by a face on `side` of them.
  void vertices_between(const GridPoint& a, const GridPoint& b, int side, std::vector<Hit>& out) const;

 private:
  std::size_t corner(int cx, int cy) const {
    return static_cast<std::size_t>(cy) * static_cast<std::size_t>(width_ + 1) + static_cast<std::size_t>(cx);
  }
  int height_count(std::size_t c) const { return count_[c] & kCountMask; }
  unsigned split_mask(std::size_t c) const { return count_[c] >> kSplitShift; }
  int slot(std::size_t c, float z) const;
  std::uint32_t index_of(std::size_t c, int k, int side) const;

  int width_, height_;
  double pixel_mm_;
  std::vector<std::array<float, kMaxHeights>> z_;
  /// Low bits: how many heights the corner has; high bits, from kSplitShift: bit k set when the
  /// vertex in height slot k has two indices. One byte, as both are read on every look-up.
  static constexpr unsigned kSplitShift = 3, kCountMask = (1u << kSplitShift) - 1u;
  std::vector<std::uint8_t> count_;
  std::vector<std::uint8_t> used_;    ///< bit k: height slot k carries a vertex
  std::vector<std::uint32_t> first_;  ///< index of the corner's lowest used vertex
};

/// Marks and numbers the vertices of all faces, then triangulates them: rectangles with their
/// boundary vertices (a strip, a corner fan, or a fan around an added centre vertex), every
/// triangle non-degenerate and wound counter-clockwise seen from outside. Deterministic and
/// independent of the thread count.
Mesh triangulate_faces(CornerGrid& grid, const GridFaces& faces);

}  // namespace fabforge::detail
