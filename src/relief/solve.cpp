// The solver dispatcher, including the gumbel-then-discrete chain.
#include "fabforge/relief/solve.hpp"

#include "fabforge/core/error.hpp"

namespace fabforge::relief {

SolveResult solve(SolverKind kind, const ReliefModel& model, const Target& target, const SolveOptions& options,
                  RunContext& context) {
  switch (kind) {
    case SolverKind::discrete:
      return solve_discrete(model, target, options, context);
    case SolverKind::gumbel:
      return solve_gumbel(model, target, options, context);
    case SolverKind::chain: {
      SolveResult first = solve_gumbel(model, target, options, context);
      SolveResult second = solve_discrete(model, target, options, context, &first.stack);
      second.solver = "chain";
      second.iterations += first.iterations;
      first.phases.insert(first.phases.end(), second.phases.begin(), second.phases.end());
      second.phases = std::move(first.phases);
      return second;
    }
  }
  throw usage_error("unknown solver");
}

}  // namespace fabforge::relief
