// The batched SoA interpreter: runs a kernel's bytecode (bytecode_code.hpp) over batches of
// kBatchLanes lanes. Every register is an array of lanes and every instruction one plain loop over
// them, which GCC vectorises; the scalar arithmetic is that of scalar_math.hpp, inlined, so
// results are bit-identical with constant folding and the reference interpreter. Noise, textures
// and the surface query are one batch call per instruction (per batch for the query).

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "fabforge/core/error.hpp"
#include "fabforge/openfl/bytecode.hpp"
#include "fabforge/openfl/exec.hpp"
#include "fabforge/openfl/noise.hpp"
#include "fabforge/openfl/scalar_math.hpp"

#include "bytecode_code.hpp"

namespace fabforge::openfl {

namespace {

using bytecode::Instr;
using bytecode::Opc;
constexpr std::size_t kLanes = BatchExecutor::kBatchLanes;

/// Lane arrays, 64-byte aligned.
template <class T>
class LaneBuffer {
 public:
  void resize(std::size_t arrays) {
    storage_.assign(arrays * kLanes + kPad, T{});
    auto addr = reinterpret_cast<std::uintptr_t>(storage_.data());
    const std::uintptr_t aligned = (addr + 63) & ~std::uintptr_t{63};
    base_ = storage_.data() + (aligned - addr) / sizeof(T);
  }
  T* at(std::size_t k) { return base_ + k * kLanes; }

 private:
  static constexpr std::size_t kPad = 64 / sizeof(T);
  std::vector<T> storage_;
  T* base_ = nullptr;
};

// One loop per operation over m lanes. Destinations never alias sources (the assembler
// guarantees it), hence __restrict.
template <class D, class A, class Fn>
inline void map1(D* __restrict d, const A* __restrict a, std::size_t m, Fn fn) {
  for (std::size_t i = 0; i < m; ++i) d[i] = fn(a[i]);
}
template <class D, class A, class B, class Fn>
inline void map2(D* __restrict d, const A* __restrict a, const B* __restrict b, std::size_t m, Fn fn) {
  for (std::size_t i = 0; i < m; ++i) d[i] = fn(a[i], b[i]);
}
template <class D, class A, class B, class C, class Fn>
inline void map3(D* __restrict d, const A* __restrict a, const B* __restrict b, const C* __restrict c, std::size_t m,
                 Fn fn) {
  for (std::size_t i = 0; i < m; ++i) d[i] = fn(a[i], b[i], c[i]);
}

std::int32_t of_bool(bool b) { return b ? 1 : 0; }

}  // namespace

struct BatchExecutor::Scratch {
  const bytecode::Code* code = nullptr;
  LaneBuffer<float> f_store;
  LaneBuffer<std::int32_t> i_store;
  std::vector<float*> f;
  std::vector<std::int32_t*> i;
  LaneBuffer<std::int32_t> masks;  ///< max_depth + 1 levels
  std::vector<std::uint32_t> loop_count;
  LaneBuffer<float> inputs;   ///< padded input columns for a final partial batch
  LaneBuffer<float> queries;  ///< surface query columns
  std::vector<float*> query_columns;
  LaneBuffer<float> tex;  ///< gathered u, v, lod, r, g, b, a
  std::vector<std::uint32_t> tex_lanes;

  float* fr(std::uint32_t r) const { return f[r]; }
  std::int32_t* ir(std::uint32_t r) const { return i[r]; }
  std::int32_t* mask(std::uint32_t level) { return masks.at(level); }

  void execute(const Host& host, Phase phase, std::size_t len, std::size_t m, std::uint32_t loop_cap);
  void texture(const Host& host, Phase phase, const Instr& in, std::size_t len, const std::int32_t* active);
  [[noreturn]] void loop_error(std::uint32_t loop, std::uint32_t cap) const;
};

BatchExecutor::BatchExecutor(std::shared_ptr<const Kernel> kernel, ExecOptions options)
    : kernel_(std::move(kernel)), options_(options), scratch_(std::make_unique<Scratch>()) {
  FABFORGE_CHECK(kernel_ != nullptr && kernel_->code != nullptr, "BatchExecutor needs an assembled kernel");
  const bytecode::Code& code = *kernel_->code;
  Scratch& s = *scratch_;
  s.code = &code;
  s.f_store.resize(code.f_regs);
  s.i_store.resize(code.i_regs);
  for (std::uint32_t r = 0; r < code.f_regs; ++r) s.f.push_back(s.f_store.at(r));
  for (std::uint32_t r = 0; r < code.i_regs; ++r) s.i.push_back(s.i_store.at(r));
  for (const bytecode::RegConst& c : code.f_consts) std::fill_n(s.f[c.reg], kLanes, std::bit_cast<float>(c.bits));
  for (const bytecode::RegConst& c : code.i_consts) std::fill_n(s.i[c.reg], kLanes, static_cast<std::int32_t>(c.bits));
  const ir::UniformColumns& u = kernel_->uniform_values;
  for (const bytecode::RegUniform& r : code.uniforms) {
    FABFORGE_CHECK(r.column < u.bits.size() && r.column < u.types.size() && u.types[r.column] == r.type,
                   "uniform column " + std::to_string(r.column) + " has no value of its type");
    if (bytecode::is_float(r.type)) {
      std::fill_n(s.f[r.reg], kLanes, std::bit_cast<float>(u.bits[r.column]));
    } else {
      std::fill_n(s.i[r.reg], kLanes, static_cast<std::int32_t>(u.bits[r.column]));
    }
  }
  s.masks.resize(code.max_depth + 1);
  s.loop_count.assign(code.loops.size(), 0);
  s.inputs.resize(static_cast<std::size_t>(code.input_count));
  s.queries.resize(static_cast<std::size_t>(code.query_count));
  // The host fills only the columns the kernel reads (null: not wanted).
  s.query_columns.assign(static_cast<std::size_t>(code.query_count), nullptr);
  for (const bytecode::RegColumn& q : code.queries) s.f[q.reg] = s.query_columns.at(q.column) = s.queries.at(q.column);
  s.tex.resize(7);
  s.tex_lanes.resize(kLanes);
  FABFORGE_CHECK(code.query_count == 0 || code.input_count >= 3, "a surface query needs the point P as input");
}

BatchExecutor::~BatchExecutor() = default;
BatchExecutor::BatchExecutor(BatchExecutor&&) noexcept = default;
BatchExecutor& BatchExecutor::operator=(BatchExecutor&&) noexcept = default;

void BatchExecutor::run(const Host& host, std::size_t n, const float* const* inputs, float* const* outputs) {
  Scratch& s = *scratch_;
  const bytecode::Code& code = *kernel_->code;
  for (std::size_t off = 0; off < n; off += kLanes) {
    const std::size_t len = std::min(kLanes, n - off);
    const std::size_t m = (len + 7) & ~std::size_t{7};
    for (const bytecode::RegColumn& in : code.inputs) {
      const float* column = inputs[in.column] + off;
      if (len == kLanes) {
        // read only: the assembler never writes an input register
        s.f[in.reg] = const_cast<float*>(column);
      } else {
        float* pad = s.inputs.at(in.column);
        std::copy_n(column, len, pad);
        std::fill(pad + len, pad + kLanes, 0.0f);
        s.f[in.reg] = pad;
      }
    }
    std::int32_t* top = s.mask(0);
    for (std::size_t i = 0; i < kLanes; ++i) top[i] = of_bool(i < len);
    if (code.query_count > 0) {
      const float* xyz[3] = {inputs[0] + off, inputs[1] + off, inputs[2] + off};
      host.surface_query(len, xyz, s.query_columns.data(), code.query_count);
    }
    s.execute(host, kernel_->phase, len, m, options_.loop_cap);
    for (std::size_t k = 0; k < code.outputs.size(); ++k) {
      const bytecode::TypedReg& o = code.outputs[k];
      float* out = outputs[k] + off;
      if (bytecode::is_float(o.type)) {
        std::copy_n(s.f[o.reg], len, out);
      } else {
        const std::int32_t* src = s.i[o.reg];
        for (std::size_t i = 0; i < len; ++i) out[i] = static_cast<float>(src[i]);
      }
    }
  }
}

void BatchExecutor::Scratch::loop_error(std::uint32_t loop, std::uint32_t cap) const {
  const std::string& where = code->loops[loop].where;
  throw runtime_error((where.empty() ? std::string() : where + ": ") + "loop ran more than " + std::to_string(cap) +
                      " iterations");
}

void BatchExecutor::Scratch::texture(const Host& host, Phase phase, const Instr& in, std::size_t len,
                                     const std::int32_t* active) {
  const float* u = fr(in.a);
  const float* v = fr(in.b);
  float* rgba[4] = {fr(code->extra[in.x]), fr(code->extra[in.x + 1]), fr(code->extra[in.x + 2]),
                    fr(code->extra[in.x + 3])};
  const int slot = static_cast<int>(in.imm);
  const float* lod = nullptr;
  if (in.op == Opc::tex_lod) {
    lod = fr(in.c);
  } else {
    float* l = tex.at(2);
    std::fill_n(l, kLanes, 0.0f);
    if (phase == Phase::surface) {
      const float bias = host.texture_lod_bias(slot);
      for (std::size_t q = 0; q + 4 <= len; q += 4) {
        if (!(active[q] && active[q + 1] && active[q + 2] && active[q + 3])) continue;
        const float dudx = u[q + 1] - u[q], dvdx = v[q + 1] - v[q];
        const float dudy = u[q + 2] - u[q], dvdy = v[q + 2] - v[q];
        const float level =
            sm::flog2(sm::fmax(sm::fsqrt(dudx * dudx + dvdx * dvdx), sm::fsqrt(dudy * dudy + dvdy * dvdy)));
        l[q] = l[q + 1] = l[q + 2] = l[q + 3] = level + bias;
      }
    }
    lod = l;
  }
  std::size_t count = 0;
  for (std::size_t k = 0; k < len; ++k) {
    tex_lanes[count] = static_cast<std::uint32_t>(k);
    count += active[k] != 0 ? 1 : 0;
  }
  if (count == len) {
    host.sample(slot, len, u, v, lod, rgba);
    return;
  }
  if (count == 0) return;
  float* gu = tex.at(0);
  float* gv = tex.at(1);
  float* gl = tex.at(2);  // may be lod itself: gathering moves lanes down only, so in place is safe
  for (std::size_t k = 0; k < count; ++k) {
    const std::uint32_t lane = tex_lanes[k];
    gu[k] = u[lane];
    gv[k] = v[lane];
    gl[k] = lod[lane];
  }
  float* out[4] = {tex.at(3), tex.at(4), tex.at(5), tex.at(6)};
  host.sample(slot, count, gu, gv, gl, out);
  for (int c = 0; c < 4; ++c)
    for (std::size_t k = 0; k < count; ++k) rgba[c][tex_lanes[k]] = out[c][k];
}

void BatchExecutor::Scratch::execute(const Host& host, Phase phase, std::size_t len, std::size_t m,
                                     std::uint32_t loop_cap) {
  const Instr* const code_begin = code->instrs.data();
  const std::size_t size = code->instrs.size();
  const std::uint32_t* extra = code->extra.data();
  std::uint32_t depth = 0;
  std::size_t pc = 0;
  // clang-format off
#define FF1(NAME, EXPR) case Opc::NAME: map1(fr(in.dst), fr(in.a), m, [](float a) { return EXPR; }); break;
#define FF2(NAME, EXPR) case Opc::NAME: map2(fr(in.dst), fr(in.a), fr(in.b), m, [](float a, float b) { return EXPR; }); break;
#define II1(NAME, EXPR) case Opc::NAME: map1(ir(in.dst), ir(in.a), m, [](std::int32_t a) { return EXPR; }); break;
#define II2(NAME, EXPR) case Opc::NAME: map2(ir(in.dst), ir(in.a), ir(in.b), m, [](std::int32_t a, std::int32_t b) { return EXPR; }); break;
#define FI2(NAME, EXPR) case Opc::NAME: map2(ir(in.dst), fr(in.a), fr(in.b), m, [](float a, float b) { return of_bool(EXPR); }); break;
#define BI2(NAME, EXPR) case Opc::NAME: map2(ir(in.dst), ir(in.a), ir(in.b), m, [](std::int32_t a, std::int32_t b) { return of_bool(EXPR); }); break;
  // clang-format on
  while (pc < size) {
    const Instr& in = code_begin[pc];
    switch (in.op) {
      FF2(fadd, a + b)
      FF2(fsub, a - b)
      FF2(fmul, a * b)
      FF2(fdiv, a / b)
      FF1(fneg, -a)
      FF1(fabs, sm::fabs(a))
      FF1(fsign, sm::fsign(a))
      FF2(fmin, sm::fmin(a, b))
      FF2(fmax, sm::fmax(a, b))
      FF1(ffloor, sm::ffloor(a))
      FF1(fceil, sm::fceil(a))
      FF1(fround, sm::fround(a))
      FF1(ftrunc, sm::ftrunc(a))
      FF1(ffract, sm::ffract(a))
      FF2(fmod, sm::fmod(a, b))
      FF1(fsqrt, sm::fsqrt(a))
      FF1(finvsqrt, sm::finvsqrt(a))
      FF2(fpow, sm::fpow(a, b))
      FF1(fexp, sm::fexp(a))
      FF1(fexp2, sm::fexp2(a))
      FF1(flog, sm::flog(a))
      FF1(flog2, sm::flog2(a))
      FF1(fsin, sm::fsin(a))
      FF1(fcos, sm::fcos(a))
      FF1(ftan, sm::ftan(a))
      FF1(fasin, sm::fasin(a))
      FF1(facos, sm::facos(a))
      FF1(fatan, sm::fatan(a))
      FF2(fatan2, sm::fatan2(a, b))
      FF2(fstep, sm::fstep(a, b))
      case Opc::fsmoothstep:
        map3(fr(in.dst), fr(in.a), fr(in.b), fr(in.c), m,
             [](float e0, float e1, float x) { return sm::fsmoothstep(e0, e1, x); });
        break;
        II2(iadd, sm::iadd(a, b))
        II2(isub, sm::isub(a, b))
        II2(imul, sm::imul(a, b))
        II2(idiv, sm::idiv(a, b))
        II2(imod, sm::imod(a, b))
        II1(ineg, sm::ineg(a))
        II1(iabs, sm::iabs(a))
        II1(isign, sm::isign(a))
        II2(imin, sm::imin(a, b))
        II2(imax, sm::imax(a, b))
        FI2(flt, a < b)
        FI2(fle, a <= b)
        FI2(feq, a == b)
        FI2(fne, a != b)
        BI2(ilt, a < b)
        BI2(ile, a <= b)
        BI2(ieq, a == b)
        BI2(ine, a != b)
        BI2(beq, (a != 0) == (b != 0))
        BI2(bne, (a != 0) != (b != 0))
        BI2(band, (a != 0) & (b != 0))
        BI2(bor, (a != 0) | (b != 0))
        II1(bnot, of_bool(a == 0))
        II1(btoi, of_bool(a != 0))
        II1(itob, of_bool(a != 0))
      case Opc::select_f:
        map3(fr(in.dst), ir(in.c), fr(in.a), fr(in.b), m, [](std::int32_t c, float a, float b) { return c ? a : b; });
        break;
      case Opc::select_i:
        map3(ir(in.dst), ir(in.c), ir(in.a), ir(in.b), m,
             [](std::int32_t c, std::int32_t a, std::int32_t b) { return c ? a : b; });
        break;
      case Opc::itof:
        map1(fr(in.dst), ir(in.a), m, [](std::int32_t a) { return sm::itof(a); });
        break;
      case Opc::ftoi:
        map1(ir(in.dst), fr(in.a), m, [](float a) { return sm::ftoi(a); });
        break;
      case Opc::btof:
        map1(fr(in.dst), ir(in.a), m, [](std::int32_t a) { return a != 0 ? 1.0f : 0.0f; });
        break;
      case Opc::ftob:
        map1(ir(in.dst), fr(in.a), m, [](float a) { return of_bool(a != 0.0f); });
        break;
      case Opc::noise2:
        noise::perlin2(m, fr(in.a), fr(in.b), fr(in.dst));
        break;
      case Opc::noise3:
        noise::perlin3(m, fr(in.a), fr(in.b), fr(in.c), fr(in.dst));
        break;
      case Opc::fbm2:
        noise::fbm2(m, fr(in.a), fr(in.b), ir(extra[in.x]), fr(extra[in.x + 1]), fr(extra[in.x + 2]), in.flag != 0,
                    fr(in.dst));
        break;
      case Opc::fbm3:
        noise::fbm3(m, fr(in.a), fr(in.b), fr(in.c), ir(extra[in.x]), fr(extra[in.x + 1]), fr(extra[in.x + 2]),
                    in.flag != 0, fr(in.dst));
        break;
      case Opc::cellular2:
        noise::cellular2(m, fr(in.a), fr(in.b), fr(in.dst), fr(in.x));
        break;
      case Opc::cellular3:
        noise::cellular3(m, fr(in.a), fr(in.b), fr(in.c), fr(in.dst), fr(in.x));
        break;
      case Opc::tex_sample:
      case Opc::tex_lod:
        texture(host, phase, in, len, mask(depth));
        break;
      case Opc::mov_f:
        std::memcpy(fr(in.dst), fr(in.a), m * sizeof(float));
        break;
      case Opc::mov_i:
        std::memcpy(ir(in.dst), ir(in.a), m * sizeof(std::int32_t));
        break;
      case Opc::mov_if_f:
      case Opc::mov_ifnot_f: {
        const std::int32_t want = in.op == Opc::mov_if_f ? 1 : 0;
        float* d = fr(in.dst);
        const std::int32_t* c = ir(in.c);
        const float* a = fr(in.a);
        for (std::size_t k = 0; k < m; ++k) d[k] = of_bool(c[k] != 0) == want ? a[k] : d[k];
        break;
      }
      case Opc::mov_if_i:
      case Opc::mov_ifnot_i: {
        const std::int32_t want = in.op == Opc::mov_if_i ? 1 : 0;
        std::int32_t* d = ir(in.dst);
        const std::int32_t* c = ir(in.c);
        const std::int32_t* a = ir(in.a);
        for (std::size_t k = 0; k < m; ++k) d[k] = of_bool(c[k] != 0) == want ? a[k] : d[k];
        break;
      }
      case Opc::mov_mask_f: {
        float* d = fr(in.dst);
        const float* a = fr(in.a);
        const std::int32_t* mk = mask(depth);
        for (std::size_t k = 0; k < m; ++k) d[k] = mk[k] != 0 ? a[k] : d[k];
        break;
      }
      case Opc::mov_mask_i: {
        std::int32_t* d = ir(in.dst);
        const std::int32_t* a = ir(in.a);
        const std::int32_t* mk = mask(depth);
        for (std::size_t k = 0; k < m; ++k) d[k] = mk[k] != 0 ? a[k] : d[k];
        break;
      }
      case Opc::jump:
        pc = in.imm;
        continue;
      case Opc::jump_ifnot:
        if (ir(in.a)[0] == 0) {
          pc = in.imm;
          continue;
        }
        break;
      case Opc::if_begin:
      case Opc::if_else: {
        const bool begin = in.op == Opc::if_begin;
        if (begin) ++depth;
        const std::int32_t* parent = mask(depth - 1);
        std::int32_t* top = mask(depth);
        const std::int32_t* c = ir(in.a);
        const std::int32_t want = begin ? 1 : 0;
        std::int32_t any = 0;
        for (std::size_t k = 0; k < m; ++k) {
          top[k] = parent[k] & of_bool((c[k] != 0) == (want != 0));
          any |= top[k];
        }
        if (any == 0) {
          pc = in.imm;
          continue;
        }
        break;
      }
      case Opc::if_end:
      case Opc::loop_end:
        --depth;
        break;
      case Opc::uloop_begin:
        loop_count[in.x] = 0;
        break;
      case Opc::uloop_test:
        if (ir(in.a)[0] == 0) {
          pc = in.imm;
          continue;
        }
        if (++loop_count[in.x] > loop_cap) loop_error(in.x, loop_cap);
        break;
      case Opc::loop_begin:
        std::memcpy(mask(depth + 1), mask(depth), m * sizeof(std::int32_t));
        ++depth;
        loop_count[in.x] = 0;
        break;
      case Opc::loop_test: {
        std::int32_t* top = mask(depth);
        const std::int32_t* c = ir(in.a);
        std::int32_t any = 0;
        for (std::size_t k = 0; k < m; ++k) {
          top[k] = top[k] & of_bool(c[k] != 0);
          any |= top[k];
        }
        if (any == 0) {
          pc = in.imm;
          continue;
        }
        if (++loop_count[in.x] > loop_cap) loop_error(in.x, loop_cap);
        break;
      }
    }
    ++pc;
  }
#undef FF1
#undef FF2
#undef II1
#undef II2
#undef FI2
#undef BI2
}

}  // namespace fabforge::openfl
