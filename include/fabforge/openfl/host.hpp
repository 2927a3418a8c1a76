#pragma once
/// What an OpenFL kernel asks of the program running it: texture samples and surface queries,
/// always for a whole batch of lanes at once.

#include <array>
#include <cstddef>
#include <limits>
#include <vector>

#include "fabforge/openfl/texture.hpp"

namespace fabforge::openfl {

/// A closed float interval [lo, hi] (lo may be -inf, hi +inf). NaN never appears in a bound;
/// an interval that may hold NaN is the whole line.
struct Interval {
  float lo = -std::numeric_limits<float>::infinity();
  float hi = std::numeric_limits<float>::infinity();
  /// NaN is contained only by the whole line.
  bool contains(float x) const {
    if (x != x) return lo == -std::numeric_limits<float>::infinity() && hi == std::numeric_limits<float>::infinity();
    return x >= lo && x <= hi;
  }
  bool operator==(const Interval&) const = default;
};

/// Surface query columns (volume phase): see ir::Op::query.
constexpr int kQuerySignedDistance = 0;
constexpr int kQueryPoint = 1;       ///< 3 columns
constexpr int kQueryNormal = 4;      ///< 3 columns
constexpr int kQueryOuts = 7;        ///< the fablet's out columns follow

class Host {
 public:
  virtual ~Host() = default;
  /// Samples texture `slot` (the texture uniform's slot) at n points at mip level lod[i]
  /// (fractional; clamped to the pyramid); writes rgba[c][i].
  virtual void sample(int slot, std::size_t n, const float* u, const float* v, const float* lod,
                      float* const rgba[4]) const = 0;
  /// log2 of the larger side of texture `slot` in texels. Texture lod contract (every
  /// interpreter): sample() in the surface phase, for a full quad whose 4 lanes are all active at
  /// the call, passes lod = log2f(max(sqrtf(dudx*dudx + dvdx*dvdx), sqrtf(dudy*dudy + dvdy*dvdy)))
  /// + texture_lod_bias(slot), with dudx = u[lane 1] - u[lane 0], dudy = u[lane 2] - u[lane 0]
  /// (likewise v), the same value for the 4 lanes; otherwise (volume phase, partial quad, some lane
  /// inactive) lod = 0. sample_lod() passes its argument unchanged.
  virtual float texture_lod_bias(int slot) const = 0;
  /// Nearest point of the displaced surface for n points; fills `column_count` columns
  /// (kQuerySignedDistance, point, normal, outs...) of n floats each. A null column is one the
  /// kernel never reads: it is skipped (and need not be computed).
  virtual void surface_query(std::size_t n, const float* const xyz[3], float* const* columns,
                             int column_count) const = 0;
  /// Bounds for the interval interpreter. Defaults: [0, 1] per channel; every query column
  /// unbounded.
  virtual std::array<Interval, 4> texture_range(int slot) const;
  virtual void query_range(const Interval xyz[3], Interval* columns, int column_count) const;
};

/// A host with textures bound by slot and no surface: a surface query throws a runtime Error
/// ("this fablet queries the surface, but no surface was given"). Used by `openfl eval` without
/// a mesh and by tests.
class TextureHost : public Host {
 public:
  TextureHost() = default;
  explicit TextureHost(std::vector<Texture> textures) : textures_(std::move(textures)) {}
  void sample(int slot, std::size_t n, const float* u, const float* v, const float* lod,
              float* const rgba[4]) const override;
  void surface_query(std::size_t n, const float* const xyz[3], float* const* columns,
                     int column_count) const override;
  std::array<Interval, 4> texture_range(int slot) const override;
  float texture_lod_bias(int slot) const override;  ///< log2(max(width, height))
  const std::vector<Texture>& textures() const noexcept { return textures_; }

 private:
  std::vector<Texture> textures_;
};

}  // namespace fabforge::openfl
