#pragma once
/// Textures for OpenFL: an RGBA float image with a mip pyramid, sampled bilinearly within a level
/// and linearly between levels, with repeat / clamp / mirror wrapping (docs/openfl.md, "Textures").

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fabforge/core/image.hpp"

namespace fabforge::openfl {

enum class Wrap : std::uint8_t { repeat, clamp, mirror };
/// "repeat", "clamp", "mirror"; throws usage_error otherwise.
Wrap wrap_from_name(std::string_view name);

class Texture {
 public:
  Texture() = default;
  /// Any 1-4 channel image (grey -> r = g = b, no alpha -> a = 1), samples in [0, 1]. Builds the
  /// mip pyramid by 2x2 box filtering (odd sizes: the last row/column is averaged in).
  Texture(const ImageF& image, Wrap wrap);
  /// Loads PNG/JPEG (sRGB values as stored, no linearisation); throws input_error.
  static Texture load(const std::string& path, Wrap wrap);

  int width() const noexcept { return width_; }
  int height() const noexcept { return height_; }
  int levels() const noexcept { return static_cast<int>(levels_.size()); }
  Wrap wrap() const noexcept { return wrap_; }

  /// uv (0,0) = lower-left corner of the image, (1,1) = upper-right; pixel centres at
  /// (i + 0.5) / width. lod clamped to [0, levels - 1]; NaN uv or lod reads level 0 at 0.
  std::array<float, 4> sample(float u, float v, float lod) const;
  /// Batch form (the batched interpreter's texture calls).
  void sample(std::size_t n, const float* u, const float* v, const float* lod, float* r, float* g, float* b,
              float* a) const;
  /// Per-channel minimum and maximum over all texels (interval bounds).
  const std::array<float, 4>& min_value() const noexcept { return min_; }
  const std::array<float, 4>& max_value() const noexcept { return max_; }

 private:
  struct Level {
    int width = 0, height = 0;
    std::vector<float> rgba;  ///< row 0 = top of the image
  };
  int width_ = 0, height_ = 0;
  Wrap wrap_ = Wrap::repeat;
  std::vector<Level> levels_;
  std::array<float, 4> min_{}, max_{};
};

}  // namespace fabforge::openfl
