#pragma once
/// Colour science: sRGB <-> linear RGB <-> CIE XYZ <-> CIELAB under D65, and colour differences
/// (Delta E 1976 and CIEDE2000). All functions are pure and thread-safe.
///
/// Conventions: sRGB and linear components in [0, 1]; XYZ scaled so that the white point has
/// Y = 1; L* in [0, 100]. sRGB uses the IEC 61966-2-1 transfer function and primaries; the
/// reference white is D65 (Xn = 0.95047, Yn = 1, Zn = 1.08883).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fabforge::color {

struct Rgb {
  double r = 0, g = 0, b = 0;
};
struct Xyz {
  double x = 0, y = 0, z = 0;
};
struct Lab {
  double l = 0, a = 0, b = 0;
};

/// One sRGB transfer-function sample: encoded in [0, 1] to linear and back.
double srgb_to_linear(double encoded);
double linear_to_srgb(double linear);

Rgb srgb_to_linear(Rgb encoded);
Rgb linear_to_srgb(Rgb linear);

Xyz linear_rgb_to_xyz(Rgb linear);
Rgb xyz_to_linear_rgb(Xyz xyz);  ///< may leave [0, 1] for colours outside the sRGB gamut

Lab xyz_to_lab(Xyz xyz);
Xyz lab_to_xyz(Lab lab);

/// Shorthands through the whole chain; sRGB inputs are gamma-encoded in [0, 1].
Lab srgb_to_lab(Rgb encoded);
Rgb lab_to_srgb(Lab lab);  ///< not clamped

/// Euclidean distance in CIELAB.
double delta_e76(Lab a, Lab b);

/// CIEDE2000 with parametric factors kL, kC, kH (1 for the reference conditions), following
/// Sharma, Wu and Dalal (2005), including their notes on hue angles of achromatic colours.
double delta_e2000(Lab a, Lab b, double kl = 1.0, double kc = 1.0, double kh = 1.0);

/// An 8-bit sRGB colour as written in files ("#rrggbb").
struct Rgb8 {
  std::uint8_t r = 0, g = 0, b = 0;
  friend constexpr bool operator==(Rgb8, Rgb8) = default;
};

/// Parses "#rrggbb" or "rrggbb" (case-insensitive); also "#rrggbbaa", ignoring alpha.
std::optional<Rgb8> parse_hex(std::string_view text);
/// Formats as "#RRGGBB".
std::string to_hex(Rgb8 c);

constexpr Rgb to_unit(Rgb8 c) { return {c.r / 255.0, c.g / 255.0, c.b / 255.0}; }
Rgb8 to_rgb8(Rgb encoded);  ///< rounds and clamps

}  // namespace fabforge::color
