#pragma once
// Number parsing shared by the text mesh readers (ASCII STL, OBJ). Private to fabforge_core.

#include <charconv>
#include <string_view>

namespace fabforge::detail {

/// Parses a whole token as a float, as C's strtof would accept it from exporters: a leading '+'
/// is allowed and values too small for a float read as 0. Returns false for anything else,
/// including values too large for a float. NaN and infinity parse; callers reject them.
inline bool parse_float(std::string_view token, float& value) {
  if (!token.empty() && token.front() == '+') token.remove_prefix(1);
  if (token.empty()) return false;
  const char* end = token.data() + token.size();
  auto [ptr, ec] = std::from_chars(token.data(), end, value);
  if (ptr != end) return false;
  if (ec == std::errc::result_out_of_range) {
    // from_chars reports underflow and overflow alike; a negative exponent means underflow.
    const auto e = token.find_first_of("eE");
    if (e != std::string_view::npos && e + 1 < token.size() && token[e + 1] == '-') {
      value = 0.0f;
      return true;
    }
    return false;
  }
  return ec == std::errc();
}

}  // namespace fabforge::detail
