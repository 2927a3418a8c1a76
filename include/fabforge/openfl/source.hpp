#pragma once
/// Source text, positions and compiler diagnostics for OpenFL.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fabforge::openfl {

/// A named source text with a line index. Shared by the AST and every diagnostic.
class SourceFile {
 public:
  SourceFile(std::string name, std::string text);
  const std::string& name() const noexcept { return name_; }
  const std::string& text() const noexcept { return text_; }
  /// 1-based line and column (columns count bytes; a tab is one column) of a byte offset.
  int line_of(std::uint32_t offset) const;
  int column_of(std::uint32_t offset) const;
  /// The text of a 1-based line without its line break.
  std::string line_text(int line) const;

 private:
  std::string name_;
  std::string text_;
  std::vector<std::uint32_t> line_starts_;
};

/// A half-open byte range [begin, end) in one source file. An empty range marks a point.
struct SourceRange {
  std::uint32_t begin = 0;
  std::uint32_t end = 0;
};

enum class Severity : std::uint8_t { error, warning, note };

struct Diagnostic {
  Severity severity = Severity::error;
  SourceRange range;
  std::string message;
};

/// Collects diagnostics for one file (the compiler reports all of them, never just the first).
class Diagnostics {
 public:
  explicit Diagnostics(std::shared_ptr<const SourceFile> file) : file_(std::move(file)) {}

  void error(SourceRange range, std::string message);
  void warning(SourceRange range, std::string message);
  void note(SourceRange range, std::string message);

  bool has_errors() const noexcept { return error_count_ > 0; }
  int error_count() const noexcept { return error_count_; }
  const std::vector<Diagnostic>& all() const noexcept { return items_; }
  const SourceFile& file() const noexcept { return *file_; }
  std::shared_ptr<const SourceFile> file_ptr() const noexcept { return file_; }

  /// One diagnostic as the user sees it:
  ///   file:line:col: error: message
  ///       <the source line>
  ///       ^~~~            (caret at range.begin, '~' under the rest of the range on that line)
  /// The source line is printed with 4 spaces of indent; the caret line matches it.
  std::string format(const Diagnostic& d) const;
  /// All diagnostics, each formatted and followed by a newline, in the order reported, then a
  /// summary line "N error(s) generated." when there were errors.
  std::string format_all() const;

 private:
  std::shared_ptr<const SourceFile> file_;
  std::vector<Diagnostic> items_;
  int error_count_ = 0;
};

}  // namespace fabforge::openfl
