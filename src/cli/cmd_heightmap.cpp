// fabforge heightmap IMAGE -o OUT: a grey image becomes a relief solid (bright = high), the
// simplest picture-to-part job and the one the demo runs.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "fabforge/core/error.hpp"
#include "fabforge/core/heightfield.hpp"
#include "fabforge/core/image.hpp"
#include "fabforge/core/mesh_io.hpp"

#include "app.hpp"

namespace fabforge::cli {

namespace {

struct HeightmapOptions {
  std::string input;
  std::string output;
  double size_mm = 100;
  double pixel_mm = 0.2;
  double base_mm = 1.0;
  double relief_mm = 2.0;
  double layer_mm = 0.0;
  bool invert = false;
  bool smooth = false;
};

// Grey + alpha at the print resolution; only ever shrinks the picture.
ImageF load_grey_alpha(const HeightmapOptions& o, double& pixel_mm) {
  ImageF img = load_imagef(o.input, Encoding::srgb, 2);
  const int long_px = std::max(img.width, img.height);
  const double want = std::max(1.0, std::round(o.size_mm / o.pixel_mm));  // double: no int overflow
  if (want < long_px) {
    const double s = want / long_px;
    img = resize_area(img, std::max(1, static_cast<int>(std::lround(img.width * s))),
                      std::max(1, static_cast<int>(std::lround(img.height * s))));
  }
  pixel_mm = o.size_mm / std::max(img.width, img.height);
  return img;
}

Heightfield to_heightfield(const ImageF& img, double pixel_mm, const HeightmapOptions& o) {
  Heightfield f;
  f.width = img.width;
  f.height = img.height;
  f.pixel_size_mm = pixel_mm;
  f.heights_mm.resize(img.pixel_count());
  f.mask.resize(img.pixel_count());
  for (std::size_t i = 0; i < img.pixel_count(); ++i) {
    double v = img.pixels[2 * i];
    if (o.invert) v = 1.0 - v;
    double rise = o.relief_mm * v;
    if (o.layer_mm > 0) rise = std::round(rise / o.layer_mm) * o.layer_mm;
    f.heights_mm[i] = static_cast<float>(o.base_mm + rise);
    f.mask[i] = img.pixels[2 * i + 1] >= 0.5f ? 1 : 0;
  }
  return f;
}

void validate(const HeightmapOptions& o) {
  if (!(o.size_mm > 0) || !(o.size_mm <= 10000)) throw usage_error("--size-mm must be positive and at most 10000");
  if (!(o.pixel_mm >= 0.001) || !(o.pixel_mm <= o.size_mm)) {
    throw usage_error("--pixel-mm must be at least 0.001 and at most --size-mm");
  }
  if (!(o.base_mm > 0)) throw usage_error("--base-mm must be positive: the solid needs a floor");
  if (!(o.relief_mm >= 0)) throw usage_error("--relief-mm must not be negative");
  if (!(o.layer_mm >= 0)) throw usage_error("--layer-mm must not be negative");
}

void run_heightmap(const HeightmapOptions& o, CommandEnv& env) {
  validate(o);
  RunContext& ctx = env.context();
  auto task = ctx.task("heightmap", 3, "steps");
  double pixel_mm = 0;
  const ImageF img = load_grey_alpha(o, pixel_mm);
  task->advance();
  ctx.throw_if_cancelled();
  const Heightfield field = to_heightfield(img, pixel_mm, o);
  HeightfieldMeshOptions mopts;
  mopts.style = o.smooth ? HeightfieldStyle::smooth : HeightfieldStyle::stepped;
  const Mesh mesh = ctx.run([&] { return heightfield_to_mesh(field, mopts); });
  if (mesh.empty()) throw input_error(o.input + ": every pixel is transparent; nothing to print");
  task->advance();
  ctx.throw_if_cancelled();
  write_mesh(o.output, mesh, std::filesystem::path(o.input).stem().string());
  task->advance();
  task->finish();
  const BoundingBox b = mesh_bounds(mesh);
  char dims[160];
  std::snprintf(dims, sizeof dims, "%zu triangles, %dx%d px at %.3f mm, %.1f x %.1f x %.2f mm\n", mesh.triangle_count(),
                field.width, field.height, pixel_mm, b.size().x, b.size().y, b.size().z);
  env.out() << "wrote " << o.output << ": " << dims;
}

}  // namespace

void register_heightmap(CLI::App& app, CommandEnv& env) {
  auto o = std::make_shared<HeightmapOptions>();
  CLI::App* sub = app.add_subcommand("heightmap", "Turn a grey image into a relief solid (bright = high), STL or 3MF");
  sub->add_option("image", o->input, "PNG or JPEG; transparent pixels (alpha < 50%) are left out")->required();
  sub->add_option("-o,--output", o->output, "Output mesh (.stl or .3mf)")->required();
  sub->add_option("--size-mm", o->size_mm, "Long side of the part in mm")->capture_default_str();
  sub->add_option("--pixel-mm", o->pixel_mm, "Finest pixel size in mm (the image is shrunk to it, never enlarged)")
      ->capture_default_str();
  sub->add_option("--base-mm", o->base_mm, "Thickness under the darkest pixel in mm")->capture_default_str();
  sub->add_option("--relief-mm", o->relief_mm, "Extra height of the brightest pixel in mm")->capture_default_str();
  sub->add_option("--layer-mm", o->layer_mm, "Round heights to whole layers of this height (0: exact)")
      ->capture_default_str();
  sub->add_flag("--invert", o->invert, "Dark is high (lithophane style)");
  sub->add_flag("--smooth", o->smooth, "Continuous surface instead of one flat step per pixel");
  sub->callback([o, &env] { run_heightmap(*o, env); });
}

}  // namespace fabforge::cli
