// One whole relief job at AutoForge's default physical settings (150 mm, 0.4 mm nozzle so 750 px,
// 75 layers of 0.04 mm on a 0.24 mm base, 8 colours with the background, 20 swaps, the built-in
// reference library), timed, for scripts/relief-benchmark.sh. Run one job per process so that
// the peak memory is that job's.
//   relief_bench IMAGE [SOLVER] [THREADS] [SEED] [OUTDIR]   one JSON line per job
//   relief_bench --summary FILE                              medians per image and solver (Markdown)
#include <nlohmann/json.hpp>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>

#include "fabforge/core/error.hpp"
#include "fabforge/core/image.hpp"
#include "fabforge/relief/filament_library.hpp"
#include "fabforge/relief/model.hpp"
#include "fabforge/relief/outputs.hpp"
#include "fabforge/relief/solve.hpp"
#include "fabforge/relief/target.hpp"

using namespace fabforge;
using namespace fabforge::relief;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n == 0 ? 0 : (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]));
}

int summary(const char* path) {
  std::ifstream in(path);
  std::map<std::pair<std::string, std::string>, std::vector<nlohmann::json>> groups;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) {
      const auto j = nlohmann::json::parse(line);
      groups[{std::filesystem::path(j["image"].get<std::string>()).filename().string(), j["solver"]}].push_back(j);
    }
  std::printf(
      "| image | solver | runs | wall s (total) | solve s | peak MB | Lab MSE | mean CIEDE2000 | colours | swaps |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& [key, runs] : groups) {
    auto med = [&](const char* field) {
      std::vector<double> v;
      for (const auto& r : runs) v.push_back(r[field].get<double>());
      return median(v);
    };
    std::printf("| %s | %s | %zu | %.1f | %.1f | %.0f | %.2f | %.2f | %.0f | %.0f |\n", key.first.c_str(),
                key.second.c_str(), runs.size(), med("total_s"), med("solve_s"), med("peak_mb"), med("lab_mse"),
                med("mean_de2000"), med("colors"), med("swaps"));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "--summary") return summary(argv[2]);
  if (argc < 2) {
    std::cerr << "usage: relief_bench IMAGE [discrete|gumbel|chain] [THREADS] [SEED] [OUTDIR] | --summary FILE\n";
    return 2;
  }
  try {
    const auto t0 = std::chrono::steady_clock::now();
    const std::string solver_name = argc > 2 ? argv[2] : "discrete";
    const int threads = argc > 3 ? std::stoi(argv[3]) : 0;
    const std::uint64_t seed = argc > 4 ? std::stoull(argv[4]) : 42;
    SolverKind kind = SolverKind::discrete;
    if (solver_name == "gumbel") kind = SolverKind::gumbel;
    if (solver_name == "chain") kind = SolverKind::chain;

    RunContext context(RunOptions{threads, nullptr});
    const Image8 image = load_image8(argv[1]);
    const Target target = make_target(image, TargetOptions{});
    const ReliefModel model(default_filament_library().filaments, ModelSettings{});
    SolveOptions options;
    options.background = pick_background(model, target);
    options.seed = seed;
    const auto t1 = std::chrono::steady_clock::now();
    const SolveResult result = solve(kind, model, target, options, context);
    const auto t2 = std::chrono::steady_clock::now();
    const LossReport bleed = evaluate(target, model.render(result.stack, result.heights, true));
    const LossReport plain = evaluate(target, model.render(result.stack, result.heights, false));
    if (argc > 5) write_relief_outputs(argv[5], model, target, result, OutputOptions{});
    const auto t3 = std::chrono::steady_clock::now();
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
    nlohmann::json j;
    j["image"] = argv[1];
    j["size"] = {target.width, target.height};
    j["solver"] = solver_name;
    j["threads"] = context.threads();
    j["background"] = model.filament(options.background).display_name();
    j["prepare_s"] = secs(t0, t1);
    j["solve_s"] = secs(t1, t2);
    j["evaluate_and_write_s"] = secs(t2, t3);
    j["total_s"] = secs(t0, t3);
    for (const PhaseTime& p : result.phases) j["phases"][p.name] = p.seconds;
    j["iterations"] = result.iterations;
    j["search_loss"] = result.search_loss;
    j["lab_mse"] = bleed.lab_mse;
    j["lab_mse_no_bleed"] = plain.lab_mse;
    j["mean_de2000"] = bleed.mean_delta_e2000;
    j["colors"] = count_colors(result.stack, result.heights.top());
    j["swaps"] = count_swaps(result.stack, result.heights.top());
    j["top"] = result.heights.top();
    j["peak_mb"] = usage.ru_maxrss / 1024.0;
    std::string seq;
    for (int f : result.stack.layers) seq += std::to_string(f) + " ";
    j["stack"] = seq;
    std::cout << j.dump() << "\n";
  } catch (const Error& e) {
    std::cerr << "relief_bench: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
