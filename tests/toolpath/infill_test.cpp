#include "fabforge/toolpath/infill.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "fabforge/core/error.hpp"
#include "fabforge/core/polygon.hpp"

namespace fabforge::toolpath {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kWidth = 0.45;
constexpr double kSpacing = 0.407;  // flow model: 0.45 mm wide, 0.2 mm layers
constexpr std::array<InfillPattern, 6> kAllPatterns{InfillPattern::rectilinear, InfillPattern::zigzag,
                                                    InfillPattern::concentric,  InfillPattern::honeycomb,
                                                    InfillPattern::triangles,   InfillPattern::gyroid};

// ---- shapes ----

Ring rect(double x0, double y0, double x1, double y1) { return {{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}}; }

// Regular n-gon whose edges lie `offset` outside those of the n-gon with circumradius r.
Ring ngon(double cx, double cy, double r, int n, double offset = 0, bool ccw = true) {
  const double rr = (r * std::cos(kPi / n) + offset) / std::cos(kPi / n);
  Ring ring;
  for (int i = 0; i < n; ++i) {
    const double a = 2 * kPi * i / n * (ccw ? 1 : -1);
    ring.push_back({cx + rr * std::cos(a), cy + rr * std::sin(a)});
  }
  return ring;
}

Ring star(double cx, double cy, double r_out, double r_in, int points) {
  Ring ring;
  for (int i = 0; i < 2 * points; ++i) {
    const double a = kPi * i / points + 0.1;
    const double r = i % 2 == 0 ? r_out : r_in;
    ring.push_back({cx + r * std::cos(a), cy + r * std::sin(a)});
  }
  return ring;
}

Regions one(Ring outer, std::vector<Ring> holes = {}) {
  Regions r;
  r.islands.push_back({std::move(outer), std::move(holes)});
  return r;
}

Regions star_with_hole() { return one(star(0, 0, 12, 5, 5), {ngon(0, 0, 2.5, 24, 0, false)}); }

Regions islands() {
  Regions r;
  r.islands.push_back({rect(0, 0, 6, 4), {}});
  r.islands.push_back({ngon(12, 2, 3, 40), {ngon(12, 2, 1, 16, 0, false)}});
  r.islands.push_back({star(22, 2, 4, 1.5, 4), {}});
  r.islands.push_back({rect(0, 8, 25, 9.2), {}});  // a thin strip
  return r;
}

// ---- measurements ----

double length(const InfillLine& l) {
  double len = 0;
  for (std::size_t i = 1; i < l.points.size(); ++i)
    len += std::hypot(l.points[i].x - l.points[i - 1].x, l.points[i].y - l.points[i - 1].y);
  if (l.closed && l.points.size() > 2)
    len += std::hypot(l.points.front().x - l.points.back().x, l.points.front().y - l.points.back().y);
  return len;
}

double total_length(const std::vector<InfillLine>& lines) {
  double sum = 0;
  for (const auto& l : lines) sum += length(l);
  return sum;
}

double distance_to_segment(Point2 p, Point2 a, Point2 b) {
  const double dx = b.x - a.x, dy = b.y - a.y, len2 = dx * dx + dy * dy;
  const double t = len2 > 0 ? std::clamp(((p.x - a.x) * dx + (p.y - a.y) * dy) / len2, 0.0, 1.0) : 0.0;
  return std::hypot(a.x + t * dx - p.x, a.y + t * dy - p.y);
}

double distance_to_boundary(const Regions& r, Point2 p) {
  double best = 1e300;
  auto ring_distance = [&](const Ring& ring) {
    for (std::size_t i = 0; i < ring.size(); ++i)
      best = std::min(best, distance_to_segment(p, ring[i], ring[(i + 1) % ring.size()]));
  };
  for (const auto& island : r.islands) {
    ring_distance(island.outer);
    for (const Ring& h : island.holes) ring_distance(h);
  }
  return best;
}

// Points sampled every 0.05 mm along every segment (closing edges included) that lie outside
// the area by more than `tolerance`.
int points_outside(const std::vector<InfillLine>& lines, const Regions& area, double tolerance = 1e-3) {
  int outside = 0;
  for (const auto& l : lines) {
    const std::size_t n = l.points.size();
    for (std::size_t i = 0; i + 1 < n + (l.closed ? 1 : 0); ++i) {
      const Point2 a = l.points[i], b = l.points[(i + 1) % n];
      const int steps = std::max(1, static_cast<int>(std::hypot(b.x - a.x, b.y - a.y) / 0.05));
      for (int s = 0; s <= steps; ++s) {
        const double t = static_cast<double>(s) / steps;
        const Point2 p{a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t};
        if (!contains(area, p) && distance_to_boundary(area, p) > tolerance) ++outside;
      }
    }
  }
  return outside;
}

// The x-interval where the row y = py meets the capsule of radius r around segment a-b (lo > hi
// when it misses).
std::pair<double, double> capsule_row(Point2 a, Point2 b, double r, double py) {
  double lo = 1e300, hi = -1e300;
  for (Point2 c : {a, b}) {  // the end discs
    const double dy = py - c.y;
    if (std::abs(dy) <= r) {
      const double half = std::sqrt(r * r - dy * dy);
      lo = std::min(lo, c.x - half), hi = std::max(hi, c.x + half);
    }
  }
  const double len = std::hypot(b.x - a.x, b.y - a.y);
  if (len > 0) {  // the slab: |n.(p-a)| <= r and 0 <= d.(p-a) <= len, each linear in x
    const double dx = (b.x - a.x) / len, dy = (b.y - a.y) / len;
    double s0 = -1e300, s1 = 1e300;
    auto clamp_linear = [&](double coef, double rest, double min, double max) {  // min <= coef x + rest <= max
      if (std::abs(coef) < 1e-15) {
        if (rest < min || rest > max) s0 = 1e300;
        return;
      }
      double x0 = (min - rest) / coef, x1 = (max - rest) / coef;
      if (x0 > x1) std::swap(x0, x1);
      s0 = std::max(s0, x0), s1 = std::min(s1, x1);
    };
    clamp_linear(-dy, -dy * -a.x + dx * (py - a.y), -r, r);
    clamp_linear(dx, -dx * a.x + dy * (py - a.y), 0, len);
    if (s0 <= s1) lo = std::min(lo, s0), hi = std::max(hi, s1);
  }
  return {lo, hi};
}

// Fraction of `region`, sampled at the centres of a 0.02 mm grid, within width/2 of some line.
double coverage(const std::vector<InfillLine>& lines, const Regions& region, double width) {
  constexpr double cell = 0.02;
  const Box2 b = bounds(region);
  const int nx = static_cast<int>((b.max.x - b.min.x) / cell) + 1,
            ny = static_cast<int>((b.max.y - b.min.y) / cell) + 1;
  std::vector<char> covered(static_cast<std::size_t>(nx) * ny, 0);
  const double r = width / 2;
  auto column = [&](double x) { return (x - b.min.x) / cell - 0.5; };  // cell index whose centre is at x
  auto row = [&](double y) { return (y - b.min.y) / cell - 0.5; };
  for (const auto& l : lines) {
    const std::size_t n = l.points.size();
    for (std::size_t i = 0; i + 1 < n + (l.closed ? 1 : 0); ++i) {
      const Point2 p = l.points[i], q = l.points[(i + 1) % n];
      const int y0 = std::max(0, static_cast<int>(std::floor(row(std::min(p.y, q.y) - r))));
      const int y1 = std::min(ny - 1, static_cast<int>(std::ceil(row(std::max(p.y, q.y) + r))));
      for (int y = y0; y <= y1; ++y) {
        const auto [lo, hi] = capsule_row(p, q, r, b.min.y + (y + 0.5) * cell);
        const int x0 = std::max(0, static_cast<int>(std::ceil(column(lo))));
        const int x1 = std::min(nx - 1, static_cast<int>(std::floor(column(hi))));
        for (int x = x0; x <= x1; ++x) covered[static_cast<std::size_t>(y) * nx + x] = 1;
      }
    }
  }
  // Inside cells, row by row: even-odd crossings of all rings.
  long inside = 0, hit = 0;
  for (int y = 0; y < ny; ++y) {
    const double py = b.min.y + (y + 0.5) * cell;
    std::vector<double> xs;
    auto crossings = [&](const Ring& ring) {
      for (std::size_t i = 0; i < ring.size(); ++i) {
        const Point2 a = ring[i], c = ring[(i + 1) % ring.size()];
        if ((a.y <= py) != (c.y <= py)) xs.push_back(a.x + (py - a.y) * (c.x - a.x) / (c.y - a.y));
      }
    };
    for (const auto& island : region.islands) {
      crossings(island.outer);
      for (const Ring& h : island.holes) crossings(h);
    }
    std::sort(xs.begin(), xs.end());
    for (std::size_t k = 0; k + 1 < xs.size(); k += 2)
      for (int x = std::max(0, static_cast<int>(std::ceil(column(xs[k]))));
           x <= std::min(nx - 1, static_cast<int>(std::floor(column(xs[k + 1])))); ++x) {
        ++inside;
        hit += covered[static_cast<std::size_t>(y) * nx + x];
      }
  }
  return static_cast<double>(hit) / static_cast<double>(inside);
}

InfillParams params(InfillPattern pattern, double density, double angle = 45) {
  InfillParams p;
  p.pattern = pattern;
  p.density = density;
  p.line_width_mm = kWidth;
  p.line_spacing_mm = kSpacing;
  p.angle_deg = angle;
  return p;
}

bool same_bytes(const std::vector<InfillLine>& a, const std::vector<InfillLine>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].closed != b[i].closed || a[i].points.size() != b[i].points.size()) return false;
    if (std::memcmp(a[i].points.data(), b[i].points.data(), a[i].points.size() * sizeof(Point2)) != 0) return false;
  }
  return true;
}

std::string name(InfillPattern p) { return std::string(infill_pattern_name(p)); }

// ---- names and parameters ----

TEST(InfillNames, RoundTripAndAlias) {
  for (InfillPattern p : kAllPatterns) EXPECT_EQ(parse_infill_pattern(infill_pattern_name(p)), p);
  EXPECT_EQ(parse_infill_pattern("lines"), InfillPattern::rectilinear);
  EXPECT_EQ(infill_pattern_name(InfillPattern::gyroid), "gyroid");
}

TEST(InfillNames, UnknownNameIsAUsageErrorListingTheValidOnes) {
  try {
    parse_infill_pattern("grid");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'grid'"), std::string::npos) << msg;
    for (InfillPattern p : kAllPatterns) EXPECT_NE(msg.find(name(p)), std::string::npos) << msg;
  }
}

TEST(InfillParameters, OutOfRangeValuesAreUsageErrors) {
  const Regions area = one(rect(0, 0, 10, 10));
  for (double density : {0.0, -0.1, 1.01, std::nan("")}) {
    InfillParams p = params(InfillPattern::zigzag, density);
    EXPECT_THROW(fill_area(area, p), Error) << density;
  }
  InfillParams p = params(InfillPattern::zigzag, 0.2);
  p.line_spacing_mm = 0;
  EXPECT_THROW(fill_area(area, p), Error);
  p = params(InfillPattern::zigzag, 0.2);
  p.min_length_mm = -1;
  EXPECT_THROW(fill_area(area, p), Error);
  p = params(InfillPattern::zigzag, 0.2);
  p.line_spacing_mm = 1e-7;  // a billion lines across
  EXPECT_THROW(fill_area(area, p), Error);
}

// ---- degenerate areas ----

TEST(InfillEdgeCases, EmptyAreaGivesNoLines) {
  for (InfillPattern pattern : kAllPatterns) {
    EXPECT_TRUE(fill_area(Regions{}, params(pattern, 0.2)).empty()) << name(pattern);
    EXPECT_TRUE(fill_area(one({{0, 0}, {1, 0}, {2, 0}}), params(pattern, 1)).empty()) << name(pattern);
  }
}

TEST(InfillEdgeCases, AreaSmallerThanALineStaysInsideAndTiny) {
  const Regions tiny = one(rect(5, 5, 5.1, 5.15));
  for (InfillPattern pattern : kAllPatterns)
    for (double density : {0.2, 1.0}) {
      const auto lines = fill_area(tiny, params(pattern, density));
      EXPECT_EQ(points_outside(lines, tiny), 0) << name(pattern);
      EXPECT_LE(total_length(lines), 0.5) << name(pattern);  // at most one loop or line
      for (const auto& l : lines) EXPECT_GE(length(l), 0.2) << name(pattern);
    }
  // Shorter than min_length everywhere: nothing for the open patterns.
  EXPECT_TRUE(fill_area(tiny, params(InfillPattern::zigzag, 1)).empty());
}

// ---- containment ----

TEST(InfillContainment, EveryPatternStaysInsideAStarWithAHoleAndSeveralIslands) {
  for (const Regions& area : {star_with_hole(), islands()})
    for (InfillPattern pattern : kAllPatterns)
      for (double density : {0.15, 0.3, 1.0})
        for (double angle : {0.0, 30.0, 45.0}) {
          InfillParams p = params(pattern, density, angle);
          p.z_mm = 1.3;
          p.layer_index = static_cast<int>(angle) % 4;
          const auto lines = fill_area(area, p);
          ASSERT_FALSE(lines.empty()) << name(pattern);
          if (density == 1.0) {  // every island gets lines
            for (const auto& island : area.islands) {
              const Regions just_this = one(island.outer, island.holes);
              const bool filled = std::any_of(lines.begin(), lines.end(), [&](const InfillLine& l) {
                return std::any_of(l.points.begin(), l.points.end(), [&](Point2 q) {
                  return contains(just_this, q) || distance_to_boundary(just_this, q) < 1e-3;
                });
              });
              EXPECT_TRUE(filled) << name(pattern);
            }
          }
          EXPECT_EQ(points_outside(lines, area), 0) << name(pattern) << " density " << density << " angle " << angle;
          for (const auto& l : lines) {
            EXPECT_GE(length(l), p.min_length_mm);
            EXPECT_EQ(l.closed, pattern == InfillPattern::concentric);
          }
        }
}

// ---- solid coverage ----

struct SolidCase {
  std::string name;
  Regions region;  // the part's cross-section inside the perimeters
  Regions area;    // the same inset by half a line: where infill centre lines may go
};

// Small parts (20 mm): line ends along the boundary leave a few percent uncovered, more the more
// boundary there is per area.
std::vector<SolidCase> solid_cases() {
  const double h = kWidth / 2;
  return {
      {"square", one(rect(0, 0, 20, 20)), one(rect(h, h, 20 - h, 20 - h))},
      {"disc", one(ngon(0, 0, 10, 120)), one(ngon(0, 0, 10, 120, -h))},
      {"plate with hole", one(rect(0, 0, 20, 20), {ngon(10, 10, 3, 48, 0, false)}),
       one(rect(h, h, 20 - h, 20 - h), {ngon(10, 10, 3, 48, h, false)})},
  };
}

TEST(InfillSolid, ZigzagRectilinearConcentricCoverTheRegion) {
  for (const SolidCase& c : solid_cases())
    for (InfillPattern pattern : {InfillPattern::zigzag, InfillPattern::rectilinear, InfillPattern::concentric})
      for (double angle : {0.0, 45.0}) {
        const auto lines = fill_area(c.area, params(pattern, 1, angle));
        const double cov = coverage(lines, c.region, kWidth);
        EXPECT_GE(cov, 0.97) << c.name << " " << name(pattern) << " angle " << angle;
        EXPECT_EQ(points_outside(lines, c.area), 0) << c.name << " " << name(pattern);
      }
}

// ---- density ----

TEST(InfillDensity, LineLengthTimesSpacingOverAreaMatchesTheDensity) {
  const Regions square = one(rect(0, 0, 100, 100));
  for (InfillPattern pattern : kAllPatterns) {
    if (pattern == InfillPattern::gyroid) continue;  // below, averaged over z
    for (double density : {0.15, 0.3}) {
      const auto lines = fill_area(square, params(pattern, density, 30));
      const double measured = total_length(lines) * kSpacing / area(square);
      EXPECT_NEAR(measured / density, 1.0, 0.1) << name(pattern) << " at " << density;
    }
  }
}

TEST(InfillDensity, GyroidMatchesTheDensityOverLayers) {
  const Regions square = one(rect(0, 0, 60, 60));
  const double density = 0.2;
  const double period = 2.45871 * kSpacing / density;  // see infill_patterns.cpp
  double sum = 0;
  const int layers = 12;
  for (int i = 0; i < layers; ++i) {
    InfillParams p = params(InfillPattern::gyroid, density, 0);
    p.z_mm = period * (i + 0.5) / layers;
    const double measured = total_length(fill_area(square, p)) * kSpacing / area(square);
    // One slice varies with z (from -6% at z = 0 to +20% where the waves touch).
    EXPECT_GT(measured / density, 0.9) << p.z_mm;
    EXPECT_LT(measured / density, 1.3) << p.z_mm;
    sum += measured;
  }
  EXPECT_NEAR(sum / layers / density, 1.0, 0.1);
}

// ---- zigzag joins ----

TEST(InfillZigzag, ConvexAreaAtFullDensityIsOnePolyline) {
  const std::vector<Regions> convex = {one(rect(0, 0, 20, 12)), one(ngon(0, 0, 10, 6)), one(ngon(0, 0, 9, 96)),
                                       one({{0, 0}, {20, 3}, {8, 14}})};
  for (std::size_t i = 0; i < convex.size(); ++i)
    for (double angle : {0.0, 30.0, 45.0, 90.0}) {
      const auto lines = fill_area(convex[i], params(InfillPattern::zigzag, 1, angle));
      EXPECT_EQ(lines.size(), 1u) << "shape " << i << " angle " << angle;
    }
}

TEST(InfillZigzag, UShapeGivesFewPolylines) {
  const Regions u = one({{0, 0}, {30, 0}, {30, 30}, {20, 30}, {20, 10}, {10, 10}, {10, 30}, {0, 30}});
  for (double angle : {0.0, 45.0, 90.0}) {
    const auto lines = fill_area(u, params(InfillPattern::zigzag, 1, angle));
    EXPECT_LE(lines.size(), 3u) << angle;
    EXPECT_GT(total_length(lines) * kSpacing / area(u), 0.95);
  }
}

TEST(InfillZigzag, FarFewerPiecesThanRectilinearOnAPlateWithHoles) {
  std::vector<Ring> holes;
  for (double x : {10.0, 30.0})
    for (double y : {10.0, 30.0}) holes.push_back(ngon(x, y, 4, 40, 0, false));
  const Regions plate = one(rect(0, 0, 40, 40), holes);
  for (double density : {1.0, 0.2}) {
    const auto zig = fill_area(plate, params(InfillPattern::zigzag, density, 45));
    const auto rect_lines = fill_area(plate, params(InfillPattern::rectilinear, density, 45));
    // Measured: 6 vs 218 solid, 6 vs 41 sparse.
    EXPECT_LE(zig.size() * (density == 1 ? 20 : 5), rect_lines.size())
        << density << ": " << zig.size() << " vs " << rect_lines.size();
    EXPECT_EQ(points_outside(zig, plate), 0);
  }
}

TEST(InfillZigzag, JoinsAreShortRunsAlongTheBoundary) {
  // Sparse zigzag: every stretch between two grid-line segments (direction 45) is a join no longer
  // than max_connection_factor x spacing, and it runs along the boundary.
  const Regions area = star_with_hole();
  const InfillParams p = params(InfillPattern::zigzag, 0.25, 45);
  const double spacing = kSpacing / p.density;
  int joins = 0;
  for (const auto& l : fill_area(area, p)) {
    double join = 0;
    for (std::size_t i = 1; i < l.points.size(); ++i) {
      const Point2 a = l.points[i - 1], b = l.points[i];
      const double len = std::hypot(b.x - a.x, b.y - a.y);
      const bool along_grid = std::abs((b.x - a.x) - (b.y - a.y)) < 1e-6 * std::max(1.0, len) && len > spacing;
      if (along_grid) {
        EXPECT_LE(join, p.max_connection_factor * spacing + 1e-6);
        joins += join > 0;
        join = 0;
      } else {
        join += len;
        EXPECT_LT(distance_to_boundary(area, a), 1e-4);
        EXPECT_LT(distance_to_boundary(area, b), 1e-4);
      }
    }
  }
  EXPECT_GT(joins, 10);
}

// ---- rectilinear grid ----

TEST(InfillRectilinear, SparseLinesLieOnOneGlobalGrid) {
  const double angle = 30, density = 0.2;
  const double spacing = kSpacing / density;
  const double c = std::cos(angle * kPi / 180), s = std::sin(angle * kPi / 180);
  const Regions a = star_with_hole();
  const Regions b = translated(one(ngon(0, 0, 7, 50)), 33.3, -17.77);
  for (const Regions& area : {a, b}) {
    const auto lines = fill_area(area, params(InfillPattern::rectilinear, density, angle));
    ASSERT_GE(lines.size(), 3u);
    for (const auto& l : lines) {
      ASSERT_EQ(l.points.size(), 2u);
      for (Point2 p : l.points) {
        const double v = -p.x * s + p.y * c;
        EXPECT_NEAR(v, std::round(v / spacing) * spacing, 1e-5);
      }
      const double dx = l.points[1].x - l.points[0].x, dy = l.points[1].y - l.points[0].y;
      EXPECT_NEAR(std::abs(dx * s - dy * c), 0, 1e-6 * length(l));  // direction 30 degrees
    }
  }
}

TEST(InfillRectilinear, AnglePlusNinetyGivesPerpendicularLines) {
  const Regions area = star_with_hole();
  for (InfillPattern pattern : {InfillPattern::rectilinear, InfillPattern::zigzag}) {
    const auto a = fill_area(area, params(pattern, 0.3, 20));
    const auto b = fill_area(area, params(pattern, 0.3, 110));
    auto longest_direction = [](const std::vector<InfillLine>& lines) {
      double best = 0, angle = 0;
      for (const auto& l : lines)
        for (std::size_t i = 1; i < l.points.size(); ++i) {
          const double dx = l.points[i].x - l.points[i - 1].x, dy = l.points[i].y - l.points[i - 1].y;
          if (std::hypot(dx, dy) > best) best = std::hypot(dx, dy), angle = std::atan2(dy, dx);
        }
      return angle;
    };
    const double da = longest_direction(a), db = longest_direction(b);
    EXPECT_NEAR(std::abs(std::cos(da - db)), 0, 1e-6) << name(pattern);
    EXPECT_NEAR(std::abs(std::sin(da - 20 * kPi / 180)), 0, 1e-6) << name(pattern);
  }
}

// ---- concentric ----

TEST(InfillConcentric, ClosedLoopsOutermostFirstSpacingApart) {
  const Regions square = one(rect(0, 0, 10, 10));
  const auto loops = fill_area(square, params(InfillPattern::concentric, 1, 0));
  ASSERT_EQ(loops.size(), static_cast<std::size_t>(std::ceil(5 / kSpacing)));
  double previous = -1;
  for (const auto& l : loops) {
    EXPECT_TRUE(l.closed);
    double inset = 1e300;  // distance of the loop from the square's edge
    for (Point2 p : l.points) inset = std::min(inset, distance_to_boundary(square, p));
    EXPECT_GT(inset, previous);
    if (previous >= 0) {
      EXPECT_NEAR(inset - previous, kSpacing, 1e-5);
    }
    previous = inset;
  }
}

// ---- triangles and honeycomb ----

TEST(InfillTriangles, ThreeFamiliesAtSixtyDegreesWithEqualShares) {
  const Regions square = one(rect(0, 0, 40, 40));
  const auto lines = fill_area(square, params(InfillPattern::triangles, 0.2, 10));
  std::array<double, 3> share{};
  for (const auto& l : lines) {
    ASSERT_EQ(l.points.size(), 2u);
    const double a = std::atan2(l.points[1].y - l.points[0].y, l.points[1].x - l.points[0].x) * 180 / kPi;
    const double rel = std::fmod(a - 10 + 360, 180);  // 0, 60 or 120
    const int family = static_cast<int>(std::lround(rel / 60)) % 3;
    EXPECT_NEAR(rel, family * 60.0 + (family == 0 && rel > 90 ? 180 : 0), 1e-3);
    share[static_cast<std::size_t>(family)] += length(l);
  }
  for (double s : share) EXPECT_NEAR(s / total_length(lines), 1.0 / 3, 0.03);
}

TEST(InfillHoneycomb, CellsStayPutAndTheDirectionCyclesOverThreeLayers) {
  const Regions square = one(rect(0, 0, 30, 30));
  std::vector<std::vector<InfillLine>> layers;
  for (int i = 0; i < 4; ++i) {
    InfillParams p = params(InfillPattern::honeycomb, 0.2, 0);
    p.layer_index = i;
    layers.push_back(fill_area(square, p));
  }
  EXPECT_TRUE(same_bytes(layers[0], layers[3]));
  EXPECT_FALSE(same_bytes(layers[0], layers[1]));
  // The walls of layer 1 lie on the walls of layer 0: sample layer 1's lines, every point is within
  // one line spacing of layer 0's lines (the doubled walls sit +-spacing/2 off the wall).
  auto near_layer0 = [&](Point2 p) {
    for (const auto& l : layers[0])
      for (std::size_t i = 1; i < l.points.size(); ++i)
        if (distance_to_segment(p, l.points[i - 1], l.points[i]) <= kSpacing + 1e-6) return true;
    return false;
  };
  int far = 0, sampled = 0;
  for (const auto& l : layers[1])
    for (std::size_t i = 1; i < l.points.size(); ++i) {
      const Point2 a = l.points[i - 1], b = l.points[i];
      const Point2 mid{(a.x + b.x) / 2, (a.y + b.y) / 2};
      if (distance_to_boundary(square, mid) < 1) continue;  // joins along the edge
      ++sampled;
      far += !near_layer0(mid);
    }
  EXPECT_GT(sampled, 100);
  EXPECT_EQ(far, 0);
}

// ---- gyroid ----

TEST(InfillGyroid, ChangesWithZAndRepeatsAtEqualZ) {
  const Regions area = star_with_hole();
  InfillParams p = params(InfillPattern::gyroid, 0.2, 45);
  p.z_mm = 0.6;
  const auto a = fill_area(area, p);
  const auto b = fill_area(area, p);
  p.z_mm = 0.8;
  const auto c = fill_area(area, p);
  EXPECT_TRUE(same_bytes(a, b));
  EXPECT_FALSE(same_bytes(a, c));
}

TEST(InfillGyroid, PolylinesFollowTheSurfaceWithin20Microns) {
  const Regions square = one(rect(0, 0, 30, 30));
  const double density = 0.25;
  const double period = 2.45871 * kSpacing / density;  // see infill_patterns.cpp
  const double k = 2 * kPi / period;
  for (double z : {0.0, 0.5, 1.1, 2.9}) {
    InfillParams p = params(InfillPattern::gyroid, density, 0);
    p.z_mm = z;
    p.max_connection_factor = 0;  // no joins: every point belongs to a wave
    const double zz = k * z;
    // Distance to the curve, to first order: |G| / |grad G|.
    auto distance = [&](Point2 q) {
      const double x = k * q.x, y = k * q.y;
      const double g = std::sin(x) * std::cos(y) + std::sin(y) * std::cos(zz) + std::sin(zz) * std::cos(x);
      const double gx = std::cos(x) * std::cos(y) - std::sin(zz) * std::sin(x);
      const double gy = -std::sin(x) * std::sin(y) + std::cos(y) * std::cos(zz);
      return std::abs(g) / (k * std::hypot(gx, gy));
    };
    double worst = 0;
    int points = 0;
    for (const auto& l : fill_area(square, p))
      for (std::size_t i = 1; i < l.points.size(); ++i)
        for (double t : {0.25, 0.5, 0.75}) {
          const Point2 a = l.points[i - 1], b = l.points[i];
          worst = std::max(worst, distance({a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t}));
          ++points;
        }
    EXPECT_GT(points, 1000);
    EXPECT_LE(worst, 0.021) << "z " << z;
  }
}

TEST(InfillGyroid, WavesAreJoinedIntoFewPolylines) {
  const Regions square = one(rect(0, 0, 40, 40));
  InfillParams p = params(InfillPattern::gyroid, 0.2, 0);
  p.z_mm = 0.3;
  const auto joined = fill_area(square, p);
  p.max_connection_factor = 0;
  const auto separate = fill_area(square, p);
  EXPECT_LE(joined.size() * 4, separate.size()) << joined.size() << " vs " << separate.size();
}

// ---- metamorphic ----

Point2 rotated(Point2 p, double degrees) {
  const double a = degrees * kPi / 180;
  return {p.x * std::cos(a) - p.y * std::sin(a), p.x * std::sin(a) + p.y * std::cos(a)};
}

TEST(InfillMetamorphic, RotatingTheAreaAndTheAngleTogetherRotatesTheLines) {
  // The grids are anchored at the bed origin and turn with the angle, so filling the area turned
  // by -30 degrees at angle 0 and turning the result by +30 gives the fill at angle 30.
  const Regions area = star_with_hole();
  Regions turned = area;
  for (auto& island : turned.islands) {
    for (Point2& p : island.outer) p = rotated(p, -30);
    for (Ring& h : island.holes)
      for (Point2& p : h) p = rotated(p, -30);
  }
  for (InfillPattern pattern : kAllPatterns) {
    InfillParams p = params(pattern, 0.3, 30);
    p.z_mm = 0.7;
    const auto direct = fill_area(area, p);
    p.angle_deg = 0;
    auto via = fill_area(turned, p);
    for (auto& l : via)
      for (Point2& q : l.points) q = rotated(q, 30);
    EXPECT_EQ(direct.size(), via.size()) << name(pattern);
    EXPECT_NEAR(total_length(direct), total_length(via), 1e-4 * total_length(direct)) << name(pattern);
    // Every point of one lies on the other (to within clipping's nanometre rounding).
    double worst = 0;
    for (const auto& l : via)
      for (Point2 q : l.points) {
        double best = 1e300;
        for (const auto& m : direct)
          for (std::size_t i = 0; i + 1 < m.points.size() + (m.closed ? 1 : 0); ++i)
            best = std::min(best, distance_to_segment(q, m.points[i], m.points[(i + 1) % m.points.size()]));
        worst = std::max(worst, best);
      }
    EXPECT_LT(worst, 1e-4) << name(pattern);
  }
}

// ---- determinism ----

TEST(InfillDeterminism, RerunsAreByteIdentical) {
  const Regions area = star_with_hole();
  for (InfillPattern pattern : kAllPatterns)
    for (double density : {0.2, 1.0}) {
      InfillParams p = params(pattern, density, 37);
      p.z_mm = 2.2;
      p.layer_index = 5;
      EXPECT_TRUE(same_bytes(fill_area(area, p), fill_area(area, p))) << name(pattern);
    }
}

}  // namespace
}  // namespace fabforge::toolpath
