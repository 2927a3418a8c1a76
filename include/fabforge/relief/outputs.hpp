#pragma once
/// Writing a solved relief: preview.png, compare.png, model.stl, model.3mf (with PrusaSlicer and
/// OrcaSlicer/BambuStudio colour changes and layer heights), swaps.txt, swaps.json, project.hfp
/// and report.json, all in one folder that appears only when every file is written.

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

#include "fabforge/core/mesh.hpp"
#include "fabforge/relief/model.hpp"
#include "fabforge/relief/solve.hpp"
#include "fabforge/relief/target.hpp"

namespace fabforge::relief {

struct OutputOptions {
  bool ascii_stl = false;
  /// Free-form facts for report.json: "settings" (what the user asked for), "input", "timings"
  /// (phase -> seconds) and anything else; merged into the report as given.
  nlohmann::json report_extra = nlohmann::json::object();
};

/// The printable solid: background base plus each printed pixel's layers, in mm, stepped with
/// flat areas merged, unprinted pixels left out. x along the image's columns, y up the image.
Mesh relief_mesh(const ReliefModel& model, const Target& target, const LayerMap& heights);

/// The discrete preview at target size (with bleed as the model's settings say), 8-bit RGB;
/// unprinted pixels are transparent (RGBA) when the target has any.
Image8 relief_preview(const ReliefModel& model, const Target& target, const Stack& stack, const LayerMap& heights);

/// Writes every output into `dir`. The files are first written to a sibling temporary folder
/// which then replaces `dir`; on any error nothing is left behind. Returns the report written.
nlohmann::json write_relief_outputs(const std::filesystem::path& dir, const ReliefModel& model, const Target& target,
                                    const SolveResult& result, const OutputOptions& options);

/// Rewrites just preview.png in `dir` atomically (for --preview-every while a solver runs).
void write_preview(const std::filesystem::path& dir, const ReliefModel& model, const Target& target, const Stack& stack,
                   const LayerMap& heights);

}  // namespace fabforge::relief
