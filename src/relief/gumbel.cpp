// The `gumbel` solver: AutoForge's learned optimisation (Gumbel-softmax layer filaments, sigmoid
// pixel heights, Adam on the Lab MSE) with a hand-written, fused, deterministic gradient.
//
// Solver outline (solve_gumbel):
//   init        the target at 1/gumbel_downscale resolution; weighted k-means in Lab (k =
//               limits.max_colors, k-means++ seeding from options.seed); the clusters ordered
//               from the background up by a shortest Hamiltonian path in Lab that starts at the
//               background filament (greedy nearest neighbour, then 2-opt); each cluster takes
//               its nearest palette filament in Lab; the L layers are split into bands in that
//               order, each band sized by the layers its filament needs to reach 90% opacity,
//               and the band's filament gets logit +3 (the others 0); each pixel starts at its
//               best discrete height under that band stack (so clusters further along the path
//               sit higher), z clamped to [0.25, L - 0.25] and u = logit(z / L).
//   optimise    Adam (beta 0.9 / 0.999) on theta and u, default 2000 iterations. Temperatures
//               fall geometrically over the run: tau (Gumbel softmax) from 1.0 to 0.5 and tau_h
//               (soft rounding) from 1.0 to 0.1. (On chelsea.png, 8 colours, 20 swaps, 2000
//               iterations, five seeds: tau down to 0.1 gave a mean final Lab MSE of 7.08, down
//               to 0.5 6.93, held at 1.0 6.93; tau_h down to 0.2 instead of 0.1 7.4. Twice the
//               iterations did not help: the result is taken from argmax theta anyway.) The
//               Gumbel noise (L x P numbers) is drawn serially from a std::mt19937_64 seeded
//               with options.seed, after the k-means seeding.
//   discretise  every 25 iterations and at the end: the argmax stack, made to fit the limits by
//               enforce_limits (top = the relaxation's highest pixel, rounded), heights by
//               assign_heights (smoothness 0) at the solve resolution; the stack with the least
//               weighted Lab MSE (no bleed) is kept (an unchanged argmax stack and top are not
//               evaluated again). The band stack of the initialisation is the first candidate.
//               The result's heights are assign_heights(full target, best stack,
//               options.smoothness); search_loss is the best candidate's loss at the solve
//               resolution. Previews get the best stack with full-resolution heights from
//               assign_heights with smoothness 0 (recomputed only when the best stack changed).
#include "fabforge/relief/gumbel.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <new>
#include <numeric>
#include <optional>
#include <random>

#include "fabforge/core/error.hpp"
#include "fabforge/core/parallel.hpp"
#include "fabforge/relief/solve.hpp"

namespace fabforge::relief {

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The kernel works on blocks of kLanes pixels that share the first layer of their window, so
// that every layer quantity is one broadcast value and the pixels are SIMD lanes.
constexpr int kLanes = 8;
// Blocks per chunk of the gradient reduction: fixed, so the sums do not depend on the threads.
constexpr std::size_t kBlocksPerChunk = 64;

// The lane vector type. GCC caps the alignment it assumes for a generic vector by the target's
// registers, which differs between the SSE2 and the AVX2 compilation of the kernel; every array
// of vectors is therefore allocated 64-byte aligned (AlignedVector), enough for both.
template <class Real>
struct Simd {
  typedef Real V __attribute__((vector_size(kLanes * sizeof(Real))));
};

constexpr std::size_t kVectorAlign = 64;

template <class T>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U>&) noexcept {}  // NOLINT(google-explicit-constructor)
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new (n * sizeof(T), std::align_val_t{kVectorAlign})); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete (p, std::align_val_t{kVectorAlign}); }
  template <class U>
  bool operator==(const AlignedAllocator<U>&) const noexcept {
    return true;
  }
};

template <class T>
using AlignedVector = std::vector<T, AlignedAllocator<T>>;

// Solver settings.
constexpr int kDefaultIterations = 2000;
constexpr int kDiscretiseEvery = 25;
constexpr double kTauStart = 1.0, kTauEnd = 0.5;
constexpr double kTauHStart = 1.0, kTauHEnd = 0.1;
constexpr double kInitLogit = 3.0;
constexpr double kAdamBeta1 = 0.9, kAdamBeta2 = 0.999, kAdamEps = 1e-8;

// sRGB (D65) to XYZ, as in core/color.
constexpr double kM[3][3] = {
    {0.4124564, 0.3575761, 0.1804375},
    {0.2126729, 0.7151522, 0.0721750},
    {0.0193339, 0.1191920, 0.9503041},
};
constexpr double kWhite[3] = {0.95047, 1.0, 1.08883};
constexpr double kEpsilon = 216.0 / 24389.0;
constexpr double kKappa = 24389.0 / 27.0;

// sRGB decoding and CIELAB's f(t), exact (double), with their derivatives.
void srgb_decode_exact(double c, double& v, double& d) {
  if (c <= 0.04045) {
    v = c / 12.92;
    d = 1.0 / 12.92;
  } else {
    v = std::pow((c + 0.055) / 1.055, 2.4);
    d = 2.4 * v / (c + 0.055);
  }
}

void lab_f_exact(double t, double& v, double& d) {
  if (t > kEpsilon) {
    v = std::cbrt(t);
    d = v / (3.0 * t);
  } else {
    v = (kKappa * t + 16.0) / 116.0;
    d = kKappa / 116.0;
  }
}

// A function tabulated on [0, hi] as cubic Hermite pieces (value and slope exact at the nodes),
// for the float kernel: accurate to ~1e-7 and free of pow and cbrt. Its derivative is the
// derivative of the interpolant, so the float gradient is consistent with the float loss.
class CubicTable {
 public:
  CubicTable(int intervals, double hi, void (*f)(double, double&, double&))
      : n_(intervals), scale_(static_cast<float>(intervals / hi)), coef_(static_cast<std::size_t>(intervals) * 4) {
    const double h = hi / intervals;
    for (int i = 0; i < intervals; ++i) {
      double v0, d0, v1, d1;
      f(i * h, v0, d0);
      f((i + 1) * h, v1, d1);
      d0 *= h;
      d1 *= h;
      float* c = &coef_[static_cast<std::size_t>(i) * 4];
      c[0] = static_cast<float>(v0);
      c[1] = static_cast<float>(d0);
      c[2] = static_cast<float>(3 * (v1 - v0) - 2 * d0 - d1);
      c[3] = static_cast<float>(2 * (v0 - v1) + d0 + d1);
    }
  }
  void operator()(float x, float& v, float& d) const {
    const float s = x * scale_;
    const int i = std::clamp(static_cast<int>(s), 0, n_ - 1);
    const float t = s - static_cast<float>(i);
    const float* c = &coef_[static_cast<std::size_t>(i) * 4];
    v = c[0] + t * (c[1] + t * (c[2] + t * c[3]));
    d = (c[1] + t * (2 * c[2] + t * (3 * c[3]))) * scale_;
  }

 private:
  int n_;
  float scale_;
  std::vector<float> coef_;
};

const CubicTable& srgb_table() {
  static const CubicTable table(512, 1.0, srgb_decode_exact);
  return table;
}
const CubicTable& lab_f_table() {
  static const CubicTable table(1024, 1.0, lab_f_exact);
  return table;
}

inline void srgb_decode(double c, double& v, double& d) { srgb_decode_exact(c, v, d); }
inline void lab_f(double t, double& v, double& d) { lab_f_exact(t, v, d); }
inline void srgb_decode(float c, float& v, float& d) { srgb_table()(c, v, d); }
inline void lab_f(float t, float& v, float& d) { lab_f_table()(t, v, d); }

template <class Real>
inline Real sigmoid(Real x) {
  return Real(1) / (Real(1) + std::exp(-x));
}

// Per-iteration layer quantities from the logits: mixed colours and alphas, and the colours of
// the fully covered stack (full[k] = the composite of layers below k over the background).
struct LayerMix {
  std::vector<double> weights;  // L * P softmax weights
  std::vector<double> color;    // L * 3
  std::vector<double> alpha;    // L
  std::vector<double> full;     // (L + 1) * 3
};

template <class Real>
LayerMix mix_layers(const GumbelProblem& pb, const GumbelParams<Real>& pr) {
  const std::size_t layers = static_cast<std::size_t>(pb.layers);
  const std::size_t palette = static_cast<std::size_t>(pb.palette);
  LayerMix m;
  m.weights.resize(layers * palette);
  m.color.assign(layers * 3, 0.0);
  m.alpha.assign(layers, 0.0);
  m.full.resize((layers + 1) * 3);
  const double inv_tau = 1.0 / static_cast<double>(pr.tau);
  for (std::size_t l = 0; l < layers; ++l) {
    double* w = &m.weights[l * palette];
    double top = -std::numeric_limits<double>::infinity();
    for (std::size_t f = 0; f < palette; ++f) {
      w[f] =
          (static_cast<double>(pr.theta[l * palette + f]) + static_cast<double>(pr.noise[l * palette + f])) * inv_tau;
      top = std::max(top, w[f]);
    }
    double sum = 0;
    for (std::size_t f = 0; f < palette; ++f) {
      w[f] = std::exp(w[f] - top);
      sum += w[f];
    }
    for (std::size_t f = 0; f < palette; ++f) {
      w[f] /= sum;
      m.color[l * 3 + 0] += w[f] * pb.colors[f].r;
      m.color[l * 3 + 1] += w[f] * pb.colors[f].g;
      m.color[l * 3 + 2] += w[f] * pb.colors[f].b;
      m.alpha[l] += w[f] * pb.alpha[f];
    }
  }
  m.full[0] = pb.background.r;
  m.full[1] = pb.background.g;
  m.full[2] = pb.background.b;
  for (std::size_t l = 0; l < layers; ++l)
    for (std::size_t k = 0; k < 3; ++k)
      m.full[(l + 1) * 3 + k] = m.alpha[l] * m.color[l * 3 + k] + (1.0 - m.alpha[l]) * m.full[l * 3 + k];
  return m;
}

// kLanes pixels that share the first layer k0 of their window: pixels perm[start, start + count).
struct Block {
  std::uint32_t start = 0;
  std::uint16_t count = 0;
  std::uint16_t k0 = 0;
};

// What every block needs: the layers padded with `window` transparent layers on top, so that a
// window may run past the last layer.
template <class Real>
struct KernelData {
  using V = typename Simd<Real>::V;
  int layers = 0;
  int window = 0;  // layers per pixel window
  // Broadcast to all lanes once per call (building them in the loop costs store forwarding).
  AlignedVector<V> color;  // (L + window) * 3
  AlignedVector<V> alpha;  // L + window, 0 above L
  AlignedVector<V> full;   // (L + 1) * 3
  Real fl = 0, inv_tau_h = 0, step = 0;
  bool exact_exp = false;           // exp per layer instead of the recurrence e *= step
  const Real* sigmoid_u = nullptr;  // sigmoid(u) per pixel
  double inv_norm = 0;              // 1 / (3 sum of weights)
};

// Chunk accumulators (per layer, as lanes): colour L'*3, alpha L', full stack (L + 1) * 3, loss.
template <class Real>
struct alignas(kVectorAlign) ChunkScratch {
  using V = typename Simd<Real>::V;
  AlignedVector<V> buf;    // window * 4: colour below the layer and coverage, per lane
  AlignedVector<V> acc_c;  // (L + window) * 3
  AlignedVector<V> acc_a;  // L + window
  AlignedVector<V> acc_f;  // (L + 1) * 3
  V loss{};
};

// One block: loss (added to s.loss) and, WithGrad, the partial gradients and d loss / d u.
template <class Real, bool WithGrad>
void block_loss_gradient(const GumbelProblem& pb, const KernelData<Real>& kd, const std::uint32_t* pix, int count,
                         int k0, ChunkScratch<Real>& s, Real* grad_u) {
  using V = typename Simd<Real>::V;
  const int w = kd.window;
  // Lane inputs; missing lanes repeat the first pixel with weight 0.
  V sig, e, tl, ta, tb, scale, weight;
  for (int j = 0; j < kLanes; ++j) {
    const std::uint32_t i = pix[j < count ? j : 0];
    const Real sg = kd.sigmoid_u[i];
    sig[j] = sg;
    e[j] = kd.exact_exp ? Real(0) : std::exp(-(kd.fl * sg - Real(0.5) - static_cast<Real>(k0)) * kd.inv_tau_h);
    tl[j] = pb.target_l[i];
    ta[j] = pb.target_a[i];
    tb[j] = pb.target_b[i];
    weight[j] = j < count ? static_cast<Real>(pb.weight[i]) : Real(0);
    scale[j] = j < count ? static_cast<Real>(static_cast<double>(pb.weight[i]) * kd.inv_norm) : Real(0);
  }
  const V* fc = &kd.full[3 * static_cast<std::size_t>(k0)];
  V c0 = fc[0], c1 = fc[1], c2 = fc[2];
  for (int j = 0; j < w; ++j) {
    const std::size_t l = static_cast<std::size_t>(k0 + j);
    if (kd.exact_exp)
      for (int q = 0; q < kLanes; ++q)
        e[q] = std::exp(-(kd.fl * sig[q] - Real(0.5) - static_cast<Real>(l)) * kd.inv_tau_h);
    const V cov = Real(1) / (Real(1) + e);
    e *= kd.step;
    V* b = &s.buf[4 * static_cast<std::size_t>(j)];
    b[0] = c0;
    b[1] = c1;
    b[2] = c2;
    b[3] = cov;
    const V a = cov * kd.alpha[l];
    const V* col = &kd.color[3 * l];
    c0 += a * (col[0] - c0);
    c1 += a * (col[1] - c1);
    c2 += a * (col[2] - c2);
  }
  // sRGB -> linear -> XYZ -> f -> Lab, and back.
  V lin[3], dlin[3];
  for (int k = 0; k < 3; ++k) {
    const V& c = k == 0 ? c0 : (k == 1 ? c1 : c2);
    for (int j = 0; j < kLanes; ++j) {
      Real v, d;
      srgb_decode(c[j], v, d);
      lin[k][j] = v;
      dlin[k][j] = d;
    }
  }
  V f[3], df[3];
  for (int k = 0; k < 3; ++k) {
    const V x = (Real(kM[k][0]) * lin[0] + Real(kM[k][1]) * lin[1] + Real(kM[k][2]) * lin[2]) * Real(1.0 / kWhite[k]);
    for (int j = 0; j < kLanes; ++j) {
      Real v, d;
      lab_f(x[j], v, d);
      f[k][j] = v;
      df[k][j] = d;
    }
  }
  const V el = Real(116) * f[1] - Real(16) - tl;
  const V ea = Real(500) * (f[0] - f[1]) - ta;
  const V eb = Real(200) * (f[1] - f[2]) - tb;
  s.loss += weight * (el * el + ea * ea + eb * eb);
  if constexpr (WithGrad) {
    const V gl = Real(2) * scale * el, ga = Real(2) * scale * ea, gb = Real(2) * scale * eb;
    const V gx0 = Real(500) * ga * df[0] * Real(1.0 / kWhite[0]);
    const V gx1 = (Real(116) * gl - Real(500) * ga + Real(200) * gb) * df[1] * Real(1.0 / kWhite[1]);
    const V gx2 = Real(-200) * gb * df[2] * Real(1.0 / kWhite[2]);
    V d0 = (Real(kM[0][0]) * gx0 + Real(kM[1][0]) * gx1 + Real(kM[2][0]) * gx2) * dlin[0];
    V d1 = (Real(kM[0][1]) * gx0 + Real(kM[1][1]) * gx1 + Real(kM[2][1]) * gx2) * dlin[1];
    V d2 = (Real(kM[0][2]) * gx0 + Real(kM[1][2]) * gx1 + Real(kM[2][2]) * gx2) * dlin[2];
    V dz{};
    for (int j = w - 1; j >= 0; --j) {
      const std::size_t l = static_cast<std::size_t>(k0 + j);
      const V* b = &s.buf[4 * static_cast<std::size_t>(j)];
      const V cov = b[3];
      const V alpha = kd.alpha[l];
      const V a = cov * alpha;
      const V* col = &kd.color[3 * l];
      const V da = d0 * (col[0] - b[0]) + d1 * (col[1] - b[1]) + d2 * (col[2] - b[2]);
      s.acc_c[3 * l] += a * d0;
      s.acc_c[3 * l + 1] += a * d1;
      s.acc_c[3 * l + 2] += a * d2;
      s.acc_a[l] += cov * da;
      dz += (alpha * da) * cov * (Real(1) - cov);
      const V keep = Real(1) - a;
      d0 *= keep;
      d1 *= keep;
      d2 *= keep;
    }
    if (k0 > 0) {
      s.acc_f[3 * static_cast<std::size_t>(k0)] += d0;
      s.acc_f[3 * static_cast<std::size_t>(k0) + 1] += d1;
      s.acc_f[3 * static_cast<std::size_t>(k0) + 2] += d2;
    }
    const V du = dz * kd.inv_tau_h * kd.fl * sig * (Real(1) - sig);
    for (int j = 0; j < count; ++j) grad_u[pix[j]] = du[j];
  } else {
    (void)grad_u;
  }
}

template <class Real, bool WithGrad>
inline void run_blocks_generic(const GumbelProblem& pb, const KernelData<Real>& kd, const Block* blocks,
                               std::size_t count, const std::uint32_t* perm, ChunkScratch<Real>& s, Real* grad_u) {
  for (std::size_t b = 0; b < count; ++b)
    block_loss_gradient<Real, WithGrad>(pb, kd, perm + blocks[b].start, blocks[b].count, blocks[b].k0, s, grad_u);
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__AVX2__)
#define FABFORGE_GUMBEL_AVX2 1
// The same code compiled for AVX2 (8 float lanes in one register), chosen at run time. It gives
// bit-identical results: no FMA contraction (ISO C++ mode), elementwise IEEE operations only.
template <class Real, bool WithGrad>
__attribute__((target("avx2"), flatten)) void run_blocks_avx2(const GumbelProblem& pb, const KernelData<Real>& kd,
                                                              const Block* blocks, std::size_t count,
                                                              const std::uint32_t* perm, ChunkScratch<Real>& s,
                                                              Real* grad_u) {
  run_blocks_generic<Real, WithGrad>(pb, kd, blocks, count, perm, s, grad_u);
}
#endif

// Runs `count` blocks into the chunk scratch.
template <class Real>
void run_blocks(const GumbelProblem& pb, const KernelData<Real>& kd, const Block* blocks, std::size_t count,
                const std::uint32_t* perm, ChunkScratch<Real>& s, Real* grad_u) {
#ifdef FABFORGE_GUMBEL_AVX2
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) {
    if (grad_u != nullptr)
      run_blocks_avx2<Real, true>(pb, kd, blocks, count, perm, s, grad_u);
    else
      run_blocks_avx2<Real, false>(pb, kd, blocks, count, perm, s, nullptr);
    return;
  }
#endif
  if (grad_u != nullptr)
    run_blocks_generic<Real, true>(pb, kd, blocks, count, perm, s, grad_u);
  else
    run_blocks_generic<Real, false>(pb, kd, blocks, count, perm, s, nullptr);
}

}  // namespace

GumbelProblem make_gumbel_problem(const ReliefModel& model, const Target& target, int background) {
  if (background < 0 || background >= model.palette_size())
    throw usage_error("background filament index " + std::to_string(background) + " is out of range");
  FABFORGE_CHECK(target.lab.size() == target.size() && target.weight.size() == target.size() &&
                     target.mask.size() == target.size(),
                 "target sizes disagree");
  GumbelProblem pb;
  pb.width = target.width;
  pb.height = target.height;
  pb.layers = model.settings().max_layers;
  pb.palette = model.palette_size();
  for (std::size_t i = 0; i < target.size(); ++i) {
    if (!target.mask[i] || !(target.weight[i] > 0)) continue;
    pb.index.push_back(static_cast<std::uint32_t>(i));
    pb.target_l.push_back(target.lab[i].l);
    pb.target_a.push_back(target.lab[i].a);
    pb.target_b.push_back(target.lab[i].b);
    pb.weight.push_back(target.weight[i]);
    pb.weight_sum += target.weight[i];
  }
  if (pb.index.empty()) throw input_error("the target has no printed pixel");
  for (int f = 0; f < pb.palette; ++f) {
    pb.colors.push_back(model.color(f));
    pb.alpha.push_back(model.full_alpha(f));
  }
  pb.background = model.color(background);
  return pb;
}

template <class Real>
double gumbel_loss_gradient(const GumbelProblem& pb, const GumbelParams<Real>& pr, GumbelGrad<Real>* grad) {
  using V = typename Simd<Real>::V;
  const std::size_t layers = static_cast<std::size_t>(pb.layers);
  const std::size_t palette = static_cast<std::size_t>(pb.palette);
  const std::size_t n = pb.pixels();
  FABFORGE_CHECK(pb.layers > 0 && pb.palette > 0 && n > 0, "empty gumbel problem");
  FABFORGE_CHECK(pb.target_l.size() == n && pb.target_a.size() == n && pb.target_b.size() == n &&
                     pb.weight.size() == n && pb.weight_sum > 0,
                 "gumbel problem sizes");
  FABFORGE_CHECK(pb.colors.size() == palette && pb.alpha.size() == palette, "gumbel palette size");
  FABFORGE_CHECK(pr.theta.size() == layers * palette && pr.noise.size() == layers * palette, "theta size");
  FABFORGE_CHECK(pr.u.size() == n, "u size");
  FABFORGE_CHECK(pr.tau > 0 && pr.tau_h > 0, "temperatures must be > 0");

  const LayerMix mix = mix_layers(pb, pr);
  // Window: layers [k0, k0 + window) of a pixel are soft; those below k0 count as fully covered
  // and those above as absent. Without truncation every pixel's window is all layers.
  const double reach = static_cast<double>(pb.window) * static_cast<double>(pr.tau_h);
  const bool truncate = pb.window > 0 && 2 * reach + 1 < static_cast<double>(layers);
  KernelData<Real> kd;
  kd.layers = pb.layers;
  kd.window = truncate ? static_cast<int>(std::ceil(2 * reach)) + 1 : pb.layers;
  const std::size_t padded = layers + static_cast<std::size_t>(kd.window);
  kd.color.assign(padded * 3, V{});
  kd.alpha.assign(padded, V{});
  kd.full.assign(mix.full.size(), V{});
  for (std::size_t q = 0; q < mix.color.size(); ++q) kd.color[q] += static_cast<Real>(mix.color[q]);
  for (std::size_t q = 0; q < mix.alpha.size(); ++q) kd.alpha[q] += static_cast<Real>(mix.alpha[q]);
  for (std::size_t q = 0; q < mix.full.size(); ++q) kd.full[q] += static_cast<Real>(mix.full[q]);
  kd.fl = static_cast<Real>(pb.layers);
  kd.inv_tau_h = Real(1) / pr.tau_h;
  kd.exact_exp = !truncate || kd.inv_tau_h > Real(20);
  kd.step = kd.exact_exp ? Real(1) : std::exp(kd.inv_tau_h);
  kd.inv_norm = 1.0 / (3.0 * pb.weight_sum);

  // Pixels by the first layer of their window (counting sort, stable), in blocks of kLanes.
  std::vector<std::uint16_t> first(n, 0);
  std::vector<Real> sig(n);
  parallel_for(0, n, 8192, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t i = lo; i < hi; ++i) {
      sig[i] = sigmoid(pr.u[i]);
      if (!truncate) continue;
      const double x0 = static_cast<double>(kd.fl * sig[i]) - 0.5;
      first[i] = static_cast<std::uint16_t>(std::clamp(static_cast<int>(std::floor(x0 - reach)) + 1, 0, pb.layers));
    }
  });
  kd.sigmoid_u = sig.data();
  std::vector<std::uint32_t> offset(layers + 2, 0);
  for (std::uint16_t k : first) ++offset[static_cast<std::size_t>(k) + 1];
  for (std::size_t k = 1; k < offset.size(); ++k) offset[k] += offset[k - 1];
  std::vector<std::uint32_t> perm(n);
  {
    std::vector<std::uint32_t> pos(offset.begin(), offset.end() - 1);
    for (std::size_t i = 0; i < n; ++i) perm[pos[first[i]]++] = static_cast<std::uint32_t>(i);
  }
  std::vector<Block> blocks;
  blocks.reserve(n / kLanes + layers + 1);
  for (std::size_t k = 0; k <= layers; ++k)
    for (std::uint32_t b = offset[k]; b < offset[k + 1]; b += kLanes)
      blocks.push_back({b, static_cast<std::uint16_t>(std::min<std::uint32_t>(kLanes, offset[k + 1] - b)),
                        static_cast<std::uint16_t>(k)});

  // Chunks of blocks; each writes its sums to its own slot: colour L * 3, alpha L, full stack
  // (L + 1) * 3, loss.
  const std::size_t stride = 7 * layers + 4;
  const std::size_t chunks = (blocks.size() + kBlocksPerChunk - 1) / kBlocksPerChunk;
  std::vector<double> acc(chunks * stride, 0.0);
  if (grad != nullptr) grad->u.assign(n, Real(0));
  Real* grad_u = grad != nullptr ? grad->u.data() : nullptr;
  parallel_for(0, chunks, 1, [&](std::size_t clo, std::size_t chi) {
    ChunkScratch<Real> s;
    s.buf.resize(4 * static_cast<std::size_t>(kd.window));
    s.acc_c.resize(padded * 3);
    s.acc_a.resize(padded);
    s.acc_f.resize((layers + 1) * 3);
    for (std::size_t c = clo; c < chi; ++c) {
      const std::size_t b0 = c * kBlocksPerChunk, b1 = std::min(blocks.size(), b0 + kBlocksPerChunk);
      const std::size_t kmin = blocks[b0].k0, kmax = blocks[b1 - 1].k0;
      const std::size_t lmax = std::min(padded, kmax + static_cast<std::size_t>(kd.window));
      std::fill(s.acc_c.begin() + static_cast<std::ptrdiff_t>(3 * kmin),
                s.acc_c.begin() + static_cast<std::ptrdiff_t>(3 * lmax), V{});
      std::fill(s.acc_a.begin() + static_cast<std::ptrdiff_t>(kmin),
                s.acc_a.begin() + static_cast<std::ptrdiff_t>(lmax), V{});
      std::fill(s.acc_f.begin() + static_cast<std::ptrdiff_t>(3 * kmin),
                s.acc_f.begin() + static_cast<std::ptrdiff_t>(3 * kmax + 3), V{});
      s.loss = V{};
      run_blocks(pb, kd, &blocks[b0], b1 - b0, perm.data(), s, grad_u);
      auto lanes = [](const V& v) {
        double t = 0;
        for (int j = 0; j < kLanes; ++j) t += static_cast<double>(v[j]);
        return t;
      };
      double* out = &acc[c * stride];
      const std::size_t ltop = std::min(layers, lmax);
      for (std::size_t l = kmin; l < ltop; ++l) {
        for (std::size_t k = 0; k < 3; ++k) out[3 * l + k] = lanes(s.acc_c[3 * l + k]);
        out[3 * layers + l] = lanes(s.acc_a[l]);
      }
      for (std::size_t q = 3 * kmin; q < 3 * kmax + 3; ++q) out[4 * layers + q] = lanes(s.acc_f[q]);
      out[stride - 1] = lanes(s.loss);
    }
  });
  // Chunk results in chunk order.
  std::vector<double> total(stride, 0.0);
  for (std::size_t c = 0; c < chunks; ++c)
    for (std::size_t k = 0; k < stride; ++k) total[k] += acc[c * stride + k];
  const double loss = total[stride - 1] * kd.inv_norm;
  if (grad == nullptr) return loss;

  // Back through the fully covered stack: full[l + 1] = alpha_l c_l + (1 - alpha_l) full[l].
  std::vector<double> gc(total.begin(), total.begin() + static_cast<std::ptrdiff_t>(3 * layers));
  std::vector<double> ga(total.begin() + static_cast<std::ptrdiff_t>(3 * layers),
                         total.begin() + static_cast<std::ptrdiff_t>(4 * layers));
  std::vector<double> gf(total.begin() + static_cast<std::ptrdiff_t>(4 * layers),
                         total.begin() + static_cast<std::ptrdiff_t>(7 * layers + 3));
  for (std::size_t l = layers; l-- > 0;) {
    const double a = mix.alpha[l];
    double dot = 0;
    for (std::size_t k = 0; k < 3; ++k) {
      const double g = gf[(l + 1) * 3 + k];
      gc[l * 3 + k] += a * g;
      dot += g * (mix.color[l * 3 + k] - mix.full[l * 3 + k]);
      gf[l * 3 + k] += (1.0 - a) * g;
    }
    ga[l] += dot;
  }
  // Back through the mixing and the softmax.
  grad->theta.resize(layers * palette);
  const double inv_tau = 1.0 / static_cast<double>(pr.tau);
  std::vector<double> gw(palette);
  for (std::size_t l = 0; l < layers; ++l) {
    const double* w = &mix.weights[l * palette];
    double mean = 0;
    for (std::size_t f = 0; f < palette; ++f) {
      gw[f] = gc[l * 3] * pb.colors[f].r + gc[l * 3 + 1] * pb.colors[f].g + gc[l * 3 + 2] * pb.colors[f].b +
              ga[l] * pb.alpha[f];
      mean += w[f] * gw[f];
    }
    for (std::size_t f = 0; f < palette; ++f)
      grad->theta[l * palette + f] = static_cast<Real>(w[f] * (gw[f] - mean) * inv_tau);
  }
  return loss;
}

template double gumbel_loss_gradient<float>(const GumbelProblem&, const GumbelParams<float>&, GumbelGrad<float>*);
template double gumbel_loss_gradient<double>(const GumbelProblem&, const GumbelParams<double>&, GumbelGrad<double>*);

std::vector<float> gumbel_heights(const GumbelProblem& problem, const std::vector<float>& u) {
  FABFORGE_CHECK(u.size() == problem.pixels(), "u size");
  std::vector<float> z(u.size());
  const float fl = static_cast<float>(problem.layers);
  for (std::size_t i = 0; i < u.size(); ++i) z[i] = fl * sigmoid(u[i]);
  return z;
}

Stack gumbel_argmax_stack(const GumbelProblem& problem, const std::vector<float>& theta, int background) {
  const std::size_t palette = static_cast<std::size_t>(problem.palette);
  FABFORGE_CHECK(theta.size() == static_cast<std::size_t>(problem.layers) * palette, "theta size");
  Stack stack;
  stack.background = background;
  stack.layers.resize(static_cast<std::size_t>(problem.layers));
  for (std::size_t l = 0; l < stack.layers.size(); ++l) {
    const float* t = &theta[l * palette];
    stack.layers[l] = static_cast<int>(std::max_element(t, t + palette) - t);
  }
  return stack;
}

namespace {

double lab_distance2(const Labf& a, const Labf& b) {
  const double dl = a.l - b.l, da = a.a - b.a, db = a.b - b.b;
  return dl * dl + da * da + db * db;
}

// Uniform in (0, 1) from 53 random bits.
double unit_open(std::mt19937_64& rng) { return (static_cast<double>(rng() >> 11) + 0.5) * 0x1.0p-53; }

// Weighted k-means in Lab with k-means++ seeding; deterministic at any thread count.
std::vector<Labf> kmeans(const GumbelProblem& pb, int k, std::mt19937_64& rng, RunContext& context) {
  const std::size_t n = pb.pixels();
  auto point = [&](std::size_t i) { return Labf{pb.target_l[i], pb.target_a[i], pb.target_b[i]}; };
  std::vector<Labf> centers;
  centers.push_back(point(static_cast<std::size_t>(rng() % n)));
  std::vector<double> d2(n);
  for (std::size_t i = 0; i < n; ++i) d2[i] = pb.weight[i] * lab_distance2(point(i), centers[0]);
  while (static_cast<int>(centers.size()) < k) {
    const double sum = std::accumulate(d2.begin(), d2.end(), 0.0);
    std::size_t pick = static_cast<std::size_t>(rng() % n);
    if (sum > 0) {
      double r = unit_open(rng) * sum;
      for (pick = 0; pick + 1 < n; ++pick) {
        r -= d2[pick];
        if (r <= 0) break;
      }
    }
    centers.push_back(point(pick));
    for (std::size_t i = 0; i < n; ++i) d2[i] = std::min(d2[i], pb.weight[i] * lab_distance2(point(i), centers.back()));
  }
  const std::size_t kk = centers.size();
  std::vector<std::uint16_t> label(n, 0);
  for (int round = 0; round < 40; ++round) {
    context.throw_if_cancelled();
    struct Sums {
      std::vector<double> s;  // per cluster: weight, l, a, b
      std::size_t changed = 0;
    };
    const Sums sums = context.run([&] {
      return parallel_reduce(
          0, n, 4096, Sums{},
          [&](std::size_t lo, std::size_t hi) {
            Sums p;
            p.s.assign(kk * 4, 0.0);
            for (std::size_t i = lo; i < hi; ++i) {
              const Labf x = point(i);
              std::size_t best = 0;
              double best_d = std::numeric_limits<double>::max();
              for (std::size_t c = 0; c < kk; ++c) {
                const double d = lab_distance2(x, centers[c]);
                if (d < best_d) {
                  best_d = d;
                  best = c;
                }
              }
              if (label[i] != best || round == 0) ++p.changed;
              label[i] = static_cast<std::uint16_t>(best);
              const double w = pb.weight[i];
              p.s[best * 4] += w;
              p.s[best * 4 + 1] += w * x.l;
              p.s[best * 4 + 2] += w * x.a;
              p.s[best * 4 + 3] += w * x.b;
            }
            return p;
          },
          [](Sums a, const Sums& b) {
            if (a.s.empty()) return b;
            for (std::size_t j = 0; j < a.s.size(); ++j) a.s[j] += b.s[j];
            a.changed += b.changed;
            return a;
          });
    });
    for (std::size_t c = 0; c < kk; ++c)
      if (sums.s[c * 4] > 0)
        centers[c] = {static_cast<float>(sums.s[c * 4 + 1] / sums.s[c * 4]),
                      static_cast<float>(sums.s[c * 4 + 2] / sums.s[c * 4]),
                      static_cast<float>(sums.s[c * 4 + 3] / sums.s[c * 4])};
    if (sums.changed == 0) break;
  }
  return centers;
}

// The clusters in path order from the background: greedy nearest neighbour, then 2-opt on the
// open path whose first node (the background) stays fixed.
std::vector<int> order_clusters(const std::vector<Labf>& centers, const Labf& background) {
  const int k = static_cast<int>(centers.size());
  std::vector<Labf> nodes{background};
  nodes.insert(nodes.end(), centers.begin(), centers.end());
  auto dist = [&](int a, int b) {
    return std::sqrt(lab_distance2(nodes[static_cast<std::size_t>(a)], nodes[static_cast<std::size_t>(b)]));
  };
  std::vector<int> path{0};
  std::vector<bool> used(static_cast<std::size_t>(k) + 1, false);
  used[0] = true;
  for (int step = 0; step < k; ++step) {
    int best = -1;
    double best_d = 0;
    for (int c = 1; c <= k; ++c) {
      if (used[static_cast<std::size_t>(c)]) continue;
      const double d = dist(path.back(), c);
      if (best < 0 || d < best_d) {
        best = c;
        best_d = d;
      }
    }
    used[static_cast<std::size_t>(best)] = true;
    path.push_back(best);
  }
  // 2-opt: reverse path[i..j] (1 <= i < j) when that shortens the path.
  const int m = static_cast<int>(path.size());
  auto at = [&](int i) { return path[static_cast<std::size_t>(i)]; };
  for (bool improved = true; improved;) {
    improved = false;
    for (int i = 1; i + 1 < m; ++i)
      for (int j = i + 1; j < m; ++j) {
        double before = dist(at(i - 1), at(i));
        double after = dist(at(i - 1), at(j));
        if (j + 1 < m) {
          before += dist(at(j), at(j + 1));
          after += dist(at(i), at(j + 1));
        }
        if (after < before - 1e-9) {
          std::reverse(path.begin() + i, path.begin() + j + 1);
          improved = true;
        }
      }
  }
  std::vector<int> order;
  for (int i = 1; i < m; ++i) order.push_back(at(i) - 1);
  return order;
}

// Per printed pixel the lowest height with the least Lab error under `stack` (no bleed).
std::vector<int> best_heights(const ReliefModel& model, const GumbelProblem& pb, const Stack& stack,
                              RunContext& context) {
  std::vector<Rgbf> rgb(static_cast<std::size_t>(pb.layers) + 1);
  model.stack_colors(stack, rgb);
  std::vector<Labf> labs(rgb.size());
  for (std::size_t z = 0; z < rgb.size(); ++z) labs[z] = srgb_to_labf(rgb[z]);
  std::vector<int> out(pb.pixels());
  context.run([&] {
    parallel_for(0, pb.pixels(), 4096, [&](std::size_t lo, std::size_t hi) {
      for (std::size_t i = lo; i < hi; ++i) {
        const Labf t{pb.target_l[i], pb.target_a[i], pb.target_b[i]};
        double best = std::numeric_limits<double>::max();
        int best_z = 0;
        for (std::size_t z = 0; z < labs.size(); ++z) {
          const double e = lab_distance2(labs[z], t);
          if (e < best) {
            best = e;
            best_z = static_cast<int>(z);
          }
        }
        out[i] = best_z;
      }
    });
  });
  return out;
}

// Weighted Lab MSE (no bleed) of a stack and heights over the problem's pixels.
double discrete_loss(const ReliefModel& model, const GumbelProblem& pb, const Stack& stack, const LayerMap& heights,
                     RunContext& context) {
  std::vector<Rgbf> rgb(static_cast<std::size_t>(pb.layers) + 1);
  model.stack_colors(stack, rgb);
  std::vector<Labf> labs(rgb.size());
  for (std::size_t z = 0; z < rgb.size(); ++z) labs[z] = srgb_to_labf(rgb[z]);
  const double sum = context.run([&] {
    return parallel_reduce(
        0, pb.pixels(), 8192, 0.0,
        [&](std::size_t lo, std::size_t hi) {
          double s = 0;
          for (std::size_t i = lo; i < hi; ++i) {
            const std::size_t z = std::min<std::size_t>(heights.z[pb.index[i]], labs.size() - 1);
            s += pb.weight[i] * lab_distance2(labs[z], {pb.target_l[i], pb.target_a[i], pb.target_b[i]});
          }
          return s;
        },
        [](double a, double b) { return a + b; });
  });
  return sum / (3.0 * pb.weight_sum);
}

}  // namespace

SolveResult solve_gumbel(const ReliefModel& model, const Target& target, const SolveOptions& options,
                         RunContext& context) {
  const auto t_start = Clock::now();
  const int layers = model.settings().max_layers;
  const int palette = model.palette_size();
  if (options.background < 0 || options.background >= palette)
    throw usage_error("background filament index " + std::to_string(options.background) + " is out of range");
  if (options.gumbel_iterations < 0) throw usage_error("gumbel iterations must be >= 0");
  if (!(options.learning_rate > 0) || !std::isfinite(options.learning_rate))
    throw usage_error("learning rate must be > 0");
  if (options.gumbel_downscale < 1) throw usage_error("gumbel downscale must be >= 1");
  if (options.limits.max_colors < 1) throw usage_error("at most 0 colours is impossible: the background is one");
  if (options.limits.max_swaps < 0) throw usage_error("max swaps must be >= 0");
  if (!(options.smoothness >= 0) || !std::isfinite(options.smoothness)) throw usage_error("smoothness must be >= 0");
  if (options.max_seconds < 0 || !std::isfinite(options.max_seconds)) throw usage_error("max seconds must be >= 0");
  const int iterations = options.gumbel_iterations > 0 ? options.gumbel_iterations : kDefaultIterations;
  const std::size_t lp = static_cast<std::size_t>(layers) * static_cast<std::size_t>(palette);

  SolveResult result;
  result.solver = "gumbel";

  // --- init ---
  std::optional<Target> low_storage;
  if (options.gumbel_downscale > 1) low_storage = downsample(target, options.gumbel_downscale);
  const Target& low = low_storage ? *low_storage : target;
  const GumbelProblem problem = make_gumbel_problem(model, low, options.background);
  const std::size_t n = problem.pixels();
  std::mt19937_64 rng(options.seed);

  const int k = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(options.limits.max_colors), n));
  const std::vector<Labf> centers = kmeans(problem, k, rng, context);
  const std::vector<int> order = order_clusters(centers, model.lab(options.background));
  // Nearest filament per cluster, in path order; neighbours with the same filament share a band.
  std::vector<int> band_filaments;
  for (int c : order) {
    int best = 0;
    double best_d = std::numeric_limits<double>::max();
    for (int f = 0; f < palette; ++f) {
      const double d = lab_distance2(centers[static_cast<std::size_t>(c)], model.lab(f));
      if (d < best_d) {
        best_d = d;
        best = f;
      }
    }
    if (band_filaments.empty() || band_filaments.back() != best) band_filaments.push_back(best);
  }
  // Band sizes: proportional to the layers each filament needs to reach 90% opacity.
  std::vector<double> need;
  for (int f : band_filaments) {
    const double a = std::clamp(static_cast<double>(model.full_alpha(f)), 0.01, 0.99);
    need.push_back(std::max(1.0, std::log(0.1) / std::log(1.0 - a)));
  }
  const double need_sum = std::accumulate(need.begin(), need.end(), 0.0);
  Stack init_stack;
  init_stack.background = options.background;
  init_stack.layers.resize(static_cast<std::size_t>(layers));
  {
    double acc = 0;
    std::size_t band = 0;
    for (int l = 0; l < layers; ++l) {
      while (band + 1 < band_filaments.size() && (l + 0.5) > (acc + need[band]) / need_sum * layers)
        acc += need[band++];
      init_stack.layers[static_cast<std::size_t>(l)] = band_filaments[band];
    }
  }
  std::vector<double> theta(lp, 0.0);
  for (int l = 0; l < layers; ++l)
    theta[static_cast<std::size_t>(l) * static_cast<std::size_t>(palette) +
          static_cast<std::size_t>(init_stack.layers[static_cast<std::size_t>(l)])] = kInitLogit;

  GumbelParams<float> params;
  params.theta.resize(lp);
  params.noise.resize(lp);
  params.u.resize(n);
  {
    const std::vector<int> z0 = best_heights(model, problem, init_stack, context);
    for (std::size_t i = 0; i < n; ++i) {
      const double z = std::clamp(static_cast<double>(z0[i]), 0.25, layers - 0.25);
      params.u[i] = static_cast<float>(std::log(z / (layers - z)));
    }
  }
  result.phases.push_back({"init", seconds_since(t_start)});

  // --- optimise (with periodic discretisation) ---
  double optimise_s = 0, discretise_s = 0;
  Stack best_stack;
  double best_loss = std::numeric_limits<double>::infinity();
  bool best_changed = false;
  Stack last_candidate;
  int last_top = -1;
  auto discretise = [&](const Stack& candidate, const std::vector<float>& u) {
    const auto t0 = Clock::now();
    int top = 0;
    const float fl = static_cast<float>(layers);
    for (float x : u) top = std::max(top, static_cast<int>(std::ceil(fl * sigmoid(x) - 0.5f)));
    top = std::clamp(top, 0, layers);
    // The outcome depends on the candidate and the top only.
    if (top == last_top && candidate == last_candidate) return;
    last_top = top;
    last_candidate = candidate;
    Stack s = enforce_limits(model, low, candidate, options.limits, top, context);
    const LayerMap h = assign_heights(model, low, s, 0.0, context);
    const double loss = discrete_loss(model, problem, s, h, context);
    if (loss < best_loss) {
      best_loss = loss;
      best_stack = std::move(s);
      best_changed = true;
    }
    discretise_s += seconds_since(t0);
  };
  discretise(init_stack, params.u);

  std::vector<double> m_theta(lp, 0.0), v_theta(lp, 0.0);
  std::vector<float> m_u(n, 0.0f), v_u(n, 0.0f);
  GumbelGrad<float> grad;
  std::unique_ptr<ProgressTask> progress = context.task("gumbel", static_cast<std::uint64_t>(iterations), "it");
  progress->set_metric("loss", best_loss);
  LayerMap preview_heights;
  const float u_scale = static_cast<float>(n);  // per-pixel gradients to O(1) for Adam's epsilon
  int done = 0;
  for (int it = 0; it < iterations; ++it) {
    context.throw_if_cancelled();
    if (options.max_seconds > 0 && seconds_since(t_start) > options.max_seconds) break;
    const auto t0 = Clock::now();
    const double frac = iterations > 1 ? static_cast<double>(it) / (iterations - 1) : 1.0;
    params.tau = static_cast<float>(kTauStart * std::pow(kTauEnd / kTauStart, frac));
    params.tau_h = static_cast<float>(kTauHStart * std::pow(kTauHEnd / kTauHStart, frac));
    for (std::size_t j = 0; j < lp; ++j) {
      params.theta[j] = static_cast<float>(theta[j]);
      params.noise[j] = static_cast<float>(-std::log(-std::log(unit_open(rng))));
    }
    context.run([&] { gumbel_loss_gradient(problem, params, &grad); });

    // Adam.
    const double t = it + 1;
    const double step =
        options.learning_rate * std::sqrt(1.0 - std::pow(kAdamBeta2, t)) / (1.0 - std::pow(kAdamBeta1, t));
    for (std::size_t j = 0; j < lp; ++j) {
      const double g = grad.theta[j];
      m_theta[j] = kAdamBeta1 * m_theta[j] + (1 - kAdamBeta1) * g;
      v_theta[j] = kAdamBeta2 * v_theta[j] + (1 - kAdamBeta2) * g * g;
      theta[j] -= step * m_theta[j] / (std::sqrt(v_theta[j]) + kAdamEps);
    }
    const float b1 = static_cast<float>(kAdamBeta1), b2 = static_cast<float>(kAdamBeta2);
    const float stepf = static_cast<float>(step), epsf = static_cast<float>(kAdamEps);
    context.run([&] {
      parallel_for(0, n, 8192, [&](std::size_t lo, std::size_t hi) {
        for (std::size_t i = lo; i < hi; ++i) {
          const float g = grad.u[i] * u_scale;
          m_u[i] = b1 * m_u[i] + (1 - b1) * g;
          v_u[i] = b2 * v_u[i] + (1 - b2) * g * g;
          params.u[i] -= stepf * m_u[i] / (std::sqrt(v_u[i]) + epsf);
        }
      });
    });
    optimise_s += seconds_since(t0);
    done = it + 1;

    if (done % kDiscretiseEvery == 0 || done == iterations) {
      std::vector<float> th(theta.begin(), theta.end());
      discretise(gumbel_argmax_stack(problem, th, options.background), params.u);
      progress->set_metric("loss", best_loss);
    }
    if (options.preview && options.preview_every > 0 && done % options.preview_every == 0) {
      if (best_changed || preview_heights.z.empty()) {
        const auto t1 = Clock::now();
        preview_heights = assign_heights(model, target, best_stack, 0.0, context);
        best_changed = false;
        discretise_s += seconds_since(t1);
      }
      options.preview(best_stack, preview_heights);
    }
    progress->advance();
  }
  if (done < iterations && done > 0 && done % kDiscretiseEvery != 0) {
    // Cut short by max_seconds: one last look at where the search stopped.
    std::vector<float> th(theta.begin(), theta.end());
    discretise(gumbel_argmax_stack(problem, th, options.background), params.u);
  }
  progress->finish();

  const auto t_final = Clock::now();
  result.heights = assign_heights(model, target, best_stack, options.smoothness, context);
  discretise_s += seconds_since(t_final);
  result.stack = std::move(best_stack);
  result.iterations = done;
  result.search_loss = best_loss;
  result.phases.push_back({"optimise", optimise_s});
  result.phases.push_back({"discretise", discretise_s});
  return result;
}

}  // namespace fabforge::relief
