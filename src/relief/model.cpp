#include "fabforge/relief/model.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "fabforge/core/color.hpp"
#include "fabforge/core/error.hpp"
#include "fabforge/core/parallel.hpp"

namespace fabforge::relief {

namespace {

// AutoForge 1.9.5's opacity fit.
constexpr double kO = -0.012416557;
constexpr double kA = 0.96407950;
constexpr double kK = 34.103447;
constexpr double kB = -4.1554203;
// The fit's maximum: d/dr = A k / (1 + k r) + B = 0.
constexpr double kPeakR = (kA * kK / -kB - 1.0) / kK;
// Beer-Lambert: 1% transmission at TD.
const double kBeerLambertK = std::log(100.0);

constexpr double kBleedFactor = 0.1 / 8.0;

}  // namespace

double layer_alpha(OpacityModel model, double thickness_mm, double td_mm) {
  if (!(thickness_mm > 0)) return 0.0;
  const double r = thickness_mm / td_mm;
  if (model == OpacityModel::beer_lambert) return 1.0 - std::exp(-kBeerLambertK * r);
  if (r >= kPeakR) return 1.0;
  return std::clamp(kO + kA * std::log1p(kK * r) + kB * r, 0.0, 1.0);
}

double layer_alpha_derivative(OpacityModel model, double thickness_mm, double td_mm) {
  if (!(thickness_mm > 0)) {
    // Right derivative at 0 for the Beer-Lambert model; the AutoForge fit is clamped at 0 there.
    return model == OpacityModel::beer_lambert ? kBeerLambertK / td_mm : 0.0;
  }
  const double r = thickness_mm / td_mm;
  if (model == OpacityModel::beer_lambert) return kBeerLambertK / td_mm * std::exp(-kBeerLambertK * r);
  if (r >= kPeakR) return 0.0;
  const double a = kO + kA * std::log1p(kK * r) + kB * r;
  if (a <= 0.0 || a >= 1.0) return 0.0;
  return (kA * kK / (1.0 + kK * r) + kB) / td_mm;
}

// The same conversion as color::srgb_to_lab (IEC 61966-2-1 primaries, D65, exact CIE
// constants) in float: the kernels call it millions of times.
Labf srgb_to_labf(Rgbf c) {
  auto linear = [](float v) { return v <= 0.04045f ? v / 12.92f : std::pow((v + 0.055f) / 1.055f, 2.4f); };
  const float r = linear(c.r), g = linear(c.g), b = linear(c.b);
  const float x = (0.4124564f * r + 0.3575761f * g + 0.1804375f * b) / 0.95047f;
  const float y = 0.2126729f * r + 0.7151522f * g + 0.0721750f * b;
  const float z = (0.0193339f * r + 0.1191920f * g + 0.9503041f * b) / 1.08883f;
  constexpr float kEpsilon = 216.0f / 24389.0f;
  constexpr float kKappa = 24389.0f / 27.0f;
  auto f = [](float t) { return t > kEpsilon ? std::cbrt(t) : (kKappa * t + 16.0f) / 116.0f; };
  const float fx = f(x), fy = f(y), fz = f(z);
  return {116.0f * fy - 16.0f, 500.0f * (fx - fy), 200.0f * (fy - fz)};
}

int LayerMap::top() const {
  int t = 0;
  for (std::size_t i = 0; i < z.size(); ++i)
    if (mask.empty() || mask[i]) t = std::max<int>(t, z[i]);
  return t;
}

ReliefModel::ReliefModel(std::vector<Filament> palette, ModelSettings settings)
    : palette_(std::move(palette)), settings_(settings) {
  if (palette_.empty()) throw usage_error("the filament palette is empty");
  if (!(settings_.layer_height_mm > 0) || !std::isfinite(settings_.layer_height_mm))
    throw usage_error("layer height must be > 0 mm");
  if (!(settings_.base_height_mm > 0) || !std::isfinite(settings_.base_height_mm))
    throw usage_error("base height must be > 0 mm");
  if (settings_.max_layers < 1 || settings_.max_layers > 4000) throw usage_error("max layers must be in 1..4000");
  for (const Filament& f : palette_) {
    if (!(f.td_mm > 0) || !std::isfinite(f.td_mm))
      throw usage_error("filament '" + f.display_name() + "' has TD " + std::to_string(f.td_mm) +
                        "; TD must be a number > 0 mm");
    const color::Rgb unit = color::to_unit(f.color);
    const Rgbf c{static_cast<float>(unit.r), static_cast<float>(unit.g), static_cast<float>(unit.b)};
    colors_.push_back(c);
    labs_.push_back(srgb_to_labf(c));
    full_alpha_.push_back(static_cast<float>(layer_alpha(settings_.opacity, settings_.layer_height_mm, f.td_mm)));
    for (int n = 0; n <= 8; ++n)
      bleed_alpha_.push_back(
          static_cast<float>(layer_alpha(settings_.opacity, kBleedFactor * n * settings_.layer_height_mm, f.td_mm)));
  }
}

double ReliefModel::alpha(int i, double thickness_mm) const {
  return layer_alpha(settings_.opacity, thickness_mm, filament(i).td_mm);
}

void ReliefModel::validate(const Stack& stack) const {
  const int n = palette_size();
  if (stack.background < 0 || stack.background >= n) throw usage_error("stack background index out of range");
  if (static_cast<int>(stack.layers.size()) != settings_.max_layers)
    throw usage_error("stack has " + std::to_string(stack.layers.size()) + " layers; the model has " +
                      std::to_string(settings_.max_layers));
  for (int f : stack.layers)
    if (f < 0 || f >= n) throw usage_error("stack layer filament index out of range");
}

void ReliefModel::stack_colors(const Stack& stack, std::span<Rgbf> out) const {
  FABFORGE_CHECK(out.size() == static_cast<std::size_t>(settings_.max_layers) + 1,
                 "stack_colors needs max_layers + 1 slots");
  Rgbf c = color(stack.background);
  out[0] = c;
  for (int l = 0; l < settings_.max_layers; ++l) {
    const int f = stack.layers[static_cast<std::size_t>(l)];
    const float a = full_alpha(f);
    const Rgbf k = color(f);
    c.r = a * k.r + (1 - a) * c.r;
    c.g = a * k.g + (1 - a) * c.g;
    c.b = a * k.b + (1 - a) * c.b;
    out[static_cast<std::size_t>(l) + 1] = c;
  }
}

Rgbf ReliefModel::add_bleed(const Stack& stack, Rgbf c, int z, std::span<int, 8> neighbours) const {
  std::sort(neighbours.begin(), neighbours.end());
  // Neighbours covering layer l are those with height > l: neighbours[from..8).
  int from = 0;
  for (int l = z; l < neighbours[7]; ++l) {
    while (from < 8 && neighbours[static_cast<std::size_t>(from)] <= l) ++from;
    const int f = stack.layers[static_cast<std::size_t>(l)];
    const float a = bleed_alpha(f, 8 - from);
    if (a <= 0) continue;  // AutoForge's fit gives thin slivers no opacity
    const Rgbf col = color(f);
    c.r = a * col.r + (1 - a) * c.r;
    c.g = a * col.g + (1 - a) * c.g;
    c.b = a * col.b + (1 - a) * c.b;
  }
  return c;
}

ImageF ReliefModel::render(const Stack& stack, const LayerMap& heights) const {
  return render(stack, heights, settings_.bleed);
}

ImageF ReliefModel::render(const Stack& stack, const LayerMap& heights, bool bleed) const {
  validate(stack);
  FABFORGE_CHECK(heights.z.size() == heights.size() && heights.mask.size() == heights.size(),
                 "layer map sizes disagree");
  const int w = heights.width;
  const int h = heights.height;
  const int layers = settings_.max_layers;
  ImageF image(w, h, 3, Encoding::srgb, 0.0f);
  std::vector<Rgbf> colors(static_cast<std::size_t>(layers) + 1);
  stack_colors(stack, colors);

  auto height_at = [&](int x, int y) -> int {
    if (x < 0 || y < 0 || x >= w || y >= h) return 0;
    const std::size_t i = static_cast<std::size_t>(y) * static_cast<std::size_t>(w) + static_cast<std::size_t>(x);
    return heights.mask[i] ? heights.z[i] : 0;
  };

  parallel_for(0, static_cast<std::size_t>(h), 8, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t yy = lo; yy < hi; ++yy) {
      const int y = static_cast<int>(yy);
      for (int x = 0; x < w; ++x) {
        const std::size_t i = yy * static_cast<std::size_t>(w) + static_cast<std::size_t>(x);
        if (!heights.mask[i]) continue;
        const int z = std::min<int>(heights.z[i], layers);
        Rgbf c = colors[static_cast<std::size_t>(z)];
        if (bleed) {
          std::array<int, 8> nz;
          int k = 0;
          for (int dy = -1; dy <= 1; ++dy)
            for (int dx = -1; dx <= 1; ++dx)
              if (dx != 0 || dy != 0) nz[static_cast<std::size_t>(k++)] = std::min(height_at(x + dx, y + dy), layers);
          c = add_bleed(stack, c, z, nz);
        }
        image.pixels[i * 3 + 0] = c.r;
        image.pixels[i * 3 + 1] = c.g;
        image.pixels[i * 3 + 2] = c.b;
      }
    }
  });
  return image;
}

}  // namespace fabforge::relief
