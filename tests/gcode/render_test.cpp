// The top-view renderer: image size and scale, extrusion drawn where the lines are at their
// width, travel in grey, the underlay beneath, the layer filter and the layer colouring.

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <string>

#include "fabforge/core/error.hpp"
#include "fabforge/gcode/analysis.hpp"
#include "fabforge/gcode/flow.hpp"

namespace fabforge::gcode {
namespace {

using Rgb = std::array<int, 3>;

Rgb pixel(const Image8& img, int x, int y) { return {img.at(x, y, 0), img.at(x, y, 1), img.at(x, y, 2)}; }

// Pixel of a bed point (mm) for an image drawn with a 2 mm margin around [min_x, .., max_y].
Rgb at_mm(const Image8& img, double x, double y, double min_x, double max_y, double ppm) {
  return pixel(img, static_cast<int>(std::floor((x - (min_x - 2)) * ppm)),
               static_cast<int>(std::floor((max_y + 2 - y) * ppm)));
}

const Rgb kWhite{255, 255, 255};
const Rgb kUnderlay{225, 225, 225};
const Rgb kTravel{165, 165, 165};
const Rgb kWallOuter{255, 128, 0};  // render.cpp's palette
const Rgb kFill{170, 70, 40};

// Layer 0: an outer-wall line along y = 15 from x 10 to 30, a travel to (30, 25); layer 1: an
// infill line along y = 25 back to x 10. Lines 0.45 mm wide at 0.2 mm layers.
std::string two_lines() {
  const double e = filament_for_line(0.45, 0.2, 20, 1.75);
  char buf[600];
  std::snprintf(buf, sizeof buf,
                "M104 S200\nM83\n;LAYER:0\nG1 X10 Y15 Z0.2 F6000\n;TYPE:WALL-OUTER\nG1 X30 Y15 E%.5f F1800\n"
                "G1 X30 Y25 F6000\n;LAYER:1\nG1 Z0.4\n;TYPE:FILL\nG1 X10 Y25 E%.5f F1800\n",
                e, e);
  return buf;
}

TEST(GcodeRender, SizeAndScale) {
  const GcodeAnalysis a = analyze_gcode(two_lines(), {});
  ASSERT_EQ(a.layers.size(), 2u);
  RenderOptions o;
  o.pixels_per_mm = 8;
  o.show_travel = false;
  const Image8 img = render_top_view(a, o);
  // Extrusion spans x 10..30, y 15..25, plus 2 mm on each side; a legend panel on the right.
  EXPECT_EQ(img.channels, 3);
  EXPECT_EQ(img.height, 14 * 8);
  EXPECT_GE(img.width, 24 * 8);
  EXPECT_LE(img.width, 24 * 8 + 200);
  // The longest side is capped, the scale lowered to fit.
  o.max_pixels = 100;
  const Image8 small = render_top_view(a, o);
  EXPECT_LE(std::max(small.width, small.height), 100);
  EXPECT_EQ(small.width, 100);  // no room for the legend: the drawing fills the width
  EXPECT_NEAR(small.height, 100.0 * 14 / 24, 1.0);
  // The view frames the print: travel from the origin is drawn but does not widen it.
  o.max_pixels = 4096;
  o.show_travel = true;
  const Image8 with_travel = render_top_view(a, o);
  EXPECT_EQ(with_travel.height, 14 * 8);
  EXPECT_EQ(with_travel.width, img.width);
}

TEST(GcodeRender, ExtrusionIsDrawnWhereTheLinesAreAtTheirWidth) {
  const GcodeAnalysis a = analyze_gcode(two_lines(), {});
  RenderOptions o;
  o.pixels_per_mm = 20;  // a 0.45 mm line is 9 pixels wide
  const Image8 img = render_top_view(a, o);
  const double min_x = 10, max_y = 25;
  EXPECT_EQ(at_mm(img, 20, 15, min_x, max_y, 20), kWallOuter);
  EXPECT_EQ(at_mm(img, 20, 15.15, min_x, max_y, 20), kWallOuter);  // within the half width
  EXPECT_EQ(at_mm(img, 20, 15.4, min_x, max_y, 20), kWhite);       // beyond it
  EXPECT_EQ(at_mm(img, 20, 25, min_x, max_y, 20), kFill);
  EXPECT_EQ(at_mm(img, 20, 20, min_x, max_y, 20), kWhite);
  // The travel up the right side, drawn thin and grey.
  EXPECT_EQ(at_mm(img, 30, 20, min_x, max_y, 20), kTravel);
  // y is up: the later line (y = 25) is nearer the top of the image.
  EXPECT_LT(std::floor((max_y + 2 - 25) * 20), std::floor((max_y + 2 - 15) * 20));
}

TEST(GcodeRender, UnderlayIsLightGreyWithItsHolesLeftOut) {
  const GcodeAnalysis a = analyze_gcode(two_lines(), {});
  Regions r;
  r.islands.push_back({{{5, 5}, {35, 5}, {35, 35}, {5, 35}}, {{{12, 18}, {12, 22}, {18, 22}, {18, 18}}}});
  RenderOptions o;
  o.pixels_per_mm = 10;
  o.underlay = &r;
  o.show_travel = false;
  const Image8 img = render_top_view(a, o);
  const double min_x = 5, max_y = 35;  // the underlay widens the view
  EXPECT_EQ(img.height, 34 * 10);
  EXPECT_EQ(at_mm(img, 25, 30, min_x, max_y, 10), kUnderlay);
  EXPECT_EQ(at_mm(img, 15, 20, min_x, max_y, 10), kWhite);      // the hole
  EXPECT_EQ(at_mm(img, 20, 15, min_x, max_y, 10), kWallOuter);  // paths over the underlay
  EXPECT_EQ(at_mm(img, 4, 20, min_x, max_y, 10), kWhite);       // outside the island
}

TEST(GcodeRender, LayerFilterAndLayerColours) {
  const GcodeAnalysis a = analyze_gcode(two_lines(), {});
  RenderOptions o;
  o.pixels_per_mm = 10;
  o.show_travel = false;
  o.only_layer = 1;
  const Image8 top = render_top_view(a, o);
  // Only the layer-1 line: the view is x 10..30 around y = 25 alone (4 mm high with the margins;
  // the legend may make the image taller).
  EXPECT_GE(top.height, 40);
  EXPECT_LT(top.height, 14 * 10);
  EXPECT_EQ(at_mm(top, 20, 25, 10, 25, 10), kFill);
  // With an underlay holding the view, layer 0's line is simply not drawn.
  Regions r;
  r.islands.push_back({{{5, 5}, {35, 5}, {35, 35}, {5, 35}}, {}});
  o.underlay = &r;
  const Image8 held = render_top_view(a, o);
  EXPECT_EQ(at_mm(held, 20, 15, 5, 35, 10), kUnderlay);
  EXPECT_EQ(at_mm(held, 20, 25, 5, 35, 10), kFill);
  o.underlay = nullptr;

  o.only_layer.reset();
  o.color_by = ColorBy::layer;
  const Image8 ramp = render_top_view(a, o);
  const Rgb first = at_mm(ramp, 20, 15, 10, 25, 10);
  const Rgb second = at_mm(ramp, 20, 25, 10, 25, 10);
  EXPECT_NE(first, second);
  EXPECT_NE(first, kWhite);
  EXPECT_NE(second, kWhite);
  EXPECT_GT(first[2], first[0]);    // the first layer is blue
  EXPECT_GT(second[0], second[2]);  // the last is red

  o.only_layer = 2;
  EXPECT_THROW(render_top_view(a, o), Error);
}

TEST(GcodeRender, EmptyProgramGivesABlankImage) {
  const GcodeAnalysis a = analyze_gcode("M104 S200\n", {});
  const Image8 img = render_top_view(a, {});
  ASSERT_FALSE(img.empty());
  for (std::size_t i = 0; i < img.pixels.size(); ++i) ASSERT_EQ(img.pixels[i], 255);
}

}  // namespace
}  // namespace fabforge::gcode
