// fabforge mesh-info FILE: what a mesh file holds and whether a slicer will accept it.

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <string>
#include <vector>

#include "fabforge/core/mesh_io.hpp"
#include "fabforge/core/text.hpp"
#include "fabforge/core/threemf.hpp"

#include "app.hpp"

namespace fabforge::cli {

namespace {

struct MeshInfoOptions {
  std::string path;
  bool json = false;
};

struct LoadedMesh {
  Mesh mesh;
  std::string format;
  std::vector<std::string> objects;  // 3MF object names
};

LoadedMesh load(const std::string& path) {
  const std::string ext = lowercase_extension(path);
  LoadedMesh m;
  if (ext == ".3mf") {
    ThreeMFModel model = read_3mf(path);
    for (const auto& o : model.objects) m.objects.push_back(o.name);
    m.mesh = merge_objects(model);
    m.format = "3MF";
  } else {
    m.mesh = read_mesh(path);
    m.format = ext == ".obj" ? "OBJ" : "STL";
  }
  return m;
}

nlohmann::json vec_json(Vec3d v) { return nlohmann::json::array({v.x, v.y, v.z}); }

nlohmann::json to_json(const std::string& path, const LoadedMesh& m, const MeshReport& r) {
  nlohmann::json j;
  j["file"] = path;
  j["format"] = m.format;
  if (!m.objects.empty()) j["objects"] = m.objects;
  j["triangles"] = r.triangles;
  j["vertices"] = r.vertices;
  j["closed"] = r.closed;
  j["manifold"] = r.manifold;
  j["consistently_oriented"] = r.consistently_oriented;
  j["watertight"] = r.watertight();
  j["boundary_edges"] = r.boundary_edges;
  j["non_manifold_edges"] = r.non_manifold_edges;
  j["degenerate_triangles"] = r.degenerate_triangles;
  j["volume_mm3"] = r.volume;
  j["area_mm2"] = r.area;
  j["bounding_box"] = {
      {"min", vec_json(r.bounds.min)}, {"max", vec_json(r.bounds.max)}, {"size", vec_json(r.bounds.size())}};
  return j;
}

std::string yes_no(bool b) { return b ? "yes" : "no"; }

std::string fmt(const char* f, double a, double b = 0, double c = 0) {
  char buf[160];
  std::snprintf(buf, sizeof buf, f, a, b, c);
  return buf;
}

void print_text(std::ostream& out, const std::string& path, const LoadedMesh& m, const MeshReport& r) {
  out << "file:        " << path << " (" << m.format << ")\n";
  if (!m.objects.empty()) {
    out << "objects:     " << m.objects.size() << " (";
    for (std::size_t i = 0; i < m.objects.size(); ++i) out << (i ? ", " : "") << m.objects[i];
    out << ")\n";
  }
  out << "triangles:   " << r.triangles << "\n";
  out << "vertices:    " << r.vertices << "\n";
  out << "closed:      " << yes_no(r.closed);
  if (!r.closed) out << " (" << r.boundary_edges << " boundary edges, " << r.unbalanced_edges << " unmatched edges)";
  out << "\n";
  out << "manifold:    " << yes_no(r.manifold);
  if (r.non_manifold_edges) {
    out << " (" << r.non_manifold_edges
        << " edges shared by more than two triangles, e.g. solids touching along an edge)";
  }
  out << "\n";
  out << "oriented:    " << yes_no(r.consistently_oriented) << "\n";
  out << "watertight:  " << yes_no(r.watertight()) << "\n";
  if (r.degenerate_triangles) out << "degenerate:  " << r.degenerate_triangles << " triangles\n";
  out << "volume:      " << fmt("%.3f mm^3", r.volume) << "\n";
  out << "area:        " << fmt("%.3f mm^2", r.area) << "\n";
  out << "bounds min:  " << fmt("%.4f %.4f %.4f mm", r.bounds.min.x, r.bounds.min.y, r.bounds.min.z) << "\n";
  out << "bounds max:  " << fmt("%.4f %.4f %.4f mm", r.bounds.max.x, r.bounds.max.y, r.bounds.max.z) << "\n";
  const Vec3d s = r.bounds.size();
  out << "size:        " << fmt("%.4f x %.4f x %.4f mm", s.x, s.y, s.z) << "\n";
}

}  // namespace

void register_mesh_info(CLI::App& app, CommandEnv& env) {
  auto opts = std::make_shared<MeshInfoOptions>();
  CLI::App* sub =
      app.add_subcommand("mesh-info", "Report triangles, closedness, volume and bounds of an STL, OBJ or 3MF file");
  sub->add_option("file", opts->path, "Mesh file (.stl, .obj, .3mf)")->required();
  sub->add_flag("--json", opts->json, "Print the report as JSON");
  sub->callback([opts, &env] {
    const LoadedMesh m = load(opts->path);
    env.context().throw_if_cancelled();
    const MeshReport r = env.context().run([&] { return analyze_mesh(m.mesh); });
    if (opts->json) {
      env.out() << to_json(opts->path, m, r).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
      print_text(env.out(), opts->path, m, r);
    }
  });
}

}  // namespace fabforge::cli
