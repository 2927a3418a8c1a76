#include "fabforge/core/text.hpp"

namespace fabforge {

namespace {
constexpr std::string_view kSpace = " \t\r\n\v\f";
}  // namespace

std::string_view trim(std::string_view s) {
  const std::size_t first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string lowercase_extension(const std::filesystem::path& path) { return to_lower(path.extension().string()); }

}  // namespace fabforge
