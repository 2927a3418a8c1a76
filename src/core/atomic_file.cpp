#include "fabforge/core/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

#include "fabforge/core/error.hpp"

namespace fabforge {

namespace fs = std::filesystem;

namespace {

fs::path make_temp_name(const fs::path& destination) {
  static std::atomic<unsigned> counter{0};
  fs::path dir = destination.parent_path();
  std::string name = "." + destination.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                     std::to_string(counter.fetch_add(1));
  return dir.empty() ? fs::path(name) : dir / name;
}

// fsync a file or directory; failures of the directory sync are not fatal (some file systems
// do not support it), failures on the file are.
void sync_path(const fs::path& path) {
  const bool is_dir = fs::is_directory(path);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (is_dir ? O_DIRECTORY : 0));
  if (fd < 0) {
    if (is_dir) return;
    throw runtime_error("cannot write '" + path.string() + "': " + std::strerror(errno));
  }
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0 && !is_dir) throw runtime_error("cannot write '" + path.string() + "': " + std::strerror(err));
}

}  // namespace

AtomicFile::AtomicFile(fs::path destination) : destination_(std::move(destination)) {
  if (destination_.filename().empty()) throw usage_error("output path '" + destination_.string() + "' names no file");
  fs::path dir = destination_.parent_path();
  std::error_code ec;
  if (!dir.empty() && !fs::is_directory(dir, ec)) {
    throw runtime_error("cannot write '" + destination_.string() + "': directory '" + dir.string() +
                        "' does not exist");
  }
  if (fs::is_directory(destination_, ec)) {
    throw usage_error("cannot write '" + destination_.string() + "': it is a directory");
  }
  temp_ = make_temp_name(destination_);
}

AtomicFile::~AtomicFile() {
  if (!committed_) {
    std::error_code ec;
    fs::remove(temp_, ec);
  }
}

void AtomicFile::commit() {
  std::error_code ec;
  if (!fs::exists(temp_, ec)) {
    throw runtime_error("cannot write '" + destination_.string() + "': nothing was written");
  }
  // Flush the data to disk before the rename makes it visible, so that a crash or power loss
  // right after leaves either the old file or the complete new one.
  sync_path(temp_);
  fs::rename(temp_, destination_, ec);
  if (ec) throw runtime_error("cannot write '" + destination_.string() + "': " + ec.message());
  committed_ = true;
  const fs::path dir = destination_.parent_path();
  sync_path(dir.empty() ? fs::path(".") : dir);  // make the rename itself durable
}

void write_file_atomic(const fs::path& path, std::string_view bytes) {
  AtomicFile file(path);
  {
    std::ofstream out(file.temp_path(), std::ios::binary | std::ios::trunc);
    if (!out) throw runtime_error("cannot write '" + path.string() + "': " + std::strerror(errno));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();  // errors that only show at close (disk full, NFS) count too
    if (!out) throw runtime_error("cannot write '" + path.string() + "': write failed (disk full?)");
  }
  file.commit();
}

std::string read_file(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw input_error(path.string() + ": is a directory, expected a file");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw input_error(path.string() + ": cannot open: " + std::strerror(errno));
  // One allocation and one read: meshes run to hundreds of megabytes.
  const std::streamoff size = in.tellg();
  if (size < 0) throw input_error(path.string() + ": cannot determine the file size");
  std::string bytes(static_cast<std::size_t>(size), '\0');
  in.seekg(0);
  in.read(bytes.data(), size);
  if (in.gcount() != size) throw input_error(path.string() + ": read failed");
  return bytes;
}

}  // namespace fabforge
