// Type names and compile-time values.

#include "fabforge/openfl/types.hpp"

#include <charconv>
#include <cmath>

#include "fabforge/openfl/composite.hpp"
#include "fabforge/openfl/scalar_math.hpp"

#include "checker.hpp"

namespace fabforge::openfl {

namespace {

struct TypeSpelling {
  Type type;
  std::string_view name;
};

constexpr TypeSpelling kSpellings[] = {
    {Type::void_, "void"}, {Type::bool_, "bool"},        {Type::int_, "int"},        {Type::float_, "float"},
    {Type::vec2, "vec2"},  {Type::vec3, "vec3"},         {Type::vec4, "vec4"},       {Type::mat3, "mat3"},
    {Type::mat4, "mat4"},  {Type::material, "material"}, {Type::mixture, "mixture"}, {Type::texture, "texture"},
};

std::string float_text(float v) {
  if (std::isinf(v)) return v > 0 ? "INFINITY" : "-INFINITY";
  if (std::isnan(v)) return "nan";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

}  // namespace

std::string_view type_name(Type type) {
  if (type == Type::string_) return "string";
  for (const TypeSpelling& s : kSpellings) {
    if (s.type == type) return s.name;
  }
  return "<error>";
}

Type type_from_name(std::string_view word) {
  for (const TypeSpelling& s : kSpellings) {
    if (s.name == word) return s.type;
  }
  return Type::error;
}

int component_count(Type type) {
  switch (type) {
    case Type::bool_:
    case Type::int_:
    case Type::float_:
    case Type::material:
      return 1;
    case Type::vec2:
      return 2;
    case Type::vec3:
      return 3;
    case Type::vec4:
      return 4;
    case Type::mat3:
      return 9;
    case Type::mat4:
      return 16;
    default:
      return 0;
  }
}

Type float_vector(int n) {
  switch (n) {
    case 1:
      return Type::float_;
    case 2:
      return Type::vec2;
    case 3:
      return Type::vec3;
    case 4:
      return Type::vec4;
    default:
      return Type::error;
  }
}

Value Value::of_bool(bool v) {
  Value r;
  r.type = Type::bool_;
  r.b = v;
  return r;
}

Value Value::of_int(std::int32_t v) {
  Value r;
  r.type = Type::int_;
  r.i = v;
  return r;
}

Value Value::of_float(float v) {
  Value r;
  r.type = Type::float_;
  r.f[0] = v;
  return r;
}

Value Value::zero(Type type) {
  Value r;
  r.type = type;
  return r;
}

std::string format_value(const Value& value) {
  switch (value.type) {
    case Type::bool_:
      return value.b ? "true" : "false";
    case Type::int_:
      return std::to_string(value.i);
    case Type::material:
      return "material #" + std::to_string(value.i);
    case Type::float_: {
      std::string s = float_text(value.f[0]);
      if (s.find_first_of(".eIn") == std::string::npos) s += ".0";
      return s;
    }
    default:
      break;
  }
  const int n = component_count(value.type);
  if (n <= 1 || !is_float_based(value.type)) return std::string(type_name(value.type));
  std::string s = std::string(type_name(value.type)) + "(";
  for (int k = 0; k < n; ++k) {
    if (k > 0) s += ", ";
    s += float_text(value.f[static_cast<std::size_t>(k)]);
  }
  return s + ")";
}

}  // namespace fabforge::openfl

// ---- constant folding of operators and constructors (declared in checker.hpp) ----

namespace fabforge::openfl::fold {

namespace {

float component(const Value& v, int k) {
  return component_count(v.type) == 1 ? v.f[0] : v.f[static_cast<std::size_t>(k)];
}

float scalar_as_float(const Value& v) {
  switch (v.type) {
    case Type::int_:
      return sm::itof(v.i);
    case Type::bool_:
      return v.b ? 1.0f : 0.0f;
    default:
      return v.f[0];
  }
}

int matrix_size(Type t) { return t == Type::mat3 ? 3 : 4; }

}  // namespace

Value convert(const Value& v, Type to) {
  if (v.type == Type::int_ && to == Type::float_) return Value::of_float(sm::itof(v.i));
  return v;
}

std::optional<Value> unary(ast::UnaryOp op, const Value& a) {
  switch (op) {
    case ast::UnaryOp::plus:
      return a;
    case ast::UnaryOp::not_:
      if (a.type != Type::bool_) return std::nullopt;
      return Value::of_bool(!a.b);
    case ast::UnaryOp::neg:
      if (a.type == Type::int_) return Value::of_int(sm::ineg(a.i));
      if (!is_float_based(a.type)) return std::nullopt;
      Value r = a;
      for (int k = 0; k < component_count(a.type); ++k)
        r.f[static_cast<std::size_t>(k)] = -a.f[static_cast<std::size_t>(k)];
      return r;
  }
  return std::nullopt;
}

std::optional<Value> binary(ast::BinaryOp op, const Value& a, const Value& b, Type result) {
  using ast::BinaryOp;
  if (a.type == Type::int_ && b.type == Type::int_) {
    const std::int32_t x = a.i, y = b.i;
    switch (op) {
      case BinaryOp::add:
        return Value::of_int(sm::iadd(x, y));
      case BinaryOp::sub:
        return Value::of_int(sm::isub(x, y));
      case BinaryOp::mul:
        return Value::of_int(sm::imul(x, y));
      case BinaryOp::div:
        return Value::of_int(sm::idiv(x, y));
      case BinaryOp::mod:
        return Value::of_int(sm::imod(x, y));
      case BinaryOp::lt:
        return Value::of_bool(x < y);
      case BinaryOp::le:
        return Value::of_bool(x <= y);
      case BinaryOp::gt:
        return Value::of_bool(x > y);
      case BinaryOp::ge:
        return Value::of_bool(x >= y);
      case BinaryOp::eq:
        return Value::of_bool(x == y);
      case BinaryOp::ne:
        return Value::of_bool(x != y);
      default:
        return std::nullopt;
    }
  }
  if (a.type == Type::bool_ && b.type == Type::bool_) {
    switch (op) {
      case BinaryOp::and_:
        return Value::of_bool(a.b && b.b);
      case BinaryOp::or_:
        return Value::of_bool(a.b || b.b);
      case BinaryOp::eq:
        return Value::of_bool(a.b == b.b);
      case BinaryOp::ne:
        return Value::of_bool(a.b != b.b);
      default:
        return std::nullopt;
    }
  }
  if (!is_float_based(a.type) || !is_float_based(b.type)) return std::nullopt;
  if (a.type == Type::float_ && b.type == Type::float_) {
    const float x = a.f[0], y = b.f[0];
    switch (op) {
      case BinaryOp::lt:
        return Value::of_bool(x < y);
      case BinaryOp::le:
        return Value::of_bool(x <= y);
      case BinaryOp::gt:
        return Value::of_bool(x > y);
      case BinaryOp::ge:
        return Value::of_bool(x >= y);
      case BinaryOp::eq:
        return Value::of_bool(x == y);
      case BinaryOp::ne:
        return Value::of_bool(x != y);
      default:
        break;
    }
  }
  Value r = Value::zero(result);
  if (op == BinaryOp::mul && is_matrix(a.type) && is_matrix(b.type)) {
    composite::mat_mul(a.f.data(), b.f.data(), matrix_size(a.type), r.f.data());
    return r;
  }
  if (op == BinaryOp::mul && is_matrix(a.type) && is_vector(b.type)) {
    composite::mat_vec(a.f.data(), b.f.data(), matrix_size(a.type), r.f.data());
    return r;
  }
  if (op == BinaryOp::mul && is_vector(a.type) && is_matrix(b.type)) {
    composite::vec_mat(a.f.data(), b.f.data(), matrix_size(b.type), r.f.data());
    return r;
  }
  const int n = component_count(result);
  if (!is_float_based(result)) return std::nullopt;
  for (int k = 0; k < n; ++k) {
    const float x = component(a, k), y = component(b, k);
    float v = 0;
    switch (op) {
      case BinaryOp::add:
        v = x + y;
        break;
      case BinaryOp::sub:
        v = x - y;
        break;
      case BinaryOp::mul:
        v = x * y;
        break;
      case BinaryOp::div:
        v = x / y;
        break;
      default:
        return std::nullopt;
    }
    r.f[static_cast<std::size_t>(k)] = v;
  }
  return r;
}

std::optional<Value> construct(Type type, const std::vector<Value>& args) {
  if (args.empty()) return std::nullopt;
  const Value& a = args[0];
  switch (type) {
    case Type::float_:
      return Value::of_float(scalar_as_float(a));
    case Type::int_:
      if (a.type == Type::int_) return a;
      if (a.type == Type::bool_) return Value::of_int(a.b ? 1 : 0);
      return Value::of_int(sm::ftoi(a.f[0]));
    case Type::bool_:
      if (a.type == Type::bool_) return a;
      if (a.type == Type::int_) return Value::of_bool(a.i != 0);
      return Value::of_bool(a.f[0] != 0.0f);
    default:
      break;
  }
  if (!is_float_based(type)) return std::nullopt;
  Value r = Value::zero(type);
  const int n = component_count(type);
  if (args.size() == 1 && component_count(a.type) == 1) {
    const float s = scalar_as_float(a);
    if (is_vector(type)) {
      for (int k = 0; k < n; ++k) r.f[static_cast<std::size_t>(k)] = s;
    } else {
      const int size = matrix_size(type);
      for (int k = 0; k < size; ++k) r.f[static_cast<std::size_t>(k * size + k)] = s;
    }
    return r;
  }
  int out = 0;
  for (const Value& v : args) {
    const int c = component_count(v.type);
    for (int k = 0; k < c; ++k) {
      if (out >= n) return std::nullopt;
      r.f[static_cast<std::size_t>(out++)] = c == 1 ? scalar_as_float(v) : v.f[static_cast<std::size_t>(k)];
    }
  }
  if (out != n) return std::nullopt;
  return r;
}

}  // namespace fabforge::openfl::fold
