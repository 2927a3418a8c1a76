#include "fabforge/toolpath/layers.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iomanip>
#include <sstream>
#include <string>

#include "fabforge/core/error.hpp"
#include "fabforge/toolpath/regions.hpp"

#include "clipper_util.hpp"

namespace fabforge::toolpath {

namespace {

std::string mm(double v) {
  std::ostringstream s;
  s << std::setprecision(6) << v << " mm";
  return s.str();
}

void check_positive(double v, const char* what) {
  if (!std::isfinite(v) || v <= 0)
    throw usage_error(std::string(what) + " must be a positive number (got " + mm(v) + ")");
}

// Grey value (0..255) of each pixel: luma for colour, the first channel for grey; and whether
// its alpha (if any) makes it part of the image at all.
std::vector<std::uint8_t> grey_values(const Image8& image, std::vector<char>& opaque) {
  std::vector<std::uint8_t> out(image.pixel_count());
  opaque.assign(image.pixel_count(), 1);
  const auto c = static_cast<std::size_t>(image.channels);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const std::uint8_t* p = &image.pixels[i * c];
    out[i] = c >= 3 ? static_cast<std::uint8_t>(std::lround(0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2])) : p[0];
    if (image.has_alpha() && p[c - 1] < 128) opaque[i] = 0;
  }
  return out;
}

bool mask_on(const Image8& mask, std::size_t i) {
  const auto c = static_cast<std::size_t>(mask.channels);
  const std::uint8_t* p = &mask.pixels[i * c];
  if (mask.has_alpha() && p[c - 1] < 128) return false;
  const std::size_t colours = mask.has_alpha() ? c - 1 : c;
  return std::any_of(p, p + colours, [](std::uint8_t v) { return v != 0; });
}

bool same_regions(const Regions& a, const Regions& b) {
  if (a.islands.size() != b.islands.size()) return false;
  for (std::size_t i = 0; i < a.islands.size(); ++i)
    if (a.islands[i].outer != b.islands[i].outer || a.islands[i].holes != b.islands[i].holes) return false;
  return true;
}

// Drops repeated consecutive points (the closing point too) so no side wall has a zero-length
// edge; returns an empty ring when fewer than three points or no area remain.
Ring cleaned(const Ring& ring, bool want_ccw) {
  Ring out;
  out.reserve(ring.size());
  for (Point2 p : ring)
    if (out.empty() || !(p == out.back())) out.push_back(p);
  while (out.size() > 1 && out.front() == out.back()) out.pop_back();
  const double a = signed_area(out);
  if (out.size() < 3 || a == 0) return {};
  if ((a > 0) != want_ccw) std::reverse(out.begin(), out.end());
  return out;
}

// One island extruded from z0 to z1: caps from the exact triangulation, a wall quad per edge.
void add_prism(const PolygonWithHoles& island, double z0, double z1, Mesh& mesh) {
  PolygonWithHoles poly;
  poly.outer = cleaned(island.outer, true);
  if (poly.outer.empty()) return;
  for (const Ring& h : island.holes) {
    Ring c = cleaned(h, false);
    if (!c.empty()) poly.holes.push_back(std::move(c));
  }
  std::vector<Point2> pts;
  const auto tris = triangulate(poly, pts);
  const auto base = static_cast<std::uint32_t>(mesh.vertices.size());
  const auto n = static_cast<std::uint32_t>(pts.size());
  for (Point2 p : pts) mesh.vertices.push_back({float(p.x), float(p.y), float(z0)});
  for (Point2 p : pts) mesh.vertices.push_back({float(p.x), float(p.y), float(z1)});
  for (const auto& t : tris) {
    const auto a = static_cast<std::uint32_t>(t[0]), b = static_cast<std::uint32_t>(t[1]),
               c = static_cast<std::uint32_t>(t[2]);
    mesh.triangles.push_back({base + n + a, base + n + b, base + n + c});  // top, facing up
    mesh.triangles.push_back({base + a, base + c, base + b});              // bottom, facing down
  }
  // Rings run with the solid on their left (outer CCW, holes CW), so the wall faces right.
  std::uint32_t first = 0;
  auto walls = [&](std::size_t count) {
    for (std::uint32_t k = 0; k < count; ++k) {
      const std::uint32_t i = base + first + k, j = base + first + (k + 1) % static_cast<std::uint32_t>(count);
      mesh.triangles.push_back({i, j, j + n});
      mesh.triangles.push_back({i, j + n, i + n});
    }
    first += static_cast<std::uint32_t>(count);
  };
  walls(poly.outer.size());
  for (const Ring& h : poly.holes) walls(h.size());
}

}  // namespace

std::vector<double> layer_tops(const LayerParams& params) {
  check_positive(params.thickness_mm, "the part thickness");
  check_positive(params.first_layer_height_mm, "the first layer height");
  check_positive(params.layer_height_mm, "the layer height");
  const double t = params.thickness_mm, first = params.first_layer_height_mm, h = params.layer_height_mm;
  const double eps = 1e-9 * std::max(1.0, t);
  if (t < first - eps)
    throw usage_error("the part (" + mm(t) + " thick) is thinner than the first layer (" + mm(first) + ")");
  // Layers after the first: as many as fit by rounding, so the last one is within [0.5, 1.5] of
  // a layer height. Less than half a layer left: the only layer absorbs it.
  const double rest = t - first;
  const double count = std::floor(rest / h + 0.5 + 1e-9);  // 1e-9: 0.3 - 0.2 is 0.0999...
  if (count > 100000)
    throw usage_error("the part (" + mm(t) + " thick) would need more than 100000 layers of " + mm(h));
  std::vector<double> tops;
  const auto n = static_cast<long>(count);
  if (rest <= eps || n == 0) return {t};
  tops.reserve(static_cast<std::size_t>(n) + 1);
  for (long k = 0; k < n; ++k) tops.push_back(first + static_cast<double>(k) * h);
  tops.push_back(t);
  return tops;
}

std::vector<LayerRegions> extrude_layers(const Regions& regions, const LayerParams& params) {
  std::vector<LayerRegions> layers;
  double below = 0;
  for (double z : layer_tops(params)) {
    layers.push_back({z, z - below, regions});
    below = z;
  }
  return layers;
}

std::vector<LayerRegions> heightmap_layers(const Image8& heights, const Image8& mask, const LayerParams& params,
                                           double mm_per_pixel_, Point2 centre_mm, double min_feature_area_mm2,
                                           double simplify_tolerance_mm) {
  if (heights.empty()) throw input_error("the height image is empty (no pixels)");
  if (!mask.empty() && (mask.width != heights.width || mask.height != heights.height))
    throw usage_error("the mask (" + std::to_string(mask.width) + " x " + std::to_string(mask.height) +
                      ") must have the height image's size (" + std::to_string(heights.width) + " x " +
                      std::to_string(heights.height) + ")");
  check_positive(mm_per_pixel_, "mm per pixel");
  const std::vector<double> tops = layer_tops(params);
  std::vector<char> opaque;
  const std::vector<std::uint8_t> grey = grey_values(heights, opaque);
  std::vector<char> part(grey.size());
  for (std::size_t i = 0; i < grey.size(); ++i) part[i] = mask.empty() ? (opaque[i] && grey[i] > 0) : mask_on(mask, i);

  std::vector<LayerRegions> layers;
  Image8 layer_mask(heights.width, heights.height, 1), previous_mask;
  double below = 0;
  for (std::size_t k = 0; k < tops.size(); ++k) {
    const double z = tops[k], h = z - below;
    // A pixel belongs to the layer if its height reaches the layer's middle.
    const double cut = (z - 0.5 * h) / params.thickness_mm * 255.0;
    for (std::size_t i = 0; i < grey.size(); ++i) {
      const bool in = part[i] && ((k == 0 && !mask.empty()) || grey[i] >= cut - 1e-9);
      layer_mask.pixels[i] = in ? 255 : 0;
    }
    LayerRegions layer{z, h, {}};
    if (k > 0 && layer_mask.pixels == previous_mask.pixels) {
      layer.regions = layers.back().regions;  // identical: layers_to_mesh merges them into one prism
    } else {
      layer.regions =
          mask_to_regions(layer_mask, mm_per_pixel_, centre_mm, min_feature_area_mm2, simplify_tolerance_mm);
      // Simplification moves outlines a little; clip to the layer below so nothing overhangs.
      if (k > 0) {
        Regions nested = clip::intersection(layer.regions, layers.back().regions);
        std::erase_if(nested.islands, [&](const PolygonWithHoles& p) { return area(p) < min_feature_area_mm2; });
        layer.regions = std::move(nested);
      }
    }
    if (layer.regions.empty()) break;  // nothing higher can be part either
    layers.push_back(std::move(layer));
    previous_mask.pixels = layer_mask.pixels;
    below = z;
  }
  return layers;
}

Mesh layers_to_mesh(const std::vector<LayerRegions>& layers) {
  Mesh mesh;
  for (std::size_t first = 0; first < layers.size();) {
    std::size_t last = first;
    while (last + 1 < layers.size() && same_regions(layers[last + 1].regions, layers[first].regions)) ++last;
    const double z0 = layers[first].z_mm - layers[first].height_mm, z1 = layers[last].z_mm;
    for (const auto& island : layers[first].regions.islands) add_prism(island, z0, z1, mesh);
    first = last + 1;
  }
  return mesh;
}

}  // namespace fabforge::toolpath
