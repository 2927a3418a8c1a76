#pragma once
/// Heightfields and their conversion to watertight solids.
///
/// A heightfield is a grid of heights in millimetres, one per pixel, with row 0 at the back
/// (+y, the top of the picture) so that the solid seen from above looks like the image. The
/// solid has the heightfield as its top, a flat bottom at z = 0 and vertical side walls; pixels
/// outside the mask are holes through it. Two shapes of top:
///   - stepped: every pixel is a flat square at its height, joined to its neighbours by vertical
///     steps. Volume is exactly sum(height) * pixel area. This is how layered prints come out.
///   - smooth: a continuous surface through the pixel corners, each corner at the mean height of
///     the unmasked pixels around it; the outline is still the mask's pixel outline.
/// Flat areas are merged into large rectangles (T-junctions resolved by inserting the neighbours'
/// vertices on shared edges), so a flat region costs a handful of triangles instead of two per
/// pixel and the result is closed and consistently oriented.
///
/// At a saddle corner (two diagonal pixels higher than the other two, or in either style two
/// diagonal printed pixels beside two holes) the two high columns touch along a vertical edge
/// that four walls stand on. The vertex at the top of that edge, and at its bottom where that is
/// the floor, has two indices at exactly the same position, one used by each column's faces, so
/// the indexed mesh is edge-manifold (every edge in exactly two triangles) as well as closed and
/// oriented, without moving any geometry. Formats that keep indices (3MF) keep this; welding by
/// position, as an STL round trip does, merges the copies and brings the shared, non-manifold
/// edge back (the same touching solids slicers accept).

#include <cstdint>
#include <vector>

#include "fabforge/core/image.hpp"
#include "fabforge/core/mesh.hpp"

namespace fabforge {

struct Heightfield {
  int width = 0;
  int height = 0;
  double pixel_size_mm = 1.0;      ///< edge length of one square pixel
  std::vector<float> heights_mm;   ///< width * height, row-major, row 0 at the back (+y)
  std::vector<std::uint8_t> mask;  ///< empty: every pixel; else nonzero = printed

  bool printed(int x, int y) const {
    return mask.empty() ||
           mask[static_cast<std::size_t>(y) * static_cast<std::size_t>(width) + static_cast<std::size_t>(x)] != 0;
  }
  float at(int x, int y) const {
    return heights_mm[static_cast<std::size_t>(y) * static_cast<std::size_t>(width) + static_cast<std::size_t>(x)];
  }
};

enum class HeightfieldStyle { stepped, smooth };

struct HeightfieldMeshOptions {
  HeightfieldStyle style = HeightfieldStyle::stepped;
};

/// Builds the closed solid. Throws Error (usage) if the sizes disagree, the pixel size is not
/// positive, or a printed pixel's height is not a positive finite number; an empty mask gives an
/// empty mesh. Deterministic; parallel over rows.
Mesh heightfield_to_mesh(const Heightfield& field, const HeightfieldMeshOptions& options = {});

/// Exact volume of the stepped solid, sum of printed heights times pixel area (mm^3).
double heightfield_volume(const Heightfield& field);

}  // namespace fabforge
