// Ear clipping for polygons with holes. Each hole is first joined to the outer boundary by a
// bridge (a pair of coincident edges) from its rightmost vertex to a vertex of the boundary that
// vertex can see (D. Eberly, "Triangulation by Ear Clipping"), which leaves one weakly simple
// ring; ears are then cut from that ring until one triangle is left.
//
// Combinatorially every cut emits one triangle and removes one vertex, so each ring edge ends up
// in exactly one triangle and every diagonal in two with opposite directions, whatever the
// geometry: layers_to_mesh relies on this to close its caps against the side walls. Geometry
// only decides which vertex is cut; where floating-point trouble leaves no valid ear, a
// degenerate (zero-area) vertex or, failing that, any convex vertex is cut instead.

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "fabforge/core/error.hpp"
#include "fabforge/toolpath/layers.hpp"

namespace fabforge::toolpath {

namespace {

struct Node {
  double x = 0, y = 0;
  int vertex = 0;  ///< index into the caller's vertex array
  int prev = -1, next = -1;
  bool alive = true;
  bool reflex = false;  ///< reflex or straight: such vertices may block an ear
};

double cross(const Node& a, const Node& b, const Node& c) {
  return (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x);
}
double cross_pt(double ax, double ay, double bx, double by, double cx, double cy) {
  return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
}
bool same_place(const Node& a, const Node& b) { return a.x == b.x && a.y == b.y; }

// Closed triangle test (boundary counts as inside), for either orientation.
bool in_triangle(double ax, double ay, double bx, double by, double cx, double cy, double px, double py) {
  const double d1 = cross_pt(ax, ay, bx, by, px, py);
  const double d2 = cross_pt(bx, by, cx, cy, px, py);
  const double d3 = cross_pt(cx, cy, ax, ay, px, py);
  const bool has_neg = d1 < 0 || d2 < 0 || d3 < 0;
  const bool has_pos = d1 > 0 || d2 > 0 || d3 > 0;
  return !(has_neg && has_pos);
}

class EarClipper {
 public:
  // Appends a ring as a circular list in the wanted orientation; returns its first node.
  int add_ring(const Ring& ring, int first_vertex, bool want_ccw) {
    const int n = static_cast<int>(ring.size());
    const bool reverse = (signed_area(ring) > 0) != want_ccw;
    const int base = static_cast<int>(nodes_.size());
    for (int k = 0; k < n; ++k) {
      const int i = reverse ? n - 1 - k : k;
      Node node;
      node.x = ring[static_cast<std::size_t>(i)].x;
      node.y = ring[static_cast<std::size_t>(i)].y;
      node.vertex = first_vertex + i;
      node.prev = base + (k + n - 1) % n;
      node.next = base + (k + 1) % n;
      nodes_.push_back(node);
    }
    return base;
  }

  // Joins the hole starting at `hole` into the ring containing `outer`.
  void bridge(int hole, int outer) {
    int m = hole;
    for (int i = nodes_[hole].next; i != hole; i = nodes_[i].next)
      if (nodes_[i].x > nodes_[m].x || (nodes_[i].x == nodes_[m].x && nodes_[i].y < nodes_[m].y)) m = i;
    const int p = visible_vertex(m, outer);
    const int m2 = copy(m), p2 = copy(p);
    const int pn = nodes_[p].next, mp = nodes_[m].prev;
    link(p, m);
    link(mp, m2);
    link(m2, p2);
    link(p2, pn);
  }

  void clip(int start, std::vector<std::array<int, 3>>& out) {
    int remaining = 1;
    for (int i = nodes_[start].next; i != start; i = nodes_[i].next) ++remaining;
    for (int i = start, k = 0; k < remaining; i = nodes_[i].next, ++k) update_reflex(i);
    int cur = start, stall = 0;
    while (remaining > 3) {
      if (is_ear(cur)) {
        cur = cut(cur, out);
        --remaining;
        stall = 0;
        continue;
      }
      cur = nodes_[cur].next;
      if (++stall >= remaining) {
        cur = cut(fallback(cur), out);
        --remaining;
        stall = 0;
      }
    }
    const Node& v = nodes_[cur];
    out.push_back({nodes_[v.prev].vertex, v.vertex, nodes_[v.next].vertex});
  }

 private:
  int copy(int i) {
    Node n = nodes_[static_cast<std::size_t>(i)];
    nodes_.push_back(n);
    return static_cast<int>(nodes_.size()) - 1;
  }
  void link(int a, int b) { nodes_[a].next = b, nodes_[b].prev = a; }
  void update_reflex(int i) {
    const Node& v = nodes_[i];
    const bool was = v.reflex;
    nodes_[i].reflex = cross(nodes_[v.prev], v, nodes_[v.next]) <= 0;
    // Cutting an ear only narrows its neighbours' angles; only a zero-area cut can widen one.
    if (nodes_[i].reflex && !was) reflex_.push_back(i);
  }

  // Whether direction to (px, py) lies inside the polygon's angle at node v.
  bool in_sector(int v, double px, double py) const {
    const Node &a = nodes_[nodes_[v].prev], &b = nodes_[nodes_[v].next], &c = nodes_[v];
    const double left_in = cross_pt(a.x, a.y, c.x, c.y, px, py);   // left of a -> v
    const double left_out = cross_pt(c.x, c.y, b.x, b.y, px, py);  // left of v -> b
    return cross(a, c, b) > 0 ? (left_in > 0 && left_out > 0) : (left_in > 0 || left_out > 0);
  }

  // Eberly's visible vertex: cast a ray to +x from the hole's rightmost vertex m, take the nearest
  // edge hit, then the reflex vertex inside the triangle (m, hit, edge end) closest in angle.
  int visible_vertex(int m, int outer) const {
    const Node& M = nodes_[m];
    double best_x = std::numeric_limits<double>::infinity();
    int hit = -1;
    int i = outer;
    do {
      const Node &a = nodes_[i], &b = nodes_[a.next];
      if (a.y <= M.y && M.y <= b.y && a.y < b.y) {  // edges going up: the ray leaves the inside there
        const double x = a.x + (M.y - a.y) * (b.x - a.x) / (b.y - a.y);
        if (x >= M.x && x < best_x) {
          best_x = x;
          hit = M.y == a.y ? i : M.y == b.y ? a.next : (a.x > b.x ? i : a.next);
        }
      }
      i = a.next;
    } while (i != outer);
    if (hit < 0) throw input_error("cannot triangulate: a hole lies outside its polygon's outer ring");
    int p = hit;
    const Node& P = nodes_[hit];
    if (!(P.y == M.y && P.x == best_x)) {  // the ray hit an edge inside: look for a closer reflex vertex
      double best_tan = std::numeric_limits<double>::infinity(), best_d = best_tan;
      i = outer;
      do {
        const Node& r = nodes_[i];
        if (cross(nodes_[r.prev], r, nodes_[r.next]) <= 0 && !same_place(r, P) && r.x >= M.x &&
            in_triangle(M.x, M.y, best_x, M.y, P.x, P.y, r.x, r.y)) {
          const double tan = std::abs(r.y - M.y) / std::max(r.x - M.x, 1e-300);
          const double d = (r.x - M.x) * (r.x - M.x) + (r.y - M.y) * (r.y - M.y);
          if (tan < best_tan || (tan == best_tan && d < best_d)) best_tan = tan, best_d = d, p = i;
        }
        i = r.next;
      } while (i != outer);
    }
    // Earlier bridges leave several nodes at one place; take the one whose angle opens towards m.
    i = outer;
    do {
      if (same_place(nodes_[i], nodes_[p]) && in_sector(i, M.x, M.y)) return i;
      i = nodes_[i].next;
    } while (i != outer);
    return p;
  }

  bool is_ear(int v) const {
    const Node &a = nodes_[nodes_[v].prev], &b = nodes_[v], &c = nodes_[nodes_[v].next];
    if (cross(a, b, c) <= 0) return false;
    const double minx = std::min({a.x, b.x, c.x}), maxx = std::max({a.x, b.x, c.x});
    const double miny = std::min({a.y, b.y, c.y}), maxy = std::max({a.y, b.y, c.y});
    for (int r : reflex_) {
      const Node& n = nodes_[r];
      if (!n.alive || !n.reflex || r == v || r == b.prev || r == b.next) continue;
      if (n.x < minx || n.x > maxx || n.y < miny || n.y > maxy) continue;
      if (same_place(n, a) || same_place(n, b) || same_place(n, c)) continue;  // bridge copies
      if (in_triangle(a.x, a.y, b.x, b.y, c.x, c.y, n.x, n.y)) return false;
    }
    return true;
  }

  // Cuts vertex v, emits its triangle and returns the vertex to look at next.
  int cut(int v, std::vector<std::array<int, 3>>& out) {
    Node& node = nodes_[v];
    const int p = node.prev, n = node.next;
    out.push_back({nodes_[p].vertex, node.vertex, nodes_[n].vertex});
    node.alive = false;
    link(p, n);
    update_reflex(p);
    update_reflex(n);
    if (++cuts_since_compact_ * 2 > static_cast<int>(reflex_.size()) && cuts_since_compact_ > 64) {
      std::erase_if(reflex_, [&](int r) { return !nodes_[r].alive || !nodes_[r].reflex; });  // stale entries
      cuts_since_compact_ = 0;
    }
    return n;
  }

  // No ear was found in a full turn (rounding, touching rings): cut a zero-area vertex if there is
  // one, since that changes nothing, else the first convex vertex.
  int fallback(int start) const {
    int i = start;
    do {
      const Node& v = nodes_[i];
      if (cross(nodes_[v.prev], v, nodes_[v.next]) == 0) return i;
      i = v.next;
    } while (i != start);
    do {
      const Node& v = nodes_[i];
      if (cross(nodes_[v.prev], v, nodes_[v.next]) > 0) return i;
      i = v.next;
    } while (i != start);
    throw input_error("cannot triangulate a polygon: its rings cross each other or are wound inconsistently");
  }

  std::vector<Node> nodes_;
  std::vector<int> reflex_;
  int cuts_since_compact_ = 0;
};

void check_ring(const Ring& ring, const char* what) {
  if (ring.size() < 3) throw input_error(std::string("cannot triangulate: the ") + what + " has fewer than 3 points");
  for (Point2 p : ring)
    if (!std::isfinite(p.x) || !std::isfinite(p.y))
      throw input_error(std::string("cannot triangulate: the ") + what + " has a non-finite coordinate");
}

}  // namespace

std::vector<std::array<int, 3>> triangulate(const PolygonWithHoles& polygon, std::vector<Point2>& vertices) {
  check_ring(polygon.outer, "outer ring");
  if (signed_area(polygon.outer) == 0) throw input_error("cannot triangulate: the outer ring has zero area");
  vertices.assign(polygon.outer.begin(), polygon.outer.end());
  EarClipper clipper;
  const int outer = clipper.add_ring(polygon.outer, 0, true);
  struct Hole {
    int start;
    double max_x, y;
  };
  std::vector<Hole> holes;
  for (const Ring& h : polygon.holes) {
    check_ring(h, "hole");
    const int first = static_cast<int>(vertices.size());
    vertices.insert(vertices.end(), h.begin(), h.end());
    if (signed_area(h) == 0) continue;  // encloses nothing: its points stay unused
    Hole hole{clipper.add_ring(h, first, false), -std::numeric_limits<double>::infinity(), 0};
    for (Point2 p : h)
      if (p.x > hole.max_x) hole.max_x = p.x, hole.y = p.y;
    holes.push_back(hole);
  }
  // Rightmost holes first, so later bridges may end on holes already joined.
  std::stable_sort(holes.begin(), holes.end(),
                   [](const Hole& a, const Hole& b) { return a.max_x > b.max_x || (a.max_x == b.max_x && a.y < b.y); });
  for (const Hole& h : holes) clipper.bridge(h.start, outer);
  std::vector<std::array<int, 3>> triangles;
  triangles.reserve(vertices.size() + 2 * holes.size());
  clipper.clip(outer, triangles);
  return triangles;
}

}  // namespace fabforge::toolpath
