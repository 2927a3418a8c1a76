#pragma once
/// The OpenFL builtin functions and constants (docs/openfl.md, "Builtins"): names and overloads.
/// Their arithmetic lives in scalar_math.hpp (one scalar function per operation, shared by every
/// interpreter and by constant folding) and composite.hpp (multi-component builtins written once).

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "fabforge/openfl/types.hpp"

namespace fabforge::openfl {

enum class BuiltinFn : std::uint8_t {
  // math
  abs, sign, min, max, clamp, mix, step, smoothstep,
  floor, ceil, round, trunc, fract, mod,
  sqrt, inversesqrt, pow, exp, exp2, log, log2,
  sin, cos, tan, asin, acos, atan, atan2, radians, degrees,
  length, distance, dot, cross, normalize, reflect, luminance,
  transpose, determinant, inverse, rotate_x, rotate_y, rotate_z,
  // noise
  noise, fbm, turbulence, cellular,
  // textures
  sample, sample_lod,
  // surface queries (volume phase)
  surface_distance, surface_signed_distance, surface_point, surface_normal,
  // mixtures
  mixture, empty, weight,
  count_  ///< number of builtins
};

/// One overload: parameter types and result type. Component-wise (genF) builtins list one
/// overload per type (float, vec2, vec3, vec4) and, where the docs allow a float argument to be
/// broadcast, those combinations too.
struct BuiltinSignature {
  std::vector<Type> params;
  Type result = Type::error;
};

std::string_view builtin_name(BuiltinFn fn);
std::optional<BuiltinFn> find_builtin(std::string_view name);
/// The overloads of `fn`. `mixture` is variadic (material, float pairs) and has none: the checker
/// handles it.
const std::vector<BuiltinSignature>& builtin_overloads(BuiltinFn fn);
/// Surface queries may only be called in the volume phase (directly or through functions it calls).
bool is_surface_query(BuiltinFn fn);

/// Builtin constants PI, TAU, E, INFINITY.
std::optional<Value> builtin_constant(std::string_view name);

/// Every builtin and constant name, for "did you mean" suggestions.
std::vector<std::string_view> builtin_names();

}  // namespace fabforge::openfl
