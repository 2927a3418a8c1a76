#pragma once
/// Meshes too large to hold: read piece by piece, and built with their older part on disk.
///
/// A marching-cubes mesh of a voxel job at printer resolution can have tens of millions of
/// triangles per material (about 18 bytes each as an indexed Mesh), more than the job's memory
/// budget. MeshReader is read access in pieces, which the STL and 3MF writers stream from;
/// SpillMesh is a mesh built by appending whose older vertices and triangles move to a temporary
/// file (unlinked on creation, so nothing is left behind by a crash) when told to, keeping only
/// the recent tail in memory. MeshRef presents an in-memory Mesh as a MeshReader.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>
#include <vector>

#include "fabforge/core/mesh.hpp"

namespace fabforge {

/// Read access to an indexed mesh, piece by piece. Reads throw Error (runtime) if the storage
/// fails and Error (usage) for a range beyond the counts.
class MeshReader {
 public:
  virtual ~MeshReader() = default;
  virtual std::size_t vertex_count() const = 0;
  virtual std::size_t triangle_count() const = 0;
  /// Copies vertices [first, first + out.size()) into out.
  virtual void read_vertices(std::size_t first, std::span<Vec3f> out) const = 0;
  /// Copies triangles [first, first + out.size()) into out.
  virtual void read_triangles(std::size_t first, std::span<Triangle> out) const = 0;
  /// The whole vertex array when it is in memory (lets readers skip copies), else empty.
  virtual std::span<const Vec3f> vertices_in_memory() const { return {}; }
  bool empty() const { return triangle_count() == 0; }
};

/// An in-memory Mesh as a MeshReader (borrowed: the mesh must outlive it).
class MeshRef final : public MeshReader {
 public:
  explicit MeshRef(const Mesh& mesh) : mesh_(&mesh) {}
  std::size_t vertex_count() const override { return mesh_->vertices.size(); }
  std::size_t triangle_count() const override { return mesh_->triangles.size(); }
  void read_vertices(std::size_t first, std::span<Vec3f> out) const override;
  void read_triangles(std::size_t first, std::span<Triangle> out) const override;
  std::span<const Vec3f> vertices_in_memory() const override { return mesh_->vertices; }

 private:
  const Mesh* mesh_;
};

/// Throws Error (input) naming `source` for a NaN or infinite vertex or a triangle index beyond
/// the vertices, as validate_mesh does for a Mesh, reading the mesh once in pieces.
void validate_mesh(const MeshReader& mesh, std::string_view source);

/// The whole mesh in memory.
Mesh read_all(const MeshReader& mesh);

/// Vertex lookups by index through a small cache of blocks, for writers that walk the triangles
/// in order: with the locality of a mesh built layer by layer (a triangle's vertices were made
/// in its own layer or the one before) nearly every lookup hits. Memory: at most
/// kBlocks * kBlockVertices vertices. Reads straight from memory when the reader holds its
/// vertices there.
class VertexCache {
 public:
  static constexpr std::size_t kBlockVertices = 4096;
  static constexpr std::size_t kBlocks = 256;  // 12 MiB

  /// The mesh must not grow while the cache is used.
  explicit VertexCache(const MeshReader& mesh);
  /// Vertex `index`; Error (usage) if it is beyond the mesh's vertices.
  const Vec3f& operator[](std::uint32_t index);

 private:
  const Vec3f& miss(std::uint32_t index);

  const MeshReader& mesh_;
  std::size_t count_;  // the mesh's vertices
  std::span<const Vec3f> memory_;
  std::vector<Vec3f> storage_;            // kBlocks blocks
  std::vector<std::size_t> block_of_;     // block held by each slot, or npos
  std::vector<std::uint64_t> last_used_;  // per slot
  std::vector<std::int32_t> slot_of_;     // slot holding each block of the mesh, or -1
  std::uint64_t clock_ = 0;
  std::size_t recent_slot_ = 0;  // the slot of the last lookup, tried first
};

/// A mesh built by appending vertices and triangles. Everything stays in memory until spill()
/// moves what is there to two temporary files in the folder given at construction (made on the
/// first spill, unlinked at once: they vanish with the object or the process). Reading sees one
/// mesh whatever was spilled. Movable, not copyable; not thread-safe.
class SpillMesh final : public MeshReader {
 public:
  /// A mesh that never spills (spill() is then an error).
  SpillMesh() = default;
  /// A mesh that spills into `folder`, which must exist when spill() is first called.
  explicit SpillMesh(std::filesystem::path folder);
  ~SpillMesh() override;
  SpillMesh(SpillMesh&& other) noexcept;
  SpillMesh& operator=(SpillMesh&& other) noexcept;
  SpillMesh(const SpillMesh&) = delete;
  SpillMesh& operator=(const SpillMesh&) = delete;

  /// Appends a vertex; returns its index.
  std::uint32_t add_vertex(const Vec3f& v) {
    const auto index = static_cast<std::uint32_t>(spilled_vertices_ + vertices_.size());
    vertices_.push_back(v);
    return index;
  }
  void add_triangle(const Triangle& t) { triangles_.push_back(t); }

  /// Bytes of the in-memory tail (its vectors' capacity).
  std::size_t memory_bytes() const noexcept {
    return vertices_.capacity() * sizeof(Vec3f) + triangles_.capacity() * sizeof(Triangle);
  }
  /// Vertices and triangles in the files.
  std::size_t spilled_vertices() const noexcept { return spilled_vertices_; }
  std::size_t spilled_triangles() const noexcept { return spilled_triangles_; }
  bool spills() const noexcept { return !folder_.empty(); }

  /// Appends the in-memory tail to the files and empties it (keeping its capacity). Throws
  /// Error (usage) for a mesh made without a folder, Error (runtime) naming the folder if a
  /// file cannot be made or written (a full disk); the mesh is unchanged then.
  void spill();
  /// Frees the in-memory tail's capacity (after the last spill).
  void release_memory();

  std::size_t vertex_count() const override { return spilled_vertices_ + vertices_.size(); }
  std::size_t triangle_count() const override { return spilled_triangles_ + triangles_.size(); }
  void read_vertices(std::size_t first, std::span<Vec3f> out) const override;
  void read_triangles(std::size_t first, std::span<Triangle> out) const override;
  std::span<const Vec3f> vertices_in_memory() const override {
    return spilled_vertices_ == 0 ? std::span<const Vec3f>(vertices_) : std::span<const Vec3f>();
  }

 private:
  void close_files() noexcept;

  std::filesystem::path folder_;
  int vertex_fd_ = -1, triangle_fd_ = -1;
  std::size_t spilled_vertices_ = 0, spilled_triangles_ = 0;
  std::vector<Vec3f> vertices_;       // the tail: vertices spilled_vertices_ onwards
  std::vector<Triangle> triangles_;   // triangles spilled_triangles_ onwards
};

}  // namespace fabforge
