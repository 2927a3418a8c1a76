#include "fabforge/core/atomic_file.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "fabforge/core/error.hpp"

#include "support/test_support.hpp"

namespace fabforge {
namespace {

TEST(AtomicFile, CommitReplacesTheDestination) {
  test::TempDir dir;
  test::write_bytes(dir / "out.txt", "old");
  write_file_atomic(dir / "out.txt", "new contents");
  EXPECT_EQ(test::read_bytes(dir / "out.txt"), "new contents");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.txt"});
}

TEST(AtomicFile, AbandonedWriteLeavesTheOldFileAndNoTemporary) {
  test::TempDir dir;
  test::write_bytes(dir / "out.txt", "old");
  try {
    AtomicFile f(dir / "out.txt");
    std::ofstream(f.temp_path()) << "half";
    EXPECT_EQ(f.temp_path().parent_path(), dir.path());
    throw std::runtime_error("job failed");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(test::read_bytes(dir / "out.txt"), "old");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.txt"});
}

TEST(AtomicFile, MissingDirectoryIsAClearError) {
  test::TempDir dir;
  try {
    write_file_atomic(dir / "nope" / "out.txt", "x");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::runtime);
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos);
  }
}

TEST(AtomicFile, DestinationThatIsADirectoryIsRejected) {
  test::TempDir dir;
  std::filesystem::create_directory(dir / "sub");
  EXPECT_THROW(write_file_atomic(dir / "sub", "x"), Error);
}

TEST(AtomicFile, CommitWithoutWritingFails) {
  test::TempDir dir;
  AtomicFile f(dir / "out.txt");
  EXPECT_THROW(f.commit(), Error);
  EXPECT_FALSE(std::filesystem::exists(dir / "out.txt"));
}

TEST(ReadFile, MissingFileNamesIt) {
  try {
    read_file("/no/such/file.png");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::input);
    EXPECT_NE(std::string(e.what()).find("/no/such/file.png: cannot open"), std::string::npos);
  }
}

}  // namespace
}  // namespace fabforge
