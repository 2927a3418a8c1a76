#pragma once
/// The differentiable relaxation behind the `gumbel` solver (AutoForge's learned optimisation),
/// exposed so that tests can check its gradient.
///
/// Parameters: per-layer filament logits theta[l * P + f] (L layers x P palette filaments) and a
/// height parameter u[i] per printed pixel, whose height in layers is z = L * sigmoid(u).
///
/// Forward model (no bleed; the solver's discrete results are evaluated with bleed elsewhere):
///   - layer weights  w[l][f] = softmax_f((theta[l][f] + noise[l][f]) / tau)  (Gumbel softmax;
///     the noise is an input, the solver draws it);
///   - layer colour   c_l = sum_f w[l][f] c_f (gamma sRGB), layer alpha alpha_l = sum_f w[l][f]
///     alpha_f where alpha_f is filament f's alpha for one full layer (ReliefModel::full_alpha):
///     the alphas are mixed, not the TDs;
///   - soft coverage  s_l = sigmoid((z - l - 0.5) / tau_h) ("soft rounding": z = k covers layers
///     below k and not k and above, ever more sharply as tau_h -> 0), layer alpha a_l = s_l alpha_l;
///   - composite      C = a_l c_l + (1 - a_l) C, bottom first, from the background colour;
///   - loss           sum_i weight_i |Lab(C_i) - target_i|^2 / (3 sum_i weight_i), the weighted
///     Lab MSE of target.hpp's evaluate(), Lab from sRGB by the D65 formulas of core/color.
///
/// Truncation (`GumbelProblem::window`, w): with r = w * tau_h, a pixel's soft layers are the
/// ceil(2 r) + 1 layers from k0 = floor(z - 0.5 - r) + 1; layers below k0 count as fully covered
/// (coverage within sigmoid(-w) of 1: the pixel starts from the precomputed composite of the
/// full layers below k0) and layers above the run as absent. A pixel then costs O(w tau_h)
/// layers instead of O(L). The gradient is the exact gradient of the truncated function (which
/// has jumps of about sigmoid(-w) where k0 changes); w <= 0, or 2 r + 1 >= L, turns the
/// truncation off (the finite-difference tests use both).
///
/// The gradient is a hand-written backward pass fused with the forward pass: pixels are bucketed
/// by k0 into blocks of 8 that run as SIMD lanes (per-layer values are then shared), each pixel
/// keeps its per-layer composite state in a small per-chunk buffer and walks back top to bottom.
/// Blocks form fixed chunks whose partial gradients are summed in chunk order, so the result is
/// bit-identical at any thread count (and between the SSE2 and the AVX2 code path chosen at run
/// time on x86-64). The float kernel reads sRGB decoding and Lab's cube root from cubic tables
/// (error ~1e-7); the double kernel uses the exact functions. Call inside RunContext::run to
/// limit the threads.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "fabforge/relief/model.hpp"
#include "fabforge/relief/target.hpp"

namespace fabforge::relief {

/// Everything fixed during the optimisation: the printed pixels of the target (compacted, SoA)
/// and the palette.
struct GumbelProblem {
  int width = 0;  ///< of the target the problem was made from
  int height = 0;
  int layers = 0;                                           ///< L
  int palette = 0;                                          ///< P
  std::vector<std::uint32_t> index;                         ///< printed pixel i -> its index in the target image
  std::vector<float> target_l, target_a, target_b, weight;  ///< per printed pixel
  double weight_sum = 0;
  std::vector<Rgbf> colors;  ///< per filament
  std::vector<float> alpha;  ///< per filament: alpha of one full layer
  Rgbf background;
  float window = 12.0f;  ///< truncation in units of tau_h; <= 0: none

  std::size_t pixels() const noexcept { return index.size(); }
};

/// The printed pixels of `target` with the model's palette over filament `background`.
/// Throws Error (usage) for a background index out of range and (input) for a target with no
/// printed pixel of positive weight.
GumbelProblem make_gumbel_problem(const ReliefModel& model, const Target& target, int background);

template <class Real>
struct GumbelParams {
  std::vector<Real> theta;  ///< L * P logits, layer-major
  std::vector<Real> noise;  ///< L * P Gumbel noise added to theta (zeros: plain softmax)
  std::vector<Real> u;      ///< one per printed pixel
  Real tau = 1;             ///< Gumbel-softmax temperature, > 0
  Real tau_h = 1;           ///< soft-rounding temperature, > 0
};

template <class Real>
struct GumbelGrad {
  std::vector<Real> theta;  ///< d loss / d theta, L * P
  std::vector<Real> u;      ///< d loss / d u, one per printed pixel
};

/// The loss at `params` and, if `grad` is not null, its gradient (resized as needed). Throws
/// InternalError if the parameter sizes do not fit the problem. Real is float (the solver) or
/// double (tests).
template <class Real>
double gumbel_loss_gradient(const GumbelProblem& problem, const GumbelParams<Real>& params, GumbelGrad<Real>* grad);

extern template double gumbel_loss_gradient<float>(const GumbelProblem&, const GumbelParams<float>&,
                                                   GumbelGrad<float>*);
extern template double gumbel_loss_gradient<double>(const GumbelProblem&, const GumbelParams<double>&,
                                                    GumbelGrad<double>*);

/// Pixel heights of the relaxation in layers, z = L * sigmoid(u), one per printed pixel.
std::vector<float> gumbel_heights(const GumbelProblem& problem, const std::vector<float>& u);

/// The discrete stack the logits stand for: each layer takes its argmax filament (the lowest
/// index on ties), over filament `background`.
Stack gumbel_argmax_stack(const GumbelProblem& problem, const std::vector<float>& theta, int background);

}  // namespace fabforge::relief
