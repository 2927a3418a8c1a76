// The interval interpreter: conservative bounds of a kernel's outputs over a box of inputs.
//
// It is an abstract interpretation of the structured IR (Kernel::ir), not of the bytecode:
//
// - Every SSA value gets an abstract value of its type:
//     f32  a range [lo, hi] of floats (empty when lo > hi) plus a "may be NaN" flag, so a NaN that
//          one corner of the box produces does not wipe out the range of the others;
//     i32  a range [lo, hi] computed in int64 and mapped back to int32: a result range that wraps
//          around as a whole is shifted by 2^32, one that straddles the wrap becomes
//          [INT_MIN, INT_MAX];
//     b1   the subset of {false, true} the value may take.
//   Signs of zeros are never tracked: no rule relies on knowing whether a zero is +0 or -0
//   (dividing by a range holding 0 gives the whole line, atan2 is refined only off the axes).
//
// - Transfer functions:
//   * + - * /, floor, ceil, round, trunc, sqrt, min, max, abs, int/float conversions are exact
//     IEEE operations on the bounds. Round-to-nearest is monotone, so a correctly rounded
//     operation evaluated at the extreme points bounds every point result without widening.
//   * C library functions (sin, exp, pow, log, ...) need not be correctly rounded nor monotone in
//     the last bit: they are evaluated with sm:: at the ends of monotone pieces and widened by
//     kLibUlps ulps outward; a range over a critical point takes the extreme value there (sin,
//     cos: +-1), an asymptote or a large or non-finite range gives the function's whole range.
//   * Composite operations (mod, fract, smoothstep, inversesqrt) are evaluated as the same
//     sequence of float operations sm:: performs (sound by composition) and intersected with an
//     analytic bound where one provably holds (mod, fract, smoothstep).
//   * noise: per lattice cell of a box that meets at most two along each axis, the noise
//     polynomial bounded with that cell's corner gradients (noise::perlin_range); [-1, 1] (the
//     Perlin functions clamp) for wider or non-finite boxes; fbm / turbulence: +-noise::fbm_bound at the
//     largest octave count and |gain| of their ranges (turbulence with gain >= 0: [0, bound]);
//     cellular (one feature point per unit cell): f1 <= sqrt(d) (the point's own cell) and
//     f2 <= sqrt(1.5^2 + d - 1) (the own cell and the nearer face neighbour along x), with a
//     small margin; textures: Host::texture_range; surface queries: Host::query_range over the
//     input box of P, asked once.
//
// - Control flow: an if_ whose condition is certainly true (false) evaluates that side only,
//   otherwise both, and its results are the unions of the two sides' yields; select likewise.
//   A loop is first unrolled: S_k (the carried values of the lanes that ran the body k times) is
//   pushed through the body while the condition may hold, and every S_k whose condition may be
//   false joins the results. Counted loops and loops whose trip counts depend on the inputs only
//   through a bounded count end here with tight bounds. After a nesting-dependent number of
//   rounds (kUnrollRounds) the rest is a fixed-point iteration H = H u body(H) whose bounds still
//   moving after kJoinRounds rounds are widened to infinity (int: INT_MIN / INT_MAX), so it always
//   terminates. Lanes that run past the iteration cap stop with an error in the point
//   interpreters and give no output, so the unrolling stops there.

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "fabforge/openfl/exec.hpp"
#include "fabforge/openfl/ir.hpp"
#include "fabforge/openfl/noise.hpp"
#include "fabforge/openfl/scalar_math.hpp"

namespace fabforge::openfl {

namespace {

using ir::Op;
using ir::ScalarType;
using ir::ValueId;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kMaxF = std::numeric_limits<float>::max();
constexpr float kTiny = std::numeric_limits<float>::denorm_min();
constexpr std::int64_t kIntMin = std::numeric_limits<std::int32_t>::min();
constexpr std::int64_t kIntMax = std::numeric_limits<std::int32_t>::max();
constexpr double kPi = 3.14159265358979323846;

/// Ulps of widening around values of C library functions.
constexpr int kLibUlps = 4;
/// Unrolled iterations of a loop by nesting depth (deeper loops run once per outer round).
constexpr std::uint64_t kUnrollRounds[] = {64, 16, 4, 2};
/// Fixed-point rounds before moving bounds are widened to infinity.
constexpr int kJoinRounds = 2;

float down(float x, int ulps = kLibUlps) {
  for (int k = 0; k < ulps; ++k) x = std::nextafter(x, -kInf);
  return x;
}
float up(float x, int ulps = kLibUlps) {
  for (int k = 0; k < ulps; ++k) x = std::nextafter(x, kInf);
  return x;
}

// ---- f32 -----------------------------------------------------------------------------------

struct F {
  float lo = kInf, hi = -kInf;  ///< the non-NaN values; empty when lo > hi
  bool nan = false;             ///< may be NaN
  bool empty() const { return !(lo <= hi); }
  bool has0() const { return !empty() && lo <= 0.0f && hi >= 0.0f; }
  bool has_pinf() const { return !empty() && hi == kInf; }
  bool has_ninf() const { return !empty() && lo == -kInf; }
  bool finite() const { return !nan && !empty() && lo > -kInf && hi < kInf; }
  bool operator==(const F& o) const {
    if (nan != o.nan || empty() != o.empty()) return false;
    return empty() || (lo == o.lo && hi == o.hi);
  }
};

/// A range from computed bounds: a NaN bound (inf - inf and the like at a corner) becomes the
/// infinite bound on its side.
F range(float lo, float hi, bool nan = false) {
  F r;
  r.nan = nan;
  r.lo = lo != lo ? -kInf : lo;
  r.hi = hi != hi ? kInf : hi;
  if (!(r.lo <= r.hi)) {
    r.lo = kInf;
    r.hi = -kInf;
  }
  return r;
}
F nan_only() { return F{kInf, -kInf, true}; }
F f_top() { return F{-kInf, kInf, true}; }
F f_point(float x) { return x != x ? nan_only() : F{x, x, false}; }
F hull(const F& a, const F& b) {
  F r;
  r.nan = a.nan || b.nan;
  r.lo = std::min(a.lo, b.lo);
  r.hi = std::max(a.hi, b.hi);
  return r;
}
/// The real part of `a` intersected with [lo, hi] (NaN flag kept).
F clip(F a, float lo, float hi) {
  if (a.empty()) return a;
  return range(std::max(a.lo, lo), std::min(a.hi, hi), a.nan);
}
/// a's real part intersected with b's (both bounds of the same value); NaN only if both allow it.
F meet(const F& a, const F& b) {
  if (a.empty() || b.empty()) return range(kInf, -kInf, a.nan && b.nan);
  return range(std::max(a.lo, b.lo), std::min(a.hi, b.hi), a.nan && b.nan);
}
F real_part(F a) {
  a.nan = false;
  return a;
}

F f_neg(const F& a) {
  if (a.empty()) return a;
  return range(-a.hi, -a.lo, a.nan);
}

F f_add(const F& a, const F& b) {
  const bool nan = a.nan || b.nan || (a.has_pinf() && b.has_ninf()) || (a.has_ninf() && b.has_pinf());
  if (a.empty() || b.empty()) return range(kInf, -kInf, nan);
  return range(a.lo + b.lo, a.hi + b.hi, nan);
}
F f_sub(const F& a, const F& b) { return f_add(a, f_neg(b)); }

F f_corners(const F& a, const F& b, bool nan, float (*op)(float, float)) {
  const float c[4] = {op(a.lo, b.lo), op(a.lo, b.hi), op(a.hi, b.lo), op(a.hi, b.hi)};
  float lo = kInf, hi = -kInf;
  for (float v : c) {
    if (v != v) return range(-kInf, kInf, nan);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  return range(lo, hi, nan);
}
float mul_op(float x, float y) { return x * y; }
float div_op(float x, float y) { return x / y; }

F f_mul(const F& a, const F& b) {
  const bool nan =
      a.nan || b.nan || (a.has0() && (b.has_pinf() || b.has_ninf())) || (b.has0() && (a.has_pinf() || a.has_ninf()));
  if (a.empty() || b.empty()) return range(kInf, -kInf, nan);
  return f_corners(a, b, nan, mul_op);
}

F f_div(const F& a, const F& b) {
  const bool nan =
      a.nan || b.nan || (a.has0() && b.has0()) || ((a.has_pinf() || a.has_ninf()) && (b.has_pinf() || b.has_ninf()));
  if (a.empty() || b.empty()) return range(kInf, -kInf, nan);
  if (b.has0()) return range(-kInf, kInf, nan);
  return f_corners(a, b, nan, div_op);
}

/// A function monotone non-decreasing over the real part (exact: correctly rounded or exact).
template <class Fn>
F f_mono(const F& a, Fn fn) {
  if (a.empty()) return a;
  return range(fn(a.lo), fn(a.hi), a.nan);
}
/// A C library function increasing over [lo, hi]: endpoint values widened by kLibUlps.
template <class Fn>
F lib_inc(float lo, float hi, bool nan, Fn fn) {
  if (!(lo <= hi)) return range(kInf, -kInf, nan);
  return range(down(fn(lo)), up(fn(hi)), nan);
}
template <class Fn>
F lib_dec(float lo, float hi, bool nan, Fn fn) {
  if (!(lo <= hi)) return range(kInf, -kInf, nan);
  return range(down(fn(hi)), up(fn(lo)), nan);
}

F f_abs(const F& a) {
  if (a.empty()) return a;
  if (a.lo >= 0.0f) return range(a.lo, a.hi, a.nan);
  if (a.hi <= 0.0f) return range(-a.hi, -a.lo, a.nan);
  return range(0.0f, std::max(-a.lo, a.hi), a.nan);
}

F f_sign(const F& a) {
  F r = a.empty() ? F{} : range(sm::fsign(a.lo), sm::fsign(a.hi));
  if (a.nan) r = hull(r, f_point(0.0f));  // NaN compares false both ways
  return r;
}

// min(a, b) = b < a ? b : a: a NaN `a` stays, a NaN `b` gives `a`.
F f_min(const F& a, const F& b) {
  F r = range(kInf, -kInf, a.nan);
  if (!a.empty() && !b.empty()) r = hull(r, range(std::min(a.lo, b.lo), std::min(a.hi, b.hi)));
  if (b.nan) r = hull(r, real_part(a));
  return r;
}
// max(a, b) = a < b ? b : a
F f_max(const F& a, const F& b) {
  F r = range(kInf, -kInf, a.nan);
  if (!a.empty() && !b.empty()) r = hull(r, range(std::max(a.lo, b.lo), std::max(a.hi, b.hi)));
  if (b.nan) r = hull(r, real_part(a));
  return r;
}

F f_floor(const F& a) {
  return f_mono(a, [](float x) { return sm::ffloor(x); });
}

F f_fract(const F& a) {
  F r = f_sub(a, f_floor(a));
  // x - floor(x) lies in [0, 1) exactly for finite x; rounding can reach 1.
  if (a.finite()) r = meet(r, range(0.0f, 1.0f));
  return r;
}

F f_mod(const F& x, const F& y) {
  const F q = f_div(x, y);
  F r = f_sub(x, f_mul(y, f_floor(q)));
  // With q = fl(x / y) finite and n = floor(q): x - y n lies in [-|x| e, y + |x| e] (y > 0) for
  // the rounding e of the quotient, and rounding y n moves it by |y n| e more. Bound generously.
  if (x.finite() && y.finite() && !y.has0() && q.finite()) {
    const double ax = std::max(std::fabs(double{x.lo}), std::fabs(double{x.hi}));
    const double ay = std::max(std::fabs(double{y.lo}), std::fabs(double{y.hi}));
    if (ax < 1e37 && ay < 1e37) {
      const float delta = up(static_cast<float>((ax + ay) * 0x1p-20 + 1e-37), 1);
      const F bound = y.lo > 0.0f ? range(-delta, up(y.hi + delta, 1)) : range(down(y.lo - delta, 1), delta);
      r = meet(r, bound);
    }
  }
  return r;
}

F f_sqrt(const F& a) {
  const bool nan = a.nan || (!a.empty() && a.lo < 0.0f);
  if (a.empty()) return range(kInf, -kInf, nan);
  return range(std::sqrt(std::max(a.lo, 0.0f)), a.hi < 0.0f ? -kInf : std::sqrt(a.hi), nan);
}

F f_exp(const F& a, float (*fn)(float)) {
  F r = lib_inc(a.lo, a.hi, a.nan, fn);
  return clip(r, 0.0f, kInf);
}

F f_log(const F& a, float (*fn)(float)) {
  const bool nan = a.nan || (!a.empty() && a.lo < 0.0f);
  if (a.empty()) return range(kInf, -kInf, nan);
  return lib_inc(std::max(a.lo, 0.0f), a.hi, nan, fn);
}

/// sin (cosine = false) or cos over the real part of a.
F f_trig(const F& a, bool cosine) {
  const bool nan = a.nan || a.has_pinf() || a.has_ninf();
  if (a.empty()) return range(kInf, -kInf, nan);
  const float lo = std::max(a.lo, -kMaxF), hi = std::min(a.hi, kMaxF);
  if (!(lo <= hi)) return range(kInf, -kInf, nan);
  if (double{hi} - double{lo} > 6.5 || std::max(std::fabs(lo), std::fabs(hi)) > 1e5f) return range(-1.0f, 1.0f, nan);
  auto fn = [cosine](float x) { return cosine ? sm::fcos(x) : sm::fsin(x); };
  const float vlo = fn(lo), vhi = fn(hi);
  F r = range(down(std::min(vlo, vhi)), up(std::max(vlo, vhi)), nan);
  // Critical points: sin at pi/2 + k pi, cos at k pi; even k a maximum, odd k a minimum.
  const double offset = cosine ? 0.0 : kPi / 2, margin = 1e-6;
  for (double k = std::ceil((double{lo} - margin - offset) / kPi); offset + k * kPi <= double{hi} + margin; k += 1) {
    if (std::fmod(k, 2.0) == 0.0) {
      r.hi = 1.0f;
    } else {
      r.lo = -1.0f;
    }
  }
  return clip(r, -1.0f, 1.0f);
}

F f_tan(const F& a) {
  const bool nan = a.nan || a.has_pinf() || a.has_ninf();
  if (a.empty()) return range(kInf, -kInf, nan);
  const float lo = std::max(a.lo, -kMaxF), hi = std::min(a.hi, kMaxF);
  if (!(lo <= hi)) return range(kInf, -kInf, nan);
  if (double{hi} - double{lo} > 3.0 || std::max(std::fabs(lo), std::fabs(hi)) > 1e5f) return range(-kInf, kInf, nan);
  const double k = std::ceil((double{lo} - 1e-6 - kPi / 2) / kPi);
  if (kPi / 2 + k * kPi <= double{hi} + 1e-6) return range(-kInf, kInf, nan);  // an asymptote
  return lib_inc(lo, hi, nan, [](float x) { return sm::ftan(x); });
}

// A little above float(pi) and float(pi / 2), the largest values atan2f / asinf can return.
constexpr float kPiUp = 3.1416f;
constexpr float kHalfPiUp = 1.5708f;

F f_asin_acos(const F& a, bool acos) {
  const bool nan = a.nan || (!a.empty() && (a.lo < -1.0f || a.hi > 1.0f));
  if (a.empty()) return range(kInf, -kInf, nan);
  const float lo = std::max(a.lo, -1.0f), hi = std::min(a.hi, 1.0f);
  if (acos) return clip(lib_dec(lo, hi, nan, [](float x) { return sm::facos(x); }), 0.0f, kPiUp);
  return clip(lib_inc(lo, hi, nan, [](float x) { return sm::fasin(x); }), -kHalfPiUp, kHalfPiUp);
}

F f_atan(const F& a) {
  if (a.empty()) return a;
  return clip(lib_inc(a.lo, a.hi, a.nan, [](float x) { return sm::fatan(x); }), -kHalfPiUp, kHalfPiUp);
}

F f_atan2(const F& y, const F& x) {
  const bool nan = y.nan || x.nan;
  if (y.empty() || x.empty()) return range(kInf, -kInf, nan);
  if (x.lo > 0.0f) {
    // Right half plane: increasing in y; in x decreasing for y > 0, increasing for y < 0.
    float lo = kInf, hi = -kInf;
    const float ys[3] = {y.lo, y.has0() ? 0.0f : y.lo, y.hi};
    for (float yy : ys) {
      for (float xx : {x.lo, x.hi}) {
        const float v = sm::fatan2(yy, xx);
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
    }
    return clip(range(down(lo), up(hi), nan), -kHalfPiUp, kHalfPiUp);
  }
  F r = range(-kPiUp, kPiUp, nan);
  if (y.lo > 0.0f) r = clip(r, 0.0f, kPiUp);
  if (y.hi < 0.0f) r = clip(r, -kPiUp, 0.0f);
  return r;
}

bool is_integer(double b) { return std::trunc(b) == b; }
/// Whether [lo, hi] holds an odd integer (every float of magnitude >= 2^24 is even).
bool has_odd_integer(double lo, double hi) {
  lo = std::max(lo, -16777216.0);
  hi = std::min(hi, 16777216.0);
  double k = std::ceil(lo);
  if (std::fmod(k, 2.0) == 0.0) k += 1;
  return k <= hi;
}

/// min and max of powf over a in [alo, ahi] (alo > 0), b in [blo, bhi]: powf is monotone in
/// each argument on the quadrants split at a = 1 and b = 0, so the extremes lie on that grid.
void pow_box(float alo, float ahi, float blo, float bhi, float& mn, float& mx) {
  float as[3] = {alo, ahi, ahi}, bs[3] = {blo, bhi, bhi};
  if (alo < 1.0f && 1.0f < ahi) as[2] = 1.0f;
  if (blo < 0.0f && 0.0f < bhi) bs[2] = 0.0f;
  mn = kInf;
  mx = -kInf;
  for (float aa : as) {
    for (float bb : bs) {
      const float v = sm::fpow(aa, bb);
      if (v != v) {  // cannot happen for a > 0 and non-NaN b; stay safe
        mn = 0.0f;
        mx = kInf;
        return;
      }
      mn = std::min(mn, v);
      mx = std::max(mx, v);
    }
  }
}

F f_pow(const F& a, const F& b) {
  F r = range(kInf, -kInf, a.nan || b.nan);
  if (a.nan && b.has0()) r = hull(r, f_point(1.0f));                                    // pow(NaN, 0) = 1
  if (b.nan && !a.empty() && a.lo <= 1.0f && a.hi >= 1.0f) r = hull(r, f_point(1.0f));  // pow(1, NaN) = 1
  if (a.empty() || b.empty()) return r;
  // a > 0
  if (a.hi >= kTiny) {
    float mn, mx;
    pow_box(std::max(a.lo, kTiny), a.hi, b.lo, b.hi, mn, mx);
    r = hull(r, range(std::max(0.0f, down(mn)), up(mx)));
  }
  // a = +-0
  if (a.has0()) {
    if (b.hi > 0.0f) r = hull(r, f_point(0.0f));
    if (b.has0()) r = hull(r, f_point(1.0f));
    if (b.lo < 0.0f) {
      r = hull(r, f_point(kInf));
      if (has_odd_integer(b.lo, std::min(double{b.hi}, -1.0))) r = hull(r, f_point(-kInf));  // pow(-0, -odd)
    }
  }
  // a < 0: defined for integer b, with the sign of a^b
  if (a.lo <= -kTiny) {
    float mn, mx;
    pow_box(std::max(-a.hi, kTiny), -a.lo, b.lo, b.hi, mn, mx);
    const bool single_integer = b.lo == b.hi && is_integer(b.lo);
    const bool odd = has_odd_integer(b.lo, b.hi);
    if (odd) r = hull(r, range(-up(mx), std::min(0.0f, -down(mn))));
    if (!(single_integer && odd)) r = hull(r, range(std::max(0.0f, down(mn)), up(mx)));
    if (!single_integer) r.nan = true;
  }
  return r;
}

F f_smoothstep(const F& e0, const F& e1, const F& x) {
  const F zero = f_point(0.0f), one = f_point(1.0f);
  const F t = f_min(f_max(f_div(f_sub(x, e0), f_sub(e1, e0)), zero), one);
  F r = f_mul(f_mul(t, t), f_sub(f_point(3.0f), f_mul(f_point(2.0f), t)));
  if (!t.empty()) {
    // t in [0, 1]: t * t * (3 - 2 t) increases, each rounding is relative (a few ulps in all).
    auto g = [](float v) { return v * v * (3.0f - 2.0f * v); };
    r = meet(r, range(std::max(0.0f, down(g(t.lo), 8)), up(g(t.hi), 8), true));
  }
  return r;
}

// ---- i32 -----------------------------------------------------------------------------------

struct I {
  std::int64_t lo = 1, hi = 0;  ///< empty when lo > hi
  bool empty() const { return lo > hi; }
  bool has(std::int64_t v) const { return lo <= v && v <= hi; }
  bool operator==(const I& o) const { return (empty() && o.empty()) || (lo == o.lo && hi == o.hi); }
};

I i_top() { return I{kIntMin, kIntMax}; }
I i_empty() { return I{}; }
I i_point(std::int64_t v) { return I{v, v}; }
I i_hull(const I& a, const I& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return I{std::min(a.lo, b.lo), std::max(a.hi, b.hi)};
}
/// Maps an exact result range to int32 with wrap-around.
I i_wrap(std::int64_t lo, std::int64_t hi) {
  if (lo > hi) return i_empty();
  constexpr std::int64_t kSpan = std::int64_t{1} << 32;
  if (hi - lo >= kSpan) return i_top();
  std::int64_t k = (lo - kIntMin) / kSpan;
  if ((lo - kIntMin) % kSpan < 0) k -= 1;  // floor division
  lo -= k * kSpan;
  hi -= k * kSpan;
  if (hi > kIntMax) return i_top();
  return I{lo, hi};
}

I i_neg(const I& a) { return a.empty() ? a : i_wrap(-a.hi, -a.lo); }

I i_mul(const I& a, const I& b) {
  if (a.empty() || b.empty()) return i_empty();
  const std::int64_t c[4] = {a.lo * b.lo, a.lo * b.hi, a.hi * b.lo, a.hi * b.hi};
  return i_wrap(*std::min_element(c, c + 4), *std::max_element(c, c + 4));
}

/// Truncating division / remainder over b in [blo, bhi] (0 and -1 not in it).
I i_divide_part(const I& a, std::int64_t blo, std::int64_t bhi, bool remainder) {
  if (blo > bhi) return i_empty();
  if (remainder) {
    if (blo == bhi && a.lo / blo == a.hi / blo) {  // one quotient: a - q b increases with a
      const std::int64_t q = a.lo / blo;
      return I{a.lo - q * blo, a.hi - q * blo};
    }
    const std::int64_t m = std::max(std::abs(blo), std::abs(bhi)) - 1;  // |a % b| < |b|, sign of a
    return I{a.lo < 0 ? std::max(a.lo, -m) : 0, a.hi > 0 ? std::min(a.hi, m) : 0};
  }
  std::int64_t as[3] = {a.lo, a.hi, a.hi};
  if (a.lo < 0 && a.hi > 0) as[2] = 0;
  std::int64_t lo = std::numeric_limits<std::int64_t>::max(), hi = std::numeric_limits<std::int64_t>::min();
  for (std::int64_t x : as) {
    for (std::int64_t y : {blo, bhi}) {
      lo = std::min(lo, x / y);
      hi = std::max(hi, x / y);
    }
  }
  return i_wrap(lo, hi);
}

I i_divmod(const I& a, const I& b, bool remainder) {
  if (a.empty() || b.empty()) return i_empty();
  I r = i_empty();
  if (b.has(0)) r = i_hull(r, i_point(0));
  if (b.has(-1)) r = i_hull(r, remainder ? i_point(0) : i_neg(a));
  r = i_hull(r, i_divide_part(a, b.lo, std::min<std::int64_t>(b.hi, -2), remainder));
  r = i_hull(r, i_divide_part(a, std::max<std::int64_t>(b.lo, 1), b.hi, remainder));
  return r;
}

I i_abs(const I& a) {
  if (a.empty()) return a;
  I r = i_empty();
  if (a.lo < 0) r = i_hull(r, i_neg(I{a.lo, std::min<std::int64_t>(a.hi, -1)}));
  if (a.hi >= 0) r = i_hull(r, I{std::max<std::int64_t>(a.lo, 0), a.hi});
  return r;
}

std::int64_t sign64(std::int64_t v) { return (v > 0) - (v < 0); }

// ---- b1 ------------------------------------------------------------------------------------

struct B {
  bool f = false, t = false;
  bool operator==(const B&) const = default;
};

// ---- any -----------------------------------------------------------------------------------

struct Value {
  F f;
  I i;
  B b;
};

Value top_of(ScalarType t) {
  Value v;
  if (t == ScalarType::f32) v.f = f_top();
  if (t == ScalarType::i32) v.i = i_top();
  if (t == ScalarType::b1) v.b = B{true, true};
  return v;
}
Value of_f(F f) {
  Value v;
  v.f = f;
  return v;
}
Value of_i(I i) {
  Value v;
  v.i = i;
  return v;
}
Value of_b(B b) {
  Value v;
  v.b = b;
  return v;
}
Value join(const Value& x, const Value& y, ScalarType t) {
  switch (t) {
    case ScalarType::f32:
      return of_f(hull(x.f, y.f));
    case ScalarType::i32:
      return of_i(i_hull(x.i, y.i));
    case ScalarType::b1:
      return of_b(B{x.b.f || y.b.f, x.b.t || y.b.t});
  }
  return x;
}
bool same(const Value& x, const Value& y, ScalarType t) {
  switch (t) {
    case ScalarType::f32:
      return x.f == y.f;
    case ScalarType::i32:
      return x.i == y.i;
    case ScalarType::b1:
      return x.b == y.b;
  }
  return true;
}
/// `next` (a superset of `prev`) with every bound that moved pushed to infinity.
Value widen(const Value& prev, Value next, ScalarType t) {
  if (t == ScalarType::f32 && !prev.f.empty()) {
    if (next.f.lo < prev.f.lo) next.f.lo = -kInf;
    if (next.f.hi > prev.f.hi) next.f.hi = kInf;
  } else if (t == ScalarType::f32) {
    if (!next.f.empty()) next.f = range(-kInf, kInf, next.f.nan);
  } else if (t == ScalarType::i32 && !prev.i.empty()) {
    if (next.i.lo < prev.i.lo) next.i.lo = kIntMin;
    if (next.i.hi > prev.i.hi) next.i.hi = kIntMax;
  } else if (t == ScalarType::i32) {
    if (!next.i.empty()) next.i = i_top();
  }
  return next;
}

F f_of_interval(const Interval& x) {
  if (x.lo != x.lo || x.hi != x.hi || x.lo > x.hi) return f_top();
  if (x.lo == -kInf && x.hi == kInf) return f_top();
  return range(x.lo, x.hi);
}

Value value_of_bits(ScalarType t, std::uint32_t bits) {
  switch (t) {
    case ScalarType::f32:
      return of_f(f_point(std::bit_cast<float>(bits)));
    case ScalarType::i32:
      return of_i(i_point(static_cast<std::int32_t>(bits)));
    case ScalarType::b1:
      return of_b(B{bits == 0, bits != 0});
  }
  return Value{};
}

Interval to_interval(const Value& v, ScalarType t) {
  switch (t) {
    case ScalarType::f32:
      if (v.f.nan || v.f.empty()) return Interval{};
      return Interval{v.f.lo, v.f.hi};
    case ScalarType::i32:
      if (v.i.empty()) return Interval{};
      return Interval{sm::itof(static_cast<std::int32_t>(v.i.lo)), sm::itof(static_cast<std::int32_t>(v.i.hi))};
    case ScalarType::b1:
      if (!v.b.f && !v.b.t) return Interval{};
      return Interval{v.b.f ? 0.0f : 1.0f, v.b.t ? 1.0f : 0.0f};
  }
  return Interval{};
}

// ---- the walk ------------------------------------------------------------------------------

class Evaluator {
 public:
  Evaluator(const Kernel& kernel, const Host& host, const std::vector<Interval>& inputs, ExecOptions options)
      : kernel_(kernel),
        fn_(kernel.ir),
        host_(host),
        inputs_(inputs),
        options_(options),
        values_(fn_.value_types.size()) {}

  std::vector<Interval> run() {
    block(fn_.body, 0);
    std::vector<Interval> out;
    out.reserve(fn_.body.yields.size());
    for (ValueId y : fn_.body.yields) out.push_back(to_interval(values_[y], type(y)));
    return out;
  }

 private:
  ScalarType type(ValueId v) const { return fn_.value_types[v]; }
  const F& f(const ir::Inst& in, std::size_t k) const { return values_[in.args[k]].f; }
  const I& i(const ir::Inst& in, std::size_t k) const { return values_[in.args[k]].i; }
  const B& b(const ir::Inst& in, std::size_t k) const { return values_[in.args[k]].b; }
  void set(const ir::Inst& in, Value v, std::size_t k = 0) { values_[in.results[k]] = v; }

  void block(const ir::Block& blk, int depth) {
    for (const ir::Inst& in : blk.insts) instruction(in, depth);
  }

  F input(std::uint32_t column) const { return column < inputs_.size() ? f_of_interval(inputs_[column]) : f_top(); }

  F query(std::uint32_t column) {
    if (!queried_) {
      queried_ = true;
      const int count = std::max(fn_.query_count, kernel_.query_count);
      query_ranges_.assign(static_cast<std::size_t>(std::max(count, 0)), Interval{});
      if (count > 0) {
        // The input box as the evaluator reads it (NaN or reversed bounds: the whole line).
        Interval xyz[3];
        for (std::uint32_t k = 0; k < 3; ++k) {
          const F x = input(k);
          if (!x.nan) xyz[k] = Interval{x.lo, x.hi};
        }
        host_.query_range(xyz, query_ranges_.data(), count);
      }
    }
    return column < query_ranges_.size() ? f_of_interval(query_ranges_[column]) : f_top();
  }

  void if_(const ir::Inst& in, int depth) {
    const B c = b(in, 0);
    const bool then_side = c.t || !c.f, else_side = c.f || !c.t;
    if (then_side) block(in.blocks[0], depth);
    if (else_side) block(in.blocks[1], depth);
    for (std::size_t k = 0; k < in.results.size(); ++k) {
      const Value& y0 = values_[in.blocks[0].yields[k]];
      const Value& y1 = values_[in.blocks[1].yields[k]];
      const ScalarType t = type(in.results[k]);
      values_[in.results[k]] = then_side && else_side ? join(y0, y1, t) : (then_side ? y0 : y1);
    }
  }

  B run_cond(const ir::Inst& in, const std::vector<Value>& state, int depth) {
    const ir::Block& cond = in.blocks[0];
    for (std::size_t k = 0; k < state.size(); ++k) values_[cond.params[k]] = state[k];
    block(cond, depth + 1);
    return values_[cond.yields[0]].b;
  }
  std::vector<Value> run_body(const ir::Inst& in, const std::vector<Value>& state, int depth) {
    const ir::Block& body = in.blocks[1];
    for (std::size_t k = 0; k < state.size(); ++k) values_[body.params[k]] = state[k];
    block(body, depth + 1);
    std::vector<Value> next(state.size());
    for (std::size_t k = 0; k < state.size(); ++k) next[k] = values_[body.yields[k]];
    return next;
  }

  void loop(const ir::Inst& in, int depth) {
    const std::size_t n = in.args.size();
    std::vector<ScalarType> types(n);
    std::vector<Value> state(n), result(n);
    for (std::size_t k = 0; k < n; ++k) {
      types[k] = type(in.results[k]);
      state[k] = values_[in.args[k]];
    }
    auto exit_with = [&](const std::vector<Value>& s) {
      for (std::size_t k = 0; k < n; ++k) result[k] = join(result[k], s[k], types[k]);
    };
    const std::uint64_t unroll = kUnrollRounds[std::min<std::size_t>(static_cast<std::size_t>(depth), 3)];
    bool done = false;
    for (std::uint64_t iteration = 0;; ++iteration) {
      const B c = run_cond(in, state, depth);
      if (c.f) exit_with(state);
      // Lanes still running after the cap (one extra round, to be safe) have stopped with an error.
      if (!c.t || iteration > options_.loop_cap) {
        done = true;
        break;
      }
      if (iteration == unroll) break;
      state = run_body(in, state, depth);
    }
    for (int round = 0; !done; ++round) {
      const B c = run_cond(in, state, depth);
      if (c.f) exit_with(state);
      if (!c.t) break;
      const std::vector<Value> next = run_body(in, state, depth);
      done = true;
      for (std::size_t k = 0; k < n; ++k) {
        Value u = join(state[k], next[k], types[k]);
        if (same(u, state[k], types[k])) continue;
        done = false;
        state[k] = round >= kJoinRounds ? widen(state[k], u, types[k]) : u;
      }
    }
    for (std::size_t k = 0; k < n; ++k) values_[in.results[k]] = result[k];
  }

  void fbm(const ir::Inst& in, std::size_t octaves_arg) {
    const I& oct = i(in, octaves_arg);
    const F& gain = f(in, octaves_arg + 2);
    const std::int32_t most = oct.empty() ? 16 : static_cast<std::int32_t>(std::clamp<std::int64_t>(oct.hi, 1, 16));
    float bound = 1.0f;
    if (most > 1) {
      if (gain.nan || gain.empty()) {
        set(in, of_f(f_top()));
        return;
      }
      bound = noise::fbm_bound(most, std::max(std::fabs(gain.lo), std::fabs(gain.hi)));
      if (!(bound < kInf)) {
        set(in, of_f(f_top()));
        return;
      }
    }
    const bool turbulence = in.imm != 0;
    set(in, of_f(range(turbulence && (most == 1 || gain.lo >= 0.0f) ? 0.0f : -bound, bound)));
  }

  void cellular(const ir::Inst& in, int dims) {
    const float d = static_cast<float>(dims);
    set(in, of_f(range(0.0f, std::sqrt(d) * 1.0001f)), 0);
    set(in, of_f(range(0.0f, std::sqrt(2.25f + d - 1.0f) * 1.0001f)), 1);
  }

  void texture(const ir::Inst& in) {
    const std::array<Interval, 4> r = host_.texture_range(static_cast<int>(in.imm));
    for (std::size_t k = 0; k < 4 && k < in.results.size(); ++k) set(in, of_f(f_of_interval(r[k])), k);
  }

  Value uniform(const ir::Inst& in) const {
    const ScalarType t = type(in.results[0]);
    const ir::UniformColumns& u = kernel_.uniform_values;
    if (in.imm >= u.bits.size() || in.imm >= u.types.size() || u.types[in.imm] != t) return top_of(t);
    return value_of_bits(t, u.bits[in.imm]);
  }

  void instruction(const ir::Inst& in, int depth) {
    switch (in.op) {
      // leaves
      case Op::const_f:
        return set(in, of_f(f_point(in.fimm)));
      case Op::const_i:
        return set(in, of_i(i_point(static_cast<std::int32_t>(in.imm))));
      case Op::const_b:
        return set(in, of_b(B{in.imm == 0, in.imm != 0}));
      case Op::input:
        return set(in, type(in.results[0]) == ScalarType::f32 ? of_f(input(in.imm)) : top_of(type(in.results[0])));
      case Op::uniform:
        return set(in, uniform(in));
      case Op::query:
        return set(in, of_f(query(in.imm)));
      // float
      case Op::fadd:
        return set(in, of_f(f_add(f(in, 0), f(in, 1))));
      case Op::fsub:
        return set(in, of_f(f_sub(f(in, 0), f(in, 1))));
      case Op::fmul:
        return set(in, of_f(f_mul(f(in, 0), f(in, 1))));
      case Op::fdiv:
        return set(in, of_f(f_div(f(in, 0), f(in, 1))));
      case Op::fneg:
        return set(in, of_f(f_neg(f(in, 0))));
      case Op::fabs:
        return set(in, of_f(f_abs(f(in, 0))));
      case Op::fsign:
        return set(in, of_f(f_sign(f(in, 0))));
      case Op::fmin:
        return set(in, of_f(f_min(f(in, 0), f(in, 1))));
      case Op::fmax:
        return set(in, of_f(f_max(f(in, 0), f(in, 1))));
      case Op::ffloor:
        return set(in, of_f(f_floor(f(in, 0))));
      case Op::fceil:
        return set(in, of_f(f_mono(f(in, 0), [](float x) { return sm::fceil(x); })));
      case Op::fround:
        return set(in, of_f(f_mono(f(in, 0), [](float x) { return sm::fround(x); })));
      case Op::ftrunc:
        return set(in, of_f(f_mono(f(in, 0), [](float x) { return sm::ftrunc(x); })));
      case Op::ffract:
        return set(in, of_f(f_fract(f(in, 0))));
      case Op::fmod:
        return set(in, of_f(f_mod(f(in, 0), f(in, 1))));
      case Op::fsqrt:
        return set(in, of_f(f_sqrt(f(in, 0))));
      case Op::finvsqrt:
        return set(in, of_f(f_div(f_point(1.0f), f_sqrt(f(in, 0)))));
      case Op::fpow:
        return set(in, of_f(f_pow(f(in, 0), f(in, 1))));
      case Op::fexp:
        return set(in, of_f(f_exp(f(in, 0), sm::fexp)));
      case Op::fexp2:
        return set(in, of_f(f_exp(f(in, 0), sm::fexp2)));
      case Op::flog:
        return set(in, of_f(f_log(f(in, 0), sm::flog)));
      case Op::flog2:
        return set(in, of_f(f_log(f(in, 0), sm::flog2)));
      case Op::fsin:
        return set(in, of_f(f_trig(f(in, 0), false)));
      case Op::fcos:
        return set(in, of_f(f_trig(f(in, 0), true)));
      case Op::ftan:
        return set(in, of_f(f_tan(f(in, 0))));
      case Op::fasin:
        return set(in, of_f(f_asin_acos(f(in, 0), false)));
      case Op::facos:
        return set(in, of_f(f_asin_acos(f(in, 0), true)));
      case Op::fatan:
        return set(in, of_f(f_atan(f(in, 0))));
      case Op::fatan2:
        return set(in, of_f(f_atan2(f(in, 0), f(in, 1))));
      case Op::fstep: {  // x < edge ? 0 : 1
        const B lt = flt(f(in, 1), f(in, 0));
        return set(in, of_f(hull(lt.t ? f_point(0.0f) : F{}, lt.f ? f_point(1.0f) : F{})));
      }
      case Op::fsmoothstep:
        return set(in, of_f(f_smoothstep(f(in, 0), f(in, 1), f(in, 2))));
      // int
      case Op::iadd: {
        const I &x = i(in, 0), &y = i(in, 1);
        return set(in, of_i(x.empty() || y.empty() ? i_empty() : i_wrap(x.lo + y.lo, x.hi + y.hi)));
      }
      case Op::isub: {
        const I &x = i(in, 0), &y = i(in, 1);
        return set(in, of_i(x.empty() || y.empty() ? i_empty() : i_wrap(x.lo - y.hi, x.hi - y.lo)));
      }
      case Op::imul:
        return set(in, of_i(i_mul(i(in, 0), i(in, 1))));
      case Op::idiv:
        return set(in, of_i(i_divmod(i(in, 0), i(in, 1), false)));
      case Op::imod:
        return set(in, of_i(i_divmod(i(in, 0), i(in, 1), true)));
      case Op::ineg:
        return set(in, of_i(i_neg(i(in, 0))));
      case Op::iabs:
        return set(in, of_i(i_abs(i(in, 0))));
      case Op::isign: {
        const I& x = i(in, 0);
        return set(in, of_i(x.empty() ? x : I{sign64(x.lo), sign64(x.hi)}));
      }
      case Op::imin: {
        const I &x = i(in, 0), &y = i(in, 1);
        return set(in, of_i(x.empty() || y.empty() ? i_empty() : I{std::min(x.lo, y.lo), std::min(x.hi, y.hi)}));
      }
      case Op::imax: {
        const I &x = i(in, 0), &y = i(in, 1);
        return set(in, of_i(x.empty() || y.empty() ? i_empty() : I{std::max(x.lo, y.lo), std::max(x.hi, y.hi)}));
      }
      // comparisons
      case Op::flt:
        return set(in, of_b(flt(f(in, 0), f(in, 1))));
      case Op::fle:
        return set(in, of_b(fle(f(in, 0), f(in, 1))));
      case Op::feq:
        return set(in, of_b(feq(f(in, 0), f(in, 1))));
      case Op::fne: {
        const B e = feq(f(in, 0), f(in, 1));
        return set(in, of_b(B{e.t, e.f}));
      }
      case Op::ilt:
        return set(in, of_b(ilt(i(in, 0), i(in, 1), false)));
      case Op::ile:
        return set(in, of_b(ilt(i(in, 0), i(in, 1), true)));
      case Op::ieq:
        return set(in, of_b(ieq(i(in, 0), i(in, 1))));
      case Op::ine: {
        const B e = ieq(i(in, 0), i(in, 1));
        return set(in, of_b(B{e.t, e.f}));
      }
      case Op::beq:
      case Op::bne: {
        const B &x = b(in, 0), &y = b(in, 1);
        const B e{(x.t && y.f) || (x.f && y.t), (x.t && y.t) || (x.f && y.f)};
        return set(in, of_b(in.op == Op::beq ? e : B{e.t, e.f}));
      }
      case Op::band:
        return set(in, of_b(B{b(in, 0).f || b(in, 1).f, b(in, 0).t && b(in, 1).t}));
      case Op::bor:
        return set(in, of_b(B{b(in, 0).f && b(in, 1).f, b(in, 0).t || b(in, 1).t}));
      case Op::bnot:
        return set(in, of_b(B{b(in, 0).t, b(in, 0).f}));
      case Op::select: {
        const B c = b(in, 0);
        const Value &x = values_[in.args[1]], &y = values_[in.args[2]];
        if (c.t && !c.f) return set(in, x);
        if (c.f && !c.t) return set(in, y);
        return set(in, join(x, y, type(in.results[0])));
      }
      // conversions
      case Op::itof: {
        const I& x = i(in, 0);
        return set(in, of_f(x.empty() ? F{}
                                      : range(sm::itof(static_cast<std::int32_t>(x.lo)),
                                              sm::itof(static_cast<std::int32_t>(x.hi)))));
      }
      case Op::ftoi: {
        const F& x = f(in, 0);
        I r = x.empty() ? i_empty() : I{sm::ftoi(x.lo), sm::ftoi(x.hi)};
        if (x.nan) r = i_hull(r, i_point(0));
        return set(in, of_i(r));
      }
      case Op::btoi: {
        const B& x = b(in, 0);
        return set(in, of_i(i_hull(x.f ? i_point(0) : i_empty(), x.t ? i_point(1) : i_empty())));
      }
      case Op::btof: {
        const B& x = b(in, 0);
        return set(in, of_f(hull(x.f ? f_point(0.0f) : F{}, x.t ? f_point(1.0f) : F{})));
      }
      case Op::ftob: {
        const F& x = f(in, 0);
        return set(in, of_b(B{x.has0(), x.nan || (!x.empty() && !(x.lo == 0.0f && x.hi == 0.0f))}));
      }
      case Op::itob: {
        const I& x = i(in, 0);
        return set(in, of_b(B{x.has(0), !x.empty() && !(x.lo == 0 && x.hi == 0)}));
      }
      // heavy builtins
      case Op::noise2:
      case Op::noise3: {
        // Bounded cell by cell over a finite box (noise::perlin_range); the whole range otherwise.
        const int dims = in.op == Op::noise2 ? 2 : 3;
        float lo[3], hi[3], r_lo = -1.0f, r_hi = 1.0f;
        bool box = true;
        for (int a = 0; a < dims; ++a) {
          const F& x = f(in, static_cast<std::size_t>(a));
          box = box && x.finite();
          lo[a] = x.lo;
          hi[a] = x.hi;
        }
        if (box) noise::perlin_range(dims, lo, hi, r_lo, r_hi);
        return set(in, of_f(range(r_lo, r_hi)));
      }
      case Op::fbm2:
        return fbm(in, 2);
      case Op::fbm3:
        return fbm(in, 3);
      case Op::cellular2:
        return cellular(in, 2);
      case Op::cellular3:
        return cellular(in, 3);
      case Op::tex_sample:
      case Op::tex_lod:
        return texture(in);
      // control flow
      case Op::if_:
        return if_(in, depth);
      case Op::loop:
        return loop(in, depth);
    }
    for (ValueId r : in.results) values_[r] = top_of(type(r));
  }

  static B flt(const F& a, const F& b) {
    const bool both = !a.empty() && !b.empty();
    return B{a.nan || b.nan || (both && a.hi >= b.lo), both && a.lo < b.hi};
  }
  static B fle(const F& a, const F& b) {
    const bool both = !a.empty() && !b.empty();
    return B{a.nan || b.nan || (both && a.hi > b.lo), both && a.lo <= b.hi};
  }
  static B feq(const F& a, const F& b) {
    const bool both = !a.empty() && !b.empty();
    const bool overlap = both && a.lo <= b.hi && b.lo <= a.hi;
    const bool single = both && a.lo == a.hi && b.lo == b.hi && a.lo == b.lo;
    return B{a.nan || b.nan || (both && !single), overlap};
  }
  static B ilt(const I& a, const I& b, bool or_equal) {
    if (a.empty() || b.empty()) return B{};
    if (or_equal) return B{a.hi > b.lo, a.lo <= b.hi};
    return B{a.hi >= b.lo, a.lo < b.hi};
  }
  static B ieq(const I& a, const I& b) {
    if (a.empty() || b.empty()) return B{};
    const bool overlap = a.lo <= b.hi && b.lo <= a.hi;
    const bool single = a.lo == a.hi && b.lo == b.hi && a.lo == b.lo;
    return B{!single, overlap};
  }

  const Kernel& kernel_;
  const ir::Function& fn_;
  const Host& host_;
  const std::vector<Interval>& inputs_;
  ExecOptions options_;
  std::vector<Value> values_;
  bool queried_ = false;
  std::vector<Interval> query_ranges_;
};

}  // namespace

std::vector<Interval> evaluate_intervals(const Kernel& kernel, const Host& host, const std::vector<Interval>& inputs,
                                         ExecOptions options) {
  return Evaluator(kernel, host, inputs, options).run();
}

}  // namespace fabforge::openfl
