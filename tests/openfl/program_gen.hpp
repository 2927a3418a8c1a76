#pragma once
/// Random OpenFL programs and a test host, for the differential tests (batched interpreter vs the
/// reference interpreter, interval containment).
///
/// generate_program() writes a random, well-typed fablet from a seed (the same seed always gives
/// the same text). Coverage of docs/openfl.md:
///   - file level: `const` declarations (scalars, vectors, folded builtin calls), several user
///     functions (bool/int/float/vec2-4/mat3/mixture/void results, 0-3 parameters, calls only to
///     functions declared earlier, so no recursion; an arity overload now and then), declared at
///     file scope and inside the fablet;
///   - fablet: 1-3 material uniforms, bool/int/float/vec2-4/mat3 uniforms with constant defaults,
///     0-2 texture uniforms, outs of float/vec2-4 type;
///   - surface phase with a random parameter list bound by name (P, N, uv, extra attributes, any
///     order), assigning outs (whole, swizzle and index writes), sampling textures (sample with
///     quad derivatives, sample_lod), returning a displaced position;
///   - volume phase reading outs and calling surface queries (directly and through functions only
///     the volume phase reaches), returning mixtures;
///   - statements: declarations (initialised and zero), const locals, assignment and every
///     compound operator, swizzle writes, constant and dynamic index writes (matrix columns and
///     elements), if/else (conditions that vary per lane), for and while loops with small trip
///     counts that depend on the inputs, break/continue, early returns inside ifs and loops,
///     void calls as statements, nested blocks with shadowing;
///   - expressions: all unary/binary operators on every type they accept (int wraps and x/0,
///     mixed int/float arithmetic, vector-scalar broadcast, matrix products, mixture algebra),
///     comparisons and logic, ternaries (also on materials and mixtures), constructors of every
///     shape, conversions int/float/bool, swizzles, constant and dynamic indexing, every math
///     builtin (NaN/inf results allowed), matrices (transpose/determinant/inverse/rotations),
///     noise/fbm/turbulence/cellular (constant and dynamic octaves), textures, builtin constants.
/// Loops are bounded by construction: their counters are never assigned by random statements and
/// their bounds are taken modulo small numbers, so no loop reaches the iteration cap.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "fabforge/openfl/host.hpp"
#include "fabforge/openfl/texture.hpp"

namespace fabforge::openfl::testgen {

struct GenOptions {
  bool surface = true;     ///< emit a surface phase
  bool volume = true;      ///< emit a volume phase
  bool queries = true;     ///< the volume phase may read outs and query the surface
  bool textures = true;    ///< texture uniforms and sampling
  bool loops = true;       ///< for / while loops
  int max_expr_depth = 3;  ///< expression nesting
  int max_stmt_depth = 3;  ///< block nesting
  int max_functions = 4;   ///< user functions (0..max)
};

/// A random well-typed fablet (OpenFL source text) for `seed`.
std::string generate_program(std::uint64_t seed, const GenOptions& options = {});

/// Small procedural textures (various sizes, channel counts and wrap modes), enough for any
/// generated program (slot k gets texture k % size).
std::vector<Texture> make_test_textures(int count);

/// A host whose surface is the sphere |p| = radius centred at the origin: signed distance
/// |p| - r, nearest point p * r / |p| ((0, 0, r) at the centre), outward unit normal. Out columns
/// come from `outs` when given (called with the nearest points and normals), else from fixed
/// functions of the voxel point bounded by +-(j + 1) for out column j. Textures are bound by slot.
class SphereHost : public TextureHost {
 public:
  /// outs(n, point xyz, normal xyz, out columns, out column count)
  using OutsFn = std::function<void(std::size_t, const float* const*, const float* const*, float* const*, int)>;
  SphereHost(std::vector<Texture> textures, float radius, OutsFn outs = {});
  void surface_query(std::size_t n, const float* const xyz[3], float* const* columns,
                     int column_count) const override;
  void query_range(const Interval xyz[3], Interval* columns, int column_count) const override;

  /// The analytic out column j at point (x, y, z) (used when no OutsFn is given).
  static float analytic_out(int j, float x, float y, float z);

 private:
  float radius_;
  OutsFn outs_;
};

}  // namespace fabforge::openfl::testgen
