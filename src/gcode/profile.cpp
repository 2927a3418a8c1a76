#include "fabforge/gcode/profile.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <sstream>
#include <string>

#include "fabforge/core/atomic_file.hpp"
#include "fabforge/core/error.hpp"

namespace fabforge::gcode {

namespace detail {
const std::vector<std::pair<std::string_view, std::string_view>>& bundled_profiles();  // generated
}

std::string_view flavor_name(Flavor flavor) {
  switch (flavor) {
    case Flavor::marlin:
      return "marlin";
    case Flavor::klipper:
      return "klipper";
    case Flavor::reprap:
      return "reprap";
  }
  return "marlin";
}

namespace {

using Json = nlohmann::json;

// A numeric key: its field and the range it must lie in.
struct NumberKey {
  double PrinterProfile::*field;
  double min, max;
};

const std::map<std::string, NumberKey>& number_keys() {
  static const std::map<std::string, NumberKey> keys = {
      {"bed_width_mm", {&PrinterProfile::bed_width_mm, 10, 2000}},
      {"bed_depth_mm", {&PrinterProfile::bed_depth_mm, 10, 2000}},
      {"max_height_mm", {&PrinterProfile::max_height_mm, 1, 2000}},
      {"bed_origin_x_mm", {&PrinterProfile::bed_origin_x_mm, -1000, 1000}},
      {"bed_origin_y_mm", {&PrinterProfile::bed_origin_y_mm, -1000, 1000}},
      {"nozzle_diameter_mm", {&PrinterProfile::nozzle_diameter_mm, 0.05, 3}},
      {"filament_diameter_mm", {&PrinterProfile::filament_diameter_mm, 0.5, 5}},
      {"nozzle_temp_c", {&PrinterProfile::nozzle_temp_c, 0, 500}},
      {"first_layer_nozzle_temp_c", {&PrinterProfile::first_layer_nozzle_temp_c, 0, 500}},
      {"bed_temp_c", {&PrinterProfile::bed_temp_c, 0, 200}},
      {"first_layer_bed_temp_c", {&PrinterProfile::first_layer_bed_temp_c, 0, 200}},
      {"fan_speed", {&PrinterProfile::fan_speed, 0, 1}},
      {"acceleration_mm_s2", {&PrinterProfile::acceleration_mm_s2, 10, 100000}},
      {"max_feedrate_mm_s", {&PrinterProfile::max_feedrate_mm_s, 1, 5000}},
      {"retract_length_mm", {&PrinterProfile::retract_length_mm, 0, 20}},
      {"retract_speed_mm_s", {&PrinterProfile::retract_speed_mm_s, 1, 500}},
      {"deretract_speed_mm_s", {&PrinterProfile::deretract_speed_mm_s, 0, 500}},
      {"retract_min_travel_mm", {&PrinterProfile::retract_min_travel_mm, 0, 1000}},
      {"z_hop_mm", {&PrinterProfile::z_hop_mm, 0, 10}},
  };
  return keys;
}

const std::map<std::string, double FeatureSpeeds::*>& speed_keys() {
  static const std::map<std::string, double FeatureSpeeds::*> keys = {
      {"wall_outer", &FeatureSpeeds::wall_outer},
      {"wall_inner", &FeatureSpeeds::wall_inner},
      {"gap_fill", &FeatureSpeeds::gap_fill},
      {"solid_infill", &FeatureSpeeds::solid_infill},
      {"top_solid_infill", &FeatureSpeeds::top_solid_infill},
      {"sparse_infill", &FeatureSpeeds::sparse_infill},
      {"skirt", &FeatureSpeeds::skirt},
      {"first_layer", &FeatureSpeeds::first_layer},
      {"travel", &FeatureSpeeds::travel},
  };
  return keys;
}

std::string join_keys(const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "" : ", ") + k;
  return out;
}

std::vector<std::string> all_key_names() {
  std::vector<std::string> names = {
      "name",       "inherits",    "flavor",    "fan_start_layer",    "firmware_retraction",
      "relative_e", "start_gcode", "end_gcode", "color_change_gcode", "speeds"};
  for (const auto& [k, v] : number_keys()) names.push_back(k);
  std::sort(names.begin(), names.end());
  return names;
}

double number(const Json& value, const std::string& source, const std::string& key, double min, double max) {
  if (!value.is_number()) throw input_error(source + ": \"" + key + "\" must be a number");
  const double v = value.get<double>();
  if (!std::isfinite(v) || v < min || v > max) {
    std::ostringstream msg;
    msg << source << ": \"" << key << "\" is " << v << ", expected a value in [" << min << ", " << max << "]";
    throw input_error(msg.str());
  }
  return v;
}

// Start/end G-code: a string with newlines or an array of lines.
std::string gcode_text(const Json& value, const std::string& source, const std::string& key) {
  if (value.is_string()) return value.get<std::string>();
  if (!value.is_array()) throw input_error(source + ": \"" + key + "\" must be a string or an array of lines");
  std::string text;
  for (const auto& line : value) {
    if (!line.is_string()) throw input_error(source + ": \"" + key + "\" must contain only strings");
    text += line.get<std::string>();
    text += '\n';
  }
  return text;
}

std::string_view find_bundled(std::string_view name) {
  for (const auto& [n, text] : detail::bundled_profiles())
    if (n == name) return text;
  return {};
}

PrinterProfile parse_with_depth(std::string_view json_text, const std::string& source, int depth);

void apply(PrinterProfile& p, const Json& j, const std::string& source) {
  for (const auto& [key, value] : j.items()) {
    if (key == "inherits") continue;
    if (key == "name") {
      if (!value.is_string()) throw input_error(source + ": \"name\" must be a string");
      p.name = value.get<std::string>();
    } else if (key == "flavor") {
      const std::string f = value.is_string() ? value.get<std::string>() : std::string();
      if (f == "marlin")
        p.flavor = Flavor::marlin;
      else if (f == "klipper")
        p.flavor = Flavor::klipper;
      else if (f == "reprap")
        p.flavor = Flavor::reprap;
      else
        throw input_error(source + ": \"flavor\" must be \"marlin\", \"klipper\" or \"reprap\"");
    } else if (key == "fan_start_layer") {
      p.fan_start_layer = static_cast<int>(number(value, source, key, 1, 1000));
    } else if (key == "firmware_retraction" || key == "relative_e") {
      if (!value.is_boolean()) throw input_error(source + ": \"" + key + "\" must be true or false");
      (key == "relative_e" ? p.relative_e : p.firmware_retraction) = value.get<bool>();
    } else if (key == "start_gcode") {
      p.start_gcode = gcode_text(value, source, key);
    } else if (key == "end_gcode") {
      p.end_gcode = gcode_text(value, source, key);
    } else if (key == "color_change_gcode") {
      if (!value.is_string()) throw input_error(source + ": \"color_change_gcode\" must be a string");
      p.color_change_gcode = value.get<std::string>();
    } else if (key == "speeds") {
      if (!value.is_object()) throw input_error(source + ": \"speeds\" must be an object");
      for (const auto& [skey, svalue] : value.items()) {
        const auto it = speed_keys().find(skey);
        if (it == speed_keys().end()) {
          std::vector<std::string> names;
          for (const auto& [k, f] : speed_keys()) names.push_back(k);
          throw input_error(source + ": unknown key \"speeds." + skey + "\"; known speed keys: " + join_keys(names));
        }
        p.speeds.*(it->second) = number(svalue, source, "speeds." + skey, 0.1, 2000);
      }
    } else if (const auto it = number_keys().find(key); it != number_keys().end()) {
      p.*(it->second.field) = number(value, source, key, it->second.min, it->second.max);
    } else {
      throw input_error(source + ": unknown key \"" + key + "\"; known keys: " + join_keys(all_key_names()));
    }
  }
}

PrinterProfile parse_with_depth(std::string_view json_text, const std::string& source, int depth) {
  Json j;
  try {
    j = Json::parse(json_text);
  } catch (const Json::parse_error& e) {
    throw input_error(source + ": not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw input_error(source + ": a printer profile must be a JSON object");
  PrinterProfile p;
  if (j.contains("inherits")) {
    if (!j["inherits"].is_string()) throw input_error(source + ": \"inherits\" must be a bundled profile name");
    const std::string base = j["inherits"].get<std::string>();
    const std::string_view text = find_bundled(base);
    if (text.empty())
      throw input_error(source + ": \"inherits\": no bundled profile \"" + base +
                        "\"; bundled: " + join_keys(bundled_profile_names()));
    if (depth > 4) throw input_error(source + ": \"inherits\" chain is too deep");
    p = parse_with_depth(text, "bundled profile " + base, depth + 1);
  }
  apply(p, j, source);
  if (p.name.empty()) p.name = source;
  return p;
}

}  // namespace

PrinterProfile parse_profile(std::string_view json_text, const std::string& source) {
  return parse_with_depth(json_text, source, 0);
}

std::vector<std::string> bundled_profile_names() {
  std::vector<std::string> names;
  for (const auto& [n, text] : detail::bundled_profiles()) names.emplace_back(n);
  return names;
}

PrinterProfile load_profile(const std::string& name_or_path) {
  const std::string_view text = find_bundled(name_or_path);
  const bool looks_like_file =
      name_or_path.find('/') != std::string::npos || (name_or_path.size() > 5 && name_or_path.ends_with(".json"));
  if (!text.empty() && !looks_like_file) return parse_profile(text, "bundled profile " + name_or_path);
  std::error_code ec;
  if (looks_like_file || std::filesystem::is_regular_file(name_or_path, ec)) {
    if (!std::filesystem::exists(name_or_path, ec)) throw input_error(name_or_path + ": profile file not found");
    return parse_profile(read_file(name_or_path), name_or_path);
  }
  throw usage_error("unknown printer profile \"" + name_or_path + "\"; bundled profiles: " +
                    join_keys(bundled_profile_names()) + " (or give a path to a .json profile)");
}

std::string profile_to_json(const PrinterProfile& p) {
  Json j;
  j["name"] = p.name;
  j["flavor"] = std::string(flavor_name(p.flavor));
  for (const auto& [key, spec] : number_keys()) j[key] = p.*(spec.field);
  j["fan_start_layer"] = p.fan_start_layer;
  j["firmware_retraction"] = p.firmware_retraction;
  j["relative_e"] = p.relative_e;
  Json speeds;
  for (const auto& [key, field] : speed_keys()) speeds[key] = p.speeds.*field;
  j["speeds"] = speeds;
  j["start_gcode"] = p.start_gcode;
  j["end_gcode"] = p.end_gcode;
  j["color_change_gcode"] = p.color_change_gcode;
  return j.dump(2) + "\n";
}

}  // namespace fabforge::gcode
