#include "fabforge/relief/target.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <map>

#include "fabforge/core/color.hpp"
#include "fabforge/core/error.hpp"
#include "fabforge/core/parallel.hpp"

namespace fabforge::relief {

namespace {

// Resizes an 8-bit image: area filter when shrinking, bicubic when enlarging.
Image8 resize8(const Image8& image, int width, int height) {
  if (width == image.width && height == image.height) return image;
  if (width <= image.width && height <= image.height) return resize_area(image, width, height);
  const cv::Mat src(image.height, image.width, CV_8UC(image.channels), const_cast<std::uint8_t*>(image.pixels.data()));
  cv::Mat dst;
  cv::resize(src, dst, cv::Size(width, height), 0, 0, cv::INTER_CUBIC);
  Image8 out(width, height, image.channels, image.encoding);
  for (int y = 0; y < height; ++y)
    std::copy_n(dst.ptr<std::uint8_t>(y), static_cast<std::size_t>(width) * static_cast<std::size_t>(image.channels),
                out.pixels.begin() + static_cast<std::ptrdiff_t>(out.index(0, y)));
  return out;
}

}  // namespace

Target make_target(const Image8& image, const TargetOptions& options) {
  if (!(options.long_side_mm > 0) || !std::isfinite(options.long_side_mm))
    throw usage_error("print size must be > 0 mm");
  if (!(options.nozzle_mm > 0) || !std::isfinite(options.nozzle_mm))
    throw usage_error("nozzle diameter must be > 0 mm");
  if (image.empty() || image.width <= 0 || image.height <= 0) throw input_error("the image is empty");
  if (!(options.priority_weight >= 1) || !std::isfinite(options.priority_weight))
    throw usage_error("priority weight must be >= 1");

  const double pixel = options.nozzle_mm / 2.0;
  const int long_px = static_cast<int>(std::lround(options.long_side_mm / pixel));
  if (long_px < 2) throw usage_error("the print is smaller than two output pixels");
  if (long_px > 20000)
    throw usage_error("the print would be " + std::to_string(long_px) + " px on its long side (at most 20000)");
  const bool landscape = image.width >= image.height;
  const double scale = static_cast<double>(long_px) / (landscape ? image.width : image.height);
  const int w = landscape ? long_px : std::max(1, static_cast<int>(std::lround(image.width * scale)));
  const int h = landscape ? std::max(1, static_cast<int>(std::lround(image.height * scale))) : long_px;

  const Image8 rgba = resize8(convert_channels(image, 4), w, h);
  Target t;
  t.width = w;
  t.height = h;
  t.pixel_size_mm = pixel;
  const std::size_t n = t.size();
  t.lab.resize(n);
  t.weight.assign(n, 0.0f);
  t.mask.assign(n, 0);
  t.rgb = Image8(w, h, 3);

  std::vector<float> priority;
  if (options.priority != nullptr) {
    if (options.priority->empty()) throw input_error("the priority mask is empty");
    const Image8 grey = resize8(convert_channels(*options.priority, 1), w, h);
    priority.resize(n);
    for (std::size_t i = 0; i < n; ++i) priority[i] = grey.pixels[i] / 255.0f;
  }

  parallel_for(0, n, 4096, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t i = lo; i < hi; ++i) {
      const std::uint8_t* p = &rgba.pixels[i * 4];
      for (int c = 0; c < 3; ++c) t.rgb.pixels[i * 3 + static_cast<std::size_t>(c)] = p[c];
      t.lab[i] = srgb_to_labf({p[0] / 255.0f, p[1] / 255.0f, p[2] / 255.0f});
      if (p[3] >= 128) {
        t.mask[i] = 1;
        t.weight[i] = priority.empty() ? 1.0f : static_cast<float>(1.0 + (options.priority_weight - 1.0) * priority[i]);
      }
    }
  });
  t.printed = static_cast<std::size_t>(std::count(t.mask.begin(), t.mask.end(), std::uint8_t{1}));
  if (t.printed == 0) throw input_error("no pixel of the image is printed (every pixel has alpha < 128)");
  return t;
}

Target downsample(const Target& target, int factor) {
  if (factor < 1) throw usage_error("downsample factor must be >= 1");
  if (factor == 1) return target;
  Target t;
  t.width = std::max(1, target.width / factor);
  t.height = std::max(1, target.height / factor);
  t.pixel_size_mm = target.pixel_size_mm * factor;
  const std::size_t n = t.size();
  t.lab.resize(n);
  t.weight.assign(n, 0.0f);
  t.mask.assign(n, 0);
  t.rgb = resize_area(target.rgb, t.width, t.height);
  for (int y = 0; y < t.height; ++y)
    for (int x = 0; x < t.width; ++x) {
      double l = 0, a = 0, b = 0, w = 0;
      int printed = 0, cells = 0;
      for (int dy = 0; dy < factor; ++dy)
        for (int dx = 0; dx < factor; ++dx) {
          const int sx = x * factor + dx;
          const int sy = y * factor + dy;
          if (sx >= target.width || sy >= target.height) continue;
          const std::size_t i =
              static_cast<std::size_t>(sy) * static_cast<std::size_t>(target.width) + static_cast<std::size_t>(sx);
          ++cells;
          if (!target.mask[i]) continue;
          ++printed;
          l += target.lab[i].l;
          a += target.lab[i].a;
          b += target.lab[i].b;
          w += target.weight[i];
        }
      const std::size_t o =
          static_cast<std::size_t>(y) * static_cast<std::size_t>(t.width) + static_cast<std::size_t>(x);
      if (printed * 2 >= cells && printed > 0) {
        t.mask[o] = 1;
        t.weight[o] = static_cast<float>(w / printed);
        t.lab[o] = {static_cast<float>(l / printed), static_cast<float>(a / printed), static_cast<float>(b / printed)};
      }
    }
  t.printed = static_cast<std::size_t>(std::count(t.mask.begin(), t.mask.end(), std::uint8_t{1}));
  if (t.printed == 0) throw input_error("no printed pixel is left at the solver's resolution");
  return t;
}

int pick_background(const ReliefModel& model, const Target& target) {
  // Coarse Lab histogram: 10 L units by 16 a/b units.
  struct Cell {
    double weight = 0, l = 0, a = 0, b = 0;
  };
  std::map<std::tuple<int, int, int>, Cell> cells;
  for (std::size_t i = 0; i < target.size(); ++i) {
    if (!target.mask[i]) continue;
    const Labf& c = target.lab[i];
    Cell& cell = cells[{static_cast<int>(std::floor(c.l / 10)), static_cast<int>(std::floor(c.a / 16)),
                        static_cast<int>(std::floor(c.b / 16))}];
    cell.weight += 1;
    cell.l += c.l;
    cell.a += c.a;
    cell.b += c.b;
  }
  const Cell* best = nullptr;
  for (const auto& [key, cell] : cells)
    if (best == nullptr || cell.weight > best->weight) best = &cell;
  FABFORGE_CHECK(best != nullptr, "target has printed pixels");
  const color::Lab dominant{best->l / best->weight, best->a / best->weight, best->b / best->weight};
  int pick = 0;
  double pick_de = 1e300;
  for (int f = 0; f < model.palette_size(); ++f) {
    const Labf lab = model.lab(f);
    const double de = color::delta_e2000(dominant, {lab.l, lab.a, lab.b});
    if (de < pick_de) {
      pick_de = de;
      pick = f;
    }
  }
  return pick;
}

LossReport evaluate(const Target& target, const ImageF& rendered) {
  FABFORGE_CHECK(rendered.width == target.width && rendered.height == target.height && rendered.channels == 3,
                 "rendered image must match the target");
  struct Sums {
    double se = 0, wse = 0, w = 0, de = 0;
    std::size_t n = 0;
  };
  const Sums s = parallel_reduce(
      0, target.size(), 8192, Sums{},
      [&](std::size_t lo, std::size_t hi) {
        Sums p;
        for (std::size_t i = lo; i < hi; ++i) {
          if (!target.mask[i]) continue;
          const Labf r = srgb_to_labf({rendered.pixels[i * 3], rendered.pixels[i * 3 + 1], rendered.pixels[i * 3 + 2]});
          const Labf& t = target.lab[i];
          const double dl = r.l - t.l, da = r.a - t.a, db = r.b - t.b;
          const double se = dl * dl + da * da + db * db;
          p.se += se;
          p.wse += target.weight[i] * se;
          p.w += target.weight[i];
          p.de += color::delta_e2000({r.l, r.a, r.b}, {t.l, t.a, t.b});
          ++p.n;
        }
        return p;
      },
      [](Sums a, const Sums& b) {
        a.se += b.se;
        a.wse += b.wse;
        a.w += b.w;
        a.de += b.de;
        a.n += b.n;
        return a;
      });
  LossReport report;
  report.pixels = s.n;
  if (s.n == 0) return report;
  report.lab_mse = s.se / (3.0 * static_cast<double>(s.n));
  report.weighted_lab_mse = s.w > 0 ? s.wse / (3.0 * s.w) : 0.0;
  report.mean_delta_e2000 = s.de / static_cast<double>(s.n);
  return report;
}

}  // namespace fabforge::relief
