#pragma once
/// Small text helpers shared by the file readers: ASCII-only, locale-independent.

#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace fabforge {

/// s without leading and trailing spaces, tabs, CR and LF (and VT, FF).
std::string_view trim(std::string_view s);

/// s with ASCII letters in lower case.
std::string to_lower(std::string_view s);

/// The extension of path in lower case, with its dot (".stl"); empty if none.
std::string lowercase_extension(const std::filesystem::path& path);

/// Levenshtein distance (insertions, deletions, substitutions) between a and b; strings longer
/// than 64 characters count as far apart (1000). For "did you mean" hints.
int edit_distance(std::string_view a, std::string_view b);

/// " (did you mean 'x'?)" naming the candidate closest to `name` by edit distance when that is at
/// most 2 and shorter than `name` (the first of equally close ones), or "" when none is close.
std::string did_you_mean(std::string_view name, std::span<const std::string_view> candidates);

}  // namespace fabforge
