#pragma once
/// The extrusion flow model slicers use (see references.md): a line of width w and height h has
/// the cross-section of a rectangle with semicircular ends, area = (w - h) h + pi h^2 / 4, and
/// adjacent lines overlap so that their centres are w - h (1 - pi/4) apart. Filament length is
/// volume over the filament's cross-section.

#include <numbers>

namespace fabforge::gcode {

/// Cross-section area (mm^2) of an extruded line of the given width and height (mm).
constexpr double line_area_mm2(double width_mm, double height_mm) {
  return (width_mm - height_mm) * height_mm + std::numbers::pi * height_mm * height_mm / 4.0;
}

/// Centre-to-centre spacing (mm) of adjacent lines that fill the area without gaps.
constexpr double line_spacing_mm(double width_mm, double height_mm) {
  return width_mm - height_mm * (1.0 - std::numbers::pi / 4.0);
}

/// The line width (mm) an extrusion of `area_mm2` per mm at layer height h corresponds to.
constexpr double width_from_area(double area_mm2, double height_mm) {
  return area_mm2 / height_mm + height_mm * (1.0 - std::numbers::pi / 4.0);
}

/// Cross-section area (mm^2) of filament of diameter d.
constexpr double filament_area_mm2(double filament_diameter_mm) {
  return std::numbers::pi * filament_diameter_mm * filament_diameter_mm / 4.0;
}

/// Filament length (mm of E) to extrude a line of the given width, height and length.
constexpr double filament_for_line(double width_mm, double height_mm, double length_mm, double filament_diameter_mm) {
  return line_area_mm2(width_mm, height_mm) * length_mm / filament_area_mm2(filament_diameter_mm);
}

}  // namespace fabforge::gcode
