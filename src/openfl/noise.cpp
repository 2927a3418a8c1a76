// Procedural noise for OpenFL: Perlin gradient noise, fbm / turbulence and Worley noise.
//
// Every function is written once, over a vector of lanes (GCC vector extensions) whose width is a
// template parameter, and both the scalar and the batch entry points run that one code: the scalar
// call fills lane 0 and reads it back. So the batch results are bit-identical to the scalar ones
// by construction, and the batch form is SIMD code whatever the compiler's vectoriser decides.
// No operation here may depend on the lane it runs in or on the width.
//
// Widths: 4 lanes (one SSE register) in portable builds; 8 lanes when the build targets AVX2. A
// portable x86 build also carries an AVX2 copy of the batch entry points, chosen at run time
// when the CPU has AVX2 (GCC lowers 8-lane vectors without AVX2 lane by lane, and SSE2 has no
// 32-bit multiply, so the AVX2 copy is several times faster). AVX2 brings no fused multiply-add
// here (FMA is a separate target feature, and the library builds with -ffp-contract=off), so
// both copies round identically.
//
// Lattice hashing is arithmetic (a multiply-xorshift integer hash of the cell coordinates)
// rather than lookups in a permutation table: table lookups are gathers, which SSE2 does not
// have. The hash is a fixed function, so the noise is as deterministic as with a table.
//
// Large and non-finite coordinates: a float of magnitude >= 2^23 is an integer, so it lies on
// the lattice and Perlin noise is 0 there; NaN is treated the same way (noise 0). Cells are
// computed from coordinates clamped to +-2^23, so no integer conversion overflows.

#include "fabforge/openfl/noise.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

// The 8-lane vector types cross no ABI boundary (everything using them is internal and inlined
// into one function), so GCC's warning that returning them changes the ABI without AVX does
// not apply. (Parameters are const references for the same reason.)
#pragma GCC diagnostic ignored "-Wpsabi"

namespace fabforge::openfl::noise {
namespace {

#define FABFORGE_NOISE_INLINE inline __attribute__((always_inline))
#define FABFORGE_NOISE_LAMBDA __attribute__((always_inline))

/// Vector types of W lanes.
template <int W>
struct Lanes {
  static constexpr int kWidth = W;
  typedef float F __attribute__((vector_size(W * sizeof(float))));
  typedef std::int32_t I __attribute__((vector_size(W * sizeof(std::int32_t))));
  typedef std::uint32_t U __attribute__((vector_size(W * sizeof(std::uint32_t))));
};

#if defined(__AVX2__)
using Native = Lanes<8>;
#define FABFORGE_NOISE_DISPATCH 0
#elif defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
using Native = Lanes<4>;
using Wide = Lanes<8>;
#define FABFORGE_NOISE_DISPATCH 1
#else
using Native = Lanes<4>;
#define FABFORGE_NOISE_DISPATCH 0
#endif

constexpr float kBig = 8388608.0f;  // 2^23: every float at least this large is an integer

template <class L>
FABFORGE_NOISE_INLINE typename L::F splat(float v) {
  return typename L::F{} + v;
}
template <class L>
FABFORGE_NOISE_INLINE typename L::I to_int(const typename L::F& v) {
  return __builtin_convertvector(v, typename L::I);
}
template <class L>
FABFORGE_NOISE_INLINE typename L::F to_float(const typename L::I& v) {
  return __builtin_convertvector(v, typename L::F);
}
template <class L>
FABFORGE_NOISE_INLINE typename L::F select(const typename L::I& mask, const typename L::F& a, const typename L::F& b) {
  return mask ? a : b;
}
template <class L>
FABFORGE_NOISE_INLINE typename L::F vabs(const typename L::F& v) {
  return v < typename L::F{} ? -v : v;
}
/// -v where the bit `bit` of flags is set, v elsewhere (negation flips the sign bit only).
template <class L>
FABFORGE_NOISE_INLINE typename L::F negate_where(const typename L::F& v, const typename L::U& sign_bits) {
  return std::bit_cast<typename L::F>(std::bit_cast<typename L::U>(v) ^ sign_bits);
}

/// Lattice cell and position within it: cell = floor(x), frac = x - cell in [0, 1] (exactly 1 is
/// possible for tiny negative x, where x - (-1) rounds up). Coordinates of magnitude >= 2^23 and
/// NaN get frac = 0.
template <class L>
FABFORGE_NOISE_INLINE void split(const typename L::F& x, typename L::I& cell, typename L::F& frac) {
  using VF = typename L::F;
  VF xc = x > -kBig ? x : splat<L>(-kBig);  // NaN -> -2^23
  xc = xc < kBig ? xc : splat<L>(kBig);
  typename L::I i = to_int<L>(xc);  // truncation toward zero; xc is an integer-valued float or |xc| < 2^23
  i += to_float<L>(i) > xc;         // a true comparison is -1: floor for negative non-integers
  cell = i;
  frac = select<L>(vabs<L>(x) < kBig, x - to_float<L>(i), VF{});
}

/// Quintic fade 6t^5 - 15t^4 + 10t^3, as t * t * t * (t * (t * 6 - 15) + 10).
template <class VF>
FABFORGE_NOISE_INLINE VF fade(const VF& t) {
  return t * t * t * (t * (t * 6.0f - 15.0f) + 10.0f);
}
/// a + t * (b - a)
template <class VF>
FABFORGE_NOISE_INLINE VF lerp(const VF& t, const VF& a, const VF& b) {
  return a + t * (b - a);
}

/// Murmur3's 32-bit finaliser: a bijection with full avalanche.
template <class VU>
FABFORGE_NOISE_INLINE VU mix(const VU& hash) {
  VU h = hash;
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

constexpr std::uint32_t kHx = 0x8da6b343u, kHy = 0xd8163841u, kHz = 0xcb1ab31fu;

/// Gradient of one of 12 cube-edge directions (16 entries, 4 repeated as in Perlin 2002),
/// dotted with (x, y, z). The high hash bits choose. (h < 16, so signed comparisons are exact
/// and cheaper than unsigned ones.)
template <class L>
FABFORGE_NOISE_INLINE typename L::F grad3(const typename L::U& hash, const typename L::F& x, const typename L::F& y,
                                          const typename L::F& z) {
  const typename L::U hu = hash >> 28;
  const typename L::I h = std::bit_cast<typename L::I>(hu);
  const typename L::F u = select<L>(h < 8, x, y);
  const typename L::F v = select<L>(h < 4, y, select<L>((h == 12) | (h == 14), x, z));
  return negate_where<L>(u, (hu & 1u) << 31) + negate_where<L>(v, (hu & 2u) << 30);
}

/// Gradient of one of 8 directions (+-1, +-2), (+-2, +-1), dotted with (x, y).
template <class L>
FABFORGE_NOISE_INLINE typename L::F grad2(const typename L::U& hash, const typename L::F& x, const typename L::F& y) {
  const typename L::U hu = hash >> 29;
  const typename L::I first = std::bit_cast<typename L::I>(hu) < 4;
  const typename L::F u = select<L>(first, x, y);
  const typename L::F v = select<L>(first, y, x);
  return negate_where<L>(u, (hu & 1u) << 31) + negate_where<L>(v * 2.0f, (hu & 2u) << 30);
}

// Scale factors that bring the raw noise into [-1, 1] (measured maxima of the raw sums are about
// 1.03 in 3D and 2.1 in 2D); the result is clamped as well, so the range is exact.
constexpr float kScale3 = 0.97f;
constexpr float kScale2 = 0.48f;

/// NaN cannot occur (frac is always finite), but the clamp keeps [-1, 1] exact under rounding.
template <class L>
FABFORGE_NOISE_INLINE typename L::F clamp_unit(const typename L::F& raw) {
  const typename L::F r = raw > 1.0f ? splat<L>(1.0f) : raw;
  return r < -1.0f ? splat<L>(-1.0f) : r;
}

template <class L>
FABFORGE_NOISE_INLINE typename L::U as_u(const typename L::I& v) {
  return std::bit_cast<typename L::U>(v);
}

template <class L>
FABFORGE_NOISE_INLINE typename L::F perlin3v(const typename L::F& x, const typename L::F& y, const typename L::F& z) {
  using VF = typename L::F;
  using VU = typename L::U;
  typename L::I ix, iy, iz;
  VF fx, fy, fz;
  split<L>(x, ix, fx);
  split<L>(y, iy, fy);
  split<L>(z, iz, fz);
  const VU hx0 = as_u<L>(ix) * kHx, hx1 = hx0 + kHx;
  const VU hy0 = as_u<L>(iy) * kHy, hy1 = hy0 + kHy;
  const VU hz0 = as_u<L>(iz) * kHz, hz1 = hz0 + kHz;
  const VF gx = fx - 1.0f, gy = fy - 1.0f, gz = fz - 1.0f;
  const VF n000 = grad3<L>(mix(hx0 + hy0 + hz0), fx, fy, fz);
  const VF n100 = grad3<L>(mix(hx1 + hy0 + hz0), gx, fy, fz);
  const VF n010 = grad3<L>(mix(hx0 + hy1 + hz0), fx, gy, fz);
  const VF n110 = grad3<L>(mix(hx1 + hy1 + hz0), gx, gy, fz);
  const VF n001 = grad3<L>(mix(hx0 + hy0 + hz1), fx, fy, gz);
  const VF n101 = grad3<L>(mix(hx1 + hy0 + hz1), gx, fy, gz);
  const VF n011 = grad3<L>(mix(hx0 + hy1 + hz1), fx, gy, gz);
  const VF n111 = grad3<L>(mix(hx1 + hy1 + hz1), gx, gy, gz);
  const VF u = fade(fx), v = fade(fy), w = fade(fz);
  const VF x00 = lerp(u, n000, n100), x10 = lerp(u, n010, n110);
  const VF x01 = lerp(u, n001, n101), x11 = lerp(u, n011, n111);
  const VF y0 = lerp(v, x00, x10), y1 = lerp(v, x01, x11);
  return clamp_unit<L>(lerp(w, y0, y1) * kScale3);
}

template <class L>
FABFORGE_NOISE_INLINE typename L::F perlin2v(const typename L::F& x, const typename L::F& y) {
  using VF = typename L::F;
  using VU = typename L::U;
  typename L::I ix, iy;
  VF fx, fy;
  split<L>(x, ix, fx);
  split<L>(y, iy, fy);
  const VU hx0 = as_u<L>(ix) * kHx, hx1 = hx0 + kHx;
  const VU hy0 = as_u<L>(iy) * kHy, hy1 = hy0 + kHy;
  const VF gx = fx - 1.0f, gy = fy - 1.0f;
  const VF n00 = grad2<L>(mix(hx0 + hy0), fx, fy);
  const VF n10 = grad2<L>(mix(hx1 + hy0), gx, fy);
  const VF n01 = grad2<L>(mix(hx0 + hy1), fx, gy);
  const VF n11 = grad2<L>(mix(hx1 + hy1), gx, gy);
  const VF u = fade(fx), v = fade(fy);
  return clamp_unit<L>(lerp(v, lerp(u, n00, n10), lerp(u, n01, n11)) * kScale2);
}

/// fbm: sum = 0, amp = 1, freq = 1; for each octave i < octaves (clamped to 1..16):
///   sum = sum + amp * n(x * freq, y * freq[, z * freq])   (|n| for turbulence)
///   amp = amp * gain;  freq = freq * lacunarity
/// Lanes whose octave count is reached keep their sum. z is unused in 2D (dims = 2).
template <class L, int dims>
FABFORGE_NOISE_INLINE typename L::F fbmv(const typename L::F& x, const typename L::F& y, const typename L::F& z,
                                         const typename L::I& octave_count, const typename L::F& lacunarity,
                                         const typename L::F& gain, bool turbulence) {
  using VF = typename L::F;
  using VI = typename L::I;
  VI octaves = octave_count < 1 ? VI{} + 1 : octave_count;
  octaves = octaves > 16 ? VI{} + 16 : octaves;
  int most = 1;
  for (int k = 0; k < L::kWidth; ++k) most = std::max(most, static_cast<int>(octaves[k]));
  VF sum{}, amp = splat<L>(1.0f), freq = splat<L>(1.0f);
  for (int i = 0; i < most; ++i) {
    VF n;
    if constexpr (dims == 3) {
      n = perlin3v<L>(x * freq, y * freq, z * freq);
    } else {
      n = perlin2v<L>(x * freq, y * freq);
    }
    if (turbulence) n = vabs<L>(n);
    sum = select<L>(octaves > i, sum + amp * n, sum);
    amp = amp * gain;
    freq = freq * lacunarity;
  }
  return sum;
}

/// Worley noise over the 3^dims cells around the point; the feature point of cell c is
/// c + (a + 0.5) / 65536 per axis, a a 16-bit field of the cell's hash.
template <class L>
FABFORGE_NOISE_INLINE typename L::F feature_offset(const typename L::U& bits) {
  return (to_float<L>(std::bit_cast<typename L::I>(bits)) + 0.5f) * (1.0f / 65536.0f);
}

template <class L>
FABFORGE_NOISE_INLINE void keep_two_nearest(const typename L::F& d2, typename L::F& best1, typename L::F& best2) {
  const typename L::I closer = d2 < best1;
  best2 = select<L>(closer, best1, select<L>(d2 < best2, d2, best2));
  best1 = select<L>(closer, d2, best1);
}

template <class L>
FABFORGE_NOISE_INLINE void cellular3v(const typename L::F& x, const typename L::F& y, const typename L::F& z,
                                      typename L::F& f1, typename L::F& f2) {
  using VF = typename L::F;
  using VU = typename L::U;
  typename L::I ix, iy, iz;
  VF fx, fy, fz;
  split<L>(x, ix, fx);
  split<L>(y, iy, fy);
  split<L>(z, iz, fz);
  VF best1 = splat<L>(INFINITY), best2 = splat<L>(INFINITY);
  for (int dz = -1; dz <= 1; ++dz)
    for (int dy = -1; dy <= 1; ++dy)
      for (int dx = -1; dx <= 1; ++dx) {
        const VU hx = as_u<L>(ix) * kHx + static_cast<std::uint32_t>(dx) * kHx;
        const VU hy = as_u<L>(iy) * kHy + static_cast<std::uint32_t>(dy) * kHy;
        const VU hz = as_u<L>(iz) * kHz + static_cast<std::uint32_t>(dz) * kHz;
        const VU h = mix(hx + hy + hz);
        const VU h2 = mix(h + 0x9e3779b9u);
        const VF px = feature_offset<L>(h & 0xffffu) + static_cast<float>(dx) - fx;
        const VF py = feature_offset<L>(h >> 16) + static_cast<float>(dy) - fy;
        const VF pz = feature_offset<L>(h2 & 0xffffu) + static_cast<float>(dz) - fz;
        keep_two_nearest<L>(px * px + py * py + pz * pz, best1, best2);
      }
  for (int k = 0; k < L::kWidth; ++k) {
    f1[k] = std::sqrt(best1[k]);
    f2[k] = std::sqrt(best2[k]);
  }
}

template <class L>
FABFORGE_NOISE_INLINE void cellular2v(const typename L::F& x, const typename L::F& y, typename L::F& f1,
                                      typename L::F& f2) {
  using VF = typename L::F;
  using VU = typename L::U;
  typename L::I ix, iy;
  VF fx, fy;
  split<L>(x, ix, fx);
  split<L>(y, iy, fy);
  VF best1 = splat<L>(INFINITY), best2 = splat<L>(INFINITY);
  for (int dy = -1; dy <= 1; ++dy)
    for (int dx = -1; dx <= 1; ++dx) {
      const VU hx = as_u<L>(ix) * kHx + static_cast<std::uint32_t>(dx) * kHx;
      const VU hy = as_u<L>(iy) * kHy + static_cast<std::uint32_t>(dy) * kHy;
      const VU h = mix(hx + hy);
      const VF px = feature_offset<L>(h & 0xffffu) + static_cast<float>(dx) - fx;
      const VF py = feature_offset<L>(h >> 16) + static_cast<float>(dy) - fy;
      keep_two_nearest<L>(px * px + py * py, best1, best2);
    }
  for (int k = 0; k < L::kWidth; ++k) {
    f1[k] = std::sqrt(best1[k]);
    f2[k] = std::sqrt(best2[k]);
  }
}

// ---- lanes <-> arrays ----

template <class V, class T>
FABFORGE_NOISE_INLINE V load(const T* p, std::size_t count) {
  V v{};
  std::memcpy(&v, p, count * sizeof(T));
  return v;
}
template <class V, class T>
FABFORGE_NOISE_INLINE void store(const V& v, T* p, std::size_t count) {
  std::memcpy(p, &v, count * sizeof(T));
}
template <class V, class T>
FABFORGE_NOISE_INLINE V lane0(T v) {
  V r{};
  r[0] = v;
  return r;
}

/// Runs body(offset, count) over [0, n) in chunks of the lane width; full chunks get a constant
/// count, so their loads and stores are single vector moves.
template <class L, class Body>
FABFORGE_NOISE_INLINE void chunks(std::size_t n, Body&& body) {
  constexpr std::size_t w = L::kWidth;
  std::size_t i = 0;
  for (; i + w <= n; i += w) body(i, w);
  if (i < n) body(i, n - i);
}

// ---- batch bodies, one instance per lane width ----

template <class L>
FABFORGE_NOISE_INLINE void perlin2_batch(std::size_t n, const float* x, const float* y, float* out) {
  using VF = typename L::F;
  chunks<L>(n, [&](std::size_t i, std::size_t c)
                   FABFORGE_NOISE_LAMBDA { store(perlin2v<L>(load<VF>(x + i, c), load<VF>(y + i, c)), out + i, c); });
}

template <class L>
FABFORGE_NOISE_INLINE void perlin3_batch(std::size_t n, const float* x, const float* y, const float* z, float* out) {
  using VF = typename L::F;
  chunks<L>(n, [&](std::size_t i, std::size_t c) FABFORGE_NOISE_LAMBDA {
    store(perlin3v<L>(load<VF>(x + i, c), load<VF>(y + i, c), load<VF>(z + i, c)), out + i, c);
  });
}

template <class L, int dims>
FABFORGE_NOISE_INLINE void fbm_batch(std::size_t n, const float* x, const float* y, const float* z,
                                     const std::int32_t* octaves, const float* lacunarity, const float* gain,
                                     bool turbulence, float* out) {
  using VF = typename L::F;
  using VI = typename L::I;
  chunks<L>(n, [&](std::size_t i, std::size_t c) FABFORGE_NOISE_LAMBDA {
    const VF vz = dims == 3 ? load<VF>(z + i, c) : VF{};
    store(fbmv<L, dims>(load<VF>(x + i, c), load<VF>(y + i, c), vz, load<VI>(octaves + i, c),
                        load<VF>(lacunarity + i, c), load<VF>(gain + i, c), turbulence),
          out + i, c);
  });
}

template <class L>
FABFORGE_NOISE_INLINE void cellular2_batch(std::size_t n, const float* x, const float* y, float* f1, float* f2) {
  using VF = typename L::F;
  chunks<L>(n, [&](std::size_t i, std::size_t c) FABFORGE_NOISE_LAMBDA {
    VF a, b;
    cellular2v<L>(load<VF>(x + i, c), load<VF>(y + i, c), a, b);
    store(a, f1 + i, c);
    store(b, f2 + i, c);
  });
}

template <class L>
FABFORGE_NOISE_INLINE void cellular3_batch(std::size_t n, const float* x, const float* y, const float* z, float* f1,
                                           float* f2) {
  using VF = typename L::F;
  chunks<L>(n, [&](std::size_t i, std::size_t c) FABFORGE_NOISE_LAMBDA {
    VF a, b;
    cellular3v<L>(load<VF>(x + i, c), load<VF>(y + i, c), load<VF>(z + i, c), a, b);
    store(a, f1 + i, c);
    store(b, f2 + i, c);
  });
}

#if FABFORGE_NOISE_DISPATCH
// The AVX2 copies: everything above is always_inline, so it compiles into these with AVX2.
#define FABFORGE_NOISE_AVX2 __attribute__((target("avx2"), noinline))
FABFORGE_NOISE_AVX2 void perlin2_avx2(std::size_t n, const float* x, const float* y, float* out) {
  perlin2_batch<Wide>(n, x, y, out);
}
FABFORGE_NOISE_AVX2 void perlin3_avx2(std::size_t n, const float* x, const float* y, const float* z, float* out) {
  perlin3_batch<Wide>(n, x, y, z, out);
}
FABFORGE_NOISE_AVX2 void fbm2_avx2(std::size_t n, const float* x, const float* y, const std::int32_t* octaves,
                                   const float* lacunarity, const float* gain, bool turbulence, float* out) {
  fbm_batch<Wide, 2>(n, x, y, nullptr, octaves, lacunarity, gain, turbulence, out);
}
FABFORGE_NOISE_AVX2 void fbm3_avx2(std::size_t n, const float* x, const float* y, const float* z,
                                   const std::int32_t* octaves, const float* lacunarity, const float* gain,
                                   bool turbulence, float* out) {
  fbm_batch<Wide, 3>(n, x, y, z, octaves, lacunarity, gain, turbulence, out);
}
FABFORGE_NOISE_AVX2 void cellular2_avx2(std::size_t n, const float* x, const float* y, float* f1, float* f2) {
  cellular2_batch<Wide>(n, x, y, f1, f2);
}
FABFORGE_NOISE_AVX2 void cellular3_avx2(std::size_t n, const float* x, const float* y, const float* z, float* f1,
                                        float* f2) {
  cellular3_batch<Wide>(n, x, y, z, f1, f2);
}
#undef FABFORGE_NOISE_AVX2

/// Whether the AVX2 copies may run (asked once per batch call; the answer is cached by libgcc).
bool use_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") != 0;
}
#endif

}  // namespace

using VF = Native::F;
using VI = Native::I;

float perlin2(float x, float y) { return perlin2v<Native>(lane0<VF>(x), lane0<VF>(y))[0]; }
float perlin3(float x, float y, float z) { return perlin3v<Native>(lane0<VF>(x), lane0<VF>(y), lane0<VF>(z))[0]; }

float fbm2(float x, float y, std::int32_t octaves, float lacunarity, float gain, bool turbulence) {
  return fbmv<Native, 2>(lane0<VF>(x), lane0<VF>(y), VF{}, lane0<VI>(octaves), lane0<VF>(lacunarity), lane0<VF>(gain),
                         turbulence)[0];
}

float fbm3(float x, float y, float z, std::int32_t octaves, float lacunarity, float gain, bool turbulence) {
  return fbmv<Native, 3>(lane0<VF>(x), lane0<VF>(y), lane0<VF>(z), lane0<VI>(octaves), lane0<VF>(lacunarity),
                         lane0<VF>(gain), turbulence)[0];
}

void cellular2(float x, float y, float& f1, float& f2) {
  VF a, b;
  cellular2v<Native>(lane0<VF>(x), lane0<VF>(y), a, b);
  f1 = a[0];
  f2 = b[0];
}

void cellular3(float x, float y, float z, float& f1, float& f2) {
  VF a, b;
  cellular3v<Native>(lane0<VF>(x), lane0<VF>(y), lane0<VF>(z), a, b);
  f1 = a[0];
  f2 = b[0];
}

float fbm_bound(std::int32_t octaves, float gain) {
  // The same accumulation as fbm with every |noise| = 1: rounding is monotonic, so this bounds
  // the float sums fbm computes.
  octaves = std::clamp(octaves, 1, 16);
  const float g = std::fabs(gain);
  float sum = 0.0f, amp = 1.0f;
  for (int i = 0; i < octaves; ++i) {
    sum = sum + amp;
    amp = amp * g;
  }
  return std::isnan(sum) ? INFINITY : sum;
}

bool perlin_range(int dims, const float* lo, const float* hi, float& out_lo, float& out_hi) {
  if (dims != 2 && dims != 3) return false;
  double cell[3][2];  // per axis: the first and last lattice cell the box meets
  int cells[3] = {1, 1, 1};  // how many cells the box meets per axis (1 or 2)
  for (int a = 0; a < dims; ++a) {
    if (!(lo[a] <= hi[a]) || !(std::fabs(lo[a]) < kBig) || !(std::fabs(hi[a]) < kBig)) return false;
    cell[a][0] = std::floor(static_cast<double>(lo[a]));
    cell[a][1] = std::floor(static_cast<double>(hi[a]));
    if (cell[a][1] - cell[a][0] > 1) return false;
    cells[a] = 1 + static_cast<int>(cell[a][1] - cell[a][0]);
  }
  using L4 = Lanes<4>;
  const std::uint32_t mult[3] = {kHx, kHy, kHz};
  // A corner's gradient, read off the point code's own gradient function with unit offsets.
  auto gradient = [&](std::uint32_t hash, double* g) {
    const L4::U h = {hash, hash, hash, hash};
    const L4::F one = splat<L4>(1.0f), zero = splat<L4>(0.0f);
    if (dims == 2) {
      g[0] = grad2<L4>(h, one, zero)[0];
      g[1] = grad2<L4>(h, zero, one)[0];
    } else {
      g[0] = grad3<L4>(h, one, zero, zero)[0];
      g[1] = grad3<L4>(h, zero, one, zero)[0];
      g[2] = grad3<L4>(h, zero, zero, one)[0];
    }
  };
  // lerp(t, a, b) = a + t (b - a) over t in [t0, t1] (within [0, 1]) and independent a, b: for
  // a fixed t it grows with a and b, and it is linear in t, so the ends of t bound it.
  auto lerp_range = [](double t0, double t1, const double* a, const double* b, double* r) {
    r[0] = std::min(a[0] + t0 * (b[0] - a[0]), a[0] + t1 * (b[0] - a[0]));
    r[1] = std::max(a[1] + t0 * (b[1] - a[1]), a[1] + t1 * (b[1] - a[1]));
  };
  double total[2] = {std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
  for (int cz = 0; cz < cells[2]; ++cz) {
    for (int cy = 0; cy < cells[1]; ++cy) {
      for (int cx = 0; cx < cells[0]; ++cx) {
        const int pick[3] = {cx, cy, cz};
        double c[3] = {0, 0, 0}, f0[3] = {0, 0, 0}, f1[3] = {0, 0, 0}, u0[3] = {0, 0, 0}, u1[3] = {0, 0, 0};
        for (int a = 0; a < dims; ++a) {
          c[a] = cell[a][pick[a]];
          f0[a] = std::clamp(static_cast<double>(lo[a]) - c[a], 0.0, 1.0);
          f1[a] = std::clamp(static_cast<double>(hi[a]) - c[a], 0.0, 1.0);
          u0[a] = fade(f0[a]);  // the point code's fade, in double
          u1[a] = fade(f1[a]);
        }
        // Corner k (bit a of k: the far corner along axis a): its gradient's dot with the offset
        // f - corner, a sum of independent linear terms.
        double value[8][2];
        const int corners = 1 << dims;
        for (int k = 0; k < corners; ++k) {
          std::uint32_t hash = 0;
          for (int a = 0; a < dims; ++a) {
            const auto ic = static_cast<std::int32_t>(c[a]) + ((k >> a) & 1);
            hash += static_cast<std::uint32_t>(ic) * mult[a];
          }
          double g[3] = {0, 0, 0};
          gradient(mix(hash), g);
          value[k][0] = value[k][1] = 0;
          for (int a = 0; a < dims; ++a) {
            const double shift = (k >> a) & 1;
            const double e0 = g[a] * (f0[a] - shift), e1 = g[a] * (f1[a] - shift);
            value[k][0] += std::min(e0, e1);
            value[k][1] += std::max(e0, e1);
          }
        }
        // Interpolate along x, then y, then z, as the point code does.
        for (int a = 0, n = corners; a < dims; ++a, n /= 2) {
          for (int k = 0; k < n / 2; ++k) lerp_range(u0[a], u1[a], value[2 * k], value[2 * k + 1], value[k]);
        }
        total[0] = std::min(total[0], value[0][0]);
        total[1] = std::max(total[1], value[0][1]);
      }
    }
  }
  // The point code sums at most about twenty float operations on values below 3 (the raw sums stay
  // within about 2.1): its rounding stays far below this allowance.
  constexpr double kRounding = 1e-4;
  const double scale = dims == 2 ? kScale2 : kScale3;
  const double r_lo = std::clamp((total[0] - kRounding) * scale - kRounding, -1.0, 1.0);
  const double r_hi = std::clamp((total[1] + kRounding) * scale + kRounding, -1.0, 1.0);
  out_lo = std::max(-1.0f, std::nextafter(static_cast<float>(r_lo), -2.0f));
  out_hi = std::min(1.0f, std::nextafter(static_cast<float>(r_hi), 2.0f));
  return true;
}

#if FABFORGE_NOISE_DISPATCH
#define FABFORGE_NOISE_WIDE(call) \
  if (use_avx2()) return call
#else
#define FABFORGE_NOISE_WIDE(call)
#endif

void perlin2(std::size_t n, const float* x, const float* y, float* out) {
  FABFORGE_NOISE_WIDE(perlin2_avx2(n, x, y, out));
  perlin2_batch<Native>(n, x, y, out);
}

void perlin3(std::size_t n, const float* x, const float* y, const float* z, float* out) {
  FABFORGE_NOISE_WIDE(perlin3_avx2(n, x, y, z, out));
  perlin3_batch<Native>(n, x, y, z, out);
}

void fbm2(std::size_t n, const float* x, const float* y, const std::int32_t* octaves, const float* lacunarity,
          const float* gain, bool turbulence, float* out) {
  FABFORGE_NOISE_WIDE(fbm2_avx2(n, x, y, octaves, lacunarity, gain, turbulence, out));
  fbm_batch<Native, 2>(n, x, y, nullptr, octaves, lacunarity, gain, turbulence, out);
}

void fbm3(std::size_t n, const float* x, const float* y, const float* z, const std::int32_t* octaves,
          const float* lacunarity, const float* gain, bool turbulence, float* out) {
  FABFORGE_NOISE_WIDE(fbm3_avx2(n, x, y, z, octaves, lacunarity, gain, turbulence, out));
  fbm_batch<Native, 3>(n, x, y, z, octaves, lacunarity, gain, turbulence, out);
}

void cellular2(std::size_t n, const float* x, const float* y, float* f1, float* f2) {
  FABFORGE_NOISE_WIDE(cellular2_avx2(n, x, y, f1, f2));
  cellular2_batch<Native>(n, x, y, f1, f2);
}

void cellular3(std::size_t n, const float* x, const float* y, const float* z, float* f1, float* f2) {
  FABFORGE_NOISE_WIDE(cellular3_avx2(n, x, y, z, f1, f2));
  cellular3_batch<Native>(n, x, y, z, f1, f2);
}

#undef FABFORGE_NOISE_WIDE
#undef FABFORGE_NOISE_INLINE
#undef FABFORGE_NOISE_LAMBDA

}  // namespace fabforge::openfl::noise
