#include "fabforge/toolpath/regions.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <numbers>
#include <string>

#include "fabforge/core/error.hpp"
#include "fabforge/core/image.hpp"

#include "support/test_support.hpp"

namespace fabforge::toolpath {
namespace {

constexpr double kPi = std::numbers::pi;

// Renders a shape given in mm around the image centre (y up, as on the bed) with anti-aliased
// edges: coverage by 8 x 8 supersampling where a pixel's corners disagree. The image's longer
// side is 80 mm, which is also image_to_regions' default scale.
template <class Inside>
Image8 render(int w, int h, Inside inside, std::uint8_t part = 0, std::uint8_t background = 255) {
  Image8 img(w, h, 1);
  const double mpp = 80.0 / std::max(w, h);
  auto at = [&](double px, double py) { return inside((px - 0.5 * w) * mpp, (0.5 * h - py) * mpp); };
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const bool c0 = at(x, y), c1 = at(x + 1, y), c2 = at(x, y + 1), c3 = at(x + 1, y + 1);
      const bool c4 = at(x + 0.5, y + 0.5);
      double cover = c0 ? 1 : 0;
      if (c0 != c1 || c0 != c2 || c0 != c3 || c0 != c4) {
        int n = 0;
        for (int j = 0; j < 8; ++j)
          for (int i = 0; i < 8; ++i) n += at(x + (i + 0.5) / 8, y + (j + 0.5) / 8);
        cover = n / 64.0;
      }
      img.at(x, y) = static_cast<std::uint8_t>(std::lround(background + (part - background) * cover));
    }
  }
  return img;
}

auto disc(double cx, double cy, double r) {
  return [=](double x, double y) { return (x - cx) * (x - cx) + (y - cy) * (y - cy) < r * r; };
}

// A stroke: points within half_width of the segment a-b.
bool near_segment(double x, double y, Point2 a, Point2 b, double half_width) {
  const double dx = b.x - a.x, dy = b.y - a.y;
  const double t = std::clamp(((x - a.x) * dx + (y - a.y) * dy) / (dx * dx + dy * dy), 0.0, 1.0);
  return std::hypot(a.x + t * dx - x, a.y + t * dy - y) < half_width;
}

ImageRegions extract(const Image8& img, RegionParams params = {}) {
  RunContext ctx;
  return image_to_regions(img, params, ctx);
}

const Point2 kCentre{110, 110};

double distance_to_boundary(const Regions& r, Point2 p) {
  double best = 1e300;
  auto ring_distance = [&](const Ring& ring) {
    for (std::size_t i = 0, j = ring.size() - 1; i < ring.size(); j = i++) {
      const Point2 a = ring[j], b = ring[i];
      const double dx = b.x - a.x, dy = b.y - a.y, len2 = dx * dx + dy * dy;
      const double t = len2 > 0 ? std::clamp(((p.x - a.x) * dx + (p.y - a.y) * dy) / len2, 0.0, 1.0) : 0;
      best = std::min(best, std::hypot(a.x + t * dx - p.x, a.y + t * dy - p.y));
    }
  };
  for (const auto& island : r.islands) {
    ring_distance(island.outer);
    for (const Ring& h : island.holes) ring_distance(h);
  }
  return best;
}

std::size_t point_count(const Regions& r) {
  std::size_t n = 0;
  for (const auto& island : r.islands) {
    n += island.outer.size();
    for (const Ring& h : island.holes) n += h.size();
  }
  return n;
}

void expect_valid_orientation(const Regions& r) {
  for (const auto& island : r.islands) {
    EXPECT_GT(signed_area(island.outer), 0);
    for (const Ring& h : island.holes) EXPECT_LT(signed_area(h), 0);
  }
}

TEST(ImageToRegions, DiscAreaIsUnbiasedAtTwoResolutions) {
  const double r = 25;
  double areas[2];
  int k = 0;
  for (int size : {400, 800}) {
    const ImageRegions out = extract(render(size, size, disc(0, 0, r)));
    ASSERT_EQ(out.regions.islands.size(), 1u);
    EXPECT_TRUE(out.regions.islands[0].holes.empty());
    EXPECT_NEAR(out.report.mm_per_pixel, 80.0 / size, 1e-12);
    EXPECT_NEAR(out.report.area_mm2, area(out.regions), 1e-9);
    EXPECT_NEAR(out.report.area_mm2 / (kPi * r * r), 1.0, 0.01) << "size " << size;
    const Box2 b = bounds(out.regions);
    EXPECT_NEAR(b.min.x, kCentre.x - r, 0.1);
    EXPECT_NEAR(b.max.y, kCentre.y + r, 0.1);
    expect_valid_orientation(out.regions);
    areas[k++] = out.report.area_mm2;
  }
  EXPECT_NEAR(areas[0] / areas[1], 1.0, 0.005);
}

TEST(ImageToRegions, HoleIsKept) {
  const auto annulus = [](double x, double y) {
    const double d = std::hypot(x, y);
    return d < 30 && d > 15;
  };
  const ImageRegions out = extract(render(600, 600, annulus));
  ASSERT_EQ(out.report.islands, 1);
  EXPECT_EQ(out.report.holes, 1);
  EXPECT_NEAR(out.report.area_mm2 / (kPi * (30 * 30 - 15 * 15)), 1.0, 0.01);
  EXPECT_FALSE(contains(out.regions, kCentre));
  EXPECT_TRUE(contains(out.regions, {kCentre.x + 22, kCentre.y}));
  expect_valid_orientation(out.regions);
}

TEST(ImageToRegions, IslandInsideAHoleIsItsOwnIsland) {
  const auto target = [](double x, double y) {
    const double d = std::hypot(x, y);
    return (d < 30 && d > 20) || d < 10;
  };
  const ImageRegions out = extract(render(500, 500, target));
  EXPECT_EQ(out.report.islands, 2);
  EXPECT_EQ(out.report.holes, 1);
  EXPECT_TRUE(contains(out.regions, kCentre));
  EXPECT_FALSE(contains(out.regions, {kCentre.x + 15, kCentre.y}));
  EXPECT_NEAR(out.report.area_mm2 / (kPi * (900 - 400 + 100)), 1.0, 0.01);
}

TEST(ImageToRegions, LightPartOnDarkBackgroundIsFound) {
  const ImageRegions out = extract(render(400, 400, disc(5, -3, 20), 255, 0));
  ASSERT_EQ(out.report.islands, 1);
  EXPECT_TRUE(out.report.inverted);  // the part is the light side
  EXPECT_NEAR(out.report.area_mm2 / (kPi * 400), 1.0, 0.01);
  EXPECT_TRUE(contains(out.regions, {kCentre.x + 5, kCentre.y - 3}));
}

TEST(ImageToRegions, InvertTakesTheOtherSide) {
  RegionParams p;
  p.invert = true;
  const ImageRegions out = extract(render(400, 400, disc(0, 0, 20)), p);
  ASSERT_EQ(out.report.islands, 1);
  EXPECT_EQ(out.report.holes, 1);
  EXPECT_TRUE(out.report.inverted);
  EXPECT_NEAR(out.report.area_mm2, 80 * 80 - kPi * 400, 0.01 * kPi * 400);
  const Box2 b = bounds(out.regions);  // the background reaches the image edges
  EXPECT_NEAR(b.min.x, kCentre.x - 40, 1e-6);
  EXPECT_NEAR(b.max.y, kCentre.y + 40, 1e-6);
}

TEST(ImageToRegions, ThresholdChoosesWhichGreysArePart) {
  // A black disc and a mid-grey square on white.
  const auto disc_in = disc(-15, 0, 10);
  const auto square_in = [](double x, double y) { return std::abs(x - 18) < 8 && std::abs(y) < 8; };
  Image8 img = render(400, 400, disc_in);
  const Image8 sq = render(400, 400, square_in, 128);
  for (std::size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = std::min(img.pixels[i], sq.pixels[i]);

  RegionParams p;
  p.threshold = 60;
  ImageRegions low = extract(img, p);
  EXPECT_EQ(low.report.threshold_used, 60);
  EXPECT_EQ(low.report.islands, 1);
  EXPECT_NEAR(low.report.area_mm2 / (kPi * 100), 1.0, 0.02);
  p.threshold = 200;
  ImageRegions high = extract(img, p);
  EXPECT_EQ(high.report.threshold_used, 200);
  EXPECT_EQ(high.report.islands, 2);
  EXPECT_NEAR(high.report.area_mm2 / (kPi * 100 + 256), 1.0, 0.02);
}

TEST(ImageToRegions, OtsuThresholdLiesBetweenTheTwoLevels) {
  const ImageRegions out = extract(render(300, 300, disc(0, 0, 20), 40, 220));
  EXPECT_GT(out.report.threshold_used, 100);
  EXPECT_LT(out.report.threshold_used, 160);
  EXPECT_FALSE(out.report.inverted);
  EXPECT_EQ(out.report.mode_used, RegionMode::silhouette);
  EXPECT_FALSE(out.report.mode_reason.empty());
}

TEST(ImageToRegions, ColourImageUsesLuminance) {
  const Image8 grey = render(300, 300, disc(0, 0, 20));
  Image8 rgb(300, 300, 3);
  for (std::size_t i = 0; i < grey.pixel_count(); ++i) {
    const bool part = grey.pixels[i] < 128;
    rgb.pixels[3 * i] = part ? 20 : 250;  // dark blue on near white
    rgb.pixels[3 * i + 1] = part ? 40 : 250;
    rgb.pixels[3 * i + 2] = part ? 160 : 245;
  }
  const ImageRegions out = extract(rgb);
  EXPECT_EQ(out.report.islands, 1);
  EXPECT_NEAR(out.report.area_mm2 / (kPi * 400), 1.0, 0.02);
}

TEST(ImageToRegions, TransparentPixelsAreBackground) {
  // Grey + alpha: a dark disc, and a dark square that is transparent.
  const Image8 d = render(400, 400, disc(-15, 0, 10));
  const Image8 sq = render(400, 400, [](double x, double y) { return std::abs(x - 18) < 8 && std::abs(y) < 8; });
  Image8 img(400, 400, 2);
  for (std::size_t i = 0; i < d.pixel_count(); ++i) {
    img.pixels[2 * i] = std::min(d.pixels[i], sq.pixels[i]);
    img.pixels[2 * i + 1] = sq.pixels[i] < 128 ? 0 : 255;
  }
  const ImageRegions out = extract(img);
  EXPECT_EQ(out.report.islands, 1);
  EXPECT_NEAR(out.report.area_mm2 / (kPi * 100), 1.0, 0.02);
  EXPECT_FALSE(contains(out.regions, {kCentre.x + 18, kCentre.y}));
}

TEST(ImageToRegions, SingleColourLogoOnTransparencyUsesItsAlpha) {
  const Image8 cover = render(400, 400, disc(0, 0, 20), 255, 0);  // 255 = opaque
  Image8 img(400, 400, 4);
  for (std::size_t i = 0; i < cover.pixel_count(); ++i) {
    img.pixels[4 * i] = 200, img.pixels[4 * i + 1] = 30, img.pixels[4 * i + 2] = 30;
    img.pixels[4 * i + 3] = cover.pixels[i];
  }
  const ImageRegions out = extract(img);
  EXPECT_EQ(out.report.islands, 1);
  EXPECT_NEAR(out.report.area_mm2 / (kPi * 400), 1.0, 0.01);
  EXPECT_EQ(out.report.threshold_used, -1);
  EXPECT_FALSE(out.report.warnings.empty());
  RegionParams invert;
  invert.invert = true;  // the transparent surround becomes the part
  const ImageRegions around = extract(img, invert);
  EXPECT_NEAR(around.report.area_mm2, 80 * 80 - kPi * 400, 0.01 * kPi * 400);
}

TEST(ImageToRegions, SpecksAreRemovedAndCounted) {
  // A disc with a pin-hole, plus six dust specks of 0.1 mm^2 each (default minimum 0.2025 mm^2).
  const auto scene = [](double x, double y) {
    const double d = std::hypot(x, y);
    if (d < 20 && std::hypot(x - 5, y - 5) > 0.18) return true;
    for (int k = 0; k < 6; ++k)
      if (std::hypot(x - (-35 + 12 * k), y - 32) < 0.18) return true;
    return false;
  };
  const Image8 img = render(800, 800, scene);
  const ImageRegions out = extract(img);
  EXPECT_EQ(out.report.islands, 1);
  EXPECT_EQ(out.report.holes, 0);
  EXPECT_EQ(out.report.removed_specks, 7);
  RegionParams keep;
  keep.min_feature_area_mm2 = 0;
  const ImageRegions all = extract(img, keep);
  EXPECT_EQ(all.report.islands, 7);
  EXPECT_EQ(all.report.holes, 1);
  EXPECT_EQ(all.report.removed_specks, 0);
}

// Vertices of a five-pointed star, bed mm around the origin.
Ring star_ring(double outer, double inner) {
  Ring r;
  for (int k = 0; k < 10; ++k) {
    const double a = kPi / 2 + k * kPi / 5, rad = k % 2 ? inner : outer;
    r.push_back({rad * std::cos(a), rad * std::sin(a)});
  }
  return r;
}

// Boundary sample points of the regions' rings, `step` mm apart along every edge.
std::vector<Point2> boundary_samples(const Regions& r, double step) {
  std::vector<Point2> out;
  auto ring_samples = [&](const Ring& ring) {
    for (std::size_t i = 0, j = ring.size() - 1; i < ring.size(); j = i++) {
      const Point2 a = ring[j], b = ring[i];
      const int n = std::max(1, static_cast<int>(std::hypot(b.x - a.x, b.y - a.y) / step));
      for (int s = 0; s < n; ++s) out.push_back({a.x + (b.x - a.x) * s / n, a.y + (b.y - a.y) * s / n});
    }
  };
  for (const auto& island : r.islands) {
    ring_samples(island.outer);
    for (const Ring& h : island.holes) ring_samples(h);
  }
  return out;
}

TEST(ImageToRegions, SimplificationStaysWithinTolerance) {
  const Ring star = star_ring(35, 14);
  const Regions truth{{{star, {}}}};
  const auto inside = [&](double x, double y) { return contains(truth, {x, y}); };
  const Image8 img = render(500, 500, inside);
  const double half_px = 0.5 * 80.0 / 500;
  RegionParams exact;
  exact.simplify_tolerance_mm = 0;
  const ImageRegions traced = extract(img, exact);
  ASSERT_EQ(traced.report.islands, 1);
  const std::vector<Point2> samples = boundary_samples(traced.regions, 0.05);
  // The traced outline follows the drawn star within half a pixel, away from its sharp corners
  // (which anti-aliasing rounds off).
  const Regions moved = translated(traced.regions, -kCentre.x, -kCentre.y);
  for (std::size_t i = 0; i < star.size(); ++i) {
    const Point2 a = star[i], b = star[(i + 1) % star.size()];
    const double len = std::hypot(b.x - a.x, b.y - a.y);
    for (double t = 1.0; t < len - 1.0; t += 0.1) {
      const Point2 q{a.x + (b.x - a.x) * t / len, a.y + (b.y - a.y) * t / len};
      ASSERT_LE(distance_to_boundary(moved, q), half_px) << q.x << ", " << q.y;
    }
  }
  for (double tol : {0.1, 0.3, 1.0}) {
    RegionParams p;
    p.simplify_tolerance_mm = tol;
    const ImageRegions out = extract(img, p);
    ASSERT_EQ(out.report.islands, 1);
    double worst = 0;
    for (Point2 q : samples) worst = std::max(worst, distance_to_boundary(out.regions, q));
    EXPECT_LE(worst, tol + 1e-6) << "tolerance " << tol;
    EXPECT_LT(point_count(out.regions), point_count(traced.regions) / 4) << "tolerance " << tol;
    EXPECT_NEAR(out.report.area_mm2 / traced.report.area_mm2, 1.0, 0.01) << "tolerance " << tol;
  }
}

// A pen outline: a circle of radius 25 mm drawn 0.3 mm wide, plus an open 20 mm line.
auto sketch_scene(double gap_deg = 0) {
  return [=](double x, double y) {
    const double d = std::hypot(x, y);
    double a = std::atan2(y, x) * 180 / kPi;
    const bool ring = std::abs(d - 25) < 0.15 && !(gap_deg > 0 && std::abs(a) < gap_deg / 2);
    return ring || near_segment(x, y, {-30, -34}, {-10, -34}, 0.15);
  };
}

TEST(ImageToRegions, SketchFillsAClosedOutlineAndReportsOpenStrokes) {
  RegionParams p;
  p.mode = RegionMode::sketch;
  const ImageRegions out = extract(render(800, 800, sketch_scene()), p);
  EXPECT_EQ(out.report.mode_used, RegionMode::sketch);
  ASSERT_EQ(out.report.islands, 1);
  EXPECT_EQ(out.report.holes, 0);
  EXPECT_NEAR(out.report.area_mm2 / (kPi * 25.15 * 25.15), 1.0, 0.01);
  ASSERT_EQ(out.report.open_strokes.size(), 1u);
  const std::string& s = out.report.open_strokes[0];
  EXPECT_EQ(s.rfind("open stroke ", 0), 0u) << s;
  const double length = std::atof(s.c_str() + 12);
  EXPECT_NEAR(length, 20, 3) << s;
  EXPECT_NE(s.find("near (90.0, 76.0)"), std::string::npos) << s;
}

TEST(ImageToRegions, SketchClosesSmallGaps) {
  RegionParams p;
  p.mode = RegionMode::sketch;
  const Image8 img = render(800, 800, sketch_scene(1.3));  // a 0.57 mm gap
  const ImageRegions out = extract(img, p);
  EXPECT_EQ(out.report.islands, 1);
  EXPECT_NEAR(out.report.area_mm2 / (kPi * 25.15 * 25.15), 1.0, 0.01);
  p.sketch_gap_mm = 0.3;
  try {
    extract(img, p);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::input);
    const std::string msg = e.what();
    EXPECT_NE(msg.find("no stroke closes an area"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--sketch-gap-mm"), std::string::npos) << msg;
    EXPECT_NE(msg.find("silhouette"), std::string::npos) << msg;
  }
}

TEST(ImageToRegions, AutomaticPicksSketchForOutlinesAndSilhouetteForFilledShapes) {
  const ImageRegions sketch = extract(render(800, 800, sketch_scene()));
  EXPECT_EQ(sketch.report.mode_used, RegionMode::sketch);
  EXPECT_NE(sketch.report.mode_reason.find("sketch"), std::string::npos);
  EXPECT_EQ(sketch.report.islands, 1);
  const ImageRegions filled = extract(render(800, 800, disc(0, 0, 25)));
  EXPECT_EQ(filled.report.mode_used, RegionMode::silhouette);
  EXPECT_NE(filled.report.mode_reason.find("silhouette"), std::string::npos);
  const auto ring = [](double x, double y) {  // a thick ring stays a ring
    const double d = std::hypot(x, y);
    return d < 30 && d > 20;
  };
  const ImageRegions thick = extract(render(600, 600, ring));
  EXPECT_EQ(thick.report.mode_used, RegionMode::silhouette);
  EXPECT_EQ(thick.report.holes, 1);
}

TEST(ImageToRegions, MirroredImageGivesMirroredRegions) {
  const auto shape = [](double x, double y) {
    const bool crescent = std::hypot(x + 10, y - 5) < 20 && std::hypot(x - 0, y - 10) > 15;
    return crescent || (std::abs(x - 25) < 6 && std::abs(y + 20) < 10);
  };
  const Image8 img = render(401, 300, shape);
  Image8 flipped = img;
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) flipped.at(img.width - 1 - x, y) = img.at(x, y);
  const ImageRegions a = extract(img), b = extract(flipped);
  EXPECT_EQ(a.report.islands, b.report.islands);
  EXPECT_NEAR(a.report.area_mm2 / b.report.area_mm2, 1.0, 1e-3);
  const Regions m = mirrored_x(b.regions, kCentre.x);
  const Box2 ba = bounds(a.regions), bm = bounds(m);
  EXPECT_NEAR(ba.min.x, bm.min.x, 0.05);
  EXPECT_NEAR(ba.max.x, bm.max.x, 0.05);
  EXPECT_NEAR(ba.min.y, bm.min.y, 0.05);
  EXPECT_NEAR(ba.max.y, bm.max.y, 0.05);
  int mismatched = 0, inside = 0;
  for (double x = 70; x < 150; x += 0.37)
    for (double y = 80; y < 140; y += 0.41) {
      const bool ia = contains(a.regions, {x, y});
      inside += ia;
      if (ia != contains(m, {x, y}) && distance_to_boundary(a.regions, {x, y}) > 0.1) ++mismatched;
    }
  EXPECT_GT(inside, 1000);
  EXPECT_EQ(mismatched, 0);
}

TEST(ImageToRegions, PlacementScalesCentresAndFlipsY) {
  // A disc in the image's top-left quadrant lands left of and above the bed centre.
  const Image8 img = render(400, 200, disc(-20, 10, 5));
  RegionParams p;
  p.placement.width_mm = 160;  // twice the default scale
  p.placement.centre_mm = {50, 60};
  const ImageRegions out = extract(img, p);
  EXPECT_NEAR(out.report.mm_per_pixel, 0.4, 1e-12);
  const Box2 b = bounds(out.regions);
  EXPECT_NEAR(0.5 * (b.min.x + b.max.x), 50 - 40, 0.1);
  EXPECT_NEAR(0.5 * (b.min.y + b.max.y), 60 + 20, 0.1);
  EXPECT_NEAR(out.report.area_mm2 / (kPi * 100), 1.0, 0.02);
}

TEST(ImageToRegions, SameInputGivesIdenticalRegions) {
  const Image8 img = render(300, 300, disc(3, 4, 17));
  EXPECT_EQ(regions_to_json(extract(img).regions), regions_to_json(extract(img).regions));
}

void expect_error(const Image8& img, const RegionParams& p, ErrorKind kind, const std::string& words) {
  try {
    extract(img, p);
    FAIL() << "expected an error containing '" << words << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
  }
}

TEST(ImageToRegions, ErrorCases) {
  const Image8 ok = render(100, 100, disc(0, 0, 20));
  const RegionParams defaults;
  expect_error(Image8{}, defaults, ErrorKind::input, "empty");
  expect_error(Image8(50, 40, 3, Encoding::srgb, 200), defaults, ErrorKind::input,
               "no part found: the image is all one colour");
  expect_error(Image8(50, 40, 1, Encoding::srgb, 0), defaults, ErrorKind::input, "no part found");
  Image8 transparent(20, 20, 4, Encoding::srgb, 0);
  expect_error(transparent, defaults, ErrorKind::input, "no part found");
  RegionParams small;
  small.max_pixels = 5000;
  expect_error(ok, small, ErrorKind::usage, "limit of 5000");
  expect_error(ok, small, ErrorKind::usage, "--max-megapixels");
  RegionParams both;
  both.placement.width_mm = 50;
  both.placement.dpi = 300;
  expect_error(ok, both, ErrorKind::usage, "at most one of width, height and dpi");
  RegionParams negative;
  negative.placement.height_mm = -5;
  expect_error(ok, negative, ErrorKind::usage, "height must be a positive number");
  RegionParams bad_threshold;
  bad_threshold.threshold = 300;
  expect_error(ok, bad_threshold, ErrorKind::usage, "threshold");
  RegionParams bad_width;
  bad_width.line_width_mm = 0;
  expect_error(ok, bad_width, ErrorKind::usage, "line width");
  RegionParams only_lines;
  only_lines.mode = RegionMode::sketch;
  const Image8 lines = render(400, 400, [](double x, double y) { return near_segment(x, y, {-20, 0}, {20, 5}, 0.2); });
  expect_error(lines, only_lines, ErrorKind::input, "--sketch-gap-mm");
  RegionParams huge_specks;
  huge_specks.min_feature_area_mm2 = 5000;
  expect_error(ok, huge_specks, ErrorKind::input, "no part found");
}

TEST(ImageToRegions, CancelledContextStops) {
  RunContext ctx;
  ctx.cancel();
  try {
    image_to_regions(render(100, 100, disc(0, 0, 20)), {}, ctx);
    FAIL() << "expected cancellation";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::runtime);
  }
}

TEST(MmPerPixel, FollowsThePlacementRules) {
  EXPECT_DOUBLE_EQ(mm_per_pixel({}, 800, 400), 0.1);
  EXPECT_DOUBLE_EQ(mm_per_pixel({}, 200, 400), 0.2);
  EXPECT_DOUBLE_EQ(mm_per_pixel({.width_mm = 50}, 500, 100), 0.1);
  EXPECT_DOUBLE_EQ(mm_per_pixel({.height_mm = 30}, 500, 100), 0.3);
  EXPECT_DOUBLE_EQ(mm_per_pixel({.dpi = 254}, 500, 100), 0.1);
  EXPECT_THROW(mm_per_pixel({.width_mm = 50, .height_mm = 20}, 10, 10), Error);
  EXPECT_THROW(mm_per_pixel({.dpi = -3}, 10, 10), Error);
  EXPECT_THROW(mm_per_pixel({.width_mm = std::nan("")}, 10, 10), Error);
  EXPECT_THROW(mm_per_pixel({}, 0, 10), Error);
}

TEST(MaskToRegions, SquareMaskKeepsItsAreaAndCountsSpecks) {
  Image8 mask(200, 100, 1);
  for (int y = 20; y < 70; ++y)
    for (int x = 30; x < 130; ++x) mask.at(x, y) = 255;
  mask.at(180, 90) = 255;  // a one-pixel speck
  int removed = -1;
  const Regions r = mask_to_regions(mask, 0.1, {0, 0}, 0.05, 0.01, &removed);
  ASSERT_EQ(r.islands.size(), 1u);
  EXPECT_EQ(removed, 1);
  EXPECT_NEAR(area(r), 10.0 * 5.0, 0.01);  // corners are cut by 1/8 pixel each
  const Box2 b = bounds(r);
  EXPECT_NEAR(b.min.x, -7.0, 1e-9);          // pixel 30's left edge: (30 - 100) * 0.1
  EXPECT_NEAR(b.max.y, 3.0, 1e-9);           // row 20's top edge: (50 - 20) * 0.1
  EXPECT_EQ(r.islands[0].outer.size(), 8u);  // four sides, four corner cuts
  EXPECT_TRUE(mask_to_regions(Image8(10, 10, 1), 0.1, {0, 0}, 0, 0).empty());
}

// The bundled example silhouettes: each gives the shape it was drawn as.
TEST(ImageToRegions, BundledExamples) {
  const std::filesystem::path dir = test::source_dir() / "examples" / "toolpath";
  struct Expect {
    const char* file;
    int islands, holes;
    RegionMode mode;
  };
  const Expect cases[] = {
      {"disc.png", 1, 0, RegionMode::silhouette},      {"star.png", 1, 0, RegionMode::silhouette},
      {"plate.png", 1, 5, RegionMode::silhouette},     {"gear.png", 1, 1, RegionMode::silhouette},
      {"comb.png", 1, 0, RegionMode::silhouette},      {"islands.png", 5, 0, RegionMode::silhouette},
      {"text.png", 3, 3, RegionMode::silhouette},      {"horse.png", 1, 0, RegionMode::silhouette},
      {"ring_logo.png", 1, 2, RegionMode::silhouette}, {"crescent.png", 1, 0, RegionMode::silhouette},
      {"sketch.png", 1, 0, RegionMode::sketch},        {"photo.png", 1, 0, RegionMode::silhouette},
  };
  for (const Expect& c : cases) {
    SCOPED_TRACE(c.file);
    const Image8 img = load_image8(dir / c.file);
    const ImageRegions out = extract(img);
    EXPECT_EQ(out.report.mode_used, c.mode) << out.report.mode_reason;
    EXPECT_EQ(out.report.islands, c.islands);
    EXPECT_EQ(out.report.holes, c.holes);
    EXPECT_GT(out.report.area_mm2, 50);
    expect_valid_orientation(out.regions);
    if (c.mode == RegionMode::sketch) {
      EXPECT_GE(out.report.open_strokes.size(), 1u);
    }
  }
}

}  // namespace
}  // namespace fabforge::toolpath
