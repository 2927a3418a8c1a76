#include "fabforge/voxel/dither.hpp"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <string>

#include "fabforge/core/error.hpp"

namespace fabforge::voxel {

namespace {

// Floyd-Steinberg weights.
constexpr float kAhead = 7.0f / 16.0f;
constexpr float kBelowBehind = 3.0f / 16.0f;
constexpr float kBelow = 5.0f / 16.0f;
constexpr float kBelowAhead = 1.0f / 16.0f;

/// Dithers voxels [first, end) of a row of `width`. kM > 0 fixes the material count at compile time (the
/// common small counts, so the per-material loops unroll and the running vectors stay in
/// registers); kM == 0 reads it from `materials`. `dir` is +1 (left to right) or -1 (right to left).
///
/// `current` holds the error that reached this row from the row above; it is only read. Each
/// cell of `next` receives 1/16, 5/16 and 3/16 of three consecutive residuals of this row, so
/// the kernel carries those sums along and stores each cell of `next` once (no read-modify-write,
/// no clearing). Both rows have a guard voxel at each end: the below-behind share of the row's
/// first voxel lands in a guard and is never read, and the below-ahead share of the last voxel is
/// not stored at all (error leaving the slice is dropped). Of `next` it stores the cells below
/// voxels first .. end - 1, the one behind the first voxel it visits (a guard at the row's edge)
/// and the one beyond the last, unless that lies outside the row: the voxels outside the span are
/// void, so that is everything they would store.
template <int kM>
void dither_row(const float* weights, std::uint8_t* out, const std::uint8_t* codes, int first, int end, int width,
                int materials, int dir, const float* current, float* next) {
  constexpr int kCap = kM > 0 ? kM : kMaxDitherMaterials;
  const int m_count = kM > 0 ? kM : materials;
  float v[kCap];
  float ahead[kCap] = {};  // 7/16 of the previous voxel's residual: error for this voxel
  float carry[kCap] = {};  // 1/16 r[n-2] + 5/16 r[n-1]: the cell below the previous voxel, but its 3/16 r[n]
  float fresh[kCap] = {};  // 1/16 r[n-1]: the cell below this voxel so far
  int x = dir > 0 ? first : end - 1;
  for (int n = first; n < end; ++n, x += dir) {
    const float* w = weights + static_cast<std::ptrdiff_t>(x) * m_count;
    const float* e = current + static_cast<std::ptrdiff_t>(x + 1) * m_count;
    float* below_behind = next + static_cast<std::ptrdiff_t>(x + 1 - dir) * m_count;
    // Normalise. `finite` stays 0 unless a weight is NaN or infinite (w - w is NaN then).
    float finite = 0.0f;
    float sum = 0.0f;
    for (int m = 0; m < m_count; ++m) {
      const float wm = w[m];
      finite += wm - wm;
      const float p = wm > 0.0f ? wm : 0.0f;
      v[m] = p;
      sum += p;
    }
    float inv = 1.0f / sum;
    if (!(finite == 0.0f) || !(sum > 0.0f) || sum > std::numeric_limits<float>::max()) [[unlikely]] {
      if (finite == 0.0f && sum > 0.0f) {
        // Finite weights whose float sum overflowed: sum in double (64 floats cannot overflow it).
        double wide = 0.0;
        for (int m = 0; m < m_count; ++m) wide += v[m];
        inv = static_cast<float>(1.0 / wide);
      } else {
        // Void: drops the error that reached it and passes none on (its residual is 0).
        out[x] = codes[0];
        for (int m = 0; m < m_count; ++m) {
          below_behind[m] = carry[m];
          carry[m] = fresh[m];
          fresh[m] = 0.0f;
          ahead[m] = 0.0f;
        }
        continue;
      }
    }
    for (int m = 0; m < m_count; ++m) v[m] = v[m] * inv + (e[m] + ahead[m]);
    // Argmax with the value tracked alongside (no indexed reads, so v can stay in registers).
    int best = 0;
    float best_value = v[0];
    for (int m = 1; m < m_count; ++m) {
      const bool larger = v[m] > best_value;  // strict: ties go to the lowest index
      best = larger ? m : best;
      best_value = larger ? v[m] : best_value;
    }
    out[x] = codes[best + 1];
    for (int m = 0; m < m_count; ++m) {
      const float r = m == best ? v[m] - 1.0f : v[m];
      below_behind[m] = carry[m] + kBelowBehind * r;
      carry[m] = fresh[m] + kBelow * r;
      fresh[m] = kBelowAhead * r;
      ahead[m] = kAhead * r;
    }
  }
  // The cell below the last voxel is complete now. What goes below-ahead of it is dropped at the
  // slice's edge; inside the row it is all that cell gets (the void voxels beyond add nothing).
  float* last = next + static_cast<std::ptrdiff_t>(x + 1 - dir) * m_count;
  for (int m = 0; m < m_count; ++m) last[m] = carry[m];
  if (x >= 0 && x < width) {
    float* beyond = next + static_cast<std::ptrdiff_t>(x + 1) * m_count;
    for (int m = 0; m < m_count; ++m) beyond[m] = fresh[m];
  }
}

using RowKernel = void (*)(const float*, std::uint8_t*, const std::uint8_t*, int, int, int, int, int, const float*,
                           float*);

RowKernel pick_kernel(int materials) {
  switch (materials) {
    case 1:
      return &dither_row<1>;
    case 2:
      return &dither_row<2>;
    case 3:
      return &dither_row<3>;
    case 4:
      return &dither_row<4>;
    case 5:
      return &dither_row<5>;
    case 6:
      return &dither_row<6>;
    case 7:
      return &dither_row<7>;
    case 8:
      return &dither_row<8>;
    default:
      return &dither_row<0>;
  }
}

}  // namespace

Ditherer::Ditherer(int width, int height, int materials, std::span<const std::uint8_t> codes)
    : width_(width), height_(height), materials_(materials) {
  if (width < 1 || height < 1) {
    throw usage_error("dither: slice size must be at least 1 x 1 voxels, got " + std::to_string(width) + " x " +
                      std::to_string(height));
  }
  if (materials < 1 || materials > kMaxDitherMaterials) {
    throw usage_error("dither: material count must be 1 to " + std::to_string(kMaxDitherMaterials) + ", got " +
                      std::to_string(materials));
  }
  if (!codes.empty() && codes.size() != static_cast<std::size_t>(materials) + 1) {
    throw usage_error("dither: " + std::to_string(codes.size()) + " output codes for " + std::to_string(materials) +
                      " materials (one for void and one per material expected)");
  }
  for (int m = 0; m <= materials; ++m)
    codes_[static_cast<std::size_t>(m)] =
        codes.empty() ? static_cast<std::uint8_t>(m) : codes[static_cast<std::size_t>(m)];
  const std::size_t row = (static_cast<std::size_t>(width) + 2) * static_cast<std::size_t>(materials);
  current_.assign(row, 0.0f);
  next_.assign(row, 0.0f);
}

void Ditherer::reset() {
  std::fill(current_.begin(), current_.end(), 0.0f);
  std::fill(next_.begin(), next_.end(), 0.0f);
  row_ = 0;
}

void Ditherer::push_row(const float* weights, std::uint8_t* out) { push_row(weights, out, 0, width_); }

void Ditherer::push_row(const float* weights, std::uint8_t* out, int first, int end) {
  if (row_ >= height_) {
    throw usage_error("dither: row " + std::to_string(row_) + " pushed into a slice of " + std::to_string(height_) +
                      " rows; call reset() to start the next slice");
  }
  if (first < 0 || end > width_ || first > end) {
    throw usage_error("dither: voxels [" + std::to_string(first) + ", " + std::to_string(end) + ") asked of a row of " +
                      std::to_string(width_));
  }
  if (first == end) {
    push_void_row(out);
    return;
  }
  // The void voxels outside [first, end) take no error and pass none on: the kernel reaches the
  // span's first voxel with no error in hand, as a walk through the void would. The cells of next_
  // below the void get no error but what the span's end voxels send them (the kernel stores
  // those): the rest are cleared here, cells -1 .. first - 1 and end .. width (the kernel then
  // overwrites the ones it stores).
  const auto m = static_cast<std::size_t>(materials_);
  const auto cell = [&](int c) {
    return next_.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(c + 1) * m);
  };
  std::fill(cell(-1), cell(first), 0.0f);
  std::fill(cell(end), next_.end(), 0.0f);
  std::fill(out, out + first, codes_[0]);
  std::fill(out + end, out + width_, codes_[0]);
  const int dir = (row_ % 2 == 0) ? 1 : -1;
  pick_kernel(materials_)(weights, out, codes_.data(), first, end, width_, materials_, dir, current_.data(),
                          next_.data());
  // Every cell of next_ was stored; it becomes the next row's incoming error.
  current_.swap(next_);
  ++row_;
}

void Ditherer::push_void_row(std::uint8_t* out) {
  if (row_ >= height_) {
    throw usage_error("dither: row " + std::to_string(row_) + " pushed into a slice of " + std::to_string(height_) +
                      " rows; call reset() to start the next slice");
  }
  std::fill(out, out + width_, codes_[0]);
  // A void row passes no error on: the next row starts from zero.
  std::fill(current_.begin(), current_.end(), 0.0f);
  ++row_;
}

void dither_slice(const float* weights, int width, int height, int materials, std::uint8_t* out) {
  Ditherer ditherer(width, height, materials);
  const std::size_t row_weights = static_cast<std::size_t>(width) * static_cast<std::size_t>(materials);
  for (int j = 0; j < height; ++j) {
    ditherer.push_row(weights + static_cast<std::size_t>(j) * row_weights, out + static_cast<std::size_t>(j) * width);
  }
}

std::vector<std::uint8_t> dither_slice(const std::vector<float>& weights, int width, int height, int materials) {
  Ditherer ditherer(width, height, materials);  // validates the sizes before they are multiplied
  const std::size_t voxels = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
  if (weights.size() != voxels * static_cast<std::size_t>(materials)) {
    throw usage_error("dither: expected " + std::to_string(voxels * static_cast<std::size_t>(materials)) +
                      " weights (" + std::to_string(width) + " x " + std::to_string(height) + " voxels x " +
                      std::to_string(materials) + " materials), got " + std::to_string(weights.size()));
  }
  std::vector<std::uint8_t> out(voxels);
  dither_slice(weights.data(), width, height, materials, out.data());
  return out;
}

}  // namespace fabforge::voxel
