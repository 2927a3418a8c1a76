#include "fabforge/core/color.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace fabforge::color {

namespace {

using Matrix3 = std::array<std::array<double, 3>, 3>;

/// sRGB primaries (IEC 61966-2-1) to XYZ, white point D65.
constexpr Matrix3 kRgbToXyz = {{
    {0.4124564, 0.3575761, 0.1804375},
    {0.2126729, 0.7151522, 0.0721750},
    {0.0193339, 0.1191920, 0.9503041},
}};

/// The exact inverse, computed at compile time rather than pasted with a few digits, so that
/// RGB -> XYZ -> RGB round trips hold to rounding error.
constexpr Matrix3 invert(const Matrix3& m) {
  const double c00 = m[1][1] * m[2][2] - m[1][2] * m[2][1];
  const double c01 = m[1][2] * m[2][0] - m[1][0] * m[2][2];
  const double c02 = m[1][0] * m[2][1] - m[1][1] * m[2][0];
  const double det = m[0][0] * c00 + m[0][1] * c01 + m[0][2] * c02;
  const double s = 1.0 / det;
  return {{
      {c00 * s, (m[0][2] * m[2][1] - m[0][1] * m[2][2]) * s, (m[0][1] * m[1][2] - m[0][2] * m[1][1]) * s},
      {c01 * s, (m[0][0] * m[2][2] - m[0][2] * m[2][0]) * s, (m[0][2] * m[1][0] - m[0][0] * m[1][2]) * s},
      {c02 * s, (m[0][1] * m[2][0] - m[0][0] * m[2][1]) * s, (m[0][0] * m[1][1] - m[0][1] * m[1][0]) * s},
  }};
}

constexpr Matrix3 kXyzToRgb = invert(kRgbToXyz);

constexpr double kXn = 0.95047;
constexpr double kYn = 1.0;
constexpr double kZn = 1.08883;

/// CIE constants as exact fractions (the CIE 15:2004 intent) rather than the rounded 0.008856 and
/// 903.3, which make the two branches of f(t) disagree at the junction.
constexpr double kEpsilon = 216.0 / 24389.0;
constexpr double kKappa = 24389.0 / 27.0;

constexpr double kDegrees = 180.0 / std::numbers::pi;
constexpr double kRadians = std::numbers::pi / 180.0;

double lab_f(double t) { return t > kEpsilon ? std::cbrt(t) : (kKappa * t + 16.0) / 116.0; }

double lab_f_inverse(double f) {
  const double cube = f * f * f;
  return cube > kEpsilon ? cube : (116.0 * f - 16.0) / kKappa;
}

/// Hue angle in degrees in [0, 360); 0 for an achromatic colour (Sharma et al., note 1).
double hue_degrees(double b, double a_prime) {
  if (a_prime == 0.0 && b == 0.0) return 0.0;
  double h = std::atan2(b, a_prime) * kDegrees;
  return h < 0.0 ? h + 360.0 : h;
}

double pow7(double x) {
  const double x2 = x * x;
  return x2 * x2 * x2 * x;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

double srgb_to_linear(double encoded) {
  return encoded <= 0.04045 ? encoded / 12.92 : std::pow((encoded + 0.055) / 1.055, 2.4);
}

double linear_to_srgb(double linear) {
  return linear <= 0.0031308 ? linear * 12.92 : 1.055 * std::pow(linear, 1.0 / 2.4) - 0.055;
}

Rgb srgb_to_linear(Rgb encoded) {
  return {srgb_to_linear(encoded.r), srgb_to_linear(encoded.g), srgb_to_linear(encoded.b)};
}

Rgb linear_to_srgb(Rgb linear) {
  return {linear_to_srgb(linear.r), linear_to_srgb(linear.g), linear_to_srgb(linear.b)};
}

Xyz linear_rgb_to_xyz(Rgb c) {
  const auto& m = kRgbToXyz;
  return {m[0][0] * c.r + m[0][1] * c.g + m[0][2] * c.b, m[1][0] * c.r + m[1][1] * c.g + m[1][2] * c.b,
          m[2][0] * c.r + m[2][1] * c.g + m[2][2] * c.b};
}

Rgb xyz_to_linear_rgb(Xyz c) {
  const auto& m = kXyzToRgb;
  return {m[0][0] * c.x + m[0][1] * c.y + m[0][2] * c.z, m[1][0] * c.x + m[1][1] * c.y + m[1][2] * c.z,
          m[2][0] * c.x + m[2][1] * c.y + m[2][2] * c.z};
}

Lab xyz_to_lab(Xyz xyz) {
  const double fx = lab_f(xyz.x / kXn);
  const double fy = lab_f(xyz.y / kYn);
  const double fz = lab_f(xyz.z / kZn);
  return {116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)};
}

Xyz lab_to_xyz(Lab lab) {
  const double fy = (lab.l + 16.0) / 116.0;
  const double fx = fy + lab.a / 500.0;
  const double fz = fy - lab.b / 200.0;
  // For Y the branch is chosen on L* itself (L* > kappa * epsilon = 8), which is the same test
  // as fy^3 > epsilon but free of rounding at the junction.
  const double yr = lab.l > kKappa * kEpsilon ? fy * fy * fy : lab.l / kKappa;
  return {lab_f_inverse(fx) * kXn, yr * kYn, lab_f_inverse(fz) * kZn};
}

Lab srgb_to_lab(Rgb encoded) { return xyz_to_lab(linear_rgb_to_xyz(srgb_to_linear(encoded))); }

Rgb lab_to_srgb(Lab lab) { return linear_to_srgb(xyz_to_linear_rgb(lab_to_xyz(lab))); }

double delta_e76(Lab a, Lab b) {
  const double dl = a.l - b.l, da = a.a - b.a, db = a.b - b.b;
  return std::sqrt(dl * dl + da * da + db * db);
}

double delta_e2000(Lab c1, Lab c2, double kl, double kc, double kh) {
  // Step 1: a* is stretched by G, which grows as the mean chroma falls, to correct CIELAB's
  // uneven hue spacing near the neutral axis.
  const double c1_ab = std::hypot(c1.a, c1.b);
  const double c2_ab = std::hypot(c2.a, c2.b);
  const double c_mean7 = pow7((c1_ab + c2_ab) / 2.0);
  const double g = 0.5 * (1.0 - std::sqrt(c_mean7 / (c_mean7 + pow7(25.0))));
  const double a1 = (1.0 + g) * c1.a;
  const double a2 = (1.0 + g) * c2.a;
  const double cp1 = std::hypot(a1, c1.b);
  const double cp2 = std::hypot(a2, c2.b);
  const double hp1 = hue_degrees(c1.b, a1);
  const double hp2 = hue_degrees(c2.b, a2);

  // Step 2: differences. Delta h' is the signed shorter arc from h'1 to h'2, and 0 when either
  // colour is achromatic (its hue is undefined).
  const double product = cp1 * cp2;
  const double dl = c2.l - c1.l;
  const double dc = cp2 - cp1;
  double dh = 0.0;
  if (product != 0.0) {
    dh = hp2 - hp1;
    if (dh > 180.0)
      dh -= 360.0;
    else if (dh < -180.0)
      dh += 360.0;
  }
  const double dH = 2.0 * std::sqrt(product) * std::sin(dh * kRadians / 2.0);

  // Step 3: weighting functions around the means. The mean hue goes the short way round the
  // circle; with an achromatic colour it is the plain sum (the other hue is 0).
  const double l_mean = (c1.l + c2.l) / 2.0;
  const double c_mean = (cp1 + cp2) / 2.0;
  double h_mean = hp1 + hp2;
  if (product != 0.0) {
    if (std::abs(hp1 - hp2) <= 180.0)
      h_mean /= 2.0;
    else
      h_mean = h_mean < 360.0 ? (h_mean + 360.0) / 2.0 : (h_mean - 360.0) / 2.0;
  }
  const double t = 1.0 - 0.17 * std::cos((h_mean - 30.0) * kRadians) + 0.24 * std::cos(2.0 * h_mean * kRadians) +
                   0.32 * std::cos((3.0 * h_mean + 6.0) * kRadians) - 0.20 * std::cos((4.0 * h_mean - 63.0) * kRadians);
  const double d_theta = 30.0 * std::exp(-std::pow((h_mean - 275.0) / 25.0, 2.0));
  const double c_mean_7 = pow7(c_mean);
  const double rc = 2.0 * std::sqrt(c_mean_7 / (c_mean_7 + pow7(25.0)));
  const double l50 = (l_mean - 50.0) * (l_mean - 50.0);
  const double sl = 1.0 + 0.015 * l50 / std::sqrt(20.0 + l50);
  const double sc = 1.0 + 0.045 * c_mean;
  const double sh = 1.0 + 0.015 * c_mean * t;
  const double rt = -std::sin(2.0 * d_theta * kRadians) * rc;

  const double tl = dl / (kl * sl);
  const double tc = dc / (kc * sc);
  const double th = dH / (kh * sh);
  return std::sqrt(tl * tl + tc * tc + th * th + rt * tc * th);
}

std::optional<Rgb8> parse_hex(std::string_view text) {
  if (!text.empty() && text.front() == '#') text.remove_prefix(1);
  if (text.size() != 6 && text.size() != 8) return std::nullopt;
  std::array<std::uint8_t, 4> bytes{};
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const int hi = hex_digit(text[i]);
    const int lo = hex_digit(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    bytes[i / 2] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return Rgb8{bytes[0], bytes[1], bytes[2]};
}

std::string to_hex(Rgb8 c) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string s = "#";
  for (std::uint8_t v : {c.r, c.g, c.b}) {
    s += kDigits[v >> 4];
    s += kDigits[v & 15];
  }
  return s;
}

Rgb8 to_rgb8(Rgb encoded) {
  auto quantize = [](double v) {
    // NaN fails the first test and becomes 0.
    const double clamped = v > 0.0 ? std::min(v, 1.0) : 0.0;
    return static_cast<std::uint8_t>(std::lround(clamped * 255.0));
  };
  return {quantize(encoded.r), quantize(encoded.g), quantize(encoded.b)};
}

}  // namespace fabforge::color
