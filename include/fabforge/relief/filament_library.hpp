#pragma once
/// Filament libraries for the relief stage: which filaments a person can print with, their
/// colour and their transmission distance (TD, mm), as HueForge exports them.
///
/// Formats read:
///   - CSV, HueForge's export: a header naming the columns `Brand, Type, Color, Name, TD, Owned,
///     Uuid` (any order, spaces after commas allowed, case-insensitive; Uuid optional), one
///     filament per line, fields optionally in double quotes (with "" for a quote).
///   - JSON, HueForge's library file: `{"Filaments": [{"Brand": ..., "Color": "#rrggbb",
///     "Name": ..., "TD": 3.2, "Owned": true, "Type": ..., "Uuid": ...}, ...]}`; TD and Owned
///     may also be strings.
/// Every filament needs a colour "#rrggbb" and a TD that is a finite number > 0.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "fabforge/core/color.hpp"

namespace fabforge::relief {

struct Filament {
  std::string brand;
  std::string type;  ///< material, e.g. "PLA"
  std::string name;
  std::string uuid;  ///< as given, may be empty
  color::Rgb8 color;
  double td_mm = 0;  ///< transmission distance: thickness at which the filament looks opaque
  bool owned = false;

  /// "Brand Name" (or just the name when there is no brand), for messages and swap lists.
  std::string display_name() const;
};

struct FilamentLibrary {
  std::vector<Filament> filaments;
};

/// Parses a HueForge CSV export. Throws Error (input) "source:line: ..." for a missing column,
/// a bad colour or TD, a wrong field count, or a library with no filaments.
FilamentLibrary parse_filament_csv(std::string_view text, std::string_view source = "<memory>");

/// Parses a HueForge JSON library. Throws Error (input) naming the source and the entry.
FilamentLibrary parse_filament_json(std::string_view text, std::string_view source = "<memory>");

/// Loads a library by extension (.csv or .json). Throws Error (input).
FilamentLibrary load_filament_library(const std::filesystem::path& path);

/// The library that ships with fabforge: 14 common PLA filaments with published TD values.
const FilamentLibrary& default_filament_library();

/// Only the owned filaments. Throws Error (usage) if none is owned.
FilamentLibrary owned_only(const FilamentLibrary& library);

}  // namespace fabforge::relief
