#pragma once
/// Dithering: the voxel pipeline's step from continuous material mixtures to one material per
/// voxel (issue 6, stage 4). The volume phase leaves every voxel of a slice with M weights, one per
/// material of the printer (M <= 64); the printer deposits exactly one material per voxel. The
/// Ditherer turns each slice's mixtures into material indices with vector Floyd-Steinberg error
/// diffusion, so that over any region the share of each material matches the requested mixture.
///
/// Per voxel:
///   1. Normalise. Negative weights count as 0. If any weight is not finite (NaN, inf) or the
///      weights sum to 0, the voxel is void: it outputs 0, and it neither receives nor passes
///      error (error diffused towards it is dropped, as error leaving the slice's edges is).
///      Otherwise the weights are divided by their sum.
///   2. Quantise. The normalised mixture plus the error diffused to this voxel is a vector v in
///      R^M; the voxel takes the material with the largest component (ties: the lowest index) and
///      outputs its index + 1. The residual v - e_m (e_m the one-hot vector of the choice) is
///      diffused to neighbours not yet visited: 7/16 ahead in the row, 3/16 below and behind,
///      5/16 below, 1/16 below and ahead.
/// Rows are scanned serpentine: row 0 of a slice left to right (x increasing), row 1 right to
/// left, and so on; "ahead" and "behind" follow the scan direction. Serpentine scanning avoids
/// the diagonal "worm" patterns of raster-order Floyd-Steinberg at small fractions.
///
/// The Ditherer streams a slice row by row and keeps only two rows of error (the current and the
/// next row's, (width + 2) * M floats each), so memory does not grow with the slice height. It is
/// deterministic: the same weights give the same indices on every run and thread count (one slice
/// runs serially; slices are independent, so a pipeline may dither different slices in parallel
/// with one Ditherer each). A Ditherer is not thread-safe; use one per thread.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace fabforge::voxel {

/// The largest material count the Ditherer takes (the printer table's limit).
inline constexpr int kMaxDitherMaterials = 64;

/// Rule 1's void test for one voxel's `materials` weights: a weight that is not finite, or no
/// positive weight. The Ditherer outputs 0 for exactly these voxels (its kernel makes the same test
/// fused with the normalisation); a pipeline that fills void voxels with support asks this.
inline bool is_void_mixture(const float* weights, int materials) {
  float sum = 0;
  bool finite = true;
  for (int m = 0; m < materials; ++m) {
    finite = finite && std::isfinite(weights[m]);
    sum += std::max(weights[m], 0.0f);
  }
  return !finite || !(sum > 0);
}

/// Streaming vector Floyd-Steinberg ditherer for slices of width x height voxels and M materials.
class Ditherer {
 public:
  /// Throws Error (usage) unless width >= 1, height >= 1 and 1 <= materials <= 64. `codes`, when
  /// given, holds materials + 1 output values: codes[0] is written for a void voxel and
  /// codes[m + 1] for material m, instead of 0 and m + 1 (a pipeline that dithers a subset of the
  /// printer's materials writes printer material numbers straight away, without a second pass over
  /// the row). Usage error for any other size.
  Ditherer(int width, int height, int materials, std::span<const std::uint8_t> codes = {});

  /// Dithers the next row of the current slice. `weights` holds width * M floats, voxel-major
  /// (voxel x's weights at weights[x * M .. x * M + M - 1]); `out` receives width indices
  /// (0 = void, m = material m - 1; or their codes). Rows come in order j = 0, 1, ..., height - 1. Throws Error
  /// (usage) when more than `height` rows are pushed without reset().
  void push_row(const float* weights, std::uint8_t* out);

  /// Same as push_row() for a row whose voxels outside [first, end) are void: their weights are
  /// not read (`weights` still points at voxel 0's), the result is push_row()'s with every weight
  /// there 0, and the cost is the span's. Usage error unless 0 <= first <= end <= width.
  void push_row(const float* weights, std::uint8_t* out, int first, int end);

  /// Same as push_row() with every weight 0 (a row of void), without reading weights.
  void push_void_row(std::uint8_t* out);

  /// Starts a new slice: clears the diffused error and the row count.
  void reset();

  int width() const noexcept { return width_; }
  int height() const noexcept { return height_; }
  int materials() const noexcept { return materials_; }
  /// Rows pushed since the last reset().
  int rows_done() const noexcept { return row_; }

 private:
  int width_;
  int height_;
  int materials_;
  int row_ = 0;
  std::array<std::uint8_t, kMaxDitherMaterials + 1> codes_{};  ///< output value of void, material 0, 1, ...
  std::vector<float> current_;  ///< error reaching this row, (width + 2) * M, one guard voxel each side
  std::vector<float> next_;     ///< error reaching the next row, same layout
};

/// Dithers a whole slice: `weights` holds width * height * M floats (row-major, voxel-major
/// within a row), `out` width * height indices. Same rules and errors as Ditherer.
void dither_slice(const float* weights, int width, int height, int materials, std::uint8_t* out);

/// As above, returning the indices. Throws Error (usage) if weights.size() != width * height * M.
std::vector<std::uint8_t> dither_slice(const std::vector<float>& weights, int width, int height, int materials);

}  // namespace fabforge::voxel
