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

/// Writes a 3MF package atomically. Throws Error (usage) for an empty model, an object with no
/// triangles, a reserved or duplicate package path; Error (runtime) if the file cannot be written.
void write_3mf(const std::filesystem::path& path, const ThreeMFModel& model);

/// Reads a 3MF package: every object referenced by the build (components resolved, transforms
/// applied, units converted to millimetres), object colours from base materials, model metadata,
/// and every other file in the package as extra_files (the OPC bookkeeping files excluded).
/// Throws Error (input) naming the file and the problem: not a zip, no model part, malformed
/// XML, bad vertex indices, NaN coordinates, no objects.
ThreeMFModel read_3mf(const std::filesystem::path& path);

/// All objects of a model merged into one mesh.
Mesh merge_objects(const ThreeMFModel& model);

}  // namespace fabforge
