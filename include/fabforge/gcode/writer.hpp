#pragma once
/// The G-code writer: Toolpaths plus a printer profile become a G-code program for Marlin,
/// Klipper or RepRapFirmware. It adds the start and end templates, temperatures and fan, travel
/// moves with retraction and optional z-hop, E from the flow model, G92 E0 at every layer,
/// ";LAYER:n" and ";TYPE:" comments, M600 colour changes, and a header with the print-time
/// estimate and filament use (computed by reading its own output back with analyze_gcode).

#include <string>
#include <vector>

#include "fabforge/gcode/analysis.hpp"
#include "fabforge/gcode/profile.hpp"
#include "fabforge/gcode/toolpaths.hpp"

namespace fabforge::gcode {

struct WriteOptions {
  /// Colour changes: before the first layer whose z is above each of these heights (mm).
  std::vector<double> color_change_z_mm;
  /// Extra lines for the header comment (e.g. the command that made the file); no newlines.
  std::vector<std::string> header_notes;
};

struct WrittenGcode {
  std::string text;
  /// The program read back by analyze_gcode (without the header comments, which hold no moves):
  /// its figures, its moves for drawing, and what the checker found (should be nothing).
  GcodeAnalysis analysis;
};

/// Writes the program. Throws usage_error when the toolpaths do not fit the profile's bed or
/// height, or are empty.
WrittenGcode write_gcode(const Toolpaths& toolpaths, const PrinterProfile& profile, const WriteOptions& options);

/// The analysis options that describe `profile` (bed, filament, nozzle, flavour, acceleration).
AnalyzeOptions analyze_options_for(const PrinterProfile& profile);

}  // namespace fabforge::gcode
