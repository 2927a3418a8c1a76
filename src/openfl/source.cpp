// Source files, positions and the formatting of diagnostics.

#include "fabforge/openfl/source.hpp"

#include <algorithm>

namespace fabforge::openfl {

SourceFile::SourceFile(std::string name, std::string text) : name_(std::move(name)), text_(std::move(text)) {
  line_starts_.push_back(0);
  for (std::size_t k = 0; k < text_.size(); ++k) {
    if (text_[k] == '\n') line_starts_.push_back(static_cast<std::uint32_t>(k + 1));
  }
}

int SourceFile::line_of(std::uint32_t offset) const {
  offset = std::min<std::uint32_t>(offset, static_cast<std::uint32_t>(text_.size()));
  const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  return static_cast<int>(it - line_starts_.begin());
}

int SourceFile::column_of(std::uint32_t offset) const {
  offset = std::min<std::uint32_t>(offset, static_cast<std::uint32_t>(text_.size()));
  const int line = line_of(offset);
  return static_cast<int>(offset - line_starts_[static_cast<std::size_t>(line - 1)]) + 1;
}

std::string SourceFile::line_text(int line) const {
  if (line < 1 || line > static_cast<int>(line_starts_.size())) return {};
  const std::size_t begin = line_starts_[static_cast<std::size_t>(line - 1)];
  std::size_t end =
      line < static_cast<int>(line_starts_.size()) ? line_starts_[static_cast<std::size_t>(line)] - 1 : text_.size();
  if (end > begin && text_[end - 1] == '\r') --end;
  return text_.substr(begin, end - begin);
}

void Diagnostics::error(SourceRange range, std::string message) {
  items_.push_back({Severity::error, range, std::move(message)});
  ++error_count_;
}

void Diagnostics::warning(SourceRange range, std::string message) {
  items_.push_back({Severity::warning, range, std::move(message)});
}

void Diagnostics::note(SourceRange range, std::string message) {
  items_.push_back({Severity::note, range, std::move(message)});
}

std::string Diagnostics::format(const Diagnostic& d) const {
  static constexpr const char* kSeverity[] = {"error", "warning", "note"};
  const SourceFile& f = *file_;
  const int line = f.line_of(d.range.begin);
  const int column = f.column_of(d.range.begin);
  std::string out = f.name() + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " +
                    kSeverity[static_cast<int>(d.severity)] + ": " + d.message + "\n";
  const std::string text = f.line_text(line);
  out += "    " + text + "\n    ";
  // The caret line copies tabs from the source line so that the caret lines up under any tab width.
  const std::size_t caret = static_cast<std::size_t>(column - 1);
  for (std::size_t k = 0; k < caret; ++k) out += k < text.size() && text[k] == '\t' ? '\t' : ' ';
  out += '^';
  const std::size_t end = d.range.end > d.range.begin ? d.range.end - d.range.begin + caret : caret + 1;
  for (std::size_t k = caret + 1; k < std::min(end, text.size()); ++k) out += '~';
  return out;
}

std::string Diagnostics::format_all() const {
  std::string out;
  for (const Diagnostic& d : items_) out += format(d) + "\n";
  if (error_count_ == 1) out += "1 error generated.\n";
  if (error_count_ > 1) out += std::to_string(error_count_) + " errors generated.\n";
  return out;
}

}  // namespace fabforge::openfl
