#pragma once
/// 3MF packages (3D Manufacturing Format core specification 1.x): a zip (OPC package) holding
/// 3D/3dmodel.model plus any other files. fabforge writes several named objects, each with a
/// display colour (a core-spec <basematerials> group), and extra package files such as slicer
/// metadata (PrusaSlicer's colour-change list, OrcaSlicer's per-layer G-code), which is how the
/// relief stage hands colour changes to slicers.
///
/// Implemented with libzip (the package) and pugixml (the XML).

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fabforge/core/color.hpp"
#include "fabforge/core/mesh.hpp"
#include "fabforge/core/mesh_stream.hpp"

namespace fabforge {

/// One object of a model. Meshes are in millimetres, already placed (the writer emits identity
/// build transforms; the reader applies every transform it meets).
struct ThreeMFObject {
  std::string name;
  Mesh mesh;
  std::optional<color::Rgb8> color;  ///< display colour, if any
};

/// A file in the package other than the model, e.g. "Metadata/Prusa_Slicer_custom_gcode_per_print_z.xml".
struct PackageFile {
  std::string path;          ///< inside the zip, no leading slash
  std::string content;       ///< raw bytes
  std::string content_type;  ///< MIME type for [Content_Types].xml; empty: derived from the extension
};

struct ThreeMFModel {
  std::vector<ThreeMFObject> objects;
  std::vector<PackageFile> extra_files;
  /// Model-level <metadata name="...">value</metadata> (Title, Designer, Application, ...).
  std::map<std::string, std::string> metadata;
};

/// Models whose XML may exceed this many bytes are written streaming (see write_3mf).
inline constexpr std::uint64_t kThreeMFInMemoryModelBytes = std::uint64_t{256} << 20;

/// Writes a 3MF package atomically. Throws Error (usage) for an empty model, an object with no
/// triangles, a reserved or duplicate package path; Error (runtime) if the file cannot be written.
/// A model whose XML may exceed kThreeMFInMemoryModelBytes is made piece by piece while the zip
/// compresses it, so the writer holds the meshes and a few hundred kilobytes, not the text (about
/// five times a mesh's memory); its zip entry then carries a zip64 local header.
void write_3mf(const std::filesystem::path& path, const ThreeMFModel& model);

/// An object for write_3mf that borrows its mesh instead of holding a copy; the mesh may be
/// read in pieces from disk (SpillMesh) or be an in-memory Mesh wrapped in a MeshRef.
struct ThreeMFObjectRef {
  std::string name;
  const MeshReader* mesh = nullptr;  ///< must outlive the write_3mf call
  std::optional<color::Rgb8> color;
};

/// The same package from borrowed meshes, with model metadata and no extra files (for meshes too
/// large to copy, such as the voxel pipeline's per-material meshes); models whose XML may exceed
/// in_memory_limit bytes stream (0: always). Throws as above, and Error (usage) for a null mesh.
void write_3mf(const std::filesystem::path& path, const std::vector<ThreeMFObjectRef>& objects,
               const std::map<std::string, std::string>& metadata = {},
               std::uint64_t in_memory_limit = kThreeMFInMemoryModelBytes);

/// Reads a 3MF package: every object referenced by the build (components resolved, transforms
/// applied, units converted to millimetres), object colours from base materials, model metadata,
/// and every other file in the package as extra_files (the OPC bookkeeping files excluded).
/// Throws Error (input) naming the file and the problem: not a zip, no model part, malformed
/// XML, bad vertex indices, NaN coordinates, no objects.
ThreeMFModel read_3mf(const std::filesystem::path& path);

/// All objects of a model merged into one mesh.
Mesh merge_objects(const ThreeMFModel& model);

}  // namespace fabforge
