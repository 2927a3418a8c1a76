// End-to-end tests of `fabforge openfl check|dump|eval`: exit statuses, diagnostics on stderr,
// dumps, point and box evaluation, surface queries against a mesh, and bad input.

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "fabforge/core/stl.hpp"

#include "support/test_support.hpp"

namespace fabforge {
namespace {

using test::CommandResult;
using test::TempDir;

CommandResult fabforge(std::vector<std::string> args) { return test::run_fabforge(std::move(args)); }
using test::contains;
std::string example(const std::string& name) { return (test::source_dir() / "examples" / "openfl" / name).string(); }

TEST(OpenflCheck, GoodFileListsItsInterface) {
  const CommandResult r = fabforge({"openfl", "check", example("marble.fl")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "fablet Marble: ok")) << r.out;
  EXPECT_TRUE(contains(r.out, "phases: volume")) << r.out;
  EXPECT_TRUE(contains(r.out, "uniform material vein = \"VeroBlack\"")) << r.out;
  EXPECT_TRUE(contains(r.out, "uniform float scale = 0.2")) << r.out;
  EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST(OpenflCheck, ErrorsGetPositionSourceLineAndCaret) {
  TempDir dir;
  const auto file = dir / "bad.fl";
  test::write_bytes(file,
                    "fablet Bad {\n"
                    "  uniform material m = \"A\";\n"
                    "  volume(vec3 P) -> mixture {\n"
                    "    float n = fbm(nois(P), 3);\n"
                    "    float k = true + 1;\n"
                    "    return mixture(m, n);\n"
                    "  }\n"
                    "}\n");
  const CommandResult r = fabforge({"openfl", "check", file.string()});
  EXPECT_EQ(r.exit_code, 1);
  const std::string expected = file.string() +
                               ":4:19: error: no function 'nois' (did you mean 'noise'?)\n"
                               "        float n = fbm(nois(P), 3);\n"
                               "                      ^~~~\n";
  EXPECT_TRUE(contains(r.err, expected)) << r.err;
  EXPECT_TRUE(contains(r.err, file.string() + ":5:")) << "both errors are reported\n" << r.err;
  EXPECT_TRUE(contains(r.err, "2 errors generated.")) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(OpenflCheck, MissingFile) {
  const CommandResult r = fabforge({"openfl", "check", "/nonexistent/x.fl"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "/nonexistent/x.fl")) << r.err;
}

TEST(OpenflDump, AstIrAndBytecode) {
  const CommandResult ast = fabforge({"openfl", "dump", example("marble.fl"), "--ast"});
  ASSERT_EQ(ast.exit_code, 0) << ast.err;
  EXPECT_TRUE(contains(ast.out, "fbm")) << ast.out;
  const CommandResult ir = fabforge({"openfl", "dump", example("marble.fl"), "--ir"});
  ASSERT_EQ(ir.exit_code, 0) << ir.err;
  EXPECT_TRUE(contains(ir.out, "# Marble volume phase")) << ir.out;
  EXPECT_TRUE(contains(ir.out, "fbm3")) << ir.out;
  EXPECT_TRUE(contains(ir.out, "fsin")) << ir.out;
  const CommandResult bc = fabforge({"openfl", "dump", example("marble.fl"), "--bytecode"});
  ASSERT_EQ(bc.exit_code, 0) << bc.err;
  EXPECT_TRUE(contains(bc.out, "fbm3")) << bc.out;
  // Specialisation folds uniforms: without it the IR loads them.
  const CommandResult loaded = fabforge({"openfl", "dump", example("marble.fl"), "--ir", "--no-specialize"});
  ASSERT_EQ(loaded.exit_code, 0) << loaded.err;
  EXPECT_TRUE(contains(loaded.out, "uniform")) << loaded.out;
  EXPECT_FALSE(contains(ir.out, "= uniform")) << ir.out;
}

TEST(OpenflDump, NeedsExactlyOneForm) {
  EXPECT_EQ(fabforge({"openfl", "dump", example("marble.fl")}).exit_code, 2);
  EXPECT_EQ(fabforge({"openfl", "dump", example("marble.fl"), "--ir", "--ast"}).exit_code, 2);
}

nlohmann::json eval_json(std::vector<std::string> args) {
  args.insert(args.begin(), {"openfl", "eval"});
  args.push_back("--json");
  const CommandResult r = fabforge(args);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
}

TEST(OpenflEval, PointBatchedEqualsReference) {
  const auto batched = eval_json({example("marble.fl"), "--at", "1,2,3"});
  const auto reference = eval_json({example("marble.fl"), "--at", "1,2,3", "--reference"});
  ASSERT_FALSE(batched.is_null());
  EXPECT_EQ(batched["interpreter"], "batched");
  EXPECT_EQ(reference["interpreter"], "reference");
  EXPECT_EQ(batched["outputs"], reference["outputs"]);
  const double vein = batched["outputs"]["vein"], stone = batched["outputs"]["stone"];
  EXPECT_NEAR(vein + stone, 1.0, 1e-6);  // mix of two unit mixtures
  EXPECT_GE(vein, 0.0);
  EXPECT_GE(stone, 0.0);
}

TEST(OpenflEval, BoxBoundsContainPoints) {
  const auto box = eval_json({example("marble.fl"), "--at", "0:4,0:4,0:4"});
  ASSERT_FALSE(box.is_null());
  EXPECT_EQ(box["interpreter"], "interval");
  for (const char* at : {"0,0,0", "4,4,4", "1.5,2.5,3.5", "4,0,2"}) {
    const auto p = eval_json({example("marble.fl"), "--at", at});
    for (const char* m : {"vein", "stone"}) {
      const double v = p["outputs"][m];
      EXPECT_LE(static_cast<double>(box["outputs"][m][0]), v) << at << " " << m;
      EXPECT_GE(static_cast<double>(box["outputs"][m][1]), v) << at << " " << m;
    }
  }
}

TEST(OpenflEval, SetOverridesAUniform) {
  // bands = 0: s = 0.5 + 0.5 * sin(0) = 0.5 < 0.6, so the point is pure stone.
  const auto p = eval_json({example("marble.fl"), "--at", "1,2,3", "--set", "bands=0"});
  EXPECT_EQ(static_cast<double>(p["outputs"]["vein"]), 0.0);
  EXPECT_EQ(static_cast<double>(p["outputs"]["stone"]), 1.0);
}

TEST(OpenflEval, SurfacePhaseDisplacesAlongTheNormal) {
  // Postcard: the back face (N.z < 0) is pushed out by relief * relief_height, the front is not.
  const auto front = eval_json({example("postcard.fl"), "--phase", "surface", "--at", "1,2,3", "--normal", "0,0,1",
                                "--uv", "0.25,0.5"});
  EXPECT_EQ(static_cast<double>(front["outputs"]["P.z"]), 3.0);
  EXPECT_EQ(static_cast<double>(front["outputs"]["front"]), 1.0);
  EXPECT_EQ(static_cast<double>(front["outputs"]["tex.x"]), 0.25);
  const auto back = eval_json({example("postcard.fl"), "--phase", "surface", "--at", "1,2,3", "--normal", "0,0,-1",
                               "--uv", "0.25,0.5"});
  const double z = back["outputs"]["P.z"];
  EXPECT_LE(z, 3.0);
  EXPECT_GE(z, 3.0 - 0.4 - 1e-6);
  EXPECT_EQ(static_cast<double>(back["outputs"]["front"]), 0.0);
}

TEST(OpenflEval, SurfaceQueriesNeedAMesh) {
  const CommandResult r = fabforge({"openfl", "eval", example("holes.fl"), "--at", "0,0,0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "no surface was given")) << r.err;

  // With a 20 mm cube: the centre is 10 mm deep (core), a point 0.2 mm under a face is in the shell.
  TempDir dir;
  write_stl(dir / "cube.stl", test::make_box({-10, -10, -10}, {10, 10, 10}));
  const auto centre = eval_json({example("holes.fl"), "--at", "0,0,0", "--mesh", (dir / "cube.stl").string()});
  EXPECT_EQ(static_cast<double>(centre["outputs"]["core"]), 1.0);
  EXPECT_EQ(static_cast<double>(centre["outputs"]["clear"]), 0.0);
  const auto shell = eval_json({example("holes.fl"), "--at", "3,2,9.8", "--mesh", (dir / "cube.stl").string()});
  EXPECT_EQ(static_cast<double>(shell["outputs"]["core"]), 0.0);
}

TEST(OpenflEval, BadInput) {
  const auto run = [](std::vector<std::string> args) {
    args.insert(args.begin(), {"openfl", "eval"});
    return fabforge(args);
  };
  CommandResult r = run({example("marble.fl"), "--at", "1,2"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "expected 3")) << r.err;
  r = run({example("marble.fl"), "--at", "1,x,3"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "'x' is not a finite number")) << r.err;
  r = run({example("marble.fl"), "--at", "1,2,3", "--set", "nosuch=1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "nosuch")) << r.err;
  r = run({example("marble.fl"), "--at", "1,2,3", "--set", "scale=1,2"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "scale")) << r.err;
  r = run({example("marble.fl"), "--at", "3:1,0,0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "lo > hi")) << r.err;
  r = run({example("holes.fl"), "--at", "0,0,0", "--mesh", "/nonexistent/m.stl"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "/nonexistent/m.stl")) << r.err;
}

TEST(OpenflEval, LoopCapIsARuntimeError) {
  TempDir dir;
  const auto file = dir / "spin.fl";
  test::write_bytes(file,
                    "fablet Spin {\n"
                    "  uniform material m = \"A\";\n"
                    "  volume(vec3 P) -> mixture {\n"
                    "    float x = P.x;\n"
                    "    while (x > 0.0) { x = x + 1.0; }\n"
                    "    return mixture(m, x);\n"
                    "  }\n"
                    "}\n");
  for (const char* interpreter : {"", "--reference"}) {
    std::vector<std::string> args = {"openfl", "eval", file.string(), "--at", "1,0,0"};
    if (*interpreter) args.emplace_back(interpreter);
    const CommandResult r = fabforge(args);
    EXPECT_EQ(r.exit_code, 1) << interpreter;
    EXPECT_TRUE(contains(r.err, "spin.fl:5:5: loop ran more than 1000000 iterations")) << interpreter << r.err;
  }
}

}  // namespace
}  // namespace fabforge
