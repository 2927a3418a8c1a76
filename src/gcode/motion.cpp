// The print-time estimate: a planner like Marlin's and Prusa's. Every move gets a trapezoidal
// velocity profile (accelerate, cruise, decelerate at one acceleration); the speed where two
// moves meet is limited by junction deviation, and a backward then a forward pass over the whole
// program make every profile reachable from its neighbours. Moves that only push or pull
// filament (retractions) start and end at rest and run at their own feed rate, and G4 pauses
// stop the machine and add their time.

#include <algorithm>
#include <cmath>
#include <limits>

#include "fabforge/gcode/analysis.hpp"

#include "analysis_internal.hpp"

namespace fabforge::gcode::detail {

namespace {

struct Unit {
  double x = 0, y = 0, z = 0;
  bool e_only = true;
};

// Junction speed of grbl/Marlin's junction deviation: the speed at which a virtual circle of
// deviation `jd` tangent to both moves is taken at acceleration `a`.
double junction_speed(const Unit& prev, const Unit& cur, double a, double jd) {
  if (prev.e_only || cur.e_only) return 0;
  const double cos_theta = -(prev.x * cur.x + prev.y * cur.y + prev.z * cur.z);
  if (cos_theta > 0.999999) return 0;                                         // full reversal
  if (cos_theta < -0.999999) return std::numeric_limits<double>::infinity();  // straight on
  const double sin_half = std::sqrt(0.5 * (1.0 - cos_theta));
  return std::sqrt(a * jd * sin_half / (1.0 - sin_half));
}

// Time of a move of length l entered at vi, left at vo, cruising at most at vc.
double trapezoid_time(double l, double vi, double vo, double vc, double a) {
  if (l <= 0) return 0;
  const double accel_d = (vc * vc - vi * vi) / (2 * a);
  const double decel_d = (vc * vc - vo * vo) / (2 * a);
  if (accel_d + decel_d <= l) return (vc - vi) / a + (vc - vo) / a + (l - accel_d - decel_d) / vc;
  // Never reaches vc: accelerate to the peak and decelerate straight away.
  const double peak = std::sqrt(std::max(0.0, (2 * a * l + vi * vi + vo * vo) / 2));
  return std::max(0.0, (peak - vi) / a) + std::max(0.0, (peak - vo) / a);
}

}  // namespace

void estimate_time(GcodeAnalysis& analysis, const std::vector<Dwell>& dwells, const AnalyzeOptions& options) {
  const std::vector<Move>& moves = analysis.moves;
  const std::size_t n = moves.size();
  const double a = options.acceleration_mm_s2 > 0 ? options.acceleration_mm_s2 : 1000.0;
  const double jd = std::max(0.0, options.junction_deviation_mm);
  const double vmax = options.max_feedrate_mm_s > 0 ? options.max_feedrate_mm_s : 1e9;

  std::vector<double> length(n), nominal(n), accel(n), v(n + 1, 0.0);
  Unit prev;
  for (std::size_t i = 0; i < n; ++i) {
    const Move& m = moves[i];
    const double dx = static_cast<double>(m.x1) - m.x0, dy = static_cast<double>(m.y1) - m.y0,
                 dz = static_cast<double>(m.z1) - m.z0;
    const double l = std::sqrt(dx * dx + dy * dy + dz * dz);
    Unit u;
    if (l > 0) {
      u = Unit{dx / l, dy / l, dz / l, false};
      length[i] = l;
    } else {
      length[i] = std::abs(m.e);  // a retraction or priming move runs at the E feed rate
    }
    nominal[i] = std::clamp<double>(m.feedrate_mm_s, 0.1, vmax);
    accel[i] = m.acceleration_mm_s2 > 0 ? m.acceleration_mm_s2 : a;
    // v[i] holds the entry limit until the passes below make it the entry speed.
    v[i] = i == 0 ? 0.0 : std::min({junction_speed(prev, u, accel[i], jd), nominal[i - 1], nominal[i]});
    prev = u;
  }
  for (const Dwell& d : dwells)
    if (d.before_move < n) v[d.before_move] = 0;

  for (std::size_t i = n; i-- > 0;) v[i] = std::min(v[i], std::sqrt(v[i + 1] * v[i + 1] + 2 * accel[i] * length[i]));
  for (std::size_t i = 0; i < n; ++i) v[i + 1] = std::min(v[i + 1], std::sqrt(v[i] * v[i] + 2 * accel[i] * length[i]));

  GcodeStats& s = analysis.stats;
  s.time_s = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const Move& m = moves[i];
    const double t = trapezoid_time(length[i], v[i], v[i + 1], nominal[i], accel[i]);
    s.time_s += t;
    if (m.layer >= 0) analysis.layers[static_cast<std::size_t>(m.layer)].time_s += t;
    if (m.extruding) s.features[static_cast<int>(m.feature)].time_s += t;
  }
  for (const Dwell& d : dwells) {
    s.time_s += d.seconds;
    if (d.before_move > 0 && d.before_move <= n) {
      const std::int32_t layer = moves[d.before_move - 1].layer;
      if (layer >= 0) analysis.layers[static_cast<std::size_t>(layer)].time_s += d.seconds;
    }
  }
}

}  // namespace fabforge::gcode::detail
