#pragma once
// The G-code line tokenizer: one line in, its words, comment, line number and checksum out.
// Allocation-free: the result lives in a caller-owned LexedLine that is reused for every line,
// and the string_views point into the caller's text.

#include <array>
#include <cstdint>
#include <string_view>

namespace fabforge::gcode::detail {

enum class WordKind : std::uint8_t {
  number,  ///< letter followed by a number (value may be NaN or Inf: the checker reports those)
  none,    ///< a bare letter ("G28 X Y", "M84 E")
  string,  ///< letter followed by a quoted string (RepRapFirmware, Prusa's M862.3 P "MK3S")
};

struct Word {
  char letter = 0;  ///< upper case
  WordKind kind = WordKind::none;
  double value = 0;
};

enum class LexError : std::uint8_t {
  none,
  bad_number,         ///< a value that does not parse ("X1.2.3", "X1,5")
  unexpected_char,    ///< a character that starts no word ("#", "=")
  bad_checksum,       ///< "*" not followed by a number
  checksum_mismatch,  ///< "*n" differs from the XOR of the bytes before it
  too_many_words,
  unterminated_string,
};

inline constexpr int kMaxWords = 32;

struct LexedLine {
  std::array<Word, kMaxWords> words;
  int word_count = 0;         ///< words[0] is the command (G, M, T) when the line has one
  std::string_view comment;   ///< text after the first ';' (untrimmed), empty if none
  std::string_view extended;  ///< Klipper-style extended command name ("PRINT_START"), else empty
  std::string_view text_arg;  ///< the message of M117/M118/M23-style commands
  bool has_line_number = false;
  std::int64_t line_number = 0;
  bool has_checksum = false;
  int checksum_given = 0, checksum_computed = 0;
  LexError error = LexError::none;
  int error_column = 0;  ///< 1-based column of the error
  char error_char = 0;

  /// The first word with this letter (after the command word), or nullptr.
  const Word* find(char letter) const noexcept {
    for (int i = 1; i < word_count; ++i)
      if (words[static_cast<std::size_t>(i)].letter == letter) return &words[static_cast<std::size_t>(i)];
    return nullptr;
  }
};

/// Tokenizes one line (without its newline; a trailing CR is ignored).
void lex_line(std::string_view line, LexedLine& out);

/// Human-readable description of a lexer error, a sentence fragment ("a malformed number").
std::string_view lex_error_text(LexError error);

/// Calls f(line, index) for each line of text (index 1-based), without the line break.
template <class F>
void for_each_line(std::string_view text, F&& f) {
  std::size_t pos = 0;
  std::size_t index = 0;
  while (pos < text.size()) {
    const std::size_t nl = text.find('\n', pos);
    const std::size_t end = nl == std::string_view::npos ? text.size() : nl;
    f(text.substr(pos, end - pos), ++index);
    pos = end + 1;
  }
}

}  // namespace fabforge::gcode::detail
