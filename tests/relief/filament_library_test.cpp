#include "fabforge/relief/filament_library.hpp"

#include <gtest/gtest.h>

#include "fabforge/core/error.hpp"

#include "support/test_support.hpp"

namespace fabforge::relief {
namespace {

std::string csv_error(std::string_view text) {
  try {
    parse_filament_csv(text, "lib.csv");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::input);
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

std::string json_error(std::string_view text) {
  try {
    parse_filament_json(text, "lib.json");
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

TEST(FilamentCsv, ReadsHueForgeExport) {
  const FilamentLibrary lib = parse_filament_csv(
      "Brand, Type, Color, Name, TD, Owned, Uuid\n"
      "Jayo,PLA,#000000,Black,1.7,false,{54f35108}\n"
      "Geeetech, PLA, #1074BB, Blue, 2.7, TRUE, {f4734b09}\r\n");
  ASSERT_EQ(lib.filaments.size(), 2u);
  const Filament& blue = lib.filaments[1];
  EXPECT_EQ(blue.brand, "Geeetech");
  EXPECT_EQ(blue.type, "PLA");
  EXPECT_EQ(blue.name, "Blue");
  EXPECT_EQ(blue.color, (color::Rgb8{0x10, 0x74, 0xbb}));
  EXPECT_DOUBLE_EQ(blue.td_mm, 2.7);
  EXPECT_TRUE(blue.owned);
  EXPECT_EQ(blue.uuid, "{f4734b09}");
  EXPECT_EQ(blue.display_name(), "Geeetech Blue");
  EXPECT_FALSE(lib.filaments[0].owned);
}

TEST(FilamentCsv, ColumnsInAnyOrderQuotedFieldsAndNoUuid) {
  const FilamentLibrary lib = parse_filament_csv(
      "\xEF\xBB\xBFname,td,color,brand,owned,type\n"
      "\"Red, \"\"fire\"\"\",3.2,#ff381e,Geeetech,1,PLA\n\n");
  ASSERT_EQ(lib.filaments.size(), 1u);
  EXPECT_EQ(lib.filaments[0].name, "Red, \"fire\"");
  EXPECT_TRUE(lib.filaments[0].owned);
  EXPECT_EQ(lib.filaments[0].uuid, "");
}

TEST(FilamentCsv, ErrorsNameTheLineAndTheProblem) {
  const std::string header = "Brand, Type, Color, Name, TD, Owned, Uuid\n";
  EXPECT_NE(csv_error(header + "A,PLA,#000000,Black,0,false,x\n")
                .find("lib.csv:2: TD must be a number of millimetres greater than 0, got '0'"),
            std::string::npos);
  EXPECT_NE(csv_error(header + "A,PLA,#000000,Black,-1,false,x\n").find("TD must be"), std::string::npos);
  EXPECT_NE(csv_error(header + "A,PLA,#000000,Black,nan,false,x\n").find("TD must be"), std::string::npos);
  EXPECT_NE(csv_error(header + "A,PLA,#00000,Black,1,false,x\n").find("lib.csv:2: Color must be #rrggbb"),
            std::string::npos);
  EXPECT_NE(csv_error(header + "A,PLA,#000000,Black,1,maybe,x\n").find("Owned must be true or false"),
            std::string::npos);
  EXPECT_NE(csv_error(header + "A,PLA,#000000\n").find("lib.csv:2: expected at least"), std::string::npos);
  EXPECT_NE(csv_error(header + "A,\"PLA,#000000,Black,1,false,x\n").find("unterminated quoted field"),
            std::string::npos);
  EXPECT_NE(csv_error("Brand, Name, TD\nA,B,1\n").find("no 'color' column"), std::string::npos);
  EXPECT_NE(csv_error(header).find("no filaments"), std::string::npos);
  EXPECT_NE(csv_error("").find("no filaments"), std::string::npos);
}

TEST(FilamentJson, ReadsHueForgeLibrary) {
  const FilamentLibrary lib = parse_filament_json(R"({"Filaments": [
      {"Brand": "Jayo", "Type": "PLA", "Color": "#636767", "Name": "Grey", "TD": 2.9, "Owned": true, "Uuid": "u1"},
      {"Brand": "Sunlu", "Type": "PLA", "Color": "#ffffff", "Name": "White", "TD": "5.5", "Owned": "false"}]})");
  ASSERT_EQ(lib.filaments.size(), 2u);
  EXPECT_EQ(lib.filaments[0].color, (color::Rgb8{0x63, 0x67, 0x67}));
  EXPECT_DOUBLE_EQ(lib.filaments[0].td_mm, 2.9);
  EXPECT_TRUE(lib.filaments[0].owned);
  EXPECT_DOUBLE_EQ(lib.filaments[1].td_mm, 5.5);
  EXPECT_FALSE(lib.filaments[1].owned);
}

TEST(FilamentJson, Errors) {
  EXPECT_NE(json_error("{").find("lib.json: not valid JSON"), std::string::npos);
  EXPECT_NE(json_error("[]").find("\"Filaments\" list"), std::string::npos);
  EXPECT_NE(json_error(R"({"Filaments": []})").find("no filaments"), std::string::npos);
  EXPECT_NE(json_error(R"({"Filaments": [{"Color": "#ffffff", "TD": 0}]})").find("lib.json: filament 1: TD must be"),
            std::string::npos);
  EXPECT_NE(json_error(R"({"Filaments": [{"Color": 12, "TD": 1}]})").find("Color must be"), std::string::npos);
  EXPECT_NE(json_error(R"({"Filaments": [7]})").find("filament 1: expected an object"), std::string::npos);
}

TEST(FilamentLibrary, LoadByExtensionAndOwnedOnly) {
  test::TempDir dir;
  test::write_bytes(
      dir / "lib.CSV",
      "Brand, Type, Color, Name, TD, Owned, Uuid\nA,PLA,#111111,One,1,true,\nB,PLA,#222222,Two,2,false,\n");
  const FilamentLibrary lib = load_filament_library(dir / "lib.CSV");
  ASSERT_EQ(lib.filaments.size(), 2u);
  const FilamentLibrary mine = owned_only(lib);
  ASSERT_EQ(mine.filaments.size(), 1u);
  EXPECT_EQ(mine.filaments[0].name, "One");
  EXPECT_THROW(owned_only(default_filament_library()), Error);
  EXPECT_THROW(load_filament_library(dir / "lib.txt"), Error);
  EXPECT_THROW(load_filament_library(dir / "missing.json"), Error);
}

TEST(FilamentLibrary, DefaultLibraryHoldsTheReferenceFilaments) {
  const FilamentLibrary& lib = default_filament_library();
  ASSERT_EQ(lib.filaments.size(), 14u);
  for (const Filament& f : lib.filaments) EXPECT_GT(f.td_mm, 0) << f.display_name();
  EXPECT_EQ(lib.filaments.front().display_name(), "Jayo Black");
  EXPECT_DOUBLE_EQ(lib.filaments.front().td_mm, 1.7);
}

}  // namespace
}  // namespace fabforge::relief
