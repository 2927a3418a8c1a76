#pragma once
/// The scalar arithmetic of OpenFL: one function per scalar operation, used by constant folding,
/// the batched interpreter, the reference interpreter and (as the point case) the interval
/// interpreter, so all of them give bit-identical results. Compile users of this header with
/// -ffp-contract=off (fabforge_openfl does): a fused multiply-add would change results.

#include <cmath>
#include <cstdint>
#include <limits>

namespace fabforge::openfl::sm {

// ---- int: wrapping two's complement, total ----
inline std::int32_t iadd(std::int32_t a, std::int32_t b) {
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(a) + static_cast<std::uint32_t>(b));
}
inline std::int32_t isub(std::int32_t a, std::int32_t b) {
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(a) - static_cast<std::uint32_t>(b));
}
inline std::int32_t imul(std::int32_t a, std::int32_t b) {
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(a) * static_cast<std::uint32_t>(b));
}
inline std::int32_t ineg(std::int32_t a) { return static_cast<std::int32_t>(0u - static_cast<std::uint32_t>(a)); }
inline std::int32_t idiv(std::int32_t a, std::int32_t b) {
  if (b == 0) return 0;
  if (b == -1) return ineg(a);
  return a / b;
}
inline std::int32_t imod(std::int32_t a, std::int32_t b) {
  if (b == 0 || b == -1) return 0;
  return a % b;
}
inline std::int32_t iabs(std::int32_t a) { return a < 0 ? ineg(a) : a; }
inline std::int32_t isign(std::int32_t a) { return (a > 0) - (a < 0); }
inline std::int32_t imin(std::int32_t a, std::int32_t b) { return b < a ? b : a; }
inline std::int32_t imax(std::int32_t a, std::int32_t b) { return a < b ? b : a; }

// ---- conversions ----
inline float itof(std::int32_t a) { return static_cast<float>(a); }
/// Truncates toward zero; NaN gives 0; out-of-range values saturate.
inline std::int32_t ftoi(float a) {
  if (!(a == a)) return 0;
  if (a >= 2147483648.0f) return std::numeric_limits<std::int32_t>::max();
  if (a <= -2147483648.0f) return std::numeric_limits<std::int32_t>::min();
  return static_cast<std::int32_t>(a);
}

// ---- float ----
// min/max: the second operand when the comparison says so, so NaN handling is defined:
// min(a, b) = b < a ? b : a.
inline float fmin(float a, float b) { return b < a ? b : a; }
inline float fmax(float a, float b) { return a < b ? b : a; }
inline float fabs(float a) { return std::fabs(a); }
inline float fsign(float a) { return a > 0.0f ? 1.0f : (a < 0.0f ? -1.0f : 0.0f); }
inline float ffloor(float a) { return std::floor(a); }
inline float fceil(float a) { return std::ceil(a); }
inline float fround(float a) { return std::round(a); }
inline float ftrunc(float a) { return std::trunc(a); }
inline float ffract(float a) { return a - std::floor(a); }
inline float fmod(float x, float y) { return x - y * std::floor(x / y); }
inline float fsqrt(float a) { return std::sqrt(a); }
inline float finvsqrt(float a) { return 1.0f / std::sqrt(a); }
inline float fpow(float a, float b) { return std::pow(a, b); }
inline float fexp(float a) { return std::exp(a); }
inline float fexp2(float a) { return std::exp2(a); }
inline float flog(float a) { return std::log(a); }
inline float flog2(float a) { return std::log2(a); }
inline float fsin(float a) { return std::sin(a); }
inline float fcos(float a) { return std::cos(a); }
inline float ftan(float a) { return std::tan(a); }
inline float fasin(float a) { return std::asin(a); }
inline float facos(float a) { return std::acos(a); }
inline float fatan(float a) { return std::atan(a); }
inline float fatan2(float y, float x) { return std::atan2(y, x); }
inline float fstep(float edge, float x) { return x < edge ? 0.0f : 1.0f; }
inline float fclamp(float x, float lo, float hi) { return fmin(fmax(x, lo), hi); }
inline float fsmoothstep(float e0, float e1, float x) {
  const float t = fclamp((x - e0) / (e1 - e0), 0.0f, 1.0f);
  return t * t * (3.0f - 2.0f * t);
}
inline float fmix(float a, float b, float t) { return a + (b - a) * t; }
inline float fradians(float d) { return d * 0.0174532925199432957692f; }
inline float fdegrees(float r) { return r * 57.295779513082320876798f; }

}  // namespace fabforge::openfl::sm
