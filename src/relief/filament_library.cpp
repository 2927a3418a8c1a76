#include "fabforge/relief/filament_library.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <optional>

#include "fabforge/core/atomic_file.hpp"
#include "fabforge/core/error.hpp"
#include "fabforge/core/text.hpp"

namespace fabforge::relief {

namespace {

enum Column { kBrand, kType, kColor, kName, kTd, kOwned, kUuid, kColumnCount };
constexpr std::array<std::string_view, kColumnCount> kColumnNames = {"brand", "type",  "color", "name",
                                                                     "td",    "owned", "uuid"};

// Splits one CSV record; double-quoted fields may hold commas and "" for a quote.
std::optional<std::vector<std::string>> split_csv_line(std::string_view line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"' && trim(fields.back()).empty()) {
      fields.back().clear();
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  if (quoted) return std::nullopt;
  for (auto& f : fields) f = std::string(trim(f));
  return fields;
}

std::optional<double> parse_td(std::string_view text) {
  const std::string t(trim(text));
  double v = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || ptr != t.data() + t.size() || !std::isfinite(v) || v <= 0) return std::nullopt;
  return v;
}

std::optional<bool> parse_owned(std::string_view text) {
  const std::string t = to_lower(trim(text));
  if (t == "true" || t == "1" || t == "yes") return true;
  if (t == "false" || t == "0" || t == "no" || t.empty()) return false;
  return std::nullopt;
}

// Builds one filament from text fields; `where` prefixes error messages.
Filament make_filament(const std::array<std::string, kColumnCount>& f, const std::string& where) {
  Filament out;
  out.brand = f[kBrand];
  out.type = f[kType];
  out.name = f[kName];
  out.uuid = f[kUuid];
  const auto c = color::parse_hex(f[kColor]);
  if (!c) throw input_error(where + "Color must be #rrggbb, got '" + f[kColor] + "'");
  out.color = *c;
  const auto td = parse_td(f[kTd]);
  if (!td) throw input_error(where + "TD must be a number of millimetres greater than 0, got '" + f[kTd] + "'");
  out.td_mm = *td;
  const auto owned = parse_owned(f[kOwned]);
  if (!owned) throw input_error(where + "Owned must be true or false, got '" + f[kOwned] + "'");
  out.owned = *owned;
  if (out.name.empty()) out.name = color::to_hex(out.color);
  return out;
}

std::array<int, kColumnCount> header_columns(const std::vector<std::string>& header, std::string_view source) {
  std::array<int, kColumnCount> index;
  index.fill(-1);
  for (std::size_t i = 0; i < header.size(); ++i) {
    const std::string name = to_lower(trim(header[i]));
    for (int c = 0; c < kColumnCount; ++c) {
      if (name == kColumnNames[static_cast<std::size_t>(c)]) index[static_cast<std::size_t>(c)] = static_cast<int>(i);
    }
  }
  for (int c : {kColor, kTd}) {
    if (index[static_cast<std::size_t>(c)] < 0) {
      throw input_error(std::string(source) + ":1: filament CSV has no '" +
                        std::string(kColumnNames[static_cast<std::size_t>(c)]) +
                        "' column; expected the header 'Brand, Type, Color, Name, TD, Owned, Uuid'");
    }
  }
  return index;
}

}  // namespace

std::string Filament::display_name() const { return brand.empty() ? name : brand + " " + name; }

FilamentLibrary parse_filament_csv(std::string_view text, std::string_view source) {
  FilamentLibrary lib;
  std::array<int, kColumnCount> index{};
  bool have_header = false;
  std::size_t line_no = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line_no == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);  // UTF-8 byte-order mark
    if (trim(line).empty()) continue;
    const std::string where = std::string(source) + ":" + std::to_string(line_no) + ": ";
    const auto fields = split_csv_line(line);
    if (!fields) throw input_error(where + "unterminated quoted field");
    if (!have_header) {
      index = header_columns(*fields, source);
      have_header = true;
      continue;
    }
    std::array<std::string, kColumnCount> row;
    for (int c = 0; c < kColumnCount; ++c) {
      const int i = index[static_cast<std::size_t>(c)];
      if (i >= static_cast<int>(fields->size())) {
        throw input_error(where + "expected at least " + std::to_string(i + 1) + " fields, found " +
                          std::to_string(fields->size()));
      }
      if (i >= 0) row[static_cast<std::size_t>(c)] = (*fields)[static_cast<std::size_t>(i)];
    }
    lib.filaments.push_back(make_filament(row, where));
  }
  if (lib.filaments.empty()) throw input_error(std::string(source) + ": the filament library has no filaments");
  return lib;
}

FilamentLibrary parse_filament_json(std::string_view text, std::string_view source) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw input_error(std::string(source) + ": not valid JSON: " + e.what());
  }
  if (!doc.is_object() || !doc.contains("Filaments") || !doc["Filaments"].is_array()) {
    throw input_error(std::string(source) + ": expected a JSON object with a \"Filaments\" list");
  }
  FilamentLibrary lib;
  const auto& list = doc["Filaments"];
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string where = std::string(source) + ": filament " + std::to_string(i + 1) + ": ";
    const auto& item = list[i];
    if (!item.is_object()) throw input_error(where + "expected an object");
    std::array<std::string, kColumnCount> row;
    for (auto it = item.begin(); it != item.end(); ++it) {
      const std::string key = to_lower(trim(it.key()));
      for (int c = 0; c < kColumnCount; ++c) {
        if (key != kColumnNames[static_cast<std::size_t>(c)]) continue;
        const auto& v = it.value();
        row[static_cast<std::size_t>(c)] = v.is_string() ? v.get<std::string>() : (v.is_null() ? "" : v.dump());
      }
    }
    lib.filaments.push_back(make_filament(row, where));
  }
  if (lib.filaments.empty()) throw input_error(std::string(source) + ": the filament library has no filaments");
  return lib;
}

FilamentLibrary load_filament_library(const std::filesystem::path& path) {
  const std::string ext = lowercase_extension(path);
  if (ext != ".csv" && ext != ".json") {
    throw input_error(path.string() + ": unknown filament library format '" + ext + "'; expected .csv or .json");
  }
  const std::string text = read_file(path);
  return ext == ".csv" ? parse_filament_csv(text, path.string()) : parse_filament_json(text, path.string());
}

FilamentLibrary owned_only(const FilamentLibrary& library) {
  FilamentLibrary out;
  std::copy_if(library.filaments.begin(), library.filaments.end(), std::back_inserter(out.filaments),
               [](const Filament& f) { return f.owned; });
  if (out.filaments.empty()) throw usage_error("--owned-only: no filament in the library is marked as owned");
  return out;
}

const FilamentLibrary& default_filament_library() {
  // Public TD values for common PLA filaments (HueForge's published list).
  static const FilamentLibrary library = parse_filament_csv(R"(Brand, Type, Color, Name, TD, Owned, Uuid
Jayo,PLA,#000000,Black,1.7,false,{54f35108-a6c2-459a-834b-2af3cf0de4a4}
Geeetech,PLA,#1074bb,Blue,2.7,false,{f4734b09-e5ca-47e3-929d-351baa92fe19}
Geeetech,PLA,#aba190,Bone White,2.5,false,{ed3a0101-28bc-46f8-bead-836da2ee5346}
Geeetech,PLA,#63cb6b,Green,3.8,false,{524b7e40-a15a-43a6-9642-5be711dd02e1}
Jayo,PLA,#636767,Grey,2.9,false,{5b15c677-8ff1-4172-970c-097baa32e311}
Geeetech,PLA,#e99d48,Orange,6,false,{0d7b3ed7-5432-46df-a9fc-fcd51f8f02a7}
Geeetech,PLA,#ff90d8,Pink,5,false,{17a65e34-afcd-46e4-b373-b5ffef7bfbc3}
Geeetech,PLA,#813f92,Purple,2.4,false,{6838f269-6c44-4acd-9e91-9b45f85d6926}
Geeetech,PLA,#ff381e,Red,3.2,false,{40602260-20fb-4996-a0d7-3f714c6e0c3c}
Geeetech,PLA,#04aacb,Water Blue,3,false,{f208f5dc-6a72-4a21-b0b3-dadbe043cd82}
Sunlu Meta,PLA,#ffffff,White,5.5,false,{4097523d-486c-4723-ae88-e18dad0808e9}
Jayo,PLA,#d9e0e9,White,2.2,false,{f75ff860-b905-4411-91f1-11de64f0eac8}
Geeetech,PLA,#fff454,Yellow,3.5,false,{681a42c6-a3a5-4c60-9d2e-93926781d959}
Sunlu Meta,PLA,#000000,Black,4,false,{40e7e873-14ce-45b9-9201-62f0a81e4007}
)",
                                                            "built-in library");
  return library;
}

}  // namespace fabforge::relief
