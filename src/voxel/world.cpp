// The fab world: parsing and validating the JSON document, loading its meshes, binding fablets.

#include "fabforge/voxel/world.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <utility>

#include "fabforge/core/error.hpp"
#include "fabforge/core/mesh_io.hpp"
#include "fabforge/core/text.hpp"

namespace fabforge::voxel {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

constexpr double kPi = 3.14159265358979323846;

std::string join(const std::vector<std::string>& names) {
  if (names.empty()) return "none";
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string format_number(double v) {
  if (v == std::floor(v) && std::abs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  // Prefer the shortest form that reads back exactly.
  for (int digits = 1; digits < 17; ++digits) {
    char shorter[32];
    std::snprintf(shorter, sizeof shorter, "%.*g", digits, v);
    if (std::strtod(shorter, nullptr) == v) return shorter;
  }
  return buf;
}

// How a JSON value reads in "expected X, got Y".
std::string describe(const Json& j) {
  if (j.is_string()) return "the string " + j.dump();
  if (j.is_object()) return "an object";
  if (j.is_array()) return "an array";
  if (j.is_null()) return "null";
  return j.dump();
}

std::string child(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }
std::string element(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

// Reads JSON values at known paths and throws `source: path: message` for anything wrong.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}
  const std::string& source() const { return source_; }

  [[noreturn]] void fail(const std::string& path, const std::string& message) const {
    throw input_error(source_ + ": " + (path.empty() ? "" : path + ": ") + message);
  }

  // Unknown keys are errors: a typo must not silently fall back to a default.
  void check_keys(const Json& j, const std::string& path, const std::vector<std::string>& allowed) const {
    expect_object(j, path);
    for (const auto& [key, value] : j.items()) {
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        fail(child(path, key), "unknown key '" + key + "' (expected one of: " + join(allowed) + ")");
      }
    }
  }
  void expect_object(const Json& j, const std::string& path) const {
    if (!j.is_object()) fail(path, "expected an object, got " + describe(j));
  }
  const Json& required(const Json& j, const std::string& path, const std::string& key) const {
    const auto it = j.find(key);
    if (it == j.end()) fail(path, "missing key '" + key + "'");
    return *it;
  }
  static const Json* optional(const Json& j, const std::string& key) {
    const auto it = j.find(key);
    return it == j.end() ? nullptr : &*it;
  }

  double number(const Json& j, const std::string& path) const {
    if (!j.is_number()) fail(path, "expected a number, got " + describe(j));
    const double v = j.get<double>();
    if (!std::isfinite(v)) fail(path, "expected a finite number");
    return v;
  }
  double positive(const Json& j, const std::string& path) const {
    const double v = number(j, path);
    if (v <= 0) fail(path, "must be positive, got " + format_number(v));
    return v;
  }
  long long integer(const Json& j, const std::string& path, long long min, long long max) const {
    const double v = number(j, path);
    if (v != std::floor(v)) fail(path, "expected an integer, got " + format_number(v));
    if (v < static_cast<double>(min) || v > static_cast<double>(max)) {
      fail(path, "must be in [" + std::to_string(min) + ", " + std::to_string(max) + "], got " + format_number(v));
    }
    return static_cast<long long>(v);
  }
  std::string string(const Json& j, const std::string& path) const {
    if (!j.is_string()) fail(path, "expected a string, got " + describe(j));
    return j.get<std::string>();
  }
  std::string name(const Json& j, const std::string& path) const {
    std::string s = string(j, path);
    if (trim(s).empty()) fail(path, "must not be empty");
    return s;
  }
  // Exactly n numbers.
  std::vector<double> numbers(const Json& j, const std::string& path, std::size_t n) const {
    if (!j.is_array() || j.size() != n) {
      fail(path, "expected an array of " + std::to_string(n) + " numbers, got " + describe(j) +
                     (j.is_array() ? " of " + std::to_string(j.size()) : ""));
    }
    std::vector<double> out;
    for (std::size_t i = 0; i < n; ++i) out.push_back(number(j[i], element(path, i)));
    return out;
  }
  Vec3d vec3(const Json& j, const std::string& path) const {
    const std::vector<double> v = numbers(j, path, 3);
    return {v[0], v[1], v[2]};
  }
  // A number (all three the same) or [x, y, z].
  Vec3d scalar_or_vec3(const Json& j, const std::string& path) const {
    if (j.is_number()) {
      const double v = number(j, path);
      return {v, v, v};
    }
    if (!j.is_array()) fail(path, "expected a number or an array of 3 numbers, got " + describe(j));
    return vec3(j, path);
  }
  // A path resolved against base_dir, which must exist.
  fs::path existing_file(const Json& j, const std::string& path, const fs::path& base_dir) const {
    const fs::path p = fs::path(name(j, path));
    const fs::path resolved = (p.is_absolute() ? p : base_dir / p).lexically_normal();
    std::error_code ec;
    if (!fs::is_regular_file(resolved, ec)) fail(path, "no such file: " + resolved.string());
    return resolved;
  }

 private:
  std::string source_;
};

// Parses JSON, rejecting duplicate keys (a repeated key would silently drop the first value).
Json parse_json(std::string_view text, const Reader& reader) {
  struct Frame {
    bool array = false;
    long index = -1;
    std::string key;
    std::set<std::string> keys;
  };
  std::vector<Frame> frames;
  const auto path_of = [&frames](std::size_t depth) {
    std::string path;
    for (std::size_t i = 0; i < depth; ++i) {
      path = frames[i].array ? element(path, static_cast<std::size_t>(frames[i].index)) : child(path, frames[i].key);
    }
    return path;
  };
  const auto begin_element = [&frames]() {
    if (!frames.empty() && frames.back().array) ++frames.back().index;
  };
  const Json::parser_callback_t callback = [&](int, nlohmann::json::parse_event_t event, Json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    switch (event) {
      case Event::object_start:
      case Event::array_start:
        begin_element();
        frames.push_back({});
        frames.back().array = event == Event::array_start;
        break;
      case Event::object_end:
      case Event::array_end:
        frames.pop_back();
        break;
      case Event::key: {
        const std::string key = parsed.get<std::string>();
        if (!frames.back().keys.insert(key).second) {
          reader.fail(path_of(frames.size() - 1), "duplicate key '" + key + "'");
        }
        frames.back().key = key;
        break;
      }
      case Event::value:
        begin_element();
        break;
    }
    return true;
  };
  try {
    return Json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true, /*ignore_comments=*/true);
  } catch (const Json::parse_error& e) {
    std::string what = e.what();
    const std::size_t bracket = what.find("] ");
    if (bracket != std::string::npos) what = what.substr(bracket + 2);
    reader.fail("", "invalid JSON: " + what);
  }
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::array<std::uint8_t, 4> parse_rgba(const Json& j, const std::string& path, const Reader& r) {
  std::array<std::uint8_t, 4> rgba{0, 0, 0, 255};
  if (j.is_string()) {
    const std::string s = j.get<std::string>();
    const bool ok = (s.size() == 7 || s.size() == 9) && s[0] == '#' &&
                    std::all_of(s.begin() + 1, s.end(), [](char c) { return hex_digit(c) >= 0; });
    if (!ok) r.fail(path, "expected \"#rrggbb\" or \"#rrggbbaa\", got " + j.dump());
    for (std::size_t c = 0; c < (s.size() - 1) / 2; ++c) {
      rgba[c] = static_cast<std::uint8_t>(hex_digit(s[1 + 2 * c]) * 16 + hex_digit(s[2 + 2 * c]));
    }
    return rgba;
  }
  if (!j.is_array() || (j.size() != 3 && j.size() != 4)) {
    r.fail(path, "expected [r, g, b, a] (integers 0-255) or \"#rrggbb\", got " + describe(j));
  }
  for (std::size_t c = 0; c < j.size(); ++c)
    rgba[c] = static_cast<std::uint8_t>(r.integer(j[c], element(path, c), 0, 255));
  return rgba;
}

PrinterSpec parse_printer(const Json& j, const Reader& r) {
  const std::string path = "printer";
  r.check_keys(j, path, {"name", "x_dpi", "y_dpi", "layer_um", "build_volume_mm", "materials", "support"});
  PrinterSpec p;
  if (const Json* v = Reader::optional(j, "name")) p.name = r.string(*v, "printer.name");
  if (const Json* v = Reader::optional(j, "x_dpi"))
    p.x_dpi = static_cast<int>(r.integer(*v, "printer.x_dpi", 1, 100000));
  if (const Json* v = Reader::optional(j, "y_dpi"))
    p.y_dpi = static_cast<int>(r.integer(*v, "printer.y_dpi", 1, 100000));
  if (const Json* v = Reader::optional(j, "layer_um")) p.layer_um = r.positive(*v, "printer.layer_um");
  if (const Json* v = Reader::optional(j, "build_volume_mm")) {
    p.build_volume_mm = r.vec3(*v, "printer.build_volume_mm");
    for (std::size_t a = 0; a < 3; ++a) r.positive((*v)[a], element("printer.build_volume_mm", a));
  }

  const std::string mpath = "printer.materials";
  const Json& materials = r.required(j, path, "materials");
  if (!materials.is_array()) r.fail(mpath, "expected an array of materials, got " + describe(materials));
  if (materials.empty()) r.fail(mpath, "the printer needs at least one material");
  if (materials.size() > static_cast<std::size_t>(kMaxMaterials)) {
    r.fail(mpath,
           std::to_string(materials.size()) + " materials, at most " + std::to_string(kMaxMaterials) + " are allowed");
  }
  for (std::size_t i = 0; i < materials.size(); ++i) {
    const std::string ipath = element(mpath, i);
    const Json& m = materials[i];
    r.check_keys(m, ipath, {"name", "id", "rgba"});
    Material mat;
    mat.name = r.name(r.required(m, ipath, "name"), child(ipath, "name"));
    mat.id = static_cast<int>(i);
    if (const Json* v = Reader::optional(m, "id"))
      mat.id = static_cast<int>(r.integer(*v, child(ipath, "id"), 0, 1 << 30));
    mat.rgba = parse_rgba(r.required(m, ipath, "rgba"), child(ipath, "rgba"), r);
    for (std::size_t k = 0; k < p.materials.size(); ++k) {
      if (p.materials[k].name == mat.name) {
        r.fail(child(ipath, "name"), "duplicate material name '" + mat.name + "' (also " + element(mpath, k) + ")");
      }
      if (p.materials[k].id == mat.id) {
        r.fail(child(ipath, "id"),
               "duplicate material id " + std::to_string(mat.id) + " (also " + element(mpath, k) + ")");
      }
    }
    p.materials.push_back(std::move(mat));
  }
  if (const Json* v = Reader::optional(j, "support")) {
    const std::string name = r.name(*v, "printer.support");
    p.support = p.material_index(name);
    if (p.support < 0) {
      std::vector<std::string> names;
      for (const Material& m : p.materials) names.push_back(m.name);
      r.fail("printer.support", "no material named '" + name + "' (materials: " + join(names) + ")");
    }
  }
  return p;
}

std::vector<TextureSpec> parse_textures(const Json& j, const fs::path& base_dir, const Reader& r) {
  r.expect_object(j, "textures");
  std::vector<TextureSpec> textures;
  for (const auto& [name, t] : j.items()) {
    const std::string path = child("textures", name);
    if (trim(name).empty()) r.fail(path, "a texture name must not be empty");
    r.check_keys(t, path, {"path", "wrap"});
    TextureSpec spec;
    spec.name = name;
    spec.path = r.existing_file(r.required(t, path, "path"), child(path, "path"), base_dir);
    if (const Json* w = Reader::optional(t, "wrap")) {
      const std::string wrap = r.string(*w, child(path, "wrap"));
      if (wrap == "repeat") {
        spec.wrap = openfl::Wrap::repeat;
      } else if (wrap == "clamp") {
        spec.wrap = openfl::Wrap::clamp;
      } else if (wrap == "mirror") {
        spec.wrap = openfl::Wrap::mirror;
      } else {
        r.fail(child(path, "wrap"), "expected \"repeat\", \"clamp\" or \"mirror\", got " + w->dump());
      }
    }
    textures.push_back(std::move(spec));
  }
  return textures;
}

PrimitiveSpec parse_primitive(const Json& j, const std::string& path, const Reader& r) {
  const std::string kind = r.string(j["primitive"], child(path, "primitive"));
  PrimitiveSpec p;
  std::vector<std::string> keys = {"primitive", "max_deviation_mm", "max_triangles", "uv"};
  if (kind == "box") {
    p.kind = PrimitiveKind::box;
    keys.push_back("size");
  } else if (kind == "sphere") {
    p.kind = PrimitiveKind::sphere;
    keys.push_back("radius");
  } else if (kind == "cylinder") {
    p.kind = PrimitiveKind::cylinder;
    keys.insert(keys.end(), {"radius", "height"});
  } else if (kind == "torus") {
    p.kind = PrimitiveKind::torus;
    keys.insert(keys.end(), {"major_radius", "minor_radius"});
  } else {
    r.fail(child(path, "primitive"), "unknown primitive '" + kind + "' (expected box, sphere, cylinder or torus)");
  }
  r.check_keys(j, path, keys);
  const auto req = [&](const char* key) { return r.positive(r.required(j, path, key), child(path, key)); };
  switch (p.kind) {
    case PrimitiveKind::box: {
      const std::string spath = child(path, "size");
      p.size_mm = r.scalar_or_vec3(r.required(j, path, "size"), spath);
      if (p.size_mm.x <= 0 || p.size_mm.y <= 0 || p.size_mm.z <= 0) r.fail(spath, "every size must be positive");
      break;
    }
    case PrimitiveKind::sphere:
      p.radius_mm = req("radius");
      break;
    case PrimitiveKind::cylinder:
      p.radius_mm = req("radius");
      p.height_mm = req("height");
      break;
    case PrimitiveKind::torus:
      p.major_radius_mm = req("major_radius");
      p.minor_radius_mm = req("minor_radius");
      if (p.minor_radius_mm >= p.major_radius_mm) {
        r.fail(child(path, "minor_radius"), "must be smaller than major_radius (" + format_number(p.major_radius_mm) +
                                                "), got " + format_number(p.minor_radius_mm));
      }
      break;
  }
  if (const Json* v = Reader::optional(j, "max_deviation_mm")) {
    p.tessellation.max_deviation_mm = r.positive(*v, child(path, "max_deviation_mm"));
  }
  if (const Json* v = Reader::optional(j, "max_triangles")) {
    p.tessellation.max_triangles = static_cast<std::size_t>(r.integer(*v, child(path, "max_triangles"), 8, 1LL << 31));
  }
  return p;
}

std::vector<MeshSpec> parse_meshes(const Json& j, const fs::path& base_dir, const Reader& r) {
  r.expect_object(j, "meshes");
  std::vector<MeshSpec> meshes;
  for (const auto& [name, m] : j.items()) {
    const std::string path = child("meshes", name);
    if (trim(name).empty()) r.fail(path, "a mesh name must not be empty");
    r.expect_object(m, path);
    MeshSpec spec;
    spec.name = name;
    const bool has_file = m.contains("file"), has_primitive = m.contains("primitive");
    if (has_file && has_primitive) r.fail(path, "give either 'file' or 'primitive', not both");
    if (has_file) {
      r.check_keys(m, path, {"file", "uv"});
      spec.file = r.existing_file(m["file"], child(path, "file"), base_dir);
      const std::string ext = lowercase_extension(spec.file);
      if (ext != ".stl" && ext != ".obj" && ext != ".3mf") {
        r.fail(child(path, "file"), "unknown mesh format '" + ext + "' (expected .stl, .obj or .3mf)");
      }
    } else if (has_primitive) {
      spec.primitive = parse_primitive(m, path, r);
    } else {
      r.fail(path, "missing key 'file' or 'primitive'");
    }
    if (m.contains("uv")) {
      const std::string uv = r.string(m["uv"], child(path, "uv"));
      if (uv == "xy") {
        spec.uv = UvProjection::planar_xy;
      } else if (uv == "spherical") {
        spec.uv = UvProjection::spherical;
      } else if (uv != "none") {
        r.fail(child(path, "uv"), "unknown uv projection '" + uv + "' (expected none, xy or spherical)");
      }
    }
    meshes.push_back(std::move(spec));
  }
  return meshes;
}

Mat4 parse_transform(const Json& j, const std::string& path, const Reader& r) {
  r.check_keys(j, path, {"translate", "rotate", "scale", "matrix"});
  Mat4 m = identity_matrix();
  if (const Json* mj = Reader::optional(j, "matrix")) {
    if (j.size() > 1) r.fail(path, "'matrix' cannot be combined with translate, rotate or scale");
    const std::string mpath = child(path, "matrix");
    if (mj->is_array() && mj->size() == 4 && (*mj)[0].is_array()) {
      for (std::size_t row = 0; row < 4; ++row) {
        const std::vector<double> v = r.numbers((*mj)[row], element(mpath, row), 4);
        std::copy(v.begin(), v.end(), m.begin() + static_cast<std::ptrdiff_t>(4 * row));
      }
    } else {
      if (!mj->is_array() || mj->size() != 16) {
        r.fail(mpath, "expected 16 numbers (row-major) or 4 rows of 4, got " + describe(*mj));
      }
      const std::vector<double> v = r.numbers(*mj, mpath, 16);
      std::copy(v.begin(), v.end(), m.begin());
    }
    if (m[12] != 0 || m[13] != 0 || m[14] != 0 || m[15] != 1) {
      r.fail(mpath, "the last row must be [0, 0, 0, 1] (affine transforms only)");
    }
  } else {
    Vec3d translate{0, 0, 0}, rotate{0, 0, 0}, scale{1, 1, 1};
    if (const Json* v = Reader::optional(j, "translate")) translate = r.vec3(*v, child(path, "translate"));
    if (const Json* v = Reader::optional(j, "rotate")) rotate = r.vec3(*v, child(path, "rotate"));
    if (const Json* v = Reader::optional(j, "scale")) scale = r.scalar_or_vec3(*v, child(path, "scale"));
    m = compose_transform(translate, rotate, scale);
  }
  const double det = linear_determinant(m);
  if (!(std::abs(det) > 1e-12)) r.fail(path, "the transform is singular (it flattens the mesh)");
  return m;
}

UniformValue parse_uniform(const Json& j, const std::string& path, const PrinterSpec& printer,
                           const std::vector<TextureSpec>& textures, const Reader& r) {
  if (j.is_boolean()) return j.get<bool>();
  if (j.is_number()) return r.number(j, path);
  if (j.is_array() && !j.empty()) {
    std::vector<double> v;
    for (std::size_t i = 0; i < j.size(); ++i) v.push_back(r.number(j[i], element(path, i)));
    return v;
  }
  if (j.is_string()) {
    const std::string name = j.get<std::string>();
    const bool texture =
        std::any_of(textures.begin(), textures.end(), [&](const TextureSpec& t) { return t.name == name; });
    if (printer.material_index(name) < 0 && !texture) {
      std::vector<std::string> materials, texture_names;
      for (const Material& m : printer.materials) materials.push_back(m.name);
      for (const TextureSpec& t : textures) texture_names.push_back(t.name);
      r.fail(path, "'" + name + "' is neither a printer material (" + join(materials) + ") nor a texture (" +
                       join(texture_names) + ")");
    }
    return name;
  }
  r.fail(path, "expected a number, true/false, an array of numbers, or a material or texture name; got " + describe(j));
}

ShapeSpec parse_shape(const Json& j, const std::string& path, const World& world, const Reader& r) {
  r.check_keys(j, path,
               {"name", "mesh", "transform", "fablet", "material", "uniforms", "priority", "displacement_bound_mm",
                "surface_reach_mm"});
  ShapeSpec s;
  s.name = r.name(r.required(j, path, "name"), child(path, "name"));
  const std::string mesh = r.name(r.required(j, path, "mesh"), child(path, "mesh"));
  s.mesh = world.mesh_index(mesh);
  if (s.mesh < 0) {
    std::vector<std::string> names;
    for (const MeshSpec& m : world.meshes) names.push_back(m.name);
    r.fail(child(path, "mesh"), "no mesh named '" + mesh + "' (meshes: " + join(names) + ")");
  }
  s.transform = identity_matrix();
  if (const Json* v = Reader::optional(j, "transform")) s.transform = parse_transform(*v, child(path, "transform"), r);

  const Json* fablet = Reader::optional(j, "fablet");
  const Json* material = Reader::optional(j, "material");
  if (fablet && material) r.fail(path, "give either 'fablet' or 'material', not both");
  if (!fablet && !material) r.fail(path, "missing key 'fablet' (an OpenFL file) or 'material' (a printer material)");
  if (fablet) s.fablet = r.existing_file(*fablet, child(path, "fablet"), world.base_dir);
  if (material) {
    const std::string name = r.name(*material, child(path, "material"));
    s.material = world.printer.material_index(name);
    if (s.material < 0) {
      std::vector<std::string> names;
      for (const Material& m : world.printer.materials) names.push_back(m.name);
      r.fail(child(path, "material"), "no printer material named '" + name + "' (materials: " + join(names) + ")");
    }
  }
  if (const Json* u = Reader::optional(j, "uniforms")) {
    const std::string upath = child(path, "uniforms");
    r.expect_object(*u, upath);
    if (!fablet && !u->empty()) r.fail(upath, "uniforms need a 'fablet'");
    for (const auto& [name, value] : u->items()) {
      s.uniforms[name] = parse_uniform(value, child(upath, name), world.printer, world.textures, r);
    }
  }
  if (const Json* v = Reader::optional(j, "priority")) {
    s.priority = static_cast<int>(r.integer(*v, child(path, "priority"), -1000000, 1000000));
  }
  if (const Json* v = Reader::optional(j, "displacement_bound_mm")) {
    const std::string bpath = child(path, "displacement_bound_mm");
    const double b = r.number(*v, bpath);
    if (b < 0) r.fail(bpath, "must not be negative, got " + format_number(b));
    s.displacement_bound_mm = b;
  }
  if (const Json* v = Reader::optional(j, "surface_reach_mm")) {
    const std::string rpath = child(path, "surface_reach_mm");
    const double reach = r.number(*v, rpath);
    if (!(reach > 0)) r.fail(rpath, "must be positive, got " + format_number(reach));
    s.surface_reach_mm = reach;
  }
  return s;
}

OutputSpec parse_output(const Json& j, const Reader& r) {
  r.check_keys(j, "output", {"png", "grabcad", "meshes", "raw"});
  OutputSpec out{"", "", "", ""};
  const std::pair<const char*, std::string OutputSpec::*> backends[] = {{"png", &OutputSpec::png},
                                                                        {"grabcad", &OutputSpec::grabcad},
                                                                        {"meshes", &OutputSpec::meshes},
                                                                        {"raw", &OutputSpec::raw}};
  const char* defaults[] = {"slices", "grabcad.zip", "meshes", "voxels.raw"};
  for (std::size_t b = 0; b < 4; ++b) {
    const Json* v = Reader::optional(j, backends[b].first);
    if (!v) continue;
    const std::string path = child("output", backends[b].first);
    std::string name;
    if (v->is_boolean()) {
      name = v->get<bool>() ? defaults[b] : "";
    } else if (v->is_string()) {
      name = r.name(*v, path);
      const fs::path p(name);
      const bool escapes = std::any_of(p.begin(), p.end(), [](const fs::path& part) { return part == ".."; });
      if (p.is_absolute() || escapes) r.fail(path, "must be a name inside the output directory, got '" + name + "'");
    } else {
      r.fail(path, "expected true, false or a name inside the output directory, got " + describe(*v));
    }
    out.*(backends[b].second) = name;
  }
  for (std::size_t a = 0; a < 4; ++a) {
    for (std::size_t b = a + 1; b < 4; ++b) {
      const std::string& x = out.*(backends[a].second);
      if (!x.empty() && x == out.*(backends[b].second)) {
        r.fail(child("output", backends[b].first), "'" + x + "' is also the name of output." + backends[a].first);
      }
    }
  }
  if (out.png.empty() && out.grabcad.empty() && out.meshes.empty() && out.raw.empty()) {
    r.fail("output", "every backend is off; enable at least one of png, grabcad, meshes, raw");
  }
  return out;
}

// Number text for Program::set_uniform: exact round trip.
std::string uniform_text(const UniformValue& v) {
  if (const bool* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (const double* d = std::get_if<double>(&v)) return format_number(*d);
  if (const auto* a = std::get_if<std::vector<double>>(&v)) {
    std::string s;
    for (double x : *a) s += (s.empty() ? "" : ",") + format_number(x);
    return s;
  }
  return std::get<std::string>(v);
}

std::string describe_value(const UniformValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return "the name '" + *s + "'";
  if (std::holds_alternative<std::vector<double>>(v)) return "[" + uniform_text(v) + "]";
  return uniform_text(v);
}

std::vector<std::string> material_names(const PrinterSpec& p) {
  std::vector<std::string> names;
  for (const Material& m : p.materials) names.push_back(m.name);
  return names;
}

}  // namespace

// ---- Matrices ------------------------------------------------------------------------------------

Mat4 identity_matrix() { return {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}; }

Mat4 multiply(const Mat4& a, const Mat4& b) {
  Mat4 m{};
  for (std::size_t r = 0; r < 4; ++r) {
    for (std::size_t c = 0; c < 4; ++c) {
      double s = 0;
      for (std::size_t k = 0; k < 4; ++k) s += a[4 * r + k] * b[4 * k + c];
      m[4 * r + c] = s;
    }
  }
  return m;
}

Mat4 translation_matrix(Vec3d offset_mm) {
  Mat4 m = identity_matrix();
  m[3] = offset_mm.x;
  m[7] = offset_mm.y;
  m[11] = offset_mm.z;
  return m;
}

Mat4 scale_matrix(Vec3d factors) {
  Mat4 m = identity_matrix();
  m[0] = factors.x;
  m[5] = factors.y;
  m[10] = factors.z;
  return m;
}

Mat4 rotation_matrix(int axis, double degrees) {
  // Exact values at multiples of 90 degrees, so axis-aligned rotations stay exact.
  const double turns = degrees / 90;
  double c = 0, s = 0;
  if (turns == std::floor(turns)) {
    const long q = static_cast<long>(std::fmod(std::fmod(turns, 4) + 4, 4));
    c = q == 0 ? 1 : q == 2 ? -1 : 0;
    s = q == 1 ? 1 : q == 3 ? -1 : 0;
  } else {
    c = std::cos(degrees * kPi / 180);
    s = std::sin(degrees * kPi / 180);
  }
  const std::size_t a = static_cast<std::size_t>((axis + 1) % 3), b = static_cast<std::size_t>((axis + 2) % 3);
  Mat4 m = identity_matrix();
  m[4 * a + a] = c;
  m[4 * a + b] = -s;
  m[4 * b + a] = s;
  m[4 * b + b] = c;
  return m;
}

Mat4 compose_transform(Vec3d translate_mm, Vec3d rotate_deg, Vec3d scale) {
  Mat4 m = scale_matrix(scale);
  m = multiply(rotation_matrix(0, rotate_deg.x), m);
  m = multiply(rotation_matrix(1, rotate_deg.y), m);
  m = multiply(rotation_matrix(2, rotate_deg.z), m);
  return multiply(translation_matrix(translate_mm), m);
}

Vec3d transform_point(const Mat4& m, Vec3d p) {
  return {m[0] * p.x + m[1] * p.y + m[2] * p.z + m[3], m[4] * p.x + m[5] * p.y + m[6] * p.z + m[7],
          m[8] * p.x + m[9] * p.y + m[10] * p.z + m[11]};
}

double linear_determinant(const Mat4& m) {
  return m[0] * (m[5] * m[10] - m[6] * m[9]) - m[1] * (m[4] * m[10] - m[6] * m[8]) + m[2] * (m[4] * m[9] - m[5] * m[8]);
}

Mesh transform_mesh(const Mesh& mesh, const Mat4& m) {
  Mesh out = mesh;
  for (Vec3f& v : out.vertices) {
    const Vec3d p = transform_point(m, to_double(v));
    v = {static_cast<float>(p.x), static_cast<float>(p.y), static_cast<float>(p.z)};
  }
  if (linear_determinant(m) < 0) flip_orientation(out);
  return out;
}

// ---- World ---------------------------------------------------------------------------------------

int PrinterSpec::material_index(std::string_view material_name) const {
  for (std::size_t i = 0; i < materials.size(); ++i) {
    if (materials[i].name == material_name) return static_cast<int>(i);
  }
  return -1;
}

int World::mesh_index(std::string_view name) const {
  for (std::size_t i = 0; i < meshes.size(); ++i) {
    if (meshes[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

int World::texture_index(std::string_view name) const {
  for (std::size_t i = 0; i < textures.size(); ++i) {
    if (textures[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

World parse_world(std::string_view json_text, const fs::path& base_dir, std::string_view source_name) {
  const Reader r{std::string(source_name)};
  const Json j = parse_json(json_text, r);
  if (!j.is_object()) r.fail("", "a fab world must be a JSON object, got " + describe(j));
  r.check_keys(j, "", {"printer", "textures", "meshes", "shapes", "output", "memory_budget_mb", "threads"});
  World w;
  w.source = std::string(source_name);
  w.base_dir = base_dir;
  w.printer = parse_printer(r.required(j, "", "printer"), r);
  if (const Json* v = Reader::optional(j, "textures")) w.textures = parse_textures(*v, base_dir, r);
  w.meshes = parse_meshes(r.required(j, "", "meshes"), base_dir, r);

  const Json& shapes = r.required(j, "", "shapes");
  if (!shapes.is_array()) r.fail("shapes", "expected an array of shapes, got " + describe(shapes));
  if (shapes.empty()) r.fail("shapes", "the world has no shapes");
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    ShapeSpec s = parse_shape(shapes[i], element("shapes", i), w, r);
    for (std::size_t k = 0; k < w.shapes.size(); ++k) {
      if (w.shapes[k].name == s.name) {
        r.fail(child(element("shapes", i), "name"),
               "duplicate shape name '" + s.name + "' (also " + element("shapes", k) + ")");
      }
    }
    w.shapes.push_back(std::move(s));
  }

  if (const Json* v = Reader::optional(j, "output")) w.output = parse_output(*v, r);
  if (const Json* v = Reader::optional(j, "memory_budget_mb")) {
    w.memory_budget_mb = static_cast<std::size_t>(r.integer(*v, "memory_budget_mb", 16, 1LL << 24));
  }
  if (const Json* v = Reader::optional(j, "threads")) w.threads = static_cast<int>(r.integer(*v, "threads", 1, 1024));
  return w;
}

World load_world(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw input_error(path.string() + ": cannot open the fab world file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw input_error(path.string() + ": read error");
  const fs::path base = fs::absolute(path).lexically_normal().parent_path();
  return parse_world(text.str(), base, path.string());
}

std::vector<Mesh> load_meshes(const World& world) {
  std::vector<Mesh> meshes;
  meshes.reserve(world.meshes.size());
  for (const MeshSpec& spec : world.meshes) {
    const std::string where = world.source + ": meshes." + spec.name + ": ";
    Mesh mesh;
    try {
      if (spec.primitive) {
        const PrimitiveSpec& p = *spec.primitive;
        switch (p.kind) {
          case PrimitiveKind::box:
            mesh = box_mesh(p.size_mm);
            break;
          case PrimitiveKind::sphere:
            mesh = sphere_mesh(p.radius_mm, p.tessellation);
            break;
          case PrimitiveKind::cylinder:
            mesh = cylinder_mesh(p.radius_mm, p.height_mm, p.tessellation);
            break;
          case PrimitiveKind::torus:
            mesh = torus_mesh(p.major_radius_mm, p.minor_radius_mm, p.tessellation);
            break;
        }
      } else {
        mesh = read_mesh(spec.file);
        validate_mesh(mesh, spec.file.string());
      }
    } catch (const Error& e) {
      throw input_error(where + e.what());
    }
    if (mesh.empty()) throw input_error(where + spec.file.string() + " has no triangles");
    meshes.push_back(std::move(mesh));
  }
  return meshes;
}

// ---- Fablets -------------------------------------------------------------------------------------

namespace {

using openfl::Type;

std::shared_ptr<const openfl::Program> compile_fablet(const ShapeSpec& shape, const std::string& spath,
                                                      const Reader& r) {
  const std::string file = shape.fablet.string();
  std::optional<openfl::CompileResult> compiled;
  try {
    compiled.emplace(openfl::compile_file(file));
  } catch (const Error& e) {
    r.fail(child(spath, "fablet"), e.what());
  }
  if (!compiled->program) {
    std::string text = compiled->diagnostics.format_all();
    while (!text.empty() && text.back() == '\n') text.pop_back();
    r.fail(child(spath, "fablet"), "cannot compile " + file + " (shape '" + shape.name + "'):\n" + text);
  }
  return compiled->program;
}

// Applies a shape's overrides to result.values; texture_of[u] = world texture bound to uniform u.
void bind_overrides(const World& world, const ShapeSpec& shape, const std::string& spath, const Reader& r,
                    ShapeFablet& result, std::vector<int>& texture_of) {
  const openfl::Program& p = *result.program;
  const auto& infos = p.uniforms();
  for (const auto& [name, value] : shape.uniforms) {
    const std::string upath = child(child(spath, "uniforms"), name);
    const auto set = [&](const std::string& text) {
      try {
        p.set_uniform(result.values, name, text);
      } catch (const Error& e) {
        r.fail(upath, e.what());
      }
    };
    const auto info =
        std::find_if(infos.begin(), infos.end(), [&](const openfl::UniformInfo& u) { return u.name == name; });
    if (info == infos.end()) {
      set("");  // throws set_uniform's "fablet 'X' has no uniform 'y' (its uniforms: ...)"
      continue;
    }
    const std::string what = "uniform '" + name + "' has type " + std::string(openfl::type_name(info->type));
    const auto* text = std::get_if<std::string>(&value);
    if (info->type == Type::material) {
      if (!text) r.fail(upath, what + "; expected a printer material name, got " + describe_value(value));
      if (world.printer.material_index(*text) < 0) {
        r.fail(upath,
               "no printer material named '" + *text + "' (materials: " + join(material_names(world.printer)) + ")");
      }
      set(*text);
    } else if (info->type == Type::texture) {
      if (!text) r.fail(upath, what + "; expected a texture name, got " + describe_value(value));
      const int t = world.texture_index(*text);
      if (t < 0) {
        std::vector<std::string> names;
        for (const TextureSpec& ts : world.textures) names.push_back(ts.name);
        r.fail(upath, "no texture named '" + *text + "' (textures: " + join(names) + ")");
      }
      set(world.textures[static_cast<std::size_t>(t)].path.string());
      texture_of[static_cast<std::size_t>(info - infos.begin())] = t;
    } else {
      if (text) r.fail(upath, what + "; expected a value of that type, got " + describe_value(value));
      set(uniform_text(value));
    }
  }
}

// Checks what the overrides left to the fablet's defaults: materials the printer must have, images
// that must exist (made absolute), uniforms without any value.
void check_defaults(const World& world, const ShapeSpec& shape, const std::string& spath, const Reader& r,
                    ShapeFablet& result, const std::vector<int>& texture_of) {
  const openfl::Program& p = *result.program;
  const auto& infos = p.uniforms();
  const std::string fablet_desc = "fablet '" + p.name() + "' (" + shape.fablet.string() + ")";
  for (std::size_t u = 0; u < infos.size(); ++u) {
    const std::string set_it = "; set it in " + child(child(spath, "uniforms"), infos[u].name);
    std::string& text = result.values.texts[u];
    const bool textual = infos[u].type == Type::material || infos[u].type == Type::texture;
    if (textual ? text.empty() : result.values.values[u].type != infos[u].type) {
      r.fail(spath, fablet_desc + ": uniform '" + infos[u].name + "' has no default" + set_it);
    }
    if (infos[u].type == Type::material && world.printer.material_index(text) < 0) {
      r.fail(spath, fablet_desc + ": material uniform '" + infos[u].name + "' defaults to '" + text +
                        "', which the printer does not have (materials: " + join(material_names(world.printer)) + ")" +
                        set_it);
    }
    if (infos[u].type == Type::texture && texture_of[u] < 0) {
      // A fablet's default image path is relative to the fablet's folder.
      fs::path image(text);
      if (image.is_relative()) image = (shape.fablet.parent_path() / image).lexically_normal();
      std::error_code ec;
      if (!fs::is_regular_file(image, ec)) {
        r.fail(spath, fablet_desc + ": texture uniform '" + infos[u].name + "' defaults to " + image.string() +
                          ", which does not exist" + set_it);
      }
      text = image.string();
    }
  }
  p.check_complete(result.values);  // covered by the checks above; kept as a guard
}

}  // namespace

std::vector<ShapeFablet> compile_fablets(const World& world) {
  const Reader r{world.source};
  std::map<std::string, std::shared_ptr<const openfl::Program>> programs;  // each file compiled once
  std::vector<ShapeFablet> out;
  for (std::size_t i = 0; i < world.shapes.size(); ++i) {
    const ShapeSpec& shape = world.shapes[i];
    const std::string spath = element("shapes", i);
    ShapeFablet result;
    if (shape.fablet.empty()) {
      result.material_slots = {shape.material};
      out.push_back(std::move(result));
      continue;
    }
    auto& program = programs[shape.fablet.string()];
    if (!program) program = compile_fablet(shape, spath, r);
    result.program = program;
    result.values = program->defaults();
    std::vector<int> texture_of(program->uniforms().size(), -1);
    bind_overrides(world, shape, spath, r, result, texture_of);
    check_defaults(world, shape, spath, r, result, texture_of);
    for (int slot = 0; slot < program->material_count(); ++slot) {
      const auto u = static_cast<std::size_t>(program->material_uniform(slot));
      result.material_slots.push_back(world.printer.material_index(result.values.texts[u]));
    }
    for (int slot = 0; slot < program->texture_count(); ++slot) {
      const int t = texture_of[static_cast<std::size_t>(program->texture_uniform(slot))];
      result.texture_wraps.push_back(t < 0 ? openfl::Wrap::repeat : world.textures[static_cast<std::size_t>(t)].wrap);
    }
    out.push_back(std::move(result));
  }
  return out;
}

void check_fablets(const World& world) { (void)compile_fablets(world); }

std::vector<float> uv_coordinates(const Mesh& mesh, UvProjection projection) {
  std::vector<float> uv;
  if (projection == UvProjection::none || mesh.vertices.empty()) return uv;
  Vec3d lo{mesh.vertices[0].x, mesh.vertices[0].y, mesh.vertices[0].z}, hi = lo;
  for (const Vec3f& p : mesh.vertices) {
    lo = {std::min(lo.x, double(p.x)), std::min(lo.y, double(p.y)), std::min(lo.z, double(p.z))};
    hi = {std::max(hi.x, double(p.x)), std::max(hi.y, double(p.y)), std::max(hi.z, double(p.z))};
  }
  const Vec3d centre = (lo + hi) * 0.5;
  const double pi = 3.14159265358979323846;
  uv.reserve(mesh.vertices.size() * 2);
  for (const Vec3f& p : mesh.vertices) {
    double u = 0, v = 0;
    if (projection == UvProjection::planar_xy) {
      u = hi.x > lo.x ? (p.x - lo.x) / (hi.x - lo.x) : 0.0;
      v = hi.y > lo.y ? (p.y - lo.y) / (hi.y - lo.y) : 0.0;
    } else {
      const Vec3d d{p.x - centre.x, p.y - centre.y, p.z - centre.z};
      const double r = std::sqrt(d.x * d.x + d.y * d.y + d.z * d.z);
      u = std::atan2(d.y, d.x) / (2 * pi) + 0.5;
      v = r > 0 ? 1.0 - std::acos(std::clamp(d.z / r, -1.0, 1.0)) / pi : 0.5;
    }
    uv.push_back(static_cast<float>(u));
    uv.push_back(static_cast<float>(v));
  }
  return uv;
}

}  // namespace fabforge::voxel
