#pragma once
/// The fab world: what the voxel pipeline prints (issue 6, stage 1; format in docs/voxel-world.md).
///
/// A fab world is a JSON document naming the printer (resolution, build volume, up to 64
/// materials), textures, meshes (files or built-in primitives), shapes (a mesh placed by a
/// transform, filled by an OpenFL fablet with uniform overrides, with a priority for overlaps),
/// the outputs to write and the memory budget. Parsing validates everything that can be checked
/// without reading meshes or compiling fablets, and is cheap; load_meshes() and compile_fablets()
/// do the expensive parts. Every error is a fabforge::Error (input) whose message names the
/// document and the JSON path: `world.json: shapes[2].mesh: no mesh named 'bunny' (meshes: body, sphere)`.
///
/// Units are millimetres. A transform maps mesh coordinates to printer coordinates (column vectors,
/// p' = M p). The World is a plain value; functions here are thread-safe on distinct arguments.

#include <array>
#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "fabforge/core/mesh.hpp"
#include "fabforge/core/vec.hpp"
#include "fabforge/openfl/program.hpp"
#include "fabforge/openfl/texture.hpp"
#include "fabforge/voxel/grid.hpp"
#include "fabforge/voxel/primitives.hpp"

namespace fabforge::voxel {

/// Most materials a printer table may hold (a voxel stores its material in 6 bits).
inline constexpr int kMaxMaterials = 64;

/// 4x4 affine matrix, row-major: element (row r, column c) is m[4 r + c]; the translation is
/// m[3], m[7], m[11] and the last row is 0 0 0 1.
using Mat4 = std::array<double, 16>;

Mat4 identity_matrix();
/// a * b: applies b first, then a.
Mat4 multiply(const Mat4& a, const Mat4& b);
Mat4 translation_matrix(Vec3d offset_mm);
Mat4 scale_matrix(Vec3d factors);
/// Rotation by `degrees` about the x, y or z axis (axis 0, 1, 2), counter-clockwise looking down
/// the axis towards the origin (right-hand rule).
Mat4 rotation_matrix(int axis, double degrees);
/// The documented composition: T(translate) * Rz * Ry * Rx * S(scale), i.e. scale, then rotate
/// about x, then y, then z (fixed axes), then translate.
Mat4 compose_transform(Vec3d translate_mm, Vec3d rotate_deg, Vec3d scale);
Vec3d transform_point(const Mat4& m, Vec3d p);
/// Determinant of the upper-left 3x3 block; negative for a mirroring transform.
double linear_determinant(const Mat4& m);
/// The mesh with every vertex transformed; the winding is reversed when the transform mirrors, so
/// the result stays outward-oriented.
Mesh transform_mesh(const Mesh& mesh, const Mat4& m);

/// The printer: resolution, build volume and material table.
struct PrinterSpec {
  std::string name;
  int x_dpi = 600;
  int y_dpi = 300;
  double layer_um = 27;
  Vec3d build_volume_mm{490, 390, 200};
  std::vector<Material> materials;  ///< 1 to kMaxMaterials, unique names and ids
  int support = -1;                 ///< index into materials of the support material; -1 = none

  double dx_mm() const { return 25.4 / x_dpi; }
  double dy_mm() const { return 25.4 / y_dpi; }
  double dz_mm() const { return layer_um / 1000; }
  /// Index of the material named `name`, or -1.
  int material_index(std::string_view material_name) const;
};

/// An image that fablets sample, by name.
struct TextureSpec {
  std::string name;
  std::filesystem::path path;  ///< absolute (relative paths resolved against the world's folder)
  openfl::Wrap wrap = openfl::Wrap::repeat;
};

enum class PrimitiveKind { box, sphere, cylinder, torus };

/// A built-in solid (primitives.hpp); only the fields of its kind are meaningful.
struct PrimitiveSpec {
  PrimitiveKind kind = PrimitiveKind::box;
  Vec3d size_mm{1, 1, 1};                           ///< box
  double radius_mm = 1;                             ///< sphere, cylinder
  double height_mm = 1;                             ///< cylinder
  double major_radius_mm = 2, minor_radius_mm = 1;  ///< torus
  TessellationOptions tessellation;
};

/// Texture coordinates a mesh gets as its per-vertex attribute "uv" (the surface phase's `uv`
/// parameter), computed in the mesh's own coordinates before the shape's transform.
///   planar_xy: (x, y) mapped from the mesh's bounding box to [0, 1]^2 (a postcard's faces);
///   spherical: longitude / (2 pi) + 0.5 and 1 - colatitude / pi about the bounding box centre
///   (a seam where u wraps; micropolygons straddling it interpolate across, a sliver at most).
enum class UvProjection { none, planar_xy, spherical };

/// A mesh, read from a file or built from a primitive. Several shapes may use one mesh.
struct MeshSpec {
  std::string name;
  std::filesystem::path file;              ///< absolute; empty for a primitive
  std::optional<PrimitiveSpec> primitive;  ///< set for a primitive
  UvProjection uv = UvProjection::none;
};

/// The "uv" attribute values of `mesh` for a projection (2 per vertex; empty for none).
std::vector<float> uv_coordinates(const Mesh& mesh, UvProjection projection);

/// A uniform override as written in JSON: a number, a bool, an array of numbers (vector or
/// matrix, matrices column-major as OpenFL expects), or a string naming a printer material or a
/// texture of the world.
using UniformValue = std::variant<double, bool, std::vector<double>, std::string>;

/// One placed solid.
struct ShapeSpec {
  std::string name;
  int mesh = 0;                                  ///< index into World::meshes
  Mat4 transform{};                              ///< mesh -> printer coordinates
  std::filesystem::path fablet;                  ///< absolute path of the .fl file; empty when `material` is used
  int material = -1;                             ///< without a fablet: fill with this printer material (index)
  std::map<std::string, UniformValue> uniforms;  ///< overrides by uniform name
  int priority = 0;                              ///< higher wins where shapes overlap
  std::optional<double> displacement_bound_mm;   ///< user bound on the surface phase's displacement
  /// How far the volume phase's surface queries look, mm: a voxel farther than this from the
  /// surface gets a miss (surface_distance() = +inf, point, normal and outs NaN). Unset: unlimited
  /// (exact everywhere, but every slab then needs the shape's whole surface).
  std::optional<double> surface_reach_mm;
};

/// Which backends run and the names they write, relative to the output directory given on the
/// command line. An empty name = backend off.
struct OutputSpec {
  std::string png = "slices";  ///< folder of layer PNGs
  std::string grabcad;         ///< GrabCAD Voxel Print zip
  std::string meshes;          ///< folder of per-material STL files and one 3MF
  std::string raw;             ///< 4-bit raw voxel file
};

struct World {
  std::string source;              ///< name used in messages (the JSON file as given)
  std::filesystem::path base_dir;  ///< folder relative paths were resolved against
  PrinterSpec printer;
  std::vector<TextureSpec> textures;
  std::vector<MeshSpec> meshes;   ///< in document order
  std::vector<ShapeSpec> shapes;  ///< in document order
  OutputSpec output;
  std::size_t memory_budget_mb = 1024;
  std::optional<int> threads;

  int mesh_index(std::string_view name) const;     ///< -1 when absent
  int texture_index(std::string_view name) const;  ///< -1 when absent
};

/// Parses and validates a world. `base_dir` resolves relative paths; `source_name` starts every
/// message. Checks that referenced files exist but does not read them. Throws input_error.
World parse_world(std::string_view json_text, const std::filesystem::path& base_dir,
                  std::string_view source_name = "world.json");

/// Reads and parses a world file; relative paths are taken from its folder. Throws input_error.
World load_world(const std::filesystem::path& path);

/// Builds or reads every mesh of the world, in World::meshes order (primitives in their own
/// coordinates; apply the shapes' transforms with transform_mesh). Throws input_error naming the
/// mesh and file for unreadable, malformed or empty meshes.
std::vector<Mesh> load_meshes(const World& world);

/// A shape's compiled fablet with its uniforms bound.
struct ShapeFablet {
  std::shared_ptr<const openfl::Program> program;  ///< null for a shape filled with one material
  openfl::UniformValues values;                    ///< defaults + overrides; texture texts are absolute image paths
  /// Printer material index of each material slot of the program (for a shape without a fablet:
  /// its one material).
  std::vector<int> material_slots;
  /// Per texture slot: the wrap mode (from the world's texture table; repeat for a fablet default).
  std::vector<openfl::Wrap> texture_wraps;
};

/// Compiles every shape's fablet (each file once) and binds its uniforms, in World::shapes order.
/// Throws input_error with the compiler's full diagnostics (file:line:col, source line, caret)
/// for a fablet with errors, and naming the shape and uniform for an unknown uniform, a value of
/// the wrong kind, a material the printer lacks (overrides and fablet defaults alike), a texture
/// the world lacks, or a uniform left without a value.
std::vector<ShapeFablet> compile_fablets(const World& world);

/// compile_fablets() for its checks only.
void check_fablets(const World& world);

}  // namespace fabforge::voxel
