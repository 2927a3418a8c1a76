#include "fabforge/gcode/toolpaths.hpp"

#include <array>
#include <cmath>
#include <utility>

#include "fabforge/core/text.hpp"

namespace fabforge::gcode {

std::string_view feature_name(Feature feature) {
  switch (feature) {
    case Feature::wall_outer:
      return "WALL-OUTER";
    case Feature::wall_inner:
      return "WALL-INNER";
    case Feature::gap_fill:
      return "GAP-FILL";
    case Feature::solid_infill:
      return "SKIN";
    case Feature::top_solid_infill:
      return "TOP-SKIN";
    case Feature::sparse_infill:
      return "FILL";
    case Feature::skirt:
      return "SKIRT";
    case Feature::support:
      return "SUPPORT";
    case Feature::other:
      break;
  }
  return "OTHER";
}

Feature feature_from_comment(std::string_view name) {
  // Case-insensitive: fabforge and Cura write upper case, PrusaSlicer capitalises.
  static const std::array<std::pair<std::string_view, Feature>, 24> table{{
      {"wall-outer", Feature::wall_outer},
      {"external perimeter", Feature::wall_outer},
      {"wall-inner", Feature::wall_inner},
      {"perimeter", Feature::wall_inner},
      {"overhang perimeter", Feature::wall_outer},
      {"gap-fill", Feature::gap_fill},
      {"gap fill", Feature::gap_fill},
      {"skin", Feature::solid_infill},
      {"solid infill", Feature::solid_infill},
      {"bridge infill", Feature::solid_infill},
      {"internal bridge infill", Feature::solid_infill},
      {"top-skin", Feature::top_solid_infill},
      {"top solid infill", Feature::top_solid_infill},
      {"ironing", Feature::top_solid_infill},
      {"fill", Feature::sparse_infill},
      {"internal infill", Feature::sparse_infill},
      {"skirt", Feature::skirt},
      {"skirt/brim", Feature::skirt},
      {"brim", Feature::skirt},
      {"prime-tower", Feature::other},
      {"support", Feature::support},
      {"support material", Feature::support},
      {"support material interface", Feature::support},
      {"support-interface", Feature::support},
  }};
  const std::string key = to_lower(trim(name));
  for (const auto& [n, f] : table)
    if (key == n) return f;
  return Feature::other;
}

double path_length(const ExtrusionPath& path) {
  double total = 0;
  const auto& p = path.points;
  for (std::size_t i = 1; i < p.size(); ++i) total += std::hypot(p[i].x - p[i - 1].x, p[i].y - p[i - 1].y);
  if (path.closed && p.size() > 2) total += std::hypot(p.front().x - p.back().x, p.front().y - p.back().y);
  return total;
}

}  // namespace fabforge::gcode
