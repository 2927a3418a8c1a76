#pragma once
// Private pieces of the G-code reader shared by its source files: what a file declares about
// itself, the bounded problem list, and the entry points of the time estimate and the checks.

#include <cmath>
#include <cstdarg>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fabforge/gcode/analysis.hpp"

namespace fabforge::gcode::detail {

/// printf into a std::string (no fixed buffer, so no truncation).
std::string strprintf(const char* format, ...) __attribute__((format(printf, 1, 2)));

/// What a file says about itself in comments (lexer.cpp reads them before interpretation,
/// because PrusaSlicer writes its configuration at the end of the file).
struct FileDeclarations {
  std::optional<Flavor> flavor;
  std::string flavor_text;  ///< the declaration as written, for the notes
  std::optional<double> filament_diameter_mm;
  std::optional<double> nozzle_diameter_mm;
  std::optional<AnalyzeOptions::Bed> bed;  ///< max_height_mm is +inf when the file gives none
  std::string bed_text;
  std::optional<double> max_print_height_mm;  ///< PrusaSlicer's max_print_height
  /// The file marks where printing starts (";LAYER:", ";LAYER_CHANGE", ";TYPE:"): extrusion
  /// before the first marker is start G-code (purge lines), not a layer.
  bool has_print_markers = false;
};
FileDeclarations scan_declarations(std::string_view text);

/// A comment that marks layers or features (see FileDeclarations::has_print_markers).
bool is_print_marker(std::string_view comment);

/// Collects problems up to a limit while counting all of them.
class ProblemList {
 public:
  explicit ProblemList(std::size_t max_items) : max_(max_items) {}
  void add(ProblemKind kind, std::size_t line, std::string message) {
    ++count_;
    if (items_.size() < max_) items_.push_back(Problem{kind, line, std::move(message)});
  }
  std::size_t count() const noexcept { return count_; }
  std::vector<Problem>& items() noexcept { return items_; }

 private:
  std::size_t max_;
  std::size_t count_ = 0;
  std::vector<Problem> items_;
};

/// A G4 pause: the machine stops before moves[before_move] and waits.
struct Dwell {
  std::size_t before_move = 0;
  double seconds = 0;
};

/// motion.cpp: fills stats.time_s, LayerStats::time_s and FeatureStats::time_s.
void estimate_time(GcodeAnalysis& analysis, const std::vector<Dwell>& dwells, const AnalyzeOptions& options);

/// checks.cpp: the checks that need the interpreter's state, called as it goes.
class StreamChecks {
 public:
  StreamChecks(const AnalyzeOptions& options, const std::string& source, ProblemList& problems)
      : options_(options), source_(source), problems_(problems) {}
  /// "<source>, line N: " for the start of a message.
  std::string at(std::size_t line) const;
  void syntax(std::size_t line, const std::string& what);
  void not_finite(std::size_t line, std::string_view command, char letter, double value);
  void nozzle_temperature(double celsius) {
    if (celsius > 0) heated_ = true;
  }
  void start_macro(std::string_view name, std::size_t line);
  /// A move that pushes filament (e > 0).
  void extrusion(std::size_t line, double e);
  /// The absolute-E high-water mark starts again at `e_now` (G92 E, a new layer, M82).
  void reset_e_mark(double e_now) { e_mark_ = e_now; }
  /// A move in absolute E mode ended at logical E `e_after`.
  void absolute_e(std::size_t line, double e_before, double e_after);
  /// Notes the checks want to add to the analysis.
  std::vector<std::string> take_notes() { return std::move(notes_); }

 private:
  const AnalyzeOptions& options_;
  const std::string& source_;
  ProblemList& problems_;
  bool heated_ = false;
  bool cold_reported_ = false;
  std::string start_macro_;
  std::size_t start_macro_line_ = 0;
  double e_mark_ = 0;
  std::vector<std::string> notes_;
};

/// checks.cpp: every move's end inside the bed (grouping runs of moves outside it).
void check_bed(const GcodeAnalysis& analysis, const AnalyzeOptions::Bed& bed, double tolerance_mm,
               const std::string& source, ProblemList& problems);
/// checks.cpp: implied line width and volumetric flow of every extruding move of a layer.
void check_flow(const GcodeAnalysis& analysis, const AnalyzeOptions& options, const std::string& source,
                ProblemList& problems);

/// XY length of a move (sqrt, not std::hypot: this runs once per move in several passes).
inline double xy_length(const Move& m) {
  const double dx = static_cast<double>(m.x1) - m.x0, dy = static_cast<double>(m.y1) - m.y0;
  return std::sqrt(dx * dx + dy * dy);
}

/// The layer height the flow model should use for a layer: its height above the previous
/// layer, or its z when that is not positive (a first layer below a start G-code purge).
double effective_layer_height(const GcodeAnalysis& analysis, std::int32_t layer);

}  // namespace fabforge::gcode::detail
