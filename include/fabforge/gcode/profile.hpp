#pragma once
/// Printer profiles: everything the G-code writer needs to know about a printer and its
/// filament. Stored as JSON files (docs/formats.md lists the keys); four are bundled and compiled
/// into the program, so `--profile ender3` works from any directory.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace fabforge::gcode {

enum class Flavor { marlin, klipper, reprap };
std::string_view flavor_name(Flavor flavor);

/// Speeds in mm/s for each kind of move.
struct FeatureSpeeds {
  double wall_outer = 30;
  double wall_inner = 45;
  double gap_fill = 25;
  double solid_infill = 50;
  double top_solid_infill = 35;
  double sparse_infill = 70;
  double skirt = 30;
  double first_layer = 20;  ///< caps every extrusion on layer 1
  double travel = 150;
};

struct PrinterProfile {
  std::string name;
  Flavor flavor = Flavor::marlin;
  // Machine.
  double bed_width_mm = 220, bed_depth_mm = 220, max_height_mm = 250;
  /// Bed-coordinate position of the bed's front-left corner (e.g. negative on delta-style or
  /// centre-origin printers); the printable area is [origin, origin + size].
  double bed_origin_x_mm = 0, bed_origin_y_mm = 0;
  double nozzle_diameter_mm = 0.4;
  double filament_diameter_mm = 1.75;
  // Temperatures (C) and fan (0..1).
  double nozzle_temp_c = 210, first_layer_nozzle_temp_c = 215;
  double bed_temp_c = 60, first_layer_bed_temp_c = 60;
  double fan_speed = 1.0;   ///< from layer fan_start_layer on
  int fan_start_layer = 2;  ///< 1-based; layer 1 prints with the fan off
  // Motion.
  FeatureSpeeds speeds;
  double acceleration_mm_s2 = 1000;  ///< used by the time estimate
  double max_feedrate_mm_s = 300;
  // Retraction.
  double retract_length_mm = 0.8;
  double retract_speed_mm_s = 35;
  double deretract_speed_mm_s = 0;     ///< 0: same as retract_speed_mm_s
  double retract_min_travel_mm = 1.0;  ///< shorter travels never retract
  double z_hop_mm = 0;
  bool firmware_retraction = false;  ///< G10/G11 instead of E moves
  // E mode.
  bool relative_e = false;  ///< M83 and relative E; absolute E (M82) resets with G92 E0 per layer
  /// Start and end G-code with placeholders {bed_temp}, {nozzle_temp}, {first_layer_bed_temp},
  /// {first_layer_nozzle_temp}, {bed_width}, {bed_depth}, {max_height}, {filament_diameter},
  /// {nozzle_diameter}, {retract_length}, {z_max_park} (current top z + 10, capped at max height).
  std::string start_gcode;
  std::string end_gcode;
  /// G-code for a colour change; default "M600".
  std::string color_change_gcode = "M600";
};

/// Parses a profile from JSON text. Every key is optional (defaults as above) but unknown keys
/// and values out of range are errors; `source` names the file in messages. Keys that say
/// "inherits": "<bundled name>" start from that bundled profile.
PrinterProfile parse_profile(std::string_view json_text, const std::string& source);

/// Loads a profile by bundled name ("generic-marlin", "prusa-mk3", "ender3", "generic-klipper")
/// or, if `name_or_path` names a file (or ends in .json), from that file.
PrinterProfile load_profile(const std::string& name_or_path);

/// Names of the bundled profiles.
std::vector<std::string> bundled_profile_names();

/// The profile as JSON text (every key written), e.g. to start a custom profile from.
std::string profile_to_json(const PrinterProfile& profile);

}  // namespace fabforge::gcode
