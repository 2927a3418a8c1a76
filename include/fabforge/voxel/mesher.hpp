#pragma once
/// Per-material surface meshes of a voxel job (issue 6, backend 5c): marching cubes over each
/// material's indicator field, streamed slice by slice.
///
/// The last stage of the voxel pipeline hands finished slices, in printer order, to a
/// MaterialMesher. For every material m it extracts the iso-0.5 surface of the indicator field
/// (1 where a voxel holds m, 0 elsewhere), sampled at voxel centres, over the grid padded by one
/// layer of void on every side, so every mesh is closed even where the part touches the grid's
/// boundary. Each material's mesh is closed on its own: where two materials touch, both meshes
/// have a face there (coincident, opposite orientation).
///
/// Surface rule. On a cube face whose corners alternate in/out (the ambiguous face of marching
/// cubes), the inside corners are always kept apart: a material is 6-connected, so voxels that
/// share only an edge or a corner get separate surface sheets. The rule depends only on the
/// face's four corners, so the two cubes sharing a face cut it identically; each cube's cut
/// segments link into cycles, each cycle is triangulated as a disk (minimum-area triangulation,
/// derived in code at first use, not copied from a table). The result is an indexed mesh that is
/// closed, edge-manifold (every edge in exactly two triangles), consistently oriented (each
/// directed edge once) and outward-facing (positive signed volume). Vertices are welded by the
/// grid edge they lie on; with a binary field each sits at the midpoint between two voxel
/// centres, i.e. on the shared voxel face. Flat faces of the voxel set are reproduced exactly;
/// edges and corners are chamfered (a single voxel becomes an octahedron of 1/6 its volume).
///
/// Memory: two padded slices plus hash maps of the vertices on the two current grid planes,
/// both proportional to one slice, and the growing output meshes. Given a folder to spill to,
/// the meshes' memory is capped too: once their in-memory parts pass a limit they move to
/// temporary files there (SpillMesh), and the writers stream from them, so a job of tens of
/// millions of triangles meshes within a fixed budget. Single-threaded and deterministic: the
/// same slices give byte-identical meshes and files, spilled or not.
///
/// Not thread-safe: one MaterialMesher is fed by one thread.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string_view>
#include <vector>

#include "fabforge/core/mesh.hpp"
#include "fabforge/core/mesh_stream.hpp"
#include "fabforge/voxel/grid.hpp"

namespace fabforge::voxel {

namespace detail {
/// Open-addressing hash map from 64-bit keys to 32-bit vertex indices, cleared per grid plane
/// (internal to MaterialMesher; its size follows the surface, not the slice).
class EdgeVertexMap {
 public:
  /// The value stored for `key`; if there is none, stores `value` and returns it (callers pass
  /// a fresh vertex index, so a returned `value` means "new"). Key ~0 is reserved.
  std::uint32_t find_or_insert(std::uint64_t key, std::uint32_t value);
  void clear();
  std::size_t size() const noexcept { return size_; }
  void swap(EdgeVertexMap& other) noexcept;

 private:
  void grow();
  std::vector<std::uint64_t> keys_;
  std::vector<std::uint32_t> values_;
  std::size_t size_ = 0;
};
}  // namespace detail

/// Where and when the meshes move to disk while slices come in.
struct MeshSpillOptions {
  std::filesystem::path folder;                   ///< empty: every mesh stays in memory
  std::size_t memory_bytes = std::size_t{64} << 20;  ///< spill all meshes before a slice once they hold more
};

class MaterialMesher {
 public:
  /// Meshes the given grid for the given material table (slice value m is material m - 1).
  /// Throws Error (usage) for a grid with nx or ny < 1, nz < 0, non-positive or non-finite voxel
  /// sizes or origin, or a table of more than 255 materials.
  MaterialMesher(const Grid& grid, std::vector<Material> materials, MeshSpillOptions spill = {});

  /// Adds the next layer. Slices must come in order k = 0, 1, ..., nz - 1, each grid.nx wide,
  /// grid.ny high, with nx * ny bytes. Throws Error (usage) for a slice out of order, of the
  /// wrong size, or after finish(); Error (input) naming the voxel for a material index beyond
  /// the table. A failed push leaves the mesher unchanged.
  void push(const Slice& slice);

  /// Closes the top of every mesh. Throws Error (usage) if fewer than nz slices were pushed or
  /// finish() was already called.
  void finish();

  bool finished() const noexcept { return finished_; }
  int material_count() const noexcept { return static_cast<int>(materials_.size()); }
  const std::vector<Material>& materials() const noexcept { return materials_; }
  /// Layers pushed so far.
  int slices_pushed() const noexcept { return next_k_; }

  /// The mesh of material `material` (0-based index into the table), in mm at the grid's
  /// coordinates, read in pieces (from disk where it was spilled). Empty for a material no voxel
  /// holds. Throws Error (usage) before finish() or for an index out of range.
  const MeshReader& mesh_reader(int material) const;
  /// The same mesh, whole in memory (a copy).
  Mesh mesh(int material) const { return read_all(mesh_reader(material)); }
  /// Triangles of a material's mesh.
  std::size_t triangle_count(int material) const { return mesh_reader(material).triangle_count(); }
  /// Vertices and triangles moved to disk so far, over all materials.
  std::size_t spilled_elements() const noexcept;

  /// Writes one binary STL per non-empty material, named `<base_name>_<index>_<name>.stl` in
  /// `folder` (created if missing), where index is the material's 0-based table index as two
  /// digits and name is the material name with characters other than [A-Za-z0-9_-] replaced by
  /// '_'. Materials with an empty mesh are skipped (an STL with no triangles is not a part).
  /// Returns the paths written, in table order. Each file is written atomically. Throws Error
  /// (usage) before finish() or for an empty base name; Error (runtime) if writing fails.
  std::vector<std::filesystem::path> write_stl_per_material(const std::filesystem::path& folder,
                                                            std::string_view base_name) const;

  /// Writes one 3MF package with one object per non-empty material, named after the material
  /// and coloured with its RGB (alpha dropped). Empty materials are skipped (3MF objects need
  /// triangles). Returns the 0-based indices of the materials written, in table order; object
  /// i of the package is material returned[i]. Written atomically. Throws Error (usage) before
  /// finish() or when every material is empty (nothing to write); Error (runtime) if writing
  /// fails.
  std::vector<int> write_3mf(const std::filesystem::path& path) const;

 private:
  void mesh_layer(const std::vector<std::uint8_t>& upper, int upper_k);
  void require_finished(const char* what) const;

  Grid grid_;
  std::vector<Material> materials_;
  MeshSpillOptions spill_;
  std::vector<SpillMesh> meshes_;
  int width_ = 0;                    // padded slice width, nx + 2
  int height_ = 0;                   // padded slice height, ny + 2
  std::vector<std::uint8_t> lower_;  // padded slice below the next cube layer
  std::vector<std::uint8_t> upper_;  // the incoming padded slice
  // Vertices already made on the lower plane, on the upper plane and on the vertical edges
  // between them, keyed by (grid edge, material).
  detail::EdgeVertexMap lower_map_, upper_map_, z_map_;
  int next_k_ = 0;
  bool finished_ = false;
};

}  // namespace fabforge::voxel
