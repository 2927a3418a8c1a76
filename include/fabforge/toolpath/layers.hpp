#pragma once
/// Layers: the second stage of the toolpath pipeline. Regions become a stack of layer
/// cross-sections, either by extruding one region to a thickness or by reading a grey image as
/// heights (a relief). Also turns layers back into a mesh, so slicers can be given the same part.

#include <array>
#include <vector>

#include "fabforge/core/image.hpp"
#include "fabforge/core/mesh.hpp"
#include "fabforge/core/polygon.hpp"

namespace fabforge::toolpath {

struct LayerRegions {
  double z_mm = 0;       ///< top of the layer
  double height_mm = 0;  ///< thickness
  Regions regions;
};

struct LayerParams {
  double thickness_mm = 2.0;
  double first_layer_height_mm = 0.2;
  double layer_height_mm = 0.2;
};

/// z of every layer top for a part of the given thickness: the first layer, then layer_height
/// steps; the last layer is thinned or thickened (within [0.5, 1.5] x layer height) to end
/// exactly at the thickness. Throws usage_error for non-positive or inconsistent values.
std::vector<double> layer_tops(const LayerParams& params);

/// The same region on every layer.
std::vector<LayerRegions> extrude_layers(const Regions& regions, const LayerParams& params);

/// A relief: heights (grey, white = thickness_mm, black = 0 or only the first layer where
/// `mask` says part) over the image placed as `regions` were. A pixel is part of the layer whose
/// top is z if its height reaches z - height/2. `mask` (same size, non-zero = part) limits the
/// part; empty: every pixel with height > 0. Arguments as for mask_to_regions.
std::vector<LayerRegions> heightmap_layers(const Image8& heights, const Image8& mask, const LayerParams& params,
                                           double mm_per_pixel, Point2 centre_mm, double min_feature_area_mm2,
                                           double simplify_tolerance_mm);

/// A closed triangle mesh of the layer stack: consecutive layers with identical regions become one
/// prism, so an extruded part is a single watertight prism. Polygons with holes are triangulated
/// exactly (no extra vertices), so the mesh's cross-section equals the regions.
Mesh layers_to_mesh(const std::vector<LayerRegions>& layers);

/// Triangulates one polygon with holes by ear clipping after joining holes to the outer ring.
/// Returns triangles as indices into `vertices` (filled with the ring points, outer ring first,
/// then each hole), counter-clockwise. Throws input_error for degenerate input it cannot handle.
std::vector<std::array<int, 3>> triangulate(const PolygonWithHoles& polygon, std::vector<Point2>& vertices);

}  // namespace fabforge::toolpath
