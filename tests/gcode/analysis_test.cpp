// The G-code reader, measurer and checker: hand-written programs with known lengths, each
// firmware's positioning rules, arcs, checksums, layers, time, features, file declarations,
// planted faults, and layer coverage.

#include "fabforge/gcode/analysis.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numbers>
#include <string>

#include "fabforge/core/error.hpp"
#include "fabforge/gcode/flow.hpp"

#include "support/test_support.hpp"

namespace fabforge::gcode {
namespace {

constexpr double kPi = std::numbers::pi;

GcodeAnalysis analyze(const std::string& text, AnalyzeOptions options = {}) {
  return analyze_gcode(text, options, "test.gcode");
}

GcodeAnalysis analyze_as(const std::string& text, Flavor flavor) {
  AnalyzeOptions o;
  o.flavor = flavor;
  return analyze(text, o);
}

std::string dump(const GcodeAnalysis& a) {
  std::string s;
  for (const Problem& p : a.problems) s += std::string(problem_kind_name(p.kind)) + ": " + p.message + "\n";
  return s;
}

// The problems of one kind, as (line) list.
std::vector<std::size_t> lines_of(const GcodeAnalysis& a, ProblemKind kind) {
  std::vector<std::size_t> out;
  for (const Problem& p : a.problems)
    if (p.kind == kind) out.push_back(p.line);
  return out;
}

const char* kHeated = "M104 S200\nG28\nG90\n";

// ---- lengths and E modes ----

TEST(GcodeAnalysis, AbsoluteEMeasuresFilamentPrintingAndTravel) {
  const std::string g = std::string(kHeated) +
                        "M82\n"
                        "G92 E0\n"
                        "G1 Z0.2 F600\n"
                        "G1 X10 Y0 E0.4 F1200\n"
                        "G1 X10 Y10 E0.8\n"
                        "G1 X20 Y10 F6000\n"  // travel 10
                        "G1 X20 Y20 E1.2\n"
                        "G1 E0.4\n"  // retraction 0.8
                        "G0 X0 Y20\n";
  const GcodeAnalysis a = analyze(g);
  EXPECT_TRUE(a.ok()) << dump(a);
  EXPECT_NEAR(a.stats.filament_mm, 0.4, 1e-9);
  EXPECT_NEAR(a.stats.printing_mm, 30.0, 1e-5);
  EXPECT_NEAR(a.stats.travel_mm, 30.0, 1e-5);
  EXPECT_NEAR(a.stats.travel_print_mm, 10.0, 1e-5);
  EXPECT_EQ(a.stats.layers, 1);
  EXPECT_EQ(a.stats.retractions, 1);
  EXPECT_NEAR(a.stats.filament_volume_mm3, 0.4 * filament_area_mm2(1.75), 1e-6);
  EXPECT_EQ(a.stats.lines, 12u);
  EXPECT_NEAR(a.stats.extrusion_min[0], 0, 1e-6);
  EXPECT_NEAR(a.stats.extrusion_max[0], 20, 1e-6);
  EXPECT_NEAR(a.stats.extrusion_max[1], 20, 1e-6);
  EXPECT_NEAR(a.stats.extrusion_max[2], 0.2, 1e-6);
}

TEST(GcodeAnalysis, RelativeEGivesTheSameFigures) {
  const std::string g = std::string(kHeated) +
                        "M83\n"
                        "G1 Z0.2 F600\n"
                        "G1 X10 Y0 E0.4 F1200\n"
                        "G1 X10 Y10 E0.4\n"
                        "G1 X20 Y10 F6000\n"
                        "G1 X20 Y20 E0.4\n"
                        "G1 E-0.8\n"
                        "G0 X0 Y20\n";
  const GcodeAnalysis a = analyze(g);
  EXPECT_TRUE(a.ok()) << dump(a);
  EXPECT_NEAR(a.stats.filament_mm, 0.4, 1e-9);
  EXPECT_NEAR(a.stats.printing_mm, 30.0, 1e-5);
  EXPECT_NEAR(a.stats.travel_mm, 30.0, 1e-5);
  EXPECT_EQ(a.stats.retractions, 1);
}

// E of the last move under each firmware's rules.
double last_e(const std::string& g, Flavor f) {
  const GcodeAnalysis a = analyze_as(std::string(kHeated) + g, f);
  return a.moves.empty() ? 1e9 : a.moves.back().e;
}

TEST(GcodeAnalysis, G90AfterM83FollowsEachFirmware) {
  // E is at 2 when G90 comes; Marlin's G90 makes E absolute again, Klipper's and RRF's do not.
  const std::string g = "G92 E0\nM83\nG1 X5 E2 F1200\nG90\nG1 X10 E5\n";
  EXPECT_NEAR(last_e(g, Flavor::marlin), 3.0, 1e-9);
  EXPECT_NEAR(last_e(g, Flavor::klipper), 5.0, 1e-9);
  EXPECT_NEAR(last_e(g, Flavor::reprap), 5.0, 1e-9);
}

TEST(GcodeAnalysis, G91MakesERelativeExceptOnRepRapFirmware) {
  const std::string g = "M82\nG92 E0\nG1 X5 E2 F1200\nG91\nG1 X5 E1\n";
  EXPECT_NEAR(last_e(g, Flavor::marlin), 1.0, 1e-9);
  EXPECT_NEAR(last_e(g, Flavor::klipper), 1.0, 1e-9);
  EXPECT_NEAR(last_e(g, Flavor::reprap), -1.0, 1e-9);  // still absolute: back to E1
}

TEST(GcodeAnalysis, M82AfterG91FollowsEachFirmware) {
  // Marlin and RRF: M82 overrides; Klipper: E stays relative while G91 is in force.
  const std::string g = "M82\nG92 E0\nG1 X5 E2 F1200\nG91\nM82\nG1 X1 E1\n";
  EXPECT_NEAR(last_e(g, Flavor::marlin), -1.0, 1e-9);
  EXPECT_NEAR(last_e(g, Flavor::klipper), 1.0, 1e-9);
  EXPECT_NEAR(last_e(g, Flavor::reprap), -1.0, 1e-9);
}

TEST(GcodeAnalysis, KlipperG90UndoesOnlyWhatG91Did) {
  // G91 then G90: E absolute again.
  EXPECT_NEAR(last_e("M82\nG92 E0\nG1 X5 E2 F1200\nG91\nG1 X1 E1\nG90\nG1 X10 E4\n", Flavor::klipper), 1.0, 1e-9);
  // M83, G91, G90: E stays relative (M83 still holds).
  EXPECT_NEAR(last_e("G92 E0\nM83\nG91\nG1 X1 E1 F1200\nG90\nG1 X10 E4\n", Flavor::klipper), 4.0, 1e-9);
}

TEST(GcodeAnalysis, RelativeXyzMoves) {
  const GcodeAnalysis a = analyze(std::string(kHeated) + "G1 X10 Y10 F3000\nG91\nG1 X5 Y-2\nG1 X5\nG90\nG1 X0\n");
  ASSERT_EQ(a.moves.size(), 4u);
  EXPECT_FLOAT_EQ(a.moves[1].x1, 15);
  EXPECT_FLOAT_EQ(a.moves[1].y1, 8);
  EXPECT_FLOAT_EQ(a.moves[2].x1, 20);
  EXPECT_FLOAT_EQ(a.moves[3].x1, 0);
}

TEST(GcodeAnalysis, G92ShiftsCoordinatesAndBareG92ZeroesAll) {
  const GcodeAnalysis a =
      analyze(std::string(kHeated) + "M82\nG1 X10 Y5 E1 F1200\nG92 X0 E0\nG1 X10 E1\nG92\nG1 X5 Y5 E2\n");
  ASSERT_EQ(a.moves.size(), 3u);
  EXPECT_FLOAT_EQ(a.moves[1].x0, 10);
  EXPECT_FLOAT_EQ(a.moves[1].x1, 20);  // program X10 after G92 X0 at machine X10
  EXPECT_NEAR(a.moves[1].e, 1.0, 1e-9);
  EXPECT_FLOAT_EQ(a.moves[2].x1, 25);  // bare G92: program (0,0) is machine (20,5)
  EXPECT_FLOAT_EQ(a.moves[2].y1, 10);
  EXPECT_NEAR(a.moves[2].e, 2.0, 1e-9);
}

TEST(GcodeAnalysis, G28HomesGivenAxesOrAll) {
  const GcodeAnalysis a = analyze("M104 S200\nG1 X10 Y10 Z5 F3000\nG28 X\nG1 Y20\nG28\nG1 X1\n");
  ASSERT_EQ(a.moves.size(), 3u);
  EXPECT_FLOAT_EQ(a.moves[1].x0, 0);
  EXPECT_FLOAT_EQ(a.moves[1].y0, 10);
  EXPECT_FLOAT_EQ(a.moves[1].z0, 5);
  EXPECT_FLOAT_EQ(a.moves[2].y0, 0);
  EXPECT_FLOAT_EQ(a.moves[2].z0, 0);
}

TEST(GcodeAnalysis, InchesAndCompactWords) {
  const GcodeAnalysis a = analyze(std::string(kHeated) + "M83\nG20\nG1X1Y0E0.1F60\nG21\nG1 X30\n");
  ASSERT_EQ(a.moves.size(), 2u);
  EXPECT_FLOAT_EQ(a.moves[0].x1, 25.4f);
  EXPECT_NEAR(a.moves[0].e, 2.54, 1e-9);
  EXPECT_NEAR(a.moves[0].feedrate_mm_s, 25.4, 1e-4);
  EXPECT_FLOAT_EQ(a.moves[1].x1, 30);
}

TEST(GcodeAnalysis, NumbersParseExactlyAndNeverAsExponents) {
  for (const char* v : {"0.1", "-0.03456", "123.456789012345", "1234567890.12345678", "0.30000000000000004", "7", "-.5",
                        "5.", "+2.25", "0.000001", "-0", "99999999999999999999.5"}) {
    const GcodeAnalysis a = analyze(std::string(kHeated) + "M83\nG1 X1 E" + v + "\n");
    ASSERT_EQ(a.moves.size(), 1u) << v;
    EXPECT_EQ(a.moves[0].e, std::strtod(v, nullptr)) << v;  // bit-identical to the C library
  }
  // Firmware stops a number at 'E': X1E2 is X1 and E2, not 100.
  const GcodeAnalysis a = analyze(std::string(kHeated) + "M83\nG1 X1E2\n");
  ASSERT_EQ(a.moves.size(), 1u);
  EXPECT_FLOAT_EQ(a.moves[0].x1, 1);
  EXPECT_EQ(a.moves[0].e, 2);
}

// ---- arcs ----

TEST(GcodeAnalysis, SemicircleArcsHaveLengthPiR) {
  const double r = 10;
  for (const char* cmd :
       {"G3 X-10 Y0 I-10 J0 E1", "G2 X-10 Y0 I-10 J0 E1", "G3 X-10 Y0 R10 E1", "G2 X-10 Y0 R-10 E1"}) {
    const GcodeAnalysis a = analyze(std::string(kHeated) + "M83\nG1 X10 Y0 Z0.2 F1200\n" + cmd + "\n");
    EXPECT_TRUE(a.ok()) << cmd << "\n" << dump(a);
    EXPECT_NEAR(a.stats.printing_mm, kPi * r, kPi * r * 0.005) << cmd;
    EXPECT_NEAR(a.stats.filament_mm, 1.0, 1e-9) << cmd;
    const bool upper = std::string(cmd).rfind("G3", 0) == 0;  // counter-clockwise from +X passes +Y
    double max_error = 0;
    for (std::size_t i = 1; i < a.moves.size(); ++i) {
      const Move& m = a.moves[i];
      EXPECT_TRUE(upper ? m.y1 >= -1e-4 : m.y1 <= 1e-4) << cmd;
      EXPECT_NEAR(std::hypot(m.x1, m.y1), r, 1e-4);
      const double mx = (m.x0 + m.x1) / 2.0, my = (m.y0 + m.y1) / 2.0;
      max_error = std::max(max_error, r - std::hypot(mx, my));
    }
    EXPECT_LE(max_error, 0.1) << cmd;
    EXPECT_GT(a.moves.size(), 5u) << cmd;
  }
}

TEST(GcodeAnalysis, FullCircleAndQuarterArc) {
  const GcodeAnalysis full = analyze(std::string(kHeated) + "M83\nG1 X10 Y0 Z0.2 F1200\nG2 X10 Y0 I-10 J0 E3\n");
  EXPECT_NEAR(full.stats.printing_mm, 2 * kPi * 10, 2 * kPi * 10 * 0.005);
  const GcodeAnalysis quarter = analyze(std::string(kHeated) + "M83\nG1 X10 Y0 Z0.2 F1200\nG3 X0 Y10 R10 E1\n");
  EXPECT_NEAR(quarter.stats.printing_mm, kPi * 5, kPi * 5 * 0.005);
  for (std::size_t i = 1; i < quarter.moves.size(); ++i) {
    EXPECT_GE(quarter.moves[i].x1, -1e-4);
    EXPECT_GE(quarter.moves[i].y1, -1e-4);
  }
}

// ---- lexing: checksums, line numbers, comments, Klipper macros ----

std::string with_checksum(const std::string& line) {
  unsigned x = 0;
  for (unsigned char c : line) x ^= c;
  return line + "*" + std::to_string(x);
}

TEST(GcodeAnalysis, ChecksumsAndLineNumbers) {
  const std::string good =
      std::string(kHeated) + with_checksum("N1 G1 X10 F1200") + "\n" + with_checksum("N2 G1 X20") + "\n";
  const GcodeAnalysis a = analyze(good);
  EXPECT_TRUE(a.ok()) << dump(a);
  EXPECT_EQ(a.moves.size(), 2u);

  std::string bad_line = with_checksum("N3 G1 X30");
  bad_line.back() = bad_line.back() == '1' ? '2' : '1';
  const GcodeAnalysis b = analyze(good + bad_line + "\nN4 G1 X40\nN6 G1 X50\n");
  EXPECT_EQ(lines_of(b, ProblemKind::syntax), (std::vector<std::size_t>{6, 8})) << dump(b);
  EXPECT_NE(b.problems[0].message.find("checksum"), std::string::npos);
  EXPECT_NE(b.problems[0].message.find("test.gcode, line 6"), std::string::npos);
  ASSERT_EQ(b.moves.size(), 4u);  // the bad line is not executed
  EXPECT_FLOAT_EQ(b.moves[2].x1, 40);
}

TEST(GcodeAnalysis, CommentsTextArgumentsAndExtendedCommands) {
  const std::string g =
      "M104 S200 (heat) ; comment with * and X99\n"
      "M117 Printing 50% done\n"
      "M862.3 P \"MK3S\" ; printer check\n"
      "SET_FAN_SPEED FAN=part SPEED=0.5\n"
      "EXCLUDE_OBJECT_DEFINE NAME=a CENTER=1,2\n"
      "M1002 gcode_claim_action : 2\n"  // vendor codes with their own syntax
      "G1 X10 (move) Y5 F1200\n"
      "%\n"
      "\n"
      "   \t\n";
  const GcodeAnalysis a = analyze(g);
  EXPECT_TRUE(a.ok()) << dump(a);
  ASSERT_EQ(a.moves.size(), 1u);
  EXPECT_FLOAT_EQ(a.moves[0].x1, 10);
  EXPECT_FLOAT_EQ(a.moves[0].y1, 5);
  EXPECT_EQ(a.stats.lines, 10u);
}

TEST(GcodeAnalysis, MalformedWordsAreSyntaxProblems) {
  const GcodeAnalysis a =
      analyze(std::string(kHeated) + "G1 X1.2.3 F1200\nG1 Y\nG1 X5 # junk\nX5 Y5\nG1 X2 Y2\nM104 S2#0\n");
  EXPECT_EQ(lines_of(a, ProblemKind::syntax), (std::vector<std::size_t>{4, 5, 6, 7, 9})) << dump(a);
  ASSERT_EQ(a.moves.size(), 1u);
  EXPECT_FLOAT_EQ(a.moves[0].x1, 2);
}

// ---- layers, retractions, z-hops, travel ----

// Two square layers with retraction, z-hop and travel between, after a purge line.
const char* kTwoLayers =
    "M104 S200\n"                  // 1
    "G28\n"                        // 2
    "G90\nM83\n"                   // 3-4
    "G1 Z0.3 F600\n"               // 5
    "G1 X5 Y5 E5 F1200 ; purge\n"  // 6  start G-code: not a layer
    "G1 Z2\n"                      // 7
    ";LAYER:0\n"                   // 8
    ";TYPE:WALL-OUTER\n"           // 9
    "G1 X10 Y10 Z0.2 F6000\n"      // 10 travel to the layer (belongs to no layer yet)
    "G1 X20 Y10 E0.5 F1800\n"      // 11 first layer starts
    "G1 X20 Y20 E0.5\n"            // 12
    "G1 E-0.8 F2100\n"             // 13 retraction
    "G1 Z0.6 F600\n"               // 14 hop
    "G1 X30 Y20 F6000\n"           // 15 travel (hopped)
    "G1 X30 Y30\n"                 // 16 travel, still retracted: no second retraction
    "G1 E-0.2 F2100\n"             // 17 more retraction: same one
    "G1 Z0.2 F600\n"               // 18 down: one z-hop
    "G1 E1.0 F2100\n"              // 19 recover
    "G1 X40 Y30 E0.5 F1800\n"      // 20
    ";LAYER:1\n"                   // 21
    "G1 Z0.4 F600\n"               // 22 layer change: a lift that ends in extrusion, not a hop
    "G1 X40 Y40 E0.5 F1800\n"      // 23 second layer
    "G1 E-0.8 F2100\n"             // 24 retraction
    "G1 Z10 F600\n"                // 25 park lift: never comes down, not a hop
    "G1 X0 Y200 F6000\n";          // 26 park

TEST(GcodeAnalysis, LayersRetractionsAndZHops) {
  const GcodeAnalysis a = analyze(kTwoLayers);
  EXPECT_TRUE(a.ok()) << dump(a);
  ASSERT_EQ(a.layers.size(), 2u);
  EXPECT_NEAR(a.layers[0].z_mm, 0.2, 1e-6);
  EXPECT_NEAR(a.layers[0].height_mm, 0.2, 1e-6);
  EXPECT_NEAR(a.layers[1].z_mm, 0.4, 1e-6);
  EXPECT_NEAR(a.layers[1].height_mm, 0.2, 1e-6);
  EXPECT_EQ(a.stats.retractions, 2);
  EXPECT_EQ(a.layers[0].retractions, 1);
  EXPECT_EQ(a.layers[1].retractions, 1);
  EXPECT_EQ(a.stats.z_hops, 1);
  for (const Move& m : a.moves) {
    if (m.line <= 10)
      EXPECT_EQ(m.layer, -1) << "line " << m.line;
    else if (m.line < 23)
      EXPECT_EQ(m.layer, 0) << "line " << m.line;
    else
      EXPECT_EQ(m.layer, 1) << "line " << m.line;
  }
  EXPECT_EQ(a.layers[0].end_move, a.layers[1].first_move);
  EXPECT_EQ(a.layers[1].end_move, a.moves.size());
  EXPECT_NEAR(a.layers[0].printing_mm, 30, 1e-5);
  EXPECT_NEAR(a.layers[0].travel_mm, 20, 1e-5);
  EXPECT_NEAR(a.layers[0].filament_mm, 0.5 + 0.5 - 0.8 - 0.2 + 1.0 + 0.5, 1e-9);
  EXPECT_NEAR(a.layers[1].printing_mm, 10, 1e-5);
  // Travel between the first extrusion (the purge at line 6) and the last (line 23).
  const double purge_to_layer = std::hypot(5.0, 5.0);
  EXPECT_NEAR(a.stats.travel_print_mm, purge_to_layer + 20, 1e-4);
  EXPECT_NEAR(a.stats.travel_mm, purge_to_layer + 20 + std::hypot(40.0, 160.0), 1e-3);
}

TEST(GcodeAnalysis, FilesWithoutMarkersStartLayersAtTheFirstExtrusion) {
  std::string g = kTwoLayers;
  for (const char* marker : {";LAYER:0\n", ";TYPE:WALL-OUTER\n", ";LAYER:1\n"})
    g.erase(g.find(marker), std::strlen(marker));
  const GcodeAnalysis a = analyze(g);
  ASSERT_EQ(a.layers.size(), 3u);  // the purge at z 0.3 is a layer of its own now
  EXPECT_NEAR(a.layers[0].z_mm, 0.3, 1e-6);
  EXPECT_NEAR(a.layers[1].height_mm, -0.1, 1e-6);
}

TEST(GcodeAnalysis, FirmwareRetractionCountsOnce) {
  const GcodeAnalysis a =
      analyze(std::string(kHeated) + "M83\nG1 X10 E1 F1200\nG10\nG10\nG1 X20\nG11\nG1 X30 E1\nG10\nG11\nG10 P0 S215\n");
  EXPECT_EQ(a.stats.retractions, 2);
  const GcodeAnalysis rrf = analyze_as("G10 P0 S215\nM83\nG1 X10 E1 F1200\nG10 P0 R100 S200\n", Flavor::reprap);
  EXPECT_EQ(rrf.stats.retractions, 0);
  EXPECT_TRUE(rrf.ok()) << dump(rrf);  // G10 P0 S215 set the temperature
}

TEST(GcodeAnalysis, ColourAndToolChanges) {
  const GcodeAnalysis a = analyze(std::string(kHeated) + "T0\nM600\nT1\nT1\nT0\nM600\n");
  EXPECT_EQ(a.stats.color_changes, 2);
  EXPECT_EQ(a.stats.tool_changes, 2);
}

// ---- time ----

TEST(GcodeAnalysis, TimeOfOneMoveFromRestToRest) {
  AnalyzeOptions o;
  o.acceleration_mm_s2 = 1000;
  const GcodeAnalysis a = analyze("G1 X100 F6000\n", o);
  EXPECT_NEAR(a.stats.time_s, 100.0 / 100 + 100.0 / 1000, 1e-9);
  // Split in two collinear halves: the junction is taken at full speed.
  EXPECT_NEAR(analyze("G1 X50 F6000\nG1 X100\n", o).stats.time_s, 1.1, 1e-9);
  // A reversal stops the machine: two full 50 mm profiles.
  const double t50 = 50.0 / 100 + 100.0 / 1000;
  EXPECT_NEAR(analyze("G1 X50 F6000\nG1 X0\n", o).stats.time_s, 2 * t50, 1e-9);
  // A right angle is slower than straight on and faster than stopping.
  const double corner = analyze("G1 X50 F6000\nG1 X50 Y50\n", o).stats.time_s;
  EXPECT_GT(corner, 1.1);
  EXPECT_LT(corner, 2 * t50);
  // A short move never reaches its feed rate: 2 mm at a = 1000 peaks at sqrt(1000 * 2) mm/s.
  EXPECT_NEAR(analyze("G1 X2 F6000\n", o).stats.time_s, 2 * std::sqrt(2000.0) / 1000, 1e-9);
}

TEST(GcodeAnalysis, M204SetsTheAccelerationOfLaterMoves) {
  AnalyzeOptions o;
  o.acceleration_mm_s2 = 1000;
  // 100 mm at 100 mm/s: 1 s cruising plus v / a for the ramps.
  EXPECT_NEAR(analyze("M204 S500\nG1 X100 F6000\n", o).stats.time_s, 1.0 + 100.0 / 500, 1e-9);
  EXPECT_NEAR(analyze("M204 P2000 T3000\nG1 X100 F6000\n", o).stats.time_s, 1.0 + 100.0 / 2000, 1e-9);
  // Only moves after the command: the first at 1000, the second (back) at 500.
  EXPECT_NEAR(analyze("G1 X100 F6000\nM204 S500\nG1 X0\n", o).stats.time_s, 1.1 + 1.2, 1e-9);
}

TEST(GcodeAnalysis, TimeOfRetractionsAndDwells) {
  AnalyzeOptions o;
  o.acceleration_mm_s2 = 1000;
  // 5 mm of E at 50 mm/s: 0.05 s up, 0.05 s down, 2.5 mm cruising.
  EXPECT_NEAR(analyze("M104 S200\nM83\nG1 E-5 F3000\n", o).stats.time_s, 0.15, 1e-9);
  EXPECT_NEAR(analyze("G1 X100 F6000\nG4 P500\nG4 S2\n", o).stats.time_s, 1.1 + 2.5, 1e-9);
  // A dwell between two collinear moves stops the machine.
  EXPECT_NEAR(analyze("G1 X50 F6000\nG4 P0.0001\nG1 X100\n", o).stats.time_s, 2 * (0.5 + 0.1), 1e-6);
}

TEST(GcodeAnalysis, TimeIsSplitOverLayersAndFeatures) {
  const GcodeAnalysis a = analyze(kTwoLayers);
  double layers = 0;
  for (const LayerStats& l : a.layers) layers += l.time_s;
  EXPECT_GT(a.layers[0].time_s, 0);
  EXPECT_LT(layers, a.stats.time_s);  // start and park moves are in no layer
  EXPECT_GT(a.stats.features[int(Feature::wall_outer)].time_s, 0);
  // 30 mm at 30 mm/s and 10 mm at 30 mm/s: at least 1.33 s of wall.
  EXPECT_GT(a.stats.features[int(Feature::wall_outer)].time_s, 40.0 / 30);
}

// ---- features and declarations ----

TEST(GcodeAnalysis, FeaturesFromEachSlicersComments) {
  const std::string g = std::string(kHeated) +
                        "M83\nG1 Z0.2 F600\n"
                        ";TYPE:WALL-OUTER\nG1 X10 E0.33 F1200\n"
                        ";TYPE:External perimeter\nG1 X20 E0.33\n"
                        ";TYPE:Internal infill\nG1 X40 E0.66\n"
                        ";TYPE:FILL\nG1 X45 E0.17\n"
                        ";TYPE:Perimeter\nG1 X48 E0.1\n"
                        ";TYPE:SKIN\nG1 X50 E0.066\n"
                        ";TYPE:Custom\nG1 X51 E0.033\n";
  const GcodeAnalysis a = analyze(g);
  EXPECT_TRUE(a.ok()) << dump(a);
  const auto& f = a.stats.features;
  EXPECT_NEAR(f[int(Feature::wall_outer)].printing_mm, 20, 1e-5);
  EXPECT_NEAR(f[int(Feature::wall_outer)].filament_mm, 0.66, 1e-9);
  EXPECT_NEAR(f[int(Feature::sparse_infill)].printing_mm, 25, 1e-5);
  EXPECT_NEAR(f[int(Feature::wall_inner)].printing_mm, 3, 1e-5);
  EXPECT_NEAR(f[int(Feature::solid_infill)].printing_mm, 2, 1e-5);
  EXPECT_NEAR(f[int(Feature::other)].printing_mm, 1, 1e-5);
}

TEST(GcodeAnalysis, FlavourFromTheFile) {
  const std::string g = "G92 E0\nM83\nG1 X5 E2 F1200\nG90\nG1 X10 E5\n";
  EXPECT_EQ(analyze(";FLAVOR:Klipper\n" + g).flavor, Flavor::klipper);
  EXPECT_EQ(analyze(";FLAVOR:Marlin\n" + g).flavor, Flavor::marlin);
  EXPECT_EQ(analyze(g).flavor, Flavor::marlin);
  // PrusaSlicer writes its configuration at the end of the file.
  const GcodeAnalysis prusa = analyze(g + "; prusaslicer_config = begin\n; gcode_flavor = klipper\n");
  EXPECT_EQ(prusa.flavor, Flavor::klipper);
  EXPECT_NEAR(prusa.moves.back().e, 5.0, 1e-9);  // Klipper's rule applied from the first line
  EXPECT_EQ(analyze("; gcode_flavor = reprapfirmware\n" + g).flavor, Flavor::reprap);
  AnalyzeOptions o;
  o.flavor = Flavor::marlin;
  EXPECT_EQ(analyze(";FLAVOR:Klipper\n" + g, o).flavor, Flavor::marlin);  // set options win
}

TEST(GcodeAnalysis, BedAndDiametersFromTheFile) {
  const std::string moves = std::string(kHeated) + "M83\nG1 Z0.2 F600\nG1 X240 Y200 E10 F1200\n";
  // No bed anywhere: the check is skipped with a note.
  const GcodeAnalysis none = analyze(moves);
  EXPECT_TRUE(none.ok()) << dump(none);
  bool noted = false;
  for (const std::string& n : none.notes) noted = noted || n.find("not checked against a bed") != std::string::npos;
  EXPECT_TRUE(noted);
  // PrusaSlicer's bed_shape (250 x 210): X240 Y200 is inside.
  EXPECT_TRUE(analyze(moves + "; bed_shape = 0x0,250x0,250x210,0x210\n; max_print_height = 210\n").ok());
  // fabforge's header: a 220 x 220 bed, X240 is outside.
  const GcodeAnalysis ff = analyze("; fabforge_bed = 0,0,220,220,250\n" + moves);
  EXPECT_EQ(lines_of(ff, ProblemKind::outside_bed), (std::vector<std::size_t>{7})) << dump(ff);
  // Options win over the file.
  AnalyzeOptions o;
  o.bed = AnalyzeOptions::Bed{0, 0, 300, 300, 300};
  EXPECT_TRUE(analyze("; fabforge_bed = 0,0,220,220,250\n" + moves, o).ok());
  // Filament diameter from the file wins over the default.
  const GcodeAnalysis d = analyze("; filament_diameter = 2.85\n; nozzle_diameter = 0.6\n" + moves);
  EXPECT_DOUBLE_EQ(d.filament_diameter_mm, 2.85);
  EXPECT_DOUBLE_EQ(d.nozzle_diameter_mm, 0.6);
  EXPECT_NEAR(d.stats.filament_volume_mm3, 10 * filament_area_mm2(2.85), 1e-9);
}

// ---- planted faults ----

TEST(GcodeAnalysis, OutsideTheBed) {
  AnalyzeOptions o;
  o.bed = AnalyzeOptions::Bed{0, 0, 200, 200, 100};
  const std::string g = std::string(kHeated) +  // 1-3
                        "M83\nG1 Z0.2 F600\n"   // 4-5
                        "G1 X-0.3 Y10 F3000\n"  // 6 within tolerance
                        "G1 X50 Y10 E2\n"       // 7
                        "G1 X50 Y203 F3000\n"   // 8 travel off the back
                        "G1 X50 Y210\n"         // 9 still off: same problem
                        "G1 X50 Y10\n"          // 10
                        "G1 Z120\n";            // 11 too high
  const GcodeAnalysis a = analyze(g, o);
  EXPECT_EQ(lines_of(a, ProblemKind::outside_bed), (std::vector<std::size_t>{8, 11})) << dump(a);
  EXPECT_EQ(a.problem_count, 2u);
  EXPECT_NE(a.problems[0].message.find("Y203.000"), std::string::npos) << a.problems[0].message;
  EXPECT_NE(a.problems[0].message.find("line 9"), std::string::npos) << a.problems[0].message;
  // A bed with a negative origin (centre-origin printers).
  o.bed = AnalyzeOptions::Bed{-100, -100, 200, 200, 100};
  EXPECT_EQ(lines_of(analyze(g, o), ProblemKind::outside_bed), (std::vector<std::size_t>{8, 11}));
}

TEST(GcodeAnalysis, ERunningBackwards) {
  const std::string g = std::string(kHeated) +         // 1-3
                        "M82\nG92 E0\nG1 Z0.2 F600\n"  // 4-6
                        "G1 X10 E5 F1200\n"            // 7
                        "G1 X20 E30\n"                 // 8
                        "G1 E25\n"                     // 9 a 5 mm retraction: fine
                        "G1 X30 E30\n"                 // 10
                        "G1 X40 E3\n"                  // 11 back 27 mm: E running backwards
                        "G92 E0\n"                     // 12
                        "G1 X50 E1\n";                 // 13 fine after the reset
  const GcodeAnalysis a = analyze(g);
  EXPECT_EQ(lines_of(a, ProblemKind::e_backwards), (std::vector<std::size_t>{11})) << dump(a);
  // Relative E is not checked; the same drop in relative terms is a long retraction.
  EXPECT_TRUE(analyze(std::string(kHeated) + "M83\nG1 Z0.2 F600\nG1 X10 E0.3 F1200\nG1 E-27\n").ok());
  // The limit is an option.
  AnalyzeOptions o;
  o.max_retraction_mm = 4;
  EXPECT_EQ(lines_of(analyze(g, o), ProblemKind::e_backwards), (std::vector<std::size_t>{9, 11}));
}

TEST(GcodeAnalysis, NotFiniteNumbers) {
  const std::string g = std::string(kHeated) + "M83\nG1 X10 Y10 F1200\nG1 X nan Y5 E1\nG1 X5 Yinf\nG1 X-inf\nG1 X20\n";
  const GcodeAnalysis a = analyze(g);
  EXPECT_EQ(lines_of(a, ProblemKind::not_finite), (std::vector<std::size_t>{6, 7, 8})) << dump(a);
  EXPECT_NE(a.problems[0].message.find("NaN"), std::string::npos);
  ASSERT_EQ(a.moves.size(), 2u);  // the faulty lines are skipped
  EXPECT_FLOAT_EQ(a.moves[1].x0, 10);
  EXPECT_FLOAT_EQ(a.moves[1].x1, 20);
  for (const Move& m : a.moves) EXPECT_TRUE(std::isfinite(m.x1) && std::isfinite(m.y1) && std::isfinite(m.e));
}

TEST(GcodeAnalysis, ExtrusionBeforeHeating) {
  const std::string g = "G28\nM83\nG1 Z0.2 F600\nG1 X10 E0.3 F1200\nG1 X20 E0.3\nM109 S210\nG1 X30 E0.3\n";
  const GcodeAnalysis a = analyze(g);
  EXPECT_EQ(lines_of(a, ProblemKind::cold_extrusion), (std::vector<std::size_t>{4})) << dump(a);
  EXPECT_EQ(a.problem_count, 1u);
  EXPECT_TRUE(analyze("M104 S0\nM109 S215\n" + g).ok());
  EXPECT_TRUE(analyze("M568 P0 S215\n" + g).ok());
  // A Klipper start macro heats the nozzle itself: a note, not a problem.
  const GcodeAnalysis k = analyze("PRINT_START BED=60 EXTRUDER=210\n" + g);
  EXPECT_TRUE(k.ok()) << dump(k);
  bool noted = false;
  for (const std::string& n : k.notes) noted = noted || n.find("PRINT_START") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST(GcodeAnalysis, FlowLimits) {
  // 0.2 mm layers: a 0.45 mm line needs filament_for_line(0.45, 0.2, 10) per 10 mm.
  const double good = filament_for_line(0.45, 0.2, 10, 1.75);
  const std::string head = std::string(kHeated) + "M83\nG1 Z0.2 F600\n";  // 1-5
  char body[512];
  std::snprintf(body, sizeof body,
                "G1 X10 E%.5f F1800\n"   // 6 fine
                "G1 X20 E%.5f\n"         // 7 four times the flow: 1.8 mm wide
                "G1 X30 E%.5f\n"         // 8 same run
                "G1 X40 E%.5f\n"         // 9 fine
                "G1 X50 E%.5f\n"         // 10 a twentieth: under-extrusion
                "G1 X60 E%.5f F30000\n"  // 11 right width at 500 mm/s: 41 mm^3/s
                "G1 X60.01 E1\n",        // 12 too short to judge
                good, 4 * good, 4 * good, good, good / 20, good);
  const GcodeAnalysis a = analyze(head + body);
  EXPECT_EQ(lines_of(a, ProblemKind::flow), (std::vector<std::size_t>{7, 10, 11})) << dump(a);
  EXPECT_NE(a.problems[0].message.find("over-extrusion"), std::string::npos) << a.problems[0].message;
  EXPECT_NE(a.problems[0].message.find("so is the next extruding move (line 8)"), std::string::npos)
      << a.problems[0].message;
  EXPECT_NE(a.problems[1].message.find("under-extrusion"), std::string::npos) << a.problems[1].message;
  EXPECT_NE(a.problems[2].message.find("mm^3/s"), std::string::npos) << a.problems[2].message;
}

TEST(GcodeAnalysis, ProblemListIsCappedButCounted) {
  std::string g = std::string(kHeated);
  for (int i = 0; i < 150; ++i) g += "G1 Xnan\n";
  AnalyzeOptions o;
  o.max_problems = 20;
  const GcodeAnalysis a = analyze(g, o);
  EXPECT_EQ(a.problems.size(), 20u);
  EXPECT_EQ(a.problem_count, 150u);
  EXPECT_EQ(a.problems.front().line, 4u);
  EXPECT_FALSE(a.ok());
}

TEST(GcodeAnalysis, MissingFileIsAnInputError) {
  test::TempDir dir;
  const std::string path = (dir / "nope.gcode").string();
  try {
    analyze_gcode_file(path, {});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::input);
    EXPECT_NE(std::string(e.what()).find("nope.gcode"), std::string::npos);
  }
  test::write_bytes(dir / "ok.gcode", kTwoLayers);
  EXPECT_EQ(analyze_gcode_file((dir / "ok.gcode").string(), {}).stats.layers, 2);
}

// ---- coverage ----

// One layer of parallel lines along X over the square [0, side]^2 at the given spacing.
std::string raster(double side, double spacing, double width, double height) {
  std::string g = std::string(kHeated) + "M83\n;LAYER:0\n;TYPE:SKIN\n";
  char buf[160];
  std::snprintf(buf, sizeof buf, "G1 Z%.3f F600\n", height);
  g += buf;
  const double e = filament_for_line(width, height, side, 1.75);
  int k = 0;
  for (double y = width / 2; y < side; y += spacing, ++k) {
    const double x0 = k % 2 ? side : 0, x1 = k % 2 ? 0 : side;
    std::snprintf(buf, sizeof buf, "G1 X%.4f Y%.4f F6000\nG1 X%.4f Y%.4f E%.5f F1800\n", x0, y, x1, y, e);
    g += buf;
  }
  return g;
}

Regions square(double x0, double y0, double side) {
  Regions r;
  r.islands.push_back({{{x0, y0}, {x0 + side, y0}, {x0 + side, y0 + side}, {x0, y0 + side}}, {}});
  return r;
}

TEST(GcodeCoverage, LinesAtTheFlowSpacingCoverTheSquare) {
  const double w = 0.45, h = 0.2, side = 10;
  const GcodeAnalysis a = analyze(raster(side, line_spacing_mm(w, h), w, h));
  ASSERT_EQ(a.layers.size(), 1u);
  const double c = layer_coverage(a, 0, square(0, 0, side));
  EXPECT_GE(c, 0.97);
  EXPECT_LE(c, 1.0);
}

TEST(GcodeCoverage, LinesAtDoubleSpacingCoverAboutHalf) {
  const double w = 0.45, h = 0.2, side = 10;
  const GcodeAnalysis a = analyze(raster(side, 2 * line_spacing_mm(w, h), w, h));
  const double c = layer_coverage(a, 0, square(0, 0, side));
  // Each 0.45 mm line covers its share of a 0.814 mm pitch: 55 %.
  EXPECT_NEAR(c, w / (2 * line_spacing_mm(w, h)), 0.04);
}

TEST(GcodeCoverage, HolesAreNotPartOfTheRegion) {
  const double w = 0.45, h = 0.2;
  const GcodeAnalysis a = analyze(raster(10, line_spacing_mm(w, h), w, h));
  Regions r = square(0, 0, 10);
  r.islands[0].holes.push_back({{2, 2}, {2, 8}, {8, 8}, {8, 2}});
  EXPECT_GE(layer_coverage(a, 0, r), 0.97);
  // Half the region outside the printed square: half covered.
  EXPECT_NEAR(layer_coverage(a, 0, square(5, 0, 10)), 0.5, 0.03);
  EXPECT_THROW(layer_coverage(a, 1, r), Error);
}

}  // namespace
}  // namespace fabforge::gcode
