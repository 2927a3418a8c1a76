// Makes the toolpath pipeline's example silhouettes (procedural, no outside data): the pictures a
// maker would feed `fabforge toolpath`, each stressing one part of image -> regions. The outputs
// are committed under examples/toolpath/ (see its README.md); rerun after changing this program:
//   build/release/tools/fabforge_make_toolpath_examples examples/toolpath
//
// Shapes are drawn in millimetres (origin at the image centre, y up, the image's long side 80 mm)
// at four times the final resolution, then area-averaged down, so edges are anti-aliased the way
// a scanner or a renderer leaves them. Output is deterministic: OpenCV's drawing and a fixed-seed
// generator for the noise.

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <numbers>
#include <string>
#include <vector>

#include "fabforge/core/image.hpp"

namespace {

constexpr double kPi = std::numbers::pi;
constexpr int kSuper = 4;

// A drawing surface in mm: white paper, black ink, supersampled.
class Canvas {
 public:
  Canvas(int width_px, int height_px, std::uint8_t paper = 255)
      : w_(width_px),
        h_(height_px),
        px_per_mm_(kSuper * std::max(width_px, height_px) / 80.0),
        mat_(height_px * kSuper, width_px * kSuper, CV_8U, cv::Scalar(paper)) {}

  cv::Point at(double x_mm, double y_mm) const {
    return {static_cast<int>(std::lround(mat_.cols / 2.0 + x_mm * px_per_mm_)),
            static_cast<int>(std::lround(mat_.rows / 2.0 - y_mm * px_per_mm_))};
  }
  int len(double mm) const { return static_cast<int>(std::lround(mm * px_per_mm_)); }

  void polygon(const std::vector<cv::Point2d>& mm, std::uint8_t ink = 0) {
    std::vector<cv::Point> pts;
    for (const auto& p : mm) pts.push_back(at(p.x, p.y));
    cv::fillPoly(mat_, std::vector<std::vector<cv::Point>>{pts}, cv::Scalar(ink), cv::LINE_8);
  }
  void disc(double x, double y, double r, std::uint8_t ink = 0) {
    cv::circle(mat_, at(x, y), len(r), cv::Scalar(ink), cv::FILLED, cv::LINE_8);
  }
  void ellipse(double x, double y, double rx, double ry, double angle_deg, std::uint8_t ink = 0) {
    // OpenCV's angle turns clockwise on screen, which is counter-clockwise with y up: negate.
    cv::ellipse(mat_, at(x, y), cv::Size(len(rx), len(ry)), -angle_deg, 0, 360, cv::Scalar(ink), cv::FILLED,
                cv::LINE_8);
  }
  void rect(double x0, double y0, double x1, double y1, std::uint8_t ink = 0) {
    polygon({{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}}, ink);
  }
  // A pen stroke along the points, its width (in final pixels) varying along the way.
  void stroke(const std::vector<cv::Point2d>& mm, double width_from_px, double width_to_px, std::uint8_t ink) {
    for (std::size_t i = 0; i + 1 < mm.size(); ++i) {
      const double t = mm.size() > 2 ? double(i) / double(mm.size() - 2) : 0;
      const double w = width_from_px + (width_to_px - width_from_px) * t;
      cv::line(mat_, at(mm[i].x, mm[i].y), at(mm[i + 1].x, mm[i + 1].y), cv::Scalar(ink),
               std::max(1, static_cast<int>(std::lround(w * kSuper))), cv::LINE_8);
    }
  }

  cv::Mat& raw() { return mat_; }
  // The final image: each pixel the mean of its kSuper x kSuper samples.
  cv::Mat finish() const {
    cv::Mat out;
    cv::resize(mat_, out, cv::Size(w_, h_), 0, 0, cv::INTER_AREA);
    return out;
  }

 private:
  int w_, h_;
  double px_per_mm_;
  cv::Mat mat_;
};

void save(const std::filesystem::path& path, const cv::Mat& m) {
  fabforge::Image8 img(m.cols, m.rows, m.channels());
  for (int y = 0; y < m.rows; ++y) {
    const std::uint8_t* row = m.ptr<std::uint8_t>(y);
    std::copy(row, row + static_cast<std::size_t>(m.cols) * m.channels(), &img.pixels[img.index(0, y)]);
  }
  fabforge::save_png(path, img);
  std::printf("wrote %s\n", path.c_str());
}

cv::Mat disc() {
  Canvas c(800, 800);
  c.disc(0, 0, 30);
  return c.finish();
}

cv::Mat star() {
  Canvas c(800, 800);
  std::vector<cv::Point2d> p;
  for (int k = 0; k < 10; ++k) {
    const double a = kPi / 2 + k * kPi / 5, r = k % 2 ? 15 : 36;
    p.push_back({r * std::cos(a), r * std::sin(a) - 2});
  }
  c.polygon(p);
  return c.finish();
}

// A mounting plate: rounded rectangle, four bolt holes and a slot.
cv::Mat plate() {
  Canvas c(900, 600);
  c.rect(-35, -17, 35, 17);
  c.rect(-30, -22, 30, 22);
  for (double x : {-30.0, 30.0})
    for (double y : {-17.0, 17.0}) c.disc(x, y, 5);
  for (double x : {-27.0, 27.0})
    for (double y : {-14.0, 14.0}) c.disc(x, y, 3.2, 255);
  c.rect(-12, -3, 12, 3, 255);
  c.disc(-12, 0, 3, 255);
  c.disc(12, 0, 3, 255);
  return c.finish();
}

cv::Mat gear() {
  Canvas c(800, 800);
  const int teeth = 20;
  const double root = 30, tip = 36;
  std::vector<cv::Point2d> p;
  for (int k = 0; k < teeth; ++k) {
    const double a = 2 * kPi * k / teeth, pitch = 2 * kPi / teeth;
    // Root, flank up, tip land, flank down: a trapezoid tooth per pitch.
    for (auto [f, r] : {std::pair{0.0, root}, {0.2, root}, {0.35, tip}, {0.6, tip}, {0.75, root}}) {
      const double b = a + f * pitch;
      p.push_back({r * std::cos(b), r * std::sin(b)});
    }
  }
  c.polygon(p);
  c.disc(0, 0, 8, 255);  // the bore
  return c.finish();
}

// Thin features: teeth 0.5 to 1.2 mm wide hanging from a spine (image 80 mm wide).
cv::Mat comb() {
  Canvas c(1000, 400);
  c.rect(-34, 6, 34, 13);
  double x = -31;
  for (int k = 0; k < 16; ++k) {
    const double w = 0.5 + 0.1 * (k % 8);
    c.rect(x, -12, x + w, 6.5);
    x += w + 2.6;
  }
  return c.finish();
}

cv::Mat islands() {
  Canvas c(800, 800);
  c.disc(-18, 16, 14);
  c.rect(10, 8, 30, 28);
  c.polygon({{-34, -32}, {-6, -32}, {-20, -8}});
  c.ellipse(18, -18, 14, 7, 30);
  c.disc(-2, -2, 3);
  return c.finish();
}

// Block letters with holes (A one, B two), built from polygons so the holes stay open.
cv::Mat text() {
  Canvas c(1000, 600);
  const double base = -17, top = 17, t = 6;  // letter height 34 mm, strokes 6 mm
  // F
  c.rect(-36, base, -36 + t, top);
  c.rect(-36, top - t, -15, top);
  c.rect(-36, -2.5, -18, 2.5);
  // A: a solid trapezoid less a triangular window and the gap between its legs.
  c.polygon({{-13, base}, {-3, top}, {3, top}, {13, base}});
  c.polygon({{-2.2, 3}, {0, 9.5}, {2.2, 3}}, 255);
  c.polygon({{-4.8, base}, {-2.6, -3}, {2.6, -3}, {4.8, base}}, 255);
  // B: a spine and two bowls, each bowl a stadium with a stadium window.
  c.rect(16, base, 16 + t, top);
  for (auto [y0, y1] : {std::pair{base, 0.5}, {-0.5, top}}) {
    const double r = (y1 - y0) / 2, cy = (y0 + y1) / 2;
    c.rect(16, y0, 30, y1);
    c.disc(30, cy, r);
    c.rect(16 + t, y0 + t * 0.8, 30, y1 - t * 0.8, 255);
    c.disc(30, cy, r - t * 0.8, 255);
  }
  return c.finish();
}

// A horse-like animal from ellipses and polygons: body, neck, head, four legs, tail.
cv::Mat horse() {
  Canvas c(1000, 800);
  c.ellipse(0, 2, 20, 10, 0);                                   // body
  c.polygon({{12, 4}, {18, 10}, {24, 26}, {29, 22}, {22, 4}});  // neck
  c.ellipse(29, 23, 8, 4, -35);                                 // head
  c.polygon({{24, 28}, {25, 32}, {27, 28}});                    // ear
  for (auto [x, lean] : {std::pair{-15.0, -2.0}, {-10.0, 1.0}, {9.0, -1.0}, {14.0, 2.0}}) {
    c.polygon({{x - 2, -2}, {x + 2, -2}, {x + 1.6 + lean, -26}, {x - 1.4 + lean, -26}});  // leg
    c.ellipse(x + lean, -26.5, 2.2, 1.3, 0);                                              // hoof
  }
  c.polygon({{-19, 6}, {-24, 7}, {-31, 0}, {-34, -12}, {-31, -13}, {-27, -3}, {-20, 1}});  // tail
  return c.finish();
}

// An annulus with a bar across: dark blue on white (colour input, two holes).
cv::Mat ring_logo() {
  Canvas c(800, 800);
  c.disc(0, 0, 34);
  c.disc(0, 0, 24, 255);
  c.rect(-28, -4.5, 28, 4.5);
  const cv::Mat grey = c.finish();  // 0 = ink, 255 = paper
  cv::Mat rgb(grey.rows, grey.cols, CV_8UC3);
  const cv::Vec3d ink(25, 45, 140), paper(252, 252, 250);
  for (int y = 0; y < grey.rows; ++y)
    for (int x = 0; x < grey.cols; ++x) {
      const double t = grey.at<std::uint8_t>(y, x) / 255.0;
      const cv::Vec3d v = ink * (1 - t) + paper * t;
      rgb.at<cv::Vec3b>(y, x) = cv::Vec3b(cv::saturate_cast<std::uint8_t>(v[0]), cv::saturate_cast<std::uint8_t>(v[1]),
                                          cv::saturate_cast<std::uint8_t>(v[2]));
    }
  return rgb;
}

cv::Mat crescent() {
  Canvas c(800, 800);
  c.disc(-4, 0, 30);
  c.disc(8, 6, 26, 255);
  return c.finish();
}

// A hand-drawn outline: a wobbly closed pen line 2-4 px wide with a small gap where the pen
// lifted, plus two doodles that close nothing. Grey ink on off-white paper.
cv::Mat sketch() {
  Canvas c(900, 900, 246);
  std::vector<cv::Point2d> outline;
  const int n = 720;
  for (int k = 0; k <= n; ++k) {
    const double a = 2 * kPi * k / n;
    if (k > 300 && k < 304) continue;  // the pen lifted: a gap of about half a millimetre
    const double r = 24 + 3 * std::sin(3 * a) + 1.5 * std::sin(7 * a + 1) + 0.4 * std::sin(23 * a);
    outline.push_back({r * std::cos(a) - 3, r * std::sin(a) + 4});
    if (k == 300) {
      c.stroke(outline, 2.2, 3.8, 50);
      outline.clear();
    }
  }
  c.stroke(outline, 3.8, 2.4, 50);
  std::vector<cv::Point2d> squiggle;
  for (int k = 0; k <= 80; ++k) {
    const double t = k / 80.0;
    squiggle.push_back({-30 + 22 * t, -33 + 2.5 * std::sin(12 * t)});
  }
  c.stroke(squiggle, 2.5, 2.5, 60);
  std::vector<cv::Point2d> hook;
  for (int k = 0; k <= 40; ++k) {
    const double a = kPi * k / 40;
    hook.push_back({30 + 5 * std::cos(a), 30 + 5 * std::sin(a)});
  }
  c.stroke(hook, 3, 2, 55);
  return c.finish();
}

// Deterministic Gaussian noise: splitmix64 and Box-Muller.
class Noise {
 public:
  double next() {
    const double u1 = (uniform() + 0.5) / 18446744073709551616.0, u2 = uniform() / 18446744073709551616.0;
    return std::sqrt(-2 * std::log(u1)) * std::cos(2 * kPi * u2);
  }

 private:
  double uniform() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return static_cast<double>(z ^ (z >> 31));
  }
  std::uint64_t state_ = 20240611;
};

// A photo-like picture (grey): a shaded pebble with a soft shadow on a light, unevenly lit background,
// slightly out of focus, with sensor noise. Otsu's threshold has to find the pebble.
cv::Mat photo() {
  const int w = 600, h = 450;
  Canvas shape(w, h, 0);  // the pebble's coverage: 255 inside
  std::vector<cv::Point2d> pebble;
  for (int k = 0; k < 360; ++k) {
    const double a = 2 * kPi * k / 360;
    const double r =
        1 / std::pow(std::pow(std::abs(std::cos(a)) / 26, 2.6) + std::pow(std::abs(std::sin(a)) / 16, 2.6), 1 / 2.6);
    pebble.push_back({r * std::cos(a) - 2, r * std::sin(a) + 1 + 1.5 * std::sin(3 * a)});
  }
  shape.polygon(pebble, 255);
  cv::Mat cover;
  shape.finish().convertTo(cover, CV_32F, 1 / 255.0);
  cv::Mat shadow;
  cv::Mat shifted = cv::Mat::zeros(h, w, CV_32F);
  cover(cv::Rect(0, 0, w - 22, h - 28)).copyTo(shifted(cv::Rect(22, 28, w - 22, h - 28)));
  cv::GaussianBlur(shifted, shadow, cv::Size(0, 0), 17);
  cv::Mat soft;
  cv::GaussianBlur(cover, soft, cv::Size(0, 0), 0.8);  // slight defocus
  Noise noise;
  cv::Mat grey(h, w, CV_8U);  // grey keeps the noisy file small; ring_logo.png covers colour input
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const double u = (x - w / 2.0) / w, v = (y - h / 2.0) / h;
      const double light = 228 - 40 * (u * u + v * v) - 10 * u;          // vignetting, light from the left
      const double ground = light * (1 - 0.3 * shadow.at<float>(y, x));  // soft shadow
      // The pebble: darker towards the lower right, a dull highlight upper left.
      const double hx = (x - 0.4 * w) / 85.0, hy = (y - 0.38 * h) / 65.0;
      const double stone = 70 + 25 * (-u - v) + 45 * std::exp(-(hx * hx + hy * hy));
      const double c = soft.at<float>(y, x);
      grey.at<std::uint8_t>(y, x) = cv::saturate_cast<std::uint8_t>(ground * (1 - c) + stone * c + 2.5 * noise.next());
    }
  return grey;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUTPUT_DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);
  save(dir / "disc.png", disc());
  save(dir / "star.png", star());
  save(dir / "plate.png", plate());
  save(dir / "gear.png", gear());
  save(dir / "comb.png", comb());
  save(dir / "islands.png", islands());
  save(dir / "text.png", text());
  save(dir / "horse.png", horse());
  save(dir / "ring_logo.png", ring_logo());
  save(dir / "crescent.png", crescent());
  save(dir / "sketch.png", sketch());
  save(dir / "photo.png", photo());
  return 0;
}
