#pragma once
/// Image to regions: the first stage of the toolpath pipeline. A picture (a photo of an object on
/// a plain background, a scanned pen sketch, a logo, a cross-section) becomes polygons with holes
/// in bed millimetres. Later stages (layers.hpp, plan.hpp) never see pixels, so another source of
/// regions (a learned generator, an SVG reader) can feed them.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fabforge/core/image.hpp"
#include "fabforge/core/polygon.hpp"
#include "fabforge/core/run_context.hpp"
#include "fabforge/toolpath/layers.hpp"

namespace fabforge::toolpath {

enum class RegionMode {
  silhouette,  ///< threshold (Otsu unless given) separates the part from the background
  sketch,      ///< pen strokes: edges, gap closing, closed outlines filled
  automatic,   ///< picks one of the two from the image and reports which
};

/// "silhouette", "sketch" or "auto".
std::string_view region_mode_name(RegionMode mode);
/// Parses region_mode_name's names; throws usage_error listing them.
RegionMode parse_region_mode(std::string_view name);

/// How image pixels map to bed millimetres. At most one of width_mm, height_mm, dpi may be set;
/// none set: the image's longer side becomes 80 mm. The image centre lands on centre_mm.
struct ImagePlacement {
  double width_mm = 0;         ///< the image's full width in mm (0: not given)
  double height_mm = 0;        ///< the image's full height in mm (0: not given)
  double dpi = 0;              ///< pixels per inch (0: not given)
  Point2 centre_mm{110, 110};  ///< where the image centre goes on the bed
};

struct RegionParams {
  RegionMode mode = RegionMode::automatic;
  std::optional<int> threshold;  ///< 0..255 on luminance; unset: Otsu
  /// Which side of the threshold is the part. By default it is the side that covers less of the
  /// image border (the background touches the border), the darker side on a tie; invert picks
  /// the other side. In sketch mode the same rule picks the strokes. Pixels with alpha < 128 are
  /// background, except that an image whose opaque pixels are all one colour is cut at alpha 128
  /// (the opaque area is the part; invert: the transparent area).
  bool invert = false;
  ImagePlacement placement;
  /// Islands and holes smaller than this (mm^2) are removed. <0: (2 x line width)^2 / 4.
  double min_feature_area_mm2 = -1;
  /// Douglas-Peucker tolerance in mm for contour simplification. <0: line_width_mm / 4.
  double simplify_tolerance_mm = -1;
  double line_width_mm = 0.45;  ///< only for the two defaults above
  /// Sketch mode: gaps in strokes up to this size (mm) are closed before filling. <0: 1 mm.
  double sketch_gap_mm = -1;
  /// Images with more pixels than this are refused (usage_error) rather than processed slowly.
  std::int64_t max_pixels = 50'000'000;
};

struct RegionReport {
  RegionMode mode_used = RegionMode::silhouette;
  std::string mode_reason;  ///< one sentence on why automatic chose mode_used
  int threshold_used = -1;  ///< silhouette: the luminance threshold applied
  bool inverted = false;    ///< silhouette: whether the part was the light side
  double mm_per_pixel = 0;
  int islands = 0, holes = 0;
  double area_mm2 = 0;
  int removed_specks = 0;  ///< islands and holes dropped as smaller than the minimum feature
  /// Sketch mode: strokes that enclose no area (open lines), in mm, each as a short description
  /// ("open stroke 12.3 mm long near (40.1, 72.0)").
  std::vector<std::string> open_strokes;
  std::vector<std::string> warnings;
};

struct ImageRegions {
  Regions regions;
  RegionReport report;
};

/// Extracts the regions of an image (1-4 channels). Throws usage_error for parameters that
/// contradict each other or an image above max_pixels, input_error for an empty image or an image
/// with no part in it (all one colour).
ImageRegions image_to_regions(const Image8& image, const RegionParams& params, RunContext& context);

/// A relief: the image read as grey heights (white = layers.thickness_mm, black = no part,
/// alpha < 128 = no part), placed, cleaned and simplified by the same rules and defaults as
/// image_to_regions (threshold, polarity and mode do not apply). Same errors as image_to_regions;
/// an image with no height anywhere gives an empty vector.
std::vector<LayerRegions> image_heightmap_layers(const Image8& image, const RegionParams& params,
                                                 const LayerParams& layers);

/// Mask (non-zero = part) to regions with the same cleaning and simplification, used by the
/// heightmap layers. Pixel (0,0) is the image's top-left; y grows downward in the image and
/// upward on the bed.
Regions mask_to_regions(const Image8& mask, double mm_per_pixel, Point2 centre_mm, double min_feature_area_mm2,
                        double simplify_tolerance_mm, int* removed_specks = nullptr);

/// mm per pixel for an image of the given size under the placement rules (throws usage_error if
/// more than one of width/height/dpi is set or one is not positive).
double mm_per_pixel(const ImagePlacement& placement, int width_px, int height_px);

}  // namespace fabforge::toolpath
