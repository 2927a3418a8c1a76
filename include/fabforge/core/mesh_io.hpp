#pragma once
/// Loading and saving meshes by file extension (.stl, .obj, .3mf).

#include <filesystem>
#include <string_view>

#include "fabforge/core/mesh.hpp"

namespace fabforge {

/// Reads STL, OBJ or 3MF (all objects of a 3MF merged, build transforms applied).
/// Throws Error (input) for an unknown extension or a malformed file.
Mesh read_mesh(const std::filesystem::path& path);

/// Writes STL (binary) or 3MF by extension, atomically. Throws Error (usage) for other extensions.
void write_mesh(const std::filesystem::path& path, const Mesh& mesh, std::string_view name = "fabforge");

}  // namespace fabforge
