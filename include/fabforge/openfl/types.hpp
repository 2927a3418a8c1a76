#pragma once
/// OpenFL value types and compile-time constant values.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace fabforge::openfl {

/// The types of the language (docs/openfl.md, "Types"). `error` marks an expression whose type
/// could not be determined (diagnosed once, then silently accepted everywhere to avoid cascades).
enum class Type : std::uint8_t {
  error,
  void_,
  bool_,
  int_,
  float_,
  vec2,
  vec3,
  vec4,
  mat3,
  mat4,
  material,
  mixture,
  texture,
  string_,  ///< only the default of a material or texture uniform
};

/// Spelling in source ("vec3", "float"; "<error>" for error).
std::string_view type_name(Type type);
/// Parses a type keyword; Type::error when `word` is not one (void included: "void").
Type type_from_name(std::string_view word);

/// Number of scalar components: 1 for bool/int/float/material, 2-4 for vectors, 9/16 for
/// matrices, 0 for void/mixture/texture/string/error (a mixture's width depends on the fablet).
int component_count(Type type);
inline bool is_vector(Type t) { return t == Type::vec2 || t == Type::vec3 || t == Type::vec4; }
inline bool is_matrix(Type t) { return t == Type::mat3 || t == Type::mat4; }
/// float, vec2..4, mat3, mat4: every component a float.
inline bool is_float_based(Type t) { return t == Type::float_ || is_vector(t) || is_matrix(t); }
/// vecN for n in 2..4, float for n == 1.
Type float_vector(int n);

/// A compile-time value of a bool/int/float/vector/matrix/material type (mixtures and textures
/// are never constants). Float-based types use f[0..components), int uses i, bool uses b,
/// material uses i (the material slot).
struct Value {
  Type type = Type::error;
  std::array<float, 16> f{};
  std::int32_t i = 0;
  bool b = false;

  static Value of_bool(bool v);
  static Value of_int(std::int32_t v);
  static Value of_float(float v);
  /// A float-based value with every component zero.
  static Value zero(Type type);
  bool operator==(const Value&) const = default;
};

/// Source text of a value ("1.5", "vec3(1, 2, 3)", "true"); floats round-trip exactly.
std::string format_value(const Value& value);

}  // namespace fabforge::openfl
