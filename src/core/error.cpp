#include "fabforge/core/error.hpp"

#include <sstream>
#include <string>

namespace fabforge {

void throw_internal_error(const char* condition, const char* file, int line, const std::string& detail) {
  std::ostringstream message;
  message << "internal error: " << detail << " (check '" << condition << "' failed at " << file << ':' << line
          << "); please report this as a fabforge bug";
  throw InternalError(message.str());
}

}  // namespace fabforge
