#pragma once
/// Wavefront OBJ reading (geometry only: v and f; vt, vn, groups and materials are skipped).
/// Faces with more than three vertices are fan-triangulated; negative (relative) indices work.

#include <filesystem>
#include <string_view>

#include "fabforge/core/mesh.hpp"

namespace fabforge {

/// Reads an OBJ file. Throws Error (input) with file:line for malformed lines, out-of-range
/// indices, NaN coordinates, or a file with no faces.
Mesh read_obj(const std::filesystem::path& path);
Mesh parse_obj(std::string_view text, std::string_view source = "<memory>");

}  // namespace fabforge
