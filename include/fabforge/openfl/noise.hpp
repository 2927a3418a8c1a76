#pragma once
/// Procedural noise for OpenFL (docs/openfl.md, "Noise"): deterministic (a fixed permutation
/// table), pure, thread-safe. The scalar functions are the definition; the batch functions give
/// bit-identical results over arrays (the batched interpreter's noise calls).

#include <cstddef>
#include <cstdint>

namespace fabforge::openfl::noise {

/// Perlin gradient noise (improved noise, quintic fade), in [-1, 1], 0 at integer points.
float perlin2(float x, float y);
float perlin3(float x, float y, float z);
/// sum_{i<octaves} gain^i * perlin(p * lacunarity^i); octaves clamped to 1..16. turbulence
/// sums |perlin| instead.
float fbm2(float x, float y, std::int32_t octaves, float lacunarity, float gain, bool turbulence);
float fbm3(float x, float y, float z, std::int32_t octaves, float lacunarity, float gain, bool turbulence);
/// Worley noise: distances to the nearest (f1) and second-nearest (f2) feature point, one
/// feature point per unit cell.
void cellular2(float x, float y, float& f1, float& f2);
void cellular3(float x, float y, float z, float& f1, float& f2);

/// Upper bound of |fbm| for given octaves/gain (sum of |gain|^i); used by the interval interpreter.
float fbm_bound(std::int32_t octaves, float gain);

/// Bounds of perlin2 (dims 2) or perlin3 (dims 3) over the box lo[a] <= x_a <= hi[a]: every value
/// the point functions return inside the box lies in [out_lo, out_hi]. The box may meet at most
/// two lattice cells along each axis; per cell the noise polynomial is bounded with each corner's
/// own gradient (exact linear ranges, monotone fades, interpolations bounded as functions of
/// independent arguments), then widened for float rounding. Returns false, leaving the outputs
/// alone, for a box wider than that, empty, or not inside +-2^23 (the caller keeps [-1, 1]).
/// Used by the interval interpreter: a small box gets a range about as narrow as the noise's
/// variation over it.
bool perlin_range(int dims, const float* lo, const float* hi, float& out_lo, float& out_hi);

// Batch forms over n lanes (same results as the scalar functions, lane by lane).
void perlin2(std::size_t n, const float* x, const float* y, float* out);
void perlin3(std::size_t n, const float* x, const float* y, const float* z, float* out);
void fbm2(std::size_t n, const float* x, const float* y, const std::int32_t* octaves, const float* lacunarity,
          const float* gain, bool turbulence, float* out);
void fbm3(std::size_t n, const float* x, const float* y, const float* z, const std::int32_t* octaves,
          const float* lacunarity, const float* gain, bool turbulence, float* out);
void cellular2(std::size_t n, const float* x, const float* y, float* f1, float* f2);
void cellular3(std::size_t n, const float* x, const float* y, const float* z, float* f1, float* f2);

}  // namespace fabforge::openfl::noise
