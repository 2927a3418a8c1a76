#include "fabforge/gcode/writer.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>
#include <string>

#include "fabforge/core/error.hpp"
#include "fabforge/core/version.hpp"
#include "fabforge/gcode/flow.hpp"

namespace fabforge::gcode {

namespace {

constexpr double kZFeedMmS = 10;  // Z moves at layer changes and hops; safe on lead-screw Z axes

// Appends v with at most `decimals` decimals, trailing zeros removed ("12.5", "3", "-0.8").
void append_number(std::string& out, double v, int decimals) {
  char buf[64];
  if (std::abs(v) < 0.5 * std::pow(10.0, -decimals)) v = 0;  // no "-0"
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, decimals);
  FABFORGE_CHECK(ec == std::errc(), "number formatting");
  char* last = end;
  if (std::find(buf, end, '.') != end) {
    while (last > buf && last[-1] == '0') --last;
    if (last > buf && last[-1] == '.') --last;
  }
  out.append(buf, last);
}

std::string substitute(std::string text, const PrinterProfile& p, double top_z) {
  const auto num = [](double v) {
    std::string s;
    append_number(s, v, 3);
    return s;
  };
  const std::pair<std::string, std::string> values[] = {
      {"{bed_temp}", num(p.bed_temp_c)},
      {"{nozzle_temp}", num(p.nozzle_temp_c)},
      {"{first_layer_bed_temp}", num(p.first_layer_bed_temp_c)},
      {"{first_layer_nozzle_temp}", num(p.first_layer_nozzle_temp_c)},
      {"{bed_width}", num(p.bed_width_mm)},
      {"{bed_depth}", num(p.bed_depth_mm)},
      {"{max_height}", num(p.max_height_mm)},
      {"{filament_diameter}", num(p.filament_diameter_mm)},
      {"{nozzle_diameter}", num(p.nozzle_diameter_mm)},
      {"{retract_length}", num(p.retract_length_mm)},
      {"{z_max_park}", num(std::min(top_z + 10, p.max_height_mm))},
  };
  for (const auto& [key, value] : values) {
    for (std::size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + value.size()))
      text.replace(at, key.size(), value);
  }
  const std::size_t open = text.find('{');
  if (open != std::string::npos) {
    const std::size_t close = text.find('}', open);
    throw usage_error("printer profile \"" + p.name + "\": unknown placeholder " +
                      text.substr(open, close == std::string::npos ? 20 : close - open + 1) +
                      " in start or end G-code");
  }
  if (!text.empty() && text.back() != '\n') text += '\n';
  return text;
}

double feature_speed(const FeatureSpeeds& s, Feature f) {
  switch (f) {
    case Feature::wall_outer:
      return s.wall_outer;
    case Feature::wall_inner:
      return s.wall_inner;
    case Feature::gap_fill:
      return s.gap_fill;
    case Feature::solid_infill:
      return s.solid_infill;
    case Feature::top_solid_infill:
      return s.top_solid_infill;
    case Feature::sparse_infill:
      return s.sparse_infill;
    case Feature::skirt:
      return s.skirt;
    case Feature::support:
    case Feature::other:
      break;
  }
  return s.wall_inner;
}

void check_fits(const Toolpaths& toolpaths, const PrinterProfile& p) {
  if (toolpaths.layers.empty()) throw usage_error("nothing to print: the toolpaths have no layers");
  Box2 box;
  double prev_z = 0;
  for (const ToolpathLayer& layer : toolpaths.layers) {
    if (!(layer.z_mm > prev_z) || !(layer.height_mm > 0))
      throw usage_error("toolpath layers must have increasing z and positive heights");
    prev_z = layer.z_mm;
    for (const ExtrusionPath& path : layer.paths) {
      for (Point2 q : path.points) box.add(q);
      for (Point2 q : path.travel_via) box.add(q);
      if (!(path.width_mm > 0)) throw usage_error("toolpath line widths must be positive");
    }
  }
  if (box.empty()) throw usage_error("nothing to print: the toolpaths have no paths");
  const double x0 = p.bed_origin_x_mm, y0 = p.bed_origin_y_mm;
  const double x1 = x0 + p.bed_width_mm, y1 = y0 + p.bed_depth_mm;
  if (box.min.x < x0 || box.min.y < y0 || box.max.x > x1 || box.max.y > y1 || prev_z > p.max_height_mm) {
    std::ostringstream msg;
    msg.precision(4);
    msg << "the part does not fit on the printer \"" << p.name << "\": it spans x " << box.min.x << " to " << box.max.x
        << ", y " << box.min.y << " to " << box.max.y << ", height " << prev_z << " mm, but the bed is x " << x0
        << " to " << x1 << ", y " << y0 << " to " << y1 << ", height " << p.max_height_mm
        << " mm (scale it down or move it with --at)";
    throw usage_error(msg.str());
  }
}

// Emits the moves; tracks position and E so the text it writes is self-consistent.
class Emitter {
 public:
  Emitter(const PrinterProfile& p, std::string& out) : p_(p), out_(out) {}

  void line(std::string_view text) {
    out_.append(text);
    out_ += '\n';
  }

  void reset_e() {
    line("G92 E0");
    e_ = 0;
  }

  void retract() {
    if (retracted_ || p_.retract_length_mm <= 0) return;
    if (p_.firmware_retraction) {
      line("G10");
    } else {
      move_e(-p_.retract_length_mm, p_.retract_speed_mm_s);
    }
    retracted_ = true;
  }

  void deretract() {
    if (!retracted_) return;
    if (p_.firmware_retraction) {
      line("G11");
    } else {
      const double speed = p_.deretract_speed_mm_s > 0 ? p_.deretract_speed_mm_s : p_.retract_speed_mm_s;
      move_e(p_.retract_length_mm, speed);
    }
    retracted_ = false;
  }

  void move_z(double z) {
    if (have_z_ && std::abs(z - z_) < 1e-9) return;
    out_ += "G1 Z";
    append_number(out_, z, 3);
    feed(kZFeedMmS);
    out_ += '\n';
    z_ = z;
    have_z_ = true;
  }

  void travel_to(Point2 q) {
    if (have_xy_ && std::hypot(q.x - x_, q.y - y_) < 1e-6) return;
    out_ += "G0 X";
    append_number(out_, q.x, 3);
    out_ += " Y";
    append_number(out_, q.y, 3);
    feed(std::min(p_.speeds.travel, p_.max_feedrate_mm_s));
    out_ += '\n';
    set_xy(q);
  }

  void extrude_to(Point2 q, double e_per_mm, double speed) {
    const double len = std::hypot(q.x - x_, q.y - y_);
    if (len < 1e-6) return;
    out_ += "G1 X";
    append_number(out_, q.x, 3);
    out_ += " Y";
    append_number(out_, q.y, 3);
    out_ += " E";
    const double de = e_per_mm * len;
    e_ += de;
    append_number(out_, p_.relative_e ? de : e_, 5);
    feed(speed);
    out_ += '\n';
    set_xy(q);
  }

  bool have_xy() const { return have_xy_; }
  bool have_z() const { return have_z_; }
  Point2 xy() const { return {x_, y_}; }
  double z() const { return z_; }

 private:
  void move_e(double de, double speed) {
    e_ += de;
    out_ += "G1 E";
    append_number(out_, p_.relative_e ? de : e_, 5);
    feed(speed);
    out_ += '\n';
  }
  void feed(double mm_s) {
    const double f = std::round(mm_s * 60);
    if (f == f_) return;
    out_ += " F";
    append_number(out_, f, 0);
    f_ = f;
  }
  void set_xy(Point2 q) {
    x_ = q.x;
    y_ = q.y;
    have_xy_ = true;
  }

  const PrinterProfile& p_;
  std::string& out_;
  double x_ = 0, y_ = 0, z_ = 0, e_ = 0, f_ = -1;
  bool have_xy_ = false, have_z_ = false, retracted_ = false;
};

double travel_length(Point2 from, const ExtrusionPath& path) {
  double len = 0;
  Point2 at = from;
  for (Point2 v : path.travel_via) {
    len += std::hypot(v.x - at.x, v.y - at.y);
    at = v;
  }
  return len + std::hypot(path.points.front().x - at.x, path.points.front().y - at.y);
}

void write_layer(Emitter& em, std::string& out, const ToolpathLayer& layer, std::size_t index, const PrinterProfile& p,
                 Feature& current_feature, double& current_width) {
  for (const ExtrusionPath& path : layer.paths) {
    if (path.points.size() < 2) continue;
    // Travel: retract when the move is long and the planner did not route it inside the part.
    const bool layer_change = std::abs(em.z() - layer.z_mm) > 1e-9;
    const double dist = em.have_xy() ? travel_length(em.xy(), path) : 0;
    const bool retract = em.have_xy() && dist > p.retract_min_travel_mm && (path.retract_before || layer_change);
    if (retract) em.retract();
    if (retract && p.z_hop_mm > 0) em.move_z(std::max(em.z(), layer.z_mm) + p.z_hop_mm);
    // Up before travelling, down after it: never travel low over what is already printed (or over
    // the purge line left by the start G-code, whose height we do not know).
    if (layer_change && !(retract && p.z_hop_mm > 0) && em.have_z() && layer.z_mm > em.z()) em.move_z(layer.z_mm);
    for (Point2 v : path.travel_via) em.travel_to(v);
    em.travel_to(path.points.front());
    em.move_z(layer.z_mm);
    em.deretract();

    if (path.feature != current_feature) {
      out += ";TYPE:";
      out += feature_name(path.feature);
      out += '\n';
      current_feature = path.feature;
    }
    if (std::abs(path.width_mm - current_width) > 1e-6) {
      out += ";WIDTH:";
      append_number(out, path.width_mm, 3);
      out += '\n';
      current_width = path.width_mm;
    }
    double speed = feature_speed(p.speeds, path.feature) * path.speed_factor;
    if (index == 0) speed = std::min(speed, p.speeds.first_layer);
    speed = std::clamp(speed, 1.0, p.max_feedrate_mm_s);
    const double e_per_mm = line_area_mm2(path.width_mm, layer.height_mm) / filament_area_mm2(p.filament_diameter_mm);
    for (std::size_t i = 1; i < path.points.size(); ++i) em.extrude_to(path.points[i], e_per_mm, speed);
    if (path.closed) em.extrude_to(path.points.front(), e_per_mm, speed);
  }
}

std::string fan_command(double speed) {
  if (speed <= 0) return "M107";
  std::string s = "M106 S";
  append_number(s, std::round(255 * std::min(speed, 1.0)), 0);
  return s;
}

std::string duration(double seconds) {
  const long total = std::lround(seconds);
  std::ostringstream s;
  if (total >= 86400) s << total / 86400 << "d ";
  if (total >= 3600) s << (total / 3600) % 24 << "h ";
  if (total >= 60) s << (total / 60) % 60 << "m ";
  s << total % 60 << "s";
  return s.str();
}

std::string header(const Toolpaths& toolpaths, const PrinterProfile& p, const WriteOptions& options,
                   const GcodeStats& stats) {
  std::string h;
  const auto add = [&](const std::string& s) { h += s + "\n"; };
  std::string flavor(flavor_name(p.flavor));
  flavor[0] = static_cast<char>(flavor[0] - 'a' + 'A');
  add(std::string("; generated by fabforge ") + kVersion + " toolpath");
  for (const std::string& note : options.header_notes) add("; " + note);
  add(";FLAVOR:" + flavor);
  std::string n;
  const auto num = [&](double v, int d) {
    n.clear();
    append_number(n, v, d);
    return n;
  };
  add(";TIME:" + num(std::round(stats.time_s), 0));
  add(";Filament used: " + num(stats.filament_mm / 1000, 5) + "m");
  add(";Layer height: " +
      num(toolpaths.layers.size() > 1 ? toolpaths.layers[1].height_mm : toolpaths.layers[0].height_mm, 3));
  add(";MINX:" + num(stats.extrusion_min[0], 3));
  add(";MINY:" + num(stats.extrusion_min[1], 3));
  add(";MINZ:" + num(stats.extrusion_min[2], 3));
  add(";MAXX:" + num(stats.extrusion_max[0], 3));
  add(";MAXY:" + num(stats.extrusion_max[1], 3));
  add(";MAXZ:" + num(stats.extrusion_max[2], 3));
  add(";LAYER_COUNT:" + std::to_string(toolpaths.layers.size()));
  add("; printer = " + p.name);
  add("; fabforge_bed = " + num(p.bed_origin_x_mm, 3) + "," + num(p.bed_origin_y_mm, 3) + "," + num(p.bed_width_mm, 3) +
      "," + num(p.bed_depth_mm, 3) + "," + num(p.max_height_mm, 3));
  add("; filament_diameter = " + num(p.filament_diameter_mm, 3));
  add("; nozzle_diameter = " + num(p.nozzle_diameter_mm, 3));
  add("; filament used [mm] = " + num(stats.filament_mm, 2));
  add("; filament used [cm3] = " + num(stats.filament_volume_mm3 / 1000, 3));
  add("; estimated printing time (normal mode) = " + duration(stats.time_s));
  return h;
}

}  // namespace

AnalyzeOptions analyze_options_for(const PrinterProfile& p) {
  AnalyzeOptions o;
  o.flavor = p.flavor;
  o.bed = AnalyzeOptions::Bed{p.bed_origin_x_mm, p.bed_origin_y_mm, p.bed_width_mm, p.bed_depth_mm, p.max_height_mm};
  o.filament_diameter_mm = p.filament_diameter_mm;
  o.nozzle_diameter_mm = p.nozzle_diameter_mm;
  o.acceleration_mm_s2 = p.acceleration_mm_s2;
  o.max_feedrate_mm_s = p.max_feedrate_mm_s;
  return o;
}

WrittenGcode write_gcode(const Toolpaths& toolpaths, const PrinterProfile& p, const WriteOptions& options) {
  check_fits(toolpaths, p);
  std::string body;
  body.reserve(1 << 20);
  body += substitute(p.start_gcode, p, toolpaths.layers.back().z_mm);
  Emitter em(p, body);
  em.line(p.relative_e ? "M83 ; relative E" : "M82 ; absolute E");
  {
    // The acceleration the time estimate assumes, set on the printer too (RepRapFirmware takes
    // print and travel accelerations as P and T; Marlin and Klipper take S).
    std::string accel = p.flavor == Flavor::reprap ? "M204 P" : "M204 S";
    append_number(accel, p.acceleration_mm_s2, 0);
    if (p.flavor == Flavor::reprap) {
      accel += " T";
      append_number(accel, p.acceleration_mm_s2, 0);
    }
    em.line(accel);
  }
  em.line("M107");
  std::vector<double> changes = options.color_change_z_mm;
  std::sort(changes.begin(), changes.end());
  std::size_t next_change = 0;
  Feature feature = Feature::other;
  double width = -1;
  double prev_z = 0;
  for (std::size_t i = 0; i < toolpaths.layers.size(); ++i) {
    const ToolpathLayer& layer = toolpaths.layers[i];
    body += ";LAYER_CHANGE\n;Z:";
    append_number(body, layer.z_mm, 3);
    body += "\n;HEIGHT:";
    append_number(body, layer.height_mm, 3);
    body += "\n;LAYER:" + std::to_string(i) + "\n";
    em.reset_e();
    bool change = false;
    while (next_change < changes.size() && changes[next_change] < layer.z_mm) {
      change = change || changes[next_change] >= prev_z;
      ++next_change;
    }
    if (change && i > 0) {
      em.line(";COLOR_CHANGE");
      em.line(p.color_change_gcode);
      em.reset_e();
    }
    if (i == 1) {
      std::string temps = "M104 S";
      append_number(temps, p.nozzle_temp_c, 0);
      em.line(temps);
      temps = "M140 S";
      append_number(temps, p.bed_temp_c, 0);
      em.line(temps);
    }
    if (static_cast<int>(i) + 1 == p.fan_start_layer) em.line(fan_command(p.fan_speed));
    feature = Feature::other;  // viewers expect a ;TYPE: after every layer change
    write_layer(em, body, layer, i, p, feature, width);
    prev_z = layer.z_mm;
  }
  em.retract();
  body += substitute(p.end_gcode, p, toolpaths.layers.back().z_mm);

  WrittenGcode written;
  written.analysis = analyze_gcode(body, analyze_options_for(p), "written G-code");
  written.text = header(toolpaths, p, options, written.analysis.stats);
  written.text += body;
  return written;
}

}  // namespace fabforge::gcode
