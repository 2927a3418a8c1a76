#include "fabforge/relief/target.hpp"

#include <gtest/gtest.h>

#include "fabforge/core/color.hpp"
#include "fabforge/core/error.hpp"
#include "fabforge/relief/filament_library.hpp"

namespace fabforge::relief {
namespace {

Image8 solid(int w, int h, std::uint8_t r, std::uint8_t g, std::uint8_t b, int channels = 3) {
  Image8 img(w, h, channels);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      img.at(x, y, 0) = r;
      img.at(x, y, 1) = g;
      img.at(x, y, 2) = b;
      if (channels == 4) img.at(x, y, 3) = 255;
    }
  return img;
}

TEST(MakeTarget, PixelIsHalfTheNozzleAndTheLongSideFitsThePrint) {
  const Target t = make_target(solid(451, 300, 10, 20, 30), TargetOptions{});
  EXPECT_EQ(t.width, 750);  // 150 mm / 0.2 mm, AutoForge's default
  EXPECT_EQ(t.height, 499);
  EXPECT_DOUBLE_EQ(t.pixel_size_mm, 0.2);
  EXPECT_EQ(t.printed, t.size());
  const color::Lab want = color::srgb_to_lab(color::to_unit(color::Rgb8{10, 20, 30}));
  EXPECT_NEAR(t.lab[1234].l, want.l, 0.5);
  TargetOptions portrait;
  portrait.long_side_mm = 60;
  portrait.nozzle_mm = 0.6;
  const Target p = make_target(solid(100, 400, 1, 2, 3), portrait);
  EXPECT_EQ(p.height, 200);
  EXPECT_EQ(p.width, 50);
}

TEST(MakeTarget, AlphaBelowHalfIsNotPrintedAndPriorityWeights) {
  Image8 img = solid(20, 10, 200, 100, 50, 4);
  for (int y = 0; y < 10; ++y)
    for (int x = 0; x < 5; ++x) img.at(x, y, 3) = 127;
  Image8 priority(20, 10, 1, Encoding::srgb, 0);
  for (int y = 0; y < 10; ++y) priority.at(19, y) = 255;
  TargetOptions o;
  o.long_side_mm = 4;  // 20 px
  o.priority = &priority;
  o.priority_weight = 5;
  const Target t = make_target(img, o);
  ASSERT_EQ(t.width, 20);
  EXPECT_EQ(t.printed, 150u);
  EXPECT_EQ(t.mask[0], 0);
  EXPECT_EQ(t.weight[0], 0.0f);
  EXPECT_FLOAT_EQ(t.weight[10], 1.0f);
  EXPECT_FLOAT_EQ(t.weight[19], 5.0f);
}

TEST(MakeTarget, RejectsBadInput) {
  EXPECT_THROW(make_target(Image8{}, TargetOptions{}), Error);
  TargetOptions zero;
  zero.long_side_mm = 0;
  EXPECT_THROW(make_target(solid(4, 4, 1, 1, 1), zero), Error);
  TargetOptions nozzle;
  nozzle.nozzle_mm = -1;
  EXPECT_THROW(make_target(solid(4, 4, 1, 1, 1), nozzle), Error);
  Image8 clear = solid(4, 4, 1, 1, 1, 4);
  for (int i = 0; i < 16; ++i) clear.pixels[static_cast<std::size_t>(i) * 4 + 3] = 0;
  try {
    make_target(clear, TargetOptions{});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::input);
  }
}

TEST(Downsample, AveragesBlocks) {
  TargetOptions o;
  o.long_side_mm = 8;  // 40 px
  const Target t = make_target(solid(40, 20, 90, 140, 40), o);
  const Target h = downsample(t, 2);
  EXPECT_EQ(h.width, 20);
  EXPECT_EQ(h.height, 10);
  EXPECT_DOUBLE_EQ(h.pixel_size_mm, 0.4);
  EXPECT_NEAR(h.lab[7].l, t.lab[7].l, 1e-4);
  EXPECT_EQ(h.printed, 200u);
}

TEST(PickBackground, ClosestFilamentToTheDominantColour) {
  const ReliefModel model(default_filament_library().filaments, ModelSettings{});
  TargetOptions o;
  o.long_side_mm = 8;
  Image8 img = solid(40, 40, 255, 60, 35);  // mostly red
  for (int y = 0; y < 10; ++y)
    for (int x = 0; x < 40; ++x) img.at(x, y, 0) = img.at(x, y, 1) = img.at(x, y, 2) = 255;
  const Target t = make_target(img, o);
  EXPECT_EQ(model.filament(pick_background(model, t)).name, "Red");
}

TEST(Evaluate, ZeroForTheTargetItselfAndAutoForgesChannelMean) {
  TargetOptions o;
  o.long_side_mm = 2;
  const Target t = make_target(solid(10, 10, 120, 130, 140), o);
  ImageF same(10, 10, 3);
  for (std::size_t i = 0; i < 100; ++i)
    for (int c = 0; c < 3; ++c)
      same.pixels[i * 3 + static_cast<std::size_t>(c)] = t.rgb.pixels[i * 3 + static_cast<std::size_t>(c)] / 255.0f;
  EXPECT_NEAR(evaluate(t, same).lab_mse, 0.0, 1e-6);
  ImageF black(10, 10, 3, Encoding::srgb, 0.0f);
  const LossReport r = evaluate(t, black);
  const double dl = t.lab[0].l, da = t.lab[0].a, db = t.lab[0].b;
  EXPECT_NEAR(r.lab_mse, (dl * dl + da * da + db * db) / 3.0, 1e-2);
  EXPECT_NEAR(r.mean_delta_e2000, color::delta_e2000({0, 0, 0}, {dl, da, db}), 1e-3);
  EXPECT_EQ(r.pixels, 100u);
}

}  // namespace
}  // namespace fabforge::relief
