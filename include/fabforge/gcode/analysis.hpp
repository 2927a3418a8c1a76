#pragma once
/// Reading, measuring and checking G-code: the fabforge_gcode library's reader. It interprets a
/// G-code program the way the firmware would (G0/G1/G2/G3, G90/G91, M82/M83 with each
/// firmware's rules, G92, G28, G10/G11, M600, T<n>, line numbers and checksums, comments), turns
/// it into a list of moves, measures it (filament, printing and travel length, retractions, a
/// print-time estimate, bounds, per layer and per feature) and checks it (inside the bed, E
/// monotonic, finite numbers, heating before extrusion, plausible flow).
///
/// Works on any slicer's output: features come from ";TYPE:" comments (fabforge, PrusaSlicer,
/// Cura), layers from Z changes with extrusion (not from comments, which differ per slicer).
/// Thread-safe: pure functions of their inputs.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fabforge/core/image.hpp"
#include "fabforge/core/polygon.hpp"
#include "fabforge/gcode/profile.hpp"
#include "fabforge/gcode/toolpaths.hpp"

namespace fabforge::gcode {

/// One straight piece of motion after interpretation (arcs are split into segments of at most
/// 0.1 mm chord error). Positions in mm in machine coordinates after G92 offsets are applied.
struct Move {
  float x0, y0, z0;  ///< start
  float x1, y1, z1;  ///< end
  double e = 0;      ///< filament pushed during the move (mm, negative for a retraction)
  float feedrate_mm_s = 0;
  float acceleration_mm_s2 = 0;  ///< set by the last M204 (S, else P); 0: AnalyzeOptions' value
  std::uint32_t line = 0;        ///< 1-based source line
  std::int32_t layer = -1;       ///< index into GcodeAnalysis::layers; -1 before the first layer
  Feature feature = Feature::other;
  bool extruding = false;  ///< XY or Z motion with e > 0
  bool travel = false;     ///< XY motion without extrusion
};

struct LayerStats {
  double z_mm = 0;
  double height_mm = 0;  ///< z minus the previous layer's z (first layer: z)
  double filament_mm = 0;
  double printing_mm = 0;  ///< XY length of extruding moves
  double travel_mm = 0;
  int retractions = 0;
  double time_s = 0;
  std::size_t first_move = 0, end_move = 0;  ///< range in GcodeAnalysis::moves
};

struct FeatureStats {
  double filament_mm = 0;
  double printing_mm = 0;
  double time_s = 0;
};

struct GcodeStats {
  std::size_t lines = 0;
  std::size_t moves = 0;
  /// Layers start at extruding moves at a new z. In files that mark layers or features
  /// (";LAYER:", ";LAYER_CHANGE", ";TYPE:"), extrusion before the first marker is start G-code
  /// (purge lines) and belongs to no layer.
  int layers = 0;
  double filament_mm = 0;  ///< net E (retractions and their recoveries cancel)
  double filament_volume_mm3 = 0;
  double printing_mm = 0;  ///< XY length of extruding moves
  double travel_mm = 0;    ///< XY length of all non-extruding moves
  /// XY travel between the first and the last extruding move: excludes homing, purge-free
  /// start moves and the final park, so slicers can be compared (see references.md).
  double travel_print_mm = 0;
  int retractions = 0;  ///< E retractions and G10 (a retraction followed by travel counts once)
  int z_hops = 0;
  int color_changes = 0;  ///< M600 (or the configured colour-change command)
  int tool_changes = 0;
  double time_s = 0;  ///< estimate from the motion model (AnalyzeOptions)
  /// Bounds of the extruding moves in layers (a start G-code purge line before the file's first
  /// ";LAYER"/";TYPE:" marker is left out; see `layers`), or of all extruding moves if none is.
  double extrusion_min[3] = {0, 0, 0}, extrusion_max[3] = {0, 0, 0};
  double move_min[3] = {0, 0, 0}, move_max[3] = {0, 0, 0};  ///< bounds of all moves
  FeatureStats features[kFeatureCount];
};

enum class ProblemKind {
  syntax,          ///< unparsable word, bad number, checksum mismatch
  not_finite,      ///< NaN or Inf in a parameter
  outside_bed,     ///< a move leaves the bed's area or height
  e_backwards,     ///< absolute E decreased within a layer other than a retraction
  cold_extrusion,  ///< extrusion before the nozzle temperature was set (M104/M109/M568/G10 S)
  flow,            ///< extrusion per mm outside the flow limits
  other,
};
std::string_view problem_kind_name(ProblemKind kind);

struct Problem {
  ProblemKind kind = ProblemKind::other;
  std::size_t line = 0;  ///< 1-based; 0 for whole-file problems
  std::string message;   ///< complete sentence naming the values involved
};

struct AnalyzeOptions {
  /// Firmware whose E-mode rules apply. std::nullopt: taken from the file's own declaration
  /// (";FLAVOR:" from Cura or fabforge, "; gcode_flavor = " from PrusaSlicer), else marlin.
  std::optional<Flavor> flavor;
  /// Bed used by the outside_bed check: printable area [origin, origin + size] and max height.
  /// std::nullopt: taken from the file (PrusaSlicer's "; bed_shape = ", fabforge's header), else
  /// the bed check is skipped and a note says so.
  struct Bed {
    double origin_x_mm = 0, origin_y_mm = 0, width_mm = 220, depth_mm = 220, max_height_mm = 250;
  };
  std::optional<Bed> bed;
  double bed_tolerance_mm = 0.5;       ///< moves this far outside still pass (wipe/purge lines)
  double filament_diameter_mm = 1.75;  ///< unless the file declares its own
  double nozzle_diameter_mm = 0.4;     ///< unless the file declares its own
  /// Flow limits: the line width implied by E per mm of XY travel at the current layer height must
  /// lie within [min_width_factor, max_width_factor] x nozzle diameter; volumetric flow at the
  /// move's feed rate must not exceed max_volumetric_mm3_s. Moves shorter than 0.05 mm are exempt.
  double min_width_factor = 0.2, max_width_factor = 3.0, max_volumetric_mm3_s = 25.0;
  /// The e_backwards check (absolute E only): a move that takes E more than this far below the
  /// highest E reached in the current layer (since the last G92 E) is "E running backwards"
  /// rather than a retraction.
  double max_retraction_mm = 10;
  // Motion model for the time estimate: trapezoidal velocity profiles with a forward/backward
  // pass over junction speeds (junction deviation), like a firmware planner without lookahead limits.
  /// Acceleration until the file sets one with M204 (S, or P for printing moves).
  double acceleration_mm_s2 = 1000;
  double junction_deviation_mm = 0.013;
  double max_feedrate_mm_s = 500;
  /// Stops collecting problems after this many (the count still grows).
  std::size_t max_problems = 100;
};

struct GcodeAnalysis {
  Flavor flavor = Flavor::marlin;
  std::vector<Move> moves;
  std::vector<LayerStats> layers;
  GcodeStats stats;
  std::vector<Problem> problems;
  std::size_t problem_count = 0;   ///< including those beyond max_problems
  std::vector<std::string> notes;  ///< informational, e.g. which bed was used and where it came from
  /// The diameters the measurements used (the file's own declarations, else the options'); the
  /// coverage and the renderer need them to turn E into line widths.
  double filament_diameter_mm = 1.75;
  double nozzle_diameter_mm = 0.4;
  bool ok() const noexcept { return problem_count == 0; }
};

/// Interprets, measures and checks a G-code program. Never throws for bad G-code: problems are
/// reported in the result. `source` names the file in messages.
GcodeAnalysis analyze_gcode(std::string_view text, const AnalyzeOptions& options,
                            const std::string& source = "<gcode>");
/// Reads the file and analyzes it; throws input_error when the file cannot be read.
GcodeAnalysis analyze_gcode_file(const std::string& path, const AnalyzeOptions& options);

/// Fraction of the regions' area that the extrusion lines of one layer cover, each extruding
/// move counted as a stadium of the width implied by its E (flow.hpp width_from_area) and the
/// layer's height. Rasterized on a grid of `cell_mm`. 1 means the region is fully covered.
double layer_coverage(const GcodeAnalysis& analysis, std::size_t layer, const Regions& regions, double cell_mm = 0.02);

enum class ColorBy { feature, layer };
struct RenderOptions {
  ColorBy color_by = ColorBy::feature;
  double pixels_per_mm = 8;
  int max_pixels = 4096;              ///< longest side; pixels_per_mm is lowered to fit
  bool show_travel = true;            ///< thin grey lines
  std::optional<int> only_layer;      ///< draw a single layer (0-based)
  const Regions* underlay = nullptr;  ///< drawn filled in light grey beneath the paths
};
/// Top view of the moves as an RGB image (y up), extrusion drawn at its line width.
Image8 render_top_view(const GcodeAnalysis& analysis, const RenderOptions& options);

}  // namespace fabforge::gcode
