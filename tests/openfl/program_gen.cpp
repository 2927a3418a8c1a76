// Random well-typed OpenFL programs for the differential tests, and the sphere test host.

#include "program_gen.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string_view>
#include <utility>

#include "fabforge/core/image.hpp"
#include "fabforge/openfl/types.hpp"

namespace fabforge::openfl::testgen {

namespace {

enum class Where : std::uint8_t { function, surface, volume };

struct Var {
  std::string name;
  Type type = Type::error;
  bool readable = true;
  bool writable = true;
  bool is_const = false;  ///< a `const` (usable in constant expressions)
};

struct FnSig {
  std::string name;
  Type ret = Type::void_;
  std::vector<Type> params;
  bool volume_only = false;  ///< reads outs / queries the surface: only the volume phase reaches it
};

constexpr Type kValueTypes[] = {Type::bool_, Type::int_,  Type::float_, Type::vec2,     Type::vec3,
                                Type::vec4,  Type::mat3,  Type::mat4,   Type::material, Type::mixture};

constexpr const char* kFloatLits[] = {"0.0",  "1.0",   "2.0",  "0.5",   "0.25", "3.0",  "10.0", "0.1",
                                      "1.5",  "100.0", "0.001", "7.25", "1e-5", "1e6",  "3.5e10", "0.75",
                                      "4.0",  "1e30",  "0.3333", "2.5", "64.0", "1e-38", "12.125", ".5"};
constexpr const char* kIntLits[] = {"0", "1", "2", "3", "5", "7", "4", "100", "65536", "2147483647", "16", "6"};
constexpr const char* kUnaryMath[] = {"abs",  "sign", "floor", "ceil", "round", "trunc", "fract",
                                      "sqrt", "inversesqrt", "exp", "exp2", "log", "log2", "sin",
                                      "cos",  "tan",  "asin",  "acos", "atan",  "radians", "degrees"};
constexpr const char* kMaterialNames[] = {"VeroBlack", "VeroWhite", "VeroClear", "Agilus30", "VeroCyan"};

class Gen {
 public:
  Gen(std::uint64_t seed, const GenOptions& options) : rng_(seed * 0x9E3779B97F4A7C15ull + 12345), o_(options) {}

  std::string run() {
    const int n_materials = 1 + below(3);
    for (int k = 0; k < n_materials; ++k) materials_.push_back("mat" + std::to_string(k));
    const int n_textures = o_.textures ? below(3) : 0;
    for (int k = 0; k < n_textures; ++k) textures_.push_back("tex" + std::to_string(k));

    // Uniforms (declared in the fablet, but visible everywhere; generated first so that
    // functions can use them).
    std::string uniforms;
    for (int k = 0; k < n_materials; ++k) {
      uniforms += "  uniform material " + materials_[k] + " = \"" + kMaterialNames[below(5)] + "\";\n";
    }
    for (int k = 0; k < n_textures; ++k) uniforms += "  uniform texture " + textures_[k] + " = \"t" + std::to_string(k) + ".png\";\n";
    const int n_uniforms = below(5);
    for (int k = 0; k < n_uniforms; ++k) {
      static constexpr Type kUniformTypes[] = {Type::float_, Type::int_, Type::bool_, Type::vec2,
                                               Type::vec3,   Type::vec4, Type::mat3,  Type::float_};
      const Type t = kUniformTypes[below(8)];
      const std::string name = "u" + std::to_string(k);
      uniforms += "  uniform " + std::string(type_name(t)) + " " + name + " = " + const_expr(t, 1) + ";\n";
      globals_.push_back({name, t, true, false, false});
    }

    // File-level constants.
    std::string head;
    const int n_consts = below(3);
    for (int k = 0; k < n_consts; ++k) {
      static constexpr Type kConstTypes[] = {Type::float_, Type::int_, Type::vec3, Type::bool_, Type::vec2};
      const Type t = kConstTypes[below(5)];
      const std::string name = "K" + std::to_string(k);
      head += "const " + std::string(type_name(t)) + " " + name + " = " + const_expr(t, 2) + ";\n";
      globals_.push_back({name, t, true, false, true});
    }

    // Outs.
    std::string outs;
    const int n_outs = o_.surface || o_.queries ? below(4) : 0;
    for (int k = 0; k < n_outs; ++k) {
      static constexpr Type kOutTypes[] = {Type::float_, Type::vec2, Type::vec3, Type::vec4, Type::float_};
      const Type t = kOutTypes[below(5)];
      const std::string name = "o" + std::to_string(k);
      outs += "  out " + std::string(type_name(t)) + " " + name + ";\n";
      outs_.push_back({name, t, true, true, false});
    }

    // Functions: some at file scope, some inside the fablet.
    std::string file_functions, fablet_functions;
    const int n_functions = o_.max_functions > 0 ? below(o_.max_functions + 1) : 0;
    for (int k = 0; k < n_functions; ++k) {
      std::string text = function(k);
      (chance(0.5) ? file_functions : fablet_functions) += text;
    }

    std::string body;
    if (o_.surface) body += surface_phase();
    if (o_.volume) body += volume_phase();

    std::string text = "// generated program\n" + head + file_functions + "fablet Gen {\n" + uniforms + outs +
                       fablet_functions + body + "}\n";
    return text;
  }

 private:
  // ---------------- randomness ----------------
  int below(int n) { return n <= 1 ? 0 : static_cast<int>(rng_() % static_cast<std::uint64_t>(n)); }
  bool chance(double p) { return static_cast<double>(rng_() >> 11) * 0x1.0p-53 < p; }
  template <class T, std::size_t N>
  const T& pick(const T (&a)[N]) {
    return a[static_cast<std::size_t>(below(static_cast<int>(N)))];
  }

  std::string fresh(const char* prefix) { return prefix + std::to_string(counter_++); }

  // ---------------- scopes ----------------
  void push() { marks_.push_back(locals_.size()); }
  void pop() {
    locals_.resize(marks_.back());
    marks_.pop_back();
  }
  std::string indent() const { return std::string(static_cast<std::size_t>(2 * indent_), ' '); }

  bool can_query() const {
    return o_.queries && (where_ == Where::volume || (where_ == Where::function && volume_only_));
  }
  bool can_read_outs() const { return can_query(); }

  /// Readable variables of type t (locals, params, uniforms, consts, outs where allowed).
  std::vector<const Var*> readable(Type t, bool non_const_only = false) const {
    std::vector<const Var*> r;
    if (const_mode_) {
      for (const Var& v : globals_) {
        if (v.is_const && v.type == t) r.push_back(&v);
      }
      return r;
    }
    for (const Var& v : locals_) {
      if (v.readable && v.type == t && !(non_const_only && v.is_const) && !shadowed(v)) r.push_back(&v);
    }
    for (const Var& v : globals_) {
      if (v.type == t && !(non_const_only && v.is_const)) r.push_back(&v);
    }
    if (can_read_outs()) {
      for (const Var& v : outs_) {
        if (v.type == t) r.push_back(&v);
      }
    }
    return r;
  }

  /// True when a local declared after `v` (in an inner scope) has the same name, so the name
  /// means that one.
  bool shadowed(const Var& v) const {
    bool after = false;
    for (const Var& w : locals_) {
      if (&w == &v) {
        after = true;
      } else if (after && w.name == v.name) {
        return true;
      }
    }
    return false;
  }

  std::vector<const Var*> writable() const {
    std::vector<const Var*> r;
    for (const Var& v : locals_) {
      if (v.writable && !v.is_const && !shadowed(v)) r.push_back(&v);
    }
    if (where_ == Where::surface) {
      for (const Var& v : outs_) r.push_back(&v);
    }
    return r;
  }

  // ---------------- expressions ----------------
  std::string const_expr(Type t, int depth) {
    const bool saved = const_mode_;
    const_mode_ = true;
    std::string s = expr(t, depth);
    const_mode_ = saved;
    return s;
  }

  std::string expr(Type t, int d) {
    switch (t) {
      case Type::bool_: return bool_expr(d);
      case Type::int_: return int_expr(d);
      case Type::float_: return float_expr(d);
      case Type::vec2:
      case Type::vec3:
      case Type::vec4: return vec_expr(component_count(t), d);
      case Type::mat3:
      case Type::mat4: return mat_expr(t == Type::mat3 ? 3 : 4, d);
      case Type::material: return material_expr(d);
      case Type::mixture: return mixture_expr(d);
      default: return "<bad type>";
    }
  }

  /// A variable of type t, or "" when there is none (probability p of trying).
  std::string var_of(Type t, double p, bool non_const_only = false) {
    if (!chance(p)) return "";
    const auto vars = readable(t, non_const_only);
    if (vars.empty()) return "";
    return vars[static_cast<std::size_t>(below(static_cast<int>(vars.size())))]->name;
  }

  /// An index into n components: a literal in range, or an expression that is not a compile-time
  /// constant (so the checker cannot reject it) and may leave the range at run time (an int
  /// variable plus a small offset), or a clamped expression.
  std::string index_expr(int n, int d) {
    if (chance(0.5)) return std::to_string(below(n));
    const std::string v = const_mode_ ? std::string() : var_of(Type::int_, 0.4, true);
    if (!v.empty()) return "(" + v + " + " + std::to_string(below(3)) + ")";
    return "clamp(" + int_expr(d) + ", 0, " + std::to_string(n - 1) + ")";
  }

  std::string float_lit() {
    std::string s = pick(kFloatLits);
    return chance(0.2) ? "(-" + s + ")" : s;
  }
  std::string int_lit() {
    if (chance(0.03)) return "(-2147483648)";
    std::string s = pick(kIntLits);
    return chance(0.2) ? "(-" + s + ")" : s;
  }

  std::string call_user(Type t, int d) {
    if (const_mode_) return "";
    std::vector<const FnSig*> c;
    for (const FnSig& f : functions_) {
      if (f.ret == t && (!f.volume_only || can_query())) c.push_back(&f);
    }
    if (c.empty()) return "";
    const FnSig& f = *c[static_cast<std::size_t>(below(static_cast<int>(c.size())))];
    std::string s = f.name + "(";
    for (std::size_t k = 0; k < f.params.size(); ++k) s += (k ? ", " : "") + expr(f.params[k], d - 1);
    return s + ")";
  }

  std::string swizzle_letters(int from_size, int count, bool distinct) {
    distinct = distinct && count <= from_size;  // a write mask cannot name more components than there are
    const char* set = chance(0.7) ? "xyzw" : "rgba";
    std::string s;
    std::vector<int> avail;
    for (int k = 0; k < from_size; ++k) avail.push_back(k);
    for (int k = 0; k < count; ++k) {
      if (distinct) {
        const int j = below(static_cast<int>(avail.size()));
        s += set[avail[static_cast<std::size_t>(j)]];
        avail.erase(avail.begin() + j);
      } else {
        s += set[below(from_size)];
      }
    }
    return s;
  }

  /// A vec2 or vec3 noise coordinate.
  std::string noise_point(int& dims, int d) {
    dims = chance(0.5) ? 2 : 3;
    if (dims == 3 && where_ != Where::function && chance(0.5)) return "(P * " + float_expr(d - 1) + ")";
    return vec_expr(dims, d - 1);
  }

  std::string octaves(int d) {
    if (chance(0.25)) {
      const std::string v = var_of(Type::int_, 1.0, true);
      if (!v.empty()) return chance(0.5) ? v : "(" + v + " % 20)";
    }
    (void)d;
    return std::to_string(1 + below(chance(0.8) ? 4 : 16));
  }

  std::string noise_expr(int d) {
    int dims = 0;
    const std::string p = noise_point(dims, d);
    switch (below(5)) {
      case 0: return "noise(" + p + ")";
      case 1: return "fbm(" + p + ", " + octaves(d) + ")";
      case 2: return "turbulence(" + p + ", " + octaves(d) + ", " + float_expr(d - 1) + ", " + float_expr(d - 1) + ")";
      case 3: return "fbm(" + p + ", " + octaves(d) + ", " + float_expr(d - 1) + ", " + float_expr(d - 1) + ")";
      default: return "turbulence(" + p + ", " + octaves(d) + ")";
    }
  }

  std::string sample_expr(int d) {
    const std::string& t = textures_[static_cast<std::size_t>(below(static_cast<int>(textures_.size())))];
    std::string uv;
    if (where_ == Where::surface && chance(0.5)) {
      // Something that varies smoothly across the quad, so derivatives are meaningful.
      const auto uvs = readable(Type::vec2);
      uv = !uvs.empty() && chance(0.6) ? "(" + uvs[0]->name + " * " + float_lit() + ")" : "P.xy";
      if (chance(0.3)) uv = "(" + uv + " + " + vec_expr(2, d - 1) + ")";
    } else {
      uv = vec_expr(2, d - 1);
    }
    if (chance(0.25)) return "sample_lod(" + t + ", " + uv + ", " + float_expr(d - 1) + ")";
    return "sample(" + t + ", " + uv + ")";
  }

  std::string float_expr(int d) {
    if (d <= 0 || chance(0.15)) {
      if (!const_mode_ && chance(0.04) && can_query()) {
        return chance(0.5) ? "surface_distance()" : "surface_signed_distance()";
      }
      std::string v = var_of(Type::float_, 0.6);
      if (!v.empty()) return v;
      if (chance(0.15)) {
        v = var_of(Type::int_, 1.0);  // implicit int -> float
        if (!v.empty()) return v;
      }
      if (chance(0.06)) return chance(0.8) ? (chance(0.5) ? "PI" : (chance(0.5) ? "TAU" : "E")) : "INFINITY";
      return float_lit();
    }
    const int dn = d - 1;
    for (;;) {
      switch (below(22)) {
        case 0:
        case 1: {
          static constexpr const char* kOps[] = {" + ", " - ", " * ", " / "};
          std::string a = float_expr(dn), b = chance(0.15) ? int_expr(dn) : float_expr(dn);
          if (chance(0.5)) std::swap(a, b);
          return "(" + a + pick(kOps) + b + ")";
        }
        case 2: return "(-" + float_expr(dn) + ")";
        case 3: return chance(0.6) ? "float(" + int_expr(dn) + ")" : "float(" + bool_expr(dn) + ")";
        case 4:
        case 5: return std::string(pick(kUnaryMath)) + "(" + float_expr(dn) + ")";
        case 6: {
          static constexpr const char* kFns[] = {"min", "max", "mod", "pow", "atan2", "step"};
          return std::string(pick(kFns)) + "(" + float_expr(dn) + ", " + float_expr(dn) + ")";
        }
        case 7: {
          static constexpr const char* kFns[] = {"clamp", "mix", "smoothstep"};
          return std::string(pick(kFns)) + "(" + float_expr(dn) + ", " + float_expr(dn) + ", " + float_expr(dn) + ")";
        }
        case 8: {
          const int n = 2 + below(3);
          switch (below(5)) {
            case 0: return "length(" + vec_expr(n, dn) + ")";
            case 1: return "distance(" + vec_expr(n, dn) + ", " + vec_expr(n, dn) + ")";
            case 2: return "dot(" + vec_expr(n, dn) + ", " + vec_expr(n, dn) + ")";
            case 3: return "luminance(" + vec_expr(3, dn) + ")";
            default: return "determinant(" + mat_expr(chance(0.6) ? 3 : 4, dn) + ")";
          }
        }
        case 9:
        case 10: {
          const int n = 2 + below(3);
          const std::string v = vec_expr(n, dn);
          if (chance(0.3)) return "length(" + float_expr(dn) + ")";
          return "(" + v + ")." + swizzle_letters(n, 1, true);
        }
        case 11: {
          if (chance(0.5)) {
            const int n = 2 + below(3);
            const std::string idx = index_expr(n, dn);
            const std::string v = var_of(float_vector(n), 1.0);
            return (v.empty() ? "(" + vec_expr(n, dn) + ")" : v) + "[" + idx + "]";
          }
          const int n = chance(0.6) ? 3 : 4;
          const std::string m = var_of(n == 3 ? Type::mat3 : Type::mat4, 1.0);
          const std::string i = index_expr(n, dn);
          const std::string j = index_expr(n, dn);
          return (m.empty() ? "(" + mat_expr(n, dn) + ")" : m) + "[" + i + "][" + j + "]";
        }
        case 12: {
          std::string a = float_expr(dn), b = float_expr(dn);
          if (chance(0.15)) b = int_expr(dn);
          return "(" + bool_expr(dn) + " ? " + a + " : " + b + ")";
        }
        case 13:
          if (const_mode_) continue;
          if (chance(0.6)) return noise_expr(d);
          {
            int dims = 0;
            const std::string p = noise_point(dims, d);
            return "cellular(" + p + ")." + (chance(0.5) ? "x" : "y");
          }
        case 14:
          if (const_mode_ || materials_.empty() || chance(0.5)) continue;
          return "weight(" + mixture_expr(dn) + ", " + material_expr(dn) + ")";
        case 15: {
          std::string s = call_user(Type::float_, d);
          if (s.empty()) continue;
          return s;
        }
        case 16:
          if (!can_query() || const_mode_) continue;
          switch (below(4)) {
            case 0: return "surface_distance()";
            case 1: return "surface_signed_distance()";
            case 2: return "surface_point()." + swizzle_letters(3, 1, true);
            default: return "surface_normal()." + swizzle_letters(3, 1, true);
          }
        case 17:
          if (const_mode_ || textures_.empty()) continue;
          return sample_expr(d) + "." + swizzle_letters(4, 1, true);
        case 18: return int_expr(d);  // implicit conversion
        case 19: {
          static constexpr const char* kFns[] = {"min", "max", "pow", "atan2"};
          // Int arguments converted to float parameters.
          return std::string(pick(kFns)) + "(" + int_expr(dn) + ", " + float_expr(dn) + ")";
        }
        default: {
          std::string v = var_of(Type::float_, 0.9);
          if (!v.empty()) return v;
          return float_lit();
        }
      }
    }
  }

  std::string int_expr(int d) {
    if (d <= 0 || chance(0.2)) {
      std::string v = var_of(Type::int_, 0.6);
      if (!v.empty()) return v;
      return int_lit();
    }
    const int dn = d - 1;
    for (;;) {
      switch (below(13)) {
        case 0:
        case 1: {
          static constexpr const char* kOps[] = {" + ", " - ", " * ", " / ", " % "};
          return "(" + int_expr(dn) + pick(kOps) + int_expr(dn) + ")";
        }
        case 2: return "(-" + int_expr(dn) + ")";
        case 3:
        case 4: return "int(" + float_expr(dn) + ")";
        case 5: return "int(" + bool_expr(dn) + ")";
        case 6: return std::string(chance(0.5) ? "abs" : "sign") + "(" + int_expr(dn) + ")";
        case 7: return std::string(chance(0.5) ? "min" : "max") + "(" + int_expr(dn) + ", " + int_expr(dn) + ")";
        case 8: return "clamp(" + int_expr(dn) + ", " + int_expr(dn) + ", " + int_expr(dn) + ")";
        case 9: return "(" + bool_expr(dn) + " ? " + int_expr(dn) + " : " + int_expr(dn) + ")";
        case 10: {
          std::string s = call_user(Type::int_, d);
          if (s.empty()) continue;
          return s;
        }
        default: {
          std::string v = var_of(Type::int_, 0.9);
          if (!v.empty()) return v;
          return int_lit();
        }
      }
    }
  }

  std::string bool_expr(int d) {
    if (d <= 0 || chance(0.15)) {
      std::string v = var_of(Type::bool_, 0.6);
      if (!v.empty()) return v;
      return chance(0.5) ? "true" : "false";
    }
    const int dn = d - 1;
    static constexpr const char* kCmp[] = {" < ", " <= ", " > ", " >= ", " == ", " != "};
    for (;;) {
      switch (below(12)) {
        case 0:
        case 1:
        case 2: return "(" + float_expr(dn) + pick(kCmp) + float_expr(dn) + ")";
        case 3: return "(" + int_expr(dn) + pick(kCmp) + int_expr(dn) + ")";
        case 4: return "(" + int_expr(dn) + pick(kCmp) + float_expr(dn) + ")";
        case 5: return "(" + bool_expr(dn) + (chance(0.5) ? " == " : " != ") + bool_expr(dn) + ")";
        case 6:
          if (const_mode_) continue;
          return "(" + material_expr(dn) + (chance(0.5) ? " == " : " != ") + material_expr(dn) + ")";
        case 7:
        case 8: return "(" + bool_expr(dn) + (chance(0.5) ? " && " : " || ") + bool_expr(dn) + ")";
        case 9: return "!" + bool_expr(dn);
        case 10: return chance(0.5) ? "bool(" + int_expr(dn) + ")" : "bool(" + float_expr(dn) + ")";
        default: {
          if (chance(0.3)) return "(" + bool_expr(dn) + " ? " + bool_expr(dn) + " : " + bool_expr(dn) + ")";
          std::string s = call_user(Type::bool_, d);
          if (!s.empty()) return s;
          continue;
        }
      }
    }
  }

  /// Pieces (scalars and vectors) adding up to n components.
  std::string vec_construct(int n, int d) {
    const std::string name = std::string(type_name(float_vector(n)));
    if (chance(0.25)) return name + "(" + (chance(0.2) ? int_expr(d) : float_expr(d)) + ")";
    std::string s = name + "(";
    int left = n;
    bool first = true;
    while (left > 0) {
      const int piece = left == 1 || chance(0.5) ? 1 : 2 + below(left - 1);
      if (piece == n && chance(0.7)) continue;
      s += first ? "" : ", ";
      first = false;
      s += piece == 1 ? (chance(0.15) ? int_expr(d) : float_expr(d)) : vec_expr(piece, d);
      left -= piece;
    }
    return s + ")";
  }

  std::string vec_expr(int n, int d) {
    const Type t = float_vector(n);
    if (d <= 0 || chance(0.12)) {
      std::string v = var_of(t, 0.7);
      if (!v.empty()) return v;
      if (chance(0.5)) return std::string(type_name(t)) + "(" + float_lit() + ")";
      std::string s = std::string(type_name(t)) + "(";
      for (int k = 0; k < n; ++k) s += (k ? ", " : "") + float_lit();
      return s + ")";
    }
    const int dn = d - 1;
    for (;;) {
      switch (below(20)) {
        case 0:
        case 1: return vec_construct(n, dn);
        case 2:
        case 3: {
          static constexpr const char* kOps[] = {" + ", " - ", " * ", " / "};
          switch (below(3)) {
            case 0: return "(" + vec_expr(n, dn) + pick(kOps) + vec_expr(n, dn) + ")";
            case 1: return "(" + vec_expr(n, dn) + pick(kOps) + float_expr(dn) + ")";
            default: return "(" + float_expr(dn) + pick(kOps) + vec_expr(n, dn) + ")";
          }
        }
        case 4: return "(-" + vec_expr(n, dn) + ")";
        case 5: return std::string(pick(kUnaryMath)) + "(" + vec_expr(n, dn) + ")";
        case 6: {
          static constexpr const char* kFns[] = {"min", "max", "mod", "pow", "atan2", "step"};
          const char* f = pick(kFns);
          const bool broadcast = std::string_view(f) != "pow" && std::string_view(f) != "atan2" && chance(0.4);
          if (broadcast && std::string_view(f) == "step") {
            return "step(" + float_expr(dn) + ", " + vec_expr(n, dn) + ")";
          }
          return std::string(f) + "(" + vec_expr(n, dn) + ", " + (broadcast ? float_expr(dn) : vec_expr(n, dn)) + ")";
        }
        case 7:
          switch (below(6)) {
            case 0: return "clamp(" + vec_expr(n, dn) + ", " + vec_expr(n, dn) + ", " + vec_expr(n, dn) + ")";
            case 1: return "clamp(" + vec_expr(n, dn) + ", " + float_expr(dn) + ", " + float_expr(dn) + ")";
            case 2: return "mix(" + vec_expr(n, dn) + ", " + vec_expr(n, dn) + ", " + vec_expr(n, dn) + ")";
            case 3: return "mix(" + vec_expr(n, dn) + ", " + vec_expr(n, dn) + ", " + float_expr(dn) + ")";
            case 4:
              return "smoothstep(" + vec_expr(n, dn) + ", " + vec_expr(n, dn) + ", " + vec_expr(n, dn) + ")";
            default: return "smoothstep(" + float_expr(dn) + ", " + float_expr(dn) + ", " + vec_expr(n, dn) + ")";
          }
        case 8:
          switch (below(3)) {
            case 0: return "normalize(" + vec_expr(n, dn) + ")";
            case 1: return "reflect(" + vec_expr(n, dn) + ", " + vec_expr(n, dn) + ")";
            default:
              if (n != 3) continue;
              return "cross(" + vec_expr(3, dn) + ", " + vec_expr(3, dn) + ")";
          }
        case 9:
          if (n == 2) continue;
          return chance(0.5) ? "(" + mat_expr(n, dn) + " * " + vec_expr(n, dn) + ")"
                             : "(" + vec_expr(n, dn) + " * " + mat_expr(n, dn) + ")";
        case 10:
        case 11: {
          const int from = 2 + below(3);
          std::string v = var_of(float_vector(from), 0.6);
          if (v.empty()) v = "(" + vec_expr(from, dn) + ")";
          return v + "." + swizzle_letters(from, n, chance(0.5));
        }
        case 12: {
          if (n == 2) continue;
          std::string m = var_of(n == 3 ? Type::mat3 : Type::mat4, 0.8);
          if (m.empty()) m = "(" + mat_expr(n, dn) + ")";
          return m + "[" + (index_expr(n, dn)) + "]";
        }
        case 13: return "(" + bool_expr(dn) + " ? " + vec_expr(n, dn) + " : " + vec_expr(n, dn) + ")";
        case 14: {
          std::string s = call_user(t, d);
          if (s.empty()) continue;
          return s;
        }
        case 15:
          if (const_mode_ || textures_.empty()) continue;
          return n == 4 ? sample_expr(d) : sample_expr(d) + "." + swizzle_letters(4, n, chance(0.6));
        case 16: {
          if (const_mode_ || n != 2) continue;
          int dims = 0;
          const std::string p = noise_point(dims, d);
          return "cellular(" + p + ")";
        }
        case 17:
          if (const_mode_ || n != 3 || !can_query()) continue;
          return chance(0.5) ? "surface_point()" : "surface_normal()";
        case 18:
          if (const_mode_ || n != 3 || where_ == Where::function) continue;
          return chance(0.5) ? "P" : "(P * " + float_expr(dn) + ")";
        default: {
          std::string v = var_of(t, 0.9);
          if (!v.empty()) return v;
          return vec_construct(n, dn);
        }
      }
    }
  }

  std::string mat_expr(int n, int d) {
    const Type t = n == 3 ? Type::mat3 : Type::mat4;
    const std::string name(type_name(t));
    if (d <= 0 || chance(0.12)) {
      std::string v = var_of(t, 0.7);
      if (!v.empty()) return v;
      return name + "(" + float_lit() + ")";
    }
    const int dn = d - 1;
    for (;;) {
      switch (below(12)) {
        case 0: return name + "(" + float_expr(dn) + ")";
        case 1: {
          std::string s = name + "(";
          for (int k = 0; k < n; ++k) s += (k ? ", " : "") + vec_expr(n, dn);
          return s + ")";
        }
        case 2: {
          if (n == 4 && chance(0.7)) continue;
          std::string s = name + "(";
          for (int k = 0; k < n * n; ++k) s += (k ? ", " : "") + (chance(0.5) ? float_lit() : float_expr(0));
          return s + ")";
        }
        case 3:
          if (n != 3) continue;
          return std::string(chance(0.33) ? "rotate_x" : (chance(0.5) ? "rotate_y" : "rotate_z")) + "(" +
                 float_expr(dn) + ")";
        case 4: return std::string(chance(0.5) ? "transpose" : "inverse") + "(" + mat_expr(n, dn) + ")";
        case 5:
        case 6: {
          static constexpr const char* kOps[] = {" + ", " - ", " * ", " / "};
          return "(" + mat_expr(n, dn) + pick(kOps) + mat_expr(n, dn) + ")";
        }
        case 7: {
          static constexpr const char* kOps[] = {" + ", " - ", " * ", " / "};
          return chance(0.5) ? "(" + mat_expr(n, dn) + pick(kOps) + float_expr(dn) + ")"
                             : "(" + float_expr(dn) + pick(kOps) + mat_expr(n, dn) + ")";
        }
        case 8: return "(-" + mat_expr(n, dn) + ")";
        case 9: return "(" + bool_expr(dn) + " ? " + mat_expr(n, dn) + " : " + mat_expr(n, dn) + ")";
        case 10: {
          std::string s = call_user(t, d);
          if (s.empty()) continue;
          return s;
        }
        default: {
          std::string v = var_of(t, 0.9);
          if (!v.empty()) return v;
          return name + "(" + float_expr(dn) + ")";
        }
      }
    }
  }

  std::string material_expr(int d) {
    if (d > 0 && chance(0.3)) {
      return "(" + bool_expr(d - 1) + " ? " + material_expr(d - 1) + " : " + material_expr(d - 1) + ")";
    }
    std::string v = var_of(Type::material, 0.8);
    if (!v.empty()) return v;
    return materials_[static_cast<std::size_t>(below(static_cast<int>(materials_.size())))];
  }

  std::string mixture_expr(int d) {
    if (d <= 0 || chance(0.15)) {
      std::string v = var_of(Type::mixture, 0.5);
      if (!v.empty()) return v;
      if (chance(0.15)) return "empty()";
      return "mixture(" + material_expr(0) + ", " + float_expr(0) + ")";
    }
    const int dn = d - 1;
    for (;;) {
      switch (below(10)) {
        case 0:
        case 1: {
          std::string s = "mixture(";
          const int pairs = 1 + below(3);
          for (int k = 0; k < pairs; ++k) {
            s += (k ? ", " : "") + material_expr(dn) + ", " + (chance(0.15) ? int_expr(dn) : float_expr(dn));
          }
          return s + ")";
        }
        case 2: return "empty()";
        case 3:
        case 4: return "(" + mixture_expr(dn) + (chance(0.5) ? " + " : " - ") + mixture_expr(dn) + ")";
        case 5:
          switch (below(3)) {
            case 0: return "(" + mixture_expr(dn) + " * " + float_expr(dn) + ")";
            case 1: return "(" + float_expr(dn) + " * " + mixture_expr(dn) + ")";
            default: return "(" + mixture_expr(dn) + " / " + float_expr(dn) + ")";
          }
        case 6: return "mix(" + mixture_expr(dn) + ", " + mixture_expr(dn) + ", " + float_expr(dn) + ")";
        case 7: return "(" + bool_expr(dn) + " ? " + mixture_expr(dn) + " : " + mixture_expr(dn) + ")";
        case 8: {
          std::string s = call_user(Type::mixture, d);
          if (s.empty()) continue;
          return s;
        }
        default: {
          std::string v = var_of(Type::mixture, 0.9);
          if (!v.empty()) return v;
          continue;
        }
      }
    }
  }

  // ---------------- statements ----------------
  int ed() const { return o_.max_expr_depth; }

  /// A condition that usually varies per lane.
  std::string cond() { return bool_expr(ed()); }

  /// A small non-negative-ish loop bound that depends on the inputs.
  std::string loop_bound() {
    switch (below(5)) {
      case 0: return std::to_string(below(5));
      case 1: return "int(abs(" + float_expr(2) + ")) % " + std::to_string(2 + below(4));
      case 2: return "abs(" + int_expr(2) + ") % " + std::to_string(2 + below(4));
      case 3: return "clamp(" + int_expr(2) + ", -1, " + std::to_string(1 + below(4)) + ")";
      default: return "(" + int_expr(1) + " % 4)";
    }
  }

  void line(std::string& out, const std::string& text) { out += indent() + text + "\n"; }

  void block(std::string& out, int count, int sd) {
    push();
    for (int k = 0; k < count; ++k) {
      const bool last = k + 1 == count;
      stmt(out, sd, last);
    }
    pop();
  }

  /// A braced block as a statement body.
  void braced(std::string& out, std::string header, int sd) {
    line(out, header + " {");
    ++indent_;
    block(out, 1 + below(3), sd + 1);
    --indent_;
  }

  Type random_decl_type() {
    for (;;) {
      const Type t = pick(kValueTypes);
      if (t == Type::mat4 && chance(0.5)) continue;
      return t;
    }
  }

  void declare(std::string& out) {
    const Type t = random_decl_type();
    std::string name = fresh("a");
    // Now and then shadow an outer local (allowed in an inner scope).
    if (chance(0.08) && marks_.size() > 1) {
      for (std::size_t k = 0; k < marks_.back(); ++k) {
        const auto in_this_scope = [&](const std::string& n) {
          for (std::size_t j = marks_.back(); j < locals_.size(); ++j)
            if (locals_[j].name == n) return true;
          return false;
        };
        if (locals_[k].type == t && locals_[k].writable && locals_[k].name[0] == 'a' &&
            !in_this_scope(locals_[k].name)) {
          name = locals_[k].name;
          break;
        }
      }
    }
    const bool is_const = t != Type::mixture && t != Type::material && chance(0.08);
    std::string init;
    if (is_const) {
      init = const_expr(t, 2);
    } else if (t != Type::material && chance(0.12)) {
      init = "";  // zero
    } else if (t == Type::float_ && chance(0.15)) {
      init = int_expr(ed());
    } else {
      init = expr(t, ed());
    }
    line(out, std::string(is_const ? "const " : "") + std::string(type_name(t)) + " " + name +
                  (init.empty() ? "" : " = " + init) + ";");
    locals_.push_back({name, t, true, true, is_const});
  }

  void assign(std::string& out) {
    const auto vars = writable();
    if (vars.empty()) return declare(out);
    const Var v = *vars[static_cast<std::size_t>(below(static_cast<int>(vars.size())))];
    const bool is_out = v.name[0] == 'o';
    const Type t = v.type;
    // Partial writes: swizzle / index.
    if ((is_vector(t) || is_matrix(t)) && chance(0.4)) {
      if (is_vector(t)) {
        const int n = component_count(t);
        if (chance(0.5)) {
          const int count = 1 + below(n);
          const std::string sw = swizzle_letters(n, count, true);
          const std::string op = !is_out && chance(0.4) ? (chance(0.5) ? " += " : " *= ") : " = ";
          line(out, v.name + "." + sw + op + (count == 1 ? float_expr(ed()) : vec_expr(count, ed())) + ";");
        } else {
          const std::string idx = index_expr(n, 2);
          const std::string op = !is_out && chance(0.4) ? (chance(0.5) ? " -= " : " /= ") : " = ";
          line(out, v.name + "[" + idx + "]" + op + float_expr(ed()) + ";");
        }
      } else {
        const int n = t == Type::mat3 ? 3 : 4;
        const std::string i = index_expr(n, 2);
        if (chance(0.5)) {
          line(out, v.name + "[" + i + "] = " + vec_expr(n, ed()) + ";");
        } else if (chance(0.5)) {
          const std::string j = index_expr(n, 2);
          line(out, v.name + "[" + i + "][" + j + "]" + (chance(0.5) ? " = " : " += ") + float_expr(ed()) + ";");
        } else {
          line(out, v.name + "[" + i + "]." + swizzle_letters(n, 2, true) + " = " + vec_expr(2, ed()) + ";");
        }
      }
      return;
    }
    if (is_out) {
      line(out, v.name + " = " + expr(t, ed()) + ";");
      return;
    }
    switch (t) {
      case Type::bool_:
      case Type::material: line(out, v.name + " = " + expr(t, ed()) + ";"); return;
      case Type::int_: {
        static constexpr const char* kOps[] = {" = ", " += ", " -= ", " *= ", " /= ", " %= "};
        line(out, v.name + pick(kOps) + int_expr(ed()) + ";");
        return;
      }
      case Type::float_: {
        static constexpr const char* kOps[] = {" = ", " += ", " -= ", " *= ", " /= "};
        line(out, v.name + pick(kOps) + (chance(0.2) ? int_expr(ed()) : float_expr(ed())) + ";");
        return;
      }
      case Type::mixture:
        switch (below(4)) {
          case 0: line(out, v.name + " = " + mixture_expr(ed()) + ";"); return;
          case 1: line(out, v.name + (chance(0.5) ? " += " : " -= ") + mixture_expr(ed()) + ";"); return;
          default: line(out, v.name + (chance(0.5) ? " *= " : " /= ") + float_expr(ed()) + ";"); return;
        }
      default: {
        static constexpr const char* kOps[] = {" = ", " += ", " -= ", " *= ", " /= "};
        const char* op = pick(kOps);
        if (std::string_view(op) == " = " || chance(0.5)) {
          line(out, v.name + op + expr(t, ed()) + ";");
        } else if (is_vector(t) && component_count(t) > 2 && std::string_view(op) == " *= " && chance(0.5)) {
          line(out, v.name + " *= " + mat_expr(component_count(t), ed()) + ";");  // row vector * matrix
        } else {
          line(out, v.name + op + float_expr(ed()) + ";");
        }
        return;
      }
    }
  }

  std::string return_value() { return ret_ == Type::void_ ? "" : " " + expr(ret_, ed()); }

  void loop(std::string& out, int sd) {
    ++loop_depth_;
    push();
    switch (below(4)) {
      case 0: {
        const std::string i = fresh("i");
        const std::string bound = loop_bound();
        line(out, "for (int " + i + " = 0; " + i + " < " + bound + "; " + i + " += 1) {");
        locals_.push_back({i, Type::int_, true, false, false});
        break;
      }
      case 1: {
        const std::string i = fresh("i");
        const std::string bound = loop_bound();
        line(out, "for (int " + i + " = " + bound + "; " + i + " > 0; " + i + " -= 1) {");
        locals_.push_back({i, Type::int_, true, false, false});
        break;
      }
      case 2: {
        const std::string w = fresh("w");
        line(out, "int " + w + " = 0;");
        const std::string bound = loop_bound();
        line(out, "while (" + w + " < " + bound + ") {");
        locals_.push_back({w, Type::int_, true, false, false});
        ++indent_;
        line(out, w + " += 1;");
        --indent_;
        break;
      }
      default: {
        // for with an assignment init and no step part: the counter steps first thing in the body.
        const std::string w = fresh("w");
        line(out, "int " + w + ";");
        const std::string bound = loop_bound();
        line(out, "for (" + w + " = 0; " + w + " < " + bound + ";) {");
        locals_.push_back({w, Type::int_, true, false, false});
        ++indent_;
        line(out, w + " += 1;");
        --indent_;
        break;
      }
    }
    ++indent_;
    block(out, 1 + below(3), sd + 1);
    --indent_;
    line(out, "}");
    pop();
    --loop_depth_;
  }

  void stmt(std::string& out, int sd, bool last) {
    const bool nested = sd >= o_.max_stmt_depth;
    for (;;) {
      const int r = below(100);
      if (r < 28) return declare(out);
      if (r < 58) return assign(out);
      if (r < 70) {
        if (nested) continue;
        braced(out, "if (" + cond() + ")", sd);
        if (chance(0.5)) {
          line(out, "} else {");
          ++indent_;
          block(out, 1 + below(3), sd + 1);
          --indent_;
        }
        line(out, "}");
        return;
      }
      if (r < 78) {
        if (nested || !o_.loops || loop_depth_ >= 2) continue;
        return loop(out, sd);
      }
      if (r < 84) {
        if (loop_depth_ == 0) continue;
        const char* what = chance(0.5) ? "break;" : "continue;";
        if (last && chance(0.3)) return line(out, what);
        return line(out, "if (" + cond() + ") " + what);
      }
      if (r < 89) {
        if (sd == 0 && !last) continue;
        if (last && sd > 0 && chance(0.3)) return line(out, "return" + return_value() + ";");
        return line(out, "if (" + cond() + ") return" + return_value() + ";");
      }
      if (r < 92) {
        if (nested) continue;
        line(out, "{");
        ++indent_;
        block(out, 1 + below(2), sd + 1);
        --indent_;
        line(out, "}");
        return;
      }
      if (r < 95) {
        // A void call as a statement.
        std::vector<const FnSig*> c;
        for (const FnSig& f : functions_) {
          if (f.ret == Type::void_ && (!f.volume_only || can_query())) c.push_back(&f);
        }
        if (c.empty()) continue;
        const FnSig& f = *c[static_cast<std::size_t>(below(static_cast<int>(c.size())))];
        std::string s = f.name + "(";
        for (std::size_t k = 0; k < f.params.size(); ++k) s += (k ? ", " : "") + expr(f.params[k], 2);
        return line(out, s + ");");
      }
      if (r < 97 && where_ == Where::surface && !outs_.empty()) return assign_out(out);
      return declare(out);
    }
  }

  void assign_out(std::string& out) {
    const Var& v = outs_[static_cast<std::size_t>(below(static_cast<int>(outs_.size())))];
    line(out, v.name + " = " + expr(v.type, ed()) + ";");
  }

  // ---------------- functions and phases ----------------
  std::string function(int k) {
    FnSig sig;
    static constexpr Type kRet[] = {Type::float_, Type::float_, Type::int_, Type::bool_, Type::vec2, Type::vec3,
                                    Type::vec4,   Type::mat3,   Type::mixture, Type::void_, Type::material};
    sig.ret = pick(kRet);
    if (sig.ret == Type::void_ && chance(0.5)) sig.ret = Type::float_;
    sig.volume_only = o_.queries && o_.volume && chance(0.3);
    // Overload an earlier function by arity now and then.
    if (!functions_.empty() && chance(0.15)) {
      const FnSig& other = functions_[static_cast<std::size_t>(below(static_cast<int>(functions_.size())))];
      sig.name = other.name;
      const std::size_t arity = other.params.size() == 3 ? 1 : other.params.size() + 1;
      for (std::size_t j = 0; j < arity; ++j) sig.params.push_back(random_param_type());
      for (const FnSig& f : functions_) {
        if (f.name == sig.name && f.params.size() == arity) sig.name.clear();  // would clash
      }
    }
    if (sig.name.empty()) {
      sig.name = "fn" + std::to_string(k);
      sig.params.clear();
      const int arity = below(4);
      for (int j = 0; j < arity; ++j) sig.params.push_back(random_param_type());
    }
    where_ = Where::function;
    volume_only_ = sig.volume_only;
    ret_ = sig.ret;
    locals_.clear();
    marks_.clear();
    push();
    std::string head = std::string(type_name(sig.ret)) + " " + sig.name + "(";
    for (std::size_t j = 0; j < sig.params.size(); ++j) {
      const std::string p = "p" + std::to_string(j);
      head += (j ? ", " : "") + std::string(type_name(sig.params[j])) + " " + p;
      locals_.push_back({p, sig.params[j], true, true, false});
    }
    head += ")";
    std::string out = (indent_ ? indent() : "") + head + " {\n";
    const int saved_indent = indent_;
    indent_ = 1;
    block(out, 1 + below(4), 1);
    if (sig.ret != Type::void_) line(out, "return " + expr(sig.ret, ed()) + ";");
    indent_ = saved_indent;
    out += "}\n";
    pop();
    functions_.push_back(sig);
    return out;
  }

  Type random_param_type() {
    static constexpr Type kParams[] = {Type::float_, Type::float_, Type::int_,     Type::bool_,   Type::vec2,
                                       Type::vec3,   Type::vec4,   Type::mat3,     Type::mixture, Type::material};
    return pick(kParams);
  }

  std::string phase_body(const std::string& head, const std::vector<Var>& params, Type ret,
                         const std::string& final_return) {
    locals_.clear();
    marks_.clear();
    push();
    for (const Var& p : params) locals_.push_back(p);
    ret_ = ret;
    std::string out = "  " + head + " {\n";
    indent_ = 2;
    block(out, 3 + below(5), 0);
    line(out, "return " + final_return + ";");
    out += "  }\n";
    pop();
    indent_ = 0;
    return out;
  }

  std::string surface_phase() {
    where_ = Where::surface;
    volume_only_ = false;
    std::vector<Var> params = {{"P", Type::vec3}, {"N", Type::vec3}, {"uv", Type::vec2}};
    if (chance(0.3)) params.push_back({"color", Type::vec4});
    if (chance(0.2)) params.push_back({"w", Type::float_});
    if (chance(0.2)) params.erase(params.begin() + 2);  // no uv
    std::shuffle(params.begin() + 1, params.end(), rng_);
    std::string head = "surface(";
    for (std::size_t k = 0; k < params.size(); ++k) {
      head += (k ? ", " : "") + std::string(type_name(params[k].type)) + " " + params[k].name;
    }
    head += ")";
    if (chance(0.8)) head += " -> vec3";
    // Normally a displacement along N; sometimes anything.
    locals_ = params;
    const bool has_n = std::any_of(params.begin(), params.end(), [](const Var& v) { return v.name == "N"; });
    std::string body = phase_body(head, params, Type::vec3, "");
    // phase_body wrote "return ;": substitute the final value (generated with the phase's scope
    // gone, so it only uses parameters and globals).
    locals_ = params;
    where_ = Where::surface;
    std::string value = has_n && chance(0.8) ? "P + N * " + float_expr(ed()) : vec_expr(3, ed());
    locals_.clear();
    const std::string marker = "return ;";
    body.replace(body.rfind(marker), marker.size(), "return " + value + ";");
    return body;
  }

  std::string volume_phase() {
    where_ = Where::volume;
    volume_only_ = false;
    std::string head = "volume(vec3 P)";
    if (chance(0.8)) head += " -> mixture";
    std::vector<Var> params = {{"P", Type::vec3}};
    locals_ = params;
    std::string body = phase_body(head, params, Type::mixture, "");
    locals_ = params;
    where_ = Where::volume;
    const std::string value = mixture_expr(ed());
    locals_.clear();
    const std::string marker = "return ;";
    body.replace(body.rfind(marker), marker.size(), "return " + value + ";");
    return body;
  }

  std::mt19937_64 rng_;
  GenOptions o_;
  std::vector<std::string> materials_, textures_;
  std::vector<Var> globals_, outs_, locals_;
  std::vector<std::size_t> marks_;
  std::vector<FnSig> functions_;
  Where where_ = Where::function;
  bool volume_only_ = false;
  bool const_mode_ = false;
  Type ret_ = Type::void_;
  int loop_depth_ = 0;
  int indent_ = 0;
  int counter_ = 0;
};

}  // namespace

std::string generate_program(std::uint64_t seed, const GenOptions& options) { return Gen(seed, options).run(); }

std::vector<Texture> make_test_textures(int count) {
  std::vector<Texture> out;
  for (int k = 0; k < count; ++k) {
    static constexpr int kW[] = {8, 5, 16, 3};
    static constexpr int kH[] = {8, 3, 4, 7};
    static constexpr int kChannels[] = {4, 1, 3, 2};
    static constexpr Wrap kWrap[] = {Wrap::repeat, Wrap::clamp, Wrap::mirror, Wrap::repeat};
    const int j = k % 4;
    ImageF image(kW[j], kH[j], kChannels[j], Encoding::srgb);
    for (int y = 0; y < image.height; ++y) {
      for (int x = 0; x < image.width; ++x) {
        for (int c = 0; c < image.channels; ++c) {
          const float v = 0.5f + 0.5f * std::sin(0.9f * static_cast<float>(x) + 1.7f * static_cast<float>(y) +
                                                  2.3f * static_cast<float>(c) + static_cast<float>(k));
          image.at(x, y, c) = std::clamp(v, 0.0f, 1.0f);
        }
      }
    }
    out.emplace_back(image, kWrap[j]);
  }
  return out;
}

SphereHost::SphereHost(std::vector<Texture> textures, float radius, OutsFn outs)
    : TextureHost(std::move(textures)), radius_(radius), outs_(std::move(outs)) {}

float SphereHost::analytic_out(int j, float x, float y, float z) {
  const float s = static_cast<float>(j + 1);
  return s * std::sin(0.7f * s * x + 0.3f * y - z);
}

void SphereHost::surface_query(std::size_t n, const float* const xyz[3], float* const* columns,
                               int column_count) const {
  std::vector<float> q[3], nn[3];
  for (int c = 0; c < 3; ++c) {
    q[c].resize(n);
    nn[c].resize(n);
  }
  for (std::size_t i = 0; i < n; ++i) {
    const float x = xyz[0][i], y = xyz[1][i], z = xyz[2][i];
    const float len = std::sqrt(x * x + y * y + z * z);
    float nx = 0, ny = 0, nz = 1;
    if (len > 0 && std::isfinite(len)) {
      nx = x / len;
      ny = y / len;
      nz = z / len;
    }
    nn[0][i] = nx;
    nn[1][i] = ny;
    nn[2][i] = nz;
    q[0][i] = nx * radius_;
    q[1][i] = ny * radius_;
    q[2][i] = nz * radius_;
    if (column_count > kQuerySignedDistance && columns[kQuerySignedDistance] != nullptr)
      columns[kQuerySignedDistance][i] = len - radius_;
  }
  for (int c = 0; c < 3; ++c) {
    if (column_count > kQueryPoint + c && columns[kQueryPoint + c] != nullptr)
      std::copy(q[c].begin(), q[c].end(), columns[kQueryPoint + c]);
    if (column_count > kQueryNormal + c && columns[kQueryNormal + c] != nullptr)
      std::copy(nn[c].begin(), nn[c].end(), columns[kQueryNormal + c]);
  }
  const int out_count = column_count - kQueryOuts;
  if (out_count <= 0) return;
  if (outs_) {
    const float* qp[3] = {q[0].data(), q[1].data(), q[2].data()};
    const float* np[3] = {nn[0].data(), nn[1].data(), nn[2].data()};
    outs_(n, qp, np, columns + kQueryOuts, out_count);
    return;
  }
  for (int j = 0; j < out_count; ++j) {
    if (columns[kQueryOuts + j] == nullptr) continue;
    for (std::size_t i = 0; i < n; ++i) columns[kQueryOuts + j][i] = analytic_out(j, xyz[0][i], xyz[1][i], xyz[2][i]);
  }
}

void SphereHost::query_range(const Interval xyz[3], Interval* columns, int column_count) const {
  for (int k = 0; k < column_count; ++k) columns[k] = Interval{};
  // surface_query gives NaN for points with a non-finite coordinate: only the whole line holds it.
  for (int c = 0; c < 3; ++c)
    if (!std::isfinite(xyz[c].lo) || !std::isfinite(xyz[c].hi)) return;
  // Distance from the origin: smallest over the box, largest at a corner.
  double lo2 = 0, hi2 = 0;
  for (int c = 0; c < 3; ++c) {
    const double a = xyz[c].lo, b = xyz[c].hi;
    const double near = a > 0 ? a : (b < 0 ? -b : 0.0);
    const double far = std::max(std::fabs(a), std::fabs(b));
    lo2 += near * near;
    hi2 += far * far;
  }
  const double slack = 1e-5;
  if (column_count > kQuerySignedDistance) {
    const double lo = std::sqrt(lo2) * (1 - slack) - radius_ - 1e-6, hi = std::sqrt(hi2) * (1 + slack) - radius_ + 1e-6;
    if (std::isfinite(hi)) columns[kQuerySignedDistance] = Interval{static_cast<float>(lo), static_cast<float>(hi)};
  }
  const float r = radius_ * 1.0001f;
  for (int c = 0; c < 3; ++c) {
    if (column_count > kQueryPoint + c) columns[kQueryPoint + c] = Interval{-r, r};
    if (column_count > kQueryNormal + c) columns[kQueryNormal + c] = Interval{-1.0001f, 1.0001f};
  }
  if (outs_) return;  // unknown out functions: unbounded
  for (int j = 0; j + kQueryOuts < column_count; ++j) {
    const float s = static_cast<float>(j + 1) * 1.0001f;
    columns[kQueryOuts + j] = Interval{-s, s};
  }
}

}  // namespace fabforge::openfl::testgen
