// Textures for OpenFL: the mip pyramid and the sampler (docs/openfl.md, "Textures").
//
// Conventions (every interpreter reaches textures through Host::sample, so these are the only
// definitions of a texture read):
//
// - Texels are RGBA floats in [0, 1] (inputs are clamped, NaN reads 0), stored row 0 = top.
// - Level k + 1 halves level k (sizes rounded down, never below 1). Each texel is the mean of a
//   2x2 box of the finer level; for an odd size the last texel of that row or column also takes
//   in the finer level's last row or column (a box of 3), so every finer texel contributes. The
//   sum runs over the box top to bottom, left to right, and is divided by the texel count.
// - Texel coordinates at a level of w x h texels: x = u * w - 0.5, y = v * h - 0.5 (y counts
//   rows from the bottom), so uv (0, 0) is the lower-left corner and texel centres lie at
//   (i + 0.5) / w. With i = floor(x), fx = x - i (likewise y), the four texels i, i + 1 (x) by
//   j, j + 1 (y) have their indices wrapped: repeat (modulo the size), mirror (period 2 * size,
//   the second half reflected: ..., 1, 0, 0, 1, ..., n-1, n-1, n-2, ...), clamp (to the edge).
//   bottom = mix(t(i, j), t(i+1, j), fx), top = mix(t(i, j+1), t(i+1, j+1), fx),
//   result = mix(bottom, top, fy), with mix(a, b, t) = a + (b - a) * t in single precision.
// - lod is clamped to [0, levels - 1]; with l = floor(lod) and f = lod - l the result is
//   mix(level l, level l + 1, f) (level l alone when f = 0).
// - NaN in u, v or lod reads level 0 at uv (0, 0). Infinite or huge coordinates are clamped to
//   +-2^62 texels first, so indices stay exact 64-bit integers.
// - Finally each channel is clamped to the texture's [min_value, max_value] (taken over the
//   texels of every level). Interpolation alone can round a hair below the smaller operand
//   (0.5 ulp of the larger), and Host::texture_range promises these bounds to the interval
//   interpreter.
//
// The scalar entry point is the batch one with n = 1, so the two agree bit for bit.

#include "fabforge/openfl/texture.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "fabforge/core/error.hpp"

namespace fabforge::openfl {
namespace {

#define FABFORGE_TEXTURE_INLINE inline __attribute__((always_inline))

constexpr float kMaxTexelCoord = 0x1p62f;

/// One RGBA texel in an SSE register: the four channels take the same IEEE operations a scalar
/// loop would, in one instruction each.
typedef float Rgba __attribute__((vector_size(16)));

FABFORGE_TEXTURE_INLINE Rgba mix(Rgba a, Rgba b, float t) { return a + (b - a) * t; }

FABFORGE_TEXTURE_INLINE Rgba load_texel(const float* p) {
  Rgba t;
  std::memcpy(&t, p, sizeof t);
  return t;
}

FABFORGE_TEXTURE_INLINE std::array<float, 4> to_array(Rgba t) { return {t[0], t[1], t[2], t[3]}; }

/// Index of the first float of texel (x, y) in an RGBA level `width` texels wide.
std::size_t texel_offset(int width, int x, int y) {
  return (static_cast<std::size_t>(y) * static_cast<std::size_t>(width) + static_cast<std::size_t>(x)) * 4;
}

/// Clamps an input sample to [0, 1]; NaN gives 0.
float clamp_unit(float x) { return x >= 0.0f ? std::min(x, 1.0f) : 0.0f; }

/// Wraps texel index i (any 64-bit value) into [0, n). Indices within one period of the image
/// (the usual case, and every case for the neighbour of an edge texel) avoid the division.
template <Wrap kWrap>
FABFORGE_TEXTURE_INLINE std::int64_t wrap_index(std::int64_t i, std::int64_t n) {
  if (i >= 0 && i < n) return i;
  switch (kWrap) {
    case Wrap::clamp:
      return i < 0 ? 0 : n - 1;
    case Wrap::mirror: {
      if (i < 0 && i >= -n) return -1 - i;
      if (i >= n && i < 2 * n) return 2 * n - 1 - i;
      const std::int64_t period = 2 * n;
      std::int64_t m = i % period;
      if (m < 0) m += period;
      return m < n ? m : period - 1 - m;
    }
    case Wrap::repeat:
    default: {
      if (i < 0 && i >= -n) return i + n;
      if (i >= n && i < 2 * n) return i - n;
      std::int64_t m = i % n;
      if (m < 0) m += n;
      return m;
    }
  }
}

/// Splits a texel coordinate into the lower index and the fraction toward the next one.
FABFORGE_TEXTURE_INLINE void split(float x, std::int64_t* i, float* f) {
  x = std::min(std::max(x, -kMaxTexelCoord), kMaxTexelCoord);
  const float x0 = std::floor(x);
  *f = x - x0;
  *i = static_cast<std::int64_t>(x0);
}

}  // namespace

Wrap wrap_from_name(std::string_view name) {
  if (name == "repeat") return Wrap::repeat;
  if (name == "clamp") return Wrap::clamp;
  if (name == "mirror") return Wrap::mirror;
  throw usage_error("unknown texture wrap mode '" + std::string(name) + "' (expected repeat, clamp or mirror)");
}

Texture::Texture(const ImageF& image, Wrap wrap) : width_(image.width), height_(image.height), wrap_(wrap) {
  if (image.width <= 0 || image.height <= 0 || image.channels < 1 || image.channels > 4 ||
      image.pixels.size() != image.pixel_count() * static_cast<std::size_t>(image.channels)) {
    throw usage_error("texture: invalid image (" + std::to_string(image.width) + " x " + std::to_string(image.height) +
                      ", " + std::to_string(image.channels) + " channels, " + std::to_string(image.pixels.size()) +
                      " samples)");
  }
  // Level 0: expand to RGBA.
  Level base;
  base.width = image.width;
  base.height = image.height;
  base.rgba.resize(image.pixel_count() * 4);
  const auto channels = static_cast<std::size_t>(image.channels);
  for (std::size_t p = 0; p < image.pixel_count(); ++p) {
    const float* in = image.pixels.data() + p * channels;
    float* out = base.rgba.data() + p * 4;
    if (channels <= 2) {
      out[0] = out[1] = out[2] = clamp_unit(in[0]);
      out[3] = channels == 2 ? clamp_unit(in[1]) : 1.0f;
    } else {
      out[0] = clamp_unit(in[0]);
      out[1] = clamp_unit(in[1]);
      out[2] = clamp_unit(in[2]);
      out[3] = channels == 4 ? clamp_unit(in[3]) : 1.0f;
    }
  }
  levels_.push_back(std::move(base));

  // Coarser levels down to 1 x 1.
  while (levels_.back().width > 1 || levels_.back().height > 1) {
    const Level& fine = levels_.back();
    Level coarse;
    coarse.width = std::max(1, fine.width / 2);
    coarse.height = std::max(1, fine.height / 2);
    coarse.rgba.resize(static_cast<std::size_t>(coarse.width) * static_cast<std::size_t>(coarse.height) * 4);
    for (int y = 0; y < coarse.height; ++y) {
      const int y_begin = 2 * y;
      const int y_end = y == coarse.height - 1 ? fine.height : std::min(fine.height, 2 * y + 2);
      for (int x = 0; x < coarse.width; ++x) {
        const int x_begin = 2 * x;
        const int x_end = x == coarse.width - 1 ? fine.width : std::min(fine.width, 2 * x + 2);
        float sum[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        for (int fy = y_begin; fy < y_end; ++fy) {
          for (int fx = x_begin; fx < x_end; ++fx) {
            const float* t = fine.rgba.data() + texel_offset(fine.width, fx, fy);
            for (int c = 0; c < 4; ++c) sum[c] += t[c];
          }
        }
        const auto count = static_cast<float>((y_end - y_begin) * (x_end - x_begin));
        float* out = coarse.rgba.data() + texel_offset(coarse.width, x, y);
        for (int c = 0; c < 4; ++c) out[c] = sum[c] / count;
      }
    }
    levels_.push_back(std::move(coarse));
  }

  min_ = {1.0f, 1.0f, 1.0f, 1.0f};
  max_ = {0.0f, 0.0f, 0.0f, 0.0f};
  for (const Level& level : levels_) {
    for (std::size_t k = 0; k < level.rgba.size(); k += 4) {
      for (std::size_t c = 0; c < 4; ++c) {
        min_[c] = std::min(min_[c], level.rgba[k + c]);
        max_[c] = std::max(max_[c], level.rgba[k + c]);
      }
    }
  }
}

Texture Texture::load(const std::string& path, Wrap wrap) {
  // load_imagef throws input_error naming the file for a missing, unreadable or bad image.
  return Texture(load_imagef(path, Encoding::srgb), wrap);
}

namespace {

/// Bilinear read of one level (w x h RGBA texels, row 0 at the top).
template <Wrap kWrap>
FABFORGE_TEXTURE_INLINE Rgba bilinear(const float* data, int width, int height, float u, float v) {
  const auto w = static_cast<std::int64_t>(width);
  const auto h = static_cast<std::int64_t>(height);
  std::int64_t i = 0, j = 0;
  float fx = 0.0f, fy = 0.0f;
  split(u * static_cast<float>(width) - 0.5f, &i, &fx);
  split(v * static_cast<float>(height) - 0.5f, &j, &fy);
  const std::int64_t x0 = wrap_index<kWrap>(i, w), x1 = wrap_index<kWrap>(i + 1, w);
  // j counts from the bottom; rows are stored top first.
  const std::int64_t r0 = h - 1 - wrap_index<kWrap>(j, h), r1 = h - 1 - wrap_index<kWrap>(j + 1, h);
  const Rgba t00 = load_texel(data + static_cast<std::size_t>(r0 * w + x0) * 4);
  const Rgba t10 = load_texel(data + static_cast<std::size_t>(r0 * w + x1) * 4);
  const Rgba t01 = load_texel(data + static_cast<std::size_t>(r1 * w + x0) * 4);
  const Rgba t11 = load_texel(data + static_cast<std::size_t>(r1 * w + x1) * 4);
  return mix(mix(t00, t10, fx), mix(t01, t11, fx), fy);  // bottom row, top row, then vertically
}

/// One mip level as the sampler sees it.
struct LevelView {
  const float* rgba;
  int width, height;
};

/// One lane of sample(): every rule of the file comment.
template <Wrap kWrap>
FABFORGE_TEXTURE_INLINE Rgba sample_one(const LevelView* levels, int level_count, Rgba lo, Rgba hi, float u, float v,
                                        float lod) {
  if (u != u || v != v || lod != lod) u = v = lod = 0.0f;
  lod = std::min(std::max(lod, 0.0f), static_cast<float>(level_count - 1));
  const float l0 = std::floor(lod);
  const float f = lod - l0;
  const LevelView& fine = levels[static_cast<int>(l0)];
  Rgba s = bilinear<kWrap>(fine.rgba, fine.width, fine.height, u, v);
  if (f > 0.0f) {
    const LevelView& coarse = (&fine)[1];
    s = mix(s, bilinear<kWrap>(coarse.rgba, coarse.width, coarse.height, u, v), f);
  }
  s = s < lo ? lo : s;  // no NaN can reach here
  return hi < s ? hi : s;
}

template <Wrap kWrap>
void sample_lanes(const LevelView* levels, int level_count, Rgba lo, Rgba hi, std::size_t n, const float* u,
                  const float* v, const float* lod, float* r, float* g, float* b, float* a) {
  for (std::size_t k = 0; k < n; ++k) {
    // Read every input of lane k before writing its outputs: callers may pass aliased arrays.
    const Rgba s = sample_one<kWrap>(levels, level_count, lo, hi, u[k], v[k], lod[k]);
    r[k] = s[0];
    g[k] = s[1];
    b[k] = s[2];
    a[k] = s[3];
  }
}

}  // namespace


std::array<float, 4> Texture::sample(float u, float v, float lod) const {
  std::array<float, 4> out;
  sample(1, &u, &v, &lod, &out[0], &out[1], &out[2], &out[3]);
  return out;
}

void Texture::sample(std::size_t n, const float* u, const float* v, const float* lod, float* r, float* g, float* b,
                     float* a) const {
  FABFORGE_CHECK(!levels_.empty(), "sampling an empty texture");
  // At most 31 levels (sizes are ints), so the views fit on the stack: no allocation per call.
  std::array<LevelView, 64> views;
  const int count = levels();
  FABFORGE_CHECK(count <= 64, "texture with more than 64 mip levels");
  for (int l = 0; l < count; ++l) {
    const Level& level = levels_[static_cast<std::size_t>(l)];
    views[static_cast<std::size_t>(l)] = LevelView{level.rgba.data(), level.width, level.height};
  }
  const Rgba lo = {min_[0], min_[1], min_[2], min_[3]}, hi = {max_[0], max_[1], max_[2], max_[3]};
  switch (wrap_) {
    case Wrap::clamp:
      sample_lanes<Wrap::clamp>(views.data(), count, lo, hi, n, u, v, lod, r, g, b, a);
      break;
    case Wrap::mirror:
      sample_lanes<Wrap::mirror>(views.data(), count, lo, hi, n, u, v, lod, r, g, b, a);
      break;
    case Wrap::repeat:
    default:
      sample_lanes<Wrap::repeat>(views.data(), count, lo, hi, n, u, v, lod, r, g, b, a);
      break;
  }
}

}  // namespace fabforge::openfl
