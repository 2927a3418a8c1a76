#pragma once
/// Writing outputs so that a failed job never leaves a half-written file behind.
///
/// AtomicFile hands out a temporary path in the destination's directory; the caller writes the
/// whole output there and calls commit(), which renames it onto the final path (atomic on POSIX
/// file systems). If commit() is never reached (an exception, a cancellation), the destructor
/// removes the temporary file and the destination is untouched.

#include <filesystem>
#include <string_view>

namespace fabforge {

class AtomicFile {
 public:
  /// Throws Error (runtime) if the destination's directory does not exist.
  explicit AtomicFile(std::filesystem::path destination);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  /// Where to write: a hidden file next to the destination.
  const std::filesystem::path& temp_path() const noexcept { return temp_; }
  const std::filesystem::path& destination() const noexcept { return destination_; }

  /// Renames the temporary file onto the destination. Throws Error (runtime) on failure.
  void commit();

 private:
  std::filesystem::path destination_;
  std::filesystem::path temp_;
  bool committed_ = false;
};

/// Writes bytes to path atomically (see AtomicFile). Throws Error (runtime) on failure.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

/// Reads a whole file. Throws Error (input) naming the file if it cannot be read.
std::string read_file(const std::filesystem::path& path);

}  // namespace fabforge
