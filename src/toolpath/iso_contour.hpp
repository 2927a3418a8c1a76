#pragma once
// Sub-pixel outlines of a sampled field, and ring simplification. Private to fabforge_toolpath
// (regions.cpp and layers.cpp).
//
// Why an iso-contour rather than tracing pixel centres: a shape's anti-aliased edge pixels carry
// its boundary position to a fraction of a pixel. Interpolating the field linearly between pixel
// centres and cutting at the level where coverage is one half puts the boundary where it was
// drawn, so the area is unbiased and the same shape at twice the resolution gives the same
// outline. Tracing the centres of part pixels (cv::findContours) loses half a pixel all round.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "fabforge/core/polygon.hpp"

namespace fabforge::toolpath::iso {

/// A field sampled at pixel centres: value > 0 is inside. Pixel (x, y) has its centre at
/// (x + 0.5, y + 0.5) in pixel coordinates (y down, as in the image). Outside the image the field
/// reads as minus the magnitude of the nearest border sample, so every outline closes and a part
/// that fills the border pixels ends exactly at the image edge.
struct Field {
  int width = 0, height = 0;
  const float* values = nullptr;  ///< width * height, row-major
};

namespace detail {

// Grid points are pixel centres of the field padded by one sample on every side: padded point
// (X, Y) is pixel (X - 1, Y - 1). Crossings live on grid edges, numbered so that each edge has
// one id: horizontal edges (X,Y)-(X+1,Y) first, then vertical edges (X,Y)-(X,Y+1).
struct Grid {
  const Field& f;
  std::int64_t pw, ph;
  float at(std::int64_t X, std::int64_t Y) const {
    if (X >= 1 && Y >= 1 && X <= f.width && Y <= f.height) return f.values[(Y - 1) * f.width + (X - 1)];
    const std::int64_t x = std::clamp<std::int64_t>(X, 1, f.width) - 1,
                       y = std::clamp<std::int64_t>(Y, 1, f.height) - 1;
    return -std::abs(f.values[y * f.width + x]);
  }
  std::int64_t h_edge(std::int64_t X, std::int64_t Y) const { return Y * pw + X; }
  std::int64_t v_edge(std::int64_t X, std::int64_t Y) const { return pw * ph + Y * pw + X; }
  // The crossing on an edge, in pixel coordinates, by linear interpolation of the two samples.
  Point2 crossing(std::int64_t edge) const {
    const bool vertical = edge >= pw * ph;
    const std::int64_t e = vertical ? edge - pw * ph : edge;
    const std::int64_t X = e % pw, Y = e / pw;
    const std::int64_t X2 = vertical ? X : X + 1, Y2 = vertical ? Y + 1 : Y;
    const double a = at(X, Y), b = at(X2, Y2);
    // Clamped away from the end points so two crossings never coincide on a sample.
    const double t = std::clamp(a / (a - b), 1e-3, 1.0 - 1e-3);
    return {X - 0.5 + t * static_cast<double>(X2 - X), Y - 0.5 + t * static_cast<double>(Y2 - Y)};
  }
};

struct Segment {
  std::int64_t from, to;
};

// Segments of one cell whose corners c0..c3 = (X,Y), (X+1,Y), (X+1,Y+1), (X,Y+1) run
// counter-clockwise in (x, y) maths coordinates; edge k joins corner k and corner k+1. A segment
// runs from the edge where that walk leaves the inside to the edge where it re-enters, which
// keeps the inside on the segment's left.
inline void cell_segments(const Grid& g, std::int64_t X, std::int64_t Y, const float v[4], std::vector<Segment>& out) {
  const bool in[4] = {v[0] > 0, v[1] > 0, v[2] > 0, v[3] > 0};
  const std::int64_t edge[4] = {g.h_edge(X, Y), g.v_edge(X + 1, Y), g.h_edge(X, Y + 1), g.v_edge(X, Y)};
  const int count = in[0] + in[1] + in[2] + in[3];
  if (count == 0 || count == 4) return;
  const bool saddle = count == 2 && in[0] == in[2];
  // A saddle's centre (mean of the corners) decides whether the two inside corners connect.
  const bool centre_in = saddle && (v[0] + v[1] + v[2] + v[3]) > 0;
  for (int k = 0; k < 4; ++k) {
    if (!(in[k] && !in[(k + 1) % 4])) continue;  // not an exit edge
    int enter = -1;
    if (saddle) {
      enter = centre_in ? (k + 1) % 4 : (k + 3) % 4;
    } else {
      for (int j = 0; j < 4; ++j)
        if (!in[j] && in[(j + 1) % 4]) enter = j;
    }
    out.push_back({edge[k], edge[enter]});
  }
}

}  // namespace detail

/// Closed outlines where the field crosses zero, in pixel coordinates (y down). Every ring keeps
/// the inside on its left in (x, y) maths coordinates: outer boundaries have positive signed area
/// there, holes negative. Deterministic (rings start at their lowest-numbered crossing).
inline std::vector<Ring> trace(const Field& field) {
  const detail::Grid g{field, field.width + 2, field.height + 2};
  std::vector<detail::Segment> segs;
  float v[4];
  for (std::int64_t Y = 0; Y + 1 < g.ph; ++Y) {
    for (std::int64_t X = 0; X + 1 < g.pw; ++X) {
      v[0] = g.at(X, Y), v[1] = g.at(X + 1, Y), v[2] = g.at(X + 1, Y + 1), v[3] = g.at(X, Y + 1);
      if ((v[0] > 0) == (v[1] > 0) && (v[1] > 0) == (v[2] > 0) && (v[2] > 0) == (v[3] > 0)) continue;
      detail::cell_segments(g, X, Y, v, segs);
    }
  }
  std::sort(segs.begin(), segs.end(), [](const auto& a, const auto& b) { return a.from < b.from; });
  std::vector<char> used(segs.size(), 0);
  auto find = [&](std::int64_t from) {
    auto it =
        std::lower_bound(segs.begin(), segs.end(), from, [](const auto& s, std::int64_t e) { return s.from < e; });
    return (it != segs.end() && it->from == from) ? static_cast<std::size_t>(it - segs.begin()) : segs.size();
  };
  std::vector<Ring> rings;
  for (std::size_t start = 0; start < segs.size(); ++start) {
    if (used[start]) continue;
    Ring ring;
    std::size_t i = start;
    while (i < segs.size() && !used[i]) {
      used[i] = 1;
      ring.push_back(g.crossing(segs[i].from));
      i = find(segs[i].to);
    }
    if (ring.size() >= 3) rings.push_back(std::move(ring));
  }
  return rings;
}

namespace detail {

inline double segment_distance2(Point2 p, Point2 a, Point2 b) {
  const double dx = b.x - a.x, dy = b.y - a.y;
  const double len2 = dx * dx + dy * dy;
  double t = len2 > 0 ? ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2 : 0;
  t = std::clamp(t, 0.0, 1.0);
  const double ex = a.x + t * dx - p.x, ey = a.y + t * dy - p.y;
  return ex * ex + ey * ey;
}

// Douglas-Peucker on ring[first..last] (indices into a ring walked cyclically), marking kept
// points; iterative, so long rings cannot overflow the stack.
inline void douglas_peucker(const Ring& ring, std::size_t first, std::size_t last, double tol2,
                            std::vector<char>& keep) {
  const std::size_t n = ring.size();
  std::vector<std::pair<std::size_t, std::size_t>> stack{{first, last}};
  while (!stack.empty()) {
    const auto [a, b] = stack.back();  // b may exceed n: indices are taken modulo n
    stack.pop_back();
    double best = -1;
    std::size_t best_i = a;
    for (std::size_t i = a + 1; i < b; ++i) {
      const double d = segment_distance2(ring[i % n], ring[a % n], ring[b % n]);
      if (d > best) best = d, best_i = i;
    }
    if (best > tol2) {
      keep[best_i % n] = 1;
      stack.push_back({a, best_i});
      stack.push_back({best_i, b});
    }
  }
}

}  // namespace detail

/// Douglas-Peucker simplification of a closed ring: every dropped point lies within `tolerance`
/// of the result. The ring is split at its leftmost point and the point farthest from it, both
/// kept. Rings that would fall below three points are returned unchanged.
inline Ring simplify(const Ring& ring, double tolerance) {
  const std::size_t n = ring.size();
  if (n <= 4 || tolerance <= 0) return ring;
  std::size_t a = 0;
  for (std::size_t i = 1; i < n; ++i)
    if (ring[i].x < ring[a].x || (ring[i].x == ring[a].x && ring[i].y < ring[a].y)) a = i;
  std::size_t b = a;
  double far = -1;
  for (std::size_t i = 0; i < n; ++i) {
    const double d = std::hypot(ring[i].x - ring[a].x, ring[i].y - ring[a].y);
    if (d > far) far = d, b = i;
  }
  if (b < a) b += n;
  std::vector<char> keep(n, 0);
  keep[a] = keep[b % n] = 1;
  detail::douglas_peucker(ring, a, b, tolerance * tolerance, keep);
  detail::douglas_peucker(ring, b, a + n, tolerance * tolerance, keep);
  Ring out;
  for (std::size_t i = 0; i < n; ++i)
    if (keep[i]) out.push_back(ring[i]);
  return out.size() >= 3 ? out : ring;
}

}  // namespace fabforge::toolpath::iso
