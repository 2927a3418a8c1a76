// The interval interpreter: containment (every point result lies in the interval computed for a
// box holding the point), tightness sanity checks, and termination on loops, NaN and whole-line
// inputs. The point oracle is a small scalar walker of the same IR (sm:: and noise:: functions),
// so this test depends on nothing but the IR and the interval interpreter.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "fabforge/openfl/exec.hpp"
#include "fabforge/openfl/host.hpp"
#include "fabforge/openfl/ir.hpp"
#include "fabforge/openfl/noise.hpp"
#include "fabforge/openfl/program.hpp"
#include "fabforge/openfl/scalar_math.hpp"

#include "openfl/program_gen.hpp"

namespace fabforge::openfl {
namespace {

using ir::Op;
using ir::ScalarType;
using ir::ValueId;

constexpr float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

// ---- point oracle ----------------------------------------------------------------------------

float as_f(std::uint32_t b) { return std::bit_cast<float>(b); }
std::int32_t as_i(std::uint32_t b) { return static_cast<std::int32_t>(b); }
std::uint32_t of_f(float f) { return std::bit_cast<std::uint32_t>(f); }
std::uint32_t of_i(std::int32_t i) { return static_cast<std::uint32_t>(i); }
std::uint32_t of_b(bool b) { return b ? 1u : 0u; }

/// Runs one item through a kernel's IR with scalar semantics. Texture samples use lod 0 for
/// `sample` (the host's texture_range bounds every level anyway).
class PointOracle {
 public:
  PointOracle(const Kernel& kernel, const Host& host, ExecOptions options)
      : kernel_(kernel), fn_(kernel.ir), host_(host), options_(options) {}

  /// False when a loop ran past the iteration cap (the point interpreters stop with an error).
  bool run(const std::vector<float>& inputs, std::vector<float>& outputs) {
    inputs_ = &inputs;
    v_.assign(fn_.value_types.size(), 0);
    capped_ = false;
    queries_.assign(static_cast<std::size_t>(std::max(fn_.query_count, 0)), 0.0f);
    if (fn_.query_count > 0) {
      float xyz_store[3] = {in(0), in(1), in(2)};
      const float* xyz[3] = {&xyz_store[0], &xyz_store[1], &xyz_store[2]};
      std::vector<float*> cols(queries_.size());
      for (std::size_t k = 0; k < cols.size(); ++k) cols[k] = &queries_[k];
      host_.surface_query(1, xyz, cols.data(), fn_.query_count);
    }
    block(fn_.body);
    if (capped_) return false;
    outputs.clear();
    for (ValueId y : fn_.body.yields) {
      switch (fn_.value_types[y]) {
        case ScalarType::f32:
          outputs.push_back(as_f(v_[y]));
          break;
        case ScalarType::i32:
          outputs.push_back(sm::itof(as_i(v_[y])));
          break;
        case ScalarType::b1:
          outputs.push_back(v_[y] != 0 ? 1.0f : 0.0f);
          break;
      }
    }
    return true;
  }

 private:
  float in(std::size_t k) const { return k < inputs_->size() ? (*inputs_)[k] : 0.0f; }

  void block(const ir::Block& b) {
    for (const ir::Inst& inst : b.insts) {
      if (capped_) return;
      instruction(inst);
    }
  }

  void instruction(const ir::Inst& inst) {
    std::vector<std::uint32_t>& v = v_;
    auto f = [&](std::size_t k) { return as_f(v[inst.args[k]]); };
    auto i = [&](std::size_t k) { return as_i(v[inst.args[k]]); };
    auto b = [&](std::size_t k) { return v[inst.args[k]] != 0; };
    auto r = [&](std::uint32_t bits, std::size_t k = 0) { v[inst.results[k]] = bits; };
    // clang-format off
    switch (inst.op) {
      case Op::const_f: r(of_f(inst.fimm)); break;
      case Op::const_i:
      case Op::const_b: r(inst.imm); break;
      case Op::input: r(of_f(in(inst.imm))); break;
      case Op::uniform: r(kernel_.uniform_values.bits.at(inst.imm)); break;
      case Op::query: r(of_f(queries_.at(inst.imm))); break;
      case Op::fadd: r(of_f(f(0) + f(1))); break;
      case Op::fsub: r(of_f(f(0) - f(1))); break;
      case Op::fmul: r(of_f(f(0) * f(1))); break;
      case Op::fdiv: r(of_f(f(0) / f(1))); break;
      case Op::fneg: r(of_f(-f(0))); break;
      case Op::fabs: r(of_f(sm::fabs(f(0)))); break;
      case Op::fsign: r(of_f(sm::fsign(f(0)))); break;
      case Op::fmin: r(of_f(sm::fmin(f(0), f(1)))); break;
      case Op::fmax: r(of_f(sm::fmax(f(0), f(1)))); break;
      case Op::ffloor: r(of_f(sm::ffloor(f(0)))); break;
      case Op::fceil: r(of_f(sm::fceil(f(0)))); break;
      case Op::fround: r(of_f(sm::fround(f(0)))); break;
      case Op::ftrunc: r(of_f(sm::ftrunc(f(0)))); break;
      case Op::ffract: r(of_f(sm::ffract(f(0)))); break;
      case Op::fmod: r(of_f(sm::fmod(f(0), f(1)))); break;
      case Op::fsqrt: r(of_f(sm::fsqrt(f(0)))); break;
      case Op::finvsqrt: r(of_f(sm::finvsqrt(f(0)))); break;
      case Op::fpow: r(of_f(sm::fpow(f(0), f(1)))); break;
      case Op::fexp: r(of_f(sm::fexp(f(0)))); break;
      case Op::fexp2: r(of_f(sm::fexp2(f(0)))); break;
      case Op::flog: r(of_f(sm::flog(f(0)))); break;
      case Op::flog2: r(of_f(sm::flog2(f(0)))); break;
      case Op::fsin: r(of_f(sm::fsin(f(0)))); break;
      case Op::fcos: r(of_f(sm::fcos(f(0)))); break;
      case Op::ftan: r(of_f(sm::ftan(f(0)))); break;
      case Op::fasin: r(of_f(sm::fasin(f(0)))); break;
      case Op::facos: r(of_f(sm::facos(f(0)))); break;
      case Op::fatan: r(of_f(sm::fatan(f(0)))); break;
      case Op::fatan2: r(of_f(sm::fatan2(f(0), f(1)))); break;
      case Op::fstep: r(of_f(sm::fstep(f(0), f(1)))); break;
      case Op::fsmoothstep: r(of_f(sm::fsmoothstep(f(0), f(1), f(2)))); break;
      case Op::iadd: r(of_i(sm::iadd(i(0), i(1)))); break;
      case Op::isub: r(of_i(sm::isub(i(0), i(1)))); break;
      case Op::imul: r(of_i(sm::imul(i(0), i(1)))); break;
      case Op::idiv: r(of_i(sm::idiv(i(0), i(1)))); break;
      case Op::imod: r(of_i(sm::imod(i(0), i(1)))); break;
      case Op::ineg: r(of_i(sm::ineg(i(0)))); break;
      case Op::iabs: r(of_i(sm::iabs(i(0)))); break;
      case Op::isign: r(of_i(sm::isign(i(0)))); break;
      case Op::imin: r(of_i(sm::imin(i(0), i(1)))); break;
      case Op::imax: r(of_i(sm::imax(i(0), i(1)))); break;
      case Op::flt: r(of_b(f(0) < f(1))); break;
      case Op::fle: r(of_b(f(0) <= f(1))); break;
      case Op::feq: r(of_b(f(0) == f(1))); break;
      case Op::fne: r(of_b(f(0) != f(1))); break;
      case Op::ilt: r(of_b(i(0) < i(1))); break;
      case Op::ile: r(of_b(i(0) <= i(1))); break;
      case Op::ieq: r(of_b(i(0) == i(1))); break;
      case Op::ine: r(of_b(i(0) != i(1))); break;
      case Op::beq: r(of_b(b(0) == b(1))); break;
      case Op::bne: r(of_b(b(0) != b(1))); break;
      case Op::band: r(of_b(b(0) && b(1))); break;
      case Op::bor: r(of_b(b(0) || b(1))); break;
      case Op::bnot: r(of_b(!b(0))); break;
      case Op::select: r(b(0) ? v[inst.args[1]] : v[inst.args[2]]); break;
      case Op::itof: r(of_f(sm::itof(i(0)))); break;
      case Op::ftoi: r(of_i(sm::ftoi(f(0)))); break;
      case Op::btoi: r(of_i(b(0) ? 1 : 0)); break;
      case Op::btof: r(of_f(b(0) ? 1.0f : 0.0f)); break;
      case Op::ftob: r(of_b(f(0) != 0.0f)); break;
      case Op::itob: r(of_b(i(0) != 0)); break;
      case Op::noise2: r(of_f(noise::perlin2(f(0), f(1)))); break;
      case Op::noise3: r(of_f(noise::perlin3(f(0), f(1), f(2)))); break;
      case Op::fbm2: r(of_f(noise::fbm2(f(0), f(1), i(2), f(3), f(4), inst.imm != 0))); break;
      case Op::fbm3: r(of_f(noise::fbm3(f(0), f(1), f(2), i(3), f(4), f(5), inst.imm != 0))); break;
      case Op::cellular2: {
        float f1 = 0, f2 = 0;
        noise::cellular2(f(0), f(1), f1, f2);
        r(of_f(f1), 0);
        r(of_f(f2), 1);
        break;
      }
      case Op::cellular3: {
        float f1 = 0, f2 = 0;
        noise::cellular3(f(0), f(1), f(2), f1, f2);
        r(of_f(f1), 0);
        r(of_f(f2), 1);
        break;
      }
      case Op::tex_sample:
      case Op::tex_lod: {
        const float u = f(0), w = f(1), lod = inst.op == Op::tex_lod ? f(2) : 0.0f;
        float rgba[4] = {0, 0, 0, 0};
        float* const out[4] = {&rgba[0], &rgba[1], &rgba[2], &rgba[3]};
        host_.sample(static_cast<int>(inst.imm), 1, &u, &w, &lod, out);
        for (std::size_t k = 0; k < 4; ++k) r(of_f(rgba[k]), k);
        break;
      }
      case Op::if_: {
        const ir::Block& side = inst.blocks[b(0) ? 0 : 1];
        block(side);
        for (std::size_t k = 0; k < inst.results.size(); ++k) r(v[side.yields[k]], k);
        break;
      }
      case Op::loop: loop(inst); break;
    }
    // clang-format on
  }

  void loop(const ir::Inst& inst) {
    const ir::Block& cond = inst.blocks[0];
    const ir::Block& body = inst.blocks[1];
    std::vector<std::uint32_t> carried(inst.args.size());
    for (std::size_t k = 0; k < carried.size(); ++k) carried[k] = v_[inst.args[k]];
    for (std::uint64_t iterations = 0;; ++iterations) {
      for (std::size_t k = 0; k < carried.size(); ++k) v_[cond.params[k]] = carried[k];
      block(cond);
      if (capped_ || v_[cond.yields[0]] == 0) break;
      if (iterations >= options_.loop_cap) {
        capped_ = true;
        return;
      }
      for (std::size_t k = 0; k < carried.size(); ++k) v_[body.params[k]] = carried[k];
      block(body);
      if (capped_) return;
      for (std::size_t k = 0; k < carried.size(); ++k) carried[k] = v_[body.yields[k]];
    }
    for (std::size_t k = 0; k < carried.size(); ++k) v_[inst.results[k]] = carried[k];
  }

  const Kernel& kernel_;
  const ir::Function& fn_;
  const Host& host_;
  ExecOptions options_;
  const std::vector<float>* inputs_ = nullptr;
  std::vector<std::uint32_t> v_;
  std::vector<float> queries_;
  bool capped_ = false;
};

// ---- a test host ------------------------------------------------------------------------------

float unit_hash(float u, float v, int channel) {
  float t = sm::ffract(u * 7.31f + v * 3.17f + static_cast<float>(channel) * 0.37f);
  if (!(t >= 0.0f && t <= 1.0f)) t = 0.5f;  // NaN / infinite coordinates
  return t;
}

/// Textures whose channel c of slot s lies in ranges[s][c]; a surface that is the sphere of
/// radius 2 at the origin; out column j = sin(j * x) + 0.5 j with range [-1 + 0.5 j, 1 + 0.5 j].
class BoxHost : public Host {
 public:
  std::vector<std::array<Interval, 4>> ranges = {
      {Interval{0.0f, 1.0f}, Interval{-2.0f, -1.0f}, Interval{0.25f, 0.5f}, Interval{10.0f, 20.0f}},
      {Interval{-1.0f, 1.0f}, Interval{0.0f, 0.0f}, Interval{5.0f, 6.0f}, Interval{1.0f, 1.0f}}};

  void sample(int slot, std::size_t n, const float* u, const float* v, const float* /*lod*/,
              float* const rgba[4]) const override {
    const auto& r = ranges.at(static_cast<std::size_t>(slot));
    for (std::size_t i = 0; i < n; ++i) {
      for (int c = 0; c < 4; ++c) {
        const Interval& range = r[static_cast<std::size_t>(c)];
        const float x = range.lo + (range.hi - range.lo) * unit_hash(u[i], v[i], c);
        rgba[c][i] = std::clamp(x, range.lo, range.hi);
      }
    }
  }
  float texture_lod_bias(int /*slot*/) const override { return 0.0f; }
  std::array<Interval, 4> texture_range(int slot) const override { return ranges.at(static_cast<std::size_t>(slot)); }

  void surface_query(std::size_t n, const float* const xyz[3], float* const* columns, int column_count) const override {
    for (std::size_t i = 0; i < n; ++i) {
      const float x = xyz[0][i], y = xyz[1][i], z = xyz[2][i];
      const float len = std::sqrt(x * x + y * y + z * z);
      const bool centre = !(len > 0.0f);
      const float nx = centre ? 0.0f : x / len, ny = centre ? 0.0f : y / len, nz = centre ? 1.0f : z / len;
      const float cols[7] = {len - 2.0f, 2.0f * nx, 2.0f * ny, 2.0f * nz, nx, ny, nz};
      for (int c = 0; c < column_count; ++c) {
        if (columns[c] == nullptr) continue;
        if (c < 7) {
          columns[c][i] = cols[c];
        } else {
          const int j = c - kQueryOuts;
          columns[c][i] = std::sin(static_cast<float>(j) * x) + 0.5f * static_cast<float>(j);
        }
      }
    }
  }
  void query_range(const Interval xyz[3], Interval* columns, int column_count) const override {
    ++query_calls;
    for (int k = 0; k < 3; ++k) {
      if (!(xyz[k].lo <= xyz[k].hi)) ++bad_boxes;  // NaN or reversed bounds must not reach the host
    }
    double lo2 = 0, hi2 = 0;
    bool finite = true;
    for (int k = 0; k < 3; ++k) {
      const double lo = xyz[k].lo, hi = xyz[k].hi;
      if (!std::isfinite(lo) || !std::isfinite(hi)) finite = false;
      const double far = std::max(std::fabs(lo), std::fabs(hi));
      const double near = lo <= 0 && hi >= 0 ? 0.0 : std::min(std::fabs(lo), std::fabs(hi));
      lo2 += near * near;
      hi2 += far * far;
    }
    for (int c = 0; c < column_count; ++c) {
      if (!finite || hi2 > 1e30) {  // the point's computations may overflow to NaN
        columns[c] = Interval{};
      } else if (c == kQuerySignedDistance) {
        columns[c] = Interval{static_cast<float>(std::sqrt(lo2) * 0.999 - 2.001),
                              static_cast<float>(std::sqrt(hi2) * 1.001 - 1.999)};
      } else if (c < kQueryNormal) {
        columns[c] = Interval{-2.001f, 2.001f};
      } else if (c < kQueryOuts) {
        columns[c] = Interval{-1.001f, 1.001f};
      } else {
        const float j = static_cast<float>(c - kQueryOuts);
        columns[c] = Interval{-1.001f + 0.5f * j, 1.001f + 0.5f * j};
      }
    }
  }
  mutable int query_calls = 0;
  mutable int bad_boxes = 0;
};

/// Only what a host must provide: the default texture_range ([0, 1]) and query_range (unbounded).
class MinimalHost : public Host {
 public:
  void sample(int /*slot*/, std::size_t n, const float* u, const float* v, const float* /*lod*/,
              float* const rgba[4]) const override {
    for (std::size_t i = 0; i < n; ++i) {
      for (int c = 0; c < 4; ++c) rgba[c][i] = unit_hash(u[i], v[i], c);
    }
  }
  float texture_lod_bias(int /*slot*/) const override { return 0.0f; }
  void surface_query(std::size_t n, const float* const xyz[3], float* const* columns, int column_count) const override {
    for (int c = 0; c < column_count; ++c) {
      if (columns[c] == nullptr) continue;
      for (std::size_t i = 0; i < n; ++i) columns[c][i] = xyz[0][i] * static_cast<float>(c) - xyz[1][i];
    }
  }
};

// ---- helpers ----------------------------------------------------------------------------------

std::shared_ptr<const Program> compile_ok(const std::string& src) {
  CompileResult r = compile("interval_test.fl", src);
  EXPECT_TRUE(r.program != nullptr) << r.diagnostics.format_all() << "\n" << src;
  return r.program;
}

/// A volume phase with materials m0..m(n-1) whose weights are float(expression k), after
/// `prelude` (statements over x = P.x, y = P.y, z = P.z).
std::string volume_fablet(const std::string& prelude, const std::vector<std::string>& exprs,
                          const std::string& members = "", const std::string& file_level = "") {
  std::ostringstream s;
  s << file_level << "\nfablet T {\n";
  for (std::size_t k = 0; k < exprs.size(); ++k) s << "  uniform material m" << k << " = \"M" << k << "\";\n";
  s << members << "\n  volume(vec3 P) -> mixture {\n    float x = P.x; float y = P.y; float z = P.z;\n    " << prelude
    << "\n    return mixture(";
  for (std::size_t k = 0; k < exprs.size(); ++k) s << (k ? ", " : "") << "m" << k << ", float(" << exprs[k] << ")";
  s << ");\n  }\n}\n";
  return s.str();
}

std::int64_t float_order(float x) {
  const auto b = std::bit_cast<std::int32_t>(x);
  return b < 0 ? -static_cast<std::int64_t>(b & 0x7fffffff) : b;
}
float from_order(std::int64_t o) {
  return o < 0 ? std::bit_cast<float>(static_cast<std::uint32_t>(-o) | 0x80000000u)
               : std::bit_cast<float>(static_cast<std::uint32_t>(o));
}

/// A point inside `box` (NaN and infinities too when the box is the whole line).
float sample_in(const Interval& box, std::mt19937_64& rng) {
  const bool whole = box.lo == -kInf && box.hi == kInf;
  const bool broken = box.lo != box.lo || box.hi != box.hi || box.lo > box.hi;
  const float lo = broken ? -kInf : box.lo, hi = broken ? kInf : box.hi;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  switch (rng() % 8) {
    case 0:
      return lo;
    case 1:
      return hi;
    case 2:
      if (whole || broken) return rng() % 2 ? kNaN : (rng() % 2 ? kInf : -kInf);
      [[fallthrough]];
    case 3: {  // integers and halves, zero
      const double l = std::max<double>(lo, -1e6), h = std::min<double>(hi, 1e6);
      if (l > h) return lo;
      const double v = std::round((l + (h - l) * unit(rng)) * 2.0) / 2.0;
      const float fv = static_cast<float>(v);
      return fv >= lo && fv <= hi ? fv : lo;
    }
    case 4:
    case 5: {  // uniform in value
      const double l = std::max<double>(lo, -3e38), h = std::min<double>(hi, 3e38);
      const float v = static_cast<float>(l + (h - l) * unit(rng));
      return v >= lo && v <= hi ? v : hi;
    }
    default: {  // uniform in representation (every magnitude)
      const std::int64_t a = float_order(lo), b = float_order(hi);
      std::uniform_int_distribution<std::int64_t> d(a, b);
      return from_order(d(rng));
    }
  }
}

std::string show(const std::vector<float>& v) {
  std::ostringstream s;
  s.precision(9);
  for (float x : v) s << x << " ";
  return s.str();
}

struct CheckStats {
  int points = 0;
  int capped = 0;
};

/// Evaluates the intervals of `kernel` over `box`, then `samples` points inside the box with the
/// oracle; every output must lie in its interval. Returns the intervals.
std::vector<Interval> check_box(const Kernel& kernel, const Host& host, const std::vector<Interval>& box, int samples,
                                std::uint64_t seed, CheckStats* stats = nullptr, ExecOptions options = {},
                                const std::string& context = "") {
  const std::vector<Interval> bounds = evaluate_intervals(kernel, host, box, options);
  EXPECT_EQ(bounds.size(), static_cast<std::size_t>(kernel.output_count));
  PointOracle oracle(kernel, host, options);
  std::mt19937_64 rng(seed);
  std::vector<float> in(box.size()), out;
  int failures = 0;
  for (int s = 0; s < samples && failures < 5; ++s) {
    for (std::size_t k = 0; k < box.size(); ++k) in[k] = sample_in(box[k], rng);
    if (!oracle.run(in, out)) {
      if (stats) ++stats->capped;
      continue;
    }
    if (stats) ++stats->points;
    for (std::size_t k = 0; k < out.size() && k < bounds.size(); ++k) {
      if (bounds[k].contains(out[k])) continue;
      ++failures;
      ADD_FAILURE() << context << "output " << k << " = " << out[k] << " not in [" << bounds[k].lo << ", "
                    << bounds[k].hi << "]\n  inputs: " << show(in) << "\n"
                    << ir::dump(kernel.ir);
      break;
    }
  }
  return bounds;
}

std::vector<Interval> box3(Interval x, Interval y = {0, 0}, Interval z = {0, 0}) { return {x, y, z}; }

/// Boxes of many shapes: small, wide, straddling zero, tiny, huge, half-infinite, whole line.
std::vector<Interval> some_boxes_1d() {
  return {Interval{1.0f, 2.0f},
          Interval{-3.0f, 3.0f},
          Interval{0.1f, 5.0f},
          Interval{-100.0f, 100.0f},
          Interval{-1e6f, 1e6f},
          Interval{1e-40f, 1e-38f},
          Interval{-0.5f, -0.25f},
          Interval{0.0f, 0.0f},
          Interval{-2.5f, -2.5f},
          Interval{1e30f, 3e38f},
          Interval{0.0f, kInf},
          Interval{-kInf, -1.0f},
          Interval{},
          Interval{-1.0f, 1.0f},
          Interval{0.9f, 1.1f},
          Interval{-1e-3f, 1e-3f},
          Interval{2.0f, 2.0001f},
          Interval{-7.5f, -6.0f}};
}

constexpr int kMul = 20;  // samples per box multiplier (raised to 1000 once locally: no failures)
/// A random 1-D box: ends of random sign and magnitude, sometimes a point, an integer range, a
/// half-line or the whole line.
Interval random_box(std::mt19937_64& rng) {
  auto end = [&]() {
    const float mag = std::ldexp(std::uniform_real_distribution<float>(0.5f, 1.0f)(rng),
                                 static_cast<int>(rng() % 40) - 20 + (rng() % 10 == 0 ? 100 : 0));
    return rng() % 2 ? mag : -mag;
  };
  float a = end(), b = rng() % 3 == 0 ? a + end() * 0.01f : end();
  switch (rng() % 10) {
    case 0:
      b = a;
      break;
    case 1:
      a = std::round(a), b = std::round(b);
      break;
    case 2:
      b = kInf;
      break;
    case 3:
      a = 0.0f;
      break;
    case 4:
      return Interval{};
    default:
      break;
  }
  if (!(a <= b)) std::swap(a, b);
  return Interval{a, b};
}

/// Runs check_box over combinations of the 1-D boxes for (x, y, z), then over random boxes.
void check_many(const std::string& src, int samples, std::uint64_t seed, CheckStats* stats = nullptr) {
  auto prog = compile_ok(src);
  ASSERT_TRUE(prog);
  BoxHost host;
  const auto kernel = prog->kernel(Phase::volume, prog->defaults());
  const auto boxes = some_boxes_1d();
  std::mt19937_64 rng(seed);
  for (std::size_t a = 0; a < boxes.size(); ++a) {
    for (int rep = 0; rep < 3; ++rep) {
      const auto box = box3(boxes[a], boxes[rng() % boxes.size()], boxes[rng() % boxes.size()]);
      check_box(*kernel, host, box, samples * kMul, rng(), stats);
    }
  }
  for (int rep = 0; rep < 60; ++rep)
    check_box(*kernel, host, box3(random_box(rng), random_box(rng), random_box(rng)), samples * kMul, rng(), stats);
}

Interval single(const std::string& prelude, const std::string& expr, std::vector<Interval> box,
                const Host* host = nullptr, int samples = 2000) {
  auto prog = compile_ok(volume_fablet(prelude, {expr}));
  if (!prog) return {};
  BoxHost fallback;
  const Host& h = host ? *host : fallback;
  const auto kernel = prog->kernel(Phase::volume, prog->defaults());
  return check_box(*kernel, h, box, samples, 7)[0];
}

// ---- tests ------------------------------------------------------------------------------------

TEST(Interval, TightArithmetic) {
  const Interval s = single("", "x + y", box3({1, 2}, {3, 4}));
  EXPECT_EQ(s.lo, 4.0f);
  EXPECT_EQ(s.hi, 6.0f);
  const Interval d = single("", "x - y", box3({1, 2}, {3, 4}));
  EXPECT_EQ(d.lo, -3.0f);
  EXPECT_EQ(d.hi, -1.0f);
  const Interval p = single("", "x * y", box3({-1, 2}, {3, 4}));
  EXPECT_EQ(p.lo, -4.0f);
  EXPECT_EQ(p.hi, 8.0f);
  const Interval q = single("", "x / y", box3({1, 2}, {4, 8}));
  EXPECT_EQ(q.lo, 0.125f);
  EXPECT_EQ(q.hi, 0.5f);
  const Interval c = single("", "clamp(x * 10.0, 0.0, 1.0)", box3({-5, 5}));
  EXPECT_EQ(c.lo, 0.0f);
  EXPECT_EQ(c.hi, 1.0f);
  // Rounding: the float sum is bounded by the float sums of the ends, nothing wider.
  const Interval r = single("", "x + 0.1", box3({0.2f, 0.3f}));
  EXPECT_EQ(r.lo, 0.2f + 0.1f);
  EXPECT_EQ(r.hi, 0.3f + 0.1f);
}

TEST(Interval, FloatOpFamilies) {
  CheckStats stats;
  check_many(volume_fablet("", {"x + y", "x - y", "x * y", "x / y", "-x", "abs(x)", "sign(x)", "min(x, y)", "max(x, y)",
                                "clamp(x, y, z)", "mix(x, y, z)", "step(y, x)", "smoothstep(y, z, x)",
                                "smoothstep(0.0, 1.0, x)", "x * x - y"}),
             60, 1, &stats);
  check_many(volume_fablet("", {"floor(x)", "ceil(x)", "round(x)", "trunc(x)", "fract(x)", "mod(x, y)", "mod(x, 0.7)",
                                "mod(x, -2.5)", "fract(x * 1000.0)", "radians(x)", "degrees(y)"}),
             60, 2, &stats);
  check_many(volume_fablet("", {"sqrt(x)", "inversesqrt(x)", "pow(x, y)", "exp(x)", "exp2(y)", "log(x)", "log2(y)",
                                "sin(x)", "cos(y)", "tan(x)", "asin(x)", "acos(y)", "atan(x)", "atan2(x, y)",
                                "pow(x, 3.0)", "pow(x, -2.0)", "pow(2.0, x)", "pow(x, 0.5)"}),
             60, 3, &stats);
  EXPECT_GT(stats.points, 9000);
}

TEST(Interval, IntAndBoolFamilies) {
  CheckStats stats;
  const std::string prelude = "int i = int(x); int j = int(y); int k = int(z);";
  check_many(volume_fablet(prelude, {"i + j", "i - j", "i * j", "i / j", "i % j", "-i", "abs(i)", "sign(i)",
                                     "min(i, j)", "max(i, j)", "clamp(i, j, k)", "i * 1000003 + j", "i / 0", "i % 0",
                                     "i / -1", "(i + 2147483000) * 3", "float(i) * 0.5"}),
             100, 4, &stats);
  check_many(volume_fablet(prelude, {"x < y", "x <= y", "x == y", "x != y", "i < j", "i <= j", "i == j", "i != j",
                                     "(x < y) == (y < z)", "(x < y) != (i > k)", "x < y && y < z", "x < y || z > 0.0",
                                     "!(x >= y)", "x < y ? i : j", "x > 0.0 ? y : z", "bool(x)", "bool(i)",
                                     "int(x < y)", "float(x > 0.5)"}),
             100, 5, &stats);
  EXPECT_GT(stats.points, 9000);
}

TEST(Interval, SinAcrossCriticalPoints) {
  // A small range with a maximum inside reaches 1; a small monotone range stays close.
  const Interval top = single("", "sin(x)", box3({1.5f, 1.6f}));
  EXPECT_EQ(top.hi, 1.0f);
  EXPECT_NEAR(top.lo, std::sin(1.5f), 1e-6f);
  const Interval mono = single("", "sin(x)", box3({0.1f, 0.2f}));
  EXPECT_NEAR(mono.lo, std::sin(0.1f), 1e-6f);
  EXPECT_NEAR(mono.hi, std::sin(0.2f), 1e-6f);
  const Interval wide = single("", "sin(x)", box3({-100.0f, 100.0f}));
  EXPECT_EQ(wide.lo, -1.0f);
  EXPECT_EQ(wide.hi, 1.0f);
  const Interval c = single("", "cos(x)", box3({3.0f, 3.3f}));  // minimum at pi
  EXPECT_EQ(c.lo, -1.0f);
  EXPECT_LT(c.hi, -0.98f);
  // Sampled over many small windows around critical points at various magnitudes.
  auto prog = compile_ok(volume_fablet("", {"sin(x)", "cos(x)", "tan(x)"}));
  ASSERT_TRUE(prog);
  const auto kernel = prog->kernel(Phase::volume, prog->defaults());
  BoxHost host;
  std::mt19937_64 rng(11);
  for (int k = -40; k <= 40; ++k) {
    const float centre = static_cast<float>(k * 1.5707963267948966 * (k % 5 == 0 ? 997.0 : 1.0));
    const float width = std::ldexp(1.0f, -static_cast<int>(rng() % 20));
    check_box(*kernel, host, box3({centre - width, centre + width}), 300, rng());
    check_box(*kernel, host, box3({centre, std::nextafter(centre, kInf)}), 20, rng());
  }
}

TEST(Interval, PowWithNegativeBasesAndZeros) {
  const Interval cube = single("", "pow(x, 3.0)", box3({-3.0f, -0.5f}));
  EXPECT_LE(cube.lo, -27.0f);
  EXPECT_GT(cube.lo, -27.01f);
  EXPECT_GE(cube.hi, -0.125f);
  EXPECT_LT(cube.hi, -0.12f);
  const Interval square = single("", "pow(x, 2.0)", box3({-3.0f, -0.5f}));
  EXPECT_GT(square.lo, 0.24f);
  EXPECT_LT(square.hi, 9.01f);
  const Interval noninteger = single("", "pow(x, y)", box3({-3.0f, -0.5f}, {0.25f, 0.75f}));
  EXPECT_EQ(noninteger, Interval{});  // NaN: the whole line
  CheckStats stats;
  check_many(volume_fablet("", {"pow(x, y)", "pow(x, floor(y))", "pow(-x, z)", "pow(x * 0.0, y)", "pow(x, -1.0)",
                                "pow(x, 0.0)", "pow(1.0, y)"}),
             80, 12, &stats);
  EXPECT_GT(stats.points, 4000);
}

TEST(Interval, ModFractFloorTightness) {
  const Interval m = single("", "mod(x, 1.0)", box3({-100.0f, 100.0f}));
  EXPECT_GE(m.lo, -1e-3f);
  EXPECT_LE(m.hi, 1.001f);
  const Interval m2 = single("", "mod(x, 0.25)", box3({10.0f, 10.2f}));
  EXPECT_GE(m2.lo, -1e-4f);
  EXPECT_LE(m2.hi, 0.2501f);
  const Interval f = single("", "fract(x)", box3({-1e4f, 1e4f}));
  EXPECT_EQ(f.lo, 0.0f);
  EXPECT_EQ(f.hi, 1.0f);
  const Interval g = single("", "fract(x)", box3({3.25f, 3.5f}));
  EXPECT_EQ(g.lo, 0.25f);
  EXPECT_EQ(g.hi, 0.5f);
  const Interval fl = single("", "floor(x)", box3({-1.5f, 2.5f}));
  EXPECT_EQ(fl.lo, -2.0f);
  EXPECT_EQ(fl.hi, 2.0f);
  const Interval s = single("", "smoothstep(0.0, 1.0, x)", box3({-5.0f, 5.0f}));
  EXPECT_EQ(s.lo, 0.0f);
  EXPECT_LT(s.hi, 1.00001f);
}

TEST(Interval, IntWrapAround) {
  // Entirely past INT_MAX: shifted as a whole.
  const Interval shifted = single("int i = int(x);", "i + 2147483000", box3({1000.0f, 2000.0f}));
  EXPECT_EQ(shifted.lo, static_cast<float>(1000LL + 2147483000LL - 4294967296LL));
  EXPECT_EQ(shifted.hi, static_cast<float>(2000LL + 2147483000LL - 4294967296LL));
  // Straddling the wrap: everything.
  const Interval straddle = single("int i = int(x);", "i + 2147483000", box3({0.0f, 1000.0f}));
  EXPECT_EQ(straddle.lo, -2147483648.0f);
  EXPECT_EQ(straddle.hi, 2147483648.0f);
  const Interval tight = single("int i = int(x);", "i * 3 + 1", box3({-10.0f, 10.0f}));
  EXPECT_EQ(tight.lo, -29.0f);
  EXPECT_EQ(tight.hi, 31.0f);
  const Interval rem = single("int i = int(x);", "i % 5", box3({0.0f, 100.0f}));
  EXPECT_EQ(rem.lo, 0.0f);
  EXPECT_EQ(rem.hi, 4.0f);
  const Interval min_over_neg1 = single("int i = int(x); int j = int(y);", "i / j", box3({-3e9f, -2e9f}, {-1, -1}));
  EXPECT_EQ(min_over_neg1.lo, -2147483648.0f);  // INT_MIN / -1 = INT_MIN
}

TEST(Interval, DivisionByZero) {
  const Interval f = single("", "1.0 / x", box3({-1.0f, 1.0f}));
  EXPECT_EQ(f.lo, -kInf);
  EXPECT_EQ(f.hi, kInf);
  const Interval z = single("", "x / y", box3({-1.0f, 1.0f}, {0.0f, 0.0f}));
  EXPECT_EQ(z, Interval{});  // 0 / 0 is NaN
  const Interval i = single("int i = int(x); int j = int(y);", "i / j", box3({5.0f, 9.0f}, {-0.5f, 0.5f}));
  EXPECT_EQ(i.lo, 0.0f);
  EXPECT_EQ(i.hi, 0.0f);
  const Interval m = single("int i = int(x); int j = int(y);", "i % j", box3({5.0f, 9.0f}, {-1.0f, 1.0f}));
  EXPECT_EQ(m.lo, 0.0f);
  EXPECT_EQ(m.hi, 0.0f);
}

TEST(Interval, DivergentIf) {
  const std::string prelude = "float w = 0.0; if (x > 0.0) { w = y; } else { w = -2.0 * y; }";
  const Interval both = single(prelude, "w", box3({-1.0f, 1.0f}, {1.0f, 2.0f}));
  EXPECT_EQ(both.lo, -4.0f);
  EXPECT_EQ(both.hi, 2.0f);
  const Interval then_only = single(prelude, "w", box3({0.5f, 1.0f}, {1.0f, 2.0f}));
  EXPECT_EQ(then_only.lo, 1.0f);
  EXPECT_EQ(then_only.hi, 2.0f);
  CheckStats stats;
  check_many(volume_fablet("float w = x; if (x > y) { w = sqrt(x - y); if (z < 0.0) { w = w * z; } }"
                           " else if (z > 1.0) { w = log(z); } else { w = 1.0 / (y - x); }",
                           {"w", "w * w"}),
             80, 13, &stats);
  EXPECT_GT(stats.points, 4000);
}

TEST(Interval, ConstantTripCountLoopsStayTight) {
  const Interval s = single("float s = 0.0; for (int i = 0; i < 6; i += 1) { s += x; }", "s", box3({1.0f, 2.0f}));
  EXPECT_EQ(s.lo, 6.0f);
  EXPECT_EQ(s.hi, 12.0f);
  const Interval n = single("int n = 0; for (int i = 0; i < int(x); i += 1) { n += 2; }", "n", box3({0.0f, 10.0f}));
  EXPECT_EQ(n.lo, 0.0f);
  EXPECT_EQ(n.hi, 20.0f);
}

TEST(Interval, InputDependentLoopsWidenAndTerminate) {
  // Halving until below 1: up to ~128 rounds for huge x, beyond the unrolling.
  const Interval h = single("float v = x; while (v > 1.0) { v = v * 0.5; }", "v", box3({0.0f, 3e38f}));
  EXPECT_LE(h.lo, 0.0f);
  EXPECT_GE(h.hi, 1.0f);
  // Accumulation with an input-dependent, large trip count widens to infinity.
  const Interval acc = single("float s = 0.0; int i = 0; while (float(i) < x) { s += y; i += 1; }", "s",
                              box3({0.0f, 500.0f}, {1, 2}), nullptr, 200);
  EXPECT_LE(acc.lo, 0.0f);
  EXPECT_EQ(acc.hi, kInf);
  // Trip counts up to 300 (past the unrolling) with a branch in the body: fixed point + widening.
  const Interval w = single(
      "float s = x; int i = 0; while (i < int(y)) { s = s * 0.9 + z;"
      " if (s > 5.0) { s -= 3.0; } i += 1; }",
      "s", box3({-2.0f, 2.0f}, {0.0f, 300.0f}, {0.0f, 1.0f}), nullptr, 1000);
  EXPECT_LE(w.lo, -2.0f);
  CheckStats stats;
  check_many(volume_fablet("float s = 0.0; float v = x; int n = int(abs(y)) % 7;"
                           " for (int i = 0; i < n; i += 1) { s += v; v = v * 0.5 + z;"
                           "   for (int j = 0; j < i; j += 1) { if (s > 10.0) break; s -= 0.25; } }"
                           " int k = 0; while (v > 2.0 && k < 40) { v = sqrt(v); k += 1; }",
                           {"s", "v", "float(k)"}),
             40, 14, &stats);
  EXPECT_GT(stats.points, 1000);
}

TEST(Interval, LoopsThatHitTheCap) {
  auto prog = compile_ok(volume_fablet("float v = x; while (v > 0.0) { v = v - 1.0; }", {"v"}));
  ASSERT_TRUE(prog);
  const auto kernel = prog->kernel(Phase::volume, prog->defaults());
  BoxHost host;
  ExecOptions small;
  small.loop_cap = 5;
  CheckStats stats;
  const auto r = check_box(*kernel, host, box3({-3.0f, 20.0f}), 400, 3, &stats, small);
  EXPECT_GT(stats.capped, 0);
  EXPECT_GT(stats.points, 0);
  // Big inputs never finish (v - 1 == v): the default cap applies and evaluation still ends.
  const auto big = check_box(*kernel, host, box3({1e30f, 2e30f}), 2, 3, nullptr);
  EXPECT_EQ(big.size(), 1u);
  (void)r;
}

TEST(Interval, NoiseFbmCellular) {
  CheckStats stats;
  check_many(
      volume_fablet("int o = int(abs(z)) % 9;",
                    {"noise(vec2(x, y))", "noise(vec3(x, y, z))", "fbm(vec2(x, y), 4)", "fbm(vec3(x, y, z), o)",
                     "turbulence(vec3(x, y, z), o, 2.0, 0.5)", "fbm(vec2(x, z), o, y, 0.7)",
                     "fbm(vec3(x, y, z), 5, 2.0, y)", "turbulence(vec2(x, y), 3, 1.5, -0.6)", "cellular(vec2(x, y)).x",
                     "cellular(vec2(x, y)).y", "cellular(vec3(x, y, z)).x", "cellular(vec3(x, y, z)).y"}),
      60, 15, &stats);
  EXPECT_GT(stats.points, 3000);
  const Interval n = single("", "noise(vec3(x, y, z))", box3({0, 10}, {0, 10}, {0, 10}));
  EXPECT_EQ(n.lo, -1.0f);
  EXPECT_EQ(n.hi, 1.0f);
  // A small box gets the noise's own variation over it, not [-1, 1].
  const Interval small = single("", "0.3 * noise(vec2(x, y) * 8.0)", box3({0.51f, 0.52f}, {0.30f, 0.31f}));
  EXPECT_GT(small.lo, -0.3f);
  EXPECT_LT(small.hi, 0.3f);
  EXPECT_LT(small.hi - small.lo, 0.1f);
  EXPECT_LE(small.lo, 0.3f * noise::perlin2(0.515f * 8.0f, 0.305f * 8.0f));
  EXPECT_GE(small.hi, 0.3f * noise::perlin2(0.515f * 8.0f, 0.305f * 8.0f));
  const Interval f = single("", "fbm(vec3(x, y, z), 3)", box3({0, 10}, {0, 10}, {0, 10}));
  EXPECT_EQ(f.hi, 1.75f);
  EXPECT_EQ(f.lo, -1.75f);
  const Interval t = single("", "turbulence(vec3(x, y, z), 2)", box3({0, 10}, {0, 10}, {0, 10}));
  EXPECT_EQ(t.lo, 0.0f);
  EXPECT_EQ(t.hi, 1.5f);
  const Interval c = single("", "cellular(vec2(x, y)).x", box3({0, 10}, {0, 10}));
  EXPECT_EQ(c.lo, 0.0f);
  EXPECT_LT(c.hi, 1.5f);
}

TEST(Interval, TexturesUseTheHostRange) {
  const std::string members = "  uniform texture t0 = \"a.png\";\n  uniform texture t1 = \"b.png\";\n";
  auto prog = compile_ok(volume_fablet("vec4 a = sample(t0, vec2(x, y)); vec4 b = sample_lod(t1, vec2(y, x), z);",
                                       {"a.r", "a.g", "a.b", "a.a", "b.r", "b.g", "b.b", "b.a", "a.g * b.b"}, members));
  ASSERT_TRUE(prog);
  const auto kernel = prog->kernel(Phase::volume, prog->defaults());
  BoxHost host;
  const auto r = check_box(*kernel, host, box3({-5, 5}, {-5, 5}, {0, 3}), 2000, 16);
  ASSERT_EQ(r.size(), 9u);
  EXPECT_EQ(r[1], (Interval{-2.0f, -1.0f}));
  EXPECT_EQ(r[3], (Interval{10.0f, 20.0f}));
  EXPECT_EQ(r[6], (Interval{5.0f, 6.0f}));
  EXPECT_EQ(r[8], (Interval{-12.0f, -5.0f}));
}

TEST(Interval, SurfaceQueriesUseTheHostRange) {
  const std::string members =
      "  out float shade;\n  out vec2 tex;\n"
      "  surface(vec3 P, vec3 N) -> vec3 { shade = P.x; tex = P.yz; return P; }\n";
  auto prog = compile_ok(volume_fablet("",
                                       {"surface_distance()", "surface_signed_distance()", "surface_point().y",
                                        "surface_normal().z", "shade", "tex.y", "shade + tex.x * surface_distance()"},
                                       members));
  ASSERT_TRUE(prog);
  const auto kernel = prog->kernel(Phase::volume, prog->defaults());
  BoxHost host;
  const auto r = check_box(*kernel, host, box3({1, 2}, {1, 2}, {1, 2}), 2000, 17);
  EXPECT_EQ(host.query_calls, 1);
  ASSERT_EQ(r.size(), 7u);
  EXPECT_GE(r[1].lo, -0.3f);  // |p| in [sqrt(3), sqrt(12)]
  EXPECT_LE(r[1].hi, 1.5f);
  EXPECT_EQ(r[3], (Interval{-1.001f, 1.001f}));
  EXPECT_EQ(r[4], (Interval{-1.001f, 1.001f}));
  EXPECT_EQ(r[5], (Interval{-1.001f + 0.5f * 2.0f, 1.001f + 0.5f * 2.0f}));  // out column 2
  // Unbounded and huge boxes.
  check_box(*kernel, host, box3({}, {0, 1}, {-kInf, 0}), 500, 18);
  check_box(*kernel, host, box3({-1e20f, 1e20f}, {0, 1}, {-1, 0}), 500, 18);
}

TEST(Interval, DefaultHostRanges) {
  const std::string members = "  uniform texture t0 = \"a.png\";\n  out float shade;\n";
  auto prog = compile_ok(volume_fablet("vec4 a = sample(t0, vec2(x, y));",
                                       {"a.r", "a.a * 2.0", "surface_distance()", "shade + 1.0", "x + y"}, members));
  ASSERT_TRUE(prog);
  const auto kernel = prog->kernel(Phase::volume, prog->defaults());
  MinimalHost host;
  const auto r = check_box(*kernel, host, box3({-5, 5}, {-5, 5}, {0, 3}), 1000, 22);
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[0], (Interval{0.0f, 1.0f}));
  EXPECT_EQ(r[1], (Interval{0.0f, 2.0f}));
  EXPECT_EQ(r[2], Interval{});
  EXPECT_EQ(r[3], Interval{});
  EXPECT_EQ(r[4], (Interval{-10.0f, 10.0f}));
}

TEST(Interval, NanAndWholeLineInputsDoNotCrash) {
  auto prog = compile_ok(volume_fablet("float s = 0.0; for (int i = 0; i < int(x); i += 1) { s += y; }",
                                       {"x + y", "s", "sin(x) * cos(y)", "x < y ? 1.0 : 2.0", "float(int(x))"}));
  ASSERT_TRUE(prog);
  const auto kernel = prog->kernel(Phase::volume, prog->defaults());
  BoxHost host;
  const std::vector<Interval> boxes = {Interval{kNaN, kNaN},  Interval{kNaN, 1.0f}, Interval{},
                                       Interval{3.0f, -3.0f}, Interval{kInf, kInf}, Interval{-kInf, -kInf}};
  ExecOptions options;
  options.loop_cap = 1000;  // int(x) may be huge; keep the oracle quick
  for (const Interval& a : boxes) {
    for (const Interval& b : boxes) check_box(*kernel, host, box3(a, b, b), 100, 19, nullptr, options);
  }
  const auto r = evaluate_intervals(*kernel, host, {Interval{}, Interval{1, 2}, Interval{1, 2}}, options);
  EXPECT_EQ(r[0], Interval{});
  EXPECT_EQ(r[2], Interval{});  // sin(inf) is NaN
  EXPECT_EQ(r[3], (Interval{1.0f, 2.0f}));
  // Bad boxes reach a query host as the whole line.
  auto queries = compile_ok(volume_fablet("", {"surface_distance() + x"}));
  ASSERT_TRUE(queries);
  const auto query_kernel = queries->kernel(Phase::volume, queries->defaults());
  for (const Interval& a : boxes) check_box(*query_kernel, host, box3(a, a, {0, 1}), 50, 23);
  EXPECT_GT(host.query_calls, 0);
  EXPECT_EQ(host.bad_boxes, 0);
  const auto s = evaluate_intervals(*kernel, host, {Interval{0, 1}, Interval{}, Interval{}}, options);
  EXPECT_EQ(s[2], Interval{});
  EXPECT_EQ(s[4], (Interval{0.0f, 1.0f}));
  // Fewer inputs than the kernel reads: the missing ones are unbounded.
  const auto short_inputs = evaluate_intervals(*kernel, host, {Interval{1, 2}});
  EXPECT_EQ(short_inputs[0], Interval{});
}

TEST(Interval, UnspecialisedUniformsAreExact) {
  auto prog =
      compile_ok(volume_fablet("", {"x * k + float(n)", "flag ? x : -x"},
                               "  uniform float k = 2.5;\n  uniform int n = 3;\n  uniform bool flag = true;\n"));
  ASSERT_TRUE(prog);
  const auto kernel = prog->kernel(Phase::volume, prog->defaults(), KernelOptions{false, true});
  BoxHost host;
  const auto r = check_box(*kernel, host, box3({1, 2}), 500, 20);
  EXPECT_EQ(r[0], (Interval{5.5f, 8.0f}));
  EXPECT_EQ(r[1], (Interval{1.0f, 2.0f}));
}

TEST(Interval, SurfacePhase) {
  auto prog = compile_ok(
      "fablet T {\n uniform material a = \"A\";\n uniform texture t = \"t.png\";\n out float h;\n"
      " surface(vec3 P, vec3 N, vec2 uv) -> vec3 {\n"
      "   float s = sample(t, uv).r;\n   h = s;\n   return P + N * (s * 0.5);\n }\n}\n");
  ASSERT_TRUE(prog);
  const auto kernel = prog->kernel(Phase::surface, prog->defaults());
  BoxHost host;
  const std::vector<Interval> box = {{0, 1}, {0, 1}, {0, 1}, {-1, 1}, {-1, 1}, {-1, 1}, {0, 1}, {0, 1}};
  const auto r = check_box(*kernel, host, box, 2000, 21);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0], (Interval{-0.5f, 1.5f}));
  EXPECT_EQ(r[3], (Interval{0.0f, 1.0f}));
}

// The documented examples: bounds stay useful (weights within [0, 1], not the whole line).
TEST(Interval, DocumentedExamplesGiveUsefulBounds) {
  const std::string marble =
      "fablet Marble {\n  uniform material vein = \"VeroBlack\";\n  uniform material stone = \"VeroWhite\";\n"
      "  uniform float scale = 0.2;\n  uniform float bands = 4.0;\n  volume(vec3 P) -> mixture {\n"
      "    float n = fbm(P * scale, 3);\n    float s = 0.5 + 0.5 * sin((P.x * scale + 2.0 * n) * bands);\n"
      "    return mix(mixture(stone, 1.0), mixture(vein, 1.0), smoothstep(0.6, 0.9, s));\n  }\n}\n";
  const std::string rods =
      "const int RODS = 6;\n"
      "float helix_distance(vec3 p, float radius, float pitch, float phase) {\n"
      "  float a = atan2(p.y, p.x);\n  float t = mod(p.z / pitch * TAU - a + phase, TAU);\n"
      "  float dz = (t > PI ? t - TAU : t) * pitch / TAU;\n  return length(vec2(length(p.xy) - radius, dz));\n}\n"
      "fablet Rods {\n  uniform material rigid = \"VeroBlack\";\n  uniform material soft = \"Agilus30\";\n"
      "  uniform float radius = 4.0;\n  uniform float pitch = 12.0;\n  uniform float rod = 0.8;\n"
      "  volume(vec3 P) -> mixture {\n    float best = INFINITY;\n"
      "    for (int i = 0; i < RODS; i += 1) {\n"
      "      best = min(best, helix_distance(P, radius, pitch, TAU * float(i) / float(RODS)));\n    }\n"
      "    return best < rod ? mixture(rigid, 1.0) : mixture(soft, 1.0);\n  }\n}\n";
  BoxHost host;
  for (const std::string& src : {marble, rods}) {
    auto prog = compile_ok(src);
    ASSERT_TRUE(prog);
    const auto kernel = prog->kernel(Phase::volume, prog->defaults());
    for (float size : {0.1f, 1.0f, 10.0f}) {
      const auto r =
          check_box(*kernel, host, box3({3.0f, 3.0f + size}, {-1.0f, -1.0f + size}, {2.0f, 2.0f + size}), 2000, 24);
      for (const Interval& w : r) {
        EXPECT_GE(w.lo, -1e-3f);
        EXPECT_LE(w.hi, 1.001f);
      }
    }
  }
  // Far from every rod, a small box is decided: all soft.
  auto prog = compile_ok(rods);
  ASSERT_TRUE(prog);
  const auto r = check_box(*prog->kernel(Phase::volume, prog->defaults()), host,
                           box3({10.0f, 10.1f}, {10.0f, 10.1f}, {0.0f, 0.1f}), 500, 25);
  EXPECT_EQ(r[0], (Interval{0.0f, 0.0f}));
  EXPECT_EQ(r[1], (Interval{1.0f, 1.0f}));
}

// Random programs from the generator: every phase, random boxes around random centres.
TEST(Interval, RandomProgramsContainment) {
  constexpr std::uint64_t kSeeds = 400;
  int programs = 0;
  CheckStats stats;
  for (std::uint64_t seed = 1; seed <= kSeeds; ++seed) {
    testgen::GenOptions gen;
    if (seed % 2 == 0) {  // deeper programs: more nesting of loops and branches
      gen.max_expr_depth = 5;
      gen.max_stmt_depth = 4;
    }
    const std::string src = testgen::generate_program(seed, gen);
    CompileResult c = compile("gen.fl", src);
    EXPECT_TRUE(c.program) << "the generator wrote an invalid program\n" << c.diagnostics.format_all() << "\n" << src;
    if (!c.program) continue;
    const auto& prog = c.program;
    testgen::SphereHost host(testgen::make_test_textures(prog->texture_count()), 3.0f);
    std::mt19937_64 rng(seed * 7919);
    for (Phase phase : {Phase::surface, Phase::volume}) {
      const auto kernel = prog->kernel(phase, prog->defaults());
      for (int b = 0; b < 4; ++b) {
        std::vector<Interval> box(static_cast<std::size_t>(kernel->input_count));
        for (Interval& x : box) {
          const float centre = std::uniform_real_distribution<float>(-4.0f, 4.0f)(rng);
          const float half = std::ldexp(1.0f, static_cast<int>(rng() % 8) - 5);
          // Whole-line inputs only in the surface phase: SphereHost bounds its query columns for
          // finite boxes only.
          const bool whole = phase == Phase::surface && b == 3 && rng() % 4 == 0;
          x = whole ? Interval{} : Interval{centre - half, centre + half};
        }
        check_box(*kernel, host, box, 150, rng(), &stats, {},
                  "seed " + std::to_string(seed) + " phase " + std::string(phase_name(phase)) + "\n" + src + "\n");
      }
    }
    ++programs;
  }
  EXPECT_GT(programs, 0);
  EXPECT_GT(stats.points, 10000);
}

}  // namespace
}  // namespace fabforge::openfl
