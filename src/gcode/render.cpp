// A top view of a G-code program: what a G-code viewer shows, as a PNG-ready image. Extrusion
// is drawn at the line width its E implies, so gaps and overlaps show as they would print;
// travel as thin grey lines; the intended regions beneath in light grey; a legend on the right.

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <string>

#include "fabforge/core/error.hpp"
#include "fabforge/gcode/analysis.hpp"
#include "fabforge/gcode/flow.hpp"

#include "analysis_internal.hpp"

namespace fabforge::gcode {

namespace {

using Rgb = std::array<std::uint8_t, 3>;

constexpr Rgb kBackground{255, 255, 255};
constexpr Rgb kUnderlay{225, 225, 225};
constexpr Rgb kTravel{165, 165, 165};
constexpr Rgb kText{40, 40, 40};
constexpr int kLegendWidth = 130;
constexpr int kLegendRow = 16;
constexpr double kMarginMm = 2;
constexpr int kShift = 4;  // sub-pixel bits for OpenCV drawing
constexpr double kShiftScale = 1 << kShift;

Rgb feature_colour(Feature f) {
  switch (f) {
    case Feature::wall_outer:
      return {255, 128, 0};
    case Feature::wall_inner:
      return {230, 200, 30};
    case Feature::gap_fill:
      return {0, 170, 170};
    case Feature::solid_infill:
      return {150, 60, 200};
    case Feature::top_solid_infill:
      return {220, 30, 40};
    case Feature::sparse_infill:
      return {170, 70, 40};
    case Feature::skirt:
      return {0, 150, 80};
    case Feature::support:
      return {40, 80, 220};
    case Feature::other:
      break;
  }
  return {90, 90, 90};
}

// Blue (first layer) through cyan, green and yellow to red (last layer).
Rgb ramp(double t) {
  static constexpr std::array<Rgb, 5> stops{
      {{59, 76, 192}, {40, 180, 200}, {90, 190, 70}, {245, 200, 40}, {200, 40, 40}}};
  t = std::clamp(t, 0.0, 1.0) * (stops.size() - 1);
  const std::size_t k = std::min<std::size_t>(static_cast<std::size_t>(t), stops.size() - 2);
  const double f = t - static_cast<double>(k);
  Rgb c{};
  for (int i = 0; i < 3; ++i)
    c[i] = static_cast<std::uint8_t>(std::lround(stops[k][i] * (1 - f) + stops[k + 1][i] * f));
  return c;
}

cv::Scalar scalar(Rgb c) { return cv::Scalar(c[0], c[1], c[2]); }  // the Mat holds RGB, not BGR

struct View {
  double min_x = 0, max_y = 0, ppm = 1;
  int width = 1, height = 1;  // of the drawing, without the legend
  cv::Point px(double x, double y) const {
    return cv::Point(static_cast<int>(std::lround((x - min_x) * ppm * kShiftScale)),
                     static_cast<int>(std::lround((max_y - y) * ppm * kShiftScale)));
  }
};

bool selected(const Move& m, const RenderOptions& o) { return !o.only_layer || m.layer == *o.only_layer; }

// The view frames the print: extrusion in layers (not the start G-code's purge line, not the
// homing and parking travel), falling back to any extrusion, then to any motion.
Box2 drawing_bounds(const GcodeAnalysis& a, const RenderOptions& o) {
  Box2 box;
  for (int pass = 0; pass < 3 && box.empty(); ++pass) {
    for (const Move& m : a.moves) {
      if (!selected(m, o)) continue;
      if (pass == 0 && !(m.extruding && m.layer >= 0)) continue;
      if (pass == 1 && !m.extruding) continue;
      box.add({m.x0, m.y0});
      box.add({m.x1, m.y1});
    }
  }
  if (o.underlay && !o.underlay->empty()) {
    const Box2 u = bounds(*o.underlay);
    if (!u.empty()) {
      box.add(u.min);
      box.add(u.max);
    }
  }
  return box;
}

void draw_underlay(cv::Mat& img, const View& v, const Regions& regions) {
  std::vector<std::vector<cv::Point>> contours;
  for (const PolygonWithHoles& p : regions.islands) {
    const auto add = [&](const Ring& r) {
      std::vector<cv::Point> c;
      c.reserve(r.size());
      for (const Point2& q : r) c.push_back(v.px(q.x, q.y));
      if (c.size() >= 3) contours.push_back(std::move(c));
    };
    add(p.outer);
    for (const Ring& h : p.holes) add(h);
  }
  // fillPoly fills by parity over all contours together, so holes stay empty.
  if (!contours.empty()) cv::fillPoly(img, contours, scalar(kUnderlay), cv::LINE_8, kShift);
}

void draw_moves(cv::Mat& img, const View& v, const GcodeAnalysis& a, const RenderOptions& o) {
  const double fa = filament_area_mm2(a.filament_diameter_mm);
  if (o.show_travel) {
    for (const Move& m : a.moves) {
      if (m.travel && selected(m, o))
        cv::line(img, v.px(m.x0, m.y0), v.px(m.x1, m.y1), scalar(kTravel), 1, cv::LINE_8, kShift);
    }
  }
  const double layers = std::max<double>(1.0, static_cast<double>(a.layers.size()) - 1.0);
  for (const Move& m : a.moves) {
    if (!m.extruding || !selected(m, o)) continue;
    const double xy = detail::xy_length(m);
    const double h = detail::effective_layer_height(a, m.layer);
    const double w = (xy > 1e-9 && h > 0) ? width_from_area(m.e * fa / xy, h) : a.nozzle_diameter_mm;
    const int thickness = std::clamp(static_cast<int>(std::lround(w * v.ppm)), 1, 255);
    const Rgb c = o.color_by == ColorBy::layer ? ramp(std::max(0, m.layer) / layers) : feature_colour(m.feature);
    cv::line(img, v.px(m.x0, m.y0), v.px(m.x1, m.y1), scalar(c), thickness, cv::LINE_AA, kShift);
  }
}

void legend_text(cv::Mat& img, const std::string& text, int x, int y) {
  cv::putText(img, text, cv::Point(x, y), cv::FONT_HERSHEY_SIMPLEX, 0.38, scalar(kText), 1, cv::LINE_AA);
}

void draw_legend(cv::Mat& img, int x0, const GcodeAnalysis& a, const RenderOptions& o) {
  int y = 6;
  if (o.color_by == ColorBy::layer) {
    const int bar_h = std::min(img.rows - 12, 200);
    for (int k = 0; k < bar_h; ++k) {
      const Rgb c = ramp(1.0 - static_cast<double>(k) / std::max(1, bar_h - 1));
      cv::line(img, cv::Point(x0 + 8, y + k), cv::Point(x0 + 24, y + k), scalar(c));
    }
    const std::size_t n = a.layers.size();
    legend_text(img, "layer " + std::to_string(std::max<std::size_t>(n, 1)), x0 + 30, y + 10);
    legend_text(img, "layer 1", x0 + 30, y + bar_h);
    return;
  }
  for (int f = 0; f < kFeatureCount; ++f) {
    if (a.stats.features[f].printing_mm <= 0) continue;
    cv::rectangle(img, cv::Rect(x0 + 8, y, 12, 12), scalar(feature_colour(static_cast<Feature>(f))), cv::FILLED);
    legend_text(img, std::string(feature_name(static_cast<Feature>(f))), x0 + 26, y + 10);
    y += kLegendRow;
  }
}

int legend_rows(const GcodeAnalysis& a, const RenderOptions& o) {
  if (o.color_by == ColorBy::layer) return 4;
  int rows = 0;
  for (const FeatureStats& f : a.stats.features) rows += f.printing_mm > 0 ? 1 : 0;
  return rows;
}

}  // namespace

Image8 render_top_view(const GcodeAnalysis& analysis, const RenderOptions& options) {
  if (!(options.pixels_per_mm > 0)) throw usage_error("the render scale must be a positive number of pixels per mm");
  if (options.max_pixels < 16) throw usage_error("the render size limit must be at least 16 pixels");
  if (options.only_layer &&
      (*options.only_layer < 0 || static_cast<std::size_t>(*options.only_layer) >= analysis.layers.size())) {
    throw usage_error("layer " + std::to_string(*options.only_layer + 1) + " does not exist: the program has " +
                      std::to_string(analysis.layers.size()) + " layers");
  }
  Box2 box = drawing_bounds(analysis, options);
  if (box.empty()) box = Box2{{0, 0}, {8, 8}};
  const int rows = legend_rows(analysis, options);
  const bool legend = rows > 0 && options.max_pixels >= 4 * kLegendWidth;
  const int legend_w = legend ? kLegendWidth : 0;

  View v;
  v.min_x = box.min.x - kMarginMm;
  v.max_y = box.max.y + kMarginMm;
  const double w_mm = box.max.x - box.min.x + 2 * kMarginMm, h_mm = box.max.y - box.min.y + 2 * kMarginMm;
  v.ppm = options.pixels_per_mm;
  const double longest = std::max(w_mm * v.ppm + legend_w, h_mm * v.ppm);
  if (longest > options.max_pixels) {
    v.ppm = std::min((options.max_pixels - legend_w) / w_mm, options.max_pixels / h_mm);
  }
  v.width = std::max(1, static_cast<int>(std::floor(w_mm * v.ppm + 1e-6)));  // 1e-6: 100 / 24 * 24 is 100
  v.height = std::max(1, static_cast<int>(std::floor(h_mm * v.ppm + 1e-6)));
  const int height = std::min(options.max_pixels, std::max(v.height, legend ? rows * kLegendRow + 12 : 0));

  cv::Mat img(height, v.width + legend_w, CV_8UC3, scalar(kBackground));
  cv::Mat drawing = img(cv::Rect(0, 0, v.width, std::min(v.height, height)));
  if (options.underlay) draw_underlay(drawing, v, *options.underlay);
  draw_moves(drawing, v, analysis, options);
  if (legend) draw_legend(img, v.width, analysis, options);

  Image8 out(img.cols, img.rows, 3);
  for (int r = 0; r < img.rows; ++r)
    std::memcpy(&out.at(0, r), img.ptr<std::uint8_t>(r), static_cast<std::size_t>(img.cols) * 3);
  return out;
}

}  // namespace fabforge::gcode
