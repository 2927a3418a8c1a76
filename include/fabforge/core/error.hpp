#pragma once
/// Errors in fabforge.
///
/// Library code never prints and never exits. What a user can act on (a file that does not
/// parse, a parameter out of range) is thrown as fabforge::Error with a message that names the
/// file, the place in it and what was expected. Broken internal invariants throw
/// fabforge::InternalError through FABFORGE_CHECK, so tests and fuzzers see them as exceptions.

#include <stdexcept>
#include <string>

namespace fabforge {

/// What kind of mistake an Error reports; the CLI maps it to an exit status.
enum class ErrorKind {
  usage,    ///< the command line or a parameter is wrong (exit 2)
  input,    ///< an input file is missing, unreadable or malformed (exit 1)
  runtime,  ///< the job could not be completed: write failure, cancellation (exit 1)
};

/// The one user-facing error type. The message is complete on its own ("file.stl: truncated
/// binary STL: header says 12 triangles (684 bytes) but the file has 400 bytes").
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, ErrorKind kind = ErrorKind::input)
      : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

/// Shorthands that read well at the throw site.
inline Error usage_error(const std::string& message) { return Error(message, ErrorKind::usage); }
inline Error input_error(const std::string& message) { return Error(message, ErrorKind::input); }
inline Error runtime_error(const std::string& message) { return Error(message, ErrorKind::runtime); }

/// A broken invariant inside fabforge: a bug, never the user's fault.
class InternalError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

[[noreturn]] void throw_internal_error(const char* condition, const char* file, int line, const std::string& detail);

}  // namespace fabforge

/// Checks an internal invariant; throws fabforge::InternalError when it does not hold.
#define FABFORGE_CHECK(cond, detail)                                                    \
  do {                                                                                  \
    if (!(cond)) ::fabforge::throw_internal_error(#cond, __FILE__, __LINE__, (detail)); \
  } while (false)
