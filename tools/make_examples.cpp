// Makes the project's own sample images (procedural, no outside data). The outputs are
// committed under examples/; rerun after changing this program:
//   build/release/tools/fabforge_make_examples examples

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numbers>

#include "fabforge/core/image.hpp"

namespace {

using fabforge::Image8;

// A badge for the heightmap demo: a rounded plate (transparent outside) with a domed centre, a
// ring of stepped petals and a notched rim, so stepped and smooth meshing both have work to do.
Image8 emboss_badge(int w, int h) {
  Image8 img(w, h, 4);
  const double cx = w / 2.0, cy = h / 2.0, pi = std::numbers::pi;
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      const double dx = (x + 0.5 - cx) / (h / 2.0), dy = (y + 0.5 - cy) / (h / 2.0);
      const double r = std::hypot(dx, dy), a = std::atan2(dy, dx);
      // Rounded rectangle plate.
      const double qx = std::max(std::abs(x + 0.5 - cx) - (w / 2.0 - 30), 0.0);
      const double qy = std::max(std::abs(y + 0.5 - cy) - (h / 2.0 - 30), 0.0);
      const bool inside = std::hypot(qx, qy) < 26;
      double v = 0.15;  // plate
      if (r < 0.28) {
        v = 0.55 + 0.45 * std::sqrt(1 - (r / 0.28) * (r / 0.28));  // dome
      } else if (r < 0.75) {
        const double petal = 0.5 + 0.5 * std::cos(8 * a);
        if (r < 0.4 + 0.3 * petal) v = 0.35 + 0.1 * std::floor(4 * petal);  // stepped petals
      } else if (r < 0.85 && std::fmod(a + pi + 0.1, pi / 12) > pi / 36) {
        v = 0.6;  // notched rim
      }
      const auto g = static_cast<std::uint8_t>(std::lround(255 * v));
      for (int c = 0; c < 3; ++c) img.at(x, y, c) = g;
      img.at(x, y, 3) = inside ? 255 : 0;
    }
  }
  return img;
}

// Textures for the OpenFL postcard (examples/openfl/postcard.fl). relief.png: a rippled sun
// (concentric waves and rays) for the displaced back. picture.png: a grey portrait-like pattern
// (a shaded disc over diagonal stripes) for the ink on the front.
Image8 postcard_relief(int w, int h) {
  Image8 img(w, h, 1);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const double dx = (x + 0.5 - w / 2.0) / h, dy = (y + 0.5 - h / 2.0) / h;
      const double r = std::hypot(dx, dy), a = std::atan2(dy, dx);
      double v = r < 0.2 ? 1.0 : 0.5 + 0.25 * std::cos(40 * r) + 0.25 * std::cos(12 * a);
      v = std::clamp(v, 0.0, 1.0);
      img.at(x, y) = static_cast<std::uint8_t>(std::lround(255 * v));
    }
  return img;
}

Image8 postcard_picture(int w, int h) {
  Image8 img(w, h, 1);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const double dx = (x + 0.5 - w * 0.5) / h, dy = (y + 0.5 - h * 0.45) / h;
      const double r = std::hypot(dx, dy);
      double v = (static_cast<int>((x + y) / 12) % 2) ? 0.85 : 0.65;  // stripes
      if (r < 0.3) v = 0.15 + 0.7 * std::clamp(0.5 - dx - dy, 0.0, 1.0);  // shaded disc
      img.at(x, y) = static_cast<std::uint8_t>(std::lround(255 * v));
    }
  return img;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s EXAMPLES_DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir = std::filesystem::path(argv[1]) / "core";
  std::filesystem::create_directories(dir);
  fabforge::save_png(dir / "emboss.png", emboss_badge(400, 300));
  std::printf("wrote %s\n", (dir / "emboss.png").c_str());
  const std::filesystem::path fl = std::filesystem::path(argv[1]) / "openfl";
  std::filesystem::create_directories(fl);
  fabforge::save_png(fl / "relief.png", postcard_relief(256, 160));
  fabforge::save_png(fl / "picture.png", postcard_picture(256, 160));
  std::printf("wrote %s and %s\n", (fl / "relief.png").c_str(), (fl / "picture.png").c_str());
  return 0;
}
