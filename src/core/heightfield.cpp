#include "fabforge/core/heightfield.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <limits>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "fabforge/core/error.hpp"
#include "fabforge/core/parallel.hpp"

#include "rect_triangulate.hpp"

namespace fabforge {

namespace {

using detail::Axis;
using detail::CornerGrid;
using detail::GridFaces;
using detail::GridPoint;
using detail::RectFace;
using detail::TriFace;

constexpr std::size_t kRowGrain = 8;

std::size_t pixel_count(const Heightfield& f) {
  return static_cast<std::size_t>(f.width) * static_cast<std::size_t>(f.height);
}

std::string describe(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

void validate(const Heightfield& f) {
  if (f.width < 0 || f.height < 0) {
    throw usage_error("heightfield: size " + std::to_string(f.width) + " x " + std::to_string(f.height) +
                      " is negative");
  }
  if (!(f.pixel_size_mm > 0) || !std::isfinite(f.pixel_size_mm)) {
    throw usage_error("heightfield: pixel size must be a positive number of millimetres, got " +
                      describe(f.pixel_size_mm));
  }
  const std::size_t n = pixel_count(f);
  if (f.heights_mm.size() != n) {
    throw usage_error("heightfield: " + std::to_string(f.width) + " x " + std::to_string(f.height) + " pixels need " +
                      std::to_string(n) + " heights, got " + std::to_string(f.heights_mm.size()));
  }
  if (!f.mask.empty() && f.mask.size() != n) {
    throw usage_error("heightfield: the mask must be empty or have " + std::to_string(n) + " entries, got " +
                      std::to_string(f.mask.size()));
  }
  for (int y = 0; y < f.height; ++y) {
    for (int x = 0; x < f.width; ++x) {
      const float h = f.at(x, y);
      if (f.printed(x, y) && !(std::isfinite(h) && h > 0)) {
        throw usage_error("heightfield: pixel (" + std::to_string(x) + ", " + std::to_string(y) + ") has height " +
                          describe(h) + " mm; printed pixels need a positive finite height");
      }
    }
  }
}

/// Height of the solid over pixel (x, y): 0 outside the grid or the mask.
float solid_height(const Heightfield& f, int x, int y) {
  if (x < 0 || y < 0 || x >= f.width || y >= f.height || !f.printed(x, y)) return 0.0f;
  return f.at(x, y);
}

std::uint32_t bits(float z) { return std::bit_cast<std::uint32_t>(z); }

/// A maximal run of equal nonzero keys in one row, pixels [x0, x1).
struct Run {
  int x0 = 0, x1 = 0;
  std::uint32_t key = 0;
  friend bool operator==(const Run&, const Run&) = default;
};

std::vector<Run> row_runs(const std::uint32_t* keys, int w) {
  std::vector<Run> runs;
  for (int x = 0; x < w;) {
    const std::uint32_t key = keys[x];
    int x1 = x + 1;
    while (x1 < w && keys[x1] == key) ++x1;
    if (key != 0) runs.push_back({x, x1, key});
    x = x1;
  }
  return runs;
}

bool row_has(const std::vector<Run>& row, const Run& r) {
  auto it = std::lower_bound(row.begin(), row.end(), r.x0, [](const Run& a, int x) { return a.x0 < x; });
  return it != row.end() && *it == r;
}

/// Rectangles of equal nonzero keys: maximal runs in each row, stacked while the rows below
/// repeat the run exactly. Unlike a greedy cover this commutes with mirroring the field and with
/// refining the pixels, and each row's work is independent. Emitted by first row, then x.
template <class Emit>
void merged_rectangles(int w, int h, const std::vector<std::uint32_t>& keys, Emit&& emit) {
  const auto rows = static_cast<std::size_t>(h);
  std::vector<std::vector<Run>> runs(rows);
  parallel_for_each_index(0, rows, kRowGrain,
                          [&](std::size_t y) { runs[y] = row_runs(keys.data() + y * static_cast<std::size_t>(w), w); });
  std::vector<std::vector<std::array<int, 4>>> rects(rows);
  parallel_for_each_index(0, rows, kRowGrain, [&](std::size_t y) {
    for (const Run& r : runs[y]) {
      if (y > 0 && row_has(runs[y - 1], r)) continue;  // part of a rectangle started above
      std::size_t y1 = y + 1;
      while (y1 < rows && row_has(runs[y1], r)) ++y1;
      rects[y].push_back({r.x0, static_cast<int>(y), r.x1, static_cast<int>(y1)});
    }
  });
  for (std::size_t y = 0; y < rows; ++y) {
    for (const auto& [x0, y0, x1, y1] : rects[y])
      emit(x0, y0, x1, y1, keys[y * static_cast<std::size_t>(w) + static_cast<std::size_t>(x0)]);
  }
}

/// Keys computed per pixel in parallel (rows write disjoint slots).
template <class Key>
std::vector<std::uint32_t> pixel_keys(const Heightfield& f, Key&& key) {
  std::vector<std::uint32_t> keys(pixel_count(f));
  parallel_for_each_index(0, static_cast<std::size_t>(f.height), kRowGrain, [&](std::size_t row) {
    const int y = static_cast<int>(row);
    for (int x = 0; x < f.width; ++x)
      keys[row * static_cast<std::size_t>(f.width) + static_cast<std::size_t>(x)] = key(x, y);
  });
  return keys;
}

/// Flat horizontal faces from merged rectangles of keys (a key is the face's height bits).
void add_flat_faces(const Heightfield& f, const std::vector<std::uint32_t>& keys, int sign, GridFaces& out) {
  merged_rectangles(f.width, f.height, keys, [&](int x0, int y0, int x1, int y1, std::uint32_t key) {
    const float z = sign > 0 ? std::bit_cast<float>(key) : 0.0f;
    out.rects.push_back({x0, x1, y0, y1, z, z, Axis::z, static_cast<std::int8_t>(sign)});
  });
}

void add_bottom(const Heightfield& f, GridFaces& out) {
  add_flat_faces(f, pixel_keys(f, [&](int x, int y) { return f.printed(x, y) ? 1u : 0u; }), -1, out);
}

/// One unit edge of a grid line seen as a wall: from `low` up to top0 at its start corner and
/// top1 at its end corner, outward normal sign `sign` (0: no wall).
struct WallSegment {
  int sign = 0;
  float low = 0, top0 = 0, top1 = 0;
};

/// Walls along grid line `line` (x = line for Axis::x, image row line for Axis::y): runs of flat
/// segments with the same side and heights become one rectangle; sloped (smooth) segments become
/// two triangles. `seg(i)` is the segment between positions i and i + 1 along the line.
template <class Seg>
void add_line_walls(int line, int length, Axis axis, Seg&& seg, GridFaces& out) {
  auto point = [&](int i, float z) { return axis == Axis::x ? GridPoint{line, i, z} : GridPoint{i, line, z}; };
  int run_start = 0;
  WallSegment run;
  auto flush = [&](int end) {
    if (run.sign == 0) return;
    const GridPoint a = point(run_start, run.low), b = point(end, run.top0);
    out.rects.push_back({a.cx, b.cx, a.cy, b.cy, run.low, run.top0, axis, static_cast<std::int8_t>(run.sign)});
    run.sign = 0;
  };
  for (int i = 0; i < length; ++i) {
    const WallSegment s = seg(i);
    const bool flat = s.sign != 0 && s.top0 == s.top1;
    if (run.sign != 0 && flat && s.sign == run.sign && s.low == run.low && s.top0 == run.top0) continue;
    flush(i);
    if (flat) {
      run = s;
      run_start = i;
    } else if (s.sign != 0) {
      const auto sign = static_cast<std::int8_t>(s.sign);
      out.tris.push_back({{point(i, s.low), point(i + 1, s.low), point(i + 1, s.top1)}, axis, sign});
      out.tris.push_back({{point(i, s.low), point(i + 1, s.top1), point(i, s.top0)}, axis, sign});
    }
  }
  flush(length);
}

/// All walls: vertical grid lines (x = cx, wall normal along world x) then horizontal ones
/// (cy, normal along world y), each line into its own slot so the order is fixed.
/// `seg_x(cx, y)`: segment between pixels (cx - 1, y) and (cx, y); `seg_y(x, cy)`: between the
/// back pixel (x, cy - 1) and the front pixel (x, cy).
template <class SegX, class SegY>
void add_walls(const Heightfield& f, SegX&& seg_x, SegY&& seg_y, GridFaces& out) {
  const std::size_t lines_x = static_cast<std::size_t>(f.width) + 1, lines_y = static_cast<std::size_t>(f.height) + 1;
  std::vector<GridFaces> slots(lines_x + lines_y);
  parallel_for_each_index(0, slots.size(), 16, [&](std::size_t i) {
    if (i < lines_x) {
      const int cx = static_cast<int>(i);
      add_line_walls(
          cx, f.height, Axis::x, [&](int y) { return seg_x(cx, y); }, slots[i]);
    } else {
      const int cy = static_cast<int>(i - lines_x);
      add_line_walls(
          cy, f.width, Axis::y, [&](int x) { return seg_y(x, cy); }, slots[i]);
    }
  });
  out.append(slots);
}

/// A step between two pixel heights (0 = nothing); the wall faces the lower side, `toward_a`
/// being the outward sign when a is the lower one.
WallSegment step(float a, float b, int toward_a) {
  if (a == b) return {};
  return {a < b ? toward_a : -toward_a, std::min(a, b), std::max(a, b), std::max(a, b)};
}

/// The vertical edge [lo, hi] along which the columns of two diagonal pixels touch at a corner:
/// both pixels of one diagonal are above both of the other over it. hi == 0: no such edge.
struct DiagonalTouch {
  float lo = 0, hi = 0;
};

DiagonalTouch diagonal_touch(float back_left, float back_right, float front_left, float front_right) {
  // The back pixels lie on different diagonals, so they differ at a saddle: a cheap test that
  // passes over flat ground, where most corners are.
  if (back_left == back_right) return {};
  const float main_lo = std::min(back_left, front_right), main_hi = std::max(back_left, front_right);
  const float anti_lo = std::min(back_right, front_left), anti_hi = std::max(back_right, front_left);
  if (main_lo > anti_hi) return {anti_hi, main_lo};
  if (anti_lo > main_hi) return {main_hi, anti_lo};
  return {};
}

/// At a saddle corner four walls share the touching edge. Splitting its top vertex gives each
/// column its own copy of the edge, as every face at that vertex belongs to one of the two high
/// columns. The bottom vertex is split too where it is the floor (the low pixels are holes); above
/// the floor the low pixel's top joins the two columns' walls there, and the vertex must stay one.
/// `around`: the heights of the pixels at the back left, back right, front left and front right.
void split_saddle(CornerGrid& grid, int cx, int cy, const std::array<float, 4>& around) {
  const DiagonalTouch t = diagonal_touch(around[0], around[1], around[2], around[3]);
  if (t.hi == 0) return;
  grid.split(cx, cy, t.hi);
  if (t.lo == 0) grid.split(cx, cy, 0.0f);
}

GridFaces stepped_faces(const Heightfield& f, CornerGrid& grid) {
  parallel_for_each_index(0, static_cast<std::size_t>(grid.corners_y()), kRowGrain, [&](std::size_t row) {
    const int cy = static_cast<int>(row);
    for (int cx = 0; cx < grid.corners_x(); ++cx) {
      const std::array<float, 4> around{solid_height(f, cx - 1, cy - 1), solid_height(f, cx, cy - 1),
                                        solid_height(f, cx - 1, cy), solid_height(f, cx, cy)};
      std::array<float, CornerGrid::kMaxHeights> z{0.0f, around[0], around[1], around[2], around[3]};
      std::sort(z.begin(), z.end());
      const auto n = static_cast<int>(std::unique(z.begin(), z.end()) - z.begin());
      grid.set_heights(cx, cy, z.data(), n);
      split_saddle(grid, cx, cy, around);
    }
  });
  GridFaces faces;
  add_flat_faces(f, pixel_keys(f, [&](int x, int y) { return f.printed(x, y) ? bits(f.at(x, y)) : 0u; }), 1, faces);
  // Left pixel lower: the wall faces -x. Back pixel (+y) lower: it faces +y.
  auto seg_x = [&](int cx, int y) { return step(solid_height(f, cx - 1, y), solid_height(f, cx, y), -1); };
  auto seg_y = [&](int x, int cy) { return step(solid_height(f, x, cy - 1), solid_height(f, x, cy), 1); };
  add_walls(f, seg_x, seg_y, faces);
  add_bottom(f, faces);
  return faces;
}

/// Smooth corner heights: the mean of the printed pixels around each corner (0: none).
std::vector<float> corner_means(const Heightfield& f) {
  const std::size_t cw = static_cast<std::size_t>(f.width) + 1;
  std::vector<float> h(cw * (static_cast<std::size_t>(f.height) + 1), 0.0f);
  parallel_for_each_index(0, static_cast<std::size_t>(f.height) + 1, kRowGrain, [&](std::size_t row) {
    const int cy = static_cast<int>(row);
    for (int cx = 0; cx <= f.width; ++cx) {
      double sum = 0;
      int n = 0;
      for (const auto& [x, y] :
           {std::pair{cx - 1, cy - 1}, std::pair{cx, cy - 1}, std::pair{cx - 1, cy}, std::pair{cx, cy}}) {
        const float z = solid_height(f, x, y);
        sum += z;
        n += z > 0 ? 1 : 0;
      }
      h[row * cw + static_cast<std::size_t>(cx)] = n > 0 ? static_cast<float>(sum / n) : 0.0f;
    }
  });
  return h;
}

/// Sloped pixel quads of the smooth top, two triangles each, split along the diagonal whose
/// ends are closer in height (the shorter 3D diagonal; ties take the (x, y)-(x+1, y+1) one).
void add_sloped_quads(const Heightfield& f, const std::vector<float>& corner, GridFaces& out) {
  const std::size_t cw = static_cast<std::size_t>(f.width) + 1;
  std::vector<GridFaces> rows(static_cast<std::size_t>(f.height));
  parallel_for_each_index(0, rows.size(), kRowGrain, [&](std::size_t row) {
    const int y = static_cast<int>(row);
    for (int x = 0; x < f.width; ++x) {
      const std::size_t c = row * cw + static_cast<std::size_t>(x);
      const GridPoint a{x, y, corner[c]}, b{x + 1, y, corner[c + 1]}, d{x, y + 1, corner[c + cw]},
          e{x + 1, y + 1, corner[c + cw + 1]};
      if (!f.printed(x, y) || (a.z == b.z && a.z == d.z && a.z == e.z)) continue;
      if (std::abs(a.z - e.z) <= std::abs(b.z - d.z)) {
        rows[row].tris.push_back({{a, b, e}, Axis::z, 1});
        rows[row].tris.push_back({{a, e, d}, Axis::z, 1});
      } else {
        rows[row].tris.push_back({{a, b, d}, Axis::z, 1});
        rows[row].tris.push_back({{b, e, d}, Axis::z, 1});
      }
    }
  });
  out.append(rows);
}

/// Smooth corner heights by corner coordinates.
struct CornerHeights {
  const std::vector<float>& z;
  std::size_t corners_x;
  float operator()(int cx, int cy) const {
    return z[static_cast<std::size_t>(cy) * corners_x + static_cast<std::size_t>(cx)];
  }
};

/// Keys for merging the smooth top: printed pixels whose four corners share one height.
std::vector<std::uint32_t> smooth_flat_keys(const Heightfield& f, const CornerHeights& corner) {
  return pixel_keys(f, [&](int x, int y) {
    const float z = corner(x, y);
    const bool flat = z == corner(x + 1, y) && z == corner(x, y + 1) && z == corner(x + 1, y + 1);
    return f.printed(x, y) && flat ? bits(z) : 0u;
  });
}

GridFaces smooth_faces(const Heightfield& f, CornerGrid& grid) {
  const std::vector<float> means = corner_means(f);
  const CornerHeights corner{means, static_cast<std::size_t>(grid.corners_x())};
  parallel_for_each_index(0, static_cast<std::size_t>(grid.corners_y()), kRowGrain, [&](std::size_t row) {
    const int cy = static_cast<int>(row);
    for (int cx = 0; cx < grid.corners_x(); ++cx) {
      const float z[2] = {0.0f, corner(cx, cy)};
      grid.set_heights(cx, cy, z, z[1] > 0 ? 2 : 1);
      // The walls stand only on the outline: printed pixels touch along an edge where the mask
      // is diagonal (never without a mask: on the field's border the pixels are side by side),
      // from the floor to the corner height; split both ends.
      if (f.mask.empty()) continue;
      const DiagonalTouch t = diagonal_touch(solid_height(f, cx - 1, cy - 1), solid_height(f, cx, cy - 1),
                                             solid_height(f, cx - 1, cy), solid_height(f, cx, cy));
      if (t.hi > 0 && t.lo == 0) {
        grid.split(cx, cy, z[0]);
        grid.split(cx, cy, z[1]);
      }
    }
  });
  GridFaces faces;
  add_flat_faces(f, smooth_flat_keys(f, corner), 1, faces);
  add_sloped_quads(f, means, faces);
  // Walls only where the mask ends, from 0 up to the corner heights at the segment's ends.
  auto inside = [&](int x, int y) { return solid_height(f, x, y) > 0; };
  auto outline = [&](bool a_inside, bool b_inside, int toward_a, float top0, float top1) -> WallSegment {
    if (a_inside == b_inside) return {};
    return {b_inside ? toward_a : -toward_a, 0.0f, top0, top1};
  };
  auto seg_x = [&](int cx, int y) {
    return outline(inside(cx - 1, y), inside(cx, y), -1, corner(cx, y), corner(cx, y + 1));
  };
  auto seg_y = [&](int x, int cy) {
    return outline(inside(x, cy - 1), inside(x, cy), 1, corner(x, cy), corner(x + 1, cy));
  };
  add_walls(f, seg_x, seg_y, faces);
  add_bottom(f, faces);
  return faces;
}

}  // namespace

Mesh heightfield_to_mesh(const Heightfield& field, const HeightfieldMeshOptions& options) {
  validate(field);
  if (static_cast<double>(field.width + 1) * static_cast<double>(field.height + 1) > 1e9) {
    throw usage_error("heightfield: " + std::to_string(field.width) + " x " + std::to_string(field.height) +
                      " pixels is too large to mesh");
  }
  bool any = false;
  for (int y = 0; y < field.height && !any; ++y) {
    for (int x = 0; x < field.width && !any; ++x) any = field.printed(x, y);
  }
  if (!any) return {};
  CornerGrid grid(field.width, field.height, field.pixel_size_mm);
  const GridFaces faces =
      options.style == HeightfieldStyle::smooth ? smooth_faces(field, grid) : stepped_faces(field, grid);
  return detail::triangulate_faces(grid, faces);
}

double heightfield_volume(const Heightfield& field) {
  validate(field);
  const double sum = parallel_reduce(
      0, static_cast<std::size_t>(field.height), 64, 0.0,
      [&](std::size_t lo, std::size_t hi) {
        double s = 0;
        for (std::size_t y = lo; y < hi; ++y) {
          for (int x = 0; x < field.width; ++x) s += solid_height(field, x, static_cast<int>(y));
        }
        return s;
      },
      [](double a, double b) { return a + b; });
  return sum * field.pixel_size_mm * field.pixel_size_mm;
}

}  // namespace fabforge
