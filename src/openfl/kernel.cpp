// Program::kernel: lower one phase, specialise on the uniforms, optimise, verify, assemble.

#include <memory>

#include "fabforge/openfl/bytecode.hpp"
#include "fabforge/openfl/ir.hpp"
#include "fabforge/openfl/program.hpp"

#include "lower_internal.hpp"

namespace fabforge::openfl {

std::shared_ptr<const Kernel> Program::kernel(Phase phase, const UniformValues& values, KernelOptions options) const {
  check_complete(values);
  auto kernel = std::make_shared<Kernel>();
  kernel->phase = phase;
  kernel->file = module_.file;
  kernel->ir = lower_phase(*this, phase);
  if (options.specialize) {
    ir::specialize_uniforms(kernel->ir, uniform_columns_of(values));
  } else {
    kernel->uniform_values = uniform_columns_of(values);
  }
  if (options.optimize) ir::optimize(kernel->ir);
  ir::verify(kernel->ir);
  kernel->uniformity = ir::analyze_uniformity(kernel->ir);
  kernel->input_count = kernel->ir.input_count;
  kernel->output_count = static_cast<int>(kernel->ir.body.yields.size());
  kernel->query_count = kernel->ir.query_count;
  kernel->code = bytecode::assemble(kernel->ir, kernel->uniformity);
  return kernel;
}

}  // namespace fabforge::openfl
