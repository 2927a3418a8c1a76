// The Host defaults and TextureHost: textures bound by slot, no surface.

#include "fabforge/openfl/host.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "fabforge/core/error.hpp"

namespace fabforge::openfl {

std::array<Interval, 4> Host::texture_range(int /*slot*/) const {
  return {Interval{0.0f, 1.0f}, Interval{0.0f, 1.0f}, Interval{0.0f, 1.0f}, Interval{0.0f, 1.0f}};
}

void Host::query_range(const Interval* /*xyz*/, Interval* columns, int column_count) const {
  std::fill_n(columns, std::max(column_count, 0), Interval{});
}

namespace {

const Texture& texture_at(const std::vector<Texture>& textures, int slot) {
  FABFORGE_CHECK(slot >= 0 && static_cast<std::size_t>(slot) < textures.size(),
                 "texture slot " + std::to_string(slot) + " of " + std::to_string(textures.size()));
  return textures[static_cast<std::size_t>(slot)];
}

}  // namespace

void TextureHost::sample(int slot, std::size_t n, const float* u, const float* v, const float* lod,
                         float* const rgba[4]) const {
  texture_at(textures_, slot).sample(n, u, v, lod, rgba[0], rgba[1], rgba[2], rgba[3]);
}

void TextureHost::surface_query(std::size_t /*n*/, const float* const* /*xyz*/, float* const* /*columns*/,
                                int /*column_count*/) const {
  throw runtime_error("this fablet queries the surface, but no surface was given");
}

std::array<Interval, 4> TextureHost::texture_range(int slot) const {
  const Texture& t = texture_at(textures_, slot);
  std::array<Interval, 4> out;
  for (std::size_t c = 0; c < 4; ++c) out[c] = Interval{t.min_value()[c], t.max_value()[c]};
  return out;
}

float TextureHost::texture_lod_bias(int slot) const {
  const Texture& t = texture_at(textures_, slot);
  return std::log2(static_cast<float>(std::max(t.width(), t.height())));
}

}  // namespace fabforge::openfl
