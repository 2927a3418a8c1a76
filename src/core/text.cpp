#include "fabforge/core/text.hpp"

#include <algorithm>
#include <vector>

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

int edit_distance(std::string_view a, std::string_view b) {
  if (a.size() > 64 || b.size() > 64) return 1000;
  std::vector<int> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = static_cast<int>(j);
  for (std::size_t i = 1; i <= a.size(); ++i) {
    int diag = row[0];
    row[0] = static_cast<int>(i);
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const int up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string did_you_mean(std::string_view name, std::span<const std::string_view> candidates) {
  int best = 3;
  std::string_view pick;
  for (std::string_view c : candidates) {
    if (c == name || c.empty()) continue;
    const int d = edit_distance(name, c);
    if (d < best && d < static_cast<int>(name.size())) {
      best = d;
      pick = c;
    }
  }
  return pick.empty() ? std::string() : " (did you mean '" + std::string(pick) + "'?)";
}

}  // namespace fabforge
