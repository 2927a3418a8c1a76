#include "fabforge/gcode/profile.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "fabforge/core/error.hpp"

#include "support/test_support.hpp"

using namespace fabforge;
using namespace fabforge::gcode;
using namespace fabforge::test;

namespace {

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(GcodeProfile, BundledProfilesLoadWithTheirMachines) {
  const auto names = bundled_profile_names();
  ASSERT_EQ(names.size(), 4u);
  const PrinterProfile marlin = load_profile("generic-marlin");
  EXPECT_EQ(marlin.flavor, Flavor::marlin);
  EXPECT_DOUBLE_EQ(marlin.bed_width_mm, 220);
  EXPECT_FALSE(marlin.relative_e);
  const PrinterProfile mk3 = load_profile("prusa-mk3");
  EXPECT_DOUBLE_EQ(mk3.bed_width_mm, 250);
  EXPECT_DOUBLE_EQ(mk3.bed_depth_mm, 210);
  EXPECT_GT(mk3.z_hop_mm, 0);
  const PrinterProfile ender = load_profile("ender3");
  EXPECT_DOUBLE_EQ(ender.retract_length_mm, 5.0);  // Bowden
  EXPECT_EQ(ender.flavor, Flavor::marlin);         // inherited
  const PrinterProfile klipper = load_profile("generic-klipper");
  EXPECT_EQ(klipper.flavor, Flavor::klipper);
  EXPECT_TRUE(klipper.relative_e);
  for (const auto& n : names) {
    const PrinterProfile p = load_profile(n);
    EXPECT_NE(p.start_gcode.find("M109"), std::string::npos) << n << " must heat the nozzle before printing";
    EXPECT_FALSE(p.end_gcode.empty()) << n;
  }
}

TEST(GcodeProfile, InheritsThenOverrides) {
  const PrinterProfile p =
      parse_profile(R"({"inherits": "ender3", "nozzle_temp_c": 230, "speeds": {"travel": 120}})", "mine.json");
  EXPECT_DOUBLE_EQ(p.nozzle_temp_c, 230);
  EXPECT_DOUBLE_EQ(p.speeds.travel, 120);
  EXPECT_DOUBLE_EQ(p.speeds.wall_outer, load_profile("ender3").speeds.wall_outer);
  EXPECT_DOUBLE_EQ(p.retract_length_mm, 5.0);
}

TEST(GcodeProfile, UnknownKeysAndBadValuesAreNamed) {
  std::string m = message_of([] { parse_profile(R"({"bed_widht_mm": 200})", "p.json"); });
  EXPECT_NE(m.find("p.json"), std::string::npos);
  EXPECT_NE(m.find("unknown key \"bed_widht_mm\""), std::string::npos) << m;
  EXPECT_NE(m.find("bed_width_mm"), std::string::npos) << "the message lists the known keys: " << m;
  m = message_of([] { parse_profile(R"({"speeds": {"infill": 50}})", "p.json"); });
  EXPECT_NE(m.find("speeds.infill"), std::string::npos) << m;
  m = message_of([] { parse_profile(R"({"nozzle_diameter_mm": -1})", "p.json"); });
  EXPECT_NE(m.find("nozzle_diameter_mm"), std::string::npos) << m;
  EXPECT_NE(m.find("expected a value in"), std::string::npos) << m;
  m = message_of([] { parse_profile(R"({"flavor": "sailfish"})", "p.json"); });
  EXPECT_NE(m.find("flavor"), std::string::npos) << m;
  m = message_of([] { parse_profile(R"({"inherits": "nope"})", "p.json"); });
  EXPECT_NE(m.find("generic-marlin"), std::string::npos) << m;
  m = message_of([] { parse_profile("{not json", "p.json"); });
  EXPECT_NE(m.find("not valid JSON"), std::string::npos) << m;
}

TEST(GcodeProfile, LoadByNameOrFile) {
  try {
    load_profile("no-such-printer");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_NE(std::string(e.what()).find("prusa-mk3"), std::string::npos);
  }
  TempDir dir;
  const auto path = dir.path() / "custom.json";
  write_bytes(
      path,
      R"({"name": "Custom", "inherits": "generic-marlin", "bed_width_mm": 300, "start_gcode": "G28\nM109 S200"})");
  const PrinterProfile p = load_profile(path.string());
  EXPECT_EQ(p.name, "Custom");
  EXPECT_DOUBLE_EQ(p.bed_width_mm, 300);
  EXPECT_EQ(p.start_gcode, "G28\nM109 S200");
  EXPECT_THROW(load_profile((dir.path() / "missing.json").string()), Error);
}

TEST(GcodeProfile, JsonRoundTripKeepsEveryField) {
  PrinterProfile p = load_profile("generic-klipper");
  p.z_hop_mm = 0.4;
  p.firmware_retraction = true;
  p.fan_start_layer = 3;
  const PrinterProfile q = parse_profile(profile_to_json(p), "round trip");
  EXPECT_EQ(profile_to_json(q), profile_to_json(p));
  EXPECT_EQ(q.flavor, Flavor::klipper);
  EXPECT_TRUE(q.firmware_retraction);
  EXPECT_EQ(q.fan_start_layer, 3);
  EXPECT_EQ(q.start_gcode, p.start_gcode);
}
