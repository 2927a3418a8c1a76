#include "fabforge/core/polygon.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "fabforge/core/error.hpp"

#include "support/test_support.hpp"

namespace fabforge {
namespace {

Ring square(double x0, double y0, double size, bool ccw = true) {
  Ring r{{x0, y0}, {x0 + size, y0}, {x0 + size, y0 + size}, {x0, y0 + size}};
  if (!ccw) std::reverse(r.begin(), r.end());
  return r;
}

// A 10 x 10 frame with a 6 x 6 hole, an island of 2 x 2 inside the hole, and a separate
// triangle.
Regions sample() {
  Regions r;
  r.islands.push_back({square(0, 0, 10), {square(2, 2, 6, false)}});
  r.islands.push_back({square(4, 4, 2), {}});
  r.islands.push_back({{{20, 0}, {26, 0}, {20, 4}}, {}});
  return r;
}

TEST(Polygon, SignedAreaFollowsOrientation) {
  EXPECT_DOUBLE_EQ(signed_area(square(1, 2, 3)), 9.0);
  EXPECT_DOUBLE_EQ(signed_area(square(1, 2, 3, false)), -9.0);
  EXPECT_DOUBLE_EQ(signed_area({{0, 0}, {1, 1}}), 0.0);
  EXPECT_DOUBLE_EQ(signed_area({}), 0.0);
  EXPECT_DOUBLE_EQ(signed_area({{0, 0}, {4, 0}, {0, 3}}), 6.0);
}

TEST(Polygon, AreaSubtractsHolesWhateverTheirOrientation) {
  EXPECT_DOUBLE_EQ(area(PolygonWithHoles{square(0, 0, 10), {square(2, 2, 6, false)}}), 64.0);
  EXPECT_DOUBLE_EQ(area(PolygonWithHoles{square(0, 0, 10, false), {square(2, 2, 6, true)}}), 64.0);
  EXPECT_DOUBLE_EQ(area(sample()), 64.0 + 4.0 + 12.0);
}

TEST(Polygon, PerimeterBoundsAndRingCount) {
  const Regions r = sample();
  EXPECT_NEAR(perimeter(r), 40 + 24 + 8 + (6 + 4 + std::hypot(6, 4)), 1e-12);
  const Box2 b = bounds(r);
  EXPECT_EQ(b.min, (Point2{0, 0}));
  EXPECT_EQ(b.max, (Point2{26, 10}));
  EXPECT_FALSE(b.empty());
  EXPECT_TRUE(bounds(Regions{}).empty());
  EXPECT_EQ(ring_count(r), 4u);
  EXPECT_EQ(ring_count(Regions{}), 0u);
}

TEST(Polygon, ContainsRespectsHolesAndIslandsInHoles) {
  const Regions r = sample();
  EXPECT_TRUE(contains(r, {1, 1}));    // frame
  EXPECT_FALSE(contains(r, {3, 3}));   // hole
  EXPECT_TRUE(contains(r, {5, 5}));    // island inside the hole
  EXPECT_FALSE(contains(r, {15, 5}));  // between islands
  EXPECT_TRUE(contains(r, {21, 1}));   // triangle
  EXPECT_FALSE(contains(r, {25, 3}));  // beside the triangle's slope
  EXPECT_FALSE(contains(r, {-1, 5}));
  EXPECT_FALSE(contains(Regions{}, {0, 0}));
}

TEST(Polygon, TranslateMovesEveryPoint) {
  const Regions r = translated(sample(), 5, -2);
  EXPECT_EQ(r.islands[0].outer[0], (Point2{5, -2}));
  EXPECT_EQ(r.islands[0].holes[0][0], (Point2{2 + 5, 8 - 2}));
  EXPECT_DOUBLE_EQ(area(r), area(sample()));
  EXPECT_TRUE(contains(r, {10, 3}));  // the island in the hole, moved
}

TEST(Polygon, MirrorKeepsOrientationAndArea) {
  const Regions m = mirrored_x(sample(), 50);
  ASSERT_EQ(m.islands.size(), 3u);
  for (const auto& island : m.islands) {
    EXPECT_GT(signed_area(island.outer), 0);
    for (const Ring& h : island.holes) EXPECT_LT(signed_area(h), 0);
  }
  EXPECT_DOUBLE_EQ(area(m), area(sample()));
  const Box2 b = bounds(m);
  EXPECT_DOUBLE_EQ(b.min.x, 100 - 26);
  EXPECT_DOUBLE_EQ(b.max.x, 100);
  EXPECT_TRUE(contains(m, {100 - 21, 1}));
  EXPECT_FALSE(contains(m, {100 - 3, 3}));
  // Mirroring twice gives the original points back (as a set per ring).
  const Regions back = mirrored_x(m, 50);
  EXPECT_DOUBLE_EQ(signed_area(back.islands[2].outer), signed_area(sample().islands[2].outer));
}

TEST(PolygonJson, RoundTripIsExact) {
  Regions r = sample();
  r.islands[2].outer[1] = {0.1 + 0.2, 1.0 / 3.0};  // values that need all 17 digits
  r.islands[2].outer[2] = {-1e-300, 12345678.901234567};
  const std::string text = regions_to_json(r);
  EXPECT_NE(text.find("\"format\":\"fabforge-regions\""), std::string::npos);
  const Regions back = regions_from_json(text, "mem");
  ASSERT_EQ(back.islands.size(), r.islands.size());
  for (std::size_t i = 0; i < r.islands.size(); ++i) {
    EXPECT_EQ(back.islands[i].outer, r.islands[i].outer);
    EXPECT_EQ(back.islands[i].holes, r.islands[i].holes);
  }
  EXPECT_EQ(regions_to_json(back), text);
  EXPECT_TRUE(regions_from_json(regions_to_json(Regions{}), "empty").empty());
}

TEST(PolygonJson, FileRoundTrip) {
  test::TempDir dir;
  write_regions(dir / "r.json", sample());
  const Regions back = read_regions(dir / "r.json");
  EXPECT_EQ(regions_to_json(back), regions_to_json(sample()));
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"r.json"});  // no temporary left behind
  EXPECT_THROW(read_regions(dir / "missing.json"), Error);
}

void expect_input_error(const std::string& text, const std::string& words) {
  try {
    regions_from_json(text, "shape.json");
    FAIL() << "accepted: " << text;
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::input);
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("shape.json: ", 0), 0u) << msg;
    EXPECT_NE(msg.find(words), std::string::npos) << msg;
  }
}

TEST(PolygonJson, MalformedInputIsAnInputErrorNamingTheSource) {
  const std::string head = R"({"format":"fabforge-regions","version":1,"units":"mm",)";
  expect_input_error("{not json", "not valid JSON");
  expect_input_error("[1,2]", "not a fabforge regions file");
  expect_input_error(R"({"format":"other","version":1})", "not a fabforge regions file");
  expect_input_error(R"({"format":"fabforge-regions","version":2,"islands":[]})", "version");
  expect_input_error(R"({"format":"fabforge-regions","version":1,"units":"in","islands":[]})", "units");
  expect_input_error(head + R"("islands":{}})", "missing \"islands\" array");
  expect_input_error(head + R"("islands":[{"holes":[]}]})", "\"outer\"");
  expect_input_error(head + R"("islands":[{"outer":[[0,0],[1,0]]}]})", "fewer than 3 points");
  expect_input_error(head + R"("islands":[{"outer":[[0,0],[1,0],[1,1,1]]}]})", "[x, y]");
  expect_input_error(head + R"("islands":[{"outer":[[0,0],[1,0],["a",1]]}]})", "[x, y]");
  expect_input_error(head + R"("islands":[{"outer":"square"}]})", "must be an array");
  expect_input_error(head + R"("islands":[{"outer":[[0,0],[1,0],[1,1]],"holes":{}}]})", "\"holes\"");
  expect_input_error(head + R"("islands":[{"outer":[[0,0],[1,0],[1,1]],"holes":[[[0,0]]]}]})", "hole");
}

}  // namespace
}  // namespace fabforge
