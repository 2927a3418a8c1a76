// Compiling a file into a Program, and the Program's interface: uniforms, outs, phases.

#include "fabforge/openfl/program.hpp"

#include <bit>
#include <charconv>
#include <fstream>
#include <sstream>

#include "fabforge/core/error.hpp"

#include "checker.hpp"
#include "parser.hpp"

namespace fabforge::openfl {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool parse_float(std::string_view s, float& out) {
  s = trim(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool parse_int(std::string_view s, std::int32_t& out) {
  s = trim(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace

std::string_view phase_name(Phase phase) { return phase == Phase::surface ? "surface" : "volume"; }

Program::Program(ast::Module module) : module_(std::move(module)) {
  FABFORGE_CHECK(module_.fablet != nullptr, "a Program needs a fablet");
  const ast::Fablet& f = *module_.fablet;
  for (const ast::UniformDecl& u : f.uniforms) {
    UniformInfo info;
    info.name = u.name;
    info.type = u.type;
    info.default_value = u.default_value;
    info.default_text = u.default_text;
    if (u.type == Type::material || u.type == Type::texture) {
      info.slot = u.slot;
    } else {
      info.first_column = uniform_columns_;
      uniform_columns_ += component_count(u.type);
    }
    uniforms_.push_back(std::move(info));
  }
  for (const ast::OutDecl& o : f.outs) outs_.push_back({o.name, o.type, o.first_column});
  out_columns_ = f.out_columns;
  material_count_ = f.material_count;
  texture_count_ = f.texture_count;
}

int Program::material_uniform(int slot) const {
  for (std::size_t k = 0; k < uniforms_.size(); ++k) {
    if (uniforms_[k].type == Type::material && uniforms_[k].slot == slot) return static_cast<int>(k);
  }
  throw usage_error("fablet '" + name() + "' has no material slot " + std::to_string(slot));
}

int Program::texture_uniform(int slot) const {
  for (std::size_t k = 0; k < uniforms_.size(); ++k) {
    if (uniforms_[k].type == Type::texture && uniforms_[k].slot == slot) return static_cast<int>(k);
  }
  throw usage_error("fablet '" + name() + "' has no texture slot " + std::to_string(slot));
}

bool Program::has_phase(Phase phase) const {
  return phase == Phase::surface ? fablet().surface != nullptr : fablet().volume != nullptr;
}

std::vector<std::pair<std::string, Type>> Program::phase_inputs(Phase phase) const {
  if (phase == Phase::volume) return {{"P", Type::vec3}};
  if (!fablet().surface) return {{"P", Type::vec3}, {"N", Type::vec3}};
  std::vector<std::pair<std::string, Type>> inputs;
  for (const ast::Param& p : fablet().surface->params) inputs.emplace_back(p.name, p.type);
  return inputs;
}

int Program::input_columns(Phase phase) const {
  int n = 0;
  for (const auto& [name, type] : phase_inputs(phase)) n += component_count(type);
  return n;
}

int Program::output_columns(Phase phase) const { return phase == Phase::volume ? material_count_ : 3 + out_columns_; }

UniformValues Program::defaults() const {
  UniformValues v;
  for (const UniformInfo& u : uniforms_) {
    v.values.push_back(u.default_value ? *u.default_value : Value{});
    v.texts.push_back(u.default_text);
  }
  return v;
}

void Program::set_uniform(UniformValues& values, std::string_view name, std::string_view text) const {
  std::size_t index = uniforms_.size();
  for (std::size_t k = 0; k < uniforms_.size(); ++k) {
    if (uniforms_[k].name == name) index = k;
  }
  if (index == uniforms_.size()) {
    std::string known;
    for (const UniformInfo& u : uniforms_) known += (known.empty() ? "" : ", ") + u.name;
    throw usage_error("fablet '" + this->name() + "' has no uniform '" + std::string(name) + "'" +
                      (known.empty() ? " (it has no uniforms)" : " (its uniforms: " + known + ")"));
  }
  const UniformInfo& u = uniforms_[index];
  values.values.resize(uniforms_.size());
  values.texts.resize(uniforms_.size());
  const std::string what = "uniform '" + u.name + "' (" + std::string(type_name(u.type)) + ")";
  const auto bad = [&](const std::string& why) {
    return usage_error("cannot set " + what + " to '" + std::string(text) + "': " + why);
  };
  if (u.type == Type::material || u.type == Type::texture) {
    if (trim(text).empty()) throw bad(u.type == Type::material ? "expected a material name" : "expected an image path");
    values.texts[index] = std::string(text);
    return;
  }
  Value v = Value::zero(u.type);
  if (u.type == Type::bool_) {
    const std::string_view t = trim(text);
    if (t == "true" || t == "1") {
      v.b = true;
    } else if (t != "false" && t != "0") {
      throw bad("expected true or false");
    }
  } else if (u.type == Type::int_) {
    if (!parse_int(text, v.i)) throw bad("expected an integer");
  } else if (is_float_based(u.type)) {
    const int n = component_count(u.type);
    int count = 0;
    std::string_view rest = text;
    for (;;) {
      const std::size_t comma = rest.find(',');
      const std::string_view part = rest.substr(0, comma);
      float x = 0;
      if (!parse_float(part, x)) throw bad("'" + std::string(trim(part)) + "' is not a number");
      if (count < n) v.f[static_cast<std::size_t>(count)] = x;
      ++count;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    if (count != n) {
      throw bad("expected " + std::to_string(n) + (n == 1 ? " number" : " comma-separated numbers") + ", got " +
                std::to_string(count));
    }
  } else {
    throw bad("this uniform cannot be set");
  }
  values.values[index] = v;
}

void Program::check_complete(const UniformValues& values) const {
  std::string missing;
  for (std::size_t k = 0; k < uniforms_.size(); ++k) {
    const UniformInfo& u = uniforms_[k];
    const bool textual = u.type == Type::material || u.type == Type::texture;
    const bool set = textual ? k < values.texts.size() && !values.texts[k].empty()
                             : k < values.values.size() && values.values[k].type == u.type;
    if (!set) missing += (missing.empty() ? "'" : ", '") + u.name + "'";
  }
  if (!missing.empty()) {
    throw usage_error("fablet '" + name() + "': no value for uniform " + missing +
                      " (it has no default; set it with name=value)");
  }
}

ir::UniformColumns Program::uniform_columns_of(const UniformValues& values) const {
  ir::UniformColumns c;
  for (std::size_t k = 0; k < uniforms_.size(); ++k) {
    const UniformInfo& u = uniforms_[k];
    if (u.first_column < 0) continue;
    if (k >= values.values.size() || values.values[k].type != u.type) {
      throw usage_error("fablet '" + name() + "': no value for uniform '" + u.name + "'");
    }
    const Value& v = values.values[k];
    const int n = component_count(u.type);
    for (int j = 0; j < n; ++j) {
      if (u.type == Type::bool_) {
        c.types.push_back(ir::ScalarType::b1);
        c.bits.push_back(v.b ? 1u : 0u);
      } else if (u.type == Type::int_) {
        c.types.push_back(ir::ScalarType::i32);
        c.bits.push_back(static_cast<std::uint32_t>(v.i));
      } else {
        c.types.push_back(ir::ScalarType::f32);
        c.bits.push_back(std::bit_cast<std::uint32_t>(v.f[static_cast<std::size_t>(j)]));
      }
    }
  }
  return c;
}

CompileResult compile(std::string file_name, std::string text) {
  auto file = std::make_shared<const SourceFile>(std::move(file_name), std::move(text));
  CompileResult result{nullptr, Diagnostics(file)};
  ParseResult parsed = parse(file, result.diagnostics);
  check(parsed, result.diagnostics);
  if (!result.diagnostics.has_errors() && parsed.module.fablet) {
    result.program = std::make_shared<const Program>(std::move(parsed.module));
  }
  return result;
}

CompileResult compile_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw input_error(path + ": cannot open the fablet file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw input_error(path + ": cannot read the fablet file");
  return compile(path, text.str());
}

}  // namespace fabforge::openfl
