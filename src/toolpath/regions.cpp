#include "fabforge/toolpath/regions.hpp"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <iomanip>
#include <numbers>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "fabforge/core/error.hpp"

#include "clipper_util.hpp"
#include "iso_contour.hpp"

namespace fabforge::toolpath {

namespace {

std::string fixed(double v, int decimals = 1) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(decimals) << v;
  return s.str();
}

// Where the pixels land on the bed: pixel-space point (px, py), y down, to bed mm, y up.
struct Frame {
  int width = 0, height = 0;
  double mm_per_px = 1;
  Point2 centre{};
  Point2 to_bed(Point2 p) const {
    return {centre.x + (p.x - 0.5 * width) * mm_per_px, centre.y + (0.5 * height - p.y) * mm_per_px};
  }
};

// Traced rings (pixel coordinates, inside on the left in image maths coordinates) to clean
// regions: specks dropped by area, mapped to the bed, simplified, then normalised by Clipper
// (even-odd: level-set rings never cross, so nesting alone says what is inside).
Regions rings_to_regions(std::vector<Ring> rings, const Frame& frame, double min_area_mm2, double tolerance_mm,
                         int& removed) {
  const double px_area = frame.mm_per_px * frame.mm_per_px;
  clip::Paths paths;
  for (Ring& ring : rings) {
    if (std::abs(signed_area(ring)) * px_area < min_area_mm2) {
      ++removed;
      continue;
    }
    for (Point2& p : ring) p = frame.to_bed(p);
    std::reverse(ring.begin(), ring.end());  // the y flip reversed the winding; restore it
    paths.push_back(clip::to_path(iso::simplify(ring, tolerance_mm)));
  }
  ClipperLib::Clipper clipper;
  clipper.AddPaths(paths, ClipperLib::ptSubject, true);
  ClipperLib::PolyTree tree;
  clipper.Execute(ClipperLib::ctUnion, tree, ClipperLib::pftEvenOdd, ClipperLib::pftEvenOdd);
  Regions raw = clip::to_regions(tree);
  // Simplification can leave slivers where two outlines nearly touch; they are not features.
  Regions out;
  for (auto& island : raw.islands) {
    if (std::abs(signed_area(island.outer)) < min_area_mm2) continue;
    std::erase_if(island.holes, [&](const Ring& h) { return std::abs(signed_area(h)) < min_area_mm2; });
    out.islands.push_back(std::move(island));
  }
  return out;
}

// ---- luminance and threshold ----------------------------------------------------------------

struct Luma {
  int width = 0, height = 0;
  cv::Mat value;             ///< CV_32F, 0..255
  std::vector<char> opaque;  ///< per pixel: alpha >= 128 (all 1 without alpha)
  bool any_transparent = false;
  std::size_t opaque_count = 0;
};

Luma luminance(const Image8& image) {
  Luma l;
  l.width = image.width;
  l.height = image.height;
  l.value.create(image.height, image.width, CV_32F);
  l.opaque.assign(image.pixel_count(), 1);
  const int c = image.channels;
  for (int y = 0; y < image.height; ++y) {
    float* row = l.value.ptr<float>(y);
    for (int x = 0; x < image.width; ++x) {
      const std::uint8_t* p = &image.pixels[image.index(x, y)];
      // Rec. 709 luma on the encoded samples, as load_image8 converts colour to grey.
      row[x] = c >= 3 ? 0.2126f * p[0] + 0.7152f * p[1] + 0.0722f * p[2] : static_cast<float>(p[0]);
      if (image.has_alpha() && p[c - 1] < 128) {
        l.opaque[static_cast<std::size_t>(y) * image.width + x] = 0;
        l.any_transparent = true;
      }
    }
  }
  l.opaque_count = static_cast<std::size_t>(std::count(l.opaque.begin(), l.opaque.end(), 1));
  return l;
}

// Robust noise estimate (grey levels): the median absolute response of a filter that cancels
// planes and straight edges' interiors; edges are a minority of pixels, so the median ignores them.
double noise_sigma(const Luma& l) {
  if (l.width < 3 || l.height < 3) return 0;
  // The kernel [1 -2 1; -2 4 -2; 1 -2 1] is the outer product of [1 -2 1] with itself: two 1-D
  // passes cost a third of the 2-D filter (which was a fifth of this stage's time).
  const cv::Mat k = (cv::Mat_<float>(1, 3) << 1, -2, 1);
  cv::Mat r;
  cv::sepFilter2D(l.value, r, CV_32F, k, k, cv::Point(-1, -1), 0, cv::BORDER_REPLICATE);
  std::array<std::uint64_t, 1024> hist{};
  std::uint64_t n = 0;
  for (int y = 1; y + 1 < l.height; ++y) {
    const float* row = r.ptr<float>(y);
    for (int x = 1; x + 1 < l.width; ++x) {
      if (!l.opaque[static_cast<std::size_t>(y) * l.width + x]) continue;
      ++hist[std::min<std::size_t>(1023, static_cast<std::size_t>(std::abs(row[x]) * 4))];
      ++n;
    }
  }
  std::uint64_t acc = 0;
  for (std::size_t i = 0; i < hist.size(); ++i) {
    acc += hist[i];
    if (2 * acc >= n) return (i + 0.5) / 4.0 / (0.6745 * 6.0);  // filter gain: sqrt(36) = 6
  }
  return 0;
}

struct Split {
  int threshold = -1;  ///< dark side: luminance <= threshold
  double dark_mean = 0, light_mean = 0;
  std::uint64_t dark = 0, light = 0;
  int min_value = 0, max_value = 255;
};

Split class_means(const std::array<std::uint64_t, 256>& hist, int t) {
  Split s;
  s.threshold = t;
  double sd = 0, sl = 0;
  for (int v = 0; v < 256; ++v) {
    if (v <= t)
      s.dark += hist[v], sd += double(hist[v]) * v;
    else
      s.light += hist[v], sl += double(hist[v]) * v;
  }
  s.dark_mean = s.dark ? sd / double(s.dark) : 0;
  s.light_mean = s.light ? sl / double(s.light) : 0;
  return s;
}

// Otsu's threshold over the opaque pixels, then moved to the midpoint of its two class means
// (Ridler-Calvard steps): Otsu alone may cut a clean black-on-white picture anywhere between the
// two levels, which would shift anti-aliased edges by up to half a pixel.
Split split_luminance(const Luma& l, const std::optional<int>& given) {
  std::array<std::uint64_t, 256> hist{};
  std::vector<std::uint8_t> samples;  // for cv::threshold, which takes a Mat of at most 2^31 samples
  const std::size_t stride = l.opaque_count / 1'000'000'000 + 1;
  samples.reserve(l.opaque_count / stride + 1);
  std::size_t seen = 0;
  for (int y = 0; y < l.height; ++y) {
    const float* row = l.value.ptr<float>(y);
    for (int x = 0; x < l.width; ++x) {
      if (!l.opaque[static_cast<std::size_t>(y) * l.width + x]) continue;
      const auto v = static_cast<std::uint8_t>(std::clamp(std::lround(row[x]), 0L, 255L));
      ++hist[v];
      if (seen++ % stride == 0) samples.push_back(v);
    }
  }
  Split s;
  if (given) {
    s = class_means(hist, *given);
  } else {
    cv::Mat src(1, static_cast<int>(samples.size()), CV_8U, samples.data()), dst;
    int t = static_cast<int>(cv::threshold(src, dst, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU));
    s = class_means(hist, t);
    for (int iter = 0; iter < 32 && s.dark && s.light; ++iter) {
      const double mid = 0.5 * (s.dark_mean + s.light_mean);
      const int next = std::clamp(static_cast<int>(std::ceil(mid)) - 1, 0, 254);  // v <= next <=> v < mid
      if (next == t) break;
      t = next;
      s = class_means(hist, t);
    }
  }
  s.min_value = 255, s.max_value = 0;
  for (int v = 0; v < 256; ++v)
    if (hist[v]) s.min_value = std::min(s.min_value, v), s.max_value = std::max(s.max_value, v);
  return s;
}

// The part is the side of the threshold that covers less of the image border (the background
// touches the border); a tie goes to the darker side.
bool part_is_dark(const Luma& l, int threshold) {
  std::uint64_t dark = 0, light = 0;
  auto count = [&](int x, int y) {
    if (!l.opaque[static_cast<std::size_t>(y) * l.width + x]) return;
    (l.value.at<float>(y, x) < threshold + 0.5f ? dark : light) += 1;
  };
  for (int x = 0; x < l.width; ++x) count(x, 0), count(x, l.height - 1);
  for (int y = 1; y + 1 < l.height; ++y) count(0, y), count(l.width - 1, y);
  return dark <= light;
}

// The signed field whose zero level is the part boundary: positive on the part side, with
// transparent pixels at the background's mean level.
std::vector<float> part_field(const Luma& l, const Split& s, bool dark_part) {
  const float level = static_cast<float>(s.threshold) + 0.5f;
  const double bg_mean = dark_part ? s.light_mean : s.dark_mean;
  const float background = -std::max(1.0f, std::abs(static_cast<float>(bg_mean) - level));
  std::vector<float> f(l.opaque.size());
  for (int y = 0; y < l.height; ++y) {
    const float* row = l.value.ptr<float>(y);
    for (int x = 0; x < l.width; ++x) {
      const std::size_t i = static_cast<std::size_t>(y) * l.width + x;
      f[i] = !l.opaque[i] ? background : dark_part ? level - row[x] : row[x] - level;
    }
  }
  return f;
}

// ---- sketch analysis -----------------------------------------------------------------------

struct Strokes {
  cv::Mat marks;         ///< CV_8U 255 on the part side of the threshold (pen strokes)
  cv::Mat filled;        ///< CV_8U 255: strokes and what they enclose, small gaps bridged
  double width_px = 0;   ///< mean stroke width
  double extent_px = 0;  ///< square root of the marks' bounding box area
  std::uint64_t mark_pixels = 0, filled_pixels = 0, enclosed_pixels = 0;
};

// The marks and their mean width. A band of width w and length L has area w L and a perimeter
// of about 2 L; counted along pixel edges the perimeter reads 4/pi longer on average over
// directions, so w = (8 / pi) area / edge count.
Strokes measure_marks(const std::vector<float>& field, int width, int height) {
  Strokes s;
  s.marks.create(height, width, CV_8U);
  std::uint64_t edges = 0;
  int x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (int y = 0; y < height; ++y) {
    auto* row = s.marks.ptr<std::uint8_t>(y);
    const float* f = &field[static_cast<std::size_t>(y) * width];
    const float* above = y > 0 ? f - width : nullptr;
    for (int x = 0; x < width; ++x) {
      const bool on = f[x] > 0;
      row[x] = on ? 255 : 0;
      edges += (x == 0 ? on : on != (f[x - 1] > 0)) + (y == 0 ? on : on != (above[x] > 0));
      edges += (x == width - 1 && on) + (y == height - 1 && on);
      if (on) s.mark_pixels++, x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
  }
  s.width_px = edges ? std::max(1.0, 8.0 / std::numbers::pi * double(s.mark_pixels) / double(edges)) : 1.0;
  s.extent_px = x1 >= x0 ? std::sqrt(double(x1 - x0 + 1) * double(y1 - y0 + 1)) : 0;
  return s;
}

// Pixels within r of a mark: a disc dilation (fast for small r), else a distance transform.
cv::Mat grow(const cv::Mat& mask, double r) {
  cv::Mat out;
  if (r <= 20) {
    const int k = static_cast<int>(std::floor(r));
    cv::dilate(mask, out, cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * k + 1, 2 * k + 1)));
  } else {
    cv::Mat dist;
    cv::distanceTransform(255 - mask, dist, cv::DIST_L2, cv::DIST_MASK_PRECISE);
    out = dist <= r;
  }
  return out;
}

// The part a pen drawing encloses, with gaps narrower than 2 r bridged. Morphological closing
// would not do: it fills concave corners but leaves the gap between two pen strokes that end
// facing each other. Instead the background is grown inward from the border only where it stays
// more than r from every mark, so it cannot pass a gap under 2 r wide, and then grown back by r
// to the strokes' edges. What it never reaches is the part: strokes and what they enclose.
void fill_enclosed(Strokes& s, double r) {
  const int pad = static_cast<int>(std::ceil(r)) + 2;  // the outer pad ring is always open
  cv::Mat padded;
  cv::copyMakeBorder(s.marks, padded, pad, pad, pad, pad, cv::BORDER_CONSTANT, 0);
  cv::Mat open = 255 - grow(padded, r);
  cv::floodFill(open, cv::Point(0, 0), cv::Scalar(128), nullptr, cv::Scalar(0), cv::Scalar(0), 4);
  const cv::Mat part = 255 - grow(open == 128, r);
  s.filled = part(cv::Rect(pad, pad, s.marks.cols, s.marks.rows)).clone();
  s.filled_pixels = static_cast<std::uint64_t>(cv::countNonZero(s.filled));
  s.enclosed_pixels = s.filled_pixels - static_cast<std::uint64_t>(cv::countNonZero(s.marks & s.filled));
}

struct SketchPart {
  cv::Mat part;  ///< CV_8U 255 where the part is
  std::vector<std::string> open_strokes;
};

// End-to-end length of a thin component from its outline: a stroke of length L and width w has
// a perimeter of about 2 (L + w), less 4 through the centres of its border pixels.
double stroke_length_px(const cv::Mat& labels, const cv::Mat& stats, int label, double width_px) {
  const cv::Rect box(stats.at<int>(label, cv::CC_STAT_LEFT), stats.at<int>(label, cv::CC_STAT_TOP),
                     stats.at<int>(label, cv::CC_STAT_WIDTH), stats.at<int>(label, cv::CC_STAT_HEIGHT));
  cv::Mat mask = labels(box) == label;
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(mask, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_NONE);
  double perimeter = 0;
  for (const auto& c : contours) perimeter = std::max(perimeter, cv::arcLength(c, true));
  return std::max(width_px, perimeter / 2 - width_px + 2);
}

// Keeps the filled components that enclose an area; the others are open strokes. Bridging gaps
// also fills a stroke's sharp inside corners a little, so an area counts as enclosed only from
// the square of the gap size up.
SketchPart sketch_part(const Strokes& s, const Frame& frame, double min_area_mm2, double gap_mm) {
  cv::Mat labels, stats, centroids;
  const int n = cv::connectedComponentsWithStats(s.filled, labels, stats, centroids, 8, CV_32S);
  std::vector<std::uint64_t> enclosed(static_cast<std::size_t>(n), 0);
  for (int y = 0; y < labels.rows; ++y) {
    const int* lab = labels.ptr<int>(y);
    const std::uint8_t* marks = s.marks.ptr<std::uint8_t>(y);
    for (int x = 0; x < labels.cols; ++x)
      if (lab[x] > 0 && !marks[x]) ++enclosed[static_cast<std::size_t>(lab[x])];
  }
  const double px_area = frame.mm_per_px * frame.mm_per_px;
  std::vector<char> keep(static_cast<std::size_t>(n), 0);
  SketchPart out;
  for (int i = 1; i < n; ++i) {
    if (double(enclosed[static_cast<std::size_t>(i)]) * px_area >= std::max({min_area_mm2, gap_mm * gap_mm, px_area})) {
      keep[static_cast<std::size_t>(i)] = 1;
      continue;
    }
    const double length_mm = stroke_length_px(labels, stats, i, s.width_px) * frame.mm_per_px;
    const Point2 at = frame.to_bed({centroids.at<double>(i, 0) + 0.5, centroids.at<double>(i, 1) + 0.5});
    out.open_strokes.push_back("open stroke " + fixed(length_mm) + " mm long near (" + fixed(at.x) + ", " +
                               fixed(at.y) + ")");
  }
  out.part = cv::Mat::zeros(labels.rows, labels.cols, CV_8U);
  for (int y = 0; y < labels.rows; ++y) {
    const int* lab = labels.ptr<int>(y);
    auto* row = out.part.ptr<std::uint8_t>(y);
    for (int x = 0; x < labels.cols; ++x) row[x] = keep[static_cast<std::size_t>(lab[x])] ? 255 : 0;
  }
  return out;
}

// ---- parameters --------------------------------------------------------------------------

struct Settings {
  double min_area_mm2 = 0, tolerance_mm = 0, gap_mm = 0;
};

Settings resolve(const RegionParams& p) {
  const bool needs_width = p.min_feature_area_mm2 < 0 || p.simplify_tolerance_mm < 0;
  if (needs_width && !(std::isfinite(p.line_width_mm) && p.line_width_mm > 0))
    throw usage_error("line width must be a positive number of mm (got " + fixed(p.line_width_mm, 3) + ")");
  if (!std::isfinite(p.min_feature_area_mm2) || !std::isfinite(p.simplify_tolerance_mm) ||
      !std::isfinite(p.sketch_gap_mm))
    throw usage_error("minimum feature area, simplification tolerance and sketch gap must be finite numbers");
  if (p.threshold && (*p.threshold < 0 || *p.threshold > 255))
    throw usage_error("threshold must be between 0 and 255 (got " + std::to_string(*p.threshold) + ")");
  if (p.max_pixels <= 0) throw usage_error("max_pixels must be positive (got " + std::to_string(p.max_pixels) + ")");
  Settings s;
  s.min_area_mm2 = p.min_feature_area_mm2 >= 0 ? p.min_feature_area_mm2 : p.line_width_mm * p.line_width_mm;
  s.tolerance_mm = p.simplify_tolerance_mm >= 0 ? p.simplify_tolerance_mm : p.line_width_mm / 4;
  s.gap_mm = p.sketch_gap_mm >= 0 ? p.sketch_gap_mm : 1.0;
  return s;
}

void check_image(const Image8& image, const RegionParams& params) {
  if (image.empty() || image.width <= 0 || image.height <= 0) throw input_error("the image is empty (no pixels)");
  if (image.channels < 1 || image.channels > 4)
    throw input_error("the image has " + std::to_string(image.channels) + " channels; 1 to 4 are supported");
  if (image.pixels.size() != image.pixel_count() * static_cast<std::size_t>(image.channels))
    throw input_error("the image's sample count does not match its size and channels");
  const auto pixels = static_cast<std::int64_t>(image.pixel_count());
  if (pixels > params.max_pixels)
    throw usage_error("the image has " + std::to_string(image.width) + " x " + std::to_string(image.height) + " = " +
                      std::to_string(pixels) + " pixels, more than the limit of " + std::to_string(params.max_pixels) +
                      "; shrink the image or raise the limit with --max-megapixels");
}

const char* side_name(bool dark) { return dark ? "dark" : "light"; }

// Automatic mode: pen strokes are thin next to the shape they outline and enclose far more area
// than they cover; a silhouette is its own filled area.
bool looks_like_sketch(Strokes& s, const Frame& frame, bool dark, double gap_px, std::string& reason) {
  const std::string head = "automatic mode chose ", side = std::string(" the ") + side_name(dark) + " marks are about ";
  const std::string rule = " (a sketch needs strokes under 8% of that size enclosing over 2 times their area)";
  if (s.width_px >= 0.08 * s.extent_px) {  // too thick to be strokes whatever they enclose: skip filling
    reason = head + "silhouette:" + side + fixed(s.width_px * frame.mm_per_px, 2) + " mm thick across " +
             fixed(s.extent_px * frame.mm_per_px) + " mm, a filled shape rather than pen strokes" +
             " (pen strokes would be under 8% of that size)";
    return false;
  }
  fill_enclosed(s, 0.5 * gap_px);
  const double size_px = std::sqrt(double(std::max<std::uint64_t>(s.filled_pixels, 1)));
  const double enclosed_ratio = double(s.enclosed_pixels) / double(std::max<std::uint64_t>(s.mark_pixels, 1));
  const bool sketch = s.width_px < 0.08 * size_px && enclosed_ratio > 2.0;
  reason = head + (sketch ? "sketch:" : "silhouette:") + side + fixed(s.width_px * frame.mm_per_px, 2) +
           " mm wide against a " + fixed(size_px * frame.mm_per_px) + " mm filled shape and enclose " +
           fixed(enclosed_ratio, 2) + " times their own area" + rule;
  return sketch;
}

}  // namespace

std::string_view region_mode_name(RegionMode mode) {
  switch (mode) {
    case RegionMode::silhouette:
      return "silhouette";
    case RegionMode::sketch:
      return "sketch";
    case RegionMode::automatic:
      break;
  }
  return "auto";
}

RegionMode parse_region_mode(std::string_view name) {
  for (RegionMode m : {RegionMode::silhouette, RegionMode::sketch, RegionMode::automatic})
    if (name == region_mode_name(m)) return m;
  throw usage_error("--mode must be silhouette, sketch or auto, not \"" + std::string(name) + "\"");
}

double mm_per_pixel(const ImagePlacement& placement, int width_px, int height_px) {
  if (width_px <= 0 || height_px <= 0) throw usage_error("image size must be positive to place it on the bed");
  const int given = (placement.width_mm != 0) + (placement.height_mm != 0) + (placement.dpi != 0);
  if (given > 1)
    throw usage_error("image placement: give at most one of width, height and dpi (each sets the scale; got " +
                      std::string(placement.width_mm != 0 ? "width " : "") +
                      (placement.height_mm != 0 ? "height " : "") + (placement.dpi != 0 ? "dpi" : "") + ")");
  auto check = [](double v, const char* what) {
    if (!std::isfinite(v) || v <= 0)
      throw usage_error(std::string("image placement: ") + what + " must be a positive number (got " + fixed(v, 3) +
                        ")");
    return v;
  };
  if (!std::isfinite(placement.centre_mm.x) || !std::isfinite(placement.centre_mm.y))
    throw usage_error("image placement: the centre must be finite coordinates in mm");
  if (placement.width_mm != 0) return check(placement.width_mm, "width") / width_px;
  if (placement.height_mm != 0) return check(placement.height_mm, "height") / height_px;
  if (placement.dpi != 0) return 25.4 / check(placement.dpi, "dpi");
  return 80.0 / std::max(width_px, height_px);
}

Regions mask_to_regions(const Image8& mask, double mm_per_pixel_, Point2 centre_mm, double min_feature_area_mm2,
                        double simplify_tolerance_mm, int* removed_specks) {
  if (!std::isfinite(mm_per_pixel_) || mm_per_pixel_ <= 0) throw usage_error("mm per pixel must be positive");
  int removed = 0;
  Regions out;
  if (!mask.empty()) {
    const int c = mask.channels;
    std::vector<float> field(mask.pixel_count());
    for (std::size_t i = 0; i < field.size(); ++i) {
      const std::uint8_t* p = &mask.pixels[i * static_cast<std::size_t>(c)];
      const int colours = mask.has_alpha() ? c - 1 : c;
      bool on = std::any_of(p, p + colours, [](std::uint8_t v) { return v != 0; });
      if (mask.has_alpha() && p[c - 1] < 128) on = false;
      field[i] = on ? 1.0f : -1.0f;
    }
    const Frame frame{mask.width, mask.height, mm_per_pixel_, centre_mm};
    out = rings_to_regions(iso::trace({mask.width, mask.height, field.data()}), frame,
                           std::max(0.0, min_feature_area_mm2), std::max(0.0, simplify_tolerance_mm), removed);
  }
  if (removed_specks) *removed_specks = removed;
  return out;
}

namespace {

// Step 2: the threshold, the part's side of it, and the signed field whose zero level is the
// part boundary. Fills threshold_used, inverted and warnings.
std::vector<float> part_side_field(const Image8& image, const Luma& luma, const RegionParams& params,
                                   RegionReport& report) {
  const Split split = split_luminance(luma, params.threshold);
  const bool one_colour =
      split.dark == 0 || split.light == 0 || (!params.threshold && split.light_mean - split.dark_mean < 8);
  if (one_colour && luma.any_transparent) {
    // A single-colour logo on a transparent background: the part is the opaque area, and the
    // anti-aliased alpha edge gives its outline.
    std::vector<float> field(image.pixel_count());
    const float sign = params.invert ? -1.0f : 1.0f;
    for (std::size_t i = 0; i < field.size(); ++i)
      field[i] = sign * (static_cast<float>(image.pixels[(i + 1) * image.channels - 1]) - 127.5f);
    report.threshold_used = -1;  // no luminance threshold: alpha 128 separates part and background
    report.inverted = params.invert;
    report.warnings.push_back("the opaque pixels are all one colour, so the part is the opaque area (alpha >= 128)");
    return field;
  }
  if (one_colour)
    throw input_error("no part found: the image is all one colour (luminance " + std::to_string(split.min_value) +
                      (split.max_value != split.min_value ? " to " + std::to_string(split.max_value) : "") +
                      "), so nothing separates a part from its background" +
                      (params.threshold ? " at threshold " + std::to_string(*params.threshold) : std::string()));
  const bool dark = part_is_dark(luma, split.threshold) != params.invert;
  report.threshold_used = split.threshold;
  report.inverted = !dark;
  return part_field(luma, split, dark);
}

// Step 3: sketch or silhouette (choosing if automatic); in sketch mode the field is rewritten so
// the part is the strokes plus what they enclose.
void apply_mode(std::vector<float>& field, const Image8& image, const Frame& frame, const RegionParams& params,
                const Settings& settings, RegionReport& report) {
  report.mode_used = params.mode == RegionMode::sketch ? RegionMode::sketch : RegionMode::silhouette;
  report.mode_reason = std::string(region_mode_name(report.mode_used)) + " mode was requested";
  if (params.mode == RegionMode::silhouette) return;
  const double gap_px = settings.gap_mm / frame.mm_per_px;
  Strokes strokes = measure_marks(field, image.width, image.height);
  if (params.mode == RegionMode::automatic) {
    const bool sketch = looks_like_sketch(strokes, frame, !report.inverted, gap_px, report.mode_reason);
    report.mode_used = sketch ? RegionMode::sketch : RegionMode::silhouette;
  } else {
    fill_enclosed(strokes, 0.5 * gap_px);
  }
  if (report.mode_used != RegionMode::sketch) return;
  SketchPart part = sketch_part(strokes, frame, settings.min_area_mm2, settings.gap_mm);
  report.open_strokes = std::move(part.open_strokes);
  if (!cv::countNonZero(part.part))
    throw input_error("no part found: no stroke closes an area (" + std::to_string(report.open_strokes.size()) +
                      " open strokes); if the outline has gaps wider than " + fixed(settings.gap_mm, 2) +
                      " mm, raise --sketch-gap-mm, or use silhouette mode for a filled shape");
  for (int y = 0; y < image.height; ++y) {
    const std::uint8_t* row = part.part.ptr<std::uint8_t>(y);
    for (int x = 0; x < image.width; ++x) {
      float& f = field[static_cast<std::size_t>(y) * image.width + x];
      f = row[x] ? std::max(f, 1.0f) : std::min(f, -1.0f);  // keep the strokes' sub-pixel outer edge
    }
  }
}

}  // namespace

std::vector<LayerRegions> image_heightmap_layers(const Image8& image, const RegionParams& params,
                                                 const LayerParams& layers) {
  const Settings settings = resolve(params);
  check_image(image, params);
  return heightmap_layers(image, Image8{}, layers, mm_per_pixel(params.placement, image.width, image.height),
                          params.placement.centre_mm, settings.min_area_mm2, settings.tolerance_mm);
}

ImageRegions image_to_regions(const Image8& image, const RegionParams& params, RunContext& context) {
  const Settings settings = resolve(params);
  check_image(image, params);
  const Frame frame{image.width, image.height, mm_per_pixel(params.placement, image.width, image.height),
                    params.placement.centre_mm};
  auto progress = context.task("finding regions", 4, "steps");
  ImageRegions result;
  RegionReport& report = result.report;
  report.mm_per_pixel = frame.mm_per_px;

  Luma luma = luminance(image);
  if (luma.opaque_count == 0) throw input_error("no part found: every pixel of the image is transparent");
  // Sensor noise would make the outline ragged and scatter specks: smooth it away first.
  if (noise_sigma(luma) > 2.0) cv::GaussianBlur(luma.value, luma.value, cv::Size(5, 5), 1.0, 1.0, cv::BORDER_REPLICATE);
  context.throw_if_cancelled();
  progress->advance();

  std::vector<float> field = part_side_field(image, luma, params, report);
  context.throw_if_cancelled();
  progress->advance();

  apply_mode(field, image, frame, params, settings, report);
  context.throw_if_cancelled();
  progress->advance();

  result.regions = rings_to_regions(iso::trace({image.width, image.height, field.data()}), frame, settings.min_area_mm2,
                                    settings.tolerance_mm, report.removed_specks);
  if (result.regions.empty())
    throw input_error("no part found: the image is all one colour after thresholding at " +
                      std::to_string(report.threshold_used) + " (every shape found, " +
                      std::to_string(report.removed_specks) + " in all, is smaller than the minimum feature of " +
                      fixed(settings.min_area_mm2, 3) + " mm^2)");
  report.islands = static_cast<int>(result.regions.islands.size());
  for (const auto& island : result.regions.islands) report.holes += static_cast<int>(island.holes.size());
  report.area_mm2 = area(result.regions);
  progress->advance();
  progress->finish();
  return result;
}

}  // namespace fabforge::toolpath
