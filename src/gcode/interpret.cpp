// The machine: G-code lines in, moves out, with each firmware's rules for absolute and relative
// positioning and extrusion. Also the measurements that fall out of one pass over the moves
// and analyze_gcode, which runs the whole reader.

#include <algorithm>
#include <cmath>
#include <numbers>

#include "fabforge/core/atomic_file.hpp"
#include "fabforge/core/error.hpp"
#include "fabforge/gcode/analysis.hpp"
#include "fabforge/gcode/flow.hpp"

#include "analysis_internal.hpp"
#include "lexer.hpp"

namespace fabforge::gcode {

namespace {

using detail::LexedLine;
using detail::Word;
using detail::WordKind;
using detail::xy_length;

constexpr double kLayerEpsilonMm = 1e-4;
// Chord error of arc segments; half of the 0.1 mm the header promises, so that measured arc
// lengths are within about s / (3 r) of the true length (0.17 % at r = 10 mm).
constexpr double kArcToleranceMm = 0.05;
constexpr double kDefaultFeedMmS = 25;  // Marlin's and Klipper's power-on feed rate

bool contains_ci(std::string_view s, std::string_view what) {
  for (std::size_t i = 0; i + what.size() <= s.size(); ++i) {
    bool match = true;
    for (std::size_t k = 0; k < what.size() && match; ++k) {
      char c = s[i + k];
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      match = c == what[k];
    }
    if (match) return true;
  }
  return false;
}

class Interpreter {
 public:
  Interpreter(Flavor flavor, bool print_started, detail::StreamChecks& checks, GcodeAnalysis& out)
      : flavor_(flavor), print_started_(print_started), checks_(checks), out_(out) {}

  void line(std::string_view text, std::size_t number);
  void finish();
  const std::vector<detail::Dwell>& dwells() const noexcept { return dwells_; }

 private:
  bool e_absolute() const noexcept {
    // Klipper keeps two flags and E is relative when either says so; the others have one E flag
    // (which Marlin's G90/G91 also set).
    return flavor_ == Flavor::klipper ? abs_coord_ && abs_extrude_ : abs_extrude_;
  }
  void set_e_absolute_flags(bool coord, bool extrude);
  bool words_finite(const LexedLine& l, std::size_t number);
  bool values_present(const LexedLine& l, std::size_t number, std::string_view command, std::string_view letters);
  static bool ignorable(const LexedLine& l);
  void comment(std::string_view c);
  void command(const LexedLine& l, std::size_t number);
  void g_code(int code, const LexedLine& l, std::size_t number);
  void m_code(int code, const LexedLine& l);
  void linear(const LexedLine& l, std::size_t number);
  void arc(const LexedLine& l, std::size_t number, bool ccw);
  void targets(const LexedLine& l, double target[3]) const;
  double e_delta(const LexedLine& l) const;
  void feed(const LexedLine& l);
  void emit(const double to[3], double de, std::size_t number);
  void finish_e(double de, std::size_t number);
  void home(const LexedLine& l);
  void set_position(const LexedLine& l);
  void g10(const LexedLine& l);
  void retraction();
  void tool(const LexedLine& l);

  Flavor flavor_;
  bool print_started_;
  detail::StreamChecks& checks_;
  GcodeAnalysis& out_;
  std::vector<detail::Dwell> dwells_;
  LexedLine lexed_;

  double pos_[3] = {0, 0, 0};    // machine position
  double shift_[3] = {0, 0, 0};  // G92: machine = program + shift
  double e_ = 0;                 // the program's E coordinate
  bool abs_coord_ = true, abs_extrude_ = true;
  double unit_ = 1;          // G20 inches
  double acceleration_ = 0;  // from M204; 0 until the file sets one
  double feed_mm_s_ = kDefaultFeedMmS;
  Feature feature_ = Feature::other;
  int tool_ = 0;
  bool retracted_ = false;
  bool hop_pending_ = false;
  double layer_z_ = 0;
  int last_motion_ = -1;  // RepRapFirmware repeats G0/G1 on lines of bare coordinates
  bool have_line_number_ = false;
  std::int64_t last_line_number_ = 0;
};

void Interpreter::line(std::string_view text, std::size_t number) {
  detail::lex_line(text, lexed_);
  const LexedLine& l = lexed_;
  if (!l.comment.empty()) comment(l.comment);
  if (l.has_line_number) {
    const bool m110 = l.word_count > 0 && l.words[0].letter == 'M' && l.words[0].value == 110;
    if (have_line_number_ && !m110 && l.line_number != last_line_number_ + 1) {
      checks_.syntax(
          number, detail::strprintf("the line number N%lld does not follow N%lld",
                                    static_cast<long long>(l.line_number), static_cast<long long>(last_line_number_)));
    }
    have_line_number_ = true;
    last_line_number_ = l.line_number;
  }
  if (l.error != detail::LexError::none && !ignorable(l)) {
    std::string what = std::string("the line has ") + std::string(detail::lex_error_text(l.error)) +
                       detail::strprintf(" at column %d", l.error_column);
    if (l.error == detail::LexError::checksum_mismatch) {
      what += detail::strprintf(" (the line says *%d but its bytes give %d)", l.checksum_given, l.checksum_computed);
    } else if (l.error_char > ' ' && l.error_char < 127) {
      what += detail::strprintf(" ('%c')", l.error_char);
    }
    checks_.syntax(number, what + "; the line was skipped");
    return;
  }
  if (!l.extended.empty()) {
    if (contains_ci(l.extended, "START")) checks_.start_macro(l.extended, number);
    return;
  }
  if (l.word_count > 0) command(l, number);
}

// Vendor M codes carry their own argument syntax ("M1002 judge_flag x", "M486 AName"); firmware
// that does not know them ignores them, and so does this reader, as long as the line's bytes are
// intact (a checksum error always counts).
bool Interpreter::ignorable(const LexedLine& l) {
  if (l.error == detail::LexError::checksum_mismatch || l.error == detail::LexError::bad_checksum) return false;
  if (l.word_count == 0 || l.words[0].letter != 'M' || l.words[0].kind != WordKind::number) return false;
  if (!(std::abs(l.words[0].value) < 1e6)) return true;
  switch (static_cast<int>(l.words[0].value)) {
    case 82:
    case 83:
    case 104:
    case 109:
    case 110:
    case 568:
    case 600:
      return false;
    default:
      return true;
  }
}

void Interpreter::comment(std::string_view c) {
  while (!c.empty() && (c.front() == ' ' || c.front() == '\t')) c.remove_prefix(1);
  if (!detail::is_print_marker(c)) return;
  print_started_ = true;
  if (c.size() >= 5 && (c[0] == 'T' || c[0] == 't')) feature_ = feature_from_comment(c.substr(5));
}

bool Interpreter::words_finite(const LexedLine& l, std::size_t number) {
  for (int i = 0; i < l.word_count; ++i) {
    const Word& w = l.words[static_cast<std::size_t>(i)];
    if (w.kind == WordKind::number && !std::isfinite(w.value)) {
      const Word& c = l.words[0];
      const std::string command = std::isfinite(c.value) ? detail::strprintf("%c%g", c.letter, c.value) : "the line";
      checks_.not_finite(number, command, w.letter, w.value);
      return false;
    }
  }
  return true;
}

// Motion parameters need numbers: a bare "X" in a G1 is a damaged line.
bool Interpreter::values_present(const LexedLine& l, std::size_t number, std::string_view command,
                                 std::string_view letters) {
  for (int i = 1; i < l.word_count; ++i) {
    const Word& w = l.words[static_cast<std::size_t>(i)];
    if (w.kind != WordKind::number && letters.find(w.letter) != std::string_view::npos) {
      checks_.syntax(number, detail::strprintf("the %.*s has a parameter %c without a number; the line was skipped",
                                               static_cast<int>(command.size()), command.data(), w.letter));
      return false;
    }
  }
  return true;
}

void Interpreter::command(const LexedLine& l, std::size_t number) {
  const Word& c = l.words[0];
  if (c.letter == 'G' || c.letter == 'M' || c.letter == 'T') {
    if (c.kind != WordKind::number) {
      checks_.syntax(number, detail::strprintf("the command %c has no number; the line was skipped", c.letter));
      return;
    }
    if (!words_finite(l, number)) return;
    if (!(std::abs(c.value) < 1e6)) return;  // no such command; also keeps the int conversion defined
    const int code = static_cast<int>(c.value);
    if (c.letter == 'G') {
      g_code(code, l, number);
    } else if (c.letter == 'M') {
      m_code(code, l);
    } else {
      tool(l);
    }
    return;
  }
  if (flavor_ == Flavor::reprap && last_motion_ >= 0 &&
      std::string_view("XYZEF").find(c.letter) != std::string_view::npos) {
    // RepRapFirmware: a line of bare coordinates repeats the last G0/G1. Shift the words so the
    // command handlers see their usual layout (words[0] is the command).
    LexedLine shifted = l;
    if (shifted.word_count == detail::kMaxWords) return;
    for (int i = shifted.word_count; i > 0; --i)
      shifted.words[static_cast<std::size_t>(i)] = shifted.words[static_cast<std::size_t>(i - 1)];
    shifted.words[0] = Word{'G', WordKind::number, static_cast<double>(last_motion_)};
    ++shifted.word_count;
    if (words_finite(shifted, number)) g_code(last_motion_, shifted, number);
    return;
  }
  checks_.syntax(number,
                 detail::strprintf("the line starts with the parameter %c instead of a G, M or T command; it was "
                                   "skipped",
                                   c.letter));
}

void Interpreter::g_code(int code, const LexedLine& l, std::size_t number) {
  switch (code) {
    case 0:
    case 1:
      if (!values_present(l, number, code ? "G1" : "G0", "XYZEF")) return;
      last_motion_ = code;
      linear(l, number);
      break;
    case 2:
    case 3:
      if (!values_present(l, number, code == 2 ? "G2" : "G3", "XYZEFIJR")) return;
      arc(l, number, code == 3);
      break;
    case 4: {
      double s = 0;
      if (const Word* p = l.find('P'); p && p->kind == WordKind::number) s += p->value / 1000.0;
      if (const Word* w = l.find('S'); w && w->kind == WordKind::number) s += w->value;
      if (s > 0) dwells_.push_back({out_.moves.size(), s});
      break;
    }
    case 10:
      g10(l);
      break;
    case 11:
      retracted_ = false;
      break;
    case 20:
      unit_ = 25.4;
      break;
    case 21:
      unit_ = 1;
      break;
    case 28:
      home(l);
      break;
    case 90:
      set_e_absolute_flags(true, flavor_ == Flavor::marlin ? true : abs_extrude_);
      break;
    case 91:
      set_e_absolute_flags(false, flavor_ == Flavor::marlin ? false : abs_extrude_);
      break;
    case 92:
      set_position(l);
      break;
    default:
      break;  // G17, G29, G80 ...: nothing to measure
  }
}

void Interpreter::m_code(int code, const LexedLine& l) {
  const auto value = [&](char letter) -> double {
    const Word* w = l.find(letter);
    return w && w->kind == WordKind::number ? w->value : 0.0;
  };
  switch (code) {
    case 82:
      set_e_absolute_flags(abs_coord_, true);
      break;
    case 83:
      set_e_absolute_flags(abs_coord_, false);
      break;
    case 104:
    case 109:
    case 568:
      checks_.nozzle_temperature(std::max(value('S'), value('R')));
      break;
    case 600:
      ++out_.stats.color_changes;
      break;
    case 204:  // Marlin and Klipper: S (all moves); Marlin and RepRapFirmware: P (printing moves)
      if (value('S') > 0)
        acceleration_ = value('S');
      else if (value('P') > 0)
        acceleration_ = value('P');
      break;
    default:
      break;
  }
}

void Interpreter::set_e_absolute_flags(bool coord, bool extrude) {
  const bool was = e_absolute();
  abs_coord_ = coord;
  abs_extrude_ = extrude;
  if (!was && e_absolute()) checks_.reset_e_mark(e_);
}

void Interpreter::targets(const LexedLine& l, double target[3]) const {
  static constexpr char kAxes[3] = {'X', 'Y', 'Z'};
  for (int i = 0; i < 3; ++i) {
    target[i] = pos_[i];
    if (const Word* w = l.find(kAxes[i])) {
      const double v = w->value * unit_;
      target[i] = abs_coord_ ? v + shift_[i] : pos_[i] + v;
    }
  }
}

double Interpreter::e_delta(const LexedLine& l) const {
  const Word* w = l.find('E');
  if (!w) return 0;
  const double v = w->value * unit_;
  return e_absolute() ? v - e_ : v;
}

void Interpreter::feed(const LexedLine& l) {
  if (const Word* f = l.find('F'); f && f->value > 0) feed_mm_s_ = f->value * unit_ / 60.0;
}

void Interpreter::linear(const LexedLine& l, std::size_t number) {
  double to[3];
  targets(l, to);
  feed(l);
  const double de = e_delta(l);
  emit(to, de, number);
  finish_e(de, number);
}

void Interpreter::finish_e(double de, std::size_t number) {
  const double before = e_;
  e_ += de;
  if (de != 0 && e_absolute()) checks_.absolute_e(number, before, e_);
}

void Interpreter::arc(const LexedLine& l, std::size_t number, bool ccw) {
  double to[3];
  targets(l, to);
  feed(l);
  const double de = e_delta(l);
  const double sx = pos_[0], sy = pos_[1];
  const double dx = to[0] - sx, dy = to[1] - sy;
  const double chord = std::hypot(dx, dy);
  double cx = 0, cy = 0;
  const Word* i = l.find('I');
  const Word* j = l.find('J');
  const Word* r = l.find('R');
  if (i || j) {
    cx = sx + (i ? i->value * unit_ : 0);
    cy = sy + (j ? j->value * unit_ : 0);
  } else if (r && chord > 0) {
    const double radius = r->value * unit_;
    const double h2 = radius * radius - chord * chord / 4;
    if (h2 < -1e-6) {
      checks_.syntax(number, detail::strprintf("the arc radius R%g is smaller than half the distance to the end point "
                                               "(%.3f mm); the move was taken as a straight line",
                                               r->value, chord / 2));
      emit(to, de, number);
      finish_e(de, number);
      return;
    }
    // Minor arc: centre left of the chord for counter-clockwise; a negative R asks for the major arc.
    const double h = std::sqrt(std::max(0.0, h2)) * ((ccw == (radius > 0)) ? 1.0 : -1.0);
    cx = sx + dx / 2 - dy / chord * h;
    cy = sy + dy / 2 + dx / chord * h;
  } else {
    checks_.syntax(number, "the arc has neither I/J nor R; the move was taken as a straight line");
    emit(to, de, number);
    finish_e(de, number);
    return;
  }
  const double r0 = std::hypot(sx - cx, sy - cy);
  const double r1 = std::hypot(to[0] - cx, to[1] - cy);
  const double a0 = std::atan2(sy - cy, sx - cx);
  double sweep = std::atan2(to[1] - cy, to[0] - cx) - a0;
  const bool full = chord < 1e-6;
  constexpr double kTwoPi = 2 * std::numbers::pi;
  if (ccw) {
    if (full || sweep <= 0) sweep += kTwoPi;
  } else {
    if (full || sweep >= 0) sweep -= kTwoPi;
  }
  const double radius = std::max(r0, r1);
  const double step = radius > kArcToleranceMm ? 2 * std::acos(1 - kArcToleranceMm / radius) : std::numbers::pi / 2;
  const int n = static_cast<int>(std::clamp(std::ceil(std::abs(sweep) / step), 1.0, 1e6));
  const double z0 = pos_[2];
  for (int k = 1; k <= n; ++k) {
    const double t = static_cast<double>(k) / n;
    double p[3];
    if (k == n) {
      p[0] = to[0], p[1] = to[1], p[2] = to[2];
    } else {
      const double a = a0 + sweep * t;
      const double rad = r0 + (r1 - r0) * t;  // a spiral when the end point is off the circle
      p[0] = cx + rad * std::cos(a);
      p[1] = cy + rad * std::sin(a);
      p[2] = z0 + (to[2] - z0) * t;
    }
    emit(p, de / n, number);
  }
  finish_e(de, number);
}

// One straight move: layer bookkeeping, retractions and z-hops, then the Move itself.
void Interpreter::emit(const double to[3], double de, std::size_t number) {
  const double dx = to[0] - pos_[0], dy = to[1] - pos_[1], dz = to[2] - pos_[2];
  const bool moves = dx != 0 || dy != 0 || dz != 0;
  if (!moves && de == 0) return;
  Move m;
  m.x0 = static_cast<float>(pos_[0]);
  m.y0 = static_cast<float>(pos_[1]);
  m.z0 = static_cast<float>(pos_[2]);
  m.x1 = static_cast<float>(to[0]);
  m.y1 = static_cast<float>(to[1]);
  m.z1 = static_cast<float>(to[2]);
  m.e = de;
  m.feedrate_mm_s = static_cast<float>(feed_mm_s_);
  m.acceleration_mm_s2 = static_cast<float>(acceleration_);
  m.line = static_cast<std::uint32_t>(number);
  m.feature = feature_;
  m.extruding = moves && de > 0;
  m.travel = (dx != 0 || dy != 0) && !(de > 0);
  const std::size_t index = out_.moves.size();
  if (m.extruding && print_started_ && (out_.layers.empty() || std::abs(to[2] - layer_z_) > kLayerEpsilonMm)) {
    LayerStats layer;
    layer.z_mm = to[2];
    layer.height_mm = out_.layers.empty() ? to[2] : to[2] - out_.layers.back().z_mm;
    layer.first_move = index;
    if (!out_.layers.empty()) out_.layers.back().end_move = index;
    out_.layers.push_back(layer);
    layer_z_ = to[2];
    checks_.reset_e_mark(e_);
  }
  m.layer = static_cast<std::int32_t>(out_.layers.size()) - 1;
  if (de < 0) {
    if (!retracted_) retraction();
  } else if (de > 0) {
    retracted_ = false;
    checks_.extrusion(number, de);
  }
  // A z-hop lifts off the layer without extruding and comes back down; a lift that ends in
  // extrusion at the new height is a layer change instead.
  if (m.extruding) {
    hop_pending_ = false;
  } else if (dz > 0 && !out_.layers.empty() && !hop_pending_ && std::abs(pos_[2] - layer_z_) <= kLayerEpsilonMm) {
    hop_pending_ = true;
  } else if (dz < 0 && hop_pending_) {
    ++out_.stats.z_hops;
    hop_pending_ = false;
  }
  out_.moves.push_back(m);
  pos_[0] = to[0], pos_[1] = to[1], pos_[2] = to[2];
}

void Interpreter::retraction() {
  retracted_ = true;
  ++out_.stats.retractions;
  if (!out_.layers.empty()) ++out_.layers.back().retractions;
}

void Interpreter::home(const LexedLine& l) {
  static constexpr char kAxes[3] = {'X', 'Y', 'Z'};
  bool any = false;
  for (char a : kAxes) any = any || l.find(a) != nullptr;
  for (int i = 0; i < 3; ++i) {
    if (!any || l.find(kAxes[i])) {
      pos_[i] = 0;
      shift_[i] = 0;  // homing clears the G92 shift of the axis, as Marlin does
    }
  }
}

void Interpreter::set_position(const LexedLine& l) {
  static constexpr char kAxes[3] = {'X', 'Y', 'Z'};
  const auto value = [&](const Word* w) { return w->kind == WordKind::number ? w->value * unit_ : 0.0; };
  const Word* e = l.find('E');
  bool any = e != nullptr;
  for (int i = 0; i < 3; ++i) {
    if (const Word* w = l.find(kAxes[i])) {
      shift_[i] = pos_[i] - value(w);
      any = true;
    }
  }
  if (!any) {  // a bare G92 zeroes every axis
    for (int i = 0; i < 3; ++i) shift_[i] = pos_[i];
    e_ = 0;
  } else if (e) {
    e_ = value(e);
  }
  checks_.reset_e_mark(e_);
}

// G10 is firmware retraction, except where it carries a tool number or offsets (and on
// RepRapFirmware with any parameter): there it sets tool temperatures ("G10 P0 S215") or offsets.
void Interpreter::g10(const LexedLine& l) {
  const bool tool_form = l.find('P') || l.find('L') || (flavor_ == Flavor::reprap && l.word_count > 1);
  if (tool_form) {
    const Word* s = l.find('S');
    if (s && s->kind == WordKind::number) checks_.nozzle_temperature(s->value);
    return;
  }
  if (!retracted_) retraction();
}

void Interpreter::tool(const LexedLine& l) {
  const int t = static_cast<int>(l.words[0].value);
  if (t >= 0 && t != tool_) {
    ++out_.stats.tool_changes;
    tool_ = t;
  }
}

void Interpreter::finish() {
  if (!out_.layers.empty()) out_.layers.back().end_move = out_.moves.size();
}

void add_bounds(double lo[3], double hi[3], const Move& m, bool& first) {
  const double p[2][3] = {{m.x0, m.y0, m.z0}, {m.x1, m.y1, m.z1}};
  for (const auto& q : p) {
    for (int i = 0; i < 3; ++i) {
      if (first || q[i] < lo[i]) lo[i] = q[i];
      if (first || q[i] > hi[i]) hi[i] = q[i];
    }
    first = false;
  }
}

// Lengths, filament and bounds, overall, per layer and per feature.
void measure(GcodeAnalysis& a) {
  GcodeStats& s = a.stats;
  s.moves = a.moves.size();
  s.layers = static_cast<int>(a.layers.size());
  bool first_ext = true, first_move = true;
  std::size_t first_extruding = a.moves.size(), last_extruding = 0;
  for (std::size_t i = 0; i < a.moves.size(); ++i) {
    const Move& m = a.moves[i];
    const double xy = xy_length(m);
    LayerStats* layer = m.layer >= 0 ? &a.layers[static_cast<std::size_t>(m.layer)] : nullptr;
    s.filament_mm += m.e;
    if (layer) layer->filament_mm += m.e;
    if (m.extruding) {
      s.printing_mm += xy;
      FeatureStats& f = s.features[static_cast<int>(m.feature)];
      f.printing_mm += xy;
      f.filament_mm += m.e;
      if (layer) layer->printing_mm += xy;
      if (layer || a.layers.empty()) add_bounds(s.extrusion_min, s.extrusion_max, m, first_ext);
      first_extruding = std::min(first_extruding, i);
      last_extruding = i;
    } else {
      s.travel_mm += xy;
      if (layer) layer->travel_mm += xy;
    }
    add_bounds(s.move_min, s.move_max, m, first_move);
  }
  for (std::size_t i = first_extruding; i < last_extruding; ++i) {
    const Move& m = a.moves[i];
    if (!m.extruding) s.travel_print_mm += xy_length(m);
  }
  s.filament_volume_mm3 = s.filament_mm * filament_area_mm2(a.filament_diameter_mm);
  // Moves hold floats: round the bounds to 0.01 um so that Z0.2 reads 0.2, not 0.20000000298.
  for (double* v : {s.extrusion_min, s.extrusion_max, s.move_min, s.move_max})
    for (int i = 0; i < 3; ++i) v[i] = std::round(v[i] * 1e5) / 1e5;
}

std::string bed_text(const AnalyzeOptions::Bed& b) {
  std::string t = detail::strprintf("X %g..%g, Y %g..%g mm", b.origin_x_mm, b.origin_x_mm + b.width_mm, b.origin_y_mm,
                                    b.origin_y_mm + b.depth_mm);
  if (std::isfinite(b.max_height_mm)) t += detail::strprintf(", height %g mm", b.max_height_mm);
  return t;
}

// Flavour, diameters and bed: the options' when set, else the file's, else defaults; each
// choice is noted so a user can see why a check did what it did.
std::optional<AnalyzeOptions::Bed> resolve(const AnalyzeOptions& o, const detail::FileDeclarations& d,
                                           GcodeAnalysis& a) {
  if (o.flavor) {
    a.flavor = *o.flavor;
    a.notes.push_back("Flavour " + std::string(flavor_name(a.flavor)) + " (from the options).");
  } else if (d.flavor) {
    a.flavor = *d.flavor;
    a.notes.push_back("Flavour " + std::string(flavor_name(a.flavor)) + " (the file declares \"" + d.flavor_text +
                      "\").");
  } else {
    a.flavor = Flavor::marlin;
    a.notes.push_back("Flavour marlin (the file declares none).");
  }
  a.filament_diameter_mm = d.filament_diameter_mm.value_or(o.filament_diameter_mm);
  a.nozzle_diameter_mm = d.nozzle_diameter_mm.value_or(o.nozzle_diameter_mm);
  std::optional<AnalyzeOptions::Bed> bed;
  if (o.bed) {
    bed = o.bed;
    a.notes.push_back("Bed " + bed_text(*bed) + " (from the options).");
  } else if (d.bed) {
    bed = d.bed;
    std::string note = "Bed " + bed_text(*bed) + " (the file declares \"" + d.bed_text + "\")";
    if (!std::isfinite(bed->max_height_mm)) note += "; the file gives no maximum height, so heights were not checked";
    a.notes.push_back(note + ".");
  } else {
    a.notes.push_back(
        "No bed size given (neither in the options nor in the file): moves were not checked against a "
        "bed.");
  }
  return bed;
}

}  // namespace

std::string_view problem_kind_name(ProblemKind kind) {
  switch (kind) {
    case ProblemKind::syntax:
      return "syntax";
    case ProblemKind::not_finite:
      return "not_finite";
    case ProblemKind::outside_bed:
      return "outside_bed";
    case ProblemKind::e_backwards:
      return "e_backwards";
    case ProblemKind::cold_extrusion:
      return "cold_extrusion";
    case ProblemKind::flow:
      return "flow";
    case ProblemKind::other:
      break;
  }
  return "other";
}

GcodeAnalysis analyze_gcode(std::string_view text, const AnalyzeOptions& options, const std::string& source) {
  GcodeAnalysis a;
  const detail::FileDeclarations decl = detail::scan_declarations(text);
  const std::optional<AnalyzeOptions::Bed> bed = resolve(options, decl, a);
  detail::ProblemList streamed(options.max_problems);
  detail::StreamChecks checks(options, source, streamed);
  Interpreter machine(a.flavor, !decl.has_print_markers, checks, a);
  a.moves.reserve(text.size() / 24);  // typical slicer output: one move per 25-35 bytes
  std::size_t lines = 0;
  detail::for_each_line(text, [&](std::string_view line, std::size_t number) {
    machine.line(line, number);
    lines = number;
  });
  machine.finish();
  a.stats.lines = lines;
  measure(a);
  detail::estimate_time(a, machine.dwells(), options);

  detail::ProblemList checked(options.max_problems);
  if (bed) detail::check_bed(a, *bed, options.bed_tolerance_mm, source, checked);
  detail::check_flow(a, options, source, checked);
  for (std::string& n : checks.take_notes()) a.notes.push_back(std::move(n));

  a.problems = std::move(streamed.items());
  for (Problem& p : checked.items()) a.problems.push_back(std::move(p));
  std::stable_sort(a.problems.begin(), a.problems.end(),
                   [](const Problem& x, const Problem& y) { return x.line < y.line; });
  if (a.problems.size() > options.max_problems) a.problems.resize(options.max_problems);
  a.problem_count = streamed.count() + checked.count();
  return a;
}

GcodeAnalysis analyze_gcode_file(const std::string& path, const AnalyzeOptions& options) {
  const std::string text = read_file(path);
  return analyze_gcode(text, options, path);
}

}  // namespace fabforge::gcode
