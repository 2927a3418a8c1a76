// fabforge openfl check|dump|eval: compile a fablet, show what the compiler made of it, and run
// one of its phases at a point (or over a box, with the interval interpreter).

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "fabforge/core/error.hpp"
#include "fabforge/core/mesh_io.hpp"
#include "fabforge/core/text.hpp"
#include "fabforge/openfl/binding.hpp"
#include "fabforge/openfl/bytecode.hpp"
#include "fabforge/openfl/exec.hpp"
#include "fabforge/openfl/program.hpp"

#include "app.hpp"

namespace fabforge::cli {

namespace {

using namespace fabforge::openfl;

struct OpenflOptions {
  std::string path;
  // dump
  bool ast = false, ir = false, bytecode = false;
  bool no_specialize = false, no_optimize = false;
  std::string phase;  // "", surface, volume
  std::vector<std::string> sets;
  // eval
  std::string at;
  std::string normal = "0,0,1";
  std::string uv = "0,0";
  std::vector<std::string> attrs;
  std::string mesh;
  bool reference = false;
  bool json = false;
};

/// Compiles, printing every diagnostic to stderr; throws when there were errors.
std::shared_ptr<const Program> compile_or_report(const std::string& path, CommandEnv& env) {
  CompileResult result = compile_file(path);
  if (!result.diagnostics.all().empty()) env.err() << result.diagnostics.format_all();
  if (!result.program) {
    const int n = result.diagnostics.error_count();
    throw input_error(path + ": " + std::to_string(n) + (n == 1 ? " error" : " errors"));
  }
  return result.program;
}

UniformValues uniform_values(const Program& program, const std::vector<std::string>& sets) {
  UniformValues values = program.defaults();
  for (const std::string& s : sets) {
    const std::size_t eq = s.find('=');
    if (eq == std::string::npos || eq == 0)
      throw usage_error("--set '" + s + "': expected NAME=VALUE, e.g. --set depth=0.5");
    program.set_uniform(values, trim(std::string_view(s).substr(0, eq)), trim(std::string_view(s).substr(eq + 1)));
  }
  return values;
}

std::vector<Phase> selected_phases(const Program& program, const std::string& phase) {
  if (phase == "surface") return {Phase::surface};
  if (phase == "volume") return {Phase::volume};
  std::vector<Phase> phases;
  for (Phase p : {Phase::surface, Phase::volume})
    if (program.has_phase(p)) phases.push_back(p);
  if (phases.empty()) phases.push_back(Phase::volume);
  return phases;
}

/// A comma-separated list of numbers, each either a value or a range lo:hi.
std::vector<Interval> parse_components(const std::string& text, const std::string& what, std::size_t count) {
  std::vector<Interval> out;
  std::string_view rest = text;
  while (true) {
    const std::size_t comma = rest.find(',');
    std::string_view item = trim(rest.substr(0, comma));
    auto number = [&](std::string_view s) {
      s = trim(s);
      float v = 0;
      const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
      if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size() || !std::isfinite(v))
        throw usage_error(what + " '" + text + "': '" + std::string(s) + "' is not a finite number");
      return v;
    };
    const std::size_t colon = item.find(':');
    if (colon == std::string_view::npos) {
      const float v = number(item);
      out.push_back({v, v});
    } else {
      const float lo = number(item.substr(0, colon)), hi = number(item.substr(colon + 1));
      if (lo > hi) throw usage_error(what + " '" + text + "': range " + std::string(item) + " has lo > hi");
      out.push_back({lo, hi});
    }
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  if (out.size() != count)
    throw usage_error(what + " '" + text + "': expected " + std::to_string(count) + " comma-separated numbers, got " +
                      std::to_string(out.size()));
  return out;
}

/// Answers surface queries against an undisplaced mesh by brute force, running the surface phase
/// at the nearest point for its displaced position and outs. Good for a few points from the
/// command line; the voxel pipeline queries the displaced micropolygons through a BVH instead.
class MeshHost : public TextureHost {
 public:
  MeshHost(std::vector<Texture> textures, Mesh mesh, std::shared_ptr<const Kernel> surface)
      : TextureHost(std::move(textures)), mesh_(std::move(mesh)), surface_(std::move(surface)) {
    if (mesh_.empty()) throw input_error("--mesh: the mesh has no triangles");
  }

  void surface_query(std::size_t n, const float* const xyz[3], float* const* columns, int column_count) const override {
    BatchExecutor surface(surface_);
    for (std::size_t i = 0; i < n; ++i) {
      const Vec3d p{xyz[0][i], xyz[1][i], xyz[2][i]};
      double best = std::numeric_limits<double>::infinity();
      Vec3d best_point, best_normal;
      double winding = 0;
      for (const Triangle& t : mesh_.triangles) {
        const Vec3d a = to_double(mesh_.vertices[t[0]]), b = to_double(mesh_.vertices[t[1]]),
                    c = to_double(mesh_.vertices[t[2]]);
        const Vec3d q = closest_point(p, a, b, c);
        const double d = length(q - p);
        if (d < best) {
          best = d;
          best_point = q;
          const Vec3d nrm = cross(b - a, c - a);
          const double len = length(nrm);
          best_normal = len > 0 ? nrm * (1.0 / len) : Vec3d{0, 0, 1};
        }
        winding += solid_angle(p, a, b, c);
      }
      const bool inside = winding / (4.0 * M_PI) > 0.5;
      // Surface phase at the nearest point: its displaced position and outs.
      std::vector<float> in(static_cast<std::size_t>(surface_->input_count), 0.0f);
      const float base[6] = {float(best_point.x),  float(best_point.y),  float(best_point.z),
                             float(best_normal.x), float(best_normal.y), float(best_normal.z)};
      std::copy(base, base + std::min<std::size_t>(6, in.size()), in.begin());
      std::vector<float> out(static_cast<std::size_t>(surface_->output_count));
      std::vector<const float*> in_cols;
      std::vector<float*> out_cols;
      for (float& v : in) in_cols.push_back(&v);
      for (float& v : out) out_cols.push_back(&v);
      surface.run(*this, 1, in_cols.data(), out_cols.data());
      std::vector<float> row(static_cast<std::size_t>(std::max(column_count, kQueryOuts)), 0.0f);
      row[kQuerySignedDistance] = static_cast<float>(inside ? -best : best);
      for (int k = 0; k < 3; ++k) row[static_cast<std::size_t>(kQueryPoint + k)] = out[static_cast<std::size_t>(k)];
      row[kQueryNormal + 0] = static_cast<float>(best_normal.x);
      row[kQueryNormal + 1] = static_cast<float>(best_normal.y);
      row[kQueryNormal + 2] = static_cast<float>(best_normal.z);
      for (int k = kQueryOuts; k < column_count; ++k)
        row[static_cast<std::size_t>(k)] = out[static_cast<std::size_t>(3 + k - kQueryOuts)];
      for (int k = 0; k < column_count; ++k) {
        if (columns[k] != nullptr) columns[k][i] = row[static_cast<std::size_t>(k)];
      }
    }
  }

 private:
  static Vec3d closest_point(Vec3d p, Vec3d a, Vec3d b, Vec3d c) {
    // Voronoi regions of the triangle (Ericson, Real-Time Collision Detection, 5.1.5).
    const Vec3d ab = b - a, ac = c - a, ap = p - a;
    const double d1 = dot(ab, ap), d2 = dot(ac, ap);
    if (d1 <= 0 && d2 <= 0) return a;
    const Vec3d bp = p - b;
    const double d3 = dot(ab, bp), d4 = dot(ac, bp);
    if (d3 >= 0 && d4 <= d3) return b;
    const double vc = d1 * d4 - d3 * d2;
    if (vc <= 0 && d1 >= 0 && d3 <= 0) return a + ab * (d1 / (d1 - d3));
    const Vec3d cp = p - c;
    const double d5 = dot(ab, cp), d6 = dot(ac, cp);
    if (d6 >= 0 && d5 <= d6) return c;
    const double vb = d5 * d2 - d1 * d6;
    if (vb <= 0 && d2 >= 0 && d6 <= 0) return a + ac * (d2 / (d2 - d6));
    const double va = d3 * d6 - d5 * d4;
    if (va <= 0 && (d4 - d3) >= 0 && (d5 - d6) >= 0) return b + (c - b) * ((d4 - d3) / ((d4 - d3) + (d5 - d6)));
    const double denom = 1.0 / (va + vb + vc);
    return a + ab * (vb * denom) + ac * (vc * denom);
  }
  /// Signed solid angle of triangle abc seen from p (Van Oosterom and Strackee).
  static double solid_angle(Vec3d p, Vec3d a, Vec3d b, Vec3d c) {
    const Vec3d x = a - p, y = b - p, z = c - p;
    const double lx = length(x), ly = length(y), lz = length(z);
    const double num = dot(x, cross(y, z));
    const double den = lx * ly * lz + dot(x, y) * lz + dot(y, z) * lx + dot(z, x) * ly;
    return 2.0 * std::atan2(num, den);
  }

  Mesh mesh_;
  std::shared_ptr<const Kernel> surface_;
};

std::string format_float(float v) {
  char buf[64];
  const int n = std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
  return n < 0 ? std::string() : std::string(buf);
}

std::vector<std::string> output_names(const Program& program, Phase phase) {
  std::vector<std::string> names;
  if (phase == Phase::volume) {
    for (int slot = 0; slot < program.material_count(); ++slot) {
      const UniformInfo& u = program.uniforms()[static_cast<std::size_t>(program.material_uniform(slot))];
      names.push_back(u.name);
    }
    return names;
  }
  for (const char* c : {"P.x", "P.y", "P.z"}) names.emplace_back(c);
  for (const OutInfo& o : program.outs()) {
    const int n = std::max(1, component_count(o.type));
    for (int k = 0; k < n; ++k) names.push_back(n == 1 ? o.name : o.name + "." + "xyzw"[k]);
  }
  return names;
}

void run_check(const OpenflOptions& o, CommandEnv& env) {
  const std::shared_ptr<const Program> program = compile_or_report(o.path, env);
  std::ostream& out = env.out();
  out << o.path << ": fablet " << program->name() << ": ok\n";
  out << "  phases: " << (program->has_phase(Phase::surface) ? "surface " : "")
      << (program->has_phase(Phase::volume) ? "volume" : "") << "\n";
  for (const UniformInfo& u : program->uniforms()) {
    out << "  uniform " << type_name(u.type) << " " << u.name;
    if (u.default_value) out << " = " << format_value(*u.default_value);
    if (!u.default_text.empty()) out << " = \"" << u.default_text << "\"";
    out << "\n";
  }
  for (const OutInfo& x : program->outs()) out << "  out " << type_name(x.type) << " " << x.name << "\n";
}

void run_dump(const OpenflOptions& o, CommandEnv& env) {
  const std::shared_ptr<const Program> program = compile_or_report(o.path, env);
  if (int(o.ast) + int(o.ir) + int(o.bytecode) != 1) throw usage_error("openfl dump: choose one of --ast, --ir, --bytecode");
  std::ostream& out = env.out();
  if (o.ast) {
    out << ast::dump(program->module());
    return;
  }
  const UniformValues values = uniform_values(*program, o.sets);
  for (Phase phase : selected_phases(*program, o.phase)) {
    const std::shared_ptr<const Kernel> kernel =
        program->kernel(phase, values, KernelOptions{!o.no_specialize, !o.no_optimize});
    out << "# " << program->name() << " " << phase_name(phase) << " phase\n";
    if (o.ir)
      out << ir::dump(kernel->ir, &kernel->uniformity);
    else
      out << bytecode::dump(*kernel->code);
  }
}

void run_eval(const OpenflOptions& o, CommandEnv& env) {
  const std::shared_ptr<const Program> program = compile_or_report(o.path, env);
  const Phase phase = o.phase == "surface" ? Phase::surface : Phase::volume;
  if (!o.phase.empty() && o.phase != "surface" && o.phase != "volume")
    throw usage_error("openfl eval: --phase must be surface or volume");
  const UniformValues values = uniform_values(*program, o.sets);
  program->check_complete(values);
  const std::shared_ptr<const Kernel> kernel = program->kernel(phase, values);

  // Input columns: the phase parameters by name.
  std::vector<Interval> inputs;
  for (const auto& [name, type] : program->phase_inputs(phase)) {
    const std::size_t n = static_cast<std::size_t>(component_count(type));
    std::vector<Interval> v;
    if (name == "P") {
      if (o.at.empty()) throw usage_error("openfl eval: --at x,y,z is required");
      v = parse_components(o.at, "--at", n);
    } else if (name == "N") {
      v = parse_components(o.normal, "--normal", n);
    } else if (name == "uv") {
      v = parse_components(o.uv, "--uv", n);
    } else {
      std::string text;
      for (const std::string& a : o.attrs)
        if (a.rfind(name + "=", 0) == 0) text = a.substr(name.size() + 1);
      v = text.empty() ? std::vector<Interval>(n, Interval{0, 0}) : parse_components(text, "--attr " + name, n);
    }
    inputs.insert(inputs.end(), v.begin(), v.end());
  }
  const bool box = std::any_of(inputs.begin(), inputs.end(), [](const Interval& i) { return i.lo != i.hi; });

  std::vector<Texture> textures = load_textures(*program, values, std::filesystem::path(o.path).parent_path());
  std::unique_ptr<Host> host;
  if (!o.mesh.empty() && phase == Phase::volume) {
    host = std::make_unique<MeshHost>(std::move(textures), read_mesh(o.mesh), program->kernel(Phase::surface, values));
  } else {
    host = std::make_unique<TextureHost>(std::move(textures));
  }

  const std::vector<std::string> names = output_names(*program, phase);
  std::vector<Interval> result;
  if (box) {
    if (o.reference) throw usage_error("openfl eval: --reference evaluates points; give --at without ranges");
    result = evaluate_intervals(*kernel, *host, inputs);
  } else {
    std::vector<float> in(inputs.size()), outv(static_cast<std::size_t>(kernel->output_count));
    for (std::size_t k = 0; k < inputs.size(); ++k) in[k] = inputs[k].lo;
    std::vector<const float*> in_cols;
    std::vector<float*> out_cols;
    for (float& v : in) in_cols.push_back(&v);
    for (float& v : outv) out_cols.push_back(&v);
    if (o.reference) {
      ReferenceInterpreter(program, values).run(phase, *host, 1, in_cols.data(), out_cols.data());
    } else {
      BatchExecutor(kernel).run(*host, 1, in_cols.data(), out_cols.data());
    }
    for (float v : outv) result.push_back({v, v});
  }

  std::ostream& out = env.out();
  if (o.json) {
    nlohmann::json j;
    j["fablet"] = program->name();
    j["phase"] = std::string(phase_name(phase));
    j["interpreter"] = box ? "interval" : (o.reference ? "reference" : "batched");
    nlohmann::json outputs = nlohmann::json::object();
    for (std::size_t k = 0; k < result.size() && k < names.size(); ++k) {
      auto num = [](float v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(format_float(v)); };
      outputs[names[k]] = box ? nlohmann::json::array({num(result[k].lo), num(result[k].hi)}) : num(result[k].lo);
    }
    j["outputs"] = outputs;
    out << j.dump(2) << "\n";
    return;
  }
  for (std::size_t k = 0; k < result.size() && k < names.size(); ++k) {
    out << names[k];
    if (phase == Phase::volume)
      out << " (" << values.texts[static_cast<std::size_t>(program->material_uniform(static_cast<int>(k)))] << ")";
    if (box)
      out << " in [" << format_float(result[k].lo) << ", " << format_float(result[k].hi) << "]\n";
    else
      out << " = " << format_float(result[k].lo) << "\n";
  }
}

}  // namespace

void register_openfl(CLI::App& app, CommandEnv& env) {
  CLI::App* top = app.add_subcommand("openfl", "The fablet language: check, dump and evaluate OpenFL programs");
  top->require_subcommand(1);
  auto o = std::make_shared<OpenflOptions>();
  const auto add_phase = [&](CLI::App* sub) {
    sub->add_option("--phase", o->phase, "Phase: surface or volume")
        ->check(CLI::IsMember({"surface", "volume"}));
  };
  const auto add_set = [&](CLI::App* sub) {
    sub->add_option("--set", o->sets, "Override a uniform: NAME=VALUE (repeatable; vectors as 1,2,3)");
  };

  CLI::App* check = top->add_subcommand("check", "Compile a fablet and report every diagnostic (exit 1 on errors)");
  check->add_option("file", o->path, "OpenFL file")->required();
  check->callback([o, &env] { run_check(*o, env); });

  CLI::App* dump = top->add_subcommand("dump", "Print the syntax tree, the IR or the bytecode of a fablet");
  dump->add_option("file", o->path, "OpenFL file")->required();
  dump->add_flag("--ast", o->ast, "The checked syntax tree");
  dump->add_flag("--ir", o->ir, "The optimised SSA IR of each phase");
  dump->add_flag("--bytecode", o->bytecode, "The register bytecode of each phase");
  dump->add_flag("--no-specialize", o->no_specialize, "Keep uniforms as loads instead of folding their values");
  dump->add_flag("--no-optimize", o->no_optimize, "Skip constant folding and dead-code elimination");
  add_phase(dump);
  add_set(dump);
  dump->callback([o, &env] { run_dump(*o, env); });

  CLI::App* eval = top->add_subcommand(
      "eval", "Run one phase at a point (batched or reference interpreter) or over a box (interval interpreter)");
  eval->add_option("file", o->path, "OpenFL file")->required();
  add_phase(eval);
  eval->add_option("--at", o->at, "Position P: x,y,z in mm; lo:hi ranges give intervals")->required();
  eval->add_option("--normal", o->normal, "Surface phase: normal N")->capture_default_str();
  eval->add_option("--uv", o->uv, "Surface phase: texture coordinates uv")->capture_default_str();
  eval->add_option("--attr", o->attrs, "Surface phase: another attribute, NAME=v1,v2,... (repeatable)");
  eval->add_option("--mesh", o->mesh, "Volume phase: mesh (STL, OBJ, 3MF) that answers surface queries");
  eval->add_flag("--reference", o->reference, "Use the reference tree-walking interpreter");
  eval->add_flag("--json", o->json, "Print the outputs as JSON");
  add_set(eval);
  eval->callback([o, &env] { run_eval(*o, env); });
}

}  // namespace fabforge::cli
