// Print order: which island, which path, which direction and where a loop starts, chosen to keep
// non-extruding travel short. Each group of paths (walls, gap fill, infill of one island) is a
// small travelling-salesman problem with choices: open paths may run either way, loops may start
// anywhere along them. Nearest neighbour gives a first tour; 2-opt (reversing a run of paths,
// which also reverses each one) and Or-opt (moving one path, possibly flipped) improve it; then
// loop seams move to the point that minimises the travel in and out, and the passes repeat.

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>

#include "plan_internal.hpp"

namespace fabforge::toolpath::detail {

namespace {

// sqrt of the sum rather than std::hypot: no overflow is possible at bed scale, and glibc's
// hypot was 6 % of the planning time.
double dist(Point2 a, Point2 b) {
  const double dx = a.x - b.x, dy = a.y - b.y;
  return std::sqrt(dx * dx + dy * dy);
}

Point2 nearest_on_segment(Point2 p, Point2 a, Point2 b) {
  const double dx = b.x - a.x, dy = b.y - a.y;
  const double len2 = dx * dx + dy * dy;
  double t = len2 > 0 ? ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2 : 0.0;
  t = std::clamp(t, 0.0, 1.0);
  return {a.x + t * dx, a.y + t * dy};
}

// Where a loop should start to minimise |p - v| + |v - q| (q optional): per edge, the points
// nearest p and q and the crossing with segment pq are the candidates.
struct Seam {
  std::size_t edge = 0;  // the seam lies on the edge from points[edge] to points[edge + 1]
  Point2 at;
};

bool segment_crossing(Point2 a, Point2 b, Point2 c, Point2 d, Point2& out) {
  const double r_x = b.x - a.x, r_y = b.y - a.y, s_x = d.x - c.x, s_y = d.y - c.y;
  const double den = r_x * s_y - r_y * s_x;
  if (std::abs(den) < 1e-18) return false;
  const double t = ((c.x - a.x) * s_y - (c.y - a.y) * s_x) / den;
  const double u = ((c.x - a.x) * r_y - (c.y - a.y) * r_x) / den;
  if (t < 0 || t > 1 || u < 0 || u > 1) return false;
  out = {a.x + t * r_x, a.y + t * r_y};
  return true;
}

Seam best_seam(const std::vector<Point2>& loop, Point2 p, const Point2* q) {
  Seam best;
  double best_cost = std::numeric_limits<double>::infinity();
  const std::size_t n = loop.size();
  for (std::size_t i = 0; i < n; ++i) {
    const Point2 a = loop[i], b = loop[(i + 1) % n];
    Point2 cands[3] = {nearest_on_segment(p, a, b), q ? nearest_on_segment(*q, a, b) : a, a};
    int count = q ? 2 : 1;
    if (q && segment_crossing(p, *q, a, b, cands[2])) count = 3;
    for (int c = 0; c < count; ++c) {
      const double cost = dist(p, cands[c]) + (q ? dist(cands[c], *q) : 0.0);
      if (cost < best_cost - 1e-12) best_cost = cost, best = {i, cands[c]};
    }
  }
  return best;
}

// One path as the tour sees it.
struct Node {
  const PathItem* item = nullptr;
  bool reversed = false;  // open paths: printed back to front
  Seam seam;              // loops: where printing starts and ends
  Point2 entry() const {
    if (item->closed) return seam.at;
    return reversed ? item->points.back() : item->points.front();
  }
  Point2 exit() const {
    if (item->closed) return seam.at;
    return reversed ? item->points.front() : item->points.back();
  }
};

// Nearest-neighbour tour from `from`.
std::vector<Node> nearest_neighbour(const std::vector<PathItem>& items, Point2 from) {
  std::vector<Node> tour;
  tour.reserve(items.size());
  std::vector<char> used(items.size(), 0);
  for (std::size_t step = 0; step < items.size(); ++step) {
    double best = std::numeric_limits<double>::infinity();
    Node pick;
    std::size_t pick_index = 0;
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (used[i]) continue;
      const PathItem& it = items[i];
      if (it.closed) {
        // Cheap lower bound first: the nearest vertex can only be farther than the nearest point.
        const Seam s = best_seam(it.points, from, nullptr);
        const double d = dist(from, s.at);
        if (d < best) best = d, pick = {&it, false, s}, pick_index = i;
      } else {
        const double d0 = dist(from, it.points.front()), d1 = dist(from, it.points.back());
        if (std::min(d0, d1) < best) best = std::min(d0, d1), pick = {&it, d1 < d0, {}}, pick_index = i;
      }
    }
    used[pick_index] = 1;
    tour.push_back(pick);
    from = pick.exit();
  }
  return tour;
}

double tour_cost(const std::vector<Node>& t, Point2 start) {
  double c = 0;
  Point2 at = start;
  for (const Node& n : t) {
    c += dist(at, n.entry());
    at = n.exit();
  }
  return c;
}

// 2-opt: reverse t[i..j] (each open path flips) when that shortens the tour.
bool two_opt(std::vector<Node>& t, Point2 start) {
  bool improved = false;
  const std::size_t n = t.size();
  const std::size_t window = n > 1500 ? 100 : n;
  for (std::size_t i = 0; i < n; ++i) {
    const Point2 before = i == 0 ? start : t[i - 1].exit();
    for (std::size_t j = i + 1; j < n && j - i <= window; ++j) {
      const bool has_after = j + 1 < n;
      const double old_cost = dist(before, t[i].entry()) + (has_after ? dist(t[j].exit(), t[j + 1].entry()) : 0.0);
      // After reversal t[j] comes first, flipped: its new entry is its old exit, and t[i]'s new
      // exit is its old entry.
      const double new_cost = dist(before, t[j].exit()) + (has_after ? dist(t[i].entry(), t[j + 1].entry()) : 0.0);
      if (new_cost < old_cost - 1e-9) {
        std::reverse(t.begin() + static_cast<std::ptrdiff_t>(i), t.begin() + static_cast<std::ptrdiff_t>(j) + 1);
        for (std::size_t k = i; k <= j; ++k)
          if (!t[k].item->closed) t[k].reversed = !t[k].reversed;
        improved = true;
      }
    }
  }
  return improved;
}

// Or-opt: move one path (optionally flipped) to the place where it costs least.
bool or_opt(std::vector<Node>& t, Point2 start) {
  bool improved = false;
  const std::size_t n = t.size();
  if (n < 3) return false;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const Point2 prev = i == 0 ? start : t[i - 1].exit();
    const bool has_next = i + 1 < t.size();
    const double removed_gain = dist(prev, t[i].entry()) + (has_next ? dist(t[i].exit(), t[i + 1].entry()) : 0.0) -
                                (has_next ? dist(prev, t[i + 1].entry()) : 0.0);
    Node node = t[i];
    std::vector<Node> rest(t);
    rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(i));
    double best_delta = -1e-9;
    std::size_t best_pos = i;
    bool best_flip = false;
    for (std::size_t pos = 0; pos <= rest.size(); ++pos) {
      if (pos == i) continue;
      const Point2 a = pos == 0 ? start : rest[pos - 1].exit();
      const bool has_b = pos < rest.size();
      for (int flip = 0; flip < (node.item->closed ? 1 : 2); ++flip) {
        Node m = node;
        if (flip) m.reversed = !m.reversed;
        const double added = dist(a, m.entry()) + (has_b ? dist(m.exit(), rest[pos].entry()) : 0.0) -
                             (has_b ? dist(a, rest[pos].entry()) : 0.0);
        const double delta = added - removed_gain;
        if (delta < best_delta) best_delta = delta, best_pos = pos, best_flip = flip != 0;
      }
    }
    if (best_pos != i) {
      if (best_flip) node.reversed = !node.reversed;
      rest.insert(rest.begin() + static_cast<std::ptrdiff_t>(best_pos), node);
      t = std::move(rest);
      improved = true;
    }
  }
  return improved;
}

// Moves each loop's seam to where travel in and out is shortest.
void refine_seams(std::vector<Node>& t, Point2 start) {
  for (std::size_t k = 0; k < t.size(); ++k) {
    if (!t[k].item->closed) continue;
    const Point2 prev = k == 0 ? start : t[k - 1].exit();
    if (k + 1 < t.size()) {
      const Point2 next = t[k + 1].entry();
      t[k].seam = best_seam(t[k].item->points, prev, &next);
    } else {
      t[k].seam = best_seam(t[k].item->points, prev, nullptr);
    }
  }
}

std::vector<Node> sequence(const std::vector<PathItem>& items, Point2 start, int effort) {
  std::vector<Node> tour = nearest_neighbour(items, start);
  if (effort <= 0 || tour.size() < 2) return tour;
  const bool heavy = tour.size() > 600;  // Or-opt is O(n^2) per pass
  for (int round = 0; round < 4; ++round) {
    const double before = tour_cost(tour, start);
    for (int pass = 0; pass < 6 && two_opt(tour, start); ++pass) {
    }
    if (effort >= 2) {
      if (!heavy) or_opt(tour, start);
      refine_seams(tour, start);
    }
    if (tour_cost(tour, start) > before - 1e-6) break;
  }
  return tour;
}

// The path in print order: loops rotated to start at their seam (inserted as a vertex).
gcode::ExtrusionPath emit(const Node& n) {
  gcode::ExtrusionPath p;
  p.feature = n.item->feature;
  p.closed = n.item->closed;
  p.width_mm = n.item->width_mm;
  const auto& pts = n.item->points;
  if (n.item->closed) {
    const std::size_t m = pts.size();
    p.points.reserve(m + 1);
    p.points.push_back(n.seam.at);
    for (std::size_t k = 1; k <= m; ++k) {
      const Point2 v = pts[(n.seam.edge + k) % m];
      if (dist(v, p.points.back()) > 1e-6) p.points.push_back(v);
    }
    if (dist(p.points.back(), p.points.front()) < 1e-6) p.points.pop_back();
  } else {
    p.points = pts;
    if (n.reversed) std::reverse(p.points.begin(), p.points.end());
  }
  return p;
}

// How the travel from a to b (both inside the island) can stay inside it: straight (`via` empty)
// when it crosses none of the island's rings, else along the outline it crosses, each stretch
// outside the part replaced by the shorter way round the ring between the two crossings. Returns
// false when it cannot: a stretch leaves through one ring and comes back through another, the
// crossings are ambiguous (the segment grazes a vertex), or the straight line lies outside.
bool route_inside(Point2 a, Point2 b, const PolygonWithHoles& island, std::vector<Point2>& via, double& length) {
  struct Hit {
    double t;
    const Ring* ring;
    std::size_t edge;
    Point2 at;
  };
  std::vector<Hit> hits;
  via.clear();
  length = 0;
  const double ab = dist(a, b);
  if (ab <= 0) return contains(island, a);
  const auto collect = [&](const Ring& ring) {
    for (std::size_t e = 0; e < ring.size(); ++e) {
      Point2 x;
      if (segment_crossing(a, b, ring[e], ring[(e + 1) % ring.size()], x))
        hits.push_back({dist(a, x) / ab, &ring, e, x});
    }
  };
  collect(island.outer);
  for (const Ring& h : island.holes) collect(h);
  if (hits.empty()) {
    length = ab;
    return contains(island, {(a.x + b.x) / 2, (a.y + b.y) / 2});
  }
  if (hits.size() % 2 != 0) return false;
  std::sort(hits.begin(), hits.end(), [](const Hit& x, const Hit& y) { return x.t < y.t; });
  Point2 at = a;
  for (std::size_t k = 0; k < hits.size(); k += 2) {
    const Hit &h0 = hits[k], &h1 = hits[k + 1];
    if (h0.ring != h1.ring) return false;
    const Ring& r = *h0.ring;
    const std::size_t n = r.size();
    // Forward: p0 -> r[e0+1] -> ... -> r[e1] -> p1; backward: p0 -> r[e0] -> ... -> r[e1+1] -> p1.
    std::vector<Point2> fwd, bwd;
    if (h0.edge != h1.edge) {
      for (std::size_t v = (h0.edge + 1) % n;; v = (v + 1) % n) {
        fwd.push_back(r[v]);
        if (v == h1.edge) break;
      }
      for (std::size_t v = h0.edge;; v = (v + n - 1) % n) {
        bwd.push_back(r[v]);
        if (v == (h1.edge + 1) % n) break;
      }
    }
    const auto walk_length = [&](const std::vector<Point2>& w) {
      double len = 0;
      Point2 p = h0.at;
      for (Point2 q : w) len += dist(p, q), p = q;
      return len + dist(p, h1.at);
    };
    const bool forward = fwd.empty() || walk_length(fwd) <= walk_length(bwd);
    const std::vector<Point2>& w = forward ? fwd : bwd;
    length += dist(at, h0.at) + walk_length(w);
    via.push_back(h0.at);
    via.insert(via.end(), w.begin(), w.end());
    via.push_back(h1.at);
    at = h1.at;
  }
  length += dist(at, b);
  return true;
}

// Up to 64 points spread along an island's outline: enough to estimate distances between islands.
std::vector<Point2> outline_samples(const IslandPaths& isl) {
  const Ring& r = isl.island.outer;
  const std::size_t step = std::max<std::size_t>(1, r.size() / 64);
  std::vector<Point2> s;
  for (std::size_t i = 0; i < r.size(); i += step) s.push_back(r[i]);
  return s;
}

double min_distance(const std::vector<Point2>& a, const std::vector<Point2>& b) {
  double best = std::numeric_limits<double>::infinity();
  for (Point2 p : a)
    for (Point2 q : b) best = std::min(best, dist(p, q));
  return best;
}

// Island order: nearest neighbour from `at`, then 2-opt on the open path (islands are visited
// as wholes, so the distance between two islands is the gap between their outlines).
std::vector<std::size_t> island_order(const std::vector<IslandPaths>& islands, const Point2* at, int effort) {
  const std::size_t n = islands.size();
  std::vector<std::vector<Point2>> samples(n);
  for (std::size_t i = 0; i < n; ++i) samples[i] = outline_samples(islands[i]);
  std::vector<double> from_start(n, 0.0), d(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    from_start[i] = at ? min_distance({*at}, samples[i]) : static_cast<double>(i);
    for (std::size_t j = i + 1; j < n; ++j) d[i * n + j] = d[j * n + i] = min_distance(samples[i], samples[j]);
  }
  std::vector<std::size_t> order;
  std::vector<char> used(n, 0);
  for (std::size_t step = 0; step < n; ++step) {
    std::size_t pick = n;
    for (std::size_t i = 0; i < n; ++i) {
      if (used[i]) continue;
      const double c = step == 0 ? from_start[i] : d[order.back() * n + i];
      if (pick == n || c < (step == 0 ? from_start[pick] : d[order.back() * n + pick])) pick = i;
    }
    used[pick] = 1;
    order.push_back(pick);
  }
  if (effort <= 0) return order;
  const auto cost_before = [&](std::size_t k) {
    return k == 0 ? from_start[order[0]] : d[order[k - 1] * n + order[k]];
  };
  for (bool improved = true; improved;) {
    improved = false;
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = i + 1; j < n; ++j) {
        const double before = cost_before(i) + (j + 1 < n ? d[order[j] * n + order[j + 1]] : 0.0);
        const double head = i == 0 ? from_start[order[j]] : d[order[i - 1] * n + order[j]];
        const double after = head + (j + 1 < n ? d[order[i] * n + order[j + 1]] : 0.0);
        if (after < before - 1e-9) {
          std::reverse(order.begin() + static_cast<std::ptrdiff_t>(i),
                       order.begin() + static_cast<std::ptrdiff_t>(j) + 1);
          improved = true;
        }
      }
  }
  return order;
}

void append_group(std::vector<gcode::ExtrusionPath>& out, const std::vector<PathItem>& items, Point2& at, bool& have_at,
                  const PolygonWithHoles* island, const PlanParams& params) {
  if (items.empty()) return;
  const Point2 start = have_at ? at : items.front().points.front();
  const std::vector<Node> tour = sequence(items, start, params.optimize);
  for (const Node& n : tour) {
    gcode::ExtrusionPath p = emit(n);
    if (have_at && params.avoid_crossing_perimeters && island) {
      // Inside the part, straight or round the outline when that is not much longer, needs no
      // retraction; otherwise travel straight and retract.
      const Point2 to = p.points.front();
      std::vector<Point2> via;
      double length = 0;
      const double straight = dist(at, to);
      if (route_inside(at, to, *island, via, length) &&
          (via.empty() || length <= straight + std::max(2.0, params.max_detour * straight))) {
        p.travel_via = std::move(via);
        p.retract_before = false;
      }
    }
    at = p.closed ? p.points.front() : p.points.back();
    have_at = true;
    out.push_back(std::move(p));
  }
}

}  // namespace

std::vector<gcode::ExtrusionPath> order_layer(LayerPaths& layer, const Point2* start, const PlanParams& params,
                                              Point2& end) {
  std::vector<gcode::ExtrusionPath> out;
  Point2 at = start ? *start : Point2{};
  bool have_at = start != nullptr;
  append_group(out, layer.skirt, at, have_at, nullptr, params);
  // Islands in a short order, each island's groups in turn.
  for (std::size_t pick : island_order(layer.islands, have_at ? &at : nullptr, params.optimize)) {
    IslandPaths& isl = layer.islands[pick];
    const std::size_t first = out.size();
    // Walls, gap fill and infill of an island form one tour: a fixed walls-first order forces a
    // trip across the island between the last wall and the first infill line, and printing some
    // infill before a wall is fine (Cura's default is infill before walls).
    std::vector<PathItem> all = std::move(isl.walls);
    for (auto* group : {&isl.gaps, &isl.infill})
      all.insert(all.end(), std::make_move_iterator(group->begin()), std::make_move_iterator(group->end()));
    append_group(out, all, at, have_at, &isl.island, params);
    // Arriving at a new island always crosses its boundary: retract.
    if (first < out.size() && first > 0) out[first].retract_before = true;
  }
  end = at;
  return out;
}

}  // namespace fabforge::toolpath::detail
