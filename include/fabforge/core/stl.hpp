#pragma once
/// STL files, binary and ASCII.
///
/// Reading detects the format from the content, not the first word: a file is binary when its
/// size is exactly 84 + 50 * (triangle count in the header), even if the header starts with
/// "solid" (many exporters write that); otherwise it must be ASCII "solid ... endsolid".
/// Coincident vertices are merged exactly, so the result is an indexed mesh.

#include <filesystem>
#include <string>
#include <string_view>

#include "fabforge/core/mesh.hpp"

namespace fabforge {

class MeshReader;

enum class StlFormat { binary, ascii };

/// Reads an STL file. Throws Error (input) naming the file and what is wrong: empty, truncated,
/// triangle count mismatch, NaN or infinite coordinates, ASCII syntax errors with line numbers.
Mesh read_stl(const std::filesystem::path& path);

/// Parses STL bytes; `source` names them in error messages.
Mesh parse_stl(std::string_view bytes, std::string_view source = "<memory>");

/// Writes an STL file atomically. Normals are computed from the winding.
void write_stl(const std::filesystem::path& path, const Mesh& mesh, StlFormat format = StlFormat::binary,
               std::string_view name = "fabforge");

/// Writes a binary STL atomically from a mesh read in pieces (an in-memory mesh's binary STL
/// goes this way too): the file is never held in memory, and a mesh on disk is read in order.
/// The same bytes as format_stl. Throws as write_stl above.
void write_stl(const std::filesystem::path& path, const MeshReader& mesh, std::string_view name = "fabforge");

/// Serializes a mesh as STL bytes.
std::string format_stl(const Mesh& mesh, StlFormat format = StlFormat::binary, std::string_view name = "fabforge");

}  // namespace fabforge
