#pragma once
// Helpers shared by the test suites: temporary directories, small meshes, running programs.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "fabforge/core/mesh.hpp"

namespace fabforge::test {

/// A fresh directory under the system temp dir, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }
  /// Names of the entries in the directory, sorted (to check that nothing stray was left).
  std::vector<std::string> entries() const;

 private:
  std::filesystem::path path_;
};

/// Axis-aligned box, closed and outward-oriented (12 triangles, 8 vertices).
Mesh make_box(Vec3f min, Vec3f max);

/// Regular-ish tetrahedron, closed and outward-oriented.
Mesh make_tetrahedron();

std::string read_bytes(const std::filesystem::path& path);
void write_bytes(const std::filesystem::path& path, std::string_view bytes);

struct CommandResult {
  int exit_code = -1;
  std::string out;  ///< stdout
  std::string err;  ///< stderr
};

/// Runs argv[0] with the given arguments (no shell), capturing stdout and stderr.
CommandResult run_command(const std::vector<std::string>& argv);

/// The fabforge program built alongside the tests (FABFORGE_BIN, set by CTest).
std::filesystem::path fabforge_bin();
/// Runs fabforge_bin() with the given arguments.
CommandResult run_fabforge(std::vector<std::string> args);
/// True when `part` occurs in `s` (for checking messages and output).
inline bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

/// The repository root (FABFORGE_SOURCE_DIR, set by CTest).
std::filesystem::path source_dir();

}  // namespace fabforge::test
