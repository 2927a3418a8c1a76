#pragma once
/// Small text helpers shared by the file readers: ASCII-only, locale-independent.

#include <filesystem>
#include <string>
#include <string_view>

namespace fabforge {

/// s without leading and trailing spaces, tabs, CR and LF (and VT, FF).
std::string_view trim(std::string_view s);

/// s with ASCII letters in lower case.
std::string to_lower(std::string_view s);

/// The extension of path in lower case, with its dot (".stl"); empty if none.
std::string lowercase_extension(const std::filesystem::path& path);

}  // namespace fabforge
