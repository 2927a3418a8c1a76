#include "fabforge/core/polygon.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "fabforge/core/atomic_file.hpp"
#include "fabforge/core/error.hpp"

namespace fabforge {

double signed_area(const Ring& ring) {
  const std::size_t n = ring.size();
  if (n < 3) return 0;
  double twice = 0;
  for (std::size_t i = 0, j = n - 1; i < n; j = i++) twice += (ring[j].x - ring[i].x) * (ring[j].y + ring[i].y);
  return 0.5 * twice;
}

double area(const PolygonWithHoles& polygon) {
  double a = std::abs(signed_area(polygon.outer));
  for (const Ring& h : polygon.holes) a -= std::abs(signed_area(h));
  return a;
}

double area(const Regions& regions) {
  double a = 0;
  for (const auto& island : regions.islands) a += area(island);
  return a;
}

namespace {

double ring_length(const Ring& ring) {
  double len = 0;
  for (std::size_t i = 0, j = ring.size() - 1; i < ring.size(); j = i++)
    len += std::hypot(ring[i].x - ring[j].x, ring[i].y - ring[j].y);
  return len;
}

// Crossing-number test for one ring; toggles `inside` for every edge crossed by a ray to +x.
void toggle_crossings(const Ring& ring, Point2 p, bool& inside) {
  const std::size_t n = ring.size();
  for (std::size_t i = 0, j = n - 1; i < n; j = i++) {
    const Point2 a = ring[i], b = ring[j];
    if ((a.y > p.y) != (b.y > p.y)) {
      const double x = a.x + (p.y - a.y) * (b.x - a.x) / (b.y - a.y);
      if (p.x < x) inside = !inside;
    }
  }
}

template <class F>
Regions map_points(const Regions& regions, F&& f, bool reverse) {
  Regions out = regions;
  for (auto& island : out.islands) {
    for (Point2& p : island.outer) p = f(p);
    if (reverse) std::reverse(island.outer.begin(), island.outer.end());
    for (Ring& h : island.holes) {
      for (Point2& p : h) p = f(p);
      if (reverse) std::reverse(h.begin(), h.end());
    }
  }
  return out;
}

nlohmann::json ring_json(const Ring& ring) {
  nlohmann::json a = nlohmann::json::array();
  for (Point2 p : ring) a.push_back({p.x, p.y});
  return a;
}

Ring ring_from_json(const nlohmann::json& j, const std::string& source, const char* what) {
  if (!j.is_array()) throw input_error(source + ": " + what + " must be an array of [x, y] points");
  Ring ring;
  ring.reserve(j.size());
  for (const auto& pt : j) {
    if (!pt.is_array() || pt.size() != 2 || !pt[0].is_number() || !pt[1].is_number())
      throw input_error(source + ": " + what + ": every point must be [x, y] with two numbers");
    const Point2 p{pt[0].get<double>(), pt[1].get<double>()};
    if (!std::isfinite(p.x) || !std::isfinite(p.y)) throw input_error(source + ": " + what + ": non-finite coordinate");
    ring.push_back(p);
  }
  if (ring.size() < 3) throw input_error(source + ": " + what + " has fewer than 3 points");
  return ring;
}

}  // namespace

double perimeter(const Regions& regions) {
  double len = 0;
  for (const auto& island : regions.islands) {
    if (!island.outer.empty()) len += ring_length(island.outer);
    for (const Ring& h : island.holes)
      if (!h.empty()) len += ring_length(h);
  }
  return len;
}

Box2 bounds(const Regions& regions) {
  Box2 box;
  for (const auto& island : regions.islands)
    for (Point2 p : island.outer) box.add(p);
  return box;
}

bool contains(const PolygonWithHoles& polygon, Point2 p) {
  bool inside = false;
  if (polygon.outer.size() >= 3) toggle_crossings(polygon.outer, p, inside);
  for (const Ring& h : polygon.holes)
    if (h.size() >= 3) toggle_crossings(h, p, inside);
  return inside;
}

bool contains(const Regions& regions, Point2 p) {
  bool inside = false;
  for (const auto& island : regions.islands) inside = inside != contains(island, p);
  return inside;
}

std::size_t ring_count(const Regions& regions) {
  std::size_t n = 0;
  for (const auto& island : regions.islands) n += 1 + island.holes.size();
  return n;
}

Regions translated(const Regions& regions, double dx, double dy) {
  return map_points(
      regions,
      [&](Point2 p) {
        return Point2{p.x + dx, p.y + dy};
      },
      false);
}

Regions mirrored_x(const Regions& regions, double axis_x) {
  return map_points(
      regions,
      [&](Point2 p) {
        return Point2{2 * axis_x - p.x, p.y};
      },
      true);
}

std::string regions_to_json(const Regions& regions) {
  nlohmann::json j;
  j["format"] = "fabforge-regions";
  j["version"] = 1;
  j["units"] = "mm";
  nlohmann::json islands = nlohmann::json::array();
  for (const auto& island : regions.islands) {
    nlohmann::json holes = nlohmann::json::array();
    for (const Ring& h : island.holes) holes.push_back(ring_json(h));
    islands.push_back({{"outer", ring_json(island.outer)}, {"holes", holes}});
  }
  j["islands"] = std::move(islands);
  return j.dump() + "\n";
}

Regions regions_from_json(std::string_view text, const std::string& source) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw input_error(source + ": not valid JSON: " + e.what());
  }
  if (!j.is_object() || j.value("format", std::string()) != "fabforge-regions")
    throw input_error(source + ": not a fabforge regions file (expected \"format\": \"fabforge-regions\")");
  if (j.value("version", 0) != 1) throw input_error(source + ": unsupported regions version (expected 1)");
  if (j.value("units", std::string("mm")) != "mm") throw input_error(source + ": units must be \"mm\"");
  if (!j.contains("islands") || !j["islands"].is_array()) throw input_error(source + ": missing \"islands\" array");
  Regions regions;
  for (const auto& isl : j["islands"]) {
    if (!isl.is_object() || !isl.contains("outer"))
      throw input_error(source + ": every island needs an \"outer\" ring");
    PolygonWithHoles poly;
    poly.outer = ring_from_json(isl["outer"], source, "outer ring");
    if (isl.contains("holes")) {
      if (!isl["holes"].is_array()) throw input_error(source + ": \"holes\" must be an array of rings");
      for (const auto& h : isl["holes"]) poly.holes.push_back(ring_from_json(h, source, "hole"));
    }
    regions.islands.push_back(std::move(poly));
  }
  return regions;
}

void write_regions(const std::filesystem::path& path, const Regions& regions) {
  write_file_atomic(path, regions_to_json(regions));
}

Regions read_regions(const std::filesystem::path& path) { return regions_from_json(read_file(path), path.string()); }

}  // namespace fabforge
