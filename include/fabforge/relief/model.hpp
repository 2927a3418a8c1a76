#pragma once
/// The optical model of a layered filament print ("filament painting").
///
/// A print is a base of the background filament (opaque, `base_height_mm` thick) under up to
/// `max_layers` layers of `layer_height_mm`, each layer one filament. A pixel printed to height z
/// (in layers, 0..max_layers) shows the colour of its first z layers composited bottom first over
/// the background colour b in gamma-encoded sRGB: C = alpha * c_layer + (1 - alpha) * C.
///
/// Opacity of a layer of thickness t of a filament with transmission distance TD, r = t / TD:
///   - OpacityModel::autoforge (default, AutoForge 1.9.5's published fit):
///       alpha = clamp(o + A ln(1 + k r) + B r, 0, 1),
///       o = -0.012416557, A = 0.96407950, k = 34.103447, B = -4.1554203.
///     The fit peaks at r = 0.2027 (alpha clamps to 1 there) and falls again beyond; fabforge holds
///     alpha at 1 for larger r so that a very opaque filament never turns transparent.
///   - OpacityModel::beer_lambert (HueForge's reading of TD as "the thickness at which the
///     filament is opaque"): transmission exp(-ln(100) t / TD), so 1% of the light passes at TD.
///
/// "Bleed" (on by default, as in AutoForge): for layer l the coverage p (1 where the pixel's
/// height covers l) becomes p' = clamp(p + 0.1 * (sum of the 8 neighbours' p) / 8, 0, 1), with
/// neighbours outside the image or unprinted counting 0, and the layer is p' * h thick there.
/// So p' is 1 on covered pixels and 0.0125 * n for an uncovered pixel with n covered neighbours.

#include <cstdint>
#include <span>
#include <vector>

#include "fabforge/core/image.hpp"
#include "fabforge/relief/filament_library.hpp"

namespace fabforge::relief {

enum class OpacityModel : std::uint8_t { autoforge, beer_lambert };

/// Alpha of one layer of `thickness_mm` of a filament with transmission distance `td_mm` (> 0).
double layer_alpha(OpacityModel model, double thickness_mm, double td_mm);
/// d alpha / d thickness (0 where alpha is clamped).
double layer_alpha_derivative(OpacityModel model, double thickness_mm, double td_mm);

/// A gamma-encoded sRGB colour with float channels in [0, 1].
struct Rgbf {
  float r = 0, g = 0, b = 0;
};

/// CIELAB (D65) with float channels, as the loss uses it.
struct Labf {
  float l = 0, a = 0, b = 0;
};

/// sRGB (gamma-encoded, [0, 1]) to CIELAB D65 in float. Accurate to about 1e-3 Lab units.
Labf srgb_to_labf(Rgbf c);

struct ModelSettings {
  OpacityModel opacity = OpacityModel::autoforge;
  bool bleed = true;
  double layer_height_mm = 0.04;
  int max_layers = 75;
  double base_height_mm = 0.24;
};

/// Which filament each layer is. Indices point into the model's palette.
struct Stack {
  int background = 0;       ///< the base filament
  std::vector<int> layers;  ///< one per layer, bottom first, size = max_layers

  bool operator==(const Stack&) const = default;
};

/// Per-pixel print heights in layers (0..max_layers) and which pixels are printed at all.
struct LayerMap {
  int width = 0;
  int height = 0;
  std::vector<std::uint16_t> z;    ///< width * height, row-major, row 0 at the top of the image
  std::vector<std::uint8_t> mask;  ///< width * height, nonzero = printed

  std::size_t size() const noexcept { return static_cast<std::size_t>(width) * static_cast<std::size_t>(height); }
  /// The highest printed height (0 if nothing is printed).
  int top() const;
};

/// The palette (the filaments a solver may choose from) with everything the kernels need
/// precomputed: colours as floats and alpha per filament for a full layer and for every bleed
/// coverage 0.0125 * n, n = 0..8.
class ReliefModel {
 public:
  /// Throws Error (usage) for an empty palette, a TD that is not > 0, or bad settings
  /// (layer height or base height not > 0, max_layers outside 1..4000).
  ReliefModel(std::vector<Filament> palette, ModelSettings settings);

  const ModelSettings& settings() const noexcept { return settings_; }
  int palette_size() const noexcept { return static_cast<int>(palette_.size()); }
  const std::vector<Filament>& palette() const noexcept { return palette_; }
  const Filament& filament(int i) const { return palette_.at(static_cast<std::size_t>(i)); }
  Rgbf color(int i) const { return colors_[static_cast<std::size_t>(i)]; }
  Labf lab(int i) const { return labs_[static_cast<std::size_t>(i)]; }
  /// Alpha of one full layer of filament i.
  float full_alpha(int i) const { return full_alpha_[static_cast<std::size_t>(i)]; }
  /// Alpha of a bleed layer of filament i with n covered neighbours (thickness 0.0125 n h).
  float bleed_alpha(int i, int n) const {
    return bleed_alpha_[static_cast<std::size_t>(i) * 9 + static_cast<std::size_t>(n)];
  }
  double alpha(int i, double thickness_mm) const;

  /// The colours a pixel shows at heights 0..L under `stack` without bleed: out[z] for z = 0..L
  /// (out.size() must be max_layers + 1). O(L).
  void stack_colors(const Stack& stack, std::span<Rgbf> out) const;

  /// The colour of a pixel at height z with bleed: `c` is its stack colour (stack_colors()[z]) and
  /// `neighbours` the heights of its 8 neighbours (0 outside the image or unprinted; sorted in
  /// place). Every layer l >= z that n > 0 neighbours cover gets a layer of coverage 0.0125 n.
  Rgbf add_bleed(const Stack& stack, Rgbf c, int z, std::span<int, 8> neighbours) const;

  /// The image the print shows (3-channel sRGB float; unprinted pixels are 0), with bleed if
  /// the settings say so. Parallel over rows, deterministic.
  ImageF render(const Stack& stack, const LayerMap& heights) const;
  /// Same with bleed forced on or off.
  ImageF render(const Stack& stack, const LayerMap& heights, bool bleed) const;

  /// Throws Error (usage) if the stack's size or indices do not fit this model.
  void validate(const Stack& stack) const;

 private:
  std::vector<Filament> palette_;
  ModelSettings settings_;
  std::vector<Rgbf> colors_;
  std::vector<Labf> labs_;
  std::vector<float> full_alpha_;
  std::vector<float> bleed_alpha_;
};

}  // namespace fabforge::relief
