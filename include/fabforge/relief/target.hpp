#pragma once
/// The picture a relief should reproduce, prepared at print resolution: CIELAB per pixel, which
/// pixels are printed (alpha >= 128) and how much each pixel counts (an optional priority mask).

#include <cstdint>
#include <vector>

#include "fabforge/core/image.hpp"
#include "fabforge/relief/model.hpp"

namespace fabforge::relief {

struct TargetOptions {
  double long_side_mm = 150;  ///< print size of the image's long side
  double nozzle_mm = 0.4;     ///< output pixel = nozzle / 2
  /// Optional grey image (any size; resized to the target) weighting regions: a pixel's weight is
  /// 1 + (priority_weight - 1) * v / 255, so white regions count priority_weight times as much.
  const Image8* priority = nullptr;
  double priority_weight = 4;
};

struct Target {
  int width = 0;
  int height = 0;
  double pixel_size_mm = 0.2;
  std::vector<Labf> lab;           ///< width * height
  std::vector<float> weight;       ///< width * height; 0 where not printed
  std::vector<std::uint8_t> mask;  ///< width * height, nonzero = printed
  std::size_t printed = 0;         ///< number of printed pixels
  Image8 rgb;                      ///< the input at target size, 3-channel sRGB (for compare.png)

  std::size_t size() const noexcept { return static_cast<std::size_t>(width) * static_cast<std::size_t>(height); }
};

/// Resizes `image` (1-4 channels, 8-bit sRGB) so its long side is long_side_mm / (nozzle_mm / 2)
/// pixels (area filter when shrinking, bicubic when enlarging), converts to Lab and builds the
/// mask and weights. Throws Error (usage) for a non-positive size or nozzle, and Error (input) for
/// an empty image or one with no printed pixel.
Target make_target(const Image8& image, const TargetOptions& options);

/// The same target at 1/factor resolution (area average of Lab, weights and mask coverage), for
/// solvers that search at a lower resolution. factor 1 returns a copy.
Target downsample(const Target& target, int factor);

/// The palette filament closest (CIEDE2000) to the image's dominant colour: the weighted mean
/// of the most populated cell of a coarse Lab histogram of the printed pixels.
int pick_background(const ReliefModel& model, const Target& target);

/// How close a rendered image is to the target over the printed pixels.
struct LossReport {
  double lab_mse = 0;           ///< mean over printed pixels and the 3 Lab channels (AutoForge's loss)
  double weighted_lab_mse = 0;  ///< the same with the priority weights
  double mean_delta_e2000 = 0;
  std::size_t pixels = 0;
};

/// Compares a rendered image (3-channel sRGB float, target size) with the target. Parallel and
/// deterministic.
LossReport evaluate(const Target& target, const ImageF& rendered);

}  // namespace fabforge::relief
