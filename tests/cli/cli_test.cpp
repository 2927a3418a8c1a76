// End-to-end tests of the fabforge program: exit statuses, messages, outputs.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fabforge/core/image.hpp"
#include "fabforge/core/stl.hpp"
#include "fabforge/core/version.hpp"

#include "support/test_support.hpp"

namespace fabforge {
namespace {

using test::CommandResult;
using test::TempDir;

CommandResult fabforge(std::vector<std::string> args) { return test::run_fabforge(std::move(args)); }

using test::contains;

// A 60 x 40 picture: a bright disc with a darker ring on a transparent background.
std::filesystem::path make_picture(const TempDir& dir) {
  Image8 img(60, 40, 4);
  for (int y = 0; y < img.height; ++y) {
    for (int x = 0; x < img.width; ++x) {
      const double r = std::hypot(x - 30.0, y - 20.0);
      const std::uint8_t v = r < 8 ? 255 : (r < 14 ? 96 : 160);
      for (int c = 0; c < 3; ++c) img.at(x, y, c) = v;
      img.at(x, y, 3) = r < 18 ? 255 : 0;
    }
  }
  save_png(dir / "picture.png", img);
  return dir / "picture.png";
}

TEST(Cli, VersionAndHelp) {
  CommandResult v = fabforge({"--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out, std::string("fabforge ") + kVersion + "\n");
  CommandResult h = fabforge({"--help"});
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_TRUE(contains(h.out, "mesh-info"));
  EXPECT_TRUE(contains(h.out, "heightmap"));
  CommandResult sub = fabforge({"mesh-info", "--help"});
  EXPECT_EQ(sub.exit_code, 0);
  EXPECT_TRUE(contains(sub.out, "--json"));
}

TEST(Cli, UsageErrorsExitTwo) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {}, {"no-such-command"}, {"mesh-info"}, {"mesh-info", "a.stl", "--bogus"}}) {
    CommandResult r = fabforge(args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(r.err.rfind("fabforge: error: ", 0), 0u) << r.err;
  }
}

TEST(Cli, MeshInfoReportsABox) {
  TempDir dir;
  write_stl(dir / "box.stl", test::make_box({0, 0, 0}, {20, 20, 20}));
  CommandResult r = fabforge({"mesh-info", (dir / "box.stl").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "triangles:   12\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "closed:      yes\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "watertight:  yes\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "volume:      8000.000 mm^3\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "size:        20.0000 x 20.0000 x 20.0000 mm\n")) << r.out;
}

TEST(Cli, MeshInfoJson) {
  TempDir dir;
  Mesh open_box = test::make_box({0, 0, 0}, {1, 2, 3});
  open_box.triangles.pop_back();
  write_stl(dir / "open.stl", open_box, StlFormat::ascii);
  CommandResult r = fabforge({"mesh-info", "--json", (dir / "open.stl").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["triangles"], 11);
  EXPECT_EQ(j["closed"], false);
  EXPECT_EQ(j["boundary_edges"], 3);
  EXPECT_EQ(j["bounding_box"]["size"][2], 3.0);
}

TEST(Cli, MeshInfoJsonSurvivesNonUtf8FileNames) {
  TempDir dir;
  const auto path = dir / "caf\xe9.stl";
  write_stl(path, test::make_box({0, 0, 0}, {1, 1, 1}));
  CommandResult r = fabforge({"mesh-info", "--json", path.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["triangles"], 12);
}

TEST(Cli, AbsurdSizesAreUsageErrors) {
  TempDir dir;
  const auto png = make_picture(dir);
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--size-mm", "3000000", "--pixel-mm", "0.001"}, {"--size-mm", "inf"}, {"--pixel-mm", "0"}}) {
    std::vector<std::string> cmd{"heightmap", png.string(), "-o", (dir / "a.stl").string()};
    cmd.insert(cmd.end(), args.begin(), args.end());
    CommandResult r = fabforge(cmd);
    EXPECT_EQ(r.exit_code, 2) << args[1] << ": " << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "a.stl"));
}

TEST(Cli, MissingAndMalformedInputsExitOne) {
  TempDir dir;
  CommandResult missing = fabforge({"mesh-info", (dir / "missing.stl").string()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(contains(missing.err, "fabforge: error: " + (dir / "missing.stl").string() + ": cannot open"))
      << missing.err;
  test::write_bytes(dir / "junk.stl", std::string(300, 'x'));
  CommandResult junk = fabforge({"mesh-info", (dir / "junk.stl").string()});
  EXPECT_EQ(junk.exit_code, 1);
  EXPECT_TRUE(contains(junk.err, "truncated or corrupt binary STL")) << junk.err;
  CommandResult ext = fabforge({"mesh-info", (dir / "model.ply").string()});
  EXPECT_EQ(ext.exit_code, 1);
  EXPECT_TRUE(contains(ext.err, "unknown mesh format '.ply'")) << ext.err;
}

TEST(Cli, HeightmapMakesAClosedSolidAndReportsProgress) {
  TempDir dir;
  const auto png = make_picture(dir);
  const auto stl = dir / "relief.stl";
  CommandResult r = fabforge({"heightmap", png.string(), "-o", stl.string(), "--size-mm", "60", "--pixel-mm", "1",
                              "--base-mm", "1", "--relief-mm", "2", "--progress", "plain"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "wrote " + stl.string())) << r.out;
  EXPECT_TRUE(contains(r.err, "heightmap: 100% (3/3 steps")) << r.err;
  const MeshReport rep = analyze_mesh(read_stl(stl));
  EXPECT_TRUE(rep.closed);
  EXPECT_TRUE(rep.consistently_oriented);
  EXPECT_NEAR(rep.bounds.size().x, 35.0, 1e-4);  // the disc spans pixels 13..47 at 1 mm
  EXPECT_NEAR(rep.bounds.max.z, 3.0, 1e-5);
}

TEST(Cli, QuietPrintsNothingOnStderr) {
  TempDir dir;
  const auto png = make_picture(dir);
  CommandResult r = fabforge({"heightmap", png.string(), "-o", (dir / "r.3mf").string(), "--quiet", "--smooth"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  CommandResult info = fabforge({"mesh-info", (dir / "r.3mf").string(), "--json"});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_EQ(nlohmann::json::parse(info.out)["closed"], true);
}

TEST(Cli, FailedJobsLeaveNoOutput) {
  TempDir dir;
  const auto png = make_picture(dir);
  CommandResult bad_ext = fabforge({"heightmap", png.string(), "-o", (dir / "out.ply").string()});
  EXPECT_EQ(bad_ext.exit_code, 2) << bad_ext.err;
  CommandResult bad_size = fabforge({"heightmap", png.string(), "-o", (dir / "out.stl").string(), "--size-mm", "-5"});
  EXPECT_EQ(bad_size.exit_code, 2) << bad_size.err;
  EXPECT_TRUE(contains(bad_size.err, "--size-mm must be positive")) << bad_size.err;
  CommandResult no_image = fabforge({"heightmap", (dir / "nope.png").string(), "-o", (dir / "out.stl").string()});
  EXPECT_EQ(no_image.exit_code, 1);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"picture.png"});
}

}  // namespace
}  // namespace fabforge
