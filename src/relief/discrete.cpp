// The discrete solver: searches the layer-to-filament sequence directly on the problem's
// structure, and assigns heights exactly.
//
// For a fixed stack a pixel's colour depends only on its height, so its best height is the
// argmin over the L+1 colours the stack can show. The search therefore only has to choose the
// stack. To make one evaluation of a stack cheap, the target's printed pixels are grouped into
// cells of a Lab grid; each cell keeps its weighted mean, and for pixels sharing one height the
// weighted squared error splits exactly into the cell's own spread (a constant) plus the cell
// weight times the error of its mean. One evaluation is then O((L+1) * cells), and a move that
// changes layers from l0 upward reuses a cached prefix minimum over heights <= l0.
//
// Search: simulated annealing over moves on the bands of the stack (recolour a band, move a
// band boundary, insert a band, delete a band, exchange two neighbouring bands), every candidate
// checked against the colour and swap limits, several independent chains (each serial with its
// own seeded generator, so results do not depend on the thread count), then a greedy polish
// that tries every single recolour and boundary move until none improves.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <unordered_map>

#include "fabforge/core/error.hpp"
#include "fabforge/core/parallel.hpp"
#include "fabforge/relief/solve.hpp"

namespace fabforge::relief {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// A small, fast, portable generator (splitmix64 seeding an xorshift-multiply stream).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed ^ 0x9e3779b97f4a7c15ULL) { next(); }
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  int below(int n) { return static_cast<int>(next() % static_cast<std::uint64_t>(n)); }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  std::uint64_t state_;
};

// Weighted Lab cells of the target (structure of arrays, padded for vector loops).
struct Cells {
  std::vector<float> l, a, b, w;
  double spread = 0;        // sum of w * |T - cell mean|^2 over pixels: the error no height removes
  double total_weight = 0;  // sum of w over printed pixels
  std::size_t count() const noexcept { return w.size(); }
};

Cells build_cells(const Target& target, float cell_size) {
  struct Acc {
    double w = 0, l = 0, a = 0, b = 0, ll = 0;  // ll: sum of w * |T|^2
  };
  std::unordered_map<std::uint64_t, std::uint32_t> index;
  std::vector<std::uint64_t> keys;
  std::vector<Acc> acc;
  const float inv = 1.0f / cell_size;
  for (std::size_t i = 0; i < target.size(); ++i) {
    if (!target.mask[i] || target.weight[i] <= 0) continue;
    const Labf& t = target.lab[i];
    const auto q = [&](float v) {
      return static_cast<std::uint64_t>(static_cast<std::int64_t>(std::floor(v * inv)) + 4096);
    };
    const std::uint64_t key = (q(t.l) << 26) | (q(t.a) << 13) | q(t.b);
    auto [it, inserted] = index.try_emplace(key, static_cast<std::uint32_t>(acc.size()));
    if (inserted) {
      acc.emplace_back();
      keys.push_back(key);
    }
    Acc& c = acc[it->second];
    const double w = target.weight[i];
    c.w += w;
    c.l += w * t.l;
    c.a += w * t.a;
    c.b += w * t.b;
    c.ll += w * (static_cast<double>(t.l) * t.l + static_cast<double>(t.a) * t.a + static_cast<double>(t.b) * t.b);
  }
  // Deterministic order: by key.
  std::vector<std::uint32_t> order(acc.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](std::uint32_t x, std::uint32_t y) { return keys[x] < keys[y]; });
  Cells cells;
  for (std::uint32_t o : order) {
    const Acc& c = acc[o];
    const double ml = c.l / c.w, ma = c.a / c.w, mb = c.b / c.w;
    cells.l.push_back(static_cast<float>(ml));
    cells.a.push_back(static_cast<float>(ma));
    cells.b.push_back(static_cast<float>(mb));
    cells.w.push_back(static_cast<float>(c.w));
    cells.spread += std::max(0.0, c.ll - c.w * (ml * ml + ma * ma + mb * mb));
    cells.total_weight += c.w;
  }
  return cells;
}

// Evaluates stacks against the cells: loss = weighted Lab MSE (over the 3 channels) with every
// cell at its best height, exactly as assign_heights would place uniform pixels.
class Evaluator {
 public:
  Evaluator(const ReliefModel& model, const Cells& cells)
      : model_(model), cells_(cells), layers_(model.settings().max_layers), k_(cells.count()) {}

  int layers() const noexcept { return layers_; }
  std::size_t cells() const noexcept { return k_; }

  // Lab colour of every height 0..L (no bleed).
  void stack_labs(const Stack& stack, std::vector<Labf>& labs, std::vector<Rgbf>& rgb) const {
    rgb.resize(static_cast<std::size_t>(layers_) + 1);
    labs.resize(rgb.size());
    model_.stack_colors(stack, rgb);
    for (std::size_t z = 0; z < rgb.size(); ++z) labs[z] = srgb_to_labf(rgb[z]);
  }

  double to_loss(double weighted_sum) const {
    return (weighted_sum + cells_.spread) / (3.0 * std::max(cells_.total_weight, 1e-30));
  }

  // Full evaluation; if `prefix` is given it receives the running minimum per height,
  // (L+1) rows of k floats.
  double evaluate(const Stack& stack, std::vector<float>* prefix, std::vector<float>& best, std::vector<Labf>& labs,
                  std::vector<Rgbf>& rgb) const {
    stack_labs(stack, labs, rgb);
    best.assign(k_, std::numeric_limits<float>::max());
    if (prefix != nullptr) prefix->resize((static_cast<std::size_t>(layers_) + 1) * k_);
    for (int z = 0; z <= layers_; ++z) {
      relax(labs[static_cast<std::size_t>(z)], best.data());
      if (prefix != nullptr)
        std::copy(best.begin(), best.end(),
                  prefix->begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(z) * k_));
    }
    return to_loss(weighted(best.data()));
  }

  // Evaluation of a stack that agrees with the cached one on layers below `first_changed`:
  // heights <= first_changed show the same colours, so the prefix minimum there is reused.
  double evaluate_from(const Stack& stack, int first_changed, const std::vector<float>& prefix,
                       std::vector<float>& best, std::vector<Labf>& labs, std::vector<Rgbf>& rgb) const {
    stack_labs(stack, labs, rgb);
    const std::size_t row = static_cast<std::size_t>(first_changed) * k_;
    best.assign(prefix.begin() + static_cast<std::ptrdiff_t>(row),
                prefix.begin() + static_cast<std::ptrdiff_t>(row + k_));
    for (int z = first_changed + 1; z <= layers_; ++z) relax(labs[static_cast<std::size_t>(z)], best.data());
    return to_loss(weighted(best.data()));
  }

 private:
  void relax(Labf c, float* best) const {
    const float* l = cells_.l.data();
    const float* a = cells_.a.data();
    const float* b = cells_.b.data();
    for (std::size_t k = 0; k < k_; ++k) {
      const float dl = l[k] - c.l, da = a[k] - c.a, db = b[k] - c.b;
      const float d = dl * dl + da * da + db * db;
      best[k] = d < best[k] ? d : best[k];
    }
  }
  double weighted(const float* best) const {
    double s = 0;
    const float* w = cells_.w.data();
    for (std::size_t k = 0; k < k_; ++k) s += static_cast<double>(w[k]) * best[k];
    return s;
  }

  const ReliefModel& model_;
  const Cells& cells_;
  int layers_;
  std::size_t k_;
};

// For --preview-every: one discrete "iteration" is this many annealing moves.
constexpr int kMovesPerPreviewIteration = 1000;

struct Run {
  int start = 0, length = 0, filament = 0;
};

std::vector<Run> runs_of(const std::vector<int>& layers) {
  std::vector<Run> runs;
  for (int l = 0; l < static_cast<int>(layers.size()); ++l) {
    const int f = layers[static_cast<std::size_t>(l)];
    if (runs.empty() || runs.back().filament != f)
      runs.push_back({l, 1, f});
    else
      ++runs.back().length;
  }
  return runs;
}

bool within_limits(const Stack& stack, const Limits& limits) {
  const int top = static_cast<int>(stack.layers.size());
  return count_colors(stack, top) <= limits.max_colors && count_swaps(stack, top) <= limits.max_swaps;
}

// Proposes a random move; returns the first changed layer or -1 if the move changed nothing.
int propose(const Stack& current, Stack& next, Rng& rng, int palette, int layers) {
  next = current;
  std::vector<int>& ls = next.layers;
  const std::vector<Run> runs = runs_of(current.layers);
  const int nr = static_cast<int>(runs.size());
  const int kind = rng.below(100);
  if (kind < 28) {  // recolour a band
    const Run& r = runs[static_cast<std::size_t>(rng.below(nr))];
    const int f = rng.below(palette);
    std::fill_n(ls.begin() + r.start, r.length, f);
  } else if (kind < 58 && nr >= 2) {  // move a boundary
    const int i = rng.below(nr - 1);
    const Run& lo = runs[static_cast<std::size_t>(i)];
    const Run& hi = runs[static_cast<std::size_t>(i) + 1];
    int d = 1 + rng.below(3);
    if (rng.below(2)) d = -d;
    const int boundary = std::clamp(hi.start + d, lo.start, hi.start + hi.length);
    for (int l = std::min(boundary, hi.start); l < std::max(boundary, hi.start); ++l)
      ls[static_cast<std::size_t>(l)] = boundary < hi.start ? hi.filament : lo.filament;
  } else if (kind < 76) {  // insert a band
    const int n = 1 + rng.below(6);
    const int p = rng.below(layers);
    const int f = rng.below(palette);
    std::fill(ls.begin() + p, ls.begin() + std::min(layers, p + n), f);
  } else if (kind < 88 && nr >= 2) {  // delete a band: the band below (or above) takes its layers
    const int i = rng.below(nr);
    const Run& r = runs[static_cast<std::size_t>(i)];
    const int f = i > 0 ? runs[static_cast<std::size_t>(i) - 1].filament : runs[1].filament;
    std::fill_n(ls.begin() + r.start, r.length, f);
  } else if (nr >= 2) {  // exchange two neighbouring bands, keeping their lengths
    const int i = rng.below(nr - 1);
    const Run& lo = runs[static_cast<std::size_t>(i)];
    const Run& hi = runs[static_cast<std::size_t>(i) + 1];
    std::fill_n(ls.begin() + lo.start, hi.length, hi.filament);
    std::fill_n(ls.begin() + lo.start + hi.length, lo.length, lo.filament);
  } else {
    const int f = rng.below(palette);
    std::fill(ls.begin(), ls.end(), f);
  }
  for (int l = 0; l < layers; ++l)
    if (ls[static_cast<std::size_t>(l)] != current.layers[static_cast<std::size_t>(l)]) return l;
  return -1;
}

struct ChainResult {
  Stack stack;
  double loss = 0;
  int iterations = 0;
};

ChainResult anneal(const Evaluator& eval, const Stack& start, const Limits& limits, int palette, int iterations,
                   std::uint64_t seed, double t_start, double t_end, const RunContext& context,
                   Clock::time_point deadline, bool has_deadline, ProgressTask* progress,
                   std::atomic<double>* shared_best, const std::function<void(const Stack&)>& on_preview,
                   int preview_every_moves) {
  const int layers = eval.layers();
  Rng rng(seed);
  std::vector<float> prefix, best_k;
  std::vector<Labf> labs;
  std::vector<Rgbf> rgb;
  Stack current = start;
  double current_loss = eval.evaluate(current, &prefix, best_k, labs, rgb);
  ChainResult best{current, current_loss, 0};
  Stack next;
  int done = 0;
  for (int it = 0; it < iterations; ++it, ++done) {
    if ((it & 255) == 0) {
      context.throw_if_cancelled();
      if (has_deadline && Clock::now() > deadline) break;
      if (progress != nullptr && it > 0) {
        // The best loss over all chains so far, for the progress display only.
        double seen = shared_best->load(std::memory_order_relaxed);
        while (best.loss < seen && !shared_best->compare_exchange_weak(seen, best.loss, std::memory_order_relaxed)) {
        }
        progress->set_metric("loss", std::min(seen, best.loss));
        progress->advance(256);
      }
    }
    if (preview_every_moves > 0 && it > 0 && it % preview_every_moves == 0 && on_preview) on_preview(best.stack);
    const int first = propose(current, next, rng, palette, layers);
    if (first < 0 || !within_limits(next, limits)) continue;
    const double loss = eval.evaluate_from(next, first, prefix, best_k, labs, rgb);
    const double frac = static_cast<double>(it) / std::max(1, iterations - 1);
    const double temperature = t_start * std::pow(t_end / t_start, frac);
    const double delta = loss - current_loss;
    if (delta <= 0 || rng.uniform() < std::exp(-delta / temperature)) {
      current = next;
      current_loss = eval.evaluate(current, &prefix, best_k, labs, rgb);
      if (current_loss < best.loss) best = {current, current_loss, 0};
    }
  }
  best.iterations = done;
  return best;
}

// Greedy polish: best improving single recolour or boundary move until none improves.
ChainResult polish(const Evaluator& eval, ChainResult state, const Limits& limits, int palette,
                   const RunContext& context) {
  std::vector<float> prefix, best_k;
  std::vector<Labf> labs;
  std::vector<Rgbf> rgb;
  double loss = eval.evaluate(state.stack, &prefix, best_k, labs, rgb);
  for (int round = 0; round < 200; ++round) {
    context.throw_if_cancelled();
    const std::vector<Run> runs = runs_of(state.stack.layers);
    // Candidate moves: every band recoloured to every filament; every boundary moved by 1..3.
    std::vector<Stack> candidates;
    std::vector<int> firsts;
    auto add = [&](Stack s) {
      if (s.layers == state.stack.layers || !within_limits(s, limits)) return;
      int first = 0;
      while (s.layers[static_cast<std::size_t>(first)] == state.stack.layers[static_cast<std::size_t>(first)]) ++first;
      candidates.push_back(std::move(s));
      firsts.push_back(first);
    };
    for (const Run& r : runs)
      for (int f = 0; f < palette; ++f) {
        if (f == r.filament) continue;
        Stack s = state.stack;
        std::fill_n(s.layers.begin() + r.start, r.length, f);
        add(std::move(s));
      }
    for (std::size_t i = 0; i + 1 < runs.size(); ++i) {
      const Run& lo = runs[i];
      const Run& hi = runs[i + 1];
      for (int d = -3; d <= 3; ++d) {
        if (d == 0) continue;
        const int boundary = std::clamp(hi.start + d, lo.start, hi.start + hi.length);
        Stack s = state.stack;
        for (int l = std::min(boundary, hi.start); l < std::max(boundary, hi.start); ++l)
          s.layers[static_cast<std::size_t>(l)] = boundary < hi.start ? hi.filament : lo.filament;
        add(std::move(s));
      }
    }
    if (candidates.empty()) break;
    std::vector<double> losses(candidates.size());
    parallel_for(0, candidates.size(), 4, [&](std::size_t lo, std::size_t hi) {
      std::vector<float> b;
      std::vector<Labf> lb;
      std::vector<Rgbf> rg;
      for (std::size_t c = lo; c < hi; ++c) losses[c] = eval.evaluate_from(candidates[c], firsts[c], prefix, b, lb, rg);
    });
    const auto it = std::min_element(losses.begin(), losses.end());
    if (!(*it < loss - 1e-9)) break;
    state.stack = candidates[static_cast<std::size_t>(it - losses.begin())];
    loss = eval.evaluate(state.stack, &prefix, best_k, labs, rgb);
    ++state.iterations;
  }
  state.loss = loss;
  return state;
}

// Squared Lab distance: the per-pixel data term.
inline float lab_error(const Labf& c, const Labf& t) {
  const float dl = c.l - t.l, da = c.a - t.a, db = c.b - t.b;
  return dl * dl + da * da + db * db;
}

}  // namespace

LayerMap assign_heights(const ReliefModel& model, const Target& target, const Stack& stack, double smoothness,
                        RunContext& context) {
  model.validate(stack);
  if (!(smoothness >= 0) || !std::isfinite(smoothness)) throw usage_error("smoothness must be >= 0");
  const int layers = model.settings().max_layers;
  std::vector<Rgbf> rgb(static_cast<std::size_t>(layers) + 1);
  model.stack_colors(stack, rgb);
  std::vector<Labf> labs(rgb.size());
  for (std::size_t z = 0; z < rgb.size(); ++z) labs[z] = srgb_to_labf(rgb[z]);

  LayerMap map;
  map.width = target.width;
  map.height = target.height;
  map.z.assign(target.size(), 0);
  map.mask = target.mask;
  const std::size_t w = static_cast<std::size_t>(target.width);
  context.run([&] {
    parallel_for(0, static_cast<std::size_t>(target.height), 16, [&](std::size_t lo, std::size_t hi) {
      for (std::size_t i = lo * w; i < hi * w; ++i) {
        if (!target.mask[i]) continue;
        float best = std::numeric_limits<float>::max();
        int best_z = 0;
        for (int z = 0; z <= layers; ++z) {
          const float e = lab_error(labs[static_cast<std::size_t>(z)], target.lab[i]);
          if (e < best) {
            best = e;
            best_z = z;
          }
        }
        map.z[i] = static_cast<std::uint16_t>(best_z);
      }
    });
    if (smoothness <= 0) return;
    // Iterated conditional modes on E = sum w_p |C(z_p) - T_p|^2 + smoothness * sum |z_p - z_q|
    // over 4-neighbours, red-black so that each half-sweep is parallel and deterministic.
    const int h = target.height;
    const float lambda = static_cast<float>(smoothness);
    for (int sweep = 0; sweep < 8; ++sweep) {
      std::atomic<std::size_t> changed{0};
      for (int colour = 0; colour < 2; ++colour) {
        parallel_for(0, static_cast<std::size_t>(h), 16, [&](std::size_t lo, std::size_t hi) {
          std::size_t local = 0;
          for (std::size_t y = lo; y < hi; ++y)
            for (std::size_t x = (y + static_cast<std::size_t>(colour)) & 1; x < w; x += 2) {
              const std::size_t i = y * w + x;
              if (!target.mask[i]) continue;
              int nb[4];
              int nn = 0;
              if (x > 0 && target.mask[i - 1]) nb[nn++] = map.z[i - 1];
              if (x + 1 < w && target.mask[i + 1]) nb[nn++] = map.z[i + 1];
              if (y > 0 && target.mask[i - w]) nb[nn++] = map.z[i - w];
              if (y + 1 < static_cast<std::size_t>(h) && target.mask[i + w]) nb[nn++] = map.z[i + w];
              const float wt = target.weight[i];
              float best = std::numeric_limits<float>::max();
              int best_z = map.z[i];
              for (int z = 0; z <= layers; ++z) {
                float e = wt * lab_error(labs[static_cast<std::size_t>(z)], target.lab[i]);
                for (int k = 0; k < nn; ++k) e += lambda * static_cast<float>(std::abs(z - nb[k]));
                if (e < best || (e == best && z == map.z[i])) {
                  best = e;
                  best_z = z;
                }
              }
              if (best_z != map.z[i]) {
                map.z[i] = static_cast<std::uint16_t>(best_z);
                ++local;
              }
            }
          changed.fetch_add(local, std::memory_order_relaxed);
        });
      }
      if (changed.load() == 0) break;
    }
  });
  return map;
}

std::size_t refine_heights_for_bleed(const ReliefModel& model, const Target& target, const Stack& stack,
                                     LayerMap& heights, double smoothness, int sweeps, RunContext& context) {
  model.validate(stack);
  FABFORGE_CHECK(heights.width == target.width && heights.height == target.height && heights.z.size() == target.size(),
                 "heights must match the target");
  const int layers = model.settings().max_layers;
  const int w = target.width;
  const int h = target.height;
  std::vector<Rgbf> base(static_cast<std::size_t>(layers) + 1);
  model.stack_colors(stack, base);
  const float lambda = static_cast<float>(smoothness);
  auto idx = [w](int x, int y) {
    return static_cast<std::size_t>(y) * static_cast<std::size_t>(w) + static_cast<std::size_t>(x);
  };

  // Colour of printed pixel (x, y) with bleed, where pixel (px, py) is taken at height pz.
  auto color_at = [&](int x, int y, int px, int py, int pz) {
    auto z_of = [&](int qx, int qy) -> int {
      if (qx < 0 || qy < 0 || qx >= w || qy >= h) return 0;
      if (qx == px && qy == py) return pz;
      const std::size_t i = idx(qx, qy);
      return heights.mask[i] ? heights.z[i] : 0;
    };
    const int z = z_of(x, y);
    std::array<int, 8> nz;
    int k = 0;
    for (int dy = -1; dy <= 1; ++dy)
      for (int dx = -1; dx <= 1; ++dx)
        if (dx != 0 || dy != 0) nz[static_cast<std::size_t>(k++)] = z_of(x + dx, y + dy);
    return model.add_bleed(stack, base[static_cast<std::size_t>(z)], z, nz);
  };
  // Weighted error of p's 3x3 neighbourhood with p at height pz, plus p's smoothness term.
  auto local_energy = [&](int px, int py, int pz) {
    float e = 0;
    for (int y = std::max(0, py - 1); y <= std::min(h - 1, py + 1); ++y)
      for (int x = std::max(0, px - 1); x <= std::min(w - 1, px + 1); ++x) {
        const std::size_t i = idx(x, y);
        if (!target.mask[i]) continue;
        e += target.weight[i] * lab_error(srgb_to_labf(color_at(x, y, px, py, pz)), target.lab[i]);
      }
    if (lambda > 0) {
      const int nx[4] = {px - 1, px + 1, px, px};
      const int ny[4] = {py, py, py - 1, py + 1};
      for (int k = 0; k < 4; ++k) {
        if (nx[k] < 0 || ny[k] < 0 || nx[k] >= w || ny[k] >= h || !target.mask[idx(nx[k], ny[k])]) continue;
        e += lambda * static_cast<float>(std::abs(pz - heights.z[idx(nx[k], ny[k])]));
      }
    }
    return e;
  };

  // Pixels worth visiting: at first those with a neighbour of another height (inside a flat
  // patch every pixel already sits at its best height and nothing bleeds), then those within 2
  // of a pixel that moved.
  std::vector<std::uint8_t> active(target.size(), 0), moved(target.size(), 0);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const std::size_t i = idx(x, y);
      if (!target.mask[i]) continue;
      const int z = heights.z[i];
      for (int yy = std::max(0, y - 1); yy <= std::min(h - 1, y + 1) && !active[i]; ++yy)
        for (int xx = std::max(0, x - 1); xx <= std::min(w - 1, x + 1); ++xx) {
          const std::size_t j = idx(xx, yy);
          if ((heights.mask[j] ? heights.z[j] : 0) != z) {
            active[i] = 1;
            break;
          }
        }
    }
  std::size_t total_changed = 0;
  context.run([&] {
    for (int sweep = 0; sweep < sweeps; ++sweep) {
      std::atomic<std::size_t> changed{0};
      std::fill(moved.begin(), moved.end(), std::uint8_t{0});
      // Pixels of one phase are 3 apart: a move at p reads heights within 2 of p and writes only p.
      for (int phase = 0; phase < 9; ++phase) {
        context.throw_if_cancelled();
        const int ox = phase % 3, oy = phase / 3;
        const std::size_t rows = static_cast<std::size_t>((h - oy + 2) / 3);
        parallel_for(0, rows, 4, [&](std::size_t lo, std::size_t hi) {
          std::size_t local = 0;
          for (std::size_t r = lo; r < hi; ++r) {
            const int y = oy + 3 * static_cast<int>(r);
            for (int x = ox; x < w; x += 3) {
              const std::size_t i = idx(x, y);
              if (!target.mask[i] || !active[i]) continue;
              const int z0 = heights.z[i];
              int candidates[10];
              int nc = 0;
              for (int d : {-2, -1, 1, 2})
                if (z0 + d >= 0 && z0 + d <= layers) candidates[nc++] = z0 + d;
              const int nx[4] = {x - 1, x + 1, x, x};
              const int ny[4] = {y, y, y - 1, y + 1};
              for (int k = 0; k < 4; ++k) {
                if (nx[k] < 0 || ny[k] < 0 || nx[k] >= w || ny[k] >= h) continue;
                const std::size_t j = idx(nx[k], ny[k]);
                if (!target.mask[j]) continue;
                const int zn = heights.z[j];
                if (std::abs(zn - z0) > 2 && std::find(candidates, candidates + nc, zn) == candidates + nc)
                  candidates[nc++] = zn;
              }
              float best = local_energy(x, y, z0);
              int best_z = z0;
              for (int c = 0; c < nc; ++c) {
                const float e = local_energy(x, y, candidates[c]);
                if (e < best - 1e-4f * (1.0f + best)) {
                  best = e;
                  best_z = candidates[c];
                }
              }
              if (best_z != z0) {
                heights.z[i] = static_cast<std::uint16_t>(best_z);
                moved[i] = 1;
                ++local;
              }
            }
          }
          changed.fetch_add(local, std::memory_order_relaxed);
        });
      }
      total_changed += changed.load();
      if (changed.load() == 0) break;
      std::fill(active.begin(), active.end(), std::uint8_t{0});
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
          if (!moved[idx(x, y)]) continue;
          for (int yy = std::max(0, y - 2); yy <= std::min(h - 1, y + 2); ++yy)
            for (int xx = std::max(0, x - 2); xx <= std::min(w - 1, x + 2); ++xx) active[idx(xx, yy)] = 1;
        }
    }
  });
  return total_changed;
}

Stack enforce_limits(const ReliefModel& model, const Target& target, Stack stack, const Limits& limits, int top,
                     RunContext& context) {
  model.validate(stack);
  if (limits.max_colors < 1) throw usage_error("at most 0 colours is impossible: the background is one");
  if (limits.max_swaps < 0) throw usage_error("max swaps must be >= 0");
  const int layers = model.settings().max_layers;
  top = std::clamp(top, 0, layers);
  // Layers above the top are not printed: continue the last printed filament so they add nothing.
  for (int l = std::max(top, 1); l < layers; ++l)
    stack.layers[static_cast<std::size_t>(l)] = stack.layers[static_cast<std::size_t>(l) - 1];
  if (top == 0) std::fill(stack.layers.begin(), stack.layers.end(), stack.background);
  if (within_limits(stack, limits)) return stack;

  const Cells cells = build_cells(target, 3.0f);
  const Evaluator eval(model, cells);
  return context.run([&] {
    while (!within_limits(stack, limits)) {
      context.throw_if_cancelled();
      const int colours = count_colors(stack, layers);
      const std::vector<Run> runs = runs_of(stack.layers);
      std::vector<Stack> candidates;
      if (colours > limits.max_colors) {
        // Replace every layer of one filament by another filament already in use.
        std::vector<int> used{stack.background};
        for (const Run& r : runs) used.push_back(r.filament);
        std::sort(used.begin(), used.end());
        used.erase(std::unique(used.begin(), used.end()), used.end());
        for (int f : used) {
          if (f == stack.background) continue;
          for (int g : used) {
            if (g == f) continue;
            Stack s = stack;
            std::replace(s.layers.begin(), s.layers.end(), f, g);
            candidates.push_back(std::move(s));
          }
        }
      } else {
        // Remove one band: its layers go to the band below or the band above.
        for (std::size_t i = 0; i < runs.size(); ++i) {
          // (A first band already in the background filament is not a band to remove: filling
          // it with the background changes nothing.)
          const int below = i > 0 ? runs[i - 1].filament : stack.background;
          if (below != runs[i].filament) {
            Stack s = stack;
            std::fill_n(s.layers.begin() + runs[i].start, runs[i].length, below);
            candidates.push_back(std::move(s));
          }
          if (i + 1 < runs.size()) {
            Stack t = stack;
            std::fill_n(t.layers.begin() + runs[i].start, runs[i].length, runs[i + 1].filament);
            candidates.push_back(std::move(t));
          }
        }
      }
      FABFORGE_CHECK(!candidates.empty(), "a stack over the limits always has a merge");
      std::vector<double> losses(candidates.size());
      parallel_for(0, candidates.size(), 2, [&](std::size_t lo, std::size_t hi) {
        std::vector<float> b;
        std::vector<Labf> lb;
        std::vector<Rgbf> rg;
        for (std::size_t c = lo; c < hi; ++c) losses[c] = eval.evaluate(candidates[c], nullptr, b, lb, rg);
      });
      stack = candidates[static_cast<std::size_t>(std::min_element(losses.begin(), losses.end()) - losses.begin())];
    }
    return stack;
  });
}

SolveResult solve_discrete(const ReliefModel& model, const Target& target, const SolveOptions& options,
                           RunContext& context, const Stack* start) {
  const auto t0 = Clock::now();
  const int layers = model.settings().max_layers;
  const int palette = model.palette_size();
  if (options.background < 0 || options.background >= palette) throw usage_error("background filament out of range");
  if (options.limits.max_colors < 1) throw usage_error("max colours must be at least 1 (the background)");
  if (options.limits.max_swaps < 0) throw usage_error("max swaps must be >= 0");
  const bool has_deadline = options.max_seconds > 0;
  const Clock::time_point deadline = t0 + std::chrono::duration_cast<Clock::duration>(
                                              std::chrono::duration<double>(has_deadline ? options.max_seconds : 0));
  const int effort = options.discrete_effort > 0 ? options.discrete_effort : 600;

  SolveResult result;
  result.solver = "discrete";

  // Coarse cells for the search, finer cells for the polish.
  const Cells coarse = build_cells(target, 4.0f);
  const Cells fine = build_cells(target, 1.5f);
  result.phases.push_back({"cells", seconds_since(t0)});
  const auto t1 = Clock::now();

  Stack seed_stack;
  seed_stack.background = options.background;
  seed_stack.layers.assign(static_cast<std::size_t>(layers), options.background);
  std::vector<Stack> starts{seed_stack};
  if (start != nullptr) {
    model.validate(*start);
    Stack s = *start;
    s.background = options.background;
    if (!within_limits(s, options.limits)) s = enforce_limits(model, target, s, options.limits, layers, context);
    starts.push_back(s);
  }

  const Evaluator coarse_eval(model, coarse);
  const int chains = 4;
  const int iterations = 300 * effort;
  std::vector<ChainResult> finals(static_cast<std::size_t>(chains) * starts.size());
  auto progress = context.task("discrete search", static_cast<std::uint64_t>(iterations) * finals.size(), "moves");
  std::atomic<double> shared_best{std::numeric_limits<double>::max()};
  const std::function<void(const Stack&)> preview_stack = [&](const Stack& stack) {
    RunContext serial(RunOptions{1, nullptr});
    options.preview(stack, assign_heights(model, target, stack, 0.0, serial));
  };
  context.run([&] {
    parallel_for(0, finals.size(), 1, [&](std::size_t lo, std::size_t hi) {
      for (std::size_t c = lo; c < hi; ++c) {
        const Stack& s = starts[c / static_cast<std::size_t>(chains)];
        // Only the first chain shows its best stack as a preview (keeps the files deterministic).
        const bool previews = c == 0 && options.preview && options.preview_every > 0;
        finals[c] = anneal(coarse_eval, s, options.limits, palette, iterations, options.seed * 1000003ULL + c, 2.0,
                           0.01, context, deadline, has_deadline, progress.get(), &shared_best,
                           previews ? preview_stack : std::function<void(const Stack&)>{},
                           options.preview_every * kMovesPerPreviewIteration);
      }
    });
  });
  progress->finish();
  result.phases.push_back({"search", seconds_since(t1)});
  const auto t2 = Clock::now();

  // Polish the best chains on the finer cells and keep the best.
  const Evaluator fine_eval(model, fine);
  std::vector<std::size_t> order(finals.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
    return finals[x].loss < finals[y].loss || (finals[x].loss == finals[y].loss && x < y);
  });
  ChainResult best;
  best.loss = std::numeric_limits<double>::max();
  int iterations_done = 0;
  for (const ChainResult& f : finals) iterations_done += f.iterations;
  context.run([&] {
    for (std::size_t r = 0; r < std::min<std::size_t>(2, order.size()); ++r) {
      ChainResult p = polish(fine_eval, finals[order[r]], options.limits, palette, context);
      if (p.loss < best.loss) best = p;
    }
  });
  iterations_done += best.iterations;
  result.phases.push_back({"polish", seconds_since(t2)});
  const auto t3 = Clock::now();

  result.stack = best.stack;
  result.heights = assign_heights(model, target, result.stack, options.smoothness, context);
  if (model.settings().bleed)
    refine_heights_for_bleed(model, target, result.stack, result.heights, options.smoothness, 3, context);
  result.phases.push_back({"heights", seconds_since(t3)});
  result.iterations = iterations_done;
  result.search_loss = best.loss;
  if (options.preview) options.preview(result.stack, result.heights);
  return result;
}

}  // namespace fabforge::relief
