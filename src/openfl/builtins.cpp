// The builtin functions and constants of OpenFL: names and overload tables.

#include "fabforge/openfl/builtins.hpp"

#include <array>
#include <limits>

#include "fabforge/openfl/composite.hpp"
#include "fabforge/openfl/scalar_math.hpp"

#include "checker.hpp"

namespace fabforge::openfl {

namespace {

constexpr std::array<std::string_view, static_cast<std::size_t>(BuiltinFn::count_)> kNames = {
    "abs",
    "sign",
    "min",
    "max",
    "clamp",
    "mix",
    "step",
    "smoothstep",
    "floor",
    "ceil",
    "round",
    "trunc",
    "fract",
    "mod",
    "sqrt",
    "inversesqrt",
    "pow",
    "exp",
    "exp2",
    "log",
    "log2",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "atan2",
    "radians",
    "degrees",
    "length",
    "distance",
    "dot",
    "cross",
    "normalize",
    "reflect",
    "luminance",
    "transpose",
    "determinant",
    "inverse",
    "rotate_x",
    "rotate_y",
    "rotate_z",
    "noise",
    "fbm",
    "turbulence",
    "cellular",
    "sample",
    "sample_lod",
    "surface_distance",
    "surface_signed_distance",
    "surface_point",
    "surface_normal",
    "mixture",
    "empty",
    "weight",
};

constexpr Type kGenF[] = {Type::float_, Type::vec2, Type::vec3, Type::vec4};
constexpr Type kVectors[] = {Type::vec2, Type::vec3, Type::vec4};
constexpr Type F = Type::float_;
constexpr Type I = Type::int_;

using Table = std::array<std::vector<BuiltinSignature>, static_cast<std::size_t>(BuiltinFn::count_)>;

Table build_table() {
  Table t;
  auto add = [&](BuiltinFn fn, std::vector<Type> params, Type result) {
    t[static_cast<std::size_t>(fn)].push_back({std::move(params), result});
  };
  // f(genF) -> genF
  for (BuiltinFn fn :
       {BuiltinFn::abs,    BuiltinFn::sign,  BuiltinFn::floor, BuiltinFn::ceil,        BuiltinFn::round,
        BuiltinFn::trunc,  BuiltinFn::fract, BuiltinFn::sqrt,  BuiltinFn::inversesqrt, BuiltinFn::exp,
        BuiltinFn::exp2,   BuiltinFn::log,   BuiltinFn::log2,  BuiltinFn::sin,         BuiltinFn::cos,
        BuiltinFn::tan,    BuiltinFn::asin,  BuiltinFn::acos,  BuiltinFn::atan,        BuiltinFn::radians,
        BuiltinFn::degrees}) {
    for (Type g : kGenF) add(fn, {g}, g);
  }
  add(BuiltinFn::abs, {I}, I);
  add(BuiltinFn::sign, {I}, I);
  // f(genF, genF) -> genF, and min/max/mod with a broadcast float second argument
  for (BuiltinFn fn : {BuiltinFn::min, BuiltinFn::max, BuiltinFn::mod, BuiltinFn::pow, BuiltinFn::atan2}) {
    for (Type g : kGenF) add(fn, {g, g}, g);
  }
  for (BuiltinFn fn : {BuiltinFn::min, BuiltinFn::max, BuiltinFn::mod}) {
    for (Type g : kVectors) add(fn, {g, F}, g);
  }
  add(BuiltinFn::min, {I, I}, I);
  add(BuiltinFn::max, {I, I}, I);
  for (Type g : kGenF) add(BuiltinFn::clamp, {g, g, g}, g);
  for (Type g : kVectors) add(BuiltinFn::clamp, {g, F, F}, g);
  add(BuiltinFn::clamp, {I, I, I}, I);
  for (Type g : kGenF) add(BuiltinFn::mix, {g, g, g}, g);
  for (Type g : kVectors) add(BuiltinFn::mix, {g, g, F}, g);
  add(BuiltinFn::mix, {Type::mixture, Type::mixture, F}, Type::mixture);
  for (Type g : kGenF) add(BuiltinFn::step, {g, g}, g);
  for (Type g : kVectors) add(BuiltinFn::step, {F, g}, g);
  for (Type g : kGenF) add(BuiltinFn::smoothstep, {g, g, g}, g);
  for (Type g : kVectors) add(BuiltinFn::smoothstep, {F, F, g}, g);
  // geometry
  for (Type g : kGenF) {
    add(BuiltinFn::length, {g}, F);
    add(BuiltinFn::distance, {g, g}, F);
  }
  for (Type g : kVectors) {
    add(BuiltinFn::dot, {g, g}, F);
    add(BuiltinFn::normalize, {g}, g);
    add(BuiltinFn::reflect, {g, g}, g);
  }
  add(BuiltinFn::cross, {Type::vec3, Type::vec3}, Type::vec3);
  add(BuiltinFn::luminance, {Type::vec3}, F);
  for (Type m : {Type::mat3, Type::mat4}) {
    add(BuiltinFn::transpose, {m}, m);
    add(BuiltinFn::determinant, {m}, F);
    add(BuiltinFn::inverse, {m}, m);
  }
  add(BuiltinFn::rotate_x, {F}, Type::mat3);
  add(BuiltinFn::rotate_y, {F}, Type::mat3);
  add(BuiltinFn::rotate_z, {F}, Type::mat3);
  // noise
  for (Type p : {Type::vec2, Type::vec3}) {
    add(BuiltinFn::noise, {p}, F);
    add(BuiltinFn::fbm, {p, I}, F);
    add(BuiltinFn::fbm, {p, I, F, F}, F);
    add(BuiltinFn::turbulence, {p, I}, F);
    add(BuiltinFn::turbulence, {p, I, F, F}, F);
    add(BuiltinFn::cellular, {p}, Type::vec2);
  }
  // textures
  add(BuiltinFn::sample, {Type::texture, Type::vec2}, Type::vec4);
  add(BuiltinFn::sample_lod, {Type::texture, Type::vec2, F}, Type::vec4);
  // surface queries
  add(BuiltinFn::surface_distance, {}, F);
  add(BuiltinFn::surface_signed_distance, {}, F);
  add(BuiltinFn::surface_point, {}, Type::vec3);
  add(BuiltinFn::surface_normal, {}, Type::vec3);
  // mixtures (mixture() itself is variadic and handled by the checker)
  add(BuiltinFn::empty, {}, Type::mixture);
  add(BuiltinFn::weight, {Type::mixture, Type::material}, F);
  return t;
}

struct NamedConstant {
  std::string_view name;
  float value;
};

constexpr NamedConstant kConstants[] = {
    {"PI", 3.14159265358979323846f},
    {"TAU", 6.28318530717958647692f},
    {"E", 2.71828182845904523536f},
    {"INFINITY", std::numeric_limits<float>::infinity()},
};

}  // namespace

std::string_view builtin_name(BuiltinFn fn) {
  const auto k = static_cast<std::size_t>(fn);
  return k < kNames.size() ? kNames[k] : std::string_view("<builtin>");
}

std::optional<BuiltinFn> find_builtin(std::string_view name) {
  for (std::size_t k = 0; k < kNames.size(); ++k) {
    if (kNames[k] == name) return static_cast<BuiltinFn>(k);
  }
  return std::nullopt;
}

const std::vector<BuiltinSignature>& builtin_overloads(BuiltinFn fn) {
  static const Table table = build_table();
  static const std::vector<BuiltinSignature> none;
  const auto k = static_cast<std::size_t>(fn);
  return k < table.size() ? table[k] : none;
}

bool is_surface_query(BuiltinFn fn) {
  return fn == BuiltinFn::surface_distance || fn == BuiltinFn::surface_signed_distance ||
         fn == BuiltinFn::surface_point || fn == BuiltinFn::surface_normal;
}

std::optional<Value> builtin_constant(std::string_view name) {
  for (const NamedConstant& c : kConstants) {
    if (c.name == name) return Value::of_float(c.value);
  }
  return std::nullopt;
}

std::vector<std::string_view> builtin_names() {
  std::vector<std::string_view> names(kNames.begin(), kNames.end());
  for (const NamedConstant& c : kConstants) names.push_back(c.name);
  return names;
}

}  // namespace fabforge::openfl

// ---- constant folding of the pure math builtins (declared in checker.hpp) ----

namespace fabforge::openfl::fold {

namespace {

float comp(const Value& v, int k) { return component_count(v.type) == 1 ? v.f[0] : v.f[static_cast<std::size_t>(k)]; }

// composite.hpp finds its helpers (sqrt_of, ...) by argument-dependent lookup, which a plain float
// does not have; this wrapper carries the very same float operations into namespace fold.
struct Scalar {
  float v = 0;
};
Scalar operator+(Scalar a, Scalar b) { return {a.v + b.v}; }
Scalar operator-(Scalar a, Scalar b) { return {a.v - b.v}; }
Scalar operator*(Scalar a, Scalar b) { return {a.v * b.v}; }
Scalar operator/(Scalar a, Scalar b) { return {a.v / b.v}; }
Scalar operator-(Scalar a) { return {-a.v}; }
Scalar sqrt_of(const Scalar& a) { return {sm::fsqrt(a.v)}; }
Scalar sin_of(const Scalar& a) { return {sm::fsin(a.v)}; }
Scalar cos_of(const Scalar& a) { return {sm::fcos(a.v)}; }
Scalar constant_like(const Scalar&, float value) { return {value}; }

using F1 = float (*)(float);
using F2 = float (*)(float, float);
using F3 = float (*)(float, float, float);

F1 unary_fn(BuiltinFn fn) {
  switch (fn) {
    case BuiltinFn::abs:
      return sm::fabs;
    case BuiltinFn::sign:
      return sm::fsign;
    case BuiltinFn::floor:
      return sm::ffloor;
    case BuiltinFn::ceil:
      return sm::fceil;
    case BuiltinFn::round:
      return sm::fround;
    case BuiltinFn::trunc:
      return sm::ftrunc;
    case BuiltinFn::fract:
      return sm::ffract;
    case BuiltinFn::sqrt:
      return sm::fsqrt;
    case BuiltinFn::inversesqrt:
      return sm::finvsqrt;
    case BuiltinFn::exp:
      return sm::fexp;
    case BuiltinFn::exp2:
      return sm::fexp2;
    case BuiltinFn::log:
      return sm::flog;
    case BuiltinFn::log2:
      return sm::flog2;
    case BuiltinFn::sin:
      return sm::fsin;
    case BuiltinFn::cos:
      return sm::fcos;
    case BuiltinFn::tan:
      return sm::ftan;
    case BuiltinFn::asin:
      return sm::fasin;
    case BuiltinFn::acos:
      return sm::facos;
    case BuiltinFn::atan:
      return sm::fatan;
    case BuiltinFn::radians:
      return sm::fradians;
    case BuiltinFn::degrees:
      return sm::fdegrees;
    default:
      return nullptr;
  }
}

F2 binary_fn(BuiltinFn fn) {
  switch (fn) {
    case BuiltinFn::min:
      return sm::fmin;
    case BuiltinFn::max:
      return sm::fmax;
    case BuiltinFn::mod:
      return sm::fmod;
    case BuiltinFn::pow:
      return sm::fpow;
    case BuiltinFn::atan2:
      return sm::fatan2;
    case BuiltinFn::step:
      return sm::fstep;
    default:
      return nullptr;
  }
}

F3 ternary_fn(BuiltinFn fn) {
  switch (fn) {
    case BuiltinFn::clamp:
      return sm::fclamp;
    case BuiltinFn::mix:
      return sm::fmix;
    case BuiltinFn::smoothstep:
      return sm::fsmoothstep;
    default:
      return nullptr;
  }
}

std::optional<Value> int_builtin(BuiltinFn fn, const std::vector<Value>& a) {
  switch (fn) {
    case BuiltinFn::abs:
      return Value::of_int(sm::iabs(a[0].i));
    case BuiltinFn::sign:
      return Value::of_int(sm::isign(a[0].i));
    case BuiltinFn::min:
      return Value::of_int(sm::imin(a[0].i, a[1].i));
    case BuiltinFn::max:
      return Value::of_int(sm::imax(a[0].i, a[1].i));
    case BuiltinFn::clamp:
      return Value::of_int(sm::imin(sm::imax(a[0].i, a[1].i), a[2].i));
    default:
      return std::nullopt;
  }
}

}  // namespace

std::optional<Value> builtin(BuiltinFn fn, const std::vector<Value>& args, Type result) {
  for (const Value& v : args) {
    if (v.type != Type::int_ && !is_float_based(v.type)) return std::nullopt;
  }
  if (result == Type::int_) return int_builtin(fn, args);
  for (const Value& v : args) {
    if (!is_float_based(v.type)) return std::nullopt;
  }
  Value r = Value::zero(result);
  const int n = component_count(result);
  if (const F1 f = unary_fn(fn); f && args.size() == 1) {
    for (int k = 0; k < n; ++k) r.f[static_cast<std::size_t>(k)] = f(comp(args[0], k));
    return r;
  }
  if (const F2 f = binary_fn(fn); f && args.size() == 2) {
    for (int k = 0; k < n; ++k) r.f[static_cast<std::size_t>(k)] = f(comp(args[0], k), comp(args[1], k));
    return r;
  }
  if (const F3 f = ternary_fn(fn); f && args.size() == 3) {
    for (int k = 0; k < n; ++k) {
      r.f[static_cast<std::size_t>(k)] = f(comp(args[0], k), comp(args[1], k), comp(args[2], k));
    }
    return r;
  }
  const int m = args.empty() ? 0 : component_count(args[0].type);
  std::array<Scalar, 16> a{}, b{}, out{};
  for (int k = 0; k < m; ++k) a[static_cast<std::size_t>(k)].v = args[0].f[static_cast<std::size_t>(k)];
  if (args.size() > 1) {
    for (int k = 0; k < component_count(args[1].type); ++k)
      b[static_cast<std::size_t>(k)].v = args[1].f[static_cast<std::size_t>(k)];
  }
  const int size = m == 9 ? 3 : 4;
  switch (fn) {
    case BuiltinFn::length:
      out[0] = composite::length(a.data(), m);
      break;
    case BuiltinFn::distance:
      out[0] = composite::distance(a.data(), b.data(), m);
      break;
    case BuiltinFn::dot:
      out[0] = composite::dot(a.data(), b.data(), m);
      break;
    case BuiltinFn::cross:
      composite::cross(a.data(), b.data(), out.data());
      break;
    case BuiltinFn::normalize:
      composite::normalize(a.data(), m, out.data());
      break;
    case BuiltinFn::reflect:
      composite::reflect(a.data(), b.data(), m, out.data());
      break;
    case BuiltinFn::luminance:
      out[0] = composite::luminance(a.data());
      break;
    case BuiltinFn::transpose:
      composite::transpose(a.data(), size, out.data());
      break;
    case BuiltinFn::determinant:
      out[0] = composite::determinant(a.data(), size);
      break;
    case BuiltinFn::inverse:
      composite::inverse(a.data(), size, out.data());
      break;
    case BuiltinFn::rotate_x:
    case BuiltinFn::rotate_y:
    case BuiltinFn::rotate_z:
      composite::rotation(static_cast<int>(fn) - static_cast<int>(BuiltinFn::rotate_x), a[0], out.data());
      break;
    default:
      return std::nullopt;
  }
  for (int k = 0; k < n; ++k) r.f[static_cast<std::size_t>(k)] = out[static_cast<std::size_t>(k)].v;
  return r;
}

}  // namespace fabforge::openfl::fold
