// The G-code tokenizer. One pass over the line's bytes; numbers go through std::from_chars in
// fixed format, because firmware parsers stop a number at 'E' (so "X10E5" is X10 and E5, never
// an exponent) and never read hex or exponents.

#include "lexer.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <system_error>
#include <vector>

#include "analysis_internal.hpp"

namespace fabforge::gcode::detail {

namespace {

constexpr bool is_alpha(char c) noexcept { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }
constexpr char upper(char c) noexcept { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

// M codes whose argument is free text (file names, messages), which must not be read as words.
constexpr bool takes_text(int m) noexcept {
  switch (m) {
    case 16:
    case 23:
    case 28:
    case 30:
    case 32:
    case 33:
    case 117:
    case 118:
    case 928:
      return true;
    default:
      return false;
  }
}

bool starts_nan_or_inf(const char* p, const char* end) noexcept {
  if (end - p < 3) return false;
  const char a = upper(p[0]), b = upper(p[1]), c = upper(p[2]);
  return (a == 'N' && b == 'A' && c == 'N') || (a == 'I' && b == 'N' && c == 'F');
}

// What may follow a number: the end, a separator, the next word, a comment or a checksum.
constexpr bool ends_number(char c) noexcept { return is_space(c) || is_alpha(c) || c == ';' || c == '(' || c == '*'; }

class Lexer {
 public:
  Lexer(std::string_view line, LexedLine& out) : begin_(line.data()), end_(line.data() + line.size()), out_(out) {}

  void run() {
    const char* p = begin_;
    while (p < end_ && out_.error == LexError::none) {
      const char c = *p;
      if (is_space(c)) {
        ++p;
      } else if (c == ';') {
        out_.comment = std::string_view(p + 1, static_cast<std::size_t>(end_ - p - 1));
        return;
      } else if (c == '(') {
        while (p < end_ && *p != ')') ++p;  // unterminated: a comment to the end of the line
        if (p < end_) ++p;
      } else if (c == '*') {
        p = checksum(p);
      } else if (c == '%' && out_.word_count == 0) {
        ++p;  // program start/end marker of some senders
      } else if (is_alpha(c)) {
        p = word(p);
      } else {
        fail(LexError::unexpected_char, p);
      }
    }
  }

 private:
  void fail(LexError error, const char* at) {
    out_.error = error;
    out_.error_column = static_cast<int>(at - begin_) + 1;
    out_.error_char = at < end_ ? *at : '\0';
  }

  const char* checksum(const char* star) {
    unsigned x = 0;
    for (const char* q = begin_; q < star; ++q) x ^= static_cast<unsigned char>(*q);
    const char* p = star + 1;
    int given = 0;
    const char* digits = p;
    while (p < end_ && is_digit(*p) && p - digits < 4) given = given * 10 + (*p++ - '0');
    if (p == digits || (p < end_ && !is_space(*p) && *p != ';')) {
      fail(LexError::bad_checksum, star);
      return end_;
    }
    out_.has_checksum = true;
    out_.checksum_given = given;
    out_.checksum_computed = static_cast<int>(x);
    if (given != static_cast<int>(x)) fail(LexError::checksum_mismatch, star);
    return p;
  }

  // Klipper's rule: a command whose letter is followed by another letter or '_' is an extended
  // command (PRINT_START, SET_FAN_SPEED FAN=x SPEED=0.5); its parameters are not G-code words.
  const char* extended(const char* p) {
    const char* q = p;
    while (q < end_ && !is_space(*q) && *q != ';') ++q;
    out_.extended = std::string_view(p, static_cast<std::size_t>(q - p));
    while (q < end_ && *q != ';') ++q;
    return q;
  }

  const char* word(const char* p) {
    const bool first = out_.word_count == 0;
    if (first && p + 1 < end_ && (is_alpha(p[1]) || p[1] == '_')) return extended(p);
    Word w;
    w.letter = upper(*p);
    const char* start = p;
    ++p;
    while (p < end_ && is_space(*p)) ++p;
    if (p < end_ && (is_digit(*p) || *p == '-' || *p == '+' || *p == '.' || starts_nan_or_inf(p, end_))) {
      p = number(p, w);
      if (out_.error != LexError::none) return end_;
    } else if (p < end_ && *p == '"') {
      p = quoted(p);
      if (out_.error != LexError::none) return end_;
      w.kind = WordKind::string;
    } else {
      w.kind = WordKind::none;
    }
    if (w.letter == 'N' && first && w.kind == WordKind::number && !out_.has_line_number && std::abs(w.value) < 1e15) {
      out_.has_line_number = true;
      out_.line_number = static_cast<std::int64_t>(w.value);
      return p;
    }
    if (out_.word_count == kMaxWords) {
      fail(LexError::too_many_words, start);
      return end_;
    }
    out_.words[static_cast<std::size_t>(out_.word_count++)] = w;
    if (first && w.letter == 'M' && w.kind == WordKind::number && std::abs(w.value) < 1e6 &&
        takes_text(static_cast<int>(w.value))) {
      while (p < end_ && is_space(*p)) ++p;
      const char* q = p;
      while (q < end_ && *q != ';') ++q;
      const char* t = q;
      while (t > p && is_space(t[-1])) --t;
      out_.text_arg = std::string_view(p, static_cast<std::size_t>(t - p));
      return q;
    }
    return p;
  }

  const char* number(const char* p, Word& w) {
    const char* s = p;
    if (*s == '+') ++s;
    if (const char* q = fast_number(s, w.value)) {
      w.kind = WordKind::number;
      return q;
    }
    double v = 0;
    const auto [ptr, ec] = std::from_chars(s, end_, v, std::chars_format::fixed);
    if (ec != std::errc() && ec != std::errc::result_out_of_range) {
      fail(LexError::bad_number, p);
      return end_;
    }
    if (ptr < end_ && !ends_number(*ptr)) {
      fail(LexError::bad_number, p);
      return end_;
    }
    w.kind = WordKind::number;
    w.value = v;
    return ptr;
  }

  // The common case, "-123.4567" with at most 15 digits: the digits as an integer (exact below
  // 2^53) divided by an exact power of ten is the correctly rounded value, the same double
  // from_chars gives, at a fraction of the cost. nullptr: leave it to from_chars.
  const char* fast_number(const char* s, double& value) const {
    static constexpr double kPow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                        1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    const char* p = s;
    const bool negative = p < end_ && *p == '-';
    if (negative) ++p;
    std::uint64_t mantissa = 0;
    int digits = 0, fraction = 0;
    bool dot = false;
    for (; p < end_; ++p) {
      if (is_digit(*p)) {
        mantissa = mantissa * 10 + static_cast<std::uint64_t>(*p - '0');
        ++digits;
        fraction += dot ? 1 : 0;
      } else if (*p == '.' && !dot) {
        dot = true;
      } else {
        break;
      }
    }
    if (digits == 0 || digits > 15 || (p < end_ && !ends_number(*p))) return nullptr;
    const double v = static_cast<double>(mantissa) / kPow10[fraction];
    value = negative ? -v : v;
    return p;
  }

  // RepRapFirmware strings: "..." with "" standing for one quote.
  const char* quoted(const char* p) {
    ++p;
    while (p < end_) {
      if (*p == '"') {
        if (p + 1 < end_ && p[1] == '"') {
          p += 2;
          continue;
        }
        return p + 1;
      }
      ++p;
    }
    fail(LexError::unterminated_string, p - 1);
    return end_;
  }

  const char* begin_;
  const char* end_;
  LexedLine& out_;
};

}  // namespace

void lex_line(std::string_view line, LexedLine& out) {
  out.word_count = 0;
  out.comment = {};
  out.extended = {};
  out.text_arg = {};
  out.has_line_number = false;
  out.has_checksum = false;
  out.error = LexError::none;
  out.error_column = 0;
  out.error_char = 0;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  Lexer(line, out).run();
}

std::string_view lex_error_text(LexError error) {
  switch (error) {
    case LexError::none:
      return "no error";
    case LexError::bad_number:
      return "a malformed number";
    case LexError::unexpected_char:
      return "a character that starts no G-code word";
    case LexError::bad_checksum:
      return "a '*' checksum that is not a number";
    case LexError::checksum_mismatch:
      return "a checksum that does not match the line";
    case LexError::too_many_words:
      return "more words than a G-code line may hold";
    case LexError::unterminated_string:
      return "a quoted string without its closing quote";
  }
  return "an error";
}

// ---- What the file declares about itself ----

namespace {

bool istarts(std::string_view s, std::string_view prefix) noexcept {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (upper(s[i]) != upper(prefix[i])) return false;
  return true;
}

bool iequals(std::string_view a, std::string_view b) noexcept { return a.size() == b.size() && istarts(a, b); }

std::string_view strip(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Numbers separated by ',' or 'x' ("0x0,250x0" or "0,0,220,220,250"); empty on any junk.
std::vector<double> number_list(std::string_view s) {
  std::vector<double> out;
  const char* p = s.data();
  const char* end = s.data() + s.size();
  while (p < end) {
    while (p < end && is_space(*p)) ++p;
    double v = 0;
    const auto [ptr, ec] = std::from_chars(p, end, v, std::chars_format::fixed);
    if (ec != std::errc() || !std::isfinite(v)) return {};
    out.push_back(v);
    p = ptr;
    while (p < end && is_space(*p)) ++p;
    if (p < end) {
      if (*p != ',' && *p != 'x' && *p != 'X') return {};
      ++p;
    }
  }
  return out;
}

std::optional<double> positive_first(std::string_view value) {
  const std::vector<double> v = number_list(value);
  if (v.empty() || !(v.front() > 0)) return std::nullopt;
  return v.front();
}

// PrusaSlicer's gcode_flavor names: "reprap" is RepRap/Sprinter (Marlin's rules),
// "reprapfirmware" is Duet's.
Flavor prusa_flavor(std::string_view v) {
  if (iequals(v, "klipper")) return Flavor::klipper;
  if (iequals(v, "reprapfirmware")) return Flavor::reprap;
  return Flavor::marlin;
}

// Cura's and fabforge's ";FLAVOR:" names: Cura's "RepRap" flavour targets RepRapFirmware.
Flavor comment_flavor(std::string_view v) {
  if (iequals(v, "klipper")) return Flavor::klipper;
  if (iequals(v, "reprap") || iequals(v, "reprapfirmware") || iequals(v, "rrf")) return Flavor::reprap;
  return Flavor::marlin;
}

void bed_from_shape(std::string_view value, FileDeclarations& d) {
  const std::vector<double> v = number_list(value);
  if (v.size() < 6 || v.size() % 2 != 0) return;
  double x0 = v[0], x1 = v[0], y0 = v[1], y1 = v[1];
  for (std::size_t i = 0; i < v.size(); i += 2) {
    x0 = std::min(x0, v[i]);
    x1 = std::max(x1, v[i]);
    y0 = std::min(y0, v[i + 1]);
    y1 = std::max(y1, v[i + 1]);
  }
  if (!(x1 > x0) || !(y1 > y0)) return;
  AnalyzeOptions::Bed bed{x0, y0, x1 - x0, y1 - y0, std::numeric_limits<double>::infinity()};
  d.bed = bed;
  d.bed_text = std::string("bed_shape = ") + std::string(value);
}

void declaration(std::string_view c, FileDeclarations& d) {
  if (is_print_marker(c)) {
    d.has_print_markers = true;
    return;
  }
  if (istarts(c, "FLAVOR:")) {
    const std::string_view v = strip(c.substr(7));
    if (!d.flavor) {
      d.flavor = comment_flavor(v);
      d.flavor_text = std::string(";FLAVOR:") + std::string(v);
    }
    return;
  }
  if (istarts(c, "EXTRUDER_TRAIN.0.MATERIAL.DIAMETER:")) {
    if (!d.filament_diameter_mm) d.filament_diameter_mm = positive_first(c.substr(35));
    return;
  }
  if (istarts(c, "EXTRUDER_TRAIN.0.NOZZLE.DIAMETER:")) {
    if (!d.nozzle_diameter_mm) d.nozzle_diameter_mm = positive_first(c.substr(33));
    return;
  }
  const std::size_t eq = c.find('=');
  if (eq == std::string_view::npos) return;
  const std::string_view key = strip(c.substr(0, eq));
  const std::string_view value = strip(c.substr(eq + 1));
  if (iequals(key, "gcode_flavor")) {
    if (!d.flavor) {
      d.flavor = prusa_flavor(value);
      d.flavor_text = std::string("gcode_flavor = ") + std::string(value);
    }
  } else if (iequals(key, "filament_diameter")) {
    if (!d.filament_diameter_mm) d.filament_diameter_mm = positive_first(value);
  } else if (iequals(key, "nozzle_diameter")) {
    if (!d.nozzle_diameter_mm) d.nozzle_diameter_mm = positive_first(value);
  } else if (iequals(key, "max_print_height")) {
    if (!d.max_print_height_mm) d.max_print_height_mm = positive_first(value);
  } else if (iequals(key, "bed_shape")) {
    if (!d.bed) bed_from_shape(value, d);
  } else if (iequals(key, "fabforge_bed")) {
    const std::vector<double> v = number_list(value);
    if (v.size() == 5 && v[2] > 0 && v[3] > 0 && v[4] > 0) {
      d.bed = AnalyzeOptions::Bed{v[0], v[1], v[2], v[3], v[4]};  // fabforge's own wins over bed_shape
      d.bed_text = std::string("fabforge_bed = ") + std::string(value);
    }
  }
}

}  // namespace

bool is_print_marker(std::string_view comment) {
  while (!comment.empty() && is_space(comment.front())) comment.remove_prefix(1);
  return istarts(comment, "TYPE:") || istarts(comment, "LAYER:") || istarts(comment, "LAYER_CHANGE");
}

FileDeclarations scan_declarations(std::string_view text) {
  FileDeclarations d;
  for_each_line(text, [&](std::string_view line, std::size_t) {
    std::size_t i = 0;
    while (i < line.size() && is_space(line[i])) ++i;
    if (i < line.size() && line[i] == ';') declaration(strip(line.substr(i + 1)), d);
  });
  if (d.bed && std::isinf(d.bed->max_height_mm) && d.max_print_height_mm) d.bed->max_height_mm = *d.max_print_height_mm;
  return d;
}

std::string strprintf(const char* format, ...) {
  va_list args;
  va_start(args, format);
  va_list copy;
  va_copy(copy, args);
  const int n = std::vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  std::string out;
  if (n > 0) {
    out.resize(static_cast<std::size_t>(n) + 1);
    std::vsnprintf(out.data(), out.size(), format, args);
    out.resize(static_cast<std::size_t>(n));
  }
  va_end(args);
  return out;
}

}  // namespace fabforge::gcode::detail
