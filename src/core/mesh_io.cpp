#include "fabforge/core/mesh_io.hpp"

#include <string>

#include "fabforge/core/error.hpp"
#include "fabforge/core/obj.hpp"
#include "fabforge/core/stl.hpp"
#include "fabforge/core/text.hpp"
#include "fabforge/core/threemf.hpp"

namespace fabforge {

Mesh read_mesh(const std::filesystem::path& path) {
  const std::string ext = lowercase_extension(path);
  if (ext == ".stl") return read_stl(path);
  if (ext == ".obj") return read_obj(path);
  if (ext == ".3mf") return merge_objects(read_3mf(path));
  throw input_error(path.string() + ": unknown mesh format '" + ext + "'; expected .stl, .obj or .3mf");
}

void write_mesh(const std::filesystem::path& path, const Mesh& mesh, std::string_view name) {
  const std::string ext = lowercase_extension(path);
  if (ext == ".stl") return write_stl(path, mesh, StlFormat::binary, name);
  if (ext == ".3mf") {
    ThreeMFModel model;
    model.objects.push_back({std::string(name), mesh, std::nullopt});
    model.metadata["Application"] = "fabforge";
    return write_3mf(path, model);
  }
  throw usage_error("cannot write '" + path.string() + "': unknown mesh format '" + ext + "'; use .stl or .3mf");
}

}  // namespace fabforge
