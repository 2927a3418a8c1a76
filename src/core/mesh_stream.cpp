#include "fabforge/core/mesh_stream.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

#include "fabforge/core/error.hpp"

namespace fabforge {

static_assert(sizeof(Vec3f) == 12 && std::is_trivially_copyable_v<Vec3f>);
static_assert(sizeof(Triangle) == 12 && std::is_trivially_copyable_v<Triangle>);

namespace {

void check_range(std::size_t first, std::size_t count, std::size_t size, const char* what) {
  if (first > size || count > size - first) {
    throw usage_error(std::string("mesh: reading ") + what + " " + std::to_string(first) + " to " +
                      std::to_string(first + count) + " of " + std::to_string(size));
  }
}

// Whole-buffer write and read at an offset, retried on short transfers and EINTR.
bool write_all(int fd, const void* data, std::size_t bytes) {
  const auto* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::write(fd, p, bytes);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += n;
    bytes -= static_cast<std::size_t>(n);
  }
  return true;
}

void read_all_at(int fd, void* data, std::size_t bytes, std::size_t offset) {
  auto* p = static_cast<char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::pread(fd, p, bytes, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      throw runtime_error(std::string("mesh: cannot read back a spilled mesh: ") +
                          (n < 0 ? std::strerror(errno) : "the temporary file is shorter than written"));
    }
    p += n;
    bytes -= static_cast<std::size_t>(n);
    offset += static_cast<std::size_t>(n);
  }
}

int make_unlinked_file(const std::filesystem::path& folder) {
  std::string name = (folder / ".fabforge-mesh-XXXXXX").string();
  const int fd = ::mkstemp(name.data());
  if (fd < 0) {
    throw runtime_error("mesh: cannot make a temporary file in '" + folder.string() + "' to hold a large mesh: " +
                        std::strerror(errno));
  }
  ::unlink(name.c_str());
  return fd;
}

// Reads elements [first, first + out.size()) of a sequence whose first `spilled` elements are in
// `fd` and the rest in `tail`.
template <typename T>
void read_split(int fd, std::size_t spilled, const std::vector<T>& tail, std::size_t first, std::span<T> out) {
  std::size_t done = 0;
  if (first < spilled) {
    done = std::min(out.size(), spilled - first);
    read_all_at(fd, out.data(), done * sizeof(T), first * sizeof(T));
  }
  if (done < out.size()) {
    const std::size_t from = first + done - spilled;
    std::copy_n(tail.begin() + static_cast<std::ptrdiff_t>(from), out.size() - done, out.begin() + done);
  }
}

}  // namespace

// --- MeshRef -----------------------------------------------------------------------------------

void MeshRef::read_vertices(std::size_t first, std::span<Vec3f> out) const {
  check_range(first, out.size(), mesh_->vertices.size(), "vertices");
  std::copy_n(mesh_->vertices.begin() + static_cast<std::ptrdiff_t>(first), out.size(), out.begin());
}

void MeshRef::read_triangles(std::size_t first, std::span<Triangle> out) const {
  check_range(first, out.size(), mesh_->triangles.size(), "triangles");
  std::copy_n(mesh_->triangles.begin() + static_cast<std::ptrdiff_t>(first), out.size(), out.begin());
}

void validate_mesh(const MeshReader& mesh, std::string_view source) {
  constexpr std::size_t kPiece = 1 << 16;
  std::vector<Vec3f> vertices(std::min(kPiece, mesh.vertex_count()));
  for (std::size_t first = 0; first < mesh.vertex_count(); first += kPiece) {
    const std::size_t n = std::min(kPiece, mesh.vertex_count() - first);
    mesh.read_vertices(first, std::span(vertices.data(), n));
    for (std::size_t i = 0; i < n; ++i) {
      if (!is_finite(vertices[i])) {
        throw input_error(std::string(source) + ": vertex " + std::to_string(first + i) +
                          " has a NaN or infinite coordinate");
      }
    }
  }
  std::vector<Triangle> triangles(std::min(kPiece, mesh.triangle_count()));
  const std::size_t nv = mesh.vertex_count();
  for (std::size_t first = 0; first < mesh.triangle_count(); first += kPiece) {
    const std::size_t n = std::min(kPiece, mesh.triangle_count() - first);
    mesh.read_triangles(first, std::span(triangles.data(), n));
    for (std::size_t i = 0; i < n; ++i) {
      for (std::uint32_t v : triangles[i]) {
        if (v >= nv) {
          throw input_error(std::string(source) + ": triangle " + std::to_string(first + i) + " refers to vertex " +
                            std::to_string(v) + " but there are only " + std::to_string(nv) + " vertices");
        }
      }
    }
  }
}

Mesh read_all(const MeshReader& mesh) {
  Mesh out;
  out.vertices.resize(mesh.vertex_count());
  out.triangles.resize(mesh.triangle_count());
  mesh.read_vertices(0, out.vertices);
  mesh.read_triangles(0, out.triangles);
  return out;
}

// --- VertexCache -------------------------------------------------------------------------------

VertexCache::VertexCache(const MeshReader& mesh)
    : mesh_(mesh), count_(mesh.vertex_count()), memory_(mesh.vertices_in_memory()) {
  if (memory_.empty() && mesh.vertex_count() > 0) {
    const std::size_t blocks = std::min(kBlocks, (mesh.vertex_count() + kBlockVertices - 1) / kBlockVertices);
    storage_.resize(blocks * kBlockVertices);
    block_of_.assign(blocks, std::numeric_limits<std::size_t>::max());
    last_used_.assign(blocks, 0);
    slot_of_.assign((count_ + kBlockVertices - 1) / kBlockVertices, -1);
  }
}

const Vec3f& VertexCache::operator[](std::uint32_t index) {
  if (!memory_.empty()) {
    if (index >= memory_.size()) return miss(index);  // reports the bad index
    return memory_[index];
  }
  const std::size_t block = index / kBlockVertices;
  if (index < count_ && block_of_[recent_slot_] == block) {
    return storage_[recent_slot_ * kBlockVertices + index % kBlockVertices];
  }
  return miss(index);
}

const Vec3f& VertexCache::miss(std::uint32_t index) {
  if (index >= count_) {
    throw usage_error("mesh: vertex " + std::to_string(index) + " requested, but there are only " +
                      std::to_string(count_) + " vertices");
  }
  const std::size_t block = index / kBlockVertices;
  std::size_t slot = 0;
  if (slot_of_[block] >= 0) {
    slot = static_cast<std::size_t>(slot_of_[block]);
  } else {
    for (std::size_t s = 1; s < block_of_.size(); ++s) {
      if (last_used_[s] < last_used_[slot]) slot = s;  // the least recently used
    }
    if (block_of_[slot] != std::numeric_limits<std::size_t>::max()) slot_of_[block_of_[slot]] = -1;
    block_of_[slot] = std::numeric_limits<std::size_t>::max();  // (empty until the read succeeds)
    const std::size_t first = block * kBlockVertices;
    const std::size_t n = std::min(kBlockVertices, count_ - first);
    mesh_.read_vertices(first, std::span(storage_.data() + slot * kBlockVertices, n));
    block_of_[slot] = block;
    slot_of_[block] = static_cast<std::int32_t>(slot);
  }
  last_used_[slot] = ++clock_;
  recent_slot_ = slot;
  return storage_[slot * kBlockVertices + index % kBlockVertices];
}

// --- SpillMesh ---------------------------------------------------------------------------------

SpillMesh::SpillMesh(std::filesystem::path folder) : folder_(std::move(folder)) {}

SpillMesh::~SpillMesh() { close_files(); }

SpillMesh::SpillMesh(SpillMesh&& other) noexcept
    : folder_(std::move(other.folder_)),
      vertex_fd_(std::exchange(other.vertex_fd_, -1)),
      triangle_fd_(std::exchange(other.triangle_fd_, -1)),
      spilled_vertices_(std::exchange(other.spilled_vertices_, 0)),
      spilled_triangles_(std::exchange(other.spilled_triangles_, 0)),
      vertices_(std::move(other.vertices_)),
      triangles_(std::move(other.triangles_)) {}

SpillMesh& SpillMesh::operator=(SpillMesh&& other) noexcept {
  if (this != &other) {
    close_files();
    folder_ = std::move(other.folder_);
    vertex_fd_ = std::exchange(other.vertex_fd_, -1);
    triangle_fd_ = std::exchange(other.triangle_fd_, -1);
    spilled_vertices_ = std::exchange(other.spilled_vertices_, 0);
    spilled_triangles_ = std::exchange(other.spilled_triangles_, 0);
    vertices_ = std::move(other.vertices_);
    triangles_ = std::move(other.triangles_);
  }
  return *this;
}

void SpillMesh::close_files() noexcept {
  if (vertex_fd_ >= 0) ::close(vertex_fd_);
  if (triangle_fd_ >= 0) ::close(triangle_fd_);
  vertex_fd_ = triangle_fd_ = -1;
}

void SpillMesh::spill() {
  if (folder_.empty()) throw usage_error("mesh: spill() on a mesh made without a folder to spill to");
  if (vertices_.empty() && triangles_.empty()) return;
  if (vertex_fd_ < 0) vertex_fd_ = make_unlinked_file(folder_);
  if (triangle_fd_ < 0) triangle_fd_ = make_unlinked_file(folder_);
  // On a failed write the files are cut back to what they held, so the mesh is unchanged.
  const auto fail = [&](int err) {
    if (::ftruncate(vertex_fd_, static_cast<off_t>(spilled_vertices_ * sizeof(Vec3f))) == 0 &&
        ::ftruncate(triangle_fd_, static_cast<off_t>(spilled_triangles_ * sizeof(Triangle))) == 0) {
      ::lseek(vertex_fd_, 0, SEEK_END);
      ::lseek(triangle_fd_, 0, SEEK_END);
    }
    return runtime_error("mesh: cannot write a large mesh's temporary file in '" + folder_.string() +
                         "': " + std::strerror(err));
  };
  if (!write_all(vertex_fd_, vertices_.data(), vertices_.size() * sizeof(Vec3f))) throw fail(errno);
  if (!write_all(triangle_fd_, triangles_.data(), triangles_.size() * sizeof(Triangle))) throw fail(errno);
  spilled_vertices_ += vertices_.size();
  spilled_triangles_ += triangles_.size();
  vertices_.clear();
  triangles_.clear();
}

void SpillMesh::release_memory() {
  vertices_.shrink_to_fit();
  triangles_.shrink_to_fit();
}

void SpillMesh::read_vertices(std::size_t first, std::span<Vec3f> out) const {
  check_range(first, out.size(), vertex_count(), "vertices");
  read_split(vertex_fd_, spilled_vertices_, vertices_, first, out);
}

void SpillMesh::read_triangles(std::size_t first, std::span<Triangle> out) const {
  check_range(first, out.size(), triangle_count(), "triangles");
  read_split(triangle_fd_, spilled_triangles_, triangles_, first, out);
}

}  // namespace fabforge
