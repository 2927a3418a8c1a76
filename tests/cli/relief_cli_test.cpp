// End-to-end tests of `fabforge relief`: outputs, determinism across thread counts, and bad
// input giving a clear message, a non-zero exit and no output folder.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

#include "fabforge/core/image.hpp"
#include "fabforge/core/mesh.hpp"
#include "fabforge/core/stl.hpp"
#include "fabforge/core/threemf.hpp"

#include "support/test_support.hpp"

namespace fabforge {
namespace {

using test::CommandResult;
using test::TempDir;
namespace fs = std::filesystem;

CommandResult fabforge(std::vector<std::string> args) { return test::run_fabforge(std::move(args)); }

using test::contains;

// A colourful 80 x 60 picture with a transparent corner.
fs::path make_photo(const TempDir& dir) {
  Image8 img(80, 60, 4);
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x) {
      const double u = x / 80.0, v = y / 60.0;
      img.at(x, y, 0) = static_cast<std::uint8_t>(255 * (0.5 + 0.5 * std::sin(7 * u + 2 * v)));
      img.at(x, y, 1) = static_cast<std::uint8_t>(200 * v);
      img.at(x, y, 2) = static_cast<std::uint8_t>(255 * (0.5 + 0.5 * std::cos(4 * u * v + 1)));
      img.at(x, y, 3) = (x < 10 && y < 10) ? 0 : 255;
    }
  save_png(dir / "photo.png", img);
  return dir / "photo.png";
}

// Small and quick: 16 mm long side at 0.4 mm nozzle = 80 px, 20 layers.
std::vector<std::string> quick(const fs::path& image, const fs::path& out) {
  return {"relief", image.string(), "-o", out.string(), "--size-mm", "16", "--max-layers", "20", "--colors",
          "4",      "--swaps",      "5",  "--effort",   "5",         "-q"};
}

TEST(ReliefCli, WritesEveryOutputWithinTheLimits) {
  TempDir dir;
  const fs::path out = dir / "out";
  const CommandResult r = fabforge(quick(make_photo(dir), out));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "Lab MSE")) << r.out;
  for (const char* f : {"preview.png", "compare.png", "model.stl", "model.3mf", "swaps.txt", "swaps.json",
                        "project.hfp", "report.json"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  const auto report = nlohmann::json::parse(test::read_bytes(out / "report.json"));
  EXPECT_LE(report["colors"].get<int>(), 4);
  EXPECT_LE(report["swaps"].get<int>(), 5);
  EXPECT_EQ(report["settings"]["max_colors"], 4);
  const Mesh stl = read_stl(out / "model.stl");
  const MeshReport m = analyze_mesh(weld_vertices(stl));
  EXPECT_TRUE(m.closed);
  const BoundingBox b = mesh_bounds(stl);
  EXPECT_NEAR(b.size().x, 16.0, 1e-3);
  EXPECT_NEAR(b.size().y, 12.0, 1e-3);
  EXPECT_LE(b.size().z, 0.24 + 20 * 0.04 + 1e-4);
  const Image8 preview = load_image8(out / "preview.png");
  EXPECT_EQ(preview.width, 80);
  EXPECT_EQ(preview.height, 60);
  EXPECT_EQ(preview.channels, 4);  // the transparent corner is not printed
  EXPECT_EQ(preview.at(0, 0, 3), 0);
}

TEST(ReliefCli, SameSeedGivesIdenticalFilesOnOneAndTwoThreads) {
  TempDir dir;
  const fs::path photo = make_photo(dir);
  auto args1 = quick(photo, dir / "one");
  args1.insert(args1.begin(), {"-j", "1"});
  auto args2 = quick(photo, dir / "two");
  args2.insert(args2.begin(), {"-j", "2"});
  ASSERT_EQ(fabforge(args1).exit_code, 0);
  ASSERT_EQ(fabforge(args2).exit_code, 0);
  for (const char* f :
       {"preview.png", "compare.png", "model.stl", "model.3mf", "swaps.txt", "swaps.json", "project.hfp"})
    EXPECT_EQ(test::read_bytes(dir / "one" / f), test::read_bytes(dir / "two" / f)) << f;
}

TEST(ReliefCli, GumbelAndChainSolversRun) {
  TempDir dir;
  const fs::path photo = make_photo(dir);
  for (const char* solver : {"gumbel", "chain"}) {
    auto args = quick(photo, dir / solver);
    args.insert(args.end(), {"--solver", solver, "--iterations", "30"});
    const CommandResult r = fabforge(args);
    ASSERT_EQ(r.exit_code, 0) << solver << ": " << r.err;
    const auto report = nlohmann::json::parse(test::read_bytes(dir / solver / "report.json"));
    EXPECT_LE(report["colors"].get<int>(), 4);
    EXPECT_LE(report["swaps"].get<int>(), 5);
  }
}

void expect_clean_failure(const TempDir& dir, const std::vector<std::string>& args, int code,
                          const std::string& message) {
  const CommandResult r = fabforge(args);
  EXPECT_EQ(r.exit_code, code) << r.err;
  EXPECT_TRUE(contains(r.err, message)) << r.err;
  EXPECT_FALSE(fs::exists(dir / "out")) << "partial output left for: " << r.err;
}

TEST(ReliefCli, BadInputGivesAClearErrorAndNoOutputFolder) {
  TempDir dir;
  const fs::path photo = make_photo(dir);
  const fs::path out = dir / "out";
  // The quick arguments with some options added or replaced.
  auto with = [&](std::vector<std::string> extra, const fs::path& image) {
    auto a = quick(image, out);
    for (std::size_t i = 0; i < extra.size(); ++i) {
      const auto it = std::find(a.begin(), a.end(), extra[i]);
      if (it != a.end() && i + 1 < extra.size() && extra[i].rfind("--", 0) == 0 && it + 1 != a.end()) {
        *(it + 1) = extra[i + 1];
        ++i;
      } else {
        a.push_back(extra[i]);
      }
    }
    return a;
  };
  expect_clean_failure(dir, with({}, dir / "missing.png"), 1, "missing.png");
  test::write_bytes(dir / "corrupt.png", "\x89PNG\r\n\x1a\nnot really");
  expect_clean_failure(dir, with({}, dir / "corrupt.png"), 1, "corrupt.png");
  test::write_bytes(dir / "empty.csv", "Brand, Type, Color, Name, TD, Owned, Uuid\n");
  expect_clean_failure(dir, with({"--library", (dir / "empty.csv").string()}, photo), 1, "no filaments");
  test::write_bytes(dir / "zero_td.csv", "Brand, Type, Color, Name, TD, Owned, Uuid\nX,PLA,#ff0000,Red,0,true,\n");
  expect_clean_failure(dir, with({"--library", (dir / "zero_td.csv").string()}, photo), 1, "TD");
  test::write_bytes(dir / "unowned.csv", "Brand, Type, Color, Name, TD, Owned, Uuid\nX,PLA,#ff0000,Red,3,false,\n");
  expect_clean_failure(dir, with({"--library", (dir / "unowned.csv").string(), "--owned-only"}, photo), 2, "owned");
  expect_clean_failure(dir, with({"--colors", "0"}, photo), 2, "--colors");
  expect_clean_failure(dir, with({"--swaps", "-1"}, photo), 2, "--swaps");
  expect_clean_failure(dir, with({"--colors", "3", "--swaps", "0"}, photo), 2, "--swaps 0");
  expect_clean_failure(dir, with({"--size-mm", "0"}, photo), 2, "--size-mm");
  expect_clean_failure(dir, with({"--nozzle-mm", "0"}, photo), 2, "--nozzle-mm");
  expect_clean_failure(dir, with({"--layer-height", "-0.04"}, photo), 2, "--layer-height");
  expect_clean_failure(dir, with({"--solver", "magic"}, photo), 2, "--solver");
  expect_clean_failure(dir, with({"--background", "Unobtainium"}, photo), 2, "Unobtainium");
  Image8 clear(8, 8, 4, Encoding::srgb, 0);
  save_png(dir / "clear.png", clear);
  expect_clean_failure(dir, with({}, dir / "clear.png"), 1, "alpha");
}

TEST(ReliefCli, BackgroundByNameOrColourAndPreviewWhileRunning) {
  TempDir dir;
  const fs::path photo = make_photo(dir);
  auto args = quick(photo, dir / "out");
  args.insert(args.end(), {"--background", "#000000", "--preview-every", "1"});
  ASSERT_EQ(fabforge(args).exit_code, 0);
  const auto report = nlohmann::json::parse(test::read_bytes(dir / "out" / "report.json"));
  EXPECT_TRUE(contains(report["settings"]["background"].get<std::string>(), "Black"));
  auto named = quick(photo, dir / "named");
  named.insert(named.end(), {"--background", "bone white"});
  ASSERT_EQ(fabforge(named).exit_code, 0);
  const auto r2 = nlohmann::json::parse(test::read_bytes(dir / "named" / "report.json"));
  EXPECT_EQ(r2["settings"]["background"], "Geeetech Bone White");
}

}  // namespace
}  // namespace fabforge
