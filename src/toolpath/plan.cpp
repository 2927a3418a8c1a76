#include "fabforge/toolpath/plan.hpp"

#include <cmath>
#include <sstream>

#include "fabforge/core/error.hpp"
#include "fabforge/core/parallel.hpp"
#include "fabforge/gcode/flow.hpp"

#include "clipper_util.hpp"
#include "plan_internal.hpp"

namespace fabforge::toolpath {

namespace {

using detail::IslandPaths;
using detail::LayerPaths;
using detail::LayerWidths;
using detail::PathItem;

void validate(const PlanParams& p) {
  const auto range = [](double v, double lo, double hi, const char* what) {
    if (!(v >= lo && v <= hi)) {
      std::ostringstream msg;
      msg << what << " is " << v << ", expected a value in [" << lo << ", " << hi << "]";
      throw usage_error(msg.str());
    }
  };
  range(p.nozzle_diameter_mm, 0.05, 3, "nozzle diameter (mm)");
  range(p.line_width_mm, 0.5 * p.nozzle_diameter_mm, 3 * p.nozzle_diameter_mm, "line width (mm)");
  range(p.first_layer_line_width_mm, 0.5 * p.nozzle_diameter_mm, 3 * p.nozzle_diameter_mm,
        "first layer line width (mm)");
  range(p.perimeters, 0, 50, "perimeters");
  range(p.top_layers, 0, 100, "top solid layers");
  range(p.bottom_layers, 0, 100, "bottom solid layers");
  range(p.infill_density, 0, 1, "infill density");
  range(p.infill_overlap, 0, 0.5, "infill overlap");
  range(p.skirt_loops, 0, 20, "skirt loops");
  range(p.skirt_distance_mm, 0, 100, "skirt distance (mm)");
  range(p.optimize, 0, 2, "optimisation level");
  if (p.solid_pattern != InfillPattern::zigzag && p.solid_pattern != InfillPattern::rectilinear &&
      p.solid_pattern != InfillPattern::concentric)
    throw usage_error("solid infill pattern must be zigzag, rectilinear or concentric, not " +
                      std::string(infill_pattern_name(p.solid_pattern)));
}

// Areas of each layer that must be solid (not covered by the part within top_layers above and
// bottom_layers below) and that are top surfaces (not covered by the next layer).
struct SolidMasks {
  Regions solid, top;
};

SolidMasks solid_masks(const std::vector<LayerRegions>& layers, std::size_t i, const PlanParams& p) {
  const std::size_t n = layers.size();
  const Regions& here = layers[i].regions;
  SolidMasks m;
  if (i + 1 >= n)
    m.top = here;
  else if (here != layers[i + 1].regions)
    m.top = clip::difference(here, layers[i + 1].regions);
  // What has part on every layer within reach above and below; layers equal to this one (every
  // layer of an extruded part) change nothing and cost no clipping.
  Regions supported = here;
  const auto narrow = [&](std::size_t j) {
    if (layers[j].regions != here) supported = clip::intersection(supported, layers[j].regions);
  };
  for (int k = 1; k <= p.top_layers && !supported.empty(); ++k) {
    if (i + static_cast<std::size_t>(k) >= n)
      supported = Regions{};
    else
      narrow(i + static_cast<std::size_t>(k));
  }
  for (int k = 1; k <= p.bottom_layers && !supported.empty(); ++k) {
    if (i < static_cast<std::size_t>(k))
      supported = Regions{};
    else
      narrow(i - static_cast<std::size_t>(k));
  }
  m.solid = supported.empty() ? here : clip::difference(here, supported);
  return m;
}

// One infill to compute: an area, a pattern and where the lines go. Filled after all layers are
// planned, so that equal requests (the same solid layer every other layer of an extruded part)
// are computed once.
struct FillRequest {
  std::size_t layer = 0, island = 0;
  gcode::Feature feature = gcode::Feature::other;
  Regions area;
  InfillParams params;
};

void add_fill(std::vector<FillRequest>& out, std::size_t layer, std::size_t island, const Regions& area,
              gcode::Feature feature, InfillParams ip) {
  if (area.empty()) return;
  // Only the gyroid depends on z and only honeycomb on the layer (modulo its 3 directions);
  // clearing what a pattern ignores lets equal requests be recognised.
  if (ip.pattern != InfillPattern::gyroid) ip.z_mm = 0;
  ip.layer_index = ip.pattern == InfillPattern::honeycomb ? ip.layer_index % 3 : 0;
  out.push_back({layer, island, feature, area, ip});
}

LayerWidths layer_widths(const std::vector<LayerRegions>& layers, std::size_t i, const PlanParams& p) {
  LayerWidths w;
  w.height_mm = layers[i].height_mm;
  w.wall_mm = i == 0 ? p.first_layer_line_width_mm : p.line_width_mm;
  w.spacing_mm = gcode::line_spacing_mm(w.wall_mm, w.height_mm);
  return w;
}

// Walls of every island of a layer.
using LayerWalls = std::vector<detail::WallResult>;

LayerWalls make_layer_walls(const std::vector<LayerRegions>& layers, std::size_t i, const PlanParams& p) {
  LayerWalls walls;
  const LayerWidths w = layer_widths(layers, i, p);
  for (const PolygonWithHoles& island : layers[i].regions.islands) walls.push_back(detail::make_walls(island, w, p));
  return walls;
}

LayerPaths plan_layer(const std::vector<LayerRegions>& layers, std::size_t i, const LayerWalls& layer_walls,
                      const PlanParams& p, double& dropped_area, std::vector<FillRequest>& fills) {
  const LayerRegions& layer = layers[i];
  const LayerWidths w = layer_widths(layers, i, p);
  const SolidMasks masks = solid_masks(layers, i, p);
  const double angle = p.infill_angle_deg + (i % 2 == 1 ? 90.0 : 0.0);

  LayerPaths out;
  out.z_mm = layer.z_mm;
  out.height_mm = layer.height_mm;
  for (std::size_t k = 0; k < layer.regions.islands.size(); ++k) {
    IslandPaths ip;
    ip.island = layer.regions.islands[k];
    const detail::WallResult& walls = layer_walls[k];
    dropped_area += walls.dropped_area_mm2;
    ip.walls = walls.walls;
    ip.gaps = walls.gaps;
    // Split the infill area into top surface, other solid, and sparse.
    const Regions& centre = walls.infill_centre;
    const Regions top = clip::intersection(centre, masks.top);
    const Regions solid = clip::difference(clip::intersection(centre, masks.solid), top);
    const Regions sparse = clip::difference(clip::difference(centre, solid), top);
    InfillParams fill;
    fill.line_width_mm = w.wall_mm;
    fill.line_spacing_mm = w.spacing_mm;
    fill.angle_deg = angle;
    fill.z_mm = layer.z_mm;
    fill.layer_index = static_cast<int>(i);
    fill.pattern = p.solid_pattern;
    fill.density = 1.0;
    add_fill(fills, i, k, top, gcode::Feature::top_solid_infill, fill);
    add_fill(fills, i, k, solid, gcode::Feature::solid_infill, fill);
    if (p.infill_density > 0) {
      fill.pattern = p.sparse_pattern;
      fill.density = p.infill_density;
      // Only line patterns turn between layers; honeycomb, triangles and gyroid must stack
      // (honeycomb changes its own wall direction per layer).
      const bool turns = p.sparse_pattern == InfillPattern::rectilinear || p.sparse_pattern == InfillPattern::zigzag ||
                         p.sparse_pattern == InfillPattern::concentric;
      fill.angle_deg = turns ? angle : p.infill_angle_deg;
      add_fill(fills, i, k, sparse, gcode::Feature::sparse_infill, fill);
    }
    out.islands.push_back(std::move(ip));
  }
  if (i == 0 && p.skirt_loops > 0 && !layer.regions.empty()) {
    for (int k = 0; k < p.skirt_loops; ++k) {
      const Regions loop =
          clip::offset(layer.regions, p.skirt_distance_mm + w.wall_mm / 2 + k * w.spacing_mm, ClipperLib::jtRound);
      for (const PolygonWithHoles& isl : loop.islands)
        out.skirt.push_back({gcode::Feature::skirt, true, w.wall_mm, isl.outer});
    }
  }
  return out;
}

}  // namespace

PlannedToolpaths plan_toolpaths(const std::vector<LayerRegions>& layers, const PlanParams& params,
                                RunContext& context) {
  validate(params);
  if (layers.empty()) throw usage_error("nothing to plan: no layers");
  const std::size_t n = layers.size();
  // Walls depend only on a layer's regions and widths: layers equal to the one below (every
  // layer above the first of an extruded part) share its walls.
  std::vector<std::size_t> walls_of(n);
  std::vector<std::size_t> distinct;
  for (std::size_t i = 0; i < n; ++i) {
    const bool same =
        i > 1 && layers[i].regions == layers[i - 1].regions && layers[i].height_mm == layers[i - 1].height_mm;
    if (!same) distinct.push_back(i);
    walls_of[i] = same ? walls_of[i - 1] : i;
  }
  std::vector<LayerWalls> walls(n);
  std::vector<LayerPaths> planned(n);
  std::vector<double> dropped(n, 0.0);
  std::vector<std::vector<FillRequest>> fills(n);
  auto task = context.task("planning paths", n, "layers");
  context.run([&] {
    parallel_for_each_index(0, distinct.size(), 1, [&](std::size_t k) {
      if (!context.cancelled()) walls[distinct[k]] = make_layer_walls(layers, distinct[k], params);
    });
    parallel_for_each_index(0, n, 1, [&](std::size_t i) {
      if (context.cancelled()) return;
      planned[i] = plan_layer(layers, i, walls[walls_of[i]], params, dropped[i], fills[i]);
      task->advance();
    });
  });
  context.throw_if_cancelled();
  // Infill: each distinct request once, in parallel; then handed to its island in request order.
  std::vector<const FillRequest*> requests, distinct_fills;
  std::vector<std::size_t> fill_of;
  for (const auto& layer_fills : fills)
    for (const FillRequest& r : layer_fills) {
      std::size_t match = distinct_fills.size();
      for (std::size_t d = 0; d < distinct_fills.size() && match == distinct_fills.size(); ++d)
        if (distinct_fills[d]->params == r.params && distinct_fills[d]->area == r.area) match = d;
      if (match == distinct_fills.size()) distinct_fills.push_back(&r);
      requests.push_back(&r);
      fill_of.push_back(match);
    }
  std::vector<std::vector<InfillLine>> filled(distinct_fills.size());
  context.run([&] {
    parallel_for_each_index(0, distinct_fills.size(), 1, [&](std::size_t d) {
      if (!context.cancelled()) filled[d] = fill_area(distinct_fills[d]->area, distinct_fills[d]->params);
    });
  });
  for (std::size_t k = 0; k < requests.size(); ++k) {
    const FillRequest& r = *requests[k];
    for (const InfillLine& line : filled[fill_of[k]])
      planned[r.layer].islands[r.island].infill.push_back(
          {r.feature, line.closed, r.params.line_width_mm, line.points});
  }
  context.throw_if_cancelled();
  task->finish();

  PlannedToolpaths result;
  result.toolpaths.layers.resize(n);
  Point2 at{};
  bool have_at = false;
  for (std::size_t i = 0; i < n; ++i) {
    gcode::ToolpathLayer& out = result.toolpaths.layers[i];
    out.z_mm = planned[i].z_mm;
    out.height_mm = planned[i].height_mm;
    out.paths = detail::order_layer(planned[i], have_at ? &at : nullptr, params, at);
    have_at = have_at || !out.paths.empty();
    for (const auto& path : out.paths) {
      result.report.extrusion_mm += gcode::path_length(path);
      if (path.feature == gcode::Feature::gap_fill) ++result.report.gap_fill_paths;
    }
    result.report.paths += out.paths.size();
    result.report.dropped_area_mm2 += dropped[i];
  }
  if (result.report.dropped_area_mm2 > 0.01) {
    std::ostringstream msg;
    msg.precision(3);
    msg << result.report.dropped_area_mm2 << " mm^2 (summed over layers) lie in gaps narrower than "
        << 0.25 * params.nozzle_diameter_mm << " mm or specks smaller than "
        << params.line_width_mm * params.line_width_mm << " mm^2 between walls and are not printed";
    result.report.warnings.push_back(msg.str());
  }
  return result;
}

}  // namespace fabforge::toolpath
